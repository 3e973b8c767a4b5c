//! Sample-based re-identification risk: prosecutor, journalist and marketer
//! risk, sample uniqueness and the distribution of per-record risks.
//!
//! The figures follow El Emam's "Guide to the De-Identification of Personal
//! Health Information" (2013) as implemented by ARX 3.9
//! (`RiskModelSampleSummary`, `RiskModelSampleRisks`,
//! `RiskModelSampleUniqueness`, `RiskModelSampleRiskDistribution`), so that a
//! release assessed here reads the same as one assessed in ARX:
//!
//! * a record in a class of size `s` has re-identification probability `1/s`
//!   for an attacker who knows the target is in the data (prosecutor);
//! * the *average* risk is that probability averaged over records, which is
//!   `classes / records`;
//! * the *highest* risk is `1 / smallest class size`;
//! * *records at risk* is the share of records whose probability is strictly
//!   greater than the caller's threshold.
//!
//! Journalist risk needs the class sizes of the population the sample was
//! drawn from. Without such a table ARX takes the sample as its own
//! population, which makes journalist risk equal to prosecutor risk; this
//! module does the same. Marketer risk (the expected share of records
//! re-identified when an attacker links everything at once) is then also
//! `classes / records`.

use serde::{Deserialize, Serialize};

use super::classes::ClassHistogram;

/// Risk figures for one attacker model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AttackerRisk {
    /// Re-identification probability averaged over all records.
    pub average: f64,
    /// Largest re-identification probability of any record.
    pub highest: f64,
    /// Share of records whose probability is strictly above the threshold.
    pub records_at_risk: f64,
}

/// Prosecutor, journalist and marketer risk of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReidentificationRisk {
    /// Highest acceptable probability for a single record.
    pub threshold: f64,
    /// Attacker who knows the target's record is in the sample.
    pub prosecutor: AttackerRisk,
    /// Attacker who does not know whether the target is in the sample. With
    /// no population table the sample stands for the population, as in ARX,
    /// so this equals the prosecutor risk.
    pub journalist: AttackerRisk,
    /// Expected share of records re-identified by linking the whole sample.
    pub marketer_average: f64,
}

impl ReidentificationRisk {
    /// Derives all attacker models from the class histogram. An empty
    /// histogram carries no risk, so every figure is then zero.
    pub fn from_histogram(histogram: &ClassHistogram, threshold: f64) -> Self {
        let prosecutor = match histogram.smallest_class() {
            None => AttackerRisk {
                average: 0.0,
                highest: 0.0,
                records_at_risk: 0.0,
            },
            Some(smallest) => {
                let records = histogram.records() as f64;
                let records_above_threshold: u64 = histogram
                    .iter()
                    .filter(|&(size, _)| 1.0 / size as f64 > threshold)
                    .map(|(size, count)| size * count)
                    .sum();
                AttackerRisk {
                    average: histogram.classes() as f64 / records,
                    highest: 1.0 / smallest as f64,
                    records_at_risk: records_above_threshold as f64 / records,
                }
            }
        };
        Self {
            threshold,
            prosecutor,
            journalist: prosecutor,
            marketer_average: prosecutor.average,
        }
    }
}

/// Records that are alone in their class, i.e. unique in the sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampleUniqueness {
    /// Number of records in classes of size one.
    pub unique_records: u64,
    /// Their share of all records (zero for an empty sample).
    pub share: f64,
}

impl SampleUniqueness {
    /// Counts the records in classes of size one.
    pub fn from_histogram(histogram: &ClassHistogram) -> Self {
        let unique_records = histogram.classes_of_size(1);
        let share = if histogram.is_empty() {
            0.0
        } else {
            unique_records as f64 / histogram.records() as f64
        };
        Self {
            unique_records,
            share,
        }
    }
}

/// Upper bounds (inclusive) of the record-risk buckets; each bucket starts
/// just above the previous bound, the first one just above zero. These are
/// ARX's bucket bounds, so the histograms can be compared side by side.
const BUCKET_UPPER_BOUNDS: [f64; 24] = [
    1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1,
    0.125, 0.143, 0.167, 0.2, 0.25, 0.334, 0.5, 1.0,
];

/// Share of records whose prosecutor risk falls in `(above, up_to]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskBucket {
    /// Exclusive lower bound of the bucket.
    pub above: f64,
    /// Inclusive upper bound of the bucket.
    pub up_to: f64,
    /// Share of records with a risk in this bucket.
    pub share_of_records: f64,
    /// Share of records with a risk up to `up_to`.
    pub cumulative_share: f64,
}

/// Histogram of per-record prosecutor risk, so a reader sees not only the
/// average and the worst case but how many records sit near the worst case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskDistribution {
    /// All buckets from the lowest risk to the highest, empty ones included.
    pub buckets: Vec<RiskBucket>,
}

impl RiskDistribution {
    /// Sorts every class's records into the bucket holding their risk `1/size`.
    pub fn from_histogram(histogram: &ClassHistogram) -> Self {
        let mut shares = [0.0; BUCKET_UPPER_BOUNDS.len()];
        if !histogram.is_empty() {
            let records = histogram.records() as f64;
            for (size, count) in histogram.iter() {
                let risk = 1.0 / size as f64;
                let bucket = BUCKET_UPPER_BOUNDS.partition_point(|&upper| upper < risk);
                shares[bucket] += (size * count) as f64 / records;
            }
        }
        let mut cumulative = 0.0;
        let buckets = BUCKET_UPPER_BOUNDS
            .iter()
            .zip(shares)
            .enumerate()
            .map(|(index, (&up_to, share_of_records))| {
                // Rounding can push the running sum a hair past one.
                cumulative = f64::min(cumulative + share_of_records, 1.0);
                RiskBucket {
                    above: if index == 0 {
                        0.0
                    } else {
                        BUCKET_UPPER_BOUNDS[index - 1]
                    },
                    up_to,
                    share_of_records,
                    cumulative_share: cumulative,
                }
            })
            .collect();
        Self { buckets }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0)
    }

    #[test]
    fn prosecutor_figures_follow_class_sizes() {
        // Classes of sizes 1, 2, 2, 5: ten records, four classes.
        let histogram = ClassHistogram::from_class_sizes([1, 2, 2, 5]);
        let risk = ReidentificationRisk::from_histogram(&histogram, 0.2);
        assert!(close(risk.prosecutor.average, 0.4));
        assert!(close(risk.prosecutor.highest, 1.0));
        // Risk 1/5 is not strictly above 0.2, so only the first five records count.
        assert!(close(risk.prosecutor.records_at_risk, 0.5));
        assert_eq!(risk.journalist, risk.prosecutor);
        assert!(close(risk.marketer_average, 0.4));
    }

    #[test]
    fn empty_sample_has_no_risk() {
        let histogram = ClassHistogram::from_class_sizes([]);
        let risk = ReidentificationRisk::from_histogram(&histogram, 0.1);
        assert_eq!(risk.prosecutor.highest, 0.0);
        assert_eq!(SampleUniqueness::from_histogram(&histogram).share, 0.0);
        let distribution = RiskDistribution::from_histogram(&histogram);
        assert!(distribution
            .buckets
            .iter()
            .all(|b| b.share_of_records == 0.0));
    }

    #[test]
    fn uniques_are_records_in_singleton_classes() {
        let histogram = ClassHistogram::from_class_sizes([1, 1, 3]);
        let uniqueness = SampleUniqueness::from_histogram(&histogram);
        assert_eq!(uniqueness.unique_records, 2);
        assert!(close(uniqueness.share, 0.4));
    }

    #[test]
    fn distribution_puts_records_in_upper_inclusive_buckets() {
        // Risks 1 (one record), 1/2 (two records), 1/10 (ten records).
        let histogram = ClassHistogram::from_class_sizes([1, 2, 10]);
        let distribution = RiskDistribution::from_histogram(&histogram);
        let share_up_to = |bound: f64| {
            distribution
                .buckets
                .iter()
                .find(|bucket| bucket.up_to == bound)
                .map(|bucket| bucket.share_of_records)
                .unwrap()
        };
        assert!(close(share_up_to(1.0), 1.0 / 13.0));
        assert!(close(share_up_to(0.5), 2.0 / 13.0));
        assert!(close(share_up_to(0.1), 10.0 / 13.0));
        let last = distribution.buckets.last().unwrap();
        assert!(close(last.cumulative_share, 1.0));
        assert_eq!(distribution.buckets[0].above, 0.0);
    }
}
