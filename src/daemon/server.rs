//! `cmdai serve`: the daemon side of the socket.
//!
//! The socket is bound before the model loads, so clients can connect at once
//! and queue behind the load. One thread per connection; all of them share the
//! single inference [`Worker`], taking turns in the order they came
//! ([`Turns`]), and each client is told how many are ahead of it and when its
//! own request starts. A client that hangs up mid-generation cancels its
//! request. The daemon exits after `idle_timeout` without requests; asked to
//! stop (`Shutdown`), it first finishes the requests it has taken, so a
//! client with other settings never cuts off someone else's answer.

use super::peer;
use super::protocol::{self, DaemonInfo, ErrorKind, Request, Response, PROTOCOL_VERSION};
use crate::engine::worker::Worker;
use crate::engine::EngineError;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recv, MsgFlags};
use std::io::BufReader;
use std::os::fd::AsFd;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Stop now (a signal).
static STOP: AtomicBool = AtomicBool::new(false);
/// Stop once the requests already taken are answered (`Shutdown`).
static DRAIN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// What the daemon serves with.
pub struct ServeOptions {
    pub socket: PathBuf,
    pub idle_timeout: Duration,
    pub model_id: String,
    pub model_name: String,
    /// Reported to clients, which replace a daemon started with other settings.
    pub threads: usize,
    pub context_size: usize,
    /// What the daemon this one replaced served (see [`DaemonInfo::replaced`]).
    pub replaced: Option<super::protocol::Wants>,
}

/// Requests take turns at the one model, first come first served: each gets
/// a ticket, and the ticket being served moves on when a request is done.
#[derive(Default)]
struct Turns {
    /// (next ticket to give, ticket being served)
    state: Mutex<(u64, u64)>,
    moved: std::sync::Condvar,
}

impl Turns {
    fn take(&self) -> u64 {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 += 1;
        s.0 - 1
    }
    /// How many requests are ahead of `ticket`.
    fn ahead(&self, ticket: u64) -> usize {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        ticket.saturating_sub(s.1) as usize
    }
    /// Waits up to `wait` for the turn to move.
    fn wait(&self, wait: Duration) {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self.moved.wait_timeout(s, wait);
    }
    fn done(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.1 += 1;
        self.moved.notify_all();
    }
    /// Requests running or waiting.
    fn busy(&self) -> usize {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (s.0 - s.1) as usize
    }
}

/// How long a connection may stay silent between requests: a client sends its
/// request right after `Hello`, so this only ends stuck or idle clients.
pub fn connection_timeout(idle_timeout: Duration) -> Duration {
    idle_timeout.clamp(Duration::from_secs(1), Duration::from_secs(30))
}

struct Shared {
    worker: Worker,
    turns: Turns,
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
            threads: self.opts.threads,
            context_size: self.opts.context_size,
            busy: self.turns.busy(),
            replaced: self.opts.replaced.clone(),
        }
    }

    /// Waits for this request's turn at the model, telling the client how
    /// many are ahead whenever that changes, then that it started. `Err`
    /// when the client left while waiting (the turn is then passed on at
    /// once); either way the caller calls `turns.done()` after.
    fn wait_turn(&self, stream: &UnixStream, writer: &mut UnixStream) -> Result<(), ()> {
        let ticket = self.turns.take();
        let mut told = None;
        let mut gone = false;
        loop {
            let ahead = self.turns.ahead(ticket);
            if ahead == 0 {
                break;
            }
            if !gone && told != Some(ahead) {
                told = Some(ahead);
                gone = protocol::write_msg(writer, &Response::Queued { ahead }).is_err();
            }
            self.turns.wait(Duration::from_millis(25));
            gone = gone || peer_gone(stream);
        }
        if gone || protocol::write_msg(writer, &Response::Started).is_err() {
            return Err(());
        }
        Ok(())
    }
    fn touch(&self) {
        *self.last_activity.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }
}

/// Creates the socket directory with mode 0700, or checks the one that is
/// there: it must be a real directory (not a symbolic link, which could point
/// anywhere), owned by this user, with no group or other permissions. Anything
/// else is refused with one sentence saying what to do, and never chmod-ed:
/// someone else could have planted it.
pub fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Err(e) = std::fs::symlink_metadata(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(e);
        }
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            // Made by a concurrent client a moment ago: checked below like any other.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    check_dir(dir)
}

/// Why `dir` cannot hold the socket, as one sentence; `Ok` when it is private.
pub fn check_dir(dir: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    let uid = nix::unistd::getuid().as_raw();
    let d = dir.display();
    let fix = "remove it, or set CMDAI_SOCKET_DIR to a private directory";
    let problem = if meta.file_type().is_symlink() {
        format!("the socket directory {d} is a symbolic link; {fix}")
    } else if !meta.is_dir() {
        format!("the socket directory {d} is not a directory; {fix}")
    } else if meta.uid() != uid {
        format!(
            "the socket directory {d} belongs to another user (uid {}); {fix}",
            meta.uid()
        )
    } else if meta.mode() & 0o077 != 0 {
        format!(
            "the socket directory {d} is open to other users (mode {:o}); run `chmod 700 {d}` or {fix}",
            meta.mode() & 0o777
        )
    } else {
        return Ok(());
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        problem,
    ))
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
    Response::Error {
        kind: ErrorKind::of(e),
        message: e.to_string(),
    }
}

fn handle(stream: UnixStream, shared: &Shared) -> std::io::Result<()> {
    // Only the user who owns the daemon may use it.
    let mut writer = stream.try_clone()?;
    // A client that stops talking (or reading) is hung up on, so it cannot
    // keep the daemon from its idle exit.
    let wait = connection_timeout(shared.opts.idle_timeout);
    stream.set_read_timeout(Some(wait))?;
    stream.set_write_timeout(Some(wait))?;
    if !peer::is_same_user(&stream) {
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
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                let _ = protocol::write_msg(
                    &mut writer,
                    &Response::Error {
                        kind: ErrorKind::BadRequest,
                        message: format!(
                            "no request within {} s; closing the connection",
                            wait.as_secs()
                        ),
                    },
                );
                return Ok(());
            }
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
                DRAIN.store(true, Ordering::SeqCst);
                Response::ShuttingDown
            }
            Request::Explain { command } => {
                let turn = shared.wait_turn(&stream, &mut writer);
                if turn.is_err() {
                    shared.turns.done();
                    return Ok(());
                }
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
                let result = pending.wait();
                shared.turns.done();
                shared.served.fetch_add(1, Ordering::Relaxed);
                shared.touch();
                match result {
                    Ok(g) => Response::Explained(g),
                    Err(e) => error_response(&e),
                }
            }
            Request::Generate(req) => {
                if shared.wait_turn(&stream, &mut writer).is_err() {
                    shared.turns.done();
                    return Ok(());
                }
                let pending = shared.worker.submit(req);
                let result = loop {
                    if let Some(r) = pending.wait_timeout(Duration::from_millis(25)) {
                        break r;
                    }
                    if peer_gone(&stream) {
                        pending.cancel.store(true, Ordering::Relaxed);
                    }
                };
                shared.turns.done();
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

/// Runs the daemon until idle, `Shutdown`, SIGTERM or SIGINT, or until the
/// model has failed to load and every client connected by then has been told
/// why: then the load error is returned, so the daemon does not sit answering
/// errors until its idle timeout.
pub fn serve(
    listener: UnixListener,
    worker: Worker,
    opts: ServeOptions,
) -> std::io::Result<Option<EngineError>> {
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
    // The socket file as bound: only this one is ever removed, never one a
    // daemon that replaced this one has bound at the same path since.
    let ours = socket_id(&socket);
    let shared = Arc::new(Shared {
        worker,
        turns: Turns::default(),
        ready: AtomicBool::new(false),
        served: AtomicU64::new(0),
        active: AtomicUsize::new(0),
        last_activity: Mutex::new(Instant::now()),
        opts,
    });
    let load_error: Arc<Mutex<Option<EngineError>>> = Arc::default();
    {
        let shared = shared.clone();
        let load_error = load_error.clone();
        std::thread::spawn(move || match shared.worker.wait_ready() {
            Ok(()) => shared.ready.store(true, Ordering::Relaxed),
            Err(e) => {
                eprintln!("cmdai serve: {e}");
                *load_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
            }
        });
    }
    listener.set_nonblocking(true)?;
    eprintln!(
        "cmdai serve: listening on {} (pid {})",
        socket.display(),
        std::process::id()
    );
    let accept = |stream: UnixStream| -> std::io::Result<()> {
        stream.set_nonblocking(false)?;
        shared.active.fetch_add(1, Ordering::SeqCst);
        let shared = shared.clone();
        std::thread::spawn(move || {
            let _ = handle(stream, &shared);
            shared.active.fetch_sub(1, Ordering::SeqCst);
        });
        Ok(())
    };
    let failed = || load_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    while !STOP.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => accept(stream)?,
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
                let quiet = shared.active.load(Ordering::SeqCst) == 0;
                if quiet && failed().is_some() {
                    eprintln!("cmdai serve: the model did not load, exiting");
                    drain(&listener, &socket, ours, &shared, accept)?;
                    return Ok(failed());
                }
                if quiet && idle >= shared.opts.idle_timeout {
                    eprintln!("cmdai serve: idle for {}s, exiting", idle.as_secs());
                    drain(&listener, &socket, ours, &shared, accept)?;
                    return Ok(None);
                }
                if DRAIN.load(Ordering::SeqCst) {
                    eprintln!(
                        "cmdai serve: asked to stop; finishing {} request(s) first",
                        shared.turns.busy()
                    );
                    drain(&listener, &socket, ours, &shared, accept)?;
                    return Ok(None);
                }
                // The socket file was removed or replaced: another daemon
                // took over. Finish what was taken, then go.
                if socket_id(&socket) != ours {
                    drain(&listener, &socket, ours, &shared, accept)?;
                    return Ok(None);
                }
            }
            Err(e) => {
                eprintln!("cmdai serve: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    remove_if_ours(&socket, ours);
    Ok(None)
}

/// The device and inode of the file at `path`.
fn socket_id(path: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Removes the socket file when it is still the one this daemon bound.
fn remove_if_ours(socket: &Path, ours: Option<(u64, u64)>) {
    if ours.is_some() && socket_id(socket) == ours {
        let _ = std::fs::remove_file(socket);
    }
}

/// Leaving on our own: the socket file goes first, so no new client can
/// connect (and a replacing daemon can bind the path at once); whoever
/// connected just before is still accepted, and every request taken is
/// answered before the process ends.
fn drain(
    listener: &UnixListener,
    socket: &Path,
    ours: Option<(u64, u64)>,
    shared: &Shared,
    accept: impl Fn(UnixStream) -> std::io::Result<()>,
) -> std::io::Result<()> {
    remove_if_ours(socket, ours);
    loop {
        match listener.accept() {
            Ok((stream, _)) => accept(stream)?,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => break,
        }
    }
    while shared.active.load(Ordering::SeqCst) > 0 && !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
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

    #[test]
    fn socket_dir_is_made_private_and_anything_else_refused() {
        use std::os::unix::fs::DirBuilderExt;
        let t = tempfile::tempdir().unwrap();
        // Made fresh: 0700, whatever the umask.
        let fresh = t.path().join("a").join("cmdai");
        prepare_dir(&fresh).unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o777, 0o700);
        prepare_dir(&fresh).unwrap();

        let refused = |dir: &Path, why: &str| {
            let e = prepare_dir(dir).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
            assert!(e.to_string().contains(why), "{e}");
            assert!(e.to_string().contains("CMDAI_SOCKET_DIR"), "{e}");
        };
        // A planted symbolic link, even to a private directory of ours: not
        // followed, not chmod-ed.
        let target = t.path().join("target");
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&target)
            .unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        refused(&link, "is a symbolic link");
        assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o777, 0o755);
        // Open to group or others: refused, left as it is.
        let open = t.path().join("open");
        std::fs::create_dir(&open).unwrap();
        for mode in [0o770, 0o705, 0o777] {
            std::fs::set_permissions(&open, std::fs::Permissions::from_mode(mode)).unwrap();
            refused(&open, "is open to other users");
            assert_eq!(std::fs::metadata(&open).unwrap().mode() & 0o777, mode);
        }
        // A file where the directory should be.
        let file = t.path().join("file");
        std::fs::write(&file, b"").unwrap();
        refused(&file, "is not a directory");
        // Another user's directory (only root can make one here).
        let theirs = t.path().join("theirs");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&theirs)
            .unwrap();
        let nobody = nix::unistd::Uid::from_raw(65534);
        if nix::unistd::chown(&theirs, Some(nobody), None).is_ok() {
            refused(&theirs, "belongs to another user (uid 65534)");
        }
    }
}
