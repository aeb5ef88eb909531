//! The shell integration: `cmdai init <shell>` checked by each shell's own
//! parser and by the linters, then the Ctrl-G widget driven in real zsh, bash
//! and fish under tmux, in the emacs, vi-insert and vi-command keymaps.
//!
//! A widget test starts the shell in a private tmux server with a private rc
//! that evals `cmdai init` from the built binary, types a request, presses
//! Ctrl-G and reads the screen with `capture-pane`. Most use the mock backend
//! (`CMDAI_BACKEND=mock`), which proves the plumbing between shell and binary
//! and nothing about inference; the `real_model_*` tests run the real model
//! through a warm daemon.
//!
//! A tool that is not installed makes its tests pass with a note on stderr
//! (CI installs zsh, fish, tmux, shellcheck and shfmt, and fails a test that lacks one).

use crate::util::{run, skip, TestDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cmdai");
/// How long a mock-backend widget round trip may take on a loaded machine.
const MOCK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a real-model round trip may take (the daemon is already warm).
const MODEL_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a shell may take to show its first prompt.
const START_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sh {
    Zsh,
    Bash,
    Fish,
}

impl Sh {
    fn name(self) -> &'static str {
        match self {
            Sh::Zsh => "zsh",
            Sh::Bash => "bash",
            Sh::Fish => "fish",
        }
    }

    /// Sets a variable of the loaded script (after `cmdai init` ran).
    fn set_global(self, name: &str, value: &str) -> String {
        match self {
            Sh::Zsh | Sh::Bash => format!("{name}={}\n", sh_quote(value)),
            Sh::Fish => format!("set -g {name} {}\n", sh_quote(value)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keymap {
    Emacs,
    ViInsert,
    /// vi insert mode for typing, then Escape before the key.
    ViCommand,
}

const ALL_KEYMAPS: [Keymap; 3] = [Keymap::Emacs, Keymap::ViInsert, Keymap::ViCommand];
const EMACS_AND_VI: [Keymap; 2] = [Keymap::Emacs, Keymap::ViInsert];

/// Single quotes for zsh, bash and fish alike (the paths used here hold no
/// quote or backslash).
fn sh_quote(s: &str) -> String {
    assert!(
        !s.contains(['\'', '\\']),
        "{s:?} needs more quoting than this helper does"
    );
    format!("'{s}'")
}

fn installed(tool: &str) -> bool {
    let flag = if tool == "tmux" { "-V" } else { "--version" };
    Command::new(tool)
        .arg(flag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// False when a tool a test needs is missing, through [`skip`] (which fails
/// the test under `CI=true`).
fn have(tools: &[&str], test: &str) -> bool {
    let missing: Vec<_> = tools.iter().filter(|t| !installed(t)).collect();
    if missing.is_empty() {
        return true;
    }
    skip(test, &format!("not installed: {missing:?}"));
    false
}

/// `cmdai init <shell> [args]`, which must succeed.
fn init_script(t: &TestDir, shell: &str, args: &[&str]) -> String {
    let mut c = t.cmd();
    c.arg("init").arg(shell).args(args);
    let r = run(c);
    assert_eq!(
        r.code, 0,
        "cmdai init {shell} {args:?} failed: {}",
        r.stderr
    );
    assert!(
        r.stderr.is_empty(),
        "cmdai init {shell} wrote to stderr: {}",
        r.stderr
    );
    r.stdout
}

/// Writes `cmdai init <shell> [args]` to a file in the test dir.
fn init_file(t: &TestDir, shell: &str, args: &[&str]) -> PathBuf {
    let name = format!(
        "cmdai-{}{}.{shell}",
        args.len(),
        args.join("").replace(['-', '\\'], "_")
    );
    let path = t.path("work").join(name);
    std::fs::write(&path, init_script(t, shell, args)).unwrap();
    path
}

fn check(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// `cmdai init`: the script text

#[test]
fn init_fills_in_the_binary_path_and_the_default_key() {
    let t = TestDir::new();
    let bin = std::fs::canonicalize(BIN).unwrap();
    let bin = bin.to_str().unwrap();
    for (shell, key_line) in [
        ("zsh", "typeset -g __cmdai_key='^G'"),
        ("bash", r"__cmdai_key='\C-g'"),
        ("fish", r"set -g __cmdai_key (string unescape -- '\\cg')"),
    ] {
        let s = init_script(&t, shell, &[]);
        assert!(
            !s.contains("__CMDAI_"),
            "{shell}: a placeholder is left:\n{s}"
        );
        assert!(
            s.contains(&format!("__cmdai_bin '{bin}'"))
                || s.contains(&format!("__cmdai_bin='{bin}'")),
            "{shell}: no binary path:\n{s}"
        );
        assert!(
            s.lines().any(|l| l == key_line),
            "{shell}: no `{key_line}`:\n{s}"
        );
        assert!(
            s.starts_with("# "),
            "{shell}: the script starts with a comment"
        );
        assert!(
            s.contains(&format!("cmdai init {shell}")),
            "{shell}: the header says how to load it"
        );
    }
}

#[test]
fn init_key_option_env_and_no_bind() {
    let t = TestDir::new();
    let s = init_script(&t, "bash", &["--key", r"\C-x\C-g"]);
    assert!(s.contains(r"__cmdai_key='\C-x\C-g'"), "{s}");
    let s = init_script(&t, "zsh", &["--key", "^X^G"]);
    assert!(s.contains("__cmdai_key='^X^G'"), "{s}");

    let mut c = t.cmd();
    c.env("CMDAI_KEY", r"\e\cg").args(["init", "fish"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(r"(string unescape -- '\\e\\cg')"),
        "{}",
        r.stdout
    );

    for shell in ["zsh", "bash", "fish"] {
        let s = init_script(&t, shell, &["--no-bind"]);
        let code: Vec<_> = s
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        assert!(
            code.iter().all(|l| !l.contains("bind")),
            "{shell} --no-bind still binds:\n{s}"
        );
        assert!(
            s.contains("__cmdai_widget"),
            "{shell} --no-bind defines the widget"
        );
        assert!(!s.contains("__CMDAI_"), "{shell}: a placeholder is left");
    }

    let mut c = t.cmd();
    c.args(["init", "zsh", "--key", ""]);
    let r = run(c);
    assert_eq!(r.code, 2, "an empty key is a usage error: {}", r.stderr);
    assert!(r.stderr.starts_with("cmdai: "), "{}", r.stderr);
}

#[test]
fn init_scripts_parse_in_their_shells() {
    let t = TestDir::new();
    for no_bind in [false, true] {
        let args: &[&str] = if no_bind { &["--no-bind"] } else { &[] };
        check(
            Command::new("bash")
                .arg("-n")
                .arg(init_file(&t, "bash", args)),
            "bash -n",
        );
        if have(&["zsh"], "zsh -n") {
            check(
                Command::new("zsh")
                    .arg("-n")
                    .arg(init_file(&t, "zsh", args)),
                "zsh -n",
            );
        }
        if have(&["fish"], "fish --no-execute") {
            check(
                Command::new("fish")
                    .arg("--no-execute")
                    .arg(init_file(&t, "fish", args)),
                "fish --no-execute",
            );
        }
    }
}

/// ShellCheck has no zsh mode: like zoxide, the zsh script is checked as
/// bash (its first line says so) and keeps to syntax both shells share.
#[test]
fn init_scripts_pass_shellcheck() {
    if !have(&["shellcheck"], "shellcheck") {
        return;
    }
    let t = TestDir::new();
    for args in [&[][..], &["--no-bind"][..]] {
        check(
            Command::new("shellcheck")
                .arg("--shell=bash")
                .arg(init_file(&t, "bash", args)),
            "shellcheck (bash)",
        );
        check(
            Command::new("shellcheck")
                .arg("--shell=bash")
                .arg(init_file(&t, "zsh", args)),
            "shellcheck --shell=bash (zsh)",
        );
    }
}

#[test]
fn init_scripts_are_shfmt_clean() {
    if !have(&["shfmt"], "shfmt") {
        return;
    }
    let t = TestDir::new();
    check(
        Command::new("shfmt")
            .args(["-i", "2", "-d"])
            .arg(init_file(&t, "bash", &[])),
        "shfmt (bash)",
    );
    check(
        Command::new("shfmt")
            .args(["-i", "2", "-ln", "bash", "-d"])
            .arg(init_file(&t, "zsh", &[])),
        "shfmt -ln bash (zsh)",
    );
}

/// Sourcing the script (without bindings: no line editor here) defines the
/// widget and points it at this binary.
#[test]
fn init_scripts_load_in_their_shells() {
    let t = TestDir::new();
    let bin = std::fs::canonicalize(BIN).unwrap();
    let bin = bin.to_str().unwrap().to_string();
    let mut cases = vec![(
        "bash",
        vec!["--noprofile", "--norc", "-c"],
        format!("eval \"$({} init bash --no-bind)\"; declare -F __cmdai_widget >/dev/null && printf '%s\\n' \"$__cmdai_bin\"", sh_quote(BIN)),
    )];
    if have(&["zsh"], "zsh load") {
        cases.push((
            "zsh",
            vec!["-f", "-c"],
            format!("eval \"$({} init zsh --no-bind)\"; (( $+functions[__cmdai_widget] )) && print -r -- $__cmdai_bin", sh_quote(BIN)),
        ));
    }
    if have(&["fish"], "fish load") {
        cases.push((
            "fish",
            vec!["--no-config", "-c"],
            format!("{} init fish --no-bind | source; functions -q __cmdai_widget; and printf '%s\\n' $__cmdai_bin", sh_quote(BIN)),
        ));
    }
    for (shell, args, script) in cases {
        let out = Command::new(shell)
            .args(args)
            .arg(&script)
            .env("HOME", t.path("home"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout.trim_end(),
            bin,
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------------------
// tmux harness

/// What `capture-pane` shows.
struct Screen(String);

impl Screen {
    /// The line being edited: the last one that starts with the test prompt.
    fn prompt_line(&self) -> Option<&str> {
        self.0.lines().rev().find(|l| l.starts_with("PROMPT"))
    }

    /// The test prompt (`PROMPT> `, `PROMPT:i> `, `PROMPT:c> `) split from
    /// the text after it; capture-pane drops the space of an empty line.
    fn split_prompt(&self) -> Option<(&str, &str)> {
        let (head, rest) = self.prompt_line()?.split_once('>')?;
        Some((head, rest.strip_prefix(' ').unwrap_or(rest)))
    }

    /// The keymap the test prompt shows: "" (emacs), "i" or "c" (vi).
    fn mode(&self) -> Option<&str> {
        let (head, _) = self.split_prompt()?;
        Some(head.trim_start_matches("PROMPT").trim_start_matches(':'))
    }

    /// The command line's text as drawn after the prompt.
    fn buffer(&self) -> Option<&str> {
        Some(self.split_prompt()?.1.trim_end())
    }

    fn prompt_count(&self) -> usize {
        self.0.lines().filter(|l| l.starts_with("PROMPT")).count()
    }

    fn has_line_starting(&self, prefix: &str) -> bool {
        self.0.lines().any(|l| l.starts_with(prefix))
    }
}

/// One shell in its own tmux server; the server is killed on drop (also when
/// the test panics).
struct Session {
    socket: PathBuf,
    shell: Sh,
    keymap: Keymap,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The environment a widget test's shell runs in: `TestDir::cmd`'s private
/// HOME/XDG tree plus `extra`.
fn shell_env(t: &TestDir, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    for sub in ["data", "tmp"] {
        std::fs::create_dir_all(t.path(sub)).unwrap();
    }
    let p = |s: &str| t.path(s).to_str().unwrap().to_string();
    let mut env = vec![
        (
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_default(),
        ),
        ("HOME".into(), p("home")),
        ("XDG_CACHE_HOME".into(), p("cache")),
        ("XDG_CONFIG_HOME".into(), p("config")),
        ("XDG_DATA_HOME".into(), p("data")),
        ("XDG_RUNTIME_DIR".into(), p("runtime")),
        (
            "CMDAI_CACHE_DIR".into(),
            t.path("cache").join("cmdai").to_str().unwrap().to_string(),
        ),
        ("TMPDIR".into(), p("tmp")),
        ("LANG".into(), "C.UTF-8".into()),
        ("NO_COLOR".into(), "1".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn mock(reply: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CMDAI_BACKEND", "mock".into()),
        ("CMDAI_MOCK_REPLY", reply.into()),
    ]
}

/// The private rc: a prompt that shows the vi mode, the keymap, and
/// `cmdai init` from the built binary; `extra` runs after it.
fn write_rc(
    t: &TestDir,
    shell: Sh,
    keymap: Keymap,
    extra: &str,
) -> (Vec<String>, Vec<(String, String)>) {
    let bin = sh_quote(BIN);
    let vi = keymap != Keymap::Emacs;
    match shell {
        Sh::Zsh => {
            let dir = t.path("zdotdir");
            std::fs::create_dir_all(&dir).unwrap();
            let mut rc = String::from("HISTSIZE=1000\nKEYTIMEOUT=1\n");
            if vi {
                rc.push_str(concat!(
                    "bindkey -v\nPS1='PROMPT:i> '\n",
                    "__test_mode() { if [[ $KEYMAP == vicmd ]]; then PS1='PROMPT:c> '; else PS1='PROMPT:i> '; fi; zle reset-prompt; }\n",
                    "zle -N zle-line-init __test_mode\nzle -N zle-keymap-select __test_mode\n",
                ));
            } else {
                rc.push_str("bindkey -e\nPS1='PROMPT> '\n");
            }
            rc.push_str(&format!("eval \"$({bin} init zsh)\"\n{extra}"));
            std::fs::write(dir.join(".zshrc"), rc).unwrap();
            let env = vec![("ZDOTDIR".into(), dir.to_str().unwrap().to_string())];
            (vec!["zsh".into(), "-d".into(), "-i".into()], env)
        }
        Sh::Bash => {
            let mut rc =
                String::from("HISTFILE=\"$HOME/.bash_history\"\nbind 'set keyseq-timeout 50'\n");
            if vi {
                rc.push_str(concat!(
                    "set -o vi\nbind 'set show-mode-in-prompt on'\n",
                    "bind 'set vi-ins-mode-string \"PROMPT:i\"'\nbind 'set vi-cmd-mode-string \"PROMPT:c\"'\n",
                    "PS1='> '\n",
                ));
            } else {
                rc.push_str("set -o emacs\nPS1='PROMPT> '\n");
            }
            rc.push_str(&format!("eval \"$({bin} init bash)\"\n{extra}"));
            let path = t.path("bashrc");
            std::fs::write(&path, rc).unwrap();
            let argv = vec![
                "bash",
                "--noprofile",
                "--rcfile",
                path.to_str().unwrap(),
                "-i",
            ];
            (argv.into_iter().map(String::from).collect(), vec![])
        }
        Sh::Fish => {
            let dir = t.path("config").join("fish");
            std::fs::create_dir_all(&dir).unwrap();
            let mut rc = String::from(concat!(
                "set -g fish_greeting\nset -g fish_autosuggestion_enabled 0\n",
                "function fish_prompt; printf '> '; end\n",
            ));
            if vi {
                rc.push_str(concat!(
                    "fish_vi_key_bindings\n",
                    "function fish_mode_prompt\n switch $fish_bind_mode\n case insert; printf PROMPT:i\n",
                    " case default; printf PROMPT:c\n case '*'; printf PROMPT:%s $fish_bind_mode\n end\nend\n",
                ));
            } else {
                rc.push_str(
                    "fish_default_key_bindings\nfunction fish_mode_prompt; printf PROMPT; end\n",
                );
            }
            rc.push_str(&format!("{bin} init fish | source\n{extra}"));
            std::fs::write(dir.join("config.fish"), rc).unwrap();
            (vec!["fish".into(), "-i".into()], vec![])
        }
    }
}

impl Session {
    /// Starts `shell` with the rc above and waits for its first prompt.
    fn start(
        t: &TestDir,
        shell: Sh,
        keymap: Keymap,
        env: &[(&str, String)],
        rc_extra: &str,
    ) -> Session {
        let (argv, shell_vars) = write_rc(t, shell, keymap, rc_extra);
        let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut env = shell_env(t, &extra);
        env.extend(shell_vars);
        let conf = t.path("tmux.conf");
        std::fs::write(&conf, "set -g remain-on-exit on\nset -g status off\n").unwrap();
        let socket = t.path("tmux.sock");
        let status = Command::new("tmux")
            .env_clear()
            .envs(env)
            .arg("-S")
            .arg(&socket)
            .arg("-f")
            .arg(&conf)
            .args([
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "200",
                "-y",
                "50",
                "--",
            ])
            .args(&argv)
            .current_dir(t.path("work"))
            .stdin(Stdio::null())
            .status()
            .expect("starting tmux");
        assert!(status.success(), "tmux new-session failed");
        let s = Session {
            socket,
            shell,
            keymap,
        };
        let want = if keymap == Keymap::Emacs { "" } else { "i" };
        s.wait_for("the first prompt", START_TIMEOUT, |sc| {
            sc.mode() == Some(want) && sc.buffer() == Some("")
        });
        s
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).stdin(Stdio::null());
        c
    }

    fn screen(&self) -> Screen {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-J", "-t", "t"])
            .output()
            .expect("tmux capture-pane");
        Screen(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn send_text(&self, text: &str) {
        check(
            self.tmux().args(["send-keys", "-t", "t", "-l", "--", text]),
            "tmux send-keys -l",
        );
    }

    fn send_keys(&self, keys: &[&str]) {
        check(
            self.tmux().args(["send-keys", "-t", "t"]).args(keys),
            "tmux send-keys",
        );
    }

    fn label(&self) -> String {
        format!("{} {:?}", self.shell.name(), self.keymap)
    }

    /// Polls the screen until `pred` holds; panics with the screen otherwise.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&Screen) -> bool) -> Screen {
        let deadline = Instant::now() + timeout;
        loop {
            let sc = self.screen();
            if pred(&sc) {
                return sc;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: timed out waiting for {what}; the screen:\n{}",
                    self.label(),
                    sc.0
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `request`, goes to vi command mode if the keymap says so, and
    /// presses Ctrl-G. Returns when the key was sent.
    fn ask(&self, request: &str) -> Instant {
        self.send_text(request);
        self.wait_for("the request on the line", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some(request)
        });
        if self.keymap == Keymap::ViCommand {
            self.send_keys(&["Escape"]);
            self.wait_for("vi command mode", MOCK_TIMEOUT, |sc| sc.mode() == Some("c"));
        }
        self.send_keys(&["C-g"]);
        Instant::now()
    }
}

/// The shells this machine has, with a note for the missing ones.
fn shells(test: &str) -> Vec<Sh> {
    if !have(&["tmux"], test) {
        return vec![];
    }
    [Sh::Zsh, Sh::Bash, Sh::Fish]
        .into_iter()
        .filter(|s| have(&[s.name()], test))
        .collect()
}

fn no_temp_files_left(t: &TestDir, label: &str) {
    // fish keeps its own runtime dir (`fish.$USER`) in TMPDIR; that is not ours.
    let left: Vec<_> = std::fs::read_dir(t.path("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !n.to_string_lossy().starts_with("fish."))
        .collect();
    assert!(
        left.is_empty(),
        "{label}: the widget left temp files: {left:?}"
    );
}

/// A stand-in for the binary that logs its arguments (one call per line,
/// each argument in <>), can print a note, then runs the real cmdai.
fn wrapper(t: &TestDir, note: Option<&str>) -> (PathBuf, PathBuf) {
    let log = t.path("calls.log");
    let path = t.path("cmdai-wrapper");
    let note = note.map_or(String::new(), |n| {
        format!("printf '%s\\n' {} >&2\n", sh_quote(n))
    });
    let script = format!(
        "#!/bin/sh\n{{ printf call; for a in \"$@\"; do printf ' <%s>' \"$a\"; done; printf '\\n'; }} >>{}\n{note}exec {} \"$@\"\n",
        sh_quote(log.to_str().unwrap()),
        sh_quote(BIN)
    );
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (path, log)
}

fn calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// Widget behaviour, mock backend

#[test]
fn widget_puts_the_command_on_the_line_without_running_it() {
    for shell in shells("widget_puts_the_command_on_the_line") {
        for keymap in ALL_KEYMAPS {
            let t = TestDir::new();
            let marker = t.path("work").join("marker");
            let cmd = format!("touch {}", marker.display());
            let reply = format!("{{\"cmd\": \"{cmd}\"}}");
            let s = Session::start(&t, shell, keymap, &mock(&reply), "");
            let sent = s.ask("make a marker file");
            let sc = s.wait_for("the command on the line", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some(cmd.as_str())
            });
            eprintln!(
                "{}: mock round trip {} ms",
                s.label(),
                sent.elapsed().as_millis()
            );
            assert!(
                !marker.exists(),
                "{}: the command ran:\n{}",
                s.label(),
                sc.0
            );
            // The line is still being edited, with the cursor at its end.
            if keymap != Keymap::ViCommand {
                s.send_text(" -c");
                let want = format!("{cmd} -c");
                s.wait_for("typing after the command", MOCK_TIMEOUT, |sc| {
                    sc.buffer() == Some(want.as_str())
                });
            }
            assert!(!marker.exists(), "{}: the command ran", s.label());
            no_temp_files_left(&t, &s.label());
        }
    }
}

#[test]
fn widget_puts_the_cursor_on_the_first_placeholder() {
    for shell in shells("widget_puts_the_cursor_on_the_first_placeholder") {
        for keymap in [Keymap::Emacs, Keymap::ViInsert] {
            let t = TestDir::new();
            let cmd = "git config user.email you@example.com";
            let reply = format!("{{\"cmd\": \"{cmd}\"}}");
            let s = Session::start(&t, shell, keymap, &mock(&reply), "");
            s.ask("set my git email");
            s.wait_for("the command on the line", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some(cmd)
            });
            // What is typed now goes where the placeholder starts.
            s.send_text("me");
            let want = "git config user.email meyou@example.com";
            s.wait_for("typing at the placeholder", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some(want)
            });
            // The note names it, above the prompt; the cursor line is not shown.
            let sc = s.screen();
            assert!(
                sc.0.contains("replace you@example.com before running it"),
                "{}:\n{}",
                s.label(),
                sc.0
            );
            assert!(!sc.0.contains("cmdai-cursor"), "{}:\n{}", s.label(), sc.0);
        }
    }
}

/// A harmless command the validator rates Critical: a base64 payload run by
/// `sh` (it decodes to `true`). A `touch` of `marker` comes first, after a
/// `;`: in zsh without `interactivecomments`, the old `# blocked: ...` line
/// ran everything after the `;` when Enter was pressed.
fn blocked_reply(marker: &Path) -> String {
    format!(
        r#"{{"cmd": "true; touch {}; echo dHJ1ZQ== | base64 -d | sh"}}"#,
        marker.display()
    )
}

const BLOCKED_PREFIX: &str = "cmdai: blocked, not put on your command line: ";

/// Needs the safety validator: a blocked command is printed above the prompt
/// with its reason and never put on the line; the request stays there, and
/// Enter runs nothing of the command (zsh with and without
/// `interactivecomments`, bash, fish; emacs, vi-insert and vi-command).
/// Pressing the key again asks for another command, avoiding the blocked one.
#[test]
fn widget_blocked_command_never_runs_on_enter() {
    for shell in shells("widget_blocked_command_never_runs_on_enter") {
        let options: &[&str] = if shell == Sh::Zsh {
            &["", "setopt interactivecomments\n"]
        } else {
            &[""]
        };
        for extra in options {
            for keymap in ALL_KEYMAPS {
                let t = TestDir::new();
                let marker = t.path("work").join("marker");
                let (wrapper, log) = wrapper(&t, None);
                let rc = format!(
                    "{extra}{}",
                    shell.set_global("__cmdai_bin", wrapper.to_str().unwrap())
                );
                let s = Session::start(&t, shell, keymap, &mock(&blocked_reply(&marker)), &rc);
                let label = format!("{} {extra:?}", s.label());
                let request = "please create the marker file";
                s.ask(request);
                let sc = s.wait_for("the blocked command above the prompt", MOCK_TIMEOUT, |sc| {
                    sc.has_line_starting(BLOCKED_PREFIX) && sc.buffer() == Some(request)
                });
                let shown =
                    sc.0.lines()
                        .find(|l| l.starts_with(BLOCKED_PREFIX))
                        .unwrap();
                assert!(
                    shown.contains("touch") && shown.contains("base64 -d | sh"),
                    "{label}: {shown}"
                );
                assert!(
                    sc.0.contains("obf.decoded_exec"),
                    "{label}: the reason is shown:\n{}",
                    sc.0
                );
                assert!(
                    !sc.prompt_line().unwrap().contains("touch"),
                    "{label}: the command is on the line:\n{}",
                    sc.0
                );
                if keymap == Keymap::Emacs {
                    // The key again on the unchanged request: another command,
                    // avoiding the blocked one.
                    s.send_keys(&["C-g"]);
                    let deadline = Instant::now() + MOCK_TIMEOUT;
                    while calls(&log).len() < 2 {
                        assert!(Instant::now() < deadline, "{label}: no second call");
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    let c = calls(&log);
                    assert!(
                        c[1].starts_with("call <--widget> <--avoid> <true; touch ")
                            && c[1].ends_with("<--> <please create the marker file>"),
                        "{label}: {}",
                        c[1]
                    );
                    s.wait_for("the request back again", MOCK_TIMEOUT, |sc| {
                        sc.buffer() == Some(request)
                            && sc
                                .0
                                .lines()
                                .filter(|l| l.starts_with(BLOCKED_PREFIX))
                                .count()
                                >= 2
                    });
                }
                let prompts = s.screen().prompt_count();
                s.send_keys(&["Enter"]);
                let sc = s.wait_for("a new prompt after Enter", MOCK_TIMEOUT, |sc| {
                    sc.prompt_count() > prompts && sc.buffer() == Some("")
                });
                // Give anything that was started a moment to finish.
                std::thread::sleep(Duration::from_millis(300));
                assert!(
                    !marker.exists(),
                    "{label}: Enter ran the blocked command:\n{}",
                    sc.0
                );
                no_temp_files_left(&t, &label);
            }
        }
    }
}

/// The text a blocked command is printed as (`cmdai <request>`, exit 5) is a
/// line no interactive shell runs, whatever it holds: zsh with and without
/// `interactivecomments`, bash and fish read it from stdin, and the marker the
/// command would create stays absent. The line the old format gave does run
/// in zsh, which shows this check can fail.
#[test]
fn blocked_text_line_runs_nothing_in_interactive_shells() {
    let t = TestDir::new();
    let marker = t.path("work").join("marker");
    let mut c = t.cmd();
    c.env("CMDAI_BACKEND", "mock")
        .env("CMDAI_MOCK_REPLY", blocked_reply(&marker))
        .arg("please create the marker file");
    let r = run(c);
    assert_eq!(r.code, 5, "{} {}", r.stdout, r.stderr);
    let line = r.stdout.trim_end().to_string();
    assert!(line.starts_with("# blocked: "), "{line}");
    assert!(!marker.exists());

    let feed = |argv: &[&str], text: &str| {
        let mut child = Command::new(argv[0])
            .args(&argv[1..])
            .env("HOME", t.path("home"))
            .env("TERM", "dumb")
            .current_dir(t.path("work"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let mut cases: Vec<(Vec<&str>, String)> = vec![(
        vec!["bash", "--norc", "--noprofile", "-i"],
        format!("{line}\nexit\n"),
    )];
    if installed("zsh") {
        cases.push((vec!["zsh", "-f", "-i"], format!("{line}\nexit\n")));
        cases.push((
            vec!["zsh", "-f", "-i"],
            format!("setopt interactivecomments\n{line}\nexit\n"),
        ));
    }
    if installed("fish") {
        cases.push((vec!["fish", "--no-config", "-i"], format!("{line}\nexit\n")));
    }
    for (argv, text) in &cases {
        let err = feed(argv, text);
        assert!(
            !marker.exists(),
            "{argv:?} ran the blocked line {line:?}: {err}"
        );
    }
    if installed("zsh") {
        let old = format!(
            "# blocked: judged dangerous: true; touch {}\nexit\n",
            marker.display()
        );
        feed(&["zsh", "-f", "-i"], &old);
        assert!(
            marker.exists(),
            "the old line should have run in zsh without interactivecomments"
        );
    }
}

#[test]
fn widget_failure_leaves_the_request_untouched() {
    for shell in shells("widget_failure_leaves_the_request_untouched") {
        for keymap in ALL_KEYMAPS {
            let t = TestDir::new();
            // Prose with no command in it: the binary exits 4.
            let s = Session::start(
                &t,
                shell,
                keymap,
                &mock("I am sorry, I cannot help with that."),
                "",
            );
            let request = "do the impossible thing";
            s.ask(request);
            let sc = s.wait_for("one line saying why", MOCK_TIMEOUT, |sc| {
                sc.has_line_starting("cmdai: ")
            });
            let sc = if sc.buffer() == Some(request) {
                sc
            } else {
                s.wait_for("the request back on the line", MOCK_TIMEOUT, |sc| {
                    sc.buffer() == Some(request)
                })
            };
            let notes: Vec<_> = sc.0.lines().filter(|l| l.starts_with("cmdai: ")).collect();
            assert_eq!(
                notes.len(),
                1,
                "{}: one line says why:\n{}",
                s.label(),
                sc.0
            );
            assert!(
                notes[0].contains("no usable command"),
                "{}: {}",
                s.label(),
                notes[0]
            );
            no_temp_files_left(&t, &s.label());
        }
        // No model, and no network to fetch one: the binary exits 3.
        let t = TestDir::new();
        let env = [
            ("CMDAI_OFFLINE", "1".to_string()),
            ("HF_HUB_OFFLINE", "1".to_string()),
        ];
        let s = Session::start(&t, shell, Keymap::Emacs, &env, "");
        s.ask("find large files");
        let sc = s.wait_for("one line saying why", MOCK_TIMEOUT, |sc| {
            sc.has_line_starting("cmdai: ")
        });
        assert!(
            sc.0.lines().filter(|l| l.starts_with("cmdai: ")).count() == 1,
            "{}:\n{}",
            s.label(),
            sc.0
        );
        s.wait_for("the request back on the line", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("find large files")
        });
    }
}

#[test]
fn widget_ctrl_c_while_waiting_keeps_the_request() {
    for shell in shells("widget_ctrl_c_while_waiting_keeps_the_request") {
        for keymap in EMACS_AND_VI {
            let t = TestDir::new();
            let mut env = mock(r#"{"cmd": "ls -la"}"#);
            env.push(("CMDAI_MOCK_DELAY_MS", "120000".into()));
            let s = Session::start(&t, shell, keymap, &env, "");
            let request = "list everything slowly";
            s.ask(request);
            s.wait_for("progress on the screen", MOCK_TIMEOUT, |sc| {
                sc.0.contains("⏳ cmdai")
            });
            s.send_keys(&["C-c"]);
            s.wait_for("the interruption reported", MOCK_TIMEOUT, |sc| {
                sc.has_line_starting("cmdai: interrupted")
            });
            let sc = s.wait_for("the request back on the line", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some(request)
            });
            assert!(
                !sc.prompt_line().unwrap().contains('⏳'),
                "{}: progress left:\n{}",
                s.label(),
                sc.0
            );
            // Still editable.
            s.send_text("!");
            let want = format!("{request}!");
            s.wait_for("typing after Ctrl-C", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some(want.as_str())
            });
            no_temp_files_left(&t, &s.label());
        }
    }
}

#[test]
fn widget_on_an_empty_line_gives_a_hint() {
    for shell in shells("widget_on_an_empty_line_gives_a_hint") {
        for keymap in EMACS_AND_VI {
            let t = TestDir::new();
            let (wrapper, log) = wrapper(&t, None);
            let rc = shell.set_global("__cmdai_bin", wrapper.to_str().unwrap());
            let s = Session::start(&t, shell, keymap, &mock(r#"{"cmd": "ls"}"#), &rc);
            s.send_keys(&["C-g"]);
            // The hint, and the prompt redrawn below it (the shell may take a
            // moment to repaint after printing the hint).
            let sc = s.wait_for("the hint and an empty prompt", MOCK_TIMEOUT, |sc| {
                sc.has_line_starting("cmdai: type what you want") && sc.buffer() == Some("")
            });
            assert_eq!(sc.buffer(), Some(""), "{}:\n{}", s.label(), sc.0);
            assert!(
                calls(&log).is_empty(),
                "{}: cmdai was called for an empty line",
                s.label()
            );
        }
    }
}

#[test]
fn widget_pressed_again_asks_for_an_alternative() {
    for shell in shells("widget_pressed_again_asks_for_an_alternative") {
        for keymap in EMACS_AND_VI {
            let t = TestDir::new();
            let (wrapper, log) = wrapper(&t, None);
            let rc = shell.set_global("__cmdai_bin", wrapper.to_str().unwrap());
            let s = Session::start(&t, shell, keymap, &mock(r#"{"cmd": "ls -la"}"#), &rc);
            s.ask("list the files");
            s.wait_for("the command", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some("ls -la")
            });
            let wait_calls = |n: usize| {
                let deadline = Instant::now() + MOCK_TIMEOUT;
                while calls(&log).len() < n {
                    assert!(
                        Instant::now() < deadline,
                        "{}: cmdai was not called {n} times",
                        s.label()
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
                calls(&log)
            };
            assert_eq!(
                wait_calls(1)[0],
                "call <--widget> <--> <list the files>",
                "{}",
                s.label()
            );

            // Unchanged result: the same request again, avoiding what came back.
            s.send_keys(&["C-g"]);
            let c = wait_calls(2);
            assert_eq!(
                c[1],
                "call <--widget> <--avoid> <ls -la> <--> <list the files>",
                "{}",
                s.label()
            );
            s.wait_for("the alternative", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some("ls -la")
            });
            // Every command offered so far is avoided.
            s.send_keys(&["C-g"]);
            let c = wait_calls(3);
            assert_eq!(
                c[2],
                "call <--widget> <--avoid> <ls -la> <--avoid> <ls -la> <--> <list the files>",
                "{}",
                s.label()
            );
            s.wait_for("the alternative", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some("ls -la")
            });

            // An edited line is a new request.
            s.send_text(" /tmp");
            s.wait_for("the edit", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some("ls -la /tmp")
            });
            s.send_keys(&["C-g"]);
            let c = wait_calls(4);
            assert_eq!(c[3], "call <--widget> <--> <ls -la /tmp>", "{}", s.label());
        }
    }
}

#[test]
fn widget_prints_notes_above_the_prompt() {
    for shell in shells("widget_prints_notes_above_the_prompt") {
        for keymap in EMACS_AND_VI {
            let t = TestDir::new();
            // The wrapper stands in for a High finding's note.
            let note = "cmdai: high: a test warning (test-rule)";
            let (wrapper, _) = wrapper(&t, Some(note));
            let rc = shell.set_global("__cmdai_bin", wrapper.to_str().unwrap());
            let s = Session::start(&t, shell, keymap, &mock(r#"{"cmd": "ls -la"}"#), &rc);
            s.ask("list the files");
            let sc = s.wait_for("command and note", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some("ls -la") && sc.has_line_starting(note)
            });
            let lines: Vec<_> = sc.0.lines().collect();
            let note_at = lines.iter().rposition(|l| *l == note).unwrap();
            let prompt_at = lines.iter().rposition(|l| l.starts_with("PROMPT")).unwrap();
            assert!(
                note_at < prompt_at,
                "{}: the note is not above the prompt:\n{}",
                s.label(),
                sc.0
            );
        }
    }
}

/// The request goes to history when the command comes back; the command only
/// when it runs.
#[test]
fn widget_adds_the_request_to_history() {
    for shell in shells("widget_adds_the_request_to_history") {
        // emacs: clear the line, run the empty line, recall.
        let t = TestDir::new();
        let s = Session::start(
            &t,
            shell,
            Keymap::Emacs,
            &mock(r#"{"cmd": "echo ran-it"}"#),
            "",
        );
        s.ask("say that it ran");
        s.wait_for("the command", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("echo ran-it")
        });
        s.send_keys(&["C-u"]);
        let sc = s.wait_for("an empty line", MOCK_TIMEOUT, |sc| sc.buffer() == Some(""));
        let prompts = sc.prompt_count();
        s.send_keys(&["Enter"]);
        s.wait_for("a new prompt", MOCK_TIMEOUT, |sc| {
            sc.prompt_count() > prompts && sc.buffer() == Some("")
        });
        s.send_keys(&["Up"]);
        s.wait_for("the request recalled", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("say that it ran")
        });
        assert!(
            !s.screen().0.lines().any(|l| l == "ran-it"),
            "{}: the command ran",
            s.label()
        );

        // vi: run the command, then walk back: the command, then the request.
        let t = TestDir::new();
        let s = Session::start(
            &t,
            shell,
            Keymap::ViInsert,
            &mock(r#"{"cmd": "echo ran-it"}"#),
            "",
        );
        s.ask("say that it ran");
        s.wait_for("the command", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("echo ran-it")
        });
        s.send_keys(&["Enter"]);
        s.wait_for("the command's output", MOCK_TIMEOUT, |sc| {
            sc.0.lines().any(|l| l == "ran-it") && sc.buffer() == Some("")
        });
        s.send_keys(&["Escape"]);
        s.wait_for("vi command mode", MOCK_TIMEOUT, |sc| sc.mode() == Some("c"));
        s.send_keys(&["k"]);
        s.wait_for("the command recalled", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("echo ran-it")
        });
        s.send_keys(&["k"]);
        s.wait_for("the request recalled", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("say that it ran")
        });
    }
}

// ---------------------------------------------------------------------------
// Capture, refine, explain (issue 17)

/// `cmdai <args> --format json` in the shell's data dir, parsed.
fn data_json(t: &TestDir, args: &[&str]) -> Vec<serde_json::Value> {
    let mut c = t.cmd();
    c.env("XDG_DATA_HOME", t.path("data")).args(args);
    let r = run(c);
    assert_eq!(r.code, 0, "cmdai {args:?}: {}", r.stderr);
    serde_json::from_str::<serde_json::Value>(&r.stdout)
        .unwrap_or_else(|e| panic!("cmdai {args:?}: {e}: {}", r.stdout))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn memory(t: &TestDir) -> Vec<serde_json::Value> {
    data_json(t, &["memory", "list", "--format", "json"])
}

/// Waits until the wrapper's log holds `n` calls; returns them.
fn wait_calls(log: &Path, n: usize, label: &str) -> Vec<String> {
    let deadline = Instant::now() + MOCK_TIMEOUT;
    while calls(log).len() < n {
        assert!(
            Instant::now() < deadline,
            "{label}: cmdai was not called {n} times: {:?}",
            calls(log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    calls(log)
}

/// Runs the line on the prompt with Enter and waits for `output` and a new
/// empty prompt.
fn run_line(s: &Session, output: &str) {
    let prompts = s.screen().prompt_count();
    s.send_keys(&["Enter"]);
    s.wait_for("the line's output and a new prompt", MOCK_TIMEOUT, |sc| {
        sc.0.lines().any(|l| l == output) && sc.prompt_count() > prompts && sc.buffer() == Some("")
    });
}

/// Types a line by hand and runs it.
fn type_and_run(s: &Session, line: &str, output: &str) {
    s.send_text(line);
    s.wait_for("the typed line", MOCK_TIMEOUT, |sc| {
        sc.buffer() == Some(line)
    });
    run_line(s, output);
}

/// The command the widget offered, edited and run, is remembered for the
/// request (`cmdai remember` in the background, exact arguments); a line
/// typed by hand is not, nor one that runs after the offer was replaced by
/// something else, and nothing is stored twice. In bash the user's own
/// PROMPT_COMMAND still runs, once, and loading the script twice adds the
/// hook once.
#[test]
fn widget_remembers_the_command_that_ran() {
    for shell in shells("widget_remembers_the_command_that_ran") {
        let t = TestDir::new();
        let (wrapper, log) = wrapper(&t, None);
        let pc_log = t.path("prompt-command.log");
        let mut rc = shell.set_global("__cmdai_bin", wrapper.to_str().unwrap());
        if shell == Sh::Bash {
            rc = format!(
                "PROMPT_COMMAND='echo pc >>{}'\neval \"$({} init bash)\"\n{rc}",
                pc_log.display(),
                sh_quote(BIN)
            );
        }
        let s = Session::start(
            &t,
            shell,
            Keymap::Emacs,
            &mock(r#"{"cmd": "echo captured"}"#),
            &rc,
        );
        let label = s.label();
        let work = t.path("work");
        let work = std::fs::canonicalize(&work).unwrap();
        s.ask("say it was captured");
        s.wait_for("the command", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("echo captured")
        });
        s.send_text(" -x");
        s.wait_for("the edit", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("echo captured -x")
        });
        run_line(&s, "captured -x");
        let c = wait_calls(&log, 2, &label);
        assert_eq!(
            c[1],
            format!(
                "call <remember> <--request=say it was captured> <--offered=echo captured> <--ran=echo captured -x> <--cwd={}>",
                work.display()
            ),
            "{label}"
        );
        let deadline = Instant::now() + MOCK_TIMEOUT;
        let m = loop {
            let m = memory(&t);
            if !m.is_empty() || Instant::now() > deadline {
                break m;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(m.len(), 1, "{label}: {m:?}");
        assert_eq!(m[0]["request"], "say it was captured", "{label}");
        assert_eq!(m[0]["command"], "echo captured -x", "{label}");
        assert_eq!(m[0]["offered"], "echo captured", "{label}");

        // Typed by hand: not from cmdai, not reported.
        type_and_run(&s, "echo by-hand", "by-hand");
        // Offered, then replaced by another program: forgotten, and the
        // offered text typed by hand afterwards is not reported either. (The
        // first request would now get the remembered command back.)
        s.ask("print a word for me");
        s.wait_for("the command again", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("echo captured")
        });
        let c = wait_calls(&log, 3, &label);
        s.send_keys(&["C-u"]);
        s.wait_for("an empty line", MOCK_TIMEOUT, |sc| sc.buffer() == Some(""));
        type_and_run(&s, "printf '%s\\n' other", "other");
        type_and_run(&s, "echo captured", "captured");
        std::thread::sleep(Duration::from_millis(1000));
        assert_eq!(
            calls(&log),
            c,
            "{label}: only the edited offer was reported"
        );
        assert_eq!(memory(&t).len(), 1, "{label}: {:?}", memory(&t));
        // Silent: no job-control notice and no output from the report.
        let sc = s.screen();
        assert!(
            !sc.0.contains("remember") && !sc.0.contains("[1]"),
            "{label}: the report showed on the screen:\n{}",
            sc.0
        );
        if shell == Sh::Bash {
            let pc = std::fs::read_to_string(&pc_log).unwrap_or_default();
            let prompts = s.screen().prompt_count();
            assert_eq!(
                pc.lines().count(),
                prompts,
                "{label}: the user's PROMPT_COMMAND runs once per prompt"
            );
        }
    }
}

/// A High command (`git reset --hard`, here in a folder that is no
/// repository) that was offered and ran is reported but not remembered.
#[test]
fn widget_does_not_remember_a_high_command() {
    for shell in shells("widget_does_not_remember_a_high_command") {
        let t = TestDir::new();
        let (wrapper, log) = wrapper(&t, None);
        let rc = shell.set_global("__cmdai_bin", wrapper.to_str().unwrap());
        let cmd = "git -C ./no-repo reset --hard";
        let reply = format!("{{\"cmd\": \"{cmd}\"}}");
        let s = Session::start(&t, shell, Keymap::Emacs, &mock(&reply), &rc);
        let label = s.label();
        s.ask("throw away my changes");
        s.wait_for("the command", MOCK_TIMEOUT, |sc| sc.buffer() == Some(cmd));
        let prompts = s.screen().prompt_count();
        s.send_keys(&["Enter"]);
        s.wait_for("a new prompt", MOCK_TIMEOUT, |sc| {
            sc.prompt_count() > prompts && sc.buffer() == Some("")
        });
        let c = wait_calls(&log, 2, &label);
        assert!(c[1].starts_with("call <remember> "), "{label}: {}", c[1]);
        // The report ran to its end: the history marks the command as run.
        let deadline = Instant::now() + MOCK_TIMEOUT;
        loop {
            let h = data_json(&t, &["history", "--format", "json"]);
            if h.iter().any(|e| e["run"] == true) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{label}: never marked as run: {h:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(memory(&t).is_empty(), "{label}: {:?}", memory(&t));
    }
}

/// ` # instruction` after the offered command, then the key: the binary gets
/// the instruction, the command and the original request, and the line gets
/// the revised command. The key on that unchanged result still asks for an
/// alternative; an empty instruction gets a hint and no call.
#[test]
fn widget_refines_the_command_in_place() {
    for shell in shells("widget_refines_the_command_in_place") {
        for keymap in EMACS_AND_VI {
            let t = TestDir::new();
            let (wrapper, log) = wrapper(&t, None);
            let rc = shell.set_global("__cmdai_bin", wrapper.to_str().unwrap());
            let s = Session::start(
                &t,
                shell,
                keymap,
                &mock(r#"{"cmd": "find . -type f"}"#),
                &rc,
            );
            let label = s.label();
            s.ask("find the files");
            s.wait_for("the command", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some("find . -type f")
            });
            wait_calls(&log, 1, &label);
            s.send_text(" # ");
            s.wait_for("an empty instruction", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some("find . -type f #")
            });
            s.send_keys(&["C-g"]);
            s.wait_for("the hint", MOCK_TIMEOUT, |sc| {
                sc.has_line_starting("cmdai: write what to change after")
            });
            s.send_text("only .log files");
            let typed = "find . -type f # only .log files";
            s.wait_for("the instruction", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some(typed)
            });
            s.send_keys(&["C-g"]);
            let c = wait_calls(&log, 2, &label);
            assert_eq!(
                c[1],
                "call <--widget> <--refine=only .log files> <--previous=find . -type f> <--> <find the files>",
                "{label}"
            );
            s.wait_for("the revised command", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some("find . -type f")
            });
            s.send_keys(&["C-g"]);
            let c = wait_calls(&log, 3, &label);
            assert_eq!(
                c[2], "call <--widget> <--avoid> <find . -type f> <--> <find the files>",
                "{label}"
            );
            assert_eq!(calls(&log).len(), 3, "{label}: {:?}", calls(&log));
        }
    }
}

/// A refine that fails leaves the line as the user typed it.
#[test]
fn widget_refine_failure_leaves_the_line() {
    for shell in shells("widget_refine_failure_leaves_the_line") {
        let t = TestDir::new();
        // Succeeds for the request, fails (exit 4) for the refine.
        let path = t.path("cmdai-refine-fails");
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do case $a in --refine=*) echo 'cmdai: no usable command came back' >&2; exit 4;; esac; done\nexec {} \"$@\"\n",
            sh_quote(BIN)
        );
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rc = shell.set_global("__cmdai_bin", path.to_str().unwrap());
        let s = Session::start(&t, shell, Keymap::Emacs, &mock(r#"{"cmd": "ls -la"}"#), &rc);
        s.ask("list the files");
        s.wait_for("the command", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some("ls -la")
        });
        let typed = "ls -la # newest first";
        s.send_text(" # newest first");
        s.wait_for("the instruction", MOCK_TIMEOUT, |sc| {
            sc.buffer() == Some(typed)
        });
        s.send_keys(&["C-g"]);
        let sc = s.wait_for("the failure and the line unchanged", MOCK_TIMEOUT, |sc| {
            sc.has_line_starting("cmdai: no usable command") && sc.buffer() == Some(typed)
        });
        assert!(
            !sc.0.contains('⏳'),
            "{}: progress left:\n{}",
            s.label(),
            sc.0
        );
        no_temp_files_left(&t, &s.label());
    }
}

/// Alt-E prints the explanation of the line above the prompt and leaves the
/// line as it was; on an empty line it gives a hint and calls nothing.
#[test]
fn widget_alt_e_explains_the_line() {
    for shell in shells("widget_alt_e_explains_the_line") {
        for keymap in EMACS_AND_VI {
            let t = TestDir::new();
            let (wrapper, log) = wrapper(&t, None);
            let rc = shell.set_global("__cmdai_bin", wrapper.to_str().unwrap());
            let mut env = mock(r#"{"cmd": "ls"}"#);
            env.push((
                "CMDAI_MOCK_EXPLAIN",
                "MOCK-EXPLANATION lists the files, long format".into(),
            ));
            let s = Session::start(&t, shell, keymap, &env, &rc);
            let label = s.label();
            let line = "ls -la /tmp";
            s.send_text(line);
            s.wait_for("the line", MOCK_TIMEOUT, |sc| sc.buffer() == Some(line));
            s.send_keys(&["M-e"]);
            let sc = s.wait_for("the explanation and the line", MOCK_TIMEOUT, |sc| {
                sc.has_line_starting("MOCK-EXPLANATION lists the files")
                    && sc.has_line_starting("Safety: ")
                    && sc.buffer() == Some(line)
            });
            let lines: Vec<_> = sc.0.lines().collect();
            let said = lines
                .iter()
                .position(|l| l.starts_with("MOCK-EXPLANATION"))
                .unwrap();
            let prompt_at = lines.iter().rposition(|l| l.starts_with("PROMPT")).unwrap();
            assert!(said < prompt_at, "{label}: not above the prompt:\n{}", sc.0);
            assert_eq!(
                calls(&log),
                vec!["call <explain> <--> <ls -la /tmp>".to_string()],
                "{label}"
            );
            // Still the same line, still editable.
            s.send_text(" x");
            s.wait_for("typing after Alt-E", MOCK_TIMEOUT, |sc| {
                sc.buffer() == Some("ls -la /tmp x")
            });
            s.send_keys(&["C-u"]);
            s.wait_for("an empty line", MOCK_TIMEOUT, |sc| sc.buffer() == Some(""));
            s.send_keys(&["M-e"]);
            s.wait_for("the hint and an empty line", MOCK_TIMEOUT, |sc| {
                sc.has_line_starting("cmdai: put a command on the line first")
                    && sc.buffer() == Some("")
            });
            assert_eq!(calls(&log).len(), 1, "{label}: {:?}", calls(&log));
        }
    }
}

// ---------------------------------------------------------------------------
// Widget with the real model

/// The real model through a warm daemon: "find large files" becomes a `find`
/// or `du` command on the line.
fn real_model_widget(shell: Sh) {
    if !shells("real_model_widget").contains(&shell) {
        return;
    }
    let t = TestDir::new();
    t.with_real_model();
    // Warm the daemon: it loads the model once, the widget's call reuses it.
    let started = Instant::now();
    let mut c = t.cmd();
    c.env("CMDAI_NO_RESPONSE_CACHE", "1")
        .args(["list", "files"]);
    let r = run(c);
    assert_eq!(r.code, 0, "warming the daemon: {}", r.stderr);
    assert!(
        t.socket().exists(),
        "no daemon after the first request: {}",
        r.stderr
    );
    eprintln!(
        "{}: daemon warm in {} ms",
        shell.name(),
        started.elapsed().as_millis()
    );

    let env = [
        ("CMDAI_NO_RESPONSE_CACHE", "1".to_string()),
        ("CMDAI_OFFLINE", "1".to_string()),
    ];
    let s = Session::start(&t, shell, Keymap::Emacs, &env, "");
    let request = "find large files";
    let sent = s.ask(request);
    let sc = s.wait_for("a command from the model", MODEL_TIMEOUT, |sc| {
        sc.buffer()
            .is_some_and(|b| !b.is_empty() && b != request && !b.contains('⏳'))
            || sc.has_line_starting("cmdai: ")
    });
    let line = sc.buffer().unwrap_or_default();
    eprintln!(
        "{}: real-model round trip {} ms: {line}",
        s.label(),
        sent.elapsed().as_millis()
    );
    let words: Vec<_> = line
        .split(|c: char| c.is_whitespace() || "|;&()".contains(c))
        .collect();
    assert!(
        words.contains(&"find") || words.contains(&"du"),
        "{}: expected a find or du command, got {line:?}:\n{}",
        s.label(),
        sc.0
    );
    no_temp_files_left(&t, &s.label());
}

#[test]
fn real_model_widget_zsh() {
    real_model_widget(Sh::Zsh);
}

#[test]
fn real_model_widget_bash() {
    real_model_widget(Sh::Bash);
}

#[test]
fn real_model_widget_fish() {
    real_model_widget(Sh::Fish);
}
