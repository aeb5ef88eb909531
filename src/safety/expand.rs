//! The command line as the shell will really run it.
//!
//! Why this exists: the rules judge words, but the shell runs words after
//! expanding them. `{rm,-rf,~}`, `x=rm; $x -rf ~`, `a=/; rm -rf $a`,
//! `$(echo rm) -rf ~`, `rm${IFS}-rf${IFS}/` and `$(echo cm0gLXJmIH4= |
//! base64 -d)` all run `rm -rf` on the root or a home directory while no
//! word of them says so. This module rewrites a command line into what it
//! expands to, as far as that can be known without running anything:
//!
//! - brace expansion (`{a,b}`, `{1..3}`), outside quotes;
//! - variables assigned earlier in the same line (plain, `export`/`declare`,
//!   arrays, `+=`, `for` lists, `set --`), `${x:-default}`, `$IFS` and the
//!   field splitting it controls, and positional parameters of `sh -c` bodies;
//! - command substitutions whose output is fixed: `echo`/`printf` of literal
//!   text, `which`/`command -v`, `pwd`, optionally piped through `rev`,
//!   `base64 -d`, `xxd -r -p` or `tr`.
//!
//! A variable may hold several values (a `for` list, or assignments on
//! different branches); then up to [`MAX_VARIANTS`] versions of the line are
//! produced, and each is judged. What cannot be worked out (`$x` never
//! assigned here, `$(cat f)`, `read x`) stays as written, so the rules see it
//! as computed. Each version comes with an [`EditMap`] that maps byte spans
//! back to the original text, so findings still point at what the user sees.

use crate::safety::parse::{parse, ExpKind, Expansion, RedirOp, Script};
use crate::safety::programs::{is_assignment, prog_name};
use crate::safety::types::Context;
use std::collections::HashMap;
use std::ops::Range;

/// How many versions of one line are judged at most.
pub(crate) const MAX_VARIANTS: usize = 8;
/// How many words one brace expansion may produce.
const MAX_BRACE_WORDS: usize = 64;
/// How deeply values are worked out from other values.
const MAX_EVAL_DEPTH: usize = 4;

/// Maps byte spans of a rewritten line back to the line it came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct EditMap {
    /// Replaced pieces, in order: (range in the new text, range in the old).
    pieces: Vec<(Range<usize>, Range<usize>)>,
}

impl EditMap {
    /// The span in the old text that `r` (in the new text) came from; a span
    /// touching a replaced piece grows to the whole piece it replaced.
    pub(crate) fn map(&self, r: Range<usize>) -> Range<usize> {
        let s = self.pos(r.start, true);
        let e = self.pos(r.end, false).max(s);
        s..e
    }

    fn pos(&self, o: usize, start: bool) -> usize {
        let mut delta: isize = 0;
        for (new, old) in &self.pieces {
            let inside = if start {
                new.start <= o && o < new.end
            } else {
                new.start < o && o <= new.end
            };
            if inside {
                return if start { old.start } else { old.end };
            }
            if new.end <= o {
                delta = old.end as isize - new.end as isize;
            } else {
                break;
            }
        }
        (o as isize + delta).max(0) as usize
    }
}

/// Replaces `edits` (sorted, not overlapping) in `src`.
fn apply(src: &str, edits: &[(Range<usize>, String)]) -> (String, EditMap) {
    let mut out = String::with_capacity(src.len() + 16);
    let mut map = EditMap::default();
    let mut at = 0;
    for (r, text) in edits {
        if r.start < at || r.end > src.len() {
            continue;
        }
        out.push_str(&src[at..r.start]);
        let s = out.len();
        out.push_str(text);
        map.pieces.push((s..out.len(), r.clone()));
        at = r.end;
    }
    out.push_str(&src[at..]);
    (out, map)
}

/// One version of the line, with the maps back to the original (applied in
/// order: the first maps into the text the second maps from, and so on).
#[derive(Debug, Clone)]
pub(crate) struct Variant {
    pub text: String,
    pub maps: Vec<EditMap>,
}

/// Variables known at the end of a line, handed to the scripts it runs
/// (`eval '$x'`, `bash -c '$x'` after `export x=...`).
pub(crate) type Inherited = HashMap<String, Vec<Vec<String>>>;

/// The versions of `src` to judge instead of `src`, or nothing when the shell
/// would run it as written (or nothing in it can be worked out). `params` are
/// the positional parameters of a nested script; `inherited` the variables of
/// the line that runs it.
pub(crate) fn expand(
    src: &str,
    script: &Script,
    depth: usize,
    ctx: &Context,
    params: &[String],
    inherited: &Inherited,
) -> (Vec<Variant>, Inherited) {
    let has_assignments = script.commands.iter().any(|c| {
        c.words.iter().any(is_assignment) || c.words.first().is_some_and(|w| w.text == "for")
    });
    if script.expansions.is_empty() && script.braces.is_empty() && !has_assignments {
        return (Vec::new(), Inherited::new());
    }
    // Phase 1: brace expansion, which the shell does before anything else.
    let mut maps = Vec::new();
    let mut text = src.to_string();
    let mut parsed = None;
    if !script.braces.is_empty() {
        let mut edits = Vec::new();
        let mut budget = MAX_BRACE_WORDS * 4;
        for r in &script.braces {
            let raw = &src[r.clone()];
            let mut words = Vec::new();
            brace_expand(raw, &mut words, &mut budget, 0);
            if words.len() > 1 || words.first().is_some_and(|w| w != raw) {
                edits.push((r.clone(), words.join(" ")));
            }
        }
        if !edits.is_empty() {
            let (t, m) = apply(src, &edits);
            maps.push(m);
            parsed = Some(parse(&t, depth));
            text = t;
        }
    }
    let script = parsed.as_ref().unwrap_or(script);
    // Phase 2: variables and substitutions.
    let mut env = Env {
        ctx,
        params,
        table: HashMap::new(),
        work: 0,
        home_known: false,
    };
    for (name, alts) in inherited {
        env.table
            .insert(name.clone(), vec![(0, Val::Known(alts.clone()))]);
    }
    env.build_table(&text, script);
    let plan = env.plan(&text, script, None, 0);
    let exported = env.summary();
    if plan.repls.is_empty() {
        if maps.is_empty() {
            return (Vec::new(), exported);
        }
        return (vec![Variant { text, maps }], exported);
    }
    let variants = (0..plan.count())
        .map(|k| {
            let (t, m) = plan.text(&text, k);
            let mut all = vec![m];
            all.extend(maps.iter().rev().cloned());
            Variant { text: t, maps: all }
        })
        .collect();
    (variants, exported)
}

// ---------------------------------------------------------------------------
// Brace expansion

/// Expands the first brace expression of a raw word (quotes respected), then
/// the rest recursively; a word without one is pushed as it is.
fn brace_expand(raw: &str, out: &mut Vec<String>, budget: &mut usize, level: usize) {
    if *budget == 0 || level > 8 {
        out.push(raw.to_string());
        return;
    }
    let b = raw.as_bytes();
    let mut i = 0;
    let mut found = None;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'\'' => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'$' if b.get(i + 1) == Some(&b'{') => {
                i = skip_group(b, i + 1, b'{', b'}');
                continue;
            }
            b'$' if b.get(i + 1) == Some(&b'(') => {
                i = skip_group(b, i + 1, b'(', b')');
                continue;
            }
            b'{' => {
                if let Some((close, parts)) = brace_parts(b, i) {
                    found = Some((i, close, parts));
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let Some((open, close, parts)) = found else {
        out.push(raw.to_string());
        return;
    };
    let prefix = &raw[..open];
    let suffix = &raw[close + 1..];
    for p in parts {
        if *budget == 0 || out.len() >= MAX_BRACE_WORDS {
            break;
        }
        *budget -= 1;
        let word = format!("{prefix}{p}{suffix}");
        brace_expand(&word, out, budget, level + 1);
    }
}

/// Index after the group opened at `i` (`{..}` or `(..)`), quotes respected.
fn skip_group(b: &[u8], i: usize, open: u8, close: u8) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 1,
            b'\'' => {
                j += 1;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    b.len()
}

/// The alternatives of the brace expression opened at `open`: a comma list
/// or a `a..b` sequence. `None` when it is not one (`{}`, `{a}`).
fn brace_parts(b: &[u8], open: usize) -> Option<(usize, Vec<String>)> {
    let mut depth = 0usize;
    let mut paren = 0usize;
    let mut commas = Vec::new();
    let mut j = open + 1;
    let mut close = None;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 1,
            b'\'' => {
                j += 1;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
            }
            b'"' => {
                j += 1;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
            }
            b'(' => paren += 1,
            b')' => paren = paren.saturating_sub(1),
            b'{' => depth += 1,
            b'}' if depth == 0 => {
                close = Some(j);
                break;
            }
            b'}' => depth -= 1,
            b',' if depth == 0 && paren == 0 => commas.push(j),
            _ => {}
        }
        j += 1;
    }
    let close = close?;
    let inner = std::str::from_utf8(&b[open + 1..close]).ok()?;
    if !commas.is_empty() {
        let mut parts = Vec::new();
        let mut at = open + 1;
        for c in commas.into_iter().chain(std::iter::once(close)) {
            parts.push(std::str::from_utf8(&b[at..c]).ok()?.to_string());
            at = c + 1;
        }
        return Some((close, parts));
    }
    // `{a..e}`, `{1..5}`, `{1..10..2}`.
    let bits: Vec<&str> = inner.split("..").collect();
    if bits.len() < 2 || bits.len() > 3 {
        return None;
    }
    let step: i64 = bits
        .get(2)
        .map_or(Some(1i64), |s| s.parse::<i64>().ok())?
        .abs()
        .max(1);
    let seq: Vec<String> = match (bits[0].parse::<i64>(), bits[1].parse::<i64>()) {
        (Ok(a), Ok(z)) => {
            if (z - a).abs() / step > MAX_BRACE_WORDS as i64 {
                return None;
            }
            let mut v = Vec::new();
            let mut x = a;
            loop {
                v.push(x.to_string());
                if x == z || (a < z && x > z) || (a > z && x < z) {
                    break;
                }
                x += if a < z { step } else { -step };
                if (a < z && x > z) || (a > z && x < z) {
                    break;
                }
            }
            v
        }
        _ => {
            let (a, z) = (bits[0].as_bytes(), bits[1].as_bytes());
            if a.len() != 1
                || z.len() != 1
                || !a[0].is_ascii_alphabetic()
                || !z[0].is_ascii_alphabetic()
            {
                return None;
            }
            let (a, z) = (a[0], z[0]);
            let range: Vec<u8> = if a <= z {
                (a..=z).step_by(step as usize).collect()
            } else {
                (z..=a).rev().step_by(step as usize).collect()
            };
            range.into_iter().map(|c| (c as char).to_string()).collect()
        }
    };
    Some((close, seq))
}

// ---------------------------------------------------------------------------
// Variables

/// What an assignment left in a variable: alternatives, each a list of parts
/// (one for a plain variable, the elements for an array).
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Known(Vec<Vec<String>>),
    Unknown,
}

/// A worked-out expansion: parts (one, or the words of `$@`/`${a[@]}`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Value {
    parts: Vec<String>,
    /// Separate words even inside double quotes (`"$@"`).
    at: bool,
}

impl Value {
    fn scalar(s: String) -> Value {
        Value {
            parts: vec![s],
            at: false,
        }
    }
}

struct Env<'a> {
    ctx: &'a Context,
    params: &'a [String],
    /// name -> (position from which it holds, value), in position order.
    /// `@` holds the positional parameters (`$0` first) after `set --`.
    table: HashMap<String, Vec<(usize, Val)>>,
    /// Work done, to keep pathological lines linear.
    work: usize,
    /// `$HOME` is known (as `~`) while the values of assignments are worked
    /// out: `d=$HOME; rm -rf "$d"` is `rm -rf ~`. Elsewhere it stays for the
    /// path rules.
    home_known: bool,
}

enum Lookup {
    Unset,
    Unknown,
    Known(Vec<Vec<String>>),
}

/// A replacement in a plan: a worked-out expansion and how to write it.
struct Repl {
    span: Range<usize>,
    alts: Vec<Value>,
    quoted: bool,
    ifs: String,
}

struct Plan {
    repls: Vec<Repl>,
}

impl Plan {
    fn count(&self) -> usize {
        self.repls
            .iter()
            .map(|r| r.alts.len())
            .max()
            .unwrap_or(1)
            .clamp(1, MAX_VARIANTS)
    }

    fn text(&self, src: &str, k: usize) -> (String, EditMap) {
        let edits: Vec<(Range<usize>, String)> = self
            .repls
            .iter()
            .map(|r| {
                let v = &r.alts[k % r.alts.len()];
                (r.span.clone(), render(v, r.quoted, &r.ifs))
            })
            .collect();
        apply(src, &edits)
    }
}

const DEFAULT_IFS: &str = " \t\n";

/// Writes a value back as shell text: inside double quotes escaped for them;
/// outside split into fields on IFS, each escaped, so the re-parsed line has
/// exactly the words the shell would make.
fn render(v: &Value, quoted: bool, ifs: &str) -> String {
    if quoted {
        if v.at {
            return v
                .parts
                .iter()
                .map(|p| dq_escape(p))
                .collect::<Vec<_>>()
                .join("\" \"");
        }
        let sep = ifs.chars().next().map(String::from).unwrap_or_default();
        return dq_escape(&v.parts.join(&sep));
    }
    let ws = |c: char| ifs.contains(c) && c.is_whitespace();
    let mut out = String::new();
    for (i, p) in v.parts.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if p.starts_with(ws) && !out.ends_with(' ') {
            out.push(' ');
        }
        let fields: Vec<&str> = p
            .split(|c: char| ifs.contains(c))
            .filter(|f| !f.is_empty())
            .collect();
        out.push_str(
            &fields
                .iter()
                .map(|f| escape(f))
                .collect::<Vec<_>>()
                .join(" "),
        );
        if p.ends_with(ws) && !p.trim_matches(ws).is_empty() {
            out.push(' ');
        }
    }
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("$'\\n'"),
            ' ' | '\t' | '\'' | '"' | '\\' | '$' | '`' | ';' | '&' | '|' | '<' | '>' | '('
            | ')' | '{' | '}' | '*' | '?' | '[' | ']' | '#' | '~' | '!' | '=' | ',' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn dq_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Options of `read` that take a value.
const READ_VALUE_OPTS: &str = "adinNptu";

impl Env<'_> {
    fn lookup(&self, name: &str, at: usize) -> Lookup {
        let Some(entries) = self.table.get(name) else {
            return Lookup::Unset;
        };
        let before: Vec<&Val> = entries
            .iter()
            .filter(|(p, _)| *p <= at)
            .map(|(_, v)| v)
            .collect();
        match before.last() {
            None => Lookup::Unset,
            Some(Val::Unknown) => Lookup::Unknown,
            Some(Val::Known(_)) => {
                let mut alts: Vec<Vec<String>> = Vec::new();
                for v in before {
                    if let Val::Known(a) = v {
                        for x in a {
                            if !alts.contains(x) && alts.len() < MAX_VARIANTS {
                                alts.push(x.clone());
                            }
                        }
                    }
                }
                Lookup::Known(alts)
            }
        }
    }

    fn set(&mut self, name: &str, at: usize, v: Val) {
        let e = self.table.entry(name.to_string()).or_default();
        e.push((at, v));
    }

    /// Final values, for scripts the line runs.
    fn summary(&self) -> Inherited {
        let end = usize::MAX;
        self.table
            .keys()
            .filter(|k| *k != "@")
            .filter_map(|k| match self.lookup(k, end) {
                Lookup::Known(a) => Some((k.clone(), a)),
                _ => None,
            })
            .collect()
    }

    fn ifs_at(&self, at: usize) -> String {
        match self.lookup("IFS", at) {
            Lookup::Known(a) => a
                .last()
                .and_then(|p| p.first())
                .cloned()
                .unwrap_or_default(),
            _ => DEFAULT_IFS.to_string(),
        }
    }

    /// Records the assignments of a line in position order.
    fn build_table(&mut self, text: &str, script: &Script) {
        self.home_known = true;
        self.record_assignments(text, script);
        self.home_known = false;
    }

    fn record_assignments(&mut self, text: &str, script: &Script) {
        let mut order: Vec<usize> = (0..script.commands.len()).collect();
        order.sort_by_key(|&i| script.commands[i].span.start);
        for i in order {
            let sc = &script.commands[i];
            let w = &sc.words;
            let lead = w.iter().take_while(|x| is_assignment(x)).count();
            let rest = &w[lead..];
            let declare = rest.first().is_some_and(|x| {
                matches!(
                    x.text.as_str(),
                    "export" | "declare" | "typeset" | "local" | "readonly"
                )
            });
            if rest.is_empty() || declare {
                let words = if declare { &rest[1..] } else { &w[..lead] };
                for x in words.iter().filter(|x| is_assignment(x)) {
                    self.assign(text, x.span.clone());
                }
                continue;
            }
            if self.work > text.len().saturating_mul(8) + (1 << 16) {
                return;
            }
            let name = prog_name(&rest[0].text);
            let args = &rest[1..];
            match name.as_str() {
                "for" | "select" => {
                    let Some(var) = args.first().filter(|v| !v.text.starts_with('(')) else {
                        continue;
                    };
                    let at = sc.span.end;
                    if args.get(1).map(|x| x.text.as_str()) != Some("in") {
                        self.set(&var.text, at, Val::Unknown);
                        continue;
                    }
                    let mut alts = Vec::new();
                    let mut known = true;
                    for x in &args[2..] {
                        match self.eval_words(&text[x.span.clone()], x.span.start, 0) {
                            Some(words) => {
                                for ws in words {
                                    for word in ws {
                                        if !alts.contains(&vec![word.clone()]) {
                                            alts.push(vec![word]);
                                        }
                                    }
                                }
                            }
                            None => known = false,
                        }
                    }
                    alts.truncate(MAX_VARIANTS);
                    let v = if known && !alts.is_empty() {
                        Val::Known(alts)
                    } else {
                        Val::Unknown
                    };
                    self.set(&var.text, at, v);
                }
                "read" | "mapfile" | "readarray" | "getopts" => {
                    let mut skip = false;
                    for x in args {
                        let t = x.text.as_str();
                        if skip {
                            skip = false;
                            continue;
                        }
                        if let Some(opts) = t.strip_prefix('-') {
                            skip = opts
                                .chars()
                                .last()
                                .is_some_and(|c| READ_VALUE_OPTS.contains(c));
                            continue;
                        }
                        if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                            self.set(t, sc.span.end, Val::Unknown);
                        }
                    }
                }
                "set" => {
                    let dashdash = args.first().is_some_and(|x| x.text == "--");
                    let from = if dashdash { 1 } else { 0 };
                    if !dashdash && args.first().is_none_or(|x| x.text.starts_with(['-', '+'])) {
                        continue;
                    }
                    let raw = match (args.get(from), args.last()) {
                        (Some(a), Some(z)) => &text[a.span.start..z.span.end],
                        _ => "",
                    };
                    let zero = self.positional(sc.span.start).into_iter().next();
                    let v = match self.eval_words(raw, sc.span.start, 0) {
                        Some(alts) => Val::Known(
                            alts.into_iter()
                                .map(|mut ws| {
                                    ws.insert(0, zero.clone().unwrap_or_default());
                                    ws
                                })
                                .collect(),
                        ),
                        None => Val::Unknown,
                    };
                    self.set("@", sc.span.end, v);
                }
                _ => {}
            }
        }
    }

    /// `name=value`, `name+=value`, `name=(a b c)` at `span`.
    fn assign(&mut self, text: &str, span: Range<usize>) {
        let raw = &text[span.clone()];
        let Some(eq) = raw.find('=') else { return };
        let (mut name, append) = match raw[..eq].strip_suffix('+') {
            Some(n) => (n, true),
            None => (&raw[..eq], false),
        };
        if let Some(b) = name.find('[') {
            name = &name[..b];
        }
        let value_raw = &raw[eq + 1..];
        let at = span.end;
        let v = if let Some(inner) = value_raw
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
        {
            match self.eval_words(inner, span.start, 0) {
                Some(alts) => Val::Known(alts),
                None => Val::Unknown,
            }
        } else if value_raw.is_empty() {
            Val::Known(vec![vec![String::new()]])
        } else {
            match self.eval_words(value_raw, span.start, 0) {
                Some(alts) => Val::Known(alts.into_iter().map(|ws| vec![ws.join(" ")]).collect()),
                None => Val::Unknown,
            }
        };
        let v = match (append, v, self.lookup(name, span.start)) {
            (true, Val::Known(new), Lookup::Known(old)) => {
                let mut alts = Vec::new();
                for o in &old {
                    for n in &new {
                        let joined = format!(
                            "{}{}",
                            o.first().map_or("", String::as_str),
                            n.first().map_or("", String::as_str)
                        );
                        if alts.len() < MAX_VARIANTS {
                            alts.push(vec![joined]);
                        }
                    }
                }
                Val::Known(alts)
            }
            (true, _, Lookup::Unknown) => Val::Unknown,
            (_, v, _) => v,
        };
        self.set(name, at, v);
    }

    /// `$0`, `$1`, ... at a position: after `set --`, else the script's.
    fn positional(&self, at: usize) -> Vec<String> {
        match self.lookup("@", at) {
            Lookup::Known(a) => a.into_iter().next().unwrap_or_default(),
            _ => {
                if self.params.is_empty() {
                    vec![String::new()]
                } else {
                    self.params.to_vec()
                }
            }
        }
    }

    /// The values of `$name` (`name` may carry a subscript) at `at`.
    fn param(&self, name: &str, at: usize, in_function: bool) -> Option<Vec<Value>> {
        let (base, sub) = match name.find('[') {
            Some(b) => (&name[..b], Some(name[b + 1..].trim_end_matches(']'))),
            None => (name, None),
        };
        if base.chars().all(|c| c.is_ascii_digit()) || base == "@" || base == "*" {
            if in_function {
                return None;
            }
            if matches!(self.lookup("@", at), Lookup::Unknown) {
                return None;
            }
            if base == "0"
                && self.params.is_empty()
                && matches!(self.lookup("@", at), Lookup::Unset)
            {
                return None;
            }
            let pos = self.positional(at);
            if base == "@" || base == "*" {
                return Some(vec![Value {
                    parts: pos.into_iter().skip(1).collect(),
                    at: base == "@",
                }]);
            }
            let n: usize = base.parse().ok()?;
            return Some(vec![Value::scalar(pos.get(n).cloned().unwrap_or_default())]);
        }
        match self.lookup(base, at) {
            Lookup::Unknown => None,
            Lookup::Unset => self.env_default(base).map(|s| vec![Value::scalar(s)]),
            Lookup::Known(alts) => Some(
                alts.into_iter()
                    .map(|parts| match sub {
                        Some("@") | Some("*") => Value {
                            parts,
                            at: sub == Some("@"),
                        },
                        Some(n) => Value::scalar(
                            n.parse::<usize>()
                                .ok()
                                .and_then(|i| parts.get(i).cloned())
                                .unwrap_or_default(),
                        ),
                        None => Value::scalar(parts.into_iter().next().unwrap_or_default()),
                    })
                    .collect(),
            ),
        }
    }

    /// Variables the line did not set whose value is known anyway. `HOME`
    /// and `PWD` are left for the path rules, which understand them.
    fn env_default(&self, name: &str) -> Option<String> {
        match name {
            "IFS" => Some(DEFAULT_IFS.to_string()),
            "HOME" if self.home_known => Some("~".to_string()),
            "SHELL" => Some("/bin/sh".to_string()),
            "BASH" => Some("/bin/bash".to_string()),
            "USER" | "LOGNAME" => self
                .ctx
                .home
                .as_deref()
                .and_then(|h| h.trim_end_matches('/').rsplit('/').next())
                .filter(|u| !u.is_empty())
                .map(str::to_string),
            _ => None,
        }
    }

    /// Works out the maximal expansions of `text` that can be known. `at`:
    /// the position to look variables up at (`None`: each expansion's own).
    fn plan(&mut self, text: &str, script: &Script, at: Option<usize>, depth: usize) -> Plan {
        let mut resolved: Vec<Repl> = Vec::new();
        for e in &script.expansions {
            self.work += e.span.len();
            if self.work > text.len().saturating_mul(8) + (1 << 16) {
                break;
            }
            let pos = at.unwrap_or(e.span.start);
            if let Some(alts) = self.resolve(text, script, e, pos, depth) {
                if alts.is_empty() {
                    continue;
                }
                resolved.push(Repl {
                    span: e.span.clone(),
                    alts,
                    quoted: e.quoted,
                    ifs: self.ifs_at(pos),
                });
            }
        }
        // Keep the outermost: expansions end in order, so an enclosing one
        // comes after the ones inside it.
        resolved.sort_by(|a, b| {
            a.span
                .start
                .cmp(&b.span.start)
                .then(b.span.end.cmp(&a.span.end))
        });
        let mut repls: Vec<Repl> = Vec::new();
        for r in resolved {
            if repls.last().is_some_and(|p| r.span.start < p.span.end) {
                continue;
            }
            repls.push(r);
        }
        Plan { repls }
    }

    fn resolve(
        &mut self,
        text: &str,
        script: &Script,
        e: &Expansion,
        at: usize,
        depth: usize,
    ) -> Option<Vec<Value>> {
        match &e.kind {
            ExpKind::Param(name) => self.param(name, at, e.in_function),
            ExpKind::Default(name, word) => {
                let own = self.param(name, at, e.in_function);
                let unset = matches!(self.lookup(name, at), Lookup::Unset)
                    && self.env_default(name).is_none();
                if let Some(v) =
                    own.filter(|v| v.iter().any(|x| x.parts.iter().any(|p| !p.is_empty())))
                {
                    return Some(v);
                }
                if !unset
                    && !text
                        .get(e.span.clone())
                        .is_some_and(|s| s.contains(":-") || s.contains(":="))
                {
                    return None;
                }
                let raw = text.get(word.clone())?;
                let alts = self.eval_words(raw, at, depth + 1)?;
                Some(
                    alts.into_iter()
                        .map(|ws| Value::scalar(ws.join(" ")))
                        .collect(),
                )
            }
            ExpKind::Command(cmds) => self
                .substitution(text, script, e.span.clone(), cmds.clone(), at, depth)
                .map(|outs| outs.into_iter().map(Value::scalar).collect()),
            ExpKind::Other => None,
        }
    }

    /// The words of raw shell text after expansion, one list per
    /// alternative; `None` when some part cannot be known.
    fn eval_words(&mut self, raw: &str, at: usize, depth: usize) -> Option<Vec<Vec<String>>> {
        if depth > MAX_EVAL_DEPTH {
            return None;
        }
        self.work += raw.len();
        let script = parse(raw, 0);
        let plan = self.plan(raw, &script, Some(at), depth + 1);
        let mut alts: Vec<Vec<String>> = Vec::new();
        for k in 0..plan.count() {
            let (t, _) = plan.text(raw, k);
            let s = parse(&t, 0);
            let mut words = Vec::new();
            for c in &s.commands {
                for w in &c.words {
                    if w.dynamic {
                        return None;
                    }
                    words.push(w.text.clone());
                }
            }
            if !alts.contains(&words) {
                alts.push(words);
            }
        }
        Some(alts)
    }

    /// The output of a command substitution whose result does not depend on
    /// the machine, one per alternative.
    fn substitution(
        &mut self,
        text: &str,
        script: &Script,
        span: Range<usize>,
        cmds: Range<usize>,
        at: usize,
        depth: usize,
    ) -> Option<Vec<String>> {
        if depth > MAX_EVAL_DEPTH {
            return None;
        }
        let inner: Vec<&Range<usize>> = script
            .expansions
            .iter()
            .map(|e| &e.span)
            .filter(|r| r.start > span.start && r.end <= span.end)
            .collect();
        let top: Vec<usize> = cmds
            .filter(|&i| {
                let c = &script.commands[i].span;
                !inner.iter().any(|r| r.start <= c.start && c.end <= r.end)
            })
            .collect();
        if top.is_empty() || top.len() > 3 {
            return None;
        }
        let pipeline = script.commands[top[0]].pipeline;
        if top.iter().any(|&i| script.commands[i].pipeline != pipeline) {
            return None;
        }
        let mut outs: Vec<Option<String>> = vec![None];
        for &i in &top {
            let sc = &script.commands[i];
            let (first, last) = (sc.words.first()?, sc.words.last()?);
            let words = self.eval_words(&text[first.span.start..last.span.end], at, depth + 1)?;
            let mut here = None;
            for r in &sc.redirects {
                match r.op {
                    RedirOp::HereString => {
                        let w = self.eval_words(&text[r.target.span.clone()], at, depth + 1)?;
                        here = Some(w.first()?.join(" ") + "\n");
                    }
                    RedirOp::HereDoc => here = Some(r.target.text.clone()),
                    RedirOp::Dup => {}
                    _ => return None,
                }
            }
            let mut next = Vec::new();
            for input in &outs {
                for ws in &words {
                    let stdin = here.as_deref().or(input.as_deref());
                    let out = run_fixed(ws, stdin, self.ctx)?;
                    if !next.contains(&Some(out.clone())) && next.len() < MAX_VARIANTS {
                        next.push(Some(out));
                    }
                }
            }
            outs = next;
        }
        Some(
            outs.into_iter()
                .flatten()
                .map(|o| o.trim_end_matches('\n').to_string())
                .collect(),
        )
    }
}

/// What a command whose output is fixed prints, given its stdin; `None` for
/// any other command.
pub(crate) fn run_fixed(words: &[String], stdin: Option<&str>, ctx: &Context) -> Option<String> {
    let (name, args) = words.split_first()?;
    let name = prog_name(name);
    match name.as_str() {
        "echo" => {
            let mut escapes = false;
            let mut newline = true;
            let mut i = 0;
            while let Some(a) = args.get(i) {
                let opts = a
                    .strip_prefix('-')
                    .filter(|o| !o.is_empty() && o.chars().all(|c| matches!(c, 'n' | 'e' | 'E')));
                let Some(opts) = opts else { break };
                escapes |= opts.contains('e');
                newline &= !opts.contains('n');
                i += 1;
            }
            let text = args[i..].join(" ");
            let mut out = if escapes || text.contains("\\x") || text.contains("\\0") {
                unescape(&text, true)
            } else {
                text
            };
            if newline {
                out.push('\n');
            }
            Some(out)
        }
        "printf" => {
            let args: Vec<&String> = args.iter().skip_while(|a| *a == "--").collect();
            let (fmt, rest) = args.split_first()?;
            Some(printf(
                fmt,
                &rest.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ))
        }
        "which" | "whence" => args
            .iter()
            .rfind(|a| !a.starts_with('-'))
            .map(|a| format!("{a}\n")),
        "command" | "type" => {
            if !args
                .iter()
                .any(|a| matches!(a.as_str(), "-v" | "-p" | "-P"))
            {
                return None;
            }
            args.iter()
                .rfind(|a| !a.starts_with('-'))
                .map(|a| format!("{a}\n"))
        }
        "pwd" => ctx.cwd.clone().map(|c| c + "\n"),
        "cat" if args.is_empty() || args.iter().all(|a| a == "-") => stdin.map(String::from),
        "rev" if args.is_empty() => Some(
            stdin?
                .lines()
                .map(|l| l.chars().rev().collect::<String>() + "\n")
                .collect(),
        ),
        "base64" | "base32" | "basenc" | "b64decode"
            if name != "base32"
                && args.iter().any(|a| {
                    a == "--decode"
                        || (a.starts_with('-') && !a.starts_with("--") && a.contains(['d', 'D']))
                }) =>
        {
            let data: String = match args.iter().rfind(|a| !a.starts_with('-')) {
                Some(_) => return None,
                None => stdin?.chars().filter(|c| !c.is_whitespace()).collect(),
            };
            String::from_utf8(base64_decode(&data)?).ok()
        }
        "xxd" if args.iter().any(|a| a.starts_with('-') && a.contains('r')) => {
            if args.iter().any(|a| !a.starts_with('-')) {
                return None;
            }
            let hex: String = stdin?.chars().filter(|c| c.is_ascii_hexdigit()).collect();
            let bytes: Option<Vec<u8>> = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect();
            String::from_utf8(bytes?).ok()
        }
        "tr" => {
            let input = stdin?;
            match args
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice()
            {
                ["-d", set] => {
                    let set = tr_set(set)?;
                    Some(input.chars().filter(|c| !set.contains(c)).collect())
                }
                [a, b] if !a.starts_with('-') => {
                    let (a, b) = (tr_set(a)?, tr_set(b)?);
                    let last = *b.last()?;
                    Some(
                        input
                            .chars()
                            .map(|c| match a.iter().rposition(|x| *x == c) {
                                Some(i) => *b.get(i).unwrap_or(&last),
                                None => c,
                            })
                            .collect(),
                    )
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// A `tr` set: characters and `a-z` ranges.
fn tr_set(s: &str) -> Option<Vec<char>> {
    let c: Vec<char> = unescape(s, false).chars().collect();
    if c.first() == Some(&'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if i + 2 < c.len() && c[i + 1] == '-' && c[i] <= c[i + 2] {
            out.extend(c[i]..=c[i + 2]);
            i += 3;
        } else {
            out.push(c[i]);
            i += 1;
        }
        if out.len() > 4096 {
            return None;
        }
    }
    Some(out)
}

/// `printf FORMAT ARGS`: `%s`, `%b`, `%c`, `%d`, `%%` and backslash escapes;
/// the format is reused while arguments remain, as the shell does.
fn printf(fmt: &str, args: &[&str]) -> String {
    let fmt = unescape(fmt, false);
    let mut out = String::new();
    let mut next = 0;
    for _round in 0..64 {
        let mut chars = fmt.chars().peekable();
        let mut used = false;
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            // Flags and width are read and ignored.
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '.' | ' ' | '+' | '#'))
            {
                chars.next();
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some(conv) => {
                    let arg = args.get(next).copied().unwrap_or("");
                    next += 1;
                    used = true;
                    match conv {
                        'c' => out.extend(arg.chars().next()),
                        'b' => out.push_str(&unescape(arg, true)),
                        _ => out.push_str(arg),
                    }
                }
                None => out.push('%'),
            }
        }
        if !used || next >= args.len() {
            break;
        }
    }
    out
}

/// Backslash escapes of `printf`/`echo -e`: `\n \t \\ \xHH \NNN` (`\0NNN`
/// when `echo_octal`).
fn unescape(s: &str, echo_octal: bool) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < c.len() {
        if c[i] != '\\' || i + 1 >= c.len() {
            out.push(c[i]);
            i += 1;
            continue;
        }
        let n = c[i + 1];
        i += 2;
        match n {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            'a' => out.push('\u{7}'),
            'e' => out.push('\u{1b}'),
            'x' => {
                let mut v = 0u32;
                let mut k = 0;
                while k < 2 && i < c.len() && c[i].is_ascii_hexdigit() {
                    v = v * 16 + c[i].to_digit(16).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                if k == 0 {
                    out.push_str("\\x");
                } else {
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
            }
            '0'..='7' => {
                let mut v = n.to_digit(8).unwrap_or(0);
                let max = if echo_octal && n == '0' { 3 } else { 2 };
                let mut k = 0;
                while k < max && i < c.len() && c[i].is_digit(8) {
                    v = v * 8 + c[i].to_digit(8).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                out.push(char::from_u32(v & 0xff).unwrap_or('\u{fffd}'));
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// Standard base64 (padding optional); `None` on a character outside it.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            home: Some("/home/me".into()),
            cwd: Some("/home/me/project".into()),
            ..Context::default()
        }
    }

    /// The expanded versions of a line (the line itself when nothing changes).
    fn ex(src: &str) -> Vec<String> {
        let s = parse(src, 0);
        let (v, _) = expand(src, &s, 0, &ctx(), &[], &Inherited::new());
        if v.is_empty() {
            return vec![src.to_string()];
        }
        v.into_iter().map(|v| v.text).collect()
    }

    /// The words of the last simple command of each version.
    fn words(src: &str) -> Vec<Vec<String>> {
        ex(src)
            .iter()
            .map(|t| {
                let s = parse(t, 0);
                s.commands
                    .iter()
                    .filter(|c| c.words.first().is_none_or(|w| w.text != "done"))
                    .filter(|c| {
                        !s.commands.iter().any(|o| {
                            o.span != c.span
                                && o.span.start <= c.span.start
                                && c.span.end <= o.span.end
                        })
                    })
                    .max_by_key(|c| c.span.start)
                    .map(|c| c.words.iter().map(|w| w.text.clone()).collect())
                    .unwrap_or_default()
            })
            .collect()
    }

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn braces() {
        assert_eq!(words("{rm,-rf,~}"), vec![w(&["rm", "-rf", "~"])]);
        assert_eq!(
            words("rm -rf /{etc,usr}"),
            vec![w(&["rm", "-rf", "/etc", "/usr"])]
        );
        assert_eq!(words("echo a{1..3}"), vec![w(&["echo", "a1", "a2", "a3"])]);
        assert_eq!(words("echo '{a,b}'"), vec![w(&["echo", "{a,b}"])]);
        assert_eq!(
            words("find . -exec rm {} +"),
            vec![w(&["find", ".", "-exec", "rm", "{}", "+"])]
        );
    }

    #[test]
    fn variables() {
        assert_eq!(words("x=rm; $x -rf ~"), vec![w(&["rm", "-rf", "~"])]);
        assert_eq!(words("a=/; rm -rf $a"), vec![w(&["rm", "-rf", "/"])]);
        assert_eq!(words("a=\"-rf /\"; rm $a"), vec![w(&["rm", "-rf", "/"])]);
        assert_eq!(words("a=\"-rf /\"; rm \"$a\""), vec![w(&["rm", "-rf /"])]);
        assert_eq!(
            words("export P=/; rm -rf ${P}"),
            vec![w(&["rm", "-rf", "/"])]
        );
        assert_eq!(
            words("a=(rm -rf /); \"${a[@]}\""),
            vec![w(&["rm", "-rf", "/"])]
        );
        assert!(words("x=r; x+=m; $x -rf ~").contains(&w(&["rm", "-rf", "~"])));
        assert_eq!(words("rm -rf ${NOPE:-/}"), vec![w(&["rm", "-rf", "/"])]);
        // Never assigned here: left for the rules to call computed.
        assert_eq!(
            words("rm -rf $UNSET_DIR"),
            vec![w(&["rm", "-rf", "$UNSET_DIR"])]
        );
        assert_eq!(words("read d; rm -rf $d"), vec![w(&["rm", "-rf", "$d"])]);
        // Two values: two versions.
        assert_eq!(
            words("for d in /tmp/x ~; do rm -rf $d; done"),
            vec![
                w(&["do", "rm", "-rf", "/tmp/x"]),
                w(&["do", "rm", "-rf", "~"])
            ]
        );
        assert_eq!(
            words("x=rm; true || x=ls; $x -rf ~").len(),
            2,
            "a value set on another branch is judged too"
        );
    }

    #[test]
    fn a_variable_holding_home_is_home() {
        assert_eq!(
            words("d=$HOME; rm -rf \"$d\""),
            vec![w(&["rm", "-rf", "~"])]
        );
        assert_eq!(
            words("d=${HOME}/x; rm -rf $d"),
            vec![w(&["rm", "-rf", "~/x"])]
        );
        // Written directly, $HOME stays for the path rules.
        assert_eq!(words("rm -rf $HOME"), vec![w(&["rm", "-rf", "$HOME"])]);
    }

    #[test]
    fn ifs_and_positional() {
        assert_eq!(words("rm${IFS}-rf${IFS}/"), vec![w(&["rm", "-rf", "/"])]);
        assert_eq!(words("rm$IFS$9-rf$IFS$9/"), vec![w(&["rm", "-rf", "/"])]);
        assert_eq!(words("IFS=,; x=rm,-rf,/; $x"), vec![w(&["rm", "-rf", "/"])]);
        assert_eq!(
            words("set -- rm -rf /; \"$@\""),
            vec![w(&["rm", "-rf", "/"])]
        );
        let s = parse("rm -rf $1", 0);
        let (v, _) = expand(
            "rm -rf $1",
            &s,
            0,
            &ctx(),
            &w(&["_", "/"]),
            &Inherited::new(),
        );
        assert_eq!(v[0].text, "rm -rf /");
        // Inside a function the arguments are the call's: not known.
        assert_eq!(words("f(){ rm -rf $1; }; f /").len(), 1);
        assert!(ex("f(){ rm -rf $1; }; f /")[0].contains("$1"));
    }

    #[test]
    fn substitutions() {
        assert_eq!(words("$(echo rm) -rf ~"), vec![w(&["rm", "-rf", "~"])]);
        assert_eq!(words("`echo rm` -rf ~"), vec![w(&["rm", "-rf", "~"])]);
        assert_eq!(
            words("$(printf '\\x72\\x6d') -rf ~"),
            vec![w(&["rm", "-rf", "~"])]
        );
        assert_eq!(
            words("$(echo mr | rev) -rf ~"),
            vec![w(&["rm", "-rf", "~"])]
        );
        assert_eq!(
            words("$(echo cm0gLXJmIH4= | base64 -d)"),
            vec![w(&["rm", "-rf", "~"])]
        );
        assert_eq!(
            words("$(base64 -d <<< cm0=) -rf ~"),
            vec![w(&["rm", "-rf", "~"])]
        );
        assert_eq!(
            words("$(echo ez | tr a-z n-za-m) -rf ~"),
            vec![w(&["rm", "-rf", "~"])]
        );
        assert_eq!(words("$(which rm) -rf ~"), vec![w(&["rm", "-rf", "~"])]);
        assert_eq!(
            words("x=rm; $(echo $x) -rf ~"),
            vec![w(&["rm", "-rf", "~"])]
        );
        // Output that depends on the machine stays as written.
        assert_eq!(
            words("rm -rf $(cat list)"),
            vec![w(&["rm", "-rf", "$(cat list)"])]
        );
        // Data stays data: a `;` in a value does not start a command.
        let v = ex("a='x; rm -rf /'; echo $a");
        let s = parse(&v[0], 0);
        assert_eq!(s.commands.len(), 2, "{v:?}");
    }

    #[test]
    fn spans_map_back() {
        let src = "a=/; rm -rf $a";
        let s = parse(src, 0);
        let (v, _) = expand(src, &s, 0, &ctx(), &[], &Inherited::new());
        let t = &v[0].text;
        let at = t.rfind('/').unwrap();
        let back = v[0].maps[0].map(at..at + 1);
        assert_eq!(&src[back], "$a");
        let cmd = t.find("rm").unwrap();
        assert_eq!(&src[v[0].maps[0].map(cmd..cmd + 2)], "rm");
    }

    #[test]
    fn plain_lines_are_left_alone() {
        for src in [
            "ls -la",
            "rm -rf ./build",
            "echo '$HOME'",
            "echo {}",
            "grep -r x .",
        ] {
            let s = parse(src, 0);
            assert!(
                expand(src, &s, 0, &ctx(), &[], &Inherited::new())
                    .0
                    .is_empty(),
                "{src}"
            );
        }
    }
}
