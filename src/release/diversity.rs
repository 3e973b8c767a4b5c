//! The privacy figures of a generalized release as anyone can recompute them from its rows: the
//! classes of identical quasi-identifier cells, the smallest class (k, in rows), distinct
//! l-diversity and t-closeness of every sensitive column.
//!
//! `publish` measures a generalized release with these functions after the method ran, and
//! `verify` recomputes the same figures from `measurements.csv` alone, so a report cannot claim
//! more than its files show. They share nothing with the engine's per-class constraints
//! (`anonymize::ldiversity`, `anonymize::tcloseness`): the definitions are applied a second time,
//! from text, by code of their own.
//!
//! - **Distinct l-diversity** (Machanavajjhala et al. 2007, "ℓ-Diversity: Privacy beyond
//!   k-anonymity", TKDD 1(1)): the fewest distinct values of the sensitive column in any class.
//! - **t-closeness** (Li, Li & Venkatasubramanian 2007, ICDE): the largest Earth Mover's Distance
//!   between a class's distribution of the sensitive column and its distribution over every
//!   released row, with the equal ground distance for text (the variational distance) and the
//!   ordered one for numbers (values ranked, `|i − j| / (m − 1)` apart).
//!
//! The reference distribution is that of the released rows: that is what a reader of the release
//! sees, and suppressed records are not in it.

use std::collections::{BTreeMap, HashMap};

/// The classes of a release: rows with equal cells in every quasi-identifier column.
#[derive(Debug, Clone)]
pub struct Classes {
    /// The rows of each class, in row order; classes in order of their first row.
    pub members: Vec<Vec<usize>>,
}

impl Classes {
    /// Groups `rows` (each row's cells) by the cells at `quasi`.
    pub fn of<R: AsRef<[S]>, S: AsRef<str>>(rows: &[R], quasi: &[usize]) -> Self {
        let mut index: HashMap<Vec<&str>, usize> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (row, cells) in rows.iter().enumerate() {
            let key: Vec<&str> = quasi.iter().map(|&c| cells.as_ref()[c].as_ref()).collect();
            let next = members.len();
            let class = *index.entry(key).or_insert(next);
            if class == next {
                members.push(Vec::new());
            }
            members[class].push(row);
        }
        Classes { members }
    }

    /// Rows in the smallest class; 0 without rows.
    pub fn smallest(&self) -> usize {
        self.members.iter().map(Vec::len).min().unwrap_or(0)
    }

    /// The fewest distinct values of `values` (one per row) in any class; 0 without rows.
    pub fn distinct_l<S: AsRef<str>>(&self, values: &[S]) -> usize {
        self.members
            .iter()
            .map(|class| {
                let mut seen: Vec<&str> = class.iter().map(|&r| values[r].as_ref()).collect();
                seen.sort_unstable();
                seen.dedup();
                seen.len()
            })
            .min()
            .unwrap_or(0)
    }

    /// The largest Earth Mover's Distance between a class's distribution of `values` and their
    /// distribution over every row: ordered ground distance when `numeric` (every non-empty value
    /// a number, empty cells ranked last), equal ground distance otherwise. 0 without rows.
    pub fn t_closeness<S: AsRef<str>>(&self, values: &[S], numeric: bool) -> f64 {
        let ranks = ranks(values, numeric);
        let m = ranks.iter().max().map_or(0, |&r| r + 1);
        let shares = |rows: &mut dyn Iterator<Item = usize>| {
            let mut counts = vec![0.0; m];
            let mut total = 0.0;
            for row in rows {
                counts[ranks[row]] += 1.0;
                total += 1.0;
            }
            counts.iter_mut().for_each(|c| *c /= f64::max(total, 1.0));
            counts
        };
        let table = shares(&mut (0..values.len()));
        self.members
            .iter()
            .map(|class| {
                let class = shares(&mut class.iter().copied());
                if numeric && m > 1 {
                    let mut cumulative = 0.0;
                    let mut sum = 0.0;
                    for (p, q) in class.iter().zip(&table) {
                        cumulative += p - q;
                        sum += f64::abs(cumulative);
                    }
                    sum / (m - 1) as f64
                } else {
                    class
                        .iter()
                        .zip(&table)
                        .map(|(p, q)| f64::abs(p - q))
                        .sum::<f64>()
                        / 2.0
                }
            })
            .fold(0.0, f64::max)
    }
}

/// How a value is ranked: numbers first, by value, then text.
#[derive(PartialEq, PartialOrd)]
enum RankKey<'a> {
    Number(f64),
    Text(&'a str),
}

impl<'a> RankKey<'a> {
    fn of(text: &'a str, numeric: bool) -> Self {
        match text.parse::<f64>() {
            Ok(number) if numeric && number.is_finite() => RankKey::Number(number),
            _ => RankKey::Text(text),
        }
    }
}

/// Rank of each value among the distinct values: by number when `numeric` (text that is not a
/// number, such as an empty cell, after every number, by text), by text otherwise.
fn ranks<S: AsRef<str>>(values: &[S], numeric: bool) -> Vec<usize> {
    let distinct: BTreeMap<&str, ()> = values.iter().map(|v| (v.as_ref(), ())).collect();
    let mut order: Vec<&str> = distinct.into_keys().collect();
    order.sort_by(|a, b| {
        RankKey::of(a, numeric)
            .partial_cmp(&RankKey::of(b, numeric))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(b))
    });
    // Values that compare equal as numbers ("1" and "1.0") share a rank.
    let mut rank_of: HashMap<&str, usize> = HashMap::new();
    let mut rank = 0;
    for (position, value) in order.iter().enumerate() {
        if position > 0 && RankKey::of(order[position - 1], numeric) != RankKey::of(value, numeric)
        {
            rank += 1;
        }
        rank_of.insert(value, rank);
    }
    values.iter().map(|v| rank_of[v.as_ref()]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(cells: &[[&str; 2]]) -> Vec<Vec<String>> {
        cells
            .iter()
            .map(|row| row.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn classes_k_and_distinct_l() {
        let table = rows(&[
            ["Paris", "hem"],
            ["Paris", "zip"],
            ["Lyon", "hem"],
            ["Paris", "hem"],
            ["Lyon", "hem"],
        ]);
        let classes = Classes::of(&table, &[0]);
        assert_eq!(classes.members, [vec![0, 1, 3], vec![2, 4]]);
        assert_eq!(classes.smallest(), 2);
        let service: Vec<&str> = table.iter().map(|r| r[1].as_str()).collect();
        assert_eq!(classes.distinct_l(&service), 1);
        assert_eq!(Classes::of(&Vec::<Vec<String>>::new(), &[0]).smallest(), 0);
    }

    proptest::proptest! {
        /// Against the definitions applied naively: every class's distinct values counted with
        /// a set, and the EMD of every class computed from scratch over the sorted distinct
        /// values (numbers here, so both ground distances apply).
        #[test]
        fn figures_match_the_definitions(
            rows in proptest::collection::vec((0u8..4, 0u8..5), 1..40),
            numeric in proptest::bool::ANY,
        ) {
            let table: Vec<Vec<String>> =
                rows.iter().map(|(q, v)| vec![q.to_string(), v.to_string()]).collect();
            let classes = Classes::of(&table, &[0]);
            let values: Vec<&str> = table.iter().map(|r| r[1].as_str()).collect();
            let mut by_class: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
            for (q, v) in &rows {
                by_class.entry(*q).or_default().push(*v);
            }
            let l = by_class
                .values()
                .map(|vs| vs.iter().collect::<std::collections::BTreeSet<_>>().len())
                .min()
                .unwrap();
            proptest::prop_assert_eq!(classes.distinct_l(&values), l);
            proptest::prop_assert_eq!(
                classes.smallest(),
                by_class.values().map(Vec::len).min().unwrap()
            );
            let distinct: Vec<u8> = rows
                .iter()
                .map(|(_, v)| *v)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let share = |vs: &[u8], x: u8| {
                vs.iter().filter(|&&v| v == x).count() as f64 / vs.len() as f64
            };
            let all: Vec<u8> = rows.iter().map(|(_, v)| *v).collect();
            let t = by_class
                .values()
                .map(|vs| {
                    let diffs: Vec<f64> =
                        distinct.iter().map(|&x| share(vs, x) - share(&all, x)).collect();
                    if numeric && distinct.len() > 1 {
                        let mut running = 0.0;
                        diffs
                            .iter()
                            .map(|d| {
                                running += d;
                                f64::abs(running)
                            })
                            .sum::<f64>()
                            / (distinct.len() - 1) as f64
                    } else {
                        diffs.iter().map(|d| d.abs()).sum::<f64>() / 2.0
                    }
                })
                .fold(0.0, f64::max);
            proptest::prop_assert!((classes.t_closeness(&values, numeric) - t).abs() < 1e-9);
        }
    }

    #[test]
    fn t_closeness_by_both_ground_distances() {
        // Table: hem 3/5, zip 2/5. Class Paris: 2/3, 1/3 → ½(1/15 + 1/15) = 1/15.
        // Class Lyon: 1/2, 1/2 → ½(1/10 + 1/10) = 1/10.
        let table = rows(&[
            ["Paris", "hem"],
            ["Paris", "zip"],
            ["Lyon", "hem"],
            ["Paris", "hem"],
            ["Lyon", "zip"],
        ]);
        let classes = Classes::of(&table, &[0]);
        let service: Vec<&str> = table.iter().map(|r| r[1].as_str()).collect();
        assert!((classes.t_closeness(&service, false) - 0.1).abs() < 1e-12);
        // Ordered: values 1, 2, 3; table 1/3 each; a class holding only 1 is
        // (|1 − 1/3| + |1 − 2/3|) / 2 = 1/2 from it.
        let numbers = ["1", "2", "3", "1.0", "2", "3"];
        let classes = Classes {
            members: vec![vec![0, 3], vec![1, 2, 4, 5]],
        };
        assert!((classes.t_closeness(&numbers, true) - 0.5).abs() < 1e-12);
        // One class holding everything is at distance 0.
        let all = Classes {
            members: vec![(0..6).collect()],
        };
        assert_eq!(all.t_closeness(&numbers, true), 0.0);
    }
}
