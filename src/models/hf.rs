//! Hugging Face, the first place a model is fetched from: the file URL
//! (`{endpoint}/{repo}/resolve/{revision}/{file}`, `HF_ENDPOINT` honoured as
//! hf-hub does), the sha256 the hub publishes for it, and the download itself.
//!
//! We talk to the hub with our own ureq calls rather than through hf-hub
//! because the download must go into our `.part` file, resume with Range,
//! stop on Ctrl-C and share one progress bar and error type with the mirror.

use super::catalog::{is_sha256_hex, ModelSpec};
use super::http::{self, Client, FetchError, HashingFile};
use serde::Deserialize;

/// Default hub address.
pub(crate) const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// The hub to use: the per-call override, else `HF_ENDPOINT`, else huggingface.co.
pub(crate) fn endpoint(override_: Option<&str>) -> String {
    let from_env = std::env::var("HF_ENDPOINT").ok();
    let e = override_
        .map(str::to_string)
        .or(from_env)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    e.trim().trim_end_matches('/').to_string()
}

/// The access token: the per-call override, else `HF_TOKEN`, else the token
/// file `huggingface-cli login` writes (`$HF_HOME/token`, else
/// `~/.cache/huggingface/token`), read by hf-hub's own `Cache::token()`.
pub(crate) fn token(override_: Option<&str>) -> Option<String> {
    let from_env = std::env::var("HF_TOKEN").ok();
    token_from(override_, from_env.as_deref(), &hf_hub::Cache::from_env())
}

/// [`token`] with its sources given: blank values count as absent.
fn token_from(
    override_: Option<&str>,
    from_env: Option<&str>,
    cache: &hf_hub::Cache,
) -> Option<String> {
    override_
        .or(from_env)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| cache.token())
}

/// `{endpoint}/{repo}/resolve/{revision}/{file}`.
pub(crate) fn file_url(endpoint: &str, spec: &ModelSpec) -> String {
    format!(
        "{endpoint}/{}/resolve/{}/{}",
        spec.hf_repo, spec.revision, spec.file
    )
}

/// What the hub says about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Published {
    pub sha256: String,
    pub size: Option<u64>,
}

#[derive(Deserialize)]
struct RepoInfo {
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
    #[serde(default)]
    lfs: Option<Lfs>,
}

#[derive(Deserialize)]
struct Lfs {
    sha256: String,
    #[serde(default)]
    size: Option<u64>,
}

/// The sha256 the hub publishes for the file: the `x-linked-etag` header of
/// the (unfollowed) resolve redirect, else `siblings[].lfs.sha256` from
/// `/api/models/{repo}/revision/{rev}?blobs=true`. `Err` when the hub cannot
/// be reached or does not have the file.
pub(crate) fn published_sha256(
    client: &Client,
    endpoint: &str,
    spec: &ModelSpec,
    token: Option<&str>,
) -> Result<Published, String> {
    let url = file_url(endpoint, spec);
    let mut req = client.agent_no_redirect.head(&url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let resp = req
        .call()
        .map_err(|e| format!("{url}: {}", http::describe(&e)))?;
    let etag = resp
        .header("x-linked-etag")
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_ascii_lowercase()
        })
        .filter(|v| is_sha256_hex(v));
    if let Some(sha256) = etag {
        let size = resp
            .header("x-linked-size")
            .and_then(|v| v.trim().parse().ok());
        return Ok(Published { sha256, size });
    }
    let api = format!(
        "{endpoint}/api/models/{}/revision/{}?blobs=true",
        spec.hf_repo, spec.revision
    );
    let info: RepoInfo = http::get_json(client, &api, token)?;
    info.siblings
        .into_iter()
        .find(|s| s.rfilename == spec.file)
        .and_then(|s| s.lfs)
        .map(|l| Published {
            sha256: l.sha256.to_ascii_lowercase(),
            size: l.size,
        })
        .filter(|p| is_sha256_hex(&p.sha256))
        .ok_or_else(|| format!("{api}: no sha256 published for {}", spec.file))
}

/// Downloads (or resumes) the file into `out`.
pub(crate) fn fetch(
    client: &Client,
    endpoint: &str,
    spec: &ModelSpec,
    token: Option<&str>,
    out: &mut HashingFile,
    total: Option<u64>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), FetchError> {
    let url = file_url(endpoint, spec);
    http::download(client, &url, token, out, total, on_progress)
}

/// Where a copy of the model may already sit in the local Hugging Face cache
/// (`$HF_HOME/hub`, else `~/.cache/huggingface/hub`), put there by
/// `huggingface-cli` or another tool: the snapshot for `revision`, then the
/// one `main` points to. The caller checks the bytes before using them.
pub(crate) fn cached_copies(
    spec: &ModelSpec,
    hub: Option<&std::path::Path>,
) -> Vec<std::path::PathBuf> {
    use hf_hub::{Cache, Repo, RepoType};
    let cache = hub.map_or_else(Cache::from_env, |p| Cache::new(p.to_path_buf()));
    let mut found = Vec::new();
    for rev in [spec.revision.as_str(), "main"] {
        let repo = Repo::with_revision(spec.hf_repo.clone(), RepoType::Model, rev.to_string());
        // Refs name branches and tags; a pinned commit is a snapshot dir itself.
        let direct = cache
            .path()
            .join(repo.folder_name())
            .join("snapshots")
            .join(rev)
            .join(&spec.file);
        let by_ref = cache.repo(repo).get(&spec.file);
        for p in [by_ref, Some(direct)].into_iter().flatten() {
            if p.is_file() && !found.contains(&p) {
                found.push(p);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_order_override_env_then_login_file() {
        let home = tempfile::tempdir().unwrap();
        let cache = hf_hub::Cache::new(home.path().join("hub"));
        assert_eq!(token_from(None, None, &cache), None);
        std::fs::write(home.path().join("token"), "from-file\n").unwrap();
        assert_eq!(token_from(None, None, &cache).as_deref(), Some("from-file"));
        assert_eq!(
            token_from(None, Some(" "), &cache).as_deref(),
            Some("from-file")
        );
        assert_eq!(
            token_from(None, Some("env"), &cache).as_deref(),
            Some("env")
        );
        assert_eq!(
            token_from(Some("given"), Some("env"), &cache).as_deref(),
            Some("given")
        );
    }

    #[test]
    fn url_layout_and_endpoint_override() {
        let spec = ModelSpec {
            hf_repo: "Org/Repo-GGUF".into(),
            revision: "abc123".into(),
            file: "m.gguf".into(),
            ..Default::default()
        };
        assert_eq!(
            file_url(&endpoint(Some("http://127.0.0.1:9/")), &spec),
            "http://127.0.0.1:9/Org/Repo-GGUF/resolve/abc123/m.gguf"
        );
        assert_eq!(token(Some(" t ")), Some("t".to_string()));
    }
}
