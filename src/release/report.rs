//! `report.json`: what was asked, what was achieved, and what was left out, as counts.
//!
//! It holds aggregate figures only, never a value of a person, and nothing that compares the raw
//! data with the release (that would help an attacker calibrate a linkage attack).
//!
//! `publish` writes it and `verify` reads it back as the same type, so a field cannot be written
//! under one name and looked for under another. The format has a version of its own,
//! [`REPORT_FORMAT`], apart from the version of anonpub that wrote it: a reader accepts reports
//! of its own format, in which fields are only ever added with defaults; renaming or removing
//! one is a new format.

use std::path::Path;

use serde::{Deserialize, Serialize, Serializer};

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::gates::Thresholds;
use crate::release::sizechart::SizeChartReport;
use crate::release::REPORT_FILE;
use crate::schema::Role;

/// The format of `report.json` this anonpub writes and reads.
pub const REPORT_FORMAT: u32 = 1;

/// Reports written before the format was counted apart from the anonpub version are format 1.
fn first_format() -> u32 {
    1
}

/// The public release report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseReport {
    /// The anonpub version that made the release.
    pub anonpub_version: String,
    /// The report's format ([`REPORT_FORMAT`]).
    #[serde(default = "first_format")]
    pub report_format: u32,
    /// The schema's dataset name.
    pub dataset: String,
    /// The release date the retention window is counted back from.
    pub as_of: String,
    /// The anonymization method (`mdav`).
    pub method: String,
    /// The k the release was made for.
    pub k_requested: usize,
    /// People in the smallest group of identical released rows.
    pub k_achieved: usize,
    /// The seed of the record ids.
    pub seed: u64,
    /// Release parameters from the effective configuration, thresholds included.
    pub parameters: ReleaseParameters,
    /// What selection saw and left out, in counts.
    pub selection: SelectionReport,
    /// What anonymization did, in counts.
    pub anonymization: AnonymizationCounts,
    /// Re-identification risk of the released rows (see [`RiskFigures`]).
    pub risk: RiskFigures,
    /// What the method does to a synthetic population of known truth (not to these people; see
    /// `pipeline::benchmark`); `None` for a schema other than FreeSewing's.
    pub method_benchmark: Option<MethodBenchmark>,
    /// The differentially private size chart's entry (budget split, mechanism per figure,
    /// bounds, set choice; see [`crate::release::sizechart`]); absent, and not written, without a
    /// `[sizechart]` in the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizechart: Option<SizeChartReport>,
    /// What a generalized release (`[method] name = "global"` or `"mondrian"`) publishes and
    /// achieves; absent, and not written, for the microaggregated release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generalization: Option<GeneralizationReport>,
}

/// A generalized release: its columns, what the method did, and the privacy models asked for
/// with what the released rows achieve (recomputed by `verify` through
/// [`crate::release::diversity`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneralizationReport {
    /// The published columns after `record_id`, in order.
    pub columns: Vec<PublishedColumn>,
    /// Global recoding: the largest share of records it could suppress.
    pub suppression_limit: Option<f64>,
    /// Global recoding: the generalization level of each quasi-identifier, in column order.
    pub levels: Option<Vec<usize>>,
    /// Mondrian: the number of partitions.
    pub partitions: Option<usize>,
    /// Generalization loss in [0, 1] (ARX's Loss metric).
    pub information_loss: Option<f64>,
    /// Distinct l-diversity of every sensitive column: the l asked for, and the fewest distinct
    /// values of a sensitive column in any class of the released rows.
    pub l_diversity: Option<Requested<usize>>,
    /// t-closeness of every sensitive column: the t asked for, and the largest distance of a
    /// class from the released rows' distribution.
    pub t_closeness: Option<Requested<f64>>,
}

/// A published column of a generalized release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedColumn {
    /// Its name, as in the schema.
    pub name: String,
    /// `quasi_identifier` (generalized), `sensitive` or `insensitive` (published as read).
    pub role: Role,
    /// Whether its cells are numbers (a generalized numeric column becomes text: ranges).
    pub numeric: bool,
}

/// A privacy parameter asked for, and the figure the released rows achieve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Requested<T> {
    /// What the configuration asked for.
    pub requested: T,
    /// What the released rows show.
    pub achieved: T,
}

/// The method's effect on the benchmark population, rounded for print.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodBenchmark {
    /// People in the benchmark population (the release's eligible people, bounded:
    /// `pipeline::benchmark`).
    pub people: usize,
    /// Seed of the benchmark population (`pipeline::benchmark::BENCHMARK_SEED`).
    pub seed: u64,
    /// Median over measurements of the Kolmogorov–Smirnov distance, released against true.
    pub median_kolmogorov_smirnov: f64,
    /// The largest Kolmogorov–Smirnov distance over measurements.
    pub worst_kolmogorov_smirnov: f64,
    /// Mean absolute difference of the correlation matrices.
    pub correlation_difference: f64,
    /// Share of the generated sets suppressed.
    pub suppressed_share: f64,
    /// The figures of each measurement, in catalogue order.
    pub columns: Vec<ColumnBenchmark>,
    /// Rows of the release the population was sized to (`people` is this, bounded by
    /// `pipeline::benchmark`); absent in reports of earlier benchmarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_rows: Option<usize>,
    /// How many coverage patterns the release publishes: the benchmark's people record them, in
    /// the release's proportions; absent in reports of earlier benchmarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_patterns: Option<usize>,
    /// The per-column goals `ColumnBenchmark::not_reached` judges against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goals: Option<UtilityGoals>,
}

/// What the method should keep of each column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UtilityGoals {
    /// Largest released standard deviation error, relative to the true one.
    pub sd_error: f64,
    /// Largest Kolmogorov–Smirnov distance.
    pub kolmogorov_smirnov: f64,
    /// Largest shift of P5 and of P95, in true standard deviations.
    pub tail_shift_sd: f64,
    /// Largest mean absolute difference of a column's correlations with the others; absent in
    /// reports of earlier benchmarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_difference: Option<f64>,
}

/// One measurement on the benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnBenchmark {
    /// The measurement's name.
    pub column: String,
    /// Released standard deviation over the true one.
    pub spread_kept: f64,
    /// Released minus true P1, P5, P95, P99, in true standard deviations.
    pub tail_shift_sd: [f64; 4],
    /// Kolmogorov–Smirnov distance, released against true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kolmogorov_smirnov: Option<f64>,
    /// Mean absolute difference of its correlations with the other measurements, released
    /// against true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_difference: Option<f64>,
    /// The goals the method misses on this measurement at the benchmark's size:
    /// `sd_error`, `kolmogorov_smirnov`, `p5_p95`, `correlation`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_reached: Vec<String>,
}

/// The group noise as `report.json` states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupNoiseParameters {
    /// Standard deviation of the noise, in standard deviations of each column.
    pub scale_sd: f64,
    /// The label of the key derivation (`anonymize::group_noise::GROUP_NOISE_LABEL`); the key itself stays private.
    pub key_label: String,
}

/// The parameters of the effective configuration that shaped the release (the fields are in
/// alphabetical order, as the report has always listed them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseParameters {
    /// The keyed group noise on the released values (`[defences] group_noise_sd`); absent when
    /// the release carries none, as in reports made before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_noise: Option<GroupNoiseParameters>,
    /// Largest share of bad rows tolerated before the database is refused.
    pub max_malformed_share: f64,
    /// Exact MDAV runs on cells of at most this many records.
    pub mdav_exact_limit: usize,
    /// Coverage planning merges patterns until each holds at least this many people.
    pub min_pattern_people: usize,
    /// Sets published with fewer measurements than this are suppressed (absent in reports made
    /// before it existed, which published every pattern).
    #[serde(default = "every_pattern")]
    pub min_published_measurements: usize,
    /// Months after the last login during which a person's data may be published.
    pub retention_months: u32,
    /// How the spread of each pattern's group means is restored.
    pub spread_restoration: String,
    /// The publish gates, every one listed (unset ones as null), keys sorted.
    #[serde(serialize_with = "sorted_keys")]
    pub thresholds: Thresholds,
}

/// A report without `min_published_measurements` published every pattern, down to one value.
fn every_pattern() -> usize {
    1
}

/// Writes a value as a JSON object with its keys sorted, as `report.json` lists thresholds.
fn sorted_keys<S: Serializer>(value: &Thresholds, serializer: S) -> Result<S::Ok, S::Error> {
    serde_json::to_value(value)
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

impl ReleaseReport {
    /// Reads `report.json`, refusing a report of another format version. The error says what
    /// is wrong, for `verify`'s checks.
    pub fn read(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{REPORT_FILE} unreadable: {e}"))?;
        let report: ReleaseReport =
            serde_json::from_slice(&bytes).map_err(|e| format!("{REPORT_FILE} malformed: {e}"))?;
        if report.report_format != REPORT_FORMAT {
            return Err(format!(
                "{REPORT_FILE} is in report format {} (written by anonpub {}); this anonpub reads \
                 format {REPORT_FORMAT}",
                report.report_format, report.anonpub_version
            ));
        }
        Ok(report)
    }
}

/// What anonymization did, in counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnonymizationCounts {
    /// Rows in the release.
    pub published_records: usize,
    /// Records left out because their coverage pattern could not be shared by k people.
    pub suppressed_records: usize,
    /// Suppressed records as a share of eligible records.
    pub suppressed_share: f64,
    /// Records published with fewer measurements than they had, and how many values that removed.
    pub coarsened_records: usize,
    /// Values removed by coarsening records to a frequent coverage pattern.
    pub dropped_values: usize,
    /// Microaggregation groups (of at least k people each).
    pub groups: usize,
    /// Distinct coverage patterns (which measurements a row has) in the release.
    pub coverage_patterns: usize,
}

/// Counts by reason (the key of each reason selection leaves a set or a person out for),
/// sorted by key; only reasons that occurred. The keys are borrowed when written and owned when
/// a report is read back.
pub type ReasonCounts = BTreeMap<Cow<'static, str>, u64>;

/// Counts of what selection saw and left out. Selection (`select`) fills it; the reasons'
/// meanings stay with selection, the contract holds only their keys and counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SelectionReport {
    /// Person rows in the source (`User` rows; for a table, distinct person keys).
    pub users_in_database: u64,
    /// Set rows in the source.
    pub sets_in_database: u64,
    /// Sets that passed every check, duplicates of an owner's own set removed.
    pub eligible_sets: u64,
    /// Distinct people behind the eligible sets.
    pub eligible_people: u64,
    /// Sets left out, by reason.
    pub excluded_sets: ReasonCounts,
    /// Person rows whose sets are all left out, by a reason about the person.
    pub excluded_users: ReasonCounts,
    /// Rows anonpub cannot read, against the limit that refuses a damaged database.
    pub bad_rows: BadRows,
    /// Values under names that are not measurements of the schema (dropped).
    pub unknown_measurements_dropped: u64,
}

/// Bad rows against the sets that could have been published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BadRows {
    /// Sets left out as bad rows; orphan and unreadable-owner sets in the proportion of sets of
    /// readable owners that are eligible.
    pub sets: u64,
    /// Sets of eligible owners, plus the orphan and unreadable-owner sets in that proportion.
    pub of_sets: u64,
    /// `sets / of_sets` (0 when there are none).
    pub share: f64,
    /// The configured limit (`max_malformed_share`).
    pub max_share: f64,
}

/// Re-identification risk of the released rows, as `report.json` states it: computed from the
/// released rows alone, so that anyone can recompute it (`verify` does). Every published column
/// is a quasi-identifier, so the classes are groups of identical rows; a row counts as at risk
/// above 1/k; no population size is assumed, so population uniqueness is never estimated. The
/// risk engine's own summary is converted into it by `publish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskFigures {
    /// Rows in the release.
    pub records: u64,
    /// Classes of identical rows.
    pub classes: u64,
    /// Rows in the smallest class (`None` for an empty release).
    pub smallest_class: Option<u64>,
    /// Prosecutor, journalist and marketer risk.
    pub reidentification: ReidentificationFigures,
    /// Rows unique in the release.
    pub sample_uniqueness: UniquenessFigures,
    /// How row risks are spread.
    pub risk_distribution: RiskDistributionFigures,
    /// Population uniqueness: never estimated for a release.
    pub population: PopulationFigures,
}

/// Prosecutor, journalist and marketer risk of the released rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReidentificationFigures {
    /// Highest acceptable probability for one row (1/k).
    pub threshold: f64,
    /// Attacker who knows the target is in the release.
    pub prosecutor: AttackerFigures,
    /// Attacker who does not know it (equal to the prosecutor's without a population).
    pub journalist: AttackerFigures,
    /// Expected share of rows re-identified by linking the whole release.
    pub marketer_average: f64,
}

/// Risk figures for one attacker model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AttackerFigures {
    /// Re-identification probability averaged over the rows.
    pub average: f64,
    /// Largest re-identification probability of a row.
    pub highest: f64,
    /// Share of rows whose probability is strictly above the threshold.
    pub records_at_risk: f64,
}

/// Rows alone in their class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UniquenessFigures {
    /// Rows in classes of one.
    pub unique_records: u64,
    /// Their share of all rows (0 for an empty release).
    pub share: f64,
}

/// Histogram of per-row prosecutor risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskDistributionFigures {
    /// Every bucket from the lowest risk to the highest, empty ones included.
    pub buckets: Vec<RiskBucketFigures>,
}

/// Share of rows whose prosecutor risk falls in `(above, up_to]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskBucketFigures {
    /// Exclusive lower bound.
    pub above: f64,
    /// Inclusive upper bound.
    pub up_to: f64,
    /// Share of rows with a risk in the bucket.
    pub share_of_records: f64,
    /// Share of rows with a risk up to `up_to`.
    pub cumulative_share: f64,
}

/// Whether population uniqueness was estimated: a release assumes no population size, so never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PopulationFigures {
    /// No population size was assumed.
    NotRequested,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_report_reads_back_and_other_versions_are_refused() {
        let mut report = crate::publish::fixture::Owned::new().report;
        report.anonpub_version = env!("CARGO_PKG_VERSION").into();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REPORT_FILE);
        let written = serde_json::to_vec_pretty(&report).unwrap();
        std::fs::write(&path, &written).unwrap();
        let read = ReleaseReport::read(&path).unwrap();
        // Every field survives the round trip. (serde_json's float parser without its
        // `float_roundtrip` feature can be one unit in the last place off, so compare with what
        // any JSON reader of the file sees.)
        let as_json: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(serde_json::to_value(&read).unwrap(), as_json);
        assert_eq!(read.selection.excluded_sets["no_open_data_consent"], 29);
        // Thresholds are listed with sorted keys, as report.json always had them.
        let text = String::from_utf8(written).unwrap();
        assert!(text.find("\"max_average_risk\"") < text.find("\"min_k\""));

        // Another anonpub version of the same format reads; another format does not.
        report.anonpub_version = "9.9.0".into();
        std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
        ReleaseReport::read(&path).unwrap();
        report.report_format = REPORT_FORMAT + 1;
        std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
        let refused = ReleaseReport::read(&path).unwrap_err();
        assert!(refused.contains("report format 2"), "{refused}");
        std::fs::write(&path, b"{\"anonpub_version\": \"0.1.0\"}").unwrap();
        assert!(ReleaseReport::read(&path)
            .unwrap_err()
            .contains("malformed"));
    }
}
