//! The release configuration: one TOML file, validated once before any work starts.
//!
//! Command-line flags override the file; the merged, checked result is what every stage trusts.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::risk::linkage::AttackerKnowledge;

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
}

/// Publish gates. Each unset threshold is not checked. `report.json` records them all, and
/// `verify` re-checks those that can be measured on the release alone.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// The achieved k (people in the smallest group) must be at least this.
    pub min_k: Option<usize>,
    /// At most this share of eligible records may be suppressed.
    pub max_suppressed_share: Option<f64>,
    /// Highest prosecutor risk of any released row (1 / its number of identical rows).
    pub max_highest_risk: Option<f64>,
    /// Prosecutor risk averaged over released rows (classes / rows).
    pub max_average_risk: Option<f64>,
    /// Share of released rows whose risk exceeds 1/k, i.e. in classes of fewer than k rows.
    pub max_records_at_risk: Option<f64>,
    /// Share of released records the linkage attack links to their own group.
    pub max_linkage_success: Option<f64>,
    /// Share of the measurements the attacker did not know that the linked row reveals within
    /// ±2 %.
    pub max_interval_disclosure: Option<f64>,
    /// Distinct sensitive values per class (l-diversity), for releases with a sensitive column.
    pub min_l: Option<usize>,
}

/// What a release measured, for [`Thresholds::evaluate`]; `None` where a figure is not known
/// (not computed, or not derivable from what the caller has).
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub k: Option<usize>,
    pub suppressed_share: Option<f64>,
    pub highest_risk: Option<f64>,
    pub average_risk: Option<f64>,
    pub records_at_risk: Option<f64>,
    pub linkage_success: Option<f64>,
    pub interval_disclosure: Option<f64>,
    pub l: Option<usize>,
}

/// The verdict on one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The threshold's key in `[thresholds]`.
    pub name: &'static str,
    pub passed: bool,
    pub measured: String,
    pub required: String,
}

impl Gate {
    /// The error `publish` stops with when this gate failed.
    pub fn into_error(self) -> Error {
        Error::ThresholdFailed {
            name: self.name.into(),
            measured: self.measured,
            required: self.required,
        }
    }
}

impl Thresholds {
    /// Judges every threshold that is set and whose figure was measured, in declaration order.
    pub fn evaluate(&self, measured: &Measured) -> Vec<Gate> {
        let minimum = |name, limit: Option<usize>, value: Option<usize>| {
            Some((limit?, value?)).map(|(limit, value)| Gate {
                name,
                passed: value >= limit,
                measured: value.to_string(),
                required: format!(">= {limit}"),
            })
        };
        let maximum = |name, limit: Option<f64>, value: Option<f64>| {
            Some((limit?, value?)).map(|(limit, value)| Gate {
                name,
                passed: value <= limit,
                measured: format!("{value:.6}"),
                required: format!("<= {limit}"),
            })
        };
        [
            minimum("min_k", self.min_k, measured.k),
            maximum(
                "max_suppressed_share",
                self.max_suppressed_share,
                measured.suppressed_share,
            ),
            maximum(
                "max_highest_risk",
                self.max_highest_risk,
                measured.highest_risk,
            ),
            maximum(
                "max_average_risk",
                self.max_average_risk,
                measured.average_risk,
            ),
            maximum(
                "max_records_at_risk",
                self.max_records_at_risk,
                measured.records_at_risk,
            ),
            maximum(
                "max_linkage_success",
                self.max_linkage_success,
                measured.linkage_success,
            ),
            maximum(
                "max_interval_disclosure",
                self.max_interval_disclosure,
                measured.interval_disclosure,
            ),
            minimum("min_l", self.min_l, measured.l),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The first failing gate among those measured, as the error `publish` stops with.
    pub fn check(&self, measured: &Measured) -> Result<()> {
        match self
            .evaluate(measured)
            .into_iter()
            .find(|gate| !gate.passed)
        {
            Some(gate) => Err(gate.into_error()),
            None => Ok(()),
        }
    }

    /// Whether a threshold needs the linkage attack.
    pub fn need_linkage(&self) -> bool {
        self.max_linkage_success.is_some() || self.max_interval_disclosure.is_some()
    }
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
        if self.k == 0 {
            return Err(("k", "must be at least 1".into()));
        }
        if self.mdav_exact_limit == 0 {
            return Err(("mdav_exact_limit", "must be at least 1".into()));
        }
        if self.min_pattern_people == 0 {
            return Err(("min_pattern_people", "must be at least 1".into()));
        }
        self.linkage.validate()?;
        let thresholds = &self.thresholds;
        for (field, share) in [
            ("max_malformed_share", Some(self.max_malformed_share)),
            (
                "thresholds.max_suppressed_share",
                thresholds.max_suppressed_share,
            ),
            ("thresholds.max_highest_risk", thresholds.max_highest_risk),
            ("thresholds.max_average_risk", thresholds.max_average_risk),
            (
                "thresholds.max_records_at_risk",
                thresholds.max_records_at_risk,
            ),
            (
                "thresholds.max_linkage_success",
                thresholds.max_linkage_success,
            ),
            (
                "thresholds.max_interval_disclosure",
                thresholds.max_interval_disclosure,
            ),
        ] {
            if share.is_some_and(|share| !(0.0..=1.0).contains(&share)) {
                return Err((field, "must be between 0 and 1".into()));
            }
        }
        if thresholds.min_k == Some(0) {
            return Err(("thresholds.min_k", "must be at least 1".into()));
        }
        if thresholds.min_l == Some(0) {
            return Err(("thresholds.min_l", "must be at least 1".into()));
        }
        Ok(())
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
    fn linkage_section() {
        let config = load("[linkage]\nknown = [\"chest\"]\nnoise = \"gaussian\"\n").unwrap();
        assert_eq!(config.linkage.known, ["chest"]);
        assert_eq!(config.linkage.error, 10.0);
        assert_eq!(ReleaseConfig::default().linkage.known.len(), 5);
    }

    #[test]
    fn gates_judge_only_what_is_set_and_measured() {
        let thresholds = Thresholds {
            min_k: Some(5),
            max_highest_risk: Some(0.2),
            max_linkage_success: Some(0.5),
            ..Thresholds::default()
        };
        let measured = Measured {
            k: Some(5),
            highest_risk: Some(0.25),
            average_risk: Some(0.1),
            ..Measured::default()
        };
        let gates = thresholds.evaluate(&measured);
        assert_eq!(
            gates.iter().map(|g| (g.name, g.passed)).collect::<Vec<_>>(),
            [("min_k", true), ("max_highest_risk", false)]
        );
        let error = thresholds.check(&measured).unwrap_err().to_string();
        assert!(
            error.contains("max_highest_risk")
                && error.contains("0.250000")
                && error.contains("<= 0.2"),
            "{error}"
        );
        assert!(thresholds.need_linkage());
        assert!(!Thresholds::default().need_linkage());
    }
}
