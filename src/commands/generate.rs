//! `cmdai <QUERY>...`: the main job. Words in, one judged command out.

use crate::cli::{Format, GenerateArgs, ModelArgs};
use crate::commands::model::{resolve_model, ResolvedModel};
pub use crate::config::BackendKind;
use crate::context::RequestContext;
use crate::daemon::client::{self, ClientError};
use crate::engine::llama::LlamaEngine;
use crate::engine::openai::{OpenAiBackend, OpenAiSettings};
use crate::engine::worker::Worker;
use crate::engine::{Backend, EngineError, GenerateRequest, Generation, LoadOptions, Timings};
use crate::error::{exit, CliError, Result};
use crate::memory::Recall;
use crate::output::{self, JsonResult};
use crate::parser;
use crate::paths;
use crate::prompt::{self, MAX_REQUEST_BYTES};
use crate::response_cache::ResponseCache;
use crate::safety::{self, SafetyLevel, Verdict};
use crate::selfcheck;
use std::ffi::OsString;
use std::time::Duration;

/// Joins the words of the request; refuses invalid UTF-8, empty and huge input.
pub fn join_query(words: &[OsString]) -> Result<String> {
    let mut parts = Vec::with_capacity(words.len());
    for w in words {
        match w.to_str() {
            Some(s) => parts.push(s),
            None => {
                return Err(CliError::usage(
                    "the request contains bytes that are not valid UTF-8; retype it as plain text",
                ))
            }
        }
    }
    let joined = parts.join(" ");
    if joined.len() > MAX_REQUEST_BYTES {
        return Err(CliError::usage(format!(
            "the request is {} bytes long, more than the {MAX_REQUEST_BYTES} a request may have; describe the task in a sentence or two",
            joined.len()
        )));
    }
    prompt::clean_request(&joined).ok_or_else(|| {
        CliError::usage(
            "the request is empty; say what you want to do, e.g. `cmdai find large files`",
        )
    })
}

/// The safety level: `--safety`, `CMDAI_SAFETY`, config file, else default;
/// an unknown value is warned about and the next one used.
pub fn safety_level(value: Option<&str>) -> SafetyLevel {
    crate::config::safety(value).value
}

pub fn engine_error(e: EngineError) -> CliError {
    match e {
        EngineError::Load { .. } => CliError::model(e.to_string()),
        EngineError::TooLong { .. } => CliError::usage(e.to_string()),
        EngineError::Cancelled => CliError::interrupted(),
        EngineError::Server(m) => CliError::model(m),
        _ => CliError::no_command(format!("{e}; try again, or run with -v to see details")),
    }
}

/// Where answers come from: `CMDAI_BACKEND`, else `backend` in the config
/// file, else the local model (see [`crate::config::backend`]).
pub fn backend_kind() -> Result<BackendKind> {
    Ok(crate::config::backend().value)
}

/// The canned answer when the test-only mock backend is chosen (builds with
/// the cargo feature `mock`); `None` for every other backend.
fn mock_reply(
    kind: BackendKind,
    req: &GenerateRequest,
) -> Option<std::result::Result<Generation, EngineError>> {
    #[cfg(feature = "mock")]
    if kind == BackendKind::Mock {
        let never = std::sync::atomic::AtomicBool::new(false);
        return Some(crate::engine::mock::MockBackend.generate(req, &never));
    }
    let _ = (kind, req);
    None
}

/// The shared inference server: the config file's `[openai]` table, with any
/// `CMDAI_OPENAI_*` variable taking precedence.
pub fn openai_backend(os: crate::context::Os) -> Result<OpenAiBackend> {
    let file = &crate::config::file().openai;
    let defaults = OpenAiSettings {
        base_url: file.base_url.clone(),
        model: file.model.clone(),
        api_key_env: file.api_key_env.clone(),
        timeout: Duration::from_secs(file.timeout_secs.max(1)),
        retries: file.retries,
    };
    let settings = OpenAiSettings::from_env_over(defaults).map_err(CliError::usage)?;
    Ok(OpenAiBackend::new(settings, os))
}

/// Threads for inference: flag, `CMDAI_THREADS`, config file, else the
/// physical cores.
pub fn threads(margs: &ModelArgs) -> usize {
    crate::config::threads(margs.threads).value
}

/// The smallest context window asked for (0: automatic).
pub fn context_size(margs: &ModelArgs) -> usize {
    crate::config::context_size(margs.context_size).value
}

/// Starts an inference thread with the model loaded in this process (mapped:
/// a short-lived process starts faster that way).
pub fn in_process_worker(
    model: &ResolvedModel,
    margs: &ModelArgs,
    os: crate::context::Os,
) -> Worker {
    let opts = LoadOptions {
        model_path: model.path.clone(),
        threads: threads(margs),
        verbose: margs.verbose,
        model_id: model.model_id(),
        state_dir: crate::paths::prefix_state_dir(),
        use_mmap: true,
    };
    let n_ctx = context_size(margs);
    Worker::spawn(move || {
        LlamaEngine::load_with_context(&opts, os, n_ctx).map(|e| Box::new(e) as Box<dyn Backend>)
    })
}

/// Prepares the model's prompt prefix and saves its state (the step that
/// otherwise makes the first request after an install, an upgrade or a
/// model switch wait for a full prefill): loads the model as the daemon
/// would and lets [`LlamaEngine`] restore or compute and save the prefix.
/// Says what it is doing on a terminal. `Ok(true)` when it was computed
/// now, `Ok(false)` when a saved state was already there.
pub fn prepare(model: &ResolvedModel, margs: &ModelArgs) -> Result<bool> {
    let Some(state_dir) = crate::paths::prefix_state_dir() else {
        return Ok(false);
    };
    let opts = LoadOptions {
        model_path: model.path.clone(),
        threads: threads(margs),
        verbose: margs.verbose,
        model_id: model.model_id(),
        state_dir: Some(state_dir),
        use_mmap: true,
    };
    let pb = output::stderr_is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message("preparing the model for quick answers (once per model and version)…");
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    });
    let started = std::time::Instant::now();
    let engine =
        LlamaEngine::load_with_context(&opts, crate::context::Os::current(), context_size(margs));
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let engine = engine.map_err(engine_error)?;
    let computed = engine.prefix_source == crate::engine::llama::PrefixSource::Prefilled;
    if computed && output::stderr_is_terminal() {
        eprintln!(
            "cmdai: model prepared in {:.0} s; requests start from the saved state",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(computed)
}

/// Arguments that make a daemon load the same model as this client.
pub fn serve_args(model: &ResolvedModel, margs: &ModelArgs) -> Vec<String> {
    let mut v = vec![
        "--model".to_string(),
        if model.sha256.is_some() {
            model.name.clone()
        } else {
            model.path.display().to_string()
        },
        "--threads".to_string(),
        threads(margs).to_string(),
    ];
    let n_ctx = context_size(margs);
    if n_ctx > 0 {
        v.extend(["--context-size".to_string(), n_ctx.to_string()]);
    }
    if margs.verbose {
        v.push("--verbose".into());
    }
    v
}

/// Asks the resident daemon (starting it if needed). `Err` carries the reason
/// to fall back to in-process inference, or a final error.
fn generate_via_daemon(
    model: &ResolvedModel,
    margs: &ModelArgs,
    req: &GenerateRequest,
) -> std::result::Result<Generation, ClientError> {
    let spinner = spinner();
    let result = client::connect_or_start(&model.model_id(), &serve_args(model, margs))
        .and_then(|mut conn| conn.generate(req.clone()));
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    result
}

fn spinner() -> Option<indicatif::ProgressBar> {
    output::stderr_is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message("thinking…");
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    })
}

/// Waits for the worker, showing a spinner on a terminal's stderr.
fn wait_with_spinner(worker: &Worker, req: GenerateRequest) -> Result<Generation> {
    let pending = worker.submit(req);
    let spinner = spinner();
    let result = pending.wait();
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    result.map_err(engine_error)
}

/// Runs the model: through the daemon unless `--no-daemon`, falling back to
/// this process when the daemon cannot be reached or dies mid-request. An
/// answer that fails the self-check is asked for once more ([`selfcheck`]).
fn generate(
    model: &ResolvedModel,
    args: &GenerateArgs,
    req: GenerateRequest,
) -> Result<(Generation, &'static str)> {
    let mut use_daemon = !args.no_daemon;
    let mut local: Option<Worker> = None;
    let mut backend = "llama.cpp (daemon)";
    let g = selfcheck::generate(&req, |r: &GenerateRequest| {
        if use_daemon {
            match generate_via_daemon(model, &args.model, r) {
                Ok(g) => return Ok(g),
                Err(ClientError::Engine(e)) => return Err(engine_error(e)),
                Err(e) => {
                    if args.model.verbose || matches!(e, ClientError::Died | ClientError::Unsafe(_))
                    {
                        eprintln!("cmdai: {e}; answering in this process instead");
                    }
                    use_daemon = false;
                }
            }
        }
        backend = "llama.cpp";
        let worker =
            local.get_or_insert_with(|| in_process_worker(model, &args.model, r.context.os));
        wait_with_spinner(worker, r.clone())
    })?;
    Ok((g, backend))
}

/// Asks the shared inference server: no daemon, no local model and no
/// response cache (the server's model may change under the same name).
/// Returns the answer and the model name it was asked for.
fn generate_via_server(req: &GenerateRequest, verbose: bool) -> Result<(Generation, String)> {
    let mut server = openai_backend(req.context.os)?;
    let spinner = spinner();
    let g = selfcheck::generate(req, |r: &GenerateRequest| {
        server.generate(r, &Default::default())
    });
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    let g = g.map_err(engine_error)?;
    if verbose {
        eprintln!(
            "cmdai: {} at {}: {} request tokens, {} generated; timings {:?}",
            server.settings().model,
            server.settings().base_url,
            g.prompt_tokens,
            g.generated_tokens,
            g.timings
        );
    }
    Ok((g, server.settings().model.clone()))
}

/// Turns the model's raw text into a command.
pub fn parse_generation(g: &Generation) -> Result<String> {
    let parsed = if g.prefilled {
        parser::parse_prefilled(&g.text)
    } else {
        parser::parse_reply(&g.text)
    };
    parsed.map(|p| p.command).map_err(|e| {
        CliError::no_command(format!(
            "the model's answer held no usable command ({e}); try rephrasing the request"
        ))
    })
}

/// The request for the model: the user's words in their context, at the
/// chosen quality, with the closest knowledge-base task and a close memory
/// of what this user ran as example turns. With `--refine`, the original
/// request and the command to revise come first as a turn of their own and
/// the instruction is the request.
fn build_request(args: &GenerateArgs, query: &str) -> GenerateRequest {
    let context = RequestContext::detect();
    let quality = crate::config::quality(args.quality.as_deref()).value;
    let (query, examples) = match (&args.refine, &args.previous) {
        (Some(instruction), Some(previous)) => (
            format!("revise that command: {}", instruction.trim()),
            vec![crate::engine::Example {
                request: query.to_string(),
                command: previous.clone(),
            }],
        ),
        _ => {
            let knowledge = quality.examples(context.os, query);
            let memory = recall(query).and_then(|r| match r {
                Recall::Example(e) => Some(e),
                Recall::Same(_) => None,
            });
            (
                query.to_string(),
                crate::memory::with_memory(memory, knowledge),
            )
        }
    };
    GenerateRequest {
        query,
        context,
        avoid: args.avoid.clone(),
        feedback: None,
        search: quality.search(),
        examples,
        deadline_ms: None,
    }
}

/// What memory offers for `query` asked in this folder (nothing when memory
/// is off).
fn recall(query: &str) -> Option<Recall> {
    if !super::memory::enabled() {
        return None;
    }
    let dir = std::env::current_dir().ok()?;
    crate::memory::Store::for_user().recall(query, crate::memory::CwdKind::of(&dir))
}

/// A command for a request, and where it came from.
pub struct Answer {
    pub command: String,
    pub timings: Timings,
    pub model_name: String,
    pub backend: &'static str,
}

/// Gets the command for `req`: `remembered` when memory already has it, else
/// from the backend (the response cache, the daemon, this process, or a
/// shared server).
fn answer(
    args: &GenerateArgs,
    req: &GenerateRequest,
    remembered: Option<String>,
) -> Result<Answer> {
    let started = std::time::Instant::now();
    let kind = backend_kind()?;
    let (command, timings, model_name, backend) = if let Some(cmd) = remembered {
        let ms = started.elapsed().as_millis() as u64;
        let t = Timings {
            total: ms,
            ..Timings::default()
        };
        (cmd, t, "memory".to_string(), "memory")
    } else if let Some(g) = mock_reply(kind, req) {
        let g = g.map_err(engine_error)?;
        (parse_generation(&g)?, g.timings, "mock".to_string(), "mock")
    } else if kind == BackendKind::OpenAi {
        let (g, model) = generate_via_server(req, args.model.verbose)?;
        (parse_generation(&g)?, g.timings, model, "openai")
    } else {
        let model = resolve_model(&args.model)?;
        let model_id = model.model_id();
        let cache = ResponseCache::new(&paths::cache_dir());
        let use_cache = std::env::var_os("CMDAI_NO_RESPONSE_CACHE").is_none();
        if let Some(cmd) = cache.get(&model_id, req).filter(|_| use_cache) {
            let ms = started.elapsed().as_millis() as u64;
            let t = Timings {
                total: ms,
                ..Timings::default()
            };
            (cmd, t, model.name.clone(), "cache")
        } else {
            let (g, backend) = generate(&model, args, req.clone())?;
            if args.model.verbose {
                eprintln!(
                    "cmdai: {} request tokens, {} generated; timings {:?}",
                    g.prompt_tokens, g.generated_tokens, g.timings
                );
            }
            let cmd = parse_generation(&g)?;
            if use_cache {
                cache.put(&model_id, req, &cmd);
            }
            (cmd, g.timings, model.name.clone(), backend)
        }
    };
    Ok(Answer {
        command,
        timings,
        model_name,
        backend,
    })
}

/// A revision of `previous` (the command offered for `request`) following
/// `instruction`, for `-x`'s Refine choice.
pub fn revise(
    args: &GenerateArgs,
    request: &str,
    previous: &str,
    instruction: &str,
) -> Result<String> {
    let mut a = args.clone();
    a.refine = Some(instruction.to_string());
    a.previous = Some(previous.to_string());
    a.avoid.clear();
    let req = build_request(&a, request);
    let out = answer(&a, &req, None)?;
    if super::memory::enabled() {
        let ctx = safety::Context::for_user().in_dir(&req.context.cwd);
        let risk = safety::assess_request(request, &out.command, &ctx).risk;
        let _ = crate::history::History::for_user().append(
            request,
            &out.command,
            risk,
            &req.context.cwd,
        );
    }
    Ok(out.command)
}

pub fn run(args: &GenerateArgs) -> Result<i32> {
    let query = join_query(&args.query)?;
    let level = safety_level(args.safety.as_deref());
    let req = build_request(args, &query);
    if args.explain && output::stderr_is_terminal() {
        eprintln!(
            "cmdai: generating a command for \"{query}\", then explaining it (to explain a command you have: cmdai explain COMMAND)"
        );
    }
    // The same request in other words, already answered by the user's own
    // command in this kind of folder: that command, no model.
    let remembered = match (&args.refine, args.avoid.is_empty()) {
        (None, true) => recall(&query).and_then(|r| match r {
            Recall::Same(cmd) => Some(cmd),
            Recall::Example(_) => None,
        }),
        _ => None,
    };

    let Answer {
        command,
        timings,
        model_name,
        backend,
    } = answer(args, &req, remembered)?;
    // Relative paths and globs are judged in the directory the request came
    // from (`rm -rf *` in `/` is the whole system).
    let ctx = safety::Context::for_user().in_dir(&req.context.cwd);
    let assessment = safety::assess_request(&query, &command, &ctx);
    let verdict = safety::policy(assessment.risk, level);
    let blocked = verdict == Verdict::Block && !args.allow_dangerous;
    if super::memory::enabled() {
        // History never stops a request: a full disk only loses the entry.
        let _ = crate::history::History::for_user().append(
            &query,
            &command,
            assessment.risk,
            &req.context.cwd,
        );
    }

    if args.widget {
        return Ok(widget_output(&command, &assessment, blocked));
    }
    match args.format {
        Format::Json => {
            let obj = JsonResult {
                command: &command,
                risk: assessment.risk,
                warnings: output::warnings(&assessment),
                blocked,
                model: &model_name,
                backend,
                timings_ms: timings,
            };
            println!("{}", serde_json::to_string(&obj).unwrap_or_default());
        }
        Format::Text => {
            if blocked {
                println!("{}", output::commented_out(&command, &assessment));
            } else {
                println!("{command}");
            }
            if output::stderr_is_terminal() {
                for f in &assessment.findings {
                    output::note(f.risk, &f.explanation);
                }
            }
        }
    }
    if blocked {
        eprintln!(
            "cmdai: blocked a {} command: {}; pass --allow-dangerous to print it anyway",
            assessment.risk,
            output::worst_reason(&assessment)
        );
        return Ok(exit::BLOCKED);
    }
    if args.explain && args.format == Format::Text {
        super::explain::explain(&command, &args.model, args.no_daemon)?;
    }
    if args.execute && args.format == Format::Text {
        return super::execute::offer(&query, &command, args, level);
    }
    Ok(exit::OK)
}

/// The line the widget scripts look for to learn which command was blocked
/// (so pressing the key again asks for a different one).
pub const WIDGET_BLOCKED_PREFIX: &str = "cmdai: blocked, not put on your command line: ";

/// The shell widget's contract: stdout is what goes into the command line,
/// stderr holds notes to print above the prompt; exit 0 means replace the
/// buffer. A blocked command never reaches stdout: the widget gets exit 5
/// ([`exit::BLOCKED`]), stdout empty, and on stderr the findings and, last,
/// [`WIDGET_BLOCKED_PREFIX`] with the command, so it can show it above the
/// prompt and leave the request on the line. (A widget that only knows
/// "non-zero means failure" keeps the request and shows that last line.)
fn widget_output(command: &str, a: &safety::Assessment, blocked: bool) -> i32 {
    for w in output::warnings(a) {
        eprintln!("cmdai: {}", output::visible(&w));
    }
    if blocked {
        let shown = output::visible(&command.replace(['\n', '\r'], " "));
        eprintln!("{WIDGET_BLOCKED_PREFIX}{shown}");
        return exit::BLOCKED;
    }
    println!("{command}");
    exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn join_words() {
        assert_eq!(
            join_query(&words(&["find", "large", "files"])).unwrap(),
            "find large files"
        );
    }

    #[test]
    fn empty_and_huge_are_usage_errors() {
        assert_eq!(
            join_query(&words(&[])).unwrap_err().exit_code(),
            exit::USAGE
        );
        assert_eq!(
            join_query(&words(&["  ", "\t"])).unwrap_err().exit_code(),
            exit::USAGE
        );
        let huge = "a".repeat(MAX_REQUEST_BYTES + 1);
        assert_eq!(
            join_query(&words(&[&huge])).unwrap_err().exit_code(),
            exit::USAGE
        );
    }

    #[test]
    fn invalid_utf8_is_a_usage_error() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'f', 0xff, b'x']);
        let e = join_query(&[bad]).unwrap_err();
        assert_eq!(e.exit_code(), exit::USAGE);
        assert!(e.message.contains("UTF-8"));
    }

    #[test]
    fn commented_out_line_is_one_quoted_word_after_the_hash() {
        // The reason and the command hold `;`, `|`, `'` and a newline; the
        // whole text is one quoted word after `#`.
        let a = safety::assess("rm -rf /", &safety::Context::default());
        let line = output::commented_out("rm -rf /; reboot | x 'y'\nz", &a);
        assert!(line.starts_with("# blocked: '"), "{line}");
        assert!(!line.contains('\n'), "{line}");
        // After the `#` (a command name where comments are off): one word
        // `blocked:` and one quoted word holding everything else.
        let words = shell_words::split(&line[2..]).unwrap();
        assert_eq!(words.len(), 2, "{line} -> {words:?}");
        assert!(
            words[1].ends_with("rm -rf /; reboot | x 'y' z"),
            "{words:?}"
        );
    }

    #[test]
    fn bad_safety_level_falls_back() {
        assert_eq!(safety_level(Some("bogus")), SafetyLevel::Default);
        assert_eq!(safety_level(Some("strict")), SafetyLevel::Strict);
    }
}
