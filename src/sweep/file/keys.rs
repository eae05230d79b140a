//! Every key a sweep file takes, documented once: the parser's lists of known keys and the
//! reference page (`docs/sweeps.md`) both come from here.

use super::*;

/// One key of a sweep file: where it goes, what it takes, its default and meaning. The
/// parser's lists of known keys and the reference page (`docs/sweeps.md`, from
/// [`reference()`]) both come from [`KEYS`], so they cannot disagree.
pub struct KeyDoc {
    pub(crate) section: &'static str,
    /// The key as a sweep file writes it within its table (e.g. `replications`).
    pub key: &'static str,
    pub(crate) allowed: &'static str,
    pub(crate) default: &'static str,
    pub(crate) doc: &'static str,
}

/// Every key of the `[sweep]`, `[keep]` and `[slurm]` tables and of an axis range.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc {
        section: "sweep",
        key: "scenario",
        allowed: "a path to a scenario file, relative to the sweep file",
        default: "none: give it, or an inline `[scenario]` table",
        doc: "The base scenario every run starts from; the axes change it.",
    },
    KeyDoc {
        section: "sweep",
        key: "replications",
        allowed: "an integer in [1, 100000]",
        default: "the base scenario's `run.replications`",
        doc: "Replications of every design point (run r is replication r % replications of point r / replications).",
    },
    KeyDoc {
        section: "sweep",
        key: "seed",
        allowed: "an integer in [0, 9223372036854775807]",
        default: "the base scenario's `run.seed`",
        doc: "Master seed of the design (sampled points) and of the runs.",
    },
    KeyDoc {
        section: "sweep",
        key: "seeds",
        allowed: "\"common\" or \"independent\"",
        default: "\"common\"",
        doc: "\"common\": every design point uses the sweep seed, so replication r of every point sees the same landscapes, network and starting draws (a paired design); \"independent\": each point gets its own seed, derived from the sweep seed and the point.",
    },
    KeyDoc {
        section: "sweep",
        key: "design",
        allowed: "\"grid\", \"random\" or \"lhs\"",
        default: "\"grid\"",
        doc: "\"grid\": every combination of the axes' values, the last axis varying fastest; \"random\": `samples` points drawn uniformly and independently; \"lhs\": `samples` points of a Latin hypercube (each axis cut into `samples` equal strata, each stratum used once).",
    },
    KeyDoc {
        section: "sweep",
        key: "samples",
        allowed: "an integer in [1, 10000000] (random and lhs designs only)",
        default: "none: a random or lhs design needs it",
        doc: "Design points of a random or lhs design.",
    },
    KeyDoc {
        section: "keep",
        key: "ticks",
        allowed: "\"all\", \"final\" or \"window\"",
        default: "\"all\"",
        doc: "Which ticks of each run are kept: every `every`-th tick and the last (\"all\"), the last tick only (\"final\"), or the mean over the ticks of `window` (\"window\").",
    },
    KeyDoc {
        section: "keep",
        key: "every",
        allowed: "an integer in [1, 1000000] (with ticks = \"all\" only)",
        default: "1",
        doc: "Keep every `every`-th tick (and the last).",
    },
    KeyDoc {
        section: "keep",
        key: "window",
        allowed: "two ticks `[from, to]`, 0 <= from <= to <= run.ticks (with ticks = \"window\" only)",
        default: "none: ticks = \"window\" needs it",
        doc: "Keep the mean of every metric over ticks from..=to, both included (results.csv gets `from_tick` and `to_tick` columns). A run that stops at equilibrium before the window keeps its final state.",
    },
    KeyDoc {
        section: "keep",
        key: "metrics",
        allowed: "a list of ticks.csv column names, each once",
        default: "every ticks.csv column (the firm columns only when the base scenario or an axis turns firms on)",
        doc: "The metrics kept of each run.",
    },
    KeyDoc {
        section: "keep",
        key: "reporters",
        allowed: "a list of column names (letters, digits and `_`), each once, none a ticks.csv column",
        default: "none",
        doc: "Columns of reporters a program registers (`esh::output::Reporter`), kept after the metrics. Such a plan runs only from a program that registers reporters of exactly these columns (`esh::sweep::execute::Options::reporters`); `esh sweep run` refuses it.",
    },
    KeyDoc {
        section: "keep",
        key: "summary",
        allowed: "true or false",
        default: "true",
        doc: "Whether `esh sweep merge` writes summary.csv (per design point and kept tick: n, mean, sd, 95% CI) beside results.csv. A calibration's sweep sets it to false: its statistics are in the calibration's own files.",
    },
    KeyDoc {
        section: "axes",
        key: "from",
        allowed: "a number in the parameter's range",
        default: "none: a range needs it",
        doc: "The first value of a range.",
    },
    KeyDoc {
        section: "axes",
        key: "to",
        allowed: "a number in the parameter's range, at least `from`",
        default: "none: a range needs it",
        doc: "The last value of a range.",
    },
    KeyDoc {
        section: "axes",
        key: "steps",
        allowed: "an integer in [1, 10000000] (grid designs only); over an integer parameter at most the number of integers in [from, to], with distinct values after rounding",
        default: "every integer of [from, to] for an integer parameter; a real parameter's range on a grid needs it",
        doc: "The number of values of a range on a grid, both ends included: `{ from = 0, to = 1, steps = 5 }` is 0, 0.25, 0.5, 0.75, 1.",
    },
    KeyDoc {
        section: "axes",
        key: "scale",
        allowed: "\"linear\" or \"log\" (log needs from > 0)",
        default: "\"linear\"",
        doc: "How the values of a range are spaced (grid) or sampled (random, lhs): evenly, or evenly in the logarithm.",
    },
    KeyDoc {
        section: "slurm",
        key: "tasks",
        allowed: "an integer in [1, 1000000]",
        default: "none: give it here or with --tasks",
        doc: "Array tasks, one shard each.",
    },
    KeyDoc {
        section: "slurm",
        key: "time",
        allowed: "a Slurm time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS",
        default: "the partition's",
        doc: "Time limit per task (`#SBATCH --time`).",
    },
    KeyDoc {
        section: "slurm",
        key: "partition",
        allowed: "a Slurm partition name, or several separated by commas (letters, digits, `_`, `-`, `.`)",
        default: "the cluster's default",
        doc: "Partition (`#SBATCH --partition`).",
    },
    KeyDoc {
        section: "slurm",
        key: "memory",
        allowed: "a Slurm memory size: an integer with an optional unit K, M, G or T, e.g. \"2G\"",
        default: "the partition's",
        doc: "Memory per task (`#SBATCH --mem`).",
    },
    KeyDoc {
        section: "slurm",
        key: "cpus",
        allowed: "an integer in [1, 100000]",
        default: "1",
        doc: "CPUs per task (`#SBATCH --cpus-per-task`): the task's threads.",
    },
    KeyDoc {
        section: "slurm",
        key: "account",
        allowed: "a Slurm account name (letters, digits, `_`, `-`, `.`)",
        default: "your default account",
        doc: "Account charged (`#SBATCH --account`).",
    },
    KeyDoc {
        section: "slurm",
        key: "throttle",
        allowed: "an integer in [1, 1000000]",
        default: "no limit",
        doc: "At most this many tasks at once (the array's `%` limit).",
    },
    KeyDoc {
        section: "slurm",
        key: "extra",
        allowed: "a list of sbatch options, each starting with `-`, printable, without quotes or backslashes, e.g. [\"--qos=normal\"]",
        default: "none",
        doc: "More `#SBATCH` lines, after the others.",
    },
];

/// The known keys of one table of [`KEYS`].
pub(super) fn keys_of(section: &str) -> Vec<&'static str> {
    KEYS.iter().filter(|k| k.section == section).map(|k| k.key).collect()
}

/// The sweep file reference in Markdown, kept in `docs/sweeps.md` (a test checks it is
/// current; `ESH_UPDATE_DOCS=1 cargo test --test sweep` rewrites it). Its tables come from
/// [`KEYS`], the lists the parser reads.
// Over 80 lines because it is the page's prose; its tables come from KEYS.
pub fn reference() -> String {
    let mut o = String::from(
        "<!-- Generated from src/sweep/file/keys.rs (KEYS and reference()); do not edit by hand (a test checks it is current:\n\
         `ESH_UPDATE_DOCS=1 cargo test --test sweep sweeps_md` rewrites it). -->\n\
         # Sweep files\n\n\
         A sweep file names a base scenario, the parameters to vary (the axes), the design that\n\
         combines their values into design points, and what to keep of each run. `esh sweep plan`\n\
         reads it with the errors of a scenario file (file, line, column, key, what is allowed, the\n\
         nearest known name) and fixes every run in a plan directory; [clusters.md](clusters.md)\n\
         covers running, Slurm, failures and merging. Unknown keys and values out of range are\n\
         errors (exit code 2).\n\n\
         ```toml\n\
         [sweep]\n\
         scenario = \"../scenarios/baseline.toml\"   # or an inline [scenario] table\n\
         replications = 20                         # default: the base scenario's\n\
         design = \"grid\"\n\n\
         [axes]\n\
         \"centre.tolerance\" = { from = 0.0, to = 1.0, steps = 5 }   # 0, 0.25, 0.5, 0.75, 1\n\
         \"zones.supervisors\" = [1, 2, 4]\n\
         \"zones.experiment_rate\" = { from = 0.01, to = 1.0, steps = 3, scale = \"log\" }\n\n\
         [keep]\n\
         ticks = \"window\"\n\
         window = [40, 50]                         # the mean over ticks 40..=50\n\
         metrics = [\"mean_performance\", \"diversity\"]\n\n\
         [slurm]\n\
         tasks = 16\n\
         time = \"01:00:00\"\n\
         ```\n\n\
         The sections are `[sweep]`, `[scenario]` (an inline base scenario, instead of\n\
         `sweep.scenario`), `[axes]`, `[keep]` and `[slurm]`.\n",
    );
    let table = |o: &mut String, section: &str| {
        o.push_str("\n| key | default | allowed | meaning |\n|---|---|---|---|\n");
        for k in KEYS.iter().filter(|k| k.section == section) {
            writeln!(o, "| `{}` | {} | {} | {} |", k.key, k.default, k.allowed, k.doc).unwrap();
        }
    };
    o.push_str("\n## [sweep]\n");
    table(&mut o, "sweep");
    writeln!(
        o,
        "\nA plan holds at most {MAX_RUNS} runs (design points x replications); a Latin hypercube at most\n\
         {MAX_LHS_CELLS} strata (samples x axes). Counts are multiplied with overflow checks, so an\n\
         oversized grid is an error, never a wrapped number."
    )
    .unwrap();
    o.push_str(
        "\n## [axes]\n\n\
         One entry per parameter to vary, named by its dotted path (`\"centre.tolerance\"`, or\n\
         `centre.tolerance` unquoted); [scenario.md](scenario.md) lists them. Every plain parameter\n\
         can be an axis except `run.seed` and `run.replications` (the sweep sets them:\n\
         `sweep.seed`, `sweep.replications`) and `run.start_year` and `run.ticks_per_year` (they\n\
         placed the base scenario's events in time when it was read). An axis is either a list of\n\
         values, each once (`[0.1, 0.5, 0.9]`, `[true, false]`, `[\"adjacent\", \"random\"]`), or a\n\
         range table over a numeric parameter:\n",
    );
    table(&mut o, "axes");
    o.push_str(
        "\nOn a grid, an integer range without `steps` takes every integer of [from, to]; with\n\
         `steps`, the values are spaced as for a real parameter and rounded to the nearest integer.\n\
         Steps that would give a value twice (`{ from = 1, to = 2, steps = 5 }` would be 1, 1, 2, 2,\n\
         2) are an error, not silently repeated runs. Random and lhs designs sample a range\n\
         (an integer range with equal weight on every integer) and a list (equal weight on every\n\
         value).\n\n\
         A value is checked against the parameter's domain when the sweep is read; a design point\n\
         that breaks a rule between parameters (K >= N, say) does not stop the plan: `plan` warns,\n\
         and its runs are recorded as failed with the reason. `plan` also warns when the base\n\
         scenario has a `set` event for an axis's parameter, naming the event: from that tick on the\n\
         event's value replaces the axis's.\n",
    );
    o.push_str("\n## [keep]\n");
    table(&mut o, "keep");
    o.push_str("\n## [slurm]\n\nDefaults for `esh sweep slurm` (its flags override them).\n");
    table(&mut o, "slurm");
    o.push_str(
        "\nEvery value that reaches a script is checked against what Slurm accepts, and a control\n\
         character (a newline, say) is refused with an error naming the key or flag: no value can\n\
         add a line to a script. The sweep directory and the esh binary must be paths without\n\
         control characters, and the log directory (inside the sweep directory) one that an\n\
         `#SBATCH` line can hold: no spaces, quotes, backslashes, `%` or `#`.\n\n\
         ## The plan directory\n\n\
         `esh sweep plan` writes `sweep.toml` (this file with every setting explicit, the base\n\
         scenario named `base.toml`), `base.toml` (the resolved base scenario) and `plan.csv`\n\
         (one line per run: `run, point, replication, seed` and the axis values). Run r is\n\
         replication `r % replications` of design point `r / replications`.\n",
    );
    o
}
