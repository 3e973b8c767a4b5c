//! The data holder's private release ledger: what the next release needs to know about the earlier
//! ones (the privacy budget spent so far; the group membership of the latest release and, for a
//! source without an encryption key, the key of the group noise).
//!
//! **Why.** Every DP release of the same people spends budget, and the guarantees add up: k
//! releases at (εᵢ, δᵢ) are together (Σεᵢ, Σδᵢ)-DP (basic composition, Dwork & Roth 2014,
//! Theorem 3.16, which holds whatever the releases are and however they were chosen). The ledger
//! keeps that sum, so `publish` can refuse a release that would take the people's total past a
//! lifetime budget. Basic composition is conservative (zCDP would add the ρ instead, which is
//! tighter) but needs nothing beyond the recorded (ε, δ) and is easy to check by hand.
//!
//! **Where.** The ledger describes releases, not people, but it is the data holder's record (like
//! the internal report): a JSON file, mode 0600, kept outside the release directory. Each update
//! writes a temporary file beside it, syncs it and renames it over the old one, so a crash leaves
//! either the old or the new ledger, never half of one.
//!
//! **Never losing a spend.** Two rules keep the recorded ε at or above what was published:
//! - *One run at a time* ([`LedgerLock`]): a run that will update the ledger holds an exclusive
//!   advisory lock (`flock`) on a lock file beside it (`<ledger>.lock`, never deleted, so every run
//!   locks the same inode) from before it reads the ledger until after its last write. A second
//!   run waits, then reads the first one's spend and checks its lifetime budget against it: two
//!   runs started together either both record, or the second is refused by the budget. The lock
//!   dies with its process, so a crashed run never blocks the next one.
//! - *Write-ahead* ([`Ledger::write_ahead`]): a release's spend is written, as a `pending` entry
//!   naming the release directory and the SHA-256 of its chart, before the release is moved into
//!   place; only then is the release committed and the entry marked `committed`. A run that dies
//!   or fails in between leaves an entry that still counts: an over-count, never an under-count.
//!   The next run reconciles it ([`Ledger::reconcile`]): the chart found where the entry says, with
//!   the recorded digest, confirms it; otherwise the entry is kept, counted, as `unconfirmed` (the
//!   release may have been moved; only the data holder can know it never appeared and remove the
//!   entry by hand).
//!
//! **Group membership** (against differencing two releases). Two releases of group means that differ by one person give
//! that person away ([`crate::risk::differencing`]). To check the next release against this
//! one, the ledger keeps who was in which group ([`GroupMembership`]), each member by a keyed
//! digest of their set: the next `publish` finds who joined (or edited a set) since, and
//! simulates the attack on them. Only the latest release's membership is kept: the attacker's
//! best pair of releases for a person who changed is the last one before the change and the
//! first one after it. The digests are keyed, but they still describe people: the ledger is as
//! private as the database.
//!
//! **Group-noise key.** The keyed group noise ([`crate::anonymize::group_noise`]) must draw the
//! same noise for the same group in every release, so its key must outlive a release. A source
//! with an encryption key derives it from that key; a source without one (a CSV table) gets a
//! key drawn once from the operating system's generator and kept here, never anywhere else.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// One release's spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// What the data holder calls the release (for example its version or directory name).
    pub release: String,
    /// The release's `--as-of` date.
    pub as_of: String,
    /// The ε the release spent.
    pub epsilon: f64,
    /// The δ the release spent.
    pub delta: f64,
    /// Whether the release is known to have appeared (absent in ledgers written before the
    /// write-ahead rule, whose entries were all written after their release: `committed`).
    #[serde(default, skip_serializing_if = "EntryStatus::is_committed")]
    pub status: EntryStatus,
    /// The release directory a `pending` entry's release was being moved into, for
    /// [`Ledger::reconcile`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<String>,
    /// SHA-256 (hex) of the release's `sizechart.csv`, which tells that release apart from any
    /// other in the same directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart_sha256: Option<String>,
}

/// Whether a ledger entry's release is known to have appeared. Every status counts towards the
/// spent budget: a spend is only ever over-counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryStatus {
    /// The release was moved into place after the entry was written.
    #[default]
    Committed,
    /// Written ahead of the release's commit; the run has not (yet) confirmed the commit.
    Pending,
    /// A pending entry whose release a later run did not find where it was written: kept and
    /// counted, since the release may have appeared and been moved since.
    Unconfirmed,
}

impl EntryStatus {
    fn is_committed(&self) -> bool {
        *self == EntryStatus::Committed
    }
}

/// The name of the environment variable that makes `publish` abort right after writing its
/// spend ahead and before committing the release. **Test-only**: it exists so that the
/// integration tests can show that a run killed at the worst moment leaves an over-count; it
/// changes nothing unless set, and no user has a reason to set it.
pub const TEST_ABORT_AFTER_WRITE_AHEAD: &str = "ANONPUB_TEST_ABORT_AFTER_WRITE_AHEAD";

/// Aborts the process (as a kill would, without unwinding or cleanup) when
/// [`TEST_ABORT_AFTER_WRITE_AHEAD`] is set; see there.
pub fn test_abort_point() {
    if std::env::var_os(TEST_ABORT_AFTER_WRITE_AHEAD).is_some() {
        std::process::abort();
    }
}

/// An exclusive lock on a ledger, held until dropped (see the module documentation).
#[derive(Debug)]
pub struct LedgerLock {
    _file: fs::File,
}

impl LedgerLock {
    /// Takes the lock of the ledger at `path`, waiting for another run that holds it.
    pub fn acquire(path: &Path) -> Result<Self> {
        let lock_path = lock_path(path)?;
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| Error::io("open the lock of privacy ledger", &lock_path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                tracing::info!(
                    "privacy ledger {} is in use by another run: waiting for it",
                    path.display()
                );
                file.lock()
                    .map_err(|e| Error::io("lock privacy ledger", &lock_path, e))?;
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::io("lock privacy ledger", &lock_path, e))
            }
        }
        Ok(LedgerLock { _file: file })
    }
}

/// `<ledger>.lock` beside the ledger.
fn lock_path(path: &Path) -> Result<PathBuf> {
    let file_name = path.file_name().ok_or_else(|| Error::InvalidArgument {
        name: "privacy ledger",
        problem: "must name a file".into(),
    })?;
    Ok(path.with_file_name(format!("{}.lock", file_name.to_string_lossy())))
}

/// The ledger file's contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// Every recorded release, oldest first.
    pub releases: Vec<LedgerEntry>,
    /// Who was in which group of the latest release that recorded it (absent in ledgers written
    /// before the multi-release defences, and until a release records it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<GroupMembership>,
    /// Hex of the group-noise key of a source without an encryption key (see the module
    /// documentation); absent until such a source first needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_noise_key: Option<String>,
}

/// Label of the key of [`GroupMembership::set_key`]; a new label means new keys.
pub const MEMBERSHIP_LABEL: &str = "anonpub/ledger-membership/v1";

/// The groups of one release, by member key: what the next release's differencing check needs
/// ([`crate::risk::attacks`]). `publish` keys members by their set ([`GroupMembership::set_key`]),
/// because selection numbers people afresh in every release.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMembership {
    /// The release (as in [`LedgerEntry::release`]) this is the membership of.
    pub release: String,
    /// Each released group's member keys, sorted, without repeats; groups in ascending order.
    pub groups: Vec<Vec<u64>>,
}

impl GroupMembership {
    /// The membership of a release: `group[r]` is the group of released row `r` and
    /// `person_key[r]` the key of the member it came from.
    pub fn of(release: &str, group: &[usize], person_key: &[u64]) -> Self {
        assert_eq!(group.len(), person_key.len(), "one person per released row");
        let count = group.iter().max().map_or(0, |g| g + 1);
        let mut groups: Vec<Vec<u64>> = vec![Vec::new(); count];
        for (&g, &key) in group.iter().zip(person_key) {
            groups[g].push(key);
        }
        for members in &mut groups {
            members.sort_unstable();
            members.dedup();
        }
        groups.retain(|members| !members.is_empty());
        groups.sort_unstable();
        GroupMembership {
            release: release.into(),
            groups,
        }
    }

    /// The key of a member set in [`GroupMembership::groups`]: the first 8 bytes of
    /// HMAC-SHA256, under `key` (derived with [`MEMBERSHIP_LABEL`]), of the set's values (NaN
    /// for a missing one). A set keeps its key across releases as long as it is not edited, and
    /// an edit is, for differencing, a leave and a join; keyed, so the ledger does not let
    /// anyone who holds it confirm a guessed set.
    pub fn set_key(key: &[u8; 32], values: &[f64]) -> u64 {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
            .expect("HMAC takes keys of any length");
        for value in values {
            let bits = if value.is_nan() {
                u64::MAX
            } else {
                value.to_bits()
            };
            mac.update(&bits.to_le_bytes());
        }
        let digest = mac.finalize().into_bytes();
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }

    /// Every member key of the release, sorted.
    pub fn people(&self) -> Vec<u64> {
        let mut people: Vec<u64> = self.groups.iter().flatten().copied().collect();
        people.sort_unstable();
        people.dedup();
        people
    }
}

impl Ledger {
    /// Reads a ledger; a missing file is an empty ledger (the first release).
    pub fn read(path: &Path) -> Result<Self> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ledger::default()),
            Err(e) => return Err(Error::io("read privacy ledger", path, e)),
        };
        let ledger: Ledger = serde_json::from_str(&text).map_err(|e| {
            Error::bad_file(
                path,
                Some(format!("line {}", e.line())),
                format!("not a privacy ledger: {e}"),
            )
        })?;
        for (row, entry) in ledger.releases.iter().enumerate() {
            let valid = entry.epsilon.is_finite()
                && entry.epsilon >= 0.0
                && (0.0..1.0).contains(&entry.delta);
            if !valid {
                return Err(Error::bad_file(
                    path,
                    Some(format!("release {}", row + 1)),
                    "epsilon must be a non-negative number and delta lie in [0, 1)",
                ));
            }
        }
        Ok(ledger)
    }

    /// ε spent so far (basic composition: the sum).
    pub fn spent_epsilon(&self) -> f64 {
        self.releases.iter().map(|r| r.epsilon).sum()
    }

    /// δ spent so far (the sum).
    pub fn spent_delta(&self) -> f64 {
        self.releases.iter().map(|r| r.delta).sum()
    }

    /// Refuses (exit 1) a release of `epsilon` that would take the total past `lifetime_epsilon`,
    /// saying how much is left.
    pub fn check(&self, lifetime_epsilon: f64, epsilon: f64) -> Result<()> {
        let spent = self.spent_epsilon();
        if spent + epsilon > lifetime_epsilon {
            return Err(Error::ThresholdFailed {
                name: "lifetime_epsilon".into(),
                measured: format!(
                    "{} (ε = {spent} spent by {} earlier releases + ε = {epsilon} for this one)",
                    spent + epsilon,
                    self.releases.len()
                ),
                required: format!(
                    "at most {lifetime_epsilon}; ε = {} is left",
                    (lifetime_epsilon - spent).max(0.0)
                ),
            });
        }
        Ok(())
    }

    /// Adds a release and writes the ledger atomically (0600) to `path`.
    pub fn record(&mut self, entry: LedgerEntry, path: &Path) -> Result<()> {
        self.releases.push(entry);
        self.write(path)
    }

    /// Records `entry` as `pending` and writes the ledger, before its release is committed; returns
    /// the entry's position for [`Ledger::confirm`]. Hold the [`LedgerLock`] from the read to the
    /// confirmation.
    pub fn write_ahead(&mut self, mut entry: LedgerEntry, path: &Path) -> Result<usize> {
        entry.status = EntryStatus::Pending;
        self.releases.push(entry);
        self.write(path)?;
        Ok(self.releases.len() - 1)
    }

    /// Marks the entry at `position` committed (its release is in place); the caller writes.
    pub fn confirm(&mut self, position: usize) {
        self.releases[position].status = EntryStatus::Committed;
    }

    /// Settles the `pending` entries of runs that did not confirm them: committed when the chart
    /// with the recorded digest is found as `chart_file` in the recorded directory, `unconfirmed`
    /// otherwise. Both keep counting. Returns how many entries changed (the caller writes the
    /// ledger if any did).
    pub fn reconcile(&mut self, chart_file: &str) -> usize {
        let mut changed = 0;
        for entry in &mut self.releases {
            if entry.status != EntryStatus::Pending {
                continue;
            }
            let found = match (&entry.out, &entry.chart_sha256) {
                (Some(out), Some(digest)) => {
                    let chart = Path::new(out).join(chart_file);
                    fs::read(chart)
                        .map(|bytes| hex::encode(sha2::Sha256::digest(&bytes)) == *digest)
                        .unwrap_or(false)
                }
                _ => false,
            };
            entry.status = if found {
                EntryStatus::Committed
            } else {
                EntryStatus::Unconfirmed
            };
            changed += 1;
        }
        changed
    }

    /// Writes the ledger atomically (0600) to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("a ledger serializes");
        write_private_atomically(path, &json)
    }

    /// The group membership of the previous release, if a release recorded it.
    pub fn previous_membership(&self) -> Option<&GroupMembership> {
        self.membership.as_ref()
    }

    /// Replaces the recorded membership by this release's and writes the ledger to `path`.
    pub fn record_membership(&mut self, membership: GroupMembership, path: &Path) -> Result<()> {
        self.membership = Some(membership);
        self.write(path)
    }

    /// The group-noise key kept in the ledger, drawn from the operating system's generator the
    /// first time (the ledger must then be written for the key to outlive this release). `path`
    /// names the ledger in the error of a damaged key.
    pub fn group_noise_key(&mut self, path: &Path) -> Result<Zeroizing<[u8; 32]>> {
        if let Some(hex_key) = &self.group_noise_key {
            let mut key = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(hex_key, key.as_mut()).map_err(|_| {
                Error::bad_file(
                    path,
                    Some("field `group_noise_key`".into()),
                    "must be 64 hexadecimal digits",
                )
            })?;
            return Ok(key);
        }
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        self.group_noise_key = Some(hex::encode(key.as_ref()));
        Ok(key)
    }
}

/// Writes `bytes` to a 0600 temporary file beside `path`, syncs it and renames it over `path`.
fn write_private_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().ok_or_else(|| Error::InvalidArgument {
        name: "privacy ledger",
        problem: "must name a file".into(),
    })?;
    let temporary: PathBuf = path.with_file_name(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        // `mode` applies only to a new file; a stale temporary may have other bits.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written.and_then(|()| fs::rename(&temporary, path)) {
        // Best effort: the temporary may not exist if opening it failed.
        let _ = fs::remove_file(&temporary);
        return Err(Error::io("write privacy ledger", path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(release: &str, epsilon: f64) -> LedgerEntry {
        LedgerEntry {
            release: release.into(),
            as_of: "2026-11-01".into(),
            epsilon,
            delta: 1e-6,
            status: EntryStatus::Committed,
            out: None,
            chart_sha256: None,
        }
    }

    #[test]
    fn a_missing_ledger_is_empty_and_records_are_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        let mut ledger = Ledger::read(&path).unwrap();
        assert_eq!(ledger.spent_epsilon(), 0.0);
        ledger.record(entry("2026.1", 1.0), &path).unwrap();
        ledger.record(entry("2026.2", 0.5), &path).unwrap();
        let again = Ledger::read(&path).unwrap();
        assert_eq!(again, ledger);
        assert_eq!(again.spent_epsilon(), 1.5);
        assert!((again.spent_delta() - 2e-6).abs() < 1e-18);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only the ledger remains");
    }

    #[test]
    fn the_lock_lets_one_holder_in_at_a_time() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        let first = LedgerLock::acquire(&path).unwrap();
        let entered = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (path, entered) = (path.clone(), Arc::clone(&entered));
            std::thread::spawn(move || {
                let _second = LedgerLock::acquire(&path).unwrap();
                entered.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!entered.load(Ordering::SeqCst), "the second waits");
        drop(first);
        waiter.join().unwrap();
        assert!(entered.load(Ordering::SeqCst));
        let mode = fs::metadata(dir.path().join("ledger.json.lock"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_spend_written_ahead_counts_until_settled_and_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        let mut ledger = Ledger::default();
        let position = ledger.write_ahead(entry("a", 1.0), &path).unwrap();
        let read = Ledger::read(&path).unwrap();
        assert_eq!(read.releases[0].status, EntryStatus::Pending);
        assert_eq!(read.spent_epsilon(), 1.0);
        ledger.confirm(position);
        assert_eq!(
            ledger.reconcile("sizechart.csv"),
            0,
            "nothing left to settle"
        );
        let mut unsettled = read;
        assert_eq!(unsettled.reconcile("sizechart.csv"), 1);
        assert_eq!(unsettled.releases[0].status, EntryStatus::Unconfirmed);
        assert_eq!(unsettled.spent_epsilon(), 1.0);
        unsettled.write(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"unconfirmed\""), "{text}");
    }

    #[test]
    fn check_refuses_past_the_lifetime_budget_and_says_what_is_left() {
        let ledger = Ledger {
            releases: vec![entry("a", 1.0), entry("b", 1.0)],
            ..Ledger::default()
        };
        assert!(ledger.check(3.0, 1.0).is_ok());
        let refused = ledger.check(2.5, 1.0).unwrap_err();
        assert_eq!(refused.exit_code(), 1);
        let message = refused.to_string();
        assert!(message.contains("ε = 0.5 is left"), "{message}");
        assert!(message.contains("2 earlier releases"), "{message}");
    }

    #[test]
    fn membership_and_noise_key_are_kept_and_old_ledgers_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        // A ledger written before the multi-release defences reads, and is written back without the new fields.
        let old = "{\"releases\": [{\"release\": \"a\", \"as_of\": \"2026-01-01\", \"epsilon\": 1.0, \"delta\": 0.0}]}";
        fs::write(&path, old).unwrap();
        let mut ledger = Ledger::read(&path).unwrap();
        assert_eq!(ledger.previous_membership(), None);
        ledger.write(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains("membership") && !text.contains("group_noise_key"));

        // Rows of groups 1, 0, 1, 0, 2 from people 7, 3, 9, 3, 4: person 3 twice in group 0.
        let membership = GroupMembership::of("2026.1", &[1, 0, 1, 0, 2], &[7, 3, 9, 3, 4]);
        assert_eq!(membership.groups, vec![vec![3], vec![4], vec![7, 9]]);
        assert_eq!(membership.people(), vec![3, 4, 7, 9]);
        let key = ledger.group_noise_key(&path).unwrap();
        ledger.record_membership(membership.clone(), &path).unwrap();
        let mut again = Ledger::read(&path).unwrap();
        assert_eq!(again.previous_membership(), Some(&membership));
        assert_eq!(
            again.group_noise_key(&path).unwrap(),
            key,
            "the key is kept"
        );
        assert_ne!(*Ledger::default().group_noise_key(&path).unwrap(), *key);
        let set = [900.0, f64::NAN];
        assert_eq!(
            GroupMembership::set_key(&[1; 32], &set),
            GroupMembership::set_key(&[1; 32], &[900.0, -f64::NAN])
        );
        assert_ne!(
            GroupMembership::set_key(&[1; 32], &set),
            GroupMembership::set_key(&[2; 32], &set)
        );
        assert_ne!(
            GroupMembership::set_key(&[1; 32], &set),
            GroupMembership::set_key(&[1; 32], &[901.0, f64::NAN])
        );

        again.group_noise_key = Some("zz".into());
        let error = again.group_noise_key(&path).unwrap_err().to_string();
        assert!(
            error.contains("group_noise_key") && !error.contains("zz"),
            "{error}"
        );
    }

    #[test]
    fn a_corrupt_ledger_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.json");
        fs::write(&path, "{\"releases\": [{\"release\": \"a\"}]}").unwrap();
        let error = Ledger::read(&path).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("ledger.json"));
        fs::write(
            &path,
            "{\"releases\": [{\"release\": \"a\", \"as_of\": \"x\", \"epsilon\": -1, \"delta\": 0}]}",
        )
        .unwrap();
        assert!(Ledger::read(&path)
            .unwrap_err()
            .to_string()
            .contains("release 1"));
    }
}
