//! `anonpub publish` end to end.

use std::collections::{HashMap, HashSet};

use crate::fixtures::*;

fn measies(chest: f64, waist: f64) -> String {
    format!("{{\"chest\":{chest},\"waist\":{waist}}}")
}

#[test]
fn sample_release_has_every_file_and_passes_verify() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    publish_sample(&out, &[]).expect_code(0);
    for file in anonpub::release::RELEASE_FILES {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["k_requested"], 5);
    assert!(report["k_achieved"].as_u64().unwrap() >= 5);
    let selection = &report["selection"];
    let excluded: u64 = selection["excluded_sets"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        selection["eligible_sets"].as_u64().unwrap() + excluded,
        selection["sets_in_database"].as_u64().unwrap()
    );
    for reason in [
        "no_open_data_consent",
        "account_not_active",
        "outside_retention_window",
        "implausible_value",
    ] {
        assert!(
            selection["excluded_sets"][reason].as_u64().unwrap() > 0,
            "{reason}"
        );
    }
    let anonymization = &report["anonymization"];
    assert_eq!(
        anonymization["published_records"].as_u64().unwrap()
            + anonymization["suppressed_records"].as_u64().unwrap(),
        selection["eligible_sets"].as_u64().unwrap()
    );
    let (header, rows) = read_csv(&out.join("measurements.csv"));
    assert_eq!(header[0], "record_id");
    assert_eq!(header.len(), 39);
    assert_eq!(
        rows.len() as u64,
        anonymization["published_records"].as_u64().unwrap()
    );
    let run = anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(0);
    assert!(run.stdout().contains("k-anonymity"));
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_other_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    publish_sample(&a, &[]).expect_code(0);
    publish_sample(&b, &[]).expect_code(0);
    publish_sample(&c, &["--seed", "12"]).expect_code(0);
    assert_eq!(anonpub::release::RELEASE_FILES.len(), 8);
    for file in anonpub::release::RELEASE_FILES {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file} differs"
        );
    }
    let ids = |dir: &std::path::Path| -> HashSet<String> {
        read_csv(&dir.join("measurements.csv"))
            .1
            .into_iter()
            .map(|row| row[0].clone())
            .collect()
    };
    assert!(ids(&a).is_disjoint(&ids(&c)));
    let listing = |dir: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(listing(&a), listing(&b), "no extra file in either release");
}

#[test]
fn no_set_of_an_ineligible_user_reaches_the_release() {
    // Only ineligible users carry `head`; eligible ones have chest and waist only.
    let mut users: Vec<FixtureUser> = (0..12)
        .map(|i| {
            FixtureUser::eligible(vec![measies(
                900.0 + 10.0 * f64::from(i),
                700.0 + f64::from(i),
            )])
        })
        .collect();
    let with_head = "{\"chest\":950,\"waist\":720,\"head\":570}".to_string();
    users.push(FixtureUser {
        consent: 2,
        ..FixtureUser::eligible(vec![with_head.clone()])
    });
    users.push(FixtureUser {
        status: 0,
        ..FixtureUser::eligible(vec![with_head.clone()])
    });
    users.push(FixtureUser {
        status: -2,
        ..FixtureUser::eligible(vec![with_head.clone()])
    });
    users.push(FixtureUser {
        last_seen: 1_700_000_000_000i64.into(),
        ..FixtureUser::eligible(vec![with_head])
    });
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let out = dir.path().join("release");
    publish_fixture(&db, &key, &out, 3, &[]).expect_code(0);
    let (header, rows) = read_csv(&out.join("measurements.csv"));
    let head = header.iter().position(|h| h == "head").unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|row| row[head].is_empty()));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["selection"]["eligible_people"], 12);
    assert_eq!(
        report["selection"]["excluded_sets"]["no_open_data_consent"],
        1
    );
    assert_eq!(
        report["selection"]["excluded_sets"]["account_not_active"],
        2
    );
    assert_eq!(
        report["selection"]["excluded_sets"]["outside_retention_window"],
        1
    );
}

#[test]
fn one_person_with_many_near_duplicates_never_forms_a_group_alone() {
    // One user owns ten nearly identical sets far from everyone else; k = 3 counts people.
    let mut users: Vec<FixtureUser> = (0..6)
        .map(|i| FixtureUser::eligible(vec![measies(800.0 + f64::from(i), 650.0)]))
        .collect();
    users.push(FixtureUser::eligible(
        (0..10)
            .map(|i| measies(1500.0 + f64::from(i), 1300.0))
            .collect(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let out = dir.path().join("release");
    publish_fixture(&db, &key, &out, 3, &[]).expect_code(0);
    let (_, rows) = read_csv(&out.join("measurements.csv"));
    let mut groups: HashMap<Vec<String>, usize> = HashMap::new();
    for row in &rows {
        *groups.entry(row[1..].to_vec()).or_default() += 1;
    }
    // The big person's 10 rows must share their released values with at least 2 other people:
    // the group holding them has more than 10 rows.
    assert!(groups.values().all(|&n| n >= 3));
    assert!(groups.values().any(|&n| n >= 12), "{groups:?}");
}

#[test]
fn iso_text_timestamps_and_v4_names_are_read() {
    let mut users: Vec<FixtureUser> = (0..5)
        .map(|i| FixtureUser {
            last_seen: format!("2026-0{}-15T10:00:00.000Z", i + 3).into(),
            ..FixtureUser::eligible(vec![format!(
                "{{\"chest\":{},\"waistToArmpit\":200}}",
                900 + i
            )])
        })
        .collect();
    users.push(FixtureUser {
        last_seen: "2025-01-01T00:00:00Z".to_string().into(),
        ..FixtureUser::eligible(vec![measies(900.0, 700.0)])
    });
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let out = dir.path().join("release");
    publish_fixture(&db, &key, &out, 5, &[]).expect_code(0);
    let (header, rows) = read_csv(&out.join("measurements.csv"));
    let armhole = header.iter().position(|h| h == "waistToArmhole").unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|row| row[armhole] == "200"));
}

#[test]
fn key_from_environment_and_wrong_key_is_a_clear_error() {
    let (db, key) = sample_db();
    let secret = std::fs::read_to_string(&key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let db = db.to_str().unwrap();
    let base = [
        "publish",
        "--db",
        db,
        "--as-of",
        "2026-11-01",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    anonpub(&base, &[("API_ENC_KEY", secret.trim())]).expect_code(0);
    std::fs::remove_dir_all(&out).unwrap();
    let run = anonpub(&base, &[("API_ENC_KEY", "not-the-key")]).expect_code(2);
    assert!(
        run.stderr().contains("key does not decrypt"),
        "{}",
        run.stderr()
    );
    assert!(!out.exists());
    let run = anonpub(&base, &[]).expect_code(2);
    assert!(
        run.stderr().contains("no encryption key"),
        "{}",
        run.stderr()
    );
}

#[test]
fn existing_output_is_kept_without_force_and_replaced_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "x").unwrap();
    let run = publish_sample(&out, &[]).expect_code(2);
    assert!(run.stderr().contains("--force"));
    assert!(out.join("keep.txt").exists());
    publish_sample(&out, &["--force"]).expect_code(0);
    assert!(!out.join("keep.txt").exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "staging left behind"
    );
}

/// The arguments of `publish_sample`, for runs started as child processes.
fn publish_command(out: &std::path::Path) -> std::process::Command {
    let (db, key) = sample_db();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_anonpub"));
    command
        .args([
            "publish",
            "--as-of",
            "2026-11-01",
            "--seed",
            "11",
            "--quiet",
        ])
        .arg("--db")
        .arg(db)
        .arg("--key-file")
        .arg(key)
        .arg("--out")
        .arg(out)
        .env_remove("API_ENC_KEY");
    command
}

#[test]
fn two_runs_on_one_output_never_replace_each_other_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let children: Vec<std::process::Child> = (0..2)
        .map(|_| {
            publish_command(&out)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<std::process::Output> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let codes: Vec<i32> = outputs.iter().map(|o| o.status.code().unwrap()).collect();
    let winners = codes.iter().filter(|&&code| code == 0).count();
    assert_eq!(winners, 1, "exit codes {codes:?}");
    let loser = outputs.iter().find(|o| !o.status.success()).unwrap();
    let stderr = String::from_utf8_lossy(&loser.stderr);
    assert_eq!(loser.status.code(), Some(2), "{stderr}");
    // Refused at start (the winner had finished) or at the final step (both ran): either way
    // the message names the directory and the way out.
    assert!(
        stderr.contains(out.to_str().unwrap()) && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "staging left behind"
    );
    anonpub(&["verify", out.to_str().unwrap(), "--quiet"], &[]).expect_code(0);
}

#[test]
fn staging_left_by_a_killed_run_is_removed_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    // A process id that is certainly gone: a child that has been waited for.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = dir.path().join(format!(".release.anonpub-staging-{dead}"));
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("measurements.csv"), "record_id\n").unwrap();
    let run = publish_command(&out).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        !stale.exists(),
        "the dead run's staging directory is still there"
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["release"]);
}

#[test]
fn failed_threshold_exits_1_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("release.toml");
    std::fs::write(&config, "k = 5\n[thresholds]\nmin_k = 50\n").unwrap();
    let out = dir.path().join("release");
    let run = publish_sample(&out, &["--config", config.to_str().unwrap()]).expect_code(1);
    assert!(
        run.stderr().contains("min_k") && run.stderr().contains("measured"),
        "{}",
        run.stderr()
    );
    assert!(!has_entries(&out));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// One malformed set in six is beyond the default `max_malformed_share`: the refusal names the
/// reason and the row, never the value (bad_inputs.rs has the release that leaves it out).
#[test]
fn malformed_measies_names_the_row_not_the_value() {
    let mut users: Vec<FixtureUser> = (0..5)
        .map(|i| FixtureUser::eligible(vec![measies(900.0 + f64::from(i), 700.0)]))
        .collect();
    users.push(FixtureUser::eligible(vec![
        "{\"chest\":\"947 secret\"}".into()
    ]));
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let out = dir.path().join("release");
    let run = publish_fixture(&db, &key, &out, 5, &[]).expect_code(2);
    let stderr = run.stderr();
    assert!(
        stderr.contains("malformed_value 1 (first: Set row 6)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("947") && !stderr.contains("secret"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn too_few_people_and_bad_arguments_exit_2() {
    let users: Vec<FixtureUser> = (0..3)
        .map(|i| FixtureUser::eligible(vec![measies(900.0 + f64::from(i), 700.0)]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let out = dir.path().join("release");
    let run = publish_fixture(&db, &key, &out, 5, &[]).expect_code(2);
    assert!(
        run.stderr().contains("3 eligible people"),
        "{}",
        run.stderr()
    );
    publish_fixture(&db, &key, &out, 0, &[]).expect_code(2);
    let missing = dir.path().join("missing.sqlite");
    let run = publish_fixture(&missing, &key, &out, 5, &[]).expect_code(2);
    assert!(run.stderr().contains("missing.sqlite"), "{}", run.stderr());
    assert!(!out.exists());
}
