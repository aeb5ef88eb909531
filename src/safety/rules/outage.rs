//! Outage rules: commands that cut the machine off, lower its defences or
//! run it out of processes without deleting anything.
//!
//! Why this exists: `ip link set eth0 down` or `nmcli networking off` typed
//! over SSH locks the user out; `sysctl -w kernel.randomize_va_space=0`
//! quietly removes a kernel protection; `systemctl isolate rescue.target`
//! stops every service; `while true; do bash & done` is a fork bomb without
//! a function. Each is judged on its own words, with harmless neighbours
//! (`ip link show`, `sysctl -a`, a loop that sleeps or waits) left quiet.

use crate::safety::lower::opts;
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::rules::system::FORK_BOMB;
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;
use std::ops::Range;

const CAT: &str = "outage";

pub(crate) const NETWORK_DOWN: Rule = rule(
    "sys.network_down",
    High,
    CAT,
    "takes a network interface, a connection or all networking down; over SSH this cuts your own session and can lock you out",
);
pub(crate) const KERNEL_PROTECTION_OFF: Rule = rule(
    "sys.kernel_protection_off",
    High,
    CAT,
    "turns off a kernel protection (address randomisation, hidden kernel pointers, ptrace or link restrictions), which makes attacks on this machine easier",
);
pub(crate) const CORE_PATTERN_PIPE: Rule = rule(
    "sys.core_pattern_pipe",
    Critical,
    CAT,
    "makes the kernel run a program as root whenever any program crashes, a known way to plant a backdoor",
);
pub(crate) const RESCUE_MODE: Rule = rule(
    "sys.rescue_mode",
    High,
    CAT,
    "switches the machine to rescue or emergency mode, which stops its services and network logins",
);

pub(crate) const RULES: &[Rule] = &[
    NETWORK_DOWN,
    KERNEL_PROTECTION_OFF,
    CORE_PATTERN_PIPE,
    RESCUE_MODE,
];

/// Services whose stop cuts the network or remote logins.
fn network_service(s: &str) -> bool {
    matches!(
        s.trim_end_matches(".service"),
        "NetworkManager"
            | "networking"
            | "network"
            | "systemd-networkd"
            | "wpa_supplicant"
            | "dhcpcd"
            | "sshd"
            | "ssh"
    )
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let names = [
        "ip",
        "route",
        "ifconfig",
        "ifdown",
        "nmcli",
        "rfkill",
        "systemctl",
        "service",
        "sysctl",
        "init",
        "telinit",
    ];
    if !names.contains(&c.name.as_str()) {
        return;
    }
    let words: Vec<&str> = c.arg_texts().filter(|t| !t.starts_with('-')).collect();
    let span = c.span.clone();
    let down = |what: String| {
        format!("takes {what} down; over SSH this cuts your own session and can lock you out")
    };
    let note = match (c.name.as_str(), words.as_slice()) {
        ("ip", ["link" | "l", "set", .., "down"]) => {
            let dev = words.iter().skip(2).find(|w| !matches!(**w, "dev" | "down"));
            down(format!("the network interface {}", dev.unwrap_or(&"")))
        }
        ("ip", ["addr" | "address" | "a", "flush", ..]) => "removes every address of a network interface; over SSH this cuts your own session".to_string(),
        ("ip", ["route" | "r", "del" | "delete" | "flush", rest @ ..]) if rest.first().is_some_and(|r| matches!(*r, "default" | "0/0" | "0.0.0.0/0" | "all" | "table")) => {
            "removes the default route, so the machine can no longer reach other networks; over SSH this cuts your own session".to_string()
        }
        ("route", ["del" | "delete", "default", ..]) => {
            "removes the default route, so the machine can no longer reach other networks; over SSH this cuts your own session".to_string()
        }
        ("ifconfig", [dev, .., "down"]) => down(format!("the network interface {dev}")),
        ("ifdown", [dev, ..]) => down(format!("the network interface {dev}")),
        ("ifdown", []) if c.arg_texts().any(|t| t == "-a") => down("every network interface".into()),
        ("nmcli", ["networking" | "n", "off"]) => down("all networking".into()),
        ("nmcli", ["radio" | "r", _, "off"]) => down("the wireless radios".into()),
        ("nmcli", ["device" | "dev" | "d", "disconnect" | "down", dev, ..]) => down(format!("the network device {dev}")),
        ("nmcli", ["connection" | "con" | "c", "down" | "d", what, ..]) => down(format!("the network connection {what}")),
        ("rfkill", ["block", "all" | "wifi" | "wlan" | "wwan", ..]) => down("the wireless devices".into()),
        ("systemctl", [verb, units @ ..]) if matches!(*verb, "stop" | "disable" | "mask" | "kill") => {
            let Some(u) = units.iter().find(|u| network_service(u)) else {
                return rescue(c, &words, cx, out);
            };
            let now = c.arg_texts().any(|t| t == "--now");
            match *verb {
                "disable" if !now => format!("keeps {u} from starting at the next boot; after a restart the machine may be unreachable over the network"),
                "mask" => format!("masks {u}, so nothing can start it; over SSH this can keep you from logging in again"),
                _ => format!("stops {u}; over SSH this cuts your own session or keeps you from logging in again"),
            }
        }
        ("service", [unit, "stop", ..]) if network_service(unit) => {
            format!("stops {unit}; over SSH this cuts your own session or keeps you from logging in again")
        }
        ("sysctl", _) => return sysctl_args(c, out),
        _ => return rescue(c, &words, cx, out),
    };
    out.add_note(&NETWORK_DOWN, span, note);
}

/// `systemctl isolate rescue.target`, `systemctl rescue`, `init 1`.
fn rescue(c: &Cmd, words: &[&str], _cx: &Cx, out: &mut Out) {
    let to_rescue = match (c.name.as_str(), words) {
        ("systemctl", ["isolate", target, ..]) => matches!(
            target.trim_end_matches(".target"),
            "rescue" | "emergency" | "runlevel1" | "single"
        ),
        ("systemctl", ["rescue" | "emergency", ..]) => true,
        ("init" | "telinit", [level, ..]) => matches!(*level, "1" | "s" | "S" | "single"),
        _ => false,
    };
    if to_rescue {
        out.add(&RESCUE_MODE, c.span.clone());
    }
}

/// `sysctl -w KEY=VALUE` (or without `-w`) for each setting.
fn sysctl_args(c: &Cmd, out: &mut Out) {
    let o = opts(&c.args, "p", &["load"]);
    if o.has('a') || o.has_long("all") {
        return;
    }
    for w in &o.operands {
        if let Some((key, value)) = w.text.split_once('=') {
            sysctl_setting(key, value, "", w.span.clone(), out);
        }
    }
}

/// The settings of a sysctl file (`KEY = VALUE` lines) written on the line;
/// returns whether one of them was judged.
pub(crate) fn sysctl_text(text: &str, file: &str, span: Range<usize>, out: &mut Out) -> bool {
    let mut any = false;
    for l in text.lines() {
        if let Some((k, v)) = l.split_once('=') {
            any |= sysctl_setting(k, v, &format!(" at every boot ({file})"), span.clone(), out);
        }
    }
    any
}

/// A write into `/proc/sys/...` (`echo 0 > /proc/sys/kernel/randomize_va_space`).
pub(crate) fn check_proc_sys(cx: &Cx, out: &mut Out) {
    for w in &cx.flow().files {
        if let Some(key) = w.path.strip_prefix("/proc/sys/") {
            let key = key.replace('/', ".");
            sysctl_setting(&key, w.data.text.trim(), "", w.span.clone(), out);
        }
    }
}

/// Judges one kernel setting; returns whether it lowers a protection.
fn sysctl_setting(key: &str, value: &str, when: &str, span: Range<usize>, out: &mut Out) -> bool {
    let key = key.trim().replace('/', ".");
    let value = value.trim().trim_matches(['"', '\'']);
    if key == "kernel.core_pattern" {
        if value.starts_with('|') {
            let note = format!(
                "makes the kernel run {} as root whenever a program crashes{when}",
                value
                    .trim_start_matches('|')
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
            );
            out.add_note(&CORE_PATTERN_PIPE, span, note);
            return true;
        }
        return false;
    }
    let weak = match key.as_str() {
        "kernel.randomize_va_space" => {
            (value == "0").then_some("turns off address space randomisation (ASLR)")
        }
        "kernel.kptr_restrict" => (value == "0").then_some("shows kernel addresses to every user"),
        "kernel.dmesg_restrict" => (value == "0").then_some("lets every user read the kernel log"),
        "kernel.yama.ptrace_scope" => (value == "0")
            .then_some("lets any process inspect and control the user's other processes"),
        "fs.protected_symlinks"
        | "fs.protected_hardlinks"
        | "fs.protected_regular"
        | "fs.protected_fifos" => (value == "0")
            .then_some("turns off the protection against link tricks in shared folders"),
        "kernel.unprivileged_bpf_disabled" => {
            (value == "0").then_some("lets every user load BPF programs into the kernel")
        }
        "vm.mmap_min_addr" => (value == "0")
            .then_some("lets programs map address zero, turning kernel bugs into root exploits"),
        "kernel.perf_event_paranoid" => value
            .starts_with('-')
            .then_some("lets every user trace the whole system"),
        "net.ipv4.tcp_syncookies" => {
            (value == "0").then_some("turns off the protection against SYN floods")
        }
        "kernel.exec-shield" => (value == "0").then_some("turns off exec-shield"),
        _ => None,
    };
    match weak {
        Some(what) => {
            out.add_note(
                &KERNEL_PROTECTION_OFF,
                span,
                format!("sets {key} to {value}{when}, which {what}"),
            );
            true
        }
        None => false,
    }
}

/// Endless loops that start a background process each turn without
/// waiting: `while true; do bash & done`, `for ((;;)); do x & done`.
pub(crate) fn check_loops(cx: &Cx, out: &mut Out) {
    let s = cx.script;
    let loops = s.commands.iter().any(|c| {
        c.words
            .first()
            .is_some_and(|w| matches!(w.text.as_str(), "while" | "until" | "for"))
    });
    if !loops {
        return;
    }
    let mut order: Vec<usize> = (0..s.commands.len()).collect();
    order.sort_by_key(|&i| s.commands[i].span.start);
    for (k, &i) in order.iter().enumerate() {
        let first = s.commands[i].words.first().map(|w| w.text.as_str());
        if !matches!(first, Some("while" | "until" | "for")) {
            continue;
        }
        let words: Vec<&str> = s.commands[i]
            .words
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        let endless = match words.as_slice() {
            ["while", cond @ ..] => always(cond, true),
            ["until", cond @ ..] => always(cond, false),
            // `for ((;;))` leaves nothing between `for` and `do`.
            ["for"] => order
                .get(k + 1)
                .is_some_and(|&n| s.commands[n].words.first().is_some_and(|w| w.text == "do")),
            _ => false,
        };
        if !endless {
            continue;
        }
        let body = loop_body(cx, &order[k + 1..]);
        let spawns = body.iter().any(|&b| s.commands[b].background);
        // A loop that waits in the foreground (`sleep 1`, `wait`) or stops
        // (`break`, `exit`, a `read` that ends) does not pile up processes.
        let waits = body.iter().any(|&b| {
            !s.commands[b].background
                && cx.unwrapped[b].cmds.iter().any(|c| {
                    matches!(
                        c.name.as_str(),
                        "sleep" | "wait" | "break" | "exit" | "read"
                    )
                })
        });
        if spawns && !waits {
            let note = "starts a new background process on every turn of an endless loop until the machine runs out of processes (a fork bomb)".to_string();
            out.add_note(&FORK_BOMB, s.commands[i].span.clone(), note);
        }
    }
}

/// Whether a `while`/`until` condition never changes (`true`, `:`, `[ 1 ]`).
fn always(cond: &[&str], want_true: bool) -> bool {
    let c: Vec<&str> = cond
        .iter()
        .map(|t| {
            t.trim_start_matches("/bin/")
                .trim_start_matches("/usr/bin/")
        })
        .collect();
    if want_true {
        matches!(
            c.as_slice(),
            ["true"] | [":"] | ["[", "1", "]"] | ["[", "true", "]"] | ["((1))"] | ["1"]
        )
    } else {
        matches!(c.as_slice(), ["false"])
    }
}

/// The commands of a loop body, from its `do` to the matching `done`.
fn loop_body(cx: &Cx, rest: &[usize]) -> Vec<usize> {
    let mut depth = 0usize;
    let mut body = Vec::new();
    for &i in rest.iter().take(256) {
        let first = cx.script.commands[i].words.first().map(|w| w.text.as_str());
        match first {
            Some("while" | "until" | "for") => depth += 1,
            Some("done") if depth == 0 => return body,
            Some("done") => depth -= 1,
            _ => {}
        }
        body.push(i);
    }
    body
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn network_down() {
        assert_flags("sudo ip link set eth0 down", "sys.network_down");
        assert_flags("ip link set dev wlan0 down", "sys.network_down");
        assert_flags("sudo ifconfig eth0 down", "sys.network_down");
        assert_flags("nmcli networking off", "sys.network_down");
        assert_flags("sudo systemctl stop sshd", "sys.network_down");
        assert_flags("sudo ip route del default", "sys.network_down");
        assert_not_flags("ip link show", "sys.network_down");
        assert_not_flags("sudo ip link set eth0 up", "sys.network_down");
        assert_not_flags("nmcli networking on", "sys.network_down");
        assert_not_flags("sudo systemctl restart sshd", "sys.network_down");
        assert_not_flags("sudo systemctl stop nginx", "sys.network_down");
    }

    #[test]
    fn kernel_protection_off() {
        assert_flags(
            "sudo sysctl -w kernel.randomize_va_space=0",
            "sys.kernel_protection_off",
        );
        assert_flags("sysctl kernel.kptr_restrict=0", "sys.kernel_protection_off");
        assert_flags(
            "echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope",
            "sys.kernel_protection_off",
        );
        assert_flags(
            "echo 'fs.protected_symlinks = 0' | sudo tee /etc/sysctl.d/1.conf",
            "sys.kernel_protection_off",
        );
        assert_not_flags("sysctl -a", "sys.kernel_protection_off");
        assert_not_flags(
            "sudo sysctl -w kernel.randomize_va_space=2",
            "sys.kernel_protection_off",
        );
        assert_not_flags(
            "sudo sysctl -w vm.swappiness=10",
            "sys.kernel_protection_off",
        );
        assert_not_flags(
            "cat /proc/sys/kernel/randomize_va_space",
            "sys.kernel_protection_off",
        );
    }

    #[test]
    fn core_pattern_pipe() {
        assert_flags(
            "sudo sysctl -w kernel.core_pattern='|/tmp/x %p'",
            "sys.core_pattern_pipe",
        );
        assert_flags(
            "echo '|/tmp/x' > /proc/sys/kernel/core_pattern",
            "sys.core_pattern_pipe",
        );
        assert_not_flags(
            "sudo sysctl -w kernel.core_pattern=core.%p",
            "sys.core_pattern_pipe",
        );
    }

    #[test]
    fn rescue_mode() {
        assert_flags("sudo systemctl isolate rescue.target", "sys.rescue_mode");
        assert_flags("systemctl emergency", "sys.rescue_mode");
        assert_flags("sudo telinit 1", "sys.rescue_mode");
        assert_not_flags("systemctl isolate graphical.target", "sys.rescue_mode");
        assert_not_flags("systemctl get-default", "sys.rescue_mode");
    }

    #[test]
    fn fork_loops() {
        assert_flags("while true; do bash & done", "sys.fork_bomb");
        assert_flags("while :; do $0 & done", "sys.fork_bomb");
        assert_flags("for ((;;)); do yes > /dev/null & done", "sys.fork_bomb");
        assert_not_flags("while true; do date; sleep 1; done", "sys.fork_bomb");
        assert_not_flags("for i in 1 2 3; do ./job $i & done; wait", "sys.fork_bomb");
        assert_not_flags(
            "while read -r h; do ping -c1 $h & done < hosts",
            "sys.fork_bomb",
        );
        assert_not_flags("while true; do ./worker & wait; done", "sys.fork_bomb");
        assert_flags("while true; do sleep 1 & done", "sys.fork_bomb");
    }
}
