//! Re-identification risk of a table, measured the way ARX 3.9 measures it.
//!
//! Every figure here — prosecutor, journalist and marketer risk, sample
//! uniqueness, the per-record risk distribution and the population-uniqueness
//! models — depends on the data only through one summary: how many
//! equivalence classes (records sharing all quasi-identifier values) there
//! are of each size. That [`ClassHistogram`] is computed once per
//! assessment and every figure is derived from it, so the figures cannot
//! disagree about the data and a full assessment costs one pass that groups
//! the records plus work proportional to the number of distinct class sizes
//! (the Zayatz model walks up to the largest class size, the SNB fit scans
//! a fixed grid of start points).
//!
//! * [`classes`] builds the histogram;
//! * [`reident`] derives the sample-based figures (El Emam 2013, ARX);
//! * [`population`] estimates population uniqueness with Pitman, Zayatz and
//!   SNB and picks one by Dankar et al.'s (2012) rule.
//!
//! [`assess`] bundles all of them into one serialisable [`RiskSummary`].
//!
//! Two more families compare the release with the raw data and therefore only
//! ever go into the internal report:
//!
//! * [`linkage`] plays an attacker who knows some of a person's measurements
//!   and links them to the nearest released row ([`nearest`] indexes the rows);
//! * [`utility`] measures how far the released statistics moved;
//! * [`differencing`], [`known_members`] and [`fake_accounts`] rebuild a
//!   person's measurements from group means and what else an attacker holds
//!   (a second release, public sets, planted accounts), re-running the release
//!   method where the attacker would make a new release happen; [`recovery`]
//!   holds what they share, and [`attacks`] runs them together for the
//!   internal report and the publish gates; [`membership`] tells members from
//!   non-members by the nearest released row.

pub mod attack_settings;
pub mod attacks;
pub mod classes;
pub mod differencing;
pub mod fake_accounts;
pub mod known_members;
pub mod linkage;
pub mod membership;
pub mod nearest;
pub mod population;
pub mod recovery;
pub mod reident;
pub mod utility;

use serde::{Deserialize, Serialize};

pub use classes::ClassHistogram;
pub use population::{
    DankarDecision, Estimate, PopulationError, PopulationModel, PopulationUniqueness,
};
pub use reident::{
    AttackerRisk, ReidentificationRisk, RiskBucket, RiskDistribution, SampleUniqueness,
};

/// Everything known about the re-identification risk of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskSummary {
    /// Records in the table.
    pub records: u64,
    /// Equivalence classes over the quasi-identifiers.
    pub classes: u64,
    /// Size of the smallest class (`None` for an empty table).
    pub smallest_class: Option<u64>,
    /// Prosecutor, journalist and marketer risk.
    pub reidentification: ReidentificationRisk,
    /// Records unique in the table.
    pub sample_uniqueness: SampleUniqueness,
    /// How record risks are spread.
    pub risk_distribution: RiskDistribution,
    /// Population-uniqueness estimates, when a population size was given.
    pub population: PopulationAssessment,
}

/// Whether, and how, population uniqueness was estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PopulationAssessment {
    /// No population size was given.
    NotRequested,
    /// The population size could not be used with this table.
    Rejected {
        /// Why, in plain language.
        reason: String,
    },
    /// Estimates from every model and Dankar's choice among them.
    Estimated(PopulationUniqueness),
}

/// The risk of a released table anonymized for `k`, from the classes a reader of it sees: no
/// population size is assumed (so population uniqueness is not estimated), and a record counts
/// as at risk above 1/k, i.e. in a class of fewer than k records. `publish` and `anonymize` both
/// report this, so the two commands' figures mean the same.
pub fn release_risk(classes: &ClassHistogram, k: usize) -> RiskSummary {
    assess(classes, None, 1.0 / k.max(1) as f64)
}

/// Assesses a table from its class histogram: sample-based risks against the
/// per-record `threshold` (highest acceptable re-identification probability)
/// and, when the size of the population the table was drawn from is known,
/// population uniqueness.
pub fn assess(hist: &ClassHistogram, population: Option<u64>, threshold: f64) -> RiskSummary {
    let population = match population {
        None => PopulationAssessment::NotRequested,
        Some(size) => match PopulationUniqueness::estimate(hist, size) {
            Ok(estimates) => PopulationAssessment::Estimated(estimates),
            Err(error) => PopulationAssessment::Rejected {
                reason: error.to_string(),
            },
        },
    };
    RiskSummary {
        records: hist.records(),
        classes: hist.classes(),
        smallest_class: hist.smallest_class(),
        reidentification: ReidentificationRisk::from_histogram(hist, threshold),
        sample_uniqueness: SampleUniqueness::from_histogram(hist),
        risk_distribution: RiskDistribution::from_histogram(hist),
        population,
    }
}

#[cfg(test)]
mod tests {
    //! Golden values from ARX 3.9 on the ARX benchmark's `adult` table, with
    //! ARX's population size for the USA.

    use super::*;

    const ADULT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/arx-adult/adult.csv"
    );
    const US_POPULATION: u64 = 317_238_626;

    /// Class histogram of `adult.csv` over the named quasi-identifiers.
    fn adult_histogram(quasi_identifiers: &[&str]) -> ClassHistogram {
        let text = std::fs::read_to_string(ADULT).expect("adult.csv is readable");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(';').collect();
        let columns: Vec<usize> = quasi_identifiers
            .iter()
            .map(|name| {
                header
                    .iter()
                    .position(|column| column == name)
                    .expect("known column")
            })
            .collect();
        ClassHistogram::from_keys(lines.filter(|line| !line.is_empty()).map(|line| {
            let fields: Vec<&str> = line.split(';').collect();
            columns
                .iter()
                .map(|&column| fields[column])
                .collect::<Vec<_>>()
        }))
    }

    fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
        let error = ((actual - expected) / expected).abs();
        assert!(
            error <= relative,
            "{what}: got {actual}, expected {expected}"
        );
    }

    fn estimated(summary: &RiskSummary) -> &PopulationUniqueness {
        match &summary.population {
            PopulationAssessment::Estimated(estimates) => estimates,
            other => panic!("population not estimated: {other:?}"),
        }
    }

    fn fraction(estimate: &Estimate) -> f64 {
        estimate
            .fraction()
            .unwrap_or_else(|| panic!("no estimate: {estimate:?}"))
    }

    #[test]
    fn adult_all_attributes_match_arx() {
        let histogram = adult_histogram(&[
            "sex",
            "age",
            "race",
            "marital-status",
            "education",
            "native-country",
            "workclass",
            "occupation",
            "salary-class",
        ]);
        let summary = assess(&histogram, Some(US_POPULATION), 0.2);
        assert_eq!(summary.records, 30_162);
        assert_eq!(summary.classes, 19_502);
        let prosecutor = summary.reidentification.prosecutor;
        assert_close(prosecutor.average, 0.64658, 1e-4, "prosecutor average");
        assert_eq!(prosecutor.highest, 1.0);
        assert_close(
            summary.sample_uniqueness.share,
            0.51429,
            1e-4,
            "sample uniqueness",
        );
        let population = estimated(&summary);
        assert_close(fraction(&population.pitman), 0.038896, 1e-4, "Pitman");
        assert_close(fraction(&population.zayatz), 0.264565, 1e-4, "Zayatz");
        assert_eq!(population.dankar.model, Some(PopulationModel::Pitman));
        assert_close(population.dankar.fraction, 0.038896, 1e-4, "Dankar");
        // ARX reports 0 here (see `population`); this value was cross-checked
        // with an independent solve of the published SNB equations.
        assert_close(fraction(&population.snb), 0.214609, 1e-4, "SNB");
    }

    #[test]
    fn adult_four_attributes_match_arx() {
        let histogram = adult_histogram(&["age", "sex", "race", "marital-status"]);
        let summary = assess(&histogram, Some(US_POPULATION), 0.2);
        assert_close(
            summary.reidentification.prosecutor.average,
            0.056031,
            1e-4,
            "prosecutor average",
        );
        assert_close(
            summary.sample_uniqueness.share,
            0.018003,
            1e-4,
            "sample uniqueness",
        );
        let population = estimated(&summary);
        // ARX reports these two to three significant digits.
        assert_close(
            fraction(&population.pitman),
            2.27e-5,
            0.5e-2 / 2.27,
            "Pitman",
        );
        assert_close(
            fraction(&population.zayatz),
            3.29e-4,
            0.5e-2 / 3.29,
            "Zayatz",
        );
        assert_eq!(population.dankar.model, Some(PopulationModel::Pitman));
        assert_close(fraction(&population.snb), 4.42544e-5, 1e-4, "SNB");
    }

    #[test]
    fn population_is_optional_and_validated() {
        let histogram = ClassHistogram::from_class_sizes([1, 2, 3]);
        assert_eq!(
            assess(&histogram, None, 0.5).population,
            PopulationAssessment::NotRequested
        );
        assert!(matches!(
            assess(&histogram, Some(2), 0.5).population,
            PopulationAssessment::Rejected { .. }
        ));
    }
}
