//! Parsing the model's answer to our JSON-prefilled prompt.
//!
//! On the local path the prompt ends with `{"cmd": "` and a grammar keeps the
//! model inside a JSON string, so all that is left to do is find where that
//! string ends and unescape it. This is the path almost every request takes,
//! so it stays small and separate from the free-form reply parser.

use super::cleanup::{finish, visible_only, without_stray_close_braces};
use super::parsed::{ParseError, Parsed, Strategy};

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

/// Where the JSON string of a pre-filled answer ends: the byte index of the
/// first unescaped `"` that is followed by `}`. Any other raw `"` belongs to
/// the command (see [`crate::pipeline::prompt::COMMAND_GRAMMAR`]). `strict` is the
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

/// Decodes a JSON-ish string body up to the first unescaped `quote`. Returns
/// the text and whether the closing quote was there. Unknown escapes (`\;`,
/// `\.`) are kept as written; a dangling backslash at the end is dropped.
pub(super) fn decode_string_body(body: &str, quote: char) -> (String, bool) {
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
