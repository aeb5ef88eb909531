//! `cmdai doctor`: one command that checks everything cmdai depends on and
//! says, for each problem, how to fix it. Read-only: it changes nothing.
//!
//! Checks: the config file, the model (which one and why, present, checksum
//! or GGUF header), memory and cores (what fits, what to pull), the daemon
//! and its socket dir, the shell integration in the rc files, the cache dir
//! (writable, free space) and the download sources.

use crate::config;
use crate::daemon::client;
use crate::error::{exit, Result};
use crate::hardware;
use crate::models::resolve::{active, catalog, Target};
use crate::models::{self, download, gguf, select};
use crate::paths;
use std::path::Path;
use std::time::Duration;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

struct Report {
    failures: usize,
}

impl Report {
    fn line(&mut self, status: Status, what: &str, detail: &str) {
        let tag = match status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => {
                self.failures += 1;
                "FAIL"
            }
        };
        crate::outln!("{tag}  {what}: {detail}");
    }
}

pub fn run() -> Result<i32> {
    let mut r = Report { failures: 0 };
    let exe = std::env::current_exe().map_or("?".into(), |p| p.display().to_string());
    r.line(
        Status::Ok,
        "cmdai",
        &format!("{} at {exe}", env!("CARGO_PKG_VERSION")),
    );
    r.line(
        Status::Ok,
        "llama.cpp",
        crate::engine::llama::system_info().trim(),
    );

    let cat = match catalog() {
        Ok(c) => c,
        Err(e) => {
            r.line(
                Status::Fail,
                "catalogue",
                &format!(
                    "{e}; fix or delete models.toml in {}",
                    paths::config_dir().display()
                ),
            );
            return Ok(exit::FAILURE);
        }
    };
    check_config(&mut r);
    let cache = paths::cache_dir();
    let mem = hardware::memory();
    let mut need_ram = None;
    let mut model_size = cat.default_model().expected_size().unwrap_or(0);
    let s = super::settings::resolve(&crate::cli::ModelArgs::default());
    match active(&cat, &s) {
        Err(e) => r.line(Status::Fail, "model", &e.to_string()),
        Ok(a) => {
            let why = match a.source {
                config::Source::Auto => format!("chosen automatically: {}", a.reason),
                other => format!("set by {other}"),
            };
            match &a.target {
                Target::Catalog(spec) => {
                    need_ram = Some((spec.id.clone(), spec.ram_mb));
                    model_size = spec.expected_size().unwrap_or(0);
                    check_catalog_model(&mut r, &cache, spec, &why);
                }
                Target::File { name, path } => check_file_model(&mut r, name, path, &why),
            }
        }
    }
    check_machine(&mut r, &cat, &cache, mem, need_ram);

    check_backend(&mut r);
    check_context(&mut r);
    check_privacy(&mut r);
    check_daemon(&mut r);
    check_shell(&mut r);
    check_cache(&mut r, &cache, model_size);
    if paths::offline_requested(false) {
        r.line(Status::Ok, "network", "offline mode: not checked");
    } else {
        for (name, url) in models::source_urls() {
            match models::probe(&url, Duration::from_secs(5)) {
                Ok(()) => r.line(Status::Ok, name, &format!("{url} answers")),
                Err(e) => r.line(
                    Status::Warn,
                    name,
                    &format!("{url} cannot be reached ({e}); downloads use the other source, or set HTTPS_PROXY"),
                ),
            }
        }
    }
    if r.failures > 0 {
        crate::outln!(
            "{} problem(s) found; each line above says how to fix it",
            r.failures
        );
        return Ok(exit::FAILURE);
    }
    Ok(exit::OK)
}

/// Which backend answers; for a shared server, whether its address answers.
fn check_backend(r: &mut Report) {
    let b = config::backend();
    if b.value != config::EngineKind::OpenAi {
        r.line(
            Status::Ok,
            "backend",
            &format!("{} (set by {})", b.value, b.source),
        );
        return;
    }
    let server =
        crate::pipeline::reach::openai_engine(&config::openai(), crate::context::Os::current());
    let base = server.settings().base_url.trim_end_matches('/').to_string();
    match models::probe(&format!("{base}/models"), Duration::from_secs(5)) {
        Ok(()) => r.line(
            Status::Ok,
            "backend",
            &format!("openai server at {base} answers (set by {})", b.source),
        ),
        Err(e) => r.line(
            Status::Fail,
            "backend",
            &format!(
                "openai server at {base} cannot be reached ({e}); start it, fix base_url in [openai], or set backend = \"local\""
            ),
        ),
    }
}

/// Whether the model is told what the folder holds, and what leaves the
/// machine when a shared server answers.
fn check_context(r: &mut Report) {
    let backend = config::backend().value;
    let c = config::context(false, backend);
    let text = match (c.value, backend == config::EngineKind::OpenAi) {
        (true, false) => format!(
            "on (set by {}): the model on this machine is told the folder's project kind, git branch and the names of the files a request is about; nothing is stored or sent",
            c.source
        ),
        (true, true) => format!(
            "on (set by {}): file and branch names of the folder a request is asked in are sent to the shared server; `context = \"off\"` stops it",
            c.source
        ),
        (false, _) => format!(
            "off (set by {}): the model is not told what the folder holds",
            c.source
        ),
    };
    r.line(Status::Ok, "context", &text);
}

fn check_config(r: &mut Report) {
    let f = config::FileConfig::read(&config::path());
    if !f.exists {
        r.line(
            Status::Ok,
            "config",
            &format!(
                "{} does not exist; defaults apply (see `cmdai config show`)",
                f.path.display()
            ),
        );
    } else if f.warnings.is_empty() {
        r.line(Status::Ok, "config", &format!("{} read", f.path.display()));
    } else {
        for w in &f.warnings {
            r.line(
                Status::Warn,
                "config",
                &format!("{w}; fix that line (`cmdai config show` shows what is used)"),
            );
        }
    }
}

fn check_catalog_model(r: &mut Report, cache: &Path, spec: &models::ModelSpec, why: &str) {
    let path = models::model_path(cache, spec);
    if !path.is_file() {
        r.line(
            Status::Fail,
            "model",
            &format!(
                "{} ({why}) is not downloaded ({}); run `cmdai model pull {}`",
                spec.id,
                path.display(),
                spec.id
            ),
        );
        return;
    }
    match download::verify(&path, spec) {
        Ok(()) => r.line(
            Status::Ok,
            "model",
            &format!("{} ({}), checksum ok; {why}", spec.id, path.display()),
        ),
        Err(e) => r.line(
            Status::Fail,
            "model",
            &format!("{e}; delete it and run `cmdai model pull {}`", spec.id),
        ),
    }
}

fn check_file_model(r: &mut Report, name: &str, path: &Path, why: &str) {
    match gguf::read(path) {
        Ok(h) => r.line(
            Status::Ok,
            "model",
            &format!(
                "{name} ({}), {} {}, readable GGUF header; {why}",
                path.display(),
                h.architecture().unwrap_or("unknown architecture"),
                h.file_type().unwrap_or_default()
            ),
        ),
        Err(e) => r.line(
            Status::Fail,
            "model",
            &format!(
                "{name} ({}, {why}): {e}; point `model` at a complete .gguf file or run `cmdai model use <id>`",
                path.display()
            ),
        ),
    }
}

fn check_machine(
    r: &mut Report,
    cat: &models::Catalog,
    cache: &Path,
    mem: Option<hardware::Memory>,
    need: Option<(String, u64)>,
) {
    let cores = crate::hardware::physical_cores();
    let threads = config::threads(None);
    let Some(m) = mem else {
        r.line(
            Status::Warn,
            "machine",
            &format!("{cores} physical cores; memory unknown, so every model is taken to fit"),
        );
        return;
    };
    let total = Some(m.total_mb);
    let fitting: Vec<&str> = cat
        .models
        .iter()
        .filter(|s| select::fits(s.ram_mb, total))
        .map(|s| s.id.as_str())
        .collect();
    let mut detail = format!(
        "{cores} physical cores ({} threads, {}), {} MB memory ({} MB available); fitting (at most {}% of memory): {}",
        threads.value,
        threads.source,
        m.total_mb,
        m.available_mb,
        select::MAX_SHARE_PERCENT,
        if fitting.is_empty() { "none".to_string() } else { fitting.join(", ") }
    );
    let installed = |s: &models::ModelSpec| models::model_path(cache, s).is_file();
    let speed = hardware::Speed::here(threads.value);
    let estimates: Vec<String> = cat
        .models
        .iter()
        .filter_map(|s| {
            Some(format!(
                "{} {:.1} s",
                s.id,
                select::request_seconds(s, speed)?
            ))
        })
        .collect();
    detail.push_str(&format!(
        "; memory bandwidth class {}; estimated time of a typical request with {} threads: {}",
        speed.class.label(),
        speed.threads,
        estimates.join(", ")
    ));
    let auto = select::auto_choice(cat, total, speed, &installed);
    detail.push_str(&format!(
        "; automatic choice: {} ({})",
        auto.spec.id, auto.reason
    ));
    match select::recommended(cat, total, speed) {
        Some(rec) if !installed(rec) => detail.push_str(&format!(
            "; the largest model that fits and answers in about {:.0} s per request or less here is {} ({}): `cmdai model pull {}`",
            hardware::QUICK_REQUEST_S,
            rec.id,
            rec.human_size(),
            rec.id
        )),
        Some(_) => {}
        None => detail.push_str(&format!(
            "; no model answers in about {:.0} s per request here: the smallest is quickest",
            hardware::QUICK_REQUEST_S
        )),
    }
    let status = match &need {
        Some((id, ram)) if !hardware::fits(*ram, m) => {
            detail.push_str(&format!(
                "; {id} needs about {ram} MB but only {} MB is available now: close programs or run `cmdai model use {}`",
                m.available_mb,
                fitting.first().copied().unwrap_or("qwen2.5-coder-0.5b-q4_k_m")
            ));
            Status::Warn
        }
        _ => Status::Ok,
    };
    r.line(status, "machine", &detail);
}

/// What cmdai stores (history, memory, cached answers, prompt state, the
/// daemon's socket and log) is the user's alone: no folder of it open to
/// other users (cmdai closes its own on first use; what is left is not
/// this user's to change, or was opened since).
fn check_privacy(r: &mut Report) {
    let dirs = [
        paths::data_dir(),
        paths::cache_dir(),
        crate::daemon::socket_dir(),
    ];
    let open: Vec<String> = dirs
        .iter()
        .flat_map(|d| paths::open_to_others(d))
        .map(|(p, mode)| format!("{} (mode {mode:o})", p.display()))
        .collect();
    let there: Vec<String> = dirs
        .iter()
        .filter(|d| d.exists())
        .map(|d| d.display().to_string())
        .collect();
    if open.is_empty() {
        r.line(
            Status::Ok,
            "privacy",
            &format!(
                "{} private to you (folders 0700, files 0600)",
                if there.is_empty() {
                    "nothing stored yet; what cmdai stores is".to_string()
                } else {
                    there.join(", ")
                }
            ),
        );
    } else {
        r.line(
            Status::Warn,
            "privacy",
            &format!(
                "other users can read or enter {}; run `chmod -R go-rwx` on them (cmdai's own folders are closed on first use, so these are another user's or were opened since)",
                open.join(", ")
            ),
        );
    }
}

fn check_daemon(r: &mut Report) {
    // The same check every client makes before trusting the socket.
    if let Err(client::ClientError::Unsafe(p)) =
        client::check_private(&crate::daemon::socket_path())
    {
        r.line(
            Status::Fail,
            "socket dir",
            &format!("{p} is not private to you; remove it, cmdai recreates it"),
        );
        return;
    }
    match client::connect_existing().and_then(|mut c| c.status()) {
        Ok(i) => r.line(
            Status::Ok,
            "daemon",
            &format!(
                "running, pid {}, model {}, {} requests served",
                i.pid, i.model, i.requests_served
            ),
        ),
        Err(client::ClientError::NotRunning) => r.line(
            Status::Ok,
            "daemon",
            "not running (the next request starts it)",
        ),
        Err(e) => r.line(
            Status::Warn,
            "daemon",
            &format!("{e}; until then every request loads the model itself"),
        ),
    }
}

fn check_shell(r: &mut Report) {
    let home = std::env::var("HOME").unwrap_or_default();
    let rcs = [
        ("zsh", format!("{home}/.zshrc")),
        ("bash", format!("{home}/.bashrc")),
        ("fish", format!("{home}/.config/fish/config.fish")),
    ];
    let loaded: Vec<&str> = rcs
        .iter()
        .filter(|(_, rc)| std::fs::read_to_string(rc).is_ok_and(|t| t.contains("cmdai init")))
        .map(|(s, _)| *s)
        .collect();
    if loaded.is_empty() {
        r.line(
            Status::Warn,
            "shell",
            "no rc file loads cmdai; add `eval \"$(cmdai init zsh)\"` (or bash; fish: `cmdai init fish | source`) for Ctrl-G",
        );
    } else {
        r.line(
            Status::Ok,
            "shell",
            &format!("Ctrl-G integration loaded in {}", loaded.join(", ")),
        );
    }
}

fn check_cache(r: &mut Report, cache: &Path, model_size: u64) {
    if let Err(e) = std::fs::create_dir_all(cache) {
        r.line(
            Status::Fail,
            "cache dir",
            &format!(
                "{}: {e}; set CMDAI_CACHE_DIR to a writable place",
                cache.display()
            ),
        );
        return;
    }
    let probe = cache.join(format!(".doctor-{}", std::process::id()));
    let writable = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    if !writable {
        r.line(
            Status::Fail,
            "cache dir",
            &format!(
                "{} is not writable; fix its permissions or set CMDAI_CACHE_DIR",
                cache.display()
            ),
        );
        return;
    }
    let free = models::free_space(cache).unwrap_or(u64::MAX);
    let detail = format!(
        "{} writable, {:.1} GB free",
        cache.display(),
        free as f64 / 1e9
    );
    if free < model_size.max(1_000_000_000) {
        r.line(
            Status::Warn,
            "cache dir",
            &format!("{detail}; a model download may not fit"),
        );
    } else {
        r.line(Status::Ok, "cache dir", &detail);
    }
}
