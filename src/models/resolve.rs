//! Which model a request uses, and where its file is: the lookup every
//! request, `cmdai serve`, `doctor` and `cmdai model ...` go through.
//!
//! A model is named by a catalogue id (models.toml), an imported model's name
//! (`[custom_models]` in config.toml) or a path to a .gguf file; when none is
//! named, one is chosen for this machine ([`crate::models::select`]).
//! A missing catalogue model is downloaded after asking once (or with `--yes`);
//! offline mode never touches the network and says how to fetch it.

use super::catalog::{Catalog, CatalogError, ModelSpec};
use super::download::{self, DownloadError, DownloadOptions};
use super::files::model_path;
use super::select;
use crate::paths;
use crate::settings::{Settings, Source};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Why no model could be found for a run; each message is one sentence
/// with the way out, and each keeps what caused it.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("the model catalogue could not be read: {0}")]
    Catalog(#[from] CatalogError),
    /// `set_by` says where the name was written (` (set by CMDAI_MODEL)`), or is empty.
    #[error("no model called `{name}` in the catalogue (known: {known}); pass a catalogue id or a path to a .gguf file{set_by}")]
    UnknownModel {
        name: String,
        known: String,
        set_by: String,
    },
    /// A path that is no model file; `from` says where it was set.
    #[error("{problem} ({from}); pass an existing .gguf path or a catalogue id")]
    NotAModelFile { problem: String, from: String },
    #[error("the model {id} ({size}) is not downloaded yet; pass --yes to download it now, or run `cmdai model pull {id}`")]
    NotDownloaded { id: String, size: String },
    #[error("no model, so no command; run `cmdai model pull {id}` when you are ready")]
    Declined { id: String },
    /// The download question was interrupted.
    #[error("interrupted; nothing was changed.")]
    Interrupted,
    #[error(transparent)]
    Download(#[from] DownloadError),
}

type Result<T> = std::result::Result<T, ResolveError>;

/// A model ready to load.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// Catalogue id, or the file name for a path.
    pub name: String,
    pub path: PathBuf,
    /// Pinned checksum, when the catalogue has one.
    pub sha256: Option<String>,
    /// [`ResolvedModel::model_id`], worked out the first time it is asked for.
    id: std::sync::OnceLock<String>,
}

impl ResolvedModel {
    fn new(name: String, path: PathBuf, sha256: Option<String>) -> ResolvedModel {
        ResolvedModel {
            name,
            path,
            sha256,
            id: std::sync::OnceLock::new(),
        }
    }

    /// Identity a daemon is checked against: the pinned sha256, or a hash of
    /// the file's path, size and modification time (read once per run: a
    /// request asks for it several times).
    pub fn model_id(&self) -> String {
        self.id.get_or_init(|| self.identity()).clone()
    }

    fn identity(&self) -> String {
        if let Some(sha) = &self.sha256 {
            return sha.clone();
        }
        let meta = std::fs::metadata(&self.path).ok();
        let stamp = format!(
            "{}|{}|{:?}",
            self.path
                .canonicalize()
                .unwrap_or_else(|_| self.path.clone())
                .display(),
            meta.as_ref().map_or(0, |m| m.len()),
            meta.and_then(|m| m.modified().ok())
        );
        format!("file:{}", crate::hex::sha256(stamp.as_bytes()))
    }
}

pub fn catalog() -> Result<Catalog> {
    Ok(Catalog::load(Some(&paths::config_dir()))?)
}

/// The catalogue model `id` names; with no id, the active one when that is a
/// catalogue model, else the catalogue default.
pub(crate) fn spec_for(cat: &Catalog, s: &Settings, id: Option<&str>) -> Result<ModelSpec> {
    match id {
        None => Ok(match active(cat, s).map(|a| a.target) {
            Ok(Target::Catalog(spec)) => *spec,
            _ => cat.default_model().clone(),
        }),
        Some(id) => cat
            .get(id)
            .cloned()
            .ok_or_else(|| unknown_model(cat, s, id)),
    }
}

pub(crate) fn download_options(offline: bool) -> DownloadOptions {
    DownloadOptions {
        offline,
        show_progress: std::io::stderr().is_terminal(),
        ..DownloadOptions::default()
    }
}

pub(crate) fn human_size(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "size unknown".into(),
        |b| format!("{:.1} GB", b as f64 / 1e9),
    )
}

/// What a model name stands for.
#[derive(Debug, Clone)]
pub enum Target {
    /// A catalogue model (installed or not).
    Catalog(Box<ModelSpec>),
    /// A file: a path, or an imported model's name.
    File { name: String, path: PathBuf },
}

/// The model a request would use, where that came from, and why.
#[derive(Debug, Clone)]
pub struct Active {
    pub target: Target,
    pub source: Source,
    /// What was written (id, name or path), or the automatic choice's reason.
    pub reason: String,
}

impl Active {
    /// Catalogue id, imported name or file name.
    pub fn name(&self) -> &str {
        match &self.target {
            Target::Catalog(spec) => &spec.id,
            Target::File { name, .. } => name,
        }
    }
}

fn path_like(m: &str) -> bool {
    m.ends_with(".gguf") || m.contains('/')
}

fn unknown_model(cat: &Catalog, s: &Settings, name: &str) -> ResolveError {
    let mut ids: Vec<&str> = cat.models.iter().map(|m| m.id.as_str()).collect();
    ids.extend(s.custom_models.keys().map(String::as_str));
    ResolveError::UnknownModel {
        name: name.to_string(),
        known: ids.join(", "),
        set_by: String::new(),
    }
}

/// What `m` names: a path (or an existing file), an imported model, or a
/// catalogue id; anything else is an error listing the known ids.
pub fn lookup(cat: &Catalog, s: &Settings, m: &str) -> Result<Target> {
    let p = PathBuf::from(m);
    if path_like(m) || p.is_file() {
        let name = p
            .file_name()
            .map_or(m.to_string(), |f| f.to_string_lossy().into_owned());
        return Ok(Target::File { name, path: p });
    }
    if let Some(path) = s.custom_models.get(m) {
        return Ok(Target::File {
            name: m.to_string(),
            path: path.clone(),
        });
    }
    match cat.get(m) {
        Some(spec) => Ok(Target::Catalog(Box::new(spec.clone()))),
        // Something is there by that name (a folder): say what it is.
        None if p.exists() => Ok(Target::File {
            name: m.to_string(),
            path: p,
        }),
        None => Err(unknown_model(cat, s, m)),
    }
}

/// The model to use: flag > `CMDAI_MODEL` > config file > the automatic
/// choice for this machine ([`crate::models::select`]).
pub fn active(cat: &Catalog, settings: &Settings) -> Result<Active> {
    if let Some(s) = &settings.model {
        let target = lookup(cat, settings, &s.value).map_err(|e| match e {
            ResolveError::UnknownModel { name, known, .. } => ResolveError::UnknownModel {
                name,
                known,
                set_by: match s.source {
                    Source::ConfigFile => format!(" (set in {})", settings.config_file.display()),
                    Source::Env => " (set by CMDAI_MODEL)".to_string(),
                    _ => String::new(),
                },
            },
            other => other,
        })?;
        return Ok(Active {
            target,
            source: s.source,
            reason: s.value.clone(),
        });
    }
    let cache = paths::cache_dir();
    let total = crate::hardware::memory().map(|m| m.total_mb);
    let speed = crate::hardware::Speed::here(settings.machine_threads);
    let c = select::auto_choice(cat, total, speed, &|m| model_path(&cache, m).is_file());
    Ok(Active {
        target: Target::Catalog(Box::new(c.spec.clone())),
        source: Source::Auto,
        reason: c.reason,
    })
}

/// Finds the model for a request (see [`active`]); downloads a missing
/// catalogue model, after asking.
pub fn resolve_model(s: &Settings) -> Result<ResolvedModel> {
    let offline = s.offline;
    let cat = catalog()?;
    let chosen = active(&cat, s)?;
    if s.verbose {
        eprintln!(
            "cmdai: model {} ({}: {})",
            chosen.name(),
            chosen.source,
            chosen.reason
        );
    }
    let spec = match chosen.target {
        Target::File { name, path } => {
            if !path.is_file() {
                let problem = super::file_problem(&path)
                    .unwrap_or_else(|| format!("{} is not a model file", path.display()));
                return Err(ResolveError::NotAModelFile {
                    problem,
                    from: match chosen.source {
                        Source::ConfigFile => format!("set in {}", s.config_file.display()),
                        other => format!("from {other}"),
                    },
                });
            }
            return Ok(ResolvedModel::new(name, path, None));
        }
        Target::Catalog(spec) => *spec,
    };
    let cache = paths::cache_dir();
    let path = model_path(&cache, &spec);
    if !path.is_file() && !offline && !s.yes {
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return Err(ResolveError::NotDownloaded {
                id: spec.id.clone(),
                size: human_size(spec.size),
            });
        }
        let ok = dialoguer::Confirm::new()
            .with_prompt(format!(
                "cmdai needs the model {} ({}). Download it now into {}?",
                spec.id,
                human_size(spec.size),
                path.parent()
                    .map_or(cache.clone(), |p| p.to_path_buf())
                    .display()
            ))
            .default(true)
            .interact()
            .map_err(|_| ResolveError::Interrupted)?;
        if !ok {
            return Err(ResolveError::Declined {
                id: spec.id.clone(),
            });
        }
    }
    let path = download::ensure_model(&spec, &cache, &download_options(offline))?;
    Ok(ResolvedModel::new(
        spec.id.clone(),
        path,
        spec.sha256.clone(),
    ))
}
