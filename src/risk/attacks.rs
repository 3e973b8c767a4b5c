//! The rebuilding attacks (differencing, known members, planted accounts) run together, for the
//! internal report and the publish gates.
//!
//! Each attacker is stated in its own file, which implements [`SimulatedAttack`] (its name, the
//! gate it is judged by and that gate's default, and how it runs): [`super::differencing`] (two
//! successive releases, one person left or joined), [`super::fake_accounts`] (k − 1 planted
//! accounts), [`super::known_members`] (public sets subtracted from group means),
//! [`super::membership`] (whether a known person is in the release at all). [`ATTACKS`]
//! lists them once; the gates, the internal report, `risk --attacks` and the datasheet (each
//! attack describes itself, [`SimulatedAttack::describe`]) loop over it, so adding
//! an attack is its file plus one line there. This module decides whom they target and on which
//! table the release method is re-run, and turns their figures into the gates' [`Measured`]
//! figures. Everything here is simulated by the data holder on the private data, so
//! it goes into the internal report only, never into the release.
//!
//! **Targets.** `targets` people per attack (40 by default, above a minimum of 30 for a share to mean anything),
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
use super::differencing::{stream_of, Change, Differencing};
use super::fake_accounts::FakeAccountsAttack;
use super::known_members::KnownMembers;
use super::linkage::ReleasedRows;
use super::membership::Membership;
use super::recovery::{only_people, sample_people, MethodUnderAttack, RecoveryFigures, Scoring};
use crate::gates::{Measured, Thresholds, GATES};
use crate::ledger::GroupMembership;
use crate::table::MeasurementTable;

/// Every simulated attack, in the order of their gates: one line each.
pub const ATTACKS: [&dyn SimulatedAttack; 4] = [
    &Differencing,
    &FakeAccountsAttack,
    &KnownMembers,
    &Membership,
];

/// One simulated attack: what `publish` gates on, `risk --attacks` prints and the internal report
/// holds. An implementation states its attacker in its own file and is listed in [`ATTACKS`].
pub trait SimulatedAttack: Sync {
    /// Its name, as the internal report's `detail` keys it.
    fn name(&self) -> &'static str;
    /// The gate its figure is judged by (`thresholds.NAME`, a key of [`crate::gates::GATES`]).
    fn gate(&self) -> &'static str;
    /// The gate's limit while `[attacks]` is enabled and the configuration sets none; `None`
    /// for a gate judged only where the configuration sets it.
    fn default_limit(&self) -> Option<f64>;
    /// Whether it reads the release itself ([`Simulation::release`]). The others re-run the
    /// method on the eligible records only, so [`run_attacks_as_released`] runs them while the
    /// release is still being made.
    fn reads_release(&self) -> bool {
        false
    }
    /// Runs the attack on the prepared simulation.
    fn run(&self, simulation: &Simulation<'_>) -> AttackOutcome;
    /// What the datasheet says of it for `release`: the attacker, its gate, and what anonpub's
    /// own measurement of it (on synthetic data, at [`MEASURED_AT_K`]) says the release resists
    /// or does not. Figures of the real data never enter it.
    fn describe(&self, release: &DescribedRelease<'_>) -> AttackDescription;
}

/// The k at which anonpub's published figures of the attacks were measured: by
/// `examples/attacks.rs` on a synthetic FreeSewing-shaped database of 10,000 users (`anonpub
/// sample --users 10000 --seed 1`: 5,496 eligible sets of 4,646 people), 100 targets per attack,
/// public sets left out, recorded in `BENCHMARKS.md` (*Attacks*). Synthetic, so they describe
/// the method and say nothing about the people of any release; a release of another k states
/// none of them.
pub const MEASURED_AT_K: usize = 5;

/// The group-noise scale (standard deviations) of the "with noise" figures.
pub const MEASURED_NOISE_SD: f64 = 0.05;

/// What the datasheet knows of a release when it describes the attacks on it.
pub struct DescribedRelease<'a> {
    /// The keyed group noise the release carries, in standard deviations (`None`: none).
    pub noise_sd: Option<f64>,
    /// The k it was made for.
    pub k: usize,
    /// Whether selection left public sets out.
    pub public_left_out: bool,
    /// Sets published with fewer measurements than this are suppressed.
    pub min_published_measurements: usize,
    /// Accounts younger than this at the release date are left out (0: none).
    pub min_account_age_days: u32,
    /// The gates it was published under.
    pub thresholds: &'a Thresholds,
}

impl DescribedRelease<'_> {
    /// The limit the release set on the gate `key` (`thresholds.NAME`), if any.
    pub fn limit(&self, key: &str) -> Option<f64> {
        GATES
            .iter()
            .find(|gate| gate.key == key)
            .and_then(|gate| (gate.limit)(self.thresholds))
    }
}

/// One attack in words, for the datasheet's "what this release resists, and what it does not".
#[derive(Debug, Clone, PartialEq)]
pub struct AttackDescription {
    /// The attacker in a phrase that completes "anonpub simulates attackers who …".
    pub attacker: &'static str,
    /// Its gate at the release's limit, completing "nothing would have been published unless
    /// …"; `None` when the gate is not set.
    pub gate: Option<String>,
    /// A bullet of "It resists:" (without the dash), from anonpub's measurement; `None` for
    /// none.
    pub resists: Option<String>,
    /// A bullet of "It does not resist:" (without the dash); `None` for none.
    pub does_not_resist: Option<String>,
}

/// A share as a whole percentage, as the datasheet prints the attacks' figures.
pub fn whole_percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// What every attack runs on: the eligible records, the table the method is re-run on and the
/// targets drawn for this run (see the module documentation).
pub struct Simulation<'a> {
    /// What the attacks were asked to run on.
    pub input: AttackInput<'a>,
    /// The release as made from `input.table` (with its ground truth): present for the attacks
    /// that [`SimulatedAttack::reads_release`], `None` for the others.
    pub release: Option<ReleasedRows<'a>>,
    /// The people the method is re-run on (at most `max_people`).
    pub simulated: &'a MeasurementTable,
    /// The release method as `publish` applies it, defences included.
    pub method: &'a dyn MethodUnderAttack,
    /// The `[attacks]` section.
    pub settings: &'a AttackSettings,
    /// The release's seed, from which targets and guesses are drawn.
    pub seed: u64,
    /// How a rebuilt person is judged.
    pub scoring: &'a Scoring,
    /// Targets per attack.
    pub targets: usize,
    /// People simulated as leaving, drawn at random.
    pub leavers: &'a [u32],
    /// People simulated as joining: the ledger's actual joiners first.
    pub joiners: &'a [u32],
}

/// What one attack measured.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackOutcome {
    /// Its lines of the tables (internal report summary, `risk --attacks`).
    pub lines: Vec<AttackLine>,
    /// The figure its gate judges.
    pub figure: f64,
    /// Everything it measured, for the internal report's `detail`.
    pub detail: serde_json::Value,
    /// A sentence `risk --attacks` prints below the table, if any.
    pub note: Option<String>,
}

/// One line of the attack tables: targets attacked and how many were rebuilt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackLine {
    /// Its key in the internal report (`differencing_leaver`).
    pub key: &'static str,
    /// Its label for people (`differencing, leaver`).
    pub label: &'static str,
    /// The figures.
    pub figures: RecoveryFigures,
}

/// Domain separation of the draw of the people the attacks re-run the method on.
const SUBSAMPLE_STREAM: u64 = 0x7375_6273_616d_706c; // "subsampl"

/// What the attacks are run on.
#[derive(Clone, Copy)]
pub struct AttackInput<'a> {
    /// The eligible records.
    pub table: &'a MeasurementTable,
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
#[derive(Debug, Clone, PartialEq)]
pub struct AttacksReport {
    /// People of the eligible table.
    pub eligible_people: usize,
    /// People of the table the method was re-run on (at most `max_people`, see the module).
    pub simulated_people: usize,
    /// What the ledger told about the previous release; `None` without one.
    pub changes: Option<ChangesSincePrevious>,
    /// Each attack of [`ATTACKS`] with what it measured, in that order.
    pub outcomes: Vec<(&'static dyn SimulatedAttack, AttackOutcome)>,
}

impl std::fmt::Debug for dyn SimulatedAttack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for dyn SimulatedAttack {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl AttacksReport {
    /// Every line of every attack, in order.
    pub fn lines(&self) -> impl Iterator<Item = &AttackLine> {
        self.outcomes.iter().flat_map(|(_, outcome)| &outcome.lines)
    }

    /// The share each attack line recovered, in one line for a log (figures only).
    pub fn shares(&self) -> String {
        self.lines()
            .map(|line| {
                format!(
                    "{} recovered {:.1} %",
                    line.label,
                    line.figures.recovered_share * 100.0
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Fills the gates' figures of the attacks.
    pub fn measured(&self, measured: &mut Measured) {
        for (attack, outcome) in &self.outcomes {
            let known = measured.set(attack.gate(), outcome.figure);
            debug_assert!(known, "{} names a gate", attack.name());
        }
    }

    /// Everything measured, for the internal report: the tables' sizes, the ledger's changes,
    /// then each attack's detail under its name.
    pub fn detail(&self) -> serde_json::Value {
        let mut detail = serde_json::json!({
            "eligible_people": self.eligible_people,
            "simulated_people": self.simulated_people,
            "changes": self.changes,
        });
        for (attack, outcome) in &self.outcomes {
            detail[attack.name()] = outcome.detail.clone();
        }
        detail
    }
}

/// The default limits of the attack gates, where `thresholds` sets none.
pub fn default_thresholds(thresholds: &mut Thresholds) {
    for attack in ATTACKS {
        if let Some(limit) = attack.default_limit() {
            let known = thresholds.set_default(attack.gate(), limit);
            debug_assert!(known, "{} names a gate", attack.name());
        }
    }
}

/// Runs every attack against `method` (the release method as `publish` applies it, defences
/// included) as the module documentation says, on `release`, the release made from
/// `input.table`.
pub fn run_attacks<'a>(
    input: AttackInput<'a>,
    release: ReleasedRows<'a>,
    method: &dyn MethodUnderAttack,
    settings: &AttackSettings,
    seed: u64,
    scoring: &Scoring,
) -> AttacksReport {
    let (hand_over, released) = std::sync::mpsc::channel();
    hand_over
        .send(release)
        .expect("the receiver is alive until the call");
    run_attacks_as_released(input, &released, method, settings, seed, scoring)
        .expect("the release was handed over")
}

/// [`run_attacks`] started before the release exists, so that the attacks' re-runs of the method
/// fill what the cores leave idle while the release is made: the attacks that do not
/// [`SimulatedAttack::reads_release`] run at once, then the others once the release arrives
/// through `released` (whoever makes it sends it). When the sender is dropped without sending
/// (the release will not be made), the run stops after the attack in progress and returns
/// `None`. The outcomes are those of [`run_attacks`], in the order of [`ATTACKS`]: each attack
/// reads only what is handed to it, and the order they run in changes no figure.
pub fn run_attacks_as_released<'a, 'r: 'a>(
    input: AttackInput<'a>,
    released: &std::sync::mpsc::Receiver<ReleasedRows<'r>>,
    method: &dyn MethodUnderAttack,
    settings: &AttackSettings,
    seed: u64,
    scoring: &Scoring,
) -> Option<AttacksReport> {
    use std::sync::mpsc::TryRecvError;
    let table = input.table;
    // Counted once: at a million rows each count is a pass over every row.
    let eligible_people = table.distinct_people();
    let targets = settings.targets_for(eligible_people.min(settings.max_people));
    let (joiners, changes) = match input.previous {
        Some(previous) => {
            let (joiners, changes) =
                joiners_since(table, previous, input.member_key, targets, seed);
            (Some(joiners), Some(changes))
        }
        None => (None, None),
    };
    let simulated = if eligible_people > settings.max_people {
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
    let mut simulation = Simulation {
        input,
        release: None,
        simulated: &simulated,
        method,
        settings,
        seed,
        scoring,
        targets,
        leavers: &leavers,
        joiners: &joiner_targets,
    };
    let mut outcomes: Vec<Option<AttackOutcome>> = vec![None; ATTACKS.len()];
    let mut arrived = None;
    for (slot, attack) in outcomes.iter_mut().zip(ATTACKS) {
        if attack.reads_release() {
            continue;
        }
        match released.try_recv() {
            Ok(rows) => arrived = Some(rows),
            Err(TryRecvError::Disconnected) if arrived.is_none() => return None,
            Err(_) => {}
        }
        *slot = Some(attack.run(&simulation));
    }
    simulation.release = Some(match arrived {
        Some(rows) => rows,
        None => released.recv().ok()?,
    });
    for (slot, attack) in outcomes.iter_mut().zip(ATTACKS) {
        if attack.reads_release() {
            *slot = Some(attack.run(&simulation));
        }
    }
    Some(AttacksReport {
        eligible_people,
        simulated_people: simulated.distinct_people(),
        changes,
        outcomes: ATTACKS
            .iter()
            .zip(outcomes)
            .map(|(&attack, outcome)| (attack, outcome.expect("every attack ran")))
            .collect(),
    })
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
        let report = run_attacks(input, release.rows(), &threes, &settings, 1, &scoring);
        let changes = report.changes.clone().unwrap();
        assert_eq!((changes.joined, changes.left_sets), (10, 1));
        assert_eq!(changes.joiner_targets_from_ledger, 6);
        let targets = |report: &AttacksReport, key: &str| {
            report
                .lines()
                .find(|line| line.key == key)
                .map(|line| line.figures.targets)
        };
        for key in [
            "differencing_joiner",
            "differencing_leaver",
            "fake_accounts",
        ] {
            assert_eq!(targets(&report, key), Some(6), "{key}");
        }
        assert_eq!(report.simulated_people, 60);
        assert_eq!(report.detail()["known_members"]["exposed_people"], 0);
        // The registry's order: one outcome per attack, each judged by its own gate.
        let names: Vec<&str> = report.outcomes.iter().map(|(a, _)| a.name()).collect();
        assert_eq!(
            names,
            [
                "differencing",
                "fake_accounts",
                "known_members",
                "membership"
            ]
        );
        let mut measured = Measured::default();
        report.measured(&mut measured);
        let differencing = report.outcomes[0].1.figure;
        assert_eq!(measured.differencing_recovered, Some(differencing));
        assert_eq!(measured.public_exposed_share, Some(0.0));
        // Group means of threes without noise: differencing gives people back.
        assert!(differencing > 0.5, "{report:?}");
        assert!(
            report
                .shares()
                .starts_with("differencing, leaver recovered"),
            "{}",
            report.shares()
        );

        // Fewer joiners than targets: topped up with random people; a smaller table to re-run on.
        let settings = AttackSettings {
            targets: 12,
            max_people: 40,
            ..AttackSettings::default()
        };
        let report = run_attacks(input, release.rows(), &threes, &settings, 1, &scoring);
        // 40 drawn, plus the joiners not drawn among them.
        assert!((40..=50).contains(&report.simulated_people), "{report:?}");
        assert_eq!(
            report.changes.as_ref().unwrap().joiner_targets_from_ledger,
            10
        );
        assert_eq!(targets(&report, "differencing_joiner"), Some(12));
        let again = run_attacks(input, release.rows(), &threes, &settings, 1, &scoring);
        assert_eq!(again, report, "deterministic");

        // Started before the release is made: the same outcomes once it is handed over, and
        // none when it never is.
        let (hand_over, released) = std::sync::mpsc::channel();
        let late = std::thread::scope(|scope| {
            let (settings, scoring) = (&settings, &scoring);
            let attacking = scope.spawn(move || {
                run_attacks_as_released(input, &released, &threes, settings, 1, scoring)
            });
            std::thread::sleep(std::time::Duration::from_millis(20));
            hand_over.send(release.rows()).unwrap();
            attacking.join().unwrap()
        });
        assert_eq!(late, Some(report));
        let (hand_over, released) = std::sync::mpsc::channel();
        drop(hand_over);
        assert_eq!(
            run_attacks_as_released(input, &released, &threes, &settings, 1, &scoring),
            None
        );
    }

    #[test]
    fn defaults_and_validation() {
        let mut thresholds = Thresholds::default();
        let settings = AttackSettings::default();
        settings.default_thresholds(&mut thresholds);
        assert_eq!(thresholds.max_differencing_recovered, Some(0.03));
        assert_eq!(thresholds.max_fake_accounts_recovered, Some(0.05));
        assert_eq!(thresholds.max_public_exposed_share, Some(0.0));
        // On by default (see `membership::Membership`).
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
