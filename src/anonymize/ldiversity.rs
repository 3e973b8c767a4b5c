//! l-diversity: every published equivalence class holds "well-represented" values of the
//! sensitive attribute, so that knowing someone's class does not reveal their sensitive value.
//!
//! **Follows** Machanavajjhala, Kifer, Gehrke & Venkitasubramaniam (2007), "ℓ-Diversity: Privacy
//! beyond k-anonymity" (ACM TKDD 1(1)), in its three instantiations:
//!
//! - *distinct*: the class holds at least `l` distinct sensitive values;
//! - *entropy*: the entropy of the class's sensitive values, `−Σ p·ln p`, is at least `ln l`;
//! - *recursive (c, l)*: with the value counts sorted in decreasing order `r₁ ≥ r₂ ≥ … ≥ r_m`,
//!   `r₁ < c · (r_l + r_{l+1} + … + r_m)` (so `m ≥ l` is needed too).
//!
//! **Guarantee.** A class is accepted exactly when it satisfies the chosen instantiation; used as a
//! [`ClassConstraint`], every published class of a method that enforces it does.
//!
//! **Preconditions**, checked by [`LDiversity::new`]: `l ≥ 1` and, for the recursive variant,
//! `c > 0` and finite. One sensitive code per record of the anonymized table.
//!
//! **Monotonicity.** Merging classes never lowers the number of distinct values, so distinct
//! l-diversity is monotone in the sense the lattice search prunes with. Entropy and recursive
//! l-diversity hold for a union of classes that each satisfy them, but not for a class that merely
//! *contains* a satisfying one (add many copies of one value and the entropy falls), which is what
//! suppression-aware pruning would need; the search then prunes by `k` alone and stays optimal.

use serde::Serialize;

use super::model::ClassConstraint;

/// Relative slack when comparing an entropy with `ln l`, so that a class with exactly `l`
/// equally frequent values is accepted despite rounding in the logarithms.
const ENTROPY_TOLERANCE: f64 = 1e-12;

/// Which instantiation of l-diversity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Variant {
    /// At least `l` distinct sensitive values per class.
    Distinct,
    /// The entropy of the class's sensitive values is at least `ln l`.
    Entropy,
    /// Recursive (c, l)-diversity with this `c`.
    Recursive {
        /// How much more frequent the most frequent value may be than the tail.
        c: f64,
    },
}

/// Why an l-diversity model cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LDiversityError {
    /// l is 0.
    #[error("l must be at least 1")]
    InvalidL,
    /// c is not a positive finite number.
    #[error("c of recursive (c,l)-diversity must be a positive number")]
    InvalidC,
}

/// l-diversity over one sensitive attribute, as a per-class constraint.
#[derive(Debug, Clone)]
pub struct LDiversity {
    /// Sensitive value of each record, as a dense code.
    values: Vec<u32>,
    l: usize,
    variant: Variant,
}

/// Checks the parameters before any data is read: `l ≥ 1` and, for the recursive variant, a
/// positive finite `c`.
pub fn validate(l: usize, variant: Variant) -> Result<(), LDiversityError> {
    if l == 0 {
        return Err(LDiversityError::InvalidL);
    }
    if let Variant::Recursive { c } = variant {
        if !(c.is_finite() && c > 0.0) {
            return Err(LDiversityError::InvalidC);
        }
    }
    Ok(())
}

/// The model's entry in the `anonymize` report.
#[derive(Debug, Clone, Serialize)]
pub struct LDiversityReport {
    /// The `l` enforced.
    pub l: usize,
    /// `distinct`, `entropy` or `recursive`.
    pub variant: &'static str,
    /// `c` of recursive (c,l)-diversity.
    pub c: Option<f64>,
}

impl LDiversityReport {
    /// The entry for l-diversity with these parameters.
    pub fn new(l: usize, variant: Variant) -> Self {
        let (variant, c) = match variant {
            Variant::Distinct => ("distinct", None),
            Variant::Entropy => ("entropy", None),
            Variant::Recursive { c } => ("recursive", Some(c)),
        };
        LDiversityReport { l, variant, c }
    }
}

impl LDiversity {
    /// `values[record]` is the sensitive value's code (equal codes ⇔ equal values); the
    /// parameters are checked by [`validate`].
    pub fn new(values: Vec<u32>, l: usize, variant: Variant) -> Result<Self, LDiversityError> {
        validate(l, variant)?;
        Ok(Self { values, l, variant })
    }

    /// Counts of each sensitive value in the class, in decreasing order.
    fn counts(&self, records: &[usize]) -> Vec<usize> {
        let mut codes: Vec<u32> = records.iter().map(|&r| self.values[r]).collect();
        codes.sort_unstable();
        let mut counts: Vec<usize> = codes.chunk_by(|a, b| a == b).map(<[u32]>::len).collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        counts
    }
}

impl ClassConstraint for LDiversity {
    fn accepts(&self, records: &[usize]) -> bool {
        let counts = self.counts(records);
        match self.variant {
            Variant::Distinct => counts.len() >= self.l,
            Variant::Entropy => {
                let total = records.len() as f64;
                // −Σ (c/n)·ln(c/n) = ln n − Σ c·ln c / n, exact for equal counts.
                let entropy = total.ln()
                    - counts
                        .iter()
                        .map(|&count| count as f64 * (count as f64).ln())
                        .sum::<f64>()
                        / total;
                let needed = (self.l as f64).ln();
                entropy >= needed - ENTROPY_TOLERANCE * needed.max(1.0)
            }
            Variant::Recursive { c } => {
                counts.len() >= self.l
                    && (counts[0] as f64) < c * counts[self.l - 1..].iter().sum::<usize>() as f64
            }
        }
    }

    fn is_monotone(&self) -> bool {
        matches!(self.variant, Variant::Distinct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(values: &[u32], l: usize, variant: Variant) -> LDiversity {
        LDiversity::new(values.to_vec(), l, variant).unwrap()
    }

    #[test]
    fn distinct_counts_values() {
        let m = model(&[0, 0, 1, 2], 3, Variant::Distinct);
        assert!(m.accepts(&[0, 2, 3]));
        assert!(!m.accepts(&[0, 1, 2]));
        assert!(m.is_monotone());
    }

    #[test]
    fn entropy_accepts_exactly_l_equal_values() {
        let m = model(&[0, 1, 0, 1, 0, 0, 0], 2, Variant::Entropy);
        assert!(m.accepts(&[0, 1]));
        assert!(m.accepts(&[0, 1, 2, 3]));
        // Counts 5 and 2: entropy 0.598 < ln 2.
        assert!(!m.accepts(&[0, 1, 2, 3, 4, 5, 6]));
        assert!(!m.is_monotone());
    }

    #[test]
    fn recursive_compares_most_frequent_with_tail() {
        // Counts 3, 2, 1.
        let values = [0, 0, 0, 1, 1, 2];
        let all = [0, 1, 2, 3, 4, 5];
        // l = 2: tail 2 + 1 = 3; 3 < c·3 iff c > 1.
        assert!(model(&values, 2, Variant::Recursive { c: 1.5 }).accepts(&all));
        assert!(!model(&values, 2, Variant::Recursive { c: 1.0 }).accepts(&all));
        // l = 3: tail 1; 3 < 4·1.
        assert!(model(&values, 3, Variant::Recursive { c: 4.0 }).accepts(&all));
        assert!(!model(&values, 4, Variant::Recursive { c: 100.0 }).accepts(&all));
    }

    #[test]
    fn rejects_bad_parameters() {
        assert_eq!(
            LDiversity::new(vec![], 0, Variant::Distinct).unwrap_err(),
            LDiversityError::InvalidL
        );
        assert_eq!(
            LDiversity::new(vec![], 2, Variant::Recursive { c: 0.0 }).unwrap_err(),
            LDiversityError::InvalidC
        );
    }
}
