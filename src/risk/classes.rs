//! Equivalence-class histogram: for every class size, how many classes have
//! that size.
//!
//! Records that agree on all quasi-identifiers form an equivalence class, and
//! an attacker who knows a person's quasi-identifiers can narrow them down to
//! exactly one class. Every re-identification figure in this module family
//! (prosecutor, journalist and marketer risk, sample uniqueness, the record
//! risk distribution and the population-uniqueness models of Pitman, Zayatz
//! and SNB) depends on the data only through this histogram, which is the
//! same summary ARX keeps in `RiskModelHistogram`. Building it once and
//! deriving everything from it keeps all figures consistent with one another
//! and makes them cheap: the histogram has one entry per distinct class
//! size, however many records there are.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use rayon::prelude::*;

use serde::Serialize;

use crate::fast_hash::FastMap;
use crate::table::{compare_rows, IdenticalRows};

/// How many equivalence classes there are of each size, plus the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassHistogram {
    /// `(class size, number of classes of that size)`, ascending by size,
    /// sizes and counts both non-zero.
    sizes: Vec<(u64, u64)>,
    records: u64,
    classes: u64,
}

impl ClassHistogram {
    /// Builds the histogram from the size of each equivalence class.
    ///
    /// A size of zero describes a class without records and is ignored.
    pub fn from_class_sizes(sizes: impl IntoIterator<Item = u64>) -> Self {
        let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
        for size in sizes.into_iter().filter(|&size| size > 0) {
            *counts.entry(size).or_insert(0) += 1;
        }
        let records = counts.iter().map(|(size, count)| size * count).sum();
        let classes = counts.values().sum();
        Self {
            sizes: counts.into_iter().collect(),
            records,
            classes,
        }
    }

    /// Builds the histogram from one key per record, where the key is the
    /// record's combination of quasi-identifier values: records with equal
    /// keys fall into the same class.
    pub fn from_keys<K: Hash + Eq>(keys: impl IntoIterator<Item = K>) -> Self {
        let mut class_sizes: HashMap<K, u64> = HashMap::new();
        for key in keys {
            *class_sizes.entry(key).or_insert(0) += 1;
        }
        Self::from_class_sizes(class_sizes.into_values())
    }

    /// Builds the histogram of a table given as text columns (all of one length): records
    /// with equal cells in every column form a class, and an empty cell is a value of its own.
    ///
    /// Each column's cells are numbered once (one hash of each cell; columns in parallel), the
    /// numbers are combined per record into one mixed-radix `u64` key, and the keys are sorted
    /// and counted. When the product of the columns' cardinalities would overflow, the keys so
    /// far are renumbered densely (fewer distinct keys than records), so any number of columns
    /// fits.
    pub fn from_text_columns<S: AsRef<str> + Sync>(columns: &[&[S]]) -> Self {
        let records = columns.first().map_or(0, |column| column.len());
        let numbered: Vec<(Vec<u32>, u64)> = columns
            .par_iter()
            .map(|column| {
                assert_eq!(column.len(), records, "columns of one table");
                let mut cells: FastMap<&str, u32> = FastMap::default();
                let codes = column
                    .iter()
                    .map(|cell| {
                        let next = cells.len() as u32;
                        *cells.entry(cell.as_ref()).or_insert(next)
                    })
                    .collect();
                (codes, (cells.len() as u64).max(1))
            })
            .collect();
        let mut keys = vec![0u64; records];
        let mut key_space: u64 = 1;
        for (codes, cardinality) in numbered {
            if key_space.checked_mul(cardinality).is_none() {
                key_space = renumber(&mut keys);
            }
            for (key, code) in keys.iter_mut().zip(codes) {
                *key = *key * cardinality + u64::from(code);
            }
            key_space *= cardinality;
        }
        let classes = IdenticalRows::group((0..records).collect(), |a, b| keys[a].cmp(&keys[b]));
        Self::from_class_sizes(classes.iter().map(|class| class.len() as u64))
    }

    /// Builds the histogram of numeric rows (row-major, `width` values each, NaN for a missing
    /// value): classes are rows identical in every value and in which values are missing, the
    /// classes a reader of a released table sees.
    ///
    /// Row numbers are sorted (in parallel) by their values' bits and equal runs counted
    /// ([`IdenticalRows`]): exact, and without a hashed copy of every row.
    pub fn from_rows(values: &[f64], width: usize) -> Self {
        assert!(
            width > 0 && values.len().is_multiple_of(width),
            "whole rows"
        );
        let row = |r: usize| &values[r * width..(r + 1) * width];
        let classes = IdenticalRows::group((0..values.len() / width).collect(), |a, b| {
            compare_rows(row(a), row(b))
        });
        Self::from_class_sizes(classes.iter().map(|class| class.len() as u64))
    }

    /// Number of records over all classes.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Number of equivalence classes.
    pub fn classes(&self) -> u64 {
        self.classes
    }

    /// Size of the smallest class, `None` when there are no records.
    pub fn smallest_class(&self) -> Option<u64> {
        self.sizes.first().map(|&(size, _)| size)
    }

    /// Number of classes holding exactly `size` records.
    pub fn classes_of_size(&self, size: u64) -> u64 {
        self.sizes
            .binary_search_by_key(&size, |&(class_size, _)| class_size)
            .map_or(0, |index| self.sizes[index].1)
    }

    /// `(class size, number of classes of that size)` pairs, ascending by
    /// size.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u64, u64)> + '_ {
        self.sizes.iter().copied()
    }

    /// Whether the histogram holds no records at all.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }
}

/// Replaces keys by dense numbers `0..distinct` in key order; returns the number of distinct keys.
fn renumber(keys: &mut [u64]) -> u64 {
    let mut distinct = keys.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    for key in keys.iter_mut() {
        *key = distinct.partition_point(|&d| d < *key) as u64;
    }
    distinct.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sizes_and_totals() {
        let histogram = ClassHistogram::from_class_sizes([3, 1, 1, 0, 2, 3]);
        assert_eq!(
            histogram.iter().collect::<Vec<_>>(),
            [(1, 2), (2, 1), (3, 2)]
        );
        assert_eq!(histogram.records(), 10);
        assert_eq!(histogram.classes(), 5);
        assert_eq!(histogram.smallest_class(), Some(1));
        assert_eq!(histogram.classes_of_size(3), 2);
        assert_eq!(histogram.classes_of_size(4), 0);
    }

    #[test]
    fn groups_equal_keys_into_one_class() {
        let histogram = ClassHistogram::from_keys(["a", "b", "a", "c", "a", "b"]);
        assert_eq!(
            histogram.iter().collect::<Vec<_>>(),
            [(1, 1), (2, 1), (3, 1)]
        );
        assert_eq!(histogram.records(), 6);
    }

    #[test]
    fn text_columns_form_classes_with_empty_cells_as_values() {
        let sex = ["F", "F", "M", "F", ""];
        let age = ["39", "39", "39", "", ""];
        let histogram = ClassHistogram::from_text_columns(&[&sex[..], &age[..]]);
        // (F,39) twice, (M,39), (F,""), ("","").
        assert_eq!(histogram.iter().collect::<Vec<_>>(), [(1, 3), (2, 1)]);
        // Pairs (class, cell) must not collide across columns: ("a","b") vs ("b","a").
        let first = ["a", "b"];
        let second = ["b", "a"];
        let histogram = ClassHistogram::from_text_columns(&[&first[..], &second[..]]);
        assert_eq!(histogram.classes(), 2);
        assert_eq!(ClassHistogram::from_text_columns::<&str>(&[]).records(), 0);
    }

    #[test]
    fn many_wide_columns_are_renumbered_instead_of_overflowing() {
        // 40 columns of 4 distinct values each: 4^40 > 2^64 combinations.
        let column: Vec<String> = (0..12).map(|r| (r % 4).to_string()).collect();
        let columns: Vec<&[String]> = (0..40).map(|_| column.as_slice()).collect();
        let histogram = ClassHistogram::from_text_columns(&columns);
        assert_eq!(histogram.iter().collect::<Vec<_>>(), [(3, 4)]);
        // Long cells that share a prefix stay distinct.
        let long = [
            "a".repeat(20) + "x",
            "a".repeat(20) + "y",
            "a".repeat(20) + "x",
        ];
        let histogram = ClassHistogram::from_text_columns(&[&long[..]]);
        assert_eq!(histogram.iter().collect::<Vec<_>>(), [(1, 1), (2, 1)]);
    }

    #[test]
    fn numeric_rows_distinguish_missing_values() {
        let rows = [1.0, f64::NAN, 1.0, f64::NAN, 1.0, 2.0, 0.0, -0.0];
        let histogram = ClassHistogram::from_rows(&rows, 2);
        assert_eq!(histogram.iter().collect::<Vec<_>>(), [(1, 2), (2, 1)]);
    }

    #[test]
    fn empty_input_gives_empty_histogram() {
        let histogram = ClassHistogram::from_keys(Vec::<u8>::new());
        assert!(histogram.is_empty());
        assert_eq!(histogram.classes(), 0);
        assert_eq!(histogram.smallest_class(), None);
    }
}
