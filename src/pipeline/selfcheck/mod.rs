//! Self-check: catch a command that cannot work before the user sees it.
//!
//! A small model now and then writes a line bash cannot parse, calls a
//! program this machine does not have, gives a GNU tool an option it does
//! not have, invents a command of a tool that has a fixed set of them
//! (`poetry test`), runs a script or service the folder's manifest does not
//! declare, drives a yarn project with npm or gives plain `docker` a compose
//! service's name ([`subcommands`]), reads a file it also empties
//! ([`same_file`]), splits a CSV file at blanks ([`csv_fields`]), zips a
//! folder without `-r` ([`zip_folder`]), leaves
//! `find`'s `-o` alternatives ungrouped, runs `rmdir` from
//! `find` without `-depth`, cuts a path the user wrote out down to its file
//! name, globs one level where the user asked for the whole tree, or
//! prints logs once where it asked to follow them ([`request_follow`]). All are
//! cheap to detect (`bash -n`, a `PATH` lookup, the tool's own `--help` in
//! [`options`] — for cargo, `cargo SUB --help` — [`find_groups`],
//! [`find_depth`], [`request_paths`], [`request_depth`]); the two `find`
//! slips are repaired in place, and for the rest one more request that
//! names the problem usually fixes it.
//! [`crate::pipeline::choice::with_self_check`] wraps any engine call with that single retry; the CLI and
//! the accuracy benchmark both go through it, so what is measured is what
//! ships.

use crate::engine::Generation;
use crate::parser;
use crate::safety::Invocation;
use std::process::{Command, Stdio};

mod csv_fields;
mod find_depth;
mod find_groups;
mod installed;
mod options;
mod request_depth;
mod request_follow;
mod request_paths;
mod same_file;
mod subcommands;
mod zip_folder;

/// Milliseconds a request may take, its self-check retry included: the
/// retry is given what the first answer left, so a slow first answer is not
/// followed by a slow retry. At 2,800 ms (set for a p99 under 3 s) the retry
/// ran out of time on almost every row here (reading the longer retry
/// request and writing ~20 tokens take ~1.5 s on 2 cores), so known-broken
/// answers (`tail -r` on GNU) went out unrepaired; 4,500 ms lets it finish.
pub const RETRY_BUDGET_MS: u64 = 4500;
/// A retry with less time left than this is not tried: reading the longer
/// retry request and writing a short command take about this long.
pub const MIN_RETRY_MS: u64 = 1500;
/// Milliseconds to read one token of a request on the machine the two
/// limits above were set on (2 cores, ~60 tokens/s).
const REFERENCE_MS_PER_TOKEN: f64 = 16.0;

/// [`RETRY_BUDGET_MS`] and [`MIN_RETRY_MS`] for this machine: scaled by
/// how much slower than the reference the first answer read its request
/// (at most 2.5 times), never lower. A fixed budget meant no retry at all on
/// a machine half as fast: measured here under load (requests 2x slower),
/// every retry ran out of time and known-broken answers went out.
pub fn retry_limits(first: &Generation) -> (u64, u64) {
    let slower = if first.prompt_tokens >= 8 {
        let per_token = first.timings.prompt as f64 / first.prompt_tokens as f64;
        (per_token / REFERENCE_MS_PER_TOKEN).clamp(1.0, 2.5)
    } else {
        1.0
    };
    let scale = |ms: u64| (ms as f64 * slower) as u64;
    (scale(RETRY_BUDGET_MS), scale(MIN_RETRY_MS))
}

/// What is wrong with `command`, in words the model can act on; `None` when
/// it parses, every program it names exists and every option checked is real.
pub fn problem(command: &str) -> Option<String> {
    command_problem(command, &crate::safety::invocations(command), &[])
}

/// [`problem`], plus what only the request can tell: a path the user wrote
/// out that the command uses without its directory, or a one-level glob
/// where the request asked for the whole tree.
pub fn problem_for(request: &str, command: &str) -> Option<String> {
    problem_in(request, &[], command)
}

/// [`problem_for`] for a request asked in a folder the snapshot described
/// in `folder` (its lines, as the model read them): the tools its projects
/// call for count as installed, since the folder itself asks for them (a
/// pnpm project's `pnpm install` is right even on a machine that still
/// lacks pnpm), and a script, recipe or service its manifest does not
/// declare is a problem ([`subcommands`]).
pub fn problem_in(request: &str, folder: &[String], command: &str) -> Option<String> {
    let invocations = crate::safety::invocations(command);
    command_problem(command, &invocations, folder)
        .or_else(|| request_paths::dropped_path(request, command))
        .or_else(|| request_depth::one_level(request, &invocations))
        .or_else(|| request_follow::not_following(request, &invocations))
        .or_else(|| {
            invocations
                .iter()
                .find_map(|i| zip_folder::folder_without_r(request, i))
        })
}

/// [`problem`] for a command already split into the programs it runs (one
/// parse serves every check).
fn command_problem(command: &str, invocations: &[Invocation], folder: &[String]) -> Option<String> {
    if crate::engine::runaway::contains_loop(command.as_bytes()) {
        return Some("it repeats the same part over and over; write it once, shorter".into());
    }
    if let Some(err) = syntax_error(command) {
        return Some(format!("bash cannot parse it ({err})"));
    }
    let tools = crate::pipeline::folder::tools(folder);
    let missing: Vec<&str> = invocations
        .iter()
        .map(|i| i.program.as_str())
        .filter(|p| !installed::is_available(p) && !tools.iter().any(|t| t == p))
        .collect();
    match missing.as_slice() {
        [] => {}
        [one] => return Some(format!("`{one}` is not installed here")),
        many => return Some(format!("{} are not installed here", many.join(", "))),
    }
    if let Some(p) = same_file::overwrites_its_input(command, invocations) {
        return Some(p);
    }
    invocations.iter().find_map(|i| {
        options::unknown_option(&i.program, &i.options)
            .or_else(|| options::unknown_subcommand_option(&i.program, &i.args, &i.options))
            .or_else(|| subcommands::unknown_command(i))
            .or_else(|| subcommands::undeclared_name(i, folder))
            .or_else(|| subcommands::other_package_manager(i, folder))
            .or_else(|| subcommands::service_as_container(i, folder))
            .or_else(|| csv_fields::blank_split_csv(i))
            .or_else(|| find_groups::ungrouped_or(&i.program, &i.args))
            .or_else(|| find_depth::rmdir_without_depth(&i.program, &i.args))
    })
}

/// `bash -n`'s complaint, when it has one. No bash means no check.
fn syntax_error(command: &str) -> Option<String> {
    let out = Command::new("bash")
        .args(["-n", "-c", command])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    if out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("syntax error");
    // "bash: -c: line 1: syntax error near ..." -> "syntax error near ..."
    Some(line.rsplit(": ").next().unwrap_or(line).trim().to_string())
}

/// The problem with a generation's command; `None` when it is fine or when
/// there is no command at all (the parser reports that itself).
pub(crate) fn generation_problem(
    request: &str,
    folder: &[String],
    g: &Generation,
) -> Option<(String, String)> {
    let parsed = if g.prefilled {
        parser::parse_prefilled(&g.text)
    } else {
        parser::parse_reply(&g.text)
    };
    let cmd = parsed.ok()?.command;
    problem_in(request, folder, &cmd).map(|p| (cmd, p))
}

/// What is left of an answer that was cut off before its end (the token
/// cap, or a loop stopped as it happened).
#[derive(Debug, PartialEq, Eq)]
pub enum CutOff {
    /// It reads fine as it is.
    Whole,
    /// Its longest leading part that is whole commands.
    Part(String),
    /// Nothing of it is a whole command: it must not be handed out.
    Broken,
}

/// For a cut-off answer that bash cannot read as written (`df -h | awk
/// '{print $1, $2, … $12,`): its longest leading part that is whole commands
/// (`df -h`), cut at a top-level `|`, `&&`, `||` or `;`.
pub fn whole_part(command: &str) -> CutOff {
    let broken =
        |c: &str| crate::engine::runaway::contains_loop(c.as_bytes()) || syntax_error(c).is_some();
    if !broken(command) {
        return CutOff::Whole;
    }
    top_level_breaks(command)
        .into_iter()
        .rev()
        .map(|at| command[..at].trim_end())
        .find(|part| !part.is_empty() && !broken(part))
        .map_or(CutOff::Broken, |p| CutOff::Part(p.to_string()))
}

/// Byte offsets of the `|`, `&&`, `||` and `;` that separate commands at
/// the top level (outside quotes, `$( )`, `( )` and `{ }`).
fn top_level_breaks(command: &str) -> Vec<usize> {
    let bytes = command.as_bytes();
    let mut out = Vec::new();
    let (mut quote, mut depth, mut i) = (None::<u8>, 0i32, 0);
    while i < bytes.len() {
        let b = bytes[i];
        match (quote, b) {
            (_, b'\\') if quote != Some(b'\'') => i += 1,
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'(' | b'{') => depth += 1,
            (None, b')' | b'}') => depth -= 1,
            (None, b'|' | b'&' | b';') if depth == 0 => {
                let double = bytes.get(i + 1) == Some(&b) && b != b';';
                if b != b'&' || double {
                    out.push(i);
                }
                if double {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// `cmd` with every slip that has one obvious repair repaired (`find`'s
/// ungrouped `-o`, `rmdir` without `-depth`); `None` when none applied.
pub(crate) fn repaired(cmd: &str) -> Option<String> {
    let grouped = find_groups::regrouped(cmd);
    let base = grouped.as_deref().unwrap_or(cmd);
    find_depth::with_depth(base).or(grouped)
}

/// `g` answering `cmd` instead, in the form the parser reads back.
pub(crate) fn with_command(mut g: Generation, cmd: &str) -> Generation {
    let answer = crate::pipeline::prompt::answer(cmd);
    g.text = match answer.strip_prefix(crate::pipeline::prompt::ANSWER_PREFILL) {
        Some(rest) if g.prefilled => rest.to_string(),
        _ => answer,
    };
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_commands_pass() {
        for c in [
            "ls -la",
            "find . -name '*.rs' | xargs wc -l",
            "cd /tmp && ls",
            "for f in *.txt; do echo \"$f\"; done",
            "sudo ls /root",
            "$EDITOR notes.txt",
        ] {
            assert_eq!(problem(c), None, "{c}");
        }
    }

    #[test]
    fn a_runaway_answer_is_named() {
        let fields: Vec<String> = (1..=20).map(|i| format!("${i}")).collect();
        let cmd = format!("df -h | awk '{{print {}}}'", fields.join(", "));
        let p = problem(&cmd).unwrap();
        assert!(p.contains("repeats"), "{p}");
    }

    #[test]
    fn a_cut_off_answer_is_shortened_to_its_whole_commands() {
        let fields: Vec<String> = (1..=12).map(|i| format!("${i}")).collect();
        let cut = format!("df -h | awk '{{print {},", fields.join(", "));
        assert_eq!(whole_part(&cut), CutOff::Part("df -h".into()));
        assert_eq!(
            whole_part("ls -la && grep -c 'a|b' f.txt | sort -k2 'x"),
            CutOff::Part("ls -la && grep -c 'a|b' f.txt".into())
        );
        // Nothing whole to keep: nothing at all.
        assert_eq!(whole_part("awk '{print $1"), CutOff::Broken);
        // A command that reads fine is not cut.
        assert_eq!(whole_part("ls | wc -l"), CutOff::Whole);
    }

    #[test]
    fn a_bsd_option_on_a_gnu_tool_is_named() {
        // Seen from the model after the layers refactor: `tail -r` went
        // through unchecked because the safety layer no longer listed it.
        let p = problem_for("print long.txt in reverse", "tail -r long.txt").unwrap();
        assert!(p.contains("-r"), "{p}");
    }

    #[test]
    fn syntax_errors_and_missing_programs_are_named() {
        let p = problem("find . -name '*.rs' | ").unwrap();
        assert!(p.contains("bash cannot parse"), "{p}");
        let p = problem("ls | frobnicate-xyz --all").unwrap();
        assert!(p.contains("`frobnicate-xyz` is not installed"), "{p}");
        let p = problem("nope-one && nope-two").unwrap();
        assert!(p.contains("nope-one, nope-two"), "{p}");
    }
}
