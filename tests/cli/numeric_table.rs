//! A numeric table that is not FreeSewing's (a clinic's anthropometry in cm, kg and mm, with
//! person key, consent, status and last-visit columns) goes through `publish --source table` and
//! `verify` end to end: the release describes itself from its schema, `verify` checks it against
//! what the release declares, an implausible value is left out and counted, record ids never
//! repeat across inputs, and a report that claims more than its files fails `verify` even when
//! sealed again. The table is written here, by a generator unlike anonpub's: other columns,
//! units, eligibility values, a minority of very tall people, repeat visits, gaps and junk.

use std::path::{Path, PathBuf};

use crate::fixtures::*;

/// The schema of the table.
pub fn schema() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/body-cm-kg.toml")
        .to_str()
        .unwrap()
        .to_string()
}

/// The clinic's table: `people` patients, some with a second visit, a few not consenting,
/// closed files, old visits; one height of 300.5 cm (typed for 200.5) and one weight "n/a".
pub fn clinic_rows(people: usize) -> Vec<Vec<String>> {
    let mut draw = Draw(0x005e_edc1_141c);
    let mut rows = Vec::new();
    for p in 0..people {
        let tall = p % 37 == 5; // a minority: basketball players
        let height = if tall {
            203.0 + 5.0 * draw.normal().abs()
        } else {
            171.0 + 9.0 * draw.normal()
        };
        let weight = (height - 100.0) * (0.95 + 0.15 * draw.normal()) + 3.0 * draw.normal();
        let foot = height * 1.52 + 6.0 * draw.normal();
        let span = height * 1.01 + 3.5 * draw.normal();
        let consent = match p % 23 {
            3 => "false",
            11 => "FALSE",
            _ => "true",
        };
        let state = match p % 19 {
            7 => "closed",
            4 | 13 => "follow-up",
            _ => "open",
        };
        let month = 1 + (p * 7) % 10;
        let visit = match p % 29 {
            17 => "2024-05-02".to_string(),
            8 | 21 => format!("2026-{month:02}-1{}T09:30:00Z", p % 10),
            _ => format!("2026-{month:02}-{:02}", 1 + p % 28),
        };
        let visits = if p % 6 == 1 { 2 } else { 1 };
        for visit_number in 0..visits {
            let weight = weight + visit_number as f64 * 1.5 * draw.normal();
            let foot = if (p + visit_number) % 10 == 3 {
                String::new()
            } else {
                format!("{foot:.0}")
            };
            rows.push(vec![
                format!("P{p:04}"),
                consent.to_string(),
                state.to_string(),
                visit.clone(),
                format!("{height:.1}"),
                format!("{weight:.1}"),
                foot,
                format!("{span:.1}"),
            ]);
        }
    }
    // A height typed as 300.5 (the schema's range is 100–250 cm) and a weight that is no number.
    rows[40][4] = "300.5".into();
    rows[77][5] = "n/a".into();
    rows
}

/// Writes the rows as CSV (columns in another order than the schema's, as tables come).
pub fn write_table(path: &Path, rows: &[Vec<String>]) {
    let mut text = String::from(
        "last_visit,patient,height_cm,weight_kg,share_ok,foot_length_mm,file_state,arm_span_cm\n",
    );
    for row in rows {
        let cells = [
            &row[3], &row[0], &row[4], &row[5], &row[1], &row[6], &row[2], &row[7],
        ];
        text.push_str(
            &cells
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

struct Clinic {
    dir: tempfile::TempDir,
    table: PathBuf,
    key: PathBuf,
}

impl Clinic {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("clinic.csv");
        write_table(&table, &clinic_rows(420));
        let key = dir.path().join("clinic.key");
        std::fs::write(&key, "clinic-secret-for-tests\n").unwrap();
        Clinic { dir, table, key }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Publishes `table` into `out` with the clinic's key and seed 7, plus `extra`.
    fn publish(&self, table: &Path, out: &Path, extra: &[&str]) -> Run {
        let mut args = vec!["--key-file", self.key.to_str().unwrap(), "--seed", "7"];
        args.extend_from_slice(extra);
        publish_table(table, schema(), out, &args)
    }
}

#[test]
fn a_cm_kg_table_publishes_describes_itself_and_verifies() {
    let clinic = Clinic::new();
    let out = clinic.path("release");
    let run = clinic.publish(&clinic.table, &out, &[]).expect_code(0);
    // The console ends with what was left out, by reason.
    let stderr = run.stderr();
    let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
    assert!(
        tail.iter().any(|l| l.contains("implausible_value"))
            && tail.iter().any(|l| l.contains("left out"))
            && stderr.lines().last().unwrap().contains("suppressed"),
        "{stderr}"
    );
    assert!(!stderr.contains("300.5"), "a value reached the log");

    let verified = verify(&out, &[]).expect_code(0);
    assert!(
        verified.stdout().contains("report figures"),
        "{}",
        verified.stdout()
    );

    let report = json(&out.join("report.json"));
    let excluded = &report["selection"]["excluded_sets"];
    assert_eq!(excluded["implausible_value"], 1, "{excluded}");
    assert_eq!(excluded["malformed_value"], 1, "{excluded}");
    assert!(excluded["no_open_data_consent"].as_u64().unwrap() > 0);
    assert!(excluded["account_not_active"].as_u64().unwrap() > 0);
    assert!(excluded["outside_retention_window"].as_u64().unwrap() > 0);
    assert_eq!(report["dataset"], "clinic-anthropometry");
    assert!(report["method_benchmark"].is_null());

    let (header, rows) = read_csv(&out.join("measurements.csv"));
    assert_eq!(
        header,
        [
            "record_id",
            "height_cm",
            "weight_kg",
            "foot_length_mm",
            "arm_span_cm"
        ]
    );
    let height = |row: &Vec<String>| row[1].parse::<f64>().ok();
    assert!(rows
        .iter()
        .filter_map(height)
        .all(|h| (100.0..=250.0).contains(&h)));
    assert!(
        rows.iter()
            .filter_map(height)
            .all(|h| (h * 2.0).fract() == 0.0),
        "0.5 cm steps"
    );

    // The release says what it holds in its own terms.
    let package = json(&out.join("datapackage.json"));
    let fields = package["resources"][0]["schema"]["fields"]
        .as_array()
        .unwrap();
    let field = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap().clone();
    assert_eq!(field("height_cm")["unit"], "cm");
    assert_eq!(field("height_cm")["rounding"], 0.5);
    assert_eq!(field("weight_kg")["unit"], "kg");
    assert_eq!(field("weight_kg")["constraints"]["maximum"], 250.0);
    assert_eq!(package["title"], "Clinic anthropometry");
    let sheet = std::fs::read_to_string(out.join("README.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for document in [&sheet, &html, &package.to_string()] {
        for freesewing in [
            "FreeSewing",
            "millimetres except",
            "breasts",
            "shoulderSlope",
            "sewing",
            "body shapes",
            "doll",
            "5 mm",
        ] {
            assert!(
                !document.contains(freesewing),
                "`{freesewing}` in a release of another dataset:\n{document}"
            );
        }
    }
    assert!(
        sheet.starts_with("# Clinic anthropometry — release 1.0.0"),
        "{sheet}"
    );
    assert!(sheet.contains("sports clinic's intake"), "{sheet}");
    assert!(
        sheet.contains("its `share_ok` is 1 or higher (or true)"),
        "{sheet}"
    );
    assert!(sheet.contains("| `height_cm` | cm |"), "{sheet}");
    assert!(
        sheet.contains("| a value lies outside its column's plausible range | 1 |"),
        "{sheet}"
    );
    assert!(
        sheet.contains(
            "`height_cm` 1 cm, `weight_kg` 1 kg, `foot_length_mm` 1 mm, `arm_span_cm` 0.5 cm"
        ),
        "{sheet}"
    );
    assert!(
        sheet.contains("names the record in this release only"),
        "{sheet}"
    );

    // The same input, config and seed give the same files.
    let again = clinic.path("again");
    clinic
        .publish(&clinic.table, &again, &["-q"])
        .expect_code(0);
    for file in [
        "measurements.csv",
        "measurements.parquet",
        "report.json",
        "README.md",
    ] {
        assert!(
            std::fs::read(out.join(file)).unwrap() == std::fs::read(again.join(file)).unwrap(),
            "{file} differs between two runs"
        );
    }
}

#[test]
fn record_ids_are_not_shared_by_releases_of_different_inputs() {
    let clinic = Clinic::new();
    let all = clinic.path("all");
    clinic.publish(&clinic.table, &all, &["-q"]).expect_code(0);
    // One consenting, active patient leaves.
    let rows: Vec<Vec<String>> = clinic_rows(420)
        .into_iter()
        .filter(|row| row[0] != "P0000")
        .collect();
    let fewer_table = clinic.path("fewer.csv");
    write_table(&fewer_table, &rows);
    let fewer = clinic.path("fewer");
    clinic.publish(&fewer_table, &fewer, &["-q"]).expect_code(0);
    verify(&fewer, &[]).expect_code(0);
    let ids = |dir: &Path| -> std::collections::HashSet<String> {
        read_csv(&dir.join("measurements.csv"))
            .1
            .into_iter()
            .map(|row| row[0].clone())
            .collect()
    };
    let (a, b) = (ids(&all), ids(&fewer));
    assert!(a.len() > 300 && b.len() > 300);
    assert_eq!(
        a.intersection(&b).count(),
        0,
        "ids shared between two inputs"
    );
    // Without a key the ids still differ between inputs (drawn from the plain fingerprint).
    let keyless = |table: &Path, name: &str| {
        let out = clinic.path(name);
        let ledger = clinic.path(&format!("{name}.ledger.json"));
        let ledger = ledger.to_str().unwrap();
        publish_table(
            table,
            schema(),
            &out,
            &["--seed", "7", "--ledger", ledger, "-q"],
        )
        .expect_code(0);
        out
    };
    let (c, d) = (
        ids(&keyless(&clinic.table, "c")),
        ids(&keyless(&fewer_table, "d")),
    );
    assert_eq!(c.intersection(&d).count(), 0);
    assert_eq!(c.intersection(&a).count(), 0);
    let sheet = std::fs::read_to_string(clinic.path("c").join("README.md")).unwrap();
    assert!(sheet.contains("plain SHA-256 fingerprint"), "{sheet}");
}

/// An edit of `report.json`.
type Forgery = dyn Fn(&mut serde_json::Value);

/// Edits `report.json` of a release with `edit` and seals it again (manifest and SHA256SUMS),
/// as a careful forger would.
fn forge(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut report = json(&dir.join("report.json"));
    edit(&mut report);
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
    reseal_release(dir);
}

#[test]
fn a_resealed_report_that_claims_more_than_its_files_fails_verify() {
    let clinic = Clinic::new();
    let out = clinic.path("release");
    clinic.publish(&clinic.table, &out, &["-q"]).expect_code(0);
    let report = json(&out.join("report.json"));
    let k = report["k_achieved"].as_u64().unwrap();
    let forgeries: [(&str, Box<Forgery>); 6] = [
        (
            "k_achieved",
            Box::new(move |r| r["k_achieved"] = (k + 5).into()),
        ),
        ("k_requested", Box::new(|r| r["k_requested"] = 3.into())),
        (
            "published_records",
            Box::new(|r| {
                let n = r["anonymization"]["published_records"].as_u64().unwrap();
                r["anonymization"]["published_records"] = (n + 10).into();
            }),
        ),
        (
            "suppressed_records",
            Box::new(|r| {
                let n = r["anonymization"]["suppressed_records"].as_u64().unwrap();
                r["anonymization"]["suppressed_records"] = (n + 3).into();
            }),
        ),
        (
            "risk.reidentification.prosecutor.highest",
            Box::new(|r| r["risk"]["reidentification"]["prosecutor"]["highest"] = 0.01.into()),
        ),
        (
            "k_achieved below k_requested",
            Box::new(|r| r["k_achieved"] = 4.into()),
        ),
    ];
    for (what, edit) in forgeries {
        let copy = clinic.path(&format!("forged-{}", what.replace(' ', "-")));
        copy_dir(&out, &copy);
        forge(&copy, edit);
        let run = verify(&copy, &[]).expect_code(1);
        let stdout = run.stdout();
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("checksums") && l.contains(" ok "))
                && stdout
                    .lines()
                    .any(|l| l.starts_with("manifest") && l.contains(" ok ")),
            "{what}: the forgery is sealed\n{stdout}"
        );
        assert!(
            stdout.lines().any(
                |l| (l.starts_with("report figures") || l.starts_with("claimed k"))
                    && l.contains("FAIL")
            ),
            "{what}:\n{stdout}"
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn k_below_five_needs_the_config_and_the_datasheet_says_so() {
    let clinic = Clinic::new();
    for (k, expected) in [
        ("1", "invalid --k: must be at least 2"),
        ("0", "invalid --k: must be at least 2"),
        ("3", "set `[thresholds] min_k = 3` in the config"),
    ] {
        let out = clinic.path(&format!("k{k}"));
        let run = clinic
            .publish(&clinic.table, &out, &["--k", k, "-q"])
            .expect_code(2);
        assert!(run.stderr().contains(expected), "--k {k}: {}", run.stderr());
        assert!(!out.exists());
    }
    let config = clinic.path("k3.toml");
    // At k = 3 planted accounts rebuild more people than the default 5 % gate allows on this
    // small table: the data holder who lowers k says how much of that they accept.
    std::fs::write(
        &config,
        "k = 3\n[thresholds]\nmin_k = 3\nmax_fake_accounts_recovered = 0.25\n",
    )
    .unwrap();
    let out = clinic.path("k3");
    clinic
        .publish(
            &clinic.table,
            &out,
            &["--config", config.to_str().unwrap(), "-q"],
        )
        .expect_code(0);
    verify(&out, &[]).expect_code(0);
    let sheet = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(sheet.contains("**k = 3 is below 5**"), "{sheet}");
    assert!(
        sheet.contains("lowered `[thresholds] min_k` to 3 explicitly"),
        "{sheet}"
    );

    let future = clinic.path("future");
    let run = anonpub(
        &[
            "publish",
            "--source",
            "table",
            "--input",
            clinic.table.to_str().unwrap(),
            "--schema",
            &schema(),
            "--key-file",
            clinic.key.to_str().unwrap(),
            "--as-of",
            "2999-01-01",
            "--out",
            future.to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    assert!(
        run.stderr().contains("2999-01-01 is in the future"),
        "{}",
        run.stderr()
    );
    assert!(!future.exists());
}

/// A valid config with every numeric key drawn from the edges of its range and beyond what any
/// data holder would choose: k from 2 with any `min_k`, huge and tiny counts, shares of 0 and 1.
fn odd_config() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let count = |low: u64| {
        prop_oneof![
            2 => Just(low),
            4 => low..low + 40,
            1 => Just(1_000_000u64),
        ]
    };
    let share = || prop_oneof![1 => Just(0.0f64), 6 => Just(1.0f64), 2 => 0.0f64..1.0];
    (
        (
            (2u64..12).prop_flat_map(|k| (Just(k), 1..=k + 1)),
            prop_oneof![1 => Just(0u64), 4 => 12u64..40, 1 => Just(1_000_000u64)],
            count(1),
            count(1),
            count(1),
        ),
        (
            prop_oneof![4 => Just(0u64), 1 => 1u64..=3650],
            count(1),
            count(2),
            prop_oneof![Just(0.0f64), Just(1e-3), Just(1e4), 0.0f64..50.0],
        ),
        (
            share(),
            share(),
            prop_oneof![Just(0.0f64), Just(0.999), 0.0f64..1.0],
            share(),
            share(),
            share(),
        ),
        (share(), share(), share(), share(), share()),
    )
        .prop_map(
            |(
                ((k, min_k), retention, exact, pattern, published),
                (age, targets, max_people, error),
                (malformed, noise, guess, suppressed, highest, average),
                (at_risk, linkage, interval, differencing, fakes),
            )| {
                format!(
                    "k = {k}\nretention_months = {retention}\nmdav_exact_limit = {exact}\n\
                     max_malformed_share = {malformed}\nmin_pattern_people = {pattern}\n\
                     min_published_measurements = {published}\n\
                     [defences]\ngroup_noise_sd = {noise}\nmin_account_age_days = {age}\n\
                     [attacks]\ntargets = {targets}\nmax_people = {max_people}\n\
                     [attacks.fake_accounts]\nguess_error = {guess}\n\
                     [linkage]\nerror = {error}\n\
                     [thresholds]\nmin_k = {min_k}\nmax_suppressed_share = {suppressed}\n\
                     max_highest_risk = {highest}\nmax_average_risk = {average}\n\
                     max_records_at_risk = {at_risk}\nmax_linkage_success = {linkage}\n\
                     max_interval_disclosure = {interval}\n\
                     max_differencing_recovered = {differencing}\n\
                     max_fake_accounts_recovered = {fakes}\n"
                )
            },
        )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// No valid but odd value of a numeric config key makes `publish` panic: every run ends
    /// published (0), held back by a gate (1) or refused with a message (2), and whatever is
    /// published verifies.
    #[test]
    fn no_numeric_config_value_makes_publish_panic(config in odd_config()) {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("clinic.csv");
        write_table(&table, &clinic_rows(90));
        let config_path = dir.path().join("odd.toml");
        std::fs::write(&config_path, &config).unwrap();
        let out = dir.path().join("release");
        let ledger = dir.path().join("ledger.json");
        let run = publish_table(
            &table, schema(), &out,
            &[
                "--seed", "5", "--ledger", ledger.to_str().unwrap(),
                "--config", config_path.to_str().unwrap(), "-q",
            ],
        );
        proptest::prop_assert!(
            matches!(run.code(), 0..=2),
            "exit {} with\n{config}\n{}", run.code(), run.stderr()
        );
        proptest::prop_assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
        if run.code() == 0 {
            verify(&out, &[]).expect_code(0);
        } else {
            proptest::prop_assert!(!out.exists());
        }
    }
}
