//! The configuration file, `config.toml` in the config dir: reading it
//! through the settings table ([`crate::settings`]) and writing keys into it.
//!
//! Every key is looked up in the table and its value checked by that
//! setting's parser, so one bad value costs only that value: it is reported
//! once on stderr (file, key, what it must be, what is used instead) and the
//! next layer fills in; an unknown key is reported the same way. A file that
//! is not TOML at all is reported once and ignored. Nothing here ever stops
//! cmdai from running. Writes (`model use`, `memory on|off`, `model
//! import`) edit the file with toml_edit, keeping comments and layout, and
//! refuse a file they cannot parse rather than rewrite it.

use crate::settings::{self, Decl, Raw};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use crate::settings::{warn_once, EngineKind, OpenAi, Setting, Source};

/// Name of the configuration file inside [`crate::paths::config_dir`].
pub const FILE_NAME: &str = "config.toml";

/// `<config dir>/config.toml`.
pub fn path() -> PathBuf {
    crate::paths::config_dir().join(FILE_NAME)
}

/// What the config file says: the values of its keys that their settings
/// accept, and one warning for each one they do not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileConfig {
    pub path: PathBuf,
    /// Whether the file exists.
    pub exists: bool,
    /// Good values by key (`openai.model` for `model` in `[openai]`).
    values: BTreeMap<&'static str, toml::Value>,
    /// `[custom_models]`: name → .gguf path, added by `cmdai model import`.
    pub custom_models: BTreeMap<String, PathBuf>,
    /// One sentence per problem, each naming the file, the key and the fallback.
    pub warnings: Vec<String>,
}

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

    /// Parses the text of a config file, each key by its setting's parser,
    /// so one bad value is one warning and the rest of the file still counts.
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
        let mut w = Warnings {
            file: &file,
            list: Vec::new(),
        };
        c.take_keys(&table, None, &mut w);
        c.warnings = w.list;
        c
    }

    /// Takes the keys of `table` (the top level, or `[name]`), in the
    /// order of the settings table, then warns about the keys it does not know.
    fn take_keys(&mut self, table: &toml::Table, name: Option<&str>, w: &mut Warnings) {
        let full = |key: &str| match name {
            Some(t) => format!("{t}.{key}"),
            None => key.to_string(),
        };
        let known = match name {
            Some(t) => settings::table_keys(t),
            None => settings::file_keys(),
        };
        for key in &known {
            let Some(value) = table.get(*key) else {
                continue;
            };
            let Some(d) = settings::by_key(&full(key)) else {
                continue;
            };
            let info = d.info();
            if !d.accepts(Raw::Toml(value)) {
                let instead = info.fallback_words();
                w.warn(&full(key), &format!("must be {}", info.expects), &instead);
                continue;
            }
            match *key {
                "openai" if name.is_none() => {
                    if let toml::Value::Table(t) = value {
                        self.take_keys(t, Some("openai"), w);
                    }
                }
                "custom_models" if name.is_none() => self.take_models(value, w),
                _ => {
                    if let Some(k) = info.key {
                        self.values.insert(k, value.clone());
                    }
                }
            }
        }
        for key in table.keys().filter(|k| !known.contains(&k.as_str())) {
            let what = match name {
                Some(_) => format!("is not a known key ({})", known.join(", ")),
                None => format!("is not a known key (known: {})", known.join(", ")),
            };
            w.warn(&full(key), &what, "nothing");
        }
    }

    /// `[custom_models]`: each entry a path, in quotes.
    fn take_models(&mut self, value: &toml::Value, w: &mut Warnings) {
        let Some(models) = value.as_table() else {
            return;
        };
        for (name, p) in models {
            match p.as_str().map(str::trim).filter(|p| !p.is_empty()) {
                Some(p) => {
                    self.custom_models.insert(name.clone(), PathBuf::from(p));
                }
                None => w.warn(
                    &format!("custom_models.{name}"),
                    "must be a path to a .gguf file, in quotes",
                    "nothing",
                ),
            }
        }
    }

    /// The file's value for a setting, when it has a good one (what the
    /// tests check; a run resolves through [`Decl::resolve`]).
    #[cfg(test)]
    pub fn get<T>(&self, d: &Decl<T>) -> Option<T> {
        d.from_file(self.value(d)?)
    }

    /// The file's raw value for a setting, when it has a good one.
    pub fn value<T>(&self, d: &Decl<T>) -> Option<&toml::Value> {
        self.values.get(d.info.key?)
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

/// The model named by flag, `CMDAI_MODEL` or the file; `None` means choose
/// automatically.
pub fn model(flag: Option<&str>) -> Option<Setting<String>> {
    settings::MODEL.layered(flag.map(str::to_owned), file().value(&settings::MODEL))
}

/// Inference threads; 0 in any layer, or none set: the physical cores.
pub fn threads(flag: Option<usize>) -> Setting<usize> {
    settings::THREADS
        .layered(flag, file().value(&settings::THREADS))
        .filter(|s| s.value > 0)
        .unwrap_or_else(|| Setting::new(crate::hardware::physical_cores(), Source::Auto))
}

/// The context window (n_ctx) asked for; 0 means automatic sizing.
pub fn context_size(flag: Option<usize>) -> Setting<usize> {
    settings::CONTEXT_SIZE
        .layered(flag, file().value(&settings::CONTEXT_SIZE))
        .unwrap_or_else(|| Setting::new(0, Source::Auto))
}

/// The safety level: the flag (checked by clap), else `CMDAI_SAFETY` or the
/// file (a bad value there is warned about and skipped).
pub fn safety(flag: Option<crate::safety::SafetyLevel>) -> Setting<crate::safety::SafetyLevel> {
    let d = &settings::SAFETY;
    d.resolve(flag, file().value(d))
}

/// How much work the model does per request ([`crate::pipeline::quality`]); a bad
/// value in `CMDAI_QUALITY` or the file is warned about and skipped (the
/// flag is checked by clap).
pub fn quality(
    flag: Option<crate::pipeline::quality::Quality>,
) -> Setting<crate::pipeline::quality::Quality> {
    let d = &settings::QUALITY;
    d.resolve(flag, file().value(d))
}

/// Whether cmdai remembers what the user ran and keeps history
/// ([`crate::pipeline::memory`]): `CMDAI_MEMORY`, else `memory` in the file, else on.
pub fn memory() -> Setting<bool> {
    let d = &settings::MEMORY;
    d.resolve(None, file().value(d))
}

/// Whether the model is told what the folder holds ([`crate::pipeline::folder`]):
/// `--no-context`, `CMDAI_CONTEXT`, `context` in the file; by default on
/// for the local model and off for a shared server (file and branch names
/// would leave the machine), where only an explicit setting turns it on.
pub fn context(no_context_flag: bool, backend: EngineKind) -> Setting<bool> {
    let d = &settings::CONTEXT;
    d.layered(no_context_flag.then_some(false), file().value(d))
        .unwrap_or_else(|| Setting::new(backend != EngineKind::OpenAi, Source::Default))
}

/// How long the daemon waits for requests before exiting.
pub fn idle_timeout(flag: Option<&str>) -> Setting<String> {
    let d = &settings::IDLE_TIMEOUT;
    d.resolve(flag.map(str::to_owned), file().value(d))
}

/// The widget key; `None` means the shell's Ctrl-G.
pub fn key(flag: Option<&str>) -> Setting<Option<String>> {
    key_setting(&settings::KEY, flag)
}

/// The widget's explain key: `CMDAI_EXPLAIN_KEY`, the file, else `None`
/// (Alt-E).
pub fn explain_key() -> Setting<Option<String>> {
    key_setting(&settings::EXPLAIN_KEY, None)
}

/// A key binding taken as written (the shell checks its notation); `None`
/// when nothing sets it and the shell's default applies.
fn key_setting(d: &Decl<String>, flag: Option<&str>) -> Setting<Option<String>> {
    d.layered(flag.map(str::to_owned), file().value(d))
        .map_or_else(
            || Setting::new(None, Source::Default),
            |s| Setting::new(Some(s.value), s.source),
        )
}

/// Whether to answer in this process, never using the daemon:
/// `--no-daemon`, else `CMDAI_NO_DAEMON`.
pub fn no_daemon(flag: bool) -> bool {
    settings::NO_DAEMON
        .resolve(flag.then_some(true), None)
        .value
}

/// The backend: `CMDAI_BACKEND` (also `mock` in test builds), the file, else local.
pub fn backend() -> Setting<EngineKind> {
    let d = &settings::BACKEND;
    d.resolve(None, file().value(d))
}

/// The `[openai]` settings, each from its variable, else the file, else
/// its default, with its source.
pub fn openai() -> OpenAi {
    let f = file();
    OpenAi {
        base_url: settings::OPENAI_BASE_URL.resolve(None, f.value(&settings::OPENAI_BASE_URL)),
        model: settings::OPENAI_MODEL.resolve(None, f.value(&settings::OPENAI_MODEL)),
        api_key_env: settings::OPENAI_API_KEY_ENV
            .resolve(None, f.value(&settings::OPENAI_API_KEY_ENV)),
        timeout: settings::OPENAI_TIMEOUT.resolve(None, f.value(&settings::OPENAI_TIMEOUT)),
        retries: settings::OPENAI_RETRIES.resolve(None, f.value(&settings::OPENAI_RETRIES)),
    }
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
    use crate::safety::SafetyLevel;
    use crate::settings as s;

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
context = "off"
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
        assert_eq!(c.get(&s::MODEL).as_deref(), Some("qwen2.5-coder-3b-q4_k_m"));
        assert_eq!(c.get(&s::THREADS), Some(6));
        assert_eq!(c.get(&s::CONTEXT_SIZE), Some(4096));
        assert_eq!(c.get(&s::SAFETY), Some(SafetyLevel::Strict));
        assert_eq!(c.get(&s::IDLE_TIMEOUT).as_deref(), Some("1h"));
        assert_eq!(c.get(&s::KEY).as_deref(), Some("^X"));
        assert_eq!(c.get(&s::BACKEND), Some(EngineKind::OpenAi));
        assert_eq!(
            c.get(&s::QUALITY),
            Some(crate::pipeline::quality::Quality::Best)
        );
        assert_eq!(c.get(&s::MEMORY), Some(false));
        assert_eq!(c.get(&s::CONTEXT), Some(false));
        assert_eq!(
            c.get(&s::OPENAI_BASE_URL).as_deref(),
            Some("https://example.com/v1")
        );
        assert_eq!(c.get(&s::OPENAI_MODEL).as_deref(), Some("gpt-x"));
        assert_eq!(c.get(&s::OPENAI_API_KEY_ENV).as_deref(), Some("MY_KEY"));
        assert_eq!(
            c.get(&s::OPENAI_TIMEOUT),
            Some(std::time::Duration::from_secs(5))
        );
        assert_eq!(c.get(&s::OPENAI_RETRIES), Some(0));
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
memory = "maybe"
[openai]
timeout_secs = -1
model = "m"
colour = 1
"#,
        );
        assert_eq!(
            c.get(&s::MODEL).as_deref(),
            Some("qwen2.5-coder-0.5b-q4_k_m")
        );
        assert_eq!(c.get(&s::THREADS), None);
        assert_eq!(c.get(&s::SAFETY), None);
        assert_eq!(c.get(&s::IDLE_TIMEOUT), None);
        assert_eq!(c.get(&s::BACKEND), None, "mock is for CMDAI_BACKEND only");
        assert_eq!(c.get(&s::OPENAI_TIMEOUT), None);
        assert_eq!(c.get(&s::OPENAI_MODEL).as_deref(), Some("m"));
        assert_eq!((c.get(&s::QUALITY), c.get(&s::MEMORY)), (None, None));
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
    fn a_switch_reads_as_in_every_other_layer() {
        // One boolean parser: `memory = "off"` is as good as `memory = false`.
        for text in ["memory = \"off\"", "memory = false", "memory = 0"] {
            let c = parse(text);
            assert!(c.warnings.is_empty(), "{text}: {:?}", c.warnings);
            assert_eq!(c.get(&s::MEMORY), Some(false), "{text}");
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
        assert_eq!(c.get(&s::MODEL), None);
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
        assert_eq!(parse(&out).get(&s::MEMORY), Some(false));
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
