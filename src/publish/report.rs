//! `report.json`: what was asked, what was achieved, and what was left out, as counts.
//!
//! It holds aggregate figures only, never a value of a person, and nothing that compares the raw
//! data with the release (that would help an attacker calibrate a linkage attack).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::deidentify::ReleaseTable;
use crate::risk::benchmark::MethodBenchmark;
use crate::risk::{assess, ClassHistogram, RiskSummary};
use crate::select::SelectionReport;

/// Name of the report file inside a release.
pub const REPORT_FILE: &str = "report.json";

/// The public release report.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseReport {
    pub anonpub_version: &'static str,
    pub dataset: String,
    /// The release date the retention window is counted back from.
    pub as_of: String,
    pub method: &'static str,
    pub k_requested: usize,
    /// People in the smallest group of identical released rows.
    pub k_achieved: usize,
    pub seed: u64,
    pub parameters: BTreeMap<&'static str, serde_json::Value>,
    pub selection: SelectionReport,
    pub anonymization: AnonymizationCounts,
    /// Re-identification risk of the released rows (see [`release_risk`]).
    pub risk: RiskSummary,
    /// What the method does to a synthetic population of known truth (not to these people; see
    /// [`crate::risk::benchmark`]); `None` for a schema other than FreeSewing's.
    pub method_benchmark: Option<MethodBenchmark>,
}

/// What anonymization did, in counts.
#[derive(Debug, Clone, Serialize)]
pub struct AnonymizationCounts {
    pub published_records: usize,
    /// Records left out because their coverage pattern could not be shared by k people.
    pub suppressed_records: usize,
    pub suppressed_share: f64,
    /// Records published with fewer measurements than they had, and how many values that removed.
    pub coarsened_records: usize,
    pub dropped_values: usize,
    pub groups: usize,
    pub coverage_patterns: usize,
}

/// Re-identification risk of a release, from the released rows alone so that anyone can recompute
/// it: every measurement is a quasi-identifier (the strongest attacker the release must withstand),
/// so the classes are groups of identical rows (same values, same empty cells). A row counts as
/// at risk above 1/k, i.e. in a class of fewer than k rows. Rows are counted, not people: a person
/// with several sets in one group makes it look larger, which `k_achieved` reports separately.
/// No population size is assumed, so population uniqueness is not estimated.
pub fn release_risk(table: &ReleaseTable, k: usize) -> RiskSummary {
    let width = table.columns.len().max(1);
    assess(
        &ClassHistogram::from_rows(&table.values, width),
        None,
        1.0 / k.max(1) as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_counts_groups_of_identical_rows_including_empty_cells() {
        let nan = f64::NAN;
        let table = ReleaseTable {
            columns: vec!["chest".into(), "waist".into()],
            record_ids: (0..5).map(|i| i.to_string()).collect(),
            values: vec![
                900.0, nan, 900.0, nan, 900.0, nan, 900.0, 700.0, 900.0, 700.0,
            ],
        };
        let risk = release_risk(&table, 2);
        assert_eq!(risk.records, 5);
        assert_eq!(risk.classes, 2);
        assert_eq!(risk.smallest_class, Some(2));
        assert_eq!(risk.reidentification.threshold, 0.5);
        assert_eq!(risk.reidentification.prosecutor.highest, 0.5);
        assert_eq!(risk.sample_uniqueness.unique_records, 0);
    }
}
