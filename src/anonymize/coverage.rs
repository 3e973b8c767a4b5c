//! Coverage patterns: which measurements a record has is itself identifying.
//!
//! **Guarantee.** After planning, every record either is suppressed or carries a pattern (set of
//! present columns) shared by records of at least `k` distinct people. Microaggregation then
//! groups records only within one pattern, so a released row's pattern never singles anyone out.
//!
//! **Method.** Patterns are planned as clusters of whole patterns (all records of one pattern share
//! its fate), each published with the *intersection* of its members' patterns, so a record only
//! ever loses values and never gains any. The aim is that every published pattern holds at least
//! `min_people` people (25 by default; never fewer than k): a pattern of one or two groups is
//! published as one or two values per column, which no later step can spread out again
//! ([`super::variance`]), so a little coarsening buys a lot of distribution.
//!
//! 1. A pattern of at least `min_people` people is kept as it is.
//! 2. Smaller patterns are taken largest first (most measurements, then most people, then the
//!    lower mask, for determinism). Each joins whichever costs the fewest dropped values: a kept
//!    pattern that it contains (its records lose the extra measurements), or an open cluster of
//!    earlier small patterns (the cluster shrinks to the common measurements, so the cluster's
//!    records pay too). When the cheapest of these costs more than [`MAX_JOIN_DROP`] values per
//!    record, the pattern opens a cluster of its own instead, to meet a closer partner later. A
//!    cluster that reaches `min_people` people is closed: later patterns may join it only by
//!    containing it.
//! 3. A cluster still short of `min_people` people is merged, smallest first, into the cluster
//!    whose merge drops the fewest values (closed ones may shrink now), as long as that merge
//!    drops no more than a quarter ([`MERGE_DROP_SHARE`]) of the values the cluster holds (its
//!    records times its measurements): a pattern of one group releases a single value per
//!    measurement for all its records, so its spread is lost whatever follows. A cluster without
//!    such a partner stays as it is if it has k people; one short of k is merged as long as that
//!    drops no more values than it holds (suppressing it would remove them all) or, failing that,
//!    suppressed, as is a cluster sharing no measurement with any other. A record without any measurement is suppressed too
//!    (the empty pattern would release rows of nothing, and microaggregation needs at least one
//!    column).
//!
//! 4. A record whose pattern publishes fewer than `min_published` measurements (3 in `publish`,
//!    `min_published_measurements`) is suppressed. One or two values are the easiest to rebuild
//!    by chance: an attacker who guesses the mean of a few released rows lands within 2 % or
//!    5 mm of one value for about one person in six, of every value of a set of 38 for nobody.
//!    On an independently generated database (`scripts/independent_db.py`) every person that
//!    differencing two releases "recovered" despite the keyed noise published one measurement,
//!    with the estimate the mean of the rows of a pattern that vanished between the releases:
//!    a guess at the average, right only because the set had one value to get right. Such sets
//!    also carry no correlation, the release's main use.
//!
//! Dropping values only removes information, and a record is suppressed only when no coarser
//! pattern is shared by k people, or when sharing one would cost others more values than it
//! saves. This is local suppression of cells followed by record suppression, in the spirit of
//! ARX's and sdcMicro's handling of missing values, but without treating "missing" as a wildcard
//! that matches anything (sdcMicro #225); the merging of rare patterns into their common
//! sub-pattern is greedy agglomerative clustering on the lattice of patterns, with dropped values
//! as the cost.
//! Clusters count distinct person numbers, so a person's several sets never make a pattern
//! frequent on their own.
//!
//! **Costs weigh each column by its scarcity.** A dropped value costs `mean / n_c`, where `n_c`
//! is the number of records that have column `c` and `mean` that count averaged over the
//! columns, so the costs still add up to values on average but a value of a column few people
//! record counts for more. Without the weights, a rare pattern that adds a few rare
//! measurements to a common pattern joins the common pattern and loses them: a minority that
//! records a scattered few of the bust measurements (people without breasts, about a tenth of
//! those who record any) lost almost all of theirs that way, and with them the second mode of
//! those columns. Weighted, the planner drops the common measurements instead (a value of `chest`
//! is one of thousands) and keeps each column's share of its values near the same, which is
//! what a user of any one column sees.

use std::collections::{HashMap, HashSet};

use crate::table::MeasurementTable;

/// A small pattern opens a cluster of its own rather than joining one that costs more than this
/// many dropped values per record (its own and, shared out, the cluster's).
pub const MAX_JOIN_DROP: usize = 4;

/// A pattern short of `min_people` people merges only when that drops at most this share
/// (numerator, denominator) of its own values: merging more would publish every pattern with
/// several groups but drop as many cells as it saves (measured in BENCHMARKS.md, issue 13).
pub const MERGE_DROP_SHARE: (usize, usize) = (1, 4);

/// What happens to each record's coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct CoveragePlan {
    /// The pattern each record is published with, or `None` when it is suppressed.
    pub pattern: Vec<Option<u64>>,
    /// Records published with fewer measurements than they had.
    pub coarsened_records: usize,
    /// Measurement values removed by coarsening.
    pub dropped_values: usize,
    /// Records left out because no coarser pattern is shared by k people.
    pub suppressed_records: usize,
}

/// Patterns published together under their common measurements.
#[derive(Debug)]
struct Cluster {
    target: u64,
    people: HashSet<u32>,
    records: usize,
    /// The original patterns of the members.
    members: Vec<u64>,
    closed: bool,
}

/// The cost of one dropped value of each column (see the module documentation), and the fewest
/// measurements a published pattern may have (a merge below it would suppress every record).
struct Weights {
    per_column: Vec<f64>,
    min_published: usize,
}

impl Weights {
    /// `mean / n_c` for the columns of `masks` (columns nobody has weigh 0).
    fn of(masks: &[u64], width: usize, min_published: usize) -> Self {
        let mut counts = vec![0usize; width];
        for &mask in masks {
            for (c, count) in counts.iter_mut().enumerate() {
                *count += usize::from(mask & (1 << c) != 0);
            }
        }
        let present: Vec<usize> = counts.iter().copied().filter(|&n| n > 0).collect();
        let mean = present.iter().sum::<usize>() as f64 / present.len().max(1) as f64;
        Weights {
            per_column: counts
                .iter()
                .map(|&n| if n == 0 { 0.0 } else { mean / n as f64 })
                .collect(),
            min_published: min_published.max(1),
        }
    }

    /// The cost of dropping one value of each column of `mask`.
    fn of_mask(&self, mask: u64) -> f64 {
        self.per_column
            .iter()
            .enumerate()
            .filter(|(c, _)| mask & (1 << c) != 0)
            .map(|(_, w)| w)
            .sum()
    }
}

impl Cluster {
    /// Weighted values dropped if `other` (with `records` records and pattern `mask`) joins this
    /// cluster.
    fn join_cost(&self, mask: u64, records: usize, weights: &Weights) -> Option<f64> {
        let common = self.target & mask;
        if (common.count_ones() as usize) < weights.min_published
            || (self.closed && common != self.target)
        {
            return None;
        }
        let shrink = weights.of_mask(self.target & !common);
        Some(records as f64 * weights.of_mask(mask & !common) + self.records as f64 * shrink)
    }

    fn absorb(&mut self, other: Cluster) {
        self.target &= other.target;
        self.people.extend(other.people);
        self.records += other.records;
        self.members.extend(other.members);
    }
}

/// Plans the coverage of every record of the table for groups of `k` people, aiming at patterns
/// of at least `min_people` people; a record whose pattern would publish fewer than
/// `min_published` measurements is suppressed (see the module documentation).
pub fn plan_coverage(
    table: &MeasurementTable,
    k: usize,
    min_people: usize,
    min_published: usize,
) -> CoveragePlan {
    let min_people = min_people.max(k);
    let masks: Vec<u64> = (0..table.len()).map(|i| table.coverage(i)).collect();
    let weights = Weights::of(&masks, table.width(), min_published);
    let mut by_pattern: HashMap<u64, (HashSet<u32>, usize)> = HashMap::new();
    for (i, &mask) in masks.iter().enumerate() {
        let entry = by_pattern.entry(mask).or_default();
        entry.0.insert(table.person(i));
        entry.1 += 1;
    }
    let mut patterns: Vec<Cluster> = by_pattern
        .iter()
        .filter(|(mask, _)| **mask != 0)
        .map(|(&mask, (people, records))| Cluster {
            target: mask,
            closed: people.len() >= min_people,
            people: people.clone(),
            records: *records,
            members: vec![mask],
        })
        .collect();
    patterns.sort_unstable_by(|a, b| {
        b.target
            .count_ones()
            .cmp(&a.target.count_ones())
            .then(b.people.len().cmp(&a.people.len()))
            .then(a.target.cmp(&b.target))
    });
    let (mut clusters, small): (Vec<Cluster>, Vec<Cluster>) =
        patterns.into_iter().partition(|p| p.closed);
    for pattern in small {
        match cheapest_join(&clusters, &pattern, &weights) {
            Some((index, cost)) if cost <= (MAX_JOIN_DROP * pattern.records) as f64 => {
                let cluster = &mut clusters[index];
                cluster.absorb(pattern);
                cluster.closed |= cluster.people.len() >= min_people;
            }
            _ => clusters.push(pattern),
        }
    }
    for cluster in &mut clusters {
        cluster.closed = false;
    }
    merge_small(&mut clusters, min_people, true, &weights);
    merge_small(&mut clusters, k, false, &weights);
    let mut target_of: HashMap<u64, u64> = clusters
        .iter()
        .filter(|c| c.target.count_ones() as usize >= min_published)
        .flat_map(|c| c.members.iter().map(move |&m| (m, c.target)))
        .collect();
    let leftover: Vec<(u64, HashSet<u32>)> = by_pattern
        .into_iter()
        .filter(|(mask, _)| *mask != 0 && !target_of.contains_key(mask))
        .map(|(mask, (people, _))| (mask, people))
        .collect();
    target_of.extend(pool_leftovers(leftover, k, min_published));
    let mut plan = CoveragePlan {
        pattern: Vec::with_capacity(masks.len()),
        coarsened_records: 0,
        dropped_values: 0,
        suppressed_records: 0,
    };
    for &mask in &masks {
        let target = target_of
            .get(&mask)
            .copied()
            .filter(|t| t.count_ones() as usize >= min_published);
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

/// Pools the patterns that planning left without a cluster of k people (sparse sets whose
/// intersections with each other fell below `min_published` measurements, or whose only
/// partners were large clusters they would have shrunk): repeatedly, the measurements most of
/// them share are grown one column at a time (the column that keeps the most people, as long as
/// at least k people have every column so far and, past `min_published` columns, at least half
/// of those before), and every leftover pattern containing them is published with them. Returns each pooled pattern's target; patterns no pool reaches stay suppressed.
///
/// This is frequent-itemset search (Agrawal & Srikant 1994) over a few hundred leftovers, greedy
/// rather than exhaustive: each pool is shared by at least k distinct people by construction.
fn pool_leftovers(
    mut leftover: Vec<(u64, HashSet<u32>)>,
    k: usize,
    min_published: usize,
) -> Vec<(u64, u64)> {
    leftover.sort_unstable_by_key(|(mask, _)| *mask);
    let mut pooled = Vec::new();
    loop {
        let people_with = |target: u64, leftover: &[(u64, HashSet<u32>)]| {
            let mut people: HashSet<u32> = HashSet::new();
            for (mask, owners) in leftover {
                if mask & target == target {
                    people.extend(owners);
                }
            }
            people.len()
        };
        let (mut target, mut support) = (0u64, usize::MAX);
        loop {
            let candidates = leftover.iter().fold(0u64, |all, (mask, _)| all | mask) & !target;
            let best = (0..64)
                .filter(|c| candidates & (1 << c) != 0)
                .map(|c| (people_with(target | 1 << c, &leftover), c))
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            match best {
                Some((people, c))
                    if people >= k
                        && ((target.count_ones() as usize) < min_published
                            || 2 * people >= support) =>
                {
                    target |= 1 << c;
                    support = people;
                }
                _ => break,
            }
        }
        if (target.count_ones() as usize) < min_published.max(1) {
            return pooled;
        }
        leftover.retain(|(mask, _)| {
            let joins = mask & target == target;
            if joins {
                pooled.push((*mask, target));
            }
            !joins
        });
    }
}

/// The cluster that `pattern` joins for the fewest dropped values, with that cost; the first such
/// cluster on ties.
fn cheapest_join(
    clusters: &[Cluster],
    pattern: &Cluster,
    weights: &Weights,
) -> Option<(usize, f64)> {
    clusters
        .iter()
        .enumerate()
        .filter_map(|(index, cluster)| {
            let cost = cluster.join_cost(pattern.target, pattern.records, weights)?;
            Some((index, cost))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
}

/// Merges every cluster of fewer than `below` people into its cheapest partner (now any cluster,
/// which may shrink), smallest first, as long as the merge drops no more values than the cluster
/// holds (its records times its measurements), or [`MERGE_DROP_SHARE`] of them when
/// `keep_unmerged`. A cluster without such a partner is kept when `keep_unmerged`, and removed
/// otherwise (its records are then suppressed).
fn merge_small(clusters: &mut Vec<Cluster>, below: usize, keep_unmerged: bool, weights: &Weights) {
    let mut settled: Vec<Cluster> = Vec::new();
    while let Some(index) = (0..clusters.len())
        .filter(|&i| clusters[i].people.len() < below)
        .min_by_key(|&i| (clusters[i].people.len(), i))
    {
        let small = clusters.remove(index);
        let own_values = small.records as f64 * weights.of_mask(small.target);
        let share = if keep_unmerged {
            MERGE_DROP_SHARE
        } else {
            (1, 1)
        };
        match cheapest_join(clusters, &small, weights) {
            Some((partner, cost)) if cost <= own_values * share.0 as f64 / share.1 as f64 => {
                clusters[partner].absorb(small);
            }
            _ if keep_unmerged => settled.push(small),
            _ => {}
        }
    }
    clusters.extend(settled);
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
        let plan = plan_coverage(&t, 3, 3, 1);
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

    /// A table of `width` columns with a row of ones for each (person, mask).
    fn masked(width: usize, rows: &[(u32, u64)]) -> MeasurementTable {
        let mut t = MeasurementTable::new((0..width).map(|c| format!("m{c}")).collect());
        for &(person, mask) in rows {
            let row: Vec<f64> = (0..width)
                .map(|c| if mask & (1 << c) != 0 { 1.0 } else { f64::NAN })
                .collect();
            t.push(person, &row);
        }
        t
    }

    #[test]
    fn small_patterns_merge_into_their_common_measurements() {
        // {a,b,c} and {a,b,d}: two people each, neither frequent for k = 3, nothing to coarsen
        // to; together they make {a,b} with four people.
        let t = masked(4, &[(0, 0b0111), (1, 0b0111), (2, 0b1011), (3, 0b1011)]);
        let plan = plan_coverage(&t, 3, 3, 1);
        assert_eq!(plan.pattern, vec![Some(0b0011); 4]);
        assert_eq!((plan.dropped_values, plan.suppressed_records), (4, 0));
    }

    #[test]
    fn patterns_below_min_people_join_a_larger_one_they_contain() {
        // 30 people with {a,b}, 6 with {a,b,c}, 30 with {c,d,e}: {a,b,c} is frequent for k = 5
        // but below 25 people, and c is as common as a and b, so dropping it is cheap.
        let mut rows: Vec<(u32, u64)> = (0..30).map(|p| (p, 0b00011)).collect();
        rows.extend((30..36).map(|p| (p, 0b00111)));
        rows.extend((36..66).map(|p| (p, 0b11100)));
        let t = masked(5, &rows);
        let kept = plan_coverage(&t, 5, 5, 1);
        assert_eq!(kept.coarsened_records, 0);
        let merged = plan_coverage(&t, 5, 25, 1);
        assert_eq!(merged.pattern[..36], vec![Some(0b00011); 36]);
        assert_eq!(merged.dropped_values, 6);
    }

    #[test]
    fn values_of_a_rare_column_are_kept_rather_than_merged_away() {
        // 30 people with {a,b}, 6 with {a,b,c}: the six hold every value of c, so they keep their
        // own pattern (k = 5 people) instead of joining {a,b} below min_people.
        let mut rows: Vec<(u32, u64)> = (0..30).map(|p| (p, 0b011)).collect();
        rows.extend((30..36).map(|p| (p, 0b111)));
        let plan = plan_coverage(&masked(3, &rows), 5, 25, 1);
        assert_eq!(plan.pattern[30..], vec![Some(0b111); 6]);
        assert_eq!(plan.dropped_values, 0);
    }

    #[test]
    fn a_cluster_short_of_k_is_merged_when_that_costs_less_than_suppressing_it() {
        // Three people with {a..f}; one with {a..e,g} joins them under {a..e}: g and three f
        // dropped, less (weighted by scarcity) than the six values its suppression would remove.
        let mut rows: Vec<(u32, u64)> = (0..3).map(|p| (p, 0b0111111)).collect();
        rows.push((3, 0b1011111));
        let plan = plan_coverage(&masked(7, &rows), 3, 3, 1);
        assert_eq!(plan.suppressed_records, 0);
        assert!(plan.pattern.iter().all(|&p| p == Some(0b0011111)));
        // With ten people the merge would drop 11 values to save 6: suppression is cheaper.
        let mut rows: Vec<(u32, u64)> = (0..10).map(|p| (p, 0b0111111)).collect();
        rows.push((10, 0b1011111));
        let plan = plan_coverage(&masked(7, &rows), 3, 3, 1);
        assert_eq!(plan.suppressed_records, 1);
        assert_eq!(plan.pattern[0], Some(0b0111111));
    }

    #[test]
    fn leftover_sparse_sets_are_pooled_on_the_measurements_they_share() {
        // Six people with scattered sparse sets that all contain {a,b,c} but share nothing else,
        // next to a large full pattern they would shrink: pooled under {a,b,c}, none suppressed.
        let mut rows: Vec<(u32, u64)> = (0..40).map(|p| (p, 0b1111_1111)).collect();
        for (i, extra) in [
            0b0001_1000u64,
            0b0010_1000,
            0b0100_1000,
            0b1000_0000,
            0b0011_0000,
            0b0101_0000,
        ]
        .into_iter()
        .enumerate()
        {
            rows.push((100 + i as u32, 0b0000_0111 | extra));
        }
        let plan = plan_coverage(&masked(8, &rows), 5, 25, 3);
        assert_eq!(plan.suppressed_records, 0);
        assert!(plan.pattern[..40].iter().all(|&p| p == Some(0b1111_1111)));
        assert!(plan.pattern[40..].iter().all(|&p| p == Some(0b0000_0111)));
    }

    proptest::proptest! {
        /// Every published pattern is contained in its records' own patterns and is shared by at
        /// least k distinct people, counted here; the counts add up.
        #[test]
        fn published_patterns_are_subsets_shared_by_k_people(
            k in 1usize..6,
            min_people in 1usize..30,
            rows in proptest::collection::vec((0u32..40, 0u64..64), 1..200),
        ) {
            let t = masked(6, &rows);
            let plan = plan_coverage(&t, k, min_people, 1);
            let mut people: HashMap<u64, HashSet<u32>> = HashMap::new();
            let (mut dropped, mut coarsened) = (0, 0);
            for (i, &(person, mask)) in rows.iter().enumerate() {
                if let Some(target) = plan.pattern[i] {
                    proptest::prop_assert!(target != 0 && target & !mask == 0);
                    people.entry(target).or_default().insert(person);
                    dropped += (mask & !target).count_ones() as usize;
                    coarsened += usize::from(target != mask);
                }
            }
            for (target, owners) in &people {
                proptest::prop_assert!(owners.len() >= k, "{:b}: {} people", target, owners.len());
            }
            let suppressed = plan.pattern.iter().filter(|p| p.is_none()).count();
            proptest::prop_assert_eq!(suppressed, plan.suppressed_records);
            proptest::prop_assert_eq!(dropped, plan.dropped_values);
            proptest::prop_assert_eq!(coarsened, plan.coarsened_records);
        }
    }

    #[test]
    fn sets_published_with_too_few_measurements_are_suppressed() {
        // Ten people with three values, ten with one: frequent patterns both.
        let rows: Vec<(u32, u64)> = (0..20)
            .map(|p| (p, if p < 10 { 0b111 } else { 0b100 }))
            .collect();
        let table = masked(5, &rows);
        let every = plan_coverage(&table, 3, 3, 1);
        assert_eq!(every.suppressed_records, 0);
        let plan = plan_coverage(&table, 3, 3, 2);
        assert_eq!(plan.suppressed_records, 10);
        assert!(plan.pattern[..10].iter().all(|p| *p == Some(0b111)));
        assert!(plan.pattern[10..].iter().all(Option::is_none));
    }

    #[test]
    fn one_person_with_many_sets_does_not_make_a_pattern_frequent() {
        let n = f64::NAN;
        let t = table(&[(7, [1.0, n, n]), (7, [2.0, n, n]), (7, [3.0, n, n])]);
        let plan = plan_coverage(&t, 2, 2, 1);
        assert_eq!(plan.suppressed_records, 3);
    }
}
