//! The prompt: system instructions and few-shot examples, written by us.
//!
//! The prompt has two parts. The *prefix* (system message + example turns) is
//! the same for every request on a given OS, byte for byte, so its KV cache
//! can be computed once and reused. The *suffix* (the request turn and the
//! pre-filled start of the answer) is all a request has to prefill.

use crate::context::{Os, RequestContext};
use serde::{Deserialize, Serialize};

/// A request and its command, shown to the model as an earlier turn (from the
/// knowledge base or the user's memory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub request: String,
    pub command: String,
}

/// What the assistant turn is pre-filled with: the model only has to write the
/// JSON string value, and the grammar ends it at the closing quote.
pub const ANSWER_PREFILL: &str = "{\"cmd\": \"";

/// Upper bound on generated tokens for one command. Of 724 dev-set answers
/// (intercode and the nl2bash sample), none longer than 64 tokens was right,
/// and the longest took 8 s to write (30 ms a token here); 72 keeps a
/// request under about 3 s.
pub const MAX_COMMAND_TOKENS: usize = 72;

/// The longest request we accept, in bytes (a pasted file is not a request).
pub const MAX_REQUEST_BYTES: usize = 2000;

/// One role-tagged message, before the model's chat template renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: &'static str,
    pub content: String,
}

impl Message {
    fn new(role: &'static str, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
        }
    }
}

fn system_prompt(os: Os) -> String {
    let flavour = match os {
        Os::Linux => "GNU coreutils, findutils, grep, sed and iproute2 flags",
        Os::Macos => "BSD flags as shipped with macOS (sed -i '', no GNU-only options)",
    };
    format!(
        "You turn a request into exactly one shell command for {os}. \
Answer with JSON only: {{\"cmd\": \"<command>\"}}.\n\
Rules:\n\
- One line. The simplest correct command; use pipes only when needed.\n\
- Print exactly what is asked and nothing more: no extra columns, headers, messages or -v.\n\
- Use standard tools that ship with {os}, with {flavour}.\n\
- Keep the user's file names, paths, patterns and numbers exactly as written \
(an absolute path stays absolute); with no path given, work in \".\".\n\
- \"files\" means regular files (find -type f); \"under\" or \"recursively\" means the whole tree.\n\
- Never invent options. Quote globs, patterns and paths with spaces.\n\
- Add sudo only when the task needs root.\n\
- Never explain, never refuse, never answer with a placeholder such as echo: \
the user reads every command before it runs.\n\
The request is the last line and starts with [shell folder]: . is the user's \
current folder, ~ their home. Lines before it describe that folder (project:, git:, \
files here:): when the request refers to such a thing, use the exact names given \
and the project's own tool; never act on files the request does not ask for.",
        os = os.name()
    )
}

/// Few-shot examples: (request, command). Written for this project; each shows
/// one habit we want (literal names and paths, counting, printing only what
/// is asked, find with -exec or xargs, quoting, GNU vs BSD forms, minimal pipes).
fn examples(os: Os) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        (
            "list everything here including hidden files, with sizes",
            "ls -lah",
        ),
        (
            "find files bigger than 200MB under the current folder",
            "find . -type f -size +200M",
        ),
        (
            "Count the .log files in /srv/app/logs and its subdirectories",
            "find /srv/app/logs -type f -name '*.log' | wc -l",
        ),
        (
            "how many lines are in each markdown file in docs",
            "find docs -name '*.md' -exec wc -l {} +",
        ),
        (
            "total number of lines in all .c files under /usr/src/app",
            "find /usr/src/app -type f -name '*.c' -exec cat {} + | wc -l",
        ),
        (
            "print the first line of every .csv file in the data tree",
            "find data -type f -name '*.csv' -exec head -n 1 {} \\;",
        ),
        (
            "search for FIXME in all python files recursively with line numbers",
            "grep -rn --include='*.py' 'FIXME' .",
        ),
        (
            "print the names of the files under /opt/site that contain \"todo\", ignoring case",
            "grep -ril 'todo' /opt/site",
        ),
        (
            "delete every .tmp file under /data/cache",
            "find /data/cache -type f -name '*.tmp' -delete",
        ),
        (
            "make all shell scripts in the tools directory tree executable",
            "find tools -type f -name '*.sh' -exec chmod +x {} +",
        ),
        (
            "pack the reports folder into reports.tar.gz",
            "tar -czf reports.tar.gz reports",
        ),
        (
            "which folders here use the most space",
            "du -sh -- */ | sort -rh | head -n 10",
        ),
        ("free space on every mounted disk", "df -h"),
        (
            "print the third column of sales.csv",
            "awk -F, '{print $3}' sales.csv",
        ),
        (
            "list the .log files under /var/log/app that mention \"connection refused\"",
            "grep -rl --include='*.log' \"connection refused\" /var/log/app",
        ),
        (
            "rename every .jpeg file in photos to .jpg",
            "for f in photos/*.jpeg; do mv -- \"$f\" \"${f%.jpeg}.jpg\"; done",
        ),
        (
            "Display the lines that occur more than once in names.txt",
            "sort names.txt | uniq -d",
        ),
        (
            "file names that occur more than once under /srv/media, ignoring case",
            "find /srv/media -type f -exec basename {} \\; | sort -f | uniq -di",
        ),
        (
            "show the last 5 commits, one line each",
            "git log --oneline -n 5",
        ),
        (
            "stop all running docker containers",
            "docker stop $(docker ps -q)",
        ),
        (
            "list the empty directories under /mnt/share",
            "find /mnt/share -type d -empty",
        ),
        (
            "files in src changed in the last 2 days",
            "find src -type f -mtime -2",
        ),
        (
            "files under /srv/uploads modified in the last 45 minutes",
            "find /srv/uploads -type f -mmin -45",
        ),
        (
            "Count all the lines of all .js files in the web directory recursively",
            "find web -type f -name '*.js' -exec cat {} + | wc -l",
        ),
        (
            "remove the *.pyc and *.pyo files under build",
            "find build -type f \\( -name '*.pyc' -o -name '*.pyo' \\) -delete",
        ),
        (
            "delete the .bak files in /srv/old but not in its subfolders",
            "find /srv/old -maxdepth 1 -type f -name '*.bak' -delete",
        ),
        (
            "print the numbers 1 to 20 separated by commas",
            "seq -s, 20",
        ),
        (
            "extract backup.tar.gz into /restore",
            "tar -xzf backup.tar.gz -C /restore",
        ),
    ];
    match os {
        Os::Linux => v.extend([
            (
                "replace every http:// with https:// in links.txt",
                "sed -i 's|http://|https://|g' links.txt",
            ),
            (
                "print only the md5 checksums of the .iso files in /srv/images",
                "md5sum /srv/images/*.iso | awk '{print $1}'",
            ),
            (
                "the 3 biggest files under /var/log with their sizes, biggest first",
                "find /var/log -type f -printf '%s %p\\n' | sort -rn | head -n 3",
            ),
            (
                "top 5 processes by memory",
                "ps aux --sort=-%mem | head -n 6",
            ),
            ("what is listening on port 5432", "ss -ltnp 'sport = :5432'"),
            ("restart the nginx service", "sudo systemctl restart nginx"),
            ("size of /etc/hosts in bytes", "stat -c %s /etc/hosts"),
            (
                "one md5 for the whole assets tree: the md5 of the sorted md5 sums of its files",
                "find assets -type f -exec md5sum {} + | awk '{print $1}' | sort | md5sum",
            ),
        ]),
        Os::Macos => v.extend([
            (
                "replace every http:// with https:// in links.txt",
                "sed -i '' 's|http://|https://|g' links.txt",
            ),
            (
                "print only the md5 checksums of the .iso files in /srv/images",
                "md5 -q /srv/images/*.iso",
            ),
            (
                "the 3 biggest files under /var/log with their sizes, biggest first",
                "find /var/log -type f -exec stat -f '%z %N' {} + | sort -rn | head -n 3",
            ),
            ("top 5 processes by memory", "ps aux -m | head -n 6"),
            (
                "what is listening on port 5432",
                "lsof -nP -iTCP:5432 -sTCP:LISTEN",
            ),
            ("restart the nginx service", "brew services restart nginx"),
            ("size of /etc/hosts in bytes", "stat -f %z /etc/hosts"),
            (
                "one md5 for the whole assets tree: the md5 of the sorted md5 sums of its files",
                "find assets -type f -exec md5 -q {} + | sort | md5",
            ),
        ]),
    }
    v
}

/// Example turns use a rotating, made-up context so the model learns the
/// `[shell]` format without copying any one value.
const EXAMPLE_CONTEXTS: [(&str, &str); 3] = [("bash", "."), ("zsh", "."), ("bash", "~")];

/// Examples asked in a folder the model is told about (the lines before the
/// request, as [`crate::pipeline::folder::Snapshot::render`] writes them): each shows
/// the folder's names or tool used where the request refers to them, and
/// the other files left alone. Written for this project.
fn folder_examples() -> Vec<(&'static [&'static str], &'static str, &'static str)> {
    vec![
        (
            &["project: Rust crate (Cargo.toml, cargo)"],
            "run the unit tests",
            "cargo test",
        ),
        (
            &["files here: photos-march.zip"],
            "extract it here",
            "unzip photos-march.zip",
        ),
        (
            &["git: branch feature/search-box, remote origin"],
            "push my branch",
            "git push -u origin feature/search-box",
        ),
        (
            &["project: Node.js (package.json, yarn; scripts: lint start test)"],
            "start the app",
            "yarn start",
        ),
        (
            &["files here: api.log cron.log"],
            "remove the log files",
            "rm api.log cron.log",
        ),
        (
            &["project: Go module (go.mod, go)"],
            "the 5 biggest files in this project",
            "find . -type f -exec du -h {} + | sort -rh | head -n 5",
        ),
        (
            &["files here: settings.toml"],
            "show me the settings",
            "cat settings.toml",
        ),
        (
            &["project: Python (pyproject.toml, uv)"],
            "install the dependencies",
            "uv sync",
        ),
        (
            &["git: branch main, remote origin, modified: index.html style.css"],
            "undo my edits to the stylesheet",
            "git restore style.css",
        ),
        (
            &["git: branch feat/search, remote origin"],
            "list the commits on my branch that are not in main",
            "git log --oneline main..feat/search",
        ),
        (
            &["project: Python (pyproject.toml, poetry)"],
            "run the tests",
            "poetry run pytest",
        ),
        (
            &["files here: essay.md"],
            "how many words are in my essay",
            "wc -w essay.md",
        ),
    ]
}

/// Every how many examples a folder example is put among the others.
const FOLDER_EXAMPLE_EVERY: usize = 4;

/// The request line: `[zsh .] find large files`, `[bash ~] ...`,
/// `[bash /var/log] ...` (see [`crate::context::place`]).
pub fn request_turn(shell: &str, place: &str, request: &str) -> String {
    if place.is_empty() {
        format!("[{shell}] {request}")
    } else {
        format!("[{shell} {place}] {request}")
    }
}

/// The whole user turn: the folder's lines, then the request line.
fn turn_with_folder(folder: &[impl AsRef<str>], line: String) -> String {
    let mut text = String::new();
    for l in folder {
        text.push_str(l.as_ref());
        text.push('\n');
    }
    text.push_str(&line);
    text
}

/// JSON answer for a command, exactly as the model should write it (the
/// examples; the self-check's repaired answers).
pub fn answer(cmd: &str) -> String {
    serde_json::json!({ "cmd": cmd })
        .to_string()
        .replacen("{\"cmd\":\"", ANSWER_PREFILL, 1)
}

/// The static part of the conversation: system + examples. Depends only on the OS.
pub fn prefix_messages(os: Os) -> Vec<Message> {
    let mut msgs = vec![Message::new("system", system_prompt(os))];
    let mut folder = folder_examples().into_iter();
    for (i, (req, cmd)) in examples(os).into_iter().enumerate() {
        let (shell, place) = EXAMPLE_CONTEXTS[i % EXAMPLE_CONTEXTS.len()];
        msgs.push(Message::new("user", request_turn(shell, place, req)));
        msgs.push(Message::new("assistant", answer(cmd)));
        if i % FOLDER_EXAMPLE_EVERY == FOLDER_EXAMPLE_EVERY - 1 {
            if let Some((lines, req, cmd)) = folder.next() {
                let line = request_turn(shell, ".", req);
                msgs.push(Message::new("user", turn_with_folder(lines, line)));
                msgs.push(Message::new("assistant", answer(cmd)));
            }
        }
    }
    // Folder examples beyond the slots among the others come last.
    for (lines, req, cmd) in folder {
        msgs.push(Message::new(
            "user",
            turn_with_folder(lines, request_turn("bash", ".", req)),
        ));
        msgs.push(Message::new("assistant", answer(cmd)));
    }
    msgs
}

/// Example turns for one request (see [`Example`]), in the
/// request's own context, as if asked earlier in the same session.
pub fn example_messages(ctx: &RequestContext, examples: &[Example]) -> Vec<Message> {
    examples
        .iter()
        .flat_map(|e| {
            [
                Message::new("user", request_line(ctx, &e.request)),
                Message::new("assistant", answer(&e.command)),
            ]
        })
        .collect()
}

/// Cleans a request for the prompt: control characters become spaces, runs of
/// white space collapse. Returns `None` for a request with nothing in it.
pub fn clean_request(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!cleaned.is_empty()).then_some(cleaned)
}

/// The request line for a context, without the folder's lines (example
/// turns from the knowledge base and memory were asked elsewhere).
pub fn request_line(ctx: &RequestContext, request: &str) -> String {
    request_turn(&ctx.shell, ctx.place(), request)
}

/// The per-request user turn for a context: the folder's lines, then the
/// request line.
pub fn user_turn(ctx: &RequestContext, request: &str) -> String {
    turn_with_folder(&ctx.folder, request_line(ctx, request))
}

/// A GBNF grammar for the rest of the JSON string after [`ANSWER_PREFILL`]:
/// one line (no raw control characters, no `\n`, `\r` or `\t` escapes), not
/// starting with white space, a prompt sign or a comment, ended by `"}`.
///
/// Two leniencies keep a small model from cutting its own command short:
/// - a backslash may precede any printable character, because shell commands
///   are full of them (`\;` after `find -exec`, `\.` in a regex); a model
///   that may not write `\;` picks `\"` instead and never closes the string;
/// - a raw `"` is allowed when `}` does not follow it: a model that writes
///   `echo "http://...` forgets the JSON escape, and a strict grammar would
///   end the command at `echo`. Only `"}` ends the answer.
///
/// The parser keeps such an escape as written (`\;` stays `\;`) and a raw
/// quote as a quote ([`crate::parser::parse_prefilled`]).
pub const COMMAND_GRAMMAR: &str = r#"
root  ::= first ch* "\"}"
first ::= [^"\\\x00-\x20#$\x7F] | esc
ch    ::= [^"\\\x00-\x1F\x7F] | esc | "\"" [^}\x00-\x1F\x7F]
esc   ::= "\\" ( ["\\/] | "u" hx hx hx hx | [^"\\/u\x00-\x20\x7Fnrt] )
hx    ::= [0-9a-fA-F]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_deterministic_and_os_specific() {
        assert_eq!(prefix_messages(Os::Linux), prefix_messages(Os::Linux));
        assert_ne!(prefix_messages(Os::Linux), prefix_messages(Os::Macos));
        let linux = prefix_messages(Os::Linux);
        assert_eq!(linux[0].role, "system");
        assert!(linux[0].content.contains("GNU"));
        // Alternating user/assistant after the system message.
        for pair in linux[1..].chunks(2) {
            assert_eq!(pair[0].role, "user");
            assert_eq!(pair[1].role, "assistant");
            assert!(pair[1].content.starts_with(ANSWER_PREFILL));
            let v: serde_json::Value = serde_json::from_str(&pair[1].content).unwrap();
            assert!(shell_words::split(v["cmd"].as_str().unwrap()).is_ok());
        }
    }

    #[test]
    fn macos_examples_use_bsd_forms() {
        let mac: String = prefix_messages(Os::Macos)
            .iter()
            .map(|m| m.content.clone())
            .collect();
        assert!(mac.contains("sed -i ''"));
        assert!(!mac.contains("--sort=-%mem"));
        assert!(!mac.contains("systemctl"));
    }

    #[test]
    fn answers_escape_like_json() {
        assert_eq!(answer("grep \"a\" f"), "{\"cmd\": \"grep \\\"a\\\" f\"}");
    }

    #[test]
    fn clean_request_strips_controls() {
        assert_eq!(
            clean_request("  find\tlarge\x1b[31m files \n"),
            Some("find large [31m files".into())
        );
        assert_eq!(clean_request(" \n\t "), None);
    }

    #[test]
    fn user_turn_has_context_but_not_the_folders_name() {
        let mut ctx = RequestContext::new(Os::Linux, "zsh", "~/src/tmp.Xy12");
        assert_eq!(
            user_turn(&ctx, "find large files"),
            "[zsh .] find large files"
        );
        ctx.cwd = "~".into();
        assert_eq!(
            user_turn(&ctx, "find large files"),
            "[zsh ~] find large files"
        );
        ctx.cwd = "/var/log".into();
        ctx.folder = vec!["files here: a.log b.log".into()];
        assert_eq!(
            user_turn(&ctx, "delete the logs"),
            "files here: a.log b.log\n[zsh /var/log] delete the logs"
        );
        // Example turns never carry this folder's lines.
        assert_eq!(request_line(&ctx, "x"), "[zsh /var/log] x");
    }

    #[test]
    fn folder_examples_are_among_the_others() {
        let msgs = prefix_messages(Os::Linux);
        let with_folder = msgs
            .iter()
            .filter(|m| m.role == "user" && m.content.contains('\n'))
            .count();
        assert_eq!(with_folder, folder_examples().len());
        // The lines each example shows are what the snapshot writes.
        for (lines, _, _) in folder_examples() {
            for l in lines {
                assert!(
                    ["project: ", "git: ", "files here: "]
                        .iter()
                        .any(|p| l.starts_with(p)),
                    "{l}"
                );
            }
        }
    }
}
