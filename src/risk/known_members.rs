//! Known group members: public sets subtracted from the group mean.
//!
//! A released row is the mean of its group; whoever knows the exact values of some members can
//! subtract them, and when one person is left, that person's values come back up to rounding.
//! FreeSewing serves every set marked `public` (`Set.public`) to anyone, exactly.
//!
//! **The attacker** knows the exact values of every public set and, as an upper bound on what
//! matching them to rows by distance would give, which released group each public set is in. For
//! a group of `s` released rows with value `v`, the private sets in it are estimated by the mean
//! that remains once the public ones are taken out: `(s·v − Σ public) / (s − public)`. Where one
//! private set is left, that is the set itself, up to `s` times the rounding of `v`.
//!
//! **Figures.** Private people (people with a private set in the release) whose group holds
//! fewer than k non-public people (exposed), or no other non-public person (alone, rebuilt
//! exactly up to rounding); and the recovery figures ([`super::recovery`]) of the estimate above
//! over every private person, or over an evenly spaced sample of `max_scored` of them in a large
//! release (the exposure counts always cover everyone: they are cheap, the scoring is not).

use super::attacks::{
    whole_percent, AttackDescription, AttackLine, AttackOutcome, DescribedRelease, SimulatedAttack,
    Simulation, DEFAULT_MAX_PUBLIC_EXPOSED_SHARE,
};
use std::collections::HashMap;

use serde::Serialize;

use super::linkage::ReleasedRows;
use super::recovery::{published_columns, share, RecoveryFigures, Scoring, Tally};
use crate::table::MeasurementTable;

/// What the attacker learns from the public sets of one release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnownMembersReport {
    /// Released sets that are public.
    pub public_sets: usize,
    /// Released sets that are not.
    pub private_sets: usize,
    /// People with at least one private released set.
    pub private_people: usize,
    /// Private people in a group with fewer than k non-public people (themselves included).
    pub exposed_people: usize,
    /// `exposed_people / private_people`.
    pub exposed_share: f64,
    /// Private people who are the only non-public person of their group.
    pub alone_people: usize,
    /// The estimate of every private person's sets, judged.
    pub rebuilt: RecoveryFigures,
}

/// With 20 % of sets public and kept in the release: the share of the other people in a group
/// with fewer than k people whose sets are not public, as anonpub measured it (at
/// [`super::attacks::MEASURED_AT_K`]).
const MEASURED_EXPOSED: f64 = 0.574;

/// The known-members attack in the registry of simulated attacks
/// ([`super::attacks::ATTACKS`]): measured on the release itself, judged on the share of
/// private people exposed.
pub struct KnownMembers;

impl SimulatedAttack for KnownMembers {
    fn name(&self) -> &'static str {
        "known_members"
    }

    fn gate(&self) -> &'static str {
        "thresholds.max_public_exposed_share"
    }

    fn default_limit(&self) -> Option<f64> {
        Some(DEFAULT_MAX_PUBLIC_EXPOSED_SHARE)
    }

    fn describe(&self, release: &DescribedRelease<'_>) -> AttackDescription {
        let (resists, does_not_resist) = if release.public_left_out {
            let resists = "**Public sets:** sets their owners made public are not in this \
                           release, so knowing them tells nothing about any group.";
            (Some(resists.to_string()), None)
        } else {
            let exposed = format!(
                "**Public sets:** this release was made without knowing which sets their owners \
                 made public, and whoever reads public sets can subtract them from their group: \
                 with 20 % of sets public, {} of the other people shared their group with fewer \
                 than k people whose sets are not public.",
                whole_percent(MEASURED_EXPOSED)
            );
            (None, Some(exposed))
        };
        AttackDescription {
            attacker: "subtract rows they know from their group's mean",
            gate: release.limit(self.gate()).map(|limit| {
                format!(
                    "at most {} of people share their group with fewer than k people whose sets \
                     are not public",
                    whole_percent(limit)
                )
            }),
            resists,
            does_not_resist,
        }
    }

    /// It subtracts known rows from the release's own group means.
    fn reads_release(&self) -> bool {
        true
    }

    fn run(&self, simulation: &Simulation<'_>) -> AttackOutcome {
        let input = &simulation.input;
        let report = known_members_attack(
            input.table,
            simulation
                .release
                .expect("the release is handed to the attacks that read it"),
            input.public,
            input.k,
            (simulation.scoring, simulation.settings.max_people),
        );
        AttackOutcome {
            figure: report.exposed_share,
            lines: vec![AttackLine {
                key: "known_members",
                label: "known members",
                figures: report.rebuilt.clone(),
            }],
            note: Some(format!(
                "public sets: {} released, {} private people in a group with fewer than k \
                 non-public people ({:.2} %)",
                report.public_sets,
                report.exposed_people,
                report.exposed_share * 100.0
            )),
            detail: serde_json::to_value(&report).expect("the report serializes"),
        }
    }
}

/// Runs the attack on `release` of `table`, where `public[r]` says whether record `r` of the
/// table is a public set; the estimates of at most `max_scored` private people are judged.
pub fn known_members_attack(
    table: &MeasurementTable,
    release: ReleasedRows<'_>,
    public: &[bool],
    k: usize,
    (scoring, max_scored): (&Scoring, usize),
) -> KnownMembersReport {
    assert_eq!(public.len(), table.len(), "one public flag per record");
    let width = table.width();
    let groups = Groups::of(table, release, public);

    // Each private person's released rows (sorted by person, then row), with the group's
    // estimate for each.
    let mut rows_of: Vec<(u32, usize)> = release
        .source
        .iter()
        .enumerate()
        .filter(|&(_, &record)| !public[record])
        .map(|(r, &record)| (table.person(record), r))
        .collect();
    rows_of.sort_unstable();
    let private_people = rows_of.chunk_by(|a, b| a.0 == b.0).count();
    let (mut exposed, mut alone) = (0, 0);
    let mut tally = Tally::default();
    let stride = private_people.div_ceil(max_scored.max(1)).max(1);
    for (index, rows) in rows_of.chunk_by(|a, b| a.0 == b.0).enumerate() {
        let unknown_people = |&(_, r): &(u32, usize)| groups.unknown_people[release.group[r]];
        exposed += usize::from(rows.iter().any(|r| unknown_people(r) < k));
        alone += usize::from(rows.iter().any(|r| unknown_people(r) == 1));
        if index % stride != 0 {
            continue;
        }
        tally.add(
            rows.iter()
                .map(|&(_, r)| {
                    let row = &release.values[r * width..(r + 1) * width];
                    let estimate = groups.private_mean(release.group[r], row);
                    let truth = table.row(release.source[r]);
                    Some(scoring.judge(truth, &estimate, &published_columns(row)))
                })
                .collect(),
        );
    }
    let public_sets = release.source.iter().filter(|&&r| public[r]).count();
    KnownMembersReport {
        public_sets,
        private_sets: release.source.len() - public_sets,
        private_people,
        exposed_people: exposed,
        exposed_share: share(exposed, private_people),
        alone_people: alone,
        rebuilt: tally.figures(),
    }
}

/// Per group: released rows, public rows, the sum of the public members' true values (for the
/// groups that have any), and the distinct people with a private set in it.
struct Groups {
    rows: Vec<usize>,
    public_rows: Vec<usize>,
    public_sum: HashMap<usize, Vec<f64>>,
    unknown_people: Vec<usize>,
}

impl Groups {
    fn of(table: &MeasurementTable, release: ReleasedRows<'_>, public: &[bool]) -> Self {
        let count = release.group.iter().max().map_or(0, |g| g + 1);
        let width = table.width();
        let mut groups = Groups {
            rows: vec![0; count],
            public_rows: vec![0; count],
            public_sum: HashMap::new(),
            unknown_people: vec![0; count],
        };
        let mut unknown: Vec<(usize, u32)> = Vec::with_capacity(release.source.len());
        for (&record, &group) in release.source.iter().zip(release.group) {
            groups.rows[group] += 1;
            if public[record] {
                groups.public_rows[group] += 1;
                let sum = groups
                    .public_sum
                    .entry(group)
                    .or_insert_with(|| vec![0.0; width]);
                for (s, v) in sum.iter_mut().zip(table.row(record)) {
                    if !v.is_nan() {
                        *s += v;
                    }
                }
            } else {
                unknown.push((group, table.person(record)));
            }
        }
        unknown.sort_unstable();
        unknown.dedup();
        for (group, _) in unknown {
            groups.unknown_people[group] += 1;
        }
        groups
    }

    /// The mean of the private sets of `group`, given its released row.
    fn private_mean(&self, group: usize, row: &[f64]) -> Vec<f64> {
        let rows = self.rows[group] as f64;
        let private = rows - self.public_rows[group] as f64;
        match self.public_sum.get(&group) {
            Some(public_sum) => row
                .iter()
                .zip(public_sum)
                .map(|(v, public)| (rows * v - public) / private)
                .collect(),
            // No public member: the estimate is the row itself, as `(s·v − 0) / s` would give.
            None => row.iter().map(|v| rows * v / private).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::recovery::{GroupedRelease, Tolerance};

    /// Six people, two groups of three; released rows are exact means.
    fn two_groups() -> (MeasurementTable, GroupedRelease) {
        let mut table = MeasurementTable::new(vec!["chest".into()]);
        let chests = [800.0, 810.0, 825.0, 1000.0, 1010.0, 1025.0];
        for (person, chest) in chests.into_iter().enumerate() {
            table.push(person as u32, &[chest]);
        }
        let release = GroupedRelease {
            values: [[2435.0 / 3.0; 3], [3035.0 / 3.0; 3]].concat(),
            source: (0..6).collect(),
            group: vec![0, 0, 0, 1, 1, 1],
        };
        (table, release)
    }

    #[test]
    fn the_last_private_member_comes_back() {
        let (table, release) = two_groups();
        let scoring = Scoring::new(
            Tolerance {
                relative: 0.0,
                absolute: vec![1e-6],
            },
            &table,
        );
        // Group 0: persons 0 and 1 public, person 2 alone. Group 1: one public, two private.
        let public = [true, true, false, true, false, false];
        let report =
            known_members_attack(&table, release.rows(), &public, 3, (&scoring, usize::MAX));
        assert_eq!((report.public_sets, report.private_sets), (3, 3));
        assert_eq!(report.private_people, 3);
        assert_eq!((report.exposed_people, report.alone_people), (3, 1));
        assert_eq!(report.exposed_share, 1.0);
        // Person 2 exactly; persons 4 and 5 get their mean 1017.5, off by 7.5 each.
        assert_eq!(report.rebuilt.targets, 3);
        assert_eq!(report.rebuilt.recovered, 1);
    }

    #[test]
    fn without_public_sets_nobody_is_exposed_at_k() {
        let (table, release) = two_groups();
        let tolerance = Tolerance {
            relative: 0.02,
            absolute: vec![5.0],
        };
        let scoring = Scoring::new(tolerance, &table);
        let report = known_members_attack(
            &table,
            release.rows(),
            &[false; 6],
            3,
            (&scoring, usize::MAX),
        );
        assert_eq!((report.exposed_people, report.alone_people), (0, 0));
        assert_eq!(report.private_people, 6);
        // Everyone gets their group's mean, within 2 % of each member here.
        assert_eq!(report.rebuilt.recovered, 6);
    }
}
