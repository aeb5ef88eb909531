//! File system rules: deleting, moving, re-permissioning or overwriting the
//! files the system and the user depend on.
//!
//! Why this exists: `rm -rf` is the most common way a generated command
//! destroys a machine. These rules judge the targets (root, home, system
//! directories, account files) rather than the mere presence of `rm`, so that
//! `rm -rf ./build` stays a mild warning while `rm -rf /`, `~`, `/usr` or a
//! `$VAR/` that may be empty are stopped.

use crate::safety::lower::opts;
use crate::safety::path_kind::{classify, is_account_file, is_shell_binary, normalize, PathClass};
use crate::safety::rules::kit::{truncate_destroys, Cx, Out, WriteMode, WriteTarget};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::{Cmd, Input};

const CAT: &str = "filesystem";

pub(crate) const RM_ROOT: Rule = rule(
    "fs.rm_root",
    Critical,
    CAT,
    "recursively deletes the root directory, which destroys the whole system",
);
pub(crate) const RM_HOME: Rule = rule(
    "fs.rm_home",
    Critical,
    CAT,
    "recursively deletes a home directory and all the files in it",
);
pub(crate) const RM_SYSTEM: Rule = rule(
    "fs.rm_system",
    Critical,
    CAT,
    "deletes a system directory the computer needs in order to run",
);
pub(crate) const RM_NO_PRESERVE_ROOT: Rule = rule(
    "fs.rm_no_preserve_root",
    Critical,
    CAT,
    "turns off rm's safeguard against deleting the root directory",
);
pub(crate) const RM_SHARED: Rule = rule("fs.rm_shared_dir", High, CAT, "deletes a whole shared folder (like /usr/local, /opt, /var/log or /mnt) that installed software, other users or the system rely on");
pub(crate) const RM_CRITICAL_FILE: Rule = rule(
    "fs.rm_critical_file",
    Critical,
    CAT,
    "deletes a file the system needs to boot or to let anyone log in",
);
pub(crate) const RM_VAR_PATH: Rule = rule("fs.rm_var_path", High, CAT, "recursively deletes a path that starts with a variable; if the variable is empty or unset, the path starts at the root directory instead");
pub(crate) const RM_UNKNOWN: Rule = rule(
    "fs.rm_unknown_targets",
    High,
    CAT,
    "recursively deletes whatever paths are fed to it, without showing them to you",
);
pub(crate) const RM_PARENT: Rule = rule(
    "fs.rm_parent",
    High,
    CAT,
    "recursively deletes the parent directory and everything around the current one",
);
pub(crate) const RM_RECURSIVE: Rule = rule(
    "fs.rm_recursive",
    Moderate,
    CAT,
    "deletes files and folders recursively; they cannot be recovered from the trash",
);
pub(crate) const FIND_DELETE_SYSTEM: Rule = rule(
    "fs.find_delete_system",
    Critical,
    CAT,
    "deletes every file below the root, a home or a system directory",
);
pub(crate) const CHMOD_RECURSIVE_SYSTEM: Rule = rule("fs.chmod_recursive_system", Critical, CAT, "changes the permissions of every file under a system directory, which breaks sudo, ssh and the system");
pub(crate) const CHOWN_RECURSIVE_SYSTEM: Rule = rule("fs.chown_recursive_system", Critical, CAT, "changes the owner of every file under a system directory, which breaks sudo, ssh and the system");
pub(crate) const CHMOD_WORLD_WRITABLE_SYSTEM: Rule = rule(
    "fs.chmod_world_writable_system",
    High,
    CAT,
    "makes a system file or directory writable by every user on the machine",
);
pub(crate) const CHMOD_RECURSIVE_HOME: Rule = rule(
    "fs.chmod_recursive_home",
    High,
    CAT,
    "opens every file of a home directory to other users, private keys and mail included",
);
pub(crate) const CHMOD_RECURSIVE_777: Rule = rule(
    "fs.chmod_recursive_777",
    Moderate,
    CAT,
    "makes every file in a folder tree writable and runnable by everyone",
);
pub(crate) const SETUID_SHELL: Rule = rule(
    "fs.setuid_shell",
    Critical,
    CAT,
    "makes a shell or interpreter run as its owner (setuid), a ready-made root backdoor",
);
pub(crate) const OVERWRITE_ACCOUNT_FILE: Rule = rule("fs.overwrite_account_file", Critical, CAT, "overwrites or empties the file that holds user accounts, passwords or sudo rights, which can lock everyone out");
pub(crate) const OVERWRITE_SYSTEM_CONFIG: Rule = rule("fs.overwrite_system_config", High, CAT, "replaces a core system configuration file (like fstab or hosts), which can stop the machine from booting or reaching the network");
pub(crate) const MV_SYSTEM: Rule = rule(
    "fs.mv_system",
    Critical,
    CAT,
    "moves the root, a home or a system directory away, which breaks the system",
);
pub(crate) const MV_TO_DEV_NULL: Rule = rule(
    "fs.mv_to_dev_null",
    High,
    CAT,
    "moves a file onto /dev/null, which destroys the file and can break /dev/null itself",
);
pub(crate) const RSYNC_DELETE_SYSTEM: Rule = rule("fs.rsync_delete_system", Critical, CAT, "mirrors into the root, a home or a system directory with --delete, removing everything not in the source");
pub(crate) const SHRED_FILES: Rule = rule(
    "fs.shred_files",
    Moderate,
    CAT,
    "overwrites files so that they can never be recovered",
);
pub(crate) const FIND_DELETE: Rule = rule(
    "fs.find_delete",
    Moderate,
    CAT,
    "deletes every file find selects, with no list to check first and no undo",
);
pub(crate) const FIND_DELETE_WIDE: Rule = rule(
    "fs.find_delete_wide",
    High,
    CAT,
    "deletes matching files everywhere under the root, a home, a system or a shared directory",
);
pub(crate) const RM_SYSTEM_SUBTREE: Rule = rule(
    "fs.rm_system_subtree",
    High,
    CAT,
    "recursively deletes part of a system directory (like /usr, /lib, /etc or /boot), which can break installed programs or the boot",
);
pub(crate) const RM_SYSTEM_FILE: Rule = rule(
    "fs.rm_system_file",
    High,
    CAT,
    "deletes a system program, library or core configuration file",
);
pub(crate) const MOVE_SYSTEM_FILE: Rule = rule(
    "fs.move_system_file",
    High,
    CAT,
    "moves a system program, library or core configuration file away, so the system can no longer find it",
);
pub(crate) const WRITE_SYSTEM_FILE: Rule = rule(
    "fs.write_system_file",
    High,
    CAT,
    "copies or moves files over system programs, libraries or core configuration files",
);
pub(crate) const LINK_SYSTEM_FILE: Rule = rule(
    "fs.link_system_file",
    High,
    CAT,
    "replaces a system file with a link, so the system reads or runs something else in its place",
);
pub(crate) const TRUNCATE_FILES: Rule = rule(
    "fs.truncate_files",
    Moderate,
    CAT,
    "empties every file a pattern matches, destroying their contents",
);
pub(crate) const TRUNCATE_MANY: Rule = rule(
    "fs.truncate_many",
    High,
    CAT,
    "empties or overwrites every file in a folder at once, destroying their contents",
);
pub(crate) const TRUNCATE_SYSTEM: Rule = rule(
    "fs.truncate_system",
    Critical,
    CAT,
    "empties or overwrites the files of the root, a home or a system directory",
);

pub(crate) const RULES: &[Rule] = &[
    RM_ROOT,
    RM_HOME,
    RM_SYSTEM,
    RM_SHARED,
    RM_NO_PRESERVE_ROOT,
    RM_CRITICAL_FILE,
    RM_VAR_PATH,
    RM_UNKNOWN,
    RM_PARENT,
    RM_RECURSIVE,
    FIND_DELETE_SYSTEM,
    CHMOD_RECURSIVE_SYSTEM,
    CHOWN_RECURSIVE_SYSTEM,
    CHMOD_WORLD_WRITABLE_SYSTEM,
    CHMOD_RECURSIVE_HOME,
    CHMOD_RECURSIVE_777,
    SETUID_SHELL,
    OVERWRITE_ACCOUNT_FILE,
    OVERWRITE_SYSTEM_CONFIG,
    MV_SYSTEM,
    MV_TO_DEV_NULL,
    RSYNC_DELETE_SYSTEM,
    SHRED_FILES,
    FIND_DELETE,
    FIND_DELETE_WIDE,
    RM_SYSTEM_SUBTREE,
    RM_SYSTEM_FILE,
    MOVE_SYSTEM_FILE,
    WRITE_SYSTEM_FILE,
    LINK_SYSTEM_FILE,
    TRUNCATE_FILES,
    TRUNCATE_MANY,
    TRUNCATE_SYSTEM,
];

/// Trees whose every file belongs to the operating system: programs,
/// libraries, the kernel, the package database. (`/usr/local` is not one.)
const SYSTEM_TREES: &[&str] = &[
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr",
    "/boot",
    "/etc",
    "/var/lib",
    "/System",
    "/private/etc",
];

/// Parts of those trees that hold what the user installed or may clear.
const USER_SUBTREES: &[&str] = &[
    "/usr/local",
    "/usr/src",
    "/var/lib/apt/lists",
    "/usr/share/doc",
];

fn under(p: &str, dir: &str) -> bool {
    p.len() > dir.len() && p.starts_with(dir) && p.as_bytes()[dir.len()] == b'/'
}

/// A path strictly inside a system tree (the tree itself is `fs.rm_system`).
pub(crate) fn in_system_tree(p: &str) -> bool {
    SYSTEM_TREES.iter().any(|d| under(p, d))
        && !USER_SUBTREES.iter().any(|d| p == *d || under(p, d))
}

/// Trees of programs, libraries and the kernel: every file in them is one
/// the system runs or loads.
const PROGRAM_TREES: &[&str] = &[
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/boot",
    "/System",
];

/// Files directly in /etc that every login, boot or program start reads
/// (the account files and fstab-like ones have rules of their own).
const CORE_ETC_FILES: &[&str] = &[
    "profile",
    "environment",
    "bash.bashrc",
    "bashrc",
    "zshrc",
    "zshenv",
    "zprofile",
    "sudo.conf",
    "ld.so.conf",
    "ld.so.cache",
    "modules",
    "crontab",
    "rc.local",
    "os-release",
    "shells",
    "securetty",
    "localtime",
    "machine-id",
    "sysctl.conf",
    "services",
    "protocols",
    "pam.conf",
];

/// A single file whose loss or replacement breaks the system: anything in
/// the program, library and boot trees, and the core files of /etc.
pub(crate) fn is_system_file(p: &str) -> bool {
    if let Some(rest) = p
        .strip_prefix("/etc/")
        .or_else(|| p.strip_prefix("/private/etc/"))
    {
        return CORE_ETC_FILES.contains(&rest) || is_system_config(p) || is_account_file(p);
    }
    PROGRAM_TREES.iter().any(|d| under(p, d))
}

/// `*`, `dir/*`, `./*`, `.*`: every file of a folder.
fn glob_everything(p: &str) -> bool {
    let base = p.rsplit('/').next().unwrap_or(p);
    matches!(base, "*" | ".*" | "**" | "{*,.*}")
}

fn has_glob(p: &str) -> bool {
    p.bytes().any(|c| matches!(c, b'*' | b'?' | b'['))
}

/// The folder a glob lists (`/etc/*.conf` -> `/etc`).
fn glob_dir(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => ".",
    }
}

/// What `find` does to what it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FindAction {
    Delete,
    Empty,
}

fn find_action(c: &Cmd) -> Option<FindAction> {
    if c.arg_texts().any(|t| t == "-delete") {
        return Some(FindAction::Delete);
    }
    let mut action = None;
    for i in 0..c.args.len() {
        match exec_action(c, i) {
            Some(FindAction::Delete) => return Some(FindAction::Delete),
            Some(FindAction::Empty) => action = Some(FindAction::Empty),
            None => {}
        }
    }
    action
}

/// What the `-exec`-like word at `i` does to each file it is given, when it
/// runs a program that deletes or empties it.
fn exec_action(c: &Cmd, i: usize) -> Option<FindAction> {
    if !crate::find_predicates::runs_command(&c.args[i].text) {
        return None;
    }
    let p = c.args.get(i + 1)?;
    let rest: Vec<&str> = c.args[i + 2..]
        .iter()
        .take(32)
        .map(|w| w.text.as_str())
        .take_while(|t| *t != ";" && *t != "+")
        .collect();
    match crate::safety::programs::prog_name(&p.text).as_str() {
        "rm" | "rmdir" | "unlink" | "srm" | "wipe" => Some(FindAction::Delete),
        "shred"
            if rest.iter().any(|t| {
                *t == "-u"
                    || t.starts_with("--remove")
                    || (t.starts_with('-') && !t.starts_with("--") && t.contains('u'))
            }) =>
        {
            Some(FindAction::Delete)
        }
        "shred" => Some(FindAction::Empty),
        "truncate" if truncate_destroys(rest.iter().copied()) => Some(FindAction::Empty),
        "cp" if rest.first() == Some(&"/dev/null") => Some(FindAction::Empty),
        _ => None,
    }
}

fn is_system_config(path: &str) -> bool {
    let p = path.trim_end_matches('/');
    matches!(
        p,
        "/etc/fstab"
            | "/etc/hosts"
            | "/etc/resolv.conf"
            | "/etc/hostname"
            | "/etc/crypttab"
            | "/etc/inittab"
            | "/etc/login.defs"
            | "/etc/nsswitch.conf"
            | "/etc/ssh/sshd_config"
            | "/etc/default/grub"
            | "/boot/grub/grub.cfg"
            | "/etc/pam.d/sudo"
            | "/etc/pam.d/common-auth"
            | "/etc/pam.d/system-auth"
            | "/etc/security/limits.conf"
    ) || p.starts_with("/boot/vmlinuz")
        || p.starts_with("/boot/initr")
}

/// `$VAR/...` or `${VAR}/...` with VAR not HOME or PWD.
fn is_var_prefixed(t: &str) -> bool {
    let Some(rest) = t.strip_prefix('$') else {
        return false;
    };
    let (name, after) = if let Some(r) = rest.strip_prefix('{') {
        match r.find('}') {
            Some(e) => (&r[..e], &r[e + 1..]),
            None => return false,
        }
    } else {
        let e = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (&rest[..e], &rest[e..])
    };
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(name, "HOME" | "PWD")
        && after.starts_with('/')
}

/// What a shared folder holds, for a reason.
fn shared_what(dir: &str) -> &'static str {
    match dir {
        "/var/log" => "the logs of the system and its services",
        "/var/spool" => "queued mail, print and cron jobs",
        "/var/mail" => "everyone's mail",
        "/mnt" | "/media" | "/Volumes" => "where other disks are mounted (their files go too)",
        "/srv" => "the data this machine serves",
        "/run" => "the running system's sockets and lock files",
        "/usr/share" => "data every installed program relies on",
        "/usr/include" => "the headers programs are built with",
        "/etc/ssh" => "the SSH server's keys and settings",
        "/etc/default" => "the default settings of system services",
        "/snap" => "the installed snap packages",
        d if d.starts_with("/usr/local") => "the software installed by hand",
        _ => "software other programs and users rely on",
    }
}

/// The reason for a command on a whole tree: what it names and why that
/// matters (`deletes everything in /var/log, the logs of ..`).
fn tree_note(
    verb: &str,
    raw: &str,
    class: PathClass,
    ctx: &crate::safety::types::Context,
) -> String {
    let n = normalize(raw, ctx);
    let every = crate::safety::path_kind::strip_glob(&n).is_some();
    let dir = crate::safety::path_kind::strip_glob(&n)
        .unwrap_or(&n)
        .trim_end_matches('/');
    let dir = if dir.is_empty() { "/" } else { dir };
    let what = match (class, dir) {
        (PathClass::Root, _) => {
            return format!("{verb} everything on the machine, starting at the root directory")
        }
        (PathClass::Home, "~") => "your home directory, with all your files".to_string(),
        (PathClass::Home, d) => format!("the home directory {d}, with all its files"),
        (PathClass::System, d) => {
            format!("{d}, a system directory the computer needs in order to run")
        }
        (_, d) => format!("{d}: {}", shared_what(d)),
    };
    if every {
        format!("{verb} everything in {what}")
    } else {
        format!("{verb} {what}")
    }
}

/// `rm -rf "$VAR/sub"`: what it deletes when VAR is empty.
fn var_path_note(t: &str) -> String {
    let rest = t.trim_start_matches('$');
    let (name, after) = match rest.strip_prefix('{') {
        Some(r) => r.split_once('}').unwrap_or((r, "")),
        None => rest.split_at(
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len()),
        ),
    };
    let whole = matches!(after.trim_end_matches(['/', '*', '.']), "");
    if whole {
        format!("recursively deletes {t}; if ${name} is empty or unset, that is {after}: everything on the machine")
    } else {
        format!("recursively deletes {t}; if ${name} is empty or unset, it deletes {after} at the root instead")
    }
}

fn class_rule(class: PathClass) -> Option<&'static Rule> {
    match class {
        PathClass::Root => Some(&RM_ROOT),
        PathClass::Home => Some(&RM_HOME),
        PathClass::System => Some(&RM_SYSTEM),
        PathClass::Shared => Some(&RM_SHARED),
        PathClass::Other => None,
    }
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let ctx = cx.ctx;
    match c.name.as_str() {
        "rm" | "rmdir" | "unlink" | "srm" => check_rm(c, cx, out),
        "find" => {
            if let Some(action) = find_action(c) {
                find_rules(c, action, find_filtered(c, false), cx, out);
            }
        }
        "chmod" | "chown" | "chgrp" => {
            let o = opts(&c.args, "", &["reference", "from"]);
            let recursive = o.has('R') || o.has_long("recursive");
            let mut ops = o.operands.iter();
            let spec = ops.next().map(|w| w.text.as_str()).unwrap_or("");
            let targets: Vec<_> = ops.collect();
            if c.name == "chmod" {
                let world_writable = is_world_writable_mode(spec);
                for w in &targets {
                    let class = classify(&cx.resolve(c.index, &w.text), ctx);
                    if recursive && matches!(class, PathClass::Root | PathClass::System) {
                        let note = tree_note("changes the permissions of", &w.text, class, ctx);
                        out.add_note(&CHMOD_RECURSIVE_SYSTEM, w.span.clone(), note);
                    } else if recursive && class == PathClass::Home && opens_to_others(spec) {
                        out.add(&CHMOD_RECURSIVE_HOME, w.span.clone());
                    } else if world_writable
                        && (matches!(
                            class,
                            PathClass::Root | PathClass::System | PathClass::Shared
                        ) || w.text.starts_with("/etc/")
                            || w.text.starts_with("/usr/")
                            || w.text.starts_with("/bin/")
                            || w.text.starts_with("/sbin/")
                            || w.text.starts_with("/boot/"))
                    {
                        out.add(&CHMOD_WORLD_WRITABLE_SYSTEM, w.span.clone());
                    } else if recursive && world_writable {
                        out.add(&CHMOD_RECURSIVE_777, w.span.clone());
                    }
                    if is_setuid_mode(spec) && is_shell_binary(&w.text) {
                        out.add(&SETUID_SHELL, w.span.clone());
                    }
                }
            } else if recursive {
                for w in &targets {
                    let t = cx.resolve(c.index, &w.text);
                    let class = classify(&t, ctx);
                    if matches!(class, PathClass::Root | PathClass::System) {
                        let note = tree_note("changes the owner of", &t, class, ctx);
                        out.add_note(&CHOWN_RECURSIVE_SYSTEM, w.span.clone(), note);
                    }
                }
            }
        }
        "mv" => {
            let o = opts(&c.args, "tS", &["target-directory", "suffix"]);
            let n = o.operands.len();
            if n >= 2 {
                for w in &o.operands[..n - 1] {
                    let t = cx.resolve(c.index, &w.text);
                    if matches!(
                        classify(&t, ctx),
                        PathClass::Root | PathClass::Home | PathClass::System
                    ) {
                        out.add(&MV_SYSTEM, w.span.clone());
                    } else if is_account_file(&normalize(&t, ctx)) {
                        let note = format!(
                            "moves {} away, a file the system needs to let anyone log in",
                            normalize(&t, ctx)
                        );
                        out.add_note(&RM_CRITICAL_FILE, w.span.clone(), note);
                    } else if in_system_tree(&normalize(&t, ctx))
                        && (is_system_file(&normalize(&t, ctx))
                            || !normalize(&t, ctx).starts_with("/etc/"))
                    {
                        out.add(&MOVE_SYSTEM_FILE, w.span.clone());
                    }
                }
                if o.operands[n - 1].text == "/dev/null" {
                    out.add(&MV_TO_DEV_NULL, o.operands[n - 1].span.clone());
                }
            }
        }
        "rsync" => {
            let o = opts(&c.args, "e", &[]);
            let deleting = o
                .long
                .iter()
                .any(|(l, _)| l.starts_with("delete") || *l == "remove-source-files");
            if let (true, Some(dest)) = (deleting, o.operands.last()) {
                if o.operands.len() >= 2 && classify(&dest.text, ctx) != PathClass::Other {
                    out.add(&RSYNC_DELETE_SYSTEM, dest.span.clone());
                }
            }
        }
        "shred" => {
            let o = opts(&c.args, "nsx", &["iterations", "size", "random-source"]);
            if o.operands
                .iter()
                .any(|w| !crate::safety::path_kind::is_block_device(&w.text))
            {
                out.add(&SHRED_FILES, c.span.clone());
            }
            for w in &o.operands {
                let p = normalize(&cx.resolve(c.index, &w.text), ctx);
                if let Some(r) = many_files_rule(&p, ctx) {
                    out.add(r, w.span.clone());
                }
            }
        }
        "ln" => check_ln(c, cx, out),
        _ => {}
    }
}

/// `rm`, `rmdir`, `unlink`: the root, a home, a system or shared tree,
/// account and system files, paths built from variables, the parent, and
/// what a pipe feeds `xargs rm`.
fn check_rm(c: &Cmd, cx: &Cx, out: &mut Out) {
    let ctx = cx.ctx;
    let o = opts(&c.args, "", &[]);
    let recursive = o.has('r') || o.has('R') || o.has_long("recursive");
    if o.has_long("no-preserve-root") {
        out.add(&RM_NO_PRESERVE_ROOT, c.span.clone());
    }
    let mut plain_recursive = false;
    for w in &o.operands {
        let resolved = cx.resolve(c.index, &w.text);
        let t = resolved.as_str();
        let class = classify(t, ctx);
        let glob = t.ends_with("/*") || t.ends_with("/.*");
        if recursive
            || (glob && class != PathClass::Other)
            || (c.name == "rmdir" && class != PathClass::Other)
        {
            if let Some(r) = class_rule(class) {
                if c.name != "rmdir" || class == PathClass::Root {
                    out.add_note(r, w.span.clone(), tree_note("deletes", t, class, ctx));
                }
                continue;
            }
        }
        let n = normalize(t, ctx);
        if is_account_file(&n) {
            out.add(&RM_CRITICAL_FILE, w.span.clone());
        } else if recursive && in_system_tree(&n) {
            out.add(&RM_SYSTEM_SUBTREE, w.span.clone());
        } else if c.name != "rmdir"
            && (is_system_file(&n)
                || has_glob(&n) && is_system_file(glob_dir(&n))
                || has_glob(&n) && glob_dir(&n) == "/etc")
        {
            out.add(&RM_SYSTEM_FILE, w.span.clone());
        } else if recursive && is_var_prefixed(t) {
            out.add_note(&RM_VAR_PATH, w.span.clone(), var_path_note(t));
        } else if recursive
            && (matches!(n.as_str(), "../" | ".." | "../.." | "../../..")
                || matches!(
                    normalize(&w.text, ctx).as_str(),
                    ".." | "../.." | "../../.."
                ))
        {
            out.add(&RM_PARENT, w.span.clone());
        } else if recursive {
            plain_recursive = true;
        }
    }
    // `find ROOT ... | xargs rm`: what find selects is deleted.
    if c.input == Input::Unknown {
        for up in cx.upstream(c.index).filter(|u| u.name == "find") {
            if find_action(up).is_none() {
                find_rules(up, FindAction::Delete, find_filtered(up, true), cx, out);
            }
        }
    }
    if recursive && c.input == Input::Unknown {
        // Paths from a pipe: judge them when the producer is known.
        match piped_paths(c, cx) {
            Some(paths) => {
                for p in paths {
                    match class_rule(classify(&p, ctx)) {
                        Some(r) => out.add(r, c.span.clone()),
                        None => plain_recursive = true,
                    }
                }
            }
            None => out.add(&RM_UNKNOWN, c.span.clone()),
        }
    }
    if plain_recursive {
        out.add(&RM_RECURSIVE, c.span.clone());
    }
}

/// Whether a `find` expression narrows what it acts on (a name, age, size,
/// owner... test), as opposed to taking everything below its roots.
///
/// The expression is cut at its top-level `-o`s; every branch that does the
/// harm (deletes or empties; for `find | xargs rm`, prints the paths) must
/// narrow, or every branch when none names it (find prints by default).
/// `find / -path /proc -prune -o -delete` has a test, but not in the branch
/// that deletes: it deletes everything except `/proc`.
fn find_filtered(c: &Cmd, piped: bool) -> bool {
    let words: Vec<&str> = c.args.iter().map(|w| w.text.as_str()).collect();
    let mut branches: Vec<(bool, bool)> = vec![(false, false)]; // (acts, narrows)
    let mut depth = 0usize;
    let mut i = 0;
    while i < words.len() {
        let t = words[i];
        match t {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "-o" | "-or" if depth == 0 => branches.push((false, false)),
            _ => {}
        }
        let branch = branches.last_mut().expect("one branch at least");
        let harms = if piped {
            t.starts_with("-print") || t.starts_with("-fprint")
        } else {
            t == "-delete" || exec_action(c, i).is_some()
        };
        if harms {
            branch.0 = true;
        }
        // `-name '*'` selects everything all the same.
        let everything = matches!(
            t,
            "-name" | "-iname" | "-path" | "-ipath" | "-wholename" | "-iwholename"
        ) && words.get(i + 1) == Some(&"*");
        if !everything && crate::find_predicates::narrows(t) {
            branch.1 = true;
        }
        if crate::find_predicates::runs_command(t) {
            // The command's own words are not find's tests.
            while i + 1 < words.len() && !matches!(words[i + 1], ";" | "+") {
                i += 1;
            }
        }
        i += 1;
    }
    let any_acts = branches.iter().any(|b| b.0);
    branches.iter().filter(|b| b.0 || !any_acts).all(|b| b.1)
}

/// The rule for what `find` deletes or empties below each of its roots:
/// everything below the root, a home or a system directory (Critical),
/// matching files there (High), everything in a shared folder (High), or
/// files of an ordinary folder (Moderate).
fn find_rules(c: &Cmd, action: FindAction, filtered: bool, cx: &Cx, out: &mut Out) {
    let ctx = cx.ctx;
    let roots: Vec<&crate::safety::parse::Word> = c
        .args
        .iter()
        .take_while(|w| !w.text.starts_with('-') && w.text != "(" && w.text != "!")
        .collect();
    let here = crate::safety::parse::Word::synthetic(".", c.span.clone());
    let roots = if roots.is_empty() { vec![&here] } else { roots };
    for w in roots {
        let resolved = cx.resolve(c.index, &w.text);
        let class = classify(&resolved, ctx);
        let wide = matches!(class, PathClass::Root | PathClass::Home | PathClass::System);
        let subtree = in_system_tree(&normalize(&resolved, ctx));
        let shared = class == PathClass::Shared;
        let rule = match (action, filtered) {
            (FindAction::Delete, false) if wide => &FIND_DELETE_SYSTEM,
            (FindAction::Delete, false) if subtree => &RM_SYSTEM_SUBTREE,
            (FindAction::Delete, false) if shared => &FIND_DELETE_WIDE,
            (FindAction::Delete, true) if wide || subtree => &FIND_DELETE_WIDE,
            (FindAction::Delete, _) => &FIND_DELETE,
            (FindAction::Empty, false) if wide || subtree => &TRUNCATE_SYSTEM,
            (FindAction::Empty, false) => &TRUNCATE_MANY,
            (FindAction::Empty, true) if wide || subtree => &TRUNCATE_MANY,
            (FindAction::Empty, true) => &TRUNCATE_FILES,
        };
        out.add(rule, w.span.clone());
    }
}

/// `chmod -R 777 ~`: a home directory opened to every user.
fn opens_to_others(spec: &str) -> bool {
    if !spec.is_empty() && spec.chars().all(|c| c.is_ascii_digit()) {
        return !spec.ends_with('0');
    }
    spec.split(',').any(|part| {
        let (who, rest) = part.split_at(part.find(['+', '=']).unwrap_or(part.len()));
        (who.is_empty() || who.contains(['o', 'a']))
            && rest.contains(['r', 'w', 'x'])
            && !rest.starts_with('-')
    })
}

/// The paths an `xargs` command receives, when the producer is `find`, `ls`,
/// `echo` or `printf` with literal arguments; `None` when unknown.
fn piped_paths(c: &Cmd, cx: &Cx) -> Option<Vec<String>> {
    let mut ups = cx.upstream(c.index).peekable();
    ups.peek()?;
    let mut paths = Vec::new();
    for up in ups {
        let args: Vec<String> = match up.name.as_str() {
            "find" => up
                .args
                .iter()
                .take_while(|w| !w.text.starts_with('-') && w.text != "(" && w.text != "!")
                .map(|w| cx.resolve(up.index, &w.text))
                .collect(),
            "ls" | "echo" | "printf" => up
                .args
                .iter()
                .filter(|w| !w.text.starts_with('-'))
                .map(|w| cx.resolve(up.index, &w.text))
                .collect(),
            _ => return None,
        };
        if args.is_empty() {
            paths.push(cx.resolve(up.index, "."));
        }
        paths.extend(args);
    }
    Some(paths)
}

/// The rule for emptying or overwriting what a glob names, if it names many
/// files: everything in a folder (High), the root, a home or a system
/// directory (Critical), or a pattern (Moderate).
fn many_files_rule(p: &str, ctx: &crate::safety::types::Context) -> Option<&'static Rule> {
    if !has_glob(p) {
        return None;
    }
    let dir = glob_dir(p);
    let class = classify(dir, ctx);
    let wide = matches!(class, PathClass::Root | PathClass::Home | PathClass::System)
        || in_system_tree(dir);
    Some(match (glob_everything(p), wide) {
        (_, true) if glob_everything(p) => &TRUNCATE_SYSTEM,
        (false, true) | (true, false) => &TRUNCATE_MANY,
        (false, false) => &TRUNCATE_FILES,
        (true, true) => &TRUNCATE_SYSTEM,
    })
}

/// Writes (redirections, tee, cp...) onto account or boot files, onto many
/// files at once, or into the system's program and configuration files.
pub(crate) fn check_write(t: &WriteTarget, idx: usize, cx: &Cx, out: &mut Out) {
    let p = &t.resolved;
    if t.mode == WriteMode::Truncate {
        if is_account_file(p) {
            out.add(&OVERWRITE_ACCOUNT_FILE, t.span.clone());
        } else if is_system_config(p) {
            out.add(&OVERWRITE_SYSTEM_CONFIG, t.span.clone());
        } else if t.tool == "cp"
            && !renames_system_file(t, idx, cx)
            && (is_system_file(p)
                || PROGRAM_TREES.contains(&p.as_str())
                || p == "/etc" && copies_many(cx, idx))
        {
            out.add(&WRITE_SYSTEM_FILE, t.span.clone());
        } else if !matches!(t.tool, "cp" | "dd" | "rsync") {
            if let Some(r) = many_files_rule(p, cx.ctx) {
                out.add(r, t.span.clone());
            }
        }
    }
}

/// `mv /usr/bin/python3 /usr/bin/python3.bak`: a system file renamed in
/// place (judged as moved away), not something else written over one.
fn renames_system_file(t: &WriteTarget, idx: usize, cx: &Cx) -> bool {
    match &t.source {
        crate::safety::rules::flow::Source::Files(files) => {
            !files.is_empty()
                && files
                    .iter()
                    .all(|f| is_system_file(&normalize(&cx.resolve(idx, f), cx.ctx)))
        }
        _ => false,
    }
}

/// `cp -r dir/ /etc`, `cp * /etc/`: many files copied at once.
fn copies_many(cx: &Cx, idx: usize) -> bool {
    cx.unwrapped[idx].cmds.iter().any(|c| {
        c.arg_texts().any(|a| {
            has_glob(a)
                || (a.starts_with('-') && !a.starts_with("--") && a.contains(['r', 'R', 'a']))
        })
    })
}

/// `ln -sf X /etc/passwd`, `ln -sf X /usr/bin/sudo`: links put in place of
/// system files.
fn check_ln(c: &Cmd, cx: &Cx, out: &mut Out) {
    let ctx = cx.ctx;
    let o = opts(&c.args, "tS", &["target-directory", "suffix"]);
    let force = o.has('f') || o.has_long("force");
    let dest = match o.value('t').or(o.long_value("target-directory")) {
        Some(dir) => Some((dir.to_string(), c.span.clone())),
        None if o.operands.len() >= 2 => {
            o.operands.last().map(|w| (w.text.clone(), w.span.clone()))
        }
        None => o.operands.first().map(|w| {
            let base = w
                .text
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            (base.to_string(), w.span.clone())
        }),
    };
    let Some((dest, span)) = dest else { return };
    let p = normalize(&cx.resolve(c.index, &dest), ctx);
    if p == "/etc/ld.so.preload" {
        out.add(&crate::safety::rules::system::LD_PRELOAD, span);
    } else if p.starts_with("/etc/sudoers.d/") || p == "/etc/sudoers.d" {
        out.add(&crate::safety::rules::system::SUDOERS_WRITE, span);
    } else if force && is_account_file(&p) {
        out.add(&OVERWRITE_ACCOUNT_FILE, span);
    } else if force && (in_system_tree(&p) || classify(&p, ctx) == PathClass::System) {
        out.add(&LINK_SYSTEM_FILE, span);
    }
}

fn is_world_writable_mode(spec: &str) -> bool {
    if !spec.is_empty() && spec.chars().all(|c| c.is_ascii_digit()) {
        let last = spec.chars().last().and_then(|c| c.to_digit(8)).unwrap_or(0);
        return last & 2 != 0;
    }
    spec.split(',').any(|part| {
        let (who, rest) = part.split_at(part.find(['+', '=']).unwrap_or(part.len()));
        (who.contains('o') || who.contains('a') || who.is_empty() && rest.starts_with('='))
            && rest.contains('w')
            || who.contains('a') && rest.contains('w')
    })
}

fn is_setuid_mode(spec: &str) -> bool {
    if spec.chars().all(|c| c.is_ascii_digit()) && spec.len() == 4 {
        return spec.starts_with(['4', '6', '5', '7']);
    }
    spec.split(',')
        .any(|p| p.contains('+') && p.contains('s') && !p.starts_with('o'))
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn rm_root() {
        assert_flags("rm -rf /", "fs.rm_root");
        assert_flags("rm -r -f /*", "fs.rm_root");
        assert_flags("rm --recursive --force /", "fs.rm_root");
        assert_not_flags("rm -rf ./build", "fs.rm_root");
        assert_flags("cd / && rm -rf *", "fs.rm_root");
        assert_flags("sudo sh -c 'cd /; rm -rf -- *'", "fs.rm_root");
        assert_not_flags("cd /tmp && rm -rf *", "fs.rm_root");
        assert_not_flags("echo rm -rf /", "fs.rm_root");
    }

    #[test]
    fn rm_home() {
        assert_flags("rm -rf ~", "fs.rm_home");
        assert_flags("rm -rf $HOME/", "fs.rm_home");
        assert_flags("rm -Rf \"$HOME\"/*", "fs.rm_home");
        assert_not_flags("rm -rf ~/Downloads/tmp", "fs.rm_home");
        assert_flags("cd && rm -rf .", "fs.rm_home");
        assert_not_flags("cd ~/project && rm -rf build", "fs.rm_home");
    }

    #[test]
    fn rm_system() {
        assert_flags("sudo rm -rf /etc", "fs.rm_system");
        assert_flags("rm -rf /usr/", "fs.rm_system");
        assert_flags("rm -f /etc/*", "fs.rm_system");
        assert_not_flags("rm -rf /tmp/build", "fs.rm_system");
        assert_not_flags("rm /etc/nginx/sites-enabled/default", "fs.rm_system");
        assert_not_flags("sudo rm -rf /opt", "fs.rm_system");
    }

    #[test]
    fn rm_shared_dir() {
        assert_flags("sudo rm -rf /usr/local", "fs.rm_shared_dir");
        assert_flags("rm -rf /opt/*", "fs.rm_shared_dir");
        assert_not_flags("sudo rm -rf /opt/myapp", "fs.rm_shared_dir");
    }

    #[test]
    fn rm_no_preserve_root() {
        assert_flags("rm -rf --no-preserve-root /", "fs.rm_no_preserve_root");
        assert_not_flags("rm -rf /tmp/x", "fs.rm_no_preserve_root");
    }

    #[test]
    fn rm_critical_file() {
        assert_flags("sudo rm /etc/passwd", "fs.rm_critical_file");
        assert_flags("sudo mv /etc/passwd /tmp", "fs.rm_critical_file");
        assert_not_flags("rm passwd.txt", "fs.rm_critical_file");
    }

    #[test]
    fn tree_notes_name_what_goes() {
        let note = |cmd: &str, rule: &str| {
            let a = crate::safety::walk::assess(cmd, &crate::safety::tests::ctx());
            a.findings
                .into_iter()
                .find(|f| f.rule_id == rule)
                .unwrap()
                .explanation
        };
        assert_eq!(
            note("sudo rm -rf /var/log/*", "fs.rm_shared_dir"),
            "deletes everything in /var/log: the logs of the system and its services"
        );
        assert_eq!(
            note("rm -rf ~", "fs.rm_home"),
            "deletes your home directory, with all your files"
        );
        assert_eq!(
            note("rm -rf \"$BUILD/sub\"", "fs.rm_var_path"),
            "recursively deletes $BUILD/sub; if $BUILD is empty or unset, it deletes /sub at the root instead"
        );
        assert_eq!(
            note("rm -rf $STEAMROOT/*", "fs.rm_var_path"),
            "recursively deletes $STEAMROOT/*; if $STEAMROOT is empty or unset, that is /*: everything on the machine"
        );
        assert_eq!(
            note("sudo mv /etc/passwd /tmp/", "fs.rm_critical_file"),
            "moves /etc/passwd away, a file the system needs to let anyone log in"
        );
    }

    #[test]
    fn rm_var_path() {
        assert_flags("rm -rf $STEAMROOT/*", "fs.rm_var_path");
        assert_flags("rm -rf \"${BUILD_DIR}/\"", "fs.rm_var_path");
        assert_not_flags("rm -rf $BUILD_DIR", "fs.rm_var_path");
        assert_not_flags("rm $DIR/file", "fs.rm_var_path");
    }

    #[test]
    fn rm_unknown_targets() {
        assert_flags("xargs rm -rf < list", "fs.rm_unknown_targets");
        assert_flags("cat list | xargs -I{} rm -rf {}", "fs.rm_unknown_targets");
        assert_not_flags("find . -name '*.o' | xargs rm -f", "fs.rm_unknown_targets");
        assert_not_flags(
            "find . -name '*.txt' | xargs rm -rf",
            "fs.rm_unknown_targets",
        );
        assert_flags("echo / | xargs rm -rf", "fs.rm_root");
        assert_flags("find ~ -type d | xargs rm -rf", "fs.rm_home");
    }

    #[test]
    fn rm_parent() {
        assert_flags("rm -rf ..", "fs.rm_parent");
        assert_not_flags("rm -rf ../build", "fs.rm_parent");
    }

    #[test]
    fn rm_recursive() {
        assert_flags("rm -rf node_modules", "fs.rm_recursive");
        assert_not_flags("rm file.txt", "fs.rm_recursive");
    }

    #[test]
    fn find_delete_system() {
        assert_flags("find / -delete", "fs.find_delete_system");
        assert_flags("find ~ -mindepth 1 -delete", "fs.find_delete_system");
        assert_not_flags("find . -name '*.tmp' -delete", "fs.find_delete_system");
        assert_not_flags("find / -name '*.tmp' -delete", "fs.find_delete_system");
        // A test in another branch does not narrow the one that deletes.
        assert_flags(
            "find / -path /proc -prune -o -exec rm -rf {} +",
            "fs.find_delete_system",
        );
        assert_flags(
            "find ~ -path ~/keep -prune -o -delete",
            "fs.find_delete_system",
        );
        assert_flags(
            "find / -path /proc -prune -o -print0 | xargs -0 rm -rf",
            "fs.find_delete_system",
        );
        assert_not_flags(
            "find / -path /proc -prune -o -name '*.tmp' -delete",
            "fs.find_delete_system",
        );
        assert_not_flags(
            "find / \\( -name '*.tmp' -o -name '*.bak' \\) -delete",
            "fs.find_delete_system",
        );
        assert_not_flags(
            "find ~ -name '*.pyc' -delete -o -print",
            "fs.find_delete_system",
        );
    }

    #[test]
    fn chmod_recursive_system() {
        assert_flags("chmod -R 777 /", "fs.chmod_recursive_system");
        assert_flags("sudo chmod -R 000 /etc", "fs.chmod_recursive_system");
        assert_not_flags("chmod -R 755 ./public", "fs.chmod_recursive_system");
        assert_not_flags(
            "sudo chmod -R 755 /usr/local/bin",
            "fs.chmod_recursive_system",
        );
    }

    #[test]
    fn chown_recursive_system() {
        assert_flags("chown -R x /etc", "fs.chown_recursive_system");
        assert_flags(
            "sudo chown --recursive me:me /usr",
            "fs.chown_recursive_system",
        );
        assert_not_flags("chown -R me:me ./project", "fs.chown_recursive_system");
        assert_not_flags("sudo chown -R $USER:$USER ~", "fs.chown_recursive_system");
        assert_not_flags(
            "sudo chown -R $(whoami) /usr/local",
            "fs.chown_recursive_system",
        );
    }

    #[test]
    fn chmod_world_writable_system() {
        assert_flags("chmod 777 /etc/shadow", "fs.chmod_world_writable_system");
        assert_flags("chmod o+w /etc/passwd", "fs.chmod_world_writable_system");
        assert_not_flags("chmod 644 /etc/hosts", "fs.chmod_world_writable_system");
        assert_not_flags("chmod 777 ./x", "fs.chmod_world_writable_system");
    }

    #[test]
    fn chmod_recursive_home() {
        assert_flags("sudo chmod -R 777 ~", "fs.chmod_recursive_home");
        assert_flags("chmod -R a+r $HOME", "fs.chmod_recursive_home");
        assert_not_flags("chmod -R go-rwx ~", "fs.chmod_recursive_home");
        assert_not_flags("chmod -R 700 ~", "fs.chmod_recursive_home");
        assert_not_flags("chmod -R 755 ~/site", "fs.chmod_recursive_home");
    }

    #[test]
    fn chmod_recursive_777() {
        assert_flags("chmod -R 777 ./site", "fs.chmod_recursive_777");
        assert_not_flags("chmod -R 755 ./site", "fs.chmod_recursive_777");
    }

    #[test]
    fn setuid_shell() {
        assert_flags("chmod u+s /bin/bash", "fs.setuid_shell");
        assert_flags("sudo chmod 4755 /usr/bin/python3", "fs.setuid_shell");
        assert_not_flags("chmod u+x /bin/bash", "fs.setuid_shell");
        assert_not_flags("chmod 4755 ./mytool", "fs.setuid_shell");
    }

    #[test]
    fn overwrite_account_file() {
        assert_flags("> /etc/passwd", "fs.overwrite_account_file");
        assert_flags("echo x | sudo tee /etc/shadow", "fs.overwrite_account_file");
        assert_flags("cp my_sudoers /etc/sudoers", "fs.overwrite_account_file");
        assert_not_flags("cat /etc/passwd > passwd.bak", "fs.overwrite_account_file");
        assert_not_flags("echo x >> /etc/group.txt", "fs.overwrite_account_file");
    }

    #[test]
    fn overwrite_system_config() {
        assert_flags("echo '' > /etc/fstab", "fs.overwrite_system_config");
        assert_not_flags(
            "echo '127.0.0.1 x' | sudo tee -a /etc/hosts",
            "fs.overwrite_system_config",
        );
    }

    #[test]
    fn mv_system() {
        assert_flags("mv /etc /tmp/etc", "fs.mv_system");
        assert_flags("mv ~ /tmp", "fs.mv_system");
        assert_not_flags("mv a.txt b.txt", "fs.mv_system");
    }

    #[test]
    fn mv_to_dev_null() {
        assert_flags("mv file /dev/null", "fs.mv_to_dev_null");
        assert_not_flags("mv file /tmp/", "fs.mv_to_dev_null");
    }

    #[test]
    fn rsync_delete_system() {
        assert_flags("rsync -a --delete empty/ /", "fs.rsync_delete_system");
        assert_not_flags("rsync -a --delete src/ backup/", "fs.rsync_delete_system");
    }

    #[test]
    fn find_delete() {
        assert_flags("find . -name '*.pyc' -delete", "fs.find_delete");
        assert_flags("find build -type f -exec rm {} +", "fs.find_delete");
        assert_flags("find . -name '*.o' | xargs rm", "fs.find_delete");
        assert_flags("find . -name '*.o' -execdir rm -f {} \\;", "fs.find_delete");
        assert_not_flags("find . -name '*.pyc'", "fs.find_delete");
        assert_not_flags(
            "find . -name '*.log' -exec grep -l x {} +",
            "fs.find_delete",
        );
    }

    #[test]
    fn find_delete_wide() {
        assert_flags("find / -name '*.log' -delete", "fs.find_delete_wide");
        assert_flags(
            "find ~ -name '*.bak' -exec rm {} \\;",
            "fs.find_delete_wide",
        );
        assert_flags("find /etc -name '*.conf' -delete", "fs.find_delete_wide");
        assert_flags("find /usr/lib -name '*.so' -delete", "fs.find_delete_wide");
        assert_flags(
            "find ~ -name '*.txt' -print0 | xargs -0 rm -f",
            "fs.find_delete_wide",
        );
        assert_not_flags("find /var/log -name '*.gz' -delete", "fs.find_delete_wide");
        assert_not_flags("find . -name '*.log' -delete", "fs.find_delete_wide");
        assert_not_flags("find ~/project -name '*.o' -delete", "fs.find_delete_wide");
        assert_not_flags("find / -name '*.log'", "fs.find_delete_wide");
    }

    #[test]
    fn rm_system_subtree() {
        assert_flags("sudo rm -rf /usr/lib/python3", "fs.rm_system_subtree");
        assert_flags("rm -rf /etc/apt", "fs.rm_system_subtree");
        assert_flags("sudo rm -rf /lib/modules", "fs.rm_system_subtree");
        assert_flags("sudo rm -rf /usr/share/fonts", "fs.rm_system_subtree");
        assert_flags("sudo rm -rf /var/lib/dpkg", "fs.rm_system_subtree");
        assert_flags("find /usr/share -delete", "fs.rm_system_subtree");
        assert_not_flags("sudo rm -rf /usr/local/go", "fs.rm_system_subtree");
        assert_not_flags("rm -rf /tmp/usr/lib", "fs.rm_system_subtree");
        assert_not_flags(
            "rm /etc/nginx/sites-enabled/default",
            "fs.rm_system_subtree",
        );
    }

    #[test]
    fn rm_system_file() {
        assert_flags("sudo rm /usr/bin/sudo", "fs.rm_system_file");
        assert_flags("rm -f /etc/hosts", "fs.rm_system_file");
        assert_flags("sudo rm /etc/*.conf", "fs.rm_system_file");
        assert_flags(
            "sudo rm /lib/x86_64-linux-gnu/libc.so.6",
            "fs.rm_system_file",
        );
        assert_not_flags("rm /etc/nginx/sites-enabled/default", "fs.rm_system_file");
        assert_not_flags("sudo rm /usr/local/bin/mytool", "fs.rm_system_file");
        assert_not_flags("sudo rm /etc/fstab.bak", "fs.rm_system_file");
    }

    #[test]
    fn move_system_file() {
        assert_flags("sudo mv /bin/ls /tmp/", "fs.move_system_file");
        assert_flags(
            "mv /usr/bin/python3 /usr/bin/python3.bak",
            "fs.move_system_file",
        );
        assert_flags("sudo mv /etc/fstab ~/fstab", "fs.move_system_file");
        assert_flags("mv /boot/vmlinuz-6.1 /tmp", "fs.move_system_file");
        assert_not_flags("mv /etc/nginx/conf.d/a.conf /tmp", "fs.move_system_file");
        assert_not_flags("mv /usr/local/bin/x /tmp", "fs.move_system_file");
        assert_not_flags("mv a.txt b.txt", "fs.move_system_file");
    }

    #[test]
    fn write_system_file() {
        assert_flags("sudo cp evil /bin/ls", "fs.write_system_file");
        assert_flags("sudo mv payload /usr/bin/sudo", "fs.write_system_file");
        assert_flags("sudo cp -r backup/* /etc/", "fs.write_system_file");
        assert_flags("sudo install -m 755 x /usr/sbin/", "fs.write_system_file");
        assert_flags("cp profile /etc/profile", "fs.write_system_file");
        assert_not_flags(
            "sudo cp app.service /etc/systemd/system/",
            "fs.write_system_file",
        );
        assert_not_flags("sudo cp tool /usr/local/bin/", "fs.write_system_file");
        assert_not_flags("cp /etc/hosts ./hosts.bak", "fs.write_system_file");
        assert_not_flags("sudo cp /etc/fstab /etc/fstab.bak", "fs.write_system_file");
        assert_not_flags(
            "sudo cp site.conf /etc/nginx/sites-available/",
            "fs.write_system_file",
        );
    }

    #[test]
    fn link_system_file() {
        assert_flags("sudo ln -sf /tmp/x /etc/resolv.conf", "fs.link_system_file");
        assert_flags("ln -sf /tmp/evil /usr/bin/sudo", "fs.link_system_file");
        assert_flags(
            "sudo ln --symbolic --force /dev/null /etc/hosts",
            "fs.link_system_file",
        );
        assert_not_flags("ln -s /usr/bin/python3 ~/bin/python", "fs.link_system_file");
        assert_not_flags(
            "sudo ln -sf /opt/app/bin/app /usr/local/bin/app",
            "fs.link_system_file",
        );
        assert_not_flags("ln -s target link", "fs.link_system_file");
    }

    #[test]
    fn truncate_files() {
        assert_flags("truncate -s 0 *.log", "fs.truncate_files");
        assert_flags(
            "find . -name '*.log' -exec truncate -s 0 {} +",
            "fs.truncate_files",
        );
        assert_not_flags("truncate -s 0 app.log", "fs.truncate_files");
        assert_not_flags("truncate -s 10G *.img", "fs.truncate_files");
    }

    #[test]
    fn truncate_many() {
        assert_flags("truncate -s 0 *", "fs.truncate_many");
        assert_flags(": > *", "fs.truncate_many");
        assert_flags("for f in *; do : > \"$f\"; done", "fs.truncate_many");
        assert_flags(
            "find . -type f -exec truncate --size=0 {} \\;",
            "fs.truncate_many",
        );
        assert_flags("shred -n 1 ./*", "fs.truncate_many");
        assert_flags("echo -n | tee src/*", "fs.truncate_many");
        assert_not_flags("truncate -s 0 build.log", "fs.truncate_many");
        assert_not_flags("echo x > out.txt", "fs.truncate_many");
    }

    #[test]
    fn truncate_system() {
        assert_flags("truncate -s 0 /etc/*", "fs.truncate_system");
        assert_flags("cd ~ && truncate -s 0 *", "fs.truncate_system");
        assert_flags(
            "find / -type f -exec truncate -s 0 {} +",
            "fs.truncate_system",
        );
        assert_flags(
            "sudo find /usr -type f -exec shred {} +",
            "fs.truncate_system",
        );
        assert_not_flags("truncate -s 0 ./logs/*", "fs.truncate_system");
    }

    #[test]
    fn shred_files() {
        assert_flags("shred -u secret.txt", "fs.shred_files");
        assert_not_flags("shred -n 1 /dev/sdb", "fs.shred_files");
    }
}
