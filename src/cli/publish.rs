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
//! against it before anything is read, and the chart's spend recorded before the release is moved
//! into place (write-ahead; the ledger is locked against other runs from start to end).
//!
//! Every `[thresholds]` entry of the config is checked before anything is written; the first that
//! fails stops the run.
//!
//! Exit codes: 0 published; 1 a threshold of the config failed or the lifetime ε would be exceeded
//! (nothing written); 2 bad input.

use std::path::PathBuf;

use crate::cli::plan_args::PlanArgs;
use crate::cli::Console;
use crate::error::Result;
use crate::pipeline::{describe_release, publish, Destination};

#[derive(Debug, clap::Args)]
/// The command line of `anonpub publish`.
pub struct Args {
    /// The source and how it is released.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// The release directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write utility, linkage-attack and simulated-attack figures (JSON) to this file,
    /// outside --out.
    #[arg(long)]
    pub internal_report: Option<PathBuf>,
    /// Replace an existing, non-empty release directory (and an existing internal report).
    #[arg(long)]
    pub force: bool,
}

/// Publishes a release as the arguments and the config say.
pub fn run(args: Args, console: &Console) -> Result<()> {
    let plan = args.plan.plan()?;
    let destination = Destination::new(&plan, args.out, args.internal_report, args.force)?;
    let published = publish(&plan, &destination, console)?;
    tracing::info!("{}", describe_release(&published, &destination.out));
    Ok(())
}
