//! `cmdai model pull|rm|verify|path|list|use|info|import`: this file
//! dispatches and does pull, rm, verify and path; `use`, `info`, `import` and
//! `list` live in their own files beside it. Which model a request uses is
//! [`crate::models::resolve`].

mod import;
mod info;
mod list;
mod use_model;

use crate::cli::{ModelArgs, ModelCommand};
use crate::config::Source;
use crate::error::{exit, CliError, Result};
use crate::models::catalog::Catalog;
use crate::models::download::{self, DownloadOptions};
use crate::models::model_path;
use crate::models::resolve::{active, catalog, download_options, resolve_model, spec_for};
use crate::paths;
use crate::settings::Settings;

pub fn run(cmd: ModelCommand) -> Result<i32> {
    let cat = catalog()?;
    let cache = paths::cache_dir();
    let s = &super::settings::resolve(&ModelArgs::default());
    match cmd {
        ModelCommand::Pull { id, verbose } => {
            // No id: the model named in flag/env/config, else the catalogue
            // default (the automatic choice only ever picks installed models
            // beyond the default, so pulling it would do nothing).
            let spec = match (id.as_deref(), active(&cat, s)) {
                (None, Ok(a)) if a.source == Source::Auto => cat.default_model().clone(),
                _ => spec_for(&cat, s, id.as_deref())?,
            };
            let offline = s.offline;
            // An explicit pull replaces a damaged file instead of only reporting it.
            let opts = DownloadOptions {
                repair: true,
                ..download_options(offline)
            };
            let path = download::ensure_model(&spec, &cache, &opts)?;
            // The prompt prefix too, so the first request does not wait for it.
            let margs = ModelArgs {
                model: Some(spec.id.clone()),
                offline: true,
                verbose,
                ..Default::default()
            };
            let s = super::settings::resolve(&margs);
            let model = resolve_model(&s)?;
            crate::pipeline::reach::prepare(&model, &s)?;
            if verbose {
                eprintln!("cmdai: {} is ready", spec.id);
            }
            crate::outln!("{}", path.display());
            Ok(exit::OK)
        }
        ModelCommand::Verify { id } => {
            let spec = spec_for(&cat, s, id.as_deref())?;
            let path = model_path(&cache, &spec);
            if !path.is_file() {
                return Err(CliError::model(format!(
                    "{} is not installed; run `cmdai model pull {}`",
                    spec.id, spec.id
                )));
            }
            download::verify(&path, &spec).map_err(|e| {
                CliError::model(format!(
                    "{e}; delete it and run `cmdai model pull {}`",
                    spec.id
                ))
            })?;
            crate::outln!("{}: ok ({})", spec.id, path.display());
            Ok(exit::OK)
        }
        ModelCommand::List { installed, fits } => list::run(&cat, s, &cache, installed, fits),
        ModelCommand::Rm { id, force } => remove(&cat, s, &cache, &id, force),
        ModelCommand::Path { id } => {
            let spec = spec_for(&cat, s, id.as_deref())?;
            crate::outln!("{}", model_path(&cache, &spec).display());
            Ok(exit::OK)
        }
        ModelCommand::Use { model } => use_model::run(&cat, s, &cache, &model),
        ModelCommand::Info { model } => info::run(&cat, s, &cache, model.as_deref()),
        ModelCommand::Import { path, name } => import::run(&cat, &cache, &path, name.as_deref()),
    }
}

fn remove(
    cat: &Catalog,
    s: &Settings,
    cache: &std::path::Path,
    id: &str,
    force: bool,
) -> Result<i32> {
    let spec = spec_for(cat, s, Some(id))?;
    let is_active = active(cat, s).is_ok_and(|a| a.name() == spec.id);
    if is_active && !force {
        return Err(CliError::usage(format!(
            "{id} is the active model; pass --force to delete it anyway (the next request would download it again)"
        )));
    }
    let path = model_path(cache, &spec);
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
    crate::outln!("removed {} ({})", spec.id, path.display());
    Ok(exit::OK)
}
