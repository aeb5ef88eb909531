//! Local memory: what this user actually ran for a request.
//!
//! When a command cmdai gave is accepted (as it was, or edited) and run, the
//! shell widget's hook or `-x` calls `cmdai remember`, which stores the
//! request, the command that really ran and the kind of folder it ran in
//! ([`CwdKind`]). A later request close to a stored one gets that command as
//! its first example turn, so a small model learns the user's own habits;
//! one that says the same thing in other words, in the same kind of folder,
//! gets the stored command back directly. Retrieval is the knowledge base's
//! TF-IDF cosine ([`super::knowledge::Index`]) over the stored requests,
//! with its own thresholds.
//!
//! Stored: `<data dir>/memory.jsonl` (`~/.local/share/cmdai` on Linux,
//! `CMDAI_DATA_DIR` moves it), kept by [`crate::store`] (damaged lines set
//! aside, whole records synced to disk, private, ids never given twice), at
//! most [`MAX_ENTRIES`] records (the oldest go first). A command the safety
//! validator rates High or Critical is never stored. `cmdai memory
//! list|forget ID|clear|off|on`.

use super::knowledge::{Entry, Index};
use crate::engine::Example;
use crate::store::{self, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

/// One remembered request. A field added later must be optional
/// (`#[serde(default)]`), so the lines already written still read.
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
    /// The kind of project it ran in ([`super::folder::project_kind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl store::Record for Memory {
    fn id(&self) -> u64 {
        self.id
    }
    fn set_id(&mut self, id: u64) {
        self.id = id;
    }
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
#[derive(Debug, thiserror::Error)]
pub enum NotStored {
    #[error("memory is off (`cmdai memory on` turns it on)")]
    Off,
    #[error("the command is rated {0} by the safety validator; such commands are never stored")]
    Dangerous(crate::safety::Risk),
    #[error("the request or the command is empty")]
    Empty,
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The memory file in `dir`.
pub struct Store {
    store: store::Store<Memory>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Store {
    pub fn new(data_dir: &Path) -> Store {
        Store {
            store: store::Store::new(data_dir.join("memory.jsonl"), MAX_ENTRIES, true),
        }
    }

    /// The user's store (`CMDAI_DATA_DIR`, else the platform's data dir).
    pub fn for_user() -> Store {
        Store::new(&crate::paths::data_dir())
    }

    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Every entry, oldest first.
    pub fn load(&self) -> Result<Vec<Memory>, StoreError> {
        self.store.load()
    }

    /// Every entry, oldest first; a file that cannot be read is said once on
    /// stderr and taken as empty.
    pub fn list(&self) -> Vec<Memory> {
        self.store.list()
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
        let request = super::prompt::clean_request(request).ok_or(NotStored::Empty)?;
        let command = command.trim();
        if command.is_empty() {
            return Err(NotStored::Empty);
        }
        let ctx = crate::safety::Context::for_user().in_dir(&cwd.to_string_lossy());
        let risk = crate::safety::assess_request(&request, command, &ctx).risk;
        if risk >= crate::safety::Risk::High {
            return Err(NotStored::Dangerous(risk));
        }
        let mut txn = self.store.begin()?;
        txn.retain(|e| !e.request.eq_ignore_ascii_case(&request));
        let memory = txn
            .push(Memory {
                id: 0,
                when: now(),
                request,
                command: command.to_string(),
                offered: offered
                    .map(str::trim)
                    .filter(|o| *o != command)
                    .map(str::to_string),
                cwd_kind: CwdKind::of(cwd),
                project: super::folder::project_kind(cwd).map(str::to_string),
            })
            .clone();
        txn.commit()?;
        Ok(memory)
    }

    /// Forgets entry `id`; false when there is none.
    pub fn forget(&self, id: u64) -> Result<bool, NotStored> {
        let mut txn = self.store.begin()?;
        let gone = txn.retain(|e| e.id != id);
        txn.commit()?;
        Ok(gone > 0)
    }

    /// Forgets everything (the file goes; ids are still never given twice).
    pub fn clear(&self) -> Result<(), StoreError> {
        self.store.clear()
    }

    /// What memory offers for `request` asked in a folder of `kind`, in a
    /// project of kind `project`: a command that ran in another kind of
    /// project (`cargo test` in a Rust crate, asked in a Node project) is
    /// not offered.
    pub fn recall(&self, request: &str, kind: CwdKind, project: Option<&str>) -> Option<Recall> {
        let mut entries = self.list();
        entries.retain(|e| match (e.project.as_deref(), project) {
            (Some(then), Some(now)) => then == now,
            _ => true,
        });
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
            s.recall("show the IP address of this machine", kind, None),
            Some(Recall::Same("hostname -I | awk '{print $1}'".into()))
        );
        // Close but not the same: an example for the model.
        match s.recall("print my machine's ip address in json", kind, None) {
            Some(Recall::Example(e)) => assert!(e.command.starts_with("hostname")),
            other => panic!("{other:?}"),
        }
        // Unrelated: nothing.
        assert_eq!(s.recall("compress the logs folder", kind, None), None);
    }

    #[test]
    fn a_correction_helps_in_the_same_kind_of_project_only() {
        let (_d, s) = store();
        let crate_a = tempfile::tempdir().unwrap();
        std::fs::write(crate_a.path().join("Cargo.toml"), "").unwrap();
        s.add(
            "run the tests",
            "cargo nextest run",
            Some("cargo test"),
            crate_a.path(),
        )
        .unwrap();
        assert_eq!(s.list()[0].project.as_deref(), Some("Rust crate"));
        let crate_b = tempfile::tempdir().unwrap();
        std::fs::write(crate_b.path().join("Cargo.toml"), "").unwrap();
        let node = tempfile::tempdir().unwrap();
        std::fs::write(node.path().join("package.json"), "{}").unwrap();
        let ask = |dir: &Path| {
            s.recall(
                "run the tests",
                CwdKind::of(dir),
                crate::pipeline::folder::project_kind(dir),
            )
        };
        assert_eq!(
            ask(crate_b.path()),
            Some(Recall::Same("cargo nextest run".into()))
        );
        assert_eq!(ask(node.path()), None);
    }

    #[test]
    fn the_same_request_elsewhere_is_only_an_example() {
        let (_d, s) = store();
        let proj = tempfile::tempdir().unwrap();
        s.add("delete the log files", "rm -- *.log", None, proj.path())
            .unwrap();
        assert!(matches!(
            s.recall("delete the log files", CwdKind::Root, None),
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
        // Full at MAX_ENTRIES + 1: the oldest tenth went at once.
        let all = s.list();
        assert_eq!(all.len(), MAX_ENTRIES - MAX_ENTRIES / 10 + 4);
        assert_eq!(
            all[0].request,
            format!("request number {}", MAX_ENTRIES / 10 + 1)
        );
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
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
