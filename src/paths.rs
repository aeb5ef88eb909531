//! Where cmdai keeps things: the cache (models, prompt state, logs) and config.
//!
//! `CMDAI_CACHE_DIR` / `CMDAI_CONFIG_DIR` override the platform defaults from
//! `directories` (`~/.cache/cmdai`, `~/.config/cmdai` on Linux).

use std::path::PathBuf;

fn project() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "cmdai")
}

pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("CMDAI_CACHE_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    project()
        .map(|p| p.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("cmdai-cache"))
}

pub fn config_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("CMDAI_CONFIG_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    project()
        .map(|p| p.config_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("cmdai-config"))
}

/// Where the user's own data lives (memory, history): `CMDAI_DATA_DIR`, else
/// the platform's data dir (`~/.local/share/cmdai` on Linux).
pub fn data_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("CMDAI_DATA_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    project()
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("cmdai-data"))
}

/// True when the user asked for no network: `--offline`, `CMDAI_OFFLINE=1` or
/// `HF_HUB_OFFLINE=1`.
pub fn offline_requested(flag: bool) -> bool {
    let on = |k: &str| {
        std::env::var(k)
            .map(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "1" | "true" | "yes" | "on"
                )
            })
            .unwrap_or(false)
    };
    flag || on("CMDAI_OFFLINE") || on("HF_HUB_OFFLINE")
}

/// Where the prefilled prompt prefix is saved; `CMDAI_NO_PREFIX_STATE=1`
/// disables saving and restoring it (to measure the naive path).
pub fn prefix_state_dir() -> Option<PathBuf> {
    if std::env::var_os("CMDAI_NO_PREFIX_STATE").is_some_and(|v| v == "1") {
        return None;
    }
    Some(cache_dir().join("prompt-state"))
}
