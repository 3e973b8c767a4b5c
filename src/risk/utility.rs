//! How useful the released data still is: how far its statistics moved from the raw data's.
//!
//! For numeric microdata (the microaggregated measurements): per column the change in mean,
//! standard deviation (also relative to the raw one) and the 1/5/25/50/75/95/99 % quantiles (also
//! in units of the raw standard deviation, so that columns of any spread compare), the two-sample
//! Kolmogorov–Smirnov distance between the raw and released values, the share of the raw values
//! that are published, and the mean absolute change of the correlation matrix; then a
//! [`UtilitySummary`] over columns (median and worst), the figures a publisher weighs. These are
//! the figures sdcMicro and the microaggregation literature (Domingo-Ferrer & Mateo-Sanz 2002)
//! report; each compares raw with released data, so they go to the internal report only. Missing
//! values are skipped per column, and correlations use pairwise complete observations, because
//! FreeSewing sets are partial by design. (The information loss of generalized data is ARX's
//! Loss, in [`crate::anonymize::loss`].)
//!
//! Quantiles and moments come from statrs (quantiles by its median-unbiased estimator, Hyndman &
//! Fan's type 8); the KS distance is computed directly by one merge of the sorted samples.

use rayon::prelude::*;
use serde::Serialize;
use statrs::statistics::{Data, OrderStatistics, Statistics};

/// Quantile levels compared per column.
pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/// How one numeric column changed. Differences are released minus raw, in the column's unit;
/// `None` where a side has too few values for the statistic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnUtility {
    /// The column's name.
    pub column: String,
    /// Values present in the raw data.
    pub raw_values: usize,
    /// Values present in the release.
    pub released_values: usize,
    /// `released_values / raw_values`: how much of the column coverage planning kept.
    pub published_share: Option<f64>,
    /// Released minus raw mean.
    pub mean_difference: Option<f64>,
    /// Released minus raw standard deviation (needs two values on each side).
    pub std_dev_difference: Option<f64>,
    /// `std_dev_difference` over the raw standard deviation (−0.2: the release is 20 % narrower).
    pub std_dev_relative_error: Option<f64>,
    /// One entry per level of [`QUANTILES`].
    pub quantile_differences: Vec<QuantileDifference>,
    /// Largest gap between the two empirical distribution functions, in `[0, 1]`.
    pub ks_distance: Option<f64>,
}

/// How one quantile moved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuantileDifference {
    /// The quantile level, in `(0, 1)`.
    pub level: f64,
    /// Released minus raw quantile.
    pub difference: Option<f64>,
    /// `difference` in units of the raw standard deviation.
    pub difference_sd: Option<f64>,
}

/// The utility of a numeric release against its raw data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericUtility {
    /// One entry per column, in the order of the names given.
    pub columns: Vec<ColumnUtility>,
    /// Mean absolute difference between the raw and released correlation matrices, over the
    /// column pairs whose correlation is defined on both sides.
    pub correlation_mean_absolute_difference: Option<f64>,
    /// Column pairs that entered that mean.
    pub correlation_pairs: usize,
    /// The per-column figures reduced over columns.
    pub summary: UtilitySummary,
}

/// The per-column figures reduced over columns: for each, the median and the worst column.
/// Absolute values throughout (an error of −0.3 SD is as bad as +0.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UtilitySummary {
    /// |relative error of the standard deviation|.
    pub std_dev_relative_error: Spread,
    /// Kolmogorov–Smirnov distance between the raw and released values.
    pub ks_distance: Spread,
    /// |quantile difference| in raw standard deviations, one entry per level of [`QUANTILES`].
    pub quantile_difference_sd: Vec<(f64, Spread)>,
}

/// Median and maximum of one figure over the columns where it is defined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// The median over the columns; `None` when no column defines the figure.
    pub median: Option<f64>,
    /// The largest value over the columns.
    pub worst: Option<f64>,
    /// The column with the worst figure.
    pub worst_column: Option<String>,
}

impl Spread {
    fn of(columns: &[ColumnUtility], figure: impl Fn(&ColumnUtility) -> Option<f64>) -> Self {
        let mut values: Vec<(f64, &str)> = columns
            .iter()
            .filter_map(|c| Some((figure(c)?.abs(), c.column.as_str())))
            .collect();
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        let median = (!values.is_empty()).then(|| {
            let middle = values.len() / 2;
            if values.len() % 2 == 1 {
                values[middle].0
            } else {
                (values[middle - 1].0 + values[middle].0) / 2.0
            }
        });
        let worst = values.last();
        Spread {
            median,
            worst: worst.map(|w| w.0),
            worst_column: worst.map(|w| w.1.to_string()),
        }
    }
}

impl UtilitySummary {
    fn of(columns: &[ColumnUtility]) -> Self {
        UtilitySummary {
            std_dev_relative_error: Spread::of(columns, |c| c.std_dev_relative_error),
            ks_distance: Spread::of(columns, |c| c.ks_distance),
            quantile_difference_sd: QUANTILES
                .iter()
                .enumerate()
                .map(|(q, &level)| {
                    let spread = Spread::of(columns, |c| c.quantile_differences[q].difference_sd);
                    (level, spread)
                })
                .collect(),
        }
    }
}

/// Compares a release with the raw data; both row-major with one column per name, NaN for a
/// missing value. The row counts may differ (suppressed records are not released).
pub fn numeric_utility(names: &[String], raw: &[f64], released: &[f64]) -> NumericUtility {
    let width = names.len();
    assert!(width > 0 && raw.len().is_multiple_of(width) && released.len().is_multiple_of(width));
    let columns: Vec<ColumnUtility> = (0..width)
        .into_par_iter()
        .map(|c| {
            let raw_column = present(raw, width, c);
            let released_column = present(released, width, c);
            compare_column(&names[c], raw_column, released_column)
        })
        .collect();
    let raw_correlations = correlations(raw, width);
    let released_correlations = correlations(released, width);
    let differences: Vec<f64> = raw_correlations
        .iter()
        .zip(&released_correlations)
        .filter_map(|(a, b)| Some((a.as_ref()? - b.as_ref()?).abs()))
        .collect();
    NumericUtility {
        summary: UtilitySummary::of(&columns),
        columns,
        correlation_mean_absolute_difference: (!differences.is_empty())
            .then(|| differences.iter().sum::<f64>() / differences.len() as f64),
        correlation_pairs: differences.len(),
    }
}

/// The present values of column `c`, sorted.
fn present(values: &[f64], width: usize, c: usize) -> Vec<f64> {
    let mut column: Vec<f64> = values
        .iter()
        .skip(c)
        .step_by(width)
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    column.sort_by(f64::total_cmp);
    column
}

fn compare_column(name: &str, raw: Vec<f64>, released: Vec<f64>) -> ColumnUtility {
    let both = !raw.is_empty() && !released.is_empty();
    let difference = |statistic: fn(&[f64]) -> f64, least: usize| {
        (raw.len() >= least && released.len() >= least)
            .then(|| statistic(&released) - statistic(&raw))
    };
    let raw_sd = (raw.len() >= 2)
        .then(|| raw.iter().std_dev())
        .filter(|&sd| sd > 0.0);
    let in_sd = |d: Option<f64>| Some(d? / raw_sd?);
    let (mut raw_data, mut released_data) = (Data::new(raw.clone()), Data::new(released.clone()));
    let quantile_differences = QUANTILES
        .iter()
        .map(|&level| {
            let difference = both.then(|| released_data.quantile(level) - raw_data.quantile(level));
            QuantileDifference {
                level,
                difference,
                difference_sd: in_sd(difference),
            }
        })
        .collect();
    let std_dev_difference = difference(|v| v.std_dev(), 2);
    ColumnUtility {
        column: name.to_string(),
        raw_values: raw.len(),
        released_values: released.len(),
        published_share: (!raw.is_empty()).then(|| released.len() as f64 / raw.len() as f64),
        mean_difference: difference(|v| v.mean(), 1),
        std_dev_difference,
        std_dev_relative_error: in_sd(std_dev_difference),
        quantile_differences,
        ks_distance: both.then(|| ks_distance(&raw, &released)),
    }
}

/// Two-sample Kolmogorov–Smirnov statistic of two sorted, non-empty samples: the largest
/// difference between their empirical distribution functions, evaluated after each distinct value.
pub fn ks_distance(a: &[f64], b: &[f64]) -> f64 {
    let (mut i, mut j, mut largest) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let value = a[i].min(b[j]);
        while i < a.len() && a[i] <= value {
            i += 1;
        }
        while j < b.len() && b[j] <= value {
            j += 1;
        }
        largest = largest.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    largest
}

/// Pearson correlations of every column pair `i < j` (in row-major pair order) over the rows where
/// both are present; `None` where fewer than two such rows exist or a side is constant.
fn correlations(values: &[f64], width: usize) -> Vec<Option<f64>> {
    let rows = values.len() / width;
    let pairs: Vec<(usize, usize)> = (0..width)
        .flat_map(|i| (i + 1..width).map(move |j| (i, j)))
        .collect();
    pairs
        .into_par_iter()
        .map(|(i, j)| {
            let (mut n, mut sx, mut sy) = (0.0, 0.0, 0.0);
            for r in 0..rows {
                let (x, y) = (values[r * width + i], values[r * width + j]);
                if !x.is_nan() && !y.is_nan() {
                    n += 1.0;
                    sx += x;
                    sy += y;
                }
            }
            if n < 2.0 {
                return None;
            }
            let (mx, my) = (sx / n, sy / n);
            let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
            for r in 0..rows {
                let (x, y) = (values[r * width + i], values[r * width + j]);
                if !x.is_nan() && !y.is_nan() {
                    sxy += (x - mx) * (y - my);
                    sxx += (x - mx) * (x - mx);
                    syy += (y - my) * (y - my);
                }
            }
            (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn identical_data_has_no_utility_loss() {
        let names = vec!["a".to_string(), "b".to_string()];
        let raw = [1.0, 10.0, 2.0, 21.0, 3.0, f64::NAN, 4.0, 39.0];
        let utility = numeric_utility(&names, &raw, &raw);
        for column in &utility.columns {
            assert_eq!(column.mean_difference, Some(0.0));
            assert_eq!(column.std_dev_difference, Some(0.0));
            assert_eq!(column.ks_distance, Some(0.0));
            assert!(column
                .quantile_differences
                .iter()
                .all(|q| q.difference == Some(0.0)));
        }
        assert_eq!(utility.columns[1].raw_values, 3);
        assert_eq!(utility.correlation_mean_absolute_difference, Some(0.0));
        assert_eq!(utility.correlation_pairs, 1);
    }

    #[test]
    fn shifts_and_spreads_are_measured() {
        let names = vec!["a".to_string(), "b".to_string()];
        // b = 2a in the raw data (r = 1); the release shifts a by 10 and reverses b (r = −1).
        let raw = [1.0, 2.0, 2.0, 4.0, 3.0, 6.0, 4.0, 8.0];
        let released = [11.0, 8.0, 12.0, 6.0, 13.0, 4.0, 14.0, 2.0];
        let utility = numeric_utility(&names, &raw, &released);
        let a = &utility.columns[0];
        assert_eq!(a.mean_difference, Some(10.0));
        assert!(close(a.std_dev_difference.unwrap(), 0.0));
        assert!(a
            .quantile_differences
            .iter()
            .all(|q| close(q.difference.unwrap(), 10.0)));
        assert_eq!(a.ks_distance, Some(1.0));
        assert_eq!(utility.columns[1].ks_distance, Some(0.0));
        assert!(close(
            utility.correlation_mean_absolute_difference.unwrap(),
            2.0
        ));
    }

    #[test]
    fn ks_distance_of_interleaved_samples() {
        // After 1: 1/2 vs 0; after 2: 1/2 vs 1/3; after 3: 1 vs 1/3; after 4 and 5: 1 vs 1.
        assert!(close(ks_distance(&[1.0, 3.0], &[2.0, 4.0, 5.0]), 2.0 / 3.0));
        assert_eq!(ks_distance(&[1.0, 1.0, 2.0], &[1.0, 2.0, 2.0]), 1.0 / 3.0);
    }

    #[test]
    fn empty_columns_give_no_statistics() {
        let names = vec!["a".to_string()];
        let utility = numeric_utility(&names, &[1.0, 2.0], &[f64::NAN]);
        let a = &utility.columns[0];
        assert_eq!((a.mean_difference, a.ks_distance), (None, None));
        assert_eq!(utility.correlation_mean_absolute_difference, None);
    }
}
