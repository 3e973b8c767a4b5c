//! One quantile by the exponential mechanism over a fixed public grid.
//!
//! **Guarantee.** The candidates are the points of a public grid (the measurement's plausible range
//! at 1 mm), fixed before the data are seen, so the set of possible outputs reveals nothing. The
//! utility of a grid point `x` for the level `q` is minus the distance from `q·n` to the interval
//! `[L(x), U(x)] = [#{v < x}, #{v ≤ x}]` of ranks that `x` covers among the n clamped values (0
//! when `x` is a q-quantile). Adding a person changes `L` and `U` by 0 or +1 each and `q·n` by
//! `+q`, so each end of the interval moves by `1 - q` or `-q` relative to `q·n`, and the distance by
//! at most `max(q, 1 - q) ≤ 1` (removing a person is the same in reverse): sensitivity 1. Choosing `x` with probability
//! `∝ exp(ε·u(x)/2)` is ε-DP (McSherry & Talwar 2007), and, as every exponential mechanism is
//! ε-bounded range, also ε²/8-zCDP (Cesar & Rogers 2021), which is how [`super::budget`] counts
//! it. Quantiles by this mechanism: Smith (2011); the fixed grid instead of data-dependent
//! intervals follows Gillenwater et al. (2021), whose JointExp draws several quantiles at once.
//! Here each level has its own draw: under zCDP the m draws cost `m·ε²/8`, so each draw's ε
//! shrinks only as √m, and the size chart's accuracy targets are met this way (BENCHMARKS.md);
//! JointExp was not needed and is not implemented.
//!
//! **Accuracy.** Where many people share each grid step, the rank error is close to a Laplace
//! variable of scale `2/ε` ([`rank_error95`]); whatever the data, it exceeds
//! `2(ln G + t)/ε` with probability at most `e^-t` (McSherry & Talwar's utility theorem).
//!
//! **Sampling, exact.** A grid point is proposed uniformly and accepted with probability
//! `exp(-ε(D(x) - D_min)/200)`, with `D = 100·distance` an integer (the mechanism's weight relative to the best point, drawn with the
//! exact [`bernoulli_exp_minus`]); accepted points have exactly the mechanism's distribution.
//! Run time depends on the data (more proposals where the data are spread out); it is only shown
//! to the data holder.

use num_bigint::BigUint;
use rand::{CryptoRng, Rng, RngCore};

use super::exact::{bernoulli_exp_minus, Fraction};

/// A public grid: point `i` (0 ≤ i < `points`) stands for `lower + i·step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// The value of grid point 0.
    pub lower: f64,
    /// The distance between neighbouring grid points.
    pub step: f64,
    /// The number of grid points, the candidates of the exponential mechanism.
    pub points: usize,
}

impl Grid {
    /// The grid from `lower` to (at least) `upper` in steps of `step`.
    pub fn new(lower: f64, upper: f64, step: f64) -> Self {
        let points = ((upper - lower) / step - 1e-9).ceil().max(0.0) as usize + 1;
        Grid {
            lower,
            step,
            points,
        }
    }

    /// The grid point nearest to a value clamped into the grid's range: the value as the
    /// mechanisms see it. Clamping to public bounds is what bounds one person's influence.
    pub fn index_of(&self, value: f64) -> usize {
        let position = ((value - self.lower) / self.step).round();
        position.clamp(0.0, (self.points - 1) as f64) as usize
    }

    /// The value grid point `index` stands for.
    pub fn value(&self, index: usize) -> f64 {
        self.lower + index as f64 * self.step
    }

    /// People per grid point, the private histogram every figure of a measurement is built from.
    pub fn histogram(&self, indices: &[usize]) -> Vec<u64> {
        let mut counts = vec![0u64; self.points];
        for &i in indices {
            counts[i] += 1;
        }
        counts
    }
}

/// The percentile `percent` (1‥99) of the people counted in `histogram`, as a grid index, by the
/// ε-DP exponential mechanism. `epsilon` must be positive.
pub fn exponential_quantile<R: RngCore + CryptoRng>(
    histogram: &[u64],
    percent: u32,
    epsilon: &Fraction,
    rng: &mut R,
) -> usize {
    assert!((1..100).contains(&percent), "percentiles lie in 1‥99");
    let distances = rank_distances(histogram, percent);
    let best = *distances.iter().min().expect("the grid has points");
    // Weight relative to the best point: the mechanism weighs exp(ε·u/2) with u = -D/100.
    let scale = &epsilon.den * 200u32;
    loop {
        let candidate = rng.gen_range(0..distances.len());
        let excess = BigUint::from(distances[candidate] - best);
        if bernoulli_exp_minus(&Fraction::new(&epsilon.num * excess, scale.clone()), rng) {
            return candidate;
        }
    }
}

/// `D(x)` for every grid point: 100 × the distance from `q·n` to the ranks `[L(x), U(x)]` that
/// `x` covers, an integer (`q·n·100 = percent·n`). Minus `D/100` is the mechanism's utility,
/// whose sensitivity the module documentation argues (and a property test checks).
fn rank_distances(histogram: &[u64], percent: u32) -> Vec<u128> {
    let n: u64 = histogram.iter().sum();
    let target = u128::from(percent) * u128::from(n);
    let mut below = 0u128;
    histogram
        .iter()
        .map(|&count| {
            let (low, high) = (below * 100, (below + u128::from(count)) * 100);
            below += u128::from(count);
            low.saturating_sub(target).max(target.saturating_sub(high))
        })
        .collect()
}

/// The rank error that the mechanism stays within in 95 % of draws, where many people share each
/// grid step: a Laplace variable of scale 2/ε exceeds `2 ln(20)/ε` with probability 5 %.
pub fn rank_error95(epsilon: f64) -> f64 {
    2.0 * 20f64.ln() / epsilon
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dp::exact::tests::test_rng;
    use proptest::prelude::*;

    proptest! {
        /// The utility, checked against its definition on the raw values (not the histogram
        /// arithmetic), changes by at most 1 person when one person is added anywhere.
        #[test]
        fn utility_matches_its_definition_and_has_sensitivity_one(
            values in proptest::collection::vec(0usize..30, 0..60),
            added in 0usize..30,
            percent in 1u32..100,
        ) {
            let grid = Grid { lower: 0.0, step: 1.0, points: 30 };
            let mut neighbour = values.clone();
            neighbour.push(added);
            let before = rank_distances(&grid.histogram(&values), percent);
            let after = rank_distances(&grid.histogram(&neighbour), percent);
            for x in 0..30 {
                let n = values.len() as f64;
                let at_or_below = values.iter().filter(|&&v| v <= x).count() as f64;
                let below = values.iter().filter(|&&v| v < x).count() as f64;
                let q_n = f64::from(percent) / 100.0 * n;
                let distance = (below - q_n).max(q_n - at_or_below).max(0.0);
                prop_assert!((before[x] as f64 / 100.0 - distance).abs() < 1e-9);
                prop_assert!(before[x].abs_diff(after[x]) <= 100, "x = {x}");
            }
        }
    }

    #[test]
    fn grid_clamps_and_rounds_to_its_points() {
        let grid = Grid::new(533.0, 1974.0, 1.0);
        assert_eq!(grid.points, 1442);
        assert_eq!(grid.index_of(100.0), 0);
        assert_eq!(grid.index_of(533.4), 0);
        assert_eq!(grid.index_of(533.6), 1);
        assert_eq!(grid.index_of(5000.0), 1441);
        assert_eq!(grid.value(1441), 1974.0);
        assert_eq!(Grid::new(0.0, 45.0, 0.5).points, 91);
    }

    #[test]
    fn the_median_of_dense_data_lands_near_the_true_median() {
        // 10 000 people spread evenly over grid points 0..1000: 10 per point, median at 500.
        let mut histogram = vec![0u64; 1500];
        for count in &mut histogram[..1000] {
            *count = 10;
        }
        let mut rng = test_rng();
        let epsilon = Fraction::from_f64(0.05).unwrap();
        let errors: Vec<i64> = (0..200)
            .map(|_| exponential_quantile(&histogram, 50, &epsilon, &mut rng) as i64 - 500)
            .collect();
        // Rank error within 2·ln(20)/ε ≈ 120 people = 12 grid points in ~95 % of draws.
        let within = errors.iter().filter(|e| e.abs() <= 12).count();
        assert!(
            within >= 180,
            "{within} of 200 within 12 points: {errors:?}"
        );
        assert!(errors.iter().all(|e| e.abs() < 60));
    }

    #[test]
    fn a_huge_epsilon_returns_the_exact_percentile() {
        let mut histogram = vec![0u64; 100];
        histogram[10] = 5;
        histogram[20] = 90;
        histogram[30] = 5;
        let mut rng = test_rng();
        let epsilon = Fraction::new(1000u32, 1u32);
        assert_eq!(exponential_quantile(&histogram, 50, &epsilon, &mut rng), 20);
        assert_eq!(exponential_quantile(&histogram, 1, &epsilon, &mut rng), 10);
        assert_eq!(exponential_quantile(&histogram, 99, &epsilon, &mut rng), 30);
    }

    #[test]
    fn an_empty_histogram_gives_a_uniform_point() {
        let histogram = vec![0u64; 10];
        let mut rng = test_rng();
        let epsilon = Fraction::new(1u32, 1u32);
        let mut seen = [false; 10];
        for _ in 0..200 {
            seen[exponential_quantile(&histogram, 50, &epsilon, &mut rng)] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
