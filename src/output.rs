//! How results reach the user: the command alone on stdout (text), or one JSON
//! object; notes and warnings on stderr, coloured only for a terminal and only
//! without `NO_COLOR`.
//!
//! Everything cmdai prints on stdout goes through [`out`] (and the
//! [`outln!`](crate::outln) macro): a reader that went away (`cmdai history
//! | head -1`) ends cmdai quietly with status 0, as ripgrep does, instead of
//! the panic (exit 101) that `println!` gives; any other write error is one
//! sentence and status 1.

use crate::engine::Timings;
use crate::safety::{Assessment, Risk};
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Writes `bytes` to stdout and flushes; a closed pipe ends the process
/// with status 0, another failure with one line and status 1.
pub fn out(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(crate::error::exit::OK);
        }
        eprintln!("cmdai: could not write the output: {e}");
        std::process::exit(crate::error::exit::FAILURE);
    }
}

/// One line on stdout through [`out`] (for [`outln!`](crate::outln)).
pub fn out_line(args: std::fmt::Arguments) {
    let mut line = args.to_string();
    line.push('\n');
    out(line.as_bytes());
}

/// `println!` for cmdai's stdout: quiet on a closed pipe ([`out`]).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::out(b"\n")
    };
    ($($arg:tt)*) => {
        $crate::output::out_line(format_args!($($arg)*))
    };
}

/// The `--format json` object (its shape is documented in README.md).
#[derive(Debug, Serialize)]
pub struct JsonResult<'a> {
    pub command: &'a str,
    pub risk: Risk,
    pub warnings: Vec<String>,
    pub blocked: bool,
    pub model: &'a str,
    /// What answered ([`crate::pipeline::answer::Answer::served_by`]); named
    /// `backend` in the JSON, which users read.
    #[serde(rename = "backend")]
    pub served_by: &'a str,
    pub timings_ms: Timings,
    /// What the model was told about the folder.
    pub context: &'a crate::pipeline::folder::FolderUse,
    /// Stand-ins the user must replace (`<branch-name>`), first to last.
    pub placeholders: &'a [crate::pipeline::placeholders::Span],
    /// What the model read and wrote for this request.
    pub tokens: Tokens,
    /// Why the answer came from this process instead of the daemon (the
    /// reason and the fix, one line); null when it did not.
    pub fallback: Option<String>,
}

/// Tokens the model read (the request turn after the cached prompt, less
/// what the cache still held from the request before) and wrote, and
/// whether the self-check asked a second time.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tokens {
    pub read: usize,
    pub written: usize,
    pub retried: bool,
}

impl Tokens {
    pub fn of(g: &crate::engine::Generation) -> Tokens {
        Tokens {
            read: g.prompt_tokens,
            written: g.generated_tokens,
            retried: g.retried,
        }
    }
}

pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && stderr_is_terminal()
}

/// One warning line per finding: `critical: deletes the root file system (rm-root)`.
pub fn warnings(a: &Assessment) -> Vec<String> {
    a.findings
        .iter()
        .map(|f| format!("{}: {} ({})", f.risk, f.explanation, f.rule_id))
        .collect()
}

/// The first (worst) finding's explanation, for one-line messages.
pub fn worst_reason(a: &Assessment) -> String {
    a.findings
        .iter()
        .max_by_key(|f| f.risk)
        .map(|f| f.explanation.clone())
        .unwrap_or_else(|| "judged dangerous".into())
}

/// A command that must not be runnable, as a line no shell runs: a comment
/// whose text is one single-quoted word. zsh without `interactivecomments`
/// reads `#` as a command name; then the quotes keep `;`, `|`, `&&` and
/// newlines in the reason or the command from starting anything, and the
/// missing `#` command fails.
pub fn commented_out(command: &str, a: &Assessment) -> String {
    let text = format!("{}: {}", worst_reason(a), command).replace(['\n', '\r'], " ");
    format!("# blocked: '{}'", visible(&text).replace('\'', "'\\''"))
}

/// Text safe to print on a terminal: control characters (but tab) and
/// text-direction overrides are shown as `\u{..}` escapes, so what is printed
/// is what it says.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if crate::parser::is_hidden_char(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Prints a note for the user on stderr, with the risk coloured when allowed.
pub fn note(risk: Risk, text: &str) {
    if color_enabled() {
        let code = match risk {
            Risk::Safe => "32",
            Risk::Moderate => "33",
            Risk::High => "31",
            Risk::Critical => "1;31",
        };
        eprintln!("\x1b[{code}m{risk}\x1b[0m: {text}");
    } else {
        eprintln!("{risk}: {text}");
    }
}
