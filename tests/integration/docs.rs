//! `cmdai completions` and `cmdai man`: generated, and valid for their readers.

use crate::util::{run, skip, TestDir};
use std::process::Command;

fn installed(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn completions_parse_in_their_shells() {
    let t = TestDir::new();
    for (shell, check) in [
        ("bash", vec!["bash", "-n"]),
        ("zsh", vec!["zsh", "-n"]),
        ("fish", vec!["fish", "--no-execute"]),
    ] {
        let mut c = t.cmd();
        c.args(["completions", shell]);
        let r = run(c);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("explain"), "{shell}: subcommands missing");
        if !installed(check[0]) {
            skip(
                &format!("the {shell} completion syntax check"),
                &format!("{} is not installed", check[0]),
            );
            continue;
        }
        let file = t.path(&format!("completions.{shell}"));
        std::fs::write(&file, &r.stdout).unwrap();
        let out = Command::new(check[0])
            .args(&check[1..])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn man_page_is_roff_with_the_options() {
    let t = TestDir::new();
    let mut c = t.cmd();
    c.arg("man");
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH cmdai"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    for opt in ["\\-\\-offline", "\\-\\-format", "\\-\\-explain"] {
        assert!(r.stdout.contains(opt), "man page lacks {opt}");
    }
}
