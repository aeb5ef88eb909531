//! Free-form replies: what a remote backend, or the local model with the
//! grammar off, writes when it is not held to the JSON answer.
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

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::cleanup::{
    block_command, clean_command, finish, logical_lines, prompt_rest, strip_stray_backticks,
    strip_wrapping_backticks, visible_only,
};
use super::parsed::{Found, ParseError, Parsed, Strategy};
use super::prefilled::decode_string_body;
use super::vocabulary::{is_known_command, is_program_name, looks_like_command, looks_like_prose};

/// Parses any reply text into one command; see the module docs for the order
/// in which strategies are tried.
pub fn parse_reply(reply: &str) -> Result<Parsed, ParseError> {
    parse_reply_text(reply).and_then(visible_only)
}

pub(super) fn parse_reply_text(reply: &str) -> Result<Parsed, ParseError> {
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

pub(super) fn parse_answer(answer: &str) -> Result<Parsed, ParseError> {
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

pub(super) fn normalize(reply: &str) -> String {
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
pub(super) fn strip_think(text: &str) -> (String, Option<String>) {
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

pub(super) fn is_shell_lang(lang: &str) -> bool {
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

/// The whole answer as JSON. `None` when it is not JSON at all, or when a
/// JSON value is followed by other text (the embedded strategy takes that).
pub(super) fn direct_json(text: &str) -> Option<Found> {
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
pub(super) fn json_block(body: &str) -> Option<Found> {
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
pub(super) fn embedded_json(text: &str) -> Option<Found> {
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

pub(super) fn command_from_value(value: &Value) -> Option<Found> {
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

pub(super) fn string_or_single(value: &Value) -> Found {
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
pub(super) fn lenient_object(text: &str, allow_unclosed: bool) -> Option<Found> {
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

pub(super) fn is_refusal(outside: &str) -> bool {
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
pub(super) fn prompt_paragraph(outside: &str) -> Option<Found> {
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

pub(super) fn plain(outside: &str) -> Result<Parsed, ParseError> {
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

pub(super) fn paragraphs(text: &str) -> usize {
    text.split("\n\n").filter(|p| !p.trim().is_empty()).count()
}

/// "Command: ls -la" / "Here is the command: ls -la" gives "ls -la".
pub(super) fn after_label(line: &str) -> Option<&str> {
    let (label, rest) = line.split_once(": ")?;
    let label_words = label.split_whitespace().count();
    let labelled = format!("{label}:");
    let rest = rest.trim();
    (label_words <= 8 && looks_like_prose(&labelled) && looks_like_command(rest)).then_some(rest)
}

pub(super) fn strip_bullet(line: &str) -> &str {
    static BULLET: OnceLock<Regex> = OnceLock::new();
    let bullet =
        BULLET.get_or_init(|| Regex::new(r"^(?:[-*+•]|\d{1,2}[.)])\s+").expect("valid regex"));
    let t = line.trim();
    match bullet.find(t) {
        Some(m) => &t[m.end()..],
        None => t,
    }
}

pub(super) fn inline_spans(text: &str) -> Vec<&str> {
    static SPAN: OnceLock<Regex> = OnceLock::new();
    let span = SPAN.get_or_init(|| Regex::new(r"``([^`\n]+?)``|`([^`\n]+)`").expect("valid regex"));
    span.captures_iter(text)
        .filter_map(|c| c.get(1).or_else(|| c.get(2)))
        .map(|m| m.as_str().trim())
        .collect()
}

/// An inline code span that reads as a whole command, not a flag or a path.
pub(super) fn span_is_command(span: &str) -> bool {
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
