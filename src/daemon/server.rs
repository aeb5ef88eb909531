//! `cmdai serve`: the daemon side of the socket.
//!
//! The socket is bound before the model loads, so clients can connect at once
//! and queue behind the load. One thread per connection; all of them share the
//! single inference [`Worker`]. A client that hangs up mid-generation cancels
//! its request. The daemon exits after `idle_timeout` without requests.

use super::protocol::{self, DaemonInfo, ErrorKind, Request, Response, PROTOCOL_VERSION};
use crate::engine::worker::Worker;
use crate::engine::EngineError;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{getsockopt, recv, sockopt, MsgFlags};
use std::io::BufReader;
use std::os::fd::AsFd;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// What the daemon serves with.
pub struct ServeOptions {
    pub socket: PathBuf,
    pub idle_timeout: Duration,
    pub model_id: String,
    pub model_name: String,
}

struct Shared {
    worker: Worker,
    ready: AtomicBool,
    served: AtomicU64,
    active: AtomicUsize,
    last_activity: Mutex<Instant>,
    opts: ServeOptions,
}

impl Shared {
    fn info(&self) -> DaemonInfo {
        DaemonInfo {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            model_id: self.opts.model_id.clone(),
            model: self.opts.model_name.clone(),
            pid: std::process::id(),
            ready: self.ready.load(Ordering::Relaxed),
            requests_served: self.served.load(Ordering::Relaxed),
            idle_timeout_s: self.opts.idle_timeout.as_secs(),
        }
    }
    fn touch(&self) {
        *self.last_activity.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }
}

/// Creates the socket directory (0700), refusing one owned by someone else.
pub fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let meta = std::fs::metadata(dir)?;
    let uid = nix::unistd::getuid().as_raw();
    if meta.uid() != uid {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{} belongs to another user (uid {}); remove it or set CMDAI_SOCKET_DIR",
                dir.display(),
                meta.uid()
            ),
        ));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Binds the socket, replacing a stale one left by a crashed daemon.
/// Fails if a live daemon already answers there.
pub fn bind(socket: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = socket.parent() {
        prepare_dir(dir)?;
    }
    if socket.exists() {
        if UnixStream::connect(socket).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!(
                    "a cmdai daemon is already running on {}; `cmdai daemon stop` stops it",
                    socket.display()
                ),
            ));
        }
        // Nobody listens: a stale socket from a daemon that died.
        std::fs::remove_file(socket)?;
    }
    let listener = UnixListener::bind(socket)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// True when the client has hung up (EOF or error), without consuming data.
fn peer_gone(stream: &UnixStream) -> bool {
    let mut buf = [0u8; 1];
    match recv(
        stream.as_raw_fd(),
        &mut buf,
        MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
    ) {
        Ok(0) => true,
        Ok(_) => false,
        Err(nix::errno::Errno::EAGAIN) => false,
        Err(_) => true,
    }
}

fn error_response(e: &EngineError) -> Response {
    let kind = match e {
        EngineError::Load { .. } => ErrorKind::ModelLoad,
        EngineError::TooLong { .. } => ErrorKind::TooLong,
        EngineError::Cancelled => ErrorKind::Cancelled,
        _ => ErrorKind::Inference,
    };
    Response::Error {
        kind,
        message: e.to_string(),
    }
}

fn handle(stream: UnixStream, shared: &Shared) -> std::io::Result<()> {
    // Only the user who owns the daemon may use it.
    let me = nix::unistd::getuid().as_raw();
    let peer_ok = getsockopt(&stream, sockopt::PeerCredentials).is_ok_and(|c| c.uid() == me);
    let mut writer = stream.try_clone()?;
    if !peer_ok {
        return protocol::write_msg(
            &mut writer,
            &Response::Error {
                kind: ErrorKind::BadRequest,
                message: "refused: this daemon belongs to another user".into(),
            },
        );
    }
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let msg: Option<Request> = match protocol::read_msg(&mut reader) {
            Ok(m) => m,
            Err(e) => {
                let _ = protocol::write_msg(
                    &mut writer,
                    &Response::Error {
                        kind: ErrorKind::BadRequest,
                        message: format!("unreadable request: {e}"),
                    },
                );
                return Ok(());
            }
        };
        let Some(msg) = msg else { return Ok(()) };
        shared.touch();
        let resp = match msg {
            Request::Hello { .. } => Response::Hello(shared.info()),
            Request::Status => Response::Status(shared.info()),
            Request::Shutdown => {
                STOP.store(true, Ordering::SeqCst);
                Response::ShuttingDown
            }
            Request::Explain { command } => {
                let (pending, pieces) = shared.worker.submit_explain(command);
                loop {
                    match pieces.recv_timeout(Duration::from_millis(25)) {
                        Ok(text) => {
                            if protocol::write_msg(&mut writer, &Response::Piece { text }).is_err()
                            {
                                pending.cancel.store(true, Ordering::Relaxed);
                            }
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                            if peer_gone(&stream) {
                                pending.cancel.store(true, Ordering::Relaxed);
                            }
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
                shared.served.fetch_add(1, Ordering::Relaxed);
                shared.touch();
                match pending.wait() {
                    Ok(g) => Response::Explained(g),
                    Err(e) => error_response(&e),
                }
            }
            Request::Generate(req) => {
                let pending = shared.worker.submit(req);
                let result = loop {
                    if let Some(r) = pending.wait_timeout(Duration::from_millis(25)) {
                        break r;
                    }
                    if peer_gone(&stream) {
                        pending.cancel.store(true, Ordering::Relaxed);
                    }
                };
                shared.served.fetch_add(1, Ordering::Relaxed);
                shared.touch();
                match result {
                    Ok(g) => Response::Generated(g),
                    Err(e) => error_response(&e),
                }
            }
        };
        protocol::write_msg(&mut writer, &resp)?;
    }
}

/// Runs the daemon until idle, `Shutdown`, SIGTERM or SIGINT.
pub fn serve(listener: UnixListener, worker: Worker, opts: ServeOptions) -> std::io::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            let _ = sigaction(sig, &action);
        }
    }
    let socket = opts.socket.clone();
    let shared = Arc::new(Shared {
        worker,
        ready: AtomicBool::new(false),
        served: AtomicU64::new(0),
        active: AtomicUsize::new(0),
        last_activity: Mutex::new(Instant::now()),
        opts,
    });
    {
        let shared = shared.clone();
        std::thread::spawn(move || match shared.worker.wait_ready() {
            Ok(()) => shared.ready.store(true, Ordering::Relaxed),
            Err(e) => eprintln!("cmdai serve: {e}"),
        });
    }
    listener.set_nonblocking(true)?;
    eprintln!(
        "cmdai serve: listening on {} (pid {})",
        socket.display(),
        std::process::id()
    );
    while !STOP.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                shared.active.fetch_add(1, Ordering::SeqCst);
                shared.touch();
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &shared);
                    shared.active.fetch_sub(1, Ordering::SeqCst);
                    shared.touch();
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // Sleep until a client connects (no polling delay on the
                // request path), waking now and then for signals and idleness.
                let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
                let _ = poll(&mut fds, PollTimeout::from(250u16));
                let idle = shared
                    .last_activity
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .elapsed();
                if shared.active.load(Ordering::SeqCst) == 0 && idle >= shared.opts.idle_timeout {
                    eprintln!("cmdai serve: idle for {}s, exiting", idle.as_secs());
                    break;
                }
                // The socket file was removed or replaced: another daemon took over.
                if !socket.exists() {
                    break;
                }
            }
            Err(e) => {
                eprintln!("cmdai serve: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_socket_is_replaced_and_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("d").join("cmdai.sock");
        let l = bind(&sock).unwrap();
        // Live: a second bind is refused.
        assert_eq!(
            bind(&sock).unwrap_err().kind(),
            std::io::ErrorKind::AddrInUse
        );
        drop(l);
        // Stale: the file remains but nobody listens; bind replaces it. (A
        // child process another test is forking at this moment can hold a
        // copy of the listener until it execs, so allow it a moment.)
        assert!(sock.exists());
        let mut tries = 0;
        let _l2 = loop {
            match bind(&sock) {
                Ok(l) => break l,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("the stale socket was not replaced: {e}"),
            }
        };
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(sock.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
    }
}
