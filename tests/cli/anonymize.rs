//! `anonpub anonymize` end to end, as a front to the release path of `publish`: every run here
//! is followed by `anonpub verify` on what it wrote. ARX's golden outputs on adult (the same
//! records, levels and loss), a categorical table with a sensitive column (l and t), a numeric
//! table (the measurements release), the flags a release cannot carry, schema mismatches and
//! determinism. Classes are counted here with the csv crate, not with anonpub's code.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::fixtures::*;
use crate::generalized::publish_clients;
use crate::numeric_table::{clinic_rows, write_table};

fn arx(file: &str) -> PathBuf {
    repo("tests/data/arx-adult").join(file)
}

/// `anonymize` of `input` described by `schema` into `out`, with `extra`.
fn anonymize_with(input: &Path, schema: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "anonymize",
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

/// [`anonymize_with`] at the release date every run here uses.
fn anonymize(input: &Path, schema: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["--as-of", "2026-11-01"];
    args.extend_from_slice(extra);
    anonymize_with(input, schema, out, &args)
}

/// `verify` passes on the release, every check of it.
fn verifies(out: &Path) -> String {
    let run = anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(0);
    let text = run.stdout();
    assert!(text.contains("checks passed"), "{text}");
    text
}

/// The release's rows without `record_id`, header first.
fn published(out: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let (header, rows) = read_csv(&out.join("measurements.csv"));
    assert_eq!(header[0], "record_id");
    (
        header[1..].to_vec(),
        rows.into_iter().map(|row| row[1..].to_vec()).collect(),
    )
}

/// Rows of a `sep`-separated file with a header, parsed with the csv crate.
fn rows_of(path: &Path, sep: u8) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .delimiter(sep)
        .from_path(path)
        .unwrap()
        .records()
        .map(|record| record.unwrap().iter().map(String::from).collect())
        .collect()
}

/// Per class of identical cells in `quasi`: rows and the distinct values of `sensitive`.
fn classes(
    header: &[String],
    rows: &[Vec<String>],
    quasi: &[&str],
    sensitive: Option<&str>,
) -> Vec<(usize, BTreeSet<String>)> {
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let quasi: Vec<usize> = quasi.iter().map(|q| at(q)).collect();
    let sensitive = sensitive.map(at);
    let mut classes: HashMap<Vec<&str>, (usize, BTreeSet<String>)> = HashMap::new();
    for row in rows {
        let class = classes
            .entry(quasi.iter().map(|&q| row[q].as_str()).collect())
            .or_default();
        class.0 += 1;
        if let Some(s) = sensitive {
            class.1.insert(row[s].clone());
        }
    }
    classes.into_values().collect()
}

/// Global recoding of adult gives ARX's records (the release leaves suppressed records out and
/// sorts the rest), its levels and its loss; the release verifies.
fn adult_matches_arx(suppression: &str, levels: [u64; 9], loss: f64, arx_output: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = anonymize(
        &arx("adult.csv"),
        &repo("schemas/adult.toml"),
        &out,
        &["--k", "5", "--suppression", suppression, "--seed", "1"],
    )
    .expect_code(0);
    let printed: Vec<String> = levels.iter().map(u64::to_string).collect();
    assert!(
        run.stderr()
            .contains(&format!("generalization levels [{}]", printed.join(", "))),
        "{}",
        run.stderr()
    );
    verifies(&out);
    let report = report(&out);
    let generalization = &report["generalization"];
    assert_eq!(generalization["levels"], serde_json::json!(levels));
    let found = generalization["information_loss"].as_f64().unwrap();
    assert!((found - loss).abs() < 0.0005, "loss {found} vs ARX {loss}");
    assert_eq!(report["selection"]["sets_in_database"], 30162);

    let theirs = rows_of(&arx(arx_output), b';');
    let suppressed = theirs
        .iter()
        .filter(|row| row.iter().all(|cell| cell == "*"))
        .count();
    let mut theirs: Vec<Vec<String>> = theirs
        .into_iter()
        .filter(|row| !row.iter().all(|cell| cell == "*"))
        .collect();
    let (header, mut ours) = published(&out);
    let arx_header: Vec<String> = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(arx(arx_output))
        .unwrap()
        .headers()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(header, arx_header);
    theirs.sort();
    ours.sort();
    assert_eq!(ours.len(), theirs.len());
    assert!(ours == theirs, "the released records differ from ARX's");
    assert_eq!(report["anonymization"]["suppressed_records"], suppressed);
    assert_eq!(suppressed > 0, suppression != "0");
    assert!(report["k_achieved"].as_u64().unwrap() >= 5);
}

#[test]
fn adult_k5_without_suppression_matches_arx() {
    adult_matches_arx(
        "0",
        [0, 4, 1, 1, 3, 2, 2, 1, 0],
        0.5732,
        "adult_k5_supp0_arx_output.csv",
    );
}

#[test]
fn adult_k5_two_percent_suppression_matches_arx() {
    adult_matches_arx(
        "0.02",
        [0, 3, 0, 2, 2, 1, 1, 2, 0],
        0.3137,
        "adult_k5_supp2pct_arx_output.csv",
    );
}

#[test]
fn adult_salary_l_diversity_and_t_closeness_verify() {
    let dir = tempfile::tempdir().unwrap();
    let schema = repo("schemas/adult-salary-sensitive.toml");
    let quasi = [
        "sex",
        "age",
        "race",
        "marital-status",
        "education",
        "native-country",
        "workclass",
        "occupation",
    ];
    let out = dir.path().join("l");
    anonymize(
        &arx("adult.csv"),
        &schema,
        &out,
        &["--k", "5", "--suppression", "0.02", "--l", "2"],
    )
    .expect_code(0);
    assert!(verifies(&out).contains("l-diversity"));
    assert_eq!(
        report(&out)["generalization"]["l_diversity"]["requested"],
        2
    );
    let (header, rows) = published(&out);
    for (size, salaries) in classes(&header, &rows, &quasi, Some("salary-class")) {
        assert!(size >= 5 && salaries.len() >= 2);
    }

    let out = dir.path().join("t");
    anonymize(
        &arx("adult.csv"),
        &schema,
        &out,
        &["--k", "5", "--suppression", "0.02", "--t", "0.2"],
    )
    .expect_code(0);
    assert!(verifies(&out).contains("t-closeness"));
    // t is judged against the released rows: two values, so the distance of a class is the
    // difference of one share.
    let (header, rows) = published(&out);
    let salary = header.iter().position(|h| h == "salary-class").unwrap();
    let high = |rows: &[&Vec<String>]| {
        rows.iter().filter(|row| row[salary] == ">50K").count() as f64 / rows.len() as f64
    };
    let everyone: Vec<&Vec<String>> = rows.iter().collect();
    let release_share = high(&everyone);
    let positions: Vec<usize> = quasi
        .iter()
        .map(|q| header.iter().position(|h| h == q).unwrap())
        .collect();
    let mut by_class: HashMap<Vec<&str>, Vec<&Vec<String>>> = HashMap::new();
    for row in &rows {
        by_class
            .entry(positions.iter().map(|&p| row[p].as_str()).collect())
            .or_default()
            .push(row);
    }
    for class in by_class.values() {
        assert!((high(class) - release_share).abs() <= 0.2 + 1e-9);
    }
}

/// Every file of release `a` is byte for byte the file of release `b`, and `b` has no other.
fn same_files(a: &Path, b: &Path) {
    let names = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    assert_eq!(names(a), names(b));
    for name in names(a) {
        assert!(
            std::fs::read(a.join(&name)).unwrap() == std::fs::read(b.join(&name)).unwrap(),
            "{name} differs"
        );
    }
}

/// The categorical table with a sensitive column: each generalizing method with l and t makes
/// a release that verifies, whose k and l counted here reach what was asked; the same seed
/// gives the same bytes, and so does `publish` with the same `[method]`.
#[test]
fn a_categorical_table_with_a_sensitive_column_anonymizes_into_a_verified_release() {
    let dir = tempfile::tempdir().unwrap();
    for method in ["global", "mondrian"] {
        let out = dir.path().join(method);
        let args = ["--method", method, "--l", "2", "--t", "0.6", "--seed", "4"];
        let run =
            anonymize(&data("clients.csv"), &data("clients.toml"), &out, &args).expect_code(0);
        // The console ends with what was left out, by reason.
        assert!(
            run.stderr().contains("left out") && run.stderr().contains("orphan_set"),
            "{}",
            run.stderr()
        );
        let checks = verifies(&out);
        assert!(
            checks.contains("l-diversity") && checks.contains("t-closeness"),
            "{checks}"
        );
        // The release's files, and nothing else.
        let mut files: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "README.md",
                "SHA256SUMS",
                "datapackage.json",
                "manifest.json",
                "measurements.csv",
                "measurements.parquet",
                "report.html",
                "report.json"
            ],
            "{method}"
        );
        let (header, rows) = published(&out);
        assert_eq!(header, ["city", "age", "sex", "service", "garments"]);
        let text = std::fs::read_to_string(out.join("measurements.csv")).unwrap();
        assert!(!text.contains('@'), "{method}: an email was published");
        let found = classes(&header, &rows, &["city", "age", "sex"], Some("service"));
        let k = found.iter().map(|c| c.0).min().unwrap();
        let l = found.iter().map(|c| c.1.len()).min().unwrap();
        let report = report(&out);
        assert!(k >= 5, "{method}: k {k}");
        assert!(l >= 2, "{method}: l {l}");
        assert_eq!(report["generalization"]["l_diversity"]["achieved"], l);
        assert_eq!(report["method"], method);
        // The same flags and seed give the same release, byte for byte.
        let again = dir.path().join(format!("{method}-again"));
        anonymize(&data("clients.csv"), &data("clients.toml"), &again, &args).expect_code(0);
        same_files(&out, &again);
    }
    // `publish` with the same settings in its config writes the same release.
    let published_dir = dir.path().join("publish");
    publish_clients(
        &published_dir,
        "[method]\nname = \"global\"\nl = 2\nt = 0.6\n",
    )
    .expect_code(0);
    same_files(&dir.path().join("global"), &published_dir);

    // A release that claims more than its rows show fails verify, even sealed again.
    let out = dir.path().join("global");
    let path = out.join("report.json");
    let mut forged = report(&out);
    forged["generalization"]["l_diversity"]["achieved"] = serde_json::json!(99);
    std::fs::write(&path, serde_json::to_string_pretty(&forged).unwrap()).unwrap();
    reseal_release(&out);
    anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(1);
}

/// A numeric table (cm, kg, mm) through `anonymize --method mdav`: the measurements release of
/// `publish`, verified, with no row of fewer than k people counted here.
#[test]
fn a_numeric_table_anonymizes_with_mdav_into_a_verified_release() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("clinic.csv");
    write_table(&table, &clinic_rows(420));
    let key = dir.path().join("clinic.key");
    std::fs::write(&key, "clinic-secret-for-tests\n").unwrap();
    let schema = PathBuf::from(crate::numeric_table::schema());
    let out = dir.path().join("mdav");
    let key_arg = key.to_str().unwrap();
    let args = [
        "--method",
        "mdav",
        "--key-file",
        key_arg,
        "--seed",
        "7",
        "--mdav-exact-limit",
        "500",
    ];
    anonymize(&table, &schema, &out, &args).expect_code(0);
    verifies(&out);
    let report = report(&out);
    assert_eq!(report["k_requested"], 5);
    assert!(report["k_achieved"].as_u64().unwrap() >= 5);
    assert!(report.get("generalization").is_none_or(|g| g.is_null()));
    let (header, rows) = published(&out);
    assert_eq!(
        header,
        ["height_cm", "weight_kg", "foot_length_mm", "arm_span_cm"]
    );
    let all: Vec<&str> = header.iter().map(String::as_str).collect();
    for (size, _) in classes(&header, &rows, &all, None) {
        assert!(size >= 5, "a group of {size} rows");
    }
    // The same release as `publish` with the same settings makes: one engine, one plan.
    let config = dir.path().join("limit.toml");
    std::fs::write(&config, "mdav_exact_limit = 500\n").unwrap();
    let published_dir = dir.path().join("publish");
    publish_table(
        &table,
        &schema,
        &published_dir,
        &[
            "--key-file",
            key_arg,
            "--seed",
            "7",
            "--config",
            config.to_str().unwrap(),
        ],
    )
    .expect_code(0);
    same_files(&out, &published_dir);
    // l needs a generalizing method, and says so naming the flag.
    let stderr = anonymize(
        &table,
        &schema,
        &dir.path().join("l"),
        &["--method", "mdav", "--l", "2"],
    )
    .expect_code(2)
    .stderr();
    assert!(stderr.contains("--l"), "{stderr}");
}

/// A small table: `id` (direct identifier), two numeric quasi-identifiers, a text
/// quasi-identifier with a hierarchy, a sensitive score; one row per person.
fn small_table(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::write(
        dir.join("job.csv"),
        "nurse;care;*\ndoctor;care;*\nbaker;food;*\ncook;food;*\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("people.toml"),
        "name = \"people\"\nrows_are_people = true\n\
         [[column]]\nname = \"id\"\nrole = \"direct_identifier\"\ntype = \"string\"\n\
         [[column]]\nname = \"age\"\nrole = \"quasi_identifier\"\ntype = \"integer\"\nwidths = [10, 20]\ntop_code = 70\n\
         [[column]]\nname = \"height\"\nrole = \"quasi_identifier\"\ntype = \"number\"\nunit = \"cm\"\nrounding = 0.5\nwidths = [10]\n\
         [[column]]\nname = \"job\"\nrole = \"quasi_identifier\"\ntype = \"string\"\nhierarchy = \"job.csv\"\n\
         [[column]]\nname = \"score\"\nrole = \"sensitive\"\ntype = \"integer\"\n",
    )
    .unwrap();
    let jobs = ["nurse", "doctor", "baker", "cook"];
    let mut csv = String::from("id,age,height,job,score\n");
    for i in 0..60u32 {
        csv.push_str(&format!(
            "p{i}@example.org,{},{}.{},{},{}\n",
            20 + (i * 7) % 55,
            150 + (i * 13) % 45,
            i % 10,
            jobs[(i % 4) as usize],
            (i * 3) % 7
        ));
    }
    std::fs::write(dir.join("people.csv"), csv).unwrap();
    (dir.join("people.csv"), dir.join("people.toml"))
}

#[test]
fn mondrian_publishes_ranges_or_means_in_k_anonymous_classes_that_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (input, schema) = small_table(dir.path());
    let config = dir.path().join("k4.toml");
    std::fs::write(&config, "[thresholds]\nmin_k = 4\n").unwrap();
    let config = config.to_str().unwrap();
    for (name, numeric) in [("ranges", "ranges"), ("means", "means")] {
        let out = dir.path().join(name);
        anonymize(
            &input,
            &schema,
            &out,
            &[
                "--method",
                "mondrian",
                "--numeric",
                numeric,
                "--k",
                "4",
                "--config",
                config,
            ],
        )
        .expect_code(0);
        verifies(&out);
        let (header, rows) = published(&out);
        assert_eq!(header, ["age", "height", "job", "score"], "{name}");
        let text = std::fs::read_to_string(out.join("measurements.csv")).unwrap();
        assert!(!text.contains("example.org"), "{name}");
        for (size, _) in classes(&header, &rows, &["age", "height", "job"], None) {
            assert!(size >= 4, "{name}: class of {size}");
        }
        let report = report(&out);
        assert_eq!(report["k_requested"], 4);
        assert_eq!(report["parameters"]["thresholds"]["min_k"], 4);
        let ages: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
        match numeric {
            // Ranges are text; means are numbers on the column's grid.
            "ranges" => assert!(ages.iter().any(|a| a.starts_with('[') && a.ends_with(']'))),
            _ => assert!(ages.iter().all(|a| a.parse::<f64>().is_ok()), "{ages:?}"),
        }
    }
}

#[test]
fn parquet_input_gives_the_same_rows_as_csv() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let (input, schema) = small_table(dir.path());
    let (header, rows) = read_csv(&input);
    let column = |name: &str| {
        let c = header.iter().position(|h| h == name).unwrap();
        rows.iter().map(move |row| row[c].clone())
    };
    let mut frame = DataFrame::new(
        rows.len(),
        vec![
            Column::new("id".into(), column("id").collect::<Vec<_>>()),
            Column::new(
                "age".into(),
                column("age")
                    .map(|v| v.parse::<i64>().unwrap())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "height".into(),
                column("height")
                    .map(|v| v.parse::<f64>().unwrap())
                    .collect::<Vec<_>>(),
            ),
            Column::new("job".into(), column("job").collect::<Vec<_>>()),
            Column::new(
                "score".into(),
                column("score")
                    .map(|v| v.parse::<i64>().unwrap())
                    .collect::<Vec<_>>(),
            ),
        ],
    )
    .unwrap();
    let parquet = dir.path().join("people.parquet");
    ParquetWriter::new(std::fs::File::create(&parquet).unwrap())
        .finish(&mut frame)
        .unwrap();
    for method in ["global", "mondrian"] {
        let (from_csv, from_parquet) = (dir.path().join("csv"), dir.path().join("parquet"));
        let args = ["--method", method, "--force", "--seed", "2"];
        anonymize(&input, &schema, &from_csv, &args).expect_code(0);
        anonymize(&parquet, &schema, &from_parquet, &args).expect_code(0);
        verifies(&from_parquet);
        // The record ids are keyed by the input file, which differs; the rows do not.
        assert_eq!(published(&from_csv), published(&from_parquet), "{method}");
    }
}

#[test]
fn flags_a_release_cannot_carry_are_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let (input, schema) = small_table(dir.path());
    let out = dir.path().join("out");
    for (args, flag) in [
        (
            &["--noise", "laplace", "--noise-scale", "0.2"][..],
            "--noise",
        ),
        (&["--l", "2", "--l-variant", "entropy"][..], "--l-variant"),
        (
            &["--l", "2", "--l-variant", "recursive", "--c", "2"][..],
            "--c",
        ),
        (
            &["--method", "mdav", "--suppression", "0.1"][..],
            "--suppression",
        ),
        (&["--numeric", "means"][..], "--numeric"),
        (&["--mdav-exact-limit", "10"][..], "--mdav-exact-limit"),
        (&["--k", "0"][..], "--k"),
        (&["--k", "1"][..], "--k"),
        (&["--k", "3"][..], "min_k = 3"),
        (&["--t", "1.5"][..], "--t"),
        (&["--source", "freesewing-v3"][..], "--source"),
    ] {
        let stderr = anonymize(&input, &schema, &out, args)
            .expect_code(2)
            .stderr();
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // The release date is needed, and may not lie in the future.
    for args in [&[][..], &["--as-of", "2126-01-01"]] {
        let stderr = anonymize_with(&input, &schema, &out, args)
            .expect_code(2)
            .stderr();
        assert!(stderr.contains("invalid --as-of"), "{stderr}");
    }
    assert!(!out.exists(), "nothing may be written on an error");
    // Infeasible: more people per class than the table has, or more diversity than it holds.
    let stderr = anonymize(
        &input,
        &schema,
        &out,
        &["--method", "mondrian", "--k", "61"],
    )
    .expect_code(2)
    .stderr();
    assert!(stderr.contains("60 eligible people"), "{stderr}");
    anonymize(&input, &schema, &out, &["--method", "mondrian", "--l", "8"]).expect_code(1);
    assert!(!out.exists());
    anonymize(&input, &schema, &out, &[]).expect_code(0);
    anonymize(&input, &schema, &out, &[]).expect_code(2);
    anonymize(&input, &schema, &out, &["--force"]).expect_code(0);
    verifies(&out);
}

#[test]
fn schema_mismatches_are_exit_2_naming_file_line_and_column_not_value() {
    let dir = tempfile::tempdir().unwrap();
    let (input, schema) = small_table(dir.path());
    let out = dir.path().join("out");

    // A value missing from the hierarchy.
    let text = std::fs::read_to_string(&input).unwrap();
    let missing = dir.path().join("missing.csv");
    std::fs::write(&missing, text.replacen("nurse", "astronaut", 1)).unwrap();
    let stderr = anonymize(&missing, &schema, &out, &[])
        .expect_code(2)
        .stderr();
    assert!(
        stderr.contains("missing.csv (line 2, column `job`)")
            && stderr.contains("job.csv")
            && !stderr.contains("astronaut"),
        "{stderr}"
    );

    // A data column the schema does not declare.
    let unknown = dir.path().join("unknown.csv");
    let with_zip: String = text
        .lines()
        .enumerate()
        .map(|(i, line)| format!("{line},{}\n", if i == 0 { "zip" } else { "1" }))
        .collect();
    std::fs::write(&unknown, with_zip).unwrap();
    let stderr = anonymize(&unknown, &schema, &out, &[])
        .expect_code(2)
        .stderr();
    assert!(stderr.contains("column `zip`"), "{stderr}");

    // A key the schema format does not know.
    let typo = dir.path().join("typo.toml");
    let schema_text = std::fs::read_to_string(&schema).unwrap();
    std::fs::write(&typo, schema_text.replace("widths = [10]", "width = [10]")).unwrap();
    let stderr = anonymize(&input, &typo, &out, &[]).expect_code(2).stderr();
    assert!(
        stderr.contains("typo.toml") && stderr.contains("width"),
        "{stderr}"
    );

    // No person key and no word that rows are people: k could not count people.
    let unkeyed = dir.path().join("unkeyed.toml");
    std::fs::write(
        &unkeyed,
        schema_text.replace("rows_are_people = true\n", ""),
    )
    .unwrap();
    let stderr = anonymize(&input, &unkeyed, &out, &[])
        .expect_code(2)
        .stderr();
    assert!(
        stderr.contains("person_key") && stderr.contains("rows_are_people"),
        "{stderr}"
    );

    // An unevenly deep hierarchy.
    std::fs::write(
        dir.path().join("job.csv"),
        "nurse;care;*\ndoctor;care\nbaker;food;*\ncook;food;*\n",
    )
    .unwrap();
    let stderr = anonymize(&input, &schema, &out, &[])
        .expect_code(2)
        .stderr();
    assert!(
        stderr.contains("job.csv (line 2)") && stderr.contains("deep"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may be written on an error");
}

/// 24 customers with three identical rows each (same age and height), keyed by `customer`.
fn visits_table(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::write(
        dir.join("visits.toml"),
        "name = \"visits\"\n\
         [[column]]\nname = \"customer\"\nrole = \"person_key\"\ntype = \"string\"\n\
         [[column]]\nname = \"age\"\nrole = \"quasi_identifier\"\ntype = \"integer\"\nwidths = [5, 10, 40]\n\
         [[column]]\nname = \"height\"\nrole = \"quasi_identifier\"\ntype = \"number\"\nwidths = [10, 40]\n",
    )
    .unwrap();
    let mut csv = String::from("customer,age,height\n");
    for _visit in 0..3 {
        for c in 0..24u32 {
            csv.push_str(&format!("c{c},{},{}\n", 20 + c * 2, 150 + c * 2));
        }
    }
    std::fs::write(dir.join("visits.csv"), csv).unwrap();
    (dir.join("visits.csv"), dir.join("visits.toml"))
}

/// Fewest customers in a class, counted here: a customer's age and height (`20 + 2c`,
/// `150 + 2c`) lie in the class's cells, ranges `[lo-hi]`/`[lo,hi[`-style or single values.
fn fewest_customers_per_class(out: &Path) -> usize {
    let (header, rows) = published(out);
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (age, height) = (at("age"), at("height"));
    let mut people: BTreeMap<(String, String), BTreeSet<u32>> = BTreeMap::new();
    for row in &rows {
        let class = people
            .entry((row[age].clone(), row[height].clone()))
            .or_default();
        for c in 0..24u32 {
            if covers(&row[age], 20.0 + 2.0 * c as f64)
                && covers(&row[height], 150.0 + 2.0 * c as f64)
            {
                class.insert(c);
            }
        }
    }
    people.values().map(BTreeSet::len).min().unwrap()
}

/// Whether a published cell (a number, or a range with any brackets) contains `value`.
fn covers(cell: &str, value: f64) -> bool {
    if let Ok(number) = cell.parse::<f64>() {
        return number == value;
    }
    let inner = cell.trim_matches(|c| "[]()".contains(c));
    let bounds: Vec<f64> = inner
        .split([',', '-', ';'])
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    match bounds[..] {
        [low, high] => {
            let high_open = cell.ends_with('[') || cell.ends_with(')');
            value >= low && (value < high || (!high_open && value == high))
        }
        _ => cell == "*",
    }
}

#[test]
fn a_person_key_makes_k_count_people_and_a_keyless_row_is_left_out_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (input, keyed) = visits_table(dir.path());
    let config = dir.path().join("k3.toml");
    std::fs::write(&config, "[thresholds]\nmin_k = 3\n").unwrap();
    let config = config.to_str().unwrap();
    for method in ["global", "mondrian"] {
        let out = dir.path().join(method);
        let args = ["--k", "3", "--config", config, "--method", method];
        anonymize(&input, &keyed, &out, &args).expect_code(0);
        verifies(&out);
        let report = report(&out);
        assert!(report["k_achieved"].as_u64().unwrap() >= 3, "{method}");
        let found = fewest_customers_per_class(&out);
        assert!(found >= 3, "{method}: a class of {found} customers");
        let (header, rows) = published(&out);
        assert_eq!(
            header,
            ["age", "height"],
            "{method}: the person key is not published"
        );
        assert!(rows.iter().flatten().all(|cell| !cell.starts_with('c')));
    }
    // 24 people cannot form a group of 25, however many rows they have.
    let out = dir.path().join("too-few");
    let stderr = anonymize(&input, &keyed, &out, &["--k", "25"])
        .expect_code(2)
        .stderr();
    assert!(stderr.contains("24 eligible people"), "{stderr}");
    // A row without its person is left out and counted.
    let blank = dir.path().join("blank.csv");
    std::fs::write(
        &blank,
        std::fs::read_to_string(&input)
            .unwrap()
            .replacen("c5,", ",", 1),
    )
    .unwrap();
    let out = dir.path().join("blank");
    anonymize(&blank, &keyed, &out, &["--k", "3", "--config", config]).expect_code(0);
    verifies(&out);
    assert_eq!(report(&out)["selection"]["excluded_sets"]["orphan_set"], 1);
}
