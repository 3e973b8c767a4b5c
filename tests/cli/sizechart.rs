//! `publish` with a `[sizechart]`: the chart joins the release and `verify` checks it; the
//! privacy ledger refuses a release past the lifetime budget; without `[sizechart]` the release
//! is unchanged.

use std::path::Path;

use crate::fixtures::*;

#[test]
fn the_chart_joins_the_release_and_the_ledger_keeps_the_lifetime_budget() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[sizechart]\nepsilon = 1\nlifetime_epsilon = 2\nstrata = \"breasts-only-measurements\"\n",
    );
    let ledger = dir.path().join("ledger.json");
    let ledger_arg = ledger.to_str().unwrap().to_string();
    let first = dir.path().join("first");
    publish_sample(&first, &["--config", &config, "--ledger", &ledger_arg]).expect_code(0);
    for file in ["sizechart.csv", "sizechart.parquet"] {
        assert!(first.join(file).is_file(), "{file}");
    }
    let csv = std::fs::read_to_string(first.join("sizechart.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 4, "{csv}");
    assert!(
        csv.starts_with("stratum,measurement,unit,n,n_error95,mean,"),
        "{csv}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(first.join("report.json")).unwrap()).unwrap();
    let chart = &report["sizechart"];
    assert_eq!(chart["privacy_unit"], "person");
    assert_eq!(chart["budget"]["epsilon"], 1.0);
    assert!(chart["budget"]["figures"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["rho"].as_f64().unwrap() > 0.0 && f["mechanism"].is_string()));
    // Every published figure meets the tolerance: error95 ≤ 0.25 reference SD.
    let (names, rows) = read_csv(&first.join("sizechart.csv"));
    let measurements = chart["measurements"].as_array().unwrap();
    let mut published = 0;
    for row in &rows {
        let reference = measurements
            .iter()
            .find(|m| m["name"] == row[1].as_str())
            .unwrap()["reference_sd"]
            .as_f64()
            .unwrap();
        for (column, name) in names.iter().enumerate().skip(5) {
            if name.ends_with("_error95") && !row[column].is_empty() {
                let error: f64 = row[column].parse().unwrap();
                assert!(
                    error <= 0.25 * reference + 1e-9,
                    "{name} of {}: {error}",
                    row[1]
                );
                published += 1;
            }
        }
    }
    assert!(published > 0, "the sample publishes something");
    let readme = std::fs::read_to_string(first.join("README.md")).unwrap();
    assert!(readme.contains("Not byte-reproducible"), "{readme}");
    let html = std::fs::read_to_string(first.join("report.html")).unwrap();
    assert!(html.contains("Size chart (differential privacy)"));
    let sums = std::fs::read_to_string(first.join("SHA256SUMS")).unwrap();
    assert!(sums.contains("  sizechart.parquet\n"), "{sums}");
    let checked = anonpub(&["verify", first.to_str().unwrap()], &[]).expect_code(0);
    assert!(
        checked.stdout().contains("size chart budget"),
        "{}",
        checked.stdout()
    );
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&ledger).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode, 0o600);

    let second = dir.path().join("second");
    publish_sample(&second, &["--config", &config, "--ledger", &ledger_arg]).expect_code(0);
    let third = dir.path().join("third");
    let refused =
        publish_sample(&third, &["--config", &config, "--ledger", &ledger_arg]).expect_code(1);
    assert!(
        refused.stderr().contains("ε = 0 is left"),
        "{}",
        refused.stderr()
    );
    assert!(!third.exists(), "nothing written");
    let entries: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ledger).unwrap()).unwrap();
    assert_eq!(entries["releases"].as_array().unwrap().len(), 2);

    // A cheapened budget in the report is caught.
    let mut cheated = report.clone();
    cheated["sizechart"]["budget"]["rho"] = serde_json::json!(1.0);
    std::fs::write(
        first.join("report.json"),
        serde_json::to_vec_pretty(&cheated).unwrap(),
    )
    .unwrap();
    let failed = anonpub(&["verify", first.to_str().unwrap()], &[]).expect_code(1);
    assert!(
        failed.stdout().contains("size chart budget"),
        "{}",
        failed.stdout()
    );
}

#[test]
fn a_lifetime_budget_needs_a_ledger_outside_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[sizechart]\nlifetime_epsilon = 3\n");
    let out = dir.path().join("release");
    let refused = publish_sample(&out, &["--config", &config]).expect_code(2);
    assert!(
        refused.stderr().contains("--ledger"),
        "{}",
        refused.stderr()
    );
    let inside = out.join("ledger.json");
    let refused = publish_sample(
        &out,
        &["--config", &config, "--ledger", inside.to_str().unwrap()],
    )
    .expect_code(2);
    assert!(refused.stderr().contains("private"), "{}", refused.stderr());
    let unknown = write_config(dir.path(), "[sizechart]\nmeasurements = [\"elbowSpan\"]\n");
    let refused = publish_sample(&out, &["--config", &unknown]).expect_code(2);
    assert!(
        refused.stderr().contains("elbowSpan"),
        "{}",
        refused.stderr()
    );
    assert!(!out.exists());
}

/// `publish` of the sample with a chart config and a ledger, into `out`, with extra environment.
fn publish_charted(out: &Path, config: &str, ledger: &Path, env: &[(&str, &str)]) -> Run {
    let (db, key) = sample_db();
    let ledger = ledger.to_str().unwrap();
    let extra = ["--seed", "11", "--config", config, "--ledger", ledger];
    publish_db(&db, &key, out, &extra, env)
}

fn ledger_statuses(ledger: &Path) -> Vec<String> {
    let entries: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ledger).unwrap()).unwrap();
    entries["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap_or("committed").to_string())
        .collect()
}

#[test]
fn concurrent_publishes_on_one_ledger_both_record_or_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[sizechart]\nepsilon = 1\nlifetime_epsilon = 3\n",
    );
    let ledger = dir.path().join("ledger.json");
    let together = |names: [&str; 2]| -> Vec<i32> {
        let handles = names.map(|name| {
            let (out, config, ledger) = (dir.path().join(name), config.clone(), ledger.clone());
            std::thread::spawn(move || publish_charted(&out, &config, &ledger, &[]).code())
        });
        handles.map(|h| h.join().unwrap()).to_vec()
    };
    // Room for both: both publish and both spends are recorded.
    assert_eq!(together(["a", "b"]), [0, 0]);
    assert_eq!(ledger_statuses(&ledger), ["committed", "committed"]);
    // Room for one more: exactly one publishes, the other is refused by the budget.
    let mut codes = together(["c", "d"]);
    codes.sort_unstable();
    assert_eq!(codes, [0, 1]);
    assert_eq!(ledger_statuses(&ledger).len(), 3);
    let released = ["a", "b", "c", "d"]
        .iter()
        .filter(|name| dir.path().join(name).is_dir())
        .count();
    assert_eq!(released, 3, "one release per recorded spend");
}

#[test]
fn a_run_killed_between_the_ledger_and_the_commit_leaves_an_over_count() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[sizechart]\nepsilon = 1\nlifetime_epsilon = 2\n",
    );
    let ledger = dir.path().join("ledger.json");
    let killed = dir.path().join("killed");
    // The test-only hook aborts the process right after the write-ahead, as a kill would.
    let run = publish_charted(
        &killed,
        &config,
        &ledger,
        &[("ANONPUB_TEST_ABORT_AFTER_WRITE_AHEAD", "1")],
    );
    assert_ne!(run.code(), 0);
    assert!(!killed.exists(), "the release never appeared");
    assert_eq!(
        ledger_statuses(&ledger),
        ["pending"],
        "but its spend is recorded"
    );
    // The next run reconciles it (not found: kept and counted) and records its own spend.
    let next = dir.path().join("next");
    publish_charted(&next, &config, &ledger, &[]).expect_code(0);
    assert_eq!(ledger_statuses(&ledger), ["unconfirmed", "committed"]);
    // Both count: the lifetime budget of 2 is spent.
    let refused = publish_charted(&dir.path().join("third"), &config, &ledger, &[]).expect_code(1);
    assert!(
        refused.stderr().contains("ε = 0 is left"),
        "{}",
        refused.stderr()
    );
}

#[test]
fn a_two_way_table_of_bands_is_published_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[sizechart]\nmeasurements = [\"chest\", \"waist\", \"hips\"]\n\
         [sizechart.bands]\nby = [\"chest\", \"waistToFloor\"]\ncount = 3\n",
    );
    let out = dir.path().join("release");
    publish_sample(&out, &["--config", &config]).expect_code(0);
    let (_, rows) = read_csv(&out.join("sizechart.csv"));
    // (3 bands + "no chest") × (3 bands + "no waistToFloor") strata × 3 measurements.
    assert_eq!(rows.len(), 16 * 3);
    assert!(
        rows.iter()
            .any(|r| r[0].starts_with("chest ") && r[0].contains(" · waistToFloor ")),
        "{:?}",
        rows.iter().map(|r| &r[0]).collect::<Vec<_>>()
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert!(report["sizechart"]["strata_rule"]
        .as_str()
        .unwrap()
        .contains("bands of chest × waistToFloor"));
    anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(0);
}

/// A sizing survey's person table in cm, unlike anything the generator makes: `people`
/// respondents with sex, age and region, some measured twice, and messy rows: chest typed as
/// "n/a", a waist of 400 cm, rows without a respondent, respondents who did not consent, an
/// unlisted region ("west"), empty ages, and respondents whose two rows disagree on their sex.
fn survey_rows(people: usize) -> String {
    let mut draw = Draw(0x5123_e7a1_b00c);
    let mut text =
        String::from("respondent,consent,sex,age,region,height_cm,chest_cm,waist_cm,hips_cm\n");
    for person in 0..people {
        let female = draw.next() < 0.5;
        let age = 18 + (draw.next() * 58.0) as u32;
        let region = match draw.next() {
            r if r < 0.5 => "north",
            r if r < 0.95 => "south",
            _ => "west",
        };
        let older = if age >= 40 { 5.0 } else { 0.0 };
        let (height, chest, waist, hips) = if female {
            (163.0, 92.0, 78.0 + older, 100.0)
        } else {
            (177.0, 102.0, 90.0 + older, 101.0)
        };
        let mut values = [
            height + 6.8 * draw.normal(),
            chest + 8.0 * draw.normal(),
            waist + 10.5 * draw.normal(),
            hips + 7.5 * draw.normal(),
        ]
        .map(|v| format!("{v:.1}"));
        let consent = if person % 53 == 0 { 0 } else { 1 };
        let age = if person % 97 == 0 {
            String::new()
        } else {
            age.to_string()
        };
        let sex = if female { "f" } else { "m" };
        let id = if person % 211 == 0 {
            String::new()
        } else {
            format!("R{person:05}")
        };
        if person % 89 == 0 {
            values[1] = "n/a".into();
        }
        if person % 131 == 0 {
            values[2] = "400.0".into();
        }
        if person % 7 == 0 {
            values[3] = String::new();
        }
        let row = |sex: &str, values: &[String]| {
            format!("{id},{consent},{sex},{age},{region},{}\n", values.join(","))
        };
        text.push_str(&row(sex, &values));
        if person % 10 == 0 {
            // Measured again; every 50th respondent's second row disagrees on the sex.
            let sex = if person % 50 == 0 {
                if female {
                    "m"
                } else {
                    "f"
                }
            } else {
                sex
            };
            text.push_str(&row(sex, &values));
        }
    }
    text
}

#[test]
fn a_person_table_in_cm_is_charted_by_its_stratum_columns_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("survey.csv");
    std::fs::write(&table, survey_rows(12_000)).unwrap();
    let schema = repo("tests/data/survey-strata.toml");
    let chart = "[sizechart]\nmeasurements = [\"chest_cm\", \"waist_cm\", \"hips_cm\", \"height_cm\"]\n\
                 reference_mean = { chest_cm = 97, waist_cm = 86, hips_cm = 101, height_cm = 170 }\n\
                 reference_sd = { chest_cm = 10, waist_cm = 12.5, hips_cm = 8, height_cm = 9.5 }\n\
                 [attacks]\nenabled = false\n";
    let config = write_config(dir.path(), chart);
    let out = dir.path().join("release");
    let ledger = dir.path().join("ledger.json");
    let publish = |config: &str, out: &Path| {
        let ledger = ledger.to_str().unwrap();
        let extra = ["--seed", "4", "--ledger", ledger, "--config", config, "-q"];
        publish_table(&table, &schema, out, &extra)
    };
    publish(&config, &out).expect_code(0);
    anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(0);

    // The messy rows were left out and counted.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let excluded = report["selection"]["excluded_sets"].to_string();
    for reason in [
        "malformed_value",
        "implausible_value",
        "orphan_set",
        "no_open_data_consent",
    ] {
        assert!(excluded.contains(reason), "{reason}: {excluded}");
    }
    // 3 sexes × 3 age bands × 3 regions, names from the schema only: "west" never appears.
    let strata: Vec<String> = report["sizechart"]["strata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(strata.len(), 27, "{strata:?}");
    assert!(strata.contains(&"sex = f · age < 40 · region = north".to_string()));
    assert!(strata.contains(
        &"sex: other or not stated · age ≥ 40 · region: other or not stated".to_string()
    ));
    let csv = std::fs::read_to_string(out.join("sizechart.csv")).unwrap();
    assert!(!csv.contains("west"));
    // The stratum columns are never published as microdata.
    let (columns, _) = read_csv(&out.join("measurements.csv"));
    assert!(
        columns
            .iter()
            .all(|c| !["sex", "age", "region"].contains(&c.as_str())),
        "{columns:?}"
    );

    // Every stratum has its rows; the large ones publish a chest P50 or mean in cm, all within
    // the tolerance (0.25 reference SD).
    let (names, rows) = read_csv(&out.join("sizechart.csv"));
    assert_eq!(rows.len(), 27 * 4);
    let column = |name: &str| names.iter().position(|n| n == name).unwrap();
    let mut charted = 0;
    for row in &rows {
        assert!(strata.contains(&row[column("stratum")]));
        assert_eq!(row[column("unit")], "cm");
        let reference = match row[column("measurement")].as_str() {
            "chest_cm" => 10.0,
            "waist_cm" => 12.5,
            "hips_cm" => 8.0,
            _ => 9.5,
        };
        for (c, name) in names.iter().enumerate().skip(5) {
            if name.ends_with("_error95") && !row[c].is_empty() {
                let error: f64 = row[c].parse().unwrap();
                assert!(error <= 0.25 * reference + 1e-9, "{name}: {error}");
            }
        }
        let main = !row[0].contains("other");
        if main && row[column("measurement")] == "chest_cm" {
            charted +=
                usize::from(!row[column("p50")].is_empty() || !row[column("mean")].is_empty());
        }
    }
    assert!(
        charted >= 6,
        "{charted} of 8 main strata publish chest's mean or P50\n{csv}"
    );

    // A measurement of a non-FreeSewing table without a public reference is refused.
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, "[sizechart]\nmeasurements = [\"chest_cm\"]\n").unwrap();
    let refused = publish(bare.to_str().unwrap(), &dir.path().join("refused")).expect_code(2);
    assert!(
        refused.stderr().contains("sizechart.reference_sd"),
        "{}",
        refused.stderr()
    );
    assert!(!dir.path().join("refused").exists());
}
