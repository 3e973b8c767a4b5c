//! `manifest.json`: where a release came from and what it holds.
//!
//! It records the anonpub version, a digest of the effective configuration ([`config_digest`]),
//! the seed, a fingerprint of the input and every other release file with its size and SHA-256.
//! `SHA256SUMS` in turn covers the manifest, so one `sha256sum -c` run vouches for everything.
//! The microdata release (`publish`) and the frequency table (`tabulate`) record both the same
//! way.
//!
//! **Why the input fingerprint is keyed.** A plain hash of the database would let anyone holding
//! a candidate copy (an old backup, a leaked dump) confirm that it is the release's source. An
//! HMAC under a key derived from the encryption key (with its own label, see
//! [`FieldKey::subkey`](crate::extract::crypto::FieldKey::subkey)) can be recomputed only by the
//! data holder, who uses it to tell which database a release was made from. A table (`publish
//! --source table`, `tabulate`) has a key only when `--key-file` gives one; without it the
//! fingerprint is the plain SHA-256 and the manifest says so ([`InputFingerprint::unkeyed`]).

use std::path::Path;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

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
    /// The fingerprint of the input: keyed when the source has a secret, else the plain
    /// SHA-256. Every release anonpub writes has one; it is optional here only so that a
    /// manifest written without one is read and reported, not refused unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_fingerprint: Option<InputFingerprint>,
    /// Every release file except this manifest and `SHA256SUMS`, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// The fingerprint of the input file: HMAC-SHA256 under a key of the data holder's, or, for a
/// table without a key, the plain SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFingerprint {
    /// `HMAC-SHA256`, or `SHA-256` for an unkeyed fingerprint.
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

    /// [`InputFingerprint::of_file`] under `key` (a key and its origin) when there is one, else
    /// [`InputFingerprint::unkeyed`].
    pub fn of_input(path: &Path, key: Option<&(Zeroizing<[u8; 32]>, String)>) -> Result<Self> {
        match key {
            Some((key, origin)) => Self::of_file(path, key, origin),
            None => Self::unkeyed(path),
        }
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

/// SHA-256 of the effective configuration, the `config_sha256` of the manifest:
/// [`digest_canonical`] of [`canonical_config`].
///
/// **The rule.** The digest identifies the configuration a release was made with, so that anyone
/// re-running can check they used the same one. It therefore covers the whole validated
/// release configuration (`crate::config::ReleaseConfig`: every section, `[linkage]`, `[thresholds]`, `[defences]`, `[attacks]`,
/// `[sizechart]`, `[tabulate]` included, with defaults filled in and command-line overrides
/// applied) and the schema's text: a change to any key changes it, while the same configuration
/// written differently (other key order, comments, a default spelled out or left out) gives the
/// same digest. The seed and the release date are recorded beside it in the manifest, not in it.
pub fn config_digest(config: &impl Serialize, schema_text: &str) -> String {
    digest_canonical(canonical_config(config, schema_text))
}

/// The value [`config_digest`] is taken of: `{"config": …, "schema_sha256": …}`, the config as
/// serde serializes the struct (the schema's path left out: it differs between machines) and the
/// schema as the SHA-256 of its text. A command may add the choices it takes outside the config
/// file (`tabulate` adds its person and `by` columns) before digesting it.
pub fn canonical_config(config: &impl Serialize, schema_text: &str) -> Value {
    json!({
        "config": serde_json::to_value(config).expect("the configuration serializes"),
        "schema_sha256": hex::encode(Sha256::digest(schema_text.as_bytes())),
    })
}

/// SHA-256 (lowercase hex) of `value` as compact JSON with the keys of every object sorted, so
/// that the digest depends on the settings only, never on the order they were read or declared
/// in.
pub fn digest_canonical(value: Value) -> String {
    fn sorted(value: Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    hex::encode(Sha256::digest(sorted(value).to_string().as_bytes()))
}

/// Reads a manifest; the error says what is wrong with it, never a value from the data.
pub fn read_manifest(path: &Path) -> std::result::Result<Manifest, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{MANIFEST_FILE} unreadable: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{MANIFEST_FILE} malformed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReleaseConfig;

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

    fn digest_of(text: &str) -> String {
        let config = ReleaseConfig::parse(text, Path::new("release.toml"))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        config_digest(&config, "schema")
    }

    #[test]
    fn config_digest_changes_with_any_key_of_any_section_and_the_schema_text() {
        let base = digest_of("");
        assert_eq!(base, config_digest(&ReleaseConfig::default(), "schema"));
        assert_ne!(
            base,
            config_digest(&ReleaseConfig::default(), "other schema")
        );
        let changes = [
            "k = 6",
            "retention_months = 6",
            "license = \"CC-BY-4.0\"",
            "version = \"2.0.0\"",
            "mdav_exact_limit = 500",
            "max_malformed_share = 0.02",
            "min_pattern_people = 30",
            "[linkage]\nknown = [\"chest\"]",
            "[linkage]\nerror = 5.0",
            "[linkage]\nnoise = \"gaussian\"",
            "[thresholds]\nmin_k = 5",
            "[thresholds]\nmax_differencing_recovered = 0.1",
            "[defences]\ngroup_noise_sd = 0.1",
            "[defences]\ngroup_noise_sd = 0",
            "[defences]\nmin_account_age_days = 7",
            "[attacks]\ntargets = 20",
            "[attacks]\nmax_people = 1000",
            "[attacks]\nenabled = false",
            "[sizechart]",
            "[sizechart]\nepsilon = 0.5",
            "[tabulate]\nthreshold = 5",
            "[tabulate]\nprotection = \"dp\"",
            "[tabulate]\nperson = \"ip\"",
        ];
        let mut seen = std::collections::BTreeMap::new();
        for change in changes {
            let digest = digest_of(change);
            assert_ne!(base, digest, "{change} leaves the digest as it was");
            if let Some(other) = seen.insert(digest, change) {
                panic!("{change} and {other} give the same digest");
            }
        }
    }

    #[test]
    fn config_digest_ignores_how_the_configuration_is_written() {
        let written = "k = 7\n[thresholds]\nmin_k = 7\n[tabulate]\nthreshold = 3\n";
        let base = digest_of(written);
        let reordered = "# the same settings, another order\n[tabulate]\nthreshold = 3 # cells\n\
                         [thresholds]\nmin_k = 7\n";
        assert_eq!(base, digest_of(&format!("k = 7\n{reordered}")));
        let spelled_out = "k = 7\nretention_months = 12\nlicense = \"CC0-1.0\"\n\
                           [thresholds]\nmin_k = 7\n[tabulate]\nthreshold = 3\n\
                           protection = \"suppression\"\n\
                           [defences]\ngroup_noise_sd = 0.050\nmin_account_age_days = 0\n\
                           [attacks]\nenabled = true\ntargets = 40\n\
                           [linkage]\nknown = [\"chest\", \"waist\", \"hips\", \"neck\", \
                           \"hpsToWaistBack\"]\n";
        assert_eq!(base, digest_of(spelled_out));
        // The schema counts by its text, not by where it lies.
        let mut elsewhere = ReleaseConfig::parse(written, Path::new("release.toml")).unwrap();
        elsewhere.schema = Some("/somewhere/else/schema.toml".into());
        assert_eq!(base, config_digest(&elsewhere, "schema"));
    }

    #[test]
    fn canonical_digest_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"d": [{"y": 1, "x": 2}], "c": 0.5}});
        let b = json!({"a": {"c": 0.5, "d": [{"x": 2, "y": 1}]}, "b": 1});
        assert_eq!(digest_canonical(a.clone()), digest_canonical(b));
        assert_ne!(digest_canonical(a), digest_canonical(json!({"b": 1})));
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
