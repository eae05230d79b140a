//! The statistics of the experiments: means, percentile bootstrap intervals from a derived
//! stream (so a report is reproducible to the last digit), Spearman's rank correlation and
//! Wilson's interval for a share.

use super::moments::Moments;
use crate::foundation::{Draw, Purpose, StreamKey};

/// Bootstrap resamples per interval.
pub(crate) const RESAMPLES: usize = 2000;

pub(crate) fn mean(x: &[f64]) -> f64 {
    if x.is_empty() { f64::NAN } else { x.iter().sum::<f64>() / x.len() as f64 }
}

/// Sample standard deviation (n - 1); NaN below two values.
pub(crate) fn sd(x: &[f64]) -> f64 {
    let mut m = Moments::default();
    x.iter().for_each(|&v| m.add(v));
    m.sd()
}

/// The q-quantile of sorted values, by linear interpolation (R's type 7, numpy's default).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Percentile bootstrap 95% interval of `stat` over resamples of `n` items: `stat` gets the
/// resampled indices. The stream is derived from (seed, purpose Bootstrap, `label`), so the
/// same data give the same interval.
pub(crate) fn bootstrap(n: usize, seed: u64, label: u64, stat: impl Fn(&[usize]) -> f64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = StreamKey::new(seed, 0).tick(Purpose::Bootstrap, label, 0);
    let mut idx = vec![0usize; n];
    let mut stats: Vec<f64> = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for i in idx.iter_mut() {
            *i = rng.below(n as u64) as usize;
        }
        let s = stat(&idx);
        if s.is_finite() {
            stats.push(s);
        }
    }
    if stats.len() < RESAMPLES / 2 {
        return (f64::NAN, f64::NAN);
    }
    stats.sort_by(f64::total_cmp);
    (quantile(&stats, 0.025), quantile(&stats, 0.975))
}

/// Bootstrap 95% interval of the mean.
pub(crate) fn bootstrap_mean(x: &[f64], seed: u64, label: u64) -> (f64, f64) {
    bootstrap(x.len(), seed, label, |idx| idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64)
}

/// Ranks from 1, ties given their average rank.
pub(crate) fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson's correlation; NaN when either side is constant.
pub(crate) fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 { f64::NAN } else { sxy / (sxx * syy).sqrt() }
}

/// Spearman's rank correlation (Pearson's on average ranks, so ties are handled).
pub(crate) fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Wilson's 95% score interval for a share `k / n`.
pub(crate) fn wilson(k: f64, n: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let z = 1.959963984540054;
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 10.0, 30.0]), vec![1.5, 3.0, 1.5, 4.0]);
    }

    #[test]
    fn spearman_on_hand_made_data() {
        // Monotone but not linear: rank correlation 1, reversed -1.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [1.0, 4.0, 9.0, 16.0, 100.0];
        assert!((spearman(&x, &y) - 1.0).abs() < 1e-12);
        let rev: Vec<f64> = y.iter().rev().copied().collect();
        assert!((spearman(&x, &rev) + 1.0).abs() < 1e-12);
        // scipy.stats.spearmanr([1,2,3,4,5], [2,1,4,3,5]) = 0.8
        assert!((spearman(&x, &[2.0, 1.0, 4.0, 3.0, 5.0]) - 0.8).abs() < 1e-12);
        // With ties: scipy.stats.spearmanr([1,2,2,3], [1,3,2,4]) = 0.9486832980505138
        assert!((spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]) - 0.9486832980505138).abs() < 1e-12);
        assert!(spearman(&x, &[1.0; 5]).is_nan());
    }

    #[test]
    fn quantiles_match_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // numpy.quantile([1,2,3,4], [0.025, 0.5, 0.975]) = [1.075, 2.5, 3.925]
        assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile(&v, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile(&v, 0.975) - 3.925).abs() < 1e-12);
    }

    #[test]
    fn wilson_matches_the_formula() {
        // statsmodels proportion_confint(8, 10, method="wilson") = (0.4901625, 0.9433178)
        let (lo, hi) = wilson(8.0, 10.0);
        assert!((lo - 0.4901625).abs() < 1e-6 && (hi - 0.9433178).abs() < 1e-6, "{lo} {hi}");
        let (lo, hi) = wilson(10.0, 10.0);
        assert!(lo > 0.69 && hi > 0.999_999 && hi <= 1.0, "{lo} {hi}");
    }

    #[test]
    fn bootstrap_is_reproducible_and_covers_the_mean() {
        let x: Vec<f64> = (0..50).map(|i| (i % 7) as f64).collect();
        let a = bootstrap_mean(&x, 3, 1);
        assert_eq!(a, bootstrap_mean(&x, 3, 1));
        assert_ne!(a, bootstrap_mean(&x, 4, 1));
        let m = mean(&x);
        assert!(a.0 < m && m < a.1);
        // The interval is close to the normal one: mean +- 1.96 sd / sqrt(n).
        let half = 1.96 * sd(&x) / (x.len() as f64).sqrt();
        assert!(((a.1 - a.0) / 2.0 - half).abs() < 0.1 * half, "{a:?} vs {half}");
        // A constant sample has a zero-width interval.
        assert_eq!(bootstrap_mean(&[0.5; 10], 1, 1), (0.5, 0.5));
    }
}
