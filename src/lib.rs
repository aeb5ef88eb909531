//! cmdai: plain words in, one shell command out, from a local model.
//!
//! How one request (`cmdai find big files`) travels:
//! 1. [`commands`] parses the command line ([`cli`]) and resolves the run's
//!    settings once (`commands/settings.rs`: flag, then `CMDAI_*` variable,
//!    then config.toml ([`config`]), then the machine or the default, each
//!    setting declared once in [`settings`]) into one
//!    [`settings::Settings`]. Nothing below `commands` reads the command
//!    line or the config file.
//! 2. [`commands::generate`] hands the words and the settings to
//!    [`answer`], which builds the request ([`answer::build_request`]: what
//!    the folder holds ([`folder`]), knowledge-base examples ([`knowledge`],
//!    as many as the [`quality`] asks for) and what the user ran before
//!    ([`memory`])) and gets the command: from memory, else along the one
//!    route to a model that [`reach::route`] picks (the local model
//!    ([`models`]): the response cache ([`response_cache`]), then the
//!    daemon ([`daemon`]), else the engine in this process ([`engine`],
//!    prompt by [`prompt`]); or a shared server; or the test mock), with
//!    the self-check's one retry ([`choice`], [`selfcheck`]). The model's
//!    text is read by [`parser`].
//! 3. Back in [`commands::generate`], the model's stand-ins are filled
//!    from the folder ([`placeholders`]), the command is judged
//!    ([`safety`]), recorded ([`history`]) and printed ([`output`]).
//!
//! Names: "backend" is only the user's word (the `backend` setting,
//! `CMDAI_BACKEND`, the JSON output's `backend` field). Inside, the thing
//! that turns a request into text is an [`engine::Engine`] (llama.cpp, the
//! shared server, the mock); which kind the setting picks is a
//! [`settings::EngineKind`]; the module that reaches it (daemon, else this
//! process) is [`reach`]; what answered a request is
//! [`answer::Answer::served_by`]. Only the engine's method is `generate`;
//! around it are [`choice::with_self_check`], [`reach::ask_local_model`],
//! [`reach::ask_server`], `Worker::submit_and_wait` and the daemon
//! client's `ask_for_command`.

pub mod answer;
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
pub mod reach;
pub mod response_cache;
pub mod safety;
pub mod selfcheck;
pub mod settings;
pub mod store;
#[cfg(test)]
mod test_rng;
