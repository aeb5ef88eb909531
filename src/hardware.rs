//! What this machine has: memory and cores, to say which models fit and how
//! many threads to use.
//!
//! Linux reads `/proc/meminfo`; macOS asks `sysctl`. Unknown values are
//! `None`, and callers then assume nothing fits or does not fit.

/// Physical cores: the default inference threads (hyper-threads share the
/// vector units llama.cpp needs, so more threads than cores only contend).
pub fn physical_cores() -> usize {
    num_cpus::get_physical().max(1)
}

/// Memory of this machine, in MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub total_mb: u64,
    /// What can be used without swapping (MemAvailable).
    pub available_mb: u64,
}

/// Reads the machine's memory, when the OS tells.
pub fn memory() -> Option<Memory> {
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        return parse_meminfo(&text);
    }
    // macOS: total only; take half of it as a cautious "available".
    let out = std::process::Command::new("sysctl")
        .args(["-n", "hw.memsize"])
        .output()
        .ok()?;
    let bytes: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let total_mb = bytes / (1024 * 1024);
    Some(Memory {
        total_mb,
        available_mb: total_mb / 2,
    })
}

fn parse_meminfo(text: &str) -> Option<Memory> {
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb / 1024)
    };
    let total_mb = field("MemTotal:")?;
    let available_mb = field("MemAvailable:").unwrap_or(total_mb / 2);
    Some(Memory {
        total_mb,
        available_mb,
    })
}

/// Whether a model needing `ram_mb` runs here without swapping, with a
/// margin for everything else the person has open.
pub fn fits(ram_mb: u64, mem: Memory) -> bool {
    ram_mb > 0 && ram_mb + ram_mb / 4 <= mem.available_mb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_cores_is_positive() {
        assert!(physical_cores() >= 1);
    }

    #[test]
    fn meminfo_is_read_in_mb() {
        let m = parse_meminfo(
            "MemTotal:       24634936 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n",
        )
        .unwrap();
        assert_eq!(m.total_mb, 24057);
        assert_eq!(m.available_mb, 19531);
        assert!(parse_meminfo("nothing here").is_none());
    }

    #[test]
    fn fitting_keeps_a_margin() {
        let m = Memory {
            total_mb: 8000,
            available_mb: 2000,
        };
        assert!(fits(1500, m));
        assert!(!fits(1800, m));
        assert!(!fits(0, m));
    }

    #[test]
    fn this_machine_reports_memory() {
        let m = memory().expect("memory of this machine");
        assert!(m.total_mb > 0 && m.available_mb <= m.total_mb);
    }
}
