//! The release contract: what a release directory holds, in which files, in which formats.
//!
//! `publish` writes a release through this module and `verify` reads one back through it, so the
//! two cannot disagree about a file name or a format. A release holds `measurements.csv`,
//! `measurements.parquet` (same rows and values), `datapackage.json` (Frictionless), `report.json`
//! (counts, parameters, risk; [`report`]), `report.html` (the same for people, with histograms),
//! `README.md` (a datasheet), `manifest.json` (provenance and every other file's size and digest;
//! [`manifest`]) and `SHA256SUMS` (covering all of them, manifest included; [`checksums`]).
//! [`csv`] and [`parquet`] write and read the two data files.
//!
//! A frequency-table release (`anonpub tabulate`) holds `frequencies.csv` and
//! `frequencies.parquet` in place of the measurement files, its own `report.json`
//! ([`frequency::FrequencyReport`]), and the same `datapackage.json`, `README.md`, `manifest.json`
//! and `SHA256SUMS` ([`FREQUENCY_RELEASE_FILES`]); [`frequency`] writes and reads its data files.
//! A microdata release with a `[sizechart]` also holds `sizechart.csv` and `sizechart.parquet`
//! ([`SIZECHART_FILES`]).

pub mod checksums;
pub mod csv;
pub mod diversity;
pub mod frequency;
pub mod manifest;
pub mod parquet;
pub mod plain;
pub mod report;
pub mod sizechart;

use crate::deidentify::ReleaseTable;

/// The released rows as CSV: `record_id`, then one column per measurement.
pub const CSV_FILE: &str = "measurements.csv";
/// The same rows, typed, as Parquet.
pub const PARQUET_FILE: &str = "measurements.parquet";
/// The Frictionless Data Package describing the two data files.
pub const DATAPACKAGE_FILE: &str = "datapackage.json";
/// The public report: counts, parameters and risk ([`report::ReleaseReport`]).
pub const REPORT_FILE: &str = "report.json";
/// The report as one self-contained page for people.
pub const HTML_FILE: &str = "report.html";
/// The datasheet (Gebru et al.).
pub const DATASHEET_FILE: &str = "README.md";
/// Provenance and every other file's size and digest ([`manifest::Manifest`]).
pub const MANIFEST_FILE: &str = "manifest.json";
/// `sha256sum -c`-compatible checksums of every other file, the manifest included.
pub const CHECKSUM_FILE: &str = "SHA256SUMS";

/// Every file a release must contain.
pub const RELEASE_FILES: [&str; 8] = [
    CSV_FILE,
    PARQUET_FILE,
    DATAPACKAGE_FILE,
    REPORT_FILE,
    HTML_FILE,
    DATASHEET_FILE,
    MANIFEST_FILE,
    CHECKSUM_FILE,
];

/// The lines of a frequency table as CSV: the `by` columns, `people`, `events` (DP: with their
/// 95 % errors), `status`.
pub const FREQUENCY_CSV_FILE: &str = "frequencies.csv";
/// The same cells, typed, as Parquet.
pub const FREQUENCY_PARQUET_FILE: &str = "frequencies.parquet";

/// Every file a frequency-table release must contain.
pub const FREQUENCY_RELEASE_FILES: [&str; 7] = [
    FREQUENCY_CSV_FILE,
    FREQUENCY_PARQUET_FILE,
    DATAPACKAGE_FILE,
    REPORT_FILE,
    DATASHEET_FILE,
    MANIFEST_FILE,
    CHECKSUM_FILE,
];

/// The differentially private size chart as CSV (present when the config has `[sizechart]`).
pub const SIZECHART_CSV_FILE: &str = "sizechart.csv";
/// The same chart, typed, as Parquet.
pub const SIZECHART_PARQUET_FILE: &str = "sizechart.parquet";

/// The files a size chart adds to a microdata release.
pub const SIZECHART_FILES: [&str; 2] = [SIZECHART_CSV_FILE, SIZECHART_PARQUET_FILE];

/// The release table's columns, one vector each (NaN = not published), in one pass over the
/// row-major values: blocks of rows that stay in cache while every column takes its part. A walk
/// down one column at a time reads every cache line of the table once per column.
pub fn column_major(table: &ReleaseTable) -> Vec<Vec<f64>> {
    const BLOCK_ROWS: usize = 2048;
    let width = table.columns.len();
    let mut columns: Vec<Vec<f64>> = (0..width)
        .map(|_| Vec::with_capacity(table.len()))
        .collect();
    if width > 0 {
        for block in table.values.chunks(BLOCK_ROWS * width) {
            for (c, column) in columns.iter_mut().enumerate() {
                column.extend(block.chunks_exact(width).map(|row| row[c]));
            }
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_hold_every_row_in_order() {
        let rows = 5000;
        let table = ReleaseTable {
            columns: vec!["a".into(), "b".into(), "c".into()],
            record_ids: (0..rows).map(|r| r.to_string()).collect(),
            values: (0..rows * 3).map(|i| i as f64).collect(),
        };
        let columns = column_major(&table);
        assert_eq!(columns.len(), 3);
        for (c, column) in columns.iter().enumerate() {
            assert_eq!(column.len(), rows);
            assert!(column
                .iter()
                .enumerate()
                .all(|(r, &v)| v == (r * 3 + c) as f64));
        }
        let empty = ReleaseTable {
            columns: Vec::new(),
            record_ids: vec!["x".into()],
            values: Vec::new(),
        };
        assert!(column_major(&empty).is_empty());
    }
}
