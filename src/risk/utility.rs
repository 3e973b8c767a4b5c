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
    /// Modes of the raw and of the released values ([`modes`]): a column whose raw values have
    /// two modes (a minority with a body of its own) should keep both.
    pub modes: Option<[usize; 2]>,
    /// Mean absolute difference between the raw and released correlations of this column with
    /// each other column (over the pairs defined on both sides): how well the release keeps what
    /// the column says about the others.
    pub correlation_difference: Option<f64>,
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
    let mut columns: Vec<ColumnUtility> = (0..width)
        .into_par_iter()
        .map(|c| {
            let raw_column = present(raw, width, c);
            let released_column = present(released, width, c);
            compare_column(&names[c], raw_column, released_column)
        })
        .collect();
    let raw_correlations = correlations(raw, width);
    let released_correlations = correlations(released, width);
    let pair_differences: Vec<Option<f64>> = raw_correlations
        .iter()
        .zip(&released_correlations)
        .map(|(a, b)| Some((a.as_ref()? - b.as_ref()?).abs()))
        .collect();
    let pairs = (0..width).flat_map(|i| (i + 1..width).map(move |j| (i, j)));
    let mut per_column = vec![(0.0, 0usize); width];
    for ((i, j), difference) in pairs.zip(&pair_differences) {
        if let Some(d) = difference {
            for c in [i, j] {
                per_column[c] = (per_column[c].0 + d, per_column[c].1 + 1);
            }
        }
    }
    for (column, (sum, n)) in columns.iter_mut().zip(per_column) {
        column.correlation_difference = (n > 0).then(|| sum / n as f64);
    }
    let differences: Vec<f64> = pair_differences.into_iter().flatten().collect();
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
        modes: (raw.len() >= MODE_MIN_VALUES && released.len() >= MODE_MIN_VALUES)
            .then(|| [modes(&raw), modes(&released)]),
        correlation_difference: None,
    }
}

/// Columns with fewer values than this get no mode count: a density of a few dozen values has
/// as many bumps as the bandwidth allows.
pub const MODE_MIN_VALUES: usize = 50;

/// Grid points of the density [`modes`] evaluates.
const MODE_GRID: usize = 256;

/// The number of modes of a sorted sample: the local maxima of a Gaussian kernel density
/// estimate (Silverman's rule-of-thumb bandwidth, `0.9 min(SD, IQR / 1.34) n^(-1/5)`, the
/// robust one, which does not widen with a second mode as the SD-only rule does) that reach 5 %
/// of the highest and are separated from the previous counted mode by a valley at most 80 % of
/// the lower of the two peaks. The density is evaluated on a grid of [`MODE_GRID`] points over
/// the values binned linearly to the same grid (Silverman 1986, section 3.5), so a column of a
/// million values costs a pass and a small convolution.
pub fn modes(sorted: &[f64]) -> usize {
    let n = sorted.len();
    if n < 2 {
        return n;
    }
    let (low, high) = (sorted[0], sorted[n - 1]);
    let sd = sorted.iter().std_dev();
    let quantile = |p: f64| sorted[((n - 1) as f64 * p).round() as usize];
    let spread = sd.min((quantile(0.75) - quantile(0.25)) / 1.34);
    let spread = if spread > 0.0 { spread } else { sd };
    if spread.is_nan() || spread <= 0.0 || high <= low {
        return 1;
    }
    let bandwidth = 0.9 * spread * (n as f64).powf(-0.2);
    let (start, end) = (low - 3.0 * bandwidth, high + 3.0 * bandwidth);
    let step = (end - start) / (MODE_GRID - 1) as f64;
    let mut counts = vec![0.0; MODE_GRID];
    for &v in sorted {
        let position = (v - start) / step;
        let below = (position.floor() as usize).min(MODE_GRID - 2);
        let share = position - below as f64;
        counts[below] += 1.0 - share;
        counts[below + 1] += share;
    }
    let reach = (4.0 * bandwidth / step).ceil() as isize;
    let kernel: Vec<f64> = (-reach..=reach)
        .map(|d| (-0.5 * (d as f64 * step / bandwidth).powi(2)).exp())
        .collect();
    let density: Vec<f64> = (0..MODE_GRID as isize)
        .map(|i| {
            (-reach..=reach)
                .filter_map(|d| {
                    let j = usize::try_from(i + d).ok().filter(|&j| j < MODE_GRID)?;
                    Some(counts[j] * kernel[(d + reach) as usize])
                })
                .sum()
        })
        .collect();
    let top = density.iter().copied().fold(0.0, f64::max);
    let mut found = 0;
    let (mut last_peak, mut valley) = (0.0f64, f64::INFINITY);
    for i in 1..MODE_GRID - 1 {
        let d = density[i];
        valley = valley.min(d);
        let peak = d > density[i - 1] && d >= density[i + 1] && d >= 0.05 * top;
        if peak && (found == 0 || valley <= 0.8 * d.min(last_peak)) {
            found += 1;
            (last_peak, valley) = (d, d);
        } else if peak && d > last_peak {
            (last_peak, valley) = (d, d);
        }
    }
    found.max(1)
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
    fn modes_of_one_and_two_bumps() {
        // A smooth bump: one mode; a tenth of the values in a second bump 5 SD away: two.
        let bump = |centre: f64, count: usize| -> Vec<f64> {
            (1..=count)
                .map(|i| {
                    let u = i as f64 / (count + 1) as f64;
                    // The normal quantile by a logistic approximation: smooth enough here.
                    centre + (u / (1.0 - u)).ln() / 1.7
                })
                .collect()
        };
        let mut one = bump(0.0, 900);
        one.sort_by(f64::total_cmp);
        assert_eq!(modes(&one), 1);
        let mut two = bump(0.0, 900);
        two.extend(bump(5.0, 100));
        two.sort_by(f64::total_cmp);
        assert_eq!(modes(&two), 2);
        assert_eq!(modes(&[3.0; 60]), 1);
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
