//! A person-keyed table (CSV or Parquet) as a [`Source`]: one row per measurement set, described
//! by a dataset schema whose eligibility roles say who each row belongs to and whether it may be
//! published.
//!
//! - `person_key`: rows with the same value belong to one person (required unless the schema
//!   declares `rows_are_people`: then each row is a person of its own); k counts people. A row
//!   with an empty key belongs to nobody and is left out as an orphan set.
//! - `consent` (optional): a row's person consents when the value is at least `consent_min`
//!   (default 1) or `true`; without the column every person counts as consenting (the publisher
//!   collected consent elsewhere, and the log says so).
//! - `status` (optional): the account is active when the value is one of `status_allowed`.
//! - `last_seen` (optional): ISO-8601 date or date-time, or integer epoch milliseconds; empty means
//!   never seen. Without the column the retention window cannot apply, and the log says so.
//!
//! A person's facts are read from each of their rows. A row whose consent, status or last visit
//! cannot be read, or rows of one person that disagree on consent or status, make the person
//! unreadable: nothing of theirs is published (the table's equivalent of a FreeSewing `User` row
//! that cannot be read). Their last visit is the latest of their rows. A measurement cell that is
//! not a finite number makes that row malformed; an empty cell is a measurement not taken.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::dates::parse_iso8601_ms;
use crate::error::{Error, Result};
use crate::extract::crypto::{load_secret, FieldKey};
use crate::extract::source::{
    Decode, DecodeFailure, Decoded, Owner, People, PersonFacts, PersonStrata, Source,
    SourceDescription, StoredSet,
};
use crate::extract::table::{read_table, TextTable};
use crate::fast_hash::FastMap;
use crate::measurements::{Catalog, Measies, MISSING};
use crate::schema::{ColumnSpec, DatasetSchema, Role};

/// One row of the table, as streamed to selection.
#[derive(Debug, Clone, Copy)]
pub struct TableSet {
    /// 0-based data row.
    row: usize,
    /// The person's key in [`People::by_key`]; `None` for an empty person key.
    owner: Option<i64>,
}

impl StoredSet for TableSet {
    fn ordinal(&self) -> u64 {
        self.row as u64 + 1
    }

    fn owner(&self) -> Option<i64> {
        self.owner
    }

    fn is_public(&self) -> bool {
        false
    }
}

/// Where the eligibility columns are, and what their values mean.
#[derive(Debug, Clone)]
struct EligibilityColumns {
    consent: Option<(usize, i64)>,
    status: Option<(usize, Vec<String>)>,
    last_seen: Option<usize>,
}

/// A person-keyed table, read whole, with each row's owner resolved.
pub struct PersonTable {
    path: PathBuf,
    table: TextTable,
    columns: EligibilityColumns,
    /// `(table column, catalog index)` of every measurement column.
    measurements: Vec<(usize, usize)>,
    /// Owner key of each row (`None`: empty person key).
    owners: Vec<Option<i64>>,
    /// The `stratum` columns: table column and spec.
    strata: Vec<(usize, ColumnSpec)>,
    key: Option<(FieldKey, String)>,
}

/// The secret of a table (`--key-file` of `publish --source table` and of `tabulate`): the key
/// derived from the file's secret as for FreeSewing's encryption key, and the file's name, which
/// the manifest's fingerprint names as the key's origin.
pub fn table_secret(key_file: &Path) -> Result<(FieldKey, String)> {
    let (secret, _) = load_secret(Some(key_file))?;
    Ok((FieldKey::derive(&secret), key_file.display().to_string()))
}

/// The key for `label` derived from a [`table_secret`], with its origin in words; what
/// [`Source::secret_key`] of a table returns, and what `tabulate` keys its input fingerprint with.
pub fn table_subkey(secret: &(FieldKey, String), label: &str) -> (Zeroizing<[u8; 32]>, String) {
    let (key, origin) = secret;
    (key.subkey(label), format!("key derived from {origin}"))
}

impl PersonTable {
    /// Reads `path` against `schema`; `secret` (from `--key-file`, optional) keys the input
    /// fingerprint and any keyed noise, as the encryption key does for FreeSewing.
    pub fn open(
        path: &Path,
        schema: &DatasetSchema,
        catalog: &Catalog,
        secret: Option<(FieldKey, String)>,
    ) -> Result<Self> {
        let position = |role: Role| {
            schema
                .role_column(role)
                .and_then(|c| schema.columns.iter().position(|s| s.name == c.name))
        };
        let person = position(Role::PersonKey);
        if person.is_none() && !schema.rows_are_people {
            return Err(Error::bad_file(
                path,
                None,
                "the schema has no column with role \"person_key\": a table source needs one, \
                 so that k counts people and not rows (or, when no person has more than one \
                 row, `rows_are_people = true`)",
            ));
        }
        let columns = EligibilityColumns {
            consent: position(Role::Consent)
                .map(|c| (c, schema.columns[c].consent_min.unwrap_or(1))),
            status: position(Role::Status).map(|c| {
                let allowed = schema.columns[c].status_allowed.iter().flatten();
                (c, allowed.map(|v| v.text()).collect())
            }),
            last_seen: position(Role::LastSeen),
        };
        if columns.consent.is_none() {
            tracing::warn!("the schema has no consent column: every person counts as consenting");
        }
        if columns.last_seen.is_none() {
            tracing::warn!(
                "the schema has no last_seen column: the retention window cannot be applied"
            );
        }
        let measurements = schema
            .columns
            .iter()
            .enumerate()
            .filter_map(|(c, spec)| {
                let index = catalog.index_of(&spec.name)?;
                (spec.role == Role::QuasiIdentifier && spec.is_numeric()).then_some((c, index))
            })
            .collect();
        let table = read_table(path, schema)?;
        let mut interned: FastMap<&str, i64> = FastMap::default();
        let owners = match person {
            Some(person) => table.cells[person]
                .iter()
                .map(|cell| {
                    let cell = cell.trim();
                    (!cell.is_empty()).then(|| {
                        let next = interned.len() as i64;
                        *interned.entry(cell).or_insert(next)
                    })
                })
                .collect(),
            // The schema declares every row a person of their own (`rows_are_people`).
            None => (0..table.rows() as i64).map(Some).collect(),
        };
        let strata = schema
            .columns
            .iter()
            .enumerate()
            .filter(|(_, spec)| spec.role == Role::Stratum)
            .map(|(c, spec)| (c, spec.clone()))
            .collect();
        Ok(PersonTable {
            path: path.into(),
            table,
            columns,
            measurements,
            owners,
            strata,
            key: secret,
        })
    }

    /// The table as read, every column as text in schema order: what a generalizing method
    /// anonymizes once selection has chosen its rows.
    pub fn text(&self) -> &TextTable {
        &self.table
    }

    /// The owner of each row, as [`StoredSet::owner`] names it (`None`: empty person key).
    pub fn owners(&self) -> &[Option<i64>] {
        &self.owners
    }

    /// The consent and status rules, in the schema's terms, for the datasheet.
    fn eligibility(&self) -> String {
        let name = |column: usize| &self.table.columns[column];
        let consent = match self.columns.consent {
            Some((column, min)) => format!("its `{}` is {min} or higher (or true)", name(column)),
            None => "its person consented (the table has no consent column)".into(),
        };
        let status = match &self.columns.status {
            Some((column, allowed)) => format!(
                "its `{}` is one of {}",
                name(*column),
                allowed
                    .iter()
                    .map(|value| format!("`{value}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "(the table has no status column)".into(),
        };
        format!("{consent}, {status}")
    }

    /// The facts of row `row`, or `None` when one of them cannot be read.
    fn facts(&self, row: usize) -> Option<PersonFacts> {
        let cell = |column: usize| self.table.cells[column][row].trim();
        let consented = match self.columns.consent {
            None => true,
            Some((column, min)) => read_consent(cell(column), min)?,
        };
        let active = match &self.columns.status {
            None => true,
            Some((column, allowed)) => {
                let value = cell(*column);
                if value.is_empty() {
                    return None;
                }
                allowed.iter().any(|a| a == value)
            }
        };
        let last_seen_ms = match self.columns.last_seen {
            None => Some(i64::MAX),
            Some(column) => read_timestamp(cell(column))?,
        };
        Some(PersonFacts {
            consented,
            active,
            last_seen_ms,
            created_ms: None,
        })
    }
}

/// `true`/`false`, or an integer compared with `min`; `None` for anything else.
fn read_consent(cell: &str, min: i64) -> Option<bool> {
    match cell.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        number => number.parse::<i64>().ok().map(|level| level >= min),
    }
}

/// Empty (never seen), integer epoch milliseconds or ISO-8601; `None` when unreadable.
fn read_timestamp(cell: &str) -> Option<Option<i64>> {
    if cell.is_empty() {
        return Some(None);
    }
    if let Ok(ms) = cell.parse::<i64>() {
        return Some(Some(ms));
    }
    parse_iso8601_ms(cell).map(Some)
}

impl Source for PersonTable {
    type Set = TableSet;

    fn description(&self) -> SourceDescription {
        SourceDescription {
            kind: "table",
            title: "a person-keyed table",
            container: "table",
            eligibility: self.eligibility(),
            person_row: "person first seen on row",
            set_row: "row",
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// One entry per distinct person key, judged from all of that person's rows.
    fn people(&self) -> Result<People> {
        let mut merged: FastMap<i64, (usize, Option<PersonFacts>)> = FastMap::default();
        for (row, owner) in self.owners.iter().enumerate() {
            let Some(key) = *owner else { continue };
            let facts = self.facts(row);
            merged
                .entry(key)
                .and_modify(|(_, seen)| *seen = merge_facts(*seen, facts))
                .or_insert((row, facts));
        }
        let mut people = People::default();
        let mut in_order: Vec<_> = merged.into_iter().collect();
        in_order.sort_unstable_by_key(|(_, (first_row, _))| *first_row);
        for (key, (first_row, facts)) in in_order {
            people.rows += 1;
            let owner = match facts {
                Some(facts) => Owner::Readable(facts),
                None => {
                    people.mark_unreadable(first_row as u64 + 1);
                    Owner::Unreadable
                }
            };
            people.by_key.insert(key, owner);
        }
        Ok(people)
    }

    fn set_count(&self) -> Result<u64> {
        Ok(self.table.rows() as u64)
    }

    /// A person's stratum in each `stratum` column, from all their rows: the one they agree on,
    /// else (rows that disagree) the column's last, "other or not stated".
    fn person_strata(&self) -> PersonStrata {
        let labels: Vec<Vec<String>> = self
            .strata
            .iter()
            .map(|(_, spec)| spec.stratum_labels())
            .collect();
        let mut by_key: FastMap<i64, Vec<usize>> = FastMap::default();
        for (row, owner) in self.owners.iter().enumerate() {
            let Some(key) = *owner else { continue };
            let strata: Vec<usize> = self
                .strata
                .iter()
                .map(|(column, spec)| spec.stratum_of(&self.table.cells[*column][row]))
                .collect();
            by_key
                .entry(key)
                .and_modify(|seen| {
                    for ((seen, new), column) in seen.iter_mut().zip(&strata).zip(&labels) {
                        if seen != new {
                            *seen = column.len() - 1;
                        }
                    }
                })
                .or_insert(strata);
        }
        PersonStrata { labels, by_key }
    }

    fn for_each_set_chunk(
        &self,
        chunk_size: usize,
        consume: &mut dyn FnMut(Vec<TableSet>) -> bool,
    ) -> Result<()> {
        let sets: Vec<TableSet> = self
            .owners
            .iter()
            .enumerate()
            .map(|(row, &owner)| TableSet { row, owner })
            .collect();
        for chunk in sets.chunks(chunk_size.max(1)) {
            if !consume(chunk.to_vec()) {
                break;
            }
        }
        Ok(())
    }

    fn decoder(&self) -> &dyn Decode<TableSet> {
        self
    }

    fn secret_key(&self, label: &str) -> Option<(Zeroizing<[u8; 32]>, String)> {
        self.key.as_ref().map(|secret| table_subkey(secret, label))
    }
}

impl Decode<TableSet> for PersonTable {
    fn decode(&self, set: &TableSet, catalog: &Catalog) -> Decoded {
        let mut values = vec![MISSING; catalog.len()];
        let mut present = false;
        for &(column, index) in &self.measurements {
            let cell = self.table.cells[column][set.row].trim();
            if cell.is_empty() {
                continue;
            }
            match cell.parse::<f64>() {
                Ok(value) if value.is_finite() => {
                    values[index] = value;
                    present = true;
                }
                _ => return Err(DecodeFailure::Malformed),
            }
        }
        if !present {
            return Err(DecodeFailure::Empty);
        }
        Ok(Measies {
            values,
            unknown_names: 0,
        })
    }
}

/// A person's facts over two of their rows: unreadable if either is or if they disagree on
/// consent or status; the later last visit otherwise.
fn merge_facts(a: Option<PersonFacts>, b: Option<PersonFacts>) -> Option<PersonFacts> {
    let (a, b) = (a?, b?);
    if a.consented != b.consented || a.active != b.active {
        return None;
    }
    Some(PersonFacts {
        last_seen_ms: a.last_seen_ms.max(b.last_seen_ms),
        ..a
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_reads_booleans_and_levels() {
        assert_eq!(read_consent("true", 3), Some(true));
        assert_eq!(read_consent("FALSE", 3), Some(false));
        assert_eq!(read_consent("3", 3), Some(true));
        assert_eq!(read_consent("2", 3), Some(false));
        assert_eq!(read_consent("", 3), None);
        assert_eq!(read_consent("yes", 3), None);
    }

    #[test]
    fn timestamps_read_as_dates_date_times_and_epoch_ms() {
        assert_eq!(read_timestamp(""), Some(None));
        assert_eq!(read_timestamp("1000"), Some(Some(1000)));
        assert_eq!(read_timestamp("1970-01-02"), Some(Some(86_400_000)));
        assert_eq!(read_timestamp("1970-01-01T00:00:01Z"), Some(Some(1000)));
        assert_eq!(read_timestamp("last week"), None);
    }

    #[test]
    fn rows_of_one_person_that_disagree_make_the_person_unreadable() {
        let facts = |consented, last_seen| {
            Some(PersonFacts {
                consented,
                active: true,
                last_seen_ms: Some(last_seen),
                created_ms: None,
            })
        };
        assert_eq!(
            merge_facts(facts(true, 5), facts(true, 9)),
            facts(true, 9),
            "the latest visit counts"
        );
        assert_eq!(merge_facts(facts(true, 5), facts(false, 5)), None);
        assert_eq!(merge_facts(facts(true, 5), None), None);
    }
}
