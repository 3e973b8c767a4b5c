//! What the rebuilding attacks ([`super::differencing`], [`super::known_members`],
//! [`super::fake_accounts`]) share: the release method they re-run, and how a rebuilt person is
//! scored.
//!
//! These attacks do not link a person to a row, as [`super::linkage`] does: they rebuild a
//! person's measurements from released group means and something else the attacker knows (a
//! second release, public sets, planted accounts). Each is simulated by the data holder on the
//! private data, so its figures go into the internal report only.
//!
//! **Recovered.** A target is *recovered* when every measurement it has in the release comes back
//! within 2 % of the true value or an absolute floor, whichever is larger (5 mm, 1° for
//! `shoulderSlope`: finer than people measure themselves, so such an estimate is as good as the
//! person's own tape). The **median error** is taken over every rebuilt value of every target
//! the attack produced an estimate for, in units of the column's standard deviation in the
//! eligible data, so a 1 SD error on a wrist and on a chest weigh the same.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use crate::fast_hash::FastBuildHasher;
use crate::measurements::Catalog;
use crate::table::MeasurementTable;

/// A release as the data holder sees it: the published rows, and the ground truth of where each
/// came from (never published).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupedRelease {
    /// Released rows, row-major, as wide as the input table; NaN = not published.
    pub values: Vec<f64>,
    /// The input record each released row was made from.
    pub source: Vec<usize>,
    /// The group each released row belongs to; rows of one group are identical.
    pub group: Vec<usize>,
}

impl GroupedRelease {
    /// The release as borrowed rows, for the attacks that only read it.
    pub fn rows(&self) -> super::linkage::ReleasedRows<'_> {
        super::linkage::ReleasedRows {
            values: &self.values,
            source: &self.source,
            group: &self.group,
        }
    }

    /// Released row `index` of a release `width` columns wide.
    pub fn row(&self, index: usize, width: usize) -> &[f64] {
        &self.values[index * width..(index + 1) * width]
    }
}

/// The release method the attacks re-run on tables with a person removed, added or planted.
/// Any `Fn(&MeasurementTable) -> GroupedRelease` is one, so the same attack measures today's
/// method and any defended one.
pub trait MethodUnderAttack: Sync {
    /// The release of `table`, with its ground truth.
    fn release(&self, table: &MeasurementTable) -> GroupedRelease;
}

impl<F: Fn(&MeasurementTable) -> GroupedRelease + Sync> MethodUnderAttack for F {
    fn release(&self, table: &MeasurementTable) -> GroupedRelease {
        self(table)
    }
}

/// How close a rebuilt value must be to count as recovered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tolerance {
    /// Share of the true value.
    pub relative: f64,
    /// Per column, in the column's unit.
    pub absolute: Vec<f64>,
}

/// The relative part of the tolerance: a value rebuilt within 2 % of itself is rebuilt.
pub const RELATIVE_TOLERANCE: f64 = 0.02;

impl Tolerance {
    /// 2 % of the value or the column's absolute floor, whichever is larger. The floor is the
    /// schema's `attack_tolerance` (FreeSewing's: 5 mm for lengths and girths, 1° for
    /// `shoulderSlope`, finer than people measure themselves), else the column's rounding step:
    /// a floor is a quantity in the column's own unit, so none is assumed across units.
    pub fn for_catalog(catalog: &Catalog) -> Self {
        Tolerance {
            relative: RELATIVE_TOLERANCE,
            absolute: (0..catalog.len())
                .map(|i| catalog.attack_tolerance(i))
                .collect(),
        }
    }

    fn allows(&self, column: usize, truth: f64, estimate: f64) -> bool {
        (estimate - truth).abs() <= (self.relative * truth.abs()).max(self.absolute[column])
    }
}

/// Scores rebuilt records against the truth.
#[derive(Debug, Clone)]
pub struct Scoring {
    /// What counts as recovered.
    pub tolerance: Tolerance,
    /// Standard deviation of each column in the eligible data (1 where it is constant or empty).
    pub sd: Vec<f64>,
}

impl Scoring {
    /// The tolerance and the column spreads of `table`.
    pub fn new(tolerance: Tolerance, table: &MeasurementTable) -> Self {
        assert_eq!(
            tolerance.absolute.len(),
            table.width(),
            "one floor per column"
        );
        Scoring {
            tolerance,
            sd: column_sd(table),
        }
    }

    /// Compares an estimate with the truth on the columns the record was published with.
    pub fn judge(&self, truth: &[f64], estimate: &[f64], columns: &[usize]) -> Rebuilt {
        let mut rebuilt = Rebuilt {
            recovered: !columns.is_empty(),
            errors_sd: Vec::with_capacity(columns.len()),
        };
        for &c in columns {
            let ok = estimate[c].is_finite() && self.tolerance.allows(c, truth[c], estimate[c]);
            rebuilt.recovered &= ok;
            rebuilt
                .errors_sd
                .push((estimate[c] - truth[c]).abs() / self.sd[c]);
        }
        rebuilt
    }
}

/// One rebuilt record, judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Rebuilt {
    /// Every published measurement within the tolerance.
    pub recovered: bool,
    /// Error of each rebuilt value, in standard deviations (infinite where no number came back).
    pub errors_sd: Vec<f64>,
}

/// The figures of one attack, for the internal report and the publish gates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecoveryFigures {
    /// Targets attacked.
    pub targets: usize,
    /// Targets for which the attack produced an estimate.
    pub located: usize,
    /// Targets recovered: every published measurement within the tolerance.
    pub recovered: usize,
    /// `recovered / targets` (0 without targets).
    pub recovered_share: f64,
    /// Median error of the rebuilt values of the located targets, in standard deviations
    /// (`None` when nothing was located).
    pub median_error_sd: Option<f64>,
}

/// Adds up targets into [`RecoveryFigures`].
#[derive(Debug, Default)]
pub struct Tally {
    targets: usize,
    located: usize,
    recovered: usize,
    errors_sd: Vec<f64>,
}

impl Tally {
    /// Adds one target: the judged estimates of its published records, `None` for a record the
    /// attack produced nothing for. A target is located when any record was estimated, and
    /// recovered when every record was.
    pub fn add(&mut self, records: Vec<Option<Rebuilt>>) {
        self.targets += 1;
        if records.iter().any(Option::is_some) {
            self.located += 1;
        }
        if !records.is_empty()
            && records
                .iter()
                .all(|r| r.as_ref().is_some_and(|r| r.recovered))
        {
            self.recovered += 1;
        }
        self.errors_sd
            .extend(records.into_iter().flatten().flat_map(|r| r.errors_sd));
    }

    /// The figures of these targets, each given as for [`Tally::add`].
    pub fn figures_of(targets: Vec<Vec<Option<Rebuilt>>>) -> RecoveryFigures {
        let mut tally = Tally::default();
        for records in targets {
            tally.add(records);
        }
        tally.figures()
    }

    /// The figures of every target added.
    pub fn figures(mut self) -> RecoveryFigures {
        self.errors_sd.sort_unstable_by(f64::total_cmp);
        RecoveryFigures {
            targets: self.targets,
            located: self.located,
            recovered: self.recovered,
            recovered_share: share(self.recovered, self.targets),
            median_error_sd: median_of_sorted(&self.errors_sd),
        }
    }
}

/// `part / whole`, 0 when `whole` is 0.
pub fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn median_of_sorted(values: &[f64]) -> Option<f64> {
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Sample standard deviation of each column over its present values; 1 where it is not positive.
pub fn column_sd(table: &MeasurementTable) -> Vec<f64> {
    // Row by row, one accumulator per column: each column's values are still added in row
    // order (the same sums as a pass per column), but the table is read twice instead of
    // twice per column.
    let width = table.width();
    let (mut sum, mut count) = (vec![0.0; width], vec![0usize; width]);
    for r in 0..table.len() {
        for (c, &v) in table.row(r).iter().enumerate() {
            if !v.is_nan() {
                sum[c] += v;
                count[c] += 1;
            }
        }
    }
    let mean: Vec<f64> = sum.iter().zip(&count).map(|(s, &n)| s / n as f64).collect();
    let mut squares = vec![0.0; width];
    for r in 0..table.len() {
        for (c, &v) in table.row(r).iter().enumerate() {
            if !v.is_nan() {
                squares[c] += (v - mean[c]).powi(2);
            }
        }
    }
    squares
        .iter()
        .zip(&count)
        .map(|(squares, &n)| {
            let variance = squares / (n as f64 - 1.0);
            if variance > 0.0 {
                variance.sqrt()
            } else {
                1.0
            }
        })
        .collect()
}

/// Positions of the present (non-NaN) values of a released row: the columns it publishes.
pub fn published_columns(row: &[f64]) -> Vec<usize> {
    (0..row.len()).filter(|&c| !row[c].is_nan()).collect()
}

/// Whether two released rows are identical, missing values included.
pub fn same_row(a: &[f64], b: &[f64]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

/// The table without the rows of the given people; person numbers are kept, so the people who
/// stay are the same people in both tables.
pub fn without_people(table: &MeasurementTable, people: &[u32]) -> MeasurementTable {
    let mut kept = MeasurementTable::new(table.columns().to_vec());
    for r in 0..table.len() {
        if !people.contains(&table.person(r)) {
            kept.push(table.person(r), table.row(r));
        }
    }
    kept
}

/// The table with only the rows of the given people (person numbers kept).
pub fn only_people(table: &MeasurementTable, people: &[u32]) -> MeasurementTable {
    let keep: std::collections::HashSet<u32, FastBuildHasher> = people.iter().copied().collect();
    let mut kept = MeasurementTable::new(table.columns().to_vec());
    for r in 0..table.len() {
        if keep.contains(&table.person(r)) {
            kept.push(table.person(r), table.row(r));
        }
    }
    kept
}

/// Up to `count` distinct people of the table, drawn uniformly without replacement from the
/// given seed and stream, in ascending order.
pub fn sample_people(table: &MeasurementTable, count: usize, seed: u64, stream: u64) -> Vec<u32> {
    let mut people = table.persons().to_vec();
    people.sort_unstable();
    people.dedup();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let mut chosen: Vec<u32> =
        rand::seq::index::sample(&mut rng, people.len(), count.min(people.len()))
            .into_iter()
            .map(|i| people[i])
            .collect();
    chosen.sort_unstable();
    chosen
}

/// One greater than the largest person number of the table: the first number free for a new
/// person.
pub fn next_person(table: &MeasurementTable) -> u32 {
    table.persons().iter().max().map_or(0, |p| p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoring() -> Scoring {
        Scoring {
            tolerance: Tolerance {
                relative: 0.02,
                absolute: vec![5.0, 1.0],
            },
            sd: vec![100.0, 2.0],
        }
    }

    #[test]
    fn two_percent_or_the_floor_whichever_is_larger() {
        let s = scoring();
        // 2 % of 1000 mm is 20 mm; the floor of 5 mm wins only for small values.
        assert!(s.judge(&[1000.0, 20.0], &[1019.0, 20.9], &[0, 1]).recovered);
        assert!(!s.judge(&[1000.0, 20.0], &[1021.0, 20.0], &[0, 1]).recovered);
        assert!(s.judge(&[100.0, 20.0], &[104.9, 20.0], &[0]).recovered);
        assert!(!s.judge(&[100.0, 20.0], &[100.0, 21.2], &[0, 1]).recovered);
        // Only the published columns count.
        assert!(s.judge(&[100.0, 20.0], &[100.0, 99.0], &[0]).recovered);
        let rebuilt = s.judge(&[1000.0, 20.0], &[1050.0, 21.0], &[0, 1]);
        assert_eq!(rebuilt.errors_sd, vec![0.5, 0.5]);
        assert!(!s.judge(&[1000.0, 20.0], &[f64::NAN, 20.0], &[0]).recovered);
    }

    #[test]
    fn a_target_is_recovered_only_when_every_record_is() {
        let s = scoring();
        let good = || Some(s.judge(&[1000.0, 20.0], &[1000.0, 20.0], &[0, 1]));
        let bad = || Some(s.judge(&[1000.0, 20.0], &[1200.0, 20.0], &[0, 1]));
        let mut tally = Tally::default();
        tally.add(vec![good()]);
        tally.add(vec![good(), None]);
        tally.add(vec![bad()]);
        tally.add(vec![None]);
        let figures = tally.figures();
        assert_eq!(
            (figures.targets, figures.located, figures.recovered),
            (4, 3, 1)
        );
        assert_eq!(figures.recovered_share, 0.25);
        // Errors: 0, 0, 0, 0, 2, 0 → median 0.
        assert_eq!(figures.median_error_sd, Some(0.0));
        assert_eq!(Tally::default().figures().median_error_sd, None);
    }

    #[test]
    fn spreads_and_people() {
        let mut table = MeasurementTable::new(vec!["a".into(), "b".into()]);
        table.push(3, &[1.0, 5.0]);
        table.push(7, &[3.0, f64::NAN]);
        table.push(3, &[2.0, 5.0]);
        assert_eq!(column_sd(&table), vec![1.0, 1.0]);
        let rest = without_people(&table, &[3]);
        assert_eq!((rest.len(), rest.person(0)), (1, 7));
        let three = only_people(&table, &[3]);
        assert_eq!((three.len(), three.person(1)), (2, 3));
        assert_eq!(next_person(&table), 8);
        assert_eq!(published_columns(&[1.0, f64::NAN, 2.0]), vec![0, 2]);
        assert!(same_row(&[1.0, f64::NAN], &[1.0, f64::NAN]));
        assert!(!same_row(&[1.0, f64::NAN], &[1.0, 2.0]));
        let drawn = sample_people(&table, 5, 1, 0);
        assert_eq!(drawn, vec![3, 7]);
        let mut many = MeasurementTable::new(vec!["a".into()]);
        for p in 0..100 {
            many.push(p, &[1.0]);
        }
        let some = sample_people(&many, 10, 1, 0);
        assert_eq!(some.len(), 10);
        assert!(some.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(some, sample_people(&many, 10, 1, 0));
        assert_ne!(some, sample_people(&many, 10, 1, 1));
    }
}
