//! Risk in the publish pipeline: the public risk section, the internal report, threshold gates
//! at publish and their re-check by verify.

use anonpub::release::checksums::sha256_file;

use crate::fixtures::*;

#[test]
fn report_has_public_risk_and_internal_report_stays_outside() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let internal = dir.path().join("internal.json");
    publish_sample(&out, &["--internal-report", internal.to_str().unwrap()]).expect_code(0);

    let report = json(&out.join("report.json"));
    let risk = &report["risk"];
    assert_eq!(
        risk["records"],
        report["anonymization"]["published_records"]
    );
    assert!(
        risk["reidentification"]["prosecutor"]["highest"]
            .as_f64()
            .unwrap()
            <= 0.2
    );
    assert_eq!(risk["reidentification"]["threshold"], 0.2);
    assert!(report["parameters"]["thresholds"]
        .as_object()
        .unwrap()
        .contains_key("max_linkage_success"));
    let public = std::fs::read_to_string(out.join("report.json")).unwrap();
    for internal_only in [
        "utility",
        "ks_distance",
        "own_row_success",
        "share_disclosed",
    ] {
        assert!(
            !public.contains(internal_only),
            "{internal_only} in report.json"
        );
    }
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        anonpub::release::RELEASE_FILES.len()
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&internal).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let internal = json(&internal);
    assert!(internal["notice"]
        .as_str()
        .unwrap()
        .contains("never publish"));
    let linkage = &internal["linkage"];
    assert_eq!(linkage["attacker"]["error"], 10.0);
    assert_eq!(linkage["attacker"]["noise"], "uniform");
    let result = &linkage["result"];
    let success = result["success"].as_f64().unwrap();
    let one_over_k = result["one_over_k"].as_f64().unwrap();
    let random = result["random_guess"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&success));
    assert!(one_over_k <= 0.2 && random < one_over_k);
    // A released row of the right group is one of at least k rows.
    assert!(result["own_row_success"].as_f64().unwrap() <= success);
    assert_eq!(
        result["targets"],
        report["anonymization"]["published_records"]
    );
    let disclosure = &result["interval_disclosure"];
    assert_eq!(disclosure["tolerance"], 0.02);
    assert!(disclosure["unknown_values"].as_u64().unwrap() > 0);
    let utility = &internal["utility"];
    let columns = utility["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 38);
    let chest = columns.iter().find(|c| c["column"] == "chest").unwrap();
    assert!(chest["ks_distance"].as_f64().unwrap() < 0.2);
    assert_eq!(chest["quantile_differences"].as_array().unwrap().len(), 7);
    assert!(
        utility["correlation_mean_absolute_difference"]
            .as_f64()
            .unwrap()
            < 0.2
    );
}

#[test]
fn internal_report_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b] = ["a.json", "b.json"].map(|name| dir.path().join(name));
    publish_sample(
        &dir.path().join("one"),
        &["--internal-report", a.to_str().unwrap()],
    )
    .expect_code(0);
    publish_sample(
        &dir.path().join("two"),
        &["--internal-report", b.to_str().unwrap()],
    )
    .expect_code(0);
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn internal_report_inside_the_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    for inside in [
        out.join("internal.json"),
        dir.path().join("x/../release/internal.json"),
    ] {
        let run =
            publish_sample(&out, &["--internal-report", inside.to_str().unwrap()]).expect_code(2);
        assert!(
            run.stderr().contains("inside the release directory"),
            "{}",
            run.stderr()
        );
        assert!(!out.exists());
    }
}

#[test]
fn failing_risk_and_linkage_thresholds_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let internal = dir.path().join("internal.json");
    for (threshold, name) in [
        ("max_highest_risk = 0.1", "max_highest_risk"),
        ("max_average_risk = 0.01", "max_average_risk"),
        ("max_linkage_success = 0.0", "max_linkage_success"),
        ("max_interval_disclosure = 0.0", "max_interval_disclosure"),
    ] {
        let config = write_config(dir.path(), &format!("[thresholds]\n{threshold}\n"));
        let run = publish_sample(
            &out,
            &[
                "--config",
                &config,
                "--internal-report",
                internal.to_str().unwrap(),
            ],
        )
        .expect_code(1);
        let stderr = run.stderr();
        assert!(
            stderr.contains(&format!("threshold `{name}` failed: measured "))
                && stderr.contains("nothing was written"),
            "{stderr}"
        );
        assert!(!out.exists() && !internal.exists());
    }
}

#[test]
fn thresholds_that_pass_are_recorded_and_rechecked_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let config = write_config(
        dir.path(),
        "[thresholds]\nmin_k = 5\nmax_highest_risk = 0.2\nmax_average_risk = 0.2\nmax_records_at_risk = 0.0\nmax_linkage_success = 1.0\n",
    );
    publish_sample(&out, &["--config", &config]).expect_code(0);
    let report = json(&out.join("report.json"));
    assert_eq!(report["parameters"]["thresholds"]["max_highest_risk"], 0.2);
    let run = anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(0);
    let stdout = run.stdout();
    for name in [
        "min_k",
        "max_highest_risk",
        "max_average_risk",
        "max_records_at_risk",
    ] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(name) && line.contains("ok")),
            "{name}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("need the raw data: max_linkage_success"),
        "{stdout}"
    );

    // A stricter threshold in an otherwise consistent release fails verify.
    let mut report = report;
    report["parameters"]["thresholds"]["max_average_risk"] = serde_json::json!(0.001);
    std::fs::write(
        out.join("report.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
    // Keep the manifest and the checksums consistent, as a careful forger would.
    let report_path = out.join("report.json");
    let mut manifest = json(&out.join("manifest.json"));
    for file in manifest["files"].as_array_mut().unwrap() {
        if file["path"] == "report.json" {
            file["bytes"] = serde_json::json!(std::fs::metadata(&report_path).unwrap().len());
            file["sha256"] = serde_json::json!(sha256_file(&report_path).unwrap());
        }
    }
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    reseal(&out, &anonpub::release::RELEASE_FILES);
    let run = anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(1);
    let stdout = run.stdout();
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("max_average_risk") && line.contains("FAIL")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("checksums") && line.contains("ok")),
        "{stdout}"
    );
}

#[test]
fn bad_linkage_and_threshold_settings_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    for (text, name) in [
        ("[linkage]\nknown = [\"tail\"]\n", "linkage.known"),
        ("[thresholds]\nmin_l = 2\n", "thresholds.min_l"),
        (
            "[thresholds]\nmax_linkage_success = 2\n",
            "max_linkage_success",
        ),
    ] {
        let config = write_config(dir.path(), text);
        let run = publish_sample(&out, &["--config", &config]).expect_code(2);
        assert!(run.stderr().contains(name), "{name}: {}", run.stderr());
        assert!(!out.exists());
    }
}

#[test]
fn a_release_with_every_record_suppressed_is_refused() {
    // Three people, each measuring something the others did not: no pattern is shared by k = 2.
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<FixtureUser> = [r#"{"chest":900}"#, r#"{"waist":800}"#, r#"{"neck":380}"#]
        .iter()
        .map(|measies| FixtureUser::eligible(vec![measies.to_string()]))
        .collect();
    let (db, key) = fixture_db(dir.path(), &users);
    let out = dir.path().join("release");
    let run = publish_fixture(&db, &key, &out, 2, &[]).expect_code(1);
    assert!(
        run.stderr()
            .contains("all 3 eligible records were suppressed"),
        "{}",
        run.stderr()
    );
    assert!(!out.exists());
}

#[test]
fn simulated_attacks_gate_the_release_and_the_ledger_carries_membership() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    let internal = dir.path().join("internal.json");
    let ledger = dir.path().join("ledger.json");
    let (internal_arg, ledger_arg) = (internal.to_str().unwrap(), ledger.to_str().unwrap());
    let extra = ["--internal-report", internal_arg, "--ledger", ledger_arg];
    publish_sample(&out, &extra).expect_code(0);

    // The noise is stated in report.json; the attacks stay in the internal report.
    let report = json(&out.join("report.json"));
    assert_eq!(report["parameters"]["group_noise"]["scale_sd"], 0.05);
    assert_eq!(
        report["parameters"]["thresholds"]["max_differencing_recovered"],
        0.03
    );
    let public = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(!public.contains("median_error_sd"));
    let attacks = &json(&internal)["attacks"];
    let summary = attacks["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 4);
    for line in summary {
        assert!(line["recovered_share"].as_f64().unwrap() <= 0.05, "{line}");
        assert!(line["targets"].as_u64().unwrap() >= 30, "{line}");
    }
    assert_eq!(attacks["public_exposed_share"], 0.0);
    let auc = attacks["detail"]["membership"]["all"]["auc"]
        .as_f64()
        .unwrap();
    assert!((0.0..=1.0).contains(&auc), "{attacks}");
    assert!(
        attacks["detail"]["changes"].is_null(),
        "no previous release"
    );

    // The ledger: private, with the membership; the next release is checked against it.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&ledger).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let recorded = json(&ledger);
    assert_eq!(
        recorded["membership"]["groups"].as_array().unwrap().len() as u64,
        report["anonymization"]["groups"].as_u64().unwrap()
    );
    let later = ["--as-of", "2026-09-15"];
    let (db, key) = sample_db();
    let second = dir.path().join("second");
    let args = [
        "publish",
        "--db",
        db.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--out",
        second.to_str().unwrap(),
        "--seed",
        "11",
        "--quiet",
        "--internal-report",
        internal_arg,
        "--ledger",
        ledger_arg,
        "--force",
        later[0],
        later[1],
    ];
    anonpub(&args, &[]).expect_code(0);
    let second_attacks = &json(&internal)["attacks"];
    let changes = &second_attacks["detail"]["changes"];
    assert_eq!(changes["previous_release"], "1.0.0");
    assert!(changes["joined"].as_u64().unwrap() > 0, "{changes}");
    let joiner_targets = second_attacks["detail"]["differencing"]["joiners"]["targets"]
        .as_u64()
        .unwrap();
    assert_eq!(
        changes["joiner_targets_from_ledger"],
        changes["joined"].as_u64().unwrap().min(joiner_targets)
    );

    // A handful of people without the keyed noise: two releases differ by one person in plain
    // sight, refused (exit 1).
    let users: Vec<FixtureUser> = (0..6)
        .map(|i| {
            FixtureUser::eligible(vec![format!(
                "{{\"chest\":{},\"waist\":{}}}",
                900 + 7 * i,
                700 + 5 * i
            )])
        })
        .collect();
    let (db, key) = fixture_db(dir.path(), &users);
    let tiny = dir.path().join("tiny");
    let config = write_config(
        dir.path(),
        "max_malformed_share = 0.2\nmin_published_measurements = 1\n\
         [defences]\ngroup_noise_sd = 0\n",
    );
    let run =
        publish_fixture(&db, &key, &tiny, 5, &["--config", &config, "--verbose"]).expect_code(1);
    assert!(
        run.stderr().contains("max_differencing_recovered"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("risk --attacks"), "{}", run.stderr());
    assert!(!tiny.exists());
}
