//! Placeholders in an answer: the parts the model could not know and wrote
//! as a stand-in (`<branch-name>`, `/path/to/file`, `you@example.com`,
//! `abc1234`), so the user has to replace them before the command can run.
//!
//! [`fill`] replaces the ones the folder's facts answer (the branch that is
//! checked out, the remote it pushes to, the one file of the kind the
//! request was about); [`find`] reports the rest, so `--format json` can
//! list them and the shell widgets can put the cursor on the first one
//! instead of the end of the line.

use super::folder::{Facts, FolderUse};
use regex::Regex;
use serde::Serialize;
use std::sync::OnceLock;

/// One placeholder: where it is in the command (in characters, as the
/// shells count a cursor position) and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// What a placeholder stands for, when that can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stands {
    Branch,
    Remote,
    File,
    Other,
}

/// Placeholder patterns, each with what it stands for.
fn patterns() -> &'static [(Regex, Stands)] {
    static P: OnceLock<Vec<(Regex, Stands)>> = OnceLock::new();
    P.get_or_init(|| {
        let r = |s: &str| Regex::new(s).expect("placeholder pattern");
        vec![
            (
                r(r"(?i)^<(?:your[-_ ]?)?(?:current[-_ ]?)?branch(?:[-_ ]?name)?>$"),
                Stands::Branch,
            ),
            (
                r(r"(?i)^(?:your|my|current)[-_]branch(?:[-_]name)?$|^BRANCH(?:_NAME)?$|^branch[-_]name$"),
                Stands::Branch,
            ),
            (
                r(r"(?i)^<(?:your[-_ ]?)?remote(?:[-_ ]?name)?>$|^(?:your|my)[-_]remote$"),
                Stands::Remote,
            ),
            (
                r(r"(?i)^<(?:your[-_ ]?|the[-_ ]?)?(?:file|filename|file[-_ ]name|archive|log|script|path)(?:[-_ ]?name)?>$"),
                Stands::File,
            ),
            (r(r"^(?:filename|file_name|FILENAME)$"), Stands::File),
            (r(r"^<[A-Za-z][A-Za-z0-9 _.-]*>$"), Stands::Other),
            (r(r"(?i)^(?:your|my)[-_][a-z][a-z0-9_-]*$"), Stands::Other),
            (r(r"^YOUR_[A-Z0-9_]+$"), Stands::Other),
            (r(r"^/path/to(?:/\S*)?$"), Stands::Other),
            (r(r"(?i)^[\w.+-]*@example\.(?:com|org|net)$"), Stands::Other),
            (r(r"(?i)^(?:https?://)?(?:www\.)?example\.(?:com|org|net)\S*$"), Stands::Other),
            (r(r"^abc123[0-9a-f]*$"), Stands::Other),
            (r(r"(?i)^(?:commit[-_]?hash|commit[-_]?id|<sha>|<hash>)$"), Stands::Other),
        ]
    })
}

/// What `word` stands for, when it is a placeholder.
fn stands_for(word: &str) -> Option<Stands> {
    patterns()
        .iter()
        .find(|(re, _)| re.is_match(word))
        .map(|(_, s)| *s)
}

/// The unquoted words of `cmd` with their byte ranges. A quoted part is
/// data (`grep '<div>'`), never a placeholder; a redirection's `<` or `>`
/// is an operator, so a placeholder must be one whole word in `<…>`.
fn words(cmd: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quote: Option<char> = None;
    let mut quoted_word = false;
    let mut escaped = false;
    for (i, c) in cmd.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\\') => {
                escaped = true;
                start.get_or_insert(i);
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                quoted_word = true;
                start.get_or_insert(i);
            }
            (None, c) if c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | ')') => {
                if let Some(s) = start.take() {
                    if !quoted_word {
                        out.push((s, i));
                    }
                }
                quoted_word = false;
            }
            (None, _) => {
                start.get_or_insert(i);
            }
        }
    }
    if let (Some(s), None, false) = (start, quote, quoted_word) {
        out.push((s, cmd.len()));
    }
    out
}

/// Byte range of the placeholder inside a word: the whole word, or the
/// value after `--opt=` / `NAME=`.
fn inner(cmd: &str, (s, e): (usize, usize)) -> (usize, usize) {
    let w = &cmd[s..e];
    match w.find('=') {
        Some(i) if !w.starts_with('<') => (s + i + 1, e),
        _ => (s, e),
    }
}

/// Whether the word before `at` makes the placeholder a new name (`git
/// checkout -b <branch-name>`, `git branch <name>`), which the checked-out
/// branch must not fill.
fn names_something_new(cmd: &str, at: usize) -> bool {
    let before: Vec<&str> = cmd[..at].split_whitespace().collect();
    matches!(
        before.last(),
        Some(&("-b" | "-B" | "-c" | "-C" | "branch" | "--orphan"))
    )
}

/// The placeholders of `cmd` as byte ranges, with what each stands for.
/// What the request itself wrote (`download http://example.com/a.txt`) is
/// the user's, never a placeholder.
fn placeholders(cmd: &str, request: &str) -> Vec<(usize, usize, Stands)> {
    words(cmd)
        .into_iter()
        .map(|r| inner(cmd, r))
        .filter(|&(s, e)| !request.contains(&cmd[s..e]))
        .filter_map(|(s, e)| Some((s, e, stands_for(&cmd[s..e])?)))
        .collect()
}

/// `cmd` (the answer to `request`) with the placeholders the folder's
/// facts answer filled in.
pub fn fill(cmd: &str, request: &str, folder: &FolderUse) -> String {
    let filled = replace_words(
        cmd,
        placeholders(cmd, request),
        |s, _, stands| match stands {
            Stands::Branch if !names_something_new(cmd, s) => folder.facts.branch.as_deref(),
            Stands::Remote => folder.facts.remote.as_deref(),
            Stands::File => match folder.facts.listed.as_slice() {
                [one] => Some(one.as_str()),
                _ => None,
            },
            _ => None,
        },
    );
    let out = keep_written_names(&filled, &folder.facts);
    push_to_the_remote(&out, &folder.facts)
}

/// The names the request wrote out, kept: a file of the folder that the
/// request names exactly and the answer lost, where the answer has a word
/// that is no file here and ends in that name (`sort the file names.txt`
/// → `sort -u file_names.txt`) or differs from it only in case, gets its
/// name back.
fn keep_written_names(cmd: &str, facts: &Facts) -> String {
    let spans = words(cmd);
    let lost: Vec<&String> = facts
        .written
        .iter()
        .filter(|n| !spans.iter().any(|&(s, e)| cmd[s..e] == ***n))
        .collect();
    if lost.is_empty() {
        return cmd.to_string();
    }
    let spans = spans.into_iter().map(|(s, e)| (s, e, ()));
    replace_words(cmd, spans, |s, e, ()| {
        let w = &cmd[s..e];
        if facts.names.iter().any(|n| n == w) {
            return None;
        }
        let mangled = |n: &&&String| {
            w.eq_ignore_ascii_case(n)
                || w.strip_suffix(n.as_str())
                    .is_some_and(|head| head.ends_with(['_', '-']) && !head.contains('/'))
        };
        lost.iter().find(mangled).map(|n| n.as_str())
    })
}

/// `cmd` with each of `spans` (byte ranges, in order) that `value` gives a
/// name for replaced by that name as a shell word.
fn replace_words<'a, T>(
    cmd: &str,
    spans: impl IntoIterator<Item = (usize, usize, T)>,
    mut value: impl FnMut(usize, usize, T) -> Option<&'a str>,
) -> String {
    let mut out = String::with_capacity(cmd.len());
    let mut last = 0;
    for (s, e, t) in spans {
        if let Some(v) = value(s, e, t) {
            out.push_str(&cmd[last..s]);
            out.push_str(&super::folder::shell_word(v));
            last = e;
        }
    }
    out.push_str(&cmd[last..]);
    out
}

/// `git push <branch>` reads the branch as a remote and fails: with the
/// checked-out branch as its one operand and the remote known, the remote
/// goes before it.
fn push_to_the_remote(cmd: &str, facts: &Facts) -> String {
    let (Some(branch), Some(remote)) = (&facts.branch, &facts.remote) else {
        return cmd.to_string();
    };
    let Some(rest) = cmd.strip_prefix("git push ") else {
        return cmd.to_string();
    };
    let words: Vec<&str> = rest.split(' ').collect();
    let (flags, operands): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| w.starts_with('-'));
    if operands.len() != 1 || operands[0] != branch || branch == remote {
        return cmd.to_string();
    }
    let mut out = String::from("git push");
    for f in flags {
        out.push(' ');
        out.push_str(f);
    }
    out.push_str(&format!(
        " {} {}",
        super::folder::shell_word(remote),
        operands[0]
    ));
    out
}

/// The placeholders left in `cmd` (the answer to `request`), first to
/// last, in characters.
pub fn find(cmd: &str, request: &str) -> Vec<Span> {
    placeholders(cmd, request)
        .into_iter()
        .map(|(s, e, _)| Span {
            start: cmd[..s].chars().count(),
            end: cmd[..e].chars().count(),
            text: cmd[s..e].to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(branch: Option<&str>, remote: Option<&str>, listed: &[&str]) -> FolderUse {
        FolderUse {
            on: true,
            facts: Facts {
                branch: branch.map(String::from),
                remote: remote.map(String::from),
                listed: listed.iter().map(|s| s.to_string()).collect(),
                ..Facts::default()
            },
            ..FolderUse::default()
        }
    }

    #[test]
    fn the_checked_out_branch_and_remote_fill_their_placeholders() {
        let f = folder(Some("fix/ui-crash"), Some("origin"), &[]);
        assert_eq!(
            fill("git push origin <branch-name>", "push it", &f),
            "git push origin fix/ui-crash"
        );
        assert_eq!(
            fill("git push -u <remote> your-branch", "push", &f),
            "git push -u origin fix/ui-crash"
        );
        assert_eq!(
            fill("git push --set-upstream=<branch>", "push", &f),
            "git push --set-upstream=fix/ui-crash"
        );
        // A new branch's name is the user's to choose.
        assert_eq!(
            fill("git checkout -b <branch-name>", "new branch", &f),
            "git checkout -b <branch-name>"
        );
        // Without facts nothing changes.
        let none = FolderUse::default();
        assert_eq!(
            fill("git push origin <branch-name>", "push it", &none),
            "git push origin <branch-name>"
        );
    }

    #[test]
    fn one_listed_file_fills_a_file_placeholder_quoted() {
        let f = folder(None, None, &["site 2023.tgz"]);
        assert_eq!(
            fill("tar -xzf <file>", "unpack", &f),
            "tar -xzf 'site 2023.tgz'"
        );
        let two = folder(None, None, &["a.tgz", "b.tgz"]);
        assert_eq!(fill("tar -xzf <file>", "unpack", &two), "tar -xzf <file>");
        let one = folder(None, None, &["capture.pcap"]);
        assert_eq!(fill("du -sh filename", "size", &one), "du -sh capture.pcap");
        assert_eq!(find("du -sh filename", "size")[0].text, "filename");
    }

    #[test]
    fn placeholders_are_found_outside_quotes_only() {
        let spans = find(
            "git commit --author='Me <me@x.org>' -m <message> && cp /path/to/src dst",
            "commit",
        );
        let texts: Vec<&str> = spans.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["<message>", "/path/to/src"]);
        assert_eq!(
            spans[0].start,
            "git commit --author='Me <me@x.org>' -m ".len()
        );
        assert!(find("grep '<div>' index.html", "x").is_empty());
        assert!(find("sort < names.txt > out.txt", "x").is_empty());
        assert!(find("diff <(ls a) <(ls b)", "x").is_empty());
        assert!(find("ls -la", "x").is_empty());
        let spans = find("git config user.email you@example.com", "set my email");
        assert_eq!(spans[0].text, "you@example.com");
        let spans = find("git revert abc1234", "revert a commit");
        assert_eq!(spans[0].text, "abc1234");
        // What the request wrote is the user's, and xargs' replace string is
        // not a file.
        assert!(find(
            "curl -O https://example.com/a.txt",
            "get https://example.com/a.txt"
        )
        .is_empty());
        assert!(find("xargs -IFILE mv FILE ./x", "move them").is_empty());
    }

    #[test]
    fn positions_count_characters() {
        let spans = find("echo été <name>", "x");
        assert_eq!((spans[0].start, spans[0].end), (9, 15));
    }

    #[test]
    fn a_name_the_request_wrote_and_the_model_changed_is_put_back() {
        let mut f = folder(None, None, &[]);
        f.facts.written = vec!["names.txt".into()];
        f.facts.names = vec!["names.txt".into(), "names-old.txt".into()];
        let req = "sort the file names.txt and remove duplicates";
        assert_eq!(fill("sort -u file_names.txt", req, &f), "sort -u names.txt");
        assert_eq!(fill("sort -u Names.txt", req, &f), "sort -u names.txt");
        // A file that exists is the model's choice, right or wrong; a path
        // elsewhere is another file; a name kept is left alone.
        assert_eq!(
            fill("sort -u names-old.txt", req, &f),
            "sort -u names-old.txt"
        );
        assert_eq!(
            fill("sort -u data/names.txt", req, &f),
            "sort -u data/names.txt"
        );
        assert_eq!(
            fill("sort -u names.txt > my_names.txt", req, &f),
            "sort -u names.txt > my_names.txt"
        );
        // Nothing written out: nothing to keep.
        f.facts.written.clear();
        assert_eq!(
            fill("sort -u file_names.txt", req, &f),
            "sort -u file_names.txt"
        );
    }

    #[test]
    fn a_push_of_the_branch_alone_gets_its_remote() {
        let f = folder(Some("fix/login"), Some("origin"), &[]);
        assert_eq!(
            fill("git push fix/login", "push it", &f),
            "git push origin fix/login"
        );
        assert_eq!(
            fill("git push -u fix/login", "push it", &f),
            "git push -u origin fix/login"
        );
        for whole in [
            "git push origin fix/login",
            "git push",
            "git push other-branch",
        ] {
            assert_eq!(fill(whole, "push it", &f), whole);
        }
        // No remote known: left as written.
        let f = folder(Some("fix/login"), None, &[]);
        assert_eq!(
            fill("git push fix/login", "push it", &f),
            "git push fix/login"
        );
    }
}
