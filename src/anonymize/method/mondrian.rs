//! `--method mondrian`: strict multidimensional partitioning ([`crate::anonymize::mondrian`]),
//! numeric quasi-identifiers published as each class's range or mean, text ones as the lowest
//! common ancestor of the class's values in their `hierarchy` file.
//!
//! **Guarantee** (the [`super`] seam's): a cut is made only if both halves hold at least k records
//! and k distinct people (with a person key, through
//! [`crate::anonymize::k_anonymity::DistinctPeople`]) and pass every constraint, so every class
//! does; every record of a class shows the class's cells. Strict Mondrian never suppresses: if
//! the whole table fails, the method fails.

use serde::Serialize;

use super::{AnonymizationMethod, MethodInput, MethodResult, MEAN_STEP};
use crate::anonymize::dataset::format_number;
use crate::anonymize::microaggregation::round_to;
use crate::anonymize::model::ClassConstraint;
use crate::anonymize::mondrian::{self, MondrianError, QuasiIdentifier};
use crate::anonymize::output::Cells;
use crate::error::{Error, Result};

/// How Mondrian publishes a numeric quasi-identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NumericRelease {
    /// The class's range `[min,max]` (a single value when they are equal).
    Ranges,
    /// The class's mean, rounded to the column's `rounding` step.
    Means,
}

/// Strict Mondrian, publishing numeric quasi-identifiers as `numeric` says.
#[derive(Debug, Clone, Copy)]
pub struct StrictMondrian {
    /// Ranges or means.
    pub numeric: NumericRelease,
}

impl AnonymizationMethod for StrictMondrian {
    fn name(&self) -> &'static str {
        "mondrian"
    }

    fn run(
        &self,
        input: &MethodInput<'_>,
        constraints: &[&dyn ClassConstraint],
    ) -> Result<MethodResult> {
        let (dataset, quasi) = (input.dataset, input.quasi);
        let mut hierarchies = Vec::new();
        let mut codes = Vec::new();
        for &column in quasi {
            match &dataset.columns[column].numbers {
                Some(numbers) => {
                    if let Some(record) = numbers.iter().position(|v| v.is_nan()) {
                        return Err(dataset.cell_error(
                            column,
                            record,
                            "empty cell: mondrian needs every quasi-identifier value",
                        ));
                    }
                }
                None => {
                    let (hierarchy, column_codes) =
                        dataset.generalization(column)?.ok_or_else(|| {
                            dataset.schema_error(
                                column,
                                "mondrian needs a `hierarchy` file for a text quasi-identifier",
                            )
                        })?;
                    codes.push(column_codes);
                    hierarchies.push(hierarchy);
                }
            }
        }
        let mut categorical = hierarchies.iter().zip(&codes);
        let attributes: Vec<QuasiIdentifier<'_>> = quasi
            .iter()
            .map(|&column| match &dataset.columns[column].numbers {
                Some(numbers) => QuasiIdentifier::Numeric(numbers),
                None => {
                    let (hierarchy, codes) =
                        categorical.next().expect("one hierarchy per text column");
                    QuasiIdentifier::Categorical { hierarchy, codes }
                }
            })
            .collect();
        let people = input.people_constraint();
        let constraints = input.with_people(constraints, &people);
        let classes =
            mondrian::partition(&attributes, input.k, &constraints).map_err(|e| match e {
                MondrianError::Infeasible { records } => Error::Unsatisfiable {
                    problem: format!(
                        "the whole table ({records} records) already fails the privacy model, and strict Mondrian does not suppress"
                    ),
                },
                other => Error::InvalidArgument {
                    name: "--method mondrian",
                    problem: other.to_string(),
                },
            })?;

        let rows = dataset.rows();
        let means = self.numeric == NumericRelease::Means;
        // One label per class and column; record r shows the label of its class.
        let mut class_of = vec![0u32; rows];
        for (index, class) in classes.iter().enumerate() {
            for &r in class {
                class_of[r] = index as u32;
            }
        }
        let mut released = vec![f64::NAN; rows * quasi.len()];
        let cells = attributes
            .iter()
            .enumerate()
            .map(|(d, attribute)| {
                let labels = classes
                    .iter()
                    .map(|class| match attribute {
                        QuasiIdentifier::Numeric(values) => {
                            let interval = mondrian::interval(values, class);
                            if means {
                                let step =
                                    dataset.columns[quasi[d]].spec.rounding.unwrap_or(MEAN_STEP);
                                let mean = round_to(interval.mean, step);
                                for &r in class {
                                    released[r * quasi.len() + d] = mean;
                                }
                                format_number(mean)
                            } else if interval.min == interval.max {
                                format_number(interval.min)
                            } else {
                                format!(
                                    "[{},{}]",
                                    format_number(interval.min),
                                    format_number(interval.max)
                                )
                            }
                        }
                        QuasiIdentifier::Categorical { hierarchy, codes } => {
                            let (level, code) = mondrian::common_ancestor(hierarchy, codes, class);
                            mondrian::node_label(hierarchy, level, code).to_owned()
                        }
                    })
                    .collect();
                let numeric = means && matches!(attribute, QuasiIdentifier::Numeric(_));
                let cells = Cells::Coded {
                    labels,
                    codes: class_of.clone(),
                };
                (cells, numeric)
            })
            .collect();
        let all_numeric = attributes
            .iter()
            .all(|a| matches!(a, QuasiIdentifier::Numeric(_)));
        Ok(MethodResult {
            cells,
            suppressed: vec![false; rows],
            partitions: Some(classes.len()),
            numeric_release: Some(self.numeric),
            loss: Some(mondrian::loss(&attributes, &classes)),
            released_numbers: (means && all_numeric).then_some(released),
            ..MethodResult::default()
        })
    }
}
