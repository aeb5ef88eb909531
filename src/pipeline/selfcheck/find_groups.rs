//! `find`'s `-o` without parentheses: an action that silently applies to one
//! alternative only.
//!
//! `find . -name '*.o' -o -name a.out -delete` deletes only `a.out`: `-o`
//! binds looser than the implied `-a`, so the action joins the last
//! alternative, and since an action is present the other alternatives print
//! nothing either. Small models write this often (and so do people; ShellCheck
//! calls it SC2146). The fix is always the same: group the alternatives in
//! `\( … \)`, so naming it is enough for the model to repair it.

use crate::find_predicates::{is_action, replaces_print, runs_command, test_args};

/// Words that end an `-exec`-style action's command.
fn ends_exec(word: &str) -> bool {
    word == ";" || word == "+"
}

/// The problem with a `find` expression whose top-level `-o` leaves some
/// alternatives without the action another alternative has; `None` when the
/// alternatives are grouped (or there is no `-o`).
pub(super) fn ungrouped_or(program: &str, args: &[String]) -> Option<String> {
    if program != "find" {
        return None;
    }
    // Each top-level alternative: (has an output action, has any action).
    let mut branches = vec![(false, false)];
    let mut action = None;
    let mut depth = 0usize;
    let mut words = args.iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "(" => depth += 1,
            ")" => depth = depth.saturating_sub(1),
            "-o" | "-or" if depth == 0 => branches.push((false, false)),
            w if replaces_print(w) => {
                if depth == 0 {
                    let last = branches.last_mut().expect("never empty");
                    *last = (true, true);
                    action.get_or_insert_with(|| w.to_string());
                }
                if runs_command(w) {
                    // Skip the command up to its `;` or `+`.
                    for inner in words.by_ref() {
                        if ends_exec(inner) {
                            break;
                        }
                    }
                }
            }
            // `-prune` and `-quit` keep the default print but are written on
            // purpose all the same.
            w if is_action(w) && depth == 0 => {
                branches.last_mut().expect("never empty").1 = true;
            }
            _ => {}
        }
    }
    let action = action?;
    if branches.len() < 2 || branches.iter().all(|b| b.1) {
        return None;
    }
    Some(format!(
        "in `find`, `-o` binds looser than the implied `-a`, so `{action}` applies only to \
         one of the alternatives; group them: `find DIR \\( A -o B \\) {action} ...`"
    ))
}

/// Number of words of the single test starting at `at`, if it is one.
fn test_len(args: &[String], at: usize) -> Option<usize> {
    let w = args.get(at)?.as_str();
    match test_args(w)? {
        0 => Some(1),
        n if at + n < args.len() => Some(n + 1),
        _ => None,
    }
}

/// `command` with the ungrouped alternatives of its first such `find` put in
/// `\( … \)`, when they are a plain chain of single tests
/// (`-name a -o -name b`); `None` when there is nothing to repair or the
/// expression is not that simple.
pub(super) fn regrouped(command: &str) -> Option<String> {
    crate::safety::invocations(command).iter().find_map(|inv| {
        ungrouped_or(&inv.program, &inv.args)?;
        let args = &inv.args;
        if args
            .iter()
            .any(|a| a == "(" || a == ")" || a == "!" || a == "-not")
        {
            return None;
        }
        let ors: Vec<usize> = (0..args.len())
            .filter(|&i| args[i] == "-o" || args[i] == "-or")
            .collect();
        let first = *ors.first()?;
        // The alternative before the first `-o`.
        let start = [2, 1]
            .into_iter()
            .filter(|&n| first > n)
            .find(|&n| test_len(args, first - n) == Some(n))
            .map(|n| first - n)?;
        // Each alternative after an `-o` is one test, up to the next `-o`.
        let mut end = 0;
        for (k, &o) in ors.iter().enumerate() {
            let len = test_len(args, o + 1)?;
            end = o + len;
            if let Some(&next) = ors.get(k + 1) {
                if next != end + 1 {
                    return None;
                }
            }
        }
        // Alternatives of one kind (`-name`/`-iname` …): anything else may
        // mean another grouping than the one that looks right.
        let kind = |w: &str| w.replacen("-i", "-", 1);
        if ors
            .iter()
            .any(|&o| kind(&args[o + 1]) != kind(&args[start]))
        {
            return None;
        }
        let (from, to) = (inv.arg_spans[start].start, inv.arg_spans[end].end);
        // Only when the spans are this command line's own words.
        if command.get(inv.arg_spans[start].clone()) != Some(args[start].as_str())
            || to > command.len()
        {
            return None;
        }
        Some(format!(
            "{}\\( {} \\){}",
            &command[..from],
            &command[from..to],
            &command[to..]
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cmd: &str) -> Option<String> {
        crate::safety::invocations(cmd)
            .iter()
            .find_map(|i| ungrouped_or(&i.program, &i.args))
    }

    #[test]
    fn an_action_after_ungrouped_alternatives_is_named() {
        let p = check("find /srv -type f -name a.out -o -name '*.o' -mtime +7 -exec rm {} \\;")
            .unwrap();
        assert!(p.contains("`-exec`") && p.contains("\\("), "{p}");
        assert!(check("find . -name '*.a' -or -name '*.b' -delete").is_some());
        assert!(check("ls | find . -name x -o -name y -print0 | xargs -0 rm").is_some());
    }

    #[test]
    fn a_plain_chain_of_alternatives_is_regrouped() {
        assert_eq!(
            regrouped("find /srv -type f -name 'a.out' -o -name '*.o' -mtime +7 -exec rm {} \\;")
                .as_deref(),
            Some(
                "find /srv -type f \\( -name 'a.out' -o -name '*.o' \\) -mtime +7 -exec rm {} \\;"
            )
        );
        assert_eq!(
            regrouped("find /t -name a -o -iname b -o -name c -delete").as_deref(),
            Some("find /t \\( -name a -o -iname b -o -name c \\) -delete")
        );
        let fixed = regrouped("sudo find . -name x -or -name y -print0 | xargs -0 rm").unwrap();
        assert_eq!(
            fixed,
            "sudo find . \\( -name x -or -name y \\) -print0 | xargs -0 rm"
        );
        assert_eq!(check(&fixed), None);
        // Nothing to repair, or not a plain chain: left to the retry.
        assert_eq!(regrouped("find . \\( -name a -o -name b \\) -delete"), None);
        assert_eq!(regrouped("find . -name a -type f -o -name b -delete"), None);
        assert_eq!(regrouped("find . ! -name a -o -name b -delete"), None);
        assert_eq!(regrouped("find . -name a -o -empty -delete"), None);
    }

    #[test]
    fn grouped_alternatives_and_idioms_pass() {
        for ok in [
            "find build -type f \\( -name '*.pyc' -o -name '*.pyo' \\) -delete",
            "find . -name .git -prune -o -type f -print",
            "find . \\( -name D -prune \\) -o -name hi.dat",
            "find . -name '*.php' -or -path ./vendor -prune",
            "find . -name a -o -name b",
            "find . -name '*.c' -exec grep -l x {} \\; -o -print",
            "find . -type f -exec grep -q x {} \\; -print",
            "grep -o -e x file",
        ] {
            assert_eq!(check(ok), None, "{ok}");
        }
    }
}
