//! The release configuration: one TOML file, validated once before any work starts.
//!
//! [`ReleaseConfig`] is what the file says (TOML syntax and types checked, nothing else);
//! command-line flags override it; [`ValidConfig::new`] then checks every rule once and is the
//! only way to a [`ValidConfig`], whose checked values ([`KAnonymity`], [`Share`],
//! [`ValidMethod`]) every stage trusts without checking them again.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::anonymize::engine::{Method, NumericRelease};
use crate::anonymize::{k_anonymity, ldiversity, tcloseness};
use crate::dp::config::SizeChartConfig;
use crate::error::{Error, Result};
use crate::gates::{MeasuredFrom, Thresholds};
use crate::risk::attack_settings::AttackSettings;
use crate::risk::linkage::AttackerKnowledge;
use crate::tabulate::config::TabulateConfig;

/// A release configuration file (`--config`). Unknown keys are errors, so a typo cannot silently
/// weaken a release.
///
/// It serializes (every section, defaults filled in) for the manifest's configuration digest,
/// [`crate::release::manifest::config_digest`]; the schema's path is left out there, since the
/// digest stands for the schema by the SHA-256 of its text.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    /// Minimum number of distinct people behind every released row.
    #[serde(default = "default_k")]
    pub k: usize,
    /// Months after the last login during which a person's data may be published.
    #[serde(default = "default_retention")]
    pub retention_months: u32,
    /// Dataset schema (relative to the config file); the embedded FreeSewing schema by default.
    #[serde(skip_serializing)]
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
    ///
    /// The default is 5 %: a production database's scattered bad rows, a few per thousand of
    /// each of several kinds, add up to one to three percent of the publishable sets (measured
    /// on independently generated databases, `scripts/independent_db.py`), and refusing them
    /// would refuse usable databases; the damage worth refusing (a truncated `User` table, a
    /// half-finished key rotation or migration) shows as tens of percent.
    #[serde(default = "default_max_malformed_share")]
    pub max_malformed_share: f64,
    /// Coverage planning completes smaller measurement patterns until each holds at least this
    /// many people (never fewer than k; 5, the default k, by default: spread restoration pools
    /// across patterns, so a pattern of one group needs no more); see `anonymize::coverage`.
    #[serde(default = "default_min_pattern_people")]
    pub min_pattern_people: usize,
    /// A set published with fewer measurements than this (after coverage planning) is
    /// suppressed instead; see `anonymize::coverage`. Never more than the schema has.
    #[serde(default = "default_min_published_measurements")]
    pub min_published_measurements: usize,
    /// The attacker of the linkage attack (internal report, `max_linkage_success`).
    #[serde(default)]
    pub linkage: AttackerKnowledge,
    /// Conditions a release must meet, or nothing is written.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Defences against attackers who know more than one release.
    #[serde(default)]
    pub defences: Defences,
    /// The simulated attacks of the internal report and their gates (`risk::attacks`).
    #[serde(default)]
    pub attacks: AttackSettings,
    /// A differentially private size chart beside the microdata (`sizechart.csv`, `.parquet`);
    /// none without the table.
    #[serde(default)]
    pub sizechart: Option<SizeChartConfig>,
    /// How `anonpub tabulate` protects the cells of a frequency table.
    #[serde(default)]
    pub tabulate: TabulateConfig,
    /// How `publish` anonymizes the rows (`[method]`): MDAV by default. Left out of the
    /// configuration digest while it is the default, so releases made before it existed keep
    /// their digest.
    #[serde(default, skip_serializing_if = "MethodConfig::is_default")]
    pub method: MethodConfig,
}

/// The `[method]` section: the anonymization method of `publish` and the privacy models beyond
/// k, with the meanings `anonymize`'s `--method`, `--l`, `--t` and `--suppression` have.
///
/// - `name = "mdav"` (the default): coverage-aware microaggregation of the numeric
///   quasi-identifiers with the keyed group noise and the simulated attacks (the measurements
///   release);
/// - `name = "global"`: optimal full-domain generalization over the schema's hierarchies, with
///   at most `suppression` of the records suppressed (default 0);
/// - `name = "mondrian"`: strict multidimensional partitioning (local recoding).
///
/// `l` asks for distinct l-diversity and `t` for t-closeness of every `sensitive` column of the
/// schema; both need a generalizing method, since the measurements release has no sensitive
/// column. `numeric = "means"` publishes Mondrian's numeric classes as their means.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MethodConfig {
    /// The method.
    #[serde(default = "default_method")]
    pub name: Method,
    /// Distinct values of every sensitive column per class (distinct l-diversity).
    pub l: Option<usize>,
    /// Largest distance of a class's sensitive values from the release's (t-closeness).
    pub t: Option<f64>,
    /// Global recoding: the largest share of records it may suppress.
    pub suppression: Option<f64>,
    /// Mondrian: how a numeric quasi-identifier is published, `"ranges"` (the default) or
    /// `"means"`. Left out of the configuration digest while unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericRelease>,
}

fn default_method() -> Method {
    Method::Mdav
}

impl Default for MethodConfig {
    fn default() -> Self {
        MethodConfig {
            name: default_method(),
            l: None,
            t: None,
            suppression: None,
            numeric: None,
        }
    }
}

impl MethodConfig {
    /// Whether the section asks for nothing but the default.
    pub fn is_default(&self) -> bool {
        *self == MethodConfig::default()
    }

    /// Whether the method generalizes cells (global recoding, Mondrian) rather than
    /// microaggregating measurements.
    pub fn generalizes(&self) -> bool {
        self.name != Method::Mdav
    }

    /// Checks ranges and that each key applies to the method; returns the checked section, or
    /// the offending field and what was expected.
    fn check(&self) -> std::result::Result<ValidMethod, (&'static str, String)> {
        let l = self
            .l
            .map(|l| {
                ldiversity::validate(l, ldiversity::Variant::Distinct)
                    .map(|()| LDiversity(l))
                    .map_err(|e| ("method.l", e.to_string()))
            })
            .transpose()?;
        let t = self
            .t
            .map(|t| {
                tcloseness::validate(t)
                    .map(|()| Share(t))
                    .map_err(|e| ("method.t", e.to_string()))
            })
            .transpose()?;
        if !self.generalizes() {
            for (field, set) in [
                ("method.l", self.l.is_some()),
                ("method.t", self.t.is_some()),
            ] {
                if set {
                    return Err((
                        field,
                        "needs name = \"global\" or \"mondrian\": the microaggregated \
                         measurements release has no sensitive column"
                            .into(),
                    ));
                }
            }
        }
        let suppression = match self.suppression {
            None => Share(0.0),
            Some(share) => {
                let share = Share::new(share)
                    .ok_or(("method.suppression", "must be between 0 and 1".to_string()))?;
                if self.name != Method::Global {
                    return Err((
                        "method.suppression",
                        "only global recoding (name = \"global\") suppresses records".into(),
                    ));
                }
                share
            }
        };
        if self.numeric.is_some() && self.name != Method::Mondrian {
            return Err((
                "method.numeric",
                "only Mondrian (name = \"mondrian\") publishes numeric classes as ranges or \
                 means"
                    .into(),
            ));
        }
        Ok(ValidMethod {
            name: self.name,
            l,
            t,
            suppression,
            numeric: self.numeric.unwrap_or(NumericRelease::Ranges),
        })
    }
}

/// The `[defences]` section: what the release does against differencing, planted accounts and
/// known members beyond k-anonymity.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Defences {
    /// Keyed noise on each group's released values, in standard deviations of each column
    /// (`anonymize::group_noise`); 0 turns it off. The default, 0.05 SD, is the smallest scale
    /// that took both differencing directions to 0 % recovered with a median error of at least
    /// 0.84 SD on every sample database measured (`BENCHMARKS.md`, *Attacks*), at a median KS
    /// cost within ±0.002.
    #[serde(default = "default_group_noise_sd")]
    pub group_noise_sd: f64,
    /// Days an account must exist before the `--as-of` date for its sets to count
    /// (`User.createdAt`); younger accounts are left out and counted. 0, the default, keeps every
    /// account: the planted-accounts attack recovers 0 % at k = 5 with the default noise
    /// (`BENCHMARKS.md`), and an age limit only delays an attacker who can wait for the next
    /// release while it leaves every genuine newcomer out of one. A data holder whose release
    /// dates are known in advance can set it to the time between announcing and taking a
    /// snapshot.
    #[serde(default)]
    pub min_account_age_days: u32,
}

/// The longest account age `min_account_age_days` accepts: ten years.
pub const MAX_ACCOUNT_AGE_DAYS: u32 = 3650;

fn default_group_noise_sd() -> f64 {
    0.05
}

impl Default for Defences {
    fn default() -> Self {
        Defences {
            group_noise_sd: default_group_noise_sd(),
            min_account_age_days: 0,
        }
    }
}

impl Defences {
    /// Checks ranges; returns the offending field and what was expected.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        if !(self.group_noise_sd.is_finite() && (0.0..=1.0).contains(&self.group_noise_sd)) {
            return Err((
                "defences.group_noise_sd",
                "must be between 0 (off) and 1 standard deviation".into(),
            ));
        }
        if self.min_account_age_days > MAX_ACCOUNT_AGE_DAYS {
            return Err((
                "defences.min_account_age_days",
                format!("must be at most {MAX_ACCOUNT_AGE_DAYS}"),
            ));
        }
        Ok(())
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
    0.05
}
fn default_min_pattern_people() -> usize {
    5
}
fn default_min_published_measurements() -> usize {
    3
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        let mut config: ReleaseConfig = toml::from_str("").expect("every field has a default");
        config.attacks.default_thresholds(&mut config.thresholds);
        config
    }
}

impl ReleaseConfig {
    /// Reads a config file ([`ReleaseConfig::parse`]); nothing in it is trusted before
    /// [`ValidConfig::new`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read config", path, e))?;
        Self::parse(&text, path)
    }

    /// Parses config text: TOML syntax, known keys and value types, naming the line of a
    /// mistake; `origin` names the file in errors and anchors a relative `schema` path. The
    /// attacks' thresholds take their defaults. Ranges and the rules between keys are
    /// [`ValidConfig::new`]'s.
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
        config.attacks.default_thresholds(&mut config.thresholds);
        Ok(config)
    }
}

/// The k of a release, checked: at least 2, and below 5 only where the configuration lowered
/// `[thresholds] min_k` to it ([`k_anonymity::validate_release_k`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KAnonymity(usize);

impl KAnonymity {
    /// k as the release policy allows it, or what is wrong with it.
    pub fn new(k: usize, min_k: Option<usize>) -> std::result::Result<Self, String> {
        k_anonymity::validate_release_k(k, min_k).map(|()| KAnonymity(k))
    }

    /// The number.
    pub fn get(self) -> usize {
        self.0
    }
}

/// A share (fraction) checked to lie in [0, 1]: finite, never NaN.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Share(f64);

impl Share {
    /// The share, if it lies in [0, 1].
    pub fn new(value: f64) -> Option<Self> {
        (0.0..=1.0).contains(&value).then_some(Share(value))
    }

    /// The number.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// The l of distinct l-diversity, checked to be at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LDiversity(usize);

impl LDiversity {
    /// The number.
    pub fn get(self) -> usize {
        self.0
    }
}

/// The `[method]` section checked: every key applies to the method and lies in its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidMethod {
    /// The method.
    pub name: Method,
    /// Distinct l-diversity of every sensitive column, if asked (generalizing methods only).
    pub l: Option<LDiversity>,
    /// t-closeness of every sensitive column, if asked (generalizing methods only).
    pub t: Option<Share>,
    /// The largest share of records global recoding may suppress (0 for the other methods).
    pub suppression: Share,
    /// How Mondrian publishes numeric quasi-identifiers.
    pub numeric: NumericRelease,
}

impl ValidMethod {
    /// Whether the method generalizes cells (global recoding, Mondrian) rather than
    /// microaggregating measurements.
    pub fn generalizes(&self) -> bool {
        self.name != Method::Mdav
    }
}

/// A release configuration that passed every check, made only by [`ValidConfig::new`]: the
/// one place the configuration's rules live. It reads as the [`ReleaseConfig`] it checked
/// (`Deref`), serializes as it (for the configuration digest), and carries the checked values
/// the stages use ([`ValidConfig::k`], [`ValidConfig::method`]).
#[derive(Debug, Clone)]
pub struct ValidConfig {
    checked: ReleaseConfig,
    checked_k: KAnonymity,
    checked_method: ValidMethod,
}

impl Deref for ValidConfig {
    type Target = ReleaseConfig;

    fn deref(&self) -> &ReleaseConfig {
        &self.checked
    }
}

impl Serialize for ValidConfig {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.checked.serialize(serializer)
    }
}

impl ValidConfig {
    /// Checks every rule of `config` once (ranges, and the rules between keys); returns the
    /// checked configuration, or the offending key (`k`, `method.l`, `sizechart.delta`, …) and
    /// what was expected. A generalizing method has no simulated attacks to run (they re-run
    /// microaggregation), so the attacks are turned off and their default gates cleared.
    pub fn new(mut config: ReleaseConfig) -> std::result::Result<Self, (&'static str, String)> {
        let k = KAnonymity::new(config.k, config.thresholds.min_k).map_err(|e| ("k", e))?;
        if config.mdav_exact_limit == 0 {
            return Err(("mdav_exact_limit", "must be at least 1".into()));
        }
        if config.min_pattern_people == 0 {
            return Err(("min_pattern_people", "must be at least 1".into()));
        }
        if config.min_published_measurements == 0 {
            return Err(("min_published_measurements", "must be at least 1".into()));
        }
        config.linkage.validate()?;
        if Share::new(config.max_malformed_share).is_none() {
            return Err(("max_malformed_share", "must be between 0 and 1".into()));
        }
        config.defences.validate()?;
        config.attacks.validate(&config.thresholds)?;
        if let Some(chart) = &config.sizechart {
            chart.validate().map_err(|error| match error {
                Error::InvalidArgument { name, problem } => (name, problem),
                other => ("sizechart", other.to_string()),
            })?;
        }
        config.tabulate.validate()?;
        let method = config.method.check()?;
        config.thresholds.validate()?;
        if method.generalizes() {
            config.attacks.enabled = false;
            config.thresholds.clear_from(MeasuredFrom::Simulation);
        } else if let Some(gate) = config
            .thresholds
            .set_from(MeasuredFrom::SensitiveColumn)
            .next()
        {
            return Err((
                gate.key,
                "a measurements release has no sensitive column, so l-diversity does not apply"
                    .into(),
            ));
        }
        Ok(ValidConfig {
            checked: config,
            checked_k: k,
            checked_method: method,
        })
    }

    /// Reads and checks a config file; an error names the file and the key.
    pub fn load(path: &Path) -> Result<Self> {
        Self::checked(ReleaseConfig::load(path)?, path)
    }

    /// Parses and checks config text; an error names `origin` and the line or key.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        Self::checked(ReleaseConfig::parse(text, origin)?, origin)
    }

    /// [`ValidConfig::new`] with an error naming the file the config came from.
    pub fn checked(config: ReleaseConfig, origin: &Path) -> Result<Self> {
        Self::new(config).map_err(|(field, problem)| {
            Error::bad_file(origin, Some(format!("field `{field}`")), problem)
        })
    }

    /// The checked k.
    pub fn k(&self) -> KAnonymity {
        self.checked_k
    }

    /// The checked `[method]` section.
    pub fn method(&self) -> &ValidMethod {
        &self.checked_method
    }

    /// The configuration as checked.
    pub fn release_config(&self) -> &ReleaseConfig {
        &self.checked
    }
}

impl Default for ValidConfig {
    fn default() -> Self {
        ValidConfig::new(ReleaseConfig::default()).expect("the default configuration is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<ValidConfig> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release.toml");
        std::fs::write(&path, text).unwrap();
        ValidConfig::load(&path)
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
        let low = load("k = 3\n").unwrap_err().to_string();
        assert!(low.contains("min_k = 3"), "{low}");
        assert_eq!(load("k = 3\n[thresholds]\nmin_k = 3\n").unwrap().k, 3);
        let share = load("[thresholds]\nmax_suppressed_share = 1.5\n")
            .unwrap_err()
            .to_string();
        assert!(share.contains("max_suppressed_share"), "{share}");
        assert_eq!(ReleaseConfig::default().max_malformed_share, 0.05);
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
    fn defences_and_attacks_sections() {
        let defaults = ReleaseConfig::default();
        assert_eq!(defaults.defences, Defences::default());
        assert_eq!(defaults.defences.group_noise_sd, 0.05);
        assert_eq!(defaults.defences.min_account_age_days, 0);
        assert_eq!(defaults.thresholds.max_differencing_recovered, Some(0.03));
        let set = load("[defences]\ngroup_noise_sd = 0.1\nmin_account_age_days = 7\n[thresholds]\nmax_fake_accounts_recovered = 0.1\n").unwrap();
        assert_eq!(set.defences.group_noise_sd, 0.1);
        assert_eq!(set.defences.min_account_age_days, 7);
        assert_eq!(set.thresholds.max_fake_accounts_recovered, Some(0.1));
        assert_eq!(set.thresholds.max_public_exposed_share, Some(0.0));
        // Off: no noise, no attacks, no attack thresholds.
        let off = load("[defences]\ngroup_noise_sd = 0\n[attacks]\nenabled = false\n").unwrap();
        assert_eq!(off.thresholds, Thresholds::default());
        for (text, field) in [
            (
                "[defences]\ngroup_noise_sd = -0.1\n",
                "defences.group_noise_sd",
            ),
            (
                "[defences]\ngroup_noise_sd = nan\n",
                "defences.group_noise_sd",
            ),
            (
                "[defences]\nmin_account_age_days = 4000\n",
                "defences.min_account_age_days",
            ),
            ("[attacks]\ntargets = 0\n", "attacks.targets"),
            (
                "[attacks]\nenabled = false\n[thresholds]\nmax_differencing_recovered = 0.1\n",
                "attacks.enabled",
            ),
            (
                "[thresholds]\nmax_public_exposed_share = 2\n",
                "thresholds.max_public_exposed_share",
            ),
        ] {
            let error = load(text).unwrap_err().to_string();
            assert!(
                error.contains(&format!("field `{field}`")),
                "{text}: {error}"
            );
        }
        assert!(load("[defences]\nnoise = 1\n").is_err());
    }

    #[test]
    fn sizechart_and_tabulate_sections() {
        assert!(ReleaseConfig::default().sizechart.is_none());
        let config = load("[sizechart]\nepsilon = 0.5\n[tabulate]\nthreshold = 3\n").unwrap();
        let chart = config.sizechart.clone().unwrap();
        assert_eq!((chart.epsilon, chart.measurements.len()), (0.5, 4));
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
    fn method_section() {
        let defaults = ReleaseConfig::default();
        assert!(defaults.method.is_default() && !defaults.method.generalizes());
        // The default section stays out of the digest's JSON.
        assert!(serde_json::to_value(&defaults)
            .unwrap()
            .get("method")
            .is_none());
        let global =
            load("[method]\nname = \"global\"\nl = 2\nt = 0.5\nsuppression = 0.01\n").unwrap();
        assert_eq!(global.method().name, Method::Global);
        assert_eq!(
            (
                global.method().l.map(LDiversity::get),
                global.method().t.map(Share::get),
                global.method().suppression.get()
            ),
            (Some(2), Some(0.5), 0.01)
        );
        // A generalizing method runs no simulated attacks, so their default gates are cleared.
        assert!(!global.attacks.enabled && global.thresholds.max_differencing_recovered.is_none());
        let means = load("[method]\nname = \"mondrian\"\nnumeric = \"means\"\n").unwrap();
        assert_eq!(means.method().numeric, NumericRelease::Means);
        assert!(serde_json::to_value(&global)
            .unwrap()
            .get("method")
            .is_some());
        for (text, field) in [
            ("[method]\nl = 2\n", "method.l"),
            ("[method]\nt = 0.2\n", "method.t"),
            ("[method]\nname = \"mondrian\"\nl = 0\n", "method.l"),
            ("[method]\nname = \"global\"\nt = 1.5\n", "method.t"),
            (
                "[method]\nname = \"mondrian\"\nsuppression = 0.1\n",
                "method.suppression",
            ),
            (
                "[method]\nname = \"global\"\nsuppression = 2\n",
                "method.suppression",
            ),
            ("[method]\nnumeric = \"means\"\n", "method.numeric"),
            ("[thresholds]\nmin_l = 2\n", "thresholds.min_l"),
        ] {
            let error = load(text).unwrap_err().to_string();
            assert!(
                error.contains(&format!("field `{field}`")),
                "{text}: {error}"
            );
        }
        assert!(load("[method]\nname = \"arx\"\n").is_err());
    }

    #[test]
    fn linkage_section() {
        let config = load("[linkage]\nknown = [\"chest\"]\nnoise = \"gaussian\"\n").unwrap();
        assert_eq!(config.linkage.known, ["chest"]);
        assert_eq!(config.linkage.error, 10.0);
        assert_eq!(ReleaseConfig::default().linkage.known.len(), 5);
    }

    /// What the config parser promises on any text: it refuses or accepts, never panics, and a
    /// config it accepts passes its own range checks.
    fn parse_holds_its_promise(text: &str) {
        match ValidConfig::parse(text, Path::new("release.toml")) {
            Ok(config) => {
                // Checking again finds nothing: the checked config is what the stages trust.
                let again = ValidConfig::new(config.release_config().clone());
                assert!(again.is_ok(), "accepted but invalid: {text:?}");
                assert!(config.k >= 2 && config.k().get() == config.k);
                assert!(config.mdav_exact_limit >= 1);
                assert!(config.k >= 5 || config.thresholds.min_k.is_some_and(|m| m <= config.k));
                if let Some(share) = config.thresholds.max_suppressed_share {
                    assert!((0.0..=1.0).contains(&share));
                }
                let method = config.method();
                assert!((0.0..=1.0).contains(&method.suppression.get()));
                assert!(method.t.is_none_or(|t| (0.0..=1.0).contains(&t.get())));
                assert!(method.l.is_none_or(|l| l.get() >= 1));
                assert!(method.generalizes() || (method.l.is_none() && method.t.is_none()));
                assert!(!method.generalizes() || !config.attacks.enabled);
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }

    /// The inputs fuzzing found for the config parser, committed in `fuzz/corpus/config`. The
    /// config reaches into every section's settings (methods, log filters, attacks), more than
    /// the fuzz crate compiles, so the parser's fuzz knowledge is replayed here instead.
    fn config_corpus() -> &'static [String] {
        static CORPUS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        CORPUS.get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/config");
            let mut inputs: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|entry| std::fs::read(entry.unwrap().path()).ok())
                .filter_map(|bytes| String::from_utf8(bytes).ok())
                .collect();
            inputs.sort();
            inputs
        })
    }

    #[test]
    fn every_input_of_the_fuzz_corpus_is_refused_or_valid() {
        let corpus = config_corpus();
        assert!(corpus.len() > 100, "the corpus is committed");
        for text in corpus {
            parse_holds_its_promise(text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]
        /// Mutations of corpus inputs: a slice cut out, a number or a key spliced in.
        #[test]
        fn mutated_corpus_inputs_are_refused_or_valid(
            pick in 0usize..10_000,
            cut in 0usize..4_096,
            splice in proptest::sample::select(vec![
                "0", "1", "-1", "1e309", "nan", "inf", "18446744073709551616", "0.0000001",
                "\"\"", "[]", "{}", "\n[method]\n", "\n[thresholds]\n", "\n[sizechart]\n",
                "\n[tabulate]\n", "\nk = ", "\nl = ", "\nt = ", "=", "\"", "\u{feff}",
            ]),
        ) {
            let corpus = config_corpus();
            let text = &corpus[pick % corpus.len()];
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            parse_holds_its_promise(&format!("{}{splice}{}", &text[..at], &text[at..]));
        }
    }
}
