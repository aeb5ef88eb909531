//! Package-manager rules: removing the packages the system cannot live without,
//! or forcing removals past the manager's own safety checks.
//!
//! Why this exists: `apt remove libc6` or `pacman -Rdd glibc` leave a machine
//! that cannot run a single program. Ordinary installs and removals of
//! applications stay quiet.

use crate::safety::lower::opts;
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;

const CAT: &str = "packages";

pub(crate) const REMOVE_CORE: Rule = rule("pkg.remove_core", Critical, CAT, "removes a core system package (like libc, systemd or the package manager itself), which can leave the system unable to run or boot");
pub(crate) const FORCE_REMOVE: Rule = rule("pkg.force_remove", High, CAT, "forces a package removal past dependency or essential-package checks, which can break the system");
pub(crate) const UNVERIFIED_INSTALL: Rule = rule(
    "pkg.unverified_install",
    Moderate,
    CAT,
    "installs packages without checking their signatures",
);

pub(crate) const UNINSTALL_ALL: Rule = rule(
    "pkg.uninstall_all",
    High,
    CAT,
    "uninstalls every installed Python package, breaking the programs that use them (the system's own tools too, with sudo)",
);
pub(crate) const RULES: &[Rule] = &[REMOVE_CORE, FORCE_REMOVE, UNVERIFIED_INSTALL, UNINSTALL_ALL];

/// The arguments after `pip`, for `pip`, `pip3`, `python3 -m pip` and
/// `uv pip`.
fn pip_args(c: &Cmd) -> Option<&[crate::safety::parse::Word]> {
    let n = c.name.as_str();
    if n.starts_with("pip") && n[3..].chars().all(|ch| ch.is_ascii_digit() || ch == '.') {
        return Some(&c.args);
    }
    if !n.starts_with("python") && n != "uv" {
        return None;
    }
    let at = c.args.iter().position(|w| w.text == "pip")?;
    let before: Vec<&str> = c.args[..at].iter().map(|w| w.text.as_str()).collect();
    (n.starts_with("python") && before == ["-m"] || n == "uv" && before.is_empty())
        .then(|| &c.args[at + 1..])
}

/// `pip freeze` / `pip list`: the names of every installed package.
fn lists_packages(c: &Cmd) -> bool {
    let some = |t: &str| {
        matches!(
            t,
            "--outdated" | "-o" | "--uptodate" | "-u" | "--not-required"
        )
    };
    pip_args(c).is_some_and(|a| {
        !a.iter().any(|w| some(&w.text))
            && a.iter()
                .find(|w| !w.text.starts_with('-'))
                .is_some_and(|w| w.text == "freeze" || w.text == "list")
    })
}

/// `pip freeze | xargs pip uninstall -y`, `pip uninstall -y $(pip freeze)`,
/// `pip uninstall -r <(pip freeze)`.
fn check_pip(c: &Cmd, cx: &Cx, out: &mut Out) {
    let Some(args) = pip_args(c) else { return };
    if args
        .iter()
        .find(|w| !w.text.starts_with('-'))
        .map(|w| w.text.as_str())
        != Some("uninstall")
    {
        return;
    }
    let piped = c.input == crate::safety::unwrapped::Input::Unknown
        && cx.before_in_pipeline(c.index).any(lists_packages);
    let substituted = args.iter().any(|w| {
        w.subs
            .iter()
            .any(|s| cx.cmds_in(s.cmds.clone()).any(lists_packages))
    });
    if piped || substituted {
        out.add(&UNINSTALL_ALL, c.span.clone());
    }
}

fn is_core_package(p: &str) -> bool {
    let p = p.split([':', '=']).next().unwrap_or(p).to_ascii_lowercase();
    matches!(
        p.as_str(),
        "libc6"
            | "libc-bin"
            | "glibc"
            | "glibc-common"
            | "musl"
            | "systemd"
            | "systemd-sysv"
            | "coreutils"
            | "bash"
            | "dash"
            | "sudo"
            | "apt"
            | "dpkg"
            | "rpm"
            | "dnf"
            | "yum"
            | "pacman"
            | "zypper"
            | "apk-tools"
            | "init"
            | "base-files"
            | "base-passwd"
            | "util-linux"
            | "login"
            | "passwd"
            | "libpam0g"
            | "pam"
            | "perl-base"
            | "libstdc++6"
            | "zlib1g"
            | "zlib"
            | "filesystem"
            | "base"
            | "linux"
            | "kernel"
            | "kernel-core"
            | "grub"
            | "grub2"
            | "grub-pc"
            | "grub-efi-amd64"
            | "shim-signed"
            | "libselinux1"
            | "tar"
            | "gzip"
            | "findutils"
            | "grep"
            | "sed"
            | "mount"
            | "libsystemd0"
            | "ubuntu-minimal"
            | "ubuntu-standard"
            | "busybox"
    ) || p == "linux-image-generic"
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    check_pip(c, cx, out);
    let name = c.name.as_str();
    if !matches!(
        name,
        "apt"
            | "apt-get"
            | "aptitude"
            | "nala"
            | "dnf"
            | "yum"
            | "microdnf"
            | "zypper"
            | "tdnf"
            | "apk"
            | "xbps-remove"
            | "emerge"
            | "pacman"
            | "yay"
            | "paru"
            | "dpkg"
            | "rpm"
            | "pip"
            | "pip3"
    ) {
        return;
    }
    let o = opts(&c.args, "", &[]);
    let ops: Vec<&str> = o.operands.iter().map(|w| w.text.as_str()).collect();
    let (removing, targets): (bool, &[&str]) = match name {
        "apt" | "apt-get" | "aptitude" | "nala" => match ops.split_first() {
            Some((v, rest)) if matches!(*v, "remove" | "purge" | "autoremove") => (true, rest),
            _ => (false, &[]),
        },
        "dnf" | "yum" | "microdnf" | "zypper" | "tdnf" => match ops.split_first() {
            Some((v, rest)) if matches!(*v, "remove" | "erase" | "rm" | "autoremove") => {
                (true, rest)
            }
            _ => (false, &[]),
        },
        "apk" | "xbps-remove" | "emerge" => match ops.split_first() {
            Some((v, rest)) if matches!(*v, "del") => (true, rest),
            _ if name == "xbps-remove" => (true, &ops[..]),
            _ if name == "emerge"
                && (o.has('C') || o.has_long("unmerge") || o.has_long("depclean")) =>
            {
                (true, &ops[..])
            }
            _ => (false, &[]),
        },
        "pacman" | "yay" | "paru" => (o.has('R') || o.has_long("remove"), &ops[..]),
        "dpkg" => (
            o.has('r') || o.has('P') || o.has_long("remove") || o.has_long("purge"),
            &ops[..],
        ),
        "rpm" => (o.has('e') || o.has_long("erase"), &ops[..]),
        _ => (false, &[]),
    };
    if removing {
        if targets.iter().any(|t| is_core_package(t)) {
            out.add(&REMOVE_CORE, c.span.clone());
        }
        let forced = match name {
            "pacman" | "yay" | "paru" => {
                c.arg_texts()
                    .any(|t| t.starts_with("-R") && t.matches('d').count() >= 2)
                    || o.has_long("nodeps")
                        && c.arg_texts().filter(|t| *t == "--nodeps").count() >= 2
            }
            "dpkg" => o.long.iter().any(|(l, _)| {
                l.starts_with("force-remove-essential")
                    || l.starts_with("force-all")
                    || l.starts_with("force-depends")
            }),
            "rpm" => o.has_long("nodeps"),
            "apt" | "apt-get" => o.has_long("allow-remove-essential"),
            _ => false,
        };
        if forced {
            out.add(&FORCE_REMOVE, c.span.clone());
        }
    }
    let unverified = match name {
        "apt" | "apt-get" => {
            o.has_long("allow-unauthenticated")
                || c.arg_texts()
                    .any(|t| t.contains("AllowUnauthenticated=true"))
        }
        "dnf" | "yum" => o.has_long("nogpgcheck"),
        "rpm" => o.has_long("nosignature") && !ops.is_empty(),
        "pip" | "pip3" => o.has_long("trusted-host"),
        _ => false,
    };
    if unverified {
        out.add(&UNVERIFIED_INSTALL, c.span.clone());
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn uninstall_all() {
        assert_flags("pip freeze | xargs pip uninstall -y", "pkg.uninstall_all");
        assert_flags("pip3 uninstall -y -r <(pip3 freeze)", "pkg.uninstall_all");
        assert_flags("sudo pip uninstall -y $(pip freeze)", "pkg.uninstall_all");
        assert_flags(
            "python3 -m pip freeze | xargs python3 -m pip uninstall -y",
            "pkg.uninstall_all",
        );
        assert_flags(
            "pip list --format=freeze | cut -d= -f1 | xargs -n1 pip uninstall -y",
            "pkg.uninstall_all",
        );
        assert_not_flags("pip uninstall -y requests", "pkg.uninstall_all");
        assert_not_flags("pip freeze > requirements.txt", "pkg.uninstall_all");
        assert_not_flags("pip uninstall -r requirements.txt -y", "pkg.uninstall_all");
    }

    #[test]
    fn remove_core() {
        assert_flags("apt remove libc6", "pkg.remove_core");
        assert_flags("sudo apt-get purge -y systemd", "pkg.remove_core");
        assert_flags("sudo pacman -R glibc", "pkg.remove_core");
        assert_flags("dnf remove sudo", "pkg.remove_core");
        assert_flags("rpm -e --nodeps coreutils", "pkg.remove_core");
        assert_not_flags("apt remove vlc", "pkg.remove_core");
        assert_not_flags("apt install libc6", "pkg.remove_core");
    }

    #[test]
    fn force_remove() {
        assert_flags("sudo pacman -Rdd package", "pkg.force_remove");
        assert_flags(
            "dpkg --remove --force-remove-essential bash",
            "pkg.force_remove",
        );
        assert_flags("rpm -e --nodeps foo", "pkg.force_remove");
        assert_not_flags("sudo pacman -Rs package", "pkg.force_remove");
    }

    #[test]
    fn unverified_install() {
        assert_flags(
            "apt-get install --allow-unauthenticated foo",
            "pkg.unverified_install",
        );
        assert_flags("dnf install --nogpgcheck foo.rpm", "pkg.unverified_install");
        assert_not_flags("apt-get install foo", "pkg.unverified_install");
    }
}
