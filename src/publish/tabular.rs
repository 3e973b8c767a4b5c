//! The output of `anonymize`: an anonymized table as CSV and Parquet plus `report.json`, written
//! atomically through [`Staging`].
//!
//! The CSV keeps the input's dialect (the schema's delimiter) and row order, so that row `i` of the
//! output is the anonymized row `i` of the input, as in ARX's output. The Parquet file holds the
//! same cells: text columns as strings, numeric columns as 64-bit floats where an empty cell
//! (missing) and `*` (suppressed) are null.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::anonymize::output::OutputTable;
use crate::atomic::Staging;
use crate::error::{Error, Result};

/// Name of the anonymized CSV inside the output directory.
pub const ANONYMIZED_CSV: &str = "anonymized.csv";
/// Name of the anonymized Parquet file inside the output directory.
pub const ANONYMIZED_PARQUET: &str = "anonymized.parquet";
/// Name of the report inside the output directory.
pub const ANONYMIZED_REPORT: &str = "report.json";

/// Writes `table` as CSV (with `delimiter`) and Parquet plus `report` into `out`, all or nothing;
/// an existing `out` is replaced only with `force` (see [`crate::atomic`]).
pub fn write_anonymized(
    out: &Path,
    force: bool,
    table: &OutputTable,
    delimiter: u8,
    report: &impl serde::Serialize,
    metadata: Vec<(String, String)>,
) -> Result<()> {
    let staging = Staging::new(out, force, "--out")?;
    let csv_path = staging.path(ANONYMIZED_CSV);
    let file = staging.create(ANONYMIZED_CSV)?;
    let file = write_csv(table, delimiter, file, &csv_path)?;
    file.sync_all()
        .map_err(|e| Error::io("sync", &csv_path, e))?;

    let parquet_path = staging.path(ANONYMIZED_PARQUET);
    let mut file = std::io::BufWriter::with_capacity(1 << 20, staging.create(ANONYMIZED_PARQUET)?);
    write_parquet(table, metadata, &mut file, &parquet_path)?;
    file.into_inner()
        .map_err(|e| Error::io("write", &parquet_path, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io("sync", &parquet_path, e))?;

    let mut json = serde_json::to_vec_pretty(report).expect("reports serialize");
    json.push(b'\n');
    staging.write(ANONYMIZED_REPORT, &json)?;
    staging.commit()
}

fn write_csv(
    table: &OutputTable,
    delimiter: u8,
    file: std::fs::File,
    path: &Path,
) -> Result<std::fs::File> {
    let io = |e: csv::Error| Error::io("write", path, std::io::Error::other(e.to_string()));
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .buffer_capacity(1 << 20)
        .from_writer(file);
    writer
        .write_record(table.columns.iter().map(|c| c.name.as_str()))
        .map_err(io)?;
    for row in 0..table.rows() {
        writer
            .write_record(table.columns.iter().map(|c| c.cell(row)))
            .map_err(io)?;
    }
    writer
        .into_inner()
        .map_err(|e| Error::io("write", path, e.into_error()))
}

fn write_parquet(
    table: &OutputTable,
    metadata: Vec<(String, String)>,
    file: &mut impl Write,
    path: &Path,
) -> Result<()> {
    let parquet = |e: PolarsError| Error::Parquet {
        path: path.into(),
        problem: e.to_string(),
    };
    let columns: Vec<Column> = table
        .columns
        .iter()
        .map(|column| {
            let name = column.name.as_str().into();
            let cells = (0..column.len()).map(|row| column.cell(row));
            if column.numeric {
                let values: Vec<Option<f64>> = cells.map(|cell| cell.parse::<f64>().ok()).collect();
                Column::new(name, values)
            } else {
                Column::new(name, cells.collect::<Vec<&str>>())
            }
        })
        .collect();
    let mut frame = DataFrame::new(table.rows(), columns).map_err(parquet)?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(None))
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(metadata)))
        .finish(&mut frame)
        .map_err(parquet)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anonymize::output::{Cells, OutputColumn};

    #[test]
    fn csv_and_parquet_hold_the_same_cells() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let table = OutputTable {
            columns: vec![
                OutputColumn {
                    name: "age".into(),
                    numeric: false,
                    cells: Cells::Coded {
                        labels: vec!["[20,30)".into(), "*".into()],
                        codes: vec![0, 1],
                    },
                },
                OutputColumn {
                    name: "height".into(),
                    numeric: true,
                    cells: Cells::Text(vec!["171.5".into(), "*".into()]),
                },
            ],
        };
        write_anonymized(
            &out,
            false,
            &table,
            b';',
            &serde_json::json!({"k": 2}),
            vec![],
        )
        .unwrap();
        let csv = std::fs::read_to_string(out.join(ANONYMIZED_CSV)).unwrap();
        assert_eq!(csv, "age;height\n[20,30);171.5\n*;*\n");
        let file = std::fs::File::open(out.join(ANONYMIZED_PARQUET)).unwrap();
        let frame = ParquetReader::new(file).finish().unwrap();
        let heights: Vec<Option<f64>> = frame
            .column("height")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(heights, vec![Some(171.5), None]);
        let ages: Vec<Option<&str>> = frame.column("age").unwrap().str().unwrap().iter().collect();
        assert_eq!(ages, vec![Some("[20,30)"), Some("*")]);
        assert!(out.join(ANONYMIZED_REPORT).is_file());
    }
}
