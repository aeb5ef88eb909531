//! Runaway answers: a small model sometimes falls into a loop
//! (`awk '{print $1, $2, $3, …` up to the token cap, 13 s of writing).
//! [`repeating`] spots the loop as it happens, so the engine stops that answer
//! early instead of paying for every token up to the cap.
//!
//! The test is on the text with every run of digits read as one digit, so a
//! counting loop (`$1, $2, $3`) looks like the plain repeat it is (`$0, $0,
//! $0`). The tail must repeat one block at least three times and cover at
//! least [`MIN_SPAN`] bytes: `awk '{print $1, $2, $3}'` or `-o -name` twice is
//! ordinary, a dozen fields in a row is a loop.

/// Bytes a repetition must cover before it counts as a loop.
pub const MIN_SPAN: usize = 48;
/// Longest repeated block looked for.
const MAX_PERIOD: usize = 40;
/// Fewest copies of the block.
const MIN_COPIES: usize = 3;

/// The text with every run of ASCII digits folded into one `0`.
fn fold_digits(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut in_digits = false;
    for &b in text {
        let digit = b.is_ascii_digit();
        if !(digit && in_digits) {
            out.push(if digit { b'0' } else { b });
        }
        in_digits = digit;
    }
    out
}

/// True when the end of `text` is one block repeated (digits folded) over at
/// least [`MIN_SPAN`] bytes and [`MIN_COPIES`] times.
pub fn repeating(text: &[u8]) -> bool {
    tail_repeats(&fold_digits(text))
}

/// True when some stretch of `text` repeats like [`repeating`]'s tail: a
/// finished command that looped in its middle (`awk '{print $1, …, $20}'`).
pub fn contains_loop(text: &[u8]) -> bool {
    let t = fold_digits(text);
    (MIN_SPAN..=t.len()).any(|end| tail_repeats(&t[..end]))
}

/// [`repeating`] on text whose digits are already folded.
fn tail_repeats(t: &[u8]) -> bool {
    let n = t.len();
    if n < MIN_SPAN {
        return false;
    }
    (1..=MAX_PERIOD.min(n / MIN_COPIES)).any(|period| {
        let block = &t[n - period..];
        let mut copies = 1;
        while (copies + 1) * period <= n
            && &t[n - (copies + 1) * period..n - copies * period] == block
        {
            copies += 1;
        }
        copies >= MIN_COPIES && copies * period >= MIN_SPAN
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counting_loop_is_caught() {
        let mut s = String::from("df -h /testbed | awk '{print $1");
        let mut caught_at = None;
        for i in 2..40 {
            s.push_str(&format!(", ${i}"));
            if repeating(s.as_bytes()) {
                caught_at = Some(i);
                break;
            }
        }
        // Caught after about a dozen fields, long before the token cap.
        let at = caught_at.expect("the loop is caught");
        assert!((8..=16).contains(&at), "caught at ${at}");
    }

    #[test]
    fn a_repeated_pipeline_stage_is_caught() {
        let s = "cat f.txt | grep -v foo | grep -v foo | grep -v foo | grep -v foo";
        assert!(repeating(s.as_bytes()));
    }

    #[test]
    fn ordinary_commands_are_not_loops() {
        for c in [
            "awk '{print $1, $2, $3, $4, $5}' data.csv",
            "find . \\( -name '*.pyc' -o -name '*.pyo' -o -name '*.pyd' \\) -delete",
            "seq -s, 1 100000",
            "echo 1 2 3 4 5 6 7 8 9 10",
            "printf '%s\\n' ==========",
            "find /var/log -type f -printf '%s %p\\n' | sort -rn | head -n 3",
            "ls -la | grep -v '^d' | grep -v '^total' | awk '{print $9}'",
            "cut -d: -f1,3,4,6,7 /etc/passwd",
            "date +%Y-%m-%d-%H-%M-%S",
        ] {
            assert!(!repeating(c.as_bytes()), "{c}");
        }
    }

    #[test]
    fn a_loop_inside_a_finished_command_is_found() {
        let fields: Vec<String> = (1..=20).map(|i| format!("${i}")).collect();
        let cmd = format!("df -h | awk '{{print {}}}'", fields.join(", "));
        assert!(!repeating(cmd.as_bytes()));
        assert!(contains_loop(cmd.as_bytes()));
        assert!(!contains_loop(
            b"awk '{print $1, $2, $3}' data.csv | sort | uniq -c"
        ));
    }

    #[test]
    fn long_runs_of_one_character_count() {
        let s = format!("echo {}", "=".repeat(60));
        assert!(repeating(s.as_bytes()));
    }
}
