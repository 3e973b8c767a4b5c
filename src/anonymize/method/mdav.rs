//! `--method mdav` and the `publish` method: coverage-aware MDAV microaggregation in groups of k
//! distinct people ([`crate::anonymize::microaggregation`]).
//!
//! Two entry points on [`Microaggregation`], one engine underneath (coverage planning, then MDAV
//! within each coverage pattern, counting people through [`MeasurementTable::person`]):
//! - [`Microaggregation::release`], the release of people's measurement sets (`publish`): the
//!   pattern's spread restored, values kept within their plausible ranges;
//! - the [`AnonymizationMethod`] of `anonymize`: plain group means, groups failing a constraint
//!   merged, each record its own person unless the schema has a `person_key`.
//!
//! **Guarantee** (the [`super`] seam's): every released row is identical to the rows of at least
//! k distinct people (its group); records whose coverage pattern no k people share, or whose
//! pattern fails a constraint as a whole, are suppressed.

use super::{AnonymizationMethod, MethodInput, MethodResult, MEAN_STEP};
use crate::anonymize::dataset::code_numbers;
use crate::anonymize::k_anonymity::DistinctPeople;
use crate::anonymize::microaggregation::{
    microaggregate, microaggregate_constrained, Microaggregated, ReleaseMethod,
};
use crate::anonymize::model::ClassConstraint;
use crate::anonymize::output::Cells;
use crate::error::{Error, Result};
use crate::observe::Progress;
use crate::table::MeasurementTable;

/// Coverage masks of MDAV hold one bit per quasi-identifier.
const MAX_COLUMNS: usize = 64;

/// MDAV microaggregation; `exact_limit` is the largest cell MDAV runs exactly on (see `mdav.rs`).
#[derive(Debug, Clone, Copy)]
pub struct Microaggregation {
    /// Exact MDAV runs on cells of at most this many records.
    pub exact_limit: usize,
}

impl Microaggregation {
    /// The release method of `publish`: `table` (one row per measurement set, with its person)
    /// microaggregated in groups of `method.k` people, spread restored. `progress` advances by
    /// one per record placed in a group.
    pub fn release(
        table: &MeasurementTable,
        method: &ReleaseMethod,
        progress: &dyn Progress,
    ) -> Microaggregated {
        microaggregate(table, method, progress)
    }
}

impl AnonymizationMethod for Microaggregation {
    fn name(&self) -> &'static str {
        "mdav"
    }

    fn run(
        &self,
        input: &MethodInput<'_>,
        constraints: &[&dyn ClassConstraint],
    ) -> Result<MethodResult> {
        let (dataset, quasi) = (input.dataset, input.quasi);
        if let Some(&text) = quasi
            .iter()
            .find(|&&c| dataset.columns[c].numbers.is_none())
        {
            return Err(dataset.schema_error(
                text,
                "mdav needs numeric quasi-identifiers; use --method global or mondrian for text columns",
            ));
        }
        if quasi.len() > MAX_COLUMNS {
            return Err(Error::InvalidArgument {
                name: "--method mdav",
                problem: format!("at most {MAX_COLUMNS} quasi-identifiers"),
            });
        }
        let rows = dataset.rows();
        let persons = input.persons();
        let people = persons.map_or(rows, |p| DistinctPeople::count(p.iter().copied()));
        if people < input.k {
            let counted = if persons.is_some() {
                "people"
            } else {
                "records"
            };
            return Err(Error::Unsatisfiable {
                problem: format!("{people} {counted} cannot form a group of k = {}", input.k),
            });
        }
        let names = quasi
            .iter()
            .map(|&c| dataset.columns[c].spec.name.clone())
            .collect();
        let numbers: Vec<&Vec<f64>> = quasi
            .iter()
            .map(|&c| {
                dataset.columns[c]
                    .numbers
                    .as_ref()
                    .expect("checked numeric")
            })
            .collect();
        let mut table = MeasurementTable::new(names);
        let mut row = vec![0.0; quasi.len()];
        for record in 0..rows {
            for (value, column) in row.iter_mut().zip(&numbers) {
                *value = column[record];
            }
            // Without a person key, one person per record: u32 holds any table MDAV can
            // process in memory.
            let person = match persons {
                Some(persons) => persons[record],
                None => u32::try_from(record).expect("fewer than 2^32 records"),
            };
            table.push(person, &row);
        }
        let rounding: Vec<f64> = quasi
            .iter()
            .map(|&c| dataset.columns[c].spec.rounding.unwrap_or(MEAN_STEP))
            .collect();
        let aggregated = microaggregate_constrained(
            &table,
            input.k,
            self.exact_limit,
            &rounding,
            constraints,
            &crate::observe::Silent,
        );
        let width = quasi.len();
        let mut released = vec![f64::NAN; rows * width];
        let mut suppressed = vec![true; rows];
        for (index, &record) in aggregated.source.iter().enumerate() {
            released[record * width..(record + 1) * width]
                .copy_from_slice(&aggregated.values[index * width..(index + 1) * width]);
            suppressed[record] = false;
        }
        let cells = (0..width)
            .map(|d| {
                let coded = code_numbers((0..rows).map(|r| released[r * width + d]));
                let cells = Cells::suppressible(coded.values, &coded.codes, &suppressed);
                (cells, true)
            })
            .collect();
        Ok(MethodResult {
            cells,
            suppressed,
            groups: Some(aggregated.groups),
            released_numbers: Some(released),
            ..MethodResult::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_publish_entry_point_is_the_release_method() {
        // 90 sets of 60 people (some with two), with an empty cell now and then.
        let mut table = MeasurementTable::new(vec!["a".into(), "b".into()]);
        for set in 0..90u32 {
            let b = if set % 7 == 0 {
                f64::NAN
            } else {
                f64::from((set * 31) % 17)
            };
            table.push(set % 60, &[f64::from((set * 13) % 29), b]);
        }
        let method = ReleaseMethod {
            k: 3,
            exact_limit: 50,
            min_pattern_people: 6,
            min_published: 1,
            rounding: vec![0.5, 1.0],
            bounds: vec![[0.0, 40.0]; 2],
        };
        let silent = &crate::observe::Silent;
        let ours = Microaggregation::release(&table, &method, silent);
        let direct = microaggregate(&table, &method, silent);
        let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&ours.values), bits(&direct.values));
        assert_eq!(ours.source, direct.source);
        assert_eq!(ours.group, direct.group);
        assert!(ours.smallest_group_people >= 3);
    }
}
