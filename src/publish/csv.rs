//! `measurements.csv`: a header, then one row per record; empty cell = not published.

use std::io::Write;

use crate::deidentify::ReleaseTable;
use crate::error::{Error, Result};

/// Writes the release table as CSV. Numbers use the shortest text that reads back to the same
/// `f64` (`762`, `13.5`), so CSV and Parquet hold identical values. Cells are formatted into one
/// reused buffer: per-cell `String`s were the cost of this stage at a million rows.
pub fn write_csv(table: &ReleaseTable, out: impl Write, path: &std::path::Path) -> Result<()> {
    let io = |e: csv::Error| Error::io("write", path, std::io::Error::other(e.to_string()));
    let mut writer = csv::WriterBuilder::new()
        .buffer_capacity(1 << 20)
        .from_writer(out);
    writer
        .write_record(std::iter::once("record_id").chain(table.columns.iter().map(String::as_str)))
        .map_err(io)?;
    let mut cell = String::with_capacity(32);
    for (index, id) in table.record_ids.iter().enumerate() {
        writer.write_field(id).map_err(io)?;
        for &value in table.row(index) {
            cell.clear();
            push_value(&mut cell, value);
            writer.write_field(&cell).map_err(io)?;
        }
        writer.write_record(None::<&[u8]>).map_err(io)?;
    }
    writer.flush().map_err(|e| Error::io("write", path, e))
}

/// Appends the CSV text of a value; NaN (not published) appends nothing.
fn push_value(out: &mut String, value: f64) {
    use std::fmt::Write as _;
    if value.is_nan() {
        return;
    }
    let _ = if value.fract() == 0.0 && value.abs() < 1e15 {
        write!(out, "{}", value as i64)
    } else {
        write!(out, "{value}")
    };
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
        let mut text = String::new();
        push_value(&mut text, 13.5);
        push_value(&mut text, f64::NAN);
        push_value(&mut text, -2.0);
        assert_eq!(text, "13.5-2");
    }
}
