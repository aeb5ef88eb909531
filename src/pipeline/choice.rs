//! Choosing one command among the answers the model wrote for a request.
//!
//! At `balanced` and `best` quality ([`super::quality`]) the engine writes
//! the greedy answer plus alternatives forked where the model was unsure, in
//! parallel sequences. This module picks one: answers that loop
//! ([`crate::engine::runaway`]) or do not parse drop out, then answers the
//! safety validator rates High or worse, then answers that fail the
//! self-check ([`super::selfcheck::problem_for`]), each while any other
//! remains; and
//! among the rest the one the model itself finds most likely wins (its whole
//! log-likelihood, so the grammar forcing an unlikely token counts against
//! an answer). Measured on the tuning half of the dev sets against voting by
//! agreement between answers (same program and options), which did worse at
//! two to four answers (`benches/results/accuracy.md`).

use super::selfcheck;
use crate::engine::{Candidate, GenerateRequest, Generation};
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
pub fn choose(request: &str, folder: &[String], candidates: &[Candidate]) -> Option<usize> {
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
                selfcheck::problem_in(request, folder, &cmd).is_none(),
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
pub fn apply(request: &str, folder: &[String], mut g: Generation) -> Generation {
    if let Some(i) = choose(request, folder, &g.candidates) {
        g.text = g.candidates[i].text.clone();
    }
    g
}

/// Runs `req` through `run` and, when it wrote several answers, keeps the
/// one [`choose`] picks; when that answer fails the check, asks once more
/// with the problem named and keeps the second answer if it passes. The
/// returned timings cover both requests.
pub fn with_self_check<E>(
    req: &GenerateRequest,
    mut run: impl FnMut(&GenerateRequest) -> Result<Generation, E>,
) -> Result<Generation, E> {
    let folder = &req.context.folder;
    let first = apply(&req.query, folder, run(req)?);
    let Some((cmd, why)) = selfcheck::generation_problem(&req.query, folder, &first) else {
        return Ok(first);
    };
    // A slip with one obvious repair is repaired, without asking again.
    if let Some(fixed) = selfcheck::repaired(&cmd) {
        if selfcheck::problem_in(&req.query, folder, &fixed).is_none() {
            return Ok(selfcheck::with_command(first, &fixed));
        }
    }
    // The retry gets what is left of the request's time budget, if enough.
    let spent = first.timings.total.saturating_sub(first.timings.load);
    let (budget, min_retry) = selfcheck::retry_limits(&first);
    let left = budget.saturating_sub(spent);
    if left < min_retry {
        return Ok(first);
    }
    let mut retry = req.clone();
    retry.feedback = Some(format!("`{cmd}` will not work: {why}"));
    retry.deadline_ms = Some(left);
    let Ok(mut second) = run(&retry).map(|g| apply(&req.query, folder, g)) else {
        return Ok(first);
    };
    if selfcheck::generation_problem(&req.query, folder, &second).is_some() {
        return Ok(first);
    }
    second.timings.load += first.timings.load;
    second.timings.prompt += first.timings.prompt;
    second.timings.generate += first.timings.generate;
    second.timings.total += first.timings.total;
    second.prompt_tokens += first.prompt_tokens;
    second.generated_tokens += first.generated_tokens;
    second.retried = true;
    Ok(second)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Timings;

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
        assert_eq!(choose("list files", &[], &c), Some(1));
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
        assert_eq!(choose("list files", &[], &c), Some(3));
    }

    #[test]
    fn a_dangerous_answer_gives_way_to_a_safe_one() {
        let c = [cand("rm -rf /", -0.5), cand("ls -la /tmp", -3.0)];
        assert_eq!(choose("show temporary files", &[], &c), Some(1));
    }

    #[test]
    fn when_every_answer_has_a_problem_the_likeliest_is_kept() {
        let c = [cand("nope-one", -2.0), cand("nope-two", -1.0)];
        assert_eq!(choose("x", &[], &c), Some(1));
        assert_eq!(choose("x", &[], &[]), None);
    }

    #[test]
    fn apply_keeps_a_single_answer_and_swaps_in_the_choice() {
        let g = Generation {
            text: "ls\"}".into(),
            prefilled: true,
            ..Default::default()
        };
        assert_eq!(apply("x", &[], g).text, "ls\"}");
        let g = Generation {
            text: "frobnicate-xyz\"}".into(),
            prefilled: true,
            candidates: vec![cand("frobnicate-xyz", -0.1), cand("ls -la", -3.0)],
            ..Default::default()
        };
        assert_eq!(apply("list files", &[], g).text, "ls -la\"}");
    }

    fn gen(text: &str, ms: u64) -> Generation {
        Generation {
            text: format!("{text}\"}}"),
            prefilled: true,
            prompt_tokens: 1,
            generated_tokens: 1,
            timings: Timings {
                total: ms,
                ..Timings::default()
            },
            candidates: Vec::new(),
            retried: false,
        }
    }

    fn req() -> GenerateRequest {
        let context = crate::context::RequestContext::new(crate::context::Os::Linux, "bash", "~");
        GenerateRequest::plain("q", context)
    }

    #[test]
    fn a_bad_answer_is_retried_once_with_the_problem_named() {
        let mut seen = Vec::new();
        let g = with_self_check(&req(), |r: &GenerateRequest| {
            seen.push(r.feedback.clone());
            Ok::<_, ()>(if r.feedback.is_none() {
                gen("frobnicate-xyz .", 10)
            } else {
                gen("ls .", 20)
            })
        })
        .unwrap();
        assert_eq!(g.text, "ls .\"}");
        assert!(g.retried);
        assert_eq!(g.timings.total, 30);
        assert_eq!(seen.len(), 2);
        assert!(seen[1].as_deref().unwrap().contains("frobnicate-xyz"));
    }

    #[test]
    fn the_retry_gets_what_is_left_of_the_time_budget() {
        let mut deadlines = Vec::new();
        let g = with_self_check(&req(), |r: &GenerateRequest| {
            deadlines.push(r.deadline_ms);
            Ok::<_, ()>(gen(
                if r.feedback.is_none() {
                    "frobnicate-xyz ."
                } else {
                    "ls ."
                },
                1000,
            ))
        })
        .unwrap();
        assert!(g.retried);
        assert_eq!(deadlines, [None, Some(selfcheck::RETRY_BUDGET_MS - 1000)]);
        // A slow first answer leaves no time: it is kept as it is.
        let mut calls = 0;
        let g = with_self_check(&req(), |_: &GenerateRequest| {
            calls += 1;
            Ok::<_, ()>(gen(
                "frobnicate-xyz .",
                selfcheck::RETRY_BUDGET_MS - selfcheck::MIN_RETRY_MS + 1,
            ))
        })
        .unwrap();
        assert_eq!((calls, g.retried), (1, false));
    }

    #[test]
    fn a_slower_machine_gets_a_longer_budget() {
        let mut deadlines = Vec::new();
        let _ = with_self_check(&req(), |r: &GenerateRequest| {
            deadlines.push(r.deadline_ms);
            let mut g = gen(
                if r.feedback.is_none() {
                    "frobnicate-xyz ."
                } else {
                    "ls ."
                },
                3500,
            );
            // 20 tokens read in 640 ms: twice the reference's 16 ms a token.
            g.prompt_tokens = 20;
            g.timings.prompt = 640;
            Ok::<_, ()>(g)
        })
        .unwrap();
        assert_eq!(
            deadlines,
            [None, Some(2 * selfcheck::RETRY_BUDGET_MS - 3500)]
        );
    }

    #[test]
    fn ungrouped_find_alternatives_are_repaired_without_a_retry() {
        let mut calls = 0;
        let g = with_self_check(&req(), |_: &GenerateRequest| {
            calls += 1;
            Ok::<_, ()>(gen("find . -name a -o -name \\\"b c\\\" -delete", 5))
        })
        .unwrap();
        assert_eq!(calls, 1);
        let cmd = parser::parse_prefilled(&g.text).unwrap().command;
        assert_eq!(cmd, "find . \\( -name a -o -name \"b c\" \\) -delete");
    }

    #[test]
    fn a_good_answer_is_not_retried_and_a_worse_retry_is_dropped() {
        let mut calls = 0;
        let g = with_self_check(&req(), |_: &GenerateRequest| {
            calls += 1;
            Ok::<_, ()>(gen("ls", 5))
        })
        .unwrap();
        assert_eq!((calls, g.retried), (1, false));

        let g = with_self_check(&req(), |_: &GenerateRequest| {
            Ok::<_, ()>(gen("frobnicate-xyz", 5))
        })
        .unwrap();
        assert_eq!(g.text, "frobnicate-xyz\"}");
        assert!(!g.retried);
    }
}
