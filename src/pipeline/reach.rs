//! How a request reaches a model, and running it there: [`route`] picks,
//! once per run, from the `backend` setting ([`EngineKind`]): the local
//! model ([`LocalModel`]: the resident daemon, started on demand, else the
//! model in this process when the daemon cannot be reached), a shared
//! OpenAI-compatible server, or (tests only) the mock. Each is an
//! [`Engine`]; [`ask_local_model`] and [`ask_server`] add the self-check's
//! one retry ([`choice::with_self_check`]).
//! Whatever way a request went, it fails with one [`RequestError`] that
//! keeps its cause; `src/commands/errors.rs` turns it into the CLI's error
//! (message and exit code) in one place.

use super::choice;
use super::response_cache::ResponseCache;
use super::selfcheck::CutOff;
use crate::daemon::client::{self, ClientError};
use crate::engine::llama::LlamaEngine;
use crate::engine::openai::{OpenAiEngine, OpenAiSettings};
use crate::engine::worker::Worker;
use crate::engine::{Engine, EngineError, GenerateRequest, Generation, LoadOptions, Timings};
use crate::models::resolve::{resolve_model, ResolveError, ResolvedModel};
use crate::output;
use crate::parser::{self, ParseError};
pub use crate::settings::EngineKind;
use crate::settings::{OpenAi, Settings};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Why a request got no command; each keeps what caused it.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No model could be found (or downloaded) for the run.
    #[error(transparent)]
    Model(#[from] ResolveError),
    /// The model (daemon, this process or the shared server) failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the shared server's settings were not resolved for this run")]
    NoServerSettings,
    #[error("the model's answer held no usable command ({0}); try rephrasing the request")]
    NoCommand(#[source] ParseError),
    #[error("the model's answer ran on and was cut off before it ended, so it is not a whole command; try a shorter or more specific request")]
    CutOff,
}

/// A request's result.
pub type Result<T> = std::result::Result<T, RequestError>;

/// Where a run's requests to a model go, chosen in one place
/// ([`route`]) for generate, explain and refine alike.
pub enum Route {
    /// Canned answers (test builds with the cargo feature `mock`).
    #[cfg(feature = "mock")]
    Mock,
    /// A shared OpenAI-compatible server.
    Server(OpenAiEngine),
    /// The local model: through the daemon, else in this process ([`LocalModel`]).
    Local(ResolvedModel),
}

/// The route the `backend` setting picks; for the local model, the model
/// is found (and downloaded, after asking) here.
pub fn route(s: &Settings, os: crate::context::Os) -> Result<Route> {
    match s.engine.value {
        #[cfg(feature = "mock")]
        EngineKind::Mock => Ok(Route::Mock),
        EngineKind::OpenAi => {
            let o = s.openai.as_ref().ok_or(RequestError::NoServerSettings)?;
            Ok(Route::Server(openai_engine(o, os)))
        }
        EngineKind::Local => Ok(Route::Local(resolve_model(s)?)),
    }
}

impl Route {
    /// The route as an [`Engine`].
    pub fn engine<'a>(&'a mut self, s: &'a Settings) -> Box<dyn Engine + 'a> {
        match self {
            #[cfg(feature = "mock")]
            Route::Mock => Box::new(crate::engine::mock::MockEngine),
            Route::Server(server) => Box::new(ServerRef(server)),
            Route::Local(model) => Box::new(LocalModel::new(model, s)),
        }
    }
}

/// A borrowed server as an [`Engine`].
struct ServerRef<'a>(&'a mut OpenAiEngine);

impl Engine for ServerRef<'_> {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &AtomicBool,
    ) -> std::result::Result<Generation, EngineError> {
        self.0.generate(req, cancel)
    }
    fn explain(
        &mut self,
        command: &str,
        cancel: &AtomicBool,
        on_piece: &mut dyn FnMut(&str),
    ) -> std::result::Result<Generation, EngineError> {
        self.0.explain(command, cancel, on_piece)
    }
}

/// The local model, reached the one way cmdai reaches it: through the
/// resident daemon (started on demand) unless `no_daemon`; in this process
/// when the daemon cannot be reached or stops before it has answered (the
/// reason is said once, [`fell_back`]). The model is loaded in this process
/// at most once per run.
pub struct LocalModel<'a> {
    model: &'a ResolvedModel,
    s: &'a Settings,
    use_daemon: bool,
    worker: Option<Worker>,
    /// What answered the last request: `llama.cpp (daemon)` or `llama.cpp`.
    pub served_by: &'static str,
}

impl<'a> LocalModel<'a> {
    pub fn new(model: &'a ResolvedModel, s: &'a Settings) -> Self {
        LocalModel {
            model,
            s,
            use_daemon: !s.no_daemon,
            worker: None,
            served_by: "llama.cpp (daemon)",
        }
    }

    /// The daemon's answer, `None` when it cannot give one and this process
    /// should (said once); an engine error is the answer's error.
    fn by_daemon<T>(
        &mut self,
        ask: impl FnOnce(&ResolvedModel, &Settings) -> std::result::Result<T, ClientError>,
    ) -> Option<std::result::Result<T, EngineError>> {
        if !self.use_daemon {
            return None;
        }
        match ask(self.model, self.s) {
            Ok(g) => Some(Ok(g)),
            Err(ClientError::Engine(e)) => Some(Err(e)),
            Err(e) => {
                fell_back(&e, self.s.verbose);
                self.use_daemon = false;
                None
            }
        }
    }

    /// The model loaded in this process (the first time it is needed).
    fn worker(&mut self, os: crate::context::Os) -> &Worker {
        self.served_by = "llama.cpp";
        let (model, s) = (self.model, self.s);
        self.worker
            .get_or_insert_with(|| in_process_worker(model, s, os))
    }
}

impl Engine for LocalModel<'_> {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        _cancel: &AtomicBool,
    ) -> std::result::Result<Generation, EngineError> {
        if let Some(answer) = self.by_daemon(|m, s| ask_daemon(m, s, req)) {
            return answer;
        }
        wait_with_spinner(self.worker(req.context.os), req.clone())
    }

    fn explain(
        &mut self,
        command: &str,
        _cancel: &AtomicBool,
        on_piece: &mut dyn FnMut(&str),
    ) -> std::result::Result<Generation, EngineError> {
        let mut streamed = false;
        let by_daemon = self.by_daemon(|m, s| {
            let mut note = daemon_note(s.verbose, None);
            let result = client::connect_or_start(&m.model_id(), &serve_args(m, s), &mut note)
                .and_then(|mut conn| {
                    conn.explain(command, &mut |p| {
                        streamed = true;
                        on_piece(p)
                    })
                });
            match result {
                // Half an explanation is on the screen: starting over would repeat it.
                Err(e) if streamed && !matches!(e, ClientError::Engine(_)) => {
                    Err(ClientError::Engine(EngineError::StoppedMidway(format!(
                        "the daemon stopped mid-explanation ({e}); run the command again"
                    ))))
                }
                other => other,
            }
        });
        if let Some(answer) = by_daemon {
            return answer;
        }
        let os = crate::context::Os::current();
        let (pending, pieces) = self.worker(os).submit_explain(command.to_string());
        for p in pieces {
            on_piece(&p);
        }
        pending.wait()
    }
}

/// The shared inference server: each `[openai]` setting from its
/// `CMDAI_OPENAI_*` variable, else the config file, else its default.
pub fn openai_engine(o: &OpenAi, os: crate::context::Os) -> OpenAiEngine {
    let settings = OpenAiSettings {
        base_url: o.base_url.value.clone(),
        model: o.model.value.clone(),
        api_key_env: o.api_key_env.value.clone(),
        timeout: o.timeout.value,
        retries: o.retries.value,
    };
    OpenAiEngine::new(settings, os)
}

/// Starts an inference thread with the model loaded in this process (mapped:
/// a short-lived process starts faster that way).
pub fn in_process_worker(model: &ResolvedModel, s: &Settings, os: crate::context::Os) -> Worker {
    let opts = LoadOptions {
        model_path: model.path.clone(),
        threads: s.threads.value,
        verbose: s.verbose,
        model_id: model.model_id(),
        state_dir: crate::paths::prefix_state_dir(),
        use_mmap: true,
    };
    let n_ctx = s.context_size.value;
    Worker::spawn(move || {
        LlamaEngine::load_with_context(&opts, os, n_ctx).map(|e| Box::new(e) as Box<dyn Engine>)
    })
}

/// Prepares the model's prompt prefix and saves its state (the step that
/// otherwise makes the first request after an install, an upgrade or a
/// model switch wait for a full prefill): loads the model as the daemon
/// would and lets [`LlamaEngine`] restore or compute and save the prefix.
/// Says what it is doing on a terminal. `Ok(true)` when it was computed
/// now, `Ok(false)` when a saved state was already there.
pub fn prepare(model: &ResolvedModel, s: &Settings) -> std::result::Result<bool, EngineError> {
    let Some(state_dir) = crate::paths::prefix_state_dir() else {
        return Ok(false);
    };
    let opts = LoadOptions {
        model_path: model.path.clone(),
        threads: s.threads.value,
        verbose: s.verbose,
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
        LlamaEngine::load_with_context(&opts, crate::context::Os::current(), s.context_size.value);
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let engine = engine?;
    let computed = engine.prefix_source == crate::engine::llama::PrefixSource::Prefilled;
    if computed && output::stderr_is_terminal() {
        eprintln!(
            "cmdai: model prepared in {:.0} s; requests start from the saved state",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(computed)
}

/// Loads the model once as a request would (and prepares its prompt prefix
/// when saved state is on), so `cmdai model use` can refuse a model that
/// does not load before it writes anything.
pub fn check_loads(model: &ResolvedModel, s: &Settings) -> std::result::Result<(), EngineError> {
    if crate::paths::prefix_state_dir().is_some() {
        return prepare(model, s).map(|_| ());
    }
    let opts = LoadOptions {
        model_path: model.path.clone(),
        threads: s.threads.value,
        verbose: s.verbose,
        model_id: model.model_id(),
        state_dir: None,
        use_mmap: true,
    };
    LlamaEngine::load_with_context(&opts, crate::context::Os::current(), s.context_size.value)
        .map(|_| ())
}

/// Arguments that make a daemon load the same model as this client.
pub fn serve_args(model: &ResolvedModel, s: &Settings) -> Vec<String> {
    let mut v = vec![
        "--model".to_string(),
        if model.sha256.is_some() {
            model.name.clone()
        } else {
            model.path.display().to_string()
        },
        "--threads".to_string(),
        s.threads.value.to_string(),
    ];
    let n_ctx = s.context_size.value;
    if n_ctx > 0 {
        v.extend(["--context-size".to_string(), n_ctx.to_string()]);
    }
    if s.verbose {
        v.push("--verbose".into());
    }
    v
}

/// Why the last request of this process was answered here rather than by
/// the daemon, as one line; the JSON output's `fallback` field. A process
/// answers one request, so this is that request's reason.
static FALLBACK: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Why this process answered without the daemon, when it did (not for
/// `--no-daemon`, which is no fallback).
pub fn fallback() -> Option<String> {
    FALLBACK.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Says why the daemon is not used and what that costs: one line on stderr
/// when it is a terminal (or with -v; always when the daemon died or its
/// socket is unsafe), and always in [`fallback`] for the JSON output.
pub fn fell_back(e: &ClientError, verbose: bool) {
    let line =
        format!("{e}; answering in this process instead, which loads the model for this request");
    if verbose
        || output::stderr_is_terminal()
        || matches!(e, ClientError::Died | ClientError::Unsafe(_))
    {
        eprintln!("cmdai: {line}");
    }
    *FALLBACK.lock().unwrap_or_else(|e| e.into_inner()) = Some(line);
}

/// A note from reaching the daemon (it waits for another client's request),
/// shown above the spinner on a terminal, or with -v.
pub fn daemon_note(
    verbose: bool,
    spinner: Option<&indicatif::ProgressBar>,
) -> impl FnMut(&str) + '_ {
    move |text: &str| {
        if verbose || output::stderr_is_terminal() {
            match spinner {
                Some(pb) => pb.suspend(|| eprintln!("cmdai: {text}")),
                None => eprintln!("cmdai: {text}"),
            }
        }
    }
}

/// Asks the resident daemon (starting it if needed). `Err` carries the reason
/// to fall back to in-process inference, or a final error.
fn ask_daemon(
    model: &ResolvedModel,
    s: &Settings,
    req: &GenerateRequest,
) -> std::result::Result<Generation, ClientError> {
    let spinner = spinner();
    let mut note = daemon_note(s.verbose, spinner.as_ref());
    let result = client::connect_or_start(&model.model_id(), &serve_args(model, s), &mut note)
        .and_then(|mut conn| conn.ask_for_command(req.clone()));
    if let Some(pb) = &spinner {
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
fn wait_with_spinner(
    worker: &Worker,
    req: GenerateRequest,
) -> std::result::Result<Generation, EngineError> {
    let pending = worker.submit(req);
    let spinner = spinner();
    let result = pending.wait();
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    result
}

/// A command for a request, and where it came from.
pub struct Answer {
    pub command: String,
    pub timings: Timings,
    pub model_name: String,
    /// What answered: `memory`, `cache`, `llama.cpp (daemon)`, `llama.cpp`,
    /// `openai` or `mock` (the JSON output's `backend`).
    pub served_by: &'static str,
    /// What the model read and wrote for it (zero from memory or cache).
    pub tokens: crate::output::Tokens,
}

/// The command for `req` by the one route the settings pick: the mock's
/// canned answer, the shared server, or the local model (the response
/// cache, else the daemon, else this process). `started` is when the
/// request began, for the timings of an answer that needed no model.
pub fn command_for(
    s: &Settings,
    req: &GenerateRequest,
    started: std::time::Instant,
) -> Result<Answer> {
    match route(s, req.context.os)? {
        // The canned answer as it is: no self-check.
        #[cfg(feature = "mock")]
        mut mock @ Route::Mock => {
            let never = AtomicBool::new(false);
            let g = mock.engine(s).generate(req, &never)?;
            Ok(Answer {
                command: parse_generation(&g)?,
                timings: g.timings,
                model_name: "mock".to_string(),
                served_by: "mock",
                tokens: crate::output::Tokens::default(),
            })
        }
        Route::Server(mut server) => {
            let (g, model) = ask_server(&mut server, s, req)?;
            Ok(Answer {
                command: parse_generation(&g)?,
                timings: g.timings,
                model_name: model,
                served_by: "openai",
                tokens: crate::output::Tokens::of(&g),
            })
        }
        Route::Local(model) => local_answer(s, &model, req, started),
    }
}

/// The local model's command for `req`: from the response cache, else
/// from the model (through the daemon, else in this process).
fn local_answer(
    s: &Settings,
    model: &ResolvedModel,
    req: &GenerateRequest,
    started: std::time::Instant,
) -> Result<Answer> {
    let model_id = model.model_id();
    let cache = ResponseCache::new(&crate::paths::cache_dir());
    let use_cache = !s.no_response_cache;
    if let Some(command) = cache.get(&model_id, req).filter(|_| use_cache) {
        return Ok(Answer {
            command,
            timings: Timings {
                total: started.elapsed().as_millis() as u64,
                ..Timings::default()
            },
            model_name: model.name.clone(),
            served_by: "cache",
            tokens: crate::output::Tokens::default(),
        });
    }
    let (g, served_by) = ask_local_model(model, s, req.clone())?;
    if s.verbose {
        eprintln!(
            "cmdai: {} request tokens, {} generated; timings {:?}",
            g.prompt_tokens, g.generated_tokens, g.timings
        );
    }
    let command = parse_generation(&g)?;
    if use_cache {
        cache.put(&model_id, req, &command);
    }
    Ok(Answer {
        command,
        timings: g.timings,
        model_name: model.name.clone(),
        served_by,
        tokens: crate::output::Tokens::of(&g),
    })
}

/// Runs the model: through the daemon unless `--no-daemon`, falling back to
/// this process when the daemon cannot be reached or dies mid-request. An
/// answer that fails the self-check is asked for once more ([`super::selfcheck`]).
fn ask_local_model(
    model: &ResolvedModel,
    s: &Settings,
    req: GenerateRequest,
) -> Result<(Generation, &'static str)> {
    let mut local = LocalModel::new(model, s);
    let never = AtomicBool::new(false);
    let g = choice::with_self_check(&req, |r: &GenerateRequest| local.generate(r, &never))?;
    Ok((g, local.served_by))
}

/// Asks the shared inference server: no daemon, no local model and no
/// response cache (the server's model may change under the same name).
/// Returns the answer and the model name it was asked for.
fn ask_server(
    server: &mut OpenAiEngine,
    s: &Settings,
    req: &GenerateRequest,
) -> Result<(Generation, String)> {
    let spinner = spinner();
    let g = choice::with_self_check(req, |r: &GenerateRequest| {
        server.generate(r, &Default::default())
    });
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    let g = g?;
    if s.verbose {
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

/// Turns the model's raw text into a command. An answer cut off before its
/// end (token cap, or a loop stopped) that bash cannot read is shortened to
/// its whole commands, or refused: a broken line is never handed out.
pub fn parse_generation(g: &Generation) -> Result<String> {
    let parsed = if g.prefilled {
        parser::parse_prefilled(&g.text)
    } else {
        parser::parse_reply(&g.text)
    };
    let cmd = parsed.map(|p| p.command).map_err(RequestError::NoCommand)?;
    let cut_off = g.prefilled && parser::prefilled_end(&g.text, false).is_none();
    if !cut_off {
        return Ok(cmd);
    }
    match super::selfcheck::whole_part(&cmd) {
        CutOff::Whole => Ok(cmd),
        CutOff::Part(part) => Ok(part),
        CutOff::Broken => Err(RequestError::CutOff),
    }
}
