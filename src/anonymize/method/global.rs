//! `--method global`: optimal full-domain generalization with record suppression
//! ([`crate::anonymize::global::find_optimal`]) over each quasi-identifier's `hierarchy` file or
//! `widths`.
//!
//! **Guarantee** (the [`super`] seam's): every class of identical generalized cells holds at
//! least k records and k distinct people (with a person key, through [`DistinctPeople`], which is
//! monotone and so keeps the lattice pruning) and passes every constraint; the records of every
//! other class are suppressed, at most ⌊limit · records⌋ of them, or the method fails.

use super::{AnonymizationMethod, MethodInput, MethodResult};
use crate::anonymize::global::{self, PrivacyModel, SearchError};
use crate::anonymize::model::ClassConstraint;
use crate::anonymize::output::Cells;
use crate::error::{Error, Result};

#[cfg(doc)]
use crate::anonymize::k_anonymity::DistinctPeople;

/// Full-domain generalization, suppressing at most `suppression_limit` of the records.
#[derive(Debug, Clone, Copy)]
pub struct GlobalRecoding {
    /// Largest share of records that may be suppressed, in [0, 1].
    pub suppression_limit: f64,
}

impl AnonymizationMethod for GlobalRecoding {
    fn name(&self) -> &'static str {
        "global"
    }

    fn run(
        &self,
        input: &MethodInput<'_>,
        constraints: &[&dyn ClassConstraint],
    ) -> Result<MethodResult> {
        let dataset = input.dataset;
        let mut hierarchies = Vec::with_capacity(input.quasi.len());
        let mut columns = Vec::with_capacity(input.quasi.len());
        for &column in input.quasi {
            let (hierarchy, codes) = dataset.generalization(column)?.ok_or_else(|| {
                dataset.schema_error(
                    column,
                    "global recoding needs a `hierarchy` file or `widths` for every quasi-identifier",
                )
            })?;
            columns.push(codes);
            hierarchies.push(hierarchy);
        }
        let people = input.people_constraint();
        let model = PrivacyModel {
            k: input.k,
            suppression_limit: self.suppression_limit,
            constraints: input.with_people(constraints, &people),
        };
        let anonymized =
            global::find_optimal(&columns, &hierarchies, &model).map_err(|e| match e {
                SearchError::NoSolution => Error::Unsatisfiable {
                    problem: format!(
                        "no generalization of the quasi-identifiers needs at most {} of {} records suppressed",
                        (self.suppression_limit * dataset.rows() as f64).floor(),
                        dataset.rows()
                    ),
                },
                other => Error::InvalidArgument {
                    name: "--method global",
                    problem: other.to_string(),
                },
            })?;
        // Labels of each column's level, plus `*` for suppressed records.
        let cells = hierarchies
            .iter()
            .zip(&anonymized.transformation.levels)
            .zip(&anonymized.generalized)
            .map(|((hierarchy, &level), generalized)| {
                let labels: Vec<String> = (0..hierarchy.code_count(level))
                    .map(|code| hierarchy.label(level, code as u32).to_owned())
                    .collect();
                let cells = Cells::suppressible(labels, generalized, &anonymized.suppressed);
                (cells, false)
            })
            .collect();
        Ok(MethodResult {
            cells,
            levels: Some(anonymized.transformation.levels.clone()),
            loss: Some(anonymized.transformation.loss),
            suppressed: anonymized.suppressed,
            suppression_limit: Some(self.suppression_limit),
            ..MethodResult::default()
        })
    }
}
