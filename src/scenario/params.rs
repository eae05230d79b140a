//! Every scenario parameter, defined once: name, type, default, allowed range, one-line
//! doc, and whether an event may change it mid-run. Parsing, validation, the resolved
//! scenario and the docs table (`esh params`) are all generated from these definitions.

use std::fmt;

pub use crate::input::Value;

/// What values a parameter allows. Non-exhaustive: new kinds of parameter may bring new
/// domains, so a match on one needs a `_` arm.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Domain {
    /// A TOML integer in `[min, max]`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A finite number in `[min, max]`; a TOML integer is read as one too.
    Float {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value (infinite: no upper bound).
        max: f64,
    },
    /// `true` or `false`.
    Bool,
    /// One of these strings, as written in the scenario file.
    Choice(&'static [&'static str]),
    /// Any string (a region's name, an event's region or parameter path).
    Text,
    /// A list of zone ids (an event's `zones`).
    ZoneIds,
    /// A value of the type and in the range of the parameter an event sets (its `value`).
    ParameterValue,
}

/// A bound or value in a short form: exact up to six digits, else in exponent form
/// (`1e12`, not thirteen digits; `1.7976931348623157e308`, not 309).
pub(crate) fn short(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e6).contains(&x.abs()) { format!("{x:e}") } else { format!("{x}") }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Domain::Int { min, max } => write!(f, "an integer in [{min}, {max}]"),
            Domain::Float { min, max } if max.is_infinite() => write!(f, "a number >= {}", short(*min)),
            Domain::Float { min, max } => write!(f, "a number in [{}, {}]", short(*min), short(*max)),
            Domain::Bool => write!(f, "true or false"),
            Domain::Choice(names) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                write!(f, "one of {}", quoted.join(", "))
            }
            Domain::Text => write!(f, "a string"),
            Domain::ZoneIds => write!(f, "a list of zone ids, e.g. [0, 4, 17]"),
            Domain::ParameterValue => write!(f, "a value of the parameter's type, in its range"),
        }
    }
}

/// One parameter's definition.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub(crate) section: &'static str,
    pub(crate) key: &'static str,
    /// The values it allows (what validation checks and `esh params` lists).
    pub domain: Domain,
    pub(crate) doc: &'static str,
    /// Whether a `set` event may change it during a run.
    pub settable: bool,
    /// How to read and write it on a scenario: generated with the field, so that no code
    /// finds a field by its section's or key's name. None for the keys of `[[regions]]` and
    /// `[[events]]` tables, which are read by hand.
    pub(crate) access: Option<Access>,
}

/// A plain parameter's field on a [`Scenario`](super::Scenario), as functions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Access {
    pub(crate) get: fn(&super::Scenario) -> Value,
    /// Checks the value against the parameter's domain and stores it.
    pub(crate) set: fn(&mut super::Scenario, &Value) -> Result<(), String>,
}

impl PartialEq for ParamSpec {
    /// Two specs are the same parameter when their paths are (the access functions follow).
    fn eq(&self, other: &ParamSpec) -> bool {
        self.section == other.section && self.key == other.key
    }
}

impl ParamSpec {
    pub(crate) fn path(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }
}

/// Conversion between a field's Rust type and a checked scenario [`Value`].
pub(crate) trait ParamValue: Sized {
    fn from_value(v: &Value, d: &Domain) -> Result<Self, String>;
    fn to_value(&self) -> Value;
}

fn found(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

fn int_in(v: &Value, d: &Domain) -> Result<i64, String> {
    let Domain::Int { min, max } = *d else { unreachable!("integer field with non-integer domain") };
    match v {
        Value::Int(i) if (min..=max).contains(i) => Ok(*i),
        _ => Err(format!("expected {d}, found {}", found(v))),
    }
}

impl ParamValue for u32 {
    fn from_value(v: &Value, d: &Domain) -> Result<Self, String> {
        int_in(v, d).map(|i| i as u32)
    }
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
}

impl ParamValue for u64 {
    fn from_value(v: &Value, d: &Domain) -> Result<Self, String> {
        int_in(v, d).map(|i| i as u64)
    }
    /// A value above i64::MAX (a seed set in code) is no TOML integer: it reads as a float,
    /// which the integer domain then refuses by its value, not a wrapped negative one.
    fn to_value(&self) -> Value {
        i64::try_from(*self).map_or(Value::Float(*self as f64), Value::Int)
    }
}

impl ParamValue for f64 {
    fn from_value(v: &Value, d: &Domain) -> Result<Self, String> {
        let Domain::Float { min, max } = *d else { unreachable!("float field with non-float domain") };
        let x = match v {
            Value::Float(x) => *x,
            Value::Int(i) => *i as f64,
            _ => return Err(format!("expected {d}, found {}", found(v))),
        };
        if x.is_finite() && x >= min && x <= max { Ok(x) } else { Err(format!("expected {d}, found {}", found(v))) }
    }
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
}

impl ParamValue for bool {
    fn from_value(v: &Value, d: &Domain) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            _ => Err(format!("expected {d}, found {}", found(v))),
        }
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

/// An enumerated parameter: its names in the scenario file, in declaration order.
pub(crate) trait Choice: Sized + Copy {
    const NAMES: &'static [&'static str];
    fn from_index(i: usize) -> Self;
    fn index(self) -> usize;
    fn name(self) -> &'static str {
        Self::NAMES[self.index()]
    }
}

macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $variant),+ }
        impl Choice for $name {
            const NAMES: &'static [&'static str] = &[$($text),+];
            fn from_index(i: usize) -> Self {
                const ALL: &[$name] = &[$($name::$variant),+];
                ALL[i]
            }
            fn index(self) -> usize {
                self as usize
            }
        }
        impl ParamValue for $name {
            fn from_value(v: &Value, d: &Domain) -> Result<Self, String> {
                match v {
                    Value::Str(s) => match Self::NAMES.iter().position(|n| n == s) {
                        Some(i) => Ok(Self::from_index(i)),
                        None => {
                            let hint = crate::scenario::suggest::nearest(s, Self::NAMES.iter().copied())
                                .map(|n| format!(" (did you mean \"{n}\"?)"))
                                .unwrap_or_default();
                            Err(format!("expected {d}, found \"{s}\"{hint}"))
                        }
                    },
                    _ => Err(format!("expected {d}, found {}", found(v))),
                }
            }
            fn to_value(&self) -> Value {
                Value::Str(self.name().to_string())
            }
        }
    };
}

choice!(
    /// The landscape kind.
    LandscapeKind {
        /// `"nk"`: Kauffman's NK landscape; each instrument's value depends on K others.
        Nk = "nk",
        /// `"target"`: March (1991)'s hidden reality; fitness is the share of instruments that match it.
        Target = "target",
    }
);
choice!(
    /// How an NK instrument's K interacting instruments are chosen.
    Neighbourhood {
        /// `"adjacent"`: the K instruments that follow it (wrapping around).
        Adjacent = "adjacent",
        /// `"random"`: K distinct instruments at random.
        Random = "random",
        /// `"random_with_replacement"`: K draws that may repeat (Lazer & Friedman 2007).
        RandomWithReplacement = "random_with_replacement",
    }
);
choice!(
    /// The centre's programme at tick 0.
    ProgrammeInit {
        /// `"random"`: each instrument 0 or 1 with probability 1/2.
        Random = "random",
        /// `"zeros"`: every instrument 0.
        Zeros = "zeros",
        /// `"unset"`: no instrument set (March 1991).
        Unset = "unset",
    }
);
choice!(
    /// How pilots are chosen at a review.
    PilotSelection {
        /// `"random"`: zones drawn at random.
        Random = "random",
        /// `"top"`: the highest observed performance, ties to the lowest zone id.
        Top = "top",
        /// `"innovative"`: the most successful experiments since the last review, ties broken by a draw.
        Innovative = "innovative",
        /// `"laggards"`: the lowest observed performance, ties to the lowest zone id.
        Laggards = "laggards",
    }
);
choice!(
    /// A zone's policy when it enters.
    PolicyInit {
        /// `"random"`: each instrument 0 or 1 with probability 1/2.
        Random = "random",
        /// `"programme"`: the programme as it stands, with a `perturbation` share of instruments flipped.
        Programme = "programme",
        /// `"unset"`: no instrument set.
        Unset = "unset",
        /// `"three_state"`: each instrument unset, 0 or 1 with probability 1/3 each (March 1991).
        ThreeState = "three_state",
    }
);
choice!(
    /// What the centre's feedback counts in the superior group.
    FeedbackFrom {
        /// `"beliefs"`: the settings the superior zones hold (March 1991's text).
        Beliefs = "beliefs",
        /// `"actions"`: the actions they were judged on, unset instruments filled by coin flips.
        Actions = "actions",
    }
);
choice!(
    /// How compliance moves a zone toward the programme.
    ComplianceMode {
        /// `"direct"`: a differing instrument takes the programme's setting at once.
        Direct = "direct",
        /// `"one_step"`: a differing setting first becomes unset, then takes the programme's (March 1991).
        OneStep = "one_step",
    }
);
choice!(
    /// When a zone's performance is measured within a tick.
    Evaluate {
        /// `"after_adapt"`: the policy the zone holds after this tick's imitation or experiment.
        AfterAdapt = "after_adapt",
        /// `"before_adapt"`: the action taken before adapting (March 1991).
        BeforeAdapt = "before_adapt",
    }
);
choice!(
    /// The horizontal network.
    NetworkKind {
        /// `"regional"`: a block model, edges likelier within a region (`p_within`) than between (`p_between`).
        Regional = "regional",
        /// `"linear"`: a path, each zone linked to the one before and after it.
        Linear = "linear",
        /// `"ring"`: a ring lattice of the given `degree`.
        Ring = "ring",
        /// `"full"`: every zone observes every other.
        Full = "full",
        /// `"random"`: each pair linked with probability `density`.
        Random = "random",
        /// `"small_world"`: a ring lattice whose edges are rewired with probability `rewire`, kept connected.
        SmallWorld = "small_world",
        /// `"none"`: no zone observes another, so none imitates.
        None = "none",
    }
);
choice!(
    /// A zone's administrative level.
    Level {
        /// `"provincial"`: a provincial-level zone (only reported, and firms' births use `provincial_births`).
        Provincial = "provincial",
        /// `"national"`: a national-level zone, the default (only reported).
        National = "national",
        /// `"demonstration"`: a demonstration zone, a permanent pilot while it holds the level.
        Demonstration = "demonstration",
    }
);

/// A section of the scenario file made of plain parameters.
pub(crate) trait Section: Default + Clone {
    const NAME: &'static str;
    const SPECS: &'static [ParamSpec];
}

/// A section's struct and the specs of its fields; `$section` is both the section's name in
/// the file and the [`Scenario`](super::Scenario) field that holds it.
macro_rules! section {
    ($(#[$m:meta])* $name:ident = $section:ident {
        $( #[doc = $doc:literal] $field:ident : $ty:ty = $default:expr, $domain:expr, $settable:literal; )*
    }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name { $( #[doc = $doc] pub $field: $ty, )* }
        impl Default for $name {
            fn default() -> Self { $name { $( $field: $default, )* } }
        }
        impl Section for $name {
            const NAME: &'static str = stringify!($section);
            const SPECS: &'static [ParamSpec] = &[ $( ParamSpec {
                section: stringify!($section), key: stringify!($field), domain: $domain, doc: $doc, settable: $settable,
                access: Some(Access {
                    get: |s| s.$section.$field.to_value(),
                    set: |s, v| {
                        s.$section.$field = <$ty as ParamValue>::from_value(v, &$domain)?;
                        Ok(())
                    },
                }),
            }, )* ];
        }
    };
}

const fn int(min: i64, max: i64) -> Domain {
    Domain::Int { min, max }
}
const fn float(min: f64, max: f64) -> Domain {
    Domain::Float { min, max }
}
const UNIT: Domain = float(0.0, 1.0);
const BOOL: Domain = Domain::Bool;
const fn choice<C: Choice>() -> Domain {
    Domain::Choice(C::NAMES)
}

/// Parameters that a sweep, an experiment or a calibration sets itself for each run (its seed
/// and replications), so that none of their axes may vary them.
pub(crate) const RESERVED: &[&str] = &["run.seed", "run.replications"];

/// The most replications one run, sweep point or experiment condition may have.
pub(crate) const MAX_REPLICATIONS: u32 = 100_000;

/// The most zones one scenario may hold (initial plus entering).
pub(crate) const MAX_ZONES: i64 = 10_000_000;

section!(
    /// `[run]`: how long, how many replications, which seed.
    RunParams = run {
        /// Ticks to simulate after the initial state (tick 0); a tick is a year unless ticks_per_year says otherwise.
        ticks: u32 = 50, int(1, 1_000_000), false;
        /// Calendar year of tick 0; outputs report year = start_year + tick / ticks_per_year.
        start_year: u32 = 1988, int(0, 9999), false;
        /// Ticks in a calendar year (1: yearly, 12: monthly); events given by `year` apply at its first tick, and the firm module's yearly rates are converted to per-tick ones. Zone and centre rates stay per tick.
        ticks_per_year: u32 = 1, int(1, 366), false;
        /// Master seed of every random stream of the run.
        seed: u64 = 1, int(0, i64::MAX), false;
        /// Independent replications, each with its own landscape, network and draws.
        replications: u32 = 4, int(1, MAX_REPLICATIONS as i64), false;
        /// Stop a replication early once nothing can change any more (every zone holds the programme exactly, and experiments, turnover, turbulence and central search are off).
        stop_at_equilibrium: bool = false, BOOL, false;
    }
);

section!(
    /// `[landscape]`: what a policy is worth.
    LandscapeParams = landscape {
        /// Landscape kind: "nk" (Kauffman) or "target" (March 1991's hidden reality).
        kind: LandscapeKind = LandscapeKind::Nk, choice::<LandscapeKind>(), false;
        /// Number of policy instruments N.
        n: u32 = 20, int(1, 64), false;
        /// NK interactions K: each instrument's value depends on K others (K < N; ignored by "target").
        k: u32 = 5, int(0, 20), false;
        /// How the K interacting instruments are chosen: "adjacent", "random" (distinct), or "random_with_replacement" (Lazer & Friedman 2007).
        neighbourhood: Neighbourhood = Neighbourhood::Random, choice::<Neighbourhood>(), false;
        /// Correlation between two regions' landscapes (entry by entry): 1 one size fits all, 0 independent.
        context_similarity: f64 = 0.5, UNIT, false;
        /// Per tick, probability that each NK entry is redrawn / each target dimension flips.
        turbulence: f64 = 0.01, UNIT, true;
        /// Report scores relative to each context's maximum (found by exhaustive search; N <= 24).
        normalise: bool = false, BOOL, false;
        /// Reported score is the mean of (fitness / maximum)^score_exponent (Lazer & Friedman use 8).
        score_exponent: u32 = 1, int(1, 64), false;
    }
);

section!(
    /// `[centre]`: the central planner.
    CentreParams = centre {
        /// Ticks between central reviews (5: a Five-Year Plan); 0: the centre never reviews.
        review_interval: u32 = 5, int(0, 1_000_000), true;
        /// Share of the N instruments the programme mandates; the rest is local discretion.
        mandate_share: f64 = 0.5, UNIT, true;
        /// The programme at tick 0: "random", "zeros", or "unset" (March 1991).
        initial_programme: ProgrammeInit = ProgrammeInit::Random, choice::<ProgrammeInit>(), false;
        /// Probability that a detected deviation performing above the programme is tolerated.
        tolerance: f64 = 0.7, UNIT, true;
        /// Probability that one supervising authority detects a deviation at a review.
        detection: f64 = 0.5, UNIT, true;
        /// Share of capacity a zone loses when a detected, under-performing deviation is sanctioned.
        sanction_cost: f64 = 0.2, UNIT, true;
        /// March's p2: per-instrument rate at which the programme adopts the superior zones' majority setting.
        feedback_rate: f64 = 0.3, UNIT, true;
        /// Feedback counts the superior zones' held settings ("beliefs"; March 1991's text) or the actions they were judged on, unset instruments filled by coin flips ("actions"; later reconstructions of March's model).
        feedback_from: FeedbackFrom = FeedbackFrom::Beliefs, choice::<FeedbackFrom>(), true;
        /// Zones designated pilots at each review (never sanctioned, experiment more).
        pilot_quota: u32 = 10, int(0, MAX_ZONES), true;
        /// How pilots are chosen: "random", "top" performers, most "innovative" (successful experiments in the last cycle), or "laggards".
        pilot_selection: PilotSelection = PilotSelection::Innovative, choice::<PilotSelection>(), true;
        /// The k best zones published at each review; every zone may imitate them as if neighbours.
        showcase_top: u32 = 3, int(0, MAX_ZONES), true;
        /// Top-down benchmark: at each review the centre also tries one instrument change itself, judged on mean performance, and mandates it if better.
        central_search: bool = false, BOOL, true;
        /// Ticks by which the centre's performance data lag (retrospective indices); 0: current.
        observation_lag: u32 = 1, int(0, 100), false;
    }
);

section!(
    /// `[zones]`: the local agents' rules.
    ZoneParams = zones {
        /// A zone's policy when it enters: "random", "programme" (perturbed), "unset", or "three_state" (each instrument unset/0/1 equally likely; March 1991).
        initial_policy: PolicyInit = PolicyInit::Random, choice::<PolicyInit>(), true;
        /// With initial_policy = "programme": share of instruments flipped away from the programme.
        perturbation: f64 = 0.2, UNIT, true;
        /// A zone imitates its best neighbour only if that neighbour's observed performance exceeds its own by more than this.
        imitation_threshold: f64 = 0.01, UNIT, true;
        /// Probability that each differing instrument is copied when imitating (1 - Lazer & Friedman's error).
        imitation_fidelity: f64 = 0.9, UNIT, true;
        /// Undo an imitation that lowers the zone's own fitness (Lazer & Friedman 2007).
        imitation_revert: bool = true, BOOL, true;
        /// Probability that a zone adapts (imitates or experiments) at all in a tick (Lazer & Friedman's velocity).
        velocity: f64 = 1.0, UNIT, true;
        /// Probability per tick that a zone that does not imitate runs an experiment.
        experiment_rate: f64 = 0.5, UNIT, true;
        /// Instruments changed by one experiment.
        experiment_radius: u32 = 1, int(1, 64), true;
        /// Pilots experiment at experiment_rate times this (capped at 1).
        pilot_boost: f64 = 2.0, float(0.0, 100.0), true;
        /// March's p1: probability per tick and differing mandated instrument that a zone takes the programme's setting.
        compliance_rate: f64 = 0.1, UNIT, true;
        /// "direct": take the programme's setting; "one_step": a differing setting becomes unset, an unset one takes the programme's (March 1991).
        compliance_mode: ComplianceMode = ComplianceMode::Direct, choice::<ComplianceMode>(), true;
        /// When performance is measured: "after_adapt" (this tick's new policy) or "before_adapt" (the action taken before adapting; March 1991).
        evaluate: Evaluate = Evaluate::AfterAdapt, choice::<Evaluate>(), true;
        /// Supervising authorities per zone ("too many mothers-in-law"): detection d = 1 - (1 - detection)^supervisors.
        supervisors: u32 = 1, int(0, 100), true;
        /// Capacity grows by capacity_growth x capacity x (performance - programme's performance) per tick.
        capacity_growth: f64 = 0.1, float(0.0, 10.0), true;
        /// Probability per tick that a zone's policy is replaced by a fresh initial policy (March's turnover).
        turnover: f64 = 0.0, UNIT, true;
        /// Standard deviation of the noise added to fitness to give observed performance.
        observation_noise: f64 = 0.0, float(0.0, 10.0), true;
    }
);

section!(
    /// `[network]`: who observes whom.
    NetworkParams = network {
        /// "regional" (block model), "linear" (a path), "ring" (lattice), "full", "random", "small_world" (rewired ring, connected), or "none".
        kind: NetworkKind = NetworkKind::Regional, choice::<NetworkKind>(), false;
        /// Ring and small-world lattice degree (even; each zone links degree/2 on each side).
        degree: u32 = 4, int(2, 10_000), false;
        /// Small world: probability that each lattice edge is rewired to a random zone.
        rewire: f64 = 0.1, UNIT, false;
        /// Random network: probability of an edge between any two zones.
        density: f64 = 0.05, UNIT, false;
        /// Regional block model: edge probability between two zones of the same region.
        p_within: f64 = 0.1, UNIT, false;
        /// Regional block model: edge probability between zones of different regions.
        p_between: f64 = 0.002, UNIT, false;
    }
);

section!(
    /// `[firms]`: firms inside zones (DESIGN 6.7), off unless enabled. Rates are per year.
    FirmParams = firms {
        /// Simulate firms inside zones (the firm columns of ticks.csv, zones.csv and regions.csv are empty when off).
        enabled: bool = false, BOOL, false;
        /// Firms a zone holds when it enters, per unit of its capacity.
        initial: f64 = 100.0, float(0.0, 1e7), false;
        /// Ages of a zone's initial firms are uniform in [0, initial_age) years.
        initial_age: f64 = 3.0, float(0.0, 100.0), false;
        /// Births per year per unit of zone capacity (founders from outside), times performance and the multipliers below.
        seed_births: f64 = 10.0, float(0.0, 1e7), true;
        /// Births per year per existing firm of the zone (spin-offs), times performance and the multipliers below.
        spinoff_births: f64 = 0.3, float(0.0, 100.0), true;
        /// Firms per unit of capacity at which births stop (births fall linearly to 0 there); 0: no limit.
        carrying: f64 = 0.0, float(0.0, 1e9), true;
        /// The first this many instruments are the programme's support instruments; births rise with the share of them a zone has set to 1.
        support_instruments: u32 = 0, int(0, 64), true;
        /// Births are multiplied by 1 + support_boost x (share of support instruments set to 1).
        support_boost: f64 = 0.0, float(0.0, 100.0), true;
        /// Birth multiplier of provincial-level zones (national zones: 1).
        provincial_births: f64 = 0.5, float(0.0, 100.0), true;
        /// Birth multiplier of demonstration zones (national zones: 1).
        demonstration_births: f64 = 1.5, float(0.0, 100.0), true;
        /// Yearly death probability of a new firm of productivity 1.
        hazard_young: f64 = 0.3, UNIT, true;
        /// Yearly death probability of an old firm of productivity 1.
        hazard_old: f64 = 0.05, UNIT, true;
        /// Years over which the hazard falls from hazard_young toward hazard_old (e-folding age).
        hazard_age: f64 = 3.0, float(0.01, 100.0), true;
        /// How much productivity protects: the hazard is multiplied by (1 + h) / (1 + h x productivity).
        hazard_productivity: f64 = 1.0, float(0.0, 100.0), true;
        /// Hazard multiplier of state-owned firms (soft budget constraints).
        state_hazard: f64 = 0.5, float(0.0, 100.0), true;
        /// Hazard multiplier of foreign-owned firms.
        foreign_hazard: f64 = 1.0, float(0.0, 100.0), true;
        /// Yearly productivity growth of a firm in a zone of performance 0.
        growth: f64 = 0.0, float(-1.0, 1.0), true;
        /// Extra yearly productivity growth per unit of the zone's policy performance.
        growth_performance: f64 = 0.05, float(-10.0, 10.0), true;
        /// Standard deviation of a firm's yearly productivity growth (idiosyncratic shocks).
        productivity_noise: f64 = 0.1, float(0.0, 10.0), true;
        /// Mean productivity of a new firm.
        birth_productivity: f64 = 1.0, float(0.01, 1e6), true;
        /// A new firm's productivity is uniform in birth_productivity x [1 - spread, 1 + spread].
        birth_spread: f64 = 0.5, float(0.0, 0.99), true;
        /// Productivity at or above which a firm is a designated high-tech enterprise.
        high_tech_threshold: f64 = 2.0, float(0.0, 1e6), true;
        /// Yearly probability that a firm below its zone's mean productivity is merged into another firm of the zone.
        merger_rate: f64 = 0.0, UNIT, true;
        /// Extra yearly merger probability per unit of hierarchy bias (mandate_share x effective detection x (1 - tolerance); seed 003's vertical integration).
        merger_hierarchy: f64 = 0.0, UNIT, true;
        /// Employees of a new firm (a merger adds the merged firm's employees to the acquirer's).
        birth_employees: f64 = 10.0, float(0.0, 1e6), true;
        /// Yearly revenue per employee at productivity 1, in million yuan (ticks.csv reports revenue in billion yuan per year).
        revenue_per_employee: f64 = 1.0, float(0.0, 1e6), true;
        /// Ownership weight at birth: state-owned.
        ownership_state: f64 = 0.1, float(0.0, 1e6), true;
        /// Ownership weight at birth: private.
        ownership_private: f64 = 0.8, float(0.0, 1e6), true;
        /// Ownership weight at birth: foreign.
        ownership_foreign: f64 = 0.1, float(0.0, 1e6), true;
        /// Financing weight at birth: loans from financial institutions (seed 003, Table 3: 65.0%).
        financing_loans: f64 = 65.0, float(0.0, 1e6), true;
        /// Financing weight at birth: foreign capital (12.7%).
        financing_foreign: f64 = 12.7, float(0.0, 1e6), true;
        /// Financing weight at birth: share financing (7.6%).
        financing_shares: f64 = 7.6, float(0.0, 1e6), true;
        /// Financing weight at birth: venture capital (5.6%).
        financing_venture: f64 = 5.6, float(0.0, 1e6), true;
        /// Financing weight at birth: joint venture (4.1%).
        financing_joint: f64 = 4.1, float(0.0, 1e6), true;
        /// Financing weight at birth: other (5.0%).
        financing_other: f64 = 5.0, float(0.0, 1e6), true;
        /// The zone whose firms ticks.csv reports in focal_firms and focal_founded (the historical scenario's Zhongguancun is zone 0).
        focal_zone: u32 = 0, int(0, MAX_ZONES), false;
    }
);

section!(
    /// `[output]`: what is written besides ticks.csv, events.csv and the provenance.
    OutputParams = output {
        /// Write zones.csv (a per-zone panel) every this many ticks; 0: not written.
        zones_every: u32 = 10, int(0, 1_000_000), false;
        /// Write diffusion.csv (holders of every live innovation) every this many ticks; 0: not written.
        diffusion_every: u32 = 1, int(0, 1_000_000), false;
        /// Write innovations.csv (the lineage of every innovation).
        innovations: bool = true, BOOL, false;
        /// Log every centre action (sanction, toleration, feedback, pilot, showcase) in events.csv.
        centre_log: bool = true, BOOL, false;
    }
);

impl FirmParams {
    /// Ownership weights at birth: state, private, foreign (the order of a firm's kind bits).
    pub(crate) fn ownership_weights(&self) -> [f64; 3] {
        [self.ownership_state, self.ownership_private, self.ownership_foreign]
    }

    /// Financing weights at birth, in Table 3's order (seed 003).
    pub(crate) fn financing_weights(&self) -> [f64; 6] {
        [
            self.financing_loans,
            self.financing_foreign,
            self.financing_shares,
            self.financing_venture,
            self.financing_joint,
            self.financing_other,
        ]
    }
}

/// Keys of a `[[regions]]` entry (parsed by hand: `context` defaults to the region's index).
pub(crate) const REGION_SPECS: &[ParamSpec] = &[
    ParamSpec {
        section: "regions",
        key: "name",
        domain: Domain::Text,
        doc: "Region name, unique (default \"region-<index>\").",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "regions",
        key: "zones",
        domain: int(0, MAX_ZONES),
        doc: "Zones in the region at tick 0 (default 100).",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "regions",
        key: "initial_capacity",
        domain: float(0.0, 1e12),
        doc: "Capacity of each zone when it enters (default 1.0).",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "regions",
        key: "context",
        domain: int(0, 4095),
        doc: "Landscape context; regions sharing one share a landscape (default: the region's index).",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "regions",
        key: "level",
        domain: Domain::Choice(Level::NAMES),
        doc: "Administrative level of its zones (default \"national\"; \"demonstration\" zones are permanent pilots).",
        settable: false,
        access: None,
    },
];

/// Keys of an `[[events]]` entry.
pub(crate) const EVENT_SPECS: &[ParamSpec] = &[
    ParamSpec {
        section: "events",
        key: "tick",
        domain: int(0, 1_000_000),
        doc: "Tick at which the event applies (before zones act); give tick or year.",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "year",
        domain: int(0, 9999),
        doc: "Calendar year at which it applies, at its first tick: tick = (year - run.start_year) x run.ticks_per_year.",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "action",
        domain: Domain::Choice(&["add_zones", "set_level", "set_pilot", "set"]),
        doc: "What happens.",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "region",
        domain: Domain::Text,
        doc: "add_zones: the region they join; set_level / set_pilot: every zone of the region active then.",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "count",
        domain: int(1, MAX_ZONES),
        doc: "add_zones: how many zones enter.",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "capacity",
        domain: float(0.0, 1e12),
        doc: "add_zones: their capacity (default: the region's initial_capacity).",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "zones",
        domain: Domain::ZoneIds,
        doc: "set_level / set_pilot: a list of zone ids (zones are numbered region by region, then in order of entry).",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "level",
        domain: Domain::Choice(Level::NAMES),
        doc: "add_zones / set_level: the level (add_zones default: the region's).",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "pilot",
        domain: Domain::Bool,
        doc: "set_pilot: pilot status to set.",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "parameter",
        domain: Domain::Text,
        doc: "set: the dotted path of a settable parameter, e.g. \"centre.tolerance\".",
        settable: false,
        access: None,
    },
    ParamSpec {
        section: "events",
        key: "value",
        domain: Domain::ParameterValue,
        doc: "set: its new value (checked against the parameter's range).",
        settable: false,
        access: None,
    },
];

/// Every plain-section parameter, in file order.
pub fn all_specs() -> impl Iterator<Item = &'static ParamSpec> {
    RunParams::SPECS
        .iter()
        .chain(LandscapeParams::SPECS)
        .chain(CentreParams::SPECS)
        .chain(ZoneParams::SPECS)
        .chain(NetworkParams::SPECS)
        .chain(FirmParams::SPECS)
        .chain(OutputParams::SPECS)
}

/// Finds a plain parameter by its dotted path (`centre.tolerance`).
pub fn spec(path: &str) -> Option<&'static ParamSpec> {
    all_specs().find(|s| s.path() == path)
}
