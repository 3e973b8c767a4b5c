//! Anonymization methods and the building blocks they share.
//!
//! - `coverage`: which measurements a record has is identifying; plan patterns shared by k people.
//! - `mdav`: microaggregation in groups of k distinct people (exact, or partitioned for scale).
//! - `microaggregation`: the default FreeSewing release method built from the two above.
//! - `hierarchy`, `loss`, `global`: full-domain generalization with an optimal lattice search
//!   (ARX's Flash) minimising ARX's Loss metric.

pub mod coverage;
pub mod global;
pub mod hierarchy;
pub mod loss;
pub mod mdav;
pub mod microaggregation;
