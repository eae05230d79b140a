//! The comparison a fit writes and prints: samples.csv, targets.csv, parameters.csv,
//! calibrated.toml and report.md, and the targets table of a fit or an evaluation.

use csv::QuoteStyle;

use crate::output::csv_text;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::fit::{Calibration, Evaluation, Fit, distance};
use super::targets::Target;
use super::{Error, input};
use crate::scenario::Value;
use crate::sweep::SweepError;
use crate::sweep::file::AxisValues;
use crate::sweep::plan::write_atomic;

/// What `write_report` wrote.
pub(crate) struct Written {
    pub(crate) files: Vec<PathBuf>,
    pub(crate) table: String,
}

/// Writes samples.csv, targets.csv, parameters.csv, calibrated.toml and report.md.
pub(crate) fn write_report(c: &Calibration, f: &Fit) -> Result<Written, Error> {
    let mut files = Vec::new();
    let mut put = |name: &str, text: String| -> Result<(), Error> {
        let p = c.dir.join(name);
        write_atomic(&p, text.as_bytes())?;
        files.push(p);
        Ok(())
    };
    put("samples.csv", samples_csv(c, f))?;
    let (targets_csv, table) = targets_table(c, f);
    put("targets.csv", targets_csv)?;
    let (params_csv, params_md) = params_table(f);
    put("parameters.csv", params_csv)?;
    put("calibrated.toml", calibrated(c, f)?)?;
    put("report.md", report_md(c, f, &table, &params_md))?;
    Ok(Written { files, table })
}

impl Evaluation {
    /// The table the command prints: per target, the mean over replications, its relative
    /// error and the replications' range; then the distance of the mean.
    pub(crate) fn table(&self) -> String {
        let mut o = table_header("model", "replications' range");
        let mut means = Vec::new();
        for (t, vs) in self.targets.iter().zip(&self.values) {
            let defined: Vec<f64> = vs.iter().flatten().copied().collect();
            let mean = (defined.len() == vs.len() && !vs.is_empty())
                .then(|| defined.iter().sum::<f64>() / defined.len() as f64);
            means.push(mean);
            table_row(&mut o, t, mean, &defined);
        }
        let d = distance(&self.targets, &means);
        if d.is_finite() {
            writeln!(o, "distance {d:.4} (weighted RMS of the fitted targets' relative errors)").unwrap();
        } else {
            o.push_str("distance undefined: a fitted target has no value in some replication\n");
        }
        o
    }
}

fn fmt(x: f64) -> String {
    format!("{x:?}")
}

fn opt(x: Option<f64>) -> String {
    x.map(fmt).unwrap_or_default()
}

fn samples_csv(c: &Calibration, f: &Fit) -> String {
    let mut o = String::from("point");
    for a in c.plan.axis_names() {
        write!(o, ",{a}").unwrap();
    }
    o.push_str(",distance,rank,accepted");
    for t in &c.targets {
        write!(o, ",{}", t.name).unwrap();
    }
    o.push('\n');
    let mut rank = vec![0; f.samples.len()];
    for (r, &i) in f.ranking.iter().enumerate() {
        rank[i] = r + 1;
    }
    for (i, s) in f.samples.iter().enumerate() {
        write!(o, "{}", s.point).unwrap();
        for v in &s.values {
            write!(o, ",{v}").unwrap();
        }
        let d = if s.distance.is_finite() { fmt(s.distance) } else { String::new() };
        write!(o, ",{d},{},{}", rank[i], s.accepted as u8).unwrap();
        for m in &s.model {
            write!(o, ",{}", opt(*m)).unwrap();
        }
        o.push('\n');
    }
    o
}

/// targets.csv and the table the command prints.
fn targets_table(c: &Calibration, f: &Fit) -> (String, String) {
    let mut csv = String::from(
        "target,kind,metric,when,stat,unit,weight,value,best,best_error,accepted_mean,accepted_min,accepted_max,source\n",
    );
    let mut table = table_header("best", "accepted range");
    let best = f.best();
    for (k, t) in c.targets.iter().enumerate() {
        let acc: Vec<f64> = f.samples.iter().filter(|s| s.accepted).filter_map(|s| s.model[k]).collect();
        let mean = (!acc.is_empty()).then(|| acc.iter().sum::<f64>() / acc.len() as f64);
        let (min, max) = (acc.iter().copied().reduce(f64::min), acc.iter().copied().reduce(f64::max));
        let b = best.model[k];
        let err = b.map(|b| t.error(b));
        writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_text(&t.name, QuoteStyle::Necessary),
            t.kind_name(),
            t.metric.0,
            t.when(),
            t.stat.name(),
            csv_text(&t.unit, QuoteStyle::Always),
            fmt(t.weight),
            fmt(t.value),
            opt(b),
            opt(err),
            opt(mean),
            opt(min),
            opt(max),
            csv_text(&t.source, QuoteStyle::Always)
        )
        .unwrap();
        table_row(&mut table, t, b, &acc);
    }
    (csv, table)
}

/// The header of the targets table the command prints; `model` and `range` name what the
/// model value and the range are.
fn table_header(model: &str, range: &str) -> String {
    format!("{:<28} {:>9} {:>14} {:>14} {:>8}  {:>29}\n", "target", "year", "value", model, "error", range)
}

/// One target's line: its value, a model value with its relative error, and the range of
/// `spread` (the accepted samples' or the replications' values).
fn table_row(o: &mut String, t: &Target, model: Option<f64>, spread: &[f64]) {
    let show = |x: Option<f64>| x.map(short).unwrap_or_else(|| "-".into());
    let range = format!(
        "{} .. {}",
        show(spread.iter().copied().reduce(f64::min)),
        show(spread.iter().copied().reduce(f64::max))
    );
    let error = model.map(|m| format!("{:+.1}", 100.0 * t.error(m))).unwrap_or_else(|| "-".into());
    let mark = if t.weight == 0.0 { " (not fitted)" } else { "" };
    writeln!(
        o,
        "{:<28} {:>9} {:>14} {:>14} {:>7}%  {:>29}{mark}",
        t.name,
        t.when(),
        short(t.value),
        show(model),
        error,
        range
    )
    .unwrap();
}

/// A number for people: the one format of run, reproduce and calibrate.
fn short(x: f64) -> String {
    crate::output::summary::number(x)
}

/// parameters.csv and its markdown table.
fn params_table(f: &Fit) -> (String, String) {
    let mut csv = String::from(
        "parameter,prior_from,prior_to,scale,best,accepted_mean,accepted_min,accepted_q05,accepted_median,accepted_q95,accepted_max\n",
    );
    let mut md = String::from(
        "| parameter | prior | best | accepted mean | accepted 5%-95% | accepted min-max |\n|---|---|---|---|---|---|\n",
    );
    let best = f.best();
    for (k, (spec, values)) in f.params.iter().enumerate() {
        let (from, to, scale) = match values {
            AxisValues::Range { from, to, scale, .. } => {
                (*from, *to, if *scale == crate::sweep::file::Scale::Log { "log" } else { "linear" })
            }
            AxisValues::List(_) => (f64::NAN, f64::NAN, "list"),
        };
        let mut acc: Vec<f64> =
            f.samples.iter().filter(|s| s.accepted).filter_map(|s| s.values[k].parse::<f64>().ok()).collect();
        acc.sort_by(f64::total_cmp);
        let q = |p: f64| crate::stats::quantile(&acc, p);
        let mean = acc.iter().sum::<f64>() / acc.len() as f64;
        let b = &best.values[k];
        writeln!(
            csv,
            "{},{},{},{scale},{b},{},{},{},{},{},{}",
            spec.path(),
            fmt(from),
            fmt(to),
            fmt(mean),
            fmt(acc[0]),
            fmt(q(0.05)),
            fmt(q(0.5)),
            fmt(q(0.95)),
            fmt(acc[acc.len() - 1])
        )
        .unwrap();
        writeln!(
            md,
            "| `{}` | {} .. {} ({scale}) | {b} | {} | {} .. {} | {} .. {} |",
            spec.path(),
            short(from),
            short(to),
            short(mean),
            short(q(0.05)),
            short(q(0.95)),
            short(acc[0]),
            short(acc[acc.len() - 1])
        )
        .unwrap();
    }
    (csv, md)
}

/// The base scenario at the best sample's parameter values, resolved.
fn calibrated(c: &Calibration, f: &Fit) -> Result<String, Error> {
    let best = f.best();
    let base = &c.plan.sweep.base;
    let values = c.plan.values(&crate::sweep::plan::PlanRow {
        run: 0,
        point: best.point,
        replication: 0,
        seed: c.plan.sweep.seed,
        raw: best.values.clone(),
    });
    let values: Vec<Value> = values.map_err(SweepError::Io)?;
    // The samples ran with the sweep's seed (seeds = "common"), so the calibrated scenario
    // keeps it: replication 0 of it is the best sample's first run.
    let mut s = crate::sweep::design::scenario(base, &c.plan.sweep.axes, &values, c.plan.sweep.seed).map_err(input)?;
    s.run.replications = base.run.replications;
    let mut o = format!(
        "# Calibrated by `esh calibrate`: the best of {} samples (distance {:.4}, the weighted RMS of the\n\
         # targets' relative errors). See report.md beside this file.\n",
        f.samples.len(),
        best.distance
    );
    for (a, v) in c.plan.sweep.axes.iter().zip(&values) {
        writeln!(o, "#   {} = {}", a.name(), v).unwrap();
    }
    o.push('\n');
    o.push_str(&crate::scenario::resolve::to_toml(&s));
    Ok(o)
}

fn report_md(c: &Calibration, f: &Fit, table: &str, params_md: &str) -> String {
    let best = f.best();
    let mut o = String::from("# Calibration report\n\n");
    writeln!(
        o,
        "Approximate Bayesian computation by rejection: {} Latin hypercube samples of {} parameter(s), \
         {} replication(s) each; the {} closest samples are accepted (share {}). Distance: weighted \
         root mean square of the fitted targets' relative errors (model mean over replications). \
         Best sample: point {} at distance {:.4}.\n",
        f.samples.len(),
        f.params.len(),
        c.plan.sweep.replications,
        f.accepted,
        c.accept,
        best.point,
        best.distance
    )
    .unwrap();
    o.push_str("## Targets\n\n```\n");
    o.push_str(table);
    o.push_str("```\n\n");
    let far: Vec<String> = c
        .targets
        .iter()
        .enumerate()
        .filter(|(k, t)| {
            t.weight > 0.0
                && f.samples.iter().filter(|s| s.accepted).all(|s| s.model[*k].is_none_or(|m| t.error(m).abs() > 0.25))
        })
        .map(|(_, t)| format!("`{}`", t.name))
        .collect();
    if far.is_empty() {
        o.push_str("Every fitted target is within 25% in at least one accepted sample.\n\n");
    } else {
        writeln!(
            o,
            "Not reached within 25% by any accepted sample: {}. Either the prior ranges exclude the \
             answer or the model cannot produce the figure; see docs/calibration.md.\n",
            far.join(", ")
        )
        .unwrap();
    }
    o.push_str("## Parameters\n\n");
    o.push_str(params_md);
    o.push_str("\n## Sources\n\n");
    for t in &c.targets {
        writeln!(o, "- `{}` ({} {}, {}): {}", t.name, short(t.value), t.unit, t.when(), t.source).unwrap();
    }
    o
}
