//! The prompt for explaining an existing command, part by part.
//!
//! Kept apart from [`super::prompt`] (which asks for a command as JSON): an
//! explanation is free text, streamed as it is generated. Its system message is
//! static, so the engine prefills it once (in a second KV-cache sequence) and
//! each explanation only prefills the command itself.

use super::prompt::Message;
use crate::context::Os;

/// Upper bound on generated tokens for one explanation.
pub const MAX_EXPLAIN_TOKENS: usize = 256;

/// True once `text` holds a complete `Effect:` line: the explanation is over,
/// whatever the model would add after it.
pub fn finished(text: &str) -> bool {
    let at = if text.starts_with("Effect:") {
        Some(0)
    } else {
        text.find("\nEffect:").map(|i| i + 1)
    };
    at.is_some_and(|i| text[i..].contains('\n'))
}

/// The longest command we explain, in bytes.
pub const MAX_EXPLAIN_BYTES: usize = 2000;

/// System message: how an explanation should look.
pub fn system(os: Os) -> String {
    let platform = match os {
        Os::Linux => "Linux (GNU tools)",
        Os::Macos => "macOS (BSD tools)",
    };
    format!(
        "You explain shell commands on {platform} to someone about to run them. \
Go through the command in the order it is written: each program, option, argument, \
pipe and redirection on its own short line: the part, a dash, then what it does. End with one \
line starting with `Effect:` that says what running the whole command changes \
(files deleted or overwritten, processes stopped, data sent over the network) or \
that it only reads. Plain text, no headings, no numbering, no code fences, at most \
12 lines, nothing after the Effect line; do not repeat the command first.\n\n\
Example, for `du -sh * | sort -h`:\n\
du - measures disk usage\n\
-s - one total per argument instead of every subfolder\n\
-h - sizes in human units (K, M, G)\n\
* - every file and folder here\n\
| sort -h - sorts those lines by size, understanding K, M and G\n\
Effect: only reads; nothing is changed."
    )
}

/// The user turn for one command.
pub fn user_turn(command: &str) -> String {
    format!("Explain this command:\n{command}")
}

/// Messages with `placeholder` standing in for the command, so the engine can
/// split the rendered template around it.
pub fn messages(os: Os, placeholder: &str) -> Vec<Message> {
    vec![
        Message {
            role: "system",
            content: system(os),
        },
        Message {
            role: "user",
            content: user_turn(placeholder),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_prompt_names_the_platform() {
        assert!(system(Os::Linux).contains("GNU"));
        assert!(system(Os::Macos).contains("BSD"));
    }

    #[test]
    fn finished_after_the_effect_line() {
        assert!(!finished("ls - lists files\n"));
        assert!(!finished("ls - lists files\nEffect: only reads"));
        assert!(finished("ls - lists files\nEffect: only reads\n"));
        assert!(finished("Effect: deletes\nmore"));
        assert!(!finished("ls - Effect: x\n"));
    }

    #[test]
    fn user_turn_holds_the_command() {
        let msgs = messages(Os::Linux, "@@");
        assert_eq!(msgs.len(), 2);
        assert!(msgs[1].content.ends_with("@@"));
    }
}
