//! Reads a table described by a dataset schema from CSV (any single-byte delimiter the schema
//! names) or Parquet, as text cells in schema column order: one string per cell ([`TextTable`]) or
//! dictionary-coded, each distinct text stored once ([`CodedTable`]).
//!
//! Reading is strict because a silently mis-read table is a privacy bug: every schema column must
//! be present, every data column must be in the schema, rows must have the header's width, text
//! must be UTF-8 without a byte-order mark, and a header that looks split on another delimiter is
//! reported as such. Errors name the file, line and column, never a cell's content.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fast_hash::FastMap;
use crate::schema::DatasetSchema;

/// A table as text, column-major, in the order of the schema's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TextTable {
    /// Column names, in schema order.
    pub columns: Vec<String>,
    /// `cells[c][r]`: row `r` of schema column `c`.
    pub cells: Vec<Vec<String>>,
}

impl TextTable {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.cells.first().map_or(0, Vec::len)
    }

    /// The cells of a column by name.
    pub fn column(&self, name: &str) -> Option<&[String]> {
        self.columns
            .iter()
            .position(|c| c == name)
            .map(|i| self.cells[i].as_slice())
    }
}

/// A column of text cells, each distinct text stored once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CodedColumn {
    /// The distinct texts, in order of first appearance.
    pub values: Vec<String>,
    /// `codes[r]`: index into `values` of row `r`'s text.
    pub codes: Vec<u32>,
}

impl CodedColumn {
    /// Codes a column of cells.
    pub fn from_cells<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> Self {
        let mut builder = CodedBuilder::default();
        for cell in cells {
            builder.push(cell.as_ref());
        }
        builder.finish()
    }

    /// The text of row `row`.
    pub fn cell(&self, row: usize) -> &str {
        &self.values[self.codes[row] as usize]
    }

    /// The first row holding `values[code]`.
    pub fn first_row(&self, code: u32) -> Option<usize> {
        self.codes.iter().position(|&c| c == code)
    }
}

/// A table as dictionary-coded text, column-major, in the order of the schema's columns.
/// Categorical and rounded numeric data repeat few texts, so coding spares one allocation per
/// cell when reading, encoding and dropping large tables.
#[derive(Debug, Clone, PartialEq)]
pub struct CodedTable {
    /// Column names, in schema order.
    pub columns: Vec<String>,
    /// Each column's coded cells.
    pub data: Vec<CodedColumn>,
}

impl CodedTable {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.first().map_or(0, |c| c.codes.len())
    }
}

impl From<TextTable> for CodedTable {
    fn from(table: TextTable) -> Self {
        CodedTable {
            columns: table.columns,
            data: table
                .cells
                .into_iter()
                .map(CodedColumn::from_cells)
                .collect(),
        }
    }
}

/// Where read cells go: one string each, or coded.
trait CellSink: Default {
    type Column;
    fn push(&mut self, cell: &str);
    fn finish(self) -> Self::Column;
}

impl CellSink for Vec<String> {
    type Column = Vec<String>;

    fn push(&mut self, cell: &str) {
        Vec::push(self, cell.to_owned());
    }

    fn finish(self) -> Vec<String> {
        self
    }
}

/// Builds a [`CodedColumn`], looking each text up among those already seen.
#[derive(Default)]
struct CodedBuilder {
    column: CodedColumn,
    index: FastMap<String, u32>,
}

impl CellSink for CodedBuilder {
    type Column = CodedColumn;

    fn push(&mut self, cell: &str) {
        let code = match self.index.get(cell) {
            Some(&code) => code,
            None => {
                let code = u32::try_from(self.column.values.len())
                    .expect("fewer than 2^32 distinct values in a column");
                self.index.insert(cell.to_owned(), code);
                self.column.values.push(cell.to_owned());
                code
            }
        };
        self.column.codes.push(code);
    }

    fn finish(self) -> CodedColumn {
        self.column
    }
}

/// Reads `path` (Parquet when it ends in `.parquet`, CSV otherwise) against `schema`.
pub fn read_table(path: &Path, schema: &DatasetSchema) -> Result<TextTable> {
    let (header, data) = if is_parquet(path) {
        read_parquet_text(path)?
    } else {
        read_csv_text::<Vec<String>>(path, schema.delimiter.unwrap_or(','))?
    };
    Ok(TextTable {
        columns: schema.columns.iter().map(|c| c.name.clone()).collect(),
        cells: arrange(path, schema, &header, data)?,
    })
}

fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Puts data columns into schema order, rejecting missing and unknown columns.
fn arrange<C: Default>(
    path: &Path,
    schema: &DatasetSchema,
    header: &[String],
    mut data: Vec<C>,
) -> Result<Vec<C>> {
    if let Some(unknown) = header.iter().find(|h| schema.position(h).is_none()) {
        return Err(Error::bad_file(
            path,
            Some(format!("column `{unknown}`")),
            "not declared in the schema",
        ));
    }
    let mut cells = Vec::with_capacity(schema.columns.len());
    for column in &schema.columns {
        let found = header
            .iter()
            .position(|h| h == &column.name || column.aliases.contains(h))
            .ok_or_else(|| {
                Error::bad_file(
                    path,
                    Some(format!("column `{}`", column.name)),
                    "declared in the schema but missing from the data",
                )
            })?;
        cells.push(std::mem::take(&mut data[found]));
    }
    Ok(cells)
}

fn read_csv_text<S: CellSink>(
    path: &Path,
    delimiter: char,
) -> Result<(Vec<String>, Vec<S::Column>)> {
    let delimiter = u8::try_from(delimiter)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| {
            Error::bad_file(
                path,
                None,
                "the schema's delimiter must be a single ASCII character",
            )
        })?;
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(Error::bad_file(
            path,
            Some("line 1".into()),
            "starts with a UTF-8 byte-order mark; save the file as UTF-8 without BOM",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .from_reader(bytes.as_slice());
    let mut records = reader.byte_records();
    let header_record = match records.next() {
        Some(record) => record.map_err(|e| csv_error(path, &e))?,
        None => {
            return Err(Error::bad_file(
                path,
                None,
                "is empty: expected a header line",
            ))
        }
    };
    let header: Vec<String> = header_record
        .iter()
        .map(|field| {
            String::from_utf8(field.to_vec())
                .map_err(|_| Error::bad_file(path, Some("line 1".into()), "invalid UTF-8"))
        })
        .collect::<Result<_>>()?;
    if header.len() == 1 {
        if let Some(other) = [',', ';', '\t', '|']
            .into_iter()
            .find(|d| *d as u8 != delimiter && header[0].contains(*d))
        {
            return Err(Error::bad_file(
                path,
                Some("line 1".into()),
                format!("the header has one column but contains {other:?}: expected fields separated by {:?} (the schema's `delimiter`)", delimiter as char),
            ));
        }
    }
    let mut columns: Vec<S> = (0..header.len()).map(|_| S::default()).collect();
    for (index, record) in records.enumerate() {
        let line = index + 2;
        let record = record.map_err(|e| csv_error(path, &e))?;
        if record.len() != header.len() {
            return Err(Error::bad_file(
                path,
                Some(format!("line {line}")),
                format!(
                    "{} fields, expected {} as in the header",
                    record.len(),
                    header.len()
                ),
            ));
        }
        for (column, field) in columns.iter_mut().zip(record.iter()) {
            let text = std::str::from_utf8(field).map_err(|_| {
                Error::bad_file(path, Some(format!("line {line}")), "invalid UTF-8")
            })?;
            column.push(text);
        }
    }
    Ok((header, columns.into_iter().map(S::finish).collect()))
}

fn csv_error(path: &Path, error: &csv::Error) -> Error {
    let line = error.position().map(|p| format!("line {}", p.line()));
    let problem = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, expected {expected_len} as in the header"),
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
        csv::ErrorKind::Io(e) => format!("read error: {e}"),
        _ => "malformed CSV".to_string(),
    };
    Error::bad_file(path, line, problem)
}

fn read_parquet_text(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    use polars::prelude::*;
    let parquet = |e: PolarsError| Error::Parquet {
        path: path.into(),
        problem: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let frame = ParquetReader::new(file).finish().map_err(parquet)?;
    let header = frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let columns = frame
        .columns()
        .iter()
        .map(|column| {
            let text = column.cast(&DataType::String).map_err(parquet)?;
            Ok(text
                .str()
                .map_err(parquet)?
                .iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect())
        })
        .collect::<Result<_>>()?;
    Ok((header, columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(delimiter: char) -> DatasetSchema {
        let text = format!(
            "name = \"t\"\ndelimiter = \"{delimiter}\"\n[[column]]\nname = \"age\"\nrole = \"quasi_identifier\"\ntype = \"integer\"\n\
             [[column]]\nname = \"sex\"\nrole = \"quasi_identifier\"\ntype = \"string\"\n"
        );
        DatasetSchema::parse(&text, Path::new("t.toml")).unwrap()
    }

    fn read(content: &[u8], delimiter: char) -> Result<TextTable> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.csv");
        std::fs::write(&path, content).unwrap();
        read_table(&path, &schema(delimiter))
    }

    #[test]
    fn reads_in_schema_order() {
        let table = read(b"sex;age\nF;39\nM;50\n", ';').unwrap();
        assert_eq!(table.columns, vec!["age", "sex"]);
        assert_eq!(table.column("age").unwrap(), ["39", "50"]);
        assert_eq!(table.rows(), 2);
    }

    #[test]
    fn coded_tables_store_each_text_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.csv");
        std::fs::write(&path, "sex;age\nF;39\nM;50\nF;50\n").unwrap();
        let table = CodedTable::from(read_table(&path, &schema(';')).unwrap());
        assert_eq!(table.columns, vec!["age", "sex"]);
        assert_eq!(table.rows(), 3);
        assert_eq!(table.data[0].values, ["39", "50"]);
        assert_eq!(table.data[0].codes, [0, 1, 1]);
        assert_eq!(table.data[1].cell(2), "F");
        assert_eq!(table.data[1].first_row(1), Some(1));
    }

    #[test]
    fn strict_about_structure_without_echoing_cells() {
        let wrong_delimiter = read(b"sex,age\nF,39\n", ';').unwrap_err().to_string();
        assert!(
            wrong_delimiter.contains("line 1") && wrong_delimiter.contains("';'"),
            "{wrong_delimiter}"
        );
        let ragged = read(b"sex;age\nF;39;x\n", ';').unwrap_err().to_string();
        assert!(
            ragged.contains("line 2") && ragged.contains("3 fields"),
            "{ragged}"
        );
        let bom = read(b"\xEF\xBB\xBFsex;age\nF;39\n", ';')
            .unwrap_err()
            .to_string();
        assert!(bom.contains("byte-order mark"), "{bom}");
        let utf8 = read(b"sex;age\n\xFFsecret;39\n", ';')
            .unwrap_err()
            .to_string();
        assert!(
            utf8.contains("line 2") && utf8.contains("UTF-8") && !utf8.contains("secret"),
            "{utf8}"
        );
        let missing = read(b"sex\nF\n", ';').unwrap_err().to_string();
        assert!(missing.contains("column `age`"), "{missing}");
        let unknown = read(b"sex;age;zip\nF;39;1000\n", ';')
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("column `zip`"), "{unknown}");
        assert!(read(b"", ';').unwrap_err().to_string().contains("empty"));
    }
}
