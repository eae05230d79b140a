//! A sweep file written back in normalised form (the plan directory keeps it beside the
//! resolved base scenario), which parses to the same sweep.

use super::*;

impl SweepFile {
    /// The sweep in normalised form: every setting explicit, the base scenario named as
    /// `base.toml` (written beside it in the plan directory). Parsing it gives back an
    /// equal sweep (tested).
    pub fn to_toml(&self) -> String {
        let mut o = String::from(
            "# Normalised ESH sweep, written by `esh sweep plan`: every setting explicit.\n\
             # The base scenario is base.toml beside it; plan.csv lists every run.\n\n[sweep]\n",
        );
        let seeds = match self.seeds {
            Seeds::Common => "common",
            Seeds::Independent => "independent",
        };
        let design = match self.design {
            DesignKind::Grid => "grid",
            DesignKind::Random => "random",
            DesignKind::Lhs => "lhs",
        };
        writeln!(o, "scenario = \"base.toml\"\nreplications = {}\nseed = {}", self.replications, self.seed).unwrap();
        writeln!(o, "seeds = \"{seeds}\"\ndesign = \"{design}\"").unwrap();
        if self.design != DesignKind::Grid {
            writeln!(o, "samples = {}", self.samples).unwrap();
        }
        o.push_str("\n[keep]\n");
        if !self.summary {
            o.push_str("summary = false\n");
        }
        match self.keep {
            Keep::All { every } => writeln!(o, "ticks = \"all\"\nevery = {every}").unwrap(),
            Keep::Final => writeln!(o, "ticks = \"final\"").unwrap(),
            Keep::Window { from, to } => writeln!(o, "ticks = \"window\"\nwindow = [{from}, {to}]").unwrap(),
        }
        let names: Vec<String> = self.metrics.iter().map(|m| crate::input::quote(m.0)).collect();
        writeln!(o, "metrics = [{}]", names.join(", ")).unwrap();
        if !self.reporters.is_empty() {
            let names: Vec<String> = self.reporters.iter().map(|r| crate::input::quote(r)).collect();
            writeln!(o, "reporters = [{}]", names.join(", ")).unwrap();
        }
        o.push_str("\n[axes]\n");
        for a in &self.axes {
            let v = match &a.values {
                AxisValues::List(vs) => {
                    format!("[{}]", vs.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))
                }
                AxisValues::Range { from, to, steps, scale } => {
                    let mut s = match a.spec.domain {
                        Domain::Int { .. } => format!("{{ from = {}, to = {}", *from as i64, *to as i64),
                        _ => format!("{{ from = {from:?}, to = {to:?}"),
                    };
                    if let Some(n) = steps {
                        write!(s, ", steps = {n}").unwrap();
                    }
                    if *scale == Scale::Log {
                        s.push_str(", scale = \"log\"");
                    }
                    s + " }"
                }
            };
            writeln!(o, "{} = {v}", crate::input::quote(&a.name())).unwrap();
        }
        let sl = &self.slurm;
        let mut lines = Vec::new();
        let opt_n = |k: &str, v: Option<u32>| v.map(|v| format!("{k} = {v}"));
        let opt_s = |k: &str, v: &Option<String>| v.as_ref().map(|v| format!("{k} = {v:?}"));
        lines.extend(opt_n("tasks", sl.tasks));
        lines.extend(opt_s("time", &sl.time));
        lines.extend(opt_s("partition", &sl.partition));
        lines.extend(opt_s("memory", &sl.memory));
        lines.extend(opt_n("cpus", sl.cpus));
        lines.extend(opt_s("account", &sl.account));
        lines.extend(opt_n("throttle", sl.throttle));
        if !sl.extra.is_empty() {
            let ex: Vec<String> = sl.extra.iter().map(|e| format!("{e:?}")).collect();
            lines.push(format!("extra = [{}]", ex.join(", ")));
        }
        if !lines.is_empty() {
            writeln!(o, "\n[slurm]\n{}", lines.join("\n")).unwrap();
        }
        o
    }
}
