//! The plumbing every rule file uses: what a rule sees ([`Cx`]), where its
//! findings go ([`Out`], [`SpanMap`]), and where a command writes.
//!
//! Why this exists: `rules/mod.rs` runs every category file, so the helpers
//! those files share cannot live there without each file importing the one
//! that imports it. They live here, below all category files, and
//! `rules/mod.rs` keeps only the dispatch.

use crate::safety::cmd::{Cmd, Unwrapped};
use crate::safety::expand::EditMap;
use crate::safety::parse::{RedirOp, Script, SubKind, Word};
use crate::safety::types::{Context, Finding, Rule};
use std::collections::HashSet;
use std::ops::Range;

/// Everything a rule may look at.
pub(crate) struct Cx<'a> {
    pub script: &'a Script,
    pub ctx: &'a Context,
    /// Unwrapped commands, parallel to `script.commands`.
    pub unwrapped: &'a [Unwrapped],
    /// The working directory each simple command runs in, when an earlier
    /// `cd` in the same line makes it known (`cd / && rm -rf *`).
    pub cwd: &'a [Option<String>],
}

/// Follows `cd`/`pushd` through a script, starting in the request's working
/// directory: the known working directory of each simple command.
pub(crate) fn cwd_table(
    script: &Script,
    unwrapped: &[Unwrapped],
    ctx: &Context,
) -> Vec<Option<String>> {
    let mut cur: Option<String> = ctx.cwd.clone();
    let mut table = Vec::with_capacity(script.commands.len());
    for u in unwrapped {
        table.push(cur.clone());
        for c in &u.cmds {
            if c.name == "cd" || c.name == "pushd" {
                let arg = c
                    .args
                    .iter()
                    .map(|w| w.text.as_str())
                    .find(|t| !t.starts_with('-') || *t == "-");
                cur = match arg {
                    None => Some("~".into()),
                    Some("-") => None,
                    Some(t)
                        if t.starts_with('/') || t.starts_with('~') || t.starts_with("$HOME") =>
                    {
                        Some(t.to_string())
                    }
                    Some(t) => cur.as_ref().map(|base| format!("{base}/{t}")),
                };
            }
        }
    }
    table
}

impl<'a> Cx<'a> {
    /// Resolves a path argument of simple command `idx` against a known
    /// working directory (`$PWD` too); absolute, home and other variable
    /// paths are unchanged.
    pub(crate) fn resolve(&self, idx: usize, t: &str) -> String {
        let Some(Some(cwd)) = self.cwd.get(idx) else {
            return t.to_string();
        };
        for pwd in ["$PWD", "${PWD}"] {
            if let Some(rest) = t.strip_prefix(pwd) {
                if rest.is_empty() || rest.starts_with('/') {
                    return format!("{cwd}{rest}");
                }
            }
        }
        if t.starts_with('/') || t.starts_with('~') || t.starts_with('$') || t.is_empty() {
            t.to_string()
        } else {
            format!("{cwd}/{t}")
        }
    }

    /// All effective commands, in order.
    pub(crate) fn cmds(&self) -> impl Iterator<Item = &'a Cmd> {
        self.unwrapped.iter().flat_map(|u| u.cmds.iter())
    }

    /// Effective commands of the simple commands in `range`.
    pub(crate) fn cmds_in(&self, range: Range<usize>) -> impl Iterator<Item = &'a Cmd> {
        let end = range.end.min(self.unwrapped.len());
        let start = range.start.min(end);
        self.unwrapped[start..end]
            .iter()
            .flat_map(|u| u.cmds.iter())
    }

    /// The effective commands of the command piped into simple command `idx`.
    pub(crate) fn upstream(&self, idx: usize) -> impl Iterator<Item = &'a Cmd> {
        let prev = self.script.pipe_prev(idx);
        let unwrapped = self.unwrapped;
        prev.into_iter().flat_map(move |p| unwrapped[p].cmds.iter())
    }

    /// Commands in substitutions of `w` whose value the word is (`$(..)`,
    /// `` `..` ``, `<(..)` at the start of the word).
    pub(crate) fn sub_cmds<'w>(&'w self, w: &'w Word) -> impl Iterator<Item = &'a Cmd> + 'w {
        let leading = w.text.starts_with("$(")
            || w.text.starts_with('`')
            || w.text.starts_with("<(")
            || w.text.starts_with("\"$(");
        w.subs
            .iter()
            .filter(move |s| leading || s.kind == SubKind::ProcessIn)
            .flat_map(move |s| self.cmds_in(s.cmds.clone()))
    }
}

/// Maps spans of a nested script back into the original command.
#[derive(Debug, Clone)]
pub(crate) enum SpanMap {
    Offset(usize),
    Fixed(Range<usize>),
    /// An expanded version of a line: its edit maps (in order), then the
    /// map of the line it was expanded from.
    Edited(std::sync::Arc<(Vec<EditMap>, SpanMap)>),
}

impl SpanMap {
    pub(crate) fn map(&self, r: Range<usize>) -> Range<usize> {
        match self {
            SpanMap::Offset(o) => r.start + o..r.end + o,
            SpanMap::Fixed(f) => f.clone(),
            SpanMap::Edited(e) => {
                let (maps, parent) = &**e;
                let r = maps.iter().fold(r, |r, m| m.map(r));
                parent.map(r)
            }
        }
    }
}

/// Collects findings.
pub(crate) struct Out<'a> {
    pub findings: &'a mut Vec<Finding>,
    pub seen: &'a mut HashSet<(&'static str, usize, usize)>,
    pub map: SpanMap,
    /// Drop findings that depend on what an expansion holds (the line is
    /// judged in its expanded versions too).
    pub suppress_values: bool,
}

/// Rules whose finding depends on the value of an expansion.
const VALUE_RULES: &[&str] = &[
    "exp.computed_program",
    "exp.computed_program_target",
    "exp.computed_path",
    "fs.rm_var_path",
];

impl Out<'_> {
    pub(crate) fn add(&mut self, rule: &'static Rule, span: Range<usize>) {
        if self.suppress_values && VALUE_RULES.contains(&rule.id) {
            return;
        }
        let span = self.map.map(span);
        if self.seen.insert((rule.id, span.start, span.end)) {
            self.findings.push(Finding {
                rule_id: rule.id,
                risk: rule.risk,
                span,
                explanation: rule.explanation.to_string(),
            });
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMode {
    /// Replaces the content (`>`, `tee`, `cp` onto it, `truncate`).
    Truncate,
    /// Adds to the end (`>>`, `tee -a`).
    Append,
}

/// A file the command writes to.
#[derive(Debug, Clone)]
pub(crate) struct WriteTarget {
    pub path: String,
    pub span: Range<usize>,
    pub mode: WriteMode,
    /// The program doing the write (`""` for a redirection).
    pub tool: &'static str,
}

/// Where simple command `idx` writes: redirections, `tee`, `cp`/`mv`/`install`
/// destinations and `truncate`.
pub(crate) fn write_targets(cx: &Cx, idx: usize) -> Vec<WriteTarget> {
    let sc = &cx.script.commands[idx];
    let mut v = Vec::new();
    for r in &sc.redirects {
        if r.writes() && r.fd.is_none_or(|fd| fd != 0) {
            v.push(WriteTarget {
                path: r.target.text.clone(),
                span: r.span.clone(),
                mode: if r.op == RedirOp::Append {
                    WriteMode::Append
                } else {
                    WriteMode::Truncate
                },
                tool: "",
            });
        }
    }
    for c in &cx.unwrapped[idx].cmds {
        match c.name.as_str() {
            "tee" => {
                let o = crate::safety::command::opts(&c.args, "", &[]);
                let mode = if o.has('a') || o.has_long("append") {
                    WriteMode::Append
                } else {
                    WriteMode::Truncate
                };
                for w in o.operands {
                    v.push(WriteTarget {
                        path: w.text.clone(),
                        span: c.span.clone(),
                        mode,
                        tool: "tee",
                    });
                }
            }
            "dd" | "dcfldd" | "dc3dd" => {
                for w in &c.args {
                    if let Some(of) = w.text.strip_prefix("of=") {
                        v.push(WriteTarget {
                            path: of.to_string(),
                            span: w.span.clone(),
                            mode: WriteMode::Truncate,
                            tool: "dd",
                        });
                    }
                }
            }
            "cp" | "mv" | "install" | "rsync" | "truncate" => {
                let o = crate::safety::command::opts(
                    &c.args,
                    "stSmogb",
                    &[
                        "target-directory",
                        "size",
                        "suffix",
                        "mode",
                        "owner",
                        "group",
                    ],
                );
                let targets: Vec<&Word> = if c.name == "truncate" {
                    if !truncate_destroys_args(&c.args) {
                        continue;
                    }
                    o.operands.clone()
                } else {
                    o.operands
                        .last()
                        .copied()
                        .into_iter()
                        .filter(|_| o.operands.len() >= 2)
                        .collect()
                };
                for w in targets {
                    v.push(WriteTarget {
                        path: w.text.clone(),
                        span: w.span.clone(),
                        mode: WriteMode::Truncate,
                        tool: match c.name.as_str() {
                            "truncate" => "truncate",
                            "rsync" => "rsync",
                            _ => "cp",
                        },
                    });
                }
            }
            _ => {}
        }
    }
    v
}

/// Whether `truncate`'s size loses data (`-s 0`, `-s -1G`, `--size=<10M`).
pub(crate) fn truncate_destroys<'a>(args: impl Iterator<Item = &'a str>) -> bool {
    let args: Vec<&str> = args.collect();
    let mut size = None;
    for (i, t) in args.iter().enumerate() {
        if *t == "-s" || *t == "--size" {
            size = args.get(i + 1).copied();
        } else if let Some(v) = t.strip_prefix("--size=").or_else(|| t.strip_prefix("-s")) {
            if !v.is_empty() {
                size = Some(v);
            }
        } else if *t == "-r" || t.starts_with("--reference") {
            return true;
        }
    }
    size.is_some_and(|s| {
        s.trim_start_matches(['0', 'K', 'M', 'G', 'k', 'B'])
            .is_empty()
            && s.starts_with('0')
            || s.starts_with(['-', '<', '/', '%'])
    })
}

/// Whether a `truncate` command's size loses data.
pub(crate) fn truncate_destroys_args(args: &[crate::safety::parse::Word]) -> bool {
    truncate_destroys(args.iter().map(|w| w.text.as_str()))
}

/// Whether the shell computes part of the word when the line runs (beyond
/// `$HOME` and `$PWD`, which the path rules understand).
pub(crate) fn is_computed(w: &Word) -> bool {
    if !w.dynamic {
        return false;
    }
    let mut t = w.text.clone();
    for known in ["${HOME}", "$HOME", "${PWD}", "$PWD"] {
        t = t.replace(known, "");
    }
    t.contains('$') || t.contains('`') || t.contains("<(")
}
