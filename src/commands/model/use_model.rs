//! `cmdai model use <id|path>`: makes a model the one used from now on by
//! writing `model = "..."` into config.toml, keeping the rest of the file.

use crate::error::{exit, CliError, Result};
use crate::models::catalog::Catalog;
use crate::models::resolve::{lookup, Target};
use crate::models::{gguf, model_path};
use std::path::Path;

pub fn run(cat: &Catalog, cache: &Path, model: &str) -> Result<i32> {
    let value = match lookup(cat, model)? {
        Target::File { path, .. } if !model_is_name(model) => {
            check_gguf(&path)?;
            // An absolute path, so it works from any directory.
            std::fs::canonicalize(&path)
                .unwrap_or(path)
                .display()
                .to_string()
        }
        Target::File { path, .. } => {
            if !path.is_file() {
                eprintln!(
                    "cmdai: warning: the file of {model} ({}) is missing; import it again",
                    path.display()
                );
            }
            model.to_string()
        }
        Target::Catalog(spec) => {
            if !model_path(cache, &spec).is_file() {
                eprintln!(
                    "cmdai: {} is not downloaded yet ({}); run `cmdai model pull {}`, or the next request offers to",
                    spec.id,
                    spec.human_size(),
                    spec.id
                );
            }
            spec.id.clone()
        }
    };
    let file = crate::config::write_key(None, "model", value.as_str())
        .map_err(|e| CliError::failure(e.to_string()))?;
    crate::outln!("model = {value:?} written to {}", file.display());
    // Prepare its prompt now, so the first request with it does not wait.
    let margs = crate::cli::ModelArgs {
        model: Some(value.clone()),
        offline: true,
        ..Default::default()
    };
    if let Ok(m) = crate::models::resolve::resolve_model(&margs) {
        if m.path.is_file() {
            if let Err(e) = crate::backend::prepare(&m, &margs) {
                eprintln!(
                    "cmdai: warning: could not prepare the model now ({e}); the first request will"
                );
            }
        }
    }
    if std::env::var_os("CMDAI_MODEL").is_some_and(|v| !v.is_empty()) {
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
