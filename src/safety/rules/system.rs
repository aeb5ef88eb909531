//! System rules: fork bombs, killing everything, power state, kernel triggers,
//! security switches (SELinux, firewall), PATH and history, cron, sudoers and
//! accounts.
//!
//! Why this exists: these commands do not delete files but take the machine
//! down, open it up, or hide what happened. Several are judged on the whole
//! script (a fork bomb is a function that calls itself in the background) or
//! on where a command writes (`echo b > /proc/sysrq-trigger`, `>> /etc/sudoers`).

use crate::safety::lower::opts;
use crate::safety::path_kind::is_history_file;
use crate::safety::programs::is_assignment;
use crate::safety::programs::{is_interpreter, word_prog};
use crate::safety::rules::kit::{Cx, Out, WriteMode, WriteTarget};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;
use regex::Regex;
use std::sync::OnceLock;

const CAT: &str = "system";

pub(crate) const FORK_BOMB: Rule = rule(
    "sys.fork_bomb",
    Critical,
    CAT,
    "starts a fork bomb that spawns processes until the computer freezes",
);
pub(crate) const KILL_ALL: Rule = rule(
    "sys.kill_all",
    Critical,
    CAT,
    "kills every process you are allowed to, which ends your session or crashes the system",
);
pub(crate) const KILL_INIT: Rule = rule(
    "sys.kill_init",
    Critical,
    CAT,
    "sends a signal to PID 1 (init or systemd); if it dies the kernel panics and the machine goes down",
);
pub(crate) const FIREWALL_DROP_ALL: Rule = rule(
    "sys.firewall_drop_all",
    High,
    CAT,
    "makes the firewall drop all traffic, which cuts every connection to this machine, yours included",
);
pub(crate) const SHUTDOWN: Rule = rule(
    "sys.shutdown",
    High,
    CAT,
    "shuts down or restarts the computer, ending everything that is running",
);
pub(crate) const SYSRQ: Rule = rule(
    "sys.sysrq",
    Critical,
    CAT,
    "sends a kernel SysRq command that can instantly reboot, crash or freeze the machine",
);
pub(crate) const KERNEL_MEMORY: Rule = rule(
    "sys.kernel_memory_write",
    Critical,
    CAT,
    "writes directly into physical or kernel memory, which can crash or compromise the system",
);
pub(crate) const SELINUX_DISABLE: Rule = rule(
    "sys.selinux_disable",
    High,
    CAT,
    "turns off SELinux protection",
);
pub(crate) const MACOS_PROTECTION_DISABLE: Rule = rule(
    "sys.macos_protection_disable",
    High,
    CAT,
    "turns off a macOS protection (Gatekeeper or System Integrity Protection)",
);
pub(crate) const FIREWALL_DISABLE: Rule = rule(
    "sys.firewall_disable",
    High,
    CAT,
    "turns off the firewall, exposing every listening service to the network",
);
pub(crate) const FIREWALL_FLUSH: Rule = rule(
    "sys.firewall_flush",
    High,
    CAT,
    "deletes all firewall rules",
);
pub(crate) const PATH_EMPTY: Rule = rule(
    "sys.path_clobber",
    High,
    CAT,
    "empties or replaces PATH, so the shell can no longer find ordinary commands",
);
pub(crate) const HISTORY_WIPE: Rule = rule(
    "sys.history_wipe",
    High,
    CAT,
    "erases or disables your shell history, hiding what was run",
);
pub(crate) const CRONTAB_REMOVE: Rule = rule(
    "sys.crontab_remove",
    High,
    CAT,
    "deletes all your scheduled cron jobs without asking",
);
pub(crate) const SUDOERS_NOPASSWD: Rule = rule(
    "sys.sudoers_nopasswd",
    Critical,
    CAT,
    "gives passwordless root access (NOPASSWD) through the sudoers file",
);
pub(crate) const SUDOERS_WRITE: Rule = rule(
    "sys.sudoers_write",
    High,
    CAT,
    "edits the sudoers file directly, skipping the visudo check; a typo locks you out of sudo",
);
pub(crate) const LD_PRELOAD: Rule = rule(
    "sys.ld_preload",
    Critical,
    CAT,
    "makes every program load a library through /etc/ld.so.preload, a classic rootkit trick",
);
pub(crate) const ROOT_PASSWORD_REMOVE: Rule = rule(
    "sys.root_password_remove",
    High,
    CAT,
    "removes the root password so anyone can become root",
);
pub(crate) const USERDEL_ROOT: Rule = rule(
    "sys.userdel_root",
    Critical,
    CAT,
    "deletes the root account",
);

pub(crate) const RULES: &[Rule] = &[
    FORK_BOMB,
    KILL_ALL,
    KILL_INIT,
    FIREWALL_DROP_ALL,
    SHUTDOWN,
    SYSRQ,
    KERNEL_MEMORY,
    SELINUX_DISABLE,
    MACOS_PROTECTION_DISABLE,
    FIREWALL_DISABLE,
    FIREWALL_FLUSH,
    PATH_EMPTY,
    HISTORY_WIPE,
    CRONTAB_REMOVE,
    SUDOERS_NOPASSWD,
    SUDOERS_WRITE,
    LD_PRELOAD,
    ROOT_PASSWORD_REMOVE,
    USERDEL_ROOT,
];

fn interp_fork_bomb() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        // `fork while fork`, or an endless loop (`while 1`, `while True:`,
        // `for(;;)`, `loop {`) whose body starts with a process spawn.
        Regex::new(r"(?i)\bfork\s*while\s*fork|\bfork\s+while\s+(1|true)\b|(while\s*\(?\s*(1|true)\s*\)?\s*(do\b|[:{])?|for\s*\(\s*;\s*;\s*\)|\bloop\s*(\{|do\b))\s*\{?\s*([\w$]+(\.|->|::))*(fork|pcntl_fork|popen|spawn|spawnsync)\s*[({;}]?").unwrap()
    })
}

fn firewall_service(t: &str) -> bool {
    let t = t.trim_end_matches(".service");
    matches!(
        t,
        "firewalld" | "ufw" | "iptables" | "ip6tables" | "nftables" | "pf" | "shorewall" | "csf"
    )
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let name = c.name.as_str();
    let sub0 = c.sub(0);
    if matches!(name, "sed" | "perl" | "tee")
        && c.arg_texts()
            .any(|t| t.contains("SELINUX=disabled") || t.contains("SELINUX=permissive"))
    {
        out.add(&SELINUX_DISABLE, c.span.clone());
    }
    match name {
        "killall5" => out.add(&KILL_ALL, c.span.clone()),
        "kill" => check_kill(c, cx, out),
        "pkill" | "killall" => check_pkill(c, out),
        "shutdown" | "reboot" | "halt" | "poweroff" | "openrc-shutdown" => {
            let cancel = c.arg_texts().any(|t| {
                matches!(
                    t,
                    "-c" | "--cancel" | "-k" | "-w" | "--wtmp-only" | "--help"
                )
            });
            if !cancel {
                out.add(&SHUTDOWN, c.span.clone());
            }
        }
        "init" | "telinit" => {
            if matches!(sub0, Some("0" | "6")) {
                out.add(&SHUTDOWN, c.span.clone());
            }
        }
        "systemctl" | "loginctl" => check_systemctl(c, out),
        "service" if sub0.is_some_and(firewall_service) && matches!(c.sub(1), Some("stop")) => {
            out.add(&FIREWALL_DISABLE, c.span.clone());
        }
        "setenforce" => {
            if matches!(
                sub0.map(|s| s.to_ascii_lowercase()).as_deref(),
                Some("0" | "permissive")
            ) {
                out.add(&SELINUX_DISABLE, c.span.clone());
            }
        }
        "spctl"
            if c.arg_texts()
                .any(|t| t == "--master-disable" || t == "--global-disable") =>
        {
            out.add(&MACOS_PROTECTION_DISABLE, c.span.clone());
        }
        "csrutil" if sub0 == Some("disable") => {
            out.add(&MACOS_PROTECTION_DISABLE, c.span.clone());
        }
        "ufw"
            if matches!(sub0, Some("disable" | "reset"))
                && !c.arg_texts().any(|t| t == "--dry-run") =>
        {
            out.add(&FIREWALL_DISABLE, c.span.clone());
        }
        "pfctl" if c.arg_texts().any(|t| t == "-d") => {
            out.add(&FIREWALL_DISABLE, c.span.clone());
        }
        "socketfilterfw" if c.arg_texts().any(|t| t == "off") => {
            out.add(&FIREWALL_DISABLE, c.span.clone());
        }
        "iptables" | "ip6tables" | "iptables-nft" | "iptables-legacy" | "ip6tables-nft"
        | "ip6tables-legacy" => check_iptables(c, out),
        "nft" => check_nft(c, out),
        "firewall-cmd" if c.arg_texts().any(|t| t == "--panic-on") => {
            out.add(&FIREWALL_DROP_ALL, c.span.clone());
        }
        "ufw" if sub0 == Some("default") => {
            let rest: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
            if rest.get(1).is_some_and(|p| matches!(*p, "deny" | "reject"))
                && rest.get(2).is_some_and(|d| *d == "outgoing")
            {
                out.add(&FIREWALL_DROP_ALL, c.span.clone());
            }
        }
        "export" | "declare" | "typeset" | "readonly" | "local" => {
            for w in &c.args {
                check_assignment(&w.text, w.span.clone(), out);
            }
        }
        "unset" => {
            for w in &c.args {
                match w.text.as_str() {
                    "PATH" => out.add(&PATH_EMPTY, w.span.clone()),
                    "HISTFILE" => out.add(&HISTORY_WIPE, w.span.clone()),
                    _ => {}
                }
            }
        }
        "history" => {
            let o = opts(&c.args, "d", &[]);
            if o.has('c') {
                out.add(&HISTORY_WIPE, c.span.clone());
            }
        }
        "rm" | "shred" | "truncate" | "srm" if c.args.iter().any(|w| is_history_file(&w.text)) => {
            out.add(&HISTORY_WIPE, c.span.clone());
        }
        "ln" => {
            let o = opts(&c.args, "tS", &[]);
            if o.operands.first().is_some_and(|w| w.text == "/dev/null")
                && o.operands.iter().any(|w| is_history_file(&w.text))
            {
                out.add(&HISTORY_WIPE, c.span.clone());
            }
        }
        "crontab" => {
            let o = opts(&c.args, "u", &[]);
            if o.has('r') && !o.has('i') {
                out.add(&CRONTAB_REMOVE, c.span.clone());
            }
        }
        "passwd" => {
            let o = opts(&c.args, "", &[]);
            if (o.has('d') || o.has_long("delete")) && o.operands.iter().any(|w| w.text == "root") {
                out.add(&ROOT_PASSWORD_REMOVE, c.span.clone());
            }
        }
        "usermod" => {
            let o = opts(&c.args, "pcdegGlsuL", &["password"]);
            let empty_pw = o.value('p').is_some_and(|v| v.is_empty())
                || o.long_value("password").is_some_and(|v| v.is_empty());
            if empty_pw && o.operands.iter().any(|w| w.text == "root") {
                out.add(&ROOT_PASSWORD_REMOVE, c.span.clone());
            }
        }
        "userdel" | "deluser" => {
            let o = opts(&c.args, "R", &[]);
            if o.operands.iter().any(|w| w.text == "root") {
                out.add(&USERDEL_ROOT, c.span.clone());
            }
        }
        n if is_interpreter(n) && c.args.iter().any(|w| interp_fork_bomb().is_match(&w.text)) => {
            out.add(&FORK_BOMB, c.span.clone());
        }
        _ => {}
    }
    let _ = cx;
}

/// `kill`: every process (`-1`), or init (PID 1, `$(pidof systemd)`), with a signal that ends it.
fn check_kill(c: &Cmd, cx: &Cx, out: &mut Out) {
    let mut signal: Option<&str> = None;
    let mut pids: Vec<&crate::safety::parse::Word> = Vec::new();
    let mut only_pids = false;
    let mut i = 0;
    while i < c.args.len() {
        let w = &c.args[i];
        let t = w.text.as_str();
        i += 1;
        if only_pids {
            pids.push(w);
            continue;
        }
        match t {
            "--" => only_pids = true,
            "-l" | "-L" | "--list" | "--table" => return,
            "-s" | "-n" | "--signal" => {
                signal = c.args.get(i).map(|w| w.text.as_str());
                i += 1;
            }
            _ if t.starts_with("--signal=") => signal = Some(&t[9..]),
            // The first `-X` is the signal (`kill -1 PID` is SIGHUP).
            _ if t.starts_with('-') && t.len() > 1 && signal.is_none() && pids.is_empty() => {
                signal = Some(&t[1..]);
            }
            _ => pids.push(w),
        }
    }
    let sig = signal
        .unwrap_or("TERM")
        .trim_start_matches("SIG")
        .trim_start_matches("sig")
        .to_ascii_uppercase();
    let harmless = matches!(sig.as_str(), "0" | "HUP" | "1");
    for w in pids {
        if w.text == "-1" {
            out.add(&KILL_ALL, w.span.clone());
        } else if (w.text == "1" || is_init_lookup(cx, w)) && !harmless {
            out.add(&KILL_INIT, w.span.clone());
        }
    }
}

/// `pkill`/`killall` of init, systemd or launchd with a signal that ends it.
fn check_pkill(c: &Cmd, out: &mut Out) {
    let o = opts(
        &c.args,
        "sugUGPtFnoc",
        &[
            "signal",
            "user",
            "group",
            "parent",
            "terminal",
            "session",
            "ns",
            "nslist",
            "pidfile",
            "older-than",
            "younger-than",
        ],
    );
    // `pkill -9 x`, `killall -HUP x`: a signal written as an option.
    let dash_signal = c.arg_texts().find_map(|t| {
        let s = t.strip_prefix('-')?;
        let s = s.strip_prefix("SIG").unwrap_or(s);
        (!s.is_empty()
            && (s.chars().all(|ch| ch.is_ascii_digit())
                || s.len() >= 3 && s.chars().all(|ch| ch.is_ascii_uppercase())))
        .then_some(s)
    });
    let sig = dash_signal
        .or(o.value('s'))
        .or(o.long_value("signal"))
        .unwrap_or("TERM")
        .trim_start_matches("SIG")
        .to_ascii_uppercase();
    let harmless = matches!(sig.as_str(), "0" | "HUP" | "1");
    if !harmless
        && o.operands.iter().any(|w| {
            matches!(
                w.text.trim_start_matches('^').trim_end_matches('$'),
                "init" | "systemd" | "launchd"
            )
        })
    {
        out.add(&KILL_INIT, c.span.clone());
    }
}

/// `systemctl`/`loginctl`: a shutdown not cancelled, or the firewall stopped.
fn check_systemctl(c: &Cmd, out: &mut Out) {
    let verb = c.sub(0).unwrap_or("");
    let cancelled = c
        .args
        .windows(2)
        .any(|w| w[0].text == "--when" && w[1].text == "cancel")
        || c.arg_texts().any(|t| t == "--when=cancel");
    if matches!(
        verb,
        "poweroff" | "reboot" | "halt" | "kexec" | "soft-reboot"
    ) && !cancelled
    {
        out.add(&SHUTDOWN, c.span.clone());
    }
    if matches!(verb, "stop" | "disable" | "mask" | "kill")
        && c.args.iter().skip(1).any(|w| firewall_service(&w.text))
    {
        out.add(&FIREWALL_DISABLE, c.span.clone());
    }
}

/// `nft`: the ruleset flushed or deleted, or an input hook that drops everything.
fn check_nft(c: &Cmd, out: &mut Out) {
    let words: Vec<String> = c
        .arg_texts()
        .filter(|t| !t.starts_with('-'))
        .map(|t| t.to_ascii_lowercase())
        .collect();
    let verb = words.first().map(String::as_str);
    let what = words.get(1).map(String::as_str);
    if matches!(verb, Some("flush")) && matches!(what, Some("ruleset" | "table" | "chain"))
        || matches!(verb, Some("delete" | "destroy")) && matches!(what, Some("table"))
    {
        out.add(&FIREWALL_FLUSH, c.span.clone());
    }
    let text = words.join(" ");
    if matches!(verb, Some("add" | "create"))
        && text.contains("hook input")
        && text.contains("policy drop")
    {
        out.add(&FIREWALL_DROP_ALL, c.span.clone());
    }
}

/// `kill $(pidof systemd)`, `kill -9 $(pgrep -x init)`.
fn is_init_lookup(cx: &Cx, w: &crate::safety::parse::Word) -> bool {
    cx.sub_cmds(w).any(|s| {
        matches!(s.name.as_str(), "pidof" | "pgrep")
            && s.arg_texts().any(|a| {
                matches!(
                    a.trim_start_matches('^').trim_end_matches('$'),
                    "init" | "systemd" | "launchd"
                )
            })
    })
}

/// Flushing all rules, a DROP default policy, or a rule that drops
/// everything arriving or leaving.
fn check_iptables(c: &Cmd, out: &mut Out) {
    let a: Vec<&str> = c.arg_texts().collect();
    let mut i = 0;
    let mut append_chain: Option<&str> = None;
    let mut target: Option<&str> = None;
    let mut matches = false;
    while i < a.len() {
        let t = a[i];
        let next = a.get(i + 1).copied();
        match t {
            "-F" | "--flush" | "-X" | "--delete-chain" => {
                out.add(&FIREWALL_FLUSH, c.span.clone());
            }
            "-P" | "--policy" => {
                let policy = a.get(i + 2).map(|p| p.to_ascii_uppercase());
                if matches!(policy.as_deref(), Some("DROP" | "REJECT")) {
                    out.add(&FIREWALL_DROP_ALL, c.span.clone());
                }
                i += 3;
                continue;
            }
            "-A" | "--append" | "-I" | "--insert" => {
                append_chain = next;
                i += 2;
                if a.get(i)
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
                {
                    i += 1;
                }
                continue;
            }
            "-j" | "--jump" => {
                target = next;
                i += 2;
                continue;
            }
            "-t" | "--table" | "-w" | "--wait" => {
                i += 2;
                continue;
            }
            _ if t.starts_with('-') && t.len() > 1 && !t.starts_with("-F") => {
                matches = true;
                if t.starts_with("--") && t.contains('=') || t.len() > 2 && !t.starts_with("--") {
                    i += 1;
                } else {
                    i += 2;
                }
                continue;
            }
            _ if t.starts_with("-F") => out.add(&FIREWALL_FLUSH, c.span.clone()),
            _ => {}
        }
        i += 1;
    }
    let everything = !matches
        && append_chain
            .is_some_and(|ch| matches!(ch.to_ascii_uppercase().as_str(), "INPUT" | "OUTPUT"))
        && target.is_some_and(|t| matches!(t.to_ascii_uppercase().as_str(), "DROP" | "REJECT"));
    if everything {
        out.add(&FIREWALL_DROP_ALL, c.span.clone());
    }
}

fn check_assignment(text: &str, span: std::ops::Range<usize>, out: &mut Out) {
    let Some((name, value)) = text.split_once('=') else {
        return;
    };
    match name.trim_end_matches('+') {
        "PATH" => {
            let keeps = value.contains("PATH") || value.contains("bin");
            if !keeps {
                out.add(&PATH_EMPTY, span);
            }
        }
        "HISTFILE" if value.is_empty() || value == "/dev/null" => out.add(&HISTORY_WIPE, span),
        "HISTSIZE" | "HISTFILESIZE" | "SAVEHIST" if value == "0" => out.add(&HISTORY_WIPE, span),
        _ => {}
    }
}

/// Writes to kernel triggers, sudoers, ld.so.preload and history files.
pub(crate) fn check_write(t: &WriteTarget, idx: usize, cx: &Cx, out: &mut Out) {
    let p = &t.resolved;
    if p == "/proc/sysrq-trigger" {
        out.add(&SYSRQ, t.span.clone());
    } else if matches!(
        p.as_str(),
        "/dev/mem" | "/dev/kmem" | "/dev/port" | "/proc/kcore"
    ) {
        out.add(&KERNEL_MEMORY, t.span.clone());
    } else if p == "/etc/sudoers" || p.starts_with("/etc/sudoers.d/") || p == "/private/etc/sudoers"
    {
        if pipeline_mentions(cx, idx, "NOPASSWD") {
            out.add(&SUDOERS_NOPASSWD, t.span.clone());
        } else if t.tool != "visudo"
            && (t.mode == WriteMode::Append || !crate::safety::path_kind::is_account_file(p))
        {
            out.add(&SUDOERS_WRITE, t.span.clone());
        }
    } else if p == "/etc/ld.so.preload" {
        out.add(&LD_PRELOAD, t.span.clone());
    } else if t.mode == WriteMode::Truncate && is_history_file(p) {
        out.add(&HISTORY_WIPE, t.span.clone());
    }
}

/// Whether any word of the pipeline holding simple command `idx` contains `needle`.
fn pipeline_mentions(cx: &Cx, idx: usize, needle: &str) -> bool {
    let sc = &cx.script.commands[idx];
    let Some(p) = cx.script.pipelines.get(sc.pipeline) else {
        return false;
    };
    p.iter().any(|&i| {
        let c = &cx.script.commands[i];
        c.words.iter().any(|w| w.text.contains(needle))
            || c.redirects.iter().any(|r| r.target.text.contains(needle))
    })
}

/// Script-level checks: fork bombs and bare assignments.
pub(crate) fn check_script(cx: &Cx, out: &mut Out) {
    let s = cx.script;
    let mut reported = std::collections::HashSet::new();
    for sc in &s.commands {
        if let Some(fi) = sc.function.filter(|f| !reported.contains(f)) {
            let name = &s.functions[fi];
            let calls_self = sc
                .words
                .first()
                .is_some_and(|w| word_prog(w) == name.to_ascii_lowercase() || w.text == *name);
            let spreads =
                sc.background || s.pipelines.get(sc.pipeline).is_some_and(|p| p.len() > 1);
            if calls_self && spreads {
                out.add(&FORK_BOMB, sc.span.clone());
                reported.insert(fi);
            }
        }
        if !sc.words.is_empty() && sc.words.iter().all(is_assignment) {
            for w in &sc.words {
                check_assignment(&w.text, w.span.clone(), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn fork_bomb() {
        assert_flags(":(){ :|:& };:", "sys.fork_bomb");
        assert_flags("bomb() { bomb | bomb & }; bomb", "sys.fork_bomb");
        assert_flags("f(){ f|f& };f", "sys.fork_bomb");
        assert_flags("perl -e 'fork while fork'", "sys.fork_bomb");
        assert_flags(
            "python3 -c 'import os\nwhile True: os.fork()'",
            "sys.fork_bomb",
        );
        assert_not_flags("greet() { echo hi; }; greet", "sys.fork_bomb");
        assert_not_flags("echo ':(){ :|:& };:'", "sys.fork_bomb");
    }

    #[test]
    fn kill_all() {
        assert_flags("kill -9 -1", "sys.kill_all");
        assert_flags("kill -KILL -1", "sys.kill_all");
        assert_flags("kill -s KILL -1", "sys.kill_all");
        assert_flags("kill -- -1", "sys.kill_all");
        assert_flags("killall5 -9", "sys.kill_all");
        assert_not_flags("kill -9 1234", "sys.kill_all");
        assert_not_flags("kill -1 1234", "sys.kill_all");
    }

    #[test]
    fn kill_init() {
        assert_flags("kill -9 1", "sys.kill_init");
        assert_flags("sudo kill -SEGV 1", "sys.kill_init");
        assert_flags("kill 1", "sys.kill_init");
        assert_flags("kill -s KILL -- 1", "sys.kill_init");
        assert_flags("sudo kill -9 $(pidof systemd)", "sys.kill_init");
        assert_flags("sudo pkill -9 init", "sys.kill_init");
        assert_flags("killall -KILL systemd", "sys.kill_init");
        assert_not_flags("kill -1 1234", "sys.kill_init");
        assert_not_flags("kill -HUP 1", "sys.kill_init");
        assert_not_flags("kill -0 1", "sys.kill_init");
        assert_not_flags("kill -9 12", "sys.kill_init");
        assert_not_flags("pkill -HUP systemd", "sys.kill_init");
        assert_not_flags("pkill firefox", "sys.kill_init");
    }

    #[test]
    fn firewall_drop_all() {
        assert_flags("sudo iptables -P INPUT DROP", "sys.firewall_drop_all");
        assert_flags("iptables --policy OUTPUT REJECT", "sys.firewall_drop_all");
        assert_flags("iptables -A INPUT -j DROP", "sys.firewall_drop_all");
        assert_flags("firewall-cmd --panic-on", "sys.firewall_drop_all");
        assert_flags(
            "nft add chain inet filter input '{ type filter hook input priority 0; policy drop; }'",
            "sys.firewall_drop_all",
        );
        assert_not_flags("iptables -P INPUT ACCEPT", "sys.firewall_drop_all");
        assert_not_flags(
            "iptables -A INPUT -s 10.0.0.5 -j DROP",
            "sys.firewall_drop_all",
        );
        assert_not_flags(
            "iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
            "sys.firewall_drop_all",
        );
        assert_not_flags("ufw default deny incoming", "sys.firewall_drop_all");
    }

    #[test]
    fn shutdown() {
        assert_flags("sudo shutdown -h now", "sys.shutdown");
        assert_flags("reboot", "sys.shutdown");
        assert_flags("systemctl poweroff", "sys.shutdown");
        assert_flags("init 0", "sys.shutdown");
        assert_not_flags("shutdown -c", "sys.shutdown");
        assert_not_flags("systemctl soft-reboot --when cancel", "sys.shutdown");
        assert_not_flags("last reboot", "sys.shutdown");
    }

    #[test]
    fn sysrq() {
        assert_flags("echo b > /proc/sysrq-trigger", "sys.sysrq");
        assert_flags("echo c | sudo tee /proc/sysrq-trigger", "sys.sysrq");
        assert_not_flags("cat /proc/sys/kernel/sysrq", "sys.sysrq");
    }

    #[test]
    fn kernel_memory_write() {
        assert_flags("dd if=x of=/dev/mem", "sys.kernel_memory_write");
        assert_flags("cat x > /dev/mem", "sys.kernel_memory_write");
        assert_not_flags("cat /dev/mem | head", "sys.kernel_memory_write");
    }

    #[test]
    fn selinux_disable() {
        assert_flags("setenforce 0", "sys.selinux_disable");
        assert_flags(
            "sudo sed -i 's/SELINUX=enforcing/SELINUX=disabled/' /etc/selinux/config",
            "sys.selinux_disable",
        );
        assert_not_flags("setenforce 1", "sys.selinux_disable");
    }

    #[test]
    fn macos_protection_disable() {
        assert_flags(
            "sudo spctl --master-disable",
            "sys.macos_protection_disable",
        );
        assert_flags("csrutil disable", "sys.macos_protection_disable");
        assert_not_flags("csrutil status", "sys.macos_protection_disable");
    }

    #[test]
    fn firewall_disable() {
        assert_flags("ufw disable", "sys.firewall_disable");
        assert_flags("sudo systemctl stop firewalld", "sys.firewall_disable");
        assert_flags("pfctl -d", "sys.firewall_disable");
        assert_not_flags("ufw enable", "sys.firewall_disable");
        assert_not_flags("sudo ufw --dry-run disable", "sys.firewall_disable");
        assert_not_flags("systemctl stop nginx", "sys.firewall_disable");
    }

    #[test]
    fn firewall_flush() {
        assert_flags("iptables -F", "sys.firewall_flush");
        assert_flags("sudo iptables -t nat -F", "sys.firewall_flush");
        assert_flags("iptables -X", "sys.firewall_flush");
        assert_flags("nft flush ruleset", "sys.firewall_flush");
        assert_flags("nft delete table inet filter", "sys.firewall_flush");
        assert_not_flags("iptables -L", "sys.firewall_flush");
        assert_not_flags(
            "iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
            "sys.firewall_flush",
        );
        assert_not_flags("nft list ruleset", "sys.firewall_flush");
    }

    #[test]
    fn path_clobber() {
        assert_flags("export PATH=", "sys.path_clobber");
        assert_flags("PATH=\"\"", "sys.path_clobber");
        assert_flags("unset PATH", "sys.path_clobber");
        assert_not_flags("export PATH=$PATH:~/bin", "sys.path_clobber");
        assert_not_flags("PATH= ls", "sys.path_clobber");
    }

    #[test]
    fn history_wipe() {
        assert_flags("history -c", "sys.history_wipe");
        assert_flags("unset HISTFILE", "sys.history_wipe");
        assert_flags("export HISTFILE=/dev/null", "sys.history_wipe");
        assert_flags("> ~/.bash_history", "sys.history_wipe");
        assert_flags("rm ~/.zsh_history", "sys.history_wipe");
        assert_not_flags("history | grep ssh", "sys.history_wipe");
    }

    #[test]
    fn crontab_remove() {
        assert_flags("crontab -r", "sys.crontab_remove");
        assert_flags("crontab -u bob -r", "sys.crontab_remove");
        assert_not_flags("crontab -l", "sys.crontab_remove");
        assert_not_flags("crontab -ri", "sys.crontab_remove");
    }

    #[test]
    fn sudoers_nopasswd() {
        assert_flags(
            "echo 'x ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers",
            "sys.sudoers_nopasswd",
        );
        assert_flags(
            "echo 'me ALL=(ALL) NOPASSWD:ALL' | sudo tee -a /etc/sudoers.d/me",
            "sys.sudoers_nopasswd",
        );
        assert_not_flags("grep NOPASSWD /etc/sudoers", "sys.sudoers_nopasswd");
    }

    #[test]
    fn sudoers_write() {
        assert_flags(
            "echo 'me ALL=(ALL) ALL' >> /etc/sudoers",
            "sys.sudoers_write",
        );
        assert_not_flags("sudo visudo", "sys.sudoers_write");
    }

    #[test]
    fn ld_preload() {
        assert_flags("echo /tmp/x.so > /etc/ld.so.preload", "sys.ld_preload");
        assert_not_flags("cat /etc/ld.so.preload", "sys.ld_preload");
    }

    #[test]
    fn root_password_remove() {
        assert_flags("passwd -d root", "sys.root_password_remove");
        assert_not_flags("passwd -d guest", "sys.root_password_remove");
    }

    #[test]
    fn userdel_root() {
        assert_flags("userdel root", "sys.userdel_root");
        assert_not_flags("userdel -r guest", "sys.userdel_root");
    }
}
