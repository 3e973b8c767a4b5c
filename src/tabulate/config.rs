//! The `[tabulate]` table of a config file: how `anonpub tabulate` protects its cells.
//!
//! Two protections, one per release:
//! - `protection = "suppression"` (the default): exact counts, cells of fewer than `threshold`
//!   people suppressed together with what would give them away ([`super::suppress`]);
//! - `protection = "dp"`: every count with discrete Laplace or Gaussian noise under a total
//!   (ε, δ), each person limited to `max_cells_per_person` cells, and only cells whose noisy
//!   count reaches a release threshold published ([`super::dp`]).
//!
//! Both bound each person's events in a cell by `max_events_per_person`. `[tabulate.log]` sets
//! the filters of access logs ([`LogFilters`]).

use serde::{Deserialize, Serialize};

pub use crate::extract::access_log::LogFilters;
pub use crate::release::frequency::CountNoise;

/// How the cells are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protection {
    /// Small-cell suppression with secondary suppression.
    #[default]
    Suppression,
    /// Differentially private counts.
    Dp,
}

/// The `[tabulate]` table. Unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabulateConfig {
    /// The column that identifies a person (the privacy unit); `--person` overrides it.
    #[serde(default)]
    pub person: Option<String>,
    /// Suppression or DP counts.
    #[serde(default)]
    pub protection: Protection,
    /// Suppression: cells of 1 to `threshold - 1` people are not published.
    #[serde(default = "default_threshold")]
    pub threshold: u64,
    /// DP: ε of the whole table.
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// DP: δ of the whole table (the release threshold's share, and the Gaussian's).
    #[serde(default = "default_delta")]
    pub delta: f64,
    /// DP: the noise.
    #[serde(default)]
    pub mechanism: CountNoise,
    /// DP: a person counts in at most this many cells (the rest of their cells, drawn at random,
    /// do not count them); the sensitivity of the table.
    #[serde(default = "default_max_cells")]
    pub max_cells_per_person: u64,
    /// Both protections: a person adds at most this many events (page views) to a cell, so that
    /// no single heavy visitor dominates a published events count; the DP events' sensitivity.
    #[serde(default = "default_max_events")]
    pub max_events_per_person: u64,
    /// Access logs: which lines count.
    #[serde(default)]
    pub log: LogFilters,
}

fn default_threshold() -> u64 {
    10
}
fn default_epsilon() -> f64 {
    1.0
}
fn default_delta() -> f64 {
    1e-6
}
/// Four cells per person: a visitor of a page × day table is seldom in more, and each cell more
/// raises the noise and the release threshold in proportion.
fn default_max_cells() -> u64 {
    4
}
/// Five views of a page in a cell count; reloads beyond that say little about the page.
fn default_max_events() -> u64 {
    5
}

impl Default for TabulateConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl TabulateConfig {
    /// Checks ranges; returns the offending field (under `tabulate.`) and what was expected.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        if self.threshold == 0 {
            return Err(("tabulate.threshold", "must be at least 1".into()));
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(("tabulate.epsilon", "must be a positive number".into()));
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(("tabulate.delta", "must lie strictly between 0 and 1".into()));
        }
        if self.max_cells_per_person == 0 {
            return Err(("tabulate.max_cells_per_person", "must be at least 1".into()));
        }
        if self.max_events_per_person == 0 {
            return Err((
                "tabulate.max_events_per_person",
                "must be at least 1".into(),
            ));
        }
        self.log.validate()?;
        if self.person.as_deref() == Some("") {
            return Err(("tabulate.person", "must name a column".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values() {
        let config = TabulateConfig::default();
        assert_eq!(config.protection, Protection::Suppression);
        assert_eq!((config.threshold, config.max_cells_per_person), (10, 4));
        assert_eq!(config.max_events_per_person, 5);
        assert!(config.validate().is_ok());
        let dp: TabulateConfig =
            toml::from_str("protection = \"dp\"\nmechanism = \"gaussian\"\nepsilon = 0.5").unwrap();
        assert_eq!(
            (dp.protection, dp.mechanism),
            (Protection::Dp, CountNoise::Gaussian)
        );
        assert!(toml::from_str::<TabulateConfig>("treshold = 5").is_err());
        for (bad, field) in [
            ("threshold = 0", "tabulate.threshold"),
            ("epsilon = 0", "tabulate.epsilon"),
            ("delta = 1", "tabulate.delta"),
            ("max_cells_per_person = 0", "tabulate.max_cells_per_person"),
            (
                "max_events_per_person = 0",
                "tabulate.max_events_per_person",
            ),
            ("[log]\nstatuses = [\"2x\"]", "tabulate.log.statuses"),
            ("person = \"\"", "tabulate.person"),
        ] {
            let config: TabulateConfig = toml::from_str(bad).unwrap();
            assert_eq!(config.validate().unwrap_err().0, field, "{bad}");
        }
    }
}
