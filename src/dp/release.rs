//! The size chart of a release: from the selected people to the chart, its report entry and its
//! files, and the lifetime budget kept in the data holder's ledger.
//!
//! **Input.** The selected [`MeasurementTable`] (one row per set, an internal person number per
//! row). Each person is represented by **one** set, their most complete
//! ([`super::sizechart::pick_set`]: the most chart measurements, then the most measurements
//! overall, then the first in table order), so adding or removing a person changes one input row
//! of the chart, which is what the chart's sensitivity analysis assumes. The stratum follows from
//! that set alone ([`Strata::of`]).
//!
//! **Output.** [`ChartRelease`]: the chart and its [`SizeChartReport`], the typed `sizechart`
//! entry of `report.json` (budget split and mechanism per figure, bounds, set choice, what the
//! error columns mean), which `verify` reads back and re-checks ([`check_chart_report`]).
//!
//! **Ledger.** [`check_lifetime`] refuses a release (exit 1, saying how much is left) whose ε
//! would take the ledger past `lifetime_epsilon`; [`record_spend`] adds the release's (ε, δ)
//! after the release is written. Basic composition over releases, see [`crate::ledger`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::sizechart::{
    pick_set, size_chart, Cell, ChartBudget, ChartPerson, MeasurementBounds, SizeChart,
    SizeChartConfig, Strata, PERCENTILES,
};
use crate::error::{Error, Result};
use crate::ledger::{Ledger, LedgerEntry};
use crate::measurements::Catalog;
use crate::release::plain::{PlainTable, PlainValues};
use crate::table::MeasurementTable;

/// How a person's set is chosen, as the report states it.
pub const SET_CHOICE: &str = "one set per person: the set with the most chart measurements, then \
                              the most measurements overall, then the first";

/// The `sizechart` entry of `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeChartReport {
    /// The privacy unit (`person`).
    pub privacy_unit: String,
    /// Which set represents a person ([`SET_CHOICE`]).
    pub set_choice: String,
    /// How people are split.
    pub strata_rule: Strata,
    /// The strata, in chart order.
    pub strata: Vec<String>,
    /// The chart's measurements with the public bounds values are clamped to and the grid step.
    pub measurements: Vec<MeasurementBounds>,
    /// The percentiles of the chart.
    pub percentiles: Vec<u32>,
    /// The figures left empty below this noisy n.
    pub min_people_for_figures: f64,
    /// What the `_error95` columns mean.
    pub expected_error: String,
    /// The budget: configured (ε, δ), zCDP total, the split and mechanism of every figure.
    pub budget: ChartBudget,
    /// The configured lifetime budget of all size charts of these people, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_epsilon: Option<f64>,
}

/// A chart with its report entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRelease {
    /// The chart.
    pub chart: SizeChart,
    /// Its report entry.
    pub report: SizeChartReport,
}

/// One chart input row per person of `table` (columns named as in `catalog`), from their most
/// complete set, and the chart's bounds.
pub fn chart_people(
    table: &MeasurementTable,
    catalog: &Catalog,
    config: &SizeChartConfig,
) -> Result<(Vec<MeasurementBounds>, Vec<ChartPerson>)> {
    let (bounds, chart_columns) = MeasurementBounds::from_catalog(catalog, &config.measurements)?;
    // Table column of each catalogue measurement (the table may hold them in another order).
    let positions: Vec<Option<usize>> = catalog
        .names()
        .iter()
        .map(|name| table.columns().iter().position(|c| c == name))
        .collect();
    let as_catalog_row = |row: &[f64]| -> Vec<f64> {
        positions
            .iter()
            .map(|p| p.map_or(f64::NAN, |p| row[p]))
            .collect()
    };
    let mut sets_of: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for row in 0..table.len() {
        sets_of.entry(table.person(row)).or_default().push(row);
    }
    let people = sets_of
        .into_values()
        .map(|rows| {
            let sets: Vec<Vec<f64>> = rows.iter().map(|&r| as_catalog_row(table.row(r))).collect();
            let views: Vec<&[f64]> = sets.iter().map(Vec::as_slice).collect();
            let chosen = &sets[pick_set(&views, &chart_columns).expect("a person has a set")];
            ChartPerson {
                stratum: config.strata.of(catalog, chosen),
                values: chart_columns.iter().map(|&c| chosen[c]).collect(),
            }
        })
        .collect();
    Ok((bounds, people))
}

/// The DP size chart of the selected people, with fresh OS randomness, and its report entry.
pub fn chart_release(
    table: &MeasurementTable,
    catalog: &Catalog,
    config: &SizeChartConfig,
) -> Result<ChartRelease> {
    let (bounds, people) = chart_people(table, catalog, config)?;
    let chart = size_chart(config, &bounds, &people)?;
    let report = SizeChartReport {
        privacy_unit: "person".into(),
        set_choice: SET_CHOICE.into(),
        strata_rule: config.strata,
        strata: chart.strata.clone(),
        measurements: bounds,
        percentiles: PERCENTILES.to_vec(),
        min_people_for_figures: super::sizechart::MIN_PEOPLE_FOR_FIGURES,
        expected_error: "each figure's `_error95` is the half-width of an interval that holds \
                         the exact value (of the clamped, 1-step-rounded values) in about 95 % \
                         of releases; computed from the noise scales and noisy figures only"
            .into(),
        budget: chart.budget.clone(),
        lifetime_epsilon: config.lifetime_epsilon,
    };
    Ok(ChartRelease { chart, report })
}

/// The chart as the columns of `sizechart.csv` / `.parquet`: stratum, measurement, unit, then
/// every figure and its `_error95` (empty when not published).
pub fn chart_columns(chart: &SizeChart) -> PlainTable {
    let columns = chart.columns();
    let values = |index: usize| {
        let mut texts = Vec::new();
        let mut numbers = Vec::new();
        for row in &columns.rows {
            match &row[index] {
                Cell::Text(text) => texts.push(Some(text.clone())),
                Cell::Number(number) => numbers.push(Some(tidy(*number))),
                Cell::Empty => numbers.push(None),
            }
        }
        if index < 3 {
            PlainValues::Text(texts)
        } else {
            PlainValues::Number(numbers)
        }
    };
    PlainTable {
        columns: columns
            .names
            .iter()
            .enumerate()
            .map(|(index, name)| (name.clone(), values(index)))
            .collect(),
    }
}

/// A figure to 0.1 of its unit, as the nearest float to the decimal (so that files show `173.1`,
/// not the float sum `173.10000000000002`); post-processing of noisy figures.
fn tidy(value: f64) -> f64 {
    format!("{value:.1}").parse().unwrap_or(value)
}

/// Checks a chart's report entry from the release alone: the budget is within its configured
/// (ε, δ) ([`ChartBudget::check`]), the chart's ε within the recorded lifetime budget, and the
/// measurements and strata are those the budget was split over.
pub fn check_chart_report(report: &SizeChartReport) -> std::result::Result<(), String> {
    report.budget.check()?;
    if let Some(lifetime) = report.lifetime_epsilon {
        if report.budget.epsilon > lifetime {
            return Err(format!(
                "the chart's ε = {} exceeds the lifetime ε = {lifetime}",
                report.budget.epsilon
            ));
        }
    }
    if report.budget.measurements != report.measurements.len() {
        return Err(format!(
            "the budget was split over {} measurements, the report lists {}",
            report.budget.measurements,
            report.measurements.len()
        ));
    }
    if report.strata != report.strata_rule.names() {
        return Err("the strata are not those of the recorded rule".into());
    }
    Ok(())
}

/// Reads the ledger at `path` and refuses (exit 1, saying how much ε is left) a chart of
/// `config.epsilon` past `config.lifetime_epsilon`. Without a lifetime budget, any spend passes.
pub fn check_lifetime(path: &Path, config: &SizeChartConfig) -> Result<Ledger> {
    let ledger = Ledger::read(path)?;
    if let Some(lifetime) = config.lifetime_epsilon {
        ledger.check(lifetime, config.epsilon)?;
    }
    Ok(ledger)
}

/// Records the chart's (ε, δ) for the release `release` of `as_of` in the ledger at `path`
/// (written atomically, 0600). Call it after the release is written.
pub fn record_spend(
    ledger: &mut Ledger,
    path: &Path,
    release: &str,
    as_of: &str,
    config: &SizeChartConfig,
) -> Result<()> {
    if release.is_empty() {
        return Err(Error::InvalidArgument {
            name: "privacy ledger",
            problem: "a release needs a name".into(),
        });
    }
    ledger.record(
        LedgerEntry {
            release: release.into(),
            as_of: as_of.into(),
            epsilon: config.epsilon,
            delta: config.delta,
        },
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 60 people, each with two sets: a sparse one and one with chest and waist.
    fn table(catalog: &Catalog) -> MeasurementTable {
        let mut table = MeasurementTable::new(catalog.names().to_vec());
        let (chest, waist) = (
            catalog.index_of("chest").unwrap(),
            catalog.index_of("waist").unwrap(),
        );
        for person in 0..60u32 {
            let mut sparse = vec![f64::NAN; catalog.len()];
            sparse[chest] = 800.0;
            let mut full = sparse.clone();
            full[chest] = 900.0 + f64::from(person);
            full[waist] = 700.0 + f64::from(person);
            table.push(person, &sparse);
            table.push(person, &full);
        }
        table
    }

    fn config() -> SizeChartConfig {
        SizeChartConfig {
            measurements: vec!["chest".into(), "waist".into()],
            strata: Strata::BreastsOnlyMeasurements,
            lifetime_epsilon: Some(3.0),
            ..SizeChartConfig::default()
        }
    }

    #[test]
    fn one_most_complete_set_per_person() {
        let catalog = Catalog::freesewing();
        let (bounds, people) = chart_people(&table(&catalog), &catalog, &config()).unwrap();
        assert_eq!(bounds.len(), 2);
        assert_eq!(people.len(), 60);
        assert_eq!(people[5].values, [905.0, 705.0]);
        assert!(
            people.iter().all(|p| p.stratum == 1),
            "no breasts-only measurements"
        );
    }

    #[test]
    fn chart_release_reports_its_budget_and_passes_its_check() {
        let catalog = Catalog::freesewing();
        let release = chart_release(&table(&catalog), &catalog, &config()).unwrap();
        assert_eq!(release.chart.rows.len(), 2 * 2);
        assert_eq!(check_chart_report(&release.report), Ok(()));
        let json = serde_json::to_string(&release.report).unwrap();
        let read: SizeChartReport = serde_json::from_str(&json).unwrap();
        // (serde_json's default float parser may be one unit in the last place off.)
        assert_eq!(read.measurements, release.report.measurements);
        assert_eq!(
            read.budget.figures.len(),
            release.report.budget.figures.len()
        );
        let mut greedy = read.clone();
        greedy.lifetime_epsilon = Some(0.5);
        assert!(check_chart_report(&greedy)
            .unwrap_err()
            .contains("lifetime"));
        let mut fewer = read;
        fewer.measurements.pop();
        assert!(check_chart_report(&fewer).is_err());
        let columns = chart_columns(&release.chart);
        assert_eq!(columns.rows(), 4);
        assert_eq!(
            columns.names()[..4],
            ["stratum", "measurement", "unit", "n"]
        );
        assert_eq!(columns.columns.len(), 3 + 2 * 12);
    }

    #[test]
    fn the_ledger_refuses_past_the_lifetime_budget_and_records_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        let config = config();
        for (release, as_of) in [("2026.1", "2026-01-01"), ("2026.2", "2026-06-01")] {
            let mut ledger = check_lifetime(&path, &config).unwrap();
            record_spend(&mut ledger, &path, release, as_of, &config).unwrap();
        }
        check_lifetime(&path, &config).unwrap();
        let mut ledger = Ledger::read(&path).unwrap();
        record_spend(&mut ledger, &path, "2027.1", "2027-01-01", &config).unwrap();
        let refused = check_lifetime(&path, &config).unwrap_err();
        assert_eq!(refused.exit_code(), 1);
        assert!(refused.to_string().contains("ε = 0 is left"), "{refused}");
        let unlimited = SizeChartConfig {
            lifetime_epsilon: None,
            ..config
        };
        assert!(check_lifetime(&path, &unlimited).is_ok());
    }
}
