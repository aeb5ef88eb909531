//! What to do with an assessed command, given the user's strictness setting.
//!
//! Why this exists: the validator rates risk; the shell widget and `cmdai`
//! need a decision. This module maps a [`Risk`] and a [`SafetyLevel`] (from
//! the config file or `--safety LEVEL`) to a [`Verdict`]:
//!
//! | risk \ level | strict  | default | permissive |
//! |--------------|---------|---------|------------|
//! | safe         | allow   | allow   | allow      |
//! | moderate     | confirm | warn    | allow      |
//! | high         | block   | confirm | warn       |
//! | critical     | block   | block   | block      |
//!
//! Critical is blocked at every level: the only way to get such a command
//! as a runnable line is the explicit `--allow-dangerous` flag, which the
//! caller applies on top of this table.

use crate::safety::types::Risk;
use std::fmt;
use std::str::FromStr;

/// How cautious cmdai should be (`--safety` lists the names through
/// [`clap::ValueEnum`]; the config file and `CMDAI_SAFETY` through [`FromStr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SafetyLevel {
    Strict,
    #[default]
    Default,
    Permissive,
}

/// What to do with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Show it quietly.
    Allow,
    /// Show it with the explanation as a warning.
    Warn,
    /// Show it and require explicit confirmation before running.
    Confirm,
    /// Do not offer it as a runnable line (commented out with the reason).
    Block,
}

/// Error for an unknown safety level name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown safety level '{0}' (expected strict, default or permissive)")]
pub struct ParseSafetyLevelError(pub String);

impl FromStr for SafetyLevel {
    type Err = ParseSafetyLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strict" => Ok(SafetyLevel::Strict),
            "default" => Ok(SafetyLevel::Default),
            "permissive" => Ok(SafetyLevel::Permissive),
            _ => Err(ParseSafetyLevelError(s.to_string())),
        }
    }
}

impl fmt::Display for SafetyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SafetyLevel::Strict => "strict",
            SafetyLevel::Default => "default",
            SafetyLevel::Permissive => "permissive",
        })
    }
}

/// The verdict for a risk at a strictness level (see the module table).
pub fn policy(risk: Risk, level: SafetyLevel) -> Verdict {
    use SafetyLevel::*;
    use Verdict::*;
    match (risk, level) {
        (Risk::Safe, _) => Allow,
        (Risk::Moderate, Strict) => Confirm,
        (Risk::Moderate, Default) => Warn,
        (Risk::Moderate, Permissive) => Allow,
        (Risk::High, Strict) => Block,
        (Risk::High, Default) => Confirm,
        (Risk::High, Permissive) => Warn,
        (Risk::Critical, _) => Block,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(policy(Risk::Safe, SafetyLevel::Strict), Verdict::Allow);
        assert_eq!(policy(Risk::Moderate, SafetyLevel::Default), Verdict::Warn);
        assert_eq!(policy(Risk::High, SafetyLevel::Default), Verdict::Confirm);
        assert_eq!(policy(Risk::Critical, SafetyLevel::Default), Verdict::Block);
        assert_eq!(
            policy(Risk::Moderate, SafetyLevel::Strict),
            Verdict::Confirm
        );
        assert_eq!(policy(Risk::High, SafetyLevel::Strict), Verdict::Block);
        assert_eq!(policy(Risk::High, SafetyLevel::Permissive), Verdict::Warn);
        assert_eq!(
            policy(Risk::Critical, SafetyLevel::Permissive),
            Verdict::Block
        );
        assert_eq!(
            policy(Risk::Moderate, SafetyLevel::Permissive),
            Verdict::Allow
        );
    }

    #[test]
    fn parse_and_display() {
        for l in [
            SafetyLevel::Strict,
            SafetyLevel::Default,
            SafetyLevel::Permissive,
        ] {
            assert_eq!(l.to_string().parse::<SafetyLevel>(), Ok(l));
        }
        assert_eq!("STRICT".parse::<SafetyLevel>(), Ok(SafetyLevel::Strict));
        assert_eq!(
            " Permissive ".parse::<SafetyLevel>(),
            Ok(SafetyLevel::Permissive)
        );
        assert!("lax".parse::<SafetyLevel>().is_err());
        assert_eq!(SafetyLevel::default(), SafetyLevel::Default);
    }
}
