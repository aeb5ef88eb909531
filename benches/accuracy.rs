//! Accuracy benchmark (harness = false): how often the command cmdai gives is
//! the right one, judged by running it.
//!
//! For each row of a JSONL dataset (`nl`, `cmd`, optional `fs`) it asks the
//! real model through cmdai's own engine, prompt, parser and safety policy,
//! then runs the reference command and the generated one in two fresh
//! bubblewrap sandboxes (read-only system, the row's fixture tree copied fresh
//! and mounted at `/`, private `/tmp`, no network, stdin closed, a timeout)
//! and compares what they printed and what they left in the tree. A generated
//! command never runs outside such a sandbox.
//!
//! A row is correct when the normalised command text equals the reference, or
//! when the reference is informative (it succeeded, or printed something, and
//! printed or changed something) and the generated command gives the same
//! stdout (trailing white space ignored; line order ignored unless the
//! reference sorts) with the same success and the same resulting tree. The
//! reference runs twice: rows where the two runs differ are *unstable* and
//! reported apart.
//!
//! ```text
//! cargo bench --profile dev --bench accuracy -- [--dataset intercode|intercode-dev|nl2bash|ci]
//!     [--limit N] [--label NAME] [--check] [--no-save] [--answers FILE]
//! ```
//! `--answers FILE` judges given commands (JSONL `{"id", "cmd"}`) instead of
//! asking the model, to size an idea before changing the prompt; it never
//! saves a report.
//! Writes `benches/results/accuracy-<dataset>.json` (every row) and appends a
//! line to `benches/results/accuracy-runs.md`. `--check` (used by CI on the `ci`
//! subset) fails when accuracy is more than 5 points below the recorded report.

mod common;
// Each user of the shared reader takes only a part of it.
#[allow(dead_code)]
#[path = "common/tldr.rs"]
mod tldr;
use cmdai::context::{Os, RequestContext};
use cmdai::engine::llama::LlamaEngine;
use cmdai::engine::{Engine, GenerateRequest, Generation, LoadOptions, Search};
use cmdai::hardware::physical_cores;
use cmdai::pipeline::folder::{FolderUse, Snapshot};
use cmdai::safety::{self, SafetyLevel, Verdict};
use common::real_model;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Seconds a command may run in its sandbox.
const RUN_TIMEOUT_S: u32 = 5;
/// Largest stdout kept from one run (bytes); larger output is cut.
const MAX_STDOUT: u64 = 1 << 20;
/// CI fails when the subset's accuracy falls more than this many points below
/// the recorded report.
const CI_TOLERANCE_POINTS: f64 = 5.0;

#[derive(Debug, Clone, Deserialize)]
struct Row {
    id: String,
    nl: String,
    cmd: String,
    #[serde(default)]
    fs: Option<String>,
    #[serde(default)]
    shell: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RunResult {
    stdout: String,
    success: bool,
    timed_out: bool,
    /// sha256 over the fixture tree after the run (paths, kinds, modes, contents).
    tree: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RowReport {
    id: String,
    nl: String,
    reference: String,
    /// What cmdai would put on the command line (empty when it gave nothing).
    generated: String,
    correct: bool,
    /// "text", "output" or "" (wrong).
    matched_by: String,
    unstable: bool,
    /// The reference printed nothing and changed nothing (or failed silently):
    /// only an exact text match can count.
    uninformative: bool,
    /// Why a wrong row is wrong (one of a fixed list; see `failure_kind`).
    failure: String,
    /// Model time for this request (ms).
    ms: u64,
    /// Of `ms`: reading the request in (prefill) and writing the answer.
    #[serde(default)]
    prompt_ms: u64,
    #[serde(default)]
    generate_ms: u64,
    generated_tokens: usize,
    /// The first answer failed the self-check and was asked for again.
    #[serde(default)]
    retried: bool,
    /// Knowledge-base examples shown with the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    examples: Vec<String>,
    /// Tokens read for the request (its turn and any examples).
    #[serde(default)]
    prompt_tokens: usize,
    /// Whether the first answer (before any self-check retry) was correct.
    #[serde(default)]
    correct_without_selfcheck: bool,
    /// Every answer the engine wrote for the first request, when it wrote
    /// more than one (`--branches`, `--samples`), each judged on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    candidates: Vec<CandidateReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CandidateReport {
    cmd: String,
    logprob: f32,
    tokens: usize,
    origin: String,
    runaway: bool,
    #[serde(default)]
    gap: f32,
    #[serde(default)]
    forked_at: usize,
    /// What the self-check says is wrong with it ("" when nothing).
    problem: String,
    correct: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Report {
    label: String,
    dataset: String,
    commit: String,
    date: String,
    model: String,
    threads: usize,
    rows: usize,
    correct: usize,
    accuracy: f64,
    stable_rows: usize,
    stable_correct: usize,
    accuracy_stable: f64,
    unstable: usize,
    uninformative: usize,
    empty: usize,
    multi_line: usize,
    no_command: usize,
    blocked: usize,
    #[serde(default)]
    retried: usize,
    /// Accuracy had the first answer been kept (no self-check retry).
    #[serde(default)]
    accuracy_without_selfcheck: f64,
    latency_ms_median: f64,
    /// Medians of the two parts of a request's model time.
    #[serde(default)]
    prompt_ms_median: f64,
    #[serde(default)]
    generate_ms_median: f64,
    latency_ms_p90: f64,
    #[serde(default)]
    latency_ms_p99: f64,
    /// Medians of the tokens read (request turn and examples) and written
    /// (every answer) per request.
    #[serde(default)]
    prompt_tokens_median: f64,
    #[serde(default)]
    generated_tokens_median: f64,
    failure_kinds: BTreeMap<String, usize>,
    /// Whether the model was told what the row's folder holds.
    #[serde(default)]
    context: bool,
    results: Vec<RowReport>,
}

struct Args {
    dataset: String,
    limit: Option<usize>,
    label: String,
    check: bool,
    save: bool,
    /// `--answers FILE`: JSONL of `{"id", "cmd"}` judged instead of asking
    /// the model, so an idea ("what if it never added -type f?") can be
    /// measured on the real sandboxes before any prompt is changed.
    answers: Option<PathBuf>,
    /// `--out FILE`: write the report there instead of the recorded one.
    out: Option<PathBuf>,
    /// How many answers the engine writes per request.
    search: Search,
    /// Knowledge-base examples per request, and the similarity they need.
    kb_k: usize,
    kb_min: f32,
    /// `--kb-probe`: print each row's closest knowledge-base entries and
    /// their scores, without the model (to size a threshold).
    kb_probe: bool,
    /// `--only-kb`: run only the rows that get knowledge-base examples (the
    /// others get the very same prompt as without them).
    only_kb: bool,
    /// `--kb-tldr`: measure the tldr-pages rows of ../shared/eval as the
    /// knowledge base instead of cmdai's own (measurement only: shared data
    /// never goes into the product).
    kb_tldr: bool,
    /// `--context on|off`: tell the model what the row's folder holds (the
    /// fixture tree, as the product's snapshot would see it); on by
    /// default, as in the product.
    context: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        dataset: "intercode".into(),
        limit: None,
        label: "run".into(),
        check: false,
        save: true,
        answers: None,
        out: None,
        // The product's default quality unless `--quality` or the knobs
        // below say otherwise, so `--check` in CI measures what users get.
        search: cmdai::pipeline::quality::Quality::default().search(),
        kb_k: cmdai::pipeline::quality::Quality::default().knowledge().0,
        kb_min: cmdai::pipeline::quality::Quality::default().knowledge().1,
        kb_probe: false,
        only_kb: false,
        kb_tldr: false,
        context: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--dataset" => a.dataset = it.next().expect("--dataset NAME"),
            "--limit" => a.limit = it.next().and_then(|n| n.parse().ok()),
            "--label" => a.label = it.next().expect("--label NAME"),
            "--check" => a.check = true,
            "--no-save" => a.save = false,
            "--out" => a.out = Some(it.next().expect("--out FILE").into()),
            "--quality" => {
                let q: cmdai::pipeline::quality::Quality = it
                    .next()
                    .expect("--quality fast|balanced|best")
                    .parse()
                    .unwrap();
                a.search = q.search();
                (a.kb_k, a.kb_min) = q.knowledge();
            }
            "--branches" => a.search.branches = num(it.next()),
            "--samples" => a.search.samples = num(it.next()),
            "--margin" => a.search.margin = num(it.next()),
            "--temperature" => a.search.temperature = num(it.next()),
            "--kb-k" => a.kb_k = num(it.next()),
            "--kb-min" => a.kb_min = num(it.next()),
            "--kb-probe" => a.kb_probe = true,
            "--only-kb" => a.only_kb = true,
            "--kb-tldr" => a.kb_tldr = true,
            "--context" => a.context = it.next().as_deref() != Some("off"),
            "--answers" => {
                a.answers = Some(it.next().expect("--answers FILE").into());
                a.save = false;
            }
            _ => {} // `--bench` and friends from cargo
        }
    }
    a
}

fn num<T: std::str::FromStr>(v: Option<String>) -> T {
    v.and_then(|v| v.parse().ok()).expect("a number")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `CMDAI_EVAL_DIR`, else `../shared/eval` next to the repository (or one
/// level further up, for a clone inside a work directory).
fn eval_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CMDAI_EVAL_DIR") {
        // A named dir without the data is absent data, reported as such.
        return Some(PathBuf::from(p)).filter(|p| p.join("intercode_bash.jsonl").is_file());
    }
    ["../shared/eval", "../../shared/eval"]
        .iter()
        .map(|rel| root().join(rel))
        .find(|p| p.join("intercode_bash.jsonl").is_file())
}

fn eval_file(name: &str) -> PathBuf {
    eval_dir().expect("eval data checked in main").join(name)
}

fn read_rows(path: &Path) -> Vec<Row> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("dataset row"))
        .collect()
}

/// Every other row, starting at `first`: 0 gives the tuning half (even
/// rows), 1 the held-out half (odd rows).
fn halve(rows: Vec<Row>, first: usize) -> Vec<Row> {
    rows.into_iter().skip(first).step_by(2).collect()
}

/// The rows of a dataset; `ci` is the fixed subset of intercode listed in
/// `benches/accuracy_ci.txt`.
fn load_dataset(name: &str) -> Vec<Row> {
    match name {
        "intercode" => read_rows(&eval_file("intercode_bash.jsonl")),
        // The development half (even rows): prompt changes are tried here
        // first, the whole set is the final word.
        "intercode-dev" => halve(read_rows(&eval_file("intercode_bash.jsonl")), 0),
        // The held-out half (odd rows): reported, never tuned on.
        "intercode-held" => halve(read_rows(&eval_file("intercode_bash.jsonl")), 1),
        "nl2bash" => read_rows(&eval_file("nl2bash_sample.jsonl")),
        "nl2bash-dev" => halve(read_rows(&eval_file("nl2bash_sample.jsonl")), 0),
        "nl2bash-held" => halve(read_rows(&eval_file("nl2bash_sample.jsonl")), 1),
        "ci" => {
            let ids = fs::read_to_string(root().join("benches/accuracy_ci.txt")).unwrap();
            let wanted: Vec<&str> = ids
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect();
            let all = read_rows(&eval_file("intercode_bash.jsonl"));
            let rows: Vec<Row> = all
                .into_iter()
                .filter(|r| wanted.contains(&r.id.as_str()))
                .collect();
            assert_eq!(
                rows.len(),
                wanted.len(),
                "accuracy_ci.txt names unknown rows"
            );
            rows
        }
        // Any JSONL file of rows (`file:PATH`), for trying requests by hand.
        other if other.starts_with("file:") => read_rows(Path::new(&other[5..])),
        other => panic!(
            "unknown dataset {other} (intercode[-dev|-held], nl2bash[-dev|-held], ci, file:PATH)"
        ),
    }
}

/// The tldr-pages rows (plain shell commands only) as a knowledge base, with
/// `path/to/` dropped from placeholders so they read as plausible names.
fn tldr_index() -> cmdai::pipeline::knowledge::Index {
    let rows = tldr::read(&eval_file(tldr::FILE)).expect("tldr rows");
    let entries = rows
        .into_iter()
        .map(|r| cmdai::pipeline::knowledge::Entry {
            request: r.nl.replace('`', ""),
            command: r.cmd.replace("path/to/", ""),
        })
        .collect();
    cmdai::pipeline::knowledge::Index::new(entries)
}

/// Fixture tree for a row's `fs` value (see ../shared/eval/README.md).
fn fixture_name(fs: Option<&str>) -> Option<String> {
    match fs? {
        "bash_fs" => Some("ic-setup_fs".into()),
        f @ ("nl2b_fs_1" | "nl2b_fs_2" | "nl2b_fs_3") => Some(format!("ic-setup_{f}")),
        _ => None,
    }
}

/// Runs commands in fresh bubblewrap sandboxes.
struct Sandboxes {
    fixtures: tempfile::TempDir,
    scratch: tempfile::TempDir,
    counter: usize,
}

impl Sandboxes {
    fn new() -> Sandboxes {
        assert!(
            Command::new("bwrap")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "bubblewrap (bwrap) is needed: apt-get install bubblewrap"
        );
        let fixtures = tempfile::tempdir().unwrap();
        let tar = eval_file("fixtures.tar.gz");
        let ok = Command::new("tar")
            .arg("-xzf")
            .arg(&tar)
            .arg("-C")
            .arg(fixtures.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "cannot unpack {}", tar.display());
        Sandboxes {
            fixtures,
            scratch: tempfile::tempdir().unwrap(),
            counter: 0,
        }
    }

    /// Runs `cmd` with `shell -c` in a fresh sandbox holding `fixture`.
    fn run(&mut self, fixture: Option<&str>, shell: &str, cmd: &str) -> RunResult {
        self.counter += 1;
        let dir = self.scratch.path().join(format!("run{}", self.counter));
        let tree = dir.join("tree");
        fs::create_dir_all(&dir).unwrap();
        match fixture {
            Some(f) => {
                let src = self.fixtures.path().join("fixtures").join(f);
                let ok = Command::new("cp")
                    .arg("-a")
                    .arg(&src)
                    .arg(&tree)
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "cannot copy fixture {f}");
            }
            None => fs::create_dir_all(&tree).unwrap(),
        }
        let out_path = dir.join("stdout");
        let out = fs::File::create(&out_path).unwrap();

        let mut c = Command::new("timeout");
        c.args(["-k", "1", &RUN_TIMEOUT_S.to_string(), "bwrap"]);
        c.args(["--tmpfs", "/"]);
        for top in [
            "usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "opt",
        ] {
            let host = Path::new("/").join(top);
            match fs::read_link(&host) {
                Ok(target) => {
                    c.arg("--symlink").arg(target).arg(&host);
                }
                Err(_) if host.is_dir() => {
                    c.arg("--ro-bind").arg(&host).arg(&host);
                }
                Err(_) => {}
            }
        }
        // The fixture's top-level entries belong at `/`; with no fixture a
        // scratch directory stands in as the working directory.
        let mut cwd = "/".to_string();
        if fixture.is_some() {
            for e in fs::read_dir(&tree).unwrap() {
                let e = e.unwrap();
                let at = Path::new("/").join(e.file_name());
                c.arg("--bind").arg(e.path()).arg(at);
            }
        } else {
            c.arg("--bind").arg(&tree).arg("/work");
            cwd = "/work".into();
        }
        c.args(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]);
        c.args(["--dir", "/root", "--remount-ro", "/"]);
        c.args(["--unshare-all", "--die-with-parent", "--new-session"]);
        c.args(["--chdir", &cwd, "--clearenv"]);
        c.args([
            "--setenv",
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]);
        c.args(["--setenv", "HOME", "/root", "--setenv", "LANG", "C.UTF-8"]);
        c.args(["--setenv", "USER", "root", "--setenv", "TERM", "dumb"]);
        // Output is written to a file and capped, so `yes` cannot fill memory.
        c.arg(shell).arg("-c").arg(format!(
            "ulimit -f {}; exec {shell} -c \"$0\"",
            MAX_STDOUT / 512
        ));
        c.arg(cmd);
        c.stdin(Stdio::null()).stdout(out).stderr(Stdio::null());
        // A command the OS cannot take (a NUL byte in it) simply fails.
        let Ok(status) = c.status() else {
            let _ = Command::new("rm").arg("-rf").arg(&dir).status();
            return RunResult {
                stdout: String::new(),
                success: false,
                timed_out: false,
                tree: String::new(),
            };
        };
        let timed_out = matches!(status.code(), Some(124) | Some(137));
        let bytes = fs::read(&out_path).unwrap_or_default();
        let tree_hash = hash_tree(&tree);
        let _ = Command::new("rm").arg("-rf").arg(&dir).status();
        RunResult {
            stdout: String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_STDOUT as usize)])
                .into_owned(),
            success: status.success(),
            timed_out,
            tree: tree_hash,
        }
    }
}

/// A digest of a directory tree: relative paths, kinds, permission bits and
/// contents (not timestamps), in sorted order.
fn hash_tree(root: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let mut entries = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let Ok(meta) = fs::symlink_metadata(&p) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o7777;
            let body = if meta.file_type().is_symlink() {
                format!("l {}", fs::read_link(&p).unwrap_or_default().display())
            } else if meta.is_dir() {
                stack.push(p.clone());
                "d".to_string()
            } else {
                let digest = Sha256::digest(fs::read(&p).unwrap_or_default());
                format!("f {}", cmdai::hex::encode(&digest))
            };
            entries.push(format!("{rel}\t{mode:o}\t{body}"));
        }
    }
    entries.sort();
    cmdai::hex::sha256(entries.join("\n").as_bytes())
}

fn normalize_cmd(c: &str) -> String {
    c.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(';')
        .trim()
        .to_string()
}

fn normalize_out(s: &str) -> Vec<String> {
    let mut lines: Vec<String> = s.lines().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

fn same_output(reference_cmd: &str, a: &str, b: &str) -> bool {
    let (a, b) = (normalize_out(a), normalize_out(b));
    if a == b {
        return true;
    }
    // A reference that does not sort prints a set of lines in whatever order
    // the file system gives: compare as multisets.
    if reference_cmd.contains("sort") {
        return false;
    }
    let (mut a, mut b) = (a, b);
    a.sort();
    b.sort();
    a == b
}

/// The first program a command runs (after `sudo` and variable assignments).
fn first_program(cmd: &str) -> String {
    let words = shell_words::split(cmd)
        .unwrap_or_else(|_| cmd.split_whitespace().map(str::to_string).collect());
    words
        .into_iter()
        .find(|w| !w.contains('=') && w != "sudo")
        .map(|w| w.rsplit('/').next().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn bash_syntax_ok(cmd: &str) -> bool {
    Command::new("bash")
        .args(["-n", "-c", cmd])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn installed(program: &str) -> bool {
    if program.is_empty() {
        return false;
    }
    Command::new("bash")
        .args(["-c", "type -t -- \"$0\" >/dev/null", program])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One word for why a wrong row is wrong, for the summary.
fn failure_kind(
    reference: &str,
    generated: &str,
    got: Option<&RunResult>,
    want: &RunResult,
    informative: bool,
) -> String {
    if generated.is_empty() {
        return "no command".into();
    }
    if generated.starts_with('#') {
        return "blocked by safety".into();
    }
    if !bash_syntax_ok(generated) {
        return "syntax error".into();
    }
    let prog = first_program(generated);
    if !installed(&prog) {
        return "program not installed".into();
    }
    if !informative {
        return "unverifiable reference, text differs".into();
    }
    let Some(got) = got else {
        return "not run".into();
    };
    if got.timed_out {
        return "timed out".into();
    }
    if want.success && !got.success {
        return "fails where the reference succeeds".into();
    }
    if got.tree != want.tree {
        return "different changes to files".into();
    }
    if prog != first_program(reference) {
        return "different program, different output".into();
    }
    "same program, different output".into()
}

fn median(v: &[f64]) -> f64 {
    percentile(v, 0.5)
}

fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// The commit the run was built from; `-dirty` when the working tree
/// (outside `benches/results/`) had changes, so a report never claims a
/// commit it was not built from.
fn git_commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let head = git(&["rev-parse", "--short", "HEAD"]);
    let dirty = git(&[
        "status",
        "--porcelain",
        "--",
        ".",
        ":(exclude)benches/results",
    ]);
    if dirty.is_empty() {
        head
    } else {
        format!("{head}-dirty")
    }
}

fn today() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d %H:%M")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// `--answers FILE`: row id → command to judge.
fn load_answers(path: &Path) -> BTreeMap<String, String> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read answers {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("answers: JSON lines");
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (field("id"), field("cmd"))
        })
        .collect()
}

/// What cmdai would print for a generation: the parsed command, or `# blocked`
/// when the default safety policy blocks it; empty when nothing parsed.
fn product_answer(query: &str, g: &Generation, folder: &FolderUse) -> (String, bool) {
    let Ok(command) = cmdai::pipeline::reach::parse_generation(g) else {
        return (String::new(), false);
    };
    let command = cmdai::pipeline::placeholders::fill(&command, query, folder);
    let a = safety::assess_request(query, &command, &safety::Context::for_user());
    if safety::policy(a.risk, SafetyLevel::Default) == Verdict::Block {
        return (format!("# blocked: {command}"), true);
    }
    (command, false)
}

fn main() {
    let args = parse_args();
    if eval_dir().is_none() {
        // Like the safety corpus test: the data is ours to read, not to ship.
        eprintln!(
            "accuracy: evaluation data not found (../shared/eval or CMDAI_EVAL_DIR); nothing measured"
        );
        // A check that measured nothing has not passed.
        std::process::exit(if args.check { 1 } else { 0 });
    }
    let mut rows = load_dataset(&args.dataset);
    if let Some(n) = args.limit {
        rows.truncate(n);
    }
    if args.check && rows.is_empty() {
        eprintln!(
            "accuracy: the `{}` dataset has no rows; nothing measured, so the check fails",
            args.dataset
        );
        std::process::exit(1);
    }
    let kb: &cmdai::pipeline::knowledge::Index = if args.kb_tldr {
        Box::leak(Box::new(tldr_index()))
    } else {
        cmdai::pipeline::knowledge::Index::for_os(Os::Linux)
    };
    let examples_for =
        |q: &str| cmdai::pipeline::knowledge::examples_from(kb, q, args.kb_k, args.kb_min);
    if args.only_kb {
        rows.retain(|r| {
            let q = cmdai::pipeline::prompt::clean_request(&r.nl).unwrap_or_default();
            !examples_for(&q).is_empty()
        });
    }
    if args.kb_probe {
        let idx = kb;
        for row in &rows {
            let query = cmdai::pipeline::prompt::clean_request(&row.nl).unwrap_or_default();
            for (e, score) in idx.nearest(&query, 1, 0.0) {
                println!("{score:.3}\t{}\t{}\t=> {}", row.nl, e.request, e.command);
            }
        }
        return;
    }
    let model = real_model();
    // CMDAI_BENCH_THREADS: two runs side by side on one thread each.
    let threads = std::env::var("CMDAI_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(physical_cores);
    eprintln!(
        "accuracy: {} rows of {} with {} ({threads} threads)",
        rows.len(),
        args.dataset,
        model.display()
    );
    let opts = LoadOptions {
        model_path: model.clone(),
        threads,
        verbose: false,
        model_id: "accuracy".into(),
        state_dir: None,
        use_mmap: true,
    };
    let given = args.answers.as_deref().map(load_answers);
    let mut engine = match given {
        Some(_) => None,
        None => Some(LlamaEngine::load(&opts, Os::Linux).expect("model loads")),
    };
    let cancel = AtomicBool::new(false);
    let mut boxes = Sandboxes::new();

    let mut results = Vec::new();
    let started = Instant::now();
    for (i, row) in rows.iter().enumerate() {
        let query = cmdai::pipeline::prompt::clean_request(&row.nl).unwrap_or_default();
        let shell = row.shell.as_deref().unwrap_or("/bin/bash");
        let fixture = fixture_name(row.fs.as_deref());
        // What the product's snapshot would say in the row's folder: the
        // fixture tree (at `/` in the sandbox), else an empty folder.
        let folder = if args.context {
            let dir = match &fixture {
                Some(f) => boxes.fixtures.path().join("fixtures").join(f),
                None => boxes.scratch.path().join("empty"),
            };
            let _ = fs::create_dir_all(&dir);
            Snapshot::read(&dir, &query).use_for(&query)
        } else {
            FolderUse::default()
        };
        let req = GenerateRequest {
            query: query.clone(),
            context: RequestContext {
                os: Os::Linux,
                shell: cmdai::context::shell_name(shell),
                cwd: if fixture.is_some() || row.fs.is_some() {
                    "/".into()
                } else {
                    "/work".into()
                },
                folder: folder.lines.clone(),
            },
            avoid: Vec::new(),
            feedback: None,
            search: args.search,
            examples: examples_for(&query),
            deadline_ms: None,
        };
        // Every answer the model gave, so the first one can be judged too:
        // that is the accuracy the self-check's retry is measured against.
        let mut answers: Vec<Generation> = Vec::new();
        let g = match (&mut engine, &given) {
            (Some(engine), _) => {
                cmdai::pipeline::choice::with_self_check(&req, |r: &GenerateRequest| {
                    let out = engine.generate(r, &cancel);
                    if let Ok(g) = &out {
                        answers.push(g.clone());
                    }
                    out
                })
                .expect("generation")
            }
            (None, Some(given)) => Generation {
                text: serde_json::json!({ "cmd": given.get(&row.id).cloned().unwrap_or_default() })
                    .to_string(),
                prefilled: false,
                prompt_tokens: 0,
                generated_tokens: 0,
                timings: Default::default(),
                candidates: Vec::new(),
                retried: false,
            },
            (None, None) => unreachable!("no engine and no answers"),
        };
        let (generated, blocked) = product_answer(&query, &g, &folder);

        let want = boxes.run(fixture.as_deref(), shell, &row.cmd);
        let again = boxes.run(fixture.as_deref(), shell, &row.cmd);
        let unstable = want != again;
        let informative = (want.success || !want.stdout.trim().is_empty())
            && (!want.stdout.trim().is_empty() || {
                let untouched = boxes.run(fixture.as_deref(), shell, "true");
                untouched.tree != want.tree
            });
        let mut judge = |cmd: &str, blocked: bool| {
            let text_match = normalize_cmd(cmd) == normalize_cmd(&row.cmd);
            let mut got = None;
            let mut output_match = false;
            if !text_match && !cmd.is_empty() && !blocked {
                let r = boxes.run(fixture.as_deref(), shell, cmd);
                output_match = informative
                    && !r.timed_out
                    && r.success == want.success
                    && r.tree == want.tree
                    && same_output(&row.cmd, &want.stdout, &r.stdout);
                got = Some(r);
            }
            (text_match, output_match, got)
        };
        let (text_match, output_match, got) = judge(&generated, blocked);
        let correct_first = match answers.first().filter(|_| g.retried) {
            Some(first) => {
                let (cmd, blocked) = product_answer(&query, first, &folder);
                let (t, o, _) = judge(&cmd, blocked);
                t || o
            }
            None => text_match || output_match,
        };
        let mut candidates = Vec::new();
        for c in answers
            .first()
            .map(|g| g.candidates.clone())
            .unwrap_or_default()
        {
            let g = Generation {
                text: c.text.clone(),
                prefilled: true,
                ..Default::default()
            };
            let (cmd, blocked) = product_answer(&query, &g, &folder);
            let (t, o, _) = judge(&cmd, blocked);
            candidates.push(CandidateReport {
                problem: cmdai::pipeline::selfcheck::problem_for(&query, &cmd).unwrap_or_default(),
                cmd,
                logprob: c.logprob,
                tokens: c.tokens,
                origin: c.origin,
                runaway: c.runaway,
                gap: c.gap,
                forked_at: c.forked_at,
                correct: t || o,
            });
        }
        let correct = text_match || output_match;
        let failure = if correct {
            String::new()
        } else {
            failure_kind(&row.cmd, &generated, got.as_ref(), &want, informative)
        };
        if !correct {
            eprintln!(
                "  [{i:3}] WRONG ({failure}) {}\n        want: {}\n        got:  {}",
                row.nl, row.cmd, generated
            );
        }
        results.push(RowReport {
            id: row.id.clone(),
            nl: row.nl.clone(),
            reference: row.cmd.clone(),
            generated,
            correct,
            matched_by: match (text_match, output_match) {
                (true, _) => "text".into(),
                (_, true) => "output".into(),
                _ => String::new(),
            },
            unstable,
            uninformative: !informative,
            failure,
            // Warm latency: the model load (first row only) is not a request's.
            ms: g.timings.total - g.timings.load,
            prompt_ms: g.timings.prompt,
            generate_ms: g.timings.generate,
            generated_tokens: g.generated_tokens,
            retried: g.retried,
            examples: req
                .examples
                .iter()
                .map(|e| format!("{} => {}", e.request, e.command))
                .collect(),
            prompt_tokens: g.prompt_tokens,
            correct_without_selfcheck: correct_first,
            candidates,
        });
    }

    let report = summarise(&args, &model, threads, results);
    print_summary(&report, started.elapsed().as_secs_f64());
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| root().join(format!("benches/results/accuracy-{}.json", args.dataset)));
    let recorded: Option<Report> = fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    if args.check {
        let Some(rec) = recorded else {
            panic!("no recorded report at {} to check against", path.display());
        };
        let floor = rec.accuracy * 100.0 - CI_TOLERANCE_POINTS;
        println!(
            "check: {:.1}% now, {:.1}% recorded ({}), floor {floor:.1}%",
            report.accuracy * 100.0,
            rec.accuracy * 100.0,
            rec.label
        );
        if report.accuracy * 100.0 < floor {
            eprintln!(
                "accuracy dropped more than {CI_TOLERANCE_POINTS} points below the recorded report"
            );
            std::process::exit(1);
        }
        return;
    }
    if args.save {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
        if args.out.is_none() {
            append_history(&report);
        }
        eprintln!("wrote {}", path.display());
    }
}

fn summarise(args: &Args, model: &Path, threads: usize, results: Vec<RowReport>) -> Report {
    let n = results.len();
    let correct = results.iter().filter(|r| r.correct).count();
    let stable: Vec<&RowReport> = results.iter().filter(|r| !r.unstable).collect();
    let stable_correct = stable.iter().filter(|r| r.correct).count();
    let times =
        |ms: fn(&RowReport) -> u64| -> Vec<f64> { results.iter().map(|r| ms(r) as f64).collect() };
    let lat = times(|r| r.ms);
    let mut kinds = BTreeMap::new();
    for r in results.iter().filter(|r| !r.correct) {
        *kinds.entry(r.failure.clone()).or_insert(0) += 1;
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Report {
        label: args.label.clone(),
        dataset: args.dataset.clone(),
        commit: git_commit(),
        date: today(),
        model: model
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        threads,
        rows: n,
        correct,
        accuracy: ratio(correct, n),
        stable_rows: stable.len(),
        stable_correct,
        accuracy_stable: ratio(stable_correct, stable.len()),
        unstable: n - stable.len(),
        uninformative: results.iter().filter(|r| r.uninformative).count(),
        empty: results.iter().filter(|r| r.failure == "no command").count(),
        multi_line: results
            .iter()
            .filter(|r| r.generated.contains('\n'))
            .count(),
        no_command: results.iter().filter(|r| r.generated.is_empty()).count(),
        blocked: results
            .iter()
            .filter(|r| r.generated.starts_with('#'))
            .count(),
        retried: results.iter().filter(|r| r.retried).count(),
        accuracy_without_selfcheck: ratio(
            results
                .iter()
                .filter(|r| r.correct_without_selfcheck)
                .count(),
            n,
        ),
        latency_ms_median: median(&lat),
        prompt_ms_median: median(&times(|r| r.prompt_ms)),
        generate_ms_median: median(&times(|r| r.generate_ms)),
        latency_ms_p90: percentile(&lat, 0.9),
        latency_ms_p99: percentile(&lat, 0.99),
        prompt_tokens_median: median(&times(|r| r.prompt_tokens as u64)),
        generated_tokens_median: median(&times(|r| r.generated_tokens as u64)),
        failure_kinds: kinds,
        context: args.context,
        results,
    }
}

fn print_summary(r: &Report, secs: f64) {
    println!(
        "\naccuracy on {} ({} rows, label {}): {}/{} = {:.1}%; stable rows only: {}/{} = {:.1}%",
        r.dataset,
        r.rows,
        r.label,
        r.correct,
        r.rows,
        r.accuracy * 100.0,
        r.stable_correct,
        r.stable_rows,
        r.accuracy_stable * 100.0
    );
    println!(
        "without the self-check's retry: {:.1}%",
        r.accuracy_without_selfcheck * 100.0
    );
    println!(
        "unstable references {}, uninformative references {}, no command {}, multi-line {}, blocked {}, self-check retries {}",
        r.unstable, r.uninformative, r.no_command, r.multi_line, r.blocked, r.retried
    );
    println!(
        "model latency per request: median {:.0} ms, p90 {:.0} ms, p99 {:.0} ms; whole run {secs:.0} s",
        r.latency_ms_median, r.latency_ms_p90, r.latency_ms_p99
    );
    println!(
        "tokens per request: read median {:.0}, written median {:.0}",
        r.prompt_tokens_median, r.generated_tokens_median
    );
    println!(
        "  of which: reading the request median {:.0} ms, writing the answer median {:.0} ms",
        r.prompt_ms_median, r.generate_ms_median
    );
    let mut kinds: Vec<_> = r.failure_kinds.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1));
    println!("failure kinds:");
    for (k, n) in kinds {
        println!("  {n:4}  {k}");
    }
}

/// One line per saved run in `benches/results/accuracy-runs.md`, so changes
/// are compared (`accuracy.md` next to it is the written account).
fn append_history(r: &Report) {
    let path = root().join("benches/results/accuracy-runs.md");
    let mut text = fs::read_to_string(&path).unwrap_or_else(|_| {
        "# Accuracy runs\n\nOne line per `cargo bench --bench accuracy` run that was saved \
(`-dirty`: built from uncommitted changes).\n\n\
| date | commit | label | dataset | rows | accuracy | stable-only | no cmd | blocked | retries | median ms |\n\
|---|---|---|---|---|---|---|---|---|---|---|\n"
            .to_string()
    });
    text.push_str(&format!(
        "| {} | {} | {} | {} | {} | {:.1}% | {:.1}% | {} | {} | {} | {:.0} |\n",
        r.date,
        r.commit,
        r.label,
        r.dataset,
        r.rows,
        r.accuracy * 100.0,
        r.accuracy_stable * 100.0,
        r.no_command,
        r.blocked,
        r.retried,
        r.latency_ms_median
    ));
    fs::write(path, text).unwrap();
}
