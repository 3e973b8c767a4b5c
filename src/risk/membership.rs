//! Membership inference: does the release tell whether a person is in it?
//!
//! **The attacker** knows a person's whole measurement set (they measured them, or hold a copy of
//! the set) and wants to know whether that person is among the release's people; on a
//! body-measurement site that alone can be sensitive. They score the person by the distance from
//! the set to the nearest released row, the distance-to-closest-record test of released
//! microdata (the membership game of Shokri et al. 2017, played with the nearest-record attacker
//! of Stadler, Oprisanu & Troncoso 2022, *Synthetic data — anonymisation groundhog day*): a
//! member's own group's row was formed around them, so it tends to lie closer than any row lies
//! to someone who is not in the release.
//!
//! **Simulation.** The data holder holds out a random tenth ([`HOLD_OUT_SHARE`]) of the eligible
//! people, re-runs the release method (defences included) on the others, and plays the attacker
//! against the held-out people (non-members: eligible, but not in this simulated release) and as
//! many people drawn from those kept (members), one set each: the person's widest set, the one
//! an attacker who knows "everything" holds. Only rows the set could have been released as are
//! compared: rows whose published measurements are all in the set and number at least half of
//! the set's (coverage planning only ever drops values). The distance is the mean squared
//! difference over the row's published measurements, in units of each column's standard
//! deviation in the eligible data.
//!
//! **Figures.** The area under the ROC curve of the score (0.5: a coin; 1: members always
//! closer), with a 95 % interval (Hanley & McNeil 1982), and the true-positive rate at a 5 %
//! false-positive rate: the share of members the attacker names while wrongly naming 5 % of
//! non-members. Both for every target and for the **wide sets** (at least half the catalogue's
//! measurements), where the attack is strongest: the more measurements a row publishes, the
//! better it tells its own members from everyone else. The gate `max_membership_auc` judges the
//! wide sets when there are enough of them ([`MIN_WIDE_TARGETS`] of each kind), every target
//! otherwise.
//!
//! **Size.** On a table of at most [`SMALL_TABLE_PEOPLE`] people the simulation is repeated on
//! [`FOLDS`] disjoint held-out tenths, so that everyone is scored once as a non-member and the
//! AUC is not decided by a few dozen people. A tenth rather than more keeps each simulated
//! release close to the real one's size: the AUC was measured to grow with the people released
//! (embedded sample, 918 people: 0.66–0.68 with a fifth held out, 0.68–0.69 with a twentieth),
//! so a smaller simulated release would understate it. On a table of more than
//! [`MAX_SIMULATED_PEOPLE`] people it runs on that many drawn at random, which bounds its cost at
//! any size (one re-run of the method on 18,000 people); the figure that judges a larger release
//! is therefore the one of a release of that size (`BENCHMARKS.md` gives both at 1M).
//!
//! Everything here reads the raw data, so its figures go to the internal report only.

use std::collections::HashMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::attacks::{
    whole_percent, AttackDescription, AttackOutcome, DescribedRelease, SimulatedAttack, Simulation,
};
use super::recovery::{only_people, MethodUnderAttack};
use crate::fast_hash::FastMap;
use crate::table::{coverage_mask, MeasurementTable};

/// The goal for `thresholds.max_membership_auc`: an attacker who knows a whole set tells
/// members from non-members no better than this area under the ROC curve. The datasheet says the
/// method resists the attack when anonpub's own measurement ([`MEASURED_WIDE`]) is within it.
pub const DEFAULT_MAX_MEMBERSHIP_AUC: f64 = 0.65;

/// Share of the simulated people held out of the simulated release, to serve as non-members.
pub const HOLD_OUT_SHARE: f64 = 0.1;

/// Largest number of people the simulation runs on (see the module documentation).
pub const MAX_SIMULATED_PEOPLE: usize = 20_000;

/// Largest number of non-members (and as many members) scored.
pub const MAX_TARGETS: usize = 2_000;

/// Members and non-members each that the wide-set figures need before the gate judges them.
/// Below a hundred of each, the wide sets' AUC has a 95 % interval wider than ±0.08 (the example
/// table's 65 against 66 measured 0.58–0.66 over seeds and releases of the same people), so the
/// figure over every set, on more targets, judges instead.
pub const MIN_WIDE_TARGETS: usize = 100;

/// Tables of at most this many people are scored in [`FOLDS`] folds.
pub const SMALL_TABLE_PEOPLE: usize = 5_000;

/// Folds on a small table: with a tenth held out each time, everyone is a non-member once.
pub const FOLDS: usize = 10;

/// The false-positive rate the true-positive rate is read at.
pub const FALSE_POSITIVE_RATE: f64 = 0.05;

/// Membership AUC of the wide sets and the share of their members named at a 5 % false-positive
/// rate, as anonpub measured them with the other attacks (at
/// [`super::attacks::MEASURED_AT_K`], group noise of [`super::attacks::MEASURED_NOISE_SD`]).
/// `anonpub sample --users 10000 --seed 1`, `risk --attacks --seed 1`: 2,264 members and 2,259
/// non-members with wide sets.
const MEASURED_WIDE: [f64; 2] = [0.57, 0.10];

/// Domain separation of the draws of simulated people, folds and members.
const STREAM: u64 = 0x6d65_6d62_6572_7368; // "membersh"

/// Membership inference in the registry of simulated attacks ([`super::attacks::ATTACKS`]),
/// judged on the AUC of the wide sets ([`MembershipReport::gated_auc`]).
pub struct Membership;

impl SimulatedAttack for Membership {
    fn name(&self) -> &'static str {
        "membership"
    }

    fn gate(&self) -> &'static str {
        "thresholds.max_membership_auc"
    }

    /// On by default at [`DEFAULT_MAX_MEMBERSHIP_AUC`]: the default method draws every group's
    /// spread and calibrates the columns (`anonymize::variance`, `anonymize::calibrate`), which
    /// keeps the AUC near 0.55 on anonpub's samples and the independent generator
    /// (`BENCHMARKS.md`, *Membership*), so a release that measures above the limit is one whose
    /// data or configuration exposes its members, and is held back. A configuration may raise
    /// the limit (or set it to 1) to lower this protection explicitly.
    fn default_limit(&self) -> Option<f64> {
        Some(DEFAULT_MAX_MEMBERSHIP_AUC)
    }

    fn describe(&self, release: &DescribedRelease<'_>) -> AttackDescription {
        let [auc, tpr] = MEASURED_WIDE;
        let measured = format!(
            "**Telling who is in it:** someone who knows a person's whole set and looks for the \
             nearest released row told the people of the release from eligible people left out \
             of it with an AUC of {auc:.2} on sets of at least half the measurements (0.5 is a \
             coin, 1 always right), naming {} of them while wrongly naming 5 % of the others.",
            whole_percent(tpr)
        );
        let resisted = auc <= DEFAULT_MAX_MEMBERSHIP_AUC;
        AttackDescription {
            attacker: "tell whether a person whose whole set they know is in the release",
            gate: release.limit(self.gate()).map(|limit| {
                format!(
                    "someone who knows a person's whole set tells members from non-members by \
                     the nearest released row with an AUC of at most {limit}"
                )
            }),
            resists: resisted.then(|| measured.clone()),
            does_not_resist: (!resisted).then_some(measured),
        }
    }

    fn run(&self, simulation: &Simulation<'_>) -> AttackOutcome {
        let report = membership_attack(
            simulation.input.table,
            &simulation.scoring.sd,
            simulation.method,
            simulation.seed,
        );
        AttackOutcome {
            // Nobody to score (fewer than two people): the attacker has nothing to tell apart.
            figure: report.gated_auc().unwrap_or(0.5),
            lines: Vec::new(),
            note: Some(report.summary()),
            detail: serde_json::to_value(&report).expect("the report serializes"),
        }
    }
}

/// The figures of one set of targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MembershipFigures {
    /// Members scored.
    pub members: usize,
    /// Non-members (held-out people) scored.
    pub non_members: usize,
    /// Area under the ROC curve; `None` without both kinds of targets.
    pub auc: Option<f64>,
    /// Its 95 % interval (Hanley & McNeil), clamped to [0, 1].
    pub auc_ci95: Option<[f64; 2]>,
    /// Share of members named at a 5 % false-positive rate.
    pub tpr_at_5_percent_fpr: Option<f64>,
}

impl MembershipFigures {
    /// The figures in words, for `risk --attacks`.
    fn summary(&self) -> String {
        match (self.auc, self.auc_ci95, self.tpr_at_5_percent_fpr) {
            (Some(auc), Some([low, high]), Some(tpr)) => format!(
                "AUC {auc:.3} (95 % CI {low:.3}–{high:.3}), {:.1} % of members named at 5 % \
                 false positives ({} members, {} non-members)",
                tpr * 100.0,
                self.members,
                self.non_members
            ),
            _ => format!(
                "not measured ({} members, {} non-members)",
                self.members, self.non_members
            ),
        }
    }
}

/// The membership-inference simulation, for the internal report and the gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MembershipReport {
    /// People of the table the method was re-run on (at most [`MAX_SIMULATED_PEOPLE`]).
    pub simulated_people: usize,
    /// People held out, over every fold (see [`SMALL_TABLE_PEOPLE`]).
    pub held_out_people: usize,
    /// Sets with at least this many measurements count as wide.
    pub wide_min_measurements: usize,
    /// Every target.
    pub all: MembershipFigures,
    /// Targets whose set is wide.
    pub wide: MembershipFigures,
}

impl MembershipReport {
    /// The figure the gate judges: the wide sets' AUC when there are enough of them, every
    /// target's otherwise.
    pub fn gated_auc(&self) -> Option<f64> {
        if self.wide.members.min(self.wide.non_members) >= MIN_WIDE_TARGETS {
            self.wide.auc
        } else {
            self.all.auc
        }
    }

    /// Both sets of figures in words (figures only, nothing about a person).
    pub fn summary(&self) -> String {
        format!(
            "membership inference (the attacker knows a whole set, scores the nearest released \
             row; simulated on {} people, {} held out): every set {}; wide sets (at least {} \
             measurements) {}",
            self.simulated_people,
            self.held_out_people,
            self.all.summary(),
            self.wide_min_measurements,
            self.wide.summary()
        )
    }
}

/// One target: whether they are a member, how many measurements they have, their score.
struct Scored {
    member: bool,
    width: usize,
    distance: f64,
}

/// Runs the simulation of the module documentation on `table` against `method`; `sd` is each
/// column's standard deviation in `table` ([`super::recovery::column_sd`], which the attacks'
/// [`super::recovery::Scoring`] holds already), the unit of the distances.
pub fn membership_attack(
    table: &MeasurementTable,
    sd: &[f64],
    method: &dyn MethodUnderAttack,
    seed: u64,
) -> MembershipReport {
    assert_eq!(sd.len(), table.width(), "one spread per column");
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(STREAM);
    let mut people = table.persons().to_vec();
    people.sort_unstable();
    people.dedup();
    people.shuffle(&mut rng);
    // A random subset of at most MAX_SIMULATED_PEOPLE, in random order: the folds are its
    // consecutive chunks.
    let order = &people[..people.len().min(MAX_SIMULATED_PEOPLE)];
    let mut simulated = order.to_vec();
    simulated.sort_unstable();
    let held_count = ((order.len() as f64 * HOLD_OUT_SHARE).round() as usize)
        .min(order.len() / 2)
        .min(MAX_TARGETS);
    // Disjoint folds of held-out people, each scored against its own release: on a small table
    // one fold gives a few dozen non-members and an AUC that moves by ±0.1 between draws.
    let folds = if order.len() <= SMALL_TABLE_PEOPLE {
        FOLDS
    } else {
        1
    };
    let widest = widest_sets(table);
    let mut scored: Vec<Scored> = Vec::new();
    let mut held_total = 0;
    for fold in order.chunks(held_count.max(1)).take(folds) {
        let mut held_out = fold.to_vec();
        held_out.sort_unstable();
        let kept: Vec<u32> = simulated
            .iter()
            .copied()
            .filter(|p| held_out.binary_search(p).is_err())
            .collect();
        let members: Vec<u32> = kept
            .choose_multiple(&mut rng, held_out.len().min(kept.len()))
            .copied()
            .collect();
        let release = method.release(&only_people(table, &kept));
        let rows = ReleasedPatterns::of(&release.values, &release.group, table.width());
        let targets: Vec<(u32, bool)> = members
            .iter()
            .map(|&p| (p, true))
            .chain(held_out.iter().map(|&p| (p, false)))
            .collect();
        scored.par_extend(targets.par_iter().filter_map(|&(person, member)| {
            let set = table.row(*widest.get(&person)?);
            Some(Scored {
                member,
                width: set.iter().filter(|v| !v.is_nan()).count(),
                distance: rows.nearest_distance(set, sd),
            })
        }));
        held_total += held_out.len();
    }
    let wide_min_measurements = table.width().div_ceil(2).max(1);
    MembershipReport {
        simulated_people: simulated.len(),
        held_out_people: held_total,
        wide_min_measurements,
        all: figures(scored.iter()),
        wide: figures(scored.iter().filter(|s| s.width >= wide_min_measurements)),
    }
}

/// Each person's record with the most measurements (the first on ties).
fn widest_sets(table: &MeasurementTable) -> FastMap<u32, usize> {
    let mut widest: FastMap<u32, (usize, u32)> = FastMap::default();
    for r in 0..table.len() {
        let count = table.coverage(r).count_ones();
        let entry = widest.entry(table.person(r)).or_insert((r, count));
        if count > entry.1 {
            *entry = (r, count);
        }
    }
    widest.into_iter().map(|(p, (r, _))| (p, r)).collect()
}

/// The distinct released rows (one per group: a group's rows are identical), by coverage
/// pattern, each row holding only its pattern's values.
struct ReleasedPatterns {
    /// Each pattern: its mask, its columns, and its rows' values one after another.
    patterns: Vec<(u64, Vec<usize>, Vec<f64>)>,
}

impl ReleasedPatterns {
    fn of(values: &[f64], group: &[usize], width: usize) -> Self {
        let mut seen = std::collections::HashSet::new();
        let mut by_mask: HashMap<u64, usize> = HashMap::new();
        let mut patterns: Vec<(u64, Vec<usize>, Vec<f64>)> = Vec::new();
        for (row, g) in values.chunks_exact(width.max(1)).zip(group) {
            let mask = coverage_mask(row);
            if mask == 0 || !seen.insert(*g) {
                continue;
            }
            let index = *by_mask.entry(mask).or_insert_with(|| {
                let columns = (0..width).filter(|&c| mask >> c & 1 == 1).collect();
                patterns.push((mask, columns, Vec::new()));
                patterns.len() - 1
            });
            let (_, columns, rows) = &mut patterns[index];
            rows.extend(columns.iter().map(|&c| row[c]));
        }
        ReleasedPatterns { patterns }
    }

    /// Mean squared standardized difference from `set` to the nearest row it could have been
    /// released as (see the module documentation); infinite when there is none.
    fn nearest_distance(&self, set: &[f64], sd: &[f64]) -> f64 {
        let mask = coverage_mask(set);
        let needed = mask.count_ones().div_ceil(2).max(1);
        let mut nearest = f64::INFINITY;
        for (row_mask, columns, rows) in &self.patterns {
            if row_mask & !mask != 0 || row_mask.count_ones() < needed {
                continue;
            }
            let known: Vec<(f64, f64)> = columns.iter().map(|&c| (set[c], 1.0 / sd[c])).collect();
            let count = columns.len() as f64;
            for row in rows.chunks_exact(columns.len()) {
                if let Some(squares) = squares_within(row, &known, count, nearest) {
                    nearest = nearest.min(squares / count);
                }
            }
        }
        nearest
    }
}

/// The sum of squared standardized differences of `row` from the set (`known`: the set's value
/// and the inverse spread of each of the row's columns), added in column order from −0.0 as
/// `Iterator::sum` adds them; `None` as soon as the partial sum over `count` exceeds `nearest`
/// (checked every eight columns). The terms are not negative and rounding is monotonic, so the
/// whole sum over `count` would exceed it too: the row cannot be nearer than the nearest so
/// far, and stopping early changes no distance the caller keeps.
fn squares_within(row: &[f64], known: &[(f64, f64)], count: f64, nearest: f64) -> Option<f64> {
    let mut squares = -0.0;
    for (values, known) in row.chunks(8).zip(known.chunks(8)) {
        for (r, (s, inverse)) in values.iter().zip(known) {
            squares += ((r - s) * inverse).powi(2);
        }
        if squares / count > nearest {
            return None;
        }
    }
    Some(squares)
}

/// AUC (members closer = higher score), its interval, and the TPR at 5 % FPR.
fn figures<'a>(scored: impl Iterator<Item = &'a Scored>) -> MembershipFigures {
    let (mut members, mut others) = (Vec::new(), Vec::new());
    for s in scored {
        if s.member {
            members.push(s.distance);
        } else {
            others.push(s.distance);
        }
    }
    let mut result = MembershipFigures {
        members: members.len(),
        non_members: others.len(),
        auc: None,
        auc_ci95: None,
        tpr_at_5_percent_fpr: None,
    };
    if members.is_empty() || others.is_empty() {
        return result;
    }
    others.sort_by(f64::total_cmp);
    let auc = area_under_curve(&members, &others);
    let (m, n) = (members.len() as f64, others.len() as f64);
    let q1 = auc / (2.0 - auc);
    let q2 = 2.0 * auc * auc / (1.0 + auc);
    let variance =
        (auc * (1.0 - auc) + (m - 1.0) * (q1 - auc * auc) + (n - 1.0) * (q2 - auc * auc)) / (m * n);
    let half = 1.96 * variance.max(0.0).sqrt();
    result.auc = Some(auc);
    result.auc_ci95 = Some([(auc - half).max(0.0), (auc + half).min(1.0)]);
    result.tpr_at_5_percent_fpr = Some(true_positive_rate(&members, &others));
    result
}

/// Probability that a random member is closer than a random non-member, ties counting half
/// (the Mann–Whitney statistic over the product of the sample sizes); `others` sorted.
fn area_under_curve(members: &[f64], others: &[f64]) -> f64 {
    let wins: f64 = members
        .iter()
        .map(|&d| {
            let closer_or_tied = others.partition_point(|&o| o <= d);
            let tied = closer_or_tied - others.partition_point(|&o| o < d);
            (others.len() - closer_or_tied) as f64 + 0.5 * tied as f64
        })
        .sum();
    wins / (members.len() as f64 * others.len() as f64)
}

/// Share of members strictly closer than the threshold that names at most 5 % of non-members;
/// `others` sorted.
fn true_positive_rate(members: &[f64], others: &[f64]) -> f64 {
    let allowed = (FALSE_POSITIVE_RATE * others.len() as f64).floor() as usize;
    // Naming everyone closer than the (allowed + 1)-th closest non-member names at most
    // `allowed` non-members.
    let threshold = others[allowed.min(others.len() - 1)];
    members.iter().filter(|&&d| d < threshold).count() as f64 / members.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::recovery::{column_sd, GroupedRelease};

    #[test]
    fn nearest_distance_stopping_early_is_the_plain_minimum() {
        use rand::Rng;
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let width = 21;
        // Released rows of a few patterns (a group's rows alike), sets with gaps.
        let mut values = Vec::new();
        let mut group = Vec::new();
        for g in 0..300 {
            let gap = g % 4;
            let row: Vec<f64> = (0..width)
                .map(|c| {
                    if c % 4 == gap && c > 2 {
                        f64::NAN
                    } else {
                        rng.gen_range(100.0..140.0)
                    }
                })
                .collect();
            for _ in 0..3 {
                values.extend_from_slice(&row);
                group.push(g);
            }
        }
        let sd: Vec<f64> = (0..width).map(|c| 1.0 + c as f64 / 7.0).collect();
        let rows = ReleasedPatterns::of(&values, &group, width);
        for _ in 0..200 {
            let set: Vec<f64> = (0..width)
                .map(|c| {
                    if rng.gen_bool(0.1) && c > 0 {
                        f64::NAN
                    } else {
                        rng.gen_range(100.0..140.0)
                    }
                })
                .collect();
            let mask = coverage_mask(&set);
            let needed = mask.count_ones().div_ceil(2).max(1);
            let mut plain = f64::INFINITY;
            for (row_mask, columns, released) in &rows.patterns {
                if row_mask & !mask != 0 || row_mask.count_ones() < needed {
                    continue;
                }
                for row in released.chunks_exact(columns.len()) {
                    let squares: f64 = row
                        .iter()
                        .zip(columns)
                        .map(|(r, &c)| ((r - set[c]) * (1.0 / sd[c])).powi(2))
                        .sum();
                    plain = plain.min(squares / columns.len() as f64);
                }
            }
            assert_eq!(rows.nearest_distance(&set, &sd).to_bits(), plain.to_bits());
        }
    }

    #[test]
    fn auc_and_tpr_of_known_scores() {
        // Members all closer: AUC 1, every member named.
        assert_eq!(area_under_curve(&[0.1, 0.2], &[0.5, 0.6, 0.7]), 1.0);
        assert_eq!(area_under_curve(&[0.9], &[0.5, 0.6]), 0.0);
        // Ties count half; one of two members closer than both non-members, one tied with one.
        assert_eq!(area_under_curve(&[0.5], &[0.5]), 0.5);
        assert_eq!(area_under_curve(&[0.1, 0.5], &[0.5, 0.9]), 0.875);
        let others: Vec<f64> = (0..100).map(f64::from).collect();
        // Below the 6th-closest non-member (5.0): at most 5 non-members are named.
        assert_eq!(true_positive_rate(&[4.5, 5.5, 1.0, 50.0], &others), 0.5);
        // The interval holds the AUC and narrows with more targets.
        let scored = |count: u32| -> Vec<Scored> {
            (0..count)
                .map(|i| Scored {
                    member: i % 2 == 0,
                    width: 3,
                    distance: f64::from(i % 7) + if i % 2 == 0 { 0.0 } else { 1.5 },
                })
                .collect()
        };
        let few = figures(scored(40).iter());
        let many = figures(scored(4000).iter());
        let [low, high] = few.auc_ci95.unwrap();
        assert!(low < few.auc.unwrap() && few.auc.unwrap() < high, "{few:?}");
        let [many_low, many_high] = many.auc_ci95.unwrap();
        assert!(many_high - many_low < (high - low) / 5.0, "{many:?}");
        assert_eq!((many.members, many.non_members), (2000, 2000));
        // Without one of the two kinds, nothing is measured.
        let members_only = figures(scored(10).iter().filter(|s| s.member));
        assert_eq!(members_only.auc, None);
        assert!(members_only.summary().starts_with("not measured"));
    }

    /// A release that publishes every record as it is, in groups of one: membership shows.
    fn identity(table: &MeasurementTable) -> GroupedRelease {
        GroupedRelease {
            values: table.values().to_vec(),
            source: (0..table.len()).collect(),
            group: (0..table.len()).collect(),
        }
    }

    /// A release that publishes one row, the mean, for everyone: membership cannot show.
    fn one_mean(table: &MeasurementTable) -> GroupedRelease {
        let width = table.width();
        let mut mean = vec![0.0; width];
        for r in 0..table.len() {
            for (m, v) in mean.iter_mut().zip(table.row(r)) {
                *m += v / table.len() as f64;
            }
        }
        GroupedRelease {
            values: (0..table.len()).flat_map(|_| mean.clone()).collect(),
            source: (0..table.len()).collect(),
            group: vec![0; table.len()],
        }
    }

    /// People on a scattered lattice, not drawn from any body model.
    fn people(count: u32) -> MeasurementTable {
        let mut table = MeasurementTable::new(vec!["a".into(), "b".into(), "c".into()]);
        for p in 0..count {
            let x = f64::from((p * 7919) % 1000);
            let y = f64::from((p * 104_729) % 997);
            table.push(p, &[x, y, x + y]);
        }
        table
    }

    #[test]
    fn publishing_sets_as_they_are_shows_membership_and_one_mean_does_not() {
        let table = people(500);
        let exposed = membership_attack(&table, &column_sd(&table), &identity, 1);
        assert_eq!(exposed.simulated_people, 500);
        // Ten folds of fifty: everyone held out once.
        assert_eq!(exposed.held_out_people, 500);
        assert_eq!((exposed.all.members, exposed.all.non_members), (500, 500));
        assert_eq!(exposed.all.auc, Some(1.0));
        assert_eq!(exposed.all.tpr_at_5_percent_fpr, Some(1.0));
        // Three measurements of three: every set is wide.
        assert_eq!(exposed.wide_min_measurements, 2);
        assert_eq!(exposed.gated_auc(), Some(1.0));
        let hidden = membership_attack(&table, &column_sd(&table), &one_mean, 1);
        let auc = hidden.gated_auc().unwrap();
        assert!((0.4..0.6).contains(&auc), "{auc}");
        let [low, high] = hidden.all.auc_ci95.unwrap();
        assert!(low < auc && auc < high);
        assert!(hidden.all.tpr_at_5_percent_fpr.unwrap() < 0.2, "{hidden:?}");
        assert_eq!(
            membership_attack(&table, &column_sd(&table), &one_mean, 1),
            hidden,
            "deterministic"
        );
        assert!(
            hidden.summary().contains("held out"),
            "{}",
            hidden.summary()
        );
    }

    #[test]
    fn a_large_table_is_simulated_on_a_bounded_draw_in_one_fold() {
        let table = people(MAX_SIMULATED_PEOPLE as u32 + 500);
        let report = membership_attack(&table, &column_sd(&table), &identity, 3);
        assert_eq!(report.simulated_people, MAX_SIMULATED_PEOPLE);
        assert_eq!(report.held_out_people, MAX_TARGETS);
        assert_eq!(report.all.auc, Some(1.0));
    }

    #[test]
    fn narrow_sets_are_judged_on_every_target_and_a_person_by_their_widest_set() {
        // Two sets per person: the widest (three values) is the one scored.
        let mut table = MeasurementTable::new(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
        let n = f64::NAN;
        for p in 0..300u32 {
            let x = f64::from((p * 7919) % 1000);
            table.push(p, &[x, n, n, n]);
            table.push(p, &[x, x / 2.0, 1000.0 - x, n]);
        }
        let widest = widest_sets(&table);
        assert_eq!(widest.len(), 300);
        assert!(widest.values().all(|&r| r % 2 == 1));
        let report = membership_attack(&table, &column_sd(&table), &identity, 2);
        // Three of four measurements is wide (at least two).
        assert_eq!(report.wide_min_measurements, 2);
        assert_eq!(report.wide.members, 300);
        assert_eq!(report.gated_auc(), report.wide.auc);
    }

    #[test]
    fn rows_the_set_could_not_have_been_released_as_are_not_compared() {
        let n = f64::NAN;
        let values = [1.0, 1.0, n, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0];
        // The second and third rows are one group: compared once.
        let rows = ReleasedPatterns::of(&values, &[0, 1, 1], 3);
        assert_eq!(rows.patterns.len(), 2);
        assert_eq!(rows.patterns[1].2.len(), 3);
        // A set of {a, b}: the full row publishes a measurement it lacks.
        assert_eq!(rows.nearest_distance(&[1.0, 1.0, n], &[1.0; 3]), 0.0);
        assert_eq!(rows.nearest_distance(&[5.0, 5.0, n], &[1.0; 3]), 16.0);
        // Standardized by each column's SD.
        assert_eq!(rows.nearest_distance(&[5.0, 5.0, n], &[2.0; 3]), 4.0);
        // A set of {c} only: no row it could be.
        assert_eq!(
            rows.nearest_distance(&[n, n, 5.0], &[1.0; 3]),
            f64::INFINITY
        );
    }
}
