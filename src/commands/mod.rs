//! One file per subcommand; [`main`] parses the command line and dispatches.

pub(crate) mod check;
pub(crate) mod config;
pub(crate) mod daemon;
pub(crate) mod docs;
pub(crate) mod doctor;
mod errors;
pub(crate) mod execute;
pub(crate) mod explain;
pub(crate) mod generate;
pub(crate) mod history;
pub(crate) mod init;
pub(crate) mod memory;
pub(crate) mod model;
pub(crate) mod serve;
pub(crate) mod settings;
pub(crate) mod uninstall;

use crate::cli::{Cli, Command};
use crate::error::{exit, CliError};
use clap::Parser;

/// Runs cmdai and returns the process exit code.
pub fn main() -> i32 {
    // Everything cmdai creates is private, whatever the user's umask.
    crate::paths::private_umask();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::USAGE,
            };
        }
    };
    // Folders an older cmdai left open to other users are closed on first use.
    for dir in [crate::paths::data_dir(), crate::paths::cache_dir()] {
        crate::paths::tighten(&dir);
    }
    let result = match cli.command {
        Some(Command::Check(args)) => check::run(&args),
        Some(Command::Explain(args)) => explain::run(&args),
        Some(Command::Model(cmd)) => model::run(cmd),
        Some(Command::Init(args)) => init::run(&args),
        Some(Command::Serve(args)) => serve::run(&args),
        Some(Command::Daemon(cmd)) => daemon::run(cmd),
        Some(Command::Completions { shell }) => docs::completions(shell),
        Some(Command::Man) => docs::man(),
        Some(Command::Doctor) => doctor::run(),
        Some(Command::Config(cmd)) => config::run(cmd),
        Some(Command::Memory(cmd)) => memory::run(cmd),
        Some(Command::History(args)) => history::run(&args),
        Some(Command::Remember(args)) => memory::remember(&args),
        Some(Command::Uninstall(args)) => uninstall::run(&args),
        None => generate::run(&cli.generate),
    };
    match result {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// Prints an error as one line on stderr and returns its exit code.
pub fn report(e: &CliError) -> i32 {
    eprintln!("cmdai: {e}");
    e.exit_code()
}
