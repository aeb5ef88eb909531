//! A stand-in backend for fast tests of everything around the model.
//!
//! Compiled only with the cargo feature `mock` (test builds turn it on through
//! the crate's self dev-dependency) and selected only with
//! `CMDAI_BACKEND=mock`; it replies with the text in
//! `CMDAI_MOCK_REPLY` (a free-form reply, parsed like any remote model's) after
//! `CMDAI_MOCK_DELAY_MS`. Tests that claim inference works never use it.

use super::{Engine, EngineError, GenerateRequest, Generation, Timings};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct MockEngine;

impl Engine for MockEngine {
    fn generate(
        &mut self,
        _req: &GenerateRequest,
        cancel: &AtomicBool,
    ) -> Result<Generation, EngineError> {
        let start = Instant::now();
        let delay = crate::settings::MOCK_DELAY_MS.env().unwrap_or(0);
        let deadline = start + Duration::from_millis(delay as u64);
        while Instant::now() < deadline {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = crate::settings::MOCK_REPLY.env().unwrap_or_default();
        Ok(mock_generation(text, start))
    }

    /// Streams `CMDAI_MOCK_EXPLAIN` word by word.
    fn explain(
        &mut self,
        _command: &str,
        cancel: &AtomicBool,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        let start = Instant::now();
        let text = crate::settings::MOCK_EXPLAIN.env().unwrap_or_default();
        for piece in text.split_inclusive(' ') {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            on_piece(piece);
        }
        Ok(mock_generation(text, start))
    }
}

fn mock_generation(text: String, start: Instant) -> Generation {
    let ms = start.elapsed().as_millis() as u64;
    Generation {
        text,
        prefilled: false,
        retried: false,
        prompt_tokens: 0,
        generated_tokens: 0,
        timings: Timings {
            load: 0,
            prompt: 0,
            generate: ms,
            total: ms,
        },
        candidates: Vec::new(),
    }
}
