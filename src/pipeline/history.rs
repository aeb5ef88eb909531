//! History: every command cmdai gave, for `cmdai history`.
//!
//! One JSON line per answer in `<data dir>/history.jsonl` (kept by
//! [`crate::store`]: damaged lines set aside, whole records, private, ids
//! never given twice): when, the request, the command, its risk, the
//! folder, and whether it was run (the shell widget's hook and `-x` say so
//! through `cmdai remember`). Kept only while memory is on (`cmdai memory
//! off` stops both), at most [`MAX_ENTRIES`] records, the oldest dropped
//! first. Appends are not synced to disk one by one (a power cut may lose
//! the last line, never the others): a request should not wait for the disk.

use crate::store::{self, StoreError};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const MAX_ENTRIES: usize = 5000;

/// One answer. A field added later must be optional (`#[serde(default)]`),
/// so the lines already written still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    /// Seconds since the Unix epoch.
    pub when: u64,
    pub request: String,
    pub command: String,
    pub risk: crate::safety::Risk,
    pub cwd: String,
    /// Run by the user (after any edit: `ran` holds what ran when it differs).
    #[serde(default)]
    pub run: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ran: Option<String>,
    /// The kind of project it was asked in ([`super::folder::project_kind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl store::Record for Record {
    fn id(&self) -> u64 {
        self.id
    }
    fn set_id(&mut self, id: u64) {
        self.id = id;
    }
}

pub struct History {
    store: store::Store<Record>,
}

impl History {
    pub fn new(data_dir: &Path) -> History {
        History {
            // A request waits at most a second for another cmdai's lock;
            // past it, only this history line is lost.
            store: store::Store::new(data_dir.join("history.jsonl"), MAX_ENTRIES, false)
                .lock_wait(std::time::Duration::from_secs(1)),
        }
    }

    pub fn for_user() -> History {
        History::new(&crate::paths::data_dir())
    }

    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Every record, oldest first.
    pub fn load(&self) -> Result<Vec<Record>, StoreError> {
        self.store.load()
    }

    /// Every record, oldest first; a file that cannot be read is said once
    /// on stderr and taken as empty.
    pub fn list(&self) -> Vec<Record> {
        self.store.list()
    }

    /// Records whose request or command contains `term` (any case).
    pub fn search(&self, term: &str) -> Result<Vec<Record>, StoreError> {
        let t = term.to_lowercase();
        Ok(self
            .load()?
            .into_iter()
            .filter(|r| {
                r.request.to_lowercase().contains(&t) || r.command.to_lowercase().contains(&t)
            })
            .collect())
    }

    /// Appends a record and returns its id. Errors are the caller's to
    /// ignore: history never stops a request.
    pub fn append(
        &self,
        request: &str,
        command: &str,
        risk: crate::safety::Risk,
        cwd: &str,
        project: Option<&str>,
    ) -> Result<u64, StoreError> {
        let rec = self.store.append(Record {
            id: 0,
            when: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            request: request.to_string(),
            command: command.to_string(),
            risk,
            cwd: cwd.to_string(),
            run: false,
            ran: None,
            project: project.map(str::to_string),
        })?;
        Ok(rec.id)
    }

    /// Marks the newest record for `request` that offered `offered` as run,
    /// with `ran` the line that really ran. False when none matches.
    pub fn mark_run(&self, request: &str, offered: &str, ran: &str) -> Result<bool, StoreError> {
        let mut txn = self.store.begin()?;
        let found = txn.update_last(
            |r| r.request == request && r.command == offered,
            |r| {
                r.run = true;
                r.ran = (ran.trim() != offered.trim()).then(|| ran.trim().to_string());
            },
        );
        txn.commit()?;
        Ok(found)
    }

    pub fn clear(&self) -> Result<(), StoreError> {
        self.store.clear()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::Risk;

    #[test]
    fn append_search_mark_run_and_cap() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::new(dir.path());
        h.append("list files", "ls -la", Risk::Safe, "~", Some("Rust crate"))
            .unwrap();
        h.append("disk space", "df -h", Risk::Safe, "/", None)
            .unwrap();
        assert_eq!(h.search("DISK").unwrap().len(), 1);
        assert_eq!(h.search("ls -").unwrap().len(), 1);
        assert!(h.mark_run("list files", "ls -la", "ls -lah").unwrap());
        assert!(!h.mark_run("list files", "nope", "nope").unwrap());
        let all = h.list();
        assert!(all[0].run && all[0].ran.as_deref() == Some("ls -lah"));
        assert!(!all[1].run);
        for i in 0..MAX_ENTRIES {
            h.append(&format!("r{i}"), "true", Risk::Safe, "~", None)
                .unwrap();
        }
        // Full at MAX_ENTRIES + 2: the oldest tenth went at once.
        let all = h.list();
        assert!(all.len() <= MAX_ENTRIES && all.len() > MAX_ENTRIES * 8 / 10);
        assert_eq!(all.last().unwrap().request, format!("r{}", MAX_ENTRIES - 1));
        h.clear().unwrap();
        assert!(h.list().is_empty());
    }
}
