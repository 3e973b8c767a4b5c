//! A linkage attack on microaggregated measurements: distance-based record linkage.
//!
//! k-anonymity counts identical released rows; it does not say how often an attacker who knows a
//! person's body can find that person's group. This module plays that attacker (the
//! distance-based record linkage of Pagliuca & Seri 1999 and Domingo-Ferrer & Torra 2001, the
//! standard disclosure-risk test for microaggregation) against the release, with the raw records
//! as ground truth, so the result belongs in the internal report only.
//!
//! **The attacker** knows some measurements of a person (by default chest, waist, hips, neck and
//! hpsToWaistBack: what a tailor or a shop's size profile holds), each with an independent
//! measurement error, either uniform on `[−error, +error]` or Gaussian with standard deviation
//! `error`, drawn from a stream of the release seed so that the figures are reproducible. The
//! attacker compares that noisy profile with every distinct released row, in the measurements'
//! units (all known measurements share the same error, so no standardization is needed), over the
//! known measurements the row has. A row that lacks some of them matches on fewer coordinates and
//! would look closer than it is, so only rows sharing the *most* known measurements with the
//! profile compete, and among them the nearest wins; ties are broken uniformly at random, counted
//! as the expected success.
//!
//! **Targets** are the released records (the attacker knows the target is in the release — the
//! prosecutor scenario, the worst case); a person with several released sets is attacked once per
//! set. Records without any known measurement cannot be attacked and are counted apart.
//!
//! **Figures.**
//! * `success`: share of targets linked to a released row whose microaggregation group contains
//!   a record of the target's person (found the person's group);
//! * `own_row_success`: share linked to a row made from one of the person's own records;
//! * `one_over_k`: 1 / the fewest distinct people in a group, the prosecutor bound of k-anonymity;
//! * `random_guess`: 1 / released rows, the chance of hitting a given row blindly;
//! * interval disclosure: of the target's measurements the attacker did not know, the share that
//!   the linked row gives within ±2 % of the true value (Domingo-Ferrer, Mateo-Sanz & Torra 2001).
//!
//! **Speed.** Released rows repeat k times or more, so the attacker compares against distinct
//! rows only, indexed in a k-d tree per combination of known measurements ([`super::nearest`]);
//! targets are linked in parallel.

use std::collections::{BTreeSet, HashMap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::nearest::KdTree;
use crate::table::{compare_rows, IdenticalRows, MeasurementTable};

/// Domain separation: attacker noise draws from its own stream of the release seed.
const NOISE_STREAM: u64 = 0x6c69_6e6b_6167_6521; // "linkage!"

/// A released value counts as disclosing an unknown measurement within this relative distance.
pub const INTERVAL_TOLERANCE: f64 = 0.02;

/// Shape of the attacker's measurement error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Noise {
    /// Uniform on `[−error, +error]`: a bounded error such as a tape read to the nearest cm.
    Uniform,
    /// Normal with standard deviation `error`: many small independent errors.
    Gaussian,
}

/// What the attacker knows: the `[linkage]` section of the release config.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttackerKnowledge {
    /// Measurements the attacker knows of every person.
    #[serde(default = "default_known")]
    pub known: Vec<String>,
    /// Size of the measurement error, in the measurements' unit (mm).
    #[serde(default = "default_error")]
    pub error: f64,
    /// Shape of the measurement error.
    #[serde(default = "default_noise")]
    pub noise: Noise,
}

impl AttackerKnowledge {
    /// Whether `known` is the default list (FreeSewing's five most-measured girths and lengths),
    /// which a schema with other measurements replaces by its own first columns.
    pub fn knows_the_default(&self) -> bool {
        self.known == default_known()
    }
}

fn default_known() -> Vec<String> {
    ["chest", "waist", "hips", "neck", "hpsToWaistBack"]
        .map(String::from)
        .to_vec()
}

fn default_error() -> f64 {
    10.0
}

fn default_noise() -> Noise {
    Noise::Uniform
}

impl Default for AttackerKnowledge {
    fn default() -> Self {
        AttackerKnowledge {
            known: default_known(),
            error: default_error(),
            noise: default_noise(),
        }
    }
}

impl AttackerKnowledge {
    /// Checks the settings that do not depend on the schema; returns the field and the problem.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.known.is_empty() {
            return Err(("linkage.known", "must name at least one measurement".into()));
        }
        if self.known.len() > 64 {
            return Err(("linkage.known", "at most 64 measurements".into()));
        }
        let mut seen = BTreeSet::new();
        if let Some(twice) = self.known.iter().find(|name| !seen.insert(name.as_str())) {
            return Err(("linkage.known", format!("`{twice}` is listed twice")));
        }
        if !(self.error.is_finite() && self.error >= 0.0) {
            return Err(("linkage.error", "must be a finite number ≥ 0".into()));
        }
        Ok(())
    }
}

/// The released rows with the ground truth of where each came from (never published).
#[derive(Debug, Clone, Copy)]
pub struct ReleasedRows<'a> {
    /// Row-major, as wide as the original table; NaN = not published.
    pub values: &'a [f64],
    /// The original record each released row was made from.
    pub source: &'a [usize],
    /// The microaggregation group each released row belongs to.
    pub group: &'a [usize],
}

/// One run of the attack.
#[derive(Debug, Clone, Copy)]
pub struct Attack<'a> {
    /// Column indices of the known measurements.
    pub known: &'a [usize],
    /// Size of the attacker's measurement error (see [`AttackerKnowledge::error`]).
    pub error: f64,
    /// Shape of the attacker's measurement error.
    pub noise: Noise,
    /// Seed of the attacker's measurement error.
    pub seed: u64,
}

/// Results of the attack, for the internal report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkageReport {
    /// Released records attacked.
    pub targets: usize,
    /// Distinct people among them.
    pub people: usize,
    /// Targets without any known measurement, left out of the shares below.
    pub unlinkable_targets: usize,
    /// Rows in the release.
    pub released_rows: usize,
    /// Distinct rows among them (identical rows of a group count once).
    pub distinct_released_rows: usize,
    /// Expected share of targets linked to a row of a group holding their person.
    pub success: f64,
    /// Expected share of targets linked to a row made from their person's own record.
    pub own_row_success: f64,
    /// 1 / the fewest distinct people in a group.
    pub one_over_k: f64,
    /// 1 / released rows.
    pub random_guess: f64,
    /// What the linked rows reveal of the measurements the attacker did not know.
    pub interval_disclosure: IntervalDisclosure,
}

/// How much the linked rows reveal of what the attacker did not know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalDisclosure {
    /// Relative tolerance: a value within ±tolerance × the true value is disclosed.
    pub tolerance: f64,
    /// Measurements of the linked targets that the attacker did not know.
    pub unknown_values: u64,
    /// Expected share of those that the linked row gives within the tolerance.
    pub share_disclosed: f64,
}

/// A distinct released row and the released rows equal to it.
struct DistinctRow {
    first: usize,
    rows: Vec<usize>,
}

/// One target's expected outcome.
#[derive(Default)]
struct TargetOutcome {
    linked: bool,
    group_success: f64,
    own_row_success: f64,
    disclosed: f64,
    unknown: u64,
}

/// Runs the attack of every released record against the release.
pub fn linkage_attack(
    original: &MeasurementTable,
    released: ReleasedRows<'_>,
    attack: Attack<'_>,
) -> LinkageReport {
    let width = original.width();
    let rows = released.source.len();
    assert_eq!(released.values.len(), rows * width, "one row per source");
    assert_eq!(released.group.len(), rows, "one group per row");
    assert!(attack.known.len() <= 64, "at most 64 known measurements");
    let row = |r: usize| &released.values[r * width..(r + 1) * width];

    // Distinct released rows in the order they first occur, each with all its copies.
    let mut distinct: Vec<DistinctRow> =
        IdenticalRows::group((0..rows).collect(), |a, b| compare_rows(row(a), row(b)))
            .iter()
            .map(|copies| DistinctRow {
                first: copies[0],
                rows: copies.to_vec(),
            })
            .collect();
    distinct.sort_unstable_by_key(|d| d.first);
    let group_count = released.group.iter().max().map_or(0, |g| g + 1);
    let mut group_people: Vec<Vec<u32>> = vec![Vec::new(); group_count];
    for (r, &group) in released.group.iter().enumerate() {
        group_people[group].push(original.person(released.source[r]));
    }
    for people in &mut group_people {
        people.sort_unstable();
        people.dedup();
    }
    let fewest_people = group_people.iter().map(Vec::len).min().unwrap_or(0);

    let known_mask = |values: &[f64]| -> u64 {
        attack
            .known
            .iter()
            .enumerate()
            .filter(|(_, column)| !values[**column].is_nan())
            .fold(0, |mask, (bit, _)| mask | 1 << bit)
    };
    let mut targets: Vec<usize> = released.source.to_vec();
    targets.sort_unstable();
    targets.dedup();
    let noise = draw_noise(attack, targets.len());
    let target_masks: Vec<u64> = targets
        .iter()
        .map(|&t| known_mask(original.row(t)))
        .collect();

    // Rows sharing the most known measurements with a profile compete; index each
    // (row mask, compared measurements) combination once.
    let mut rows_by_mask: HashMap<u64, Vec<usize>> = HashMap::new();
    for (d, distinct_row) in distinct.iter().enumerate() {
        let mask = known_mask(row(distinct_row.first));
        if mask != 0 {
            rows_by_mask.entry(mask).or_default().push(d);
        }
    }
    let profile_masks: BTreeSet<u64> = target_masks.iter().copied().collect();
    let competitors: HashMap<u64, Vec<(u64, u64)>> = profile_masks
        .iter()
        .map(|&profile| {
            let most = rows_by_mask
                .keys()
                .map(|mask| (mask & profile).count_ones())
                .max()
                .unwrap_or(0);
            let mut pairs: Vec<(u64, u64)> = if most == 0 {
                Vec::new()
            } else {
                rows_by_mask
                    .keys()
                    .filter(|mask| (*mask & profile).count_ones() == most)
                    .map(|&mask| (mask, mask & profile))
                    .collect()
            };
            pairs.sort_unstable();
            (profile, pairs)
        })
        .collect();
    let needed: BTreeSet<(u64, u64)> = competitors.values().flatten().copied().collect();
    let trees: HashMap<(u64, u64), KdTree> = needed
        .into_par_iter()
        .map(|(mask, compared)| {
            let dims = bits(compared);
            let points = rows_by_mask[&mask].iter().map(|&d| {
                let values = row(distinct[d].first);
                let coordinates = dims.iter().map(|&b| values[attack.known[b]]).collect();
                (coordinates, d as u32)
            });
            ((mask, compared), KdTree::new(dims.len(), points))
        })
        .collect();

    let unknown_columns: Vec<usize> = (0..width)
        .filter(|column| !attack.known.contains(column))
        .collect();
    let outcomes: Vec<TargetOutcome> = targets
        .par_iter()
        .enumerate()
        .map(|(t, &record)| {
            let pairs = &competitors[&target_masks[t]];
            if pairs.is_empty() {
                return TargetOutcome::default();
            }
            let truth = original.row(record);
            let profile = &noise[t * attack.known.len()..(t + 1) * attack.known.len()];
            let mut nearest = f64::INFINITY;
            let mut tied: Vec<usize> = Vec::new();
            for &(mask, compared) in pairs {
                let query: Vec<f64> = bits(compared)
                    .into_iter()
                    .map(|b| truth[attack.known[b]] + profile[b])
                    .collect();
                if let Some((distance, found)) = trees[&(mask, compared)].nearest(&query) {
                    if distance < nearest {
                        nearest = distance;
                        tied.clear();
                    }
                    if distance == nearest {
                        tied.extend(found.into_iter().map(|d| d as usize));
                    }
                }
            }
            let person = original.person(record);
            let candidates: usize = tied.iter().map(|&d| distinct[d].rows.len()).sum();
            let mut outcome = TargetOutcome {
                linked: true,
                ..TargetOutcome::default()
            };
            for &d in &tied {
                for &r in &distinct[d].rows {
                    if group_people[released.group[r]]
                        .binary_search(&person)
                        .is_ok()
                    {
                        outcome.group_success += 1.0;
                    }
                    if original.person(released.source[r]) == person {
                        outcome.own_row_success += 1.0;
                    }
                }
                let values = row(distinct[d].first);
                let disclosed = unknown_columns
                    .iter()
                    .filter(|&&c| {
                        !truth[c].is_nan()
                            && !values[c].is_nan()
                            && (values[c] - truth[c]).abs() <= INTERVAL_TOLERANCE * truth[c].abs()
                    })
                    .count();
                outcome.disclosed += (disclosed * distinct[d].rows.len()) as f64;
            }
            let candidates = candidates as f64;
            outcome.group_success /= candidates;
            outcome.own_row_success /= candidates;
            outcome.disclosed /= candidates;
            outcome.unknown = unknown_columns
                .iter()
                .filter(|&&c| !truth[c].is_nan())
                .count() as u64;
            outcome
        })
        .collect();

    // Summed in target order, so the figures do not depend on thread scheduling.
    let linked = outcomes.iter().filter(|o| o.linked).count();
    let share = |total: f64| {
        if linked == 0 {
            0.0
        } else {
            total / linked as f64
        }
    };
    let unknown_values: u64 = outcomes.iter().map(|o| o.unknown).sum();
    let disclosed: f64 = outcomes.iter().map(|o| o.disclosed).sum();
    LinkageReport {
        targets: targets.len(),
        people: targets
            .iter()
            .map(|&t| original.person(t))
            .collect::<BTreeSet<_>>()
            .len(),
        unlinkable_targets: targets.len() - linked,
        released_rows: rows,
        distinct_released_rows: distinct.len(),
        success: share(outcomes.iter().map(|o| o.group_success).sum()),
        own_row_success: share(outcomes.iter().map(|o| o.own_row_success).sum()),
        one_over_k: if fewest_people == 0 {
            0.0
        } else {
            1.0 / fewest_people as f64
        },
        random_guess: if rows == 0 { 0.0 } else { 1.0 / rows as f64 },
        interval_disclosure: IntervalDisclosure {
            tolerance: INTERVAL_TOLERANCE,
            unknown_values,
            share_disclosed: if unknown_values == 0 {
                0.0
            } else {
                disclosed / unknown_values as f64
            },
        },
    }
}

/// The attacker's error for every known measurement of every target, target-major. One draw per
/// (target, measurement) whether or not the target has it, so adding a measurement to one
/// record does not shift every other target's error.
fn draw_noise(attack: Attack<'_>, targets: usize) -> Vec<f64> {
    let mut rng = ChaCha20Rng::seed_from_u64(attack.seed);
    rng.set_stream(NOISE_STREAM);
    let draws = targets * attack.known.len();
    match attack.noise {
        Noise::Uniform => (0..draws)
            .map(|_| rng.gen_range(-attack.error..=attack.error))
            .collect(),
        Noise::Gaussian => {
            let normal = Normal::new(0.0, attack.error).expect("error is finite and ≥ 0");
            (0..draws).map(|_| normal.sample(&mut rng)).collect()
        }
    }
}

/// Positions of the set bits, ascending.
fn bits(mask: u64) -> Vec<usize> {
    (0..64).filter(|b| mask & (1 << b) != 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Six people in two groups of three, one column known, one unknown.
    fn two_groups() -> (MeasurementTable, Vec<f64>, Vec<usize>, Vec<usize>) {
        let mut table = MeasurementTable::new(vec!["chest".into(), "neck".into()]);
        for (person, chest) in [800.0, 805.0, 810.0, 1000.0, 1005.0, 1010.0]
            .into_iter()
            .enumerate()
        {
            table.push(person as u32, &[chest, 350.0 + chest / 100.0]);
        }
        let released = [
            [805.0, 358.0],
            [805.0, 358.0],
            [805.0, 358.0],
            [1005.0, 360.0],
            [1005.0, 360.0],
            [1005.0, 360.0],
        ]
        .concat();
        (table, released, (0..6).collect(), vec![0, 0, 0, 1, 1, 1])
    }

    fn attack(known: &[usize], error: f64) -> Attack<'_> {
        Attack {
            known,
            error,
            noise: Noise::Uniform,
            seed: 1,
        }
    }

    #[test]
    fn well_separated_groups_are_always_found() {
        let (table, values, source, group) = two_groups();
        let released = ReleasedRows {
            values: &values,
            source: &source,
            group: &group,
        };
        let report = linkage_attack(&table, released, attack(&[0], 10.0));
        assert_eq!((report.targets, report.people), (6, 6));
        assert_eq!(report.distinct_released_rows, 2);
        assert_eq!(report.success, 1.0);
        // Each group's row is one of three identical rows: one of them is the target's own.
        assert!((report.own_row_success - 1.0 / 3.0).abs() < 1e-12);
        assert!((report.one_over_k - 1.0 / 3.0).abs() < 1e-12);
        assert!((report.random_guess - 1.0 / 6.0).abs() < 1e-12);
        // Neck is within 2 % for everyone.
        assert_eq!(report.interval_disclosure.unknown_values, 6);
        assert_eq!(report.interval_disclosure.share_disclosed, 1.0);
    }

    #[test]
    fn ties_share_the_expected_success() {
        // Target chest 900 with no error sits exactly between 800 and 1000.
        let mut table = MeasurementTable::new(vec!["chest".into()]);
        for (person, chest) in [800.0, 900.0, 1000.0].into_iter().enumerate() {
            table.push(person as u32, &[chest]);
        }
        let values = [800.0, 1000.0, 1000.0];
        let released = ReleasedRows {
            values: &values,
            source: &[0, 1, 2],
            group: &[0, 1, 1],
        };
        let report = linkage_attack(&table, released, attack(&[0], 0.0));
        // Person 0 and 2 are found; person 1 ties between a row of group 0 (wrong) and two rows
        // of group 1 (right): expected success 2/3.
        assert!((report.success - (1.0 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn rows_sharing_more_known_measurements_win() {
        let mut table = MeasurementTable::new(vec!["chest".into(), "waist".into()]);
        table.push(0, &[900.0, 700.0]);
        table.push(1, &[900.0, f64::NAN]);
        // Row 0 (both measurements, far on waist) beats row 1 (chest only, exact): the attacker
        // of person 0 compares on both measurements and only row 0 has them.
        let values = [900.0, 760.0, 900.0, f64::NAN];
        let released = ReleasedRows {
            values: &values,
            source: &[0, 1],
            group: &[0, 1],
        };
        let report = linkage_attack(&table, released, attack(&[0, 1], 0.0));
        // Person 1's profile has chest only; both rows tie at distance 0: expected 1/2.
        assert!((report.success - (1.0 + 0.5) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn records_without_known_measurements_are_unlinkable() {
        let mut table = MeasurementTable::new(vec!["chest".into(), "head".into()]);
        table.push(0, &[f64::NAN, 560.0]);
        table.push(1, &[900.0, 570.0]);
        let values = [f64::NAN, 565.0, 900.0, 565.0];
        let released = ReleasedRows {
            values: &values,
            source: &[0, 1],
            group: &[0, 1],
        };
        let report = linkage_attack(&table, released, attack(&[0], 5.0));
        assert_eq!(report.unlinkable_targets, 1);
        assert_eq!(report.success, 1.0);
    }

    #[test]
    fn noise_is_seeded_and_shaped() {
        let known = [0usize, 1];
        let uniform = draw_noise(attack(&known, 10.0), 1000);
        assert_eq!(uniform, draw_noise(attack(&known, 10.0), 1000));
        assert!(uniform.iter().all(|e| e.abs() <= 10.0));
        let gaussian = draw_noise(
            Attack {
                noise: Noise::Gaussian,
                ..attack(&known, 10.0)
            },
            1000,
        );
        let sd = (gaussian.iter().map(|e| e * e).sum::<f64>() / gaussian.len() as f64).sqrt();
        assert!((sd - 10.0).abs() < 1.0, "{sd}");
        assert!(gaussian.iter().any(|e| e.abs() > 10.0));
    }

    #[test]
    fn knowledge_is_validated() {
        assert!(AttackerKnowledge::default().validate().is_ok());
        let twice = AttackerKnowledge {
            known: vec!["chest".into(), "chest".into()],
            ..AttackerKnowledge::default()
        };
        assert!(twice.validate().unwrap_err().1.contains("twice"));
        let negative = AttackerKnowledge {
            error: -1.0,
            ..AttackerKnowledge::default()
        };
        assert_eq!(negative.validate().unwrap_err().0, "linkage.error");
    }
}
