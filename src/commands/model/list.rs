//! `cmdai model list`: the catalogue and imported models, with size, memory
//! needed, installed, active, whether each fits this machine and how long a
//! typical request takes with it here (estimated, [`crate::hardware::estimate`]);
//! `--fits` adds the table of which model suits which memory size.

use crate::error::{exit, Result};
use crate::hardware::Speed;
use crate::models::catalog::{human_bytes, Catalog};
use crate::models::resolve::{active, Target};
use crate::models::{model_path, select};
use crate::settings::Settings;
use std::path::Path;

/// "~0.9 s", the estimate shown beside each model.
fn seconds(s: Option<f64>) -> String {
    s.map_or("?".into(), |s| format!("~{s:.1} s"))
}

pub fn run(
    cat: &Catalog,
    s: &Settings,
    cache: &Path,
    only_installed: bool,
    only_fits: bool,
) -> Result<i32> {
    let total = crate::hardware::memory().map(|m| m.total_mb);
    let speed = Speed::here(s.machine_threads);
    let act = active(cat, s).ok();
    let active_name = act.as_ref().map(|a| a.name().to_string());
    let is_active = |name: &str| active_name.as_deref() == Some(name);
    crate::outln!(
        "{:<28} {:>15} {:>8} {:<10} {:<5} {:>8} ",
        "ID",
        "SIZE",
        "RAM",
        "INSTALLED",
        "FITS",
        "REQUEST"
    );
    for spec in &cat.models {
        let installed = model_path(cache, spec).is_file();
        let fits = select::fits(spec.ram_mb, total);
        if (only_installed && !installed) || (only_fits && !fits) {
            continue;
        }
        crate::outln!(
            "{:<28} {:>15} {:>8} {:<10} {:<5} {:>8} {}",
            spec.id,
            spec.human_size(),
            format!("{} MB", spec.ram_mb),
            if installed { "yes" } else { "no" },
            if fits { "yes" } else { "no" },
            seconds(select::request_seconds(spec, speed)),
            if is_active(&spec.id) { "(active)" } else { "" }
        );
    }
    for (name, path) in &crate::config::file().custom_models {
        let size = std::fs::metadata(path).ok().map(|m| m.len());
        // A custom model's memory need is unknown; its file size + 30% is a fair guess.
        let ram_mb = size.map(|b| b / 1_000_000 * 13 / 10);
        let fits = ram_mb.is_some_and(|r| select::fits(r, total));
        if (only_installed && size.is_none()) || (only_fits && !fits) {
            continue;
        }
        let request = size.map(|b| {
            crate::hardware::estimate(speed, b, crate::hardware::params_from_bytes(b)).request_s
        });
        crate::outln!(
            "{:<28} {:>15} {:>8} {:<10} {:<5} {:>8} {}",
            name,
            size.map_or("missing".into(), human_bytes),
            ram_mb.map_or("?".into(), |r| format!("~{r} MB")),
            if size.is_some() { "custom" } else { "missing" },
            if fits { "yes" } else { "no" },
            seconds(request),
            if is_active(name) { "(active)" } else { "" }
        );
    }
    if let Some(a) = &act {
        if matches!(a.target, Target::File { .. }) && !is_active_listed(cat, a.name()) {
            crate::outln!("active: {} ({})", a.name(), a.reason);
        }
    }
    if only_fits {
        print_table(cat, cache, total, speed);
    }
    match total {
        Some(t) => eprintln!(
            "this machine: {t} MB memory; a model fits when it needs at most {}% of it",
            select::MAX_SHARE_PERCENT
        ),
        None => eprintln!("this machine's memory is unknown; every model is listed as fitting"),
    }
    eprintln!(
        "REQUEST: a typical request's time here, estimated for {} threads and {} memory bandwidth",
        speed.threads,
        speed.class.label()
    );
    Ok(exit::OK)
}

fn is_active_listed(cat: &Catalog, name: &str) -> bool {
    cat.get(name).is_some() || crate::config::file().custom_models.contains_key(name)
}

/// Which model suits which memory size: the largest that fits (worth
/// pulling) and what the automatic choice would be with what is installed.
fn print_table(cat: &Catalog, cache: &Path, total: Option<u64>, speed: Speed) {
    let installed = |m: &crate::models::ModelSpec| model_path(cache, m).is_file();
    crate::outln!();
    crate::outln!(
        "MEMORY       LARGEST QUICK ONE THAT FITS  AUTO CHOICE WITH WHAT IS INSTALLED HERE"
    );
    let mut rows: Vec<(String, Option<u64>)> = select::TABLE_GB
        .iter()
        .map(|gb| (format!("{gb} GB"), Some(gb * 1024)))
        .collect();
    if let Some(t) = total {
        rows.push((format!("this ({:.0} GB)", t as f64 / 1024.0), Some(t)));
    }
    for (label, mem) in rows {
        let rec = select::recommended(cat, mem, speed).map_or("none", |m| m.id.as_str());
        let auto = select::auto_choice(cat, mem, speed, &installed);
        crate::outln!("{label:<12} {rec:<28} {}", auto.spec.id);
    }
    if let Some(rec) = select::recommended(cat, total, speed).filter(|m| !installed(m)) {
        crate::outln!(
            "for this machine: `cmdai model pull {}` ({}, {} per request), then `cmdai model use {}` or let the automatic choice pick it",
            rec.id,
            rec.human_size(),
            seconds(select::request_seconds(rec, speed)),
            rec.id
        );
    }
}
