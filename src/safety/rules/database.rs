//! Database rules: SQL and key-value commands that delete data wholesale.
//!
//! Why this exists: `psql -c 'DROP DATABASE x'`, `mysql -e 'TRUNCATE t'` or
//! `redis-cli FLUSHALL` erase data with no undo. SQL is only read where a
//! database client will execute it (its `-c`/`-e` argument, a here-string or
//! here-document, or text piped into it), never in `echo` or commit messages.

use crate::safety::command::Cmd;
use crate::safety::rules::{rule, Cx, Out};
use crate::safety::Risk::*;
use crate::safety::Rule;
use regex::Regex;
use std::sync::OnceLock;

const CAT: &str = "database";

pub(crate) const DROP_DATABASE: Rule = rule(
    "db.drop_database",
    High,
    CAT,
    "drops a whole database and all the data in it",
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
    "drops a MongoDB database or collection",
);

pub(crate) const RULES: &[Rule] = &[
    DROP_DATABASE,
    DROP_TABLE,
    DELETE_ALL_ROWS,
    FLUSH_ALL,
    MONGO_DROP,
];

struct Sql {
    drop_db: Regex,
    drop_table: Regex,
    delete_all: Regex,
    mongo: Regex,
}

fn sql() -> &'static Sql {
    static R: OnceLock<Sql> = OnceLock::new();
    R.get_or_init(|| Sql {
        drop_db: Regex::new(r"(?i)\bdrop\s+(database|schema)\b").unwrap(),
        drop_table: Regex::new(r"(?i)\bdrop\s+table\b|\btruncate\s+(table\s+)?[\w.`]").unwrap(),
        delete_all: Regex::new(
            r#"(?i)\bdelete\s+from\s+[\w.`"]+\s*(;|$)|\bupdate\s+[\w.`"]+\s+set\s+[^;]*?(;|$)"#,
        )
        .unwrap(),
        mongo: Regex::new(r"(?i)dropDatabase\s*\(|\.drop\s*\(\s*\)").unwrap(),
    })
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

pub(crate) fn check(c: &Cmd, cx: &Cx, out: &mut Out) {
    let name = c.name.as_str();
    if is_sql_client(name) {
        let r = sql();
        for t in executed_texts(c, cx) {
            if r.drop_db.is_match(t) {
                out.add(&DROP_DATABASE, c.span.clone());
            }
            if r.drop_table.is_match(t) {
                out.add(&DROP_TABLE, c.span.clone());
            }
            if r.delete_all.is_match(t) && !t.to_ascii_lowercase().contains(" where ") {
                out.add(&DELETE_ALL_ROWS, c.span.clone());
            }
        }
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
        "mongo" | "mongosh"
            if executed_texts(c, cx)
                .iter()
                .any(|t| sql().mongo.is_match(t)) =>
        {
            out.add(&MONGO_DROP, c.span.clone());
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
        assert_flags("mysql -u root -e 'drop schema app'", "db.drop_database");
        assert_flags("echo 'DROP DATABASE x;' | psql", "db.drop_database");
        assert_flags("dropdb mydb", "db.drop_database");
        assert_not_flags("git commit -m 'drop database'", "db.drop_database");
        assert_not_flags("psql -c 'SELECT 1'", "db.drop_database");
    }

    #[test]
    fn drop_table() {
        assert_flags("psql -c 'DROP TABLE users'", "db.drop_table");
        assert_flags("mysql -e 'TRUNCATE TABLE logs'", "db.drop_table");
        assert_not_flags("echo 'DROP TABLE users'", "db.drop_table");
    }

    #[test]
    fn delete_all_rows() {
        assert_flags("sqlite3 app.db 'DELETE FROM users;'", "db.delete_all_rows");
        assert_not_flags(
            "sqlite3 app.db 'DELETE FROM users WHERE id = 3;'",
            "db.delete_all_rows",
        );
    }

    #[test]
    fn flush_all() {
        assert_flags("redis-cli FLUSHALL", "db.flush_all");
        assert_flags("redis-cli -n 2 flushdb", "db.flush_all");
        assert_not_flags("redis-cli GET key", "db.flush_all");
    }

    #[test]
    fn mongo_drop() {
        assert_flags("mongosh app --eval 'db.dropDatabase()'", "db.mongo_drop");
        assert_not_flags("mongosh app --eval 'db.users.find()'", "db.mongo_drop");
    }
}
