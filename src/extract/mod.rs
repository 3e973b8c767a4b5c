//! Extraction: reading people's measurements out of a source database.
//!
//! `freesewing_v3` reads FreeSewing's current backend (SQLite, fields encrypted at rest with the
//! scheme in `crypto`); `table` reads any CSV or Parquet table described by a dataset schema.

pub mod crypto;
pub mod freesewing_v3;
pub mod table;
