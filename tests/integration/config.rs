//! config.toml, `cmdai config`, the hardware-aware model choice and the
//! model subcommands that write or read files (`use`, `info`, `import`),
//! plus `cmdai doctor` on a healthy and a broken setup.

use crate::util::{run, skip, synthetic_gguf, TestDir, MODEL_FILE};
use std::path::PathBuf;

const SMALL: &str = "qwen2.5-coder-0.5b-q4_k_m";
const DEFAULT: &str = "qwen2.5-coder-1.5b-q4_k_m";

fn config_file(t: &TestDir) -> PathBuf {
    t.path("config").join("cmdai").join("config.toml")
}

fn write_config(t: &TestDir, text: &str) {
    let p = config_file(t);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// `config show` as (key → (value, source)) from its JSON.
fn show(t: &TestDir, args: &[&str], env: &[(&str, &str)]) -> (serde_json::Value, String) {
    let mut c = t.cmd();
    c.args(["config", "show", "--format", "json"]).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (serde_json::from_str(&r.stdout).unwrap(), r.stderr)
}

fn setting(v: &serde_json::Value, key: &str) -> (String, String) {
    let s = v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {v}"));
    (
        s["value"].as_str().unwrap().to_string(),
        s["source"].as_str().unwrap().to_string(),
    )
}

/// The real model, or `None` (test skipped) when it is absent outside CI.
fn real_model_or_skip() -> Option<PathBuf> {
    let p = std::env::var_os("CMDAI_TEST_MODEL")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CMDAI_CACHE_DIR")
                .map(PathBuf::from)
                .or_else(|| {
                    directories::ProjectDirs::from("", "", "cmdai")
                        .map(|p| p.cache_dir().to_path_buf())
                })
                .map(|c| c.join("models").join(MODEL_FILE))
        })?;
    if p.is_file() {
        return Some(p);
    }
    skip(
        "a real-model config test",
        &format!(
            "the real model is not at {}; run `cargo run -- model pull` first",
            p.display()
        ),
    );
    None
}

#[test]
fn config_path_is_in_the_config_dir() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.args(["config", "path"]);
    let r = run(c);
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout.trim(), config_file(&t).display().to_string());
    let mut c = t.cmd();
    c.args(["config", "path"])
        .env("CMDAI_CONFIG_DIR", t.path("work"));
    let r = run(c);
    assert_eq!(
        r.stdout.trim(),
        t.path("work").join("config.toml").display().to_string()
    );
}

#[test]
fn precedence_is_flag_then_env_then_file_then_auto() {
    let t = TestDir::new();
    let (v, _) = show(&t, &[], &[]);
    assert_eq!(setting(&v, "threads").1, "auto");
    assert_eq!(setting(&v, "model"), (DEFAULT.into(), "auto".into()));
    assert_eq!(setting(&v, "safety"), ("default".into(), "default".into()));
    assert_eq!(setting(&v, "context_size"), ("0".into(), "auto".into()));

    write_config(
        &t,
        &format!("model = \"{SMALL}\"\nthreads = 3\nsafety = \"strict\"\ncontext_size = 4096\n"),
    );
    let (v, _) = show(&t, &[], &[]);
    assert_eq!(setting(&v, "threads"), ("3".into(), "config-file".into()));
    assert_eq!(setting(&v, "model"), (SMALL.into(), "config-file".into()));
    assert_eq!(
        setting(&v, "safety"),
        ("strict".into(), "config-file".into())
    );
    assert_eq!(
        setting(&v, "context_size"),
        ("4096".into(), "config-file".into())
    );

    let env = [
        ("CMDAI_THREADS", "4"),
        ("CMDAI_MODEL", DEFAULT),
        ("CMDAI_SAFETY", "permissive"),
    ];
    let (v, _) = show(&t, &[], &env);
    assert_eq!(setting(&v, "threads"), ("4".into(), "env".into()));
    assert_eq!(setting(&v, "model"), (DEFAULT.into(), "env".into()));
    assert_eq!(setting(&v, "safety"), ("permissive".into(), "env".into()));

    let (v, _) = show(
        &t,
        &["--threads", "5", "--model", SMALL, "--safety", "default"],
        &env,
    );
    assert_eq!(setting(&v, "threads"), ("5".into(), "flag".into()));
    assert_eq!(setting(&v, "model"), (SMALL.into(), "flag".into()));
    assert_eq!(setting(&v, "safety"), ("default".into(), "flag".into()));
}

#[test]
fn garbage_values_warn_once_and_good_keys_still_apply() {
    let t = TestDir::new();
    write_config(
        &t,
        "threads = \"many\"\nsafety = \"permissive\"\nidle_timeout = \"soon\"\ncolour = 1\n[openai]\nretries = 1\n",
    );
    let (v, stderr) = show(&t, &[], &[]);
    assert_eq!(
        setting(&v, "safety"),
        ("permissive".into(), "config-file".into())
    );
    assert_eq!(setting(&v, "threads").1, "auto");
    assert_eq!(
        setting(&v, "idle_timeout"),
        ("15m".into(), "default".into())
    );
    assert_eq!(
        setting(&v, "openai.retries"),
        ("1".into(), "config-file".into())
    );
    for key in ["`threads`", "`idle_timeout`", "`colour`"] {
        assert_eq!(
            stderr.matches(key).count(),
            1,
            "{key} warned once: {stderr}"
        );
    }
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
    assert!(
        stderr.contains(&config_file(&t).display().to_string()),
        "{stderr}"
    );

    // The main job too: it runs, with one warning per bad key.
    let mut c = t.cmd();
    c.args(["list", "files"])
        .env("CMDAI_BACKEND", "mock")
        .env("CMDAI_MOCK_REPLY", r#"{"cmd": "ls"}"#);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), "ls");
    assert_eq!(r.stderr.matches("`threads`").count(), 1, "{}", r.stderr);

    // Not TOML at all: one warning, defaults, no crash.
    write_config(&t, "model = = [[[\n");
    let (v, stderr) = show(&t, &[], &[]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not valid TOML"), "{stderr}");
    assert_eq!(setting(&v, "model").1, "auto");
}

#[test]
fn bad_env_value_warns_and_falls_back_to_the_file() {
    let t = TestDir::new();
    write_config(&t, "threads = 3\n");
    let (v, stderr) = show(&t, &[], &[("CMDAI_THREADS", "lots")]);
    assert_eq!(setting(&v, "threads"), ("3".into(), "config-file".into()));
    assert!(stderr.contains("CMDAI_THREADS"), "{stderr}");
}

#[test]
fn model_use_writes_the_file_and_the_next_run_uses_it() {
    let t = TestDir::new();
    write_config(&t, "# mine\nthreads = 2\n\n[openai]\nmodel = \"x\"\n");
    let mut c = t.cmd();
    c.args(["model", "use", SMALL]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("not downloaded yet"), "{}", r.stderr);
    let text = std::fs::read_to_string(config_file(&t)).unwrap();
    assert_eq!(
        text,
        format!("# mine\nthreads = 2\nmodel = \"{SMALL}\"\n\n[openai]\nmodel = \"x\"\n")
    );
    let (v, _) = show(&t, &[], &[]);
    assert_eq!(setting(&v, "model"), (SMALL.into(), "config-file".into()));
    // A request now wants that model (not installed, no terminal: says so).
    let mut c = t.cmd();
    c.args(["find", "files"]);
    let r = run(c);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(SMALL) && r.stderr.contains("--yes"),
        "{}",
        r.stderr
    );
}

/// Writes edit the file in place: comments (also the one after the value
/// replaced) and other keys stay; `memory off` writes a boolean the next run
/// reads back.
#[test]
fn writes_keep_comments_and_other_keys() {
    let t = TestDir::new();
    let before =
        "# my settings\nmodel = \"old\" # was this\n\n[openai]\n# the shared box\nmodel = \"x\"\n";
    write_config(&t, before);
    let mut c = t.cmd();
    c.args(["model", "use", SMALL]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut c = t.cmd();
    c.args(["memory", "off"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(config_file(&t)).unwrap();
    assert_eq!(
        text,
        format!(
            "# my settings\nmodel = \"{SMALL}\" # was this\nmemory = false\n\n[openai]\n# the shared box\nmodel = \"x\"\n"
        )
    );
    let (v, stderr) = show(&t, &[], &[]);
    assert_eq!(stderr, "", "a written file reads back without warnings");
    assert_eq!(setting(&v, "model"), (SMALL.into(), "config-file".into()));
}

/// A file that does not parse is never rewritten (that would lose what the
/// user wrote): the write is refused in one sentence naming the file and the
/// parse error, and the file stays byte for byte.
#[test]
fn writes_refuse_a_file_that_does_not_parse() {
    let t = TestDir::new();
    let broken = "# half-edited\nthreads = 4\nmodel = \"unterminated\n[openai\n";
    write_config(&t, broken);
    for args in [&["model", "use", SMALL][..], &["memory", "off"][..]] {
        let mut c = t.cmd();
        c.args(args);
        let r = run(c);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        let file = config_file(&t).display().to_string();
        let refusal: Vec<_> = r
            .stderr
            .lines()
            .filter(|l| l.contains("left as it is"))
            .collect();
        assert_eq!(refusal.len(), 1, "{args:?}: {}", r.stderr);
        assert!(
            refusal[0].contains(&format!("{file} is not valid TOML ("))
                && refusal[0].contains("fix or delete it"),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(std::fs::read_to_string(config_file(&t)).unwrap(), broken);
    }
}

#[test]
fn model_use_refuses_an_unknown_id_and_a_non_gguf_file() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.args(["model", "use", "gpt-17"]);
    let r = run(c);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("no model called `gpt-17`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(DEFAULT) && r.stderr.contains(SMALL),
        "{}",
        r.stderr
    );
    assert!(!config_file(&t).exists());

    let junk = t.path("work").join("notes.gguf");
    std::fs::write(&junk, "just text").unwrap();
    let mut c = t.cmd();
    c.args(["model", "use"]).arg(&junk);
    let r = run(c);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("is not a GGUF model file"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn init_takes_the_key_from_the_config_file() {
    let t = TestDir::new();
    write_config(&t, "key = '\\C-x\\C-g'\n");
    let mut c = t.cmd();
    c.args(["init", "bash"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(r"__cmdai_key='\C-x\C-g'"), "{}", r.stdout);
    let mut c = t.cmd();
    c.args(["init", "bash", "--key", r"\C-t"]);
    let r = run(c);
    assert!(r.stdout.contains(r"__cmdai_key='\C-t'"), "flag wins");
}

#[test]
fn init_takes_the_explain_key_from_the_config_file() {
    let t = TestDir::new();
    write_config(&t, "explain_key = '\\C-x\\C-e'\n");
    let mut c = t.cmd();
    c.args(["init", "bash"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(r"__cmdai_explain_key='\C-x\C-e'"),
        "{}",
        r.stdout
    );
    let mut c = t.cmd();
    c.args(["init", "bash"]).env("CMDAI_EXPLAIN_KEY", r"\C-t");
    let r = run(c);
    assert!(
        r.stdout.contains(r"__cmdai_explain_key='\C-t'"),
        "the environment wins"
    );
    let mut c = t.cmd();
    c.args(["config", "show"]);
    let r = run(c);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("explain_key") && l.contains(r"\C-x\C-e")),
        "{}",
        r.stdout
    );
    // A value that is not a key is one warning and the default.
    write_config(&t, "explain_key = 5\n");
    let mut c = t.cmd();
    c.args(["init", "bash"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("explain_key"), "{}", r.stderr);
    assert!(
        r.stdout.contains(r"__cmdai_explain_key='\ee'"),
        "{}",
        r.stdout
    );
}

#[test]
fn model_info_reads_the_real_models_header() {
    let Some(model) = real_model_or_skip() else {
        return;
    };
    let t = TestDir::new();
    let mut c = t.cmd();
    c.args(["model", "info"]).arg(&model);
    let started = std::time::Instant::now();
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(started.elapsed().as_secs() < 5, "reading a header is quick");
    for want in [
        "architecture    qwen2",
        "context length  32768 tokens",
        "quantisation    Q4_K_M",
        "chat template   yes",
        "tokenizer       gpt2",
        "1.5B",
        "file size       1.1 GB",
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }
}

#[test]
fn import_of_the_real_file_installs_it_under_its_catalogue_id() {
    let Some(model) = real_model_or_skip() else {
        return;
    };
    let t = TestDir::new();
    // A hard link stands for "a copy the person has" without copying 1 GB.
    let mine = t.path("work").join("downloaded.gguf");
    if std::fs::hard_link(&model, &mine).is_err() {
        std::fs::copy(&model, &mine).unwrap();
    }
    let mut c = t.cmd();
    c.args(["model", "import"]).arg(&mine);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(DEFAULT), "{}", r.stdout);
    let installed = t
        .path("cache")
        .join("cmdai")
        .join("models")
        .join(MODEL_FILE);
    assert!(installed.is_file());
    assert!(PathBuf::from(format!("{}.verified", installed.display())).is_file());
    let leftovers: Vec<_> = std::fs::read_dir(installed.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let mut c = t.cmd();
    c.args(["model", "verify", DEFAULT]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("{DEFAULT}: ok")), "{}", r.stdout);
    let mut c = t.cmd();
    c.args(["model", "list", "--installed"]);
    let r = run(c);
    assert!(r.stdout.contains(DEFAULT), "{}", r.stdout);
}

#[test]
fn import_of_an_unknown_file_registers_a_custom_model() {
    let t = TestDir::new();
    let file = t.path("work").join("tiny-llama.gguf");
    synthetic_gguf(&file);
    let mut c = t.cmd();
    c.args(["model", "import"]).arg(&file);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("registered as a custom model"),
        "{}",
        r.stdout
    );
    let text = std::fs::read_to_string(config_file(&t)).unwrap();
    assert!(
        text.contains("[custom_models]") && text.contains("tiny-llama = "),
        "{text}"
    );

    let mut c = t.cmd();
    c.args(["model", "list"]);
    let r = run(c);
    assert!(
        r.stdout.contains("tiny-llama") && r.stdout.contains("custom"),
        "{}",
        r.stdout
    );
    let (v, _) = show(&t, &["--model", "tiny-llama"], &[]);
    assert_eq!(setting(&v, "model"), ("tiny-llama".into(), "flag".into()));
    let mut c = t.cmd();
    c.args(["model", "info", "tiny-llama"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("architecture    llama"), "{}", r.stdout);

    // Not GGUF: refused in one sentence, nothing registered.
    let junk = t.path("work").join("photo.jpg");
    std::fs::write(&junk, [0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]).unwrap();
    let mut c = t.cmd();
    c.args(["model", "import"]).arg(&junk);
    let r = run(c);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not a GGUF model file"),
        "{}",
        r.stderr
    );
    assert!(!std::fs::read_to_string(config_file(&t))
        .unwrap()
        .contains("photo"));
}

#[test]
fn pulling_into_an_unwritable_cache_fails_clearly_and_leaves_nothing() {
    let t = TestDir::new();
    // A cache dir below a plain file cannot be created, even by root.
    let blocker = t.path("work").join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let mut c = t.cmd();
    c.args(["model", "pull", SMALL])
        .env("CMDAI_CACHE_DIR", blocker.join("cache"))
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env("CMDAI_PYPI_URL", "http://127.0.0.1:9");
    let r = run(c);
    assert_ne!(r.code, 0);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("not-a-dir"), "{}", r.stderr);
    assert_eq!(std::fs::read(&blocker).unwrap(), b"");
}

#[test]
fn doctor_on_a_healthy_setup() {
    if real_model_or_skip().is_none() {
        return;
    }
    let t = TestDir::new();
    t.with_real_model();
    std::fs::write(
        t.path("home").join(".bashrc"),
        "eval \"$(cmdai init bash)\"\n",
    )
    .unwrap();
    let mut c = t.cmd();
    c.arg("doctor").env("CMDAI_OFFLINE", "1");
    let r = run(c);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
    for want in [
        "ok    config:",
        "ok    model: qwen2.5-coder-1.5b-q4_k_m",
        "checksum ok",
        "chosen automatically",
        "automatic choice:",
        "ok    shell: Ctrl-G integration loaded in bash",
        "ok    cache dir:",
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }
}

#[test]
fn doctor_on_a_broken_setup_says_how_to_fix_each_problem() {
    let t = TestDir::new();
    // A damaged model file (not the real one: never write through its link).
    let models = t.path("cache").join("cmdai").join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::write(models.join(MODEL_FILE), b"GGUF but far too short").unwrap();
    write_config(&t, "threads = \"all\"\n");
    let mut c = t.cmd();
    c.arg("doctor").env("CMDAI_OFFLINE", "1");
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("FAIL  model:"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("delete it and run `cmdai model pull qwen2.5-coder-1.5b-q4_k_m`"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("warn  config:") && r.stdout.contains("fix that line"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("warn  shell:") && r.stdout.contains("cmdai init"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("problem(s) found"), "{}", r.stdout);

    // An unwritable cache dir is a failure with its fix.
    let blocker = t.path("work").join("file");
    std::fs::write(&blocker, "").unwrap();
    let mut c = t.cmd();
    c.arg("doctor")
        .env("CMDAI_OFFLINE", "1")
        .env("CMDAI_CACHE_DIR", blocker.join("cache"));
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("FAIL  cache dir:") && r.stdout.contains("set CMDAI_CACHE_DIR"),
        "{}",
        r.stdout
    );

    // A shared server that does not answer is a failure with its fix.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    write_config(
        &t,
        &format!("backend = \"openai\"\n[openai]\nbase_url = \"http://127.0.0.1:{port}/v1\"\n"),
    );
    let mut c = t.cmd();
    c.arg("doctor").env("CMDAI_OFFLINE", "1");
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("FAIL  backend: openai server at http://127.0.0.1:")
            && r.stdout.contains("set backend = \"local\""),
        "{}",
        r.stdout
    );
}
