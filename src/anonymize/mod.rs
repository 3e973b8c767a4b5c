//! Anonymization methods, privacy models and the building blocks they share. Each method and each
//! model is one file whose doc comment states its guarantee, its preconditions and its paper.
//!
//! `method` is the seam every method sits behind ([`method::AnonymizationMethod`], with the
//! guarantee each must give); `method/` holds one adapter per method, from a checked dataset to
//! published cells, over these algorithms:
//! - `global`: optimal full-domain generalization with record suppression (lattice search, ARX's
//!   Flash), over `hierarchy` and minimising ARX's Loss metric (`loss`);
//! - `mondrian`: strict multidimensional partitioning (local recoding);
//! - `mdav`: microaggregation in groups of k distinct people (exact, or partitioned for scale),
//!   used by `microaggregation` after `coverage` planning — the FreeSewing release method;
//! - `variance`: spread restoration of the group means of one coverage pattern,
//!   `correlation_fit`: the small patterns' restored rows moved jointly until every column pair's
//!   correlation is its people's, and `calibrate`: each column's released values moved onto its
//!   raw distribution — the last steps of `microaggregation`;
//! - `coding`: top/bottom coding and rounding of numeric columns, as the schema asks.
//!
//! Privacy models besides k-anonymity, as per-class constraints (`model::ClassConstraint`):
//! `ldiversity` and `tcloseness`.
//!
//! `dataset` checks an input table against its schema (and reads its person key, so that k counts
//! people); `engine` runs a method on it for the `anonymize` command (perturb → constraints →
//! method → assemble → risk); `sse` measures the information loss of numeric releases.

pub mod calibrate;
pub mod coding;
pub mod correlation_fit;
pub mod coverage;
pub mod dataset;
pub mod engine;
pub mod global;
pub mod group_noise;
pub mod hierarchy;
pub mod k_anonymity;
pub mod ldiversity;
pub mod loss;
pub mod mdav;
pub mod method;
pub mod microaggregation;
pub mod model;
pub mod mondrian;
pub mod output;
#[cfg(test)]
mod properties;
pub mod sse;
pub mod tcloseness;
pub mod variance;
