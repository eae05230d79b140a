//! The short table printed at the end of a run: the final tick over replications.

use std::fmt::Write;

use super::RunReport;

fn stats(xs: &[f64]) -> (f64, f64, f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = if xs.len() > 1 { (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, sd, min, max)
}

/// Renders the summary table.
pub fn render(r: &RunReport, scenario_name: &str) -> String {
    let mut out = String::new();
    let f = &r.finals;
    let last_tick = f.iter().map(|row| row.tick).max().unwrap_or(0);
    writeln!(
        out,
        "ESH run of {scenario_name}: {} replication(s), final tick {last_tick}, {:.2} s",
        f.len(),
        r.wall_seconds
    )
    .unwrap();
    writeln!(out, "{:<24} {:>10} {:>10} {:>10} {:>10}", "final tick", "mean", "sd", "min", "max").unwrap();
    let rows: [(&str, Vec<f64>); 9] = [
        ("active zones", f.iter().map(|x| x.active_zones as f64).collect()),
        ("mean performance", f.iter().map(|x| x.mean_performance).collect()),
        ("best performance", f.iter().map(|x| x.best_performance).collect()),
        ("mean score", f.iter().map(|x| x.mean_score).collect()),
        ("programme performance", f.iter().map(|x| x.programme_performance).collect()),
        ("diversity", f.iter().map(|x| x.diversity).collect()),
        ("mandate gap", f.iter().map(|x| x.mandate_gap).collect()),
        ("innovations", r.innovations.iter().map(|&(t, _)| t as f64).collect()),
        ("fed back", r.innovations.iter().map(|&(_, fb)| fb as f64).collect()),
    ];
    for (name, xs) in rows {
        let (mean, sd, min, max) = stats(&xs);
        // Counts read better without decimals when every replication gives the same one.
        if xs.iter().all(|x| x.fract() == 0.0) && sd == 0.0 {
            writeln!(out, "{name:<24} {mean:>10} {:>10} {min:>10} {max:>10}", "-").unwrap();
        } else {
            writeln!(out, "{name:<24} {mean:>10.4} {sd:>10.4} {min:>10.4} {max:>10.4}").unwrap();
        }
    }
    let files: Vec<String> = r.files.iter().map(|(name, size)| format!("{name} ({})", human(*size))).collect();
    writeln!(out, "wrote {}: {}", r.out.display(), files.join(", ")).unwrap();
    out
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
