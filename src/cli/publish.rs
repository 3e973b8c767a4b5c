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
//! must lie outside --out and is never published. The simulated rebuilding attacks
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
//! fails stops the run. k must be at least 2, and below 5 only with `[thresholds] min_k` lowered
//! to it (the datasheet then says so); an --as-of later than today is refused. The console ends
//! with how many sets were left out, by reason, and how many were suppressed.
//!
//! Exit codes: 0 published; 1 a threshold of the config failed or the lifetime ε would be exceeded
//! (nothing written); 2 bad input.

use std::path::PathBuf;

use crate::cli::plan_args::PlanArgs;
use crate::cli::Console;
use crate::error::Result;
use crate::pipeline::{describe_release, publish, Destination};
use crate::release::report::ReleaseReport;
use crate::select::Exclusion;

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
    for line in exclusion_breakdown(&published.report, plan.catalog.is_freesewing()) {
        tracing::info!("{line}");
    }
    Ok(())
}

/// The console's closing lines: how many sets were left out, by reason, and how many eligible
/// ones were suppressed, so that whoever publishes sees what did not make it without opening a
/// file. Counts and reasons only, in FreeSewing's words for FreeSewing's data (`freesewing`).
pub(crate) fn exclusion_breakdown(report: &ReleaseReport, freesewing: bool) -> Vec<String> {
    let selection = &report.selection;
    let left_out: Vec<(Exclusion, u64)> = selection
        .exclusion_counts()
        .sets
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .collect();
    let total: u64 = left_out.iter().map(|(_, count)| count).sum();
    let sets = if freesewing { "sets" } else { "rows" };
    let mut lines = vec![format!(
        "left out {total} of {} {sets} in the input{}",
        selection.sets_in_database,
        if total > 0 { ", by reason:" } else { "" }
    )];
    for (reason, count) in left_out {
        let description = if freesewing {
            reason.description()
        } else {
            reason.plain_description()
        };
        lines.push(format!("  {count:>9}  {}: {description}", reason.key()));
    }
    lines.push(format!(
        "suppressed {} of {} eligible {sets} (no k people share their pattern); published {}",
        report.anonymization.suppressed_records,
        selection.eligible_sets,
        report.anonymization.published_records
    ));
    lines
}
