//! Wire format between client and daemon: newline-delimited JSON, one request
//! and one response per line.
//!
//! Every connection starts with a `Hello` from the client; the daemon answers
//! with its protocol version, binary version and model identity, and the client
//! hangs up (and replaces the daemon, once it is idle) on any mismatch, so a
//! newer binary never talks to an old daemon.
//!
//! A request waits its turn: while others are ahead of it the daemon says
//! `Queued` (again whenever the number ahead changes), then `Started` when
//! the model takes it up, so the client's time limit for the answer counts
//! from there and the time in the queue has its own limit.

use crate::engine::{EngineError, GenerateRequest, Generation};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Bumped on any incompatible change of the messages below.
pub const PROTOCOL_VERSION: u32 = 6;

/// Largest line either side accepts (a request is at most a few KB).
pub const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Hello {
        protocol: u32,
    },
    Generate(GenerateRequest),
    /// Explain a command; answered by `Piece`s, then `Explained`.
    Explain {
        command: String,
    },
    Status,
    Shutdown,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DaemonInfo {
    pub protocol: u32,
    /// `cmdai` version of the daemon binary.
    pub version: String,
    /// Identity of the loaded model (sha256 from the catalogue, or a hash of
    /// path, size and mtime for a file given by path).
    pub model_id: String,
    pub model: String,
    pub pid: u32,
    /// False while the model is still loading.
    pub ready: bool,
    pub requests_served: u64,
    pub idle_timeout_s: u64,
    /// Inference threads the daemon runs with. (Absent from an older
    /// daemon's hello, which must still parse so the client can replace it.)
    #[serde(default)]
    pub threads: usize,
    /// Context size it was asked for (0: automatic).
    #[serde(default)]
    pub context_size: usize,
    /// Requests running or waiting their turn.
    #[serde(default)]
    pub busy: usize,
    /// What the daemon this one replaced was serving: a client that wants
    /// exactly that again is answered in its own process instead of
    /// replacing this daemon back (two shells with other settings would
    /// otherwise reload the model at each switch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Wants>,
}

/// What a client wants of a daemon: the model and the settings it loads it with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Wants {
    pub model_id: String,
    pub threads: usize,
    /// 0: automatic.
    pub context_size: usize,
}

impl DaemonInfo {
    /// What this daemon serves.
    pub fn wants(&self) -> Wants {
        Wants {
            model_id: self.model_id.clone(),
            threads: self.threads,
            context_size: self.context_size,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Hello(DaemonInfo),
    Generated(Generation),
    /// Part of an explanation, as it is generated.
    Piece {
        text: String,
    },
    /// The whole explanation, after its last `Piece`.
    Explained(Generation),
    Status(DaemonInfo),
    /// The request waits behind `ahead` others.
    Queued {
        ahead: usize,
    },
    /// The model has taken the request up.
    Started,
    Error {
        kind: ErrorKind,
        message: String,
    },
    ShuttingDown,
}

/// Error classes the client maps to its exit codes. Each carries what the
/// client needs to rebuild the daemon's [`EngineError`], so a failure reads
/// and exits the same with and without the daemon.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    ModelLoad { path: PathBuf },
    TooLong { tokens: usize, max: usize },
    Template,
    OutOfTime,
    Cancelled,
    Inference,
    BadRequest,
}

impl ErrorKind {
    /// The class of `e`, with its details.
    pub fn of(e: &EngineError) -> ErrorKind {
        match e {
            EngineError::Load { path } => ErrorKind::ModelLoad { path: path.clone() },
            EngineError::TooLong { tokens, max } => ErrorKind::TooLong {
                tokens: *tokens,
                max: *max,
            },
            EngineError::Template(_) => ErrorKind::Template,
            EngineError::OutOfTime => ErrorKind::OutOfTime,
            EngineError::Cancelled => ErrorKind::Cancelled,
            _ => ErrorKind::Inference,
        }
    }

    /// The daemon's error as this process would have had it; `message` is
    /// the daemon's text of it.
    pub fn into_engine_error(self, message: String) -> EngineError {
        match self {
            ErrorKind::ModelLoad { path } => EngineError::Load { path },
            ErrorKind::TooLong { tokens, max } => EngineError::TooLong { tokens, max },
            ErrorKind::Template => EngineError::Template(
                message
                    .strip_prefix(TEMPLATE_PREFIX)
                    .unwrap_or(&message)
                    .to_string(),
            ),
            ErrorKind::OutOfTime => EngineError::OutOfTime,
            ErrorKind::Cancelled => EngineError::Cancelled,
            ErrorKind::Inference => EngineError::Inference(
                message
                    .strip_prefix(INFERENCE_PREFIX)
                    .unwrap_or(&message)
                    .to_string(),
            ),
            ErrorKind::BadRequest => EngineError::Inference(message),
        }
    }
}

/// The fixed start of [`EngineError::Template`]'s and
/// [`EngineError::Inference`]'s text, so the rebuilt error is not prefixed twice.
const TEMPLATE_PREFIX: &str = "the model has no usable chat template and none could be applied: ";
const INFERENCE_PREFIX: &str = "inference failed: ";

/// Writes one message as one line.
pub fn write_msg<W: Write, T: Serialize>(w: &mut W, msg: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)?;
    w.flush()
}

/// Reads one line and decodes it; `Ok(None)` at end of stream.
pub fn read_msg<R: BufRead, T: for<'de> Deserialize<'de>>(r: &mut R) -> std::io::Result<Option<T>> {
    let mut buf = Vec::new();
    let n = std::io::Read::take(&mut *r, MAX_LINE as u64).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if !buf.ends_with(b"\n") && buf.len() >= MAX_LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "message too long",
        ));
    }
    serde_json::from_slice(&buf)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::RequestContext;

    #[test]
    fn round_trip() {
        let req = Request::Generate(GenerateRequest {
            avoid: vec!["ls".into()],
            ..GenerateRequest::plain("find large files", RequestContext::detect())
        });
        let mut buf = Vec::new();
        write_msg(&mut buf, &req).unwrap();
        assert!(buf.ends_with(b"\n"));
        let back: Request = read_msg(&mut &buf[..]).unwrap().unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn errors_cross_the_socket_unchanged() {
        let errors = [
            EngineError::Load {
                path: PathBuf::from("/m/broken.gguf"),
            },
            EngineError::TooLong {
                tokens: 5000,
                max: 4096,
            },
            EngineError::Template("no template".into()),
            EngineError::Inference("decode failed".into()),
            EngineError::OutOfTime,
            EngineError::Cancelled,
        ];
        for e in errors {
            let resp = Response::Error {
                kind: ErrorKind::of(&e),
                message: e.to_string(),
            };
            let mut buf = Vec::new();
            write_msg(&mut buf, &resp).unwrap();
            let Some(Response::Error { kind, message }) = read_msg(&mut &buf[..]).unwrap() else {
                panic!("not an error");
            };
            assert_eq!(kind.into_engine_error(message).to_string(), e.to_string());
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let r: std::io::Result<Option<Request>> = read_msg(&mut &b"{nope\n"[..]);
        assert!(r.is_err());
        let r: std::io::Result<Option<Request>> = read_msg(&mut &b""[..]);
        assert!(r.unwrap().is_none());
    }
}
