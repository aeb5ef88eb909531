//! `cmdai uninstall`: the clean way out, whichever way cmdai came in
//! (`./install.sh --uninstall` runs it too).
//!
//! Why it exists: cmdai spreads over several places (the binary, a block in
//! an rc file, a 1 GB model, prompt state, caches, history, memory, config,
//! the daemon's socket folder), and finding them all by hand is a chore.
//!
//! It lists each place with its size, asks (or takes `--yes`; with no
//! terminal to ask on it removes nothing without `--yes`), stops the daemon,
//! then removes them. It removes only what cmdai made: the rc block is found
//! by its first and last lines ([`BLOCK_START`], [`BLOCK_END`]; `install.sh`
//! writes them) and everything else in the rc file stays byte for byte; a
//! folder is emptied only when its name says it is cmdai's (`cmdai`,
//! `cmdai-…`), so a `CMDAI_*_DIR` pointed at a shared folder is left alone
//! with a line saying so. `--keep-models` keeps the cache's `models/`.
//! Running it again finds nothing and says so.

use crate::cli::UninstallArgs;
use crate::daemon::client::{connect_existing, ClientError, Connection};
use crate::error::{exit, CliError, Result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The first line of the block `install.sh` writes into an rc file; followed
/// by ` created` when the rc file did not exist before (then the file goes
/// too, if nothing else was added to it).
pub const BLOCK_START: &str = "# >>> cmdai >>>";
/// The block's last line.
pub const BLOCK_END: &str = "# <<< cmdai <<<";
/// What follows [`BLOCK_START`] when `install.sh` created the rc file.
const CREATED: &str = " created";
/// The comment that older `install.sh` versions wrote before their one line
/// (`eval "$(… cmdai init bash)"` or `… cmdai init fish | source`).
const LEGACY_COMMENT: &str =
    "# cmdai: press Ctrl-G to turn the words on your command line into a command";

pub fn run(args: &UninstallArgs) -> Result<i32> {
    let plan = Plan::build(args.keep_models);
    let mut out = String::new();
    plan.describe(&mut out);
    crate::output::out(out.as_bytes());
    if plan.items.is_empty() {
        return Ok(exit::OK);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return Err(CliError::usage(
                "nothing was removed: there is no terminal to ask on, so run `cmdai uninstall --yes` to remove the above",
            ));
        }
        let ok = dialoguer::Confirm::new()
            .with_prompt("Remove all of the above?")
            .default(false)
            .interact()
            .map_err(|_| CliError::interrupted())?;
        if !ok {
            crate::outln!("nothing was removed");
            return Ok(exit::OK);
        }
    }
    let kept = plan.kept.first().map(|k| k.path.clone());
    let failures = plan.carry_out();
    for f in &failures {
        eprintln!("cmdai: {f}");
    }
    if !failures.is_empty() {
        return Ok(exit::FAILURE);
    }
    if let Some(models) = kept {
        crate::outln!(
            "the models stay in {} (delete it when you no longer want them)",
            models.display()
        );
    }
    crate::outln!("cmdai is uninstalled; open a new shell to drop its Ctrl-G key from this one");
    Ok(exit::OK)
}

/// What removing one thing means.
enum Action {
    /// Stop the daemon (before its folder goes).
    StopDaemon(Box<Connection>),
    /// Write the rc file back without cmdai's lines (or delete it).
    Rc(Stripped),
    /// Delete a file, a link (never what it points to) or a folder.
    Remove,
}

struct Item {
    what: &'static str,
    path: PathBuf,
    /// Bytes on disk (folders summed, links not followed); none for a daemon
    /// or an rc block.
    size: Option<u64>,
    action: Action,
}

#[derive(Default)]
struct Plan {
    items: Vec<Item>,
    /// Kept with `--keep-models`.
    kept: Vec<Item>,
    /// Left alone, with why and what to do instead.
    notes: Vec<String>,
    /// cmdai's own folders, removed at the end when they are empty.
    folders: Vec<PathBuf>,
}

impl Plan {
    fn build(keep_models: bool) -> Plan {
        let mut plan = Plan::default();
        plan.daemon();
        for rc in rc_files() {
            plan.rc_file(rc);
        }
        plan.folder(
            crate::paths::cache_dir(),
            "CMDAI_CACHE_DIR",
            |name| match name {
                "models" => "models",
                "prompt-state" => "prompt state",
                "responses" => "response cache",
                "daemon.log" => "daemon log",
                _ => "cache",
            },
            keep_models,
        );
        plan.folder(
            crate::paths::data_dir(),
            "CMDAI_DATA_DIR",
            |name| match name {
                "history.jsonl" => "history",
                "memory.jsonl" => "memory",
                _ => "data",
            },
            false,
        );
        plan.folder(
            crate::paths::config_dir(),
            "CMDAI_CONFIG_DIR",
            |_| "config",
            false,
        );
        plan.folder(
            crate::daemon::socket_dir(),
            "CMDAI_SOCKET_DIR",
            |_| "daemon socket",
            false,
        );
        plan.binaries();
        plan
    }

    fn daemon(&mut self) {
        match connect_existing() {
            Ok(conn) => self.items.push(Item {
                what: "daemon",
                path: crate::daemon::socket_path(),
                size: None,
                action: Action::StopDaemon(Box::new(conn)),
            }),
            Err(ClientError::NotRunning) => {}
            Err(e) => self
                .notes
                .push(format!("the daemon could not be asked to stop ({e})")),
        }
    }

    fn rc_file(&mut self, rc: PathBuf) {
        let Ok(text) = std::fs::read(&rc) else {
            return;
        };
        let stripped = strip_rc(&text);
        if stripped.unterminated {
            self.notes.push(format!(
                "{} has a line `{BLOCK_START}` without `{BLOCK_END}` after it, so it is left as it is; delete cmdai's lines there yourself",
                rc.display()
            ));
        }
        if stripped.lines > 0 {
            self.items.push(Item {
                what: if stripped.delete {
                    "rc file"
                } else {
                    "rc block"
                },
                path: rc,
                size: None,
                action: Action::Rc(stripped),
            });
        }
    }

    /// Each entry of one of cmdai's folders, named by `label`.
    fn folder(
        &mut self,
        dir: PathBuf,
        var: &str,
        label: fn(&str) -> &'static str,
        keep_models: bool,
    ) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        if !named_for_cmdai(&dir) {
            self.notes.push(format!(
                "{} ({var}) is not a folder named for cmdai, so it is left alone; delete cmdai's files in it yourself",
                dir.display()
            ));
            return;
        }
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let what = label(&path.file_name().unwrap_or_default().to_string_lossy());
            let item = Item {
                what,
                size: Some(disk_size(&path)),
                path,
                action: Action::Remove,
            };
            if keep_models && what == "models" {
                self.kept.push(item);
            } else {
                self.add(item);
            }
        }
        self.folders.push(dir);
    }

    /// The binary `install.sh` put in its folder, and this one unless cargo
    /// manages it or it is a build output.
    fn binaries(&mut self) {
        let installed = install_dir().map(|d| d.join("cmdai"));
        if let Some(p) = installed.as_ref().filter(|p| p.symlink_metadata().is_ok()) {
            self.add(Item {
                what: "binary",
                size: Some(disk_size(p)),
                path: p.clone(),
                action: Action::Remove,
            });
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let same = |p: &PathBuf| p == &exe || std::fs::canonicalize(p).is_ok_and(|c| c == exe);
        if installed.as_ref().is_some_and(same) {
            return;
        }
        if cargo_bin_dir().is_some_and(|d| exe.parent() == Some(d.as_path())) {
            self.notes.push(format!(
                "{} was installed by cargo: `cargo uninstall cmdai` removes it (and cargo's record of it)",
                exe.display()
            ));
        } else if is_build_output(&exe) {
            self.notes.push(format!(
                "{} is a build output in cargo's target folder, so it is left alone",
                exe.display()
            ));
        } else {
            self.add(Item {
                what: "binary",
                size: Some(disk_size(&exe)),
                path: exe,
                action: Action::Remove,
            });
        }
    }

    /// Adds an item unless it, or a folder holding it, is already listed
    /// (the data and config folders may be one folder).
    fn add(&mut self, item: Item) {
        let listed =
            |i: &Item| matches!(i.action, Action::Remove) && item.path.starts_with(&i.path);
        if !self.items.iter().any(listed) {
            self.items.push(item);
        }
    }

    fn describe(&self, out: &mut String) {
        use std::fmt::Write;
        let line = |out: &mut String, i: &Item| {
            let detail = match (&i.action, i.size) {
                (Action::StopDaemon(c), _) => format!(" (pid {}, stopped first)", c.info.pid),
                (Action::Rc(s), _) if s.delete => {
                    " (install.sh created it; nothing else is in it)".into()
                }
                (Action::Rc(s), _) => {
                    format!(" ({} lines; your own lines stay as they are)", s.lines)
                }
                (_, Some(bytes)) => format!(" ({})", indicatif::HumanBytes(bytes)),
                (_, None) => String::new(),
            };
            let _ = writeln!(out, "  {:<15} {}{detail}", i.what, i.path.display());
        };
        if self.items.is_empty() {
            out.push_str("nothing of cmdai's is left to remove\n");
        } else {
            out.push_str("cmdai uninstall removes:\n");
            for i in &self.items {
                line(out, i);
            }
            let total: u64 = self.items.iter().filter_map(|i| i.size).sum();
            let _ = writeln!(out, "  {:<15} {}", "total", indicatif::HumanBytes(total));
        }
        if !self.kept.is_empty() {
            out.push_str("kept (--keep-models):\n");
            for i in &self.kept {
                line(out, i);
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
    }

    /// Removes everything listed, the daemon first and the binaries last;
    /// returns one sentence per failure.
    fn carry_out(self) -> Vec<String> {
        let mut failures = Vec::new();
        for item in self.items {
            let path = item.path.display().to_string();
            let result = match item.action {
                Action::StopDaemon(conn) => stop_daemon(*conn),
                Action::Rc(s) if s.delete => std::fs::remove_file(&item.path),
                // Written in place, so a linked rc file stays a link and keeps its mode.
                Action::Rc(s) => std::fs::write(&item.path, &s.text),
                Action::Remove => remove(&item.path),
            };
            match result {
                Ok(()) => crate::outln!("removed {} {path}", item.what),
                Err(e) => failures.push(format!("could not remove the {} {path}: {e}", item.what)),
            }
        }
        for dir in self.folders {
            // Fails, as it should, while something kept (models) is inside.
            let _ = std::fs::remove_dir(dir);
        }
        failures
    }
}

/// Asks the daemon to stop and waits until its process has gone, so that
/// nothing it writes on the way out lands after its folders are removed.
fn stop_daemon(conn: Connection) -> std::io::Result<()> {
    let pid = conn.info.pid;
    conn.shutdown()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_alive(pid) {
        if Instant::now() > deadline {
            return Err(std::io::Error::other(format!(
                "it did not stop within 10 s; `kill {pid}` and run this again"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Whether `pid` still runs (a zombie waiting for its parent has stopped).
fn process_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None).is_err() {
        return false;
    }
    // /proc/PID/stat: "pid (comm) S ...": the state follows the last ')'.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_none_or(|zombie| !zombie)
}

/// Deletes a file, link or folder; one already gone (the daemon's socket
/// after it stopped) is fine.
fn remove(path: &Path) -> std::io::Result<()> {
    // symlink_metadata: a link is removed itself, never followed.
    let result = match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Bytes a file or folder takes (links counted as themselves, not followed).
fn disk_size(path: &Path) -> u64 {
    let Ok(meta) = path.symlink_metadata() else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path).map_or(0, |entries| {
        entries
            .filter_map(|e| e.ok())
            .map(|e| disk_size(&e.path()))
            .sum()
    })
}

/// cmdai's default folders are all named `cmdai` or `cmdai-…`.
fn named_for_cmdai(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "cmdai" || n.starts_with("cmdai-"))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Where `install.sh` puts the binary: `CMDAI_INSTALL_DIR`, else `~/.local/bin`.
fn install_dir() -> Option<PathBuf> {
    match crate::settings::INSTALL_DIR.env() {
        Some(d) => Some(d),
        None => home().map(|h| h.join(".local/bin")),
    }
}

/// Whether `exe` lies in a cargo target folder: its folder is a profile
/// folder (cargo keeps `deps` and `.fingerprint` beside the binaries it
/// links), or a folder above it is tagged CACHEDIR.TAG. The tag alone is not
/// enough: cargo writes it only when it creates the target folder itself,
/// and a script that made `target/` first (a venv kept there) leaves none.
fn is_build_output(exe: &Path) -> bool {
    let profile = exe.parent();
    let cargo_layout =
        profile.is_some_and(|d| d.join("deps").is_dir() && d.join(".fingerprint").is_dir());
    cargo_layout
        || exe
            .ancestors()
            .skip(1)
            .take(3)
            .any(|a| a.join("CACHEDIR.TAG").is_file())
}

/// `$CARGO_HOME/bin`, else `~/.cargo/bin`.
fn cargo_bin_dir() -> Option<PathBuf> {
    match std::env::var_os("CARGO_HOME").filter(|d| !d.is_empty()) {
        Some(d) => Some(PathBuf::from(d).join("bin")),
        None => home().map(|h| h.join(".cargo/bin")),
    }
}

/// The rc files `install.sh` may have written to (bash, zsh, fish), each once.
fn rc_files() -> Vec<PathBuf> {
    let Some(home) = home() else {
        return Vec::new();
    };
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let mut rcs = vec![
        home.join(".bashrc"),
        var("ZDOTDIR")
            .unwrap_or_else(|| home.clone())
            .join(".zshrc"),
        home.join(".zshrc"),
        var("XDG_CONFIG_HOME")
            .unwrap_or_else(|| home.join(".config"))
            .join("fish/config.fish"),
        home.join(".config/fish/config.fish"),
    ];
    let mut seen = Vec::new();
    rcs.retain(|p| {
        let new = !seen.contains(p);
        seen.push(p.clone());
        new
    });
    rcs
}

/// An rc file's bytes without cmdai's lines.
#[derive(Debug, PartialEq, Eq)]
pub struct Stripped {
    pub text: Vec<u8>,
    /// How many lines were taken out (0: the file has none of cmdai's).
    pub lines: usize,
    /// `install.sh` created the file and nothing else is in it: delete it.
    pub delete: bool,
    /// A [`BLOCK_START`] line with no [`BLOCK_END`] after it (left in place).
    pub unterminated: bool,
}

/// Takes out every block from a [`BLOCK_START`] line to the next
/// [`BLOCK_END`] line, and the two lines older installers wrote, with the
/// newline `install.sh` put before each: a blank line before the block, or
/// the end of the user's last line when the file had no final newline.
pub fn strip_rc(text: &[u8]) -> Stripped {
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    let bare = |l: &[u8]| -> Vec<u8> {
        let mut l = l.strip_suffix(b"\n").unwrap_or(l);
        l = l.strip_suffix(b"\r").unwrap_or(l);
        l.to_vec()
    };
    let mut out = Vec::with_capacity(text.len());
    let (mut removed, mut created, mut unterminated) = (0, false, false);
    let mut i = 0;
    while i < lines.len() {
        let line = bare(lines[i]);
        let last = if line.starts_with(BLOCK_START.as_bytes()) {
            let end = lines[i + 1..]
                .iter()
                .position(|l| bare(l) == BLOCK_END.as_bytes())
                .map(|k| i + 1 + k);
            match end {
                Some(_) => created |= line == format!("{BLOCK_START}{CREATED}").as_bytes(),
                None => unterminated = true,
            }
            end
        } else if line == LEGACY_COMMENT.as_bytes()
            && lines.get(i + 1).is_some_and(|l| legacy_load_line(&bare(l)))
        {
            Some(i + 1)
        } else {
            None
        };
        match last {
            Some(last) => {
                let at_end = last + 1 == lines.len();
                if out.ends_with(b"\n\n") || (at_end && out.ends_with(b"\n")) {
                    out.pop();
                }
                removed += last + 1 - i;
                i = last + 1;
            }
            None => {
                out.extend_from_slice(lines[i]);
                i += 1;
            }
        }
    }
    Stripped {
        delete: created && out.is_empty(),
        text: out,
        lines: removed,
        unterminated,
    }
}

/// The line older installers wrote after [`LEGACY_COMMENT`].
fn legacy_load_line(line: &[u8]) -> bool {
    let Ok(line) = std::str::from_utf8(line) else {
        return false;
    };
    (line.starts_with("eval \"$(")
        && (line.ends_with("cmdai init bash)\"") || line.ends_with("cmdai init zsh)\"")))
        || line.ends_with("cmdai init fish | source")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "# >>> cmdai >>>\n# Added by cmdai's install.sh\neval \"$('/x/cmdai' init bash)\"\n# <<< cmdai <<<\n";

    #[test]
    fn a_binary_in_a_cargo_profile_folder_is_a_build_output_without_the_tag() {
        let t = tempfile::tempdir().unwrap();
        let profile = t.path().join("target/debug");
        std::fs::create_dir_all(profile.join("deps")).unwrap();
        let exe = profile.join("cmdai");
        // A folder that only holds the binary is someone's install.
        assert!(!is_build_output(&exe));
        std::fs::create_dir_all(profile.join(".fingerprint")).unwrap();
        assert!(is_build_output(&exe));
        // The tag alone also says so.
        let other = t.path().join("elsewhere/release");
        std::fs::create_dir_all(&other).unwrap();
        assert!(!is_build_output(&other.join("cmdai")));
        std::fs::write(t.path().join("elsewhere/CACHEDIR.TAG"), "").unwrap();
        assert!(is_build_output(&other.join("cmdai")));
    }

    #[test]
    fn a_block_appended_after_a_final_newline_goes_with_its_blank_line() {
        let user = "alias ll='ls -l'\nexport EDITOR=vi\n";
        let s = strip_rc(format!("{user}\n{BLOCK}").as_bytes());
        assert_eq!(String::from_utf8(s.text).unwrap(), user);
        assert_eq!((s.lines, s.delete, s.unterminated), (4, false, false));
    }

    #[test]
    fn a_file_without_a_final_newline_gets_it_back_without() {
        let user = "alias ll='ls -l'";
        let s = strip_rc(format!("{user}\n{BLOCK}").as_bytes());
        assert_eq!(String::from_utf8(s.text).unwrap(), user);
    }

    #[test]
    fn lines_the_user_added_after_the_block_stay() {
        let before = "a\n";
        let after = "b\n\nc";
        let s = strip_rc(format!("{before}\n{BLOCK}{after}").as_bytes());
        assert_eq!(
            String::from_utf8(s.text).unwrap(),
            format!("{before}{after}")
        );
        // No blank line before the block (the user moved it): no line is joined.
        let s = strip_rc(format!("{before}{BLOCK}{after}").as_bytes());
        assert_eq!(
            String::from_utf8(s.text).unwrap(),
            format!("{before}{after}")
        );
    }

    #[test]
    fn a_file_install_sh_created_is_deleted_only_while_nothing_else_is_in_it() {
        let created = BLOCK.replacen(BLOCK_START, "# >>> cmdai >>> created", 1);
        let s = strip_rc(created.as_bytes());
        assert!(s.delete && s.text.is_empty());
        let s = strip_rc(format!("{created}set -o vi\n").as_bytes());
        assert!(!s.delete);
        assert_eq!(s.text, b"set -o vi\n");
        // An empty file the user had stays, empty.
        let s = strip_rc(BLOCK.as_bytes());
        assert!(!s.delete && s.text.is_empty() && s.lines == 4);
    }

    #[test]
    fn the_older_installers_two_lines_are_removed_and_nothing_like_them() {
        for load in [
            "eval \"$(/root/.local/bin/cmdai init bash)\"",
            "eval \"$(/root/.local/bin/cmdai init zsh)\"",
            "/root/.local/bin/cmdai init fish | source",
        ] {
            let s = strip_rc(format!("x=1\n\n{LEGACY_COMMENT}\n{load}\n").as_bytes());
            assert_eq!(s.text, b"x=1\n", "{load}");
        }
        // The user's own line loading cmdai, without the installer's comment, stays.
        let own = "x=1\neval \"$(cmdai init bash)\"\n";
        let s = strip_rc(own.as_bytes());
        assert_eq!((s.text.as_slice(), s.lines), (own.as_bytes(), 0));
    }

    #[test]
    fn an_unterminated_block_is_left_alone_and_reported() {
        let text = "a\n# >>> cmdai >>>\nexport PATH=/x:$PATH\n";
        let s = strip_rc(text.as_bytes());
        assert_eq!(
            (s.text.as_slice(), s.lines, s.unterminated),
            (text.as_bytes(), 0, true)
        );
    }

    #[test]
    fn crlf_and_non_utf8_bytes_survive() {
        let user: &[u8] = b"caf\xe9=1\r\nb=2\r\n";
        let mut text = user.to_vec();
        text.extend_from_slice(b"\n");
        text.extend_from_slice(BLOCK.as_bytes());
        assert_eq!(strip_rc(&text).text, user);
    }

    #[test]
    fn folders_are_cmdais_by_name() {
        assert!(named_for_cmdai(Path::new("/home/u/.cache/cmdai")));
        assert!(named_for_cmdai(Path::new("/tmp/cmdai-1000")));
        assert!(!named_for_cmdai(Path::new("/home/u")));
        assert!(!named_for_cmdai(Path::new("/srv/cmdaistuff")));
    }
}
