//! The quality setting: how much work the model does for one request.
//!
//! `fast` writes the greedy answer alone (the first design). `balanced`
//! also shows the model the knowledge base's closest everyday task when one
//! is very close ([`super::knowledge`]); `best` also writes alternatives in
//! parallel sequences that share the cached prompt, and [`super::choice`]
//! picks one. What each spends was chosen by measuring accuracy against
//! latency on the tuning half of the dev sets
//! (`benches/results/accuracy.md`): alternatives cost time and, at this
//! model size, did not raise accuracy there, so the default does without.
//! Set with `--quality`, `CMDAI_QUALITY` or `quality` in config.toml.

use crate::engine::Search;

/// How close a knowledge-base entry must be to be shown. On the tuning half
/// of nl2bash, entries at 0.6-0.75 changed answers both ways, those at 0.75
/// or more only for the better; but an example is a whole chat turn (~35
/// tokens, ~0.5 s on 2 cores), and on the latency bench's 20 everyday
/// requests 0.75 showed one to 9 of them, some misleading ("find large
/// files" got "largest number in a file"), which took a warm request from
/// 1.1x to 1.8x the bare engine. At 0.9 only near-paraphrases of a known
/// task get one (3 of the 20: `free -h`, `hostname -I`, `git reset --soft`).
pub const KNOWLEDGE_MIN_SCORE: f32 = 0.9;

/// The setting's values are declared with it ([`crate::settings::QUALITY`]);
/// what each one does is here.
pub use crate::settings::Quality;

impl Quality {
    /// What the engine writes for a request at this quality.
    pub fn search(self) -> Search {
        match self {
            Quality::Fast | Quality::Balanced => Search::GREEDY,
            Quality::Best => Search {
                branches: 2,
                margin: 1.0,
                ..Search::GREEDY
            },
        }
    }

    /// How many knowledge-base examples a request may get, and how close
    /// (cosine, 0..=1) each must be ([`super::knowledge::Index::nearest`]).
    pub fn knowledge(self) -> (usize, f32) {
        match self {
            Quality::Fast => (0, 1.0),
            Quality::Balanced | Quality::Best => (1, KNOWLEDGE_MIN_SCORE),
        }
    }

    /// The knowledge-base examples for `request` at this quality.
    pub fn examples(self, os: crate::context::Os, request: &str) -> Vec<crate::engine::Example> {
        let (k, min) = self.knowledge();
        super::knowledge::examples(os, request, k, min)
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
    fn fast_is_todays_path_and_the_others_do_more() {
        assert_eq!(Quality::Fast.search().answers(), 1);
        assert_eq!(Quality::Fast.knowledge().0, 0);
        assert!(Quality::Balanced.knowledge().0 > 0);
        assert!(Quality::Best.search().answers() > Quality::Balanced.search().answers());
    }

    #[test]
    fn balanced_shows_a_close_everyday_task_and_fast_does_not() {
        use crate::context::Os;
        let ex = Quality::Balanced.examples(Os::Linux, "show how much memory is free");
        assert_eq!(ex.len(), 1);
        assert!(ex[0].command.starts_with("free"), "{ex:?}");
        assert!(Quality::Fast
            .examples(Os::Linux, "show how much memory is free")
            .is_empty());
        // Alike in words but not in task: nothing (it cost half a second).
        assert!(Quality::Balanced
            .examples(Os::Linux, "find large files")
            .is_empty());
        // Nothing close: nothing shown.
        assert!(Quality::Balanced
            .examples(Os::Linux, "md5 of every .java file under /testbed, sorted")
            .is_empty());
    }
}
