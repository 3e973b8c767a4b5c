//! Differentially private frequency tables: people and events per cell with discrete noise, and
//! only the cells whose noisy count clears a threshold derived from δ.
//!
//! **Guarantee.** (ε, δ)-DP with the person as the unit and add-or-remove-one-person neighbours.
//! 1. *Contribution bounds.* A person who falls into more than `m = max_cells_per_person` cells
//!    is counted in `m` of them, drawn uniformly at random from their own cells (a choice that
//!    depends on nobody else), and adds at most `C = max_events_per_person` events to each. So
//!    adding or removing a person changes at most `m` people counts by 1 (L1 `m`, L2 `√m`) and
//!    `m` events counts by at most `C` (L1 `m·C`, L2 `C·√m`).
//! 2. *Noise.* Discrete Laplace or discrete Gaussian on every count, with the scales of
//!    [`DpBudget::plan`] (half the budget for each family of counts).
//! 3. *Which cells exist* (DP partition selection). The keys are not public (which pages, which
//!    days): a cell present only because one person is in the data would announce them. So a cell
//!    is published only when its noisy people count reaches the release threshold τ, chosen so
//!    that a cell of one person passes with probability at most δ_τ/m
//!    ([`crate::release::frequency::release_threshold`]; Korolova, Kenthapadi, Mishra & Ntoulas
//!    2009; Wilson et al. 2020, "Differentially private SQL with bounded user contribution").
//!
//! **Bias.** Bounding contributions makes counts low: the pairs beyond `m` are not counted and
//! each pair's events are clipped at `C`. [`BoundingBias`] measures how much on this input; it is
//! computed from the raw data, outside the (ε, δ) budget, as two whole percentages over the whole
//! input (one person moves them by at most their own share of all pairs), so that a reader knows
//! how far the published counts fall short.
//!
//! Tables are published without margins: a reader can add noisy cells up (post-processing), and
//! exact margins would not be private. Noise comes from [`crate::dp::os_rng`], never from a seed.

use rand::seq::SliceRandom;
use rand::{CryptoRng, RngCore};

use super::config::TabulateConfig;
use super::contributions::Aggregated;
use super::suppress::Suppression;
use super::{FrequencyTable, TableCell};
use crate::dp::gaussian::DiscreteGaussian;
use crate::dp::laplace::discrete_laplace_mechanism;
use crate::release::frequency::{BoundingBias, CountNoise, DpBudget};

/// The budget of a configuration.
pub fn budget(config: &TabulateConfig) -> DpBudget {
    DpBudget::plan(
        config.mechanism,
        config.epsilon,
        config.delta,
        config.max_cells_per_person,
        config.max_events_per_person,
    )
}

/// Counts people and events per cell with each person's contributions bounded, adds noise and
/// keeps the cells that reach the release threshold. Noise from the operating system's CSPRNG.
pub fn dp_tabulate(
    by: &[String],
    data: &Aggregated,
    config: &TabulateConfig,
) -> (FrequencyTable, DpBudget, BoundingBias) {
    dp_tabulate_with(by, data, config, &mut crate::dp::os_rng())
}

fn dp_tabulate_with<R: RngCore + CryptoRng>(
    by: &[String],
    data: &Aggregated,
    config: &TabulateConfig,
    rng: &mut R,
) -> (FrequencyTable, DpBudget, BoundingBias) {
    let plan = budget(config);
    let (limit, clip) = (
        plan.max_cells_per_person as usize,
        plan.max_events_per_person,
    );
    let mut people = vec![0i128; data.cells.len()];
    let mut events = vec![0i128; data.cells.len()];
    let (mut all_pairs, mut all_events, mut kept_events) = (0u64, 0u64, 0u64);
    let mut mine = Vec::new();
    for person in data.pairs.chunk_by(|a, b| a.person == b.person) {
        all_pairs += person.len() as u64;
        all_events += person.iter().map(|p| u64::from(p.events)).sum::<u64>();
        mine.clear();
        mine.extend_from_slice(person);
        let kept: &[_] = if mine.len() > limit {
            mine.partial_shuffle(rng, limit).0
        } else {
            &mine
        };
        for pair in kept.iter() {
            let clipped = u64::from(pair.events).min(clip);
            people[pair.cell as usize] += 1;
            events[pair.cell as usize] += i128::from(clipped);
            kept_events += clipped;
        }
    }
    let kept_pairs: i128 = people.iter().sum();
    let share_lost = |kept: u64, all: u64| {
        if all == 0 {
            0
        } else {
            ((all - kept) as f64 * 100.0 / all as f64).round() as u64
        }
    };
    let bias = BoundingBias {
        people_pairs_dropped_pct: share_lost(kept_pairs as u64, all_pairs),
        events_dropped_pct: share_lost(kept_events, all_events),
    };
    // Both scales already include their sensitivity: Lap_Z(b) is `discrete_laplace_mechanism`
    // with sensitivity 1 and ε = 1/b.
    let noise = |count: i128, scale: f64, rng: &mut R| -> i128 {
        match plan.mechanism {
            CountNoise::Laplace => discrete_laplace_mechanism(count, 1, 1.0 / scale, rng),
            CountNoise::Gaussian => {
                // σ = scale; for_rho(1, ρ) has σ² = 1/(2ρ).
                DiscreteGaussian::for_rho(1, 1.0 / (2.0 * scale * scale)).add_to(count, rng)
            }
        }
    };
    let rank = super::ranks(&data.labels);
    let mut order: Vec<u32> = (0..data.cells.len() as u32).collect();
    order.sort_by_cached_key(|&cell| {
        data.cells[cell as usize]
            .iter()
            .enumerate()
            .map(|(column, &value)| rank[column][value as usize])
            .collect::<Vec<u32>>()
    });
    let mut cells = Vec::new();
    for cell in order {
        // A cell none of whose people were kept is noised like any other.
        let noisy = noise(people[cell as usize], plan.noise_scale, rng);
        if noisy < i128::from(plan.release_threshold) {
            continue;
        }
        let noisy_events = noise(events[cell as usize], plan.events_noise_scale, rng).max(0);
        cells.push(TableCell {
            key: data.cells[cell as usize]
                .iter()
                .enumerate()
                .map(|(column, &value)| Some(data.labels[column][value as usize].clone()))
                .collect(),
            people: u64::try_from(noisy).unwrap_or(u64::MAX),
            events: u64::try_from(noisy_events).unwrap_or(u64::MAX),
            suppression: Suppression::Published,
        });
    }
    (
        FrequencyTable {
            by: by.to_vec(),
            cells,
        },
        plan,
        bias,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dp::exact::tests::test_rng;
    use crate::tabulate::contributions::{person_key, Contributions};

    fn config(mechanism: CountNoise) -> TabulateConfig {
        TabulateConfig {
            protection: super::super::config::Protection::Dp,
            mechanism,
            max_cells_per_person: 2,
            max_events_per_person: 3,
            ..TabulateConfig::default()
        }
    }

    #[test]
    fn big_cells_survive_with_bounded_noise_small_ones_vanish_and_the_bias_is_measured() {
        // 500 people on /a, /b and /c (three cells, m = 2: one is dropped at random), 10 views
        // each (clipped at 3); one person on /secret.
        let mut contributions = Contributions::new(1);
        for who in 0..500u64 {
            let person = contributions.person(person_key(&who.to_string()));
            for page in ["/a", "/b", "/c"] {
                let value = contributions.text_value(0, page);
                contributions.add(person, &[value], 10);
            }
        }
        let secret = contributions.person(person_key("secret"));
        let value = contributions.text_value(0, "/secret");
        contributions.add(secret, &[value], 1);
        let data = contributions.finish();
        for mechanism in [CountNoise::Laplace, CountNoise::Gaussian] {
            let (table, plan, bias) =
                dp_tabulate_with(&["page".into()], &data, &config(mechanism), &mut test_rng());
            let published: Vec<&str> = table
                .cells
                .iter()
                .map(|c| c.key[0].as_deref().unwrap())
                .collect();
            assert_eq!(published, ["/a", "/b", "/c"], "{mechanism:?}");
            let total: u64 = table.cells.iter().map(|c| c.people).sum();
            // 1000 counted pairs in all, plus noise of a few scales.
            assert!(
                (total as f64 - 1000.0).abs() < 20.0 * plan.noise_scale,
                "{total}"
            );
            let views: u64 = table.cells.iter().map(|c| c.events).sum();
            assert!(
                (views as f64 - 3000.0).abs() < 20.0 * plan.events_noise_scale,
                "{views}"
            );
            assert!(table
                .cells
                .iter()
                .all(|c| c.people >= plan.release_threshold));
            // 500 of 1501 pairs dropped (33 %); of 15,001 views, 3,000 kept + the secret's 1.
            assert_eq!(bias.people_pairs_dropped_pct, 33);
            assert_eq!(bias.events_dropped_pct, 80);
        }
    }
}
