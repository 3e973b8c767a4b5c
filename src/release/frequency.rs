//! A frequency-table release: `frequencies.csv` / `.parquet` and its `report.json`.
//!
//! This is the contract between the engine that makes a table (`tabulate`) and the readers of the
//! release (`verify`, anyone): plain types only, so that the release format depends on nothing
//! but itself.
//!
//! **Lines.** One line per cell that has something to publish: the `by` columns (coarsened keys),
//! `people` (distinct people in the cell), `events` (events — page views of a log — with each
//! person's contribution to the cell bounded), and `status`: `published`, `primary` (suppressed:
//! below the threshold), `secondary` (suppressed so that a primary entry cannot be recomputed) or
//! `noisy` (a DP count, then with `people_error95` and `events_error95`, the half-width of the
//! 95 % interval of its noise). A combination of keys with no line had no one in it (suppression)
//! or did not reach the release threshold (DP): absent cells are never listed as zeros. Margins
//! follow the cells, with an empty key in each column they range over; they count distinct people
//! themselves (a person in two cells of a row counts once in the row), they are not sums of cells.
//! Input cells that were empty have the key `(missing)`.
//!
//! **Report.** [`FrequencyReport`] says what was read (format, lines left out by reason, time
//! zone), what was counted (the person column, the `by` columns and their coarsening), how cells
//! were protected (threshold, or DP noise and budget), and how many lines there are, so that
//! `verify` can re-check the table against it. It is written and read back as the same type.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::plain::{PlainTable, PlainValues, TextRows};
use crate::dp::budget::{epsilon_for, rho_for};
use crate::release::REPORT_FILE;

/// `kind` of a frequency-table report, which tells `verify` what it reads.
pub const FREQUENCY_KIND: &str = "frequency-table";

/// The column of distinct people.
pub const PEOPLE_COLUMN: &str = "people";
/// The column of events (log lines, page views) with each person's contribution bounded.
pub const EVENTS_COLUMN: &str = "events";
/// DP only: the half-width of the 95 % interval of a people count's noise.
pub const PEOPLE_ERROR_COLUMN: &str = "people_error95";
/// DP only: the half-width of the 95 % interval of an events count's noise.
pub const EVENTS_ERROR_COLUMN: &str = "events_error95";
/// The column that says how a line was protected.
pub const STATUS_COLUMN: &str = "status";

/// How a line's counts are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellStatus {
    /// Exact counts, published.
    Published,
    /// Suppressed: fewer people than the threshold.
    Primary,
    /// Suppressed so that a primary entry cannot be recomputed.
    Secondary,
    /// Differentially private counts, published.
    Noisy,
}

impl CellStatus {
    /// The word in the `status` column.
    pub fn name(self) -> &'static str {
        match self {
            CellStatus::Published => "published",
            CellStatus::Primary => "primary",
            CellStatus::Secondary => "secondary",
            CellStatus::Noisy => "noisy",
        }
    }

    /// Whether the counts are given.
    pub fn is_published(self) -> bool {
        matches!(self, CellStatus::Published | CellStatus::Noisy)
    }
}

/// One line of a frequency table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrequencyLine {
    /// One key per `by` column; `None` in a margin (all values of that column).
    pub key: Vec<Option<String>>,
    /// Distinct people; `None` when suppressed.
    pub people: Option<u64>,
    /// Events with each person's contribution bounded; `None` when suppressed.
    pub events: Option<u64>,
    /// How the line is published.
    pub status: CellStatus,
}

/// A protected frequency table as it is released.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyLines {
    /// The key columns, in order.
    pub by: Vec<String>,
    /// Cells in key order, then margins.
    pub lines: Vec<FrequencyLine>,
    /// DP only: the 95 % half-widths of the people and events counts' noise, given on every line.
    pub error95: Option<(u64, u64)>,
}

/// One `by` column of the report: its name and how its values were coarsened (`none`, `hour`,
/// `day`, `week`, `month`, `network24`, `network16`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyColumn {
    /// The column's name in the input.
    pub column: String,
    /// Its coarsening.
    pub coarsening: String,
}

/// The noise of DP counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CountNoise {
    /// Discrete Laplace (pure ε-DP for the counts).
    #[default]
    Laplace,
    /// Discrete Gaussian (ρ-zCDP, reported as (ε, δ)).
    Gaussian,
}

/// How a DP table was made, as recorded in its report; [`DpBudget::check`] re-derives its cost
/// from these figures alone. The budget is split evenly between the people counts and the events
/// counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpBudget {
    /// The noise.
    pub mechanism: CountNoise,
    /// ε of the whole table.
    pub epsilon: f64,
    /// δ of the whole table.
    pub delta: f64,
    /// The contribution bound `m`: a person counts in at most this many cells.
    pub max_cells_per_person: u64,
    /// The contribution bound `C`: a person adds at most this many events to a cell.
    pub max_events_per_person: u64,
    /// People counts (L1 sensitivity `m`, L2 `√m`): Laplace scale `b`, or Gaussian `σ`.
    pub noise_scale: f64,
    /// Events counts (L1 sensitivity `m·C`, L2 `C·√m`): Laplace scale, or Gaussian `σ`.
    pub events_noise_scale: f64,
    /// Gaussian only: the ρ of all counts together.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rho: Option<f64>,
    /// The share of δ spent on hiding cells (the rest, for the Gaussian, on its conversion).
    pub delta_threshold: f64,
    /// Cells whose noisy people count is below this are not published.
    pub release_threshold: u64,
    /// Half-width of the 95 % interval of a people count's noise.
    pub people_error95: u64,
    /// Half-width of the 95 % interval of an events count's noise.
    pub events_error95: u64,
}

impl DpBudget {
    /// The noise and release threshold for a total (ε, δ) and the two contribution bounds.
    ///
    /// Laplace: ε/2 for each count family, so `b = m/(ε/2)` for people and `m·C/(ε/2)` for
    /// events (Ghosh, Roughgarden & Sundararajan 2009). Gaussian: ρ, the largest whose conversion
    /// is (ε, δ/2)-DP, split evenly (Canonne, Kamath & Steinke 2020): `σ = √m/√ρ` for people and
    /// `C·√m/√ρ` for events. The threshold hides one person's `m` cells except with probability
    /// δ_τ (Korolova et al. 2009; Wilson et al. 2020): see [`release_threshold`].
    pub fn plan(mechanism: CountNoise, epsilon: f64, delta: f64, m: u64, c: u64) -> Self {
        let (mf, cf) = (m as f64, c as f64);
        let (noise_scale, events_noise_scale, rho, delta_threshold) = match mechanism {
            CountNoise::Laplace => (mf / (epsilon / 2.0), mf * cf / (epsilon / 2.0), None, delta),
            CountNoise::Gaussian => {
                let rho = rho_for(epsilon, delta / 2.0);
                let half = rho / 2.0;
                (
                    (mf / (2.0 * half)).sqrt(),
                    cf * (mf / (2.0 * half)).sqrt(),
                    Some(rho),
                    delta / 2.0,
                )
            }
        };
        DpBudget {
            mechanism,
            epsilon,
            delta,
            max_cells_per_person: m,
            max_events_per_person: c,
            noise_scale,
            events_noise_scale,
            rho,
            delta_threshold,
            release_threshold: release_threshold(mechanism, noise_scale, m, delta_threshold),
            people_error95: error95(mechanism, noise_scale),
            events_error95: error95(mechanism, events_noise_scale),
        }
    }

    /// Checks from the recorded figures alone that the table costs at most its (ε, δ), and that
    /// its threshold and error figures follow from its noise. For `verify`, which has no raw data.
    pub fn check(&self) -> std::result::Result<(), String> {
        let m = self.max_cells_per_person as f64;
        let c = self.max_events_per_person as f64;
        if !(self.noise_scale > 0.0
            && self.events_noise_scale > 0.0
            && m >= 1.0
            && c >= 1.0
            && self.delta_threshold > 0.0)
        {
            return Err("the noise scales, contribution bounds and δ_τ must be positive".into());
        }
        let spent_epsilon = match self.mechanism {
            CountNoise::Laplace => m / self.noise_scale + m * c / self.events_noise_scale,
            CountNoise::Gaussian => {
                let rho = m / (2.0 * self.noise_scale.powi(2))
                    + c * c * m / (2.0 * self.events_noise_scale.powi(2));
                let delta_noise = self.delta - self.delta_threshold;
                if delta_noise <= 0.0 {
                    return Err("no δ is left for the Gaussian's conversion".into());
                }
                epsilon_for(rho, delta_noise)
            }
        };
        if spent_epsilon > self.epsilon * (1.0 + 1e-6) {
            return Err(format!(
                "noise of scales {} and {} over {} cells per person costs ε = {spent_epsilon:.4}, more than the recorded ε = {}",
                self.noise_scale, self.events_noise_scale, self.max_cells_per_person, self.epsilon
            ));
        }
        if self.delta_threshold > self.delta * (1.0 + 1e-9) {
            return Err(format!(
                "δ_τ = {} exceeds δ = {}",
                self.delta_threshold, self.delta
            ));
        }
        let required = release_threshold(
            self.mechanism,
            self.noise_scale,
            self.max_cells_per_person,
            self.delta_threshold,
        );
        if self.release_threshold < required {
            return Err(format!(
                "release threshold {} is below the {required} that δ_τ = {} needs",
                self.release_threshold, self.delta_threshold
            ));
        }
        let errors = (
            error95(self.mechanism, self.noise_scale),
            error95(self.mechanism, self.events_noise_scale),
        );
        if errors != (self.people_error95, self.events_error95) {
            return Err(format!(
                "the recorded 95 % errors ({}, {}) are not those of the noise ({}, {})",
                self.people_error95, self.events_error95, errors.0, errors.1
            ));
        }
        Ok(())
    }
}

/// The smallest noisy people count a cell needs to be listed: a cell of one person passes with
/// probability at most δ_τ/m, so a person's at most `m` cells all stay hidden except with
/// probability δ_τ. Laplace: `P(Z ≥ k) ≤ e^(-k/b)`, so `τ = 1 + ⌈b·ln(m/δ_τ)⌉`. Gaussian: the
/// discrete Gaussian is σ-subgaussian (CKS 2020), so `τ = 1 + ⌈σ·√(2 ln(m/δ_τ))⌉`.
pub fn release_threshold(mechanism: CountNoise, scale: f64, m: u64, delta: f64) -> u64 {
    let log = (m as f64 / delta).ln();
    let tail = match mechanism {
        CountNoise::Laplace => scale * log,
        CountNoise::Gaussian => scale * (2.0 * log).sqrt(),
    };
    1 + tail.ceil().max(0.0) as u64
}

/// The half-width `k` of the 95 % interval of the noise: the smallest `k` with
/// `P(|Z| > k) ≤ 0.05`. Discrete Laplace with `α = e^(-1/b)`: `P(|Z| > k) = 2α^(k+1)/(1+α)`.
/// Discrete Gaussian: summed from its mass function `∝ e^(-z²/(2σ²))`.
pub fn error95(mechanism: CountNoise, scale: f64) -> u64 {
    match mechanism {
        CountNoise::Laplace => {
            let alpha = (-1.0 / scale).exp();
            let mut k = 0u64;
            while 2.0 * alpha.powf(k as f64 + 1.0) / (1.0 + alpha) > 0.05 {
                k += 1;
            }
            k
        }
        CountNoise::Gaussian => {
            let mass = |z: f64| (-(z * z) / (2.0 * scale * scale)).exp();
            let reach = (12.0 * scale).ceil() as u64 + 2;
            let total: f64 = 1.0 + 2.0 * (1..=reach).map(|z| mass(z as f64)).sum::<f64>();
            let mut inside = 1.0;
            let mut k = 0u64;
            while 1.0 - inside / total > 0.05 {
                k += 1;
                inside += 2.0 * mass(k as f64);
            }
            k
        }
    }
}

/// How the cells were protected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CellProtection {
    /// Exact counts; small entries suppressed, and enough others that none can be recomputed.
    Suppression {
        /// Entries of 1 to `threshold - 1` people are suppressed.
        threshold: u64,
        /// A person adds at most this many events to a line.
        max_events_per_person: u64,
        /// Entries suppressed for being small.
        primary_cells: usize,
        /// Entries suppressed to protect them.
        secondary_cells: usize,
    },
    /// Differentially private counts.
    Dp(DpBudget),
}

/// What was read, and what was left out of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSummary {
    /// `combined`, `common` (access logs), `table` (CSV or Parquet with a schema) or
    /// `contributions` (one row per person and cell).
    pub format: String,
    /// Lines (rows) read.
    pub lines: u64,
    /// Lines that were counted.
    pub counted: u64,
    /// Lines left out, by reason (malformed, or filtered: a bot, a static file, an error).
    pub left_out: BTreeMap<String, u64>,
    /// How times became local hours, days, weeks and months.
    pub time_zone: String,
}

/// DP only: how much bounding each person's contributions took away on this input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundingBias {
    /// Percentage of (person, cell) pairs not counted because their person had more than
    /// `max_cells_per_person` cells, rounded to a whole percent.
    pub people_pairs_dropped_pct: u64,
    /// Percentage of events not counted (pairs dropped and each pair's events clipped at
    /// `max_events_per_person`), rounded to a whole percent.
    pub events_dropped_pct: u64,
}

/// The report of a frequency-table release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyReport {
    /// The anonpub version that made the release; also the report's format version.
    pub anonpub_version: String,
    /// Always [`FREQUENCY_KIND`].
    pub kind: String,
    /// The dataset's name.
    pub dataset: String,
    /// The column whose values are people (the privacy unit); the values are never published.
    pub person_column: String,
    /// The `by` columns and their coarsening, in table order.
    pub by: Vec<KeyColumn>,
    /// Whether margins (row, column and grand totals) follow the cells.
    pub margins: bool,
    /// How the cells were protected.
    pub protection: CellProtection,
    /// What was read and left out.
    pub input: InputSummary,
    /// Distinct people counted; only for suppression (exact counts are then published anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<usize>,
    /// DP only: what bounding contributions took away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounding_bias: Option<BoundingBias>,
    /// Lines of the table (cells and margins).
    pub lines: usize,
    /// Lines with published counts.
    pub published_lines: usize,
}

impl FrequencyReport {
    /// The smallest people count a published line may have (besides 0): the suppression
    /// threshold, or the DP release threshold.
    pub fn threshold(&self) -> u64 {
        match &self.protection {
            CellProtection::Suppression { threshold, .. } => *threshold,
            CellProtection::Dp(dp) => dp.release_threshold,
        }
    }

    /// Whether the counts are DP.
    pub fn is_dp(&self) -> bool {
        matches!(self.protection, CellProtection::Dp(_))
    }

    /// Reads `report.json` as a frequency report of this format version.
    pub fn read(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{REPORT_FILE} unreadable: {e}"))?;
        let report: FrequencyReport =
            serde_json::from_slice(&bytes).map_err(|e| format!("{REPORT_FILE} malformed: {e}"))?;
        let ours = env!("CARGO_PKG_VERSION");
        if report.kind != FREQUENCY_KIND {
            return Err(format!("{REPORT_FILE} is a `{}` report", report.kind));
        }
        let minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
        if minor(&report.anonpub_version) != minor(ours) {
            return Err(format!(
                "{REPORT_FILE} was written by anonpub {}; this anonpub ({ours}) reads reports of \
                 its own major and minor version",
                report.anonpub_version
            ));
        }
        Ok(report)
    }
}

/// Whether a `report.json` is a frequency-table report (it has `"kind": "frequency-table"`).
pub fn is_frequency_report(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|value| value["kind"] == FREQUENCY_KIND)
}

/// The column names of a release with these `by` columns.
pub fn column_names(by: &[String], dp: bool) -> Vec<String> {
    let mut names = by.to_vec();
    names.push(PEOPLE_COLUMN.into());
    if dp {
        names.push(PEOPLE_ERROR_COLUMN.into());
    }
    names.push(EVENTS_COLUMN.into());
    if dp {
        names.push(EVENTS_ERROR_COLUMN.into());
    }
    names.push(STATUS_COLUMN.into());
    names
}

/// The table as the release's columns.
pub fn frequency_columns(table: &FrequencyLines) -> PlainTable {
    let lines = &table.lines;
    let mut columns: Vec<(String, PlainValues)> = table
        .by
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let keys = lines.iter().map(|c| c.key[i].clone()).collect();
            (name.clone(), PlainValues::Text(keys))
        })
        .collect();
    let constant = |value: u64| PlainValues::Integer(vec![Some(value); lines.len()]);
    columns.push((
        PEOPLE_COLUMN.into(),
        PlainValues::Integer(lines.iter().map(|c| c.people).collect()),
    ));
    if let Some((people, _)) = table.error95 {
        columns.push((PEOPLE_ERROR_COLUMN.into(), constant(people)));
    }
    columns.push((
        EVENTS_COLUMN.into(),
        PlainValues::Integer(lines.iter().map(|c| c.events).collect()),
    ));
    if let Some((_, events)) = table.error95 {
        columns.push((EVENTS_ERROR_COLUMN.into(), constant(events)));
    }
    columns.push((
        STATUS_COLUMN.into(),
        PlainValues::Text(
            lines
                .iter()
                .map(|c| Some(c.status.name().to_string()))
                .collect(),
        ),
    ));
    PlainTable { columns }
}

/// Parses the lines of `frequencies.csv` against the report; the error says what is wrong with
/// the structure (never a value). DP error columns must hold the report's figures.
pub fn parse_lines(
    rows: &TextRows,
    report: &FrequencyReport,
) -> std::result::Result<Vec<FrequencyLine>, String> {
    let by: Vec<String> = report.by.iter().map(|b| b.column.clone()).collect();
    let dp = match &report.protection {
        CellProtection::Dp(dp) => Some(dp),
        CellProtection::Suppression { .. } => None,
    };
    let expected = column_names(&by, dp.is_some());
    if rows.names != expected {
        return Err(format!(
            "columns are [{}], expected [{}]",
            rows.names.join(", "),
            expected.join(", ")
        ));
    }
    let width = by.len();
    let count = |text: &str, line: usize, name: &str| match text {
        "" => Ok(None),
        text => text
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("line {line}: `{name}` is not a count")),
    };
    rows.rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let line = index + 2;
            let people = count(&row[width], line, PEOPLE_COLUMN)?;
            let events_at = if dp.is_some() { width + 2 } else { width + 1 };
            let events = count(&row[events_at], line, EVENTS_COLUMN)?;
            if let Some(dp) = dp {
                let errors = (
                    count(&row[width + 1], line, PEOPLE_ERROR_COLUMN)?,
                    count(&row[width + 3], line, EVENTS_ERROR_COLUMN)?,
                );
                if errors != (Some(dp.people_error95), Some(dp.events_error95)) {
                    return Err(format!(
                        "line {line}: the 95 % errors are not those of report.json"
                    ));
                }
            }
            let status = match (row[row.len() - 1].as_str(), dp.is_some()) {
                ("published", false) => CellStatus::Published,
                ("noisy", true) => CellStatus::Noisy,
                ("primary", false) => CellStatus::Primary,
                ("secondary", false) => CellStatus::Secondary,
                _ => {
                    return Err(format!(
                        "line {line}: status is not one of {}",
                        if dp.is_some() {
                            "noisy"
                        } else {
                            "published, primary, secondary"
                        }
                    ))
                }
            };
            let published = status.is_published();
            if people.is_some() != published || events.is_some() != published {
                return Err(format!(
                    "line {line}: counts must be given exactly when the line is published"
                ));
            }
            let key = row[..width]
                .iter()
                .map(|k| Some(k.clone()).filter(|k| !k.is_empty()))
                .collect();
            Ok(FrequencyLine {
                key,
                people,
                events,
                status,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> FrequencyReport {
        FrequencyReport {
            anonpub_version: env!("CARGO_PKG_VERSION").into(),
            kind: FREQUENCY_KIND.into(),
            dataset: "log".into(),
            person_column: "ip".into(),
            by: vec![KeyColumn {
                column: "page".into(),
                coarsening: "none".into(),
            }],
            margins: true,
            protection: CellProtection::Suppression {
                threshold: 5,
                max_events_per_person: 5,
                primary_cells: 1,
                secondary_cells: 1,
            },
            input: InputSummary {
                format: "combined".into(),
                lines: 40,
                counted: 30,
                left_out: BTreeMap::from([("bot".into(), 10)]),
                time_zone: "UTC".into(),
            },
            people: Some(20),
            bounding_bias: None,
            lines: 3,
            published_lines: 1,
        }
    }

    fn line(key: Option<&str>, counts: Option<(u64, u64)>, status: CellStatus) -> FrequencyLine {
        FrequencyLine {
            key: vec![key.map(String::from)],
            people: counts.map(|c| c.0),
            events: counts.map(|c| c.1),
            status,
        }
    }

    #[test]
    fn report_round_trips_and_lines_parse_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REPORT_FILE);
        std::fs::write(&path, serde_json::to_vec_pretty(&report()).unwrap()).unwrap();
        assert!(is_frequency_report(&path));
        assert_eq!(FrequencyReport::read(&path).unwrap(), report());
        let table = FrequencyLines {
            by: vec!["page".into()],
            lines: vec![
                line(Some("/a"), None, CellStatus::Primary),
                line(Some("/b"), None, CellStatus::Secondary),
                line(None, Some((20, 31)), CellStatus::Published),
            ],
            error95: None,
        };
        let plain = frequency_columns(&table);
        let rows = TextRows {
            names: plain.names().iter().map(|n| n.to_string()).collect(),
            rows: plain.text_rows(),
        };
        assert_eq!(rows.names, ["page", "people", "events", "status"]);
        let lines = parse_lines(&rows, &report()).unwrap();
        assert_eq!(lines, table.lines);
        let mut broken = rows.clone();
        broken.rows[0][1] = "3".into();
        assert!(parse_lines(&broken, &report())
            .unwrap_err()
            .contains("line 2"));
        let mut renamed = rows;
        renamed.names[0] = "ip".into();
        assert!(parse_lines(&renamed, &report())
            .unwrap_err()
            .contains("columns"));
    }

    #[test]
    fn dp_budgets_pass_their_own_check_and_tampered_ones_fail() {
        for mechanism in [CountNoise::Laplace, CountNoise::Gaussian] {
            let plan = DpBudget::plan(mechanism, 1.0, 1e-6, 2, 3);
            assert_eq!(plan.check(), Ok(()), "{plan:?}");
            let mut cheap = plan.clone();
            cheap.noise_scale /= 2.0;
            assert!(cheap.check().is_err(), "{cheap:?}");
            let mut low = plan.clone();
            low.release_threshold = 2;
            assert!(low.check().unwrap_err().contains("threshold"), "{low:?}");
            let mut flattering = plan.clone();
            flattering.events_error95 /= 2;
            assert!(flattering.check().unwrap_err().contains("95 %"));
        }
        // Laplace at ε = 1 (ε/2 for people), m = 2: b = 4, τ = 1 + ⌈4·ln(2·10⁶)⌉ = 1 + 59 = 60.
        let plan = DpBudget::plan(CountNoise::Laplace, 1.0, 1e-6, 2, 3);
        assert_eq!((plan.noise_scale, plan.release_threshold), (4.0, 60));
        assert_eq!(plan.events_noise_scale, 12.0);
    }

    #[test]
    fn error95_matches_the_distributions() {
        // Discrete Laplace of scale 1: P(|Z| > k) = 2e^-(k+1)/(1+e^-1); k = 3 is the first ≤ 5 %.
        assert_eq!(error95(CountNoise::Laplace, 1.0), 3);
        // A wide discrete Gaussian is close to the continuous one: 1.96σ.
        let k = error95(CountNoise::Gaussian, 100.0);
        assert!((195..=197).contains(&k), "{k}");
    }
}
