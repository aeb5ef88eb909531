//! File system rules: deleting, moving, re-permissioning or overwriting the
//! files the system and the user depend on.
//!
//! Why this exists: `rm -rf` is the most common way a generated command
//! destroys a machine. These rules judge the targets (root, home, system
//! directories, account files) rather than the mere presence of `rm`, so that
//! `rm -rf ./build` stays a mild warning while `rm -rf /`, `~`, `/usr` or a
//! `$VAR/` that may be empty are stopped.

use crate::safety::command::{opts, Cmd, Input};
use crate::safety::paths::{classify, is_shell_binary, normalize, PathClass};
use crate::safety::rules::{rule, Cx, Out, WriteMode, WriteTarget};
use crate::safety::Risk::*;
use crate::safety::Rule;

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
pub(crate) const RM_SHARED: Rule = rule("fs.rm_shared_dir", High, CAT, "deletes a whole shared software folder (like /usr/local, /opt or /mnt) that other programs and users depend on");
pub(crate) const RM_CRITICAL_FILE: Rule = rule(
    "fs.rm_critical_file",
    Critical,
    CAT,
    "deletes a file the system needs to boot or to let anyone log in",
);
pub(crate) const RM_VAR_PATH: Rule = rule("fs.rm_var_path", High, CAT, "recursively deletes a path built from a variable; if the variable is empty this becomes the root directory");
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

pub(crate) const RULES: &[Rule] = &[
    RM_ROOT,
    RM_HOME,
    RM_SYSTEM,
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
    CHMOD_RECURSIVE_777,
    SETUID_SHELL,
    OVERWRITE_ACCOUNT_FILE,
    OVERWRITE_SYSTEM_CONFIG,
    MV_SYSTEM,
    MV_TO_DEV_NULL,
    RSYNC_DELETE_SYSTEM,
    SHRED_FILES,
];

/// Files whose loss or truncation locks users out or stops the boot.
pub(crate) fn is_account_file(path: &str) -> bool {
    let p = path.trim_end_matches('/');
    matches!(
        p,
        "/etc/passwd"
            | "/etc/shadow"
            | "/etc/group"
            | "/etc/gshadow"
            | "/etc/sudoers"
            | "/etc/master.passwd"
            | "/private/etc/sudoers"
            | "/private/etc/master.passwd"
    )
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
        "rm" | "rmdir" | "unlink" | "srm" | "trash" | "gio" => {
            if c.name == "gio" || c.name == "trash" {
                return;
            }
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
                            out.add(r, w.span.clone());
                        }
                        continue;
                    }
                }
                if is_account_file(&normalize(t, ctx)) {
                    out.add(&RM_CRITICAL_FILE, w.span.clone());
                } else if recursive && is_var_prefixed(t) {
                    out.add(&RM_VAR_PATH, w.span.clone());
                } else if recursive
                    && matches!(
                        normalize(t, ctx).as_str(),
                        "../" | ".." | "../.." | "../../.."
                    )
                {
                    out.add(&RM_PARENT, w.span.clone());
                } else if recursive {
                    plain_recursive = true;
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
        "find" => {
            if !c.arg_texts().any(|t| t == "-delete") {
                return;
            }
            let filtered = c.arg_texts().any(|t| {
                matches!(
                    t,
                    "-name"
                        | "-iname"
                        | "-path"
                        | "-ipath"
                        | "-regex"
                        | "-iregex"
                        | "-newer"
                        | "-mtime"
                        | "-mmin"
                        | "-atime"
                        | "-size"
                        | "-user"
                        | "-empty"
                        | "-perm"
                        | "-group"
                        | "-links"
                        | "-inum"
                        | "-wholename"
                        | "-nouser"
                        | "-lname"
                        | "-amin"
                        | "-ctime"
                        | "-cmin"
                        | "-newermt"
                )
            });
            for w in c.args.iter().take_while(|w| !w.text.starts_with('-')) {
                if classify(&cx.resolve(c.index, &w.text), ctx) != PathClass::Other && !filtered {
                    out.add(&FIND_DELETE_SYSTEM, w.span.clone());
                }
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
                        out.add(&CHMOD_RECURSIVE_SYSTEM, w.span.clone());
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
                    if matches!(
                        classify(&cx.resolve(c.index, &w.text), ctx),
                        PathClass::Root | PathClass::System
                    ) {
                        out.add(&CHOWN_RECURSIVE_SYSTEM, w.span.clone());
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
                        out.add(&RM_CRITICAL_FILE, w.span.clone());
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
                .any(|w| !crate::safety::paths::is_block_device(&w.text))
            {
                out.add(&SHRED_FILES, c.span.clone());
            }
        }
        _ => {}
    }
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

/// Writes (redirections, tee, cp...) onto account or boot files.
pub(crate) fn check_write(t: &WriteTarget, cx: &Cx, out: &mut Out) {
    let p = normalize(&t.path, cx.ctx);
    if t.mode == WriteMode::Truncate {
        if is_account_file(&p) {
            out.add(&OVERWRITE_ACCOUNT_FILE, t.span.clone());
        } else if is_system_config(&p) {
            out.add(&OVERWRITE_SYSTEM_CONFIG, t.span.clone());
        }
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
    fn shred_files() {
        assert_flags("shred -u secret.txt", "fs.shred_files");
        assert_not_flags("shred -n 1 /dev/sdb", "fs.shred_files");
    }
}
