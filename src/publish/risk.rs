//! The risk section of `report.json`: the risk engine's summary of the released rows
//! ([`crate::risk::release_risk`]) converted into the contract's plain figures
//! ([`RiskFigures`]), so that the release contract depends on no engine and the report's format
//! changes only when the contract does.

use crate::deidentify::ReleaseTable;
use crate::release::report::{
    AttackerFigures, PopulationFigures, ReidentificationFigures, RiskBucketFigures,
    RiskDistributionFigures, RiskFigures, UniquenessFigures,
};
use crate::risk::{self, AttackerRisk, ClassHistogram, RiskSummary};

/// The risk of a release made for `k` whose classes of identical rows `classes` counts: no
/// population size is assumed, and a row counts as at risk above 1/k (see
/// [`crate::risk::release_risk`]; `verify` recomputes it from the rows the same way).
pub fn release_risk(classes: &ClassHistogram, k: usize) -> RiskFigures {
    figures(&risk::release_risk(classes, k))
}

/// The risk of the released measurement rows: every measurement is a quasi-identifier (the
/// strongest attacker the release must withstand), so the classes are groups of identical rows
/// (same values, same empty cells). Rows are counted, not people: a person with several sets
/// in one group makes it look larger, which `k_achieved` reports separately.
pub fn table_risk(table: &ReleaseTable, k: usize) -> RiskFigures {
    let width = table.columns.len().max(1);
    release_risk(&ClassHistogram::from_rows(&table.values, width), k)
}

/// The contract's figures of the engine's summary. The summary of a release never estimates
/// population uniqueness ([`crate::risk::release_risk`] assumes no population).
fn figures(summary: &RiskSummary) -> RiskFigures {
    let attacker = |risk: AttackerRisk| AttackerFigures {
        average: risk.average,
        highest: risk.highest,
        records_at_risk: risk.records_at_risk,
    };
    let reidentification = &summary.reidentification;
    RiskFigures {
        records: summary.records,
        classes: summary.classes,
        smallest_class: summary.smallest_class,
        reidentification: ReidentificationFigures {
            threshold: reidentification.threshold,
            prosecutor: attacker(reidentification.prosecutor),
            journalist: attacker(reidentification.journalist),
            marketer_average: reidentification.marketer_average,
        },
        sample_uniqueness: UniquenessFigures {
            unique_records: summary.sample_uniqueness.unique_records,
            share: summary.sample_uniqueness.share,
        },
        risk_distribution: RiskDistributionFigures {
            buckets: summary
                .risk_distribution
                .buckets
                .iter()
                .map(|bucket| RiskBucketFigures {
                    above: bucket.above,
                    up_to: bucket.up_to,
                    share_of_records: bucket.share_of_records,
                    cumulative_share: bucket.cumulative_share,
                })
                .collect(),
        },
        population: PopulationFigures::NotRequested,
    }
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
        let risk = table_risk(&table, 2);
        assert_eq!(risk.records, 5);
        assert_eq!(risk.classes, 2);
        assert_eq!(risk.smallest_class, Some(2));
        assert_eq!(risk.reidentification.threshold, 0.5);
        assert_eq!(risk.reidentification.prosecutor.highest, 0.5);
        assert_eq!(risk.sample_uniqueness.unique_records, 0);
    }

    #[test]
    fn the_figures_serialize_as_the_engines_summary() {
        // report.json's risk section keeps its shape: the contract's figures write the same
        // JSON as the engine's summary they come from.
        let classes = ClassHistogram::from_class_sizes([1, 2, 2, 5, 9]);
        let summary = risk::release_risk(&classes, 3);
        assert_eq!(
            serde_json::to_value(figures(&summary)).unwrap(),
            serde_json::to_value(&summary).unwrap()
        );
    }
}
