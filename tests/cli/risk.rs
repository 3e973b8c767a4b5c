//! `anonpub risk` against ARX 3.9's figures for the ARX benchmark's adult table, and on releases.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::fixtures::*;

const US_POPULATION: &str = "317238626";

fn adult() -> PathBuf {
    repo("tests/data/arx-adult/adult.csv")
}

fn test_schema(name: &str) -> PathBuf {
    repo("tests/data").join(name)
}

fn risk_json(input: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "risk",
        "--input",
        input.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let run = anonpub(&args, &[]).expect_code(0);
    serde_json::from_str(&run.stdout()).unwrap()
}

fn adult_json(schema: &str) -> Value {
    let schema = test_schema(schema);
    risk_json(
        &adult(),
        &[
            "--schema",
            schema.to_str().unwrap(),
            "--population",
            US_POPULATION,
        ],
    )
}

fn number(value: &Value, pointer: &str) -> f64 {
    value
        .pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} missing in {value:#}"))
}

fn assert_close(value: &Value, pointer: &str, expected: f64, relative: f64) {
    let actual = number(value, pointer);
    assert!(
        ((actual - expected) / expected).abs() <= relative,
        "{pointer}: got {actual}, expected {expected}"
    );
}

/// SNB either estimates or says why not.
fn assert_snb_reported(risk: &Value) {
    let snb = &risk["population"]["snb"];
    match snb["status"].as_str() {
        Some("estimated") => assert!(snb["fraction"].as_f64().is_some()),
        Some("unavailable") => assert!(!snb["reason"].as_str().unwrap().is_empty()),
        other => panic!("unexpected SNB status {other:?}"),
    }
}

#[test]
fn adult_with_nine_quasi_identifiers_matches_arx() {
    let output = adult_json("adult-9qi.toml");
    assert_eq!(output["quasi_identifiers"].as_array().unwrap().len(), 9);
    let risk = &output["risk"];
    assert_eq!(risk["records"], 30_162);
    assert_eq!(risk["classes"], 19_502);
    assert_close(risk, "/reidentification/prosecutor/average", 0.64658, 1e-4);
    assert_eq!(number(risk, "/reidentification/prosecutor/highest"), 1.0);
    assert_close(risk, "/sample_uniqueness/share", 0.51429, 1e-4);
    assert_close(risk, "/population/pitman/fraction", 0.038896, 1e-4);
    assert_close(risk, "/population/zayatz/fraction", 0.264565, 1e-4);
    assert_eq!(risk["population"]["dankar"]["model"], "pitman");
    assert_snb_reported(risk);
    // Journalist equals prosecutor without a population table; marketer is the average.
    assert_eq!(
        risk["reidentification"]["journalist"],
        risk["reidentification"]["prosecutor"]
    );
    assert_close(risk, "/reidentification/marketer_average", 0.64658, 1e-4);
    let buckets = risk["risk_distribution"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.last().unwrap()["cumulative_share"], 1.0);
}

#[test]
fn adult_with_four_quasi_identifiers_matches_arx() {
    let output = adult_json("adult-4qi.toml");
    assert_eq!(
        output["quasi_identifiers"],
        serde_json::json!(["sex", "age", "race", "marital-status"])
    );
    let risk = &output["risk"];
    assert_close(risk, "/reidentification/prosecutor/average", 0.056031, 1e-4);
    assert_close(risk, "/sample_uniqueness/share", 0.018003, 1e-4);
    // ARX prints these to three significant digits; ours must round to the same.
    for (pointer, arx) in [
        ("/population/pitman/fraction", "2.27e-5"),
        ("/population/zayatz/fraction", "3.29e-4"),
    ] {
        assert_eq!(format!("{:.2e}", number(risk, pointer)), arx, "{pointer}");
    }
    assert_eq!(risk["population"]["dankar"]["model"], "pitman");
    assert_snb_reported(risk);
}

#[test]
fn text_output_and_threshold_flag() {
    let schema = test_schema("adult-4qi.toml");
    let run = anonpub(
        &[
            "risk",
            "--input",
            adult().to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
            "--population",
            US_POPULATION,
            "--threshold",
            "0.5",
        ],
        &[],
    )
    .expect_code(0);
    let stdout = run.stdout();
    for expected in [
        "30162 records, 4 quasi-identifiers",
        "prosecutor",
        "journalist",
        "marketer",
        "records > 0.5",
        "sample uniques",
        "Pitman",
        "Zayatz",
        "SNB",
        "Dankar",
        "records by prosecutor risk",
    ] {
        assert!(stdout.contains(expected), "{expected} missing:\n{stdout}");
    }
    // Nothing of the table itself is printed.
    assert!(!stdout.contains("Never-married"), "{stdout}");
}

#[test]
fn a_release_is_assessed_without_a_schema_and_matches_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    publish_sample(&out, &[]).expect_code(0);
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let output = risk_json(&out.join("measurements.csv"), &[]);
    assert_eq!(output["quasi_identifiers"].as_array().unwrap().len(), 38);
    let risk = &output["risk"];
    assert_eq!(risk["classes"], report["risk"]["classes"]);
    assert_eq!(risk["records"], report["risk"]["records"]);
    assert_eq!(risk["reidentification"], report["risk"]["reidentification"]);
    // Every released row is shared by k = 5 people, so by at least 5 rows.
    assert!(number(risk, "/reidentification/prosecutor/highest") <= 0.2);
    assert_eq!(risk["sample_uniqueness"]["unique_records"], 0);
    assert_eq!(risk["population"]["status"], "not_requested");
    let parquet = risk_json(&out.join("measurements.parquet"), &[]);
    assert_eq!(parquet["risk"], *risk);
}

#[test]
fn unusable_input_exits_2_without_echoing_cells() {
    let dir = tempfile::tempdir().unwrap();
    let schema = test_schema("adult-9qi.toml");
    let schema = schema.to_str().unwrap();
    let adult = adult();
    let adult = adult.to_str().unwrap();
    anonpub(
        &[
            "risk",
            "--input",
            adult,
            "--schema",
            schema,
            "--threshold",
            "0",
        ],
        &[],
    )
    .expect_code(2);
    let missing = dir.path().join("missing.csv");
    let run = anonpub(
        &[
            "risk",
            "--input",
            missing.to_str().unwrap(),
            "--schema",
            schema,
        ],
        &[],
    )
    .expect_code(2);
    assert!(run.stderr().contains("missing.csv"), "{}", run.stderr());
    let no_quasi = dir.path().join("none.toml");
    std::fs::write(
        &no_quasi,
        "name = \"x\"\ndelimiter = \";\"\n[[column]]\nname = \"sex\"\nrole = \"insensitive\"\ntype = \"string\"\n",
    )
    .unwrap();
    let run = anonpub(
        &[
            "risk",
            "--input",
            adult,
            "--schema",
            no_quasi.to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    assert!(
        run.stderr().contains("quasi_identifier"),
        "{}",
        run.stderr()
    );
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "sex;age\nFemale;39;secret-cell\n").unwrap();
    let two = dir.path().join("two.toml");
    std::fs::write(
        &two,
        "name = \"x\"\ndelimiter = \";\"\n[[column]]\nname = \"sex\"\nrole = \"quasi_identifier\"\ntype = \"string\"\n[[column]]\nname = \"age\"\nrole = \"quasi_identifier\"\ntype = \"integer\"\n",
    )
    .unwrap();
    let run = anonpub(
        &[
            "risk",
            "--input",
            ragged.to_str().unwrap(),
            "--schema",
            two.to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    assert!(run.stderr().contains("line 2"), "{}", run.stderr());
    assert!(!run.stderr().contains("secret-cell"), "{}", run.stderr());
    // A population smaller than the table is explained, not fatal.
    let output = risk_json(
        Path::new(adult),
        &["--schema", schema, "--population", "100"],
    );
    assert_eq!(output["risk"]["population"]["status"], "rejected");
}

/// `risk --attacks` on the sample database with `extra` flags.
fn risk_attacks(extra: &[&str]) -> Run {
    let (db, key) = sample_db();
    let mut args = vec![
        "risk",
        "--attacks",
        "--db",
        db.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--as-of",
        "2026-11-01",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    anonpub(&args, &[])
}

#[test]
fn attacks_on_demand_are_those_publish_gates_on_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let internal = dir.path().join("internal.json");
    let ledger = dir.path().join("ledger.json");
    publish_sample(
        &out,
        &[
            "--seed",
            "4",
            "--internal-report",
            internal.to_str().unwrap(),
            "--ledger",
            ledger.to_str().unwrap(),
        ],
    )
    .expect_code(0);
    let internal: Value = serde_json::from_slice(&std::fs::read(&internal).unwrap()).unwrap();
    let ledger_bytes = std::fs::read(&ledger).unwrap();
    let before: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();

    // Without the ledger, the same seed gives the figures the publish gates judged.
    let run = risk_attacks(&["--seed", "4", "--format", "json"]).expect_code(0);
    let output: Value = serde_json::from_str(&run.stdout()).unwrap();
    let published = &internal["attacks"];
    assert_eq!(published["detail"]["changes"], Value::Null);
    assert_eq!(
        &output["attacks"], published,
        "risk --attacks and publish agree"
    );
    let gates = output["gates"].as_array().unwrap();
    let names: Vec<&str> = gates.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "max_differencing_recovered",
            "max_fake_accounts_recovered",
            "max_public_exposed_share",
            "max_membership_auc"
        ]
    );
    assert!(gates.iter().all(|gate| gate["passed"] == true), "{gates:?}");

    // With the ledger of that release, joiners come from it; the ledger is only read.
    let run = risk_attacks(&["--seed", "4", "--ledger", ledger.to_str().unwrap()]).expect_code(0);
    let text = run.stdout();
    for line in [
        "differencing, leaver",
        "differencing, joiner",
        "fake accounts",
        "known members",
        "membership inference",
        "since release",
        "ok   max_differencing_recovered",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
    assert!(text.contains("0 people joined"), "{text}");
    assert_eq!(std::fs::read(&ledger).unwrap(), ledger_bytes);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        before.len(),
        "risk --attacks writes nothing"
    );
}

#[test]
fn a_failing_attack_gate_exits_1_after_printing_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    // Pairs and no noise: a released row is the nearest row to its two members, so whoever
    // knows a whole set tells members from the others (AUC about 0.76 on the sample).
    let config = dir.path().join("weak.toml");
    std::fs::write(
        &config,
        "k = 2\n[defences]\ngroup_noise_sd = 0\n[thresholds]\nmin_k = 2\n",
    )
    .unwrap();
    let run = risk_attacks(&["--seed", "1", "--config", config.to_str().unwrap()]).expect_code(1);
    let (stdout, stderr) = (run.stdout(), run.stderr());
    assert!(stdout.contains("FAIL max_membership_auc"), "{stdout}");
    assert!(stderr.contains("max_membership_auc"), "{stderr}");
    // Figures only: no measurement name with a value, no identifier.
    assert!(!stdout.contains("@"), "{stdout}");
}

#[test]
fn a_tight_membership_gate_is_judged_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    // No attacker tells members from non-members with an AUC of 0.1 (a coin gives 0.5): the
    // gate must be measured, printed with its figure, and refuse.
    let config = dir.path().join("tight.toml");
    std::fs::write(&config, "[thresholds]\nmax_membership_auc = 0.1\n").unwrap();
    let args = ["--seed", "1", "--config", config.to_str().unwrap()];
    let run = risk_attacks(&args).expect_code(1);
    let (stdout, stderr) = (run.stdout(), run.stderr());
    assert!(stdout.contains("FAIL max_membership_auc"), "{stdout}");
    assert!(stdout.contains("membership inference"), "{stdout}");
    assert!(stderr.contains("max_membership_auc"), "{stderr}");
    let mut json = args.to_vec();
    json.extend(["--format", "json"]);
    let output: Value = serde_json::from_str(&risk_attacks(&json).expect_code(1).stdout()).unwrap();
    let auc = output["attacks"]["membership_auc"].as_f64().unwrap();
    assert!((0.1..=1.0).contains(&auc), "{output:#}");
    let detail = &output["attacks"]["detail"]["membership"];
    assert!(
        detail["all"]["members"].as_u64().unwrap() >= 100,
        "{detail}"
    );
    assert!(
        detail["all"]["tpr_at_5_percent_fpr"].is_number(),
        "{detail}"
    );
    // Under a limit it meets, the release is published; report.json records the limit and the
    // datasheet says what the release was held back on.
    let loose = dir.path().join("loose.toml");
    std::fs::write(&loose, "[thresholds]\nmax_membership_auc = 0.95\n").unwrap();
    let out = dir.path().join("release");
    publish_sample(&out, &["--seed", "1", "--config", loose.to_str().unwrap()]).expect_code(0);
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report["parameters"]["thresholds"]["max_membership_auc"],
        0.95
    );
    let datasheet = std::fs::read_to_string(out.join("README.md")).unwrap();
    for words in [
        "tells members from non-members by the nearest released row with an AUC of at most 0.95",
        "**Telling who is in it:**",
        // The method's benchmark has as many people as the release has rows, recording its
        // published patterns; at that size the method reaches every column's goals (the
        // verdict naming the columns it misses is the datasheet's unit test).
        "At this release's size (1062 people in the benchmark) the method reaches, for every \
         column, the goals",
        "each recording one of the 34 patterns of measurements this release publishes",
        "1062 people drawn by anonpub's own generator (seed 2026), as many as this release's rows",
    ] {
        assert!(datasheet.contains(words), "`{words}` missing:\n{datasheet}");
    }
}

#[test]
fn attack_flags_and_table_flags_do_not_mix() {
    let (db, _) = sample_db();
    let db = db.to_str().unwrap();
    let run = anonpub(&["risk", "--input", db, "--as-of", "2026-11-01"], &[]).expect_code(2);
    assert!(run.stderr().contains("--as-of"), "{}", run.stderr());
    let run = risk_attacks(&["--population", "1000"]).expect_code(2);
    assert!(run.stderr().contains("--population"), "{}", run.stderr());
    let run = anonpub(&["risk", "--attacks", "--db", db], &[]).expect_code(2);
    assert!(run.stderr().contains("--as-of"), "{}", run.stderr());
    anonpub(&["risk"], &[]).expect_code(2);
}

#[test]
fn attacks_run_on_a_person_table() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/freesewing-table.toml");
    let run = anonpub(
        &[
            "risk",
            "--attacks",
            "--source",
            "table",
            "--input",
            data.join("example-people.csv").to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
            "--key-file",
            data.join("example-people.key").to_str().unwrap(),
            "--as-of",
            "2026-11-01",
            "--seed",
            "1",
            "--format",
            "json",
        ],
        &[],
    )
    .expect_code(0);
    let output: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(output["attacks"]["detail"]["eligible_people"], 131);
    assert_eq!(
        output["attacks"]["summary"].as_array().unwrap().len(),
        4,
        "{output:#}"
    );
}
