//! Turns whatever text the model replied with into exactly one shell command.
//!
//! The model is asked to answer `{"cmd": "<command>"}`, and on the local path a
//! JSON grammar makes it do so: there [`parse_prefilled`] only has to unescape
//! the string body the model wrote after a pre-filled `{"cmd": "`. But the
//! grammar can be switched off, and remote backends answer with whatever the
//! model felt like writing: markdown fences, prose before and after, a `$ `
//! prompt, `<think>` blocks, two alternatives, a refusal. [`parse_reply`] copes
//! with all of that and either returns one command or says clearly why not.
//!
//! # Order of strategies
//!
//! `<think>…</think>` blocks (and chat-template tokens such as `<|im_end|>`)
//! are removed first, then the strategies are tried in this order and the first
//! one that finds something wins:
//!
//! 1. [`Strategy::Json`]: the whole reply is a JSON object with a `cmd` or
//!    `command` key (or `commands` holding exactly one string). A malformed
//!    object (bad escape such as `\;`, single-quoted Python-dict style, or cut
//!    off by the token cap) is read leniently.
//! 2. [`Strategy::FencedJson`]: such an object inside a fenced block.
//! 3. [`Strategy::EmbeddedJson`]: the first such object in the prose.
//! 4. [`Strategy::FencedCode`]: the first shell (or unlabelled) fenced block
//!    that holds a command. Comment lines are dropped; output lines are dropped
//!    when the block shows `$ ` prompts. A block with several separate
//!    commands (a heredoc, `cd` then `ls`) is [`ParseError::Ambiguous`];
//!    lines joined by a trailing `\`, `|`, `&&` or `||` are one command, and
//!    so is a `for`/`while`/`if` block written over several lines (it is
//!    joined with `; `). When two blocks offer alternatives, the first wins.
//! 5. A reply that is a refusal ("I cannot help with that.") stops here with
//!    [`ParseError::NoCommand`].
//! 6. [`Strategy::PromptLine`]: the first paragraph holding a `$ `, `❯ `,
//!    `% `, `➜ ` or `user@host:~$ ` prompt line.
//! 7. [`Strategy::PlainLine`]: a reply that is one line and does not read like
//!    an English sentence. Failing that, the first inline code span
//!    (`` `ls -la` ``) that reads as a command (it splits with `shell-words`
//!    and starts with a known program or has arguments) is taken and recorded
//!    as [`Strategy::FencedCode`]. Failing that, the one line among prose lines
//!    that reads as a command ("Here is the command:\nls -la\nThis lists…").
//!
//! # Clean-up applied to every command
//!
//! Surrounding and stray backticks are removed, as is a leading prompt (`$ `,
//! `❯ `, `➜ `, `% `, `user@host:~$ `, and `# ` or `> ` when what follows reads
//! as a command, so a `# list files` comment or a `> out.txt` redirect stays
//! what it is). A trailing comment is removed only when it follows two or more
//! spaces (`ls -la  # lists files` gives `ls -la`); a comment after a single
//! space is valid shell and is kept. An explanation glued to the line is
//! removed when it is unambiguous: after an unquoted ` — `, after ` - `
//! followed by an explaining word ("ls -la - lists all files"), or a plain
//! sentence that starts with one ("ls -la will list all files.").
//! Nothing else inside the command is rewritten:
//! `{}`, `|`, quotes, `$` and backslashes are kept as they are. For commands
//! taken from JSON, control characters a naive model produced by writing
//! `\b`, `\f` or `\r` inside a JSON string are turned back into those
//! two-character escapes, and a newline inside shell quotes back into `\n`.
//! The result is trimmed, one line and never empty. A command that still
//! holds a control character (other than tab) or a text-direction override
//! after all that is refused with [`ParseError::HiddenCharacters`]: the grammar
//! allows `\uXXXX`, and an ESC or U+202E would make the terminal show
//! something other than what runs.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which strategy found the command (for diagnostics and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The whole reply was the JSON object asked for.
    Json,
    /// The JSON object sat inside a fenced block.
    FencedJson,
    /// The JSON object sat somewhere in prose.
    EmbeddedJson,
    /// A fenced shell block, or an inline code span in prose.
    FencedCode,
    /// A line starting with a shell prompt such as `$ `.
    PromptLine,
    /// A plain line of text.
    PlainLine,
}

impl Strategy {
    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Json => "json",
            Strategy::FencedJson => "fenced_json",
            Strategy::EmbeddedJson => "embedded_json",
            Strategy::FencedCode => "fenced_code",
            Strategy::PromptLine => "prompt_line",
            Strategy::PlainLine => "plain_line",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One command taken from a reply, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// Trimmed, one line, never empty.
    pub command: String,
    pub strategy: Strategy,
}

/// Why no command could be taken from a reply. Each message is one sentence;
/// the CLI adds "try rephrasing the request".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but whitespace (or a closed `<think>` block).
    #[error("the model gave an empty reply")]
    Empty,
    /// Prose only: a refusal, an explanation, an empty `cmd`.
    #[error("the model answered in prose without giving a shell command")]
    NoCommand,
    /// Several paragraphs of prose, or several separate commands.
    #[error("the model gave several commands or paragraphs, so no single command could be picked")]
    Ambiguous,
    /// An unclosed `<think>` block: the reply was cut off while reasoning.
    #[error("the model's reply was cut off while it was still thinking, before it gave a command")]
    Unfinished,
    /// Control characters (an ESC starts a terminal escape sequence) or
    /// text-direction overrides in the command: what the terminal shows could
    /// differ from what runs, so the answer is refused.
    #[error("the model's command holds control or text-direction characters, so what you would see could differ from what runs")]
    HiddenCharacters,
}

/// Characters a terminal does not show as themselves: control characters
/// other than tab (ESC starts escape sequences, CR and BS overwrite what was
/// shown) and the Unicode marks, embeddings, overrides and isolates that
/// reorder text on screen (as in "Trojan Source").
pub fn is_hidden_char(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Refuses a command that holds [`is_hidden_char`] characters (after JSON
/// decoding and the clean-up, so a `\u001b` escape is caught too).
fn visible_only(p: Parsed) -> Result<Parsed, ParseError> {
    if p.command.chars().any(is_hidden_char) {
        Err(ParseError::HiddenCharacters)
    } else {
        Ok(p)
    }
}

type Found = Result<String, ParseError>;

/// Parses any reply text into one command; see the module docs for the order
/// in which strategies are tried.
pub fn parse_reply(reply: &str) -> Result<Parsed, ParseError> {
    parse_reply_text(reply).and_then(visible_only)
}

fn parse_reply_text(reply: &str) -> Result<Parsed, ParseError> {
    let text = normalize(reply);
    let (answer, unfinished_thought) = strip_think(&text);
    let answer = answer.trim();
    if answer.is_empty() {
        return match unfinished_thought {
            // Best effort: a model that never closed its `<think>` may still
            // have written the JSON answer inside it.
            Some(thought) => match embedded_json(&thought) {
                Some(found) => finish(found, Strategy::EmbeddedJson, true),
                None => Err(ParseError::Unfinished),
            },
            None => Err(ParseError::Empty),
        };
    }
    parse_answer(answer)
}

/// For the grammar-constrained path: the model continues after a pre-filled
/// `{"cmd": "`; this takes the generated continuation (the JSON string body,
/// possibly followed by `"}` and anything else) and returns the unescaped
/// command. Handles `\"`, `\\`, `\n`, `\t` and `\uXXXX` escapes, ends at
/// [`prefilled_end`] (a raw quote inside is kept: the grammar allows one), and
/// tolerates a missing closing quote (token cap hit) by returning what is
/// there, trimmed.
pub fn parse_prefilled(continuation: &str) -> Result<Parsed, ParseError> {
    let body = match prefilled_end(continuation, false) {
        Some(end) => &continuation[..end],
        None => continuation,
    };
    // No quote ends the body here: a raw `"` inside it is part of the command.
    let (body, _closed) = decode_string_body(body, '\0');
    let body = without_stray_close_braces(&body);
    if body.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    finish(Ok(body.to_string()), Strategy::Json, true).and_then(visible_only)
}

/// `body` without a `}` glued to its end that closes nothing.
///
/// The answer ends with `"}`, and the grammar lets `}` appear in a command
/// (`${x}`, `{} +`, `awk '{…}'`), so a small model sometimes closes the JSON
/// one brace early: `echo 'hello world'}` then `"}`. bash parses the result
/// (`}` is an ordinary word there), so the self-check cannot catch it. A
/// closing brace glued to the last word, with more `}` than `{` in the whole
/// command, is that slip; a lone `}` word (`{ a; }`) is left alone.
fn without_stray_close_braces(body: &str) -> &str {
    let mut b = body.trim_end();
    while let Some(rest) = b.strip_suffix('}') {
        let glued = rest.ends_with(|c: char| !c.is_whitespace());
        if !glued || b.matches('}').count() <= b.matches('{').count() {
            break;
        }
        b = rest;
    }
    b
}

/// Where the JSON string of a pre-filled answer ends: the byte index of the
/// first unescaped `"` that is followed by `}`. Any other raw `"` belongs to
/// the command (see [`crate::prompt::COMMAND_GRAMMAR`]). `strict` is the
/// engine's test while generating (exactly `"}`); otherwise white space may
/// come between, and a `"` that ends the text counts too (a cut-off reply).
pub fn prefilled_end(text: &str, strict: bool) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            b'\\' => escaped = true,
            b'"' => {
                let rest = &text[i + 1..];
                let closed = if strict {
                    rest.starts_with('}')
                } else {
                    let rest = rest.trim_start();
                    rest.is_empty() || rest.starts_with('}')
                };
                if closed {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Driver

fn parse_answer(answer: &str) -> Result<Parsed, ParseError> {
    if let Some(found) = direct_json(answer) {
        return finish(found, Strategy::Json, true);
    }
    let doc = Doc::new(answer);
    for fence in &doc.fences {
        if let Some(found) = json_block(&fence.body) {
            return finish(found, Strategy::FencedJson, true);
        }
    }
    if let Some(found) = embedded_json(&doc.outside) {
        return finish(found, Strategy::EmbeddedJson, true);
    }
    for fence in doc.fences.iter().filter(|f| is_shell_lang(&f.lang)) {
        if let Some(found) = block_command(&fence.body, false) {
            return found.map(|command| Parsed {
                command,
                strategy: Strategy::FencedCode,
            });
        }
    }
    if is_refusal(&doc.outside) {
        return Err(ParseError::NoCommand);
    }
    if let Some(found) = prompt_paragraph(&doc.outside) {
        return found.map(|command| Parsed {
            command,
            strategy: Strategy::PromptLine,
        });
    }
    plain(&doc.outside)
}

/// Runs an extracted command through the block rules and the clean-up.
fn finish(found: Found, strategy: Strategy, from_json: bool) -> Result<Parsed, ParseError> {
    let raw = found?;
    let raw = if from_json {
        repair_json_controls(&raw)
    } else {
        raw
    };
    match block_command(&raw, false) {
        Some(result) => result.map(|command| Parsed { command, strategy }),
        None => Err(ParseError::NoCommand),
    }
}

// ---------------------------------------------------------------------------
// Pre-processing

fn normalize(reply: &str) -> String {
    static TOKENS: OnceLock<Regex> = OnceLock::new();
    let tokens = TOKENS.get_or_init(|| {
        Regex::new(r"<\|[A-Za-z0-9_]{1,40}\|>|</s>|<s>|\[/?INST\]").expect("valid regex")
    });
    let text = reply.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let text = text.replace('\r', "\n");
    tokens.replace_all(&text, "").into_owned()
}

/// Removes reasoning blocks. Returns the answer text and, when a `<think>`
/// was never closed, the reasoning after it.
fn strip_think(text: &str) -> (String, Option<String>) {
    static CLOSED: OnceLock<Regex> = OnceLock::new();
    static OPEN: OnceLock<Regex> = OnceLock::new();
    static CLOSE: OnceLock<Regex> = OnceLock::new();
    let closed = CLOSED.get_or_init(|| {
        Regex::new(r"(?is)<(?:think|thinking|reasoning)>.*?</(?:think|thinking|reasoning)>")
            .expect("valid regex")
    });
    let open = OPEN
        .get_or_init(|| Regex::new(r"(?i)<(?:think|thinking|reasoning)>").expect("valid regex"));
    let close = CLOSE
        .get_or_init(|| Regex::new(r"(?i)</(?:think|thinking|reasoning)>").expect("valid regex"));

    let without = closed.replace_all(text, "\n");
    // An orphan closing tag: chat templates often put the opening `<think>`
    // in the prompt, so only the reasoning and `</think>` come back.
    let answer = match close.find_iter(&without).last() {
        Some(m) => &without[m.end()..],
        None => &without[..],
    };
    match open.find(answer) {
        Some(m) => (
            answer[..m.start()].to_string(),
            Some(answer[m.end()..].to_string()),
        ),
        None => (answer.to_string(), None),
    }
}

// ---------------------------------------------------------------------------
// Fences

struct Fence {
    lang: String,
    body: String,
}

/// A reply split into fenced blocks and the prose outside them (fences are
/// replaced by a blank line, so paragraphs stay apart).
struct Doc {
    fences: Vec<Fence>,
    outside: String,
}

impl Doc {
    fn new(text: &str) -> Doc {
        let mut fences = Vec::new();
        let mut outside = String::new();
        // (marker, lang, body lines)
        let mut open: Option<(&str, String, Vec<String>)> = None;
        for line in text.lines() {
            let t = line.trim();
            if let Some((marker, lang, mut body)) = open.take() {
                if t.starts_with(marker) && t.chars().all(|c| c == '`' || c == '~') {
                    fences.push(Fence {
                        lang,
                        body: body.join("\n"),
                    });
                    outside.push('\n');
                } else if let Some(last) = t.strip_suffix(marker) {
                    // Closing fence glued to the last line: "ls -la```".
                    body.push(last.trim_end_matches(['`', '~']).to_string());
                    fences.push(Fence {
                        lang,
                        body: body.join("\n"),
                    });
                    outside.push('\n');
                } else {
                    body.push(line.to_string());
                    open = Some((marker, lang, body));
                }
                continue;
            }
            let marker = if t.starts_with("```") {
                "```"
            } else if t.starts_with("~~~") {
                "~~~"
            } else {
                outside.push_str(line);
                outside.push('\n');
                continue;
            };
            let info = t.trim_start_matches(['`', '~']);
            // A whole fence on one line: ```ls -la```
            if let Some(inner) = info.strip_suffix(marker) {
                let inner = inner.trim_end_matches(['`', '~']).trim();
                if !inner.is_empty() {
                    fences.push(Fence {
                        lang: String::new(),
                        body: inner.to_string(),
                    });
                }
                outside.push('\n');
                continue;
            }
            let info = info.trim();
            let (lang, first_line) = match info.split_once(char::is_whitespace) {
                Some((lang, rest)) if is_shell_lang(&lang.to_lowercase()) => {
                    (lang.to_lowercase(), Some(rest.trim().to_string()))
                }
                Some(_) => (String::from("?"), None),
                None => (info.trim_start_matches(['{', '.']).to_lowercase(), None),
            };
            let body = first_line.into_iter().collect();
            open = Some((marker, lang, body));
            outside.push('\n');
        }
        // An unclosed fence: the reply was cut off; keep what is there.
        if let Some((_, lang, body)) = open {
            fences.push(Fence {
                lang,
                body: body.join("\n"),
            });
        }
        Doc { fences, outside }
    }
}

fn is_shell_lang(lang: &str) -> bool {
    matches!(
        lang,
        "" | "bash"
            | "sh"
            | "shell"
            | "zsh"
            | "fish"
            | "ksh"
            | "dash"
            | "console"
            | "shell-session"
            | "shellsession"
            | "terminal"
            | "cli"
            | "command"
            | "cmd"
            | "bat"
            | "powershell"
            | "pwsh"
            | "ps1"
            | "text"
            | "txt"
            | "plaintext"
            | "plain"
    )
}

// ---------------------------------------------------------------------------
// JSON

/// The whole answer as JSON. `None` when it is not JSON at all, or when a
/// JSON value is followed by other text (the embedded strategy takes that).
fn direct_json(text: &str) -> Option<Found> {
    let t = text.trim();
    if !(t.starts_with('{') || t.starts_with('[') || t.starts_with('"')) {
        return None;
    }
    match serde_json::from_str::<Value>(t) {
        Ok(value) => match command_from_value(&value) {
            Some(found) => Some(found),
            None => match value {
                Value::String(s) => Some(Ok(s)),
                Value::Object(_) => Some(Err(ParseError::NoCommand)),
                _ => None,
            },
        },
        Err(_) => {
            let first = serde_json::Deserializer::from_str(t)
                .into_iter::<Value>()
                .next();
            match first {
                // A valid value followed by prose: not the direct case.
                Some(Ok(_)) => None,
                _ if t.starts_with('{') => lenient_object(t, true),
                _ => None,
            }
        }
    }
}

/// A fenced block whose whole body is the JSON object.
fn json_block(body: &str) -> Option<Found> {
    let t = body.trim();
    if !t.starts_with('{') {
        return None;
    }
    let first = serde_json::Deserializer::from_str(t)
        .into_iter::<Value>()
        .next();
    match first {
        Some(Ok(value)) => command_from_value(&value),
        _ => lenient_object(t, true),
    }
}

/// The first object with a command key anywhere in prose.
fn embedded_json(text: &str) -> Option<Found> {
    let mut prev = None;
    let mut tries = 0;
    for (i, c) in text.char_indices() {
        let before = prev;
        prev = Some(c);
        // `'{"a": 1}'` is JSON quoted inside a command, not our object.
        if c != '{' || matches!(before, Some('\'' | '"')) {
            continue;
        }
        tries += 1;
        if tries > 200 {
            break;
        }
        let rest = &text[i..];
        let first = serde_json::Deserializer::from_str(rest)
            .into_iter::<Value>()
            .next();
        if let Some(Ok(value)) = first {
            if let Some(found) = command_from_value(&value) {
                return Some(found);
            }
            continue;
        }
        if let Some(found) = lenient_object(rest, false) {
            return Some(found);
        }
    }
    None
}

fn command_from_value(value: &Value) -> Option<Found> {
    match value {
        Value::Object(map) => {
            for key in ["cmd", "command", "commands"] {
                let hit = map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v);
                if let Some(v) = hit {
                    return Some(string_or_single(v));
                }
            }
            None
        }
        Value::Array(items) if items.len() == 1 => command_from_value(&items[0]),
        _ => None,
    }
}

fn string_or_single(value: &Value) -> Found {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Array(items) => match items.as_slice() {
            [Value::String(s)] => Ok(s.clone()),
            [] => Err(ParseError::NoCommand),
            [_] => Err(ParseError::NoCommand),
            _ => Err(ParseError::Ambiguous),
        },
        _ => Err(ParseError::NoCommand),
    }
}

/// Reads `{... "cmd": "<body>` without a JSON parser: bad escapes, single
/// quotes (Python dict style), a missing `}` or, when `allow_unclosed`, a
/// missing closing quote (a one-line body only).
fn lenient_object(text: &str, allow_unclosed: bool) -> Option<Found> {
    static KEY: OnceLock<Regex> = OnceLock::new();
    let key = KEY.get_or_init(|| {
        Regex::new(r#"^\{(?:[^{}]*?[,\s])?\s*["']?(?i:cmd|command)["']?\s*:\s*(["'])"#)
            .expect("valid regex")
    });
    let caps = key.captures(text)?;
    let quote_match = caps.get(1)?;
    let quote = if quote_match.as_str() == "'" {
        '\''
    } else {
        '"'
    };
    let (body, closed) = decode_string_body(&text[quote_match.end()..], quote);
    if !closed && (!allow_unclosed || body.contains('\n')) {
        return None;
    }
    Some(Ok(body))
}

/// Decodes a JSON-ish string body up to the first unescaped `quote`. Returns
/// the text and whether the closing quote was there. Unknown escapes (`\;`,
/// `\.`) are kept as written; a dangling backslash at the end is dropped.
fn decode_string_body(body: &str, quote: char) -> (String, bool) {
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == quote {
            return (out, true);
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => break,
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push_str("\\r"),
            Some('u') => {
                let mut hex = String::new();
                while hex.len() < 4 {
                    match chars.peek() {
                        Some(h) if h.is_ascii_hexdigit() => {
                            hex.push(*h);
                            chars.next();
                        }
                        _ => break,
                    }
                }
                let code = if hex.len() == 4 {
                    u32::from_str_radix(&hex, 16).ok()
                } else {
                    None
                };
                match code {
                    Some(high @ 0xD800..=0xDBFF) => {
                        // A surrogate pair: \uD83D\uDE00
                        let mut look = chars.clone();
                        let low = if look.next() == Some('\\') && look.next() == Some('u') {
                            let low_hex: String = look.by_ref().take(4).collect();
                            u32::from_str_radix(&low_hex, 16)
                                .ok()
                                .filter(|l| (0xDC00..=0xDFFF).contains(l) && low_hex.len() == 4)
                        } else {
                            None
                        };
                        match low {
                            Some(low) => {
                                let combined = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                                out.push(char::from_u32(combined).unwrap_or('\u{fffd}'));
                                chars = look;
                            }
                            None => out.push('\u{fffd}'),
                        }
                    }
                    // `\u0000`: the model meant the shell's `\0` (as in
                    // `tr '\0' '\n'`); a NUL byte cannot be in a command.
                    Some(0) => out.push_str("\\0"),
                    Some(code) => match char::from_u32(code) {
                        Some(ch) => out.push(ch),
                        None => out.push('\u{fffd}'),
                    },
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            // `\b` and `\f` are JSON escapes for control characters no
            // command wants; the model meant grep's `\b`. Keep them literal.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    (out, false)
}

/// Undoes what strict JSON decoding did to a naive model's `\b`, `\f`, `\r`
/// (control characters) and to `\n` inside shell quotes (a real newline).
fn repair_json_controls(cmd: &str) -> String {
    let mut out = String::with_capacity(cmd.len());
    let mut single = false;
    let mut double = false;
    let mut escaped = false;
    for c in cmd.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\n' if single || double => out.push_str("\\n"),
            _ => out.push(c),
        }
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Blocks of lines (fence bodies, JSON values, prompt paragraphs)

/// The one command in a block of lines. `None` when the block holds no command
/// (blank, comments only), `Ambiguous` when it holds several.
fn block_command(body: &str, force_prompt: bool) -> Option<Found> {
    let lines: Vec<&str> = body
        .lines()
        .filter(|l| {
            let t = l.trim();
            !(t.starts_with("```") || t.starts_with("~~~"))
        })
        .collect();
    let prompt_mode = force_prompt || lines.iter().any(|l| prompt_rest(l).is_some());
    let logical: Vec<String> = logical_lines(&lines, prompt_mode)
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let only_one = logical.len() == 1;
    let commands: Vec<&String> = logical
        .iter()
        .filter(|l| {
            let t = l.trim();
            !t.starts_with('#') || (only_one && strip_root_prompt(t).is_some())
        })
        .collect();
    match commands.as_slice() {
        [] => None,
        [one] => Some(clean_command(one)),
        _ => Some(Err(ParseError::Ambiguous)),
    }
}

/// Joins continuation lines (trailing `\`, `|`, `&&`, `||`). In prompt mode
/// only prompt lines start a command (other lines are output) and a leading
/// `> ` (PS2) on a continuation line is dropped.
fn logical_lines(lines: &[&str], prompt_mode: bool) -> Vec<String> {
    let mut out = Vec::new();
    // The command so far, the depth of open `for`/`while`/`if`/`case`
    // blocks, and whether its last line ended with a continuation.
    let mut pending: Option<(String, u32, bool)> = None;
    for raw in lines {
        let piece = raw.trim();
        let (mut current, depth) = match pending.take() {
            Some((so_far, depth, continued)) => {
                if piece.is_empty() {
                    if depth > 0 {
                        pending = Some((so_far, depth, continued));
                    } else {
                        out.push(so_far);
                    }
                    continue;
                }
                let piece = if prompt_mode {
                    piece.strip_prefix("> ").unwrap_or(piece)
                } else {
                    piece
                };
                let mut joined = so_far;
                let last_word = joined.split_whitespace().last().unwrap_or("");
                let glue = continued
                    || joined.ends_with(';')
                    || matches!(last_word, "do" | "then" | "else" | "in" | "{");
                joined.push_str(if glue { " " } else { "; " });
                joined.push_str(piece.trim_start());
                (joined, compound_depth(depth, piece))
            }
            None if prompt_mode => match prompt_rest(piece) {
                Some(rest) => (rest.trim().to_string(), compound_depth(0, rest)),
                None => continue,
            },
            None => (piece.to_string(), compound_depth(0, piece)),
        };
        if ends_with_odd_backslash(&current) {
            current.pop();
            let trimmed = current.trim_end().len();
            current.truncate(trimmed);
            pending = Some((current, depth, true));
        } else if current.ends_with('|') || current.ends_with("&&") {
            pending = Some((current, depth, true));
        } else if depth > 0 {
            pending = Some((current, depth, false));
        } else {
            out.push(current);
        }
    }
    if let Some((last, _, _)) = pending {
        out.push(last);
    }
    out
}

/// Tracks `for`/`while`/`until`/`if`/`case`/`select` … `done`/`fi`/`esac`
/// at command positions, so a loop written over several lines is one command.
fn compound_depth(mut depth: u32, line: &str) -> u32 {
    let mut at_command = true;
    for token in line.split_whitespace() {
        let word = token.trim_end_matches(';');
        if at_command {
            match word {
                "for" | "while" | "until" | "if" | "case" | "select" => depth += 1,
                "done" | "fi" | "esac" => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        at_command = token.ends_with(';')
            || matches!(
                word,
                "do" | "then" | "else" | "elif" | "&&" | "||" | "|" | "!" | "{" | "("
            );
    }
    depth
}

fn ends_with_odd_backslash(s: &str) -> bool {
    s.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

// ---------------------------------------------------------------------------
// Prompts and clean-up

/// The text after a shell prompt, if the line starts with one that is never
/// anything else: `$ `, `❯ `, `➜ `, `% `, `user@host:~/dir$ `.
fn prompt_rest(line: &str) -> Option<&str> {
    static USER_HOST: OnceLock<Regex> = OnceLock::new();
    let user_host = USER_HOST.get_or_init(|| {
        Regex::new(r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+(?::[^\s$#]*)?\s?[$#%]\s+")
            .expect("valid regex")
    });
    let t = line.trim_start();
    for prompt in ["$ ", "$\t", "❯ ", "➜ ", "% ", "λ "] {
        if let Some(rest) = t.strip_prefix(prompt) {
            return Some(rest);
        }
    }
    if t == "$" {
        return Some("");
    }
    user_host.find(t).map(|m| &t[m.end()..])
}

/// `# cmd` as a root prompt, when `cmd` reads as a command and not as a
/// comment in English ("# find all text files").
fn strip_root_prompt(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?.trim_start();
    let words: Vec<&str> = rest.split_whitespace().collect();
    let wordy = words.len() >= 4
        && words
            .iter()
            .all(|w| w.chars().all(|c| c.is_alphabetic() && c.is_lowercase()));
    (looks_like_command(rest) && !wordy).then_some(rest)
}

fn clean_command(raw: &str) -> Found {
    let mut s = strip_wrapping_backticks(raw.trim());
    if let Some(rest) = prompt_rest(s) {
        s = rest.trim();
    } else if let Some(rest) = strip_root_prompt(s) {
        s = rest;
    } else if let Some(rest) = s.strip_prefix("> ") {
        if looks_like_command(rest) {
            s = rest.trim();
        }
    }
    let s = strip_wrapping_backticks(s);
    let s = strip_trailing_comment(s);
    let s = strip_trailing_prose(s);
    let s = strip_stray_backticks(s).trim();
    if s.is_empty() || looks_like_prose(s) {
        return Err(ParseError::NoCommand);
    }
    Ok(s.to_string())
}

/// `` `ls` `` and ``` ``ls`` ``` become `ls`; `` echo `date` `` is untouched.
fn strip_wrapping_backticks(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let inner = match s.strip_prefix("``").and_then(|x| x.strip_suffix("``")) {
            Some(inner) => inner,
            None => match s.strip_prefix('`').and_then(|x| x.strip_suffix('`')) {
                Some(inner) if !inner.contains('`') => inner,
                _ => return s,
            },
        };
        if inner.trim().is_empty() {
            return s;
        }
        s = inner.trim();
    }
}

/// An odd number of backticks means one is stray: drop it from an end.
fn strip_stray_backticks(s: &str) -> &str {
    let count = s.matches('`').count();
    if count & 1 == 0 {
        return s;
    }
    if let Some(rest) = s.strip_prefix('`') {
        rest.trim_start()
    } else if let Some(rest) = s.strip_suffix('`') {
        rest.trim_end()
    } else {
        s
    }
}

/// Cuts an unquoted `#` comment that follows two or more spaces (or a tab).
fn strip_trailing_comment(s: &str) -> &str {
    let mut single = false;
    let mut double = false;
    let mut escaped = false;
    let mut blanks = 0usize;
    let mut saw_tab = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            blanks = 0;
            continue;
        }
        match c {
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && i > 0 && (blanks >= 2 || saw_tab) => {
                return s[..i].trim_end();
            }
            _ => {}
        }
        if c == ' ' || c == '\t' {
            blanks += 1;
            saw_tab |= c == '\t';
        } else {
            blanks = 0;
            saw_tab = false;
        }
    }
    s
}

/// Cuts an explanation glued to the end of a command line: after an
/// unquoted ` — ` or ` – `, after ` - ` when an explanation follows
/// ("ls -la - lists all files"), or a plain sentence starting with an
/// explaining word ("ls -la will list all files.").
fn strip_trailing_prose(s: &str) -> &str {
    for dash in [" — ", " – "] {
        if let Some(i) = unquoted_find(s, dash) {
            return s[..i].trim_end();
        }
    }
    if let Some(i) = unquoted_find(s, " - ") {
        let tail = &s[i + 3..];
        if is_explanation(tail, false) {
            return s[..i].trim_end();
        }
    }
    if !matches!(s.split_whitespace().next(), Some("echo" | "printf")) {
        for i in unquoted_matches(s, " ") {
            if is_explanation(&s[i + 1..], true) {
                return s[..i].trim_end();
            }
        }
    }
    s
}

/// Plain lowercase words starting with an explaining verb; with
/// `sentence`, at least three of them ending in a full stop.
fn is_explanation(tail: &str, sentence: bool) -> bool {
    const STARTERS: &[&str] = &[
        "changes",
        "checks",
        "copies",
        "counts",
        "creates",
        "deletes",
        "displays",
        "finds",
        "gets",
        "it",
        "list",
        "lists",
        "moves",
        "outputs",
        "prints",
        "recursively",
        "removes",
        "returns",
        "searches",
        "sets",
        "show",
        "shows",
        "that",
        "this",
        "to",
        "which",
        "will",
    ];
    let tail = tail.trim();
    let words: Vec<&str> = tail.split_whitespace().collect();
    let Some(first) = words.first() else {
        return false;
    };
    let plain = words.iter().all(|w| {
        let w = w.trim_end_matches([',', '.', ';']);
        !w.is_empty() && w.chars().all(|c| c.is_alphabetic() && c.is_lowercase())
    });
    let long_enough = if sentence {
        words.len() >= 3 && tail.ends_with('.')
    } else {
        words.len() >= 2
    };
    plain && long_enough && STARTERS.contains(first)
}

/// The byte offset of the first `needle` outside shell quotes.
fn unquoted_find(s: &str, needle: &str) -> Option<usize> {
    unquoted_matches(s, needle).into_iter().next()
}

/// Byte offsets of every `needle` outside shell quotes.
fn unquoted_matches(s: &str, needle: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut single = false;
    let mut double = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if !single && !double && s[i..].starts_with(needle) {
            found.push(i);
        }
        match c {
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            _ => {}
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Prose, refusals, prompt paragraphs and plain lines

fn is_refusal(outside: &str) -> bool {
    static REFUSAL: OnceLock<Regex> = OnceLock::new();
    static BUT: OnceLock<Regex> = OnceLock::new();
    let refusal = REFUSAL.get_or_init(|| {
        Regex::new(
            r"(?i)\b(?:i\s+(?:cannot|can\s*not|can['’]t|won['’]?t|will\s+not|am\s+(?:not\s+able|unable)|must\s+(?:decline|refuse)|apologi[sz]e)|i['’]m\s+(?:sorry|unable|not\s+able)|as\s+an\s+ai|(?:not\s+able|unable)\s+to\s+(?:help|assist|provide|generate|comply))",
        )
        .expect("valid regex")
    });
    let but = BUT.get_or_init(|| {
        Regex::new(r"(?i)\b(?:but|however|instead)\b.*\b(?:you\s+can|you\s+could|try|use)\b")
            .expect("valid regex")
    });
    outside.lines().any(|line| {
        let t = line.trim();
        looks_like_prose(t) && refusal.is_match(t) && !but.is_match(t)
    })
}

/// The first paragraph with prompt lines; several commands there is ambiguous.
fn prompt_paragraph(outside: &str) -> Option<Found> {
    let mut paragraph: Vec<&str> = Vec::new();
    let mut has_prompt = false;
    for line in outside.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if has_prompt {
                return block_command(&paragraph.join("\n"), true);
            }
            paragraph.clear();
            continue;
        }
        has_prompt |= prompt_rest(line).is_some();
        paragraph.push(line);
    }
    None
}

fn plain(outside: &str) -> Result<Parsed, ParseError> {
    let raw_lines: Vec<&str> = outside.lines().collect();
    let lines: Vec<String> = logical_lines(&raw_lines, false)
        .into_iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let plain_line = |command| Parsed {
        command,
        strategy: Strategy::PlainLine,
    };
    if lines.is_empty() {
        return Err(ParseError::NoCommand);
    }
    if let [line] = lines.as_slice() {
        let line = strip_bullet(line);
        let first = line.split_whitespace().next().unwrap_or("");
        let wholly_code = strip_wrapping_backticks(line) != line;
        if wholly_code || inline_spans(line).is_empty() || is_known_command(first) {
            if let Ok(cmd) = clean_command(line) {
                return Ok(plain_line(cmd));
            }
        }
        if let Some(rest) = after_label(line) {
            return clean_command(rest).map(plain_line);
        }
    }
    if let Some(span) = inline_spans(outside)
        .into_iter()
        .find(|s| span_is_command(s))
    {
        return clean_command(span).map(|command| Parsed {
            command,
            strategy: Strategy::FencedCode,
        });
    }
    let candidates: Vec<&str> = lines
        .iter()
        .filter_map(|l| {
            let l = strip_bullet(l);
            if looks_like_command(strip_stray_backticks(strip_wrapping_backticks(l))) {
                Some(l)
            } else {
                after_label(l)
            }
        })
        .collect();
    match candidates.as_slice() {
        [one] => clean_command(one).map(plain_line),
        [] if paragraphs(outside) >= 2 => Err(ParseError::Ambiguous),
        [] => Err(ParseError::NoCommand),
        _ => Err(ParseError::Ambiguous),
    }
}

fn paragraphs(text: &str) -> usize {
    text.split("\n\n").filter(|p| !p.trim().is_empty()).count()
}

/// "Command: ls -la" / "Here is the command: ls -la" gives "ls -la".
fn after_label(line: &str) -> Option<&str> {
    let (label, rest) = line.split_once(": ")?;
    let label_words = label.split_whitespace().count();
    let labelled = format!("{label}:");
    let rest = rest.trim();
    (label_words <= 8 && looks_like_prose(&labelled) && looks_like_command(rest)).then_some(rest)
}

fn strip_bullet(line: &str) -> &str {
    static BULLET: OnceLock<Regex> = OnceLock::new();
    let bullet =
        BULLET.get_or_init(|| Regex::new(r"^(?:[-*+•]|\d{1,2}[.)])\s+").expect("valid regex"));
    let t = line.trim();
    match bullet.find(t) {
        Some(m) => &t[m.end()..],
        None => t,
    }
}

fn inline_spans(text: &str) -> Vec<&str> {
    static SPAN: OnceLock<Regex> = OnceLock::new();
    let span = SPAN.get_or_init(|| Regex::new(r"``([^`\n]+?)``|`([^`\n]+)`").expect("valid regex"));
    span.captures_iter(text)
        .filter_map(|c| c.get(1).or_else(|| c.get(2)))
        .map(|m| m.as_str().trim())
        .collect()
}

/// An inline code span that reads as a whole command, not a flag or a path.
fn span_is_command(span: &str) -> bool {
    let Ok(words) = shell_words::split(span) else {
        return false;
    };
    let Some(first) = words.first() else {
        return false;
    };
    if first.starts_with('-') || looks_like_prose(span) {
        return false;
    }
    is_known_command(first)
        || first.starts_with("./")
        || (words.len() >= 2 && is_program_name(first))
}

fn is_program_name(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+'))
        && word
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.')
}

/// A line that reads as a shell command (used to pick one among prose lines).
fn looks_like_command(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty() || looks_like_prose(line) {
        return false;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let first = words[0];
    is_known_command(first)
        || first.starts_with("./")
        || (first.contains('=') && !first.starts_with('=') && words.len() >= 2)
        || (is_program_name(first)
            && (words[1..].iter().any(|w| w.starts_with('-'))
                || line.contains(" | ")
                || line.contains(" > ")
                || line.contains(" && ")))
}

/// Whether a line reads like an English sentence rather than a command.
fn looks_like_prose(line: &str) -> bool {
    let line = line.trim();
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return false;
    };
    if is_known_command(first) {
        return false;
    }
    let core = first.trim_end_matches([',', '!', ':', '.', '?', ';']);
    let alpha = !core.is_empty()
        && core
            .chars()
            .all(|c| c.is_alphabetic() || c == '\'' || c == '’');
    if alpha {
        let punct = &first[core.len()..];
        // "Sure!", "Note:", "Yes, ...", "Done."
        if punct.starts_with([',', '!', ':', '?']) || (punct == "." && words.len() == 1) {
            return true;
        }
        let lower = core.to_lowercase().replace('’', "'");
        if PROSE_WORDS.contains(&lower.as_str()) {
            return true;
        }
        // "Lists all files ..." — a capitalized word followed by a plain word.
        let mut chars = core.chars();
        let title = chars.next().is_some_and(char::is_uppercase) && chars.all(char::is_lowercase);
        let second_plain = words
            .get(1)
            .is_some_and(|w| w.chars().all(|c| c.is_alphabetic() && c.is_lowercase()));
        if title && second_plain {
            return true;
        }
    }
    // "lists all the files in here." / "Python3 is needed." — several plain
    // words ending a sentence.
    let body = line.trim_end_matches(['.', '!', '?', ':']);
    let plain_words = body.split_whitespace().all(|w| {
        let w = w.trim_end_matches([',', ';']);
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '\'' || c == '’')
    });
    words.len() >= 3
        && body.len() < line.len()
        && plain_words
        && first.chars().any(char::is_alphabetic)
}

fn is_known_command(word: &str) -> bool {
    let base = word.rsplit('/').next().unwrap_or(word);
    KNOWN_COMMANDS.contains(&base)
}

/// First words that start English sentences and are not commands.
const PROSE_WORDS: &[&str] = &[
    "a",
    "above",
    "absolutely",
    "after",
    "also",
    "alright",
    "alternatively",
    "an",
    "and",
    "answer",
    "as",
    "assuming",
    "based",
    "before",
    "below",
    "but",
    "by",
    "can",
    "certainly",
    "could",
    "explanation",
    "following",
    "great",
    "hello",
    "here",
    "here's",
    "heres",
    "hi",
    "how",
    "however",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "im",
    "is",
    "it",
    "it's",
    "let's",
    "lets",
    "my",
    "no",
    "note",
    "of",
    "ok",
    "okay",
    "on",
    "or",
    "output",
    "please",
    "run",
    "should",
    "so",
    "sorry",
    "sure",
    "thanks",
    "that",
    "the",
    "there",
    "these",
    "this",
    "those",
    "to",
    "try",
    "unfortunately",
    "use",
    "using",
    "we",
    "what",
    "when",
    "where",
    "why",
    "will",
    "with",
    "without",
    "would",
    "you",
    "you'll",
    "you're",
    "your",
];

/// Programs (and shell words) a one-line command commonly starts with.
const KNOWN_COMMANDS: &[&str] = &[
    "alias",
    "apt",
    "apt-get",
    "awk",
    "base64",
    "basename",
    "bash",
    "brew",
    "bunzip2",
    "bzip2",
    "cargo",
    "cat",
    "cd",
    "chgrp",
    "chmod",
    "chown",
    "clear",
    "cmake",
    "column",
    "comm",
    "command",
    "cp",
    "crontab",
    "curl",
    "cut",
    "date",
    "dd",
    "df",
    "diff",
    "dig",
    "dirname",
    "dmesg",
    "dnf",
    "docker",
    "du",
    "echo",
    "env",
    "export",
    "fd",
    "fdisk",
    "file",
    "find",
    "for",
    "free",
    "fuser",
    "gcc",
    "git",
    "go",
    "grep",
    "groups",
    "gunzip",
    "gzip",
    "head",
    "history",
    "host",
    "hostname",
    "htop",
    "id",
    "ifconfig",
    "ip",
    "java",
    "jobs",
    "journalctl",
    "jq",
    "kill",
    "killall",
    "kubectl",
    "less",
    "ln",
    "locate",
    "ls",
    "lsblk",
    "lsof",
    "make",
    "man",
    "md5sum",
    "mkdir",
    "mktemp",
    "more",
    "mount",
    "mv",
    "nano",
    "nc",
    "netstat",
    "nice",
    "nl",
    "node",
    "nohup",
    "npm",
    "npx",
    "nslookup",
    "od",
    "open",
    "openssl",
    "pacman",
    "passwd",
    "paste",
    "pgrep",
    "ping",
    "pip",
    "pip3",
    "pkill",
    "podman",
    "printenv",
    "printf",
    "ps",
    "pwd",
    "python",
    "python3",
    "readlink",
    "realpath",
    "rev",
    "rg",
    "rm",
    "rmdir",
    "rsync",
    "ruby",
    "scp",
    "sed",
    "seq",
    "service",
    "sh",
    "sha1sum",
    "sha256sum",
    "shuf",
    "sleep",
    "snap",
    "sort",
    "split",
    "ss",
    "ssh",
    "ssh-keygen",
    "stat",
    "strings",
    "su",
    "sudo",
    "sysctl",
    "systemctl",
    "tac",
    "tail",
    "tar",
    "tee",
    "test",
    "time",
    "timeout",
    "top",
    "touch",
    "tr",
    "traceroute",
    "tree",
    "truncate",
    "type",
    "ufw",
    "umask",
    "umount",
    "uname",
    "uniq",
    "unzip",
    "uptime",
    "useradd",
    "usermod",
    "vi",
    "vim",
    "watch",
    "wc",
    "wget",
    "whereis",
    "which",
    "while",
    "who",
    "whoami",
    "xargs",
    "xdg-open",
    "yarn",
    "yes",
    "yum",
    "zip",
    "zsh",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(reply: &str) -> Parsed {
        match parse_reply(reply) {
            Ok(p) => p,
            Err(e) => panic!("expected a command from {reply:?}, got error: {e}"),
        }
    }

    fn cmd(reply: &str) -> String {
        ok(reply).command
    }

    fn err(reply: &str) -> ParseError {
        match parse_reply(reply) {
            Ok(p) => panic!("expected an error from {reply:?}, got {p:?}"),
            Err(e) => e,
        }
    }

    fn pre(continuation: &str) -> String {
        match parse_prefilled(continuation) {
            Ok(p) => {
                assert_eq!(p.strategy, Strategy::Json);
                p.command
            }
            Err(e) => panic!("expected a command from {continuation:?}, got error: {e}"),
        }
    }

    // --- The `}` leak ------------------------------------------------------

    #[test]
    fn a_brace_that_closes_nothing_is_not_part_of_the_command() {
        // Seen: "print hello world" -> `echo 'hello world'}`.
        assert_eq!(pre("echo 'hello world'}\"}"), "echo 'hello world'");
        assert_eq!(pre("md5sum <(sort $FILES)}\"}"), "md5sum <(sort $FILES)");
        assert_eq!(pre("ls -la}}\"}"), "ls -la");
    }

    #[test]
    fn braces_that_belong_to_the_command_stay() {
        for c in [
            "echo ${HOME}",
            "find . -name '*.tmp' -exec rm {} +",
            "awk '{print $1}'",
            "{ date; uptime; }",
            "echo {a,b}",
            "printf '%s\\n' x }",
        ] {
            let escaped = c.replace('\\', "\\\\");
            assert_eq!(pre(&format!("{escaped}\"}}")), c, "{c}");
        }
    }

    // --- JSON -------------------------------------------------------------

    #[test]
    fn control_and_bidi_characters_are_refused() {
        // An ESC from a \u escape would reach the terminal raw.
        for reply in [
            "{\"cmd\": \"echo \\u001b[2Jhi\"}",
            "{\"cmd\": \"ls \\u202e txt.exe\"}",
            "{\"cmd\": \"rm -rf ./tmp \\u2066x\\u2069\"}",
            "{\"cmd\": \"echo \\u0007\"}",
            "{\"cmd\": \"echo \\u009b31m\"}",
            "```sh\nls \u{202E}gnp.exe\n```",
        ] {
            assert_eq!(err(reply), ParseError::HiddenCharacters, "{reply:?}");
        }
        assert_eq!(
            parse_prefilled("echo \\u001b]0;title\\u0007\"}"),
            Err(ParseError::HiddenCharacters)
        );
        assert_eq!(
            parse_prefilled("ls \\u2067x\"}"),
            Err(ParseError::HiddenCharacters)
        );
        // Tab stays, and so do the escapes the parser writes back.
        assert_eq!(cmd("{\"cmd\": \"printf 'a\\tb'\"}"), "printf 'a\tb'");
        assert_eq!(
            cmd("{\"cmd\": \"grep '\\bword\\b' f\"}"),
            "grep '\\bword\\b' f"
        );
        assert_eq!(cmd("{\"cmd\": \"ls caf\\u00e9\"}"), "ls café");
        assert!(ParseError::HiddenCharacters
            .to_string()
            .contains("differ from what runs"));
    }

    #[test]
    fn plain_json() {
        let p = ok(r#"{"cmd": "ls -la"}"#);
        assert_eq!(p.command, "ls -la");
        assert_eq!(p.strategy, Strategy::Json);
    }

    #[test]
    fn json_with_escaped_quotes() {
        assert_eq!(
            cmd(r#"{"cmd": "grep -r \"TODO\" ."}"#),
            r#"grep -r "TODO" ."#
        );
    }

    #[test]
    fn json_with_escaped_backslash_and_braces() {
        let p = ok(r#"{"cmd": "find . -name '*.txt' -exec rm {} \\;"}"#);
        assert_eq!(p.command, r"find . -name '*.txt' -exec rm {} \;");
        assert_eq!(p.strategy, Strategy::Json);
    }

    #[test]
    fn json_with_invalid_escape_is_read_leniently() {
        // `\;` is not a JSON escape; small models write it anyway.
        let p = ok(r#"{"cmd": "find . -type f -exec chmod 644 {} \;"}"#);
        assert_eq!(p.command, r"find . -type f -exec chmod 644 {} \;");
        assert_eq!(p.strategy, Strategy::Json);
    }

    #[test]
    fn json_command_key_and_extra_keys() {
        assert_eq!(cmd(r#"{"command": "df -h"}"#), "df -h");
        let p = ok(r#"{"cmd": "ls", "explanation": "Lists the files in the current directory."}"#);
        assert_eq!(p.command, "ls");
        let p = ok(r#"{"explanation": "Shows disk usage", "cmd": "du -sh ."}"#);
        assert_eq!(p.command, "du -sh .");
    }

    #[test]
    fn json_commands_list() {
        assert_eq!(cmd(r#"{"commands": ["uptime"]}"#), "uptime");
        assert_eq!(err(r#"{"commands": ["ls", "dir"]}"#), ParseError::Ambiguous);
        assert_eq!(err(r#"{"commands": []}"#), ParseError::NoCommand);
    }

    #[test]
    fn json_without_command_key_or_empty_cmd() {
        assert_eq!(
            err(r#"{"error": "I cannot do that"}"#),
            ParseError::NoCommand
        );
        assert_eq!(err(r#"{"cmd": ""}"#), ParseError::NoCommand);
        assert_eq!(err(r#"{"cmd": null}"#), ParseError::NoCommand);
    }

    #[test]
    fn json_in_fences() {
        let p = ok("```json\n{\"cmd\": \"git status\"}\n```");
        assert_eq!(p.command, "git status");
        assert_eq!(p.strategy, Strategy::FencedJson);
        let p = ok("Here you go:\n```\n{\"cmd\": \"git log --oneline -5\"}\n```\nThis shows the last five commits.");
        assert_eq!(p.command, "git log --oneline -5");
        assert_eq!(p.strategy, Strategy::FencedJson);
    }

    #[test]
    fn json_after_prose() {
        let p = ok("Here is the command:\n{\"cmd\": \"ps aux | grep nginx\"}");
        assert_eq!(p.command, "ps aux | grep nginx");
        assert_eq!(p.strategy, Strategy::EmbeddedJson);
        let p = ok("{\"cmd\": \"free -h\"}\n\nThis prints memory usage in human-readable units.");
        assert_eq!(p.command, "free -h");
        assert_eq!(p.strategy, Strategy::EmbeddedJson);
    }

    #[test]
    fn json_python_dict_style() {
        let p = ok("{'cmd': 'ls -lh /var/log'}");
        assert_eq!(p.command, "ls -lh /var/log");
        assert_eq!(p.strategy, Strategy::Json);
        assert_eq!(
            cmd(r#"{'cmd': "find . -name '*.py'"}"#),
            "find . -name '*.py'"
        );
        assert_eq!(cmd(r"{'cmd': 'echo \'hi\''}"), "echo 'hi'");
    }

    #[test]
    fn truncated_json() {
        let p = ok(r#"{"cmd": "ls -la"#);
        assert_eq!(p.command, "ls -la");
        assert_eq!(p.strategy, Strategy::Json);
        assert_eq!(cmd(r#"{"cmd": "ls -la""#), "ls -la");
    }

    #[test]
    fn json_with_grep_word_boundary_escapes() {
        // Strict JSON turns `\b` into a backspace; the model meant grep's `\b`.
        assert_eq!(
            cmd(r#"{"cmd": "grep -E '\bfoo\b' log.txt"}"#),
            r"grep -E '\bfoo\b' log.txt"
        );
        assert_eq!(
            cmd(r#"{"cmd": "tr -d '\r' < in.txt > out.txt"}"#),
            r"tr -d '\r' < in.txt > out.txt"
        );
        assert_eq!(cmd(r#"{"cmd": "printf 'a\nb\n'"}"#), r"printf 'a\nb\n'");
    }

    #[test]
    fn json_unicode() {
        assert_eq!(cmd(r#"{"cmd": "echo \u00e9t\u00e9"}"#), "echo été");
        assert_eq!(
            cmd(r#"{"cmd": "mkdir 'Données 2024' && cd 'Données 2024'"}"#),
            "mkdir 'Données 2024' && cd 'Données 2024'"
        );
        assert_eq!(
            cmd(r#"{"cmd": "grep -rn '日本語' ."}"#),
            "grep -rn '日本語' ."
        );
    }

    #[test]
    fn json_value_with_prompt_and_backticks_is_cleaned() {
        assert_eq!(cmd(r#"{"cmd": "$ ls -la"}"#), "ls -la");
        assert_eq!(cmd(r#"{"cmd": "`whoami`"}"#), "whoami");
    }

    #[test]
    fn quoted_json_inside_a_command_is_not_taken() {
        let reply =
            "```bash\ncurl -X POST -d '{\"command\": \"start\"}' http://localhost:8080/api\n```";
        let p = ok(reply);
        assert_eq!(
            p.command,
            "curl -X POST -d '{\"command\": \"start\"}' http://localhost:8080/api"
        );
        assert_eq!(p.strategy, Strategy::FencedCode);
    }

    // --- Fenced code --------------------------------------------------------

    #[test]
    fn prose_bash_fence_and_explanation() {
        let reply = "Sure! To find all files larger than 100MB, run:\n\n```bash\nfind / -type f -size +100M 2>/dev/null\n```\n\nThis searches the whole filesystem and hides permission errors.";
        let p = ok(reply);
        assert_eq!(p.command, "find / -type f -size +100M 2>/dev/null");
        assert_eq!(p.strategy, Strategy::FencedCode);
    }

    #[test]
    fn sh_fence_and_bare_fence() {
        assert_eq!(cmd("```sh\ndu -sh * | sort -h\n```"), "du -sh * | sort -h");
        assert_eq!(
            cmd("```\ntar -czvf backup.tar.gz ~/Documents\n```"),
            "tar -czvf backup.tar.gz ~/Documents"
        );
        assert_eq!(cmd("```shell\n$ uname -a\n```"), "uname -a");
    }

    #[test]
    fn fence_with_comment_lines_and_one_command() {
        let reply = "```bash\n# Delete all .tmp files in the current directory\nfind . -name '*.tmp' -delete\n```";
        assert_eq!(cmd(reply), "find . -name '*.tmp' -delete");
        let reply = "```bash\n#!/bin/bash\n# list\nls -1\n```";
        assert_eq!(cmd(reply), "ls -1");
    }

    #[test]
    fn fence_with_several_commands_is_ambiguous() {
        let reply = "```bash\ncd /var/log\nls -lt | head\n```";
        assert_eq!(err(reply), ParseError::Ambiguous);
        let heredoc = "```bash\ncat <<EOF > notes.txt\nhello\nEOF\n```";
        assert_eq!(err(heredoc), ParseError::Ambiguous);
    }

    #[test]
    fn fence_continuation_lines_are_joined() {
        let reply = "```bash\nfind . -name '*.log' \\\n  -mtime +7 \\\n  -delete\n```";
        assert_eq!(cmd(reply), "find . -name '*.log' -mtime +7 -delete");
        let piped = "```bash\nps aux |\n  grep python\n```";
        assert_eq!(cmd(piped), "ps aux | grep python");
    }

    #[test]
    fn two_commands_in_two_fences_takes_the_first() {
        let reply =
            "On Linux:\n```bash\nip addr show\n```\nOn older systems:\n```bash\nifconfig -a\n```";
        let p = ok(reply);
        assert_eq!(p.command, "ip addr show");
        assert_eq!(p.strategy, Strategy::FencedCode);
    }

    #[test]
    fn console_fence_drops_output_lines() {
        let reply = "```console\n$ whoami\nalice\n```";
        assert_eq!(cmd(reply), "whoami");
    }

    #[test]
    fn python_fence_is_not_a_shell_command() {
        let reply = "```python\nimport os\nprint(os.listdir('.'))\n```";
        assert_eq!(err(reply), ParseError::NoCommand);
    }

    #[test]
    fn unclosed_fence_and_glued_fences() {
        assert_eq!(cmd("```bash\nls -la /etc"), "ls -la /etc");
        assert_eq!(cmd("```bash\nls -la```"), "ls -la");
        assert_eq!(cmd("```ls -la```"), "ls -la");
        assert_eq!(cmd("```bash ls -la\n```"), "ls -la");
    }

    #[test]
    fn root_prompt_in_fence_versus_comment() {
        assert_eq!(cmd("```\n# apt update\n```"), "apt update");
        assert_eq!(
            err("```bash\n# find all the text files\n```"),
            ParseError::NoCommand
        );
    }

    // --- Prompt lines -------------------------------------------------------

    #[test]
    fn dollar_prompt_line() {
        let p = ok("You can check with:\n$ df -h /home\nIt shows free space.");
        assert_eq!(p.command, "df -h /home");
        assert_eq!(p.strategy, Strategy::PromptLine);
    }

    #[test]
    fn fancy_prompts() {
        let p = ok("❯ git branch -a");
        assert_eq!(p.command, "git branch -a");
        assert_eq!(p.strategy, Strategy::PromptLine);
        assert_eq!(
            cmd("user@host:~$ sudo systemctl restart nginx"),
            "sudo systemctl restart nginx"
        );
        assert_eq!(cmd("% brew upgrade"), "brew upgrade");
    }

    #[test]
    fn prompt_paragraph_with_several_commands_is_ambiguous() {
        assert_eq!(
            err("Run these:\n$ cd project\n$ make"),
            ParseError::Ambiguous
        );
        // Alternatives in separate paragraphs: the first wins.
        assert_eq!(cmd("$ ls -la\n\nor on Windows\n\n$ dir"), "ls -la");
    }

    #[test]
    fn prompt_with_ps2_continuation() {
        assert_eq!(
            cmd("$ docker run --rm \\\n> -it ubuntu bash"),
            "docker run --rm -it ubuntu bash"
        );
    }

    // --- Plain lines --------------------------------------------------------

    #[test]
    fn single_plain_line() {
        let p = ok("ls -la");
        assert_eq!(p.command, "ls -la");
        assert_eq!(p.strategy, Strategy::PlainLine);
        assert_eq!(cmd("  git pull --rebase  \n"), "git pull --rebase");
        assert_eq!(cmd("rg TODO src/"), "rg TODO src/");
        assert_eq!(cmd("mytool --verbose"), "mytool --verbose");
    }

    #[test]
    fn single_line_in_backticks() {
        let p = ok("`ls -la`");
        assert_eq!(p.command, "ls -la");
        assert_eq!(p.strategy, Strategy::PlainLine);
        assert_eq!(cmd("``echo `date` ``"), "echo `date`");
        assert_eq!(cmd("`pwd"), "pwd");
        assert_eq!(cmd("echo `date`"), "echo `date`");
    }

    #[test]
    fn inline_code_in_prose_takes_the_first_command() {
        let p = ok("You can use `ls` or `dir`.");
        assert_eq!(p.command, "ls");
        assert_eq!(p.strategy, Strategy::FencedCode);
        let p = ok("Use the `-h` flag: `df -h` shows sizes in `GB`.");
        assert_eq!(p.command, "df -h");
    }

    #[test]
    fn sentence_is_not_a_command() {
        assert_eq!(err("Sure! Here is the command:"), ParseError::NoCommand);
        assert_eq!(
            err("Lists all files in the current directory."),
            ParseError::NoCommand
        );
    }

    #[test]
    fn label_then_command_on_one_line() {
        assert_eq!(cmd("Command: ls -la"), "ls -la");
        assert_eq!(cmd("Here is the command: git stash list"), "git stash list");
    }

    #[test]
    fn command_line_among_prose_lines() {
        let reply = "Here is the command:\nls -la\nThis lists all files, including hidden ones.";
        let p = ok(reply);
        assert_eq!(p.command, "ls -la");
        assert_eq!(p.strategy, Strategy::PlainLine);
        assert_eq!(
            cmd("ls -la\n\nThis lists all files, including hidden ones."),
            "ls -la"
        );
    }

    #[test]
    fn plain_continuation_lines() {
        assert_eq!(cmd("rsync -av \\\n  src/ dest/"), "rsync -av src/ dest/");
    }

    #[test]
    fn two_plain_commands_are_ambiguous() {
        assert_eq!(err("mkdir build\ncd build"), ParseError::Ambiguous);
    }

    #[test]
    fn trailing_comment_after_two_spaces_is_dropped() {
        assert_eq!(cmd("ls -la  # lists all files"), "ls -la");
        assert_eq!(
            cmd("ls -la # keep: valid shell"),
            "ls -la # keep: valid shell"
        );
        assert_eq!(cmd("echo 'a  # b'"), "echo 'a  # b'");
        assert_eq!(
            cmd("```bash\ndu -sh .\t# size of this dir\n```"),
            "du -sh ."
        );
    }

    #[test]
    fn trailing_prose_on_the_command_line_is_dropped() {
        assert_eq!(cmd("ls -la - lists all files"), "ls -la");
        assert_eq!(
            cmd("du -sh ~/Downloads — shows the folder size"),
            "du -sh ~/Downloads"
        );
        assert_eq!(cmd("ls -la will list all files."), "ls -la");
        assert_eq!(
            cmd("```bash\nfind . -name '*.bak' -delete  # removes backups\n```"),
            "find . -name '*.bak' -delete"
        );
        // A dash that is an argument, and quoted text, stay.
        assert_eq!(
            cmd("tar -cf - src | gzip > src.tar.gz"),
            "tar -cf - src | gzip > src.tar.gz"
        );
        assert_eq!(
            cmd("echo this will list all files."),
            "echo this will list all files."
        );
        assert_eq!(
            cmd("git commit -m 'fix - this will list all files.'"),
            "git commit -m 'fix - this will list all files.'"
        );
    }

    #[test]
    fn multi_line_loops_are_one_command() {
        assert_eq!(
            cmd("```bash\nfor f in *.png; do\n  convert \"$f\" \"${f%.png}.jpg\"\ndone\n```"),
            "for f in *.png; do convert \"$f\" \"${f%.png}.jpg\"; done"
        );
        assert_eq!(
            cmd("{\"cmd\": \"if [ -d build ]; then\\n  rm -rf build\\nfi\"}"),
            "if [ -d build ]; then rm -rf build; fi"
        );
        assert_eq!(
            cmd("```bash\nwhile read -r line; do\n  echo \"$line\"\n  sleep 1\ndone < list.txt\n```"),
            "while read -r line; do echo \"$line\"; sleep 1; done < list.txt"
        );
    }

    #[test]
    fn sentence_with_digits_is_prose() {
        assert_eq!(err("Python3 is needed for this."), ParseError::NoCommand);
    }

    #[test]
    fn blockquote_prompt_versus_redirect() {
        assert_eq!(cmd("> ls -la"), "ls -la");
        assert_eq!(cmd("> out.txt"), "> out.txt");
    }

    // --- Think blocks -------------------------------------------------------

    #[test]
    fn closed_think_block() {
        let reply = "<think>\nThe user wants to see hidden files. I should use ls -a. {\"cmd\": \"no\"}\n</think>\n\n{\"cmd\": \"ls -a\"}";
        let p = ok(reply);
        assert_eq!(p.command, "ls -a");
        assert_eq!(p.strategy, Strategy::Json);
    }

    #[test]
    fn orphan_closing_think_tag() {
        // Qwen3 templates put `<think>` in the prompt; only `</think>` comes back.
        assert_eq!(
            cmd("Okay, disk usage... du.\n</think>\n```bash\ndu -sh ~\n```"),
            "du -sh ~"
        );
    }

    #[test]
    fn unclosed_think_block() {
        assert_eq!(
            err("<think>\nThe user wants to list files. Maybe ls, or maybe"),
            ParseError::Unfinished
        );
        assert_eq!(err("<think>"), ParseError::Unfinished);
        // Best effort: the answer was written inside the unclosed block.
        assert_eq!(cmd("<think>\nlist files\n{\"cmd\": \"ls\"}"), "ls");
    }

    #[test]
    fn empty_think_only() {
        assert_eq!(err("<think>hmm</think>\n"), ParseError::Empty);
    }

    // --- Errors -------------------------------------------------------------

    #[test]
    fn empty_and_whitespace() {
        assert_eq!(err(""), ParseError::Empty);
        assert_eq!(err("   \n\t\n  "), ParseError::Empty);
        assert_eq!(err("<|im_end|>"), ParseError::Empty);
    }

    #[test]
    fn refusals() {
        assert_eq!(err("I cannot help with that."), ParseError::NoCommand);
        assert_eq!(
            err("I'm sorry, but I can't assist with deleting system files."),
            ParseError::NoCommand
        );
        assert_eq!(
            err("As an AI language model, I can't run `rm -rf /` for you."),
            ParseError::NoCommand
        );
        assert_eq!(
            err("I'm sorry.\n\nDeleting the root filesystem would destroy the system."),
            ParseError::NoCommand
        );
    }

    #[test]
    fn helpful_reply_with_cannot_still_gives_the_command() {
        assert_eq!(
            cmd("I can't run commands myself, but you can use `uptime` to check."),
            "uptime"
        );
    }

    #[test]
    fn multi_paragraph_prose() {
        let reply = "There are many ways to look at network traffic on a machine.\n\nIt depends on what exactly you want to see and which tools are installed.";
        assert_eq!(err(reply), ParseError::Ambiguous);
    }

    #[test]
    fn error_messages_are_one_sentence() {
        for e in [
            ParseError::Empty,
            ParseError::NoCommand,
            ParseError::Ambiguous,
            ParseError::Unfinished,
            ParseError::HiddenCharacters,
        ] {
            let msg = e.to_string();
            assert!(
                !msg.is_empty() && !msg.ends_with('.') && !msg.contains('\n'),
                "{msg}"
            );
        }
        assert_eq!(
            ParseError::Empty.to_string(),
            "the model gave an empty reply"
        );
    }

    // --- Chat tokens, misc ---------------------------------------------------

    #[test]
    fn chat_tokens_and_crlf() {
        assert_eq!(cmd("{\"cmd\": \"ls\"}<|im_end|>"), "ls");
        assert_eq!(cmd("```bash\r\nls -la\r\n```\r\n"), "ls -la");
    }

    #[test]
    fn strategy_serializes_as_snake_case() {
        assert_eq!(
            serde_json::to_string(&Strategy::FencedJson).unwrap(),
            "\"fenced_json\""
        );
        assert_eq!(Strategy::PromptLine.to_string(), "prompt_line");
        assert_eq!(Strategy::EmbeddedJson.to_string(), "embedded_json");
    }

    // --- Prefilled ------------------------------------------------------------

    #[test]
    fn prefilled_basic() {
        assert_eq!(pre("ls -la\"}"), "ls -la");
        assert_eq!(pre("ls -la\"} \n extra"), "ls -la");
        assert_eq!(pre("ls -la\"}\n\nThis lists files, \"quoted\"."), "ls -la");
    }

    #[test]
    fn prefilled_escapes() {
        assert_eq!(pre(r#"grep \"a b\" file"}"#), r#"grep "a b" file"#);
        assert_eq!(pre(r#"echo \u00e9"}"#), "echo é");
        assert_eq!(pre(r#"tr '\u0000' '\n'"}"#), r"tr '\0' '\n'");
        assert_eq!(pre(r#"echo \ud83d\ude00"}"#), "echo 😀");
        assert_eq!(pre(r#"find . -exec rm {} \\;"}"#), r"find . -exec rm {} \;");
        assert_eq!(
            pre(r#"awk -F'\t' '{print $1}' f.tsv"}"#),
            "awk -F'\t' '{print $1}' f.tsv"
        );
        assert_eq!(
            pre(r#"find . -name x \\\n  -delete"}"#),
            "find . -name x -delete"
        );
    }

    #[test]
    fn prefilled_raw_quotes_stay_in_the_command() {
        // The grammar lets a raw `"` through unless `}` follows it.
        assert_eq!(
            pre(r#"echo "http://example.com/a" | cut -d/ -f3"}"#),
            r#"echo "http://example.com/a" | cut -d/ -f3"#
        );
        assert_eq!(pre(r#"grep -r "foo" /srv"}"#), r#"grep -r "foo" /srv"#);
        assert_eq!(pre(r#"echo "a""#), r#"echo "a"#);
        assert_eq!(prefilled_end(r#"echo "a" b"}"#, true), Some(10));
        assert_eq!(prefilled_end(r#"echo "a""#, true), None);
        assert_eq!(prefilled_end(r#"echo \"}"#, true), None);
        assert_eq!(prefilled_end(r#"echo \\"}"#, true), Some(7));
    }

    #[test]
    fn prefilled_missing_close_quote() {
        assert_eq!(pre("ls -la  "), "ls -la");
        assert_eq!(pre("tar -xzf archive.tar.gz \\"), "tar -xzf archive.tar.gz");
        assert_eq!(pre(r"echo \u00"), r"echo \u00");
    }

    #[test]
    fn prefilled_empty_and_multi() {
        assert_eq!(parse_prefilled("\"}"), Err(ParseError::Empty));
        assert_eq!(parse_prefilled("   "), Err(ParseError::Empty));
        assert_eq!(
            parse_prefilled(r#"cd /tmp\nls"}"#),
            Err(ParseError::Ambiguous)
        );
    }

    // --- Property-ish ---------------------------------------------------------

    const REAL: &[&str] = &[
        "ls -la",
        "grep -r \"TODO\" .",
        "find . -name '*.txt' -exec rm {} \\;",
        "du -sh * | sort -h | tail -n 5",
        "tar -czvf backup.tar.gz ~/Documents",
        "ps aux | grep -v grep | grep nginx",
        "awk '{print $1}' access.log | sort | uniq -c | sort -rn | head",
        "sed -i 's/foo/bar/g' *.txt",
        "git log --oneline --graph --all",
        "find . -type f -mtime -1 -print0 | xargs -0 ls -l",
        "docker ps -a --format '{{.Names}}\\t{{.Status}}'",
        "echo \"$HOME\" && echo $PATH",
        "curl -s https://api.github.com/repos/rust-lang/rust | jq '.stargazers_count'",
        "kill -9 $(lsof -t -i:8080)",
        "for f in *.jpg; do mv \"$f\" \"${f%.jpg}.jpeg\"; done",
        "chmod +x ./deploy.sh && ./deploy.sh",
        "mkdir -p 'Données/été 2024'",
        "printf '%s\\n' \"a b\" c",
        "ls > files.txt 2>&1",
        "sudo apt-get install -y ripgrep",
    ];

    #[test]
    fn real_commands_round_trip_through_json_and_fences() {
        for c in REAL {
            let json = serde_json::json!({ "cmd": c }).to_string();
            let p = ok(&json);
            assert_eq!(&p.command, c, "json: {json}");
            assert_eq!(p.strategy, Strategy::Json);

            let fenced = format!("```bash\n{c}\n```");
            let p = ok(&fenced);
            assert_eq!(&p.command, c, "fence: {fenced}");
            assert_eq!(p.strategy, Strategy::FencedCode);

            // Prefilled: the JSON string body and what follows.
            let body = serde_json::to_string(c).unwrap();
            assert_eq!(&pre(&format!("{}}}", &body[1..])), c);
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            "{",
            "}",
            "{\"",
            "{\"cmd\"",
            "{\"cmd\":",
            "{\"cmd\": \"\\",
            "{\"cmd\": \"\\u12",
            "```",
            "``````",
            "`",
            "``",
            "$",
            "$ ",
            "# ",
            ">",
            "❯",
            "é",
            "\\",
            "<think>é",
            "</think>",
            "{'cmd': 'é",
            "{\"cmd\": \"\\ud83d\"}",
            "```é\né```é",
            "\u{feff}",
            "{\"a\":{\"b\":{\"c\":",
            "日本語のテキスト。",
            "—",
            "`é` or `ü`",
        ];
        for s in odd {
            let _ = parse_reply(s);
            let _ = parse_prefilled(s);
        }
        // Every prefix of a messy reply, cut at every char boundary.
        let messy = "<think>ok é</think>\nSure! 🙂 Here:\n```bash\nfind . -name 'é*' -exec rm {} \\;  # del\n```\n{\"cmd\": \"ls \\u00e9\"}";
        for (i, _) in messy.char_indices() {
            let _ = parse_reply(&messy[..i]);
            let _ = parse_prefilled(&messy[..i]);
        }
    }
}
