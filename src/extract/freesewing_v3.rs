//! Reads the FreeSewing v3 backend database (Prisma on SQLite).
//!
//! Only the columns the release needs are read: from `User` the id, consent, status and the last
//! time the account was seen; from `Set` the owner, the encrypted `measies` and whether the owner made the set public. Names, notes,
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
use zeroize::Zeroizing;

use crate::dates::parse_iso8601_ms;
use crate::error::{Error, Result};
use crate::extract::crypto::FieldKey;
use crate::extract::source::{
    Decode, DecodeFailure, Decoded, Owner, People, PersonFacts, Source, SourceDescription,
    StoredSet,
};
use crate::measurements::{parse_measies, Catalog};

/// The consent level that includes "share anonymized measurements as open data".
pub const OPEN_DATA_CONSENT: i64 = 3;
/// `User.status` of an active account.
pub const ACTIVE_STATUS: i64 = 1;

/// The eligibility facts of a `User` row: consent ≥ [`OPEN_DATA_CONSENT`], status
/// [`ACTIVE_STATUS`].
pub fn user_facts(
    consent: i64,
    status: i64,
    last_seen_ms: Option<i64>,
    created_ms: Option<i64>,
) -> PersonFacts {
    PersonFacts {
        created_ms,
        consented: consent >= OPEN_DATA_CONSENT,
        active: status == ACTIVE_STATUS,
        last_seen_ms,
    }
}

/// A `Set.measies` cell as stored.
#[derive(Debug, Clone)]
pub enum StoredMeasies {
    /// NULL: an empty set.
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
    /// The encrypted measurements.
    pub measies: StoredMeasies,
    /// `Set.public`: FreeSewing serves the set's exact values to anyone.
    pub public: bool,
}

impl StoredSet for SetRow {
    fn ordinal(&self) -> u64 {
        self.ordinal
    }

    fn owner(&self) -> Option<i64> {
        self.user_id
    }

    fn is_public(&self) -> bool {
        self.public
    }
}

/// An open, read-only v3 database.
pub struct V3Database {
    connection: Connection,
    path: PathBuf,
    last_seen_column: &'static str,
    /// `Set.public`, when the schema has it (every v3 release does; hand-made test databases
    /// may not).
    has_public_column: bool,
    /// `"createdAt"`, or `NULL` where the column is missing (the account's age is then unknown).
    created_column: &'static str,
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
            has_public_column: false,
            created_column: "NULL",
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
        database.has_public_column = set_columns.iter().any(|c| c == "public");
        if user_columns.iter().any(|c| c == "createdAt") {
            database.created_column = "\"createdAt\"";
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
    pub fn users(&self) -> Result<People> {
        let sql = format!(
            "SELECT id, consent, status, \"{}\", {} FROM \"User\"",
            self.last_seen_column, self.created_column
        );
        let mut statement = self
            .connection
            .prepare(&sql)
            .map_err(|e| database_error(&self.path, "User", None, &e))?;
        let mut rows = statement
            .query([])
            .map_err(|e| database_error(&self.path, "User", None, &e))?;
        let mut users = People::default();
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
                timestamp_ms(row.get_ref(3).expect("selected 5 columns")),
            );
            let created_ms = timestamp_ms(row.get_ref(4).expect("selected 5 columns")).flatten();
            let owner = match fields {
                (Ok(consent), Ok(status), Some(last_seen_ms)) => {
                    Owner::Readable(user_facts(consent, status, last_seen_ms, created_ms))
                }
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
        consume: &mut dyn FnMut(Vec<SetRow>) -> bool,
    ) -> Result<()> {
        let public = if self.has_public_column {
            "public"
        } else {
            "0"
        };
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT userId, measies, {public} FROM \"Set\" ORDER BY rowid"
            ))
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
            // Prisma stores a boolean as 0/1; anything else is read as not public, which only
            // keeps the set in the release as every set was before `public` existed.
            let public = matches!(row.get_ref(2), Ok(ValueRef::Integer(1)));
            chunk.push(SetRow {
                ordinal,
                user_id,
                measies,
                public,
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

/// How the v3 database describes itself in reports and messages.
pub fn description() -> SourceDescription {
    SourceDescription {
        kind: "freesewing-v3",
        title: "a FreeSewing v3 backend database",
        container: "database",
        eligibility: format!(
            "its owner gave consent level {OPEN_DATA_CONSENT} or higher (\"share anonymized \
             measurements as open data\"), the account is active (status {ACTIVE_STATUS})"
        ),
        person_row: "User row",
        set_row: "Set row",
    }
}

/// The FreeSewing v3 database as a [`Source`]: the open database and the key its fields are
/// encrypted with. Dropping it drops the key.
pub struct FreeSewingV3 {
    database: V3Database,
    key: V3Decoder,
    /// Where the key came from, for the manifest (`API_ENC_KEY`, `BACKEND_ENC_KEY`, a file).
    key_origin: String,
}

impl FreeSewingV3 {
    /// A source reading `database` with the field key derived from `secret`.
    pub fn new(database: V3Database, key: FieldKey, key_origin: String) -> Self {
        FreeSewingV3 {
            database,
            key: V3Decoder(key),
            key_origin,
        }
    }
}

impl Source for FreeSewingV3 {
    type Set = SetRow;

    fn description(&self) -> SourceDescription {
        description()
    }

    fn path(&self) -> &Path {
        self.database.path()
    }

    fn people(&self) -> Result<People> {
        self.database.users()
    }

    fn set_count(&self) -> Result<u64> {
        self.database.set_count()
    }

    fn for_each_set_chunk(
        &self,
        chunk_size: usize,
        consume: &mut dyn FnMut(Vec<SetRow>) -> bool,
    ) -> Result<()> {
        self.database.for_each_set_chunk(chunk_size, consume)
    }

    fn decoder(&self) -> &dyn Decode<SetRow> {
        &self.key
    }

    fn secret_key(&self, label: &str) -> Option<(Zeroizing<[u8; 32]>, String)> {
        Some((
            self.key.0.subkey(label),
            format!("field key derived from {}", self.key_origin),
        ))
    }
}

/// Decrypts and parses `Set.measies` with the field key.
struct V3Decoder(FieldKey);

impl Decode<SetRow> for V3Decoder {
    fn decode(&self, set: &SetRow, catalog: &Catalog) -> Decoded {
        if is_stored_empty(&set.measies) {
            return Err(DecodeFailure::Empty);
        }
        let StoredMeasies::Text(stored) = &set.measies else {
            return Err(DecodeFailure::Undecryptable(None));
        };
        let plaintext = self
            .0
            .decrypt(stored)
            .map_err(|problem| DecodeFailure::Undecryptable(Some(problem)))?;
        parse_measies(&plaintext, catalog).map_err(|_| DecodeFailure::Malformed)
    }
}

/// Whether a stored `measies` is empty as stored: NULL, empty text, or the schema's unencrypted
/// default `{}` (whitespace allowed). The backend writes `{}` for a set created without
/// measurements; it is an empty set, not an unencrypted value.
pub fn is_stored_empty(stored: &StoredMeasies) -> bool {
    match stored {
        StoredMeasies::Null => true,
        StoredMeasies::Text(bytes) => {
            let text = bytes.trim_ascii();
            text.is_empty()
                || (text.len() >= 2
                    && text[0] == b'{'
                    && text[text.len() - 1] == b'}'
                    && text[1..text.len() - 1].trim_ascii().is_empty())
        }
        StoredMeasies::NotText => false,
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

    #[test]
    fn stored_empties_are_null_empty_text_and_the_plain_default() {
        let text = |t: &str| StoredMeasies::Text(t.as_bytes().to_vec());
        for empty in [StoredMeasies::Null, text(""), text("{}"), text(" { \n} ")] {
            assert!(is_stored_empty(&empty), "{empty:?}");
        }
        for stored in [
            StoredMeasies::NotText,
            text("{\"chest\":1}"),
            text("{\"iv\":\"00\",\"ct\":\"00\"}"),
            text("}{"),
            text("{"),
        ] {
            assert!(!is_stored_empty(&stored), "{stored:?}");
        }
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
