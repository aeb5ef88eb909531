//! Which catalogue model to use when nobody named one, from the machine's
//! memory and what is already installed.
//!
//! The rule, in order:
//! 1. a model *fits* when it needs at most 60% of total memory (`ram_mb`
//!    from the catalogue: weights + KV cache + runtime), leaving the rest to
//!    the system and the person's other programs; it is *quick* when a
//!    typical request takes at most about 2 s here, as estimated from the
//!    threads, the memory bandwidth class and the model's size
//!    ([`crate::hardware::estimate`]);
//! 2. the largest installed model that fits and is quick;
//! 3. else the catalogue default, when it fits;
//! 4. else the smallest model that fits;
//! 5. else (nothing fits) the smallest model of all.
//!
//! So a fresh machine never silently downloads a big model: it gets the
//! default (or a smaller one where the default would not fit), and a bigger
//! model is only used once the person pulled it. Only total memory counts,
//! not what is free right now: the running daemon's own memory would
//! otherwise make the choice flip from one request to the next.
//! [`recommended`] names the largest model that fits and is quick, for
//! `model list --fits` and `cmdai doctor` to suggest: memory alone would
//! advise the 7B on a 2-core machine, where each request takes seconds.

use super::catalog::{Catalog, ModelSpec};
use crate::hardware::{self, Speed, QUICK_REQUEST_S};

/// Share of total memory a model may need, in percent.
pub const MAX_SHARE_PERCENT: u64 = 60;

/// Whether a model needing `ram_mb` fits a machine with `total_mb`; with
/// memory unknown, everything is taken to fit.
pub fn fits(ram_mb: u64, total_mb: Option<u64>) -> bool {
    total_mb.is_none_or(|t| ram_mb * 100 <= t * MAX_SHARE_PERCENT)
}

/// Seconds a typical request takes with `spec` at `speed`; `None` when the
/// catalogue gives no size.
pub fn request_seconds(spec: &ModelSpec, speed: Speed) -> Option<f64> {
    let bytes = spec.expected_size()?;
    let params =
        hardware::parse_params(&spec.params).unwrap_or_else(|| hardware::params_from_bytes(bytes));
    Some(hardware::estimate(speed, bytes, params).request_s)
}

/// Whether a typical request with `spec` takes at most about 2 s at `speed`
/// (a model of unknown size counts as quick).
pub fn quick(spec: &ModelSpec, speed: Speed) -> bool {
    request_seconds(spec, speed).is_none_or(|s| s <= QUICK_REQUEST_S)
}

/// The automatic choice and why, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice<'a> {
    pub spec: &'a ModelSpec,
    pub reason: String,
}

/// Applies the rule above; `installed` says whether a model is on disk.
pub fn auto_choice<'a>(
    cat: &'a Catalog,
    total_mb: Option<u64>,
    speed: Speed,
    installed: &dyn Fn(&ModelSpec) -> bool,
) -> Choice<'a> {
    let mem = total_mb.map_or("memory unknown".to_string(), |t| {
        format!("{:.0} GB of memory", t as f64 / 1024.0)
    });
    let fitting = || cat.models.iter().filter(|m| fits(m.ram_mb, total_mb));
    if let Some(spec) = fitting()
        .filter(|m| installed(m) && quick(m, speed))
        .max_by_key(|m| m.ram_mb)
    {
        return Choice {
            spec,
            reason: format!(
                "the largest installed model that fits {mem} and answers in about {QUICK_REQUEST_S:.0} s or less with {} threads",
                speed.threads
            ),
        };
    }
    let default = cat.default_model();
    if fits(default.ram_mb, total_mb) {
        return Choice {
            spec: default,
            reason: format!("the catalogue default; no larger installed model fits {mem}"),
        };
    }
    if let Some(spec) = fitting().min_by_key(|m| m.ram_mb) {
        return Choice {
            spec,
            reason: format!(
                "the default needs {} MB, more than {MAX_SHARE_PERCENT}% of {mem}",
                default.ram_mb
            ),
        };
    }
    let spec = cat
        .models
        .iter()
        .min_by_key(|m| m.ram_mb)
        .unwrap_or(default);
    Choice {
        spec,
        reason: format!("no model fits comfortably in {mem}; the smallest one"),
    }
}

/// The largest model that fits and is quick: the one worth pulling here.
pub fn recommended(cat: &Catalog, total_mb: Option<u64>, speed: Speed) -> Option<&ModelSpec> {
    cat.models
        .iter()
        .filter(|m| fits(m.ram_mb, total_mb) && quick(m, speed))
        .max_by_key(|m| m.ram_mb)
}

/// Memory sizes shown in the table of `cmdai model list --fits`, in GB.
pub const TABLE_GB: [u64; 6] = [2, 4, 8, 16, 32, 64];

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1024;

    /// A machine fast enough for every catalogue model: memory decides.
    const FAST: Speed = Speed {
        threads: 16,
        class: hardware::BandwidthClass::Workstation,
    };

    fn ids(cat: &Catalog, installed: &[&str]) -> Vec<(u64, String, Option<String>)> {
        TABLE_GB
            .iter()
            .map(|&gb| {
                let total = Some(gb * GB);
                let c = auto_choice(cat, total, FAST, &|m| installed.contains(&m.id.as_str()));
                (
                    gb,
                    c.spec.id.clone(),
                    recommended(cat, total, FAST).map(|m| m.id.clone()),
                )
            })
            .collect()
    }

    #[test]
    fn fresh_machine_gets_the_default_or_smaller() {
        let cat = Catalog::embedded().unwrap();
        let r = ids(&cat, &[]);
        let want = [
            (
                2,
                "qwen2.5-coder-0.5b-q4_k_m",
                Some("qwen2.5-coder-0.5b-q4_k_m"),
            ),
            (
                4,
                "qwen2.5-coder-1.5b-q4_k_m",
                Some("qwen2.5-coder-1.5b-q4_k_m"),
            ),
            (
                8,
                "qwen2.5-coder-1.5b-q4_k_m",
                Some("qwen2.5-coder-3b-q4_k_m"),
            ),
            (
                16,
                "qwen2.5-coder-1.5b-q4_k_m",
                Some("qwen2.5-coder-7b-q4_k_m"),
            ),
            (
                32,
                "qwen2.5-coder-1.5b-q4_k_m",
                Some("qwen2.5-coder-7b-q4_k_m"),
            ),
            (
                64,
                "qwen2.5-coder-1.5b-q4_k_m",
                Some("qwen2.5-coder-7b-q4_k_m"),
            ),
        ];
        for ((gb, id, rec), (wgb, wid, wrec)) in r.iter().zip(want) {
            assert_eq!((*gb, id.as_str(), rec.as_deref()), (wgb, wid, wrec));
        }
    }

    #[test]
    fn the_largest_installed_model_that_fits_wins() {
        let cat = Catalog::embedded().unwrap();
        let all = [
            "qwen2.5-coder-0.5b-q4_k_m",
            "qwen2.5-coder-1.5b-q4_k_m",
            "qwen2.5-coder-3b-q4_k_m",
            "qwen2.5-coder-7b-q4_k_m",
        ];
        let chosen: Vec<String> = ids(&cat, &all).into_iter().map(|r| r.1).collect();
        assert_eq!(
            chosen,
            [
                "qwen2.5-coder-0.5b-q4_k_m",
                "qwen2.5-coder-1.5b-q4_k_m",
                "qwen2.5-coder-3b-q4_k_m",
                "qwen2.5-coder-7b-q4_k_m",
                "qwen2.5-coder-7b-q4_k_m",
                "qwen2.5-coder-7b-q4_k_m",
            ]
        );
        // Only the 7B installed, on 8 GB: it would swap, so the default.
        let c = auto_choice(&cat, Some(8 * GB), FAST, &|m| m.id.contains("7b"));
        assert_eq!(c.spec.id, "qwen2.5-coder-1.5b-q4_k_m");
        assert!(c.reason.contains("default"), "{}", c.reason);
    }

    #[test]
    fn tiny_and_unknown_machines() {
        let cat = Catalog::embedded().unwrap();
        let c = auto_choice(&cat, Some(1024), FAST, &|_| false);
        assert_eq!(c.spec.id, "qwen2.5-coder-0.5b-q4_k_m");
        assert!(c.reason.contains("no model fits"), "{}", c.reason);
        assert_eq!(recommended(&cat, Some(1024), FAST), None);
        // Unknown memory: trust what is installed, else the default.
        let c = auto_choice(&cat, None, FAST, &|_| false);
        assert_eq!(c.spec.id, "qwen2.5-coder-1.5b-q4_k_m");
        assert!(fits(100_000, None));
        assert!(fits(600, Some(1000)) && !fits(601, Some(1000)));
    }

    #[test]
    fn two_threads_are_advised_a_model_that_answers_quickly() {
        let cat = Catalog::embedded().unwrap();
        let two = Speed {
            threads: 2,
            class: hardware::BandwidthClass::Small,
        };
        // 64 GB fits every model; on 2 threads the 7B takes seconds.
        let seven = cat.get("qwen2.5-coder-7b-q4_k_m").unwrap();
        assert!(request_seconds(seven, two).unwrap() > 3.0);
        let rec = recommended(&cat, Some(64 * GB), two).unwrap();
        assert_ne!(rec.id, seven.id);
        assert!(request_seconds(rec, two).unwrap() <= QUICK_REQUEST_S);
        // Installed but slow here: not chosen automatically either.
        let c = auto_choice(&cat, Some(64 * GB), two, &|m| m.id == seven.id);
        assert_eq!(c.spec.id, "qwen2.5-coder-1.5b-q4_k_m");
    }
}
