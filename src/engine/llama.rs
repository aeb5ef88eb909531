//! llama.cpp inference with the prompt prefix kept in the KV cache.
//!
//! The model is loaded once and leaked (it lives as long as the process), so the
//! context can borrow it for `'static` and both can sit in one struct owned by a
//! single thread (`LlamaContext` is `!Send`). The static prompt prefix (system +
//! examples) is prefilled once into sequence 0; each request removes what
//! follows the prefix and prefills only its own turn. Explanations
//! ([`crate::pipeline::explain_prompt`]) live in sequence 1 the same way, so explaining
//! a command never costs the command prompt its cache.

use super::{
    Candidate, Engine, EngineError, GenerateRequest, Generation, LoadOptions, Search, Timings,
};
use crate::context::Os;
use crate::pipeline::explain_prompt;
use crate::pipeline::prompt::{self, Message};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Tokens reserved after the prefix for the request turn and the answer.
const REQUEST_BUDGET: usize = 512 + prompt::MAX_COMMAND_TOKENS;
/// Tokens reserved for the answers written beside the greedy one (each
/// shares the prefix and the request's tokens, and writes its own).
const EXTRA_ANSWERS_BUDGET: usize = (Search::MAX_ANSWERS - 1) * prompt::MAX_COMMAND_TOKENS;
/// Tokens reserved in sequence 1 for an explanation: its system message, the
/// command and the answer.
const EXPLAIN_BUDGET: usize = 1024;
/// KV-cache sequence of the command prompt, and of explanations.
const COMMAND_SEQ: i32 = 0;
const EXPLAIN_SEQ: i32 = 1;
/// Candidates kept before the grammar looks at them: the grammar then checks
/// 40 tokens instead of the whole 151k vocabulary.
const TOP_K: i32 = 40;
/// Micro-batch for prefill: the compute buffer scales with it, speed barely does.
const UBATCH: u32 = 128;
/// Stands in for the user's words while rendering the chat template, so the
/// words can be tokenized without parsing special tokens inside them.
const PLACEHOLDER: &str = "\u{E000}CMDAI_REQUEST\u{E000}";
const EXAMPLE_PLACEHOLDER: &str = "\u{E000}CMDAI_EXAMPLE\u{E000}";
const ANSWER_PLACEHOLDER: &str = "\u{E000}CMDAI_ANSWER\u{E000}";

static BACKEND: OnceLock<LlamaBackend> = OnceLock::new();

/// The process-wide llama.cpp backend (it may be initialised only once).
pub fn backend(verbose: bool) -> Result<&'static LlamaBackend, EngineError> {
    if let Some(b) = BACKEND.get() {
        return Ok(b);
    }
    let mut b = LlamaBackend::init().map_err(|e| EngineError::Inference(e.to_string()))?;
    if !verbose {
        b.void_logs();
    }
    Ok(BACKEND.get_or_init(|| b))
}

/// Flash attention for a context: `CMDAI_FLASH_ATTN=on|off|auto` when set
/// (for measuring), else off where no GPU can take layers and llama.cpp's own
/// choice where one can.
///
/// On the CPU its flash-attention kernel is slower for what cmdai does: with
/// Qwen2.5-Coder-1.5B on 2 cores and a cached prefix of 1,500 tokens, reading
/// a 30-token request took 622 ms with it and 478 ms without (700 tokens: 490
/// vs 433 ms), and writing a token cost the same (39 ms).
pub fn flash_attention(backend: &LlamaBackend) -> llama_cpp_sys_2::llama_flash_attn_type {
    use crate::settings::FlashAttn;
    match crate::settings::FLASH_ATTN.env() {
        Some(FlashAttn::On) => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_ENABLED,
        Some(FlashAttn::Off) => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED,
        Some(FlashAttn::Auto) => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_AUTO,
        _ if backend.supports_gpu_offload() => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_AUTO,
        _ => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED,
    }
}

/// The rendered prompt, split where the request begins.
struct PromptParts {
    /// System + examples: identical for every request on this OS.
    prefix: String,
    /// Request turn up to the user's words.
    turn_open: String,
    /// From the end of the user's words to the pre-filled answer.
    turn_close: String,
    /// An example turn (user then assistant), split around the user's words
    /// and the answer: open, middle and close.
    example: [String; 3],
    /// Explanation prompt up to the command (static, cached in sequence 1).
    explain_open: String,
    /// From the end of the command to the start of the answer.
    explain_close: String,
}

fn render(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    msgs: &[Message],
    add_ass: bool,
) -> Result<String, EngineError> {
    let chat = msgs
        .iter()
        .map(|m| LlamaChatMessage::new(m.role.to_string(), m.content.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| EngineError::Template(e.to_string()))?;
    model
        .apply_chat_template(template, &chat, add_ass)
        .map_err(|e| EngineError::Template(e.to_string()))
}

/// Renders the conversation with the model's own chat template and checks that
/// the prefix render is a byte-exact prefix of the full render.
fn build_prompt(model: &LlamaModel, os: Os) -> Result<PromptParts, EngineError> {
    let template = match model.chat_template(None) {
        Ok(t) => t,
        // A GGUF without a template: ChatML is what the catalogue's models use.
        Err(_) => {
            LlamaChatTemplate::new("chatml").map_err(|e| EngineError::Template(e.to_string()))?
        }
    };
    let prefix_msgs = prompt::prefix_messages(os);
    let prefix = render(model, &template, &prefix_msgs, false)?;
    // prefix, one example turn (user, assistant), then the request.
    let mut all = prefix_msgs;
    for (role, content) in [
        ("user", EXAMPLE_PLACEHOLDER),
        ("assistant", ANSWER_PLACEHOLDER),
        ("user", PLACEHOLDER),
    ] {
        all.push(Message {
            role,
            content: content.to_string(),
        });
    }
    let full = render(model, &template, &all, true)?;
    let explain = render(
        model,
        &template,
        &explain_prompt::messages(os, PLACEHOLDER),
        true,
    )?;
    let (explain_open, explain_close) = explain.split_once(PLACEHOLDER).ok_or_else(|| {
        EngineError::Template("the chat template dropped the command to explain".into())
    })?;
    let rest = full.strip_prefix(&prefix).ok_or_else(|| {
        EngineError::Template(
            "the chat template renders the examples differently when a request follows".into(),
        )
    })?;
    let dropped = || EngineError::Template("the chat template dropped a turn".into());
    let (ex_open, rest) = rest.split_once(EXAMPLE_PLACEHOLDER).ok_or_else(dropped)?;
    let (ex_mid, rest) = rest.split_once(ANSWER_PLACEHOLDER).ok_or_else(dropped)?;
    let (between, close) = rest.split_once(PLACEHOLDER).ok_or_else(dropped)?;
    // The request turn opens like an example turn; what comes before that
    // opening closes the example.
    let ex_close = between.strip_suffix(ex_open).ok_or_else(|| {
        EngineError::Template("the chat template renders turns differently".into())
    })?;
    let open = ex_open;
    Ok(PromptParts {
        prefix,
        example: [
            ex_open.to_string(),
            ex_mid.to_string(),
            ex_close.to_string(),
        ],
        turn_open: open.to_string(),
        turn_close: format!("{close}{}", prompt::ANSWER_PREFILL),
        explain_open: explain_open.to_string(),
        explain_close: explain_close.to_string(),
    })
}

/// llama.cpp's description of its build (CPU features, backends).
pub fn system_info() -> String {
    // SAFETY: returns a pointer to a static, NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(llama_cpp_sys_2::llama_print_system_info()) }
        .to_string_lossy()
        .into_owned()
}

/// ggml's version and commit: the KV layout a saved state was written with.
fn ggml_build() -> String {
    // SAFETY: both return pointers to static, NUL-terminated strings.
    let (version, commit) = unsafe {
        (
            std::ffi::CStr::from_ptr(llama_cpp_sys_2::ggml_version()),
            std::ffi::CStr::from_ptr(llama_cpp_sys_2::ggml_commit()),
        )
    };
    format!("{} {}", version.to_string_lossy(), commit.to_string_lossy())
}

/// Key of a saved prefix state: anything that changes the KV values or their
/// layout changes it: the model, the prompt, the context size, flash
/// attention (it stores V untransposed), the CPU kernels in use and ggml's
/// own build. Not the binary itself: a rebuilt or reinstalled cmdai with the
/// same prompt and llama.cpp restores the state its predecessor saved, so
/// the first request after an upgrade does not wait for a prefill.
fn state_key(
    opts: &LoadOptions,
    prefix: &str,
    n_ctx: usize,
    flash: llama_cpp_sys_2::llama_flash_attn_type,
) -> String {
    let material = format!(
        "{}\n{}\nflash {}\n{}\n{}\n{}",
        opts.model_id,
        n_ctx,
        flash,
        system_info(),
        ggml_build(),
        prefix
    );
    crate::hex::sha256(material.as_bytes())[..32].to_string()
}

/// What happened to the prompt prefix at load time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixSource {
    /// Restored from the saved state file.
    Restored,
    /// Computed now (and saved, when a state dir is set).
    Prefilled,
}

/// A loaded model with its prompt prefix in the KV cache.
pub struct LlamaEngine {
    model: &'static LlamaModel,
    ctx: LlamaContext<'static>,
    parts: PromptParts,
    prefix_tokens: Vec<LlamaToken>,
    n_ctx: usize,
    /// Milliseconds spent loading the model and preparing the prefix; reported
    /// once, with the first request.
    pending_load_ms: u64,
    pub prefix_source: PrefixSource,
    /// Tokens of the explanation prompt's static part, once in sequence 1.
    explain_prefix: Option<usize>,
    /// The request tokens after the prefix that are in [`COMMAND_SEQ`]'s
    /// cache now (those of the last request): a request that starts the
    /// same way (the same folder's lines) reads only what differs.
    cached_suffix: Vec<LlamaToken>,
}

impl LlamaEngine {
    pub fn load(opts: &LoadOptions, os: Os) -> Result<LlamaEngine, EngineError> {
        Self::load_with_context(opts, os, 0)
    }

    /// [`LlamaEngine::load`] with a context window of at least `min_n_ctx`
    /// tokens (`context_size` in config.toml; 0: sized for the prompt alone),
    /// never beyond what the model was trained for.
    pub fn load_with_context(
        opts: &LoadOptions,
        os: Os,
        min_n_ctx: usize,
    ) -> Result<LlamaEngine, EngineError> {
        let start = Instant::now();
        let backend = backend(opts.verbose)?;
        let load_err = || EngineError::Load {
            path: opts.model_path.clone(),
        };
        if !opts.model_path.is_file() {
            return Err(load_err());
        }
        let mparams = LlamaModelParams::default().with_use_mmap(opts.use_mmap);
        let model = LlamaModel::load_from_file(backend, &opts.model_path, &mparams)
            .map_err(|_| load_err())?;
        let model: &'static LlamaModel = Box::leak(Box::new(model));
        let parts = build_prompt(model, os)?;
        let prefix_tokens = model.vocab().tokenize(parts.prefix.as_bytes(), true, true);
        let needed = (prefix_tokens.len() + REQUEST_BUDGET + EXTRA_ANSWERS_BUDGET + EXPLAIN_BUDGET)
            .next_multiple_of(256);
        let trained = (model.n_ctx_train() as usize).max(needed);
        let n_ctx = needed.max(min_n_ctx.next_multiple_of(256)).min(trained);
        let threads = opts.threads.max(1) as i32;
        let flash = flash_attention(backend);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx as u32))
            .with_n_batch(n_ctx as u32)
            .with_n_ubatch(UBATCH)
            // Commands, explanations and the extra answers, sharing one cache.
            .with_n_seq_max(FIRST_EXTRA_SEQ as u32 + Search::MAX_ANSWERS as u32 - 1)
            .with_kv_unified(true)
            .with_flash_attention_policy(flash)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = model
            .new_context(backend, params)
            .map_err(|e| EngineError::Inference(format!("could not create a context: {e}")))?;
        let mut engine = LlamaEngine {
            model,
            ctx,
            parts,
            prefix_tokens,
            n_ctx,
            pending_load_ms: 0,
            prefix_source: PrefixSource::Prefilled,
            explain_prefix: None,
            cached_suffix: Vec::new(),
        };
        let state_file = opts.state_dir.as_ref().map(|d| {
            d.join(format!(
                "prefix-{}.state",
                state_key(opts, &engine.parts.prefix, n_ctx, flash)
            ))
        });
        if state_file
            .as_deref()
            .is_some_and(|f| engine.restore_prefix(f))
        {
            engine.prefix_source = PrefixSource::Restored;
        } else {
            engine.prefill_prefix()?;
            if let Some(f) = &state_file {
                engine.save_prefix(f);
            }
        }
        engine.pending_load_ms = start.elapsed().as_millis() as u64;
        if opts.verbose {
            eprintln!(
                "cmdai: prompt prefix of {} tokens {:?} in {} ms (n_ctx {n_ctx})",
                engine.prefix_tokens.len(),
                engine.prefix_source,
                engine.pending_load_ms
            );
        }
        Ok(engine)
    }

    /// Loads a saved prefix state; false (and the file removed) when it is
    /// missing, corrupt or for other tokens. llama.cpp's format has no
    /// checksum, so a sha256 sidecar guards against damaged files.
    fn restore_prefix(&mut self, file: &std::path::Path) -> bool {
        let sidecar = file.with_extension("state.sha256");
        let (Ok(bytes), Ok(expected)) = (std::fs::read(file), std::fs::read_to_string(&sidecar))
        else {
            return false;
        };
        let ok = crate::hex::sha256(&bytes) == expected.trim()
            && matches!(
                self.ctx.state_seq_load_file(file, 0, self.prefix_tokens.len() + 1),
                Ok((tokens, _)) if tokens == self.prefix_tokens
            );
        if !ok {
            self.ctx.clear_kv_cache();
            self.explain_prefix = None;
            self.cached_suffix.clear();
            let _ = std::fs::remove_file(file);
            let _ = std::fs::remove_file(&sidecar);
        }
        ok
    }

    /// Saves the prefix state atomically (temp file + rename); failures only
    /// cost the next cold start a prefill.
    fn save_prefix(&self, file: &std::path::Path) {
        let Some(dir) = file.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        let saved = self
            .ctx
            .state_seq_save_file(&tmp, 0, &self.prefix_tokens)
            .is_ok()
            && std::fs::read(&tmp)
                .map(|b| {
                    std::fs::write(file.with_extension("state.sha256"), crate::hex::sha256(&b))
                })
                .is_ok_and(|r| r.is_ok())
            && std::fs::rename(&tmp, file).is_ok();
        if !saved {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    fn prefill_prefix(&mut self) -> Result<(), EngineError> {
        self.ctx.clear_kv_cache();
        self.explain_prefix = None;
        self.cached_suffix.clear();
        let tokens = self.prefix_tokens.clone();
        self.decode_tokens(&tokens, 0, COMMAND_SEQ, false)
    }

    /// Decodes `tokens` at positions `start..`, in batch-sized chunks; asks for
    /// logits of the last token only when `want_last_logits`.
    fn decode_tokens(
        &mut self,
        tokens: &[LlamaToken],
        start: usize,
        seq: i32,
        want_last_logits: bool,
    ) -> Result<(), EngineError> {
        let chunk = self.ctx.n_batch().max(1) as usize;
        let mut batch = LlamaBatch::new(chunk, 1);
        for (ci, piece) in tokens.chunks(chunk).enumerate() {
            batch.clear();
            let base = start + ci * chunk;
            let last_chunk = (ci + 1) * chunk >= tokens.len();
            for (i, t) in piece.iter().enumerate() {
                let logits = want_last_logits && last_chunk && i + 1 == piece.len();
                batch
                    .add(*t, (base + i) as i32, &[seq], logits)
                    .map_err(|e| EngineError::Inference(e.to_string()))?;
            }
            self.ctx
                .decode(&mut batch)
                .map_err(|e| EngineError::Inference(format!("decode failed: {e}")))?;
        }
        Ok(())
    }

    /// The tokens of the cached prefix (system + examples).
    pub fn prefix_tokens(&self) -> &[LlamaToken] {
        &self.prefix_tokens
    }

    /// Context size this engine was created with.
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// The tokens a request adds after the prefix (its example turns, its
    /// own turn and the pre-fill).
    pub fn request_tokens(&self, req: &GenerateRequest) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        let text = super::request_text(req);
        let [ex_open, ex_mid, ex_close] = &self.parts.example;
        let mut toks = Vec::new();
        for e in &req.examples {
            toks.extend(vocab.tokenize(ex_open.as_bytes(), false, true));
            let user = prompt::request_line(&req.context, &e.request);
            toks.extend(vocab.tokenize(user.as_bytes(), false, false));
            toks.extend(vocab.tokenize(ex_mid.as_bytes(), false, true));
            toks.extend(vocab.tokenize(prompt::answer(&e.command).as_bytes(), false, false));
            toks.extend(vocab.tokenize(ex_close.as_bytes(), false, true));
        }
        toks.extend(vocab.tokenize(self.parts.turn_open.as_bytes(), false, true));
        // The user's words never become special tokens.
        toks.extend(vocab.tokenize(text.as_bytes(), false, false));
        toks.extend(vocab.tokenize(self.parts.turn_close.as_bytes(), false, true));
        toks
    }
}

/// The answer being generated: its bytes, and whether it is complete.
#[derive(Default, Clone)]
struct Output {
    bytes: Vec<u8>,
    tokens: usize,
    done: bool,
    /// Stopped because it was repeating itself.
    runaway: bool,
}

impl Output {
    /// Adds a sampled token; true when generation should stop (end of
    /// generation, closing quote, a loop, or the token cap).
    fn push(&mut self, tok: LlamaToken, vocab: &llama_cpp_2::vocab::LlamaVocab<'_>) -> bool {
        self.tokens += 1;
        if vocab.is_eog(tok) {
            self.done = true;
            return true;
        }
        self.bytes.extend(vocab.token_to_piece(tok, false, None));
        self.runaway = super::runaway::repeating(&self.bytes);
        self.done = self.runaway
            || string_closed(&String::from_utf8_lossy(&self.bytes))
            || self.tokens >= prompt::MAX_COMMAND_TOKENS;
        self.done
    }
}

/// True once `text` (a JSON string body) has its closing `"}`.
fn string_closed(text: &str) -> bool {
    crate::parser::prefilled_end(text, true).is_some()
}

/// First KV-cache sequence of the extra answers ([`COMMAND_SEQ`] holds the
/// greedy one, [`EXPLAIN_SEQ`] explanations).
const FIRST_EXTRA_SEQ: i32 = 2;

/// How an answer picks its tokens.
#[derive(Clone, Copy, PartialEq)]
enum Pick {
    Greedy,
    /// Drawn at this temperature, with this seed.
    Sample(f32, u32),
}

/// One answer being written in its own KV-cache sequence.
struct Beam {
    seq: i32,
    pick: Pick,
    origin: &'static str,
    grammar: LlamaSampler,
    out: Output,
    logprob: f32,
    /// Position of the next token to decode.
    pos: usize,
    /// The token sampled last, to be decoded in the next batch.
    next: Option<LlamaToken>,
    /// Where this beam's logits are in the last batch.
    idx: i32,
    /// For a branch: its first token's logit gap to the greedy choice, and
    /// the token index where it forked.
    gap: f32,
    forked_at: usize,
}

/// The log of the sum of `exp(logits)`: log-softmax's normaliser.
fn log_sum_exp(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    max + logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln()
}

/// A seed for the sampled answers that depends only on the request, so the
/// same request gets the same answers.
fn request_seed(req: &GenerateRequest, i: usize) -> u32 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("{i}\n{}", super::request_text(req)).as_bytes());
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}

impl LlamaEngine {
    /// Tokens the grammar allows next for the logits at `idx`, best first,
    /// among the [`TOP_K`] most likely; with the log-softmax normaliser of
    /// the whole distribution.
    fn allowed(&self, grammar: &mut LlamaSampler, idx: i32) -> (Vec<(LlamaToken, f32)>, f32) {
        let norm = log_sum_exp(self.ctx.get_logits_ith(idx));
        let mut cands = self.ctx.token_data_array_ith(idx);
        let mut top_k = LlamaSampler::top_k(TOP_K);
        top_k.apply(&mut cands);
        grammar.apply(&mut cands);
        let mut v: Vec<(LlamaToken, f32)> = cands
            .data
            .iter()
            .filter(|d| d.logit().is_finite())
            .map(|d| (d.id(), d.logit()))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        (v, norm)
    }

    /// Picks a token among `allowed` (best first).
    fn pick(allowed: &[(LlamaToken, f32)], pick: Pick) -> Option<(LlamaToken, f32)> {
        match pick {
            Pick::Greedy => allowed.first().copied(),
            Pick::Sample(temp, seed) => {
                let data = allowed
                    .iter()
                    .map(|&(t, l)| llama_cpp_2::token::data::LlamaTokenData::new(t, l, 0.0));
                let mut arr =
                    llama_cpp_2::token::data_array::LlamaTokenDataArray::from_iter(data, true);
                let mut chain = LlamaSampler::chain_simple([
                    LlamaSampler::temp(temp.max(0.01)),
                    LlamaSampler::dist(seed),
                ]);
                arr.apply_sampler(&mut chain);
                let tok = arr.selected_token()?;
                allowed.iter().find(|(t, _)| *t == tok).copied()
            }
        }
    }

    /// Writes the answers `search` asks for after the request's tokens
    /// (already decoded into [`COMMAND_SEQ`] up to `start`, logits of its
    /// last token at batch index `last_idx`). The greedy answer comes first.
    fn write_answers(
        &mut self,
        req: &GenerateRequest,
        start: usize,
        last_idx: i32,
        cancel: &AtomicBool,
        began: Instant,
    ) -> Result<Vec<Candidate>, EngineError> {
        let search = req.search;
        let max_beams = search.answers();
        let grammar = LlamaSampler::grammar(self.model, prompt::COMMAND_GRAMMAR, "root")
            .map_err(|e| EngineError::Inference(format!("grammar: {e}")))?;
        let vocab = self.model.vocab();
        let mut beams: Vec<Beam> = Vec::with_capacity(max_beams);
        let new_beam = |seq, pick, origin, grammar: &LlamaSampler| Beam {
            seq,
            pick,
            origin,
            grammar: grammar.clone(),
            out: Output::default(),
            logprob: 0.0,
            pos: start,
            next: None,
            idx: last_idx,
            gap: 0.0,
            forked_at: 0,
        };
        beams.push(new_beam(COMMAND_SEQ, Pick::Greedy, "greedy", &grammar));
        for i in 0..search.samples.min(max_beams - 1) {
            let seq = FIRST_EXTRA_SEQ + beams.len() as i32 - 1;
            self.ctx
                .kv_cache_seq_cp(COMMAND_SEQ, seq, None, None)
                .map_err(|e| EngineError::Inference(e.to_string()))?;
            let pick = Pick::Sample(search.temperature, request_seed(req, i));
            beams.push(new_beam(seq, pick, "sample", &grammar));
        }
        let mut branches_left = search.branches;
        let mut batch = LlamaBatch::new(max_beams, max_beams as i32);
        let result = loop {
            if cancel.load(Ordering::Relaxed) {
                break Err(EngineError::Cancelled);
            }
            if req
                .deadline_ms
                .is_some_and(|ms| began.elapsed().as_millis() as u64 > ms)
            {
                break Err(EngineError::OutOfTime);
            }
            // Sample the next token of every beam still writing.
            let mut forks = Vec::new();
            for b in beams.iter_mut().filter(|b| !b.out.done) {
                let (allowed, norm) = self.allowed(&mut b.grammar, b.idx);
                let Some((tok, logit)) = Self::pick(&allowed, b.pick) else {
                    b.out.done = true;
                    continue;
                };
                // An unsure greedy step: the runner-up becomes an answer of its own.
                if b.pick == Pick::Greedy && branches_left > 0 {
                    if let Some(&(alt, alt_logit)) = allowed.get(1) {
                        if logit - alt_logit < search.margin {
                            branches_left -= 1;
                            let mut g = b.grammar.clone();
                            g.accept(alt);
                            forks.push((
                                b.seq,
                                b.pos,
                                g,
                                b.out.clone(),
                                b.logprob,
                                alt,
                                alt_logit - norm,
                                logit - alt_logit,
                            ));
                        }
                    }
                }
                b.grammar.accept(tok);
                b.logprob += logit - norm;
                b.next = (!b.out.push(tok, &vocab)).then_some(tok);
            }
            for (from, pos, grammar, mut out, logprob, alt, lp, gap) in forks {
                if beams.len() >= max_beams {
                    break;
                }
                let seq = FIRST_EXTRA_SEQ + beams.len() as i32 - 1;
                let _ = self.ctx.kv_cache_seq_rm(seq, None, None);
                self.ctx
                    .kv_cache_seq_cp(from, seq, None, Some(pos as u32))
                    .map_err(|e| EngineError::Inference(e.to_string()))?;
                let forked_at = out.tokens;
                let done = out.push(alt, &vocab);
                beams.push(Beam {
                    seq,
                    pick: Pick::Greedy,
                    origin: "branch",
                    grammar,
                    out,
                    logprob: logprob + lp,
                    pos,
                    next: (!done).then_some(alt),
                    idx: 0,
                    gap,
                    forked_at,
                });
            }
            // Decode every beam's new token in one batch.
            batch.clear();
            for b in beams.iter_mut() {
                if let Some(tok) = b.next.take() {
                    b.idx = batch.n_tokens();
                    batch
                        .add(tok, b.pos as i32, &[b.seq], true)
                        .map_err(|e| EngineError::Inference(e.to_string()))?;
                    b.pos += 1;
                }
            }
            if batch.n_tokens() == 0 {
                break Ok(());
            }
            self.ctx
                .decode(&mut batch)
                .map_err(|e| EngineError::Inference(format!("decode failed: {e}")))?;
        };
        for b in &beams {
            if b.seq != COMMAND_SEQ {
                let _ = self.ctx.kv_cache_seq_rm(b.seq, None, None);
            }
        }
        result?;
        Ok(beams
            .into_iter()
            .map(|b| Candidate {
                text: String::from_utf8_lossy(&b.out.bytes).into_owned(),
                logprob: b.logprob,
                tokens: b.out.tokens,
                runaway: b.out.runaway,
                origin: b.origin.to_string(),
                gap: b.gap,
                forked_at: b.forked_at,
            })
            .collect())
    }
}

impl Engine for LlamaEngine {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &AtomicBool,
    ) -> Result<Generation, EngineError> {
        let start = Instant::now();
        let load = std::mem::take(&mut self.pending_load_ms);
        let p = self.prefix_tokens.len();
        let suffix = self.request_tokens(req);
        let budget = self
            .n_ctx
            .saturating_sub(p + prompt::MAX_COMMAND_TOKENS + EXTRA_ANSWERS_BUDGET);
        if suffix.len() > budget {
            return Err(EngineError::TooLong {
                tokens: suffix.len(),
                max: budget,
            });
        }
        // Keep the prefix and what this request shares with the last one
        // (at least its last token is read again, for its logits); drop the rest.
        let same = reused_tokens(&self.cached_suffix, &suffix);
        self.cached_suffix.clear();
        if self
            .ctx
            .kv_cache_seq_rm(COMMAND_SEQ, Some((p + same) as u32), None)
            .is_err()
        {
            self.prefill_prefix()?;
            return self.generate_after_prefix(req, cancel, start, load, suffix, 0);
        }
        self.generate_after_prefix(req, cancel, start, load, suffix, same)
    }

    fn explain(
        &mut self,
        command: &str,
        cancel: &AtomicBool,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        self.explain_command(command, cancel, on_piece)
    }
}

/// How many of `new`'s tokens can stay in the cache from `cached`: their
/// common start, but never all of `new` (its last token must be read for
/// the logits the answer starts from).
fn reused_tokens(cached: &[LlamaToken], new: &[LlamaToken]) -> usize {
    let common = cached.iter().zip(new).take_while(|(a, b)| a == b).count();
    common.min(new.len().saturating_sub(1))
}

impl LlamaEngine {
    /// Reads `suffix[same..]` after the prefix and the `same` tokens already
    /// cached, then writes the answers.
    fn generate_after_prefix(
        &mut self,
        req: &GenerateRequest,
        cancel: &AtomicBool,
        start: Instant,
        load: u64,
        suffix: Vec<LlamaToken>,
        same: usize,
    ) -> Result<Generation, EngineError> {
        let p = self.prefix_tokens.len();
        self.decode_tokens(&suffix[same..], p + same, COMMAND_SEQ, true)?;
        self.cached_suffix = suffix.clone();
        let prompt_ms = start.elapsed().as_millis() as u64;

        let gen_start = Instant::now();
        let read = suffix.len() - same;
        let last_idx = ((read - 1) % self.ctx.n_batch().max(1) as usize) as i32;
        let candidates = self.write_answers(req, p + suffix.len(), last_idx, cancel, start)?;
        let generate_ms = gen_start.elapsed().as_millis() as u64;
        let generated = candidates.iter().map(|c| c.tokens).sum();
        Ok(Generation {
            text: candidates[0].text.clone(),
            prefilled: true,
            retried: false,
            prompt_tokens: read,
            generated_tokens: generated,
            timings: Timings {
                load,
                prompt: prompt_ms,
                generate: generate_ms,
                total: load + start.elapsed().as_millis() as u64,
            },
            candidates: if candidates.len() > 1 {
                candidates
            } else {
                Vec::new()
            },
        })
    }

    /// Explains `command` (see [`Engine::explain`]).
    fn explain_command(
        &mut self,
        command: &str,
        cancel: &AtomicBool,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        let start = Instant::now();
        let load = std::mem::take(&mut self.pending_load_ms);
        let vocab = self.model.vocab();
        // The static part goes into sequence 1 once; later explanations keep it.
        let p = match self.explain_prefix {
            Some(p) => {
                let _ = self.ctx.kv_cache_seq_rm(EXPLAIN_SEQ, Some(p as u32), None);
                p
            }
            None => {
                let _ = self.ctx.kv_cache_seq_rm(EXPLAIN_SEQ, None, None);
                let toks = vocab.tokenize(self.parts.explain_open.as_bytes(), true, true);
                self.decode_tokens(&toks, 0, EXPLAIN_SEQ, false)?;
                self.explain_prefix = Some(toks.len());
                toks.len()
            }
        };
        // The command never becomes special tokens.
        let mut suffix = vocab.tokenize(command.as_bytes(), false, false);
        suffix.extend(vocab.tokenize(self.parts.explain_close.as_bytes(), false, true));
        let budget = EXPLAIN_BUDGET.saturating_sub(p + explain_prompt::MAX_EXPLAIN_TOKENS);
        if suffix.len() > budget {
            return Err(EngineError::TooLong {
                tokens: suffix.len(),
                max: budget,
            });
        }
        self.decode_tokens(&suffix, p, EXPLAIN_SEQ, true)?;
        let prompt_ms = start.elapsed().as_millis() as u64;

        let gen_start = Instant::now();
        // Greedy, with a mild repetition penalty: small models like to loop.
        let mut sampler = LlamaSampler::chain_simple([
            LlamaSampler::penalties(self.model.n_vocab(), 64, 1.1, 0.0, 0.0),
            LlamaSampler::greedy(),
        ]);
        let mut pos = p + suffix.len();
        let mut idx = suffix.len() as i32 - 1;
        let mut batch = LlamaBatch::new(1, 1);
        let mut bytes: Vec<u8> = Vec::new();
        let mut sent = 0;
        let mut generated = 0;
        while generated < explain_prompt::MAX_EXPLAIN_TOKENS {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            // `sample` also accepts the token into the chain.
            let tok = sampler.sample(&self.ctx, idx);
            generated += 1;
            if vocab.is_eog(tok) {
                break;
            }
            bytes.extend(vocab.token_to_piece(tok, false, None));
            // Hand over whole characters only.
            let valid = match std::str::from_utf8(&bytes[sent..]) {
                Ok(s) => s.len(),
                Err(e) => e.valid_up_to(),
            };
            if valid > 0 {
                on_piece(std::str::from_utf8(&bytes[sent..sent + valid]).unwrap_or_default());
                sent += valid;
            }
            if explain_prompt::finished(&String::from_utf8_lossy(&bytes)) {
                break;
            }
            batch.clear();
            batch
                .add(tok, pos as i32, &[EXPLAIN_SEQ], true)
                .map_err(|e| EngineError::Inference(e.to_string()))?;
            self.ctx
                .decode(&mut batch)
                .map_err(|e| EngineError::Inference(format!("decode failed: {e}")))?;
            pos += 1;
            idx = 0;
        }
        Ok(Generation {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            prefilled: false,
            retried: false,
            prompt_tokens: suffix.len(),
            generated_tokens: generated,
            timings: Timings {
                load,
                prompt: prompt_ms,
                generate: gen_start.elapsed().as_millis() as u64,
                total: load + start.elapsed().as_millis() as u64,
            },
            candidates: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_only_what_differs_from_the_last_one() {
        let t = |v: &[i32]| v.iter().map(|&i| LlamaToken(i)).collect::<Vec<_>>();
        // The same folder's lines, then other words: the lines stay cached.
        assert_eq!(
            reused_tokens(&t(&[1, 2, 3, 4, 5]), &t(&[1, 2, 3, 9, 9, 9])),
            3
        );
        // The same request again still reads its last token (for its logits).
        assert_eq!(reused_tokens(&t(&[1, 2, 3]), &t(&[1, 2, 3])), 2);
        assert_eq!(reused_tokens(&[], &t(&[1, 2])), 0);
        assert_eq!(reused_tokens(&t(&[7]), &t(&[1, 2])), 0);
    }

    #[test]
    fn closing_quote_detection() {
        assert!(!string_closed("ls -la"));
        assert!(string_closed("ls -la\"}"));
        assert!(!string_closed("grep \\\"a b"));
        assert!(string_closed("grep \\\"a b\\\" f\"}"));
        assert!(!string_closed("echo \\\\"));
        assert!(!string_closed("echo \\\\\""));
        assert!(string_closed("echo \\\\\"}"));
        assert!(!string_closed("echo \"a\" b"));
    }
}
