//! The flags `publish` and `risk --attacks` share: where the people come from and how they are
//! released. They parse into a [`Request`] and then a [`Plan`]; only this file knows their names.

use std::path::PathBuf;

use crate::cli::parse_date;
use crate::config::{ReleaseConfig, ValidConfig};
use crate::dates::Date;
use crate::error::{Error, Result};
use crate::pipeline::{Plan, Request, SourcePlan};

/// The sources `--source` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// A FreeSewing v3 backend database (`--db`).
    #[value(name = "freesewing-v3")]
    FreeSewingV3,
    /// A person-keyed CSV or Parquet table (`--input`, `--schema`).
    Table,
}

/// The source and release flags.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Where the people come from [default: freesewing-v3].
    #[arg(long, value_enum)]
    pub source: Option<SourceKind>,
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
    /// Release date, today or earlier; the retention window counts back from it.
    #[arg(long, value_parser = parse_date)]
    pub as_of: Option<Date>,
    /// Release configuration (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Minimum distinct people per released row (overrides the config): at least 2, and below 5
    /// only when the config lowers `[thresholds] min_k` to it.
    #[arg(long)]
    pub k: Option<usize>,
    /// Seed for record ids and the attacks' draws (default: random, recorded in report.json).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The private release ledger (JSON, 0600, outside the release): with a `[sizechart]`,
    /// `sizechart.lifetime_epsilon` is checked against it first and the chart's ε recorded in it
    /// before the release is moved into place (locked against other runs throughout); it also gives the previous release's group membership to
    /// the differencing check and receives this release's (and keeps a table's group-noise key).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
}

/// Config keys a command's own flags set, each with the flag that set it, so that an error on
/// the key names what was typed.
pub type FlagKeys = Vec<(&'static str, &'static str)>;

/// A [`Request`] whose configuration is not checked yet.
struct Asked {
    source: SourcePlan,
    as_of: Date,
    config: ReleaseConfig,
    seed: Option<u64>,
    ledger: Option<PathBuf>,
}

impl PlanArgs {
    /// Resolves the flags and the config into a checked plan.
    pub fn plan(self) -> Result<Plan> {
        self.plan_with(Vec::new(), |_| {})
    }

    /// [`PlanArgs::plan`] with a command's own flags applied to the config first (`overrides`),
    /// the configuration then checked once ([`ValidConfig::new`]); an error on a key a flag set
    /// (`flags`, and `k` for `--k`) names the flag.
    pub fn plan_with(
        self,
        mut flags: FlagKeys,
        overrides: impl FnOnce(&mut ReleaseConfig),
    ) -> Result<Plan> {
        if self.k.is_some() {
            flags.push(("k", "--k"));
        }
        let flag_of = |name: &'static str| {
            flags
                .iter()
                .find(|(key, _)| *key == name)
                .map_or(name, |(_, flag)| flag)
        };
        let config_path = self.config.clone();
        let Asked {
            source,
            as_of,
            mut config,
            seed,
            ledger,
        } = self.request()?;
        overrides(&mut config);
        let config = ValidConfig::new(config).map_err(|(field, problem)| {
            match config_path.as_deref().filter(|_| flag_of(field) == field) {
                Some(path) => Error::bad_file(path, Some(format!("field `{field}`")), problem),
                None => Error::InvalidArgument {
                    name: flag_of(field),
                    problem,
                },
            }
        })?;
        Plan::new(Request {
            source,
            as_of,
            config,
            seed,
            ledger,
        })
        .map_err(|error| match error {
            Error::InvalidArgument { name, problem } => Error::InvalidArgument {
                name: flag_of(name),
                problem,
            },
            other => other,
        })
    }

    /// What the flags ask for, the config as the file says with `--k` applied (not yet
    /// checked).
    fn request(self) -> Result<Asked> {
        let kind = self.source.unwrap_or(SourceKind::FreeSewingV3);
        let source = match kind {
            SourceKind::FreeSewingV3 => {
                refuse_with(
                    kind,
                    [
                        ("--input", self.input.is_some()),
                        ("--schema", self.schema.is_some()),
                    ],
                )?;
                SourcePlan::FreeSewingV3 {
                    db: required(self.db, "--db", "the FreeSewing v3 database")?,
                    key_file: self.key_file,
                }
            }
            SourceKind::Table => {
                refuse_with(kind, [("--db", self.db.is_some())])?;
                SourcePlan::Table {
                    input: required(self.input, "--input", "the CSV or Parquet table")?,
                    schema: required(self.schema, "--schema", "the table's dataset schema")?,
                    key_file: self.key_file,
                }
            }
        };
        let as_of = self.as_of.ok_or_else(|| Error::InvalidArgument {
            name: "--as-of",
            problem: "the release date is needed: the retention window counts back from it".into(),
        })?;
        refuse_future(as_of, now_ms())?;
        let mut config = match &self.config {
            Some(path) => ReleaseConfig::load(path)?,
            None => ReleaseConfig::default(),
        };
        if let Some(k) = self.k {
            config.k = k;
        }
        Ok(Asked {
            source,
            as_of,
            config,
            seed: self.seed,
            ledger: self.ledger,
        })
    }

    /// The flags given, by name, for a command that takes none of them.
    pub fn given(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("--source", self.source.is_some()),
            ("--db", self.db.is_some()),
            ("--key-file", self.key_file.is_some()),
            ("--as-of", self.as_of.is_some()),
            ("--config", self.config.is_some()),
            ("--k", self.k.is_some()),
            ("--seed", self.seed.is_some()),
            ("--ledger", self.ledger.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
    }
}

/// Milliseconds since the epoch on this machine's clock.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// Refuses a release date later than today (UTC, at `now_ms`): the retention window would
/// count back from a day that has not come, keeping people the data holder must by then have
/// dropped, and the release would claim a state of the data nobody has seen. The clock only
/// refuses; it never enters a release, whose dates all come from `--as-of`.
fn refuse_future(as_of: Date, now_ms: i64) -> Result<()> {
    if as_of.start_ms() > now_ms {
        return Err(Error::InvalidArgument {
            name: "--as-of",
            problem: format!(
                "{as_of} is in the future (later than today on this machine's clock): a release \
                 describes the data as they are on a day that has come"
            ),
        });
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_date_after_today_is_refused_and_today_is_not() {
        let today = Date::parse("2026-11-01").unwrap();
        let noon = today.start_ms() + 12 * 3_600_000;
        assert!(refuse_future(today, noon).is_ok());
        assert!(refuse_future(Date::parse("2020-02-29").unwrap(), noon).is_ok());
        let refused = refuse_future(Date::parse("2026-11-02").unwrap(), noon)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("--as-of") && refused.contains("2026-11-02 is in the future"),
            "{refused}"
        );
    }
}
