//! cmdai's integration tests: one binary, modules by feature.

mod util;

mod config;
mod context;
mod daemon;
mod docs;
mod errors;
mod explain;
mod faults;
mod generate;
mod install;
mod layers;
mod memory;
mod openai;
mod pipes;
mod safety;
mod shells;
