//! One replication: its state and the tick (DESIGN 3), in order: events, turbulence,
//! zones act (in parallel, double-buffered), lineage accounting, centre review.

use crate::model::centre::{Act, Centre, Review};
use crate::model::firm::{self, Population, Rates};
use crate::model::landscape::Landscape;
use crate::model::lineage::{Channel, Lineage, PENDING};
use crate::model::network::Network;
use crate::model::zone::{Dyn, Outcome, StepCtx, Zones, effective_detection, for_each_bit, top_two};
use crate::scenario::{Action, Scenario};

use crate::foundation::StreamKey;

/// The firm module's per-tick rates under the parameters as they stand now.
pub(crate) fn firm_rates(s: &Scenario, n: u32) -> Rates {
    let zones = s.total_zones().max(1);
    let c = &s.centre;
    let hierarchy = if c.review_interval == 0 {
        0.0
    } else {
        firm::hierarchy(c.mandate_share, effective_detection(c.detection, s.zones.supervisors), c.tolerance)
    };
    let mut rates = Rates::new(&s.firms, s.run.ticks_per_year, n, hierarchy);
    rates.zone_cap = (firm::MAX_FIRMS / zones) as usize;
    rates
}

/// Flows of one tick (what happened during it), reported in ticks.csv.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickCounts {
    pub entered: u32,
    pub experiments: u32,
    pub successes: u32,
    pub deviations: u32,
    pub deterred: u32,
    pub imitations: u32,
    pub compliance: u32,
    pub turnover: u32,
    pub new_innovations: u32,
    pub horizontal_adoptions: u32,
    pub vertical_adoptions: u32,
    pub detected: u32,
    pub sanctions: u32,
    pub tolerated: u32,
    pub corrected: u32,
    pub feedback_adoptions: u32,
    pub central_designs: u32,
    pub review: bool,
}

/// The whole state of one replication at its current tick.
pub struct Replication {
    /// Parameters as they stand now (`set` events change them).
    pub scenario: Scenario,
    pub replication: u32,
    pub key: StreamKey,
    pub n: u32,
    pub tick: u32,
    pub landscape: Landscape,
    pub network: Network,
    pub zones: Zones,
    pub centre: Centre,
    pub lineage: Lineage,
    /// Firms inside zones, when `[firms]` is enabled.
    pub firms: Option<Population>,
    pub counts: TickCounts,
    /// Scheduled events and centre acts of the current tick.
    pub acts: Vec<Act>,
    events: Vec<crate::scenario::Event>,
    next: Dyn,
    outcomes: Vec<Outcome>,
    /// Observed performance of the last `observation_lag + 1` ticks (ring buffer).
    history: Vec<Vec<f64>>,
    pub(crate) next_entrant: usize,
    /// Why the run cannot go on (firms outgrew `firm::MAX_FIRMS`); the run loop stops on it.
    pub failure: Option<String>,
}

impl Replication {
    /// Builds tick 0: landscape, network, centre, the zones of the regions, tick-0 events,
    /// after validating the scenario ([`Scenario::validate`]).
    pub fn new(s: &Scenario, replication: u32) -> Result<Replication, String> {
        s.validate("the scenario").map_err(|e| e.to_string())?;
        Replication::build(s, replication)
    }

    /// [`Replication::new`] for a scenario already validated.
    pub(crate) fn build(s: &Scenario, replication: u32) -> Result<Replication, String> {
        let key = StreamKey::new(s.run.seed, replication as u64);
        let n = s.landscape.n;
        let landscape = Landscape::build_for(&s.landscape, &s.used_contexts(), &key);
        // Zone layout: regions in order, then add_zones events in order.
        let mut region = Vec::new();
        let mut level = Vec::new();
        let mut capacity = Vec::new();
        for (r, reg) in s.regions.iter().enumerate() {
            for _ in 0..reg.zones {
                region.push(r as u32);
                level.push(reg.level);
                capacity.push(reg.initial_capacity);
            }
        }
        let initial = region.len();
        for e in &s.events {
            if let Action::AddZones { region: r, count, level: l, capacity: c } = &e.action {
                let reg = &s.regions[*r];
                for _ in 0..*count {
                    region.push(*r as u32);
                    level.push(l.unwrap_or(reg.level));
                    capacity.push(c.unwrap_or(reg.initial_capacity));
                }
            }
        }
        let total = region.len();
        let network = Network::build(&s.network, &region, &key)?;
        let centre = Centre::new(&s.centre, n, total, &landscape, &key);
        let mut cur = Dyn::new(total, n as usize);
        cur.capacity = capacity;
        let context = region.iter().map(|&r| s.regions[r as usize].context).collect();
        let pilot = level.iter().map(|&l| l == crate::scenario::Level::Demonstration).collect();
        let zones =
            Zones { region, context, level, active: vec![false; total], pilot, entry_tick: vec![0; total], cur };
        let mut rep = Replication {
            scenario: s.clone(),
            replication,
            key,
            n,
            tick: 0,
            landscape,
            network,
            next: Dyn::new(total, n as usize),
            outcomes: vec![Outcome::default(); total],
            zones,
            centre,
            lineage: Lineage::default(),
            firms: s.firms.enabled.then(|| Population::new(total, firm_rates(s, n))),
            counts: TickCounts::default(),
            acts: Vec::new(),
            events: s.events.clone(),
            history: Vec::new(),
            next_entrant: initial,
            failure: None,
        };
        for z in 0..initial {
            rep.enter(z);
        }
        let events = std::mem::take(&mut rep.events);
        rep.apply_events(&events);
        rep.events = events;
        rep.history = vec![rep.zones.cur.observed.clone(); s.centre.observation_lag as usize + 1];
        rep.lineage.settle_peaks(0);
        if let Some(f) = rep.firms.as_mut() {
            f.settle();
        }
        rep.check_firms();
        Ok(rep)
    }

    /// Advances one tick.
    pub fn step(&mut self) {
        self.tick += 1;
        self.counts = TickCounts::default();
        self.acts.clear();
        let events = std::mem::take(&mut self.events);
        self.apply_events(&events);
        self.events = events;

        let turbulence = self.scenario.landscape.turbulence;
        if turbulence > 0.0 {
            self.landscape.shake(turbulence, &self.key, self.tick as u64);
            self.centre.update_reference(&self.landscape);
        }
        let reports = self.step_zones(turbulence <= 0.0);
        self.account_lineage(&reports);
        self.step_firms();
        let lag = self.history.len();
        self.history[self.tick as usize % lag].copy_from_slice(&self.zones.cur.observed);

        let interval = self.scenario.centre.review_interval;
        if interval > 0 && self.tick.is_multiple_of(interval) {
            self.review();
        }
        self.lineage.settle_peaks(self.tick);
    }

    fn step_zones(&mut self, landscape_unchanged: bool) -> Vec<super::step::ChunkReport> {
        let s = &self.scenario;
        let full_best = match self.network {
            Network::Full { .. } => {
                let active = &self.zones.active;
                top_two((0..active.len()).filter(|&z| active[z]), &self.zones.cur.observed)
            }
            Network::Csr(_) => [None, None],
        };
        let ctx = StepCtx {
            p: &s.zones,
            n: self.n,
            tick: self.tick,
            streams: self.key.prefix(crate::foundation::Purpose::ZoneStep, self.tick as u64),
            landscape: &self.landscape,
            landscape_unchanged,
            network: &self.network,
            programme: self.centre.programme,
            programme_lineage: &self.centre.lineage,
            mandate: self.centre.mandate,
            reference: &self.centre.reference,
            showcase_best: top_two(self.centre.showcase.iter().map(|&j| j as usize), &self.zones.cur.observed),
            full_best,
            // With no reviews nobody can detect a deviation, so nothing deters it.
            detection: if s.centre.review_interval == 0 {
                0.0
            } else {
                effective_detection(s.centre.detection, s.zones.supervisors)
            },
            tolerance: s.centre.tolerance,
            prev: &self.zones.cur,
            active: &self.zones.active,
            pilot: &self.zones.pilot,
            context: &self.zones.context,
        };
        let reports = super::step::step_zones(&ctx, &mut self.next, &mut self.outcomes);
        std::mem::swap(&mut self.zones.cur, &mut self.next);
        reports
    }

    /// Steps every active zone's firms from the zone's state after this tick's zone step.
    fn step_firms(&mut self) {
        let Some(f) = self.firms.as_mut() else { return };
        let streams = self.key.prefix(crate::foundation::Purpose::Firms, self.tick as u64);
        super::step::step_firms(f, &self.zones, streams);
        f.settle();
        self.check_firms();
    }

    /// Records a failure when a zone's firms reached its share of `firm::MAX_FIRMS`.
    fn check_firms(&mut self) {
        let Some(f) = &self.firms else { return };
        if f.total.capped && self.failure.is_none() {
            self.failure = Some(format!(
                "the firms outgrew what one replication may hold ({} in all, {} a zone) at tick {} (year {}): \
                 births outrun deaths without limit; set firms.carrying (firms per unit of capacity at which \
                 births stop) or lower firms.spinoff_births / firms.seed_births / firms.initial",
                firm::MAX_FIRMS,
                f.rates.zone_cap,
                self.tick,
                self.scenario.year(self.tick)
            ));
        }
    }

    /// Gives new innovations their ids (in zone order, so ids never depend on threads) and
    /// updates holder counts.
    fn account_lineage(&mut self, reports: &[super::step::ChunkReport]) {
        let n = self.n as usize;
        let tick = self.tick;
        let old = &self.next.lineage;
        let new = &mut self.zones.cur.lineage;
        let programme = &self.centre.lineage;
        let c = &mut self.counts;
        // One pass in zone order. A zone drops an id before it adds one, so no count goes
        // below zero; peaks are settled at the end of the tick, so the order in which
        // zones are visited does not matter for them.
        for r in reports {
            c.experiments += r.experiments;
            c.deviations += r.deviations;
            c.deterred += r.deterred;
            c.imitations += r.imitations;
            c.compliance += r.compliance;
            c.turnover += r.turnover;
            c.successes += r.successes;
        }
        for z in reports.iter().flat_map(|r| r.touched.iter().map(|&z| z as usize)) {
            let o = &self.outcomes[z];
            let pol = self.zones.cur.policy[z];
            for_each_bit(o.touched, |i| {
                let was = old[z * n + i];
                let slot = &mut new[z * n + i];
                if *slot == was {
                    return;
                }
                self.lineage.drop_holder(was, tick, programme[i] == was && was != 0);
                if *slot == PENDING {
                    *slot = self.lineage.create(z as u32, tick, i as u32, pol.bits >> i & 1 == 1);
                    self.lineage.add_holder(*slot, Channel::None);
                    c.new_innovations += 1;
                    return;
                }
                let bit = 1u64 << i;
                let channel = if o.complied & bit != 0 {
                    Channel::Vertical
                } else if o.imitated & bit != 0 {
                    Channel::Horizontal
                } else {
                    Channel::None
                };
                self.lineage.add_holder(*slot, channel);
                if *slot != 0 {
                    match channel {
                        Channel::Horizontal => c.horizontal_adoptions += 1,
                        Channel::Vertical => c.vertical_adoptions += 1,
                        Channel::None => {}
                    }
                }
            });
        }
    }

    /// The performance the centre sees: `observation_lag` ticks old, or the zone's first
    /// observation if it entered since.
    fn seen(&self) -> Vec<f64> {
        let lag = self.history.len() as u32 - 1;
        let zones = &self.zones;
        (0..zones.len())
            .map(|z| {
                let at = self.tick.saturating_sub(lag).max(zones.entry_tick[z]);
                self.history[at as usize % self.history.len()][z]
            })
            .collect()
    }

    fn review(&mut self) {
        let seen = self.seen();
        let s = &self.scenario;
        let review = Review {
            p: &s.centre,
            zp: &s.zones,
            n: self.n,
            tick: self.tick,
            key: self.key,
            landscape: &self.landscape,
            seen: &seen,
        };
        let log = s.output.centre_log.then_some(&mut self.acts);
        let r = review.run(&mut self.centre, &mut self.zones, &mut self.lineage, log);
        let c = &mut self.counts;
        c.review = true;
        c.detected = r.detected;
        c.sanctions = r.sanctions;
        c.tolerated = r.tolerated;
        c.corrected = r.corrected;
        c.feedback_adoptions = r.feedback_adoptions;
        c.central_designs = r.central_designs;
        c.vertical_adoptions += r.vertical_adoptions;
    }

    /// Nothing can change any more: every active zone holds the programme exactly and no
    /// source of novelty (experiments, turnover, turbulence, central search) is on.
    pub fn at_equilibrium(&self) -> bool {
        let s = &self.scenario;
        let quiet = s.zones.experiment_rate == 0.0
            && s.zones.turnover == 0.0
            && s.landscape.turbulence == 0.0
            && !s.centre.central_search;
        let pending = self.events.iter().any(|e| e.tick > self.tick);
        // Voting with actions, coin flips on an unset programme instrument can still move it.
        let programme_set = self.centre.programme.mask == crate::model::policy::full_mask(self.n);
        let feedback_quiet = s.centre.feedback_rate == 0.0
            || s.centre.review_interval == 0
            || s.centre.feedback_from == crate::scenario::FeedbackFrom::Beliefs
            || programme_set;
        quiet
            && feedback_quiet
            && !pending
            && (0..self.zones.len()).all(|z| !self.zones.active[z] || self.zones.cur.policy[z] == self.centre.programme)
    }

    /// Active zones right now.
    pub fn active_zones(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.zones.len()).filter(|&z| self.zones.active[z])
    }
}
