//! `measurements.csv`: a header, then one row per record; empty cell = not published.

use std::io::Write;

use crate::deidentify::ReleaseTable;
use crate::error::{Error, Result};

/// Writes the release table as CSV. Numbers use the shortest text that reads back to the same
/// `f64` (`762`, `13.5`), so CSV and Parquet hold identical values.
pub fn write_csv(table: &ReleaseTable, out: impl Write, path: &std::path::Path) -> Result<()> {
    let io = |e: csv::Error| Error::io("write", path, std::io::Error::other(e.to_string()));
    let mut writer = csv::WriterBuilder::new()
        .buffer_capacity(1 << 20)
        .from_writer(out);
    writer
        .write_record(std::iter::once("record_id").chain(table.columns.iter().map(String::as_str)))
        .map_err(io)?;
    let mut cells: Vec<String> = Vec::with_capacity(table.columns.len() + 1);
    for (index, id) in table.record_ids.iter().enumerate() {
        cells.clear();
        cells.push(id.clone());
        cells.extend(table.row(index).iter().map(|v| format_value(*v)));
        writer.write_record(&cells).map_err(io)?;
    }
    writer.flush().map_err(|e| Error::io("write", path, e))
}

/// The CSV text of a value; NaN (not published) is the empty string.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        String::new()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_header_ids_and_shortest_numbers() {
        let table = ReleaseTable {
            columns: vec!["chest".into(), "shoulderSlope".into()],
            record_ids: vec!["id-1".into()],
            values: vec![762.0, f64::NAN],
        };
        let mut out = Vec::new();
        write_csv(&table, &mut out, std::path::Path::new("m.csv")).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "record_id,chest,shoulderSlope\nid-1,762,\n"
        );
        assert_eq!(format_value(13.5), "13.5");
    }
}
