//! anonpub tabulate --input FILE (--schema FILE | --log-format combined|common | --contributions)
//!                  --by COL[:LEVEL][,COL[:LEVEL]…] --out DIR
//!                  [--person COL] [--timezone ZONE] [--config FILE] [--key-file PATH]
//!                  [--as-of YYYY-MM-DD] [--force]
//!
//! Publishes a frequency table: the number of distinct people and of events (page views, each
//! person's contribution bounded) per combination of the --by columns, with small cells
//! protected. The input is one of:
//! - a table described by a dataset schema (CSV with the schema's delimiter, or Parquet); the
//!   person is --person, else `tabulate.person` in the config, else the schema's `person_key`;
//! - an Apache/nginx access log (`--log-format combined` or `common`, plain or .gz), no schema:
//!   fields ip, time, method, path (no query string), status, bytes, referrer, user_agent; the
//!   person is `ip` unless --person names another field; `[tabulate.log]` sets the filters
//!   (defaults: GET answered 2xx or 304, no bots, no static files);
//! - a contributions table (`--contributions`, CSV): `person` (a keyed hash), the --by columns
//!   already coarsened, and `events`, as a GROUP BY in DuckDB or Spark makes it.
//!
//! LEVEL coarsens a column before counting: `hour`, `day`, `week`, `month` for times (on the
//! --timezone clock: an IANA name such as Europe/Paris, daylight saving included; default the
//! offset written on each log line, UTC for tables), `24` or `16` for IP addresses (IPv6 always
//! /48). Malformed lines are left out and counted by reason; more than half malformed is exit 2.
//!
//! The config's `[tabulate]` table chooses the protection: `protection = "suppression"` (default;
//! `threshold`, default 10, with secondary suppression so that none can be recomputed from the
//! margins) or `protection = "dp"` (`epsilon`, `delta`, `mechanism = "laplace" | "gaussian"`,
//! `max_cells_per_person`); both bound `max_events_per_person`.
//!
//! Writes DIR/frequencies.csv, DIR/frequencies.parquet, datapackage.json, report.json, README.md
//! (datasheet), manifest.json and SHA256SUMS, all or nothing. The manifest records the input's
//! fingerprint: HMAC-SHA256 under a key derived from --key-file, else the input's plain SHA-256.
//! Example (an access log becomes visitors per page per day, with no address in the output):
//!
//!   anonpub tabulate --input data/access.log --log-format combined --timezone Europe/Paris \
//!       --by path,time:day --out stats
//!
//! Exit codes: 0 written; 2 bad input or arguments (the message names the file, line and column,
//! never a value).

use std::path::PathBuf;

use crate::atomic::check_target;
use crate::config::ValidConfig;
use crate::error::Result;
use crate::extract::access_log::LogFormat;
use crate::observe::Observer;
use crate::publish::frequency::write_frequency_release;
use crate::release::frequency::CellProtection;
use crate::tabulate::input::ByColumn;
use crate::tabulate::plan::{run as run_plan, InputKind, TabulatePlan, TabulateRequest};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["schema", "log_format", "contributions"])))]
/// The command line of `anonpub tabulate`.
pub struct Args {
    /// The input: a table (CSV or .parquet), an access log (plain or .gz), or a contributions
    /// table (CSV, plain or .gz).
    #[arg(long)]
    pub input: PathBuf,
    /// Dataset schema (TOML) describing every column of a table input.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// The input is an access log in this format.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// The input is a contributions table: `person`, the --by columns, `events`.
    #[arg(long)]
    pub contributions: bool,
    /// Key columns, each optionally coarsened: `path,time:day`, `page,timestamp:day,ip:24`.
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_by)]
    pub by: Vec<ByColumn>,
    /// The column (or log field) that identifies a person (logs: `ip`; tables:
    /// `tabulate.person` of the config, else the schema's `person_key` column).
    #[arg(long)]
    pub person: Option<String>,
    /// IANA time zone of local hours, days, weeks and months (`Europe/Paris`, `UTC`); default:
    /// the offset written on each log line, UTC for tables.
    #[arg(long)]
    pub timezone: Option<String>,
    /// Output directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Configuration file (`[tabulate]`, `[tabulate.log]`, `license`, `version`).
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
        Some(path) => ValidConfig::load(path)?,
        None => ValidConfig::default(),
    };
    let kind = match (args.schema, args.log_format) {
        (Some(schema), _) => InputKind::Table(schema),
        (None, Some(format)) => InputKind::Log(format),
        (None, None) => InputKind::Contributions,
    };
    let plan = TabulatePlan::new(TabulateRequest {
        input: args.input,
        kind,
        person: args.person,
        by: args.by,
        timezone: args.timezone,
        config,
        as_of: args.as_of.map(|date| date.to_string()),
        key_file: args.key_file,
    })?;
    check_target(&args.out, args.force)?;
    let release = run_plan(plan, observer)?;
    write_frequency_release(&args.out, args.force, &release, observer)?;
    let report = &release.report;
    let input = &report.input;
    let left_out: Vec<String> = input
        .left_out
        .iter()
        .map(|(reason, count)| format!("{reason} {count}"))
        .collect();
    tracing::info!(
        "read {} lines, counted {}{}",
        input.lines,
        input.counted,
        if left_out.is_empty() {
            String::new()
        } else {
            format!(" (left out: {})", left_out.join(", "))
        }
    );
    let protection = match &report.protection {
        CellProtection::Suppression {
            threshold,
            primary_cells,
            secondary_cells,
            ..
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
