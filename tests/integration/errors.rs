//! Exit codes and one-sentence messages for bad input and missing models.

use crate::util::{run, TestDir};

#[test]
fn empty_query_is_usage_error() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.arg("   ");
    let r = run(c);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("request is empty"), "{}", r.stderr);
}

#[test]
fn no_query_at_all_is_usage_error() {
    let t = TestDir::new();
    let r = run(t.cmd());
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn huge_query_is_usage_error() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.arg("x".repeat(10_000));
    let r = run(c);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("bytes long"), "{}", r.stderr);
}

#[test]
fn invalid_utf8_is_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let t = TestDir::new();
    let mut c = t.cmd();
    c.arg(std::ffi::OsStr::from_bytes(b"find \xff files"));
    let r = run(c);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("UTF-8"), "{}", r.stderr);
}

#[test]
fn missing_model_offline_says_how_to_fetch() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.args(["--offline", "find", "large", "files"]);
    let r = run(c);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("cmdai model pull"), "{}", r.stderr);
}

#[test]
fn missing_model_env_offline_too() {
    for var in ["CMDAI_OFFLINE", "HF_HUB_OFFLINE"] {
        let t = TestDir::new();
        let mut c = t.cmd();
        c.env(var, "1").args(["find", "large", "files"]);
        let r = run(c);
        assert_eq!(r.code, 3, "{var}: {}", r.stderr);
        assert!(r.stderr.contains("cmdai model pull"), "{}", r.stderr);
    }
}

#[test]
fn missing_model_non_interactive_asks_for_yes() {
    let t = TestDir::new();
    let mut c = t.cmd();
    // No network is touched: stdin is not a terminal and --yes is absent.
    c.args(["find", "large", "files"]);
    let r = run(c);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
}

#[test]
fn corrupt_model_file_is_reported() {
    let t = TestDir::new();
    let bad = t.path("work").join("broken.gguf");
    std::fs::write(&bad, b"GGUF this is not really a model").unwrap();
    let mut c = t.cmd();
    c.args(["--no-daemon", "--model"])
        .arg(&bad)
        .args(["list", "files"]);
    let r = run(c);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("could not be loaded"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn missing_model_path_is_reported() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.args(["--model", "/nonexistent/m.gguf", "list", "files"]);
    let r = run(c);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}

#[test]
fn version_prints() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.arg("--version");
    let r = run(c);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("cmdai "), "{}", r.stdout);
}

#[test]
fn model_list_and_rm() {
    let t = TestDir::new();
    let models = t.path("cache").join("cmdai").join("models");
    std::fs::create_dir_all(&models).unwrap();
    // A stand-in file for the 0.5B model (never loaded here).
    let small = models.join("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
    std::fs::write(&small, b"stand-in").unwrap();
    std::fs::write(
        models.join("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf.verified"),
        b"{}",
    )
    .unwrap();

    // With nothing chosen, the largest installed model that fits is active.
    let mut c = t.cmd();
    c.args(["model", "list"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("qwen2.5-coder-0.5b-q4_k_m") && l.contains("(active)")),
        "{}",
        r.stdout
    );

    // An explicit choice wins, installed or not.
    let mut c = t.cmd();
    c.args(["model", "list"])
        .env("CMDAI_MODEL", "qwen2.5-coder-1.5b-q4_k_m");
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row = |id: &str| {
        r.stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        row("qwen2.5-coder-1.5b-q4_k_m").contains("(active)"),
        "{}",
        r.stdout
    );
    assert!(
        row("qwen2.5-coder-1.5b-q4_k_m").contains(" no "),
        "{}",
        r.stdout
    );
    assert!(
        row("qwen2.5-coder-0.5b-q4_k_m").contains(" yes "),
        "{}",
        r.stdout
    );

    let mut c = t.cmd();
    c.args(["model", "list", "--installed"]);
    let r = run(c);
    assert_eq!(
        r.stdout.lines().count(),
        2,
        "header + the one installed: {}",
        r.stdout
    );

    // The active model is kept unless --force.
    let mut c = t.cmd();
    c.args(["model", "rm", "qwen2.5-coder-1.5b-q4_k_m"])
        .env("CMDAI_MODEL", "qwen2.5-coder-1.5b-q4_k_m");
    let r = run(c);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);

    let mut c = t.cmd();
    c.args(["model", "rm", "qwen2.5-coder-0.5b-q4_k_m"])
        .env("CMDAI_MODEL", "qwen2.5-coder-1.5b-q4_k_m");
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!small.exists());
    assert!(
        std::fs::read_dir(&models).unwrap().next().is_none(),
        "sidecars left behind"
    );

    let mut c = t.cmd();
    c.args(["model", "rm", "qwen2.5-coder-0.5b-q4_k_m"])
        .env("CMDAI_MODEL", "qwen2.5-coder-1.5b-q4_k_m");
    assert_eq!(run(c).code, 3, "removing a missing model is a model error");
}

#[test]
fn doctor_names_each_problem_and_its_fix() {
    let t = TestDir::new();
    std::fs::write(
        t.path("home").join(".bashrc"),
        "eval \"$(cmdai init bash)\"\n",
    )
    .unwrap();
    let mut c = t.cmd();
    c.arg("doctor").env("CMDAI_OFFLINE", "1");
    let r = run(c);
    assert_eq!(r.code, 1, "a missing model is a failure: {}", r.stdout);
    let line = |what: &str| {
        r.stdout
            .lines()
            .find(|l| l[6..].starts_with(what))
            .unwrap_or_else(|| panic!("no {what} line:\n{}", r.stdout))
            .to_string()
    };
    assert!(line("model:").starts_with("FAIL") && line("model:").contains("cmdai model pull"));
    assert!(line("shell:").starts_with("ok") && line("shell:").contains("bash"));
    assert!(line("cache dir:").starts_with("ok"));
    assert!(line("network:").contains("offline"));
    assert!(line("daemon:").contains("not running"));
    assert!(r.stdout.contains("1 problem(s) found"), "{}", r.stdout);
}
