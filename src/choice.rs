//! Choosing one command among the answers the model wrote for a request.
//!
//! At `balanced` and `best` quality ([`crate::quality`]) the engine writes
//! the greedy answer plus alternatives forked where the model was unsure, in
//! parallel sequences. This module picks one: answers that loop
//! ([`crate::engine::runaway`]) or do not parse drop out, then answers the
//! safety validator rates High or worse, then answers that fail the
//! self-check ([`crate::selfcheck::problem_for`]), each while any other
//! remains; and
//! among the rest the one the model itself finds most likely wins (its whole
//! log-likelihood, so the grammar forcing an unlikely token counts against
//! an answer). Measured on the tuning half of the dev sets against voting by
//! agreement between answers (same program and options), which did worse at
//! two to four answers (`benches/results/accuracy.md`).

use crate::engine::{Candidate, Generation};
use crate::parser;

/// The command an answer holds, if it parses.
fn command_of(c: &Candidate) -> Option<String> {
    parser::parse_prefilled(&c.text)
        .ok()
        .map(|p| p.command)
        .filter(|cmd| !cmd.trim().is_empty())
}

/// `pool` narrowed to the entries `keep` accepts, unless it accepts none.
fn prefer<T>(pool: Vec<T>, keep: impl Fn(&T) -> bool) -> Vec<T> {
    if pool.iter().any(&keep) {
        pool.into_iter().filter(|x| keep(x)).collect()
    } else {
        pool
    }
}

/// Index of the answer to keep among `candidates` for `request`; `None` when
/// there are none.
pub fn choose(request: &str, candidates: &[Candidate]) -> Option<usize> {
    if candidates.len() < 2 {
        return (!candidates.is_empty()).then_some(0);
    }
    let ctx = crate::safety::Context::for_user();
    // (index, command, rated High or worse, passes the self-check)
    let mut judged: Vec<(usize, String, bool, bool)> = Vec::with_capacity(candidates.len());
    for (i, c) in candidates.iter().enumerate().filter(|(_, c)| !c.runaway) {
        let Some(cmd) = command_of(c) else { continue };
        // The same command twice is judged once.
        let (risky, ok) = match judged.iter().find(|j| j.1 == cmd) {
            Some(j) => (j.2, j.3),
            None => (
                crate::safety::assess_request(request, &cmd, &ctx).risk
                    >= crate::safety::Risk::High,
                crate::selfcheck::problem_for(request, &cmd).is_none(),
            ),
        };
        judged.push((i, cmd, risky, ok));
    }
    let judged = prefer(judged, |j| !j.2);
    let judged = prefer(judged, |j| j.3);
    let pool: Vec<usize> = if judged.is_empty() {
        (0..candidates.len()).collect()
    } else {
        judged.iter().map(|j| j.0).collect()
    };
    pool.into_iter().max_by(|&a, &b| {
        candidates[a]
            .logprob
            .total_cmp(&candidates[b].logprob)
            // On a tie the earlier answer (the greedy one first) wins.
            .then(b.cmp(&a))
    })
}

/// `g` answering with the chosen candidate's text; unchanged when it wrote
/// one answer.
pub fn apply(request: &str, mut g: Generation) -> Generation {
    if let Some(i) = choose(request, &g.candidates) {
        g.text = g.candidates[i].text.clone();
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(cmd: &str, logprob: f32) -> Candidate {
        Candidate {
            text: format!("{}\"}}", cmd.replace('"', "\\\"")),
            logprob,
            tokens: 5,
            origin: "branch".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_most_likely_good_answer_wins() {
        let c = [cand("ls -l", -3.0), cand("ls -la", -1.0), cand("ls", -2.0)];
        assert_eq!(choose("list files", &c), Some(1));
    }

    #[test]
    fn answers_that_fail_the_self_check_or_loop_drop_out() {
        let mut looping = cand("echo a", -0.1);
        looping.runaway = true;
        let c = [
            cand("frobnicate-xyz --all", -0.5),
            looping,
            cand("find . -name '*.rs' | ", -0.2),
            cand("ls -la", -4.0),
        ];
        assert_eq!(choose("list files", &c), Some(3));
    }

    #[test]
    fn a_dangerous_answer_gives_way_to_a_safe_one() {
        let c = [cand("rm -rf /", -0.5), cand("ls -la /tmp", -3.0)];
        assert_eq!(choose("show temporary files", &c), Some(1));
    }

    #[test]
    fn when_every_answer_has_a_problem_the_likeliest_is_kept() {
        let c = [cand("nope-one", -2.0), cand("nope-two", -1.0)];
        assert_eq!(choose("x", &c), Some(1));
        assert_eq!(choose("x", &[]), None);
    }

    #[test]
    fn apply_keeps_a_single_answer_and_swaps_in_the_choice() {
        let g = Generation {
            text: "ls\"}".into(),
            prefilled: true,
            ..Default::default()
        };
        assert_eq!(apply("x", g).text, "ls\"}");
        let g = Generation {
            text: "frobnicate-xyz\"}".into(),
            prefilled: true,
            candidates: vec![cand("frobnicate-xyz", -0.1), cand("ls -la", -3.0)],
            ..Default::default()
        };
        assert_eq!(apply("list files", g).text, "ls -la\"}");
    }
}
