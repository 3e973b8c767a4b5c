//! The validated plan of a release: every rule checked once, before anything is read, so that the
//! stages trust what they are handed.
//!
//! A [`Request`] is what the user asked for (the command line parses flags into one; a library
//! user fills it in directly), with a configuration already checked by [`ValidConfig::new`].
//! [`Plan::new`] checks it against the source and the dataset schema (what the configuration
//! alone cannot tell) and resolves names into indices. Errors name config fields
//! (`method.name`, `linkage.known`), never flags: the command line maps those it overrides.

use std::path::PathBuf;

use crate::anonymize::engine;
use crate::anonymize::ldiversity::Variant;
use crate::anonymize::microaggregation::ReleaseMethod;
use crate::atomic::check_target;
use crate::config::ValidConfig;
use crate::dates::Date;
use crate::dp::release::chart_bounds;
use crate::error::{Error, Result};
use crate::gates::MeasuredFrom;
use crate::measurements::Catalog;
use crate::publish::internal::check_internal_report;
use crate::release::manifest::config_digest;
use crate::schema::{DatasetSchema, Role, FREESEWING_SCHEMA};
use crate::select::SelectionPolicy;

/// Where the people come from. Adding a source is one arm here and one in
/// [`super::publish`], plus its file in [`crate::extract`].
#[derive(Debug, Clone)]
pub enum SourcePlan {
    /// A FreeSewing v3 backend database; the key from `key_file` or the environment
    /// ([`crate::extract::crypto::load_secret`]).
    FreeSewingV3 {
        /// The SQLite database.
        db: PathBuf,
        /// File holding the encryption secret.
        key_file: Option<PathBuf>,
    },
    /// A person-keyed CSV or Parquet table described by a dataset schema.
    Table {
        /// The table.
        input: PathBuf,
        /// Dataset schema with a `person_key` column (and optionally consent, status,
        /// last_seen).
        schema: PathBuf,
        /// Optional secret that keys the input fingerprint.
        key_file: Option<PathBuf>,
    },
}

/// What the user asked for: where the people come from and how they are released. Where the
/// release is written is asked apart ([`Destination`]), so that a plan can also be run without
/// writing anything ([`super::simulate`]).
#[derive(Debug, Clone)]
pub struct Request {
    /// The source of people.
    pub source: SourcePlan,
    /// Release date; the retention window counts back from it.
    pub as_of: Date,
    /// The release configuration, overrides applied and checked.
    pub config: ValidConfig,
    /// Seed of the record ids; `None` draws one (recorded in report.json).
    pub seed: Option<u64>,
    /// The data holder's private ledger of DP spend across releases and of the previous
    /// release's group membership (outside the release): checked against
    /// `sizechart.lifetime_epsilon` before anything is read, updated after the release is
    /// written.
    pub ledger: Option<PathBuf>,
}

/// A checked release plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The source of people.
    pub source: SourcePlan,
    /// Release date.
    pub as_of: Date,
    /// The validated configuration.
    pub config: ValidConfig,
    /// The dataset schema the release follows.
    pub schema: DatasetSchema,
    /// [`config_digest`] of the configuration and the schema text.
    pub config_sha256: String,
    /// The publishable measurements of the schema.
    pub catalog: Catalog,
    /// Catalogue indices of the measurements the linkage attacker knows.
    pub known: Vec<usize>,
    /// The anonymization method and its parameters.
    pub method: ReleaseMethod,
    /// Seed of the record ids.
    pub seed: u64,
    /// The privacy ledger, if any (see [`Request::ledger`]).
    pub ledger: Option<PathBuf>,
    /// The engine's request when `[method]` names a generalizing method (global recoding,
    /// Mondrian), which publishes the table's own columns; `None` for the microaggregated
    /// measurements release ([`Plan::method`]).
    pub generalization: Option<engine::Request>,
}

impl Plan {
    /// Checks `request` and resolves it into a plan; nothing is read but the schema.
    pub fn new(request: Request) -> Result<Plan> {
        let Request {
            source,
            as_of,
            config,
            seed,
            ledger,
        } = request;
        let generalizes = config.method().generalizes();
        let schema_path = match &source {
            SourcePlan::Table { schema, .. } => Some(schema),
            SourcePlan::FreeSewingV3 { .. } => config.schema.as_ref(),
        };
        let (schema, schema_text) = match schema_path {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| Error::io("read schema", path, e))?;
                (DatasetSchema::parse(&text, path)?, text)
            }
            None => (DatasetSchema::freesewing(), FREESEWING_SCHEMA.to_string()),
        };
        let catalog = Catalog::from_schema(&schema);
        let generalization = generalizes
            .then(|| generalization(&config, &source, &schema, ledger.is_some()))
            .transpose()?;
        if catalog.is_empty() && !generalizes {
            return Err(Error::InvalidArgument {
                name: "schema",
                problem: "declares no numeric quasi-identifier column: nothing to publish".into(),
            });
        }
        let known = if config.linkage.knows_the_default()
            && config
                .linkage
                .known
                .iter()
                .any(|name| catalog.index_of(name).is_none())
        {
            // The default attacker knows FreeSewing measurements; for a schema without them the
            // attacker knows its first five measurement columns instead.
            (0..catalog.len().min(5)).collect()
        } else {
            config
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
                .collect::<Result<_>>()?
        };
        check_sizechart(&config, &catalog, ledger.is_some())?;
        let method = ReleaseMethod::for_catalog(
            &catalog,
            config.k().get(),
            config.mdav_exact_limit,
            config.min_pattern_people,
        )
        .with_min_published(config.min_published_measurements);
        let config_sha256 = config_digest(&config, &schema_text);
        Ok(Plan {
            source,
            as_of,
            config,
            schema,
            config_sha256,
            catalog,
            known,
            method,
            seed: seed.unwrap_or_else(rand::random),
            ledger,
            generalization,
        })
    }

    /// Who may be published: the rules selection applies, from the configuration.
    pub fn selection_policy(&self) -> SelectionPolicy {
        SelectionPolicy {
            as_of: self.as_of,
            retention_months: self.config.retention_months,
            min_account_age_days: self.config.defences.min_account_age_days,
            max_malformed_share: self.config.max_malformed_share,
        }
    }
}

/// The engine's request for a generalizing `[method]`, after checking that the release can be
/// made that way: a person-keyed table (whose schema carries the hierarchies), a quasi-identifier
/// to generalize, a sensitive column when l, t or `min_l` are asked, and none of what only the
/// measurements release has (size chart, ledger, linkage attack).
fn generalization(
    config: &ValidConfig,
    source: &SourcePlan,
    schema: &DatasetSchema,
    has_ledger: bool,
) -> Result<engine::Request> {
    let invalid = |name: &'static str, problem: &str| Error::InvalidArgument {
        name,
        problem: problem.into(),
    };
    let method = config.method();
    if !matches!(source, SourcePlan::Table { .. }) {
        return Err(invalid(
            "method.name",
            "global recoding and Mondrian publish a person-keyed table described by a schema \
             with hierarchies: use --source table",
        ));
    }
    let only_mdav = "applies to the microaggregated measurements release (name = \"mdav\") only";
    if config.sizechart.is_some() {
        return Err(invalid("sizechart", only_mdav));
    }
    if has_ledger {
        return Err(invalid("--ledger", only_mdav));
    }
    if let Some(gate) = config.thresholds.set_from(MeasuredFrom::RawData).next() {
        return Err(invalid(gate.key, only_mdav));
    }
    let has = |role: Role| schema.columns.iter().any(|c| c.role == role);
    if !has(Role::QuasiIdentifier) {
        return Err(invalid(
            "schema",
            "declares no quasi-identifier column: nothing to generalize",
        ));
    }
    let asked = [
        ("method.l", method.l.is_some()),
        ("method.t", method.t.is_some()),
        ("thresholds.min_l", config.thresholds.min_l.is_some()),
    ];
    if let Some((name, _)) = asked.iter().find(|(_, asked)| *asked) {
        if !has(Role::Sensitive) {
            return Err(invalid(
                name,
                "the schema declares no column with role \"sensitive\"",
            ));
        }
    }
    Ok(engine::Request {
        method: method.name,
        k: config.k().get(),
        suppression_limit: method.suppression.get(),
        l_diversity: method.l.map(|l| (l.get(), Variant::Distinct)),
        t_closeness: method.t.map(|t| t.get()),
        numeric: method.numeric,
        mdav_exact_limit: config.mdav_exact_limit,
    })
}

/// The size chart's measurements are measurements of the schema with finite public bounds; a
/// lifetime budget needs a ledger to be checked against.
fn check_sizechart(config: &ValidConfig, catalog: &Catalog, has_ledger: bool) -> Result<()> {
    let Some(chart) = &config.sizechart else {
        return Ok(());
    };
    chart_bounds(catalog, chart)?;
    if chart.lifetime_epsilon.is_some() && !has_ledger {
        return Err(Error::InvalidArgument {
            name: "sizechart.lifetime_epsilon",
            problem: "a lifetime budget is checked against the privacy ledger: pass --ledger FILE"
                .into(),
        });
    }
    Ok(())
}

/// Where a release is written: checked against the plan before anything is read.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The release directory to create.
    pub out: PathBuf,
    /// Where the internal report goes (outside `out`), if anywhere.
    pub internal_report: Option<PathBuf>,
    /// Replace an existing release directory and internal report.
    pub force: bool,
}

impl Destination {
    /// Checks that `out` may be written (empty, or `force`), and that the internal report and
    /// the plan's ledger, both private, lie outside it.
    pub fn new(
        plan: &Plan,
        out: PathBuf,
        internal_report: Option<PathBuf>,
        force: bool,
    ) -> Result<Destination> {
        check_target(&out, force)?;
        if let Some(path) = &internal_report {
            check_internal_report(path, &out, force)?;
        }
        if let Some(path) = &plan.ledger {
            // Private like the internal report, so never inside the release; it is replaced
            // in place, so an existing file needs no --force.
            check_internal_report(path, &out, true).map_err(|error| match error {
                Error::InvalidArgument { problem, .. } => Error::InvalidArgument {
                    name: "--ledger",
                    problem: problem.replace(
                        "the internal report must never be published",
                        "the ledger is private and must never be published",
                    ),
                },
                other => other,
            })?;
        }
        Ok(Destination {
            out,
            internal_report,
            force,
        })
    }
}
