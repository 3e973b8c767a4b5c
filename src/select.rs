//! Selection: which measurements sets may enter the open dataset, and why the others may not.
//!
//! A set is eligible when its owner consented to open data, the account is active, the owner was
//! seen within the retention window before the release date, and every value in it is plausible.
//! The rules are the same for every source ([`crate::extract::source`]): each source only says
//! what consent and status mean in its own columns (for FreeSewing v3, consent ≥ 3 and status 1).
//! People are judged before any set is decoded: sets of ineligible people are never decrypted at
//! all. Every exclusion is counted by reason for the report.
//!
//! **Bad rows are left out, a bad database is refused.** A production database always holds a few
//! rows anonpub cannot read: a set without measurements, a value left unencrypted by a migration,
//! a hand edit, a set whose owner is gone, a user row with an unreadable consent. Each such row is
//! left out and counted ([`Exclusion::is_bad_row`]); the release goes ahead. Leaving a row out
//! never adds risk: a set that cannot be read, or whose owner's consent cannot be read, is simply
//! not published. Two checks keep a damaged database from passing as a small release: a wrong key
//! is recognised ([`KeyCheck`]), and when bad rows exceed `max_malformed_share` of the sets that
//! could have been published, nothing is published.

use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::dates::Date;
use crate::error::{Error, Result};
use crate::extract::crypto::DecryptError;
use crate::extract::source::{
    Decode, DecodeFailure, Owner, PersonFacts, Source, SourceDescription, StoredSet,
};
use crate::fast_hash::FastMap;
use crate::measurements::{Catalog, Measies};
use crate::observe::{Observer, Progress};
use crate::table::MeasurementTable;

/// Who may be published, decided once from the release config.
#[derive(Debug, Clone, Copy)]
pub struct SelectionPolicy {
    /// The release date; the retention window ends there.
    pub as_of: Date,
    /// Sets of people not seen for longer than this many months are not published.
    pub retention_months: u32,
    /// Accounts younger than this many days on the release date do not count (0: no minimum).
    pub min_account_age_days: u32,
    /// Largest share of bad rows ([`Exclusion::is_bad_row`]) among the sets that could have been
    /// published before the database is taken for damaged and refused.
    pub max_malformed_share: f64,
}

/// Why a set was left out. The order is that of [`Exclusion::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// The owner did not consent to open data (consent < 3).
    NoOpenDataConsent,
    /// The owner's account is not active (status ≠ 1).
    AccountNotActive,
    /// The owner was not seen within the retention window (or never).
    OutsideRetentionWindow,
    /// The account is younger than `min_account_age_days` (or its creation date is unknown).
    AccountTooNew,
    /// The owner's row cannot be read (consent, status or lastSeen), or its id is not unique.
    UnreadableOwner,
    /// The set's `userId` matches no user (possible when SQLite does not enforce foreign keys).
    OrphanSet,
    /// The owner made the set public: anyone can already read its exact values (see
    /// [`ChunkJudge::judge`] for why such a set is not published).
    PublicSet,
    /// The set has no known measurement (NULL, empty, the plain `{}` default, or an encrypted
    /// empty object): an empty set, not a damaged one.
    NoMeasurements,
    /// `measies` is not an envelope the key opens: stored unencrypted, bad hex, wrong IV length,
    /// bad padding, not UTF-8, not text.
    Undecryptable,
    /// The decrypted `measies` is not an object, or a measurement is not a finite number.
    MalformedValue,
    /// A value is outside its plausible range: a doll, a giant, cm or inches, zeros.
    ImplausibleValue,
    /// The same user owns another set with exactly the same values.
    DuplicateOfOwnSet,
}

impl Exclusion {
    /// Every reason, in the order reports list them.
    pub const ALL: [Exclusion; 12] = [
        Exclusion::NoOpenDataConsent,
        Exclusion::AccountNotActive,
        Exclusion::OutsideRetentionWindow,
        Exclusion::AccountTooNew,
        Exclusion::UnreadableOwner,
        Exclusion::OrphanSet,
        Exclusion::PublicSet,
        Exclusion::NoMeasurements,
        Exclusion::Undecryptable,
        Exclusion::MalformedValue,
        Exclusion::ImplausibleValue,
        Exclusion::DuplicateOfOwnSet,
    ];

    /// One line for readers of the datasheet and the HTML report.
    pub fn description(self) -> &'static str {
        match self {
            Exclusion::NoOpenDataConsent => {
                "the owner did not consent to sharing anonymized measurements as open data"
            }
            Exclusion::AccountNotActive => "the owner's account is not active",
            Exclusion::OutsideRetentionWindow => {
                "the owner was not seen within the retention window before the release date"
            }
            Exclusion::AccountTooNew => {
                "the account was created too shortly before the release date to count"
            }
            Exclusion::UnreadableOwner => {
                "the owner's consent, status or last visit cannot be read (or the owner's id is not unique)"
            }
            Exclusion::OrphanSet => "the set belongs to no account in the database",
            Exclusion::PublicSet => {
                "the owner made the set public, so its exact values are published already"
            }
            Exclusion::NoMeasurements => "the set holds no known measurement",
            Exclusion::Undecryptable => "the stored measurements cannot be decrypted",
            Exclusion::MalformedValue => {
                "the measurements are not a list of names and numbers (a value is text, empty or out of range)"
            }
            Exclusion::ImplausibleValue => {
                "a value lies outside its plausible range (doll or giant scale, cm or inches, zero)"
            }
            Exclusion::DuplicateOfOwnSet => "an exact copy of another set of the same owner",
        }
    }

    /// [`Exclusion::description`] in the words of any dataset (rows and people, no FreeSewing
    /// examples), for the documents of a release that is not FreeSewing's.
    pub fn plain_description(self) -> &'static str {
        match self {
            Exclusion::NoOpenDataConsent => "the person did not consent to publication",
            Exclusion::AccountNotActive => "the person's status does not allow publication",
            Exclusion::OutsideRetentionWindow => {
                "the person was not seen within the retention window before the release date"
            }
            Exclusion::AccountTooNew => {
                "the person's account was created too shortly before the release date to count"
            }
            Exclusion::UnreadableOwner => {
                "the person's consent, status or last visit cannot be read (or their rows disagree on them)"
            }
            Exclusion::OrphanSet => "the row belongs to no person (its person key is empty)",
            Exclusion::PublicSet => "the row is public, so its exact values are published already",
            Exclusion::NoMeasurements => "the row holds no value in a published column",
            Exclusion::Undecryptable => "the row cannot be decrypted",
            Exclusion::MalformedValue => "a value is not a number",
            Exclusion::ImplausibleValue => "a value lies outside its column's plausible range",
            Exclusion::DuplicateOfOwnSet => "an exact copy of another row of the same person",
        }
    }

    /// The key used in `report.json`.
    pub fn key(self) -> &'static str {
        match self {
            Exclusion::NoOpenDataConsent => "no_open_data_consent",
            Exclusion::AccountNotActive => "account_not_active",
            Exclusion::OutsideRetentionWindow => "outside_retention_window",
            Exclusion::AccountTooNew => "account_too_new",
            Exclusion::UnreadableOwner => "unreadable_owner",
            Exclusion::OrphanSet => "orphan_set",
            Exclusion::PublicSet => "public_set",
            Exclusion::NoMeasurements => "no_measurements",
            Exclusion::Undecryptable => "undecryptable",
            Exclusion::MalformedValue => "malformed_value",
            Exclusion::ImplausibleValue => "implausible_value",
            Exclusion::DuplicateOfOwnSet => "duplicate_of_own_set",
        }
    }

    /// Whether this reason judges the owner (and so applies to users as well as to sets).
    pub fn is_about_owner(self) -> bool {
        matches!(
            self,
            Exclusion::NoOpenDataConsent
                | Exclusion::AccountNotActive
                | Exclusion::OutsideRetentionWindow
                | Exclusion::AccountTooNew
                | Exclusion::UnreadableOwner
        )
    }

    /// Whether this reason is a row anonpub cannot read, as opposed to a legitimate decision (no
    /// consent, an empty set, junk values a person typed). Bad rows count toward
    /// `max_malformed_share`; an empty set does not.
    pub fn is_bad_row(self) -> bool {
        matches!(
            self,
            Exclusion::UnreadableOwner
                | Exclusion::OrphanSet
                | Exclusion::Undecryptable
                | Exclusion::MalformedValue
        )
    }
}

/// Counts of excluded sets by reason, with the first set row of each (for messages).
#[derive(Debug, Clone, Default)]
struct Tally {
    sets: [u64; Exclusion::ALL.len()],
    first_row: [Option<u64>; Exclusion::ALL.len()],
    /// Sets that passed every check (before duplicates are removed).
    eligible: u64,
}

impl Tally {
    fn count(&mut self, reason: Exclusion, ordinal: u64) {
        self.sets[reason as usize] += 1;
        self.first_row[reason as usize].get_or_insert(ordinal);
    }

    fn get(&self, reason: Exclusion) -> u64 {
        self.sets[reason as usize]
    }

    /// The report's `excluded_sets`: every reason with at least one set.
    fn by_key(&self) -> ReasonCounts {
        Exclusion::ALL
            .into_iter()
            .filter(|&reason| self.get(reason) > 0)
            .map(|reason| (reason.key().into(), self.get(reason)))
            .collect()
    }
}

pub use crate::release::report::{BadRows, ReasonCounts, SelectionReport};

impl SelectionReport {
    /// The exclusion tables of the public documents (the datasheet, `report.html`): every
    /// reason a set can be left out for, with its count in [`SelectionReport::excluded_sets`],
    /// and the reasons about the owner ([`Exclusion::is_about_owner`]) with their count in
    /// [`SelectionReport::excluded_users`]; both in the order of [`Exclusion::ALL`], 0 for a
    /// reason that did not occur.
    pub fn exclusion_counts(&self) -> ExclusionCounts {
        let count = |counts: &ReasonCounts, reason: Exclusion| {
            (reason, counts.get(reason.key()).copied().unwrap_or(0))
        };
        ExclusionCounts {
            sets: Exclusion::ALL
                .into_iter()
                .map(|reason| count(&self.excluded_sets, reason))
                .collect(),
            accounts: Exclusion::ALL
                .into_iter()
                .filter(|reason| reason.is_about_owner())
                .map(|reason| count(&self.excluded_users, reason))
                .collect(),
        }
    }
}

/// The rows of the exclusion tables ([`SelectionReport::exclusion_counts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionCounts {
    /// Every reason with the sets left out for it.
    pub sets: Vec<(Exclusion, u64)>,
    /// The reasons about the owner with the accounts left out for them.
    pub accounts: Vec<(Exclusion, u64)>,
}

/// Judges a person without looking at any of their sets.
pub fn judge_person(person: &PersonFacts, policy: &SelectionPolicy) -> Result<(), Exclusion> {
    if !person.consented {
        return Err(Exclusion::NoOpenDataConsent);
    }
    if !person.active {
        return Err(Exclusion::AccountNotActive);
    }
    let window_start = policy
        .as_of
        .months_before(policy.retention_months)
        .start_ms();
    if !matches!(person.last_seen_ms, Some(seen) if seen >= window_start) {
        return Err(Exclusion::OutsideRetentionWindow);
    }
    // A minimum account age makes planting accounts next to a target slow (the planted-accounts
    // attack): an attacker must create them that long before the release. An account of
    // unknown age is taken for a new one.
    if policy.min_account_age_days > 0 {
        let latest = policy.as_of.start_ms() - i64::from(policy.min_account_age_days) * 86_400_000;
        if !matches!(person.created_ms, Some(created) if created <= latest) {
            return Err(Exclusion::AccountTooNew);
        }
    }
    Ok(())
}

/// Judges the values of one set: at least one measurement, all within their plausible ranges.
pub fn judge_values(values: &[f64], catalog: &Catalog) -> Result<(), Exclusion> {
    let mut present = 0;
    for (index, &value) in values.iter().enumerate() {
        if value.is_nan() {
            continue;
        }
        let [low, high] = catalog.plausible(index);
        if !(value >= low && value <= high) {
            return Err(Exclusion::ImplausibleValue);
        }
        present += 1;
    }
    if present == 0 {
        return Err(Exclusion::NoMeasurements);
    }
    Ok(())
}

/// Chunk of sets decrypted in parallel; bounds memory held as ciphertext.
const SET_CHUNK: usize = 32_768;

/// Reads a source and returns the eligible sets as a table, one row per set, with the owner of
/// each row as a dense person number (never published). The `decrypt and select` progress
/// advances by one per set judged, and the parts of the stage (`read-users`, `read-sets`,
/// `decrypt`, `dedupe`) report their timings to `observer`.
///
/// Reading and decoding overlap: this thread steps through the source's sets while a second
/// thread decodes and judges the previous chunk on the rayon pool. At most two chunks of stored
/// sets are in flight, so memory does not grow with the input.
///
/// Bad rows are left out and counted; the input is refused (exit 2) when the key is wrong or
/// when bad rows exceed `policy.max_malformed_share` of the sets that could have been published.
pub fn select<S: Source>(
    source: &S,
    policy: &SelectionPolicy,
    catalog: &Catalog,
    observer: &dyn Observer,
) -> Result<(MeasurementTable, SelectionReport)> {
    let sets = if observer.shows_progress() {
        source.set_count()?
    } else {
        0
    };
    let progress = observer.progress("decrypt and select", sets);
    let users = observer.time("read-users", || source.people())?;
    let verdicts: FastMap<i64, Result<(), Exclusion>> = users
        .by_key
        .iter()
        .map(|(key, owner)| {
            let verdict = match owner {
                Owner::Readable(person) => judge_person(person, policy),
                Owner::Unreadable => Err(Exclusion::UnreadableOwner),
            };
            (*key, verdict)
        })
        .collect();
    let names = source.description();
    let judge = ChunkJudge {
        verdicts: &verdicts,
        decoder: source.decoder(),
        catalog,
        path: source.path(),
    };
    let (chunks, received) = std::sync::mpsc::sync_channel::<Vec<S::Set>>(1);
    let (read, judged) = std::thread::scope(|scope| {
        let judging = scope.spawn(|| judge.all(received, &*progress));
        let started = Instant::now();
        let mut waiting = Duration::ZERO;
        // A failed send means the judge stopped (a wrong key); its error is the one to report.
        let read = source.for_each_set_chunk(SET_CHUNK, &mut |chunk| {
            let handed_over = Instant::now();
            let sent = chunks.send(chunk).is_ok();
            waiting += handed_over.elapsed();
            sent
        });
        drop(chunks);
        observer.stage_took("read-sets", started.elapsed().saturating_sub(waiting));
        let judged = judging.join().expect("the judging thread does not panic");
        (read, judged)
    });
    let mut judged = judged?;
    read?;
    observer.stage_took("decrypt", judged.busy);

    let bad_rows = bad_row_share(&judged.tally, policy.max_malformed_share);
    if bad_rows.share > bad_rows.max_share {
        return Err(Error::TooManyBadRows {
            path: source.path().into(),
            bad: bad_rows.sets,
            of: bad_rows.of_sets,
            share: bad_rows.share,
            limit: bad_rows.max_share,
            reasons: bad_row_reasons(&judged.tally, users.first_unreadable_row, &names),
        });
    }
    log_bad_rows(&judged.tally, users.first_unreadable_row, &names);

    let (table, report) = (&mut judged.table, &mut judged.report);
    report.users_in_database = users.rows;
    report.excluded_users = excluded_users(&verdicts, users.unreadable_rows);
    report.bad_rows = bad_rows;
    let duplicates = observer.time("dedupe", || table.remove_duplicates_within_person());
    judged.tally.sets[Exclusion::DuplicateOfOwnSet as usize] += duplicates as u64;
    report.eligible_sets = table.len() as u64;
    report.eligible_people = table.distinct_people() as u64;
    report.excluded_sets = judged.tally.by_key();
    Ok((judged.table, judged.report))
}

/// The bad-row share: bad rows over the sets that could have been published.
///
/// Values that do not decode (`undecryptable`, `malformed_value`) are only ever found among the
/// sets of eligible owners, so they count as they are. A set whose owner cannot be judged
/// (`orphan_set`, `unreadable_owner`) is drawn from all owners alike, and would have been
/// publishable only as often as a set of a readable owner is: it counts in that proportion
/// (rounded up). Counting every one of them in full made the share grow with the share of
/// people who did not consent: with 40 % of sets eligible, 0.4 % orphans scattered over the
/// whole table read as 1 % of the publishable sets. A damaged `User` table still shows: with
/// half the owners gone the share is about one half whatever the consent rate, and with no
/// readable owner at all every such set counts in full.
fn bad_row_share(tally: &Tally, max_share: f64) -> BadRows {
    let sum = |keep: fn(Exclusion) -> bool| -> u64 {
        Exclusion::ALL
            .into_iter()
            .filter(|&reason| keep(reason))
            .map(|reason| tally.get(reason))
            .sum()
    };
    fn unjudged_owner(reason: Exclusion) -> bool {
        matches!(reason, Exclusion::OrphanSet | Exclusion::UnreadableOwner)
    }
    let owner_unknown = sum(unjudged_owner);
    let decode_bad = sum(|reason| reason.is_bad_row() && !unjudged_owner(reason));
    // Sets of readable owners: all of them, and those an eligible owner holds.
    let readable_owner = sum(|reason| !unjudged_owner(reason)) + tally.eligible;
    let eligible_owner =
        sum(|reason| !reason.is_about_owner() && !unjudged_owner(reason)) + tally.eligible;
    let owner_unknown_publishable = if readable_owner == 0 {
        owner_unknown
    } else {
        // Exact in integers: ceil(owner_unknown × eligible_owner / readable_owner).
        let product = u128::from(owner_unknown) * u128::from(eligible_owner);
        product.div_ceil(u128::from(readable_owner)) as u64
    };
    let sets = decode_bad + owner_unknown_publishable;
    let of_sets = eligible_owner + owner_unknown_publishable;
    BadRows {
        sets,
        of_sets,
        share: if of_sets == 0 {
            0.0
        } else {
            sets as f64 / of_sets as f64
        },
        max_share,
    }
}

/// "undecryptable 3 (first: Set row 55), …" for every bad-row reason that occurred.
fn bad_row_reasons(
    tally: &Tally,
    first_unreadable_user: Option<u64>,
    names: &SourceDescription,
) -> String {
    Exclusion::ALL
        .into_iter()
        .filter(|&reason| reason.is_bad_row() && tally.get(reason) > 0)
        .map(|reason| {
            let first = match (reason, first_unreadable_user) {
                (Exclusion::UnreadableOwner, Some(row)) => format!("{} {row}", names.person_row),
                _ => format!(
                    "{} {}",
                    names.set_row,
                    tally.first_row[reason as usize].expect("counted sets have a first row")
                ),
            };
            format!("{} {} (first: {first})", reason.key(), tally.get(reason))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tells the publisher which bad rows were left out (counts and row ordinals only).
fn log_bad_rows(tally: &Tally, first_unreadable_user: Option<u64>, names: &SourceDescription) {
    let reasons = bad_row_reasons(tally, first_unreadable_user, names);
    if !reasons.is_empty() {
        tracing::warn!("left out sets that cannot be read: {reasons}");
    }
}

/// `User` rows by owner reason; unreadable rows are counted by the reader (duplicate ids collapse
/// into one entry of the map but are every one a row).
fn excluded_users(
    verdicts: &FastMap<i64, Result<(), Exclusion>>,
    unreadable_rows: u64,
) -> ReasonCounts {
    let mut users = ReasonCounts::new();
    for reason in verdicts.values().filter_map(|verdict| verdict.err()) {
        if reason != Exclusion::UnreadableOwner {
            *users.entry(reason.key().into()).or_default() += 1;
        }
    }
    if unreadable_rows > 0 {
        users.insert(Exclusion::UnreadableOwner.key().into(), unreadable_rows);
    }
    users
}

/// Consecutive failed decryptions, before any value opened, that mark the key as wrong.
const WRONG_KEY_PROBES: u32 = 64;

/// Recognises a wrong key, so that it is reported as one (exit 2) and not turned into a release
/// of the few sets that happen not to need decrypting.
///
/// A wrong key fails every envelope with bad padding or non-UTF-8 output; the right key opens
/// nearly all. So the key is wrong when the first [`WRONG_KEY_PROBES`] envelopes tried all fail
/// that way, or when no envelope opens at all while some failed that way. Once one value opens,
/// later failures are bad rows. Failures no key could cause (an unencrypted value, bad hex) say
/// nothing about the key and are not counted.
#[derive(Debug, Default)]
struct KeyCheck {
    opened_any: bool,
    failures: u32,
    /// Set row and reason of the first failure, for the message.
    first_failure: Option<(u64, DecryptError)>,
}

impl KeyCheck {
    /// Records the decryption of the set at `ordinal`; an error once the key is known to be
    /// wrong.
    fn observe(&mut self, decryption: &Decryption, ordinal: u64, path: &Path) -> Result<()> {
        match decryption {
            Decryption::Opened => self.opened_any = true,
            Decryption::Failed(problem) if problem.suggests_wrong_key() && !self.opened_any => {
                self.failures += 1;
                self.first_failure.get_or_insert((ordinal, problem.clone()));
                if self.failures >= WRONG_KEY_PROBES {
                    return Err(self.wrong_key(path));
                }
            }
            Decryption::Failed(_) | Decryption::NotTried => {}
        }
        Ok(())
    }

    /// After every set: an error when nothing opened but something failed as a wrong key would.
    fn finish(&self, path: &Path) -> Result<()> {
        match self.first_failure {
            Some(_) if !self.opened_any => Err(self.wrong_key(path)),
            _ => Ok(()),
        }
    }

    fn wrong_key(&self, path: &Path) -> Error {
        let (ordinal, problem) = self
            .first_failure
            .clone()
            .expect("a wrong key is only reported after a failure");
        Error::WrongKey {
            path: path.into(),
            detail: format!(
                "none of the {} encrypted values tried opens; the first is Set row {ordinal}: \
                 {problem}",
                self.failures
            ),
        }
    }
}

/// What judging every chunk produced.
struct Judged {
    table: MeasurementTable,
    report: SelectionReport,
    tally: Tally,
    /// Time spent decrypting and judging, without waiting for chunks.
    busy: Duration,
}

/// Decodes and judges chunks of stored sets; shared read-only with the rayon pool.
struct ChunkJudge<'a, S> {
    verdicts: &'a FastMap<i64, Result<(), Exclusion>>,
    decoder: &'a dyn Decode<S>,
    catalog: &'a Catalog,
    path: &'a Path,
}

impl<S: StoredSet> ChunkJudge<'_, S> {
    /// Judges chunks in the order they arrive until the sender closes, or stops as soon as the
    /// key is known to be wrong.
    fn all(&self, chunks: Receiver<Vec<S>>, progress: &dyn Progress) -> Result<Judged> {
        let path = self.path;
        let mut judged = Judged {
            table: MeasurementTable::new(self.catalog.names().to_vec()),
            report: SelectionReport::default(),
            tally: Tally::default(),
            busy: Duration::ZERO,
        };
        let mut person_of_user: FastMap<i64, u32> = FastMap::default();
        let mut key_check = KeyCheck::default();
        for chunk in chunks {
            let started = Instant::now();
            judged.report.sets_in_database += chunk.len() as u64;
            let outcomes: Vec<SetOutcome> = chunk.par_iter().map(|row| self.judge(row)).collect();
            for (row, outcome) in chunk.iter().zip(outcomes) {
                match outcome {
                    SetOutcome::Eligible { owner, measies } => {
                        key_check.observe(&Decryption::Opened, row.ordinal(), path)?;
                        judged.tally.eligible += 1;
                        judged.report.unknown_measurements_dropped +=
                            u64::from(measies.unknown_names);
                        let next = person_of_user.len() as u32;
                        let person = *person_of_user.entry(owner).or_insert(next);
                        judged.table.push(person, &measies.values);
                    }
                    SetOutcome::Excluded { reason, decryption } => {
                        key_check.observe(&decryption, row.ordinal(), path)?;
                        judged.tally.count(reason, row.ordinal());
                    }
                }
            }
            progress.advance(chunk.len() as u64);
            judged.busy += started.elapsed();
        }
        key_check.finish(path)?;
        let mut owner_keys = vec![0; person_of_user.len()];
        for (key, person) in person_of_user {
            owner_keys[person as usize] = key;
        }
        judged.table.set_owner_keys(owner_keys);
        Ok(judged)
    }

    /// Judges one stored set: its owner first (a set of an ineligible owner is never decoded),
    /// then whether it is public, then its values.
    ///
    /// **Public sets are left out.** FreeSewing serves a public set's exact values to anyone, so
    /// an attacker knows them. Placed in a group, they are known members: the group's mean minus
    /// their share leaves the others' values behind, and with 20 % of sets public more than half
    /// of private people sat in groups with fewer than k unknown members (the rebuilding attacks'
    /// measurement). Leaving them out makes every group of k consist of sets nobody outside
    /// knows, and costs their owners nothing: their values are published already.
    fn judge(&self, set: &S) -> SetOutcome {
        let excluded = |reason, decryption| SetOutcome::Excluded { reason, decryption };
        let owner = set
            .owner()
            .and_then(|key| Some((key, self.verdicts.get(&key)?)));
        let Some((owner, verdict)) = owner else {
            return excluded(Exclusion::OrphanSet, Decryption::NotTried);
        };
        if let Err(reason) = verdict {
            return excluded(*reason, Decryption::NotTried);
        }
        if set.is_public() {
            return excluded(Exclusion::PublicSet, Decryption::NotTried);
        }
        let measies = match self.decoder.decode(set, self.catalog) {
            Ok(measies) => measies,
            Err(DecodeFailure::Empty) => {
                return excluded(Exclusion::NoMeasurements, Decryption::NotTried)
            }
            Err(DecodeFailure::Undecryptable(None)) => {
                return excluded(Exclusion::Undecryptable, Decryption::NotTried)
            }
            Err(DecodeFailure::Undecryptable(Some(problem))) => {
                return excluded(Exclusion::Undecryptable, Decryption::Failed(problem))
            }
            Err(DecodeFailure::Malformed) => {
                return excluded(Exclusion::MalformedValue, Decryption::Opened)
            }
        };
        match judge_values(&measies.values, self.catalog) {
            Ok(()) => SetOutcome::Eligible { owner, measies },
            Err(reason) => excluded(reason, Decryption::Opened),
        }
    }
}

/// What happened to one set row.
enum SetOutcome {
    Eligible {
        owner: i64,
        measies: Measies,
    },
    Excluded {
        reason: Exclusion,
        decryption: Decryption,
    },
}

/// Whether the key was tried on a set, and with what result (for [`KeyCheck`]).
enum Decryption {
    NotTried,
    Opened,
    Failed(DecryptError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_counts_list_every_set_reason_and_the_owner_reasons_for_accounts() {
        let mut report = SelectionReport::default();
        report
            .excluded_sets
            .insert(Exclusion::PublicSet.key().into(), 4);
        report
            .excluded_users
            .insert(Exclusion::AccountNotActive.key().into(), 2);
        let counts = report.exclusion_counts();
        assert_eq!(
            counts.sets.iter().map(|&(r, _)| r).collect::<Vec<_>>(),
            Exclusion::ALL
        );
        assert!(counts.sets.contains(&(Exclusion::PublicSet, 4)));
        assert_eq!(counts.sets.iter().map(|&(_, n)| n).sum::<u64>(), 4);
        assert_eq!(
            counts.accounts,
            [
                (Exclusion::NoOpenDataConsent, 0),
                (Exclusion::AccountNotActive, 2),
                (Exclusion::OutsideRetentionWindow, 0),
                (Exclusion::AccountTooNew, 0),
                (Exclusion::UnreadableOwner, 0),
            ]
        );
    }

    fn policy() -> SelectionPolicy {
        SelectionPolicy {
            as_of: Date::parse("2026-06-30").unwrap(),
            retention_months: 12,
            min_account_age_days: 0,
            max_malformed_share: 0.01,
        }
    }

    fn user(consent: i64, status: i64, seen: &str) -> PersonFacts {
        crate::extract::freesewing_v3::user_facts(
            consent,
            status,
            Date::parse(seen).map(Date::start_ms),
            Date::parse("2020-01-01").map(Date::start_ms),
        )
    }

    #[test]
    fn users_are_judged_by_consent_status_and_retention() {
        let p = policy();
        assert_eq!(judge_person(&user(3, 1, "2026-01-01"), &p), Ok(()));
        assert_eq!(judge_person(&user(3, 1, "2025-06-30"), &p), Ok(()));
        assert_eq!(
            judge_person(&user(3, 1, "2025-06-29"), &p),
            Err(Exclusion::OutsideRetentionWindow)
        );
        assert_eq!(
            judge_person(&user(2, 1, "2026-01-01"), &p),
            Err(Exclusion::NoOpenDataConsent)
        );
        assert_eq!(
            judge_person(&user(3, 0, "2026-01-01"), &p),
            Err(Exclusion::AccountNotActive)
        );
        assert_eq!(
            judge_person(&user(3, -2, "2026-01-01"), &p),
            Err(Exclusion::AccountNotActive)
        );
        let never_seen = PersonFacts {
            last_seen_ms: None,
            ..user(3, 1, "2026-01-01")
        };
        assert_eq!(
            judge_person(&never_seen, &p),
            Err(Exclusion::OutsideRetentionWindow)
        );
    }

    #[test]
    fn a_minimum_account_age_leaves_out_new_and_undated_accounts() {
        let p = SelectionPolicy {
            min_account_age_days: 30,
            ..policy()
        };
        let created = |day: &str| PersonFacts {
            created_ms: Date::parse(day).map(Date::start_ms),
            ..user(3, 1, "2026-06-01")
        };
        assert_eq!(judge_person(&created("2026-05-31"), &p), Ok(()));
        assert_eq!(
            judge_person(&created("2026-06-01"), &p),
            Err(Exclusion::AccountTooNew)
        );
        assert_eq!(
            judge_person(&created("never"), &p),
            Err(Exclusion::AccountTooNew)
        );
        assert_eq!(judge_person(&created("never"), &policy()), Ok(()));
    }

    #[test]
    fn junk_values_are_implausible() {
        let catalog = Catalog::freesewing();
        let chest = catalog.index_of("chest").unwrap();
        let mut values = vec![f64::NAN; catalog.len()];
        assert_eq!(
            judge_values(&values, &catalog),
            Err(Exclusion::NoMeasurements)
        );
        for junk in [
            0.0,
            -5.0,
            96.0, /* cm */
            37.8, /* inches */
            1e9,
            f64::INFINITY,
        ] {
            values[chest] = junk;
            assert_eq!(
                judge_values(&values, &catalog),
                Err(Exclusion::ImplausibleValue),
                "{junk}"
            );
        }
        values[chest] = 960.0;
        assert_eq!(judge_values(&values, &catalog), Ok(()));
    }

    #[test]
    fn reasons_are_listed_in_declaration_order() {
        // `Tally` indexes its arrays by discriminant.
        for (index, reason) in Exclusion::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, index, "{reason:?}");
        }
        let bad: Vec<&str> = Exclusion::ALL
            .into_iter()
            .filter(|r| r.is_bad_row())
            .map(Exclusion::key)
            .collect();
        assert_eq!(
            bad,
            [
                "unreadable_owner",
                "orphan_set",
                "undecryptable",
                "malformed_value"
            ]
        );
    }

    #[test]
    fn the_bad_row_share_counts_bad_rows_against_sets_that_could_be_published() {
        let mut tally = Tally::default();
        for (reason, n) in [
            (Exclusion::NoOpenDataConsent, 50),
            (Exclusion::OutsideRetentionWindow, 30),
            (Exclusion::UnreadableOwner, 2),
            (Exclusion::OrphanSet, 1),
            (Exclusion::NoMeasurements, 5),
            (Exclusion::Undecryptable, 3),
            (Exclusion::ImplausibleValue, 4),
        ] {
            for ordinal in 0..n {
                tally.count(reason, 100 + ordinal);
            }
        }
        tally.eligible = 85;
        let share = bad_row_share(&tally, 0.01);
        // 97 of the 177 sets of readable owners are eligible: the 3 sets without a readable
        // owner count as ceil(3 × 97 / 177) = 2.
        assert_eq!((share.sets, share.of_sets), (3 + 2, 97 + 2));
        assert_eq!(share.share, 5.0 / 99.0);
        assert_eq!(
            bad_row_reasons(
                &tally,
                Some(9),
                &SourceDescription {
                    kind: "test",
                    title: "a test source",
                    container: "database",
                    eligibility: String::new(),
                    person_row: "User row",
                    set_row: "Set row",
                }
            ),
            "unreadable_owner 2 (first: User row 9), orphan_set 1 (first: Set row 100), \
             undecryptable 3 (first: Set row 100)"
        );
        assert_eq!(bad_row_share(&Tally::default(), 0.01).share, 0.0);
    }

    #[test]
    fn orphans_count_in_proportion_to_the_eligible_share_but_a_lost_user_table_still_shows() {
        let tally = |consenting: u64, refusing: u64, orphans: u64| {
            let mut tally = Tally::default();
            for ordinal in 0..refusing {
                tally.count(Exclusion::NoOpenDataConsent, ordinal);
            }
            for ordinal in 0..orphans {
                tally.count(Exclusion::OrphanSet, ordinal);
            }
            tally.eligible = consenting;
            bad_row_share(&tally, 0.01)
        };
        // 0.5 % orphans everywhere: the same share whether 80 % or 20 % of people consent.
        let many = tally(7960, 1990, 50);
        let few = tally(1990, 7960, 50);
        assert!((many.share - 0.005).abs() < 0.0005, "{many:?}");
        assert!((few.share - 0.005).abs() < 0.0010, "{few:?}");
        // Half the owners gone: about half, at any consent rate.
        assert!(tally(1000, 4000, 5000).share > 0.45);
        // No readable owner at all: every orphan counts.
        let lost = tally(0, 0, 10);
        assert_eq!((lost.sets, lost.of_sets, lost.share), (10, 10, 1.0));
    }

    #[test]
    fn a_wrong_key_is_recognised_but_bad_rows_after_an_opened_value_are_not_one() {
        let path = Path::new("db.sqlite");
        let mut check = KeyCheck::default();
        for ordinal in 1..WRONG_KEY_PROBES as u64 {
            check
                .observe(&Decryption::Failed(DecryptError::Padding), ordinal, path)
                .unwrap();
            // Failures no key could cause do not count.
            check
                .observe(&Decryption::Failed(DecryptError::BadHex), ordinal, path)
                .unwrap();
        }
        let error = check
            .observe(&Decryption::Failed(DecryptError::NotJson), 99, path)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("none of the 64 encrypted values tried opens")
                && error.contains("the first is Set row 1: bad padding"),
            "{error}"
        );

        let mut few = KeyCheck::default();
        few.observe(&Decryption::Failed(DecryptError::Padding), 1, path)
            .unwrap();
        assert!(
            few.finish(path).is_err(),
            "nothing opened, something failed"
        );

        let mut right = KeyCheck::default();
        right
            .observe(&Decryption::Failed(DecryptError::Padding), 1, path)
            .unwrap();
        right.observe(&Decryption::Opened, 2, path).unwrap();
        for ordinal in 3..200 {
            right
                .observe(&Decryption::Failed(DecryptError::Padding), ordinal, path)
                .unwrap();
        }
        right.finish(path).unwrap();
        KeyCheck::default().finish(path).unwrap();
    }
}
