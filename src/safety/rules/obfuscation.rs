//! Obfuscation rules: payloads that are decoded and then executed.
//!
//! Why this exists: `echo cm0gLXJmIC8= | base64 -d | sh` hides what it runs;
//! nobody can judge it by reading it, and it is a favourite of malicious
//! snippets. The decoders (`base64 -d`, `base32 -d`, `xxd -r`, `openssl
//! base64 -d`, `uudecode`, `rev`) are followed through pipes and
//! substitutions into a shell or interpreter.

use crate::safety::programs::is_interpreter;
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::reads_program_from_stdin;
use crate::safety::unwrapped::Cmd;

const CAT: &str = "obfuscation";

pub(crate) const DECODED_EXEC: Rule = rule(
    "obf.decoded_exec",
    Critical,
    CAT,
    "decodes a hidden (base64 or hex) payload and runs it, so you cannot see what it does",
);
pub(crate) const TRANSFORMED_EXEC: Rule = rule(
    "obf.transformed_exec",
    High,
    CAT,
    "rewrites text (reversing or translating it) and runs the result as a command",
);

pub(crate) const RULES: &[Rule] = &[DECODED_EXEC, TRANSFORMED_EXEC];

pub(crate) fn is_decoder(c: &Cmd) -> bool {
    let has = |x: &str| c.arg_texts().any(|t| t == x);
    let cluster = |ch: char| {
        c.arg_texts()
            .any(|t| t.starts_with('-') && !t.starts_with("--") && t.contains(ch))
    };
    match c.name.as_str() {
        "base64" | "base32" | "basenc" | "gbase64" => {
            cluster('d') || cluster('D') || has("--decode")
        }
        "xxd" => cluster('r'),
        "openssl" => (has("base64") || has("enc")) && has("-d"),
        "uudecode" | "b64decode" => true,
        "python" | "python3" | "perl" => c
            .arg_texts()
            .any(|t| t.contains("b64decode") || t.contains("decode_base64")),
        _ => false,
    }
}

fn is_transformer(c: &Cmd) -> bool {
    matches!(c.name.as_str(), "rev" | "tr" | "xxd" | "od")
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    // `sh -c "$(echo .. | base64 -d)"`, `eval $(base64 -d <<< ..)`, `bash <(base64 -d f)`.
    if is_interpreter(&c.name) || matches!(c.name.as_str(), "eval" | "source" | ".") {
        for w in &c.args {
            if cx.sub_cmds(w).any(is_decoder) {
                out.add(&DECODED_EXEC, c.span.clone());
            }
        }
    }
    // `... | base64 -d | sh`
    if reads_program_from_stdin(c) {
        let s = cx.script;
        if let Some(p) = s.pipelines.get(s.commands[c.index].pipeline) {
            let pos = p.iter().position(|&i| i == c.index).unwrap_or(0);
            let before = p[..pos].iter().flat_map(|&i| cx.unwrapped[i].cmds.iter());
            let mut decoded = false;
            let mut transformed = false;
            for u in before {
                decoded |= is_decoder(u);
                transformed |= is_transformer(u);
            }
            if decoded {
                out.add(&DECODED_EXEC, c.span.clone());
            } else if transformed {
                out.add(&TRANSFORMED_EXEC, c.span.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn decoded_exec() {
        assert_flags("echo cm0gLXJmIC8= | base64 -d | sh", "obf.decoded_exec");
        assert_flags("echo x | base64 --decode | sudo bash", "obf.decoded_exec");
        assert_flags("sh -c \"$(echo x | base64 -d)\"", "obf.decoded_exec");
        assert_flags("eval $(base64 -d <<< cm0=)", "obf.decoded_exec");
        assert_flags("xxd -r -p payload.hex | bash", "obf.decoded_exec");
        assert_not_flags("echo aGk= | base64 -d", "obf.decoded_exec");
        assert_not_flags("base64 -d in.b64 > out.bin", "obf.decoded_exec");
    }

    #[test]
    fn transformed_exec() {
        assert_flags("echo '/ fr- mr' | rev | sh", "obf.transformed_exec");
        assert_not_flags("echo hello | rev", "obf.transformed_exec");
    }
}
