//! The shapes of an unwrapped command: the program that really runs and the
//! nested scripts it carries.
//!
//! Why this exists: the lowering (`lower.rs`) produces these types, the
//! interpreter translation (`translate.rs`) produces nested scripts of them,
//! and every rule reads them. Keeping the types apart from the lowering lets
//! the translation sit below the lowering instead of beside it in a circle.

use crate::safety::parse::Word;
use crate::safety::programs::{is_interpreter, is_shell};
use std::ops::Range;

/// What an implicit argument list (from `xargs` stdin) is known to contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// No implicit arguments.
    None,
    /// Arguments come from stdin and are not known.
    Unknown,
}

/// The effective command after unwrapping.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    /// Program base name, lower-cased (`/bin/RM` -> `rm`).
    pub name: String,
    /// The word naming the program, as written.
    pub prog: Word,
    /// Arguments after the program.
    pub args: Vec<Word>,
    /// Span of the whole simple command (local coordinates).
    pub span: Range<usize>,
    /// Run through sudo/doas (kept for callers and tests; rules judge the
    /// command itself, since a user-owned target is as gone as a root one).
    #[cfg_attr(not(test), allow(dead_code))]
    pub privileged: bool,
    pub input: Input,
    /// Index of the simple command in the script.
    pub index: usize,
    /// Inside the body of a function the line calls: the body is judged
    /// again at each call with the arguments bound, so what depends on the
    /// value of a parameter is left to those.
    pub in_called_function: bool,
}

impl Cmd {
    pub(crate) fn arg_texts(&self) -> impl Iterator<Item = &str> {
        self.args.iter().map(|w| w.text.as_str())
    }

    /// The first non-option argument (a subcommand such as `git push`).
    pub(crate) fn sub(&self, n: usize) -> Option<&str> {
        self.args
            .iter()
            .map(|w| w.text.as_str())
            .filter(|t| !t.starts_with('-'))
            .nth(n)
    }
}

/// A nested script to analyse (body of `sh -c`, `eval`, ...).
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub text: String,
    /// The word the text came from (its span is used to map findings).
    pub span: Range<usize>,
    /// Whether the text appears verbatim in the source at `span`.
    pub verbatim: bool,
    /// Positional parameters (`$0`, `$1`, ...) the script runs with
    /// (`sh -c 'rm -rf $1' _ /`).
    pub params: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Unwrapped {
    pub cmds: Vec<Cmd>,
    pub bodies: Vec<Body>,
}

/// Whether a shell or interpreter command reads its program from stdin:
/// no script operand, or an explicit `-`/`-s`.
pub(crate) fn reads_program_from_stdin(c: &Cmd) -> bool {
    if !is_interpreter(&c.name) {
        return false;
    }
    let mut operands = 0;
    for t in c.arg_texts() {
        if t == "-" || t == "-s" {
            return true;
        }
        if t == "-c" || t == "-e" || t == "-m" || t == "-E" || t == "-r" || t == "--eval" {
            return false;
        }
        if t.starts_with('-')
            && is_shell(&c.name)
            && t.len() > 1
            && t[1..].contains('c')
            && !t.starts_with("--")
        {
            return false;
        }
        if !t.starts_with('-') {
            operands += 1;
        }
    }
    operands == 0
}
