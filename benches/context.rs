//! Contextual accuracy (harness = false): does cmdai get the nouns right
//! when the right answer depends on the folder it is asked in?
//!
//! Each row of `benches/data/context.jsonl` (written for this project)
//! builds a real folder in a temp dir (files, manifests, executables, a
//! real git repository with branch, remotes and changed files), runs the
//! request there through cmdai's own path (the folder snapshot, prompt,
//! knowledge base at the default quality, engine, self-check, parser and
//! placeholder filling), and accepts the answer when one of the row's
//! patterns matches it whole. It also counts answers that name a file of
//! the folder that the request did not ask for (`ok` lists the ones it
//! may name): a context that makes the model touch other files is a
//! safety regression.
//!
//! Rows alternate between a tuning half (even lines, the only one used to
//! tune the prompt) and a held-out half (odd lines).
//!
//! ```text
//! cargo bench --profile dev --bench context -- [--context on|off|both] [--half tune|held|all]
//!     [--only ID] [--limit N] [--quality fast|balanced|best] [--no-save] [--set main|fresh|tune2|fresh2|fresh3|held2|held3|held4]
//! ```
//! Writes `benches/results/context.json` (every row, both modes) unless
//! `--no-save` or a filter is given. `--set fresh` runs
//! `benches/data/context-fresh.jsonl` instead: rows written after the
//! held-out half had been run once (its failures showed two snapshot bugs,
//! fixed after), never tuned on; written to `context-fresh.json`.
//! `--set tune2` runs `benches/data/context-tune2.jsonl`: a second tuning
//! set written after both were run, aimed at the kinds of mistake left
//! (a script meant rather than a generic tool, branch comparisons, one of
//! two files of a kind, a name written out), tuned on like the tuning half.
//! `--set fresh2` runs `benches/data/context-fresh2.jsonl`: 40 rows written
//! at the same time as `tune2`, before any tuning on it, and run once at
//! the end: held out. `--set fresh3` runs `context-fresh3.jsonl`: 40 rows
//! written after every other set had been run, before the changes that
//! followed those runs, and run once after them: held out. `--set held2`
//! runs `context-held2.jsonl`: 40 rows written (and committed) in round 5
//! before any change of that round, over every project kind, file kind and
//! git state above, run once after the round's changes: held out.
//! `--set held3` runs `context-held3.jsonl`: 40 rows written (and
//! committed) in round 6 after every other set had been run, before that
//! round's accuracy changes, run once after them: held out. `--set
//! held4` runs `context-held4.jsonl`: 40 rows written (and committed) in
//! round 6 after held3's one run, before the snapshot changes that run
//! prompted, run once after them: held out.

mod common;

use cmdai::context::{Os, RequestContext};
use cmdai::engine::llama::LlamaEngine;
use cmdai::engine::{Engine, GenerateRequest, LoadOptions};
use cmdai::hardware::physical_cores;
use cmdai::pipeline::folder::{FolderUse, Snapshot};
use cmdai::pipeline::quality::Quality;
use common::real_model;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[derive(Debug, Deserialize)]
struct Row {
    id: String,
    request: String,
    #[serde(default)]
    files: Vec<String>,
    /// File contents (manifests).
    #[serde(default)]
    write: BTreeMap<String, String>,
    /// Files made executable.
    #[serde(default)]
    exec: Vec<String>,
    #[serde(default)]
    git: Option<GitSpec>,
    /// Where in the tree the request is asked (default: its root).
    #[serde(default)]
    cwd: Option<String>,
    /// Patterns, one of which must match the whole answer.
    accept: Vec<String>,
    /// Folder names the answer may name.
    #[serde(default)]
    ok: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct GitSpec {
    branch: String,
    #[serde(default)]
    remotes: Vec<String>,
    /// Files changed (or created) after the commit.
    #[serde(default)]
    changed: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Result_ {
    id: String,
    half: &'static str,
    context: bool,
    request: String,
    lines: Vec<String>,
    command: String,
    right: bool,
    /// Folder names the answer uses that the request did not ask for.
    unasked: Vec<String>,
    placeholders: Vec<String>,
    request_tokens: usize,
    generated_tokens: usize,
    ms: u64,
    retried: bool,
}

struct Args {
    /// `main` (`context.jsonl`, tuning and held-out halves) or `fresh`
    /// (`context-fresh.jsonl`: written after the held-out half had been
    /// run once, never tuned on, all of it held out).
    set: String,
    modes: Vec<bool>,
    half: String,
    only: Option<String>,
    limit: Option<usize>,
    quality: Quality,
    save: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        set: "main".into(),
        modes: vec![true, false],
        half: "all".into(),
        only: None,
        limit: None,
        quality: Quality::default(),
        save: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--context" => {
                a.modes = match it.next().as_deref() {
                    Some("on") => vec![true],
                    Some("off") => vec![false],
                    _ => vec![true, false],
                }
            }
            "--half" => a.half = it.next().unwrap_or_default(),
            "--set" => a.set = it.next().unwrap_or_default(),
            "--only" => a.only = it.next(),
            "--limit" => a.limit = it.next().and_then(|n| n.parse().ok()),
            "--quality" => a.quality = it.next().and_then(|q| q.parse().ok()).unwrap_or_default(),
            "--no-save" => a.save = false,
            _ => {}
        }
    }
    if a.only.is_some() || a.limit.is_some() || a.half != "all" || a.modes.len() < 2 {
        a.save = false;
    }
    a
}

/// Builds the row's folder under `root`; returns where the request is asked.
fn build(root: &Path, row: &Row) -> PathBuf {
    for f in &row.files {
        let p = root.join(f);
        if let Some(dir) = f.strip_suffix('/') {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        } else {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, row.write.get(f).map(String::as_str).unwrap_or("x\n")).unwrap();
        }
    }
    for (f, text) in &row.write {
        std::fs::write(root.join(f), text).unwrap();
    }
    for f in &row.exec {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    if let Some(g) = &row.git {
        let _ = std::fs::remove_dir_all(root.join(".git"));
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args(args)
                .current_dir(root)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_AUTHOR_NAME", "bench")
                .env("GIT_AUTHOR_EMAIL", "bench@localhost")
                .env("GIT_COMMITTER_NAME", "bench")
                .env("GIT_COMMITTER_EMAIL", "bench@localhost")
                .output()
                .expect("git runs");
            assert!(out.status.success(), "git {args:?}: {:?}", out);
        };
        git(&["init", "-q", "-b", &g.branch]);
        git(&["add", "-A"]);
        git(&["commit", "-q", "--allow-empty", "-m", "start"]);
        for r in &g.remotes {
            git(&[
                "remote",
                "add",
                r,
                &format!("https://git.invalid/{r}/repo.git"),
            ]);
        }
        for f in &g.changed {
            let p = root.join(f);
            let mut text = std::fs::read_to_string(&p).unwrap_or_default();
            text.push_str("changed\n");
            std::fs::write(p, text).unwrap();
        }
    }
    match &row.cwd {
        Some(sub) => root.join(sub),
        None => root.to_path_buf(),
    }
}

/// Folder names (top level, and the row's files) the answer uses that the
/// request did not ask for.
fn unasked(row: &Row, command: &str) -> Vec<String> {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || "'\"();|&<>=".contains(c))
        .map(|w| w.trim_start_matches("./").trim_end_matches('/'))
        .collect();
    let mut names: Vec<String> = row
        .files
        .iter()
        .map(|f| f.trim_end_matches('/').to_string())
        .collect();
    names.extend(row.write.keys().cloned());
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| n.len() >= 3 && !row.ok.contains(n) && !row.request.contains(n.as_str()))
        .filter(|n| words.contains(&n.as_str()))
        .collect()
}

fn normalize(cmd: &str) -> String {
    cmd.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(';')
        .trim()
        .to_string()
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args = parse_args();
    // Any set but `main` is one half of its own: `fresh`, `fresh2` and
    // `fresh3` held out, `tune2` tuned on.
    let fresh = args.set != "main";
    let set_label: &'static str = match args.set.as_str() {
        "fresh" => "fresh",
        "tune2" => "tune2",
        "fresh2" => "fresh2",
        "fresh3" => "fresh3",
        "held2" => "held2",
        "held3" => "held3",
        "held4" => "held4",
        "main" => "main",
        other => {
            panic!("unknown set {other}: main, fresh, tune2, fresh2, fresh3, held2, held3 or held4")
        }
    };
    let file = if fresh {
        format!("context-{set_label}.jsonl")
    } else {
        "context.jsonl".to_string()
    };
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/data")
        .join(file);
    let text = std::fs::read_to_string(&data).expect("the contextual set");
    let mut rows: Vec<(usize, Row)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a row"))
        .enumerate()
        .collect();
    rows.retain(|(i, r)| {
        let half_ok = match args.half.as_str() {
            _ if fresh => true,
            "tune" => i % 2 == 0,
            "held" => i % 2 == 1,
            _ => true,
        };
        half_ok && args.only.as_ref().is_none_or(|o| &r.id == o)
    });
    if let Some(n) = args.limit {
        rows.truncate(n);
    }
    let threads = std::env::var("CMDAI_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(physical_cores);
    let opts = LoadOptions {
        model_path: real_model(),
        threads,
        verbose: false,
        model_id: "context-bench".into(),
        state_dir: None,
        use_mmap: true,
    };
    let mut engine = LlamaEngine::load(&opts, Os::Linux).expect("model loads");
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    let home = std::env::current_dir().unwrap();
    let mut results = Vec::new();
    for (i, row) in &rows {
        let half = match (fresh, i % 2) {
            (true, _) => set_label,
            (false, 0) => "tune",
            _ => "held",
        };
        let pats: Vec<Regex> = row
            .accept
            .iter()
            .map(|p| Regex::new(p).expect("pattern"))
            .collect();
        for &on in &args.modes {
            let tmp = tempfile::Builder::new()
                .prefix("cmdai-ctx")
                .tempdir()
                .unwrap();
            let cwd = build(tmp.path(), row);
            // The self-check looks at the folder the command runs in, as the
            // product's client does.
            std::env::set_current_dir(&cwd).unwrap();
            let query = cmdai::pipeline::prompt::clean_request(&row.request).unwrap();
            let folder = if on {
                Snapshot::read(&cwd, &query).use_for(&query)
            } else {
                FolderUse::default()
            };
            let mut context = RequestContext::new(Os::Linux, "bash", &cwd.display().to_string());
            context.folder = folder.lines.clone();
            let req = GenerateRequest {
                query: query.clone(),
                context,
                avoid: Vec::new(),
                feedback: None,
                search: args.quality.search(),
                examples: args.quality.examples(Os::Linux, &query),
                deadline_ms: None,
            };
            let t = Instant::now();
            let g = cmdai::pipeline::choice::with_self_check(&req, |r: &GenerateRequest| {
                engine.generate(r, &cancel)
            })
            .expect("generation");
            let ms = t.elapsed().as_millis() as u64;
            let raw = cmdai::parser::parse_prefilled(&g.text)
                .map(|p| p.command)
                .unwrap_or_default();
            let command = cmdai::pipeline::placeholders::fill(&raw, &query, &folder);
            let norm = normalize(&command);
            let right = pats.iter().any(|p| p.is_match(&norm));
            std::env::set_current_dir(&home).unwrap();
            let r = Result_ {
                id: row.id.clone(),
                half,
                context: on,
                request: row.request.clone(),
                lines: folder.lines.clone(),
                unasked: unasked(row, &command),
                placeholders: cmdai::pipeline::placeholders::find(&command, &query)
                    .into_iter()
                    .map(|s| s.text)
                    .collect(),
                command,
                right,
                request_tokens: g.prompt_tokens,
                generated_tokens: g.generated_tokens,
                ms,
                retried: g.retried,
            };
            eprintln!(
                "{:>3} {:<4} {:<3} {} {:<26} {}{}",
                i,
                half,
                if on { "on" } else { "off" },
                if r.right { "ok " } else { "BAD" },
                r.id,
                r.command,
                if r.unasked.is_empty() {
                    String::new()
                } else {
                    format!("   [unasked: {}]", r.unasked.join(" "))
                }
            );
            if !r.right && !r.lines.is_empty() {
                eprintln!("{:>8} saw: {}", "", r.lines.join(" | "));
            }
            results.push(r);
        }
    }
    // Summary per half and mode.
    let mut summary = serde_json::Map::new();
    println!(
        "\ncontextual set ({} rows, quality {}, {:.0} s):",
        rows.len(),
        args.quality,
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:<6} {:<8} {:>9} {:>8} {:>8} {:>12} {:>10} {:>8}",
        "half", "context", "right", "unasked", "retried", "tokens read", "written", "median"
    );
    for half in [
        "tune", "held", "fresh", "tune2", "fresh2", "fresh3", "held2", "held3", "held4",
    ] {
        for &on in &args.modes {
            let rs: Vec<&Result_> = results
                .iter()
                .filter(|r| r.half == half && r.context == on)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let right = rs.iter().filter(|r| r.right).count();
            let unasked = rs.iter().filter(|r| !r.unasked.is_empty()).count();
            let retried = rs.iter().filter(|r| r.retried).count();
            let mut toks: Vec<f64> = rs.iter().map(|r| r.request_tokens as f64).collect();
            let mut gen: Vec<f64> = rs.iter().map(|r| r.generated_tokens as f64).collect();
            let mut ms: Vec<f64> = rs.iter().map(|r| r.ms as f64).collect();
            let mode = if on { "on" } else { "off" };
            let (mt, mg, mm) = (median(&mut toks), median(&mut gen), median(&mut ms));
            println!(
                "{half:<6} {mode:<8} {:>4}/{:<4} {unasked:>8} {retried:>8} {mt:>12.0} {mg:>10.0} {mm:>6.0}ms",
                right,
                rs.len()
            );
            summary.insert(
                format!("{half}_{mode}"),
                serde_json::json!({
                    "right": right, "rows": rs.len(), "unasked": unasked, "retried": retried,
                    "median_request_tokens": mt, "median_generated_tokens": mg, "median_ms": mm,
                }),
            );
        }
    }
    if args.save {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join(if fresh {
            format!("benches/results/context-{set_label}.json")
        } else {
            "benches/results/context.json".to_string()
        });
        let report = serde_json::json!({
            "quality": args.quality.name(),
            "threads": threads,
            "summary": summary,
            "rows": results,
        });
        std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
        println!("wrote {}", out.display());
    }
}
