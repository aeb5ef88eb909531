//! `cmdai model info [id|path]`: what a model file says about itself, read
//! from its GGUF header (milliseconds; nothing is loaded).

use crate::error::{exit, CliError, Result};
use crate::models::catalog::{human_bytes, Catalog};
use crate::models::resolve::{active, lookup, Target};
use crate::models::{file_problem, gguf, model_path};
use crate::settings::Settings;
use std::path::Path;

pub fn run(cat: &Catalog, s: &Settings, cache: &Path, model: Option<&str>) -> Result<i32> {
    let target = match model {
        Some(m) => lookup(cat, s, m)?,
        None => active(cat, s)?.target,
    };
    let (name, path) = match target {
        Target::Catalog(spec) => (spec.id.clone(), model_path(cache, &spec)),
        Target::File { name, path } => (name, path),
    };
    if !path.exists() {
        return Err(CliError::model(format!(
            "{name} is not on disk ({}); run `cmdai model pull {name}` or pass the path of a .gguf file",
            path.display()
        )));
    }
    if !path.is_file() {
        let problem =
            file_problem(&path).unwrap_or_else(|| format!("{} is not a file", path.display()));
        return Err(CliError::model(problem));
    }
    let h = gguf::read(&path).map_err(|e| {
        CliError::model(format!(
            "cannot read {}: {e}; check that it is a complete .gguf file",
            path.display()
        ))
    })?;
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let row = |k: &str, v: &str| crate::outln!("{k:<15} {v}");
    row("model", &name);
    row("file", &path.display().to_string());
    row("file size", &human_bytes(size));
    row("architecture", h.architecture().unwrap_or("unknown"));
    if let Some(n) = h.name() {
        row("name", n);
    }
    row("parameters", &h.parameter_label());
    row(
        "context length",
        &h.context_length()
            .map_or("unknown".into(), |n| format!("{n} tokens")),
    );
    row(
        "quantisation",
        &h.file_type().unwrap_or_else(|| "unknown".into()),
    );
    row(
        "chat template",
        if h.has_chat_template() {
            "yes"
        } else {
            "no (cmdai falls back to chatml)"
        },
    );
    row("tokenizer", h.tokenizer().unwrap_or("unknown"));
    row(
        "gguf",
        &format!("version {}, {} tensors", h.version, h.tensor_count),
    );
    let truncated = gguf::truncation(&path);
    row(
        "complete",
        &match (h.needed_size, &truncated) {
            (_, Some(_)) => "NO: truncated (see below)".to_string(),
            (Some(n), None) => format!("yes ({size} bytes; its header needs {n})"),
            (None, None) => "unknown (no tensors listed)".to_string(),
        },
    );
    match truncated {
        Some(t) => Err(CliError::model(format!(
            "{t}; download it again (`cmdai model pull`) or copy the whole file"
        ))),
        None => Ok(exit::OK),
    }
}
