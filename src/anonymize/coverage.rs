//! Coverage patterns: which measurements a record has is itself identifying.
//!
//! **Guarantee.** After planning, every record either is suppressed or carries a pattern (set of
//! present columns) shared by records of at least `k` distinct people. Microaggregation then
//! groups records only within one pattern, so a released row's pattern never singles anyone out.
//!
//! **Method.** A pattern already shared by ≥ k people is kept. A rarer pattern is coarsened to the
//! largest frequent pattern that it contains (its record loses the extra measurements: dropping
//! values only removes information); ties go to the pattern with more people, then the lower mask.
//! A record whose pattern contains no frequent pattern is suppressed, and so is a record without any
//! measurement (the empty pattern is never frequent: it would release rows of nothing, and
//! microaggregation needs at least one column). This is local suppression of cells followed by
//! record suppression, in the spirit of ARX's and sdcMicro's handling of missing values, but
//! without treating "missing" as a wildcard that matches anything (sdcMicro #225).

use std::collections::{HashMap, HashSet};

use crate::table::MeasurementTable;

/// What happens to each record's coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct CoveragePlan {
    /// The pattern each record is published with, or `None` when it is suppressed.
    pub pattern: Vec<Option<u64>>,
    /// Records published with fewer measurements than they had.
    pub coarsened_records: usize,
    /// Measurement values removed by coarsening.
    pub dropped_values: usize,
    /// Records left out because no frequent pattern fits them.
    pub suppressed_records: usize,
}

/// Plans the coverage of every record of the table for groups of `k` people.
pub fn plan_coverage(table: &MeasurementTable, k: usize) -> CoveragePlan {
    let masks: Vec<u64> = (0..table.len()).map(|i| table.coverage(i)).collect();
    let mut people_by_pattern: HashMap<u64, HashSet<u32>> = HashMap::new();
    for (i, &mask) in masks.iter().enumerate() {
        people_by_pattern
            .entry(mask)
            .or_default()
            .insert(table.person(i));
    }
    let mut frequent: Vec<(u64, usize)> = people_by_pattern
        .iter()
        .filter(|(&mask, people)| mask != 0 && people.len() >= k)
        .map(|(&mask, people)| (mask, people.len()))
        .collect();
    // Most measurements first, then most people, then the mask itself for determinism.
    frequent.sort_unstable_by(|a, b| {
        b.0.count_ones()
            .cmp(&a.0.count_ones())
            .then(b.1.cmp(&a.1))
            .then(a.0.cmp(&b.0))
    });
    let frequent_set: HashSet<u64> = frequent.iter().map(|f| f.0).collect();
    let mut target_of: HashMap<u64, Option<u64>> = HashMap::new();
    let mut plan = CoveragePlan {
        pattern: Vec::with_capacity(masks.len()),
        coarsened_records: 0,
        dropped_values: 0,
        suppressed_records: 0,
    };
    for &mask in &masks {
        let target = if frequent_set.contains(&mask) {
            Some(mask)
        } else {
            *target_of
                .entry(mask)
                .or_insert_with(|| frequent.iter().find(|(f, _)| f & !mask == 0).map(|f| f.0))
        };
        match target {
            Some(t) if t != mask => {
                plan.coarsened_records += 1;
                plan.dropped_values += (mask & !t).count_ones() as usize;
            }
            Some(_) => {}
            None => plan.suppressed_records += 1,
        }
        plan.pattern.push(target);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[(u32, [f64; 3])]) -> MeasurementTable {
        let mut t = MeasurementTable::new(vec!["a".into(), "b".into(), "c".into()]);
        for (p, v) in rows {
            t.push(*p, v);
        }
        t
    }

    #[test]
    fn rare_patterns_are_coarsened_or_suppressed() {
        let n = f64::NAN;
        let t = table(&[
            (0, [1.0, 1.0, n]),
            (1, [1.0, 1.0, n]),
            (2, [1.0, 1.0, 1.0]), // rare full pattern → coarsened to {a,b}
            (3, [n, n, 1.0]),     // rare, contains no frequent pattern → suppressed
            (3, [1.0, 1.0, n]),
        ]);
        let plan = plan_coverage(&t, 3);
        assert_eq!(
            plan.pattern,
            vec![Some(0b011), Some(0b011), Some(0b011), None, Some(0b011)]
        );
        assert_eq!(
            (
                plan.coarsened_records,
                plan.dropped_values,
                plan.suppressed_records
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn one_person_with_many_sets_does_not_make_a_pattern_frequent() {
        let n = f64::NAN;
        let t = table(&[(7, [1.0, n, n]), (7, [2.0, n, n]), (7, [3.0, n, n])]);
        let plan = plan_coverage(&t, 2);
        assert_eq!(plan.suppressed_records, 3);
    }
}
