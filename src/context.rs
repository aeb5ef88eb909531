//! Facts about where the command will run (OS, shell, working directory).
//!
//! The OS decides GNU vs BSD flags and goes into the cached system prompt; the
//! shell and directory change per request and go into the request turn.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Operating system family, as far as command syntax is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Macos,
}

impl Os {
    pub fn current() -> Os {
        if cfg!(target_os = "macos") {
            Os::Macos
        } else {
            Os::Linux
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::Macos => "macOS",
        }
    }
}

/// Everything about the user's environment that the prompt may mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    pub os: Os,
    /// Shell name only (`bash`, `zsh`, `fish`, ...).
    pub shell: String,
    /// Working directory, shortened with `~` when under the home directory.
    pub cwd: String,
}

impl RequestContext {
    /// Reads the context of the current process: `$SHELL` (or the parent
    /// widget's `CMDAI_SHELL`), the working directory and the OS.
    pub fn detect() -> RequestContext {
        let shell = std::env::var("CMDAI_SHELL")
            .ok()
            .or_else(|| std::env::var("SHELL").ok())
            .map(|s| shell_name(&s))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "sh".to_string());
        let cwd = std::env::current_dir()
            .map(|p| tilde(&p))
            .unwrap_or_else(|_| "~".to_string());
        RequestContext {
            os: Os::current(),
            shell,
            cwd,
        }
    }
}

/// `/usr/bin/zsh` → `zsh`, `-bash` → `bash`.
pub fn shell_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.trim_start_matches('-').to_string()
}

fn tilde(p: &Path) -> String {
    let s = p.to_string_lossy().into_owned();
    if let Some(home) = std::env::var_os("HOME") {
        let home = home.to_string_lossy().into_owned();
        if !home.is_empty() && home != "/" {
            if s == home {
                return "~".into();
            }
            if let Some(rest) = s.strip_prefix(&format!("{home}/")) {
                return format!("~/{rest}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_names() {
        assert_eq!(shell_name("/usr/bin/zsh"), "zsh");
        assert_eq!(shell_name("-bash"), "bash");
        assert_eq!(shell_name("fish"), "fish");
    }
}
