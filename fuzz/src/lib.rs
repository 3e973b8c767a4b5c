//! The parsers anonpub runs on untrusted input, compiled from anonpub's own source files.
//!
//! Depending on the `anonpub` crate itself would build polars (and everything else the release
//! writer needs) with fuzzing instrumentation: 15+ minutes on two cores, for code no target
//! reaches. The modules below are the real files under `src/`, included by path, so the fuzzed
//! code is byte for byte the code that ships; they depend only on each other and on the crates
//! listed in this package's Cargo.toml. A new dependency of one of these files shows up here as
//! a build error in CI's fuzz step.

#![forbid(unsafe_code)]

#[path = "../../src/anonymize/hierarchy.rs"]
pub mod hierarchy;

/// The release config checks k and its thresholds through the privacy models' files.
#[path = "../../src/anonymize"]
pub mod anonymize {
    pub mod k_anonymity;
    pub mod ldiversity;
    pub mod model;
}

#[path = "../../src/config.rs"]
pub mod config;

/// The release config's `[sizechart]` section.
#[path = "../../src/dp"]
pub mod dp {
    pub mod config;
}

/// The release config's `[tabulate]` section.
#[path = "../../src/tabulate"]
pub mod tabulate {
    pub mod config;
}

#[path = "../../src/extract/crypto.rs"]
pub mod crypto;

#[path = "../../src/error.rs"]
pub mod error;

#[path = "../../src/fast_hash.rs"]
pub mod fast_hash;

#[path = "../../src/gates.rs"]
pub mod gates;

#[path = "../../src/measurements.rs"]
pub mod measurements;

#[path = "../../src/schema.rs"]
pub mod schema;

/// The release config names the linkage attacker it checks against.
#[path = "../../src/risk"]
pub mod risk {
    pub mod attack_settings;
    pub mod linkage;
    pub mod nearest;
}

#[path = "../../src/table.rs"]
pub mod table;

pub use error::{Error, Result};
