//! `cmdai model ...` and the model lookup every request goes through.
//!
//! A model is named by a catalogue id (models.toml) or a path to a .gguf file.
//! A missing catalogue model is downloaded after asking once (or with `--yes`);
//! offline mode never touches the network and says how to fetch it.

use crate::cli::{ModelArgs, ModelCommand};
use crate::error::{exit, CliError, Result};
use crate::models::catalog::{Catalog, ModelSpec};
use crate::models::download::{self, DownloadError, DownloadOptions};
use crate::models::model_path;
use crate::paths;
use std::io::IsTerminal;
use std::path::PathBuf;

/// A model ready to load.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// Catalogue id, or the file name for a path.
    pub name: String,
    pub path: PathBuf,
    /// Pinned checksum, when the catalogue has one.
    pub sha256: Option<String>,
}

impl ResolvedModel {
    /// Identity a daemon is checked against: the pinned sha256, or a hash of
    /// the file's path, size and modification time.
    pub fn model_id(&self) -> String {
        if let Some(sha) = &self.sha256 {
            return sha.clone();
        }
        use sha2::Digest;
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
        let digest = sha2::Sha256::digest(stamp.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("file:{hex}")
    }
}

pub fn catalog() -> Result<Catalog> {
    Catalog::load(Some(&paths::config_dir()))
        .map_err(|e| CliError::failure(format!("the model catalogue could not be read: {e:#}")))
}

fn spec_for<'a>(cat: &'a Catalog, id: Option<&str>) -> Result<&'a ModelSpec> {
    match id {
        None => Ok(cat.default_model()),
        Some(id) => cat.get(id).ok_or_else(|| {
            let ids: Vec<&str> = cat.models.iter().map(|m| m.id.as_str()).collect();
            CliError::model(format!(
                "no model called `{id}` in the catalogue (known: {}); pass a catalogue id or a path to a .gguf file",
                ids.join(", ")
            ))
        }),
    }
}

fn download_error(e: DownloadError) -> CliError {
    match e {
        DownloadError::Interrupted { .. } => CliError::interrupted(),
        other => CliError::model(other.to_string()),
    }
}

fn download_options(offline: bool) -> DownloadOptions {
    DownloadOptions {
        offline,
        show_progress: std::io::stderr().is_terminal(),
        ..DownloadOptions::default()
    }
}

fn human_size(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "size unknown".into(),
        |b| format!("{:.1} GB", b as f64 / 1e9),
    )
}

/// Finds the model for a request: `--model`/`CMDAI_MODEL` (id or path), else
/// the catalogue default; downloads it when missing, after asking.
pub fn resolve_model(args: &ModelArgs) -> Result<ResolvedModel> {
    let offline = paths::offline_requested(args.offline);
    if let Some(m) = args.model.as_deref() {
        let p = PathBuf::from(m);
        if m.ends_with(".gguf") || m.contains('/') || p.is_file() {
            if !p.is_file() {
                return Err(CliError::model(format!(
                    "the model file {m} does not exist; pass an existing .gguf path or a catalogue id"
                )));
            }
            let name = p
                .file_name()
                .map_or(m.to_string(), |f| f.to_string_lossy().into_owned());
            return Ok(ResolvedModel {
                name,
                path: p,
                sha256: None,
            });
        }
    }
    let cat = catalog()?;
    let spec = spec_for(&cat, args.model.as_deref())?.clone();
    let cache = paths::cache_dir();
    let path = model_path(&cache, &spec);
    if !path.is_file() && !offline && !args.yes {
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return Err(CliError::model(format!(
                "the model {} ({}) is not downloaded yet; pass --yes to download it now, or run `cmdai model pull {}`",
                spec.id,
                human_size(spec.size),
                spec.id
            )));
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
            .map_err(|_| CliError::interrupted())?;
        if !ok {
            return Err(CliError::model(format!(
                "no model, so no command; run `cmdai model pull {}` when you are ready",
                spec.id
            )));
        }
    }
    let path = download::ensure_model(&spec, &cache, &download_options(offline))
        .map_err(download_error)?;
    Ok(ResolvedModel {
        name: spec.id.clone(),
        path,
        sha256: spec.sha256.clone(),
    })
}

pub fn run(cmd: ModelCommand) -> Result<i32> {
    let cat = catalog()?;
    let cache = paths::cache_dir();
    match cmd {
        ModelCommand::Pull { id, verbose } => {
            let spec = spec_for(&cat, id.as_deref())?;
            let offline = paths::offline_requested(false);
            // An explicit pull replaces a damaged file instead of only reporting it.
            let opts = DownloadOptions {
                repair: true,
                ..download_options(offline)
            };
            let path = download::ensure_model(spec, &cache, &opts).map_err(download_error)?;
            if verbose {
                eprintln!("cmdai: {} is ready", spec.id);
            }
            println!("{}", path.display());
            Ok(exit::OK)
        }
        ModelCommand::Verify { id } => {
            let spec = spec_for(&cat, id.as_deref())?;
            let path = model_path(&cache, spec);
            if !path.is_file() {
                return Err(CliError::model(format!(
                    "{} is not installed; run `cmdai model pull {}`",
                    spec.id, spec.id
                )));
            }
            download::verify(&path, spec).map_err(|e| {
                CliError::model(format!(
                    "{e}; delete it and run `cmdai model pull {}`",
                    spec.id
                ))
            })?;
            println!("{}: ok ({})", spec.id, path.display());
            Ok(exit::OK)
        }
        ModelCommand::List { installed, fits } => list(&cat, &cache, installed, fits),
        ModelCommand::Rm { id, force } => remove(&cat, &cache, &id, force),
        ModelCommand::Path { id } => {
            let spec = spec_for(&cat, id.as_deref())?;
            println!("{}", model_path(&cache, spec).display());
            Ok(exit::OK)
        }
    }
}

/// The catalogue model a request would use now: `CMDAI_MODEL` when it names a
/// catalogue id, else the catalogue default.
pub fn active_spec(cat: &Catalog) -> &ModelSpec {
    std::env::var("CMDAI_MODEL")
        .ok()
        .and_then(|m| cat.get(&m))
        .unwrap_or_else(|| cat.default_model())
}

fn list(
    cat: &Catalog,
    cache: &std::path::Path,
    only_installed: bool,
    only_fits: bool,
) -> Result<i32> {
    let mem = crate::hardware::memory();
    let active = &active_spec(cat).id;
    let header = ["ID", "SIZE", "RAM", "INSTALLED", "FITS", ""];
    println!(
        "{:<28} {:>15} {:>8} {:<10} {:<5} {}",
        header[0], header[1], header[2], header[3], header[4], header[5]
    );
    for spec in &cat.models {
        let installed = model_path(cache, spec).is_file();
        let fits = mem.map(|m| crate::hardware::fits(spec.ram_mb, m));
        if (only_installed && !installed) || (only_fits && fits != Some(true)) {
            continue;
        }
        println!(
            "{:<28} {:>15} {:>8} {:<10} {:<5} {}",
            spec.id,
            spec.human_size(),
            format!("{} MB", spec.ram_mb),
            if installed { "yes" } else { "no" },
            match fits {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            },
            if &spec.id == active { "(active)" } else { "" }
        );
    }
    if let Some(m) = mem {
        eprintln!(
            "this machine: {} MB memory, {} MB available; a model fits when it needs at most 80% of what is available",
            m.total_mb, m.available_mb
        );
    }
    Ok(exit::OK)
}

fn remove(cat: &Catalog, cache: &std::path::Path, id: &str, force: bool) -> Result<i32> {
    let spec = spec_for(cat, Some(id))?;
    if spec.id == active_spec(cat).id && !force {
        return Err(CliError::usage(format!(
            "{id} is the active model; pass --force to delete it anyway (the next request would download it again)"
        )));
    }
    let path = model_path(cache, spec);
    if !path.is_file() {
        return Err(CliError::model(format!(
            "{id} is not installed ({} does not exist)",
            path.display()
        )));
    }
    std::fs::remove_file(&path)
        .map_err(|e| CliError::failure(format!("could not delete {}: {e}", path.display())))?;
    let sc = crate::models::Sidecars::for_model(&path);
    for side in [&sc.verified, &sc.sha256, &sc.part, &sc.part_state, &sc.lock] {
        let _ = std::fs::remove_file(side);
    }
    println!("removed {} ({})", spec.id, path.display());
    Ok(exit::OK)
}
