//! `cmdai history [TERM] [--format json]`: the commands cmdai gave, with
//! their request, risk, time and whether they were run ([`crate::pipeline::history`]).

use crate::cli::{Format, HistoryArgs};
use crate::error::{exit, CliError, Result};
use crate::pipeline::history::History;

pub fn run(args: &HistoryArgs) -> Result<i32> {
    let h = History::for_user();
    let records = match &args.term {
        Some(t) => h.search(t),
        None => h.load(),
    }
    .map_err(|e| CliError::failure(e.to_string()))?;
    let shown = &records[records.len().saturating_sub(args.limit)..];
    match args.format {
        Format::Json => crate::outln!("{}", serde_json::to_string(shown).unwrap_or_default()),
        Format::Text => {
            if records.is_empty() && !super::memory::enabled() {
                eprintln!("cmdai: history is off (`cmdai memory on` turns it on)");
            }
            for r in shown {
                let when = format_time(r.when);
                let ran = match (&r.ran, r.run) {
                    (Some(edited), _) => format!("ran (edited): {edited}"),
                    (None, true) => "ran".to_string(),
                    (None, false) => "not run".to_string(),
                };
                crate::outln!(
                    "{:>5}  {when}  [{}] {}\n       {}  ({ran})",
                    r.id,
                    r.risk,
                    r.request,
                    r.command
                );
            }
        }
    }
    Ok(exit::OK)
}

/// `YYYY-MM-DD HH:MM` (UTC), from seconds since the epoch.
fn format_time(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let s = humantime::format_rfc3339_seconds(t).to_string();
    s.get(..16).unwrap_or(&s).replace('T', " ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_dates() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00");
        assert_eq!(super::format_time(1_796_256_000), "2026-12-03 00:00");
    }
}
