//! The input of `anonymize`: a table read against its dataset schema, checked cell by cell before
//! any anonymization work starts.
//!
//! **Guarantees** once a [`Dataset`] exists: direct identifiers are gone (they are never copied out
//! of the text table); every cell of a numeric column is empty or a finite number, and every cell
//! of an `integer` column a whole number; every `hierarchy` file of a quasi-identifier is read,
//! well-formed, and lists every value of its column. A value missing from a hierarchy, an unevenly
//! deep or non-nesting hierarchy file or a non-numeric cell is an [`Error::BadFile`] naming the
//! file, line and column, never the value — reported before any anonymization work starts.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::coding;
use super::hierarchy::{Hierarchy, HierarchyError, DEFAULT_DELIMITER};
use crate::error::{Error, Result};
use crate::extract::table::{CodedColumn, CodedTable};
use crate::schema::{ColumnSpec, ColumnType, DatasetSchema, Role};

/// One published column of the input.
#[derive(Debug, Clone)]
pub struct Column {
    /// The column's schema entry.
    pub spec: ColumnSpec,
    /// Cell texts, coded (rewritten after top/bottom coding or rounding of a numeric column).
    pub cells: CodedColumn,
    /// Parsed values of a numeric column (NaN for an empty cell), one per row; `None` for text
    /// columns.
    pub numbers: Option<Vec<f64>>,
    /// A quasi-identifier's `hierarchy` file and each row's base code in it. Coding and rounding
    /// never touch such columns (the schema refuses them there), so the codes stay valid.
    listed: Option<(Hierarchy, Vec<u32>)>,
}

/// The input table without its direct identifiers, in schema order.
#[derive(Debug, Clone)]
pub struct Dataset {
    input: Origin,
    schema_file: PathBuf,
    rows: usize,
    /// The published columns, in schema order.
    pub columns: Vec<Column>,
    /// Names of the dropped columns: direct identifiers and eligibility columns (person key,
    /// consent, status, last seen).
    pub dropped: Vec<String>,
    /// The schema's `person_key` column, if any; `None`: one person per row.
    pub person_key: Option<PersonKey>,
}

/// The input file a table was read from, and where each of the table's rows stands in it, so that
/// an error names the line (CSV) or row (Parquet) the user sees in the file, also when the table
/// holds only some of its records (the eligible ones).
#[derive(Debug, Clone)]
pub struct Origin {
    path: PathBuf,
    /// The file record (0-based, after a CSV header) of each table row; `None`: row `i` is
    /// record `i`.
    records: Option<Vec<usize>>,
}

impl Origin {
    /// A table holding every record of `path`, in order.
    pub fn whole(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            records: None,
        }
    }

    /// A table whose row `i` is record `records[i]` of `path`.
    pub fn subset(path: &Path, records: Vec<usize>) -> Self {
        Self {
            path: path.to_path_buf(),
            records: Some(records),
        }
    }

    /// An error about the cell of `column` in table row `row`, by its position in the file
    /// only, never its value.
    fn cell_error(&self, column: &str, row: usize, problem: impl Into<String>) -> Error {
        let record = self.records.as_ref().map_or(row, |records| records[row]);
        Error::bad_file(
            &self.path,
            Some(format!(
                "{}, column `{column}`",
                record_location(&self.path, record)
            )),
            problem,
        )
    }
}

/// Who each row belongs to, from the `person_key` column (which is not published).
#[derive(Debug, Clone)]
pub struct PersonKey {
    /// The column's name.
    pub column: String,
    /// The person of each row: rows with the same key share a number (the key's order of first
    /// appearance), so k counts distinct people.
    pub persons: Vec<u32>,
}

/// What coding and rounding did, in counts per column.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PerturbationCounts {
    /// Columns with a `bottom_code`, with the number of values raised to it.
    pub bottom_coded: BTreeMap<String, usize>,
    /// Columns with a `top_code`, with the number of values lowered to it.
    pub top_coded: BTreeMap<String, usize>,
    /// Columns rounded to their schema `rounding` step (or to whole numbers, for coded integers).
    pub rounded: Vec<String>,
}

impl Dataset {
    /// Checks the table's cells against the schema, reads and applies the hierarchy files, and
    /// drops direct identifiers. `input` and `schema_file` name the files (and `input` the row)
    /// in errors.
    pub fn new(
        table: CodedTable,
        schema: &DatasetSchema,
        input: Origin,
        schema_file: &Path,
    ) -> Result<Self> {
        let rows = table.rows();
        let mut columns = Vec::new();
        let mut dropped = Vec::new();
        let mut person_key = None;
        for (spec, cells) in schema.columns.iter().zip(table.data) {
            if spec.role == Role::PersonKey {
                person_key = Some(PersonKey {
                    column: spec.name.clone(),
                    persons: person_numbers(&cells, spec, &input)?,
                });
            }
            if spec.role == Role::DirectIdentifier || spec.role.is_eligibility() {
                dropped.push(spec.name.clone());
                continue;
            }
            let numbers = if spec.is_numeric() {
                Some(parse_numbers(&cells, spec, &input)?)
            } else {
                None
            };
            let listed = match schema.hierarchy_path(spec) {
                Some(path) if spec.role == Role::QuasiIdentifier => {
                    let fail = |e| hierarchy_error(e, &path, &cells, spec, &input, schema_file);
                    let hierarchy =
                        Hierarchy::from_csv_file(&path, DEFAULT_DELIMITER).map_err(fail)?;
                    let codes = encode(&hierarchy, &cells, spec).map_err(fail)?;
                    Some((hierarchy, codes))
                }
                _ => None,
            };
            columns.push(Column {
                spec: spec.clone(),
                cells,
                numbers,
                listed,
            });
        }
        Ok(Self {
            input,
            schema_file: schema_file.to_path_buf(),
            rows,
            columns,
            dropped,
            person_key,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Positions of the columns with a role.
    pub fn with_role(&self, role: Role) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&c| self.columns[c].spec.role == role)
            .collect()
    }

    /// Position of a column by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.spec.name == name)
    }

    /// An error about the schema's description of a column.
    pub fn schema_error(&self, column: usize, problem: impl Into<String>) -> Error {
        Error::bad_file(
            &self.schema_file,
            Some(format!("column `{}`", self.columns[column].spec.name)),
            problem,
        )
    }

    /// An error about one cell of the input (table row `row`), by its position in the file only.
    pub fn cell_error(&self, column: usize, row: usize, problem: impl Into<String>) -> Error {
        self.input
            .cell_error(&self.columns[column].spec.name, row, problem)
    }

    /// Applies top/bottom coding and rounding to numeric columns, in that order, and rewrites
    /// their text (see [`super::coding`]).
    pub fn perturb(&mut self) -> PerturbationCounts {
        let mut counts = PerturbationCounts::default();
        for column in &mut self.columns {
            let Some(values) = column.numbers.as_mut() else {
                continue;
            };
            let spec = &column.spec;
            let original = values.clone();
            let mut changed = false;
            if spec.bottom_code.is_some() || spec.top_code.is_some() {
                let (bottom, top) =
                    coding::top_bottom_code(values, spec.bottom_code, spec.top_code);
                if spec.bottom_code.is_some() {
                    counts.bottom_coded.insert(spec.name.clone(), bottom);
                }
                if spec.top_code.is_some() {
                    counts.top_coded.insert(spec.name.clone(), top);
                }
                changed = true;
            }
            let step = spec
                .rounding
                .or_else(|| (changed && spec.value_type == ColumnType::Integer).then_some(1.0));
            if let Some(step) = step {
                coding::round_column(values, step);
                counts.rounded.push(spec.name.clone());
            }
            // Keep the text as read unless a value moved (rounding whole millimetres to 1 mm
            // changes nothing).
            if values
                .iter()
                .zip(&original)
                .any(|(a, b)| a.to_bits() != b.to_bits())
            {
                column.cells = code_numbers(values.iter().copied());
            }
        }
        counts
    }

    /// How a quasi-identifier generalizes, with each row's base code: its `hierarchy` file, or
    /// intervals of its `widths` over the column's (coded and rounded) values; `None` if the schema gives
    /// neither.
    pub fn generalization(&self, column: usize) -> Result<Option<(Hierarchy, Vec<u32>)>> {
        let Column {
            spec,
            cells,
            listed,
            ..
        } = &self.columns[column];
        if let Some(listed) = listed {
            return Ok(Some(listed.clone()));
        }
        let Some(widths) = &spec.widths else {
            return Ok(None);
        };
        let fail = |e| {
            hierarchy_error(
                e,
                &self.schema_file,
                cells,
                spec,
                &self.input,
                &self.schema_file,
            )
        };
        let hierarchy =
            Hierarchy::numeric_intervals(&spec.name, &cells.values, widths).map_err(fail)?;
        let codes = encode(&hierarchy, cells, spec).map_err(fail)?;
        Ok(Some((hierarchy, codes)))
    }
}

/// A column's cells as base codes of `hierarchy`; each distinct text is looked up once.
fn encode(
    hierarchy: &Hierarchy,
    cells: &CodedColumn,
    spec: &ColumnSpec,
) -> std::result::Result<Vec<u32>, HierarchyError> {
    let bases = hierarchy.encode_column(&spec.name, &cells.values)?;
    Ok(cells.codes.iter().map(|&c| bases[c as usize]).collect())
}

/// Turns a hierarchy error into a file error; `file` is the hierarchy or schema file involved.
/// Row numbers of errors about data are positions among the column's distinct texts, which are
/// turned back into the first row holding that text.
fn hierarchy_error(
    error: HierarchyError,
    file: &Path,
    cells: &CodedColumn,
    spec: &ColumnSpec,
    input: &Origin,
    schema_file: &Path,
) -> Error {
    let record = |distinct: usize| {
        cells
            .first_row(distinct as u32 - 1)
            .expect("every distinct text occurs in a row")
    };
    match error {
        HierarchyError::Unreadable { reason, .. } => Error::bad_file(file, None, reason),
        HierarchyError::Empty { .. } => Error::bad_file(file, None, "the hierarchy has no rows"),
        HierarchyError::WrongDelimiter {
            expected, found, ..
        } => Error::bad_file(
            file,
            Some("line 1".into()),
            format!("fields look separated by {found:?}, expected {expected:?}"),
        ),
        HierarchyError::UnevenDepth {
            row,
            expected,
            found,
            ..
        } => Error::bad_file(
            file,
            Some(format!("line {row}")),
            format!("{found} levels where line 1 has {expected}: every row of a hierarchy must be equally deep"),
        ),
        HierarchyError::DuplicateValue { row, first_row, .. } => Error::bad_file(
            file,
            Some(format!("line {row}")),
            format!("original value already listed on line {first_row}"),
        ),
        HierarchyError::NotNested { row, level, .. } => Error::bad_file(
            file,
            Some(format!("line {row}")),
            format!(
                "its level-{level} label is shared with an earlier line whose level-{} label differs: the levels do not nest",
                level + 1
            ),
        ),
        HierarchyError::MissingValue { row, .. } => input.cell_error(
            &spec.name,
            record(row),
            format!("value not listed in the hierarchy {}", file.display()),
        ),
        HierarchyError::NotNumeric { row, .. } => {
            input.cell_error(&spec.name, record(row), "not a finite number")
        }
        HierarchyError::InvalidWidths { reason, .. } => Error::bad_file(
            schema_file,
            Some(format!("column `{}`", spec.name)),
            format!("`widths`: {reason}"),
        ),
    }
}

/// Where a record of an input file is: its line in a CSV file (after the header), its row in a
/// Parquet file.
fn record_location(input: &Path, record: usize) -> String {
    let parquet = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if parquet {
        format!("row {}", record + 1)
    } else {
        format!("line {}", record + 2)
    }
}

/// The person number of each row: the code of its key. An empty key is an error: the row's
/// person is unknown, so it could not be counted towards k.
fn person_numbers(cells: &CodedColumn, spec: &ColumnSpec, input: &Origin) -> Result<Vec<u32>> {
    if let Some(empty) = cells.values.iter().position(String::is_empty) {
        let row = cells
            .codes
            .iter()
            .position(|&code| code as usize == empty)
            .expect("every value is some row's");
        return Err(input.cell_error(
            &spec.name,
            row,
            "empty person key: every row must name its person",
        ));
    }
    Ok(cells.codes.clone())
}

/// Parses a numeric column, each distinct text once; an empty cell is missing (NaN).
fn parse_numbers(cells: &CodedColumn, spec: &ColumnSpec, input: &Origin) -> Result<Vec<f64>> {
    let distinct: Vec<f64> = cells
        .values
        .iter()
        .enumerate()
        .map(|(code, cell)| {
            let fail = |problem| {
                let row = cells
                    .first_row(code as u32)
                    .expect("every distinct text occurs in a row");
                Err(input.cell_error(&spec.name, row, problem))
            };
            let cell = cell.trim();
            if cell.is_empty() {
                return Ok(f64::NAN);
            }
            match cell.parse::<f64>().ok().filter(|v| v.is_finite()) {
                None => fail("not a finite number"),
                Some(value) if spec.value_type == ColumnType::Integer && value.fract() != 0.0 => {
                    fail("not a whole number (the column's type is integer)")
                }
                Some(value) => Ok(value),
            }
        })
        .collect::<Result<_>>()?;
    Ok(cells.codes.iter().map(|&c| distinct[c as usize]).collect())
}

/// Numbers as coded text ([`format_number`]), each distinct value formatted once.
pub fn code_numbers(values: impl Iterator<Item = f64>) -> CodedColumn {
    let mut index: HashMap<u64, u32> = HashMap::new();
    let mut column = CodedColumn::default();
    for value in values {
        let next = column.values.len() as u32;
        let code = *index.entry(value.to_bits()).or_insert(next);
        if code == next {
            column.values.push(format_number(value));
        }
        column.codes.push(code);
    }
    column
}

/// The shortest text that reads back as the same number; empty for a missing value.
pub fn format_number(value: f64) -> String {
    if value.is_nan() {
        String::new()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(dir: &Path, extra: &str) -> DatasetSchema {
        std::fs::write(dir.join("job.csv"), "a;*\nb;*\n").unwrap();
        let text = format!(
            "name = \"t\"\n\
             [[column]]\nname = \"email\"\nrole = \"direct_identifier\"\ntype = \"string\"\n\
             [[column]]\nname = \"age\"\nrole = \"quasi_identifier\"\ntype = \"integer\"\n{extra}\n\
             [[column]]\nname = \"job\"\nrole = \"quasi_identifier\"\ntype = \"string\"\nhierarchy = \"job.csv\"\n"
        );
        DatasetSchema::parse(&text, &dir.join("t.toml")).unwrap()
    }

    fn table(ages: &[&str], jobs: &[&str]) -> CodedTable {
        crate::extract::table::TextTable {
            columns: vec!["email".into(), "age".into(), "job".into()],
            cells: vec![
                ages.iter()
                    .map(|_| "jane@example.org".to_string())
                    .collect(),
                ages.iter().map(|s| s.to_string()).collect(),
                jobs.iter().map(|s| s.to_string()).collect(),
            ],
        }
        .into()
    }

    #[test]
    fn drops_identifiers_and_names_bad_cells_without_values() {
        let dir = tempfile::tempdir().unwrap();
        let schema = schema(dir.path(), "");
        let input = Path::new("people.csv");
        let data = Dataset::new(
            table(&["30", ""], &["a", "b"]),
            &schema,
            Origin::whole(input),
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(data.dropped, vec!["email"]);
        assert_eq!(data.columns.len(), 2);
        assert!(data.columns[0].numbers.as_ref().unwrap()[1].is_nan());
        let error = Dataset::new(
            table(&["30", "31.5"], &["a", "b"]),
            &schema,
            Origin::whole(input),
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("line 3, column `age`") && !error.contains("31.5"),
            "{error}"
        );
        let error = Dataset::new(
            table(&["secret"], &["a"]),
            &schema,
            Origin::whole(Path::new("p.parquet")),
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("row 1, column `age`") && !error.contains("secret"),
            "{error}"
        );
    }

    #[test]
    fn a_subset_names_the_file_record_not_its_own_row() {
        let dir = tempfile::tempdir().unwrap();
        let schema = schema(dir.path(), "");
        // The table's rows are records 4 and 9 of the file: lines 6 and 11 of a CSV file,
        // rows 5 and 10 of a Parquet file.
        for (input, place) in [("p.csv", "line 11"), ("p.parquet", "row 10")] {
            let error = Dataset::new(
                table(&["30", "31.5"], &["a", "b"]),
                &schema,
                Origin::subset(Path::new(input), vec![4, 9]),
                Path::new("t.toml"),
            )
            .unwrap_err()
            .to_string();
            assert!(error.contains(&format!("{place}, column `age`")), "{error}");
        }
        std::fs::write(dir.path().join("job.csv"), "a;*\n").unwrap();
        let error = Dataset::new(
            table(&["30", "31"], &["a", "Jane"]),
            &schema,
            Origin::subset(Path::new("p.csv"), vec![2, 7]),
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("p.csv (line 9, column `job`)") && !error.contains("Jane"),
            "{error}"
        );
    }

    #[test]
    fn hierarchy_problems_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let schema = schema(dir.path(), "");
        let read = || {
            Dataset::new(
                table(&["30", "31"], &["a", "Jane"]),
                &schema,
                Origin::whole(Path::new("people.csv")),
                Path::new("t.toml"),
            )
        };
        std::fs::write(dir.path().join("job.csv"), "a;x;*\nb;x\n").unwrap();
        let error = read().unwrap_err().to_string();
        assert!(
            error.contains("job.csv (line 2)") && error.contains("deep"),
            "{error}"
        );
        std::fs::write(dir.path().join("job.csv"), "a;*\nb;*\n").unwrap();
        let error = read().unwrap_err().to_string();
        assert!(
            error.contains("people.csv (line 3, column `job`)")
                && error.contains("job.csv")
                && !error.contains("Jane"),
            "{error}"
        );
        std::fs::write(dir.path().join("job.csv"), "a;*\nJane;*\n").unwrap();
        let data = read().unwrap();
        let (hierarchy, codes) = data.generalization(1).unwrap().unwrap();
        assert_eq!(hierarchy.levels(), 2);
        assert_eq!(codes, [0, 1]);
        assert!(data.generalization(0).unwrap().is_none());
    }

    #[test]
    fn perturbation_codes_rounds_and_rewrites_text() {
        let dir = tempfile::tempdir().unwrap();
        let schema = schema(dir.path(), "bottom_code = 20\ntop_code = 80\n");
        let ages = ["10", "50", "90", "33", "47", "61"];
        let mut data = Dataset::new(
            table(&ages, &["a"; 6]),
            &schema,
            Origin::whole(Path::new("p.csv")),
            Path::new("t.toml"),
        )
        .unwrap();
        let counts = data.perturb();
        assert_eq!(counts.bottom_coded["age"], 1);
        assert_eq!(counts.top_coded["age"], 1);
        assert_eq!(counts.rounded, vec!["age".to_string()]);
        let values = data.columns[0].numbers.as_ref().unwrap();
        assert_eq!(values, &[20.0, 50.0, 80.0, 33.0, 47.0, 61.0]);
        assert_eq!(data.columns[0].cells.cell(0), format_number(values[0]));
        assert_eq!(data.columns[0].cells.cell(2), "80");
    }
}
