//! The command line: one file per subcommand, each opening with its long help.
//!
//! `main` parses with clap and calls [`run`]; every subcommand returns `Ok(())` on success or an
//! [`Error`](crate::Error) whose exit code tells CI what happened (1 a check failed, 2 bad input).
//!
//! Diagnostics go to stderr in two forms: log lines (`tracing`), which carry counts, parameters
//! and timings only, and progress bars (`indicatif`) for long stages, drawn only when stderr is a
//! terminal so that CI logs and pipes stay clean. Stages report progress and timings to an
//! [`Observer`]; [`Console`] is the command line's, and the only place that knows `indicatif`.

pub mod anonymize;
pub mod plan_args;
pub mod publish;
pub mod risk;
pub mod sample;
pub mod tabulate;
pub mod verify;

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::level_filters::LevelFilter;

use crate::error::Result;
use crate::observe::{Observer, Progress};
use crate::timings::Timings;

/// Publish an anonymized open dataset of body measurements from a private database.
#[derive(Debug, Parser)]
#[command(name = "anonpub", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    /// The subcommand to run.
    pub command: Command,
    /// Print nothing but errors: no log lines, no progress bars.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also log the details of each stage (sizes, parameters; never values).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Print the wall-clock time of each stage to stderr (for benchmarks).
    #[arg(long, global = true)]
    pub timings: bool,
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
    /// Assess the re-identification risk of a table (raw or released), or with --attacks run the
    /// simulated attacks against the release a private source would give.
    Risk(risk::Args),
    /// Anonymize a table described by a dataset schema (global recoding, Mondrian or MDAV) into
    /// the verifiable release `publish` writes.
    Anonymize(anonymize::Args),
    /// Publish a frequency table (people per cell) of any table, with small cells protected.
    Tabulate(tabulate::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let output = Output {
        quiet: cli.quiet,
        verbose: cli.verbose,
        timings: cli.timings,
    };
    output.init_logging();
    let console = Console::new(output);
    let outcome = match cli.command {
        Command::Sample(args) => sample::run(args, output),
        Command::Publish(args) => publish::run(args, &console),
        Command::Verify(args) => verify::run(args, &console),
        Command::Risk(args) => risk::run(args, &console),
        Command::Anonymize(args) => anonymize::run(args, &console),
        Command::Tabulate(args) => tabulate::run(args, &console),
    };
    console.print_timings();
    outcome
}

/// The command line's [`Observer`]: progress bars on a terminal, and the stage timings that
/// `--timings` prints when the command ends.
pub struct Console {
    output: Output,
    timings: Mutex<Timings>,
}

impl Console {
    /// An observer for a command run with these output flags; the wall clock starts now.
    pub fn new(output: Output) -> Self {
        Console {
            output,
            timings: Mutex::new(Timings::default()),
        }
    }

    /// A progress bar for a stage that takes an `indicatif` bar itself (see [`Output::bar`]).
    pub fn bar(&self, stage: &'static str, total: u64) -> ProgressBar {
        self.output.bar(stage, total)
    }

    /// Prints the timing lines with `--timings`, if any stage ran.
    fn print_timings(&self) {
        let timings = self.lock();
        if timings.stages().next().is_some() {
            self.output.timings(&timings);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timings> {
        self.timings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Observer for Console {
    fn stage_took(&self, stage: &'static str, duration: Duration) {
        self.lock().record(stage, duration);
    }

    fn progress(&self, stage: &'static str, total: u64) -> Box<dyn Progress> {
        Box::new(Bar(self.output.bar(stage, total)))
    }

    fn shows_progress(&self) -> bool {
        self.output.shows_progress()
    }
}

/// An `indicatif` bar as a stage's [`Progress`]; cleared from the terminal when the stage ends.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn advance(&self, steps: u64) {
        self.0.inc(steps);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// How chatty stderr is: `--quiet`, the default, or `--verbose`.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--quiet`: errors only.
    pub quiet: bool,
    /// `--verbose`: also details of each stage.
    pub verbose: bool,
    /// `--timings`: one line per stage when the command ends.
    pub timings: bool,
}

impl Output {
    /// The most detailed log level shown.
    pub fn level(&self) -> LevelFilter {
        if self.quiet {
            LevelFilter::ERROR
        } else if self.verbose {
            LevelFilter::DEBUG
        } else {
            LevelFilter::INFO
        }
    }

    /// Prints stage timings when `--timings` was given.
    pub fn timings(&self, timings: &crate::timings::Timings) {
        if self.timings {
            eprint!("{}", timings.report());
        }
    }

    /// Sends log lines to stderr without timestamps (they would make two runs' logs differ for
    /// no reason), with colours only on a terminal. Logging twice (as tests do) is harmless.
    fn init_logging(&self) {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(self.level())
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .without_time()
            .try_init();
    }

    /// Whether progress bars are drawn: not with `--quiet`, and only on a terminal. Lets a stage
    /// skip counting its steps when nobody will see the bar.
    pub fn shows_progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// A progress bar for a stage of `total` steps. It draws on stderr only when stderr is a
    /// terminal and `--quiet` is not set; otherwise it is hidden and costs nothing.
    pub fn bar(&self, stage: &'static str, total: u64) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        // `wide_bar` takes what the terminal width leaves, so the line never wraps.
        let style = ProgressStyle::with_template("{msg:>18} [{wide_bar}] {pos}/{len} ({eta} left)")
            .expect("the template is valid")
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(stage);
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}

/// Parses `--as-of`.
pub fn parse_date(text: &str) -> std::result::Result<crate::dates::Date, String> {
    crate::dates::Date::parse(text).ok_or_else(|| "expected a date as YYYY-MM-DD".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_and_verbose_set_the_log_level() {
        let level = |quiet, verbose| {
            Output {
                quiet,
                verbose,
                timings: false,
            }
            .level()
        };
        assert_eq!(level(true, false), LevelFilter::ERROR);
        assert_eq!(level(false, false), LevelFilter::INFO);
        assert_eq!(level(false, true), LevelFilter::DEBUG);
        assert!(Output {
            quiet: true,
            verbose: false,
            timings: false,
        }
        .bar("stage", 10)
        .is_hidden());
    }

    #[test]
    fn quiet_and_verbose_exclude_each_other() {
        let parsed = Cli::try_parse_from(["anonpub", "--quiet", "--verbose", "verify", "x"]);
        assert!(parsed.is_err());
    }
}
