//! The `[attacks]` section of the release configuration: which simulated attacks `publish` runs
//! and the defaults of their gates. On its own so that the config (and the fuzzing of its
//! parser) needs none of the attacks.

use serde::{Deserialize, Serialize};

use crate::gates::Thresholds;

/// Default of `thresholds.max_differencing_recovered`: the goal, 3 % of leavers or
/// joiners.
pub const DEFAULT_MAX_DIFFERENCING_RECOVERED: f64 = 0.03;
/// Default of `thresholds.max_fake_accounts_recovered`: 5 % of targets.
pub const DEFAULT_MAX_FAKE_ACCOUNTS_RECOVERED: f64 = 0.05;
/// Default of `thresholds.max_public_exposed_share`: no private person in a group with fewer
/// than k non-public people.
pub const DEFAULT_MAX_PUBLIC_EXPOSED_SHARE: f64 = 0.0;

/// The `[attacks]` section of the release configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttackSettings {
    /// Whether `publish` runs the attacks: with `--internal-report`, or when an attack threshold
    /// is set. Enabled, the attack thresholds left unset get the defaults
    /// ([`AttackSettings::default_thresholds`]); disabled, none may be set.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Targets per attack (leavers, joiners, fake-account targets each) on a table of
    /// `max_people`; a smaller table gets more ([`AttackSettings::targets_for`]).
    #[serde(default = "default_targets")]
    pub targets: usize,
    /// Largest number of people the method is re-run on (see the module documentation).
    #[serde(default = "default_max_people")]
    pub max_people: usize,
    /// The fake-account attacker.
    #[serde(default)]
    pub fake_accounts: FakeAccounts,
}

fn enabled() -> bool {
    true
}
/// 40: at least the 30, and enough that one target recovered by chance (2.5 %) stays
/// below the 3 % differencing gate: with 30 targets a single one (3.3 %) fails it, and the
/// share could not tell a lucky estimate from a weak defence.
fn default_targets() -> usize {
    40
}
fn default_max_people() -> usize {
    2_000
}

impl Default for AttackSettings {
    fn default() -> Self {
        AttackSettings {
            enabled: enabled(),
            targets: default_targets(),
            max_people: default_max_people(),
            fake_accounts: FakeAccounts::default(),
        }
    }
}

impl AttackSettings {
    /// Checks ranges, and that disabled attacks leave their thresholds unset; returns the
    /// offending field and what was expected.
    pub fn validate(&self, thresholds: &Thresholds) -> Result<(), (&'static str, String)> {
        if self.targets == 0 {
            return Err(("attacks.targets", "must be at least 1".into()));
        }
        if self.max_people < 2 {
            return Err(("attacks.max_people", "must be at least 2".into()));
        }
        let guess = self.fake_accounts.guess_error;
        if !(guess.is_finite() && (0.0..1.0).contains(&guess)) {
            return Err((
                "attacks.fake_accounts.guess_error",
                "must lie in [0, 1)".into(),
            ));
        }
        if !self.enabled && thresholds.need_attacks() {
            return Err((
                "attacks.enabled",
                "the attacks are disabled but a threshold on them is set".into(),
            ));
        }
        Ok(())
    }

    /// Targets per attack when the method is re-run on `people` people: `targets` at
    /// `max_people`, and on a smaller table as many more as the same work allows (a re-run of
    /// MDAV costs about the square of the people), up to everyone. Where re-runs are cheap the
    /// shares are measured finer, so a gate is not decided by one lucky estimate out of 40.
    pub fn targets_for(&self, people: usize) -> usize {
        let budget = (self.targets as u128).saturating_mul((self.max_people as u128).pow(2));
        let affordable = budget / (people.max(1) as u128).pow(2);
        (affordable.min(people as u128) as usize).max(self.targets)
    }

    /// With the attacks enabled, gives each unset attack threshold its default.
    pub fn default_thresholds(&self, thresholds: &mut Thresholds) {
        if self.enabled {
            thresholds
                .max_differencing_recovered
                .get_or_insert(DEFAULT_MAX_DIFFERENCING_RECOVERED);
            thresholds
                .max_fake_accounts_recovered
                .get_or_insert(DEFAULT_MAX_FAKE_ACCOUNTS_RECOVERED);
            thresholds
                .max_public_exposed_share
                .get_or_insert(DEFAULT_MAX_PUBLIC_EXPOSED_SHARE);
            thresholds
                .max_membership_auc
                .get_or_insert(super::membership::DEFAULT_MAX_MEMBERSHIP_AUC);
        }
    }
}

/// How the attacker plays.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FakeAccounts {
    /// Largest relative error of the attacker's guess of each measurement.
    #[serde(default = "default_guess_error")]
    pub guess_error: f64,
}

fn default_guess_error() -> f64 {
    0.04
}

impl Default for FakeAccounts {
    fn default() -> Self {
        FakeAccounts {
            guess_error: default_guess_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_targets_resolve_the_default_gates() {
        // A gate on a share of targets can only tell rates apart in steps of 1 / targets: with
        // the defaults, one recovered target fits under each recovery gate, so a single lucky
        // estimate never refuses a release; two do.
        let targets = AttackSettings::default().targets as f64;
        for gate in [
            DEFAULT_MAX_DIFFERENCING_RECOVERED,
            DEFAULT_MAX_FAKE_ACCOUNTS_RECOVERED,
        ] {
            assert!(1.0 / targets <= gate, "{targets} targets against {gate}");
        }
        assert!(2.0 / targets > DEFAULT_MAX_DIFFERENCING_RECOVERED);
    }
}
