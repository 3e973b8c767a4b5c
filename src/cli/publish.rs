//! anonpub publish --db PATH (--key-file PATH | env API_ENC_KEY) --as-of YYYY-MM-DD --out DIR
//!                 [--config FILE] [--k N] [--seed N] [--internal-report FILE] [--force]
//!
//! Reads a FreeSewing v3 database, keeps the sets of people who consented to open data, whose
//! account is active and who were seen within the retention window, drops junk, and publishes the
//! measurements microaggregated (MDAV) in groups of at least k distinct people. The release
//! directory (CSV, Parquet, datapackage.json, report.json, report.html, README.md datasheet,
//! manifest.json, SHA256SUMS) appears atomically, or not at all. The key is never taken from a
//! command-line value. Decryption and microaggregation show progress bars on a terminal.
//!
//! report.json carries the re-identification risk of the released rows. With --internal-report,
//! figures that compare the raw data with the release (utility, a linkage attack by an attacker
//! who knows some measurements of everyone, see `[linkage]` in the config) go to that file, which
//! must lie outside --out and is never published.
//!
//! Every `[thresholds]` entry of the config is checked before anything is written; the first that
//! fails stops the run.
//!
//! Exit codes: 0 published; 1 a threshold of the config failed (nothing written); 2 bad input.

use std::path::PathBuf;

use serde_json::json;

use crate::anonymize::microaggregation::{microaggregate, Microaggregated, ReleaseMethod};
use crate::atomic::check_target;
use crate::cli::{parse_date, Console};
use crate::config::ReleaseConfig;
use crate::dates::Date;
use crate::deidentify::deidentify;
use crate::error::{Error, Result};
use crate::extract::crypto::{load_secret, FieldKey};
use crate::extract::freesewing_v3::V3Database;
use crate::gates::{Measured, MeasuredFrom};
use crate::measurements::Catalog;
use crate::observe::Observer;
use crate::publish::internal::{check_internal_report, write_internal_report};
use crate::publish::{write_release, Release};
use crate::release::manifest::{config_digest, InputFingerprint, FINGERPRINT_LABEL};
use crate::release::report::{release_risk, AnonymizationCounts, ReleaseParameters, ReleaseReport};
use crate::risk::benchmark::benchmark_method;
use crate::risk::linkage::{linkage_attack, Attack, LinkageReport, ReleasedRows};
use crate::risk::utility::numeric_utility;
use crate::schema::{DatasetSchema, FREESEWING_SCHEMA};
use crate::select::{select_v3, SelectionPolicy};
use crate::table::MeasurementTable;
use crate::timings::timed;

#[derive(Debug, clap::Args)]
/// The command line of `anonpub publish`.
pub struct Args {
    /// The FreeSewing v3 SQLite database.
    #[arg(long)]
    pub db: PathBuf,
    /// File holding API_ENC_KEY (one trailing newline allowed); default: the API_ENC_KEY variable.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Release date; the retention window counts back from it.
    #[arg(long, value_parser = parse_date)]
    pub as_of: Date,
    /// The release directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Release configuration (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Minimum distinct people per released row (overrides the config).
    #[arg(long)]
    pub k: Option<usize>,
    /// Seed for record ids (default: random, recorded in report.json).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also write utility and linkage-attack figures (JSON) to this file, outside --out.
    #[arg(long)]
    pub internal_report: Option<PathBuf>,
    /// Replace an existing, non-empty release directory (and an existing internal report).
    #[arg(long)]
    pub force: bool,
}

/// Publishes a release as the arguments and the config say.
pub fn run(args: Args, console: &Console) -> Result<()> {
    let observer: &dyn Observer = console;
    let mut config = match &args.config {
        Some(path) => ReleaseConfig::load(path)?,
        None => ReleaseConfig::default(),
    };
    if let Some(k) = args.k {
        config.k = k;
    }
    config
        .validate()
        .map_err(|(field, problem)| Error::InvalidArgument {
            name: if field == "k" { "--k" } else { field },
            problem,
        })?;
    if let Some(gate) = config
        .thresholds
        .set_from(MeasuredFrom::SensitiveColumn)
        .next()
    {
        return Err(Error::InvalidArgument {
            name: gate.key,
            problem:
                "a measurements release has no sensitive column, so l-diversity does not apply"
                    .into(),
        });
    }
    let (schema, schema_text) = match &config.schema {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| Error::io("read schema", path, e))?;
            (DatasetSchema::parse(&text, path)?, text)
        }
        None => (DatasetSchema::freesewing(), FREESEWING_SCHEMA.to_string()),
    };
    let config_sha256 = config_digest(&config, &schema_text);
    tracing::debug!(
        "config: k {}, retention {} months, mdav_exact_limit {}, config sha256 {config_sha256}",
        config.k,
        config.retention_months,
        config.mdav_exact_limit
    );
    let catalog = Catalog::from_schema(&schema);
    let known: Vec<usize> = config
        .linkage
        .known
        .iter()
        .map(|name| {
            catalog
                .index_of(name)
                .ok_or_else(|| Error::InvalidArgument {
                    name: "linkage.known",
                    problem: format!("`{name}` is not a measurement of the schema"),
                })
        })
        .collect::<Result<_>>()?;
    check_target(&args.out, args.force)?;
    if let Some(path) = &args.internal_report {
        check_internal_report(path, &args.out, args.force)?;
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let method = ReleaseMethod::for_catalog(
        &catalog,
        config.k,
        config.mdav_exact_limit,
        config.min_pattern_people,
    );
    // The datasheet's figures about the method come from a synthetic benchmark, not from these
    // people (see `risk::benchmark`); it needs nothing from the database, so it runs beside it.
    let benchmarking = {
        let (catalog, method) = (catalog.clone(), method.clone());
        std::thread::spawn(move || timed(|| benchmark_method(&catalog, &method)))
    };

    let database = observer.time("open", || V3Database::open(&args.db))?;
    let secret = load_secret(args.key_file.as_deref())?;
    let key = observer.time("derive-key", || FieldKey::derive(&secret));
    drop(secret);
    let policy = SelectionPolicy {
        as_of: args.as_of,
        retention_months: config.retention_months,
        max_malformed_share: config.max_malformed_share,
    };
    // The fingerprint reads the whole file on its own thread while selection reads the tables.
    // If selection fails, the error is reported at once and the process ends without waiting.
    let fingerprinting = {
        let (path, fingerprint_key) = (args.db.clone(), key.subkey(FINGERPRINT_LABEL));
        std::thread::spawn(move || timed(|| InputFingerprint::of_file(&path, &fingerprint_key)))
    };
    let selected = select_v3(&database, &key, &policy, &catalog, observer);
    drop(key);
    let (table, selection) = selected?;
    let (input_fingerprint, fingerprinting) = fingerprinting
        .join()
        .expect("fingerprinting does not panic");
    let input_fingerprint = input_fingerprint?;
    observer.stage_took("fingerprint", fingerprinting);
    tracing::info!(
        "selected {} sets of {} people (of {} sets in the database)",
        selection.eligible_sets,
        selection.eligible_people,
        selection.sets_in_database
    );
    if table.distinct_people() < config.k {
        return Err(Error::TooFewPeople {
            path: args.db.clone(),
            eligible: table.distinct_people(),
            k: config.k,
        });
    }

    let bar = console.bar("microaggregate", table.len() as u64);
    let anonymized = observer.time("anonymize", || microaggregate(&table, &method, &bar));
    bar.finish_and_clear();
    let suppressed = anonymized.coverage.suppressed_records;
    if anonymized.rows() == 0 {
        return Err(Error::Unsatisfiable {
            problem: format!(
                "all {suppressed} eligible records were suppressed: no coverage pattern is shared \
                 by k = {} people, so the release would be empty",
                config.k
            ),
        });
    }
    let counts = AnonymizationCounts {
        published_records: anonymized.rows(),
        suppressed_records: suppressed,
        suppressed_share: if table.is_empty() {
            0.0
        } else {
            suppressed as f64 / table.len() as f64
        },
        coarsened_records: anonymized.coverage.coarsened_records,
        dropped_values: anonymized.coverage.dropped_values,
        groups: anonymized.groups,
        coverage_patterns: anonymized
            .coverage
            .pattern
            .iter()
            .flatten()
            .collect::<std::collections::HashSet<_>>()
            .len(),
    };
    let release_table = observer.time("deidentify", || {
        deidentify(catalog.names().to_vec(), &anonymized.values, seed)
    });
    let risk = observer.time("risk", || release_risk(&release_table, config.k));
    let prosecutor = risk.reidentification.prosecutor;
    let mut measured = Measured {
        k: Some(anonymized.smallest_group_people),
        suppressed_share: Some(counts.suppressed_share),
        highest_risk: Some(prosecutor.highest),
        average_risk: Some(prosecutor.average),
        records_at_risk: Some(prosecutor.records_at_risk),
        ..Measured::default()
    };
    config.thresholds.check(&measured)?;

    let linkage = (args.internal_report.is_some() || config.thresholds.need_linkage()).then(|| {
        let attack = Attack {
            known: &known,
            error: config.linkage.error,
            noise: config.linkage.noise,
            seed,
        };
        let linkage = observer.time("linkage", || run_linkage(&table, &anonymized, attack));
        tracing::info!(
            "linkage attack: {} records against {} distinct released rows",
            linkage.targets,
            linkage.distinct_released_rows,
        );
        linkage
    });
    if let Some(linkage) = &linkage {
        measured.linkage_success = Some(linkage.success);
        measured.interval_disclosure = Some(linkage.interval_disclosure.share_disclosed);
        config.thresholds.check(&measured)?;
    }

    let parameters = ReleaseParameters {
        max_malformed_share: config.max_malformed_share,
        mdav_exact_limit: config.mdav_exact_limit,
        min_pattern_people: config.min_pattern_people,
        retention_months: config.retention_months,
        spread_restoration:
            "per pattern: optimal-transport map of the group means to the pattern's covariance"
                .into(),
        thresholds: config.thresholds.clone(),
    };
    let (method_benchmark, benchmarking) =
        benchmarking.join().expect("the benchmark does not panic");
    observer.stage_took("method-benchmark", benchmarking);
    let report = ReleaseReport {
        anonpub_version: env!("CARGO_PKG_VERSION").into(),
        dataset: schema.name.clone(),
        as_of: args.as_of.to_string(),
        method: "mdav".into(),
        k_requested: config.k,
        k_achieved: anonymized.smallest_group_people,
        seed,
        parameters,
        selection,
        anonymization: counts,
        risk,
        method_benchmark,
    };
    let internal = args.internal_report.as_ref().map(|path| {
        let utility = numeric_utility(catalog.names(), table.values(), &anonymized.values);
        let document = json!({
            "notice": "INTERNAL: compares the raw data with the release; never publish this file",
            "anonpub_version": report.anonpub_version,
            "dataset": report.dataset,
            "as_of": report.as_of,
            "seed": seed,
            "k_requested": report.k_requested,
            "k_achieved": report.k_achieved,
            "eligible_records": table.len(),
            "published_records": report.anonymization.published_records,
            "anonymization": report.anonymization,
            "linkage": {
                "attacker": config.linkage,
                "result": linkage,
            },
            "utility": utility,
        });
        (path, document)
    });
    let release = Release {
        table: &release_table,
        report: &report,
        schema: &schema,
        catalog: &catalog,
        config: &config,
        config_sha256: &config_sha256,
        input_fingerprint: &input_fingerprint,
    };
    write_release(&args.out, args.force, &release, observer)?;
    tracing::info!(
        "published {} records in {} groups (k = {}, achieved {}; {} suppressed) to {}",
        report.anonymization.published_records,
        report.anonymization.groups,
        report.k_requested,
        report.k_achieved,
        report.anonymization.suppressed_records,
        args.out.display()
    );
    if let Some((path, document)) = internal {
        write_internal_report(path, &document, args.force)?;
        tracing::info!("internal report written to {}", path.display());
    }
    Ok(())
}

/// The linkage attack of every released record against the release, with the microaggregation
/// groups as ground truth.
fn run_linkage(
    table: &MeasurementTable,
    anonymized: &Microaggregated,
    attack: Attack<'_>,
) -> LinkageReport {
    let released = ReleasedRows {
        values: &anonymized.values,
        source: &anonymized.source,
        group: &anonymized.group,
    };
    linkage_attack(table, released, attack)
}
