//! Exact-request answer cache: the same request in the same context with the
//! same model and prompt gets the same command back instantly.
//!
//! Greedy decoding is deterministic, so a cached answer is the answer the
//! model would give again. One small file per key under
//! `<cache>/responses/`, written atomically; the oldest files are dropped when
//! there are more than [`MAX_ENTRIES`]. Requests for an alternative bypass it.

use crate::engine::GenerateRequest;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const MAX_ENTRIES: usize = 512;

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    key_material: String,
    command: String,
}

pub struct ResponseCache {
    dir: PathBuf,
}

impl ResponseCache {
    pub fn new(cache_dir: &Path) -> ResponseCache {
        ResponseCache {
            dir: cache_dir.join("responses"),
        }
    }

    /// Everything that can change the answer: model, prompt, request, and
    /// the context as the prompt shows it (the kind of place and the
    /// folder's lines, not the folder's path: the same request in two
    /// ordinary folders that hold the same things is the same prompt).
    fn material(model_id: &str, req: &GenerateRequest) -> String {
        let prompt: String = super::prompt::prefix_messages(req.context.os)
            .iter()
            .map(|m| format!("{}:{}\n", m.role, m.content))
            .collect();
        format!(
            "cmdai {}\n{model_id}\n{}\n{}\n{}\n{:?}\n{:?}\n{:?}\n{:?}\n{}",
            env!("CARGO_PKG_VERSION"),
            crate::hex::sha256(prompt.as_bytes()),
            req.context.shell,
            req.context.place(),
            req.context.folder,
            req.context.os,
            req.search,
            req.examples,
            req.query
        )
    }

    fn path(&self, material: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.json",
            &crate::hex::sha256(material.as_bytes())[..32]
        ))
    }

    /// The cached command for this request, if any.
    pub fn get(&self, model_id: &str, req: &GenerateRequest) -> Option<String> {
        if !req.avoid.is_empty() {
            return None;
        }
        let material = Self::material(model_id, req);
        let bytes = std::fs::read(self.path(&material)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        // A hash collision or a damaged file never returns someone else's answer.
        (entry.key_material == material && !entry.command.trim().is_empty())
            .then_some(entry.command)
    }

    /// Remembers an answer; errors (full disk, read-only cache) are ignored:
    /// the cache is only an accelerator.
    pub fn put(&self, model_id: &str, req: &GenerateRequest, command: &str) {
        if !req.avoid.is_empty() || std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let material = Self::material(model_id, req);
        let entry = Entry {
            key_material: material.clone(),
            command: command.to_string(),
        };
        let Ok(json) = serde_json::to_vec(&entry) else {
            return;
        };
        let path = self.path(&material);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, json).is_err() || std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        self.evict();
    }

    /// Keeps at most [`MAX_ENTRIES`] files, dropping the least recently written.
    fn evict(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if files.len() <= MAX_ENTRIES {
            return;
        }
        files.sort();
        let excess = files.len() - MAX_ENTRIES;
        for (_, p) in files.into_iter().take(excess) {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Os, RequestContext};

    fn req(q: &str, cwd: &str) -> GenerateRequest {
        GenerateRequest::plain(q, RequestContext::new(Os::Linux, "bash", cwd))
    }

    #[test]
    fn same_request_same_answer_other_context_misses() {
        let d = tempfile::tempdir().unwrap();
        let c = ResponseCache::new(d.path());
        assert_eq!(c.get("m", &req("find large files", "~")), None);
        c.put("m", &req("find large files", "~"), "find . -size +100M");
        assert_eq!(
            c.get("m", &req("find large files", "~")).as_deref(),
            Some("find . -size +100M")
        );
        assert_eq!(c.get("m", &req("find large files", "~/src")), None);
        assert_eq!(c.get("other-model", &req("find large files", "~")), None);
        // Two ordinary folders holding the same things ask the same prompt;
        // other things in the folder are another prompt.
        c.put("m", &req("unpack this", "~/a"), "tar -xzf x.tgz");
        assert!(c.get("m", &req("unpack this", "/tmp/b")).is_some());
        let mut other = req("unpack this", "~/a");
        other.context.folder = vec!["files here: y.tgz".into()];
        assert_eq!(c.get("m", &other), None);
    }

    #[test]
    fn alternatives_bypass_the_cache() {
        let d = tempfile::tempdir().unwrap();
        let c = ResponseCache::new(d.path());
        c.put("m", &req("q", "~"), "ls");
        let mut r = req("q", "~");
        r.avoid.push("ls".into());
        assert_eq!(c.get("m", &r), None);
    }

    #[test]
    fn damaged_entry_is_a_miss() {
        let d = tempfile::tempdir().unwrap();
        let c = ResponseCache::new(d.path());
        c.put("m", &req("q", "~"), "ls");
        for e in std::fs::read_dir(d.path().join("responses")).unwrap() {
            std::fs::write(e.unwrap().path(), b"{garbage").unwrap();
        }
        assert_eq!(c.get("m", &req("q", "~")), None);
    }

    #[test]
    fn bounded() {
        let d = tempfile::tempdir().unwrap();
        let c = ResponseCache::new(d.path());
        for i in 0..MAX_ENTRIES + 20 {
            c.put("m", &req(&format!("q{i}"), "~"), "ls");
        }
        let n = std::fs::read_dir(d.path().join("responses"))
            .unwrap()
            .count();
        assert!(n <= MAX_ENTRIES, "{n}");
    }
}
