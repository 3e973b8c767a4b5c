//! `anonpub tabulate` as a library: a validated [`TabulatePlan`] in, a protected table and its
//! report out ([`TableRelease`]), for [`crate::publish::frequency`] to write.
//!
//! Three inputs ([`Source`]):
//! - a table with a dataset schema (CSV or Parquet): the person column (`--person`, else
//!   `tabulate.person`, else the schema's `person_key` column) and every `by` column are columns
//!   of the schema; a `direct_identifier` column or one that only decides eligibility can be a
//!   `by` column only coarsened (an IP address to its network, a timestamp to its day);
//! - an access log (`--log-format combined|common`, plain or gzip), no schema needed: its fields
//!   are `ip`, `time`, `method`, `path`, `status`, `bytes`, `referrer`, `user_agent`; the person is
//!   `ip` unless `--person` names another field; `time` is counted only cut to an hour, day, week
//!   or month, `ip` only to a network;
//! - a contributions table (`--contributions`): `person`, the `by` columns (already coarsened to
//!   the levels `--by` names) and `events`, as a `GROUP BY` elsewhere made it.
//!
//! Tables of more than two `by` columns are published without margins (see [`super::suppress`]).

use std::path::{Path, PathBuf};

use serde_json::json;
use zeroize::Zeroizing;

use super::coarsen::{Clock, Coarsening};
use super::config::{Protection, TabulateConfig};
use super::contributions::Contributions;
use super::input::{read_contributions, read_log, read_table_rows, ByColumn, LogKey};
use super::suppress::Suppression;
use super::{dp, tabulate, FrequencyTable};
use crate::config::ValidConfig;
use crate::error::{Error, Result};
use crate::extract::access_log::{Field, LogFormat, FIELDS};
use crate::extract::person_table::{table_secret, table_subkey};
use crate::extract::table::read_table;
use crate::observe::Observer;
use crate::release::frequency::{
    BoundingBias, CellProtection, FrequencyReport, KeyColumn, FREQUENCY_KIND,
};
use crate::release::manifest::{
    canonical_config, digest_canonical, InputFingerprint, FINGERPRINT_LABEL,
};
use crate::schema::{DatasetSchema, Role};
use crate::timings::timed;

/// What is read.
#[derive(Debug, Clone)]
pub enum Source {
    /// A table described by a dataset schema.
    Table(Box<DatasetSchema>),
    /// An access log.
    Log {
        /// Its format.
        format: LogFormat,
        /// The person field.
        person: Field,
        /// The `by` columns as fields.
        keys: Vec<LogKey>,
    },
    /// A pre-aggregated contributions table.
    Contributions,
}

/// Everything `tabulate` needs, checked.
#[derive(Debug, Clone)]
pub struct TabulatePlan {
    /// The input file.
    pub input: PathBuf,
    /// What it is.
    pub source: Source,
    /// The configuration digest of the manifest (see [`TabulatePlan::new`]).
    pub config_sha256: String,
    /// The secret that keys the input fingerprint (`--key-file`); without it the fingerprint is
    /// the input's plain SHA-256, as for `publish --source table`.
    pub key_file: Option<PathBuf>,
    /// The column (or log field) that identifies a person.
    pub person: String,
    /// The key columns.
    pub by: Vec<ByColumn>,
    /// The protection.
    pub config: TabulateConfig,
    /// How times become local hours and days.
    pub clock: Clock,
    /// SPDX identifier of the data licence.
    pub license: String,
    /// Version string of the release.
    pub version: String,
    /// The release date for the metadata (`--as-of`); none leaves `created` out.
    pub as_of: Option<String>,
}

/// Which input the command line names.
#[derive(Debug, Clone)]
pub enum InputKind {
    /// `--schema FILE`.
    Table(PathBuf),
    /// `--log-format FORMAT`.
    Log(LogFormat),
    /// `--contributions`.
    Contributions,
}

/// What the command line (or a caller) asks for, before it is checked.
#[derive(Debug, Clone)]
pub struct TabulateRequest {
    /// The input file.
    pub input: PathBuf,
    /// What it is.
    pub kind: InputKind,
    /// The person column (`--person`); else `tabulate.person` of the config.
    pub person: Option<String>,
    /// The key columns.
    pub by: Vec<ByColumn>,
    /// `--timezone`: an IANA name.
    pub timezone: Option<String>,
    /// The configuration (`[tabulate]`, `license`, `version`).
    pub config: ValidConfig,
    /// The release date for the metadata.
    pub as_of: Option<String>,
    /// The secret that keys the input fingerprint (`--key-file`), if any.
    pub key_file: Option<PathBuf>,
}

fn invalid(name: &'static str, problem: String) -> Error {
    Error::InvalidArgument { name, problem }
}

/// Checks the `by` columns of a schema table and resolves the person column.
fn check_table(schema: &DatasetSchema, person: Option<String>, by: &[ByColumn]) -> Result<String> {
    let person = person
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
    for column in by {
        let Some(position) = schema.position(&column.column) else {
            return Err(invalid(
                "--by",
                format!("`{}` is not a column of the schema", column.column),
            ));
        };
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
        if column.column == person && column.coarsening == Coarsening::None {
            return Err(invalid(
                "--by",
                format!(
                    "`{person}` is the person column; counted as it is it would publish every \
                     identifier (coarsen it, e.g. `{person}:24`)"
                ),
            ));
        }
    }
    Ok(person)
}

/// Checks the `by` columns of a log against its fields.
fn check_log(person: &str, by: &[ByColumn]) -> Result<(Field, Vec<LogKey>)> {
    let names = || {
        FIELDS
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let person_field = Field::named(person).ok_or_else(|| {
        invalid(
            "--person",
            format!("`{person}` is not a log field; the fields are {}", names()),
        )
    })?;
    let keys = by
        .iter()
        .map(|column| {
            let field = Field::named(&column.column).ok_or_else(|| {
                invalid(
                    "--by",
                    format!(
                        "`{}` is not a log field; the fields are {}",
                        column.column,
                        names()
                    ),
                )
            })?;
            let level = column.coarsening;
            let fits = match field {
                Field::Time => level.is_time(),
                Field::Ip => level.is_network(),
                _ => level == Coarsening::None && field != person_field,
            };
            if !fits {
                return Err(invalid(
                    "--by",
                    format!(
                        "`{}` cannot be counted as `{}`: `time` is counted only cut to an hour, \
                         day, week or month (`time:day`), `ip` only to its network (`ip:24`), the \
                         person field never, other fields as they are",
                        column.column,
                        level.name()
                    ),
                ));
            }
            Ok(LogKey {
                field,
                coarsening: level,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((person_field, keys))
}

impl TabulatePlan {
    /// Checks the request (see the module documentation).
    ///
    /// The configuration digest follows the rule of
    /// [`config_digest`](crate::release::manifest::config_digest): the whole validated
    /// configuration and the schema's text, plus what the command line chose beside the config
    /// file (the input kind, the person column as resolved, the `by` columns, the time zone), so
    /// that the digest identifies everything that decides the table but the input.
    pub fn new(request: TabulateRequest) -> Result<Self> {
        let TabulateRequest {
            input,
            kind,
            person,
            by,
            timezone,
            config: release_config,
            as_of,
            key_file,
        } = request;
        let config = release_config.tabulate.clone();
        if by.is_empty() {
            return Err(invalid("--by", "name at least one column".into()));
        }
        for (i, column) in by.iter().enumerate() {
            if by[..i].iter().any(|b| b.column == column.column) {
                return Err(invalid(
                    "--by",
                    format!("`{}` is listed twice", column.column),
                ));
            }
        }
        let clock = match &timezone {
            Some(name) => Clock::named(name).map_err(|problem| invalid("--timezone", problem))?,
            None => Clock::Written,
        };
        let person = person.or_else(|| config.person.clone());
        let (source, person, schema_text, kind_name) = match kind {
            InputKind::Table(schema_path) => {
                let text = std::fs::read_to_string(&schema_path)
                    .map_err(|e| Error::io("read", &schema_path, e))?;
                let schema = DatasetSchema::parse(&text, &schema_path)?;
                let person = check_table(&schema, person, &by)?;
                (
                    Source::Table(Box::new(schema)),
                    person,
                    text,
                    "table".to_string(),
                )
            }
            InputKind::Log(format) => {
                let person = person.unwrap_or_else(|| "ip".into());
                let (field, keys) = check_log(&person, &by)?;
                let source = Source::Log {
                    format,
                    person: field,
                    keys,
                };
                (source, person, String::new(), format.name().to_string())
            }
            InputKind::Contributions => {
                if person.is_some() {
                    return Err(invalid(
                        "--person",
                        "a contributions table names its person column `person`; leave \
                         --person (and tabulate.person) out"
                            .into(),
                    ));
                }
                let person = super::input::CONTRIBUTION_PERSON.to_string();
                (
                    Source::Contributions,
                    person,
                    String::new(),
                    "contributions".into(),
                )
            }
        };
        let mut canonical = canonical_config(&release_config, &schema_text);
        canonical["counted"] = json!({
            "input": kind_name,
            "person": person,
            "by": by,
            "timezone": timezone,
        });
        Ok(TabulatePlan {
            input,
            source,
            config_sha256: digest_canonical(canonical),
            key_file,
            person,
            by,
            config,
            clock,
            license: release_config.license.clone(),
            version: release_config.version.clone(),
            as_of,
        })
    }

    /// The dataset's name, title and description for the metadata.
    pub fn dataset(&self) -> (String, String, String) {
        match &self.source {
            Source::Table(schema) => (
                schema.name.clone(),
                schema.title.clone().unwrap_or_else(|| schema.name.clone()),
                schema.description.clone().unwrap_or_default(),
            ),
            Source::Log { format, .. } => (
                "access-log".into(),
                "Access log".into(),
                format!(
                    "Visitor statistics from a web server's access log ({} log format).",
                    format.name()
                ),
            ),
            Source::Contributions => (
                "contributions".into(),
                "Contributions table".into(),
                "Statistics from a pre-aggregated table of events per person and cell.".into(),
            ),
        }
    }

    /// The description of a `by` column, for the metadata.
    pub fn column_description(&self, column: &str) -> String {
        let log_words = |field: Field| match field {
            Field::Ip => "the client's network",
            Field::Time => "the local time of the request",
            Field::Method => "the request method",
            Field::Path => "the requested path, without its query string",
            Field::Status => "the response status",
            Field::Bytes => "the response size in bytes",
            Field::Referrer => "the referring page, without its query string",
            Field::UserAgent => "the browser's user agent",
        };
        match &self.source {
            Source::Table(schema) => schema
                .position(column)
                .and_then(|i| schema.columns[i].description.clone())
                .unwrap_or_else(|| column.to_string()),
            Source::Log { .. } => Field::named(column)
                .map_or_else(|| column.to_string(), |f| log_words(f).to_string()),
            Source::Contributions => column.to_string(),
        }
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

/// Reads the input into contributions, counts and protects the cells. The input is fingerprinted
/// on its own thread while it is read.
pub fn run(plan: TabulatePlan, observer: &dyn Observer) -> Result<TableRelease> {
    let key = observer.time("derive-key", || fingerprint_key(plan.key_file.as_deref()))?;
    let mut into = Contributions::new(plan.by.len());
    let (summary, (input_fingerprint, fingerprinting)) = std::thread::scope(|scope| {
        let fingerprinting =
            scope.spawn(|| timed(|| InputFingerprint::of_input(&plan.input, key.as_ref())));
        let summary = observer.time("read", || read(&plan, &mut into));
        let fingerprint = fingerprinting
            .join()
            .expect("fingerprinting does not panic");
        (summary, fingerprint)
    });
    let summary = summary?;
    let input_fingerprint = input_fingerprint?;
    drop(key);
    observer.stage_took("fingerprint", fingerprinting);
    tracing::debug!("{} (person, cell) pairs", into.pairs());
    let data = observer.time("aggregate", || into.finish());
    let names: Vec<String> = plan.by.iter().map(|b| b.column.clone()).collect();
    let config = &plan.config;
    let (table, protection, bias): (FrequencyTable, CellProtection, Option<BoundingBias>) =
        observer.time("protect", || match config.protection {
            Protection::Suppression => {
                let table = tabulate(
                    &names,
                    &data,
                    config.threshold,
                    config.max_events_per_person,
                );
                let count = |kind| table.cells.iter().filter(|c| c.suppression == kind).count();
                let protection = CellProtection::Suppression {
                    threshold: config.threshold,
                    max_events_per_person: config.max_events_per_person,
                    primary_cells: count(Suppression::Primary),
                    secondary_cells: count(Suppression::Secondary),
                };
                (table, protection, None)
            }
            Protection::Dp => {
                let (table, budget, bias) = dp::dp_tabulate(&names, &data, config);
                (table, CellProtection::Dp(budget), Some(bias))
            }
        });
    let exact = bias.is_none();
    let report = FrequencyReport {
        anonpub_version: env!("CARGO_PKG_VERSION").into(),
        kind: FREQUENCY_KIND.into(),
        dataset: plan.dataset().0,
        person_column: plan.person.clone(),
        by: plan
            .by
            .iter()
            .map(|b| KeyColumn {
                column: b.column.clone(),
                coarsening: b.coarsening.name().into(),
            })
            .collect(),
        margins: exact && plan.by.len() <= 2,
        protection,
        input: summary,
        people: exact.then_some(data.people),
        bounding_bias: bias,
        lines: table.cells.len(),
        published_lines: table.published(),
    };
    Ok(TableRelease {
        table,
        report,
        plan,
        input_fingerprint,
    })
}

/// The reading stage: the plan's source into `into`.
fn read(
    plan: &TabulatePlan,
    into: &mut Contributions,
) -> Result<crate::release::frequency::InputSummary> {
    match &plan.source {
        Source::Table(schema) => {
            let table = read_table(&plan.input, schema)?;
            read_table_rows(
                &table,
                &plan.input,
                &plan.person,
                &plan.by,
                plan.clock,
                into,
            )
        }
        Source::Log {
            format,
            person,
            keys,
        } => read_log(
            &plan.input,
            *format,
            *person,
            keys,
            &plan.config.log.matcher(),
            plan.clock,
            into,
        ),
        Source::Contributions => read_contributions(&plan.input, &plan.by, into),
    }
}
