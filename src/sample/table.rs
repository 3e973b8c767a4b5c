//! The sample's people as a person-keyed table (`anonpub sample --table FILE`), for trying and
//! testing `publish --source table` on the same people as the database.
//!
//! One CSV row per `Set` row, in the database's order, with the owner's eligibility beside it:
//! `person` (the owner's id; empty for a set whose owner is gone), `consent` and `status` (the
//! levels that count: 3 and 1 for an eligible owner, `?` where the owner's row cannot be read),
//! `last_seen` (epoch milliseconds; empty when never seen), then every measurement of the
//! catalogue (empty: not measured). `schemas/freesewing-table.toml` describes it. Public sets are
//! not written (the v3 source leaves them out too), nor sets that do not decrypt (a table has no
//! ciphertext to mirror them with); a set whose JSON is malformed gets an `x` in its first
//! measurement, so it is left out as malformed in the table as in the database.

use std::path::Path;

use crate::atomic::StagedFile;
use crate::error::{Error, Result};
use crate::extract::crypto::FieldKey;
use crate::extract::freesewing_v3::{
    is_stored_empty, SetRow, StoredMeasies, V3Database, ACTIVE_STATUS, OPEN_DATA_CONSENT,
};
use crate::extract::source::Owner;
use crate::measurements::{parse_measies, Catalog};

/// What the export wrote and what it could not mirror.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableExport {
    /// Rows written.
    pub rows: u64,
    /// Public sets, not written.
    pub public_sets: u64,
    /// Sets that do not decrypt, not written.
    pub undecryptable_sets: u64,
}

/// Writes the sets of the database at `db` (encrypted under `key`) to `out` as a person-keyed
/// CSV table, atomically (mode 0600: the table holds the same values as the database).
pub fn write_people_table(
    db: &Path,
    key: &FieldKey,
    catalog: &Catalog,
    out: &Path,
    force: bool,
) -> Result<TableExport> {
    let database = V3Database::open(db)?;
    let people = database.users()?;
    let (staged, file) = StagedFile::create(out, 0o600, force, "--table")?;
    let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let csv_error = |e: csv::Error| Error::io("write table", out, std::io::Error::other(e));
    let header = ["person", "consent", "status", "last_seen"]
        .into_iter()
        .chain(catalog.names().iter().map(String::as_str));
    writer.write_record(header).map_err(csv_error)?;
    let mut export = TableExport::default();
    let mut failed = None;
    database.for_each_set_chunk(4096, &mut |chunk: Vec<SetRow>| {
        for set in chunk {
            if set.public {
                export.public_sets += 1;
                continue;
            }
            let Some(values) = cells(&set, key, catalog) else {
                export.undecryptable_sets += 1;
                continue;
            };
            let owner = set
                .user_id
                .and_then(|id| Some((id, people.by_key.get(&id)?)));
            let (person, consent, status, last_seen) = match owner {
                None => (String::new(), String::new(), String::new(), String::new()),
                Some((id, Owner::Unreadable)) => {
                    (id.to_string(), "?".into(), "?".into(), String::new())
                }
                Some((id, Owner::Readable(facts))) => (
                    id.to_string(),
                    if facts.consented {
                        OPEN_DATA_CONSENT
                    } else {
                        0
                    }
                    .to_string(),
                    if facts.active { ACTIVE_STATUS } else { 0 }.to_string(),
                    facts
                        .last_seen_ms
                        .map_or(String::new(), |ms| ms.to_string()),
                ),
            };
            let row = [person, consent, status, last_seen]
                .into_iter()
                .chain(values);
            if let Err(e) = writer.write_record(row) {
                failed = Some(e);
                return false;
            }
            export.rows += 1;
        }
        true
    })?;
    if let Some(e) = failed {
        return Err(csv_error(e));
    }
    let file = writer
        .into_inner()
        .map_err(|e| Error::io("write table", out, e.into_error()))?
        .into_inner()
        .map_err(|e| Error::io("write table", out, e.into_error()))?;
    file.sync_all()
        .map_err(|e| Error::io("write table", out, e))?;
    staged.commit()?;
    Ok(export)
}

/// The measurement cells of one set; `None` when it does not decrypt.
fn cells(set: &SetRow, key: &FieldKey, catalog: &Catalog) -> Option<Vec<String>> {
    let mut cells = vec![String::new(); catalog.len()];
    if is_stored_empty(&set.measies) {
        return Some(cells);
    }
    let StoredMeasies::Text(stored) = &set.measies else {
        return None;
    };
    let plaintext = key.decrypt(stored).ok()?;
    match parse_measies(&plaintext, catalog) {
        Ok(measies) => {
            for (cell, value) in cells.iter_mut().zip(&measies.values) {
                if !value.is_nan() {
                    *cell = value.to_string();
                }
            }
        }
        Err(_) => cells[0] = "x".into(),
    }
    Some(cells)
}
