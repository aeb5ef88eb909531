//! Durations as people write them in config and flags (`900`, `90s`, `15m`,
//! `1h 30m`): a bare number is seconds, anything else is read by humantime.
//! Its own small module because config, the daemon and `cmdai serve` all read
//! them, and none of those should depend on another for it.

use std::time::Duration;

/// Parses `900`, `900s`, `15m`, `2h`, `1h 30m` into a duration; `None` for
/// anything else.
pub fn parse(s: &str) -> Option<Duration> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().map(Duration::from_secs);
    }
    humantime::parse_duration(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse("900"), Some(Duration::from_secs(900)));
        assert_eq!(parse(" 2h "), Some(Duration::from_secs(7200)));
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse("15min"), Some(Duration::from_secs(900)));
        assert_eq!(parse("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("soon"), None);
        assert_eq!(parse("5x"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("99999999999999999999"), None);
    }
}
