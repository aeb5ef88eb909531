//! The walk over a command line and every script nested in it.
//!
//! Why this exists: [`assess`] parses a line, expands it as the shell would,
//! lowers each simple command to what really runs, runs the rule catalogue
//! and then descends into nested scripts (`sh -c`, `eval`, interpreter code)
//! with spans mapped back to the original line. It sits above the rules and
//! below `safety/mod.rs` and `request.rs`, which both call it.

use crate::safety::expand;
use crate::safety::lower;
use crate::safety::parse;
use crate::safety::rules;
use crate::safety::rules::kit::{cwd_table, Cx, Out, SpanMap};
use crate::safety::types::{Assessment, Context, Finding, Risk};
use std::collections::HashSet;

/// Assesses a shell command. Never panics; linear in the input size.
pub fn assess(command: &str, ctx: &Context) -> Assessment {
    let mut walk = Walk {
        ctx,
        findings: Vec::new(),
        seen: HashSet::new(),
        // Nested scripts (`sh -c`, `eval`, ...) and expanded versions of the
        // line may re-parse at most a few times the input's size in total,
        // which keeps pathological inputs linear.
        budget: command.len().saturating_mul(4).saturating_add(1 << 16),
    };
    walk.analyze(command, 0, SpanMap::Offset(0), &Scope::default(), true);
    let mut findings = walk.findings;
    findings.sort_by(|a, b| b.risk.cmp(&a.risk).then(a.span.start.cmp(&b.span.start)));
    let risk = findings.iter().map(|f| f.risk).max().unwrap_or(Risk::Safe);
    Assessment { risk, findings }
}

/// What a (nested) script runs with: positional parameters and the
/// variables of the line that runs it.
#[derive(Default)]
struct Scope {
    params: Vec<String>,
    inherited: expand::Inherited,
    /// The line is also judged in its expanded versions: rules that depend
    /// on the value of an expansion (a computed path) are left to those.
    suppress_values: bool,
}

/// The state of one assessment while it walks a line and its nested scripts.
struct Walk<'a> {
    ctx: &'a Context,
    findings: Vec<Finding>,
    seen: HashSet<(&'static str, usize, usize)>,
    budget: usize,
}

impl Walk<'_> {
    /// Parses `src` (a command line or a nested script), expands it as the
    /// shell would (when `expand`), and runs every rule on what would run.
    fn analyze(&mut self, src: &str, depth: usize, map: SpanMap, scope: &Scope, expand: bool) {
        let ctx = self.ctx;
        let script = parse::parse(src, depth);
        let inherited = if expand {
            let (variants, exported) =
                expand::expand(src, &script, depth, ctx, &scope.params, &scope.inherited);
            let total: usize = variants.iter().map(|v| v.text.len()).sum();
            if !variants.is_empty() && total <= self.budget {
                self.budget -= total;
                let inner = Scope {
                    params: scope.params.clone(),
                    inherited: exported.clone(),
                    suppress_values: scope.suppress_values,
                };
                for v in variants {
                    let m = SpanMap::Edited(std::sync::Arc::new((v.maps, map.clone())));
                    self.analyze(&v.text, depth, m, &inner, false);
                }
                // The line as written still shows how it is built (a decoded
                // or downloaded payload run as code), which the expanded
                // versions no longer do.
                let written = Scope {
                    params: scope.params.clone(),
                    inherited: exported,
                    suppress_values: true,
                };
                self.analyze(src, depth, map, &written, false);
                return;
            }
            exported
        } else {
            scope.inherited.clone()
        };
        let unwrapped: Vec<crate::safety::unwrapped::Unwrapped> = (0..script.commands.len())
            .map(|i| lower::unwrap(&script, i))
            .collect();
        let cwd = cwd_table(&script, &unwrapped, ctx);
        let cx = Cx {
            script: &script,
            ctx,
            unwrapped: &unwrapped,
            cwd: &cwd,
            flow: std::cell::OnceCell::new(),
        };
        {
            let mut out = Out {
                findings: &mut self.findings,
                seen: &mut self.seen,
                map: map.clone(),
                suppress_values: scope.suppress_values,
            };
            rules::check_all(&cx, &mut out);
        }
        if depth + 1 >= parse::MAX_DEPTH {
            return;
        }
        let later = rules::later_code(&cx);
        for body in unwrapped
            .iter()
            .flat_map(|u| u.bodies.iter())
            .chain(later.iter())
        {
            {
                if body.text.len() > self.budget {
                    return;
                }
                self.budget -= body.text.len();
                let child = match (&map, body.verbatim) {
                    (SpanMap::Offset(o), true) => src
                        .get(body.span.clone())
                        .and_then(|seg| seg.find(body.text.as_str()))
                        .map(|p| SpanMap::Offset(o + body.span.start + p))
                        .unwrap_or_else(|| SpanMap::Fixed(map.map(body.span.clone()))),
                    _ => SpanMap::Fixed(map.map(body.span.clone())),
                };
                let inner = Scope {
                    params: body.params.clone(),
                    inherited: inherited.clone(),
                    suppress_values: scope.suppress_values,
                };
                self.analyze(&body.text, depth + 1, child, &inner, true);
            }
        }
    }
}
