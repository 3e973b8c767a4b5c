//! Small-cell suppression with secondary suppression, so that suppressed counts cannot be
//! recomputed from the published ones.
//!
//! **Primary suppression.** A count of people `c` with `0 < c < threshold` is not published: a
//! cell of one or two people tells their neighbours, colleagues or family what they did.
//!
//! **Secondary suppression.** Published totals are sums of cells, so one suppressed cell in a row
//! is the row total minus the other cells. Write the 2-D table with its margins as an
//! (r+1)×(c+1) array in which every row and column adds up (a margin counts as minus the sum of
//! its line). The suppressed entries are the edges of a bipartite graph between row lines and
//! column lines, and an attacker's equations are one per line; their solutions differ exactly
//! along the graph's cycles. So a suppressed entry is recomputable exactly when it lies on no
//! cycle, i.e. when it is a *bridge*. For every bridge `(i, j)` this module also suppresses the
//! three other corners `(i, j')`, `(i', j)`, `(i', j')` of the cheapest rectangle (smallest sum of
//! newly hidden counts): the hypercube method of Giessing & Repsilber (2002) in two dimensions.
//! The new edges lie on that 4-cycle, and adding edges never makes a bridge, so every step removes
//! at least one bridge and the loop ends with none. A 1-D table has one equation (the total), so
//! it needs zero or at least two suppressed entries. Tables of three or more columns are
//! published without margins: there is then no equation to solve.
//!
//! **Limitation.** This prevents *exact* recomputation. Because counts are non-negative, an
//! attacker can still bound a suppressed cell by an interval (for example, two suppressed cells of
//! a row that add up to 3 each lie in 0‥3); the threshold itself already tells that a suppressed
//! primary cell is below it. Protection intervals (τ-ARGUS's "safety ranges") are not enforced.

use serde::Serialize;

/// Why an entry is not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Suppression {
    /// The count is published.
    Published,
    /// Below the threshold.
    Primary,
    /// Hidden so that a primary cell cannot be recomputed.
    Secondary,
}

/// Primary suppression of one count (alone, for tables published without margins).
pub fn primary(count: u64, threshold: u64) -> Suppression {
    if count > 0 && count < threshold {
        Suppression::Primary
    } else {
        Suppression::Published
    }
}

/// Suppression of a 1-D table: `entries` are the cells followed by the total.
pub fn suppress_line(entries: &[u64], threshold: u64) -> Vec<Suppression> {
    let mut marks: Vec<Suppression> = entries.iter().map(|&c| primary(c, threshold)).collect();
    let hidden = marks
        .iter()
        .filter(|&&m| m != Suppression::Published)
        .count();
    if hidden == 1 {
        let cheapest = (0..entries.len())
            .filter(|&i| marks[i] == Suppression::Published)
            .min_by_key(|&i| (entries[i], i));
        if let Some(i) = cheapest {
            marks[i] = Suppression::Secondary;
        }
    }
    marks
}

/// Suppression of a 2-D table given with its margins: `extended[i][j]` for i < r, j < c are the
/// cells, column c holds the row totals, row r the column totals and `[r][c]` the grand total.
pub fn suppress_grid(extended: &[Vec<u64>], threshold: u64) -> Vec<Vec<Suppression>> {
    let rows = extended.len();
    let columns = extended.first().map_or(0, Vec::len);
    let mut marks: Vec<Vec<Suppression>> = extended
        .iter()
        .map(|line| line.iter().map(|&c| primary(c, threshold)).collect())
        .collect();
    if rows < 2 || columns < 2 {
        return marks;
    }
    while let Some((i, j)) = find_bridge(&marks) {
        let (i2, j2) = cheapest_rectangle(extended, &marks, i, j);
        for (a, b) in [(i, j2), (i2, j), (i2, j2)] {
            if marks[a][b] == Suppression::Published {
                marks[a][b] = Suppression::Secondary;
            }
        }
    }
    marks
}

/// Whether some suppressed entry of a 2-D table with margins (marked as by [`suppress_grid`])
/// could be recomputed exactly from the published entries: `verify` asks this of a release.
pub fn any_recomputable(marks: &[Vec<Suppression>]) -> bool {
    let (rows, columns) = (marks.len(), marks.first().map_or(0, Vec::len));
    if rows >= 2 && columns >= 2 {
        find_bridge(marks).is_some()
    } else if rows == 1 {
        one_hidden(&marks[0])
    } else if columns == 1 {
        one_hidden(&marks.iter().map(|line| line[0]).collect::<Vec<_>>())
    } else {
        false
    }
}

/// A line with exactly one suppressed entry gives it away as the difference of the others.
fn one_hidden(line: &[Suppression]) -> bool {
    line.iter()
        .filter(|&&m| m != Suppression::Published)
        .count()
        == 1
}

/// The other corner `(i2, j2)` that hides the least count together with `(i, j)`.
fn cheapest_rectangle(
    extended: &[Vec<u64>],
    marks: &[Vec<Suppression>],
    i: usize,
    j: usize,
) -> (usize, usize) {
    let cost = |a: usize, b: usize| {
        if marks[a][b] == Suppression::Published {
            extended[a][b]
        } else {
            0
        }
    };
    let mut best: Option<(u64, usize, usize)> = None;
    for i2 in (0..extended.len()).filter(|&x| x != i) {
        for j2 in (0..extended[0].len()).filter(|&y| y != j) {
            let total = cost(i, j2) + cost(i2, j) + cost(i2, j2);
            if best.is_none_or(|(b, _, _)| total < b) {
                best = Some((total, i2, j2));
            }
        }
    }
    let (_, i2, j2) = best.expect("the table has at least two rows and two columns");
    (i2, j2)
}

/// A suppressed entry whose row and column are not connected through the other suppressed
/// entries (a bridge of the bipartite graph), if any.
fn find_bridge(marks: &[Vec<Suppression>]) -> Option<(usize, usize)> {
    let rows = marks.len();
    let columns = marks[0].len();
    let hidden = |a: usize, b: usize| marks[a][b] != Suppression::Published;
    (0..rows)
        .flat_map(|i| (0..columns).map(move |j| (i, j)))
        .filter(|&(i, j)| hidden(i, j))
        .find(|&(i, j)| {
            // Breadth-first search from row i to column j without the edge (i, j). Nodes: rows
            // 0..rows, then columns rows..rows+columns.
            let mut seen = vec![false; rows + columns];
            let mut queue = std::collections::VecDeque::from([i]);
            seen[i] = true;
            while let Some(node) = queue.pop_front() {
                let neighbours: Vec<usize> = if node < rows {
                    (0..columns)
                        .filter(|&b| hidden(node, b) && (node, b) != (i, j))
                        .map(|b| rows + b)
                        .collect()
                } else {
                    let b = node - rows;
                    (0..rows)
                        .filter(|&a| hidden(a, b) && (a, b) != (i, j))
                        .collect()
                };
                for next in neighbours {
                    if !seen[next] {
                        seen[next] = true;
                        queue.push_back(next);
                    }
                }
            }
            !seen[rows + j]
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The table with margins: cells, row totals in the last column, column totals in the last
    /// row.
    fn with_margins(cells: &[Vec<u64>]) -> Vec<Vec<u64>> {
        let columns = cells[0].len();
        let mut extended: Vec<Vec<u64>> = cells
            .iter()
            .map(|row| {
                let mut line = row.clone();
                line.push(row.iter().sum());
                line
            })
            .collect();
        let totals: Vec<u64> = (0..=columns)
            .map(|j| extended.iter().map(|row| row[j]).sum())
            .collect();
        extended.push(totals);
        extended
    }

    /// Independent check, by exact elimination instead of graphs: is the suppressed entry `target`
    /// determined by the line equations (each row and column of the extended table adds up)
    /// given the published entries? It is when its unit vector lies in the row space of the
    /// equations restricted to the unknowns, i.e. when adding it does not raise the rank.
    fn recomputable(marks: &[Vec<Suppression>], target: (usize, usize)) -> bool {
        let rows = marks.len();
        let columns = marks[0].len();
        let unknowns: Vec<(usize, usize)> = (0..rows)
            .flat_map(|i| (0..columns).map(move |j| (i, j)))
            .filter(|&(i, j)| marks[i][j] != Suppression::Published)
            .collect();
        // Each line says: its entries before the last add up to its last entry (the margin).
        // Row equations give the last column -1, column equations the last row -1.
        let equation = |on_line: &dyn Fn(usize, usize) -> bool,
                        margin: &dyn Fn(usize, usize) -> bool| {
            unknowns
                .iter()
                .map(|&(i, j)| match (on_line(i, j), margin(i, j)) {
                    (false, _) => 0,
                    (true, false) => 1,
                    (true, true) => -1,
                })
                .collect::<Vec<i128>>()
        };
        let mut equations: Vec<Vec<i128>> = Vec::new();
        for line in 0..rows {
            equations.push(equation(&|i, _| i == line, &|_, j| j == columns - 1));
        }
        for line in 0..columns {
            equations.push(equation(&|_, j| j == line, &|i, _| i == rows - 1));
        }
        let unit: Vec<i128> = unknowns.iter().map(|&u| i128::from(u == target)).collect();
        let without = rank(equations.clone());
        equations.push(unit);
        rank(equations) == without
    }

    /// Rank by fraction-free Gaussian elimination on integers.
    fn rank(mut matrix: Vec<Vec<i128>>) -> usize {
        let width = matrix.first().map_or(0, Vec::len);
        let mut rank = 0;
        for column in 0..width {
            let Some(pivot) = (rank..matrix.len()).find(|&r| matrix[r][column] != 0) else {
                continue;
            };
            matrix.swap(rank, pivot);
            for r in 0..matrix.len() {
                if r != rank && matrix[r][column] != 0 {
                    let (a, b) = (matrix[rank][column], matrix[r][column]);
                    let pivot_row = matrix[rank].clone();
                    for (x, p) in matrix[r].iter_mut().zip(&pivot_row) {
                        *x = *x * a - p * b;
                    }
                    let divisor = matrix[r].iter().fold(0i128, |g, &x| gcd(g, x.abs()));
                    if divisor > 1 {
                        matrix[r].iter_mut().for_each(|x| *x /= divisor);
                    }
                }
            }
            rank += 1;
        }
        rank
    }

    fn gcd(a: i128, b: i128) -> i128 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    #[test]
    fn any_recomputable_agrees_with_elimination_on_small_grids() {
        let mut marks = vec![vec![Suppression::Published; 3]; 3];
        assert!(!any_recomputable(&marks));
        marks[0][1] = Suppression::Primary;
        assert!(any_recomputable(&marks));
        marks[0][0] = Suppression::Secondary;
        marks[1][0] = Suppression::Secondary;
        marks[1][1] = Suppression::Secondary;
        assert!(!any_recomputable(&marks));
        let line = |hidden: usize| {
            let mut line = vec![Suppression::Published; 4];
            for mark in line.iter_mut().take(hidden) {
                *mark = Suppression::Primary;
            }
            line
        };
        assert!(any_recomputable(&[line(1)]));
        assert!(!any_recomputable(&[line(2)]));
        let column: Vec<Vec<Suppression>> = line(1).into_iter().map(|m| vec![m]).collect();
        assert!(any_recomputable(&column));
    }

    #[test]
    fn a_lonely_small_cell_gets_company() {
        let cells = vec![vec![10, 2, 10], vec![10, 10, 10], vec![12, 10, 10]];
        let extended = with_margins(&cells);
        let marks = suppress_grid(&extended, 5);
        assert_eq!(marks[0][1], Suppression::Primary);
        let hidden = marks
            .iter()
            .flatten()
            .filter(|&&m| m != Suppression::Published);
        assert_eq!(hidden.count(), 4, "a rectangle: {marks:?}");
        assert!(!recomputable(&marks, (0, 1)));
    }

    #[test]
    fn the_elimination_check_sees_a_lonely_cell() {
        let mut marks = vec![vec![Suppression::Published; 3]; 3];
        marks[0][1] = Suppression::Primary;
        assert!(recomputable(&marks, (0, 1)));
        // Two cells of one row: their column totals still give each away.
        marks[0][0] = Suppression::Primary;
        assert!(recomputable(&marks, (0, 1)));
        // A rectangle of four hides all four.
        marks[1][0] = Suppression::Secondary;
        marks[1][1] = Suppression::Secondary;
        assert!(!recomputable(&marks, (0, 1)));
    }

    #[test]
    fn one_dimensional_tables_never_hide_exactly_one_entry() {
        assert_eq!(
            suppress_line(&[10, 3, 7, 20], 5),
            [
                Suppression::Published,
                Suppression::Primary,
                Suppression::Secondary,
                Suppression::Published
            ]
        );
        assert!(suppress_line(&[10, 10, 20], 5)
            .iter()
            .all(|&m| m == Suppression::Published));
    }

    proptest! {
        #[test]
        fn no_published_cell_is_small_and_no_suppressed_cell_is_recomputable(
            rows in 1usize..5,
            columns in 1usize..5,
            values in proptest::collection::vec(0u64..12, 16),
            threshold in 1u64..8,
        ) {
            let cells: Vec<Vec<u64>> = (0..rows)
                .map(|i| (0..columns).map(|j| values[i * 4 + j]).collect())
                .collect();
            let extended = with_margins(&cells);
            let marks = suppress_grid(&extended, threshold);
            for (i, line) in extended.iter().enumerate() {
                for (j, &count) in line.iter().enumerate() {
                    if marks[i][j] == Suppression::Published {
                        prop_assert!(count == 0 || count >= threshold);
                    } else {
                        prop_assert!(!recomputable(&marks, (i, j)), "({i}, {j}) in {marks:?}");
                    }
                }
            }
        }

        #[test]
        fn one_dimensional_suppression_leaves_nothing_recomputable(
            values in proptest::collection::vec(0u64..12, 1..8),
            threshold in 1u64..8,
        ) {
            let mut entries = values.clone();
            entries.push(values.iter().sum());
            let marks = suppress_line(&entries, threshold);
            let hidden = marks.iter().filter(|&&m| m != Suppression::Published).count();
            prop_assert_ne!(hidden, 1);
            for (count, mark) in entries.iter().zip(&marks) {
                if *mark == Suppression::Published {
                    prop_assert!(*count == 0 || *count >= threshold);
                }
            }
        }
    }
}
