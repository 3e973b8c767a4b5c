//! The parsers anonpub runs on untrusted input, compiled from anonpub's own source files.
//!
//! Depending on the `anonpub` crate itself would build polars (and everything else the release
//! writer needs) with fuzzing instrumentation: 15+ minutes on two cores, for code no target
//! reaches. The modules below are the real files under `src/`, included by path, so the fuzzed
//! code is byte for byte the code that ships; they depend only on each other and on the crates
//! listed in this package's Cargo.toml. A new dependency of one of these files shows up here as
//! a build error in CI's fuzz step. The release config's parser reaches into every section's
//! settings (methods, log filters, attacks), far more than these files: its fuzz corpus is
//! replayed, and mutated, by the unit tests of `src/config.rs` instead.

#![forbid(unsafe_code)]

#[path = "../../src/anonymize/hierarchy.rs"]
pub mod hierarchy;

#[path = "../../src/extract/crypto.rs"]
pub mod crypto;

#[path = "../../src/error.rs"]
pub mod error;

#[path = "../../src/fast_hash.rs"]
pub mod fast_hash;

#[path = "../../src/measurements.rs"]
pub mod measurements;

#[path = "../../src/schema.rs"]
pub mod schema;

pub use error::{Error, Result};
