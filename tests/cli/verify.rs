//! `anonpub verify` on good and tampered releases.

use crate::fixtures::*;

/// Rewrites one cell of the CSV and fixes up nothing else.
fn tamper_csv(out: &std::path::Path, row: usize, column: usize, value: &str) {
    let path = out.join("measurements.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cells: Vec<String> = lines[row].split(',').map(str::to_string).collect();
    cells[column] = value.to_string();
    lines[row] = cells.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn one_tampered_cell_fails_verify() {
    let (_dir, out) = published_sample(&[]);
    let (header, rows) = read_csv(&out.join("measurements.csv"));
    let column = header.iter().position(|h| h == "chest").unwrap();
    let row = rows.iter().position(|r| !r[column].is_empty()).unwrap() + 1;
    tamper_csv(&out, row, column, "1001");
    let run = verify(&out, &[]).expect_code(1);
    let stdout = run.stdout();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("checksums") && l.contains("FAIL")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("csv = parquet") && l.contains("FAIL")),
        "{stdout}"
    );
}

#[test]
fn identifiers_and_larger_k_are_flagged() {
    let (_dir, out) = published_sample(&[]);
    verify(&out, &["--k", "5"]).expect_code(0);
    let run = verify(&out, &["--k", "100000"]).expect_code(1);
    assert!(run
        .stdout()
        .lines()
        .any(|l| l.starts_with("k-anonymity") && l.contains("FAIL")));
    tamper_csv(&out, 1, 6, "jane@example.org");
    let run = verify(&out, &[]).expect_code(1);
    assert!(run.stdout().contains("email address"), "{}", run.stdout());
    assert!(
        !run.stdout().contains("jane"),
        "verify must not echo the identifier"
    );
}

#[test]
fn missing_file_fails_and_missing_directory_is_unusable() {
    let (dir, out) = published_sample(&[]);
    std::fs::remove_file(out.join("datapackage.json")).unwrap();
    let run = verify(&out, &[]).expect_code(1);
    assert!(run.stdout().contains("missing: datapackage.json"));
    verify(&dir.path().join("nope"), &[]).expect_code(2);
}

#[test]
fn manifest_catches_a_change_that_sha256sums_was_made_to_hide() {
    let (_dir, out) = published_sample(&[]);
    let page = out.join("report.html");
    let mut text = std::fs::read_to_string(&page).unwrap();
    text.push_str("<!-- edited -->\n");
    std::fs::write(&page, text).unwrap();
    // Recompute SHA256SUMS as a careless editor would; the manifest still disagrees.
    let sums: String = std::fs::read_to_string(out.join("SHA256SUMS"))
        .unwrap()
        .lines()
        .map(|line| {
            let (_, name) = line.split_once("  ").unwrap();
            let digest = anonpub::release::checksums::sha256_file(&out.join(name)).unwrap();
            format!("{digest}  {name}\n")
        })
        .collect();
    std::fs::write(out.join("SHA256SUMS"), sums).unwrap();
    let run = verify(&out, &[]).expect_code(1);
    let stdout = run.stdout();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("checksums") && l.contains("ok")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("manifest")
            && l.contains("FAIL")
            && l.contains("report.html size")),
        "{stdout}"
    );
}

#[test]
fn json_github_and_junit_outputs_for_ci() {
    let (dir, out) = published_sample(&[]);
    let junit = dir.path().join("verify.xml");
    let run = verify(
        &out,
        &["--format", "json", "--junit", junit.to_str().unwrap()],
    )
    .expect_code(0);
    let value: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(value["passed"], true);
    let checks = value["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["name"] == "manifest"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), checks.len());
    assert!(xml.contains("failures=\"0\""));

    let run = verify(&out, &["--format", "github"]).expect_code(0);
    assert!(run
        .stdout()
        .starts_with("::notice title=anonpub verify::all "));

    std::fs::remove_file(out.join("README.md")).unwrap();
    let run = verify(
        &out,
        &["--format", "github", "--junit", junit.to_str().unwrap()],
    )
    .expect_code(1);
    let stdout = run.stdout();
    assert!(
        stdout.contains("::error title=anonpub verify%3A files present::missing: README.md"),
        "{stdout}"
    );
    assert!(
        stdout.lines().all(|l| l.starts_with("::error ")),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure message=\"missing: README.md\""),
        "{xml}"
    );

    let missing = dir.path().join("nope");
    let run = verify(&missing, &["--format", "github"]).expect_code(2);
    assert!(run.stdout().starts_with("::error title=anonpub verify::"));
    verify(&out, &["--format", "yaml"]).expect_code(2);
}

/// The sample's report edited as a review found it possible (k_achieved 5 → 6, k_requested
/// 5 → 3, and a published count the files do not hold), each sealed again, manifest and
/// SHA256SUMS alike: the checksums pass, the figures recomputed from the rows do not.
#[test]
fn a_sealed_report_claiming_more_than_the_rows_fails() {
    let (dir, out) = published_sample(&[]);
    let edits: [(&str, serde_json::Value); 3] = [
        ("/k_achieved", 6.into()),
        ("/k_requested", 3.into()),
        ("/anonymization/published_records", 2000.into()),
    ];
    for (pointer, value) in edits {
        let copy = dir.path().join(pointer.replace('/', "_"));
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(&out).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        let path = copy.join("report.json");
        let mut report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        *report.pointer_mut(pointer).unwrap() = value;
        std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
        reseal_release(&copy);
        let run = verify(&copy, &[]).expect_code(1);
        let stdout = run.stdout();
        let status = |name: &str| {
            stdout
                .lines()
                .find(|line| line.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} check:\n{stdout}"))
                .contains(" ok ")
        };
        assert!(
            status("checksums") && status("manifest"),
            "{pointer}:\n{stdout}"
        );
        assert!(
            !status("report figures") || !status("claimed k"),
            "{pointer}:\n{stdout}"
        );
    }
}
