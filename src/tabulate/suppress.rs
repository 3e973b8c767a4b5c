//! Small-cell suppression with secondary suppression, so that suppressed counts cannot be
//! recomputed from the published ones, in time near-linear in the number of entries.
//!
//! **Primary suppression.** A count of people `c` with `0 < c < threshold` is not published: a
//! cell of one or two people tells their neighbours, colleagues or family what they did. Margins
//! (distinct people of a row, a column, the whole table) are protected the same way.
//!
//! **Secondary suppression.** A reader can treat each line as an equation: its cells add up to its
//! margin. Our margins count distinct people, so the equation need not hold, but it does whenever
//! nobody is in two cells of the line, and a reader cannot rule that out: the attacker we defend
//! against assumes it holds (the strongest case). Absent cells are known zeros. Write the table
//! with its margins as a sparse (r+1)×(c+1) array whose present entries are the cells with someone
//! in them and the margins. The suppressed entries are the edges of a bipartite graph between row
//! lines and column lines; the attacker's solutions differ exactly along the graph's cycles, so a
//! suppressed entry is recomputable exactly when it is a *bridge* of that graph (on no cycle).
//!
//! **Near-linear.** Tarjan's bridge-finding (1974) lists every bridge in one depth-first search,
//! O(entries). For each bridge `(i, j)` we hide the three other corners `(i, j')`, `(i', j)`,
//! `(i', j')` of a rectangle of present entries (the hypercube method of Giessing & Repsilber
//! 2002, in two dimensions), choosing among a bounded set of candidates — the entries of row `i`
//! and column `j` that are already hidden, their [`CANDIDATES`] smallest, and the margins — the
//! rectangle that hides the fewest people. The margins always close a rectangle (a cell's row
//! margin, column margin and the grand total are present), so a choice always exists. A bridge
//! whose ends are already joined by the rectangles of this round is skipped: it lies on a cycle
//! of them. Every new edge lies on its 4-cycle and adding edges never makes a bridge, so one round
//! removes every bridge; a second search confirms it. Cost: O(entries · log entries) to sort,
//! plus O(CANDIDATES²) per bridge — no quadratic search over the table.
//!
//! A 1-D table has one equation (the total), so it needs zero or at least two suppressed entries.
//! Tables of three or more columns are published without margins: there is then no equation.
//!
//! **Limitation.** This prevents *exact* recomputation. Because counts are non-negative, an
//! attacker can still bound a suppressed cell by an interval (two suppressed cells of a row that
//! add up to 3 each lie in 0‥3); the threshold already tells that a primary cell is below it.
//! Protection intervals (τ-ARGUS's "safety ranges") are not enforced.

use crate::fast_hash::FastMap;

/// Why an entry is not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppression {
    /// The count is published.
    Published,
    /// Below the threshold.
    Primary,
    /// Hidden so that a primary entry cannot be recomputed.
    Secondary,
}

/// How many of the cheapest published entries of a row (and of a column) a rectangle may use,
/// besides the hidden ones and the margins: enough to find cheap rectangles in sparse tables,
/// small enough that each bridge costs a constant.
pub const CANDIDATES: usize = 24;

/// Primary suppression of one count.
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

/// A 2-D table with its margins, sparse: `rows` and `columns` count the margin line too (the
/// last row holds the column margins, the last column the row margins, their corner the grand
/// total); `entries` are the present `(row, column, count)`, each position at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// Rows, the margin row included.
    pub rows: usize,
    /// Columns, the margin column included.
    pub columns: usize,
    /// The present entries.
    pub entries: Vec<(u32, u32, u64)>,
}

/// Suppression of a 2-D table with margins (see the module documentation); one mark per entry.
pub fn suppress_grid(grid: &Grid, threshold: u64) -> Vec<Suppression> {
    let entries = &grid.entries;
    let mut marks: Vec<Suppression> = entries.iter().map(|e| primary(e.2, threshold)).collect();
    let at: FastMap<(u32, u32), usize> = entries
        .iter()
        .enumerate()
        .map(|(e, &(i, j, _))| ((i, j), e))
        .collect();
    // Each line's entries, smallest count first (ties by position, for determinism).
    let mut in_row: Vec<Vec<usize>> = vec![Vec::new(); grid.rows];
    let mut in_column: Vec<Vec<usize>> = vec![Vec::new(); grid.columns];
    for (e, &(i, j, _)) in entries.iter().enumerate() {
        in_row[i as usize].push(e);
        in_column[j as usize].push(e);
    }
    for line in in_row.iter_mut().chain(in_column.iter_mut()) {
        line.sort_by_key(|&e| (entries[e].2, entries[e].0, entries[e].1));
    }
    let mut hidden_in_row: Vec<Vec<usize>> = vec![Vec::new(); grid.rows];
    let mut hidden_in_column: Vec<Vec<usize>> = vec![Vec::new(); grid.columns];
    for (e, &(i, j, _)) in entries.iter().enumerate() {
        if marks[e] != Suppression::Published {
            hidden_in_row[i as usize].push(e);
            hidden_in_column[j as usize].push(e);
        }
    }
    let positions: Vec<(u32, u32)> = entries.iter().map(|&(i, j, _)| (i, j)).collect();
    loop {
        let hidden: Vec<bool> = marks.iter().map(|&m| m != Suppression::Published).collect();
        let found = bridges(grid.rows, grid.columns, &positions, &hidden);
        if found.is_empty() {
            return marks;
        }
        let mut joined = UnionFind::new(grid.rows + grid.columns);
        for bridge in found {
            let (i, j, _) = entries[bridge];
            let (i, j) = (i as usize, j as usize);
            if joined.find(i) == joined.find(grid.rows + j) {
                continue;
            }
            let search = Search {
                entries,
                marks: &marks,
                at: &at,
            };
            let Some((i2, j2, corners)) = search.rectangle(
                i,
                j,
                (&in_row[i], &hidden_in_row[i]),
                (&in_column[j], &hidden_in_column[j]),
                (grid.rows - 1, grid.columns - 1),
            ) else {
                // Only a table without its margins lacks a rectangle; hide all that is left
                // rather than publish something recomputable.
                for mark in marks.iter_mut().filter(|m| **m == Suppression::Published) {
                    *mark = Suppression::Secondary;
                }
                return marks;
            };
            for e in corners {
                if marks[e] == Suppression::Published {
                    marks[e] = Suppression::Secondary;
                    hidden_in_row[entries[e].0 as usize].push(e);
                    hidden_in_column[entries[e].1 as usize].push(e);
                }
            }
            for node in [i2, grid.rows + j, grid.rows + j2] {
                joined.union(i, node);
            }
        }
    }
}

/// The state a rectangle search reads.
struct Search<'a> {
    entries: &'a [(u32, u32, u64)],
    marks: &'a [Suppression],
    at: &'a FastMap<(u32, u32), usize>,
}

impl Search<'_> {
    /// People a corner would newly hide.
    fn cost(&self, e: usize) -> u64 {
        if self.marks[e] == Suppression::Published {
            self.entries[e].2
        } else {
            0
        }
    }

    /// The cheapest rectangle through `(i, j)` among the candidates: `(i2, j2, [the entries at
    /// (i, j2), (i2, j), (i2, j2)])`.
    fn rectangle(
        &self,
        i: usize,
        j: usize,
        row: (&[usize], &[usize]),
        column: (&[usize], &[usize]),
        margins: (usize, usize),
    ) -> Option<(usize, usize, [usize; 3])> {
        let candidates = |line: (&[usize], &[usize]),
                          other: usize,
                          margin: usize,
                          pick: &dyn Fn(usize) -> usize| {
            let mut chosen: Vec<usize> = line
                .1
                .iter()
                .take(CANDIDATES)
                .chain(line.0.iter().take(CANDIDATES))
                .map(|&e| pick(e))
                .chain(std::iter::once(margin))
                .filter(|&k| k != other)
                .collect();
            chosen.sort_unstable();
            chosen.dedup();
            chosen
        };
        let columns = candidates(row, j, margins.1, &|e| self.entries[e].1 as usize);
        let rows = candidates(column, i, margins.0, &|e| self.entries[e].0 as usize);
        let get = |a: usize, b: usize| self.at.get(&(a as u32, b as u32)).copied();
        let mut best: Option<(u64, usize, usize, [usize; 3])> = None;
        for &j2 in &columns {
            let Some(side) = get(i, j2) else { continue };
            for &i2 in &rows {
                let (Some(top), Some(corner)) = (get(i2, j), get(i2, j2)) else {
                    continue;
                };
                let cost = self.cost(side) + self.cost(top) + self.cost(corner);
                if best.is_none_or(|(b, ..)| cost < b) {
                    best = Some((cost, i2, j2, [side, top, corner]));
                }
            }
        }
        best.map(|(_, i2, j2, corners)| (i2, j2, corners))
    }
}

/// The hidden entries that are bridges of the bipartite graph of hidden entries (rows are nodes
/// `0..rows`, columns `rows..rows+columns`): each could be recomputed exactly from the published
/// entries. Tarjan's algorithm, iterative, O(rows + columns + entries).
pub fn bridges(
    rows: usize,
    columns: usize,
    positions: &[(u32, u32)],
    hidden: &[bool],
) -> Vec<usize> {
    let nodes = rows + columns;
    // Adjacency in compressed form: for each node, (neighbour, entry).
    let mut degree = vec![0usize; nodes + 1];
    for (e, &(i, j)) in positions.iter().enumerate() {
        if hidden[e] {
            degree[i as usize] += 1;
            degree[rows + j as usize] += 1;
        }
    }
    let mut start = vec![0usize; nodes + 1];
    for node in 0..nodes {
        start[node + 1] = start[node] + degree[node];
    }
    let mut fill = start.clone();
    let mut adjacency = vec![(0usize, 0usize); start[nodes]];
    for (e, &(i, j)) in positions.iter().enumerate() {
        if hidden[e] {
            let (a, b) = (i as usize, rows + j as usize);
            adjacency[fill[a]] = (b, e);
            fill[a] += 1;
            adjacency[fill[b]] = (a, e);
            fill[b] += 1;
        }
    }
    const UNSEEN: usize = usize::MAX;
    let mut discovered = vec![UNSEEN; nodes];
    let mut low = vec![0usize; nodes];
    let mut time = 0;
    let mut found = Vec::new();
    // (node, the entry it was reached by, next adjacency position)
    let mut stack: Vec<(usize, usize, usize)> = Vec::new();
    for root in 0..nodes {
        if discovered[root] != UNSEEN || start[root] == start[root + 1] {
            continue;
        }
        discovered[root] = time;
        low[root] = time;
        time += 1;
        stack.push((root, UNSEEN, start[root]));
        while let Some(top) = stack.last_mut() {
            let (node, via, position) = *top;
            if position < start[node + 1] {
                top.2 += 1;
                let (next, entry) = adjacency[position];
                if entry == via {
                    continue;
                }
                if discovered[next] == UNSEEN {
                    discovered[next] = time;
                    low[next] = time;
                    time += 1;
                    stack.push((next, entry, start[next]));
                } else {
                    low[node] = low[node].min(discovered[next]);
                }
            } else {
                stack.pop();
                if let Some(&(parent, _, _)) = stack.last() {
                    low[parent] = low[parent].min(low[node]);
                    if low[node] > discovered[parent] {
                        found.push(via);
                    }
                }
            }
        }
    }
    found.sort_unstable();
    found
}

/// Disjoint sets with path halving, over row and column nodes.
struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(size: usize) -> Self {
        UnionFind((0..size).collect())
    }

    fn find(&mut self, mut node: usize) -> usize {
        while self.0[node] != node {
            self.0[node] = self.0[self.0[node]];
            node = self.0[node];
        }
        node
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A sparse table with additive margins (the attacker's strongest case): cells with a count
    /// of 0 are absent.
    fn with_margins(cells: &[Vec<u64>]) -> Grid {
        let (r, c) = (cells.len(), cells[0].len());
        let mut entries = Vec::new();
        let mut column_totals = vec![0u64; c];
        for (i, row) in cells.iter().enumerate() {
            for (j, &count) in row.iter().enumerate() {
                if count > 0 {
                    entries.push((i as u32, j as u32, count));
                    column_totals[j] += count;
                }
            }
            let total: u64 = row.iter().sum();
            if total > 0 {
                entries.push((i as u32, c as u32, total));
            }
        }
        for (j, &total) in column_totals.iter().enumerate() {
            if total > 0 {
                entries.push((r as u32, j as u32, total));
            }
        }
        let grand: u64 = column_totals.iter().sum();
        if grand > 0 {
            entries.push((r as u32, c as u32, grand));
        }
        Grid {
            rows: r + 1,
            columns: c + 1,
            entries,
        }
    }

    /// Independent check, by exact elimination instead of graphs: is the suppressed entry
    /// `target` determined by the line equations (each line's entries add up to its margin;
    /// absent entries are 0) given the published entries? It is when its unit vector lies in the
    /// row space of the equations restricted to the unknowns.
    fn recomputable(grid: &Grid, marks: &[Suppression], target: usize) -> bool {
        let unknowns: Vec<usize> = (0..grid.entries.len())
            .filter(|&e| marks[e] != Suppression::Published)
            .collect();
        let (last_row, last_column) = (grid.rows as u32 - 1, grid.columns as u32 - 1);
        let mut equations: Vec<Vec<i128>> = Vec::new();
        for line in 0..grid.rows as u32 {
            equations.push(
                unknowns
                    .iter()
                    .map(|&e| {
                        let (i, j, _) = grid.entries[e];
                        match (i == line, j == last_column) {
                            (false, _) => 0,
                            (true, false) => 1,
                            (true, true) => -1,
                        }
                    })
                    .collect(),
            );
        }
        for line in 0..grid.columns as u32 {
            equations.push(
                unknowns
                    .iter()
                    .map(|&e| {
                        let (i, j, _) = grid.entries[e];
                        match (j == line, i == last_row) {
                            (false, _) => 0,
                            (true, false) => 1,
                            (true, true) => -1,
                        }
                    })
                    .collect(),
            );
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
    fn a_lonely_small_cell_gets_company() {
        let grid = with_margins(&[vec![10, 2, 10], vec![10, 10, 10], vec![12, 10, 10]]);
        let marks = suppress_grid(&grid, 5);
        let lonely = grid.entries.iter().position(|e| e.2 == 2).unwrap();
        assert_eq!(marks[lonely], Suppression::Primary);
        let hidden = marks.iter().filter(|&&m| m != Suppression::Published);
        assert_eq!(hidden.count(), 4, "a rectangle: {marks:?}");
        assert!(!recomputable(&grid, &marks, lonely));
    }

    #[test]
    fn the_elimination_check_and_the_bridges_agree_on_a_lonely_cell() {
        let grid = with_margins(&[vec![10, 2], vec![10, 10]]);
        let positions: Vec<(u32, u32)> = grid.entries.iter().map(|e| (e.0, e.1)).collect();
        let mut marks: Vec<Suppression> = grid.entries.iter().map(|e| primary(e.2, 5)).collect();
        let lonely = grid.entries.iter().position(|e| e.2 == 2).unwrap();
        assert!(recomputable(&grid, &marks, lonely));
        let hidden: Vec<bool> = marks.iter().map(|&m| m != Suppression::Published).collect();
        assert_eq!(bridges(3, 3, &positions, &hidden), [lonely]);
        marks = suppress_grid(&grid, 5);
        let hidden: Vec<bool> = marks.iter().map(|&m| m != Suppression::Published).collect();
        assert!(bridges(3, 3, &positions, &hidden).is_empty());
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

    #[test]
    fn a_large_sparse_table_is_protected_quickly() {
        // 1,500 rows × 365 columns, one cell in seven present: linear work, not quadratic.
        let cells: Vec<Vec<u64>> = (0..1500u64)
            .map(|i| {
                (0..365u64)
                    .map(|j| {
                        let h = (i * 7919 + j * 104_729) % 97;
                        if h % 7 == 0 {
                            h % 23
                        } else {
                            0
                        }
                    })
                    .collect()
            })
            .collect();
        let grid = with_margins(&cells);
        let marks = suppress_grid(&grid, 10);
        let positions: Vec<(u32, u32)> = grid.entries.iter().map(|e| (e.0, e.1)).collect();
        let hidden: Vec<bool> = marks.iter().map(|&m| m != Suppression::Published).collect();
        assert!(bridges(grid.rows, grid.columns, &positions, &hidden).is_empty());
        for (e, &(_, _, count)) in grid.entries.iter().enumerate() {
            if marks[e] == Suppression::Published {
                assert!(count >= 10);
            }
        }
    }

    proptest! {
        #[test]
        fn no_published_entry_is_small_and_no_suppressed_entry_is_recomputable(
            rows in 1usize..5,
            columns in 1usize..5,
            values in proptest::collection::vec(0u64..12, 16),
            threshold in 1u64..8,
        ) {
            let cells: Vec<Vec<u64>> = (0..rows)
                .map(|i| (0..columns).map(|j| values[i * 4 + j]).collect())
                .collect();
            let grid = with_margins(&cells);
            let marks = suppress_grid(&grid, threshold);
            for (e, &(_, _, count)) in grid.entries.iter().enumerate() {
                if marks[e] == Suppression::Published {
                    prop_assert!(count >= threshold);
                } else {
                    prop_assert!(!recomputable(&grid, &marks, e), "{e} in {marks:?} of {grid:?}");
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
