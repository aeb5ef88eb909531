//! Classification of path arguments.
//!
//! Why this exists: the danger of `rm -rf X`, `chmod -R 777 X` or `dd of=X`
//! depends on what X is. This module normalises a path as the shell would see
//! it (tilde and `$HOME`, duplicate slashes, `.` and `..`, trailing `/*`
//! globs) and says whether it is the root, a home directory, a system
//! directory, a block device, a sensitive file or something ordinary. It is
//! platform aware: macOS system folders and `/dev/diskN` devices are known.

use crate::safety::types::{Context, Os};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathClass {
    /// `/`, `/*`, `/..`.
    Root,
    /// A home directory (`~`, `$HOME`, `/home/me`, `/root`) or its contents glob.
    Home,
    /// A top-level system directory (`/etc`, `/usr`, `/usr/bin`, `/System`...).
    System,
    /// A shared folder for installed software or data (`/opt`, `/usr/local`, `/mnt`).
    Shared,
    /// Anything else.
    Other,
}

/// Directories whose loss or re-permissioning breaks the operating system.
const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/sbin",
    "/sys",
    "/usr",
    "/var",
    "/home",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib32",
    "/usr/libexec",
    "/var/lib",
    "/etc/pam.d",
    "/etc/sudoers.d",
    "/etc/systemd",
    "/boot/efi",
    "/boot/grub",
    // macOS
    "/System",
    "/Library",
    "/private",
    "/Users",
    "/private/etc",
    "/private/var",
    "/System/Library",
];

/// Shared folders that hold installed software or data but not the OS itself.
const SHARED_DIRS: &[&str] = &[
    "/opt",
    "/srv",
    "/mnt",
    "/media",
    "/snap",
    "/run",
    "/usr/local",
    "/usr/share",
    "/usr/include",
    "/usr/local/bin",
    "/usr/local/lib",
    "/var/log",
    "/var/spool",
    "/var/mail",
    "/etc/ssh",
    "/etc/default",
    "/Applications",
    "/Volumes",
    "/Library/LaunchDaemons",
    "/cores",
];

/// Normalises a path lexically; `~` and `$HOME` become `~`.
pub(crate) fn normalize(arg: &str, ctx: &Context) -> String {
    if let Some(plain) = already_normal(arg, ctx) {
        return plain;
    }
    let mut s = arg.trim().to_string();
    for home in ["${HOME}", "$HOME", "~/", "~"] {
        if s == home
            || (s.starts_with(home) && (home.ends_with('/') || s[home.len()..].starts_with('/')))
        {
            let rest = &s[home.len()..];
            s = format!("~/{}", rest.trim_start_matches('/'));
            break;
        }
    }
    if let Some(h) = ctx.home.as_deref().filter(|h| h.len() > 1) {
        let h = h.trim_end_matches('/');
        if s == h || s.starts_with(&format!("{h}/")) {
            s = format!("~/{}", &s[h.len()..].trim_start_matches('/'));
        }
    }
    let absolute = s.starts_with('/');
    let tilde = s.starts_with("~/");
    let body = if tilde { &s[2..] } else { &s[..] };
    let mut parts: Vec<&str> = Vec::new();
    let mut escaped = false;
    for p in body.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() && !absolute {
                    escaped = true;
                }
            }
            _ => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if tilde {
        if escaped {
            // `~/..` is the directory holding every home.
            return if joined.is_empty() {
                "/home".into()
            } else {
                format!("/home/{joined}")
            };
        }
        format!("~/{joined}").trim_end_matches('/').to_string()
    } else if absolute {
        format!("/{joined}")
    } else if escaped {
        format!("../{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// The common case without the work: an absolute (or `~/`) path with no
/// `.`/`..` parts, doubled or trailing slashes normalises to itself (or,
/// inside the home directory written out, to `~/..`).
fn already_normal(arg: &str, ctx: &Context) -> Option<String> {
    let b = arg.as_bytes();
    let start = if arg.starts_with("~/") { 1 } else { 0 };
    if b.get(start) != Some(&b'/') || b.len() < start + 2 || b[b.len() - 1] == b'/' {
        return None;
    }
    let plain = b.windows(2).all(|w| w != b"//" && w != b"/.")
        && !b.iter().any(|c| c.is_ascii_whitespace());
    if !plain {
        return None;
    }
    match ctx.home.as_deref().filter(|h| h.len() > 1 && start == 0) {
        Some(h) => {
            let h = h.trim_end_matches('/');
            match arg.strip_prefix(h) {
                Some("") => None,
                Some(rest) if rest.starts_with('/') => Some(format!("~{rest}")),
                Some(_) | None => Some(arg.to_string()),
            }
        }
        None => Some(arg.to_string()),
    }
}

/// Strips a trailing glob that selects everything in a directory.
pub(crate) fn strip_glob(p: &str) -> Option<&str> {
    for g in ["/*", "/.*", "/{*,.*}", "/**"] {
        if let Some(base) = p.strip_suffix(g) {
            return Some(if base.is_empty() { "/" } else { base });
        }
    }
    if p == "*" || p == ".*" {
        return None;
    }
    None
}

/// Classifies a path argument (after quote removal).
pub(crate) fn classify(arg: &str, ctx: &Context) -> PathClass {
    if arg.is_empty() {
        return PathClass::Other;
    }
    let n = normalize(arg, ctx);
    let n = strip_glob(&n).map(str::to_string).unwrap_or(n);
    let n = if n.len() > 1 {
        n.trim_end_matches('/').to_string()
    } else {
        n
    };
    if n == "/" {
        return PathClass::Root;
    }
    if n == "~" || n == "/root" {
        return PathClass::Home;
    }
    let home_prefix = match ctx.os {
        Os::Macos => "/Users/",
        Os::Linux => "/home/",
    };
    for prefix in [home_prefix, "/home/", "/Users/"] {
        if let Some(user) = n.strip_prefix(prefix) {
            if !user.is_empty() && !user.contains('/') {
                return PathClass::Home;
            }
        }
    }
    // macOS file systems ignore case (`/system` is `/System` there); Linux
    // ones do not (`/system` is an ordinary folder).
    let same = |d: &&str| match ctx.os {
        Os::Macos => d.eq_ignore_ascii_case(&n),
        Os::Linux => **d == n,
    };
    if SYSTEM_DIRS.iter().any(same) {
        return PathClass::System;
    }
    if SHARED_DIRS.iter().any(same) {
        return PathClass::Shared;
    }
    PathClass::Other
}

/// Whether a path is a whole disk or partition device.
pub(crate) fn is_block_device(arg: &str) -> bool {
    let p = arg.trim();
    let Some(dev) = p.strip_prefix("/dev/") else {
        return false;
    };
    if dev.starts_with("disk/by-") || dev.starts_with("mapper/") && dev.len() > 7 {
        return true;
    }
    let alpha_then_digits = |rest: &str, prefix: &str| -> bool {
        rest.strip_prefix(prefix).is_some_and(|r| {
            let letters = r.trim_end_matches(|c: char| c.is_ascii_digit());
            !letters.is_empty() && letters.chars().all(|c| c.is_ascii_alphabetic())
        })
    };
    // Linux: sda, sdX, sdXY, hda, vda, xvda.
    for prefix in ["sd", "hd", "vd", "xvd"] {
        if alpha_then_digits(dev, prefix) {
            return true;
        }
    }
    let digits_p = |rest: &str, prefix: &str| -> bool {
        rest.strip_prefix(prefix).is_some_and(|r| {
            !r.is_empty()
                && r.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == 'X')
                && r.chars().all(|c| c.is_ascii_alphanumeric())
        })
    };
    // nvme0n1, nvme0n1p2, mmcblk0, mmcblk0p1, md0, dm-0, macOS disk2 / rdisk2s1, BSD ada0, da0.
    for prefix in [
        "nvme", "mmcblk", "md", "dm-", "disk", "rdisk", "ada", "da", "nvd", "sr",
    ] {
        if digits_p(dev, prefix) {
            return true;
        }
    }
    false
}

/// Shells and interpreters that must never be made setuid.
pub(crate) fn is_shell_binary(arg: &str) -> bool {
    let base = arg.rsplit('/').next().unwrap_or(arg);
    matches!(
        base,
        "sh" | "bash"
            | "zsh"
            | "dash"
            | "ksh"
            | "fish"
            | "csh"
            | "tcsh"
            | "ash"
            | "busybox"
            | "python"
            | "python2"
            | "python3"
            | "perl"
            | "ruby"
            | "node"
            | "php"
            | "lua"
            | "env"
            | "vim"
            | "vi"
            | "find"
            | "less"
            | "awk"
            | "gawk"
            | "tclsh"
    )
}

/// Private keys and the folders that hold them: losing these loses access.
/// (`known_hosts`, `config` and `.pub` files are not keys.)
pub(crate) fn is_key_store(raw: &str, ctx: &Context) -> bool {
    let p = normalize(raw, ctx);
    let p = p.trim_end_matches("/*").trim_end_matches('/');
    let base = p.rsplit('/').next().unwrap_or(p);
    if base.ends_with(".pub") {
        return false;
    }
    matches!(
        p,
        "~/.ssh"
            | "~/.gnupg"
            | "~/.aws"
            | "~/.kube"
            | "~/.password-store"
            | "/etc/ssh"
            | "/root/.ssh"
    ) || p.starts_with("~/.gnupg/")
        || p.starts_with("~/.password-store/")
        || (p.contains("/.ssh/") || p.starts_with("~/.ssh/"))
            && (base.starts_with("id_") || base == "authorized_keys")
        || p.starts_with("/etc/ssh/ssh_host_") && base.ends_with("key")
        || p.ends_with(".aws/credentials")
        || p.ends_with(".kube/config")
        || p.ends_with(".docker/config.json")
        || matches!(
            base,
            ".netrc" | ".pgpass" | ".git-credentials" | "wallet.dat"
        )
        || base.ends_with(".kdbx")
        || base.ends_with(".gpg") && p.contains(".password-store")
}

/// Whether a path names a secret (after `@`/`<` prefixes are stripped).
pub(crate) fn is_secret_path(raw: &str, ctx: &Context) -> bool {
    let t = raw.trim_start_matches(['@', '<']);
    if t.is_empty() {
        return false;
    }
    let p = normalize(t, ctx);
    let base = p.rsplit('/').next().unwrap_or(&p);
    if base.ends_with(".pub") {
        return false;
    }
    p == "~/.ssh"
        || p.contains(".ssh/id_")
        || matches!(base, "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | ".env" | ".netrc" | ".git-credentials" | ".pgpass" | ".npmrc" | ".pypirc" | "shadow" if base != "shadow" || p == "/etc/shadow")
        || p.ends_with(".aws/credentials")
        || p == "~/.aws"
        || p.ends_with(".docker/config.json")
        || p.ends_with(".kube/config")
        || p == "~/.gnupg"
        || p.contains(".gnupg/private-keys")
        || p.contains(".config/gcloud")
        || (base.starts_with(".env.") && !base.ends_with(".example") && !base.ends_with(".sample"))
}

/// Shell history files (what was typed, passwords pasted by mistake too).
pub(crate) fn is_history_file(p: &str) -> bool {
    let base = p.rsplit('/').next().unwrap_or(p);
    matches!(
        base,
        ".bash_history"
            | ".zsh_history"
            | ".history"
            | ".sh_history"
            | "fish_history"
            | ".python_history"
            | ".mysql_history"
            | ".psql_history"
    )
}

/// What a file that holds secrets is, in words for a reason ("your SSH
/// keys", "~/.netrc"), or `None` for an ordinary file. Folders that hold
/// keys count (`tar c ~/.ssh`).
pub(crate) fn secret_name(raw: &str, ctx: &Context) -> Option<String> {
    let t = raw.trim_start_matches(['@', '<']);
    if t.is_empty() {
        return None;
    }
    let p = normalize(t, ctx);
    let p = p.trim_end_matches('/');
    if is_history_file(p) {
        return Some(format!("your shell history ({p})"));
    }
    let base = p.rsplit('/').next().unwrap_or(p);
    if base.ends_with(".pub") {
        return None;
    }
    let folder = matches!(
        p,
        "~/.ssh"
            | "~/.aws"
            | "~/.gnupg"
            | "~/.kube"
            | "~/.azure"
            | "~/.docker"
            | "~/.config/gcloud"
            | "~/.config/gh"
            | "~/.password-store"
            | "/etc/ssh"
    );
    let environ = p.starts_with("/proc/") && base == "environ";
    let tool = p.ends_with(".config/gh/hosts.yml")
        || p.starts_with("~/.config/gcloud/")
        || p.starts_with("~/.azure/")
        || p.starts_with("~/.gnupg/")
        || matches!(base, ".vault-token" | "credentials.tfrc.json" | "gshadow");
    (folder || environ || tool || is_secret_path(p, ctx) || is_key_store(p, ctx))
        .then(|| p.to_string())
}

/// Whether an environment variable's name says it holds a secret
/// (`AWS_SECRET_ACCESS_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`, `APIKEY`).
pub(crate) fn is_secret_var(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.split('_').any(|part| {
        matches!(
            part,
            "KEY"
                | "KEYS"
                | "TOKEN"
                | "TOKENS"
                | "SECRET"
                | "SECRETS"
                | "PASSWORD"
                | "PASSWD"
                | "PASS"
                | "PASSPHRASE"
                | "CREDENTIAL"
                | "CREDENTIALS"
                | "APIKEY"
        )
    }) || n.ends_with("TOKEN")
        || n.ends_with("APIKEY")
        || n.ends_with("SECRET")
        || n.ends_with("PASSWORD")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            os: Os::Linux,
            home: Some("/home/me".into()),
            cwd: None,
        }
    }

    #[test]
    fn classifies() {
        let c = ctx();
        for p in ["/", "//", "/*", "/.", "/..", "/usr/..", "/./", "/../../"] {
            assert_eq!(classify(p, &c), PathClass::Root, "{p}");
        }
        for p in [
            "~",
            "~/",
            "$HOME",
            "${HOME}",
            "$HOME/",
            "~/*",
            "/home/me",
            "/home/bob/",
            "/root",
            "~/.",
        ] {
            assert_eq!(classify(p, &c), PathClass::Home, "{p}");
        }
        for p in [
            "/etc", "/usr/", "/etc/*", "/usr/bin", "/var", "/boot", "/home", "~/..",
        ] {
            assert_eq!(classify(p, &c), PathClass::System, "{p}");
        }
        for p in [
            "./build",
            "node_modules",
            "/tmp/x",
            "~/Downloads/x",
            "/etc/nginx/sites-enabled/x",
            "*",
            ".",
            "/system",
            "/ETC",
        ] {
            assert_eq!(classify(p, &c), PathClass::Other, "{p}");
        }
        let mac = Context {
            os: Os::Macos,
            home: Some("/Users/me".into()),
            cwd: None,
        };
        assert_eq!(classify("/system", &mac), PathClass::System);
    }

    #[test]
    fn block_devices() {
        for p in [
            "/dev/sda",
            "/dev/sdb1",
            "/dev/sdX",
            "/dev/sdXY",
            "/dev/nvme0n1",
            "/dev/nvme0n1p2",
            "/dev/mmcblk0",
            "/dev/disk2",
            "/dev/rdisk3s1",
            "/dev/disk/by-id/usb-x",
            "/dev/vda",
            "/dev/md0",
        ] {
            assert!(is_block_device(p), "{p}");
        }
        for p in [
            "/dev/null",
            "/dev/zero",
            "/dev/urandom",
            "/dev/tty",
            "/dev/stdout",
            "./disk.img",
            "/dev/shm/x",
            "/dev/tcp/1.2.3.4/80",
            "/dev/fd/3",
        ] {
            assert!(!is_block_device(p), "{p}");
        }
    }
}
