//! Reads the FreeSewing v3 backend database (Prisma on SQLite).
//!
//! Only the columns the release needs are read: from `User` the id, consent, status and the last
//! time the account was seen; from `Set` the owner and the encrypted `measies`. Names, notes,
//! images, emails and timestamps of sets are never selected, so they cannot leak by accident.
//! Sets are streamed in chunks so that memory does not grow with the size of the ciphertext.
//!
//! A row whose fields cannot be read is not an error here: the reader hands it on marked as such
//! ([`Owner::Unreadable`], [`StoredMeasies::NotText`], a `userId` of `None`), so that selection can
//! leave it out and count it. Only a database that cannot be read at all (not SQLite, missing
//! tables or columns, corrupted pages) stops the reader.

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::dates::parse_iso8601_ms;
use crate::error::{Error, Result};
use crate::fast_hash::FastMap;

/// The parts of a `User` row that decide eligibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRow {
    pub consent: i64,
    pub status: i64,
    /// Last authenticated request, ms since the epoch; `None` when never recorded.
    pub last_seen_ms: Option<i64>,
}

/// A `User` row as read: its eligibility fields, or the fact that they cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Readable(UserRow),
    /// `consent`, `status` or `lastSeen` cannot be read, or another row has the same id: no
    /// decision about this person's consent can be made, so none of their sets is published.
    Unreadable,
}

/// Every `User` row, by id, with counts of the rows that could not be read.
#[derive(Debug, Default)]
pub struct UserTable {
    pub by_id: FastMap<i64, Owner>,
    /// Rows in the table.
    pub rows: u64,
    /// Rows whose fields cannot be read, whose id is not an integer, or whose id is shared with
    /// another row (every row of such an id counts).
    pub unreadable_rows: u64,
    /// 1-based scan position of the first such row, for messages.
    pub first_unreadable_row: Option<u64>,
}

impl UserTable {
    /// Adds the row at `ordinal`; a row without a readable id can own no set and is only counted.
    fn add(&mut self, ordinal: u64, id: Option<i64>, owner: Owner) {
        use std::collections::hash_map::Entry;
        self.rows += 1;
        let unreadable = match id.map(|id| self.by_id.entry(id)) {
            None => true,
            Some(Entry::Vacant(slot)) => {
                slot.insert(owner);
                owner == Owner::Unreadable
            }
            Some(Entry::Occupied(mut slot)) => {
                // The earlier row of this id was counted as readable; it is not any more.
                if let Owner::Readable(_) = slot.insert(Owner::Unreadable) {
                    self.unreadable_rows += 1;
                }
                true
            }
        };
        if unreadable {
            self.unreadable_rows += 1;
            self.first_unreadable_row.get_or_insert(ordinal);
        }
    }
}

/// A `Set.measies` cell as stored.
#[derive(Debug, Clone)]
pub enum StoredMeasies {
    Null,
    /// Text or blob: normally the encrypted envelope.
    Text(Vec<u8>),
    /// An integer or a real: no envelope can be stored like that.
    NotText,
}

/// One `Set` row as stored: its owner and its still-encrypted measurements.
#[derive(Debug, Clone)]
pub struct SetRow {
    /// 1-based position in scan order, for messages (the id itself is never shown).
    pub ordinal: u64,
    /// `None` when `userId` is not an integer (NULL, text): the set has no owner.
    pub user_id: Option<i64>,
    pub measies: StoredMeasies,
}

/// An open, read-only v3 database.
pub struct V3Database {
    connection: Connection,
    path: PathBuf,
    last_seen_column: &'static str,
}

impl V3Database {
    /// Opens the database read-only and checks that it has the v3 tables and columns.
    pub fn open(path: &Path) -> Result<Self> {
        let metadata = std::fs::metadata(path).map_err(|e| Error::io("open database", path, e))?;
        if !metadata.is_file() {
            return Err(Error::Database {
                path: path.into(),
                table: "(file)",
                row: None,
                problem: "not a regular file".into(),
            });
        }
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| database_error(path, "(file)", None, &e))?;
        let mut database = V3Database {
            connection,
            path: path.into(),
            last_seen_column: "lastSeen",
        };
        let user_columns = database.columns("User")?;
        let set_columns = database.columns("Set")?;
        for (table, columns, required) in [
            ("User", &user_columns, &["id", "consent", "status"][..]),
            ("Set", &set_columns, &["userId", "measies"][..]),
        ] {
            if let Some(missing) = required
                .iter()
                .find(|c| !columns.iter().any(|have| have == *c))
            {
                return Err(database.error(table, None, format!("missing column `{missing}`")));
            }
        }
        database.last_seen_column = if user_columns.iter().any(|c| c == "lastSeen") {
            "lastSeen"
        } else if user_columns.iter().any(|c| c == "lastSignIn") {
            "lastSignIn"
        } else {
            return Err(database.error(
                "User",
                None,
                "missing column `lastSeen` (or older `lastSignIn`)".into(),
            ));
        };
        Ok(database)
    }

    fn columns(&self, table: &'static str) -> Result<Vec<String>> {
        let mut statement = self
            .connection
            .prepare(&format!("PRAGMA table_info(\"{table}\")"))
            .map_err(|e| database_error(&self.path, table, None, &e))?;
        let names = statement
            .query_map([], |row| row.get::<_, String>(1))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| database_error(&self.path, table, None, &e))?;
        if names.is_empty() {
            return Err(self.error(
                table,
                None,
                "table not found: not a FreeSewing v3 database".into(),
            ));
        }
        Ok(names)
    }

    fn error(&self, table: &'static str, row: Option<u64>, problem: String) -> Error {
        Error::Database {
            path: self.path.clone(),
            table,
            row,
            problem,
        }
    }

    /// The path the database was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All users, by id. A row whose eligibility fields cannot be read, or whose id another row
    /// shares (the table's primary key is broken), is kept as [`Owner::Unreadable`].
    pub fn users(&self) -> Result<UserTable> {
        let sql = format!(
            "SELECT id, consent, status, \"{}\" FROM \"User\"",
            self.last_seen_column
        );
        let mut statement = self
            .connection
            .prepare(&sql)
            .map_err(|e| database_error(&self.path, "User", None, &e))?;
        let mut rows = statement
            .query([])
            .map_err(|e| database_error(&self.path, "User", None, &e))?;
        let mut users = UserTable::default();
        let mut ordinal = 0u64;
        while let Some(row) = rows
            .next()
            .map_err(|e| database_error(&self.path, "User", Some(ordinal + 1), &e))?
        {
            ordinal += 1;
            let id = row.get::<_, i64>(0).ok();
            let fields = (
                row.get::<_, i64>(1),
                row.get::<_, i64>(2),
                timestamp_ms(row.get_ref(3).expect("selected 4 columns")),
            );
            let owner = match fields {
                (Ok(consent), Ok(status), Some(last_seen_ms)) => Owner::Readable(UserRow {
                    consent,
                    status,
                    last_seen_ms,
                }),
                _ => Owner::Unreadable,
            };
            users.add(ordinal, id, owner);
        }
        Ok(users)
    }

    /// Number of rows in the `Set` table, to size the progress bar of the selection stage.
    pub fn set_count(&self) -> Result<u64> {
        self.connection
            .query_row("SELECT count(*) FROM \"Set\"", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|count| count.max(0) as u64)
            .map_err(|e| database_error(&self.path, "Set", None, &e))
    }

    /// Streams every set in chunks of `chunk_size` rows, in a stable order (by rowid), until
    /// `consume` returns false.
    pub fn for_each_set_chunk(
        &self,
        chunk_size: usize,
        mut consume: impl FnMut(Vec<SetRow>) -> bool,
    ) -> Result<()> {
        let mut statement = self
            .connection
            .prepare("SELECT userId, measies FROM \"Set\" ORDER BY rowid")
            .map_err(|e| database_error(&self.path, "Set", None, &e))?;
        let mut rows = statement
            .query([])
            .map_err(|e| database_error(&self.path, "Set", None, &e))?;
        let mut chunk = Vec::with_capacity(chunk_size);
        let mut ordinal = 0u64;
        while let Some(row) = rows
            .next()
            .map_err(|e| database_error(&self.path, "Set", Some(ordinal + 1), &e))?
        {
            ordinal += 1;
            let user_id = row.get::<_, i64>(0).ok();
            let measies = match row.get_ref(1).expect("selected 2 columns") {
                ValueRef::Null => StoredMeasies::Null,
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                    StoredMeasies::Text(bytes.to_vec())
                }
                ValueRef::Integer(_) | ValueRef::Real(_) => StoredMeasies::NotText,
            };
            chunk.push(SetRow {
                ordinal,
                user_id,
                measies,
            });
            if chunk.len() == chunk_size
                && !consume(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(chunk_size),
                ))
            {
                return Ok(());
            }
        }
        if !chunk.is_empty() {
            consume(chunk);
        }
        Ok(())
    }
}

/// Reads a Prisma `DateTime`: integer ms, or ISO-8601 text; `Some(None)` when NULL (never
/// recorded), `None` when the cell holds something else.
fn timestamp_ms(value: ValueRef<'_>) -> Option<Option<i64>> {
    match value {
        ValueRef::Null => Some(None),
        ValueRef::Integer(ms) => Some(Some(ms)),
        ValueRef::Real(ms) => Some(Some(ms as i64)),
        ValueRef::Text(text) => std::str::from_utf8(text)
            .ok()
            .and_then(parse_iso8601_ms)
            .map(Some),
        ValueRef::Blob(_) => None,
    }
}

fn database_error(
    path: &Path,
    table: &'static str,
    row: Option<u64>,
    error: &rusqlite::Error,
) -> Error {
    let (table, row, problem) = match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            ("(file)", None, "not an SQLite database".to_string())
        }
        Some(rusqlite::ErrorCode::CannotOpen) => (
            "(file)",
            None,
            "cannot open the file as a database".to_string(),
        ),
        _ => (
            table,
            row,
            format!("SQLite error: {}", sqlite_message(error)),
        ),
    };
    Error::Database {
        path: path.into(),
        table,
        row,
        problem,
    }
}

/// SQLite's own message; it names SQL objects, never row values, for the statements used here.
fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(code, Some(message)) => {
            format!("{message} ({:?})", code.code)
        }
        rusqlite::Error::SqliteFailure(code, None) => format!("{:?}", code.code),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(consent: i64) -> Owner {
        Owner::Readable(UserRow {
            consent,
            status: 1,
            last_seen_ms: None,
        })
    }

    #[test]
    fn unreadable_rows_and_every_row_of_a_shared_id_are_counted() {
        let mut users = UserTable::default();
        users.add(1, Some(10), readable(3));
        users.add(2, Some(11), Owner::Unreadable);
        users.add(3, None, readable(3));
        users.add(4, Some(12), readable(3));
        users.add(5, Some(12), readable(3));
        users.add(6, Some(12), readable(2));
        assert_eq!(users.rows, 6);
        // Row 2 (a field), row 3 (its id) and all three rows of id 12.
        assert_eq!(users.unreadable_rows, 5);
        assert_eq!(users.first_unreadable_row, Some(2));
        assert_eq!(users.by_id[&10], readable(3));
        assert_eq!(users.by_id[&12], Owner::Unreadable);
        assert_eq!(users.by_id.len(), 3);
    }

    #[test]
    fn timestamps_read_as_prisma_stores_them() {
        assert_eq!(timestamp_ms(ValueRef::Null), Some(None));
        assert_eq!(timestamp_ms(ValueRef::Integer(5)), Some(Some(5)));
        assert_eq!(
            timestamp_ms(ValueRef::Text(b"1970-01-01T00:00:01.000Z")),
            Some(Some(1000))
        );
        assert_eq!(timestamp_ms(ValueRef::Text(b"yesterday")), None);
        assert_eq!(timestamp_ms(ValueRef::Blob(b"\x00")), None);
    }
}
