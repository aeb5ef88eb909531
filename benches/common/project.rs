//! A small Rust project in git for the benchmarks that ask in a folder:
//! code, logs and an archive beside it, a branch with a remote, and one
//! file changed since the commit.

use std::path::Path;
use std::process::Command;

pub fn rust_project_in_git(root: &Path) {
    for d in ["src", "docs"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "server.log",
        "worker.log",
        "release-1.2.tgz",
        "src/main.rs",
    ] {
        std::fs::write(root.join(f), "x\n").unwrap();
    }
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(root)
            .env("GIT_AUTHOR_NAME", "b")
            .env("GIT_AUTHOR_EMAIL", "b@localhost")
            .env("GIT_COMMITTER_NAME", "b")
            .env("GIT_COMMITTER_EMAIL", "b@localhost")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "-b", "fix/ui-crash"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "start"]);
    git(&["remote", "add", "origin", "https://git.invalid/proj.git"]);
    std::fs::write(root.join("README.md"), "changed\n").unwrap();
}
