//! Runs the built `cmdai` binary in a private temp HOME / XDG tree, so tests
//! never see or change the developer's own config, cache or shell files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct TestDir {
    pub dir: tempfile::TempDir,
    /// Held from [`TestDir::with_real_model`] until the daemon it may have
    /// started is stopped (fields drop after [`Drop::drop`]).
    model_turn: std::cell::RefCell<Option<ModelTurn>>,
}

/// The real model's turn: one test at a time runs it.
///
/// The harness runs tests in parallel (as many as there are cores), and each
/// llama.cpp process runs as many threads as there are cores, spinning at
/// every step for its peers: two prefilling together took 2.8x as long as one
/// here (77 s alone, 227 s side by side, on this 2-core machine), three or
/// more pushed a fresh daemon past its 300 s answer limit in CI. Tests
/// without the model still run beside it. Taken again on the same thread
/// (a test with two folders) it does not wait for itself.
pub struct ModelTurn {
    _guard: Option<std::sync::MutexGuard<'static, ()>>,
}

static MODEL_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    static TURNS_HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Waits for the real model's turn (see [`ModelTurn`]).
pub fn model_turn() -> ModelTurn {
    let guard = (TURNS_HELD.get() == 0)
        // A test that failed while holding it does not stop the others.
        .then(|| MODEL_TURN.lock().unwrap_or_else(|e| e.into_inner()));
    TURNS_HELD.set(TURNS_HELD.get() + 1);
    ModelTurn { _guard: guard }
}

impl Drop for ModelTurn {
    fn drop(&mut self) {
        TURNS_HELD.set(TURNS_HELD.get() - 1);
    }
}

impl TestDir {
    pub fn new() -> TestDir {
        let dir = tempfile::Builder::new()
            .prefix("cmdai-test")
            .tempdir()
            .unwrap();
        for sub in ["home", "cache", "config", "runtime", "work"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        TestDir {
            dir,
            model_turn: Default::default(),
        }
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// `cmdai` with a clean environment rooted in this temp dir.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cmdai"));
        c.current_dir(self.path("work"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_RUNTIME_DIR", self.path("runtime"))
            .env("CMDAI_CACHE_DIR", self.path("cache").join("cmdai"))
            .env("SHELL", "/bin/bash")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// Makes the real model visible in this dir's cache (a symlink, no copy),
    /// with a prompt-state dir shared by all tests of this build, so the
    /// prompt prefix is computed once per test run, not once per test.
    /// Waits for the model's turn first (see [`ModelTurn`]).
    pub fn with_real_model(&self) -> &Self {
        self.model_turn.borrow_mut().get_or_insert_with(model_turn);
        let src = real_model();
        let cache = self.path("cache").join("cmdai");
        let models = cache.join("models");
        std::fs::create_dir_all(&models).unwrap();
        // Private, as cmdai makes its cache (else its first run here says
        // it closed the folder).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&src, models.join(src.file_name().unwrap())).unwrap();
        let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prompt-state");
        std::fs::create_dir_all(&shared).unwrap();
        std::os::unix::fs::symlink(&shared, cache.join("prompt-state")).unwrap();
        self
    }

    /// The daemon socket this dir's cmdai uses.
    pub fn socket(&self) -> PathBuf {
        self.path("runtime").join("cmdai").join("cmdai.sock")
    }
}

impl Drop for TestDir {
    /// Stops a daemon a test may have started.
    fn drop(&mut self) {
        if self.socket().exists() {
            let mut c = self.cmd();
            c.args(["daemon", "stop"]);
            let _ = c.output();
        }
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(mut c: Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("running cmdai");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Whether this run is CI (`CI=true`; `.ci/run` sets it itself). There every
/// test must measure what it claims: nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The one way a test gives up because something it needs is `missing`
/// (a tool, the model, a server, data, root): under `CI=true` the test fails;
/// elsewhere it prints a `SKIPPED` line straight to stderr, which the test
/// harness does not capture, so the skip is seen. The caller then returns.
#[track_caller]
pub fn skip(test: &str, missing: &str) {
    assert!(
        !in_ci(),
        "{test}: {missing}; under CI=true no test may be skipped, so install it (see .ci/run)"
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {missing}");
}

pub const MODEL_FILE: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";

/// The real default model, fetched beforehand by `cmdai model pull` (the
/// README's test command does that). `CMDAI_TEST_MODEL` may point elsewhere.
pub fn real_model() -> PathBuf {
    if let Some(p) = std::env::var_os("CMDAI_TEST_MODEL") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("CMDAI_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            directories::ProjectDirs::from("", "", "cmdai").map(|p| p.cache_dir().to_path_buf())
        })
        .expect("a cache dir");
    let p = cache.join("models").join(MODEL_FILE);
    assert!(
        Path::new(&p).is_file(),
        "the real model is not at {}; run `cargo run -- model pull` first (the README's test command does)",
        p.display()
    );
    p
}

/// A tiny, well-formed GGUF file that llama.cpp cannot load: a header with
/// one key (`general.architecture`) and no tensors.
pub fn synthetic_gguf(path: &Path) {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    let key = "general.architecture";
    b.extend((key.len() as u64).to_le_bytes());
    b.extend(key.as_bytes());
    b.extend(8u32.to_le_bytes());
    b.extend(5u64.to_le_bytes());
    b.extend(b"llama");
    std::fs::write(path, b).unwrap();
}
