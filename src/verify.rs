//! Re-reads a release and checks what can be checked from the release alone.
//!
//! **A release describes itself.** The columns, units, plausible ranges and rounding steps the
//! rows are checked against are those the release declares in `datapackage.json`, never a
//! catalogue built into anonpub, so a release of any dataset schema verifies against what it says
//! it holds (and a CSV with a column the package does not declare fails).
//!
//! **Trust nothing that can be recomputed.** Every figure of `report.json` that the release files
//! determine is recomputed from the rows and compared ([`Recomputed`]): the record and
//! suppressed counts, the coverage patterns, the whole risk section, and `k_achieved`, which may
//! claim at most the smallest group of identical rows (rows can only overstate people). The
//! achieved k must reach the required one (`--k`, else `k_requested`), and `k_requested` must be
//! one anonpub publishes (at least 2; below 5 only with `min_k` lowered to it). A report that
//! claims more than its files show fails even when its checksums and manifest were sealed again.
//!
//! That includes the publish thresholds recorded in `report.json` (`parameters.thresholds`) whose
//! figure follows from the released rows: k (as rows per group of identical rows, which can only
//! overstate the people per group, so a pass is necessary but a failure is certain), the
//! prosecutor risks, and the suppressed share the report states. Thresholds on the linkage attack
//! need the raw data and are listed as not re-checkable.
//!
//! A release with a size chart also gets its checks: the recorded budget within the configured
//! (ε, δ) and lifetime ε, the chart's CSV equal to its Parquet file, its structure against the
//! report. A frequency-table release (`anonpub tabulate`; recognised by `frequencies.csv` or the
//! report's `kind`) gets its own list: files, checksums, manifest, report, CSV = Parquet, the
//! table's structure, no identifiers among the keys, no published count below the threshold, no
//! suppressed cell recomputable from the margins, and (DP) the recorded noise within the
//! recorded budget.
//!
//! Used by maintainers before publishing and by CI on every release. Each check yields one
//! [`Check`] (a row of the text table, a JSON object, a GitHub annotation, a JUnit test case); the
//! command exits 0 when all pass and 1 when any fails. Only a missing or unreadable
//! release directory is "unusable input" (exit 2): a damaged file inside a release is exactly what
//! the checks are for.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use rayon::prelude::*;
use std::path::Path;

use serde::Serialize;

use crate::anonymize::k_anonymity::validate_release_k;
use crate::deidentify::{is_record_id, ReleaseTable};
use crate::dp::release::{check_chart_report, SizeChartReport};
use crate::error::{Error, Result};
use crate::gates::{GateSpec, Measured, MeasuredFrom};
use crate::measurements::{Catalog, DeclaredColumn};
use crate::observe::Observer;
use crate::release::checksums::{parse_checksums, sha256_file};
use crate::release::csv::scan_release_csv;
use crate::release::diversity::Classes;
use crate::release::frequency::{
    is_frequency_report, parse_lines, CellProtection, FrequencyLine, FrequencyReport,
};
use crate::release::manifest::{read_manifest, Manifest};
use crate::release::parquet::{read_parquet, ParquetRelease};
use crate::release::plain::{read_plain_csv, read_plain_parquet, TextRows};
use crate::release::report::{GeneralizationReport, ReleaseReport};
use crate::release::{
    CHECKSUM_FILE, CSV_FILE, DATAPACKAGE_FILE, FREQUENCY_CSV_FILE, FREQUENCY_PARQUET_FILE,
    FREQUENCY_RELEASE_FILES, MANIFEST_FILE, PARQUET_FILE, RELEASE_FILES, REPORT_FILE,
    SIZECHART_CSV_FILE, SIZECHART_FILES, SIZECHART_PARQUET_FILE,
};
use crate::risk::{assess, ClassHistogram};
use crate::schema::Role;
use crate::tabulate::suppress::bridges;
use crate::timings::timed;

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The check's name, as printed.
    pub name: &'static str,
    /// Whether the release passed it.
    pub passed: bool,
    /// What was found, in counts and names (never a value).
    pub detail: String,
}

fn check(name: &'static str, passed: bool, detail: impl Into<String>) -> Check {
    Check {
        name,
        passed,
        detail: detail.into(),
    }
}

/// The "files present" check: every file of `expected` (a kind of release, named by `kind`) is
/// among the `present` ones.
fn files_present(expected: &[&str], present: &BTreeSet<String>, kind: &str) -> Check {
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|f| !present.contains(*f))
        .collect();
    check(
        "files present",
        missing.is_empty(),
        if missing.is_empty() {
            format!("all {} {kind}", expected.len())
        } else {
            format!("missing: {}", missing.join(", "))
        },
    )
}

/// Reads a small-table release's CSV and Parquet files (`files`: their names and what a row is
/// called) and checks that they hold the same table; `None` when the CSV cannot be read, the
/// failed check pushed.
fn read_csv_and_parquet(
    dir: &Path,
    (csv_file, parquet_file, unit): (&str, &str, &str),
    observer: &dyn Observer,
    checks: &mut Vec<Check>,
) -> Option<TextRows> {
    let ((csv, parquet), reading) = timed(|| {
        (
            read_plain_csv(&dir.join(csv_file)),
            read_plain_parquet(&dir.join(parquet_file)),
        )
    });
    observer.stage_took("read", reading);
    let csv = match csv {
        Ok(csv) => csv,
        Err(problem) => {
            checks.push(check("csv readable", false, problem));
            return None;
        }
    };
    checks.push(match parquet {
        Ok(parquet) if parquet == csv => check(
            "csv = parquet",
            true,
            format!("{} {unit} identical", csv.rows.len()),
        ),
        Ok(_) => check("csv = parquet", false, "the two files hold different data"),
        Err(problem) => check("csv = parquet", false, problem),
    });
    Some(csv)
}

/// Runs every check on the release in `dir`. `k` overrides the k recorded in `report.json`.
///
/// Work that does not depend on each other runs side by side: hashing the files beside parsing
/// the CSV, then reading the Parquet file beside the checks on the CSV's rows. Each file is
/// hashed once, for `SHA256SUMS` and the manifest alike.
pub fn verify_release(dir: &Path, k: Option<usize>, observer: &dyn Observer) -> Result<Vec<Check>> {
    let listing =
        std::fs::read_dir(dir).map_err(|e| Error::io("read release directory", dir, e))?;
    let present: BTreeSet<String> = listing
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if present.contains(FREQUENCY_CSV_FILE) || is_frequency_report(&dir.join(REPORT_FILE)) {
        return Ok(verify_frequency_release(dir, &present, observer));
    }
    if let Ok(report) = ReleaseReport::read(&dir.join(REPORT_FILE)) {
        if let Some(generalization) = &report.generalization {
            return Ok(verify_generalized_release(
                dir,
                &present,
                k,
                (&report, generalization),
                observer,
            ));
        }
    }
    let mut checks = vec![files_present(&RELEASE_FILES, &present, "release files")];
    let sums = read_checksums(dir);
    let manifest = read_manifest(&dir.join(MANIFEST_FILE));
    let listed = listed_files(&sums, &manifest, &present);
    let ((digests, hashing), ((scanned, reading), (parquet, parquet_reading))) = rayon::join(
        || timed(|| digest_files(dir, &listed)),
        || {
            rayon::join(
                || timed(|| scan_release_csv(&dir.join(CSV_FILE), identifier_kind)),
                || timed(|| read_parquet(&dir.join(PARQUET_FILE))),
            )
        },
    );
    observer.stage_took("hash", hashing);
    observer.stage_took("read-csv", reading);
    observer.stage_took("read-parquet", parquet_reading);
    checks.push(checksums(sums, &digests, &present));
    checks.push(manifest_check(manifest, &digests, dir, &present));

    let scanned = match scanned {
        Ok(scanned) => scanned,
        Err(problem) => {
            checks.push(check("csv readable", false, problem));
            return Ok(checks);
        }
    };
    checks.push(no_identifiers(&scanned.flagged, scanned.cells));
    if let Some(problem) = scanned.not_numeric {
        checks.push(check("csv numeric", false, problem));
        return Ok(checks);
    }
    let csv_table = scanned.table;
    let catalog = declared_catalog(dir);
    let report = ReleaseReport::read(&dir.join(REPORT_FILE));
    let required_k = k.or_else(|| report.as_ref().ok().map(|report| report.k_requested));
    let ((same_as_parquet, comparing), (row_checks, checking)) = rayon::join(
        || timed(|| parquet_matches(parquet, &csv_table)),
        || {
            timed(|| {
                let report = report.as_ref().map_err(String::as_str);
                let catalog = catalog.as_ref().map_err(String::as_str);
                row_checks(&csv_table, catalog, (required_k, k.is_some()), report)
            })
        },
    );
    observer.stage_took("compare", comparing);
    observer.stage_took("row-checks", checking);
    let mut row_checks = row_checks;
    row_checks.insert(ROW_CHECKS_BEFORE_PARQUET, same_as_parquet);
    checks.extend(row_checks);
    checks.extend(size_chart_checks(
        dir,
        &present,
        report.as_ref().ok().and_then(|r| r.sizechart.as_ref()),
    ));
    Ok(checks)
}

/// The checks of a release's size chart, if it has one: the recorded budget is within the
/// configured (ε, δ) and lifetime ε, the CSV equals the Parquet file, and the chart's structure
/// matches the report (columns, one row per stratum and measurement, units, percentiles in order
/// and within the public bounds).
fn size_chart_checks(
    dir: &Path,
    present: &BTreeSet<String>,
    entry: Option<&SizeChartReport>,
) -> Vec<Check> {
    const NAME: &str = "size chart";
    let has_files = SIZECHART_FILES.iter().any(|f| present.contains(*f));
    let report = match entry {
        Some(report) => report,
        None if has_files => {
            return vec![check(
                NAME,
                false,
                "size chart files without a sizechart entry in report.json",
            )]
        }
        None => return Vec::new(),
    };
    let mut checks = vec![match check_chart_report(report) {
        Ok(()) => check(
            "size chart budget",
            true,
            format!(
                "ρ = {:.3e} spent of the ρ = {:.3e} that (ε = {}, δ = {:e}) allows{}",
                report.budget.rho_spent,
                report.budget.rho,
                report.budget.epsilon,
                report.budget.delta,
                report
                    .lifetime_epsilon
                    .map(|l| format!("; lifetime ε = {l}"))
                    .unwrap_or_default()
            ),
        ),
        Err(problem) => check("size chart budget", false, problem),
    }];
    let csv = read_plain_csv(&dir.join(SIZECHART_CSV_FILE));
    let parquet = read_plain_parquet(&dir.join(SIZECHART_PARQUET_FILE));
    let csv = match csv {
        Ok(csv) => csv,
        Err(problem) => {
            checks.push(check(NAME, false, problem));
            return checks;
        }
    };
    checks.push(match parquet {
        Ok(parquet) if parquet == csv => check(
            "size chart csv = parquet",
            true,
            format!("{} rows identical", csv.rows.len()),
        ),
        Ok(_) => check(
            "size chart csv = parquet",
            false,
            "the two files hold different data",
        ),
        Err(problem) => check("size chart csv = parquet", false, problem),
    });
    checks.push(match chart_structure(&csv, report) {
        Ok(detail) => check(NAME, true, detail),
        Err(problem) => check(NAME, false, problem),
    });
    checks
}

fn chart_structure(
    csv: &crate::release::plain::TextRows,
    report: &SizeChartReport,
) -> std::result::Result<String, String> {
    let mut expected: Vec<String> = ["stratum", "measurement", "unit"]
        .map(String::from)
        .to_vec();
    let figures: Vec<String> = ["n", "mean", "sd"]
        .map(String::from)
        .into_iter()
        .chain(report.percentiles.iter().map(|p| format!("p{p}")))
        .collect();
    for figure in &figures {
        expected.push(figure.clone());
        expected.push(format!("{figure}_error95"));
    }
    if csv.names != expected {
        return Err(format!("columns are [{}]", csv.names.join(", ")));
    }
    let rows = report.strata.len() * report.measurements.len();
    if csv.rows.len() != rows {
        return Err(format!(
            "{} rows; {} strata × {} measurements make {rows}",
            csv.rows.len(),
            report.strata.len(),
            report.measurements.len()
        ));
    }
    let number = |text: &str, line: usize| -> std::result::Result<Option<f64>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<f64>()
            .map(Some)
            .map_err(|_| format!("line {line}: a figure is not a number"))
    };
    for (index, row) in csv.rows.iter().enumerate() {
        let line = index + 2;
        let stratum = &report.strata[index / report.measurements.len()];
        let measurement = &report.measurements[index % report.measurements.len()];
        if &row[0] != stratum || row[1] != measurement.name || row[2] != measurement.unit {
            return Err(format!(
                "line {line} is not `{stratum}`, `{}` in {}",
                measurement.name, measurement.unit
            ));
        }
        let n = number(&row[3], line)?.ok_or(format!("line {line}: n is missing"))?;
        if n < 0.0 {
            return Err(format!("line {line}: n is negative"));
        }
        let mut previous = f64::NEG_INFINITY;
        for (level, _) in report.percentiles.iter().enumerate() {
            let column = 3 + 2 * (3 + level);
            if let Some(value) = number(&row[column], line)? {
                if value < previous
                    || value < measurement.lower - measurement.step
                    || value > measurement.upper + measurement.step
                {
                    return Err(format!(
                        "line {line}: percentiles out of order or outside the plausible range"
                    ));
                }
                previous = value;
            }
        }
    }
    Ok(format!(
        "{rows} rows ({} strata × {} measurements), percentiles in order and in range",
        report.strata.len(),
        report.measurements.len()
    ))
}

/// The checks of a frequency-table release (`anonpub tabulate`): files, checksums, manifest,
/// report, the CSV against the Parquet file, the table's structure, no identifiers among the
/// keys, no published count below the threshold, no suppressed cell recomputable from the
/// margins, and (DP) that the recorded noise costs at most the recorded budget.
fn verify_frequency_release(
    dir: &Path,
    present: &BTreeSet<String>,
    observer: &dyn Observer,
) -> Vec<Check> {
    let mut checks = vec![files_present(
        &FREQUENCY_RELEASE_FILES,
        present,
        "frequency-table release files",
    )];
    let sums = read_checksums(dir);
    let manifest = read_manifest(&dir.join(MANIFEST_FILE));
    let listed = listed_files(&sums, &manifest, present);
    let (digests, hashing) = timed(|| digest_files(dir, &listed));
    observer.stage_took("hash", hashing);
    checks.push(checksums(sums, &digests, present));
    checks.push(manifest_check(manifest, &digests, dir, present));
    let report = match FrequencyReport::read(&dir.join(REPORT_FILE)) {
        Ok(report) => {
            checks.push(check(
                "report",
                true,
                format!("{} by {}", report.kind, by_names(&report)),
            ));
            report
        }
        Err(problem) => {
            checks.push(check("report", false, problem));
            return checks;
        }
    };
    let Some(csv) = read_csv_and_parquet(
        dir,
        (FREQUENCY_CSV_FILE, FREQUENCY_PARQUET_FILE, "lines"),
        observer,
        &mut checks,
    ) else {
        return checks;
    };
    let flagged = csv
        .rows
        .iter()
        .flat_map(|row| &row[..report.by.len().min(row.len())])
        .filter_map(|cell| identifier_kind(cell))
        .fold(BTreeMap::new(), |mut kinds, kind| {
            *kinds.entry(kind).or_insert(0) += 1;
            kinds
        });
    checks.push(no_identifiers(&flagged, csv.rows.len() * report.by.len()));
    let lines = match parse_lines(&csv, &report) {
        Ok(lines) => lines,
        Err(problem) => {
            checks.push(check("table structure", false, problem));
            return checks;
        }
    };
    checks.push(frequency_structure(&lines, &report));
    checks.push(frequency_threshold(&lines, &report));
    match &report.protection {
        CellProtection::Suppression { .. } => {
            checks.push(secondary_suppression(&lines, &report));
        }
        CellProtection::Dp(dp) => checks.push(match dp.check() {
            Ok(()) => check(
                "dp budget",
                true,
                format!(
                    "noise of scale {:.3} over at most {} cells per person costs at most the recorded ε = {}, δ = {:e}",
                    dp.noise_scale, dp.max_cells_per_person, dp.epsilon, dp.delta
                ),
            ),
            Err(problem) => check("dp budget", false, problem),
        }),
    }
    checks
}

fn by_names(report: &FrequencyReport) -> String {
    report
        .by
        .iter()
        .map(|b| b.column.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lines agree with the report: their number, the published ones, no key twice, no zero
/// cell listed, and margins only where the report says there are.
fn frequency_structure(lines: &[FrequencyLine], report: &FrequencyReport) -> Check {
    const NAME: &str = "table structure";
    let published = lines.iter().filter(|l| l.status.is_published()).count();
    let keys: HashSet<&Vec<Option<String>>> = lines.iter().map(|l| &l.key).collect();
    let is_margin = |l: &FrequencyLine| l.key.iter().any(Option::is_none);
    let margins = lines.iter().filter(|l| is_margin(l)).count();
    let zeros = lines
        .iter()
        .filter(|l| !is_margin(l) && l.people == Some(0))
        .count();
    let mut problems = Vec::new();
    if lines.len() != report.lines || published != report.published_lines {
        problems.push(format!(
            "{} lines ({published} published); report.json says {} ({})",
            lines.len(),
            report.lines,
            report.published_lines
        ));
    }
    if keys.len() != lines.len() {
        problems.push(format!("{} keys repeat", lines.len() - keys.len()));
    }
    if margins > 0 && !report.margins {
        problems.push(format!("{margins} margin lines in a table without margins"));
    }
    if zeros > 0 && !report.is_dp() {
        problems.push(format!(
            "{zeros} cells of 0 people listed (absent cells are not listed)"
        ));
    }
    if problems.is_empty() {
        check(
            NAME,
            true,
            format!(
                "{} lines ({published} published, {margins} margins) by {}",
                lines.len(),
                by_names(report)
            ),
        )
    } else {
        check(NAME, false, problems.join("; "))
    }
}

/// No published people count lies between 0 and the threshold (exclusive); a DP table has no
/// count below its release threshold at all.
fn frequency_threshold(lines: &[FrequencyLine], report: &FrequencyReport) -> Check {
    let threshold = report.threshold();
    let dp = report.is_dp();
    let below = lines
        .iter()
        .filter_map(|l| l.people)
        .filter(|&people| people < threshold && (dp || people > 0))
        .count();
    check(
        "cell threshold",
        below == 0,
        format!("{below} published counts below the threshold {threshold}"),
    )
}

/// No suppressed entry can be recomputed exactly from the published cells and margins, even by
/// a reader who takes every margin for the sum of its line (absent cells are zeros): in 1-D, no
/// line of entries with exactly one hidden; in 2-D, no hidden entry that is a bridge of the graph
/// of hidden entries between row and column lines.
fn secondary_suppression(lines: &[FrequencyLine], report: &FrequencyReport) -> Check {
    const NAME: &str = "secondary suppression";
    if !report.margins {
        return check(NAME, true, "no margins: nothing to recompute from");
    }
    let hidden: Vec<bool> = lines.iter().map(|l| !l.status.is_published()).collect();
    let count = hidden.iter().filter(|&&h| h).count();
    let exposed = match report.by.len() {
        1 => usize::from(count == 1),
        2 => match sparse_grid(lines) {
            Ok((rows, columns, positions)) => bridges(rows, columns, &positions, &hidden).len(),
            Err(problem) => return check(NAME, false, problem),
        },
        _ => 0,
    };
    if exposed > 0 {
        check(
            NAME,
            false,
            format!(
                "{exposed} suppressed entries follow exactly from the published cells and margins"
            ),
        )
    } else {
        check(
            NAME,
            true,
            format!("none of {count} suppressed entries can be recomputed from the others"),
        )
    }
}

/// Rows and columns of a grid (margins included) and each line's position in it.
type GridShape = (usize, usize, Vec<(u32, u32)>);

/// The positions of a 2-D table's lines in its grid (margins last), after checking that every
/// row and column value has its margin and the table its total.
fn sparse_grid(lines: &[FrequencyLine]) -> std::result::Result<GridShape, String> {
    let mut values: [crate::fast_hash::FastMap<&str, u32>; 2] = Default::default();
    for line in lines {
        for (side, key) in line.key.iter().enumerate().take(2) {
            if let Some(key) = key {
                let next = values[side].len() as u32;
                values[side].entry(key.as_str()).or_insert(next);
            }
        }
    }
    let (rows, columns) = (values[0].len() as u32, values[1].len() as u32);
    let mut has_margin = [vec![false; rows as usize], vec![false; columns as usize]];
    let mut total = false;
    let positions: Vec<(u32, u32)> = lines
        .iter()
        .map(|line| {
            let i = line.key[0].as_deref().map_or(rows, |k| values[0][k]);
            let j = line.key[1].as_deref().map_or(columns, |k| values[1][k]);
            match (i == rows, j == columns) {
                (false, true) => has_margin[0][i as usize] = true,
                (true, false) => has_margin[1][j as usize] = true,
                (true, true) => total = true,
                (false, false) => {}
            }
            (i, j)
        })
        .collect();
    if !total || has_margin.iter().flatten().any(|&m| !m) {
        return Err("the table lacks a margin of a row or column, or its total".into());
    }
    Ok((rows as usize + 1, columns as usize + 1, positions))
}

/// How many of [`row_checks`] come before `csv = parquet` in the report: columns and record ids.
const ROW_CHECKS_BEFORE_PARQUET: usize = 2;

/// The checks that need only the CSV's rows, in report order: allowed columns, record ids,
/// k-anonymity, plausible values, then what the report claims against what the rows show (its
/// k, its recomputable figures) and the recorded thresholds. `required_k` is `--k` (`given`) or
/// else the report's `k_requested`.
fn row_checks(
    table: &ReleaseTable,
    catalog: std::result::Result<&Catalog, &str>,
    (required_k, given): (Option<usize>, bool),
    report: std::result::Result<&ReleaseReport, &str>,
) -> Vec<Check> {
    let (histogram, (columns, ids)) = rayon::join(
        || ClassHistogram::from_rows(&table.values, table.columns.len().max(1)),
        || (allowed_columns(table, catalog), record_ids(table)),
    );
    let mut checks = vec![columns, ids];
    checks.push(match (required_k, report) {
        (Some(k), _) => smallest_group(&histogram, table.is_empty(), k),
        (None, Err(problem)) => check(
            "k-anonymity",
            false,
            format!("no --k given and no k_requested: {problem}"),
        ),
        (None, Ok(_)) => unreachable!("a readable report gives k_requested"),
    });
    checks.push(plausible_values(table, catalog));
    if let Ok(report) = report {
        let required = required_k.unwrap_or(report.k_requested);
        checks.push(claimed_k(report, required, given));
        checks.push(report_figures(&recomputed_figures(
            report, table, &histogram,
        )));
        checks.extend(thresholds(report, &histogram));
    }
    checks
}

/// The k the report claims: the achieved k at least the required one (`--k`, else the k the
/// release asked for), and a requested k that the publisher's own rules allow (at least 2, and
/// below 5 only with a `min_k` at or below it, recorded among the thresholds).
fn claimed_k(report: &ReleaseReport, required: usize, given: bool) -> Check {
    const NAME: &str = "claimed k";
    let asked = if given { "--k" } else { "k_requested" };
    if report.k_achieved < required {
        return check(
            NAME,
            false,
            format!(
                "k_achieved {} is below {asked} {required}",
                report.k_achieved
            ),
        );
    }
    match validate_release_k(report.k_requested, report.parameters.thresholds.min_k) {
        Ok(()) => check(
            NAME,
            true,
            format!(
                "k_achieved {} ≥ {asked} {required}; k_requested {} allowed",
                report.k_achieved, report.k_requested
            ),
        ),
        Err(problem) => check(
            NAME,
            false,
            format!("k_requested {}: {problem}", report.k_requested),
        ),
    }
}

/// How a figure of `report.json` must relate to what the release files show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// The same (floats up to a relative 1e-9, what a JSON round trip may change).
    Equal,
    /// The report may claim at most what the files show: a count of people, which the files
    /// show only as rows (a person with two sets in one group makes it look larger).
    AtMost,
    /// The report may claim at least what the files show (groups, of which classes of
    /// identical rows are unions).
    AtLeast,
}

/// One figure of `report.json` recomputed from the release files.
#[derive(Debug, Clone, PartialEq)]
pub struct Recomputed {
    /// Its path in `report.json`.
    pub field: String,
    /// What the report claims.
    pub claimed: f64,
    /// What the files show.
    pub found: f64,
    /// How the two must relate.
    pub agreement: Agreement,
}

impl Recomputed {
    fn new(field: impl Into<String>, claimed: f64, found: f64, agreement: Agreement) -> Self {
        Recomputed {
            field: field.into(),
            claimed,
            found,
            agreement,
        }
    }

    /// Whether the claim holds.
    pub fn holds(&self) -> bool {
        let close = (self.claimed - self.found).abs()
            <= 1e-9 * self.claimed.abs().max(self.found.abs()).max(1.0);
        match self.agreement {
            Agreement::Equal => close,
            Agreement::AtMost => close || self.claimed < self.found,
            Agreement::AtLeast => close || self.claimed > self.found,
        }
    }
}

/// Every figure of `report.json` that the release files determine, beside what the files show,
/// so that a report claiming more than its files (a larger k, fewer suppressed records, a lower
/// risk) fails even when its checksums and manifest were sealed again. A figure the files alone
/// determine is one more line here.
fn recomputed_figures(
    report: &ReleaseReport,
    table: &ReleaseTable,
    histogram: &ClassHistogram,
) -> Vec<Recomputed> {
    use Agreement::{AtLeast, AtMost, Equal};
    let rows = table.len() as f64;
    let counts = &report.anonymization;
    let eligible = report.selection.eligible_sets as f64;
    let suppressed = eligible - counts.published_records as f64;
    let patterns: HashSet<Vec<bool>> = table
        .values
        .chunks(table.columns.len().max(1))
        .map(|row| row.iter().map(|v| v.is_nan()).collect())
        .collect();
    let mut figures = vec![
        Recomputed::new(
            "k_achieved",
            report.k_achieved as f64,
            histogram.smallest_class().unwrap_or(0) as f64,
            AtMost,
        ),
        Recomputed::new(
            "anonymization.published_records",
            counts.published_records as f64,
            rows,
            Equal,
        ),
        Recomputed::new(
            "anonymization.suppressed_records",
            counts.suppressed_records as f64,
            suppressed,
            Equal,
        ),
        Recomputed::new(
            "anonymization.suppressed_share",
            counts.suppressed_share,
            if eligible > 0.0 {
                suppressed / eligible
            } else {
                0.0
            },
            Equal,
        ),
        Recomputed::new(
            "anonymization.coverage_patterns",
            counts.coverage_patterns as f64,
            patterns.len() as f64,
            Equal,
        ),
        Recomputed::new(
            "anonymization.groups",
            counts.groups as f64,
            histogram.classes() as f64,
            AtLeast,
        ),
    ];
    // The whole risk section is a function of the rows and k_requested: recompute it and
    // compare every number in it.
    let found = crate::risk::release_risk(histogram, report.k_requested);
    let mut claimed = Vec::new();
    let mut recomputed = Vec::new();
    numbers("risk", &json_value(&report.risk), &mut claimed);
    numbers("risk", &json_value(&found), &mut recomputed);
    let recomputed: BTreeMap<String, f64> = recomputed.into_iter().collect();
    for (field, value) in claimed {
        let found = recomputed.get(&field).copied().unwrap_or(f64::NAN);
        figures.push(Recomputed::new(field, value, found, Equal));
    }
    figures
}

/// A serializable value as JSON.
fn json_value(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).expect("report types serialize")
}

/// Every number in a JSON value with its path (`risk.reidentification.threshold`,
/// `risk.risk_distribution.buckets.3.share_of_records`).
fn numbers(path: &str, value: &serde_json::Value, out: &mut Vec<(String, f64)>) {
    use serde_json::Value;
    match value {
        Value::Number(number) => out.push((path.to_string(), number.as_f64().unwrap_or(f64::NAN))),
        Value::Object(fields) => {
            for (key, item) in fields {
                numbers(&format!("{path}.{key}"), item, out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                numbers(&format!("{path}.{index}"), item, out);
            }
        }
        _ => {}
    }
}

/// The report's recomputable figures against the files: one check, naming every figure that
/// claims more than the files show.
fn report_figures(figures: &[Recomputed]) -> Check {
    const NAME: &str = "report figures";
    let wrong: Vec<String> = figures
        .iter()
        .filter(|figure| !figure.holds())
        .map(|figure| {
            format!(
                "{} is {} in report.json, the files show {}{}",
                figure.field,
                figure.claimed,
                figure.found,
                match figure.agreement {
                    Agreement::Equal => "",
                    Agreement::AtMost => " (at most that)",
                    Agreement::AtLeast => " (at least that)",
                }
            )
        })
        .collect();
    if wrong.is_empty() {
        check(
            NAME,
            true,
            format!(
                "{} figures recomputed from the files agree with report.json",
                figures.len()
            ),
        )
    } else {
        check(NAME, false, wrong.join("; "))
    }
}

/// The measurements the release declares: the fields of the Table Schema of the CSV's resource
/// in `datapackage.json` (after `record_id`), with their units, plausible ranges and rounding
/// steps. `verify` checks the rows against this declaration, not against a catalogue built into
/// anonpub, so that a release of any schema is checked against what it says it holds.
fn declared_catalog(dir: &Path) -> std::result::Result<Catalog, String> {
    let bytes = std::fs::read(dir.join(DATAPACKAGE_FILE))
        .map_err(|_| format!("{DATAPACKAGE_FILE} missing or unreadable"))?;
    let package: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{DATAPACKAGE_FILE} malformed: {e}"))?;
    let fields = package["resources"]
        .as_array()
        .and_then(|resources| resources.iter().find(|r| r["path"] == CSV_FILE))
        .and_then(|resource| resource["schema"]["fields"].as_array())
        .ok_or_else(|| format!("{DATAPACKAGE_FILE} declares no Table Schema for {CSV_FILE}"))?;
    let mut columns = Vec::with_capacity(fields.len());
    for (position, field) in fields.iter().enumerate() {
        let name = field["name"]
            .as_str()
            .ok_or_else(|| format!("{DATAPACKAGE_FILE}: field {} has no name", position + 1))?;
        if position == 0 {
            if name != "record_id" {
                return Err(format!(
                    "{DATAPACKAGE_FILE}: the first field is `{name}`, not `record_id`"
                ));
            }
            continue;
        }
        if field["type"] != "number" {
            return Err(format!(
                "{DATAPACKAGE_FILE}: field `{name}` is not declared as a number"
            ));
        }
        let bound =
            |key: &str, unbounded: f64| field["constraints"][key].as_f64().unwrap_or(unbounded);
        columns.push(DeclaredColumn {
            name: name.to_string(),
            unit: field["unit"].as_str().unwrap_or_default().to_string(),
            plausible: [
                bound("minimum", f64::NEG_INFINITY),
                bound("maximum", f64::INFINITY),
            ],
            rounding: field["rounding"].as_f64().unwrap_or(0.0),
        });
    }
    Ok(Catalog::from_declared(columns))
}

/// Whether the Parquet file holds exactly the CSV's table.
fn parquet_matches(parquet: Result<ParquetRelease>, csv_table: &ReleaseTable) -> Check {
    match parquet {
        Ok(parquet) if parquet.holds(csv_table) => check(
            "csv = parquet",
            true,
            format!("{} rows identical", csv_table.len()),
        ),
        Ok(_) => check("csv = parquet", false, "the two files hold different data"),
        Err(e) => check("csv = parquet", false, format!("parquet unreadable: {e}")),
    }
}

/// SHA-256 of each named file (in parallel); `None` when it cannot be read.
fn digest_files(dir: &Path, names: &BTreeSet<&str>) -> BTreeMap<String, Option<String>> {
    names
        .par_iter()
        .map(|name| (name.to_string(), sha256_file(&dir.join(name)).ok()))
        .collect()
}

/// Re-checks the thresholds recorded in the report against figures measured on the release.
fn thresholds(report: &ReleaseReport, histogram: &ClassHistogram) -> Vec<Check> {
    const NAME: &str = "thresholds";
    let thresholds = &report.parameters.thresholds;
    // The per-record threshold of `records_at_risk` is the one the report's risk section used.
    let risk_threshold =
        Some(report.risk.reidentification.threshold).filter(|t| *t > 0.0 && *t <= 1.0);
    if thresholds.max_records_at_risk.is_some() && risk_threshold.is_none() {
        return vec![check(
            NAME,
            false,
            "max_records_at_risk is set but report.json's risk section has no valid threshold",
        )];
    }
    // Any threshold gives the same average and highest risk; only records_at_risk needs the
    // recorded one.
    let prosecutor = assess(histogram, None, risk_threshold.unwrap_or(1.0))
        .reidentification
        .prosecutor;
    let measured = Measured {
        k: Some(histogram.smallest_class().unwrap_or(0) as usize),
        suppressed_share: Some(report.anonymization.suppressed_share),
        highest_risk: Some(prosecutor.highest),
        average_risk: Some(prosecutor.average),
        records_at_risk: risk_threshold.map(|_| prosecutor.records_at_risk),
        ..Measured::default()
    };
    let mut checks: Vec<Check> = thresholds
        .evaluate(&measured)
        .into_iter()
        .map(|gate| {
            check(
                gate.name,
                gate.passed,
                format!("measured {}, required {}", gate.measured, gate.required),
            )
        })
        .collect();
    let raw_only: Vec<&str> = thresholds
        .set_from(MeasuredFrom::RawData)
        .chain(thresholds.set_from(MeasuredFrom::Simulation))
        .map(GateSpec::name)
        .collect();
    if !raw_only.is_empty() {
        checks.push(check(
            NAME,
            true,
            format!(
                "checked at publish, need the raw data: {}",
                raw_only.join(", ")
            ),
        ));
    }
    checks
}

/// `SHA256SUMS` as read: its entries, or why it cannot be used.
/// The files `SHA256SUMS` or the manifest name that are present, to be hashed once each.
fn listed_files<'a>(
    sums: &'a std::result::Result<Vec<(String, String)>, String>,
    manifest: &'a std::result::Result<Manifest, String>,
    present: &BTreeSet<String>,
) -> BTreeSet<&'a str> {
    sums.iter()
        .flatten()
        .map(|(name, _)| name.as_str())
        .chain(
            manifest
                .iter()
                .flat_map(|m| m.files.iter().map(|f| f.path.as_str())),
        )
        .filter(|name| present.contains(*name))
        .collect()
}

fn read_checksums(dir: &Path) -> std::result::Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(dir.join(CHECKSUM_FILE))
        .map_err(|_| "SHA256SUMS missing or unreadable".to_string())?;
    parse_checksums(&text).map_err(|line| format!("SHA256SUMS line {line} is malformed"))
}

fn checksums(
    sums: std::result::Result<Vec<(String, String)>, String>,
    digests: &BTreeMap<String, Option<String>>,
    present: &BTreeSet<String>,
) -> Check {
    const NAME: &str = "checksums";
    let entries = match sums {
        Ok(entries) => entries,
        Err(problem) => return check(NAME, false, problem),
    };
    let mut bad = Vec::new();
    for (name, digest) in &entries {
        if digests.get(name).and_then(Option::as_ref) != Some(digest) {
            bad.push(name.clone());
        }
    }
    let listed: HashSet<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    let unlisted: Vec<&str> = present
        .iter()
        .map(String::as_str)
        .filter(|f| *f != CHECKSUM_FILE && !listed.contains(f))
        .collect();
    if !bad.is_empty() {
        check(NAME, false, format!("mismatch: {}", bad.join(", ")))
    } else if !unlisted.is_empty() {
        check(
            NAME,
            false,
            format!("files not in SHA256SUMS: {}", unlisted.join(", ")),
        )
    } else {
        check(NAME, true, format!("{} files match", entries.len()))
    }
}

/// Every file the manifest lists has its size and digest, every release file but the manifest
/// and `SHA256SUMS` is listed, and the input fingerprint is there and well formed (a microdata
/// release and a frequency table alike; its value can be recomputed only from the input, and
/// for a keyed one only with the key, so it is not re-checkable here).
fn manifest_check(
    manifest: std::result::Result<Manifest, String>,
    digests: &BTreeMap<String, Option<String>>,
    dir: &Path,
    present: &BTreeSet<String>,
) -> Check {
    const NAME: &str = "manifest";
    let manifest = match manifest {
        Ok(manifest) => manifest,
        Err(problem) => return check(NAME, false, problem),
    };
    let mut problems = Vec::new();
    for file in &manifest.files {
        if file.path.contains('/') || !present.contains(&file.path) {
            problems.push(format!("{} missing", file.path));
            continue;
        }
        match std::fs::metadata(dir.join(&file.path)) {
            Ok(meta) if meta.len() != file.bytes => problems.push(format!(
                "{} size {} ≠ {}",
                file.path,
                meta.len(),
                file.bytes
            )),
            Ok(_) => {}
            Err(_) => problems.push(format!("{} unreadable", file.path)),
        }
        if digests.get(&file.path).and_then(Option::as_ref) != Some(&file.sha256) {
            problems.push(format!("{} digest mismatch", file.path));
        }
    }
    let listed: HashSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for name in present {
        if name != MANIFEST_FILE && name != CHECKSUM_FILE && !listed.contains(name.as_str()) {
            problems.push(format!("{name} not listed"));
        }
    }
    let fingerprint = match &manifest.input_fingerprint {
        None => {
            problems.push("no input fingerprint".into());
            "none"
        }
        Some(fingerprint) => {
            let well_formed = matches!(fingerprint.algorithm.as_str(), "HMAC-SHA256" | "SHA-256")
                && fingerprint.value.len() == 64
                && fingerprint
                    .value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !well_formed {
                problems.push("input fingerprint malformed".into());
            }
            fingerprint.algorithm.as_str()
        }
    };
    if problems.is_empty() {
        check(
            NAME,
            true,
            format!(
                "{} files match (anonpub {}, seed {}, config {}, input {fingerprint})",
                manifest.files.len(),
                manifest.anonpub_version,
                manifest
                    .seed
                    .map_or_else(|| "none".to_string(), |seed| seed.to_string()),
                manifest
                    .config_sha256
                    .get(..12)
                    .unwrap_or(&manifest.config_sha256)
            ),
        )
    } else {
        check(NAME, false, problems.join("; "))
    }
}

/// The CSV holds `record_id` and exactly the columns `datapackage.json` declares, in its
/// order, each once.
fn allowed_columns(table: &ReleaseTable, catalog: std::result::Result<&Catalog, &str>) -> Check {
    let catalog = match catalog {
        Ok(catalog) => catalog,
        Err(problem) => {
            return check(
                "allowed columns",
                false,
                format!("cannot tell which columns the release declares: {problem}"),
            )
        }
    };
    if table.columns != catalog.names()
        && table.columns.iter().all(|c| catalog.index_of(c).is_some())
    {
        return check(
            "allowed columns",
            false,
            format!("the columns are not those {DATAPACKAGE_FILE} declares, in its order"),
        );
    }
    let unknown: Vec<&str> = table
        .columns
        .iter()
        .map(String::as_str)
        .filter(|c| catalog.index_of(c).is_none())
        .collect();
    let mut seen = HashSet::new();
    let repeated: Vec<&str> = table
        .columns
        .iter()
        .map(String::as_str)
        .filter(|c| !seen.insert(*c))
        .collect();
    if unknown.is_empty() && repeated.is_empty() {
        check(
            "allowed columns",
            true,
            format!(
                "record_id + the {} columns {DATAPACKAGE_FILE} declares",
                table.columns.len()
            ),
        )
    } else {
        check(
            "allowed columns",
            false,
            format!(
                "not allowed: {}",
                unknown
                    .iter()
                    .chain(&repeated)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }
}

/// Every record id is a fresh UUID v4 and none repeats. Well-formed ids are compared as the
/// 128-bit numbers they spell, which sorts a million of them far faster than as text.
fn record_ids(table: &ReleaseTable) -> Check {
    let mut numbers: Vec<u128> = table
        .record_ids
        .par_iter()
        .filter(|id| is_record_id(id))
        .map(|id| {
            id.bytes()
                .filter(|&b| b != b'-')
                .fold(0u128, |n, b| n << 4 | u128::from(hex_digit(b)))
        })
        .collect();
    let malformed = table.len() - numbers.len();
    numbers.par_sort_unstable();
    let duplicated = numbers.windows(2).filter(|pair| pair[0] == pair[1]).count();
    check(
        "record ids",
        malformed == 0 && duplicated == 0,
        format!(
            "{} ids; {malformed} malformed, {duplicated} repeated",
            table.len()
        ),
    )
}

/// The value of a lowercase hexadecimal digit (as [`is_record_id`] admits).
fn hex_digit(b: u8) -> u8 {
    if b.is_ascii_digit() {
        b - b'0'
    } else {
        b - b'a' + 10
    }
}

/// Kinds of text that identify or contact a person.
pub fn identifier_kind(cell: &str) -> Option<&'static str> {
    // A short number (every published measurement) is none of these; most cells stop here.
    if cell.len() < 7
        && cell
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return None;
    }
    let lower = cell.to_ascii_lowercase();
    if let Some(at) = cell.find('@') {
        if at > 0 && cell[at + 1..].contains('.') {
            return Some("email address");
        }
    }
    if lower.contains("://") || lower.starts_with("www.") {
        return Some("URL");
    }
    let parts: Vec<&str> = cell.split('.').collect();
    if parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some("IP address");
    }
    if cell.matches(':').count() >= 2 && cell.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
        return Some("IP address");
    }
    let digits = cell.bytes().filter(u8::is_ascii_digit).count();
    if digits >= 7
        && !is_period_key(cell)
        && cell
            .bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
        && !cell.contains('.')
    {
        return Some("phone number");
    }
    None
}

/// A date or period as the built-in coarsenings write it (`2026-11-01`, `2026-11-01T13`,
/// `2026-11`, `2026-W44`): digits and dashes, but not a phone number.
fn is_period_key(cell: &str) -> bool {
    let b = cell.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        range
            .clone()
            .all(|i| b.get(i).is_some_and(u8::is_ascii_digit))
    };
    let year_month = b.len() >= 7 && digits(0..4) && b[4] == b'-' && digits(5..7);
    let week = b.len() == 8 && digits(0..4) && &b[4..6] == b"-W" && digits(6..8);
    let day = b.len() >= 10 && year_month && b[7] == b'-' && digits(8..10);
    match b.len() {
        7 => year_month,
        8 => week,
        10 => day,
        13 => day && b[10] == b'T' && digits(11..13),
        _ => false,
    }
}

fn no_identifiers(flagged: &BTreeMap<&'static str, usize>, scanned: usize) -> Check {
    if flagged.is_empty() {
        check("no identifiers", true, format!("{scanned} cells scanned"))
    } else {
        let kinds: Vec<String> = flagged.iter().map(|(k, n)| format!("{n} × {k}")).collect();
        check(
            "no identifiers",
            false,
            format!("cells that look like: {}", kinds.join(", ")),
        )
    }
}

/// The smallest number of released rows that share all measurement values and coverage.
fn smallest_group(histogram: &ClassHistogram, empty: bool, k: usize) -> Check {
    let smallest = histogram.smallest_class().unwrap_or(0);
    check(
        "k-anonymity",
        empty || smallest >= k as u64,
        format!(
            "smallest group of identical rows: {smallest} (k = {k}; {} groups)",
            histogram.classes()
        ),
    )
}

/// Every value lies within the plausible range the release declares for its column and on its
/// declared rounding grid (a multiple of the step, up to the 1e-6 residue publishing leaves).
fn plausible_values(table: &ReleaseTable, catalog: std::result::Result<&Catalog, &str>) -> Check {
    let Ok(catalog) = catalog else {
        return check(
            "plausible values",
            false,
            format!("no declared ranges: {DATAPACKAGE_FILE} unusable"),
        );
    };
    let width = table.columns.len().max(1);
    // Range and step per column; a step of 0 is none declared.
    let declared: Vec<([f64; 2], f64)> = table
        .columns
        .iter()
        .map(|name| {
            catalog
                .index_of(name)
                .map_or(([f64::NEG_INFINITY, f64::INFINITY], 0.0), |i| {
                    (catalog.plausible(i), catalog.rounding(i))
                })
        })
        .collect();
    let off_grid = |value: f64, step: f64| {
        step > 0.0 && {
            let steps = value / step;
            (steps - steps.round()).abs() * step > 1e-6 * value.abs().max(1.0)
        }
    };
    let (outside, unrounded): (usize, usize) = table
        .values
        .par_chunks(width * 4096)
        .map(|rows| {
            rows.chunks(width)
                .flat_map(|row| row.iter().zip(&declared))
                .filter(|(v, _)| !v.is_nan())
                .fold(
                    (0, 0),
                    |(outside, unrounded), (&v, &([low, high], step))| {
                        (
                            outside + usize::from(v < low || v > high),
                            unrounded + usize::from(off_grid(v, step)),
                        )
                    },
                )
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    check(
        "plausible values",
        outside == 0 && unrounded == 0,
        format!(
            "{outside} values outside their plausible range, {unrounded} off their rounding step"
        ),
    )
}

/// The checks of a generalized release (`[method] name = "global"` or `"mondrian"`, recognised
/// by the report's `generalization` entry): files, checksums, manifest, the CSV against the
/// Parquet file, the columns the report lists, record ids, no identifiers, then k, distinct
/// l-diversity and t-closeness recomputed from the released rows alone
/// ([`crate::release::diversity`]) and compared with what was asked and what the report
/// claims, and the recorded thresholds.
fn verify_generalized_release(
    dir: &Path,
    present: &BTreeSet<String>,
    k: Option<usize>,
    (report, generalization): (&ReleaseReport, &GeneralizationReport),
    observer: &dyn Observer,
) -> Vec<Check> {
    let mut checks = vec![files_present(&RELEASE_FILES, present, "release files")];
    let sums = read_checksums(dir);
    let manifest = read_manifest(&dir.join(MANIFEST_FILE));
    let listed = listed_files(&sums, &manifest, present);
    let (digests, hashing) = timed(|| digest_files(dir, &listed));
    observer.stage_took("hash", hashing);
    checks.push(checksums(sums, &digests, present));
    checks.push(manifest_check(manifest, &digests, dir, present));
    let Some(csv) =
        read_csv_and_parquet(dir, (CSV_FILE, PARQUET_FILE, "rows"), observer, &mut checks)
    else {
        return checks;
    };
    let expected: Vec<&str> = std::iter::once("record_id")
        .chain(generalization.columns.iter().map(|c| c.name.as_str()))
        .collect();
    if csv.names != expected {
        checks.push(check(
            "columns",
            false,
            format!(
                "[{}]; report.json lists [{}]",
                csv.names.join(", "),
                expected.join(", ")
            ),
        ));
        return checks;
    }
    checks.push(check(
        "columns",
        true,
        format!(
            "record_id and the {} columns report.json lists",
            expected.len() - 1
        ),
    ));
    let ids: Vec<&str> = csv.rows.iter().map(|row| row[0].as_str()).collect();
    let distinct: HashSet<&str> = ids.iter().copied().collect();
    let malformed = ids.iter().filter(|id| !is_record_id(id)).count();
    checks.push(check(
        "record ids",
        malformed == 0 && distinct.len() == ids.len(),
        format!(
            "{} ids, {} distinct, {malformed} not a UUID v4",
            ids.len(),
            distinct.len()
        ),
    ));
    let flagged = csv
        .rows
        .iter()
        .flat_map(|row| &row[1..])
        .filter_map(|cell| identifier_kind(cell))
        .fold(BTreeMap::new(), |mut kinds, kind| {
            *kinds.entry(kind).or_insert(0) += 1;
            kinds
        });
    checks.push(no_identifiers(
        &flagged,
        csv.rows.len() * (expected.len() - 1),
    ));
    let rows: Vec<&[String]> = csv.rows.iter().map(|row| &row[1..]).collect();
    let of_role = |role: Role| -> Vec<usize> {
        (0..generalization.columns.len())
            .filter(|&c| generalization.columns[c].role == role)
            .collect()
    };
    let classes = Classes::of(&rows, &of_role(Role::QuasiIdentifier));
    let histogram =
        ClassHistogram::from_class_sizes(classes.members.iter().map(|c| c.len() as u64));
    let required_k = k.unwrap_or(report.k_requested);
    let smallest = classes.smallest();
    let claims_more = report.k_achieved > smallest && !rows.is_empty();
    let count_differs = report.anonymization.published_records != rows.len();
    checks.push(check(
        "k-anonymity",
        (rows.is_empty() || smallest >= required_k) && !claims_more && !count_differs,
        format!(
            "smallest group of identical rows: {smallest} (k = {required_k}; {} groups){}{}",
            classes.members.len(),
            if claims_more {
                format!("; report.json claims k_achieved = {}", report.k_achieved)
            } else {
                String::new()
            },
            if count_differs {
                format!(
                    "; report.json claims {} published records",
                    report.anonymization.published_records
                )
            } else {
                String::new()
            }
        ),
    ));
    let sensitive = of_role(Role::Sensitive);
    let column = |c: usize| -> Vec<&str> { rows.iter().map(|row| row[c].as_str()).collect() };
    if let Some(l) = generalization.l_diversity {
        let achieved = sensitive
            .iter()
            .map(|&c| classes.distinct_l(&column(c)))
            .min()
            .unwrap_or(0);
        checks.push(check(
            "l-diversity",
            achieved >= l.requested && achieved == l.achieved,
            format!(
                "fewest distinct sensitive values in a group: {achieved} (l = {}; report.json \
                 claims {})",
                l.requested, l.achieved
            ),
        ));
    }
    if let Some(t) = generalization.t_closeness {
        let achieved = sensitive
            .iter()
            .map(|&c| classes.t_closeness(&column(c), generalization.columns[c].numeric))
            .fold(0.0, f64::max);
        checks.push(check(
            "t-closeness",
            achieved <= t.requested + 1e-9 && (achieved - t.achieved).abs() <= 1e-9,
            format!(
                "largest distance of a group from the release: {achieved:.6} (t = {}; \
                 report.json claims {:.6})",
                t.requested, t.achieved
            ),
        ));
    }
    checks.extend(thresholds(report, &histogram));
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_identifiers_but_not_measurements_or_record_ids() {
        assert_eq!(identifier_kind("jane@example.org"), Some("email address"));
        assert_eq!(identifier_kind("https://freesewing.org/u/1"), Some("URL"));
        assert_eq!(identifier_kind("192.168.1.20"), Some("IP address"));
        assert_eq!(identifier_kind("fe80::1:2"), Some("IP address"));
        assert_eq!(identifier_kind("+32 470 12 34 56"), Some("phone number"));
        assert_eq!(identifier_kind("0470123456"), Some("phone number"));
        for harmless in [
            "762",
            "13.5",
            "1000.5",
            "",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "chest",
            "2026-11-01",
            "2026-11-01T13",
            "2026-11",
            "2026-W44",
        ] {
            assert_eq!(identifier_kind(harmless), None, "{harmless}");
        }
    }
}
