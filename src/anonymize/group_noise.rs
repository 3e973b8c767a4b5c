//! Keyed noise on each group's released values: a draw that is a function of who is in the group.
//!
//! **Why.** Group means are exact up to rounding, so anything else the attacker knows turns into
//! subtraction: two releases that differ by one person (differencing), members whose values the
//! attacker knows (public sets, planted accounts). Noise on each released group value makes the
//! subtraction return the person plus the noise of every group it involves, multiplied by the
//! group's size: a leaver's estimate carries at least `σ·√(s² + (s − 1)²)` of error (the group
//! they left, before and after), a planted-accounts estimate `s·σ`, while each released value
//! moves by only `σ`.
//!
//! **Why keyed by membership.** Fresh random noise on every release would let an attacker average
//! re-releases of the same group and wash it out. Here the draw is HMAC-SHA256, under a key derived
//! from the encryption key with its own label ([`GROUP_NOISE_LABEL`]), of the group's sorted
//! member keys (stable person keys, never published) and their values: a group re-released with
//! the same people and values repeats exactly the same noise, so averaging gains nothing, and a
//! group that changed in any way (a member left, joined, or edited a set) gets a fresh draw that
//! nobody without the key can predict or relate to the old one. Values enter the message so that an
//! edit cannot be differenced out either (same members, same noise, different mean would reveal the
//! edit).
//!
//! **Why it adds no risk.** The noise is post-processing of the released group means. It looks at
//! the raw values again only through HMAC, whose output is indistinguishable from random to anyone
//! without the key; so the released value is the group mean plus a draw independent of everything
//! the attacker can see. Every row of a group still gets the same value, so k-anonymity of the
//! release is unchanged. Values are clamped to the plausible range of their column and rounded to
//! the published step, both post-processing.
//!
//! **Size.** `σ_c = scale × SD_c`, with `SD_c` the column's standard deviation in the eligible
//! data: the scale is a fraction of the spread, the same for every measurement. `publish` takes
//! it from `[defences] group_noise_sd` (0.05 by default; the measurements behind that choice are
//! in `BENCHMARKS.md`, *Attacks*) and records it in `report.json` ([`GroupNoiseParameters`]).
//!
//! **Key.** [`group_noise_key`]: from a source's encryption key, the subkey under
//! [`GROUP_NOISE_LABEL`]; from a source without one (a CSV table), a key drawn once from the
//! operating system's generator and kept in the data holder's private ledger
//! ([`crate::ledger::Ledger::group_noise_key`]), so it outlives the release and appears nowhere
//! else. Without either, the noise is refused: a key that changed with every release would give
//! a re-released group a fresh draw, and averaging re-releases would wash the noise out. The key
//! does not depend on `--seed`, which is published.

use hmac::{Hmac, Mac};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use sha2::Sha256;
use zeroize::Zeroizing;

use rayon::prelude::*;

use super::microaggregation::{round_to, Microaggregated, ReleaseMethod};
use crate::release::report::GroupNoiseParameters;
use crate::table::MeasurementTable;

/// Label of the key derivation for the group noise; a new label means a new key.
pub const GROUP_NOISE_LABEL: &str = "anonpub/group-noise/v1";

/// The keyed noise of one release configuration.
pub struct GroupNoise {
    key: Zeroizing<[u8; 32]>,
    /// Standard deviation of the noise per column, in the column's unit.
    sigma: Vec<f64>,
}

/// One member of a group as the noise sees it: a stable person key and the values the group
/// mean was taken over.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// Stable across releases (the user id in `publish`), never published.
    pub person_key: u64,
    /// The member's record, every column.
    pub values: &'a [f64],
}

impl GroupNoise {
    /// Noise of `scale` standard deviations (`sd`, one per column) under `key`.
    pub fn new(key: Zeroizing<[u8; 32]>, scale: f64, sd: &[f64]) -> Self {
        assert!(
            scale.is_finite() && scale >= 0.0,
            "scale is checked by the config"
        );
        GroupNoise {
            key,
            sigma: sd.iter().map(|s| scale * s).collect(),
        }
    }

    /// The noise of a group, one value per column: a keyed function of its sorted members.
    pub fn draw<'a>(&self, members: &mut [Member<'a>]) -> Vec<f64> {
        members.sort_by(|a, b| {
            let bits = |values: &'a [f64]| values.iter().map(|v| v.to_bits());
            a.person_key
                .cmp(&b.person_key)
                .then_with(|| bits(a.values).cmp(bits(b.values)))
        });
        // The message is built whole and hashed in one call: per-value calls into the MAC cost
        // more than the hashing itself on a million rows.
        let width = members.first().map_or(0, |m| m.values.len());
        let mut message = Vec::with_capacity(8 + members.len() * 8 * (1 + width));
        message.extend_from_slice(&(members.len() as u64).to_le_bytes());
        for member in members.iter() {
            message.extend_from_slice(&member.person_key.to_le_bytes());
            for value in member.values {
                // NaN in one canonical form, so a missing value hashes the same however stored.
                let bits = if value.is_nan() {
                    u64::MAX
                } else {
                    value.to_bits()
                };
                message.extend_from_slice(&bits.to_le_bytes());
            }
        }
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_ref())
            .expect("HMAC takes keys of any length");
        mac.update(&message);
        let seed: [u8; 32] = mac.finalize().into_bytes().into();
        let mut rng = ChaCha20Rng::from_seed(seed);
        // One draw per column, present or not, so a column's draw does not depend on the others.
        self.sigma
            .iter()
            .map(|s| s * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng))
            .collect()
    }

    /// Adds the group's noise to a released row (NaN stays NaN), clamps each value to its
    /// plausible range and rounds it to the published step.
    ///
    /// A row that publishes `d` of the `D` columns gets the noise scaled by `√(D / d)`: every
    /// row carries the same total noise, `scale² · D` in squared standard deviations, however
    /// few values it publishes. An attacker has "rebuilt" a set when every published value is
    /// close (`risk::recovery`), and the chance of that by luck grows as `d` shrinks: with the
    /// same noise per value, sets of four girths came back from differencing two releases in
    /// 2–7 % of targets on an independently generated database (`scripts/independent_db.py`)
    /// while full sets never did. All rows of a group share their coverage pattern, so they stay
    /// identical.
    pub fn perturb(
        &self,
        row: &mut [f64],
        noise: &[f64],
        plausible: &[[f64; 2]],
        rounding: &[f64],
    ) {
        let published = row.iter().filter(|v| !v.is_nan()).count().max(1);
        let spread = (row.len() as f64 / published as f64).sqrt();
        for (c, value) in row.iter_mut().enumerate() {
            if !value.is_nan() {
                let [low, high] = plausible[c];
                // Rounding a value inside the range can step just outside it; the step inward
                // is taken instead.
                let noisy = round_to((*value + spread * noise[c]).clamp(low, high), rounding[c]);
                *value = if noisy > high {
                    noisy - rounding[c]
                } else if noisy < low {
                    noisy + rounding[c]
                } else {
                    noisy
                };
            }
        }
    }
}

/// Where a release's rows came from, for [`GroupNoise::apply`].
#[derive(Debug, Clone, Copy)]
pub struct Membership<'a> {
    /// The table record each released row was made from.
    pub source: &'a [usize],
    /// The group of each released row.
    pub group: &'a [usize],
}

/// What [`GroupNoise::apply`] needs of the columns.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a> {
    /// Closed plausible range of each column; noisy values are clamped into it.
    pub plausible: &'a [[f64; 2]],
    /// Published step of each column (1 mm, 0.5°).
    pub rounding: &'a [f64],
}

impl GroupNoise {
    /// Perturbs every released row (row-major `values`, as wide as `table`) with its group's
    /// noise; `person_key` gives the stable key of a table person number. The rows of a group
    /// stay identical.
    pub fn apply(
        &self,
        table: &MeasurementTable,
        values: &mut [f64],
        membership: Membership<'_>,
        person_key: &(dyn Fn(u32) -> u64 + Sync),
        columns: Columns<'_>,
    ) {
        let width = table.width();
        let groups = membership.group.iter().max().map_or(0, |g| g + 1);
        let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); groups];
        for (row, &group) in membership.group.iter().enumerate() {
            rows_of[group].push(row);
        }
        let noise: Vec<Vec<f64>> = rows_of
            .par_iter()
            .map(|rows| {
                let mut members: Vec<Member<'_>> = rows
                    .iter()
                    .map(|&row| {
                        let record = membership.source[row];
                        Member {
                            person_key: person_key(table.person(record)),
                            values: table.row(record),
                        }
                    })
                    .collect();
                self.draw(&mut members)
            })
            .collect();
        values
            .par_chunks_mut(width)
            .zip(membership.group.par_iter())
            .for_each(|(released, &group)| {
                self.perturb(released, &noise[group], columns.plausible, columns.rounding);
            });
    }
}

/// Adds the keyed group noise of `scale` standard deviations (of `table`'s columns) to a
/// microaggregated release, as `publish` does after microaggregation; `person_key` gives the
/// stable key of a person number of `table`. Returns what `report.json` states, or `None` (and
/// leaves the release untouched, byte for byte) when `scale` is 0.
pub fn add_group_noise(
    table: &MeasurementTable,
    released: &mut Microaggregated,
    method: &ReleaseMethod,
    scale: f64,
    key: Zeroizing<[u8; 32]>,
    person_key: &(dyn Fn(u32) -> u64 + Sync),
) -> Option<GroupNoiseParameters> {
    if scale == 0.0 {
        return None;
    }
    let sd = crate::risk::recovery::column_sd(table);
    let noise = GroupNoise::new(key, scale, &sd);
    let membership = Membership {
        source: &released.source,
        group: &released.group,
    };
    let columns = Columns {
        plausible: &method.bounds,
        rounding: &method.rounding,
    };
    noise.apply(table, &mut released.values, membership, person_key, columns);
    Some(GroupNoiseParameters {
        scale_sd: scale,
        key_label: GROUP_NOISE_LABEL.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    fn noise(scale: f64) -> GroupNoise {
        GroupNoise::new(Zeroizing::new([7u8; 32]), scale, &[100.0, 10.0])
    }

    fn member(person_key: u64, values: &[f64]) -> Member<'_> {
        Member { person_key, values }
    }

    #[test]
    fn the_same_group_repeats_its_noise_in_any_order() {
        let n = noise(0.1);
        let (a, b) = ([900.0, 35.0], [950.0, f64::NAN]);
        let one = n.draw(&mut [member(1, &a), member(2, &b)]);
        let again = n.draw(&mut [member(2, &b), member(1, &a)]);
        assert_eq!(one, again);
        // A member more, a member less, an edited value or another key: a fresh draw.
        let c = [951.0, f64::NAN];
        assert_ne!(one, n.draw(&mut [member(1, &a)]));
        assert_ne!(
            one,
            n.draw(&mut [member(1, &a), member(2, &b), member(3, &b)])
        );
        assert_ne!(one, n.draw(&mut [member(1, &a), member(2, &c)]));
        let other_key = GroupNoise::new(Zeroizing::new([8u8; 32]), 0.1, &[100.0, 10.0]);
        assert_ne!(one, other_key.draw(&mut [member(1, &a), member(2, &b)]));
    }

    #[test]
    fn noise_has_the_asked_spread() {
        let n = noise(0.1);
        let draws: Vec<Vec<f64>> = (0..4000u64)
            .map(|p| n.draw(&mut [member(p, &[1.0, 1.0])]))
            .collect();
        for (column, expected) in [(0, 10.0), (1, 1.0)] {
            let values: Vec<f64> = draws.iter().map(|d| d[column]).collect();
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                / (values.len() - 1) as f64)
                .sqrt();
            assert!(mean.abs() < 0.1 * expected, "{mean}");
            assert!((sd / expected - 1.0).abs() < 0.05, "{sd}");
        }
        assert_eq!(
            noise(0.0).draw(&mut [member(1, &[1.0, 2.0])]),
            vec![0.0, 0.0]
        );
    }

    #[test]
    fn perturbed_values_stay_plausible_and_rounded() {
        let n = noise(0.1);
        let mut row = [995.0, f64::NAN];
        n.perturb(
            &mut row,
            &[12.4, 3.0],
            &[[500.0, 1000.0], [0.0, 50.0]],
            &[1.0, 0.5],
        );
        assert_eq!(row[0], 1000.0);
        assert!(row[1].is_nan());
        let mut row = [20.2, 20.2];
        n.perturb(
            &mut row,
            &[0.2, 0.1],
            &[[0.0, 50.0], [0.0, 20.3]],
            &[1.0, 0.5],
        );
        assert_eq!(row, [20.0, 20.0]);
    }

    /// `count` people drawn from FreeSewing's size models, one full set each.
    fn sample_people(count: u32) -> (MeasurementTable, crate::measurements::Catalog) {
        use crate::sample::people::{as_typed, draw_body, SizeModels};
        let catalog = crate::measurements::Catalog::freesewing();
        let models = SizeModels::freesewing(&catalog);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut table = MeasurementTable::new(catalog.names().to_vec());
        for person in 0..count {
            let body = draw_body(&models, &catalog, &mut rng);
            table.push(person, &as_typed(&body.values, false, &catalog));
        }
        (table, catalog)
    }

    /// The publish method at k (default config), then the keyed noise.
    fn release_method(
        catalog: &crate::measurements::Catalog,
        sd: &[f64],
        k: usize,
        scale: f64,
    ) -> impl Fn(&MeasurementTable) -> crate::risk::recovery::GroupedRelease {
        use super::super::microaggregation::{microaggregate, ReleaseMethod};
        let defaults = crate::config::ReleaseConfig::default();
        let method = ReleaseMethod::for_catalog(
            catalog,
            k,
            defaults.mdav_exact_limit,
            defaults.min_pattern_people,
        );
        let noise = GroupNoise::new(Zeroizing::new([1u8; 32]), scale, sd);
        move |table: &MeasurementTable| {
            let hidden = crate::observe::Silent;
            let mut released = microaggregate(table, &method, &hidden);
            let membership = Membership {
                source: &released.source,
                group: &released.group,
            };
            let columns = Columns {
                plausible: &method.bounds,
                rounding: &method.rounding,
            };
            noise.apply(
                table,
                &mut released.values,
                membership,
                &|p| u64::from(p),
                columns,
            );
            crate::risk::recovery::GroupedRelease {
                values: released.values,
                source: released.source,
                group: released.group,
            }
        }
    }

    #[test]
    fn keyed_noise_defeats_differencing_of_two_releases() {
        use crate::risk::differencing::{attack_changes, Change};
        use crate::risk::recovery::{Scoring, Tolerance};
        let (table, catalog) = sample_people(400);
        let scoring = Scoring::new(Tolerance::for_catalog(&catalog), &table);
        let plain = release_method(&catalog, &scoring.sd, 5, 0.0);
        let before = attack_changes(&table, &plain, Change::Left, 12, 1, &scoring);
        let noisy = release_method(&catalog, &scoring.sd, 5, 0.05);
        let after = attack_changes(&table, &noisy, Change::Left, 12, 1, &scoring);
        assert_eq!((before.located, after.located), (12, 12));
        let (before, after) = (
            before.median_error_sd.unwrap(),
            after.median_error_sd.unwrap(),
        );
        // Without keyed noise the difference is the leaver up to rounding and the spread
        // restoration's draws (a changed group draws anew); the keyed noise adds its own.
        assert!(before < 0.5, "without noise {before} SD");
        assert!(after > before, "noise leaves only {after} SD");
    }

    #[test]
    fn add_group_noise_moves_values_only_when_on_and_keeps_groups_identical() {
        use super::super::microaggregation::microaggregate;
        let (table, catalog) = sample_people(200);
        let defaults = crate::config::ReleaseConfig::default();
        let method = ReleaseMethod::for_catalog(
            &catalog,
            5,
            defaults.mdav_exact_limit,
            defaults.min_pattern_people,
        );
        let hidden = crate::observe::Silent;
        let plain = microaggregate(&table, &method, &hidden);
        let key = || Zeroizing::new([3u8; 32]);
        let mut off = microaggregate(&table, &method, &hidden);
        assert_eq!(
            add_group_noise(&table, &mut off, &method, 0.0, key(), &|p| u64::from(p)),
            None
        );
        assert_eq!(
            plain.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            off.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let mut on = microaggregate(&table, &method, &hidden);
        let parameters =
            add_group_noise(&table, &mut on, &method, 0.05, key(), &|p| u64::from(p)).unwrap();
        assert_eq!(parameters.scale_sd, 0.05);
        assert_eq!(parameters.key_label, GROUP_NOISE_LABEL);
        let width = table.width();
        let moved = (0..on.rows())
            .filter(|&r| {
                !crate::risk::recovery::same_row(
                    &on.values[r * width..(r + 1) * width],
                    &plain.values[r * width..(r + 1) * width],
                )
            })
            .count();
        assert!(moved > on.rows() / 2, "{moved} of {} rows moved", on.rows());
        let mut first_row: HashMap<usize, usize> = HashMap::new();
        for r in 0..on.rows() {
            let first = *first_row.entry(on.group[r]).or_insert(r);
            assert!(crate::risk::recovery::same_row(
                &on.values[r * width..(r + 1) * width],
                &on.values[first * width..(first + 1) * width]
            ));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Independent check of k-anonymity after the noise: every distinct released row is the
        /// row of at least k distinct people, counted here from the rows and person numbers only.
        #[test]
        fn noise_keeps_every_released_row_shared_by_k_people(
            k in 2usize..6,
            people in 12u32..60,
            scale in 0.0f64..0.5,
        ) {
            let (table, catalog) = sample_people(people);
            let sd = crate::risk::recovery::column_sd(&table);
            let release = release_method(&catalog, &sd, k, scale)(&table);
            let width = table.width();
            let mut people_of: HashMap<Vec<u64>, HashSet<u32>> = HashMap::new();
            for (row, &record) in release.source.iter().enumerate() {
                let bits = release.values[row * width..(row + 1) * width]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                people_of.entry(bits).or_default().insert(table.person(record));
            }
            prop_assert!(people_of.values().all(|p| p.len() >= k));
        }
    }
}
