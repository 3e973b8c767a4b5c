//! MDAV microaggregation (Maximum Distance to Average Vector) with groups of k distinct people.
//!
//! **Guarantee.** Every returned group holds records of at least `k` distinct people, and every
//! input record is in exactly one group. When the group means are released, each released row is
//! shared by at least k people, however many records one person contributed.
//!
//! **Precondition.** The input holds at least `k` distinct people and `k ≥ 1`.
//!
//! **Method.** Domingo-Ferrer & Torra (2005), "Ordinal, continuous and heterogeneous k-anonymity
//! through microaggregation", with one change: a group grows around its seed record until it
//! holds k distinct *people*, not k records, so that near-duplicate sets of one person never make
//! up a group on their own. Each group removes at most k people from the pool, which keeps the
//! usual MDAV invariants (the final remainder always has ≥ k people).
//!
//! **Scale.** Exact MDAV costs O(n² d / k). Above `exact_limit` records the input is first cut into
//! cells by recursive median splits on the widest standardized coordinate (as Mondrian does), each
//! cell keeping ≥ 2k people, and MDAV runs exactly inside each cell, in parallel. The cost becomes
//! O(n · exact_limit · d / k), near-linear in n; the information-loss difference is measured in
//! BENCHMARKS.md.

use std::collections::HashMap;

use rayon::prelude::*;

/// Points in row-major order with `dim` coordinates each, and the person each point belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Points<'a> {
    /// All coordinates, `dim` per point, one point after another.
    pub coordinates: &'a [f64],
    /// Coordinates per point.
    pub dim: usize,
    /// The person of each point: groups count distinct people by it, so that several sets of one
    /// person never make up a group on their own.
    pub persons: &'a [u32],
}

impl Points<'_> {
    fn point(&self, index: usize) -> &[f64] {
        &self.coordinates[index * self.dim..(index + 1) * self.dim]
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.persons.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.persons.is_empty()
    }
}

/// Parameters of a microaggregation run, checked at construction.
#[derive(Debug, Clone, Copy)]
pub struct Mdav {
    k: usize,
    exact_limit: usize,
}

impl Mdav {
    /// `k ≥ 1` people per group; inputs larger than `exact_limit` records are partitioned first
    /// (`exact_limit` is raised to at least 4k so that partition cells can hold two groups).
    pub fn new(k: usize, exact_limit: usize) -> Self {
        assert!(k >= 1, "k must be at least 1");
        Mdav {
            k,
            exact_limit: exact_limit.max(4 * k),
        }
    }

    /// Groups the points; returns groups of point indices, each with ≥ k distinct people.
    pub fn groups(&self, points: Points<'_>) -> Vec<Vec<usize>> {
        let all: Vec<usize> = (0..points.len()).collect();
        debug_assert!(
            distinct_people(points, &all) >= self.k,
            "precondition: at least k people"
        );
        let cells = self.partition(points, all);
        cells
            .into_par_iter()
            .map(|cell| exact_mdav(points, cell, self.k))
            .flatten_iter()
            .collect()
    }

    /// Recursive median splits until every cell has at most `exact_limit` records.
    fn partition(&self, points: Points<'_>, indices: Vec<usize>) -> Vec<Vec<usize>> {
        let mut done = Vec::new();
        let mut pending = vec![indices];
        while let Some(mut cell) = pending.pop() {
            if cell.len() <= self.exact_limit {
                done.push(cell);
                continue;
            }
            let axis = widest_axis(points, &cell);
            // Ordered by (coordinate, index), a total order, through keys read once: sorting
            // them reads memory in sequence instead of two scattered rows per comparison.
            let mut keyed: Vec<(u64, usize)> = cell
                .iter()
                .map(|&i| (order_key(points.point(i)[axis]), i))
                .collect();
            keyed.sort_unstable();
            cell = keyed.into_iter().map(|(_, i)| i).collect();
            let right = cell.split_off(cell.len() / 2);
            if distinct_people(points, &cell) >= 2 * self.k
                && distinct_people(points, &right) >= 2 * self.k
            {
                pending.push(right);
                pending.push(cell);
            } else {
                cell.extend(right);
                done.push(cell);
            }
        }
        done.sort_unstable_by_key(|cell| cell[0]);
        done
    }
}

fn distinct_people(points: Points<'_>, indices: &[usize]) -> usize {
    let mut persons: Vec<u32> = indices.iter().map(|&i| points.persons[i]).collect();
    persons.sort_unstable();
    persons.dedup();
    persons.len()
}

/// The axis of the widest range over `indices` (the lowest axis on ties). The ranges of all axes
/// are gathered in one pass over the rows, which reads each row once.
fn widest_axis(points: Points<'_>, indices: &[usize]) -> usize {
    let mut range = vec![(f64::INFINITY, f64::NEG_INFINITY); points.dim];
    for &i in indices {
        for ((lo, hi), &x) in range.iter_mut().zip(points.point(i)) {
            *lo = lo.min(x);
            *hi = hi.max(x);
        }
    }
    range
        .iter()
        .enumerate()
        .map(|(axis, (low, high))| (axis, high - low))
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |(axis, _)| axis)
}

/// A float's bits mapped so that unsigned integer order is `f64::total_cmp` order.
fn order_key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits & (1 << 63) == 0 {
        bits | (1 << 63)
    } else {
        !bits
    }
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The squared distance of each row of `rows` (indices of rows of `dim` values in
/// `coordinates`) to `target`, as [`squared_distance`] sums it (in coordinate order, so the
/// same to the last bit). Four rows are summed side by side: their sums are independent, so the
/// processor overlaps their additions instead of waiting for each before the next.
fn squared_distances(coordinates: &[f64], dim: usize, rows: &[usize], target: &[f64]) -> Vec<f64> {
    let target = &target[..dim];
    let mut distances = Vec::with_capacity(rows.len());
    let mut fours = rows.chunks_exact(4);
    for four in &mut fours {
        let row = |r: usize| &coordinates[four[r] * dim..][..dim];
        // Four named sums, so that they stay in registers, each from −0.0 as `Iterator::sum`.
        let (mut s0, mut s1, mut s2, mut s3) = (-0.0f64, -0.0f64, -0.0f64, -0.0f64);
        for ((((&t, &x0), &x1), &x2), &x3) in target
            .iter()
            .zip(row(0))
            .zip(row(1))
            .zip(row(2))
            .zip(row(3))
        {
            s0 += (x0 - t) * (x0 - t);
            s1 += (x1 - t) * (x1 - t);
            s2 += (x2 - t) * (x2 - t);
            s3 += (x3 - t) * (x3 - t);
        }
        distances.extend_from_slice(&[s0, s1, s2, s3]);
    }
    for &i in fours.remainder() {
        distances.push(squared_distance(&coordinates[i * dim..][..dim], target));
    }
    distances
}

/// The pool of records not yet grouped, with a count of records per person.
///
/// A pool works on a copy of its cell: the cell's coordinates side by side (the distance loops
/// then stream through a few hundred kilobytes instead of gathering rows from the whole table)
/// and its people numbered densely. Ties are still broken by the records' indices in the whole
/// input, so the groups are the same as on the scattered rows.
struct Pool {
    coordinates: Vec<f64>,
    dim: usize,
    /// The input index of each local record.
    index: Vec<usize>,
    /// The dense person number of each local record.
    person: Vec<u32>,
    /// Local records not yet grouped, in cell order.
    remaining: Vec<usize>,
    records_of_person: Vec<u32>,
    people: usize,
}

impl Pool {
    fn new(points: Points<'_>, cell: Vec<usize>) -> Self {
        let dim = points.dim;
        let mut coordinates = Vec::with_capacity(cell.len() * dim);
        for &i in &cell {
            coordinates.extend_from_slice(points.point(i));
        }
        let mut numbering: HashMap<u32, u32> = HashMap::new();
        let person: Vec<u32> = cell
            .iter()
            .map(|&i| {
                let next = numbering.len() as u32;
                *numbering.entry(points.persons[i]).or_insert(next)
            })
            .collect();
        let mut records_of_person = vec![0u32; numbering.len()];
        for &p in &person {
            records_of_person[p as usize] += 1;
        }
        Pool {
            coordinates,
            dim,
            remaining: (0..cell.len()).collect(),
            index: cell,
            person,
            records_of_person,
            people: numbering.len(),
        }
    }

    fn point(&self, local: usize) -> &[f64] {
        &self.coordinates[local * self.dim..(local + 1) * self.dim]
    }

    fn people(&self) -> usize {
        self.people
    }

    fn centroid(&self) -> Vec<f64> {
        let mut sum = vec![0.0; self.dim];
        for &i in &self.remaining {
            for (s, x) in sum.iter_mut().zip(self.point(i)) {
                *s += x;
            }
        }
        let n = self.remaining.len() as f64;
        sum.iter_mut().for_each(|s| *s /= n);
        sum
    }

    /// The remaining record farthest from `target` (lowest input index on ties), as a local
    /// index.
    fn farthest_from(&self, target: &[f64]) -> usize {
        let mut best = (f64::NEG_INFINITY, usize::MAX, usize::MAX);
        let distances = squared_distances(&self.coordinates, self.dim, &self.remaining, target);
        for (&i, &d) in self.remaining.iter().zip(&distances) {
            if d > best.0 || (d == best.0 && self.index[i] < best.1) {
                best = (d, self.index[i], i);
            }
        }
        best.2
    }

    /// Removes the records nearest to local record `seed` until they hold `k` distinct people;
    /// returns their input indices.
    fn take_nearest_people(&mut self, seed: usize, k: usize) -> Vec<usize> {
        let target = self.point(seed).to_vec();
        // (distance, input index, local index): sorted by distance, then input index.
        let distances = squared_distances(&self.coordinates, self.dim, &self.remaining, &target);
        let mut by_distance: Vec<(f64, usize, usize)> = self
            .remaining
            .iter()
            .zip(distances)
            .map(|(&i, d)| (d, self.index[i], i))
            .collect();
        let order = |a: &(f64, usize, usize), b: &(f64, usize, usize)| {
            a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
        };
        // Usually k records hold k people; look at a few more first, then at everything.
        let mut window = (2 * k).min(by_distance.len());
        loop {
            if window < by_distance.len() {
                by_distance.select_nth_unstable_by(window, order);
            }
            by_distance[..window].sort_unstable_by(order);
            let mut group = Vec::with_capacity(k);
            let mut people: Vec<u32> = Vec::with_capacity(k);
            for &(_, _, i) in &by_distance[..window] {
                group.push(i);
                let person = self.person[i];
                if !people.contains(&person) {
                    people.push(person);
                    if people.len() == k {
                        self.remove(&group);
                        return group.iter().map(|&i| self.index[i]).collect();
                    }
                }
            }
            assert!(
                window < by_distance.len(),
                "precondition: the pool holds at least k people"
            );
            window = by_distance.len();
        }
    }

    fn remove(&mut self, group: &[usize]) {
        for &i in group {
            let count = &mut self.records_of_person[self.person[i] as usize];
            *count -= 1;
            if *count == 0 {
                self.people -= 1;
            }
        }
        let mut taken = group.to_vec();
        taken.sort_unstable();
        self.remaining.retain(|i| taken.binary_search(i).is_err());
    }

    /// Input indices of the records not yet grouped.
    fn take_rest(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.remaining)
            .into_iter()
            .map(|i| self.index[i])
            .collect()
    }
}

/// Exact MDAV on one cell.
fn exact_mdav(points: Points<'_>, cell: Vec<usize>, k: usize) -> Vec<Vec<usize>> {
    let mut pool = Pool::new(points, cell);
    let mut groups = Vec::new();
    while pool.people() >= 3 * k {
        let far = pool.farthest_from(&pool.centroid());
        let far_point = pool.point(far).to_vec();
        groups.push(pool.take_nearest_people(far, k));
        let opposite = pool.farthest_from(&far_point);
        groups.push(pool.take_nearest_people(opposite, k));
    }
    if pool.people() >= 2 * k {
        let far = pool.farthest_from(&pool.centroid());
        groups.push(pool.take_nearest_people(far, k));
    }
    if !pool.remaining.is_empty() {
        groups.push(pool.take_rest());
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// Independent check: counts people per group with a HashSet, and that groups partition 0..n.
    fn assert_valid_grouping(groups: &[Vec<usize>], persons: &[u32], k: usize) {
        let mut seen = vec![false; persons.len()];
        for group in groups {
            let people: HashSet<u32> = group.iter().map(|&i| persons[i]).collect();
            assert!(
                people.len() >= k,
                "group with {} people < k = {k}",
                people.len()
            );
            for &i in group {
                assert!(!seen[i], "record {i} in two groups");
                seen[i] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "some record in no group");
    }

    #[test]
    fn near_duplicates_of_one_person_never_form_a_group_alone() {
        // Person 0 has 10 identical records far from everyone else; k = 3.
        let mut coordinates = vec![100.0; 10];
        let mut persons = vec![0; 10];
        for p in 1..=6 {
            coordinates.push(f64::from(p));
            persons.push(p);
        }
        let points = Points {
            coordinates: &coordinates,
            dim: 1,
            persons: &persons,
        };
        let groups = Mdav::new(3, 1000).groups(points);
        assert_valid_grouping(&groups, &persons, 3);
    }

    #[test]
    fn groups_nearby_points_together() {
        let coordinates = [0.0, 0.1, 0.2, 10.0, 10.1, 10.2];
        let persons = [0, 1, 2, 3, 4, 5];
        let points = Points {
            coordinates: &coordinates,
            dim: 1,
            persons: &persons,
        };
        let mut groups = Mdav::new(3, 1000).groups(points);
        groups.iter_mut().for_each(|g| g.sort_unstable());
        groups.sort();
        assert_eq!(groups, vec![vec![0, 1, 2], vec![3, 4, 5]]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_group_has_k_distinct_people(
            k in 1usize..6,
            dim in 1usize..4,
            rows in prop::collection::vec((0u32..40, prop::collection::vec(-50.0f64..50.0, 3)), 1..150),
            exact_limit in 4usize..60,
        ) {
            let persons: Vec<u32> = rows.iter().map(|r| r.0).collect();
            prop_assume!(persons.iter().collect::<HashSet<_>>().len() >= k);
            let coordinates: Vec<f64> = rows.iter().flat_map(|r| r.1[..dim].to_vec()).collect();
            let points = Points { coordinates: &coordinates, dim, persons: &persons };
            let groups = Mdav::new(k, exact_limit).groups(points);
            assert_valid_grouping(&groups, &persons, k);
        }

        /// The distances summed four rows at a time are the one-row sums to the last bit, in
        /// any order of rows and for any remainder of four.
        #[test]
        fn distances_side_by_side_are_the_plain_sums(
            dim in 1usize..12,
            values in prop::collection::vec(-1e3f64..1e3, 21 * 12),
            rows in prop::collection::vec(0usize..20, 0..23),
        ) {
            let coordinates = &values[dim..21 * dim];
            let target = &values[..dim];
            let got = squared_distances(coordinates, dim, &rows, target);
            let plain: Vec<u64> = rows
                .iter()
                .map(|&r| {
                    let row = &coordinates[r * dim..(r + 1) * dim];
                    let mut sum = 0.0f64;
                    for (x, t) in row.iter().zip(target) {
                        sum += (x - t) * (x - t);
                    }
                    sum.to_bits()
                })
                .collect();
            prop_assert_eq!(got.iter().map(|d| d.to_bits()).collect::<Vec<_>>(), plain);
        }
    }
}
