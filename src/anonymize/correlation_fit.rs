//! Correlations fitted across coverage patterns: the restored rows of the patterns too small to
//! carry their own covariance exactly are moved, jointly, until every column pair's
//! pairwise-complete correlation over the released groups is the raw one of the same people.
//!
//! **Why.** Spread restoration ([`super::variance`]) gives a pattern of at least `2d + 2` groups
//! the covariance of its records exactly; a smaller pattern gets a random draw whose covariance
//! is right only in expectation. At a first release's size almost every pattern is small (a few
//! thousand people give some 150 patterns of one or two groups), so a column pair's correlation
//! rests on a few dozen group rows, each carrying its own random draw, and the release's
//! correlations were off by 0.13 from its own people's (0.18 on pairs held by fewer than 100
//! people). A pair's pairwise-complete correlation is a sum over every pattern that holds both
//! columns: what no single small pattern can match, all of them together can.
//!
//! **Method.** The released rows of the small patterns (standardized coordinates) are the
//! variables; the rows of the large patterns, to which restoration already gave their
//! covariance exactly, stay fixed.
//! Conjugate gradients (Polak–Ribière) minimise `Σ_pairs (ρ_ab − T_ab)²`, with `ρ_ab` the
//! pairwise-complete Pearson correlation of the released group rows (each counted once per
//! member) and `T_ab` the raw one of the same records, until the root mean square error over the
//! pairs is below [`TOLERANCE`]. The pairs' sums are quadratic in the length of a step, so the
//! best of a range of lengths is found on them alone, without a pass over the rows. The descent
//! starts from the restoration's draws and keeps them except for the least change the fit needs
//! (descent on an underdetermined least-squares problem ends near its starting point); within a
//! pattern of several groups the moves are centred, so the pattern's column means stay its
//! records' means. The passes over the patterns run in parallel over a fixed split and are
//! added in order, so the same input gives the same rows to the last bit.
//! This is the sufficiency-preserving idea of Burridge ("Information preserving statistical
//! obfuscation", Statistics and Computing 2003) and of Mateo-Sanz, Martínez-Ballesté &
//! Domingo-Ferrer ("Fast generation of accurate synthetic microdata", PSD 2004), which release
//! perturbed values whose means and covariances are exactly the raw ones, extended here to pairs
//! of columns observed on different subsets of the people, where one linear map cannot do it.
//!
//! **Guarantee.** A released row is moved as a whole group: every member of a group keeps the
//! same released row, so every released row is still identical to the rows of at least k
//! distinct people, and k-anonymity over people holds as before.
//!
//! **What it reads, and why that is safe.** It reads no record: only the group means and
//! within-group covariances that restoration already reads, and from them, per column pair, the
//! raw pairwise-complete correlation over every published person who holds both columns (at
//! least one pattern's people, so at least k; a few dozen to millions). Under the strongest
//! attacker of the simulated attacks — one who knows every other person's values — one person
//! moves such a correlation by O(range² / n), bounded by the columns' plausible ranges, and the
//! fit turns these aggregates into moves of whole groups' rows that start from restoration's
//! random draws (seeded as restoration seeds them): a fitted row is a group mean plus a move
//! that depends on the draws and on every pair's correlation, not on any one member's values.
//! It does not bring a row nearer its members: the membership attack (an attacker who knows a
//! whole set and scores the distance to the nearest released row) measured the same AUC with
//! and without the fit (see `BENCHMARKS.md`, *Correlations at a first release's size*). No
//! differential-privacy guarantee is claimed; the release's guarantee stays k-anonymity.

use rayon::prelude::*;

use super::variance::PatternMoments;

/// Iterations of the descent at most.
const MAX_ITERATIONS: usize = 100;

/// The descent stops once the root mean square of the correlation errors over the pairs is
/// below this: a tenth of the sampling error of a correlation over 40,000 people, and far
/// below the 0.01 a correlation table is read to.
const TOLERANCE: f64 = 0.01;

/// Patterns per parallel task when their moments are summed (a fixed split, so that the sums
/// are added in the same order on every run and the release is the same to the last bit).
const PATTERNS_PER_TASK: usize = 64;

/// The largest move of a row coordinate (in standard deviations) the first step length gives.
const FIRST_STEP: f64 = 0.05;

/// Step lengths tried along a direction, as powers of two around the last step.
const STEP_TRIALS: i32 = 24;

/// One coverage pattern's released rows, as the fit sees them.
pub struct FitPattern<'a> {
    /// The pattern's moments (columns, group sizes, raw means and within-group covariance).
    pub moments: &'a PatternMoments,
    /// The restored rows of its groups (row-major, standardized); moved in place unless `fixed`.
    pub rows: &'a mut [f64],
    /// Whether its rows already carry the pattern's covariance exactly and stay as they are.
    pub fixed: bool,
}

/// Per column pair `(a, b)` over the rows holding both: the count, `Σ x_a`, `Σ x_a²` and
/// `Σ x_a x_b` (the sums of `x_b` are at `(b, a)`). Also used for the coefficients of these
/// sums in a step length along a direction (then without counts).
#[derive(Clone)]
struct PairSums {
    width: usize,
    count: Vec<f64>,
    sum: Vec<f64>,
    squares: Vec<f64>,
    products: Vec<f64>,
}

impl PairSums {
    fn new(width: usize) -> Self {
        let cells = width * width;
        PairSums {
            width,
            count: vec![0.0; cells],
            sum: vec![0.0; cells],
            squares: vec![0.0; cells],
            products: vec![0.0; cells],
        }
    }

    /// Adds a pattern's records (`n` of them), given their column sums and their Gram matrix
    /// `Σ x_i x_j` over the pattern's columns.
    fn add(&mut self, columns: &[usize], n: f64, sums: &[f64], gram: &[f64]) {
        let dim = columns.len();
        for (i, &a) in columns.iter().enumerate() {
            for (j, &b) in columns.iter().enumerate() {
                if i == j {
                    continue;
                }
                let cell = a * self.width + b;
                self.count[cell] += n;
                self.sum[cell] += sums[i];
                self.squares[cell] += gram[i * dim + i];
                self.products[cell] += gram[i * dim + j];
            }
        }
    }

    /// Adds `other`, cell by cell.
    fn add_all(&mut self, other: &PairSums) {
        for (mine, theirs) in [
            (&mut self.count, &other.count),
            (&mut self.sum, &other.sum),
            (&mut self.squares, &other.squares),
            (&mut self.products, &other.products),
        ] {
            mine.iter_mut().zip(theirs).for_each(|(m, t)| *m += t);
        }
    }

    /// The sums after a step of length `t`: `self + t·linear + t²·quadratic`.
    fn stepped(&self, t: f64, linear: &PairSums, quadratic: &PairSums) -> PairSums {
        let along = |base: &[f64], l: &[f64], q: &[f64]| -> Vec<f64> {
            (0..base.len())
                .map(|cell| stepped_cell(base, l, q, cell, t))
                .collect()
        };
        PairSums {
            width: self.width,
            count: self.count.clone(),
            sum: along(&self.sum, &linear.sum, &quadratic.sum),
            squares: along(&self.squares, &linear.squares, &quadratic.squares),
            products: along(&self.products, &linear.products, &quadratic.products),
        }
    }

    /// Pairwise-complete mean of `a` over the rows holding `b`, variance of `a` there, and the
    /// correlation of `a` and `b`; `None` where fewer than two rows or a constant side.
    fn pair(&self, a: usize, b: usize) -> Option<PairMoments> {
        let (ab, ba) = (a * self.width + b, b * self.width + a);
        PairMoments::of(
            self.count[ab],
            [self.sum[ab], self.sum[ba]],
            [self.squares[ab], self.squares[ba]],
            self.products[ab],
        )
    }

    /// [`PairSums::pair`] of the sums after a step of length `t` ([`PairSums::stepped`]),
    /// computed for this pair alone: a trial length costs no pass over every cell.
    fn pair_stepped(
        &self,
        (a, b): (usize, usize),
        t: f64,
        linear: &PairSums,
        quadratic: &PairSums,
    ) -> Option<PairMoments> {
        let (ab, ba) = (a * self.width + b, b * self.width + a);
        let sum = |cell| stepped_cell(&self.sum, &linear.sum, &quadratic.sum, cell, t);
        let squares =
            |cell| stepped_cell(&self.squares, &linear.squares, &quadratic.squares, cell, t);
        let products = stepped_cell(&self.products, &linear.products, &quadratic.products, ab, t);
        PairMoments::of(
            self.count[ab],
            [sum(ab), sum(ba)],
            [squares(ab), squares(ba)],
            products,
        )
    }
}

/// One cell of the sums after a step of length `t`: `base + t·linear + t²·quadratic`.
fn stepped_cell(base: &[f64], linear: &[f64], quadratic: &[f64], cell: usize, t: f64) -> f64 {
    base[cell] + t * linear[cell] + t * t * quadratic[cell]
}

/// A column pair's pairwise-complete moments, seen from its first column.
#[derive(Clone, Copy)]
struct PairMoments {
    count: f64,
    mean_a: f64,
    mean_b: f64,
    variance_a: f64,
    scale: f64,
    correlation: f64,
}

impl PairMoments {
    /// The moments from a pair's count `n`, its two columns' sums and sums of squares (first
    /// column first) and the sum of their products; `None` where fewer than two rows or a
    /// constant side.
    fn of(n: f64, sum: [f64; 2], squares: [f64; 2], products: f64) -> Option<Self> {
        if n < 2.0 {
            return None;
        }
        let (mean_a, mean_b) = (sum[0] / n, sum[1] / n);
        let variance_a = squares[0] / n - mean_a * mean_a;
        let variance_b = squares[1] / n - mean_b * mean_b;
        let covariance = products / n - mean_a * mean_b;
        let floor = 1e-12;
        (variance_a > floor && variance_b > floor).then(|| PairMoments {
            count: n,
            mean_a,
            mean_b,
            variance_a,
            scale: (variance_a * variance_b).sqrt(),
            correlation: covariance / (variance_a * variance_b).sqrt(),
        })
    }
}

/// Column sums `Σ w_g x_g` and the matrix `Σ w_g x_g y_gᵀ` (`dim × dim`, row-major) of the rows
/// `x` and `y` (row-major, `dim` columns; `y` is `x` when `None`, and then only half of the
/// symmetric matrix is computed), row `g` weighted by `sizes[g]`.
fn weighted_moments(
    x: &[f64],
    y: Option<&[f64]>,
    sizes: &[usize],
    dim: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut sums = vec![0.0; dim];
    let mut gram = vec![0.0; dim * dim];
    let width = dim.max(1);
    for (g, (x, &size)) in x.chunks_exact(width).zip(sizes).enumerate() {
        let w = size as f64;
        for i in 0..dim {
            sums[i] += w * x[i];
            let wx = w * x[i];
            match y {
                Some(y) => {
                    let y = &y[g * width..(g + 1) * width];
                    for (s, y) in gram[i * dim..(i + 1) * dim].iter_mut().zip(y) {
                        *s += wx * y;
                    }
                }
                None => {
                    for (s, y) in gram[i * dim + i..(i + 1) * dim].iter_mut().zip(&x[i..]) {
                        *s += wx * y;
                    }
                }
            }
        }
    }
    if y.is_none() {
        for i in 0..dim {
            for j in 0..i {
                gram[i * dim + j] = gram[j * dim + i];
            }
        }
    }
    (sums, gram)
}

/// The sums over `patterns` of what `add` adds for each, summed in parallel over a fixed split of
/// the patterns and then in order, so that the result is the same on every run.
fn summed<'p, P: Sync + 'p, const K: usize>(
    patterns: &'p [P],
    width: usize,
    add: impl Fn(&mut [PairSums; K], usize, &'p P) + Sync,
) -> [PairSums; K] {
    let parts: Vec<[PairSums; K]> = patterns
        .par_chunks(PATTERNS_PER_TASK)
        .enumerate()
        .map(|(chunk, part)| {
            let mut sums = std::array::from_fn(|_| PairSums::new(width));
            for (offset, pattern) in part.iter().enumerate() {
                add(&mut sums, chunk * PATTERNS_PER_TASK + offset, pattern);
            }
            sums
        })
        .collect();
    let mut total = std::array::from_fn(|_| PairSums::new(width));
    for part in &parts {
        for (t, p) in total.iter_mut().zip(part) {
            t.add_all(p);
        }
    }
    total
}

/// Moves the rows of the patterns that are not `fixed` so that every column pair's
/// pairwise-complete correlation over the released rows of all `patterns` is the raw one of the
/// same records (see the module documentation). `width` is the table's number of columns.
pub fn fit_correlations(patterns: &mut [FitPattern<'_>], width: usize) {
    if patterns.iter().all(|p| p.fixed) || width < 2 {
        return;
    }
    let [raw] = summed(patterns, width, |[sums], _, p| {
        let m = p.moments;
        let dim = m.columns.len();
        let (column_sums, mut gram) = weighted_moments(&m.means, None, &m.sizes, dim);
        let n = m.sizes.iter().sum::<usize>() as f64;
        for (g, w) in gram.iter_mut().zip(&m.within) {
            *g += n * w;
        }
        sums.add(&m.columns, n, &column_sums, &gram);
    });
    let pairs: Vec<(usize, usize, f64)> = (0..width)
        .flat_map(|a| (a + 1..width).map(move |b| (a, b)))
        .filter_map(|(a, b)| raw.pair(a, b).map(|m| (a, b, m.correlation)))
        .collect();
    if pairs.is_empty() {
        return;
    }
    let mut target = vec![f64::NAN; width * width];
    for &(a, b, t) in &pairs {
        target[a * width + b] = t;
        target[b * width + a] = t;
    }
    let loss = |pair: &dyn Fn(usize, usize) -> Option<PairMoments>| -> f64 {
        pairs
            .iter()
            .map(|&(a, b, t)| match pair(a, b) {
                Some(m) => (m.correlation - t).powi(2),
                None => t * t,
            })
            .sum()
    };
    let enough = TOLERANCE * TOLERANCE * pairs.len() as f64;
    let [mut sums] = summed(patterns, width, |[sums], _, p| {
        let m = p.moments;
        let (column_sums, gram) = weighted_moments(p.rows, None, &m.sizes, m.columns.len());
        sums.add(
            &m.columns,
            m.sizes.iter().sum::<usize>() as f64,
            &column_sums,
            &gram,
        );
    });
    let mut current = loss(&|a, b| sums.pair(a, b));
    // Polak–Ribière conjugate gradients in the metric of the group sizes, each step the best of a
    // range of lengths along the direction: the released sums are quadratic in the step, so a
    // length is tried on the pairs' sums alone, without a pass over the rows.
    let mut step = f64::NAN;
    let mut previous: Option<(Vec<Vec<f64>>, f64)> = None;
    let mut direction: Vec<Vec<f64>> = Vec::new();
    for _ in 0..MAX_ITERATIONS {
        if current <= enough {
            break;
        }
        let steepest = steepest_descent(patterns, &sums, &target, width);
        let norm = metric_dot(patterns, &steepest, &steepest);
        if norm <= 0.0 {
            break;
        }
        let beta = match &previous {
            Some((old, old_norm)) if *old_norm > 0.0 => {
                ((norm - metric_dot(patterns, &steepest, old)) / old_norm).max(0.0)
            }
            _ => 0.0,
        };
        direction = if beta > 0.0 && !direction.is_empty() {
            steepest
                .iter()
                .zip(&direction)
                .map(|(s, d)| s.iter().zip(d).map(|(s, d)| s + beta * d).collect())
                .collect()
        } else {
            steepest.clone()
        };
        if metric_dot(patterns, &direction, &steepest) <= 0.0 {
            direction = steepest.clone();
        }
        previous = Some((steepest, norm));
        if step.is_nan() {
            let largest = direction
                .iter()
                .flatten()
                .fold(0.0f64, |m, d| m.max(d.abs()));
            step = FIRST_STEP / largest.max(f64::MIN_POSITIVE);
        }
        let (linear, quadratic) = along(patterns, &direction, width);
        let best = (-STEP_TRIALS..=STEP_TRIALS / 2)
            .map(|e| step * 2f64.powf(f64::from(e) / 2.0))
            .map(|t| {
                let pair = |a, b| sums.pair_stepped((a, b), t, &linear, &quadratic);
                (loss(&pair), t)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let Some((trial, t)) = best.filter(|&(trial, _)| trial < current) else {
            break;
        };
        for (pattern, d) in patterns.iter_mut().zip(&direction) {
            for (r, d) in pattern.rows.iter_mut().zip(d) {
                *r += t * d;
            }
        }
        sums = sums.stepped(t, &linear, &quadratic);
        (current, step) = (trial, t);
    }
}

/// The coefficients of the released pair sums in the length `t` of a step along `direction`:
/// `Σ w (x + t d)(y + t d') = Σ w x y + t Σ w (x d' + d y) + t² Σ w d d'`.
fn along(
    patterns: &[FitPattern<'_>],
    direction: &[Vec<f64>],
    width: usize,
) -> (PairSums, PairSums) {
    let [linear, quadratic] = summed(patterns, width, |[linear, quadratic], index, p| {
        let d = &direction[index];
        if d.is_empty() {
            return;
        }
        let dim = p.moments.columns.len();
        let (column_sums, cross) = weighted_moments(d, Some(p.rows), &p.moments.sizes, dim);
        let symmetric: Vec<f64> = (0..dim * dim)
            .map(|c| cross[c] + cross[(c % dim) * dim + c / dim])
            .collect();
        linear.add(&p.moments.columns, 0.0, &column_sums, &symmetric);
        let (_, gram) = weighted_moments(d, None, &p.moments.sizes, dim);
        quadratic.add(&p.moments.columns, 0.0, &vec![0.0; dim], &gram);
    });
    (linear, quadratic)
}

/// `Σ_g n_g x_g · y_g` over the rows of the patterns that move.
fn metric_dot(patterns: &[FitPattern<'_>], x: &[Vec<f64>], y: &[Vec<f64>]) -> f64 {
    patterns
        .iter()
        .zip(x.iter().zip(y))
        .filter(|(_, (x, _))| !x.is_empty())
        .map(|(p, (x, y))| {
            let dim = p.moments.columns.len();
            x.chunks_exact(dim)
                .zip(y.chunks_exact(dim))
                .zip(&p.moments.sizes)
                .map(|((x, y), &n)| n as f64 * x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>())
                .sum::<f64>()
        })
        .sum()
}

/// Minus the gradient of the loss, per row divided by its group's size (steepest descent in the
/// metric that counts a group once per member), centred within a pattern of several groups so
/// that its column means stay; empty for fixed patterns.
fn steepest_descent(
    patterns: &[FitPattern<'_>],
    sums: &PairSums,
    target: &[f64],
    width: usize,
) -> Vec<Vec<f64>> {
    let mut moments = vec![None; width * width];
    for a in 0..width {
        for b in 0..width {
            if a != b && !target[a * width + b].is_nan() {
                moments[a * width + b] = sums.pair(a, b);
            }
        }
    }
    patterns
        .par_iter()
        .map(|pattern| {
            let columns = &pattern.moments.columns;
            let dim = columns.len();
            if pattern.fixed || dim == 0 {
                return Vec::new();
            }
            // The gradient of row g, over n_g: Σ_j c_ij x_gj − x_gi e_i − o_i, from
            // ∂ρ_ab/∂x_ga = (n_g / n)((x_gb − μ_b) / (σ_a σ_b) − ρ_ab (x_ga − μ_a) / σ_a²).
            let mut c = vec![0.0; dim * dim];
            let mut e = vec![0.0; dim];
            let mut o = vec![0.0; dim];
            for (i, &a) in columns.iter().enumerate() {
                for (j, &b) in columns.iter().enumerate() {
                    let Some(m) = moments[a * width + b] else {
                        continue;
                    };
                    let residual = 2.0 * (m.correlation - target[a * width + b]) / m.count;
                    let cross = residual / m.scale;
                    let own = residual * m.correlation / m.variance_a;
                    c[i * dim + j] = cross;
                    e[i] += own;
                    o[i] += cross * m.mean_b - own * m.mean_a;
                }
            }
            let mut direction = vec![0.0; pattern.rows.len()];
            for (row, out) in pattern
                .rows
                .chunks_exact(dim)
                .zip(direction.chunks_exact_mut(dim))
            {
                for (i, out) in out.iter_mut().enumerate() {
                    let cross: f64 = (0..dim).map(|j| c[i * dim + j] * row[j]).sum();
                    *out = -(cross - row[i] * e[i] - o[i]);
                }
            }
            let sizes = &pattern.moments.sizes;
            if sizes.len() > 1 {
                let total = sizes.iter().sum::<usize>() as f64;
                for i in 0..dim {
                    let mean = direction
                        .iter()
                        .skip(i)
                        .step_by(dim)
                        .zip(sizes)
                        .map(|(d, &n)| d * n as f64)
                        .sum::<f64>()
                        / total;
                    direction
                        .iter_mut()
                        .skip(i)
                        .step_by(dim)
                        .for_each(|d| *d -= mean);
                }
            }
            direction
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pearson correlation of columns `a` and `b` over the rows holding both, every row of
    /// `rows` (one per record) counted once; written out independently of the module's sums.
    fn pairwise_correlation(rows: &[Vec<f64>], a: usize, b: usize) -> f64 {
        let both: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| !r[a].is_nan() && !r[b].is_nan())
            .map(|r| (r[a], r[b]))
            .collect();
        let n = both.len() as f64;
        let (mx, my) = (
            both.iter().map(|p| p.0).sum::<f64>() / n,
            both.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = both.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = both.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let syy: f64 = both.iter().map(|p| (p.1 - my).powi(2)).sum();
        sxy / (sxx * syy).sqrt()
    }

    /// A fixed pseudo-random sequence in [−1, 1).
    fn noise(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// Small patterns over four correlated columns: each holds a different subset of them, one
    /// to three groups of five records. Returns the patterns' raw records (NaN = not held, one
    /// row per record, pattern by pattern and group by group), their moments, and rows that
    /// are the group means plus an independent wobble (correlations off, as a small pattern's
    /// draws leave them).
    fn small_patterns() -> (Vec<Vec<f64>>, Vec<PatternMoments>, Vec<Vec<f64>>) {
        let subsets: [&[usize]; 6] = [
            &[0, 1, 2, 3],
            &[0, 1],
            &[1, 2, 3],
            &[0, 2, 3],
            &[0, 1, 3],
            &[2, 3],
        ];
        let mut state = 7;
        let (mut records, mut moments, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for (p, columns) in subsets.iter().cycle().take(30).enumerate() {
            let groups = 1 + p % 3;
            let mut coordinates = Vec::new();
            for _ in 0..groups * 5 {
                let size = noise(&mut state);
                let full = [
                    size + 0.3 * noise(&mut state),
                    0.8 * size + 0.5 * noise(&mut state),
                    -0.5 * size + 0.6 * noise(&mut state),
                    0.2 * size + noise(&mut state),
                ];
                let mut record = vec![f64::NAN; 4];
                for &c in columns.iter() {
                    record[c] = full[c];
                    coordinates.push(full[c]);
                }
                records.push(record);
            }
            let members: Vec<Vec<usize>> =
                (0..groups).map(|g| (5 * g..5 * g + 5).collect()).collect();
            let m = PatternMoments::of(&coordinates, columns.to_vec(), &members);
            let wobbled: Vec<f64> = m
                .means
                .iter()
                .map(|x| x + 0.7 * noise(&mut state))
                .collect();
            moments.push(m);
            rows.push(wobbled);
        }
        (records, moments, rows)
    }

    /// Every record replaced by its group's row.
    fn released_records(moments: &[PatternMoments], rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let mut out = Vec::new();
        for (m, rows) in moments.iter().zip(rows) {
            let dim = m.columns.len();
            for (g, &n) in m.sizes.iter().enumerate() {
                let mut record = vec![f64::NAN; 4];
                for (i, &c) in m.columns.iter().enumerate() {
                    record[c] = rows[g * dim + i];
                }
                out.extend(std::iter::repeat_n(record, n));
            }
        }
        out
    }

    fn fit(moments: &[PatternMoments], rows: &mut [Vec<f64>], fixed: &[bool]) {
        let mut patterns: Vec<FitPattern<'_>> = moments
            .iter()
            .zip(rows.iter_mut())
            .zip(fixed)
            .map(|((moments, rows), &fixed)| FitPattern {
                moments,
                rows,
                fixed,
            })
            .collect();
        fit_correlations(&mut patterns, 4);
    }

    #[test]
    fn the_released_pairwise_correlations_become_the_raw_ones() {
        let (records, moments, mut rows) = small_patterns();
        let error = |rows: &[Vec<f64>]| {
            let released = released_records(&moments, rows);
            let mut errors = Vec::new();
            for a in 0..4 {
                for b in a + 1..4 {
                    errors.push(
                        (pairwise_correlation(&released, a, b)
                            - pairwise_correlation(&records, a, b))
                        .abs(),
                    );
                }
            }
            errors.into_iter().fold(0.0f64, f64::max)
        };
        let before = error(&rows);
        fit(&moments, &mut rows, &[false; 30]);
        let after = error(&rows);
        assert!(
            before > 0.05,
            "the wobble should put the correlations off: {before}"
        );
        assert!(after < 2.0 * TOLERANCE, "{before} -> {after}");
    }

    #[test]
    fn a_pattern_of_several_groups_keeps_its_column_means_and_fixed_ones_do_not_move() {
        let (_, moments, mut rows) = small_patterns();
        let fixed: Vec<bool> = (0..30).map(|p| p % 5 == 0).collect();
        let before = rows.clone();
        fit(&moments, &mut rows, &fixed);
        assert_ne!(rows, before);
        for ((m, (now, was)), &fixed) in moments.iter().zip(rows.iter().zip(&before)).zip(&fixed) {
            if fixed {
                assert_eq!(now, was);
                continue;
            }
            if m.sizes.len() < 2 {
                continue;
            }
            let dim = m.columns.len();
            for i in 0..dim {
                let mean = |r: &[f64]| r.iter().skip(i).step_by(dim).sum::<f64>();
                assert!((mean(now) - mean(was)).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn the_same_input_gives_the_same_rows() {
        let (_, moments, rows) = small_patterns();
        let (mut first, mut second) = (rows.clone(), rows);
        fit(&moments, &mut first, &[false; 30]);
        fit(&moments, &mut second, &[false; 30]);
        let bits = |r: &[Vec<f64>]| r.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&first), bits(&second));
    }

    #[test]
    fn nothing_to_fit_leaves_the_rows_alone() {
        // One column (no pair), one record per pattern, identical records (no variance).
        for coordinates in [vec![1.0, 2.0, 3.0], vec![5.0, 5.0, 5.0, 5.0, 5.0, 5.0]] {
            let dim = coordinates.len() / 3;
            let m = PatternMoments::of(&coordinates, (0..dim).collect(), &[vec![0, 1, 2]]);
            let mut rows = m.means.clone();
            let mut patterns = [FitPattern {
                moments: &m,
                rows: &mut rows,
                fixed: false,
            }];
            fit_correlations(&mut patterns, dim.max(2));
            assert_eq!(rows, m.means);
        }
    }
}
