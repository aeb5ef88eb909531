//! One table of GNU `find`'s primaries, shared by the safety rules and the
//! self-check.
//!
//! Both read `find` expressions: the safety rules to tell "delete what matches"
//! from "delete everything below the root", the self-check to spot an action
//! that joins only one `-o` alternative and to regroup a chain of tests. Each
//! kept its own word list, and the lists drifted apart (one knew `-nogroup`,
//! another `-type`, a third counted `-prune` as a filter). Here each primary
//! is named once, with the number of words it takes and what kind it is.

/// What a primary is in a `find` expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A test that keeps only some files. `narrows` is false for tests that
    /// select by kind alone (`-type f` still takes every file below a root),
    /// true for those that select by name, age, size, owner or permissions.
    Test { narrows: bool },
    /// An action. `prints` is true for the actions that replace the default
    /// `-print` (output, delete, run a command); `-prune` and `-quit` keep it.
    Action { prints: bool },
    /// A global or positional option (`-maxdepth 2`, `-xdev`): it selects
    /// nothing by itself.
    Option,
}

/// How many words follow a primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Args {
    /// A fixed number (`-name PATTERN`: 1, `-empty`: 0).
    Fixed(usize),
    /// A command up to a `;` or `+` word (`-exec rm {} +`).
    Command,
}

/// One `find` primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Predicate {
    pub name: &'static str,
    pub args: Args,
    pub kind: Kind,
}

const fn test(name: &'static str, args: usize, narrows: bool) -> Predicate {
    Predicate {
        name,
        args: Args::Fixed(args),
        kind: Kind::Test { narrows },
    }
}

const fn action(name: &'static str, args: Args, prints: bool) -> Predicate {
    Predicate {
        name,
        args,
        kind: Kind::Action { prints },
    }
}

const fn option(name: &'static str, args: usize) -> Predicate {
    Predicate {
        name,
        args: Args::Fixed(args),
        kind: Kind::Option,
    }
}

/// GNU findutils' primaries (the BSD `-d` too), as `find(1)` lists them.
pub const PREDICATES: &[Predicate] = &[
    // Tests on a file's name or path.
    test("-name", 1, true),
    test("-iname", 1, true),
    test("-path", 1, true),
    test("-ipath", 1, true),
    test("-wholename", 1, true),
    test("-iwholename", 1, true),
    test("-regex", 1, true),
    test("-iregex", 1, true),
    test("-lname", 1, true),
    test("-ilname", 1, true),
    // Tests on times.
    test("-newer", 1, true),
    test("-anewer", 1, true),
    test("-cnewer", 1, true),
    test("-newermt", 1, true),
    test("-newerat", 1, true),
    test("-newerct", 1, true),
    test("-newermm", 1, true),
    test("-mtime", 1, true),
    test("-mmin", 1, true),
    test("-atime", 1, true),
    test("-amin", 1, true),
    test("-ctime", 1, true),
    test("-cmin", 1, true),
    test("-used", 1, true),
    // Tests on size, links, identity, owner and permissions.
    test("-size", 1, true),
    test("-empty", 0, true),
    test("-links", 1, true),
    test("-inum", 1, true),
    test("-samefile", 1, true),
    test("-user", 1, true),
    test("-group", 1, true),
    test("-uid", 1, true),
    test("-gid", 1, true),
    test("-nouser", 0, true),
    test("-nogroup", 0, true),
    test("-perm", 1, true),
    test("-readable", 0, true),
    test("-writable", 0, true),
    test("-executable", 0, true),
    // Tests on the kind of file only: they do not narrow a selection.
    test("-type", 1, false),
    test("-xtype", 1, false),
    test("-fstype", 1, false),
    test("-true", 0, false),
    test("-false", 0, false),
    // Actions that replace the default `-print`.
    action("-delete", Args::Fixed(0), true),
    action("-exec", Args::Command, true),
    action("-execdir", Args::Command, true),
    action("-ok", Args::Command, true),
    action("-okdir", Args::Command, true),
    action("-print", Args::Fixed(0), true),
    action("-print0", Args::Fixed(0), true),
    action("-printf", Args::Fixed(1), true),
    action("-ls", Args::Fixed(0), true),
    action("-fls", Args::Fixed(1), true),
    action("-fprint", Args::Fixed(1), true),
    action("-fprint0", Args::Fixed(1), true),
    action("-fprintf", Args::Fixed(2), true),
    // Actions that keep it.
    action("-prune", Args::Fixed(0), false),
    action("-quit", Args::Fixed(0), false),
    // Options.
    option("-maxdepth", 1),
    option("-mindepth", 1),
    option("-depth", 0),
    option("-d", 0),
    option("-xdev", 0),
    option("-mount", 0),
    option("-follow", 0),
    option("-noleaf", 0),
    option("-ignore_readdir_race", 0),
    option("-daystart", 0),
    option("-regextype", 1),
    option("-warn", 0),
    option("-nowarn", 0),
];

/// The primary called `word`, if `word` is one.
pub fn predicate(word: &str) -> Option<&'static Predicate> {
    PREDICATES.iter().find(|p| p.name == word)
}

/// Whether `word` is a test that keeps only some files by their name, age,
/// size, owner or permissions (not `-type`).
pub fn narrows(word: &str) -> bool {
    matches!(
        predicate(word),
        Some(Predicate {
            kind: Kind::Test { narrows: true },
            ..
        })
    )
}

/// Whether `word` runs a command on what is found (`-exec`, `-execdir`,
/// `-ok`, `-okdir`); the command ends at a `;` or `+` word.
pub fn runs_command(word: &str) -> bool {
    predicate(word).is_some_and(|p| p.args == Args::Command)
}

/// Whether `word` is an action that replaces the default `-print`.
pub fn replaces_print(word: &str) -> bool {
    matches!(
        predicate(word),
        Some(Predicate {
            kind: Kind::Action { prints: true },
            ..
        })
    )
}

/// Whether `word` is any action.
pub fn is_action(word: &str) -> bool {
    matches!(
        predicate(word),
        Some(Predicate {
            kind: Kind::Action { .. },
            ..
        })
    )
}

/// How many words follow the test `word` (`-name`: 1, `-empty`: 0); `None`
/// when `word` is not a test.
pub fn test_args(word: &str) -> Option<usize> {
    match predicate(word)? {
        Predicate {
            kind: Kind::Test { .. },
            args: Args::Fixed(n),
            ..
        } => Some(*n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the three lists this table replaced held (safety's filter list,
    /// the delete rule's filter match, the self-check's tests and actions).
    const SAFETY_FILTERS: &[&str] = &[
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-regex",
        "-iregex",
        "-newer",
        "-mtime",
        "-mmin",
        "-atime",
        "-amin",
        "-ctime",
        "-cmin",
        "-size",
        "-user",
        "-group",
        "-perm",
        "-empty",
        "-links",
        "-inum",
        "-samefile",
        "-wholename",
        "-iwholename",
        "-nouser",
        "-nogroup",
        "-lname",
        "-ilname",
        "-newermt",
        "-used",
    ];
    const SELFCHECK_TESTS_WITH_ARG: &[&str] = &[
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-wholename",
        "-iwholename",
        "-regex",
        "-iregex",
        "-lname",
        "-ilname",
        "-type",
        "-xtype",
        "-user",
        "-group",
        "-perm",
        "-size",
        "-mtime",
        "-mmin",
        "-atime",
        "-amin",
        "-ctime",
        "-cmin",
        "-newer",
        "-links",
        "-inum",
        "-uid",
        "-gid",
    ];
    const SELFCHECK_TESTS_ALONE: &[&str] = &[
        "-empty",
        "-readable",
        "-writable",
        "-executable",
        "-nouser",
        "-nogroup",
    ];
    const SELFCHECK_OUTPUT_ACTIONS: &[&str] = &[
        "-delete", "-exec", "-execdir", "-ok", "-okdir", "-print", "-print0", "-printf", "-ls",
        "-fls", "-fprint", "-fprint0", "-fprintf",
    ];

    #[test]
    fn every_name_is_listed_once() {
        for (i, p) in PREDICATES.iter().enumerate() {
            assert!(p.name.starts_with('-'), "{}", p.name);
            assert!(
                PREDICATES[i + 1..].iter().all(|q| q.name != p.name),
                "{} twice",
                p.name
            );
        }
    }

    #[test]
    fn the_union_of_the_old_lists_is_covered() {
        for w in SAFETY_FILTERS {
            assert!(narrows(w), "{w} no longer narrows a selection");
        }
        for w in SELFCHECK_TESTS_WITH_ARG {
            assert_eq!(test_args(w), Some(1), "{w}");
        }
        for w in SELFCHECK_TESTS_ALONE {
            assert_eq!(test_args(w), Some(0), "{w}");
        }
        for w in SELFCHECK_OUTPUT_ACTIONS {
            assert!(replaces_print(w), "{w}");
        }
        for w in ["-exec", "-execdir", "-ok", "-okdir"] {
            assert!(runs_command(w), "{w}");
        }
        // Kept the default print, and never a filter (safety's list had it).
        assert!(is_action("-prune") && !replaces_print("-prune") && !narrows("-prune"));
        assert!(is_action("-quit") && !replaces_print("-quit"));
    }

    #[test]
    fn kind_only_tests_and_options_do_not_narrow() {
        for w in [
            "-type",
            "-xtype",
            "-maxdepth",
            "-depth",
            "-xdev",
            "-print",
            "-delete",
        ] {
            assert!(!narrows(w), "{w}");
        }
        assert!(!narrows("-nosuch") && predicate("-nosuch").is_none());
        assert_eq!(test_args("-maxdepth"), None);
        assert_eq!(test_args("-exec"), None);
        assert!(!runs_command("-delete"));
    }
}
