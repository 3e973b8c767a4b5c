//! The `sizechart` entry of `report.json`, as plain data: what the differentially private size
//! chart spent, on which figures, with which public bounds, and what its error columns mean.
//!
//! It belongs to the release contract (publish writes it, verify reads it back), so it is defined
//! here, next to the report, and depends on nothing else: the mechanisms that fill it in
//! ([`crate::dp`]) and the checks that re-read it ([`crate::verify`]) both depend on it, never the
//! other way round.

use serde::{Deserialize, Serialize};

/// The `sizechart` entry of `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeChartReport {
    /// The privacy unit (`person`).
    pub privacy_unit: String,
    /// Which set represents a person.
    pub set_choice: String,
    /// How people are split into strata (the configured rule, as written in the config).
    pub strata_rule: String,
    /// The strata, in chart order.
    pub strata: Vec<String>,
    /// The chart's measurements with the public bounds values are clamped to, the grid step and
    /// the public reference the tolerance is measured in.
    pub measurements: Vec<ChartMeasurement>,
    /// The percentiles of the chart's columns.
    pub percentiles: Vec<u32>,
    /// A figure is published only when its `_error95` is at most this many reference SDs.
    pub tolerance_sd: f64,
    /// What the `_error95` columns mean, and how they are derived.
    pub expected_error: String,
    /// Why cells are empty: each reason with the number of cells it emptied.
    pub withheld: Vec<WithheldCount>,
    /// The budget: configured (ε, δ), zCDP total, and every figure's spend and mechanism.
    pub budget: ChartBudget,
    /// The configured lifetime budget of all size charts of these people, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_epsilon: Option<f64>,
}

/// A chart measurement as the report states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartMeasurement {
    /// The measurement's schema name.
    pub name: String,
    /// Its unit (`mm`, `deg`).
    pub unit: String,
    /// The lower end of the public window values are clamped to: the schema's plausible range
    /// narrowed to the reference mean ± 4 reference SDs.
    pub lower: f64,
    /// The upper end of that range.
    pub upper: f64,
    /// The grid step values are rounded to.
    pub step: f64,
    /// The public reference mean (the centre of the sums behind mean and SD).
    pub reference_mean: f64,
    /// The public reference SD the tolerance is a multiple of.
    pub reference_sd: f64,
    /// Where the reference comes from (FreeSewing's size models, the config, or the range).
    pub reference: String,
}

/// How many cells one reason left empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithheldCount {
    /// Why.
    pub reason: String,
    /// How many cells (figure and its `_error95`) of the chart.
    pub cells: usize,
}

/// One figure's spend, in one stratum and measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureBudget {
    /// The stratum.
    pub stratum: String,
    /// The measurement (empty for a spend shared by none: there is none today).
    pub measurement: String,
    /// Which figure: `n`, `P5 centre`, `percentile cells`, `sum`, `sum of squares`.
    pub figure: String,
    /// The mechanism (`discrete-gaussian` or `exponential-mechanism`), which fixes how its cost
    /// is counted in ρ.
    pub mechanism: String,
    /// The zCDP ρ the figure spends.
    pub rho: f64,
    /// ε of the exponential mechanism (pure DP), where that is the mechanism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// The discrete Gaussian's σ in the figure's own units (people, clamped units, squared
    /// units), where that is the mechanism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_sd: Option<f64>,
}

/// The chart's budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartBudget {
    /// The configured ε of the whole chart.
    pub epsilon: f64,
    /// The configured δ of the whole chart.
    pub delta: f64,
    /// The zCDP budget of each stratum: the largest ρ whose conversion meets (ε, δ).
    pub rho: f64,
    /// The neighbouring datasets the guarantee is stated for.
    pub neighbours: String,
    /// How the figures' costs add up and how ρ converts to (ε, δ), with citations.
    pub composition: String,
    /// How the budget was split over the figures.
    pub allocation: String,
    /// Every spend, stratum by stratum.
    pub figures: Vec<FigureBudget>,
    /// ρ spent in the most expensive stratum (≤ `rho`).
    pub rho_spent: f64,
}
