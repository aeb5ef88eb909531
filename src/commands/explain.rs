//! `cmdai explain <COMMAND>` (and `--explain`): what an existing command does,
//! part by part, streamed from the model as it is written, followed by the
//! safety findings, which come from the rules and not from the model.

use crate::backend::{engine_error, in_process_worker, openai_backend};
use crate::cli::ExplainArgs;
use crate::context::RequestContext;
use crate::daemon::client::{self, ClientError};
#[cfg(feature = "mock")]
use crate::engine::mock::MockBackend;
use crate::engine::{Backend, Generation};
use crate::error::{exit, CliError, Result};
use crate::explain_prompt::MAX_EXPLAIN_BYTES;
use crate::models::resolve::{resolve_model, ResolvedModel};
use crate::output;
use crate::safety;
use crate::settings::{BackendKind, Settings};
use std::sync::atomic::AtomicBool;

pub fn run(args: &ExplainArgs) -> Result<i32> {
    let command = args.command.join(" ");
    explain(&command, &super::settings::for_explain(args))?;
    Ok(exit::OK)
}

/// Checks the command, streams its explanation to stdout, then prints the
/// safety findings.
pub fn explain(command: &str, s: &Settings) -> Result<()> {
    let command = command.trim();
    if command.is_empty() {
        return Err(CliError::usage(
            "there is no command to explain; pass one, e.g. `cmdai explain 'tar xzf a.tgz'`",
        ));
    }
    if command.len() > MAX_EXPLAIN_BYTES {
        return Err(CliError::usage(format!(
            "the command is {} bytes long, more than the {MAX_EXPLAIN_BYTES} cmdai explains; explain it in parts",
            command.len()
        )));
    }
    let mut ended_with_newline = true;
    let mut on_piece = |p: &str| {
        if !p.is_empty() {
            ended_with_newline = p.ends_with('\n');
            output::out(p.as_bytes());
        }
    };
    let never = AtomicBool::new(false);
    let g = match s.backend.value {
        #[cfg(feature = "mock")]
        BackendKind::Mock => MockBackend
            .explain(command, &never, &mut on_piece)
            .map_err(engine_error)?,
        // Not streamed: the server's whole answer is printed at once.
        BackendKind::OpenAi => {
            let o = s.openai.clone().unwrap_or_else(crate::config::openai);
            openai_backend(&o, RequestContext::detect().os)
                .explain(command, &never, &mut on_piece)
                .map_err(engine_error)?
        }
        BackendKind::Local => {
            let model = resolve_model(s)?;
            explain_with_model(&model, s, command, &mut on_piece)?
        }
    };
    if s.verbose {
        eprintln!(
            "cmdai: {} prompt tokens, {} generated; timings {:?}",
            g.prompt_tokens, g.generated_tokens, g.timings
        );
    }
    if !ended_with_newline {
        crate::outln!();
    }
    print_findings(command);
    Ok(())
}

/// The safety part of an explanation: the rules' verdict, one line each.
fn print_findings(command: &str) {
    let a = safety::assess(command, &safety::Context::for_user());
    if a.findings.is_empty() {
        crate::outln!("Safety: {} (no rule matched)", a.risk);
    } else {
        crate::outln!("Safety: {}", a.risk);
        for w in output::warnings(&a) {
            crate::outln!("  {w}");
        }
    }
}

/// Through the daemon (started if needed), else in this process.
fn explain_with_model(
    model: &ResolvedModel,
    s: &Settings,
    command: &str,
    on_piece: &mut dyn FnMut(&str),
) -> Result<Generation> {
    if !s.no_daemon {
        let mut streamed = false;
        let mut note = crate::backend::daemon_note(s.verbose, None);
        let result = client::connect_or_start(
            &model.model_id(),
            &crate::backend::serve_args(model, s),
            &mut note,
        )
        .and_then(|mut conn| {
            conn.explain(command, &mut |p| {
                streamed = true;
                on_piece(p)
            })
        });
        match result {
            Ok(g) => return Ok(g),
            Err(ClientError::Engine(e)) => return Err(engine_error(e)),
            // Half an explanation is on the screen: starting over would repeat it.
            Err(e) if streamed => {
                return Err(CliError::failure(format!(
                    "the daemon stopped mid-explanation ({e}); run the command again"
                )))
            }
            Err(e) => crate::backend::fell_back(&e, s.verbose),
        }
    }
    let worker = in_process_worker(model, s, RequestContext::detect().os);
    let (pending, pieces) = worker.submit_explain(command.to_string());
    for p in pieces {
        on_piece(&p);
    }
    pending.wait().map_err(engine_error)
}
