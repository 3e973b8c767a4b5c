//! The method seam of `publish`: how the eligible records become the groups a release
//! publishes. Each method is a file of its own implementing [`PublishMethod`] and one line of
//! [`METHODS`]; the release config's `[method] name` picks it.
//!
//! A method reads the eligible records in the shape it needs ([`Reads`]: the numeric
//! measurement sets of any source, or the cells of a person-keyed table whose schema carries
//! hierarchies) and returns [`Groups`]: the released rows, the classes of identical released
//! rows, the smallest class's distinct people (k achieved), what it suppressed, and the privacy
//! models' figures it measured on the released rows. Everything after that is one path in
//! [`super`]: the privacy models judged against what was asked, the risk of the released rows,
//! the gates, the report and the release files.

mod generalizing;
mod mdav;

use crate::anonymize::engine::Method;
use crate::error::Result;
use crate::observe::Observer;
use crate::release::report::{AnonymizationCounts, GeneralizationReport, ReleaseParameters};
use crate::risk::ClassHistogram;

use super::generalize::{Cells, ReleasedCells};
use super::{Plan, ReleaseKeys, Selected};
pub use generalizing::Generalizing;
pub(super) use mdav::noise;
pub use mdav::{Anonymized, Mdav};

/// Every method `publish` runs, one line each.
pub const METHODS: [&dyn PublishMethod; 3] = [
    &Mdav,
    &Generalizing {
        method: Method::Global,
        name: "global",
    },
    &Generalizing {
        method: Method::Mondrian,
        name: "mondrian",
    },
];

/// A release method of `publish`. An implementation states its guarantee in its own file: every
/// class of identical released rows holds at least k distinct people, and the figures it
/// reports are those of the released rows.
pub trait PublishMethod: Sync {
    /// Its name, as `report.json` states it.
    fn name(&self) -> &'static str;
    /// The `[method] name` that picks it.
    fn method(&self) -> Method;
    /// The shape of the eligible records it reads.
    fn reads(&self) -> Reads;
    /// Forms the groups of the release from the eligible records.
    fn groups(
        &self,
        eligible: Eligible<'_>,
        plan: &Plan,
        keys: &ReleaseKeys,
        observer: &dyn Observer,
    ) -> Result<Groups>;
}

/// The shape of the eligible records a method reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Numeric measurement sets, one row per set, from any source (`select`).
    Measurements,
    /// The text cells of a person-keyed table's eligible rows, with the schema's hierarchies.
    Cells,
}

/// The eligible records, in the shape the method reads.
pub enum Eligible<'a> {
    /// The selected measurement sets.
    Measurements(&'a Selected),
    /// The eligible rows of a person-keyed table.
    Cells(Cells),
}

/// What a method made of the eligible records.
pub struct Groups {
    /// The released rows.
    pub released: Released,
    /// Distinct people in the smallest class of identical released rows.
    pub k_achieved: usize,
    /// The counts the report publishes.
    pub counts: AnonymizationCounts,
    /// The classes of identical released rows, from which the risk is measured.
    pub classes: ClassHistogram,
    /// Distinct l-diversity of the released rows (the fewest distinct values of a sensitive
    /// column in a class), when the schema has a sensitive column.
    pub l: Option<usize>,
    /// t-closeness of the released rows, when it was asked.
    pub t: Option<f64>,
    /// The parameters `report.json` records.
    pub parameters: ReleaseParameters,
    /// The generalization entry of `report.json`, for a generalizing method.
    pub generalization: Option<GeneralizationReport>,
}

/// The released rows, as the method made them.
pub enum Released {
    /// Microaggregated measurement sets (written as numbers, one column per measurement).
    Measurements(Box<Anonymized>),
    /// Generalized cells, sorted, with their record ids.
    Cells(ReleasedCells),
}

/// The method the plan names.
pub fn planned(plan: &Plan) -> &'static dyn PublishMethod {
    let name = plan.config.method.name;
    METHODS
        .into_iter()
        .find(|method| method.method() == name)
        .expect("every [method] name has a method in METHODS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_name_has_one_method() {
        for &name in <Method as clap::ValueEnum>::value_variants() {
            let found: Vec<&str> = METHODS
                .iter()
                .filter(|method| method.method() == name)
                .map(|method| method.name())
                .collect();
            assert_eq!(found.len(), 1, "{name:?}: {found:?}");
            let spelled = serde_json::to_value(name).unwrap();
            assert_eq!(
                spelled, found[0],
                "report.json spells it as the config does"
            );
        }
    }
}
