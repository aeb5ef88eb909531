//! Answering one request: the request for the model (the user's words at
//! the chosen quality, with the closest knowledge-base task and a close
//! memory of what this user ran as example turns), then the command from
//! memory, the response cache or the backend ([`crate::pipeline::reach`]); and
//! revising a command with a follow-up instruction (`--refine`, `-x`'s Refine).

use super::folder::FolderUse;
use super::memory::Recall;
use super::reach::Result;
use super::reach::{ask_local_model, ask_server, parse_generation, route, Route};
use super::response_cache::ResponseCache;
use crate::context::RequestContext;
use crate::engine::{GenerateRequest, Timings};
use crate::paths;
use crate::safety;
use crate::settings::Settings;

/// What a request asks beyond its words: a revision (`--refine` and the
/// command it revises, `--previous`) and commands not to give again
/// (`--avoid`, from `-x`'s Another).
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub refine: Option<String>,
    pub previous: Option<String>,
    pub avoid: Vec<String>,
}

/// The request for the model: the user's words in their context, at the
/// chosen quality, with the closest knowledge-base task and a close memory
/// of what this user ran as example turns. With `--refine`, the original
/// request and the command to revise come first as a turn of their own and
/// the instruction is the request.
///
/// Also what memory offered for the words (read once per request; `None`
/// for a revision, or when memory is off or has nothing close).
pub fn build_request(
    s: &Settings,
    ask: &Ask,
    query: &str,
) -> (GenerateRequest, FolderUse, Option<Recall>) {
    let mut context = RequestContext::detect();
    let folder = folder_context(s, ask, query);
    context.folder = folder.lines.clone();
    let quality = s.quality.value;
    let mut recalled = None;
    let (query, examples) = match (&ask.refine, &ask.previous) {
        (Some(instruction), Some(previous)) => (
            format!("revise that command: {}", instruction.trim()),
            vec![crate::engine::Example {
                request: query.to_string(),
                command: previous.clone(),
            }],
        ),
        _ => {
            let knowledge = quality.examples(context.os, query);
            recalled = recall(s, query);
            let memory = match &recalled {
                Some(Recall::Example(e)) => Some(e.clone()),
                _ => None,
            };
            (
                query.to_string(),
                super::memory::with_memory(memory, knowledge),
            )
        }
    };
    let req = GenerateRequest {
        query,
        context,
        avoid: ask.avoid.clone(),
        feedback: None,
        search: quality.search(),
        examples,
        deadline_ms: None,
    };
    (req, folder, recalled)
}

/// Longest wait for the folder's snapshot; past it the request goes on
/// without (a hung network file system must not hang the request).
const SNAPSHOT_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// The folder's lines for `query` when the `context` setting is on.
fn folder_context(s: &Settings, ask: &Ask, query: &str) -> FolderUse {
    if !s.context.value {
        return FolderUse::default();
    }
    // A refinement is about the original request and the instruction.
    let about = match &ask.refine {
        Some(instruction) => format!("{query} {instruction}"),
        None => query.to_string(),
    };
    let Ok(dir) = std::env::current_dir() else {
        return FolderUse {
            on: true,
            note: Some("the folder no longer exists".into()),
            ..FolderUse::default()
        };
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let words = about.clone();
    std::thread::spawn(move || {
        let _ = tx.send(super::folder::Snapshot::read(&dir, &words));
    });
    match rx.recv_timeout(SNAPSHOT_WAIT) {
        Ok(snap) => snap.use_for(&about),
        Err(_) => FolderUse {
            on: true,
            note: Some(format!(
                "the folder took longer than {} ms to read; answered without it",
                SNAPSHOT_WAIT.as_millis()
            )),
            ..FolderUse::default()
        },
    }
}

/// What memory offers for `query` asked in this folder (nothing when memory
/// is off).
fn recall(s: &Settings, query: &str) -> Option<Recall> {
    if !s.memory_and_history.value {
        return None;
    }
    let dir = std::env::current_dir().ok()?;
    super::memory::Store::for_user().recall(
        query,
        super::memory::CwdKind::of(&dir),
        super::folder::project_kind(&dir),
    )
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

/// Gets the command for `req`: `remembered` when memory already has it, else
/// from the backend (the response cache, the daemon, this process, or a
/// shared server).
pub fn answer(s: &Settings, req: &GenerateRequest, remembered: Option<String>) -> Result<Answer> {
    let started = std::time::Instant::now();
    let mut tokens = crate::output::Tokens::default();
    let (command, timings, model_name, served_by) = if let Some(cmd) = remembered {
        let ms = started.elapsed().as_millis() as u64;
        let t = Timings {
            total: ms,
            ..Timings::default()
        };
        (cmd, t, "memory".to_string(), "memory")
    } else {
        match route(s, req.context.os)? {
            // The canned answer as it is: no self-check.
            #[cfg(feature = "mock")]
            mut mock @ Route::Mock => {
                let never = std::sync::atomic::AtomicBool::new(false);
                let g = mock.engine(s).generate(req, &never)?;
                (parse_generation(&g)?, g.timings, "mock".to_string(), "mock")
            }
            Route::Server(mut server) => {
                let (g, model) = ask_server(&mut server, s, req)?;
                tokens = crate::output::Tokens::of(&g);
                (parse_generation(&g)?, g.timings, model, "openai")
            }
            Route::Local(model) => local_answer(s, &model, req, started, &mut tokens)?,
        }
    };
    Ok(Answer {
        command,
        timings,
        model_name,
        served_by,
        tokens,
    })
}

/// The local model's command for `req`: from the response cache, else
/// from the model (through the daemon, else in this process).
fn local_answer(
    s: &Settings,
    model: &crate::models::resolve::ResolvedModel,
    req: &GenerateRequest,
    started: std::time::Instant,
    tokens: &mut crate::output::Tokens,
) -> Result<(String, Timings, String, &'static str)> {
    let model_id = model.model_id();
    let cache = ResponseCache::new(&paths::cache_dir());
    let use_cache = !s.no_response_cache;
    if let Some(cmd) = cache.get(&model_id, req).filter(|_| use_cache) {
        let ms = started.elapsed().as_millis() as u64;
        let t = Timings {
            total: ms,
            ..Timings::default()
        };
        return Ok((cmd, t, model.name.clone(), "cache"));
    }
    let (g, served_by) = ask_local_model(model, s, req.clone())?;
    if s.verbose {
        eprintln!(
            "cmdai: {} request tokens, {} generated; timings {:?}",
            g.prompt_tokens, g.generated_tokens, g.timings
        );
    }
    *tokens = crate::output::Tokens::of(&g);
    let cmd = parse_generation(&g)?;
    if use_cache {
        cache.put(&model_id, req, &cmd);
    }
    Ok((cmd, g.timings, model.name.clone(), served_by))
}

/// A revision of `previous` (the command offered for `request`) following
/// `instruction`, for `-x`'s Refine choice.
pub fn revise(s: &Settings, request: &str, previous: &str, instruction: &str) -> Result<String> {
    let ask = Ask {
        refine: Some(instruction.to_string()),
        previous: Some(previous.to_string()),
        avoid: Vec::new(),
    };
    let (req, _, _) = build_request(s, &ask, request);
    let out = answer(s, &req, None)?;
    if s.memory_and_history.value {
        let ctx = safety::Context::for_user().in_dir(&req.context.cwd);
        let risk = safety::assess_request(request, &out.command, &ctx).risk;
        let _ = super::history::History::for_user().append(
            request,
            &out.command,
            risk,
            &req.context.cwd,
            std::env::current_dir()
                .ok()
                .as_deref()
                .and_then(super::folder::project_kind),
        );
    }
    Ok(out.command)
}
