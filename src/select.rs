//! Selection: which measurements sets may enter the open dataset, and why the others may not.
//!
//! A set is eligible when its owner consented to open data (consent ≥ 3), the account is active
//! (status 1), the owner was seen within the retention window before the release date, and every
//! value in it is plausible. Users are judged before any set is decrypted: sets of ineligible
//! users are never decrypted at all. Every exclusion is counted by reason for the report.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::Serialize;

use crate::dates::Date;
use crate::error::{Error, Result};
use crate::extract::crypto::FieldKey;
use crate::extract::freesewing_v3::{SetRow, UserRow, V3Database};
use crate::fast_hash::FastMap;
use crate::measurements::{parse_measies, Catalog, Measies};
use crate::table::MeasurementTable;
use crate::timings::Timings;

/// The consent level that includes "share anonymized measurements as open data".
pub const OPEN_DATA_CONSENT: i64 = 3;
/// `User.status` of an active account.
pub const ACTIVE_STATUS: i64 = 1;

/// Who may be published, decided once from the release config.
#[derive(Debug, Clone, Copy)]
pub struct SelectionPolicy {
    pub as_of: Date,
    /// Sets of people not seen for longer than this many months are not published.
    pub retention_months: u32,
}

/// Why a set was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// The owner did not consent to open data (consent < 3).
    NoOpenDataConsent,
    /// The owner's account is not active (status ≠ 1).
    AccountNotActive,
    /// The owner was not seen within the retention window (or never).
    OutsideRetentionWindow,
    /// The set has no known measurement.
    NoMeasurements,
    /// A value is outside its plausible range: a doll, a giant, cm or inches, zeros.
    ImplausibleValue,
    /// The same user owns another set with exactly the same values.
    DuplicateOfOwnSet,
}

impl Exclusion {
    /// Every reason, in the order reports list them.
    pub const ALL: [Exclusion; 6] = [
        Exclusion::NoOpenDataConsent,
        Exclusion::AccountNotActive,
        Exclusion::OutsideRetentionWindow,
        Exclusion::NoMeasurements,
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
            Exclusion::NoMeasurements => "the set holds no known measurement",
            Exclusion::ImplausibleValue => {
                "a value lies outside its plausible range (doll or giant scale, cm or inches, zero)"
            }
            Exclusion::DuplicateOfOwnSet => "an exact copy of another set of the same owner",
        }
    }

    /// The key used in `report.json`.
    pub fn key(self) -> &'static str {
        match self {
            Exclusion::NoOpenDataConsent => "no_open_data_consent",
            Exclusion::AccountNotActive => "account_not_active",
            Exclusion::OutsideRetentionWindow => "outside_retention_window",
            Exclusion::NoMeasurements => "no_measurements",
            Exclusion::ImplausibleValue => "implausible_value",
            Exclusion::DuplicateOfOwnSet => "duplicate_of_own_set",
        }
    }
}

/// Counts of what selection saw and left out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SelectionReport {
    pub users_in_database: u64,
    pub sets_in_database: u64,
    pub eligible_sets: u64,
    pub eligible_people: u64,
    /// Sets left out, by reason.
    pub excluded_sets: BTreeMap<&'static str, u64>,
    /// Values under names that are not FreeSewing measurements (dropped, as the backend does).
    pub unknown_measurements_dropped: u64,
}

/// Judges a user without looking at any of their sets.
pub fn judge_user(user: &UserRow, policy: &SelectionPolicy) -> Result<(), Exclusion> {
    if user.consent < OPEN_DATA_CONSENT {
        return Err(Exclusion::NoOpenDataConsent);
    }
    if user.status != ACTIVE_STATUS {
        return Err(Exclusion::AccountNotActive);
    }
    let window_start = policy
        .as_of
        .months_before(policy.retention_months)
        .start_ms();
    match user.last_seen_ms {
        Some(seen) if seen >= window_start => Ok(()),
        _ => Err(Exclusion::OutsideRetentionWindow),
    }
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

/// Reads a v3 database and returns the eligible sets as a table, one row per set, with the
/// owner of each row as a dense person number (never published). `progress` advances by one per
/// set judged.
///
/// Reading and decrypting overlap: this thread steps SQLite through the `Set` table while a
/// second thread decrypts and judges the previous chunk on the rayon pool. At most two chunks of
/// ciphertext are in flight, so memory does not grow with the database.
pub fn select_v3(
    database: &V3Database,
    key: &FieldKey,
    policy: &SelectionPolicy,
    catalog: &Catalog,
    progress: &ProgressBar,
    timings: &mut Timings,
) -> Result<(MeasurementTable, SelectionReport)> {
    let users = timings.time("read-users", || database.users())?;
    let verdicts: FastMap<i64, Result<(), Exclusion>> = users
        .iter()
        .map(|(id, user)| (*id, judge_user(user, policy)))
        .collect();
    let judge = ChunkJudge {
        verdicts: &verdicts,
        key,
        catalog,
        path: database.path(),
    };
    let (chunks, received) = std::sync::mpsc::sync_channel::<Vec<SetRow>>(1);
    let (read, judged) = std::thread::scope(|scope| {
        let judging = scope.spawn(|| judge.all(received, progress));
        let started = Instant::now();
        let mut waiting = Duration::ZERO;
        // A failed send means the judge stopped at a bad row; its error is the one to report.
        let read = database.for_each_set_chunk(SET_CHUNK, |chunk| {
            let handed_over = Instant::now();
            let sent = chunks.send(chunk).is_ok();
            waiting += handed_over.elapsed();
            sent
        });
        drop(chunks);
        timings.record("read-sets", started.elapsed().saturating_sub(waiting));
        let judged = judging.join().expect("the judging thread does not panic");
        (read, judged)
    });
    let mut judged = judged?;
    read?;
    timings.record("decrypt", judged.busy);

    let (table, report) = (&mut judged.table, &mut judged.report);
    report.users_in_database = users.len() as u64;
    let duplicates = timings.time("dedupe", || table.remove_duplicates_within_person());
    if duplicates > 0 {
        *judged
            .exclusions
            .entry(Exclusion::DuplicateOfOwnSet)
            .or_default() += duplicates as u64;
    }
    report.eligible_sets = table.len() as u64;
    report.eligible_people = table.distinct_people() as u64;
    report.excluded_sets = std::mem::take(&mut judged.exclusions)
        .into_iter()
        .map(|(reason, n)| (reason.key(), n))
        .collect();
    Ok((judged.table, judged.report))
}

/// What judging every chunk produced.
struct Judged {
    table: MeasurementTable,
    report: SelectionReport,
    exclusions: BTreeMap<Exclusion, u64>,
    /// Time spent decrypting and judging, without waiting for chunks.
    busy: Duration,
}

/// Decrypts and judges chunks of set rows; shared read-only with the rayon pool.
struct ChunkJudge<'a> {
    verdicts: &'a FastMap<i64, Result<(), Exclusion>>,
    key: &'a FieldKey,
    catalog: &'a Catalog,
    path: &'a Path,
}

impl ChunkJudge<'_> {
    /// Judges chunks in the order they arrive until the sender closes, or stops at the first row
    /// that makes the database unusable.
    fn all(&self, chunks: Receiver<Vec<SetRow>>, progress: &ProgressBar) -> Result<Judged> {
        let mut judged = Judged {
            table: MeasurementTable::new(self.catalog.names().to_vec()),
            report: SelectionReport::default(),
            exclusions: BTreeMap::new(),
            busy: Duration::ZERO,
        };
        let mut person_of_user: FastMap<i64, u32> = FastMap::default();
        let mut decrypted_any = false;
        for chunk in chunks {
            let started = Instant::now();
            judged.report.sets_in_database += chunk.len() as u64;
            let outcomes: Vec<SetOutcome> = chunk
                .par_iter()
                .map(|row| judge_set_row(row, self.verdicts, self.key, self.catalog))
                .collect();
            for (row, outcome) in chunk.iter().zip(outcomes) {
                match outcome {
                    SetOutcome::Eligible(measies) => {
                        decrypted_any = true;
                        judged.report.unknown_measurements_dropped +=
                            u64::from(measies.unknown_names);
                        let next = person_of_user.len() as u32;
                        let person = *person_of_user.entry(row.user_id).or_insert(next);
                        judged.table.push(person, &measies.values);
                    }
                    SetOutcome::Excluded { reason, decrypted } => {
                        decrypted_any |= decrypted;
                        *judged.exclusions.entry(reason).or_default() += 1;
                    }
                    SetOutcome::Orphan => {
                        return Err(self.row_error(row, "its `userId` matches no user".into()));
                    }
                    SetOutcome::Undecryptable(problem)
                        if problem.suggests_wrong_key() && !decrypted_any =>
                    {
                        return Err(Error::WrongKey {
                            path: self.path.into(),
                            detail: format!("Set row {}: {problem}", row.ordinal),
                        });
                    }
                    SetOutcome::Undecryptable(problem) => {
                        return Err(self
                            .row_error(row, format!("`measies` cannot be decrypted: {problem}")));
                    }
                    SetOutcome::Malformed(problem) => {
                        return Err(self.row_error(row, format!("decrypted `measies`: {problem}")));
                    }
                }
            }
            progress.inc(chunk.len() as u64);
            judged.busy += started.elapsed();
        }
        Ok(judged)
    }

    fn row_error(&self, row: &SetRow, problem: String) -> Error {
        Error::Database {
            path: self.path.into(),
            table: "Set",
            row: Some(row.ordinal),
            problem,
        }
    }
}

/// What happened to one set row.
enum SetOutcome {
    Eligible(Measies),
    Excluded { reason: Exclusion, decrypted: bool },
    Orphan,
    Undecryptable(crate::extract::crypto::DecryptError),
    Malformed(crate::measurements::MeasiesError),
}

fn judge_set_row(
    row: &SetRow,
    verdicts: &FastMap<i64, Result<(), Exclusion>>,
    key: &FieldKey,
    catalog: &Catalog,
) -> SetOutcome {
    match verdicts.get(&row.user_id) {
        None => return SetOutcome::Orphan,
        Some(Err(reason)) => {
            return SetOutcome::Excluded {
                reason: *reason,
                decrypted: false,
            }
        }
        Some(Ok(())) => {}
    }
    let Some(stored) = &row.measies else {
        return SetOutcome::Excluded {
            reason: Exclusion::NoMeasurements,
            decrypted: false,
        };
    };
    let plaintext = match key.decrypt(stored) {
        Ok(plaintext) => plaintext,
        Err(problem) => return SetOutcome::Undecryptable(problem),
    };
    let measies = match parse_measies(&plaintext, catalog) {
        Ok(measies) => measies,
        Err(problem) => return SetOutcome::Malformed(problem),
    };
    match judge_values(&measies.values, catalog) {
        Ok(()) => SetOutcome::Eligible(measies),
        Err(reason) => SetOutcome::Excluded {
            reason,
            decrypted: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SelectionPolicy {
        SelectionPolicy {
            as_of: Date::parse("2026-06-30").unwrap(),
            retention_months: 12,
        }
    }

    fn user(consent: i64, status: i64, seen: &str) -> UserRow {
        UserRow {
            consent,
            status,
            last_seen_ms: Date::parse(seen).map(Date::start_ms),
        }
    }

    #[test]
    fn users_are_judged_by_consent_status_and_retention() {
        let p = policy();
        assert_eq!(judge_user(&user(3, 1, "2026-01-01"), &p), Ok(()));
        assert_eq!(judge_user(&user(3, 1, "2025-06-30"), &p), Ok(()));
        assert_eq!(
            judge_user(&user(3, 1, "2025-06-29"), &p),
            Err(Exclusion::OutsideRetentionWindow)
        );
        assert_eq!(
            judge_user(&user(2, 1, "2026-01-01"), &p),
            Err(Exclusion::NoOpenDataConsent)
        );
        assert_eq!(
            judge_user(&user(3, 0, "2026-01-01"), &p),
            Err(Exclusion::AccountNotActive)
        );
        assert_eq!(
            judge_user(&user(3, -2, "2026-01-01"), &p),
            Err(Exclusion::AccountNotActive)
        );
        let never_seen = UserRow {
            last_seen_ms: None,
            ..user(3, 1, "2026-01-01")
        };
        assert_eq!(
            judge_user(&never_seen, &p),
            Err(Exclusion::OutsideRetentionWindow)
        );
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
}
