//! Does cmdai learn from the user's corrections? A scripted session with the
//! real model (issue: "learns from corrections").
//!
//! Twenty everyday requests, written for this benchmark (none from the
//! evaluation sets). Each is asked once; the user then runs their own
//! corrected command, reported with `cmdai remember` exactly as the shell
//! widgets do. After all twenty, each request is asked again *in other
//! words*, and we count how many come back as the corrected command: through
//! memory's direct answer (`"backend": "memory"`) or because the stored pair
//! was shown to the model as an example. The same paraphrases asked with
//! memory off are the control: how many the model gets to the corrected
//! command on its own.
//!
//! `cargo bench --profile dev --bench memory` (writes
//! `benches/results/memory.json`). Nothing here is tuned on: the thresholds in
//! `src/pipeline/memory.rs` were set before this session was written.

#[path = "common/mod.rs"]
mod common;

use common::{real_model, MODEL_FILE};
use std::path::Path;
use std::process::{Command, Stdio};

/// (request, the command the user corrected it to, the request in other words)
const SESSION: [(&str, &str, &str); 20] = [
    (
        "show disk usage of the folders here",
        "du -sh -- */ | sort -h",
        "how much space does each directory here take",
    ),
    (
        "list files by size",
        "ls -lhS",
        "show the files here sorted by size",
    ),
    (
        "find python files changed today",
        "find . -name '*.py' -mtime -1",
        "python files modified in the last day",
    ),
    (
        "count lines of rust code",
        "find . -name '*.rs' -print0 | xargs -0 wc -l | tail -n 1",
        "how many lines of rust are in this project",
    ),
    (
        "show my ip address",
        "hostname -I",
        "what is the ip of this machine",
    ),
    (
        "list all users",
        "getent passwd | cut -d: -f1",
        "show every user account on this system",
    ),
    (
        "show listening ports",
        "ss -tlnp",
        "which ports are open for listening",
    ),
    (
        "search for TODO in the code",
        "grep -rn TODO --include='*.rs' .",
        "find all TODO comments in the source",
    ),
    (
        "show the biggest files",
        "find . -type f -printf '%s %p\\n' | sort -nr | head -n 10",
        "what are the largest files here",
    ),
    (
        "show git log as a graph",
        "git log --oneline --graph --all",
        "display the commit history as a tree",
    ),
    (
        "compress the logs folder",
        "tar czf logs.tar.gz logs/",
        "make a gzip archive of the logs directory",
    ),
    ("show memory usage", "free -h", "how much RAM is used"),
    (
        "follow the syslog",
        "tail -F /var/log/syslog",
        "watch the system log live",
    ),
    (
        "show running docker containers",
        "docker ps --format 'table {{.Names}}\\t{{.Status}}'",
        "which containers are running",
    ),
    (
        "delete pyc files",
        "find . -name '*.pyc' -delete",
        "remove all compiled python files",
    ),
    (
        "show the current branch",
        "git branch --show-current",
        "which git branch am I on",
    ),
    (
        "count files in this folder",
        "find . -maxdepth 1 -type f | wc -l",
        "how many files are in the current directory",
    ),
    (
        "show kernel version",
        "uname -r",
        "which linux kernel is running",
    ),
    (
        "list open files of process 1234",
        "lsof -p 1234",
        "what files does pid 1234 have open",
    ),
    (
        "show the path variable one per line",
        "tr ':' '\\n' <<< \"$PATH\"",
        "print each PATH entry on its own line",
    ),
];

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(model: &Path) -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("cmdai-memory-bench")
            .tempdir()
            .unwrap();
        let models = dir.path().join("cache/models");
        std::fs::create_dir_all(&models).unwrap();
        for sub in ["run", "data", "config", "work"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::os::unix::fs::symlink(model, models.join(MODEL_FILE)).unwrap();
        Sandbox { dir }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cmdai"));
        c.env("HOME", self.dir.path())
            .env("CMDAI_CACHE_DIR", self.dir.path().join("cache"))
            .env("CMDAI_SOCKET_DIR", self.dir.path().join("run"))
            .env("CMDAI_DATA_DIR", self.dir.path().join("data"))
            .env("CMDAI_CONFIG_DIR", self.dir.path().join("config"))
            .env("CMDAI_NO_RESPONSE_CACHE", "1")
            .env("SHELL", "/bin/bash")
            .current_dir(self.dir.path().join("work"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// The command cmdai gives for `request`, and where it came from.
    fn ask(&self, request: &str, memory: bool) -> (String, String) {
        let mut c = self.cmd();
        c.env("CMDAI_MEMORY", if memory { "on" } else { "off" })
            .args(["--format", "json", "--", request]);
        let out = c.output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "cmdai gave no JSON for {request:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (
            v["command"].as_str().unwrap_or_default().to_string(),
            v["backend"].as_str().unwrap_or_default().to_string(),
        )
    }

    fn remember(&self, request: &str, offered: &str, ran: &str) {
        let work = self.dir.path().join("work");
        let mut c = self.cmd();
        c.args(["remember", "--request", request, "--offered", offered])
            .arg(format!("--ran={ran}"))
            .arg(format!("--cwd={}", work.display()));
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "remember failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.cmd().args(["daemon", "stop"]).output();
    }
}

fn same(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sb = Sandbox::new(&real_model());
    let mut rows = Vec::new();
    // The session: ask, then run the corrected command.
    let mut already = 0;
    for (request, corrected, _) in SESSION {
        let (first, _) = sb.ask(request, true);
        already += usize::from(same(&first, corrected));
        sb.remember(request, &first, corrected);
        rows.push(
            serde_json::json!({ "request": request, "first": first, "corrected": corrected }),
        );
    }
    let stored = sb
        .cmd()
        .args(["memory", "list", "--format", "json"])
        .output()
        .unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&stored.stdout).unwrap();
    let stored = stored.as_array().map_or(0, |a| a.len());

    // Later: the same requests in other words, with memory on and off.
    let (mut direct, mut via_example, mut control) = (0, 0, 0);
    for (i, (_, corrected, paraphrase)) in SESSION.iter().enumerate() {
        let (with, backend) = sb.ask(paraphrase, true);
        let (without, _) = sb.ask(paraphrase, false);
        let hit = same(&with, corrected);
        if hit && backend == "memory" {
            direct += 1;
        } else if hit {
            via_example += 1;
        }
        control += usize::from(same(&without, corrected));
        let row = rows[i].as_object_mut().unwrap();
        row.insert("paraphrase".into(), (*paraphrase).into());
        row.insert("with_memory".into(), with.into());
        row.insert("backend".into(), backend.into());
        row.insert("memory_off".into(), without.into());
        println!(
            "{:>2} {} {:<45} -> {}",
            i + 1,
            if hit { "ok  " } else { "miss" },
            paraphrase,
            rows[i]["with_memory"].as_str().unwrap_or_default()
        );
    }
    let n = SESSION.len();
    println!(
        "memory session: {stored}/{n} corrections stored; asked again in other words, \
         {}/{n} came back as corrected ({direct} answered from memory, {via_example} by the model \
         with the stored pair as an example); with memory off {control}/{n}; \
         the first answer already matched the correction {already}/{n}",
        direct + via_example
    );
    let report = serde_json::json!({
        "requests": n,
        "stored": stored,
        "corrected_after": direct + via_example,
        "from_memory": direct,
        "via_example": via_example,
        "memory_off": control,
        "first_answer_matched": already,
        "rows": rows,
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results/memory.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap() + "\n").unwrap();
    println!("wrote {}", path.display());
}
