//! The validator's vocabulary: risks, findings, assessments, rules and the
//! machine a command runs on.
//!
//! Why this exists: every layer of `safety` (paths, expansion, rules, the
//! walk over nested scripts) speaks these types. They live at the bottom, in
//! a file that imports nothing from `safety`, so the files above can use them
//! without importing `safety/mod.rs`, which in turn uses all of them; `mod.rs`
//! re-exports them for the rest of the crate.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How dangerous a command is. Ordered: `Safe < Moderate < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Safe,
    Moderate,
    High,
    Critical,
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Risk::Safe => "safe",
            Risk::Moderate => "moderate",
            Risk::High => "high",
            Risk::Critical => "critical",
        })
    }
}

/// One matched rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule_id: &'static str,
    pub risk: Risk,
    /// Byte range in the original command.
    pub span: std::ops::Range<usize>,
    /// One sentence a person understands.
    pub explanation: String,
}

/// The verdict on a command: `risk` is the maximum over `findings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub risk: Risk,
    pub findings: Vec<Finding>,
}

/// Target operating system (device names, system folders, home layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    Macos,
}

impl Default for Os {
    fn default() -> Self {
        if cfg!(target_os = "macos") {
            Os::Macos
        } else {
            Os::Linux
        }
    }
}

/// What the validator knows about the machine the command will run on.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub os: Os,
    /// The user's home directory, so `/home/me` is recognised like `~`.
    pub home: Option<String>,
    /// The directory the command will run in (absolute). Relative paths and
    /// globs are judged as what they name there: `rm -rf *` in `/` is the
    /// whole system, in a project folder it is that folder's files.
    pub cwd: Option<String>,
}

impl Context {
    /// The machine cmdai runs on, the user's `$HOME` and this process's
    /// working directory.
    pub fn for_user() -> Context {
        Context {
            os: Os::default(),
            home: std::env::var("HOME").ok().filter(|h| h.len() > 1),
            cwd: std::env::current_dir()
                .ok()
                .and_then(|p| p.to_str().map(str::to_string)),
        }
    }

    /// The same machine, with the command running in `dir`: absolute, under
    /// `~`, or relative to this process's working directory.
    pub fn in_dir(mut self, dir: &str) -> Context {
        let path = std::path::Path::new(dir);
        let home_rest = dir
            .strip_prefix('~')
            .filter(|r| r.is_empty() || r.starts_with('/'));
        self.cwd = if let (Some(rest), Some(home)) = (home_rest, self.home.as_deref()) {
            Some(format!("{}{rest}", home.trim_end_matches('/')))
        } else if path.is_absolute() {
            Some(dir.to_string())
        } else {
            std::env::current_dir()
                .ok()
                .map(|c| c.join(path))
                .and_then(|p| p.to_str().map(str::to_string))
        };
        self
    }
}

/// A rule of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub risk: Risk,
    pub category: &'static str,
    pub explanation: &'static str,
}

/// A catalogue entry, usable in `const` items.
pub(crate) const fn rule(
    id: &'static str,
    risk: crate::safety::types::Risk,
    category: &'static str,
    explanation: &'static str,
) -> Rule {
    Rule {
        id,
        risk,
        category,
        explanation,
    }
}
