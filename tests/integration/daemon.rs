//! The resident model: concurrency, crashes, stale sockets, foreign sockets,
//! damaged saved state. All with the real model.

use crate::util::{run, TestDir};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn json_of(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout:?}"))
}

fn wait_for_socket(t: &TestDir) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !t.socket().exists() {
        assert!(
            Instant::now() < deadline,
            "the daemon never opened its socket"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn daemon_serves_ten_clients_at_once_and_stops() {
    let t = TestDir::new();
    t.with_real_model();
    // First request starts the daemon.
    let mut c = t.cmd();
    c.env("CMDAI_NO_RESPONSE_CACHE", "1")
        .args(["--format", "json", "show", "free", "disk", "space"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_of(&r.stdout)["backend"], "llama.cpp (daemon)");
    let mode = std::fs::metadata(t.socket()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let queries = [
        "list files",
        "show disk usage",
        "print working directory",
        "show the date",
        "count files here",
        "show uptime",
        "list processes",
        "show kernel version",
        "show hostname",
        "list hidden files",
    ];
    let children: Vec<_> = queries
        .iter()
        .map(|q| {
            let mut c = t.cmd();
            c.env("CMDAI_NO_RESPONSE_CACHE", "1")
                .args(["--format", "json", q])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for (q, child) in queries.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{q}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json_of(&stdout);
        assert_eq!(
            v["backend"], "llama.cpp (daemon)",
            "{q} was not served by the daemon"
        );
        assert!(!v["command"].as_str().unwrap().is_empty());
    }

    let mut c = t.cmd();
    c.args(["daemon", "status"]);
    let r = run(c);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("11 requests served"), "{}", r.stdout);

    let mut c = t.cmd();
    c.args(["daemon", "stop"]);
    assert_eq!(run(c).code, 0);
    assert!(!t.socket().exists());
    let mut c = t.cmd();
    c.args(["daemon", "status"]);
    let r = run(c);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("not running"));
}

#[test]
fn killed_daemon_mid_request_falls_back_in_process() {
    let t = TestDir::new();
    t.with_real_model();
    let mut c = t.cmd();
    c.args(["--format", "json", "show", "the", "date"]);
    assert_eq!(run(c).code, 0);
    let mut c = t.cmd();
    c.args(["daemon", "status"]);
    let status = run(c).stdout;
    let pid: i32 = status
        .split("pid ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let mut c = t.cmd();
    c.env("CMDAI_NO_RESPONSE_CACHE", "1")
        .args([
            "--format", "json", "find", "files", "larger", "than", "one", "gigabyte", "in", "my",
            "home",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    // Let the request reach the daemon, then kill it hard.
    std::thread::sleep(Duration::from_millis(400));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("daemon stopped in the middle of the request; answering in this process"),
        "stderr: {stderr}"
    );
    let v = json_of(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(v["backend"], "llama.cpp");
}

#[test]
fn stale_socket_is_replaced() {
    let t = TestDir::new();
    t.with_real_model();
    // A socket file nobody listens on, as a crashed daemon leaves behind.
    let dir = t.socket().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    drop(std::os::unix::net::UnixListener::bind(t.socket()).unwrap());
    assert!(t.socket().exists());
    let mut c = t.cmd();
    c.args(["--format", "json", "list", "files"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_of(&r.stdout)["backend"], "llama.cpp (daemon)");
    wait_for_socket(&t);
}

#[test]
fn socket_dir_of_another_user_is_refused() {
    let t = TestDir::new();
    t.with_real_model();
    let dir = t.socket().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    // As root (CI) the directory can be handed to `nobody`; a normal user
    // cannot do that, and only the second half below runs.
    let nobody = nix::unistd::Uid::from_raw(65534);
    if nix::unistd::chown(&dir, Some(nobody), None).is_ok() {
        let mut c = t.cmd();
        c.args(["--format", "json", "list", "files"]);
        let r = run(c);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("not private to this user; refusing to use it"),
            "{}",
            r.stderr
        );
        assert_eq!(
            json_of(&r.stdout)["backend"],
            "llama.cpp",
            "must not use a foreign socket"
        );
        let me = nix::unistd::getuid();
        nix::unistd::chown(&dir, Some(me), None).unwrap();
    } else {
        eprintln!("not root: cannot test a directory owned by another user");
    }
    // Our own directory left open to others is tightened to 0700, then used.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut c = t.cmd();
    // Another request than above: a repeat would come from the response cache.
    c.args(["--format", "json", "show", "the", "date"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        json_of(&r.stdout)["backend"],
        "llama.cpp (daemon)",
        "{}",
        r.stderr
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
}

#[test]
fn damaged_prefix_state_is_rebuilt() {
    let t = TestDir::new();
    t.with_real_model();
    // A private state dir (not the shared one) so damaging it affects only this test.
    let cache = t.path("cache").join("cmdai");
    std::fs::remove_file(cache.join("prompt-state")).unwrap();
    let state = cache.join("prompt-state");
    std::fs::create_dir_all(&state).unwrap();
    let shared = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("prompt-state");
    for e in std::fs::read_dir(&shared).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), state.join(e.file_name())).unwrap();
    }
    let has_state = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.path().extension().is_some_and(|x| x == "state"))
    };
    if !has_state(&state) {
        // Nothing saved yet in this test run: make one.
        let mut c = t.cmd();
        c.env("CMDAI_NO_RESPONSE_CACHE", "1")
            .args(["--no-daemon", "list", "files"]);
        assert_eq!(run(c).code, 0);
    }
    assert!(has_state(&state));
    // Damage every saved state two ways: flipped bytes (sidecar no longer
    // matches) and garbage with a matching sidecar (llama.cpp must reject it).
    let mut damaged = 0;
    for e in std::fs::read_dir(&state).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "state") {
            let garbage = vec![0x5au8; 4096];
            std::fs::write(&p, &garbage).unwrap();
            use sha2::Digest;
            let hex: String = sha2::Sha256::digest(&garbage)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            std::fs::write(p.with_extension("state.sha256"), hex).unwrap();
            damaged += 1;
        }
    }
    let mut c = t.cmd();
    c.env("CMDAI_NO_RESPONSE_CACHE", "1").args([
        "--no-daemon",
        "--format",
        "json",
        "show",
        "free",
        "memory",
    ]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!json_of(&r.stdout)["command"].as_str().unwrap().is_empty());
    assert!(damaged > 0);
    {
        // Rebuilt: a valid state (larger than our garbage) is back.
        let sizes: Vec<u64> = std::fs::read_dir(&state)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "state"))
            .map(|e| e.metadata().unwrap().len())
            .collect();
        assert!(
            sizes.iter().any(|&s| s > 1_000_000),
            "state not rebuilt: {sizes:?}"
        );
    }
}
