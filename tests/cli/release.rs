//! The files that describe a release: datapackage.json, README.md (datasheet), report.html,
//! the Parquet metadata and manifest.json, read back from a real published release.

use anonpub::extract::crypto::FieldKey;
use anonpub::release::manifest::{InputFingerprint, FINGERPRINT_LABEL};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::fixtures::*;

#[test]
fn datapackage_describes_both_files_and_every_column() {
    let (_dir, out) = published_sample(&[]);
    let package = json(&out.join("datapackage.json"));
    assert_eq!(package["licenses"][0]["name"], "CC0-1.0");
    assert_eq!(package["created"], "2026-11-01T00:00:00Z");
    for key in ["name", "title", "version", "sources", "contributors"] {
        assert!(!package[key].is_null(), "{key}");
    }
    let (header, _) = read_csv(&out.join("measurements.csv"));
    let csv = &package["resources"][0];
    let names: Vec<&str> = csv["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, header);
    for resource in package["resources"].as_array().unwrap() {
        let path = out.join(resource["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(resource["bytes"].as_u64().unwrap(), bytes.len() as u64);
        assert_eq!(
            resource["hash"].as_str().unwrap(),
            format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
        );
    }
}

#[test]
fn config_reaches_licence_datasheet_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("release.toml");
    std::fs::write(
        &config,
        "k = 6\nretention_months = 9\nlicense = \"CC-BY-4.0\"\nversion = \"2.1.0\"\n\
         [thresholds]\nmin_k = 6\nmax_suppressed_share = 0.2\n",
    )
    .unwrap();
    let out = dir.path().join("release");
    publish_sample(&out, &["--config", config.to_str().unwrap()]).expect_code(0);
    let package = json(&out.join("datapackage.json"));
    assert_eq!(package["licenses"][0]["name"], "CC-BY-4.0");
    assert_eq!(package["version"], "2.1.0");
    let sheet = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(sheet.starts_with("# FreeSewing body measurements — release 2.1.0"));
    assert!(sheet.contains("at least **6 distinct people**"), "{sheet}");
    assert!(sheet.contains("within the last 9 months before 2026-11-01"));
    assert!(sheet.contains(
        "unless the achieved k is at least 6 and at most 20.00% of the eligible sets are suppressed."
    ));
    assert!(sheet.contains("**Licence:** CC-BY-4.0"));
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<tr><th>k (distinct people per row)</th><td>6</td></tr>"));
    assert!(page.contains("<tr><th>Licence</th><td>CC-BY-4.0</td></tr>"));
}

#[test]
fn page_is_self_contained_with_a_histogram_per_measurement() {
    let (_dir, out) = published_sample(&[]);
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    let (header, rows) = read_csv(&out.join("measurements.csv"));
    for name in &header[1..] {
        assert!(
            page.contains(&format!("aria-label=\"Histogram of {name}: ")),
            "{name}"
        );
    }
    for external in ["<script", "<link", "<img", "src=", "url(", "https://"] {
        assert!(!page.contains(external), "{external}");
    }
    assert!(
        rows.iter().all(|row| !page.contains(&row[0])),
        "no record id"
    );
    let report = json(&out.join("report.json"));
    let risk = &report["risk"];
    assert_eq!(
        risk["records"],
        report["anonymization"]["published_records"]
    );
    assert!(risk["smallest_class"].as_u64().unwrap() >= 5);
    assert_eq!(risk["sample_uniqueness"]["unique_records"], 0);
    assert_eq!(risk["population"]["status"], "not_requested");
    assert!(page.contains(&format!(
        "<tr><th>Groups of identical rows</th><td>{}</td></tr>",
        risk["classes"]
    )));
}

#[test]
fn parquet_carries_units_per_field_and_release_metadata() {
    use polars::prelude::*;
    let (_dir, out) = published_sample(&[]);
    let path = out.join("measurements.parquet");
    let schema = ParquetReader::new(std::fs::File::open(&path).unwrap())
        .schema()
        .unwrap();
    let unit = |name: &str| {
        schema
            .get(name)
            .and_then(|field| field.metadata.as_ref())
            .and_then(|metadata| metadata.get("unit").map(|u| u.to_string()))
    };
    assert_eq!(unit("chest").as_deref(), Some("mm"));
    assert_eq!(unit("shoulderSlope").as_deref(), Some("deg"));
    let metadata = anonpub::release::parquet::read_parquet(&path)
        .unwrap()
        .metadata;
    for key in [
        "anonpub:version",
        "anonpub:k",
        "anonpub:method",
        "anonpub:seed",
        "anonpub:release_version",
    ] {
        assert!(metadata.iter().any(|(k, _)| k == key), "{key}");
    }
}

#[test]
fn manifest_lists_every_file_and_fingerprints_the_input_with_a_keyed_hash() {
    let (_dir, out) = published_sample(&[]);
    let manifest = json(&out.join("manifest.json"));
    assert_eq!(manifest["anonpub_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["seed"], 11);
    assert_eq!(manifest["config_sha256"].as_str().unwrap().len(), 64);
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), anonpub::release::RELEASE_FILES.len() - 2);
    for file in files {
        let bytes = std::fs::read(out.join(file["path"].as_str().unwrap())).unwrap();
        assert_eq!(file["bytes"].as_u64().unwrap(), bytes.len() as u64);
        assert_eq!(file["sha256"], hex::encode(Sha256::digest(&bytes)));
    }
    let (db, key_file) = sample_db();
    let secret = std::fs::read_to_string(&key_file).unwrap();
    let key = FieldKey::derive(secret.trim_end().as_bytes());
    let expected = InputFingerprint::of_file(
        &db,
        &key.subkey(FINGERPRINT_LABEL),
        "field key derived from API_ENC_KEY",
    )
    .unwrap();
    assert_eq!(manifest["input_fingerprint"]["value"], expected.value);
    assert_eq!(manifest["input_fingerprint"]["algorithm"], "HMAC-SHA256");
    let plain = hex::encode(Sha256::digest(std::fs::read(&db).unwrap()));
    let text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(!text.contains(&plain), "no plain hash of the input");
}

#[test]
fn logs_are_quiet_off_a_terminal_and_never_hold_values_or_ids() {
    // Distinctive values: if any reached a log line, it would be found.
    let users: Vec<FixtureUser> = (0..10)
        .map(|i| {
            FixtureUser::eligible(vec![format!(
                "{{\"chest\":{},\"waist\":{}}}",
                987.25 + f64::from(i),
                765.75 + f64::from(i)
            )])
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = fixture_db(dir.path(), &users);
    let out = dir.path().join("release");
    let args = |verbosity: &'static str| {
        vec![
            "publish".to_string(),
            "--db".into(),
            db.to_str().unwrap().into(),
            "--key-file".into(),
            key.to_str().unwrap().into(),
            "--as-of".into(),
            "2026-11-01".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--k".into(),
            "5".into(),
            "--config".into(),
            small_database_config().into(),
            "--force".into(),
            verbosity.into(),
        ]
    };
    let run_with = |verbosity: &'static str| {
        let args = args(verbosity);
        let args: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|a| !a.is_empty())
            .collect();
        anonpub(&args, &[]).expect_code(0)
    };
    assert_eq!(run_with("--quiet").stderr(), "", "--quiet prints nothing");
    let normal = run_with("").stderr();
    assert!(
        normal.contains("INFO") && normal.contains("published 10 records"),
        "{normal}"
    );
    let verbose = run_with("--verbose").stderr();
    assert!(verbose.contains("DEBUG") && verbose.lines().count() > normal.lines().count());
    let (_, rows) = read_csv(&out.join("measurements.csv"));
    for log in [&normal, &verbose] {
        assert!(
            !log.contains('\r') && !log.contains('\u{1b}'),
            "no bar, no colour: {log}"
        );
        for i in 0..10 {
            for value in [987.25 + f64::from(i), 765.75 + f64::from(i)] {
                assert!(!log.contains(&value.to_string()), "{value} in {log}");
            }
        }
        for row in &rows {
            assert!(!log.contains(&row[0]), "record id in log");
            for cell in row[1..].iter().filter(|c| !c.is_empty()) {
                assert!(
                    !log.contains(&format!(" {cell} ")),
                    "released value in {log}"
                );
            }
        }
        assert!(!log.contains(crate::fixtures::FIXTURE_SECRET), "key in log");
    }
}

#[test]
fn notebook_is_kept_without_outputs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("notebooks/explore.ipynb");
    let notebook = json(&path);
    let cells = notebook["cells"].as_array().unwrap();
    let code: Vec<&Value> = cells.iter().filter(|c| c["cell_type"] == "code").collect();
    assert!(code.len() >= 4);
    for cell in code {
        assert_eq!(cell["outputs"], serde_json::json!([]));
        assert!(cell["execution_count"].is_null());
    }
    let source: String = cells
        .iter()
        .flat_map(|c| c["source"].as_array().unwrap())
        .map(|line| line.as_str().unwrap())
        .collect();
    assert!(source.contains("ANONPUB_RELEASE"));
    assert!(source.contains("pl.read_parquet"));
}
