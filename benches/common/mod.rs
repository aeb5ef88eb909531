//! What the benchmarks share: where the real model is.

use std::path::PathBuf;

pub const MODEL_FILE: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";

/// The real default model: `CMDAI_TEST_MODEL`, else the one `cmdai model pull`
/// put in cmdai's cache dir.
pub fn real_model() -> PathBuf {
    if let Some(p) = std::env::var_os("CMDAI_TEST_MODEL") {
        return PathBuf::from(p);
    }
    let p = cmdai::paths::cache_dir().join("models").join(MODEL_FILE);
    assert!(
        p.is_file(),
        "no model at {}; run `cargo run -- model pull`",
        p.display()
    );
    p
}
