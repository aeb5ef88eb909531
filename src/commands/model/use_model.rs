//! `cmdai model use <id|path>`: makes a model the one used from now on by
//! writing `model = "..."` into config.toml, keeping the rest of the file.

use crate::error::{exit, CliError, Result};
use crate::models::catalog::Catalog;
use crate::models::resolve::{lookup, Target};
use crate::models::{file_problem, gguf, model_path};
use crate::settings::Settings;
use std::path::Path;

pub fn run(cat: &Catalog, s: &Settings, cache: &Path, model: &str) -> Result<i32> {
    // The file that must load before it is written down, when there is one.
    let (value, file) = match lookup(cat, s, model)? {
        Target::File { path, .. } if !model_is_name(model) => {
            if let Some(problem) = file_problem(&path) {
                return Err(CliError::model(format!("{problem}; nothing was written")));
            }
            check_gguf(&path)?;
            // An absolute path, so it works from any directory.
            let abs = std::fs::canonicalize(&path).unwrap_or(path);
            (abs.display().to_string(), Some(abs))
        }
        Target::File { path, .. } => {
            if !path.is_file() {
                eprintln!(
                    "cmdai: warning: the file of {model} ({}) is missing; import it again",
                    path.display()
                );
                (model.to_string(), None)
            } else {
                (model.to_string(), Some(path))
            }
        }
        Target::Catalog(spec) => {
            let path = model_path(cache, &spec);
            if !path.is_file() {
                eprintln!(
                    "cmdai: {} is not downloaded yet ({}); run `cmdai model pull {}`, or the next request offers to",
                    spec.id,
                    spec.human_size(),
                    spec.id
                );
                (spec.id.clone(), None)
            } else {
                (spec.id.clone(), Some(path))
            }
        }
    };
    // Load it now (preparing its prompt, so the first request with it does
    // not wait); a model that does not load is refused, the config untouched.
    let margs = crate::cli::ModelArgs {
        model: Some(value.clone()),
        offline: true,
        ..Default::default()
    };
    if let Some(path) = &file {
        if let Some(problem) = file_problem(path) {
            return Err(CliError::model(format!("{problem}; nothing was written")));
        }
        let s = crate::commands::settings::resolve(&margs);
        let m = crate::models::resolve::resolve_model(&s)?;
        crate::pipeline::reach::check_loads(&m, &s).map_err(|e| {
            let mut e = CliError::from(e);
            e.message = format!(
                "{}; {} was left as it is",
                e.message,
                crate::config::path().display()
            );
            e
        })?;
    }
    let written = crate::config::write_key(None, "model", value.as_str())
        .map_err(|e| CliError::failure(e.to_string()))?;
    crate::outln!("model = {value:?} written to {}", written.display());
    if crate::settings::MODEL.env().is_some() {
        eprintln!("cmdai: note: CMDAI_MODEL is set and takes precedence over the config file");
    }
    Ok(exit::OK)
}

/// True for an imported model's name (not a path).
fn model_is_name(model: &str) -> bool {
    crate::config::file().custom_models.contains_key(model)
}

/// Refuses a missing file or one that is not GGUF, in one sentence.
pub fn check_gguf(path: &Path) -> Result<()> {
    match gguf::is_gguf(path) {
        Ok(true) => Ok(()),
        Ok(false) => Err(CliError::usage(format!(
            "{} is not a GGUF model file (it does not start with `GGUF`); use a .gguf file made for llama.cpp",
            path.display()
        ))),
        Err(e) => Err(CliError::model(format!(
            "cannot read {}: {e}; pass an existing .gguf file",
            path.display()
        ))),
    }
}
