//! The plumbing every rule file uses: what a rule sees ([`Cx`]), where its
//! findings go ([`Out`], [`SpanMap`]), and where a command writes.
//!
//! Why this exists: `rules/mod.rs` runs every category file, so the helpers
//! those files share cannot live there without each file importing the one
//! that imports it. They live here, below all category files, and
//! `rules/mod.rs` keeps only the dispatch.

use crate::safety::expand::EditMap;
use crate::safety::parse::{Script, SubKind, Word};
pub(crate) use crate::safety::rules::flow::{truncate_destroys, WriteMode, WriteTarget};
use crate::safety::rules::flow::{Flow, Line};
use crate::safety::types::{Context, Finding, Rule};
use crate::safety::unwrapped::{Cmd, Unwrapped};
use std::cell::OnceCell;
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
    /// The line's data flow, worked out when a rule first asks.
    pub flow: OnceCell<Flow>,
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
    /// The parts of the line the data flow reads.
    pub(crate) fn line(&self) -> Line<'a> {
        Line {
            script: self.script,
            unwrapped: self.unwrapped,
            cwd: self.cwd,
            ctx: self.ctx,
        }
    }

    /// Where data goes in this line (files written, secrets, downloads).
    pub(crate) fn flow(&self) -> &Flow {
        self.flow.get_or_init(|| Flow::build(&self.line()))
    }

    /// Resolves a path argument of simple command `idx` against a known
    /// working directory (`$PWD` too); absolute, home and other variable
    /// paths are unchanged.
    pub(crate) fn resolve(&self, idx: usize, t: &str) -> String {
        self.line().resolve(idx, t)
    }

    /// Every effective command before simple command `idx` in its pipeline.
    pub(crate) fn before_in_pipeline(&self, idx: usize) -> impl Iterator<Item = &'a Cmd> {
        let s = self.script;
        let p: &'a [usize] = s
            .pipelines
            .get(s.commands[idx].pipeline)
            .map_or(&[][..], |p| p.as_slice());
        let end = p.iter().position(|&i| i == idx).unwrap_or(0);
        let unwrapped = self.unwrapped;
        p[..end].iter().flat_map(move |&i| unwrapped[i].cmds.iter())
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
    "persist.keys_added",
];

impl Out<'_> {
    pub(crate) fn add(&mut self, rule: &'static Rule, span: Range<usize>) {
        self.add_note(rule, span, rule.explanation.to_string());
    }

    /// A finding whose explanation names what this command does (the file,
    /// the host, the scope) instead of the rule's general sentence.
    pub(crate) fn add_note(
        &mut self,
        rule: &'static Rule,
        span: Range<usize>,
        explanation: String,
    ) {
        if self.suppress_values && VALUE_RULES.contains(&rule.id) {
            return;
        }
        let span = self.map.map(span);
        if self.seen.insert((rule.id, span.start, span.end)) {
            self.findings.push(Finding {
                rule_id: rule.id,
                risk: rule.risk,
                span,
                explanation,
            });
        }
    }
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
