//! cmdai: plain words in, one shell command out, from a local model.
//!
//! The flow of one request: [`cli`] parses the words, [`commands::generate`]
//! finds the model ([`models`]), builds the prompt ([`prompt`]), runs it
//! ([`engine`]), parses the answer ([`parser`]) and judges it ([`safety`])
//! before [`output`] prints it.

pub mod answer;
pub mod backend;
pub mod choice;
pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod daemon;
pub mod duration;
pub mod engine;
pub mod error;
pub mod explain_prompt;
pub mod find_predicates;
pub mod folder;
pub mod hardware;
pub mod hex;
pub mod history;
pub mod knowledge;
pub mod memory;
pub mod models;
pub mod output;
pub mod parser;
pub mod paths;
pub mod placeholders;
pub mod prompt;
pub mod quality;
pub mod response_cache;
pub mod safety;
pub mod selfcheck;
pub mod settings;
pub mod store;
#[cfg(test)]
mod test_rng;
