//! cmdai: plain words in, one shell command out, from a local model.
//!
//! How one request (`cmdai find big files`) travels:
//! 1. [`commands`] parses the command line (`cli.rs`) and resolves the
//!    run's settings once (`commands/settings.rs`: flag, then `CMDAI_*`
//!    variable, then config.toml (`config.rs`), then the machine or the
//!    default, each setting declared once in [`settings`]) into one
//!    [`settings::Settings`]. Nothing below `commands` reads the command
//!    line or the config file.
//! 2. `commands/generate.rs` hands the words and the settings to the
//!    request pipeline, [`pipeline`], whose `mod.rs` lists its stages in
//!    order: build the request (the folder, knowledge-base examples, what
//!    the user ran before), answer it (memory, the response cache, else a
//!    model along the one route [`pipeline::reach::route`] picks: the
//!    daemon, else the engine in this process ([`engine`], the model found
//!    by `models`), or a shared server; the self-check's one retry), fill
//!    the model's stand-ins. The model's text is read by [`parser`].
//! 3. Back in `commands/generate.rs`, the command is judged ([`safety`]),
//!    recorded (`pipeline::history`) and printed (`output.rs`). A failure
//!    anywhere is a domain error that keeps its cause; `commands/errors.rs`
//!    turns it into the one sentence and exit code the user sees
//!    (`error.rs`).
//!
//! Leaves used by many: [`context`] (where a request is asked),
//! [`paths`], [`hardware`], [`hex`], `store.rs` (the JSON Lines files),
//! `daemon/` (the resident model). Modules the tests and benchmarks use
//! are `pub`; the rest are `pub(crate)`, so the compiler points at dead
//! code.
//!
//! Names: "backend" is only the user's word (the `backend` setting,
//! `CMDAI_BACKEND`, the JSON output's `backend` field). Inside, the thing
//! that turns a request into text is an [`engine::Engine`] (llama.cpp, the
//! shared server, the mock); which kind the setting picks is a
//! [`settings::EngineKind`]; the module that reaches it (daemon, else this
//! process) is [`pipeline::reach`]; what answered a request is the
//! answer's `served_by`. Only the engine's method is `generate`; around it
//! are [`pipeline::choice::with_self_check`], `reach::ask_local_model`,
//! `reach::ask_server`, `Worker::submit_and_wait` and the daemon client's
//! `ask_for_command`.

pub(crate) mod cli;
pub mod commands;
pub(crate) mod config;
pub mod context;
pub(crate) mod daemon;
pub(crate) mod duration;
pub mod engine;
pub(crate) mod error;
pub(crate) mod find_predicates;
pub mod hardware;
pub mod hex;
pub(crate) mod models;
pub(crate) mod output;
pub mod parser;
pub mod paths;
pub mod pipeline;
pub mod safety;
pub mod settings;
pub(crate) mod store;
#[cfg(test)]
mod test_rng;
