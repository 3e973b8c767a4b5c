//! The command line: one file per subcommand, each opening with its long help.
//!
//! `main` parses with clap and calls [`run`]; every subcommand returns `Ok(())` on success or an
//! [`Error`](crate::Error) whose exit code tells CI what happened (1 a check failed, 2 bad input).

pub mod anonymize;
pub mod publish;
pub mod sample;
pub mod verify;

use clap::{Parser, Subcommand};

use crate::error::Result;

/// Publish an anonymized open dataset of body measurements from a private database.
#[derive(Debug, Parser)]
#[command(name = "anonpub", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a synthetic FreeSewing v3 database (and its key) for demos and tests.
    Sample(sample::Args),
    /// Select, de-identify and anonymize a database into a release directory.
    Publish(publish::Args),
    /// Re-check a release directory; exit 1 if any check fails.
    Verify(verify::Args),
    /// Anonymize a table described by a dataset schema (global recoding, Mondrian or MDAV).
    Anonymize(anonymize::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let output = Output { quiet: cli.quiet };
    match cli.command {
        Command::Sample(args) => sample::run(args, output),
        Command::Publish(args) => publish::run(args, output),
        Command::Verify(args) => verify::run(args, output),
        Command::Anonymize(args) => anonymize::run(args, output),
    }
}

/// Where human-readable progress goes: stderr, unless `--quiet`.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub quiet: bool,
}

impl Output {
    /// Prints a progress line; callers pass counts and parameters only, never values.
    pub fn note(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

/// Parses `--as-of`.
pub fn parse_date(text: &str) -> std::result::Result<crate::dates::Date, String> {
    crate::dates::Date::parse(text).ok_or_else(|| "expected a date as YYYY-MM-DD".to_string())
}
