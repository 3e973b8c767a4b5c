//! `measurements.parquet`: the same rows and values as the CSV, typed (`record_id` a string, every
//! measurement a 64-bit float, null when not published), zstd-compressed, with the release
//! metadata (version, k, method, seed, units) in the file's key-value metadata and each
//! measurement's unit in its own Arrow field metadata (`unit`), where pyarrow and other Arrow
//! readers show it beside the column.
//!
//! polars' `ParquetWriter` builds the Arrow schema itself and has no way to attach field metadata,
//! so the file is written with the same polars-parquet writer it uses underneath, from Arrow
//! arrays built straight from the row-major release table and a schema that carries the units.
//! The columns are independent, so each is encoded (dictionary pages where polars-parquet finds
//! them worth it, as it decides for any file) and compressed on the rayon pool, and the writer
//! then lays the finished pages out in column order: the bytes are those of a sequential write.

use std::collections::BTreeMap;
use std::path::Path;

use polars::io::parquet::write::get_encodings;
use polars::prelude::*;
use polars_arrow::array::{Array, PrimitiveArray, Utf8ViewArray};
use polars_arrow::bitmap::Bitmap;
use polars_parquet::write::{
    array_to_columns, compress, fallible_streaming_iterator, schema_to_metadata_key,
    to_parquet_schema, CompressedPage, CompressionOptions, DynIter, DynStreamingIterator,
    FileWriter, KeyValue, StatisticsOptions, Version, WriteOptions,
};
use rayon::prelude::*;

use crate::deidentify::ReleaseTable;
use crate::error::{Error, Result};

fn parquet_error(path: &Path, error: PolarsError) -> Error {
    Error::Parquet {
        path: path.into(),
        problem: error.to_string(),
    }
}

/// Key of the Arrow field metadata entry that holds a column's unit.
pub const UNIT_KEY: &str = "unit";

/// Writes the release table; `units[c]` is the unit of `table.columns[c]`, `metadata` goes into
/// the file's key-value metadata. One row group; the columns are encoded and compressed side by
/// side (see the module documentation).
pub fn write_parquet(
    table: &ReleaseTable,
    units: &[&str],
    metadata: Vec<(String, String)>,
    file: &mut std::fs::File,
    path: &Path,
) -> Result<()> {
    assert_eq!(units.len(), table.columns.len(), "one unit per column");
    let compat = CompatLevel::newest();
    let unit_field = |name: &str, unit: &str| {
        let field = DataType::Float64.to_arrow_field(name.into(), compat);
        match unit {
            "" => field,
            unit => field.with_metadata(BTreeMap::from([(
                PlSmallStr::from_static(UNIT_KEY),
                PlSmallStr::from_str(unit),
            )])),
        }
    };
    let schema: ArrowSchema =
        std::iter::once(DataType::String.to_arrow_field("record_id".into(), compat))
            .chain(
                table
                    .columns
                    .iter()
                    .zip(units)
                    .map(|(name, unit)| unit_field(name, unit)),
            )
            .collect();
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: CompressionOptions::Zstd(None),
        data_page_size: None,
    };
    let mut arrays: Vec<Box<dyn Array>> = Vec::with_capacity(table.columns.len() + 1);
    arrays.push(Utf8ViewArray::from_slice_values(&table.record_ids).boxed());
    arrays.extend(float_arrays(table));
    let parquet_schema = to_parquet_schema(&schema).map_err(|e| parquet_error(path, e))?;
    let encodings = get_encodings(&schema);
    let columns: Vec<Vec<CompressedPage>> = arrays
        .par_iter()
        .zip(parquet_schema.fields())
        .zip(encodings.as_slice())
        .map(|((array, type_), encoding)| {
            array_to_columns(array, type_.clone(), options, encoding)?
                .into_iter()
                .map(|pages| {
                    pages
                        .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                        .collect::<PolarsResult<Vec<_>>>()
                })
                .collect::<PolarsResult<Vec<_>>>()
        })
        .collect::<PolarsResult<Vec<_>>>()
        .map_err(|e| parquet_error(path, e))?
        .into_iter()
        .flatten()
        .collect();
    drop(arrays);
    let row_group = DynIter::new(columns.iter().map(|pages| {
        Ok(DynStreamingIterator::new(
            fallible_streaming_iterator::convert(pages.iter().map(Ok)),
        ))
    }));
    let mut writer =
        FileWriter::try_new(file, schema.clone(), options).map_err(|e| parquet_error(path, e))?;
    writer
        .write(u64::MAX, row_group)
        .map_err(|e| parquet_error(path, e))?;
    let mut key_values = vec![schema_to_metadata_key(&schema)];
    key_values.extend(metadata.into_iter().map(|(key, value)| KeyValue {
        key,
        value: Some(value),
    }));
    writer
        .end(Some(key_values))
        .map_err(|e| parquet_error(path, e))?;
    Ok(())
}

/// The measurement columns of the row-major table as Arrow arrays: NaN (not published) becomes
/// null (a cleared validity bit over a zero), a column without one has no validity bitmap.
fn float_arrays(table: &ReleaseTable) -> Vec<Box<dyn Array>> {
    super::column_major(table)
        .into_par_iter()
        .map(|mut column| {
            let validity = column.iter().any(|v| v.is_nan()).then(|| {
                let validity: Bitmap = column.iter().map(|v| !v.is_nan()).collect();
                column
                    .iter_mut()
                    .filter(|v| v.is_nan())
                    .for_each(|v| *v = 0.0);
                validity
            });
            PrimitiveArray::from_vec(column)
                .with_validity(validity)
                .boxed()
        })
        .collect()
}

/// A release Parquet file read back: its columns (as stored, one vector per column) and its
/// key-value metadata.
pub struct ParquetRelease {
    /// Measurement column names, after `record_id`.
    pub columns: Vec<String>,
    /// The record ids, in file order.
    pub record_ids: Vec<String>,
    /// One vector per measurement column; NaN = not published.
    pub values: Vec<Vec<f64>>,
    /// The file's key-value metadata.
    pub metadata: Vec<(String, String)>,
}

impl ParquetRelease {
    /// Whether this file holds exactly `table`: same columns, record ids and values (NaN equal to
    /// NaN). Compared in parallel blocks of rows, without a row-major copy.
    pub fn holds(&self, table: &ReleaseTable) -> bool {
        const BLOCK_ROWS: usize = 4096;
        let width = table.columns.len();
        if self.columns != table.columns
            || self.record_ids != table.record_ids
            || table.values.len() != table.len() * width
        {
            return false;
        }
        if width == 0 {
            return true;
        }
        table
            .values
            .par_chunks(BLOCK_ROWS * width)
            .enumerate()
            .all(|(block, rows)| {
                let first = block * BLOCK_ROWS;
                self.values.iter().enumerate().all(|(c, column)| {
                    rows.chunks(width)
                        .zip(&column[first..])
                        .all(|(row, &x)| row[c] == x || (row[c].is_nan() && x.is_nan()))
                })
            })
    }
}

/// Reads a release Parquet file: `record_id` (string) then `f64` columns.
pub fn read_parquet(path: &Path) -> Result<ParquetRelease> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut reader = ParquetReader::new(file);
    let metadata = reader
        .get_metadata()
        .map_err(|e| parquet_error(path, e))?
        .key_value_metadata()
        .iter()
        .flatten()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect();
    let frame = reader.finish().map_err(|e| parquet_error(path, e))?;
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    if names.first().map(String::as_str) != Some("record_id") {
        return Err(Error::bad_file(
            path,
            None,
            "the first column must be `record_id`",
        ));
    }
    let ids = frame.columns()[0].str().map_err(|_| {
        Error::bad_file(path, Some("column `record_id`".into()), "expected strings")
    })?;
    let record_ids: Vec<String> = ids
        .iter()
        .map(|id| id.unwrap_or_default().to_string())
        .collect();
    let values: Vec<Vec<f64>> = frame.columns()[1..]
        .par_iter()
        .enumerate()
        .map(|(c, column)| {
            let numbers = column.f64().map_err(|_| {
                Error::bad_file(
                    path,
                    Some(format!("column `{}`", names[c + 1])),
                    "expected 64-bit floats",
                )
            })?;
            Ok(float_column(numbers))
        })
        .collect::<Result<_>>()?;
    Ok(ParquetRelease {
        columns: names[1..].to_vec(),
        record_ids,
        values,
        metadata,
    })
}

/// A float column as one vector, nulls as NaN: the values are copied chunk by chunk and the
/// nulls patched from the validity bitmap, instead of one `Option` per cell.
fn float_column(numbers: &Float64Chunked) -> Vec<f64> {
    let mut column = Vec::with_capacity(numbers.len());
    for chunk in numbers.downcast_iter() {
        let start = column.len();
        column.extend_from_slice(chunk.values().as_slice());
        if let Some(validity) = chunk.validity() {
            for (cell, valid) in column[start..].iter_mut().zip(validity.iter()) {
                if !valid {
                    *cell = f64::NAN;
                }
            }
        }
    }
    column
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_values_missing_cells_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.parquet");
        let table = ReleaseTable {
            columns: vec!["chest".into(), "shoulderSlope".into()],
            record_ids: vec!["a".into(), "b".into()],
            values: vec![762.0, f64::NAN, 900.0, 13.5],
        };
        let mut file = std::fs::File::create(&path).unwrap();
        write_parquet(
            &table,
            &["mm", "deg"],
            vec![("anonpub:k".into(), "5".into())],
            &mut file,
            &path,
        )
        .unwrap();
        let back = read_parquet(&path).unwrap();
        assert_eq!(back.columns, table.columns);
        assert_eq!(back.record_ids, table.record_ids);
        assert_eq!(back.values[0], [762.0, 900.0]);
        assert!(back.values[1][0].is_nan());
        assert_eq!(back.values[1][1], 13.5);
        assert!(back.holds(&table));
        let mut other = table.clone();
        other.values[1] = 1.0;
        assert!(!back.holds(&other));
        other.values[1] = f64::NAN;
        assert!(back.holds(&other));
        other.record_ids[1] = "c".into();
        assert!(!back.holds(&other));
        assert!(back
            .metadata
            .contains(&("anonpub:k".to_string(), "5".to_string())));
        let schema = ParquetReader::new(std::fs::File::open(&path).unwrap())
            .schema()
            .unwrap();
        let unit = |name: &str| {
            schema
                .get(name)
                .and_then(|field| field.metadata.as_ref())
                .and_then(|metadata| metadata.get(UNIT_KEY).cloned())
        };
        assert_eq!(unit("chest").as_deref(), Some("mm"));
        assert_eq!(unit("shoulderSlope").as_deref(), Some("deg"));
        assert_eq!(unit("record_id"), None);
    }
}
