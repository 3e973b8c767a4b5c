//! Publish gates: the `[thresholds]` of the release configuration, declared once.
//!
//! Each threshold bounds one figure a release measures (the achieved k, l, a risk, a share).
//! One declaration (`declare_gates!`) generates the thresholds, the measured figures and
//! [`GATES`], the list of them in the order they are judged: the config validates the limits
//! through it, `publish` judges the figures it measured, `verify` re-judges the ones the release
//! alone determines and names the others. This module imports nothing of the engines: the
//! models and attacks whose figures it bounds depend on it, never the reverse.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Declares every gate once: its threshold (a field of [`Thresholds`], with its key in
/// `[thresholds]`), its figure (a field of [`Measured`]), its bound and what the figure is
/// measured from. [`Thresholds`], [`Measured`] and [`GATES`] are generated from this one list,
/// in this order (the order gates are judged in), so they cannot drift apart: a new gate is one
/// entry here.
macro_rules! declare_gates {
    ($(
        $(#[$threshold_meta:meta])*
        $threshold:ident: Option<$limit:ty>,
        $(#[$figure_meta:meta])*
        measured $figure:ident: Option<$value:ty>,
        $bound:ident from $from:ident;
    )*) => {
        /// Conditions a release must meet, or nothing is written. Each unset threshold is not
        /// checked. `report.json` records them all, and `verify` re-checks those that can be
        /// measured on the release alone.
        #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
        #[serde(deny_unknown_fields)]
        pub struct Thresholds {
            $( $(#[$threshold_meta])* pub $threshold: Option<$limit>, )*
        }

        /// What a release measured, for [`Thresholds::evaluate`]; `None` where a figure is not
        /// known (not computed, or not derivable from what the caller has).
        #[derive(Debug, Clone, Copy, Default)]
        pub struct Measured {
            $( $(#[$figure_meta])* pub $figure: Option<$value>, )*
        }

        impl Thresholds {
            /// Unsets every threshold whose figure is measured from `from`: for a release that
            /// cannot measure it at all (a generalized release runs no simulated attack).
            pub fn clear_from(&mut self, from: MeasuredFrom) {
                $( if MeasuredFrom::$from == from { self.$threshold = None; } )*
            }

            /// Sets the threshold of `key` (`thresholds.NAME`) to `limit` unless it is set
            /// already; `false` for a key that names no gate.
            pub fn set_default(&mut self, key: &str, limit: f64) -> bool {
                $( if key == concat!("thresholds.", stringify!($threshold)) {
                    self.$threshold.get_or_insert(Figure::from_figure(limit));
                    return true;
                } )*
                false
            }
        }

        impl Measured {
            /// Records the figure the gate `key` (`thresholds.NAME`) judges; `false` for a key
            /// that names no gate.
            pub fn set(&mut self, key: &str, figure: f64) -> bool {
                $( if key == concat!("thresholds.", stringify!($threshold)) {
                    self.$figure = Some(Figure::from_figure(figure));
                    return true;
                } )*
                false
            }
        }

        /// Every threshold, in the order they are judged (the first failing one stops a
        /// release).
        pub const GATES: [GateSpec; [$(stringify!($threshold)),*].len()] = [$(
            GateSpec {
                key: concat!("thresholds.", stringify!($threshold)),
                bound: Bound::$bound,
                measured_from: MeasuredFrom::$from,
                limit: |t| t.$threshold.map(Figure::figure),
                figure: |m| m.$figure.map(Figure::figure),
            },
        )*];
    };
}

/// A limit or a figure as gates compare them.
trait Figure {
    fn figure(self) -> f64;
    fn from_figure(figure: f64) -> Self;
}

impl Figure for usize {
    fn figure(self) -> f64 {
        self as f64
    }
    fn from_figure(figure: f64) -> Self {
        figure as usize
    }
}

impl Figure for f64 {
    fn figure(self) -> f64 {
        self
    }
    fn from_figure(figure: f64) -> Self {
        figure
    }
}

declare_gates! {
    /// The achieved k (people in the smallest group) must be at least this: the threshold of
    /// k-anonymity (`anonymize::k_anonymity`), judged on people at publish and re-judged by
    /// `verify` on rows per class of identical rows, which can only overstate the people per
    /// class (a failure there is certain).
    min_k: Option<usize>,
    /// People in the smallest group of identical released rows.
    measured k: Option<usize>,
    AtLeast from Release;

    /// At most this share of eligible records may be suppressed.
    max_suppressed_share: Option<f64>,
    /// Share of eligible records suppressed.
    measured suppressed_share: Option<f64>,
    AtMost from Release;

    /// Highest prosecutor risk of any released row (1 / its number of identical rows).
    max_highest_risk: Option<f64>,
    /// Highest prosecutor risk of a released row.
    measured highest_risk: Option<f64>,
    AtMost from Release;

    /// Prosecutor risk averaged over released rows (classes / rows).
    max_average_risk: Option<f64>,
    /// Average prosecutor risk of the released rows.
    measured average_risk: Option<f64>,
    AtMost from Release;

    /// Share of released rows whose risk exceeds 1/k, i.e. in classes of fewer than k rows.
    max_records_at_risk: Option<f64>,
    /// Share of released rows above the risk threshold 1/k.
    measured records_at_risk: Option<f64>,
    AtMost from Release;

    /// Share of released records the linkage attack links to their own group.
    max_linkage_success: Option<f64>,
    /// Success of the linkage attack.
    measured linkage_success: Option<f64>,
    AtMost from RawData;

    /// Share of the measurements the attacker did not know that the linked row reveals within
    /// ±2 %.
    max_interval_disclosure: Option<f64>,
    /// Share disclosed within ±2 % by the linkage attack.
    measured interval_disclosure: Option<f64>,
    AtMost from RawData;

    /// Distinct sensitive values per class (distinct l-diversity, `anonymize::ldiversity`), for
    /// releases with a sensitive column (a generalizing `[method]`).
    min_l: Option<usize>,
    /// Smallest number of distinct sensitive values in a class.
    measured l: Option<usize>,
    AtLeast from SensitiveColumn;

    /// Share of simulated leavers, or of simulated joiners, whichever is larger, that
    /// differencing two successive releases recovers ([`crate::risk::differencing`]). Set by
    /// default while `[attacks]` is enabled (see [`crate::risk::attacks`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_differencing_recovered: Option<f64>,
    /// Share recovered by differencing, the larger of leavers and joiners.
    measured differencing_recovered: Option<f64>,
    AtMost from Simulation;

    /// Share of targets that k − 1 planted accounts recover ([`crate::risk::fake_accounts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_fake_accounts_recovered: Option<f64>,
    /// Share recovered by planted accounts.
    measured fake_accounts_recovered: Option<f64>,
    AtMost from Simulation;

    /// Share of private people in a group with fewer than k people whose sets are not public
    /// ([`crate::risk::known_members`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_public_exposed_share: Option<f64>,
    /// Share of private people exposed by public sets.
    measured public_exposed_share: Option<f64>,
    AtMost from Simulation;

    /// Area under the ROC curve with which someone who knows a person's whole set tells members
    /// from non-members by the nearest released row ([`crate::risk::membership`]; the wide
    /// sets' when there are enough of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_membership_auc: Option<f64>,
    /// Membership-inference AUC.
    measured membership_auc: Option<f64>,
    AtMost from Simulation;
}

/// How a threshold bounds its figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A count (k, l) that must be at least the limit; the limit itself is at least 1.
    AtLeast,
    /// A share or probability that must be at most the limit; the limit lies in [0, 1].
    AtMost,
}

/// What a figure can be measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasuredFrom {
    /// The released files alone, so `verify` re-checks it.
    Release,
    /// The raw data too (an attack on the release); judged at publish only.
    RawData,
    /// A sensitive column, which only a generalized release has.
    SensitiveColumn,
    /// A simulated attack that re-runs the release method on the raw data changed the way an
    /// attacker would change it ([`crate::risk::attacks`]); judged at publish only.
    Simulation,
}

/// One threshold: its key in `[thresholds]`, its bound, and how to read its limit and figure.
#[derive(Debug, Clone, Copy)]
pub struct GateSpec {
    /// The key, qualified by its table: `thresholds.NAME` (see [`GateSpec::name`]).
    pub key: &'static str,
    /// How it bounds its figure.
    pub bound: Bound,
    /// What its figure is measured from.
    pub measured_from: MeasuredFrom,
    /// The configured limit, if set.
    pub limit: fn(&Thresholds) -> Option<f64>,
    /// The measured figure, if known.
    pub figure: fn(&Measured) -> Option<f64>,
}

/// The verdict on one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    /// The threshold's key in `[thresholds]`.
    pub name: &'static str,
    /// Whether the measured figure is within the limit.
    pub passed: bool,
    /// The figure, as printed.
    pub measured: String,
    /// The bound, as printed (`>= 5`, `<= 0.2`).
    pub required: String,
}

impl Gate {
    /// The error `publish` stops with when this gate failed.
    pub fn into_error(self) -> Error {
        Error::ThresholdFailed {
            name: self.name.into(),
            measured: self.measured,
            required: self.required,
        }
    }
}

impl GateSpec {
    /// The key in `[thresholds]` (and in `report.json`'s `parameters.thresholds`).
    pub fn name(&self) -> &'static str {
        let key: &'static str = self.key;
        key.strip_prefix("thresholds.").unwrap_or(key)
    }

    /// Judges `measured` against `limit`.
    fn judge(&self, limit: f64, measured: f64) -> Gate {
        let (passed, measured, required) = match self.bound {
            Bound::AtLeast => (
                measured >= limit,
                measured.to_string(),
                format!(">= {limit}"),
            ),
            Bound::AtMost => (
                measured <= limit,
                format!("{measured:.6}"),
                format!("<= {limit}"),
            ),
        };
        Gate {
            name: self.name(),
            passed,
            measured,
            required,
        }
    }
}

impl Thresholds {
    /// Judges every threshold that is set and whose figure was measured, in [`GATES`] order.
    pub fn evaluate(&self, measured: &Measured) -> Vec<Gate> {
        GATES
            .iter()
            .filter_map(|gate| Some(gate.judge((gate.limit)(self)?, (gate.figure)(measured)?)))
            .collect()
    }

    /// The first failing gate among those measured, as the error `publish` stops with.
    pub fn check(&self, measured: &Measured) -> crate::error::Result<()> {
        match self
            .evaluate(measured)
            .into_iter()
            .find(|gate| !gate.passed)
        {
            Some(gate) => Err(gate.into_error()),
            None => Ok(()),
        }
    }

    /// The set thresholds whose figure is measured from `source`, in [`GATES`] order.
    pub fn set_from(&self, source: MeasuredFrom) -> impl Iterator<Item = &'static GateSpec> + '_ {
        GATES
            .iter()
            .filter(move |gate| gate.measured_from == source && (gate.limit)(self).is_some())
    }

    /// Whether a threshold needs the linkage attack.
    pub fn need_linkage(&self) -> bool {
        self.set_from(MeasuredFrom::RawData).next().is_some()
    }

    /// Whether a threshold needs the simulated attacks of [`crate::risk::attacks`].
    pub fn need_attacks(&self) -> bool {
        self.set_from(MeasuredFrom::Simulation).next().is_some()
    }

    /// Checks each set limit against its bound; returns the offending key (`thresholds.NAME`)
    /// and what was expected.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        for gate in &GATES {
            let Some(limit) = (gate.limit)(self) else {
                continue;
            };
            let problem = match gate.bound {
                Bound::AtLeast if limit < 1.0 => "must be at least 1",
                Bound::AtMost if !(0.0..=1.0).contains(&limit) => "must be between 0 and 1",
                _ => continue,
            };
            return Err((gate.key, problem.into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_every_field() {
        let every = Thresholds {
            min_k: Some(1),
            max_suppressed_share: Some(0.5),
            max_highest_risk: Some(0.5),
            max_average_risk: Some(0.5),
            max_records_at_risk: Some(0.5),
            max_linkage_success: Some(0.5),
            max_interval_disclosure: Some(0.5),
            min_l: Some(1),
            max_differencing_recovered: Some(0.03),
            max_fake_accounts_recovered: Some(0.05),
            max_public_exposed_share: Some(0.0),
            max_membership_auc: Some(0.65),
        };
        let serialized = serde_json::to_value(&every).unwrap();
        let mut fields: Vec<&str> = serialized
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut names: Vec<&str> = GATES.iter().map(GateSpec::name).collect();
        assert!(GATES.iter().all(|gate| (gate.limit)(&every).is_some()));
        assert!(GATES.iter().all(|gate| gate.key.starts_with("thresholds.")));
        // serde_json's map is sorted by key (without its preserve_order feature): compare as sets.
        names.sort_unstable();
        fields.sort_unstable();
        assert_eq!(fields, names);
    }

    #[test]
    fn gates_judge_only_what_is_set_and_measured() {
        let thresholds = Thresholds {
            min_k: Some(5),
            max_highest_risk: Some(0.2),
            max_linkage_success: Some(0.5),
            ..Thresholds::default()
        };
        let measured = Measured {
            k: Some(5),
            highest_risk: Some(0.25),
            average_risk: Some(0.1),
            ..Measured::default()
        };
        let gates = thresholds.evaluate(&measured);
        assert_eq!(
            gates.iter().map(|g| (g.name, g.passed)).collect::<Vec<_>>(),
            [("min_k", true), ("max_highest_risk", false)]
        );
        assert_eq!(gates[0].measured, "5");
        assert_eq!(gates[0].required, ">= 5");
        let error = thresholds.check(&measured).unwrap_err().to_string();
        assert!(
            error.contains("max_highest_risk")
                && error.contains("0.250000")
                && error.contains("<= 0.2"),
            "{error}"
        );
        assert!(thresholds.need_linkage());
        assert!(!Thresholds::default().need_linkage());
        assert!(!thresholds.need_attacks());
        let attacks = Thresholds {
            max_fake_accounts_recovered: Some(0.05),
            ..Thresholds::default()
        };
        assert!(attacks.need_attacks() && !attacks.need_linkage());
        // Unset attack thresholds are left out of report.json, as before they existed.
        let listed = serde_json::to_value(&thresholds).unwrap();
        assert!(listed.get("max_fake_accounts_recovered").is_none());
        assert!(serde_json::to_value(&attacks)
            .unwrap()
            .get("max_fake_accounts_recovered")
            .is_some());
        let mut cleared = Thresholds {
            min_k: Some(5),
            ..attacks.clone()
        };
        cleared.clear_from(MeasuredFrom::Simulation);
        assert!(!cleared.need_attacks() && cleared.min_k == Some(5));
        let raw: Vec<&str> = thresholds
            .set_from(MeasuredFrom::RawData)
            .map(GateSpec::name)
            .collect();
        assert_eq!(raw, ["max_linkage_success"]);
    }

    #[test]
    fn limits_are_checked_against_their_bound() {
        let bad_share = Thresholds {
            max_records_at_risk: Some(1.5),
            ..Thresholds::default()
        };
        assert_eq!(
            bad_share.validate().unwrap_err().0,
            "thresholds.max_records_at_risk"
        );
        let bad_count = Thresholds {
            min_l: Some(0),
            ..Thresholds::default()
        };
        assert_eq!(bad_count.validate().unwrap_err().0, "thresholds.min_l");
        Thresholds::default().validate().unwrap();
    }
}
