//! What the folder a request is asked in holds: the facts on disk that the
//! model needs to get the nouns right ("run the tests" in a Go module is
//! `go test ./...`; "unpack this" next to `site-2023.tgz` names that file).
//!
//! [`Snapshot::read`] looks at one folder, bounded in time and size: at most
//! [`MAX_ENTRIES`] directory entries, no recursion, no file contents except
//! the names of scripts and targets in a few manifests (each read capped at
//! [`MAX_MANIFEST_BYTES`]), and the git state from `.git` itself (branch,
//! remotes) plus `git status` only when a request is about git.
//! [`Snapshot::render`] then keeps what the request is about (project kind
//! for "build", the branch for "push", the logs for "the logs") and writes
//! it in as few tokens as it can, as lines before the request words (see
//! [`crate::pipeline::prompt`]). Nothing is stored or sent anywhere else; the client
//! reads it, not the daemon.
//!
//! Names are data: a name with a control character or one that is not
//! UTF-8 is never shown, a long one is skipped, and every name that a shell
//! would read differently is shown quoted, exactly as a command must write it.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Directory entries read at most (the rest are counted as "more").
pub const MAX_ENTRIES: usize = 400;
/// Bytes read at most from one manifest (package.json, Makefile, ...).
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;
/// Longest name shown; longer ones are skipped (a 255-byte name is noise
/// in a prompt and costs a hundred tokens).
const MAX_NAME_CHARS: usize = 64;
/// Names of one kind shown at most; the rest are counted.
const MAX_LISTED: usize = 6;
/// Script or target names shown at most per project.
const MAX_SCRIPTS: usize = 8;
/// Parent folders searched for a project root when the folder itself has
/// no marker.
const MAX_PARENTS: usize = 4;
/// How long `git status` may take before the snapshot goes on without it.
const GIT_STATUS_BUDGET: Duration = Duration::from_millis(40);

/// One entry of the folder.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub dir: bool,
    pub executable: bool,
}

/// A kind of project found by its marker file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Project {
    /// What it is, as the model should read it ("Rust crate").
    pub kind: &'static str,
    /// The file that says so (`Cargo.toml`).
    pub marker: String,
    /// The tool that drives it (`cargo`, `pnpm`, `uv`...).
    pub tool: &'static str,
    /// Where the marker is, relative to the folder (`.`, `..`).
    pub at: String,
    /// Script, target or service names from the manifest.
    pub scripts: Vec<String>,
}

/// The git state, when the folder is inside a repository.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Git {
    /// The checked-out branch; `None` when HEAD is detached.
    pub branch: Option<String>,
    /// The commit HEAD points at when detached (short).
    pub detached_at: Option<String>,
    /// The remote a push goes to: the branch's upstream, else `origin`,
    /// else the first one configured.
    pub remote: Option<String>,
    /// Changed (modified, added, deleted or untracked) files, when `git
    /// status` was asked for and answered in time.
    pub changed: Option<usize>,
    /// Their names when there are few.
    pub changed_files: Vec<String>,
}

/// What one folder holds, as far as a request needs it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Snapshot {
    /// Entries read (at most [`MAX_ENTRIES`]), sorted by name.
    pub entries: Vec<Entry>,
    /// The folder had more entries than were read.
    pub more: bool,
    /// Names left out because they hold control characters, are not
    /// UTF-8 or are too long.
    pub hidden_names: usize,
    pub projects: Vec<Project>,
    pub git: Option<Git>,
    /// Why the folder could not be read, when it could not.
    pub unreadable: Option<String>,
    /// Microseconds the snapshot took.
    pub read_us: u64,
}

impl Snapshot {
    /// Reads `dir` for `request`: the request decides whether `git status`
    /// runs (only when it is about git). Never fails: what cannot be read is
    /// left out and said in [`Snapshot::unreadable`].
    pub fn read(dir: &Path, request: &str) -> Snapshot {
        let started = Instant::now();
        let wants = Wants::of(request);
        let mut snap = Snapshot::default();
        // `git status` runs beside the directory walk.
        let status = wants.git.then(|| GitStatus::start(dir)).flatten();
        // Whether a file is executable costs a `stat` each (milliseconds in a
        // large folder): asked only when the request is about scripts.
        let wants_exec = wants.kinds.contains(&"script");
        match std::fs::read_dir(dir) {
            Ok(rd) => {
                for item in rd {
                    if snap.entries.len() + snap.hidden_names >= MAX_ENTRIES {
                        snap.more = true;
                        break;
                    }
                    let Ok(item) = item else { continue };
                    match shown_name(item.file_name().as_encoded_bytes()) {
                        Some(name) => {
                            let ft = item.file_type().ok();
                            let dir = ft.is_some_and(|t| t.is_dir());
                            snap.entries.push(Entry {
                                executable: wants_exec && !dir && is_executable(&item),
                                name,
                                dir,
                            });
                        }
                        None => snap.hidden_names += 1,
                    }
                }
                snap.entries.sort_by(|a, b| a.name.cmp(&b.name));
            }
            Err(e) => snap.unreadable = Some(unreadable_reason(&e)),
        }
        snap.projects = projects(dir, &snap.entries);
        snap.git = git_state(dir, status);
        snap.read_us = started.elapsed().as_micros() as u64;
        snap
    }

    /// What [`Snapshot::render`] shows for `request`, with the facts that
    /// may fill placeholders in the answer.
    pub fn use_for(&self, request: &str) -> FolderUse {
        let (lines, listed) = self.parts(request);
        FolderUse {
            on: true,
            lines,
            read_ms: self.read_us as f64 / 1000.0,
            note: self.unreadable.clone(),
            facts: Facts {
                branch: self.git.as_ref().and_then(|g| g.branch.clone()),
                remote: self.git.as_ref().and_then(|g| g.remote.clone()),
                listed,
                written: self
                    .entries
                    .iter()
                    .filter(|e| !e.dir && named_in(request, &e.name))
                    .map(|e| e.name.clone())
                    .collect(),
                names: self.entries.iter().map(|e| e.name.clone()).collect(),
            },
        }
    }

    /// The lines the model sees before the request words: only what the
    /// request is about, fewest tokens first. Empty when nothing is.
    pub fn render(&self, request: &str) -> Vec<String> {
        self.parts(request).0
    }

    /// The lines, and the file names they list.
    fn parts(&self, request: &str) -> (Vec<String>, Vec<String>) {
        let wants = Wants::of(request);
        let mut lines = Vec::new();
        let words = request_words(request);
        if wants.project
            || self
                .projects
                .iter()
                .any(|p| names_a_script(&words, &p.scripts))
        {
            for p in self.projects.iter().take(3) {
                lines.push(project_line(p));
            }
        }
        if wants.git {
            if let Some(g) = &self.git {
                lines.push(git_line(g));
            }
        }
        let nothing_yet = lines.is_empty();
        let mut listed = Vec::new();
        let mut shown = Vec::new();
        for (by_kind, hits) in self.file_hits(request, &wants, nothing_yet) {
            shown.extend(listing(&hits, self.more && by_kind));
            listed.extend(hits.iter().map(|e| e.name.clone()));
        }
        // One line, one label: kind names as labels ("images:") were taken
        // for folders by the model (`images/*.jpeg`).
        if !shown.is_empty() {
            lines.push(format!("files here: {}", shown.join(" ")));
        }
        (lines, listed)
    }

    /// The entries the request is about, in groups (each with whether it is
    /// a kind, which a folder read only in part may hold more of): kinds it
    /// names ("the logs"), names it mentions in part ("the deploy script"),
    /// and, for "this" in a folder of a few files, all of them.
    fn file_hits(
        &self,
        request: &str,
        wants: &Wants,
        nothing_else: bool,
    ) -> Vec<(bool, Vec<&Entry>)> {
        let words = request_words(request);
        let exts = named_extensions(request);
        let mut groups: Vec<(bool, Vec<&Entry>)> = Vec::new();
        let mut shown: Vec<&str> = Vec::new();
        // The files here the request writes out by name.
        let written: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| named_in(request, &e.name))
            .collect();
        // File names written out, whether or not they are here
        // ("extract archive.tar.gz" asked beside release-1.2.tgz).
        let spelled: Vec<Entry> = written_file_names(request)
            .map(|name| Entry {
                name: name.to_string(),
                dir: false,
                executable: false,
            })
            .collect();
        for kind in KINDS.iter().filter(|k| wants.kinds.contains(&k.name)) {
            // "make the script build.sh executable": the request says which
            // script; listing the others (build-old.sh) only offers the
            // model a wrong one. The same when the named file is not here:
            // the model took the other one instead (`tar -xzf
            // release-1.2.tgz` for "extract archive.tar.gz").
            if written.iter().any(|e| (kind.matches)(e)) || spelled.iter().any(kind.matches) {
                continue;
            }
            let hits: Vec<&Entry> = self
                .entries
                .iter()
                .filter(|e| (kind.matches)(e) && !named_in(request, &e.name))
                .collect();
            // "every .jpeg file": the request says which files; their kind's
            // other files (a .png beside them) would only be taken along.
            let said = |e: &&Entry| exts.iter().any(|x| e.name.to_lowercase().ends_with(x));
            if hits.is_empty() || hits.iter().any(said) {
                continue;
            }
            // "the text of the pdf": a kind word that is an extension
            // ("pdf", "csv", "zip") means files of that extension, not the
            // kind's others (notes.txt beside the pdf became the output file
            // of `pdftotext`, on held4's one run).
            let of_ext: Vec<&Entry> = hits
                .iter()
                .copied()
                .filter(|e| {
                    let n = e.name.to_lowercase();
                    words
                        .iter()
                        .any(|w| kind.words.contains(&w.as_str()) && n.ends_with(&format!(".{w}")))
                })
                .collect();
            let hits = if of_ext.is_empty() { hits } else { of_ext };
            // "my notes" among documents: the one named so, not every
            // document (the model counted the words of todo.txt too).
            let named: Vec<&Entry> = hits
                .iter()
                .copied()
                .filter(|e| stem_matches(&words, &e.name))
                .collect();
            let hits = if named.is_empty() { hits } else { named };
            shown.extend(hits.iter().map(|e| e.name.as_str()));
            groups.push((true, hits));
        }
        // A request that names a file here exactly means that one, not
        // others that share a part of its name (names.txt, not names-old.txt).
        let names_one = !written.is_empty();
        let by_stem: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| !names_one && !shown.contains(&e.name.as_str()))
            .filter(|e| stem_matches(&words, &e.name))
            .collect();
        if !by_stem.is_empty() {
            groups.push((false, by_stem));
        }
        if nothing_else && groups.is_empty() && exts.is_empty() && wants.deictic && !self.more {
            let files: Vec<&Entry> = self.entries.iter().filter(|e| !hidden(e)).collect();
            if !files.is_empty() && files.len() <= 4 {
                groups.push((false, files));
            }
        }
        groups
    }
}

/// A name as it may be shown: valid UTF-8, no control characters, not too
/// long; quoted when a shell would read it otherwise.
fn shown_name(raw: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(raw).ok()?;
    if name
        .chars()
        .any(|c| c.is_control() || crate::parser::is_hidden_char(c))
        || name.chars().count() > MAX_NAME_CHARS
    {
        return None;
    }
    Some(name.to_string())
}

/// A name written as a shell word: as it is when plain, else quoted.
pub fn shell_word(name: &str) -> String {
    shell_words::quote(name).into_owned()
}

fn is_executable(item: &std::fs::DirEntry) -> bool {
    use std::os::unix::fs::PermissionsExt;
    item.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn unreadable_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "the folder no longer exists".into(),
        std::io::ErrorKind::PermissionDenied => "the folder is not readable".into(),
        _ => format!("the folder could not be read ({e})"),
    }
}

fn hidden(e: &Entry) -> bool {
    e.name.starts_with('.')
}

/// Whether the request already writes this name out, as a word of its own
/// (then listing it adds nothing).
fn named_in(request: &str, name: &str) -> bool {
    let is_name_char = |c: char| c.is_alphanumeric() || "._-+@".contains(c);
    request.match_indices(name).any(|(i, _)| {
        let before = request[..i].chars().next_back();
        let after = request[i + name.len()..].chars().next();
        !before.is_some_and(is_name_char) && !after.is_some_and(|c| is_name_char(c) && c != '.')
    })
}

/// Names as shell words, at most [`MAX_LISTED`], then `and 208 more` (or
/// `and more` when the folder was read only in part).
fn listing(hits: &[&Entry], folder_cut: bool) -> Vec<String> {
    let mut names: Vec<String> = hits
        .iter()
        .take(MAX_LISTED)
        .map(|e| {
            let w = shell_word(&e.name);
            if e.dir {
                format!("{w}/")
            } else {
                w
            }
        })
        .collect();
    let rest = hits.len().saturating_sub(MAX_LISTED);
    if folder_cut {
        names.push("and more".to_string());
    } else if rest > 0 {
        names.push(format!("and {rest} more"));
    }
    names
}

/// `project: Rust crate (Cargo.toml, cargo)` or, for a manifest with
/// scripts, `project: Node.js (package.json, pnpm; scripts: build test)`.
fn project_line(p: &Project) -> String {
    let at = if p.at == "." {
        p.marker.clone()
    } else {
        format!("{}/{}", p.at, p.marker)
    };
    let mut line = format!("project: {} ({at}, {})", p.kind, p.tool);
    if !p.scripts.is_empty() {
        let what = match p.tool {
            "make" => "targets",
            "just" => "recipes",
            "docker compose" => "services",
            _ => "scripts",
        };
        line.pop();
        line.push_str(&format!("; {what}: {})", p.scripts.join(" ")));
    }
    line
}

/// `git: branch fix/ui-crash, remote origin, modified: a.rs b.rs`.
fn git_line(g: &Git) -> String {
    let mut parts = Vec::new();
    match (&g.branch, &g.detached_at) {
        (Some(b), _) => parts.push(format!("branch {}", shell_word(b))),
        (None, Some(c)) => parts.push(format!("detached at {c}")),
        (None, None) => {}
    }
    parts.push(match &g.remote {
        Some(r) => format!("remote {}", shell_word(r)),
        None => "no remote".to_string(),
    });
    if let Some(n) = g.changed {
        parts.push(match n {
            0 => "no uncommitted changes".to_string(),
            _ if !g.changed_files.is_empty() => format!(
                "modified: {}",
                g.changed_files
                    .iter()
                    .map(|f| shell_word(f))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            _ => format!("{n} files modified"),
        });
    }
    format!("git: {}", parts.join(", "))
}

/// What the model was told about the folder, for `--format json`'s
/// `context` (so a user can see what the model saw).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderUse {
    /// The `context` setting.
    pub on: bool,
    /// The lines the request turn holds (see [`Snapshot::render`]).
    pub lines: Vec<String>,
    /// Milliseconds the snapshot took.
    pub read_ms: f64,
    /// Why nothing could be said, when the folder could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What fills placeholders in the answer ([`crate::pipeline::placeholders`]).
    #[serde(skip)]
    pub facts: Facts,
}

/// The facts an answer's placeholders may be filled from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The branch checked out.
    pub branch: Option<String>,
    /// The remote it pushes to.
    pub remote: Option<String>,
    /// The file names the lines listed (as on disk, unquoted).
    pub listed: Vec<String>,
    /// The files here that the request writes out by name.
    pub written: Vec<String>,
    /// Every name read in the folder (to tell a name the model changed
    /// from one that exists).
    pub names: Vec<String>,
}

/// The kind of project `dir` is in ("Rust crate", "Node.js"...), from its
/// markers or a parent's (as [`Snapshot::read`] finds them), for memory and
/// history: a correction made in one Rust crate helps in another, not in a
/// Node project. A few `stat`s, no listing.
pub fn project_kind(dir: &Path) -> Option<&'static str> {
    let here: Vec<Entry> = MARKERS
        .iter()
        .chain(&[(".git", "", "")])
        .filter(|(m, _, _)| dir.join(m).exists())
        .map(|(m, _, _)| Entry {
            name: m.to_string(),
            dir: false,
            executable: false,
        })
        .collect();
    projects(dir, &here).first().map(|p| p.kind)
}

/// A project line read back: what [`project_line`] wrote, for the checks
/// that read the lines the model saw (the self-check) rather than a
/// [`Snapshot`]. The one parser of that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectLine<'a> {
    /// "Rust crate", "Java (Maven)".
    pub kind: &'a str,
    /// The manifest, with its folder when it is not this one
    /// (`../Cargo.toml`).
    pub marker: &'a str,
    /// The tool that drives it ("cargo", "docker compose").
    pub tool: &'a str,
    /// What the manifest declares ("scripts", "targets", "recipes",
    /// "services") and the names listed (at most [`MAX_SCRIPTS`]).
    pub list: Option<(&'a str, Vec<&'a str>)>,
}

impl ProjectLine<'_> {
    /// Whether the manifest is in the folder itself (one in a parent runs
    /// elsewhere).
    pub fn here(&self) -> bool {
        !self.marker.contains('/')
    }
}

/// The project lines among `lines` (as [`Snapshot::render`] wrote them).
pub fn project_lines(lines: &[String]) -> impl Iterator<Item = ProjectLine<'_>> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("project: "))
        .filter_map(|l| {
            // The kind may hold parentheses itself ("Java (Maven)"); what
            // follows the last " (" never does.
            let (kind, inside) = l.rsplit_once(" (")?;
            let inside = inside.strip_suffix(')')?;
            let (head, list) = match inside.split_once("; ") {
                Some((head, list)) => (head, Some(list)),
                None => (inside, None),
            };
            let (marker, tool) = head.split_once(", ")?;
            let list = list
                .and_then(|l| l.split_once(": "))
                .map(|(what, names)| (what, names.split_whitespace().collect()));
            Some(ProjectLine {
                kind,
                marker,
                tool,
                list,
            })
        })
}

/// The programs the projects in `lines` are driven by: `cargo` for
/// `project: Rust crate (Cargo.toml, cargo)`, `docker` and the older
/// `docker-compose` for docker compose.
pub fn tools(lines: &[String]) -> Vec<String> {
    project_lines(lines)
        .flat_map(|p| match p.tool {
            "docker compose" => vec!["docker", "docker-compose"],
            t => t.split_whitespace().next().into_iter().collect(),
        })
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// What a request is about.

/// The parts of a snapshot a request needs.
#[derive(Debug, Default)]
struct Wants {
    project: bool,
    git: bool,
    /// Kinds of file named or implied ("the logs", "unpack").
    kinds: Vec<&'static str>,
    /// "this", "it", "these", "them", "that" ("here" is only where).
    deictic: bool,
}

/// Words that make a request about the project and its tools. Not "make"
/// or "scripts": "make all shell scripts executable" showed a Makefile's
/// targets and the model answered `make all` (script files are a kind of
/// file of their own, below).
#[rustfmt::skip]
const PROJECT_WORDS: &[&str] = &[
    "build", "compile", "test", "tests", "run", "start", "serve", "dev", "install", "dependencies",
    "dependency", "deps", "package", "packages", "lint", "linter", "format", "fmt", "clean",
    "bench", "benchmark", "benchmarks", "release", "publish", "deploy", "target", "targets",
    "project", "app", "server", "service", "services", "container",
    "containers", "compose", "docker", "debug", "coverage", "typecheck", "update",
    "upgrade", "outdated", "audit", "lockfile", "workspace", "module", "crate", "venv",
    "virtualenv", "migrate", "migrations", "repl", "watch", "codegen", "tidy", "makefile",
    "code", "codebase", "recipe", "recipes", "task", "tasks", "rebuild", "artifact",
    "artifacts", "development",
];

/// Words that make a request about git.
#[rustfmt::skip]
const GIT_WORDS: &[&str] = &[
    "git", "push", "pull", "fetch", "commit", "commits", "branch", "branches", "merge", "rebase",
    "stash", "checkout", "switch", "tag", "tags", "remote", "upstream", "origin", "repo",
    "repository", "diff", "changes", "staged", "unstaged", "uncommitted", "untracked", "pr",
    "cherry-pick", "revert", "blame", "amend", "squash", "clone", "publish", "github", "gitlab",
];

/// Words that point at what is here without naming it.
const DEICTIC_WORDS: &[&str] = &["this", "it", "these", "them", "that"];

/// Words that, after "this", mean the folder itself ("how big is this
/// folder"), not the files in it: listing them made the model pass each one
/// (`du -sh build/ src/`).
#[rustfmt::skip]
const PLACE_WORDS: &[&str] = &[
    "folder", "directory", "dir", "project", "repo", "repository", "tree", "place", "machine",
    "computer", "system", "box", "server", "branch",
];

/// Extensions the request writes out (`.jpeg`, `*.log`), lowercase, with
/// their dot.
fn named_extensions(request: &str) -> Vec<String> {
    request
        .split(|c: char| c.is_whitespace() || c == ',' || c == '\'' || c == '"')
        .filter_map(|w| w.trim_start_matches('*').strip_prefix('.'))
        .map(|x| x.trim_end_matches(|c: char| !c.is_alphanumeric()))
        .filter(|x| !x.is_empty() && x.len() <= 8 && x.chars().all(|c| c.is_alphanumeric()))
        .map(|x| format!(".{}", x.to_lowercase()))
        .collect()
}

/// Words of a request written as a file name: a name, a dot and a short
/// extension (`archive.tar.gz`, `notes.md`), not a glob (`*.log`), a bare
/// extension (`.jpeg`), a path or a version (`1.2`).
fn written_file_names(request: &str) -> impl Iterator<Item = &str> {
    request
        .split(|c: char| c.is_whitespace() || ",;:'\"`()".contains(c))
        .map(|w| w.trim_end_matches(['.', '?', '!']))
        .filter(|w| {
            let Some((stem, ext)) = w.rsplit_once('.') else {
                return false;
            };
            !stem.is_empty()
                && !w.contains(['*', '/', '?', '$'])
                && stem.chars().any(char::is_alphabetic)
                && (1..=5).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && ext.chars().any(|c| c.is_ascii_alphabetic())
        })
}

/// Lowercase words of a request, with simple plural folding.
fn request_words(request: &str) -> Vec<String> {
    request
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

fn singular(w: &str) -> &str {
    if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
        &w[..w.len() - 1]
    } else {
        w
    }
}

impl Wants {
    fn of(request: &str) -> Wants {
        let words = request_words(request);
        // "get the node modules": a plural counts as its singular; "the
        // compiled files", "what I pushed": a past form counts as the word.
        // Only past forms: "running processes" is not about the project,
        // nor "change the owner" about git's "changes".
        let past: Vec<&String> = words
            .iter()
            .filter(|w| w.len() > 4 && w.ends_with("ed"))
            .collect();
        let has = |list: &[&str]| {
            words
                .iter()
                .any(|w| list.contains(&w.as_str()) || list.contains(&singular(w)))
                || past
                    .iter()
                    .any(|w| list.iter().any(|l| same_stem(l, w) || same_stem(w, l)))
        };
        let mut kinds = Vec::new();
        for k in KINDS {
            if words
                .iter()
                .any(|w| k.words.contains(&w.as_str()) || k.words.contains(&singular(w)))
            {
                kinds.push(k.name);
            }
        }
        Wants {
            project: has(PROJECT_WORDS),
            git: has(GIT_WORDS),
            kinds,
            deictic: words.iter().enumerate().any(|(i, w)| {
                DEICTIC_WORDS.contains(&w.as_str())
                    && !words
                        .get(i + 1)
                        .is_some_and(|next| PLACE_WORDS.contains(&next.as_str()))
            }),
        }
    }
}

/// Whether a word of the request is a part of the name (`deploy` in
/// `deploy-prod.sh`, `notes` in `notes.md`), for words long enough to mean
/// something.
fn stem_matches(words: &[String], name: &str) -> bool {
    let lower = name.to_lowercase();
    // The name without its extension: `jpeg` is what a file is, not which.
    let trimmed = lower.trim_start_matches('.');
    let stem = trimmed.split('.').next().unwrap_or(trimmed);
    let parts: Vec<&str> = stem
        .split(['-', '_', ' '])
        .filter(|p| p.len() >= 3)
        .collect();
    words.iter().any(|w| {
        let w = singular(w);
        w.len() >= 4
            && !COMMON_WORDS.contains(&w)
            && parts
                .iter()
                .any(|p| *p == w || singular(p) == w || same_stem(p, w))
    })
}

/// "start training" and train.py, "the deployment script" and deploy.sh:
/// a word's other forms count too (Snowball stems). Only words that start
/// alike are stemmed, so a folder of hundreds of names costs no more.
fn same_stem(a: &str, b: &str) -> bool {
    static STEMMER: std::sync::OnceLock<rust_stemmers::Stemmer> = std::sync::OnceLock::new();
    if a.len() < 4 || b.len() < 5 || a.get(..3) != b.get(..3) {
        return false;
    }
    let stemmer =
        STEMMER.get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English));
    stemmer.stem(a) == stemmer.stem(b)
}

/// Whether a word of the request is part of one of the project's script,
/// target or recipe names ("check the types" and `typecheck`, "open
/// storybook" and `storybook`): then the request is about the project even
/// without a word like "build" or "run".
fn names_a_script(words: &[String], scripts: &[String]) -> bool {
    words.iter().any(|w| {
        let w = singular(w);
        !COMMON_WORDS.contains(&w)
            && scripts.iter().any(|s| {
                let s = s.to_lowercase();
                // A short word only as the whole name ("restart the db",
                // "the api logs"): as a part it would match by chance.
                (w.len() >= 2 && s == w) || (w.len() >= 4 && s.contains(w))
            })
    })
}

/// Words that are names of many files and of no particular one.
#[rustfmt::skip]
const COMMON_WORDS: &[&str] = &[
    "file", "files", "folder", "directory", "here", "this", "that", "with", "from", "into", "than",
    "every", "each", "show", "list", "find", "delete", "remove", "make", "what", "which", "last",
    "first", "line", "lines", "size", "name", "names", "count", "print", "copy", "move", "open",
    "edit", "read", "view", "new", "main", "test", "tests", "build", "src", "lib",
];

// ---------------------------------------------------------------------------
// Kinds of file.

/// A kind of file a request can name ("the logs", "an archive").
struct Kind {
    name: &'static str,
    /// Request words that name or imply it.
    words: &'static [&'static str],
    matches: fn(&Entry) -> bool,
}

fn ext_in(e: &Entry, exts: &[&str]) -> bool {
    if e.dir {
        return false;
    }
    let lower = e.name.to_lowercase();
    exts.iter().any(|x| {
        lower.len() > x.len() + 1
            && lower.ends_with(x)
            && lower.as_bytes()[lower.len() - x.len() - 1] == b'.'
    })
}

const ARCHIVE_EXTS: &[&str] = &[
    "tar", "tgz", "tar.gz", "gz", "tbz2", "tar.bz2", "bz2", "txz", "tar.xz", "xz", "zst",
    "tar.zst", "zip", "7z", "rar", "lz4",
];

#[rustfmt::skip]
const KINDS: &[Kind] = &[
    Kind {
        name: "archive",
        words: &[
            "archive", "tarball", "zip", "unzip", "unpack", "extract", "decompress", "uncompress",
            "untar", "compressed", "tgz", "gz", "tar", "7z", "rar",
        ],
        matches: |e| ext_in(e, ARCHIVE_EXTS),
    },
    Kind {
        name: "log",
        words: &["log", "logs", "logfile", "logfiles"],
        matches: |e| {
            let n = e.name.to_lowercase();
            !e.dir && (n.ends_with(".log") || n.contains(".log.") || n.ends_with(".out"))
        },
    },
    Kind {
        name: "csv",
        words: &["csv", "tsv", "spreadsheet", "column", "columns"],
        matches: |e| ext_in(e, &["csv", "tsv", "xlsx", "parquet"]),
    },
    Kind {
        name: "json",
        words: &["json", "jq"],
        matches: |e| ext_in(e, &["json", "jsonl", "ndjson"]),
    },
    Kind {
        name: "image",
        words: &[
            "image", "picture", "photo", "screenshot", "png", "jpg", "jpeg", "gif", "webp",
            "thumbnail", "thumbnails", "icon", "resize", "pic",
        ],
        matches: |e| {
            ext_in(
                e,
                &[
                    "png", "jpg", "jpeg", "gif", "webp", "bmp", "svg", "tif", "tiff", "heic", "ico",
                ],
            )
        },
    },
    Kind {
        name: "video",
        words: &[
            "video", "movie", "clip", "mp4", "mkv", "film", "footage", "recording",
        ],
        matches: |e| ext_in(e, &["mp4", "mkv", "mov", "avi", "webm", "m4v", "flv"]),
    },
    Kind {
        name: "audio",
        words: &[
            "audio", "song", "music", "mp3", "sound", "track", "podcast", "wav", "flac",
        ],
        matches: |e| ext_in(e, &["mp3", "wav", "flac", "ogg", "m4a", "aac", "opus"]),
    },
    Kind {
        name: "script",
        words: &["script", "executable"],
        matches: |e| {
            ext_in(e, &["sh", "bash", "zsh", "fish", "py", "pl", "rb", "ps1"])
                || (e.executable && !e.name.contains('.'))
        },
    },
    Kind {
        name: "config",
        words: &[
            "config", "configuration", "settings", "yaml", "yml", "toml", "ini", "env", "dotenv",
            "conf",
        ],
        matches: |e| {
            let n = e.name.to_lowercase();
            // A project's manifest or lockfile is not its configuration.
            let manifest = MARKERS.iter().any(|(m, _, _)| *m == e.name)
                || n.ends_with(".lock")
                || n.ends_with("-lock.yaml");
            let exts = ["yaml", "yml", "toml", "ini", "conf", "cfg", "env", "properties"];
            !manifest
                && (ext_in(e, &exts)
                    || n == ".env"
                    || n.starts_with(".env.")
                    || ((n.starts_with("config") || n.starts_with("settings")) && !e.dir))
        },
    },
    Kind {
        name: "readme",
        words: &["readme"],
        matches: |e| e.name.to_lowercase().starts_with("readme") && !e.dir,
    },
    Kind {
        name: "document",
        words: &[
            "document", "pdf", "markdown", "md", "doc", "docx", "txt", "notes", "note",
        ],
        matches: |e| ext_in(e, &["md", "txt", "pdf", "doc", "docx", "odt", "rst", "rtf"]),
    },
    Kind {
        name: "patch",
        words: &["patch", "diff"],
        matches: |e| ext_in(e, &["patch", "diff"]),
    },
    Kind {
        name: "key",
        words: &[
            "key", "certificate", "cert", "pem", "ssh-key", "csr", "fingerprint",
        ],
        matches: |e| {
            let n = e.name.to_lowercase();
            // A private key has no extension: `deploy_key` beside
            // `deploy_key.pub` was not shown, and the model chmod-ed the
            // public one.
            let bare_key = !e.dir
                && !n.contains('.')
                && ["_key", "-key", "_rsa", "_dsa", "_ecdsa", "_ed25519"]
                    .iter()
                    .any(|end| n.ends_with(end));
            ext_in(e, &["pem", "key", "pub", "crt", "cer", "csr", "p12", "pfx"])
                || bare_key
                || n.starts_with("id_rsa")
                || n.starts_with("id_ed25519")
                || n.starts_with("id_ecdsa")
        },
    },
    Kind {
        name: "backup",
        words: &["backup", "bak", "orig", "original"],
        matches: |e| {
            let n = e.name.to_lowercase();
            ext_in(e, &["bak", "backup", "old", "orig"]) || n.ends_with('~')
        },
    },
    // "verify the download against the checksum file": SHA256SUMS names no
    // kind by its extension.
    Kind {
        name: "checksum",
        words: &[
            "checksum", "checksums", "sha256", "sha256sum", "sha512", "sha1", "md5", "md5sum",
            "hash", "hashes",
        ],
        matches: |e| {
            let n = e.name.to_lowercase();
            !e.dir
                && (n.ends_with("sums")
                    || n.starts_with("checksum")
                    || ext_in(e, &["sha256", "sha512", "sha1", "md5", "sha256sum", "md5sum"]))
        },
    },
    // A database file and an SQL text (a dump, a schema) are different
    // things: "open the database" beside schema.sql and shop.sqlite3 got
    // `sqlite3 schema.sql shop.sqlite3` when both were listed.
    Kind {
        name: "database",
        words: &["database", "databases", "db", "sqlite", "sqlite3"],
        matches: |e| ext_in(e, &["db", "sqlite", "sqlite3"]),
    },
    Kind {
        name: "sql",
        words: &["dump", "sql", "schema", "query", "queries"],
        matches: |e| ext_in(e, &["sql", "dump"]),
    },
    Kind {
        name: "disk-image",
        words: &["iso", "img", "usb", "flash", "burn"],
        matches: |e| ext_in(e, &["iso", "img", "qcow2", "vmdk", "vdi"]),
    },
    Kind {
        name: "temp",
        words: &["temp", "temporary", "tmp", "swap", "swp", "cache"],
        matches: |e| ext_in(e, &["tmp", "temp", "swp", "swo", "cache"]),
    },
    Kind {
        name: "folder",
        words: &["folders", "directories", "subfolders", "subdirectories"],
        matches: |e| e.dir && !e.name.starts_with('.'),
    },
];

// ---------------------------------------------------------------------------
// Projects.

/// Markers: file name → (kind, tool).
const MARKERS: &[(&str, &str, &str)] = &[
    ("Cargo.toml", "Rust crate", "cargo"),
    ("package.json", "Node.js", "npm"),
    ("deno.json", "Deno", "deno"),
    ("pyproject.toml", "Python", "pip"),
    ("setup.py", "Python", "pip"),
    ("requirements.txt", "Python", "pip"),
    ("Pipfile", "Python", "pipenv"),
    ("go.mod", "Go module", "go"),
    ("CMakeLists.txt", "CMake", "cmake"),
    ("Makefile", "Makefile", "make"),
    ("makefile", "Makefile", "make"),
    ("GNUmakefile", "Makefile", "make"),
    ("justfile", "justfile", "just"),
    ("Justfile", "justfile", "just"),
    (".justfile", "justfile", "just"),
    ("Gemfile", "Ruby", "bundle"),
    ("pom.xml", "Java (Maven)", "mvn"),
    ("build.gradle", "Java (Gradle)", "gradle"),
    ("build.gradle.kts", "Kotlin (Gradle)", "gradle"),
    ("composer.json", "PHP", "composer"),
    ("mix.exs", "Elixir", "mix"),
    ("compose.yaml", "docker compose", "docker compose"),
    ("compose.yml", "docker compose", "docker compose"),
    ("docker-compose.yml", "docker compose", "docker compose"),
    ("docker-compose.yaml", "docker compose", "docker compose"),
    ("Dockerfile", "Dockerfile", "docker"),
];

/// The projects of `dir`: its own markers, else those of the nearest parent
/// that has any (up to [`MAX_PARENTS`] levels, not above the home folder or
/// a repository's root).
fn projects(dir: &Path, entries: &[Entry]) -> Vec<Project> {
    let here = markers_in(dir, ".", |name| entries.iter().any(|e| e.name == name));
    if !here.is_empty() || entries.iter().any(|e| e.name == ".git") {
        return here;
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut at = String::from("..");
    let mut cur = dir.parent();
    for _ in 0..MAX_PARENTS {
        let Some(d) = cur else { break };
        if home.as_deref() == Some(d) || d == Path::new("/") {
            break;
        }
        let found = markers_in(d, &at, |name| d.join(name).is_file());
        if !found.is_empty() {
            return found;
        }
        if d.join(".git").exists() {
            break;
        }
        at.push_str("/..");
        cur = d.parent();
    }
    Vec::new()
}

fn markers_in(dir: &Path, at: &str, exists: impl Fn(&str) -> bool) -> Vec<Project> {
    let mut out: Vec<Project> = Vec::new();
    for &(marker, kind, tool) in MARKERS {
        if !exists(marker) || out.iter().any(|p| p.kind == kind) {
            continue;
        }
        // A Makefile beside CMakeLists.txt is CMake's output.
        if tool == "make" && out.iter().any(|p| p.tool == "cmake") {
            continue;
        }
        let tool = refine_tool(tool, &exists);
        out.push(Project {
            kind,
            marker: marker.to_string(),
            tool,
            at: at.to_string(),
            scripts: scripts(&dir.join(marker), marker),
        });
    }
    out
}

/// The tool a lockfile names (pnpm, yarn, bun, uv, poetry...).
fn refine_tool(tool: &'static str, exists: &impl Fn(&str) -> bool) -> &'static str {
    let by_lock: &[(&str, &'static str)] = match tool {
        "npm" => &[
            ("pnpm-lock.yaml", "pnpm"),
            ("yarn.lock", "yarn"),
            ("bun.lockb", "bun"),
            ("bun.lock", "bun"),
            ("package-lock.json", "npm"),
        ],
        "pip" => &[
            ("uv.lock", "uv"),
            ("poetry.lock", "poetry"),
            ("pdm.lock", "pdm"),
            ("Pipfile.lock", "pipenv"),
        ],
        _ => &[],
    };
    by_lock
        .iter()
        .find(|(lock, _)| exists(lock))
        .map(|(_, t)| *t)
        .unwrap_or(tool)
}

/// The first bytes of a manifest (at most [`MAX_MANIFEST_BYTES`]).
fn read_capped(path: &Path) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut buf = Vec::new();
    f.take(MAX_MANIFEST_BYTES).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Script, target, recipe or service names a manifest declares.
fn scripts(path: &Path, marker: &str) -> Vec<String> {
    let Some(text) = read_capped(path) else {
        return Vec::new();
    };
    let mut names = match marker {
        "package.json" => serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("scripts")
                    .and_then(|s| s.as_object())
                    .map(|o| o.keys().cloned().collect())
            })
            .unwrap_or_default(),
        "pyproject.toml" => toml::from_str::<toml::Table>(&text)
            .ok()
            .map(|t| {
                let project = t
                    .get("project")
                    .and_then(|p| p.get("scripts"))
                    .and_then(|s| s.as_table());
                let poetry = t
                    .get("tool")
                    .and_then(|p| p.get("poetry"))
                    .and_then(|p| p.get("scripts"))
                    .and_then(|s| s.as_table());
                project
                    .into_iter()
                    .chain(poetry)
                    .flat_map(|s| s.keys().cloned())
                    .collect()
            })
            .unwrap_or_default(),
        "Makefile" | "makefile" | "GNUmakefile" => make_targets(&text),
        "justfile" | "Justfile" | ".justfile" => just_recipes(&text),
        m if m.contains("compose") => compose_services(&text),
        _ => Vec::new(),
    };
    names.retain(|n| shown_name(n.as_bytes()).is_some() && !n.contains(char::is_whitespace));
    names.truncate(MAX_SCRIPTS);
    names
}

/// `name:` at the start of a line, not a variable (`:=`), a special target
/// (`.PHONY`) or a pattern rule (`%.o:`).
fn make_targets(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with(['\t', ' ', '#', '.']) {
            continue;
        }
        let Some((head, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.starts_with('=') || head.contains(['%', '$', '=', '?', '+']) {
            continue;
        }
        for t in head.split_whitespace() {
            if !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
    }
    out
}

/// `name args:` at the start of a line (not `name :=` settings or `set`).
fn just_recipes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t', '#', '[']) || line.contains(":=") {
            continue;
        }
        let Some((head, _)) = line.split_once(':') else {
            continue;
        };
        let name = head.trim_start_matches('@').split_whitespace().next();
        if let Some(n) = name.filter(|n| {
            n.chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
                && !matches!(*n, "set" | "alias" | "export" | "import" | "mod")
        }) {
            out.push(n.to_string());
        }
    }
    out
}

/// Keys one level under a top-level `services:` (indentation decides).
fn compose_services(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut indent = None;
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let lead = line.len() - line.trim_start().len();
        if lead == 0 {
            inside = line.trim_end() == "services:";
            indent = None;
            continue;
        }
        if !inside {
            continue;
        }
        let level = *indent.get_or_insert(lead);
        if lead == level {
            if let Some(name) = line.trim().strip_suffix(':') {
                out.push(name.trim_matches(['"', '\'']).to_string());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Git.

/// The repository's `.git` folder for `dir` (a worktree's `.git` file
/// points at it), searching upwards.
fn git_dir(dir: &Path) -> Option<PathBuf> {
    let mut cur = Some(dir);
    for _ in 0..32 {
        let d = cur?;
        let dot = d.join(".git");
        if dot.is_dir() {
            return Some(dot);
        }
        if dot.is_file() {
            let text = read_capped(&dot)?;
            let target = text.trim().strip_prefix("gitdir:")?.trim();
            let p = Path::new(target);
            return Some(if p.is_absolute() {
                p.to_path_buf()
            } else {
                d.join(p)
            });
        }
        cur = d.parent();
    }
    None
}

/// Branch and remotes from the files git keeps; changes from `status`.
fn git_state(dir: &Path, status: Option<GitStatus>) -> Option<Git> {
    let gd = git_dir(dir)?;
    let head = read_capped(&gd.join("HEAD"))?;
    let head = head.trim();
    let mut g = Git::default();
    match head.strip_prefix("ref: refs/heads/") {
        Some(b) => g.branch = Some(b.to_string()),
        None => g.detached_at = Some(head.chars().take(7).collect()),
    }
    // A worktree's config lives in the common dir.
    let common = read_capped(&gd.join("commondir"))
        .map(|c| gd.join(c.trim()))
        .unwrap_or_else(|| gd.clone());
    if let Some(cfg) = read_capped(&common.join("config")) {
        g.remote = push_remote(&cfg, g.branch.as_deref());
    }
    if let Some((n, files)) = status.and_then(GitStatus::finish) {
        g.changed = Some(n);
        g.changed_files = files;
    }
    Some(g)
}

/// The remote for `branch`: its upstream's, else `origin`, else the first.
fn push_remote(config: &str, branch: Option<&str>) -> Option<String> {
    let mut remotes = Vec::new();
    let mut upstream = None;
    let mut section = String::new();
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
            if let Some(name) = line
                .strip_prefix("[remote \"")
                .and_then(|r| r.strip_suffix("\"]"))
            {
                remotes.push(name.to_string());
            }
            continue;
        }
        if let Some(b) = branch {
            if section == format!("[branch \"{b}\"]") {
                if let Some(v) = line.strip_prefix("remote").map(str::trim_start) {
                    if let Some(v) = v.strip_prefix('=') {
                        upstream = Some(v.trim().to_string());
                    }
                }
            }
        }
    }
    upstream
        .filter(|u| u != ".")
        .or_else(|| remotes.iter().find(|r| *r == "origin").cloned())
        .or_else(|| remotes.into_iter().next())
}

/// `git status` running beside the snapshot.
struct GitStatus {
    child: std::process::Child,
    started: Instant,
}

impl GitStatus {
    fn start(dir: &Path) -> Option<GitStatus> {
        git_dir(dir)?;
        let child = std::process::Command::new("git")
            .args([
                "--no-optional-locks",
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=normal",
                "--no-renames",
            ])
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(GitStatus {
            child,
            started: Instant::now(),
        })
    }

    /// The number of changed files and, when few, their names; `None` when
    /// git failed or took longer than [`GIT_STATUS_BUDGET`].
    fn finish(mut self) -> Option<(usize, Vec<String>)> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => break,
                Ok(None) if self.started.elapsed() < GIT_STATUS_BUDGET => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return None;
                }
            }
        }
        use std::io::Read;
        let mut out = Vec::new();
        self.child.stdout.take()?.read_to_end(&mut out).ok()?;
        let files: Vec<String> = out
            .split(|&b| b == 0)
            .filter(|r| r.len() > 3)
            .filter_map(|r| shown_name(&r[3..]))
            .collect();
        let n = out.split(|&b| b == 0).filter(|r| r.len() > 3).count();
        Some((n, if n <= 4 { files } else { Vec::new() }))
    }
}

#[cfg(test)]
mod tests;
