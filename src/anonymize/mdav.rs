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
    pub coordinates: &'a [f64],
    pub dim: usize,
    pub persons: &'a [u32],
}

impl Points<'_> {
    fn point(&self, index: usize) -> &[f64] {
        &self.coordinates[index * self.dim..(index + 1) * self.dim]
    }

    pub fn len(&self) -> usize {
        self.persons.len()
    }

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
            cell.sort_unstable_by(|&a, &b| {
                points.point(a)[axis]
                    .total_cmp(&points.point(b)[axis])
                    .then(a.cmp(&b))
            });
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

fn widest_axis(points: Points<'_>, indices: &[usize]) -> usize {
    (0..points.dim)
        .map(|axis| {
            let (low, high) =
                indices
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
                        let x = points.point(i)[axis];
                        (lo.min(x), hi.max(x))
                    });
            (axis, high - low)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |(axis, _)| axis)
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The pool of records not yet grouped, with a count of records per person.
struct Pool<'a> {
    points: Points<'a>,
    remaining: Vec<usize>,
    records_of_person: HashMap<u32, u32>,
}

impl<'a> Pool<'a> {
    fn new(points: Points<'a>, remaining: Vec<usize>) -> Self {
        let mut records_of_person = HashMap::new();
        for &i in &remaining {
            *records_of_person.entry(points.persons[i]).or_insert(0) += 1;
        }
        Pool {
            points,
            remaining,
            records_of_person,
        }
    }

    fn people(&self) -> usize {
        self.records_of_person.len()
    }

    fn centroid(&self) -> Vec<f64> {
        let mut sum = vec![0.0; self.points.dim];
        for &i in &self.remaining {
            for (s, x) in sum.iter_mut().zip(self.points.point(i)) {
                *s += x;
            }
        }
        let n = self.remaining.len() as f64;
        sum.iter_mut().for_each(|s| *s /= n);
        sum
    }

    /// The remaining record farthest from `target` (lowest index on ties).
    fn farthest_from(&self, target: &[f64]) -> usize {
        let mut best = (f64::NEG_INFINITY, usize::MAX);
        for &i in &self.remaining {
            let d = squared_distance(self.points.point(i), target);
            if d > best.0 || (d == best.0 && i < best.1) {
                best = (d, i);
            }
        }
        best.1
    }

    /// Removes and returns the records nearest to `seed` until they hold `k` distinct people.
    fn take_nearest_people(&mut self, seed: usize, k: usize) -> Vec<usize> {
        let target = self.points.point(seed).to_vec();
        let mut by_distance: Vec<(f64, usize)> = self
            .remaining
            .iter()
            .map(|&i| (squared_distance(self.points.point(i), &target), i))
            .collect();
        let order = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        // Usually k records hold k people; look at a few more first, then at everything.
        let mut window = (2 * k).min(by_distance.len());
        loop {
            if window < by_distance.len() {
                by_distance.select_nth_unstable_by(window, order);
            }
            by_distance[..window].sort_unstable_by(order);
            let mut group = Vec::with_capacity(k);
            let mut people: Vec<u32> = Vec::with_capacity(k);
            for &(_, i) in &by_distance[..window] {
                group.push(i);
                let person = self.points.persons[i];
                if !people.contains(&person) {
                    people.push(person);
                    if people.len() == k {
                        self.remove(&group);
                        return group;
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
            let person = self.points.persons[i];
            let count = self
                .records_of_person
                .get_mut(&person)
                .expect("record in pool");
            *count -= 1;
            if *count == 0 {
                self.records_of_person.remove(&person);
            }
        }
        let mut taken = group.to_vec();
        taken.sort_unstable();
        self.remaining.retain(|i| taken.binary_search(i).is_err());
    }
}

/// Exact MDAV on one cell.
fn exact_mdav(points: Points<'_>, cell: Vec<usize>, k: usize) -> Vec<Vec<usize>> {
    let mut pool = Pool::new(points, cell);
    let mut groups = Vec::new();
    while pool.people() >= 3 * k {
        let far = pool.farthest_from(&pool.centroid());
        let far_point = points.point(far).to_vec();
        groups.push(pool.take_nearest_people(far, k));
        let opposite = pool.farthest_from(&far_point);
        groups.push(pool.take_nearest_people(opposite, k));
    }
    if pool.people() >= 2 * k {
        let far = pool.farthest_from(&pool.centroid());
        groups.push(pool.take_nearest_people(far, k));
    }
    if !pool.remaining.is_empty() {
        groups.push(std::mem::take(&mut pool.remaining));
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
    }
}
