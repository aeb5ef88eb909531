//! `cmdai <QUERY>...`: the main job. Words in, one judged command out.

use crate::cli::{Format, GenerateArgs};
use crate::error::{exit, CliError, Result};
use crate::output::{self, JsonResult};
use crate::pipeline::answer::{answer_query, Answer, Ask};
use crate::pipeline::prompt::{self, MAX_REQUEST_BYTES};
use crate::safety::{self, Verdict};
use std::ffi::OsString;

/// Joins the words of the request; refuses invalid UTF-8, empty and huge input.
pub fn join_query(words: &[OsString]) -> Result<String> {
    let mut parts = Vec::with_capacity(words.len());
    for w in words {
        match w.to_str() {
            Some(s) => parts.push(s),
            None => {
                return Err(CliError::usage(
                    "the request contains bytes that are not valid UTF-8; retype it as plain text",
                ))
            }
        }
    }
    let joined = parts.join(" ");
    if joined.len() > MAX_REQUEST_BYTES {
        return Err(CliError::usage(format!(
            "the request is {} bytes long, more than the {MAX_REQUEST_BYTES} a request may have; describe the task in a sentence or two",
            joined.len()
        )));
    }
    prompt::clean_request(&joined).ok_or_else(|| {
        CliError::usage(
            "the request is empty; say what you want to do, e.g. `cmdai find large files`",
        )
    })
}

pub fn run(args: &GenerateArgs) -> Result<i32> {
    let query = join_query(&args.query)?;
    let s = super::settings::for_generate(args);
    let level = s.safety.value;
    let ask = Ask {
        refine: args.refine.clone(),
        previous: args.previous.clone(),
        avoid: args.avoid.clone(),
    };
    if args.explain && output::stderr_is_terminal() {
        eprintln!(
            "cmdai: generating a command for \"{query}\", then explaining it (to explain a command you have: cmdai explain COMMAND)"
        );
    }
    let (
        Answer {
            command,
            timings,
            model_name,
            served_by,
            tokens,
        },
        req,
        folder,
    ) = answer_query(&s, &ask, &query)?;
    // What the folder answers fills the model's stand-ins (`<branch-name>`);
    // what is left is pointed out.
    let command = crate::pipeline::placeholders::fill(&command, &query, &folder);
    let placeholders = crate::pipeline::placeholders::find(&command, &query);
    // Relative paths and globs are judged in the directory the request came
    // from (`rm -rf *` in `/` is the whole system).
    let ctx = safety::Context::for_user().in_dir(&req.context.cwd);
    let assessment = safety::assess_request(&query, &command, &ctx);
    let verdict = safety::policy(assessment.risk, level);
    let blocked = verdict == Verdict::Block && !args.allow_dangerous;
    if s.memory_and_history.value {
        // History never stops a request: a full disk only loses the entry.
        let _ = crate::pipeline::history::History::for_user().append(
            &query,
            &command,
            assessment.risk,
            &req.context.cwd,
            std::env::current_dir()
                .ok()
                .as_deref()
                .and_then(crate::pipeline::folder::project_kind),
        );
    }

    if args.widget {
        return Ok(widget_output(&command, &assessment, blocked, &placeholders));
    }
    match args.format {
        Format::Json => {
            let obj = JsonResult {
                command: &command,
                risk: assessment.risk,
                warnings: output::warnings(&assessment),
                blocked,
                model: &model_name,
                served_by,
                timings_ms: timings,
                context: &folder,
                placeholders: &placeholders,
                tokens,
                fallback: crate::pipeline::reach::fallback(),
            };
            crate::outln!("{}", serde_json::to_string(&obj).unwrap_or_default());
        }
        Format::Text => {
            if blocked {
                crate::outln!("{}", output::commented_out(&command, &assessment));
            } else {
                crate::outln!("{command}");
            }
            if output::stderr_is_terminal() {
                for f in &assessment.findings {
                    output::note(f.risk, &f.explanation);
                }
                if let Some(note) = placeholder_note(&placeholders) {
                    eprintln!("cmdai: {note}");
                }
            }
        }
    }
    if blocked {
        eprintln!(
            "cmdai: blocked a {} command: {}; pass --allow-dangerous to print it anyway",
            assessment.risk,
            output::worst_reason(&assessment)
        );
        return Ok(exit::BLOCKED);
    }
    if args.explain && args.format == Format::Text {
        super::explain::explain(&command, &s)?;
    }
    if args.execute && args.format == Format::Text {
        return super::execute::offer(&query, &command, args, &s);
    }
    Ok(exit::OK)
}

/// The line the widget scripts look for to learn which command was blocked
/// (so pressing the key again asks for a different one).
pub const WIDGET_BLOCKED_PREFIX: &str = "cmdai: blocked, not put on your command line: ";

/// The shell widget's contract: stdout is what goes into the command line,
/// stderr holds notes to print above the prompt; exit 0 means replace the
/// buffer. A blocked command never reaches stdout: the widget gets exit 5
/// ([`exit::BLOCKED`]), stdout empty, and on stderr the findings and, last,
/// [`WIDGET_BLOCKED_PREFIX`] with the command, so it can show it above the
/// prompt and leave the request on the line. (A widget that only knows
/// "non-zero means failure" keeps the request and shows that last line.)
fn widget_output(
    command: &str,
    a: &safety::Assessment,
    blocked: bool,
    placeholders: &[crate::pipeline::placeholders::Span],
) -> i32 {
    for w in output::warnings(a) {
        eprintln!("cmdai: {}", output::visible(&w));
    }
    if blocked {
        let shown = output::visible(&command.replace(['\n', '\r'], " "));
        eprintln!("{WIDGET_BLOCKED_PREFIX}{shown}");
        return exit::BLOCKED;
    }
    if let (Some(note), Some(first)) = (placeholder_note(placeholders), placeholders.first()) {
        eprintln!("cmdai: {note}");
        eprintln!("{WIDGET_CURSOR_PREFIX}{}", first.start);
    }
    crate::outln!("{command}");
    exit::OK
}

/// The line the widget scripts look for to put the cursor on the first
/// placeholder instead of the end of the line: `cmdai-cursor:N`, in
/// characters (as zsh's `CURSOR`, bash's `READLINE_POINT` and fish's
/// `commandline -C` count). Never shown.
pub const WIDGET_CURSOR_PREFIX: &str = "cmdai-cursor:";

/// One sentence naming what the user must fill in, when anything.
fn placeholder_note(placeholders: &[crate::pipeline::placeholders::Span]) -> Option<String> {
    let names: Vec<&str> = placeholders.iter().map(|p| p.text.as_str()).collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(format!("replace {one} before running it")),
        many => Some(format!("replace {} before running it", many.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn join_words() {
        assert_eq!(
            join_query(&words(&["find", "large", "files"])).unwrap(),
            "find large files"
        );
    }

    #[test]
    fn empty_and_huge_are_usage_errors() {
        assert_eq!(
            join_query(&words(&[])).unwrap_err().exit_code(),
            exit::USAGE
        );
        assert_eq!(
            join_query(&words(&["  ", "\t"])).unwrap_err().exit_code(),
            exit::USAGE
        );
        let huge = "a".repeat(MAX_REQUEST_BYTES + 1);
        assert_eq!(
            join_query(&words(&[&huge])).unwrap_err().exit_code(),
            exit::USAGE
        );
    }

    #[test]
    fn invalid_utf8_is_a_usage_error() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'f', 0xff, b'x']);
        let e = join_query(&[bad]).unwrap_err();
        assert_eq!(e.exit_code(), exit::USAGE);
        assert!(e.message.contains("UTF-8"));
    }

    #[test]
    fn commented_out_line_is_one_quoted_word_after_the_hash() {
        // The reason and the command hold `;`, `|`, `'` and a newline; the
        // whole text is one quoted word after `#`.
        let a = safety::assess("rm -rf /", &safety::Context::default());
        let line = output::commented_out("rm -rf /; reboot | x 'y'\nz", &a);
        assert!(line.starts_with("# blocked: '"), "{line}");
        assert!(!line.contains('\n'), "{line}");
        // After the `#` (a command name where comments are off): one word
        // `blocked:` and one quoted word holding everything else.
        let words = shell_words::split(&line[2..]).unwrap();
        assert_eq!(words.len(), 2, "{line} -> {words:?}");
        assert!(
            words[1].ends_with("rm -rf /; reboot | x 'y' z"),
            "{words:?}"
        );
    }

    #[test]
    fn safety_and_quality_flags_take_only_their_names() {
        use crate::cli::Cli;
        use crate::safety::SafetyLevel;
        use crate::settings::Quality;
        use clap::{CommandFactory, Parser};
        let parse = |args: &[&str]| Cli::try_parse_from([&["cmdai"], args].concat());
        // A bad name is a usage error that lists the good ones.
        for flag in ["--safety", "--quality"] {
            let e = parse(&[flag, "bogus", "list", "files"]).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue, "{e}");
        }
        let cli = parse(&["--safety", "STRICT", "--quality", "best", "list"]).unwrap();
        let s = super::super::settings::for_generate(&cli.generate);
        assert_eq!(s.safety.value, SafetyLevel::Strict);
        assert_eq!(s.quality.value, Quality::Best);
        // `--help` (and so the completions) names every value.
        let help = Cli::command().render_help().to_string();
        for name in ["strict", "permissive", "fast", "balanced", "best"] {
            assert!(help.contains(name), "{name} missing from:\n{help}");
        }
    }
}
