//! `cmdai explain <COMMAND>` (and `--explain`): what an existing command does,
//! part by part, streamed from the model as it is written, followed by the
//! safety findings, which come from the rules and not from the model.

use crate::cli::ExplainArgs;
use crate::context::RequestContext;
use crate::error::{exit, CliError, Result};
use crate::output;
use crate::pipeline::explain_prompt::MAX_EXPLAIN_BYTES;
use crate::pipeline::reach::route;
use crate::safety;
use crate::settings::Settings;
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
    let g =
        route(s, RequestContext::detect().os)?
            .engine(s)
            .explain(command, &never, &mut on_piece)?;
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
