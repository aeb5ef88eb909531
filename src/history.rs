//! History: every command cmdai gave, for `cmdai history`.
//!
//! One JSON line per answer in `<data dir>/history.jsonl`: when, the
//! request, the command, its risk, the folder, and whether it was run (the
//! shell widget's hook and `-x` say so through `cmdai remember`). Kept only
//! while memory is on (`cmdai memory off` stops both), at most
//! [`MAX_ENTRIES`] lines, the oldest dropped first.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const MAX_ENTRIES: usize = 5000;

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
}

pub struct History {
    path: PathBuf,
}

impl History {
    pub fn new(data_dir: &Path) -> History {
        History {
            path: data_dir.join("history.jsonl"),
        }
    }

    pub fn for_user() -> History {
        History::new(&crate::paths::data_dir())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every record, oldest first.
    pub fn list(&self) -> Vec<Record> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Records whose request or command contains `term` (any case).
    pub fn search(&self, term: &str) -> Vec<Record> {
        let t = term.to_lowercase();
        self.list()
            .into_iter()
            .filter(|r| {
                r.request.to_lowercase().contains(&t) || r.command.to_lowercase().contains(&t)
            })
            .collect()
    }

    /// Appends a record; trims the file to [`MAX_ENTRIES`] now and then.
    /// Errors are the caller's to ignore: history never stops a request.
    pub fn append(
        &self,
        request: &str,
        command: &str,
        risk: crate::safety::Risk,
        cwd: &str,
    ) -> std::io::Result<u64> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let records = self.list();
        let id = records.last().map_or(0, |r| r.id) + 1;
        let rec = Record {
            id,
            when: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            request: request.to_string(),
            command: command.to_string(),
            risk,
            cwd: cwd.to_string(),
            run: false,
            ran: None,
        };
        if records.len() >= MAX_ENTRIES {
            let keep = &records[records.len() + 1 - MAX_ENTRIES..];
            let mut all = keep.to_vec();
            all.push(rec);
            self.rewrite(&all)?;
        } else {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            writeln!(f, "{}", serde_json::to_string(&rec).unwrap_or_default())?;
        }
        Ok(id)
    }

    /// Marks the newest record for `request` that offered `offered` as run,
    /// with `ran` the line that really ran. False when none matches.
    pub fn mark_run(&self, request: &str, offered: &str, ran: &str) -> std::io::Result<bool> {
        let mut all = self.list();
        let Some(r) = all
            .iter_mut()
            .rev()
            .find(|r| r.request == request && r.command == offered)
        else {
            return Ok(false);
        };
        r.run = true;
        r.ran = (ran.trim() != offered.trim()).then(|| ran.trim().to_string());
        self.rewrite(&all)?;
        Ok(true)
    }

    fn rewrite(&self, all: &[Record]) -> std::io::Result<()> {
        let tmp = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let mut text = String::new();
        for r in all {
            text.push_str(&serde_json::to_string(r).unwrap_or_default());
            text.push('\n');
        }
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }

    pub fn clear(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
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
        h.append("list files", "ls -la", Risk::Safe, "~").unwrap();
        h.append("disk space", "df -h", Risk::Safe, "/").unwrap();
        assert_eq!(h.search("DISK").len(), 1);
        assert_eq!(h.search("ls -").len(), 1);
        assert!(h.mark_run("list files", "ls -la", "ls -lah").unwrap());
        assert!(!h.mark_run("list files", "nope", "nope").unwrap());
        let all = h.list();
        assert!(all[0].run && all[0].ran.as_deref() == Some("ls -lah"));
        assert!(!all[1].run);
        for i in 0..MAX_ENTRIES {
            h.append(&format!("r{i}"), "true", Risk::Safe, "~").unwrap();
        }
        let all = h.list();
        assert_eq!(all.len(), MAX_ENTRIES);
        assert_eq!(all.last().unwrap().request, format!("r{}", MAX_ENTRIES - 1));
        h.clear().unwrap();
        assert!(h.list().is_empty());
    }
}
