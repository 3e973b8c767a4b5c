//! Membership inference: does the release tell whether a person is in it?
//!
//! **Attacker.** Someone who knows a person's whole measurement set (they measured them, or hold
//! a copy of the set) and wants to know whether that person is among the release's people — on a
//! body-measurement site that alone can be sensitive. They score the person by the distance from
//! the set to the nearest released row, the classic distance-to-closest-record test of synthetic
//! and anonymized data (Shokri et al. 2017 for the game; Stadler, Oprisanu & Troncoso 2022,
//! *Synthetic data — anonymisation groundhog day*, for the nearest-record attacker on released
//! microdata): a member's own group's row was formed around them, so it tends to lie closer than
//! any row lies to someone who is not in the release.
//!
//! **Simulation.** The data holder holds out a random share ([`HOLD_OUT_SHARE`]) of the eligible
//! people, re-runs the release method (defences included) on the others, and plays the attacker
//! against the held-out people (non-members) and as many people drawn from the release
//! (members), one set each: the person's widest set, the one an attacker who knows "everything"
//! holds. Only rows the set could have been released as are compared: rows whose published
//! measurements are all in the set and number at least half of the set's (coverage planning only
//! ever drops values). The distance is the mean squared difference over the row's published
//! measurements, in units of each column's standard deviation in the eligible data.
//!
//! **Figures.** The area under the ROC curve of the score (0.5: a coin; 1: members always
//! closer), with a 95 % interval (Hanley & McNeil 1982), and the true-positive rate at a 5 %
//! false-positive rate: the share of members the attacker names while wrongly naming 5 % of
//! non-members. Both for every target and for the **widest sets** (at least half the catalogue's
//! measurements), where the attack is strongest: the more measurements a row publishes, the
//! better it tells its own members from everyone else. The gate `max_membership_auc` judges the
//! widest sets when there are enough of them ([`MIN_WIDE_TARGETS`] of each kind), every target
//! otherwise. On a table of at most [`SMALL_TABLE_PEOPLE`] people the simulation is repeated on
//! [`FOLDS`] disjoint held-out fifths, so that everyone is scored once as a non-member and the
//! AUC is not decided by a few dozen people. On a table of more than [`MAX_SIMULATED_PEOPLE`]
//! people the simulation runs on that
//! many drawn at random: fewer people make rows sparser and members stand out more, so the
//! figure errs on the side of caution.
//!
//! Everything here reads the raw data, so its figures go to the internal report only.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::recovery::{column_sd, only_people, MethodUnderAttack};
use crate::table::MeasurementTable;

/// Default of `thresholds.max_membership_auc`: an attacker who knows a whole set tells members
/// from non-members no better than this area under the ROC curve.
pub const DEFAULT_MAX_MEMBERSHIP_AUC: f64 = 0.65;

/// Share of the eligible people held out of the simulated release, to serve as non-members.
pub const HOLD_OUT_SHARE: f64 = 0.2;

/// Largest number of people the simulation runs on.
pub const MAX_SIMULATED_PEOPLE: usize = 20_000;

/// Largest number of non-members (and as many members) scored.
pub const MAX_TARGETS: usize = 2_000;

/// Members and non-members each the widest-set figures need before the gate judges them.
pub const MIN_WIDE_TARGETS: usize = 20;

/// Tables of at most this many people are scored in [`FOLDS`] folds.
pub const SMALL_TABLE_PEOPLE: usize = 5_000;

/// Folds on a small table: with a fifth held out each time, everyone is a non-member once.
pub const FOLDS: usize = 5;

/// The false-positive rate the true-positive rate is read at.
pub const FALSE_POSITIVE_RATE: f64 = 0.05;

/// Domain separation of the draws.
const STREAM: u64 = 0x6d65_6d62_6572_7368; // "membersh"

/// The generator that orders people into folds.
fn rng_for_folds(seed: u64) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(STREAM + 1);
    rng
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

/// The membership-inference simulation, for the internal report and the gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MembershipReport {
    /// People of the table the method was re-run on.
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
    /// The figure the gate judges: the widest sets' AUC when there are enough of them, every
    /// target's otherwise.
    pub fn gated_auc(&self) -> Option<f64> {
        if self.wide.members.min(self.wide.non_members) >= MIN_WIDE_TARGETS {
            self.wide.auc
        } else {
            self.all.auc
        }
    }
}

/// One target: whether they are a member, how many measurements they have, their score.
struct Scored {
    member: bool,
    width: usize,
    distance: f64,
}

/// Runs the simulation of the module documentation on `table` against `method`.
pub fn membership_attack(
    table: &MeasurementTable,
    method: &dyn MethodUnderAttack,
    seed: u64,
) -> MembershipReport {
    let mut people = table.persons().to_vec();
    people.sort_unstable();
    people.dedup();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(STREAM);
    let mut draw = |from: &[u32], count: usize| -> Vec<u32> {
        let mut chosen: Vec<u32> = rand::seq::index::sample(&mut rng, from.len(), count)
            .into_iter()
            .map(|i| from[i])
            .collect();
        chosen.sort_unstable();
        chosen
    };
    let simulated = draw(&people, people.len().min(MAX_SIMULATED_PEOPLE));
    let held_count = ((simulated.len() as f64 * HOLD_OUT_SHARE).round() as usize)
        .min(simulated.len() / 2)
        .min(MAX_TARGETS);
    // Disjoint folds of held-out people, each scored against its own release: on a small table
    // one fold gives a few dozen non-members and an AUC that moves by ±0.1 between draws.
    let folds = if simulated.len() <= SMALL_TABLE_PEOPLE {
        FOLDS
    } else {
        1
    };
    let mut order = draw(&simulated, simulated.len());
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng_for_folds(seed));
    let width = table.width();
    let sd = column_sd(table);
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
        let members = draw(&kept, held_out.len().min(kept.len()));
        let release = method.release(&only_people(table, &kept));
        let rows = distinct_rows(&release.values, &release.group, width);
        let targets: Vec<(u32, bool)> = members
            .iter()
            .map(|&p| (p, true))
            .chain(held_out.iter().map(|&p| (p, false)))
            .collect();
        scored.extend(
            targets
                .par_iter()
                .filter_map(|&(person, member)| {
                    let record = *widest.get(&person)?;
                    let set = table.row(record);
                    Some(Scored {
                        member,
                        width: set.iter().filter(|v| !v.is_nan()).count(),
                        distance: nearest_distance(set, &rows, &sd),
                    })
                })
                .collect::<Vec<_>>(),
        );
        held_total += held_out.len();
    }
    let wide_min_measurements = width.div_ceil(2).max(1);
    MembershipReport {
        simulated_people: simulated.len(),
        held_out_people: held_total,
        wide_min_measurements,
        all: figures(scored.iter()),
        wide: figures(scored.iter().filter(|s| s.width >= wide_min_measurements)),
    }
}

/// The released rows, one per group (the rows of a group are identical), as (coverage, values).
fn distinct_rows(values: &[f64], group: &[usize], width: usize) -> Vec<(u64, Vec<f64>)> {
    let mut seen = std::collections::HashSet::new();
    values
        .chunks_exact(width.max(1))
        .zip(group)
        .filter(|(_, g)| seen.insert(**g))
        .map(|(row, _)| {
            let mask = row
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_nan())
                .fold(0u64, |m, (c, _)| m | 1 << c);
            (mask, row.to_vec())
        })
        .collect()
}

/// Each person's record with the most measurements (the first on ties).
fn widest_sets(table: &MeasurementTable) -> std::collections::HashMap<u32, usize> {
    let mut widest: std::collections::HashMap<u32, (usize, usize)> = Default::default();
    for r in 0..table.len() {
        let count = table.row(r).iter().filter(|v| !v.is_nan()).count();
        let entry = widest.entry(table.person(r)).or_insert((r, count));
        if count > entry.1 {
            *entry = (r, count);
        }
    }
    widest.into_iter().map(|(p, (r, _))| (p, r)).collect()
}

/// Mean squared standardized difference from `set` to the nearest row it could have been
/// released as (see the module documentation); infinite when there is none.
fn nearest_distance(set: &[f64], rows: &[(u64, Vec<f64>)], sd: &[f64]) -> f64 {
    let mask = set
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .fold(0u64, |m, (c, _)| m | 1 << c);
    let needed = mask.count_ones().div_ceil(2).max(1);
    rows.iter()
        .filter(|(row_mask, _)| {
            *row_mask != 0 && row_mask & !mask == 0 && row_mask.count_ones() >= needed
        })
        .map(|(row_mask, row)| {
            let columns = row_mask.count_ones() as f64;
            row.iter()
                .zip(set)
                .zip(sd)
                .filter(|((r, _), _)| !r.is_nan())
                .map(|((r, s), d)| ((r - s) / d).powi(2))
                .sum::<f64>()
                / columns
        })
        .fold(f64::INFINITY, f64::min)
}

/// AUC (members closer = higher score), its interval, and the TPR at 5 % FPR.
fn figures<'a>(scored: impl Iterator<Item = &'a Scored>) -> MembershipFigures {
    let (members, others): (Vec<&Scored>, Vec<&Scored>) = scored.partition(|s| s.member);
    let member_d: Vec<f64> = members.iter().map(|s| s.distance).collect();
    let other_d: Vec<f64> = others.iter().map(|s| s.distance).collect();
    let mut result = MembershipFigures {
        members: member_d.len(),
        non_members: other_d.len(),
        auc: None,
        auc_ci95: None,
        tpr_at_5_percent_fpr: None,
    };
    if member_d.is_empty() || other_d.is_empty() {
        return result;
    }
    let auc = area_under_curve(&member_d, &other_d);
    let (m, n) = (member_d.len() as f64, other_d.len() as f64);
    let q1 = auc / (2.0 - auc);
    let q2 = 2.0 * auc * auc / (1.0 + auc);
    let variance =
        (auc * (1.0 - auc) + (m - 1.0) * (q1 - auc * auc) + (n - 1.0) * (q2 - auc * auc)) / (m * n);
    let half = 1.96 * variance.max(0.0).sqrt();
    result.auc = Some(auc);
    result.auc_ci95 = Some([(auc - half).max(0.0), (auc + half).min(1.0)]);
    result.tpr_at_5_percent_fpr = Some(true_positive_rate(&member_d, &other_d));
    result
}

/// Probability that a random member is closer than a random non-member, ties counting half
/// (the Mann–Whitney statistic over the product of the sample sizes).
fn area_under_curve(members: &[f64], others: &[f64]) -> f64 {
    let mut sorted = others.to_vec();
    sorted.sort_by(f64::total_cmp);
    let wins: f64 = members
        .iter()
        .map(|&d| {
            let farther = sorted.len() - sorted.partition_point(|&o| o <= d);
            let tied = sorted.partition_point(|&o| o <= d) - sorted.partition_point(|&o| o < d);
            farther as f64 + 0.5 * tied as f64
        })
        .sum();
    wins / (members.len() as f64 * others.len() as f64)
}

/// Share of members strictly closer than the threshold that names at most 5 % of non-members.
fn true_positive_rate(members: &[f64], others: &[f64]) -> f64 {
    let mut sorted = others.to_vec();
    sorted.sort_by(f64::total_cmp);
    let allowed = (FALSE_POSITIVE_RATE * sorted.len() as f64).floor() as usize;
    // Naming everyone closer than the (allowed + 1)-th closest non-member names at most
    // `allowed` non-members.
    let threshold = sorted[allowed.min(sorted.len() - 1)];
    members.iter().filter(|&&d| d < threshold).count() as f64 / members.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::recovery::GroupedRelease;

    #[test]
    fn auc_and_tpr_of_known_scores() {
        // Members all closer: AUC 1, every member named.
        assert_eq!(area_under_curve(&[0.1, 0.2], &[0.5, 0.6, 0.7]), 1.0);
        assert_eq!(area_under_curve(&[0.9], &[0.5, 0.6]), 0.0);
        // Ties count half.
        assert_eq!(area_under_curve(&[0.5], &[0.5]), 0.5);
        let others: Vec<f64> = (0..100).map(f64::from).collect();
        // Below the 6th-closest non-member (5.0): at most 5 non-members are named.
        assert_eq!(true_positive_rate(&[4.5, 5.5, 1.0, 50.0], &others), 0.5);
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
        let exposed = membership_attack(&table, &identity, 1);
        assert_eq!(exposed.simulated_people, 500);
        // Five folds of a hundred: everyone held out once.
        assert_eq!(exposed.held_out_people, 500);
        assert_eq!((exposed.all.members, exposed.all.non_members), (500, 500));
        assert_eq!(exposed.all.auc, Some(1.0));
        assert_eq!(exposed.all.tpr_at_5_percent_fpr, Some(1.0));
        // Three measurements of three: every set is wide.
        assert_eq!(exposed.wide_min_measurements, 2);
        assert_eq!(exposed.gated_auc(), Some(1.0));
        let hidden = membership_attack(&table, &one_mean, 1);
        let auc = hidden.gated_auc().unwrap();
        assert!((0.4..0.6).contains(&auc), "{auc}");
        let [low, high] = hidden.all.auc_ci95.unwrap();
        assert!(low < auc && auc < high);
        assert_eq!(
            membership_attack(&table, &one_mean, 1),
            hidden,
            "deterministic"
        );
    }

    #[test]
    fn rows_the_set_could_not_have_been_released_as_are_not_compared() {
        let n = f64::NAN;
        let rows = vec![(0b011, vec![1.0, 1.0, n]), (0b111, vec![5.0, 5.0, 5.0])];
        // A set of {a, b}: the full row publishes a measurement it lacks.
        assert_eq!(nearest_distance(&[1.0, 1.0, n], &rows, &[1.0; 3]), 0.0);
        assert_eq!(nearest_distance(&[5.0, 5.0, n], &rows, &[1.0; 3]), 16.0);
        // A set of {c} only: no row it could be.
        assert_eq!(
            nearest_distance(&[n, n, 5.0], &rows, &[1.0; 3]),
            f64::INFINITY
        );
    }
}
