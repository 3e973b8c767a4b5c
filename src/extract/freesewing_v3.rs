//! Reads the FreeSewing v3 backend database (Prisma on SQLite).
//!
//! Only the columns the release needs are read: from `User` the id, consent, status and the last
//! time the account was seen; from `Set` the owner and the encrypted `measies`. Names, notes,
//! images, emails and timestamps of sets are never selected, so they cannot leak by accident.
//! Sets are streamed in chunks so that memory does not grow with the size of the ciphertext.

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

/// One `Set` row as stored: its owner and its still-encrypted measurements.
#[derive(Debug, Clone)]
pub struct SetRow {
    /// 1-based position in scan order, for error messages (the id itself is never shown).
    pub ordinal: u64,
    pub user_id: i64,
    pub measies: Option<Vec<u8>>,
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

    /// All users, by id. Duplicate ids are an error: the table's primary key is broken.
    pub fn users(&self) -> Result<FastMap<i64, UserRow>> {
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
        let mut users = FastMap::default();
        let mut ordinal = 0u64;
        while let Some(row) = rows
            .next()
            .map_err(|e| database_error(&self.path, "User", Some(ordinal + 1), &e))?
        {
            ordinal += 1;
            let integer = |index: usize, name: &str| -> Result<i64> {
                row.get::<_, i64>(index).map_err(|_| {
                    self.error("User", Some(ordinal), format!("`{name}` is not an integer"))
                })
            };
            let id = integer(0, "id")?;
            let user = UserRow {
                consent: integer(1, "consent")?,
                status: integer(2, "status")?,
                last_seen_ms: timestamp_ms(row.get_ref(3).expect("selected 4 columns")).map_err(
                    |problem| {
                        self.error(
                            "User",
                            Some(ordinal),
                            format!("`{}` {problem}", self.last_seen_column),
                        )
                    },
                )?,
            };
            if users.insert(id, user).is_some() {
                return Err(self.error("User", Some(ordinal), "duplicate id".into()));
            }
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
            let user_id = row.get::<_, i64>(0).map_err(|_| {
                self.error("Set", Some(ordinal), "`userId` is not an integer".into())
            })?;
            let measies = match row.get_ref(1).expect("selected 2 columns") {
                ValueRef::Null => None,
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(bytes.to_vec()),
                _ => return Err(self.error("Set", Some(ordinal), "`measies` is not text".into())),
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

/// Reads a Prisma `DateTime`: integer ms, or ISO-8601 text.
fn timestamp_ms(value: ValueRef<'_>) -> std::result::Result<Option<i64>, &'static str> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(ms) => Ok(Some(ms)),
        ValueRef::Real(ms) => Ok(Some(ms as i64)),
        ValueRef::Text(text) => std::str::from_utf8(text)
            .ok()
            .and_then(parse_iso8601_ms)
            .map(Some)
            .ok_or("is neither epoch milliseconds nor an ISO-8601 timestamp"),
        ValueRef::Blob(_) => Err("is a blob, expected a timestamp"),
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
