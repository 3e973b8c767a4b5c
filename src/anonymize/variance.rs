//! Spread restoration: each group's mean plus a draw of the spread that averaging removed, with
//! the covariance of that spread pooled across coverage patterns.
//!
//! **Why.** Replacing records by group means keeps the mean but removes the within-group variance:
//! the released spread is the between-group spread only, so standard deviations shrink, tails
//! (P1, P5, P95, P99) move towards the middle and correlations grow (averaging removes the part of
//! each measurement that is independent of the others). Size charts are made of exactly those
//! tails.
//!
//! **Method.** Within a pattern (standardized coordinates), the covariance of the records is the
//! covariance of the group means (each counted once per member) plus the within-group covariance
//! `W` (the law of total variance). Each group releases its mean plus a draw `e_g` of covariance
//! `W`, so the release has the records' covariance — correlations included — however few groups
//! the pattern has. This is microaggregation followed by noise that restores the removed
//! variance, one of the combinations Oganian & Karr measure ("Combinations of SDC methods for
//! microdata protection", PSD 2006), drawn per group rather than per record so that k-anonymity
//! stays exact. A linear map of the means alone needs more groups than columns; most coverage
//! patterns of a real database have fewer, and the column-by-column stretch used for them before
//! kept the means' inflated correlations.
//!
//! - **Pooled within-group covariance.** A pattern of a few groups estimates its own `W` badly (a
//!   pattern of one group of five people gives a rank-four matrix in 30 columns). Its `W` is
//!   therefore shrunk towards the within-group covariance pooled over every group of every
//!   pattern, pair of columns by pair of columns over the patterns that hold both: its
//!   correlations by `λ = ν / (ν + POOL_DEGREES · d)` (`ν` its own degrees of freedom, records −
//!   groups, `d` its columns), negative eigenvalues of the result set to zero. Its variances stay
//!   its own: they are unbiased, so the columns' spread adds up over patterns (pooling them
//!   moved the spread between patterns of tight low-dimensional groups and loose wide ones).
//! - **Every pattern draws.** An earlier version moved the means of patterns with more groups
//!   than columns by the optimal-transport map to the records' covariance (Knott & Smith 1984),
//!   which is deterministic and kept a column's shape better than added noise. But a mapped mean
//!   stays the nearest released row to its own members, and an attacker who knows a whole set
//!   told members from held-out people by that distance (membership AUC 0.74 on the wide sets of
//!   `anonpub sample --users 10000`, 0.62 over every set of the embedded sample), while a draw
//!   of the within-group spread puts the row as far from its members as from a fresh person of
//!   the group (0.57 on both). The shape that the draws blur is given back by the marginal calibration
//!   that follows ([`super::calibrate`]), which replaced the map's advantage. When a pattern has
//!   at least `2d + 2` groups, the draws are made
//!   orthogonal (weighted by group size) to the constant and to the group means, then whitened,
//!   so that its covariance is exactly `Σ_means + W`; smaller patterns get centred draws of
//!   covariance `W` (exact in expectation), which [`super::correlation_fit`] then moves jointly
//!   across patterns until every column pair's correlation is its people's.
//!
//! - **Wider draws for wider groups.** MDAV's groups in the sparse tails are wider than those of
//!   the dense centre; each group's draw is scaled by its own spread relative to the pattern's
//!   (shrunk towards 1, averaging 1), so the tails get their spread and the centre keeps its peak.
//!
//! **Guarantee.** The draw is added to whole groups: every member of a group gets the same
//! released row, so every released row is still identical to the rows of at least k distinct
//! people, and k-anonymity over people holds exactly as before.
//!
//! **What the restoration reads, and why that is safe.** Besides the group means it reads one
//! aggregate of the raw data: the within-group covariance, of the pattern and pooled over all
//! patterns (second moments over hundreds to millions of records), and one scalar per group, its
//! spread, which only sets the size of a draw nobody can predict, shrunk towards the pattern's. Coverage planning makes every
//! pattern hold at least k people and every value is bounded by its plausible range, so one person
//! moves an entry of a pattern's `W` by at most (range / scale)² / n, spread over the whole pattern,
//! and of the pooled `W` by far less. The draws are random: they are seeded by a hash of the
//! pattern's exact group means (so the same input gives the same release, and a pattern whose
//! people or values changed draws anew), which only someone who already holds every set of the
//! pattern can compute. The release is then a group mean plus a draw the attacker cannot predict
//! or average away across re-releases of the same data: it tells no more about any group than its
//! mean, and less about whether a given person is in it (a released row is as far from its members
//! as a fresh person of the group would be). This is not a differential-privacy guarantee and none
//! is claimed: the guarantee of the release stays k-anonymity of its rows.

use nalgebra::{DMatrix, SymmetricEigen};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use sha2::{Digest, Sha256};

/// Weight of the pooled within-group covariance, in degrees of freedom per column of the
/// pattern: a pattern relies on its own estimate once its own degrees of freedom reach ten per
/// column (half and half).
pub const POOL_DEGREES: f64 = 10.0;

/// Degrees of freedom of the prior that a group spreads as its pattern's average group does.
pub const SPREAD_PRIOR: f64 = 8.0;

/// Eigenvalues below this share of the largest count as zero (rank-deficient).
const RANK_TOLERANCE: f64 = 1e-9;

/// Domain separation of the draws' seed.
const SEED_LABEL: &[u8] = b"anonpub/spread-restoration/v1";

/// What restoration needs of one coverage pattern: its group means and within-group covariance.
#[derive(Debug, Clone)]
pub struct PatternMoments {
    /// The pattern's columns, as indices into the table.
    pub columns: Vec<usize>,
    /// Group means, row-major (`columns.len()` values each).
    pub means: Vec<f64>,
    /// Records per group.
    pub sizes: Vec<usize>,
    /// Within-group covariance per record (`Σ_g Σ_i (x_i − m_g)(x_i − m_g)ᵀ / records`),
    /// row-major `d × d`.
    pub within: Vec<f64>,
    /// Per group, its members' mean squared distance to their mean (summed over columns).
    pub spread: Vec<f64>,
}

impl PatternMoments {
    /// The moments of the points `coordinates` (row-major, one value per column of `columns`),
    /// grouped by `groups` (indices into the points).
    pub fn of(coordinates: &[f64], columns: Vec<usize>, groups: &[Vec<usize>]) -> Self {
        let dim = columns.len();
        let mut means = vec![0.0; groups.len() * dim];
        let mut within = vec![0.0; dim * dim];
        let mut offset = vec![0.0; dim];
        let mut spread = vec![0.0; groups.len()];
        for ((mean, group), spread) in means
            .chunks_exact_mut(dim.max(1))
            .zip(groups)
            .zip(&mut spread)
        {
            for &g in group {
                for (m, x) in mean.iter_mut().zip(&coordinates[g * dim..(g + 1) * dim]) {
                    *m += x;
                }
            }
            mean.iter_mut().for_each(|m| *m /= group.len() as f64);
            for &g in group {
                for ((o, x), m) in offset
                    .iter_mut()
                    .zip(&coordinates[g * dim..(g + 1) * dim])
                    .zip(mean.iter())
                {
                    *o = x - m;
                }
                *spread += offset.iter().map(|o| o * o).sum::<f64>() / group.len() as f64;
                for i in 0..dim {
                    for (s, o) in within[i * dim + i..(i + 1) * dim]
                        .iter_mut()
                        .zip(&offset[i..])
                    {
                        *s += offset[i] * o;
                    }
                }
            }
        }
        let records: usize = groups.iter().map(Vec::len).sum();
        for i in 0..dim {
            for j in i..dim {
                let value = within[i * dim + j] / records.max(1) as f64;
                within[i * dim + j] = value;
                within[j * dim + i] = value;
            }
        }
        PatternMoments {
            columns,
            means,
            sizes: groups.iter().map(Vec::len).collect(),
            within,
            spread,
        }
    }

    fn dim(&self) -> usize {
        self.columns.len()
    }

    fn records(&self) -> usize {
        self.sizes.iter().sum()
    }
}

/// The within-group covariance pooled over patterns, pair of columns by pair of columns.
#[derive(Debug, Clone)]
pub struct PooledWithin {
    width: usize,
    /// Per pair (a, b): Σ n·W_ab, Σ n·W_aa, Σ n·W_bb over the patterns holding both.
    sums: Vec<[f64; 3]>,
}

impl PooledWithin {
    /// Pools the within-group covariance of `patterns` over a table of `width` columns.
    pub fn of<'a>(patterns: impl IntoIterator<Item = &'a PatternMoments>, width: usize) -> Self {
        let mut sums = vec![[0.0; 3]; width * width];
        for pattern in patterns {
            let (dim, n) = (pattern.dim(), pattern.records() as f64);
            for (i, &a) in pattern.columns.iter().enumerate() {
                for (j, &b) in pattern.columns.iter().enumerate() {
                    let s = &mut sums[a * width + b];
                    s[0] += n * pattern.within[i * dim + j];
                    s[1] += n * pattern.within[i * dim + i];
                    s[2] += n * pattern.within[j * dim + j];
                }
            }
        }
        PooledWithin { width, sums }
    }

    /// Pooled within-group correlation of columns `a` and `b`.
    fn correlation(&self, a: usize, b: usize) -> f64 {
        if a == b {
            return 1.0;
        }
        let s = self.sums[a * self.width + b];
        let scale = (s[1] * s[2]).sqrt();
        if scale > 0.0 {
            (s[0] / scale).clamp(-1.0, 1.0)
        } else {
            0.0
        }
    }
}

/// The released row of every group of `pattern` (row-major, standardized coordinates): its mean
/// plus a draw of the within-group covariance (see the module documentation).
pub fn restore(pattern: &PatternMoments, pooled: &PooledWithin) -> Vec<f64> {
    let (dim, groups) = (pattern.dim(), pattern.sizes.len());
    if dim == 0 || groups == 0 {
        return pattern.means.clone();
    }
    let target = target_within(pattern, pooled);
    let root = matrix_function(&SymmetricEigen::new(target), |v| v.max(0.0).sqrt());
    let mut rng = ChaCha20Rng::from_seed(seed(pattern));
    let mut draws = DMatrix::from_fn(groups, dim, |_, _| {
        <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng)
    });
    let weights: Vec<f64> = pattern.sizes.iter().map(|&s| s as f64).collect();
    let total: f64 = weights.iter().sum();
    for (g, scale) in group_scales(pattern).into_iter().enumerate() {
        draws.row_mut(g).scale_mut(scale);
    }
    if exact_covariance(pattern) {
        // Orthogonal to the constant and to the centred means, then whitened.
        let mut basis = DMatrix::from_fn(groups, dim + 1, |g, c| {
            if c == 0 {
                1.0
            } else {
                pattern.means[g * dim + c - 1]
            }
        });
        orthonormalize(&mut basis, &weights);
        for c in 0..basis.ncols() {
            let column = basis.column(c).into_owned();
            project_out(&mut draws, &weights, column.as_slice());
        }
        let covariance = weighted_gram(&draws, &weights) / total;
        let eigen = SymmetricEigen::new(covariance);
        let largest = eigen.eigenvalues.max();
        if largest > 0.0 && eigen.eigenvalues.min() > RANK_TOLERANCE * largest {
            draws = &draws * matrix_function(&eigen, |v| 1.0 / v.sqrt());
        }
    } else if groups > 1 {
        // Centred (weighted), and rescaled so that the expected spread stays that of the draw.
        let share = weights.iter().map(|w| w * w).sum::<f64>() / (total * total);
        let rescale = 1.0 / (1.0 - share).sqrt();
        for d in 0..dim {
            let mean = (0..groups).map(|g| weights[g] * draws[(g, d)]).sum::<f64>() / total;
            for g in 0..groups {
                draws[(g, d)] = (draws[(g, d)] - mean) * rescale;
            }
        }
    }
    let noise = draws * root;
    let mut released = pattern.means.clone();
    for g in 0..groups {
        for d in 0..dim {
            released[g * dim + d] += noise[(g, d)];
        }
    }
    released
}

/// Whether [`restore`] gives the pattern's groups its records' covariance exactly: when it has
/// at least `2d + 2` groups (see the module documentation).
pub fn exact_covariance(pattern: &PatternMoments) -> bool {
    pattern.sizes.len() > 2 * pattern.dim() + 1
}

/// Per group, the factor its draw is scaled by: the square root of its own spread relative to
/// the pattern's, shrunk towards 1 by [`SPREAD_PRIOR`] degrees of freedom, normalized so that the
/// factors' squares average 1 over the pattern's records (the pattern's covariance is unchanged).
/// MDAV's groups in the sparse tails of a distribution are wider than those of its dense centre;
/// one covariance for all would spread the centre too much and the tails too little.
fn group_scales(pattern: &PatternMoments) -> Vec<f64> {
    let dim = pattern.dim() as f64;
    let records = pattern.records() as f64;
    let average = pattern
        .spread
        .iter()
        .zip(&pattern.sizes)
        .map(|(s, &n)| s * n as f64)
        .sum::<f64>()
        / records.max(1.0);
    if average <= 0.0 {
        return vec![1.0; pattern.sizes.len()];
    }
    let shrunk: Vec<f64> = pattern
        .spread
        .iter()
        .zip(&pattern.sizes)
        .map(|(s, &n)| {
            let freedom = (n.saturating_sub(1)) as f64 * dim;
            (freedom * s / average + SPREAD_PRIOR) / (freedom + SPREAD_PRIOR)
        })
        .collect();
    let mean = shrunk
        .iter()
        .zip(&pattern.sizes)
        .map(|(r, &n)| r * n as f64)
        .sum::<f64>()
        / records;
    shrunk.iter().map(|r| (r / mean).sqrt()).collect()
}

/// The within-group covariance a pattern's draws get: its own variances (unbiased, so that the
/// columns' spread adds up over patterns), with its own correlations shrunk towards the pooled.
fn target_within(pattern: &PatternMoments, pooled: &PooledWithin) -> DMatrix<f64> {
    let dim = pattern.dim();
    let freedom = pattern.records().saturating_sub(pattern.sizes.len()) as f64;
    let own = freedom / (freedom + POOL_DEGREES * dim as f64);
    let variance: Vec<f64> = (0..dim).map(|i| pattern.within[i * dim + i]).collect();
    DMatrix::from_fn(dim, dim, |i, j| {
        let (a, b) = (pattern.columns[i], pattern.columns[j]);
        let own_scale = (pattern.within[i * dim + i] * pattern.within[j * dim + j]).sqrt();
        let own_correlation = if i == j {
            1.0
        } else if own_scale > 0.0 {
            pattern.within[i * dim + j] / own_scale
        } else {
            0.0
        };
        let correlation = own * own_correlation + (1.0 - own) * pooled.correlation(a, b);
        correlation * (variance[i] * variance[j]).sqrt()
    })
}

/// The seed of a pattern's draws: a hash of its columns and exact group means.
fn seed(pattern: &PatternMoments) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(SEED_LABEL);
    for &c in &pattern.columns {
        hash.update((c as u64).to_le_bytes());
    }
    for (&m, s) in pattern.means.iter().zip(pattern.sizes.iter().cycle()) {
        hash.update(m.to_bits().to_le_bytes());
        hash.update((*s as u64).to_le_bytes());
    }
    hash.finalize().into()
}

/// Removes from every column of `draws` its projection on `column` under the inner product
/// weighted by `weights` (`column` of unit weighted norm, or zero).
///
/// Each projection is the sum over the groups in order, as `Iterator::sum` adds them (from
/// −0.0), so the result is the same to the last bit as one column at a time; four columns are
/// summed side by side, in four registers, so that the processor overlaps their additions
/// instead of waiting for each before the next.
fn project_out(draws: &mut DMatrix<f64>, weights: &[f64], column: &[f64]) {
    let groups = draws.nrows();
    let weighted: Vec<f64> = weights.iter().zip(column).map(|(w, u)| w * u).collect();
    // Column-major: each column of `draws` is `groups` values in a row.
    let mut fours = draws.as_mut_slice().chunks_exact_mut(4 * groups);
    for four in &mut fours {
        let (a, rest) = four.split_at_mut(groups);
        let (b, rest) = rest.split_at_mut(groups);
        let (c, d) = rest.split_at_mut(groups);
        let (mut sa, mut sb, mut sc, mut sd) = (-0.0f64, -0.0f64, -0.0f64, -0.0f64);
        for ((((&w, &xa), &xb), &xc), &xd) in weighted.iter().zip(&*a).zip(&*b).zip(&*c).zip(&*d) {
            sa += w * xa;
            sb += w * xb;
            sc += w * xc;
            sd += w * xd;
        }
        for ((((&u, xa), xb), xc), xd) in column.iter().zip(a).zip(b).zip(c).zip(d) {
            *xa -= sa * u;
            *xb -= sb * u;
            *xc -= sc * u;
            *xd -= sd * u;
        }
    }
    for one in fours.into_remainder().chunks_exact_mut(groups.max(1)) {
        let projection: f64 = weighted.iter().zip(&*one).map(|(w, x)| w * x).sum();
        for (x, &u) in one.iter_mut().zip(column) {
            *x -= projection * u;
        }
    }
}

/// Gram–Schmidt on the columns of `basis` under the inner product weighted by `weights`;
/// a column dependent on the earlier ones becomes zero.
fn orthonormalize(basis: &mut DMatrix<f64>, weights: &[f64]) {
    for c in 0..basis.ncols() {
        for earlier in 0..c {
            let dot: f64 = (0..basis.nrows())
                .map(|g| weights[g] * basis[(g, c)] * basis[(g, earlier)])
                .sum();
            for g in 0..basis.nrows() {
                basis[(g, c)] -= dot * basis[(g, earlier)];
            }
        }
        let norm = (0..basis.nrows())
            .map(|g| weights[g] * basis[(g, c)] * basis[(g, c)])
            .sum::<f64>()
            .sqrt();
        let scale = basis.column(c).amax();
        for g in 0..basis.nrows() {
            basis[(g, c)] = if norm > 1e-9 * scale.max(1.0) {
                basis[(g, c)] / norm
            } else {
                0.0
            };
        }
    }
}

/// `Xᵀ diag(w) X`.
fn weighted_gram(x: &DMatrix<f64>, weights: &[f64]) -> DMatrix<f64> {
    let mut scaled = x.clone();
    for (g, w) in weights.iter().enumerate() {
        scaled.row_mut(g).scale_mut(*w);
    }
    x.transpose() * scaled
}

/// `V f(Λ) Vᵀ` of a symmetric eigen-decomposition.
fn matrix_function(
    eigen: &SymmetricEigen<f64, nalgebra::Dyn>,
    f: impl Fn(f64) -> f64,
) -> DMatrix<f64> {
    let values = DMatrix::from_diagonal(&eigen.eigenvalues.map(f));
    &eigen.eigenvectors * values * eigen.eigenvectors.transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Covariance of the points after each is replaced by its group's released row.
    fn released_covariance(coordinates: &[f64], dim: usize, groups: &[Vec<usize>]) -> Vec<f64> {
        let moments = PatternMoments::of(coordinates, (0..dim).collect(), groups);
        let pooled = PooledWithin::of(std::slice::from_ref(&moments), dim);
        let released = restore(&moments, &pooled);
        let mut rows = vec![0.0; coordinates.len()];
        for (g, group) in groups.iter().enumerate() {
            for &i in group {
                rows[i * dim..(i + 1) * dim].copy_from_slice(&released[g * dim..(g + 1) * dim]);
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

    /// 200 points on a correlated 2-d cloud, in groups of 4 consecutive points along it; the
    /// wobble off the line is only partly averaged away within a group.
    fn cloud(points: usize) -> (Vec<f64>, Vec<Vec<usize>>) {
        let mut coordinates = Vec::new();
        for i in 0..points {
            let t = i as f64 / points as f64 * 4.0 - 2.0;
            coordinates.extend([t, 0.8 * t + 0.3 * (i as f64).sin()]);
        }
        let groups = (0..points / 4)
            .map(|g| (4 * g..4 * g + 4).collect())
            .collect();
        (coordinates, groups)
    }

    #[test]
    fn many_groups_get_the_covariance_of_the_records_exactly() {
        let (coordinates, groups) = cloud(200);
        let before = plain_covariance(&coordinates, 2);
        let after = released_covariance(&coordinates, 2, &groups);
        for (a, b) in after.iter().zip(&before) {
            assert!((a - b).abs() < 1e-9, "{after:?} vs {before:?}");
        }
    }

    #[test]
    fn few_groups_get_the_within_correlation_not_the_means() {
        // Two columns independent within groups, groups along a line: the means alone are
        // perfectly correlated, the records far less. Over many small patterns the draws give
        // the records' correlation back on average.
        let mut released_sum = [0.0; 3];
        let mut raw_sum = [0.0; 3];
        for pattern in 0..2000u32 {
            let coordinates: Vec<f64> = (0..10u32)
                .flat_map(|i| {
                    let t = f64::from(i / 5) - 0.5 + 0.001 * f64::from(pattern);
                    let a = f64::from((i * 7 + pattern) % 5) - 2.0;
                    let b = f64::from((i * 3 + 2 * pattern) % 5) - 2.0;
                    [t + 0.5 * a, t + 0.5 * b]
                })
                .collect();
            let groups = vec![(0..5).collect(), (5..10).collect()];
            let raw = plain_covariance(&coordinates, 2);
            let after = released_covariance(&coordinates, 2, &groups);
            for (s, (r, a)) in raw_sum
                .iter_mut()
                .zip(&mut released_sum)
                .zip([0, 1, 3].map(|i| (raw[i], after[i])))
            {
                *s.0 += r;
                *s.1 += a;
            }
        }
        let correlation = |s: [f64; 3]| s[1] / (s[0] * s[2]).sqrt();
        let (raw, released) = (correlation(raw_sum), correlation(released_sum));
        assert!((raw - released).abs() < 0.1, "{raw} vs {released}");
        assert!(((released_sum[0] / raw_sum[0]) - 1.0).abs() < 0.1);
    }

    #[test]
    fn the_same_pattern_draws_the_same_noise() {
        let (coordinates, _) = cloud(40);
        let groups: Vec<Vec<usize>> = vec![(0..20).collect(), (20..40).collect()];
        let moments = PatternMoments::of(&coordinates, vec![0, 1], &groups);
        let pooled = PooledWithin::of(std::slice::from_ref(&moments), 2);
        assert_eq!(restore(&moments, &pooled), restore(&moments, &pooled));
        let mut moved = coordinates.clone();
        moved[0] += 0.1;
        let other = PatternMoments::of(&moved, vec![0, 1], &groups);
        assert_ne!(restore(&moments, &pooled), restore(&other, &pooled));
    }

    #[test]
    fn one_group_of_identical_records_keeps_its_mean() {
        let coordinates = [3.0, 3.0, 3.0, 3.0];
        let moments = PatternMoments::of(&coordinates, vec![0], &[vec![0, 1, 2, 3]]);
        let pooled = PooledWithin::of(std::slice::from_ref(&moments), 1);
        assert_eq!(restore(&moments, &pooled), vec![3.0]);
    }

    proptest::proptest! {
        /// Projecting four columns side by side gives, to the last bit, what one column at a
        /// time with `Iterator::sum` gives, for any number of columns (and remainder of four).
        #[test]
        fn projections_side_by_side_are_the_plain_ones(
            groups in 1usize..12,
            dim in 1usize..10,
            values in proptest::collection::vec(-10.0f64..10.0, 12 * 10 + 2 * 12),
        ) {
            let draws = DMatrix::from_fn(groups, dim, |g, d| values[g * 10 + d]);
            let weights: Vec<f64> = (0..groups).map(|g| values[120 + g].abs() + 0.5).collect();
            let column: Vec<f64> = (0..groups).map(|g| values[132 + g] / 10.0).collect();
            let mut got = draws.clone();
            project_out(&mut got, &weights, &column);
            let mut plain = draws;
            for d in 0..dim {
                let projection: f64 = (0..groups)
                    .map(|g| weights[g] * column[g] * plain[(g, d)])
                    .sum();
                for g in 0..groups {
                    plain[(g, d)] -= projection * column[g];
                }
            }
            let bits = |m: &DMatrix<f64>| m.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(bits(&got), bits(&plain));
        }
    }
}
