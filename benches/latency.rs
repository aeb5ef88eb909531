//! Latency benchmark (harness = false): where a request's time goes, and how
//! close cmdai gets to what the CPU can do.
//!
//! For a fixed list of 20 requests, in one run:
//!  (a) floor: llama-cpp-2 directly, prefix already in the KV cache: prefill
//!      the request's tokens + greedy decode of as many tokens as cmdai made;
//!  (i) cmdai's engine in this process (prefix cached): load/prompt/generate;
//!  (b) warm: `cmdai` process with the daemon running (spawn to stdout), in
//!      a project folder (a Rust crate in git, with logs and an archive), with
//!      the folder's context on (the default) and, (b'), off (`--no-context`);
//!  (c) cold: `cmdai --no-daemon`, page cache warm, saved prefix state;
//!  (d) naive: `cmdai --no-daemon` with no saved prefix (full prefill);
//!  (e) `cmdai --version` and `cmdai init zsh` process time;
//!  (f) an exact repeat served by the response cache;
//!  (g) install's last step (`cmdai model pull`: prepare and save the prompt)
//!      and the first request after it, which starts the daemon.
//! Prints a table and writes `benches/results/latency.json`.
//!
//! Prompt-lookup speculation (drafting the next tokens from the prompt and
//! verifying them in one batch) was measured here and removed: on intercode
//! rows 0-59 it made requests slower (median 1970 ms with 1 draft, 2275 ms
//! with 3, against 1826 ms without), since a batch of several tokens costs
//! more on two cores than the drafts it gets accepted save.
//! `CMDAI_BENCH_QUICK=1` runs 5 requests and 1 naive run.

mod common;
#[path = "common/project.rs"]
mod project;
use cmdai::context::{Os, RequestContext};
use cmdai::engine::llama::{backend, flash_attention, LlamaEngine};
use cmdai::engine::{Engine, GenerateRequest, LoadOptions};
use cmdai::hardware::physical_cores;
use common::{real_model, MODEL_FILE};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const REQUESTS: &[&str] = &[
    "find large files",
    "count lines in every .rs file",
    "show free disk space",
    "list the files here sorted by size",
    "search for the word error in app.log",
    "replace foo with bar in notes.txt",
    "extract archive.tar.gz",
    "show running processes sorted by cpu usage",
    "kill the process listening on port 3000",
    "show the current git branch",
    "undo the last git commit but keep the changes",
    "count the unique lines in words.txt",
    "make script.sh executable",
    "show how much memory is free",
    "find python files modified in the last 7 days",
    "download https://example.com/file.txt",
    "compress the src directory into src.tar.gz",
    "print the second column of data.csv",
    "show my ip addresses",
    "sort names.txt alphabetically and remove duplicates",
];

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The `q` quantile (nearest rank) of `v`.
fn percentile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() as f64 - 1.0) * q).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A private cache/socket tree with the model linked in, and a project
/// folder (`proj`) the requests are asked in.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(model: &Path) -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("cmdai-bench")
            .tempdir()
            .unwrap();
        let models = dir.path().join("cache/models");
        std::fs::create_dir_all(&models).unwrap();
        // The socket folder as cmdai makes it: private (it refuses one that is
        // open to others and answers in-process instead).
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        std::os::unix::fs::symlink(model, models.join(MODEL_FILE)).unwrap();
        project::rust_project_in_git(&dir.path().join("proj"));
        Sandbox { dir }
    }
    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cmdai"));
        // HOME is the sandbox and the process runs in its project folder,
        // so the request line says `[bash]`, as for the in-process engine
        // and the floor; with context on the folder's lines come before it.
        c.env("HOME", self.dir.path())
            .env("CMDAI_CACHE_DIR", self.dir.path().join("cache"))
            .env("CMDAI_SOCKET_DIR", self.dir.path().join("run"))
            .env("CMDAI_NO_RESPONSE_CACHE", "1")
            .env("CMDAI_DATA_DIR", self.dir.path().join("data"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("SHELL", "/bin/bash")
            .current_dir(self.dir.path().join("proj"))
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .stdout(Stdio::piped());
        c
    }
    /// Runs cmdai through the daemon; returns wall time and the JSON it
    /// printed. An answer given in this process instead (the JSON's
    /// `fallback` says why) would measure a model load, not a warm request.
    fn time_daemon(&self, c: Command) -> (f64, serde_json::Value) {
        let (ms, v) = self.time(c);
        assert_eq!(
            v["backend"], "llama.cpp (daemon)",
            "not answered by the daemon: {}",
            v["fallback"]
        );
        (ms, v)
    }
    /// Runs cmdai; returns wall time and the JSON it printed.
    fn time(&self, mut c: Command) -> (f64, serde_json::Value) {
        let t = Instant::now();
        let out = c.output().unwrap();
        let wall = ms(t.elapsed());
        assert!(
            out.status.success(),
            "cmdai failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (wall, v)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.cmd().args(["daemon", "stop"]).output();
    }
}

/// (a) The floor: the same tokens through llama-cpp-2 with nothing around it.
fn floor(
    model_path: &Path,
    prefix: &[LlamaToken],
    suffixes: &[(Vec<LlamaToken>, usize)],
    n_ctx: usize,
) -> Vec<f64> {
    let be = backend(false).unwrap();
    let model = LlamaModel::load_from_file(be, model_path, &LlamaModelParams::default()).unwrap();
    let threads = physical_cores() as i32;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx as u32))
        .with_n_batch(n_ctx as u32)
        .with_n_ubatch(512)
        // The engine's attention kernel choice (off on the CPU, where it is
        // slower for a short request after a long cached prefix): llama.cpp's
        // default ("auto") turns it on and would make the floor slower than
        // cmdai's own engine.
        .with_flash_attention_policy(flash_attention(be))
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut ctx = model.new_context(be, params).unwrap();
    let mut batch = LlamaBatch::new(n_ctx, 1);
    for (i, t) in prefix.iter().enumerate() {
        batch.add(*t, i as i32, &[0], false).unwrap();
    }
    ctx.decode(&mut batch).unwrap();
    let p = prefix.len();
    let mut out = Vec::new();
    for (suffix, n_gen) in suffixes {
        let t = Instant::now();
        ctx.kv_cache_seq_rm(0, Some(p as u32), None).unwrap();
        batch.clear();
        for (i, tok) in suffix.iter().enumerate() {
            batch
                .add(*tok, (p + i) as i32, &[0], i + 1 == suffix.len())
                .unwrap();
        }
        ctx.decode(&mut batch).unwrap();
        let mut idx = suffix.len() as i32 - 1;
        let first = p + suffix.len();
        for pos in first..first + *n_gen {
            let logits = ctx.get_logits_ith(idx);
            let best = logits
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i as i32)
                .unwrap();
            batch.clear();
            batch.add(LlamaToken(best), pos as i32, &[0], true).unwrap();
            ctx.decode(&mut batch).unwrap();
            idx = 0;
        }
        out.push(ms(t.elapsed()));
    }
    out
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let quick = std::env::var_os("CMDAI_BENCH_QUICK").is_some();
    let requests: Vec<&str> = if quick {
        REQUESTS[..5].to_vec()
    } else {
        REQUESTS.to_vec()
    };
    let model = real_model();
    let ctx = RequestContext::new(Os::current(), "bash", "~/proj");
    let reqs: Vec<GenerateRequest> = requests
        .iter()
        .map(|q| GenerateRequest::plain(*q, ctx.clone()))
        .collect();

    // (i) cmdai's engine in-process, prefix cached in the KV.
    eprintln!("bench: in-process engine ({} requests)", reqs.len());
    let opts = LoadOptions {
        model_path: model.clone(),
        threads: physical_cores(),
        verbose: false,
        model_id: "bench".into(),
        state_dir: None,
        use_mmap: true,
    };
    let t = Instant::now();
    let mut engine = LlamaEngine::load(&opts, Os::current()).unwrap();
    let load_ms = ms(t.elapsed());
    let cancel = AtomicBool::new(false);
    let mut inproc = Vec::new();
    let mut suffixes = Vec::new();
    for r in &reqs {
        let g = engine.generate(r, &cancel).unwrap();
        suffixes.push((engine.request_tokens(r), g.generated_tokens));
        inproc.push((r.query.clone(), g));
    }
    let prefix = engine.prefix_tokens().to_vec();
    let n_ctx = engine.n_ctx();
    drop(engine);

    eprintln!("bench: floor");
    let floor_ms = floor(&model, &prefix, &suffixes, n_ctx);

    let sb = Sandbox::new(&model);
    // (g) What install.sh does last (`cmdai model pull`: the model is there,
    // its prompt gets prepared and saved), then the first request, which
    // starts the daemon: the wait a new user has after installing.
    eprintln!("bench: first request after install");
    let mut c = sb.cmd();
    c.args(["model", "pull"]);
    let t = Instant::now();
    let out = c.output().unwrap();
    let prepare_ms = ms(t.elapsed());
    assert!(
        out.status.success(),
        "model pull failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = sb.cmd();
    c.args(["--format", "json", "find large files"]);
    let first_ms = sb.time_daemon(c).0;
    eprintln!("bench: warm daemon, context on and off");
    let mut warm = Vec::new();
    let mut warm_json = Vec::new();
    let mut warm_off = Vec::new();
    let mut warm_off_json = Vec::new();
    for q in &requests {
        let mut c = sb.cmd();
        c.args(["--format", "json", q]);
        let (ms, v) = sb.time_daemon(c);
        warm.push(ms);
        warm_json.push(v);
    }
    for q in &requests {
        let mut c = sb.cmd();
        c.args(["--no-context", "--format", "json", q]);
        let (ms, v) = sb.time_daemon(c);
        warm_off.push(ms);
        warm_off_json.push(v);
    }
    let rss_kb = daemon_rss_kb(&sb);
    let _ = sb.cmd().args(["daemon", "stop"]).output();

    eprintln!("bench: cold start (saved prefix)");
    let mut cold = Vec::new();
    for q in &requests {
        let mut c = sb.cmd();
        c.args(["--no-daemon", "--format", "json", q]);
        cold.push(sb.time(c).0);
    }

    eprintln!("bench: naive (no saved prefix)");
    let mut naive = Vec::new();
    for q in requests.iter().take(if quick { 1 } else { 3 }) {
        let mut c = sb.cmd();
        c.env("CMDAI_NO_PREFIX_STATE", "1")
            .args(["--no-daemon", "--format", "json", q]);
        naive.push(sb.time(c).0);
    }

    eprintln!("bench: process start");
    let mut version = Vec::new();
    let mut init = Vec::new();
    for _ in 0..20 {
        let mut c = sb.cmd();
        c.arg("--version");
        let t = Instant::now();
        c.output().unwrap();
        version.push(ms(t.elapsed()));
        let mut c = sb.cmd();
        c.args(["init", "zsh"]);
        let t = Instant::now();
        c.output().unwrap();
        init.push(ms(t.elapsed()));
    }

    eprintln!("bench: response cache");
    let mut cached = Vec::new();
    for q in &requests {
        let mut c = sb.cmd();
        c.env_remove("CMDAI_NO_RESPONSE_CACHE")
            .args(["--no-daemon", "--format", "json", q]);
        sb.time(c); // fills the cache
        let mut c = sb.cmd();
        c.env_remove("CMDAI_NO_RESPONSE_CACHE")
            .args(["--no-daemon", "--format", "json", q]);
        cached.push(sb.time(c).0);
    }

    // Report.
    let tok = |v: &serde_json::Value, k: &str| v["tokens"][k].as_u64().unwrap_or(0);
    let retried = |v: &serde_json::Value| v["tokens"]["retried"].as_bool().unwrap_or(false);
    println!("\nper request (ms; tokens read+written; r = the self-check asked again):");
    println!(
        "{:<52} {:>9} {:>6} {:>7} {:>11} {:>7} {:>11}",
        "request", "floor tok", "floor", "warm on", "on tok", "off", "off tok"
    );
    for (i, (q, g)) in inproc.iter().enumerate() {
        let (on, off) = (&warm_json[i], &warm_off_json[i]);
        println!(
            "{:<52} {:>4}+{:<4} {:>6.0} {:>7.0} {:>5}+{:<3}{:<2} {:>7.0} {:>5}+{:<3}{:<2}",
            q,
            g.prompt_tokens,
            g.generated_tokens,
            floor_ms[i],
            warm[i],
            tok(on, "read"),
            tok(on, "written"),
            if retried(on) { " r" } else { "" },
            warm_off[i],
            tok(off, "read"),
            tok(off, "written"),
            if retried(off) { " r" } else { "" },
        );
    }
    let inproc_total: Vec<f64> = inproc.iter().map(|(_, g)| g.timings.total as f64).collect();
    let (mf, mw, mo, mc, mn) = (
        median(&floor_ms),
        median(&warm),
        median(&warm_off),
        median(&cold),
        median(&naive),
    );
    let read_on: Vec<f64> = warm_json.iter().map(|v| tok(v, "read") as f64).collect();
    let read_off: Vec<f64> = warm_off_json
        .iter()
        .map(|v| tok(v, "read") as f64)
        .collect();
    let retries_on = warm_json.iter().filter(|v| retried(v)).count();
    let retries_off = warm_off_json.iter().filter(|v| retried(v)).count();
    println!("\nmedians over {} requests (ms):", requests.len());
    println!("  (a) floor (llama-cpp-2 direct)        {mf:>9.0}");
    println!(
        "  (i) engine in-process, prefix cached  {:>9.0}",
        median(&inproc_total)
    );
    println!(
        "  (b) warm daemon, context on           {mw:>9.0}   warm/floor {:.2}   p90 {:.0}  p99 {:.0}  tokens read {:.0}  retried {retries_on}",
        mw / mf,
        percentile(&warm, 0.9),
        percentile(&warm, 0.99),
        median(&read_on),
    );
    println!(
        "  (b') warm daemon, context off         {mo:>9.0}   warm/floor {:.2}   p90 {:.0}  p99 {:.0}  tokens read {:.0}  retried {retries_off}",
        mo / mf,
        percentile(&warm_off, 0.9),
        percentile(&warm_off, 0.99),
        median(&read_off),
    );
    println!("  (g) install's model pull (prepare)    {prepare_ms:>9.0}");
    println!(
        "  (g) first request after install      {first_ms:>9.0}   (daemon start, saved prompt)"
    );
    println!(
        "  (c) cold start, saved prefix          {mc:>9.0}   cold/warm  {:.2}",
        mc / mw
    );
    println!(
        "  (d) naive, no prefix cache ({} runs)   {mn:>9.0}",
        naive.len()
    );
    println!(
        "  (e) cmdai --version                   {:>9.1}",
        median(&version)
    );
    println!(
        "  (e) cmdai init zsh                    {:>9.1}",
        median(&init)
    );
    println!(
        "  (f) response cache hit                {:>9.1}",
        median(&cached)
    );
    println!(
        "  daemon RSS                            {:>9.0} MB",
        rss_kb as f64 / 1024.0
    );

    let report = serde_json::json!({
        "requests": requests,
        "threads": physical_cores(),
        "prefix_tokens": prefix.len(),
        "model_load_ms": load_ms,
        "in_process": inproc.iter().map(|(q, g)| serde_json::json!({
            "request": q, "request_tokens": g.prompt_tokens, "generated_tokens": g.generated_tokens,
            "prompt_ms": g.timings.prompt, "generate_ms": g.timings.generate, "total_ms": g.timings.total,
        })).collect::<Vec<_>>(),
        "install_prepare_ms": prepare_ms, "first_request_after_install_ms": first_ms,
        "floor_ms": floor_ms, "warm_ms": warm, "warm_context_off_ms": warm_off,
        "warm": warm_json, "warm_context_off": warm_off_json,
        "cold_ms": cold, "naive_ms": naive,
        "version_ms": version, "init_ms": init, "cached_ms": cached,
        "medians_ms": {
            "floor": mf, "in_process": median(&inproc_total), "warm": mw, "warm_context_off": mo,
            "cold": mc, "naive": mn,
            "version": median(&version), "init": median(&init), "cached": median(&cached),
        },
        "warm_p90_ms": percentile(&warm, 0.9), "warm_p99_ms": percentile(&warm, 0.99),
        "warm_context_off_p90_ms": percentile(&warm_off, 0.9),
        "warm_context_off_p99_ms": percentile(&warm_off, 0.99),
        "median_tokens_read": { "context_on": median(&read_on), "context_off": median(&read_off) },
        "retried": { "context_on": retries_on, "context_off": retries_off },
        "ratios": { "warm_over_floor": mw / mf, "warm_context_off_over_floor": mo / mf,
                    "cold_over_warm": mc / mw },
        "daemon_rss_mb": rss_kb as f64 / 1024.0,
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results");
    std::fs::create_dir_all(&out).unwrap();
    let name = if quick {
        "latency-quick.json"
    } else {
        "latency.json"
    };
    std::fs::write(
        out.join(name),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    println!("\nwrote benches/results/{name}");
}

/// Peak RSS (VmHWM) of the running daemon, from /proc.
fn daemon_rss_kb(sb: &Sandbox) -> u64 {
    let out = sb.cmd().args(["daemon", "status"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let pid = text
        .split("pid ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.trim().parse::<u32>().ok());
    let Some(pid) = pid else { return 0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
