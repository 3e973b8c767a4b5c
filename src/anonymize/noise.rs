//! Perturbation of numeric columns before anonymization: top and bottom coding, additive noise,
//! rounding.
//!
//! **Follows** the masking methods of Hundepool et al. (2012), *Statistical Disclosure Control*
//! (Wiley), §3.4: additive noise (Brand 2002, "Microdata protection through noise addition") with
//! noise proportional to the column's standard deviation, top/bottom coding of extreme values and
//! rounding to a base.
//!
//! **Guarantees.**
//! - Additive noise: each present value gets independent noise with mean 0 and standard deviation
//!   `relative_scale × s`, where `s` is the column's sample standard deviation: Gaussian, or
//!   Laplace with the same standard deviation (scale `relative_scale × s / √2`), which has heavier
//!   tails. With `mean_preserving`, the noise drawn for a column is centred (its mean subtracted)
//!   so the column mean is exactly unchanged. Missing values (NaN) stay missing.
//! - Top/bottom coding: afterwards no value lies above `top` or below `bottom`.
//! - Rounding: afterwards every value is a multiple of the step.
//!
//! These do not by themselves give k-anonymity; the anonymize command applies them *before* the
//! chosen method, which then enforces its privacy model on the perturbed values, so the model holds
//! for the table as released.
//!
//! **Why the noise cannot be recomputed from a published seed.** Anyone who can regenerate the
//! noise can subtract it. The generator is therefore keyed by HMAC-SHA-256 of the seed under a
//! digest of the whole input table ([`NoiseKey::derive`]): the seed (which report.json records, for
//! the publisher's reproducibility) is useless without every original value, and anyone holding
//! every original value has nothing left to learn. Residual risk, documented in the README: an
//! adversary who knows *all other* records exactly and can enumerate the few candidate values of a
//! target could test each candidate; keep the seed private when that adversary is plausible.

use hmac::{Hmac, Mac};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::StandardNormal;
use sha2::{Digest, Sha256};

/// Domain separation of the noise generator's key derivation.
const NOISE_CONTEXT: &[u8] = b"anonpub/noise/v1";

/// The noise distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    /// Normal noise.
    Gaussian,
    /// Laplace noise, with the same standard deviation.
    Laplace,
}

/// Why a noise specification is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoiseError {
    /// The scale is not a positive finite number.
    #[error(
        "the noise scale must be a positive number (a fraction of the column's standard deviation)"
    )]
    InvalidScale,
}

/// Additive noise, checked at construction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseSpec {
    distribution: Distribution,
    relative_scale: f64,
    mean_preserving: bool,
}

impl NoiseSpec {
    /// Noise with standard deviation `relative_scale` × the column's standard deviation.
    pub fn new(
        distribution: Distribution,
        relative_scale: f64,
        mean_preserving: bool,
    ) -> Result<Self, NoiseError> {
        if !(relative_scale.is_finite() && relative_scale > 0.0) {
            return Err(NoiseError::InvalidScale);
        }
        Ok(Self {
            distribution,
            relative_scale,
            mean_preserving,
        })
    }

    /// The noise distribution.
    pub fn distribution(&self) -> Distribution {
        self.distribution
    }

    /// Noise standard deviation as a fraction of each column's.
    pub fn relative_scale(&self) -> f64 {
        self.relative_scale
    }

    /// Whether the noise is centred so each column's mean stays.
    pub fn mean_preserving(&self) -> bool {
        self.mean_preserving
    }
}

/// The secret key of the noise generator.
pub struct NoiseKey([u8; 32]);

impl NoiseKey {
    /// HMAC-SHA-256 of the seed, keyed by `table_digest` (see [`table_digest`]).
    pub fn derive(seed: u64, table_digest: &[u8; 32]) -> Self {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(table_digest).expect("HMAC takes keys of any length");
        mac.update(NOISE_CONTEXT);
        mac.update(&seed.to_le_bytes());
        Self(mac.finalize().into_bytes().into())
    }

    /// The generator for one column: its own stream, so columns do not share noise.
    pub fn column_rng(&self, column: usize) -> ChaCha20Rng {
        let mut rng = ChaCha20Rng::from_seed(self.0);
        rng.set_stream(column as u64);
        rng
    }
}

/// SHA-256 over named columns of text cells, each length-prefixed so that no two tables share a
/// digest by shifting text between cells.
pub fn table_digest<'a, C>(columns: impl IntoIterator<Item = (&'a str, C)>) -> [u8; 32]
where
    C: ExactSizeIterator<Item = &'a str>,
{
    let mut hasher = Sha256::new();
    for (name, cells) in columns {
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((cells.len() as u64).to_le_bytes());
        for cell in cells {
            hasher.update((cell.len() as u64).to_le_bytes());
            hasher.update(cell.as_bytes());
        }
    }
    hasher.finalize().into()
}

/// Adds noise to the present values of a column; returns how many values were perturbed. A column
/// with fewer than two present values or no spread has no standard deviation to scale by and is
/// left unchanged.
pub fn add_noise(column: &mut [f64], spec: &NoiseSpec, rng: &mut ChaCha20Rng) -> usize {
    let present: Vec<usize> = (0..column.len()).filter(|&i| !column[i].is_nan()).collect();
    let deviation = standard_deviation(present.iter().map(|&i| column[i]));
    if deviation <= 0.0 {
        return 0;
    }
    let sd = spec.relative_scale * deviation;
    let mut noise: Vec<f64> = present
        .iter()
        .map(|_| match spec.distribution {
            Distribution::Gaussian => sd * rng.sample::<f64, _>(StandardNormal),
            Distribution::Laplace => laplace(rng, sd / std::f64::consts::SQRT_2),
        })
        .collect();
    if spec.mean_preserving {
        let mean = noise.iter().sum::<f64>() / noise.len() as f64;
        noise.iter_mut().for_each(|e| *e -= mean);
    }
    for (&i, e) in present.iter().zip(&noise) {
        column[i] += e;
    }
    present.len()
}

/// Replaces values below `bottom` by `bottom` and above `top` by `top`; returns how many values
/// were bottom- and top-coded.
pub fn top_bottom_code(
    column: &mut [f64],
    bottom: Option<f64>,
    top: Option<f64>,
) -> (usize, usize) {
    let (mut bottom_coded, mut top_coded) = (0, 0);
    for value in column.iter_mut() {
        if let Some(low) = bottom.filter(|low| *value < *low) {
            *value = low;
            bottom_coded += 1;
        }
        if let Some(high) = top.filter(|high| *value > *high) {
            *value = high;
            top_coded += 1;
        }
    }
    (bottom_coded, top_coded)
}

/// Rounds every present value to the nearest multiple of `step` (see `microaggregation::round_to`).
pub fn round_column(column: &mut [f64], step: f64) {
    for value in column.iter_mut().filter(|v| !v.is_nan()) {
        *value = super::microaggregation::round_to(*value, step);
    }
}

/// Sample standard deviation (n − 1); 0 for fewer than two values.
fn standard_deviation(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// A Laplace(0, b) draw by inversion of its distribution function.
fn laplace(rng: &mut ChaCha20Rng, b: f64) -> f64 {
    // u in (−½, ½), never exactly −½, so the logarithm stays finite.
    let u: f64 = rng.gen::<f64>() - 0.5;
    let magnitude = -b * (1.0 - 2.0 * u.abs()).max(f64::MIN_POSITIVE).ln();
    if u < 0.0 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(n: usize) -> Vec<f64> {
        (0..n).map(|i| 1000.0 + (i % 50) as f64 * 4.0).collect()
    }

    fn moments(values: &[f64]) -> (f64, f64) {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        (mean, standard_deviation(values.iter().copied()))
    }

    #[test]
    fn noise_has_the_requested_spread_for_both_distributions() {
        let original = column(20_000);
        let (_, sd) = moments(&original);
        let key = NoiseKey::derive(7, &[1; 32]);
        for distribution in [Distribution::Gaussian, Distribution::Laplace] {
            let spec = NoiseSpec::new(distribution, 0.2, false).unwrap();
            let mut noisy = original.clone();
            assert_eq!(add_noise(&mut noisy, &spec, &mut key.column_rng(0)), 20_000);
            let noise: Vec<f64> = noisy.iter().zip(&original).map(|(a, b)| a - b).collect();
            let (mean, spread) = moments(&noise);
            assert!(mean.abs() < 0.05 * sd, "{distribution:?} mean {mean}");
            assert!(
                (spread / (0.2 * sd) - 1.0).abs() < 0.05,
                "{distribution:?} sd {spread}"
            );
        }
    }

    #[test]
    fn mean_preserving_noise_keeps_the_mean_and_missing_values() {
        let mut values = column(101);
        values[3] = f64::NAN;
        let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        let (mean, _) = moments(&present);
        let spec = NoiseSpec::new(Distribution::Laplace, 0.5, true).unwrap();
        add_noise(
            &mut values,
            &spec,
            &mut NoiseKey::derive(1, &[0; 32]).column_rng(2),
        );
        assert!(values[3].is_nan());
        let noisy: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        assert!((moments(&noisy).0 - mean).abs() < 1e-9);
    }

    #[test]
    fn stream_depends_on_seed_table_and_column() {
        let draw = |seed, digest: [u8; 32], column| {
            let mut values = vec![1.0, 2.0, 3.0];
            let spec = NoiseSpec::new(Distribution::Gaussian, 1.0, false).unwrap();
            add_noise(
                &mut values,
                &spec,
                &mut NoiseKey::derive(seed, &digest).column_rng(column),
            );
            values
        };
        assert_eq!(draw(1, [0; 32], 0), draw(1, [0; 32], 0));
        assert_ne!(draw(1, [0; 32], 0), draw(2, [0; 32], 0));
        assert_ne!(draw(1, [0; 32], 0), draw(1, [9; 32], 0));
        assert_ne!(draw(1, [0; 32], 0), draw(1, [0; 32], 1));
        assert_ne!(
            table_digest([("x", ["a", "bc"].into_iter())]),
            table_digest([("x", ["ab", "c"].into_iter())])
        );
    }

    #[test]
    fn coding_and_rounding() {
        let mut values = vec![1.0, 5.0, 12.0, f64::NAN];
        assert_eq!(top_bottom_code(&mut values, Some(2.0), Some(10.0)), (1, 1));
        assert_eq!(values[..3], [2.0, 5.0, 10.0]);
        round_column(&mut values, 4.0);
        assert_eq!(values[..3], [4.0, 4.0, 12.0]);
        assert!(values[3].is_nan());
        assert_eq!(
            NoiseSpec::new(Distribution::Gaussian, 0.0, false),
            Err(NoiseError::InvalidScale)
        );
        let mut constant = vec![3.0; 5];
        let spec = NoiseSpec::new(Distribution::Gaussian, 1.0, false).unwrap();
        assert_eq!(
            add_noise(
                &mut constant,
                &spec,
                &mut NoiseKey::derive(0, &[0; 32]).column_rng(0)
            ),
            0
        );
    }
}
