//! A one-level glob where the request asked for the whole tree.
//!
//! "in all files under the /srv directory tree" answered with
//! `grep -i hello /srv/*` searches one level and skips every subdirectory.
//! When the request says tree, recursively or subdirectories, and the
//! command reaches files only through a `DIR/*` glob with no program that
//! walks directories itself, the self-check names the glob so the retry can
//! search the tree.

use crate::safety::Invocation;

/// Words with which a request asks for a whole tree.
const TREE_WORDS: &[&str] = &[
    "tree",
    "recursive",
    "subdirector",
    "sub-director",
    "sub director",
    "subfolder",
    "sub-folder",
    "sub folder",
];

/// Words that, shortly before a tree word, turn it around ("do not search
/// in the subdirectories").
const NEGATIONS: &[&str] = &["not ", "n't ", "no ", "without ", "except ", "exclud"];

/// Whether the request asks for a whole tree (and not for everything but).
fn asks_for_tree(request: &str) -> bool {
    let lower = request.to_lowercase();
    TREE_WORDS.iter().any(|w| {
        lower.match_indices(w).any(|(at, _)| {
            let from = lower[..at]
                .char_indices()
                .rev()
                .nth(29)
                .map_or(0, |(i, _)| i);
            !NEGATIONS.iter().any(|n| lower[from..at].contains(n))
        })
    })
}

/// Programs that walk directories on their own.
const WALKERS: &[&str] = &["du", "find", "locate", "rsync", "tar", "tree", "zip"];

/// Options that make a program walk directories (`grep -r`, `cp -R`, `ls -R`).
fn recursive_option(option: &str) -> bool {
    match option.strip_prefix("--") {
        Some(long) => long.starts_with("recursive") || long.starts_with("dereference-recursive"),
        None => option.starts_with('-') && option[1..].contains(['r', 'R']),
    }
}

/// The first argument that globs one level below a directory (`/srv/*`,
/// `logs/*.txt`), with the program it is given to.
fn one_level_glob(invocations: &[Invocation]) -> Option<(&str, &str)> {
    invocations.iter().find_map(|i| {
        i.args
            .iter()
            .find(|a| {
                !a.starts_with('-')
                    && !a.contains("**")
                    && a.rsplit_once('/')
                        .is_some_and(|(_, last)| last.contains('*'))
            })
            .map(|a| (i.program.as_str(), a.as_str()))
    })
}

/// The problem when the request asks for a tree and the command globs one
/// level; `None` otherwise. It names the way to walk the tree: `grep -r`
/// for grep, `find` for anything else.
pub(super) fn one_level(request: &str, invocations: &[Invocation]) -> Option<String> {
    if !asks_for_tree(request) {
        return None;
    }
    let walks = invocations.iter().any(|i| {
        WALKERS.contains(&i.program.as_str()) || i.options.iter().any(|o| recursive_option(o))
    });
    if walks {
        return None;
    }
    let (program, glob) = one_level_glob(invocations)?;
    let dir = glob.rsplit_once('/').map_or(".", |(d, _)| d);
    let dir = if dir.is_empty() { "/" } else { dir };
    let how = if program == "grep" {
        format!("`grep -r … {dir}`")
    } else {
        format!("`find {dir} …`")
    };
    Some(format!(
        "the request asks for the whole directory tree, but `{glob}` matches one level only; \
         search the tree with {how}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::invocations;

    fn check(request: &str, command: &str) -> Option<String> {
        one_level(request, &invocations(command))
    }

    #[test]
    fn a_one_level_glob_for_a_tree_is_named() {
        let p = check(
            "Search for 'hello' in all files under /workspace directory tree",
            "grep -i 'hello' /workspace/*",
        )
        .unwrap();
        assert!(p.contains("`/workspace/*`"), "{p}");
        assert!(p.ends_with("with `grep -r … /workspace`"), "{p}");
        assert!(check(
            "Concatenate all .txt files residing in the /system tree into one file",
            "cat /system/folder3/*.txt > /tmp/all.txt"
        )
        .unwrap()
        .ends_with("with `find /system/folder3 …`"));
    }

    #[test]
    fn walking_commands_and_flat_requests_pass() {
        for (request, command) in [
            ("hello in the /srv tree", "grep -ri hello /srv"),
            ("hello in the /srv tree", "grep -ri hello /srv/*"),
            (
                "recursively remove the .txt files in /srv",
                "rm -rf /srv/*.txt",
            ),
            (
                "archive all subdirectories of /srv",
                "tar -czf a.tgz /srv/*",
            ),
            ("all .log files in the tree", "find . -name '*.log'"),
            ("all .log files in the tree", "cat **/*.log"),
            ("hello in the files in /srv", "grep hello /srv/*"),
            ("sizes in the /srv tree", "du -sh /srv/*"),
            (
                "the folders in /srv; do not search the sub directories",
                "ls -d /srv/*",
            ),
            (
                "move the files in /srv but not those in its subfolders",
                "mv /srv/* /",
            ),
        ] {
            assert_eq!(check(request, command), None, "{command}");
        }
    }
}
