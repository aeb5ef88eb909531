//! The configuration file, `config.toml` in the config dir, and the rule that
//! decides every setting: command-line flag > `CMDAI_*` environment variable >
//! config file > automatic choice (hardware) > built-in default.
//!
//! The file is read key by key, so one bad value costs only that value: it is
//! reported once on stderr (file, key, what is used instead) and the next
//! layer fills in. A file that is not TOML at all is reported once and
//! ignored. Nothing here ever stops cmdai from running.

use crate::safety::SafetyLevel;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// Name of the configuration file inside [`crate::paths::config_dir`].
pub const FILE_NAME: &str = "config.toml";

/// `<config dir>/config.toml`.
pub fn path() -> PathBuf {
    crate::paths::config_dir().join(FILE_NAME)
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Flag,
    Env,
    ConfigFile,
    Auto,
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::ConfigFile => "config file",
            Source::Auto => "auto",
            Source::Default => "default",
        })
    }
}

/// One effective value and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Setting<T> {
    fn new(value: T, source: Source) -> Self {
        Setting { value, source }
    }
}

/// Which engine answers requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// llama.cpp in this process or the resident daemon.
    Local,
    /// An OpenAI-compatible HTTP server ([`OpenAiConfig`]).
    OpenAi,
    /// Canned answers, for tests only (`CMDAI_BACKEND=mock`).
    Mock,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Local => "local",
            BackendKind::OpenAi => "openai",
            BackendKind::Mock => "mock",
        })
    }
}

fn parse_backend(s: &str, allow_mock: bool) -> Option<BackendKind> {
    match s.trim().to_ascii_lowercase().as_str() {
        "local" | "llama" | "llama.cpp" => Some(BackendKind::Local),
        "openai" => Some(BackendKind::OpenAi),
        "mock" if allow_mock => Some(BackendKind::Mock),
        _ => None,
    }
}

/// The `[openai]` table: how to reach an OpenAI-compatible server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenAiConfig {
    /// Base URL up to and including `/v1`.
    pub base_url: String,
    /// Model name sent with each request.
    pub model: String,
    /// Name of the environment variable holding the API key (the key itself
    /// never goes into the file).
    pub api_key_env: String,
    pub timeout_secs: u64,
    /// Extra attempts after a failed request.
    pub retries: u32,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            base_url: "http://127.0.0.1:8080/v1".into(),
            model: "default".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            timeout_secs: 60,
            retries: 2,
        }
    }
}

/// What the config file says; `None` where it says nothing usable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileConfig {
    pub path: PathBuf,
    /// Whether the file exists.
    pub exists: bool,
    pub model: Option<String>,
    pub threads: Option<usize>,
    /// n_ctx; 0 means automatic.
    pub context_size: Option<usize>,
    pub safety: Option<SafetyLevel>,
    pub idle_timeout: Option<String>,
    pub key: Option<String>,
    pub backend: Option<BackendKind>,
    pub quality: Option<crate::quality::Quality>,
    pub memory: Option<bool>,
    pub openai: OpenAiConfig,
    /// Which `[openai]` keys the file set.
    pub openai_set: Vec<&'static str>,
    /// `[custom_models]`: name → .gguf path, added by `cmdai model import`.
    pub custom_models: BTreeMap<String, PathBuf>,
    /// One sentence per problem, each naming the file, the key and the fallback.
    pub warnings: Vec<String>,
}

/// Top-level keys the file may hold.
pub const KEYS: &[&str] = &[
    "model",
    "threads",
    "context_size",
    "safety",
    "idle_timeout",
    "key",
    "backend",
    "quality",
    "memory",
    "openai",
    "custom_models",
];

impl FileConfig {
    /// Reads the file at `path`; a missing file is an empty config.
    pub fn read(path: &Path) -> FileConfig {
        match std::fs::read_to_string(path) {
            Ok(text) => FileConfig::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileConfig {
                path: path.to_path_buf(),
                ..FileConfig::default()
            },
            Err(e) => FileConfig {
                path: path.to_path_buf(),
                exists: true,
                warnings: vec![format!(
                    "{} could not be read ({e}); using the defaults instead",
                    path.display()
                )],
                ..FileConfig::default()
            },
        }
    }

    /// Parses the text of a config file, key by key.
    pub fn parse(text: &str, path: &Path) -> FileConfig {
        let mut c = FileConfig {
            path: path.to_path_buf(),
            exists: true,
            ..FileConfig::default()
        };
        let file = path.display().to_string();
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => {
                let why = e.message().trim().to_string();
                c.warnings.push(format!(
                    "{file} is not valid TOML ({why}); using the defaults instead, fix or delete the file"
                ));
                return c;
            }
        };
        let mut w = Vec::new();
        let mut warn = |key: &str, what: &str, instead: &str| {
            let instead = match instead {
                "nothing" => "ignoring it instead".to_string(),
                other => format!("using {other} instead"),
            };
            w.push(format!("{file}: `{key}` {what}; {instead}"));
        };
        for (key, value) in &table {
            match key.as_str() {
                "model" => match value.as_str().map(str::trim) {
                    Some(s) if !s.is_empty() => c.model = Some(s.to_string()),
                    _ => warn(
                        key,
                        "must be a catalogue id or a path to a .gguf file, in quotes",
                        "the automatic choice",
                    ),
                },
                "threads" => match value.as_integer() {
                    Some(n) if (0..=1024).contains(&n) => {
                        c.threads = (n > 0).then_some(n as usize);
                    }
                    _ => warn(
                        key,
                        "must be a whole number of threads (0 = automatic)",
                        "the physical cores",
                    ),
                },
                "context_size" => match value.as_integer() {
                    Some(n) if (0..=1 << 20).contains(&n) => c.context_size = Some(n as usize),
                    _ => warn(
                        key,
                        "must be a number of tokens (0 = automatic)",
                        "automatic sizing",
                    ),
                },
                "quality" => match value.as_str().and_then(|s| s.parse().ok()) {
                    Some(q) => c.quality = Some(q),
                    None => warn(
                        key,
                        "must be \"fast\", \"balanced\" or \"best\"",
                        "\"balanced\"",
                    ),
                },
                "memory" => match value.as_bool() {
                    Some(b) => c.memory = Some(b),
                    None => warn(key, "must be true or false", "true"),
                },
                "safety" => match value.as_str().and_then(|s| s.parse().ok()) {
                    Some(l) => c.safety = Some(l),
                    None => warn(
                        key,
                        "must be \"strict\", \"default\" or \"permissive\"",
                        "\"default\"",
                    ),
                },
                "idle_timeout" => {
                    let text = match value {
                        toml::Value::String(s) => Some(s.clone()),
                        toml::Value::Integer(n) if *n >= 0 => Some(n.to_string()),
                        _ => None,
                    };
                    match text.filter(|t| crate::duration::parse(t).is_some()) {
                        Some(t) => c.idle_timeout = Some(t),
                        None => warn(
                            key,
                            "must be a duration such as \"90s\", \"15m\" or \"1h\"",
                            "\"15m\"",
                        ),
                    }
                }
                "key" => match value
                    .as_str()
                    .filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
                {
                    Some(s) => c.key = Some(s.to_string()),
                    None => warn(
                        key,
                        "must be a key in the shell's notation, e.g. \"^G\"",
                        "Ctrl-G",
                    ),
                },
                "backend" => match value.as_str().and_then(|s| parse_backend(s, false)) {
                    Some(b) => c.backend = Some(b),
                    None => warn(key, "must be \"local\" or \"openai\"", "\"local\""),
                },
                "openai" => match value.as_table() {
                    Some(t) => c.parse_openai(t, &file),
                    None => warn(key, "must be a table ([openai])", "the [openai] defaults"),
                },
                "custom_models" => match value.as_table() {
                    Some(t) => {
                        for (name, p) in t {
                            match p.as_str().filter(|s| !s.is_empty()) {
                                Some(s) => {
                                    c.custom_models.insert(name.clone(), PathBuf::from(s));
                                }
                                None => warn(
                                    &format!("custom_models.{name}"),
                                    "must be a path to a .gguf file, in quotes",
                                    "nothing",
                                ),
                            }
                        }
                    }
                    None => warn(
                        key,
                        "must be a table of name = \"path.gguf\"",
                        "no custom models",
                    ),
                },
                _ => warn(
                    key,
                    &format!("is not a known key (known: {})", KEYS.join(", ")),
                    "nothing",
                ),
            }
        }
        w.append(&mut c.warnings);
        c.warnings = w;
        c
    }

    fn parse_openai(&mut self, t: &toml::Table, file: &str) {
        let d = OpenAiConfig::default();
        for (key, value) in t {
            let mut bad = |what: &str, instead: String| {
                self.warnings.push(format!(
                    "{file}: `openai.{key}` {what}; using {instead} instead"
                ));
            };
            let name: &'static str = match key.as_str() {
                "base_url" => "base_url",
                "model" => "model",
                "api_key_env" => "api_key_env",
                "timeout_secs" => "timeout_secs",
                "retries" => "retries",
                _ => {
                    self.warnings.push(format!(
                        "{file}: `openai.{key}` is not a known key (base_url, model, api_key_env, timeout_secs, retries); ignoring it instead"
                    ));
                    continue;
                }
            };
            let ok = match name {
                "base_url" => match value.as_str() {
                    Some(s) if s.starts_with("http://") || s.starts_with("https://") => {
                        self.openai.base_url = s.trim_end_matches('/').to_string();
                        true
                    }
                    _ => {
                        bad(
                            "must be an http:// or https:// URL",
                            format!("{:?}", d.base_url),
                        );
                        false
                    }
                },
                "model" => match value.as_str().filter(|s| !s.is_empty()) {
                    Some(s) => {
                        self.openai.model = s.to_string();
                        true
                    }
                    None => {
                        bad("must be a model name in quotes", format!("{:?}", d.model));
                        false
                    }
                },
                "api_key_env" => match value.as_str().filter(|s| {
                    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                }) {
                    Some(s) => {
                        self.openai.api_key_env = s.to_string();
                        true
                    }
                    None => {
                        bad(
                            "must be the name of an environment variable (the key itself never goes in this file)",
                            format!("{:?}", d.api_key_env),
                        );
                        false
                    }
                },
                "timeout_secs" => match value.as_integer() {
                    Some(n) if (1..=3600).contains(&n) => {
                        self.openai.timeout_secs = n as u64;
                        true
                    }
                    _ => {
                        bad(
                            "must be a number of seconds from 1 to 3600",
                            d.timeout_secs.to_string(),
                        );
                        false
                    }
                },
                _ => match value.as_integer() {
                    Some(n) if (0..=10).contains(&n) => {
                        self.openai.retries = n as u32;
                        true
                    }
                    _ => {
                        bad("must be a number from 0 to 10", d.retries.to_string());
                        false
                    }
                },
            };
            if ok {
                self.openai_set.push(name);
            }
        }
    }
}

/// Prints `message` as a warning, once per process.
pub fn warn_once(message: &str) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen
        .get_or_insert_with(HashSet::new)
        .insert(message.to_string())
    {
        eprintln!("cmdai: warning: {message}");
    }
}

/// The config file of this process, read once; its warnings are printed the
/// first time it is asked for.
pub fn file() -> &'static FileConfig {
    static FILE: OnceLock<FileConfig> = OnceLock::new();
    FILE.get_or_init(|| {
        let c = FileConfig::read(&path());
        for w in &c.warnings {
            warn_once(w);
        }
        c
    })
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Flag, else a valid `env` value (an invalid one is warned about), else the
/// file's value.
fn layered<T>(
    flag: Option<T>,
    env_name: &str,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
    file: Option<T>,
) -> Option<Setting<T>> {
    if let Some(v) = flag {
        return Some(Setting::new(v, Source::Flag));
    }
    if let Some(raw) = env(env_name) {
        match parse(&raw) {
            Some(v) => return Some(Setting::new(v, Source::Env)),
            None => warn_once(&format!(
                "{env_name}={raw:?} is not {what}; ignoring it, the next setting (config file or automatic) is used instead"
            )),
        }
    }
    file.map(|v| Setting::new(v, Source::ConfigFile))
}

/// The model named by flag, `CMDAI_MODEL` or the file; `None` means choose
/// automatically.
pub fn model(flag: Option<&str>) -> Option<Setting<String>> {
    layered(
        flag.map(str::to_owned),
        "CMDAI_MODEL",
        |s| Some(s.trim().to_string()),
        "a model",
        file().model.clone(),
    )
}

/// Inference threads; automatic: the physical cores.
pub fn threads(flag: Option<usize>) -> Setting<usize> {
    layered(
        flag.filter(|&n| n > 0),
        "CMDAI_THREADS",
        |s| s.trim().parse().ok().filter(|&n: &usize| n > 0),
        "a number of threads",
        file().threads,
    )
    .unwrap_or_else(|| Setting::new(crate::hardware::physical_cores(), Source::Auto))
}

/// The context window (n_ctx) asked for; 0 means automatic sizing.
pub fn context_size(flag: Option<usize>) -> Setting<usize> {
    layered(
        flag,
        "CMDAI_CONTEXT_SIZE",
        |s| s.trim().parse().ok(),
        "a number of tokens",
        file().context_size,
    )
    .unwrap_or_else(|| Setting::new(0, Source::Auto))
}

/// The safety level; a bad flag value is warned about and skipped.
pub fn safety(flag: Option<&str>) -> Setting<SafetyLevel> {
    let flag = flag.and_then(|v| match v.parse() {
        Ok(l) => Some(l),
        Err(_) => {
            warn_once(&format!(
                "unknown safety level `{v}` (use strict, default or permissive); using the next setting instead"
            ));
            None
        }
    });
    layered(
        flag,
        "CMDAI_SAFETY",
        |s| s.parse().ok(),
        "a safety level (strict, default or permissive)",
        file().safety,
    )
    .unwrap_or_else(|| Setting::new(SafetyLevel::Default, Source::Default))
}

/// How much work the model does per request ([`crate::quality`]); a bad
/// flag value is warned about and skipped.
pub fn quality(flag: Option<&str>) -> Setting<crate::quality::Quality> {
    let flag = flag.and_then(|v| match v.parse() {
        Ok(q) => Some(q),
        Err(e) => {
            warn_once(&format!("{e}; using the next setting instead"));
            None
        }
    });
    layered(
        flag,
        "CMDAI_QUALITY",
        |s| s.parse().ok(),
        "a quality (fast, balanced or best)",
        file().quality,
    )
    .unwrap_or_else(|| Setting::new(crate::quality::Quality::default(), Source::Default))
}

/// Whether cmdai remembers what the user ran and keeps history
/// ([`crate::memory`]): `CMDAI_MEMORY`, else `memory` in the file, else on.
pub fn memory() -> Setting<bool> {
    layered(
        None,
        "CMDAI_MEMORY",
        |s| match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "on" | "yes" => Some(true),
            "0" | "false" | "off" | "no" => Some(false),
            _ => None,
        },
        "on or off",
        file().memory,
    )
    .unwrap_or_else(|| Setting::new(true, Source::Default))
}

/// How long the daemon waits for requests before exiting.
pub fn idle_timeout(flag: Option<&str>) -> Setting<String> {
    layered(
        flag.map(str::to_owned),
        "CMDAI_IDLE_TIMEOUT",
        |s| crate::duration::parse(s).map(|_| s.trim().to_string()),
        "a duration (e.g. 90s, 15m, 1h)",
        file().idle_timeout.clone(),
    )
    .unwrap_or_else(|| Setting::new("15m".into(), Source::Default))
}

/// The widget key; `None` means the shell's Ctrl-G.
pub fn key(flag: Option<&str>) -> Setting<Option<String>> {
    layered(
        flag.map(str::to_owned),
        "CMDAI_KEY",
        |s| Some(s.to_string()),
        "a key",
        file().key.clone(),
    )
    .map_or_else(
        || Setting::new(None, Source::Default),
        |s| Setting::new(Some(s.value), s.source),
    )
}

/// The backend: `CMDAI_BACKEND` (also `mock`, for tests), the file, else local.
pub fn backend() -> Setting<BackendKind> {
    layered(
        None,
        "CMDAI_BACKEND",
        |s| parse_backend(s, true),
        "a backend (local or openai)",
        file().backend,
    )
    .unwrap_or_else(|| Setting::new(BackendKind::Local, Source::Default))
}

/// Sets `key = value` in the TOML text `text`, at the top level or in
/// `[table]`, keeping every other line (comments included) as it is.
pub fn set_key(text: &str, table: Option<&str>, key: &str, value: &str) -> String {
    let line = format!("{} = {}", bare_or_quoted(key), toml_string(value));
    let lines: Vec<&str> = text.lines().collect();
    let header = |l: &str| {
        let t = l.trim();
        (t.starts_with('[')).then(|| t.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    };
    let key_of = |l: &str| {
        let t = l.trim();
        if t.starts_with('#') || t.starts_with('[') {
            return None;
        }
        t.split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_string())
    };
    let (start, found) = match table {
        None => (0, true),
        Some(t) => match lines.iter().position(|l| header(l).as_deref() == Some(t)) {
            Some(i) => (i + 1, true),
            None => (lines.len(), false),
        },
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    if !found {
        if out.last().is_some_and(|l| !l.trim().is_empty()) {
            out.push(String::new());
        }
        out.push(format!("[{}]", table.unwrap_or_default()));
        out.push(line);
    } else {
        let end = (start..lines.len())
            .find(|&i| header(lines[i]).is_some())
            .unwrap_or(lines.len());
        match (start..end).find(|&i| key_of(lines[i]).as_deref() == Some(key)) {
            Some(i) => out[i] = line,
            None => {
                // After the section's last non-blank line.
                let mut at = end;
                while at > start && lines[at - 1].trim().is_empty() {
                    at -= 1;
                }
                out.insert(at, line);
            }
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

fn bare_or_quoted(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        toml_string(key)
    }
}

/// A TOML basic string holding `s`.
pub fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Writes `key = value` into the config file (creating it and its dir),
/// atomically, keeping everything else in it.
pub fn write_key(table: Option<&str>, key: &str, value: &str) -> std::io::Result<PathBuf> {
    let path = path();
    let old = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut new = set_key(&old, table, key, value);
    let parsed_ok = toml::from_str::<toml::Table>(&new).ok().is_some_and(|t| {
        let slot = match table {
            None => Some(&t),
            Some(name) => t.get(name).and_then(|v| v.as_table()),
        };
        slot.and_then(|s| s.get(key)).and_then(|v| v.as_str()) == Some(value)
    });
    if !parsed_ok {
        // The file was not TOML we could edit line by line: rewrite it whole.
        let mut t: toml::Table = toml::from_str(&old).unwrap_or_default();
        let slot = match table {
            None => &mut t,
            Some(name) => {
                let e = t
                    .entry(name.to_string())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if !e.is_table() {
                    *e = toml::Value::Table(toml::Table::new());
                }
                e.as_table_mut().expect("a table")
            }
        };
        slot.insert(key.to_string(), toml::Value::String(value.to_string()));
        new = toml::to_string(&t).map_err(std::io::Error::other)?;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, new)?;
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> FileConfig {
        FileConfig::parse(text, Path::new("/c/config.toml"))
    }

    #[test]
    fn every_key_is_read() {
        let c = parse(
            r#"
model = "qwen2.5-coder-3b-q4_k_m"
threads = 6
context_size = 4096
safety = "strict"
idle_timeout = "1h"
key = "^X"
backend = "openai"
[openai]
base_url = "https://example.com/v1/"
model = "gpt-x"
api_key_env = "MY_KEY"
timeout_secs = 5
retries = 0
[custom_models]
mine = "/m/mine.gguf"
"#,
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.model.as_deref(), Some("qwen2.5-coder-3b-q4_k_m"));
        assert_eq!(c.threads, Some(6));
        assert_eq!(c.context_size, Some(4096));
        assert_eq!(c.safety, Some(SafetyLevel::Strict));
        assert_eq!(c.idle_timeout.as_deref(), Some("1h"));
        assert_eq!(c.key.as_deref(), Some("^X"));
        assert_eq!(c.backend, Some(BackendKind::OpenAi));
        assert_eq!(
            c.openai,
            OpenAiConfig {
                base_url: "https://example.com/v1".into(),
                model: "gpt-x".into(),
                api_key_env: "MY_KEY".into(),
                timeout_secs: 5,
                retries: 0,
            }
        );
        assert_eq!(c.custom_models["mine"], PathBuf::from("/m/mine.gguf"));
    }

    #[test]
    fn bad_values_warn_and_keep_the_good_ones() {
        let c = parse(
            r#"
model = "qwen2.5-coder-0.5b-q4_k_m"
threads = "many"
safety = "paranoid"
idle_timeout = "soon"
backend = "mock"
colour = true
[openai]
timeout_secs = -1
model = "m"
"#,
        );
        assert_eq!(c.model.as_deref(), Some("qwen2.5-coder-0.5b-q4_k_m"));
        assert_eq!(c.threads, None);
        assert_eq!(c.safety, None);
        assert_eq!(c.idle_timeout, None);
        assert_eq!(c.backend, None, "mock is for CMDAI_BACKEND only");
        assert_eq!(c.openai.timeout_secs, 60);
        assert_eq!(c.openai.model, "m");
        assert_eq!(c.warnings.len(), 6, "{:#?}", c.warnings);
        for key in [
            "`threads`",
            "`safety`",
            "`idle_timeout`",
            "`backend`",
            "`colour`",
            "`openai.timeout_secs`",
        ] {
            let w = c.warnings.iter().find(|w| w.contains(key)).expect(key);
            assert!(w.starts_with("/c/config.toml: "), "{w}");
            assert!(w.contains("instead"), "{w}");
        }
    }

    #[test]
    fn not_toml_is_one_warning_and_defaults() {
        let c = parse("model = = \"x\"\n[[[");
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].contains("not valid TOML"),
            "{}",
            c.warnings[0]
        );
        assert_eq!(c.model, None);
        assert_eq!(c.openai, OpenAiConfig::default());
    }

    #[test]
    fn openai_defaults() {
        let d = OpenAiConfig::default();
        assert_eq!(d.base_url, "http://127.0.0.1:8080/v1");
        assert_eq!(d.model, "default");
        assert_eq!(d.api_key_env, "OPENAI_API_KEY");
        assert_eq!((d.timeout_secs, d.retries), (60, 2));
    }

    #[test]
    fn set_key_keeps_comments_and_other_keys() {
        let text =
            "# my settings\nthreads = 4 # fast\nmodel = \"old\"\n\n[openai]\nmodel = \"keep\"\n";
        let out = set_key(text, None, "model", "new");
        assert_eq!(
            out,
            "# my settings\nthreads = 4 # fast\nmodel = \"new\"\n\n[openai]\nmodel = \"keep\"\n"
        );
        let out = set_key("threads = 4\n\n[openai]\nretries = 1\n", None, "model", "m");
        assert_eq!(out, "threads = 4\nmodel = \"m\"\n\n[openai]\nretries = 1\n");
        let quoted: toml::Table = toml::from_str(&set_key("", None, "model", "a\"b")).unwrap();
        assert_eq!(quoted["model"].as_str(), Some("a\"b"));
        let out = set_key(
            "model = \"m\"\n",
            Some("custom_models"),
            "my.model",
            "/x.gguf",
        );
        assert_eq!(
            out,
            "model = \"m\"\n\n[custom_models]\n\"my.model\" = \"/x.gguf\"\n"
        );
        let out = set_key(&out, Some("custom_models"), "other", "/y.gguf");
        let t: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(t["custom_models"]["other"].as_str(), Some("/y.gguf"));
        assert_eq!(t["custom_models"]["my.model"].as_str(), Some("/x.gguf"));
        assert_eq!(t["model"].as_str(), Some("m"));
    }
}
