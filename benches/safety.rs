//! Criterion bench: assessments per second over the tldr corpus.
//!
//! Reads `../shared/eval/tldr_common_linux.jsonl` (relative to the crate's
//! parent directory, or /work/shared/eval/...), assesses every command once
//! to report throughput and the median time per command, then lets criterion
//! time a full pass.

use cmdai::safety::{assess, Context};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn corpus() -> Option<Vec<String>> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let parent = manifest
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let candidates = [
        parent.join("shared/eval/tldr_common_linux.jsonl"),
        manifest.join("../../shared/eval/tldr_common_linux.jsonl"),
        PathBuf::from("/work/shared/eval/tldr_common_linux.jsonl"),
    ];
    let path = candidates.iter().find(|p| p.is_file())?;
    let text = std::fs::read_to_string(path).ok()?;
    let mut cmds = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let flag = |k: &str| v.get(k).and_then(|x| x.as_bool()).unwrap_or(false);
        if flag("interactive") || flag("keystroke") || flag("tldr_meta") {
            continue;
        }
        if let Some(c) = v.get("cmd").and_then(|x| x.as_str()) {
            cmds.push(c.to_string());
        }
    }
    Some(cmds)
}

fn bench(c: &mut Criterion) {
    let Some(cmds) = corpus() else {
        eprintln!("tldr corpus not found (../shared/eval/tldr_common_linux.jsonl); skipping bench");
        return;
    };
    let ctx = Context::default();
    // Warm up, then time each command individually for the median.
    for cmd in &cmds {
        black_box(assess(cmd, &ctx));
    }
    let mut times: Vec<Duration> = Vec::with_capacity(cmds.len());
    let start = Instant::now();
    for cmd in &cmds {
        let t = Instant::now();
        black_box(assess(black_box(cmd), &ctx));
        times.push(t.elapsed());
    }
    let total = start.elapsed();
    times.sort();
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    println!(
        "tldr corpus: {} commands in {:?}: {:.0} assessments/s, median {:.2} µs, p99 {:.2} µs, max {:.2} µs",
        cmds.len(),
        total,
        cmds.len() as f64 / total.as_secs_f64(),
        median.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        times[times.len() - 1].as_secs_f64() * 1e6,
    );
    let mut group = c.benchmark_group("safety");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(criterion::Throughput::Elements(cmds.len() as u64));
    group.bench_function("assess_tldr_corpus", |b| {
        b.iter(|| {
            for cmd in &cmds {
                black_box(assess(black_box(cmd), &ctx));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
