//! The configuration file, `config.toml` in the config dir, and the rule that
//! decides every setting: command-line flag > `CMDAI_*` environment variable >
//! config file > automatic choice (hardware) > built-in default.
//!
//! Serde reads the file into a struct whose every key is optional
//! (`#[serde(default)]`) and checked by its type, so one bad value costs only
//! that value: it is reported once on stderr (file, key, what is used
//! instead) and the next layer fills in; an unknown key is reported the same
//! way. A file that is not TOML at all is reported once and ignored. Nothing
//! here ever stops cmdai from running. Writes (`model use`, `memory on|off`,
//! `model import`) edit the file with toml_edit, keeping comments and layout,
//! and refuse a file they cannot parse rather than rewrite it.

use crate::safety::SafetyLevel;
use serde::{Deserialize, Deserializer, Serialize};
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
    /// Canned answers, for tests only (`CMDAI_BACKEND=mock`, cargo feature `mock`).
    #[cfg(feature = "mock")]
    Mock,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Local => "local",
            BackendKind::OpenAi => "openai",
            #[cfg(feature = "mock")]
            BackendKind::Mock => "mock",
        })
    }
}

fn parse_backend(s: &str, allow_mock: bool) -> Option<BackendKind> {
    #[cfg(not(feature = "mock"))]
    let _ = allow_mock;
    match s.trim().to_ascii_lowercase().as_str() {
        "local" | "llama" | "llama.cpp" => Some(BackendKind::Local),
        "openai" => Some(BackendKind::OpenAi),
        #[cfg(feature = "mock")]
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
    /// The widget's explain key (Alt-E when unset).
    pub explain_key: Option<String>,
    pub backend: Option<BackendKind>,
    pub quality: Option<crate::quality::Quality>,
    pub memory: Option<bool>,
    /// Whether the model is told what the folder holds ([`crate::folder`]).
    pub context: Option<bool>,
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
    "explain_key",
    "backend",
    "quality",
    "memory",
    "context",
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

    /// Parses the text of a config file: serde reads it into [`RawFile`],
    /// where every key is a [`Field`], so one bad value is one warning and the
    /// rest of the file still counts.
    pub fn parse(text: &str, path: &Path) -> FileConfig {
        let mut c = FileConfig {
            path: path.to_path_buf(),
            exists: true,
            ..FileConfig::default()
        };
        let file = path.display().to_string();
        let raw: RawFile = match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let why = e.message().trim().to_string();
                c.warnings.push(format!(
                    "{file} is not valid TOML ({why}); using the defaults instead, fix or delete the file"
                ));
                return c;
            }
        };
        let mut w = Warnings {
            file: &file,
            list: Vec::new(),
        };
        c.model = w.take(
            raw.model,
            "model",
            "must be a catalogue id or a path to a .gguf file, in quotes",
            "the automatic choice",
        );
        c.threads = w
            .take(
                raw.threads,
                "threads",
                "must be a whole number of threads (0 = automatic)",
                "the physical cores",
            )
            .and_then(|n| (n > 0).then_some(n));
        c.context_size = w.take(
            raw.context_size,
            "context_size",
            "must be a number of tokens (0 = automatic)",
            "automatic sizing",
        );
        c.safety = w.take(
            raw.safety,
            "safety",
            "must be \"strict\", \"default\" or \"permissive\"",
            "\"default\"",
        );
        c.idle_timeout = w.take(
            raw.idle_timeout,
            "idle_timeout",
            "must be a duration such as \"90s\", \"15m\" or \"1h\"",
            "\"15m\"",
        );
        c.key = w.take(
            raw.key,
            "key",
            "must be a key in the shell's notation, e.g. \"^G\"",
            "Ctrl-G",
        );
        c.explain_key = w.take(
            raw.explain_key,
            "explain_key",
            "must be a key in the shell's notation, e.g. \"^[e\"",
            "Alt-E",
        );
        c.backend = w.take(
            raw.backend,
            "backend",
            "must be \"local\" or \"openai\"",
            "\"local\"",
        );
        c.quality = w.take(
            raw.quality,
            "quality",
            "must be \"fast\", \"balanced\" or \"best\"",
            "\"balanced\"",
        );
        c.memory = w.take(raw.memory, "memory", "must be true or false", "true");
        c.context = w.take(
            raw.context,
            "context",
            "must be \"on\" or \"off\"",
            "the default (on for the local model, off for a shared server)",
        );
        if let Some(o) = w.take(
            raw.openai,
            "openai",
            "must be a table ([openai])",
            "the [openai] defaults",
        ) {
            c.read_openai(o, &mut w);
        }
        let models: Option<BTreeMap<_, _>> = w.take(
            raw.custom_models,
            "custom_models",
            "must be a table of name = \"path.gguf\"",
            "no custom models",
        );
        for (name, p) in models.unwrap_or_default() {
            let key = format!("custom_models.{name}");
            let what = "must be a path to a .gguf file, in quotes";
            if let Some(p) = w.take::<_, String>(p, &key, what, "nothing") {
                c.custom_models.insert(name, PathBuf::from(p));
            }
        }
        for key in raw.unknown.keys() {
            let what = format!("is not a known key (known: {})", KEYS.join(", "));
            w.warn(key, &what, "nothing");
        }
        c.warnings = w.list;
        c
    }

    fn read_openai(&mut self, o: RawOpenAi, w: &mut Warnings) {
        let d = OpenAiConfig::default();
        let o_ = &mut self.openai;
        let mut set = Vec::new();
        let what = "must be an http:// or https:// URL";
        let fallback = format!("{:?}", d.base_url);
        if let Some(v) = w.take(o.base_url, "openai.base_url", what, &fallback) {
            o_.base_url = v;
            set.push("base_url");
        }
        let what = "must be a model name in quotes";
        if let Some(v) = w.take(o.model, "openai.model", what, &format!("{:?}", d.model)) {
            o_.model = v;
            set.push("model");
        }
        let what =
            "must be the name of an environment variable (the key itself never goes in this file)";
        let fallback = format!("{:?}", d.api_key_env);
        if let Some(v) = w.take(o.api_key_env, "openai.api_key_env", what, &fallback) {
            o_.api_key_env = v;
            set.push("api_key_env");
        }
        let what = "must be a number of seconds from 1 to 3600";
        let fallback = d.timeout_secs.to_string();
        if let Some(v) = w.take(o.timeout_secs, "openai.timeout_secs", what, &fallback) {
            o_.timeout_secs = v;
            set.push("timeout_secs");
        }
        let what = "must be a number from 0 to 10";
        let fallback = d.retries.to_string();
        if let Some(v) = w.take(o.retries, "openai.retries", what, &fallback) {
            o_.retries = v;
            set.push("retries");
        }
        self.openai_set = set;
        for key in o.unknown.keys() {
            w.warn(
                &format!("openai.{key}"),
                "is not a known key (base_url, model, api_key_env, timeout_secs, retries)",
                "nothing",
            );
        }
    }
}

/// The warnings of one file, one sentence per bad key: the file, the key,
/// what is wrong and what is used instead.
struct Warnings<'a> {
    file: &'a str,
    list: Vec<String>,
}

impl Warnings<'_> {
    fn warn(&mut self, key: &str, what: &str, instead: &str) {
        let instead = match instead {
            "nothing" => "ignoring it instead".to_string(),
            other => format!("using {other} instead"),
        };
        self.list
            .push(format!("{}: `{key}` {what}; {instead}", self.file));
    }

    /// The field's value; a bad one is warned about and gives `None`.
    fn take<T, U: From<T>>(
        &mut self,
        field: Field<T>,
        key: &str,
        what: &str,
        instead: &str,
    ) -> Option<U> {
        match field {
            Field::Absent => None,
            Field::Good(v) => Some(U::from(v)),
            Field::Bad => {
                self.warn(key, what, instead);
                None
            }
        }
    }
}

/// One key as the file gives it. Serde fills it from any TOML value: one
/// that `T` accepts is `Good`, any other is `Bad` (warned about, the next
/// layer used), so a bad value never makes the whole file unreadable.
#[derive(Debug, Default)]
enum Field<T> {
    #[default]
    Absent,
    Good(T),
    Bad,
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = toml::Value::deserialize(d)?;
        Ok(raw.try_into().map_or(Field::Bad, Field::Good))
    }
}

/// The file as serde reads it: every key optional (`#[serde(default)]`),
/// each value checked by its type, unknown keys kept to be warned about.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawFile {
    model: Field<Text>,
    threads: Field<Int<0, 1024>>,
    context_size: Field<Int<0, { 1 << 20 }>>,
    safety: Field<Named<SafetyLevel>>,
    idle_timeout: Field<Duration>,
    key: Field<KeyText>,
    explain_key: Field<KeyText>,
    backend: Field<FileBackend>,
    quality: Field<Named<crate::quality::Quality>>,
    memory: Field<bool>,
    context: Field<OnOff>,
    openai: Field<RawOpenAi>,
    custom_models: Field<BTreeMap<String, Field<Text>>>,
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

/// The `[openai]` table as serde reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawOpenAi {
    base_url: Field<HttpUrl>,
    model: Field<Text>,
    api_key_env: Field<EnvName>,
    timeout_secs: Field<Int<1, 3600>>,
    retries: Field<Int<0, 10>>,
    #[serde(flatten)]
    unknown: BTreeMap<String, toml::Value>,
}

/// A whole number from `MIN` to `MAX`.
#[derive(Debug)]
struct Int<const MIN: i64, const MAX: i64>(i64);

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        if (MIN..=MAX).contains(&n) {
            Ok(Int(n))
        } else {
            Err(serde::de::Error::custom(format!(
                "{n} is not in {MIN}..={MAX}"
            )))
        }
    }
}

impl<const MIN: i64, const MAX: i64> From<Int<MIN, MAX>> for usize {
    fn from(n: Int<MIN, MAX>) -> usize {
        // MIN >= 0 for every use here.
        n.0 as usize
    }
}

impl<const MIN: i64, const MAX: i64> From<Int<MIN, MAX>> for u64 {
    fn from(n: Int<MIN, MAX>) -> u64 {
        n.0 as u64
    }
}

impl<const MIN: i64, const MAX: i64> From<Int<MIN, MAX>> for u32 {
    fn from(n: Int<MIN, MAX>) -> u32 {
        n.0 as u32
    }
}

/// A value named by a string that `T::from_str` accepts.
#[derive(Debug)]
struct Named<T>(T);

impl<'de, T: std::str::FromStr> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(Named)
            .map_err(|_| serde::de::Error::custom(format!("unknown name {s:?}")))
    }
}

impl From<Named<SafetyLevel>> for SafetyLevel {
    fn from(n: Named<SafetyLevel>) -> Self {
        n.0
    }
}

impl From<Named<crate::quality::Quality>> for crate::quality::Quality {
    fn from(n: Named<crate::quality::Quality>) -> Self {
        n.0
    }
}

/// A string type that holds only what its check accepts.
macro_rules! checked_text {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        struct $name(String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let check: fn(String) -> Option<String> = $check;
                let s = String::deserialize(d)?;
                check(s).map($name).ok_or_else(|| {
                    serde::de::Error::custom(concat!("not a valid ", stringify!($name)))
                })
            }
        }

        impl From<$name> for String {
            fn from(t: $name) -> String {
                t.0
            }
        }
    };
}

checked_text!(
    /// Non-blank text, trimmed.
    Text,
    |s| Some(s.trim().to_string()).filter(|t| !t.is_empty())
);
checked_text!(
    /// A widget key in the shell's notation: no control characters.
    KeyText,
    |s| Some(s).filter(|s| !s.is_empty() && !s.chars().any(char::is_control))
);
checked_text!(
    /// An http(s) URL, without a trailing `/`.
    HttpUrl,
    |s| {
        (s.starts_with("http://") || s.starts_with("https://"))
            .then(|| s.trim_end_matches('/').to_string())
    }
);
checked_text!(
    /// The name of an environment variable.
    EnvName,
    |s| Some(s).filter(|s| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
);

/// A duration the daemon understands: a string ("15m") or whole seconds.
#[derive(Debug)]
struct Duration(String);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match toml::Value::deserialize(d)? {
            toml::Value::String(s) => Some(s),
            toml::Value::Integer(n) if n >= 0 => Some(n.to_string()),
            _ => None,
        };
        text.filter(|t| crate::duration::parse(t).is_some())
            .map(Duration)
            .ok_or_else(|| serde::de::Error::custom("not a duration"))
    }
}

impl From<Duration> for String {
    fn from(d: Duration) -> String {
        d.0
    }
}

/// A switch: `"on"`/`"off"` (also `true`/`false`, `"yes"`/`"no"`, `1`/`0`).
#[derive(Debug)]
struct OnOff(bool);

/// Reads a switch's text: `1/true/yes/on` or `0/false/no/off`.
pub fn parse_switch(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for OnOff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(d)? {
            toml::Value::Boolean(b) => Some(b),
            toml::Value::String(s) => parse_switch(&s),
            toml::Value::Integer(n @ (0 | 1)) => Some(n == 1),
            _ => None,
        }
        .map(OnOff)
        .ok_or_else(|| serde::de::Error::custom("not on or off"))
    }
}

impl From<OnOff> for bool {
    fn from(b: OnOff) -> bool {
        b.0
    }
}

/// A backend the file may choose (`mock` is for `CMDAI_BACKEND` only).
#[derive(Debug)]
struct FileBackend(BackendKind);

impl<'de> Deserialize<'de> for FileBackend {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_backend(&s, false)
            .map(FileBackend)
            .ok_or_else(|| serde::de::Error::custom("not a backend"))
    }
}

impl From<FileBackend> for BackendKind {
    fn from(b: FileBackend) -> Self {
        b.0
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
        parse_switch,
        "on or off",
        file().memory,
    )
    .unwrap_or_else(|| Setting::new(true, Source::Default))
}

/// Whether the model is told what the folder holds ([`crate::folder`]):
/// `--no-context`, `CMDAI_CONTEXT`, `context` in the file; by default on
/// for the local model and off for a shared server (file and branch names
/// would leave the machine), where only an explicit setting turns it on.
pub fn context(no_context_flag: bool, backend: BackendKind) -> Setting<bool> {
    layered(
        no_context_flag.then_some(false),
        "CMDAI_CONTEXT",
        parse_switch,
        "on or off",
        file().context,
    )
    .unwrap_or_else(|| Setting::new(backend != BackendKind::OpenAi, Source::Default))
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
    key_setting(flag, "CMDAI_KEY", file().key.clone())
}

/// The widget's explain key: `CMDAI_EXPLAIN_KEY`, the file, else `None`
/// (Alt-E).
pub fn explain_key() -> Setting<Option<String>> {
    key_setting(None, "CMDAI_EXPLAIN_KEY", file().explain_key.clone())
}

/// A key binding taken as written (the shell checks its notation); `None`
/// when nothing sets it and the shell's default applies.
fn key_setting(
    flag: Option<&str>,
    env_name: &str,
    from_file: Option<String>,
) -> Setting<Option<String>> {
    layered(
        flag.map(str::to_owned),
        env_name,
        |s| Some(s.to_string()),
        "a key",
        from_file,
    )
    .map_or_else(
        || Setting::new(None, Source::Default),
        |s| Setting::new(Some(s.value), s.source),
    )
}

/// The backend: `CMDAI_BACKEND` (also `mock` in test builds), the file, else local.
pub fn backend() -> Setting<BackendKind> {
    let asks_mock = env("CMDAI_BACKEND").is_some_and(|v| v.trim().eq_ignore_ascii_case("mock"));
    if asks_mock && !cfg!(feature = "mock") {
        warn_once(
            "CMDAI_BACKEND=mock is the test backend, which this build leaves out (cargo feature `mock`); ignoring it, the config file's backend or the local model is used instead",
        );
        return file().backend.map_or_else(
            || Setting::new(BackendKind::Local, Source::Default),
            |b| Setting::new(b, Source::ConfigFile),
        );
    }
    layered(
        None,
        "CMDAI_BACKEND",
        |s| parse_backend(s, true),
        "a backend (local or openai)",
        file().backend,
    )
    .unwrap_or_else(|| Setting::new(BackendKind::Local, Source::Default))
}

/// Why the config file was left as it was.
#[derive(Debug)]
pub enum WriteError {
    /// The file is not TOML: rewriting it would lose what the user wrote.
    NotToml { path: PathBuf, why: String },
    /// `[table]` is needed but the file has a non-table value under that name.
    NotATable { path: PathBuf, table: String },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::NotToml { path, why } => write!(
                f,
                "{} is not valid TOML ({why}), so it was left as it is; fix or delete it and run this again",
                path.display()
            ),
            WriteError::NotATable { path, table } => write!(
                f,
                "`{table}` in {} is not a table, so the file was left as it is; make it a [{table}] table or remove it and run this again",
                path.display()
            ),
            WriteError::Io { path, error } => write!(
                f,
                "could not write {}: {error}; fix its permissions or set CMDAI_CONFIG_DIR",
                path.display()
            ),
        }
    }
}

impl std::error::Error for WriteError {}

/// Sets `key = value` in the TOML text `text` (of the file `path`), at the top
/// level or in `[table]`, keeping everything else (comments, order, layout,
/// the comment after a replaced value) as it is. Text that is not TOML is
/// refused, never rewritten.
pub fn set_key(
    text: &str,
    path: &Path,
    table: Option<&str>,
    key: &str,
    value: impl Into<toml_edit::Value>,
) -> Result<String, WriteError> {
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| WriteError::NotToml {
                path: path.to_path_buf(),
                why: e.message().trim().to_string(),
            })?;
    let slot: &mut dyn toml_edit::TableLike = match table {
        None => doc.as_table_mut(),
        Some(name) => doc
            .entry(name)
            .or_insert_with(toml_edit::table)
            .as_table_like_mut()
            .ok_or_else(|| WriteError::NotATable {
                path: path.to_path_buf(),
                table: name.to_string(),
            })?,
    };
    let mut value = value.into();
    match slot.get_mut(key) {
        // In place, so the key keeps the comment above it.
        Some(item) => {
            if let Some(old) = item.as_value() {
                *value.decor_mut() = old.decor().clone();
            }
            *item = toml_edit::Item::Value(value);
        }
        None => {
            slot.insert(key, toml_edit::Item::Value(value));
        }
    }
    Ok(doc.to_string())
}

/// Writes `key = value` into the config file (creating it and its dir),
/// atomically, keeping everything else in it; a file that is not TOML is
/// left untouched and refused. A config file that is a symbolic link (kept
/// in a dotfiles folder) stays a link: the file it points to is written,
/// through a temporary file in that file's folder, and keeps its mode; a
/// new file is private (0600) in a private folder.
pub fn write_key(
    table: Option<&str>,
    key: &str,
    value: impl Into<toml_edit::Value>,
) -> Result<PathBuf, WriteError> {
    let path = path();
    let target = crate::paths::write_target(&path);
    let io = |error| WriteError::Io {
        path: target.clone(),
        error,
    };
    let old = match std::fs::read_to_string(&target) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let new = set_key(&old, &path, table, key, value)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    if target == path {
        crate::paths::private_dir(dir).map_err(io)?;
    } else {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    crate::paths::replace_file(&target, new.as_bytes()).map_err(io)?;
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
quality = "best"
memory = false
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
        assert_eq!(c.quality, Some(crate::quality::Quality::Best));
        assert_eq!(c.memory, Some(false));
        assert_eq!(c.openai_set.len(), 5);
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
quality = "slow"
memory = "off"
[openai]
timeout_secs = -1
model = "m"
colour = 1
"#,
        );
        assert_eq!(c.model.as_deref(), Some("qwen2.5-coder-0.5b-q4_k_m"));
        assert_eq!(c.threads, None);
        assert_eq!(c.safety, None);
        assert_eq!(c.idle_timeout, None);
        assert_eq!(c.backend, None, "mock is for CMDAI_BACKEND only");
        assert_eq!(c.openai.timeout_secs, 60);
        assert_eq!(c.openai.model, "m");
        assert_eq!((c.quality, c.memory), (None, None));
        assert_eq!(c.openai_set, ["model"]);
        assert_eq!(c.warnings.len(), 9, "{:#?}", c.warnings);
        for key in [
            "`threads`",
            "`safety`",
            "`idle_timeout`",
            "`backend`",
            "`colour`",
            "`quality`",
            "`memory`",
            "`openai.timeout_secs`",
            "`openai.colour`",
        ] {
            let found: Vec<_> = c.warnings.iter().filter(|w| w.contains(key)).collect();
            assert_eq!(found.len(), 1, "one warning for {key}: {found:?}");
            let w = found[0];
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

    fn set(text: &str, table: Option<&str>, key: &str, value: &str) -> String {
        set_key(text, Path::new("/c/config.toml"), table, key, value).unwrap()
    }

    #[test]
    fn set_key_keeps_comments_and_other_keys() {
        let text =
            "# my settings\nthreads = 4 # fast\n# which\nmodel = \"old\" # mine\n\n[openai]\nmodel = \"keep\"\n";
        let out = set(text, None, "model", "new");
        assert_eq!(
            out,
            "# my settings\nthreads = 4 # fast\n# which\nmodel = \"new\" # mine\n\n[openai]\nmodel = \"keep\"\n"
        );
        let out = set("threads = 4\n\n[openai]\nretries = 1\n", None, "model", "m");
        assert_eq!(out, "threads = 4\nmodel = \"m\"\n\n[openai]\nretries = 1\n");
        let quoted: toml::Table = toml::from_str(&set("", None, "model", "a\"b")).unwrap();
        assert_eq!(quoted["model"].as_str(), Some("a\"b"));
        let out = set(
            "model = \"m\"\n",
            Some("custom_models"),
            "my.model",
            "/x.gguf",
        );
        assert_eq!(
            out,
            "model = \"m\"\n\n[custom_models]\n\"my.model\" = \"/x.gguf\"\n"
        );
        let out = set(&out, Some("custom_models"), "other", "/y.gguf");
        let t: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(t["custom_models"]["other"].as_str(), Some("/y.gguf"));
        assert_eq!(t["custom_models"]["my.model"].as_str(), Some("/x.gguf"));
        assert_eq!(t["model"].as_str(), Some("m"));
    }

    #[test]
    fn set_key_writes_booleans_as_booleans() {
        let out = set_key("", Path::new("/c/config.toml"), None, "memory", false).unwrap();
        assert_eq!(out, "memory = false\n");
        assert_eq!(parse(&out).memory, Some(false));
    }

    #[test]
    fn set_key_refuses_what_it_cannot_edit() {
        let e = set_key(
            "model = = \"x\"\n",
            Path::new("/c/config.toml"),
            None,
            "model",
            "m",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("/c/config.toml is not valid TOML (") && e.contains("left as it is"),
            "{e}"
        );
        let e = set_key(
            "custom_models = 3\n",
            Path::new("/c/config.toml"),
            Some("custom_models"),
            "a",
            "/a.gguf",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`custom_models` in /c/config.toml is not a table"),
            "{e}"
        );
    }
}
