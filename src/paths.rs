//! Where cmdai keeps things (the cache: models, prompt state, answers; the
//! data: history and memory; config), and keeping them private.
//!
//! `CMDAI_CACHE_DIR` / `CMDAI_CONFIG_DIR` / `CMDAI_DATA_DIR` override the
//! platform defaults from `directories` (`~/.cache/cmdai`, `~/.config/cmdai`,
//! `~/.local/share/cmdai` on Linux).
//!
//! Private by default: what cmdai stores says what the user asked and ran,
//! so every file it creates is 0600 and every folder 0700, whatever the
//! umask ([`private_umask`] at start, and explicit modes where it matters:
//! [`private_dir`], [`create_private`]). Folders an older cmdai left open
//! are closed on first use, with one line saying so ([`tighten`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Mode of every file cmdai creates.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every folder cmdai creates.
pub const DIR_MODE: u32 = 0o700;

fn project() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "cmdai")
}

pub fn cache_dir() -> PathBuf {
    if let Some(p) = crate::settings::CACHE_DIR.env() {
        return p;
    }
    project()
        .map(|p| p.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("cmdai-cache"))
}

pub fn config_dir() -> PathBuf {
    if let Some(p) = crate::settings::CONFIG_DIR.env() {
        return p;
    }
    project()
        .map(|p| p.config_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("cmdai-config"))
}

/// Where the user's own data lives (memory, history): `CMDAI_DATA_DIR`, else
/// the platform's data dir (`~/.local/share/cmdai` on Linux).
pub fn data_dir() -> PathBuf {
    if let Some(p) = crate::settings::DATA_DIR.env() {
        return p;
    }
    project()
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("cmdai-data"))
}

/// True when the user asked for no network: `--offline`, else
/// `CMDAI_OFFLINE`, else `HF_HUB_OFFLINE`.
pub fn offline_requested(flag: bool) -> bool {
    flag || crate::settings::OFFLINE.env().unwrap_or(false)
}

/// Where the prefilled prompt prefix is saved; `CMDAI_NO_PREFIX_STATE=1`
/// disables saving and restoring it (to measure the naive path). The cache
/// folder is made (private) here, so the state saved in it is private too.
pub fn prefix_state_dir() -> Option<PathBuf> {
    if crate::settings::NO_PREFIX_STATE.env().unwrap_or(false) {
        return None;
    }
    let _ = private_dir(&cache_dir());
    Some(cache_dir().join("prompt-state"))
}

/// The umask this process started with, before [`private_umask`].
static USER_UMASK: Mutex<Option<u32>> = Mutex::new(None);

/// Makes everything this process creates private (umask 077), so files
/// written by code that gives no mode (llama.cpp's saved state, logs) are
/// 0600 too. Commands that run the user's own programs restore the user's
/// umask for them ([`user_umask`]).
pub fn private_umask() {
    use nix::sys::stat::{umask, Mode};
    let old = umask(Mode::from_bits_truncate(0o077));
    let mut saved = USER_UMASK.lock().unwrap_or_else(|e| e.into_inner());
    if saved.is_none() {
        *saved = Some(old.bits() as u32);
    }
}

/// The user's umask, when [`private_umask`] replaced it.
pub fn user_umask() -> Option<u32> {
    *USER_UMASK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Creates `dir` (and its parents) when missing; a folder made here is 0700
/// whatever the umask. An existing folder is left as it is, except that
/// [`tighten`] closes one cmdai itself left open.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(_) => {
            tighten(dir);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            match std::fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
                Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE)),
                // Made a moment ago by another cmdai.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Options that create a file 0600 (then set explicitly, whatever the umask).
pub fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.mode(FILE_MODE);
    o
}

/// Creates (or truncates) `path` as a private file: 0600 whatever the umask.
pub fn create_private(path: &Path) -> io::Result<File> {
    let f = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// Folders already checked by [`tighten`] in this process.
static TIGHTENED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Closes a folder of cmdai's that is open to other users (as an older cmdai
/// left them: 0755 folders, 0644 files): the folder becomes 0700 and what is
/// in it loses its group and other permissions, with one line on stderr
/// saying so. Once per folder and process; never follows a symbolic link,
/// and leaves alone a folder that is not this user's or that others share
/// on purpose (the sticky bit, as on /tmp).
pub fn tighten(dir: &Path) {
    {
        let mut seen = TIGHTENED.lock().unwrap_or_else(|e| e.into_inner());
        if seen.iter().any(|d| d == dir) {
            return;
        }
        seen.push(dir.to_path_buf());
    }
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    let mode = meta.mode() & 0o7777;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if !meta.is_dir()
        || meta.uid() != nix::unistd::getuid().as_raw()
        || mode & 0o1000 != 0
        || mode & 0o077 == 0
        || dir == Path::new("/")
        || home.as_deref() == Some(dir)
    {
        return;
    }
    if std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE)).is_err() {
        return;
    }
    let inside = match close_contents(dir, 3) {
        0 => String::new(),
        1 => ", with the 1 entry in it that others could read".to_string(),
        n => format!(", with the {n} entries in it that others could read"),
    };
    eprintln!(
        "cmdai: {} was open to other users (mode {:o}); made it private to you{inside}",
        dir.display(),
        mode & 0o777
    );
}

/// Removes group and other permissions below `dir` (not following links,
/// at most `depth` levels); returns how many entries changed.
fn close_contents(dir: &Path, depth: u32) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let me = nix::unistd::getuid().as_raw();
    let mut changed = 0;
    for e in rd.filter_map(|e| e.ok()) {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.file_type().is_symlink() || m.uid() != me {
            continue;
        }
        let mode = m.mode() & 0o7777;
        if mode & 0o077 != 0
            && std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode & !0o077)).is_ok()
        {
            changed += 1;
        }
        if m.is_dir() && depth > 1 {
            changed += close_contents(&p, depth - 1);
        }
    }
    changed
}

/// What in `dir` other users may read or enter: `(path, mode)` pairs, for
/// `cmdai doctor`. The folder itself, then up to two levels inside, not
/// following links; what is inside a folder others cannot enter is out of
/// their reach, whatever its own mode.
pub fn open_to_others(dir: &Path) -> Vec<(PathBuf, u32)> {
    fn walk(p: &Path, depth: u32, out: &mut Vec<(PathBuf, u32)>) {
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return;
        };
        if m.file_type().is_symlink() {
            return;
        }
        if m.mode() & 0o077 == 0 {
            return;
        }
        out.push((p.to_path_buf(), m.mode() & 0o777));
        if m.is_dir() && depth > 0 {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.filter_map(|e| e.ok()) {
                    walk(&e.path(), depth - 1, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, 2, &mut out);
    out
}

/// Replaces `path` with `bytes` atomically: a temporary file in the same
/// folder, synced, renamed over it. The new file has the old one's mode
/// (0600 when there was none); a crash leaves the old file or the new one,
/// never a mix.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mode = std::fs::metadata(path).map_or(FILE_MODE, |m| m.mode() & 0o7777);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut n = 0;
    let (tmp, mut f) = loop {
        let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        match private_options().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    };
    let written = f
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .and_then(|()| f.write_all(bytes))
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself reaches the disk with the folder.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Where a write to `path` should go: `path` itself, or, when it is a
/// symbolic link (a config file kept in a dotfiles folder), the file it
/// points to, followed link by link, so the link stays a link.
pub fn write_target(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&p) {
            Ok(to) => {
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                }
            }
            Err(_) => break,
        }
    }
    p
}
