//! ARX's "Loss" information-loss metric for full-domain generalization with
//! record suppression.
//!
//! Follows Iyengar (2002), "Transforming data to satisfy privacy constraints",
//! in the variant ARX 3.9 uses by default (`MetricMDNMLoss`, generalization /
//! suppression factor 0.5, geometric-mean aggregation), so the numbers equal
//! the ones ARX reports:
//!
//! - The *share* of a generalized value is the part of the attribute's domain it
//!   covers: for a listed hierarchy the number of original values mapped to its
//!   label on that level divided by the number of hierarchy rows; for a numeric
//!   interval hierarchy the interval width divided by the domain width (see
//!   `Hierarchy::extent`).
//! - Per attribute, the raw loss sums over records the share of the record's
//!   generalized value, except that a suppressed record counts fully (1).
//! - Each attribute's raw loss is normalised to `[0, 1]`: 0 for the
//!   untransformed data (`records / |domain|` for listed hierarchies), 1 when
//!   every record is generalized to `*` or suppressed. Like ARX, the result is
//!   clamped at 0 and rounded to 10 decimal places.
//! - The attributes are combined by the geometric mean of `1 + loss`, minus 1.
//!
//! Guarantee used by the search: [`LossMetric::lower_bound`] (the loss with
//! nothing suppressed) never exceeds the loss with suppression, and never
//! decreases when any attribute moves to a higher level, provided hierarchies
//! nest (as `Hierarchy` enforces) so that shares grow with the level.
//!
//! Precondition: `columns[d]` holds base codes of `hierarchies[d]`, and all
//! columns have the same number of records.

use super::hierarchy::Hierarchy;

/// ARX compares losses after rounding to this many decimal places.
const ROUNDING_SCALE: f64 = 1e10;

/// The Loss metric, precomputed for one table and its hierarchies.
#[derive(Debug, Clone)]
pub struct LossMetric {
    records: f64,
    /// `shares[dim][level][base]`: domain share of `base`'s generalized value on `level`.
    shares: Vec<Vec<Vec<f64>>>,
    /// `unsuppressed_totals[dim][level]`: raw loss of `dim` at `level` with no record suppressed.
    unsuppressed_totals: Vec<Vec<f64>>,
    /// `unsuppressed_factors[dim][level]`: that loss as its geometric-mean factor,
    /// cached because the search asks for lower bounds of many nodes.
    unsuppressed_factors: Vec<Vec<f64>>,
}

impl LossMetric {
    /// Precomputes domain shares and per-level totals for the given table.
    pub fn new(hierarchies: &[Hierarchy], columns: &[Vec<u32>]) -> Self {
        debug_assert_eq!(hierarchies.len(), columns.len());
        let records = columns.first().map_or(0, Vec::len) as f64;
        let shares: Vec<Vec<Vec<f64>>> = hierarchies
            .iter()
            .map(|hierarchy| {
                (0..hierarchy.levels())
                    .map(|level| {
                        hierarchy
                            .level_map(level)
                            .iter()
                            .map(|&code| hierarchy.extent(level, code) / hierarchy.domain_extent())
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let unsuppressed_totals = shares
            .iter()
            .zip(columns)
            .zip(hierarchies)
            .map(|((dim_shares, column), hierarchy)| {
                let mut frequencies = vec![0u64; hierarchy.base_count()];
                for &base in column {
                    frequencies[base as usize] += 1;
                }
                dim_shares
                    .iter()
                    .map(|level_shares| {
                        level_shares
                            .iter()
                            .zip(&frequencies)
                            .map(|(share, &frequency)| share * frequency as f64)
                            .sum()
                    })
                    .collect()
            })
            .collect();
        let mut metric = Self {
            records,
            shares,
            unsuppressed_totals,
            unsuppressed_factors: Vec::new(),
        };
        let dims = hierarchies.len();
        metric.unsuppressed_factors = metric
            .unsuppressed_totals
            .iter()
            .enumerate()
            .map(|(dim, totals)| {
                totals
                    .iter()
                    .map(|&total| mean_factor(metric.normalise(dim, total), dims))
                    .collect()
            })
            .collect();
        metric
    }

    /// Domain share of the generalized value of `base` on `level` of attribute `dim`.
    pub fn share(&self, dim: usize, level: usize, base: u32) -> f64 {
        self.shares[dim][level][base as usize]
    }

    /// Loss of the transformation `levels` if no record were suppressed: a lower
    /// bound for its loss with suppression, monotone over the lattice.
    pub fn lower_bound(&self, levels: &[usize]) -> f64 {
        // Same factors in the same order as `loss`, so with nothing suppressed
        // both give bit-identical results.
        self.unsuppressed_factors
            .iter()
            .zip(levels)
            .map(|(factors, &level)| factors[level])
            .product::<f64>()
            - 1.0
    }

    /// Per-attribute normalised loss of transformation `levels` when the given
    /// classes are suppressed; each class is `(base codes of one member, size)`.
    pub fn attribute_losses<'a, I>(&self, levels: &[usize], suppressed_classes: I) -> Vec<f64>
    where
        I: IntoIterator<Item = (&'a [u32], usize)>,
    {
        let mut raw: Vec<f64> = self
            .unsuppressed_totals
            .iter()
            .zip(levels)
            .map(|(totals, &level)| totals[level])
            .collect();
        for (member, size) in suppressed_classes {
            for (dim, (total, &base)) in raw.iter_mut().zip(member).enumerate() {
                *total += size as f64 * (1.0 - self.share(dim, levels[dim], base));
            }
        }
        raw.iter()
            .enumerate()
            .map(|(dim, &total)| self.normalise(dim, total))
            .collect()
    }

    /// Loss of transformation `levels` when the given classes are suppressed;
    /// each class is `(base codes of one member, size)`.
    pub fn loss<'a, I>(&self, levels: &[usize], suppressed_classes: I) -> f64
    where
        I: IntoIterator<Item = (&'a [u32], usize)>,
    {
        geometric_mean_loss(&self.attribute_losses(levels, suppressed_classes))
    }

    /// Maps a raw attribute loss onto `[0, 1]` between the untransformed data
    /// and total generalization, rounded as ARX does.
    fn normalise(&self, dim: usize, raw: f64) -> f64 {
        let untransformed = self.unsuppressed_totals[dim][0];
        let span = self.records - untransformed;
        if span <= 0.0 {
            return 0.0;
        }
        let normalised = ((raw - untransformed) / span).max(0.0);
        (normalised * ROUNDING_SCALE).round() / ROUNDING_SCALE
    }
}

/// Geometric mean of `1 + loss` over attributes, minus 1: ARX's aggregate,
/// which stays in `[0, 1]` and is 0 only if every attribute loses nothing.
pub fn geometric_mean_loss(attribute_losses: &[f64]) -> f64 {
    attribute_losses
        .iter()
        .map(|&loss| mean_factor(loss, attribute_losses.len()))
        .product::<f64>()
        - 1.0
}

/// One attribute's factor in [`geometric_mean_loss`].
fn mean_factor(loss: f64, attributes: usize) -> f64 {
    (loss + 1.0).powf(1.0 / attributes as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hierarchy(text: &str) -> Hierarchy {
        Hierarchy::from_csv_reader(text.as_bytes(), "test", b';').unwrap()
    }

    #[test]
    fn untransformed_is_zero_and_top_is_one() {
        let hierarchies = [hierarchy("a;x;*\nb;x;*\nc;y;*\nd;y;*\n")];
        let columns = [vec![0, 1, 2, 2]];
        let metric = LossMetric::new(&hierarchies, &columns);
        assert_eq!(metric.lower_bound(&[0]), 0.0);
        assert_eq!(metric.lower_bound(&[2]), 1.0);
        // Level 1: each record's share is 2/4; normalised (4·0.5 − 1) / (4 − 1).
        assert!((metric.lower_bound(&[1]) - 1.0 / 3.0).abs() < 1e-9);
        // Suppressing everything costs as much as generalizing everything.
        let member = [2u32];
        assert_eq!(metric.loss(&[0], [(&member[..], 4)]), 1.0);
    }

    #[test]
    fn suppression_counts_fully() {
        let hierarchies = [hierarchy("a;x;*\nb;x;*\nc;y;*\nd;y;*\n")];
        let columns = [vec![0, 1, 2, 3]];
        let metric = LossMetric::new(&hierarchies, &columns);
        let member = [3u32];
        // Raw: three records at share 1/2, one suppressed at 1 → 2.5; (2.5 − 1) / 3.
        let loss = metric.loss(&[1], [(&member[..], 1)]);
        assert!((loss - 0.5).abs() < 1e-9);
        assert!(metric.lower_bound(&[1]) <= loss);
    }

    #[test]
    fn geometric_mean_of_two_attributes() {
        let expected = ((1.5f64).sqrt() * 1.0) - 1.0;
        assert!((geometric_mean_loss(&[0.5, 0.0]) - expected).abs() < 1e-12);
    }
}
