//! Extraction: reading people's measurements out of a source.
//!
//! Sources are siblings behind one seam ([`source::Source`]): [`freesewing_v3`] reads
//! FreeSewing's backend database (SQLite, fields encrypted at rest with the scheme in
//! [`crypto`]); [`person_table`] reads a person-keyed CSV or Parquet table described by a dataset
//! schema. [`table`] is the strict CSV/Parquet reader both the table source and `anonymize` use.

pub mod access_log;
pub mod crypto;
pub mod freesewing_v3;
pub mod person_table;
pub mod source;
pub mod table;
