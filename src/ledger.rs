//! The data holder's private release ledger: what the next release needs to know about the earlier
//! ones (the privacy budget spent so far; sections for other concerns sit beside it).
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
//! either the old or the new ledger, never half of one. Two publishes running at the same time on
//! the same ledger are not serialized: the data holder runs one at a time.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
}

/// The ledger file's contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// Every recorded release, oldest first.
    pub releases: Vec<LedgerEntry>,
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
        let json = serde_json::to_vec_pretty(self).expect("a ledger serializes");
        write_private_atomically(path, &json)
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
    fn check_refuses_past_the_lifetime_budget_and_says_what_is_left() {
        let ledger = Ledger {
            releases: vec![entry("a", 1.0), entry("b", 1.0)],
        };
        assert!(ledger.check(3.0, 1.0).is_ok());
        let refused = ledger.check(2.5, 1.0).unwrap_err();
        assert_eq!(refused.exit_code(), 1);
        let message = refused.to_string();
        assert!(message.contains("ε = 0.5 is left"), "{message}");
        assert!(message.contains("2 earlier releases"), "{message}");
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
