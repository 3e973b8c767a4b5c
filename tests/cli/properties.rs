//! Properties of whole releases over random inputs, checked by code that shares nothing with the
//! engine's own bookkeeping: people are counted here from the input table, rows are compared as
//! they are written, and `verify` is run on releases damaged at random cells.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anonpub::anonymize::microaggregation::{microaggregate, ReleaseMethod};
use anonpub::table::MeasurementTable;
use anonpub::verify::verify_release;
use proptest::prelude::*;

use crate::fixtures::*;

/// A random table: several records per person, values on a coarse grid (so that ties and equal
/// means happen), about a quarter of the cells missing.
fn table_strategy() -> impl Strategy<Value = (MeasurementTable, usize)> {
    (1usize..=6, 1usize..=5, 2usize..=40).prop_flat_map(|(width, k, people)| {
        let record = proptest::collection::vec(
            prop_oneof![1 => Just(None), 3 => (50u32..150).prop_map(|v| Some(f64::from(v) * 10.0))],
            width,
        );
        let person = proptest::collection::vec(record, 1..=4);
        (
            Just(width),
            Just(k.min(people)),
            proptest::collection::vec(person, people),
        )
            .prop_map(|(width, k, people)| {
                let columns = (0..width).map(|c| format!("m{c}")).collect();
                let mut table = MeasurementTable::new(columns);
                for (person, records) in people.iter().enumerate() {
                    for record in records {
                        let row: Vec<f64> = record.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
                        table.push(person as u32, &row);
                    }
                }
                (table, k)
            })
    })
}

/// The bits of a released row, NaN (not published) as one value.
fn row_key(row: &[f64]) -> Vec<u64> {
    row.iter()
        .map(|v| if v.is_nan() { u64::MAX } else { v.to_bits() })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The default publish method end to end (coverage planning with merging of small patterns,
    /// MDAV, spread restoration, bounds, rounding): every released row is identical to the rows of
    /// at least k distinct people, counted here from the input table, no value is invented, and
    /// the same input gives the same bits.
    #[test]
    fn every_released_row_is_shared_by_k_distinct_people(
        (table, k) in table_strategy(),
        exact_limit in 1usize..64,
        min_pattern_people in 1usize..30,
        min_published in 1usize..4,
        step in prop_oneof![Just(1.0), Just(0.5), Just(25.0)],
    ) {
        let width = table.width();
        let method = ReleaseMethod {
            k,
            exact_limit,
            min_pattern_people,
            min_published: min_published.min(width),
            rounding: vec![step; width],
            bounds: vec![[400.0, 1600.0]; width],
        };
        let result = microaggregate(&table, &method, &anonpub::observe::Silent);
        let again = microaggregate(&table, &method, &anonpub::observe::Silent);
        prop_assert_eq!(row_key(&result.values), row_key(&again.values), "not deterministic");
        prop_assert_eq!(&result.source, &again.source);
        for value in result.values.iter().filter(|v| !v.is_nan()) {
            prop_assert!((400.0..=1600.0).contains(value), "{} outside the bounds", value);
        }
        prop_assert_eq!(result.rows(), result.source.len());
        prop_assert_eq!(result.rows() + result.coverage.suppressed_records, table.len());
        let distinct: HashSet<usize> = result.source.iter().copied().collect();
        prop_assert_eq!(distinct.len(), result.source.len(), "a record released twice");

        let mut people: HashMap<Vec<u64>, HashSet<u32>> = HashMap::new();
        for (index, &record) in result.source.iter().enumerate() {
            let row = &result.values[index * width..(index + 1) * width];
            let source = table.row(record);
            for (released, original) in row.iter().zip(source) {
                prop_assert!(released.is_nan() || !original.is_nan(), "a value was invented");
            }
            people.entry(row_key(row)).or_default().insert(table.person(record));
        }
        for (row, owners) in &people {
            prop_assert!(owners.len() >= k, "row {:?} is shared by {} people, k = {}", row, owners.len(), k);
        }
        if result.rows() > 0 {
            let fewest = people.values().map(HashSet::len).min().unwrap();
            prop_assert!(result.smallest_group_people >= k);
            prop_assert!(fewest >= result.smallest_group_people);
        }
    }
}

/// Rewrites one cell of a release CSV (cells hold no commas or quotes).
fn set_cell(csv: &Path, row: usize, column: usize, value: &str) {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cells: Vec<&str> = lines[row].split(',').collect();
    cells[column] = value;
    lines[row] = cells.join(",");
    std::fs::write(csv, lines.join("\n") + "\n").unwrap();
}

fn failed_checks(dir: &Path) -> Vec<&'static str> {
    verify_release(dir, None, &anonpub::observe::Silent)
        .unwrap()
        .into_iter()
        .filter(|check| !check.passed)
        .map(|check| check.name)
        .collect()
}

/// The sample release, published once for all cases.
fn sample_release() -> &'static (tempfile::TempDir, Vec<Vec<String>>) {
    static RELEASE: std::sync::OnceLock<(tempfile::TempDir, Vec<Vec<String>>)> =
        std::sync::OnceLock::new();
    RELEASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("release");
        publish_sample(&out, &[]).expect_code(0);
        let (_, rows) = read_csv(&out.join("measurements.csv"));
        (dir, rows)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any one changed cell of the sample release fails `verify`: through the checksums, and,
    /// once the checksums are recomputed, through the CSV = Parquet comparison.
    #[test]
    fn verify_flags_any_single_tampered_cell(
        row_pick in any::<prop::sample::Index>(),
        column_pick in any::<prop::sample::Index>(),
        shift in prop_oneof![-50i32..=-1, 1i32..=50],
        blank in any::<bool>(),
        uuid_bytes in any::<[u8; 16]>(),
    ) {
        let (source, rows) = sample_release();
        let row = row_pick.index(rows.len());
        let column = column_pick.index(rows[row].len());
        let original = &rows[row][column];
        let replacement = if column == 0 {
            let hex = hex::encode(uuid_bytes);
            format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
        } else if original.is_empty() {
            format!("{}", 1000 + shift)
        } else if blank {
            String::new()
        } else {
            format!("{}", original.parse::<f64>().unwrap() + f64::from(shift))
        };
        prop_assume!(&replacement != original);

        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(source.path().join("release")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        prop_assert!(failed_checks(dir.path()).is_empty());
        set_cell(&dir.path().join("measurements.csv"), row + 1, column, &replacement);
        let failed = failed_checks(dir.path());
        prop_assert!(failed.contains(&"checksums"), "{:?}", failed);
        // SHA256SUMS recomputed, as someone covering their tracks would.
        reseal(
            dir.path(),
            &[
                "measurements.csv",
                "measurements.parquet",
                "datapackage.json",
                "report.json",
            ],
        );
        let failed = failed_checks(dir.path());
        prop_assert!(failed.contains(&"csv = parquet"), "{:?}", failed);
    }
}

/// Plausible measies JSON for a random person, in one of two coverage patterns (so that six
/// people always leave a pattern shared by three, and the release is never empty).
fn measies_strategy() -> impl Strategy<Value = String> {
    (
        800u32..1300,
        600u32..1200,
        proptest::option::of((330u32..450, 850u32..1400)),
    )
        .prop_map(|(chest, waist, more)| {
            let mut entries = vec![format!("\"chest\":{chest}"), format!("\"waist\":{waist}")];
            if let Some((neck, hips)) = more {
                entries.push(format!("\"neck\":{neck},\"hips\":{hips}"));
            }
            format!("{{{}}}", entries.join(","))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Through the real binary: the same database and seed give byte-identical releases; another
    /// seed gives other record ids for every row.
    #[test]
    fn equal_seeds_give_identical_bytes_and_other_seeds_other_ids(
        sets in proptest::collection::vec(proptest::collection::vec(measies_strategy(), 1..=3), 6..24),
        seed in any::<u64>(),
        other in any::<u64>(),
    ) {
        prop_assume!(seed != other);
        let dir = tempfile::tempdir().unwrap();
        let users: Vec<FixtureUser> = sets.into_iter().map(FixtureUser::eligible).collect();
        let (db, key) = fixture_db(dir.path(), &users);
        let run = |name: &str, seed: u64| {
            let out = dir.path().join(name);
            let seed = seed.to_string();
            anonpub(
                &[
                    "publish", "--db", db.to_str().unwrap(), "--key-file", key.to_str().unwrap(),
                    "--as-of", "2026-11-01", "--out", out.to_str().unwrap(), "--k", "3",
                    "--seed", &seed, "--quiet", "--config", small_database_config(),
                ],
                &[],
            )
            .expect_code(0);
            out
        };
        let (a, b, c) = (run("a", seed), run("b", seed), run("c", other));
        for file in ["measurements.csv", "measurements.parquet", "datapackage.json", "report.json", "SHA256SUMS"] {
            prop_assert_eq!(std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap(), "{}", file);
        }
        let ids = |out: &Path| -> HashSet<String> {
            read_csv(&out.join("measurements.csv")).1.into_iter().map(|row| row[0].clone()).collect()
        };
        let (ids_a, ids_c) = (ids(&a), ids(&c));
        prop_assert!(!ids_a.is_empty());
        prop_assert!(ids_a.is_disjoint(&ids_c));
    }
}
