//! `cmdai explain`, `--explain` and `-x`: explanations come from the real
//! model; `-x` never runs anything without a terminal to ask on.

use crate::util::{run, TestDir};

#[test]
fn explain_streams_a_real_explanation_then_the_safety_verdict() {
    let t = TestDir::new();
    t.with_real_model();
    let mut c = t.cmd();
    c.args(["explain", "--no-daemon", "tar czf src.tar.gz src/"]);
    let r = run(c);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    let out = r.stdout.to_lowercase();
    assert!(out.contains("tar"), "{}", r.stdout);
    assert!(
        out.contains("gzip") || out.contains("compress"),
        "the explanation should say the archive is compressed: {}",
        r.stdout
    );
    assert!(out.contains("effect:"), "{}", r.stdout);
    let last = r.stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("Safety: safe"), "{}", r.stdout);
}

#[test]
fn explain_through_the_daemon() {
    let t = TestDir::new();
    t.with_real_model();
    let mut c = t.cmd();
    c.args(["explain", "rm -rf /"]);
    let r = run(c);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert!(r.stdout.to_lowercase().contains("rm"), "{}", r.stdout);
    // The verdict comes from the rules, whatever the model said.
    assert!(r.stdout.contains("Safety: critical"), "{}", r.stdout);
}

#[test]
fn explain_rejects_an_empty_command() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.args(["explain", "  "]).env("CMDAI_BACKEND", "mock");
    let r = run(c);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no command to explain"), "{}", r.stderr);
}

#[test]
fn execute_without_a_terminal_never_runs() {
    let t = TestDir::new();
    let marker = t.path("work").join("ran.txt");
    let mut c = t.cmd();
    c.args(["-x", "make", "a", "file"])
        .env("CMDAI_BACKEND", "mock")
        .env("CMDAI_MOCK_REPLY", r#"{"cmd": "touch ran.txt"}"#);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "touch ran.txt");
    assert!(r.stderr.contains("not running the command"), "{}", r.stderr);
    assert!(!marker.exists(), "-x ran a command without asking");
}

#[test]
fn explain_after_generating_with_the_mock_backend() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.args(["list", "files", "--explain"])
        .env("CMDAI_BACKEND", "mock")
        .env("CMDAI_MOCK_REPLY", r#"{"cmd": "ls -la"}"#)
        .env(
            "CMDAI_MOCK_EXPLAIN",
            "ls - lists files\nEffect: only reads\n",
        );
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "ls -la");
    assert_eq!(lines[1], "ls - lists files");
    assert!(lines.last().unwrap().starts_with("Safety:"), "{}", r.stdout);
}
