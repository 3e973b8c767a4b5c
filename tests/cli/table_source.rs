//! `anonpub publish --source table`: a person-keyed table goes through the same pipeline as the
//! FreeSewing database, and the same people give the same released rows.

use std::path::Path;

use crate::fixtures::*;

/// `publish` of a FreeSewing person table (`input`) with seed 3, quietly, plus `extra`.
fn publish_people(input: &Path, out: &Path, extra: &[&str]) -> Run {
    let schema = repo("schemas/freesewing-table.toml");
    let mut args = vec!["--seed", "3", "-q"];
    // A table has no secret: the group noise keeps its key in a ledger beside the release.
    let ledger = out.with_extension("ledger.json");
    let ledger = ledger.to_str().unwrap();
    if !extra.contains(&"--ledger") {
        args.extend(["--ledger", ledger]);
    }
    args.extend_from_slice(extra);
    publish_table(input, schema, out, &args)
}

/// The multi-release defences off: the database's noise is keyed by its secret and a table's by
/// its ledger, so only without noise can the two give the same bytes (and without noise, 600
/// people do not pass the default attack gates).
const NO_NOISE: &str = "[defences]\ngroup_noise_sd = 0\n[attacks]\nenabled = false\n";

#[test]
fn the_database_and_the_same_people_as_a_table_give_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key, table) = (
        dir.path().join("s.sqlite"),
        dir.path().join("s.key"),
        dir.path().join("people.csv"),
    );
    let path = |p: &Path| p.to_str().unwrap().to_string();
    anonpub(
        &[
            "sample",
            "--users",
            "600",
            "--seed",
            "5",
            "--messy",
            "0",
            "--db",
            &path(&db),
            "--key-file",
            &path(&key),
            "--table",
            &path(&table),
            "-q",
        ],
        &[],
    )
    .expect_code(0);
    let (from_db, from_table) = (dir.path().join("from-db"), dir.path().join("from-table"));
    let config = dir.path().join("no-noise.toml");
    std::fs::write(&config, NO_NOISE).unwrap();
    anonpub(
        &[
            "publish",
            "--db",
            &path(&db),
            "--key-file",
            &path(&key),
            "--as-of",
            "2026-11-01",
            "--out",
            &path(&from_db),
            "--seed",
            "3",
            "-q",
            "--config",
            &path(&config),
        ],
        &[],
    )
    .expect_code(0);
    publish_people(&table, &from_table, &["--config", &path(&config)]).expect_code(0);

    let (a, b) = (report(&from_db), report(&from_table));
    for field in ["eligible_sets", "eligible_people"] {
        assert_eq!(a["selection"][field], b["selection"][field], "{field}");
    }
    // Public sets are left out of both: the database counts them, the table never held them.
    assert!(
        a["selection"]["excluded_sets"]["public_set"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        a["selection"]["excluded_sets"]["implausible_value"],
        b["selection"]["excluded_sets"]["implausible_value"]
    );
    assert_eq!(a["anonymization"], b["anonymization"]);
    // The same rows and values; the record ids differ, as between any two inputs (they are
    // drawn from each input's fingerprint).
    let (db_header, db_rows) = read_csv(&from_db.join("measurements.csv"));
    let (table_header, table_rows) = read_csv(&from_table.join("measurements.csv"));
    assert_eq!(db_header, table_header);
    let values = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
        rows.iter().map(|row| row[1..].to_vec()).collect()
    };
    assert!(
        values(&db_rows) == values(&table_rows),
        "the database and the table give different rows"
    );
    let db_ids: std::collections::HashSet<&String> = db_rows.iter().map(|row| &row[0]).collect();
    assert!(table_rows.iter().all(|row| !db_ids.contains(&row[0])));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(from_table.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["input_fingerprint"]["algorithm"], "SHA-256");
    anonpub(&["verify", &path(&from_table), "-q"], &[]).expect_code(0);
    let datasheet = std::fs::read_to_string(from_table.join("README.md")).unwrap();
    assert!(
        datasheet.contains("its `consent` is 3 or higher"),
        "{datasheet}"
    );
}

#[test]
fn the_example_table_publishes_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let input = repo("data/example-people.csv");
    publish_people(&input, &out, &[]).expect_code(0);
    anonpub(&["verify", out.to_str().unwrap(), "-q"], &[]).expect_code(0);
    let (header, rows) = read_csv(&out.join("measurements.csv"));
    for private in ["person", "consent", "status", "last_seen"] {
        assert!(!header.iter().any(|h| h == private), "{private} published");
    }
    assert_eq!(
        rows.len() as u64,
        report(&out)["anonymization"]["published_records"]
            .as_u64()
            .unwrap()
    );
}

#[test]
fn bad_rows_of_a_table_are_left_out_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("people.csv");
    let header = std::fs::read_to_string(repo("data/example-people.csv")).unwrap();
    let mut lines = header.lines();
    let mut text = format!("{}\n", lines.next().unwrap());
    let rows: Vec<Vec<String>> = lines
        .map(|row| row.split(',').map(str::to_string).collect())
        .collect();
    // Rows of four different eligible people (consent 3, status 1, seen since 2025-11-01), so that
    // each bad row is judged for what is wrong with it and not for its owner.
    let window_start = 1_761_955_200_000_i64;
    let mut chosen: Vec<usize> = Vec::new();
    for (i, cells) in rows.iter().enumerate() {
        let eligible = cells[1] == "3"
            && cells[2] == "1"
            && cells[3].parse::<i64>().is_ok_and(|ms| ms >= window_start);
        let person_taken = chosen.iter().any(|&c| rows[c][0] == cells[0]);
        let only_set = rows.iter().filter(|r| r[0] == cells[0]).count() == 1;
        if eligible && only_set && !person_taken && chosen.len() < 4 {
            chosen.push(i);
        }
    }
    assert_eq!(
        chosen.len(),
        4,
        "the example holds eligible people with one set"
    );
    for (i, row) in rows.iter().enumerate() {
        let mut cells = row.clone();
        match chosen.iter().position(|&c| c == i) {
            // A measurement that is not a number, and one that is infinite.
            Some(0) => cells[4] = "abc".into(),
            Some(1) => cells[5] = "inf".into(),
            // An unreadable last visit makes its person unreadable.
            Some(2) => cells[3] = "last tuesday".into(),
            // A set with an empty person key belongs to nobody.
            Some(3) => cells[0] = String::new(),
            _ => {}
        }
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("release");
    let run = publish_people(
        &input,
        &out,
        &[
            "--config",
            repo("tests/data/lenient.toml").to_str().unwrap(),
        ],
    );
    let run = run.expect_code(0);
    let excluded = &report(&out)["selection"]["excluded_sets"];
    assert_eq!(excluded["malformed_value"], 2, "{excluded}");
    assert_eq!(excluded["unreadable_owner"], 1, "{excluded}");
    assert_eq!(excluded["orphan_set"], 1, "{excluded}");
    assert!(!run.stderr().contains("last tuesday") && !run.stderr().contains("abc"));
}

#[test]
fn a_table_without_a_person_key_or_with_database_flags_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.toml");
    std::fs::write(
        &schema,
        "name = \"x\"\n[[column]]\nname = \"chest\"\nrole = \"quasi_identifier\"\ntype = \"number\"\n",
    )
    .unwrap();
    let input = dir.path().join("t.csv");
    std::fs::write(&input, "chest\n900\n").unwrap();
    let out = dir.path().join("release");
    let run = publish_table(&input, &schema, &out, &[]).expect_code(2);
    assert!(run.stderr().contains("person_key"), "{}", run.stderr());
    let run = anonpub(
        &[
            "publish",
            "--source",
            "table",
            "--db",
            "x.sqlite",
            "--input",
            "t.csv",
            "--schema",
            "s.toml",
            "--as-of",
            "2026-11-01",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    assert!(run.stderr().contains("--db"), "{}", run.stderr());
    assert!(!out.exists());
}

#[test]
fn the_key_is_also_read_from_backend_enc_key() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sample_db();
    let secret = std::fs::read_to_string(key).unwrap();
    let out = dir.path().join("release");
    anonpub(
        &[
            "publish",
            "--db",
            db.to_str().unwrap(),
            "--as-of",
            "2026-11-01",
            "--out",
            out.to_str().unwrap(),
            "--seed",
            "1",
            "-q",
        ],
        &[("BACKEND_ENC_KEY", secret.trim_end())],
    )
    .expect_code(0);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("field key derived from BACKEND_ENC_KEY"),
        "{manifest}"
    );
}
