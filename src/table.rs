//! The in-memory table every stage passes along: one row per record, numeric columns, and the
//! person each row belongs to.
//!
//! Row-major `f64` with NaN for "not measured" keeps a 1M × 38 table in one allocation (~300 MB)
//! and makes the distance loops of microaggregation cache-friendly. The person number is internal:
//! it lets k count distinct people, and it is never written to a release.

use std::cmp::Ordering;
use std::collections::HashSet;

use rayon::prelude::*;

/// Numeric records with their owners.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasurementTable {
    columns: Vec<String>,
    values: Vec<f64>,
    person: Vec<u32>,
    /// The source's key of each person number (empty when the table was not selected from a
    /// source): how person-level facts the source holds beside the sets, such as size-chart
    /// strata, find their person. Never published.
    owner_keys: Vec<i64>,
}

impl MeasurementTable {
    /// An empty table with these columns.
    pub fn new(columns: Vec<String>) -> Self {
        MeasurementTable {
            columns,
            values: Vec::new(),
            person: Vec::new(),
            owner_keys: Vec::new(),
        }
    }

    /// Records the source's key of each person number, in person-number order.
    pub fn set_owner_keys(&mut self, keys: Vec<i64>) {
        self.owner_keys = keys;
    }

    /// The source's key of `person`, when recorded.
    pub fn owner_key(&self, person: u32) -> Option<i64> {
        self.owner_keys.get(person as usize).copied()
    }

    /// Appends a row; `values` must have one entry per column.
    pub fn push(&mut self, person: u32, values: &[f64]) {
        assert_eq!(
            values.len(),
            self.columns.len(),
            "row width must match the table"
        );
        self.values.extend_from_slice(values);
        self.person.push(person);
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.person.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.person.is_empty()
    }

    /// All rows, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values of one row (NaN = not measured).
    pub fn row(&self, index: usize) -> &[f64] {
        let width = self.width();
        &self.values[index * width..(index + 1) * width]
    }

    /// The internal person number of one row.
    pub fn person(&self, index: usize) -> u32 {
        self.person[index]
    }

    /// The person number of every row.
    pub fn persons(&self) -> &[u32] {
        &self.person
    }

    /// Number of distinct people with at least one row.
    pub fn distinct_people(&self) -> usize {
        self.person.iter().collect::<HashSet<_>>().len()
    }

    /// Which columns of a row are present, as a bit mask (column i ↔ bit i).
    pub fn coverage(&self, index: usize) -> u64 {
        coverage_mask(self.row(index))
    }

    /// Drops rows that repeat another row of the same person exactly, keeping the first; returns
    /// how many were dropped. A person entering the same set twice adds no information, and two
    /// identical rows of one person would look like two people to a row-counting reader.
    ///
    /// Only people with more than one row are compared, row against row: most people have one set,
    /// so this costs a sort of the person numbers rather than a hash of every row.
    pub fn remove_duplicates_within_person(&mut self) -> usize {
        let width = self.width();
        let mut by_person: Vec<(u32, usize)> = self.person.iter().copied().zip(0..).collect();
        by_person.sort_unstable();
        let same = |a: usize, b: usize| {
            self.row(a)
                .iter()
                .zip(self.row(b))
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        };
        let mut dropped = vec![false; self.len()];
        for rows in by_person.chunk_by(|a, b| a.0 == b.0) {
            for (position, &(_, row)) in rows.iter().enumerate().skip(1) {
                dropped[row] = rows[..position]
                    .iter()
                    .any(|&(_, earlier)| !dropped[earlier] && same(earlier, row));
            }
        }
        let mut kept = 0;
        for (index, _) in dropped.iter().enumerate().filter(|(_, &gone)| !gone) {
            self.values
                .copy_within(index * width..(index + 1) * width, kept * width);
            self.person[kept] = self.person[index];
            kept += 1;
        }
        let count = self.len() - kept;
        self.values.truncate(kept * width);
        self.person.truncate(kept);
        count
    }
}

/// Bit mask of the present (non-NaN) entries of a row; rows are at most 64 columns wide.
pub fn coverage_mask(row: &[f64]) -> u64 {
    debug_assert!(row.len() <= 64, "coverage masks hold at most 64 columns");
    row.iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .fold(0, |mask, (i, _)| mask | (1 << i))
}

/// Orders rows by their values' bits, every missing value (NaN) alike and after every number:
/// rows compare equal exactly when a reader of the release sees the same cells.
pub fn compare_rows(a: &[f64], b: &[f64]) -> Ordering {
    let bits = |v: &f64| if v.is_nan() { u64::MAX } else { v.to_bits() };
    a.iter().map(bits).cmp(b.iter().map(bits))
}

/// Rows cut into groups of identical rows: the one routine behind equivalence classes, class
/// sizes and distinct released rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdenticalRows {
    /// Row numbers, group after group; ascending within a group.
    order: Vec<usize>,
    /// Where each group ends in `order`.
    ends: Vec<usize>,
}

impl IdenticalRows {
    /// Groups `rows` (row numbers, any order) by `compare`, which must be a total order whose
    /// `Equal` means "identical". The rows are sorted in parallel, ties by row number, so the
    /// groups and their members come out the same however the rows were given.
    pub fn group(mut rows: Vec<usize>, compare: impl Fn(usize, usize) -> Ordering + Sync) -> Self {
        rows.par_sort_unstable_by(|&a, &b| compare(a, b).then(a.cmp(&b)));
        let mut ends = Vec::new();
        for (position, pair) in rows.windows(2).enumerate() {
            if compare(pair[0], pair[1]).is_ne() {
                ends.push(position + 1);
            }
        }
        if !rows.is_empty() {
            ends.push(rows.len());
        }
        IdenticalRows { order: rows, ends }
    }

    /// The groups in `compare` order, each its ascending row numbers.
    pub fn iter(&self) -> impl Iterator<Item = &[usize]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.order[start..end])
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no rows at all.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_dropped_only_within_a_person() {
        let mut table = MeasurementTable::new(vec!["a".into(), "b".into()]);
        table.push(0, &[1.0, f64::NAN]);
        table.push(0, &[1.0, f64::NAN]);
        table.push(1, &[1.0, f64::NAN]);
        table.push(0, &[1.0, 2.0]);
        table.push(0, &[1.0, f64::NAN]);
        table.push(2, &[3.0, 4.0]);
        assert_eq!(table.remove_duplicates_within_person(), 2);
        assert_eq!(table.len(), 4);
        assert_eq!(table.persons(), [0, 1, 0, 2]);
        assert_eq!(table.row(3), [3.0, 4.0]);
        assert_eq!(table.distinct_people(), 3);
        assert_eq!(table.coverage(2), 0b11);
        assert_eq!(table.coverage(0), 0b01);
    }

    #[test]
    fn identical_rows_group_missing_values_alike_and_list_members_in_order() {
        let nan = f64::NAN;
        let values = [1.0, nan, 2.0, 3.0, 1.0, nan, 1.0, 0.0, 2.0, 3.0];
        let row = |r: usize| &values[r * 2..r * 2 + 2];
        let groups = IdenticalRows::group(vec![4, 3, 2, 1, 0], |a, b| compare_rows(row(a), row(b)));
        let listed: Vec<&[usize]> = groups.iter().collect();
        // (1, 0) < (1, NaN) < (2, 3): missing sorts after every number.
        assert_eq!(listed, [&[3][..], &[0, 2], &[1, 4]]);
        assert_eq!(groups.len(), 3);
        assert!(IdenticalRows::group(Vec::new(), |_, _| Ordering::Equal).is_empty());
    }
}
