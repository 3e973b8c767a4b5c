//! The seam between a source of people's measurements and the source-neutral selection.
//!
//! A source hands selection two things: its people, each with the three facts eligibility needs
//! (did they consent, is the account active, when were they last seen), and a stream of stored
//! measurement sets, each naming its owner. Selection judges people and values by the same rules
//! whatever the source ([`crate::select`]); the source only says how its own columns map onto
//! those facts and how a stored set is decoded (decrypted, parsed).
//!
//! A row a source cannot read is not an error here: it is handed on marked as such
//! ([`Owner::Unreadable`], [`Decoded::Failed`]) so that selection can leave it out and count it.
//! Only an input that cannot be read at all stops a source.
//!
//! Adding a source is one file implementing [`Source`] plus one arm where the pipeline lists the
//! sources ([`crate::pipeline::plan::SourcePlan`]).

use std::path::Path;

use zeroize::Zeroizing;

use crate::error::Result;
use crate::extract::crypto::DecryptError;
use crate::fast_hash::FastMap;
use crate::measurements::{Catalog, Measies};

/// What eligibility needs to know about a person, in the source's own terms already judged:
/// each source maps its consent and status columns onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonFacts {
    /// The person agreed to their anonymized measurements being published as open data.
    pub consented: bool,
    /// The person's account is active.
    pub active: bool,
    /// Last time the person was seen, ms since the epoch; `None` when never recorded.
    pub last_seen_ms: Option<i64>,
    /// When the account was created, ms since the epoch; `None` when the source does not say
    /// (or the cell cannot be read), which a minimum account age treats as too new.
    pub created_ms: Option<i64>,
}

/// A person as read: their facts, or the fact that they cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Every fact could be read.
    Readable(PersonFacts),
    /// Consent, status or last visit cannot be read, or the person's key is not unique where it
    /// must be: no decision about this person's consent can be made, so none of their sets is
    /// published.
    Unreadable,
}

/// Every person of a source, by the source's person key, with counts of the rows that could not
/// be read.
#[derive(Debug, Default)]
pub struct People {
    /// Each person's facts, by a key the source chooses (never published).
    pub by_key: FastMap<i64, Owner>,
    /// Person rows read (accounts; for a table, distinct people).
    pub rows: u64,
    /// Rows that cannot be read, whose key cannot be read, or that conflict with another row of
    /// the same key (every such row counts).
    pub unreadable_rows: u64,
    /// 1-based scan position of the first such row, for messages.
    pub first_unreadable_row: Option<u64>,
}

impl People {
    /// Adds the row at `ordinal`; a row without a readable key can own no set and is only
    /// counted. A second row of the same key makes that person unreadable.
    pub fn add(&mut self, ordinal: u64, key: Option<i64>, owner: Owner) {
        use std::collections::hash_map::Entry;
        self.rows += 1;
        let unreadable = match key.map(|key| self.by_key.entry(key)) {
            None => true,
            Some(Entry::Vacant(slot)) => {
                slot.insert(owner);
                owner == Owner::Unreadable
            }
            Some(Entry::Occupied(mut slot)) => {
                // The earlier row of this key was counted as readable; it is not any more.
                if let Owner::Readable(_) = slot.insert(Owner::Unreadable) {
                    self.unreadable_rows += 1;
                }
                true
            }
        };
        if unreadable {
            self.mark_unreadable(ordinal);
        }
    }

    /// Counts one more unreadable row at `ordinal`.
    pub fn mark_unreadable(&mut self, ordinal: u64) {
        self.unreadable_rows += 1;
        self.first_unreadable_row.get_or_insert(ordinal);
    }
}

/// A stored set as a source streams it, before decoding.
pub trait StoredSet: Send + Sync {
    /// 1-based position in scan order, for messages (a set's own id is never shown).
    fn ordinal(&self) -> u64;
    /// The owner's key in [`People::by_key`]; `None` when the set names no readable owner.
    fn owner(&self) -> Option<i64>;
    /// The owner marked this set public: anyone may already read its exact values.
    fn is_public(&self) -> bool;
}

/// Why a stored set yields no values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeFailure {
    /// Nothing stored: an empty set, not a damaged one.
    Empty,
    /// The stored value is not an envelope the key opens; `Some` when the key was tried (what
    /// failed tells a wrong key from a damaged row).
    Undecryptable(Option<DecryptError>),
    /// The decoded value is not a list of measurement names and numbers.
    Malformed,
}

/// A decoded set: its values, or why there are none.
pub type Decoded = std::result::Result<Measies, DecodeFailure>;

/// How reports and messages name a source and its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDescription {
    /// The `--source` name (`freesewing-v3`, `table`).
    pub kind: &'static str,
    /// What the source is, for messages ("a FreeSewing v3 backend database").
    pub title: &'static str,
    /// What the input is called in the datasheet ("database", "table").
    pub container: &'static str,
    /// The consent and status rules in the source's own terms, for the datasheet ("its owner
    /// gave consent level 3 or higher …, the account is active (status 1)").
    pub eligibility: String,
    /// How a person row is named in messages (`User row`).
    pub person_row: &'static str,
    /// How a set row is named in messages (`Set row`).
    pub set_row: &'static str,
}

/// Decodes stored sets; runs on many threads at once, so it holds only what decoding needs (a
/// key, the cells), never the connection a source reads through.
pub trait Decode<S>: Sync {
    /// Decodes one set's measurements (decrypting them when the source encrypts them).
    fn decode(&self, set: &S, catalog: &Catalog) -> Decoded;
}

/// A source of people and their measurement sets.
pub trait Source {
    /// A set as stored.
    type Set: StoredSet;

    /// How reports and messages name this source.
    fn description(&self) -> SourceDescription;

    /// The input file, for messages and the fingerprint.
    fn path(&self) -> &Path;

    /// Every person, judged readable or not.
    fn people(&self) -> Result<People>;

    /// Number of stored sets, to size a progress bar (may cost a pass over the input).
    fn set_count(&self) -> Result<u64>;

    /// Streams every set in chunks of `chunk_size`, in a stable order, until `consume` returns
    /// false.
    fn for_each_set_chunk(
        &self,
        chunk_size: usize,
        consume: &mut dyn FnMut(Vec<Self::Set>) -> bool,
    ) -> Result<()>;

    /// What decodes this source's sets.
    fn decoder(&self) -> &dyn Decode<Self::Set>;

    /// The data holder's secret for keyed derivations (the input fingerprint, keyed noise), with
    /// how it was obtained; `None` when the source has none.
    fn secret_key(&self, label: &str) -> Option<(Zeroizing<[u8; 32]>, String)>;

    /// Each person's size-chart strata from the source's `stratum` columns; none by default.
    fn person_strata(&self) -> PersonStrata {
        PersonStrata::default()
    }
}

/// Each person's stratum in every `stratum` column of a source, for the size chart (which splits
/// people by them, see `dp::sizechart::StrataPlan`). A person's stratum is read from their own
/// rows only, so strata hold disjoint people.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonStrata {
    /// Each stratum column's strata names, from the schema (public), the last the one for a
    /// value that is missing, unlisted or that the person's rows disagree on.
    pub labels: Vec<Vec<String>>,
    /// By person key: the index of the person's stratum in each column's `labels`.
    pub by_key: FastMap<i64, Vec<usize>>,
}

impl PersonStrata {
    /// The strata of the person with `key`: the last of each column's when unknown.
    pub fn of(&self, key: Option<i64>) -> Vec<usize> {
        key.and_then(|k| self.by_key.get(&k).cloned())
            .unwrap_or_else(|| self.labels.iter().map(|l| l.len() - 1).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(consented: bool) -> Owner {
        Owner::Readable(PersonFacts {
            consented,
            active: true,
            last_seen_ms: None,
            created_ms: None,
        })
    }

    #[test]
    fn unreadable_rows_and_every_row_of_a_shared_key_are_counted() {
        let mut people = People::default();
        people.add(1, Some(10), readable(true));
        people.add(2, Some(11), Owner::Unreadable);
        people.add(3, None, readable(true));
        people.add(4, Some(12), readable(true));
        people.add(5, Some(12), readable(true));
        people.add(6, Some(12), readable(false));
        assert_eq!(people.rows, 6);
        // Row 2 (a field), row 3 (its key) and all three rows of key 12.
        assert_eq!(people.unreadable_rows, 5);
        assert_eq!(people.first_unreadable_row, Some(2));
        assert_eq!(people.by_key[&10], readable(true));
        assert_eq!(people.by_key[&12], Owner::Unreadable);
        assert_eq!(people.by_key.len(), 3);
    }
}
