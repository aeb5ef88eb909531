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

mod cleanup;
mod parsed;
mod prefilled;
mod reply;
mod vocabulary;

#[cfg(test)]
mod tests;

pub use cleanup::is_hidden_char;
pub use parsed::{ParseError, Parsed, Strategy};
pub use prefilled::{parse_prefilled, prefilled_end};
pub use reply::parse_reply;
