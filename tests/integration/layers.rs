//! Layers a newcomer can see: no import circle between source files.
//!
//! Why this exists: when two files import each other, neither can be read,
//! tested or moved alone, and the circle only grows. This test builds the
//! file-level import graph of `src/` (an edge for every `crate::`, `super::`
//! or `self::` path, and every bare path to a child module the file declares,
//! all outside `#[cfg(test)]` items; a `mod.rs` stands for its folder's
//! module) and fails, listing the files and their imports, when files under
//! one of the [`CHECKED`] module roots sit on a circle. It is the Rust twin of
//! the `cycles.py` script used during the refactor, a little stricter: it
//! skips only the `#[cfg(test)]` item itself, not the rest of the file, and
//! it ignores paths written inside comments and string literals.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module roots (first path segment under `src/`) that must be free of
/// circles; `*` is every file of the crate (since the whole crate was
/// untangled: safety, commands, models, engine/prompt, choice/selfcheck).
const CHECKED: &[&str] = &["*"];

type Module = Vec<String>;

/// The text of a Rust file with comments, string and char literals blanked
/// out (replaced by spaces, newlines kept), so paths in them do not count.
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, s: &[char]| {
        for &c in s {
            out.push(if c == '\n' { '\n' } else { ' ' });
        }
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let prev_word = i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_');
        if c == '/' && next == Some('/') {
            let end = b[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(b.len(), |p| i + p);
            blank(&mut out, &b[i..end]);
            i = end;
        } else if c == '/' && next == Some('*') {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j] == '/' && b.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == '*' && b.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &b[i..j]);
            i = j;
        } else if !prev_word && (c == 'r' || (c == 'b' && next == Some('r'))) && {
            let k = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = b[k..].iter().take_while(|&&c| c == '#').count();
            b.get(k + hashes) == Some(&'"')
        } {
            let k = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = b[k..].iter().take_while(|&&c| c == '#').count();
            let mut j = k + hashes + 1;
            let end = loop {
                if j >= b.len() {
                    break b.len();
                }
                if b[j] == '"'
                    && b[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&c| c == '#')
                        .count()
                        == hashes
                {
                    break j + 1 + hashes;
                }
                j += 1;
            };
            blank(&mut out, &b[i..end]);
            i = end;
        } else if c == '"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != '"' {
                j += if b[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(b.len());
            blank(&mut out, &b[i..end]);
            i = end;
        } else if c == '\'' && next == Some('\\') {
            let j = b[i + 2..]
                .iter()
                .position(|&c| c == '\'')
                .map_or(b.len(), |p| i + 3 + p);
            blank(&mut out, &b[i..j]);
            i = j;
        } else if c == '\'' && b.get(i + 2) == Some(&'\'') {
            blank(&mut out, &b[i..i + 3]);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Removes every item marked `#[cfg(test)]` (a `mod tests { .. }`, a
/// `mod tests;`, a test-only `use` or function) from code without comments.
fn without_test_items(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        // The item ends at the first `;` before any `{`, or at the `}` that
        // closes the first `{`.
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads a path tail after its first segment: `::a::b`, `::a::{b, c::d}`.
/// Returns every full path it names (as segment lists after the first).
fn path_tails(s: &str) -> Vec<Vec<String>> {
    let mut segs = Vec::new();
    let mut rest = s;
    loop {
        let t = rest.trim_start();
        let Some(t) = t.strip_prefix("::") else {
            return vec![segs];
        };
        let t = t.trim_start();
        if let Some(group) = t.strip_prefix('{') {
            // Split the group at top-level commas, each item a path of its own.
            let mut depth = 0usize;
            let mut items = Vec::new();
            let mut start = 0;
            let mut close = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        close = i;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&group[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items.push(&group[start..close]);
            let mut all = vec![segs.clone()];
            for item in items {
                let item = item.trim();
                let item = item.split(" as ").next().unwrap_or("").trim();
                let head: String = item.chars().take_while(|&c| is_ident(c)).collect();
                if head.is_empty() || head == "self" {
                    continue;
                }
                for tail in path_tails(&item[head.len()..]) {
                    let mut p = segs.clone();
                    p.push(head.clone());
                    p.extend(tail);
                    all.push(p);
                }
            }
            return all;
        }
        let seg: String = t.chars().take_while(|&c| is_ident(c)).collect();
        if seg.is_empty() {
            return vec![segs];
        }
        rest = &t[seg.len()..];
        segs.push(seg);
    }
}

/// Every `.rs` file under `root` as its module path (`a/mod.rs` is `a`,
/// `lib.rs` and `main.rs` are the crate root).
fn modules(root: &Path) -> BTreeMap<Module, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Module = rel
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                if parts == ["lib"] || parts == ["main"] {
                    parts.clear();
                }
                files.insert(parts, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    files
}

/// The file-level import graph: for each module, the modules it names.
fn graph(files: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let resolve = |path: &[String]| -> Option<Module> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| files.contains_key(m))
    };
    let mut edges = BTreeMap::new();
    for (module, src) in files {
        let code = without_test_items(&code_only(src));
        let mut deps = BTreeSet::new();
        let mut add = |full: Vec<String>| {
            if let Some(r) = resolve(&full) {
                if &r != module && !r.is_empty() {
                    deps.insert(r);
                }
            }
        };
        let mut children = Vec::new();
        let words: Vec<(usize, &str)> = code
            .match_indices(|c: char| !is_ident(c))
            .scan(0, |start, (i, sep)| {
                let w = (*start, &code[*start..i]);
                *start = i + sep.len();
                Some(w)
            })
            .filter(|(_, w)| !w.is_empty())
            .collect();
        for (k, &(at, word)) in words.iter().enumerate() {
            let before = code[..at].trim_end();
            if before.ends_with("::") {
                continue;
            }
            let after = &code[at + word.len()..];
            match word {
                "crate" | "super" | "self" if after.trim_start().starts_with("::") => {
                    let base: Module = match word {
                        "crate" => Vec::new(),
                        "super" => module[..module.len().saturating_sub(1)].to_vec(),
                        _ => module.clone(),
                    };
                    for tail in path_tails(after) {
                        let mut base = base.clone();
                        let mut tail = tail.as_slice();
                        while tail.first().is_some_and(|s| s == "super") {
                            base.pop();
                            tail = &tail[1..];
                        }
                        base.extend(tail.iter().cloned());
                        add(base);
                    }
                }
                "mod"
                    if after.trim_start().split(';').next().is_some_and(|n| {
                        let n = n.trim();
                        !n.is_empty() && n.chars().all(is_ident)
                    }) =>
                {
                    if let Some(&(_, name)) = words.get(k + 1) {
                        let mut child = module.clone();
                        child.push(name.to_string());
                        if files.contains_key(&child) {
                            children.push(child);
                        }
                    }
                }
                _ => {}
            }
        }
        for child in children {
            let name = child.last().unwrap();
            let named = words.iter().any(|&(at, w)| {
                w == name
                    && code[at + w.len()..].trim_start().starts_with("::")
                    && !code[..at].trim_end().ends_with("::")
            });
            if named {
                deps.insert(child);
            }
        }
        edges.insert(module.clone(), deps);
    }
    edges
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on: BTreeSet<&'a Module>,
        out: Vec<Vec<Module>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let l = s.low[v].min(s.low[w]);
                s.low.insert(v, l);
            } else if s.on.contains(w) {
                let l = s.low[v].min(s.index[w]);
                s.low.insert(v, l);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The circles that touch a checked root, as a readable report.
fn report(edges: &BTreeMap<Module, BTreeSet<Module>>, checked: &[&str]) -> String {
    let mut text = String::new();
    for comp in circles(edges) {
        if !checked.contains(&"*")
            && !comp
                .iter()
                .any(|m| m.first().is_some_and(|r| checked.contains(&r.as_str())))
        {
            continue;
        }
        let names: Vec<String> = comp.iter().map(|m| m.join("/")).collect();
        text.push_str(&format!(
            "{} files import each other: {}\n",
            comp.len(),
            names.join(", ")
        ));
        for a in &comp {
            for b in edges[a].iter().filter(|b| comp.contains(b)) {
                text.push_str(&format!("    {} -> {}\n", a.join("/"), b.join("/")));
            }
        }
    }
    text
}

fn tree(files: &[(&str, &str)]) -> BTreeMap<Module, BTreeSet<Module>> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    graph(&modules(dir.path()))
}

#[test]
fn checked_roots_have_no_import_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&modules(&src));
    assert!(
        edges
            .keys()
            .any(|m| m.first().is_some_and(|r| r == "safety")),
        "src/safety was not found, so the check would check nothing"
    );
    let text = report(&edges, CHECKED);
    assert!(
        text.is_empty(),
        "import circles between files (move the shared part into a lower file so arrows go one way):\n{text}"
    );
}

#[test]
fn the_checker_sees_circles_through_paths_groups_and_child_modules() {
    let edges = tree(&[
        ("lib.rs", "mod a;\n"),
        ("a/mod.rs", "mod b;\nmod c;\npub fn run() { b::go() }\n"),
        (
            "a/b.rs",
            "use crate::a::{c::{x, y as z}};\npub fn go() {}\n",
        ),
        (
            "a/c.rs",
            "// crate::a::b is only a comment\nuse super::run;\n",
        ),
    ]);
    let text = report(&edges, &["a"]);
    assert!(
        text.contains("3 files import each other: a, a/b, a/c"),
        "{text}"
    );
    assert!(
        text.contains("a -> a/b") && text.contains("a/b -> a/c"),
        "{text}"
    );
    assert!(text.contains("a/c -> a\n"), "{text}");
}

#[test]
fn the_checker_ignores_test_items_strings_and_unchecked_roots() {
    let edges = tree(&[
        ("lib.rs", "mod a;\nmod d;\n"),
        (
            "a/mod.rs",
            "mod b;\nuse self::b::f;\n#[cfg(test)]\nmod tests { use super::b::*; }\n",
        ),
        (
            "a/b.rs",
            "pub fn f() { let _ = \"crate::a::g\"; let _ = r#\"super::g\"#; }\n#[cfg(test)]\nuse super::g;\npub fn h() {}\n",
        ),
        ("d/mod.rs", "mod e;\npub fn g() { e::f() }\n"),
        ("d/e.rs", "pub fn f() { super::g() }\n"),
    ]);
    assert_eq!(report(&edges, &["a"]), "");
    let text = report(&edges, &["a", "d"]);
    assert!(text.contains("2 files import each other: d, d/e"), "{text}");
}

/// Every `CMDAI_*` variable is read through the settings table
/// (`src/settings.rs`), where it is declared with its parser, default and
/// help: no other file of the product reads one itself (test modules may
/// read their own test-only variables).
#[test]
fn only_the_settings_table_reads_cmdai_variables() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let re = regex::Regex::new(r#"env::var(_os)?\(\s*"CMDAI_"#).unwrap();
    let mut found = Vec::new();
    let mut files = 0;
    for (module, text) in modules(&src) {
        let name = module.join("/");
        if name == "settings"
            || module
                .last()
                .is_some_and(|m| m == "tests" || m == "test_rng")
        {
            continue;
        }
        files += 1;
        let code = without_test_items(text.as_str());
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            if re.is_match(line) {
                found.push(format!("{name}: {}", line.trim()));
            }
        }
    }
    assert!(files > 50, "only {files} files were read");
    assert!(
        found.is_empty(),
        "read a CMDAI_ variable through crate::settings (declare it there) instead:\n{}",
        found.join("\n")
    );
}

/// Settings are resolved once, in `commands/` (`commands/settings.rs`), and
/// handed down as one `Settings` value: no module below `commands/` reads
/// the command line's structs (`cli.rs`) or the config file (`config.rs`)
/// itself. Only `commands/`, `cli.rs`, `config.rs` and the crate root may
/// name them.
#[test]
fn only_commands_read_the_command_line_and_the_config_file() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&modules(&src));
    let top =
        |m: &Module| m.is_empty() || m[0] == "commands" || m[..] == ["cli"] || m[..] == ["config"];
    let mut found = Vec::new();
    for (module, deps) in &edges {
        if top(module) {
            continue;
        }
        for dep in deps {
            if dep[..] == ["cli"] || dep[..] == ["config"] {
                found.push(format!("{} imports {}", module.join("/"), dep[0]));
            }
        }
    }
    // The check sees what it looks for: commands do read both.
    let sees = |dep: &str| {
        edges.iter().any(|(m, d)| {
            m.first().is_some_and(|r| r == "commands") && d.contains(&vec![dep.to_string()])
        })
    };
    assert!(
        sees("cli") && sees("config"),
        "the checker found no commands → cli/config edge"
    );
    assert!(
        found.is_empty(),
        "take the value from the run's crate::settings::Settings (resolved in commands/settings.rs) instead:\n{}",
        found.join("\n")
    );
}
