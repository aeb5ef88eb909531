//! The edge where the domain errors become the CLI's error: the one place
//! that decides each failure's sentence and exit code ([`CliError`]), for
//! every subcommand alike. The domain error is kept as the `CliError`'s
//! source, so its cause is not lost on the way.

use crate::engine::EngineError;
use crate::error::CliError;
use crate::models::resolve::ResolveError;
use crate::models::DownloadError;
use crate::pipeline::reach::RequestError;

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        let cli = match &e {
            // Say what is wrong with the file when it can be told (a folder, a
            // truncated download), with or without the daemon alike.
            EngineError::Load { path } => match crate::models::file_problem(path) {
                Some(problem) => CliError::model(format!(
                    "the model could not be loaded: {problem}; download it again (`cmdai model pull`) or pass a complete .gguf file"
                )),
                None => CliError::model(e.to_string()),
            },
            EngineError::TooLong { .. } => CliError::usage(e.to_string()),
            EngineError::Cancelled => CliError::interrupted(),
            EngineError::Server(m) => CliError::model(m.clone()),
            EngineError::StoppedMidway(m) => CliError::failure(m.clone()),
            _ => CliError::no_command(format!("{e}; try again, or run with -v to see details")),
        };
        cli.caused_by(e)
    }
}

impl From<DownloadError> for CliError {
    fn from(e: DownloadError) -> Self {
        let cli = match e {
            DownloadError::Interrupted { .. } => CliError::interrupted(),
            ref other => CliError::model(other.to_string()),
        };
        cli.caused_by(e)
    }
}

impl From<ResolveError> for CliError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::Download(d) => d.into(),
            ResolveError::Interrupted => CliError::interrupted().caused_by(e),
            ResolveError::Catalog(_) => CliError::failure(e.to_string()).caused_by(e),
            _ => CliError::model(e.to_string()).caused_by(e),
        }
    }
}

impl From<RequestError> for CliError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Model(m) => m.into(),
            RequestError::Engine(g) => g.into(),
            RequestError::NoServerSettings => CliError::failure(e.to_string()).caused_by(e),
            RequestError::NoCommand(_) | RequestError::CutOff => {
                CliError::no_command(e.to_string()).caused_by(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use std::error::Error;

    #[test]
    fn an_engine_failure_keeps_its_cause_and_its_sentence() {
        let e = CliError::from(RequestError::Engine(EngineError::Inference(
            "the KV cache is full".into(),
        )));
        assert_eq!(e.kind, Kind::NoCommand);
        assert_eq!(
            e.message,
            "inference failed: the KV cache is full; try again, or run with -v to see details"
        );
        let cause = e.source().expect("the engine error is kept");
        assert!(matches!(
            cause.downcast_ref::<EngineError>(),
            Some(EngineError::Inference(m)) if m == "the KV cache is full"
        ));
    }

    #[test]
    fn each_request_failure_keeps_its_exit_code() {
        let kind = |e: RequestError| CliError::from(e).kind;
        assert_eq!(kind(EngineError::Cancelled.into()), Kind::Interrupted);
        let long = EngineError::TooLong { tokens: 9, max: 8 };
        assert_eq!(kind(long.into()), Kind::Usage);
        assert_eq!(
            kind(EngineError::Server("down".into()).into()),
            Kind::ModelUnavailable
        );
        assert_eq!(kind(RequestError::CutOff), Kind::NoCommand);
        assert_eq!(kind(RequestError::NoServerSettings), Kind::Failure);
        let declined = ResolveError::Declined { id: "m".into() };
        assert_eq!(kind(declined.into()), Kind::ModelUnavailable);
        assert_eq!(kind(ResolveError::Interrupted.into()), Kind::Interrupted);
    }

    #[test]
    fn a_broken_catalogue_keeps_the_parse_error_below_it() {
        let bad = crate::models::Catalog::parse("models = 3").unwrap_err();
        let e = CliError::from(ResolveError::from(bad));
        assert_eq!(e.kind, Kind::Failure);
        assert!(
            e.message.starts_with(
                "the model catalogue could not be read: it is not a valid catalogue: "
            ),
            "{}",
            e.message
        );
        // CliError -> ResolveError -> CatalogError -> toml's error.
        let toml = e.source().and_then(Error::source).and_then(Error::source);
        assert!(toml.is_some_and(|t| t.is::<toml::de::Error>()), "{e:?}");
    }
}
