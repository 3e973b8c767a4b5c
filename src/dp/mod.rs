//! Differentially private aggregates: a size chart beside the microdata, with its budget.
//!
//! **Guarantee.** Everything computed here is differentially private with the *person* as the
//! privacy unit and *add or remove one person* as the neighbouring relation (unbounded DP): an
//! attacker who knows every other person in the data, and sees the published figures, learns
//! almost nothing more about whether one person took part, or what their values are, than from
//! figures computed without them. Each person contributes one set of values (the caller picks it,
//! see [`sizechart::pick_set`]), and every value is clamped to public bounds before it is counted,
//! so one person's influence on each figure is bounded by a public constant (the sensitivity).
//!
//! **Accounting.** Costs are kept in zero-concentrated DP (ρ-zCDP, Bun & Steinke 2016), which
//! composes by adding ρ, and converted to (ε, δ)-DP for the reader (Canonne, Kamath & Steinke
//! 2020, Corollary 13); see [`budget`].
//!
//! **Mechanisms**, one file each, each with its sensitivity argument:
//! - [`exact`]: exact Bernoulli samplers on rationals (no floating point in any random choice);
//! - [`laplace`]: the discrete Laplace mechanism (ε-DP for integer queries);
//! - [`gaussian`]: the discrete Gaussian mechanism (ρ-zCDP for integer queries);
//! - [`quantile`]: the exponential mechanism over a fixed public grid, for one quantile.
//!
//! Floating-point noise is never used: Mironov (2012) showed that the gaps of a floating-point
//! Laplace sampler reveal the noiseless value. All noise comes from [`os_rng`], a generator keyed
//! by the operating system's CSPRNG for each use, never from `--seed`: a published seed would let
//! anyone regenerate and subtract the noise. DP figures are therefore not byte-reproducible.

pub mod budget;
pub mod config;
pub mod exact;
pub mod gaussian;
pub mod laplace;
pub mod quantile;
pub mod release;
pub mod sizechart;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// A fresh ChaCha20 generator keyed with 256 bits from the operating system's CSPRNG.
///
/// Why not `OsRng` for every draw: a size chart at 100k people makes tens of thousands of draws
/// (the exact samplers draw small integers in loops), and one system call per draw would dominate
/// its run time. ChaCha20 keyed from the OS is a CSPRNG itself (it is what `rand`'s `ThreadRng`
/// and `/dev/urandom` on Linux use), and a new key is drawn for each chart, so no value derived
/// from the release or its seed ever enters the noise.
pub fn os_rng() -> ChaCha20Rng {
    ChaCha20Rng::from_rng(rand::rngs::OsRng)
        .expect("the operating system's random number generator is available")
}
