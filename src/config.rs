//! The release configuration: one TOML file, validated once before any work starts.
//!
//! Command-line flags override the file; the merged, checked result is what every stage trusts.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::anonymize::k_anonymity;
use crate::dp::sizechart::SizeChartConfig;
use crate::error::{Error, Result};
use crate::gates::Thresholds;
use crate::risk::linkage::AttackerKnowledge;
use crate::tabulate::config::TabulateConfig;

/// A release configuration file (`--config`). Unknown keys are errors, so a typo cannot silently
/// weaken a release.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    /// Minimum number of distinct people behind every released row.
    #[serde(default = "default_k")]
    pub k: usize,
    /// Months after the last login during which a person's data may be published.
    #[serde(default = "default_retention")]
    pub retention_months: u32,
    /// Dataset schema (relative to the config file); the embedded FreeSewing schema by default.
    pub schema: Option<PathBuf>,
    /// SPDX identifier of the data licence.
    #[serde(default = "default_license")]
    pub license: String,
    /// Version string of the dataset release.
    #[serde(default = "default_version")]
    pub version: String,
    /// Exact MDAV runs on cells of at most this many records; larger inputs are partitioned.
    #[serde(default = "default_exact_limit")]
    pub mdav_exact_limit: usize,
    /// Largest share of unreadable rows (undecryptable, malformed, orphan sets, sets of
    /// unreadable users) among the sets that could have been published. Such rows are left out
    /// and counted; beyond this share the database is taken for damaged and `publish` refuses it
    /// (exit 2). Empty sets do not count: they are legitimate.
    #[serde(default = "default_max_malformed_share")]
    pub max_malformed_share: f64,
    /// Coverage planning merges smaller measurement patterns until each holds at least this many
    /// people (never fewer than k), so that every pattern has several groups whose spread can be
    /// restored; see `anonymize::coverage`.
    #[serde(default = "default_min_pattern_people")]
    pub min_pattern_people: usize,
    /// The attacker of the linkage attack (internal report, `max_linkage_success`).
    #[serde(default)]
    pub linkage: AttackerKnowledge,
    /// Conditions a release must meet, or nothing is written.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// A differentially private size chart beside the microdata (`sizechart.csv`, `.parquet`);
    /// none without the table.
    #[serde(default)]
    pub sizechart: Option<SizeChartConfig>,
    /// How `anonpub tabulate` protects the cells of a frequency table.
    #[serde(default)]
    pub tabulate: TabulateConfig,
}

fn default_k() -> usize {
    5
}
fn default_retention() -> u32 {
    12
}
fn default_license() -> String {
    "CC0-1.0".into()
}
fn default_version() -> String {
    "1.0.0".into()
}
fn default_exact_limit() -> usize {
    1000
}
fn default_max_malformed_share() -> f64 {
    0.01
}
fn default_min_pattern_people() -> usize {
    25
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl ReleaseConfig {
    /// Reads and validates a config file; a relative `schema` path is resolved against it.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read config", path, e))?;
        Self::parse(&text, path)
    }

    /// Parses and validates config text; `origin` names the file in errors and anchors a
    /// relative `schema` path.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let mut config: ReleaseConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| {
                let before = &text.as_bytes()[..s.start.min(text.len())];
                format!(
                    "line {}",
                    before.iter().filter(|&&b| b == b'\n').count() + 1
                )
            });
            Error::bad_file(origin, line, e.message().to_string())
        })?;
        if let Some(schema) = &config.schema {
            if schema.is_relative() {
                config.schema = Some(origin.parent().unwrap_or(Path::new(".")).join(schema));
            }
        }
        config.validate().map_err(|(field, problem)| {
            Error::bad_file(origin, Some(format!("field `{field}`")), problem)
        })?;
        Ok(config)
    }

    /// Checks ranges; returns the offending field and what was expected.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        k_anonymity::validate_k(self.k).map_err(|problem| ("k", problem.to_string()))?;
        if self.mdav_exact_limit == 0 {
            return Err(("mdav_exact_limit", "must be at least 1".into()));
        }
        if self.min_pattern_people == 0 {
            return Err(("min_pattern_people", "must be at least 1".into()));
        }
        self.linkage.validate()?;
        if !(0.0..=1.0).contains(&self.max_malformed_share) {
            return Err(("max_malformed_share", "must be between 0 and 1".into()));
        }
        if let Some(chart) = &self.sizechart {
            chart.validate().map_err(|error| match error {
                Error::InvalidArgument { name, problem } => (name, problem),
                other => ("sizechart", other.to_string()),
            })?;
        }
        self.tabulate.validate()?;
        self.thresholds.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<ReleaseConfig> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release.toml");
        std::fs::write(&path, text).unwrap();
        ReleaseConfig::load(&path)
    }

    #[test]
    fn defaults_and_overrides() {
        let config = load("k = 7\n[thresholds]\nmin_k = 7\n").unwrap();
        assert_eq!(
            (config.k, config.retention_months, config.license.as_str()),
            (7, 12, "CC0-1.0")
        );
        assert_eq!(ReleaseConfig::default().k, 5);
    }

    #[test]
    fn rejects_unknown_keys_wrong_types_and_bad_ranges() {
        let unknown = load("kk = 5\n").unwrap_err().to_string();
        assert!(
            unknown.contains("line 1") && unknown.contains("kk"),
            "{unknown}"
        );
        let wrong_type = load("k = \"five\"\n").unwrap_err().to_string();
        assert!(wrong_type.contains("line 1"), "{wrong_type}");
        let zero = load("k = 0\n").unwrap_err().to_string();
        assert!(zero.contains("field `k`"), "{zero}");
        let share = load("[thresholds]\nmax_suppressed_share = 1.5\n")
            .unwrap_err()
            .to_string();
        assert!(share.contains("max_suppressed_share"), "{share}");
        assert_eq!(ReleaseConfig::default().max_malformed_share, 0.01);
        for bad in ["1.5", "-0.1", "nan"] {
            let share = load(&format!("max_malformed_share = {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                share.contains("field `max_malformed_share`): must be between 0 and 1"),
                "{share}"
            );
        }
        let risk = load("[thresholds]\nmax_highest_risk = -0.1\n")
            .unwrap_err()
            .to_string();
        assert!(risk.contains("thresholds.max_highest_risk"), "{risk}");
        let error = load("[linkage]\nerror = -3\n").unwrap_err().to_string();
        assert!(error.contains("linkage.error"), "{error}");
        let noise = load("[linkage]\nnoise = \"laplace\"\n")
            .unwrap_err()
            .to_string();
        assert!(noise.contains("line 2"), "{noise}");
    }

    #[test]
    fn sizechart_and_tabulate_sections() {
        assert!(ReleaseConfig::default().sizechart.is_none());
        let config = load("[sizechart]\nepsilon = 0.5\n[tabulate]\nthreshold = 3\n").unwrap();
        let chart = config.sizechart.unwrap();
        assert_eq!((chart.epsilon, chart.measurements.len()), (0.5, 8));
        assert_eq!(config.tabulate.threshold, 3);
        let bad = load("[sizechart]\ndelta = 2\n").unwrap_err().to_string();
        assert!(bad.contains("field `sizechart.delta`"), "{bad}");
        let bad = load("[sizechart]\nepsilon = 2\nlifetime_epsilon = 1\n")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("sizechart.lifetime_epsilon"), "{bad}");
        let bad = load("[tabulate]\nthreshold = 0\n").unwrap_err().to_string();
        assert!(bad.contains("field `tabulate.threshold`"), "{bad}");
    }

    #[test]
    fn linkage_section() {
        let config = load("[linkage]\nknown = [\"chest\"]\nnoise = \"gaussian\"\n").unwrap();
        assert_eq!(config.linkage.known, ["chest"]);
        assert_eq!(config.linkage.error, 10.0);
        assert_eq!(ReleaseConfig::default().linkage.known.len(), 5);
    }
}
