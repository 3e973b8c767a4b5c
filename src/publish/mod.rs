//! Publishing: the release directory, written atomically.
//!
//! A release holds `measurements.csv`, `measurements.parquet` (same rows and values),
//! `datapackage.json` (Frictionless), `report.json` (counts, parameters, risk), `report.html` (the
//! same for people, with histograms), `README.md` (a datasheet), `manifest.json` (provenance and
//! every other file's size and digest) and `SHA256SUMS` (covering all of them, manifest included).
//! Every file depends only on the inputs and the seed: the same run gives the same bytes.
//! `tabular` writes the output of `anonymize` (any dataset schema) the same way.

pub mod atomic;
pub mod checksums;
pub mod csv;
pub mod datapackage;
pub mod datasheet;
pub mod html;
pub mod internal;
pub mod manifest;
pub mod parquet;
pub mod report;
pub mod tabular;

use std::io::Write;
use std::path::Path;

use crate::config::ReleaseConfig;
use crate::deidentify::ReleaseTable;
use crate::error::{Error, Result};
use crate::measurements::Catalog;
use crate::schema::DatasetSchema;
use crate::timings::{timed, Timings};
use atomic::Staging;
use checksums::{checksum_text, sha256_file, CHECKSUM_FILE};
use datapackage::{datapackage, PackageInfo, PackagedFile};
use datasheet::{datasheet, DATASHEET_FILE};
use html::{report_html, HTML_FILE};
use manifest::{InputFingerprint, Manifest, ManifestFile, MANIFEST_FILE};
use report::{ReleaseReport, REPORT_FILE};

pub const CSV_FILE: &str = "measurements.csv";
pub const PARQUET_FILE: &str = "measurements.parquet";
pub const DATAPACKAGE_FILE: &str = "datapackage.json";
/// Every file a release must contain.
pub const RELEASE_FILES: [&str; 8] = [
    CSV_FILE,
    PARQUET_FILE,
    DATAPACKAGE_FILE,
    REPORT_FILE,
    HTML_FILE,
    DATASHEET_FILE,
    MANIFEST_FILE,
    CHECKSUM_FILE,
];

/// What a release is made of.
pub struct Release<'a> {
    pub table: &'a ReleaseTable,
    pub report: &'a ReleaseReport,
    pub schema: &'a DatasetSchema,
    pub catalog: &'a Catalog,
    /// The effective configuration (command-line overrides applied).
    pub config: &'a ReleaseConfig,
    /// [`manifest::config_digest`] of `config`.
    pub config_sha256: &'a str,
    pub input_fingerprint: &'a InputFingerprint,
}

/// Writes the release into `out`, all or nothing.
pub fn write_release(out: &Path, release: &Release<'_>, timings: &mut Timings) -> Result<()> {
    let staging = Staging::new(out)?;
    // The two data files are independent: CSV formatting runs on its own thread while the
    // Parquet writer uses the rayon pool.
    let (csv_written, parquet_written) = std::thread::scope(|scope| {
        let csv = scope.spawn(|| timed(|| write_csv_file(&staging, release.table)));
        let parquet = timed(|| write_parquet_file(&staging, release));
        (csv.join().expect("the CSV writer does not panic"), parquet)
    });
    timings.record("write-csv", csv_written.1);
    timings.record("write-parquet", parquet_written.1);
    csv_written.0?;
    parquet_written.0?;

    let started = std::time::Instant::now();
    let csv_entry = file_entry(&staging, CSV_FILE)?;
    let parquet_entry = file_entry(&staging, PARQUET_FILE)?;
    let info = PackageInfo {
        schema: release.schema,
        catalog: release.catalog,
        version: &release.config.version,
        created: format!("{}T00:00:00Z", release.report.as_of),
        license: &release.config.license,
        rows: release.table.len(),
    };
    let package = datapackage(
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
    staging.write(DATAPACKAGE_FILE, &pretty_json(&package))?;
    staging.write(REPORT_FILE, &pretty_json(release.report))?;
    staging.write(HTML_FILE, report_html(release).as_bytes())?;
    staging.write(DATASHEET_FILE, datasheet(release).as_bytes())?;

    let mut files = vec![csv_entry, parquet_entry];
    for name in [DATAPACKAGE_FILE, REPORT_FILE, HTML_FILE, DATASHEET_FILE] {
        files.push(file_entry(&staging, name)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for file in &files {
        tracing::debug!("{}: {} bytes", file.path, file.bytes);
    }
    let report = release.report;
    let manifest = Manifest {
        anonpub_version: report.anonpub_version.to_string(),
        dataset: report.dataset.clone(),
        release_version: release.config.version.clone(),
        as_of: report.as_of.clone(),
        seed: report.seed,
        config_sha256: release.config_sha256.to_string(),
        input_fingerprint: release.input_fingerprint.clone(),
        files,
    };
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
    staging.write(CHECKSUM_FILE, checksum_text(digests).as_bytes())?;
    staging.commit()?;
    timings.record("write-metadata", started.elapsed());
    Ok(())
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

/// Size and SHA-256 of a file written into the staging directory.
fn file_entry(staging: &Staging, name: &str) -> Result<ManifestFile> {
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

fn pretty_json(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("release metadata serializes");
    bytes.push(b'\n');
    bytes
}

/// Release facts stored in the Parquet footer, so the file explains itself when shared alone.
fn parquet_metadata(release: &Release<'_>) -> Vec<(String, String)> {
    let report = release.report;
    let units: serde_json::Map<String, serde_json::Value> = release
        .catalog
        .names()
        .iter()
        .enumerate()
        .map(|(i, name)| (name.clone(), release.catalog.unit(i).into()))
        .collect();
    vec![
        ("anonpub:version".into(), report.anonpub_version.into()),
        ("anonpub:dataset".into(), report.dataset.clone()),
        (
            "anonpub:release_version".into(),
            release.config.version.clone(),
        ),
        ("anonpub:method".into(), report.method.into()),
        ("anonpub:k".into(), report.k_requested.to_string()),
        ("anonpub:seed".into(), report.seed.to_string()),
        ("anonpub:as_of".into(), report.as_of.clone()),
        (
            "anonpub:units".into(),
            serde_json::Value::Object(units).to_string(),
        ),
    ]
}

/// A small but complete release for the unit tests of the files that describe a release.
#[cfg(test)]
pub(crate) mod fixture {
    use std::collections::BTreeMap;

    use super::*;
    use crate::publish::report::{release_risk, AnonymizationCounts};
    use crate::risk::benchmark::{ColumnBenchmark, MethodBenchmark};
    use crate::select::SelectionReport;

    /// Benchmark figures for two measurements, made up for the tests.
    fn benchmark_fixture() -> MethodBenchmark {
        let column = |name: &str, spread_kept, tail_shift_sd| ColumnBenchmark {
            column: name.into(),
            spread_kept,
            tail_shift_sd,
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
                anonpub_version: "0.0.0-test",
                dataset: schema.name.clone(),
                as_of: "2026-11-01".into(),
                method: "mdav",
                k_requested: 5,
                k_achieved: 5,
                seed: 7,
                parameters: BTreeMap::new(),
                selection: SelectionReport {
                    users_in_database: 30,
                    sets_in_database: 40,
                    eligible_sets: 11,
                    eligible_people: 10,
                    excluded_sets: BTreeMap::from([("no_open_data_consent", 29)]),
                    excluded_users: BTreeMap::from([("no_open_data_consent", 20)]),
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
                risk: release_risk(&table, 5),
                method_benchmark: Some(benchmark_fixture()),
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
            }
        }

        pub fn release(&self) -> Release<'_> {
            Release {
                table: &self.table,
                report: &self.report,
                schema: &self.schema,
                catalog: &self.catalog,
                config: &self.config,
                config_sha256: "c0ffee",
                input_fingerprint: &self.fingerprint,
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
        write_release(&out, &owned.release(), &mut Timings::default()).unwrap();
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
        assert_eq!(manifest.seed, 7);
    }
}
