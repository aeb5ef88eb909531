//! Resolving a run's settings once, at the top: the command line's flags
//! over the `CMDAI_*` variables over config.toml over the machine (or the
//! declared default), each setting through its declaration in
//! [`crate::settings`]. The [`Settings`] value made here is what every
//! module below `commands/` gets; they never look at the command line or
//! the config file themselves.

use crate::cli::{ConfigShowArgs, ExplainArgs, GenerateArgs, ModelArgs};
use crate::config;
use crate::safety::SafetyLevel;
use crate::settings::{EngineKind, Quality, Settings};

/// What a run's flags say beyond the model flags.
#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    safety: Option<SafetyLevel>,
    quality: Option<Quality>,
    no_context: bool,
    no_daemon: bool,
}

/// The settings of a run that has only the model flags (`serve`,
/// `model ...`, `doctor`, `config show`).
pub fn resolve(m: &ModelArgs) -> Settings {
    resolve_with(m, Flags::default())
}

/// The settings of a request: `cmdai <words>`.
pub fn for_generate(a: &GenerateArgs) -> Settings {
    resolve_with(
        &a.model,
        Flags {
            safety: a.safety,
            quality: a.quality,
            no_context: a.no_context,
            no_daemon: a.no_daemon,
        },
    )
}

/// The settings of `cmdai explain`.
pub fn for_explain(a: &ExplainArgs) -> Settings {
    resolve_with(
        &a.model,
        Flags {
            no_context: a.no_context,
            no_daemon: a.no_daemon,
            ..Flags::default()
        },
    )
}

/// The settings `cmdai config show` shows (it takes the flags it shows the
/// effect of).
pub fn for_config_show(a: &ConfigShowArgs) -> Settings {
    let mut s = resolve_with(
        &a.model,
        Flags {
            safety: a.safety,
            no_context: a.no_context,
            ..Flags::default()
        },
    );
    // Shown whichever backend is chosen.
    s.openai.get_or_insert_with(config::openai);
    s
}

fn resolve_with(m: &ModelArgs, f: Flags) -> Settings {
    let engine = config::backend();
    let file = config::file();
    Settings {
        model: config::model(m.model.as_deref()),
        threads: config::threads(m.threads),
        machine_threads: config::threads(None).value,
        context_size: config::context_size(m.context_size),
        safety: config::safety(f.safety),
        quality: config::quality(f.quality),
        memory_and_history: config::memory(),
        context: config::context(f.no_context, engine.value),
        openai: (engine.value == EngineKind::OpenAi).then(config::openai),
        engine,
        no_daemon: config::no_daemon(f.no_daemon),
        offline: crate::paths::offline_requested(m.offline),
        no_response_cache: crate::settings::NO_RESPONSE_CACHE.env().unwrap_or(false),
        yes: m.yes,
        verbose: m.verbose,
        config_file: file.path.clone(),
        custom_models: file.custom_models.clone(),
    }
}
