//! SVG figures (plotters, SVG backend only: pure Rust, no fonts or system libraries):
//! lines with 95% CI bands for time series and curves, and `esh plot`'s panels of a run's
//! ticks.csv. Everything returns the SVG text; writing files is the caller's business.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use crate::stats::Moments;

/// One line of a figure: its points, with a 95% band when known.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Line {
    pub(crate) label: String,
    pub(crate) x: Vec<f64>,
    pub(crate) mean: Vec<f64>,
    pub(crate) lo: Vec<f64>,
    pub(crate) hi: Vec<f64>,
}

/// The colours of successive lines (Okabe and Ito's palette, readable by the colour-blind).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// A chart of lines with bands; `markers` draws a dot at each point (for curves over a few
/// parameter values). Non-finite points are skipped.
pub(crate) fn chart(title: &str, x_desc: &str, y_desc: &str, lines: &[Line], markers: bool) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, title, x_desc, y_desc, lines, markers).map_err(|e| format!("drawing {title:?}: {e}"))?;
    Ok(svg)
}

/// Values beyond +-AXIS_LIMIT are drawn at the limit: an axis's span (and its padding) then
/// stays finite, which the tick computation needs (a span that overflows to inf never ends).
const AXIS_LIMIT: f64 = 1e300;

/// A value as drawn: clamped to the axis limit; a non-finite one becomes NaN (skipped).
fn on_axis(v: f64) -> f64 {
    if v.is_finite() { v.clamp(-AXIS_LIMIT, AXIS_LIMIT) } else { f64::NAN }
}

/// The axis range of the finite values, padded by 5%. A range too narrow for the values'
/// magnitude (below 1e-9 of it, where steps would fall under the floats' resolution) is
/// widened to 5% of the magnitude.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()).map(on_axis) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let size = lo.abs().max(hi.abs());
    if hi - lo <= 1e-12_f64.max(size * 1e-9) {
        let pad = if size > 1e-12 { size * 0.05 } else { 0.5 };
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

fn draw(
    svg: &mut String,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    lines: &[Line],
    markers: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x0, x1) = range(lines.iter().flat_map(|l| l.x.iter().copied()));
    let (y0, y1) = range(lines.iter().flat_map(|l| l.mean.iter().chain(&l.lo).chain(&l.hi).copied()));
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).light_line_style(WHITE).draw()?;
    for (i, l) in lines.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let l = &Line {
            label: l.label.clone(),
            x: l.x.iter().copied().map(on_axis).collect(),
            mean: l.mean.iter().copied().map(on_axis).collect(),
            lo: l.lo.iter().copied().map(on_axis).collect(),
            hi: l.hi.iter().copied().map(on_axis).collect(),
        };
        let ok = |k: usize| l.x[k].is_finite() && l.mean[k].is_finite();
        let finite = |v: &[f64], k: usize| v.get(k).is_some_and(|x| x.is_finite());
        // Points with a whole interval: the band runs along their upper ends and back.
        let banded: Vec<usize> = (0..l.x.len()).filter(|&k| ok(k) && finite(&l.lo, k) && finite(&l.hi, k)).collect();
        let band: Vec<(f64, f64)> =
            banded.iter().map(|&k| (l.x[k], l.hi[k])).chain(banded.iter().rev().map(|&k| (l.x[k], l.lo[k]))).collect();
        if band.len() >= 4 {
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18).filled())))?;
        }
        let points: Vec<(f64, f64)> = (0..l.x.len()).filter(|&k| ok(k)).map(|k| (l.x[k], l.mean[k])).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(l.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        if markers {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
            // Error bars for the 95% CI of each point.
            chart.draw_series(
                banded
                    .iter()
                    .map(|&k| PathElement::new(vec![(l.x[k], l.lo[k]), (l.x[k], l.hi[k])], colour.stroke_width(1))),
            )?;
        }
    }
    if lines.iter().any(|l| !l.label.is_empty()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// What a figure's bands and error bars are: the interval summary.csv gives too.
pub(crate) const BAND: &str = "95% CI, Student's t";

/// Mean and 95% CI of the mean of each column of `rows`: mean +- t(0.975, n - 1) x sd /
/// sqrt(n), the interval of summary.csv (`Moments::ci95`). With fewer than two values the
/// interval is undefined (NaN) and no band is drawn.
pub(crate) fn mean_band(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let len = rows.iter().map(Vec::len).max().unwrap_or(0);
    let (mut mean, mut lo, mut hi) = (Vec::with_capacity(len), Vec::with_capacity(len), Vec::with_capacity(len));
    for t in 0..len {
        let mut m = Moments::default();
        for v in rows.iter().filter_map(|r| r.get(t).copied()).filter(|v| v.is_finite()) {
            m.add(v);
        }
        let half = m.ci95();
        mean.push(m.mean());
        lo.push(m.mean() - half);
        hi.push(m.mean() + half);
    }
    (mean, lo, hi)
}

/// A line's legend: the label, and the band's interval when the line has one.
pub(crate) fn band_label(label: &str, replications: usize) -> String {
    let band = if replications >= 2 { format!(", band {BAND}") } else { ", no CI".to_string() };
    match (label.is_empty(), replications) {
        (true, 1) => format!("1 replication{band}"),
        (true, n) => format!("mean of {n} replications{band}"),
        (false, 1) => format!("{label} (1 replication{band})"),
        (false, n) => format!("{label} (mean of {n}{band})"),
    }
}

/// The metrics `esh plot` draws when none are named.
pub(crate) const DEFAULT_METRICS: &[&str] = &[
    "mean_performance",
    "best_performance",
    "programme_performance",
    "diversity",
    "experiments",
    "horizontal_adoptions",
    "vertical_adoptions",
    "sanctions",
];

/// Reads a run's ticks.csv and draws each metric: the mean over replications per tick with
/// its 95% band. Returns (metric, SVG) pairs.
pub(crate) fn ticks_csv(path: &Path, metrics: &[String]) -> Result<Vec<(String, String)>, String> {
    let name = path.display();
    let mut rdr = csv::Reader::from_path(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let headers = rdr.headers().map_err(|e| format!("{name}: {e}"))?.clone();
    let col = |h: &str| headers.iter().position(|x| x == h);
    let (Some(rep), Some(tick)) = (col("replication"), col("tick")) else {
        return Err(format!("{name}: not a ticks.csv (no `replication` and `tick` columns)"));
    };
    let mut wanted = Vec::new();
    for m in metrics {
        match col(m) {
            Some(i) => wanted.push((m.clone(), i)),
            None => {
                let names: Vec<&str> = headers.iter().skip(3).collect();
                let hint = crate::scenario::suggest::nearest(m, names.iter().copied())
                    .map_or(format!("the columns are {}", names.join(", ")), |n| format!("did you mean `{n}`?"));
                return Err(format!("{name}: no column `{m}`; {hint}"));
            }
        }
    }
    // series[metric][replication] = values by tick
    let mut series: Vec<BTreeMap<u64, Vec<(u64, f64)>>> = vec![BTreeMap::new(); wanted.len()];
    for (line, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("{name}: {e}"))?;
        let num = |i: usize| -> Result<f64, String> {
            rec.get(i)
                .unwrap_or("")
                .parse::<f64>()
                .map_err(|_| format!("{name}, line {}: `{}` is not a number", line + 2, rec.get(i).unwrap_or("")))
        };
        let (r, t) = (num(rep)? as u64, num(tick)? as u64);
        for (k, (_, i)) in wanted.iter().enumerate() {
            // An empty cell is a value that does not apply (a firm column without firms).
            let x = if rec.get(*i) == Some("") { f64::NAN } else { num(*i)? };
            series[k].entry(r).or_default().push((t, x));
        }
    }
    for ((metric, _), reps) in wanted.iter().zip(&series) {
        if reps.values().flatten().all(|p| p.1.is_nan()) {
            return Err(format!(
                "{name}: `{metric}` has no values (its cells are empty: a value that does not apply to this run, such as a firm column without firms or March's knowledge on an NK landscape)"
            ));
        }
    }
    let mut out = Vec::new();
    for ((metric, _), reps) in wanted.iter().zip(series) {
        let ticks: Vec<u64> = {
            let mut t: Vec<u64> = reps.values().flat_map(|v| v.iter().map(|p| p.0)).collect();
            t.sort_unstable();
            t.dedup();
            t
        };
        let rows: Vec<Vec<f64>> = reps
            .values()
            .map(|v| {
                let by: BTreeMap<u64, f64> = v.iter().copied().collect();
                ticks.iter().map(|t| by.get(t).copied().unwrap_or(f64::NAN)).collect()
            })
            .collect();
        let (mean, lo, hi) = mean_band(&rows);
        let label = band_label("", rows.len());
        let line = Line { label, x: ticks.iter().map(|&t| t as f64).collect(), mean, lo, hi };
        out.push((metric.clone(), chart(&metric.replace('_', " "), "tick", metric, &[line], false)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_the_t_interval_of_summary_csv() {
        let (m, lo, hi) = mean_band(&[vec![1.0, 2.0], vec![3.0, 2.0]]);
        assert_eq!(m, vec![2.0, 2.0]);
        // The same interval as summary.csv: mean +- t(0.975, 1) sd / sqrt(2), sd = sqrt(2).
        let half = 12.706204736 * 2f64.sqrt() / 2f64.sqrt();
        assert!((hi[0] - (2.0 + half)).abs() < 1e-9 && (lo[0] - (2.0 - half)).abs() < 1e-9, "{lo:?} {hi:?}");
        let mut mo = Moments::default();
        mo.add(1.0);
        mo.add(3.0);
        assert_eq!(hi[0] - m[0], mo.ci95());
        assert_eq!((lo[1], hi[1]), (2.0, 2.0));
        // One replication: a mean and no band.
        let (m, lo, hi) = mean_band(&[vec![0.5]]);
        assert_eq!(m, vec![0.5]);
        assert!(lo[0].is_nan() && hi[0].is_nan());
    }

    #[test]
    fn the_legend_claims_a_band_only_with_one() {
        assert_eq!(band_label("", 1), "1 replication, no CI");
        assert_eq!(band_label("", 20), "mean of 20 replications, band 95% CI, Student's t");
        assert_eq!(band_label("full", 1), "full (1 replication, no CI)");
        assert_eq!(band_label("full", 30), "full (mean of 30, band 95% CI, Student's t)");
    }

    #[test]
    fn one_replication_draws_no_band() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ticks.csv");
        std::fs::write(&path, "replication,tick,year,diversity\n0,0,2000,0.5\n0,1,2000,0.25\n0,2,2000,0.1\n").unwrap();
        let svg = &ticks_csv(&path, &["diversity".to_string()]).unwrap()[0].1;
        assert!(svg.contains("1 replication, no CI") && !svg.contains("95% CI"), "{svg}");
        // No band polygon: the only filled shapes are the background and the legend box.
        assert!(!svg.contains("<polygon"), "{svg}");
        // Two replications: a band, and a legend that says which interval it is.
        std::fs::write(
            &path,
            "replication,tick,year,diversity\n0,0,2000,0.5\n0,1,2000,0.25\n1,0,2000,0.4\n1,1,2000,0.3\n",
        )
        .unwrap();
        let svg = &ticks_csv(&path, &["diversity".to_string()]).unwrap()[0].1;
        let labelled = svg.contains("band 95% CI, Student&apos;s t") || svg.contains("band 95% CI, Student's t");
        assert!(svg.contains("<polygon") && labelled, "{svg}");
    }

    /// Draws on another thread and fails (rather than hangs) when drawing does not end.
    fn draws_in_time(x: Vec<f64>, mean: Vec<f64>, lo: Vec<f64>, hi: Vec<f64>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let what = format!("{mean:?}");
        std::thread::spawn(move || {
            let l = Line { label: "a".into(), x, mean, lo, hi };
            tx.send(chart("t", "x", "y", &[l], true)).ok();
        });
        match rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(svg) => assert!(svg.unwrap().trim_end().ends_with("</svg>")),
            Err(_) => panic!("drawing {what} did not end"),
        }
    }

    #[test]
    fn extreme_values_draw_and_end() {
        // The case: ticks.csv alternating 1e308 and -1e308 hung `esh plot` (the
        // padded range overflowed to inf and the tick computation never ended).
        let alternating: Vec<f64> = (0..10).map(|t| if t % 2 == 0 { 1e308 } else { -1e308 }).collect();
        let x: Vec<f64> = (0..10).map(|t| t as f64).collect();
        let cases: Vec<Vec<f64>> = vec![
            alternating,
            vec![f64::MAX, f64::MIN, f64::MAX, 0.0],
            vec![1e308; 4],
            vec![-1e308; 4],
            vec![f64::INFINITY, f64::NAN, f64::NEG_INFINITY, 1.0],
            // A range below the floats' resolution at its magnitude.
            vec![1e17, 1e17 + 16.0, 1e17, 1e17 + 32.0],
            vec![5e-324, 1e-320, 0.0, 5e-324],
            vec![1e-300, -1e-300, 1e-300, 0.0],
        ];
        for mean in cases {
            let n = mean.len();
            let (lo, hi) = (mean.iter().map(|v| v - 1.0).collect(), mean.iter().map(|v| v + 1.0).collect());
            draws_in_time(x[..n].to_vec(), mean.clone(), lo, hi);
            draws_in_time(mean.clone(), x[..n].to_vec(), vec![f64::NAN; n], vec![f64::NAN; n]);
        }
    }

    #[test]
    fn esh_plot_ends_on_a_ticks_csv_of_extreme_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ticks.csv");
        let mut text = String::from("replication,tick,year,mean_performance\n");
        for t in 0..20 {
            text.push_str(&format!("0,{t},2000,{}\n", if t % 2 == 0 { "1e308" } else { "-1e308" }));
            text.push_str(&format!("1,{t},2000,{}\n", if t % 2 == 0 { "-1e308" } else { "1e308" }));
        }
        std::fs::write(&path, text).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(ticks_csv(&path, &["mean_performance".to_string()])).ok());
        let out = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("esh plot did not end").unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_chart_is_an_svg_document() {
        let l = Line {
            label: "a".into(),
            x: vec![0.0, 1.0, 2.0],
            mean: vec![0.1, 0.5, f64::NAN],
            lo: vec![0.0; 3],
            hi: vec![1.0; 3],
        };
        let svg = chart("t", "x", "y", &[l], true).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
    }
}
