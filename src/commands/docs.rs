//! `cmdai completions <shell>` and `cmdai man`: generated from the same clap
//! definition as the parser, so they never drift from the real options.

use crate::cli::Cli;
use crate::error::{exit, CliError, Result};
use clap::CommandFactory;

pub fn completions(shell: clap_complete::Shell) -> Result<i32> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "cmdai", &mut out);
    write_stdout(&out)
}

pub fn man() -> Result<i32> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| CliError::failure(format!("could not render the man page: {e}")))?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Result<i32> {
    // `cmdai man | head` is fine: a closed pipe is a quiet exit 0.
    crate::output::out(bytes);
    Ok(exit::OK)
}
