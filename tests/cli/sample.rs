//! `anonpub sample`.

use std::path::{Path, PathBuf};

use anonpub::dates::Date;
use anonpub::sample::messy::{Planted, DEFAULT_MESSY_SHARE};
use anonpub::sample::{write_sample, SampleSpec, SampleSummary};
use anonpub::select::Exclusion;
use anonpub::timings::Timings;

use crate::fixtures::*;

/// The seed `data/sample.sqlite` was written with (see README).
const SAMPLE_SEED: u64 = 42;

#[test]
fn sample_is_deterministic_and_its_key_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = ["a", "b"]
        .iter()
        .map(|n| {
            (
                dir.path().join(format!("{n}.sqlite")),
                dir.path().join(format!("{n}.key")),
            )
        })
        .collect();
    for (db, key) in &paths {
        anonpub(
            &[
                "sample",
                "--users",
                "300",
                "--seed",
                "9",
                "--db",
                db.to_str().unwrap(),
                "--key-file",
                key.to_str().unwrap(),
                "--quiet",
            ],
            &[],
        )
        .expect_code(0);
    }
    assert_eq!(
        std::fs::read(&paths[0].0).unwrap(),
        std::fs::read(&paths[1].0).unwrap()
    );
    assert_eq!(
        std::fs::read(&paths[0].1).unwrap(),
        std::fs::read(&paths[1].1).unwrap()
    );
    let out = dir.path().join("release");
    let (db, key) = &paths[0];
    publish_db(db, key, &out, &[], &[]).expect_code(0);
    let connection = rusqlite::Connection::open(db).unwrap();
    let email: String = connection
        .query_row("SELECT email FROM \"User\" LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert!(
        email.starts_with("{\"iv\":\""),
        "email must be stored encrypted"
    );
    let existing = anonpub(
        &[
            "sample",
            "--users",
            "3",
            "--db",
            db.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    assert!(existing.stderr().contains("--force"));
}

/// Writes a sample with the library, to know what it planted.
fn planted_sample(
    dir: &Path,
    users: usize,
    seed: u64,
    messy: f64,
) -> (PathBuf, PathBuf, SampleSummary) {
    let (db, key) = (dir.join("messy.sqlite"), dir.join("messy.key"));
    let spec = SampleSpec {
        users,
        seed,
        as_of: Date::parse("2026-11-01").unwrap(),
        messy,
    };
    let summary = write_sample(&db, &key, spec, &mut Timings::default()).unwrap();
    (db, key, summary)
}

/// Every reason `report.json` counts equals what the generator planted under it, and the
/// unreadable user rows equal the planted unreadable owners.
fn assert_counts_match(report: &serde_json::Value, planted: &Planted) {
    let selection = &report["selection"];
    for (reason, sets) in planted.sets_by_reason() {
        assert_eq!(
            selection["excluded_sets"][reason.key()]
                .as_u64()
                .unwrap_or(0),
            sets as u64,
            "{} in {selection}",
            reason.key()
        );
    }
    assert_eq!(
        selection["excluded_users"]["unreadable_owner"]
            .as_u64()
            .unwrap_or(0),
        planted.unreadable_owners as u64
    );
    // Values that do not decode count in full; sets without a readable owner in the proportion
    // of readable owners' sets that are eligible (`select::bad_row_share`).
    let decode_bad = (planted.undecryptable + planted.malformed_value) as u64;
    let owner_bad = (planted.orphan_set + planted.unreadable_owner) as u64;
    let counted = selection["bad_rows"]["sets"].as_u64().unwrap();
    assert!(
        (decode_bad..=decode_bad + owner_bad).contains(&counted)
            && (owner_bad == 0 || counted > decode_bad),
        "{counted} bad rows counted of {decode_bad} + {owner_bad} in {selection}"
    );
}

fn publish_report(db: &Path, key: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    publish_fixture(db, key, out, 5, extra).expect_code(0);
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn a_messy_sample_is_published_with_every_planted_row_left_out_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key, summary) = planted_sample(dir.path(), 3000, 4, 0.1);
    let planted = summary.planted;
    for (reason, sets) in planted.sets_by_reason() {
        assert!(sets > 0, "{reason:?} planted");
    }
    // 10 % of the sets are far beyond the default limit of 5 % of the sets that could be published.
    let config = dir.path().join("release.toml");
    std::fs::write(&config, "max_malformed_share = 0.5\n").unwrap();
    let out = dir.path().join("release");
    let report = publish_report(&db, &key, &out, &["--config", config.to_str().unwrap()]);
    assert_counts_match(&report, &planted);
    assert_eq!(report["selection"]["sets_in_database"], summary.sets as u64);

    let refused = publish_fixture(&db, &key, &dir.path().join("refused"), 5, &[]).expect_code(2);
    assert!(
        refused
            .stderr()
            .contains("more than max_malformed_share = 0.05"),
        "{}",
        refused.stderr()
    );
    assert!(!dir.path().join("refused").exists());
}

#[test]
fn a_clean_sample_has_no_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key, summary) = planted_sample(dir.path(), 500, 4, 0.0);
    assert_eq!(summary.planted, Planted::default());
    let report = publish_report(&db, &key, &dir.path().join("release"), &[]);
    assert_counts_match(&report, &summary.planted);
}

/// How `data/sample.sqlite` was made (README): 2,000 users, seed 42, as of 2026-11-01, the
/// default share of bad rows.
#[test]
fn the_embedded_sample_is_the_documented_command_and_shows_its_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key, summary) = planted_sample(dir.path(), 2000, SAMPLE_SEED, DEFAULT_MESSY_SHARE);
    let (embedded_db, embedded_key) = sample_db();
    assert!(
        std::fs::read(&db).unwrap() == std::fs::read(&embedded_db).unwrap()
            && std::fs::read(&key).unwrap() == std::fs::read(&embedded_key).unwrap(),
        "data/sample.sqlite is not what `anonpub sample --users 2000 --seed {SAMPLE_SEED}` writes: \
         regenerate it"
    );
    let planted = summary.planted;
    for (reason, sets) in planted.sets_by_reason() {
        assert!(sets > 0, "{reason:?} planted in the embedded sample");
    }
    let out = dir.path().join("release");
    publish_sample(&out, &[]).expect_code(0);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_counts_match(&report, &planted);
    let datasheet = std::fs::read_to_string(out.join("README.md")).unwrap();
    let row = format!(
        "| {} | {} |",
        Exclusion::Undecryptable.description(),
        planted.undecryptable
    );
    assert!(datasheet.contains(&row), "{row} in the datasheet");
}
