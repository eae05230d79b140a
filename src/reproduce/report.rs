//! What `esh reproduce` leaves: the verdict table on stdout, and with `--out` a directory
//! with `report.md` (verdict table, then per experiment its claim, replications, measures'
//! exact definitions, tests, map, figures and scenarios), `verdicts.csv`, and per experiment
//! `runs.csv` (every run's measures, tidy), `map.csv`, the SVG figures, the experiment file
//! and each regime's resolved scenario. Written into a hidden directory and moved into place.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use super::file::{At, Figure, MeasureKind, TestKind};
use super::{Outcome, TestResult, condition_label, fmt};
use crate::output::BuildError;
use crate::plot::{Line, band_label, chart, mean_band};
use crate::scenario::Value;
use crate::scenario::resolve::to_toml;

/// The verdict table as text for the terminal.
pub(crate) fn verdict_table(outcomes: &[Outcome]) -> String {
    let mut rows =
        vec![["hypothesis".to_string(), "test".into(), "effect".into(), "95% CI".into(), "n".into(), "verdict".into()]];
    for o in outcomes {
        for (t, r) in o.experiment.tests.iter().zip(&o.results) {
            rows.push([
                o.experiment.id.clone(),
                t.label.clone(),
                fmt(r.effect),
                format!("[{}, {}]", fmt(r.lo), fmt(r.hi)),
                r.n.to_string(),
                verdict_word(o, r).to_string(),
            ]);
        }
    }
    let widths: Vec<usize> = (0..6).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        writeln!(out, "{}", cells.join("  ").trim_end()).unwrap();
        if i == 0 {
            writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  ")).unwrap();
        }
    }
    out
}

/// "supported" etc.; a published result says whether it was reproduced.
fn verdict_word(o: &Outcome, r: &TestResult) -> &'static str {
    match (o.experiment.published, r.verdict) {
        (true, super::Verdict::Supported) => "reproduced",
        (true, super::Verdict::Contradicted) => "NOT reproduced",
        (true, super::Verdict::Inconclusive) => "not shown (inconclusive)",
        (false, v) => v.as_str(),
    }
}

/// Writes the report directory; `force` replaces an existing one once the new one is whole.
pub(crate) fn write(outcomes: &[Outcome], out: &Path, force: bool, command: &str) -> Result<(), String> {
    crate::output::build_dir(out, force, |tmp| write_into(outcomes, tmp, command)).map_err(|e| match e {
        BuildError::Stale(e) => format!("cannot clear {}: {e}", crate::output::partial_dir(out).display()),
        BuildError::Fill(e) => e,
        BuildError::Publish { kept, why } => {
            format!("the report is complete in {} but could not be moved to {}: {why}", kept.display(), out.display())
        }
    })
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("writing {}: {e}", path.display())
}

fn put(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(io(path))
}

fn write_into(outcomes: &[Outcome], dir: &Path, command: &str) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut md = String::new();
    writeln!(md, "# ESH: the hypotheses as experiments\n").unwrap();
    writeln!(
        md,
        "Made by `{command}` with esh {} on {} thread(s). Each verdict comes from a 95% interval: \
         supported when it lies wholly on the expected side of the threshold, contradicted when \
         wholly on the other, inconclusive otherwise. H6 and H7 are published results, which the \
         engine must reproduce; H1-H5 are the seeds' claims, and the model's answer is reported as \
         it comes, with no parameter tuned to make it come out.\n",
        env!("CARGO_PKG_VERSION"),
        rayon::current_num_threads()
    )
    .unwrap();
    writeln!(md, "| hypothesis | test | effect | 95% CI | replications | verdict |\n|---|---|---|---|---|---|")
        .unwrap();
    let mut csv = String::from("experiment,test,label,effect,ci95_low,ci95_high,n,verdict,seed,quick\n");
    for o in outcomes {
        for (t, r) in o.experiment.tests.iter().zip(&o.results) {
            writeln!(
                md,
                "| [{}](#{}) | {} | {} | [{}, {}] | {} | {} |",
                o.experiment.id,
                o.experiment.id.to_lowercase(),
                t.label,
                fmt(r.effect),
                fmt(r.lo),
                fmt(r.hi),
                r.n,
                verdict_word(o, r)
            )
            .unwrap();
            writeln!(
                csv,
                "{},{},\"{}\",{:?},{:?},{:?},{},{},{},{}",
                o.experiment.id,
                t.name,
                t.label.replace('"', "\"\""),
                r.effect,
                r.lo,
                r.hi,
                r.n,
                verdict_word(o, r),
                o.seed,
                o.quick
            )
            .unwrap();
        }
    }
    put(&dir.join("verdicts.csv"), &csv)?;
    for o in outcomes {
        section(&mut md, o, dir)?;
    }
    put(&dir.join("report.md"), &md)
}

fn section(md: &mut String, o: &Outcome, dir: &Path) -> Result<(), String> {
    let e = &o.experiment;
    let sub = dir.join(&e.id);
    fs::create_dir_all(&sub).map_err(io(&sub))?;
    writeln!(md, "\n## {}\n\n**{}.** {}\n", e.id, e.title, e.claim).unwrap();
    writeln!(md, "Source: {}.{}\n", e.source, if e.published { " A published result." } else { "" }).unwrap();
    writeln!(
        md,
        "Replications: {}. Master seed {}; replication r of every condition uses the same seed and \
         index, so regimes are compared on the same landscapes and starting policies (paired). \
         Run time {:.1} s.\n",
        o.replication_note, o.seed, o.seconds
    )
    .unwrap();
    writeln!(md, "### Measures\n").unwrap();
    for m in &e.measures {
        writeln!(md, "- `{}`: {}. {}", m.name, m.label, definition(&m.kind)).unwrap();
    }
    writeln!(md, "\n### Tests\n").unwrap();
    for (t, r) in e.tests.iter().zip(&o.results) {
        writeln!(
            md,
            "- **{}**: effect {} (95% CI [{}, {}], n = {}): **{}**. {}. {}",
            t.label,
            fmt(r.effect),
            fmt(r.lo),
            fmt(r.hi),
            r.n,
            verdict_word(o, r),
            r.detail,
            test_definition(&t.kind)
        )
        .unwrap();
    }
    if !o.map.is_empty() {
        map_section(md, o, &sub)?;
    }
    figures(md, o, &sub)?;
    runs_csv(o, &sub)?;
    put(&sub.join("experiment.toml"), &e.text)?;
    writeln!(md, "\n### Scenarios\n\nThe experiment file is [`{0}/experiment.toml`]({0}/experiment.toml). Each regime's scenario, resolved (re-run it with `esh run`):\n", e.id).unwrap();
    for g in &e.regimes {
        let name = format!("scenario-{}.toml", g.name);
        let mut s = g.scenario.clone();
        s.run.seed = o.seed;
        put(&sub.join(&name), &to_toml(&s))?;
        let axes: Vec<String> = g.axes.iter().map(|a| a.name()).collect();
        let over = if axes.is_empty() { String::new() } else { format!(", over {}", axes.join(" and ")) };
        writeln!(
            md,
            "- {}: `{}` with the experiment's overrides{over}: [`{}/{name}`]({}/{name})",
            g.label, g.source, e.id, e.id
        )
        .unwrap();
    }
    Ok(())
}

fn definition(kind: &MeasureKind) -> String {
    match kind {
        MeasureKind::Metric { metric, at } => match at {
            At::Final => format!("The value of `{metric}` (ticks.csv) at the run's last tick."),
            At::Tick(t) => format!("The value of `{metric}` (ticks.csv) at tick {t}."),
            At::Window(a, b) => format!("The mean of `{metric}` (ticks.csv) over ticks {a} to {b}, inclusive."),
        },
        MeasureKind::HalfAdoptionTime => "For each innovation from a zone's experiment, the ticks from its creation to the first end of a tick at which at least half the active zones hold it; the run's value is the mean over the innovations that get there (undefined when none does).".into(),
        MeasureKind::LocalShare => "Of the programme's instrument changes over the run (feedback adoptions and central designs, read from the programme's lineage), the share whose new setting carries an innovation created by a zone's experiment.".into(),
        MeasureKind::FeedbackLag => "For each programme change to a zone's innovation, the ticks from the innovation's creation to its adoption; the mean over the run.".into(),
        MeasureKind::HorizontalShare => "Horizontal adoptions (imitation of another zone) over all adoptions (horizontal plus vertical: compliance with the programme), summed over the run.".into(),
        MeasureKind::ProceduralRho { tick, horizon } => format!("Spearman's rho, over the zones active at ticks {tick} and {}, between the procedural score at {tick} (the sum of the standardised cumulative experiments, successful experiments and horizontal adoptions of the zone's innovations by others) and performance growth (performance at {} minus at {tick}).", tick + horizon, tick + horizon),
        MeasureKind::RetrospectiveRho { tick, horizon } => format!("Spearman's rho, over the same zones, between observed performance at {tick} and performance growth over ({tick}, {}].", tick + horizon),
        MeasureKind::ProceduralAdvantage { .. } => "The procedural rho minus the retrospective rho, per run.".into(),
    }
}

fn test_definition(kind: &TestKind) -> &'static str {
    match kind {
        TestKind::Difference { .. } => {
            "Statistic: the mean of the paired differences (replication r against replication r); percentile bootstrap CI, 2,000 resamples of the pairs; runs with an undefined measure are left out with their pair"
        }
        TestKind::Level { .. } => "Statistic: the mean over runs; percentile bootstrap CI, 2,000 resamples",
        TestKind::Share { .. } => {
            "Statistic: the share of pairs in which the first condition is strictly ahead (a tie counts as not ahead; the tie share is given beside it); Wilson score CI"
        }
        TestKind::Crossover { .. } => {
            "Statistic: the first tick from which the mean paired difference stays positive, having been negative before; percentile bootstrap CI over resampled pairs (no CI when under half the resamples cross); contradicted when the mean curves do not cross"
        }
    }
}

fn map_section(md: &mut String, o: &Outcome, sub: &Path) -> Result<(), String> {
    let e = &o.experiment;
    let m = e.map.as_ref().expect("map present");
    let t = &e.tests[m.test];
    let names: Vec<String> = m.axes.iter().map(|a| a.name()).collect();
    writeln!(
        md,
        "\n### Where it holds\n\nThe test \"{}\" at every point of {} ({} replications per condition and point; \
         other parameters as above). Each cell: effect [95% CI], verdict.\n",
        t.label,
        names.join(" x "),
        o.map_replications
    )
    .unwrap();
    let mut csv = format!("{},effect,ci95_low,ci95_high,n,verdict\n", names.join(","));
    for c in &o.map {
        let vals: Vec<String> = c.values.iter().map(Value::bare).collect();
        writeln!(
            csv,
            "{},{:?},{:?},{:?},{},{}",
            vals.join(","),
            c.result.effect,
            c.result.lo,
            c.result.hi,
            c.result.n,
            c.result.verdict.as_str()
        )
        .unwrap();
    }
    put(&sub.join("map.csv"), &csv)?;
    if m.axes.len() == 2 {
        let cols = crate::sweep::design::grid_values(&m.axes[1]);
        let rows = crate::sweep::design::grid_values(&m.axes[0]);
        write!(md, "| {} \\ {} |", names[0], names[1]).unwrap();
        for c in &cols {
            write!(md, " {c} |").unwrap();
        }
        writeln!(md, "\n|---|{}", "---|".repeat(cols.len())).unwrap();
        for (i, rv) in rows.iter().enumerate() {
            write!(md, "| {rv} |").unwrap();
            for j in 0..cols.len() {
                let r = &o.map[i * cols.len() + j].result;
                write!(md, " {} [{}, {}] {} |", fmt(r.effect), fmt(r.lo), fmt(r.hi), r.verdict.as_str()).unwrap();
            }
            writeln!(md).unwrap();
        }
    } else {
        writeln!(md, "| point | effect | 95% CI | verdict |\n|---|---|---|---|").unwrap();
        for c in &o.map {
            let vals: Vec<String> = names.iter().zip(&c.values).map(|(n, v)| format!("{n} = {v}")).collect();
            writeln!(
                md,
                "| {} | {} | [{}, {}] | {} |",
                vals.join(", "),
                fmt(c.result.effect),
                fmt(c.result.lo),
                fmt(c.result.hi),
                c.result.verdict.as_str()
            )
            .unwrap();
        }
    }
    writeln!(md, "\nThe same as CSV: [`{0}/map.csv`]({0}/map.csv).", e.id).unwrap();
    Ok(())
}

fn figures(md: &mut String, o: &Outcome, sub: &Path) -> Result<(), String> {
    let e = &o.experiment;
    if e.figures.is_empty() {
        return Ok(());
    }
    writeln!(md, "\n### Figures\n").unwrap();
    let mut tables = String::new();
    for (k, f) in e.figures.iter().enumerate() {
        let (title, svg) = match f {
            Figure::Series { title, metric, regimes } => (title.clone(), series_figure(o, title, metric, regimes)?),
            Figure::Curve { title, measure, regime, x, group } => {
                (title.clone(), curve_figure(&mut tables, o, title, *measure, *regime, *x, *group)?)
            }
        };
        let name = format!("figure-{}.svg", k + 1);
        put(&sub.join(&name), &svg)?;
        writeln!(md, "![{title}]({}/{name})\n", e.id).unwrap();
    }
    writeln!(
        md,
        "Lines are means over replications; bands and bars are 95% CIs of the mean from Student's t \
         (mean +- t(0.975, n - 1) x sd / sqrt(n), the interval of a sweep's summary.csv); a line or \
         point of one replication has none.\n"
    )
    .unwrap();
    md.push_str(&tables);
    Ok(())
}

/// A series figure's SVG: the metric per tick, one line with its band per condition of the
/// regimes.
fn series_figure(o: &Outcome, title: &str, metric: &str, regimes: &[usize]) -> Result<String, String> {
    let e = &o.experiment;
    let s = o.series_names.iter().position(|n| *n == metric).expect("kept");
    let lines: Vec<Line> = o
        .conditions
        .iter()
        .enumerate()
        .filter(|(_, c)| regimes.contains(&c.regime))
        .map(|(ci, c)| {
            let rows: Vec<Vec<f64>> = o.data[ci].iter().map(|r| r.series[s].clone()).collect();
            let (mean, lo, hi) = mean_band(&rows);
            Line {
                label: band_label(&condition_label(e, c), rows.len()),
                x: (0..mean.len()).map(|t| t as f64).collect(),
                mean,
                lo,
                hi,
            }
        })
        .collect();
    chart(title, "tick", metric, &lines, false)
}

/// A curve figure's SVG: the measure against axis `x` of the regime, one line per value of
/// axis `group`; its points are added to `tables`.
fn curve_figure(
    tables: &mut String,
    o: &Outcome,
    title: &str,
    measure: usize,
    regime: usize,
    x: usize,
    group: Option<usize>,
) -> Result<String, String> {
    let e = &o.experiment;
    let g = &e.regimes[regime];
    let xs = crate::sweep::design::grid_values(&g.axes[x]);
    let groups = group.map(|k| crate::sweep::design::grid_values(&g.axes[k])).unwrap_or_else(|| vec![Value::Int(0)]);
    let mut lines = Vec::new();
    // (group value, x value, mean, CI half-width, runs) of every point, for the table.
    let mut points = Vec::new();
    for gv in &groups {
        let mut fewest = usize::MAX;
        let mut line = Line { label: String::new(), x: Vec::new(), mean: Vec::new(), lo: Vec::new(), hi: Vec::new() };
        for xv in &xs {
            let Some(ci) = o
                .conditions
                .iter()
                .position(|c| c.regime == regime && c.values[x] == *xv && group.is_none_or(|k| c.values[k] == *gv))
            else {
                continue;
            };
            let v: Vec<f64> = o.data[ci].iter().map(|r| r.measures[measure]).filter(|v| v.is_finite()).collect();
            fewest = fewest.min(v.len());
            // A point whose runs all left the measure undefined is drawn as a gap.
            let (mean, lo, hi) = mean_band(&v.iter().map(|x| vec![*x]).collect::<Vec<_>>());
            let first = |c: &[f64]| c.first().copied().unwrap_or(f64::NAN);
            line.x.push(xv.as_f64().unwrap_or(f64::NAN));
            line.mean.push(first(&mean));
            line.lo.push(first(&lo));
            line.hi.push(first(&hi));
            points.push((gv.clone(), xv.clone(), first(&mean), first(&hi) - first(&mean), v.len()));
        }
        let name = group.map_or(String::new(), |k| format!("{} = {gv}", g.axes[k].spec.key));
        line.label = band_label(&name, if fewest == usize::MAX { 0 } else { fewest });
        lines.push(line);
    }
    curve_table(tables, title, &g.axes[x].name(), group.map(|k| g.axes[k].name()), &points);
    chart(title, &g.axes[x].name(), &e.measures[measure].name, &lines, true)
}

/// A curve figure's points as a table: mean, standard error and 95% t interval, and runs.
fn curve_table(
    out: &mut String,
    title: &str,
    x: &str,
    group: Option<String>,
    points: &[(Value, Value, f64, f64, usize)],
) {
    writeln!(out, "The points of \"{title}\":\n").unwrap();
    let g = group.as_deref().unwrap_or("");
    writeln!(out, "| {g} | {x} | mean | standard error | 95% CI | runs |\n|---|---|---|---|---|---|").unwrap();
    for (gv, xv, mean, half, n) in points {
        let se = if *n >= 2 { half / crate::stats::t975(*n as u64 - 1) } else { f64::NAN };
        let gv = if group.is_some() { gv.to_string() } else { String::new() };
        writeln!(
            out,
            "| {gv} | {xv} | {} | {} | [{}, {}] | {n} |",
            fmt(*mean),
            fmt(se),
            fmt(mean - half),
            fmt(mean + half)
        )
        .unwrap();
    }
    writeln!(out).unwrap();
}

/// Every run's measures, tidy: one row per condition x replication x measure.
fn runs_csv(o: &Outcome, sub: &Path) -> Result<(), String> {
    let e = &o.experiment;
    let mut axes: Vec<String> = Vec::new();
    for g in &e.regimes {
        for a in &g.axes {
            if !axes.contains(&a.name()) {
                axes.push(a.name());
            }
        }
    }
    let mut csv = String::from("regime");
    for a in &axes {
        write!(csv, ",{a}").unwrap();
    }
    csv.push_str(",replication,measure,value\n");
    for (ci, c) in o.conditions.iter().enumerate() {
        let g = &e.regimes[c.regime];
        let vals: Vec<String> = axes
            .iter()
            .map(|name| g.axes.iter().position(|a| a.name() == *name).map_or(String::new(), |k| c.values[k].bare()))
            .collect();
        for (r, run) in o.data[ci].iter().enumerate() {
            for (m, v) in e.measures.iter().zip(&run.measures) {
                let value = if v.is_finite() { format!("{v:?}") } else { String::new() };
                write!(csv, "{}", g.name).unwrap();
                for v in &vals {
                    write!(csv, ",{v}").unwrap();
                }
                writeln!(csv, ",{r},{},{value}", m.name).unwrap();
            }
        }
    }
    put(&sub.join("runs.csv"), &csv)
}
