//! Summary statistics over replications: mean, sample standard deviation and the 95%
//! confidence interval of the mean from Student's t. Values are added in run order, so
//! the results are the same bits however the runs were sharded.

/// Running mean and sum of squared deviations (Welford's method, stable for long runs).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Moments {
    pub(crate) n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    pub(crate) fn add(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    pub(crate) fn mean(&self) -> f64 {
        if self.n == 0 { f64::NAN } else { self.mean }
    }

    /// Sample standard deviation (n - 1); NaN below two values.
    pub(crate) fn sd(&self) -> f64 {
        if self.n < 2 { f64::NAN } else { (self.m2 / (self.n - 1) as f64).sqrt() }
    }

    /// Half-width of the 95% confidence interval of the mean; NaN below two values.
    pub(crate) fn ci95(&self) -> f64 {
        if self.n < 2 { f64::NAN } else { t975(self.n - 1) * self.sd() / (self.n as f64).sqrt() }
    }
}

/// Student's t quantile 0.975 for `df` degrees of freedom: a table to 30, then the
/// Cornish-Fisher expansion around the normal quantile (error below 1e-6 from df = 30).
pub(crate) fn t975(df: u64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706204736,
        4.302652730,
        3.182446305,
        2.776445105,
        2.570581836,
        2.446911851,
        2.364624252,
        2.306004135,
        2.262157163,
        2.228138852,
        2.200985160,
        2.178812830,
        2.160368656,
        2.144786688,
        2.131449546,
        2.119905299,
        2.109815578,
        2.100922040,
        2.093024054,
        2.085963447,
        2.079613845,
        2.073873068,
        2.068657610,
        2.063898562,
        2.059538553,
        2.055529439,
        2.051830516,
        2.048407142,
        2.045229642,
        2.042272456,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df as usize - 1],
        _ => {
            let z: f64 = 1.959963984540054;
            let v = df as f64;
            let p = |k| crate::foundation::pow_int(z, k);
            let (z3, z5, z7, z9) = (p(3), p(5), p(7), p(9));
            z + (z3 + z) / (4.0 * v)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v * v * v)
                + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * v * v * v * v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_a_hand_made_sample() {
        let mut m = Moments::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            m.add(x);
        }
        assert_eq!(m.mean(), 5.0);
        // Sum of squared deviations 32, n - 1 = 7.
        assert!((m.sd() - (32.0f64 / 7.0).sqrt()).abs() < 1e-15);
        assert!((m.ci95() - 2.364624252 * (32.0f64 / 7.0).sqrt() / 8f64.sqrt()).abs() < 1e-12);
        let mut one = Moments::default();
        one.add(3.0);
        assert!(one.sd().is_nan() && one.ci95().is_nan());
    }

    #[test]
    fn t_quantiles_join_the_table_smoothly() {
        // Reference values of t(0.975): df 31 2.039513, 40 2.021075, 60 2.000298, 120 1.979930.
        for (df, want) in [(31, 2.039513446), (40, 2.021075390), (60, 2.000297822), (120, 1.979930405)] {
            assert!((t975(df) - want).abs() < 2e-6, "df {df}: {} vs {want}", t975(df));
        }
        assert!((t975(1_000_000) - 1.959966).abs() < 1e-5);
    }
}
