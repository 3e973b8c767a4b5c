//! anonpub turns a private database of body measurements into a safe, useful open dataset.
//!
//! The release pipeline, in the order `anonpub publish` runs it ([`pipeline`] runs one validated
//! [`pipeline::Plan`] through these stages, one module each):
//! 1. [`extract`] reads the source behind one seam ([`extract::source::Source`]): a FreeSewing v3
//!    SQLite database (decrypting only what is needed) or a person-keyed CSV/Parquet table;
//! 2. [`select`] keeps consented, active, recently seen people and their private, plausible sets,
//!    by the same rules for every source, counting every exclusion by reason;
//! 3. [`anonymize`] groups records so that each released row is shared by k distinct people
//!    (MDAV microaggregation after coverage planning; the privacy models are in
//!    [`anonymize::model`]);
//! 4. [`deidentify`] keeps measurement columns only and draws fresh random record ids;
//! 5. [`risk`] measures the re-identification risk of the released rows (and, for the internal
//!    report only, utility and a linkage attack against the raw data), and [`gates`] stops the
//!    release if a configured threshold fails;
//! 6. [`publish`] writes the files of the release contract ([`release`]) into a release
//!    directory, atomically ([`atomic`]);
//! 7. [`verify`] re-reads a release through [`release`] and checks it, for maintainers and CI.
//!
//! Around the stages: [`config`] is the release configuration, validated once; [`ledger`] is the
//! data holder's private record of earlier releases; [`observe`] is how
//! stages report progress and timings without knowing about terminals; [`cli`] is the command
//! line, the only place that knows flag names and progress bars.
//!
//! The same [`anonymize`] building blocks serve any table described by a dataset schema
//! ([`schema`]): `publish --source table` (and `anonpub anonymize`, a front to it that names the
//! method's settings as flags) reads CSV or Parquet ([`extract::table`]), applies global
//! recoding, Mondrian or MDAV under k-anonymity, l-diversity and t-closeness, and writes the same
//! verifiable release through [`publish::generalized`]; `anonpub risk` assesses any
//! table with [`risk`]. Beside the microdata, [`dp`] computes differentially private aggregates
//! (a size chart, with its budget, written into the release when the config has `[sizechart]`)
//! and [`tabulate`] frequency tables of people with small cells protected (`anonpub tabulate`,
//! written by [`publish::frequency`]).
//!
//! Errors ([`Error`]) name the file, table, row or field and never a person's value.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod anonymize;
pub mod atomic;
pub mod cli;
pub mod config;
pub mod dates;
pub mod deidentify;
pub mod dp;
pub mod error;
pub mod extract;
pub mod fast_hash;
pub mod gates;
pub mod interrupt;
pub mod ledger;
pub mod measurements;
pub mod observe;
pub mod pipeline;
pub mod publish;
pub mod release;
pub mod risk;
pub mod sample;
pub mod schema;
pub mod select;
pub mod table;
pub mod tabulate;
pub mod timings;
pub mod verify;

pub use error::{Error, Result};
