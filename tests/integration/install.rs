//! The first five minutes and the way out, as a new user meets them, in a
//! throwaway HOME through the real shells.
//!
//! `./install.sh --yes --binary <the built cmdai>` (the packagers' and tests'
//! way to skip the release build), then a NEW interactive bash, zsh or fish
//! (`<shell> -i -c`, which reads the rc file the way a new terminal does)
//! answers `cmdai "find large files"` with the real model, with no hand edit:
//! the rc block put the install folder on PATH. A second install changes
//! nothing. Then the uninstall (by `./install.sh --uninstall` or by the
//! installed `cmdai uninstall`) refuses without a terminal, and with `--yes`
//! stops the daemon and leaves no file or folder named for cmdai and the
//! user's rc file byte for byte as it was (or absent, when install.sh created
//! it); a second uninstall finds nothing. The model comes from the developer's
//! cache through a symlink, so no network is needed.

use crate::util::{real_model, run, skip, Run, MODEL_FILE};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_cmdai");
/// A PATH with the system's tools and no cmdai on it.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn install_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")
}

/// A fresh, container-like HOME (and runtime dir for the daemon's socket).
struct Home {
    dir: tempfile::TempDir,
    shell: &'static str,
    /// Taken by [`Home::with_model`]: one test at a time runs the model.
    model_turn: std::cell::RefCell<Option<crate::util::ModelTurn>>,
}

impl Home {
    fn new(shell: &'static str) -> Home {
        let dir = tempfile::Builder::new()
            .prefix("cmdai-install")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        std::fs::create_dir(dir.path().join("runtime")).unwrap();
        Home {
            dir,
            shell,
            model_turn: Default::default(),
        }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn runtime(&self) -> PathBuf {
        self.dir.path().join("runtime")
    }

    /// The real model where `cmdai model pull` looks (a symlink, not a copy),
    /// and the prompt state shared by the tests of this build.
    fn with_model(&self) -> &Self {
        self.model_turn
            .borrow_mut()
            .get_or_insert_with(crate::util::model_turn);
        let cache = self.home().join(".cache/cmdai");
        std::fs::create_dir_all(cache.join("models")).unwrap();
        std::os::unix::fs::symlink(real_model(), cache.join("models").join(MODEL_FILE)).unwrap();
        let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prompt-state");
        std::fs::create_dir_all(&shared).unwrap();
        std::os::unix::fs::symlink(&shared, cache.join("prompt-state")).unwrap();
        self
    }

    /// A command in this HOME's clean environment, with `path` as PATH.
    fn cmd_with_path(&self, program: impl AsRef<std::ffi::OsStr>, path: &str) -> Command {
        let mut c = Command::new(program);
        c.current_dir(self.home())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.home())
            .env("SHELL", format!("/usr/bin/{}", self.shell))
            .env("XDG_RUNTIME_DIR", self.runtime())
            .env("TERM", "dumb")
            .env("NO_COLOR", "1")
            // install.sh --uninstall's last resort is target/release/cmdai: none here.
            .env("CARGO_TARGET_DIR", self.dir.path().join("no-target"))
            // A daemon a failed test leaves behind goes by itself.
            .env("CMDAI_IDLE_TIMEOUT", "5m")
            .stdin(Stdio::null());
        c
    }

    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.cmd_with_path(program, SYSTEM_PATH)
    }

    fn install(&self, args: &[&str]) -> Run {
        let mut c = self.cmd("sh");
        c.arg(install_sh()).args(["--binary", BIN]).args(args);
        run(c)
    }

    /// `script` in a new interactive shell of this HOME's kind.
    fn new_shell(&self, script: &str) -> Run {
        let mut c = self.cmd(self.shell);
        c.args(["-i", "-c", script]);
        run(c)
    }

    /// `cmdai uninstall --yes` by the built binary (a build output, so it
    /// stays), which must succeed and leave nothing named for cmdai.
    fn uninstall_all(&self) -> Run {
        let mut c = self.cmd(BIN);
        c.args(["uninstall", "--yes"]);
        let r = run(c);
        assert_ok(&r, "cmdai uninstall --yes");
        // Every later test runs this binary: uninstall must know it for a build
        // output even where the target folder has no CACHEDIR.TAG (CI's does not).
        assert!(
            Path::new(BIN).is_file(),
            "cmdai uninstall removed the build output {BIN}\n{}",
            r.stderr
        );
        assert_eq!(self.cmdai_leftovers(), Vec::<PathBuf>::new(), "left behind");
        r
    }

    fn rc(&self) -> PathBuf {
        match self.shell {
            "bash" => self.home().join(".bashrc"),
            "zsh" => self.home().join(".zshrc"),
            _ => self.home().join(".config/fish/config.fish"),
        }
    }

    /// Every file and folder under HOME and the runtime dir whose name says cmdai.
    fn cmdai_leftovers(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if e.file_name().to_string_lossy().contains("cmdai") {
                    found.push(p.clone());
                }
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&p, found);
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.home(), &mut found);
        walk(&self.runtime(), &mut found);
        found
    }
}

impl Drop for Home {
    /// Stops a daemon a failed test may have left.
    fn drop(&mut self) {
        let mut c = self.cmd(BIN);
        c.args(["daemon", "stop"]);
        let _ = c.output();
    }
}

/// Whether `tool` runs (`tool probe...` succeeds); else the test is skipped.
fn installed(tool: &str, probe: &str, test: &str) -> bool {
    let ok = Command::new(tool)
        .args(probe.split(' '))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(test, &format!("{tool} is not installed"));
    }
    ok
}

fn assert_ok(r: &Run, what: &str) {
    assert_eq!(
        r.code, 0,
        "{what}\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
}

/// The whole round trip for one shell; `seed` is the user's rc file before
/// (None: there is none), `uninstall` the ways out to try, in order.
fn round_trip(shell: &'static str, seed: Option<&[u8]>, uninstall: Uninstall) {
    let test = format!("install::{shell}");
    if !installed(shell, "-c true", &test) {
        return;
    }
    let h = Home::new(shell);
    h.with_model();
    if let Some(seed) = seed {
        std::fs::create_dir_all(h.rc().parent().unwrap()).unwrap();
        std::fs::write(h.rc(), seed).unwrap();
    }
    let dest = h.home().join(".local/bin");

    // Before: a new shell does not know cmdai.
    let r = h.new_shell("command -v cmdai");
    assert_ne!(r.code, 0, "cmdai is already on this PATH: {}", r.stdout);

    let r = h.install(&["--yes"]);
    assert_ok(&r, "./install.sh --yes");
    let last = r
        .stderr
        .lines()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        last.contains(&format!("exec {shell}")) && last.contains(&dest.display().to_string()),
        "install.sh's last lines must say what to run in this shell:\n{}",
        r.stderr
    );
    let rc = std::fs::read(h.rc()).unwrap();
    let text = String::from_utf8_lossy(&rc);
    assert_eq!(text.matches("# >>> cmdai >>>").count(), 1, "{text}");
    assert!(
        text.contains(&format!("'{}'", dest.display())),
        "no PATH line:\n{text}"
    );
    if let Some(seed) = seed {
        assert!(rc.starts_with(seed), "the user's lines changed:\n{text}");
    }

    // Again: nothing changes.
    let r = h.install(&["--yes"]);
    assert_ok(&r, "second ./install.sh --yes");
    assert!(
        r.stderr.contains("already has cmdai's block"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read(h.rc()).unwrap(),
        rc,
        "the second install changed the rc file"
    );

    // A new interactive shell: the first request, with the real model.
    let r = h.new_shell("cmdai \"find large files\"");
    assert_ok(&r, &format!("{shell} -i -c 'cmdai \"find large files\"'"));
    let answer = r.stdout.trim();
    assert!(
        answer.starts_with("find ") && !answer.contains('\n'),
        "answer: {answer:?}"
    );
    let r = h.new_shell("type __cmdai_widget");
    assert_ok(&r, "the Ctrl-G widget is loaded");
    assert!(
        h.runtime().join("cmdai/cmdai.sock").exists(),
        "the request started no daemon"
    );

    uninstall.run(&h);

    // Nothing of cmdai's is left, and the user's rc file is as it was.
    assert_eq!(h.cmdai_leftovers(), Vec::<PathBuf>::new(), "left behind");
    match seed {
        Some(seed) => assert_eq!(std::fs::read(h.rc()).unwrap(), seed, "rc not restored"),
        None => assert!(
            !h.rc().exists(),
            "install.sh created {}; it stays",
            h.rc().display()
        ),
    }
    let mut c = h.cmd(BIN);
    c.args(["daemon", "status"]);
    let r = run(c);
    assert!(
        r.stdout.starts_with("not running"),
        "the daemon survived: {}",
        r.stdout
    );

    // Again: nothing to do, nothing changes.
    let mut c = h.cmd(BIN);
    c.args(["uninstall", "--yes"]);
    let r = run(c);
    assert_ok(&r, "second uninstall");
    assert!(
        r.stdout.contains("nothing of cmdai's is left"),
        "{}",
        r.stdout
    );
    assert_eq!(h.cmdai_leftovers(), Vec::<PathBuf>::new());
    if let Some(seed) = seed {
        assert_eq!(std::fs::read(h.rc()).unwrap(), seed);
    }
}

/// Which way out a round trip takes.
enum Uninstall {
    /// `./install.sh --uninstall`: refused without a terminal, then `--yes`.
    Script,
    /// `cmdai uninstall --yes` from a new shell (the binary removes itself).
    FromPath,
    /// `./install.sh --uninstall --yes --keep-models`, then the rest.
    KeepModelsFirst,
}

impl Uninstall {
    fn run(&self, h: &Home) {
        let models = h.home().join(".cache/cmdai/models");
        match self {
            Uninstall::Script => {
                let rc = std::fs::read(h.rc()).unwrap();
                let mut c = h.cmd("sh");
                c.arg(install_sh()).arg("--uninstall");
                let r = run(c);
                assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
                assert!(r.stderr.contains("no terminal") && r.stderr.contains("--yes"));
                assert!(
                    r.stdout.contains("models") && r.stdout.contains("rc block"),
                    "{}",
                    r.stdout
                );
                assert_eq!(
                    std::fs::read(h.rc()).unwrap(),
                    rc,
                    "changed without consent"
                );
                assert!(h.home().join(".local/bin/cmdai").exists());
                let mut c = h.cmd("sh");
                c.arg(install_sh()).args(["--uninstall", "--yes"]);
                assert_ok(&run(c), "./install.sh --uninstall --yes");
            }
            Uninstall::FromPath => {
                let r = h.new_shell("cmdai uninstall --yes");
                assert_ok(&r, "cmdai uninstall --yes");
                for what in [
                    "daemon",
                    "binary",
                    "models",
                    "prompt state",
                    "response cache",
                ] {
                    assert!(
                        r.stdout.contains(&format!("removed {what} ")),
                        "{what}: {}",
                        r.stdout
                    );
                }
            }
            Uninstall::KeepModelsFirst => {
                let mut c = h.cmd("sh");
                c.arg(install_sh())
                    .args(["--uninstall", "--yes", "--keep-models"]);
                let r = run(c);
                assert_ok(&r, "./install.sh --uninstall --yes --keep-models");
                assert!(r.stdout.contains("kept (--keep-models)"), "{}", r.stdout);
                assert!(models.join(MODEL_FILE).exists(), "the model went");
                assert!(!h.home().join(".local/bin/cmdai").exists());
                assert!(!h.home().join(".cache/cmdai/prompt-state").exists());
                // The binary is gone, so the rest goes with the built one.
                let r = h.uninstall_all();
                assert!(r.stdout.contains("removed models "), "{}", r.stdout);
            }
        }
        assert!(
            real_model().is_file(),
            "the developer's own model was touched"
        );
    }
}

#[test]
fn bash_install_then_a_new_shell_answers_and_uninstall_restores_bashrc() {
    let seed = b"# the user's own .bashrc\nalias ll='ls -l'\nexport EDITOR=vi\n";
    round_trip("bash", Some(seed), Uninstall::Script);
}

#[test]
fn zsh_install_creates_zshrc_and_uninstall_deletes_it() {
    round_trip("zsh", None, Uninstall::FromPath);
}

#[test]
fn fish_install_then_uninstall_keeping_models_then_the_rest() {
    // No final newline: it comes back without one.
    round_trip(
        "fish",
        Some(b"set -gx EDITOR vi"),
        Uninstall::KeepModelsFirst,
    );
}

/// `--no-modify-rc`: no rc file is touched, and the last lines say the PATH
/// line for this shell (which works) and the lines to add.
#[test]
fn no_modify_rc_leaves_rc_files_alone_and_says_the_lines() {
    let h = Home::new("bash");
    h.with_model();
    let r = h.install(&["--yes", "--no-modify-rc"]);
    assert_ok(&r, "./install.sh --yes --no-modify-rc");
    assert!(
        !h.rc().exists(),
        "--no-modify-rc wrote {}",
        h.rc().display()
    );
    let export = r
        .stderr
        .lines()
        .map(|l| l.trim_start_matches("install.sh:").trim())
        .find(|l| l.starts_with("export PATH="))
        .unwrap_or_else(|| panic!("no export line:\n{}", r.stderr));
    assert!(r.stderr.contains("add these lines to"), "{}", r.stderr);
    let r = h.new_shell(&format!("{export}; cmdai --version"));
    assert_ok(&r, "the printed export line");
    assert!(r.stdout.starts_with("cmdai "), "{}", r.stdout);
    h.uninstall_all();
}

/// Without a terminal and without --yes the rc file is not changed; with the
/// install folder already on PATH the block holds no PATH line.
#[test]
fn consent_and_a_folder_already_on_path() {
    let h = Home::new("zsh");
    h.with_model();
    let r = h.install(&[]);
    assert_ok(&r, "./install.sh without --yes, no terminal");
    assert!(r.stderr.contains("without --yes"), "{}", r.stderr);
    assert!(!h.rc().exists());
    let dest = h.home().join(".local/bin");
    let path = format!("{}:{SYSTEM_PATH}", dest.display());
    let mut c = h.cmd_with_path("sh", &path);
    c.arg(install_sh()).args(["--binary", BIN, "--yes"]);
    let r = run(c);
    assert_ok(&r, "./install.sh --yes with the folder on PATH");
    let rc = std::fs::read_to_string(h.rc()).unwrap();
    assert!(!rc.contains("PATH"), "{rc}");
    assert!(rc.contains("init zsh"), "{rc}");
    assert!(r.stderr.contains("Try it now"), "{}", r.stderr);
    h.uninstall_all();
}

#[test]
fn install_sh_passes_shellcheck() {
    if !installed(
        "shellcheck",
        "--version",
        "install::install_sh_passes_shellcheck",
    ) {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let r = run({
        let mut c = Command::new("shellcheck");
        c.arg(root.join("install.sh"))
            .arg(root.join("benches/first_answer.sh"));
        c
    });
    assert_ok(&r, "shellcheck install.sh benches/first_answer.sh");
}
