//! Inference: turning a prompt into the model's answer.
//!
//! [`llama`] owns llama.cpp (model, context, the cached prompt prefix) and must
//! stay on one thread; [`worker`] puts it on its own thread and hands out a
//! `Send` handle that talks to it through channels. `mock` answers from an
//! environment variable and exists only for fast tests of the code around the
//! model (shell widgets, output formats), in builds with the cargo feature
//! `mock` (test builds); it is never proof that inference works.
//! [`openai`] sends the same prompt to a shared OpenAI-compatible server.

pub mod llama;
#[cfg(feature = "mock")]
pub(crate) mod mock;
pub(crate) mod openai;
pub(crate) mod runaway;
pub(crate) mod worker;

use crate::context::RequestContext;
pub use crate::pipeline::prompt::Example;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One request to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    /// The user's words, already cleaned by [`crate::pipeline::prompt::clean_request`].
    pub query: String,
    pub context: RequestContext,
    /// Commands already offered for this request; the model is asked for a
    /// different one (the widget's "press again for an alternative").
    #[serde(default)]
    pub avoid: Vec<String>,
    /// Why the previous answer for this request will not work (see
    /// [`crate::pipeline::selfcheck`]); the model is asked for a corrected command.
    #[serde(default)]
    pub feedback: Option<String>,
    /// How many answers to write for this request (see [`Search`]).
    #[serde(default)]
    pub search: Search,
    /// Example turns shown just before the request: close tasks from the
    /// knowledge base ([`crate::pipeline::knowledge`]), most relevant last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Example>,
    /// Milliseconds this request may take; past them the engine gives up
    /// with [`EngineError::OutOfTime`] (the self-check's retry has what is
    /// left of a request's time budget, see [`crate::pipeline::selfcheck`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

impl GenerateRequest {
    /// `query` in `context` and nothing else: no commands to avoid, no
    /// feedback, the default search, no examples, no deadline. What tests
    /// and benches start from (a request cmdai answers is built in full by
    /// [`crate::pipeline::answer::answer_query`]).
    pub fn plain(query: impl Into<String>, context: RequestContext) -> GenerateRequest {
        GenerateRequest {
            query: query.into(),
            context,
            avoid: Vec::new(),
            feedback: None,
            search: Search::default(),
            examples: Vec::new(),
            deadline_ms: None,
        }
    }
}

/// How the engine searches for answers to one request: always the greedy
/// answer, plus up to `branches` alternatives forked where the greedy path
/// was unsure (its best two tokens within `margin` nats of each other), and
/// `samples` answers drawn at `temperature`. All of them share the cached
/// prompt prefix and the request's own tokens, and are decoded together, one
/// batch per step. The default writes the greedy answer alone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Search {
    #[serde(default)]
    pub branches: usize,
    #[serde(default)]
    pub margin: f32,
    #[serde(default)]
    pub samples: usize,
    #[serde(default)]
    pub temperature: f32,
}

impl Default for Search {
    fn default() -> Self {
        Search::GREEDY
    }
}

impl Search {
    /// The greedy answer alone.
    pub const GREEDY: Search = Search {
        branches: 0,
        margin: 0.0,
        samples: 0,
        temperature: 0.0,
    };
    /// Answers written at most, the greedy one included.
    pub const MAX_ANSWERS: usize = 6;

    /// How many sequences this search may use, the greedy one included.
    pub fn answers(&self) -> usize {
        (1 + self.branches + self.samples).min(Self::MAX_ANSWERS)
    }
}

/// One answer the model wrote for a request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Raw text, like [`Generation::text`].
    pub text: String,
    /// The model's own log-likelihood of the answer's tokens (natural log,
    /// unconstrained distribution).
    pub logprob: f32,
    pub tokens: usize,
    /// Stopped because it started repeating itself ([`runaway`]).
    #[serde(default)]
    pub runaway: bool,
    /// How it was written: "greedy", "branch" or "sample".
    pub origin: String,
    /// For a branch: how far (in nats) its first own token was behind the
    /// greedy choice, and at which token it forked.
    #[serde(default)]
    pub gap: f32,
    #[serde(default)]
    pub forked_at: usize,
}

/// The request turn's text: the user's words in their context, and the
/// commands already offered, which the model is asked not to repeat.
pub fn request_text(req: &GenerateRequest) -> String {
    let mut text = crate::pipeline::prompt::user_turn(&req.context, &req.query);
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Generation {
    /// Raw text. When `prefilled` is true this is the continuation after
    /// [`crate::pipeline::prompt::ANSWER_PREFILL`]; otherwise a whole free-form reply.
    pub text: String,
    pub prefilled: bool,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub timings: Timings,
    /// The first answer failed the self-check and this is the second one.
    #[serde(default)]
    pub retried: bool,
    /// Every answer written when the request searched for more than one
    /// ([`Search`]); the first is the greedy one, whose text is `text`.
    /// Empty for backends that write one answer.
    #[serde(default)]
    pub candidates: Vec<Candidate>,
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
}

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
    #[error("the answer took longer than the time it had")]
    OutOfTime,
    #[error("the inference thread stopped unexpectedly")]
    WorkerGone,
    /// The daemon stopped after part of a streamed answer was shown, so it
    /// is not started over in this process (that would repeat it); the
    /// message is a whole sentence.
    #[error("{0}")]
    StoppedMidway(String),
}

/// Anything that can answer a [`GenerateRequest`].
pub trait Engine {
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
