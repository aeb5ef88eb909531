//! What a program word names: base names, assignments and kinds of program.
//!
//! Why this exists: the lowering of commands (`lower.rs`), the expansion
//! (`expand.rs`), the interpreter translation and the rules all ask "which
//! program is this word, and is it a shell, an interpreter, a downloader?".
//! These small answers depend on nothing but the parsed word, so they sit at
//! the bottom where every layer can use them without importing each other.

use crate::safety::parse::Word;

/// Program base name as the shell would look it up, lower-cased.
pub(crate) fn prog_name(text: &str) -> String {
    let t = text.trim_start_matches('\\');
    let base = t.rsplit('/').next().unwrap_or(t);
    base.to_ascii_lowercase()
}

pub(crate) fn is_assignment(w: &Word) -> bool {
    let t = &w.text;
    match t.find('=') {
        Some(eq) if eq > 0 => {
            let name = t[..eq].trim_end_matches('+');
            let name = name.split('[').next().unwrap_or(name);
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

pub(crate) const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "yash", "rbash",
];

pub(crate) fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

/// Shells and script interpreters that execute code given on stdin.
pub(crate) fn is_interpreter(name: &str) -> bool {
    is_shell(name)
        || name.starts_with("python")
        || name.starts_with("perl")
        || name.starts_with("ruby")
        || matches!(
            name,
            "node"
                | "nodejs"
                | "php"
                | "lua"
                | "deno"
                | "bun"
                | "osascript"
                | "pwsh"
                | "tclsh"
                | "irb"
        )
}

/// Programs that fetch data from the network onto stdout.
pub(crate) fn is_downloader(name: &str) -> bool {
    matches!(
        name,
        "curl"
            | "wget"
            | "fetch"
            | "http"
            | "https"
            | "xh"
            | "lwp-request"
            | "get"
            | "aria2c"
            | "wget2"
            | "curlie"
    )
}

/// The name of the program a raw word would run.
pub(crate) fn word_prog(w: &Word) -> String {
    prog_name(&w.text)
}
