//! Publishing: writing the release directory, atomically, in the files of the release contract
//! ([`crate::release`]).
//!
//! The data files are written by the contract's own formats ([`crate::release::csv`],
//! [`crate::release::parquet`]); this module adds the documents that describe them
//! ([`datapackage`], [`html`], [`datasheet`]), then the manifest and checksums. Every file depends
//! only on the inputs and the seed: the same run gives the same bytes. [`generalized`] writes the
//! release of a generalizing method (any dataset schema, `publish` or `anonymize`), [`frequency`] the release of
//! `anonpub tabulate` (a protected frequency table), and [`internal`] the internal report that
//! never enters a release.

pub mod datapackage;
pub mod datasheet;
pub mod frequency;
pub mod generalized;
pub mod html;
pub mod internal;
pub mod risk;
pub mod sizechart;

use std::io::Write;
use std::path::Path;

use crate::atomic::Staging;
use crate::config::ReleaseConfig;
use crate::deidentify::ReleaseTable;
use crate::error::{Error, Result};
use crate::extract::source::SourceDescription;
use crate::measurements::Catalog;
use crate::observe::Observer;
use crate::release::checksums::{checksum_text, sha256_file};
use crate::release::manifest::{InputFingerprint, Manifest, ManifestFile};
use crate::release::report::ReleaseReport;
use crate::release::{
    csv, parquet, CHECKSUM_FILE, CSV_FILE, DATAPACKAGE_FILE, DATASHEET_FILE, HTML_FILE,
    MANIFEST_FILE, PARQUET_FILE, REPORT_FILE, SIZECHART_CSV_FILE, SIZECHART_PARQUET_FILE,
};
use crate::schema::DatasetSchema;
use crate::timings::timed;
use datapackage::{datapackage, PackageInfo, PackagedFile};
use datasheet::datasheet;
use html::report_html;

/// Where a microdata release comes from and what it answers to, the same for every method's
/// release: the report, the schema and the configuration followed (with the configuration's
/// digest), the keyed fingerprint of the input and the source's description of itself. The
/// manifest and the data files' footers are made from it alone, so that every release states its
/// origin in the same words.
#[derive(Clone, Copy)]
pub struct Provenance<'a> {
    /// The public report.
    pub report: &'a ReleaseReport,
    /// The dataset schema the release follows.
    pub schema: &'a DatasetSchema,
    /// The effective configuration (command-line overrides applied).
    pub config: &'a ReleaseConfig,
    /// [`crate::release::manifest::config_digest`] of `config`.
    pub config_sha256: &'a str,
    /// The keyed fingerprint of the input.
    pub input_fingerprint: &'a InputFingerprint,
    /// The source the people came from, as it describes itself.
    pub source: &'a SourceDescription,
}

impl Provenance<'_> {
    /// The manifest of the release's `files`.
    pub(crate) fn manifest(&self, files: Vec<ManifestFile>) -> Manifest {
        let (report, config) = (self.report, self.config);
        Manifest {
            anonpub_version: report.anonpub_version.clone(),
            dataset: report.dataset.clone(),
            release_version: config.version.clone(),
            as_of: report.as_of.clone(),
            seed: Some(report.seed),
            config_sha256: self.config_sha256.to_string(),
            input_fingerprint: Some(self.input_fingerprint.clone()),
            files,
        }
    }

    /// The release facts a data file's footer carries, so that it explains itself when shared
    /// alone.
    pub(crate) fn footer_metadata(&self) -> Vec<(String, String)> {
        let (report, config) = (self.report, self.config);
        vec![
            ("anonpub:version".into(), report.anonpub_version.clone()),
            ("anonpub:dataset".into(), report.dataset.clone()),
            ("anonpub:release_version".into(), config.version.clone()),
            ("anonpub:method".into(), report.method.clone()),
            ("anonpub:k".into(), report.k_requested.to_string()),
            ("anonpub:seed".into(), report.seed.to_string()),
            ("anonpub:as_of".into(), report.as_of.clone()),
        ]
    }
}

/// What a release of microaggregated measurements is made of.
pub struct Release<'a> {
    /// The de-identified rows.
    pub table: &'a ReleaseTable,
    /// Where the release comes from: report, schema, config, input and source.
    pub provenance: Provenance<'a>,
    /// The measurements of the schema, with units and ranges.
    pub catalog: &'a Catalog,
    /// The DP size chart, when the config has `[sizechart]` (its report entry is
    /// `report.sizechart`).
    pub sizechart: Option<&'a crate::dp::sizechart::SizeChart>,
}

/// Writes the release into `out`, all or nothing; an existing `out` is replaced only with `force`
/// (see [`crate::atomic`]). With a size chart, `sizechart.csv` and `sizechart.parquet` join the
/// files (and the manifest and checksums), and the datasheet and `report.html` gain a section;
/// without one the files are exactly those of a release without `[sizechart]`.
pub fn write_release(
    out: &Path,
    force: bool,
    release: &Release<'_>,
    observer: &dyn Observer,
) -> Result<()> {
    stage_release(out, force, release, observer)?.commit()
}

/// Writes every file of the release into a hidden staging directory beside `out` and returns it
/// uncommitted: [`Staging::commit`] puts it in place, dropping it removes it. A caller that
/// still has a check to make (a gate judged on figures computed meanwhile) commits only if it
/// passes, so nothing appears at `out` otherwise.
pub fn stage_release(
    out: &Path,
    force: bool,
    release: &Release<'_>,
    observer: &dyn Observer,
) -> Result<Staging> {
    let staging = Staging::new(out, force, "--out")?;
    // The two data files are independent: CSV formatting runs on its own thread while the
    // Parquet writer uses the rayon pool.
    let (csv_written, parquet_written) = std::thread::scope(|scope| {
        let csv = scope.spawn(|| timed(|| write_csv_file(&staging, release.table)));
        let parquet = timed(|| write_parquet_file(&staging, release));
        (csv.join().expect("the CSV writer does not panic"), parquet)
    });
    observer.stage_took("write-csv", csv_written.1);
    observer.stage_took("write-parquet", parquet_written.1);
    csv_written.0?;
    parquet_written.0?;

    let started = std::time::Instant::now();
    let csv_entry = file_entry(&staging, CSV_FILE)?;
    let parquet_entry = file_entry(&staging, PARQUET_FILE)?;
    let info = PackageInfo {
        schema: release.provenance.schema,
        catalog: release.catalog,
        version: &release.provenance.config.version,
        created: format!("{}T00:00:00Z", release.provenance.report.as_of),
        license: &release.provenance.config.license,
        rows: release.table.len(),
    };
    let mut package = datapackage(
        &info,
        &PackagedFile {
            name: CSV_FILE,
            bytes: csv_entry.bytes,
            sha256: &csv_entry.sha256,
        },
        &PackagedFile {
            name: PARQUET_FILE,
            bytes: parquet_entry.bytes,
            sha256: &parquet_entry.sha256,
        },
    );
    let mut files = vec![csv_entry, parquet_entry];
    let mut html = report_html(release);
    let mut sheet = datasheet(release);
    match (release.sizechart, &release.provenance.report.sizechart) {
        (Some(chart), Some(entry)) => {
            sizechart::write_chart_files(&staging, chart, entry)?;
            let chart_csv = file_entry(&staging, SIZECHART_CSV_FILE)?;
            let chart_parquet = file_entry(&staging, SIZECHART_PARQUET_FILE)?;
            datapackage::add_chart_resources(&mut package, &chart_csv, &chart_parquet);
            files.extend([chart_csv, chart_parquet]);
            let end = html.rfind("</main>").unwrap_or(html.len());
            html.insert_str(end, &sizechart::html_section(chart));
            let uses = sheet.find("## Uses").unwrap_or(sheet.len());
            sheet.insert_str(uses, &sizechart::datasheet_section(chart, entry));
        }
        (None, None) => {}
        _ => {
            return Err(Error::InvalidArgument {
                name: "size chart",
                problem: "the chart and its report entry come together".into(),
            })
        }
    }
    staging.write(REPORT_FILE, &pretty_json(release.provenance.report))?;
    staging.write(DATAPACKAGE_FILE, &pretty_json(&package))?;
    staging.write(HTML_FILE, html.as_bytes())?;
    staging.write(DATASHEET_FILE, sheet.as_bytes())?;

    for name in [DATAPACKAGE_FILE, REPORT_FILE, HTML_FILE, DATASHEET_FILE] {
        files.push(file_entry(&staging, name)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for file in &files {
        tracing::debug!("{}: {} bytes", file.path, file.bytes);
    }
    let manifest = release.provenance.manifest(files);
    seal(&staging, manifest)?;
    observer.stage_took("write-metadata", started.elapsed());
    Ok(staging)
}

fn write_csv_file(staging: &Staging, table: &ReleaseTable) -> Result<()> {
    let path = staging.path(CSV_FILE);
    let mut file = std::io::BufWriter::with_capacity(1 << 20, staging.create(CSV_FILE)?);
    csv::write_csv(table, &mut file, &path)?;
    let file = file
        .into_inner()
        .map_err(|e| Error::io("write", &path, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("sync", &path, e))
}

fn write_parquet_file(staging: &Staging, release: &Release<'_>) -> Result<()> {
    let path = staging.path(PARQUET_FILE);
    let mut file = staging.create(PARQUET_FILE)?;
    let units: Vec<&str> = release
        .table
        .columns
        .iter()
        .map(|name| {
            release
                .catalog
                .index_of(name)
                .map_or("", |i| release.catalog.unit(i))
        })
        .collect();
    parquet::write_parquet(
        release.table,
        &units,
        parquet_metadata(release),
        &mut file,
        &path,
    )?;
    file.flush()
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io("sync", &path, e))
}

/// Writes `manifest.json` and then `SHA256SUMS` (every file of the manifest, and the manifest).
pub(crate) fn seal(staging: &Staging, manifest: Manifest) -> Result<()> {
    staging.write(MANIFEST_FILE, &pretty_json(&manifest))?;
    let mut digests: Vec<(String, String)> = manifest
        .files
        .into_iter()
        .map(|file| (file.path, file.sha256))
        .collect();
    digests.push((
        MANIFEST_FILE.to_string(),
        sha256_file(&staging.path(MANIFEST_FILE))?,
    ));
    staging.write(CHECKSUM_FILE, checksum_text(digests).as_bytes())
}

/// Size and SHA-256 of a file written into the staging directory.
pub(crate) fn file_entry(staging: &Staging, name: &str) -> Result<ManifestFile> {
    let path = staging.path(name);
    let bytes = std::fs::metadata(&path)
        .map_err(|e| Error::io("read", &path, e))?
        .len();
    Ok(ManifestFile {
        path: name.to_string(),
        bytes,
        sha256: sha256_file(&path)?,
    })
}

pub(crate) fn pretty_json(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("release metadata serializes");
    bytes.push(b'\n');
    bytes
}

/// Release facts stored in the Parquet footer ([`Provenance::footer_metadata`]), with each
/// measurement's unit.
fn parquet_metadata(release: &Release<'_>) -> Vec<(String, String)> {
    let units: serde_json::Map<String, serde_json::Value> = release
        .catalog
        .names()
        .iter()
        .enumerate()
        .map(|(i, name)| (name.clone(), release.catalog.unit(i).into()))
        .collect();
    let mut metadata = release.provenance.footer_metadata();
    metadata.push((
        "anonpub:units".into(),
        serde_json::Value::Object(units).to_string(),
    ));
    metadata
}

/// A small but complete release for the unit tests of the files that describe a release.
#[cfg(test)]
pub(crate) mod fixture {
    use std::collections::BTreeMap;

    use super::*;
    use crate::gates::Thresholds;
    use crate::publish::risk::table_risk;
    use crate::release::report::{AnonymizationCounts, ReleaseParameters, SelectionReport};
    use crate::release::report::{ColumnBenchmark, MethodBenchmark};

    /// Benchmark figures for two measurements, made up for the tests.
    fn benchmark_fixture() -> MethodBenchmark {
        let column = |name: &str, spread_kept, tail_shift_sd| ColumnBenchmark {
            column: name.into(),
            spread_kept,
            tail_shift_sd,
            kolmogorov_smirnov: Some(0.03),
            correlation_difference: Some(0.04),
            not_reached: Vec::new(),
        };
        MethodBenchmark {
            people: 10_000,
            seed: 2026,
            median_kolmogorov_smirnov: 0.031,
            worst_kolmogorov_smirnov: 0.062,
            correlation_difference: 0.04,
            suppressed_share: 0.001,
            columns: vec![
                column("ankle", 0.97, [0.2, 0.05, -0.04, -0.3]),
                column("chest", 1.01, [0.1, 0.02, 0.01, -0.12]),
            ],
            release_rows: None,
            release_patterns: None,
            goals: None,
        }
    }

    /// Everything a [`Release`] borrows.
    pub struct Owned {
        pub table: ReleaseTable,
        pub report: ReleaseReport,
        pub schema: DatasetSchema,
        pub catalog: Catalog,
        pub config: ReleaseConfig,
        pub fingerprint: InputFingerprint,
        pub source: crate::extract::source::SourceDescription,
    }

    impl Owned {
        /// Ten rows in two groups of five; the second group lacks `ankle`.
        pub fn new() -> Self {
            let schema = DatasetSchema::freesewing();
            let catalog = Catalog::from_schema(&schema);
            let width = catalog.len();
            let mut values = Vec::new();
            for row in 0..10 {
                for c in 0..width {
                    let [low, high] = catalog.plausible(c);
                    let value = if row >= 5 && catalog.names()[c] == "ankle" {
                        f64::NAN
                    } else {
                        ((low + high) / 2.0 + if row < 5 { 0.0 } else { 5.0 }).round()
                    };
                    values.push(value);
                }
            }
            let table = ReleaseTable {
                columns: catalog.names().to_vec(),
                record_ids: (0..10).map(|i| format!("id-{i}")).collect(),
                values,
            };
            let report = ReleaseReport {
                anonpub_version: "0.0.0-test".into(),
                report_format: crate::release::report::REPORT_FORMAT,
                dataset: schema.name.clone(),
                as_of: "2026-11-01".into(),
                method: "mdav".into(),
                k_requested: 5,
                k_achieved: 5,
                seed: 7,
                parameters: ReleaseParameters {
                    group_noise: None,
                    max_malformed_share: 0.01,
                    mdav_exact_limit: 1000,
                    min_pattern_people: 25,
                    min_published_measurements: 3,
                    retention_months: 12,
                    spread_restoration: "per pattern".into(),
                    thresholds: Thresholds::default(),
                },
                selection: SelectionReport {
                    users_in_database: 30,
                    sets_in_database: 40,
                    eligible_sets: 11,
                    eligible_people: 10,
                    excluded_sets: BTreeMap::from([("no_open_data_consent".into(), 29)]),
                    excluded_users: BTreeMap::from([("no_open_data_consent".into(), 20)]),
                    bad_rows: Default::default(),
                    unknown_measurements_dropped: 2,
                },
                anonymization: AnonymizationCounts {
                    published_records: 10,
                    suppressed_records: 1,
                    suppressed_share: 1.0 / 11.0,
                    coarsened_records: 0,
                    dropped_values: 0,
                    groups: 2,
                    coverage_patterns: 2,
                },
                risk: table_risk(&table, 5),
                method_benchmark: Some(benchmark_fixture()),
                sizechart: None,
                generalization: None,
            };
            let fingerprint = InputFingerprint {
                algorithm: "HMAC-SHA256".into(),
                key: "test".into(),
                value: "0".repeat(64),
            };
            Owned {
                table,
                report,
                schema,
                catalog,
                config: ReleaseConfig::default(),
                fingerprint,
                source: crate::extract::freesewing_v3::description(),
            }
        }

        pub fn release(&self) -> Release<'_> {
            Release {
                table: &self.table,
                provenance: Provenance {
                    report: &self.report,
                    schema: &self.schema,
                    config: &self.config,
                    config_sha256: "c0ffee",
                    input_fingerprint: &self.fingerprint,
                    source: &self.source,
                },
                catalog: &self.catalog,
                sizechart: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_has_every_file_and_the_checksums_cover_the_manifest() {
        let owned = fixture::Owned::new();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("release");
        write_release(&out, false, &owned.release(), &crate::observe::Silent).unwrap();
        use crate::release::{checksums, manifest, RELEASE_FILES};
        for name in RELEASE_FILES {
            assert!(out.join(name).is_file(), "{name}");
        }
        let sums = std::fs::read_to_string(out.join(CHECKSUM_FILE)).unwrap();
        let listed = checksums::parse_checksums(&sums).unwrap();
        assert_eq!(listed.len(), RELEASE_FILES.len() - 1);
        let manifest = manifest::read_manifest(&out.join(MANIFEST_FILE)).unwrap();
        let in_manifest: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(in_manifest.len(), RELEASE_FILES.len() - 2);
        assert!(!in_manifest.contains(&MANIFEST_FILE) && !in_manifest.contains(&CHECKSUM_FILE));
        for file in &manifest.files {
            let path = out.join(&file.path);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), file.bytes);
            assert_eq!(sha256_file(&path).unwrap(), file.sha256);
        }
        assert_eq!(manifest.config_sha256, "c0ffee");
        assert_eq!(manifest.seed, Some(7));
    }

    #[test]
    fn a_size_chart_joins_the_release_and_verify_checks_it() {
        use crate::release::{checksums, SIZECHART_FILES};
        let mut owned = fixture::Owned::new();
        owned.report.anonpub_version = env!("CARGO_PKG_VERSION").into();
        let chart = sizechart::test_chart();
        let dir = tempfile::tempdir().unwrap();
        let (plain, charted) = (dir.path().join("plain"), dir.path().join("charted"));
        let silent = &crate::observe::Silent;
        write_release(&plain, false, &owned.release(), silent).unwrap();
        owned.report.sizechart = Some(chart.report.clone());
        let with_chart = Release {
            sizechart: Some(&chart.chart),
            ..owned.release()
        };
        write_release(&charted, false, &with_chart, silent).unwrap();
        for name in SIZECHART_FILES {
            assert!(
                charted.join(name).is_file() && !plain.join(name).exists(),
                "{name}"
            );
        }
        // The data files are the same; the documents gain the chart.
        let read = |dir: &Path, name: &str| std::fs::read(dir.join(name)).unwrap();
        assert_eq!(read(&plain, CSV_FILE), read(&charted, CSV_FILE));
        let sums = std::fs::read_to_string(charted.join(CHECKSUM_FILE)).unwrap();
        let listed: Vec<String> = checksums::parse_checksums(&sums)
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert!(
            listed.iter().any(|n| n == SIZECHART_PARQUET_FILE),
            "{listed:?}"
        );
        let report: serde_json::Value =
            serde_json::from_slice(&read(&charted, REPORT_FILE)).unwrap();
        assert_eq!(report["sizechart"]["privacy_unit"], "person");
        assert_eq!(report["k_requested"], 5, "the report's own fields stay");
        let plain_report: serde_json::Value =
            serde_json::from_slice(&read(&plain, REPORT_FILE)).unwrap();
        assert!(plain_report.get("sizechart").is_none());
        let sheet = String::from_utf8(read(&charted, DATASHEET_FILE)).unwrap();
        assert!(sheet.contains("Not byte-reproducible"));
        assert!(sheet.find("## Size chart") < sheet.find("## Uses"));
        let html = String::from_utf8(read(&charted, HTML_FILE)).unwrap();
        assert!(html.contains("Size chart (differential privacy)"));

        let chart_checks = |dir: &Path| -> Vec<(String, bool)> {
            crate::verify::verify_release(dir, None, silent)
                .unwrap()
                .into_iter()
                .filter(|c| c.name.starts_with("size chart"))
                .map(|c| (format!("{}: {}", c.name, c.detail), c.passed))
                .collect()
        };
        assert!(chart_checks(&plain).is_empty());
        let checks = chart_checks(&charted);
        assert_eq!(checks.len(), 3, "{checks:?}");
        assert!(checks.iter().all(|(_, passed)| *passed), "{checks:?}");
        let mut cheated = report;
        cheated["sizechart"]["budget"]["epsilon"] = serde_json::json!(0.1);
        std::fs::write(
            charted.join(REPORT_FILE),
            serde_json::to_vec_pretty(&cheated).unwrap(),
        )
        .unwrap();
        let checks = chart_checks(&charted);
        assert!(
            checks
                .iter()
                .any(|(name, passed)| name.starts_with("size chart budget") && !passed),
            "{checks:?}"
        );
    }
}
