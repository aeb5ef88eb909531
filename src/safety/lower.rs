//! From a parsed simple command to the program that really runs.
//!
//! Why this exists: `sudo -u root env X=1 nice -n 5 /bin/rm -rf /` runs `rm`,
//! `find / -exec rm -rf {} +` runs `rm` on `/`, `xargs rm -rf` runs `rm` on
//! whatever comes in, and `bash -c 'rm -rf ~'` runs a whole script. This module
//! peels off wrappers (`sudo`, `doas`, `env`, `command`, `nohup`, `nice`,
//! `time`, `timeout`, `busybox`, `exec`, `stdbuf`, `chroot`, `watch`, ...),
//! expands `find -exec/-execdir/-ok` and `xargs`, and collects the text of
//! nested scripts (`sh -c`, `eval`, `su -c`, `ssh host cmd`, `bash <<EOF`) so
//! the analyser can parse them. It also offers a small option parser that
//! understands clusters (`-rf`), long options (`--force`, `--x=y`) and `--`.

use crate::safety::parse::{RedirOp, Script, SimpleCommand, Word};
use crate::safety::programs::{is_assignment, prog_name, SHELLS};
use crate::safety::unwrapped::{Body, Cmd, Input, Unwrapped};
use std::ops::Range;

/// Skips options of a wrapper. `with_value` lists short options that take a
/// value, `long_with_value` long ones. Returns the remaining words.
fn skip_opts<'a>(words: &'a [Word], with_value: &str, long_with_value: &[&str]) -> &'a [Word] {
    let mut i = 0;
    while i < words.len() {
        let t = words[i].text.as_str();
        if t == "--" {
            return &words[i + 1..];
        }
        if let Some(long) = t.strip_prefix("--") {
            i += 1;
            if !long.contains('=') && long_with_value.contains(&long) {
                i += 1;
            }
            continue;
        }
        if t.len() > 1 && t.starts_with('-') {
            let chars: Vec<char> = t[1..].chars().collect();
            i += 1;
            for (k, c) in chars.iter().enumerate() {
                if with_value.contains(*c) {
                    if k == chars.len() - 1 {
                        i += 1;
                    }
                    break;
                }
            }
            continue;
        }
        break;
    }
    &words[i.min(words.len())..]
}

fn body_from(words: &[Word], src_hint: Option<&Word>) -> Body {
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let span = match (words.first(), words.last()) {
        (Some(a), Some(b)) => a.span.start..b.span.end,
        _ => src_hint.map(|w| w.span.clone()).unwrap_or(0..0),
    };
    Body {
        verbatim: words.len() == 1,
        text,
        span,
        params: Vec::new(),
    }
}

/// Unwraps the simple command at `idx`.
pub(crate) fn unwrap(script: &Script, idx: usize) -> Unwrapped {
    let sc = &script.commands[idx];
    let mut out = Unwrapped::default();
    unwrap_words(sc, idx, &sc.words, false, Input::None, &mut out, 0);
    if let Some(f) = sc.function {
        let called = script.called.get(f).copied().unwrap_or(false);
        for c in &mut out.cmds {
            c.in_called_function = called;
        }
    }
    defined_bodies(script, idx, &mut out);
    // `python3 -c 'os.system(..)'`: what the code amounts to in shell terms.
    for c in &out.cmds {
        if crate::safety::translate::lang_of(&c.name).is_some() {
            out.bodies
                .extend(crate::safety::translate::bodies(c, script));
        }
    }
    // `echo 'cmd' | sh`, `printf '\x72\x6d ..' | sh`, `echo .. | rev | sh`:
    // the text the pipeline feeds the shell is the script.
    if out.bodies.is_empty()
        && out.cmds.iter().any(|c| {
            crate::safety::programs::is_shell(&c.name)
                && crate::safety::unwrapped::reads_program_from_stdin(c)
        })
    {
        if let Some((text, span)) = fed_text(script, idx) {
            out.bodies.push(Body {
                text,
                span,
                verbatim: false,
                params: Vec::new(),
            });
        } else if let Some(prev) = script.pipe_prev(idx) {
            let pw = &script.commands[prev].words;
            if let Some(first) = pw.first() {
                let name = prog_name(&first.text);
                if name == "echo" || name == "printf" {
                    let args: Vec<Word> = pw[1..]
                        .iter()
                        .skip_while(|w| w.text.starts_with('-') && w.text.len() > 1)
                        .take(if name == "printf" { 1 } else { usize::MAX })
                        .cloned()
                        .collect();
                    if !args.is_empty() {
                        out.bodies.push(body_from(&args, None));
                    }
                }
            }
        }
    }
    xargs_known_input(script, idx, &mut out);
    // `... | xargs -I{} sh -c '{}'`: each input line becomes the script.
    if let Some(repl) = xargs_replace(sc) {
        let input = sc
            .redirects
            .iter()
            .find(|r| matches!(r.op, RedirOp::HereDoc | RedirOp::HereString))
            .map(|r| (r.target.text.clone(), r.span.clone()))
            .or_else(|| fed_text(script, idx));
        if let Some((text, span)) = input {
            let templates: Vec<String> = out
                .bodies
                .iter()
                .filter(|b| b.text.contains(&repl))
                .map(|b| b.text.clone())
                .collect();
            for t in templates {
                for line in text.lines().filter(|l| !l.trim().is_empty()).take(16) {
                    out.bodies.push(Body {
                        text: t.replace(&repl, line),
                        span: span.clone(),
                        verbatim: false,
                        params: Vec::new(),
                    });
                }
            }
        }
    }
    out
}

/// A call of a function or an alias the line defines: the body runs, with
/// the call's words as its arguments (`wipe() { rm -rf "$1"; }; wipe ~`,
/// `alias x='sudo rm -rf'; x /usr`).
fn defined_bodies(script: &Script, idx: usize, out: &mut Unwrapped) {
    let sc = &script.commands[idx];
    let lead = sc.words.iter().take_while(|w| is_assignment(w)).count();
    let Some(first) = sc.words.get(lead) else {
        return;
    };
    let args = &sc.words[lead + 1..];
    if lead == 0 {
        if let Some((text, span)) = script.called_body(idx) {
            let mut params = vec![first.text.clone()];
            params.extend(args.iter().map(|w| w.text.clone()));
            out.bodies.push(Body {
                text: text.clone(),
                span: span.clone(),
                verbatim: true,
                params,
            });
            return;
        }
    }
    let alias = script
        .aliases
        .iter()
        .rev()
        .find(|(name, _, end)| *name == first.text && !first.quoted && *end <= sc.span.start);
    if let Some((_, value, _)) = alias {
        let mut text = value.clone();
        for w in args {
            text.push(' ');
            text.push_str(&w.text);
        }
        out.bodies.push(Body {
            text,
            span: sc.span.clone(),
            verbatim: false,
            params: Vec::new(),
        });
    }
}

/// Runs the commands a shell reads from its here-document or here-string
/// (`bash <<EOF`, `sudo -s <<<'..'`, `su - <<EOF`).
fn stdin_bodies(sc: &SimpleCommand, out: &mut Unwrapped) {
    for r in &sc.redirects {
        if matches!(r.op, RedirOp::HereDoc | RedirOp::HereString) && !r.target.text.is_empty() {
            out.bodies.push(Body {
                text: r.target.text.clone(),
                span: r.span.clone(),
                verbatim: false,
                params: Vec::new(),
            });
        }
    }
}

/// A shell standing for `sudo -s`, `sudo -i` or `su` without a command: it
/// reads its commands from stdin.
fn stdin_shell(sc: &SimpleCommand, idx: usize, prog: &Word, out: &mut Unwrapped) {
    stdin_bodies(sc, out);
    out.cmds.push(Cmd {
        name: "sh".into(),
        prog: Word::synthetic("sh", prog.span.clone()),
        args: Vec::new(),
        span: sc.span.clone(),
        privileged: true,
        input: Input::None,
        index: idx,
        in_called_function: false,
    });
}

/// `parallel CMD ::: A B`: CMD runs once per argument (with `{}` replaced,
/// or the argument appended). Without `:::` the arguments come from stdin,
/// as with `xargs`. `None` when it runs nothing (`--dry-run`).
fn parallel_runs(rest: &[Word]) -> Option<(Vec<Word>, Vec<Body>)> {
    if rest
        .iter()
        .any(|w| w.text == "--dry-run" || w.text == "--dryrun")
    {
        return None;
    }
    let r = skip_opts(
        rest,
        "jNaSIdEnlLmsX",
        &[
            "jobs",
            "arg-file",
            "sshlogin",
            "colsep",
            "delimiter",
            "max-args",
            "max-lines",
            "eof",
            "joblog",
            "results",
            "timeout",
            "delay",
            "tmpdir",
            "workdir",
        ],
    );
    let Some(sep) = r.iter().position(|w| w.text.starts_with(":::")) else {
        return Some((r.to_vec(), Vec::new()));
    };
    let template: Vec<&str> = r[..sep].iter().map(|w| w.text.as_str()).collect();
    let template = template.join(" ");
    let span = match (r.first(), r.last()) {
        (Some(a), Some(b)) => a.span.start..b.span.end,
        _ => 0..0,
    };
    let bodies = r[sep + 1..]
        .iter()
        .filter(|w| !w.text.starts_with(":::"))
        .take(16)
        .map(|arg| Body {
            text: if template.contains("{}") {
                template.replace("{}", &arg.text)
            } else {
                format!("{template} {}", arg.text)
            },
            span: span.clone(),
            verbatim: false,
            params: Vec::new(),
        })
        .collect();
    Some((Vec::new(), bodies))
}

/// Whether a word runs `xargs` (`xargs`, `/usr/bin/xargs`), without the
/// allocation of [`prog_name`] for every word.
fn is_xargs(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 5 && b[b.len() - 5..].eq_ignore_ascii_case(b"xargs") && prog_name(t) == "xargs"
}

/// Options of `xargs` that take a value.
const XARGS_VALUES: (&str, &[&str]) = (
    "IiLlnPdEsaR",
    &[
        "replace",
        "max-lines",
        "max-args",
        "max-procs",
        "delimiter",
        "eof",
        "max-chars",
        "arg-file",
        "process-slot-var",
    ],
);

/// `printf '/\n' | xargs -I % rm -rf %`, `echo /dev/sda | xargs mkfs.ext4`:
/// when its input is fixed text, xargs runs its command on those words.
fn xargs_known_input(script: &Script, idx: usize, out: &mut Unwrapped) {
    let sc = &script.commands[idx];
    let Some(at) = sc.words.iter().position(|x| is_xargs(&x.text)) else {
        return;
    };
    let input = sc
        .redirects
        .iter()
        .find(|r| matches!(r.op, RedirOp::HereDoc | RedirOp::HereString))
        .map(|r| r.target.text.clone())
        .or_else(|| fed_text(script, idx).map(|(t, _)| t));
    let Some(text) = input else {
        return;
    };
    let template = skip_opts(&sc.words[at + 1..], XARGS_VALUES.0, XARGS_VALUES.1);
    if template.is_empty() {
        return;
    }
    let template: Vec<&str> = template.iter().map(|w| w.text.as_str()).collect();
    let template = template.join(" ");
    let quote = |t: &str| format!("'{}'", t.replace('\'', "'\\''"));
    let texts: Vec<String> = match xargs_replace(sc) {
        Some(r) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(16)
            .map(|l| template.replace(&r, &quote(l)))
            .collect(),
        None => {
            let words: Vec<String> = text.split_whitespace().take(64).map(quote).collect();
            vec![format!("{template} {}", words.join(" "))]
        }
    };
    for text in texts {
        out.bodies.push(Body {
            text,
            span: sc.span.clone(),
            verbatim: false,
            params: Vec::new(),
        });
    }
}

/// The replace string of `xargs -I R` / `-i` / `--replace[=R]`.
fn xargs_replace(sc: &SimpleCommand) -> Option<String> {
    let w = &sc.words;
    let at = w.iter().position(|x| is_xargs(&x.text))?;
    let mut i = at + 1;
    while let Some(x) = w.get(i) {
        let t = x.text.as_str();
        if t == "-I" {
            return w.get(i + 1).map(|v| v.text.clone());
        }
        if let Some(v) = t.strip_prefix("-I").filter(|v| !v.is_empty()) {
            return Some(v.to_string());
        }
        if t == "-i" || t == "--replace" {
            return Some("{}".to_string());
        }
        if let Some(v) = t.strip_prefix("--replace=") {
            return Some(v.to_string());
        }
        if !t.starts_with('-') {
            return None;
        }
        i += 1;
    }
    None
}

/// The text the commands before `idx` in its pipeline print, when they only
/// print fixed text (`echo`, `printf`, through `rev`, `tr`, `base64 -d`,
/// `xxd -r -p`), and where they are written.
fn fed_text(script: &Script, idx: usize) -> Option<(String, Range<usize>)> {
    let p = script.pipelines.get(script.commands[idx].pipeline)?;
    let pos = p.iter().position(|&c| c == idx)?;
    if pos == 0 {
        return None;
    }
    let ctx = crate::safety::types::Context::default();
    let mut text: Option<String> = None;
    for &i in &p[..pos] {
        let sc = &script.commands[i];
        if sc.words.iter().any(|w| w.dynamic) {
            return None;
        }
        let words: Vec<String> = sc.words.iter().map(|w| w.text.clone()).collect();
        let here = sc.redirects.iter().find_map(|r| match r.op {
            RedirOp::HereString => Some(r.target.text.clone() + "\n"),
            RedirOp::HereDoc => Some(r.target.text.clone()),
            _ => None,
        });
        let stdin = here.or(text.take());
        text = Some(crate::safety::expand::run_fixed(
            &words,
            stdin.as_deref(),
            &ctx,
        )?);
    }
    let first = &script.commands[p[0]].span;
    let last = &script.commands[p[pos - 1]].span;
    Some((text?, first.start..last.end))
}

fn unwrap_words(
    sc: &SimpleCommand,
    idx: usize,
    words: &[Word],
    mut privileged: bool,
    mut input: Input,
    out: &mut Unwrapped,
    level: usize,
) {
    if level > 4 {
        return;
    }
    let mut w: &[Word] = words;
    for _ in 0..64 {
        while w.first().is_some_and(is_assignment) {
            w = &w[1..];
        }
        let Some(first) = w.first() else { return };
        let name = prog_name(&first.text);
        let rest = &w[1..];
        match name.as_str() {
            "sudo" => {
                privileged = true;
                let shell;
                (shell, w) = sudo_command(rest);
                // `sudo -u root X=1 cmd`
                if shell && w.is_empty() {
                    stdin_shell(sc, idx, first, out);
                    return;
                }
            }
            "env" => match env_runs(rest) {
                // `env -S 'string'` splits the string into a command.
                EnvRuns::Split(s) => {
                    out.bodies.push(body_from(std::slice::from_ref(s), None));
                    return;
                }
                // Plain `env` prints the environment.
                EnvRuns::Nothing => break,
                EnvRuns::Command(next) => w = next,
            },
            "command" | "builtin" => {
                if rest.iter().any(|x| x.text == "-v" || x.text == "-V") {
                    return;
                }
                w = skip_opts(rest, "", &[]);
            }
            "flock" => {
                let r = skip_opts(rest, "wEc", &["timeout", "conflict-exit-code", "command"]);
                if push_command_body(rest, out) {
                    return;
                }
                w = if r.is_empty() { r } else { &r[1..] };
            }
            "watch" => {
                let r = skip_opts(rest, "nd", &["interval", "differences"]);
                if !r.is_empty() {
                    out.bodies.push(body_from(r, None));
                }
                return;
            }
            "xargs" => {
                let r = skip_opts(rest, XARGS_VALUES.0, XARGS_VALUES.1);
                input = Input::Unknown;
                if r.is_empty() {
                    return;
                }
                w = r;
            }
            "eval" => {
                if !rest.is_empty() {
                    out.bodies.push(body_from(rest, None));
                }
                break;
            }
            "su" | "runuser" => {
                if !push_command_body(rest, out) {
                    // Without `-c` the user's shell reads commands from stdin.
                    stdin_shell(sc, idx, first, out);
                }
                privileged = true;
                break;
            }
            "parallel" => {
                let Some((template, bodies)) = parallel_runs(rest) else {
                    return;
                };
                out.bodies.extend(bodies);
                input = Input::Unknown;
                if template.is_empty() {
                    return;
                }
                return unwrap_words(sc, idx, &template, privileged, input, out, level + 1);
            }
            "ssh" => {
                let r = skip_opts(rest, "bcDEeFIiJLlmOopQRSWwB", &[]);
                if r.len() > 1 {
                    out.bodies.push(body_from(&r[1..], None));
                }
                break;
            }
            "find" => {
                expand_find(sc, idx, w, privileged, out, level);
                break;
            }
            n if SHELLS.contains(&n) => {
                // `bash -c 'body' name args`, `bash -lc body`, `bash <<EOF`.
                match shell_body(rest) {
                    Some((b, params)) => {
                        let mut body = body_from(std::slice::from_ref(b), None);
                        body.params = params;
                        out.bodies.push(body);
                    }
                    None => stdin_bodies(sc, out),
                }
                break;
            }
            _ => match after_wrapper(&name, rest) {
                Some(next) => {
                    privileged |= matches!(name.as_str(), "doas" | "run0" | "pkexec");
                    w = next;
                }
                None => break,
            },
        }
    }
    if w.is_empty() {
        return;
    }
    out.cmds.push(Cmd {
        name: prog_name(&w[0].text),
        prog: w[0].clone(),
        args: w[1..].to_vec(),
        span: sc.span.clone(),
        privileged,
        input,
        index: idx,
        in_called_function: false,
    });
}

/// The body of `-c BODY` or `--command BODY` (`su`, `runuser`, `flock`),
/// kept to be checked; whether the option is there.
fn push_command_body(rest: &[Word], out: &mut Unwrapped) -> bool {
    let Some(pos) = rest
        .iter()
        .position(|x| x.text == "-c" || x.text == "--command")
    else {
        return false;
    };
    if let Some(b) = rest.get(pos + 1) {
        out.bodies.push(body_from(std::slice::from_ref(b), None));
    }
    true
}

/// `sudo`'s options: whether they ask for a shell (`-s`, `-i`, `--login`),
/// and the words after them.
fn sudo_command(rest: &[Word]) -> (bool, &[Word]) {
    let shell = rest
        .iter()
        .take_while(|x| x.text.starts_with('-'))
        .any(|x| {
            matches!(x.text.as_str(), "--shell" | "--login")
                || !x.text.starts_with("--") && x.text.contains(['s', 'i'])
        });
    let w = skip_opts(
        rest,
        "ugpChDrtUTR",
        &[
            "user",
            "group",
            "prompt",
            "close-from",
            "host",
            "chdir",
            "role",
            "type",
            "other-user",
            "command-timeout",
            "chroot",
        ],
    );
    (shell, w)
}

/// What `env ARGS` runs.
enum EnvRuns<'a> {
    /// `env -S 'string'`: the string, split into a command.
    Split(&'a Word),
    /// The command after the options and assignments.
    Command(&'a [Word]),
    /// Nothing: plain `env` prints the environment.
    Nothing,
}

fn env_runs(rest: &[Word]) -> EnvRuns<'_> {
    let mut i = 0;
    while i < rest.len() {
        let t = rest[i].text.as_str();
        if t == "-S" || t == "--split-string" {
            return match rest.get(i + 1) {
                Some(s) => EnvRuns::Split(s),
                None => EnvRuns::Command(&rest[i..]),
            };
        } else if t == "-u" || t == "-C" || t == "--unset" || t == "--chdir" {
            i += 2;
        } else if t == "--" {
            i += 1;
            break;
        } else if t.starts_with('-') && t.len() > 1 {
            i += 1;
        } else {
            break;
        }
    }
    let mut next = &rest[i.min(rest.len())..];
    while next.first().is_some_and(is_assignment) {
        next = &next[1..];
    }
    if next.is_empty() {
        EnvRuns::Nothing
    } else {
        EnvRuns::Command(next)
    }
}

/// A shell's `-c` body (the first word after the option cluster holding
/// `c`) and the positional parameters after it; `None` when the shell reads
/// its commands from stdin.
fn shell_body(rest: &[Word]) -> Option<(&Word, Vec<String>)> {
    let mut i = 0;
    while i < rest.len() {
        let t = rest[i].text.as_str();
        if t.starts_with('-') && !t.starts_with("--") && t.len() > 1 {
            if t[1..].contains('c') {
                // The first non-option word after the cluster is the body.
                let mut j = i + 1;
                while j < rest.len() && rest[j].text.starts_with('-') && rest[j].text.len() > 1 {
                    j += 1;
                }
                let params = rest.iter().skip(j + 1).map(|w| w.text.clone()).collect();
                return rest.get(j).map(|b| (b, params));
            }
            i += 1;
        } else if t.starts_with("--") {
            i += 1;
        } else {
            break;
        }
    }
    None
}

/// The command a wrapper runs (`nohup`, `nice -n 5`, `timeout 10`,
/// `chroot DIR`, `doas`, `busybox` ...): the words after its own options
/// and operands; `None` for a program that is no wrapper.
fn after_wrapper<'a>(name: &str, rest: &'a [Word]) -> Option<&'a [Word]> {
    // The wrapper's own operand before the command (a CPU mask, a duration,
    // the new root).
    let skip_one = |w: &'a [Word]| if w.is_empty() { w } else { &w[1..] };
    let w = match name {
        "doas" | "run0" | "pkexec" => skip_opts(rest, "uCa", &["user"]),
        "nohup" | "setsid" | "unbuffer" | "then" | "do" | "else" | "elif" | "if" | "while"
        | "until" | "!" | "{" | "exec" | "time" | "caffeinate" | "torsocks" | "proxychains"
        | "proxychains4" | "catchsegv" | "fakeroot" | "systemd-run" | "unshare" | "nsenter"
        | "firejail" | "stdbuf" => skip_opts(
            rest,
            "aospenwrtcuUgGlmiN",
            &[
                "output",
                "unit",
                "property",
                "uid",
                "gid",
                "setenv",
                "working-directory",
                "target",
            ],
        ),
        "nice" | "ionice" | "renice" | "chrt" => {
            let w = skip_opts(rest, "nct", &["adjustment", "class", "classdata"]);
            // `chrt 10 cmd`: skip the priority.
            let priority = w
                .first()
                .is_some_and(|x| x.text.chars().all(|c| c.is_ascii_digit()));
            if (name == "chrt" || name == "renice") && priority {
                &w[1..]
            } else {
                w
            }
        }
        "taskset" => skip_one(skip_opts(rest, "", &[])),
        "timeout" => skip_one(skip_opts(rest, "sk", &["signal", "kill-after"])),
        "chroot" => skip_one(skip_opts(rest, "", &["userspec", "groups"])),
        "busybox" | "toybox" => rest,
        _ => return None,
    };
    Some(w)
}

/// `find ROOTS... EXPR -exec CMD {} ;` runs CMD on what find selects. Without
/// filtering tests the selection is the roots themselves (and all below).
fn expand_find(
    sc: &SimpleCommand,
    idx: usize,
    w: &[Word],
    privileged: bool,
    out: &mut Unwrapped,
    level: usize,
) {
    let args = &w[1..];
    let mut roots: Vec<&Word> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if matches!(t, "-H" | "-L" | "-P") || t.starts_with("-O") || t == "-D" {
            i += if t == "-D" { 2 } else { 1 };
            continue;
        }
        if t.starts_with('-') || t == "(" || t == "!" {
            break;
        }
        roots.push(&args[i]);
        i += 1;
    }
    let filtered = args
        .iter()
        .any(|a| crate::find_predicates::narrows(&a.text));
    out.cmds.push(Cmd {
        name: "find".into(),
        prog: w[0].clone(),
        args: args.to_vec(),
        span: sc.span.clone(),
        privileged,
        input: Input::None,
        index: idx,
        in_called_function: false,
    });
    while i < args.len() {
        let t = args[i].text.as_str();
        if crate::find_predicates::runs_command(t) {
            let start = i + 1;
            let mut end = start;
            while end < args.len() && args[end].text != ";" && args[end].text != "+" {
                end += 1;
            }
            let mut sub: Vec<Word> = Vec::new();
            for a in &args[start..end] {
                if a.text.contains("{}") {
                    if filtered || roots.is_empty() || t.ends_with("dir") {
                        sub.push(Word::synthetic(
                            &a.text.replace("{}", "./found"),
                            a.span.clone(),
                        ));
                    } else {
                        for r in &roots {
                            sub.push(Word::synthetic(
                                &a.text.replace("{}", &r.text),
                                a.span.clone(),
                            ));
                        }
                    }
                } else {
                    sub.push(a.clone());
                }
            }
            unwrap_words(sc, idx, &sub, privileged, Input::None, out, level + 1);
            i = end + 1;
        } else {
            i += 1;
        }
    }
}

/// Parsed options of a command.
#[derive(Debug, Default)]
pub(crate) struct Opts<'a> {
    pub short: Vec<char>,
    pub long: Vec<(&'a str, Option<&'a str>)>,
    /// (short option, value) for options that take a value.
    pub values: Vec<(char, &'a str)>,
    pub operands: Vec<&'a Word>,
}

impl<'a> Opts<'a> {
    pub(crate) fn has(&self, c: char) -> bool {
        self.short.contains(&c)
    }

    /// A long option, also matching GNU-style unambiguous abbreviations.
    pub(crate) fn has_long(&self, name: &str) -> bool {
        self.long
            .iter()
            .any(|(l, _)| *l == name || (l.len() >= 4 && name.starts_with(l)))
    }

    pub(crate) fn long_value(&self, name: &str) -> Option<&'a str> {
        self.long
            .iter()
            .find(|(l, _)| *l == name)
            .and_then(|(_, v)| *v)
    }

    pub(crate) fn value(&self, c: char) -> Option<&'a str> {
        self.values.iter().find(|(k, _)| *k == c).map(|(_, v)| *v)
    }
}

/// Parses options: `short_vals` are short options taking a value,
/// `long_vals` long options taking a value (as a separate word).
pub(crate) fn opts<'a>(args: &'a [Word], short_vals: &str, long_vals: &[&str]) -> Opts<'a> {
    let mut o = Opts::default();
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let w = &args[i];
        let t = w.text.as_str();
        i += 1;
        if only_operands || t == "-" || !t.starts_with('-') {
            o.operands.push(w);
            continue;
        }
        if t == "--" {
            only_operands = true;
            continue;
        }
        if let Some(long) = t.strip_prefix("--") {
            match long.split_once('=') {
                Some((k, v)) => o.long.push((k, Some(v))),
                None => {
                    if long_vals.contains(&long) {
                        o.long.push((long, args.get(i).map(|w| w.text.as_str())));
                        i += 1;
                    } else {
                        o.long.push((long, None));
                    }
                }
            }
            continue;
        }
        let body = &t[1..];
        for (k, c) in body.char_indices() {
            if short_vals.contains(c) {
                o.short.push(c);
                let rest = &body[k + c.len_utf8()..];
                if rest.is_empty() {
                    if let Some(v) = args.get(i) {
                        o.values.push((c, v.text.as_str()));
                        i += 1;
                    }
                } else {
                    o.values.push((c, rest));
                }
                break;
            }
            o.short.push(c);
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::parse::parse;

    fn eff(src: &str) -> Vec<(String, Vec<String>, bool)> {
        let s = parse(src, 0);
        let mut v = Vec::new();
        for i in 0..s.commands.len() {
            for c in unwrap(&s, i).cmds {
                v.push((
                    c.name.clone(),
                    c.arg_texts().map(String::from).collect(),
                    c.privileged,
                ));
            }
        }
        v
    }

    #[test]
    fn peels_wrappers() {
        for src in [
            "sudo -u root rm -rf /",
            "env rm -rf /",
            "env -i FOO=1 rm -rf /",
            "\\rm -rf /",
            "/bin/rm -rf /",
            "command rm -rf /",
            "nohup nice -n 10 rm -rf /",
            "timeout -s KILL 10 rm -rf /",
            "busybox rm -rf /",
            "exec rm -rf /",
            "time rm -rf /",
            "X=1 doas rm -rf /",
        ] {
            let e = eff(src);
            assert_eq!(e.last().unwrap().0, "rm", "{src}");
            assert_eq!(e.last().unwrap().1.last().unwrap(), "/", "{src}");
        }
        assert!(eff("sudo rm x")[0].2);
        assert!(eff("command -v rm").is_empty());
    }

    #[test]
    fn expands_find_and_xargs() {
        let e = eff("find / -exec rm -rf {} +");
        assert_eq!(e[1], ("rm".into(), vec!["-rf".into(), "/".into()], false));
        let e = eff("find . -name '*.o' -exec rm {} \\;");
        assert_eq!(e[1].1, vec!["./found"]);
        let s = parse("xargs -0 rm -rf < list", 0);
        let u = unwrap(&s, 0);
        assert_eq!(u.cmds[0].name, "rm");
        assert_eq!(u.cmds[0].input, Input::Unknown);
    }

    #[test]
    fn collects_bodies() {
        for (src, body) in [
            ("bash -c 'rm -rf ~'", "rm -rf ~"),
            ("sh -xc \"echo hi\"", "echo hi"),
            ("eval echo hi", "echo hi"),
            ("su -c 'id' root", "id"),
            ("ssh -p 22 host rm -rf /", "rm -rf /"),
            ("bash <<< 'ls'", "ls"),
            ("watch -n 1 'ls -l'", "ls -l"),
        ] {
            let s = parse(src, 0);
            let u = unwrap(&s, 0);
            assert_eq!(
                u.bodies.first().map(|b| b.text.as_str()),
                Some(body),
                "{src}"
            );
        }
    }

    /// The nested scripts a line hands to the walk (all commands).
    fn bodies(src: &str) -> Vec<(String, Vec<String>)> {
        let s = parse(src, 0);
        (0..s.commands.len())
            .flat_map(|i| unwrap(&s, i).bodies)
            .map(|b| (b.text, b.params))
            .collect()
    }

    #[test]
    fn defined_functions_and_aliases_run_at_their_calls() {
        let b = bodies("wipe() { rm -rf \"$1\"; }; wipe ~");
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(b[0].0.trim(), "rm -rf \"$1\";");
        assert_eq!(b[0].1, vec!["wipe", "~"]);
        let b = bodies("function nuke { rm -rf \"$@\"; }; nuke / /home");
        assert_eq!(b[0].1, vec!["nuke", "/", "/home"]);
        assert_eq!(
            bodies("alias x='sudo rm -rf'; x /usr")[0].0,
            "sudo rm -rf /usr"
        );
        // Defined but not called, or called before the alias exists: nothing.
        assert!(bodies("wipe() { rm -rf \"$1\"; }").is_empty());
        assert!(bodies("x /usr; alias x='rm -rf'").is_empty());
        // A call inside its own body is not expanded again.
        assert!(bodies(":(){ :|:& }").is_empty());
    }

    #[test]
    fn runners_hand_over_their_commands() {
        let b = bodies("parallel rm -rf ::: ~ /tmp/x");
        assert_eq!(
            b.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
            ["rm -rf ~", "rm -rf /tmp/x"]
        );
        assert_eq!(bodies("parallel 'rm -rf {}' ::: /etc")[0].0, "rm -rf /etc");
        assert!(bodies("parallel --dry-run rm ::: /").is_empty());
        assert_eq!(
            bodies("printf '/\\n' | xargs -I % rm -rf %")[0].0,
            "rm -rf '/'"
        );
        assert_eq!(
            bodies("echo /dev/sda | xargs mkfs.ext4")[0].0,
            "mkfs.ext4 '/dev/sda'"
        );
        // A value stays one word: `;` in it starts nothing.
        assert_eq!(
            bodies("echo 'x; rm -rf /' | xargs echo")[0].0,
            "echo 'x;' 'rm' '-rf' '/'"
        );
    }

    #[test]
    fn shells_reading_stdin() {
        assert_eq!(
            bodies("sudo -s <<'EOF'\nrm -rf /etc\nEOF")[0].0,
            "rm -rf /etc\n"
        );
        assert_eq!(bodies("su - <<< 'id'")[0].0, "id");
        assert_eq!(
            bodies("cat <<'EOF' | bash\nrm -rf ~\nEOF")[0].0,
            "rm -rf ~\n"
        );
        assert_eq!(bodies("echo 'ls' | sudo -s")[0].0, "ls\n");
        assert!(bodies("sudo -s").is_empty());
        assert!(bodies("sudo -u me ls").is_empty());
    }

    #[test]
    fn option_parsing() {
        let s = parse("rm -rf --no-preserve-root -- -x /", 0);
        let o = opts(&s.commands[0].words[1..], "", &[]);
        assert!(o.has('r') && o.has('f'));
        assert!(o.has_long("no-preserve-root"));
        assert_eq!(o.operands.len(), 2);
        let s = parse("tar -C dir -xf a.tar", 0);
        let o = opts(&s.commands[0].words[1..], "Cf", &[]);
        assert_eq!(o.value('C'), Some("dir"));
        assert_eq!(o.value('f'), Some("a.tar"));
        assert!(o.operands.is_empty());
    }
}
