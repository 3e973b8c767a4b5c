//! `anonpub anonymize` end to end: ARX's golden outputs on adult, the other methods, schema
//! mismatches, determinism.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::fixtures::*;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn arx(file: &str) -> PathBuf {
    repo("tests/data/arx-adult").join(file)
}

fn anonymize(input: &Path, schema: &Path, out: &Path, extra: &[&str]) -> Run {
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

fn report(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

/// Rows of a `;`-separated file, header first.
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs global recoding on adult and compares with ARX's output row by row.
fn adult_matches_arx(suppression: &str, levels: [u64; 9], loss: f64, arx_output: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = anonymize(
        &arx("adult.csv"),
        &repo("schemas/adult.toml"),
        &out,
        &["--k", "5", "--suppression", suppression],
    )
    .expect_code(0);
    let printed: Vec<String> = levels.iter().map(u64::to_string).collect();
    assert!(
        run.stderr()
            .contains(&format!("levels [{}]", printed.join(", "))),
        "{}",
        run.stderr()
    );
    let report = report(&out);
    let result = &report["result"];
    assert_eq!(result["levels"], serde_json::json!(levels));
    let found = result["information_loss"]["loss"].as_f64().unwrap();
    assert!((found - loss).abs() < 0.0005, "loss {found} vs ARX {loss}");
    assert_eq!(report["input_records"], 30162);

    let ours = lines(&out.join("anonymized.csv"));
    let theirs = lines(&arx(arx_output));
    assert_eq!(ours.len(), theirs.len());
    for (row, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "line {}", row + 1);
    }
    // Suppressed rows are `*` in every column, in both outputs.
    let suppressed = ours
        .iter()
        .filter(|line| line.split(';').all(|cell| cell == "*"))
        .count();
    assert_eq!(result["suppressed_records"], suppressed);
    assert_eq!(suppressed > 0, suppression != "0");
    assert!(result["smallest_class"].as_u64().unwrap() >= 5);
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

/// Classes of the output (rows grouped by the given columns), skipping suppressed rows.
fn classes(path: &Path, delimiter: u8, columns: &[&str]) -> Vec<Vec<Vec<String>>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_path(path)
        .unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let positions: Vec<usize> = columns
        .iter()
        .map(|c| header.iter().position(|h| h == c).unwrap())
        .collect();
    let mut groups: HashMap<Vec<String>, Vec<Vec<String>>> = HashMap::new();
    for record in reader.records() {
        let row: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        if row.iter().all(|cell| cell == "*") {
            continue;
        }
        let key = positions.iter().map(|&p| row[p].clone()).collect();
        groups.entry(key).or_default().push(row);
    }
    groups.into_values().collect()
}

#[test]
fn adult_salary_l_diversity_and_t_closeness() {
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
    assert_eq!(report(&out)["privacy_model"]["l_diversity"]["l"], 2);
    for class in classes(&out.join("anonymized.csv"), b';', &quasi) {
        let salaries: std::collections::HashSet<&str> =
            class.iter().map(|row| row[8].as_str()).collect();
        assert!(class.len() >= 5 && salaries.len() >= 2);
    }

    let out = dir.path().join("t");
    anonymize(
        &arx("adult.csv"),
        &schema,
        &out,
        &["--k", "5", "--suppression", "0.02", "--t", "0.2"],
    )
    .expect_code(0);
    let rows = lines(&arx("adult.csv"));
    let high = rows.iter().filter(|l| l.ends_with(";>50K")).count() as f64;
    let table_share = high / (rows.len() - 1) as f64;
    for class in classes(&out.join("anonymized.csv"), b';', &quasi) {
        let share = class.iter().filter(|row| row[8] == ">50K").count() as f64 / class.len() as f64;
        // Two values: the variational distance is the difference of one share.
        assert!((share - table_share).abs() <= 0.2 + 1e-9);
    }
}

/// A small numeric table: `id` (direct identifier), two numeric quasi-identifiers, a text
/// quasi-identifier with a hierarchy, a sensitive score.
fn small_table(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::write(
        dir.join("job.csv"),
        "nurse;care;*\ndoctor;care;*\nbaker;food;*\ncook;food;*\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("people.toml"),
        "name = \"people\"\n\
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
fn mondrian_and_mdav_publish_k_anonymous_classes_with_matching_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let (input, schema) = small_table(dir.path());
    let numeric_schema = dir.path().join("numeric.toml");
    std::fs::write(
        &numeric_schema,
        std::fs::read_to_string(&schema).unwrap().replace(
            "role = \"quasi_identifier\"\ntype = \"string\"\nhierarchy = \"job.csv\"",
            "role = \"insensitive\"\ntype = \"string\"",
        ),
    )
    .unwrap();
    let runs: [(&str, &Path, &[&str], &[&str]); 3] = [
        (
            "ranges",
            &schema,
            &["--method", "mondrian"],
            &["age", "height", "job"],
        ),
        (
            "means",
            &schema,
            &["--method", "mondrian", "--numeric", "means"],
            &["age", "height", "job"],
        ),
        (
            "mdav",
            &numeric_schema,
            &["--method", "mdav", "--l", "2"],
            &["age", "height"],
        ),
    ];
    for (name, schema, extra, quasi) in runs {
        let out = dir.path().join(name);
        let mut args = vec!["--k", "4"];
        args.extend_from_slice(extra);
        anonymize(&input, schema, &out, &args).expect_code(0);
        let csv = std::fs::read_to_string(out.join("anonymized.csv")).unwrap();
        assert!(
            !csv.contains("example.org") && !csv.starts_with("id"),
            "{name}"
        );
        for class in classes(&out.join("anonymized.csv"), b',', quasi) {
            assert!(class.len() >= 4, "{name}: class of {}", class.len());
        }
        let report = report(&out);
        assert_eq!(report["dropped_columns"], serde_json::json!(["id"]));
        assert!(report["result"]["smallest_class"].as_u64().unwrap() >= 4);

        // Parquet holds the same cells; numeric columns as floats.
        use polars::prelude::*;
        let file = std::fs::File::open(out.join("anonymized.parquet")).unwrap();
        let frame = ParquetReader::new(file).finish().unwrap();
        let (header, rows) = read_csv(&out.join("anonymized.csv"));
        assert_eq!(frame.height(), rows.len());
        for (c, column) in header.iter().enumerate() {
            let series = frame
                .column(column)
                .unwrap()
                .cast(&DataType::String)
                .unwrap();
            for (r, value) in series.str().unwrap().iter().enumerate() {
                let cell = &rows[r][c];
                match value {
                    Some(text) if text == cell => {}
                    Some(text) => assert_eq!(
                        text.parse::<f64>().ok(),
                        cell.parse::<f64>().ok(),
                        "{name} {column} row {r}"
                    ),
                    None => assert!(cell.is_empty() || cell == "*", "{name} {column} row {r}"),
                }
            }
        }
    }
    let ranges = read_csv(&dir.path().join("ranges/anonymized.csv")).1;
    assert!(ranges
        .iter()
        .any(|row| row[0].starts_with('[') && row[0].ends_with(']')));
    let mdav = report(&dir.path().join("mdav"));
    assert!(mdav["result"]["information_loss"]["sse"].as_f64().unwrap() > 0.0);
    assert!(mdav["result"]["groups"].as_u64().unwrap() >= 1);
}

#[test]
fn parquet_input_gives_the_same_output_as_csv() {
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
        anonymize(&input, &schema, &from_csv, &["--method", method, "--force"]).expect_code(0);
        anonymize(
            &parquet,
            &schema,
            &from_parquet,
            &["--method", method, "--force"],
        )
        .expect_code(0);
        assert_eq!(
            std::fs::read(from_csv.join("anonymized.csv")).unwrap(),
            std::fs::read(from_parquet.join("anonymized.csv")).unwrap(),
            "{method}"
        );
    }
}

#[test]
fn noise_is_deterministic_per_seed_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (input, schema) = small_table(dir.path());
    let run = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        anonymize(
            &input,
            &schema,
            &out,
            &[
                "--method",
                "mondrian",
                "--noise",
                "laplace",
                "--noise-scale",
                "0.2",
                "--noise-mean-preserving",
                "--seed",
                seed,
            ],
        )
        .expect_code(0);
        out
    };
    let (a, b, c) = (run("a", "7"), run("b", "7"), run("c", "8"));
    for file in ["anonymized.csv", "anonymized.parquet", "report.json"] {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
    assert_ne!(
        std::fs::read(a.join("anonymized.csv")).unwrap(),
        std::fs::read(c.join("anonymized.csv")).unwrap()
    );
    let report = report(&a);
    let perturbation = &report["perturbation"];
    assert_eq!(perturbation["seed"], 7);
    assert_eq!(perturbation["noise"]["distribution"], "laplace");
    assert_eq!(perturbation["counts"]["noise"]["age"], 60);
    assert!(perturbation["counts"]["top_coded"]["age"]
        .as_u64()
        .is_some());
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
    let run = anonymize(&missing, &schema, &out, &[]).expect_code(2);
    let stderr = run.stderr();
    assert!(
        stderr.contains("missing.csv (line 2, column `job`)")
            && stderr.contains("job.csv")
            && !stderr.contains("astronaut"),
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
    std::fs::write(
        &typo,
        std::fs::read_to_string(&schema)
            .unwrap()
            .replace("widths = [10]", "width = [10]"),
    )
    .unwrap();
    let stderr = anonymize(&input, &typo, &out, &[]).expect_code(2).stderr();
    assert!(
        stderr.contains("typo.toml") && stderr.contains("width"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may be written on an error");
}

#[test]
fn infeasible_models_exit_1_and_bad_arguments_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (input, schema) = small_table(dir.path());
    let out = dir.path().join("out");
    let run = anonymize(
        &input,
        &schema,
        &out,
        &["--method", "mondrian", "--k", "61"],
    )
    .expect_code(1);
    assert!(
        run.stderr().contains("nothing was written"),
        "{}",
        run.stderr()
    );
    assert!(!out.exists());
    anonymize(
        &input,
        &schema,
        &out,
        &["--method", "mdav", "--suppression", "0.1"],
    )
    .expect_code(2);
    anonymize(&input, &schema, &out, &["--numeric", "means"]).expect_code(2);
    anonymize(
        &input,
        &schema,
        &out,
        &["--l", "2", "--l-variant", "recursive"],
    )
    .expect_code(2);
    anonymize(&input, &schema, &out, &["--k", "0"]).expect_code(2);
    anonymize(&input, &schema, &out, &["--method", "mdav"]).expect_code(2);
    anonymize(&input, &schema, &out, &[]).expect_code(0);
    anonymize(&input, &schema, &out, &[]).expect_code(2);
    anonymize(&input, &schema, &out, &["--force"]).expect_code(0);
}

/// 24 customers with three identical rows each (same age and height), keyed by `customer`.
fn visits_table(dir: &Path, customer_role: &str) -> (PathBuf, PathBuf) {
    std::fs::write(
        dir.join(format!("visits-{customer_role}.toml")),
        format!(
            "name = \"visits\"\n\
             [[column]]\nname = \"customer\"\nrole = \"{customer_role}\"\ntype = \"string\"\n\
             [[column]]\nname = \"age\"\nrole = \"quasi_identifier\"\ntype = \"integer\"\nwidths = [5, 10, 40]\n\
             [[column]]\nname = \"height\"\nrole = \"quasi_identifier\"\ntype = \"number\"\nwidths = [10, 40]\n"
        ),
    )
    .unwrap();
    let mut csv = String::from("customer,age,height\n");
    for _visit in 0..3 {
        for c in 0..24u32 {
            csv.push_str(&format!("c{c},{},{}\n", 20 + c * 2, 150 + c * 2));
        }
    }
    std::fs::write(dir.join("visits.csv"), csv).unwrap();
    (
        dir.join("visits.csv"),
        dir.join(format!("visits-{customer_role}.toml")),
    )
}

/// Fewest distinct customers in a class of published rows (row `r` is input row `r`, whose
/// customer is `r % 24`).
fn fewest_people_per_class(out: &Path) -> usize {
    let (header, rows) = read_csv(&out.join("anonymized.csv"));
    let quasi: Vec<usize> = ["age", "height"]
        .iter()
        .map(|c| header.iter().position(|h| h == c).unwrap())
        .collect();
    let mut classes: HashMap<Vec<String>, std::collections::HashSet<usize>> = HashMap::new();
    for (r, row) in rows.iter().enumerate() {
        if row.iter().all(|cell| cell == "*") {
            continue;
        }
        let key = quasi.iter().map(|&q| row[q].clone()).collect();
        classes.entry(key).or_default().insert(r % 24);
    }
    classes.values().map(|people| people.len()).min().unwrap()
}

#[test]
fn a_person_key_makes_every_method_count_k_over_people() {
    let dir = tempfile::tempdir().unwrap();
    let (input, keyed) = visits_table(dir.path(), "person_key");
    let (_, unkeyed) = visits_table(dir.path(), "insensitive");
    for method in ["global", "mondrian", "mdav"] {
        let args = ["--k", "3", "--method", method, "--verbose"];
        // Counted over rows, a customer's three identical visits are a class of their own.
        let rows_out = dir.path().join(format!("{method}-rows"));
        let by_rows = anonymize(&input, &unkeyed, &rows_out, &args).expect_code(0);
        assert_eq!(fewest_people_per_class(&rows_out), 1, "{method}");
        let rows_report = report(&rows_out);
        assert!(rows_report["privacy_model"].get("person_key").is_none());
        // The log line says what its smallest class counts.
        let smallest = &rows_report["result"]["smallest_class"];
        let logged = by_rows.stderr();
        assert!(
            logged.contains(&format!("(smallest: {smallest} records)")),
            "{logged}"
        );

        let out = dir.path().join(method);
        let by_people = anonymize(&input, &keyed, &out, &args).expect_code(0);
        assert!(fewest_people_per_class(&out) >= 3, "{method}");
        let report = report(&out);
        let logged = by_people.stderr();
        let (people, records) = (
            &report["result"]["smallest_class_people"],
            &report["result"]["smallest_class"],
        );
        assert!(
            logged.contains(&format!(
                "(fewest people in a class: {people}; fewest records: {records})"
            )),
            "{logged}"
        );
        assert_eq!(
            report["privacy_model"]["person_key"], "customer",
            "{method}"
        );
        assert!(report["result"]["smallest_class_people"].as_u64().unwrap() >= 3);
        assert_eq!(report["dropped_columns"], serde_json::json!(["customer"]));
        let csv = std::fs::read_to_string(out.join("anonymized.csv")).unwrap();
        assert!(!csv.contains("customer") && !csv.contains("c1"), "{method}");
    }
    // 24 people cannot form a group of 25, however many rows they have.
    let out = dir.path().join("too-few");
    let run = anonymize(&input, &keyed, &out, &["--k", "25", "--method", "mdav"]).expect_code(1);
    assert!(run.stderr().contains("24 people"), "{}", run.stderr());
    // A row without its person cannot be counted.
    let blank = dir.path().join("blank.csv");
    std::fs::write(
        &blank,
        std::fs::read_to_string(&input)
            .unwrap()
            .replacen("c5,", ",", 1),
    )
    .unwrap();
    let run = anonymize(&blank, &keyed, &dir.path().join("blank"), &["--k", "3"]).expect_code(2);
    assert!(
        run.stderr().contains("line 7") && run.stderr().contains("`customer`"),
        "{}",
        run.stderr()
    );
}
