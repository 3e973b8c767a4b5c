//! anonpub anonymize --input FILE --schema FILE --out DIR
//!                   [--method global|mondrian|mdav] [--k N] [--suppression FRACTION]
//!                   [--l N [--l-variant distinct|entropy|recursive] [--c X]] [--t X]
//!                   [--numeric ranges|means] [--mdav-exact-limit N]
//!                   [--noise gaussian|laplace [--noise-scale X] [--noise-mean-preserving]
//!                    [--noise-columns NAME,...] [--seed N]] [--force]
//!
//! Anonymizes a table described by a dataset schema (CSV with the schema's delimiter, or Parquet)
//! and writes DIR/anonymized.csv (same delimiter, same row order), DIR/anonymized.parquet (same
//! cells; numeric columns as floats, `*` and empty as null) and DIR/report.json, atomically.
//! Direct identifiers are dropped; every class of identical quasi-identifier cells has at least k
//! records, and k distinct people when the schema has a `person_key` column (not published);
//! suppressed records are `*` in every column.
//!
//! Methods: `global` (default) finds the full-domain generalization with the least information
//! loss (ARX's Loss metric) using each quasi-identifier's `hierarchy` file or `widths`, suppressing
//! at most --suppression of the records (default 0); `mondrian` partitions the records (numeric
//! quasi-identifiers published as ranges or, with --numeric means, class means; text ones as
//! hierarchy labels); `mdav` microaggregates numeric quasi-identifiers into class means.
//!
//! --l and --t add l-diversity and t-closeness for every column with role "sensitive" (t-closeness
//! uses the ordered distance for numeric columns, the equal distance for text). Recursive
//! (c,l)-diversity needs --c.
//!
//! Numeric columns are top/bottom-coded (schema `top_code`, `bottom_code`) and rounded (schema
//! `rounding`) before the method. --noise adds Gaussian or Laplace noise with standard deviation
//! --noise-scale (default 0.1) × the column's standard deviation to the numeric quasi-identifiers
//! without a hierarchy file, or to --noise-columns; --noise-mean-preserving centres it. The noise
//! generator is keyed by --seed (random by default, recorded in report.json) *and* a digest of the
//! input, so the published seed alone cannot regenerate the noise.
//!
//! Exit codes: 0 written; 1 no anonymization satisfies the privacy model (nothing written); 2 bad
//! input or arguments (the message names the file, line and column, never a value).

use std::path::PathBuf;

use crate::anonymize::dataset::{Dataset, Perturbation};
use crate::anonymize::engine::{self, Method, NumericRelease, Request};
use crate::anonymize::ldiversity::{self, Variant};
use crate::anonymize::noise::{Distribution, NoiseSpec};
use crate::anonymize::{k_anonymity, tcloseness};
use crate::atomic::check_target;
use crate::error::{Error, Result};
use crate::extract::table::read_coded_table;
use crate::observe::Observer;
use crate::publish::tabular::write_anonymized;
use crate::schema::DatasetSchema;

#[derive(Debug, clap::Args)]
/// The command line of `anonpub anonymize`.
pub struct Args {
    /// The table to anonymize: CSV (the schema's delimiter) or .parquet.
    #[arg(long)]
    pub input: PathBuf,
    /// Dataset schema (TOML) describing every column of the input.
    #[arg(long)]
    pub schema: PathBuf,
    /// Output directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Anonymization method.
    #[arg(long, value_enum, default_value = "global")]
    pub method: Method,
    /// Minimum number of records per class (of distinct people, with a `person_key` column).
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Largest fraction of records global recoding may suppress, in [0, 1] (default 0).
    #[arg(long)]
    pub suppression: Option<f64>,
    /// l-diversity of every sensitive column.
    #[arg(long)]
    pub l: Option<usize>,
    /// Which l-diversity.
    #[arg(long, value_enum, requires = "l", default_value = "distinct")]
    pub l_variant: LVariant,
    /// c of recursive (c,l)-diversity.
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
    /// Add noise to numeric columns before anonymizing.
    #[arg(long, value_enum)]
    pub noise: Option<NoiseKind>,
    /// Noise standard deviation as a fraction of each column's standard deviation.
    #[arg(long, requires = "noise", default_value_t = 0.1)]
    pub noise_scale: f64,
    /// Centre the noise so each column's mean is unchanged.
    #[arg(long, requires = "noise")]
    pub noise_mean_preserving: bool,
    /// Columns to add noise to (default: numeric quasi-identifiers without a hierarchy file).
    #[arg(long, requires = "noise", value_delimiter = ',')]
    pub noise_columns: Option<Vec<String>>,
    /// Seed of the noise (default: random; recorded in report.json).
    #[arg(long, requires = "noise")]
    pub seed: Option<u64>,
    /// Replace an existing, non-empty output directory.
    #[arg(long)]
    pub force: bool,
}

/// l-diversity variants on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LVariant {
    /// At least l distinct sensitive values per class.
    Distinct,
    /// Entropy of the sensitive values per class at least ln l.
    Entropy,
    /// Recursive (c,l)-diversity (needs --c).
    Recursive,
}

/// Noise distributions on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NoiseKind {
    /// Normally distributed noise.
    Gaussian,
    /// Laplace-distributed noise (heavier tails).
    Laplace,
}

const DEFAULT_MDAV_EXACT_LIMIT: usize = 1000;

/// Anonymizes the input table and writes the output directory.
pub fn run(args: Args, observer: &dyn Observer) -> Result<()> {
    let request = request(&args)?;
    let schema = DatasetSchema::load(&args.schema)?;
    let delimiter = schema.delimiter.unwrap_or(',');
    let delimiter = u8::try_from(delimiter)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| {
            Error::bad_file(
                &args.schema,
                Some("field `delimiter`".into()),
                "must be a single ASCII character",
            )
        })?;
    check_target(&args.out, args.force)?;

    let table = observer.time("read", || read_coded_table(&args.input, &schema))?;
    let dataset = observer.time("check", || {
        Dataset::new(table, &schema, &args.input, &args.schema)
    })?;
    tracing::info!(
        "read {} records of {} columns from {}",
        dataset.rows(),
        dataset.columns.len() + dataset.dropped.len(),
        args.input.display()
    );
    let outcome = engine::run(dataset, &schema.name, &request, observer)?;
    let report = &outcome.report;
    let result = &report.result;
    if let Some(levels) = &result.levels {
        tracing::info!("levels {levels:?} for {:?}", report.quasi_identifiers);
    }
    let metadata = vec![
        ("anonpub:version".into(), report.anonpub_version.into()),
        ("anonpub:dataset".into(), report.dataset.clone()),
        ("anonpub:method".into(), report.method.into()),
        ("anonpub:k".into(), report.privacy_model.k.to_string()),
    ];
    observer.time("write", || {
        write_anonymized(
            &args.out,
            args.force,
            &outcome.table,
            delimiter,
            report,
            metadata,
        )
    })?;
    let figure = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.4}"));
    tracing::info!(
        "{} classes ({}), {} of {} records suppressed, loss {}, SSE {}; wrote {}",
        result.classes,
        smallest_class_words(result),
        result.suppressed_records,
        report.input_records,
        figure(result.information_loss.loss),
        figure(result.information_loss.sse),
        args.out.display()
    );
    Ok(())
}

/// The smallest class for the log line, in what k counts: distinct people with a person key
/// (then also the fewest records, which may be another class), records without.
fn smallest_class_words(result: &engine::ResultReport) -> String {
    match result.smallest_class_people {
        Some(people) => format!(
            "fewest people in a class: {people}; fewest records: {}",
            result.smallest_class
        ),
        None => format!("smallest: {} records", result.smallest_class),
    }
}

/// Checks the arguments and turns them into a request.
fn request(args: &Args) -> Result<Request> {
    let invalid = |name: &'static str, problem: &str| Error::InvalidArgument {
        name,
        problem: problem.into(),
    };
    k_anonymity::validate_k(args.k).map_err(|problem| invalid("--k", problem))?;
    if let Some(limit) = args.suppression {
        if !(0.0..=1.0).contains(&limit) {
            return Err(invalid(
                "--suppression",
                "must be a fraction between 0 and 1",
            ));
        }
        if args.method != Method::Global {
            return Err(invalid(
                "--suppression",
                "only global recoding suppresses records",
            ));
        }
    }
    if args.numeric.is_some() && args.method != Method::Mondrian {
        return Err(invalid("--numeric", "applies to --method mondrian only"));
    }
    if args.mdav_exact_limit.is_some() && args.method != Method::Mdav {
        return Err(invalid(
            "--mdav-exact-limit",
            "applies to --method mdav only",
        ));
    }
    if args.mdav_exact_limit == Some(0) {
        return Err(invalid("--mdav-exact-limit", "must be at least 1"));
    }
    let l_diversity = match (args.l, args.l_variant, args.c) {
        (None, _, _) => None,
        (Some(l), LVariant::Recursive, Some(c)) => Some((l, Variant::Recursive { c })),
        (Some(_), LVariant::Recursive, None) => {
            return Err(invalid("--c", "recursive (c,l)-diversity needs --c"))
        }
        (Some(_), _, Some(_)) => {
            return Err(invalid("--c", "applies to --l-variant recursive only"))
        }
        (Some(l), LVariant::Distinct, None) => Some((l, Variant::Distinct)),
        (Some(l), LVariant::Entropy, None) => Some((l, Variant::Entropy)),
    };
    if let Some((l, variant)) = l_diversity {
        ldiversity::validate(l, variant).map_err(|e| invalid("--l", &e.to_string()))?;
    }
    if let Some(t) = args.t {
        tcloseness::validate(t).map_err(|e| invalid("--t", &e.to_string()))?;
    }
    let noise = match args.noise {
        Some(kind) => {
            let distribution = match kind {
                NoiseKind::Gaussian => Distribution::Gaussian,
                NoiseKind::Laplace => Distribution::Laplace,
            };
            let spec = NoiseSpec::new(distribution, args.noise_scale, args.noise_mean_preserving)
                .map_err(|e| invalid("--noise-scale", &e.to_string()))?;
            Some((spec, args.noise_columns.clone()))
        }
        None => None,
    };
    Ok(Request {
        method: args.method,
        k: args.k,
        suppression_limit: args.suppression.unwrap_or(0.0),
        l_diversity,
        t_closeness: args.t,
        numeric: args.numeric.unwrap_or(NumericRelease::Ranges),
        mdav_exact_limit: args.mdav_exact_limit.unwrap_or(DEFAULT_MDAV_EXACT_LIMIT),
        perturbation: Perturbation {
            noise,
            seed: args.seed.unwrap_or_else(rand::random),
        },
    })
}
