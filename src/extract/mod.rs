//! Extraction: reading people's measurements out of a source database.
//!
//! `freesewing_v3` reads FreeSewing's current backend (SQLite, fields encrypted at rest with the
//! scheme in `crypto`).

pub mod crypto;
pub mod freesewing_v3;
