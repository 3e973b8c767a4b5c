//! anonpub tabulate --input FILE --schema FILE --by COL[:LEVEL][,COL[:LEVEL]…] --out DIR
//!                  [--person COL] [--config FILE] [--key-file PATH] [--as-of YYYY-MM-DD]
//!                  [--force]
//!
//! Publishes a frequency table of any table described by a dataset schema (CSV with the schema's
//! delimiter, or Parquet): the number of distinct people (the values of the person column: from
//! --person, else `tabulate.person` in the config, else the schema's `person_key` column) per
//! combination of the --by columns. LEVEL
//! coarsens a column by a built-in hierarchy before counting: `hour`, `day`, `week`, `month` for
//! dates and timestamps (UTC), `24` or `16` for IP addresses (IPv4 /24 or /16; IPv6 always /48).
//! A `direct_identifier` or `person_key` column can be counted only coarsened.
//!
//! The config's `[tabulate]` table chooses the protection: `protection = "suppression"` (default;
//! `threshold`, default 10: cells of fewer people are suppressed, plus secondary suppression so
//! that none can be recomputed from the margins) or `protection = "dp"` (`epsilon`, `delta`,
//! `mechanism = "laplace" | "gaussian"`, `max_cells_per_person`).
//!
//! Writes DIR/frequencies.csv, DIR/frequencies.parquet, datapackage.json, report.json, README.md
//! (datasheet), manifest.json and SHA256SUMS, all or nothing. The manifest records the input's
//! fingerprint as `publish --source table` does: HMAC-SHA256 under a key derived from
//! --key-file, else (no key file) the input's plain SHA-256, which anyone holding a candidate copy
//! of the input can confirm. Example (an access log becomes
//! visitors per page per day, with no address in the output):
//!
//!   anonpub tabulate --input data/access-log.csv --schema data/access-log.toml \
//!       --by page,timestamp:day --out stats
//!
//! Exit codes: 0 written; 2 bad input or arguments (the message names the file, line and column,
//! never a value).

use std::path::PathBuf;

use crate::atomic::check_target;
use crate::config::ReleaseConfig;
use crate::error::Result;
use crate::observe::Observer;
use crate::publish::frequency::write_frequency_release;
use crate::release::frequency::CellProtection;
use crate::tabulate::input::ByColumn;
use crate::tabulate::plan::{run as run_plan, TabulatePlan, TabulateRequest};

#[derive(Debug, clap::Args)]
/// The command line of `anonpub tabulate`.
pub struct Args {
    /// The table to count: CSV (the schema's delimiter) or .parquet.
    #[arg(long)]
    pub input: PathBuf,
    /// Dataset schema (TOML) describing every column of the input.
    #[arg(long)]
    pub schema: PathBuf,
    /// Key columns, each optionally coarsened: `page,timestamp:day,ip:24`.
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_by)]
    pub by: Vec<ByColumn>,
    /// The column that identifies a person (default: `tabulate.person` of the config, else the
    /// schema's `person_key` column).
    #[arg(long)]
    pub person: Option<String>,
    /// Output directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Configuration file (`[tabulate]`, `license`, `version`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Secret that keys the input fingerprint of the manifest (optional; without it the
    /// fingerprint is the input's plain SHA-256). Never a command-line value.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Release date for the metadata (no date is recorded without it).
    #[arg(long, value_parser = super::parse_date)]
    pub as_of: Option<crate::dates::Date>,
    /// Replace an existing, non-empty output directory.
    #[arg(long)]
    pub force: bool,
}

fn parse_by(text: &str) -> std::result::Result<ByColumn, String> {
    ByColumn::parse(text)
}

/// Counts, protects and writes the frequency table.
pub fn run(args: Args, observer: &dyn Observer) -> Result<()> {
    let config = match &args.config {
        Some(path) => ReleaseConfig::load(path)?,
        None => ReleaseConfig::default(),
    };
    let plan = TabulatePlan::new(TabulateRequest {
        input: args.input,
        schema: args.schema,
        person: args.person,
        by: args.by,
        config,
        as_of: args.as_of.map(|date| date.to_string()),
        key_file: args.key_file,
    })?;
    check_target(&args.out, args.force)?;
    let release = run_plan(plan, observer)?;
    write_frequency_release(&args.out, args.force, &release, observer)?;
    let report = &release.report;
    let protection = match &report.protection {
        CellProtection::Suppression {
            threshold,
            primary_cells,
            secondary_cells,
        } => format!(
            "threshold {threshold}: {primary_cells} cells suppressed, {secondary_cells} more to protect them"
        ),
        CellProtection::Dp(dp) => format!(
            "DP ε = {}, δ = {:e}: {} cells reached the release threshold {}",
            dp.epsilon, dp.delta, report.published_lines, dp.release_threshold
        ),
    };
    tracing::info!(
        "{} lines ({} published; {protection}); wrote {}",
        report.lines,
        report.published_lines,
        args.out.display()
    );
    if report.published_lines == 0 {
        tracing::warn!("no count was published: every cell is below the threshold");
    }
    Ok(())
}
