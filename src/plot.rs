//! SVG figures (plotters, SVG backend only: pure Rust, no fonts or system libraries):
//! lines with 95% CI bands for time series and curves, and `esh plot`'s panels of a run's
//! ticks.csv. Everything returns the SVG text; writing files is the caller's business.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use crate::sweep::stats::Moments;

/// One line of a figure: its points, with a 95% band when known.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: String,
    pub x: Vec<f64>,
    pub mean: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
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
pub fn chart(title: &str, x_desc: &str, y_desc: &str, lines: &[Line], markers: bool) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, title, x_desc, y_desc, lines, markers).map_err(|e| format!("drawing {title:?}: {e}"))?;
    Ok(svg)
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 { lo.abs() * 0.05 } else { 0.5 };
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

/// Mean and 95% CI (normal approximation, 1.96 standard errors) of each column of `rows`.
pub fn mean_band(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let len = rows.iter().map(Vec::len).max().unwrap_or(0);
    let (mut mean, mut lo, mut hi) = (Vec::with_capacity(len), Vec::with_capacity(len), Vec::with_capacity(len));
    for t in 0..len {
        let mut m = Moments::default();
        for v in rows.iter().filter_map(|r| r.get(t).copied()).filter(|v| v.is_finite()) {
            m.add(v);
        }
        let half = 1.96 * m.sd() / (m.n as f64).sqrt();
        mean.push(m.mean());
        lo.push(m.mean() - half);
        hi.push(m.mean() + half);
    }
    (mean, lo, hi)
}

/// The metrics `esh plot` draws when none are named.
pub const DEFAULT_METRICS: &[&str] = &[
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
pub fn ticks_csv(path: &Path, metrics: &[String]) -> Result<Vec<(String, String)>, String> {
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
                "{name}: `{metric}` has no values (its cells are empty: the firm columns are empty in a run without firms)"
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
        let label = format!("mean of {} replication{}, 95% CI", rows.len(), if rows.len() == 1 { "" } else { "s" });
        let line = Line { label, x: ticks.iter().map(|&t| t as f64).collect(), mean, lo, hi };
        out.push((metric.clone(), chart(&metric.replace('_', " "), "tick", metric, &[line], false)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_mean_plus_minus_two_standard_errors() {
        let (m, lo, hi) = mean_band(&[vec![1.0, 2.0], vec![3.0, 2.0]]);
        assert_eq!(m, vec![2.0, 2.0]);
        let se = 2f64.sqrt() / 2f64.sqrt();
        assert!((hi[0] - (2.0 + 1.96 * se)).abs() < 1e-12 && (lo[0] - (2.0 - 1.96 * se)).abs() < 1e-12);
        assert_eq!((lo[1], hi[1]), (2.0, 2.0));
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
