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
            r.stderr.contains("not private to this user (")
                && r.stderr.contains("refusing to use it"),
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
    // Our own directory left open to others is refused too, and left as it
    // is: the answer comes from this process.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut c = t.cmd();
    // Another request than above: a repeat would come from the response cache.
    c.args(["--format", "json", "show", "the", "date"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("not private to this user (a symbolic link, another user's, or open to others); refusing to use it"),
        "{}",
        r.stderr
    );
    assert_eq!(json_of(&r.stdout)["backend"], "llama.cpp", "{}", r.stderr);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o777);
    assert!(!t.socket().exists());
}

#[test]
fn planted_socket_dir_symlink_is_refused() {
    let t = TestDir::new();
    t.with_real_model();
    // Someone plants the socket directory as a link to a directory of theirs
    // (here: one of ours, open to all); it must be neither used nor chmod-ed.
    let elsewhere = t.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, t.socket().parent().unwrap()).unwrap();
    let mut c = t.cmd();
    c.args(["--format", "json", "list", "files"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("refusing to use it"), "{}", r.stderr);
    assert_eq!(json_of(&r.stdout)["backend"], "llama.cpp", "{}", r.stderr);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&elsewhere).unwrap().mode() & 0o777, 0o777);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    // `cmdai serve` refuses it as well, in one sentence.
    let mut c = t.cmd();
    c.args(["serve", "--idle-timeout", "5s"]);
    let r = run(c);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("is a symbolic link; remove it"),
        "{}",
        r.stderr
    );
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

/// Root-only checks: a line saying why they are skipped outside CI, a failure
/// under CI (`CI=true`), where they must run.
fn need_root(what: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{what} needs root, and CI must run it"
    );
    eprintln!("skipped (not root): {what}");
    false
}

/// Starts `cmdai serve` in the foreground of this test, with the given extra
/// arguments, and waits for its socket.
fn start_serve(t: &TestDir, args: &[&str]) -> std::process::Child {
    let mut c = t.cmd();
    c.arg("serve")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    wait_for_socket(t);
    child
}

/// Waits up to `limit` for `child` to exit.
fn exits_within(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn corrupt_model_reads_the_same_with_and_without_the_daemon() {
    let t = TestDir::new();
    let bad = t.path("work").join("broken.gguf");
    std::fs::write(&bad, b"GGUF this is not really a model").unwrap();
    let ask = |daemon: bool| {
        let mut c = t.cmd();
        if !daemon {
            c.arg("--no-daemon");
        }
        c.arg("--model").arg(&bad).args(["list", "files"]);
        let started = Instant::now();
        let r = run(c);
        (r, started.elapsed())
    };
    let (local, _) = ask(false);
    assert_eq!(local.code, 3, "{}", local.stderr);
    assert!(
        local.stderr.contains("could not be loaded"),
        "{}",
        local.stderr
    );
    // Twice through the daemon: each start finds the model broken, says so
    // like the in-process run, and the daemon does not stay behind.
    for _ in 0..2 {
        let (via, took) = ask(true);
        assert_eq!(via.code, 3, "{}", via.stderr);
        assert_eq!(via.stderr, local.stderr);
        assert!(via.stdout.is_empty());
        assert!(
            took < Duration::from_secs(8),
            "took {took:?}: the client waited for a dead daemon"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while t.socket().exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            !t.socket().exists(),
            "a daemon whose model failed to load is still there"
        );
    }
}

#[test]
fn daemon_with_a_broken_model_exits_at_once_with_the_load_error() {
    let t = TestDir::new();
    let bad = t.path("work").join("broken.gguf");
    std::fs::write(&bad, b"GGUF this is not really a model").unwrap();
    let mut c = t.cmd();
    c.args(["serve", "--idle-timeout", "1h", "--model"])
        .arg(&bad)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let code = exits_within(&mut child, Duration::from_secs(10));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(code, Some(3), "stderr: {err}");
    assert!(err.contains("could not be loaded"), "{err}");
    assert!(!t.socket().exists());
}

#[test]
fn over_long_request_is_a_usage_error_with_and_without_the_daemon() {
    let t = TestDir::new();
    t.with_real_model();
    // Under the byte limit for a request, but digits are one token each:
    // more tokens than the model's context leaves for a request.
    let long = "1234567890".repeat(199);
    let ask = |daemon: bool| {
        let mut c = t.cmd();
        c.env("CMDAI_NO_RESPONSE_CACHE", "1");
        if !daemon {
            c.arg("--no-daemon");
        }
        c.args(["--format", "json", "count", &long]);
        run(c)
    };
    let local = ask(false);
    assert_eq!(local.code, 2, "{}", local.stderr);
    assert!(
        local.stderr.contains("too long for the model's context"),
        "{}",
        local.stderr
    );
    let via = ask(true);
    assert_eq!(via.code, 2, "{}", via.stderr);
    assert_eq!(via.stderr, local.stderr);
    // It was the daemon that answered (it is running and counted it).
    let mut c = t.cmd();
    c.args(["daemon", "status"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("1 requests served"), "{}", r.stdout);
}

#[test]
fn silent_client_cannot_keep_the_daemon_alive() {
    let t = TestDir::new();
    t.with_real_model();
    let mut daemon = start_serve(&t, &["--idle-timeout", "2s"]);
    // Connect and say nothing.
    let conn = std::os::unix::net::UnixStream::connect(t.socket()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let started = Instant::now();
    let mut got = String::new();
    let read = std::io::Read::read_to_string(&mut &conn, &mut got);
    assert!(read.is_ok(), "the connection was not closed: {read:?}");
    assert!(got.contains("no request within 2 s"), "{got}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // ...and the daemon still leaves at its idle timeout.
    let code = exits_within(&mut daemon, Duration::from_secs(15));
    assert_eq!(code, Some(0), "the daemon did not stop at its idle timeout");
    assert!(!t.socket().exists());
    drop(conn);
}

#[test]
fn daemon_with_other_threads_or_context_is_replaced() {
    let t = TestDir::new();
    t.with_real_model();
    let pid_and_status = || {
        let mut c = t.cmd();
        c.args(["daemon", "status"]);
        let r = run(c);
        assert_eq!(r.code, 0, "{}", r.stdout);
        let pid: u32 = r
            .stdout
            .split("pid ")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        (pid, r.stdout)
    };
    let ask = |args: &[&str], q: &str| {
        let mut c = t.cmd();
        // The last daemon (context 8192) has no saved prefix state for its
        // context size: its first answer includes a full prefill, which a
        // slow CI machine can take minutes over; this test is about who
        // answers, not how fast.
        c.env("CMDAI_NO_RESPONSE_CACHE", "1")
            .env("CMDAI_ANSWER_TIMEOUT", "900s")
            .args(args)
            .args(["--format", "json", q]);
        let r = run(c);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let j = json_of(&r.stdout);
        assert_eq!(
            j["backend"], "llama.cpp (daemon)",
            "fallback: {}; stderr: {}",
            j["fallback"], r.stderr
        );
    };
    ask(&["--threads", "1"], "list files");
    let (first, s) = pid_and_status();
    assert!(s.contains("1 threads"), "{s}");
    // Same settings: the same daemon.
    ask(&["--threads", "1"], "show the date");
    assert_eq!(pid_and_status().0, first);
    // Other thread count: replaced.
    ask(&["--threads", "2"], "show uptime");
    let (second, s) = pid_and_status();
    assert_ne!(second, first);
    assert!(s.contains("2 threads"), "{s}");
    // Other context size: replaced.
    ask(
        &["--threads", "2", "--context-size", "8192"],
        "show hostname",
    );
    let (third, s) = pid_and_status();
    assert_ne!(third, second);
    assert!(s.contains("context 8192"), "{s}");
}

/// Not a test on its own (hence ignored): run as another user by
/// `connection_from_another_user_is_refused`, it connects to the socket named
/// in `CMDAI_TEST_FOREIGN_SOCKET`, says hello and prints the answer.
#[test]
#[ignore = "a helper process of connection_from_another_user_is_refused"]
fn foreign_client_helper() {
    let sock = std::env::var_os("CMDAI_TEST_FOREIGN_SOCKET").expect(
        "run by connection_from_another_user_is_refused, which sets CMDAI_TEST_FOREIGN_SOCKET",
    );
    use std::io::{BufRead, Write};
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // A daemon that refuses at once may have closed before this is written.
    let _ = s.write_all(b"{\"hello\":{\"protocol\":5}}\n");
    let mut line = String::new();
    std::io::BufReader::new(&s).read_line(&mut line).unwrap();
    println!("ANSWER {line}");
}

#[test]
fn connection_from_another_user_is_refused() {
    if !need_root("connecting to the daemon as another user") {
        return;
    }
    use std::os::unix::process::CommandExt;
    let t = TestDir::new();
    t.with_real_model();
    let mut daemon = start_serve(&t, &["--idle-timeout", "60s"]);
    // Let `nobody` reach the socket, as a mistake (or a bind mount) might:
    // only the daemon's own check now stands between it and the model.
    let dir = t.socket().parent().unwrap().to_path_buf();
    for p in [t.dir.path(), &t.path("runtime"), &dir] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(t.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let helper = |uid: Option<u32>| {
        let mut c = std::process::Command::new(std::env::current_exe().unwrap());
        c.args([
            "--exact",
            "daemon::foreign_client_helper",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("CMDAI_TEST_FOREIGN_SOCKET", t.socket());
        if let Some(uid) = uid {
            c.uid(uid).gid(uid);
        }
        let out = c.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            stdout.contains("ANSWER "),
            "helper failed: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let theirs = helper(Some(65534));
    assert!(
        theirs.contains("refused: this daemon belongs to another user"),
        "{theirs}"
    );
    assert!(!theirs.contains("\"hello\""), "{theirs}");
    // The same helper as ourselves is answered: the refusal is about the user.
    let ours = helper(None);
    assert!(ours.contains("\"hello\""), "{ours}");
    let _ = daemon.kill();
    let _ = daemon.wait();
}

/// The pid in `cmdai daemon status`, when a daemon runs.
fn daemon_pid(t: &TestDir) -> Option<u32> {
    let mut c = t.cmd();
    c.args(["daemon", "status"]);
    let r = run(c);
    r.stdout
        .split("pid ")
        .nth(1)?
        .split(',')
        .next()?
        .parse()
        .ok()
}

#[test]
fn a_client_with_other_settings_never_stops_a_request_in_flight() {
    let t = TestDir::new();
    t.with_real_model();
    let ask = |threads: &str, q: &str| {
        let mut c = t.cmd();
        c.env("CMDAI_NO_RESPONSE_CACHE", "1")
            .args(["-v", "--threads", threads, "--format", "json", q])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    // A one-thread daemon, warm.
    let r = run(ask("1", "list files"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first = daemon_pid(&t).expect("a daemon");
    // Its next request is in flight when a client with two threads comes.
    let slow = ask(
        "1",
        "find files larger than one gigabyte in my home changed this week",
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let other = ask("2", "show the date").spawn().unwrap();
    let slow = slow.wait_with_output().unwrap();
    let other = other.wait_with_output().unwrap();
    let slow_err = String::from_utf8_lossy(&slow.stderr);
    let other_err = String::from_utf8_lossy(&other.stderr);
    assert!(slow.status.success(), "{slow_err}");
    assert!(!slow_err.contains("stopped in the middle"), "{slow_err}");
    assert_eq!(
        json_of(&String::from_utf8_lossy(&slow.stdout))["backend"],
        "llama.cpp (daemon)",
        "the request in flight lost its daemon: {slow_err}"
    );
    // The other client said what it did: waited, then restarted the daemon
    // with its own settings.
    assert!(other.status.success(), "{other_err}");
    assert!(
        other_err.contains("waiting for the daemon"),
        "the other client did not say it waited: {other_err}"
    );
    assert_ne!(daemon_pid(&t), Some(first));
}

#[test]
fn alternating_settings_do_not_reload_the_daemon_each_time() {
    let t = TestDir::new();
    t.with_real_model();
    let mut pids = Vec::new();
    let queries = [
        "list files",
        "show the date",
        "show uptime",
        "show hostname",
        "list processes",
    ];
    for (i, q) in queries.iter().enumerate() {
        let threads = if i % 2 == 0 { "1" } else { "2" };
        let mut c = t.cmd();
        c.env("CMDAI_NO_RESPONSE_CACHE", "1")
            .args(["--threads", threads, "--format", "json", q]);
        let r = run(c);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v = json_of(&r.stdout);
        if v["backend"] == "llama.cpp" {
            // Answered here instead: the JSON says why.
            let why = v["fallback"].as_str().unwrap_or_default();
            assert!(why.contains("threads"), "{v}");
        }
        pids.extend(daemon_pid(&t));
    }
    pids.dedup();
    assert!(
        pids.len() <= 2,
        "the daemon was replaced at each switch: pids {pids:?}"
    );
}

#[test]
fn time_in_the_queue_does_not_count_against_the_answer_limit() {
    let t = TestDir::new();
    t.with_real_model();
    let ask = |limit: Option<Duration>| {
        let mut c = t.cmd();
        c.env("CMDAI_NO_RESPONSE_CACHE", "1")
            .args(["-v", "--threads", "1", "--format", "json", "list", "files"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(d) = limit {
            c.env("CMDAI_ANSWER_TIMEOUT", format!("{}ms", d.as_millis()));
        }
        c
    };
    // A warm one-thread daemon, and how long one request takes on it.
    assert_eq!(run(ask(None)).code, 0);
    let started = Instant::now();
    assert_eq!(run(ask(None)).code, 0);
    let one = started.elapsed().as_secs_f64();
    // Each request may take twice that once started; ten at once put the
    // last about nine requests deep in the queue, past the limit if the
    // queue counted (`one` includes the client's own start, so the daemon's
    // share of it may be half or less: nine of those still exceed two).
    let limit = Duration::from_secs_f64(2.0 * one);
    let started = Instant::now();
    let children: Vec<_> = (0..10).map(|_| ask(Some(limit)).spawn().unwrap()).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        let v = json_of(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(
            v["backend"], "llama.cpp (daemon)",
            "a queued request gave up and loaded its own model (limit {limit:?}): {v} {err}"
        );
    }
    assert!(
        started.elapsed() > limit.mul_f64(1.5),
        "the queue was too short to test anything ({:?}, limit {limit:?})",
        started.elapsed()
    );
}

/// The socket folder, private as cmdai makes it.
fn private_socket_dir(t: &TestDir) {
    let dir = t.socket().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// A request answered in this process because of what is at the socket
/// path: the JSON says why (naming the socket and `found`), and so does
/// `cmdai daemon status`, in words rather than an OS error number.
fn falls_back_naming_the_socket(t: &TestDir, found: &str) {
    let mut c = t.cmd();
    c.args(["--format", "json", "list", "files"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_of(&r.stdout);
    assert_eq!(v["backend"], "llama.cpp");
    let why = v["fallback"].as_str().unwrap_or_default();
    let socket = t.socket().display().to_string();
    assert!(why.contains(&socket) && why.contains(found), "{v}");
    let mut c = t.cmd();
    c.args(["daemon", "status"]);
    let r = run(c);
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(!said.contains("os error"), "{said}");
    assert!(said.contains(&socket) && said.contains(found), "{said}");
}

#[test]
fn a_folder_at_the_socket_path_is_named_and_not_silent() {
    let t = TestDir::new();
    t.with_real_model();
    private_socket_dir(&t);
    std::fs::create_dir(t.socket()).unwrap();
    falls_back_naming_the_socket(&t, "folder");
    assert!(t.socket().is_dir(), "it is not cmdai's to remove");
}

#[test]
fn a_listener_that_never_answers_is_named_and_not_silent() {
    let t = TestDir::new();
    t.with_real_model();
    private_socket_dir(&t);
    // Accepts connections (the kernel queues them) but never answers.
    let listener = std::os::unix::net::UnixListener::bind(t.socket()).unwrap();
    falls_back_naming_the_socket(&t, "not answer");
    drop(listener);
    let _ = std::fs::remove_file(t.socket());
}

#[test]
fn a_read_only_cache_still_gets_the_daemon_or_says_why() {
    if !nix::unistd::geteuid().is_root() {
        crate::util::skip(
            "a_read_only_cache_still_gets_the_daemon_or_says_why",
            "a read-only bind mount needs root",
        );
        return;
    }
    let t = TestDir::new();
    t.with_real_model();
    let mut c = t.cmd();
    c.env("CMDAI_NO_RESPONSE_CACHE", "1");
    let cache = t.path("cache").join("cmdai");
    let script = r#"
mount --bind "$CACHE" "$CACHE" && mount -o remount,bind,ro "$CACHE" || exit 9
exec "$CMDAI" --format json list files
"#;
    let mut u = std::process::Command::new("unshare");
    u.args(["-m", "--propagation", "private", "sh", "-c", script])
        .env_clear()
        .env("CMDAI", c.get_program())
        .env("CACHE", &cache)
        .stdin(Stdio::null());
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            u.env(k, v);
        }
    }
    u.current_dir(t.path("work"));
    let r = run(u);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_of(&r.stdout);
    assert!(
        v["backend"] == "llama.cpp (daemon)"
            || v["fallback"].as_str().is_some_and(|f| !f.is_empty()),
        "answered in this process without a word: {v} {}",
        r.stderr
    );
}

#[test]
fn the_cache_prompt_state_and_daemon_log_are_private_whatever_the_umask() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let t = TestDir::new();
    t.with_real_model();
    // The prompt state made here, by cmdai, not the shared one.
    let cache = t.path("cache").join("cmdai");
    std::fs::remove_file(cache.join("prompt-state")).unwrap();
    let mut c = t.cmd();
    c.args(["--format", "json", "list", "files"]);
    // SAFETY: umask is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            nix::libc::umask(0o022);
            Ok(())
        });
    }
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_of(&r.stdout);
    if v["backend"] != "llama.cpp (daemon)" {
        // On a loaded machine the daemon, which must first build the prompt
        // state, may not be up within the client's wait: it was answered here
        // (the JSON says why) while the daemon went on starting. Ask it now.
        assert!(v["fallback"].as_str().is_some_and(|f| !f.is_empty()), "{v}");
        let mut again = t.cmd();
        again
            .env("CMDAI_NO_RESPONSE_CACHE", "1")
            .args(["--format", "json", "list", "the", "files"]);
        let r = run(again);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v2 = json_of(&r.stdout);
        assert_eq!(v2["backend"], "llama.cpp (daemon)", "first {v}\nthen {v2}");
    }
    let mode = |p: &std::path::Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o777;
    let log = t.socket().with_file_name("daemon.log");
    let mut checked = vec![(log.clone(), mode(&log))];
    for dir in ["responses", "prompt-state"] {
        let d = cache.join(dir);
        assert_eq!(mode(&d), 0o700, "{}", d.display());
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            checked.push((p.clone(), mode(&p)));
        }
    }
    assert!(checked.len() >= 3, "nothing stored? {checked:?}");
    for (p, m) in checked {
        assert_eq!(m, 0o600, "{}", p.display());
    }
    assert_eq!(mode(&cache), 0o700);
}
