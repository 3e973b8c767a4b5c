//! Small typed tables (a frequency table, a size chart) as CSV and Parquet, written and read back
//! the same way so that `verify` can compare the two files cell by cell.
//!
//! CSV: a header, then one line per row; a missing value is an empty cell; numbers in Rust's
//! shortest round-trip form. Parquet: text columns as strings, integer columns as unsigned 64-bit
//! integers, number columns as 64-bit floats, missing as null; zstd-compressed, with key-value
//! metadata.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum PlainValues {
    /// Text (`None`: empty cell).
    Text(Vec<Option<String>>),
    /// Counts.
    Integer(Vec<Option<u64>>),
    /// Figures.
    Number(Vec<Option<f64>>),
}

impl PlainValues {
    fn len(&self) -> usize {
        match self {
            PlainValues::Text(v) => v.len(),
            PlainValues::Integer(v) => v.len(),
            PlainValues::Number(v) => v.len(),
        }
    }

    /// Row `row` as the CSV writes it.
    fn cell(&self, row: usize) -> String {
        match self {
            PlainValues::Text(v) => v[row].clone().unwrap_or_default(),
            PlainValues::Integer(v) => v[row].map(|n| n.to_string()).unwrap_or_default(),
            PlainValues::Number(v) => v[row].map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}

/// A small table of named, typed columns.
#[derive(Debug, Clone, PartialEq)]
pub struct PlainTable {
    /// Column names and values, in order; all columns have the same length.
    pub columns: Vec<(String, PlainValues)>,
}

impl PlainTable {
    /// Rows in the table.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    /// The column names.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Every cell as the CSV writes it, row by row.
    pub fn text_rows(&self) -> Vec<Vec<String>> {
        (0..self.rows())
            .map(|row| self.columns.iter().map(|(_, v)| v.cell(row)).collect())
            .collect()
    }
}

/// Writes the table as CSV.
pub fn write_plain_csv(table: &PlainTable, out: impl Write, path: &Path) -> Result<()> {
    let io = |e: csv::Error| Error::io("write", path, std::io::Error::other(e.to_string()));
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(table.names()).map_err(io)?;
    for row in table.text_rows() {
        writer.write_record(&row).map_err(io)?;
    }
    writer.flush().map_err(|e| Error::io("write", path, e))
}

/// Writes the table as Parquet with `metadata` in the file's key-value metadata.
pub fn write_plain_parquet(
    table: &PlainTable,
    metadata: Vec<(String, String)>,
    out: &mut impl Write,
    path: &Path,
) -> Result<()> {
    let parquet = |e: PolarsError| Error::Parquet {
        path: path.into(),
        problem: e.to_string(),
    };
    let columns: Vec<Column> = table
        .columns
        .iter()
        .map(|(name, values)| {
            let name = name.as_str().into();
            match values {
                PlainValues::Text(v) => Column::new(name, v.as_slice()),
                PlainValues::Integer(v) => Column::new(name, v.as_slice()),
                PlainValues::Number(v) => Column::new(name, v.as_slice()),
            }
        })
        .collect();
    let mut frame = DataFrame::new(table.rows(), columns).map_err(parquet)?;
    ParquetWriter::new(out)
        .with_compression(ParquetCompression::Zstd(None))
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(metadata)))
        .finish(&mut frame)
        .map_err(parquet)?;
    Ok(())
}

/// A CSV read back as text: the header and the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRows {
    /// The header.
    pub names: Vec<String>,
    /// Every row, as text.
    pub rows: Vec<Vec<String>>,
}

/// Reads a CSV written by [`write_plain_csv`]; the error says what is wrong (never a value).
pub fn read_plain_csv(path: &Path) -> std::result::Result<TextRows, String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut reader = csv::Reader::from_path(path).map_err(|e| format!("{name} unreadable: {e}"))?;
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{name} header unreadable: {e}"))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|_| format!("{name} line {} is malformed", line + 2))?;
        rows.push(record.iter().map(String::from).collect());
    }
    Ok(TextRows { names, rows })
}

/// Reads a Parquet file written by [`write_plain_parquet`] as the CSV would spell it.
pub fn read_plain_parquet(path: &Path) -> std::result::Result<TextRows, String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let file = std::fs::File::open(path).map_err(|e| format!("{name} unreadable: {e}"))?;
    let frame = ParquetReader::new(file)
        .finish()
        .map_err(|e| format!("{name} unreadable: {e}"))?;
    let mut columns = Vec::new();
    for column in frame.columns() {
        let values = match column.dtype() {
            DataType::String => PlainValues::Text(
                column
                    .str()
                    .map_err(|e| e.to_string())?
                    .iter()
                    .map(|v| v.map(String::from))
                    .collect(),
            ),
            DataType::UInt64 => {
                PlainValues::Integer(column.u64().map_err(|e| e.to_string())?.iter().collect())
            }
            DataType::Float64 => {
                PlainValues::Number(column.f64().map_err(|e| e.to_string())?.iter().collect())
            }
            other => {
                return Err(format!(
                    "{name}: column `{}` has type {other}, expected text, counts or numbers",
                    column.name()
                ))
            }
        };
        columns.push((column.name().to_string(), values));
    }
    let table = PlainTable { columns };
    Ok(TextRows {
        names: table.names().iter().map(|n| n.to_string()).collect(),
        rows: table.text_rows(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_parquet_read_back_as_the_same_text() {
        let table = PlainTable {
            columns: vec![
                (
                    "page".into(),
                    PlainValues::Text(vec![Some("/a,b".into()), None]),
                ),
                ("people".into(), PlainValues::Integer(vec![Some(12), None])),
                (
                    "mean".into(),
                    PlainValues::Number(vec![Some(0.1), Some(1e21)]),
                ),
            ],
        };
        let dir = tempfile::tempdir().unwrap();
        let csv_path = dir.path().join("t.csv");
        let parquet_path = dir.path().join("t.parquet");
        write_plain_csv(&table, std::fs::File::create(&csv_path).unwrap(), &csv_path).unwrap();
        let mut file = std::fs::File::create(&parquet_path).unwrap();
        write_plain_parquet(
            &table,
            vec![("k".into(), "v".into())],
            &mut file,
            &parquet_path,
        )
        .unwrap();
        let csv = read_plain_csv(&csv_path).unwrap();
        let parquet = read_plain_parquet(&parquet_path).unwrap();
        assert_eq!(csv, parquet);
        assert_eq!(csv.names, ["page", "people", "mean"]);
        assert_eq!(csv.rows[0], ["/a,b", "12", "0.1"]);
        assert_eq!(csv.rows[1], ["", "", "1000000000000000000000"]);
    }
}
