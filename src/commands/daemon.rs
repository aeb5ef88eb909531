//! `cmdai daemon status|stop`.

use crate::cli::DaemonCommand;
use crate::daemon::client::{connect_existing, ClientError};
use crate::daemon::socket_path;
use crate::error::{exit, CliError, Result};
use std::time::{Duration, Instant};

pub fn run(cmd: DaemonCommand) -> Result<i32> {
    let conn = match connect_existing() {
        Ok(c) => c,
        Err(ClientError::NotRunning) => {
            crate::outln!("not running (socket {})", socket_path().display());
            return Ok(match cmd {
                DaemonCommand::Status => exit::FAILURE,
                DaemonCommand::Stop => exit::OK,
            });
        }
        Err(e) => return Err(CliError::failure(e.to_string())),
    };
    match cmd {
        DaemonCommand::Status => {
            let mut conn = conn;
            let i = conn
                .status()
                .map_err(|e| CliError::failure(e.to_string()))?;
            crate::outln!(
                "running: pid {}, model {}, {}, {} requests served, {} running or queued, {} threads, context {}, idle timeout {}s, version {}, socket {}",
                i.pid,
                i.model,
                if i.ready { "ready" } else { "loading" },
                i.requests_served,
                i.busy,
                i.threads,
                if i.context_size == 0 { "auto".to_string() } else { i.context_size.to_string() },
                i.idle_timeout_s,
                i.version,
                socket_path().display()
            );
            Ok(exit::OK)
        }
        DaemonCommand::Stop => {
            // It finishes the requests it has taken, then exits.
            let pid = conn.info.pid;
            conn.shutdown()
                .map_err(|e| CliError::failure(e.to_string()))?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while socket_path().exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            crate::outln!("stopped (pid {pid})");
            Ok(exit::OK)
        }
    }
}
