//! The `[sizechart]` section of the release configuration, on its own so that the config (and
//! the fuzzing of its parser) needs none of the mechanisms.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::measurements::Catalog;

/// The `[sizechart]` table of a release config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeChartConfig {
    /// ε of the whole chart (all measurements and strata together).
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// δ of the whole chart; well below 1/(number of people).
    #[serde(default = "default_delta")]
    pub delta: f64,
    /// Measurement names (schema names or aliases). By default the primary dimensions a size
    /// table is built on (ISO 8559-2: chest or bust girth, waist and hip girth, and a height-like
    /// length, here FreeSewing's `waistToFloor`): the whole ε goes to four measurements, enough
    /// for their tail percentiles, rather than being spread over eight that would each publish
    /// little more than a mean and a median.
    #[serde(default = "default_measurements")]
    pub measurements: Vec<String>,
    /// How people are split into disjoint strata, each charted with the whole ρ (parallel
    /// composition); one chart over everyone by default.
    #[serde(default)]
    pub strata: Strata,
    /// The most ε that all size charts of these people may spend together, checked against the
    /// data holder's ledger ([`crate::ledger::Ledger::check`]); no limit by default.
    #[serde(default)]
    pub lifetime_epsilon: Option<f64>,
    /// Bands of one or two primary dimensions (as ISO 8559-2 size tables are built, for example
    /// chest girth × height), crossed with `strata`: each band cell is a stratum of its own.
    #[serde(default)]
    pub bands: Option<BandsConfig>,
    /// A figure is published only when its 95 % error is at most this many reference SDs of its
    /// measurement (a noisy figure is worse than none for a size-chart maker).
    #[serde(default = "default_tolerance_sd")]
    pub tolerance_sd: f64,
    /// Public reference SDs by measurement name, in the measurement's unit, for measurements
    /// that FreeSewing's size models do not cover or to replace theirs. Public: never computed
    /// from the data being charted.
    #[serde(default)]
    pub reference_sd: BTreeMap<String, f64>,
    /// Public reference means by measurement name, in the measurement's unit, beside
    /// `reference_sd`: the centre of the public window values are clamped to. A measurement with
    /// neither these nor FreeSewing's size models is refused rather than charted around a guess.
    #[serde(default)]
    pub reference_mean: BTreeMap<String, f64>,
}

fn default_tolerance_sd() -> f64 {
    0.25
}

/// The `[sizechart.bands]` table: the primary dimensions of a two-way (or one-way) size table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandsConfig {
    /// One or two measurement names (schema names or aliases), for example `["chest",
    /// "waistToFloor"]`.
    pub by: Vec<String>,
    /// Each band's width in reference SDs of its measurement.
    #[serde(default = "default_band_width")]
    pub width_sd: f64,
    /// Bands per dimension, centred on the reference mean; the first and last are open-ended.
    #[serde(default = "default_band_count")]
    pub count: usize,
}

fn default_band_width() -> f64 {
    1.0
}

fn default_band_count() -> usize {
    4
}

fn default_epsilon() -> f64 {
    1.0
}

fn default_delta() -> f64 {
    1e-6
}

fn default_measurements() -> Vec<String> {
    ["chest", "waist", "hips", "waistToFloor"]
        .map(String::from)
        .to_vec()
}

impl Default for SizeChartConfig {
    fn default() -> Self {
        SizeChartConfig {
            epsilon: default_epsilon(),
            delta: default_delta(),
            measurements: default_measurements(),
            strata: Strata::default(),
            lifetime_epsilon: None,
            bands: None,
            tolerance_sd: default_tolerance_sd(),
            reference_sd: BTreeMap::new(),
            reference_mean: BTreeMap::new(),
        }
    }
}

impl SizeChartConfig {
    /// Refuses a budget that is not a positive ε and a δ in (0, 1).
    pub fn validate(&self) -> Result<()> {
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(Error::InvalidArgument {
                name: "sizechart.epsilon",
                problem: "must be a positive number".into(),
            });
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(Error::InvalidArgument {
                name: "sizechart.delta",
                problem: "must lie strictly between 0 and 1".into(),
            });
        }
        if let Some(lifetime) = self.lifetime_epsilon {
            if !(lifetime.is_finite() && lifetime >= self.epsilon) {
                return Err(Error::InvalidArgument {
                    name: "sizechart.lifetime_epsilon",
                    problem: "must be a number at least as large as sizechart.epsilon".into(),
                });
            }
        }
        if !(self.tolerance_sd.is_finite() && self.tolerance_sd > 0.0) {
            return Err(Error::InvalidArgument {
                name: "sizechart.tolerance_sd",
                problem: "must be a positive number".into(),
            });
        }
        if let Some((name, _)) = self
            .reference_sd
            .iter()
            .find(|(_, sd)| !(sd.is_finite() && **sd > 0.0))
        {
            return Err(Error::InvalidArgument {
                name: "sizechart.reference_sd",
                problem: format!("`{name}` must be a positive number"),
            });
        }
        if let Some((name, _)) = self.reference_mean.iter().find(|(_, m)| !m.is_finite()) {
            return Err(Error::InvalidArgument {
                name: "sizechart.reference_mean",
                problem: format!("`{name}` must be a number"),
            });
        }
        if let Some(bands) = &self.bands {
            let valid = (1..=2).contains(&bands.by.len())
                && bands.width_sd.is_finite()
                && bands.width_sd > 0.0
                && (2..=12).contains(&bands.count);
            if !valid {
                return Err(Error::InvalidArgument {
                    name: "sizechart.bands",
                    problem: "`by` must name one or two measurements, `width_sd` be positive and \
                              `count` lie in 2‥12"
                        .into(),
                });
            }
        }
        if self.measurements.is_empty() {
            return Err(Error::InvalidArgument {
                name: "sizechart.measurements",
                problem: "must name at least one measurement".into(),
            });
        }
        Ok(())
    }
}

/// How people are split into disjoint strata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strata {
    /// One chart over everyone.
    #[default]
    None,
    /// Sets with at least one breasts-only measurement, and sets without.
    BreastsOnlyMeasurements,
}

impl Strata {
    /// The rule as the config writes it.
    pub fn rule(self) -> &'static str {
        match self {
            Strata::None => "none",
            Strata::BreastsOnlyMeasurements => "breasts-only-measurements",
        }
    }

    /// The names of the strata, indexed like [`Strata::of`].
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Strata::None => &["all"],
            Strata::BreastsOnlyMeasurements => &[
                "with breasts-only measurements",
                "without breasts-only measurements",
            ],
        }
    }

    /// The stratum of a person's chosen set (all catalogue values, NaN = missing).
    pub fn of(self, catalog: &Catalog, set: &[f64]) -> usize {
        match self {
            Strata::None => 0,
            Strata::BreastsOnlyMeasurements => {
                let has_breasts_only =
                    (0..catalog.len()).any(|i| catalog.breasts_only(i) && !set[i].is_nan());
                usize::from(!has_breasts_only)
            }
        }
    }
}
