//! The discrete Gaussian mechanism: ρ-zCDP noise for integer-valued queries.
//!
//! **Guarantee.** For an integer query `f` whose value changes by at most `Δ` (its L2 sensitivity;
//! for a single number, the largest change one person's presence can make) when one person is
//! added or removed, `f(x) + Z` with `Z ~ N_Z(0, σ²)`, `P(Z = z) ∝ exp(-z²/(2σ²))` on the
//! integers, is `ρ = Δ²/(2σ²)`-zCDP (Canonne, Kamath & Steinke 2020, Theorem 14): exactly the
//! guarantee of the continuous Gaussian, without its floating-point pitfalls. [`for_rho`] picks
//! `σ² = Δ²/(2ρ)` exactly, as a fraction.
//!
//! **Sampling.** Exact, on integers: CKS 2020, Algorithm 3. With `t = ⌊σ⌋ + 1`, draw
//! `Y ~ Lap_Z(t)` and accept it with probability `exp(-(|Y| - σ²/t)²/(2σ²))`; the accepted `Y`
//! has exactly the discrete Gaussian distribution (rejection sampling with a Laplace envelope).

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{Signed, ToPrimitive, Zero};
use rand::{CryptoRng, RngCore};

use super::exact::{bernoulli_exp_minus, Fraction};
use super::laplace::sample_discrete_laplace;

/// A discrete Gaussian noise scale, as an exact variance `σ²`.
#[derive(Debug, Clone)]
pub struct DiscreteGaussian {
    /// `σ²`, exact, so that sampling never rounds a float on the way to a draw.
    pub variance: Fraction,
}

impl DiscreteGaussian {
    /// The noise that makes a query of L2 sensitivity `sensitivity` ρ-zCDP: `σ² = Δ²/(2ρ)`.
    /// `rho` must be finite and positive.
    pub fn for_rho(sensitivity: u64, rho: f64) -> Self {
        let rho = Fraction::from_f64(rho)
            .filter(|r| !r.num.is_zero())
            .expect("rho is finite and positive");
        let delta_squared = BigUint::from(sensitivity) * sensitivity;
        DiscreteGaussian {
            variance: Fraction::new(delta_squared * rho.den, rho.num * 2u32).without_common_twos(),
        }
    }

    /// `σ`, for reports (the discrete Gaussian's variance is at most `σ²`, CKS 2020 Prop. 19).
    pub fn sd(&self) -> f64 {
        self.variance.to_f64().sqrt()
    }

    /// One draw of `N_Z(0, σ²)`.
    pub fn sample<R: RngCore + CryptoRng>(&self, rng: &mut R) -> BigInt {
        let (p, q) = (&self.variance.num, &self.variance.den);
        // t = ⌊√(p/q)⌋ + 1, using ⌊√x⌋ = ⌊√⌊x⌋⌋.
        let t = (p / q).sqrt() + 1u32;
        let envelope = Fraction::new(t.clone(), 1u32);
        // Acceptance exponent (|Y| - σ²/t)²/(2σ²) = (|Y|·q·t - p)² / (2·p·q·t²).
        let qt = BigInt::from(q * &t);
        let p_signed = BigInt::from(p.clone());
        let denominator = p * q * &t * &t * 2u32;
        loop {
            let y = sample_discrete_laplace(&envelope, rng);
            let gap = (y.abs() * &qt - &p_signed).magnitude().clone();
            let gamma = Fraction::new(&gap * &gap, denominator.clone());
            if bernoulli_exp_minus(&gamma, rng) {
                return y;
            }
        }
    }

    /// `value + N_Z(0, σ²)`. Results beyond `i128` saturate (post-processing, so still private).
    pub fn add_to<R: RngCore + CryptoRng>(&self, value: i128, rng: &mut R) -> i128 {
        let noisy = BigInt::from(value) + self.sample(rng);
        noisy.to_i128().unwrap_or(if noisy.sign() == Sign::Minus {
            i128::MIN
        } else {
            i128::MAX
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dp::exact::tests::{chi_square, test_rng};

    fn draws(noise: &DiscreteGaussian, count: usize) -> Vec<f64> {
        let mut rng = test_rng();
        (0..count)
            .map(|_| noise.sample(&mut rng).to_f64().unwrap())
            .collect()
    }

    #[test]
    fn for_rho_is_exact() {
        let noise = DiscreteGaussian::for_rho(3, 0.5);
        assert_eq!(noise.variance, Fraction::new(9u32, 1u32));
        let tenth = DiscreteGaussian::for_rho(1, 0.1);
        assert!(tenth.variance.to_f64() > 5.0 - 1e-12 && tenth.variance.to_f64() < 5.0 + 1e-12);
    }

    #[test]
    fn variance_matches_sigma_squared_for_a_wide_gaussian() {
        // σ = 20: the discrete Gaussian's variance equals σ² to many digits at this width.
        let noise = DiscreteGaussian {
            variance: Fraction::new(400u32, 1u32),
        };
        let x = draws(&noise, 20_000);
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let variance = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
        // The variance estimate has relative SD √(2/n) ≈ 1 %; allow 5 %.
        assert!((variance / 400.0 - 1.0).abs() < 0.05, "{variance}");
        assert!(mean.abs() < 0.7, "{mean}");
    }

    #[test]
    fn narrow_discrete_gaussian_matches_its_mass_by_chi_square() {
        // σ² = 3/2: cells -3..=3 and the two tails.
        let noise = DiscreteGaussian {
            variance: Fraction::new(3u32, 2u32),
        };
        let weight = |z: i64| (-(z * z) as f64 / 3.0).exp();
        let total: f64 = (-60..=60).map(weight).sum();
        let tail: f64 = (4..=60).map(weight).sum::<f64>() / total;
        let samples = draws(&noise, 50_000).into_iter().map(|v| v as i64);
        // 8 degrees of freedom: P(χ² > 26.1) = 0.001.
        let statistic = chi_square(samples, 4, |z| weight(z) / total, tail);
        assert!(statistic < 26.1, "χ² = {statistic}");
    }

    #[test]
    fn huge_variances_sample_without_overflow() {
        // σ² ≈ 10^20 (far beyond any u64 product): the sample is of order 10^10.
        let noise = DiscreteGaussian::for_rho(10_000_000_000, 0.5);
        let x = draws(&noise, 200);
        let sd = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt();
        assert!((sd / 1e10 - 1.0).abs() < 0.25, "{sd}");
    }

    #[test]
    fn add_to_centres_on_the_value() {
        let noise = DiscreteGaussian::for_rho(1, 2.0);
        let mut rng = test_rng();
        let sum: i128 = (0..4000).map(|_| noise.add_to(-7, &mut rng) + 7).sum();
        assert!((sum as f64 / 4000.0).abs() < 0.1);
    }
}
