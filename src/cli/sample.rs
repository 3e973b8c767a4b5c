//! anonpub sample --users N --seed S --db PATH --key-file PATH [--as-of YYYY-MM-DD] [--messy SHARE]
//!                [--table FILE] [--force]
//!
//! Writes a synthetic FreeSewing v3 SQLite database: the real `User` and `Set` tables, every
//! encrypted field encrypted with the v3 scheme under a random key that is written to the key
//! file (mode 0600). People have correlated measurements drawn from FreeSewing's size models,
//! partial sets, several sets per user, mixed consent, status and last-seen dates, junk sets, and
//! a few bad rows of every kind a production database holds (`--messy`, see
//! [`crate::sample::messy`]). The same --users, --seed, --as-of and --messy give the same database.

use std::path::PathBuf;

use crate::cli::parse_date;
use crate::dates::Date;
use crate::error::{Error, Result};
use crate::extract::crypto::{load_secret, FieldKey};
use crate::measurements::Catalog;
use crate::sample::messy::DEFAULT_MESSY_SHARE;
use crate::sample::table::write_people_table;
use crate::sample::{write_sample, SampleSpec};
use crate::timings::Timings;

#[derive(Debug, clap::Args)]
/// The command line of `anonpub sample`.
pub struct Args {
    /// Number of users to generate.
    #[arg(long)]
    pub users: usize,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the SQLite database.
    #[arg(long)]
    pub db: PathBuf,
    /// Where to write the encryption key (API_ENC_KEY).
    #[arg(long)]
    pub key_file: PathBuf,
    /// Dates (last seen, created) are spread before this day.
    #[arg(long, value_parser = parse_date, default_value = "2026-11-01")]
    pub as_of: Date,
    /// About this share of the sets are bad rows (empty, undecryptable, malformed, orphaned, or
    /// owned by an unreadable user row); 0 writes a clean database.
    #[arg(long, default_value_t = DEFAULT_MESSY_SHARE)]
    pub messy: f64,
    /// Also write the same people as a person-keyed CSV table (for `publish --source table`;
    /// see `schemas/freesewing-table.toml`).
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// Replace an existing database file (and table).
    #[arg(long)]
    pub force: bool,
}

/// Writes the sample database and its key file.
pub fn run(args: Args, output: super::Output) -> Result<()> {
    if args.users == 0 {
        return Err(Error::InvalidArgument {
            name: "--users",
            problem: "must be at least 1".into(),
        });
    }
    if !(0.0..=1.0).contains(&args.messy) {
        return Err(Error::InvalidArgument {
            name: "--messy",
            problem: "must be between 0 and 1".into(),
        });
    }
    for path in std::iter::once(&args.db).chain(&args.table) {
        if path.exists() && !args.force {
            return Err(Error::OutputExists { path: path.clone() });
        }
    }
    let spec = SampleSpec {
        users: args.users,
        seed: args.seed,
        as_of: args.as_of,
        messy: args.messy,
    };
    let mut timings = Timings::default();
    let summary = write_sample(&args.db, &args.key_file, spec, &mut timings)?;
    tracing::info!(
        "wrote {} users and {} sets ({} junk, {} family, {} near-duplicate, {} exact duplicate) to {}",
        summary.users,
        summary.sets,
        summary.junk_sets,
        summary.family_sets,
        summary.near_duplicate_sets,
        summary.exact_duplicate_sets,
        args.db.display()
    );
    let planted = summary.planted;
    tracing::info!(
        "planted bad rows: no_measurements={} undecryptable={} malformed_value={} orphan_set={} \
         unreadable_owner={} (sets of {} unreadable user rows)",
        planted.no_measurements,
        planted.undecryptable,
        planted.malformed_value,
        planted.orphan_set,
        planted.unreadable_owner,
        planted.unreadable_owners
    );
    if let Some(path) = &args.table {
        let (secret, _) = load_secret(Some(&args.key_file))?;
        let key = FieldKey::derive(&secret);
        let export = write_people_table(&args.db, &key, &Catalog::freesewing(), path, args.force)?;
        tracing::info!(
            "wrote {} sets as table rows to {} (left out: {} public, {} undecryptable)",
            export.rows,
            path.display(),
            export.public_sets,
            export.undecryptable_sets
        );
    }
    output.timings(&timings);
    Ok(())
}
