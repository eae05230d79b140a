//! Exact maths: the few transcendental functions the model needs, from IEEE-exact
//! operations only, so that every machine and libm give the same bits.

/// Natural logarithm from IEEE-exact operations only, so every machine gets the same bits
/// (libm's `ln` may differ in the last place between platforms). Accurate to about 1e-15.
pub(crate) fn det_ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_finite());
    let bits = x.to_bits();
    let (mut exponent, mut mantissa) = if bits >> 52 == 0 {
        // Subnormal: scale into the normal range first.
        let scaled = x * (1u64 << 54) as f64;
        let b = scaled.to_bits();
        (((b >> 52) & 0x7FF) as i64 - 1023 - 54, f64::from_bits((b & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000))
    } else {
        (((bits >> 52) & 0x7FF) as i64 - 1023, f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000))
    };
    if mantissa > std::f64::consts::SQRT_2 {
        mantissa *= 0.5;
        exponent += 1;
    }
    let s = (mantissa - 1.0) / (mantissa + 1.0);
    let s2 = s * s;
    // atanh series: ln(m) = 2 (s + s^3/3 + s^5/5 + ...), |s| <= 0.1716.
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..12 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + exponent as f64 * std::f64::consts::LN_2
}

/// e^x from IEEE-exact operations only (see [`det_ln`]); accurate to about 1e-15 where
/// the result is a normal number. Used where a value must not depend on the platform's libm
/// (log-spaced sweep axes).
pub(crate) fn det_exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -708.0 {
        return 0.0;
    }
    // x = k ln 2 + r, |r| <= ln 2 / 2, with ln 2 split so k ln 2 is exact.
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    let k = (x * std::f64::consts::LOG2_E).round();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..=22 {
        term *= r / i as f64;
        sum += term;
    }
    // Scale by 2^k in two exact steps so k may reach the ends of the normal range.
    let half = (k as i64) / 2;
    let two = |e: i64| f64::from_bits(((e + 1023) as u64) << 52);
    sum * two(half) * two(k as i64 - half)
}

/// x^k by repeated squaring: exact-order IEEE operations, unlike `powi`, whose result
/// may depend on the platform.
pub(crate) fn pow_int(x: f64, mut k: u32) -> f64 {
    let mut base = x;
    let mut acc = 1.0;
    while k > 0 {
        if k & 1 == 1 {
            acc *= base;
        }
        base *= base;
        k >>= 1;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn det_ln_matches_libm_closely() {
        for &x in &[1e-300, 1e-10, 0.001, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 10.0, 12345.678] {
            let d = det_ln(x);
            assert!((d - x.ln()).abs() <= 1e-14 * x.ln().abs().max(1.0), "{x}: {d} vs {}", x.ln());
        }
    }

    #[test]
    fn det_exp_matches_libm_closely() {
        for &x in &[-700.0, -20.0, -1.0, -0.3, 0.0, 1e-9, 0.5, 1.0, std::f64::consts::LN_10, 50.0, 700.0] {
            let d = det_exp(x);
            assert!((d - x.exp()).abs() <= 2e-15 * x.exp(), "{x}: {d} vs {}", x.exp());
        }
        assert_eq!(det_exp(0.0), 1.0);
        assert_eq!(det_exp(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn pow_int_is_power() {
        assert_eq!(pow_int(0.5, 3), 0.125);
        assert_eq!(pow_int(0.9, 0), 1.0);
        assert!((pow_int(0.7, 8) - 0.7f64.powi(8)).abs() < 1e-15);
    }
}
