//! The memory a run needs as it will execute, and the memory the machine has for it.

use std::fmt;

/// How a run's memory need is checked before it starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemoryCheck {
    /// Against the memory available now (Linux: MemAvailable and the cgroup's limit;
    /// other Unix systems: the physical memory; elsewhere not checked).
    #[default]
    Available,
    /// Against this many bytes (`--memory-limit SIZE`).
    Limit(u64),
    /// Not checked (`--memory-limit none`).
    Off,
}

impl MemoryCheck {
    /// Reads `--memory-limit`: a size such as `64G`, `512M`, `2T` or plain bytes, or `none`.
    pub(crate) fn parse(text: &str) -> Result<MemoryCheck, String> {
        if text.trim().eq_ignore_ascii_case("none") {
            return Ok(MemoryCheck::Off);
        }
        parse_size(text)
            .map(MemoryCheck::Limit)
            .ok_or_else(|| format!("`{text}` is not a size; use e.g. 64G, 512M or none"))
    }
}

/// A size in bytes: plain bytes or a number with a unit K, M, G or T (powers of 1024; `G`,
/// `GB` and `GiB` alike, any case), such as `64G`, `512MiB`, `1.5g`. None for anything else,
/// for sizes below one byte (0, 0.5) and beyond u64. Shared by `--memory-limit` and a sweep's `ESH_MEMORY`.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_uppercase().trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    match num.parse::<f64>() {
        Ok(x) if x.is_finite() && x * (scale as f64) >= 1.0 && x * (scale as f64) < u64::MAX as f64 => {
            Some((x * scale as f64) as u64)
        }
        _ => None,
    }
}

/// A run's memory need: what each replication holds, times those running at once, and the
/// outputs waiting to be written in replication order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Need {
    pub(crate) per_replication: f64,
    /// Replications running at once (the threads, at most the replications).
    pub(crate) at_once: usize,
    /// Outputs held in memory before they are written.
    pub(crate) in_flight: f64,
}

impl Need {
    pub(crate) fn total(&self) -> f64 {
        self.per_replication * self.at_once as f64 + self.in_flight
    }

    /// The most replications at once that fit in `bytes` (0 if not even one does).
    pub(crate) fn threads_fitting(&self, bytes: f64) -> usize {
        let left = bytes - self.in_flight;
        if left <= 0.0 {
            return 0;
        }
        (left / self.per_replication.max(1.0)).floor().min(usize::MAX as f64) as usize
    }
}

/// Bytes in a human unit (GiB, MiB, KiB).
pub(crate) fn human(bytes: f64) -> String {
    const K: f64 = 1024.0;
    match bytes {
        b if b >= K * K * K * K => format!("{:.1} TiB", b / (K * K * K * K)),
        b if b >= K * K * K => format!("{:.1} GiB", b / (K * K * K)),
        b if b >= K * K => format!("{:.1} MiB", b / (K * K)),
        b if b >= K => format!("{:.1} KiB", b / K),
        b => format!("{b:.0} B"),
    }
}

/// Where the memory figure a run is checked against came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Have {
    pub(crate) bytes: u64,
    pub(crate) source: &'static str,
}

impl fmt::Display for Have {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", human(self.bytes as f64), self.source)
    }
}

/// The memory available to this process now, when the system says.
pub(crate) fn available() -> Option<Have> {
    let mut best: Option<Have> = None;
    fn take(best: &mut Option<Have>, bytes: u64, source: &'static str) {
        if best.as_ref().is_none_or(|b| bytes < b.bytes) {
            *best = Some(Have { bytes, source });
        }
    }
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo")
        && let Some(kb) = text
            .lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        take(&mut best, kb.saturating_mul(1024), "MemAvailable in /proc/meminfo");
    }
    // A container's cgroup (v2) limit, less what the group uses already.
    if let Ok(max) = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        && let Ok(max) = max.trim().parse::<u64>()
    {
        let used = std::fs::read_to_string("/sys/fs/cgroup/memory.current")
            .ok()
            .and_then(|c| c.trim().parse::<u64>().ok())
            .unwrap_or(0);
        take(&mut best, max.saturating_sub(used), "the cgroup's memory.max");
    }
    #[cfg(unix)]
    if best.is_none() {
        // SAFETY: sysconf only reads system configuration.
        let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
        if pages > 0 && size > 0 {
            take(&mut best, (pages as u64).saturating_mul(size as u64), "the physical memory");
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(MemoryCheck::parse("none"), Ok(MemoryCheck::Off));
        assert_eq!(MemoryCheck::parse("64G"), Ok(MemoryCheck::Limit(64 << 30)));
        assert_eq!(MemoryCheck::parse("512MiB"), Ok(MemoryCheck::Limit(512 << 20)));
        assert_eq!(MemoryCheck::parse("1.5g"), Ok(MemoryCheck::Limit(3 << 29)));
        assert_eq!(MemoryCheck::parse("1000"), Ok(MemoryCheck::Limit(1000)));
        for bad in ["", "-1G", "0", "0.5", "12X", "nan", "1e400"] {
            assert!(MemoryCheck::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn threads_that_fit() {
        let n = Need { per_replication: 100.0, at_once: 8, in_flight: 50.0 };
        assert_eq!(n.total(), 850.0);
        assert_eq!(n.threads_fitting(460.0), 4);
        assert_eq!(n.threads_fitting(40.0), 0);
    }

    #[test]
    fn this_machine_has_memory() {
        if cfg!(unix) {
            assert!(available().is_some_and(|h| h.bytes > 0));
        }
    }
}
