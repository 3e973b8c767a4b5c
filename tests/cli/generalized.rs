//! `publish` with a generalizing `[method]`: a categorical table with a sensitive column (the
//! clients of an alterations marketplace: city, age and sex with hierarchies, the service bought
//! as sensitive) goes through the same release path as the measurements, and `verify` re-checks
//! k, l and t from the released rows alone, even against a resealed, doctored report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::fixtures::*;

/// Publishes the clients with `config` (written beside `out`) and returns the run.
pub fn publish_clients(out: &Path, config: &str) -> Run {
    publish_clients_from(&data("clients.csv"), out, config)
}

/// Publishes `input`, a table of the clients' schema, with `config` (written beside `out`).
fn publish_clients_from(input: &Path, out: &Path, config: &str) -> Run {
    let config_path = out.with_extension("toml");
    std::fs::write(&config_path, config).unwrap();
    publish_table(
        input,
        data("clients.toml"),
        out,
        &[
            "--config",
            config_path.to_str().unwrap(),
            "--seed",
            "4",
            "-q",
        ],
    )
}

/// The released rows as (quasi-identifier cells, service), read with the csv crate directly.
fn released(out: &Path) -> Vec<(Vec<String>, String)> {
    let mut reader = csv::Reader::from_path(out.join("measurements.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        ["record_id", "city", "age", "sex", "service", "garments"]
    );
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            (
                vec![record[1].into(), record[2].into(), record[3].into()],
                record[4].into(),
            )
        })
        .collect()
}

/// k (rows per class) and distinct l counted here, independently of anonpub.
fn k_and_l(rows: &[(Vec<String>, String)]) -> (usize, usize) {
    let mut classes: BTreeMap<&Vec<String>, (usize, BTreeSet<&String>)> = BTreeMap::new();
    for (key, service) in rows {
        let class = classes.entry(key).or_default();
        class.0 += 1;
        class.1.insert(service);
    }
    (
        classes.values().map(|c| c.0).min().unwrap(),
        classes.values().map(|c| c.1.len()).min().unwrap(),
    )
}

#[test]
fn global_and_mondrian_publish_l_diverse_releases_that_verify() {
    let dir = tempfile::tempdir().unwrap();
    for method in ["global", "mondrian"] {
        let out = dir.path().join(method);
        let config = format!("[method]\nname = \"{method}\"\nl = 2\nt = 0.6\n");
        publish_clients(&out, &config).expect_code(0);
        for file in [
            "measurements.csv",
            "measurements.parquet",
            "datapackage.json",
            "report.json",
            "report.html",
            "README.md",
            "manifest.json",
            "SHA256SUMS",
        ] {
            assert!(out.join(file).is_file(), "{method}: {file}");
        }
        let report = report(&out);
        assert_eq!(report["method"], method);
        let rows = released(&out);
        let (k, l) = k_and_l(&rows);
        assert!(k >= 5, "{method}: k = {k}");
        assert!(l >= 2, "{method}: l = {l}");
        assert_eq!(report["anonymization"]["published_records"], rows.len());
        assert_eq!(report["generalization"]["l_diversity"]["achieved"], l);
        assert!(report["k_achieved"].as_u64().unwrap() as usize <= k);
        // Selection left out the bad rows, those without consent and those not seen within the
        // retention window, and counted them.
        let excluded = &report["selection"]["excluded_sets"];
        for reason in [
            "malformed_value",
            "implausible_value",
            "orphan_set",
            "no_open_data_consent",
            "outside_retention_window",
        ] {
            assert!(
                excluded[reason].as_u64().unwrap() >= 1,
                "{method}: {reason}"
            );
        }
        // No direct identifier or eligibility column is published.
        let csv = std::fs::read_to_string(out.join("measurements.csv")).unwrap();
        assert!(!csv.contains('@') && !csv.contains("C0"), "{method}");
        let sheet = std::fs::read_to_string(out.join("README.md")).unwrap();
        assert!(
            sheet.contains("Clients of an alterations marketplace"),
            "{method}"
        );
        assert!(!sheet.contains("FreeSewing"), "{method}");
        let verified = anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(0);
        let stdout = verified.stdout();
        assert!(
            stdout.contains(&format!("smallest group of identical rows: {k}")),
            "{stdout}"
        );
        assert!(
            stdout.contains("l-diversity") && stdout.contains("t-closeness"),
            "{stdout}"
        );
        // The same inputs, config and seed give the same bytes.
        let again = dir.path().join(format!("{method}-again"));
        publish_clients(&again, &config).expect_code(0);
        for file in ["measurements.csv", "measurements.parquet", "SHA256SUMS"] {
            assert_eq!(
                std::fs::read(out.join(file)).unwrap(),
                std::fs::read(again.join(file)).unwrap(),
                "{method}: {file}"
            );
        }
    }
}

#[test]
fn verify_recomputes_l_and_t_and_fails_a_resealed_report_that_claims_more() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("global");
    publish_clients(&out, "[method]\nname = \"mondrian\"\nl = 2\nt = 0.6\n").expect_code(0);
    let mut doctored = report(&out);
    // A report that claims its classes lie closer to the whole than they do.
    doctored["generalization"]["t_closeness"]["achieved"] = 0.0.into();
    let achieved = doctored["generalization"]["l_diversity"]["achieved"]
        .as_u64()
        .unwrap();
    doctored["generalization"]["l_diversity"]["achieved"] = (achieved + 1).into();
    doctored["generalization"]["l_diversity"]["requested"] = (achieved + 1).into();
    std::fs::write(
        out.join("report.json"),
        serde_json::to_vec_pretty(&doctored).unwrap(),
    )
    .unwrap();
    reseal_release(&out);
    let run = anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(1);
    let stdout = run.stdout();
    for check in ["l-diversity", "t-closeness"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(check) && line.contains("FAIL")),
            "{check}: {stdout}"
        );
    }
    assert!(!stdout
        .lines()
        .any(|line| line.contains("checksums") && line.contains("FAIL")));
}

/// A value its hierarchy does not list is exit 2 naming the line of the file, not its position
/// among the eligible rows: here it stands on line 20, after rows left out as malformed,
/// implausible, orphaned and outside the retention window.
#[test]
fn an_unlisted_value_is_refused_at_its_line_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(data("clients.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // An eligible client of their own (consented, seen within the window) in a city the
    // hierarchy does not know, as line 20 (line 1 is the header).
    lines.insert(
        19,
        "C99999,client9999@example.org,1,2026-10-20,Atlantis,30,F,hem,2",
    );
    let input = dir.path().join("clients.csv");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("release");
    let stderr = publish_clients_from(&input, &out, "[method]\nname = \"global\"\n")
        .expect_code(2)
        .stderr();
    assert!(
        stderr.contains("clients.csv (line 20, column `city`)")
            && stderr.contains("hierarchy_city.csv")
            && !stderr.contains("Atlantis"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_generalizing_method_is_refused_where_it_cannot_apply() {
    let dir = tempfile::tempdir().unwrap();
    // l without a generalizing method, and l on the FreeSewing database.
    let out = dir.path().join("mdav");
    let run = publish_clients(&out, "[method]\nl = 2\n").expect_code(2);
    assert!(run.stderr().contains("method.l"), "{}", run.stderr());
    let config = dir.path().join("global.toml");
    std::fs::write(&config, "[method]\nname = \"global\"\n").unwrap();
    let run = publish_sample(
        &dir.path().join("sample"),
        &["--config", config.to_str().unwrap()],
    )
    .expect_code(2);
    assert!(run.stderr().contains("--source table"), "{}", run.stderr());
    assert!(!dir.path().join("sample").exists());
}
