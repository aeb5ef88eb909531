//! Who is on the other end of a Unix socket.
//!
//! The daemon answers only its own user. The kernel tells a server the peer's
//! uid, but not in one portable way: Linux and Android have the `SO_PEERCRED`
//! socket option, macOS and the BSDs have `getpeereid(3)`. This module hides
//! the difference so `server` compiles and checks the same on all of them.

use std::os::fd::AsFd;

/// The effective uid of the process connected to `sock`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer_uid<F: AsFd>(sock: &F) -> nix::Result<u32> {
    use nix::sys::socket::{getsockopt, sockopt};
    getsockopt(sock, sockopt::PeerCredentials).map(|c| c.uid())
}

/// The effective uid of the process connected to `sock`.
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
pub fn peer_uid<F: AsFd>(sock: &F) -> nix::Result<u32> {
    nix::unistd::getpeereid(sock.as_fd()).map(|(uid, _gid)| uid.as_raw())
}

/// The process on the other end of `sock` and its name, where the OS tells
/// (Linux: the listening process, for a client's socket), for messages
/// about a socket that does not answer.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer_process<F: AsFd>(sock: &F) -> Option<String> {
    use nix::sys::socket::{getsockopt, sockopt};
    let pid = getsockopt(sock, sockopt::PeerCredentials).ok()?.pid();
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    Some(format!("process {pid} `{}`", name.trim()))
}

/// The process on the other end of `sock` (not told on this OS).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn peer_process<F: AsFd>(_sock: &F) -> Option<String> {
    None
}

/// Whether the process connected to `sock` runs as this process's user; any
/// failure to find out counts as no.
pub fn is_same_user<F: AsFd>(sock: &F) -> bool {
    peer_uid(sock).is_ok_and(|uid| uid == nix::unistd::getuid().as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_socket_pair_is_our_own_user() {
        let (a, b) = UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), nix::unistd::getuid().as_raw());
        assert!(is_same_user(&b));
    }
}
