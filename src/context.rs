//! Facts about where the command will run (OS, shell, working directory,
//! and what that folder holds).
//!
//! The OS decides GNU vs BSD flags and goes into the cached system prompt;
//! the shell, the kind of place and the folder's facts ([`crate::pipeline::folder`])
//! change per request and go into the request turn. The folder's own path
//! does not: a random folder name must not change the answer, and a model
//! that sees `/home/me/proj` writes it where `.` is meant.

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
    /// Used to judge paths ([`crate::safety`]) and in history; the prompt
    /// shows only [`RequestContext::place`].
    pub cwd: String,
    /// What the folder holds, as far as the request is about it: the lines
    /// [`crate::pipeline::folder::Snapshot::render`] wrote (empty with context off).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folder: Vec<String>,
}

impl RequestContext {
    /// Reads the context of the current process: `$SHELL` (or the parent
    /// widget's `CMDAI_SHELL`), the working directory and the OS.
    pub fn detect() -> RequestContext {
        let shell = crate::settings::SHELL
            .env()
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
            folder: Vec::new(),
        }
    }

    /// A context for `shell` in `cwd`, with no folder facts (tests, benches).
    pub fn new(os: Os, shell: &str, cwd: &str) -> RequestContext {
        RequestContext {
            os,
            shell: shell.to_string(),
            cwd: cwd.to_string(),
            folder: Vec::new(),
        }
    }

    /// The kind of place the request is asked in, as the prompt shows it:
    /// `~` for the home folder, the path for a system location (`/etc`,
    /// `/var/log/nginx`: where relative paths mean system files), `.` for
    /// any other folder (with nothing there, the model took "find large
    /// files" to mean the home folder).
    pub fn place(&self) -> &str {
        place(&self.cwd)
    }
}

/// See [`RequestContext::place`].
pub fn place(cwd: &str) -> &str {
    const SYSTEM: &[&str] = &[
        "etc",
        "var",
        "usr",
        "opt",
        "srv",
        "boot",
        "lib",
        "lib64",
        "bin",
        "sbin",
        "proc",
        "sys",
        "dev",
        "run",
        "Library",
        "System",
        "Applications",
        "private",
    ];
    if cwd == "~" || cwd == "/" {
        return cwd;
    }
    let first = cwd.strip_prefix('/').and_then(|r| r.split('/').next());
    match first {
        Some(top) if SYSTEM.contains(&top) => cwd,
        _ => ".",
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
    fn only_home_and_system_places_are_shown() {
        assert_eq!(place("~"), "~");
        assert_eq!(place("/"), "/");
        assert_eq!(place("/var/log/nginx"), "/var/log/nginx");
        assert_eq!(place("/etc"), "/etc");
        assert_eq!(place("~/projects/app"), ".");
        assert_eq!(place("/tmp/tmp.XyZ12"), ".");
        assert_eq!(place("/home/other/src"), ".");
        assert_eq!(place("/variable"), ".");
    }

    #[test]
    fn shell_names() {
        assert_eq!(shell_name("/usr/bin/zsh"), "zsh");
        assert_eq!(shell_name("-bash"), "bash");
        assert_eq!(shell_name("fish"), "fish");
    }
}
