//! Errors that end a cmdai run, and the exit code each one maps to.
//!
//! Every error here carries one sentence that says what went wrong and what to
//! do about it; the CLI prints it as `cmdai: <sentence>` and exits with the code
//! documented in README.md.

use std::fmt;

/// Process exit codes (documented in README.md).
pub mod exit {
    pub const OK: i32 = 0;
    /// Generic failure that fits no other class.
    pub const FAILURE: i32 = 1;
    /// Bad usage: empty or oversized request, unknown flag, invalid UTF-8.
    pub const USAGE: i32 = 2;
    /// The model is missing, corrupt, or could not be loaded or downloaded.
    pub const MODEL_UNAVAILABLE: i32 = 3;
    /// The model ran but no usable command came out of it.
    pub const NO_COMMAND: i32 = 4;
    /// A command was produced but the safety policy blocked it.
    pub const BLOCKED: i32 = 5;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: i32 = 130;
}

/// What kind of failure ended the run; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Failure,
    Usage,
    ModelUnavailable,
    NoCommand,
    Blocked,
    Interrupted,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Failure => exit::FAILURE,
            Kind::Usage => exit::USAGE,
            Kind::ModelUnavailable => exit::MODEL_UNAVAILABLE,
            Kind::NoCommand => exit::NO_COMMAND,
            Kind::Blocked => exit::BLOCKED,
            Kind::Interrupted => exit::INTERRUPTED,
        }
    }
}

/// An error the user sees: a kind (for the exit code) and one clear sentence,
/// and the domain error it was made from, when there was one (kept as its
/// [`source`](std::error::Error::source); `src/commands/errors.rs` is where
/// each domain error becomes a `CliError`).
#[derive(Debug)]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
    cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
            cause: None,
        }
    }
    /// The same error, remembering the domain error it was made from.
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn model(message: impl Into<String>) -> Self {
        Self::new(Kind::ModelUnavailable, message)
    }
    pub fn no_command(message: impl Into<String>) -> Self {
        Self::new(Kind::NoCommand, message)
    }
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(Kind::Failure, message)
    }
    pub fn interrupted() -> Self {
        Self::new(Kind::Interrupted, "interrupted; nothing was changed.")
    }
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

pub type Result<T> = std::result::Result<T, CliError>;
