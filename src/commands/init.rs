//! `cmdai init <shell>`: prints the shell integration script.
//!
//! The scripts live as real files in `shell/` (so linters and editors see
//! them as shell code) and are built into the binary. Each one holds three
//! placeholders: [`BIN`] for the absolute path of this binary, [`KEY`] for
//! the key to bind and [`EXPLAIN_KEY`] for the one that explains the line
//! (Alt-E, `CMDAI_EXPLAIN_KEY` or `explain_key` in config.toml); `--no-bind` drops the lines between the [`BIND_BEGIN`]
//! and [`BIND_END`] markers. Users load the result with
//! `eval "$(cmdai init zsh)"` (bash likewise) or `cmdai init fish | source`.

use crate::cli::{InitArgs, Shell};
use crate::error::{exit, CliError, Result};

const ZSH: &str = include_str!("../../shell/cmdai.zsh");
const BASH: &str = include_str!("../../shell/cmdai.bash");
const FISH: &str = include_str!("../../shell/cmdai.fish");

/// Stands for the absolute path of the cmdai binary, shell-quoted.
pub const BIN: &str = "__CMDAI_BIN__";
/// Stands for the key to bind, shell-quoted, in the shell's own notation.
pub const KEY: &str = "__CMDAI_KEY__";
/// Stands for the explain key, like [`KEY`].
pub const EXPLAIN_KEY: &str = "__CMDAI_EXPLAIN_KEY__";
/// The line that starts the key-binding section (and the one that ends it).
pub const BIND_BEGIN: &str = "# >>> cmdai key bindings";
pub const BIND_END: &str = "# <<< cmdai key bindings";

fn shell_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Zsh => "zsh",
        Shell::Bash => "bash",
        Shell::Fish => "fish",
    }
}

/// Ctrl-G in the shell's key notation.
fn default_key(shell: Shell) -> &'static str {
    match shell {
        Shell::Zsh => "^G",
        Shell::Bash => r"\C-g",
        Shell::Fish => r"\cg",
    }
}

/// Alt-E in the shell's key notation.
fn default_explain_key(shell: Shell) -> &'static str {
    match shell {
        Shell::Zsh => "^[e",
        Shell::Bash | Shell::Fish => r"\ee",
    }
}

fn template(shell: Shell) -> &'static str {
    match shell {
        Shell::Zsh => ZSH,
        Shell::Bash => BASH,
        Shell::Fish => FISH,
    }
}

/// One word that the shell reads back as exactly `s`.
fn quote(shell: Shell, s: &str) -> String {
    match shell {
        // Inside single quotes nothing is special but the quote itself.
        Shell::Zsh | Shell::Bash => format!("'{}'", s.replace('\'', r"'\''")),
        // fish single quotes also give meaning to `\'` and `\\`.
        Shell::Fish => format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'")),
    }
}

pub fn run(args: &InitArgs) -> Result<i32> {
    let bin = binary_path();
    // `--key`, `CMDAI_KEY`, `key` in config.toml, else Ctrl-G.
    let key = crate::config::key(args.key.as_deref()).value;
    // `CMDAI_EXPLAIN_KEY`, `explain_key` in config.toml, else Alt-E.
    let explain_key = crate::config::explain_key().value;
    let script = render(
        args.shell,
        &bin,
        Keys {
            main: key.as_deref(),
            explain: explain_key.as_deref(),
        },
        args.no_bind,
    )?;
    // `cmdai init zsh | head` is not an error worth a message.
    crate::output::out(script.as_bytes());
    Ok(exit::OK)
}

/// The absolute path of this binary, so the widget calls the same cmdai that
/// printed it whatever PATH says; the bare name if the OS cannot tell.
fn binary_path() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .unwrap_or_else(|| "cmdai".to_owned())
}

/// The keys to bind; `None` is the default (Ctrl-G, Alt-E).
#[derive(Debug, Clone, Copy, Default)]
pub struct Keys<'a> {
    pub main: Option<&'a str>,
    pub explain: Option<&'a str>,
}

/// One clear sentence when a key cannot be bound as given.
fn check_key(shell: Shell, key: &str, how: &str, example: &str) -> Result<()> {
    if key.is_empty() || key.chars().any(char::is_control) {
        return Err(CliError::usage(format!(
            "the key `{}` is not usable; give it in {}'s own notation, e.g. {how}'{example}'",
            key.escape_debug(),
            shell_name(shell),
        )));
    }
    Ok(())
}

/// The script for `shell`, with `bin` and the keys filled in.
pub fn render(shell: Shell, bin: &str, keys: Keys, no_bind: bool) -> Result<String> {
    let key = keys.main.unwrap_or(default_key(shell));
    check_key(shell, key, "--key ", default_key(shell))?;
    let explain_key = keys.explain.unwrap_or(default_explain_key(shell));
    check_key(
        shell,
        explain_key,
        "CMDAI_EXPLAIN_KEY=",
        default_explain_key(shell),
    )?;
    if bin.contains(['\n', '\0']) {
        return Err(CliError::failure(
            "the path of the cmdai binary contains a newline; move cmdai to a plain directory",
        ));
    }
    let template = if no_bind {
        strip_bindings(template(shell))
    } else {
        template(shell).to_owned()
    };
    Ok(template
        .replace(BIN, &quote(shell, bin))
        .replace(EXPLAIN_KEY, &quote(shell, explain_key))
        .replace(KEY, &quote(shell, key)))
}

/// The template without its key-binding section (marker lines included).
fn strip_bindings(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut skipping = false;
    for line in template.split_inclusive('\n') {
        if line.starts_with(BIND_BEGIN) {
            skipping = true;
        } else if skipping && line.starts_with(BIND_END) {
            skipping = false;
        } else if !skipping {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHELLS: [Shell; 3] = [Shell::Zsh, Shell::Bash, Shell::Fish];

    #[test]
    fn templates_have_placeholders_and_one_binding_section() {
        for shell in SHELLS {
            let t = template(shell);
            assert!(t.contains(BIN), "{}", shell_name(shell));
            assert!(t.contains(KEY), "{}", shell_name(shell));
            assert!(t.contains(EXPLAIN_KEY), "{}", shell_name(shell));
            assert_eq!(t.matches(BIND_BEGIN).count(), 1, "{}", shell_name(shell));
            assert_eq!(t.matches(BIND_END).count(), 1, "{}", shell_name(shell));
            assert!(
                t.starts_with('#'),
                "{} starts with a comment",
                shell_name(shell)
            );
        }
    }

    #[test]
    fn placeholders_are_filled_in() {
        for shell in SHELLS {
            let s = render(shell, "/opt/cmdai/bin/cmdai", Keys::default(), false).unwrap();
            assert!(
                !s.contains(BIN) && !s.contains(KEY),
                "{}",
                shell_name(shell)
            );
            assert!(
                s.contains("'/opt/cmdai/bin/cmdai'"),
                "{}",
                shell_name(shell)
            );
            assert!(
                s.contains(&quote(shell, default_key(shell))),
                "{}",
                shell_name(shell)
            );
            assert!(
                s.contains(&quote(shell, default_explain_key(shell))),
                "{}",
                shell_name(shell)
            );
        }
    }

    #[test]
    fn no_bind_drops_the_binding_section_only() {
        for shell in SHELLS {
            let s = render(shell, "/x/cmdai", Keys::default(), true).unwrap();
            assert!(!s.contains(BIND_BEGIN) && !s.contains(BIND_END));
            assert!(!s.contains(KEY) && !s.contains(EXPLAIN_KEY));
            let code = s.lines().filter(|l| !l.trim_start().starts_with('#'));
            assert!(
                code.clone().all(|l| !l.contains("bind")),
                "{}: no binding left",
                shell_name(shell)
            );
            assert!(s.contains("__cmdai_widget"));
            assert!(s.contains("__cmdai_explain_widget"));
        }
    }

    #[test]
    fn quoting_survives_awkward_paths() {
        assert_eq!(quote(Shell::Bash, "/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(quote(Shell::Zsh, "/a/$x"), "'/a/$x'");
        assert_eq!(quote(Shell::Fish, r"/a\b/it's"), r"'/a\\b/it\'s'");
    }

    #[test]
    fn custom_and_bad_keys() {
        let main = |k| Keys {
            main: Some(k),
            explain: None,
        };
        let s = render(Shell::Bash, "/x", main(r"\C-x\C-g"), false).unwrap();
        assert!(s.contains(r"__cmdai_key='\C-x\C-g'"));
        assert!(s.contains(r"__cmdai_explain_key='\ee'"));
        assert!(render(Shell::Zsh, "/x", main(""), false).is_err());
        assert!(render(Shell::Fish, "/x", main("a\nb"), false).is_err());
        let explain = Keys {
            main: None,
            explain: Some("^Xe"),
        };
        let s = render(Shell::Zsh, "/x", explain, false).unwrap();
        assert!(s.contains("__cmdai_explain_key='^Xe'"), "{s}");
        assert!(s.contains("__cmdai_key='^G'"), "{s}");
        let bad = Keys {
            main: None,
            explain: Some("\t"),
        };
        let e = render(Shell::Zsh, "/x", bad, false).unwrap_err();
        assert!(e.to_string().contains("CMDAI_EXPLAIN_KEY="), "{e}");
    }
}
