//! The central planner (DESIGN 6.4): the programme and its mandate, and the review that
//! sanctions or tolerates deviations, feeds superior local settings back into the
//! programme (March's rule), designates pilots, showcases the best, and (top-down
//! benchmark) searches for programme changes itself.

use rand::Rng as _;

use crate::foundation::{Draw, Purpose, StreamKey, pow_int};
use crate::model::landscape::Landscape;
use crate::model::lineage::{CENTRE, Channel, Lineage};
use crate::model::policy::{Policy, full_mask};
use crate::model::zone::{Zones, effective_detection, for_each_bit};
use crate::scenario::{CentreParams, FeedbackFrom, Level, PilotSelection, ProgrammeInit, ZoneParams};

/// The central planner's state: the national programme, its mandate and what the last
/// review published. The centre's parameters are read from the scenario as it stands.
#[derive(Clone, Debug)]
pub struct Centre {
    /// The national programme: a policy that may leave instruments unset.
    pub programme: Policy,
    /// Innovation id behind each programme setting.
    pub lineage: Vec<u32>,
    /// A random order of the instruments: the mandate is its first round(share x N).
    pub(crate) mandate_order: Vec<u32>,
    /// Instruments mandated by central design, beyond the share.
    pub(crate) designed: u64,
    /// Mandated instruments (bit i is instrument i): the first round(share x N) of the
    /// random order plus every instrument the centre designed itself.
    pub mandate: u64,
    /// The programme's fitness per context (the reference zones are judged against).
    pub reference: Vec<f64>,
    /// The zone ids the last review published as the best (`centre.showcase_top` of them at
    /// most); every zone may imitate them until the next review.
    pub showcase: Vec<u32>,
    /// Successful experiments per zone at the last review (for the procedural score).
    pub(crate) succeeded_at_review: Vec<u32>,
}

/// One thing the centre did, or a scheduled event, for events.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct Act {
    /// Which event or review act it was (the `action` column of events.csv).
    pub kind: ActKind,
    pub(crate) zone: Option<u32>,
    pub(crate) detail: Detail,
}

/// What an act is: a scheduled event (the `action` of `[[events]]`) or one of the centre's
/// acts at a review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActKind {
    /// Event: zones of a region entered.
    AddZones,
    /// Event: a region's zones changed administrative level.
    SetLevel,
    /// Event: a region's zones gained or lost pilot status.
    SetPilot,
    /// Event: a parameter took a new value from this tick on.
    Set,
    /// Review: a detected deviation below the reference; capacity cut and corrected.
    Sanction,
    /// Review: a detected deviation not below the reference, left as it is.
    Toleration,
    /// Review: a detected deviation not below the reference, corrected without cost.
    Correction,
    /// Review: the programme adopted the superior zones' majority setting of an instrument.
    Feedback,
    /// Review: central search changed a programme instrument, which is mandated for good.
    CentralDesign,
    /// Review: a zone designated pilot for the quota.
    Pilot,
    /// Review: a zone published among the best, imitable by all until the next review.
    Showcase,
}

impl ActKind {
    /// Every kind, in the order of the model's description.
    pub const ALL: [ActKind; 11] = [
        ActKind::AddZones,
        ActKind::SetLevel,
        ActKind::SetPilot,
        ActKind::Set,
        ActKind::Sanction,
        ActKind::Toleration,
        ActKind::Correction,
        ActKind::Feedback,
        ActKind::CentralDesign,
        ActKind::Pilot,
        ActKind::Showcase,
    ];

    /// The kind as events.csv writes it (an event's action as the scenario file names it).
    pub(crate) fn name(self) -> &'static str {
        match self {
            ActKind::AddZones => "add_zones",
            ActKind::SetLevel => "set_level",
            ActKind::SetPilot => "set_pilot",
            ActKind::Set => "set",
            ActKind::Sanction => "sanction",
            ActKind::Toleration => "toleration",
            ActKind::Correction => "correction",
            ActKind::Feedback => "feedback",
            ActKind::CentralDesign => "central_design",
            ActKind::Pilot => "pilot",
            ActKind::Showcase => "showcase",
        }
    }
}

impl std::fmt::Display for ActKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an act is about, one field per column of events.csv (None: an empty cell).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Detail {
    /// Zones entering (add_zones; 0 for a region event that found no active zone).
    pub(crate) count: Option<u32>,
    pub(crate) region: Option<String>,
    pub(crate) level: Option<&'static str>,
    pub(crate) pilot: Option<bool>,
    /// The parameter a `set` event changed, and its new value (`value` is also the
    /// setting an instrument took, 0 or 1, in feedback and central design).
    pub(crate) parameter: Option<String>,
    pub(crate) value: Option<String>,
    pub(crate) instrument: Option<u32>,
    /// The instruments a review acted on, space-separated.
    pub(crate) instruments: Option<String>,
    pub(crate) innovation: Option<u32>,
    /// Feedback: the superior zones' majority excess over the minority.
    pub(crate) excess: Option<u32>,
    pub(crate) selection: Option<&'static str>,
    /// Showcase: the (observed) performance the zone was chosen on.
    pub(crate) performance: Option<f64>,
}

/// Counts of one review.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReviewCounts {
    pub(crate) detected: u32,
    pub(crate) sanctions: u32,
    pub(crate) tolerated: u32,
    pub(crate) corrected: u32,
    pub(crate) feedback_adoptions: u32,
    pub(crate) vertical_adoptions: u32,
    pub(crate) central_designs: u32,
}

impl Centre {
    pub(crate) fn new(p: &CentreParams, n: u32, zones: usize, landscape: &Landscape, key: &StreamKey) -> Centre {
        let mut r = key.tick(Purpose::Programme, 0, 0);
        let programme = match p.initial_programme {
            ProgrammeInit::Random => Policy::set(r.next_u64(), n),
            ProgrammeInit::Zeros => Policy::set(0, n),
            ProgrammeInit::Unset => Policy::default(),
        };
        let mut order: Vec<u32> = (0..n).collect();
        let mut m = key.tick(Purpose::Mandate, 0, 0);
        for i in (1..order.len()).rev() {
            let j = m.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let mut c = Centre {
            programme,
            lineage: vec![0; n as usize],
            mandate_order: order,
            designed: 0,
            mandate: 0,
            reference: Vec::new(),
            showcase: Vec::new(),
            succeeded_at_review: vec![0; zones],
        };
        c.set_mandate(p.mandate_share);
        c.update_reference(landscape);
        c
    }

    /// Recomputes what the centre derives from its parameters after a `set` event may have
    /// changed one: the mandate (no draws, and idempotent: the instruments the centre has
    /// designed stay mandated).
    pub(crate) fn follow(&mut self, p: &CentreParams) {
        self.set_mandate(p.mandate_share);
    }

    /// Recomputes the mandate from the share.
    pub(crate) fn set_mandate(&mut self, share: f64) {
        let count = (share * self.mandate_order.len() as f64).round() as usize;
        self.mandate = self.designed | self.mandate_order[..count].iter().fold(0u64, |m, &i| m | 1 << i);
    }

    pub(crate) fn update_reference(&mut self, landscape: &Landscape) {
        self.reference = (0..landscape.contexts()).map(|c| landscape.fitness(c, self.programme)).collect();
    }

    /// Where a zone departs from the programme on mandated instruments.
    #[inline]
    pub(crate) fn deviation(&self, pol: Policy) -> u64 {
        pol.differs(self.programme) & self.mandate & self.programme.mask
    }
}

/// Everything a review reads besides the state it changes.
pub(crate) struct Review<'a> {
    pub(crate) p: &'a CentreParams,
    pub(crate) zp: &'a ZoneParams,
    pub(crate) n: u32,
    pub(crate) tick: u32,
    pub(crate) key: StreamKey,
    pub(crate) landscape: &'a Landscape,
    /// The performance the centre sees per zone (noisy and lagged).
    pub(crate) seen: &'a [f64],
}

impl Review<'_> {
    /// Runs one review, changing zones, programme and lineage; returns counts and acts.
    pub(crate) fn run(
        &self,
        centre: &mut Centre,
        zones: &mut Zones,
        lineage: &mut Lineage,
        log: Option<&mut Vec<Act>>,
    ) -> ReviewCounts {
        let mut counts = ReviewCounts::default();
        let mut acts = Acts { list: Vec::new(), on: log.is_some() };
        self.sanction(centre, zones, lineage, &mut counts, &mut acts);
        self.feedback(centre, zones, lineage, &mut counts, &mut acts);
        if self.p.central_search {
            self.design(centre, zones, lineage, &mut counts, &mut acts);
        }
        centre.update_reference(self.landscape);
        self.designate_pilots(centre, zones, &mut acts);
        self.showcase(centre, zones, &mut acts);
        centre.succeeded_at_review = zones.cur.counters.iter().map(|c| c.succeeded).collect();
        if let Some(log) = log {
            log.extend(acts.list);
        }
        counts
    }

    /// Detected deviations below the programme are corrected at a cost; above it they are
    /// tolerated with probability `tolerance`, else corrected without cost.
    fn sanction(
        &self,
        centre: &Centre,
        zones: &mut Zones,
        lineage: &mut Lineage,
        counts: &mut ReviewCounts,
        acts: &mut Acts,
    ) {
        let d = effective_detection(self.p.detection, self.zp.supervisors);
        let n = self.n as usize;
        for z in 0..zones.len() {
            if !zones.active[z] || zones.pilot[z] {
                continue;
            }
            let dev = centre.deviation(zones.cur.policy[z]);
            if dev == 0 {
                continue;
            }
            let mut r = self.key.tick(Purpose::Review, self.tick as u64, z as u64);
            if !r.chance(d) {
                continue;
            }
            counts.detected += 1;
            let ctx = zones.context[z] as usize;
            let below = self.seen[z] < centre.reference[ctx];
            let kind = if below {
                counts.sanctions += 1;
                zones.cur.counters[z].sanctioned += 1;
                zones.cur.capacity[z] *= 1.0 - self.p.sanction_cost;
                ActKind::Sanction
            } else if r.chance(self.p.tolerance) {
                counts.tolerated += 1;
                acts.push(ActKind::Toleration, Some(z as u32), || Detail {
                    instruments: Some(list(dev)),
                    ..Detail::default()
                });
                continue;
            } else {
                counts.corrected += 1;
                ActKind::Correction
            };
            acts.push(kind, Some(z as u32), || Detail { instruments: Some(list(dev)), ..Detail::default() });
            let row = &mut zones.cur.lineage[z * n..(z + 1) * n];
            for_each_bit(dev, |i| lineage.drop_holder(row[i], self.tick, false));
            for_each_bit(dev, |i| {
                row[i] = centre.lineage[i];
                lineage.add_holder(row[i], Channel::Vertical);
                counts.vertical_adoptions += (row[i] != 0) as u32;
            });
            // The corrected zone now holds (and acts on) the programme's settings: its
            // performance is re-measured, its observation noise kept.
            let cur = &mut zones.cur;
            cur.policy[z] = cur.policy[z].take(centre.programme, dev);
            cur.fitness[z] = self.landscape.fitness(ctx, cur.policy[z]);
            if is_full(cur.policy[z], self.n) {
                let noise = cur.observed[z] - cur.performance[z];
                cur.performance[z] = cur.fitness[z];
                cur.observed[z] = cur.fitness[z] + noise;
                cur.action[z] = cur.policy[z].bits & full_mask(self.n);
            }
        }
    }

    /// March's code learning: on each instrument where the superior zones' majority
    /// differs from the programme, adopt it with probability 1 - (1 - rate)^k, k being
    /// the majority's excess over the minority.
    fn feedback(
        &self,
        centre: &mut Centre,
        zones: &Zones,
        lineage: &mut Lineage,
        counts: &mut ReviewCounts,
        acts: &mut Acts,
    ) {
        if self.p.feedback_rate <= 0.0 {
            return;
        }
        let superior: Vec<usize> = (0..zones.len())
            .filter(|&z| zones.active[z] && self.seen[z] > centre.reference[zones.context[z] as usize])
            .collect();
        if superior.is_empty() {
            return;
        }
        let n = self.n as usize;
        let mut r = self.key.tick(Purpose::Review, self.tick as u64, u64::MAX);
        for i in 0..n {
            let bit = 1u64 << i;
            let (mut ones, mut zeros) = (0u32, 0u32);
            for &z in &superior {
                let held = match self.p.feedback_from {
                    FeedbackFrom::Beliefs => zones.cur.policy[z],
                    FeedbackFrom::Actions => Policy::set(zones.cur.action[z], self.n),
                };
                if held.mask & bit != 0 {
                    if held.bits & bit != 0 { ones += 1 } else { zeros += 1 }
                }
            }
            if ones == zeros {
                continue;
            }
            let value = ones > zeros;
            let prog = centre.programme.get(i as u32);
            if prog == Some(value) {
                continue;
            }
            // The majority's excess over the minority (March 1991).
            let k = ones.abs_diff(zeros);
            if !r.chance(1.0 - pow_int(1.0 - self.p.feedback_rate, k)) {
                continue;
            }
            // The programme takes the setting and the innovation most superior zones hold it by.
            let mut ids: Vec<u32> = superior
                .iter()
                .filter(|&&z| zones.cur.policy[z].get(i as u32) == Some(value))
                .map(|&z| zones.cur.lineage[z * n + i])
                .collect();
            ids.sort_unstable();
            let id = most_common(&ids);
            let old = centre.lineage[i];
            centre.programme.mask |= bit;
            centre.programme.bits = (centre.programme.bits & !bit) | ((value as u64) << i);
            centre.lineage[i] = id;
            lineage.programme_dropped(old, self.tick);
            lineage.fed_back(id, self.tick);
            counts.feedback_adoptions += 1;
            acts.push(ActKind::Feedback, None, || Detail {
                instrument: Some(i as u32),
                value: Some((value as u8).to_string()),
                innovation: Some(id),
                excess: Some(k),
                ..Detail::default()
            });
        }
    }

    /// Top-down design: try one instrument change, judged on the mean (noisy) performance
    /// it would give the active zones, and mandate it if better.
    fn design(
        &self,
        centre: &mut Centre,
        zones: &Zones,
        lineage: &mut Lineage,
        counts: &mut ReviewCounts,
        acts: &mut Acts,
    ) {
        let mut r = self.key.tick(Purpose::CentralSearch, self.tick as u64, 0);
        let i = r.below(self.n as u64) as u32;
        let bit = 1u64 << i;
        let cand = if centre.programme.mask & bit != 0 {
            Policy { bits: centre.programme.bits ^ bit, ..centre.programme }
        } else {
            Policy { bits: centre.programme.bits | (r.next_u64() & bit), mask: centre.programme.mask | bit }
        };
        let mut weight = vec![0u32; self.landscape.contexts()];
        for z in (0..zones.len()).filter(|&z| zones.active[z]) {
            weight[zones.context[z] as usize] += 1;
        }
        let active: u32 = weight.iter().sum();
        if active == 0 {
            return;
        }
        let estimate = |pol: Policy, r: &mut crate::foundation::Fast| {
            let mean = weight.iter().enumerate().map(|(c, &w)| w as f64 * self.landscape.fitness(c, pol)).sum::<f64>()
                / active as f64;
            let noise = self.zp.observation_noise;
            if noise > 0.0 { mean + noise * r.normal() / (active as f64).sqrt() } else { mean }
        };
        let now = estimate(centre.programme, &mut r);
        let then = estimate(cand, &mut r);
        if then > now {
            let id = lineage.create(CENTRE, self.tick, i, cand.bits & bit != 0);
            lineage.programme_dropped(centre.lineage[i as usize], self.tick);
            lineage.fed_back(id, self.tick);
            centre.programme = cand;
            centre.lineage[i as usize] = id;
            centre.designed |= bit;
            centre.mandate |= bit;
            counts.central_designs += 1;
            acts.push(ActKind::CentralDesign, None, || Detail {
                instrument: Some(i),
                value: Some(((cand.bits & bit != 0) as u8).to_string()),
                innovation: Some(id),
                ..Detail::default()
            });
        }
    }

    fn designate_pilots(&self, centre: &Centre, zones: &mut Zones, acts: &mut Acts) {
        let quota = self.p.pilot_quota as usize;
        // With no quota the centre designates no pilots and leaves set_pilot events alone.
        if quota == 0 {
            return;
        }
        for z in 0..zones.len() {
            zones.pilot[z] = zones.level[z] == Level::Demonstration;
        }
        // Demonstration zones are pilots already; the quota goes to others.
        let mut candidates: Vec<usize> =
            (0..zones.len()).filter(|&z| zones.active[z] && zones.level[z] != Level::Demonstration).collect();
        let chosen: Vec<usize> = match self.p.pilot_selection {
            PilotSelection::Random => {
                let mut r = self.key.tick(Purpose::Pilots, self.tick as u64, 0);
                let k = quota.min(candidates.len());
                for j in 0..k {
                    let pick = j + r.below((candidates.len() - j) as u64) as usize;
                    candidates.swap(j, pick);
                }
                candidates.truncate(k);
                candidates
            }
            PilotSelection::Top => top_by(candidates, quota, |z| self.seen[z]),
            PilotSelection::Laggards => top_by(candidates, quota, |z| -self.seen[z]),
            // Successes are small counts, so ties are common: they are broken by a draw
            // (a fraction below 1 added to the count), not by zone id, which would favour
            // the first region.
            PilotSelection::Innovative => {
                let r = self.key;
                let tick = self.tick as u64;
                top_by(candidates, quota, |z| {
                    let successes =
                        zones.cur.counters[z].succeeded - centre.succeeded_at_review.get(z).copied().unwrap_or(0);
                    let tiebreak = (r.hash(Purpose::Pilots, tick, z as u64) >> 11) as f64 / (1u64 << 53) as f64;
                    successes as f64 + tiebreak
                })
            }
        };
        for z in chosen {
            zones.pilot[z] = true;
            acts.push(ActKind::Pilot, Some(z as u32), || Detail {
                selection: Some(crate::scenario::Choice::name(self.p.pilot_selection)),
                ..Detail::default()
            });
        }
    }

    fn showcase(&self, centre: &mut Centre, zones: &Zones, acts: &mut Acts) {
        let candidates: Vec<usize> = (0..zones.len()).filter(|&z| zones.active[z]).collect();
        centre.showcase =
            top_by(candidates, self.p.showcase_top as usize, |z| self.seen[z]).into_iter().map(|z| z as u32).collect();
        for &z in &centre.showcase {
            acts.push(ActKind::Showcase, Some(z), || Detail {
                performance: Some(self.seen[z as usize]),
                ..Detail::default()
            });
        }
    }
}

/// Acts of a review, formatted only when the centre log is kept.
pub(crate) struct Acts {
    list: Vec<Act>,
    on: bool,
}

impl Acts {
    fn push(&mut self, kind: ActKind, zone: Option<u32>, detail: impl FnOnce() -> Detail) {
        if self.on {
            self.list.push(Act { kind, zone, detail: detail() });
        }
    }
}

/// The k candidates with the highest score, ties to the lowest id, in rank order.
fn top_by(candidates: Vec<usize>, k: usize, score: impl Fn(usize) -> f64) -> Vec<usize> {
    if k == 0 {
        return Vec::new();
    }
    let mut scored: Vec<(f64, usize)> = candidates.into_iter().map(|z| (score(z), z)).collect();
    let order = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    // Select the k best in linear time, then order only those (the ranking is total, so
    // the result does not depend on the selection algorithm).
    if k < scored.len() {
        scored.select_nth_unstable_by(k - 1, order);
        scored.truncate(k);
    }
    scored.sort_by(order);
    scored.into_iter().map(|(_, z)| z).collect()
}

/// The most common value of a sorted slice, ties to the smallest; 0 when empty.
fn most_common(sorted: &[u32]) -> u32 {
    let (mut best, mut best_count) = (0u32, 0usize);
    let mut i = 0;
    while i < sorted.len() {
        let j = i + sorted[i..].iter().take_while(|&&v| v == sorted[i]).count();
        if j - i > best_count {
            best = sorted[i];
            best_count = j - i;
        }
        i = j;
    }
    best
}

fn list(bits: u64) -> String {
    let mut v = Vec::new();
    for_each_bit(bits, |i| v.push(i.to_string()));
    v.join(" ")
}

/// Whether the mask covers all N instruments (a corrected zone with no unset instrument
/// acts on its policy as it is).
pub(crate) fn is_full(p: Policy, n: u32) -> bool {
    p.mask & full_mask(n) == full_mask(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::landscape::{Kind, Target};
    use crate::model::zone::{Counters, Dyn};

    fn landscape() -> Landscape {
        Landscape { n: 4, kind: Kind::Target(Target { reality: vec![0b1111] }), max: vec![1.0] }
    }

    fn zones(policies: &[u64]) -> Zones {
        let k = policies.len();
        let l = landscape();
        let mut cur = Dyn::new(k, 4);
        for (z, &b) in policies.iter().enumerate() {
            cur.policy[z] = Policy::set(b, 4);
            cur.fitness[z] = l.fitness(0, cur.policy[z]);
            cur.capacity[z] = 1.0;
        }
        Zones {
            region: vec![0; k],
            context: vec![0; k],
            level: vec![Level::National; k],
            active: vec![true; k],
            pilot: vec![false; k],
            entry_tick: vec![0; k],
            cur,
        }
    }

    fn centre(programme: u64, mandate: u64) -> Centre {
        let mut c = Centre {
            programme: Policy::set(programme, 4),
            lineage: vec![0; 4],
            mandate_order: vec![0, 1, 2, 3],
            designed: 0,
            mandate,
            reference: vec![],
            showcase: vec![],
            succeeded_at_review: vec![0; 4],
        };
        c.update_reference(&landscape());
        c
    }

    fn review<'a>(p: &'a CentreParams, zp: &'a ZoneParams, l: &'a Landscape, seen: &'a [f64]) -> Review<'a> {
        Review { p, zp, n: 4, tick: 5, key: StreamKey::new(1, 0), landscape: l, seen }
    }

    #[test]
    fn sanctions_under_performers_and_tolerates_over_performers() {
        let l = landscape();
        // Programme 0011 (fitness 0.5), mandate on instruments 0 and 1.
        let mut c = centre(0b0011, 0b0011);
        // Zone 0 deviates and does worse (0000: 0.0); zone 1 deviates and does better (1110: 0.75).
        let mut zs = zones(&[0b0000, 0b1110, 0b0011]);
        let seen = [0.0, 0.75, 0.5];
        let p = CentreParams {
            detection: 1.0,
            tolerance: 1.0,
            sanction_cost: 0.25,
            feedback_rate: 0.0,
            pilot_quota: 0,
            showcase_top: 0,
            ..CentreParams::default()
        };
        let zp = ZoneParams::default();
        let mut lin = Lineage::default();
        let counts = review(&p, &zp, &l, &seen).run(&mut c, &mut zs, &mut lin, None);
        assert_eq!((counts.sanctions, counts.tolerated, counts.corrected), (1, 1, 0));
        assert_eq!(zs.cur.policy[0], Policy::set(0b0011, 4));
        assert_eq!(zs.cur.capacity[0], 0.75);
        assert_eq!(zs.cur.counters[0], Counters { sanctioned: 1, ..Counters::default() });
        assert_eq!(zs.cur.policy[1], Policy::set(0b1110, 4));
        // With tolerance 0 the better deviation is corrected, without cost.
        let p0 = CentreParams { tolerance: 0.0, ..p };
        let mut zs = zones(&[0b0011, 0b1110, 0b0011]);
        let counts = review(&p0, &zp, &l, &seen).run(&mut c, &mut zs, &mut lin, None);
        assert_eq!(counts.corrected, 1);
        assert_eq!(zs.cur.capacity[1], 1.0);
        // Only the mandated instrument it deviated on is corrected.
        assert_eq!(zs.cur.policy[1], Policy::set(0b1111, 4));
    }

    #[test]
    fn pilots_are_never_sanctioned() {
        let l = landscape();
        let mut c = centre(0b0011, 0b0011);
        let mut zs = zones(&[0b0000]);
        zs.pilot[0] = true;
        let p = CentreParams {
            detection: 1.0,
            feedback_rate: 0.0,
            pilot_quota: 0,
            showcase_top: 0,
            ..CentreParams::default()
        };
        let zp = ZoneParams::default();
        let counts = review(&p, &zp, &l, &[0.0]).run(&mut c, &mut zs, &mut Lineage::default(), None);
        assert_eq!(counts.detected, 0);
        assert_eq!(zs.cur.policy[0], Policy::set(0, 4));
    }

    #[test]
    fn feedback_adopts_a_clear_majority_with_rate_one() {
        let l = landscape();
        let mut c = centre(0b0000, 0b1111);
        // Three superior zones hold instrument 3 = 1; the programme scores 0.
        let mut zs = zones(&[0b1000, 0b1000, 0b1001]);
        let seen = [0.25, 0.25, 0.5];
        let p = CentreParams {
            detection: 0.0,
            feedback_rate: 1.0,
            pilot_quota: 0,
            showcase_top: 0,
            ..CentreParams::default()
        };
        let zp = ZoneParams::default();
        let counts = review(&p, &zp, &l, &seen).run(&mut c, &mut zs, &mut Lineage::default(), None);
        assert_eq!(counts.feedback_adoptions, 1);
        assert_eq!(c.programme, Policy::set(0b1000, 4));
        assert_eq!(c.reference, vec![0.25]);
    }

    #[test]
    fn feedback_probability_follows_march() {
        // k = 1 with rate 0.5 adopts about half the time; k = 3 about 7/8.
        let l = landscape();
        let zp = ZoneParams::default();
        let p = CentreParams {
            detection: 0.0,
            feedback_rate: 0.5,
            pilot_quota: 0,
            showcase_top: 0,
            ..CentreParams::default()
        };
        for (policies, expected) in [(&[0b1000u64, 0b1001, 0b0001][..], 0.5), (&[0b1000, 0b1000, 0b1000][..], 0.875)] {
            let seen = vec![1.0; policies.len()];
            let mut adopted = 0;
            for tick in 0..4000 {
                let mut c = centre(0b0000, 0b1111);
                let mut zs = zones(policies);
                let r = Review { tick, ..review(&p, &zp, &l, &seen) };
                r.run(&mut c, &mut zs, &mut Lineage::default(), None);
                adopted += (c.programme.bits & 0b1000 != 0) as u32;
            }
            let share = adopted as f64 / 4000.0;
            assert!((share - expected).abs() < 0.03, "{share} vs {expected}");
        }
    }

    #[test]
    fn pilot_selection_rules() {
        let l = landscape();
        let zp = ZoneParams::default();
        let seen = [0.1, 0.9, 0.5, 0.3];
        let mut zs = zones(&[0, 0, 0, 0]);
        zs.cur.counters[3].succeeded = 5;
        zs.cur.counters[0].succeeded = 2;
        for (rule, expected) in [
            (PilotSelection::Top, vec![1, 2]),
            (PilotSelection::Laggards, vec![0, 3]),
            (PilotSelection::Innovative, vec![0, 3]),
        ] {
            let mut c = centre(0, 0);
            let p = CentreParams {
                pilot_quota: 2,
                pilot_selection: rule,
                feedback_rate: 0.0,
                showcase_top: 1,
                ..CentreParams::default()
            };
            review(&p, &zp, &l, &seen).run(&mut c, &mut zs, &mut Lineage::default(), None);
            let pilots: Vec<usize> = (0..4).filter(|&z| zs.pilot[z]).collect();
            assert_eq!(pilots, expected, "{rule:?}");
            assert_eq!(c.showcase, vec![1]);
        }
        let mut c = centre(0, 0);
        let p = CentreParams {
            pilot_quota: 3,
            pilot_selection: PilotSelection::Random,
            feedback_rate: 0.0,
            ..CentreParams::default()
        };
        review(&p, &zp, &l, &seen).run(&mut c, &mut zs, &mut Lineage::default(), None);
        assert_eq!(zs.pilot.iter().filter(|&&p| p).count(), 3);
    }

    #[test]
    fn without_a_quota_reviews_leave_pilots_alone() {
        let l = landscape();
        let zp = ZoneParams::default();
        let mut zs = zones(&[0, 0]);
        zs.pilot[1] = true;
        let p = CentreParams { pilot_quota: 0, feedback_rate: 0.0, ..CentreParams::default() };
        review(&p, &zp, &l, &[0.0, 0.0]).run(&mut centre(0, 0), &mut zs, &mut Lineage::default(), None);
        assert_eq!(zs.pilot, vec![false, true]);
    }

    #[test]
    fn central_search_improves_the_programme() {
        let l = landscape();
        let zp = ZoneParams::default();
        let mut c = centre(0b0000, 0);
        let mut zs = zones(&[0, 0]);
        let p = CentreParams {
            central_search: true,
            feedback_rate: 0.0,
            pilot_quota: 0,
            showcase_top: 0,
            ..CentreParams::default()
        };
        let mut lin = Lineage::default();
        for tick in 0..60 {
            let r = Review { tick, ..review(&p, &zp, &l, &[0.0, 0.0]) };
            r.run(&mut c, &mut zs, &mut lin, None);
        }
        assert_eq!(c.programme, Policy::set(0b1111, 4));
        assert_eq!(c.mandate, 0b1111);
        assert_eq!(lin.len(), 4);
    }

    #[test]
    fn most_common_ties_to_smallest() {
        assert_eq!(most_common(&[1, 2, 2, 3, 3]), 2);
        assert_eq!(most_common(&[]), 0);
    }

    /// events.csv's kinds are the names the files have always had, each once.
    #[test]
    fn act_kinds_keep_their_names() {
        let names: Vec<&str> = ActKind::ALL.iter().map(|k| k.name()).collect();
        let expected =
            "add_zones set_level set_pilot set sanction toleration correction feedback central_design pilot showcase";
        assert_eq!(names.join(" "), expected);
        assert_eq!(ActKind::CentralDesign.to_string(), "central_design");
    }
}
