//! Publishing: the release directory, written atomically.
//!
//! A release holds `measurements.csv`, `measurements.parquet` (same rows and values),
//! `datapackage.json` (Frictionless), `report.json` (counts and parameters) and `SHA256SUMS`.
//! `tabular` writes the output of `anonymize` (any dataset schema) the same way.

pub mod atomic;
pub mod checksums;
pub mod csv;
pub mod datapackage;
pub mod parquet;
pub mod report;
pub mod tabular;

use std::io::Write;
use std::path::Path;

use crate::deidentify::ReleaseTable;
use crate::error::{Error, Result};
use crate::measurements::Catalog;
use crate::schema::DatasetSchema;
use atomic::Staging;
use checksums::{checksum_text, sha256_file, CHECKSUM_FILE};
use datapackage::{datapackage, PackageInfo, PackagedFile};
use report::{ReleaseReport, REPORT_FILE};

pub const CSV_FILE: &str = "measurements.csv";
pub const PARQUET_FILE: &str = "measurements.parquet";
pub const DATAPACKAGE_FILE: &str = "datapackage.json";
/// Every file a release must contain.
pub const RELEASE_FILES: [&str; 5] = [
    CSV_FILE,
    PARQUET_FILE,
    DATAPACKAGE_FILE,
    REPORT_FILE,
    CHECKSUM_FILE,
];

/// What a release is made of.
pub struct Release<'a> {
    pub table: &'a ReleaseTable,
    pub report: &'a ReleaseReport,
    pub schema: &'a DatasetSchema,
    pub catalog: &'a Catalog,
    pub license: &'a str,
    pub version: &'a str,
}

/// Writes the release into `out`, all or nothing.
pub fn write_release(out: &Path, release: &Release<'_>) -> Result<()> {
    let staging = Staging::new(out)?;
    let csv_path = staging.path(CSV_FILE);
    let mut csv_file = std::io::BufWriter::with_capacity(1 << 20, staging.create(CSV_FILE)?);
    csv::write_csv(release.table, &mut csv_file, &csv_path)?;
    let csv_file = csv_file
        .into_inner()
        .map_err(|e| Error::io("write", &csv_path, e.into_error()))?;
    csv_file
        .sync_all()
        .map_err(|e| Error::io("sync", &csv_path, e))?;

    let parquet_path = staging.path(PARQUET_FILE);
    let mut parquet_file = staging.create(PARQUET_FILE)?;
    parquet::write_parquet(
        release.table,
        parquet_metadata(release),
        &mut parquet_file,
        &parquet_path,
    )?;
    parquet_file
        .flush()
        .and_then(|_| parquet_file.sync_all())
        .map_err(|e| Error::io("sync", &parquet_path, e))?;

    let csv_digest = sha256_file(&csv_path)?;
    let parquet_digest = sha256_file(&parquet_path)?;
    let size = |path: &Path| {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| Error::io("read", path, e))
    };
    let info = PackageInfo {
        schema: release.schema,
        catalog: release.catalog,
        version: release.version,
        created: format!("{}T00:00:00Z", release.report.as_of),
        license: release.license,
        rows: release.table.len(),
    };
    let package = datapackage(
        &info,
        &PackagedFile {
            name: CSV_FILE,
            bytes: size(&csv_path)?,
            sha256: &csv_digest,
        },
        &PackagedFile {
            name: PARQUET_FILE,
            bytes: size(&parquet_path)?,
            sha256: &parquet_digest,
        },
    );
    staging.write(DATAPACKAGE_FILE, &pretty_json(&package))?;
    staging.write(REPORT_FILE, &pretty_json(release.report))?;

    let mut digests = vec![
        (CSV_FILE.to_string(), csv_digest),
        (PARQUET_FILE.to_string(), parquet_digest),
    ];
    for name in [DATAPACKAGE_FILE, REPORT_FILE] {
        digests.push((name.to_string(), sha256_file(&staging.path(name))?));
    }
    staging.write(CHECKSUM_FILE, checksum_text(digests).as_bytes())?;
    staging.commit()
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
        ("anonpub:release_version".into(), release.version.into()),
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
