//! What the release method does to data whose truth is known: the figures the datasheet prints.
//!
//! A reader of a release needs to know how much spread and which tails the method keeps, but
//! comparing the release with its own raw data would hand an attacker a calibration of the
//! method on the very people in it (that comparison goes to the internal report only). So the
//! datasheet's figures come from a fixed benchmark instead: [`BENCHMARK_PEOPLE`] synthetic people
//! drawn by anonpub's own generator ([`crate::sample::people`]; fixed seed, one set each, with the
//! generator's partial coverage patterns) and released with this release's method and k. They
//! describe the method, not this release's people, and cost about a tenth of a second.
//!
//! The benchmark uses the FreeSewing size models, so it exists only for a release over the
//! FreeSewing catalogue; another schema gets no benchmark, and its datasheet says so.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::anonymize::method::Microaggregation;
use crate::anonymize::microaggregation::ReleaseMethod;
use crate::measurements::Catalog;
use crate::release::report::{ColumnBenchmark, MethodBenchmark};
use crate::risk::utility::{numeric_utility, NumericUtility};
use crate::sample::people::{apply_coverage, as_typed, draw_body, draw_coverage, SizeModels};
use crate::table::MeasurementTable;

/// People in the benchmark population.
pub const BENCHMARK_PEOPLE: usize = 10_000;
/// Seed of the benchmark population; fixed so that every release of one method and k prints the
/// same figures.
pub const BENCHMARK_SEED: u64 = 2026;

/// Releases the benchmark population with `method`; `None` unless `catalog` is FreeSewing's.
pub fn benchmark_method(catalog: &Catalog, method: &ReleaseMethod) -> Option<MethodBenchmark> {
    if catalog.names() != Catalog::freesewing().names() {
        return None;
    }
    let table = benchmark_population(catalog);
    let released = Microaggregation::release(&table, method, &crate::observe::Silent);
    let utility = numeric_utility(catalog.names(), table.values(), &released.values);
    let suppressed = released.coverage.suppressed_records as f64 / table.len() as f64;
    Some(summarize(&utility, suppressed))
}

/// One set per person, as the generator types it (whole millimetres, half degrees).
fn benchmark_population(catalog: &Catalog) -> MeasurementTable {
    let models = SizeModels::freesewing(catalog);
    let mut rng = ChaCha20Rng::seed_from_u64(BENCHMARK_SEED);
    let mut table = MeasurementTable::new(catalog.names().to_vec());
    for person in 0..BENCHMARK_PEOPLE {
        let body = draw_body(&models, catalog, &mut rng);
        let coverage = draw_coverage(body.breasts, &mut rng);
        let values = apply_coverage(&body, coverage, catalog, &mut rng);
        table.push(person as u32, &as_typed(&values, false, catalog));
    }
    table
}

/// Three decimals: the figures are for reading, and print the same on every machine.
fn rounded(value: Option<f64>) -> f64 {
    value.map_or(f64::NAN, |v| (v * 1000.0).round() / 1000.0)
}

fn summarize(utility: &NumericUtility, suppressed_share: f64) -> MethodBenchmark {
    let tail_levels = [0.01, 0.05, 0.95, 0.99];
    let columns = utility
        .columns
        .iter()
        .map(|column| {
            let shift = |level: f64| {
                column
                    .quantile_differences
                    .iter()
                    .find(|q| q.level == level)
                    .and_then(|q| q.difference_sd)
            };
            ColumnBenchmark {
                column: column.column.clone(),
                spread_kept: rounded(column.std_dev_relative_error.map(|e| 1.0 + e)),
                tail_shift_sd: tail_levels.map(|level| rounded(shift(level))),
            }
        })
        .collect();
    let ks = &utility.summary.ks_distance;
    MethodBenchmark {
        people: BENCHMARK_PEOPLE,
        seed: BENCHMARK_SEED,
        median_kolmogorov_smirnov: rounded(ks.median),
        worst_kolmogorov_smirnov: rounded(ks.worst),
        correlation_difference: rounded(utility.correlation_mean_absolute_difference),
        suppressed_share: rounded(Some(suppressed_share)),
        columns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_benchmark_is_deterministic_and_keeps_most_of_the_spread() {
        let catalog = Catalog::freesewing();
        let method = ReleaseMethod::for_catalog(&catalog, 5, 1000, 25);
        let first = benchmark_method(&catalog, &method).expect("FreeSewing catalogue");
        assert_eq!(Some(&first), benchmark_method(&catalog, &method).as_ref());
        assert_eq!(first.columns.len(), catalog.len());
        for column in &first.columns {
            assert!(
                (0.8..=1.2).contains(&column.spread_kept),
                "{} keeps {}",
                column.column,
                column.spread_kept
            );
        }
        assert!(first.median_kolmogorov_smirnov < 0.1);
    }
}
