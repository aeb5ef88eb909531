//! Reaching the daemon: connect, check it is ours and current, start it when
//! absent, replace it when outdated.
//!
//! A daemon's own errors (model does not load, request too long) come back as
//! the same [`EngineError`] an in-process run would give. Every other failure
//! here is recoverable: the caller falls back to in-process
//! inference and tells the user why in one line.

use super::protocol::{self, DaemonInfo, ErrorKind, Request, Response, PROTOCOL_VERSION};
use super::{log_path, socket_path};
use crate::engine::{EngineError, GenerateRequest, Generation};
use std::io::BufReader;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a client waits for a daemon it started to open its socket.
const START_WAIT: Duration = Duration::from_secs(10);
/// Upper bound for one answer (the model may still be loading).
const ANSWER_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no daemon is running")]
    NotRunning,
    #[error("the socket directory {0} is not private to this user (a symbolic link, another user's, or open to others); refusing to use it: remove it, or set CMDAI_SOCKET_DIR to a private directory")]
    Unsafe(String),
    #[error("the daemon could not be started: {0}")]
    StartFailed(String),
    #[error("the daemon stopped in the middle of the request")]
    Died,
    #[error("the daemon is a different version or runs another model")]
    Mismatch(Box<DaemonInfo>),
    #[error("{0}")]
    Engine(EngineError),
    #[error("talking to the daemon failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A checked connection to a daemon.
pub struct Connection {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
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

impl Connection {
    /// Connects and exchanges `Hello`.
    pub fn open(socket: &Path) -> Result<Connection, ClientError> {
        check_private(socket)?;
        let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning
            }
            _ => ClientError::Io(e),
        })?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        protocol::write_msg(
            &mut writer,
            &Request::Hello {
                protocol: PROTOCOL_VERSION,
            },
        )?;
        match protocol::read_msg::<_, Response>(&mut reader)? {
            Some(Response::Hello(info)) => Ok(Connection {
                reader,
                writer,
                info,
            }),
            Some(Response::Error { message, .. }) => Err(ClientError::StartFailed(message)),
            Some(_) => Err(ClientError::Io(std::io::Error::other(
                "unexpected answer to hello",
            ))),
            None => Err(ClientError::Died),
        }
    }

    fn call(&mut self, req: &Request, wait: Duration) -> Result<Response, ClientError> {
        self.reader.get_ref().set_read_timeout(Some(wait))?;
        protocol::write_msg(&mut self.writer, req)?;
        match protocol::read_msg::<_, Response>(&mut self.reader) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(ClientError::Died),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                Err(ClientError::Died)
            }
            Err(e) => Err(ClientError::Io(e)),
        }
    }

    pub fn generate(&mut self, req: GenerateRequest) -> Result<Generation, ClientError> {
        match self.call(&Request::Generate(req), ANSWER_WAIT)? {
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
        let mut resp = self.call(
            &Request::Explain {
                command: command.to_string(),
            },
            ANSWER_WAIT,
        )?;
        loop {
            match resp {
                Response::Piece { text } => on_piece(&text),
                Response::Explained(g) => return Ok(g),
                Response::Error { kind, message } => return Err(engine_error(kind, message)),
                _ => return Err(ClientError::Io(std::io::Error::other("unexpected answer"))),
            }
            resp = match protocol::read_msg::<_, Response>(&mut self.reader) {
                Ok(Some(r)) => r,
                Ok(None) => return Err(ClientError::Died),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    ) =>
                {
                    return Err(ClientError::Died)
                }
                Err(e) => return Err(ClientError::Io(e)),
            };
        }
    }

    pub fn status(&mut self) -> Result<DaemonInfo, ClientError> {
        match self.call(&Request::Status, Duration::from_secs(5))? {
            Response::Status(i) => Ok(i),
            _ => Err(ClientError::Io(std::io::Error::other("unexpected answer"))),
        }
    }

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

/// Starts `cmdai serve` detached (own session, stdio to the log file).
pub fn spawn_daemon(serve_args: &[String]) -> Result<std::process::Child, ClientError> {
    let exe = std::env::current_exe().map_err(|e| ClientError::StartFailed(e.to_string()))?;
    let log = log_path();
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ClientError::StartFailed(e.to_string()))?;
    }
    let out = std::fs::OpenOptions::new()
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
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
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
fn wait_for(
    socket: &Path,
    deadline: Instant,
    child: &mut std::process::Child,
) -> Result<Connection, ClientError> {
    loop {
        match Connection::open(socket) {
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

/// Connects to a compatible daemon, starting (or replacing) one as needed.
pub fn connect_or_start(model_id: &str, serve_args: &[String]) -> Result<Connection, ClientError> {
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
    match Connection::open(&socket) {
        Ok(c) if compatible(&c.info, model_id, settings) => return Ok(c),
        Ok(c) => {
            // Outdated or other model: ask it to go, then start ours.
            let _ = c.shutdown();
            let deadline = Instant::now() + Duration::from_secs(5);
            while socket.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(ClientError::NotRunning) | Err(ClientError::Died) => {}
        Err(e) => return Err(e),
    }
    let mut child = spawn_daemon(serve_args)?;
    let c = wait_for(&socket, Instant::now() + START_WAIT, &mut child)?;
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
