//! `cmdai model import <file.gguf>`: adds a model file the person already
//! has. When its sha256 matches a catalogue entry it is installed under that
//! id (a hard link when the cache is on the same file system, else a copy;
//! via a temp file and a rename, with the `.verified` marker a download
//! writes); otherwise it is registered as a custom model in config.toml
//! (`[custom_models] name = "path"`), usable with `--model <name>`.

use super::use_model::check_gguf;
use crate::error::{exit, CliError, Result};
use crate::models::catalog::Catalog;
use crate::models::resolve::human_size;
use crate::models::{download, gguf, model_path};
use sha2::Digest;
use std::io::{IsTerminal, Read};
use std::path::Path;

pub fn run(cat: &Catalog, cache: &Path, file: &Path, name: Option<&str>) -> Result<i32> {
    check_gguf(file)?;
    gguf::read(file).map_err(|e| {
        CliError::model(format!(
            "{} cannot be imported: {e}; check that it is a complete .gguf file",
            file.display()
        ))
    })?;
    let sha = hash(file)?;
    match cat
        .models
        .iter()
        .find(|m| m.sha256.as_deref() == Some(&sha))
    {
        Some(spec) => {
            let dest = model_path(cache, spec);
            // Link the file itself, not a symlink to it.
            let src = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
            let how = install(&src, &dest)?;
            download::record_verified(&dest, &sha).map_err(|e| {
                CliError::failure(format!(
                    "installed {} but could not record its checksum: {e}",
                    spec.id
                ))
            })?;
            crate::outln!(
                "{}: installed as {} ({how}, checksum matches the catalogue)",
                spec.id,
                dest.display()
            );
        }
        None => register(cat, file, name, &sha)?,
    }
    Ok(exit::OK)
}

/// sha256 of the file, with a progress bar on a terminal.
fn hash(file: &Path) -> Result<String> {
    let read_err = |e: std::io::Error| {
        CliError::model(format!(
            "cannot read {}: {e}; pass a readable .gguf file",
            file.display()
        ))
    };
    let mut f = std::fs::File::open(file).map_err(read_err)?;
    let len = f.metadata().map_or(0, |m| m.len());
    let bar = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new(len);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "checking {msg} [{bar:30}] {decimal_bytes}/{decimal_total_bytes}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_message(human_size(Some(len)));
        pb
    });
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(pb) = &bar {
            pb.inc(n as u64);
        }
    }
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    Ok(crate::hex::encode(&hasher.finalize()))
}

/// Puts `src` at `dest` atomically: a hard link, else a copy, into a temp
/// file beside `dest`, then a rename. Nothing half-written is left behind.
fn install(src: &Path, dest: &Path) -> Result<&'static str> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let fail = |what: &str, e: std::io::Error| {
        CliError::failure(format!(
            "could not {what} {}: {e}; check that the cache dir is writable and has space, or set CMDAI_CACHE_DIR",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("create", e))?;
    if same_file(src, dest) {
        return Ok("already in place");
    }
    let tmp = dir.join(format!(
        ".{}.import-{}.tmp",
        dest.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let how = if std::fs::hard_link(src, &tmp).is_ok() {
        "hard link"
    } else {
        let copied = std::fs::copy(src, &tmp)
            .and_then(|_| std::fs::File::open(&tmp))
            .and_then(|f| f.sync_all());
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail("copy the model into", e));
        }
        "copy"
    };
    if let Err(e) = std::fs::rename(&tmp, dest) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("move the model into", e));
    }
    Ok(how)
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Registers a file no catalogue entry matches as `[custom_models] name`.
fn register(cat: &Catalog, file: &Path, name: Option<&str>, sha: &str) -> Result<()> {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.unwrap_or(&stem);
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !ok || name.ends_with(".gguf") {
        return Err(CliError::usage(format!(
            "`{name}` cannot name a model; pass --name with letters, digits, `-`, `_` or `.`"
        )));
    }
    if cat.get(name).is_some() {
        return Err(CliError::usage(format!(
            "`{name}` is a catalogue id but this file's checksum is not that model's; pass another --name"
        )));
    }
    let abs = std::fs::canonicalize(file)
        .map_err(|e| CliError::model(format!("cannot resolve {}: {e}", file.display())))?;
    let config = crate::config::write_key(Some("custom_models"), name, abs.display().to_string())
        .map_err(|e| CliError::failure(e.to_string()))?;
    crate::outln!(
        "{name}: registered as a custom model ({}, sha256 {}) in {}; use it with `cmdai --model {name}` or `cmdai model use {name}`",
        abs.display(),
        &sha[..12],
        config.display()
    );
    Ok(())
}
