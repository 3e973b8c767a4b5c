//! From a read table to what [`super::tabulate`] counts: one person number per row and one
//! coarsened key per `by` column.
//!
//! Person identifiers (an IP address, an account id) are replaced by numbers in order of first
//! appearance as soon as they are read; only those numbers, never the identifiers, go further.
//! Key columns are coarsened here ([`Coarsening`]), so a raw timestamp or address never becomes a
//! key. An empty key cell becomes the key `(missing)`, because an empty key in the release means
//! "all values" (a margin).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::coarsen::Coarsening;
use crate::error::{Error, Result};
use crate::extract::table::TextTable;
use crate::fast_hash::FastMap;

/// The key of an empty cell.
pub const MISSING_KEY: &str = "(missing)";

/// One `by` column and how its values are coarsened: `page`, `timestamp:day`, `ip:24`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByColumn {
    /// The column's name in the input.
    pub column: String,
    /// How its values become keys.
    pub coarsening: Coarsening,
}

impl ByColumn {
    /// Parses `NAME` or `NAME:LEVEL`, LEVEL one of hour, day, week, month, 24, 16 (IPv4
    /// prefixes; IPv6 is always cut to /48).
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let (column, level) = match text.rsplit_once(':') {
            Some((column, level)) => (column, Some(level)),
            None => (text, None),
        };
        if column.is_empty() {
            return Err(format!("`{text}` names no column"));
        }
        let coarsening = match level {
            None => Coarsening::None,
            Some("hour") => Coarsening::Hour,
            Some("day") => Coarsening::Day,
            Some("week") => Coarsening::Week,
            Some("month") => Coarsening::Month,
            Some("24") | Some("/24") => Coarsening::Network24,
            Some("16") | Some("/16") => Coarsening::Network16,
            Some(other) => {
                return Err(format!(
                    "`{other}` is not a coarsening; use hour, day, week, month (dates and times) \
                     or 24, 16 (IP addresses)"
                ))
            }
        };
        Ok(ByColumn {
            column: column.to_string(),
            coarsening,
        })
    }
}

/// The rows of a table as person numbers and keys.
#[derive(Debug, Clone, PartialEq)]
pub struct CountInput {
    /// A number per row: equal numbers, same person.
    pub person: Vec<u64>,
    /// One key column per `by` column, aligned with `person`.
    pub keys: Vec<Vec<String>>,
    /// Distinct people in the table.
    pub people: usize,
}

/// Builds the count input from a table read from `path`: `person` names the person column, `by`
/// the key columns. A row without a person, or a value that its coarsening cannot read, is an
/// error naming the file, line and column (never the value).
pub fn count_input(
    table: &TextTable,
    path: &Path,
    person: &str,
    by: &[ByColumn],
) -> Result<CountInput> {
    let column = |name: &str, what: &str| {
        table.column(name).ok_or_else(|| Error::InvalidArgument {
            name: "column",
            problem: format!("{what} `{name}` is not a column of {}", path.display()),
        })
    };
    let people_column = column(person, "the person column")?;
    let mut numbers: FastMap<&str, u64> = FastMap::default();
    let mut person_numbers = Vec::with_capacity(table.rows());
    for (row, id) in people_column.iter().enumerate() {
        if id.trim().is_empty() {
            return Err(Error::bad_file(
                path,
                Some(format!("line {}, column `{person}`", row + 2)),
                "no person identifier; every row must name its person",
            ));
        }
        let next = numbers.len() as u64;
        person_numbers.push(*numbers.entry(id.as_str()).or_insert(next));
    }
    let mut keys = Vec::with_capacity(by.len());
    for spec in by {
        if spec.column == person && spec.coarsening == Coarsening::None {
            return Err(Error::InvalidArgument {
                name: "--by",
                problem: format!(
                    "`{person}` is the person column; counted as it is it would publish every \
                     identifier (coarsen it, e.g. `{person}:24`)"
                ),
            });
        }
        let cells = column(&spec.column, "the --by column")?;
        let coarsened = cells
            .iter()
            .enumerate()
            .map(|(row, cell)| {
                if cell.is_empty() {
                    return Ok(MISSING_KEY.to_string());
                }
                spec.coarsening.apply(cell).map_err(|problem| {
                    Error::bad_file(
                        path,
                        Some(format!("line {}, column `{}`", row + 2, spec.column)),
                        problem.to_string(),
                    )
                })
            })
            .collect::<Result<Vec<String>>>()?;
        keys.push(coarsened);
    }
    Ok(CountInput {
        person: person_numbers,
        keys,
        people: numbers.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TextTable {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        TextTable {
            columns: strings(&["timestamp", "ip", "page"]),
            cells: vec![
                strings(&["2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z", "2026-11-02"]),
                strings(&["192.0.2.1", "192.0.2.1", "198.51.100.7"]),
                strings(&["/a", "", "/a"]),
            ],
        }
    }

    #[test]
    fn by_columns_parse_with_their_coarsening() {
        assert_eq!(
            ByColumn::parse("timestamp:day").unwrap().coarsening,
            Coarsening::Day
        );
        assert_eq!(
            ByColumn::parse("ip:/16").unwrap().coarsening,
            Coarsening::Network16
        );
        let page = ByColumn::parse("page").unwrap();
        assert_eq!(
            (page.column.as_str(), page.coarsening),
            ("page", Coarsening::None)
        );
        assert!(ByColumn::parse("t:fortnight")
            .unwrap_err()
            .contains("fortnight"));
        assert!(ByColumn::parse(":day").is_err());
    }

    #[test]
    fn people_are_numbered_and_keys_coarsened() {
        let by = [
            ByColumn::parse("page").unwrap(),
            ByColumn::parse("timestamp:day").unwrap(),
        ];
        let input = count_input(&table(), Path::new("log.csv"), "ip", &by).unwrap();
        assert_eq!(input.person, [0, 0, 1]);
        assert_eq!(input.people, 2);
        assert_eq!(input.keys[0], ["/a", MISSING_KEY, "/a"]);
        assert_eq!(input.keys[1], ["2026-11-01", "2026-11-01", "2026-11-02"]);
    }

    #[test]
    fn bad_columns_and_values_are_named_without_the_value() {
        let path = Path::new("log.csv");
        let unknown = count_input(&table(), path, "visitor", &[]).unwrap_err();
        assert!(unknown.to_string().contains("`visitor`"), "{unknown}");
        let own = [ByColumn::parse("ip").unwrap()];
        assert!(count_input(&table(), path, "ip", &own).is_err());
        let networks = [ByColumn::parse("ip:24").unwrap()];
        let input = count_input(&table(), path, "ip", &networks).unwrap();
        assert_eq!(
            input.keys[0],
            ["192.0.2.0/24", "192.0.2.0/24", "198.51.100.0/24"]
        );
        let not_a_time = [ByColumn::parse("page:day").unwrap()];
        let error = count_input(&table(), path, "ip", &not_a_time)
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 2, column `page`"), "{error}");
        assert!(!error.contains("/a"), "{error}");
    }
}
