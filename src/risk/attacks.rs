//! The rebuilding attacks of issue 14 run together, for the internal report and the publish gates.
//!
//! Each attacker is stated in its own file: [`super::differencing`] (two successive releases, one
//! person left or joined), [`super::known_members`] (public sets subtracted from group means),
//! [`super::fake_accounts`] (k − 1 planted accounts). This module decides whom they target, on
//! which table the release method is re-run, and turns the figures into the gates'
//! [`Measured`] figures. Everything here is simulated by the data holder on the private data, so
//! it goes into the internal report only, never into the release.
//!
//! **Targets.** `targets` people per attack (40 by default, above the minimum of 30),
//! drawn at random from the seed; on a table smaller than `max_people`, as many more as the same
//! work allows ([`AttackSettings::targets_for`]). With the previous release's group membership from the ledger
//! ([`crate::ledger::GroupMembership`]), the joiners are the people who actually joined since
//! (drawn among them when there are more, topped up with random people when there are fewer);
//! leavers are always simulated with people drawn at random, because a person who left is no
//! longer eligible and their data must not be read again to score an attack on them. Without a
//! ledger both are simulated.
//!
//! **Table.** Differencing and fake accounts re-run the release method once per target. On a
//! table of more than `max_people` people they run on `max_people` people drawn at random (the
//! ledger's joiner targets always among them). This bounds the cost of a large publish, and it
//! errs on the side of caution: fewer people means fewer groups reshuffled by a change, and the
//! measured recovery falls as tables grow (see `BENCHMARKS.md`, *Attacks*). Known members needs
//! no re-run and is measured on the release itself.

use std::collections::HashSet;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

pub use super::attack_settings::{
    AttackSettings, DEFAULT_MAX_DIFFERENCING_RECOVERED, DEFAULT_MAX_FAKE_ACCOUNTS_RECOVERED,
    DEFAULT_MAX_PUBLIC_EXPOSED_SHARE,
};
use super::differencing::{attack_people, stream_of, Change, DifferencingReport};
use super::fake_accounts::{fake_accounts_attack, FakeAccounts};
use super::known_members::{known_members_attack, KnownMembersReport};
use super::linkage::ReleasedRows;
use super::membership::{membership_attack, MembershipReport};
use super::recovery::{only_people, sample_people, MethodUnderAttack, RecoveryFigures, Scoring};
use crate::gates::Measured;
use crate::ledger::GroupMembership;
use crate::table::MeasurementTable;

/// Domain separation of the draw of the people the attacks re-run the method on.
const SUBSAMPLE_STREAM: u64 = 0x7375_6273_616d_706c; // "subsampl"

/// What the attacks are run on.
#[derive(Clone, Copy)]
pub struct AttackInput<'a> {
    /// The eligible records.
    pub table: &'a MeasurementTable,
    /// The release as made from `table` (with its ground truth), for known members.
    pub release: ReleasedRows<'a>,
    /// Whether each record of `table` is a public set (all false once public sets are left out).
    pub public: &'a [bool],
    /// The ledger's key of each record of `table` ([`GroupMembership::set_key`]); read only
    /// with `previous`.
    pub member_key: &'a [u64],
    /// The previous release's membership, from the ledger.
    pub previous: Option<&'a GroupMembership>,
    /// The k of the release.
    pub k: usize,
}

/// Who changed since the previous release, as the ledger tells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangesSincePrevious {
    /// The previous release, as the ledger names it.
    pub previous_release: String,
    /// People with a set in this release that was not in the previous one (they joined, or
    /// edited a set).
    pub joined: usize,
    /// Sets of the previous release that are not in this one (their owners left, or edited
    /// them).
    pub left_sets: usize,
    /// Joiner targets that are actual joiners (the rest are drawn at random).
    pub joiner_targets_from_ledger: usize,
}

/// The figures of every attack, for the internal report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttacksReport {
    /// People of the eligible table.
    pub eligible_people: usize,
    /// People of the table the method was re-run on (at most `max_people`, see the module).
    pub simulated_people: usize,
    /// What the ledger told about the previous release; `None` without one.
    pub changes: Option<ChangesSincePrevious>,
    /// Differencing two successive releases.
    pub differencing: DifferencingReport,
    /// Public sets subtracted from group means, on the release itself.
    pub known_members: KnownMembersReport,
    /// The fake-account attacker.
    pub fake_accounts_attacker: FakeAccounts,
    /// Planted accounts.
    pub fake_accounts: RecoveryFigures,
    /// Membership inference by the nearest released row.
    pub membership: MembershipReport,
}

impl AttacksReport {
    /// The share differencing recovers: the larger of leavers and joiners.
    pub fn differencing_recovered(&self) -> f64 {
        self.differencing
            .leavers
            .recovered_share
            .max(self.differencing.joiners.recovered_share)
    }

    /// The share each attack recovered, in one line for a log (figures only).
    pub fn shares(&self) -> String {
        let percent = |share: f64| format!("{:.1} %", share * 100.0);
        format!(
            "differencing recovered {} of leavers and {} of joiners, fake accounts {}, public \
             sets exposed {} of private people, membership AUC {}",
            percent(self.differencing.leavers.recovered_share),
            percent(self.differencing.joiners.recovered_share),
            percent(self.fake_accounts.recovered_share),
            percent(self.known_members.exposed_share),
            self.membership
                .gated_auc()
                .map_or("-".to_string(), |auc| format!("{auc:.3}"))
        )
    }

    /// Fills the gates' figures of the attacks.
    pub fn measured(&self, measured: &mut Measured) {
        measured.differencing_recovered = Some(self.differencing_recovered());
        measured.fake_accounts_recovered = Some(self.fake_accounts.recovered_share);
        measured.public_exposed_share = Some(self.known_members.exposed_share);
        measured.membership_auc = self.membership.gated_auc();
    }
}

/// Runs every attack against `method` (the release method as `publish` applies it, defences
/// included) as the module documentation says.
pub fn run_attacks(
    input: AttackInput<'_>,
    method: &dyn MethodUnderAttack,
    settings: &AttackSettings,
    seed: u64,
    scoring: &Scoring,
) -> AttacksReport {
    let table = input.table;
    let targets = settings.targets_for(table.distinct_people().min(settings.max_people));
    let (joiners, changes) = match input.previous {
        Some(previous) => {
            let (joiners, changes) =
                joiners_since(table, previous, input.member_key, targets, seed);
            (Some(joiners), Some(changes))
        }
        None => (None, None),
    };
    let simulated = if table.distinct_people() > settings.max_people {
        let mut people = sample_people(table, settings.max_people, seed, SUBSAMPLE_STREAM);
        people.extend(joiners.iter().flatten());
        people.sort_unstable();
        people.dedup();
        std::borrow::Cow::Owned(only_people(table, &people))
    } else {
        std::borrow::Cow::Borrowed(table)
    };
    let joiner_targets = match joiners {
        Some(mut chosen) => {
            // Top up with random people who are not joiners already.
            let have: HashSet<u32> = chosen.iter().copied().collect();
            let extra = sample_people(
                &simulated,
                targets + chosen.len(),
                seed,
                stream_of(Change::Joined),
            );
            chosen.extend(
                extra
                    .into_iter()
                    .filter(|p| !have.contains(p))
                    .take(targets.saturating_sub(have.len())),
            );
            chosen.sort_unstable();
            chosen
        }
        None => sample_people(&simulated, targets, seed, stream_of(Change::Joined)),
    };
    let leavers = sample_people(&simulated, targets, seed, stream_of(Change::Left));
    let differencing = DifferencingReport {
        leavers: attack_people(&simulated, method, Change::Left, &leavers, scoring),
        joiners: attack_people(&simulated, method, Change::Joined, &joiner_targets, scoring),
    };
    let known_members = known_members_attack(
        table,
        input.release,
        input.public,
        input.k,
        (scoring, settings.max_people),
    );
    let fake_accounts = fake_accounts_attack(
        &simulated,
        method,
        input.k,
        settings.fake_accounts,
        targets,
        seed,
        scoring,
    );
    let membership = membership_attack(table, method, seed);
    AttacksReport {
        membership,
        eligible_people: table.distinct_people(),
        simulated_people: simulated.distinct_people(),
        changes,
        differencing,
        known_members,
        fake_accounts_attacker: settings.fake_accounts,
        fake_accounts,
    }
}

/// The people of `table` with a set that is not in `previous`, up to `targets` of them drawn
/// from `seed`, and the counts of who joined and which sets left.
fn joiners_since(
    table: &MeasurementTable,
    previous: &GroupMembership,
    member_key: &[u64],
    targets: usize,
    seed: u64,
) -> (Vec<u32>, ChangesSincePrevious) {
    assert_eq!(member_key.len(), table.len(), "one key per record");
    let before: HashSet<u64> = previous.people().into_iter().collect();
    let now: HashSet<u64> = member_key.iter().copied().collect();
    let mut joined: Vec<u32> = (0..table.len())
        .filter(|&r| !before.contains(&member_key[r]))
        .map(|r| table.person(r))
        .collect();
    joined.sort_unstable();
    joined.dedup();
    let joined_count = joined.len();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(stream_of(Change::Joined));
    joined.shuffle(&mut rng);
    joined.truncate(targets);
    joined.sort_unstable();
    let changes = ChangesSincePrevious {
        previous_release: previous.release.clone(),
        joined: joined_count,
        left_sets: before.iter().filter(|key| !now.contains(key)).count(),
        joiner_targets_from_ledger: joined.len(),
    };
    (joined, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gates::Thresholds;
    use crate::risk::recovery::{GroupedRelease, Tolerance};

    /// Groups of consecutive people by chest, three per group; rows are exact means.
    fn threes(table: &MeasurementTable) -> GroupedRelease {
        let mut order: Vec<usize> = (0..table.len()).collect();
        order.sort_by(|&a, &b| table.row(a)[0].total_cmp(&table.row(b)[0]));
        let mut release = GroupedRelease::default();
        let groups = (order.len() / 3).max(1);
        for (index, &r) in order.iter().enumerate() {
            let group = (index / 3).min(groups - 1);
            release.source.push(r);
            release.group.push(group);
        }
        let mut sums = vec![(0.0, 0usize); groups];
        for (&r, &g) in release.source.iter().zip(&release.group) {
            sums[g].0 += table.row(r)[0];
            sums[g].1 += 1;
        }
        release.values = release
            .group
            .iter()
            .map(|&g| sums[g].0 / sums[g].1 as f64)
            .collect();
        release
    }

    fn people(count: u32) -> MeasurementTable {
        let mut table = MeasurementTable::new(vec!["chest".into()]);
        for p in 0..count {
            table.push(p, &[800.0 + 13.0 * f64::from(p)]);
        }
        table
    }

    #[test]
    fn joiners_come_from_the_ledger_and_figures_feed_the_gates() {
        let table = people(60);
        let release = threes(&table);
        let scoring = Scoring::new(
            Tolerance {
                relative: 0.02,
                absolute: vec![5.0],
            },
            &table,
        );
        // The previous release had the sets of people 0..50 and one more (whose owner left);
        // each record's key is 100 + its person number.
        let keys: Vec<u64> = (0..table.len())
            .map(|r| 100 + u64::from(table.person(r)))
            .collect();
        let mut rows: Vec<u64> = keys[..50].to_vec();
        rows.push(1000);
        let groups: Vec<usize> = (0..rows.len()).map(|r| r / 3).collect();
        let previous = GroupMembership::of("2026.1", &groups, &rows);
        let public = vec![false; table.len()];
        let input = AttackInput {
            table: &table,
            release: release.rows(),
            public: &public,
            member_key: &keys,
            previous: Some(&previous),
            k: 3,
        };
        let settings = AttackSettings {
            targets: 6,
            max_people: 60,
            ..AttackSettings::default()
        };
        let report = run_attacks(input, &threes, &settings, 1, &scoring);
        let changes = report.changes.clone().unwrap();
        assert_eq!((changes.joined, changes.left_sets), (10, 1));
        assert_eq!(changes.joiner_targets_from_ledger, 6);
        assert_eq!(report.differencing.joiners.targets, 6);
        assert_eq!(report.differencing.leavers.targets, 6);
        assert_eq!(report.fake_accounts.targets, 6);
        assert_eq!(report.simulated_people, 60);
        assert_eq!(report.known_members.exposed_people, 0);
        let mut measured = Measured::default();
        report.measured(&mut measured);
        assert_eq!(
            measured.differencing_recovered,
            Some(report.differencing_recovered())
        );
        assert_eq!(measured.public_exposed_share, Some(0.0));
        // Group means of threes without noise: differencing gives people back.
        assert!(report.differencing_recovered() > 0.5, "{report:?}");
        assert!(
            report.shares().starts_with("differencing recovered"),
            "{}",
            report.shares()
        );

        // Fewer joiners than targets: topped up with random people; a smaller table to re-run on.
        let settings = AttackSettings {
            targets: 12,
            max_people: 40,
            ..AttackSettings::default()
        };
        let report = run_attacks(input, &threes, &settings, 1, &scoring);
        // 40 drawn, plus the joiners not drawn among them.
        assert!((40..=50).contains(&report.simulated_people), "{report:?}");
        assert_eq!(report.changes.unwrap().joiner_targets_from_ledger, 10);
        assert_eq!(report.differencing.joiners.targets, 12);
        let again = run_attacks(input, &threes, &settings, 1, &scoring);
        assert_eq!(again.differencing, report.differencing, "deterministic");
    }

    #[test]
    fn defaults_and_validation() {
        let mut thresholds = Thresholds::default();
        let settings = AttackSettings::default();
        settings.default_thresholds(&mut thresholds);
        assert_eq!(thresholds.max_differencing_recovered, Some(0.03));
        assert_eq!(thresholds.max_fake_accounts_recovered, Some(0.05));
        assert_eq!(thresholds.max_public_exposed_share, Some(0.0));
        assert_eq!(thresholds.max_membership_auc, Some(0.65));
        settings.validate(&thresholds).unwrap();
        let off = AttackSettings {
            enabled: false,
            ..AttackSettings::default()
        };
        assert_eq!(off.validate(&thresholds).unwrap_err().0, "attacks.enabled");
        let mut none = Thresholds::default();
        off.default_thresholds(&mut none);
        assert_eq!(none, Thresholds::default());
        off.validate(&none).unwrap();
        // 40 targets at max_people; smaller tables get the same work in more targets.
        assert_eq!(settings.targets_for(2_000), 40);
        assert_eq!(settings.targets_for(1_000), 160);
        assert_eq!(settings.targets_for(100), 100, "everyone, at most");
        assert_eq!(settings.targets_for(10), 40, "never fewer than `targets`");
        let zero = AttackSettings {
            targets: 0,
            ..AttackSettings::default()
        };
        assert_eq!(zero.validate(&none).unwrap_err().0, "attacks.targets");
    }
}
