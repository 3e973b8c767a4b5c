//! `anonpub tabulate` end to end on the example access log: a frequency table with no address in
//! it and no small cell, verified; DP counts; refusals; tampering caught by `verify`.

use std::path::Path;

use crate::fixtures::*;

fn tabulate(out: &Path, extra: &[&str]) -> Run {
    let (input, schema) = (repo("data/access-log.csv"), repo("data/access-log.toml"));
    let mut args = vec![
        "tabulate",
        "--input",
        input.to_str().unwrap(),
        "--schema",
        schema.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    anonpub(&args, &[])
}

/// `verify`'s options here: its answer as JSON.
const AS_JSON: &[&str] = &["--format", "json"];

/// Every address of the input log.
fn addresses() -> Vec<String> {
    let log = std::fs::read_to_string(repo("data/access-log.csv")).unwrap();
    log.lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap().to_string())
        .collect()
}

/// The (people, status) columns of frequencies.csv.
fn counts(out: &Path) -> Vec<(Option<u64>, String)> {
    let (header, rows) = read_csv(&out.join("frequencies.csv"));
    let people = header.iter().position(|h| h == "people").unwrap();
    rows.into_iter()
        .map(|row| (row[people].parse().ok(), row.last().unwrap().clone()))
        .collect()
}

#[test]
fn an_access_log_becomes_visitors_per_page_per_day_without_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stats");
    tabulate(
        &out,
        // The person column is the schema's person_key column.
        &["--by", "page,timestamp:day", "--quiet"],
    )
    .expect_code(0);
    for file in anonpub::release::FREQUENCY_RELEASE_FILES {
        assert!(out.join(file).is_file(), "{file}");
    }
    let mut written = String::new();
    for file in [
        "frequencies.csv",
        "report.json",
        "README.md",
        "datapackage.json",
        "manifest.json",
    ] {
        written.push_str(&std::fs::read_to_string(out.join(file)).unwrap());
    }
    let parquet = std::fs::read(out.join("frequencies.parquet")).unwrap();
    for address in addresses() {
        // Full addresses only: a /24 network shares the address's first three parts.
        assert!(
            !written.contains(&format!("{address},")),
            "{address} in the output"
        );
        assert!(
            !written.contains(&format!("{address}\"")),
            "{address} in the output"
        );
        let bytes = address.as_bytes();
        assert!(
            !parquet.windows(bytes.len()).any(|w| w == bytes),
            "{address} in Parquet"
        );
    }
    let lines = counts(&out);
    assert!(lines.len() > 40, "{lines:?}");
    for (people, status) in &lines {
        match people {
            Some(people) => assert!(*people == 0 || *people >= 10, "{people}"),
            None => assert!(status == "primary" || status == "secondary", "{status}"),
        }
    }
    assert!(lines.iter().any(|(_, status)| status == "primary"));
    assert!(lines.iter().any(|(_, status)| status == "secondary"));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["protection"]["method"], "suppression");
    assert_eq!(report["protection"]["threshold"], 10);
    assert_eq!(report["by"][1]["coarsening"], "day");
    let checked = verify(&out, AS_JSON).expect_code(0);
    let checks: serde_json::Value = serde_json::from_str(&checked.stdout()).unwrap();
    let names: Vec<&str> = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in [
        "cell threshold",
        "secondary suppression",
        "checksums",
        "no identifiers",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }

    // Same input, same config: the same bytes.
    let again = dir.path().join("again");
    tabulate(
        &again,
        &["--person", "ip", "--by", "page,timestamp:day", "--quiet"],
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read(out.join("SHA256SUMS")).unwrap(),
        std::fs::read(again.join("SHA256SUMS")).unwrap()
    );
}

#[test]
fn networks_and_a_config_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("release.toml");
    std::fs::write(&config, "[tabulate]\nperson = \"ip\"\nthreshold = 5\n").unwrap();
    let out = dir.path().join("networks");
    let config = config.to_str().unwrap();
    tabulate(&out, &["--by", "ip:16", "--config", config, "--quiet"]).expect_code(0);
    let text = std::fs::read_to_string(out.join("frequencies.csv")).unwrap();
    assert!(text.contains("192.0.0.0/16,"), "{text}");
    // Six IPv6 visitors in two /48 networks: both below 5, so both suppressed (two, so the
    // total does not give either away).
    assert!(text.contains("2001:db8:1::/48,,,primary"), "{text}");
    assert!(text.contains("2001:db8:2::/48,,,primary"), "{text}");
    verify(&out, AS_JSON).expect_code(0);
}

#[test]
fn dp_counts_verify_and_a_cheapened_budget_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dp.toml");
    std::fs::write(
        &config,
        "[tabulate]\nperson = \"ip\"\nprotection = \"dp\"\nmax_cells_per_person = 1\nepsilon = 4.0\n",
    )
    .unwrap();
    let out = dir.path().join("dp");
    tabulate(
        &out,
        &[
            "--by",
            "page",
            "--config",
            config.to_str().unwrap(),
            "--quiet",
        ],
    )
    .expect_code(0);
    let report_path = out.join("report.json");
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let threshold = report["protection"]["release_threshold"].as_u64().unwrap();
    let lines = counts(&out);
    assert!(!lines.is_empty(), "the busiest page clears the threshold");
    assert!(lines
        .iter()
        .all(|(people, status)| status == "noisy" && people.unwrap() >= threshold));
    verify(&out, AS_JSON).expect_code(0);
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("not byte-reproducible"), "{readme}");

    report["protection"]["noise_scale"] = serde_json::json!(0.25);
    std::fs::write(&report_path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    let failed = verify(&out, AS_JSON).expect_code(1).stdout();
    // 1/0.25 for the people counts and 1·5/2.5 for the events counts.
    assert!(failed.contains("costs ε = 6"), "{failed}");
}

#[test]
fn verify_catches_a_small_cell_put_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stats");
    tabulate(
        &out,
        &["--person", "ip", "--by", "page,timestamp:day", "--quiet"],
    )
    .expect_code(0);
    let path = out.join("frequencies.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let leaked = text.replacen(",,,primary", ",3,3,published", 1);
    assert_ne!(leaked, text);
    std::fs::write(&path, leaked).unwrap();
    let failed = verify(&out, AS_JSON).expect_code(1).stdout();
    let checks: serde_json::Value = serde_json::from_str(&failed).unwrap();
    let failing: Vec<&str> = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in [
        "checksums",
        "csv = parquet",
        "cell threshold",
        "table structure",
    ] {
        assert!(failing.contains(&name), "{failing:?}");
    }
}

#[test]
fn identifiers_unknown_columns_and_bad_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let raw = tabulate(&out, &["--by", "ip"]).expect_code(2);
    assert!(raw.stderr().contains("never published"), "{}", raw.stderr());
    let own = tabulate(&out, &["--person", "page", "--by", "page"]).expect_code(2);
    assert!(own.stderr().contains("person column"), "{}", own.stderr());
    // A schema without a person_key column needs --person.
    let schema = std::fs::read_to_string(repo("data/access-log.toml"))
        .unwrap()
        .replace("person_key", "direct_identifier");
    let anonymous = dir.path().join("anonymous.toml");
    std::fs::write(&anonymous, schema).unwrap();
    let input = repo("data/access-log.csv");
    let nobody = anonpub(
        &[
            "tabulate",
            "--input",
            input.to_str().unwrap(),
            "--schema",
            anonymous.to_str().unwrap(),
            "--by",
            "page",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    assert!(nobody.stderr().contains("--person"), "{}", nobody.stderr());
    let raw = anonpub(
        &[
            "tabulate",
            "--input",
            input.to_str().unwrap(),
            "--schema",
            anonymous.to_str().unwrap(),
            "--person",
            "ip",
            "--by",
            "ip",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    assert!(
        raw.stderr().contains("direct_identifier"),
        "{}",
        raw.stderr()
    );
    let unknown = tabulate(&out, &["--person", "ip", "--by", "referrer"]).expect_code(2);
    assert!(
        unknown.stderr().contains("`referrer`"),
        "{}",
        unknown.stderr()
    );
    let not_a_time = tabulate(&out, &["--person", "ip", "--by", "page:day"]).expect_code(2);
    let message = not_a_time.stderr();
    assert!(message.contains("line 2, column `page`"), "{message}");
    assert!(
        !message.contains("/events") && !message.contains("192.0.2"),
        "{message}"
    );
    let level = tabulate(&out, &["--person", "ip", "--by", "timestamp:fortnight"]).expect_code(2);
    assert!(level.stderr().contains("fortnight"), "{}", level.stderr());
    assert!(!out.exists(), "nothing written");
}

#[test]
fn the_manifest_fingerprints_the_input_as_publish_does_and_verify_requires_it() {
    use anonpub::release::checksums::sha256_file;
    let dir = tempfile::tempdir().unwrap();
    // No key file: the plain SHA-256 of the input, said to be unkeyed.
    let out = dir.path().join("stats");
    tabulate(&out, &["--by", "page", "--quiet"]).expect_code(0);
    let plain = json(&out.join("manifest.json"));
    assert_eq!(plain["input_fingerprint"]["algorithm"], "SHA-256");
    assert_eq!(
        plain["input_fingerprint"]["value"],
        sha256_file(&repo("data/access-log.csv")).unwrap()
    );
    assert!(plain["input_fingerprint"]["key"]
        .as_str()
        .unwrap()
        .contains("--key-file"));
    let checked = verify(&out, AS_JSON).expect_code(0).stdout();
    assert!(checked.contains("input SHA-256"), "{checked}");

    // With a key file: the same keyed fingerprint `publish --source table` writes for the same
    // input and key.
    let (table, schema, key) = (
        repo("data/example-people.csv"),
        repo("schemas/freesewing-table.toml"),
        repo("data/example-people.key"),
    );
    let (table, schema, key) = (
        table.to_str().unwrap(),
        schema.to_str().unwrap(),
        key.to_str().unwrap(),
    );
    let tabulate_table = |key: &str, out: &Path| {
        let args = [
            "tabulate",
            "--input",
            table,
            "--schema",
            schema,
            "--by",
            "shoulderSlope",
            "--key-file",
            key,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        anonpub(&args, &[])
    };
    let counted = dir.path().join("counted");
    tabulate_table(key, &counted).expect_code(0);
    let published = dir.path().join("published");
    publish_table(
        table,
        schema,
        &published,
        &["--key-file", key, "--seed", "3", "--quiet"],
    )
    .expect_code(0);
    let keyed = json(&counted.join("manifest.json"))["input_fingerprint"].clone();
    assert_eq!(keyed["algorithm"], "HMAC-SHA256");
    assert_eq!(
        keyed,
        json(&published.join("manifest.json"))["input_fingerprint"]
    );
    assert_ne!(keyed["value"], sha256_file(Path::new(table)).unwrap());
    verify(&counted, AS_JSON).expect_code(0);
    let no_key = dir.path().join("no-such.key");
    let missing =
        tabulate_table(no_key.to_str().unwrap(), &dir.path().join("never")).expect_code(2);
    assert!(
        missing.stderr().contains("no-such.key"),
        "{}",
        missing.stderr()
    );
    assert!(!dir.path().join("never").exists());

    // A manifest without a fingerprint, made consistent with the checksums, fails verify.
    let mut stripped = plain;
    stripped
        .as_object_mut()
        .unwrap()
        .remove("input_fingerprint");
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&stripped).unwrap(),
    )
    .unwrap();
    reseal(&out, &anonpub::release::FREQUENCY_RELEASE_FILES);
    let failed = verify(&out, AS_JSON).expect_code(1).stdout();
    let checks: serde_json::Value = serde_json::from_str(&failed).unwrap();
    let manifest_check = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "manifest")
        .unwrap();
    assert_eq!(manifest_check["passed"], false, "{failed}");
    assert!(
        manifest_check["detail"]
            .as_str()
            .unwrap()
            .contains("no input fingerprint"),
        "{failed}"
    );
    assert_eq!(
        checks["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .count(),
        1,
        "{failed}"
    );
}

#[test]
fn the_config_digest_covers_the_whole_config_and_the_columns_counted() {
    let dir = tempfile::tempdir().unwrap();
    let digest = |name: &str, config: Option<&str>, by: &str| {
        let out = dir.path().join(name);
        let mut args = vec!["--by", by, "--quiet"];
        let path = dir.path().join(format!("{name}.toml"));
        if let Some(text) = config {
            std::fs::write(&path, text).unwrap();
            args.extend(["--config", path.to_str().unwrap()]);
        }
        tabulate(&out, &args).expect_code(0);
        json(&out.join("manifest.json"))["config_sha256"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let base = digest("base", None, "page");
    // Defaults spelled out, comments: the same configuration, the same digest.
    let spelled_out =
        "# defaults\n[tabulate]\nthreshold = 10 # people\nprotection = \"suppression\"\n";
    assert_eq!(base, digest("spelled", Some(spelled_out), "page"));
    assert_ne!(base, digest("by", None, "page,timestamp:day"));
    assert_ne!(
        base,
        digest("threshold", Some("[tabulate]\nthreshold = 11\n"), "page")
    );
    // Any key of the file counts, even one the table does not use.
    assert_ne!(base, digest("k", Some("k = 6\n"), "page"));
}
