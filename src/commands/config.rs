//! `cmdai config show` and `cmdai config path`: the effective settings and
//! where each one comes from (flag, env, config file, auto or default), so
//! nobody has to guess which of the layers won.

use crate::cli::{ConfigCommand, ConfigShowArgs, Format};
use crate::config::{self, Source};
use crate::error::{exit, Result};
use crate::models::resolve::{active, catalog};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Row {
    key: &'static str,
    value: String,
    source: Source,
    /// Why, for automatic choices; what was named, for the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn row(key: &'static str, value: impl ToString, source: Source) -> Row {
    Row {
        key,
        value: value.to_string(),
        source,
        note: None,
    }
}

pub fn run(cmd: ConfigCommand) -> Result<i32> {
    match cmd {
        ConfigCommand::Path => {
            crate::outln!("{}", config::path().display());
            Ok(exit::OK)
        }
        ConfigCommand::Show(args) => show(&args),
    }
}

fn rows(args: &ConfigShowArgs) -> Result<Vec<Row>> {
    let s = super::settings::for_config_show(args);
    let cat = catalog()?;
    let a = active(&cat, &s)?;
    let mut v = vec![Row {
        key: "model",
        value: a.name().to_string(),
        source: a.source,
        note: (a.source == Source::Auto).then(|| a.reason.clone()),
    }];
    let t = &s.threads;
    v.push(Row {
        note: (t.source == Source::Auto).then(|| "physical cores".to_string()),
        ..row("threads", t.value, t.source)
    });
    let c = &s.context_size;
    v.push(Row {
        note: (c.value == 0).then(|| "sized for the prompt".to_string()),
        ..row("context_size", c.value, c.source)
    });
    v.push(row("safety", s.safety.value, s.safety.source));
    let i = config::idle_timeout(None);
    v.push(row("idle_timeout", i.value, i.source));
    let k = config::key(None);
    v.push(row(
        "key",
        k.value.unwrap_or_else(|| "Ctrl-G".into()),
        k.source,
    ));
    let e = config::explain_key();
    v.push(row(
        "explain_key",
        e.value.unwrap_or_else(|| "Alt-E".into()),
        e.source,
    ));
    let b = &s.engine;
    v.push(row("backend", b.value, b.source));
    let c = &s.context;
    v.push(Row {
        note: Some(if c.value {
            "the folder's project kind, git branch and matching file names go to the model".into()
        } else {
            "the model is not told what the folder holds".into()
        }),
        ..row("context", if c.value { "on" } else { "off" }, c.source)
    });
    let o = s.openai.clone().unwrap_or_else(config::openai);
    v.push(row("openai.base_url", &o.base_url.value, o.base_url.source));
    v.push(row("openai.model", &o.model.value, o.model.source));
    v.push(row(
        "openai.api_key_env",
        &o.api_key_env.value,
        o.api_key_env.source,
    ));
    v.push(row(
        "openai.timeout_secs",
        o.timeout.value.as_secs(),
        o.timeout.source,
    ));
    v.push(row("openai.retries", o.retries.value, o.retries.source));
    let f = config::file();
    for (name, path) in &f.custom_models {
        v.push(Row {
            note: Some(format!("custom model {name}")),
            ..row("custom_models", path.display(), Source::ConfigFile)
        });
    }
    Ok(v)
}

fn show(args: &ConfigShowArgs) -> Result<i32> {
    let rows = rows(args)?;
    let f = config::file();
    let file_state = if f.exists {
        "exists"
    } else {
        "not found; defaults apply"
    };
    match args.format {
        Format::Json => {
            let obj = serde_json::json!({
                "config_file": f.path,
                "config_file_exists": f.exists,
                "warnings": f.warnings,
                "settings": rows,
            });
            crate::outln!("{obj}");
        }
        Format::Text => {
            crate::outln!("# {} ({file_state})", f.path.display());
            for r in &rows {
                let note = r
                    .note
                    .as_deref()
                    .map_or(String::new(), |n| format!(" ({n})"));
                crate::outln!("{:<20} {:<32} {}{note}", r.key, r.value, r.source);
            }
        }
    }
    Ok(exit::OK)
}
