//! Fields of a CSV file split at blanks.
//!
//! `sort scores.csv -k2`, `cut -f2 data.csv` and `awk '{print $2}' data.csv`
//! split lines at blanks (tabs for `cut`), so on a comma-separated file
//! "the second column" is something else or nothing. When a field option
//! meets a `.csv` operand without a separator, the retry is told to give one.

use crate::safety::Invocation;

/// The `.csv` file among `inv`'s arguments.
fn csv_operand(inv: &Invocation) -> Option<&str> {
    inv.args
        .iter()
        .map(String::as_str)
        .find(|a| !a.starts_with('-') && a.to_ascii_lowercase().ends_with(".csv"))
}

/// Whether an option (or its cluster) starts with `flag` (`-t,`, `-t`,
/// `--field-separator=,`).
fn has(inv: &Invocation, short: &str, long: &str) -> bool {
    inv.options
        .iter()
        .any(|o| o.starts_with(long) || (!o.starts_with("--") && o.starts_with(short)))
}

/// The problem when a field-splitting tool reads a CSV file at blanks.
pub(super) fn blank_split_csv(inv: &Invocation) -> Option<String> {
    let file = csv_operand(inv)?;
    let (fields, separator, fix) = match inv.program.as_str() {
        "sort" => (
            has(inv, "-k", "--key"),
            has(inv, "-t", "--field-separator"),
            "sort -t,",
        ),
        "cut" => (
            has(inv, "-f", "--fields"),
            has(inv, "-d", "--delimiter"),
            "cut -d,",
        ),
        "awk" | "gawk" | "mawk" => {
            let program = inv.args.iter().find(|a| a.contains('{') || a.contains('$'));
            let numbered = program.is_some_and(|p| {
                p.match_indices('$')
                    .any(|(i, _)| p[i + 1..].starts_with(|c: char| c.is_ascii_digit() && c != '0'))
            });
            let sets = has(inv, "-F", "--field-separator")
                || program.is_some_and(|p| p.contains("FS"))
                || inv.args.iter().any(|a| a.starts_with("FS="));
            (numbered, sets, "awk -F,")
        }
        _ => return None,
    };
    (fields && !separator).then(|| {
        format!("{file} is comma-separated but `{}` splits its fields at blanks; give the separator (`{fix}`)", inv.program)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(cmd: &str) -> Option<String> {
        crate::safety::invocations(cmd)
            .iter()
            .find_map(blank_split_csv)
    }

    #[test]
    fn a_csv_split_at_blanks_is_named() {
        for cmd in [
            "sort scores.csv -k2",
            "sort -k2,2n scores.csv",
            "cut -f2 data.csv",
            "awk '{print $2}' data.csv",
            "awk '{ s += $3 } END { print s }' sales.CSV",
        ] {
            let p = problem(cmd).unwrap_or_else(|| panic!("{cmd}"));
            assert!(p.contains("comma-separated"), "{p}");
        }
    }

    #[test]
    fn a_separator_given_or_no_field_asked_is_fine() {
        for cmd in [
            "sort -t, -k2 scores.csv",
            "sort -t ',' -k2 scores.csv",
            "sort --field-separator=, --key=2 scores.csv",
            "sort scores.csv",
            "cut -d, -f2 data.csv",
            "cut -c1-10 data.csv",
            "awk -F, '{print $2}' data.csv",
            "awk 'BEGIN{FS=\",\"} {print $2}' data.csv",
            "awk '{print $0}' data.csv",
            "awk 'NR==1' data.csv",
            "sort -k2 data.tsv",
            "awk '{print $2}' access.log",
        ] {
            assert_eq!(problem(cmd), None, "{cmd}");
        }
    }
}
