//! `cmdai memory list|forget ID|clear|off|on` and `cmdai remember`: the
//! user's local memory of what they ran ([`crate::pipeline::memory`]).

use crate::cli::{Format, MemoryCommand, RememberArgs};
use crate::error::{exit, CliError, Result};
use crate::pipeline::history::History;
use crate::pipeline::memory::Store;

/// Whether memory and history are on (one switch for both):
/// `CMDAI_MEMORY`, else `memory` in config.toml, else on.
pub fn enabled() -> bool {
    crate::config::memory().value
}

pub fn run(cmd: MemoryCommand) -> Result<i32> {
    let store = Store::for_user();
    match cmd {
        MemoryCommand::List { format } => {
            let all = store.load().map_err(|e| CliError::failure(e.to_string()))?;
            match format {
                Format::Json => {
                    crate::outln!("{}", serde_json::to_string(&all).unwrap_or_default())
                }
                Format::Text if all.is_empty() => {
                    eprintln!(
                        "cmdai: nothing remembered yet ({}); memory is {}",
                        store.path().display(),
                        if enabled() { "on" } else { "off" }
                    );
                }
                Format::Text => {
                    for m in &all {
                        crate::outln!("{:>4}  {}  =>  {}", m.id, m.request, m.command);
                    }
                }
            }
            Ok(exit::OK)
        }
        MemoryCommand::Forget { id } => match store.forget(id) {
            Ok(true) => Ok(exit::OK),
            Ok(false) => Err(CliError::usage(format!(
                "no remembered request has id {id}; `cmdai memory list` shows them"
            ))),
            Err(e) => Err(CliError::failure(e.to_string())),
        },
        MemoryCommand::Clear => {
            store
                .clear()
                .and_then(|_| History::for_user().clear())
                .map_err(|e| CliError::failure(format!("cannot clear the memory: {e}")))?;
            eprintln!("cmdai: memory and history cleared");
            Ok(exit::OK)
        }
        MemoryCommand::Off | MemoryCommand::On => {
            let on = matches!(cmd, MemoryCommand::On);
            let path = crate::config::write_key(None, "memory", on)
                .map_err(|e| CliError::failure(e.to_string()))?;
            eprintln!(
                "cmdai: memory and history are {} ({})",
                if on {
                    "on"
                } else {
                    "off; what is stored stays until `cmdai memory clear`"
                },
                path.display()
            );
            Ok(exit::OK)
        }
    }
}

/// `cmdai remember`: the shell hook or `-x` reports that a command cmdai
/// offered was run (as offered, or edited into `ran`).
pub fn remember(args: &RememberArgs) -> Result<i32> {
    if !enabled() {
        return Ok(exit::OK);
    }
    let cwd = match &args.cwd {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::current_dir().unwrap_or_else(|_| "/".into()),
    };
    let _ = History::for_user().mark_run(&args.request, &args.offered, &args.ran);
    match Store::for_user().add(&args.request, &args.ran, Some(&args.offered), &cwd) {
        Ok(_) => Ok(exit::OK),
        // Not storing a dangerous command is the rule working, not a failure.
        Err(crate::pipeline::memory::NotStored::Dangerous(_))
        | Err(crate::pipeline::memory::NotStored::Empty) => Ok(exit::OK),
        Err(e) => Err(CliError::failure(e.to_string())),
    }
}
