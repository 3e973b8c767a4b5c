//! The release of `anonpub tabulate`: a protected frequency table as `frequencies.csv` and
//! `frequencies.parquet`, with `datapackage.json`, `report.json`, a datasheet (`README.md`),
//! `manifest.json` and `SHA256SUMS`, written all or nothing through [`Staging`].
//!
//! The data files follow [`crate::release::frequency`]; the documents say what was counted and
//! how the cells were protected, in words a reader of the table needs (what an empty count
//! means, what the threshold is, how large the noise is). Suppression releases depend only on the
//! input and the configuration, so the same run gives the same bytes; DP releases differ in their
//! noisy counts from run to run, by design.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::{file_entry, pretty_json, seal};
use crate::atomic::Staging;
use crate::error::{Error, Result};
use crate::observe::Observer;
use crate::release::frequency::{
    frequency_columns, CellProtection, FrequencyReport, PEOPLE_COLUMN, STATUS_COLUMN,
};
use crate::release::manifest::Manifest;
use crate::release::plain::{write_plain_csv, write_plain_parquet};
use crate::release::{
    DATAPACKAGE_FILE, DATASHEET_FILE, FREQUENCY_CSV_FILE, FREQUENCY_PARQUET_FILE, REPORT_FILE,
};
use crate::tabulate::coarsen::Coarsening;
use crate::tabulate::config::CountMechanism;
use crate::tabulate::plan::TableRelease;

/// Writes the release into `out`, all or nothing; an existing `out` is replaced only with
/// `force`.
pub fn write_frequency_release(
    out: &Path,
    force: bool,
    release: &TableRelease,
    observer: &dyn Observer,
) -> Result<()> {
    observer.time("write", || write(out, force, release))
}

fn write(out: &Path, force: bool, release: &TableRelease) -> Result<()> {
    let staging = Staging::new(out, force, "--out")?;
    let noisy = matches!(release.report.protection, CellProtection::Dp(_));
    let columns = frequency_columns(&release.table, noisy);

    let csv_path = staging.path(FREQUENCY_CSV_FILE);
    let mut csv = std::io::BufWriter::new(staging.create(FREQUENCY_CSV_FILE)?);
    write_plain_csv(&columns, &mut csv, &csv_path)?;
    csv.into_inner()
        .map_err(|e| Error::io("write", &csv_path, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io("sync", &csv_path, e))?;

    let parquet_path = staging.path(FREQUENCY_PARQUET_FILE);
    let mut parquet = staging.create(FREQUENCY_PARQUET_FILE)?;
    write_plain_parquet(
        &columns,
        parquet_metadata(release),
        &mut parquet,
        &parquet_path,
    )?;
    parquet
        .flush()
        .and_then(|()| parquet.sync_all())
        .map_err(|e| Error::io("sync", &parquet_path, e))?;

    let csv_entry = file_entry(&staging, FREQUENCY_CSV_FILE)?;
    let parquet_entry = file_entry(&staging, FREQUENCY_PARQUET_FILE)?;
    let package = datapackage(release, &csv_entry, &parquet_entry);
    staging.write(DATAPACKAGE_FILE, &pretty_json(&package))?;
    staging.write(REPORT_FILE, &pretty_json(&release.report))?;
    staging.write(DATASHEET_FILE, datasheet(release).as_bytes())?;

    let mut files = vec![csv_entry, parquet_entry];
    for name in [DATAPACKAGE_FILE, REPORT_FILE, DATASHEET_FILE] {
        files.push(file_entry(&staging, name)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let plan = &release.plan;
    let manifest = Manifest {
        anonpub_version: release.report.anonpub_version.clone(),
        dataset: release.report.dataset.clone(),
        release_version: plan.version.clone(),
        as_of: plan.as_of.clone().unwrap_or_default(),
        seed: None,
        config_sha256: plan.config_sha256.clone(),
        input_fingerprint: Some(release.input_fingerprint.clone()),
        files,
    };
    seal(&staging, manifest)?;
    staging.commit()
}

fn parquet_metadata(release: &TableRelease) -> Vec<(String, String)> {
    let report = &release.report;
    vec![
        ("anonpub:version".into(), report.anonpub_version.clone()),
        ("anonpub:dataset".into(), report.dataset.clone()),
        ("anonpub:kind".into(), report.kind.clone()),
        (
            "anonpub:protection".into(),
            serde_json::to_string(&report.protection).expect("the protection serializes"),
        ),
    ]
}

/// What a key column holds, in words.
fn coarsening_words(coarsening: Coarsening) -> &'static str {
    match coarsening {
        Coarsening::None => "as in the input",
        Coarsening::Hour => "the hour (UTC), `YYYY-MM-DDTHH`",
        Coarsening::Day => "the day (UTC), `YYYY-MM-DD`",
        Coarsening::Week => "the ISO 8601 week, `YYYY-Www`",
        Coarsening::Month => "the month, `YYYY-MM`",
        Coarsening::Network24 => "the network: IPv4 /24, IPv6 /48",
        Coarsening::Network16 => "the network: IPv4 /16, IPv6 /48",
    }
}

/// One sentence on what `people` holds and when it is empty.
fn protection_words(report: &FrequencyReport) -> String {
    match &report.protection {
        CellProtection::Suppression { threshold, .. } => format!(
            "Distinct people in the cell, exact; empty when suppressed: cells of 1 to {} people \
             (`status` primary) and cells hidden so that those cannot be recomputed from the \
             totals (`status` secondary).",
            threshold - 1
        ),
        CellProtection::Dp(dp) => format!(
            "Distinct people in the cell with differentially private noise ({}, scale {:.3}); \
             only cells whose noisy count reached {} are listed.",
            mechanism_words(dp.mechanism),
            dp.noise_scale,
            dp.release_threshold
        ),
    }
}

fn mechanism_words(mechanism: CountMechanism) -> &'static str {
    match mechanism {
        CountMechanism::Laplace => "discrete Laplace",
        CountMechanism::Gaussian => "discrete Gaussian",
    }
}

fn datapackage(
    release: &TableRelease,
    csv: &crate::release::manifest::ManifestFile,
    parquet: &crate::release::manifest::ManifestFile,
) -> Value {
    let report = &release.report;
    let schema = &release.plan.schema;
    let mut fields: Vec<Value> = report
        .by
        .iter()
        .map(|by| {
            let description = schema
                .position(&by.column)
                .and_then(|i| schema.columns[i].description.clone())
                .unwrap_or_else(|| by.column.clone());
            json!({
                "name": by.column,
                "type": "string",
                "description": format!(
                    "{description}: {}; empty in a total over all its values, `(missing)` where \
                     the input had no value",
                    coarsening_words(by.coarsening)
                ),
            })
        })
        .collect();
    fields.push(json!({
        "name": PEOPLE_COLUMN,
        "type": "integer",
        "description": protection_words(report),
        "constraints": { "minimum": 0 },
    }));
    let statuses: Vec<&str> = match report.protection {
        CellProtection::Suppression { .. } => vec!["published", "primary", "secondary"],
        CellProtection::Dp(_) => vec!["noisy"],
    };
    fields.push(json!({
        "name": STATUS_COLUMN,
        "type": "string",
        "description": "How the count was protected.",
        "constraints": { "required": true, "enum": statuses },
    }));
    let plan = &release.plan;
    let mut package = json!({
        "profile": "data-package",
        "name": schema.name,
        "title": schema.title.as_deref().unwrap_or(&schema.name),
        "description": schema.description.as_deref().unwrap_or_default(),
        "version": plan.version,
        "licenses": [super::datapackage::license(&plan.license)],
        "keywords": ["frequency table", "statistical disclosure control", "aggregate statistics"],
        "resources": [
            super::datapackage::csv_resource(
                "frequencies",
                &csv.into(),
                json!({ "fields": fields, "missingValues": [""] }),
            ),
            super::datapackage::parquet_resource(
                "frequencies-parquet",
                &parquet.into(),
                format!(
                    "The same {} lines as {} (the schema of resource `frequencies` applies), typed (counts as unsigned integers, null when suppressed).",
                    report.lines, csv.path
                ),
            ),
        ]
    });
    if let Some(as_of) = &plan.as_of {
        package["created"] = json!(format!("{as_of}T00:00:00Z"));
    }
    package
}

/// The datasheet: what the table counts, how it is protected, how to read it.
fn datasheet(release: &TableRelease) -> String {
    let report = &release.report;
    let plan = &release.plan;
    let schema = &plan.schema;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# {} — frequency table\n",
        schema.title.as_deref().unwrap_or(&schema.name)
    );
    let _ = writeln!(
        text,
        "Made by anonpub {} from the dataset `{}` (release version {}{}).\n",
        report.anonpub_version,
        report.dataset,
        plan.version,
        plan.as_of
            .as_deref()
            .map(|d| format!(", {d}"))
            .unwrap_or_default()
    );
    let _ = writeln!(text, "## What it counts\n");
    let _ = writeln!(
        text,
        "Each line of `{FREQUENCY_CSV_FILE}` is a cell: a combination of keys and the number of \
         **distinct people** in it (the column `{}` identifies a person; its values are not \
         published). A person with many rows in one cell counts once there.\n",
        report.person_column
    );
    let _ = writeln!(text, "| column | key |\n|---|---|");
    for by in &report.by {
        let _ = writeln!(
            text,
            "| `{}` | {} |",
            by.column,
            coarsening_words(by.coarsening)
        );
    }
    let _ = writeln!(
        text,
        "\nCoarsening is a fixed, public function of each value (no hierarchy file): the raw \
         values (exact times, full addresses) never reach the table."
    );
    if report.margins {
        let _ = writeln!(
            text,
            "\nMargins follow the cells: a line with an empty key adds the cells up over all \
             values of that column (a person in two cells counts twice in their sum)."
        );
    }
    let _ = writeln!(text, "\n## How small cells are protected\n");
    match &report.protection {
        CellProtection::Suppression {
            threshold,
            primary_cells,
            secondary_cells,
        } => {
            let _ = writeln!(
                text,
                "Small-cell suppression with threshold **{threshold}**: a cell of 1 to {} people \
                 tells neighbours, colleagues or family what those people did, so its count is \
                 not published (`status` primary; {primary_cells} cells). Because totals are \
                 sums, {secondary_cells} further entries are suppressed (`status` secondary) so \
                 that no primary cell can be recomputed exactly from the published ones (the \
                 hypercube method of Giessing & Repsilber 2002, in one or two dimensions). An \
                 interval for a suppressed cell can still be derived (counts are not negative); \
                 the threshold itself says a primary cell is below it.",
                threshold - 1
            );
            if let (Some(rows), Some(people)) = (report.input_rows, report.people) {
                let _ = writeln!(
                    text,
                    "\nThe input held {rows} rows of {people} distinct people; the table has {} \
                     lines, {} of them with a published count.",
                    report.lines, report.published_lines
                );
            }
        }
        CellProtection::Dp(dp) => {
            let _ = writeln!(
                text,
                "Differential privacy, (ε = {}, δ = {:e}), the person as the unit: each person \
                 counts in at most {} cells (drawn at random among theirs), every count has \
                 {} noise of scale {:.3} added (standard deviation about {:.1} people), and only \
                 cells whose noisy count reached {} are listed, so that the cells of one person \
                 stay hidden except with probability δ. Whatever else an attacker knows, the \
                 table changes little whether any one person is in the data or not.\n\n\
                 The counts are **not byte-reproducible**: the noise comes from the operating \
                 system's random number generator, never from a seed, because a published seed \
                 would let anyone regenerate and subtract it. The table has {} lines.",
                dp.epsilon,
                dp.delta,
                dp.max_cells_per_person,
                mechanism_words(dp.mechanism),
                dp.noise_scale,
                noise_sd(dp),
                dp.release_threshold,
                report.lines
            );
        }
    }
    let _ = writeln!(
        text,
        "\n## Files\n\n`{FREQUENCY_CSV_FILE}` and `{FREQUENCY_PARQUET_FILE}` (the same lines), \
         `{DATAPACKAGE_FILE}` (Frictionless Data Package), `{REPORT_FILE}` (the parameters), \
         `manifest.json` and `SHA256SUMS`. `anonpub verify DIR` re-checks the structure, that no \
         published count is below the threshold, the recorded budget and the checksums. Licence: \
         {}.",
        plan.license
    );
    text
}

fn noise_sd(dp: &crate::tabulate::dp::DpCounts) -> f64 {
    match dp.mechanism {
        CountMechanism::Laplace => crate::dp::laplace::discrete_laplace_sd(dp.noise_scale),
        CountMechanism::Gaussian => dp.noise_scale,
    }
}
