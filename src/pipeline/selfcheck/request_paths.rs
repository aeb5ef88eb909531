//! A path the user wrote out that the command cut down to its last part.
//!
//! Asked about `/var/app/logs/app.log`, a small model sometimes answers with
//! plain `app.log`, which names a different file (or none) in the user's
//! directory. When the request spells out an absolute path and the command
//! uses only its file name, with neither the path nor its directory anywhere,
//! the self-check names the path so the retry can put it back.

/// Absolute paths written in the request (`/a/b.txt`), without trailing
/// punctuation; quoted or back-ticked paths count too.
fn request_paths(request: &str) -> impl Iterator<Item = &str> {
    request
        .split(|c: char| c.is_whitespace() || "\"'`(),;=".contains(c))
        .filter(|w| w.starts_with('/'))
        .map(|w| w.trim_end_matches(['.', ':', '/', '?', '!']))
}

/// Whether `name` occurs in `command` as a word of its own: not part of a
/// longer name and not the end of a longer path.
fn used_alone(command: &str, name: &str) -> bool {
    let part_of_name = |c: char| c.is_alphanumeric() || "/._-".contains(c);
    command.match_indices(name).any(|(at, _)| {
        let before = command[..at].chars().next_back();
        let after = command[at + name.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
}

/// The problem when `command` uses the bare name of a path the request wrote
/// in full; `None` otherwise.
pub(super) fn dropped_path(request: &str, command: &str) -> Option<String> {
    request_paths(request).find_map(|path| {
        let (dir, name) = path.rsplit_once('/')?;
        if dir.is_empty() || name.is_empty() || command.contains(dir) {
            return None;
        }
        // `fancontrol` for `/etc/fancontrol`: the program, not the file.
        // (Parsed only here: most requests name no path the command drops.)
        if !used_alone(command, name) || crate::safety::programs(command).iter().any(|p| p == name)
        {
            return None;
        }
        Some(format!(
            "the request names `{path}` but the command uses `{name}` without its directory; \
             keep the path as the user wrote it"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_down_path_is_named() {
        let p = dropped_path(
            "Count lines in /workspace/dir1/a.txt ignoring empty lines",
            "grep -v '^$' a.txt | wc -l",
        )
        .unwrap();
        assert!(
            p.contains("`/workspace/dir1/a.txt`") && p.contains("`a.txt`"),
            "{p}"
        );
        assert!(dropped_path("show \"/etc/nginx/nginx.conf\".", "cat nginx.conf").is_some());
    }

    #[test]
    fn kept_paths_and_other_uses_pass() {
        for (req, cmd) in [
            (
                "Count lines in /workspace/dir1/a.txt",
                "wc -l /workspace/dir1/a.txt",
            ),
            (
                "Count lines in /workspace/dir1/a.txt",
                "cd /workspace/dir1 && wc -l a.txt",
            ),
            ("list /workspace", "ls"),
            ("use the config in /etc/fancontrol", "fancontrol"),
            ("copy /srv/a.txt here", "cp /srv/a.txt ."),
            (
                "back up /srv/data/a.txt",
                "cp /srv/data/a.txt /backup/a.txt.bak",
            ),
            ("find a.txt", "find . -name a.txt"),
        ] {
            assert_eq!(dropped_path(req, cmd), None, "{req} -> {cmd}");
        }
    }
}
