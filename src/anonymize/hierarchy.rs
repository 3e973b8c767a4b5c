//! Generalization hierarchies for full-domain generalization.
//!
//! A hierarchy lists, for every original value of a quasi-identifier, the label
//! it takes at each generalization level: level 0 is the value itself, and each
//! further level is coarser (usually ending in `*`). This module reads
//! hierarchies in ARX's CSV format (no header, column 0 the original value,
//! column i the level-i label, `;`-separated by default), builds numeric
//! interval hierarchies from a list of widths, and encodes data columns as
//! dense `u32` codes so the lattice search never touches strings.
//!
//! Guarantees once a [`Hierarchy`] exists:
//! - every original value has a label on every level (uneven depth is rejected);
//! - original values are unique;
//! - levels nest: two values sharing a label on level `l` share a label on every
//!   level above `l`. Full-domain generalization (Samarati 2001; Sweeney 2002)
//!   needs this for k-anonymity to be monotone across the lattice, which the
//!   search in `global.rs` relies on.
//!
//! Codes: base codes number the original values in hierarchy order; on each
//! level, generalized codes number the distinct labels of that level in order
//! of first appearance. Each generalized value also carries an *extent*: how
//! much of the domain it covers (number of original values for listed
//! hierarchies, interval width for numeric ones), from which `loss.rs` derives
//! ARX's domain shares.
//!
//! Errors never quote data values, which may be personal data: a value missing
//! from a hierarchy is reported by column name and record number only.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

/// The separator of ARX's hierarchy files.
pub const DEFAULT_DELIMITER: u8 = b';';

/// What can go wrong when reading, building or applying a hierarchy.
///
/// Row numbers are 1-based: for hierarchy files the row of the file, for data
/// columns the record number not counting a header.
#[derive(Debug, thiserror::Error)]
pub enum HierarchyError {
    /// The file cannot be read or parsed as CSV.
    #[error("cannot read hierarchy {file}: {reason}")]
    Unreadable {
        /// The hierarchy file.
        file: String,
        /// What went wrong.
        reason: String,
    },
    /// The file has no rows.
    #[error("hierarchy {file} has no rows")]
    Empty {
        /// The hierarchy file.
        file: String,
    },
    /// Every row is one field, but a likely delimiter appears in it.
    #[error(
        "hierarchy {file}: every row is a single field, but row 1 contains `{found}`: \
         expected fields separated by `{expected}`"
    )]
    WrongDelimiter {
        /// The hierarchy file.
        file: String,
        /// The delimiter expected.
        expected: char,
        /// The character found instead.
        found: char,
    },
    /// A row has a different number of levels than the first.
    #[error("hierarchy {file}, row {row}: {found} levels where row 1 has {expected}")]
    UnevenDepth {
        /// The hierarchy file.
        file: String,
        /// The row (1-based).
        row: usize,
        /// Levels of row 1.
        expected: usize,
        /// Levels of this row.
        found: usize,
    },
    /// An original value is listed twice.
    #[error("hierarchy {file}, row {row}: original value already listed in row {first_row}")]
    DuplicateValue {
        /// The hierarchy file.
        file: String,
        /// The row (1-based).
        row: usize,
        /// The row that listed it first.
        first_row: usize,
    },
    /// Two rows share a label on one level but not on the next, so the levels do not nest.
    #[error(
        "hierarchy {file}, row {row}: its level-{level} label is shared with an earlier row \
         whose level-{} label differs, so the levels do not nest",
        level + 1
    )]
    NotNested {
        /// The hierarchy file.
        file: String,
        /// The row (1-based).
        row: usize,
        /// The level whose labels do not nest in the next.
        level: usize,
    },
    /// A data value is not an original value of the hierarchy.
    #[error("column {column}, row {row}: value not found in the column's hierarchy")]
    MissingValue {
        /// The data column.
        column: String,
        /// The record (1-based).
        row: usize,
    },
    /// A value of a column generalized by widths is not a number.
    #[error("column {column}, row {row}: value is not a finite number")]
    NotNumeric {
        /// The data column.
        column: String,
        /// The record (1-based).
        row: usize,
    },
    /// The interval widths cannot form a hierarchy.
    #[error("column {column}: invalid interval widths: {reason}")]
    InvalidWidths {
        /// The data column.
        column: String,
        /// What is wrong with them.
        reason: &'static str,
    },
}

/// A validated, encoded generalization hierarchy for one attribute.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// File name or column name, for messages.
    name: String,
    /// Original value → base code.
    base_codes: HashMap<String, u32>,
    /// `level_maps[level][base]`: the code of `base` on `level` (level 0 is the identity).
    level_maps: Vec<Vec<u32>>,
    /// `labels[level][code]`: the text written for a generalized value.
    labels: Vec<Vec<String>>,
    /// `extents[level][code]`: how much of the domain a generalized value covers.
    extents: Vec<Vec<f64>>,
    /// Extent of the whole domain.
    domain_extent: f64,
}

impl Hierarchy {
    /// Reads an ARX-format hierarchy file.
    pub fn from_csv_file(path: &Path, delimiter: u8) -> Result<Self, HierarchyError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|error| HierarchyError::Unreadable {
            file: name.clone(),
            reason: error.to_string(),
        })?;
        Self::from_csv_reader(file, &name, delimiter)
    }

    /// Reads an ARX-format hierarchy from any reader; `name` labels error messages.
    pub fn from_csv_reader<R: Read>(
        reader: R,
        name: &str,
        delimiter: u8,
    ) -> Result<Self, HierarchyError> {
        let mut csv_reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(reader);
        let mut rows = Vec::new();
        for record in csv_reader.records() {
            let record = record.map_err(|error| HierarchyError::Unreadable {
                file: name.to_owned(),
                reason: error.to_string(),
            })?;
            rows.push(record.iter().map(str::to_owned).collect());
        }
        let single_fields = rows.iter().all(|row: &Vec<String>| row.len() == 1);
        if let Some(first) = rows.first().filter(|_| single_fields) {
            let other = [b';', b',', b'\t', b'|']
                .into_iter()
                .filter(|&candidate| candidate != delimiter)
                .find(|&candidate| first[0].as_bytes().contains(&candidate));
            if let Some(found) = other {
                return Err(HierarchyError::WrongDelimiter {
                    file: name.to_owned(),
                    expected: char::from(delimiter),
                    found: char::from(found),
                });
            }
        }
        Self::from_rows(rows, name)
    }

    /// Builds a hierarchy from rows `[original, level 1, level 2, ...]`.
    pub fn from_rows(rows: Vec<Vec<String>>, name: &str) -> Result<Self, HierarchyError> {
        let depth = rows.first().map_or(0, Vec::len);
        if depth == 0 {
            return Err(HierarchyError::Empty {
                file: name.to_owned(),
            });
        }
        let mut base_codes = HashMap::with_capacity(rows.len());
        let mut level_maps = vec![Vec::with_capacity(rows.len()); depth];
        let mut labels: Vec<Vec<String>> = vec![Vec::new(); depth];
        let mut label_codes: Vec<HashMap<String, u32>> = vec![HashMap::new(); depth];
        // For each level below the top: code on that level → its code one level up.
        let mut parents: Vec<HashMap<u32, u32>> = vec![HashMap::new(); depth - 1];

        for (index, row) in rows.into_iter().enumerate() {
            let line = index + 1;
            if row.len() != depth {
                return Err(HierarchyError::UnevenDepth {
                    file: name.to_owned(),
                    row: line,
                    expected: depth,
                    found: row.len(),
                });
            }
            let base = code_of(index);
            if let Some(&first) = base_codes.get(&row[0]) {
                return Err(HierarchyError::DuplicateValue {
                    file: name.to_owned(),
                    row: line,
                    first_row: first as usize + 1,
                });
            }
            base_codes.insert(row[0].clone(), base);
            let mut codes = Vec::with_capacity(depth);
            for (level, label) in row.into_iter().enumerate() {
                let next_code = code_of(labels[level].len());
                let code = *label_codes[level].entry(label.clone()).or_insert(next_code);
                if code == next_code {
                    labels[level].push(label);
                }
                level_maps[level].push(code);
                codes.push(code);
            }
            for (level, pair) in codes.windows(2).enumerate() {
                let parent = *parents[level].entry(pair[0]).or_insert(pair[1]);
                if parent != pair[1] {
                    return Err(HierarchyError::NotNested {
                        file: name.to_owned(),
                        row: line,
                        level,
                    });
                }
            }
        }

        let extents = labels
            .iter()
            .zip(&level_maps)
            .map(|(level_labels, map)| {
                let mut counts = vec![0.0; level_labels.len()];
                for &code in map {
                    counts[code as usize] += 1.0;
                }
                counts
            })
            .collect();
        Ok(Self {
            name: name.to_owned(),
            domain_extent: base_codes.len() as f64,
            base_codes,
            level_maps,
            labels,
            extents,
        })
    }

    /// Builds a numeric interval hierarchy for `column` from its values.
    ///
    /// Level 0 keeps each value; level `i` (1-based) replaces it by a half-open
    /// interval `[a,b)` from the grid of width `widths[i-1]` aligned to
    /// multiples of that width; the top level is `*`. Widths must increase.
    /// Where a coarser grid has a boundary inside a finer cell, the finer cell
    /// is cut there (widths 20 then 50 give `[40,50)` and `[50,60)` on the
    /// width-20 level), so levels always nest.
    ///
    /// For the loss metric the domain spans the coarsest-grid cells holding the
    /// smallest and largest value; an interval covers its length and a single
    /// value covers one unit (as in ARX), or the finest width if that is smaller.
    pub fn numeric_intervals<S: AsRef<str>>(
        column: &str,
        values: &[S],
        widths: &[f64],
    ) -> Result<Self, HierarchyError> {
        let invalid = |reason| HierarchyError::InvalidWidths {
            column: column.to_owned(),
            reason,
        };
        let (Some(&finest), Some(&coarsest)) = (widths.first(), widths.last()) else {
            return Err(invalid("at least one width is needed"));
        };
        if widths
            .iter()
            .any(|width| !width.is_finite() || *width <= 0.0)
        {
            return Err(invalid("widths must be positive and finite"));
        }
        if widths.windows(2).any(|pair| pair[1] <= pair[0]) {
            return Err(invalid("widths must increase from level to level"));
        }

        let mut distinct: Vec<(String, f64)> = Vec::new();
        let mut seen = HashSet::new();
        for (index, value) in values.iter().enumerate() {
            let text = value.as_ref();
            if !seen.insert(text) {
                continue;
            }
            let number = text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .ok_or_else(|| HierarchyError::NotNumeric {
                    column: column.to_owned(),
                    row: index + 1,
                })?;
            distinct.push((text.to_owned(), number));
        }
        distinct.sort_by(|a, b| a.1.total_cmp(&b.1));

        // Per value and interval level: the cell of that level's grid, cut by
        // the cells of all coarser grids holding the value.
        let intervals: Vec<Vec<(f64, f64)>> = distinct
            .iter()
            .map(|&(_, number)| {
                let mut bounds = vec![(f64::NEG_INFINITY, f64::INFINITY); widths.len()];
                let mut cut = (f64::NEG_INFINITY, f64::INFINITY);
                for (level, &width) in widths.iter().enumerate().rev() {
                    let index = interval_index(number, width);
                    cut.0 = cut.0.max(index as f64 * width);
                    cut.1 = cut.1.min((index + 1) as f64 * width);
                    bounds[level] = cut;
                }
                bounds
            })
            .collect();
        let cell_of = |number| interval_index(number, coarsest) as f64 * coarsest;
        let (lower, upper) = match (distinct.first(), distinct.last()) {
            (Some(smallest), Some(largest)) => (cell_of(smallest.1), cell_of(largest.1) + coarsest),
            _ => (0.0, coarsest),
        };

        let decimals: Vec<usize> = (0..widths.len())
            .map(|level| {
                widths[level..]
                    .iter()
                    .map(|&width| decimals_of(width))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let rows = distinct
            .iter()
            .zip(&intervals)
            .map(|((text, _), bounds)| {
                let mut row = Vec::with_capacity(widths.len() + 2);
                row.push(text.clone());
                for (&(start, end), &places) in bounds.iter().zip(&decimals) {
                    row.push(format!("[{start:.places$},{end:.places$})"));
                }
                row.push("*".to_owned());
                row
            })
            .collect();
        let mut hierarchy = Self::from_rows(rows, column)?;

        let mut extents = vec![vec![finest.min(1.0); distinct.len()]];
        for level in 1..=widths.len() {
            let mut level_extents = vec![0.0; hierarchy.code_count(level)];
            for (base, bounds) in intervals.iter().enumerate() {
                let (start, end) = bounds[level - 1];
                level_extents[hierarchy.level_maps[level][base] as usize] = end - start;
            }
            extents.push(level_extents);
        }
        extents.push(vec![upper - lower]);
        hierarchy.extents = extents;
        hierarchy.domain_extent = upper - lower;
        Ok(hierarchy)
    }

    /// Encodes a data column as base codes; `column` names it in errors.
    pub fn encode_column<S: AsRef<str>>(
        &self,
        column: &str,
        values: &[S],
    ) -> Result<Vec<u32>, HierarchyError> {
        values
            .iter()
            .enumerate()
            .map(|(index, value)| {
                self.base_codes.get(value.as_ref()).copied().ok_or_else(|| {
                    HierarchyError::MissingValue {
                        column: column.to_owned(),
                        row: index + 1,
                    }
                })
            })
            .collect()
    }

    /// The file or column this hierarchy was built from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of levels, counting level 0 (the original values).
    pub fn levels(&self) -> usize {
        self.level_maps.len()
    }

    /// Number of original values (base codes).
    pub fn base_count(&self) -> usize {
        self.level_maps[0].len()
    }

    /// Number of distinct generalized values on `level`.
    pub fn code_count(&self, level: usize) -> usize {
        self.labels[level].len()
    }

    /// Base code → generalized code on `level`.
    pub fn level_map(&self, level: usize) -> &[u32] {
        &self.level_maps[level]
    }

    /// The label written for generalized `code` on `level`.
    pub fn label(&self, level: usize, code: u32) -> &str {
        &self.labels[level][code as usize]
    }

    /// How much of the domain generalized `code` on `level` covers.
    pub fn extent(&self, level: usize, code: u32) -> f64 {
        self.extents[level][code as usize]
    }

    /// How much the whole domain covers: the number of original values for a
    /// listed hierarchy, the width of the covered range for a numeric one.
    pub fn domain_extent(&self) -> f64 {
        self.domain_extent
    }
}

/// Converts a row or label index to a code; hierarchies beyond `u32::MAX`
/// entries cannot be held in memory as strings anyway.
fn code_of(index: usize) -> u32 {
    u32::try_from(index).expect("hierarchy larger than u32::MAX entries")
}

/// Index of the width-aligned interval holding `value`, treating values within
/// rounding noise of a boundary (1.2 / 0.1 = 11.999…) as on the boundary.
fn interval_index(value: f64, width: f64) -> i64 {
    let quotient = value / width;
    let nearest = quotient.round();
    if (quotient - nearest).abs() < 1e-9 * quotient.abs().max(1.0) {
        nearest as i64
    } else {
        quotient.floor() as i64
    }
}

/// Decimal places needed to print multiples of `width` without float noise.
fn decimals_of(width: f64) -> usize {
    (0..=12)
        .find(|&digits| {
            let scaled = width * 10f64.powi(digits);
            (scaled - scaled.round()).abs() < 1e-9 * scaled.max(1.0)
        })
        .unwrap_or(12) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADULT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/arx-adult/");

    fn parse(text: &str) -> Result<Hierarchy, HierarchyError> {
        Hierarchy::from_csv_reader(text.as_bytes(), "test.csv", DEFAULT_DELIMITER)
    }

    #[test]
    fn reads_adult_age_hierarchy() {
        let path = Path::new(ADULT_DIR).join("adult_hierarchy_age.csv");
        let hierarchy = Hierarchy::from_csv_file(&path, DEFAULT_DELIMITER).unwrap();
        assert_eq!(hierarchy.levels(), 5);
        assert_eq!(hierarchy.base_count(), 100);
        assert_eq!(hierarchy.code_count(4), 1);
        let codes = hierarchy.encode_column("age", &["39", "1"]).unwrap();
        let level2 = hierarchy.level_map(2)[codes[0] as usize];
        assert_eq!(hierarchy.label(2, level2), "30-39");
        assert_eq!(hierarchy.extent(2, level2), 10.0);
        assert_eq!(hierarchy.label(4, 0), "*");
        assert_eq!(hierarchy.domain_extent(), 100.0);
    }

    #[test]
    fn uneven_depth_names_file_and_row() {
        let error = parse("a;x;*\nb;x\n").unwrap_err();
        assert!(matches!(
            error,
            HierarchyError::UnevenDepth { ref file, row: 2, expected: 3, found: 2 } if file == "test.csv"
        ));
        assert!(error.to_string().contains("test.csv, row 2"));
    }

    #[test]
    fn rejects_duplicates_and_non_nested_levels() {
        assert!(matches!(
            parse("a;x\nb;x\na;y\n").unwrap_err(),
            HierarchyError::DuplicateValue {
                row: 3,
                first_row: 1,
                ..
            }
        ));
        assert!(matches!(
            parse("a;x;p\nb;x;q\n").unwrap_err(),
            HierarchyError::NotNested {
                row: 2,
                level: 1,
                ..
            }
        ));
        assert!(matches!(
            parse("").unwrap_err(),
            HierarchyError::Empty { .. }
        ));
    }

    #[test]
    fn missing_value_names_column_and_row_but_not_value() {
        let hierarchy = parse("a;*\nb;*\n").unwrap();
        let error = hierarchy
            .encode_column("secret-column", &["a", "b", "Jane Doe"])
            .unwrap_err();
        assert!(matches!(
            error,
            HierarchyError::MissingValue { ref column, row: 3 } if column == "secret-column"
        ));
        assert!(!error.to_string().contains("Jane"));
    }

    #[test]
    fn custom_delimiter() {
        let hierarchy = Hierarchy::from_csv_reader("a,x,*\nb,x,*\n".as_bytes(), "c", b',').unwrap();
        assert_eq!(hierarchy.levels(), 3);
        assert_eq!(hierarchy.code_count(1), 1);
    }

    #[test]
    fn integer_intervals_nest_and_label() {
        let values = ["23", "24", "37", "61", "23"];
        let hierarchy =
            Hierarchy::numeric_intervals("age", &values, &[5.0, 10.0, 20.0, 50.0]).unwrap();
        assert_eq!(hierarchy.levels(), 6);
        let codes = hierarchy.encode_column("age", &values).unwrap();
        let label = |level: usize, record: usize| {
            hierarchy.label(level, hierarchy.level_map(level)[codes[record] as usize])
        };
        assert_eq!(label(0, 0), "23");
        assert_eq!(label(1, 0), "[20,25)");
        assert_eq!(label(2, 2), "[30,40)");
        assert_eq!(label(3, 3), "[60,80)");
        assert_eq!(label(4, 3), "[50,100)");
        assert_eq!(
            hierarchy.extent(3, hierarchy.level_map(3)[codes[3] as usize]),
            20.0
        );
        assert_eq!(label(5, 0), "*");
        assert_eq!(codes[0], codes[4]);
        assert_eq!(hierarchy.domain_extent(), 100.0);
        assert_eq!(hierarchy.extent(1, 0), 5.0);
        assert_eq!(hierarchy.extent(0, 0), 1.0);
    }

    #[test]
    fn coarser_boundaries_cut_finer_intervals() {
        let values = ["45", "55", "61"];
        let hierarchy = Hierarchy::numeric_intervals("age", &values, &[20.0, 50.0]).unwrap();
        let codes = hierarchy.encode_column("age", &values).unwrap();
        let code = |record: usize| hierarchy.level_map(1)[codes[record] as usize];
        assert_eq!(hierarchy.label(1, code(0)), "[40,50)");
        assert_eq!(hierarchy.label(1, code(1)), "[50,60)");
        assert_eq!(hierarchy.label(1, code(2)), "[60,80)");
        assert_eq!(hierarchy.extent(1, code(0)), 10.0);
        assert_eq!(hierarchy.extent(1, code(2)), 20.0);
    }

    #[test]
    fn float_intervals_use_width_precision() {
        let values = ["0.35", "-0.05", "1.2"];
        let hierarchy = Hierarchy::numeric_intervals("ratio", &values, &[0.1, 0.5]).unwrap();
        let codes = hierarchy.encode_column("ratio", &values).unwrap();
        let label = |level: usize, record: usize| {
            hierarchy.label(level, hierarchy.level_map(level)[codes[record] as usize])
        };
        assert_eq!(label(1, 0), "[0.3,0.4)");
        assert_eq!(label(1, 1), "[-0.1,0.0)");
        assert_eq!(label(2, 2), "[1.0,1.5)");
        assert!((hierarchy.domain_extent() - 2.0).abs() < 1e-12);
        assert!((hierarchy.extent(0, 0) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn numeric_errors() {
        assert!(matches!(
            Hierarchy::numeric_intervals("x", &["1", "abc"], &[5.0]).unwrap_err(),
            HierarchyError::NotNumeric { row: 2, .. }
        ));
        for widths in [&[][..], &[5.0, 5.0], &[10.0, 5.0], &[-1.0], &[f64::NAN]] {
            assert!(matches!(
                Hierarchy::numeric_intervals("x", &["1"], widths).unwrap_err(),
                HierarchyError::InvalidWidths { .. }
            ));
        }
    }
}
