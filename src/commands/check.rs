//! `cmdai check <COMMAND>`: judge a command with the safety rules alone, no model.
//!
//! `cmdai check -` reads one command per line from stdin and prints one JSON
//! line per command, for scripts that vet commands in bulk. `--cwd DIR`
//! judges relative paths and globs (`rm -rf *`) as they would be in DIR.
//! A command holding a NUL byte or another control character (tab aside;
//! newlines too in the argument form, where a command may span lines) is
//! refused with exit 2: the shell drops NUL bytes (`r\0m -rf /` runs as
//! `rm -rf /`) and terminals hide what escapes and carriage returns cover,
//! so judging the visible text would judge something else than what runs.

use crate::cli::{CheckArgs, Format};
use crate::error::{exit, CliError, Result};
use crate::safety::{self, Context, Risk};
use std::io::BufRead;

pub fn run(args: &CheckArgs) -> Result<i32> {
    let ctx = match &args.cwd {
        None => Context::for_user(),
        Some(dir) => {
            let Some(text) = dir.to_str().filter(|t| !t.is_empty()) else {
                return Err(CliError::usage(
                    "--cwd needs a directory written in UTF-8, e.g. --cwd /srv/app",
                ));
            };
            // A directory that exists is judged by what it really is (a
            // symlink to `/` is `/`); one that does not is taken as written.
            let real = std::fs::canonicalize(dir)
                .ok()
                .and_then(|p| p.to_str().map(str::to_string));
            Context::for_user().in_dir(real.as_deref().unwrap_or(text))
        }
    };
    if args.command.len() == 1 && args.command[0] == "-" {
        let stdin = std::io::stdin();
        let mut worst = Risk::Safe;
        for line in stdin.lock().split(b'\n') {
            let Ok(bytes) = line else { break };
            let text = String::from_utf8_lossy(&bytes);
            let cmd = text.trim_end_matches('\r');
            if cmd.trim().is_empty() {
                continue;
            }
            hidden_characters(cmd, false)?;
            let a = safety::assess(cmd, &ctx);
            worst = worst.max(a.risk);
            crate::outln!("{}", safety::check_json_line(cmd, &a));
        }
        return Ok(exit_for(worst));
    }
    let cmd = args.command.join(" ");
    hidden_characters(&cmd, true)?;
    let a = safety::assess(&cmd, &ctx);
    match args.format {
        Format::Json => crate::outln!("{}", safety::check_json_line(&cmd, &a)),
        Format::Text => {
            crate::outln!("{}", a.risk);
            for f in &a.findings {
                crate::outln!("  {}: {} [{}]", f.risk, f.explanation, f.rule_id);
            }
        }
    }
    Ok(exit_for(a.risk))
}

/// Refuses a command holding a character that makes what is shown differ
/// from what runs: NUL (dropped by the shell), other control characters
/// but tab (and newline where a command may span lines), and text-direction
/// overrides.
fn hidden_characters(cmd: &str, multi_line: bool) -> Result<()> {
    let Some(c) = cmd
        .chars()
        .find(|&c| crate::parser::is_hidden_char(c) && !(multi_line && c == '\n'))
    else {
        return Ok(());
    };
    let message = if c == '\0' {
        "the command holds a NUL byte, which the shell drops when it reads a line (r\\0m runs as rm), so it is not judged; remove it and check again".to_string()
    } else {
        format!(
            "the command holds the control character {}, which can hide what really runs, so it is not judged; remove it and check again",
            c.escape_unicode()
        )
    };
    Err(CliError::usage(message))
}

/// `check` exits 0 for safe and moderate, 5 (blocked) for critical, 1 for high,
/// so scripts can gate on it.
fn exit_for(risk: Risk) -> i32 {
    match risk {
        Risk::Safe | Risk::Moderate => exit::OK,
        Risk::High => exit::FAILURE,
        Risk::Critical => exit::BLOCKED,
    }
}
