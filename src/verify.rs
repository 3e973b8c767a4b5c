//! Re-reads a release and checks what can be checked from the release alone.
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

use crate::deidentify::{is_record_id, ReleaseTable};
use crate::dp::release::{check_chart_report, SizeChartReport};
use crate::error::{Error, Result};
use crate::gates::{GateSpec, Measured, MeasuredFrom};
use crate::measurements::Catalog;
use crate::observe::Observer;
use crate::release::checksums::{parse_checksums, sha256_file};
use crate::release::csv::scan_release_csv;
use crate::release::frequency::{
    is_frequency_report, parse_lines, CellProtection, FrequencyLine, FrequencyReport,
};
use crate::release::manifest::{read_manifest, Manifest};
use crate::release::parquet::{read_parquet, ParquetRelease};
use crate::release::plain::{read_plain_csv, read_plain_parquet};
use crate::release::report::ReleaseReport;
use crate::release::{
    CHECKSUM_FILE, CSV_FILE, FREQUENCY_CSV_FILE, FREQUENCY_PARQUET_FILE, FREQUENCY_RELEASE_FILES,
    MANIFEST_FILE, PARQUET_FILE, RELEASE_FILES, REPORT_FILE, SIZECHART_CSV_FILE, SIZECHART_FILES,
    SIZECHART_PARQUET_FILE,
};
use crate::risk::{assess, ClassHistogram};
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

/// Runs every check on the release in `dir`. `k` overrides the k recorded in `report.json`.
///
/// Work that does not depend on each other runs side by side: hashing the files beside parsing
/// the CSV, then reading the Parquet file beside the checks on the CSV's rows. Each file is
/// hashed once, for `SHA256SUMS` and the manifest alike.
pub fn verify_release(
    dir: &Path,
    k: Option<usize>,
    catalog: &Catalog,
    observer: &dyn Observer,
) -> Result<Vec<Check>> {
    let listing =
        std::fs::read_dir(dir).map_err(|e| Error::io("read release directory", dir, e))?;
    let present: BTreeSet<String> = listing
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if present.contains(FREQUENCY_CSV_FILE) || is_frequency_report(&dir.join(REPORT_FILE)) {
        return Ok(verify_frequency_release(dir, &present, observer));
    }
    let mut checks = Vec::new();
    let missing: Vec<&str> = RELEASE_FILES
        .iter()
        .copied()
        .filter(|f| !present.contains(*f))
        .collect();
    checks.push(check(
        "files present",
        missing.is_empty(),
        if missing.is_empty() {
            format!("all {} release files", RELEASE_FILES.len())
        } else {
            format!("missing: {}", missing.join(", "))
        },
    ));
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
    let report = ReleaseReport::read(&dir.join(REPORT_FILE));
    let required_k = k.or_else(|| report.as_ref().ok().map(|report| report.k_requested));
    let ((same_as_parquet, comparing), (row_checks, checking)) = rayon::join(
        || timed(|| parquet_matches(parquet, &csv_table)),
        || {
            timed(|| {
                let report = report.as_ref().map_err(String::as_str);
                row_checks(&csv_table, catalog, required_k, report)
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
    let missing: Vec<&str> = FREQUENCY_RELEASE_FILES
        .iter()
        .copied()
        .filter(|f| !present.contains(*f))
        .collect();
    let mut checks = vec![check(
        "files present",
        missing.is_empty(),
        if missing.is_empty() {
            format!(
                "all {} frequency-table release files",
                FREQUENCY_RELEASE_FILES.len()
            )
        } else {
            format!("missing: {}", missing.join(", "))
        },
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
    let ((csv, parquet), reading) = timed(|| {
        (
            read_plain_csv(&dir.join(FREQUENCY_CSV_FILE)),
            read_plain_parquet(&dir.join(FREQUENCY_PARQUET_FILE)),
        )
    });
    observer.stage_took("read", reading);
    let csv = match csv {
        Ok(csv) => csv,
        Err(problem) => {
            checks.push(check("csv readable", false, problem));
            return checks;
        }
    };
    checks.push(match parquet {
        Ok(parquet) if parquet == csv => check(
            "csv = parquet",
            true,
            format!("{} lines identical", csv.rows.len()),
        ),
        Ok(_) => check("csv = parquet", false, "the two files hold different data"),
        Err(problem) => check("csv = parquet", false, problem),
    });
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
/// k-anonymity, plausible values, then the recorded thresholds.
fn row_checks(
    table: &ReleaseTable,
    catalog: &Catalog,
    required_k: Option<usize>,
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
        checks.extend(thresholds(report, &histogram));
    }
    checks
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

fn allowed_columns(table: &ReleaseTable, catalog: &Catalog) -> Check {
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
            format!("record_id + {} measurements", table.columns.len()),
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

fn plausible_values(table: &ReleaseTable, catalog: &Catalog) -> Check {
    let width = table.columns.len().max(1);
    let ranges: Vec<[f64; 2]> = table
        .columns
        .iter()
        .map(|name| {
            catalog
                .index_of(name)
                .map_or([f64::NEG_INFINITY, f64::INFINITY], |i| catalog.plausible(i))
        })
        .collect();
    let outside: usize = table
        .values
        .par_chunks(width * 4096)
        .map(|rows| {
            rows.chunks(width)
                .flat_map(|row| row.iter().zip(&ranges))
                .filter(|(v, [low, high])| !v.is_nan() && (*v < low || *v > high))
                .count()
        })
        .sum();
    check(
        "plausible values",
        outside == 0,
        format!("{outside} values outside their plausible range"),
    )
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
