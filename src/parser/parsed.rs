//! What the parser gives back: the command and the strategy that found it,
//! or why there was none. Its own file so that every strategy file can use
//! these types without importing the module that ties them together.

use serde::{Deserialize, Serialize};
use std::fmt;

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

pub(super) type Found = Result<String, ParseError>;
