//! HTTP plumbing shared by the Hugging Face and PyPI sources: one ureq agent
//! (system CA store, short connect timeout), small JSON/HEAD helpers, and a
//! resumable ranged GET that appends to a [`HashingFile`].
//!
//! It exists so that resuming (`Range: bytes=N-`), coping with servers that
//! ignore ranges (200 instead of 206), retrying dropped connections, honouring
//! Ctrl-C between chunks and turning `ENOSPC` into a clear error are written
//! once, not once per source.

use super::error::DownloadError;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Size of the buffer used for reading bodies and hashing files.
pub(crate) const CHUNK: usize = 256 * 1024;

/// What every request needs: the agent, the Ctrl-C flag and how hard to retry.
pub(crate) struct Client<'a> {
    pub agent: ureq::Agent,
    /// Same settings, but 3xx answers are returned instead of followed (for
    /// reading Hugging Face's `x-linked-etag`).
    pub agent_no_redirect: ureq::Agent,
    pub interrupt: &'a AtomicBool,
    /// Extra attempts after a connection drops mid-body.
    pub retries: u32,
}

impl<'a> Client<'a> {
    pub fn new(
        connect_timeout: Duration,
        read_timeout: Duration,
        retries: u32,
        interrupt: &'a AtomicBool,
    ) -> Self {
        let build = |redirects: u32| {
            ureq::AgentBuilder::new()
                .timeout_connect(connect_timeout)
                .timeout_read(read_timeout)
                .timeout_write(read_timeout)
                .redirects(redirects)
                // HTTPS_PROXY / ALL_PROXY, for corporate networks.
                .try_proxy_from_env(true)
                .user_agent(concat!("cmdai/", env!("CARGO_PKG_VERSION")))
                .build()
        };
        Client {
            agent: build(8),
            agent_no_redirect: build(0),
            interrupt,
            retries,
        }
    }

    pub fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }
}

/// A short, human description of a ureq error ("connection refused", "HTTP 404").
pub(crate) fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, _) => format!("HTTP {code}"),
        ureq::Error::Transport(t) => {
            let mut s = t.kind().to_string();
            if let Some(m) = t.message() {
                s = format!("{s}: {m}");
            }
            if let Some(src) = std::error::Error::source(t) {
                s = format!("{s}: {src}");
            }
            s
        }
    }
}

/// GET a JSON document.
pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    client: &Client,
    url: &str,
    auth: Option<&str>,
) -> Result<T, String> {
    let mut req = client.agent.get(url);
    if let Some(token) = auth {
        req = req.set("Authorization", &format!("Bearer {token}"));
    }
    let resp = req.call().map_err(|e| format!("{url}: {}", describe(&e)))?;
    resp.into_json::<T>()
        .map_err(|e| format!("{url}: bad JSON: {e}"))
}

/// A file being written and hashed at the same time. Opening it hashes what
/// is already there, so a resumed download ends with the hash of everything.
pub(crate) struct HashingFile {
    pub path: PathBuf,
    file: File,
    hasher: Sha256,
    len: u64,
}

impl HashingFile {
    /// Opens `path` for appending (creating it), hashing the bytes already in it.
    pub fn open(path: &Path) -> Result<Self, DownloadError> {
        let io = |e| DownloadError::io("cannot open", path, e);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let (hasher, len) = hash_reader(&mut file).map_err(io)?;
        Ok(HashingFile {
            path: path.to_path_buf(),
            file,
            hasher,
            len,
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends bytes, hashing them. `ENOSPC` becomes [`DownloadError::DiskFull`].
    pub fn write(&mut self, buf: &[u8], remaining: Option<u64>) -> Result<(), DownloadError> {
        if let Err(e) = self.file.write_all(buf) {
            let dir = self.path.parent().unwrap_or(Path::new("."));
            return Err(DownloadError::from_write(e, &self.path, dir, remaining));
        }
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Empties the file and the hash (a server ignored our range).
    pub fn reset(&mut self) -> Result<(), DownloadError> {
        self.file
            .set_len(0)
            .and_then(|_| self.file.seek(SeekFrom::Start(0)).map(|_| ()))
            .map_err(|e| DownloadError::io("cannot truncate", &self.path, e))?;
        self.hasher = Sha256::new();
        self.len = 0;
        Ok(())
    }

    /// Cuts the file back to `len` bytes (no-op when shorter) and re-hashes it.
    pub fn truncate_to(&mut self, len: u64) -> Result<(), DownloadError> {
        if len >= self.len {
            return Ok(());
        }
        let io = |e| DownloadError::io("cannot truncate", &self.path, e);
        self.file.set_len(len).map_err(io)?;
        self.file.seek(SeekFrom::Start(0)).map_err(io)?;
        let (hasher, n) = hash_reader(&mut self.file).map_err(io)?;
        self.hasher = hasher;
        self.len = n;
        Ok(())
    }

    /// Flushes to disk and returns the lower-case hex sha256 and the length
    /// of everything written so far.
    pub fn finish(&mut self) -> Result<(String, u64), DownloadError> {
        self.file
            .sync_all()
            .map_err(|e| DownloadError::io("cannot sync", &self.path, e))?;
        Ok((
            crate::hex::encode(&self.hasher.clone().finalize()),
            self.len,
        ))
    }
}

/// Hashes a whole reader from its current position; returns the hasher and
/// the byte count.
pub(crate) fn hash_reader(r: &mut impl Read) -> std::io::Result<(Sha256, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut len = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok((hasher, len)),
            Ok(n) => {
                hasher.update(&buf[..n]);
                len += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Why a ranged download stopped.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// Stop everything (Ctrl-C, disk full, local I/O).
    Fatal(DownloadError),
    /// This source failed; the message says how.
    Source(String),
}

impl From<DownloadError> for FetchError {
    fn from(e: DownloadError) -> Self {
        FetchError::Fatal(e)
    }
}

/// GETs `url` into `out`, continuing from `out.len()` with a Range request.
/// A 200 answer to a range request restarts from zero; a dropped connection
/// is retried (from where it stopped) up to `client.retries` times, as long as
/// the previous attempt made progress. `total` is the full size if known;
/// `on_progress` gets the file length after every chunk (for progress bars).
pub(crate) fn download(
    client: &Client,
    url: &str,
    auth: Option<&str>,
    out: &mut HashingFile,
    total: Option<u64>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), FetchError> {
    let mut retries_left = client.retries;
    loop {
        if client.interrupted() {
            return Err(FetchError::Fatal(DownloadError::interrupted(&out.path)));
        }
        if total.is_some_and(|t| out.len() == t) {
            return Ok(());
        }
        if total.is_some_and(|t| out.len() > t) {
            out.reset()?;
        }
        let start = out.len();
        match attempt(client, url, auth, out, total, on_progress) {
            Ok(()) => return Ok(()),
            Err(FetchError::Source(_)) if out.len() > start && retries_left > 0 => {
                retries_left -= 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e),
        }
    }
}

fn attempt(
    client: &Client,
    url: &str,
    auth: Option<&str>,
    out: &mut HashingFile,
    total: Option<u64>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), FetchError> {
    let offset = out.len();
    let mut req = client.agent.get(url).set("Accept-Encoding", "identity");
    if let Some(token) = auth {
        req = req.set("Authorization", &format!("Bearer {token}"));
    }
    if offset > 0 {
        req = req.set("Range", &format!("bytes={offset}-"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        // We asked for bytes past the end: what we have is the whole file;
        // the final checksum decides whether it is the right one.
        Err(ureq::Error::Status(416, _)) if offset > 0 => return Ok(()),
        Err(e) => return Err(FetchError::Source(format!("{url}: {}", describe(&e)))),
    };
    match resp.status() {
        206 => {
            let from = resp
                .header("Content-Range")
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if from != Some(offset) {
                return Err(FetchError::Source(format!(
                    "{url}: asked for bytes from {offset}, got Content-Range {:?}",
                    resp.header("Content-Range")
                )));
            }
        }
        200 => {
            if offset > 0 {
                // The server ignored the range: start again from zero.
                out.reset()?;
                on_progress(0);
            }
        }
        s => return Err(FetchError::Source(format!("{url}: unexpected HTTP {s}"))),
    }
    let expected_len: Option<u64> = resp
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());
    let end = expected_len.map(|l| out.len() + l);
    let mut body = resp.into_reader();
    copy_body(client, &mut body, out, total, on_progress).map_err(|e| match e {
        FetchError::Source(m) => FetchError::Source(format!("{url}: {m}")),
        f => f,
    })?;
    if let Some(end) = end {
        if out.len() != end {
            return Err(FetchError::Source(format!(
                "{url}: the connection closed after {} of {end} bytes",
                out.len()
            )));
        }
    }
    Ok(())
}

/// Copies a body into `out` chunk by chunk, checking Ctrl-C between chunks.
/// Read errors are source errors (retryable); write errors are fatal.
pub(crate) fn copy_body(
    client: &Client,
    body: &mut dyn Read,
    out: &mut HashingFile,
    total: Option<u64>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), FetchError> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        if client.interrupted() {
            return Err(FetchError::Fatal(DownloadError::interrupted(&out.path)));
        }
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FetchError::Source(format!("read failed: {e}"))),
        };
        let remaining = total.map(|t| t.saturating_sub(out.len()));
        out.write(&buf[..n], remaining)?;
        on_progress(out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_file_resumes_the_hash_and_resets() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.part");
        std::fs::write(&p, b"hello ").unwrap();
        let mut f = HashingFile::open(&p).unwrap();
        assert_eq!(f.len(), 6);
        f.write(b"world", None).unwrap();
        let (sha, len) = f.finish().unwrap();
        assert_eq!(len, 11);
        assert_eq!(sha, crate::hex::sha256(b"hello world"));
        assert_eq!(std::fs::read(&p).unwrap(), b"hello world");

        let mut f = HashingFile::open(&p).unwrap();
        f.reset().unwrap();
        f.write(b"abc", None).unwrap();
        let (sha, len) = f.finish().unwrap();
        assert_eq!((sha, len), (crate::hex::sha256(b"abc"), 3));
        assert_eq!(std::fs::read(&p).unwrap(), b"abc");
    }
}
