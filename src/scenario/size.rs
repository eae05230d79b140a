//! How big a scenario's replication is: the memory estimate a run is planned with, and the
//! limits that refuse a scenario that could not be held.

use super::parse::Parser;
use super::*;

/// The most memory one replication may need, as validation estimates it from the scenario
/// (the zones' state, the network's edges, the NK tables): 32 GiB. A scenario above it is refused.
pub const REPLICATION_BUDGET: u64 = 32 << 30;

/// The most memory the NK contribution tables of one replication may take (contexts x N x
/// 2^(K+1) values of 4 bytes): 4 GiB. They are built before the first tick, so a scenario
/// over it is refused rather than left to fail.
pub const NK_TABLE_BUDGET: u64 = 4 << 30;

impl Scenario {
    /// Expected edges of the network (for the size estimate).
    pub(super) fn network_edges(&self) -> f64 {
        let zones = self.total_zones() as f64;
        let pairs = |m: f64| m * (m - 1.0).max(0.0) / 2.0;
        let net = &self.network;
        match net.kind {
            NetworkKind::Full | NetworkKind::None => 0.0,
            NetworkKind::Linear => zones,
            NetworkKind::Ring | NetworkKind::SmallWorld => zones * (net.degree / 2) as f64,
            NetworkKind::Random => net.density * pairs(zones),
            NetworkKind::Regional => {
                let mut sizes = vec![0f64; self.regions.len()];
                for (r, reg) in self.regions.iter().enumerate() {
                    sizes[r] += reg.zones as f64;
                }
                for e in &self.events {
                    if let Action::AddZones { region, count, .. } = e.action {
                        sizes[region] += count as f64;
                    }
                }
                let within: f64 = sizes.iter().map(|&m| pairs(m)).sum();
                net.p_within * within + net.p_between * (pairs(zones) - within)
            }
        }
    }

    /// An estimate, in bytes, of the memory one replication holds at once: the zones'
    /// state (current and next policy, lineage, counters, the observation history), the
    /// network's edge list and the NK tables. A run holds about this much per replication
    /// running at the same time (one per worker thread), besides its outputs and, where
    /// landscapes are tabulated, up to 16 MiB of spare tables per worker thread kept for
    /// reuse (`tabulate::recycle`). Validation
    /// refuses a scenario whose estimate is above [`REPLICATION_BUDGET`]. Saturates at
    /// `u64::MAX` rather than wrapping.
    pub(crate) fn estimated_bytes_per_replication(&self) -> u64 {
        let zones = self.total_zones() as f64;
        let n = self.landscape.n as f64;
        let per_zone = 2.0 * (120.0 + 4.0 * n) + 48.0 + 8.0 * (self.centre.observation_lag as f64 + 1.0);
        let table = self.tabulated_bytes().unwrap_or(0) as f64;
        let nk = if self.landscape.kind == LandscapeKind::Nk {
            let context = n * 4.0 * 2f64.powi(self.landscape.k as i32 + 1);
            // The enumeration of the maximum and the table works on a copy of one
            // context's table (padded, or widened: never much larger), while it runs.
            let enumerated = self.landscape.normalise || table > 0.0;
            (self.contexts() as f64 + enumerated as u8 as f64) * context
        } else {
            0.0
        };
        let bytes = zones * per_zone + 24.0 * self.network_edges() + nk + table;
        // `as` saturates: an estimate beyond u64 reads as u64::MAX.
        bytes.ceil() as u64
    }
}

impl Scenario {
    /// The bytes of the tabulated landscape (every fully set policy's fitness sum, per
    /// distinct context table) when this scenario's replications keep one, else None.
    /// Tabulated: an NK landscape that never changes (no turbulence, none set by an
    /// event), small enough for [`TABULATE_BUDGET`], and either normalised (its 2^N
    /// policies are enumerated anyway, and keeping the sums costs little more) or with
    /// enough zone-ticks to repay the table. A fitness is then one lookup, not N.
    pub(crate) fn tabulated_bytes(&self) -> Option<u64> {
        let l = &self.landscape;
        let turbulent = l.turbulence > 0.0
            || self
                .events
                .iter()
                .any(|e| matches!(&e.action, Action::Set { parameter, .. } if parameter.key == "turbulence"));
        if l.kind != LandscapeKind::Nk || turbulent || l.n > crate::model::tabulate::MAX_N {
            return None;
        }
        let used = self.used_contexts();
        let tables =
            if used.len() <= 1 || l.context_similarity >= 1.0 { 1 } else { used.iter().filter(|&&u| u).count() as u64 };
        let bytes = tables * (4u64 << l.n);
        let zone_ticks = self.total_zones().saturating_mul(self.run.ticks as u64);
        // A table costs about a sixty-fourth of a fitness evaluation per entry.
        let repays = l.normalise || zone_ticks.saturating_mul(64) >= 1u64 << l.n;
        (bytes <= TABULATE_BUDGET && repays && std::env::var_os("ESH_NO_TABLE").is_none()).then_some(bytes)
    }
}

/// The most memory a replication's tabulated landscape may take: N = 22 with one
/// context table, N = 20 with four.
pub(crate) const TABULATE_BUDGET: u64 = 16 << 20;

impl Parser<'_> {
    /// Whether the between-region edges outnumber the within-region ones.
    pub(super) fn regional_between_dominates(&self, s: &Scenario) -> bool {
        let pairs = |m: f64| m * (m - 1.0).max(0.0) / 2.0;
        let within: f64 = s.regions.iter().map(|r| pairs(r.zones as f64)).sum();
        let between = pairs(s.total_zones() as f64) - within;
        s.network.p_between * between > s.network.p_within * within
    }

    /// Rejects scenarios whose network or state would not fit: the network's edge list
    /// is indexed with 32 bits, and a scenario that needs tens of GiB is almost always a
    /// mistake (a dense default network over very many zones).
    pub(super) fn check_size(&self, s: &Scenario) -> Result<(), ScenarioError> {
        let zones = s.total_zones() as f64;
        let net = &s.network;
        let edges = s.network_edges();
        let key = match net.kind {
            NetworkKind::Random => "network.density",
            NetworkKind::Regional if self.regional_between_dominates(s) => "network.p_between",
            NetworkKind::Regional => "network.p_within",
            _ => "network.degree",
        };
        if 2.0 * edges > (u32::MAX / 2) as f64 {
            return Err(self
                .err_at(key, format!("the network would have about {:.2e} edges over {zones} zones; at most about 1e9 are supported", edges))
                .help("lower the edge probability or degree, or use network.kind = \"full\" (kept implicit, no edge list)"));
        }
        let bytes = s.estimated_bytes_per_replication() as f64;
        if bytes > REPLICATION_BUDGET as f64 {
            return Err(self
                .err_at("regions", format!("one replication would need about {:.0} GiB of memory ({zones} zones, {:.2e} edges)", bytes / (1u64 << 30) as f64, edges))
                .help("the limit is 32 GiB per replication: use fewer zones, a sparser network, or a shorter centre.observation_lag"));
        }
        Ok(())
    }
}
