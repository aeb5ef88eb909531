//! Local memory: what this user actually ran for a request.
//!
//! When a command cmdai gave is accepted (as it was, or edited) and run, the
//! shell widget's hook or `-x` calls `cmdai remember`, which stores the
//! request, the command that really ran and the kind of folder it ran in
//! ([`CwdKind`]). A later request close to a stored one gets that command as
//! its first example turn, so a small model learns the user's own habits;
//! one that says the same thing in other words, in the same kind of folder,
//! gets the stored command back directly. Retrieval is the knowledge base's
//! TF-IDF cosine ([`crate::knowledge::Index`]) over the stored requests,
//! with its own thresholds.
//!
//! Stored: `<data dir>/memory.jsonl` (`~/.local/share/cmdai` on Linux,
//! `CMDAI_DATA_DIR` moves it), plain text, at most [`MAX_ENTRIES`] lines (the
//! oldest go first). A command the safety validator rates High or Critical
//! is never stored. `cmdai memory list|forget ID|clear|off|on`.

use crate::engine::Example;
use crate::knowledge::{Entry, Index};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether memory and history are on (`cmdai memory off|on`, `memory` in
/// config.toml, `CMDAI_MEMORY`).
pub fn enabled() -> bool {
    crate::config::memory().value
}

/// Entries kept; adding one more drops the oldest.
pub const MAX_ENTRIES: usize = 1000;
/// Similarity at which a stored request is shown as an example.
pub const EXAMPLE_MIN_SCORE: f32 = 0.6;
/// Similarity at which a stored request counts as the same request, so its
/// command is given back without asking the model.
pub const SAME_MIN_SCORE: f32 = 0.9;

/// What kind of folder a command ran in: a stored command is given back
/// directly only in the same kind (`rm *.log` learnt in a project is not
/// replayed in `/etc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CwdKind {
    /// `/` itself.
    Root,
    /// A system folder: /etc, /usr, /var, /boot, /bin, /lib, /opt, /sys, ...
    System,
    /// The home folder itself.
    Home,
    /// A folder inside a git work tree.
    Project,
    Other,
}

impl CwdKind {
    pub fn of(dir: &Path) -> CwdKind {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        if dir == Path::new("/") {
            return CwdKind::Root;
        }
        if home.as_deref() == Some(dir) {
            return CwdKind::Home;
        }
        let system = [
            "/etc", "/usr", "/var", "/boot", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/sys",
            "/proc", "/dev", "/root", "/System", "/Library",
        ];
        let in_home = home.as_deref().is_some_and(|h| dir.starts_with(h));
        if !in_home && system.iter().any(|s| dir.starts_with(s)) {
            return CwdKind::System;
        }
        if dir.ancestors().any(|a| a.join(".git").exists()) {
            return CwdKind::Project;
        }
        CwdKind::Other
    }
}

/// One remembered request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub id: u64,
    /// Seconds since the Unix epoch.
    pub when: u64,
    pub request: String,
    /// The command that ran (after any edit).
    pub command: String,
    /// What cmdai had offered, when it differs from `command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered: Option<String>,
    pub cwd_kind: CwdKind,
}

/// What memory offers for a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Recall {
    /// The same request, in the same kind of folder: this command.
    Same(String),
    /// A close request: show it to the model first.
    Example(Example),
}

/// Why a command was not remembered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotStored {
    #[error("memory is off (`cmdai memory on` turns it on)")]
    Off,
    #[error("the command is rated {0} by the safety validator; such commands are never stored")]
    Dangerous(crate::safety::Risk),
    #[error("the request or the command is empty")]
    Empty,
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, String),
}

/// The memory file in `dir`.
pub struct Store {
    path: PathBuf,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Store {
    pub fn new(data_dir: &Path) -> Store {
        Store {
            path: data_dir.join("memory.jsonl"),
        }
    }

    /// The user's store (`CMDAI_DATA_DIR`, else the platform's data dir).
    pub fn for_user() -> Store {
        Store::new(&crate::paths::data_dir())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, oldest first; lines that do not parse are skipped.
    pub fn list(&self) -> Vec<Memory> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Rewrites the file atomically (temp file + rename).
    fn write(&self, entries: &[Memory]) -> Result<(), NotStored> {
        let io = |e: std::io::Error| NotStored::Io(self.path.clone(), e.to_string());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let mut text = String::new();
        for e in entries {
            text.push_str(&serde_json::to_string(e).unwrap_or_default());
            text.push('\n');
        }
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()))
            .and_then(|_| std::fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        Ok(())
    }

    /// Remembers that `command` ran for `request` in a folder of `kind`
    /// (replacing an earlier entry for the same request). Refuses a command
    /// rated High or worse in `cwd`.
    pub fn add(
        &self,
        request: &str,
        command: &str,
        offered: Option<&str>,
        cwd: &Path,
    ) -> Result<Memory, NotStored> {
        let request = crate::prompt::clean_request(request).ok_or(NotStored::Empty)?;
        let command = command.trim();
        if command.is_empty() {
            return Err(NotStored::Empty);
        }
        let ctx = crate::safety::Context::for_user().in_dir(&cwd.to_string_lossy());
        let risk = crate::safety::assess_request(&request, command, &ctx).risk;
        if risk >= crate::safety::Risk::High {
            return Err(NotStored::Dangerous(risk));
        }
        let mut entries = self.list();
        entries.retain(|e| !e.request.eq_ignore_ascii_case(&request));
        let memory = Memory {
            id: entries.iter().map(|e| e.id).max().unwrap_or(0) + 1,
            when: now(),
            request,
            command: command.to_string(),
            offered: offered
                .map(str::trim)
                .filter(|o| *o != command)
                .map(str::to_string),
            cwd_kind: CwdKind::of(cwd),
        };
        entries.push(memory.clone());
        let excess = entries.len().saturating_sub(MAX_ENTRIES);
        entries.drain(..excess);
        self.write(&entries)?;
        Ok(memory)
    }

    /// Forgets entry `id`; false when there is none.
    pub fn forget(&self, id: u64) -> Result<bool, NotStored> {
        let mut entries = self.list();
        let before = entries.len();
        entries.retain(|e| e.id != id);
        if entries.len() == before {
            return Ok(false);
        }
        self.write(&entries)?;
        Ok(true)
    }

    /// Forgets everything (the file goes).
    pub fn clear(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// What memory offers for `request` asked in a folder of `kind`.
    pub fn recall(&self, request: &str, kind: CwdKind) -> Option<Recall> {
        let entries = self.list();
        if entries.is_empty() {
            return None;
        }
        let index = Index::new(
            entries
                .iter()
                .map(|e| Entry {
                    request: e.request.clone(),
                    command: e.command.clone(),
                })
                .collect(),
        );
        let (best, score) = index.nearest(request, 1, EXAMPLE_MIN_SCORE).pop()?;
        let memory = entries
            .iter()
            .rev()
            .find(|e| e.request == best.request && e.command == best.command)?;
        if score >= SAME_MIN_SCORE && memory.cwd_kind == kind {
            return Some(Recall::Same(memory.command.clone()));
        }
        Some(Recall::Example(Example {
            request: memory.request.clone(),
            command: memory.command.clone(),
        }))
    }
}

/// The examples a request gets: the knowledge base's, then a close memory
/// (the user's own habit) last, nearest the request, where it weighs most.
pub fn with_memory(memory: Option<Example>, knowledge: Vec<Example>) -> Vec<Example> {
    // Examples are rendered in order and the last is nearest the request;
    // the user's own command goes last so it weighs most.
    let mut v: Vec<Example> = knowledge
        .into_iter()
        .filter(|k| memory.as_ref().is_none_or(|m| m.request != k.request))
        .collect();
    v.extend(memory);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path());
        (dir, s)
    }

    #[test]
    fn a_correction_comes_back_for_the_same_request_in_other_words() {
        let (_d, s) = store();
        let proj = tempfile::tempdir().unwrap();
        s.add(
            "show the ip address of this machine",
            "hostname -I | awk '{print $1}'",
            Some("ip addr"),
            proj.path(),
        )
        .unwrap();
        let kind = CwdKind::of(proj.path());
        assert_eq!(
            s.recall("show the IP address of this machine", kind),
            Some(Recall::Same("hostname -I | awk '{print $1}'".into()))
        );
        // Close but not the same: an example for the model.
        match s.recall("print my machine's ip address in json", kind) {
            Some(Recall::Example(e)) => assert!(e.command.starts_with("hostname")),
            other => panic!("{other:?}"),
        }
        // Unrelated: nothing.
        assert_eq!(s.recall("compress the logs folder", kind), None);
    }

    #[test]
    fn the_same_request_elsewhere_is_only_an_example() {
        let (_d, s) = store();
        let proj = tempfile::tempdir().unwrap();
        s.add("delete the log files", "rm -- *.log", None, proj.path())
            .unwrap();
        assert!(matches!(
            s.recall("delete the log files", CwdKind::Root),
            Some(Recall::Example(_))
        ));
    }

    #[test]
    fn dangerous_commands_are_never_stored() {
        let (_d, s) = store();
        let err = s
            .add("wipe everything", "rm -rf /", None, Path::new("/tmp"))
            .unwrap_err();
        assert!(matches!(err, NotStored::Dangerous(_)), "{err}");
        assert!(s.list().is_empty());
    }

    #[test]
    fn forget_clear_and_the_size_cap() {
        let (_d, s) = store();
        let cwd = Path::new("/tmp");
        let a = s.add("list files", "ls -la", None, cwd).unwrap();
        let b = s.add("show disk space", "df -h", None, cwd).unwrap();
        // The same request again replaces the earlier entry.
        s.add("LIST FILES", "ls -lah", None, cwd).unwrap();
        let all = s.list();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].command, "ls -lah");
        assert!(s.forget(b.id).unwrap());
        assert!(!s.forget(b.id).unwrap());
        assert!(!s.forget(a.id).unwrap()); // replaced, gone already
        s.clear().unwrap();
        assert!(s.list().is_empty());
        s.clear().unwrap(); // nothing to clear is fine
        for i in 0..MAX_ENTRIES + 5 {
            s.add(&format!("request number {i}"), "true", None, cwd)
                .unwrap();
        }
        let all = s.list();
        assert_eq!(all.len(), MAX_ENTRIES);
        assert_eq!(all[0].request, "request number 5");
    }

    #[test]
    fn cwd_kinds() {
        assert_eq!(CwdKind::of(Path::new("/")), CwdKind::Root);
        assert_eq!(CwdKind::of(Path::new("/etc/nginx")), CwdKind::System);
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join(".git")).unwrap();
        std::fs::create_dir_all(repo.path().join("src")).unwrap();
        assert_eq!(CwdKind::of(&repo.path().join("src")), CwdKind::Project);
    }

    #[test]
    fn memory_goes_last_among_the_examples() {
        let k = vec![Example {
            request: "a".into(),
            command: "x".into(),
        }];
        let m = Example {
            request: "b".into(),
            command: "y".into(),
        };
        let v = with_memory(Some(m.clone()), k);
        assert_eq!(v.last(), Some(&m));
    }
}
