//! Database rules: SQL and key-value commands that delete data wholesale.
//!
//! Why this exists: `psql -c 'DROP DATABASE x'`, `mysql -e 'TRUNCATE t'` or
//! `redis-cli FLUSHALL` erase data with no undo. SQL is only read where a
//! database client will execute it (its `-c`/`-e` argument, a here-string or
//! here-document, or text piped into it), never in `echo` or commit messages.

use crate::safety::rules::kit::{Cx, Out};
use crate::safety::types::rule;
use crate::safety::types::Risk::*;
use crate::safety::types::Rule;
use crate::safety::unwrapped::Cmd;
use regex::Regex;
use std::sync::OnceLock;

const CAT: &str = "database";

pub(crate) const DROP_DATABASE: Rule = rule(
    "db.drop_database",
    Critical,
    CAT,
    "drops a whole database (or a schema with everything in it) and all its data; there is no undo",
);
pub(crate) const DROP_SCHEMA: Rule = rule(
    "db.drop_schema",
    High,
    CAT,
    "drops a database schema (without CASCADE it must be empty first)",
);
pub(crate) const DROP_TABLE: Rule = rule(
    "db.drop_table",
    High,
    CAT,
    "drops or empties database tables, deleting their data",
);
pub(crate) const DELETE_ALL_ROWS: Rule = rule(
    "db.delete_all_rows",
    High,
    CAT,
    "deletes every row of a table (DELETE or UPDATE without WHERE)",
);
pub(crate) const FLUSH_ALL: Rule = rule(
    "db.flush_all",
    High,
    CAT,
    "wipes every key in the Redis database",
);
pub(crate) const MONGO_DROP: Rule = rule(
    "db.mongo_drop",
    High,
    CAT,
    "drops a MongoDB collection or deletes every document in it",
);

pub(crate) const RULES: &[Rule] = &[
    DROP_DATABASE,
    DROP_SCHEMA,
    DROP_TABLE,
    DELETE_ALL_ROWS,
    FLUSH_ALL,
    MONGO_DROP,
];

struct Sql {
    drop_db: Regex,
    drop_schema: Regex,
    drop_table: Regex,
    /// `DELETE FROM t` / `UPDATE t SET ..` (one statement).
    delete_or_update: Regex,
    /// A WHERE that keeps every row (`WHERE 1=1`, `WHERE true`).
    where_all: Regex,
    mongo: Regex,
    mongo_delete_all: Regex,
}

fn sql() -> &'static Sql {
    static R: OnceLock<Sql> = OnceLock::new();
    R.get_or_init(|| Sql {
        drop_db: Regex::new(r"(?i)\bdrop\s+database\b|\bdrop\s+schema\b[^;]*\bcascade\b").unwrap(),
        drop_schema: Regex::new(r"(?i)\bdrop\s+schema\b").unwrap(),
        drop_table: Regex::new(r"(?i)\bdrop\s+table\b|\btruncate\s+(table\s+)?[\w.`\x22\[]").unwrap(),
        delete_or_update: Regex::new(
            r#"(?i)^\s*(delete\s+(from\s+)?[\w.`"\[\]]+|update\s+[\w.`"\[\]]+\s+set\b)"#,
        )
        .unwrap(),
        where_all: Regex::new(
            r#"(?i)\bwhere\s+\(?\s*(?:1\s*=\s*1|true|1|0\s*=\s*0|1\s*<>\s*0|\w+\s+is\s+not\s+null|(?P<a>'?\w+'?)\s*=\s*(?P<b>'?\w+'?))\s*\)?\s*(;|$)"#,
        )
        .unwrap(),
        mongo: Regex::new(r"(?i)dropDatabase\s*\(|\.drop\s*\(\s*\)").unwrap(),
        mongo_delete_all: Regex::new(r"(?i)\.(deleteMany|remove)\s*\(\s*(\{\s*\})?\s*\)").unwrap(),
    })
}

/// Whether SQL text deletes or rewrites every row of a table: a DELETE or
/// UPDATE statement without WHERE, or with a WHERE that is always true.
fn deletes_all_rows(text: &str) -> bool {
    let r = sql();
    text.split(';').any(|stmt| {
        if !r.delete_or_update.is_match(stmt) {
            return false;
        }
        let lower = stmt.to_ascii_lowercase();
        let Some(w) = lower.find("where") else {
            return true;
        };
        let cond = &stmt[w..];
        r.where_all
            .captures(cond)
            .is_some_and(|c| match (c.name("a"), c.name("b")) {
                // `WHERE a = b` keeps every row only when both sides are the same.
                (Some(a), Some(b)) => a.as_str().eq_ignore_ascii_case(b.as_str()),
                _ => true,
            })
    })
}

/// SQL keywords that start a destructive statement typed as a shell line.
fn starts_sql(c: &Cmd) -> bool {
    let first = c.prog.text.as_str();
    let second = c.args.first().map(|w| w.text.to_ascii_lowercase());
    let keyword = matches!(
        first.to_ascii_lowercase().as_str(),
        "drop" | "delete" | "truncate" | "update"
    );
    keyword
        && (first.chars().all(|ch| ch.is_ascii_uppercase())
            || matches!(
                second.as_deref(),
                Some("database" | "schema" | "table" | "from")
            ))
}

fn is_sql_client(name: &str) -> bool {
    matches!(
        name,
        "psql"
            | "mysql"
            | "mariadb"
            | "sqlite3"
            | "sqlite"
            | "sqlcmd"
            | "clickhouse-client"
            | "clickhouse"
            | "cockroach"
            | "duckdb"
            | "mysqlsh"
            | "pgcli"
            | "mycli"
            | "litecli"
            | "usql"
            | "isql"
            | "sqlplus"
            | "bq"
            | "snowsql"
    )
}

/// The texts a database client will execute: its arguments, here-docs and
/// whatever `echo`/`printf` pipes into it.
fn executed_texts<'a>(c: &'a Cmd, cx: &'a Cx) -> Vec<&'a str> {
    let mut v: Vec<&str> = c.arg_texts().collect();
    let sc = &cx.script.commands[c.index];
    for r in &sc.redirects {
        if matches!(
            r.op,
            crate::safety::parse::RedirOp::HereDoc | crate::safety::parse::RedirOp::HereString
        ) {
            v.push(&r.target.text);
        }
    }
    for up in cx.upstream(c.index) {
        if matches!(up.name.as_str(), "echo" | "printf" | "cat") {
            v.extend(up.arg_texts());
        }
    }
    v
}

/// SQL with its string literals emptied (`'drop table'` is data).
fn without_strings(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut in_str = false;
    for ch in t.chars() {
        if ch == '\'' {
            in_str = !in_str;
            out.push(ch);
        } else if !in_str {
            out.push(ch);
        }
    }
    out
}

fn check_sql(t: &str, c: &Cmd, out: &mut Out) {
    let stripped = without_strings(t);
    let r = sql();
    if r.drop_db.is_match(&stripped) {
        out.add(&DROP_DATABASE, c.span.clone());
    } else if r.drop_schema.is_match(&stripped) {
        out.add(&DROP_SCHEMA, c.span.clone());
    }
    if r.drop_table.is_match(&stripped) {
        out.add(&DROP_TABLE, c.span.clone());
    }
    if deletes_all_rows(t) {
        out.add(&DELETE_ALL_ROWS, c.span.clone());
    }
}

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let name = c.name.as_str();
    if is_sql_client(name) {
        for t in executed_texts(c, cx) {
            // `--command=DROP ...`, `--execute=...`: the SQL after the `=`.
            let t = match t.split_once('=') {
                Some((k, v)) if k.starts_with("--") => v,
                _ => t,
            };
            check_sql(t, c, out);
        }
        return;
    }
    // SQL typed at the shell (`DROP TABLE users;`): the statement is the line.
    if starts_sql(c) {
        let text = std::iter::once(c.prog.text.as_str())
            .chain(c.arg_texts())
            .collect::<Vec<_>>()
            .join(" ");
        check_sql(&text, c, out);
        return;
    }
    match name {
        "dropdb" => out.add(&DROP_DATABASE, c.span.clone()),
        "mysqladmin" if c.arg_texts().any(|t| t == "drop") => {
            out.add(&DROP_DATABASE, c.span.clone());
        }
        "redis-cli" | "valkey-cli" | "keydb-cli" => {
            let mut texts: Vec<String> = c.arg_texts().map(|t| t.to_ascii_lowercase()).collect();
            for up in cx.upstream(c.index) {
                if matches!(up.name.as_str(), "echo" | "printf") {
                    texts.extend(up.arg_texts().map(|t| t.to_ascii_lowercase()));
                }
            }
            if texts.iter().any(|t| {
                t == "flushall" || t == "flushdb" || t.contains("flushall") && t.len() < 20
            }) {
                out.add(&FLUSH_ALL, c.span.clone());
            }
        }
        "mongo" | "mongosh" => {
            let texts = executed_texts(c, cx);
            if texts.iter().any(|t| t.contains("dropDatabase")) {
                out.add(&DROP_DATABASE, c.span.clone());
            } else if texts
                .iter()
                .any(|t| sql().mongo.is_match(t) || sql().mongo_delete_all.is_match(t))
            {
                out.add(&MONGO_DROP, c.span.clone());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::safety::tests::{assert_flags, assert_not_flags};

    #[test]
    fn drop_database() {
        assert_flags("psql -c 'DROP DATABASE x'", "db.drop_database");
        assert_flags("psql -c 'DROP SCHEMA app CASCADE'", "db.drop_database");
        assert_flags("mongosh app --eval 'db.dropDatabase()'", "db.drop_database");
        assert_flags("echo 'DROP DATABASE x;' | psql", "db.drop_database");
        assert_flags("dropdb mydb", "db.drop_database");
        assert_not_flags("git commit -m 'drop database'", "db.drop_database");
        assert_not_flags("psql -c 'SELECT 1'", "db.drop_database");
    }

    #[test]
    fn drop_schema() {
        assert_flags("mysql -u root -e 'drop schema app'", "db.drop_schema");
        assert_not_flags("psql -c 'DROP SCHEMA app CASCADE'", "db.drop_schema");
        assert_not_flags("psql -c 'CREATE SCHEMA app'", "db.drop_schema");
    }

    #[test]
    fn drop_table() {
        assert_flags("psql -c 'DROP TABLE users'", "db.drop_table");
        assert_flags("mysql -e 'TRUNCATE TABLE logs'", "db.drop_table");
        assert_flags("psql -c 'TRUNCATE users'", "db.drop_table");
        assert_flags("DROP TABLE users;", "db.drop_table");
        assert_flags("truncate table sessions", "db.drop_table");
        assert_not_flags("echo 'DROP TABLE users'", "db.drop_table");
        assert_not_flags(
            "mysql -e \"SELECT * FROM t WHERE note = 'drop table x'\"",
            "db.drop_table",
        );
        assert_not_flags("truncate -s 0 table.log", "db.drop_table");
    }

    #[test]
    fn delete_all_rows() {
        assert_flags("sqlite3 app.db 'DELETE FROM users;'", "db.delete_all_rows");
        assert_flags("sqlite3 app.db \"DELETE FROM users\"", "db.delete_all_rows");
        assert_flags(
            "mysql -e 'delete from logs where 1=1'",
            "db.delete_all_rows",
        );
        assert_flags(
            "psql -c 'DELETE FROM a; SELECT * FROM b WHERE id = 1'",
            "db.delete_all_rows",
        );
        assert_flags(
            "psql -c \"UPDATE users SET admin = true\"",
            "db.delete_all_rows",
        );
        assert_flags("psql --command='DELETE FROM users'", "db.delete_all_rows");
        assert_flags("DELETE FROM users;", "db.delete_all_rows");
        assert_flags(
            "mysql -e 'DELETE FROM users WHERE id = id'",
            "db.delete_all_rows",
        );
        assert_flags(
            "psql -c \"DELETE FROM t WHERE 'a' = 'a'\"",
            "db.delete_all_rows",
        );
        assert_not_flags(
            "sqlite3 app.db 'DELETE FROM users WHERE id = 3;'",
            "db.delete_all_rows",
        );
        assert_not_flags(
            "psql -c \"UPDATE users SET name = 'x' WHERE id = 4\"",
            "db.delete_all_rows",
        );
        assert_not_flags("sqlite3 app.db 'SELECT * FROM users'", "db.delete_all_rows");
        assert_not_flags(
            "psql -c \"DELETE FROM t WHERE a = b\"",
            "db.delete_all_rows",
        );
        assert_not_flags("echo 'DELETE FROM users;'", "db.delete_all_rows");
    }

    #[test]
    fn flush_all() {
        assert_flags("redis-cli FLUSHALL", "db.flush_all");
        assert_flags("redis-cli -n 2 flushdb", "db.flush_all");
        assert_not_flags("redis-cli GET key", "db.flush_all");
    }

    #[test]
    fn mongo_drop() {
        assert_flags(
            "mongosh app --eval 'db.users.deleteMany({})'",
            "db.mongo_drop",
        );
        assert_flags("mongosh app --eval 'db.users.drop()'", "db.mongo_drop");
        assert_not_flags("mongosh app --eval 'db.users.find()'", "db.mongo_drop");
    }
}
