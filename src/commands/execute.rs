//! `cmdai -x "<request>"`: offer to run the command, and run it only after the
//! person says so. Run / Edit / Refine / Explain / Cancel, with Cancel chosen until
//! the person moves to another choice (one Enter never runs anything); a
//! High-risk command needs `yes` typed out, a Critical one is refused unless
//! `--allow-dangerous`. Without a terminal on stdin nothing is asked and
//! nothing runs. Refine asks for an instruction ("only .log files") and
//! offers the revised command; what finally runs is remembered for the
//! request ([`crate::pipeline::memory`]).

use crate::cli::GenerateArgs;
use crate::commands::explain;
use crate::error::{exit, CliError, Result};
use crate::output;
use crate::safety::{self, Risk, Verdict};
use crate::settings::Settings;
use dialoguer::{Input, Select};
use std::io::IsTerminal;
use std::os::unix::process::ExitStatusExt;

/// An item of the `-x` menu (not [`crate::pipeline::choice`], which picks among the
/// model's candidate answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MenuItem {
    Run,
    Edit,
    Refine,
    Explain,
    Cancel,
}

const MENU: [(MenuItem, &str); 5] = [
    (MenuItem::Run, "Run it"),
    (MenuItem::Edit, "Edit it first"),
    (MenuItem::Refine, "Refine it (say what to change)"),
    (MenuItem::Explain, "Explain it"),
    (MenuItem::Cancel, "Cancel"),
];

/// The choice Enter picks before the person moves: one that runs nothing.
const DEFAULT_ITEM: MenuItem = MenuItem::Cancel;

fn default_index() -> usize {
    MENU.iter()
        .position(|(c, _)| *c == DEFAULT_ITEM)
        .unwrap_or(MENU.len() - 1)
}

/// Asks what to do with `command` (already printed on stdout), generated for
/// `request`, and does it. Returns the exit code of the command when it ran.
pub fn offer(request: &str, command: &str, args: &GenerateArgs, s: &Settings) -> Result<i32> {
    let level = s.safety.value;
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        eprintln!("cmdai: not running the command: -x asks first, and stdin is not a terminal");
        return Ok(exit::OK);
    }
    let offered = command.to_string();
    let mut command = command.to_string();
    loop {
        let a = safety::assess(&command, &safety::Context::for_user());
        if safety::policy(a.risk, level) == Verdict::Block && !args.allow_dangerous {
            eprintln!(
                "cmdai: refusing to run it: {} ({}); pass --allow-dangerous to be asked anyway",
                output::worst_reason(&a),
                a.risk
            );
            return Ok(exit::BLOCKED);
        }
        let labels: Vec<&str> = MENU.iter().map(|(_, l)| *l).collect();
        let picked = Select::new()
            .with_prompt(format!("{}\nRun this command?", output::visible(&command)))
            .items(&labels)
            .default(default_index())
            .interact_opt()
            .map_err(|_| CliError::interrupted())?;
        match picked.map_or(MenuItem::Cancel, |i| MENU[i].0) {
            MenuItem::Cancel => {
                eprintln!("cmdai: cancelled; nothing ran");
                return Ok(exit::OK);
            }
            MenuItem::Explain => {
                if let Err(e) = explain::explain(&command, s) {
                    eprintln!("cmdai: {e}");
                }
            }
            MenuItem::Edit => {
                let edited: String = Input::new()
                    .with_prompt("Command")
                    .with_initial_text(command.clone())
                    .allow_empty(true)
                    .interact_text()
                    .map_err(|_| CliError::interrupted())?;
                if edited.trim().is_empty() {
                    eprintln!("cmdai: the command is empty; nothing ran");
                    return Ok(exit::OK);
                }
                command = edited;
                for f in &safety::assess(&command, &safety::Context::for_user()).findings {
                    output::note(f.risk, &f.explanation);
                }
            }
            MenuItem::Refine => {
                let instruction: String = Input::new()
                    .with_prompt("What should change")
                    .allow_empty(true)
                    .interact_text()
                    .map_err(|_| CliError::interrupted())?;
                if instruction.trim().is_empty() {
                    continue;
                }
                match crate::pipeline::answer::revise(s, request, &command, &instruction) {
                    Ok(revised) => {
                        crate::outln!("{revised}");
                        command = revised;
                    }
                    Err(e) => eprintln!("cmdai: {}; the command is unchanged", CliError::from(e)),
                }
            }
            MenuItem::Run => {
                if a.risk >= Risk::High && !typed_yes(&a)? {
                    eprintln!("cmdai: not confirmed; nothing ran");
                    return Ok(exit::OK);
                }
                remember(s, request, &offered, &command);
                return run_in_shell(&user_shell(), &command);
            }
        }
    }
}

/// Records that `ran` (what cmdai offered, or the person's edit or
/// refinement of it) ran for `request`; memory refuses dangerous commands
/// itself, and a failure to write never stops the command.
fn remember(s: &Settings, request: &str, offered: &str, ran: &str) {
    if !s.memory_and_history.value {
        return;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let _ = crate::pipeline::history::History::for_user().mark_run(request, offered, ran);
    let _ = crate::pipeline::memory::Store::for_user().add(request, ran, Some(offered), &cwd);
}

/// A High or Critical command runs only after `yes` is typed in full.
fn typed_yes(a: &safety::Assessment) -> Result<bool> {
    let answer: String = Input::new()
        .with_prompt(format!(
            "This command is {}: {}. Type yes to run it",
            a.risk,
            output::worst_reason(a)
        ))
        .allow_empty(true)
        .interact_text()
        .map_err(|_| CliError::interrupted())?;
    Ok(answer.trim() == "yes")
}

/// The user's login shell, else `/bin/sh`.
fn user_shell() -> String {
    std::env::var("SHELL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "/bin/sh".to_string())
}

/// Runs `command` with `$SHELL -c`, attached to this terminal; its exit code
/// (128 + signal when killed) becomes cmdai's.
fn run_in_shell(shell: &str, command: &str) -> Result<i32> {
    let mut cmd = std::process::Command::new(shell);
    cmd.arg("-c").arg(command);
    // cmdai keeps its own files private (umask 077); the user's command
    // gets the user's umask back.
    if let Some(mask) = crate::paths::user_umask() {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask as _));
                Ok(())
            });
        }
    }
    let status = cmd.status().map_err(|e| {
        CliError::failure(format!(
            "could not start {shell}: {e}; run the command yourself"
        ))
    })?;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_through_the_shell_and_returns_its_status() {
        assert_eq!(run_in_shell("/bin/sh", "exit 7").unwrap(), 7);
        assert_eq!(run_in_shell("/bin/sh", "true").unwrap(), 0);
        assert_eq!(run_in_shell("/bin/sh", "kill -TERM $$").unwrap(), 128 + 15);
        assert_eq!(
            run_in_shell("/nonexistent/shell", "true")
                .unwrap_err()
                .exit_code(),
            exit::FAILURE
        );
    }

    #[test]
    fn the_users_command_runs_with_the_users_umask() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mask");
        let before = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        crate::paths::private_umask();
        let users = crate::paths::user_umask().unwrap();
        let cmd = format!("umask > '{}'", out.display());
        let code = run_in_shell("/bin/sh", &cmd);
        nix::sys::stat::umask(before);
        assert_eq!(code.unwrap(), 0);
        let got = u32::from_str_radix(std::fs::read_to_string(&out).unwrap().trim(), 8).unwrap();
        assert_eq!(got, users);
        assert_ne!(got, 0o077);
    }

    #[test]
    fn enter_alone_picks_a_choice_that_runs_nothing() {
        assert_eq!(MENU[default_index()].0, MenuItem::Cancel);
        assert_ne!(MENU[default_index()].0, MenuItem::Run);
        assert_eq!(MENU[0].0, MenuItem::Run);
    }
}
