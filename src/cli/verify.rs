//! anonpub verify DIR [--k N]
//!
//! Re-reads a release and checks: all files present; SHA256SUMS matches; the CSV and the Parquet
//! file hold the same data; only `record_id` and known measurement columns; record ids are fresh
//! UUIDs; no cell looks like an email address, URL, phone number or IP address; every group of
//! identical released rows has at least k rows (k from --k, else from report.json); values lie in
//! their plausible ranges; and every publish threshold recorded in report.json that the released
//! rows can measure (k, prosecutor risk, suppressed share) still holds.
//!
//! Exit codes: 0 every check passed; 1 at least one check failed; 2 the release directory cannot
//! be read.

use std::path::PathBuf;

use crate::cli::Output;
use crate::error::{Error, Result};
use crate::measurements::Catalog;
use crate::verify::verify_release;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The release directory.
    pub dir: PathBuf,
    /// Required group size (default: k_requested from report.json).
    #[arg(long)]
    pub k: Option<usize>,
}

pub fn run(args: Args, _output: Output) -> Result<()> {
    if args.k == Some(0) {
        return Err(Error::InvalidArgument {
            name: "--k",
            problem: "must be at least 1".into(),
        });
    }
    let checks = verify_release(&args.dir, args.k, &Catalog::freesewing())?;
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(5);
    println!("{:<width$}  status  detail", "check");
    for check in &checks {
        println!(
            "{:<width$}  {:<6}  {}",
            check.name,
            if check.passed { "ok" } else { "FAIL" },
            check.detail
        );
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    if failed > 0 {
        return Err(Error::VerifyFailed {
            failed,
            total: checks.len(),
        });
    }
    println!("all {} checks passed", checks.len());
    Ok(())
}
