//! Frequency tables for any person-keyed table: people per cell, with small cells protected.
//!
//! **Privacy unit.** Counts are of distinct *people* per cell (a person who visited a page 20
//! times on one day counts once in that day's cell), so the threshold of [`suppress`] protects
//! people, not records. Margins add the cells up (a person in two cells of a row counts twice in
//! its total): they are the sums a reader would compute, which is what secondary suppression has
//! to withstand. Key columns are coarsened first ([`coarsen`]), so a raw timestamp or address
//! never becomes a key.
//!
//! The input is plain columns (person ids and one key column per `by` column) so that any source
//! (CSV, Parquet, a database) can feed it.

pub mod coarsen;
pub mod config;
pub mod dp;
pub mod input;
pub mod plan;
pub mod suppress;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;

use crate::error::{Error, Result};
use suppress::{primary, suppress_grid, suppress_line, Suppression};

/// One published line of a frequency table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCell {
    /// One key per `by` column; `None` in a margin (all values of that column).
    pub key: Vec<Option<String>>,
    /// People in the cell; `None` when suppressed.
    pub people: Option<u64>,
    /// Whether the count is published and, if not, why.
    pub suppression: Suppression,
}

/// A protected frequency table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrequencyTable {
    /// The key columns, in order.
    pub by: Vec<String>,
    /// Counts of 1 to `threshold - 1` people are suppressed (primary suppression).
    pub threshold: u64,
    /// Cells in key order, then margins (1-D: the total; 2-D: row totals, column totals, total).
    pub cells: Vec<TableCell>,
}

/// Counts distinct people per combination of `keys` (one column per `by` name, aligned with
/// `person`) and suppresses small cells and what would give them away.
pub fn tabulate(
    by: &[String],
    person: &[u64],
    keys: &[Vec<String>],
    threshold: u64,
) -> Result<FrequencyTable> {
    if threshold == 0 {
        return Err(Error::InvalidArgument {
            name: "threshold",
            problem: "must be at least 1".into(),
        });
    }
    if by.is_empty() || keys.len() != by.len() || keys.iter().any(|k| k.len() != person.len()) {
        return Err(Error::InvalidArgument {
            name: "tabulate input",
            problem: format!(
                "{} key columns for {} `by` columns; every column needs one value per row ({} rows)",
                keys.len(),
                by.len(),
                person.len()
            ),
        });
    }
    let counts = people_per_cell(person, keys);
    let cells = match by.len() {
        1 => one_way(&counts, threshold),
        2 => two_way(&counts, threshold),
        _ => counts
            .into_iter()
            .map(|(key, people)| {
                cell(
                    key.into_iter().map(Some).collect(),
                    people,
                    primary(people, threshold),
                )
            })
            .collect(),
    };
    Ok(FrequencyTable {
        by: by.to_vec(),
        threshold,
        cells,
    })
}

fn cell(key: Vec<Option<String>>, people: u64, suppression: Suppression) -> TableCell {
    TableCell {
        key,
        people: (suppression == Suppression::Published).then_some(people),
        suppression,
    }
}

/// Distinct people per key tuple, in key order.
fn people_per_cell(person: &[u64], keys: &[Vec<String>]) -> BTreeMap<Vec<String>, u64> {
    let mut seen: HashSet<(Vec<&str>, u64)> = HashSet::new();
    let mut counts: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for (row, &who) in person.iter().enumerate() {
        let key: Vec<&str> = keys.iter().map(|column| column[row].as_str()).collect();
        if seen.insert((key.clone(), who)) {
            *counts
                .entry(key.into_iter().map(String::from).collect())
                .or_default() += 1;
        }
    }
    counts
}

fn one_way(counts: &BTreeMap<Vec<String>, u64>, threshold: u64) -> Vec<TableCell> {
    let mut entries: Vec<u64> = counts.values().copied().collect();
    entries.push(entries.iter().sum());
    let marks = suppress_line(&entries, threshold);
    counts
        .keys()
        .map(|key| Some(key[0].clone()))
        .chain(std::iter::once(None))
        .zip(entries.iter().zip(marks))
        .map(|(key, (&people, mark))| cell(vec![key], people, mark))
        .collect()
}

fn two_way(counts: &BTreeMap<Vec<String>, u64>, threshold: u64) -> Vec<TableCell> {
    let distinct = |position: usize| -> Vec<&String> {
        let values: BTreeSet<&String> = counts.keys().map(|k| &k[position]).collect();
        values.into_iter().collect()
    };
    let (rows, columns) = (distinct(0), distinct(1));
    let (r, c) = (rows.len(), columns.len());
    let mut extended = vec![vec![0u64; c + 1]; r + 1];
    for (i, row) in rows.iter().enumerate() {
        for (j, column) in columns.iter().enumerate() {
            let people = counts
                .get(&vec![(*row).clone(), (*column).clone()])
                .copied()
                .unwrap_or(0);
            extended[i][j] = people;
            extended[i][c] += people;
            extended[r][j] += people;
            extended[r][c] += people;
        }
    }
    let marks = suppress_grid(&extended, threshold);
    let label = |values: &[&String], index: usize| values.get(index).map(|v| (*v).clone());
    // Cells first (i < r, j < c), then row totals, column totals and the grand total.
    let mut order: Vec<(usize, usize)> = (0..r).flat_map(|i| (0..c).map(move |j| (i, j))).collect();
    order.extend((0..r).map(|i| (i, c)));
    order.extend((0..c).map(|j| (r, j)));
    order.push((r, c));
    order
        .into_iter()
        .map(|(i, j)| {
            cell(
                vec![label(&rows, i), label(&columns, j)],
                extended[i][j],
                marks[i][j],
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn an_access_log_becomes_visitors_per_page_per_day() {
        use coarsen::Coarsening;
        // Person 1 visits /a three times on Nov 1; five people visit /b; one person visits /a
        // on Nov 2.
        let times = [
            "2026-11-01T08:00:00Z",
            "2026-11-01T09:00:00Z",
            "2026-11-01T10:00:00Z",
            "2026-11-01T11:00:00Z",
            "2026-11-01T11:05:00Z",
            "2026-11-01T11:10:00Z",
            "2026-11-01T11:15:00Z",
            "2026-11-01T11:20:00Z",
            "2026-11-02T07:00:00Z",
        ];
        let person = [1, 1, 1, 2, 3, 4, 5, 6, 7];
        let pages = strings(&["/a", "/a", "/a", "/b", "/b", "/b", "/b", "/b", "/a"]);
        let days: Vec<String> = times
            .iter()
            .map(|t| Coarsening::Day.apply(t).unwrap())
            .collect();
        let table = tabulate(&strings(&["page", "day"]), &person, &[pages, days], 3).unwrap();
        let find = |page: Option<&str>, day: Option<&str>| {
            table
                .cells
                .iter()
                .find(|c| c.key == [page.map(String::from), day.map(String::from)])
                .unwrap()
                .clone()
        };
        // /a on Nov 1 has one person (three visits): suppressed, and so is enough around it
        // that neither it nor /a on Nov 2 (one person) follows from the totals.
        let lonely = find(Some("/a"), Some("2026-11-01"));
        assert_eq!(lonely.suppression, Suppression::Primary);
        assert_eq!(lonely.people, None);
        assert_eq!(table.cells.len(), 4 + 2 + 2 + 1);
        assert_eq!(find(None, None).people, Some(7), "{table:#?}");
        for published in table.cells.iter().filter_map(|c| c.people) {
            assert!(published == 0 || published >= 3);
        }
    }

    #[test]
    fn one_way_tables_have_a_total_and_wide_tables_no_margins() {
        let person = [1, 2, 3, 4, 5, 6];
        let pages = strings(&["/a", "/a", "/a", "/a", "/b", "/c"]);
        let table = tabulate(
            &strings(&["page"]),
            &person,
            std::slice::from_ref(&pages),
            2,
        )
        .unwrap();
        assert_eq!(table.cells.len(), 4);
        assert_eq!(table.cells[3].key, [None]);
        let hidden = table.cells.iter().filter(|c| c.people.is_none()).count();
        assert_eq!(hidden, 2, "{table:?}");
        let wide = tabulate(
            &strings(&["a", "b", "c"]),
            &person,
            &[pages.clone(), pages.clone(), pages],
            2,
        )
        .unwrap();
        assert_eq!(wide.cells.len(), 3);
        assert!(wide.cells.iter().all(|c| c.key.iter().all(Option::is_some)));
    }

    #[test]
    fn bad_input_is_refused() {
        let by = strings(&["page"]);
        assert!(tabulate(&by, &[1], &[strings(&["/a"])], 0).is_err());
        assert!(tabulate(&by, &[1, 2], &[strings(&["/a"])], 3).is_err());
        assert!(tabulate(&[], &[1], &[], 3).is_err());
    }
}
