//! A command that overwrites the file it reads.
//!
//! `sort scores.csv > scores.csv` leaves an empty file: the shell truncates
//! the target of `>` before `sort` starts reading. `ffmpeg -i demo.mp4 …
//! demo.mp4` refuses to run ("Output same as Input"). Both were written by
//! the model for requests that meant to change a file in place; the retry
//! is told to write elsewhere (or use the tool's in-place option).

use crate::safety::Invocation;

/// The problem when `command` reads a file it also overwrites.
pub(super) fn overwrites_its_input(command: &str, invocations: &[Invocation]) -> Option<String> {
    if let Some(f) = crate::safety::overwritten_inputs(command).first() {
        return Some(format!(
            "`> {f}` empties {f} before the command reads it, so the data is lost; write to a new file (or use the tool's own in-place option, e.g. `sort -o`)"
        ));
    }
    invocations.iter().find_map(ffmpeg_same_file)
}

/// `ffmpeg -i X … X`: ffmpeg cannot write the file it reads.
fn ffmpeg_same_file(inv: &Invocation) -> Option<String> {
    if inv.program != "ffmpeg" {
        return None;
    }
    let inputs: Vec<&str> = inv
        .args
        .windows(2)
        .filter(|w| w[0] == "-i")
        .map(|w| w[1].as_str())
        .collect();
    let output = inv.args.last()?;
    inputs.contains(&output.as_str()).then(|| {
        format!(
            "ffmpeg cannot write to {output}, the file it reads; write the result to a new file"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(cmd: &str) -> Option<String> {
        overwrites_its_input(cmd, &crate::safety::invocations(cmd))
    }

    #[test]
    fn reading_and_emptying_the_same_file_is_named() {
        for cmd in [
            "sort -t, -k2 scores.csv > scores.csv",
            "grep -v DEBUG app.log | uniq > app.log",
            "tr a-z A-Z < notes.txt > notes.txt",
            "ffmpeg -i demo.mp4 -an demo.mp4",
            "ffmpeg -i demo.mp4 -c copy -an demo.mp4",
        ] {
            assert!(problem(cmd).is_some(), "{cmd}");
        }
    }

    #[test]
    fn writing_elsewhere_or_appending_is_fine() {
        for cmd in [
            "sort -t, -k2 scores.csv > sorted.csv",
            "sort -o scores.csv scores.csv",
            "echo scores.csv > list.txt",
            "echo done > done",
            "cat a.log >> a.log.bak",
            "ffmpeg -i demo.mp4 -an demo-muted.mp4",
            "sed -i 's/a/b/' notes.txt",
            "sort -k2 scores.csv > /tmp/x && mv /tmp/x scores.csv",
        ] {
            assert_eq!(problem(cmd), None, "{cmd}");
        }
    }
}
