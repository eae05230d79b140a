//! The library's [`Progress`] shown on stderr, for the commands that run (`run`, `sweep
//! run`, `calibrate`, `reproduce`): on a terminal a bar (a spinner when the total is not
//! known in advance) once the work takes a moment; in a log (a cluster job's output file) a
//! line every ESH_PROGRESS_SECONDS seconds (10 by default); nothing with --quiet. The
//! library's notes are `note: ...` lines. This is the only place that draws progress.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar appears only once the work has taken this long, so short work draws nothing.
const DELAY: Duration = Duration::from_millis(500);

/// Progress on stderr.
pub(crate) struct Stderr {
    quiet: bool,
    terminal: bool,
    /// What is counted ("ticks", "runs"), for the bar and the log lines.
    unit: &'static str,
    /// The bar's template when the total is known (a spinner's otherwise).
    template: &'static str,
    every: Duration,
    bar: RwLock<ProgressBar>,
    shown: AtomicBool,
    done: AtomicU64,
    state: Mutex<State>,
}

/// What the log lines need of the work in hand.
struct State {
    label: String,
    total: Option<u64>,
    started: Instant,
    last_line: Instant,
}

impl Stderr {
    /// `esh run`: ticks over every replication.
    pub(crate) fn ticks(quiet: bool) -> Stderr {
        Stderr::new(quiet, "ticks", "{bar:40} {pos}/{len} ticks  {elapsed} elapsed, ETA {eta}")
    }

    /// `esh sweep run`, `esh calibrate` and `esh reproduce`: runs.
    pub(crate) fn runs(quiet: bool) -> Stderr {
        Stderr::new(quiet, "runs", "{bar:40} {pos}/{len} runs  {per_sec}  {elapsed} elapsed, ETA {eta}")
    }

    fn new(quiet: bool, unit: &'static str, template: &'static str) -> Stderr {
        let every = std::env::var("ESH_PROGRESS_SECONDS").ok().and_then(|v| v.parse::<f64>().ok());
        let now = Instant::now();
        Stderr {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            unit,
            template,
            every: Duration::from_secs_f64(every.filter(|s| s.is_finite() && *s > 0.0).unwrap_or(10.0).min(1e9)),
            bar: RwLock::new(ProgressBar::hidden()),
            shown: AtomicBool::new(false),
            done: AtomicU64::new(0),
            state: Mutex::new(State { label: String::new(), total: None, started: now, last_line: now }),
        }
    }

    /// A hidden bar for `total` units (a spinner for None), shown by `advance` after [`DELAY`].
    fn bar_for(&self, total: Option<u64>, label: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        let template = match total {
            Some(_) => self.template,
            None => "{spinner} {prefix}: {pos} runs, {per_sec} [{elapsed}]",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_string());
        if total.is_none() {
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        bar
    }

    /// A log line, at most every `every`: units done of the total, rate and time left.
    fn log_line(&self, n: u64) {
        let Ok(mut st) = self.state.try_lock() else { return };
        let Some(total) = st.total else { return };
        if st.last_line.elapsed() < self.every {
            return;
        }
        st.last_line = Instant::now();
        let rate = n as f64 / st.started.elapsed().as_secs_f64().max(1e-9);
        let eta = total.saturating_sub(n) as f64 / rate.max(1e-9);
        let (label, unit) = (&st.label, self.unit);
        eprintln!(
            "{label}: {n}/{total} {unit}, {} {unit}/s, ETA {} s",
            crate::output::summary::number(rate),
            eta.round()
        );
    }
}

impl Progress for Stderr {
    fn start(&self, total: Option<u64>, label: &str) {
        if self.quiet {
            return;
        }
        *self.bar.write().expect("no panic holds the bar") = self.bar_for(total, label);
        self.shown.store(false, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        let now = Instant::now();
        *self.state.lock().expect("no panic holds it") =
            State { label: label.to_string(), total, started: now, last_line: now };
    }

    fn advance(&self, n: u64) {
        if self.quiet {
            return;
        }
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if !self.terminal {
            return self.log_line(done);
        }
        let bar = self.bar.read().expect("no panic holds the bar");
        bar.inc(n);
        if !self.shown.load(Ordering::Relaxed) && bar.elapsed() > DELAY {
            self.shown.store(true, Ordering::Relaxed);
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn message(&self, text: &str) {
        if !self.quiet {
            self.bar.read().expect("no panic holds the bar").suspend(|| eprintln!("note: {text}"));
        }
    }

    fn finish(&self) {
        self.bar.read().expect("no panic holds the bar").finish_and_clear();
    }
}
