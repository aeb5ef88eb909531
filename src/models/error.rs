//! What can go wrong getting a model file, as one error type shared by the
//! download orchestration ([`super::download`]) and its sources ([`super::hf`],
//! [`super::pypi`], [`super::http`]). Each message is one sentence with the
//! way out.

use super::catalog::human_bytes;
use nix::errno::Errno;
use std::path::{Path, PathBuf};

/// Why there is no model file. Each message is one sentence with the way out.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("the model {id} is not downloaded and cmdai is offline: put the file at {}, or run `cmdai model pull {id}` when online", path.display())]
    Offline { id: String, path: PathBuf },

    #[error("the download of {id} was interrupted; the partial file {} is kept: run `cmdai model pull {id}` again to resume", part.display())]
    Interrupted { id: String, part: PathBuf },

    #[error("disk full: need {}, free {} in {}; free some space and run `cmdai model pull {id}` again to resume (the partial download is kept)", human_bytes(*need), human_bytes(*free), dir.display())]
    DiskFull {
        id: String,
        need: u64,
        free: u64,
        dir: PathBuf,
    },

    #[error("another cmdai process is downloading {id} (it holds {}); wait for it to finish, or try again later", lock.display())]
    Busy { id: String, lock: PathBuf },

    #[error("the downloaded {id} is wrong ({detail}), so the partial file {} was deleted; run `cmdai model pull {id}` to download it again", path.display())]
    ChecksumMismatch {
        id: String,
        path: PathBuf,
        detail: String,
    },

    #[error("the model file {} is damaged ({detail}); delete it and run `cmdai model pull {id}` to download it again", path.display())]
    Corrupt {
        id: String,
        path: PathBuf,
        detail: String,
    },

    #[error("no checksum is known for {}: pin `sha256` for {id} in models.toml, or delete the file and run `cmdai model pull {id}` to fetch it with the checksum Hugging Face publishes", path.display())]
    NoChecksum { id: String, path: PathBuf },

    #[error("could not download {id} from any source ({}); check the network (and HTTPS_PROXY), then run `cmdai model pull {id}` again: it resumes where it stopped", tried.join("; "))]
    Unavailable { id: String, tried: Vec<String> },

    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DownloadError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        DownloadError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn interrupted(part: &Path) -> Self {
        DownloadError::Interrupted {
            id: String::new(),
            part: part.to_path_buf(),
        }
    }

    /// A failed write: `ENOSPC` becomes [`DownloadError::DiskFull`].
    pub(crate) fn from_write(
        e: std::io::Error,
        path: &Path,
        dir: &Path,
        remaining: Option<u64>,
    ) -> Self {
        if e.raw_os_error() == Some(Errno::ENOSPC as i32) {
            DownloadError::DiskFull {
                id: String::new(),
                need: remaining.unwrap_or(0),
                free: free_space(dir).unwrap_or(0),
                dir: dir.to_path_buf(),
            }
        } else {
            DownloadError::io("cannot write", path, e)
        }
    }

    /// Fills in the model id where the error was raised without it.
    pub(crate) fn with_id(mut self, model: &str) -> Self {
        match &mut self {
            DownloadError::Offline { id, .. }
            | DownloadError::Interrupted { id, .. }
            | DownloadError::DiskFull { id, .. }
            | DownloadError::Busy { id, .. }
            | DownloadError::ChecksumMismatch { id, .. }
            | DownloadError::Corrupt { id, .. }
            | DownloadError::NoChecksum { id, .. }
            | DownloadError::Unavailable { id, .. } => {
                if id.is_empty() {
                    *id = model.to_string();
                }
            }
            DownloadError::Io { .. } => {}
        }
        self
    }
}

/// Free bytes for unprivileged users on the file system holding `dir`.
pub fn free_space(dir: &Path) -> Option<u64> {
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    #[allow(clippy::unnecessary_cast)]
    Some(s.blocks_available() as u64 * s.fragment_size() as u64)
}
