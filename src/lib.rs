//! anonpub turns a private database of body measurements into a safe, useful open dataset.
//!
//! The pipeline, one module per stage:
//! 1. [`extract`] reads the source (FreeSewing v3 SQLite, decrypting only what is needed);
//! 2. [`select`] keeps consented, active, recently seen people and plausible sets, counting every
//!    exclusion by reason;
//! 3. [`anonymize`] groups records so that each released row is shared by k distinct people;
//! 4. [`deidentify`] keeps measurement columns only and draws fresh random record ids;
//! 5. [`publish`] writes CSV, Parquet and metadata into a release directory atomically;
//! 6. [`verify`] re-reads a release and checks it, for maintainers and CI.
//!
//! The same [`anonymize`] building blocks serve any table described by a dataset schema
//! ([`schema`]): `anonpub anonymize` reads CSV or Parquet ([`extract::table`]), applies global
//! recoding, Mondrian or MDAV under k-anonymity, l-diversity and t-closeness, and writes the result
//! with [`publish::tabular`].
//!
//! Errors ([`Error`]) name the file, table, row or field and never a person's value.

#![forbid(unsafe_code)]

pub mod anonymize;
pub mod cli;
pub mod config;
pub mod dates;
pub mod deidentify;
pub mod dp;
pub mod error;
pub mod extract;
pub mod fast_hash;
pub mod interrupt;
pub mod measurements;
pub mod publish;
pub mod risk;
pub mod sample;
pub mod schema;
pub mod select;
pub mod table;
pub mod tabulate;
pub mod timings;
pub mod verify;

pub use error::{Error, Result};
