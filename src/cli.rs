//! Command-line interface: every flag and subcommand, as clap derive types.
//!
//! `cmdai [OPTIONS] <QUERY>...` is the main job; subcommands cover the rest.
//! A request that starts with a subcommand's name (`cmdai check disk space`)
//! can be passed after `--`: `cmdai -- check disk space`.

use crate::safety::SafetyLevel;
use crate::settings::Quality;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cmdai",
    version,
    about = "Turn plain words into one shell command, with a local model on your CPU",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  cmdai find large files\n  cmdai --format json \"show disk usage by folder\"\n  cmdai check 'rm -rf /'\n  eval \"$(cmdai init zsh)\"   # then press Ctrl-G at the prompt"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub generate: GenerateArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// The command alone on stdout.
    #[default]
    Text,
    /// One JSON object with the command, risk, warnings and timings.
    Json,
}

#[derive(Debug, Clone, Args, Default)]
pub struct GenerateArgs {
    /// What you want to do, in plain words.
    #[arg(value_name = "QUERY")]
    pub query: Vec<std::ffi::OsString>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub model: ModelArgs,

    /// Safety strictness (also CMDAI_SAFETY, or `safety` in config.toml;
    /// default: default).
    #[arg(long, value_name = "LEVEL", value_enum, ignore_case = true)]
    pub safety: Option<SafetyLevel>,

    /// Print a command even when the safety policy would block it.
    #[arg(long)]
    pub allow_dangerous: bool,

    /// Offer to run the command: Run / Edit / Explain / Cancel (never without asking).
    #[arg(short = 'x', long)]
    pub execute: bool,

    /// Generate, then explain the generated command part by part. The words
    /// are always a request; to explain a command you already have, use
    /// `cmdai explain COMMAND`.
    #[arg(long)]
    pub explain: bool,

    /// How much work the model does (also CMDAI_QUALITY, or `quality` in
    /// config.toml; default: balanced).
    #[arg(long, value_name = "LEVEL", value_enum, ignore_case = true)]
    pub quality: Option<Quality>,

    /// Revise a command instead of writing a new one: the instruction
    /// (`only .log files`); `--previous` is the command, the words are the
    /// request it came from (used by the shell widgets' refine).
    #[arg(long, value_name = "INSTRUCTION", requires = "previous")]
    pub refine: Option<String>,

    /// The command to revise (with `--refine`).
    #[arg(long, value_name = "COMMAND", requires = "refine")]
    pub previous: Option<String>,

    /// Do not tell the model what this folder holds (project kind, git
    /// branch, the files the request is about); also CMDAI_CONTEXT=off or
    /// `context = "off"` in config.toml.
    #[arg(long)]
    pub no_context: bool,

    /// Run inside this process instead of the resident daemon (also
    /// CMDAI_NO_DAEMON=1).
    #[arg(long)]
    pub no_daemon: bool,

    /// Widget mode (used by the shell integration): prints the text for the
    /// command line on stdout and the notes for the user on stderr.
    #[arg(long, hide = true)]
    pub widget: bool,

    /// A command already offered for this request; ask for a different one.
    #[arg(long, value_name = "COMMAND", hide = true)]
    pub avoid: Vec<String>,
}

/// How to find and run the model; shared by the main job and `cmdai serve`.
#[derive(Debug, Clone, Args, Default)]
pub struct ModelArgs {
    /// Model to use: a catalogue id (see models.toml), an imported model's
    /// name or a path to a .gguf file (also CMDAI_MODEL, or `model` in
    /// config.toml; default: chosen for this machine's memory).
    #[arg(long, value_name = "PATH|ID")]
    pub model: Option<String>,

    /// Never touch the network (also CMDAI_OFFLINE=1 or HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,

    /// Answer yes to the download question.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// CPU threads for inference (also CMDAI_THREADS, or `threads` in
    /// config.toml; default: physical cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Context window in tokens, at least what the prompt needs (also
    /// CMDAI_CONTEXT_SIZE, or `context_size` in config.toml; default 0:
    /// sized automatically).
    #[arg(long, value_name = "TOKENS")]
    pub context_size: Option<usize>,

    /// Show what happens: model paths, llama.cpp's log, timings.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Explain an existing command, part by part, with its safety findings.
    Explain(ExplainArgs),
    /// Assess a command's risk without any model (`-` reads one per line from stdin).
    Check(CheckArgs),
    /// Download, verify and inspect models.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Print the shell integration script: `eval "$(cmdai init zsh)"`.
    Init(InitArgs),
    /// Run the resident model in the foreground (clients start it on demand).
    Serve(ServeArgs),
    /// Inspect or stop the resident model.
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// Print shell completions: `cmdai completions zsh > ~/.zfunc/_cmdai`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `cmdai man | man -l -`.
    Man,
    /// Check the model, machine, daemon, shell integration, cache and network; say how to fix each problem.
    Doctor,
    /// Show the effective settings and where each comes from, or the config file's path.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// What cmdai remembers of the commands you ran: list, forget, clear, turn off or on.
    #[command(subcommand)]
    Memory(MemoryCommand),
    /// The commands cmdai gave: request, command, risk, when, whether it was run.
    History(HistoryArgs),
    /// Report that a command cmdai offered was run (the shell widgets and -x call this).
    #[command(hide = true)]
    Remember(RememberArgs),
    /// Remove cmdai: the binary, install.sh's rc block, models, caches, history, memory, config.
    Uninstall(UninstallArgs),
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Remove without asking (without a terminal nothing is removed unless this is given).
    #[arg(short, long)]
    pub yes: bool,
    /// Keep the downloaded models (in the cache folder's `models/`).
    #[arg(long)]
    pub keep_models: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum MemoryCommand {
    /// Every remembered request and the command that ran for it.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Forget one entry (its id from `cmdai memory list`).
    Forget { id: u64 },
    /// Forget everything remembered, and the history.
    Clear,
    /// Stop remembering and stop keeping history (what is stored stays until `clear`).
    Off,
    /// Remember again.
    On,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Show only entries whose request or command contains this text.
    #[arg(value_name = "TEXT")]
    pub term: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// At most this many entries, the newest.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct RememberArgs {
    /// The request the command was generated for.
    #[arg(long)]
    pub request: String,
    /// The command cmdai offered.
    #[arg(long)]
    pub offered: String,
    /// The command line that ran (the offered one, or the user's edit of it).
    #[arg(long, allow_hyphen_values = true)]
    pub ran: String,
    /// The folder it ran in (default: this process's).
    #[arg(long)]
    pub cwd: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every effective setting and its source: flag, env, config file, auto or default.
    Show(ConfigShowArgs),
    /// Print the path of config.toml (it may not exist yet).
    Path,
}

#[derive(Debug, Args)]
pub struct ConfigShowArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Safety strictness, as for a request.
    #[arg(long, value_name = "LEVEL", value_enum, ignore_case = true)]
    pub safety: Option<SafetyLevel>,
    /// As for a request: show the context setting with it off.
    #[arg(long)]
    pub no_context: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Exit after this long without requests (e.g. 900, 90s, 15m, 1h; also
    /// CMDAI_IDLE_TIMEOUT, or `idle_timeout` in config.toml; default 15m).
    #[arg(long, value_name = "DURATION")]
    pub idle_timeout: Option<String>,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Say whether a daemon runs, with its pid, model and request count.
    Status,
    /// Stop the daemon (it frees its memory).
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Zsh,
    Bash,
    Fish,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which shell to print the integration for.
    #[arg(value_enum)]
    pub shell: Shell,
    /// Key that turns the request into a command, in the shell's own notation
    /// (zsh/bash: `^G` or `\C-g`; fish: `\cg`); also CMDAI_KEY, or `key` in
    /// config.toml. Default: Ctrl-G.
    #[arg(long)]
    pub key: Option<String>,
    /// Define the widget functions without binding any key.
    #[arg(long)]
    pub no_bind: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The command to explain (quote it, or pass its words after `--`).
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Do not tell the model what this folder holds (project kind, git
    /// branch, the files the request is about); also CMDAI_CONTEXT=off or
    /// `context = "off"` in config.toml.
    #[arg(long)]
    pub no_context: bool,

    /// Run inside this process instead of the resident daemon (also
    /// CMDAI_NO_DAEMON=1).
    #[arg(long)]
    pub no_daemon: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The command to assess, or `-` to read commands from stdin, one per line.
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Judge the command as if it ran in DIR (relative paths and globs such as
    /// `rm -rf *`); default: the current directory. Put it before the command.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download a model (default: the catalogue's default) and verify it.
    Pull {
        /// Catalogue id.
        id: Option<String>,
        #[arg(short, long)]
        verbose: bool,
    },
    /// List the catalogue: size, memory needed, installed, active, fits here.
    List {
        /// Only installed models.
        #[arg(long)]
        installed: bool,
        /// Only models that fit this machine (at most 60% of its memory), and
        /// a table of which model suits which memory size.
        #[arg(long)]
        fits: bool,
    },
    /// Delete an installed model (the active one only with --force).
    Rm {
        id: String,
        #[arg(long)]
        force: bool,
    },
    /// Re-hash an installed model against its catalogue checksum.
    Verify { id: Option<String> },
    /// Print where a model lives (or would live) on disk.
    Path { id: Option<String> },
    /// Make a model the one used from now on (writes `model` in config.toml).
    Use {
        /// Catalogue id, imported model name, or path to a .gguf file.
        #[arg(value_name = "ID|PATH")]
        model: String,
    },
    /// Print what a model file says about itself (read from its GGUF header).
    Info {
        /// Catalogue id, imported model name, or path (default: the active model).
        #[arg(value_name = "ID|PATH")]
        model: Option<String>,
    },
    /// Add a .gguf file you already have: installed under its catalogue id
    /// when its checksum matches one, else registered as a custom model.
    Import {
        path: std::path::PathBuf,
        /// Name for a custom model (default: the file name without .gguf).
        #[arg(long)]
        name: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn words_join_into_query() {
        let cli = Cli::try_parse_from(["cmdai", "find", "large", "files"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.generate.query.len(), 3);
    }

    #[test]
    fn flags_before_query() {
        let cli = Cli::try_parse_from(["cmdai", "--format", "json", "--offline", "list", "files"])
            .unwrap();
        assert_eq!(cli.generate.format, Format::Json);
        assert!(cli.generate.model.offline);
    }

    #[test]
    fn flags_after_the_query_are_flags() {
        let cli =
            Cli::try_parse_from(["cmdai", "find", "large", "files", "--explain", "-x"]).unwrap();
        assert_eq!(cli.generate.query.len(), 3);
        assert!(cli.generate.explain);
        assert!(cli.generate.execute);
    }

    #[test]
    fn explain_reads_the_words_as_a_request_and_the_subcommand_takes_a_command() {
        // `cmdai --explain show disk usage`: a request to answer, then explain;
        // never "show disk usage" explained as if it were a command.
        let cli = Cli::try_parse_from(["cmdai", "--explain", "show", "disk", "usage"]).unwrap();
        assert!(cli.generate.explain);
        assert_eq!(cli.generate.query, ["show", "disk", "usage"]);
        let cli = Cli::try_parse_from(["cmdai", "explain", "ls", "-la"]).unwrap();
        match cli.command {
            Some(Command::Explain(a)) => assert_eq!(a.command, ["ls", "-la"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refine_needs_the_previous_command() {
        assert!(Cli::try_parse_from(["cmdai", "--refine", "only logs", "find files"]).is_err());
        let cli = Cli::try_parse_from([
            "cmdai",
            "--refine",
            "only .log files",
            "--previous",
            "find . -type f",
            "find files",
        ])
        .unwrap();
        assert_eq!(cli.generate.refine.as_deref(), Some("only .log files"));
        assert_eq!(cli.generate.previous.as_deref(), Some("find . -type f"));
    }

    #[test]
    fn subcommand_name_after_double_dash_is_a_query() {
        let cli = Cli::try_parse_from(["cmdai", "--", "check", "disk", "space"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.generate.query.len(), 3);
    }
}
