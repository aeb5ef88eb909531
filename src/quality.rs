//! The quality setting: how much work the model does for one request.
//!
//! `fast` writes the greedy answer alone (the first design). `balanced` and
//! `best` also write alternatives in parallel sequences that share the cached
//! prompt, and [`crate::choice`] picks one; what each spends was chosen by
//! measuring accuracy against latency (`benches/results/accuracy.md`).
//! Set with `--quality`, `CMDAI_QUALITY` or `quality` in config.toml.

use crate::engine::Search;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// The greedy answer alone: the quickest.
    Fast,
    /// The default: a few alternatives where the model is unsure.
    #[default]
    Balanced,
    /// More alternatives, for machines with cores to spare.
    Best,
}

impl Quality {
    pub const ALL: [Quality; 3] = [Quality::Fast, Quality::Balanced, Quality::Best];

    /// What the engine writes for a request at this quality.
    pub fn search(self) -> Search {
        match self {
            Quality::Fast => Search::GREEDY,
            Quality::Balanced => Search {
                branches: 2,
                margin: 1.5,
                ..Search::GREEDY
            },
            Quality::Best => Search {
                branches: 3,
                margin: 2.5,
                samples: 2,
                temperature: 0.7,
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Quality::Fast => "fast",
            Quality::Balanced => "balanced",
            Quality::Best => "best",
        }
    }
}

impl std::fmt::Display for Quality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Quality {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quality::ALL
            .into_iter()
            .find(|q| q.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown quality `{s}` (use fast, balanced or best)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for q in Quality::ALL {
            assert_eq!(q.name().parse::<Quality>(), Ok(q));
        }
        assert_eq!(" BEST ".parse::<Quality>(), Ok(Quality::Best));
        assert!("turbo".parse::<Quality>().is_err());
    }

    #[test]
    fn fast_is_greedy_and_the_others_write_more() {
        assert_eq!(Quality::Fast.search().answers(), 1);
        assert!(Quality::Balanced.search().answers() > 1);
        assert!(Quality::Best.search().answers() > Quality::Balanced.search().answers());
    }
}
