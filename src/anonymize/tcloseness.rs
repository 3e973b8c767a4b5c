//! t-closeness: the distribution of the sensitive attribute in every published equivalence class is
//! within distance `t` of its distribution in the whole table, so that a class reveals little more
//! about a sensitive value than the table as a whole does.
//!
//! **Follows** Li, Li & Venkatasubramanian (2007), "t-Closeness: Privacy beyond k-anonymity and
//! ℓ-diversity" (ICDE), with the Earth Mover's Distance over two ground distances:
//!
//! - *equal distance* (categorical values): every two values are 1 apart, and the EMD is the
//!   variational distance `½ Σᵢ |pᵢ − qᵢ|`;
//! - *ordered distance* (numeric values): values `v₁ < … < v_m` are `|i − j| / (m − 1)` apart, and
//!   the EMD is `Σᵢ |Σ_{j≤i} (pⱼ − qⱼ)| / (m − 1)`.
//!
//! `p` is the class's distribution and `q` the distribution over every record given to
//! [`TCloseness::new`] (the whole input table, suppressed records included, as in ARX).
//!
//! **Guarantee.** A class is accepted exactly when its distance is at most `t` (up to 1e-12 of
//! floating-point slack); every published class of a method that enforces it satisfies t-closeness.
//!
//! **Preconditions**, checked by [`TCloseness::new`]: `0 ≤ t ≤ 1`; for the ordered distance the codes
//! are ranks (`0..m`, increasing with the value), for the equal distance any dense codes.
//!
//! **Monotonicity.** Not claimed: a class containing a t-close class can be far from the table
//! (add many records of one value), so the lattice search prunes by `k` alone.

use serde::Serialize;

use super::model::ClassConstraint;

/// Slack for the comparison with `t`, which sums many fractions.
const TOLERANCE: f64 = 1e-12;

/// The ground distance between sensitive values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroundDistance {
    /// Categorical: all values equally far apart.
    Equal,
    /// Numeric: values are ranked and the distance grows with the rank difference.
    Ordered,
}

/// Why a t-closeness model cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TClosenessError {
    /// t is not in [0, 1].
    #[error("t must be a number between 0 and 1")]
    InvalidT,
}

/// t-closeness over one sensitive attribute, as a per-class constraint.
#[derive(Debug, Clone)]
pub struct TCloseness {
    /// Code of each record's sensitive value.
    codes: Vec<u32>,
    t: f64,
    distance: GroundDistance,
    /// Share of each code in the whole table.
    table_shares: Vec<f64>,
    /// `table_cumulative[i]`: share of codes ≤ i.
    table_cumulative: Vec<f64>,
    /// `cumulative_prefix[i]`: Σ_{j<i} table_cumulative[j].
    cumulative_prefix: Vec<f64>,
}

/// Checks `t` before any data is read: a distance between distributions lies in [0, 1].
pub fn validate(t: f64) -> Result<(), TClosenessError> {
    if (0.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(TClosenessError::InvalidT)
    }
}

/// The model's entry in the `anonymize` report.
#[derive(Debug, Clone, Serialize)]
pub struct TClosenessReport {
    /// The `t` enforced.
    pub t: f64,
    /// Ground distance per sensitive column: `equal` (text) or `ordered` (numeric).
    pub distances: Vec<(String, &'static str)>,
}

impl GroundDistance {
    /// The distance's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            GroundDistance::Equal => "equal",
            GroundDistance::Ordered => "ordered",
        }
    }
}

impl TCloseness {
    /// `codes[record]` is the record's sensitive value; `t` the largest allowed distance
    /// (checked by [`validate`]).
    pub fn new(codes: Vec<u32>, t: f64, distance: GroundDistance) -> Result<Self, TClosenessError> {
        validate(t)?;
        let values = codes.iter().max().map_or(0, |&max| max as usize + 1);
        let mut counts = vec![0usize; values];
        for &code in &codes {
            counts[code as usize] += 1;
        }
        let total = codes.len().max(1) as f64;
        let table_shares: Vec<f64> = counts.iter().map(|&c| c as f64 / total).collect();
        let table_cumulative: Vec<f64> = table_shares
            .iter()
            .scan(0.0, |sum, share| {
                *sum += share;
                Some(*sum)
            })
            .collect();
        let mut cumulative_prefix = Vec::with_capacity(values + 1);
        cumulative_prefix.push(0.0);
        for (index, cumulative) in table_cumulative.iter().enumerate() {
            cumulative_prefix.push(cumulative_prefix[index] + cumulative);
        }
        Ok(Self {
            codes,
            t,
            distance,
            table_shares,
            table_cumulative,
            cumulative_prefix,
        })
    }

    /// The class's distinct codes (ascending) with their counts.
    fn class_counts(&self, records: &[usize]) -> Vec<(u32, usize)> {
        let mut codes: Vec<u32> = records.iter().map(|&r| self.codes[r]).collect();
        codes.sort_unstable();
        codes
            .chunk_by(|a, b| a == b)
            .map(|run| (run[0], run.len()))
            .collect()
    }

    /// Earth Mover's Distance between the class and the table.
    pub fn distance(&self, records: &[usize]) -> f64 {
        let counts = self.class_counts(records);
        let size = records.len() as f64;
        match self.distance {
            GroundDistance::Equal => {
                // Values absent from the class contribute their table share; start from all of
                // them and correct for the values present.
                let present: f64 = counts
                    .iter()
                    .map(|&(code, count)| {
                        let share = self.table_shares[code as usize];
                        (count as f64 / size - share).abs() - share
                    })
                    .sum();
                ((1.0 + present) / 2.0).max(0.0)
            }
            GroundDistance::Ordered => {
                let values = self.table_shares.len();
                if values < 2 {
                    return 0.0;
                }
                // The class's cumulative share is a step function of the rank: constant between
                // the class's own codes. Sum |class − table| over each constant stretch at once.
                let mut total = 0.0;
                let mut start = 0;
                let mut class_cumulative = 0.0;
                for &(code, count) in &counts {
                    total += self.stretch(class_cumulative, start, code as usize);
                    class_cumulative += count as f64 / size;
                    start = code as usize;
                }
                total += self.stretch(class_cumulative, start, values);
                total / (values - 1) as f64
            }
        }
    }

    /// Σ_{start ≤ i < end} |level − table_cumulative[i]|, using that the table's cumulative
    /// shares increase.
    fn stretch(&self, level: f64, start: usize, end: usize) -> f64 {
        if start >= end {
            return 0.0;
        }
        let cross = start + self.table_cumulative[start..end].partition_point(|&c| c <= level);
        let prefix = &self.cumulative_prefix;
        level * (cross - start) as f64 - (prefix[cross] - prefix[start])
            + (prefix[end] - prefix[cross])
            - level * (end - cross) as f64
    }
}

impl ClassConstraint for TCloseness {
    fn accepts(&self, records: &[usize]) -> bool {
        self.distance(records) <= self.t + TOLERANCE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The ordered EMD straight from its definition, for comparison.
    fn ordered_by_definition(codes: &[u32], records: &[usize], values: usize) -> f64 {
        let mut class = vec![0.0; values];
        let mut table = vec![0.0; values];
        for &code in codes {
            table[code as usize] += 1.0 / codes.len() as f64;
        }
        for &r in records {
            class[codes[r] as usize] += 1.0 / records.len() as f64;
        }
        let mut running = 0.0;
        let mut total = 0.0;
        for i in 0..values {
            running += class[i] - table[i];
            total += f64::abs(running);
        }
        total / (values - 1) as f64
    }

    #[test]
    fn equal_distance_is_half_the_l1_distance() {
        // Table: 0,0,1,2 → q = (½, ¼, ¼). Class {0,1}: p = (1, 0, 0).
        let model = TCloseness::new(vec![0, 0, 1, 2], 0.5, GroundDistance::Equal).unwrap();
        assert!((model.distance(&[0, 1]) - 0.5).abs() < 1e-12);
        assert!(model.accepts(&[0, 1]));
        assert!(model.distance(&[0, 1, 2, 3]).abs() < 1e-12);
        // Class {1, 2}: p = (½, 0, ½) vs (½, ¼, ¼) → ½(0 + ¼ + ¼).
        assert!((model.distance(&[1, 3]) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn ordered_distance_matches_the_paper_example() {
        // Li et al.: salaries 3k..11k, one each; class {3k,4k,5k} is at 0.375.
        let codes: Vec<u32> = (0..9).collect();
        let model = TCloseness::new(codes, 0.3, GroundDistance::Ordered).unwrap();
        assert!((model.distance(&[0, 1, 2]) - 0.375).abs() < 1e-12);
        assert!(!model.accepts(&[0, 1, 2]));
        // {6k, 8k, 11k}: 0.167 in the paper.
        assert!((model.distance(&[3, 5, 8]) - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn rejects_t_outside_unit_interval() {
        assert!(TCloseness::new(vec![0], 1.5, GroundDistance::Equal).is_err());
        assert!(TCloseness::new(vec![0], -0.1, GroundDistance::Ordered).is_err());
    }

    proptest! {
        #[test]
        fn ordered_distance_equals_definition(
            codes in prop::collection::vec(0u32..12, 2..80),
            picks in prop::collection::vec(any::<prop::sample::Index>(), 1..30),
        ) {
            let values = *codes.iter().max().unwrap() as usize + 1;
            prop_assume!(values >= 2);
            let mut records: Vec<usize> = picks.iter().map(|p| p.index(codes.len())).collect();
            records.sort_unstable();
            records.dedup();
            let model = TCloseness::new(codes.clone(), 0.5, GroundDistance::Ordered).unwrap();
            let expected = ordered_by_definition(&codes, &records, values);
            prop_assert!((model.distance(&records) - expected).abs() < 1e-9);
        }
    }
}
