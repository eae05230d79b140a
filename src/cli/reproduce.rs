//! `esh reproduce` and `esh plot`: parse, call the library, print. Exit codes: 0 done (also
//! when a seed's claim is not supported: that is a finding); 1 a published result (H6, H7 or
//! any experiment marked `published`) not reproduced, or a failure while running or writing;
//! 2 bad input (an experiment file, an unknown id, bad arguments), nothing written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::reproduce::{self, Outcome, Verdict, embedded, file::Experiment, report};

use super::fail;

pub(crate) struct Args {
    pub(crate) ids: Vec<String>,
    pub(crate) all: bool,
    pub(crate) list: bool,
    pub(crate) quick: bool,
    pub(crate) out: Option<PathBuf>,
    pub(crate) force: bool,
    pub(crate) seed: Option<u64>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) quiet: bool,
}

/// An experiment to run: where it came from and its parsed form.
fn load_all(dir: Option<&Path>) -> Result<Vec<(String, Experiment)>, (u8, String)> {
    let bad = |e: crate::scenario::ScenarioError| (2u8, e.to_string());
    match dir {
        Some(d) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(d)
                .map_err(|e| (2, format!("{}: cannot read the experiments directory: {e}", d.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err((2, format!("{}: no experiment files (*.toml) in it", d.display())));
            }
            files.iter().map(|p| Ok((p.display().to_string(), Experiment::load(p).map_err(bad)?))).collect()
        }
        None => embedded::EXPERIMENTS
            .iter()
            .map(|(_, name, text)| {
                let file = format!("(embedded) experiments/{name}");
                Ok((file.clone(), Experiment::parse(text, &file, &embedded::scenario).map_err(bad)?))
            })
            .collect(),
    }
}

/// The experiments named on the command line: ids, or paths to experiment files.
fn select(args: &Args) -> Result<Vec<(String, Experiment)>, (u8, String)> {
    let dir = args.dir.clone().or_else(|| Some(PathBuf::from("experiments")).filter(|d| d.is_dir()));
    let paths: Vec<&String> = args.ids.iter().filter(|i| i.ends_with(".toml")).collect();
    let ids: Vec<&String> = args.ids.iter().filter(|i| !i.ends_with(".toml")).collect();
    let mut out = Vec::new();
    for p in paths {
        out.push((p.clone(), Experiment::load(Path::new(p)).map_err(|e| (2, e.to_string()))?));
    }
    if args.all || !ids.is_empty() || args.list {
        let known = load_all(dir.as_deref())?;
        if args.all || args.list {
            out.extend(known);
        } else {
            for id in ids {
                match known.iter().find(|(_, e)| e.id.eq_ignore_ascii_case(id)) {
                    Some(k) => out.push(k.clone()),
                    None => {
                        let names: Vec<&str> = known.iter().map(|(_, e)| e.id.as_str()).collect();
                        let hint = crate::scenario::suggest::nearest(id, names.iter().copied())
                            .map_or(format!("the experiments are {}", names.join(", ")), |n| {
                                format!("did you mean {n}?")
                            });
                        return Err((2, format!("no experiment {id:?}; {hint} (esh reproduce --list)")));
                    }
                }
            }
        }
    }
    Ok(out)
}

pub(crate) fn command(args: Args) -> ExitCode {
    if args.ids.is_empty() && !args.all && !args.list {
        return fail(2, "name experiments (e.g. `esh reproduce H1`), or pass --all or --list");
    }
    let chosen = match select(&args) {
        Ok(c) => c,
        Err((code, m)) => return fail(code, &m),
    };
    if args.list {
        for (file, e) in &chosen {
            let kind = if e.published { "published result" } else { "seed claim" };
            println!("{:<4} {} ({kind}; {})\n     {}\n     {file}", e.id, e.title, e.source, e.claim);
        }
        return ExitCode::SUCCESS;
    }
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        return fail(2, &format!("{} exists; pass --force to replace it", out.display()));
    }
    let opts = reproduce::Options { quick: args.quick, seed: args.seed };
    let mut outcomes: Vec<Outcome> = Vec::new();
    let progress = crate::cli::progress::Stderr::runs(args.quiet);
    for (_, e) in &chosen {
        match reproduce::run(e, &opts, &progress) {
            Ok(o) => {
                if !args.quiet {
                    eprintln!("{}: {} in {:.1} s ({})", e.id, e.title, o.seconds, o.replication_note);
                }
                outcomes.push(o);
            }
            Err(m) => return fail(1, &format!("experiment {}: {m}", e.id)),
        }
    }
    print!("{}", report::verdict_table(&outcomes));
    if let Some(out) = &args.out {
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        if let Err(m) = report::write(&outcomes, out, args.force, &command) {
            return fail(1, &m);
        }
        if !args.quiet {
            println!("\nreport: {}", out.join("report.md").display());
        }
    }
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.experiment.published)
        .flat_map(|o| {
            o.experiment
                .tests
                .iter()
                .zip(&o.results)
                .filter(|(_, r)| r.verdict != Verdict::Supported)
                .map(move |(t, _)| format!("{} {}", o.experiment.id, t.name))
        })
        .collect();
    if !failed.is_empty() {
        return fail(1, &format!("published results not reproduced: {}", failed.join(", ")));
    }
    ExitCode::SUCCESS
}

/// `esh plot DIR`: SVG time series of a run's ticks.csv, into DIR/plots (or --out).
pub(crate) fn plot(dir: &Path, metrics: Vec<String>, out: Option<PathBuf>, force: bool, quiet: bool) -> ExitCode {
    let csv = if dir.is_file() { dir.to_path_buf() } else { dir.join("ticks.csv") };
    if !csv.is_file() {
        return fail(
            2,
            &format!("{}: no ticks.csv here (give a run's output directory or its ticks.csv)", dir.display()),
        );
    }
    let metrics: Vec<String> = if metrics.is_empty() {
        crate::plot::DEFAULT_METRICS.iter().map(|s| s.to_string()).collect()
    } else {
        let mut named: Vec<String> = Vec::new();
        for m in metrics.iter().flat_map(|m| m.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
            // A metric named twice is one chart (one file).
            if !named.iter().any(|n| n == m) {
                named.push(m.to_string());
            }
        }
        if named.is_empty() {
            return fail(
                2,
                "--metrics names no metric\n  help: give column names of ticks.csv, e.g. -m mean_performance,innovations_total",
            );
        }
        named
    };
    let charts = match crate::plot::ticks_csv(&csv, &metrics) {
        Ok(c) => c,
        Err(m) => return fail(2, &m),
    };
    let out = out.unwrap_or_else(|| csv.parent().unwrap_or(Path::new(".")).join("plots"));
    let existing: Vec<String> =
        charts.iter().map(|(m, _)| format!("{m}.svg")).filter(|f| out.join(f).exists()).collect();
    if !force && !existing.is_empty() {
        return fail(
            2,
            &format!(
                "{}: {} exist(s) already; nothing was written\n  help: pass --force to replace them, or choose another directory with --out",
                out.display(),
                existing.join(", ")
            ),
        );
    }
    if let Err(e) = std::fs::create_dir_all(&out) {
        return fail(1, &format!("cannot create {}: {e}", out.display()));
    }
    for (metric, svg) in charts {
        let path = out.join(format!("{metric}.svg"));
        if let Err(e) = crate::output::AtomicFile::write(&path, svg.as_bytes()) {
            return fail(1, &format!("writing {}: {e}", path.display()));
        }
        if !quiet {
            println!("{}", path.display());
        }
    }
    ExitCode::SUCCESS
}
