//! Coverage patterns: which measurements a record has is itself identifying.
//!
//! **Guarantee.** After planning, every record either is suppressed or carries a pattern (set of
//! present columns) shared by records of at least `k` distinct people. Microaggregation then
//! groups records only within one pattern, so a released row's pattern never singles anyone out.
//!
//! **Method.** Planning works on clusters of people that share a published pattern; it starts
//! with one cluster per pattern (a person's records of that pattern stay together), and a cluster
//! of at least `min_people` distinct people (never fewer than k; k by default) is kept as it is —
//! spread restoration pools the within-group covariance across patterns ([`super::variance`]),
//! so a pattern of a single group still releases its share of the spread. Then, smallest first
//! (fewest people, then most measurements, then the lower mask, for determinism), every cluster
//! short of `min_people` people takes whichever of these costs the fewest dropped values:
//!
//! 1. **Borrow people from wider patterns.** The people it lacks come from clusters whose pattern
//!    contains its own, each published with the smaller pattern (they lose the extra measurements,
//!    the cluster's own people lose nothing). A kept cluster lends only people beyond its own
//!    `min_people`; a cluster that is itself short lends anyone. Among lenders of equal cost the
//!    nearest in value (standardized distance to the cluster's mean) go first, so a minority with
//!    a body of its own borrows its own kind when it can, and its mode survives.
//! 2. **Join a narrower pattern** it contains: its records lose the extra measurements.
//! 3. **Merge with another cluster** under their common measurements (both pay).
//!
//! Rare values thus stay whenever enough people hold them, counted over distinct people, instead
//! of the whole rare pattern being merged away. Only when no choice keeps `min_published`
//! measurements are the cluster's records suppressed: a merge may cost its partner values, but
//! suppressing a set costs all of its own and biases the release against whoever records
//! unusual sets (measured in BENCHMARKS.md: 2.4 % of sets suppressed when merges were limited to
//! the values they save, 0.5 % without the limit, the lowest column share about the same). Costs weigh each dropped
//! value by its column's scarcity (the mean count of values per column over the column's own
//! count), so the scattered values of a small minority are the last to go. A record without any
//! measurement is suppressed too (the empty pattern would release rows of nothing).
//!
//! A record whose pattern publishes fewer than `min_published` measurements (3 in `publish`,
//! `min_published_measurements`) is suppressed. One or two values are the easiest to rebuild
//! by chance: an attacker who guesses the mean of a few released rows lands within 2 % or
//! 5 mm of one value for about one person in six, of every value of a set of 38 for nobody.
//! On an independently generated database (`scripts/independent_db.py`) every person that
//! differencing two releases "recovered" despite the keyed noise published one measurement,
//! with the estimate the mean of the rows of a pattern that vanished between the releases:
//! a guess at the average, right only because the set had one value to get right. Such sets
//! also carry no correlation, the release's main use.
//!
//! Dropping values only removes information: a record is only ever published with a subset of
//! its own measurements. This is local suppression of cells followed by record suppression, in
//! the spirit of ARX's and sdcMicro's handling of missing values, but without treating "missing"
//! as a wildcard that matches anything (sdcMicro #225); borrowing and merging are greedy
//! agglomerative clustering on the lattice of patterns, with weighted dropped values as the cost.
//! Clusters count distinct person numbers, so a person's several sets never make a pattern
//! frequent on their own.
//!
//! **Cost.** Each step scans the clusters once, and there are at most as many steps as patterns
//! short of `min_people`: quadratic in the number of distinct patterns, linear in records.

use std::collections::BTreeMap;

use crate::table::MeasurementTable;

/// A lender offers at most this many of its people (or as many as the short cluster needs, if
/// more) to choose the nearest from.
pub const LENDER_SAMPLE: usize = 64;

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

/// People published with one pattern: each person's records, by person number.
#[derive(Debug)]
struct Cluster {
    target: u64,
    people: BTreeMap<u32, Vec<usize>>,
    /// Records of all its people.
    records: usize,
}

/// How a short cluster gets its people.
enum Choice {
    /// Borrow these people (cluster index, person) from wider clusters.
    Borrow(Vec<(usize, u32)>),
    /// Join the cluster at this index, whose pattern it contains.
    Join(usize),
    /// Merge with the cluster at this index under the common measurements.
    Merge(usize),
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
    let width = table.width();
    let masks: Vec<u64> = (0..table.len()).map(|i| table.coverage(i)).collect();
    let weight = scarcity(&masks, width);
    let cost = |mut mask: u64| -> f64 {
        let mut total = 0.0;
        while mask != 0 {
            total += weight[mask.trailing_zeros() as usize];
            mask &= mask - 1;
        }
        total
    };
    let mut by_pattern: BTreeMap<u64, BTreeMap<u32, Vec<usize>>> = BTreeMap::new();
    for (i, &mask) in masks.iter().enumerate() {
        if mask.count_ones() as usize >= min_published {
            by_pattern
                .entry(mask)
                .or_default()
                .entry(table.person(i))
                .or_default()
                .push(i);
        }
    }
    let mut clusters: Vec<Cluster> = by_pattern
        .into_iter()
        .map(|(target, people)| Cluster {
            target,
            records: people.values().map(Vec::len).sum(),
            people,
        })
        .collect();
    let standardized = Standardized::of(table);
    // Rounds over the short clusters in order; a cluster whose count changed since the round
    // began waits for the next one (lenders that are short only ever shrink).
    loop {
        let mut short: Vec<usize> = (0..clusters.len())
            .filter(|&i| !clusters[i].people.is_empty() && clusters[i].people.len() < min_people)
            .collect();
        if short.is_empty() {
            break;
        }
        let key = |c: &Cluster| {
            (
                c.people.len(),
                std::cmp::Reverse(c.target.count_ones()),
                c.target,
            )
        };
        short.sort_by_key(|&i| key(&clusters[i]));
        for short in short {
            let people = clusters[short].people.len();
            if people == 0 || people >= min_people {
                continue;
            }
            complete(
                &mut clusters,
                short,
                min_people,
                min_published,
                &cost,
                &standardized,
            );
        }
    }
    let mut plan = CoveragePlan {
        pattern: vec![None; masks.len()],
        coarsened_records: 0,
        dropped_values: 0,
        suppressed_records: 0,
    };
    for cluster in &clusters {
        for &record in cluster.people.values().flatten() {
            plan.pattern[record] = Some(cluster.target);
        }
    }
    for (&mask, target) in masks.iter().zip(&plan.pattern) {
        match target {
            Some(t) if *t != mask => {
                plan.coarsened_records += 1;
                plan.dropped_values += (mask & !t).count_ones() as usize;
            }
            Some(_) => {}
            None => plan.suppressed_records += 1,
        }
    }
    plan
}

/// Completes the short cluster at `short` by the cheapest of borrowing, joining and merging (see
/// the module documentation), or suppresses its records (leaves it empty).
fn complete(
    clusters: &mut [Cluster],
    short: usize,
    min_people: usize,
    min_published: usize,
    cost: &dyn Fn(u64) -> f64,
    standardized: &Standardized,
) {
    let target = clusters[short].target;
    let records = clusters[short].records as f64;
    let need = min_people - clusters[short].people.len();
    let mut best: Option<(f64, Choice)> = None;
    let mut consider = |c: f64, choice: Choice| {
        if best.as_ref().is_none_or(|(b, _)| c < *b) {
            best = Some((c, choice));
        }
    };
    if let Some((c, lenders)) = borrow(clusters, short, need, min_people, cost, standardized) {
        consider(c, Choice::Borrow(lenders));
    }
    for (i, other) in clusters.iter().enumerate() {
        let common = other.target & target;
        if i == short || other.people.is_empty() || (common.count_ones() as usize) < min_published {
            continue;
        }
        let own = records * cost(target & !common);
        if common == other.target {
            consider(own, Choice::Join(i));
        } else {
            consider(
                own + other.records as f64 * cost(other.target & !common),
                Choice::Merge(i),
            );
        }
    }
    let mut people = std::mem::take(&mut clusters[short].people);
    let moved_records = std::mem::take(&mut clusters[short].records);
    match best {
        Some((_, Choice::Borrow(lenders))) => {
            let mut records = moved_records;
            for (from, person) in lenders {
                let moved = clusters[from].people.remove(&person).expect("a lender");
                clusters[from].records -= moved.len();
                records += moved.len();
                people.entry(person).or_default().extend(moved);
            }
            clusters[short].people = people;
            clusters[short].records = records;
        }
        Some((_, Choice::Join(into) | Choice::Merge(into))) => {
            let into = &mut clusters[into];
            into.target &= target;
            into.records += moved_records;
            for (person, moved) in people {
                into.people.entry(person).or_default().extend(moved);
            }
        }
        // Suppressed: the cluster stays empty.
        None => {}
    }
}

/// The weight of a dropped value of each column: the mean number of values per column over the
/// column's own number (a column of half the average count weighs 2).
fn scarcity(masks: &[u64], width: usize) -> Vec<f64> {
    let mut count = vec![0usize; width];
    for &mask in masks {
        for (c, n) in count.iter_mut().enumerate() {
            *n += usize::from(mask & (1 << c) != 0);
        }
    }
    let mean = count.iter().sum::<usize>() as f64 / width.max(1) as f64;
    count.iter().map(|&n| mean / n.max(1) as f64).collect()
}

/// The `need` people that cluster `short` can borrow for the fewest dropped values, with that
/// cost; `None` when wider clusters cannot lend enough. A cluster of at least `min_people`
/// people lends only those beyond `min_people`; ties in cost go to the people nearest in value.
fn borrow(
    clusters: &[Cluster],
    short: usize,
    need: usize,
    min_people: usize,
    cost: &dyn Fn(u64) -> f64,
    standardized: &Standardized,
) -> Option<(f64, Vec<(usize, u32)>)> {
    let target = clusters[short].target;
    let centre = standardized.mean(clusters[short].people.values().flatten(), target);
    let mut offers: Vec<(f64, f64, usize, u32)> = Vec::new();
    for (i, lender) in clusters.iter().enumerate() {
        if i == short || lender.target & target != target || lender.target == target {
            continue;
        }
        let spare = if lender.people.len() >= min_people {
            lender.people.len() - min_people
        } else {
            lender.people.len()
        };
        if spare == 0 {
            continue;
        }
        let extra = cost(lender.target & !target);
        // A large lender offers its first people by person number (selection order, unrelated
        // to their values), enough to choose from and bounded, so that planning stays linear.
        let mut mine: Vec<(f64, f64, usize, u32)> = lender
            .people
            .iter()
            .filter(|(person, _)| !clusters[short].people.contains_key(person))
            .take(LENDER_SAMPLE.max(need))
            .map(|(&person, records)| {
                let distance = standardized.distance(records[0], &centre, target);
                (extra * records.len() as f64, distance, i, person)
            })
            .collect();
        mine.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        offers.extend(mine.into_iter().take(spare));
    }
    offers.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then((a.2, a.3).cmp(&(b.2, b.3)))
    });
    // A person lends once, from the cheapest of their clusters.
    let mut lent = std::collections::HashSet::new();
    offers.retain(|o| lent.insert(o.3));
    if offers.len() < need {
        return None;
    }
    offers.truncate(need);
    let total = offers.iter().map(|o| o.0).sum();
    Some((total, offers.into_iter().map(|o| (o.2, o.3)).collect()))
}

/// The table's values standardized by column, for choosing lenders near a cluster.
struct Standardized<'a> {
    table: &'a MeasurementTable,
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl<'a> Standardized<'a> {
    fn of(table: &'a MeasurementTable) -> Self {
        let width = table.width();
        let mut sum: Vec<(f64, f64, f64)> = vec![(0.0, 0.0, 0.0); width];
        for i in 0..table.len() {
            for (s, &v) in sum.iter_mut().zip(table.row(i)) {
                if !v.is_nan() {
                    *s = (s.0 + 1.0, s.1 + v, s.2 + v * v);
                }
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s.1 / s.0.max(1.0)).collect();
        let scale = sum
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let variance = s.2 / s.0.max(1.0) - m * m;
                if variance > 1e-12 {
                    variance.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Standardized { table, mean, scale }
    }

    /// The standardized mean of `records` on the columns of `mask` (0 elsewhere).
    fn mean<'r>(&self, records: impl Iterator<Item = &'r usize>, mask: u64) -> Vec<f64> {
        let mut centre = vec![0.0; self.mean.len()];
        let mut count = 0.0;
        for &r in records {
            count += 1.0;
            for (c, x) in centre.iter_mut().enumerate() {
                if mask & (1 << c) != 0 {
                    *x += (self.table.row(r)[c] - self.mean[c]) / self.scale[c];
                }
            }
        }
        centre.iter_mut().for_each(|x| *x /= f64::max(count, 1.0));
        centre
    }

    /// Squared standardized distance of `record` to `centre` on the columns of `mask`.
    fn distance(&self, record: usize, centre: &[f64], mask: u64) -> f64 {
        (0..centre.len())
            .filter(|c| mask & (1 << c) != 0)
            .map(|c| {
                let x = (self.table.row(record)[c] - self.mean[c]) / self.scale[c];
                (x - centre[c]) * (x - centre[c])
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

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
        // 30 people with {a,b}, 6 with {a,b,c}: frequent for k = 5, but below 25 people.
        let mut rows: Vec<(u32, u64)> = (0..30).map(|p| (p, 0b011)).collect();
        rows.extend((30..36).map(|p| (p, 0b111)));
        let t = masked(3, &rows);
        let kept = plan_coverage(&t, 5, 5, 1);
        assert_eq!(kept.coarsened_records, 0);
        let merged = plan_coverage(&t, 5, 25, 1);
        assert_eq!(merged.pattern, vec![Some(0b011); 36]);
        assert_eq!(merged.dropped_values, 6);
    }

    #[test]
    fn a_short_pattern_borrows_people_from_a_wider_one_and_keeps_its_values() {
        // Two people with {a,b,c,d} (a rare measurement d), twenty with {a,b,c,d,e}: the two
        // borrow three people from the wider pattern (who lose e) instead of losing d.
        let mut rows: Vec<(u32, u64)> = (0..2).map(|p| (p, 0b01111)).collect();
        rows.extend((2..22).map(|p| (p, 0b11111)));
        let plan = plan_coverage(&masked(5, &rows), 5, 5, 1);
        assert_eq!(plan.suppressed_records, 0);
        assert_eq!(plan.pattern[..2], [Some(0b01111); 2]);
        let borrowed = plan.pattern[2..]
            .iter()
            .filter(|&&p| p == Some(0b01111))
            .count();
        assert_eq!(borrowed, 3);
        assert_eq!(plan.dropped_values, 3);
    }

    #[test]
    fn lenders_nearest_in_value_go_first() {
        // One person with {a,b} at 10; wider {a,b,c} people at 0 and two at 10: at equal cost
        // the two at 10 are borrowed (k = 3).
        let mut t = MeasurementTable::new(vec!["a".into(), "b".into(), "c".into()]);
        t.push(0, &[10.0, 10.0, f64::NAN]);
        for p in 1..6 {
            t.push(p, &[0.0, 0.0, 1.0]);
        }
        t.push(6, &[10.0, 10.0, 1.0]);
        t.push(7, &[10.0, 10.0, 1.0]);
        let plan = plan_coverage(&t, 3, 3, 1);
        assert_eq!(plan.pattern[6..], [Some(0b011); 2]);
        assert!(plan.pattern[1..6].iter().all(|&p| p == Some(0b111)));
    }

    #[test]
    fn a_cluster_short_of_k_is_merged_rather_than_suppressed() {
        // Ten people with {a,b,c,d}; one with {a,b,c,e} joins them under {a,b,c}.
        let mut rows: Vec<(u32, u64)> = (0..10).map(|p| (p, 0b01111)).collect();
        rows.push((10, 0b10111));
        let plan = plan_coverage(&masked(5, &rows), 3, 3, 1);
        assert_eq!(plan.suppressed_records, 0);
        assert!(plan.pattern.iter().all(|&p| p == Some(0b00111)));
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
