//! Interpreter code in shell terms: which languages are read, where their
//! code is written, and the shell lines that code amounts to.
//!
//! Why this exists: `python3 -c 'import shutil; shutil.rmtree("/")'` does
//! what `rm -rf /` does. The lowering of commands (`lower.rs`) turns such
//! code into nested scripts with [`bodies`], and the interpreter rules
//! (`rules/interp.rs`) judge the same [`translate`] result. It depends only
//! on the parser, the command shapes and the word helpers, so both users can
//! import it without a circle.

use crate::safety::expand::base64_decode;
use crate::safety::parse::{RedirOp, Script, Word};
use crate::safety::programs::prog_name;
use crate::safety::unwrapped::{Body, Cmd};
use regex::Regex;
use std::sync::OnceLock;

/// Languages whose code is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Python,
    Perl,
    Ruby,
    Node,
    Php,
    Awk,
    Lua,
    R,
}

pub(crate) fn lang_of(name: &str) -> Option<Lang> {
    // Most programs are not interpreters: reject them by their first letter.
    if !matches!(
        name.as_bytes().first(),
        Some(b'p' | b'r' | b'n' | b'b' | b'd' | b'a' | b'g' | b'm' | b'l' | b'j')
    ) {
        return None;
    }
    let n = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    Some(match n {
        "python" | "pypy" | "python3-" => Lang::Python,
        "perl" => Lang::Perl,
        "ruby" | "jruby" => Lang::Ruby,
        "node" | "nodejs" | "bun" | "deno" => Lang::Node,
        "php" => Lang::Php,
        "awk" | "gawk" | "mawk" | "nawk" => Lang::Awk,
        "lua" | "luajit" => Lang::Lua,
        "rscript" => Lang::R,
        _ => return None,
    })
}

/// The code words an interpreter gets on its command line.
pub(crate) fn inline_code(lang: Lang, args: &[Word]) -> Vec<&Word> {
    let mut code = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        let next = args.get(i + 1);
        match lang {
            Lang::Awk => {
                if matches!(t, "-F" | "-v" | "-f" | "--field-separator" | "--assign") {
                    if t == "-f" {
                        return code;
                    }
                    i += 2;
                    continue;
                }
                if t.starts_with('-') && t.len() > 1 {
                    if t.starts_with("-f") && !t.starts_with("--") {
                        return code;
                    }
                    i += 1;
                    continue;
                }
                code.push(&args[i]);
                return code;
            }
            _ => {
                let flag = match lang {
                    Lang::Python => t.starts_with('-') && !t.starts_with("--") && t.ends_with('c'),
                    Lang::Perl | Lang::Ruby => {
                        t.starts_with('-')
                            && !t.starts_with("--")
                            && (t.ends_with('e') || t.ends_with('E'))
                            && !t.starts_with("-M")
                            && !t.starts_with("-r")
                            && !t.starts_with("-I")
                    }
                    Lang::Node => matches!(t, "-e" | "--eval" | "-p" | "--print" | "-pe" | "eval"),
                    Lang::Php => t == "-r",
                    Lang::Lua | Lang::R => t == "-e",
                    Lang::Awk => false,
                };
                if flag {
                    if let Some(w) = next {
                        code.push(w);
                        i += 2;
                        continue;
                    }
                }
                if lang == Lang::Python && !t.starts_with('-') {
                    // `python3 script.py -c x`: the rest are the script's.
                    return code;
                }
            }
        }
        i += 1;
    }
    code
}

/// Code an interpreter reads from a here-document, a here-string or an
/// `echo`/`printf` piped into it (without a script operand).
fn stdin_code(c: &Cmd, script: &Script) -> Vec<(String, std::ops::Range<usize>)> {
    let mut v = Vec::new();
    let sc = &script.commands[c.index];
    for r in &sc.redirects {
        if matches!(r.op, RedirOp::HereDoc | RedirOp::HereString) && !r.target.text.is_empty() {
            v.push((r.target.text.clone(), r.span.clone()));
        }
    }
    if let Some(prev) = script.pipe_prev(c.index) {
        let pw = &script.commands[prev].words;
        if let Some(first) = pw.first() {
            let name = prog_name(&first.text);
            if name == "echo" || name == "printf" {
                let args: Vec<&Word> = pw[1..]
                    .iter()
                    .skip_while(|w| w.text.starts_with('-') && w.text.len() > 1)
                    .collect();
                if let (Some(a), Some(z)) = (args.first(), args.last()) {
                    let text = args
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    v.push((text, a.span.start..z.span.end));
                }
            }
        }
    }
    v
}

/// Whether the interpreter takes its program from stdin (no script operand).
fn reads_stdin(lang: Lang, args: &[Word]) -> bool {
    if !inline_code(lang, args).is_empty() {
        return false;
    }
    let mut skip = false;
    for w in args {
        let t = w.text.as_str();
        if skip {
            skip = false;
            continue;
        }
        if t == "-" {
            return true;
        }
        if t.starts_with('-') {
            skip = lang == Lang::Python && matches!(t, "-m" | "-W" | "-X");
            if lang == Lang::Python && t == "-m" {
                return false;
            }
            continue;
        }
        return false;
    }
    true
}

/// Every piece of code the command runs, with where it is written.
pub(crate) fn all_code(c: &Cmd, script: &Script) -> Vec<(Lang, String, std::ops::Range<usize>)> {
    let Some(lang) = lang_of(&c.name) else {
        return Vec::new();
    };
    let mut v: Vec<(Lang, String, std::ops::Range<usize>)> = inline_code(lang, &c.args)
        .into_iter()
        .map(|w| (lang, w.text.clone(), w.span.clone()))
        .collect();
    if reads_stdin(lang, &c.args) && lang != Lang::Awk {
        for (text, span) in stdin_code(c, script) {
            v.push((lang, text, span));
        }
    }
    v
}

/// The shell lines the interpreter code amounts to, as nested scripts for
/// the analyser (called while unwrapping the command).
pub(crate) fn bodies(c: &Cmd, script: &Script) -> Vec<Body> {
    let mut out = Vec::new();
    for (lang, code, span) in all_code(c, script) {
        for line in translate(lang, &code).lines {
            out.push(Body {
                text: line,
                span: span.clone(),
                verbatim: false,
                params: Vec::new(),
            });
        }
    }
    out
}

/// What a piece of code amounts to in shell terms.
#[derive(Debug, Default)]
pub(crate) struct Translation {
    pub lines: Vec<String>,
    /// It runs shell commands.
    pub shell: bool,
    /// It runs a shell command whose program is computed.
    pub computed_shell: bool,
    /// It deletes files.
    pub deletes: bool,
    /// What a Python `.write(..)` call writes, for the file it opened.
    written: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Runs a shell command line (one string) or an argv (several).
    Shell,
    /// Runs a program with an argv, never through a shell.
    Exec,
    DeleteTree,
    DeleteFile,
    RemoveDir,
    /// Truncates (`w`) or appends (`a`) to a file.
    Write,
    /// Writes its second argument into the file named by its first
    /// (`File.write(p, data)`, `writeFileSync(p, data)`).
    WriteData,
    /// Appends its second argument to the file named by its first.
    Append,
    /// `kill(pid, sig)` with the pid first.
    KillPidFirst,
    /// `kill(sig, pid)` with the signal first.
    KillSigFirst,
    Chmod,
}

fn calls(lang: Lang) -> &'static [(Regex, Call)] {
    static TABLES: OnceLock<Vec<Vec<(Regex, Call)>>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        let build = |v: &[(&str, Call)]| -> Vec<(Regex, Call)> {
            v.iter()
                .map(|(p, c)| (Regex::new(p).unwrap(), *c))
                .collect()
        };
        vec![
            // Python
            build(&[
                (r#"(?:\bos|__import__\(\s*['"]os['"]\s*\))\.(system|popen)\s*\("#, Call::Shell),
                (r#"(?:\bsubprocess|__import__\(\s*['"]subprocess['"]\s*\))\.(run|call|Popen|check_call|check_output|getoutput|getstatusoutput)\s*\("#, Call::Shell),
                (r"\bcommands\.getoutput\s*\(", Call::Shell),
                (r"\bos\.(exec|spawn)\w*\s*\(", Call::Exec),
                (r"\bpty\.spawn\s*\(", Call::Exec),
                (r"\bshutil\.rmtree\s*\(", Call::DeleteTree),
                (r"\bos\.(remove|unlink)\s*\(", Call::DeleteFile),
                (r"\bos\.(rmdir|removedirs)\s*\(", Call::RemoveDir),
                (r"\bopen\s*\(", Call::Write),
                (r"\bos\.kill\s*\(", Call::KillPidFirst),
                (r"\bos\.chmod\s*\(", Call::Chmod),
            ]),
            // Perl
            build(&[
                (r"\b(system|exec)\b", Call::Shell),
                (r"\bqx\s*[({\[/|]", Call::Shell),
                (r"\b(rmtree|remove_tree)\b", Call::DeleteTree),
                (r"\bunlink\b", Call::DeleteFile),
                (r"\brmdir\b", Call::RemoveDir),
                (r"\bopen\s*\(", Call::Write),
                (r"\bkill\b", Call::KillSigFirst),
            ]),
            // Ruby
            build(&[
                (r"\b(system|exec|spawn)\b", Call::Shell),
                (r"\b(IO\.popen|Open3\.\w+|Kernel\.system)\b", Call::Shell),
                (r"%x[({\[]", Call::Shell),
                (r"\bFileUtils\.(rm_rf|rm_r|remove_dir|remove_entry|remove_entry_secure|rmtree)\b", Call::DeleteTree),
                (r"\bFileUtils\.(rm|rm_f|remove|remove_file)\b", Call::DeleteFile),
                (r"\b(File\.(delete|unlink))\b", Call::DeleteFile),
                (r"\b(Dir\.(delete|rmdir|unlink))\b", Call::RemoveDir),
                (r"\bFile\.write\s*\(", Call::WriteData),
                (r"\bFile\.open\s*\(", Call::Write),
                (r"\bProcess\.kill\s*\(", Call::KillSigFirst),
            ]),
            // Node
            build(&[
                (r"\b(exec|execSync)\s*\(", Call::Shell),
                (r"\b(spawn|spawnSync|execFile|execFileSync)\s*\(", Call::Exec),
                (r"\b(rmSync|rm|rmdirSync|rmdir)\s*\(", Call::DeleteTree),
                (r"\b(unlinkSync|unlink)\s*\(", Call::DeleteFile),
                (r"\b(writeFileSync|writeFile)\s*\(", Call::WriteData),
                (r"\b(appendFileSync|appendFile)\s*\(", Call::Append),
                (r"\bcreateWriteStream\s*\(", Call::Write),
                (r"\bprocess\.kill\s*\(", Call::KillPidFirst),
                (r"\bchmodSync\s*\(", Call::Chmod),
            ]),
            // PHP
            build(&[
                (r"\b(system|exec|shell_exec|passthru|popen|proc_open)\s*\(", Call::Shell),
                (r"\bunlink\s*\(", Call::DeleteFile),
                (r"\brmdir\s*\(", Call::RemoveDir),
                (r"\bfile_put_contents\s*\(", Call::WriteData),
                (r"\bposix_kill\s*\(", Call::KillPidFirst),
                (r"\bchmod\s*\(", Call::Chmod),
            ]),
            // awk
            build(&[(r"\bsystem\s*\(", Call::Shell)]),
            // Lua
            build(&[
                (r"\bos\.execute\s*\(?", Call::Shell),
                (r"\bio\.popen\s*\(", Call::Shell),
                (r"\bos\.remove\s*\(", Call::DeleteFile),
            ]),
            // R
            build(&[
                (r"\bsystem2?\s*\(", Call::Shell),
                (r"\bunlink\s*\(", Call::DeleteTree),
                (r"\bfile\.remove\s*\(", Call::DeleteFile),
            ]),
        ]
    });
    let i = match lang {
        Lang::Python => 0,
        Lang::Perl => 1,
        Lang::Ruby => 2,
        Lang::Node => 3,
        Lang::Php => 4,
        Lang::Awk => 5,
        Lang::Lua => 6,
        Lang::R => 7,
    };
    &tables[i]
}

/// Backtick strings run by the shell (Perl, Ruby, PHP) and `Path(x).unlink()`.
fn extra_forms() -> &'static (Regex, Regex, Regex) {
    static R: OnceLock<(Regex, Regex, Regex)> = OnceLock::new();
    R.get_or_init(|| {
        (
            Regex::new(r"`([^`]*)`").unwrap(),
            Regex::new(r"Path\s*\(").unwrap(),
            Regex::new(r#"(?:glob\.glob|glob|Dir\.glob|os\.listdir|readdirSync|scandir|iglob)\s*\(\s*(?:r|u)?['"]([^'"]*)['"]|Dir\[\s*['"]([^'"]*)['"]|<([^<>\s;]*\*[^<>\s;]*)>"#).unwrap(),
        )
    })
}

/// The value written for what the code computes.
const COMPUTED: &str = "$__value";

pub(crate) fn translate(lang: Lang, code: &str) -> Translation {
    let mut t = Translation::default();
    if code.len() > 64 * 1024 {
        return t;
    }
    let (backticks, path_call, globs) = extra_forms();
    if lang == Lang::Python {
        // `open(p, "a").write(DATA)`: what the opened file receives.
        if let Some(at) = code.find(".write(") {
            let args = read_args(code, at + ".write(".len(), lang, None);
            t.written = args.first().map(|a| a.join());
        }
    }
    // A glob the code lists, standing in for a loop variable it deletes.
    let glob = globs.captures(code).and_then(|c| {
        c.iter().skip(1).flatten().next().map(|m| {
            let g = m.as_str();
            if g.is_empty() || g == "." {
                "./*".to_string()
            } else if !g.contains('*') && !g.contains('?') {
                format!("{}/*", g.trim_end_matches('/'))
            } else {
                g.to_string()
            }
        })
    });
    for (re, call) in calls(lang) {
        for m in re.find_iter(code) {
            if t.lines.len() >= 16 {
                return t;
            }
            // Node: `exec` of a regex is not a shell, nor `rm` of something
            // that is not the fs module.
            if lang == Lang::Node {
                let needs = match call {
                    Call::Shell | Call::Exec => Some("child_process"),
                    Call::DeleteTree
                    | Call::DeleteFile
                    | Call::RemoveDir
                    | Call::Write
                    | Call::WriteData
                    | Call::Append
                    | Call::Chmod => Some("fs"),
                    Call::KillPidFirst | Call::KillSigFirst => None,
                };
                if needs.is_some_and(|n| !code.contains(n)) || code[..m.start()].ends_with("/.") {
                    continue;
                }
            }
            let args = read_args(code, m.end(), lang, glob.as_deref());
            apply_call(*call, lang, &args, &mut t);
        }
    }
    if matches!(lang, Lang::Perl | Lang::Ruby | Lang::Php) {
        for c in backticks.captures_iter(code) {
            let inner = c.get(1).map_or("", |m| m.as_str());
            if !inner.trim().is_empty() {
                t.shell = true;
                t.lines.push(inner.to_string());
            }
        }
    }
    if lang == Lang::Python {
        for m in path_call.find_iter(code) {
            let rest = &code[m.end()..];
            let close = matching_paren(rest).unwrap_or(rest.len());
            let after = rest[close..].trim_start_matches(')').trim_start();
            let method = after.strip_prefix('.').unwrap_or("");
            let tree = method.starts_with("rmdir");
            if method.starts_with("unlink") || tree {
                let args = read_args(code, m.end(), lang, glob.as_deref());
                let path = args
                    .first()
                    .map(|a| a.join())
                    .unwrap_or_else(|| COMPUTED.into());
                t.deletes = true;
                t.lines.push(format!(
                    "rm {}{}",
                    if tree { "-d " } else { "" },
                    quote(&path)
                ));
            }
        }
    }
    t
}

/// One argument of a call: the pieces it is concatenated from.
#[derive(Debug, Clone)]
enum Arg {
    /// An option object or anything else written as it is (`{recursive: true}`).
    Raw(String),
    /// String pieces (computed parts as `$__value`).
    Text(String),
    /// A list literal: argv.
    List(Vec<String>),
    /// `name=value` (Python keyword argument).
    Keyword(String, String),
}

impl Arg {
    fn join(&self) -> String {
        match self {
            Arg::Text(s) | Arg::Raw(s) => s.clone(),
            Arg::List(v) => v.join(" "),
            Arg::Keyword(_, v) => v.clone(),
        }
    }
}

fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 1usize;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Reads the arguments of a call whose name ends at `at`: a parenthesised
/// list, or (Perl, Ruby, Lua) the words up to the end of the statement.
fn read_args(code: &str, at: usize, lang: Lang, glob: Option<&str>) -> Vec<Arg> {
    let rest = &code[at..];
    let opened = code[..at].ends_with('(');
    let trimmed = rest.trim_start();
    let (body, _) = if opened {
        let end = matching_paren(rest).unwrap_or(rest.len());
        (&rest[..end], end)
    } else if let Some(inner) = trimmed.strip_prefix('(') {
        let end = matching_paren(inner).unwrap_or(inner.len());
        (&inner[..end], end)
    } else if let Some(open) = code[..at]
        .chars()
        .last()
        .filter(|c| matches!(c, '{' | '[' | '/' | '|'))
    {
        // Perl `qx{..}`, Ruby `%x[..]`: the whole body is one command line.
        let close = match open {
            '{' => '}',
            '[' => ']',
            c => c,
        };
        let end = rest.find(close).unwrap_or(rest.len());
        return vec![Arg::Text(rest[..end].to_string())];
    } else {
        // Perl and Ruby calls without parentheses: `system "ls"`, `kill 9, 1`.
        let starts_value = trimmed.chars().next().is_some_and(|c| {
            matches!(c, '\'' | '"' | '`' | '$' | '@' | '<' | '-') || c.is_alphanumeric()
        });
        if !starts_value || trimmed.starts_with("=>") {
            return Vec::new();
        }
        let end = trimmed.find([';', '\n', '}']).unwrap_or(trimmed.len());
        (&trimmed[..end], end)
    };
    split_top(body)
        .into_iter()
        .map(|a| parse_arg(a.trim(), lang, glob))
        .collect()
}

/// Splits at top-level commas.
fn split_top(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < s.len() || !parts.is_empty() {
        parts.push(&s[start.min(s.len())..]);
    }
    parts.retain(|p| !p.trim().is_empty());
    parts
}

fn home_expr() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r#"^(?:os\.path\.expanduser\s*\(\s*['"]~['"]\s*\)|(?:pathlib\.)?Path\.home\s*\(\s*\)|os\.environ\s*\[\s*['"]HOME['"]\s*\]|os\.environ\.get\s*\(\s*['"]HOME['"]\s*\)|os\.getenv\s*\(\s*['"]HOME['"]\s*\)|Dir\.home|ENV\s*\[\s*['"]HOME['"]\s*\]|\$ENV\s*\{\s*['"]?HOME['"]?\s*\}|(?:require\s*\(\s*['"]os['"]\s*\)|os)\.homedir\s*\(\s*\)|process\.env\.HOME|process\.env\[\s*['"]HOME['"]\s*\]|getenv\s*\(\s*['"]HOME['"]\s*\)|\$_SERVER\s*\[\s*['"]HOME['"]\s*\]|Sys\.getenv\s*\(\s*['"]HOME['"]\s*\)|path\.expand\s*\(\s*['"]~['"]\s*\)|ENVIRON\s*\[\s*['"]HOME['"]\s*\])"#).unwrap()
    })
}

/// One argument: string literals (with computed parts), lists, paths.
fn parse_arg(a: &str, lang: Lang, glob: Option<&str>) -> Arg {
    // Keyword arguments (Python, R): `shell=True`, `recursive=TRUE`.
    if let Some((k, v)) = a.split_once('=') {
        let k = k.trim();
        if !v.starts_with('=')
            && !k.is_empty()
            && k.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && matches!(lang, Lang::Python | Lang::R)
        {
            return Arg::Keyword(k.to_string(), v.trim().to_string());
        }
    }
    if a.starts_with('{') {
        return Arg::Raw(a.to_string());
    }
    if let Some(inner) = a.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return Arg::List(
            split_top(inner)
                .into_iter()
                .map(|x| parse_arg(x.trim(), lang, glob).join())
                .collect(),
        );
    }
    if let Some(inner) = a.strip_prefix("qw(").and_then(|s| s.strip_suffix(')')) {
        return Arg::List(inner.split_whitespace().map(str::to_string).collect());
    }
    Arg::Text(value_of(a, lang, glob))
}

/// The text an expression evaluates to, as far as literals show it.
fn value_of(a: &str, lang: Lang, glob: Option<&str>) -> String {
    let a = a.trim();
    if home_expr().find(a).is_some_and(|m| m.end() == a.len()) {
        return "~".into();
    }
    // A base64 literal decoded in the code: what it decodes to.
    if let Some(c) = b64_literal().captures(a) {
        if let Some(text) = c
            .get(1)
            .and_then(|m| base64_decode(m.as_str()))
            .and_then(|b| String::from_utf8(b).ok())
        {
            return text;
        }
    }
    for wrap in [
        "os.path.expanduser(",
        "os.path.abspath(",
        "os.path.realpath(",
        "path.resolve(",
        "File.expand_path(",
        "realpath(",
        "Path(",
        "pathlib.Path(",
        "str(",
    ] {
        if let Some(inner) = a.strip_prefix(wrap).and_then(|s| s.strip_suffix(')')) {
            return value_of(inner, lang, glob);
        }
    }
    if let Some(inner) = a
        .strip_prefix("os.path.join(")
        .or_else(|| a.strip_prefix("path.join("))
        .or_else(|| a.strip_prefix("File.join("))
        .and_then(|s| s.strip_suffix(')'))
    {
        return split_top(inner)
            .into_iter()
            .map(|p| value_of(p, lang, glob))
            .collect::<Vec<_>>()
            .join("/");
    }
    for g in ["glob.glob(", "glob(", "Dir.glob(", "iglob("] {
        if let Some(inner) = a.strip_prefix(g).and_then(|s| s.strip_suffix(')')) {
            return value_of(inner, lang, glob);
        }
    }
    if let Some(inner) = a.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
        return inner.trim().to_string();
    }
    let b = a.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut any = false;
    while i < b.len() {
        let c = b[i];
        if let Some((text, next)) = literal_at(a, i, lang) {
            out.push_str(&text);
            any = true;
            i = next;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c == b'@' {
            // `ENVIRON["HOME"]`, `os.environ['HOME']` inside a concatenation.
            if let Some(m) = home_expr().find(&a[i..]) {
                out.push('~');
                any = true;
                i += m.end();
                continue;
            }
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            let ident = &a[start..i];
            // A call or index after the name belongs to it.
            if matches!(b.get(i), Some(b'(' | b'[')) {
                let end = matching_paren(&a[i + 1..]).map_or(b.len(), |e| i + 1 + e + 1);
                i = end;
            }
            if matches!(
                ident,
                "True" | "False" | "None" | "true" | "false" | "nil" | "null" | "glob" | "my"
            ) {
                continue;
            }
            out.push_str(match glob {
                Some(g) if !ident.starts_with("os") => g,
                _ => COMPUTED,
            });
            any = true;
            continue;
        }
        if c == b'.' && i > 0 {
            // A method call on what came before (`"x".split()`).
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            while matches!(b.get(i), Some(b'(' | b'[')) {
                i = matching_paren(&a[i + 1..]).map_or(b.len(), |e| i + 1 + e + 1);
            }
            continue;
        }
        if c.is_ascii_digit() || (c == b'-' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push_str(&a[start..i]);
            any = true;
            continue;
        }
        i += 1;
    }
    if any {
        out
    } else {
        COMPUTED.into()
    }
}

/// The quoted literal that starts at byte `i` of `a` (with Python's
/// r'', b'', f'', u'' prefixes), unescaped, and interpolated where the
/// language interpolates it; with the index just past it. `None` when no
/// literal starts there.
fn literal_at(a: &str, i: usize, lang: Lang) -> Option<(String, usize)> {
    let b = a.as_bytes();
    let c = b[i];
    // String prefixes r'', b'', f'', u'' (Python).
    let (prefix_f, skip) = match (c, b.get(i + 1)) {
        (b'f' | b'F', Some(b'\'' | b'"')) => (true, 1),
        (b'r' | b'b' | b'u' | b'R' | b'B' | b'U', Some(b'\'' | b'"')) => (false, 1),
        _ => (false, 0),
    };
    let q = b.get(i + skip).copied()?;
    if !matches!(q, b'\'' | b'"' | b'`') {
        return None;
    }
    let start = i + skip + 1;
    let mut j = start;
    let mut s = String::new();
    let raw = skip == 1 && !prefix_f && matches!(c, b'r' | b'R');
    while j < b.len() && b[j] != q {
        if b[j] == b'\\' && j + 1 < b.len() && !raw {
            let n = b[j + 1];
            match n {
                b'n' => s.push('\n'),
                b't' => s.push('\t'),
                _ => s.push(n as char),
            }
            j += 2;
            continue;
        }
        s.push(b[j] as char);
        j += 1;
    }
    let s = if s.is_ascii() {
        s
    } else {
        String::from_utf8_lossy(&b[start..j.min(b.len())]).into_owned()
    };
    let interpolating =
        prefix_f || q == b'`' || (q == b'"' && matches!(lang, Lang::Perl | Lang::Ruby | Lang::Php));
    let text = if interpolating {
        interpolate(&s, lang)
    } else {
        s
    };
    Some((text, j + 1))
}

fn b64_literal() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r#"^(?:base64\.b64decode|b64decode|Base64\.decode64|decode_base64|base64_decode|atob|Buffer\.from)\s*\(\s*b?['"]([A-Za-z0-9+/=_-]+)['"]"#).unwrap()
    })
}

/// `{x}` (f-strings), `${x}` (JS), `#{x}` (Ruby), `$x`/`@x` (Perl, PHP):
/// computed parts.
fn interpolate(s: &str, lang: Lang) -> String {
    static R: OnceLock<Regex> = OnceLock::new();
    let re = R.get_or_init(|| {
        Regex::new(
            r"\$\{[^}]*\}|#\{[^}]*\}|\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*(\{[^}]*\}|\[[^\]]*\])?",
        )
        .unwrap()
    });
    re.replace_all(s, |c: &regex::Captures| {
        let m = &c[0];
        if m.starts_with("$ENV{") && m.contains("HOME") {
            return "~".to_string();
        }
        if lang == Lang::Python && !m.starts_with('{') {
            return m.to_string();
        }
        COMPUTED.to_string()
    })
    .into_owned()
}

/// Single-quotes a word for the shell line (kept as it is when it needs no
/// quoting, so globs stay globs and `$__value` stays computed).
fn quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.chars()
        .all(|c| c.is_alphanumeric() || "/._-~*?+:=@%,$".contains(c))
    {
        return s.to_string();
    }
    if s.contains(COMPUTED) {
        // Keep the computed part outside the quotes.
        return s
            .split(COMPUTED)
            .map(|p| {
                if p.is_empty() {
                    String::new()
                } else {
                    format!("'{}'", p.replace('\'', "'\\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(COMPUTED);
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn argv_line(v: &[String]) -> String {
    v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(" ")
}

fn apply_call(call: Call, lang: Lang, args: &[Arg], t: &mut Translation) {
    let positional: Vec<&Arg> = args
        .iter()
        .filter(|a| !matches!(a, Arg::Keyword(..) | Arg::Raw(_)))
        .collect();
    let first = positional.first().map(|a| a.join());
    match call {
        Call::Shell | Call::Exec => {
            let line = match positional.as_slice() {
                [] => return,
                [Arg::Text(s)] if call == Call::Shell => s.clone(),
                [Arg::List(v), ..] => argv_line(v),
                // Node `spawn('rm', ['-rf', '/'])`, Perl `system('rm', '-rf', '/')`.
                [Arg::Text(p), Arg::List(v), ..] if lang != Lang::Python => {
                    let mut all = vec![p.clone()];
                    all.extend(v.iter().cloned());
                    argv_line(&all)
                }
                // Python `os.execv('/bin/rm', ['rm', '-rf', '/'])`: argv[0] repeats the name.
                [Arg::Text(p), Arg::List(v), ..] => {
                    let mut all = vec![p.clone()];
                    all.extend(v.iter().skip(1).cloned());
                    argv_line(&all)
                }
                many => argv_line(&many.iter().map(|a| a.join()).collect::<Vec<_>>()),
            };
            if line.trim().is_empty() {
                return;
            }
            t.shell = true;
            t.computed_shell |= line.trim_start().starts_with(COMPUTED);
            t.lines.push(line);
        }
        Call::DeleteTree | Call::DeleteFile | Call::RemoveDir => {
            let Some(path) = first else { return };
            let recursive = call == Call::DeleteTree && match lang {
                Lang::Node => args
                    .iter()
                    .any(|a| matches!(a, Arg::Raw(r) if r.contains("recursive"))),
                Lang::R => args.iter().any(
                    |a| matches!(a, Arg::Keyword(k, v) if k == "recursive" && v.starts_with('T')),
                ),
                _ => true,
            };
            // Node's fs.rm without `recursive` deletes one file.
            let flag = match (call, recursive) {
                (Call::RemoveDir, _) => "-d ",
                (Call::DeleteTree, true) => "-rf ",
                _ => "-f ",
            };
            t.deletes = true;
            // Perl `unlink glob("*")`, `unlink <*>`, a list of files.
            let paths: Vec<String> = if positional.len() > 1 && call != Call::DeleteTree {
                positional.iter().map(|a| a.join()).collect()
            } else {
                vec![path]
            };
            t.lines.push(format!("rm {flag}-- {}", argv_line(&paths)));
        }
        Call::Write | Call::WriteData | Call::Append => {
            let Some(path) = first else { return };
            let mode = match (call, lang) {
                (Call::Append, _) => "a".to_string(),
                (Call::WriteData, Lang::Php)
                    if args.iter().any(|a| a.join().contains("FILE_APPEND")) =>
                {
                    "a".to_string()
                }
                (Call::WriteData, _) => "w".to_string(),
                (_, Lang::Perl) => {
                    // open(F, ">/etc/passwd"), open(F, '>', '/etc/passwd')
                    let texts: Vec<String> = positional.iter().skip(1).map(|a| a.join()).collect();
                    let joined = texts.join("");
                    if let Some(p) = joined.strip_prefix(">>") {
                        t.lines.push(format!(": >> {}", quote(p.trim())));
                    } else if let Some(p) = joined.strip_prefix('>') {
                        t.lines.push(format!(": > {}", quote(p.trim())));
                    }
                    return;
                }
                (_, Lang::Python | Lang::Ruby) => {
                    positional.get(1).map(|a| a.join()).unwrap_or_default()
                }
                (_, Lang::Node | Lang::Php) => "w".into(),
                _ => return,
            };
            let redirect = if mode.starts_with('w') {
                ">"
            } else if mode.starts_with('a') {
                ">>"
            } else {
                return;
            };
            let data = match call {
                Call::WriteData | Call::Append if lang != Lang::Python => {
                    positional.get(1).map(|a| a.join())
                }
                _ => t.written.clone(),
            };
            t.lines.push(match data.filter(|d| !d.is_empty()) {
                Some(d) => format!("printf '%s\\n' {} {redirect} {}", quote(&d), quote(&path)),
                None => format!(": {redirect} {}", quote(&path)),
            });
        }
        Call::KillPidFirst | Call::KillSigFirst => {
            let texts: Vec<String> = positional.iter().map(|a| a.join()).collect();
            let (pid, sig) = match (call, texts.as_slice()) {
                (Call::KillPidFirst, [p]) => (p.clone(), "TERM".to_string()),
                (Call::KillPidFirst, [p, s, ..]) => (p.clone(), s.clone()),
                (Call::KillSigFirst, [s, p, ..]) => (p.clone(), s.clone()),
                _ => return,
            };
            let sig = sig
                .trim_start_matches("signal.")
                .trim_start_matches("SIG")
                .trim_start_matches('-')
                .to_string();
            if !pid.is_empty() && !sig.is_empty() {
                t.lines
                    .push(format!("kill -{} -- {}", quote(&sig), quote(&pid)));
            }
        }
        Call::Chmod => {
            let texts: Vec<String> = positional.iter().map(|a| a.join()).collect();
            if let [p, m, ..] = texts.as_slice() {
                let mode = m.trim_start_matches("0o").trim_start_matches("0O");
                let mode = if mode.len() == 3 {
                    format!("0{mode}")
                } else {
                    mode.to_string()
                };
                t.lines.push(format!("chmod {} {}", quote(&mode), quote(p)));
            }
        }
    }
}
