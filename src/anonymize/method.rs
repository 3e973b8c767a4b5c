//! The seam between the `anonymize` engine and its methods: an [`AnonymizationMethod`] turns the
//! (perturbed) quasi-identifiers of a [`Dataset`] into published cells.
//!
//! One file a method, beside this one in `method/`: [`global`] (full-domain generalization with
//! suppression), [`mondrian`] (strict multidimensional partitioning) and [`mdav`] (coverage-aware
//! MDAV microaggregation, also the entry point of `publish`: [`Microaggregation::release`]). Each
//! file is an adapter: it checks that the columns suit the method, calls the algorithm (in
//! `anonymize/global.rs`, `mondrian.rs`, `microaggregation.rs`, which know nothing of datasets or
//! cells) and formats the result. Adding a method is one new file here plus one arm in
//! [`super::engine::Method::instance`], the one place methods are listed.
//!
//! **The guarantee every method must give** (the engine relies on it and reports it, the
//! property tests check it): in [`MethodResult::cells`], the records not marked in
//! [`MethodResult::suppressed`] form classes of identical quasi-identifier cells, each holding at
//! least `k` distinct **people** ([`MethodInput::persons`]; one person per record without a
//! person key) and accepted by every constraint it was given; every suppressed record shows `*` in
//! every quasi-identifier cell. Row `r` of every column is input row `r`. A method that cannot
//! meet this returns an error and publishes nothing: [`Error::Unsatisfiable`] when the privacy
//! model cannot be met, a file- or flag-naming error when the input does not suit the method.

pub mod global;
pub mod mdav;
pub mod mondrian;

pub use global::GlobalRecoding;
pub use mdav::Microaggregation;
pub use mondrian::StrictMondrian;

use super::dataset::Dataset;
use super::k_anonymity::DistinctPeople;
use super::model::ClassConstraint;
use super::output::Cells;
use crate::error::Result;

#[cfg(doc)]
use crate::error::Error;

/// Precision of class means of columns without a `rounding` step: enough for any measurement,
/// without float residue.
pub const MEAN_STEP: f64 = 1e-6;

/// What a method anonymizes.
#[derive(Debug, Clone, Copy)]
pub struct MethodInput<'a> {
    /// The checked, perturbed table.
    pub dataset: &'a Dataset,
    /// Positions (in `dataset.columns`) of the quasi-identifiers, in schema order.
    pub quasi: &'a [usize],
    /// Fewest distinct people per published class.
    pub k: usize,
}

impl<'a> MethodInput<'a> {
    /// The person of each record (codes of the `person_key` column), or `None` when every record
    /// is its own person.
    pub fn persons(&self) -> Option<&'a [u32]> {
        self.dataset
            .person_key
            .as_ref()
            .map(|key| key.persons.as_slice())
    }

    /// The constraints plus, with a person key, "at least k distinct people": for methods whose
    /// algorithm counts class size in records (which it still must, as people ≤ records).
    pub fn with_people<'c>(
        &self,
        constraints: &[&'c dyn ClassConstraint],
        people: &'c Option<DistinctPeople<'_>>,
    ) -> Vec<&'c dyn ClassConstraint> {
        let mut all = constraints.to_vec();
        all.extend(people.as_ref().map(|p| p as &dyn ClassConstraint));
        all
    }

    /// The "at least k distinct people" constraint, with a person key.
    pub fn people_constraint(&self) -> Option<DistinctPeople<'a>> {
        self.persons()
            .map(|persons| DistinctPeople::new(persons, self.k))
    }
}

/// An anonymization method: see the module documentation for what [`Self::run`] must guarantee.
pub trait AnonymizationMethod {
    /// The method's name, as on the command line (`--method`) and in `report.json`.
    fn name(&self) -> &'static str;

    /// Anonymizes the quasi-identifiers so that every published class holds at least
    /// `input.k` distinct people and is accepted by every constraint.
    fn run(
        &self,
        input: &MethodInput<'_>,
        constraints: &[&dyn ClassConstraint],
    ) -> Result<MethodResult>;
}

/// The published cells of the quasi-identifiers and what the method reports about them.
#[derive(Debug, Clone, Default)]
pub struct MethodResult {
    /// Per quasi-identifier (in order): its cells and whether they are numbers.
    pub cells: Vec<(Cells, bool)>,
    /// Per record: whether it is suppressed (`*` in every column).
    pub suppressed: Vec<bool>,
    /// Released numeric quasi-identifiers, row-major (NaN = not released), for SSE; `None` when a
    /// quasi-identifier is not released as a number.
    pub released_numbers: Option<Vec<f64>>,
    /// Generalization loss in [0, 1] (ARX's Loss metric), where it applies.
    pub loss: Option<f64>,
    /// Global recoding: the largest share of records it could suppress.
    pub suppression_limit: Option<f64>,
    /// Global recoding: the generalization level per quasi-identifier.
    pub levels: Option<Vec<usize>>,
    /// Mondrian: number of partitions.
    pub partitions: Option<usize>,
    /// Mondrian: how numeric quasi-identifiers are published.
    pub numeric_release: Option<mondrian::NumericRelease>,
    /// MDAV: number of groups.
    pub groups: Option<usize>,
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::super::engine::{Method, NumericRelease, Request};

    #[test]
    fn every_listed_method_reports_its_command_line_name() {
        let request = Request {
            method: Method::Global,
            k: 2,
            suppression_limit: 0.0,
            l_diversity: None,
            t_closeness: None,
            numeric: NumericRelease::Ranges,
            mdav_exact_limit: 100,
        };
        for method in Method::value_variants() {
            let flag = method.to_possible_value().expect("not hidden");
            assert_eq!(method.instance(&request).name(), flag.get_name());
        }
    }
}
