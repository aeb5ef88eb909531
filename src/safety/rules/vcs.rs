//! Version-control rules: git commands that throw away work or rewrite shared
//! history.
//!
//! Why this exists: `git reset --hard`, `git clean -fdx` and `git push
//! --force` are ordinary-looking commands that destroy uncommitted work or a
//! team's history. Global options (`git -C dir push -f`) are skipped so the
//! subcommand is found, and messages (`git commit -m "drop database"`) are
//! never read as commands.

use crate::safety::lower::opts;
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;

const CAT: &str = "vcs";

pub(crate) const FORCE_PUSH: Rule = rule(
    "git.force_push",
    High,
    CAT,
    "force-pushes, overwriting commits on the remote that others may depend on",
);
pub(crate) const RESET_HARD: Rule = rule(
    "git.reset_hard",
    High,
    CAT,
    "throws away all uncommitted changes in the working tree",
);
pub(crate) const CLEAN_FORCE: Rule = rule("git.clean_force", High, CAT, "permanently deletes untracked folders or ignored files (build outputs, local config) from the working tree");
pub(crate) const CLEAN_FILES: Rule = rule(
    "git.clean_files",
    Moderate,
    CAT,
    "permanently deletes untracked files from the working tree",
);
pub(crate) const CHECKOUT_DISCARD: Rule = rule(
    "git.discard_changes",
    Moderate,
    CAT,
    "discards uncommitted changes to files",
);
pub(crate) const BRANCH_FORCE_DELETE: Rule = rule(
    "git.branch_force_delete",
    Moderate,
    CAT,
    "deletes a branch even if its commits are not merged anywhere",
);
pub(crate) const PUSH_DELETE: Rule = rule(
    "git.push_delete",
    Moderate,
    CAT,
    "deletes a branch or tag on the remote",
);
pub(crate) const HISTORY_REWRITE: Rule = rule(
    "git.history_rewrite",
    Moderate,
    CAT,
    "rewrites the repository history",
);
pub(crate) const REFLOG_EXPIRE: Rule = rule(
    "git.reflog_expire",
    High,
    CAT,
    "expires the reflog and prunes now, removing the safety net for recovering lost commits",
);
pub(crate) const STASH_CLEAR: Rule = rule(
    "git.stash_clear",
    Moderate,
    CAT,
    "deletes all stashed changes",
);
pub(crate) const RM_GIT_DIR: Rule = rule(
    "git.rm_git_dir",
    High,
    CAT,
    "deletes the repository's .git folder with its whole history",
);

pub(crate) const DEFAULT_BRANCH_DELETE: Rule = rule(
    "git.default_branch_delete",
    High,
    CAT,
    "deletes the main branch on the remote; everyone's clones and open pull requests lose the branch they are based on",
);
pub(crate) const REPO_DELETE: Rule = rule(
    "git.repo_delete",
    High,
    CAT,
    "deletes a hosted repository with its issues, pull requests and releases, without asking",
);

pub(crate) const RULES: &[Rule] = &[
    DEFAULT_BRANCH_DELETE,
    REPO_DELETE,
    FORCE_PUSH,
    RESET_HARD,
    CLEAN_FORCE,
    CLEAN_FILES,
    CHECKOUT_DISCARD,
    BRANCH_FORCE_DELETE,
    PUSH_DELETE,
    HISTORY_REWRITE,
    REFLOG_EXPIRE,
    STASH_CLEAR,
    RM_GIT_DIR,
];

pub(crate) fn check(c: &Cmd, _cx: &Cx, out: &mut Out) {
    if c.name == "rm" {
        let o = opts(&c.args, "", &[]);
        if (o.has('r') || o.has('R') || o.has_long("recursive"))
            && o.operands.iter().any(|w| {
                let t = w.text.trim_end_matches('/');
                t == ".git" || t.ends_with("/.git")
            })
        {
            out.add(&RM_GIT_DIR, c.span.clone());
        }
        return;
    }
    if c.name == "gh" {
        return check_gh(c, out);
    }
    if c.name != "git" {
        return;
    }
    // Skip global options: -C dir, -c k=v, --git-dir=x, --work-tree x.
    let mut i = 0;
    while i < c.args.len() {
        let t = c.args[i].text.as_str();
        if t == "-C" || t == "-c" || t == "--git-dir" || t == "--work-tree" || t == "--namespace" {
            i += 2;
        } else if t.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    let Some(sub) = c.args.get(i) else { return };
    let rest = &c.args[i + 1..];
    let o = opts(rest, "", &[]);
    let has_text = |x: &str| rest.iter().any(|w| w.text == x);
    match sub.text.as_str() {
        "push" => {
            let forced = o.has('f')
                || o.long.iter().any(|(l, _)| *l == "force" || *l == "mirror")
                || o.operands.iter().skip(1).any(|w| w.text.starts_with('+'));
            if forced {
                out.add(&FORCE_PUSH, c.span.clone());
                return;
            }
            let delete_all = o.has('d') || o.has_long("delete");
            let deleted: Vec<&str> = o
                .operands
                .iter()
                .skip(1)
                .filter_map(|w| match w.text.strip_prefix(':') {
                    Some(b) if !b.is_empty() => Some(b),
                    _ if delete_all => Some(w.text.as_str()),
                    _ => None,
                })
                .collect();
            let remote = o.operands.first().map_or("origin", |w| w.text.as_str());
            if let Some(b) = deleted.iter().find(|b| is_default_branch(b)) {
                let note = format!("deletes the branch {} on the remote {remote}; everyone's clones and open pull requests lose the branch they are based on", b.trim_start_matches("refs/heads/"));
                out.add_note(&DEFAULT_BRANCH_DELETE, c.span.clone(), note);
            } else if !deleted.is_empty() || delete_all {
                out.add(&PUSH_DELETE, c.span.clone());
            }
        }
        "reset" if o.has_long("hard") => {
            out.add(&RESET_HARD, c.span.clone());
        }
        "clean" => {
            let force = o.has('f') || o.has_long("force");
            let dry =
                o.has('n') || o.has_long("dry-run") || o.has('i') || o.has_long("interactive");
            let wide = o.has('d') || o.has('x') || o.has('X');
            if force && !dry {
                out.add(
                    if wide { &CLEAN_FORCE } else { &CLEAN_FILES },
                    c.span.clone(),
                );
            }
        }
        "checkout" | "restore" => {
            let all = o.operands.iter().any(|w| w.text == "." || w.text == ":/");
            let dashdash = has_text("--");
            if sub.text == "restore" && all && !o.has('S') && !o.has_long("staged")
                || sub.text == "checkout" && dashdash && all
                || sub.text == "checkout"
                    && (o.has('f') || o.has_long("force"))
                    && o.operands.is_empty()
            {
                out.add(&CHECKOUT_DISCARD, c.span.clone());
            }
        }
        "branch" if (o.has('D') || (o.has('d') && (o.has('f') || o.has_long("force")))) => {
            out.add(&BRANCH_FORCE_DELETE, c.span.clone());
        }
        "filter-branch" | "filter-repo" => out.add(&HISTORY_REWRITE, c.span.clone()),
        "reflog"
            if o.operands.first().is_some_and(|w| w.text == "expire")
                && rest
                    .iter()
                    .any(|w| w.text.starts_with("--expire") && w.text.ends_with("=now")) =>
        {
            out.add(&REFLOG_EXPIRE, c.span.clone());
        }
        "stash" if o.operands.first().is_some_and(|w| w.text == "clear") => {
            out.add(&STASH_CLEAR, c.span.clone());
        }
        _ => {}
    }
}

/// The branch names a repository's default branch has.
fn is_default_branch(b: &str) -> bool {
    matches!(
        b.trim_start_matches("refs/heads/"),
        "main" | "master" | "trunk"
    )
}

/// `gh repo delete --yes`, `gh api -X DELETE repos/OWNER/REPO` (and its
/// default branch's ref).
fn check_gh(c: &Cmd, out: &mut Out) {
    let ops: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
    let has = |x: &str| c.arg_texts().any(|t| t == x);
    match ops.as_slice() {
        ["repo", "delete", rest @ ..] if has("--yes") || has("-y") || has("--confirm") => {
            let repo = rest
                .first()
                .map_or("the current repository".to_string(), |r| r.to_string());
            out.add_note(&REPO_DELETE, c.span.clone(), format!("deletes {repo} on GitHub with its issues, pull requests and releases, without asking"));
        }
        ["api", ..] => {
            let method = c.args.windows(2).find_map(|w| {
                matches!(w[0].text.as_str(), "-X" | "--method")
                    .then(|| w[1].text.to_ascii_uppercase())
            });
            let delete = method.as_deref() == Some("DELETE")
                || c.arg_texts().any(|t| {
                    t.eq_ignore_ascii_case("-XDELETE") || t.eq_ignore_ascii_case("--method=DELETE")
                });
            let Some(path) = ops
                .iter()
                .find(|p| p.trim_start_matches('/').starts_with("repos/"))
            else {
                return;
            };
            let parts: Vec<&str> = path
                .trim_start_matches('/')
                .trim_end_matches('/')
                .split('/')
                .collect();
            if !delete {
                return;
            }
            if parts.len() == 3 {
                out.add_note(&REPO_DELETE, c.span.clone(), format!("deletes the repository {}/{} on GitHub with its issues, pull requests and releases", parts[1], parts[2]));
            } else if parts.len() >= 7
                && parts[3..6] == ["git", "refs", "heads"]
                && is_default_branch(parts[6])
            {
                out.add(&DEFAULT_BRANCH_DELETE, c.span.clone());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn force_push() {
        assert_flags("git push --force", "git.force_push");
        assert_flags("git push -f origin main", "git.force_push");
        assert_flags("git -C repo push origin +main", "git.force_push");
        assert_not_flags("git push origin main", "git.force_push");
        assert_not_flags("git commit -m 'push --force'", "git.force_push");
    }

    #[test]
    fn reset_hard() {
        assert_flags("git reset --hard", "git.reset_hard");
        assert_flags("git reset --hard HEAD~3", "git.reset_hard");
        assert_not_flags("git reset --soft HEAD~1", "git.reset_hard");
    }

    #[test]
    fn clean_force() {
        assert_flags("git clean -fdx", "git.clean_force");
        assert_flags("git clean -f -d", "git.clean_force");
        assert_not_flags("git clean -n", "git.clean_force");
        assert_not_flags("git clean -fdn", "git.clean_force");
        assert_not_flags("git clean -f", "git.clean_force");
    }

    #[test]
    fn clean_files() {
        assert_flags("git clean -f", "git.clean_files");
        assert_flags("git clean -f -- path/to/dir", "git.clean_files");
        assert_not_flags("git clean -fd", "git.clean_files");
        assert_not_flags("git clean -n", "git.clean_files");
    }

    #[test]
    fn discard_changes() {
        assert_flags("git checkout -- .", "git.discard_changes");
        assert_flags("git restore .", "git.discard_changes");
        assert_not_flags("git checkout main", "git.discard_changes");
    }

    #[test]
    fn branch_force_delete() {
        assert_flags("git branch -D feature", "git.branch_force_delete");
        assert_not_flags("git branch -d feature", "git.branch_force_delete");
    }

    #[test]
    fn default_branch_delete() {
        assert_flags("git push origin --delete main", "git.default_branch_delete");
        assert_flags("git push origin :master", "git.default_branch_delete");
        assert_flags(
            "git push -d upstream refs/heads/trunk",
            "git.default_branch_delete",
        );
        assert_flags(
            "gh api -X DELETE repos/me/app/git/refs/heads/main",
            "git.default_branch_delete",
        );
        assert_not_flags(
            "git push origin --delete feature/x",
            "git.default_branch_delete",
        );
        assert_not_flags("git push origin main", "git.default_branch_delete");
        assert_not_flags("git branch -d main", "git.default_branch_delete");
    }

    #[test]
    fn repo_delete() {
        assert_flags("gh repo delete me/app --yes", "git.repo_delete");
        assert_flags("gh repo delete --confirm", "git.repo_delete");
        assert_flags("gh api -X DELETE repos/me/app", "git.repo_delete");
        assert_not_flags("gh repo view me/app", "git.repo_delete");
        assert_not_flags("gh api repos/me/app", "git.repo_delete");
        assert_not_flags("gh release delete v1 --yes", "git.repo_delete");
    }

    #[test]
    fn push_delete() {
        assert_flags("git push origin --delete feature", "git.push_delete");
        assert_flags("git push origin :feature", "git.push_delete");
        assert_not_flags("git push origin feature", "git.push_delete");
    }

    #[test]
    fn history_rewrite() {
        assert_flags(
            "git filter-branch --tree-filter 'rm x' HEAD",
            "git.history_rewrite",
        );
        assert_not_flags("git log", "git.history_rewrite");
    }

    #[test]
    fn reflog_expire() {
        assert_flags("git reflog expire --expire=now --all", "git.reflog_expire");
        assert_not_flags("git reflog", "git.reflog_expire");
    }

    #[test]
    fn stash_clear() {
        assert_flags("git stash clear", "git.stash_clear");
        assert_not_flags("git stash list", "git.stash_clear");
    }

    #[test]
    fn rm_git_dir() {
        assert_flags("rm -rf .git", "git.rm_git_dir");
        assert_not_flags("rm -rf .github", "git.rm_git_dir");
    }
}
