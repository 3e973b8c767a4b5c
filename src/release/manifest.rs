//! `manifest.json`: where a release came from and what it holds.
//!
//! It records the anonpub version, a digest of the effective configuration, the seed, a keyed
//! fingerprint of the input database and every other release file with its size and SHA-256.
//! `SHA256SUMS` in turn covers the manifest, so one `sha256sum -c` run vouches for everything.
//!
//! **Why the input fingerprint is keyed.** A plain hash of the database would let anyone holding
//! a candidate copy (an old backup, a leaked dump) confirm that it is the release's source. An
//! HMAC under a key derived from the encryption key (with its own label, see
//! [`FieldKey::subkey`](crate::extract::crypto::FieldKey::subkey)) can be recomputed only by the
//! data holder, who uses it to tell which database a release was made from.

use std::path::Path;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::ReleaseConfig;
use crate::error::Result;
use crate::release::MANIFEST_FILE;

/// Label of the key derivation for the input fingerprint; a new label means a new key.
pub const FINGERPRINT_LABEL: &str = "anonpub/input-fingerprint/v1";

/// The manifest of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The anonpub version that made the release.
    pub anonpub_version: String,
    /// The schema's dataset name.
    pub dataset: String,
    /// The dataset release's version (`version` of the config).
    pub release_version: String,
    /// The release date.
    pub as_of: String,
    /// The seed of the record ids; absent in a release without seeded randomness (a frequency
    /// table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// SHA-256 of the effective configuration (see [`config_digest`]).
    pub config_sha256: String,
    /// The keyed fingerprint of the input database; absent when there is no key to fingerprint
    /// under (a frequency table of a plain file: an unkeyed hash would let anyone holding a
    /// candidate copy confirm it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_fingerprint: Option<InputFingerprint>,
    /// Every release file except this manifest and `SHA256SUMS`, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// The keyed fingerprint of the input database file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFingerprint {
    /// `HMAC-SHA256`.
    pub algorithm: String,
    /// How the key was made, so the data holder can recompute the value.
    pub key: String,
    /// The fingerprint, as lowercase hex.
    pub value: String,
}

impl InputFingerprint {
    /// Fingerprints the file at `path` with HMAC-SHA256 under `key` (derived with
    /// [`FINGERPRINT_LABEL`] from the data holder's secret, which `key_origin` names, e.g. "field
    /// key derived from API_ENC_KEY"), streaming it.
    pub fn of_file(path: &Path, key: &[u8; 32], key_origin: &str) -> Result<Self> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        super::checksums::stream_file(path, |chunk| mac.update(chunk))?;
        Ok(InputFingerprint {
            algorithm: "HMAC-SHA256".into(),
            key: format!("HMAC-SHA256({key_origin}, \"{FINGERPRINT_LABEL}\")"),
            value: hex::encode(mac.finalize().into_bytes()),
        })
    }

    /// The plain SHA-256 of the file at `path`, for a source without a secret to key it with.
    /// Anyone holding a candidate copy of the input can confirm it; the data holder who minds
    /// passes a key file, and the keyed fingerprint is used instead.
    pub fn unkeyed(path: &Path) -> Result<Self> {
        let mut hash = Sha256::new();
        super::checksums::stream_file(path, |chunk| hash.update(chunk))?;
        Ok(InputFingerprint {
            algorithm: "SHA-256".into(),
            key: "none: the source has no secret (pass --key-file for a keyed fingerprint)".into(),
            value: hex::encode(hash.finalize()),
        })
    }
}

/// One file of the release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The file's name inside the release.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, as lowercase hex.
    pub sha256: String,
}

/// SHA-256 of the effective configuration: the config file's settings after command-line
/// overrides, with the schema represented by the SHA-256 of its text (not by its path, which
/// differs between machines). Keys are sorted, so equal configurations give equal digests.
pub fn config_digest(config: &ReleaseConfig, schema_text: &str) -> String {
    let mut canonical = json!({
        "k": config.k,
        "retention_months": config.retention_months,
        "license": config.license,
        "version": config.version,
        "mdav_exact_limit": config.mdav_exact_limit,
        "max_malformed_share": config.max_malformed_share,
        "min_pattern_people": config.min_pattern_people,
        "thresholds": {
            "min_k": config.thresholds.min_k,
            "max_suppressed_share": config.thresholds.max_suppressed_share,
        },
        "schema_sha256": hex::encode(Sha256::digest(schema_text.as_bytes())),
    });
    // The defences of issue 14 enter only when they are on, so a configuration that turns them
    // off keeps the digest it had before they existed.
    let defences = &config.defences;
    if defences.group_noise_sd > 0.0 {
        canonical["group_noise_sd"] = json!(defences.group_noise_sd);
    }
    if defences.min_account_age_days > 0 {
        canonical["min_account_age_days"] = json!(defences.min_account_age_days);
    }
    // Only a config with a size chart names it, so that releases without one keep their digest.
    if let (Some(chart), Some(object)) = (&config.sizechart, canonical.as_object_mut()) {
        object.insert(
            "sizechart".into(),
            serde_json::to_value(chart).expect("the size chart config serializes"),
        );
    }
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Reads a manifest; the error says what is wrong with it, never a value from the data.
pub fn read_manifest(path: &Path) -> std::result::Result<Manifest, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{MANIFEST_FILE} unreadable: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{MANIFEST_FILE} malformed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_keyed_and_is_not_the_plain_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        std::fs::write(&path, b"some database bytes").unwrap();
        let a = InputFingerprint::of_file(&path, &[1; 32], "test key").unwrap();
        let b = InputFingerprint::of_file(&path, &[2; 32], "test key").unwrap();
        assert_ne!(a.value, b.value);
        assert_eq!(
            a,
            InputFingerprint::of_file(&path, &[1; 32], "test key").unwrap()
        );
        assert_ne!(a.value, hex::encode(Sha256::digest(b"some database bytes")));
        assert_eq!(a.value.len(), 64);
        assert!(a.key.contains(FINGERPRINT_LABEL));
    }

    #[test]
    fn config_digest_follows_every_setting_and_the_schema_text() {
        let config = ReleaseConfig::default();
        let base = config_digest(&config, "schema");
        assert_eq!(base, config_digest(&config.clone(), "schema"));
        assert_ne!(base, config_digest(&config, "other schema"));
        let mut changed = config.clone();
        changed.k = 6;
        assert_ne!(base, config_digest(&changed, "schema"));
        let mut changed = config.clone();
        changed.thresholds.min_k = Some(5);
        assert_ne!(base, config_digest(&changed, "schema"));
        let mut changed = config.clone();
        changed.defences.group_noise_sd = 0.1;
        assert_ne!(base, config_digest(&changed, "schema"));
        let mut changed = config.clone();
        changed.defences.min_account_age_days = 7;
        assert_ne!(base, config_digest(&changed, "schema"));
        let mut charted = config;
        charted.sizechart = Some(Default::default());
        let with_chart = config_digest(&charted, "schema");
        assert_ne!(base, with_chart);
        charted.sizechart.as_mut().unwrap().epsilon = 0.5;
        assert_ne!(with_chart, config_digest(&charted, "schema"));
    }

    #[test]
    fn manifest_round_trips_and_bad_text_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        let manifest = Manifest {
            anonpub_version: "0.1.0".into(),
            dataset: "d".into(),
            release_version: "1.0.0".into(),
            as_of: "2026-11-01".into(),
            seed: Some(1),
            config_sha256: "c".repeat(64),
            input_fingerprint: Some(InputFingerprint {
                algorithm: "HMAC-SHA256".into(),
                key: "k".into(),
                value: "f".repeat(64),
            }),
            files: vec![ManifestFile {
                path: "a.csv".into(),
                bytes: 3,
                sha256: "a".repeat(64),
            }],
        };
        std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
        assert_eq!(read_manifest(&path).unwrap(), manifest);
        std::fs::write(&path, b"{").unwrap();
        assert!(read_manifest(&path).unwrap_err().contains("malformed"));
    }
}
