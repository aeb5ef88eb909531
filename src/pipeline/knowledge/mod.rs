//! The local command knowledge base: everyday tasks and the command that does
//! each, written by us ([`idioms.txt`](idioms.txt)), built into the binary.
//!
//! A small model knows shell syntax but often reaches for the wrong tool
//! ("print the system IP address" → a four-stage `ip | grep | awk` pipeline
//! instead of `hostname -I`). When a request is very close to one of these
//! tasks, the pair is shown to the model as an example turn just before the
//! request. Only then: examples that are not close measurably pull a model
//! of this size off course, so [`Index::nearest`] returns nothing below a
//! similarity threshold chosen on the tuning half of the dev sets.
//!
//! Similarity is the cosine of TF-IDF vectors over stemmed content words,
//! with a few synonyms folded (folder/directory, delete/remove, …). The index
//! is built on first use from the embedded text (about 1,000 entries, a few
//! milliseconds).

use crate::context::Os;
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The knowledge base's text: `os | request | command` lines under `#`
/// section headings (see the file's own header).
const IDIOMS: &str = include_str!("idioms.txt");

/// One task and its command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub request: String,
    pub command: String,
}

/// Parses [`IDIOMS`] for one OS: `any` lines and that OS's own.
fn entries(os: Os) -> Vec<Entry> {
    let want = match os {
        Os::Linux => "linux",
        Os::Macos => "macos",
    };
    IDIOMS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.splitn(3, " | ");
            let (os, request, command) = (parts.next()?, parts.next()?, parts.next()?);
            (os == "any" || os == want).then(|| Entry {
                request: request.trim().to_string(),
                command: command.trim().to_string(),
            })
        })
        .collect()
}

/// Words that say nothing about which command is wanted.
const STOPWORDS: &[&str] = &[
    "a", "all", "an", "and", "any", "are", "as", "at", "be", "by", "can", "could", "do", "does",
    "for", "from", "get", "give", "have", "how", "i", "in", "into", "is", "it", "its", "just",
    "let", "me", "my", "of", "on", "or", "our", "please", "so", "some", "that", "the", "their",
    "them", "then", "there", "these", "this", "those", "to", "up", "us", "using", "want", "we",
    "what", "which", "with", "would", "you", "your",
];

/// Words folded into one, so "delete the folder" meets "remove a directory".
fn synonym(word: &str) -> &str {
    match word {
        "folder" | "folders" | "dir" | "dirs" | "directories" => "directory",
        "delete" | "erase" | "rm" => "remove",
        "display" | "print" | "output" | "view" | "see" | "tell" | "check" => "show",
        "everything" | "every" | "each" => "all",
        "biggest" | "largest" | "bigger" => "large",
        "tiniest" | "smallest" | "smaller" => "small",
        "count" | "number" | "many" => "count",
        "ip" | "address" | "addresses" => "ip",
        "username" | "usernames" | "accounts" | "account" => "user",
        "program" | "programs" | "processes" | "process" => "process",
        "kill" | "terminate" | "stop" => "stop",
        "machine" | "computer" | "host" | "box" | "server" => "system",
        "occupied" | "used" | "usage" => "usage",
        "search" | "look" | "locate" => "find",
        "copy" | "duplicate" => "copy",
        other => other,
    }
}

/// The content words of `text`, stemmed and folded.
fn terms(text: &str, stemmer: &Stemmer) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| stemmer.stem(synonym(&w)).into_owned())
        .collect()
}

/// A TF-IDF index over the entries' requests.
pub struct Index {
    entries: Vec<Entry>,
    /// Each entry's unit vector: term → weight.
    vectors: Vec<HashMap<String, f32>>,
    idf: HashMap<String, f32>,
    stemmer: Stemmer,
}

/// Term frequencies of `terms`, weighted by `idf` and scaled to length 1.
fn unit_vector(terms: &[String], idf: &HashMap<String, f32>, unknown: f32) -> HashMap<String, f32> {
    let mut v: HashMap<String, f32> = HashMap::new();
    for t in terms {
        *v.entry(t.clone()).or_default() += idf.get(t).copied().unwrap_or(unknown);
    }
    let norm = v.values().map(|w| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.values_mut().for_each(|w| *w /= norm);
    }
    v
}

impl Index {
    /// An index over `entries` (the built-in ones: [`Index::for_os`]).
    pub fn new(entries: Vec<Entry>) -> Index {
        let stemmer = Stemmer::create(Algorithm::English);
        let docs: Vec<Vec<String>> = entries
            .iter()
            .map(|e| terms(&e.request, &stemmer))
            .collect();
        let mut df: HashMap<&str, usize> = HashMap::new();
        for d in &docs {
            let mut seen: Vec<&str> = d.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                *df.entry(t).or_default() += 1;
            }
        }
        let n = docs.len().max(1) as f32;
        let idf: HashMap<String, f32> = df
            .into_iter()
            .map(|(t, f)| (t.to_string(), (1.0 + n / f as f32).ln()))
            .collect();
        let vectors = docs.iter().map(|d| unit_vector(d, &idf, 0.0)).collect();
        Index {
            entries,
            vectors,
            idf,
            stemmer,
        }
    }

    /// The index for `os`, built once per process.
    pub fn for_os(os: Os) -> &'static Index {
        static LINUX: OnceLock<Index> = OnceLock::new();
        static MACOS: OnceLock<Index> = OnceLock::new();
        let cell = match os {
            Os::Linux => &LINUX,
            Os::Macos => &MACOS,
        };
        cell.get_or_init(|| Index::new(entries(os)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Up to `k` entries whose similarity to `request` is at least
    /// `min_score` (0..=1), closest first. A word the knowledge base never
    /// uses weighs like the rarest word it has, so a request about something
    /// else entirely scores low.
    pub fn nearest(&self, request: &str, k: usize, min_score: f32) -> Vec<(&Entry, f32)> {
        let rarest = self.idf.values().copied().fold(0.0, f32::max);
        let q = unit_vector(&terms(request, &self.stemmer), &self.idf, rarest);
        if q.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(usize, f32)> = self
            .vectors
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let dot = q
                    .iter()
                    .map(|(t, w)| w * v.get(t).copied().unwrap_or(0.0))
                    .sum::<f32>();
                (i, dot)
            })
            .filter(|&(_, s)| s >= min_score)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored
            .into_iter()
            .take(k)
            .map(|(i, s)| (&self.entries[i], s))
            .collect()
    }
}

/// Example turns for a request: up to `k` knowledge-base entries at least
/// `min_score` close to it, the closest last (nearest the request).
pub fn examples(os: Os, request: &str, k: usize, min_score: f32) -> Vec<crate::engine::Example> {
    examples_from(Index::for_os(os), request, k, min_score)
}

/// [`examples`] from a given index.
pub fn examples_from(
    index: &Index,
    request: &str,
    k: usize,
    min_score: f32,
) -> Vec<crate::engine::Example> {
    let mut v: Vec<crate::engine::Example> = index
        .nearest(request, k, min_score)
        .into_iter()
        .map(|(e, _)| crate::engine::Example {
            request: e.request.to_string(),
            command: e.command.to_string(),
        })
        .collect();
    v.reverse();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_parses_and_both_systems_have_entries() {
        let lines = IDIOMS
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        let (linux, mac) = (entries(Os::Linux), entries(Os::Macos));
        assert!(
            linux.len() > 500 && mac.len() > 400,
            "{} {}",
            linux.len(),
            mac.len()
        );
        // Every line is `any`, `linux` or `macos`, with three fields.
        let any = IDIOMS.lines().filter(|l| l.starts_with("any | ")).count();
        assert_eq!(linux.len() + mac.len() - any, lines);
        for e in linux.iter().chain(&mac) {
            assert!(!e.request.is_empty() && !e.command.is_empty(), "{e:?}");
        }
    }

    #[test]
    fn close_requests_find_their_idiom() {
        let idx = Index::for_os(Os::Linux);
        for (request, want) in [
            ("print the system IP address", "hostname -I"),
            ("show me the IP address of this machine", "hostname -I"),
            ("list all users", "getent passwd"),
            ("print the max number of user processes", "ulimit -u"),
            ("print hello world", "echo 'hello world'"),
        ] {
            let got = idx.nearest(request, 1, 0.5);
            assert_eq!(
                got.first().map(|(e, _)| e.command.as_str()),
                Some(want),
                "{request}"
            );
        }
    }

    #[test]
    fn unrelated_requests_find_nothing_close() {
        let idx = Index::for_os(Os::Linux);
        for request in [
            "Calculate the md5 sum of all .java files under /testbed sorted by name",
            "frobnicate the quux",
        ] {
            let got = idx.nearest(request, 3, 0.6);
            assert!(got.is_empty(), "{request}: {got:?}");
        }
    }

    #[test]
    fn macos_gets_its_own_forms() {
        let idx = Index::for_os(Os::Macos);
        let got = idx.nearest("print the system IP address", 1, 0.5);
        assert_eq!(got[0].0.command, "ipconfig getifaddr en0");
    }
}
