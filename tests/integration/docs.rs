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

/// Every `CMDAI_*` variable the code reads is in the README (issue: six were
/// missing). Test-only switches are listed there too, marked as such.
#[test]
fn every_environment_variable_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let re = regex::Regex::new(r#""(CMDAI_[A-Z_]+)""#).unwrap();
    let mut missing = std::collections::BTreeSet::new();
    let mut seen = 0;
    let mut stack = vec![root.join("src"), root.join("benches")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for cap in re.captures_iter(&text) {
                    seen += 1;
                    let name = &cap[1];
                    // Names made up inside unit tests only.
                    if name.contains("TEST_NO_SUCH") || name.contains("UNIT_TEST") {
                        continue;
                    }
                    if !readme.contains(name) {
                        missing.insert(name.to_string());
                    }
                }
            }
        }
    }
    assert!(seen > 20, "the scan found only {seen} variables");
    assert!(missing.is_empty(), "not in README.md: {missing:?}");
}

/// The rows of the README table that follows `heading`, from its first
/// `| \`CMDAI_` row to the end of the table, keeping only rows for
/// `CMDAI_*` variables (others, like `NO_COLOR`, are not cmdai's settings).
fn readme_rows(readme: &str, heading: &str) -> Vec<String> {
    let at = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README.md has no {heading:?}"));
    readme[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| l.starts_with("| `CMDAI_"))
        .map(str::to_string)
        .collect()
}

/// The README's environment tables are the settings table's rows
/// ([`cmdai::settings::readme_rows`]): a setting added, renamed or
/// described anew in `src/settings.rs` fails here until the README says the
/// same. On failure the expected rows are printed, ready to paste.
#[test]
fn readme_tables_are_the_settings_table() {
    use cmdai::settings::{readme_rows as rows, Doc};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (heading, doc) in [
        ("### Environment", Doc::Main),
        ("### Shared inference server", Doc::Server),
    ] {
        let want = rows(doc);
        assert!(want.len() >= 5, "{heading}: only {} rows", want.len());
        let have = readme_rows(&readme, heading);
        assert!(
            have == want,
            "README.md's table under {heading:?} differs from src/settings.rs; its CMDAI_ rows should read:\n{}",
            want.join("\n")
        );
    }
}
