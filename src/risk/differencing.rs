//! Differencing two successive releases: one person left, or joined, in between.
//!
//! k-anonymity protects each release on its own; it does not compose (Ganta, Kasiviswanathan &
//! Smith 2008). Two releases of group means that differ by one person give that person away up
//! to whatever the method changed besides.
//!
//! **The attacker** holds two releases and knows that exactly one person left (or joined) in
//! between; nothing about the person. Released rows carry their coverage pattern (which
//! measurements are present), so the attacker sums the rows of each pattern in both releases:
//! the pattern whose row count changed is the person's (one per set), and the difference of the
//! two sums is the person's values plus whatever the other groups that changed contribute
//! (rounding, and the groups a change reshuffles). Divided by the change in row count, it is the
//! attacker's estimate of the set. This is the best linear use of the two releases: rows that
//! repeat identically in both cancel out of the difference anyway.
//!
//! **Simulation.** Targets are people drawn at random. For a *leaver*, the release of the eligible
//! table is compared with the release of the table without the target. For a *joiner*, the
//! targets are first held out of the table in pools (each at most a twentieth of the people);
//! the release of the rest is compared with the release of the rest plus the target, whose sets arrive last (newest accounts come last in
//! the database). A target is recovered when every set of theirs in the release that holds them
//! comes back within the tolerance ([`super::recovery`]); a joiner whose sets are all suppressed
//! counts as a target that was not located.

use super::attacks::{
    whole_percent, AttackDescription, AttackLine, AttackOutcome, DescribedRelease, SimulatedAttack,
    Simulation, DEFAULT_MAX_DIFFERENCING_RECOVERED, MEASURED_NOISE_SD,
};
use std::borrow::Cow;
use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use super::recovery::{
    published_columns, sample_people, without_people, GroupedRelease, MethodUnderAttack, Rebuilt,
    RecoveryFigures, Scoring, Tally,
};
use crate::table::{coverage_mask, MeasurementTable};

/// Share of leavers / joiners rebuilt by differencing without noise, as anonpub measured it
/// (at [`super::attacks::MEASURED_AT_K`]).
const MEASURED_PLAIN: [f64; 2] = [0.04, 0.01];
/// Median error of the differencing estimate without noise, in standard deviations.
const MEASURED_PLAIN_ERROR_SD: f64 = 0.39;
/// Share of leavers / joiners rebuilt with group noise of [`MEASURED_NOISE_SD`].
const MEASURED_NOISE: [f64; 2] = [0.0, 0.0];
/// Median error with noise, in standard deviations: the lower and the higher of leavers and
/// joiners.
const MEASURED_NOISE_ERROR_SD: [f64; 2] = [1.27, 1.56];

/// Differencing two successive releases, in the registry of simulated attacks
/// ([`super::attacks::ATTACKS`]): one leaver and one joiner per target, judged on the larger of
/// the two shares recovered.
pub struct Differencing;

impl SimulatedAttack for Differencing {
    fn name(&self) -> &'static str {
        "differencing"
    }

    fn gate(&self) -> &'static str {
        "thresholds.max_differencing_recovered"
    }

    fn default_limit(&self) -> Option<f64> {
        Some(DEFAULT_MAX_DIFFERENCING_RECOVERED)
    }

    fn describe(&self, release: &DescribedRelease<'_>) -> AttackDescription {
        let resists = match release.noise_sd {
            Some(scale) => format!(
                "**Two successive releases** compared by someone who knows that one person \
                 left or joined in between. Each group's values carry noise of {scale} standard \
                 deviations of each measurement, drawn from a secret key and the group's \
                 members: the same noise when a group is released again unchanged, so comparing \
                 releases averages nothing away, and new noise when a group changed. The \
                 difference of two releases is then the person plus the noise of every group the \
                 change touched. At {noise} standard deviations, {leavers} of leavers and \
                 {joiners} of joiners were rebuilt, with a median error of \
                 {error_leavers:.1}–{error_joiners:.1} standard deviations (without the noise: \
                 {plain_leavers} and {plain_joiners}, median error {plain_error:.2} standard \
                 deviations). A row that publishes only some of the measurements carries more \
                 noise on each (the square root of all measurements over the published ones), \
                 so a sparse set is as hard to rebuild as a full one, and a set published with \
                 fewer than {min_published} measurements is not published at all: one or two \
                 values are rebuilt by guessing near an average.",
                noise = MEASURED_NOISE_SD,
                leavers = whole_percent(MEASURED_NOISE[0]),
                joiners = whole_percent(MEASURED_NOISE[1]),
                error_leavers = MEASURED_NOISE_ERROR_SD[0],
                error_joiners = MEASURED_NOISE_ERROR_SD[1],
                plain_leavers = whole_percent(MEASURED_PLAIN[0]),
                plain_joiners = whole_percent(MEASURED_PLAIN[1]),
                plain_error = MEASURED_PLAIN_ERROR_SD,
                min_published = release.min_published_measurements,
            ),
            None => format!(
                "**Two successive releases**, only partly: this release carries no noise, and \
                 someone who knows that one person left or joined between two releases rebuilt \
                 {leavers} of leavers and {joiners} of joiners (median error {error:.2} \
                 standard deviations); only the reshuffling of groups and the rounding stood in \
                 the way.",
                leavers = whole_percent(MEASURED_PLAIN[0]),
                joiners = whole_percent(MEASURED_PLAIN[1]),
                error = MEASURED_PLAIN_ERROR_SD,
            ),
        };
        AttackDescription {
            attacker: "compare two successive releases",
            gate: release
                .limit(self.gate())
                .map(|limit| format!("differencing rebuilds at most {}", whole_percent(limit))),
            resists: Some(resists),
            does_not_resist: None,
        }
    }

    fn run(&self, simulation: &Simulation<'_>) -> AttackOutcome {
        let attack = |change, people| {
            let (table, method) = (simulation.simulated, simulation.method);
            attack_people(table, method, change, people, simulation.scoring)
        };
        let report = DifferencingReport {
            leavers: attack(Change::Left, simulation.leavers),
            joiners: attack(Change::Joined, simulation.joiners),
        };
        AttackOutcome {
            figure: report
                .leavers
                .recovered_share
                .max(report.joiners.recovered_share),
            lines: vec![
                AttackLine {
                    key: "differencing_leaver",
                    label: "differencing, leaver",
                    figures: report.leavers.clone(),
                },
                AttackLine {
                    key: "differencing_joiner",
                    label: "differencing, joiner",
                    figures: report.joiners.clone(),
                },
            ],
            detail: serde_json::to_value(&report).expect("the report serializes"),
            note: None,
        }
    }
}

/// Domain separation: leavers and joiners are drawn from their own streams of the seed.
const LEAVER_STREAM: u64 = 0x6c65_6176_6572_7321; // "leavers!"
const JOINER_STREAM: u64 = 0x6a6f_696e_6572_7321; // "joiners!"

/// How the people behind the two releases differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The target is in the first release and not in the second.
    Left,
    /// The target is in the second release and not in the first.
    Joined,
}

/// The figures for leavers and joiners.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DifferencingReport {
    /// Targets who left between the two releases.
    pub leavers: RecoveryFigures,
    /// Targets who joined between the two releases.
    pub joiners: RecoveryFigures,
}

/// Runs the attack for `targets` leavers and `targets` joiners.
pub fn differencing_attack(
    table: &MeasurementTable,
    method: &dyn MethodUnderAttack,
    targets: usize,
    seed: u64,
    scoring: &Scoring,
) -> DifferencingReport {
    DifferencingReport {
        leavers: attack_changes(table, method, Change::Left, targets, seed, scoring),
        joiners: attack_changes(table, method, Change::Joined, targets, seed, scoring),
    }
}

/// Runs the attack for `targets` people who made the given change.
pub fn attack_changes(
    table: &MeasurementTable,
    method: &dyn MethodUnderAttack,
    change: Change,
    targets: usize,
    seed: u64,
    scoring: &Scoring,
) -> RecoveryFigures {
    let people = sample_people(table, targets, seed, stream_of(change));
    attack_people(table, method, change, &people, scoring)
}

/// The seed stream targets of `change` are drawn from.
pub fn stream_of(change: Change) -> u64 {
    match change {
        Change::Left => LEAVER_STREAM,
        Change::Joined => JOINER_STREAM,
    }
}

/// Runs the attack for the given people (person numbers of `table`), each as the one who made
/// the change: the targets the data holder's ledger names as joiners, or people drawn at random.
pub fn attack_people(
    table: &MeasurementTable,
    method: &dyn MethodUnderAttack,
    change: Change,
    people: &[u32],
    scoring: &Scoring,
) -> RecoveryFigures {
    // Joiners are held out of the table in pools of at most a twentieth of its people, each
    // pool with its own base release, so that the table before the join stays close to the
    // real one however many targets there are.
    let pool = match change {
        Change::Left => people.len().max(1),
        Change::Joined => (table.distinct_people() / 20).max(1),
    };
    let outcomes: Vec<_> = people
        .chunks(pool)
        .flat_map(|pool| {
            let base = match change {
                Change::Left => Cow::Borrowed(table),
                Change::Joined => Cow::Owned(without_people(table, pool)),
            };
            let base_release = method.release(&base);
            let base_sums = PatternSums::of(&base_release, table.width());
            let width = table.width();
            pool.par_iter()
                .map(|&person| match change {
                    Change::Left => {
                        let reduced = method.release(&without_people(table, &[person]));
                        let reduced_sums = PatternSums::of(&reduced, width);
                        rebuild(
                            person,
                            &base_release,
                            &base,
                            &base_sums,
                            &reduced_sums,
                            scoring,
                        )
                    }
                    Change::Joined => {
                        let grown = with_person_of(&base, table, person);
                        let release = method.release(&grown);
                        let sums = PatternSums::of(&release, width);
                        rebuild(person, &release, &grown, &sums, &base_sums, scoring)
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Tally::figures_of(outcomes)
}

/// The attacker's estimate of every released set of `person`, from the release holding them and
/// the sums of the one without them, judged against the truth.
fn rebuild(
    person: u32,
    with: &GroupedRelease,
    with_table: &MeasurementTable,
    with_sums: &PatternSums,
    without: &PatternSums,
    scoring: &Scoring,
) -> Vec<Option<Rebuilt>> {
    let width = with_table.width();
    (0..with.source.len())
        .filter(|&r| with_table.person(with.source[r]) == person)
        .map(|r| {
            let row = with.row(r, width);
            let estimate = with_sums.difference(without, coverage_mask(row))?;
            let truth = with_table.row(with.source[r]);
            Some(scoring.judge(truth, &estimate, &published_columns(row)))
        })
        .collect()
}

/// `base` plus every row of `person` from `table`, appended last.
fn with_person_of(
    base: &MeasurementTable,
    table: &MeasurementTable,
    person: u32,
) -> MeasurementTable {
    let mut grown = base.clone();
    for r in (0..table.len()).filter(|&r| table.person(r) == person) {
        grown.push(person, table.row(r));
    }
    grown
}

/// Row count and column sums of the released rows of each coverage pattern: what the attacker
/// computes from a release.
#[derive(Debug, Clone, Default)]
struct PatternSums(HashMap<u64, (usize, Vec<f64>)>);

impl PatternSums {
    fn of(release: &GroupedRelease, width: usize) -> Self {
        let mut sums: HashMap<u64, (usize, Vec<f64>)> = HashMap::new();
        for r in 0..release.source.len() {
            let row = release.row(r, width);
            let (count, sum) = sums
                .entry(coverage_mask(row))
                .or_insert_with(|| (0, vec![0.0; width]));
            *count += 1;
            for (s, v) in sum.iter_mut().zip(row) {
                if !v.is_nan() {
                    *s += v;
                }
            }
        }
        PatternSums(sums)
    }

    /// The mean of the rows of `pattern` that `self` has and `other` lacks, if it has more.
    fn difference(&self, other: &PatternSums, pattern: u64) -> Option<Vec<f64>> {
        let (count, sum) = self.0.get(&pattern)?;
        let (other_count, other_sum) = other
            .0
            .get(&pattern)
            .map_or((0, None), |(n, s)| (*n, Some(s)));
        let extra = count.checked_sub(other_count).filter(|&n| n > 0)? as f64;
        Some(
            sum.iter()
                .enumerate()
                .map(|(c, s)| (s - other_sum.map_or(0.0, |o| o[c])) / extra)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::recovery::Tolerance;

    /// A release method without rounding or reshuffling: one group per pattern, its rows the mean.
    fn one_group_per_pattern(table: &MeasurementTable) -> GroupedRelease {
        let width = table.width();
        let mut by_pattern: HashMap<u64, Vec<usize>> = HashMap::new();
        for r in 0..table.len() {
            by_pattern.entry(table.coverage(r)).or_default().push(r);
        }
        let mut patterns: Vec<_> = by_pattern.into_iter().collect();
        patterns.sort_unstable();
        let mut release = GroupedRelease::default();
        for (group, (_, rows)) in patterns.into_iter().enumerate() {
            let mean: Vec<f64> = (0..width)
                .map(|c| rows.iter().map(|&r| table.row(r)[c]).sum::<f64>() / rows.len() as f64)
                .collect();
            for r in rows {
                release.values.extend_from_slice(&mean);
                release.source.push(r);
                release.group.push(group);
            }
        }
        release
    }

    fn people(count: u32) -> MeasurementTable {
        let mut table = MeasurementTable::new(vec!["chest".into(), "neck".into()]);
        for p in 0..count {
            let chest = 800.0 + 7.0 * f64::from(p);
            let neck = if p % 3 == 0 {
                f64::NAN
            } else {
                350.0 + f64::from(p)
            };
            table.push(p, &[chest, neck]);
        }
        table
    }

    fn scoring(table: &MeasurementTable) -> Scoring {
        let tolerance = Tolerance {
            relative: 0.0,
            absolute: vec![0.001; 2],
        };
        Scoring::new(tolerance, table)
    }

    #[test]
    fn group_means_without_noise_give_every_leaver_and_joiner_back() {
        let table = people(30);
        let report = differencing_attack(&table, &one_group_per_pattern, 8, 1, &scoring(&table));
        for figures in [report.leavers, report.joiners] {
            assert_eq!(figures.targets, 8);
            assert_eq!(figures.recovered, 8, "{figures:?}");
            assert!(figures.median_error_sd.unwrap() < 1e-9);
        }
    }

    #[test]
    fn a_release_that_ignores_the_change_gives_nothing() {
        let table = people(30);
        let everyone = one_group_per_pattern(&table);
        let same_every_time = |_: &MeasurementTable| everyone.clone();
        let figures = attack_changes(
            &table,
            &same_every_time,
            Change::Left,
            5,
            1,
            &scoring(&table),
        );
        assert_eq!(
            (figures.targets, figures.located, figures.recovered),
            (5, 0, 0)
        );
        assert_eq!(figures.median_error_sd, None);
    }

    #[test]
    fn pattern_sums_difference() {
        let table = people(6);
        let all = PatternSums::of(&one_group_per_pattern(&table), 2);
        let fewer = PatternSums::of(&one_group_per_pattern(&without_people(&table, &[1])), 2);
        // Person 1 has both measurements: chest 807, neck 351.
        assert_eq!(all.difference(&fewer, 0b11), Some(vec![807.0, 351.0]));
        assert_eq!(fewer.difference(&all, 0b11), None);
        assert_eq!(all.difference(&fewer, 0b01), None);
    }
}
