//! A differentially private size chart: n, mean, SD and nine percentiles of key measurements, each
//! with an `_error95` that holds whatever the data's shape, and only the figures that meet the
//! tolerance.
//!
//! **Privacy unit and input.** The unit is the person. The caller passes one [`ChartPerson`] per
//! person: their values of the chart's measurements from *one* set, chosen by [`pick_set`] (the
//! set with the most chart measurements, then the most measurements overall, then the first in the
//! caller's order) — a choice that looks only at that person's own sets, so adding or removing a
//! person changes exactly one input row. Values are clamped to public bounds (the schema's
//! plausible range narrowed to a public window around the reference, [`WINDOW_SDS`]) and rounded to a public grid (1 mm), so every figure's sensitivity is a
//! public constant. Strata are disjoint and each person's stratum depends only on their own
//! values, so strata compose in parallel and each gets the whole ρ (McSherry 2009).
//!
//! **Procedure, per stratum.**
//! 1. `n` of every measurement by the discrete Gaussian mechanism (sensitivity 1), with a fixed
//!    10 % of ρ.
//! 2. *Planning from n alone* ([`plan`]): which figures can meet the tolerance (`tolerance_sd` ×
//!    the measurement's public reference SD) is predicted from the noisy n, the mechanisms'
//!    parameters and the public reference (a normal distribution of the reference SD): nothing
//!    but private outputs and public constants, so the plan is post-processing and may be
//!    published. Figures are taken in the order a size-chart maker needs them (mean and P50 of
//!    every measurement, then P5/P95, SD, P25/P75, P10/P90, P1/P99) while the ρ each needs
//!    fits; the rest of ρ is shared out over the chosen figures in proportion. A figure not
//!    chosen gets no budget and an empty cell. This is the "fewer, better figures" choice, with
//!    the default chart on the four primary dimensions of a size table (see
//!    [`SizeChartConfig::measurements`]): withholding the figures that cannot be accurate gives
//!    their budget to the ones that can.
//! 3. Percentiles, all of one measurement together: a centre `x_q` for each chosen level by the
//!    exponential mechanism over the grid ([`super::quantile`]), then **one** set of noisy counts
//!    (discrete Gaussian, sensitivity 1: the cells are disjoint, so one person changes one count
//!    by one, however many cells there are) of the cells between all the cuts `x_q ± j·h`
//!    (`j` = 0‥[`RINGS`], `h` = [`RING_WIDTH`] × the tolerance) of all levels together. Every
//!    level's bound is read from the same cells (see **Error bars**), so the cells are paid for
//!    once per measurement rather than once per percentile: this is how the tails become
//!    affordable (the valid bound of one tail percentile needed about ρ = 0.003 on its own cells
//!    at 10 000 people; here a further percentile costs its centre and what its few cells add to
//!    the others' sums). The shared
//!    noisy counts are the post-processed "noisy histogram" idea, with the cells placed where the
//!    percentiles are rather than on a fixed grid, which would put tens of noisy cells below P5.
//!    JointExp (Gillenwater et al. 2021) was not used: it gives no error bar that holds whatever
//!    the data, which the cells give. Adaptive composition: the cells depend on the centres,
//!    private outputs.
//! 4. Mean and SD from the sums of `v - c` and `(v - c)²`, with `c` the public reference mean and
//!    the values clamped to the public range: sensitivities `Δ = max(c - lower, upper - c)` and
//!    `Δ²`, by the discrete Gaussian mechanism; mean and SD follow from them and `n`
//!    (post-processing). Clamping to public bounds only, so the sums are unbiased for the exact
//!    figures of the clamped values.
//!
//! **Error bars** (`_error95`). Every bound is derived from the noise's tail alone, by
//! post-processing of private outputs, so it holds with probability ≥ 95 % *whatever the data*.
//! The discrete Gaussian `N_Z(0, σ²)` is σ-subgaussian (Canonne, Kamath & Steinke 2020):
//! `P(|Z| ≥ zσ) ≤ 2·exp(-z²/2)`, so `z = √(2 ln(2m/α))` covers m noisy values at once with
//! probability `1 - α` (union bound).
//! - `n`: ± `z σ_n` with α = 5 %.
//! - mean `c + S/n`: the interval of `S/n` over `S ∈ Ŝ ± zσ_S`, `n ∈ n̂ ± zσ_n` (m = 2).
//! - SD `√(Q/n - (S/n)²)`: interval arithmetic over the three (m = 3).
//! - percentile P_q (the smallest grid value with at least q·n values at or below it): at each
//!   of its own `2·RINGS + 1` cuts y, `T(y) = (1 - q)·F(y) - q·G(y)` (F: people at or below y, G: above) is at least 0
//!   exactly when P_q ≤ y. Its noisy version (from the cells, or from the cells on one side and
//!   the noisy n, whichever has the smaller σ, a choice made from σs that follow from private
//!   outputs) has a known σ, so `T̂ + zσ < 0` proves P_q > y and `T̂ - zσ ≥ 0` proves P_q ≤ y.
//!   A cut can only make a false claim in one direction (the one its exact `T`'s sign allows:
//!   "above" needs the noise below `-zσ`, "at or below" needs it above `zσ`), so the m cuts all
//!   hold with probability `1 - m·exp(-z²/2)`: the one-sided `z = √(2 ln(m/α))`. The
//!   published value is where `T̂` crosses zero between cuts (else `x`), moved into the proven
//!   interval and, where the interval allows, within the tolerance of both its ends; its error
//!   is the larger distance to the interval's ends. A percentile whose interval is not closed within the rings is withheld.
//!   Neither the exponential mechanism's rank error nor any density enters the bound.
//!
//! A figure whose bound exceeds the tolerance is withheld (post-processing), as is a pair of
//! neighbouring percentiles that came out in the wrong order (rather than sorted: sorting would
//! make each bound depend on its neighbours' too). Every spend goes through the [`Accountant`],
//! which refuses an overspend, and is listed in the report with its mechanism.

use std::collections::BTreeMap;

use rand::{CryptoRng, RngCore};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::budget::{rho_for, Accountant, Mechanism};
pub use super::config::{SizeChartConfig, Strata};
use super::exact::Fraction;
use super::gaussian::DiscreteGaussian;
use super::quantile::{exponential_quantile, Grid};
use crate::error::{Error, Result};
use crate::measurements::Catalog;
pub use crate::release::sizechart::{ChartBudget, ChartMeasurement, FigureBudget};

/// The percentiles of the chart, in order.
pub const PERCENTILES: [u32; 9] = [1, 5, 10, 25, 50, 75, 90, 95, 99];

/// Rings of cells each side of a percentile's centre (see the module documentation): more rings
/// let the centre land further off the percentile, but each adds a cut to the union bound and a
/// cell to the sums of the other percentiles.
pub const RINGS: usize = 8;

/// Each ring's width, as a share of the tolerance: the bound's granularity.
pub const RING_WIDTH: f64 = 0.2;

/// The cut each side of the percentile that the planner expects to prove it (four rings, 0.8 of
/// the tolerance, away): the proven interval is then at most about 1.6 tolerances wide and the
/// published value, kept within a tolerance of both its ends, meets the tolerance; the centre
/// may stray [`RINGS`] − 4 rings.
const PROVING_RING: usize = 4;

/// Share of each stratum's ρ spent on the counts `n` (split evenly over the measurements).
const COUNT_SHARE: f64 = 0.1;

/// Every error bar holds with probability at least 1 - this.
const ALPHA: f64 = 0.05;

/// How far the planner lets a percentile's centre stray, as a share of what the rings allow.
const PLAN_MARGIN: f64 = 0.8;

/// The planner aims a mean's or SD's bound at this share of the tolerance (their bounds depend on
/// the data only through n, the distance of the mean from the reference and the SD).
const MOMENT_MARGIN: f64 = 0.7;

/// The set that represents a person in the chart: the most chart measurements, then the most
/// measurements overall, then the first. `sets` hold all catalogue values (NaN = missing);
/// `chart_columns` are the catalogue indices of the chart's measurements. `None` without sets.
pub fn pick_set(sets: &[&[f64]], chart_columns: &[usize]) -> Option<usize> {
    let present = |set: &[f64], columns: &mut dyn Iterator<Item = usize>| {
        columns.filter(|&i| !set[i].is_nan()).count()
    };
    let mut best: Option<(usize, (usize, usize))> = None;
    for (index, set) in sets.iter().enumerate() {
        let score = (
            present(set, &mut chart_columns.iter().copied()),
            present(set, &mut (0..set.len())),
        );
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((index, score));
        }
    }
    best.map(|(index, _)| index)
}

/// Values are clamped to the reference mean ± this many reference SDs (within the plausible
/// range): a tighter public window than the plausible range, from public anthropometric
/// references, which shrinks the sensitivity of the sums behind mean and SD and the grid of the
/// exponential mechanism. The exact figures the error bars refer to are those of the values
/// clamped to this window (which moves only people more than 4 reference SDs out).
pub const WINDOW_SDS: f64 = 4.0;

/// A chart measurement with its public bounds, grid and reference: the report's
/// [`ChartMeasurement`].
pub type MeasurementBounds = ChartMeasurement;

/// The public reference of a measurement: mean, SD and where they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The reference mean.
    pub mean: f64,
    /// The reference SD.
    pub sd: f64,
    /// Its source, for the report.
    pub source: String,
}

/// The bounds of the configured measurements from the schema's catalogue, with their references
/// (`reference(catalogue index)`; a measurement without one is refused), and their catalogue
/// indices (for
/// [`pick_set`] and for building [`ChartPerson`] rows).
pub fn bounds_from_catalog(
    catalog: &Catalog,
    names: &[String],
    reference: &dyn Fn(usize) -> Option<Reference>,
) -> Result<(Vec<MeasurementBounds>, Vec<usize>)> {
    let mut bounds = Vec::with_capacity(names.len());
    let mut columns = Vec::with_capacity(names.len());
    for name in names {
        let index = catalog
            .index_of(name)
            .ok_or_else(|| Error::InvalidArgument {
                name: "sizechart.measurements",
                problem: format!("`{name}` is not a measurement of the dataset schema"),
            })?;
        if columns.contains(&index) {
            return Err(Error::InvalidArgument {
                name: "sizechart.measurements",
                problem: format!("`{name}` is listed twice"),
            });
        }
        let [plausible_lower, plausible_upper] = catalog.plausible(index);
        if !(plausible_lower.is_finite() && plausible_upper.is_finite()) {
            return Err(Error::InvalidArgument {
                name: "sizechart.measurements",
                problem: format!(
                    "`{name}` has no `plausible` range in the schema: the chart clamps to \
                     public bounds"
                ),
            });
        }
        let reference = reference(index).ok_or_else(|| Error::InvalidArgument {
            name: "sizechart.measurements",
            problem: format!(
                "`{name}` has no public reference mean and SD (FreeSewing's size models cover \
                 only FreeSewing's measurements): give them as sizechart.reference_mean and \
                 sizechart.reference_sd, in the measurement's unit, from a public \
                 anthropometric survey"
            ),
        })?;
        // The tighter public window (see [`WINDOW_SDS`]), unless the reference lies outside the
        // plausible range.
        let step = catalog.rounding(index);
        let (lower, upper) = (
            plausible_lower
                .max(((reference.mean - WINDOW_SDS * reference.sd) / step).floor() * step),
            plausible_upper
                .min(((reference.mean + WINDOW_SDS * reference.sd) / step).ceil() * step),
        );
        let (lower, upper) = if lower < upper {
            (lower, upper)
        } else {
            (plausible_lower, plausible_upper)
        };
        bounds.push(ChartMeasurement {
            name: catalog.names()[index].clone(),
            unit: catalog.unit(index).to_string(),
            lower,
            upper,
            step,
            reference_mean: reference.mean,
            reference_sd: reference.sd,
            reference: reference.source,
        });
        columns.push(index);
    }
    Ok((bounds, columns))
}

/// How people are split into strata: the configured rule crossed with the bands of the primary
/// dimensions (`sizechart.bands`). A person's stratum follows from their own chosen set and public
/// band edges (reference mean ± multiples of the reference SD) only, so strata hold disjoint
/// people and compose in parallel.
#[derive(Debug, Clone, PartialEq)]
pub struct StrataPlan {
    rule: Strata,
    /// The number of strata of each schema `stratum` column, crossed after the rule.
    columns: Vec<usize>,
    axes: Vec<BandAxis>,
    names: Vec<String>,
}

/// One primary dimension: its catalogue index and the inner edges of its bands.
#[derive(Debug, Clone, PartialEq)]
struct BandAxis {
    column: usize,
    edges: Vec<f64>,
    /// One label per band, then one for a person without the measurement.
    labels: Vec<String>,
}

impl StrataPlan {
    /// The strata of `config` over `catalog`: the rule, crossed with the strata of the schema's
    /// `stratum` columns (`columns`: each one's names, public, from the schema), crossed with the
    /// bands, their edges from the references (`reference(catalogue index)`; a band dimension
    /// needs one).
    pub fn new(
        config: &SizeChartConfig,
        catalog: &Catalog,
        columns: &[Vec<String>],
        reference: &dyn Fn(usize) -> Option<Reference>,
    ) -> Result<Self> {
        let mut axes = Vec::new();
        for name in config.bands.iter().flat_map(|b| &b.by) {
            let bands = config.bands.as_ref().expect("iterating its names");
            let column = catalog
                .index_of(name)
                .ok_or_else(|| Error::InvalidArgument {
                    name: "sizechart.bands",
                    problem: format!("`{name}` is not a measurement of the dataset schema"),
                })?;
            let reference = reference(column).ok_or_else(|| Error::InvalidArgument {
                name: "sizechart.bands",
                problem: format!("`{name}` has no public reference to cut bands by"),
            })?;
            let step = catalog.rounding(column);
            let width = bands.width_sd * reference.sd;
            let edges: Vec<f64> = (1..bands.count)
                .map(|i| {
                    let edge = reference.mean + (i as f64 - bands.count as f64 / 2.0) * width;
                    (edge / step).round() * step
                })
                .collect();
            let (unit, name) = (catalog.unit(column), &catalog.names()[column]);
            let mut labels = vec![format!("{name} < {} {unit}", edges[0])];
            labels.extend(
                edges
                    .windows(2)
                    .map(|w| format!("{name} {}–{} {unit}", w[0], w[1])),
            );
            labels.push(format!("{name} ≥ {} {unit}", edges[edges.len() - 1]));
            labels.push(format!("no {name}"));
            axes.push(BandAxis {
                column,
                edges,
                labels,
            });
        }
        let mut names: Vec<String> = config
            .strata
            .names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        for labels in columns.iter().chain(axes.iter().map(|axis| &axis.labels)) {
            names = names
                .iter()
                .flat_map(|before| {
                    labels.iter().map(move |label| match before.as_str() {
                        "all" => label.clone(),
                        _ => format!("{before} · {label}"),
                    })
                })
                .collect();
        }
        Ok(StrataPlan {
            rule: config.strata,
            columns: columns.iter().map(Vec::len).collect(),
            axes,
            names,
        })
    }

    /// The strata's names, indexed like [`StrataPlan::of`].
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The stratum of a person with this chosen set (all catalogue values, NaN = missing) and
    /// these strata of the schema's `stratum` columns (indices into their names).
    pub fn of(&self, catalog: &Catalog, set: &[f64], columns: &[usize]) -> usize {
        let mut index = self.rule.of(catalog, set);
        for (&count, &stratum) in self.columns.iter().zip(columns) {
            index = index * count + stratum;
        }
        for axis in &self.axes {
            let value = set[axis.column];
            let band = if value.is_nan() {
                axis.labels.len() - 1
            } else {
                axis.edges.iter().filter(|&&edge| value >= edge).count()
            };
            index = index * axis.labels.len() + band;
        }
        index
    }

    /// The rule as the report states it.
    pub fn rule(&self, config: &SizeChartConfig) -> String {
        let mut rule = self.rule.rule().to_string();
        if !self.columns.is_empty() {
            rule.push_str(&format!(
                " × the schema's stratum columns ({} of them, their strata from the schema)",
                self.columns.len()
            ));
        }
        if let Some(bands) = &config.bands {
            rule.push_str(&format!(
                " × bands of {} ({} bands of {} reference SD, centred on the reference mean)",
                bands.by.join(" × "),
                bands.count,
                bands.width_sd
            ));
        }
        rule
    }
}

fn grid_of(measurement: &MeasurementBounds) -> Grid {
    Grid::new(measurement.lower, measurement.upper, measurement.step)
}

/// One person's input: their stratum and their values of the chart's measurements, in the order
/// of the bounds (NaN = not measured).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPerson {
    /// Index of the person's stratum in [`StrataPlan::names`], from [`StrataPlan::of`] on their
    /// chosen set.
    pub stratum: usize,
    /// One value per chart measurement, in the order of the bounds (NaN = not measured).
    pub values: Vec<f64>,
}

/// A published figure with the half-width of an interval that holds the exact value in at least
/// 95 % of releases, whatever the data (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figure {
    /// The published value (noisy, then rounded), in the measurement's unit (people for `n`).
    pub value: f64,
    /// Half-width of the interval around `value` that holds the exact figure in at least 95 %
    /// of releases.
    pub error95: f64,
}

/// Why a cell is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Withheld {
    /// The planner gave the figure no budget: at this noisy n it could not meet the tolerance.
    TooFewPeople,
    /// Its 95 % error bound came out above the tolerance (or could not be closed within it).
    AboveTolerance,
    /// It came out in the wrong order with a neighbouring percentile.
    OutOfOrder,
}

impl Withheld {
    /// The reason as the datasheet and the report state it.
    pub fn reason(self) -> &'static str {
        match self {
            Withheld::TooFewPeople => {
                "not computed: at this (noisy) number of people its 95 % error could not meet the \
                 tolerance, so it got no budget"
            }
            Withheld::AboveTolerance => "computed, but its 95 % error bound exceeded the tolerance",
            Withheld::OutOfOrder => {
                "computed, but out of order with a neighbouring percentile (noise)"
            }
        }
    }
}

/// The figures of one measurement in one stratum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartRow {
    /// The stratum's name ([`Strata::names`]).
    pub stratum: String,
    /// The measurement's schema name.
    pub measurement: String,
    /// The measurement's unit.
    pub unit: String,
    /// People in the stratum with this measurement, by the discrete Gaussian mechanism (sensitivity
    /// 1); always published.
    pub n: Figure,
    /// The mean, or why it is withheld.
    pub mean: std::result::Result<Figure, Withheld>,
    /// The SD, or why it is withheld.
    pub sd: std::result::Result<Figure, Withheld>,
    /// Aligned with [`PERCENTILES`].
    pub percentiles: Vec<std::result::Result<Figure, Withheld>>,
}

/// A DP size chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeChart {
    /// The strata's names, in [`Strata::names`] order.
    pub strata: Vec<String>,
    /// One row per stratum and measurement: stratum by stratum, measurements in configured order.
    pub rows: Vec<ChartRow>,
    /// What the chart spent and how, for the release report (checked by [`check_budget`]).
    pub budget: ChartBudget,
}

impl SizeChart {
    /// Empty cells by reason.
    pub fn withheld(&self) -> BTreeMap<Withheld, usize> {
        let mut counts = BTreeMap::new();
        for row in &self.rows {
            let figures = [&row.mean, &row.sd].into_iter().chain(&row.percentiles);
            for reason in figures.filter_map(|f| f.err()) {
                *counts.entry(reason).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// One value of a chart table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A label: the stratum, measurement or unit.
    Text(String),
    /// A published figure or its `_error95`.
    Number(f64),
    /// Not published (see [`Withheld`]).
    Empty,
}

/// The chart as a table: column names and rows, ready for CSV or Parquet.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartColumns {
    /// Column names: `stratum`, `measurement`, `unit`, then each figure and its `_error95`.
    pub names: Vec<String>,
    /// One row of cells per [`ChartRow`], aligned with `names`.
    pub rows: Vec<Vec<Cell>>,
}

/// Computes the chart with noise from the operating system's CSPRNG ([`super::os_rng`]).
/// `strata` are the strata's names ([`StrataPlan::names`]), which [`ChartPerson::stratum`]
/// indexes.
pub fn size_chart(
    config: &SizeChartConfig,
    strata: &[String],
    bounds: &[MeasurementBounds],
    people: &[ChartPerson],
) -> Result<SizeChart> {
    size_chart_with(config, strata, bounds, people, &mut super::os_rng())
}

/// [`size_chart`] with a given generator: private, so that only tests can pass a seeded one.
fn size_chart_with<R: RngCore + CryptoRng>(
    config: &SizeChartConfig,
    strata: &[String],
    bounds: &[MeasurementBounds],
    people: &[ChartPerson],
    rng: &mut R,
) -> Result<SizeChart> {
    config.validate()?;
    check_input(bounds, people, strata.len())?;
    let rho = rho_for(config.epsilon, config.delta);
    // A relative 10⁻⁹ of slack absorbs the rounding of the float sums in the accountant.
    let usable = rho * (1.0 - 1e-9);
    let mut rows = Vec::with_capacity(strata.len() * bounds.len());
    let mut figures = Vec::new();
    let mut rho_spent = 0f64;
    for (stratum, stratum_name) in strata.iter().enumerate() {
        let mut accountant = Accountant::new(rho);
        let histograms: Vec<Vec<u64>> = bounds
            .iter()
            .enumerate()
            .map(|(column, measurement)| {
                let grid = grid_of(measurement);
                let indices: Vec<usize> = people
                    .iter()
                    .filter(|p| p.stratum == stratum)
                    .map(|p| p.values[column])
                    .filter(|v| !v.is_nan())
                    .map(|v| grid.index_of(v))
                    .collect();
                grid.histogram(&indices)
            })
            .collect();
        // 1. n of every measurement.
        let count_rho = usable * COUNT_SHARE / bounds.len() as f64;
        let count_noise = DiscreteGaussian::for_rho(1, count_rho);
        let mut counts = Vec::with_capacity(bounds.len());
        for (measurement, histogram) in bounds.iter().zip(&histograms) {
            let exact: u64 = histogram.iter().sum();
            spend(
                &mut accountant,
                &mut figures,
                (stratum_name, measurement),
                "n",
                Mechanism::DiscreteGaussian,
                count_rho,
                None,
                Some(count_noise.sd()),
            )?;
            counts.push(count_noise.add_to(i128::from(exact), rng) as f64);
        }
        // 2. The plan, from the noisy counts and public constants only.
        let plan = plan(
            bounds,
            &counts,
            count_noise.sd(),
            usable * (1.0 - COUNT_SHARE),
            config.tolerance_sd,
        );
        // 3, 4. The planned figures.
        for (column, measurement) in bounds.iter().enumerate() {
            let context = Context {
                measurement,
                grid: grid_of(measurement),
                histogram: &histograms[column],
                n: counts[column],
                count_sd: count_noise.sd(),
                tolerance: config.tolerance_sd * measurement.reference_sd,
                tolerance_sd: config.tolerance_sd,
                stratum: stratum_name,
            };
            let row = context.row(&plan[column], &mut accountant, &mut figures, rng)?;
            rows.push(row);
        }
        rho_spent = rho_spent.max(accountant.spent_rho());
    }
    Ok(SizeChart {
        strata: strata.iter().map(|s| s.to_string()).collect(),
        rows,
        budget: ChartBudget {
            epsilon: config.epsilon,
            delta: config.delta,
            rho,
            neighbours: "add or remove one person (each person contributes one set)".into(),
            composition: "zCDP: ρ adds up over the figures of a stratum, each chosen after the \
                          previous ones (Bun & Steinke 2016, Lemma 2.3); strata hold disjoint \
                          people and compose in parallel; the exponential mechanism's ε counts \
                          as ε²/8 (Cesar & Rogers 2021); ρ to (ε, δ) by Canonne, Kamath & \
                          Steinke 2020, Corollary 13"
                .into(),
            allocation: format!(
                "per stratum: {:.0} % of ρ for the counts n, evenly; the rest over the figures \
                 the plan chose from the noisy n (mean and P50 of every measurement, then P5/P95, \
                 SD, P25/P75, P10/P90, P1/P99, while the ρ each needs to meet the tolerance \
                 fits), in proportion to that need; the percentiles of a measurement share one \
                 set of noisy cells (`percentile cells`) besides their own centres",
                COUNT_SHARE * 100.0
            ),
            figures,
            rho_spent,
        },
    })
}

/// Records a spend with the accountant (which refuses an overspend) and in the report's list.
#[allow(clippy::too_many_arguments)]
fn spend(
    accountant: &mut Accountant,
    figures: &mut Vec<FigureBudget>,
    (stratum, measurement): (&str, &MeasurementBounds),
    figure: &str,
    mechanism: Mechanism,
    rho: f64,
    epsilon: Option<f64>,
    noise_sd: Option<f64>,
) -> Result<()> {
    accountant.spend(
        format!("{stratum} {} {figure}", measurement.name),
        mechanism,
        rho,
    )?;
    figures.push(FigureBudget {
        stratum: stratum.into(),
        measurement: measurement.name.clone(),
        figure: figure.into(),
        mechanism: mechanism.name().into(),
        rho,
        epsilon,
        noise_sd,
    });
    Ok(())
}

/// Grids of more points than this are refused: a measurement without a real plausible range.
const MAX_GRID_POINTS: f64 = 1_000_000.0;

/// Every measurement has a finite range, step and reference; every row has one value per
/// measurement and a known stratum.
fn check_input(bounds: &[MeasurementBounds], people: &[ChartPerson], strata: usize) -> Result<()> {
    for measurement in bounds {
        let points = (measurement.upper - measurement.lower) / measurement.step;
        let reference = measurement.reference_mean.is_finite()
            && measurement.reference_sd.is_finite()
            && measurement.reference_sd > 0.0;
        if !(measurement.lower.is_finite() && points.is_finite() && points > 0.0 && reference)
            || points > MAX_GRID_POINTS
        {
            return Err(Error::InvalidArgument {
                name: "sizechart.measurements",
                problem: format!(
                    "`{}` needs a finite plausible range in the dataset schema, at most {MAX_GRID_POINTS} steps wide, and a positive reference SD",
                    measurement.name
                ),
            });
        }
    }
    for (row, person) in people.iter().enumerate() {
        if person.values.len() != bounds.len() || person.stratum >= strata {
            return Err(Error::InvalidArgument {
                name: "size chart input",
                problem: format!(
                    "person {} has {} values in stratum {}, expected {} values in a stratum below {strata}",
                    row + 1,
                    person.values.len(),
                    person.stratum,
                    bounds.len()
                ),
            });
        }
    }
    Ok(())
}

/// A figure the plan can give budget to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Planned {
    /// The mean (the sum of `v - c`).
    Mean,
    /// The SD (the sum of `(v - c)²`; needs the mean's sum).
    Sd,
    /// A percentile's centre, by its index in [`PERCENTILES`].
    Percentile(usize),
    /// The noisy cells that every planned percentile of the measurement is bounded from.
    Cells,
}

/// The order in which the plan considers figures: what a size chart is read by first.
const PRIORITY: [&[Planned]; 6] = [
    &[Planned::Mean, Planned::Percentile(4)],
    &[Planned::Percentile(1), Planned::Percentile(7)],
    &[Planned::Sd],
    &[Planned::Percentile(3), Planned::Percentile(5)],
    &[Planned::Percentile(2), Planned::Percentile(6)],
    &[Planned::Percentile(0), Planned::Percentile(8)],
];

/// The ρ of each chosen figure, per measurement.
type Plan = Vec<BTreeMap<Planned, f64>>;

/// The percentiles a measurement's plan chose, in [`PERCENTILES`] order.
fn planned_levels(plan: &BTreeMap<Planned, f64>) -> Vec<usize> {
    plan.keys()
        .filter_map(|figure| match figure {
            Planned::Percentile(level) => Some(*level),
            _ => None,
        })
        .collect()
}

/// Chooses figures and splits `rho` over them (see the module documentation, step 2). Reads only
/// the noisy `counts` and public constants. A percentile costs its centre plus what it adds to
/// the shared cells' need ([`cells_need`] of the percentiles chosen so far and it).
fn plan(
    bounds: &[MeasurementBounds],
    counts: &[f64],
    count_sd: f64,
    rho: f64,
    tolerance_sd: f64,
) -> Plan {
    let mut chosen: Plan = vec![BTreeMap::new(); bounds.len()];
    let mut left = rho;
    for round in PRIORITY {
        for (column, measurement) in bounds.iter().enumerate() {
            let noisy_n = (counts[column], count_sd);
            for &figure in round {
                let figures = &mut chosen[column];
                let need = match figure {
                    Planned::Sd if !figures.contains_key(&Planned::Mean) => None,
                    Planned::Mean | Planned::Sd => {
                        moment_need(figure, measurement, noisy_n.0, tolerance_sd)
                    }
                    Planned::Percentile(level) => {
                        let mut levels = planned_levels(figures);
                        levels.push(level);
                        levels.sort_unstable();
                        let before = figures.get(&Planned::Cells).copied().unwrap_or(0.0);
                        let needs = (
                            cells_need(&levels, measurement, noisy_n, tolerance_sd),
                            centre_need(level, noisy_n.0, tolerance_sd),
                        );
                        match needs {
                            (Some(cells), Some(centre)) if centre + cells - before <= left => {
                                figures.insert(Planned::Cells, cells);
                                left -= cells - before;
                                Some(centre)
                            }
                            _ => None,
                        }
                    }
                    Planned::Cells => None,
                };
                if let Some(need) = need.filter(|&need| need <= left) {
                    figures.insert(figure, need);
                    left -= need;
                }
            }
        }
    }
    let used = rho - left;
    if used > 0.0 {
        let scale = rho / used;
        for figures in &mut chosen {
            for share in figures.values_mut() {
                *share *= scale;
            }
        }
    }
    chosen
}

/// The ρ a mean or SD needs for its predicted bound to meet the tolerance with a margin, with
/// `n` people and the measurement's reference SD (their bounds depend on the data only through
/// n, the distance of the mean from the reference and the SD); `None` when no budget would do.
fn moment_need(
    figure: Planned,
    measurement: &MeasurementBounds,
    n: f64,
    tolerance_sd: f64,
) -> Option<f64> {
    if n < 2.0 {
        return None;
    }
    let grid = grid_of(measurement);
    let sd = measurement.reference_sd / measurement.step;
    let target = MOMENT_MARGIN * tolerance_sd;
    let (sensitivity, _) = sum_sensitivity(&grid, measurement);
    let rho = if figure == Planned::Mean {
        let noise = target * sd * n / z_for(2);
        sensitivity * sensitivity / (2.0 * noise * noise)
    } else {
        // Var(√V) ≈ Var(V)/(4V): the sum of squares' noise over n within 2·SD·target·SD.
        let noise = target * sd * 2.0 * sd * n / z_for(3);
        (sensitivity * sensitivity).powi(2) / (2.0 * noise * noise)
    };
    (rho.is_finite() && rho > 0.0).then_some(rho)
}

/// People of the reference normal (n people) between percentile `q` and `distance` SDs below or
/// above it, whichever is fewer.
fn people_within(q: f64, distance: f64, n: f64) -> f64 {
    let normal = Normal::new(0.0, 1.0).expect("a standard normal");
    let at = normal.inverse_cdf(q);
    (q - normal.cdf(at - distance)).min(normal.cdf(at + distance) - q) * n
}

/// The ρ of a percentile's centre for it to land within reach of the rings beyond the proving
/// one (less a margin) under the reference normal with `n` people: a rank error of about
/// `2·ln(20)/ε` people, the exponential mechanism's typical 95 % error on dense data (only
/// planning: the bound never relies on it). `None` when too few people.
fn centre_need(level: usize, n: f64, tolerance_sd: f64) -> Option<f64> {
    let q = f64::from(PERCENTILES[level]) / 100.0;
    let reach = (RINGS - PROVING_RING) as f64 * RING_WIDTH * PLAN_MARGIN;
    let slack = people_within(q, reach * tolerance_sd, n);
    if slack < 1.0 {
        return None;
    }
    let epsilon = 2.0 * 20f64.ln() / slack;
    Some(epsilon * epsilon / 8.0)
}

/// The ring each side that the plan expects to prove a percentile at: [`PROVING_RING`], one
/// closer for the median, the figure a size chart is read by first, so that it meets the
/// tolerance even where the data are flatter around it than the reference, or its centre lands
/// off.
fn proving_ring(level: usize) -> usize {
    if PERCENTILES[level] == 50 {
        PROVING_RING - 1
    } else {
        PROVING_RING
    }
}

/// A ring's width in grid steps: the bound's granularity.
fn ring_steps(measurement: &MeasurementBounds, tolerance_sd: f64) -> i64 {
    ((tolerance_sd * measurement.reference_sd * RING_WIDTH / measurement.step).floor() as i64)
        .max(1)
}

/// The cuts of one measurement's shared cells: each percentile's centre ± j rings
/// (j = 0‥[`RINGS`]), all together sorted and distinct; the cells lie between neighbouring cuts,
/// plus one below the lowest and one above the highest.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    /// Sorted, distinct cuts (grid indices; they may lie outside the grid).
    cuts: Vec<i64>,
    /// For each percentile, in the order of the centres given, the positions in `cuts` of its own
    /// `2·RINGS + 1` cuts, lowest first.
    own: Vec<Vec<usize>>,
}

impl Layout {
    fn new(centres: &[i64], ring: i64) -> Self {
        let rings = RINGS as i64;
        let around = |centre: i64| (-rings..=rings).map(move |j| centre + j * ring);
        let mut cuts: Vec<i64> = centres.iter().flat_map(|&c| around(c)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let own = centres
            .iter()
            .map(|&centre| {
                around(centre)
                    .map(|cut| cuts.binary_search(&cut).expect("a cut of the layout"))
                    .collect()
            })
            .collect();
        Layout { cuts, own }
    }

    fn cells(&self) -> usize {
        self.cuts.len() + 1
    }
}

/// The ρ of a measurement's shared cells for the [`PROVING_RING`] cuts to prove each side of
/// every percentile of `levels`, under the reference normal with `n` people and the centres on
/// the percentiles (the layout, and so each cut's noise, follows from them); `None` when the
/// tolerance holds too few people.
fn cells_need(
    levels: &[usize],
    measurement: &MeasurementBounds,
    (n, count_sd): (f64, f64),
    tolerance_sd: f64,
) -> Option<f64> {
    let normal = Normal::new(0.0, 1.0).expect("a standard normal");
    let ring = ring_steps(measurement, tolerance_sd);
    let quantile = |level: usize| f64::from(PERCENTILES[level]) / 100.0;
    let centres: Vec<i64> = levels
        .iter()
        .map(|&level| {
            let at = normal.inverse_cdf(quantile(level)) * measurement.reference_sd;
            (at / measurement.step).round() as i64
        })
        .collect();
    let layout = Layout::new(&centres, ring);
    let z = z_one_sided(2 * RINGS + 1);
    let checks: Vec<(f64, usize, usize, f64)> = levels
        .iter()
        .zip(&layout.own)
        .map(|(&level, own)| {
            let q = quantile(level);
            let proving = proving_ring(level);
            let distance =
                (proving as i64 * ring) as f64 * measurement.step / measurement.reference_sd;
            let below = own[RINGS - proving] + 1;
            let above = own[RINGS + proving] + 1;
            (q, below, above, people_within(q, distance, n))
        })
        .collect();
    let cells = layout.cells();
    let fits = |sigma: f64| {
        checks.iter().all(|&(q, below, above, gap)| {
            z * cut_spread(q, below, cells, sigma, count_sd) <= gap
                && z * cut_spread(q, above, cells, sigma, count_sd) <= gap
        })
    };
    if levels.is_empty() {
        return Some(0.0);
    }
    if !fits(1e-6) {
        return None;
    }
    let (mut low, mut high) = (0.0, n.max(1.0));
    for _ in 0..60 {
        let middle = (low + high) / 2.0;
        if fits(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
    (low >= 0.5).then(|| 1.0 / (2.0 * low * low))
}

/// The noise SD of `T(y)` at a cut with `left` of the `cells` cells at or below it, by the best
/// of three unbiased estimates whose choice depends on public quantities only: `(1-q)·F - q·G`
/// (cells only), `F - q·n` (left cells and the noisy count), `(1-q)·n - G` (the noisy count and
/// right cells).
fn cut_spread(q: f64, left: usize, cells: usize, sigma: f64, count_sd: f64) -> f64 {
    cut_estimates(q, left, cells, sigma, count_sd)
        .into_iter()
        .map(|(_, variance)| variance)
        .fold(f64::INFINITY, f64::min)
        .sqrt()
}

/// The three estimates of [`cut_spread`] with their noise variances: which one (0, 1, 2).
fn cut_estimates(
    q: f64,
    left: usize,
    cells: usize,
    sigma: f64,
    count_sd: f64,
) -> [(usize, f64); 3] {
    let (a, b) = (left as f64, (cells - left) as f64);
    let (cell, count) = (sigma * sigma, count_sd * count_sd);
    [
        (0, ((1.0 - q).powi(2) * a + q * q * b) * cell),
        (1, a * cell + q * q * count),
        (2, b * cell + (1.0 - q).powi(2) * count),
    ]
}

/// The sensitivity of the sum of `v - c` (grid steps) and the centre `c`'s grid index: values
/// lie in the grid, so one person moves the sum by at most the larger distance from `c` to an end.
fn sum_sensitivity(grid: &Grid, measurement: &MeasurementBounds) -> (f64, usize) {
    let centre = grid.index_of(measurement.reference_mean);
    let sensitivity = centre.max(grid.points - 1 - centre).max(1);
    (sensitivity as f64, centre)
}

/// The multiplier of σ that m subgaussian noises all stay within with probability 1 - [`ALPHA`].
fn z_for(m: usize) -> f64 {
    (2.0 * (2.0 * m as f64 / ALPHA).ln()).sqrt()
}

/// The multiplier of σ that m subgaussian noises each stay below in one given direction with
/// probability 1 - [`ALPHA`] together: `P(Z ≥ zσ) ≤ exp(-z²/2)`, union bound over m.
fn z_one_sided(m: usize) -> f64 {
    (2.0 * (m as f64 / ALPHA).ln()).sqrt()
}

/// The largest exact ε with ε²/8 ≤ ρ: the exponential mechanism's ε for a ρ of budget.
fn epsilon_for_rho(rho: f64) -> Fraction {
    let exact_rho = Fraction::from_f64(rho).expect("ρ is a positive number");
    let mut epsilon = (8.0 * rho).sqrt();
    loop {
        let exact = Fraction::from_f64(epsilon).expect("ε is a positive number");
        let cost = exact.times(&exact).times(&Fraction::new(1u32, 8u32));
        if cost.at_most(&exact_rho) {
            return exact;
        }
        epsilon = epsilon.next_down();
    }
}

/// What one measurement's figures in one stratum are computed from.
struct Context<'a> {
    measurement: &'a MeasurementBounds,
    grid: Grid,
    histogram: &'a [u64],
    /// The noisy n.
    n: f64,
    count_sd: f64,
    /// In the measurement's unit.
    tolerance: f64,
    /// In reference SDs.
    tolerance_sd: f64,
    stratum: &'a str,
}

impl Context<'_> {
    fn row<R: RngCore + CryptoRng>(
        &self,
        plan: &BTreeMap<Planned, f64>,
        accountant: &mut Accountant,
        figures: &mut Vec<FigureBudget>,
        rng: &mut R,
    ) -> Result<ChartRow> {
        let measurement = self.measurement;
        let mut row = ChartRow {
            stratum: self.stratum.into(),
            measurement: measurement.name.clone(),
            unit: measurement.unit.clone(),
            n: Figure {
                // A count is never negative: clamping moves the figure towards the truth.
                value: self.n.max(0.0),
                error95: round_up(z_for(1) * self.count_sd, 0.1),
            },
            mean: Err(Withheld::TooFewPeople),
            sd: Err(Withheld::TooFewPeople),
            percentiles: vec![Err(Withheld::TooFewPeople); PERCENTILES.len()],
        };
        let id = (self.stratum, measurement);
        if let Some(&mean_rho) = plan.get(&Planned::Mean) {
            let (sensitivity, centre) = sum_sensitivity(&self.grid, measurement);
            let sensitivity = sensitivity as u64;
            let (mut sum, mut squares) = (0i128, 0i128);
            for (index, &count) in self.histogram.iter().enumerate() {
                let distance = index as i128 - centre as i128;
                sum += distance * i128::from(count);
                squares += distance * distance * i128::from(count);
            }
            let sum_noise = DiscreteGaussian::for_rho(sensitivity, mean_rho);
            spend(
                accountant,
                figures,
                id,
                "sum",
                Mechanism::DiscreteGaussian,
                mean_rho,
                None,
                Some(sum_noise.sd()),
            )?;
            let noisy_sum = sum_noise.add_to(sum, rng) as f64;
            let moments = Moments {
                n: self.n,
                n_sd: self.count_sd,
                sum: noisy_sum,
                sum_sd: sum_noise.sd(),
            };
            row.mean = self.checked(moments.mean(centre, &self.grid));
            if let Some(&sd_rho) = plan.get(&Planned::Sd) {
                let squares_noise = DiscreteGaussian::for_rho(sensitivity * sensitivity, sd_rho);
                spend(
                    accountant,
                    figures,
                    id,
                    "sum of squares",
                    Mechanism::DiscreteGaussian,
                    sd_rho,
                    None,
                    Some(squares_noise.sd()),
                )?;
                let noisy_squares = squares_noise.add_to(squares, rng) as f64;
                row.sd =
                    self.checked(moments.sd(noisy_squares, squares_noise.sd(), self.grid.step));
            }
        }
        // Percentiles: every centre first, then one set of noisy cells cut around all of them
        // (adaptive composition: the cuts depend on the centres, private outputs).
        let levels = planned_levels(plan);
        let mut centres = Vec::with_capacity(levels.len());
        for &level in &levels {
            let percent = PERCENTILES[level];
            let epsilon = epsilon_for_rho(plan[&Planned::Percentile(level)]);
            spend(
                accountant,
                figures,
                id,
                &format!("P{percent} centre"),
                Mechanism::ExponentialMechanism,
                plan[&Planned::Percentile(level)],
                Some(epsilon.to_f64()),
                None,
            )?;
            centres.push(exponential_quantile(self.histogram, percent, &epsilon, rng) as i64);
        }
        if let Some(&cells_rho) = plan.get(&Planned::Cells) {
            let layout = Layout::new(&centres, ring_steps(measurement, self.tolerance_sd));
            let noise = DiscreteGaussian::for_rho(1, cells_rho);
            spend(
                accountant,
                figures,
                id,
                "percentile cells",
                Mechanism::DiscreteGaussian,
                cells_rho,
                None,
                Some(noise.sd()),
            )?;
            let cells = NoisyCells::draw(self.histogram, layout, &noise, rng);
            for (position, &level) in levels.iter().enumerate() {
                let bounded = cells.bound_percentile(
                    position,
                    PERCENTILES[level],
                    centres[position],
                    (self.n, self.count_sd),
                    // Less one rounding unit of the published figure (see `checked`).
                    (
                        self.grid.points as i64 - 1,
                        (self.tolerance - 0.1) / measurement.step,
                    ),
                );
                row.percentiles[level] = self.checked(bounded.map(|(index, error)| Figure {
                    value: self.grid.lower + index * measurement.step,
                    error95: error * measurement.step,
                }));
            }
        }
        withhold_out_of_order(&mut row.percentiles);
        Ok(row)
    }

    /// Rounds a figure for publication (its bound grows by the rounding) and withholds it when
    /// its bound is above the tolerance or missing.
    fn checked(&self, figure: Option<Figure>) -> std::result::Result<Figure, Withheld> {
        let figure = figure.ok_or(Withheld::AboveTolerance)?;
        let value = (figure.value * 10.0).round() / 10.0;
        let error95 = round_up(figure.error95 + (value - figure.value).abs(), 0.1);
        if error95 > self.tolerance {
            return Err(Withheld::AboveTolerance);
        }
        Ok(Figure { value, error95 })
    }
}

/// Rounds up to a multiple of `unit` (a bound stays a bound).
fn round_up(value: f64, unit: f64) -> f64 {
    ((value / unit) - 1e-9).ceil().max(0.0) * unit
}

/// The noisy count and sum of one measurement (grid units, centred at the reference).
struct Moments {
    n: f64,
    n_sd: f64,
    sum: f64,
    sum_sd: f64,
}

impl Moments {
    /// `[lo, hi]` of `n` and of `S/n` when the `m` noises of a figure hold; `None` when n's lower
    /// end is not positive (no bound then).
    fn ranges(&self, m: usize) -> Option<((f64, f64), (f64, f64))> {
        let z = z_for(m);
        let n = (self.n - z * self.n_sd, self.n + z * self.n_sd);
        if n.0 <= 0.0 {
            return None;
        }
        let sum = (self.sum - z * self.sum_sd, self.sum + z * self.sum_sd);
        let corners = [sum.0 / n.0, sum.0 / n.1, sum.1 / n.0, sum.1 / n.1];
        let low = corners.iter().copied().fold(f64::INFINITY, f64::min);
        let high = corners.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((n, (low, high)))
    }

    /// The mean (unit) and the larger distance to its interval's ends.
    fn mean(&self, centre: usize, grid: &Grid) -> Option<Figure> {
        let (_, (low, high)) = self.ranges(2)?;
        let mean = self.sum / self.n;
        Some(Figure {
            value: grid.lower + (centre as f64 + mean) * grid.step,
            error95: (mean - low).max(high - mean) * grid.step,
        })
    }

    /// The SD (unit) from the noisy sum of squares, and the larger distance to its interval's ends.
    fn sd(&self, squares: f64, squares_sd: f64, step: f64) -> Option<Figure> {
        let (n, (low, high)) = self.ranges(3)?;
        let z = z_for(3);
        let squares_range = (
            (squares - z * squares_sd).max(0.0),
            squares + z * squares_sd,
        );
        let mean = self.sum / self.n;
        let variance = squares / self.n - mean * mean;
        if variance <= 0.0 {
            return None;
        }
        let smallest_square = if low <= 0.0 && high >= 0.0 {
            0.0
        } else {
            low.abs().min(high.abs()).powi(2)
        };
        let largest_square = low.abs().max(high.abs()).powi(2);
        let variance_high = squares_range.1 / n.0 - smallest_square;
        let variance_low = (squares_range.0 / n.1 - largest_square).max(0.0);
        let sd = variance.sqrt();
        Some(Figure {
            value: sd * step,
            error95: (sd - variance_low.sqrt()).max(variance_high.max(0.0).sqrt() - sd) * step,
        })
    }
}

/// The noisy counts of one measurement's shared cells ([`Layout`]): one discrete Gaussian per
/// cell, sensitivity 1 for all of them together (the cells are disjoint, so adding or removing a
/// person changes one count by one), whatever the number of cells.
struct NoisyCells {
    layout: Layout,
    /// Noisy people per cell, lowest first (`layout.cells()` of them).
    noisy: Vec<f64>,
    /// The cells' noise σ.
    sigma: f64,
}

impl NoisyCells {
    fn draw<R: RngCore + CryptoRng>(
        histogram: &[u64],
        layout: Layout,
        noise: &DiscreteGaussian,
        rng: &mut R,
    ) -> Self {
        // People at or below each cut, exactly, then the noisy cell counts between cuts.
        let mut noisy = Vec::with_capacity(layout.cells());
        let (mut running, mut next, mut previous) = (0u64, 0usize, 0u64);
        let total: u64 = histogram.iter().sum();
        for &cut in &layout.cuts {
            while (next as i64) <= cut && next < histogram.len() {
                running += histogram[next];
                next += 1;
            }
            noisy.push(noise.add_to(i128::from(running - previous), rng) as f64);
            previous = running;
        }
        noisy.push(noise.add_to(i128::from(total - previous), rng) as f64);
        NoisyCells {
            layout,
            noisy,
            sigma: noise.sd(),
        }
    }

    /// The percentile `percent` whose centre is the layout's `position`-th: from the noisy
    /// `T` at its own cuts, the grid interval that holds the exact percentile when no cut's
    /// noise passes its bound in the direction that would make its claim false (module
    /// documentation, **Error bars**). `count` is the noisy n with its noise σ; `last` the grid's
    /// last index and `tolerance` the tolerance in grid steps. Returns the
    /// published value in grid units (where the noisy `T` crosses zero between cuts, else the
    /// centre, moved into the interval) and its largest distance to the interval's ends; `None`
    /// when the interval does not close within the rings or the noise contradicts itself.
    fn bound_percentile(
        &self,
        position: usize,
        percent: u32,
        centre: i64,
        (count, count_sd): (f64, f64),
        (last, tolerance): (i64, f64),
    ) -> Option<(f64, f64)> {
        let own = &self.layout.own[position];
        let cuts: Vec<i64> = own.iter().map(|&u| self.layout.cuts[u]).collect();
        let q = f64::from(percent) / 100.0;
        let z = z_one_sided(own.len());
        let cells = self.noisy.len();
        let (mut lower, mut upper): (Option<i64>, Option<i64>) = (None, None);
        let mut estimates = Vec::with_capacity(own.len());
        for (&u, &cut) in own.iter().zip(&cuts) {
            let left = u + 1;
            let f: f64 = self.noisy[..left].iter().sum();
            let g: f64 = self.noisy[left..].iter().sum();
            let (best, variance) = cut_estimates(q, left, cells, self.sigma, count_sd)
                .into_iter()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("three estimates");
            let t = match best {
                0 => (1.0 - q) * f - q * g,
                1 => f - q * count,
                _ => (1.0 - q) * count - g,
            };
            estimates.push(t);
            let margin = z * variance.sqrt();
            if t + margin < 0.0 {
                // Proven: the percentile lies above this cut.
                lower = Some(cut);
            }
            if t - margin >= 0.0 && upper.is_none() {
                // Proven: the percentile lies at or below this cut (the first such is the
                // tightest).
                upper = Some(cut);
            }
        }
        let (lowest, highest) = ((lower? + 1).max(0), upper?.min(last));
        if lowest > highest {
            return None;
        }
        // Where T crosses zero, by linear interpolation between the cuts around the crossing.
        let crossing = (1..cuts.len())
            .find(|&j| estimates[j - 1] < 0.0 && estimates[j] >= 0.0)
            .map(|j| {
                let (t0, t1) = (estimates[j - 1], estimates[j]);
                cuts[j - 1] as f64 + (cuts[j] - cuts[j - 1]) as f64 * (-t0 / (t1 - t0))
            })
            .unwrap_or(centre as f64);
        // Into the proven interval, then, if the interval allows, within `tolerance` of both its
        // ends (a choice made from private outputs only: post-processing).
        let published = crossing.clamp(lowest as f64, highest as f64);
        let published = if highest as f64 - tolerance <= lowest as f64 + tolerance {
            published.clamp(highest as f64 - tolerance, lowest as f64 + tolerance)
        } else {
            published
        };
        let error = (published - lowest as f64).max(highest as f64 - published);
        Some((published, error))
    }
}

/// Withholds both of two published neighbouring percentiles that came out in the wrong order.
fn withhold_out_of_order(percentiles: &mut [std::result::Result<Figure, Withheld>]) {
    let mut previous: Option<usize> = None;
    for level in 0..percentiles.len() {
        let Ok(figure) = percentiles[level] else {
            continue;
        };
        if let Some(before) = previous {
            if let Ok(earlier) = percentiles[before] {
                if earlier.value > figure.value {
                    percentiles[before] = Err(Withheld::OutOfOrder);
                    percentiles[level] = Err(Withheld::OutOfOrder);
                    previous = None;
                    continue;
                }
            }
        }
        previous = Some(level);
    }
}

/// Checks, from the recorded figures alone, that the chart did not spend more than its configured
/// (ε, δ): the ρ matches the conversion, each stratum's figures add up to at most ρ, each
/// exponential mechanism's ε costs at most its ρ, and the spent ρ is within the total. For
/// `verify`, which has no raw data.
pub fn check_budget(budget: &ChartBudget) -> std::result::Result<(), String> {
    let allowed = rho_for(budget.epsilon, budget.delta);
    if budget.rho > allowed * (1.0 + 1e-9) {
        return Err(format!(
            "ρ = {:e} exceeds the {allowed:e} that (ε = {}, δ = {}) allows",
            budget.rho, budget.epsilon, budget.delta
        ));
    }
    let mut by_stratum: BTreeMap<&str, f64> = BTreeMap::new();
    for figure in &budget.figures {
        if !(figure.rho.is_finite() && figure.rho > 0.0) {
            return Err(format!(
                "{}: ρ = {} is not a positive number",
                figure.figure, figure.rho
            ));
        }
        *by_stratum.entry(&figure.stratum).or_insert(0.0) += figure.rho;
        let pure = figure.epsilon.unwrap_or(0.0);
        if pure * pure / 8.0 > figure.rho * (1.0 + 1e-9) {
            return Err(format!(
                "{} {}: ε = {pure} costs more than its ρ = {:e}",
                figure.measurement, figure.figure, figure.rho
            ));
        }
    }
    let planned = by_stratum.values().copied().fold(0.0, f64::max);
    if planned > budget.rho || budget.rho_spent > budget.rho {
        return Err(format!(
            "the figures spend ρ = {planned:e} (recorded as spent: {:e}) of ρ = {:e}",
            budget.rho_spent, budget.rho
        ));
    }
    Ok(())
}

impl SizeChart {
    /// The chart as columns: stratum, measurement, unit, then each figure and its `_error95`.
    pub fn columns(&self) -> ChartColumns {
        let mut names: Vec<String> = ["stratum", "measurement", "unit"]
            .map(String::from)
            .to_vec();
        let figure_names: Vec<String> = ["n", "mean", "sd"]
            .into_iter()
            .map(String::from)
            .chain(PERCENTILES.iter().map(|p| format!("p{p}")))
            .collect();
        for figure in &figure_names {
            names.push(figure.clone());
            names.push(format!("{figure}_error95"));
        }
        let rows = self
            .rows
            .iter()
            .map(|row| {
                let mut cells = vec![
                    Cell::Text(row.stratum.clone()),
                    Cell::Text(row.measurement.clone()),
                    Cell::Text(row.unit.clone()),
                ];
                let mut figures = vec![Some(row.n), row.mean.ok(), row.sd.ok()];
                figures.extend(row.percentiles.iter().map(|p| p.ok()));
                for figure in figures {
                    match figure {
                        Some(f) => cells.extend([Cell::Number(f.value), Cell::Number(f.error95)]),
                        None => cells.extend([Cell::Empty, Cell::Empty]),
                    }
                }
                cells
            })
            .collect();
        ChartColumns { names, rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dp::exact::tests::test_rng;

    fn bounds(name: &str, lower: f64, upper: f64, reference_sd: f64) -> MeasurementBounds {
        ChartMeasurement {
            name: name.into(),
            unit: "mm".into(),
            lower,
            upper,
            step: 1.0,
            reference_mean: (lower + upper) / 2.0,
            reference_sd,
            reference: "test".into(),
        }
    }

    /// `count` people whose single value walks evenly over [lower, upper).
    fn evenly_spread(count: usize, lower: f64, upper: f64, stratum: usize) -> Vec<ChartPerson> {
        (0..count)
            .map(|i| ChartPerson {
                stratum,
                values: vec![lower + (upper - lower) * i as f64 / count as f64],
            })
            .collect()
    }

    /// The strata names of a config without bands.
    fn names(config: &SizeChartConfig) -> Vec<String> {
        config
            .strata
            .names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn one_measurement_config(strata: Strata) -> SizeChartConfig {
        SizeChartConfig {
            measurements: vec!["x".into()],
            strata,
            ..SizeChartConfig::default()
        }
    }

    /// The exact figures of one measurement, computed here from sorted values (not the engine's
    /// histogram arithmetic): mean, SD, and P_q as the smallest value with ≥ q·n at or below.
    fn exact(values: &[f64], grid: &Grid) -> (f64, f64, Vec<f64>) {
        let mut clamped: Vec<f64> = values
            .iter()
            .map(|&v| grid.value(grid.index_of(v)))
            .collect();
        clamped.sort_by(f64::total_cmp);
        let n = clamped.len() as f64;
        let mean = clamped.iter().sum::<f64>() / n;
        let sd = (clamped.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let percentiles = PERCENTILES
            .iter()
            .map(|&p| {
                let needed = (f64::from(p) * n / 100.0).ceil().max(1.0) as usize;
                clamped[needed - 1]
            })
            .collect();
        (mean, sd, percentiles)
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let config: SizeChartConfig = toml::from_str("").unwrap();
        assert_eq!(config, SizeChartConfig::default());
        assert_eq!(
            config.measurements,
            ["chest", "waist", "hips", "waistToFloor"]
        );
        assert_eq!(config.tolerance_sd, 0.25);
        assert!(toml::from_str::<SizeChartConfig>("epsilon = 1\nepsilom = 2").is_err());
        let strata: SizeChartConfig =
            toml::from_str("strata = \"breasts-only-measurements\"").unwrap();
        assert_eq!(strata.strata, Strata::BreastsOnlyMeasurements);
        for bad in [
            "lifetime_epsilon = 0.5",
            "epsilon = 0",
            "epsilon = -1",
            "delta = 0",
            "delta = 1",
            "measurements = []",
            "tolerance_sd = 0",
            "tolerance_sd = -1",
            "reference_sd = { chest = 0 }",
        ] {
            let config: SizeChartConfig = toml::from_str(bad).unwrap();
            assert!(config.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn bounds_come_from_the_catalogue_and_unknown_names_are_refused() {
        let catalog = Catalog::freesewing();
        let reference = |_| {
            Some(Reference {
                mean: 1000.0,
                sd: 100.0,
                source: "test".into(),
            })
        };
        let measurements = SizeChartConfig::default().measurements;
        let (from_schema, columns) =
            bounds_from_catalog(&catalog, &measurements, &reference).unwrap();
        assert_eq!(from_schema.len(), 4);
        assert_eq!(from_schema[0].name, "chest");
        assert_eq!(from_schema[0].reference_sd, 100.0);
        // The plausible range narrowed to the reference mean ± 4 SD.
        let [lower, upper] = catalog.plausible(columns[0]);
        assert_eq!(
            [from_schema[0].lower, from_schema[0].upper],
            [lower.max(600.0), upper.min(1400.0)]
        );
        let no_reference = bounds_from_catalog(&catalog, &measurements[..1], &|_| None);
        assert!(no_reference
            .unwrap_err()
            .to_string()
            .contains("sizechart.reference_sd"));
        let unknown = bounds_from_catalog(&catalog, &["elbowSpan".into()], &reference);
        assert!(unknown.unwrap_err().to_string().contains("elbowSpan"));
        let twice = bounds_from_catalog(&catalog, &["chest".into(), "chest".into()], &reference);
        assert!(twice.is_err());
        let unbounded = [bounds("x", f64::MIN_POSITIVE, f64::MAX, 1.0)];
        let config = one_measurement_config(Strata::None);
        let refused = size_chart(&config, &names(&config), &unbounded, &[]).unwrap_err();
        assert!(
            refused.to_string().contains("finite plausible range"),
            "{refused}"
        );
    }

    #[test]
    fn pick_set_prefers_the_most_complete_set() {
        let nan = f64::NAN;
        let sparse = [1.0, nan, nan, 4.0];
        let chart_rich = [1.0, 2.0, nan, nan];
        let full = [1.0, 2.0, 3.0, nan];
        assert_eq!(pick_set(&[&sparse, &chart_rich], &[0, 1]), Some(1));
        assert_eq!(pick_set(&[&chart_rich, &full], &[0, 1]), Some(1));
        assert_eq!(pick_set(&[&full, &full], &[0, 1]), Some(0));
        assert_eq!(pick_set(&[], &[0]), None);
    }

    #[test]
    fn strata_split_on_breasts_only_measurements() {
        let catalog = Catalog::freesewing();
        let mut set = vec![f64::NAN; catalog.len()];
        set[catalog.index_of("chest").unwrap()] = 1000.0;
        let rule = Strata::BreastsOnlyMeasurements;
        assert_eq!(
            rule.names()[rule.of(&catalog, &set)],
            "without breasts-only measurements"
        );
        set[catalog.index_of("underbust").unwrap()] = 800.0;
        assert_eq!(
            rule.names()[rule.of(&catalog, &set)],
            "with breasts-only measurements"
        );
        assert_eq!(Strata::None.of(&catalog, &set), 0);
    }

    #[test]
    fn bands_cross_the_rule_and_place_people_by_their_own_values() {
        let catalog = Catalog::freesewing();
        let config: SizeChartConfig = toml::from_str(
            "strata = \"breasts-only-measurements\"\n[bands]\nby = [\"chest\", \"waist\"]\ncount = 3\n",
        )
        .unwrap();
        let reference = |index: usize| {
            Some(Reference {
                mean: if catalog.names()[index] == "chest" {
                    1000.0
                } else {
                    800.0
                },
                sd: 100.0,
                source: "test".into(),
            })
        };
        // A schema stratum column (sex: two categories and "other or not stated") between them.
        let sex = vec![
            "sex = f".to_string(),
            "sex = m".to_string(),
            "sex: other or not stated".to_string(),
        ];
        let plan = StrataPlan::new(&config, &catalog, &[sex], &reference).unwrap();
        // 2 rule strata × 3 sexes × (3 bands + none) × (3 bands + none).
        assert_eq!(plan.names().len(), 2 * 3 * 4 * 4);
        let expected =
            "without breasts-only measurements · sex = m · chest 950–1050 mm · waist < 750 mm";
        assert!(
            plan.names().contains(&expected.to_string()),
            "{:?}",
            plan.names()
        );
        let mut set = vec![f64::NAN; catalog.len()];
        set[catalog.index_of("chest").unwrap()] = 1000.0;
        set[catalog.index_of("waist").unwrap()] = 700.0;
        assert_eq!(plan.names()[plan.of(&catalog, &set, &[1])], expected);
        set[catalog.index_of("waist").unwrap()] = f64::NAN;
        let other = &plan.names()[plan.of(&catalog, &set, &[2])];
        assert!(other.ends_with("no waist") && other.contains("other or not stated"));
        assert!(plan.rule(&config).contains("bands of chest × waist"));
        assert!(plan.rule(&config).contains("stratum columns"));
        let unknown: SizeChartConfig = toml::from_str("[bands]\nby = [\"elbowSpan\"]\n").unwrap();
        assert!(StrataPlan::new(&unknown, &catalog, &[], &reference).is_err());
        let bad: SizeChartConfig = toml::from_str("[bands]\nby = []\n").unwrap();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn a_large_chart_publishes_close_figures_within_budget() {
        // 20 000 people evenly over [600, 1400): P_q = 600 + 8q, mean 1000, SD ≈ 230.9.
        let people = evenly_spread(20_000, 600.0, 1400.0, 0);
        let x = [bounds("x", 500.0, 1500.0, 230.0)];
        let config = one_measurement_config(Strata::None);
        let chart =
            size_chart_with(&config, &names(&config), &x, &people, &mut test_rng()).unwrap();
        let row = &chart.rows[0];
        assert!(
            (row.n.value - 20_000.0).abs() <= row.n.error95,
            "{:?}",
            row.n
        );
        let mean = row.mean.unwrap();
        assert!((mean.value - 1000.0).abs() <= mean.error95, "{mean:?}");
        let sd = row.sd.unwrap();
        assert!((sd.value - 230.9).abs() <= sd.error95, "{sd:?}");
        for (figure, &p) in row.percentiles.iter().zip(&PERCENTILES).skip(1).take(7) {
            let figure = figure.expect("20 000 people on one measurement publish P5 … P95");
            let exact = 600.0 + 8.0 * f64::from(p);
            assert!(
                (figure.value - exact).abs() <= figure.error95 + 1.0,
                "P{p}: {figure:?}"
            );
            assert!(figure.error95 <= 0.25 * 230.0, "P{p}: {figure:?}");
        }
        assert!(chart.budget.rho_spent <= chart.budget.rho);
        assert_eq!(check_budget(&chart.budget), Ok(()));
        let json = serde_json::to_string(&chart.budget).unwrap();
        let read: ChartBudget = serde_json::from_str(&json).unwrap();
        assert_eq!(check_budget(&read), Ok(()));
        let mut inflated = read.clone();
        inflated.figures[1].rho *= 20.0;
        assert!(check_budget(&inflated)
            .unwrap_err()
            .contains("the figures spend"));
        let mut loose = read;
        loose.epsilon = 0.5;
        assert!(check_budget(&loose).unwrap_err().contains("exceeds"));
    }

    #[test]
    fn small_strata_publish_only_what_meets_the_tolerance() {
        let mut people = evenly_spread(5_000, 600.0, 800.0, 0);
        people.extend(evenly_spread(3, 1200.0, 1300.0, 1));
        let x = [bounds("x", 500.0, 1500.0, 60.0)];
        let config = one_measurement_config(Strata::BreastsOnlyMeasurements);
        let chart =
            size_chart_with(&config, &names(&config), &x, &people, &mut test_rng()).unwrap();
        assert_eq!(chart.rows.len(), 2);
        let median = chart.rows[0].percentiles[4].unwrap();
        assert!(
            (median.value - 700.0).abs() <= median.error95 + 1.0,
            "{median:?}"
        );
        let tiny = &chart.rows[1];
        assert_eq!(tiny.mean, Err(Withheld::TooFewPeople));
        assert!(tiny
            .percentiles
            .iter()
            .all(|p| *p == Err(Withheld::TooFewPeople)));
        // P1 and P99 of 5 000 people cannot meet a quarter of an SD at this budget.
        assert!(chart.rows[0].percentiles[0].is_err());
        assert!(chart.withheld()[&Withheld::TooFewPeople] >= 11);
        let columns = chart.columns();
        assert_eq!(columns.names.len(), 3 + 2 * 12);
        assert!(columns.rows.iter().all(|r| r.len() == columns.names.len()));
        assert_eq!(columns.names[15], "p25");
        assert_eq!(columns.rows[1][5], Cell::Empty);
    }

    #[test]
    fn error_bars_hold_on_skewed_and_lumpy_data() {
        // 3 000 people: a lump of 1 200 at exactly 700 mm, a long right tail, a gap. Dense-data
        // error estimates fail on such shapes; the bounds must still hold in ≥ 95 % of charts.
        let mut values: Vec<f64> = vec![700.0; 1200];
        values.extend((0..1200).map(|i| 650.0 + (i as f64 / 1200.0).powi(3) * 700.0));
        values.extend((0..600).map(|i| 1100.0 + i as f64 * 0.5));
        let people: Vec<ChartPerson> = values
            .iter()
            .map(|&v| ChartPerson {
                stratum: 0,
                values: vec![v],
            })
            .collect();
        let x = [bounds("x", 400.0, 1600.0, 150.0)];
        let grid = grid_of(&x[0]);
        let (mean, sd, percentiles) = exact(&values, &grid);
        let config = SizeChartConfig {
            epsilon: 2.0,
            ..one_measurement_config(Strata::None)
        };
        let mut rng = test_rng();
        let (mut published, mut missed) = (0, 0);
        for _ in 0..60 {
            let chart = size_chart_with(&config, &names(&config), &x, &people, &mut rng).unwrap();
            let row = &chart.rows[0];
            let mut figures = vec![(row.mean, mean), (row.sd, sd)];
            figures.extend(
                row.percentiles
                    .iter()
                    .copied()
                    .zip(percentiles.iter().copied()),
            );
            for (figure, truth) in figures {
                if let Ok(figure) = figure {
                    published += 1;
                    missed += usize::from((figure.value - truth).abs() > figure.error95 + 1e-9);
                }
            }
        }
        assert!(published >= 120, "{published} figures published");
        assert!(
            missed * 20 <= published,
            "{missed} of {published} bounds missed"
        );
    }

    #[test]
    fn neighbours_out_of_order_are_both_withheld() {
        let figure = |value| {
            Ok(Figure {
                value,
                error95: 1.0,
            })
        };
        let mut percentiles = vec![
            figure(1.0),
            Err(Withheld::TooFewPeople),
            figure(3.0),
            figure(2.0),
            figure(4.0),
        ];
        withhold_out_of_order(&mut percentiles);
        assert_eq!(percentiles[0], figure(1.0));
        assert_eq!(percentiles[2], Err(Withheld::OutOfOrder));
        assert_eq!(percentiles[3], Err(Withheld::OutOfOrder));
        assert_eq!(percentiles[4], figure(4.0));
    }

    #[test]
    fn missing_values_are_left_out_and_bad_rows_refused() {
        let mut people = evenly_spread(1_000, 600.0, 800.0, 0);
        for person in &mut people {
            person.values.push(f64::NAN);
        }
        let config = SizeChartConfig {
            measurements: vec!["x".into(), "y".into()],
            ..SizeChartConfig::default()
        };
        let two = [
            bounds("x", 500.0, 1500.0, 60.0),
            bounds("y", 500.0, 1500.0, 60.0),
        ];
        let chart =
            size_chart_with(&config, &names(&config), &two, &people, &mut test_rng()).unwrap();
        assert!(chart.rows[1].n.value.abs() <= chart.rows[1].n.error95);
        let refused = size_chart_with(
            &config,
            &names(&config),
            &two[..1],
            &people,
            &mut test_rng(),
        );
        assert!(refused
            .unwrap_err()
            .to_string()
            .contains("person 1 has 2 values"));
    }

    #[test]
    fn the_public_entry_point_draws_fresh_noise_each_time() {
        let people = evenly_spread(2_000, 600.0, 800.0, 0);
        let config = one_measurement_config(Strata::None);
        let one = [bounds("x", 500.0, 1500.0, 60.0)];
        let first = size_chart(&config, &names(&config), &one, &people).unwrap();
        let differs =
            (0..5).any(|_| size_chart(&config, &names(&config), &one, &people).unwrap() != first);
        assert!(differs, "five charts in a row came out identical");
    }
}
