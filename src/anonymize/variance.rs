//! Spread restoration: a linear map of the group means of one coverage pattern that gives them the
//! pattern's covariance back.
//!
//! **Why.** Replacing records by group means keeps the mean but removes the within-group variance:
//! the released spread is the between-group spread only, so standard deviations shrink, tails
//! (P1, P5, P95, P99) move towards the middle and correlations grow (averaging removes the part of
//! each measurement that is independent of the others). Size charts are made of exactly those
//! tails.
//!
//! **Method.** Within a pattern (standardized coordinates), let `Σ_X` be the covariance of the
//! records and `Σ_G` that of the released group means (each mean counted once per record). The map
//! `g ↦ μ + A (g − μ)` with `A = Σ_G^{-1/2} (Σ_G^{1/2} Σ_X Σ_G^{1/2})^{1/2} Σ_G^{-1/2}` gives the
//! means the covariance `Σ_X` exactly, and among all such linear maps it moves them the least
//! (it is the optimal-transport map between Gaussians with these covariances, Knott & Smith 1984;
//! Olkin & Pukelsheim 1982). It needs more groups than columns for `Σ_G` to be of full rank;
//! a pattern with fewer groups gets the diagonal version, each column stretched around its mean
//! by `√(Σ_X,cc / Σ_G,cc)` — the variance-restoring post-processing of group means that
//! microaggregation surveys describe (Domingo-Ferrer & Mateo-Sanz 2002 measure what it repairs).
//! A pattern of one group, or a column constant over the groups, is left as it is. The stretch is
//! capped at [`MAX_STRETCH`], so that a pattern of a few near-identical groups is not blown up.
//!
//! **Guarantee.** The map is applied to whole groups: every member of a group gets the same
//! adjusted mean, so every released row is still identical to the rows of at least k distinct
//! people, and k-anonymity over people holds exactly as before. The map is invertible, so the
//! adjusted means carry no more about any group than the group means themselves plus the map.
//!
//! **What the map looks at, and why that is acceptable.** Besides the released group means it
//! uses one aggregate of the raw data per pattern: the pattern's covariance matrix `Σ_X`, a
//! second moment averaged over every record of the pattern. Coverage planning makes patterns of
//! at least `min_pattern_people` people (25 by default, never fewer than k), and every value is
//! bounded by its plausible range, so one person moves an entry of `Σ_X` by at most
//! (range / scale)² / n for a pattern of n records — the same order of influence as on a group
//! mean, spread over five or more times as many people. The released covariance is precisely the
//! property a faithful release should have; it tells an attacker what any accurate summary of the
//! pattern would. This is not a differential-privacy guarantee and none is claimed: the guarantee
//! of the release stays k-anonymity of its rows.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Largest factor by which the map may stretch any direction.
pub const MAX_STRETCH: f64 = 10.0;

/// Eigenvalues of `Σ_G` below this share of the largest count as zero (rank-deficient).
const RANK_TOLERANCE: f64 = 1e-9;

/// Returns the adjusted mean of every group (row-major, `dim` values each) of the points
/// `coordinates` (row-major, `dim` values each), grouped by `groups` (indices into the points).
pub fn restore_spread(coordinates: &[f64], dim: usize, groups: &[Vec<usize>]) -> Vec<f64> {
    let means = group_means(coordinates, dim, groups);
    if groups.len() < 2 || dim == 0 {
        return means;
    }
    let records = coordinates.len() / dim;
    let center = DVector::from_iterator(
        dim,
        (0..dim).map(|c| (0..records).map(|i| coordinates[i * dim + c]).sum::<f64>()),
    ) / records as f64;
    let raw = covariance(coordinates.chunks_exact(dim).map(|x| (x, 1.0)), &center);
    let released = covariance(
        means
            .chunks_exact(dim)
            .zip(groups)
            .map(|(m, group)| (m, group.len() as f64)),
        &center,
    ) * (1.0 / records as f64);
    let raw = raw * (1.0 / records as f64);
    let map = if groups.len() > dim {
        transport_map(&released, &raw).unwrap_or_else(|| diagonal_map(&released, &raw))
    } else {
        diagonal_map(&released, &raw)
    };
    let mut adjusted = Vec::with_capacity(means.len());
    for mean in means.chunks_exact(dim) {
        let offset = DVector::from_column_slice(mean) - &center;
        adjusted.extend((&center + &map * offset).iter());
    }
    adjusted
}

/// The plain mean of every group.
fn group_means(coordinates: &[f64], dim: usize, groups: &[Vec<usize>]) -> Vec<f64> {
    let mut means = vec![0.0; groups.len() * dim];
    for (mean, group) in means.chunks_exact_mut(dim.max(1)).zip(groups) {
        for &g in group {
            for (m, x) in mean.iter_mut().zip(&coordinates[g * dim..(g + 1) * dim]) {
                *m += x;
            }
        }
        mean.iter_mut().for_each(|m| *m /= group.len() as f64);
    }
    means
}

/// Σ weight · (x − center)(x − center)ᵀ, upper triangle computed and mirrored.
fn covariance<'a>(
    rows: impl Iterator<Item = (&'a [f64], f64)>,
    center: &DVector<f64>,
) -> DMatrix<f64> {
    let dim = center.len();
    let mut sum = vec![0.0; dim * dim];
    let mut offset = vec![0.0; dim];
    for (row, weight) in rows {
        for ((o, x), c) in offset.iter_mut().zip(row).zip(center.iter()) {
            *o = x - c;
        }
        for i in 0..dim {
            let scaled = weight * offset[i];
            for (s, o) in sum[i * dim + i..(i + 1) * dim].iter_mut().zip(&offset[i..]) {
                *s += scaled * o;
            }
        }
    }
    DMatrix::from_fn(dim, dim, |i, j| sum[i.min(j) * dim + i.max(j)])
}

/// `A = S⁻¹ (S Σ_X S)^{1/2} S⁻¹` with `S = Σ_G^{1/2}`; `None` when `Σ_G` is rank-deficient.
fn transport_map(released: &DMatrix<f64>, raw: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let eigen = SymmetricEigen::new(released.clone());
    let largest = eigen.eigenvalues.max();
    if largest <= 0.0 || eigen.eigenvalues.min() <= RANK_TOLERANCE * largest {
        return None;
    }
    let root = matrix_function(&eigen, f64::sqrt);
    let inverse_root = matrix_function(&eigen, |v| 1.0 / v.sqrt());
    let middle = SymmetricEigen::new(&root * raw * &root);
    let middle_root = matrix_function(&middle, |v| v.max(0.0).sqrt());
    let map = &inverse_root * middle_root * &inverse_root;
    // The map stretches no direction more than MAX_STRETCH, or it is not used.
    let stretch = SymmetricEigen::new(map.clone()).eigenvalues.max();
    (stretch <= MAX_STRETCH).then_some(map)
}

/// `V f(Λ) Vᵀ` of a symmetric eigen-decomposition.
fn matrix_function(
    eigen: &SymmetricEigen<f64, nalgebra::Dyn>,
    f: impl Fn(f64) -> f64,
) -> DMatrix<f64> {
    let values = DMatrix::from_diagonal(&eigen.eigenvalues.map(f));
    &eigen.eigenvectors * values * eigen.eigenvectors.transpose()
}

/// Each column stretched by `√(Σ_X,cc / Σ_G,cc)` (at most [`MAX_STRETCH`]); a column constant
/// over the groups is left alone.
fn diagonal_map(released: &DMatrix<f64>, raw: &DMatrix<f64>) -> DMatrix<f64> {
    let dim = released.nrows();
    DMatrix::from_fn(dim, dim, |i, j| {
        if i != j {
            0.0
        } else if released[(i, i)] > 0.0 {
            (raw[(i, i)] / released[(i, i)])
                .sqrt()
                .clamp(1.0, MAX_STRETCH)
        } else {
            1.0
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Covariance of the points after each is replaced by its group's adjusted mean.
    fn released_covariance(coordinates: &[f64], dim: usize, groups: &[Vec<usize>]) -> Vec<f64> {
        let adjusted = restore_spread(coordinates, dim, groups);
        let mut rows = vec![0.0; coordinates.len()];
        for (g, group) in groups.iter().enumerate() {
            for &i in group {
                rows[i * dim..(i + 1) * dim].copy_from_slice(&adjusted[g * dim..(g + 1) * dim]);
            }
        }
        plain_covariance(&rows, dim)
    }

    /// Population covariance, written out independently of the module's own code.
    fn plain_covariance(rows: &[f64], dim: usize) -> Vec<f64> {
        let n = (rows.len() / dim) as f64;
        let mean: Vec<f64> = (0..dim)
            .map(|c| rows.iter().skip(c).step_by(dim).sum::<f64>() / n)
            .collect();
        let mut out = vec![0.0; dim * dim];
        for row in rows.chunks(dim) {
            for i in 0..dim {
                for j in 0..dim {
                    out[i * dim + j] += (row[i] - mean[i]) * (row[j] - mean[j]) / n;
                }
            }
        }
        out
    }

    /// 40 points on a correlated 2-d cloud, in groups of 4 consecutive points along it; the
    /// wobble off the line is only partly averaged away within a group.
    fn cloud() -> (Vec<f64>, Vec<Vec<usize>>) {
        let mut coordinates = Vec::new();
        for i in 0..40 {
            let t = f64::from(i) / 10.0 - 2.0;
            coordinates.extend([t, 0.8 * t + 0.3 * f64::from(i).sin()]);
        }
        let groups = (0..10).map(|g| (4 * g..4 * g + 4).collect()).collect();
        (coordinates, groups)
    }

    #[test]
    fn restores_the_covariance_of_the_records() {
        let (coordinates, groups) = cloud();
        let before = plain_covariance(&coordinates, 2);
        let after = released_covariance(&coordinates, 2, &groups);
        for (a, b) in after.iter().zip(&before) {
            assert!((a - b).abs() < 1e-9, "{after:?} vs {before:?}");
        }
    }

    #[test]
    fn few_groups_get_their_variances_back_column_by_column() {
        let (coordinates, _) = cloud();
        // Two groups in two dimensions: the full map is not defined, the diagonal one is.
        let groups: Vec<Vec<usize>> = vec![(0..20).collect(), (20..40).collect()];
        let before = plain_covariance(&coordinates, 2);
        let after = released_covariance(&coordinates, 2, &groups);
        assert!((after[0] - before[0]).abs() < 1e-9);
        assert!((after[3] - before[3]).abs() < 1e-9);
    }

    #[test]
    fn one_group_keeps_its_mean() {
        let coordinates = [1.0, 2.0, 3.0, 6.0];
        assert_eq!(
            restore_spread(&coordinates, 1, &[vec![0, 1, 2, 3]]),
            vec![3.0]
        );
    }

    #[test]
    fn the_stretch_is_capped() {
        // Groups whose means barely differ although the records spread widely.
        let coordinates = [-10.0, 10.0, -10.0, 10.1, -10.0, 10.2, -10.0, 10.3];
        let groups: Vec<Vec<usize>> = (0..4).map(|g| vec![2 * g, 2 * g + 1]).collect();
        let adjusted = restore_spread(&coordinates, 1, &groups);
        let means = group_means(&coordinates, 1, &groups);
        let center = means.iter().sum::<f64>() / 4.0;
        for (a, m) in adjusted.iter().zip(&means) {
            assert!(((a - center) - MAX_STRETCH * (m - center)).abs() < 1e-9);
        }
    }
}
