//! `anonpub tabulate --log-format combined` on the example log (`data/access.log.gz`, made by
//! `scripts/access-log-combined.py`): exact counts against the table the script computed on its
//! own, no address anywhere in the output or the log lines, the contributions table giving the
//! same table, secondary suppression re-checked by elimination, DP with its errors and bias,
//! and a log that is mostly garbage refused.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::fixtures::*;

fn log_path() -> PathBuf {
    repo("data/access.log.gz")
}

fn tabulate_log(out: &Path, extra: &[&str]) -> Run {
    let log = log_path();
    let mut args = vec![
        "tabulate",
        "--input",
        log.to_str().unwrap(),
        "--log-format",
        "combined",
        "--timezone",
        "Europe/Paris",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    anonpub(&args, &[])
}

type Key = (String, String);

/// `frequencies.csv` of a page × day table: key → (people, events, status).
fn lines(out: &Path) -> BTreeMap<Key, (Option<u64>, Option<u64>, String)> {
    let (header, rows) = read_csv(&out.join("frequencies.csv"));
    assert_eq!(header, ["path", "time", "people", "events", "status"]);
    rows.into_iter()
        .map(|r| {
            (
                (r[0].clone(), r[1].clone()),
                (r[2].parse().ok(), r[3].parse().ok(), r[4].clone()),
            )
        })
        .collect()
}

#[test]
fn the_example_log_gives_the_independently_counted_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stats");
    tabulate_log(&out, &["--by", "path,time:day", "--quiet"]).expect_code(0);
    let (_, expected) = read_csv(&repo("data/access-log-expected.csv"));
    let expected: BTreeMap<Key, (u64, u64)> = expected
        .into_iter()
        .map(|r| {
            (
                (r[0].clone(), r[1].clone()),
                (r[2].parse().unwrap(), r[3].parse().unwrap()),
            )
        })
        .collect();
    let got = lines(&out);
    // The same cells and margins, none missing, none added (no zero rows).
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    let mut suppressed = 0;
    for (key, (people, events, status)) in &got {
        let (true_people, true_events) = expected[key];
        match status.as_str() {
            "published" => {
                assert_eq!(
                    (*people, *events),
                    (Some(true_people), Some(true_events)),
                    "{key:?}"
                );
                assert!(true_people >= 10);
            }
            "primary" => {
                assert!(true_people < 10, "{key:?}");
                suppressed += 1;
            }
            "secondary" => suppressed += 1,
            other => panic!("{other}"),
        }
    }
    assert!(suppressed >= 2, "the rare pages are suppressed");
    // Margins are distinct people, not sums: the whole week's total is fewer than the cells'.
    let total = expected[&(String::new(), String::new())].0;
    let summed: u64 = expected
        .iter()
        .filter(|((p, d), _)| !p.is_empty() && !d.is_empty())
        .map(|(_, v)| v.0)
        .sum();
    assert!(total < summed, "{total} {summed}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let left_out = &report["input"]["left_out"];
    for reason in [
        "malformed: truncated",
        "malformed: garbage",
        "malformed: no address",
        "malformed: bad date",
        "filtered: bot",
        "filtered: static file",
        "filtered: status",
        "filtered: method",
    ] {
        assert!(
            left_out[reason].as_u64().unwrap() > 0,
            "{reason}: {left_out}"
        );
    }
    assert!(report["input"]["time_zone"]
        .as_str()
        .unwrap()
        .contains("Europe/Paris"));
    anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(0);
    assert!(independent_check_finds_nothing_recomputable(&got));
}

/// Independent of the engine: with the table's margins taken for sums (the attacker's strongest
/// reading) and absent cells as zeros, no suppressed entry is determined by the published ones.
/// Exact rational elimination on the line equations.
fn independent_check_finds_nothing_recomputable(
    table: &BTreeMap<Key, (Option<u64>, Option<u64>, String)>,
) -> bool {
    let hidden: Vec<&Key> = table
        .iter()
        .filter(|(_, v)| v.0.is_none())
        .map(|(k, _)| k)
        .collect();
    // One equation per line: cells of the line minus its margin = published part (unknowns only).
    let mut equations: Vec<Vec<i128>> = Vec::new();
    let paths: std::collections::BTreeSet<&String> = table.keys().map(|k| &k.0).collect();
    let days: std::collections::BTreeSet<&String> = table.keys().map(|k| &k.1).collect();
    for path in &paths {
        equations.push(
            hidden
                .iter()
                .map(|(p, d)| match (p == *path, d.is_empty()) {
                    (false, _) => 0,
                    (true, false) => 1,
                    (true, true) => -1,
                })
                .collect(),
        );
    }
    for day in &days {
        equations.push(
            hidden
                .iter()
                .map(|(p, d)| match (d == *day, p.is_empty()) {
                    (false, _) => 0,
                    (true, false) => 1,
                    (true, true) => -1,
                })
                .collect(),
        );
    }
    let base = rank(equations.clone());
    (0..hidden.len()).all(|target| {
        let mut with = equations.clone();
        with.push((0..hidden.len()).map(|u| i128::from(u == target)).collect());
        rank(with) > base
    })
}

fn rank(mut m: Vec<Vec<i128>>) -> usize {
    let width = m.first().map_or(0, Vec::len);
    let mut rank = 0;
    for column in 0..width {
        let Some(pivot) = (rank..m.len()).find(|&r| m[r][column] != 0) else {
            continue;
        };
        m.swap(rank, pivot);
        for r in 0..m.len() {
            if r != rank && m[r][column] != 0 {
                let (a, b) = (m[rank][column], m[r][column]);
                let top = m[rank].clone();
                for (x, p) in m[r].iter_mut().zip(&top) {
                    *x = *x * a - p * b;
                }
                let g = m[r].iter().fold(0i128, |g, &x| gcd(g, x.abs()));
                if g > 1 {
                    m[r].iter_mut().for_each(|x| *x /= g);
                }
            }
        }
        rank += 1;
    }
    rank
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Every client address of the log (first field of each line).
fn addresses() -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(log_path()).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut all: Vec<String> = text
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .map(String::from)
        .collect();
    all.sort();
    all.dedup();
    all
}

#[test]
fn no_address_leaks_into_any_output_file_or_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stats");
    let key = repo("data/example-people.key");
    let run = tabulate_log(
        &out,
        &[
            "--by",
            "path,time:hour",
            "--verbose",
            "--key-file",
            key.to_str().unwrap(),
        ],
    )
    .expect_code(0);
    let mut written: Vec<(String, Vec<u8>)> = vec![
        ("stderr".into(), run.stderr().into_bytes()),
        ("stdout".into(), run.stdout().into_bytes()),
    ];
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        written.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    let addresses = addresses();
    assert!(addresses.len() > 1000, "{}", addresses.len());
    for (name, bytes) in &written {
        // No address, and no part of one: the documentation prefixes never appear.
        for prefix in ["192.0.2.", "198.51.100.", "203.0.113.", "2001:db8"] {
            assert!(
                !bytes.windows(prefix.len()).any(|w| w == prefix.as_bytes()),
                "{prefix} in {name}"
            );
        }
        for address in &addresses {
            let needle = address.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{address} in {name}"
            );
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["input_fingerprint"]["algorithm"], "HMAC-SHA256");
}

#[test]
fn the_contributions_table_gives_exactly_the_same_table() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    tabulate_log(&raw, &["--by", "path,time:day", "--quiet"]).expect_code(0);
    let contributions = repo("data/access-log-contributions.csv.gz");
    let grouped = dir.path().join("grouped");
    anonpub(
        &[
            "tabulate",
            "--input",
            contributions.to_str().unwrap(),
            "--contributions",
            "--by",
            "path,time:day",
            "--out",
            grouped.to_str().unwrap(),
            "--quiet",
        ],
        &[],
    )
    .expect_code(0);
    // The same lines, byte for byte (the Parquet files differ only in the dataset name of
    // their metadata).
    assert!(
        std::fs::read(raw.join("frequencies.csv")).unwrap()
            == std::fs::read(grouped.join("frequencies.csv")).unwrap()
    );
    anonpub(&["verify", grouped.to_str().unwrap()], &[]).expect_code(0);
    // A contributions table with raw addresses as persons is refused.
    let leaky = dir.path().join("leaky.csv");
    std::fs::write(
        &leaky,
        "person,path,time,events\n192.0.2.1,/,2026-03-29,2\n",
    )
    .unwrap();
    let refused = anonpub(
        &[
            "tabulate",
            "--input",
            leaky.to_str().unwrap(),
            "--contributions",
            "--by",
            "path,time:day",
            "--out",
            dir.path().join("never").to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    assert!(
        refused.stderr().contains("keyed hash"),
        "{}",
        refused.stderr()
    );
    assert!(!refused.stderr().contains("192.0.2.1"));
    assert!(!dir.path().join("never").exists());
}

#[test]
fn dp_publishes_the_busiest_cells_with_errors_and_says_counts_are_low() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dp.toml");
    std::fs::write(&config, "[tabulate]\nprotection = \"dp\"\n").unwrap();
    let out = dir.path().join("dp");
    tabulate_log(
        &out,
        &[
            "--by",
            "path,time:day",
            "--config",
            config.to_str().unwrap(),
            "--quiet",
        ],
    )
    .expect_code(0);
    let (header, rows) = read_csv(&out.join("frequencies.csv"));
    assert_eq!(
        header,
        [
            "path",
            "time",
            "people",
            "people_error95",
            "events",
            "events_error95",
            "status"
        ]
    );
    assert!(!rows.is_empty(), "the busiest cells clear the threshold");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let threshold = report["protection"]["release_threshold"].as_u64().unwrap();
    assert!(rows.iter().any(|row| row[0] == "/"), "{rows:?}");
    for row in &rows {
        assert!(row[2].parse::<u64>().unwrap() >= threshold);
        assert_eq!(row[3], report["protection"]["people_error95"].to_string());
    }
    let datasheet = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(datasheet.contains("biased low"), "{datasheet}");
    let bias = &report["bounding_bias"];
    assert!(
        bias["people_pairs_dropped_pct"].as_u64().is_some(),
        "{report}"
    );
    anonpub(&["verify", out.to_str().unwrap()], &[]).expect_code(0);
}

#[test]
fn a_log_that_is_mostly_garbage_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("broken.log");
    let good =
        r#"192.0.2.1 - - [29/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0""#;
    let bad = r#"192.0.2.2 - - [29/Mar/2026:10:00:00 +0000] "GET / HTT"#;
    std::fs::write(&log, format!("{good}\n{bad}\n{bad}\n")).unwrap();
    let out = dir.path().join("never");
    let refused = anonpub(
        &[
            "tabulate",
            "--input",
            log.to_str().unwrap(),
            "--log-format",
            "combined",
            "--by",
            "path",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    let message = refused.stderr();
    assert!(message.contains("2 of 3 lines"), "{message}");
    assert!(
        message.contains("malformed: truncated: 2 (first: line 2)"),
        "{message}"
    );
    assert!(!message.contains("192.0.2"), "{message}");
    assert!(!out.exists());
    // A minority of bad lines is left out, counted, and the run goes ahead.
    std::fs::write(&log, format!("{good}\n{good}\n{bad}\n")).unwrap();
    let went = anonpub(
        &[
            "tabulate",
            "--input",
            log.to_str().unwrap(),
            "--log-format",
            "common",
            "--by",
            "path,ip:24",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        &[],
    )
    .expect_code(0);
    assert!(went.stderr().is_empty());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["input"]["left_out"]["malformed: truncated"], 1);
    // Fields that are not log fields, and a raw time, are refused before anything is read.
    for by in ["page", "time", "ip", "path:day"] {
        let refused = anonpub(
            &[
                "tabulate",
                "--input",
                log.to_str().unwrap(),
                "--log-format",
                "combined",
                "--by",
                by,
                "--out",
                dir.path().join("no").to_str().unwrap(),
            ],
            &[],
        )
        .expect_code(2);
        assert!(
            refused.stderr().contains("--by"),
            "{by}: {}",
            refused.stderr()
        );
    }
}
