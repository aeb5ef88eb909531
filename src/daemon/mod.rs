//! The resident model: a per-user daemon that keeps the model and the prompt
//! prefix in memory, so a request costs only its own tokens.
//!
//! [`protocol`] is the wire format, [`server`] is `cmdai serve`, [`client`] is
//! what every `cmdai "..."` (and the shell widget) uses to reach it, starting
//! it when needed. The socket lives in a directory only the user can enter.

pub mod client;
pub mod peer;
pub mod protocol;
pub mod server;

use std::path::PathBuf;

/// `$XDG_RUNTIME_DIR/cmdai/` if set, else `/tmp/cmdai-$UID/`.
pub fn socket_dir() -> PathBuf {
    if let Some(d) = crate::settings::SOCKET_DIR.env() {
        return d;
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("cmdai"),
        None => std::env::temp_dir().join(format!("cmdai-{}", nix::unistd::getuid())),
    }
}

pub fn socket_path() -> PathBuf {
    socket_dir().join("cmdai.sock")
}

/// Where a detached daemon writes its log: beside its socket, in the
/// private socket folder (not the cache, which may be read-only).
pub fn log_path() -> PathBuf {
    socket_dir().join("daemon.log")
}
