//! Inference: turning a prompt into the model's answer.
//!
//! [`llama`] owns llama.cpp (model, context, the cached prompt prefix) and must
//! stay on one thread; [`worker`] puts it on its own thread and hands out a
//! `Send` handle that talks to it through channels. [`mock`] answers from an
//! environment variable and exists only for fast tests of the code around the
//! model (shell widgets, output formats); it is never proof that inference works.
//! [`openai`] sends the same prompt to a shared OpenAI-compatible server.

pub mod llama;
pub mod mock;
pub mod openai;
pub mod worker;

use crate::context::RequestContext;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One request to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    /// The user's words, already cleaned by [`crate::prompt::clean_request`].
    pub query: String,
    pub context: RequestContext,
    /// Commands already offered for this request; the model is asked for a
    /// different one (the widget's "press again for an alternative").
    #[serde(default)]
    pub avoid: Vec<String>,
    /// Why the previous answer for this request will not work (see
    /// [`crate::selfcheck`]); the model is asked for a corrected command.
    #[serde(default)]
    pub feedback: Option<String>,
}

/// The request turn's text: the user's words in their context, and the
/// commands already offered, which the model is asked not to repeat.
pub fn request_text(req: &GenerateRequest) -> String {
    let mut text = crate::prompt::user_turn(&req.context, &req.query);
    if !req.avoid.is_empty() {
        let list = req.avoid.join(" ; ");
        text.push_str(&format!(" (give a different command than: {list})"));
    }
    if let Some(why) = &req.feedback {
        text.push_str(&format!(" (note: {why}; give a corrected command)"));
    }
    text
}

/// Milliseconds spent in each phase of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub load: u64,
    pub prompt: u64,
    pub generate: u64,
    pub total: u64,
}

/// What the model produced for a request, before parsing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generation {
    /// Raw text. When `prefilled` is true this is the continuation after
    /// [`crate::prompt::ANSWER_PREFILL`]; otherwise a whole free-form reply.
    pub text: String,
    pub prefilled: bool,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub timings: Timings,
    /// The first answer failed the self-check and this is the second one.
    #[serde(default)]
    pub retried: bool,
}

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub model_path: PathBuf,
    pub threads: usize,
    /// Show llama.cpp's own log on stderr.
    pub verbose: bool,
    /// Identity of the model file (see `ResolvedModel::model_id`); part of the
    /// key of the saved prompt-prefix state.
    pub model_id: String,
    /// Where the prefilled prompt prefix is saved between runs; `None` disables it.
    pub state_dir: Option<PathBuf>,
    /// Map the weights (fast start, for short-lived processes) or read them
    /// (for the daemon: llama.cpp repacks most tensors, and with a mapping the
    /// original pages stay resident beside the repacked copy, ~0.6 GB more RSS).
    pub use_mmap: bool,
    /// Prompt-lookup speculative decoding: draft tokens verified per step
    /// (0 turns it off).
    pub speculate: usize,
}

/// Draft tokens per step for prompt-lookup speculation: `CMDAI_SPECULATE`,
/// else [`DEFAULT_SPECULATE`] (chosen by `cargo bench --bench latency`).
pub fn speculate_setting() -> usize {
    std::env::var("CMDAI_SPECULATE")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(DEFAULT_SPECULATE, |n: usize| n.min(8))
}

pub const DEFAULT_SPECULATE: usize = 0;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("the model file {path} could not be loaded (it may be corrupt or not a GGUF model); run `cmdai model verify` or delete it and run `cmdai model pull`")]
    Load { path: PathBuf },
    #[error("the model has no usable chat template and none could be applied: {0}")]
    Template(String),
    #[error("the request is too long for the model's context ({tokens} tokens, at most {max}); shorten it")]
    TooLong { tokens: usize, max: usize },
    #[error("inference failed: {0}")]
    Inference(String),
    /// A shared inference server failed; the message is a whole sentence.
    #[error("{0}")]
    Server(String),
    #[error("the request was cancelled")]
    Cancelled,
    #[error("the inference thread stopped unexpectedly")]
    WorkerGone,
}

/// Anything that can answer a [`GenerateRequest`].
pub trait Backend {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Generation, EngineError>;

    /// Explains `command` in plain words, handing each piece of text to
    /// `on_piece` as it is generated; the returned text is the whole of it.
    fn explain(
        &mut self,
        command: &str,
        cancel: &std::sync::atomic::AtomicBool,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        let _ = (command, cancel, on_piece);
        Err(EngineError::Inference(
            "this backend cannot explain commands".into(),
        ))
    }
}
