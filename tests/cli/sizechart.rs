//! `publish` with a `[sizechart]`: the chart joins the release and `verify` checks it; the
//! privacy ledger refuses a release past the lifetime budget; without `[sizechart]` the release
//! is unchanged.

use std::path::Path;

use crate::fixtures::*;

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("release.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

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
    assert_eq!(csv.lines().count(), 1 + 2 * 8, "{csv}");
    assert!(
        csv.starts_with("stratum,measurement,unit,n,n_error95,mean,"),
        "{csv}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(first.join("report.json")).unwrap()).unwrap();
    let chart = &report["sizechart"];
    assert_eq!(chart["privacy_unit"], "person");
    assert_eq!(chart["budget"]["epsilon"], 1.0);
    assert_eq!(chart["budget"]["figures"].as_array().unwrap().len(), 12);
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
