//! Answering one request: the request for the model (the user's words at
//! the chosen quality, with the closest knowledge-base task and a close
//! memory of what this user ran as example turns), then the command from
//! memory, the response cache or the backend ([`crate::pipeline::reach`]); and
//! revising a command with a follow-up instruction (`--refine`, `-x`'s Refine).

use super::folder::FolderUse;
use super::memory::Recall;
pub use super::reach::Answer;
use super::reach::{command_for, Result};
use crate::context::RequestContext;
use crate::engine::{GenerateRequest, Timings};
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
fn build_request(
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

/// Gets the command for `req`: `remembered` when memory already has it, else
/// by the one route the settings pick ([`super::reach::command_for`]: the
/// response cache, the daemon, this process, or a shared server).
fn answer(s: &Settings, req: &GenerateRequest, remembered: Option<String>) -> Result<Answer> {
    let started = std::time::Instant::now();
    match remembered {
        Some(command) => Ok(Answer {
            command,
            timings: Timings {
                total: started.elapsed().as_millis() as u64,
                ..Timings::default()
            },
            model_name: "memory".to_string(),
            served_by: "memory",
            tokens: crate::output::Tokens::default(),
        }),
        None => command_for(s, req, started),
    }
}

/// One request from its words to a command: the request built once (its
/// folder lines, quality, knowledge-base and memory examples), the command
/// memory already has for the same words when there is one (not for a
/// revision or with commands to avoid), else the model's. Returns the
/// request and what the folder showed, for the placeholders, the safety
/// check and the JSON output.
pub fn answer_query(
    s: &Settings,
    ask: &Ask,
    query: &str,
) -> Result<(Answer, GenerateRequest, FolderUse)> {
    let (req, folder, recalled) = build_request(s, ask, query);
    // The same request in other words, already answered by the user's own
    // command in this kind of folder: that command, no model.
    let remembered = match (&ask.refine, ask.avoid.is_empty()) {
        (None, true) => recalled.and_then(|r| match r {
            Recall::Same(cmd) => Some(cmd),
            Recall::Example(_) => None,
        }),
        _ => None,
    };
    let answered = answer(s, &req, remembered)?;
    Ok((answered, req, folder))
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
