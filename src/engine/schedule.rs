//! The event schedule: scheduled changes applied at the start of their tick, in file
//! order within a tick.

use crate::model::centre::{Act, ActKind, Detail};
use crate::model::lineage::Channel;
use crate::model::zone::for_each_bit;
use crate::scenario::{Action, Choice, Event, Target};

use super::replication::Replication;

impl Replication {
    /// Applies every event of the current tick.
    pub(crate) fn apply_events(&mut self, events: &[Event]) {
        let tick = self.tick;
        for e in events.iter().filter(|e| e.tick == tick) {
            match &e.action {
                Action::AddZones { count, .. } => {
                    // Zones of add_zones events were laid out at build time, in event order.
                    let first = self.next_entrant;
                    for z in first..first + *count as usize {
                        self.enter(z);
                    }
                    self.next_entrant += *count as usize;
                    let region = &self.scenario.regions[self.zones.region[first] as usize].name;
                    self.acts.push(Act {
                        kind: ActKind::AddZones,
                        zone: Some(first as u32),
                        detail: Detail { count: Some(*count), region: Some(region.clone()), ..Detail::default() },
                    });
                }
                Action::SetLevel { target, level } => {
                    let zones = self.targets(target);
                    self.note_empty(target, &zones, ActKind::SetLevel);
                    for z in zones {
                        use crate::scenario::Level::Demonstration;
                        // Demonstration zones are permanent pilots; leaving the level ends it.
                        if *level == Demonstration {
                            self.zones.pilot[z] = true;
                        } else if self.zones.level[z] == Demonstration {
                            self.zones.pilot[z] = false;
                        }
                        self.zones.level[z] = *level;
                        self.acts.push(Act {
                            kind: ActKind::SetLevel,
                            zone: Some(z as u32),
                            detail: Detail { level: Some(level.name()), ..Detail::default() },
                        });
                    }
                }
                Action::SetPilot { target, pilot } => {
                    let zones = self.targets(target);
                    self.note_empty(target, &zones, ActKind::SetPilot);
                    for z in zones {
                        self.zones.pilot[z] = *pilot;
                        self.acts.push(Act {
                            kind: ActKind::SetPilot,
                            zone: Some(z as u32),
                            detail: Detail { pilot: Some(*pilot), ..Detail::default() },
                        });
                    }
                }
                Action::Set { parameter, value } => {
                    self.scenario.set(parameter, value).expect("validated when the scenario was read");
                    // What the centre derives from its parameters (the mandate) follows them.
                    self.centre.follow(&self.scenario.centre);
                    // Firm rates depend on [firms] and, through the hierarchy bias, on the
                    // centre and zones: recomputed at once, so that later events of the tick
                    // (a zone entering with its firms) and the tick's firm step see the change.
                    if let Some(f) = self.firms.as_mut() {
                        f.rates = super::replication::firm_rates(&self.scenario, self.n);
                    }
                    self.acts.push(Act {
                        kind: ActKind::Set,
                        zone: None,
                        detail: Detail {
                            parameter: Some(parameter.path()),
                            value: Some(value.bare()),
                            ..Detail::default()
                        },
                    });
                }
            }
        }
    }

    /// A region event that finds no active zone (its zones have not entered yet) is
    /// logged, so it does not pass unnoticed.
    fn note_empty(&mut self, target: &Target, zones: &[usize], kind: ActKind) {
        if let (Target::Region(r), true) = (target, zones.is_empty()) {
            let name = &self.scenario.regions[*r].name;
            self.acts.push(Act {
                kind,
                zone: None,
                detail: Detail { count: Some(0), region: Some(name.clone()), ..Detail::default() },
            });
        }
    }

    fn targets(&self, target: &Target) -> Vec<usize> {
        match target {
            Target::Zones(ids) => ids.iter().map(|&z| z as usize).collect(),
            Target::Region(r) => {
                (0..self.zones.len()).filter(|&z| self.zones.region[z] as usize == *r && self.zones.active[z]).collect()
            }
        }
    }

    /// A zone enters: its initial policy, performance and lineage.
    pub(crate) fn enter(&mut self, z: usize) {
        let n = self.n as usize;
        let mut rng = self.key.tick(crate::foundation::Purpose::InitialPolicy, self.tick as u64, z as u64);
        let row = &mut self.zones.cur.lineage[z * n..(z + 1) * n];
        let pol = crate::model::zone::initial_policy(
            &self.scenario.zones,
            self.n,
            self.centre.programme,
            &self.centre.lineage,
            &mut rng,
            row,
        );
        for_each_bit(crate::model::policy::full_mask(self.n), |i| self.lineage.add_holder(row[i], Channel::None));
        let ctx = self.zones.context[z] as usize;
        let fit = self.landscape.fitness(ctx, pol);
        let (perf, action) = crate::model::zone::act(&self.landscape, ctx, pol, fit, self.n, &mut rng);
        let noise = self.scenario.zones.observation_noise;
        let cur = &mut self.zones.cur;
        cur.policy[z] = pol;
        cur.fitness[z] = fit;
        cur.performance[z] = perf;
        cur.action[z] = action;
        cur.observed[z] = if noise > 0.0 { perf + noise * crate::foundation::Draw::normal(&mut rng) } else { perf };
        self.zones.active[z] = true;
        self.zones.entry_tick[z] = self.tick;
        if let Some(f) = self.firms.as_mut() {
            let mut rng = self.key.tick(crate::foundation::Purpose::FirmEntry, self.tick as u64, z as u64);
            f.tally[z] = crate::model::firm::populate(
                &mut f.blocks[z],
                &self.scenario.firms,
                &f.rates,
                self.zones.cur.capacity[z],
                &mut rng,
            );
        }
        self.counts.entered += 1;
    }
}
