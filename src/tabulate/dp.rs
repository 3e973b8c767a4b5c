//! Differentially private frequency tables: people per cell with discrete noise.
//!
//! **Guarantee.** (ε, δ)-DP with the person as the unit and add-or-remove-one-person neighbours.
//! 1. *Contribution bound.* A person who falls into more than `m = max_cells_per_person` cells
//!    is counted in `m` of them, drawn uniformly at random from their own cells (a choice that
//!    depends on nobody else), so adding or removing a person changes at most `m` counts by 1
//!    each: L1 sensitivity `m`, L2 sensitivity `√m`.
//! 2. *Noise.* Discrete Laplace with scale `m/ε` on every count is ε-DP (the geometric mechanism,
//!    Ghosh, Roughgarden & Sundararajan 2009; [`crate::dp::laplace`]). Or discrete Gaussian with
//!    `σ² = m/(2ρ)` on every count is ρ-zCDP (Canonne, Kamath & Steinke 2020, Theorem 14;
//!    [`crate::dp::gaussian`]), ρ the largest whose conversion is (ε, δ/2)-DP
//!    ([`crate::dp::budget::rho_for`]).
//! 3. *Which cells exist.* The keys are not public (which pages, which days): a cell present only
//!    because one person is in the data would announce them. So a cell is published only when its
//!    noisy count reaches a threshold τ, chosen so that a cell of one person passes with
//!    probability at most δ_τ/m; a person has at most `m` such cells, so all of them stay hidden
//!    except with probability δ_τ (the thresholded histogram of Korolova, Kenthapadi, Mishra &
//!    Ntoulas 2009, with bounded contributions as in Wilson et al. 2020, "Differentially private
//!    SQL with bounded user contribution"). Laplace: `P(Z ≥ k) ≤ e^(-k/b)`, so
//!    `τ = 1 + ⌈b·ln(m/δ_τ)⌉` with δ_τ = δ. Gaussian: the discrete Gaussian is σ-subgaussian (CKS
//!    2020), `P(Z ≥ k) ≤ e^(-k²/(2σ²))`, so `τ = 1 + ⌈σ·√(2 ln(m/δ_τ))⌉` with δ_τ = δ/2.
//!
//! Tables are published without margins: a reader can add noisy cells up (post-processing), and
//! exact margins would not be private. Noise comes from [`crate::dp::os_rng`], never from a seed.

use std::collections::{BTreeMap, HashMap};

use rand::seq::SliceRandom;
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use super::config::{CountMechanism, TabulateConfig};
use super::suppress::Suppression;
use super::{FrequencyTable, TableCell};
use crate::dp::budget::{epsilon_for, rho_for};
use crate::dp::gaussian::DiscreteGaussian;
use crate::dp::laplace::discrete_laplace_mechanism;
use crate::error::{Error, Result};

/// How a DP table was made, as recorded in its report; [`DpCounts::check`] re-derives its cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpCounts {
    /// The noise.
    pub mechanism: CountMechanism,
    /// ε of the whole table.
    pub epsilon: f64,
    /// δ of the whole table.
    pub delta: f64,
    /// The contribution bound `m`.
    pub max_cells_per_person: u64,
    /// Laplace: the scale `b = m/ε`; Gaussian: `σ`.
    pub noise_scale: f64,
    /// Gaussian only: the ρ of all counts together.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rho: Option<f64>,
    /// The share of δ spent on hiding cells (the rest, for the Gaussian, on its conversion).
    pub delta_threshold: f64,
    /// Cells whose noisy count is below this are not published.
    pub release_threshold: u64,
}

impl DpCounts {
    /// The noise and threshold for a configuration.
    pub fn plan(config: &TabulateConfig) -> Self {
        let m = config.max_cells_per_person;
        match config.mechanism {
            CountMechanism::Laplace => {
                let scale = m as f64 / config.epsilon;
                DpCounts {
                    mechanism: CountMechanism::Laplace,
                    epsilon: config.epsilon,
                    delta: config.delta,
                    max_cells_per_person: m,
                    noise_scale: scale,
                    rho: None,
                    delta_threshold: config.delta,
                    release_threshold: laplace_threshold(scale, m, config.delta),
                }
            }
            CountMechanism::Gaussian => {
                let rho = rho_for(config.epsilon, config.delta / 2.0);
                let sigma = DiscreteGaussian::for_rho(1, rho / m as f64).sd();
                DpCounts {
                    mechanism: CountMechanism::Gaussian,
                    epsilon: config.epsilon,
                    delta: config.delta,
                    max_cells_per_person: m,
                    noise_scale: sigma,
                    rho: Some(rho),
                    delta_threshold: config.delta / 2.0,
                    release_threshold: gaussian_threshold(sigma, m, config.delta / 2.0),
                }
            }
        }
    }

    /// Checks from the recorded figures alone that the table costs at most its (ε, δ): the noise
    /// scale gives at most ε for `m` cells, and the threshold hides one person's cells except with
    /// probability δ_τ. For `verify`, which has no raw data.
    pub fn check(&self) -> std::result::Result<(), String> {
        let m = self.max_cells_per_person as f64;
        if !(self.noise_scale > 0.0 && m >= 1.0 && self.delta_threshold > 0.0) {
            return Err("the noise scale, contribution bound and δ_τ must be positive".into());
        }
        let (spent_epsilon, spent_delta, required) = match self.mechanism {
            CountMechanism::Laplace => (
                m / self.noise_scale,
                self.delta_threshold,
                laplace_threshold(
                    self.noise_scale,
                    self.max_cells_per_person,
                    self.delta_threshold,
                ),
            ),
            CountMechanism::Gaussian => {
                let rho = m / (2.0 * self.noise_scale * self.noise_scale);
                let delta_noise = self.delta - self.delta_threshold;
                if delta_noise <= 0.0 {
                    return Err("no δ is left for the Gaussian's conversion".into());
                }
                (
                    epsilon_for(rho, delta_noise),
                    self.delta,
                    gaussian_threshold(
                        self.noise_scale,
                        self.max_cells_per_person,
                        self.delta_threshold,
                    ),
                )
            }
        };
        if spent_epsilon > self.epsilon * (1.0 + 1e-6) {
            return Err(format!(
                "noise of scale {} over {} cells per person costs ε = {spent_epsilon:.4}, more than the recorded ε = {}",
                self.noise_scale, self.max_cells_per_person, self.epsilon
            ));
        }
        if spent_delta > self.delta * (1.0 + 1e-9) {
            return Err(format!(
                "δ_τ = {} exceeds δ = {}",
                self.delta_threshold, self.delta
            ));
        }
        if self.release_threshold < required {
            return Err(format!(
                "release threshold {} is below the {required} that δ_τ = {} needs",
                self.release_threshold, self.delta_threshold
            ));
        }
        Ok(())
    }
}

fn laplace_threshold(scale: f64, m: u64, delta: f64) -> u64 {
    1 + (scale * (m as f64 / delta).ln()).ceil().max(0.0) as u64
}

fn gaussian_threshold(sigma: f64, m: u64, delta: f64) -> u64 {
    1 + (sigma * (2.0 * (m as f64 / delta).ln()).sqrt())
        .ceil()
        .max(0.0) as u64
}

/// Counts distinct people per cell of `keys` (as [`super::tabulate`]), bounds each person's
/// cells, adds noise and keeps the cells that reach the release threshold. Noise from the
/// operating system's CSPRNG.
pub fn dp_tabulate(
    by: &[String],
    person: &[u64],
    keys: &[Vec<String>],
    config: &TabulateConfig,
) -> Result<(FrequencyTable, DpCounts)> {
    dp_tabulate_with(by, person, keys, config, &mut crate::dp::os_rng())
}

fn dp_tabulate_with<R: RngCore + CryptoRng>(
    by: &[String],
    person: &[u64],
    keys: &[Vec<String>],
    config: &TabulateConfig,
    rng: &mut R,
) -> Result<(FrequencyTable, DpCounts)> {
    config
        .validate()
        .map_err(|(name, problem)| Error::InvalidArgument { name, problem })?;
    if by.is_empty() || keys.len() != by.len() || keys.iter().any(|k| k.len() != person.len()) {
        return Err(Error::InvalidArgument {
            name: "tabulate input",
            problem: "every `by` column needs one key per row".into(),
        });
    }
    let plan = DpCounts::plan(config);
    // Each person's distinct cells, in order of first appearance.
    let mut cells_of: HashMap<u64, Vec<Vec<String>>> = HashMap::new();
    let mut seen: std::collections::HashSet<(u64, Vec<String>)> = Default::default();
    for (row, &who) in person.iter().enumerate() {
        let key: Vec<String> = keys.iter().map(|column| column[row].clone()).collect();
        if seen.insert((who, key.clone())) {
            cells_of.entry(who).or_default().push(key);
        }
    }
    // Visit people in a fixed order so that only the random draws, not the hash map's order,
    // decide anything.
    let mut people: Vec<u64> = cells_of.keys().copied().collect();
    people.sort_unstable();
    let limit = plan.max_cells_per_person as usize;
    let mut counts: BTreeMap<Vec<String>, i128> = BTreeMap::new();
    for who in people {
        let mut cells = cells_of.remove(&who).expect("listed above");
        if cells.len() > limit {
            let (kept, _) = cells.partial_shuffle(rng, limit);
            cells = kept.to_vec();
        }
        for cell in cells {
            *counts.entry(cell).or_default() += 1;
        }
    }
    let gaussian = plan
        .rho
        .map(|rho| DiscreteGaussian::for_rho(1, rho / plan.max_cells_per_person as f64));
    let per_cell_epsilon = plan.epsilon / plan.max_cells_per_person as f64;
    let mut cells = Vec::new();
    for (key, count) in counts {
        let noisy = match &gaussian {
            Some(noise) => noise.add_to(count, rng),
            None => discrete_laplace_mechanism(count, 1, per_cell_epsilon, rng),
        };
        if noisy >= i128::from(plan.release_threshold) {
            cells.push(TableCell {
                key: key.into_iter().map(Some).collect(),
                people: Some(u64::try_from(noisy).unwrap_or(u64::MAX)),
                suppression: Suppression::Published,
            });
        }
    }
    Ok((
        FrequencyTable {
            by: by.to_vec(),
            threshold: plan.release_threshold,
            cells,
        },
        plan,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dp::exact::tests::test_rng;

    fn config(mechanism: CountMechanism) -> TabulateConfig {
        TabulateConfig {
            protection: super::super::config::Protection::Dp,
            mechanism,
            max_cells_per_person: 2,
            ..TabulateConfig::default()
        }
    }

    #[test]
    fn plans_pass_their_own_check_and_tampered_ones_fail() {
        for mechanism in [CountMechanism::Laplace, CountMechanism::Gaussian] {
            let plan = DpCounts::plan(&config(mechanism));
            assert_eq!(plan.check(), Ok(()), "{plan:?}");
            let mut cheap = plan.clone();
            cheap.noise_scale /= 2.0;
            assert!(cheap.check().is_err(), "{cheap:?}");
            let mut low = plan.clone();
            low.release_threshold = 2;
            assert!(low.check().unwrap_err().contains("threshold"), "{low:?}");
        }
        // Laplace at ε = 1, m = 2: b = 2, τ = 1 + ⌈2·ln(2·10⁶)⌉ = 1 + ⌈29.02⌉ = 31.
        let plan = DpCounts::plan(&config(CountMechanism::Laplace));
        assert_eq!((plan.noise_scale, plan.release_threshold), (2.0, 31));
    }

    #[test]
    fn big_cells_survive_with_bounded_noise_and_small_ones_vanish() {
        // 500 people on /a, each also on /b and /c (three cells, m = 2: one is dropped at random);
        // one person on /secret.
        let mut person = Vec::new();
        let mut pages = Vec::new();
        for who in 0..500u64 {
            for page in ["/a", "/b", "/c"] {
                person.push(who);
                pages.push(page.to_string());
            }
        }
        person.push(9_999);
        pages.push("/secret".into());
        for mechanism in [CountMechanism::Laplace, CountMechanism::Gaussian] {
            let (table, plan) = dp_tabulate_with(
                &["page".into()],
                &person,
                std::slice::from_ref(&pages),
                &config(mechanism),
                &mut test_rng(),
            )
            .unwrap();
            let published: Vec<&str> = table
                .cells
                .iter()
                .map(|c| c.key[0].as_deref().unwrap())
                .collect();
            assert_eq!(published, ["/a", "/b", "/c"], "{mechanism:?}");
            let total: u64 = table.cells.iter().map(|c| c.people.unwrap()).sum();
            // 1000 counted cells in all, plus noise of a few scales.
            assert!(
                (total as f64 - 1000.0).abs() < 20.0 * plan.noise_scale,
                "{total}"
            );
            assert!(table
                .cells
                .iter()
                .all(|c| c.people.unwrap() >= plan.release_threshold));
        }
    }
}
