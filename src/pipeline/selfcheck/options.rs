//! Invented options: a flag the program's own `--help` does not list
//! (or, for cargo, the sub-command's `cargo SUB --help`).
//!
//! Small models borrow options from one tool for another (`ls --max-depth`,
//! `tail -r` from BSD on a GNU system, `ls --group-readable`). The program
//! itself is the authority: GNU tools list every option in `--help`. This
//! check asks only well-known GNU tools, whose `--help` prints and exits
//! without side effects, and trusts a help text only when it looks like GNU's
//! (it names `--help` itself), so BSD tools on macOS are simply not checked.
//! Help texts are cached for the life of the process (the daemon asks once).

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Tools whose `--help` is safe to run and complete (coreutils, findutils'
/// xargs, grep, sed, tar, gzip, diffutils). `find` is left out: its
/// predicates (`-name`) are not options.
const CHECKED: &[&str] = &[
    "basename",
    "cat",
    "chmod",
    "chown",
    "comm",
    "cp",
    "cut",
    "date",
    "df",
    "diff",
    "dirname",
    "du",
    "grep",
    "gzip",
    "head",
    "join",
    "ln",
    "ls",
    "md5sum",
    "mkdir",
    "mv",
    "nl",
    "od",
    "paste",
    "readlink",
    "realpath",
    "rm",
    "rmdir",
    "sed",
    "seq",
    "sha1sum",
    "sha256sum",
    "sort",
    "split",
    "stat",
    "tac",
    "tail",
    "tar",
    "tee",
    "touch",
    "tr",
    "uname",
    "uniq",
    "wc",
    "xargs",
    "zcat",
];

/// The first option of `invocation` that its program's help does not list,
/// as a sentence; `None` when all are listed or the program is not checked.
pub fn unknown_option(program: &str, options: &[String]) -> Option<String> {
    if !CHECKED.contains(&program) || options.is_empty() {
        return None;
    }
    let help = help_text(program, &["--help"])?;
    first_unlisted(program, &help, options)
}

/// Tools whose sub-commands each list their own options in `TOOL SUB
/// --help` (clap's form, which also names `--help`), without side effects:
/// `cargo test --only parser` is caught like `ls --max-depth`.
const CHECKED_SUBCOMMANDS: &[&str] = &["cargo"];

/// The cargo sub-commands whose help lists every option they take
/// (deprecated aliases such as `--all` included). Not plugins (`cargo
/// clippy --help` leaves out the build options it passes on) nor `cargo
/// update`, whose help hides the `--package` it still takes: over the
/// 29,496 tldr, 224 intercode and 500 nl2bash references, these raised no
/// false alarm.
const COMPLETE_HELP: &[&str] = &[
    "build", "check", "test", "run", "bench", "doc", "clean", "new", "init", "add", "remove",
];

/// [`unknown_option`] for a sub-command of a tool in
/// [`CHECKED_SUBCOMMANDS`] (`cargo test`): the options before `--`
/// against `cargo test --help`.
pub fn unknown_subcommand_option(
    program: &str,
    args: &[String],
    options: &[String],
) -> Option<String> {
    if !CHECKED_SUBCOMMANDS.contains(&program) || options.is_empty() {
        return None;
    }
    // `cargo +nightly test`: the toolchain comes first.
    let sub = args.iter().find(|a| !a.starts_with('+'))?;
    if !COMPLETE_HELP.contains(&sub.as_str()) {
        return None;
    }
    let help = help_text(&format!("{program} {sub}"), &[sub, "--help"])?;
    first_unlisted(&format!("{program} {sub}"), &help, options)
}

/// The first of `options` that `help` does not list, as a sentence naming
/// `program`.
fn first_unlisted(program: &str, help: &str, options: &[String]) -> Option<String> {
    options.iter().find_map(|o| {
        let bad = unlisted(help, o)?;
        let word = o.split('=').next().unwrap_or(o);
        Some(if word == bad {
            format!("`{program}` has no option `{bad}` (see `{program} --help`)")
        } else {
            format!("`{program}` does not understand `{word}`: it has no option `{bad}`")
        })
    })
}

/// The part of `option` that `help` does not list, if any.
fn unlisted(help: &str, option: &str) -> Option<String> {
    if let Some(long) = option.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or(long);
        // GNU accepts any unambiguous prefix, so a listed option that starts
        // with the name is enough.
        let listed = lists(help, &format!("--{name}"), true) || templated(help, name);
        return (!name.is_empty() && !listed).then(|| format!("--{name}"));
    }
    // A short cluster: `-czvf` is -c -z -v -f; a letter that takes a value
    // ends it (`-k2,2`, `-d,`, `-tx1`). Digits (`-5`, `-0`) are not checked.
    for c in option[1..].chars() {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        let flag = format!("-{c}");
        if !lists(help, &flag, false) {
            return Some(flag);
        }
        if takes_value(help, &flag) {
            return None;
        }
    }
    None
}

/// Whether `name` fits an option `help` lists as a template, such as diff's
/// `--LTYPE-line-format` (`--new-line-format`).
fn templated(help: &str, name: &str) -> bool {
    static TEMPLATE: OnceLock<regex::Regex> = OnceLock::new();
    let re = TEMPLATE.get_or_init(|| regex::Regex::new(r"--([a-z-]*[A-Z]+[a-z-]*)").unwrap());
    re.captures_iter(help).any(|c| {
        let t = &c[1];
        let (head, rest) = t.split_at(t.find(|c: char| c.is_ascii_uppercase()).unwrap_or(0));
        let tail = rest.trim_start_matches(|c: char| c.is_ascii_uppercase());
        name.len() > head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail)
    })
}

/// Whether `help` mentions `flag` as an option: at the start of a word, and
/// (unless `prefix`) not followed by more of a name.
fn lists(help: &str, flag: &str, prefix: bool) -> bool {
    occurrences(help, flag).any(|end| {
        prefix
            || !help[end..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// Byte offsets just past each occurrence of `flag` that starts a word.
fn occurrences<'a>(help: &'a str, flag: &'a str) -> impl Iterator<Item = usize> + 'a {
    help.match_indices(flag).filter_map(move |(i, _)| {
        let before = help[..i].chars().next_back();
        matches!(before, None | Some(' ' | ',' | '[' | '(' | '\n' | '\t')).then_some(i + flag.len())
    })
}

/// Whether the help line that defines short `flag` gives it a value:
/// `-k, --key=KEYDEF`, `-I R`, `-i[SUFFIX]`, `-n, --lines=[+]NUM`.
fn takes_value(help: &str, flag: &str) -> bool {
    occurrences(help, flag).any(|end| {
        let rest = &help[end..];
        let line = rest.lines().next().unwrap_or("");
        if line.starts_with('[') || line.starts_with('=') {
            return true;
        }
        if let Some(arg) = line.strip_prefix(' ') {
            let word: String = arg.chars().take_while(|c| !c.is_whitespace()).collect();
            if !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                return true;
            }
        }
        // `-k, --key=KEYDEF`: the long form on the same line carries it.
        line.strip_prefix(", --")
            .map(|l| l.split_whitespace().next().unwrap_or(""))
            .is_some_and(|l| l.contains('=') || l.contains("[="))
    })
}

/// `key`'s help (`PROGRAM ARGS…`, e.g. `ls --help`, `cargo test --help`)
/// in the C locale, cached by `key` (`ls`, `cargo test`); `None` when it
/// fails, takes more than a second, or does not look like GNU or clap help
/// (it names `--help` itself).
fn help_text(key: &str, args: &[&str]) -> Option<String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok()?.get(key) {
        return hit.clone();
    }
    let program = key.split(' ').next().unwrap_or(key);
    let text = run_help(program, args).filter(|t| t.contains("--help"));
    cache.lock().ok()?.insert(key.to_string(), text.clone());
    text
}

fn run_help(program: &str, args: &[&str]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        // rustup's proxy must not fetch a toolchain a rust-toolchain.toml
        // names just to print help.
        .env("RUSTUP_AUTO_INSTALL", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.by_ref().take(256 * 1024).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + Duration::from_secs(1);
    let status = loop {
        match child.try_wait().ok()? {
            Some(s) => break s,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let buf = reader.join().ok()?;
    status
        .success()
        .then(|| String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LS: &str = "Usage: ls [OPTION]... [FILE]...\n  -a, --all                  do not ignore\n  -d, --directory            list directories\n      --group-directories-first\n  -l                         use a long listing format\n  -h, --human-readable       sizes\n  -I, --ignore=PATTERN       do not list\n  -w, --width=COLS           set output width\n      --help        display this help and exit\n";

    #[test]
    fn listed_options_pass_and_invented_ones_are_named() {
        assert_eq!(unlisted(LS, "-la"), None);
        assert_eq!(unlisted(LS, "-lhd"), None);
        assert_eq!(unlisted(LS, "--all"), None);
        // An unambiguous prefix of a listed option is accepted, as GNU does.
        assert_eq!(unlisted(LS, "--group-dir"), None);
        assert_eq!(unlisted(LS, "--width=80"), None);
        assert_eq!(unlisted(LS, "--max-depth=1"), Some("--max-depth".into()));
        assert_eq!(
            unlisted(LS, "--group-readable"),
            Some("--group-readable".into())
        );
        assert_eq!(unlisted(LS, "-lr"), Some("-r".into()));
        // -I takes a value: what follows is the value, not more flags.
        assert_eq!(unlisted(LS, "-Ixyz"), None);
        assert_eq!(unlisted(LS, "-w80"), None);
        // Digits are not checked (head -5, xargs -0).
        assert_eq!(unlisted(LS, "-1"), None);
        // diff documents a family of options as one template.
        let diff = "      --LTYPE-line-format=LFMT  format LTYPE input lines\n      --help\n";
        assert_eq!(unlisted(diff, "--new-line-format=x"), None);
        assert_eq!(
            unlisted(diff, "--new-format=x"),
            Some("--new-format".into())
        );
    }

    #[test]
    fn values_are_recognised_in_the_usual_gnu_forms() {
        let help = "  -k, --key=KEYDEF  sort via a key\n  -I R   same as --replace=R\n  -i[SUFFIX], --in-place[=SUFFIX]\n  -r, --reverse\n      --help\n";
        assert!(takes_value(help, "-k"));
        assert!(takes_value(help, "-I"));
        assert!(takes_value(help, "-i"));
        assert!(!takes_value(help, "-r"));
    }

    /// Against this machine's real GNU tools (the CI image and any Linux
    /// with coreutils); skipped where `ls --help` is not GNU's.
    #[test]
    fn real_gnu_tools() {
        if help_text("ls", &["--help"]).is_none() {
            return;
        }
        let opts = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(unknown_option("ls", &opts("-lah --color=auto")), None);
        assert!(unknown_option("ls", &opts("-l --max-depth=1"))
            .unwrap()
            .contains("`ls` has no option `--max-depth`"));
        assert!(unknown_option("tail", &opts("-r")).unwrap().contains("-r"));
        assert_eq!(
            unknown_option("tar", &opts("-czf -mtime")).unwrap(),
            "`tar` does not understand `-mtime`: it has no option `-e`"
        );
        for (prog, o) in [
            ("tar", "-czvf"),
            ("tar", "-xzf"),
            ("sort", "-nrk2"),
            ("sort", "-t,"),
            ("cut", "-d, -f1"),
            ("xargs", "-0 -I{}"),
            ("grep", "-rn --include=*.py"),
            ("sed", "-i.bak -E"),
            ("du", "-sh --max-depth=1"),
            ("od", "-tx1 -An"),
            ("head", "-n5"),
            ("seq", "-s,"),
            ("stat", "-c"),
            ("uniq", "-Dw32"),
            ("wc", "-l"),
            ("df", "-BM"),
        ] {
            assert_eq!(unknown_option(prog, &opts(o)), None, "{prog} {o}");
        }
        // Tools not on the list are never asked.
        assert_eq!(unknown_option("frobnicate", &opts("--anything")), None);
    }

    /// Against this machine's cargo (the CI image has it: it builds cmdai);
    /// skipped where `cargo test --help` does not answer.
    #[test]
    fn real_cargo_subcommands() {
        if help_text("cargo test", &["test", "--help"]).is_none() {
            return;
        }
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let check = |cmd: &str| {
            let w = words(cmd);
            let options: Vec<String> = w
                .iter()
                .take_while(|o| *o != "--")
                .filter(|o| o.starts_with('-'))
                .cloned()
                .collect();
            unknown_subcommand_option("cargo", &w, &options)
        };
        let p = check("test --only parser").unwrap();
        assert!(p.contains("`cargo test` has no option `--only`"), "{p}");
        assert!(check("build --optimize").is_some());
        for ok in [
            "test parser",
            "test --release --workspace",
            "test -p cmdai --lib",
            "test --test integration -- --nocapture",
            "build --release",
            "run --bin cmdai -- --help",
            "+stable build --release",
            "check --all-targets",
        ] {
            assert_eq!(check(ok), None, "cargo {ok}");
        }
        // Other tools are not asked this way.
        assert_eq!(
            unknown_subcommand_option("npm", &words("run --x"), &words("--x")),
            None
        );
    }
}
