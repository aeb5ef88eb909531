//! The small word helpers that tell a shell command from an English sentence:
//! known program names, sentence-starting words, and the tests built on them.
//! Kept apart because they are data more than logic, and both the reply
//! parser and the clean-up use them.

pub(super) fn is_program_name(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+'))
        && word
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.')
}

/// A line that reads as a shell command (used to pick one among prose lines).
pub(super) fn looks_like_command(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty() || looks_like_prose(line) {
        return false;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let first = words[0];
    is_known_command(first)
        || first.starts_with("./")
        || (first.contains('=') && !first.starts_with('=') && words.len() >= 2)
        || (is_program_name(first)
            && (words[1..].iter().any(|w| w.starts_with('-'))
                || line.contains(" | ")
                || line.contains(" > ")
                || line.contains(" && ")))
}

/// Whether a line reads like an English sentence rather than a command.
pub(super) fn looks_like_prose(line: &str) -> bool {
    let line = line.trim();
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return false;
    };
    if is_known_command(first) {
        return false;
    }
    let core = first.trim_end_matches([',', '!', ':', '.', '?', ';']);
    let alpha = !core.is_empty()
        && core
            .chars()
            .all(|c| c.is_alphabetic() || c == '\'' || c == '’');
    if alpha {
        let punct = &first[core.len()..];
        // "Sure!", "Note:", "Yes, ...", "Done."
        if punct.starts_with([',', '!', ':', '?']) || (punct == "." && words.len() == 1) {
            return true;
        }
        let lower = core.to_lowercase().replace('’', "'");
        if PROSE_WORDS.contains(&lower.as_str()) {
            return true;
        }
        // "Lists all files ..." — a capitalized word followed by a plain word.
        let mut chars = core.chars();
        let title = chars.next().is_some_and(char::is_uppercase) && chars.all(char::is_lowercase);
        let second_plain = words
            .get(1)
            .is_some_and(|w| w.chars().all(|c| c.is_alphabetic() && c.is_lowercase()));
        if title && second_plain {
            return true;
        }
    }
    // "lists all the files in here." / "Python3 is needed." — several plain
    // words ending a sentence.
    let body = line.trim_end_matches(['.', '!', '?', ':']);
    let plain_words = body.split_whitespace().all(|w| {
        let w = w.trim_end_matches([',', ';']);
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_alphanumeric() || c == '\'' || c == '’')
    });
    words.len() >= 3
        && body.len() < line.len()
        && plain_words
        && first.chars().any(char::is_alphabetic)
}

pub(super) fn is_known_command(word: &str) -> bool {
    let base = word.rsplit('/').next().unwrap_or(word);
    KNOWN_COMMANDS.contains(&base)
}

/// First words that start English sentences and are not commands.
pub(super) const PROSE_WORDS: &[&str] = &[
    "a",
    "above",
    "absolutely",
    "after",
    "also",
    "alright",
    "alternatively",
    "an",
    "and",
    "answer",
    "as",
    "assuming",
    "based",
    "before",
    "below",
    "but",
    "by",
    "can",
    "certainly",
    "could",
    "explanation",
    "following",
    "great",
    "hello",
    "here",
    "here's",
    "heres",
    "hi",
    "how",
    "however",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "im",
    "is",
    "it",
    "it's",
    "let's",
    "lets",
    "my",
    "no",
    "note",
    "of",
    "ok",
    "okay",
    "on",
    "or",
    "output",
    "please",
    "run",
    "should",
    "so",
    "sorry",
    "sure",
    "thanks",
    "that",
    "the",
    "there",
    "these",
    "this",
    "those",
    "to",
    "try",
    "unfortunately",
    "use",
    "using",
    "we",
    "what",
    "when",
    "where",
    "why",
    "will",
    "with",
    "without",
    "would",
    "you",
    "you'll",
    "you're",
    "your",
];

/// Programs (and shell words) a one-line command commonly starts with.
pub(super) const KNOWN_COMMANDS: &[&str] = &[
    "alias",
    "apt",
    "apt-get",
    "awk",
    "base64",
    "basename",
    "bash",
    "brew",
    "bunzip2",
    "bzip2",
    "cargo",
    "cat",
    "cd",
    "chgrp",
    "chmod",
    "chown",
    "clear",
    "cmake",
    "column",
    "comm",
    "command",
    "cp",
    "crontab",
    "curl",
    "cut",
    "date",
    "dd",
    "df",
    "diff",
    "dig",
    "dirname",
    "dmesg",
    "dnf",
    "docker",
    "du",
    "echo",
    "env",
    "export",
    "fd",
    "fdisk",
    "file",
    "find",
    "for",
    "free",
    "fuser",
    "gcc",
    "git",
    "go",
    "grep",
    "groups",
    "gunzip",
    "gzip",
    "head",
    "history",
    "host",
    "hostname",
    "htop",
    "id",
    "ifconfig",
    "ip",
    "java",
    "jobs",
    "journalctl",
    "jq",
    "kill",
    "killall",
    "kubectl",
    "less",
    "ln",
    "locate",
    "ls",
    "lsblk",
    "lsof",
    "make",
    "man",
    "md5sum",
    "mkdir",
    "mktemp",
    "more",
    "mount",
    "mv",
    "nano",
    "nc",
    "netstat",
    "nice",
    "nl",
    "node",
    "nohup",
    "npm",
    "npx",
    "nslookup",
    "od",
    "open",
    "openssl",
    "pacman",
    "passwd",
    "paste",
    "pgrep",
    "ping",
    "pip",
    "pip3",
    "pkill",
    "podman",
    "printenv",
    "printf",
    "ps",
    "pwd",
    "python",
    "python3",
    "readlink",
    "realpath",
    "rev",
    "rg",
    "rm",
    "rmdir",
    "rsync",
    "ruby",
    "scp",
    "sed",
    "seq",
    "service",
    "sh",
    "sha1sum",
    "sha256sum",
    "shuf",
    "sleep",
    "snap",
    "sort",
    "split",
    "ss",
    "ssh",
    "ssh-keygen",
    "stat",
    "strings",
    "su",
    "sudo",
    "sysctl",
    "systemctl",
    "tac",
    "tail",
    "tar",
    "tee",
    "test",
    "time",
    "timeout",
    "top",
    "touch",
    "tr",
    "traceroute",
    "tree",
    "truncate",
    "type",
    "ufw",
    "umask",
    "umount",
    "uname",
    "uniq",
    "unzip",
    "uptime",
    "useradd",
    "usermod",
    "vi",
    "vim",
    "watch",
    "wc",
    "wget",
    "whereis",
    "which",
    "while",
    "who",
    "whoami",
    "xargs",
    "xdg-open",
    "yarn",
    "yes",
    "yum",
    "zip",
    "zsh",
];
