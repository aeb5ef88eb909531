//! `find … -exec rmdir` without `-depth`: removes a directory, then tries to
//! enter it, and leaves parents that empty later.
//!
//! `find` looks at a directory before its contents. With `-empty -exec rmdir`
//! it removes an empty directory and then fails to descend into it ("No such
//! file or directory", exit status 1), and a parent that becomes empty only
//! after its children go is never removed. `-depth` (contents first) fixes
//! both, and adding it changes nothing else, so the self-check repairs the
//! command in place instead of asking again.

/// Options that make `find` handle contents first (`-delete` implies it).
const DEPTH_FIRST: &[&str] = &["-depth", "-d", "-delete"];

/// Whether a `find`'s arguments run `rmdir` on what they select, contents
/// last.
fn rmdir_parents_first(program: &str, args: &[String]) -> bool {
    program == "find"
        && !args.iter().any(|a| DEPTH_FIRST.contains(&a.as_str()))
        && args.windows(2).any(|w| {
            crate::find_predicates::runs_command(&w[0])
                && crate::safety::programs(&w[1]).first().map(String::as_str) == Some("rmdir")
        })
}

/// The problem with a `find` that runs `rmdir` without `-depth`.
pub(super) fn rmdir_without_depth(program: &str, args: &[String]) -> Option<String> {
    rmdir_parents_first(program, args).then(|| {
        "`find` meets each directory before its contents, so `-exec rmdir` tries parents \
         before they are empty (and with `\\;` enters directories it removed); add `-depth`"
            .to_string()
    })
}

/// `command` with `-depth` after the starting points of its first `find`
/// that runs `rmdir` without it; `None` when there is no such `find` or it
/// names no starting point.
pub(super) fn with_depth(command: &str) -> Option<String> {
    crate::safety::invocations(command).iter().find_map(|inv| {
        if !rmdir_parents_first(&inv.program, &inv.args) {
            return None;
        }
        // Starting points come before the first option, test or `(`/`!`.
        let roots = inv
            .args
            .iter()
            .take_while(|a| !a.starts_with('-') && *a != "(" && *a != "!")
            .count();
        let end = inv.arg_spans.get(roots.checked_sub(1)?)?.end;
        let mut fixed = command.to_string();
        fixed.insert_str(end, " -depth");
        Some(fixed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn rmdir_without_depth_is_named_and_repaired() {
        let a = args(&[
            "/srv/tmp", "-type", "d", "-empty", "-exec", "rmdir", "{}", ";",
        ]);
        assert!(rmdir_without_depth("find", &a).unwrap().contains("-depth"));
        assert_eq!(
            with_depth("find /srv/tmp -type d -empty -exec rmdir {} \\;").as_deref(),
            Some("find /srv/tmp -depth -type d -empty -exec rmdir {} \\;")
        );
        assert_eq!(
            with_depth("find 'a b' c -type d -exec rmdir -v {} + | wc -l").as_deref(),
            Some("find 'a b' c -depth -type d -exec rmdir -v {} + | wc -l")
        );
    }

    #[test]
    fn depth_first_or_other_commands_are_left_alone() {
        for c in [
            "find . -depth -type d -empty -exec rmdir {} \\;",
            "find . -type d -empty -delete",
            "find . -type f -exec rm {} \\;",
            "rmdir a",
            "find -type d -exec rmdir {} \\;",
        ] {
            assert_eq!(with_depth(c), None, "{c}");
        }
        let a = args(&[".", "-type", "d", "-exec", "rm", "-r", "{}", "+"]);
        assert_eq!(rmdir_without_depth("find", &a), None);
    }
}
