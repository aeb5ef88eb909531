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
//! # Layout
//!
//! - `prefilled`: the answer to our JSON-prefilled prompt (the local path).
//! - `reply`: free-form replies (remote backends, grammar off): fences,
//!   JSON objects in prose, prompt lines, plain lines, refusals.
//! - `cleanup`: what every command goes through once found: blocks of lines
//!   made one command, prompts, backticks, trailing comments and prose, a
//!   stray `}`, and the refusal of hidden characters.
//! - `words`: the small word lists and tests that tell a command from prose.

use std::fmt;

use serde::{Deserialize, Serialize};

mod cleanup;
mod prefilled;
mod reply;
mod words;

#[cfg(test)]
mod tests;

pub use cleanup::is_hidden_char;
pub use prefilled::{parse_prefilled, prefilled_end};
pub use reply::parse_reply;

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

type Found = Result<String, ParseError>;
