//! Frequency tables for any person-keyed input — a table with a schema, an access log, a
//! pre-aggregated contributions table: people and events per cell, with small cells protected.
//!
//! **Privacy unit.** `people` counts distinct *people* per cell (a person who visited a page 20
//! times on one day counts once in that day's cell), so the threshold of [`suppress`] protects
//! people, not records. `events` counts events (log lines: page views) with each person's
//! contribution to a cell bounded (`max_events_per_person`), so that no single heavy visitor
//! dominates a published figure. Margins count distinct people as such (a person in two cells of
//! a row counts once in the row) and are protected like cells; events margins are the sums of
//! the bounded cell events. Only cells with someone in them are listed. Key columns are coarsened
//! first ([`coarsen`]), so a raw timestamp or address never becomes a key.
//!
//! Every input streams into [`contributions::Contributions`] ((person, cell) → events), so memory
//! grows with the pairs, not the lines; [`tabulate`] and [`dp::dp_tabulate`] count from it.

pub mod coarsen;
pub mod config;
pub mod contributions;
pub mod dp;
pub mod input;
pub mod plan;
pub mod suppress;

use contributions::Aggregated;
use suppress::{primary, suppress_grid, suppress_line, Grid, Suppression};

/// One line of a frequency table, with its exact (or, for DP, noisy) counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCell {
    /// One key per `by` column; `None` in a margin (all values of that column).
    pub key: Vec<Option<String>>,
    /// People in the cell.
    pub people: u64,
    /// Events in the cell, each person's contribution bounded.
    pub events: u64,
    /// Whether the counts are published and, if not, why.
    pub suppression: Suppression,
}

/// A protected frequency table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrequencyTable {
    /// The key columns, in order.
    pub by: Vec<String>,
    /// Cells in key order, then margins (1-D: the total; 2-D: row margins, column margins,
    /// total).
    pub cells: Vec<TableCell>,
}

impl FrequencyTable {
    /// Lines whose counts are published.
    pub fn published(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| c.suppression == Suppression::Published)
            .count()
    }
}

/// Each value's position in its column's label order, per column.
fn ranks(labels: &[Vec<String>]) -> Vec<Vec<u32>> {
    labels
        .iter()
        .map(|column| {
            let mut order: Vec<u32> = (0..column.len() as u32).collect();
            order.sort_by(|&a, &b| column[a as usize].cmp(&column[b as usize]));
            let mut rank = vec![0u32; column.len()];
            for (position, &value) in order.iter().enumerate() {
                rank[value as usize] = position as u32;
            }
            rank
        })
        .collect()
}

/// People and bounded events per cell, from pairs sorted by person.
fn cell_counts(data: &Aggregated, max_events: u64) -> (Vec<u64>, Vec<u64>) {
    let mut people = vec![0u64; data.cells.len()];
    let mut events = vec![0u64; data.cells.len()];
    for pair in &data.pairs {
        people[pair.cell as usize] += 1;
        events[pair.cell as usize] += u64::from(pair.events).min(max_events);
    }
    (people, events)
}

/// Distinct people per value of `column` (a row or column margin): each person's values,
/// deduplicated, counted once.
fn people_per_value(data: &Aggregated, column: usize) -> Vec<u64> {
    let mut counts = vec![0u64; data.labels[column].len()];
    let mut mine: Vec<u32> = Vec::new();
    for person in data.pairs.chunk_by(|a, b| a.person == b.person) {
        mine.clear();
        mine.extend(person.iter().map(|p| data.cells[p.cell as usize][column]));
        mine.sort_unstable();
        mine.dedup();
        for &value in &mine {
            counts[value as usize] += 1;
        }
    }
    counts
}

/// Counts distinct people and bounded events per cell and suppresses small entries and what
/// would give them away (one status per line covers both counts: the pattern leaves no suppressed
/// entry on no cycle, whatever the counts).
pub fn tabulate(
    by: &[String],
    data: &Aggregated,
    threshold: u64,
    max_events: u64,
) -> FrequencyTable {
    let (people, events) = cell_counts(data, max_events);
    let rank = ranks(&data.labels);
    let mut order: Vec<u32> = (0..data.cells.len() as u32).collect();
    let position = |cell: u32| -> Vec<u32> {
        data.cells[cell as usize]
            .iter()
            .enumerate()
            .map(|(column, &value)| rank[column][value as usize])
            .collect()
    };
    order.sort_by_cached_key(|&cell| position(cell));
    let label = |column: usize, value: u32| Some(data.labels[column][value as usize].clone());
    let key_of = |cell: u32| -> Vec<Option<String>> {
        data.cells[cell as usize]
            .iter()
            .enumerate()
            .map(|(column, &value)| label(column, value))
            .collect()
    };
    let line = |key, people, events, suppression| TableCell {
        key,
        people,
        events,
        suppression,
    };
    let total_events: u64 = events.iter().sum();
    let cells = match by.len() {
        1 => {
            let mut entries: Vec<u64> = order.iter().map(|&c| people[c as usize]).collect();
            entries.push(data.people as u64);
            let marks = suppress_line(&entries, threshold);
            order
                .iter()
                .map(|&c| (key_of(c), events[c as usize]))
                .chain(std::iter::once((vec![None], total_events)))
                .zip(entries.iter().zip(marks))
                .map(|((key, events), (&people, mark))| line(key, people, events, mark))
                .collect()
        }
        2 => {
            let (rows, columns) = (data.labels[0].len(), data.labels[1].len());
            let row_people = people_per_value(data, 0);
            let column_people = people_per_value(data, 1);
            let mut row_events = vec![0u64; rows];
            let mut column_events = vec![0u64; columns];
            for (cell, values) in data.cells.iter().enumerate() {
                row_events[values[0] as usize] += events[cell];
                column_events[values[1] as usize] += events[cell];
            }
            // The grid in label order: rows and columns by rank, margins last.
            let mut entries: Vec<(u32, u32, u64)> =
                Vec::with_capacity(order.len() + rows + columns + 1);
            let mut keys: Vec<(Vec<Option<String>>, u64)> = Vec::with_capacity(entries.capacity());
            for &cell in &order {
                let values = &data.cells[cell as usize];
                entries.push((
                    rank[0][values[0] as usize],
                    rank[1][values[1] as usize],
                    people[cell as usize],
                ));
                keys.push((key_of(cell), events[cell as usize]));
            }
            let by_rank = |column: usize| -> Vec<u32> {
                let mut values: Vec<u32> = (0..data.labels[column].len() as u32).collect();
                values.sort_by_key(|&v| rank[column][v as usize]);
                values
            };
            for value in by_rank(0) {
                entries.push((
                    rank[0][value as usize],
                    columns as u32,
                    row_people[value as usize],
                ));
                keys.push((vec![label(0, value), None], row_events[value as usize]));
            }
            for value in by_rank(1) {
                entries.push((
                    rows as u32,
                    rank[1][value as usize],
                    column_people[value as usize],
                ));
                keys.push((vec![None, label(1, value)], column_events[value as usize]));
            }
            entries.push((rows as u32, columns as u32, data.people as u64));
            keys.push((vec![None, None], total_events));
            let marks = suppress_grid(
                &Grid {
                    rows: rows + 1,
                    columns: columns + 1,
                    entries: entries.clone(),
                },
                threshold,
            );
            keys.into_iter()
                .zip(entries)
                .zip(marks)
                .map(|(((key, events), (_, _, people)), mark)| line(key, people, events, mark))
                .collect()
        }
        _ => order
            .iter()
            .map(|&c| {
                let people = people[c as usize];
                line(
                    key_of(c),
                    people,
                    events[c as usize],
                    primary(people, threshold),
                )
            })
            .collect(),
    };
    FrequencyTable {
        by: by.to_vec(),
        cells,
    }
}

#[cfg(test)]
mod tests {
    use super::contributions::{person_key, Contributions};
    use super::*;

    /// Contributions from (person, keys, events) rows.
    fn aggregate(rows: &[(&str, &[&str], u64)]) -> Aggregated {
        let width = rows[0].1.len();
        let mut contributions = Contributions::new(width);
        for (who, keys, events) in rows {
            let person = contributions.person(person_key(who));
            let values: Vec<u32> = keys
                .iter()
                .enumerate()
                .map(|(column, key)| contributions.text_value(column, key))
                .collect();
            contributions.add(person, &values, *events);
        }
        contributions.finish()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn margins_count_distinct_people_and_absent_cells_are_not_listed() {
        // Person p1 is on /a both days (two cells, one row); five people on /b on day 1; /a on
        // day 2 also has four others.
        let mut rows: Vec<(&str, &[&str], u64)> =
            vec![("p1", &["/a", "d1"], 30), ("p1", &["/a", "d2"], 1)];
        let b_people = ["b1", "b2", "b3", "b4", "b5"];
        for who in b_people {
            rows.push((who, &["/b", "d1"], 2));
        }
        for who in ["a1", "a2", "a3", "a4"] {
            rows.push((who, &["/a", "d2"], 1));
        }
        let data = aggregate(&rows);
        let table = tabulate(&strings(&["page", "day"]), &data, 1, 5);
        let find = |key: [Option<&str>; 2]| {
            table
                .cells
                .iter()
                .find(|c| c.key == key.map(|k| k.map(String::from)))
                .cloned()
        };
        // /b on d2 had nobody: not listed.
        assert!(find([Some("/b"), Some("d2")]).is_none());
        assert_eq!(table.cells.len(), 3 + 2 + 2 + 1);
        // The row /a counts p1 once: 1 + 4 = 5 people, not 1 + 5.
        let row = find([Some("/a"), None]).unwrap();
        assert_eq!(row.people, 5);
        // p1's 30 views of /a on d1 count as 5 (the bound); the row's events are the sum.
        assert_eq!(find([Some("/a"), Some("d1")]).unwrap().events, 5);
        assert_eq!(row.events, 5 + 1 + 4);
        assert_eq!(find([None, None]).unwrap().people, 10);
    }

    #[test]
    fn small_entries_are_suppressed_and_protected() {
        let mut rows: Vec<(String, Vec<&str>, u64)> = Vec::new();
        for i in 0..12 {
            rows.push((format!("a{i}"), vec!["/a", "d1"], 1));
            rows.push((format!("b{i}"), vec!["/b", "d1"], 1));
            rows.push((format!("c{i}"), vec!["/b", "d2"], 1));
            rows.push((format!("d{i}"), vec!["/c", "d2"], 1));
            rows.push((format!("e{i}"), vec!["/c", "d1"], 1));
        }
        rows.push(("lonely".into(), vec!["/a", "d2"], 1));
        let borrowed: Vec<(&str, &[&str], u64)> = rows
            .iter()
            .map(|(w, k, e)| (w.as_str(), k.as_slice(), *e))
            .collect();
        let table = tabulate(&strings(&["page", "day"]), &aggregate(&borrowed), 10, 5);
        let lonely = table
            .cells
            .iter()
            .find(|c| c.key == [Some("/a".to_string()), Some("d2".to_string())])
            .unwrap();
        assert_eq!(lonely.suppression, Suppression::Primary);
        let hidden = table
            .cells
            .iter()
            .filter(|c| c.suppression != Suppression::Published)
            .count();
        assert_eq!(hidden, 4, "{table:#?}");
        for cell in &table.cells {
            if cell.suppression == Suppression::Published {
                assert!(cell.people >= 10);
            }
        }
    }

    #[test]
    fn one_way_tables_have_a_total_and_wide_tables_no_margins() {
        let rows: Vec<(&str, &[&str], u64)> = vec![
            ("1", &["/a", "x", "y"], 1),
            ("2", &["/a", "x", "y"], 1),
            ("3", &["/a", "x", "y"], 1),
            ("4", &["/a", "x", "y"], 1),
            ("5", &["/b", "x", "y"], 1),
            ("6", &["/c", "x", "y"], 1),
        ];
        let data = aggregate(&rows);
        let wide = tabulate(&strings(&["a", "b", "c"]), &data, 2, 5);
        assert_eq!(wide.cells.len(), 3);
        assert!(wide.cells.iter().all(|c| c.key.iter().all(Option::is_some)));
        let one: Vec<(&str, &[&str], u64)> =
            rows.iter().map(|(w, k, e)| (*w, &k[..1], *e)).collect();
        let table = tabulate(&strings(&["page"]), &aggregate(&one), 2, 5);
        assert_eq!(table.cells.len(), 4);
        assert_eq!(table.cells[3].key, [None]);
        assert_eq!(table.cells[3].people, 6);
        assert_eq!(table.published(), 2, "{table:?}");
    }
}
