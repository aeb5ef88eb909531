//! The request pipeline: the stages one request (`cmdai find big files`)
//! passes through between its settings ([`crate::settings::Settings`],
//! resolved in `commands/`) and the printed command, in order:
//!
//! [`answer::answer_query`] runs the first two stages in one call:
//!
//! 1. **Ask:** `answer::build_request` cleans the words ([`prompt`]) and
//!    adds what the folder holds ([`folder`]), knowledge-base examples
//!    ([`knowledge`], as many as the [`quality`] asks for) and the closest
//!    thing this user ran before ([`memory`]).
//! 2. **Answer:** the command memory has for the same words, else
//!    [`reach::command_for`]: from the [`response_cache`], else from a model
//!    along the route [`reach`] picks (the daemon, else this process; or a
//!    shared server), with the system prompt of [`prompt`]
//!    ([`explain_prompt`] for explanations) and the self-check's one retry
//!    ([`choice`], [`selfcheck`]).
//! 3. **Fill:** the model's stand-ins (`<branch-name>`) are filled from the
//!    folder or pointed out ([`placeholders`]).
//! 4. **Record:** after the safety check (`crate::safety`, outside the
//!    pipeline), the request and its command go to [`history`].
//!
//! `commands/generate.rs` runs the stages in this order and prints the
//! result (`crate::output`). Modules the tests and benchmarks use are
//! `pub`; the rest are for this crate only.

pub(crate) mod answer;
pub mod choice;
pub(crate) mod explain_prompt;
pub mod folder;
pub mod history;
pub mod knowledge;
pub mod memory;
pub mod placeholders;
pub mod prompt;
pub mod quality;
pub mod reach;
pub(crate) mod response_cache;
pub mod selfcheck;
