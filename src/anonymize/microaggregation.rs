//! The default release method ([`microaggregate`]): coverage planning into patterns of at least
//! `min_pattern_people` people, then MDAV within each coverage pattern, then each group's mean
//! given back the spread that averaging removed, by a draw of the within-group covariance pooled
//! across patterns ([`super::variance`]), then the rows of the patterns too small to carry their
//! own covariance moved jointly until every column pair's pairwise-complete correlation is the
//! raw one of the same people ([`super::correlation_fit`]), then every column calibrated onto the
//! distribution of its eligible values by bands of adjacent values in the groups' order
//! ([`super::calibrate`]), then
//! rounded to the published precision.
//!
//! **Guarantee.** Every released row is identical (same pattern, same rounded values) to the rows
//! of at least `k` distinct people: the k-anonymity of microaggregated data (Domingo-Ferrer &
//! Torra 2005), counted over people. Every step after MDAV maps a group's mean to one released
//! row for all its members, so it cannot break a group apart. Rows whose coverage cannot be
//! shared by k people are suppressed (see [`super::coverage`]).
//!
//! **Why MDAV on standardized values.** Measurements have different spreads (a chest varies by
//! 30 cm, a wrist by 5); standardizing by the column's standard deviation makes every measurement
//! count equally in the distance that forms groups.
//!
//! **Per-group constraints** (l-diversity, t-closeness; [`microaggregate_constrained`]). MDAV forms
//! groups by distance alone; a group failing a constraint is merged with the group of the same
//! coverage pattern whose centroid is nearest, until every group passes. A merged group still has
//! ≥ k people. Every merge removes a group, so merging ends: at worst the whole pattern is one
//! group, and if even that fails its records are suppressed (counted in
//! [`Microaggregated::constraint_suppressed`]).

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::calibrate::calibrate_marginals;
use super::correlation_fit::{fit_correlations, FitPattern};
use super::coverage::{plan_coverage, CoveragePlan};
use super::global::ClassConstraint;
use super::mdav::{Mdav, Points};
use super::variance::{exact_covariance, restore, PatternMoments, PooledWithin};
use crate::measurements::Catalog;
use crate::observe::Progress;
use crate::table::MeasurementTable;

/// The parameters of the default publish method.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseMethod {
    /// Distinct people per group.
    pub k: usize,
    /// Exact MDAV runs on cells of at most this many records.
    pub exact_limit: usize,
    /// Coverage planning aims at patterns of at least this many people (see [`super::coverage`]).
    pub min_pattern_people: usize,
    /// Coverage planning suppresses a set it would publish with fewer measurements than this.
    pub min_published: usize,
    /// Per column, the published rounding step.
    pub rounding: Vec<f64>,
    /// Per column, the plausible range that released values are kept within: calibrated values
    /// are means of raw values and stay inside it; the keyed group noise is clamped to it.
    pub bounds: Vec<[f64; 2]>,
}

/// Default of [`ReleaseMethod::min_published`] (`min_published_measurements` in the release
/// config): see [`super::coverage`] for why a set of one or two values is not published.
pub const DEFAULT_MIN_PUBLISHED: usize = 3;

impl ReleaseMethod {
    /// The same method suppressing sets published with fewer than `min_published` measurements
    /// (at most every column of the catalogue).
    pub fn with_min_published(self, min_published: usize) -> Self {
        let columns = self.bounds.len();
        ReleaseMethod {
            min_published: min_published.clamp(1, columns.max(1)),
            ..self
        }
    }

    /// The method for a catalogue's columns, with its rounding steps and plausible ranges.
    pub fn for_catalog(
        catalog: &Catalog,
        k: usize,
        exact_limit: usize,
        min_pattern_people: usize,
    ) -> Self {
        ReleaseMethod {
            k,
            exact_limit,
            min_pattern_people,
            min_published: DEFAULT_MIN_PUBLISHED.min(catalog.len()),
            rounding: (0..catalog.len()).map(|i| catalog.rounding(i)).collect(),
            bounds: (0..catalog.len()).map(|i| catalog.plausible(i)).collect(),
        }
    }
}

/// The microaggregated release before de-identification.
#[derive(Debug, Clone)]
pub struct Microaggregated {
    /// Released rows (row-major, NaN = not published), one per non-suppressed input record.
    pub values: Vec<f64>,
    /// Columns per row.
    pub width: usize,
    /// The input record each released row was made from. Internal ground truth for the linkage
    /// attack and utility figures; never published (`deidentify` sees only `values`).
    pub source: Vec<usize>,
    /// The group (0-based, `0..groups`) each released row belongs to; internal like `source`.
    pub group: Vec<usize>,
    /// Number of groups formed.
    pub groups: usize,
    /// People in the smallest group (the achieved k).
    pub smallest_group_people: usize,
    /// The coverage pattern of every record after planning (merged, coarsened, suppressed).
    pub coverage: CoveragePlan,
    /// Records suppressed because no group of their coverage pattern met the constraints.
    pub constraint_suppressed: usize,
}

impl Microaggregated {
    /// Number of released rows.
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }
}

/// The default publish method: `table` microaggregated in groups of `method.k` people with the
/// spread restored. `progress` advances by one per record placed in a group.
pub fn microaggregate(
    table: &MeasurementTable,
    method: &ReleaseMethod,
    progress: &dyn Progress,
) -> Microaggregated {
    let width = table.width();
    assert_eq!(method.bounds.len(), width, "one plausible range per column");
    let coverage = plan_coverage(
        table,
        method.k,
        method.min_pattern_people,
        method.min_published,
    );
    let release = Release::Restored;
    aggregate(
        table,
        coverage,
        method.k,
        method.exact_limit,
        &method.rounding,
        release,
        progress,
    )
}

/// Plain MDAV microaggregation (group means, no spread restoration, patterns of k people), with
/// groups merged until every group is accepted by every constraint; constraints see groups as row
/// indices of `table`. The method of `anonpub anonymize --method mdav`.
pub fn microaggregate_constrained(
    table: &MeasurementTable,
    k: usize,
    exact_limit: usize,
    rounding: &[f64],
    constraints: &[&dyn ClassConstraint],
    progress: &dyn Progress,
) -> Microaggregated {
    let coverage = plan_coverage(table, k, k, 1);
    let release = Release::Means { constraints };
    aggregate(table, coverage, k, exact_limit, rounding, release, progress)
}

/// What a group releases.
#[derive(Clone, Copy)]
enum Release<'a> {
    /// Its mean, after groups failing a constraint were merged.
    Means {
        constraints: &'a [&'a dyn ClassConstraint],
    },
    /// Its mean after the pattern's spread is restored and its columns calibrated (a band mean of
    /// raw values, so within the plausible ranges without clamping).
    Restored,
}

/// MDAV within every pattern of `coverage`, then each group's released row.
fn aggregate(
    table: &MeasurementTable,
    coverage: CoveragePlan,
    k: usize,
    exact_limit: usize,
    rounding: &[f64],
    release_kind: Release<'_>,
    progress: &dyn Progress,
) -> Microaggregated {
    let width = table.width();
    assert_eq!(rounding.len(), width, "one rounding step per column");
    let (means, scales) = column_scales(table);
    let (means, scales) = (&means, &scales);

    let mut by_pattern: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, pattern) in coverage.pattern.iter().enumerate() {
        if let Some(p) = pattern {
            by_pattern.entry(*p).or_default().push(i);
        }
    }
    let mdav = Mdav::new(k, exact_limit);
    let formed: Vec<FormedPattern> = by_pattern
        .into_par_iter()
        .map(|(pattern, records)| {
            let columns: Vec<usize> = (0..width).filter(|c| pattern & (1 << c) != 0).collect();
            let coordinates: Vec<f64> = records
                .iter()
                .flat_map(|&r| {
                    columns
                        .iter()
                        .map(move |&c| (table.row(r)[c] - means[c]) / scales[c])
                })
                .collect();
            let persons: Vec<u32> = records.iter().map(|&r| table.person(r)).collect();
            let points = Points {
                coordinates: &coordinates,
                dim: columns.len(),
                persons: &persons,
            };
            let mut groups = mdav.groups(points);
            let mut suppressed = 0;
            let mut moments = None;
            match release_kind {
                Release::Means { constraints } if !constraints.is_empty() => {
                    (groups, suppressed) =
                        merge_until_accepted(groups, points, &records, constraints);
                }
                Release::Means { .. } => {}
                Release::Restored => {
                    moments = Some(PatternMoments::of(&coordinates, columns.clone(), &groups));
                }
            }
            FormedPattern {
                records,
                columns,
                persons,
                groups,
                suppressed,
                moments,
            }
        })
        .collect();
    let pooled = match release_kind {
        Release::Restored => Some(PooledWithin::of(
            formed.iter().filter_map(|f| f.moments.as_ref()),
            width,
        )),
        Release::Means { .. } => None,
    };
    let mut restored: Vec<Option<Vec<f64>>> = formed
        .par_iter()
        .map(|formed| match (&formed.moments, &pooled) {
            (Some(moments), Some(pooled)) => Some(restore(moments, pooled)),
            _ => None,
        })
        .collect();
    if let Release::Restored = release_kind {
        let mut fit: Vec<FitPattern<'_>> = formed
            .iter()
            .zip(&mut restored)
            .filter_map(|(formed, rows)| {
                let moments = formed.moments.as_ref()?;
                Some(FitPattern {
                    fixed: exact_covariance(moments),
                    moments,
                    rows: rows.as_mut()?.as_mut_slice(),
                })
            })
            .collect();
        fit_correlations(&mut fit, width);
    }
    let released: Vec<PatternRelease> = formed
        .into_par_iter()
        .zip(restored)
        .map(|(formed, restored)| {
            let FormedPattern {
                records,
                columns,
                persons,
                groups,
                suppressed,
                moments: _,
            } = formed;
            let mut release = PatternRelease {
                values: Vec::with_capacity(records.len() * width),
                source: Vec::with_capacity(records.len()),
                group: Vec::with_capacity(records.len()),
                groups: groups.len(),
                smallest: usize::MAX,
                suppressed,
            };
            for (index, group) in groups.iter().enumerate() {
                let mut people: Vec<u32> = group.iter().map(|&g| persons[g]).collect();
                people.sort_unstable();
                people.dedup();
                release.smallest = release.smallest.min(people.len());
                let mut row = vec![f64::NAN; width];
                for (position, &c) in columns.iter().enumerate() {
                    let value = match restored {
                        Some(ref adjusted) => {
                            adjusted[index * columns.len() + position] * scales[c] + means[c]
                        }
                        None => {
                            group.iter().map(|&g| table.row(records[g])[c]).sum::<f64>()
                                / group.len() as f64
                        }
                    };
                    row[c] = value;
                }
                for &member in group {
                    release.values.extend_from_slice(&row);
                    release.source.push(records[member]);
                    release.group.push(index);
                }
            }
            progress.advance(records.len() as u64);
            release
        })
        .collect();

    let mut result = Microaggregated {
        values: Vec::with_capacity(table.len() * width),
        width,
        source: Vec::with_capacity(table.len()),
        group: Vec::with_capacity(table.len()),
        groups: 0,
        smallest_group_people: 0,
        coverage,
        constraint_suppressed: 0,
    };
    let mut smallest = usize::MAX;
    for release in released {
        result.values.extend(release.values);
        result.source.extend(release.source);
        let offset = result.groups;
        result
            .group
            .extend(release.group.into_iter().map(|g| g + offset));
        result.groups += release.groups;
        result.constraint_suppressed += release.suppressed;
        smallest = smallest.min(release.smallest);
    }
    result.smallest_group_people = if result.groups == 0 { 0 } else { smallest };
    if let Release::Restored = release_kind {
        calibrate_marginals(
            &mut result.values,
            width,
            &result.group,
            result.groups,
            table.values(),
        );
    }
    for row in result.values.chunks_exact_mut(width.max(1)) {
        for (value, &step) in row.iter_mut().zip(rounding) {
            if !value.is_nan() {
                *value = round_to(*value, step);
            }
        }
    }
    result
}

/// One coverage pattern after MDAV: its records, columns, people and groups (indices into
/// `records`), and what restoration needs of it.
struct FormedPattern {
    records: Vec<usize>,
    columns: Vec<usize>,
    persons: Vec<u32>,
    groups: Vec<Vec<usize>>,
    suppressed: usize,
    moments: Option<PatternMoments>,
}

/// The released rows of one coverage pattern, groups numbered from 0 within the pattern.
struct PatternRelease {
    values: Vec<f64>,
    source: Vec<usize>,
    group: Vec<usize>,
    groups: usize,
    smallest: usize,
    suppressed: usize,
}

/// Merges each group that a constraint rejects into the group with the nearest centroid, until all
/// groups are accepted; returns the groups and the number of records suppressed because even one
/// group of everything is rejected. Groups hold indices into `points`; `records` maps them to the
/// table rows the constraints see.
fn merge_until_accepted(
    groups: Vec<Vec<usize>>,
    points: Points<'_>,
    records: &[usize],
    constraints: &[&dyn ClassConstraint],
) -> (Vec<Vec<usize>>, usize) {
    let accepted = |group: &[usize]| {
        let rows: Vec<usize> = group.iter().map(|&g| records[g]).collect();
        constraints.iter().all(|c| c.accepts(&rows))
    };
    let centroid = |group: &[usize]| {
        let mut sum = vec![0.0; points.dim];
        for &g in group {
            for (s, x) in sum
                .iter_mut()
                .zip(&points.coordinates[g * points.dim..(g + 1) * points.dim])
            {
                *s += x;
            }
        }
        sum.iter_mut().for_each(|s| *s /= group.len() as f64);
        sum
    };
    let mut groups: Vec<Option<Vec<usize>>> = groups.into_iter().map(Some).collect();
    let mut centroids: Vec<Vec<f64>> = groups.iter().flatten().map(|g| centroid(g)).collect();
    let mut pending: Vec<usize> = (0..groups.len())
        .rev()
        .filter(|&i| !accepted(groups[i].as_deref().expect("all groups present")))
        .collect();
    while let Some(failing) = pending.pop() {
        let Some(group) = groups[failing].take() else {
            continue;
        };
        let nearest = (0..groups.len())
            .filter(|&i| groups[i].is_some())
            .min_by(|&a, &b| {
                let distance = |i: usize| {
                    centroids[i]
                        .iter()
                        .zip(&centroids[failing])
                        .map(|(x, y)| (x - y) * (x - y))
                        .sum::<f64>()
                };
                distance(a).total_cmp(&distance(b)).then(a.cmp(&b))
            });
        let Some(target) = nearest else {
            return (Vec::new(), group.len());
        };
        let merged = groups[target].as_mut().expect("filtered on presence");
        merged.extend(group);
        centroids[target] = centroid(merged);
        if !accepted(merged) && !pending.contains(&target) {
            pending.push(target);
        }
    }
    (groups.into_iter().flatten().collect(), 0)
}

/// Rounds to the nearest multiple of `step` (halves away from zero), without float residue
/// such as 13.500000000000002.
pub fn round_to(value: f64, step: f64) -> f64 {
    let rounded = (value / step).round() * step;
    (rounded * 1e6).round() / 1e6
}

/// Mean and standard deviation of each column over its present values (1 when constant).
fn column_scales(table: &MeasurementTable) -> (Vec<f64>, Vec<f64>) {
    let width = table.width();
    let mut count = vec![0.0; width];
    let mut sum = vec![0.0; width];
    let mut sum_sq = vec![0.0; width];
    for i in 0..table.len() {
        for (c, &v) in table.row(i).iter().enumerate() {
            if !v.is_nan() {
                count[c] += 1.0;
                sum[c] += v;
                sum_sq[c] += v * v;
            }
        }
    }
    let means: Vec<f64> = (0..width)
        .map(|c| {
            if count[c] > 0.0 {
                sum[c] / count[c]
            } else {
                0.0
            }
        })
        .collect();
    let scales = (0..width)
        .map(|c| {
            let variance = if count[c] > 1.0 {
                (sum_sq[c] - count[c] * means[c] * means[c]) / (count[c] - 1.0)
            } else {
                0.0
            };
            if variance > 1e-12 {
                variance.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    (means, scales)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Population variance of the present values of column `c`.
    fn column_variance(values: &[f64], width: usize, c: usize) -> f64 {
        let present: Vec<f64> = values
            .chunks_exact(width)
            .map(|row| row[c])
            .filter(|v| !v.is_nan())
            .collect();
        let mean = present.iter().sum::<f64>() / present.len() as f64;
        present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / present.len() as f64
    }

    /// Within 1 %: the last step releases means of bands of adjacent raw values, which drops
    /// only the small spread inside each band.
    #[test]
    fn the_publish_method_keeps_the_variance_of_every_column() {
        // 300 people on a correlated 3-d cloud with a wobble that groups average away.
        let mut table = MeasurementTable::new(vec!["a".into(), "b".into(), "c".into()]);
        for p in 0..300u32 {
            let size = f64::from(p % 60) - 30.0;
            let wobble = f64::from((p * 37) % 11) - 5.0;
            table.push(
                p,
                &[
                    1000.0 + 3.0 * size + wobble,
                    800.0 + 2.0 * size - wobble,
                    500.0 + wobble,
                ],
            );
        }
        let method = ReleaseMethod {
            k: 5,
            exact_limit: 1000,
            min_pattern_people: 25,
            min_published: 1,
            rounding: vec![0.001; 3],
            bounds: vec![[0.0, 2000.0]; 3],
        };
        let restored = microaggregate(&table, &method, &crate::observe::Silent);
        let plain =
            microaggregate_constrained(&table, 5, 1000, &[0.001; 3], &[], &crate::observe::Silent);
        for c in 0..3 {
            let raw = column_variance(table.values(), 3, c);
            let kept = column_variance(&restored.values, 3, c);
            assert!(
                (kept / raw - 1.0).abs() < 1e-2,
                "column {c}: {kept} vs {raw}"
            );
            assert!(column_variance(&plain.values, 3, c) < raw);
        }
    }

    #[test]
    fn rounding_steps() {
        assert_eq!(round_to(13.26, 0.5), 13.5);
        assert_eq!(round_to(13.24, 0.5), 13.0);
        assert_eq!(round_to(1000.5, 1.0), 1001.0);
        assert_eq!(round_to(999.49, 1.0), 999.0);
    }

    #[test]
    fn released_rows_are_group_means_shared_by_k_people() {
        let mut table = MeasurementTable::new(vec!["a".into(), "b".into()]);
        for p in 0..6u32 {
            table.push(p, &[f64::from(p), 100.0 + f64::from(p)]);
        }
        let result =
            microaggregate_constrained(&table, 3, 100, &[1.0, 1.0], &[], &crate::observe::Silent);
        assert_eq!(result.rows(), 6);
        assert_eq!(result.groups, 2);
        assert_eq!(result.smallest_group_people, 3);
        // Every record is released once, and a group's rows are identical.
        let mut sources = result.source.clone();
        sources.sort_unstable();
        assert_eq!(sources, (0..6).collect::<Vec<_>>());
        for (row, &group) in result.group.iter().enumerate() {
            let first = result.group.iter().position(|&g| g == group).unwrap();
            assert_eq!(
                result.values[row * 2..row * 2 + 2],
                result.values[first * 2..first * 2 + 2]
            );
            // Records 0..3 hold the small values, 3..6 the large ones.
            assert_eq!(result.source[row] < 3, result.source[first] < 3);
        }
        let mut rows: Vec<Vec<f64>> = result.values.chunks(2).map(<[f64]>::to_vec).collect();
        rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
        assert_eq!(rows[0], vec![1.0, 101.0]);
        assert_eq!(rows[5], vec![4.0, 104.0]);
    }
}
