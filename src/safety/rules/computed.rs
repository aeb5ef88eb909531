//! Expansion rules: what runs, or what is destroyed, is only known when the
//! line runs.
//!
//! Why this exists: the expansion pass (`expand.rs`) works out every variable
//! and substitution it can. What is left (`$x` never assigned in the line,
//! `$(cat list)`, `read d`) cannot be read here, so it must not pass as
//! harmless: a computed program name is never safe, a computed name running
//! on `/` or `~` is High, and a computed path handed to a program that
//! deletes or overwrites (`rm -rf "$d"`, `dd of=$dev`) is High, because an
//! empty or unexpected value is how such lines destroy the wrong thing.

use crate::safety::lower::opts;
use crate::safety::parse::Word;
use crate::safety::path_kind::{classify, PathClass};
use crate::safety::programs::is_downloader;
use crate::safety::rules::kit::{is_computed, Cx, Out};
use crate::safety::rules::network;
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;

const CAT: &str = "expansion";

pub(crate) const COMPUTED_PROGRAM: Rule = rule(
    "exp.computed_program",
    Moderate,
    CAT,
    "runs a program whose name is only known when the line runs (a variable or another command's output), so what runs cannot be read here",
);
pub(crate) const COMPUTED_PROGRAM_TARGET: Rule = rule(
    "exp.computed_program_target",
    High,
    CAT,
    "runs a program whose name is only known when the line runs, on the root, a home or a system directory",
);
pub(crate) const COMPUTED_PATH: Rule = rule(
    "exp.computed_path",
    High,
    CAT,
    "deletes or overwrites a path that is only known when the line runs (a variable or another command's output); an empty or unexpected value destroys the wrong files",
);

pub(crate) const RULES: &[Rule] = &[COMPUTED_PROGRAM, COMPUTED_PROGRAM_TARGET, COMPUTED_PATH];

/// Programs that destroy the files or devices named by their operands.
fn destroys_operands(name: &str) -> bool {
    matches!(
        name,
        "rm" | "rmdir"
            | "unlink"
            | "shred"
            | "srm"
            | "wipe"
            | "truncate"
            | "wipefs"
            | "mkswap"
            | "blkdiscard"
            | "mkfs"
    ) || name.starts_with("mkfs.")
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    if is_computed(&c.prog) {
        // `$(curl -s http://x)`: the downloaded text is run as a command.
        if cx.sub_cmds(&c.prog).any(|s| is_downloader(&s.name)) {
            out.add(&network::DOWNLOAD_EXEC, c.prog.span.clone());
        }
        let on_system = c.args.iter().any(|w| {
            !w.text.starts_with('-')
                && matches!(
                    classify(&cx.resolve(c.index, &w.text), cx.ctx),
                    PathClass::Root | PathClass::Home | PathClass::System
                )
        });
        if on_system {
            out.add(&COMPUTED_PROGRAM_TARGET, c.prog.span.clone());
        } else {
            out.add(&COMPUTED_PROGRAM, c.prog.span.clone());
        }
        return;
    }
    let name = c.name.as_str();
    let computed: Vec<&Word> = if destroys_operands(name) {
        let o = opts(
            &c.args,
            "nsx",
            &["iterations", "size", "random-source", "reference"],
        );
        o.operands.into_iter().filter(|w| is_computed(w)).collect()
    } else {
        match name {
            "dd" | "dcfldd" | "dc3dd" => c
                .args
                .iter()
                .filter(|w| w.text.starts_with("of=") && is_computed(w))
                .collect(),
            "chmod" | "chown" | "chgrp" => {
                let o = opts(&c.args, "", &["reference", "from"]);
                if o.has('R') || o.has_long("recursive") {
                    o.operands
                        .into_iter()
                        .skip(1)
                        .filter(|w| is_computed(w))
                        .collect()
                } else {
                    Vec::new()
                }
            }
            "find" => {
                let deletes = c.arg_texts().any(|t| t == "-delete")
                    || c.args.windows(2).any(|p| {
                        crate::find_predicates::runs_command(&p[0].text)
                            && destroys_operands(&crate::safety::programs::prog_name(&p[1].text))
                    });
                if deletes {
                    c.args
                        .iter()
                        .take_while(|w| !w.text.starts_with('-') && w.text != "(" && w.text != "!")
                        .filter(|w| is_computed(w))
                        .collect()
                } else {
                    Vec::new()
                }
            }
            "rsync" => {
                let o = opts(&c.args, "e", &[]);
                let deleting = o.long.iter().any(|(l, _)| l.starts_with("delete"));
                match o.operands.last() {
                    Some(d) if deleting && o.operands.len() >= 2 && is_computed(d) => vec![*d],
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    };
    for w in computed {
        out.add(&COMPUTED_PATH, w.span.clone());
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn computed_program() {
        assert_flags("$CMD --version", "exp.computed_program");
        assert_flags("$(cat cmd.txt) file", "exp.computed_program");
        assert_flags("\"${TOOL}\" --run", "exp.computed_program");
        assert_not_flags("x=ls; $x -la", "exp.computed_program");
        assert_not_flags("$HOME/bin/tool --help", "exp.computed_program");
        assert_not_flags("ls $DIR", "exp.computed_program");
        assert_not_flags("echo '$CMD'", "exp.computed_program");
    }

    #[test]
    fn computed_program_target() {
        assert_flags("$x -rf ~", "exp.computed_program_target");
        assert_flags("$(cat c) -R 777 /etc", "exp.computed_program_target");
        assert_not_flags("$EDITOR notes.txt", "exp.computed_program_target");
        assert_not_flags("x=ls; $x /", "exp.computed_program_target");
    }

    #[test]
    fn computed_path() {
        assert_flags("rm -rf \"$BUILD_DIR\"", "exp.computed_path");
        assert_flags("rm -rf $(cat dirs.txt)", "exp.computed_path");
        assert_flags("shred -u $KEYFILE", "exp.computed_path");
        assert_flags("dd if=/dev/zero of=$DEV", "exp.computed_path");
        assert_flags("chmod -R 777 $TARGET", "exp.computed_path");
        assert_flags("find $ROOT -delete", "exp.computed_path");
        assert_flags("read d; rm -rf $d", "exp.computed_path");
        // A function never called here: its parameter is unknown.
        assert_flags("f(){ rm -rf \"$1\"; }", "exp.computed_path");
        // Called: judged at the call with the argument bound.
        assert_not_flags("f(){ rm -rf \"$1\"; }; f ./build", "exp.computed_path");
        assert_flags("f(){ rm -rf \"$1\"; }; f /", "fs.rm_root");
        assert_not_flags("d=build; rm -rf $d", "exp.computed_path");
        assert_not_flags("rm -rf $HOME/.cache/x", "exp.computed_path");
        assert_not_flags("ls $DIR", "exp.computed_path");
        assert_not_flags("chmod 644 $FILE", "exp.computed_path");
        assert_not_flags("rm -rf '$DIR'", "exp.computed_path");
    }
}
