//! Invented commands of tools that have a fixed set of them, and names a
//! folder's manifest does not declare.
//!
//! Asked in a project, a small model knows the tool and guesses its command:
//! `poetry test` for `poetry run pytest`, `uv mytool` for `uv run mytool`,
//! `npm build` for `npm run build`, `go tidy` for `go mod tidy`, a branch
//! name where git wants a command (`git feature/x --set-upstream-to ...`).
//! Each of these tools has a closed list of commands (plus, for git and
//! cargo, aliases and `git-NAME`/`cargo-NAME` programs in `PATH`), so the
//! slip is cheap to see and one more request that names it usually fixes
//! it. The same goes for a script, recipe or service the folder's manifest
//! does not declare (`npm run serve` where package.json has `dev`, `docker
//! compose restart svc` where compose has `queue`): the snapshot lines the
//! model was shown list them ([`crate::pipeline::folder`]).

use crate::pipeline::folder::{project_lines, ProjectLine};
use crate::safety::Invocation;

/// Tools with a fixed set of commands: (program, its commands, a hint for
/// a word that is not one of them).
#[rustfmt::skip]
const TOOLS: &[(&str, &[&str], &str)] = &[
    ("go", &[
        "bug", "build", "clean", "doc", "env", "fix", "fmt", "generate", "get", "install", "list",
        "mod", "work", "run", "telemetry", "test", "tool", "version", "vet", "help",
    ], "go's commands are build, run, test, vet, fmt, get, install, mod (e.g. `go mod tidy`), clean, list"),
    ("uv", &[
        "run", "init", "add", "remove", "version", "sync", "lock", "export", "tree", "tool",
        "python", "pip", "venv", "build", "publish", "cache", "self", "help", "format", "auth",
        "generate-shell-completion",
    ], "a program in the project's environment runs with `uv run PROGRAM`"),
    ("poetry", &[
        "about", "add", "build", "cache", "check", "config", "debug", "env", "export", "help",
        "init", "install", "list", "lock", "new", "publish", "python", "remove", "run", "search",
        "self", "shell", "show", "source", "sync", "update", "version",
    ], "a program in the project's environment runs with `poetry run PROGRAM`"),
    ("npm", &[
        "access", "adduser", "audit", "bugs", "cache", "ci", "completion", "config", "dedupe",
        "deprecate", "diff", "dist-tag", "docs", "doctor", "edit", "exec", "explain", "explore",
        "find-dupes", "fund", "get", "help", "help-search", "hook", "init", "install",
        "install-ci-test", "install-test", "link", "ll", "login", "logout", "ls", "org",
        "outdated", "owner", "pack", "ping", "pkg", "prefix", "profile", "prune", "publish",
        "query", "rebuild", "repo", "restart", "root", "run", "run-script", "sbom", "search",
        "set", "shrinkwrap", "star", "stars", "start", "stop", "team", "test", "token",
        "uninstall", "unpublish", "unstar", "update", "version", "view", "whoami",
        // Aliases npm accepts.
        "i", "in", "ins", "add", "isntall", "it", "cit", "clean-install", "ic", "un", "r", "rm",
        "remove", "unlink", "up", "upgrade", "t", "tst", "x", "list", "la", "v", "info", "show",
        "home", "issues", "author", "ddp", "find", "s", "se", "why", "create", "innit", "ln",
        "rb", "urn", "rum", "c", "verison", "udpate", "dedup",
    ], "a package.json script runs with `npm run NAME`"),
    ("pip", PIP, "pip's commands are install, uninstall, list, show, freeze, download, check"),
    ("pip3", PIP, "pip's commands are install, uninstall, list, show, freeze, download, check"),
    ("cargo", &[
        "add", "bench", "build", "check", "clean", "clippy", "config", "doc", "fetch", "fix",
        "fmt", "generate-lockfile", "help", "info", "init", "install", "locate-project", "login",
        "logout", "metadata", "miri", "new", "owner", "package", "pkgid", "publish",
        "read-manifest", "remove", "report", "run", "rustc", "rustdoc", "search", "test", "tree",
        "uninstall", "update", "vendor", "verify-project", "version", "yank", "b", "c", "d", "r",
        "t", "rm",
        // Widely installed `cargo-NAME` programs.
        "watch", "nextest", "audit", "outdated", "edit", "expand", "udeps", "machete", "deny",
        "tarpaulin", "llvm-cov", "make", "insta", "bloat", "flamegraph", "binstall", "release",
        "dist", "sort", "semver-checks", "upgrade", "set-version", "deb", "generate", "chef",
        "leptos", "shuttle", "zigbuild", "cross", "criterion", "mutants", "hack", "msrv",
    ], "cargo's commands are build, run, test, check, bench, doc, fmt, clippy, add, update, clean"),
    ("git", &[
        "add", "am", "annotate", "apply", "archive", "backfill", "bisect", "blame", "branch",
        "bundle", "cat-file", "check-attr", "check-ignore", "check-mailmap", "check-ref-format",
        "checkout", "checkout-index", "cherry", "cherry-pick", "citool", "clean", "clone",
        "column", "commit", "commit-graph", "commit-tree", "config", "count-objects",
        "credential", "describe", "diff", "diff-files", "diff-index", "diff-tree", "difftool",
        "fast-export", "fast-import", "fetch", "fetch-pack", "filter-branch", "fmt-merge-msg",
        "for-each-ref", "for-each-repo", "format-patch", "fsck", "gc", "get-tar-commit-id",
        "grep", "gui", "hash-object", "help", "hook", "index-pack", "init", "instaweb",
        "interpret-trailers", "log", "ls-files", "ls-remote", "ls-tree", "mailinfo", "mailsplit",
        "maintenance", "merge", "merge-base", "merge-file", "merge-index", "merge-tree",
        "mergetool", "mktag", "mktree", "multi-pack-index", "mv", "name-rev", "notes",
        "pack-objects", "pack-refs", "patch-id", "prune", "prune-packed", "pull", "push",
        "range-diff", "read-tree", "rebase", "reflog", "refs", "remote", "repack", "replace",
        "replay", "request-pull", "rerere", "reset", "restore", "rev-list", "rev-parse",
        "revert", "rm", "scalar", "send-email", "shortlog", "show", "show-branch", "show-index",
        "show-ref", "sparse-checkout", "stage", "stash", "status", "stripspace", "submodule",
        "switch", "symbolic-ref", "tag", "unpack-file", "unpack-objects", "update-index",
        "update-ref", "update-server-info", "var", "verify-commit", "verify-pack", "verify-tag",
        "version", "whatchanged", "worktree", "write-tree",
        // Widely installed `git-NAME` programs.
        "lfs", "flow", "filter-repo", "crypt", "secret", "annex", "absorb", "town", "extras",
    ], "git's commands include status, add, commit, push, pull, branch, switch, restore, log, diff"),
];

#[rustfmt::skip]
const PIP: &[&str] = &[
    "install", "download", "uninstall", "freeze", "inspect", "list", "show", "check", "config",
    "search", "cache", "index", "wheel", "hash", "completion", "debug", "help", "lock",
];

/// `docker compose` (and `docker-compose`) commands.
#[rustfmt::skip]
const COMPOSE: &[&str] = &[
    "attach", "build", "commit", "config", "cp", "create", "down", "events", "exec", "export",
    "images", "kill", "logs", "ls", "pause", "port", "ps", "publish", "pull", "push", "restart",
    "rm", "run", "scale", "start", "stats", "stop", "top", "unpause", "up", "version", "volumes",
    "wait", "watch", "help",
];

/// Compose commands whose other words are service names.
const COMPOSE_SERVICES_AFTER: &[&str] = &[
    "build", "create", "exec", "kill", "logs", "pause", "port", "pull", "push", "restart", "rm",
    "run", "start", "stop", "top", "unpause", "up",
];

/// Compose options followed by a value (so the value is no service).
const COMPOSE_VALUED: &[&str] = &[
    "--tail",
    "-n",
    "--since",
    "--until",
    "-t",
    "--timeout",
    "--scale",
    "--index",
    "-s",
    "--signal",
    "-u",
    "--user",
    "-w",
    "--workdir",
    "-e",
    "--env",
    "--name",
    "--entrypoint",
    "-v",
    "--volume",
    "-p",
    "--publish",
    "-l",
    "--label",
    "--wait-timeout",
    "--pull",
    "--env-file",
    "--cap-add",
    "--cap-drop",
    "--progress",
    "--build-arg",
    "--ssh",
];

/// How many script names the snapshot shows at most (`folder::MAX_SCRIPTS`):
/// a full list may have been cut, so a name missing from it proves nothing.
const LISTED_AT_MOST: usize = 8;

/// The problem when `inv` runs a command its tool does not have.
pub(super) fn unknown_command(inv: &Invocation) -> Option<String> {
    let sub = inv.args.first()?;
    if sub.starts_with(['-', '+']) {
        return None;
    }
    let program = inv.program.as_str();
    if program == "docker-compose" || (program == "docker" && sub == "compose") {
        let rest = if program == "docker" {
            &inv.args[1..]
        } else {
            &inv.args[..]
        };
        let sub = rest.first()?;
        return (!sub.starts_with('-') && !COMPOSE.contains(&sub.as_str())).then(|| {
            format!("`{sub}` is not a docker compose command (up, down, logs, restart, exec, ps, build)")
        });
    }
    let (_, commands, hint) = TOOLS.iter().find(|(p, _, _)| *p == program)?;
    if commands.contains(&sub.as_str()) || external(program, sub) {
        return None;
    }
    Some(format!(
        "`{program} {sub}` is not a {program} command; {hint}"
    ))
}

/// True when `git-NAME`/`cargo-NAME` is a program in `PATH`, or `NAME` is
/// one of the user's git aliases.
fn external(program: &str, sub: &str) -> bool {
    if !matches!(program, "git" | "cargo") || sub.contains('/') {
        return false;
    }
    if super::installed::is_available(&format!("{program}-{sub}")) {
        return true;
    }
    program == "git"
        && std::process::Command::new("git")
            .args(["config", "--get", &format!("alias.{sub}")])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
}

/// The project lines in `lines` whose manifest is in the folder itself (a
/// manifest in a parent folder runs elsewhere).
fn projects_here(lines: &[String]) -> impl Iterator<Item = ProjectLine<'_>> {
    project_lines(lines).filter(ProjectLine::here)
}

/// Names a project line declares, by its tool: `project: Node.js
/// (package.json, npm; scripts: build test)` gives ("npm", "scripts",
/// [build, test]). Only projects at the folder itself and only lists that
/// were not cut short.
fn declared(lines: &[String]) -> Vec<(&str, &str, Vec<&str>)> {
    projects_here(lines)
        .filter_map(|p| {
            let (what, names) = p.list?;
            (names.len() < LISTED_AT_MOST).then_some((p.tool, what, names))
        })
        .collect()
}

/// Node tools' commands that install, run or list a project's packages.
const NPM_PROJECT_COMMANDS: &[&str] = &[
    "install",
    "i",
    "ci",
    "add",
    "run",
    "run-script",
    "test",
    "t",
    "start",
    "list",
    "ls",
    "update",
    "up",
    "outdated",
    "remove",
    "uninstall",
    "rm",
    "un",
    "audit",
    "why",
    "exec",
];

/// The problem when `inv` drives a Node project with npm where the
/// folder's lockfile says yarn, pnpm or bun (npm would write a second
/// lockfile and may resolve other versions).
pub(super) fn other_package_manager(inv: &Invocation, lines: &[String]) -> Option<String> {
    let sub = inv.args.first()?;
    if inv.program != "npm" || !NPM_PROJECT_COMMANDS.contains(&sub.as_str()) {
        return None;
    }
    let tool = projects_here(lines).find(|p| p.kind == "Node.js")?.tool;
    matches!(tool, "yarn" | "pnpm" | "bun").then(|| {
        format!("this folder's Node.js project uses {tool} (its lockfile), not npm; use {tool}")
    })
}

/// `docker` commands that take a container's name first.
const CONTAINER_COMMANDS: &[&str] = &[
    "exec", "logs", "restart", "stop", "start", "attach", "kill", "top", "port",
];

/// The problem when plain `docker` is given the name of one of this
/// folder's compose services as a container (`docker exec -it api bash`):
/// compose names the container after the project (`shop-api-1`), so only
/// `docker compose exec api` reaches it.
pub(super) fn service_as_container(inv: &Invocation, lines: &[String]) -> Option<String> {
    let (sub, rest) = inv.args.split_first()?;
    if inv.program != "docker" || !CONTAINER_COMMANDS.contains(&sub.as_str()) {
        return None;
    }
    let name = rest.iter().find(|a| !a.starts_with('-'))?;
    let compose = projects_here(lines).find(|p| p.tool == "docker compose")?;
    let (_, services) = compose.list?;
    services.contains(&name.as_str()).then(|| {
        format!(
            "`{name}` is a service of this folder's compose file, not a container's name (compose names its container otherwise); `docker compose {sub} {name}` reaches it"
        )
    })
}

/// The problem when `inv` runs a script, recipe or service the folder's
/// manifest (as `lines` show it) does not declare.
pub(super) fn undeclared_name(inv: &Invocation, lines: &[String]) -> Option<String> {
    let declared = declared(lines);
    let find = |tool: &str| declared.iter().find(|(t, _, _)| *t == tool);
    let program = inv.program.as_str();
    let args: Vec<&str> = inv.args.iter().map(String::as_str).collect();
    let missing = |tool: &str, name: &str| -> Option<String> {
        let (_, what, names) = find(tool)?;
        (!names.contains(&name)).then(|| {
            format!(
                "this folder's {tool} {what} are {}; there is no `{name}`",
                names.join(", ")
            )
        })
    };
    match (program, args.as_slice()) {
        ("npm" | "pnpm" | "yarn" | "bun", ["run" | "run-script", name, ..])
            if !name.starts_with('-') =>
        {
            let tool = if program == "bun" { "bun" } else { program };
            missing(tool, name)
        }
        ("just", [name, ..]) if !name.starts_with('-') && !name.contains('=') => {
            missing("just", name)
        }
        ("docker", ["compose", rest @ ..]) | ("docker-compose", rest) => {
            let (sub, words) = rest.split_first()?;
            if !COMPOSE_SERVICES_AFTER.contains(sub) {
                return None;
            }
            let services = service_words(sub, words);
            services
                .into_iter()
                .find_map(|s| missing("docker compose", s))
        }
        _ => None,
    }
}

/// The words of `docker compose SUB WORDS…` that name services: every word
/// that is not an option or an option's value; for `exec` and `run` only
/// the first (the rest is the command run in it).
fn service_words<'a>(sub: &str, words: &'a [&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut skip = false;
    for w in words {
        if skip {
            skip = false;
            continue;
        }
        if w.starts_with('-') {
            skip = COMPOSE_VALUED.contains(w);
            continue;
        }
        if w.contains(['=', '/', '$']) || w.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        out.push(*w);
        if matches!(sub, "exec" | "run") {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(command: &str) -> Invocation {
        crate::safety::invocations(command).remove(0)
    }

    #[test]
    fn invented_commands_are_named() {
        for (c, word) in [
            ("poetry test", "poetry test"),
            ("uv mytool", "uv mytool"),
            ("uv test", "uv test"),
            ("npm build", "npm build"),
            ("go tidy", "go tidy"),
            (
                "git feature/dark-mode --set-upstream-to=origin/x",
                "git feature/dark-mode",
            ),
            ("pip requirements", "pip requirements"),
            ("cargo tests", "cargo tests"),
        ] {
            let p = unknown_command(&first(c));
            assert!(p.as_deref().is_some_and(|p| p.contains(word)), "{c}: {p:?}");
        }
        let p = unknown_command(&first("docker compose restart-all")).unwrap();
        assert!(p.contains("restart-all"), "{p}");
    }

    #[test]
    fn real_commands_aliases_and_options_pass() {
        for c in [
            "poetry run pytest",
            "uv run mytool",
            "uv add httpx",
            "npm run build",
            "npm i lodash",
            "npm test",
            "go mod tidy",
            "go test ./...",
            "git push -u origin HEAD",
            "git -C repo status",
            "git stage a.txt",
            "cargo +nightly build",
            "cargo nextest run",
            "cargo b --release",
            "pip3 install -r requirements.txt",
            "docker compose logs -f web",
            "docker-compose up -d",
            "docker run --rm app",
            "make anything",
            "yarn dev",
        ] {
            assert_eq!(unknown_command(&first(c)), None, "{c}");
        }
    }

    fn lines(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scripts_recipes_and_services_the_manifest_lacks_are_named() {
        let node = lines(&["project: Node.js (package.json, npm; scripts: build dev test)"]);
        let p = undeclared_name(&first("npm run serve"), &node).unwrap();
        assert!(
            p.contains("build, dev, test") && p.contains("`serve`"),
            "{p}"
        );
        assert_eq!(undeclared_name(&first("npm run dev"), &node), None);
        assert_eq!(
            undeclared_name(&first("npm run dev -- --port 3000"), &node),
            None
        );
        // Another tool's project says nothing about npm.
        let pnpm = lines(&["project: Node.js (package.json, pnpm; scripts: build)"]);
        assert_eq!(undeclared_name(&first("npm run serve"), &pnpm), None);
        assert!(undeclared_name(&first("pnpm run serve"), &pnpm).is_some());

        let compose =
            lines(&["project: Docker Compose (compose.yaml, docker compose; services: api queue)"]);
        let p = undeclared_name(&first("docker-compose restart svc queue"), &compose).unwrap();
        assert!(p.contains("`svc`"), "{p}");
        for ok in [
            "docker compose restart queue",
            "docker compose logs --tail 50 -f api",
            "docker compose exec api sh -c 'ls /tmp'",
            "docker compose up -d --scale api=3",
            "docker compose down",
        ] {
            assert_eq!(undeclared_name(&first(ok), &compose), None, "{ok}");
        }

        let just = lines(&["project: just (justfile, just; recipes: build test)"]);
        assert!(undeclared_name(&first("just lint"), &just).is_some());
        assert_eq!(undeclared_name(&first("just test"), &just), None);
    }

    #[test]
    fn npm_in_a_project_locked_by_another_manager_is_named() {
        let yarn = lines(&["project: Node.js (package.json, yarn; scripts: dev)"]);
        let p = other_package_manager(&first("npm install"), &yarn).unwrap();
        assert!(p.contains("uses yarn"), "{p}");
        assert!(other_package_manager(&first("npm list"), &yarn).is_some());
        assert_eq!(other_package_manager(&first("yarn install"), &yarn), None);
        assert_eq!(
            other_package_manager(&first("npm view react version"), &yarn),
            None
        );
        let npm = lines(&["project: Node.js (package.json, npm)"]);
        assert_eq!(other_package_manager(&first("npm install"), &npm), None);
        let sub = lines(&["project: Node.js (web/package.json, pnpm)"]);
        assert_eq!(other_package_manager(&first("npm install"), &sub), None);
    }

    #[test]
    fn a_compose_service_given_to_plain_docker_is_named() {
        let compose =
            lines(&["project: docker compose (compose.yaml, docker compose; services: api cache)"]);
        for cmd in [
            "docker exec -it api /bin/bash",
            "docker logs -f cache",
            "docker restart api",
        ] {
            let p = service_as_container(&first(cmd), &compose).unwrap_or_else(|| panic!("{cmd}"));
            assert!(p.contains("docker compose"), "{p}");
        }
        for ok in [
            "docker compose exec api sh",
            "docker exec -it shop-api-1 sh",
            "docker ps",
            "docker logs -f web",
        ] {
            assert_eq!(service_as_container(&first(ok), &compose), None, "{ok}");
        }
        // Without a compose file here, any name may be a container's.
        let none = lines(&["files here: notes.txt"]);
        assert_eq!(
            service_as_container(&first("docker exec -it api sh"), &none),
            None
        );
    }

    #[test]
    fn lists_that_may_be_cut_or_belong_elsewhere_prove_nothing() {
        let full = lines(&["project: Node.js (package.json, npm; scripts: a b c d e f g h)"]);
        assert_eq!(undeclared_name(&first("npm run zzz"), &full), None);
        let sub = lines(&["project: Node.js (web/package.json, npm; scripts: build)"]);
        assert_eq!(undeclared_name(&first("npm run zzz"), &sub), None);
        let none = lines(&["project: Node.js (package.json, npm)"]);
        assert_eq!(undeclared_name(&first("npm run zzz"), &none), None);
    }
}
