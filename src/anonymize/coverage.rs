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
//! (fewest people, then fewest measurements, then the lower mask, for determinism), every cluster
//! short of `min_people` people takes whichever of these costs the fewest dropped values. Narrow
//! patterns go first because they have the most lenders, wide short clusters among them: a wide
//! set lent to a narrow one loses a few values, while a wide cluster completed first would have
//! been coarsened and lost to the narrow ones as a lender (on the independent 10,000-user
//! database: 92.1 % of values kept instead of 90.6 %, the lowest column 87.7 % instead of 85.8 %).
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
//! measurements is the cluster given up; then each person's records of one pattern join the
//! complete cluster whose pattern their own contains at the fewest dropped values (a merge may
//! have gathered people who fit elsewhere), and are suppressed only when none does: a merge may cost its partner values, but
//! suppressing a set costs all of its own and biases the release against whoever records
//! unusual sets (measured in BENCHMARKS.md: 2.4 % of sets suppressed when merges were limited to
//! the values they save, 0.5 % without the limit, the lowest column share about the same). Costs weigh each dropped
//! value by its column's scarcity (the mean count of values per column over the column's own
//! count), so the scattered values of a small minority are the last to go. A record without any
//! measurement is suppressed too (the empty pattern would release rows of nothing).
//!
//! **Balancing the columns.** The cheapest plan in total may still take most of its losses from
//! a few columns: on the independent 10,000-user database the first plan keeps 92 % of all
//! values but 87.7 % of `highBust`. So planning runs in rounds. After each plan, every column
//! that kept a smaller share of its values than the plan kept overall weighs more in the next
//! round (10 % more per point below: multiplicative weights towards equal shares), and of all the
//! rounds' plans the one whose worst-kept column keeps the most (then the most values overall) is
//! used. Rounds stop once the worst column is within 2 points of the overall share, or after 8;
//! a population whose columns already lose evenly (the sample generator's, at any size) is
//! planned once. On three independent 10,000-user databases (generator seeds 7–9) the lowest
//! column went from 87.6–87.7 % to 90.2–90.3 % of its values (BENCHMARKS.md, *Utility on every
//! population*). Every round's plan carries the guarantee above, and the choice between plans
//! reads only their patterns.
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
//! **Cost.** Building the clusters sorts the records by (pattern, person) once; a person's
//! records of one pattern form a run, and moving people between clusters relinks runs without
//! copying. Each short cluster then scans the patterns once, as a contiguous array of masks
//! (wider ones are its lenders, the rest candidate partners, skipped unless a bound on their cost
//! beats the best choice so far), visits lenders cheapest first and stops as soon as no further
//! lender could offer a cheaper person, so distances are computed for a few lenders only. The
//! scan is quadratic in the number of distinct patterns, linear in records. On the 1,000,000-user
//! sample (8,805 patterns, 7,568 short) planning takes about 0.5 s of CPU (0.25 s of it the
//! partner scan, one popcount and one integer comparison per candidate, see `partner`), against
//! 3.0 s when every lender was offered for every short cluster (BENCHMARKS.md, "Coverage
//! planning at scale" and "1M publish after the speed pass").

use std::cmp::Reverse;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BinaryHeap, HashSet};

use rayon::prelude::*;

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

/// No further run in a person's chain.
const END: u32 = u32::MAX;

/// The records of the table grouped in runs: a run is one person's records of one pattern, and
/// a person's runs within a cluster are chained, so moving a person between clusters moves one
/// chain head and allocates nothing.
struct Runs {
    /// Record indices sorted by (pattern, person, index).
    order: Vec<usize>,
    /// Run `r` is `order[start[r]..start[r + 1]]`.
    start: Vec<usize>,
    /// The next run of the same person in the same cluster, or [`END`].
    next: Vec<u32>,
    /// Each run's own pattern.
    pattern: Vec<u64>,
}

impl Runs {
    /// The runs of the chain beginning at run `head`, in chain order.
    fn chain(&self, head: u32) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(head), |&r| {
            Some(self.next[r as usize]).filter(|&n| n != END)
        })
        .map(|r| r as usize)
    }

    /// The records of the chain beginning at run `head`, in chain order.
    fn records(&self, head: u32) -> impl Iterator<Item = usize> + '_ {
        self.chain(head)
            .flat_map(|r| self.order[self.start[r]..self.start[r + 1]].iter().copied())
    }

    /// How many records the chain beginning at `head` holds.
    fn len(&self, head: u32) -> usize {
        self.chain(head)
            .map(|r| self.start[r + 1] - self.start[r])
            .sum()
    }

    /// Appends the chain beginning at `tail` to the one beginning at `head`.
    fn append(&mut self, head: u32, tail: u32) {
        let last = self.chain(head).last().expect("a chain has its head");
        self.next[last] = tail;
    }
}

/// People published with one pattern: each person's chain of runs, by person number.
#[derive(Debug)]
struct Cluster {
    target: u64,
    people: BTreeMap<u32, u32>,
    /// Records of all its people.
    records: usize,
}

impl Cluster {
    /// Adds a person's chain of `records` records (after the chain they already have here).
    fn add(&mut self, runs: &mut Runs, person: u32, head: u32, records: usize) {
        self.records += records;
        match self.people.entry(person) {
            Entry::Vacant(v) => {
                v.insert(head);
            }
            Entry::Occupied(o) => runs.append(*o.get(), head),
        }
    }
}

/// The clusters, with their patterns also laid out contiguously (0 for an emptied cluster) for
/// the scans that look for lenders and partners.
struct Clusters {
    all: Vec<Cluster>,
    targets: Vec<u64>,
}

impl Clusters {
    /// Brings `targets[i]` up to date after cluster `i` changed.
    fn refresh(&mut self, i: usize) {
        let c = &self.all[i];
        self.targets[i] = if c.people.is_empty() { 0 } else { c.target };
    }
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

/// The weighted count of dropped values, and the integer bound that passes candidates over.
struct Cost {
    weight: Vec<f64>,
    lightest: f64,
}

impl Cost {
    /// The weighted number of values of `mask`, summed in column order.
    fn of(&self, mut mask: u64) -> f64 {
        let mut total = 0.0;
        while mask != 0 {
            total += self.weight[mask.trailing_zeros() as usize];
            mask &= mask - 1;
        }
        total
    }

    /// The smallest count `n` of dropped values at which `n` values of the lightest weight reach
    /// `best`, with a margin: a choice dropping at least that many values (counted once per
    /// record) costs at least `best` (each value weighs at least the lightest, and the margin of
    /// 1e-9 covers the rounding of summing at most 64 weights). `u64::MAX` when no count does.
    fn count_limit(&self, best: f64) -> u64 {
        let reaches = |n: u64| n as f64 * self.lightest * (1.0 - 1e-9) >= best;
        // Counts up to 2^53 convert exactly, and `reaches` grows with the count: bisect.
        let (mut below, mut at) = (0u64, 1u64 << 53);
        if reaches(0) {
            return 0;
        }
        if !reaches(at) {
            return u64::MAX;
        }
        while at - below > 1 {
            let middle = below + (at - below) / 2;
            if reaches(middle) {
                at = middle;
            } else {
                below = middle;
            }
        }
        at
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
    let min_published = min_published.max(1);
    let width = table.width();
    let masks: Vec<u64> = (0..table.len())
        .into_par_iter()
        .map(|i| table.coverage(i))
        .collect();
    let standardized = Standardized::of(table);
    let eligible = column_counts(masks.iter().copied(), width);
    let mut weight = scarcity(&eligible);
    let mut best: Option<(Balance, CoveragePlan)> = None;
    for _ in 0..BALANCE_ROUNDS {
        let plan = plan_with_weights(
            table,
            &masks,
            &weight,
            &standardized,
            min_people,
            min_published,
        );
        let published = column_counts(
            masks
                .iter()
                .zip(&plan.pattern)
                .filter_map(|(&m, t)| t.map(|t| m & t)),
            width,
        );
        let balance = Balance::of(&eligible, &published);
        let balanced = balance.lowest >= balance.overall - BALANCE_TOLERANCE;
        for ((w, &n), &kept) in weight.iter_mut().zip(&eligible).zip(&published) {
            if n > 0 {
                let share = kept as f64 / n as f64;
                *w *= 1.0 + BALANCE_STEP * (balance.overall - share).max(0.0);
            }
        }
        if best.as_ref().is_none_or(|(b, _)| balance.beats(b)) {
            best = Some((balance, plan));
        }
        if balanced {
            break;
        }
    }
    best.expect("at least one round").1
}

/// At most this many plans are made while balancing the columns' losses.
const BALANCE_ROUNDS: usize = 8;

/// A plan whose lowest column share is within this of the overall share needs no rebalancing.
const BALANCE_TOLERANCE: f64 = 0.02;

/// How much a column's weight grows per point of share it lost beyond the overall share
/// (a column 3 points below grows by 30 % for the next round).
const BALANCE_STEP: f64 = 10.0;

/// How evenly a plan spreads its dropped values over the columns.
#[derive(Debug, Clone, Copy)]
struct Balance {
    /// The lowest share of a column's values that is published.
    lowest: f64,
    /// The share of all values that is published.
    overall: f64,
}

impl Balance {
    fn of(eligible: &[usize], published: &[usize]) -> Self {
        let lowest = eligible
            .iter()
            .zip(published)
            .filter(|(&n, _)| n > 0)
            .map(|(&n, &kept)| kept as f64 / n as f64)
            .fold(1.0, f64::min);
        let total = eligible.iter().sum::<usize>().max(1);
        Balance {
            lowest,
            overall: published.iter().sum::<usize>() as f64 / total as f64,
        }
    }

    /// The better plan keeps more of its worst-served column, then more values overall.
    fn beats(&self, other: &Balance) -> bool {
        (self.lowest, self.overall) > (other.lowest, other.overall)
    }
}

/// One plan, completing short clusters at the dropped-value costs of `weight` (see the module
/// documentation).
fn plan_with_weights(
    table: &MeasurementTable,
    masks: &[u64],
    weight: &[f64],
    standardized: &Standardized,
    min_people: usize,
    min_published: usize,
) -> CoveragePlan {
    let cost = Cost {
        lightest: weight.iter().copied().fold(f64::INFINITY, f64::min),
        weight: weight.to_vec(),
    };
    let mut order: Vec<usize> = (0..masks.len())
        .filter(|&i| masks[i].count_ones() as usize >= min_published)
        .collect();
    order.par_sort_unstable_by_key(|&i| (masks[i], table.person(i), i));
    let mut runs = Runs {
        start: Vec::new(),
        next: Vec::new(),
        pattern: Vec::new(),
        order,
    };
    // One cluster per pattern, its people's runs in person order (bulk-built maps).
    let mut all: Vec<Cluster> = Vec::new();
    let mut people: Vec<(u32, u32)> = Vec::new();
    for at in 0..runs.order.len() {
        let i = runs.order[at];
        let (mask, person) = (masks[i], table.person(i));
        let previous = at.checked_sub(1).map(|a| runs.order[a]);
        if previous.is_some_and(|p| masks[p] == mask && table.person(p) == person) {
            continue;
        }
        if previous.is_some_and(|p| masks[p] != mask) {
            let target = masks[previous.expect("checked")];
            all.push(Cluster {
                target,
                people: people.drain(..).collect(),
                records: 0,
            });
        }
        people.push((person, runs.start.len() as u32));
        runs.start.push(at);
        runs.next.push(END);
        runs.pattern.push(mask);
    }
    if let Some(&last) = runs.order.last() {
        all.push(Cluster {
            target: masks[last],
            people: people.drain(..).collect(),
            records: 0,
        });
    }
    runs.start.push(runs.order.len());
    for cluster in &mut all {
        cluster.records = cluster.people.values().map(|&h| runs.len(h)).sum();
    }
    let mut clusters = Clusters {
        targets: all.iter().map(|c| c.target).collect(),
        all,
    };
    // Rounds over the short clusters in order; a cluster whose count changed since the round
    // began waits for the next one (lenders that are short only ever shrink).
    loop {
        let mut short: Vec<usize> = (0..clusters.all.len())
            .filter(|&i| {
                let n = clusters.all[i].people.len();
                n != 0 && n < min_people
            })
            .collect();
        if short.is_empty() {
            break;
        }
        let key = |c: &Cluster| (c.people.len(), c.target.count_ones(), c.target);
        short.sort_by_key(|&i| key(&clusters.all[i]));
        for short in short {
            let people = clusters.all[short].people.len();
            if people == 0 || people >= min_people {
                continue;
            }
            complete(
                &mut clusters,
                &mut runs,
                short,
                min_people,
                min_published,
                &cost,
                standardized,
            );
        }
    }
    let mut plan = CoveragePlan {
        pattern: vec![None; masks.len()],
        coarsened_records: 0,
        dropped_values: 0,
        suppressed_records: 0,
    };
    for cluster in &clusters.all {
        for &head in cluster.people.values() {
            for record in runs.records(head) {
                plan.pattern[record] = Some(cluster.target);
            }
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
    clusters: &mut Clusters,
    runs: &mut Runs,
    short: usize,
    min_people: usize,
    min_published: usize,
    cost: &Cost,
    standardized: &Standardized,
) {
    let target = clusters.all[short].target;
    let need = min_people - clusters.all[short].people.len();
    let borrowed = borrow(clusters, runs, short, need, min_people, cost, standardized)
        .map(|(c, lenders)| (c, Choice::Borrow(lenders)));
    let best = partner(clusters, short, min_published, cost, borrowed);
    let people = std::mem::take(&mut clusters.all[short].people);
    let moved_records = std::mem::take(&mut clusters.all[short].records);
    match best {
        Some((_, Choice::Borrow(lenders))) => {
            clusters.all[short].people = people;
            clusters.all[short].records = moved_records;
            for (from, person) in lenders {
                let head = clusters.all[from].people.remove(&person).expect("a lender");
                let moved = runs.len(head);
                clusters.all[from].records -= moved;
                clusters.all[short].add(runs, person, head, moved);
                clusters.refresh(from);
            }
        }
        Some((_, Choice::Join(into) | Choice::Merge(into))) => {
            let cluster = &mut clusters.all[into];
            cluster.target &= target;
            for (person, head) in people {
                cluster.add(runs, person, head, 0);
            }
            cluster.records += moved_records;
            clusters.refresh(into);
        }
        None => rescue(clusters, runs, people, min_people, min_published, cost),
    }
    clusters.refresh(short);
}

/// The cheapest join or merge for the short cluster at `short` that costs less than `best`
/// (ties keep the earlier choice: `best`, then the lower index), or `best` itself.
///
/// Every cluster is a candidate, so this is the quadratic part of planning, and its inner loop
/// is kept to one popcount and one integer comparison per candidate: a candidate is passed over
/// when its dropped values, counted over both clusters' records at the lightest weight each, could
/// not beat `best` — a bound on an integer count, turned into a limit whenever `best` changes.
/// Passing over only ever skips candidates that could not have been chosen, so the choice is the
/// one an evaluation of every candidate in turn makes.
fn partner(
    clusters: &Clusters,
    short: usize,
    min_published: usize,
    cost: &Cost,
    mut best: Option<(f64, Choice)>,
) -> Option<(f64, Choice)> {
    let target = clusters.all[short].target;
    // At least one record (it has people), so that the limits below divide by it.
    let records = clusters.all[short].records.max(1) as u64;
    let width = target.count_ones();
    // A candidate keeps at least `min_published` measurements: it drops fewer than `keep`.
    let keep = u64::from(width + 1).saturating_sub(min_published as u64);
    // Weighted counts of dropped values from `limit` on cannot beat `best`, and neither can the
    // short cluster's own dropped values from `own_limit` on.
    let mut limit = best
        .as_ref()
        .map_or(u64::MAX, |(b, _)| cost.count_limit(*b));
    let mut own_limit = keep.min(limit.div_ceil(records));
    for (i, &other) in clusters.targets.iter().enumerate() {
        let lost = target & !other;
        let dropped = u64::from(lost.count_ones());
        if dropped >= own_limit || i == short {
            continue;
        }
        let extra = other & !target;
        let theirs = clusters.all[i].records as u64;
        if records * dropped + theirs * u64::from(extra.count_ones()) >= limit {
            continue;
        }
        let own = records as f64 * cost.of(lost);
        let (c, choice) = if extra == 0 {
            (own, Choice::Join(i))
        } else {
            (own + theirs as f64 * cost.of(extra), Choice::Merge(i))
        };
        if best.as_ref().is_none_or(|(b, _)| c < *b) {
            limit = cost.count_limit(c);
            own_limit = keep.min(limit.div_ceil(records));
            best = Some((c, choice));
        }
    }
    best
}

/// Finds a place for the records of a cluster that nothing could complete: each run (a person's
/// records of one pattern) joins the complete cluster (at least `min_people` people) whose
/// pattern its own contains with the fewest dropped values; a run with no such cluster is
/// suppressed (left out of every cluster). A cluster may have gathered people by merging before
/// it turned out it could not be completed: they are not lost with it, and joining a complete
/// cluster keeps it complete.
fn rescue(
    clusters: &mut Clusters,
    runs: &mut Runs,
    people: BTreeMap<u32, u32>,
    min_people: usize,
    min_published: usize,
    cost: &Cost,
) {
    for (person, head) in people {
        let chain: Vec<usize> = runs.chain(head).collect();
        for run in chain {
            runs.next[run] = END;
            let own = runs.pattern[run];
            let home = clusters
                .targets
                .iter()
                .enumerate()
                .filter(|&(i, &t)| {
                    t != 0
                        && t & !own == 0
                        && t.count_ones() as usize >= min_published
                        && clusters.all[i].people.len() >= min_people
                })
                .map(|(i, &t)| (cost.of(own & !t), i))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            if let Some((_, i)) = home {
                let records = runs.start[run + 1] - runs.start[run];
                clusters.all[i].add(runs, person, run as u32, records);
            }
        }
    }
}

/// How many of `masks` hold each column.
fn column_counts(masks: impl Iterator<Item = u64>, width: usize) -> Vec<usize> {
    let mut count = vec![0usize; width];
    for mask in masks {
        for (c, n) in count.iter_mut().enumerate() {
            *n += usize::from(mask & (1 << c) != 0);
        }
    }
    count
}

/// The weight of a dropped value of each column, from each column's count of values: the mean
/// count over the column's own (a column of half the average count weighs 2).
fn scarcity(count: &[usize]) -> Vec<f64> {
    let mean = count.iter().sum::<usize>() as f64 / count.len().max(1) as f64;
    count.iter().map(|&n| mean / n.max(1) as f64).collect()
}

/// The `need` people that cluster `short` can borrow for the fewest dropped values, with that
/// cost; `None` when wider clusters cannot lend enough. A cluster of at least `min_people`
/// people lends only those beyond `min_people`; ties in cost go to the people nearest in value.
///
/// Lenders are visited cheapest first (a person costs at least their lender's extra values), and
/// the visit stops once `need` people are offered below the next lender's price: no later offer
/// could displace them, so the choice is the one a scan of every lender would make.
fn borrow(
    clusters: &Clusters,
    runs: &Runs,
    short: usize,
    need: usize,
    min_people: usize,
    cost: &Cost,
    standardized: &Standardized,
) -> Option<(f64, Vec<(usize, u32)>)> {
    let target = clusters.all[short].target;
    let own = &clusters.all[short].people;
    // Cheapest lender on top: a cost is never negative, so its bits order like the cost; a heap,
    // because a narrow pattern may have thousands of lenders and only the first few are visited.
    let mut lenders: BinaryHeap<Reverse<(u64, usize, usize)>> = clusters
        .targets
        .iter()
        .enumerate()
        .filter(|&(_, &wider)| wider & target == target && wider != target)
        .filter_map(|(i, &wider)| {
            let n = clusters.all[i].people.len();
            let spare = if n >= min_people { n - min_people } else { n };
            (spare > 0).then(|| Reverse((cost.of(wider & !target).to_bits(), i, spare)))
        })
        .collect();
    if lenders.is_empty() {
        return None;
    }
    let centre = standardized.mean(own.values().flat_map(|&h| runs.records(h)), target);
    let mut offers: Vec<(f64, f64, usize, u32)> = Vec::new();
    while let Some(Reverse((extra, i, spare))) = lenders.pop() {
        let extra = f64::from_bits(extra);
        // A large lender offers its first people by person number (selection order, unrelated
        // to their values), enough to choose from and bounded, so that planning stays linear.
        let mut mine: Vec<(f64, f64, usize, u32)> = clusters.all[i]
            .people
            .iter()
            .filter(|(person, _)| !own.contains_key(person))
            .take(LENDER_SAMPLE.max(need))
            .map(|(&person, &head)| {
                let first = runs.order[runs.start[head as usize]];
                let distance = standardized.distance(first, &centre, target);
                (extra * runs.len(head) as f64, distance, i, person)
            })
            .collect();
        mine.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        offers.extend(mine.into_iter().take(spare));
        if let Some(Reverse((next, _, _))) = lenders.peek() {
            if enough(&mut offers, need).is_some_and(|price| price < f64::from_bits(*next)) {
                break;
            }
        }
    }
    enough(&mut offers, need)?;
    offers.truncate(need);
    let total = offers.iter().map(|o| o.0).sum();
    Some((total, offers.into_iter().map(|o| (o.2, o.3)).collect()))
}

/// Orders `offers` by (cost, distance, lender, person) and keeps each person's first (a person
/// lends once, from the cheapest of their clusters); the price of the `need`-th offer, if there
/// are that many.
fn enough(offers: &mut Vec<(f64, f64, usize, u32)>, need: usize) -> Option<f64> {
    offers.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then((a.2, a.3).cmp(&(b.2, b.3)))
    });
    let mut lent = HashSet::new();
    offers.retain(|o| lent.insert(o.3));
    offers.get(need.checked_sub(1)?).map(|o| o.0)
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
    fn mean(&self, records: impl Iterator<Item = usize>, mask: u64) -> Vec<f64> {
        let mut centre = vec![0.0; self.mean.len()];
        let mut count = 0.0;
        for r in records {
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
        let columns = std::iter::successors(Some(mask), |&m| Some(m & m.wrapping_sub(1)))
            .take_while(|&m| m != 0)
            .map(|m| m.trailing_zeros() as usize);
        columns
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
            // Rare and narrowest, so first: it merges with {a,b,c} under {c} and is still short;
            // given up, person 2's set finds {a,b} and only this one is suppressed.
            (3, [n, n, 1.0]), // rare, contains no frequent pattern → suppressed
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

    /// The lowest share of its values any column keeps under `plan`.
    fn lowest_share(rows: &[(u32, u64)], plan: &CoveragePlan, width: usize) -> f64 {
        let eligible = column_counts(rows.iter().map(|r| r.1), width);
        let kept = column_counts(
            rows.iter()
                .zip(&plan.pattern)
                .filter_map(|(r, t)| t.map(|t| r.1 & t)),
            width,
        );
        Balance::of(&eligible, &kept).lowest
    }

    #[test]
    fn rounds_spread_the_losses_over_the_columns() {
        use rand::{Rng, SeedableRng};
        // A majority recording most of the first eight columns, and people with scattered
        // subsets of all twelve, one set each: the scattered sets cannot all be kept whole.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let width = 12;
        let rows: Vec<(u32, u64)> = (0..600)
            .map(|person| {
                let mask = if person % 3 == 0 {
                    rng.gen_range(1u64..1 << width)
                } else {
                    0xff & !(1 << rng.gen_range(0..10))
                };
                (person, mask)
            })
            .collect();
        let table = masked(width, &rows);
        let once = plan_with_weights(
            &table,
            &rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            &scarcity(&column_counts(rows.iter().map(|r| r.1), width)),
            &Standardized::of(&table),
            5,
            3,
        );
        let balanced = plan_coverage(&table, 5, 5, 3);
        let (first, best) = (
            lowest_share(&rows, &once, width),
            lowest_share(&rows, &balanced, width),
        );
        assert!(best > first + 0.05, "lowest column share {first} -> {best}");
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
