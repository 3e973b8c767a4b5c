//! One error type for the whole tool.
//!
//! Every variant carries the context a maintainer needs to fix the input (file, table, row, field)
//! and never the offending value itself: values may be a person's measurement or an identifier,
//! and error text ends up in CI logs. The exit code follows from the variant: 1 when a privacy or
//! integrity check failed, 2 when the input or the invocation cannot be used.

use std::path::PathBuf;

/// Convenient alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read, written or created.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `create`, `move into place`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A structured input file (config, schema, CSV, hierarchy, JSON) is not what was expected.
    #[error("{}{}: {problem}", path.display(), location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// Where in the file: "line 12", "field `k`", "column `age`".
        location: Option<String>,
        /// What is wrong and what was expected.
        problem: String,
    },

    /// The database is not a FreeSewing v3 database or a row in it is malformed.
    #[error("{}: {table}{}: {problem}", path.display(), row.map(|r| format!(" row {r}")).unwrap_or_default())]
    Database {
        /// The database file.
        path: PathBuf,
        /// The table (`User`, `Set`).
        table: &'static str,
        /// 1-based position of the row in the table's scan order (never its id).
        row: Option<u64>,
        /// What is wrong and what was expected.
        problem: String,
    },

    /// The encryption key does not open the database.
    #[error("{}: the key does not decrypt this database ({detail}); check API_ENC_KEY or --key-file", path.display())]
    WrongKey {
        /// The database file.
        path: PathBuf,
        /// How it showed (counts of failed decryptions).
        detail: String,
    },

    /// Too many rows of the database cannot be read: it is damaged, or not what anonpub reads.
    #[error(
        "{}: {bad} of {of} sets that could be published cannot be read ({share_pct:.2} %, more than max_malformed_share = {limit}): {reasons}; the database looks damaged, nothing was written",
        path.display(),
        share_pct = share * 100.0
    )]
    TooManyBadRows {
        /// The database file.
        path: PathBuf,
        /// Sets that cannot be read (unreadable owner, orphan, undecryptable or malformed).
        bad: u64,
        /// Sets that could have been published had every row been readable: all sets but those of
        /// owners without consent, an active account or a recent visit.
        of: u64,
        /// `bad / of`.
        share: f64,
        /// The configured `max_malformed_share`, which `share` exceeds.
        limit: f64,
        /// Counts by reason with the first row of each; never a value.
        reasons: String,
    },

    /// No usable key was given.
    #[error("no encryption key: {problem}")]
    MissingKey {
        /// Where the key was looked for and why it is unusable.
        problem: String,
    },

    /// A command-line or configuration value is out of its allowed range.
    #[error("invalid {name}: {problem}")]
    InvalidArgument {
        /// The flag or configuration key (`--k`, `thresholds.min_k`).
        name: &'static str,
        /// What is wrong and what was expected.
        problem: String,
    },

    /// Too few people are left to form even one group of k.
    #[error("{}: {eligible} eligible people (after selection) cannot form a group of k = {k}; nothing to publish", path.display())]
    TooFewPeople {
        /// The input.
        path: PathBuf,
        /// People left after selection.
        eligible: usize,
        /// The k asked for.
        k: usize,
    },

    /// The release directory exists and `--force` was not given.
    #[error("{} already exists and is not empty; pass --force to replace it", path.display())]
    OutputExists {
        /// The output directory or file.
        path: PathBuf,
    },

    /// The output appeared while this run was writing it (another run published it first), and
    /// `--force` was not given: it is kept, and this run's output is discarded.
    #[error("{} appeared while this run was writing it (another run?); it was kept and nothing was written; pass --force to replace it", path.display())]
    OutputAppeared {
        /// The output directory or file.
        path: PathBuf,
    },

    /// A privacy or quality threshold of the release config is not met (exit code 1).
    #[error(
        "threshold `{name}` failed: measured {measured}, required {required}; nothing was written"
    )]
    ThresholdFailed {
        /// The threshold's key in `[thresholds]`.
        name: String,
        /// The figure measured, as printed.
        measured: String,
        /// The bound, as printed.
        required: String,
    },

    /// No anonymization of the input satisfies the requested privacy model (exit code 1).
    #[error("no anonymization satisfies the privacy model: {problem}; nothing was written")]
    Unsatisfiable {
        /// Why, in counts and parameters.
        problem: String,
    },

    /// `verify` found at least one failing check (exit code 1); the table was already printed.
    #[error("{failed} of {total} checks failed")]
    VerifyFailed {
        /// Checks that failed.
        failed: usize,
        /// Checks run.
        total: usize,
    },

    /// A Parquet file could not be written or read.
    #[error("{}: parquet: {problem}", path.display())]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The Parquet library's message.
        problem: String,
    },

    /// The run was interrupted by a signal; temporary files were removed.
    #[error("interrupted by signal; nothing was written")]
    Interrupted,
}

impl Error {
    /// The process exit code for this error: 1 for a failed check, 2 for unusable input.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::ThresholdFailed { .. }
            | Error::VerifyFailed { .. }
            | Error::Unsatisfiable { .. } => 1,
            _ => 2,
        }
    }

    /// Shorthand for an I/O error with its path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for a malformed input file.
    pub fn bad_file(
        path: impl Into<PathBuf>,
        location: Option<String>,
        problem: impl Into<String>,
    ) -> Self {
        Error::BadFile {
            path: path.into(),
            location,
            problem: problem.into(),
        }
    }
}
