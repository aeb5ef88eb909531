//! Every subcommand that prints, into a pipe whose reader has already gone
//! (`cmdai history | head -1` once head has its line): a quiet exit with
//! status 0, never a panic, exit 101 or a backtrace (issue 27).

use crate::util::{run, Run, TestDir};
use std::process::{Command, Stdio};

/// Runs `c` with stdout a pipe nobody reads any more.
fn into_closed_pipe(mut c: Command) -> Run {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    c.stdout(Stdio::from(write));
    run(c)
}

fn mock(c: &mut Command) -> &mut Command {
    c.env("CMDAI_BACKEND", "mock")
        .env("CMDAI_MOCK_REPLY", r#"{"cmd": "ls -la"}"#)
        .env("CMDAI_MOCK_EXPLAIN", "lists the files here with details")
        .env("CMDAI_OFFLINE", "1")
}

#[test]
fn every_subcommand_that_prints_exits_quietly_into_a_closed_pipe() {
    let t = TestDir::new();
    // Something to list: a request in the history, a remembered command, a
    // model file to describe.
    let mut c = t.cmd();
    mock(&mut c).arg("list files");
    assert_eq!(run(c).code, 0);
    let mut c = t.cmd();
    c.args([
        "remember",
        "--request",
        "list files",
        "--offered",
        "ls -la",
        "--ran=ls -la",
    ]);
    assert_eq!(run(c).code, 0);
    let gguf = t.path("work").join("tiny.gguf");
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    std::fs::write(&gguf, b).unwrap();
    let gguf = gguf.display().to_string();

    let cases: Vec<Vec<&str>> = vec![
        vec!["list", "files"],
        vec!["--format", "json", "list", "files"],
        vec!["history"],
        vec!["history", "--format", "json"],
        vec!["memory", "list"],
        vec!["memory", "list", "--format", "json"],
        vec!["model", "list"],
        vec!["model", "list", "--fits"],
        vec!["model", "path"],
        vec!["model", "info", &gguf],
        vec!["explain", "ls -la"],
        vec!["doctor"],
        vec!["config", "show"],
        vec!["config", "show", "--format", "json"],
        vec!["config", "path"],
        vec!["check", "ls -la"],
        vec!["check", "--format", "json", "ls -la"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["init", "bash"],
        vec!["daemon", "stop"],
        vec!["--help"],
        vec!["--version"],
    ];
    let mut failures = Vec::new();
    for args in &cases {
        let mut c = t.cmd();
        mock(&mut c).args(args);
        let r = into_closed_pipe(c);
        if r.code != 0 || r.stderr.contains("panicked") || r.stderr.contains("Broken pipe") {
            failures.push(format!("{args:?}: exit {}: {}", r.code, r.stderr.trim()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Stdout is written only through `output::out` (and `outln!`): a
/// `println!` anywhere else would panic into a closed pipe again.
#[test]
fn nothing_prints_to_stdout_but_through_the_one_writer() {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs")
                && p.file_name()
                    .is_some_and(|n| n != "tests.rs" && n != "output.rs")
            {
                let text = std::fs::read_to_string(&p).unwrap();
                // Unit tests may print what they like.
                let code = text.split("#[cfg(test)]").next().unwrap_or("");
                for (i, line) in code.lines().enumerate() {
                    let l = line.trim_start();
                    let prints = ["println!(", "print!(", "io::stdout()"]
                        .iter()
                        .any(|m| l.contains(m) && !l.contains(&format!("e{m}")));
                    if prints && !l.starts_with("//") {
                        out.push(format!("{}:{}: {l}", p.display(), i + 1));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(
        found.is_empty(),
        "print through crate::outln! / output::out instead:\n{}",
        found.join("\n")
    );
}
