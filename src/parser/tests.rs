//! The parser's tests, through its public API only: what a reply or a
//! prefilled continuation gives, whichever file does the work.

use super::*;

fn ok(reply: &str) -> Parsed {
    match parse_reply(reply) {
        Ok(p) => p,
        Err(e) => panic!("expected a command from {reply:?}, got error: {e}"),
    }
}

fn cmd(reply: &str) -> String {
    ok(reply).command
}

fn err(reply: &str) -> ParseError {
    match parse_reply(reply) {
        Ok(p) => panic!("expected an error from {reply:?}, got {p:?}"),
        Err(e) => e,
    }
}

fn pre(continuation: &str) -> String {
    match parse_prefilled(continuation) {
        Ok(p) => {
            assert_eq!(p.strategy, Strategy::Json);
            p.command
        }
        Err(e) => panic!("expected a command from {continuation:?}, got error: {e}"),
    }
}

// --- The `}` leak ------------------------------------------------------

#[test]
fn a_brace_that_closes_nothing_is_not_part_of_the_command() {
    // Seen: "print hello world" -> `echo 'hello world'}`.
    assert_eq!(pre("echo 'hello world'}\"}"), "echo 'hello world'");
    assert_eq!(pre("md5sum <(sort $FILES)}\"}"), "md5sum <(sort $FILES)");
    assert_eq!(pre("ls -la}}\"}"), "ls -la");
}

#[test]
fn braces_that_belong_to_the_command_stay() {
    for c in [
        "echo ${HOME}",
        "find . -name '*.tmp' -exec rm {} +",
        "awk '{print $1}'",
        "{ date; uptime; }",
        "echo {a,b}",
        "printf '%s\\n' x }",
    ] {
        let escaped = c.replace('\\', "\\\\");
        assert_eq!(pre(&format!("{escaped}\"}}")), c, "{c}");
    }
}

// --- JSON -------------------------------------------------------------

#[test]
fn control_and_bidi_characters_are_refused() {
    // An ESC from a \u escape would reach the terminal raw.
    for reply in [
        "{\"cmd\": \"echo \\u001b[2Jhi\"}",
        "{\"cmd\": \"ls \\u202e txt.exe\"}",
        "{\"cmd\": \"rm -rf ./tmp \\u2066x\\u2069\"}",
        "{\"cmd\": \"echo \\u0007\"}",
        "{\"cmd\": \"echo \\u009b31m\"}",
        "```sh\nls \u{202E}gnp.exe\n```",
    ] {
        assert_eq!(err(reply), ParseError::HiddenCharacters, "{reply:?}");
    }
    assert_eq!(
        parse_prefilled("echo \\u001b]0;title\\u0007\"}"),
        Err(ParseError::HiddenCharacters)
    );
    assert_eq!(
        parse_prefilled("ls \\u2067x\"}"),
        Err(ParseError::HiddenCharacters)
    );
    // Tab stays, and so do the escapes the parser writes back.
    assert_eq!(cmd("{\"cmd\": \"printf 'a\\tb'\"}"), "printf 'a\tb'");
    assert_eq!(
        cmd("{\"cmd\": \"grep '\\bword\\b' f\"}"),
        "grep '\\bword\\b' f"
    );
    assert_eq!(cmd("{\"cmd\": \"ls caf\\u00e9\"}"), "ls café");
    assert!(ParseError::HiddenCharacters
        .to_string()
        .contains("differ from what runs"));
}

#[test]
fn plain_json() {
    let p = ok(r#"{"cmd": "ls -la"}"#);
    assert_eq!(p.command, "ls -la");
    assert_eq!(p.strategy, Strategy::Json);
}

#[test]
fn json_with_escaped_quotes() {
    assert_eq!(
        cmd(r#"{"cmd": "grep -r \"TODO\" ."}"#),
        r#"grep -r "TODO" ."#
    );
}

#[test]
fn json_with_escaped_backslash_and_braces() {
    let p = ok(r#"{"cmd": "find . -name '*.txt' -exec rm {} \\;"}"#);
    assert_eq!(p.command, r"find . -name '*.txt' -exec rm {} \;");
    assert_eq!(p.strategy, Strategy::Json);
}

#[test]
fn json_with_invalid_escape_is_read_leniently() {
    // `\;` is not a JSON escape; small models write it anyway.
    let p = ok(r#"{"cmd": "find . -type f -exec chmod 644 {} \;"}"#);
    assert_eq!(p.command, r"find . -type f -exec chmod 644 {} \;");
    assert_eq!(p.strategy, Strategy::Json);
}

#[test]
fn json_command_key_and_extra_keys() {
    assert_eq!(cmd(r#"{"command": "df -h"}"#), "df -h");
    let p = ok(r#"{"cmd": "ls", "explanation": "Lists the files in the current directory."}"#);
    assert_eq!(p.command, "ls");
    let p = ok(r#"{"explanation": "Shows disk usage", "cmd": "du -sh ."}"#);
    assert_eq!(p.command, "du -sh .");
}

#[test]
fn json_commands_list() {
    assert_eq!(cmd(r#"{"commands": ["uptime"]}"#), "uptime");
    assert_eq!(err(r#"{"commands": ["ls", "dir"]}"#), ParseError::Ambiguous);
    assert_eq!(err(r#"{"commands": []}"#), ParseError::NoCommand);
}

#[test]
fn json_without_command_key_or_empty_cmd() {
    assert_eq!(
        err(r#"{"error": "I cannot do that"}"#),
        ParseError::NoCommand
    );
    assert_eq!(err(r#"{"cmd": ""}"#), ParseError::NoCommand);
    assert_eq!(err(r#"{"cmd": null}"#), ParseError::NoCommand);
}

#[test]
fn json_in_fences() {
    let p = ok("```json\n{\"cmd\": \"git status\"}\n```");
    assert_eq!(p.command, "git status");
    assert_eq!(p.strategy, Strategy::FencedJson);
    let p = ok("Here you go:\n```\n{\"cmd\": \"git log --oneline -5\"}\n```\nThis shows the last five commits.");
    assert_eq!(p.command, "git log --oneline -5");
    assert_eq!(p.strategy, Strategy::FencedJson);
}

#[test]
fn json_after_prose() {
    let p = ok("Here is the command:\n{\"cmd\": \"ps aux | grep nginx\"}");
    assert_eq!(p.command, "ps aux | grep nginx");
    assert_eq!(p.strategy, Strategy::EmbeddedJson);
    let p = ok("{\"cmd\": \"free -h\"}\n\nThis prints memory usage in human-readable units.");
    assert_eq!(p.command, "free -h");
    assert_eq!(p.strategy, Strategy::EmbeddedJson);
}

#[test]
fn json_python_dict_style() {
    let p = ok("{'cmd': 'ls -lh /var/log'}");
    assert_eq!(p.command, "ls -lh /var/log");
    assert_eq!(p.strategy, Strategy::Json);
    assert_eq!(
        cmd(r#"{'cmd': "find . -name '*.py'"}"#),
        "find . -name '*.py'"
    );
    assert_eq!(cmd(r"{'cmd': 'echo \'hi\''}"), "echo 'hi'");
}

#[test]
fn truncated_json() {
    let p = ok(r#"{"cmd": "ls -la"#);
    assert_eq!(p.command, "ls -la");
    assert_eq!(p.strategy, Strategy::Json);
    assert_eq!(cmd(r#"{"cmd": "ls -la""#), "ls -la");
}

#[test]
fn json_with_grep_word_boundary_escapes() {
    // Strict JSON turns `\b` into a backspace; the model meant grep's `\b`.
    assert_eq!(
        cmd(r#"{"cmd": "grep -E '\bfoo\b' log.txt"}"#),
        r"grep -E '\bfoo\b' log.txt"
    );
    assert_eq!(
        cmd(r#"{"cmd": "tr -d '\r' < in.txt > out.txt"}"#),
        r"tr -d '\r' < in.txt > out.txt"
    );
    assert_eq!(cmd(r#"{"cmd": "printf 'a\nb\n'"}"#), r"printf 'a\nb\n'");
}

#[test]
fn json_unicode() {
    assert_eq!(cmd(r#"{"cmd": "echo \u00e9t\u00e9"}"#), "echo été");
    assert_eq!(
        cmd(r#"{"cmd": "mkdir 'Données 2024' && cd 'Données 2024'"}"#),
        "mkdir 'Données 2024' && cd 'Données 2024'"
    );
    assert_eq!(
        cmd(r#"{"cmd": "grep -rn '日本語' ."}"#),
        "grep -rn '日本語' ."
    );
}

#[test]
fn json_value_with_prompt_and_backticks_is_cleaned() {
    assert_eq!(cmd(r#"{"cmd": "$ ls -la"}"#), "ls -la");
    assert_eq!(cmd(r#"{"cmd": "`whoami`"}"#), "whoami");
}

#[test]
fn quoted_json_inside_a_command_is_not_taken() {
    let reply =
        "```bash\ncurl -X POST -d '{\"command\": \"start\"}' http://localhost:8080/api\n```";
    let p = ok(reply);
    assert_eq!(
        p.command,
        "curl -X POST -d '{\"command\": \"start\"}' http://localhost:8080/api"
    );
    assert_eq!(p.strategy, Strategy::FencedCode);
}

// --- Fenced code --------------------------------------------------------

#[test]
fn prose_bash_fence_and_explanation() {
    let reply = "Sure! To find all files larger than 100MB, run:\n\n```bash\nfind / -type f -size +100M 2>/dev/null\n```\n\nThis searches the whole filesystem and hides permission errors.";
    let p = ok(reply);
    assert_eq!(p.command, "find / -type f -size +100M 2>/dev/null");
    assert_eq!(p.strategy, Strategy::FencedCode);
}

#[test]
fn sh_fence_and_bare_fence() {
    assert_eq!(cmd("```sh\ndu -sh * | sort -h\n```"), "du -sh * | sort -h");
    assert_eq!(
        cmd("```\ntar -czvf backup.tar.gz ~/Documents\n```"),
        "tar -czvf backup.tar.gz ~/Documents"
    );
    assert_eq!(cmd("```shell\n$ uname -a\n```"), "uname -a");
}

#[test]
fn fence_with_comment_lines_and_one_command() {
    let reply = "```bash\n# Delete all .tmp files in the current directory\nfind . -name '*.tmp' -delete\n```";
    assert_eq!(cmd(reply), "find . -name '*.tmp' -delete");
    let reply = "```bash\n#!/bin/bash\n# list\nls -1\n```";
    assert_eq!(cmd(reply), "ls -1");
}

#[test]
fn fence_with_several_commands_is_ambiguous() {
    let reply = "```bash\ncd /var/log\nls -lt | head\n```";
    assert_eq!(err(reply), ParseError::Ambiguous);
    let heredoc = "```bash\ncat <<EOF > notes.txt\nhello\nEOF\n```";
    assert_eq!(err(heredoc), ParseError::Ambiguous);
}

#[test]
fn fence_continuation_lines_are_joined() {
    let reply = "```bash\nfind . -name '*.log' \\\n  -mtime +7 \\\n  -delete\n```";
    assert_eq!(cmd(reply), "find . -name '*.log' -mtime +7 -delete");
    let piped = "```bash\nps aux |\n  grep python\n```";
    assert_eq!(cmd(piped), "ps aux | grep python");
}

#[test]
fn two_commands_in_two_fences_takes_the_first() {
    let reply =
        "On Linux:\n```bash\nip addr show\n```\nOn older systems:\n```bash\nifconfig -a\n```";
    let p = ok(reply);
    assert_eq!(p.command, "ip addr show");
    assert_eq!(p.strategy, Strategy::FencedCode);
}

#[test]
fn console_fence_drops_output_lines() {
    let reply = "```console\n$ whoami\nalice\n```";
    assert_eq!(cmd(reply), "whoami");
}

#[test]
fn python_fence_is_not_a_shell_command() {
    let reply = "```python\nimport os\nprint(os.listdir('.'))\n```";
    assert_eq!(err(reply), ParseError::NoCommand);
}

#[test]
fn unclosed_fence_and_glued_fences() {
    assert_eq!(cmd("```bash\nls -la /etc"), "ls -la /etc");
    assert_eq!(cmd("```bash\nls -la```"), "ls -la");
    assert_eq!(cmd("```ls -la```"), "ls -la");
    assert_eq!(cmd("```bash ls -la\n```"), "ls -la");
}

#[test]
fn root_prompt_in_fence_versus_comment() {
    assert_eq!(cmd("```\n# apt update\n```"), "apt update");
    assert_eq!(
        err("```bash\n# find all the text files\n```"),
        ParseError::NoCommand
    );
}

// --- Prompt lines -------------------------------------------------------

#[test]
fn dollar_prompt_line() {
    let p = ok("You can check with:\n$ df -h /home\nIt shows free space.");
    assert_eq!(p.command, "df -h /home");
    assert_eq!(p.strategy, Strategy::PromptLine);
}

#[test]
fn fancy_prompts() {
    let p = ok("❯ git branch -a");
    assert_eq!(p.command, "git branch -a");
    assert_eq!(p.strategy, Strategy::PromptLine);
    assert_eq!(
        cmd("user@host:~$ sudo systemctl restart nginx"),
        "sudo systemctl restart nginx"
    );
    assert_eq!(cmd("% brew upgrade"), "brew upgrade");
}

#[test]
fn prompt_paragraph_with_several_commands_is_ambiguous() {
    assert_eq!(
        err("Run these:\n$ cd project\n$ make"),
        ParseError::Ambiguous
    );
    // Alternatives in separate paragraphs: the first wins.
    assert_eq!(cmd("$ ls -la\n\nor on Windows\n\n$ dir"), "ls -la");
}

#[test]
fn prompt_with_ps2_continuation() {
    assert_eq!(
        cmd("$ docker run --rm \\\n> -it ubuntu bash"),
        "docker run --rm -it ubuntu bash"
    );
}

// --- Plain lines --------------------------------------------------------

#[test]
fn single_plain_line() {
    let p = ok("ls -la");
    assert_eq!(p.command, "ls -la");
    assert_eq!(p.strategy, Strategy::PlainLine);
    assert_eq!(cmd("  git pull --rebase  \n"), "git pull --rebase");
    assert_eq!(cmd("rg TODO src/"), "rg TODO src/");
    assert_eq!(cmd("mytool --verbose"), "mytool --verbose");
}

#[test]
fn single_line_in_backticks() {
    let p = ok("`ls -la`");
    assert_eq!(p.command, "ls -la");
    assert_eq!(p.strategy, Strategy::PlainLine);
    assert_eq!(cmd("``echo `date` ``"), "echo `date`");
    assert_eq!(cmd("`pwd"), "pwd");
    assert_eq!(cmd("echo `date`"), "echo `date`");
}

#[test]
fn inline_code_in_prose_takes_the_first_command() {
    let p = ok("You can use `ls` or `dir`.");
    assert_eq!(p.command, "ls");
    assert_eq!(p.strategy, Strategy::FencedCode);
    let p = ok("Use the `-h` flag: `df -h` shows sizes in `GB`.");
    assert_eq!(p.command, "df -h");
}

#[test]
fn sentence_is_not_a_command() {
    assert_eq!(err("Sure! Here is the command:"), ParseError::NoCommand);
    assert_eq!(
        err("Lists all files in the current directory."),
        ParseError::NoCommand
    );
}

#[test]
fn label_then_command_on_one_line() {
    assert_eq!(cmd("Command: ls -la"), "ls -la");
    assert_eq!(cmd("Here is the command: git stash list"), "git stash list");
}

#[test]
fn command_line_among_prose_lines() {
    let reply = "Here is the command:\nls -la\nThis lists all files, including hidden ones.";
    let p = ok(reply);
    assert_eq!(p.command, "ls -la");
    assert_eq!(p.strategy, Strategy::PlainLine);
    assert_eq!(
        cmd("ls -la\n\nThis lists all files, including hidden ones."),
        "ls -la"
    );
}

#[test]
fn plain_continuation_lines() {
    assert_eq!(cmd("rsync -av \\\n  src/ dest/"), "rsync -av src/ dest/");
}

#[test]
fn two_plain_commands_are_ambiguous() {
    assert_eq!(err("mkdir build\ncd build"), ParseError::Ambiguous);
}

#[test]
fn trailing_comment_after_two_spaces_is_dropped() {
    assert_eq!(cmd("ls -la  # lists all files"), "ls -la");
    assert_eq!(
        cmd("ls -la # keep: valid shell"),
        "ls -la # keep: valid shell"
    );
    assert_eq!(cmd("echo 'a  # b'"), "echo 'a  # b'");
    assert_eq!(
        cmd("```bash\ndu -sh .\t# size of this dir\n```"),
        "du -sh ."
    );
}

#[test]
fn trailing_prose_on_the_command_line_is_dropped() {
    assert_eq!(cmd("ls -la - lists all files"), "ls -la");
    assert_eq!(
        cmd("du -sh ~/Downloads — shows the folder size"),
        "du -sh ~/Downloads"
    );
    assert_eq!(cmd("ls -la will list all files."), "ls -la");
    assert_eq!(
        cmd("```bash\nfind . -name '*.bak' -delete  # removes backups\n```"),
        "find . -name '*.bak' -delete"
    );
    // A dash that is an argument, and quoted text, stay.
    assert_eq!(
        cmd("tar -cf - src | gzip > src.tar.gz"),
        "tar -cf - src | gzip > src.tar.gz"
    );
    assert_eq!(
        cmd("echo this will list all files."),
        "echo this will list all files."
    );
    assert_eq!(
        cmd("git commit -m 'fix - this will list all files.'"),
        "git commit -m 'fix - this will list all files.'"
    );
}

#[test]
fn multi_line_loops_are_one_command() {
    assert_eq!(
        cmd("```bash\nfor f in *.png; do\n  convert \"$f\" \"${f%.png}.jpg\"\ndone\n```"),
        "for f in *.png; do convert \"$f\" \"${f%.png}.jpg\"; done"
    );
    assert_eq!(
        cmd("{\"cmd\": \"if [ -d build ]; then\\n  rm -rf build\\nfi\"}"),
        "if [ -d build ]; then rm -rf build; fi"
    );
    assert_eq!(
        cmd("```bash\nwhile read -r line; do\n  echo \"$line\"\n  sleep 1\ndone < list.txt\n```"),
        "while read -r line; do echo \"$line\"; sleep 1; done < list.txt"
    );
}

#[test]
fn sentence_with_digits_is_prose() {
    assert_eq!(err("Python3 is needed for this."), ParseError::NoCommand);
}

#[test]
fn blockquote_prompt_versus_redirect() {
    assert_eq!(cmd("> ls -la"), "ls -la");
    assert_eq!(cmd("> out.txt"), "> out.txt");
}

// --- Think blocks -------------------------------------------------------

#[test]
fn closed_think_block() {
    let reply = "<think>\nThe user wants to see hidden files. I should use ls -a. {\"cmd\": \"no\"}\n</think>\n\n{\"cmd\": \"ls -a\"}";
    let p = ok(reply);
    assert_eq!(p.command, "ls -a");
    assert_eq!(p.strategy, Strategy::Json);
}

#[test]
fn orphan_closing_think_tag() {
    // Qwen3 templates put `<think>` in the prompt; only `</think>` comes back.
    assert_eq!(
        cmd("Okay, disk usage... du.\n</think>\n```bash\ndu -sh ~\n```"),
        "du -sh ~"
    );
}

#[test]
fn unclosed_think_block() {
    assert_eq!(
        err("<think>\nThe user wants to list files. Maybe ls, or maybe"),
        ParseError::Unfinished
    );
    assert_eq!(err("<think>"), ParseError::Unfinished);
    // Best effort: the answer was written inside the unclosed block.
    assert_eq!(cmd("<think>\nlist files\n{\"cmd\": \"ls\"}"), "ls");
}

#[test]
fn empty_think_only() {
    assert_eq!(err("<think>hmm</think>\n"), ParseError::Empty);
}

// --- Errors -------------------------------------------------------------

#[test]
fn empty_and_whitespace() {
    assert_eq!(err(""), ParseError::Empty);
    assert_eq!(err("   \n\t\n  "), ParseError::Empty);
    assert_eq!(err("<|im_end|>"), ParseError::Empty);
}

#[test]
fn refusals() {
    assert_eq!(err("I cannot help with that."), ParseError::NoCommand);
    assert_eq!(
        err("I'm sorry, but I can't assist with deleting system files."),
        ParseError::NoCommand
    );
    assert_eq!(
        err("As an AI language model, I can't run `rm -rf /` for you."),
        ParseError::NoCommand
    );
    assert_eq!(
        err("I'm sorry.\n\nDeleting the root filesystem would destroy the system."),
        ParseError::NoCommand
    );
}

#[test]
fn helpful_reply_with_cannot_still_gives_the_command() {
    assert_eq!(
        cmd("I can't run commands myself, but you can use `uptime` to check."),
        "uptime"
    );
}

#[test]
fn multi_paragraph_prose() {
    let reply = "There are many ways to look at network traffic on a machine.\n\nIt depends on what exactly you want to see and which tools are installed.";
    assert_eq!(err(reply), ParseError::Ambiguous);
}

#[test]
fn error_messages_are_one_sentence() {
    for e in [
        ParseError::Empty,
        ParseError::NoCommand,
        ParseError::Ambiguous,
        ParseError::Unfinished,
        ParseError::HiddenCharacters,
    ] {
        let msg = e.to_string();
        assert!(
            !msg.is_empty() && !msg.ends_with('.') && !msg.contains('\n'),
            "{msg}"
        );
    }
    assert_eq!(
        ParseError::Empty.to_string(),
        "the model gave an empty reply"
    );
}

// --- Chat tokens, misc ---------------------------------------------------

#[test]
fn chat_tokens_and_crlf() {
    assert_eq!(cmd("{\"cmd\": \"ls\"}<|im_end|>"), "ls");
    assert_eq!(cmd("```bash\r\nls -la\r\n```\r\n"), "ls -la");
}

#[test]
fn strategy_serializes_as_snake_case() {
    assert_eq!(
        serde_json::to_string(&Strategy::FencedJson).unwrap(),
        "\"fenced_json\""
    );
    assert_eq!(Strategy::PromptLine.to_string(), "prompt_line");
    assert_eq!(Strategy::EmbeddedJson.to_string(), "embedded_json");
}

// --- Prefilled ------------------------------------------------------------

#[test]
fn prefilled_basic() {
    assert_eq!(pre("ls -la\"}"), "ls -la");
    assert_eq!(pre("ls -la\"} \n extra"), "ls -la");
    assert_eq!(pre("ls -la\"}\n\nThis lists files, \"quoted\"."), "ls -la");
}

#[test]
fn prefilled_escapes() {
    assert_eq!(pre(r#"grep \"a b\" file"}"#), r#"grep "a b" file"#);
    assert_eq!(pre(r#"echo \u00e9"}"#), "echo é");
    assert_eq!(pre(r#"tr '\u0000' '\n'"}"#), r"tr '\0' '\n'");
    assert_eq!(pre(r#"echo \ud83d\ude00"}"#), "echo 😀");
    assert_eq!(pre(r#"find . -exec rm {} \\;"}"#), r"find . -exec rm {} \;");
    assert_eq!(
        pre(r#"awk -F'\t' '{print $1}' f.tsv"}"#),
        "awk -F'\t' '{print $1}' f.tsv"
    );
    assert_eq!(
        pre(r#"find . -name x \\\n  -delete"}"#),
        "find . -name x -delete"
    );
}

#[test]
fn prefilled_raw_quotes_stay_in_the_command() {
    // The grammar lets a raw `"` through unless `}` follows it.
    assert_eq!(
        pre(r#"echo "http://example.com/a" | cut -d/ -f3"}"#),
        r#"echo "http://example.com/a" | cut -d/ -f3"#
    );
    assert_eq!(pre(r#"grep -r "foo" /srv"}"#), r#"grep -r "foo" /srv"#);
    assert_eq!(pre(r#"echo "a""#), r#"echo "a"#);
    assert_eq!(prefilled_end(r#"echo "a" b"}"#, true), Some(10));
    assert_eq!(prefilled_end(r#"echo "a""#, true), None);
    assert_eq!(prefilled_end(r#"echo \"}"#, true), None);
    assert_eq!(prefilled_end(r#"echo \\"}"#, true), Some(7));
}

#[test]
fn prefilled_missing_close_quote() {
    assert_eq!(pre("ls -la  "), "ls -la");
    assert_eq!(pre("tar -xzf archive.tar.gz \\"), "tar -xzf archive.tar.gz");
    assert_eq!(pre(r"echo \u00"), r"echo \u00");
}

#[test]
fn prefilled_empty_and_multi() {
    assert_eq!(parse_prefilled("\"}"), Err(ParseError::Empty));
    assert_eq!(parse_prefilled("   "), Err(ParseError::Empty));
    assert_eq!(
        parse_prefilled(r#"cd /tmp\nls"}"#),
        Err(ParseError::Ambiguous)
    );
}

// --- Property-ish ---------------------------------------------------------

const REAL: &[&str] = &[
    "ls -la",
    "grep -r \"TODO\" .",
    "find . -name '*.txt' -exec rm {} \\;",
    "du -sh * | sort -h | tail -n 5",
    "tar -czvf backup.tar.gz ~/Documents",
    "ps aux | grep -v grep | grep nginx",
    "awk '{print $1}' access.log | sort | uniq -c | sort -rn | head",
    "sed -i 's/foo/bar/g' *.txt",
    "git log --oneline --graph --all",
    "find . -type f -mtime -1 -print0 | xargs -0 ls -l",
    "docker ps -a --format '{{.Names}}\\t{{.Status}}'",
    "echo \"$HOME\" && echo $PATH",
    "curl -s https://api.github.com/repos/rust-lang/rust | jq '.stargazers_count'",
    "kill -9 $(lsof -t -i:8080)",
    "for f in *.jpg; do mv \"$f\" \"${f%.jpg}.jpeg\"; done",
    "chmod +x ./deploy.sh && ./deploy.sh",
    "mkdir -p 'Données/été 2024'",
    "printf '%s\\n' \"a b\" c",
    "ls > files.txt 2>&1",
    "sudo apt-get install -y ripgrep",
];

#[test]
fn real_commands_round_trip_through_json_and_fences() {
    for c in REAL {
        let json = serde_json::json!({ "cmd": c }).to_string();
        let p = ok(&json);
        assert_eq!(&p.command, c, "json: {json}");
        assert_eq!(p.strategy, Strategy::Json);

        let fenced = format!("```bash\n{c}\n```");
        let p = ok(&fenced);
        assert_eq!(&p.command, c, "fence: {fenced}");
        assert_eq!(p.strategy, Strategy::FencedCode);

        // Prefilled: the JSON string body and what follows.
        let body = serde_json::to_string(c).unwrap();
        assert_eq!(&pre(&format!("{}}}", &body[1..])), c);
    }
}

#[test]
fn never_panics_on_odd_input() {
    let odd = [
        "{",
        "}",
        "{\"",
        "{\"cmd\"",
        "{\"cmd\":",
        "{\"cmd\": \"\\",
        "{\"cmd\": \"\\u12",
        "```",
        "``````",
        "`",
        "``",
        "$",
        "$ ",
        "# ",
        ">",
        "❯",
        "é",
        "\\",
        "<think>é",
        "</think>",
        "{'cmd': 'é",
        "{\"cmd\": \"\\ud83d\"}",
        "```é\né```é",
        "\u{feff}",
        "{\"a\":{\"b\":{\"c\":",
        "日本語のテキスト。",
        "—",
        "`é` or `ü`",
    ];
    for s in odd {
        let _ = parse_reply(s);
        let _ = parse_prefilled(s);
    }
    // Every prefix of a messy reply, cut at every char boundary.
    let messy = "<think>ok é</think>\nSure! 🙂 Here:\n```bash\nfind . -name 'é*' -exec rm {} \\;  # del\n```\n{\"cmd\": \"ls \\u00e9\"}";
    for (i, _) in messy.char_indices() {
        let _ = parse_reply(&messy[..i]);
        let _ = parse_prefilled(&messy[..i]);
    }
}
