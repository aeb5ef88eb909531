//! What this machine has: memory and cores, to say which models fit and how
//! many threads to use, and how fast a model will answer here.
//!
//! Linux reads `/proc/meminfo`; macOS asks `sysctl`. Unknown values are
//! `None`, and callers then assume nothing fits or does not fit.
//!
//! Speed ([`estimate`]): writing a token streams every weight from memory
//! once, so generation runs at about (memory bandwidth the threads can
//! draw) / (model bytes); reading the request is arithmetic, about (threads
//! x each core's rate) / (2 x parameters) tokens per second. Both rates
//! per thread are calibrated on the development machine's measurement
//! (`benches/results/latency.json`: 2 threads, the 1.5B Q4_K_M model, 21.3
//! ms per request token and 35.3 ms per generated token, medians of 20
//! requests, 853 ms for a warm request); the bandwidth all threads together
//! can draw is capped by the machine's class ([`BandwidthClass`]). A typical
//! request reads 23 tokens and writes 9 (the same medians).

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

/// How much memory bandwidth a machine has in all, by kind: what caps
/// generation however many threads run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandwidthClass {
    /// Up to 4 cores: a laptop or small VM, dual-channel memory.
    Small,
    /// 5 to 16 cores: a desktop, dual-channel DDR4/DDR5.
    Desktop,
    /// More than 16 cores: a workstation or server, many channels.
    Workstation,
    /// Apple silicon: unified memory.
    Unified,
}

impl BandwidthClass {
    /// This machine's class, from its cores and platform.
    pub fn of_this_machine() -> BandwidthClass {
        if cfg!(all(target_os = "macos", target_arch = "aarch64")) {
            return BandwidthClass::Unified;
        }
        match physical_cores() {
            0..=4 => BandwidthClass::Small,
            5..=16 => BandwidthClass::Desktop,
            _ => BandwidthClass::Workstation,
        }
    }

    /// Bandwidth all threads together can draw, in GB/s.
    pub fn cap_gb_s(self) -> f64 {
        match self {
            BandwidthClass::Small => 35.0,
            BandwidthClass::Desktop => 60.0,
            BandwidthClass::Workstation => 150.0,
            BandwidthClass::Unified => 100.0,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BandwidthClass::Small => "small (dual-channel, up to 4 cores)",
            BandwidthClass::Desktop => "desktop (dual-channel)",
            BandwidthClass::Workstation => "workstation (many channels)",
            BandwidthClass::Unified => "unified (Apple silicon)",
        }
    }
}

/// What decides how fast a model runs here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    pub threads: usize,
    pub class: BandwidthClass,
}

impl Speed {
    /// This machine with `threads` inference threads.
    pub fn here(threads: usize) -> Speed {
        Speed {
            threads: threads.max(1),
            class: BandwidthClass::of_this_machine(),
        }
    }
}

/// Memory bandwidth one thread draws while generating, GB/s (calibrated:
/// 1.117 GB x 28.4 tokens/s / 2 threads).
const STREAM_GB_S_PER_THREAD: f64 = 15.9;
/// Arithmetic one thread does while reading a request, GFLOP/s (calibrated:
/// 47 tokens/s x 2 x 1.5e9 parameters / 2 threads).
const GFLOPS_PER_THREAD: f64 = 70.5;
/// A typical request: tokens read (the request turn after the cached
/// prompt prefix) and written, and what is neither (milliseconds).
pub const TYPICAL_PROMPT_TOKENS: f64 = 23.0;
pub const TYPICAL_ANSWER_TOKENS: f64 = 9.0;
const TYPICAL_OVERHEAD_S: f64 = 0.05;
/// The longest a typical request should take for a model to be advised.
pub const QUICK_REQUEST_S: f64 = 2.0;

/// How fast a model answers on a machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Tokens written per second.
    pub generate_tok_s: f64,
    /// Request tokens read per second.
    pub prompt_tok_s: f64,
    /// Seconds for a typical request.
    pub request_s: f64,
}

/// The estimate for a model of `bytes` (its file) and `params` parameters.
pub fn estimate(speed: Speed, bytes: u64, params: f64) -> Estimate {
    let threads = speed.threads as f64;
    let bandwidth = (threads * STREAM_GB_S_PER_THREAD).min(speed.class.cap_gb_s()) * 1e9;
    let generate_tok_s = bandwidth / (bytes.max(1) as f64);
    let prompt_tok_s = threads * GFLOPS_PER_THREAD * 1e9 / (2.0 * params.max(1.0));
    let request_s = TYPICAL_PROMPT_TOKENS / prompt_tok_s
        + TYPICAL_ANSWER_TOKENS / generate_tok_s
        + TYPICAL_OVERHEAD_S;
    Estimate {
        generate_tok_s,
        prompt_tok_s,
        request_s,
    }
}

/// Parameters from a label ("1.5B", "494M"); `None` when it does not say.
pub fn parse_params(label: &str) -> Option<f64> {
    let l = label.trim().to_ascii_uppercase();
    let (num, scale) = if let Some(n) = l.strip_suffix('B') {
        (n, 1e9)
    } else if let Some(n) = l.strip_suffix('M') {
        (n, 1e6)
    } else {
        return None;
    };
    num.trim().parse::<f64>().ok().map(|n| n * scale)
}

/// Parameters of a model known only by its file size (about 0.75 bytes
/// each at Q4_K_M, the catalogue's quantisation).
pub fn params_from_bytes(bytes: u64) -> f64 {
    bytes as f64 / 0.75
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_match_the_calibration_and_weigh_size() {
        let two = Speed {
            threads: 2,
            class: BandwidthClass::Small,
        };
        // The measured machine and model: 853 ms for a warm request.
        let e = estimate(two, 1_117_320_768, 1.5e9);
        assert!((e.request_s - 0.86).abs() < 0.05, "{e:?}");
        assert!((e.generate_tok_s - 28.4).abs() < 1.0, "{e:?}");
        // The 7B on 2 threads is several seconds; on 16 it is quick.
        let seven = |s| estimate(s, 4_680_000_000, 7e9).request_s;
        assert!(seven(two) > 3.0);
        let sixteen = Speed {
            threads: 16,
            class: BandwidthClass::Desktop,
        };
        assert!(seven(sixteen) < QUICK_REQUEST_S);
        // Bandwidth is capped by the class, not by threads alone.
        let many = Speed {
            threads: 64,
            class: BandwidthClass::Small,
        };
        assert!(estimate(many, 4_680_000_000, 7e9).generate_tok_s < 8.0);
        assert_eq!(parse_params("1.5B"), Some(1.5e9));
        assert_eq!(parse_params("494M"), Some(494e6));
        assert_eq!(parse_params("big"), None);
    }

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
