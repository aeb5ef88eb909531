//! llama.cpp inference with the prompt prefix kept in the KV cache.
//!
//! The model is loaded once and leaked (it lives as long as the process), so the
//! context can borrow it for `'static` and both can sit in one struct owned by a
//! single thread (`LlamaContext` is `!Send`). The static prompt prefix (system +
//! examples) is prefilled once into sequence 0; each request removes what
//! follows the prefix and prefills only its own turn. Explanations
//! ([`crate::explain_prompt`]) live in sequence 1 the same way, so explaining
//! a command never costs the command prompt its cache.

use super::{Backend, EngineError, GenerateRequest, Generation, LoadOptions, Timings};
use crate::context::Os;
use crate::explain_prompt;
use crate::prompt::{self, Message};
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
fn flash_attention(backend: &LlamaBackend) -> llama_cpp_sys_2::llama_flash_attn_type {
    match std::env::var("CMDAI_FLASH_ATTN").as_deref().map(str::trim) {
        Ok("on") => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_ENABLED,
        Ok("off") => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED,
        Ok("auto") => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_AUTO,
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
    let mut all = prefix_msgs;
    all.push(Message {
        role: "user",
        content: PLACEHOLDER.to_string(),
    });
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
    let (open, close) = rest
        .split_once(PLACEHOLDER)
        .ok_or_else(|| EngineError::Template("the chat template dropped the request".into()))?;
    Ok(PromptParts {
        prefix,
        turn_open: open.to_string(),
        turn_close: format!("{close}{}", prompt::ANSWER_PREFILL),
        explain_open: explain_open.to_string(),
        explain_close: explain_close.to_string(),
    })
}

/// Physical cores (hyper-threads share the vector units llama.cpp needs).
pub fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return logical;
    };
    let mut cores = std::collections::HashSet::new();
    let (mut phys, mut core) = (None, None);
    for line in info.lines() {
        if let Some((k, v)) = line.split_once(':') {
            match k.trim() {
                "physical id" => phys = Some(v.trim().to_string()),
                "core id" => core = Some(v.trim().to_string()),
                _ => {}
            }
        }
        if line.trim().is_empty() {
            if let (Some(p), Some(c)) = (phys.take(), core.take()) {
                cores.insert((p, c));
            }
        }
    }
    if let (Some(p), Some(c)) = (phys, core) {
        cores.insert((p, c));
    }
    if cores.is_empty() {
        logical
    } else {
        cores.len().min(logical)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// llama.cpp's description of its build (CPU features, backends).
pub fn system_info() -> String {
    // SAFETY: returns a pointer to a static, NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(llama_cpp_sys_2::llama_print_system_info()) }
        .to_string_lossy()
        .into_owned()
}

/// Key of a saved prefix state: anything that changes the KV values or their
/// layout (flash attention stores V untransposed) changes it.
fn state_key(
    opts: &LoadOptions,
    prefix: &str,
    n_ctx: usize,
    flash: llama_cpp_sys_2::llama_flash_attn_type,
) -> String {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| format!("{}:{:?}", m.len(), m.modified().ok()))
        .unwrap_or_default();
    let sysinfo = system_info();
    let material = format!(
        "cmdai {}\n{}\n{}\nflash {}\n{}\n{}\n{}",
        env!("CARGO_PKG_VERSION"),
        opts.model_id,
        n_ctx,
        flash,
        sysinfo,
        exe,
        prefix
    );
    sha256_hex(material.as_bytes())[..32].to_string()
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
    /// Draft tokens verified per step (0: no speculation).
    speculate: usize,
    /// Draft tokens proposed and accepted so far (for the bench).
    pub drafted: usize,
    pub accepted: usize,
    /// Tokens of the explanation prompt's static part, once in sequence 1.
    explain_prefix: Option<usize>,
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
        let needed = (prefix_tokens.len() + REQUEST_BUDGET + EXPLAIN_BUDGET).next_multiple_of(256);
        let trained = (model.n_ctx_train() as usize).max(needed);
        let n_ctx = needed.max(min_n_ctx.next_multiple_of(256)).min(trained);
        let threads = opts.threads.max(1) as i32;
        let flash = flash_attention(backend);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx as u32))
            .with_n_batch(n_ctx as u32)
            .with_n_ubatch(UBATCH)
            // Two sequences (commands, explanations) sharing one cache.
            .with_n_seq_max(2)
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
            speculate: opts.speculate,
            drafted: 0,
            accepted: 0,
            explain_prefix: None,
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

    /// Number of tokens in the cached prefix.
    pub fn prefix_len(&self) -> usize {
        self.prefix_tokens.len()
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
        let ok = sha256_hex(&bytes) == expected.trim()
            && matches!(
                self.ctx.state_seq_load_file(file, 0, self.prefix_tokens.len() + 1),
                Ok((tokens, _)) if tokens == self.prefix_tokens
            );
        if !ok {
            self.ctx.clear_kv_cache();
            self.explain_prefix = None;
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
                .map(|b| std::fs::write(file.with_extension("state.sha256"), sha256_hex(&b)))
                .is_ok_and(|r| r.is_ok())
            && std::fs::rename(&tmp, file).is_ok();
        if !saved {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    fn prefill_prefix(&mut self) -> Result<(), EngineError> {
        self.ctx.clear_kv_cache();
        self.explain_prefix = None;
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

    /// The tokens a request adds after the prefix (its turn and the pre-fill).
    pub fn request_tokens(&self, req: &GenerateRequest) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        let text = super::request_text(req);
        let mut toks = vocab.tokenize(self.parts.turn_open.as_bytes(), false, true);
        // The user's words never become special tokens.
        toks.extend(vocab.tokenize(text.as_bytes(), false, false));
        toks.extend(vocab.tokenize(self.parts.turn_close.as_bytes(), false, true));
        toks
    }

    /// Samples one token: top-k, then the grammar over those candidates, then
    /// the most likely survivor. The grammar accepts the token exactly once.
    fn sample(
        &self,
        grammar: &mut LlamaSampler,
        top_k: &mut LlamaSampler,
        idx: i32,
    ) -> Option<LlamaToken> {
        let mut cands = self.ctx.token_data_array_ith(idx);
        top_k.apply(&mut cands);
        grammar.apply(&mut cands);
        let best = cands
            .data
            .iter()
            .filter(|d| d.logit().is_finite())
            .max_by(|a, b| a.logit().total_cmp(&b.logit()))?
            .id();
        grammar.accept(best);
        Some(best)
    }
}

/// The answer being generated: its bytes, and whether it is complete.
#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    tokens: usize,
    done: bool,
}

impl Output {
    /// Adds a sampled token; true when generation should stop (end of
    /// generation, closing quote, or the token cap).
    fn push(&mut self, tok: LlamaToken, vocab: &llama_cpp_2::vocab::LlamaVocab<'_>) -> bool {
        self.tokens += 1;
        if vocab.is_eog(tok) {
            self.done = true;
            return true;
        }
        self.bytes.extend(vocab.token_to_piece(tok, false, None));
        self.done = string_closed(&String::from_utf8_lossy(&self.bytes))
            || self.tokens >= prompt::MAX_COMMAND_TOKENS;
        self.done
    }
}

/// Prompt-lookup drafting: finds the latest earlier occurrence of the last
/// few tokens and proposes what followed it (commands copy names, flags and
/// paths from the request and the examples). At most `k` tokens.
fn draft(history: &[LlamaToken], k: usize) -> Vec<LlamaToken> {
    if k == 0 {
        return Vec::new();
    }
    let n = history.len();
    for gram in (2..=3).rev() {
        if n <= gram {
            continue;
        }
        let tail = &history[n - gram..];
        // Search backwards, excluding the tail itself.
        for start in (0..n - gram).rev() {
            if &history[start..start + gram] == tail {
                let from = start + gram;
                let to = (from + k).min(n - gram);
                if from < to {
                    return history[from..to].to_vec();
                }
            }
        }
    }
    Vec::new()
}

/// True once `text` (a JSON string body) has its closing `"}`.
fn string_closed(text: &str) -> bool {
    crate::parser::prefilled_end(text, true).is_some()
}

impl Backend for LlamaEngine {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &AtomicBool,
    ) -> Result<Generation, EngineError> {
        let start = Instant::now();
        let load = std::mem::take(&mut self.pending_load_ms);
        let p = self.prefix_tokens.len();
        let suffix = self.request_tokens(req);
        let budget = self.n_ctx.saturating_sub(p + prompt::MAX_COMMAND_TOKENS);
        if suffix.len() > budget {
            return Err(EngineError::TooLong {
                tokens: suffix.len(),
                max: budget,
            });
        }
        // Drop the previous request, keep the prefix.
        if self
            .ctx
            .kv_cache_seq_rm(COMMAND_SEQ, Some(p as u32), None)
            .is_err()
        {
            self.prefill_prefix()?;
        }
        self.decode_tokens(&suffix, p, COMMAND_SEQ, true)?;
        let prompt_ms = start.elapsed().as_millis() as u64;

        let gen_start = Instant::now();
        let mut grammar = LlamaSampler::grammar(self.model, prompt::COMMAND_GRAMMAR, "root")
            .map_err(|e| EngineError::Inference(format!("grammar: {e}")))?;
        let mut top_k = LlamaSampler::top_k(TOP_K);
        let vocab = self.model.vocab();
        let mut out = Output::default();
        // Token history drafts are looked up in: the examples (in the prefix),
        // the request, and what has been generated so far.
        let mut history: Vec<LlamaToken> =
            self.prefix_tokens.iter().chain(&suffix).copied().collect();
        let mut pos = p + suffix.len();
        let mut batch = LlamaBatch::new(1 + self.speculate, 1);
        let mut next = self.sample(&mut grammar, &mut top_k, suffix.len() as i32 - 1);
        let mut steps = 0;
        while let Some(tok) = next {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            if out.push(tok, &vocab) {
                break;
            }
            history.push(tok);
            let drafts = draft(&history, self.speculate);
            batch.clear();
            for (i, t) in std::iter::once(tok)
                .chain(drafts.iter().copied())
                .enumerate()
            {
                batch
                    .add(t, (pos + i) as i32, &[COMMAND_SEQ], true)
                    .map_err(|e| EngineError::Inference(e.to_string()))?;
            }
            self.ctx
                .decode(&mut batch)
                .map_err(|e| EngineError::Inference(format!("decode failed: {e}")))?;
            steps += 1;
            pos += 1;
            next = self.sample(&mut grammar, &mut top_k, 0);
            let mut accepted = 0;
            for (j, d) in drafts.iter().enumerate() {
                if next != Some(*d) {
                    break;
                }
                // The model agrees with the draft, which is already decoded.
                accepted += 1;
                pos += 1;
                if out.push(*d, &vocab) {
                    break;
                }
                history.push(*d);
                next = self.sample(&mut grammar, &mut top_k, j as i32 + 1);
            }
            self.drafted += drafts.len();
            self.accepted += accepted;
            if out.done {
                break;
            }
            if accepted < drafts.len() {
                // Forget the rejected drafts' cache entries.
                let _ = self
                    .ctx
                    .kv_cache_seq_rm(COMMAND_SEQ, Some(pos as u32), None);
            }
        }
        let _ = steps;
        let generated = out.tokens;
        let bytes = out.bytes;
        let generate_ms = gen_start.elapsed().as_millis() as u64;
        Ok(Generation {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            prefilled: true,
            retried: false,
            prompt_tokens: suffix.len(),
            generated_tokens: generated,
            timings: Timings {
                load,
                prompt: prompt_ms,
                generate: generate_ms,
                total: load + start.elapsed().as_millis() as u64,
            },
        })
    }

    fn explain(
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn drafts_copy_what_followed_the_last_ngram() {
        let t = |v: &[i32]| v.iter().map(|&i| LlamaToken(i)).collect::<Vec<_>>();
        // ... 5 6 7 8 9 ... 5 6 -> propose 7 8 9
        let h = t(&[1, 5, 6, 7, 8, 9, 2, 3, 5, 6]);
        assert_eq!(draft(&h, 3), t(&[7, 8, 9]));
        assert_eq!(draft(&h, 1), t(&[7]));
        assert_eq!(draft(&h, 0), t(&[]));
        // No repeat of the last two tokens: nothing to propose.
        assert!(draft(&t(&[1, 2, 3, 4]), 3).is_empty());
        // The most recent occurrence wins.
        let h = t(&[5, 6, 1, 5, 6, 2, 5, 6]);
        assert_eq!(draft(&h, 1), t(&[2]));
    }

    #[test]
    fn physical_cores_is_positive() {
        assert!(physical_cores() >= 1);
    }
}
