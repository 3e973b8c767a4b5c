//! A frequency-table release: `frequencies.csv` / `.parquet` and its `report.json`.
//!
//! **Cells.** One line per cell: the `by` columns (coarsened keys), `people` (distinct people in
//! the cell; empty when suppressed) and `status`: `published`, `primary` (suppressed: below the
//! threshold), `secondary` (suppressed so that a primary cell cannot be recomputed from the
//! totals) or `noisy` (a DP count). Margins follow the cells, with an empty key in each column
//! they add up over; input cells that were empty have the key `(missing)`.
//!
//! **Report.** [`FrequencyReport`] says what was counted (the person column, the `by` columns
//! and their coarsening), how cells were protected (threshold, or DP noise and budget), and how
//! many cells there are, so that `verify` can re-check the table against it. It is written and
//! read back as the same type.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::plain::{PlainTable, PlainValues, TextRows};
use crate::release::REPORT_FILE;
use crate::tabulate::dp::DpCounts;
use crate::tabulate::input::ByColumn;
use crate::tabulate::suppress::Suppression;
use crate::tabulate::FrequencyTable;

/// `kind` of a frequency-table report, which tells `verify` what it reads.
pub const FREQUENCY_KIND: &str = "frequency-table";

/// The column of counts.
pub const PEOPLE_COLUMN: &str = "people";
/// The column that says how a cell was protected.
pub const STATUS_COLUMN: &str = "status";

/// How the cells were protected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CellProtection {
    /// Exact counts; small cells suppressed, and enough others that none can be recomputed.
    Suppression {
        /// Cells of 1 to `threshold - 1` people are suppressed.
        threshold: u64,
        /// Cells suppressed for being small.
        primary_cells: usize,
        /// Cells suppressed to protect them.
        secondary_cells: usize,
    },
    /// Differentially private counts ([`crate::tabulate::dp`]).
    Dp(DpCounts),
}

/// The report of a frequency-table release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyReport {
    /// The anonpub version that made the release; also the report's format version.
    pub anonpub_version: String,
    /// Always [`FREQUENCY_KIND`].
    pub kind: String,
    /// The schema's dataset name.
    pub dataset: String,
    /// The column whose values are people (the privacy unit); the values are never published.
    pub person_column: String,
    /// The `by` columns and their coarsening, in table order.
    pub by: Vec<ByColumn>,
    /// Whether margins (row, column and grand totals) follow the cells.
    pub margins: bool,
    /// How the cells were protected.
    pub protection: CellProtection,
    /// Rows of the input; only for suppression (exact counts are then published anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_rows: Option<usize>,
    /// Distinct people in the input; only for suppression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<usize>,
    /// Lines of the table (cells and margins).
    pub lines: usize,
    /// Lines with a published count.
    pub published_lines: usize,
}

impl FrequencyReport {
    /// The smallest count a published cell may have (besides 0): the suppression threshold, or
    /// the DP release threshold.
    pub fn threshold(&self) -> u64 {
        match &self.protection {
            CellProtection::Suppression { threshold, .. } => *threshold,
            CellProtection::Dp(dp) => dp.release_threshold,
        }
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

/// The status text of a cell.
pub fn status(suppression: Suppression, noisy: bool) -> &'static str {
    match (suppression, noisy) {
        (Suppression::Published, true) => "noisy",
        (Suppression::Published, false) => "published",
        (Suppression::Primary, _) => "primary",
        (Suppression::Secondary, _) => "secondary",
    }
}

/// The table as the release's columns.
pub fn frequency_columns(table: &FrequencyTable, noisy: bool) -> PlainTable {
    let mut columns: Vec<(String, PlainValues)> = table
        .by
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let keys = table.cells.iter().map(|c| c.key[i].clone()).collect();
            (name.clone(), PlainValues::Text(keys))
        })
        .collect();
    columns.push((
        PEOPLE_COLUMN.into(),
        PlainValues::Integer(table.cells.iter().map(|c| c.people).collect()),
    ));
    columns.push((
        STATUS_COLUMN.into(),
        PlainValues::Text(
            table
                .cells
                .iter()
                .map(|c| Some(status(c.suppression, noisy).to_string()))
                .collect(),
        ),
    ));
    PlainTable { columns }
}

/// A line of a frequency table as read back from the release.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadLine {
    /// One key per `by` column; `None` in a margin.
    pub key: Vec<Option<String>>,
    /// The count, `None` when suppressed.
    pub people: Option<u64>,
    /// How it was protected.
    pub suppression: Suppression,
}

/// Parses the lines of `frequencies.csv` against the report's `by` columns; the error says what
/// is wrong with the structure (never a value).
pub fn parse_lines(
    rows: &TextRows,
    report: &FrequencyReport,
) -> std::result::Result<Vec<ReadLine>, String> {
    let mut expected: Vec<String> = report.by.iter().map(|b| b.column.clone()).collect();
    expected.push(PEOPLE_COLUMN.into());
    expected.push(STATUS_COLUMN.into());
    if rows.names != expected {
        return Err(format!(
            "columns are [{}], expected [{}]",
            rows.names.join(", "),
            expected.join(", ")
        ));
    }
    let width = report.by.len();
    let noisy = matches!(report.protection, CellProtection::Dp(_));
    rows.rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let line = index + 2;
            let people = match row[width].as_str() {
                "" => None,
                text => Some(
                    text.parse::<u64>()
                        .map_err(|_| format!("line {line}: `people` is not a count"))?,
                ),
            };
            let suppression = match (row[width + 1].as_str(), noisy) {
                ("published", false) | ("noisy", true) => Suppression::Published,
                ("primary", false) => Suppression::Primary,
                ("secondary", false) => Suppression::Secondary,
                _ => {
                    return Err(format!(
                        "line {line}: status is not one of {}",
                        if noisy {
                            "noisy"
                        } else {
                            "published, primary, secondary"
                        }
                    ))
                }
            };
            if people.is_some() != (suppression == Suppression::Published) {
                return Err(format!(
                    "line {line}: a count must be given exactly when the cell is published"
                ));
            }
            let key = row[..width]
                .iter()
                .map(|k| Some(k.clone()).filter(|k| !k.is_empty()))
                .collect();
            Ok(ReadLine {
                key,
                people,
                suppression,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabulate::coarsen::Coarsening;
    use crate::tabulate::TableCell;

    fn report() -> FrequencyReport {
        FrequencyReport {
            anonpub_version: env!("CARGO_PKG_VERSION").into(),
            kind: FREQUENCY_KIND.into(),
            dataset: "log".into(),
            person_column: "ip".into(),
            by: vec![ByColumn {
                column: "page".into(),
                coarsening: Coarsening::None,
            }],
            margins: true,
            protection: CellProtection::Suppression {
                threshold: 5,
                primary_cells: 1,
                secondary_cells: 1,
            },
            input_rows: Some(30),
            people: Some(20),
            lines: 3,
            published_lines: 1,
        }
    }

    #[test]
    fn report_round_trips_and_lines_parse_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REPORT_FILE);
        std::fs::write(&path, serde_json::to_vec_pretty(&report()).unwrap()).unwrap();
        assert!(is_frequency_report(&path));
        assert_eq!(FrequencyReport::read(&path).unwrap(), report());
        let table = FrequencyTable {
            by: vec!["page".into()],
            threshold: 5,
            cells: vec![
                TableCell {
                    key: vec![Some("/a".into())],
                    people: None,
                    suppression: Suppression::Primary,
                },
                TableCell {
                    key: vec![Some("/b".into())],
                    people: None,
                    suppression: Suppression::Secondary,
                },
                TableCell {
                    key: vec![None],
                    people: Some(20),
                    suppression: Suppression::Published,
                },
            ],
        };
        let plain = frequency_columns(&table, false);
        let rows = TextRows {
            names: plain.names().iter().map(|n| n.to_string()).collect(),
            rows: plain.text_rows(),
        };
        let lines = parse_lines(&rows, &report()).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2].key, [None]);
        assert_eq!(lines[2].people, Some(20));
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
}
