//! `cmdai serve`: keep the model resident and answer over a Unix socket.

use crate::cli::ServeArgs;
use crate::commands::generate::threads;
use crate::commands::model::resolve_model;
use crate::context::Os;
use crate::daemon::server::{self, parse_duration, ServeOptions};
use crate::daemon::socket_path;
use crate::engine::llama::LlamaEngine;
use crate::engine::worker::Worker;
use crate::engine::{Backend, LoadOptions};
use crate::error::{exit, CliError, Result};

pub fn run(args: &ServeArgs) -> Result<i32> {
    let idle_timeout = parse_duration(&args.idle_timeout).ok_or_else(|| {
        CliError::usage(format!(
            "--idle-timeout `{}` is not a duration; use e.g. 900, 90s, 15m or 1h",
            args.idle_timeout
        ))
    })?;
    // The daemon never downloads: the client that starts it already did.
    let mut margs = args.model.clone();
    margs.offline = true;
    let model = resolve_model(&margs)?;
    let socket = socket_path();
    let listener = server::bind(&socket)
        .map_err(|e| CliError::failure(format!("cannot listen on {}: {e}", socket.display())))?;
    let opts = LoadOptions {
        model_path: model.path.clone(),
        threads: threads(&args.model),
        verbose: args.model.verbose,
        model_id: model.model_id(),
        state_dir: crate::paths::prefix_state_dir(),
        speculate: crate::engine::speculate_setting(),
        use_mmap: false,
    };
    let worker = Worker::spawn(move || {
        LlamaEngine::load(&opts, Os::current()).map(|e| Box::new(e) as Box<dyn Backend>)
    });
    let serve_opts = ServeOptions {
        socket,
        idle_timeout,
        model_id: model.model_id(),
        model_name: model.name.clone(),
    };
    server::serve(listener, worker, serve_opts)
        .map_err(|e| CliError::failure(format!("the daemon failed: {e}")))?;
    Ok(exit::OK)
}
