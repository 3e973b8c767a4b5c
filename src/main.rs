//! The `anonpub` binary: parse the command line, run it, turn the outcome into an exit code.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    anonpub::interrupt::install();
    let cli = anonpub::cli::Cli::parse();
    match anonpub::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
