//! The discrete Laplace mechanism: ε-DP noise for integer-valued queries.
//!
//! **Guarantee.** For an integer query `f` whose value changes by at most `Δ` (its L1 sensitivity)
//! when one person is added or removed, `f(x) + Z` with `Z ~ Lap_Z(Δ/ε)`, `P(Z = z) ∝ exp(-ε|z|/Δ)`,
//! is ε-differentially private: for neighbouring inputs, the probabilities of any output differ by
//! a factor of at most `exp(ε·|f(x) - f(x')|/Δ) ≤ exp(ε)` (Ghosh, Roughgarden & Sundararajan 2009,
//! the geometric mechanism). By Bun & Steinke (2016, Proposition 1.4) it is also (ε²/2)-zCDP.
//!
//! **Sampling.** Exact, on integers: Canonne, Kamath & Steinke (2020), Algorithm 2. Draw
//! `U ~ Uniform{0..t-1}` accepted with probability `exp(-U/t)` and `V ~ Geometric(1 - e^-1)`, so
//! that `X = U + tV` is geometric with parameter `exp(-1/t)`; `⌊X/s⌋` is then geometric with
//! parameter `exp(-s/t)`, and a random sign (rejecting "-0") makes it `Lap_Z(t/s)`.

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{ToPrimitive, Zero};
use rand::{CryptoRng, RngCore};

use super::exact::{bernoulli, bernoulli_exp_minus, uniform_below, Fraction};

/// One draw from the discrete Laplace distribution with scale `t = scale.num / scale.den > 0`:
/// `P(z) ∝ exp(-|z|/t)`.
pub fn sample_discrete_laplace<R: RngCore + CryptoRng>(scale: &Fraction, rng: &mut R) -> BigInt {
    assert!(!scale.num.is_zero(), "the Laplace scale must be positive");
    let (t, s) = (&scale.num, &scale.den);
    let one = Fraction::new(1u32, 1u32);
    let half = Fraction::new(1u32, 2u32);
    loop {
        let u = uniform_below(t, rng);
        if !bernoulli_exp_minus(&Fraction::new(u.clone(), t.clone()), rng) {
            continue;
        }
        let mut v = BigUint::zero();
        while bernoulli_exp_minus(&one, rng) {
            v += 1u32;
        }
        let magnitude = (u + t * v) / s;
        let negative = bernoulli(&half, rng);
        if negative && magnitude.is_zero() {
            continue;
        }
        let sign = if negative { Sign::Minus } else { Sign::Plus };
        return BigInt::from_biguint(sign, magnitude);
    }
}

/// `value + Lap_Z(Δ/ε)`: ε-DP for an integer query of L1 sensitivity `sensitivity`.
/// `epsilon` must be finite and positive. Results beyond the range of `i128` saturate (a
/// deterministic function of the noisy value, so still ε-DP; it cannot happen at sane scales).
pub fn discrete_laplace_mechanism<R: RngCore + CryptoRng>(
    value: i128,
    sensitivity: u64,
    epsilon: f64,
    rng: &mut R,
) -> i128 {
    let epsilon = Fraction::from_f64(epsilon)
        .filter(|e| !e.num.is_zero())
        .expect("epsilon is finite and positive");
    // Δ/ε = Δ·den/num, exact.
    let scale = Fraction::new(epsilon.den * sensitivity, epsilon.num);
    let noisy = BigInt::from(value) + sample_discrete_laplace(&scale, rng);
    noisy.to_i128().unwrap_or(if noisy.sign() == Sign::Minus {
        i128::MIN
    } else {
        i128::MAX
    })
}

/// The standard deviation of `Lap_Z(t)`: `√(2·e^(-1/t)) / (1 - e^(-1/t))`, for error reports.
pub fn discrete_laplace_sd(scale: f64) -> f64 {
    let r = (-1.0 / scale).exp();
    (2.0 * r).sqrt() / (1.0 - r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dp::exact::tests::{chi_square, test_rng};

    #[test]
    fn discrete_laplace_has_its_variance_and_is_symmetric() {
        let mut rng = test_rng();
        let scale = Fraction::new(5u32, 2u32);
        let draws: Vec<f64> = (0..40_000)
            .map(|_| sample_discrete_laplace(&scale, &mut rng).to_f64().unwrap())
            .collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let variance = draws.iter().map(|x| x * x).sum::<f64>() / draws.len() as f64;
        let expected = discrete_laplace_sd(2.5).powi(2);
        // Var ≈ 12.1; the variance estimate has relative SD ≈ 2.5 %, the mean SD ≈ 0.017.
        assert!(
            (variance / expected - 1.0).abs() < 0.1,
            "{variance} vs {expected}"
        );
        assert!(mean.abs() < 0.09, "{mean}");
    }

    #[test]
    fn discrete_laplace_matches_its_probability_mass_by_chi_square() {
        let mut rng = test_rng();
        let t = 1.5f64;
        let scale = Fraction::new(3u32, 2u32);
        let draws =
            (0..60_000).map(|_| sample_discrete_laplace(&scale, &mut rng).to_i64().unwrap());
        let r = (-1.0 / t).exp();
        let mass = |z: i64| (1.0 - r) / (1.0 + r) * r.powi(z.unsigned_abs() as i32);
        // Cells -4..=4 plus the two tails: 10 degrees of freedom, P(χ² > 29.6) = 0.001.
        let statistic = chi_square(draws, 5, mass, r.powi(5) / (1.0 + r));
        assert!(statistic < 29.6, "χ² = {statistic}");
    }

    #[test]
    fn mechanism_noise_scales_with_sensitivity_over_epsilon() {
        let mut rng = test_rng();
        let draws: Vec<f64> = (0..20_000)
            .map(|_| discrete_laplace_mechanism(1000, 2, 0.5, &mut rng) as f64 - 1000.0)
            .collect();
        let sd = (draws.iter().map(|x| x * x).sum::<f64>() / draws.len() as f64).sqrt();
        let expected = discrete_laplace_sd(4.0);
        assert!((sd / expected - 1.0).abs() < 0.05, "{sd} vs {expected}");
    }
}
