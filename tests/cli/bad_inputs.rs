//! The catalogue of bad inputs (docs/bad-inputs.md): one test per row.
//!
//! Every refusal must exit 2, name the file, table, row or field and say what was expected, leave
//! nothing behind (no release, no staging directory) and never quote a measurement, an identifier
//! or the key. Each test plants such values as canaries and checks that the output holds none.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aes::cipher::{block_padding::NoPadding, BlockEncryptMut, KeyIvInit};
use anonpub::anonymize::hierarchy::{Hierarchy, HierarchyError, DEFAULT_DELIMITER};
use anonpub::extract::crypto::FieldKey;
use rusqlite::{params, Connection};

use crate::fixtures::*;

/// A measurement value planted in bad inputs; it must never be printed.
const CANARY_VALUE: &str = "987.654";
/// An identifier planted in bad inputs; it must never be printed.
const CANARY_ID: &str = "jane.doe@example.org";

/// Eligible users with plausible, distinct sets.
fn people(n: usize) -> Vec<FixtureUser> {
    (0..n)
        .map(|i| {
            FixtureUser::eligible(vec![format!(
                "{{\"chest\":{},\"waist\":{}}}",
                900 + 7 * i,
                700 + 5 * i
            )])
        })
        .collect()
}

/// Publishes a database of six eligible people after `spoil` changed its files (database, key
/// file) and checks the refusal ([`assert_refused`]).
fn refused_when(spoil: impl FnOnce(&Path, &Path), expected: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &people(6));
    spoil(&db, &key);
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(run, expected, dir.path(), &[&db, &key])
}

/// [`refused_when`] the database was changed by `sql`.
fn refused_after(sql: &str, expected: &[&str]) -> Run {
    refused_when(
        |db, _| Connection::open(db).unwrap().execute_batch(sql).unwrap(),
        expected,
    )
}

/// Stores `stored` verbatim as the `measies` of Set row `id`.
fn store_measies(db: &Path, id: i64, stored: impl rusqlite::ToSql) {
    Connection::open(db)
        .unwrap()
        .execute(
            "UPDATE \"Set\" SET measies = ?1 WHERE id = ?2",
            params![stored, id],
        )
        .unwrap();
}

/// Encrypts `plaintext` under the fixture key (as FreeSewing does).
fn encrypted(plaintext: &[u8]) -> String {
    FieldKey::derive(FIXTURE_SECRET.as_bytes()).encrypt(plaintext, [9; 16])
}

/// Checks a refusal: exit 2, every `expected` fragment in stderr, no canary and no key in any
/// output, and nothing left in `dir` but the `inputs`.
fn assert_refused(run: Run, expected: &[&str], dir: &Path, inputs: &[&Path]) -> Run {
    let run = run.expect_code(2);
    let (stdout, stderr) = (run.stdout(), run.stderr());
    for fragment in expected {
        assert!(
            stderr.contains(fragment),
            "expected `{fragment}` in stderr of {}:\n{stderr}",
            run.command
        );
    }
    assert_clean(&stdout, &stderr);
    assert_only(dir, inputs);
    run
}

/// No canary, no secret in the output.
fn assert_clean(stdout: &str, stderr: &str) {
    for secret in [CANARY_VALUE, CANARY_ID, FIXTURE_SECRET] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "output quotes `{secret}`:\n{stdout}\n{stderr}"
        );
    }
}

/// `dir` holds exactly `inputs` (nothing was written, no staging directory was left).
fn assert_only(dir: &Path, inputs: &[&Path]) {
    let mut present: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    present.sort();
    let mut expected: Vec<PathBuf> = inputs.iter().map(|p| p.to_path_buf()).collect();
    expected.sort();
    assert_eq!(present, expected, "left behind in {}", dir.display());
}

/// Publishes a fixture with k = 5 into `dir/release`.
fn publish(db: &Path, key: &Path, dir: &Path, extra: &[&str]) -> Run {
    publish_fixture(db, key, &dir.join("release"), 5, extra)
}

// ---------------------------------------------------------------- the database file

#[test]
fn missing_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = sample_db();
    let db = dir.path().join("nope.sqlite");
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(
        run,
        &["nope.sqlite", "No such file or directory"],
        dir.path(),
        &[],
    );
}

#[test]
fn database_path_is_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = sample_db();
    let db = dir.path().join("db");
    std::fs::create_dir(&db).unwrap();
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(run, &["db: (file): not a regular file"], dir.path(), &[&db]);
}

#[test]
fn file_that_is_not_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = sample_db();
    let db = dir.path().join("people.csv");
    std::fs::write(&db, format!("email,chest\n{CANARY_ID},{CANARY_VALUE}\n")).unwrap();
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(
        run,
        &["people.csv: (file): not an SQLite database"],
        dir.path(),
        &[&db],
    );
}

#[test]
fn empty_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = sample_db();
    let db = dir.path().join("empty.sqlite");
    std::fs::write(&db, b"").unwrap();
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(
        run,
        &["empty.sqlite: User: table not found: not a FreeSewing v3 database"],
        dir.path(),
        &[&db],
    );
}

#[test]
fn sqlite_without_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = sample_db();
    let db = dir.path().join("other.sqlite");
    Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE person (email TEXT, chest REAL);
             INSERT INTO person VALUES ('{CANARY_ID}', {CANARY_VALUE});"
        ))
        .unwrap();
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(
        run,
        &["other.sqlite: User: table not found"],
        dir.path(),
        &[&db],
    );
}

#[test]
fn user_table_missing_a_column() {
    refused_after(
        "ALTER TABLE \"User\" DROP COLUMN consent;",
        &["fixture.sqlite: User: missing column `consent`"],
    );
}

#[test]
fn set_table_missing_measies() {
    refused_after(
        "ALTER TABLE \"Set\" DROP COLUMN measies;",
        &["fixture.sqlite: Set: missing column `measies`"],
    );
}

#[test]
fn corrupted_database_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &people(40));
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 8192, "fixture has several pages");
    // Keep the header page, overwrite every later page with garbage.
    for byte in &mut bytes[4096..] {
        *byte = 0xA5;
    }
    std::fs::write(&db, bytes).unwrap();
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(
        run,
        &["fixture.sqlite", "database disk image is malformed"],
        dir.path(),
        &[&db, &key],
    );
}

// ---------------------------------------------------------------- the key

#[test]
fn wrong_key() {
    let run = refused_when(
        |_, key| std::fs::write(key, "not-the-fixture-key\n").unwrap(),
        &[
            "fixture.sqlite: the key does not decrypt this database",
            "Set row 1",
        ],
    );
    assert!(!run.stderr().contains("not-the-fixture-key"));
}

#[test]
fn empty_key_file() {
    refused_when(
        |_, key| std::fs::write(key, b"").unwrap(),
        &["no encryption key: ", "fixture.key is empty"],
    );
}

#[test]
fn key_file_holding_only_a_newline() {
    refused_when(
        |_, key| std::fs::write(key, b"\n").unwrap(),
        &["fixture.key is empty"],
    );
}

#[test]
fn key_file_line_endings_are_accepted() {
    for ending in ["\n", "\r\n", ""] {
        let dir = tempfile::tempdir().unwrap();
        let (db, key) = fixture_db(dir.path(), &people(6));
        std::fs::write(&key, format!("{FIXTURE_SECRET}{ending}")).unwrap();
        let out = dir.path().join("release");
        let run = publish_fixture(&db, &key, &out, 5, &[]).expect_code(0);
        assert_clean(&run.stdout(), &run.stderr());
        assert!(out.join("measurements.csv").is_file(), "{ending:?}");
    }
}

#[test]
fn key_file_with_two_newlines_is_a_wrong_key() {
    refused_when(
        |_, key| std::fs::write(key, format!("{FIXTURE_SECRET}\n\n")).unwrap(),
        &["the key does not decrypt this database"],
    );
}

#[test]
fn missing_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = fixture_db(dir.path(), &people(6));
    let key = dir.path().join("absent.key");
    let run = publish(&db, &key, dir.path(), &[]);
    let present = [db.as_path(), &dir.path().join("fixture.key")];
    assert_refused(
        run,
        &["cannot read key file", "absent.key", "No such file"],
        dir.path(),
        &present,
    );
}

/// `publish` arguments with no `--key-file`, so the key can only come from `API_ENC_KEY`.
fn publish_without_key_file<'a>(db: &'a Path, out: &'a Path) -> [&'a str; 11] {
    let path = |p: &'a Path| p.to_str().unwrap();
    let (db, out) = (path(db), path(out));
    [
        "publish",
        "--db",
        db,
        "--as-of",
        "2026-11-01",
        "--out",
        out,
        "--k",
        "5",
        "--config",
        small_database_config(),
    ]
}

#[test]
fn no_key_given() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &people(6));
    let out = dir.path().join("release");
    let args = publish_without_key_file(&db, &out);
    let run = anonpub(&args, &[]);
    assert_refused(
        run,
        &["no encryption key: pass --key-file PATH or set the API_ENC_KEY"],
        dir.path(),
        &[&db, &key],
    );
    let run = anonpub(&args, &[("API_ENC_KEY", "")]);
    assert_refused(run, &["API_ENC_KEY is empty"], dir.path(), &[&db, &key]);
}

#[test]
fn database_given_as_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &people(40));
    let run = publish(&db, &db, dir.path(), &[]);
    assert_refused(
        run,
        &["fixture.sqlite: is longer than 4096 bytes: expected the API_ENC_KEY secret"],
        dir.path(),
        &[&db, &key],
    );
}

#[test]
fn key_from_environment_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &people(6));
    let out = dir.path().join("release");
    let args = publish_without_key_file(&db, &out);
    let run = anonpub(&args, &[("API_ENC_KEY", FIXTURE_SECRET)]).expect_code(0);
    assert_clean(&run.stdout(), &run.stderr());
    let run = anonpub(&args, &[("API_ENC_KEY", FIXTURE_SECRET)]);
    assert_refused(run, &["--force"], dir.path(), &[&db, &key, &out]);
}

// ---------------------------------------------------------------- bad rows in a usable database

/// The bad-row limit the "left out" tests publish with: one bad row among seven sets stays under
/// it (the default, 5 %, would refuse such a small database; see
/// `bad_rows_beyond_max_malformed_share_are_refused`).
const LENIENT_CONFIG: &str =
    "max_malformed_share = 0.2\nmin_published_measurements = 1\n[attacks]\nenabled = false\n";

/// Seven eligible people after `spoil` changed the database, published with [`LENIENT_CONFIG`]:
/// the release goes ahead, every `(reason, sets)` is counted in `report.json`, the warning names
/// the first bad row, and no canary reaches the output or the release. Returns the report.
fn left_out_when(spoil: impl FnOnce(&Path), expected: &[(&str, u64)]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &people(7));
    spoil(&db);
    let config = dir.path().join("release.toml");
    std::fs::write(&config, LENIENT_CONFIG).unwrap();
    let out = dir.path().join("release");
    let extra = ["--config", config.to_str().unwrap(), "--verbose"];
    let run = publish_fixture(&db, &key, &out, 5, &extra).expect_code(0);
    assert_clean(&run.stdout(), &run.stderr());
    let report = report(&out);
    for &(reason, sets) in expected {
        assert_eq!(
            report["selection"]["excluded_sets"][reason], sets,
            "{reason} in {}",
            report["selection"]
        );
    }
    let bad_row = |reason: &str| {
        [
            "undecryptable",
            "malformed_value",
            "orphan_set",
            "unreadable_owner",
        ]
        .contains(&reason)
    };
    if expected.iter().any(|(reason, _)| bad_row(reason)) {
        assert!(
            run.stderr().contains("left out sets that cannot be read: "),
            "{}",
            run.stderr()
        );
    }
    for file in [
        "measurements.csv",
        "README.md",
        "report.html",
        "report.json",
    ] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(
            !text.contains(CANARY_VALUE) && !text.contains(CANARY_ID),
            "{file}"
        );
    }
    report
}

/// Row 7 of seven sets replaced by `stored`: left out and counted under `reason`, the release
/// goes ahead.
fn left_out_stored(stored: impl rusqlite::ToSql, reason: &str) -> serde_json::Value {
    left_out_when(|db| store_measies(db, 7, stored), &[(reason, 1)])
}

/// [`left_out_when`] the database was changed by `sql`.
fn left_out_after(sql: &str, expected: &[(&str, u64)]) -> serde_json::Value {
    left_out_when(
        |db| Connection::open(db).unwrap().execute_batch(sql).unwrap(),
        expected,
    )
}

// ---------------------------------------------------------------- stored (encrypted) values

#[test]
fn measies_stored_unencrypted() {
    left_out_stored(format!("{{\"chest\":{CANARY_VALUE}}}"), "undecryptable");
}

#[test]
fn envelope_without_ct() {
    left_out_stored(
        format!("{{\"iv\":\"{}\"}}", "0".repeat(32)),
        "undecryptable",
    );
}

#[test]
fn envelope_with_bad_hex() {
    left_out_stored(
        format!(
            "{{\"iv\":\"{}\",\"ct\":\"{}\"}}",
            "0".repeat(32),
            "zz".repeat(16)
        ),
        "undecryptable",
    );
}

#[test]
fn iv_of_the_wrong_length() {
    left_out_stored(
        format!(
            "{{\"iv\":\"{}\",\"ct\":\"{}\"}}",
            "0".repeat(16),
            "0".repeat(32)
        ),
        "undecryptable",
    );
}

#[test]
fn ciphertext_not_in_whole_blocks() {
    left_out_stored(
        format!(
            "{{\"iv\":\"{}\",\"ct\":\"{}\"}}",
            "0".repeat(32),
            "ab".repeat(20)
        ),
        "undecryptable",
    );
}

/// One block that decrypts to bytes ending in 0x00 under the fixture key: never valid PKCS#7.
fn badly_padded() -> String {
    let mut block = [0x41u8; 16];
    block[15] = 0;
    let key = scrypt_key();
    let ciphertext = cbc::Encryptor::<aes::Aes256>::new(&key.into(), &[3u8; 16].into())
        .encrypt_padded_vec_mut::<NoPadding>(&block);
    format!(
        "{{\"iv\":\"{}\",\"ct\":\"{}\"}}",
        hex::encode([3u8; 16]),
        hex::encode(ciphertext)
    )
}

#[test]
fn bad_padding() {
    left_out_stored(badly_padded(), "undecryptable");
}

#[test]
fn a_bad_first_value_is_not_a_wrong_key_when_later_values_open() {
    left_out_when(
        |db| store_measies(db, 1, badly_padded()),
        &[("undecryptable", 1)],
    );
}

/// The fixture's AES key, derived here with the scrypt crate directly (FreeSewing's parameters).
fn scrypt_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    let params = scrypt::Params::new(14, 8, 1, 32).unwrap();
    scrypt::scrypt(FIXTURE_SECRET.as_bytes(), b"FreeSewing", &params, &mut key).unwrap();
    key
}

#[test]
fn decrypts_to_bytes_that_are_not_utf8() {
    left_out_stored(encrypted(&[0xff, 0xfe, 0x39, 0x38, 0x37]), "undecryptable");
}

#[test]
fn measies_stored_as_a_number() {
    // A column without type affinity keeps an integer as an integer.
    let report = left_out_after(
        "CREATE TABLE s2 (id INTEGER PRIMARY KEY, userId INTEGER, measies);
         INSERT INTO s2 SELECT * FROM \"Set\";
         DROP TABLE \"Set\";
         ALTER TABLE s2 RENAME TO \"Set\";
         UPDATE \"Set\" SET measies = 987654 WHERE id = 7;",
        &[("undecryptable", 1)],
    );
    assert_eq!(report["selection"]["eligible_sets"], 6);
}

// ---------------------------------------------------------------- decrypted measies

#[test]
fn measies_not_an_object() {
    left_out_stored(
        encrypted(format!("[{CANARY_VALUE},\"{CANARY_ID}\"]").as_bytes()),
        "malformed_value",
    );
}

#[test]
fn measies_truncated_json() {
    left_out_stored(
        encrypted(format!("{{\"chest\":{CANARY_VALUE}").as_bytes()),
        "malformed_value",
    );
}

#[test]
fn measurement_value_is_a_string() {
    left_out_stored(
        encrypted(format!("{{\"chest\":\"{CANARY_VALUE} {CANARY_ID}\"}}").as_bytes()),
        "malformed_value",
    );
}

#[test]
fn measurement_value_is_a_plain_decimal_string() {
    // A number in quotes, as a form or a spreadsheet sends it, is that number: the set is
    // published, not left out.
    let stored = encrypted(br#"{"chest":"930","waist":" 780.5 "}"#);
    let report = left_out_when(|db| store_measies(db, 7, stored), &[]);
    assert_eq!(
        report["selection"]["eligible_sets"], 7,
        "{}",
        report["selection"]
    );
    assert_eq!(report["selection"]["bad_rows"]["sets"], 0);
}

#[test]
fn measurement_value_is_null() {
    left_out_stored(encrypted(b"{\"waist\":null}"), "malformed_value");
}

#[test]
fn measurement_value_is_nan() {
    left_out_stored(encrypted(b"{\"hips\":NaN}"), "malformed_value");
}

#[test]
fn measurement_value_overflows() {
    left_out_stored(encrypted(b"{\"neck\":1e999}"), "malformed_value");
}

#[test]
fn measurement_value_is_a_nested_object() {
    left_out_stored(
        encrypted(format!("{{\"chest\":{{\"value\":{CANARY_VALUE}}},\"waist\":700}}").as_bytes()),
        "malformed_value",
    );
}

#[test]
fn one_bad_value_leaves_the_whole_set_out() {
    let report = left_out_stored(
        encrypted(format!("{{\"chest\":{CANARY_VALUE},\"waist\":\"n/a\"}}").as_bytes()),
        "malformed_value",
    );
    assert_eq!(report["selection"]["eligible_sets"], 6);
}

#[test]
fn zero_negative_and_huge_values_are_excluded_and_counted() {
    let mut users = people(6);
    for junk in ["0", "-987.654", "1e300", "987654000"] {
        users.push(FixtureUser::eligible(vec![format!(
            "{{\"chest\":{junk},\"waist\":700}}"
        )]));
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let out = dir.path().join("release");
    let run = publish_fixture(&db, &key, &out, 5, &[]).expect_code(0);
    assert_clean(&run.stdout(), &run.stderr());
    let report = report(&out);
    assert_eq!(report["selection"]["excluded_sets"]["implausible_value"], 4);
    assert_eq!(report["selection"]["eligible_people"], 6);
    let (_, rows) = read_csv(&out.join("measurements.csv"));
    assert_eq!(rows.len(), 6);
}

#[test]
fn unknown_measurement_names_are_dropped_and_counted() {
    let mut users = people(6);
    users[0] = FixtureUser::eligible(vec![format!(
        "{{\"chest\":900,\"waist\":700,\"email\":\"{CANARY_ID}\",\"shoeSize\":{CANARY_VALUE}}}"
    )]);
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let out = dir.path().join("release");
    let run = publish_fixture(&db, &key, &out, 5, &[]).expect_code(0);
    assert_clean(&run.stdout(), &run.stderr());
    assert_eq!(report(&out)["selection"]["unknown_measurements_dropped"], 2);
    let text = std::fs::read_to_string(out.join("measurements.csv")).unwrap();
    assert!(!text.contains("shoeSize") && !text.contains(CANARY_ID));
}

#[test]
fn empty_and_null_measies_are_counted_as_no_measurements() {
    // Encrypted `{}`, NULL, empty text, and the schema's plain `{}` default: empty sets, which do
    // not count toward `max_malformed_share` (the default 5 % would refuse 4 bad rows in 10).
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &people(10));
    store_measies(&db, 7, encrypted(b"{}"));
    store_measies(&db, 8, rusqlite::types::Null);
    store_measies(&db, 9, "");
    store_measies(&db, 10, "{ }");
    let out = dir.path().join("release");
    publish_fixture(&db, &key, &out, 5, &[]).expect_code(0);
    let report = report(&out);
    assert_eq!(report["selection"]["excluded_sets"]["no_measurements"], 4);
    assert_eq!(report["selection"]["bad_rows"]["sets"], 0);
}

// ---------------------------------------------------------------- table structure

#[test]
fn duplicate_user_ids() {
    // User 3 appears twice: both rows are unreadable owners, and user 3's one set is left out.
    let report = left_out_after(
        "CREATE TABLE u2 AS SELECT * FROM \"User\";
         DROP TABLE \"User\";
         ALTER TABLE u2 RENAME TO \"User\";
         INSERT INTO \"User\" SELECT * FROM \"User\" WHERE id = 3;",
        &[("unreadable_owner", 1)],
    );
    assert_eq!(report["selection"]["excluded_users"]["unreadable_owner"], 2);
    assert_eq!(report["selection"]["users_in_database"], 8);
}

#[test]
fn set_without_a_user() {
    left_out_after(
        "UPDATE \"Set\" SET userId = 987654 WHERE id = 4;",
        &[("orphan_set", 1)],
    );
}

#[test]
fn set_user_id_is_null() {
    left_out_after(
        "UPDATE \"Set\" SET userId = NULL WHERE id = 2;",
        &[("orphan_set", 1)],
    );
}

#[test]
fn user_consent_is_not_an_integer() {
    let report = left_out_after(
        &format!("UPDATE \"User\" SET consent = '{CANARY_ID}' WHERE id = 5;"),
        &[("unreadable_owner", 1)],
    );
    assert_eq!(report["selection"]["excluded_users"]["unreadable_owner"], 1);
}

#[test]
fn last_seen_is_not_a_timestamp() {
    left_out_after(
        "UPDATE \"User\" SET lastSeen = 'last tuesday' WHERE id = 2;",
        &[("unreadable_owner", 1)],
    );
}

#[test]
fn null_last_seen_is_never_seen_outside_retention() {
    let report = left_out_after(
        "UPDATE \"User\" SET lastSeen = NULL WHERE id = 2;",
        &[("outside_retention_window", 1)],
    );
    assert_eq!(
        report["selection"]["excluded_users"]["outside_retention_window"],
        1
    );
    assert_eq!(report["selection"]["bad_rows"]["sets"], 0);
}

#[test]
fn bad_rows_beyond_max_malformed_share_are_refused() {
    // One undecryptable set in six (17 %) is far beyond the default 5 %: the database is taken
    // for damaged, nothing is written, and the message gives counts and the first row only.
    let run = refused_when(
        |db, _| store_measies(db, 6, format!("{{\"chest\":{CANARY_VALUE}}}")),
        &[
            "fixture.sqlite: 1 of 6 sets that could be published cannot be read (16.67 %, more than max_malformed_share = 0.05)",
            "undecryptable 1 (first: Set row 6)",
            "nothing was written",
        ],
    );
    assert!(!run.stderr().contains("chest"));
}

#[test]
fn a_database_of_garbage_is_refused_with_every_reason_counted() {
    let run = refused_after(
        "UPDATE \"Set\" SET measies = '{\"chest\":1}' WHERE id <= 2;
         UPDATE \"Set\" SET userId = 987654 WHERE id = 3;
         UPDATE \"User\" SET status = 'active' WHERE id = 4;",
        &[
            "4 of 6 sets that could be published cannot be read",
            "unreadable_owner 1 (first: User row 4), orphan_set 1 (first: Set row 3), undecryptable 2 (first: Set row 1)",
        ],
    );
    assert!(!run.stderr().contains("987654"));
}

// ---------------------------------------------------------------- who is left

#[test]
fn empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &[]);
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(
        run,
        &["fixture.sqlite: 0 eligible people (after selection) cannot form a group of k = 5"],
        dir.path(),
        &[&db, &key],
    );
}

#[test]
fn no_eligible_people() {
    let users: Vec<FixtureUser> = people(8)
        .into_iter()
        .map(|user| FixtureUser { consent: 2, ..user })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(
        run,
        &["fixture.sqlite: 0 eligible people (after selection) cannot form a group of k = 5"],
        dir.path(),
        &[&db, &key],
    );
}

#[test]
fn fewer_eligible_people_than_k() {
    let mut users = people(4);
    // One person with many sets is still one person.
    users[0].sets = (0..6)
        .map(|i| format!("{{\"chest\":{},\"waist\":700}}", 950 + i))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let run = publish(&db, &key, dir.path(), &[]);
    assert_refused(
        run,
        &["fixture.sqlite: 4 eligible people (after selection) cannot form a group of k = 5; nothing to publish"],
        dir.path(),
        &[&db, &key],
    );
}

// ---------------------------------------------------------------- configuration

/// Publishes the sample with `config` written to `dir/release.toml`.
fn refuse_config(config: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("release.toml");
    std::fs::write(&path, config).unwrap();
    let run = publish_sample(
        &dir.path().join("release"),
        &["--config", path.to_str().unwrap()],
    );
    assert_refused(run, expected, dir.path(), &[&path]);
}

#[test]
fn config_unknown_key() {
    refuse_config(
        "k = 5\nsupression = 0.1\n",
        &["release.toml (line 2): unknown field `supression`, expected one of"],
    );
}

#[test]
fn config_unknown_key_in_thresholds() {
    refuse_config(
        "[thresholds]\nmin_kk = 2\n",
        &["release.toml (line 2): unknown field `min_kk`"],
    );
}

#[test]
fn config_wrong_type() {
    refuse_config(
        "k = \"five\"\n",
        &[
            "release.toml (line 1): invalid type: string",
            "expected usize",
        ],
    );
}

#[test]
fn config_not_toml() {
    refuse_config("k = = 5\n", &["release.toml (line 1): "]);
}

#[test]
fn config_k_zero() {
    refuse_config(
        "k = 0\n",
        &["release.toml (field `k`): must be at least 2: with k = 1 every record"],
    );
}

#[test]
fn command_line_k_zero() {
    let dir = tempfile::tempdir().unwrap();
    let run = publish_sample(&dir.path().join("release"), &["--k", "0"]);
    assert_refused(run, &["invalid --k: must be at least 2"], dir.path(), &[]);
}

#[test]
fn config_negative_k() {
    refuse_config("k = -5\n", &["release.toml (line 1): invalid value"]);
}

#[test]
fn suppression_share_outside_0_1() {
    for share in ["1.5", "-0.1", "nan"] {
        refuse_config(
            &format!("[thresholds]\nmax_suppressed_share = {share}\n"),
            &["release.toml (field `thresholds.max_suppressed_share`): must be between 0 and 1"],
        );
    }
}

#[test]
fn malformed_share_outside_0_1() {
    for share in ["1.5", "-0.1", "nan"] {
        refuse_config(
            &format!("max_malformed_share = {share}\n"),
            &["release.toml (field `max_malformed_share`): must be between 0 and 1"],
        );
    }
}

#[test]
fn threshold_min_k_zero() {
    refuse_config(
        "[thresholds]\nmin_k = 0\n",
        &["release.toml (field `thresholds.min_k`): must be at least 1"],
    );
}

#[test]
fn missing_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    let run = publish_sample(
        &dir.path().join("release"),
        &["--config", path.to_str().unwrap()],
    );
    assert_refused(
        run,
        &["cannot read config", "absent.toml", "No such file"],
        dir.path(),
        &[],
    );
}

#[test]
fn config_names_a_missing_schema() {
    refuse_config(
        "schema = \"absent-schema.toml\"\n",
        &["cannot read", "absent-schema.toml", "No such file"],
    );
}

#[test]
fn config_names_an_invalid_schema() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.toml");
    std::fs::write(
        &schema,
        "name = \"x\"\n[[column]]\nname = \"chest\"\nrole = \"quasi_identifier\"\ntype = \"number\"\nplausible = [1500, 600]\n",
    )
    .unwrap();
    let config = dir.path().join("release.toml");
    std::fs::write(&config, "schema = \"schema.toml\"\n").unwrap();
    let run = publish_sample(
        &dir.path().join("release"),
        &["--config", config.to_str().unwrap()],
    );
    assert_refused(
        run,
        &["schema.toml (column `chest`): `plausible` must be [low, high] with low < high"],
        dir.path(),
        &[&schema, &config],
    );
}

#[test]
fn bad_as_of_date() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sample_db();
    let out = dir.path().join("release");
    let run = anonpub(
        &[
            "publish",
            "--db",
            db.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
            "--as-of",
            "01/11/2026",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_refused(
        run,
        &["--as-of", "expected a date as YYYY-MM-DD"],
        dir.path(),
        &[],
    );
}

// ---------------------------------------------------------------- the output

#[test]
fn output_directory_not_empty_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep me").unwrap();
    let run = publish_sample(&out, &[]);
    assert_refused(
        run,
        &["release already exists and is not empty; pass --force to replace it"],
        dir.path(),
        &[&out],
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn output_path_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    std::fs::write(&out, "a file").unwrap();
    let run = publish_sample(&out, &["--force"]);
    assert_refused(
        run,
        &["release: exists and is a file, not a directory"],
        dir.path(),
        &[&out],
    );
}

#[test]
fn output_directory_not_writable() {
    // sysfs refuses new entries even to root, so this holds for every user.
    let out = Path::new("/sys/anonpub-test-release");
    let run = publish_sample(out, &[]).expect_code(2);
    assert!(
        run.stderr()
            .contains("cannot create staging directory in /sys"),
        "{}",
        run.stderr()
    );
    assert_clean(&run.stdout(), &run.stderr());
    assert!(!out.exists());
    // A read-only filesystem, where user namespaces allow mounting one.
    if let Some(run) = in_private_tmpfs("ro", "$dir/release") {
        let run = run.expect_code(2);
        assert!(
            run.stderr().contains("Read-only file system"),
            "{}",
            run.stderr()
        );
        assert_eq!(run.stdout().trim(), "", "left behind");
    }
}

#[test]
fn full_disk() {
    // A 64 KiB filesystem: the release (about 300 KiB) cannot fit.
    if let Some(run) = in_private_tmpfs("size=64k", "$dir/release") {
        let run = run.expect_code(2);
        let stderr = run.stderr();
        assert!(
            stderr.contains("No space left on device") && stderr.contains("anonpub-staging"),
            "{stderr}"
        );
        assert_clean(&run.stdout(), &stderr);
        assert_eq!(run.stdout().trim(), "", "left behind");
    }
    // Everywhere: a file size limit makes writes fail the same way (EFBIG instead of ENOSPC).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let (db, key) = sample_db();
    let output = Command::new("sh")
        .args([
            "-c",
            "ulimit -f 128 && trap '' XFSZ && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_anonpub"),
            "publish",
            "--db",
            db.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
            "--as-of",
            "2026-11-01",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    let run = Run {
        command: "ulimit -f 128; anonpub publish".into(),
        output,
    };
    assert_refused(
        run,
        &["cannot write", "measurements.csv", "File too large"],
        dir.path(),
        &[],
    );
}

/// Publishes the sample into a fresh tmpfs mounted with `options` in a private user and mount
/// namespace; prints what is left on the tmpfs afterwards to stdout. `None` (with a note) where
/// the system does not allow unprivileged namespaces.
fn in_private_tmpfs(options: &str, out: &str) -> Option<Run> {
    let allowed = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .status()
        .is_ok_and(|status| status.success());
    if !allowed {
        eprintln!("note: user namespaces unavailable; tmpfs case not run");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sample_db();
    let script = format!(
        "dir=\"$1\"; mount -t tmpfs -o {options} tmpfs \"$dir\" || exit 99; \
         \"$2\" publish --db \"$3\" --key-file \"$4\" --as-of 2026-11-01 --out \"{out}\" --quiet; \
         code=$?; ls -A \"$dir\"; exit $code"
    );
    let output = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .arg(dir.path())
        .arg(env!("CARGO_BIN_EXE_anonpub"))
        .arg(db)
        .arg(key)
        .output()
        .unwrap();
    let run = Run {
        command: format!("anonpub publish onto tmpfs -o {options}"),
        output,
    };
    assert_ne!(run.code(), 99, "mount failed: {}", run.stderr());
    Some(run)
}

// ---------------------------------------------------------------- interruption

/// A 100,000-user sample, made once per build and shared by the interruption tests.
fn large_sample() -> (PathBuf, PathBuf) {
    static MADE: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    MADE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("large-sample");
        std::fs::create_dir_all(&dir).unwrap();
        let (db, key) = (dir.join("sample.sqlite"), dir.join("sample.key"));
        if !(db.is_file() && key.is_file()) {
            anonpub(
                &[
                    "sample",
                    "--users",
                    "100000",
                    "--seed",
                    "5",
                    "--db",
                    db.to_str().unwrap(),
                    "--key-file",
                    key.to_str().unwrap(),
                    "--force",
                    "--quiet",
                ],
                &[],
            )
            .expect_code(0);
        }
        (db, key)
    })
    .clone()
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_anonpub"))
        .args(args)
        .env_remove("API_ENC_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}

/// Waits until `appeared` holds (then returns true) or the child exits (false).
fn wait_for(child: &mut Child, appeared: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        if appeared() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("timed out");
}

fn finish(child: Child, command: &str) -> Run {
    Run {
        command: command.into(),
        output: child.wait_with_output().unwrap(),
    }
}

fn publish_large(out: &Path) -> Child {
    let (db, key) = large_sample();
    spawn(&[
        "publish",
        "--db",
        db.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--as-of",
        "2026-11-01",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        "1",
    ])
}

/// Interrupts `publish` while it writes its staging directory.
fn interrupt_while_writing(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let mut child = publish_large(&out);
    let staging_exists = || has_entries(dir.path());
    assert!(
        wait_for(&mut child, staging_exists),
        "publish ended before writing"
    );
    signal(&child, name);
    let run = finish(child, &format!("publish, SIG{name} while writing"));
    assert_refused(
        run,
        &["interrupted by signal; nothing was written"],
        dir.path(),
        &[],
    );
}

#[test]
fn sigterm_while_writing_the_release() {
    interrupt_while_writing("TERM");
}

#[test]
fn sigint_while_writing_the_release() {
    interrupt_while_writing("INT");
}

#[test]
fn sigterm_before_writing_and_at_random_moments() {
    // Fixed delays: during selection/anonymization, or later while writing; a signal that comes
    // after the release is committed finds the process gone and a complete release in place.
    for delay in [300, 650, 1000] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("release");
        let mut child = publish_large(&out);
        std::thread::sleep(Duration::from_millis(delay));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            signal(&child, "TERM");
        }
        let run = finish(child, &format!("publish, SIGTERM after {delay} ms"));
        if run.code() == 0 {
            let verify = anonpub(&["verify", out.to_str().unwrap()], &[]);
            verify.expect_code(0);
            assert_only(dir.path(), &[&out]);
        } else {
            assert_refused(run, &["interrupted by signal"], dir.path(), &[]);
        }
    }
}

#[test]
fn sigterm_while_writing_a_sample_database() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = (dir.path().join("s.sqlite"), dir.path().join("s.key"));
    let mut child = spawn(&[
        "sample",
        "--users",
        "100000",
        "--db",
        db.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
    ]);
    let staging = || {
        std::fs::read_dir(dir.path()).unwrap().any(|entry| {
            let name = entry.unwrap().file_name();
            name.to_string_lossy()
                .starts_with(".s.sqlite.anonpub-staging-")
        })
    };
    assert!(wait_for(&mut child, staging), "sample ended before writing");
    std::thread::sleep(Duration::from_millis(50));
    signal(&child, "TERM");
    let run = finish(child, "sample, SIGTERM while writing");
    assert_refused(run, &["interrupted by signal"], dir.path(), &[]);
}

// ---------------------------------------------------------------- hierarchies (library)

fn hierarchy(text: &[u8], delimiter: u8) -> Result<Hierarchy, HierarchyError> {
    Hierarchy::from_csv_reader(text, "age.csv", delimiter)
}

#[test]
fn hierarchy_missing_values_present_in_the_data() {
    let hierarchy = hierarchy(b"30;30-39;*\n31;30-39;*\n", DEFAULT_DELIMITER).unwrap();
    let error = hierarchy
        .encode_column("age", &["30", "31", "987"])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "column age, row 3: value not found in the column's hierarchy"
    );
}

#[test]
fn hierarchy_of_uneven_depth() {
    let error = hierarchy(b"30;30-39;*\n31;30-39\n", DEFAULT_DELIMITER).unwrap_err();
    assert_eq!(
        error.to_string(),
        "hierarchy age.csv, row 2: 2 levels where row 1 has 3"
    );
}

#[test]
fn hierarchy_with_ragged_rows() {
    let error = hierarchy(b"30;30-39;*\n31;30-39;*;extra\n", DEFAULT_DELIMITER).unwrap_err();
    assert_eq!(
        error.to_string(),
        "hierarchy age.csv, row 2: 4 levels where row 1 has 3"
    );
}

#[test]
fn hierarchy_with_the_wrong_delimiter() {
    let error = hierarchy(b"30,30-39,*\n31,30-39,*\n", DEFAULT_DELIMITER).unwrap_err();
    assert_eq!(
        error.to_string(),
        "hierarchy age.csv: every row is a single field, but row 1 contains `,`: expected fields separated by `;`"
    );
}

#[test]
fn hierarchy_with_invalid_utf8() {
    let error = hierarchy(b"30;30-39;*\n3\xff;30-39;*\n", DEFAULT_DELIMITER).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("cannot read hierarchy age.csv: ") && message.contains("invalid utf-8"),
        "{message}"
    );
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn hierarchy_with_a_byte_order_mark_is_read() {
    let hierarchy = hierarchy(b"\xef\xbb\xbf30;30-39;*\n31;30-39;*\n", DEFAULT_DELIMITER).unwrap();
    assert_eq!(
        hierarchy.encode_column("age", &["30", "31"]).unwrap(),
        vec![0, 1]
    );
}

#[test]
fn hierarchy_empty_file() {
    let error = hierarchy(b"", DEFAULT_DELIMITER).unwrap_err();
    assert_eq!(error.to_string(), "hierarchy age.csv has no rows");
}

#[test]
fn hierarchy_listing_a_value_twice() {
    let error = hierarchy(b"30;30-39;*\n31;30-39;*\n30;30-39;*\n", DEFAULT_DELIMITER).unwrap_err();
    assert_eq!(
        error.to_string(),
        "hierarchy age.csv, row 3: original value already listed in row 1"
    );
}

#[test]
fn hierarchy_levels_that_do_not_nest() {
    let error = hierarchy(b"30;30-39;young\n31;30-39;old\n", DEFAULT_DELIMITER).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("hierarchy age.csv, row 2: its level-1 label is shared"),
        "{error}"
    );
}

// ---------------------------------------------------------------- release CSV read by `verify`

/// Publishes the sample, rewrites its CSV with `damage`, and expects `verify` to fail (exit 1:
/// a damaged release is what verify reports, not unusable input) without quoting cells.
fn verify_damaged(damage: impl Fn(&[u8]) -> Vec<u8>, failing_check: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    publish_sample(&out, &[]).expect_code(0);
    let csv = out.join("measurements.csv");
    let (_, rows) = read_csv(&csv);
    std::fs::write(&csv, damage(&std::fs::read(&csv).unwrap())).unwrap();
    let run = anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(1);
    let stdout = run.stdout();
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with(failing_check) && line.contains("FAIL")),
        "{stdout}"
    );
    assert!(!stdout.contains(&rows[0][0]), "verify quotes a record id");
}

#[test]
fn release_csv_with_the_wrong_delimiter() {
    verify_damaged(
        |bytes| {
            bytes
                .iter()
                .map(|&b| if b == b',' { b';' } else { b })
                .collect()
        },
        "csv readable",
    );
}

#[test]
fn release_csv_with_ragged_rows() {
    verify_damaged(
        |bytes| {
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines[3].push_str(",1000");
            (lines.join("\n") + "\n").into_bytes()
        },
        "csv readable",
    );
}

#[test]
fn release_csv_with_invalid_utf8() {
    verify_damaged(
        |bytes| {
            let mut bytes = bytes.to_vec();
            let second_line = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
            bytes[second_line] = 0xff;
            bytes
        },
        "csv readable",
    );
}

#[test]
fn release_csv_with_a_byte_order_mark() {
    verify_damaged(
        |bytes| [b"\xef\xbb\xbf".as_slice(), bytes].concat(),
        "checksums",
    );
}

// ---------------------------------------------------------------- other commands

/// Runs `sample` into `dir` with `extra` arguments (a valid `--users` unless `extra` has one).
fn sample_into(dir: &Path, extra: &[&str]) -> Run {
    let (db, key) = (dir.join("s.sqlite"), dir.join("s.key"));
    let mut args = vec![
        "sample",
        "--db",
        db.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
    ];
    if !extra.contains(&"--users") {
        args.extend_from_slice(&["--users", "10"]);
    }
    args.extend_from_slice(extra);
    anonpub(&args, &[])
}

#[test]
fn sample_with_zero_users() {
    let dir = tempfile::tempdir().unwrap();
    let run = sample_into(dir.path(), &["--users", "0"]);
    assert_refused(
        run,
        &["invalid --users: must be at least 1"],
        dir.path(),
        &[],
    );
}

#[test]
fn sample_with_a_messy_share_outside_0_1() {
    for share in ["1.5", "-0.1", "NaN"] {
        let dir = tempfile::tempdir().unwrap();
        let run = sample_into(dir.path(), &[&format!("--messy={share}")]);
        assert_refused(
            run,
            &["invalid --messy: must be between 0 and 1"],
            dir.path(),
            &[],
        );
    }
}

#[test]
fn verify_of_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-release");
    let run = anonpub(&["verify", missing.to_str().unwrap()], &[]);
    assert_refused(
        run,
        &[
            "cannot read release directory",
            "no-release",
            "No such file",
        ],
        dir.path(),
        &[],
    );
}
