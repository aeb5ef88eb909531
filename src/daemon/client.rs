//! Reaching the daemon: connect, check it is ours and current, start it when
//! absent, replace it when outdated or started for other settings, but
//! never while it is answering someone else.
//!
//! A daemon's own errors (model does not load, request too long) come back as
//! the same [`EngineError`] an in-process run would give. Every other failure
//! here is recoverable: the caller answers in its own process and says why in
//! one line, so each [`ClientError`] names the socket and what was found
//! there, and what to do about it.
//!
//! Time limits: a request waits at most [`queue_limit`] for its turn
//! (`CMDAI_QUEUE_TIMEOUT`, default 10 minutes), then has [`answer_limit`]
//! (`CMDAI_ANSWER_TIMEOUT`, default 300 s) from when the model takes it up;
//! time spent behind other clients' requests never counts against the answer.

use super::protocol::{self, DaemonInfo, ErrorKind, Request, Response, Wants, PROTOCOL_VERSION};
use super::{log_path, socket_path};
use crate::engine::{EngineError, GenerateRequest, Generation};
use std::io::BufReader;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a client waits for a daemon it started to open its socket.
const START_WAIT: Duration = Duration::from_secs(30);
/// How long a daemon has to answer `Hello`.
const HELLO_WAIT: Duration = Duration::from_secs(10);
/// Set by a client that replaces a daemon, for the new one: what the old one
/// served (JSON of [`Wants`]).
pub const REPLACES_ENV: &str = match crate::settings::DAEMON_REPLACES.info.var {
    Some(v) => v,
    None => "",
};

fn limit(d: &crate::settings::Decl<Duration>) -> Duration {
    d.env().unwrap_or_else(|| d.fallback_value())
}

/// How long a request may wait for its turn at the daemon
/// (`CMDAI_QUEUE_TIMEOUT`, default 10 minutes).
pub fn queue_limit() -> Duration {
    limit(&crate::settings::QUEUE_TIMEOUT)
}

/// How long the daemon may take once it has started on a request (the model
/// may still be loading) (`CMDAI_ANSWER_TIMEOUT`, default 300 s).
pub fn answer_limit() -> Duration {
    limit(&crate::settings::ANSWER_TIMEOUT)
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no daemon is running")]
    NotRunning,
    #[error("the socket directory {0} is not private to this user (a symbolic link, another user's, or open to others); refusing to use it: remove it, or set CMDAI_SOCKET_DIR to a private directory")]
    Unsafe(String),
    #[error("{} is {found}, not the daemon's socket; cmdai leaves it alone: remove it if nothing needs it, or set CMDAI_SOCKET_DIR to another folder", path.display())]
    NotASocket { path: PathBuf, found: &'static str },
    #[error("something accepts connections on {}{} but did not answer within {} s (a stuck daemon?); stop it, or remove the socket, so cmdai can start its daemon there", path.display(), who.as_ref().map(|w| format!(" ({w})")).unwrap_or_default(), waited.as_secs())]
    NoAnswer {
        path: PathBuf,
        who: Option<String>,
        waited: Duration,
    },
    #[error("the daemon could not be started: {0}")]
    StartFailed(String),
    #[error("the daemon stopped in the middle of the request")]
    Died,
    #[error("the daemon is a different version or runs another model")]
    Mismatch(Box<DaemonInfo>),
    /// A daemon started for other settings, which replaced one with this
    /// client's settings: replacing it back would reload at each switch.
    #[error("{0}")]
    OtherSettings(String),
    #[error("{0}")]
    TimedOut(String),
    #[error("{0}")]
    Engine(EngineError),
    #[error("talking to the daemon at {sock} failed: {0}", sock = socket_path().display())]
    Io(#[from] std::io::Error),
}

/// What a file at the socket path is, when it is not a socket.
fn not_a_socket(socket: &Path) -> Option<ClientError> {
    let meta = std::fs::symlink_metadata(socket).ok()?;
    let t = meta.file_type();
    let found = if t.is_socket() {
        return None;
    } else if t.is_dir() {
        "a folder"
    } else if t.is_file() {
        "a regular file"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "neither a socket nor a file"
    };
    Some(ClientError::NotASocket {
        path: socket.to_path_buf(),
        found,
    })
}

/// A checked connection to a daemon.
pub struct Connection {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    socket: PathBuf,
    pub info: DaemonInfo,
}

/// Refuses a socket whose directory or file belongs to someone else or is
/// open to others: another user could be impersonating the daemon.
pub fn check_private(socket: &Path) -> Result<(), ClientError> {
    let me = nix::unistd::getuid().as_raw();
    for p in [socket.parent(), Some(socket)].into_iter().flatten() {
        // Never follow a link: it could lead anywhere.
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            return Err(ClientError::NotRunning);
        };
        let open_to_others = p != socket && meta.mode() & 0o077 != 0;
        if meta.file_type().is_symlink() || meta.uid() != me || open_to_others {
            return Err(ClientError::Unsafe(p.display().to_string()));
        }
    }
    Ok(())
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn hung_up(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
    )
}

impl Connection {
    /// Connects and exchanges `Hello`.
    pub fn open(socket: &Path) -> Result<Connection, ClientError> {
        if let Some(e) = not_a_socket(socket) {
            return Err(e);
        }
        check_private(socket)?;
        let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning
            }
            _ => ClientError::Io(e),
        })?;
        stream.set_read_timeout(Some(HELLO_WAIT))?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        protocol::write_msg(
            &mut writer,
            &Request::Hello {
                protocol: PROTOCOL_VERSION,
            },
        )?;
        match protocol::read_msg::<_, Response>(&mut reader) {
            Ok(Some(Response::Hello(info))) => Ok(Connection {
                reader,
                writer,
                socket: socket.to_path_buf(),
                info,
            }),
            Ok(Some(Response::Error { message, .. })) => Err(ClientError::StartFailed(message)),
            Ok(Some(_)) => Err(ClientError::Io(std::io::Error::other(
                "unexpected answer to hello",
            ))),
            Ok(None) => Err(ClientError::Died),
            Err(e) if timed_out(&e) => Err(ClientError::NoAnswer {
                path: socket.to_path_buf(),
                who: super::peer::peer_process(reader.get_ref()),
                waited: HELLO_WAIT,
            }),
            Err(e) if hung_up(&e) => Err(ClientError::Died),
            Err(e) => Err(ClientError::Io(e)),
        }
    }

    /// The next message, waiting until `deadline`; `Ok(None)` when it passed.
    fn next(&mut self, deadline: Instant) -> Result<Option<Response>, ClientError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        self.reader.get_ref().set_read_timeout(Some(left))?;
        match protocol::read_msg::<_, Response>(&mut self.reader) {
            Ok(Some(r)) => Ok(Some(r)),
            Ok(None) => Err(ClientError::Died),
            Err(e) if timed_out(&e) => Ok(None),
            Err(e) if hung_up(&e) => Err(ClientError::Died),
            Err(e) => Err(ClientError::Io(e)),
        }
    }

    /// Sends `req` and waits for its answer: first its turn (the queue
    /// limit), then the answer itself (the answer limit, from when the
    /// daemon started on it).
    fn request(&mut self, req: &Request) -> Result<Response, ClientError> {
        protocol::write_msg(&mut self.writer, req)?;
        let mut deadline = Instant::now() + queue_limit();
        let mut ahead = 0;
        let mut started = false;
        loop {
            match self.next(deadline)? {
                Some(Response::Queued { ahead: n }) => ahead = n,
                Some(Response::Started) => {
                    started = true;
                    deadline = Instant::now() + answer_limit();
                }
                Some(other) => return Ok(other),
                None => return Err(self.timed_out(started, ahead)),
            }
        }
    }

    fn timed_out(&self, started: bool, ahead: usize) -> ClientError {
        let at = self.socket.display();
        ClientError::TimedOut(if started {
            format!(
                "the daemon at {at} took more than {} s to answer (CMDAI_ANSWER_TIMEOUT sets the limit)",
                answer_limit().as_secs()
            )
        } else {
            format!(
                "the daemon at {at} still had {ahead} request(s) ahead of this one after {} s (CMDAI_QUEUE_TIMEOUT sets the limit)",
                queue_limit().as_secs()
            )
        })
    }

    /// A short exchange (status, shutdown): no queue.
    fn call(&mut self, req: &Request, wait: Duration) -> Result<Response, ClientError> {
        protocol::write_msg(&mut self.writer, req)?;
        match self.next(Instant::now() + wait)? {
            Some(r) => Ok(r),
            None => Err(ClientError::NoAnswer {
                path: self.socket.clone(),
                who: super::peer::peer_process(self.reader.get_ref()),
                waited: wait,
            }),
        }
    }

    pub fn ask_for_command(&mut self, req: GenerateRequest) -> Result<Generation, ClientError> {
        match self.request(&Request::Generate(req))? {
            Response::Generated(g) => Ok(g),
            Response::Error { kind, message } => Err(engine_error(kind, message)),
            _ => Err(ClientError::Io(std::io::Error::other("unexpected answer"))),
        }
    }

    /// Asks for an explanation of `command`, handing each piece to `on_piece`
    /// as it arrives.
    pub fn explain(
        &mut self,
        command: &str,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<Generation, ClientError> {
        let mut resp = self.request(&Request::Explain {
            command: command.to_string(),
        })?;
        let deadline = Instant::now() + answer_limit();
        loop {
            match resp {
                Response::Piece { text } => on_piece(&text),
                Response::Explained(g) => return Ok(g),
                Response::Error { kind, message } => return Err(engine_error(kind, message)),
                _ => return Err(ClientError::Io(std::io::Error::other("unexpected answer"))),
            }
            resp = match self.next(deadline)? {
                Some(r) => r,
                None => return Err(self.timed_out(true, 0)),
            };
        }
    }

    pub fn status(&mut self) -> Result<DaemonInfo, ClientError> {
        match self.call(&Request::Status, Duration::from_secs(5))? {
            Response::Status(i) => Ok(i),
            _ => Err(ClientError::Io(std::io::Error::other("unexpected answer"))),
        }
    }

    /// Asks the daemon to stop once the requests it has taken are answered.
    pub fn shutdown(mut self) -> Result<(), ClientError> {
        let _ = self.call(&Request::Shutdown, Duration::from_secs(5))?;
        Ok(())
    }
}

/// The daemon's error as this process would have had it: same sentence,
/// same exit code.
fn engine_error(kind: ErrorKind, message: String) -> ClientError {
    ClientError::Engine(kind.into_engine_error(message))
}

/// What a client expects of a daemon besides its model: the settings it
/// would start one with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub threads: usize,
    /// 0: automatic.
    pub context_size: usize,
}

impl Settings {
    /// Read back from the `cmdai serve` arguments the client would start a
    /// daemon with (`--threads N`, `--context-size N`).
    pub fn from_serve_args(args: &[String]) -> Settings {
        let value = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .and_then(|v| v.parse().ok())
        };
        Settings {
            threads: value("--threads").unwrap_or(0),
            context_size: value("--context-size").unwrap_or(0),
        }
    }
}

/// Whether a daemon's identity and settings match what this client would
/// load: another version, model, thread count or context size is replaced.
pub fn compatible(info: &DaemonInfo, model_id: &str, settings: Settings) -> bool {
    info.protocol == PROTOCOL_VERSION
        && info.version == env!("CARGO_PKG_VERSION")
        && info.model_id == model_id
        && info.threads == settings.threads
        && info.context_size == settings.context_size
}

/// Starts `cmdai serve` detached (own session, stdio to the log file in the
/// private socket folder); `replaces` is what the daemon it replaces served.
pub fn spawn_daemon(
    serve_args: &[String],
    replaces: Option<&Wants>,
) -> Result<std::process::Child, ClientError> {
    let exe = std::env::current_exe().map_err(|e| ClientError::StartFailed(e.to_string()))?;
    let log = log_path();
    let out = crate::paths::private_options()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| ClientError::StartFailed(format!("{}: {e}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(|e| ClientError::StartFailed(e.to_string()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("serve")
        .args(serve_args)
        .env_remove(REPLACES_ENV)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(w) = replaces {
        cmd.env(REPLACES_ENV, serde_json::to_string(w).unwrap_or_default());
    }
    // SAFETY: setsid is async-signal-safe; it detaches the daemon from the
    // terminal so Ctrl-C in the shell does not reach it.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| ClientError::StartFailed(e.to_string()))
}

/// Waits for a socket to accept a checked connection; gives up at once when
/// the daemon we started has already exited (e.g. its model did not load).
/// The daemon being replaced (`old_pid`), still answering there while it
/// leaves, is not the one we wait for.
fn wait_for(
    socket: &Path,
    deadline: Instant,
    child: &mut std::process::Child,
    old_pid: Option<u32>,
) -> Result<Connection, ClientError> {
    loop {
        match Connection::open(socket) {
            Ok(c) if Some(c.info.pid) == old_pid && Instant::now() < deadline => {
                drop(c);
                std::thread::sleep(Duration::from_millis(30));
            }
            Ok(c) => return Ok(c),
            Err(ClientError::NotRunning) | Err(ClientError::Died) if Instant::now() < deadline => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(ClientError::StartFailed(format!(
                        "it exited ({status}); see {}",
                        log_path().display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            Err(e) => return Err(e),
        }
    }
}

/// "2 threads, context auto".
fn describe(w: &Wants) -> String {
    let ctx = match w.context_size {
        0 => "auto".to_string(),
        n => n.to_string(),
    };
    format!("{} threads, context {ctx}", w.threads)
}

/// Waits until the daemon on `c` has no request running or queued (saying
/// so once, through `note`), within the queue limit.
fn wait_until_idle(
    c: &mut Connection,
    want: &Wants,
    note: &mut dyn FnMut(&str),
) -> Result<(), ClientError> {
    let mut busy = c.info.busy;
    if busy == 0 {
        return Ok(());
    }
    note(&format!(
        "waiting for the daemon (pid {}) to finish another client's request before restarting it with this request's settings ({})",
        c.info.pid,
        describe(want)
    ));
    let deadline = Instant::now() + queue_limit();
    while busy > 0 {
        if Instant::now() >= deadline {
            return Err(c.timed_out(false, busy));
        }
        std::thread::sleep(Duration::from_millis(100));
        busy = c.status()?.busy;
    }
    Ok(())
}

/// Connects to a compatible daemon, starting one as needed. A daemon of
/// another version, model or settings is replaced once it has answered
/// what it has taken (`note` says the client waits); one that replaced a
/// daemon with exactly this client's settings is left to its clients and
/// [`ClientError::OtherSettings`] says why.
pub fn connect_or_start(
    model_id: &str,
    serve_args: &[String],
    note: &mut dyn FnMut(&str),
) -> Result<Connection, ClientError> {
    let socket = socket_path();
    // The directory is made private, or refused when it is a link, someone
    // else's or open to others (never chmod-ed: it may have been planted).
    if let Some(dir) = socket.parent() {
        super::server::prepare_dir(dir).map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                ClientError::Unsafe(dir.display().to_string())
            } else {
                ClientError::Io(e)
            }
        })?;
    }
    let settings = Settings::from_serve_args(serve_args);
    let want = Wants {
        model_id: model_id.to_string(),
        threads: settings.threads,
        context_size: settings.context_size,
    };
    let mut replaces = None;
    let mut old_pid = None;
    match Connection::open(&socket) {
        Ok(c) if compatible(&c.info, model_id, settings) => return Ok(c),
        Ok(mut c) => {
            let current =
                c.info.protocol == PROTOCOL_VERSION && c.info.version == env!("CARGO_PKG_VERSION");
            if current && c.info.replaced.as_ref() == Some(&want) {
                let model = if c.info.model_id == model_id {
                    String::new()
                } else {
                    format!("{} with ", c.info.model)
                };
                return Err(ClientError::OtherSettings(format!(
                    "the daemon (pid {}) runs {model}{} for another client, which replaced one with this request's settings ({}); replacing it back would reload the model at each switch (use the same --threads, --context-size and model everywhere, or `cmdai daemon stop` to restart it with these)",
                    c.info.pid,
                    describe(&c.info.wants()),
                    describe(&want)
                )));
            }
            if current {
                replaces = Some(c.info.wants());
            }
            // Outdated or set up otherwise: ask it to go once it has
            // answered what it took, then start ours.
            wait_until_idle(&mut c, &want, note)?;
            old_pid = Some(c.info.pid);
            let agreed = c.shutdown().is_ok();
            if agreed && current {
                // It goes on its own time (a busy machine can delay that by
                // seconds); the path is freed now so ours binds it at once.
                // A daemon of this version never removes a socket file it
                // did not bind, so it leaves ours alone.
                let _ = std::fs::remove_file(&socket);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while socket.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(ClientError::NotRunning) | Err(ClientError::Died) => {}
        Err(e) => return Err(e),
    }
    let mut child = spawn_daemon(serve_args, replaces.as_ref())?;
    let c = wait_for(&socket, Instant::now() + START_WAIT, &mut child, old_pid)?;
    if compatible(&c.info, model_id, settings) {
        Ok(c)
    } else {
        Err(ClientError::Mismatch(Box::new(c.info)))
    }
}

/// Connects to a running daemon without starting one.
pub fn connect_existing() -> Result<Connection, ClientError> {
    Connection::open(&socket_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(threads: usize, context_size: usize) -> DaemonInfo {
        DaemonInfo {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").into(),
            model_id: "m".into(),
            model: "m".into(),
            pid: 1,
            ready: true,
            requests_served: 0,
            idle_timeout_s: 900,
            threads,
            context_size,
            busy: 0,
            replaced: None,
        }
    }

    #[test]
    fn settings_decide_compatibility() {
        let args: Vec<String> = ["--model", "m", "--threads", "4", "--context-size", "8192"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let want = Settings::from_serve_args(&args);
        assert_eq!(
            want,
            Settings {
                threads: 4,
                context_size: 8192
            }
        );
        assert!(compatible(&info(4, 8192), "m", want));
        assert!(!compatible(&info(2, 8192), "m", want));
        assert!(!compatible(&info(4, 0), "m", want));
        assert!(!compatible(&info(4, 8192), "other", want));
        let auto = Settings::from_serve_args(&args[..4]);
        assert!(compatible(&info(4, 0), "m", auto));
    }

    #[test]
    fn an_older_daemons_hello_parses_and_is_replaced() {
        let line = br#"{"hello":{"protocol":3,"version":"0.1.0","model_id":"m","model":"m","pid":7,"ready":true,"requests_served":0,"idle_timeout_s":900}}
"#;
        let Some(Response::Hello(old)) = protocol::read_msg(&mut &line[..]).unwrap() else {
            panic!("not a hello");
        };
        let want = Settings {
            threads: 0,
            context_size: 0,
        };
        assert!(!compatible(&old, "m", want));
    }
}
