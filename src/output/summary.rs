//! The short table printed at the end of a run: the final tick over replications; and
//! [`number`], the one number format of every table ESH prints (run, reproduce, calibrate).

use std::fmt::Write;

use super::RunReport;

/// A number for a printed table: integers without decimals (`400`, `12700000`), other
/// values with four significant digits and no trailing zeros (`0.5`, `0.1235`, `2.718`),
/// scientific notation only for magnitudes below 1e-4 or from 1e9 on (`1.27e-5`, `3.4e12`).
/// Files keep full precision; this is for people reading a terminal.
pub(crate) fn number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if x.fract() == 0.0 && a < 1e15 {
        return format!("{}", x as i64);
    }
    if (1e-4..1e9).contains(&a) {
        // Decimals for four significant digits, by comparisons rather than a library
        // logarithm, so the text cannot depend on the platform's libm.
        let mut decimals = 3usize;
        let mut m = a;
        while m >= 10.0 && decimals > 0 {
            m /= 10.0;
            decimals -= 1;
        }
        while m < 1.0 {
            m *= 10.0;
            decimals += 1;
        }
        let s = format!("{x:.decimals$}");
        let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
        return if s == "-0" { "0".into() } else { s };
    }
    let s = format!("{x:.3e}");
    let (mantissa, exponent) = s.split_once('e').expect("scientific notation has an exponent");
    let mantissa = if mantissa.contains('.') { mantissa.trim_end_matches('0').trim_end_matches('.') } else { mantissa };
    format!("{mantissa}e{exponent}")
}

fn stats(xs: &[f64]) -> (f64, Option<f64>, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.len() > 1).then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, sd, min, max)
}

/// Renders the summary table.
pub(crate) fn render(r: &RunReport, scenario_name: &str) -> String {
    let mut out = String::new();
    let f = &r.finals;
    let last_tick = f.iter().map(|row| row.tick).max().unwrap_or(0);
    writeln!(
        out,
        "ESH run of {scenario_name}: {} replication(s), final tick {last_tick}, {} s",
        f.len(),
        number(r.wall_seconds)
    )
    .unwrap();
    writeln!(out, "{:<24} {:>10} {:>10} {:>10} {:>10}", "final tick", "mean", "sd", "min", "max").unwrap();
    let col = |g: fn(&super::TickRow) -> f64| f.iter().map(g).collect::<Vec<f64>>();
    let mut rows: Vec<(&str, Vec<f64>)> = vec![
        ("active zones", col(|x| x.active_zones as f64)),
        ("mean performance", col(|x| x.mean_performance)),
        ("best performance", col(|x| x.best_performance)),
    ];
    // Mean score is mean performance unless a score exponent is set.
    if r.score_differs {
        rows.push(("mean score", col(|x| x.mean_score)));
    }
    rows.extend([
        ("programme performance", col(|x| x.programme_performance)),
        ("diversity", col(|x| x.diversity)),
        ("mandate gap", col(|x| x.mandate_gap)),
        ("innovations", r.innovations.iter().map(|&(t, _)| t as f64).collect()),
        ("fed back", r.innovations.iter().map(|&(_, fb)| fb as f64).collect()),
    ]);
    if r.firms {
        rows.extend([
            ("firms", col(|x| x.firms as f64)),
            ("firms ever founded", col(|x| x.firms_founded as f64)),
            ("high-tech enterprises", col(|x| x.high_tech as f64)),
            ("revenue (bn yuan/yr)", col(|x| x.revenue)),
            ("employees", col(|x| x.employees)),
        ]);
    }
    for (name, xs) in rows {
        let (mean, sd, min, max) = stats(&xs);
        let sd = sd.map_or("-".to_string(), number);
        writeln!(out, "{name:<24} {:>10} {sd:>10} {:>10} {:>10}", number(mean), number(min), number(max)).unwrap();
    }
    let files: Vec<String> =
        r.files.iter().map(|(name, size)| format!("{name} ({})", super::human(*size as f64))).collect();
    writeln!(out, "wrote {}: {}", r.out.display(), files.join(", ")).unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_number_format() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (400.0, "400"),
            (1.27e7, "12700000"),
            (0.5, "0.5"),
            (0.123456789012, "0.1235"),
            (2.71234567, "2.712"),
            (1234.56, "1235"),
            (-0.25, "-0.25"),
            (1.27e-5, "1.27e-5"),
            (3.4e12 + 0.5, "3.4e12"),
            (1e20, "1e20"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(number(x), want, "{x}");
        }
    }
}
