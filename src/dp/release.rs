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
//! **Output.** [`ChartRelease`]: the chart and its [`SizeChartReport`], the plain `sizechart`
//! entry of `report.json` ([`crate::release::sizechart`]: spend and mechanism per figure, bounds,
//! references, set choice, why cells are empty), which `verify` reads back and re-checks
//! ([`check_chart_report`]).
//!
//! **References.** The tolerance a figure must meet is a share of its measurement's public
//! reference SD ([`reference`]): from `sizechart.reference_sd` / `reference_mean` in the config,
//! else from FreeSewing's adult size models (the SD and mean over their sizes, with and without
//! breasts together). A measurement with neither (any non-FreeSewing column without them in the
//! config) is refused: a stand-in from the plausible range would set the tolerance, the window
//! and the plan from a guess. All are public and fixed before the data are read, so deciding
//! what to publish from them reads no raw value.
//!
//! **Ledger.** [`open_ledger`] settles what earlier runs left unconfirmed and refuses (exit 1,
//! saying how much is left) a release whose ε would take the ledger past `lifetime_epsilon`;
//! [`write_ahead_spend`] records the release's (ε, δ) before the release is committed. Basic
//! composition over releases, see [`crate::ledger`].

use std::collections::BTreeMap;
use std::path::Path;

use super::sizechart::{
    bounds_from_catalog, check_budget, pick_set, size_chart, Cell, ChartPerson, MeasurementBounds,
    Reference, SizeChart, SizeChartConfig, StrataPlan, PERCENTILES,
};
use crate::error::{Error, Result};
use crate::extract::source::PersonStrata;
use crate::ledger::{EntryStatus, Ledger, LedgerEntry};
use crate::measurements::Catalog;
use crate::release::plain::{PlainTable, PlainValues};
pub use crate::release::sizechart::SizeChartReport;
use crate::release::sizechart::WithheldCount;
use crate::release::SIZECHART_CSV_FILE;
use crate::sample::people::SizeModels;
use crate::table::MeasurementTable;

/// How a person's set is chosen, as the report states it.
pub const SET_CHOICE: &str = "one set per person: the set with the most chart measurements, then \
                              the most measurements overall, then the first";

/// What the `_error95` columns mean, as the report states it.
pub const EXPECTED_ERROR: &str = "each `_error95` is the half-width of an interval around the \
    published figure that holds the exact figure (of the values clamped to the public window, the \
    plausible range narrowed to the reference mean ± 4 reference SDs, and \
    rounded to the grid; a percentile P_q is the smallest grid value with at least q·n values at or \
    below it) in at least 95 % of releases whatever the data: derived from the noise's subgaussian \
    tail (union bound over the noisy values a figure uses) by post-processing of private outputs \
    only. A figure whose bound exceeds the tolerance is not published";

/// A chart with its report entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRelease {
    /// The chart.
    pub chart: SizeChart,
    /// Its report entry.
    pub report: SizeChartReport,
}

/// The public reference of catalogue measurement `index` (see the module documentation).
pub fn reference(
    catalog: &Catalog,
    config: &SizeChartConfig,
    models: &SizeModels,
    index: usize,
) -> Option<Reference> {
    let name = &catalog.names()[index];
    let values: Vec<f64> = models
        .with_breasts
        .values(index)
        .chain(models.without_breasts.values(index))
        .filter(|v| !v.is_nan())
        .collect();
    let from_models = (values.len() >= 2).then(|| {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        (mean, variance.sqrt())
    });
    let source = match (
        config.reference_sd.get(name),
        config.reference_mean.get(name),
    ) {
        (None, None) => {
            "FreeSewing's adult size models (cisFemaleAdult, cisMaleAdult): mean and \
                         SD over their sizes"
        }
        _ => {
            "the config (sizechart.reference_mean, sizechart.reference_sd), else FreeSewing's \
              adult size models"
        }
    };
    let mean = config
        .reference_mean
        .get(name)
        .copied()
        .or(from_models.map(|m| m.0))?;
    let sd = config
        .reference_sd
        .get(name)
        .copied()
        .or(from_models.map(|m| m.1).filter(|&sd| sd > 0.0))?;
    Some(Reference {
        mean,
        sd,
        source: source.into(),
    })
}

/// The chart's bounds, with their references, and their catalogue indices.
pub fn chart_bounds(
    catalog: &Catalog,
    config: &SizeChartConfig,
) -> Result<(Vec<MeasurementBounds>, Vec<usize>)> {
    let models = SizeModels::freesewing(catalog);
    bounds_from_catalog(catalog, &config.measurements, &|index| {
        reference(catalog, config, &models, index)
    })
}

/// The chart's strata: the configured rule crossed with the schema's `stratum` columns (their
/// strata names in `columns`) and the bands, cut at public references.
pub fn chart_strata(
    catalog: &Catalog,
    columns: &[Vec<String>],
    config: &SizeChartConfig,
) -> Result<StrataPlan> {
    let models = SizeModels::freesewing(catalog);
    StrataPlan::new(config, catalog, columns, &|index| {
        reference(catalog, config, &models, index)
    })
}

/// One chart input row per person of `table` (columns named as in `catalog`), from their most
/// complete set and their strata of the source's `stratum` columns (`person_strata`, found by
/// the table's owner keys), the chart's bounds and its strata.
pub fn chart_people(
    table: &MeasurementTable,
    (catalog, person_strata): (&Catalog, &PersonStrata),
    config: &SizeChartConfig,
) -> Result<(Vec<MeasurementBounds>, StrataPlan, Vec<ChartPerson>)> {
    let (bounds, chart_columns) = chart_bounds(catalog, config)?;
    let strata = chart_strata(catalog, &person_strata.labels, config)?;
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
        .into_iter()
        .map(|(person, rows)| {
            let sets: Vec<Vec<f64>> = rows.iter().map(|&r| as_catalog_row(table.row(r))).collect();
            let views: Vec<&[f64]> = sets.iter().map(Vec::as_slice).collect();
            let chosen = &sets[pick_set(&views, &chart_columns).expect("a person has a set")];
            ChartPerson {
                stratum: strata.of(catalog, chosen, &person_strata.of(table.owner_key(person))),
                values: chart_columns.iter().map(|&c| chosen[c]).collect(),
            }
        })
        .collect();
    Ok((bounds, strata, people))
}

/// The DP size chart of the selected people, with fresh OS randomness, and its report entry.
pub fn chart_release(
    table: &MeasurementTable,
    (catalog, person_strata): (&Catalog, &PersonStrata),
    config: &SizeChartConfig,
) -> Result<ChartRelease> {
    let (bounds, strata, people) = chart_people(table, (catalog, person_strata), config)?;
    let chart = size_chart(config, strata.names(), &bounds, &people)?;
    let report = SizeChartReport {
        privacy_unit: "person".into(),
        set_choice: SET_CHOICE.into(),
        strata_rule: strata.rule(config),
        strata: chart.strata.clone(),
        measurements: bounds,
        percentiles: PERCENTILES.to_vec(),
        tolerance_sd: config.tolerance_sd,
        expected_error: EXPECTED_ERROR.into(),
        withheld: chart
            .withheld()
            .into_iter()
            .map(|(reason, cells)| WithheldCount {
                reason: reason.reason().into(),
                cells,
            })
            .collect(),
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
/// (ε, δ) ([`check_budget`]), the chart's ε within the recorded lifetime budget, every spend
/// names a stratum and measurement of the chart, and the strata are those of the recorded rule.
pub fn check_chart_report(report: &SizeChartReport) -> std::result::Result<(), String> {
    check_budget(&report.budget)?;
    if let Some(lifetime) = report.lifetime_epsilon {
        if report.budget.epsilon > lifetime {
            return Err(format!(
                "the chart's ε = {} exceeds the lifetime ε = {lifetime}",
                report.budget.epsilon
            ));
        }
    }
    if let Some(stray) = report.budget.figures.iter().find(|f| {
        !report.strata.contains(&f.stratum)
            || !report.measurements.iter().any(|m| m.name == f.measurement)
    }) {
        return Err(format!(
            "a spend names `{}`, `{}`, which is not in the chart",
            stray.stratum, stray.measurement
        ));
    }
    // Without bands or schema stratum columns the strata are exactly the rule's; with them (cut
    // at references, or named by a schema, that the report need not list) they must at least be
    // distinct.
    let names: Option<&[&str]> = match report.strata_rule.as_str() {
        "none" => Some(super::config::Strata::None.names()),
        "breasts-only-measurements" => Some(super::config::Strata::BreastsOnlyMeasurements.names()),
        _ => None,
    };
    let distinct = report
        .strata
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        == report.strata.len();
    let banded = report.strata_rule.contains(" × bands of ")
        || report
            .strata_rule
            .contains(" × the schema's stratum columns");
    if !distinct
        || report.strata.is_empty()
        || (!banded && names.is_none_or(|n| report.strata != n))
    {
        return Err("the strata are not those of the recorded rule".into());
    }
    Ok(())
}

/// Reads the ledger at `path` (the caller holds its [`crate::ledger::LedgerLock`]), settles the
/// entries of earlier runs that did not confirm their commit ([`Ledger::reconcile`], written back
/// at once), and with a chart refuses (exit 1, saying how much ε is left) one of
/// `config.epsilon` past `config.lifetime_epsilon`. Without a lifetime budget, any spend passes.
pub fn open_ledger(path: &Path, chart: Option<&SizeChartConfig>) -> Result<Ledger> {
    let mut ledger = Ledger::read(path)?;
    let settled = ledger.reconcile(SIZECHART_CSV_FILE);
    if settled > 0 {
        ledger.write(path)?;
        tracing::warn!(
            "privacy ledger {}: {settled} release(s) of earlier runs were written ahead but not \
             confirmed; see their `status` (their ε still counts)",
            path.display()
        );
    }
    if let Some(lifetime) = chart.and_then(|c| c.lifetime_epsilon.map(|l| (l, c.epsilon))) {
        ledger.check(lifetime.0, lifetime.1)?;
    }
    Ok(ledger)
}

/// Writes the chart's (ε, δ) ahead of the commit of the release `name` of `as_of`, as a pending
/// entry naming the release directory `out` and the SHA-256 of the staged `chart_csv`; returns
/// its position for [`Ledger::confirm`]. See [`crate::ledger`] for why a spend is written first.
pub fn write_ahead_spend(
    ledger: &mut Ledger,
    path: &Path,
    (name, as_of): (&str, &str),
    config: &SizeChartConfig,
    (out, chart_csv): (&Path, &Path),
) -> Result<usize> {
    if name.is_empty() {
        return Err(Error::InvalidArgument {
            name: "privacy ledger",
            problem: "a release needs a name".into(),
        });
    }
    use sha2::Digest;
    let chart = std::fs::read(chart_csv).map_err(|e| Error::io("read", chart_csv, e))?;
    let out = std::path::absolute(out).map_err(|e| Error::io("resolve", out, e))?;
    ledger.write_ahead(
        LedgerEntry {
            release: name.into(),
            as_of: as_of.into(),
            epsilon: config.epsilon,
            delta: config.delta,
            status: EntryStatus::Pending,
            out: Some(out.to_string_lossy().into_owned()),
            chart_sha256: Some(hex::encode(sha2::Sha256::digest(&chart))),
        },
        path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dp::config::Strata;

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
        let (bounds, strata, people) = chart_people(
            &table(&catalog),
            (&catalog, &PersonStrata::default()),
            &config(),
        )
        .unwrap();
        assert_eq!(strata.names().len(), 2);
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
        let release = chart_release(
            &table(&catalog),
            (&catalog, &PersonStrata::default()),
            &config(),
        )
        .unwrap();
        assert_eq!(release.chart.rows.len(), 2 * 2);
        assert_eq!(check_chart_report(&release.report), Ok(()));
        let json = serde_json::to_string(&release.report).unwrap();
        let read: SizeChartReport = serde_json::from_str(&json).unwrap();
        // (serde_json's default float parser may be one unit in the last place off.)
        let names = |r: &SizeChartReport| -> Vec<String> {
            r.measurements.iter().map(|m| m.name.clone()).collect()
        };
        assert_eq!(names(&read), names(&release.report));
        assert_eq!(
            read.measurements[0].upper, 1675.0,
            "the window, on the grid"
        );
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
    fn the_ledger_refuses_past_the_lifetime_budget_and_settles_unconfirmed_spends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        let config = config();
        let chart = dir.path().join("staged.csv");
        std::fs::write(&chart, "chart").unwrap();
        let out = dir.path().join("release");
        // Two releases: the first commits (its chart is found), the second never appears.
        for (release, as_of) in [("2026.1", "2026-01-01"), ("2026.2", "2026-06-01")] {
            let mut ledger = open_ledger(&path, Some(&config)).unwrap();
            write_ahead_spend(
                &mut ledger,
                &path,
                (release, as_of),
                &config,
                (&out, &chart),
            )
            .unwrap();
            if release == "2026.1" {
                std::fs::create_dir(&out).unwrap();
                std::fs::copy(&chart, out.join(crate::release::SIZECHART_CSV_FILE)).unwrap();
            } else {
                std::fs::remove_dir_all(&out).unwrap();
            }
        }
        let ledger = open_ledger(&path, Some(&config)).unwrap();
        let statuses: Vec<EntryStatus> = ledger.releases.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [EntryStatus::Committed, EntryStatus::Unconfirmed]);
        assert_eq!(
            ledger.spent_epsilon(),
            2.0,
            "an unconfirmed spend still counts"
        );
        let mut ledger = Ledger::read(&path).unwrap();
        assert_eq!(
            ledger.releases[1].status,
            EntryStatus::Unconfirmed,
            "written back"
        );
        let position = write_ahead_spend(
            &mut ledger,
            &path,
            ("2027.1", "2027-01-01"),
            &config,
            (&out, &chart),
        )
        .unwrap();
        ledger.confirm(position);
        ledger.write(&path).unwrap();
        let refused = open_ledger(&path, Some(&config)).unwrap_err();
        assert_eq!(refused.exit_code(), 1);
        assert!(refused.to_string().contains("ε = 0 is left"), "{refused}");
        let unlimited = SizeChartConfig {
            lifetime_epsilon: None,
            ..config
        };
        assert!(open_ledger(&path, Some(&unlimited)).is_ok());
        assert!(open_ledger(&path, None).is_ok());
    }
}
