//! What the record store (src/store.rs) adds to a request: appending the
//! request's history line to a history of 4,500 records (the quick way, one
//! locked append), remembering a correction in a memory of 900 (read all,
//! append, synced to disk), and reading all 5,000 history records (what
//! `cmdai history` and a memory recall cost). Medians of single calls are
//! printed besides criterion's estimates, in the dev profile the tests use.
//!
//! Run: `cargo bench --profile dev --bench store`.

use cmdai::pipeline::history::History;
use cmdai::safety::Risk;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let h = History::new(dir.path());
    for i in 0..4500 {
        h.append(
            &format!("find the large files in project {i}"),
            "find . -type f -size +100M",
            Risk::Safe,
            "/home/me/src",
            None,
        )
        .unwrap();
    }
    // 200 more: still under the 5,000 cap, so each is the quick append.
    let times: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            h.append(
                "show free disk space",
                "df -h",
                Risk::Safe,
                "/home/me",
                None,
            )
            .unwrap();
            t.elapsed()
        })
        .collect();
    println!("history append (4,500 records): median {:?}", median(times));
    let times: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(h.list());
            t.elapsed()
        })
        .collect();
    println!("history read (4,700 records): median {:?}", median(times));

    let mem = cmdai::pipeline::memory::Store::new(dir.path());
    for i in 0..900 {
        mem.add(
            &format!("list the files of folder {i}"),
            "ls -la",
            None,
            dir.path(),
        )
        .unwrap();
    }
    let times: Vec<Duration> = (0..30)
        .map(|i| {
            let t = Instant::now();
            mem.add(&format!("show disk usage {i}"), "du -sh", None, dir.path())
                .unwrap();
            t.elapsed()
        })
        .collect();
    println!(
        "memory add (900 records, synced): median {:?}",
        median(times)
    );

    c.bench_function("history_read_4700", |b| b.iter(|| h.list()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3));
    targets = store
}
criterion_main!(benches);
