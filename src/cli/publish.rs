//! anonpub publish [--source freesewing-v3] --db PATH (--key-file PATH | env API_ENC_KEY or
//!                 BACKEND_ENC_KEY) --as-of YYYY-MM-DD --out DIR
//!                 [--config FILE] [--k N] [--seed N] [--internal-report FILE] [--ledger FILE]
//!                 [--force]
//! anonpub publish --source table --input FILE --schema FILE [--key-file PATH] --as-of … --out …
//!
//! Reads a FreeSewing v3 database (the default) or a person-keyed CSV/Parquet table described by
//! a dataset schema (`person_key`, `consent`, `status`, `last_seen` roles), keeps the sets of
//! people who consented to open data, whose account is active and who were seen within the
//! retention window, drops junk, and publishes the measurements microaggregated (MDAV) in groups
//! of at least k distinct people. The release directory (CSV, Parquet, datapackage.json,
//! report.json, report.html, README.md datasheet, manifest.json, SHA256SUMS) appears atomically,
//! or not at all. A key is never taken from a command-line value.
//!
//! report.json carries the re-identification risk of the released rows. With --internal-report,
//! figures that compare the raw data with the release (utility, a linkage attack by an attacker
//! who knows some measurements of everyone, see `[linkage]` in the config) go to that file, which
//! must lie outside --out and is never published. The simulated attacks of issue 14
//! (differencing, known members, planted accounts; `[attacks]` in the config) run with
//! --internal-report or when one of their thresholds is set (by default). With --ledger, the
//! differencing attack targets the people who joined since the release the ledger records, and
//! the ledger is updated with this release's group membership once the release is written.
//!
//! With a `[sizechart]` in the config, a differentially private size chart of the selected sets
//! (sizechart.csv, sizechart.parquet, a `sizechart` entry in report.json) joins the release; it is
//! drawn with fresh OS randomness, never from --seed. --ledger FILE is the data holder's private
//! ledger (0600, outside --out) of ε spent per release: `sizechart.lifetime_epsilon` is checked
//! against it before anything is read, and the chart's spend recorded once the release is written.
//!
//! Every `[thresholds]` entry of the config is checked before anything is written; the first that
//! fails stops the run.
//!
//! Exit codes: 0 published; 1 a threshold of the config failed or the lifetime ε would be exceeded
//! (nothing written); 2 bad input.

use std::path::PathBuf;

use crate::cli::{parse_date, Console};
use crate::config::ReleaseConfig;
use crate::dates::Date;
use crate::error::{Error, Result};
use crate::pipeline::{describe_release, publish, Plan, Request, SourcePlan};

/// The sources `--source` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// A FreeSewing v3 backend database (`--db`).
    #[value(name = "freesewing-v3")]
    FreeSewingV3,
    /// A person-keyed CSV or Parquet table (`--input`, `--schema`).
    Table,
}

#[derive(Debug, clap::Args)]
/// The command line of `anonpub publish`.
pub struct Args {
    /// Where the people come from.
    #[arg(long, value_enum, default_value = "freesewing-v3")]
    pub source: SourceKind,
    /// The FreeSewing v3 SQLite database (`--source freesewing-v3`).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The person-keyed table, CSV or Parquet (`--source table`).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// The table's dataset schema (`--source table`).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// File holding the secret (API_ENC_KEY; one trailing newline allowed). Default for the v3
    /// database: the API_ENC_KEY or BACKEND_ENC_KEY variable. For a table it is optional and keys
    /// the input fingerprint.
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
    /// Also write utility, linkage-attack and simulated-attack figures (JSON) to this file,
    /// outside --out.
    #[arg(long)]
    pub internal_report: Option<PathBuf>,
    /// Replace an existing, non-empty release directory (and an existing internal report).
    #[arg(long)]
    pub force: bool,
    /// The private release ledger (JSON, 0600, outside --out): with a `[sizechart]`,
    /// `sizechart.lifetime_epsilon` is checked against it first and the chart's ε recorded in it
    /// after the release is written; it also gives the previous release's group membership to
    /// the differencing check and receives this release's (and keeps a table's group-noise key).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
}

/// Publishes a release as the arguments and the config say.
pub fn run(args: Args, console: &Console) -> Result<()> {
    let out = args.out.clone();
    let k_flag = args.k.is_some();
    let plan = Plan::new(request(args)?).map_err(|error| match error {
        Error::InvalidArgument { name: "k", problem } if k_flag => Error::InvalidArgument {
            name: "--k",
            problem,
        },
        other => other,
    })?;
    let published = publish(&plan, console)?;
    tracing::info!("{}", describe_release(&published, &out));
    Ok(())
}

/// The request the flags make: the source, and the config with the flags' overrides applied.
fn request(args: Args) -> Result<Request> {
    let source = match args.source {
        SourceKind::FreeSewingV3 => {
            refuse_with(
                args.source,
                [
                    ("--input", args.input.is_some()),
                    ("--schema", args.schema.is_some()),
                ],
            )?;
            SourcePlan::FreeSewingV3 {
                db: required(args.db, "--db", "the FreeSewing v3 database")?,
                key_file: args.key_file,
            }
        }
        SourceKind::Table => {
            refuse_with(args.source, [("--db", args.db.is_some())])?;
            SourcePlan::Table {
                input: required(args.input, "--input", "the CSV or Parquet table")?,
                schema: required(args.schema, "--schema", "the table's dataset schema")?,
                key_file: args.key_file,
            }
        }
    };
    let mut config = match &args.config {
        Some(path) => ReleaseConfig::load(path)?,
        None => ReleaseConfig::default(),
    };
    if let Some(k) = args.k {
        config.k = k;
    }
    Ok(Request {
        source,
        as_of: args.as_of,
        out: args.out,
        config,
        seed: args.seed,
        internal_report: args.internal_report,
        force: args.force,
        ledger: args.ledger,
    })
}

/// A flag the source needs.
fn required(value: Option<PathBuf>, flag: &'static str, what: &str) -> Result<PathBuf> {
    value.ok_or_else(|| Error::InvalidArgument {
        name: flag,
        problem: format!("this source needs {what}"),
    })
}

/// Refuses flags that belong to another source, so a mistyped command is not half obeyed.
fn refuse_with<const N: usize>(source: SourceKind, flags: [(&'static str, bool); N]) -> Result<()> {
    match flags.into_iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(Error::InvalidArgument {
            name: flag,
            problem: format!(
                "does not apply to --source {}",
                match source {
                    SourceKind::FreeSewingV3 => "freesewing-v3",
                    SourceKind::Table => "table",
                }
            ),
        }),
        None => Ok(()),
    }
}
