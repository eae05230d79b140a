//! One replication: its state and the tick (DESIGN 3), in order: events, turbulence,
//! zones act (in parallel, double-buffered), lineage accounting, centre review.

use crate::model::centre::{Act, Centre, Review};
use crate::model::firm::{self, Population, Rates};
use crate::model::landscape::Landscape;
use crate::model::lineage::{Channel, Lineage, PENDING};
use crate::model::network::Network;
use crate::model::zone::{Dyn, Outcome, StepCtx, Zones, effective_detection, top_two};
use crate::scenario::{Action, Scenario};

use crate::foundation::StreamKey;

use super::step::{CHUNK, ChunkReport};

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
#[non_exhaustive]
pub struct TickCounts {
    pub(crate) entered: u32,
    /// Zones that ran an experiment this tick (deterred ones excluded; ticks.csv `experiments`).
    pub experiments: u32,
    pub(crate) successes: u32,
    pub(crate) deviations: u32,
    pub(crate) deterred: u32,
    pub(crate) imitations: u32,
    pub(crate) compliance: u32,
    pub(crate) turnover: u32,
    pub(crate) new_innovations: u32,
    pub(crate) horizontal_adoptions: u32,
    pub(crate) vertical_adoptions: u32,
    pub(crate) detected: u32,
    pub(crate) sanctions: u32,
    pub(crate) tolerated: u32,
    pub(crate) corrected: u32,
    pub(crate) feedback_adoptions: u32,
    pub(crate) central_designs: u32,
    pub(crate) review: bool,
}

/// The whole state of one replication at its current tick.
pub struct Replication {
    /// Parameters as they stand now (`set` events change them).
    pub scenario: Scenario,
    pub(crate) replication: u32,
    /// The (seed, replication) key every random stream of this replication derives from.
    pub key: StreamKey,
    /// The number of policy instruments, `landscape.n` (1 to 64).
    pub n: u32,
    /// The last tick completed (0: the initial state, before any step).
    pub tick: u32,
    /// Fitness of any policy in each context, as shaken by turbulence up to this tick.
    pub landscape: Landscape,
    /// Whom each zone observes horizontally; built once, fixed for the replication.
    pub network: Network,
    /// Every zone that will ever exist, and its state at the end of the tick.
    pub zones: Zones,
    /// The central planner: programme, mandate, reference and showcase.
    pub centre: Centre,
    pub(crate) lineage: Lineage,
    /// Firms inside zones, when `[firms]` is enabled.
    pub(crate) firms: Option<Population>,
    pub(crate) counts: TickCounts,
    /// Scheduled events and centre acts of the current tick.
    pub(crate) acts: Vec<Act>,
    events: Vec<crate::scenario::Event>,
    next: Dyn,
    outcomes: Vec<Outcome>,
    /// Observed performance of the last `observation_lag + 1` ticks (ring buffer).
    history: Vec<Vec<f64>>,
    pub(crate) next_entrant: usize,
    /// Why the run cannot go on (firms outgrew `firm::MAX_FIRMS`); the run loop stops on it.
    pub(crate) failure: Option<String>,
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
        let landscape = Landscape::build_for(&s.landscape, &s.used_contexts(), &key, s.tabulated_bytes().is_some());
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
            // The lineage is not double-buffered (zones report what they write, see
            // `ChunkReport::lineage`): the scratch buffer holds none.
            next: Dyn::new(total, 0),
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
        self.step_with(super::step::step_zones);
    }

    /// One tick, the zones stepped by `zone_step` (from the `StepCtx` into the next buffer,
    /// with each zone's outcome): the engine's parallel step, or the tests' sequential
    /// reference, so that both run inside the same tick.
    fn step_with(&mut self, zone_step: impl FnOnce(&StepCtx<'_>, &mut Dyn, &mut [Outcome]) -> Vec<ChunkReport>) {
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
        let reports = self.step_zones(turbulence <= 0.0, zone_step);
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

    fn step_zones(
        &mut self,
        landscape_unchanged: bool,
        zone_step: impl FnOnce(&StepCtx<'_>, &mut Dyn, &mut [Outcome]) -> Vec<ChunkReport>,
    ) -> Vec<ChunkReport> {
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
        let reports = zone_step(&ctx, &mut self.next, &mut self.outcomes);
        std::mem::swap(&mut self.zones.cur, &mut self.next);
        // The lineage stays where it was; `account_lineage` applies the tick's writes.
        std::mem::swap(&mut self.zones.cur.lineage, &mut self.next.lineage);
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
    fn account_lineage(&mut self, reports: &[ChunkReport]) {
        let n = self.n as usize;
        let tick = self.tick;
        let lineage = &mut self.zones.cur.lineage;
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
        let writes = reports.iter().enumerate().flat_map(|(chunk, r)| r.lineage.iter().map(move |&w| (chunk, w)));
        for (chunk, (key, id)) in writes {
            let (z, i) = (chunk * CHUNK + (key >> 6) as usize, (key & 63) as usize);
            let slot = &mut lineage[z * n + i];
            let was = *slot;
            if id == was {
                continue;
            }
            self.lineage.drop_holder(was, tick, programme[i] == was && was != 0);
            if id == PENDING {
                let pol = self.zones.cur.policy[z];
                *slot = self.lineage.create(z as u32, tick, i as u32, pol.bits >> i & 1 == 1);
                self.lineage.add_holder(*slot, Channel::None);
                c.new_innovations += 1;
                continue;
            }
            *slot = id;
            let o = &self.outcomes[z];
            let bit = 1u64 << i;
            let channel = if o.complied & bit != 0 {
                Channel::Vertical
            } else if o.imitated & bit != 0 {
                Channel::Horizontal
            } else {
                Channel::None
            };
            self.lineage.add_holder(id, channel);
            if id != 0 {
                match channel {
                    Channel::Horizontal => c.horizontal_adoptions += 1,
                    Channel::Vertical => c.vertical_adoptions += 1,
                    Channel::None => {}
                }
            }
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
    pub(crate) fn at_equilibrium(&self) -> bool {
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

/// Property test of the parallel, double-buffered zone step against a sequential one.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// The slow truth of a tick's zone step (DESIGN 3: every zone acts on the previous
    /// tick's state): zones one at a time in id order, each read from `ctx.prev` and written
    /// into a fresh buffer (nothing left over from the scratch buffer), its lineage row a
    /// fresh copy of its previous row, whose touched instruments are reported; the flow
    /// counts are counted afterwards from the outcomes, in one report.
    fn sequential(ctx: &StepCtx<'_>, next: &mut Dyn, outcomes: &mut [Outcome]) -> Vec<ChunkReport> {
        let prev = ctx.prev;
        let (zones, n) = (prev.policy.len(), ctx.n as usize);
        let mut fresh = Dyn::new(zones, 0);
        let mut reports = vec![ChunkReport::default(); zones.div_ceil(CHUNK).max(1)];
        for (z, outcome) in outcomes.iter_mut().enumerate() {
            let mut row = prev.lineage[z * n..(z + 1) * n].to_vec();
            let nx = ctx.step(z, &mut row);
            fresh.policy[z] = nx.policy;
            fresh.fitness[z] = nx.fitness;
            fresh.performance[z] = nx.performance;
            fresh.observed[z] = nx.observed;
            fresh.action[z] = nx.action;
            fresh.capacity[z] = nx.capacity;
            fresh.counters[z] = nx.counters;
            for i in (0..n).filter(|&i| nx.outcome.touched >> i & 1 == 1) {
                reports[z / CHUNK].lineage.push((((z % CHUNK) << 6 | i) as u32, row[i]));
            }
            *outcome = nx.outcome;
        }
        *next = fresh;
        let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count() as u32;
        // The flow counts in the first report, the lineage writes by chunk as the engine
        // reports them.
        let first = &mut reports[0];
        first.experiments = count(|o| o.experimented);
        first.deviations = count(|o| o.deviated);
        first.deterred = count(|o| o.deterred);
        first.imitations = count(|o| o.imitated != 0);
        first.compliance = count(|o| o.complied != 0);
        first.turnover = count(|o| o.reset);
        first.successes = count(|o| o.innovated != 0);
        reports
    }

    /// Everything a replication holds that a tick can change, as text (f64s in Rust's
    /// shortest round-trip form, so two texts agree only if every value's bits do).
    fn state(r: &Replication) -> String {
        format!(
            "tick {}\n{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:?}",
            r.tick, r.zones, r.lineage, r.centre, r.counts, r.history, r.acts, r.next_entrant
        )
    }

    /// The first line where two states differ, for a readable failure.
    fn first_difference(a: &str, b: &str) -> Option<String> {
        a.lines()
            .zip(b.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| format!("line {i}: {x} vs {y}"))
            .or_else(|| (a.len() != b.len()).then(|| "lengths differ".to_string()))
    }

    /// A small scenario: two regions (the first large enough, sometimes, for two or three
    /// chunks of `step::CHUNK` zones, the last one partial), zones entering at tick 2 (zones
    /// at -inf in the middle of the run), every network kind, and the switches of the zone
    /// step (noise, turnover, radius, evaluation, compliance mode, initial policies, revert,
    /// turbulence, reviews with pilots and a showcase, tolerance).
    #[allow(clippy::type_complexity)]
    fn scenario() -> impl Strategy<Value = String> {
        let sizes = (prop_oneof![2u32..=40, 500u32..=700], 1u32..=40, 0u32..=30);
        let landscape = (4u32..=14, 0u32..=4, prop::bool::weighted(0.25), prop::sample::select(vec![0.0, 0.05]));
        let network = prop::sample::select(vec!["regional", "linear", "ring", "full", "random", "small_world", "none"]);
        let zones = (
            prop::sample::select(vec![0.0, 0.05]),
            prop::sample::select(vec![0.0, 0.05]),
            1u32..=3,
            any::<bool>(),
            any::<bool>(),
            prop::sample::select(vec!["random", "programme", "unset", "three_state"]),
            any::<bool>(),
        );
        let centre = (prop::sample::select(vec![0u32, 2, 3]), prop::sample::select(vec![0.0, 0.5, 1.0]), 0u32..=3);
        (sizes, landscape, network, zones, centre, 0u64..1000).prop_map(
            |((a, b, added), (n, k, target, turbulence), network, zones, (review, tolerance, pilots), seed)| {
                let (noise, turnover, radius, before, one_step, init, revert) = zones;
                format!(
                    r#"
[run]
ticks = 6
seed = {seed}
replications = 1

[landscape]
kind = "{kind}"
n = {n}
k = {k}
turbulence = {turbulence:?}

[centre]
review_interval = {review}
tolerance = {tolerance:?}
pilot_quota = {pilots}
showcase_top = {pilots}

[zones]
observation_noise = {noise:?}
turnover = {turnover:?}
experiment_radius = {radius}
evaluate = "{evaluate}"
compliance_mode = "{mode}"
initial_policy = "{init}"
imitation_revert = {revert}

[network]
kind = "{network}"
density = 0.01
degree = {degree}

[[regions]]
name = "A"
zones = {a}

[[regions]]
name = "B"
zones = {b}
{events}"#,
                    kind = if target { "target" } else { "nk" },
                    k = k.min(n - 1),
                    evaluate = if before { "before_adapt" } else { "after_adapt" },
                    mode = if one_step { "one_step" } else { "direct" },
                    degree = if a + b + added > 4 { 4 } else { 2 },
                    events = if added > 0 {
                        format!("\n[[events]]\ntick = 2\naction = \"add_zones\"\nregion = \"B\"\ncount = {added}\n")
                    } else {
                        String::new()
                    },
                )
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Guards the double-buffered parallel zone step (`step::step_zones`: fixed chunks of
        /// zones on rayon's threads, lineage rows copied chunk by chunk, the scratch buffer
        /// reused, reports merged in chunk order), here on a pool of three threads. Slow
        /// truth: `sequential`, the same per-zone function `StepCtx::step` with the same
        /// streams, zone by zone into a fresh buffer, inside the same tick. After every one
        /// of six ticks the whole state (zones, lineage, centre, counts, observation history,
        /// acts) must be identical.
        #[test]
        fn parallel_zone_step_equals_a_sequential_one(text in scenario()) {
            let s = Scenario::parse(&text, "property.toml").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            // A model that cannot be built (a small world that will not connect) is no case.
            let built = Replication::new(&s, 0);
            prop_assume!(built.is_ok(), "{:?}", built.err());
            let mut fast = built.expect("checked");
            let mut slow = Replication::new(&s, 0).map_err(TestCaseError::fail)?;
            let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().expect("a thread pool");
            for _ in 0..s.run.ticks {
                pool.install(|| fast.step());
                slow.step_with(sequential);
                let (a, b) = (state(&fast), state(&slow));
                prop_assert!(a == b, "tick {}: {}\n{}", fast.tick, first_difference(&a, &b).unwrap_or_default(), text);
            }
        }
    }
}
