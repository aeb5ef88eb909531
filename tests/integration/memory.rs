//! `cmdai remember` and `cmdai memory list|forget|clear|off|on` through the
//! built binary: what the shell widgets and `-x` report is stored, can be
//! forgotten one by one or all at once, and nothing is stored while memory
//! is off. (Recall and the example turn are unit-tested in src/pipeline/memory.rs;
//! the widgets' capture in shells.rs.)

use crate::util::{run, TestDir};

fn remember(t: &TestDir, request: &str, ran: &str) -> i32 {
    let mut c = t.cmd();
    c.env("CMDAI_DATA_DIR", t.path("data"))
        .args(["remember", "--request", request, "--offered", ran])
        .arg(format!("--ran={ran}"));
    run(c).code
}

fn listed(t: &TestDir) -> Vec<serde_json::Value> {
    let mut c = t.cmd();
    c.env("CMDAI_DATA_DIR", t.path("data"))
        .args(["memory", "list", "--format", "json"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str::<serde_json::Value>(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.stdout))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn memory(t: &TestDir, args: &[&str]) -> crate::util::Run {
    let mut c = t.cmd();
    c.env("CMDAI_DATA_DIR", t.path("data"))
        .arg("memory")
        .args(args);
    run(c)
}

#[test]
fn remember_forget_clear_and_off() {
    let t = TestDir::new();
    assert_eq!(remember(&t, "list files by size", "ls -lhS"), 0);
    assert_eq!(remember(&t, "show memory usage", "free -h"), 0);
    let all = listed(&t);
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().any(|e| e.to_string().contains("ls -lhS")));

    // Forget one by its id.
    let id = all
        .iter()
        .find(|e| e.to_string().contains("free -h"))
        .and_then(|e| e["id"].as_u64())
        .expect("an id");
    let r = memory(&t, &["forget", &id.to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let left = listed(&t);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(!left[0].to_string().contains("free -h"));
    // An unknown id is one clear sentence, not a crash.
    let r = memory(&t, &["forget", "999999"]);
    assert_ne!(r.code, 0);
    assert!(!r.stderr.trim().is_empty());

    // Off: nothing more is stored.
    assert_eq!(memory(&t, &["off"]).code, 0);
    assert_eq!(remember(&t, "show kernel version", "uname -r"), 0);
    assert_eq!(listed(&t).len(), 1, "stored while memory was off");
    assert_eq!(memory(&t, &["on"]).code, 0);
    assert_eq!(remember(&t, "show kernel version", "uname -r"), 0);
    assert_eq!(listed(&t).len(), 2);

    // Clear: everything goes, history too.
    assert_eq!(memory(&t, &["clear"]).code, 0);
    assert!(listed(&t).is_empty());
}

#[test]
fn a_high_risk_command_is_never_remembered() {
    let t = TestDir::new();
    assert_eq!(remember(&t, "wipe my home", "rm -rf ~"), 0);
    assert_eq!(remember(&t, "reset the repo", "git reset --hard"), 0);
    let all = listed(&t);
    assert!(
        all.iter().all(|e| !e.to_string().contains("rm -rf")),
        "{all:?}"
    );
}

/// The same request again, in the same folder, is answered from memory
/// without the model (memory is read once per request, for the answer and
/// the example turn alike); with `--avoid` (asking for another command) it
/// goes to the model.
#[test]
fn a_request_remembered_here_is_answered_from_memory() {
    let t = TestDir::new();
    assert_eq!(remember(&t, "show memory usage", "free -h"), 0);
    let ask = |extra: &[&str]| {
        let mut c = t.cmd();
        c.env("CMDAI_DATA_DIR", t.path("data"))
            .env("CMDAI_BACKEND", "mock")
            .env("CMDAI_MOCK_REPLY", r#"{"cmd": "vmstat"}"#)
            .args(["--format", "json"])
            .args(extra)
            .arg("show memory usage");
        let r = run(c);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        (
            v["command"].as_str().unwrap_or("").to_string(),
            v["backend"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(ask(&[]), ("free -h".to_string(), "memory".to_string()));
    assert_eq!(
        ask(&["--avoid", "free -h"]),
        ("vmstat".to_string(), "mock".to_string())
    );
}
