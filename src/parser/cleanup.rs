//! Normalising a command once it has been found, whichever way it was found.
//!
//! A model glues things to a command: a `$ ` prompt, backticks, a comment, an
//! explanation, a `}` that closes the JSON one brace early. This module takes
//! them off without rewriting the command itself, and refuses a command a
//! terminal would show differently from what runs.
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

use std::sync::OnceLock;

use regex::Regex;

use super::parsed::{Found, ParseError, Parsed, Strategy};
use super::vocabulary::{looks_like_command, looks_like_prose};

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
pub(super) fn visible_only(p: Parsed) -> Result<Parsed, ParseError> {
    if p.command.chars().any(is_hidden_char) {
        Err(ParseError::HiddenCharacters)
    } else {
        Ok(p)
    }
}

/// `body` without a `}` glued to its end that closes nothing.
///
/// The answer ends with `"}`, and the grammar lets `}` appear in a command
/// (`${x}`, `{} +`, `awk '{…}'`), so a small model sometimes closes the JSON
/// one brace early: `echo 'hello world'}` then `"}`. bash parses the result
/// (`}` is an ordinary word there), so the self-check cannot catch it. A
/// closing brace glued to the last word, with more `}` than `{` in the whole
/// command, is that slip; a lone `}` word (`{ a; }`) is left alone.
pub(super) fn without_stray_close_braces(body: &str) -> &str {
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

/// Runs an extracted command through the block rules and the clean-up.
pub(super) fn finish(
    found: Found,
    strategy: Strategy,
    from_json: bool,
) -> Result<Parsed, ParseError> {
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

/// Undoes what strict JSON decoding did to a naive model's `\b`, `\f`, `\r`
/// (control characters) and to `\n` inside shell quotes (a real newline).
pub(super) fn repair_json_controls(cmd: &str) -> String {
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

/// The one command in a block of lines. `None` when the block holds no command
/// (blank, comments only), `Ambiguous` when it holds several.
pub(super) fn block_command(body: &str, force_prompt: bool) -> Option<Found> {
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
pub(super) fn logical_lines(lines: &[&str], prompt_mode: bool) -> Vec<String> {
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
pub(super) fn compound_depth(mut depth: u32, line: &str) -> u32 {
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

pub(super) fn ends_with_odd_backslash(s: &str) -> bool {
    s.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// The text after a shell prompt, if the line starts with one that is never
/// anything else: `$ `, `❯ `, `➜ `, `% `, `user@host:~/dir$ `.
pub(super) fn prompt_rest(line: &str) -> Option<&str> {
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
pub(super) fn strip_root_prompt(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?.trim_start();
    let words: Vec<&str> = rest.split_whitespace().collect();
    let wordy = words.len() >= 4
        && words
            .iter()
            .all(|w| w.chars().all(|c| c.is_alphabetic() && c.is_lowercase()));
    (looks_like_command(rest) && !wordy).then_some(rest)
}

pub(super) fn clean_command(raw: &str) -> Found {
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
pub(super) fn strip_wrapping_backticks(s: &str) -> &str {
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
pub(super) fn strip_stray_backticks(s: &str) -> &str {
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
pub(super) fn strip_trailing_comment(s: &str) -> &str {
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
pub(super) fn strip_trailing_prose(s: &str) -> &str {
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
pub(super) fn is_explanation(tail: &str, sentence: bool) -> bool {
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
pub(super) fn unquoted_find(s: &str, needle: &str) -> Option<usize> {
    unquoted_matches(s, needle).into_iter().next()
}

/// Byte offsets of every `needle` outside shell quotes.
pub(super) fn unquoted_matches(s: &str, needle: &str) -> Vec<usize> {
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
