//! The one reader of `tldr_common_linux.jsonl` (tldr-pages examples in the
//! evaluation data), shared by the safety tests, the safety bench and the
//! accuracy bench through `#[path]`, so they agree on where the file is and
//! which rows are ordinary shell commands.
//!
//! The data is read by tests and benches only; nothing of it goes into the
//! product.

use std::path::{Path, PathBuf};

/// The file's name in the evaluation data.
pub const FILE: &str = "tldr_common_linux.jsonl";

/// One ordinary row: a request and the command tldr-pages gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The description, as tldr-pages words it.
    pub nl: String,
    pub cmd: String,
    /// A second form of the same command, where the row has one.
    pub cmd2: Option<String>,
}

impl Row {
    /// `cmd`, then `cmd2` where there is one.
    pub fn commands(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.cmd.as_str()).chain(self.cmd2.as_deref())
    }
}

/// The evaluation data: `$CMDAI_EVAL_DIR`, else `../shared/eval` next to the
/// crate.
pub fn eval_dir() -> PathBuf {
    match std::env::var_os("CMDAI_EVAL_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/eval"),
    }
}

/// The rows of `path` that are plain shell commands: not interactive, not
/// keystrokes inside a program, not about tldr itself. Lines that are not
/// JSON objects with a `cmd` are skipped.
pub fn read(path: &Path) -> std::io::Result<Vec<Row>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().filter_map(ordinary_row).collect())
}

fn ordinary_row(line: &str) -> Option<Row> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let flag = |k: &str| v.get(k).and_then(|x| x.as_bool()).unwrap_or(false);
    if flag("interactive") || flag("keystroke") || flag("tldr_meta") {
        return None;
    }
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Some(Row {
        nl: text("nl").unwrap_or_default(),
        cmd: text("cmd")?,
        cmd2: text("cmd2"),
    })
}
