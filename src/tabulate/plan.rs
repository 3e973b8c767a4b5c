//! `anonpub tabulate` as a library: a validated [`TabulatePlan`] in, a protected table and its
//! report out ([`TableRelease`]), for [`crate::publish::frequency`] to write.
//!
//! Checks made before anything is read: the person column (`--person`, else `tabulate.person`,
//! else the schema's `person_key` column) and every `by` column are columns of the schema; a
//! `direct_identifier` column (an IP address, an email) or one that only decides eligibility
//! (`person_key`, `consent`, `status`, `last_seen`) can be a `by` column only coarsened (an IP address to its network, a timestamp to its day), never as it is; tables of
//! more than two `by` columns are published without margins (see [`super::suppress`]).

use std::path::{Path, PathBuf};

use serde_json::json;
use zeroize::Zeroizing;

use super::coarsen::Coarsening;
use super::config::{Protection, TabulateConfig};
use super::input::{count_input, ByColumn};
use super::suppress::Suppression;
use super::{dp, tabulate, FrequencyTable};
use crate::config::ReleaseConfig;
use crate::error::{Error, Result};
use crate::extract::person_table::{table_secret, table_subkey};
use crate::extract::table::read_table;
use crate::observe::Observer;
use crate::release::frequency::{CellProtection, FrequencyReport, FREQUENCY_KIND};
use crate::release::manifest::{
    canonical_config, digest_canonical, InputFingerprint, FINGERPRINT_LABEL,
};
use crate::schema::{DatasetSchema, Role};
use crate::timings::timed;

/// Everything `tabulate` needs, checked.
#[derive(Debug, Clone)]
pub struct TabulatePlan {
    /// The table to count (CSV with the schema's delimiter, or Parquet).
    pub input: PathBuf,
    /// Its schema.
    pub schema: DatasetSchema,
    /// The configuration digest of the manifest (see [`TabulatePlan::new`]).
    pub config_sha256: String,
    /// The secret that keys the input fingerprint (`--key-file`); without it the fingerprint is
    /// the input's plain SHA-256, as for `publish --source table`.
    pub key_file: Option<PathBuf>,
    /// The column that identifies a person.
    pub person: String,
    /// The key columns.
    pub by: Vec<ByColumn>,
    /// The protection.
    pub config: TabulateConfig,
    /// SPDX identifier of the data licence.
    pub license: String,
    /// Version string of the release.
    pub version: String,
    /// The release date for the metadata (`--as-of`); none leaves `created` out.
    pub as_of: Option<String>,
}

/// What the command line (or a caller) asks for, before it is checked.
#[derive(Debug, Clone)]
pub struct TabulateRequest {
    /// The table to count.
    pub input: PathBuf,
    /// Its dataset schema (TOML).
    pub schema: PathBuf,
    /// The person column (`--person`); else `tabulate.person` of the config.
    pub person: Option<String>,
    /// The key columns.
    pub by: Vec<ByColumn>,
    /// The configuration (`[tabulate]`, `license`, `version`).
    pub config: ReleaseConfig,
    /// The release date for the metadata.
    pub as_of: Option<String>,
    /// The secret that keys the input fingerprint (`--key-file`), if any.
    pub key_file: Option<PathBuf>,
}

impl TabulatePlan {
    /// Checks the columns against the schema (see the module documentation).
    ///
    /// The configuration digest follows the rule of
    /// [`config_digest`](crate::release::manifest::config_digest): the whole validated
    /// configuration and the schema's text, plus what the command line chose beside the config
    /// file (the person column as resolved and the `by` columns), so that the digest identifies
    /// everything that decides the table but the input.
    pub fn new(request: TabulateRequest) -> Result<Self> {
        let TabulateRequest {
            input,
            schema: schema_path,
            person,
            by,
            config: release_config,
            as_of,
            key_file,
        } = request;
        let config = release_config.tabulate.clone();
        let (license, version) = (
            release_config.license.clone(),
            release_config.version.clone(),
        );
        let schema_path = schema_path.as_path();
        let schema_text =
            std::fs::read_to_string(schema_path).map_err(|e| Error::io("read", schema_path, e))?;
        let schema = DatasetSchema::parse(&schema_text, schema_path)?;
        let invalid =
            |name: &'static str, problem: String| Error::InvalidArgument { name, problem };
        let person = person
            .or_else(|| config.person.clone())
            .or_else(|| {
                schema
                    .columns
                    .iter()
                    .find(|c| c.role == Role::PersonKey)
                    .map(|c| c.name.clone())
            })
            .ok_or_else(|| {
                invalid(
                    "--person",
                    "name the column that identifies a person (--person, tabulate.person, or a \
                     `person_key` column in the schema)"
                        .into(),
                )
            })?;
        if schema.position(&person).is_none() {
            return Err(invalid(
                "--person",
                format!("`{person}` is not a column of the schema"),
            ));
        }
        if by.is_empty() {
            return Err(invalid("--by", "name at least one column".into()));
        }
        for (i, column) in by.iter().enumerate() {
            let Some(position) = schema.position(&column.column) else {
                return Err(invalid(
                    "--by",
                    format!("`{}` is not a column of the schema", column.column),
                ));
            };
            if by[..i].iter().any(|b| b.column == column.column) {
                return Err(invalid(
                    "--by",
                    format!("`{}` is listed twice", column.column),
                ));
            }
            let role = schema.columns[position].role;
            let never_published = role == Role::DirectIdentifier || role.is_eligibility();
            if never_published && column.coarsening == Coarsening::None {
                return Err(invalid(
                    "--by",
                    format!(
                        "`{}` has role {} and is never published as it is; count it only \
                         coarsened (`{0}:24`, `{0}:day`)",
                        column.column,
                        role.key()
                    ),
                ));
            }
        }
        let mut canonical = canonical_config(&release_config, &schema_text);
        canonical["counted"] = json!({ "person": person, "by": by });
        Ok(TabulatePlan {
            input,
            schema,
            config_sha256: digest_canonical(canonical),
            key_file,
            person,
            by,
            config,
            license,
            version,
            as_of,
        })
    }
}

/// A protected table ready to be written.
#[derive(Debug, Clone)]
pub struct TableRelease {
    /// The cells (and margins).
    pub table: FrequencyTable,
    /// The public report.
    pub report: FrequencyReport,
    /// The plan it came from.
    pub plan: TabulatePlan,
    /// The fingerprint of the input file for the manifest: HMAC-SHA256 under a key derived from
    /// `--key-file`, else the plain SHA-256 ([`fingerprint_key`]).
    pub input_fingerprint: InputFingerprint,
}

/// The key of the input fingerprint, derived from `key_file` exactly as `publish --source table`
/// derives it (so the same input and key file give the same fingerprint in both releases);
/// `None` without a key file, and the fingerprint is the plain SHA-256: anyone holding a
/// candidate copy of the input can then confirm it, which a data holder who minds avoids by
/// passing a key file.
pub fn fingerprint_key(key_file: Option<&Path>) -> Result<Option<(Zeroizing<[u8; 32]>, String)>> {
    key_file
        .map(|path| Ok(table_subkey(&table_secret(path)?, FINGERPRINT_LABEL)))
        .transpose()
}

/// Reads the input, counts people per cell and protects the cells. The input is fingerprinted
/// on its own thread while it is read.
pub fn run(plan: TabulatePlan, observer: &dyn Observer) -> Result<TableRelease> {
    let key = observer.time("derive-key", || fingerprint_key(plan.key_file.as_deref()))?;
    let (table, (input_fingerprint, fingerprinting)) = std::thread::scope(|scope| {
        let fingerprinting =
            scope.spawn(|| timed(|| InputFingerprint::of_input(&plan.input, key.as_ref())));
        let table = observer.time("read", || read_table(&plan.input, &plan.schema));
        let fingerprint = fingerprinting
            .join()
            .expect("fingerprinting does not panic");
        (table, fingerprint)
    });
    let table = table?;
    let input_fingerprint = input_fingerprint?;
    drop(key);
    observer.stage_took("fingerprint", fingerprinting);
    let input = observer.time("coarsen", || {
        count_input(&table, &plan.input, &plan.person, &plan.by)
    })?;
    let rows = table.rows();
    drop(table);
    let names: Vec<String> = plan.by.iter().map(|b| b.column.clone()).collect();
    let (table, protection, exact) = observer.time("protect", || -> Result<_> {
        Ok(match plan.config.protection {
            Protection::Suppression => {
                let table = tabulate(&names, &input.person, &input.keys, plan.config.threshold)?;
                let count = |kind| table.cells.iter().filter(|c| c.suppression == kind).count();
                let protection = CellProtection::Suppression {
                    threshold: plan.config.threshold,
                    primary_cells: count(Suppression::Primary),
                    secondary_cells: count(Suppression::Secondary),
                };
                (table, protection, true)
            }
            Protection::Dp => {
                let (table, counts) =
                    dp::dp_tabulate(&names, &input.person, &input.keys, &plan.config)?;
                (table, CellProtection::Dp(counts), false)
            }
        })
    })?;
    let report = FrequencyReport {
        anonpub_version: env!("CARGO_PKG_VERSION").into(),
        kind: FREQUENCY_KIND.into(),
        dataset: plan.schema.name.clone(),
        person_column: plan.person.clone(),
        by: plan.by.clone(),
        margins: exact && plan.by.len() <= 2,
        protection,
        input_rows: exact.then_some(rows),
        people: exact.then_some(input.people),
        lines: table.cells.len(),
        published_lines: table.cells.iter().filter(|c| c.people.is_some()).count(),
    };
    Ok(TableRelease {
        table,
        report,
        plan,
        input_fingerprint,
    })
}
