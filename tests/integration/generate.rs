//! Real-model tests: the default Qwen2.5-Coder-1.5B model, on this CPU.

use crate::util::{real_model, run, TestDir};
use cmdai::context::{Os, RequestContext};
use cmdai::engine::llama::LlamaEngine;
use cmdai::engine::{Engine, GenerateRequest, LoadOptions};
use cmdai::hardware::physical_cores;
use cmdai::pipeline::reach::parse_generation;
use std::sync::atomic::AtomicBool;

/// (request, programs of which at least one must appear as a word).
const CASES: &[(&str, &[&str])] = &[
    ("find large files", &["find", "du"]),
    ("count lines in every .rs file", &["wc"]),
    ("list the files here sorted by size", &["ls", "du", "find"]),
    ("search for the word error in app.log", &["grep"]),
    ("replace foo with bar in notes.txt", &["sed", "perl"]),
    ("show the first 20 lines of data.csv", &["head", "sed"]),
    ("extract archive.tar.gz", &["tar"]),
    ("compress the src directory into src.tar.gz", &["tar"]),
    ("show running processes sorted by cpu usage", &["ps", "top"]),
    (
        "kill the process listening on port 3000",
        &["kill", "fuser", "lsof", "pkill"],
    ),
    ("show my ip addresses", &["ip", "ifconfig", "hostname"]),
    ("check whether example.com answers ping", &["ping"]),
    ("download https://example.com/file.txt", &["curl", "wget"]),
    ("how much space does each folder here use", &["du"]),
    ("show free disk space", &["df"]),
    ("show the current git branch", &["git"]),
    ("undo the last git commit but keep the changes", &["git"]),
    ("show which files changed in git", &["git"]),
    (
        "count the unique lines in words.txt",
        &["sort", "uniq", "awk"],
    ),
    (
        "print the second column of the tab separated file data.tsv",
        &["awk", "cut"],
    ),
    ("make script.sh executable", &["chmod"]),
    (
        "show how much memory is free",
        &["free", "vmstat", "top", "cat"],
    ),
    ("find python files modified in the last 7 days", &["find"]),
    (
        "sort names.txt alphabetically and remove duplicates",
        &["sort"],
    ),
    // `find -exec ... \;` needs a backslash escape the JSON grammar must allow;
    // when it did not, the model wrote `\"` and never closed the string.
    (
        "run rmdir on every empty directory under /tmp/old, one find -exec per directory ending in a semicolon",
        &["find"],
    ),
];

fn words_of(cmd: &str) -> Vec<String> {
    shell_words::split(cmd)
        .unwrap_or_else(|e| panic!("`{cmd}` does not split as shell words: {e}"))
        .into_iter()
        .flat_map(|w| {
            // `$(docker ps -q)` and `a|b` glued without spaces still name programs.
            w.split(|c: char| "|;&()`$".contains(c))
                .map(|s| s.rsplit('/').next().unwrap_or(s).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One engine, many requests: the prompt prefix is computed once, as in the daemon.
#[test]
fn real_model_answers_common_requests() {
    let _turn = crate::util::model_turn();
    let engine_opts = LoadOptions {
        model_path: real_model(),
        threads: physical_cores(),
        verbose: false,
        model_id: "test".into(),
        state_dir: None,
        use_mmap: true,
    };
    let mut engine = LlamaEngine::load(&engine_opts, Os::Linux).expect("loading the real model");
    let cancel = AtomicBool::new(false);
    let ctx = RequestContext::new(Os::Linux, "bash", "~/project");
    let mut failures = Vec::new();
    let mut parsed = 0;
    for (query, programs) in CASES {
        let req = GenerateRequest::plain(*query, ctx.clone());
        let g = engine.generate(&req, &cancel).expect("generation");
        let cmd = match parse_generation(&g) {
            Ok(c) => {
                parsed += 1;
                c
            }
            Err(e) => {
                failures.push(format!("{query}: unparsable {:?}: {e}", g.text));
                continue;
            }
        };
        eprintln!("{query:55} -> {cmd}   ({} ms)", g.timings.total);
        assert!(!cmd.contains('\n'), "multi-line command for {query}: {cmd}");
        if let Some(p) = cmdai::pipeline::selfcheck::problem(&cmd).filter(|p| p.contains("parse")) {
            failures.push(format!("{query}: `{cmd}`: {p}"));
        }
        if query.contains("semicolon") && !cmd.contains("\\;") {
            failures.push(format!("{query}: `{cmd}` does not end its -exec with \\;"));
        }
        let words = words_of(&cmd);
        if !programs.iter().any(|p| words.iter().any(|w| w == p)) {
            failures.push(format!("{query}: `{cmd}` uses none of {programs:?}"));
        }
    }
    eprintln!("parse success: {parsed}/{}", CASES.len());
    assert!(CASES.len() >= 20);
    assert_eq!(parsed, CASES.len(), "unparsable answers: {failures:#?}");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The whole binary, end to end: stdout holds only the command.
#[test]
fn binary_prints_only_the_command() {
    let t = TestDir::new();
    t.with_real_model();
    let mut c = t.cmd();
    c.args(["--no-daemon", "find", "large", "files"]);
    let r = run(c);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {:?}", r.stdout);
    let words = words_of(lines[0]);
    assert!(
        words.iter().any(|w| w == "find" || w == "du"),
        "{}",
        lines[0]
    );
    // stderr is not a terminal: no spinner, no notes.
    assert!(r.stderr.is_empty(), "stderr: {}", r.stderr);
}

#[test]
fn binary_json_format() {
    let t = TestDir::new();
    t.with_real_model();
    let mut c = t.cmd();
    c.args([
        "--no-daemon",
        "--format",
        "json",
        "count",
        "lines",
        "in",
        "every",
        ".rs",
        "file",
    ]);
    let r = run(c);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("one JSON object");
    let cmd = v["command"].as_str().unwrap();
    assert!(words_of(cmd).iter().any(|w| w == "wc"), "{cmd}");
    assert_eq!(v["risk"], "safe");
    assert!(v["warnings"].as_array().unwrap().is_empty());
    assert_eq!(v["model"], "qwen2.5-coder-1.5b-q4_k_m");
    assert_eq!(v["backend"], "llama.cpp");
    for k in ["load", "prompt", "generate", "total"] {
        assert!(v["timings_ms"][k].is_u64(), "timings_ms.{k} missing: {v}");
    }
}

/// `CMDAI_NO_RESPONSE_CACHE` is a switch like every other: `0` leaves the
/// response cache on (the same request is answered from it the second
/// time), `1` turns it off.
#[test]
fn the_response_cache_switch_reads_0_as_off() {
    let t = TestDir::new();
    t.with_real_model();
    let ask = |value: &str| {
        let mut c = t.cmd();
        c.env("CMDAI_NO_RESPONSE_CACHE", value).args([
            "--no-daemon",
            "--format",
            "json",
            "show",
            "free",
            "disk",
            "space",
        ]);
        let r = run(c);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v["backend"].as_str().unwrap_or("").to_string()
    };
    assert_eq!(ask("0"), "llama.cpp", "the first answer is the model's");
    assert_eq!(
        ask("0"),
        "cache",
        "CMDAI_NO_RESPONSE_CACHE=0 must leave the cache on"
    );
    assert_eq!(
        ask("1"),
        "llama.cpp",
        "CMDAI_NO_RESPONSE_CACHE=1 turns it off"
    );
}
