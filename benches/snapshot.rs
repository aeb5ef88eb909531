//! How long the folder snapshot takes (harness = false): the client reads
//! it before every request ([`cmdai::pipeline::folder`]), so it must stay a few
//! milliseconds whatever the folder.
//!
//! Folders: a small project (a Rust crate with git, logs and an archive),
//! the same asked a git question (which runs `git status`), a folder of
//! 100,000 files, a folder that vanished, and one that cannot be listed
//! (mode 0311; as root, which reads any folder, the snapshot runs in a
//! child process as `nobody`). Each is read 200 times (100,000-entry folder:
//! 200 too); median and p99 are printed and written to
//! `benches/results/snapshot.json`.
//!
//! ```text
//! cargo bench --profile dev --bench snapshot
//! ```

#[path = "common/project.rs"]
mod project;

use cmdai::pipeline::folder::Snapshot;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const RUNS: usize = 200;

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i]
}

/// Milliseconds of `RUNS` snapshots of `dir` for `request`.
fn time(dir: &Path, request: &str) -> Vec<f64> {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            let s = Snapshot::read(dir, request);
            std::hint::black_box(s.render(request));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

fn main() {
    // The unreadable-folder run, as `nobody` (see below): print the times.
    if let Some(dir) = std::env::var_os("CMDAI_SNAPSHOT_CHILD_DIR") {
        let ms = time(Path::new(&dir), "delete the logs");
        println!(
            "{}",
            ms.iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        return;
    }
    let mut report = serde_json::Map::new();
    let mut row = |name: &str, mut ms: Vec<f64>| {
        let (med, p99) = (percentile(&mut ms, 0.5), percentile(&mut ms, 0.99));
        println!("{name:<44} median {med:>7.3} ms   p99 {p99:>7.3} ms");
        report.insert(
            name.to_string(),
            serde_json::json!({ "median_ms": med, "p99_ms": p99, "runs": ms.len() }),
        );
    };

    let small = tempfile::tempdir().unwrap();
    project::rust_project_in_git(small.path());
    row(
        "small project, 'delete the logs'",
        time(small.path(), "delete the logs"),
    );
    row(
        "small project, 'run the tests'",
        time(small.path(), "run the tests"),
    );
    row(
        "small project, 'push it' (git status)",
        time(small.path(), "push it"),
    );

    let huge = tempfile::tempdir().unwrap();
    eprintln!("snapshot: creating 100,000 files");
    for i in 0..100_000 {
        std::fs::write(huge.path().join(format!("file-{i:06}.log")), "").unwrap();
    }
    row(
        "100,000 files, 'delete the logs'",
        time(huge.path(), "delete the logs"),
    );

    let gone = small.path().join("gone");
    row("vanished folder", time(&gone, "delete the logs"));

    // Unreadable: listing fails with EACCES.
    use std::os::unix::fs::PermissionsExt;
    let locked = tempfile::tempdir().unwrap();
    std::fs::write(locked.path().join("a.log"), "").unwrap();
    std::fs::set_permissions(locked.path(), std::fs::Permissions::from_mode(0o311)).unwrap();
    if nix::unistd::geteuid().is_root() {
        // Time it as `nobody`, in a child of this bench.
        let out = Command::new(std::env::current_exe().unwrap())
            .env("CMDAI_SNAPSHOT_CHILD_DIR", locked.path())
            .arg("--child")
            .uid_gid(65534)
            .output()
            .unwrap();
        let ms: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        if ms.len() == RUNS {
            row("unreadable folder (as nobody)", ms);
        } else {
            eprintln!(
                "snapshot: the unreadable-folder child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    } else {
        row("unreadable folder", time(locked.path(), "delete the logs"));
    }

    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results/snapshot.json");
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&serde_json::Value::Object(report)).unwrap(),
    )
    .unwrap();
    println!("wrote {}", out.display());
}

trait UidGid {
    fn uid_gid(&mut self, id: u32) -> &mut Self;
}

impl UidGid for Command {
    fn uid_gid(&mut self, id: u32) -> &mut Self {
        use std::os::unix::process::CommandExt;
        self.uid(id).gid(id)
    }
}
