//! Logs printed once where the request asked to follow them.
//!
//! "follow the logs of the web service" answered with `docker compose logs
//! web` prints what is there and exits; following needs `-f`. When the
//! request says follow (or live, as it grows, in real time) and the command
//! shows logs with a program that can follow but is not told to, the
//! self-check says so and the retry adds it.

use crate::safety::Invocation;

/// Words with which a request asks to keep watching output.
const FOLLOW_WORDS: &[&str] = &[
    "follow",
    "as it grows",
    "live",
    "real time",
    "realtime",
    "tail -f",
];

fn asks_to_follow(request: &str) -> bool {
    let lower = request.to_lowercase();
    FOLLOW_WORDS.iter().any(|w| {
        lower.match_indices(w).any(|(at, _)| {
            let before = lower[..at].chars().next_back();
            let after = lower[at + w.len()..].chars().next();
            // Whole words: not "following", "deliver".
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    })
}

/// Whether `inv` prints logs or a file's end with a program that could
/// follow them, and whether it was told to.
fn shows_without_following(inv: &Invocation) -> bool {
    let follows = inv.options.iter().any(|o| {
        o == "--follow"
            || o.starts_with("--follow=")
            || (o.starts_with('-') && !o.starts_with("--") && o[1..].contains(['f', 'F']))
    });
    if follows {
        return false;
    }
    let first = inv
        .args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str);
    match inv.program.as_str() {
        "tail" | "journalctl" => true,
        "docker" => match first {
            Some("logs") => true,
            Some("compose") => inv
                .args
                .iter()
                .skip(1)
                .find(|a| !a.starts_with('-'))
                .is_some_and(|a| a == "logs"),
            _ => false,
        },
        "docker-compose" | "kubectl" | "podman" => first == Some("logs"),
        _ => false,
    }
}

/// The problem when the request asks to follow and a log-showing program in
/// the command is not told to.
pub(super) fn not_following(request: &str, invocations: &[Invocation]) -> Option<String> {
    if !asks_to_follow(request) || !invocations.iter().any(shows_without_following) {
        return None;
    }
    Some("it prints the logs once and exits, but the request asks to follow them as they grow; add -f".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(request: &str, command: &str) -> Option<String> {
        not_following(request, &crate::safety::invocations(command))
    }

    #[test]
    fn logs_shown_once_for_a_follow_request_are_named() {
        for (r, c) in [
            (
                "follow the logs of the web service",
                "docker-compose logs web",
            ),
            (
                "follow the logs of the web service",
                "docker compose logs web",
            ),
            ("follow the api log", "tail -n 50 api.log"),
            ("show the log as it grows", "tail app.log"),
            ("watch the container's logs live", "docker logs web"),
            ("follow the service's journal", "journalctl -u nginx"),
        ] {
            assert!(check(r, c).is_some(), "{r} -> {c}");
        }
    }

    #[test]
    fn following_commands_and_other_requests_pass() {
        for (r, c) in [
            (
                "follow the logs of the web service",
                "docker compose logs -f web",
            ),
            ("follow the api log", "tail -f api.log"),
            ("follow the api log", "tail -F api.log"),
            ("follow the api log", "tail --follow=name api.log"),
            ("follow the service's journal", "journalctl -fu nginx"),
            ("follow the pods' logs", "kubectl logs -f web"),
            ("show the last 50 lines of the log", "tail -n 50 app.log"),
            (
                "show the logs of the following service: web",
                "docker compose logs web",
            ),
            ("deliver the package", "tail x"),
        ] {
            assert_eq!(check(r, c), None, "{r} -> {c}");
        }
    }
}
