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

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::recovery::{published_columns, share, GroupedRelease, RecoveryFigures, Scoring, Tally};
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

/// Runs the attack on `release` of `table`, where `public[r]` says whether record `r` of the
/// table is a public set; the estimates of at most `max_scored` private people are judged.
pub fn known_members_attack(
    table: &MeasurementTable,
    release: &GroupedRelease,
    public: &[bool],
    k: usize,
    (scoring, max_scored): (&Scoring, usize),
) -> KnownMembersReport {
    assert_eq!(public.len(), table.len(), "one public flag per record");
    let width = table.width();
    let groups = Groups::of(table, release, public);

    // Each private person's released rows, with the group's estimate for each.
    let mut rows_of: HashMap<u32, Vec<usize>> = HashMap::new();
    for (r, &record) in release.source.iter().enumerate() {
        if !public[record] {
            rows_of.entry(table.person(record)).or_default().push(r);
        }
    }
    let mut private_people: Vec<u32> = rows_of.keys().copied().collect();
    private_people.sort_unstable();
    let (mut exposed, mut alone) = (0, 0);
    let mut tally = Tally::default();
    let stride = private_people.len().div_ceil(max_scored.max(1)).max(1);
    for (index, person) in private_people.iter().enumerate() {
        let rows = &rows_of[person];
        let unknown_people = |r: &usize| groups.unknown_people[release.group[*r]];
        exposed += usize::from(rows.iter().any(|r| unknown_people(r) < k));
        alone += usize::from(rows.iter().any(|r| unknown_people(r) == 1));
        if index % stride != 0 {
            continue;
        }
        tally.add(
            rows.iter()
                .map(|&r| {
                    let row = release.row(r, width);
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
        private_people: private_people.len(),
        exposed_people: exposed,
        exposed_share: share(exposed, private_people.len()),
        alone_people: alone,
        rebuilt: tally.figures(),
    }
}

/// Per group: released rows, public rows, the sum of the public members' true values, and the
/// distinct people with a private set in it.
struct Groups {
    rows: Vec<usize>,
    public_rows: Vec<usize>,
    public_sum: Vec<Vec<f64>>,
    unknown_people: Vec<usize>,
}

impl Groups {
    fn of(table: &MeasurementTable, release: &GroupedRelease, public: &[bool]) -> Self {
        let count = release.group.iter().max().map_or(0, |g| g + 1);
        let width = table.width();
        let mut groups = Groups {
            rows: vec![0; count],
            public_rows: vec![0; count],
            public_sum: vec![vec![0.0; width]; count],
            unknown_people: vec![0; count],
        };
        let mut unknown: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); count];
        for (&record, &group) in release.source.iter().zip(&release.group) {
            groups.rows[group] += 1;
            if public[record] {
                groups.public_rows[group] += 1;
                for (s, v) in groups.public_sum[group].iter_mut().zip(table.row(record)) {
                    if !v.is_nan() {
                        *s += v;
                    }
                }
            } else {
                unknown[group].insert(table.person(record));
            }
        }
        groups.unknown_people = unknown.iter().map(BTreeSet::len).collect();
        groups
    }

    /// The mean of the private sets of `group`, given its released row.
    fn private_mean(&self, group: usize, row: &[f64]) -> Vec<f64> {
        let rows = self.rows[group] as f64;
        let private = rows - self.public_rows[group] as f64;
        row.iter()
            .zip(&self.public_sum[group])
            .map(|(v, public)| (rows * v - public) / private)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::recovery::Tolerance;

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
        let report = known_members_attack(&table, &release, &public, 3, (&scoring, usize::MAX));
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
        let report = known_members_attack(&table, &release, &[false; 6], 3, (&scoring, usize::MAX));
        assert_eq!((report.exposed_people, report.alone_people), (0, 0));
        assert_eq!(report.private_people, 6);
        // Everyone gets their group's mean, within 2 % of each member here.
        assert_eq!(report.rebuilt.recovered, 6);
    }
}
