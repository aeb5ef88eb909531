//! `cmdai serve`: keep the model resident and answer over a Unix socket.
//!
//! Model, threads and context size come from the client that starts it (as
//! flags, see `reach::serve_args`); the idle timeout from flag, env or
//! config file like every other setting. A model that fails to load ends the
//! daemon with the same error (and exit code) as a run without it.

use crate::cli::ServeArgs;
use crate::context::Os;
use crate::daemon::server::{self, ServeOptions};
use crate::daemon::socket_path;
use crate::error::{exit, CliError, Result};
use crate::models::resolve::resolve_model;

pub fn run(args: &ServeArgs) -> Result<i32> {
    let setting = crate::config::idle_timeout(args.idle_timeout.as_deref());
    let idle_timeout = crate::duration::parse(&setting.value).ok_or_else(|| {
        CliError::usage(format!(
            "--idle-timeout `{}` is not a duration; use e.g. 900, 90s, 15m or 1h",
            setting.value
        ))
    })?;
    // The daemon never downloads: the client that starts it already did.
    let mut s = super::settings::resolve(&args.model);
    s.offline = true;
    let model = resolve_model(&s)?;
    let socket = socket_path();
    let listener = server::bind(&socket)
        .map_err(|e| CliError::failure(format!("cannot listen on {}: {e}", socket.display())))?;
    // Mapped, like any in-process engine: reading the whole file first made
    // the first request after install 5.4 s instead of 4.1 s here, and warm
    // requests were no faster (the daemon keeps the pages hot).
    let worker = crate::pipeline::reach::in_process_worker(&model, &s, Os::current());
    let n_ctx = s.context_size.value;
    let serve_opts = ServeOptions {
        socket,
        idle_timeout,
        model_id: model.model_id(),
        model_name: model.name.clone(),
        threads: s.threads.value,
        context_size: n_ctx,
        // Set by the client that started this daemon to replace another.
        replaced: crate::settings::DAEMON_REPLACES
            .env()
            .and_then(|v| serde_json::from_str(&v).ok()),
    };
    let load_error = server::serve(listener, worker, serve_opts)
        .map_err(|e| CliError::failure(format!("the daemon failed: {e}")))?;
    match load_error {
        Some(e) => Err(e.into()),
        None => Ok(exit::OK),
    }
}
