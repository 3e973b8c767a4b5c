//! anonpub anonymize --input FILE --schema FILE --as-of YYYY-MM-DD --out DIR
//!                   [--method global|mondrian|mdav] [--k N] [--suppression FRACTION]
//!                   [--l N] [--t X] [--numeric ranges|means] [--mdav-exact-limit N]
//!                   [--config FILE] [--key-file PATH] [--seed N] [--ledger FILE] [--force]
//!
//! A front to `publish --source table`: the flags set the release config's `[method]` (and `k`,
//! `mdav_exact_limit`), which is then checked once and planned exactly as `publish` plans it, and
//! the same pipeline writes the same release (measurements.csv, measurements.parquet,
//! datapackage.json, report.json, report.html, README.md datasheet, manifest.json, SHA256SUMS)
//! that `anonpub verify` re-checks. There is one engine and one plan; this file only names flags.
//!
//! The table is any CSV (the schema's delimiter) or Parquet table described by a dataset schema.
//! Its people are those of its `person_key` column; a schema without one must declare
//! `rows_are_people = true` (no person has two rows), since k has to count people. Eligibility
//! columns (`consent`, `status`, `last_seen`) apply when the schema has them; bad rows are left
//! out and counted. Direct identifiers are dropped.
//!
//! Methods: `global` (the default here) finds the full-domain generalization with the least
//! information loss (ARX's Loss metric) using each quasi-identifier's `hierarchy` file or
//! `widths`, suppressing at most --suppression of the records (default 0); `mondrian` partitions
//! the records (numeric quasi-identifiers published as ranges or, with --numeric means, class
//! means; text ones as hierarchy labels); `mdav` is the microaggregated measurements release of
//! `publish` (numeric quasi-identifiers, coverage planning, keyed group noise, simulated
//! attacks). Suppressed records are left out of the release and counted.
//!
//! --l asks for distinct l-diversity and --t for t-closeness of every column with role
//! "sensitive" (global and mondrian); `verify` recomputes both from the released rows.
//!
//! Flags of the former stand-alone output that no verifiable release can carry are refused with
//! exit 2: --l-variant entropy|recursive and --c (verify re-checks distinct l only), and --noise
//! and its options (input noise before generalizing; the release records no such step).
//!
//! k is at least 2, and below 5 only with `[thresholds] min_k` lowered to it in --config (the
//! datasheet then says so); --as-of is the release date (today or earlier).
//!
//! Exit codes: 0 written; 1 no anonymization satisfies the privacy model, or a threshold failed
//! (nothing written); 2 bad input or arguments (the message names the file, line and column,
//! never a value).

use std::path::PathBuf;

use crate::anonymize::engine::{Method, NumericRelease};
use crate::cli::plan_args::{FlagKeys, PlanArgs, SourceKind};
use crate::cli::publish::exclusion_breakdown;
use crate::cli::Console;
use crate::error::{Error, Result};
use crate::pipeline::{describe_release, publish, Destination};

#[derive(Debug, clap::Args)]
#[command(
    mut_arg("source", |arg| arg.hide(true)),
    mut_arg("db", |arg| arg.hide(true)),
    mut_arg("input", |arg| arg.required(true).help("The table, CSV or Parquet")),
    mut_arg("schema", |arg| arg.required(true).help("The table's dataset schema")),
    mut_arg("key_file", |arg| arg.help(
        "File holding the table's secret: keys the input fingerprint, the record ids and \
         (mdav) the group noise"
    ))
)]
/// The command line of `anonpub anonymize`.
pub struct Args {
    /// The table, its schema, the release date, config, k and seed, as `publish` takes them
    /// (the source is always a table here).
    #[command(flatten)]
    pub plan: PlanArgs,
    /// The release directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Anonymization method [default: global, or the config's `[method] name`].
    #[arg(long, value_enum)]
    pub method: Option<Method>,
    /// Largest fraction of records global recoding may suppress, in [0, 1] (default 0).
    #[arg(long)]
    pub suppression: Option<f64>,
    /// Distinct l-diversity of every sensitive column.
    #[arg(long)]
    pub l: Option<usize>,
    /// Which l-diversity: only `distinct` is published (verify re-checks it).
    #[arg(long, value_enum, requires = "l")]
    pub l_variant: Option<LVariant>,
    /// c of recursive (c,l)-diversity: refused (only distinct l-diversity is published).
    #[arg(long, requires = "l")]
    pub c: Option<f64>,
    /// t-closeness of every sensitive column, in [0, 1].
    #[arg(long)]
    pub t: Option<f64>,
    /// How mondrian publishes numeric quasi-identifiers (default ranges).
    #[arg(long, value_enum)]
    pub numeric: Option<NumericRelease>,
    /// mdav: exact MDAV on cells of at most this many records; larger inputs are partitioned
    /// first (default 1000).
    #[arg(long)]
    pub mdav_exact_limit: Option<usize>,
    /// Input noise before anonymizing: refused (a release records no such step).
    #[arg(long, value_name = "KIND")]
    pub noise: Option<String>,
    /// Refused with --noise.
    #[arg(long, requires = "noise")]
    pub noise_scale: Option<f64>,
    /// Refused with --noise.
    #[arg(long, requires = "noise")]
    pub noise_mean_preserving: bool,
    /// Refused with --noise.
    #[arg(long, requires = "noise", value_delimiter = ',')]
    pub noise_columns: Option<Vec<String>>,
    /// Replace an existing, non-empty release directory.
    #[arg(long)]
    pub force: bool,
}

/// l-diversity variants on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LVariant {
    /// At least l distinct sensitive values per class.
    Distinct,
    /// Entropy of the sensitive values per class at least ln l: refused.
    Entropy,
    /// Recursive (c,l)-diversity: refused.
    Recursive,
}

/// Anonymizes the table into a verifiable release, through the plan and pipeline of `publish`.
pub fn run(mut args: Args, console: &Console) -> Result<()> {
    refuse_unpublishable(&args)?;
    match args.plan.source {
        None | Some(SourceKind::Table) => args.plan.source = Some(SourceKind::Table),
        Some(SourceKind::FreeSewingV3) => {
            return Err(Error::InvalidArgument {
                name: "--source",
                problem: "anonymize reads a table (--input, --schema); publish reads a \
                          FreeSewing database"
                    .into(),
            })
        }
    }
    let flags: FlagKeys = [
        ("method.name", "--method", args.method.is_some()),
        (
            "method.suppression",
            "--suppression",
            args.suppression.is_some(),
        ),
        ("method.l", "--l", args.l.is_some()),
        ("method.t", "--t", args.t.is_some()),
        ("method.numeric", "--numeric", args.numeric.is_some()),
        (
            "mdav_exact_limit",
            "--mdav-exact-limit",
            args.mdav_exact_limit.is_some(),
        ),
    ]
    .into_iter()
    .filter_map(|(key, flag, given)| given.then_some((key, flag)))
    .collect();
    let plan = args.plan.plan_with(flags, |config| {
        let method = &mut config.method;
        match args.method {
            Some(name) => method.name = name,
            // The stand-alone command generalized by default; a config's `[method]` still wins.
            None if method.is_default() => method.name = Method::Global,
            None => {}
        }
        method.suppression = args.suppression.or(method.suppression);
        method.l = args.l.or(method.l);
        method.t = args.t.or(method.t);
        method.numeric = args.numeric.or(method.numeric);
        if let Some(limit) = args.mdav_exact_limit {
            config.mdav_exact_limit = limit;
        }
    })?;
    if args.mdav_exact_limit.is_some() && plan.config.method().generalizes() {
        return Err(Error::InvalidArgument {
            name: "--mdav-exact-limit",
            problem: "applies to --method mdav only".into(),
        });
    }
    let destination = Destination::new(&plan, args.out, None, args.force)?;
    let published = publish(&plan, &destination, console)?;
    if let Some(levels) = published
        .report
        .generalization
        .as_ref()
        .and_then(|g| g.levels.as_ref())
    {
        tracing::info!("generalization levels {levels:?}");
    }
    tracing::info!("{}", describe_release(&published, &destination.out));
    for line in exclusion_breakdown(&published.report, plan.catalog.is_freesewing()) {
        tracing::info!("{line}");
    }
    Ok(())
}

/// Refuses the flags of the former stand-alone output that a verifiable release cannot carry.
fn refuse_unpublishable(args: &Args) -> Result<()> {
    let refuse = |name: &'static str, problem: &str| {
        Err(Error::InvalidArgument {
            name,
            problem: problem.into(),
        })
    };
    if args.noise.is_some() {
        return refuse(
            "--noise",
            "a release records no input noise, so none is added: the measurements release \
             (--method mdav) has its keyed group noise (`[defences] group_noise_sd`)",
        );
    }
    if args.c.is_some()
        || matches!(
            args.l_variant,
            Some(LVariant::Entropy | LVariant::Recursive)
        )
    {
        return refuse(
            if args.c.is_some() {
                "--c"
            } else {
                "--l-variant"
            },
            "a release publishes distinct l-diversity, which verify recomputes from its rows; \
             entropy and recursive (c,l)-diversity are not published",
        );
    }
    Ok(())
}
