//! Exact Bernoulli samplers on rational probabilities: the building blocks of every DP sampler.
//!
//! **Guarantee.** [`bernoulli`] returns `true` with probability exactly `num/den`, and
//! [`bernoulli_exp_minus`] with probability exactly `exp(-γ)` for a rational `γ ≥ 0`, given a
//! source of uniform random bits. Every step is integer arithmetic (arbitrary precision, so there
//! is no overflow either): no floating-point number is rounded anywhere on the way to a random
//! choice. This is what defeats Mironov's (2012) attack on floating-point Laplace noise, whose
//! output gaps betray the value that was noised.
//!
//! **Method.** Canonne, Kamath & Steinke, *The Discrete Gaussian for Differential Privacy*
//! (NeurIPS 2020), Algorithm 1: for `γ ∈ [0, 1]`, draw `A_k ~ Bernoulli(γ/k)` for k = 1, 2, … until
//! the first failure at step K; `P(K > k) = γ^k / k!`, so `P(K odd) = Σ (-γ)^k/k! = exp(-γ)`.
//! For `γ > 1`, `exp(-γ) = exp(-1)^⌊γ⌋ · exp(-(γ - ⌊γ⌋))` as independent trials.

use num_bigint::BigUint;
use num_traits::{One, ToPrimitive, Zero};
use rand::{CryptoRng, Rng, RngCore};

/// A non-negative rational number `num / den` (den > 0), exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fraction {
    /// The numerator.
    pub num: BigUint,
    /// The denominator, never zero.
    pub den: BigUint,
}

impl Fraction {
    /// `num / den`; panics on a zero denominator, which is a programming error here.
    pub fn new(num: impl Into<BigUint>, den: impl Into<BigUint>) -> Self {
        let den = den.into();
        assert!(!den.is_zero(), "a fraction needs a non-zero denominator");
        Fraction {
            num: num.into(),
            den,
        }
    }

    /// The exact value of a finite, non-negative `f64` (every such float is a dyadic rational),
    /// or `None` for a negative, infinite or NaN input.
    pub fn from_f64(value: f64) -> Option<Self> {
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        if value == 0.0 {
            return Some(Fraction::new(0u32, 1u32));
        }
        let bits = value.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as i64;
        let fraction = bits & ((1u64 << 52) - 1);
        // value = mantissa · 2^(power), with the implicit leading bit for normal numbers.
        let (mantissa, power) = if exponent == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1u64 << 52), exponent - 1075)
        };
        let mantissa = BigUint::from(mantissa);
        let exact = if power >= 0 {
            Fraction::new(mantissa << power as usize, 1u32)
        } else {
            Fraction::new(mantissa, BigUint::one() << (-power) as usize)
        };
        Some(exact.without_common_twos())
    }

    /// The same number with the powers of two that divide both parts removed: keeps the
    /// (dyadic) fractions made from floats small, and so the samplers fast.
    pub fn without_common_twos(self) -> Fraction {
        let shift = self
            .num
            .trailing_zeros()
            .unwrap_or(u64::MAX)
            .min(self.den.trailing_zeros().unwrap_or(0));
        if self.num.is_zero() {
            return Fraction::new(0u32, 1u32);
        }
        Fraction::new(&self.num >> shift, &self.den >> shift)
    }

    /// An `f64` close to the value (0 below about 1e-300), for reports only, never for sampling.
    pub fn to_f64(&self) -> f64 {
        // Shift both to at most 1000 bits so that the conversion cannot overflow to infinity.
        let excess = self.num.bits().max(self.den.bits()).saturating_sub(1000);
        let num = (&self.num >> excess).to_f64().unwrap_or(f64::MAX);
        let den = (&self.den >> excess).to_f64().unwrap_or(f64::MAX);
        num / den
    }

    /// `self · other`, exact.
    pub fn times(&self, other: &Fraction) -> Fraction {
        Fraction::new(&self.num * &other.num, &self.den * &other.den)
    }

    /// `self ≤ other`, exact.
    pub fn at_most(&self, other: &Fraction) -> bool {
        &self.num * &other.den <= &other.num * &self.den
    }
}

/// A uniform integer in `0..bound` (bound > 0), by rejection on random bits: exact, unbiased.
pub fn uniform_below<R: RngCore + CryptoRng>(bound: &BigUint, rng: &mut R) -> BigUint {
    assert!(!bound.is_zero(), "a uniform draw needs a non-empty range");
    if let Some(small) = bound.to_u64() {
        // rand's integer ranges are exact (Lemire's rejection method), and much faster.
        return BigUint::from(rng.gen_range(0..small));
    }
    let bits = bound.bits();
    let mut bytes = vec![0u8; bits.div_ceil(8) as usize];
    let spare = bytes.len() as u64 * 8 - bits;
    loop {
        rng.fill_bytes(&mut bytes);
        // Little-endian: the last byte holds the most significant bits; drop the spare ones.
        if let Some(top) = bytes.last_mut() {
            *top &= 0xffu8 >> spare;
        }
        let candidate = BigUint::from_bytes_le(&bytes);
        if &candidate < bound {
            return candidate;
        }
    }
}

/// `true` with probability exactly `p = num/den` (p ≤ 1).
pub fn bernoulli<R: RngCore + CryptoRng>(p: &Fraction, rng: &mut R) -> bool {
    uniform_below(&p.den, rng) < p.num
}

/// `true` with probability exactly `exp(-γ)` for a rational `γ ≥ 0`.
pub fn bernoulli_exp_minus<R: RngCore + CryptoRng>(gamma: &Fraction, rng: &mut R) -> bool {
    let whole = &gamma.num / &gamma.den;
    let rest = Fraction::new(&gamma.num % &gamma.den, gamma.den.clone());
    let one = Fraction::new(1u32, 1u32);
    let mut done = BigUint::zero();
    while done < whole {
        if !bernoulli_exp_minus_at_most_one(&one, rng) {
            return false;
        }
        done += 1u32;
    }
    bernoulli_exp_minus_at_most_one(&rest, rng)
}

/// CKS Algorithm 1 for `γ ∈ [0, 1]`: the parity of the first failing `Bernoulli(γ/k)` trial.
fn bernoulli_exp_minus_at_most_one<R: RngCore + CryptoRng>(gamma: &Fraction, rng: &mut R) -> bool {
    let mut k = BigUint::one();
    loop {
        let trial = Fraction::new(gamma.num.clone(), &gamma.den * &k);
        if !bernoulli(&trial, rng) {
            return k.bit(0);
        }
        k += 1u32;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// A deterministic generator for statistical tests (never used outside tests).
    pub(crate) fn test_rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(0x5eed_d1ff)
    }

    /// Pearson's χ² of integer draws against a distribution: cells `-cutoff+1 ..= cutoff-1` with
    /// probabilities `mass(z)`, and the two tails (|z| ≥ cutoff) with probability `tail` each.
    pub(crate) fn chi_square(
        draws: impl Iterator<Item = i64>,
        cutoff: i64,
        mass: impl Fn(i64) -> f64,
        tail: f64,
    ) -> f64 {
        let mut observed = vec![0usize; (2 * cutoff + 1) as usize];
        let mut trials = 0usize;
        for z in draws {
            observed[(z.clamp(-cutoff, cutoff) + cutoff) as usize] += 1;
            trials += 1;
        }
        observed
            .iter()
            .enumerate()
            .map(|(cell, &o)| {
                let z = cell as i64 - cutoff;
                let p = if z.abs() == cutoff { tail } else { mass(z) };
                let e = p * trials as f64;
                (o as f64 - e).powi(2) / e
            })
            .sum()
    }

    /// Share of `true` in `trials` draws.
    fn frequency(trials: u32, mut draw: impl FnMut() -> bool) -> f64 {
        (0..trials).filter(|_| draw()).count() as f64 / trials as f64
    }

    #[test]
    fn from_f64_is_exact() {
        assert_eq!(Fraction::from_f64(0.75), Some(Fraction::new(3u32, 4u32)));
        assert_eq!(Fraction::from_f64(6.0).map(|f| f.to_f64()), Some(6.0));
        let tenth = Fraction::from_f64(0.1).unwrap();
        assert_eq!(tenth.to_f64(), 0.1);
        assert!(
            !tenth.at_most(&Fraction::new(1u32, 10u32)),
            "0.1 as f64 is above 1/10"
        );
        assert_eq!(Fraction::from_f64(-1.0), None);
        assert_eq!(Fraction::from_f64(f64::NAN), None);
        let tiny = Fraction::from_f64(5e-324).unwrap();
        assert_eq!(tiny.den, BigUint::one() << 1074u32);
    }

    #[test]
    fn uniform_below_covers_its_range_evenly_beyond_64_bits() {
        let mut rng = test_rng();
        let bound = (BigUint::one() << 70u32) * 3u32;
        let third = BigUint::one() << 70u32;
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            let x = uniform_below(&bound, &mut rng);
            assert!(x < bound);
            counts[(x / &third).to_usize().unwrap()] += 1;
        }
        // Each third expects 10 000 with SD ≈ 82; 5 SD bounds keep the test meaningful but stable.
        for count in counts {
            assert!((9_590..=10_410).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn bernoulli_hits_its_probability() {
        let mut rng = test_rng();
        let p = Fraction::new(3u32, 7u32);
        let f = frequency(100_000, || bernoulli(&p, &mut rng));
        // SD of the frequency is 0.0016; allow 5 SD.
        assert!((f - 3.0 / 7.0).abs() < 0.008, "{f}");
    }

    #[test]
    fn bernoulli_exp_minus_matches_exp_for_small_and_large_gamma() {
        let mut rng = test_rng();
        for (num, den) in [(0u32, 1u32), (1, 3), (1, 1), (5, 2), (7, 3)] {
            let gamma = Fraction::new(num, den);
            let expected = (-(num as f64) / den as f64).exp();
            let f = frequency(100_000, || bernoulli_exp_minus(&gamma, &mut rng));
            assert!(
                (f - expected).abs() < 0.008,
                "γ = {num}/{den}: {f} vs {expected}"
            );
        }
    }

    #[test]
    fn bernoulli_exp_minus_of_a_huge_gamma_is_false_and_fast() {
        let mut rng = test_rng();
        let gamma = Fraction::new(BigUint::one() << 200u32, 1u32);
        assert!((0..1000).all(|_| !bernoulli_exp_minus(&gamma, &mut rng)));
    }
}
