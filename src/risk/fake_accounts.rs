//! Fake accounts: k − 1 planted people who fill a target's group.
//!
//! k-anonymity counts people, not honest people. An attacker who opens k − 1 eligible accounts
//! (consent given, recently seen) holding values near a target's becomes k − 1 of the target's
//! k group members, and then knows every member but one: the target (the "n − 1 attack" on
//! microaggregation, Domingo-Ferrer & Torra 2005).
//!
//! **The attacker** has one rough guess of the target's set: each measurement the target has,
//! off by an independent uniform relative error of up to `guess_error` (±4 % by default, what
//! one learns from a size label or a photo). They plant k − 1 accounts that all hold exactly that
//! guess, wait for the next release, and find the released row nearest to the guess (distance
//! in standard deviations over the guessed measurements, among rows with exactly the guessed
//! measurements) and how many identical rows `s` it has. If the group is the k − 1 fakes and
//! `s − (k − 1)` others, those others' mean is `(s·v − (k − 1)·guess) / (s − k + 1)`; when the
//! only other is the target, that is the target's set, up to `s` times the rounding of `v`.
//!
//! **Simulation.** Targets are people drawn at random; the attacked set is the person's first
//! eligible set. For each target the release method runs on the eligible table plus the fakes
//! (new people, one set each), and the estimate is judged on the measurements the target's set
//! is published with ([`super::recovery`]).

use super::attacks::{
    whole_percent, AttackDescription, AttackLine, AttackOutcome, DescribedRelease, SimulatedAttack,
    Simulation, DEFAULT_MAX_FAKE_ACCOUNTS_RECOVERED,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::recovery::{
    next_person, published_columns, same_row, sample_people, GroupedRelease, MethodUnderAttack,
    Rebuilt, RecoveryFigures, Scoring, Tally,
};
use crate::table::{coverage_mask, MeasurementTable};

/// Domain separation: targets and guesses draw from their own streams of the seed.
const TARGET_STREAM: u64 = 0x6661_6b65_7461_7267; // "faketarg"
const GUESS_STREAM: u64 = 0x6661_6b65_6775_6573; // "fakegues"

pub use super::attack_settings::FakeAccounts;

/// Share of targets k − 1 planted accounts rebuilt with group noise, as anonpub measured it (at
/// [`super::attacks::MEASURED_AT_K`]; 1 % without noise).
const MEASURED_RECOVERED: f64 = 0.0;

/// The planted-accounts attack in the registry of simulated attacks
/// ([`super::attacks::ATTACKS`]).
pub struct FakeAccountsAttack;

impl SimulatedAttack for FakeAccountsAttack {
    fn name(&self) -> &'static str {
        "fake_accounts"
    }

    fn gate(&self) -> &'static str {
        "thresholds.max_fake_accounts_recovered"
    }

    fn default_limit(&self) -> Option<f64> {
        Some(DEFAULT_MAX_FAKE_ACCOUNTS_RECOVERED)
    }

    fn describe(&self, release: &DescribedRelease<'_>) -> AttackDescription {
        AttackDescription {
            attacker: "plant accounts next to a target",
            gate: release
                .limit(self.gate())
                .map(|limit| format!("planted accounts at most {}", whole_percent(limit))),
            resists: Some(format!(
                "**Planted accounts:** k − 1 made-up accounts holding one rough guess (±4 %) of a \
                 target's measurements, to fill the target's group: {fakes} of targets \
                 rebuilt.{age}",
                fakes = whole_percent(MEASURED_RECOVERED),
                age = match release.min_account_age_days {
                    0 => String::new(),
                    days => format!(
                        " Accounts created less than {days} days before the release date do not \
                         count, so such accounts must be planted well ahead of a release."
                    ),
                },
            )),
            does_not_resist: None,
        }
    }

    fn run(&self, simulation: &Simulation<'_>) -> AttackOutcome {
        let attacker = simulation.settings.fake_accounts;
        let figures = fake_accounts_attack(
            simulation.simulated,
            simulation.method,
            simulation.input.k,
            attacker,
            simulation.targets,
            simulation.seed,
            simulation.scoring,
        );
        AttackOutcome {
            figure: figures.recovered_share,
            detail: serde_json::json!({ "attacker": attacker, "recovered": figures }),
            lines: vec![AttackLine {
                key: "fake_accounts",
                label: "fake accounts",
                figures,
            }],
            note: None,
        }
    }
}

/// Runs the attack on `targets` people drawn from `seed`, planting `k − 1` accounts for each.
pub fn fake_accounts_attack(
    table: &MeasurementTable,
    method: &dyn MethodUnderAttack,
    k: usize,
    attacker: FakeAccounts,
    targets: usize,
    seed: u64,
    scoring: &Scoring,
) -> RecoveryFigures {
    assert!(k >= 2, "with k = 1 nobody needs fake accounts");
    let people = sample_people(table, targets, seed, TARGET_STREAM);
    let first_fake = next_person(table);
    let outcomes: Vec<_> = people
        .par_iter()
        .enumerate()
        .map(|(index, &person)| {
            let record = (0..table.len())
                .find(|&r| table.person(r) == person)
                .expect("sampled people have a set");
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            rng.set_stream(GUESS_STREAM);
            rng.set_word_pos(index as u128 * 1024);
            let guess: Vec<f64> = table
                .row(record)
                .iter()
                .map(|v| v * (1.0 + rng.gen_range(-attacker.guess_error..=attacker.guess_error)))
                .collect();
            let mut planted = table.clone();
            for fake in 0..k - 1 {
                planted.push(first_fake + fake as u32, &guess);
            }
            let release = method.release(&planted);
            vec![rebuild(&planted, &release, record, &guess, k, scoring)]
        })
        .collect();
    Tally::figures_of(outcomes)
}

/// The attacker's estimate of the target's set from the row nearest to the guess, judged on the
/// columns the target is published with; `None` when the target's set was suppressed or no row
/// can hold the fakes.
fn rebuild(
    planted: &MeasurementTable,
    release: &GroupedRelease,
    record: usize,
    guess: &[f64],
    k: usize,
    scoring: &Scoring,
) -> Option<Rebuilt> {
    let width = planted.width();
    let target_row = release.source.iter().position(|&s| s == record)?;
    let columns = published_columns(release.row(target_row, width));
    let pattern = coverage_mask(guess);
    let distance = |row: &[f64]| -> f64 {
        (0..width)
            .filter(|&c| !guess[c].is_nan())
            .map(|c| ((row[c] - guess[c]) / scoring.sd[c]).powi(2))
            .sum()
    };
    let nearest = (0..release.source.len())
        .map(|r| release.row(r, width))
        .filter(|row| coverage_mask(row) == pattern)
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))?;
    let copies = (0..release.source.len())
        .filter(|&r| same_row(release.row(r, width), nearest))
        .count();
    let others = copies.checked_sub(k - 1).filter(|&n| n > 0)? as f64;
    let fakes = (k - 1) as f64;
    let estimate: Vec<f64> = nearest
        .iter()
        .zip(guess)
        .map(|(v, g)| (copies as f64 * v - fakes * g) / others)
        .collect();
    Some(scoring.judge(planted.row(record), &estimate, &columns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::recovery::Tolerance;

    /// Groups of everyone in the same 100 mm band of chest (whatever their number: a toy
    /// method); released rows are exact means.
    fn bands(width_mm: f64) -> impl Fn(&MeasurementTable) -> GroupedRelease {
        move |table: &MeasurementTable| {
            let band = |r: usize| (table.row(r)[0] / width_mm).floor() as usize;
            let mut release = GroupedRelease::default();
            for r in 0..table.len() {
                let members: Vec<usize> =
                    (0..table.len()).filter(|&m| band(m) == band(r)).collect();
                let mean =
                    members.iter().map(|&m| table.row(m)[0]).sum::<f64>() / members.len() as f64;
                release.values.push(mean);
                release.source.push(r);
                release.group.push(band(r));
            }
            release
        }
    }

    /// Ten people in the middle of ten 100 mm bands.
    fn one_per_band() -> MeasurementTable {
        let mut table = MeasurementTable::new(vec!["chest".into()]);
        for p in 0..10 {
            table.push(p, &[750.0 + 100.0 * f64::from(p)]);
        }
        table
    }

    #[test]
    fn fakes_that_fill_the_group_give_the_target_back() {
        // A 1 % guess stays in the target's band: the group is the target and the fakes.
        let table = one_per_band();
        let tolerance = Tolerance {
            relative: 0.0,
            absolute: vec![1e-6],
        };
        let scoring = Scoring::new(tolerance, &table);
        let attacker = FakeAccounts { guess_error: 0.01 };
        let method = bands(100.0);
        let figures = fake_accounts_attack(&table, &method, 3, attacker, 10, 7, &scoring);
        assert_eq!(
            (figures.targets, figures.located, figures.recovered),
            (10, 10, 10)
        );
        let again = fake_accounts_attack(&table, &method, 3, attacker, 10, 7, &scoring);
        assert_eq!(figures, again);
    }

    #[test]
    fn one_group_of_everyone_hides_the_target() {
        let table = one_per_band();
        let scoring = Scoring::new(
            Tolerance {
                relative: 0.02,
                absolute: vec![5.0],
            },
            &table,
        );
        let everyone = bands(1e6);
        let figures = fake_accounts_attack(
            &table,
            &everyone,
            3,
            FakeAccounts::default(),
            10,
            7,
            &scoring,
        );
        assert_eq!((figures.located, figures.recovered), (10, 0));
        assert!(figures.median_error_sd.unwrap() > 0.3);
    }
}
