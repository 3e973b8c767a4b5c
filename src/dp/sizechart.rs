//! A differentially private size chart: n, mean, SD and nine percentiles of key measurements.
//!
//! **Privacy unit and input.** The unit is the person. The caller passes one [`ChartPerson`] per
//! person: their values of the chart's measurements from *one* set, chosen by [`pick_set`] (the
//! set with the most chart measurements, then the most measurements overall, then the first in the
//! caller's order) — a choice that looks only at that person's own sets, so adding or removing a
//! person changes exactly one input row. Values are clamped to public bounds (the schema's
//! plausible range) and rounded to a public grid (1 mm), so every figure's sensitivity is a
//! public constant.
//!
//! **Procedure, per stratum and measurement** (strata are disjoint and each person's stratum
//! depends only on their own values, so strata compose in parallel and each gets the whole ρ):
//! 1. `n` by the discrete Gaussian mechanism (sensitivity 1);
//! 2. P1 … P99, each by the exponential mechanism over the grid ([`super::quantile`]), sorted
//!    afterwards (post-processing; sorting never increases the largest error). A percentile is
//!    published only where the mechanism can locate it: when its 95 % rank error is below half
//!    the number of people beyond it (q·n or (1-q)·n), judged on the noisy n. Below that the
//!    empty grid past the data outweighs the data and the draw says little (P1 and P99 need
//!    about 40 000 people);
//! 3. the sum and the sum of squares of the values' distances from the private median, clamped to
//!    a window of ±min(2.5·max(P95 - P50, P50 - P5), 6·max(P75 - P50, P50 - P25)) around it
//!    (about ±4 SD; chosen from private outputs, so it is public from here on: adaptive
//!    composition), by the discrete Gaussian mechanism with sensitivities `R` and `R²`; mean
//!    and SD follow from them and `n` (post-processing).
//!
//! The split of each measurement's ρ (out of 100 parts: 20 each for P5, P50 and P95, 4 for each
//! other percentile, 3 for n, 5 for the sum, 8 for the sum of squares) favours the percentiles a
//! size chart is read by; [`SizeChart::budget`] records it with the mechanism of every figure,
//! and the [`Accountant`] refuses any overspend. Everything after the noise (the SD formula, the error
//! estimates, the rounding) is post-processing of noisy figures and public constants, which adds
//! no risk.

use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use super::budget::{rho_for, Accountant, Mechanism};
pub use super::config::{SizeChartConfig, Strata};
use super::exact::Fraction;
use super::gaussian::DiscreteGaussian;
use super::quantile::{exponential_quantile, rank_error95, Grid};
use crate::error::{Error, Result};
use crate::measurements::Catalog;

/// The percentiles of the chart, in order.
pub const PERCENTILES: [u32; 9] = [1, 5, 10, 25, 50, 75, 90, 95, 99];

/// Parts of a measurement's ρ for each percentile, aligned with [`PERCENTILES`]: P5, P50 and P95,
/// the figures a size chart is read by (and the ones with accuracy targets), get five times the
/// share of the others.
const PERCENTILE_PARTS: [u32; 9] = [4, 20, 4, 4, 20, 4, 4, 20, 4];
const COUNT_PARTS: u32 = 3;
const SUM_PARTS: u32 = 5;
const SQUARES_PARTS: u32 = 8;
const TOTAL_PARTS: u32 = {
    let mut total = COUNT_PARTS + SUM_PARTS + SQUARES_PARTS;
    let mut level = 0;
    while level < PERCENTILE_PARTS.len() {
        total += PERCENTILE_PARTS[level];
        level += 1;
    }
    total
};

/// Below this noisy count only `n` is published: mean, SD and percentiles of a handful of people
/// would be mostly noise.
pub const MIN_PEOPLE_FOR_FIGURES: f64 = 20.0;

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

/// A chart measurement with its public bounds and grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementBounds {
    /// The measurement's schema name (a configured alias resolves to it).
    pub name: String,
    /// Its unit (`mm`, `deg`), from the schema.
    pub unit: String,
    /// The plausible range values are clamped to.
    pub lower: f64,
    /// The upper end of that range. The bounds and the step are public, fixed before the data are
    /// seen, which is what makes every figure's sensitivity a public constant.
    pub upper: f64,
    /// The grid step (1 mm; 0.5° for angles).
    pub step: f64,
}

impl MeasurementBounds {
    /// The bounds of the configured measurements from the schema's catalogue, and their catalogue
    /// indices (for [`pick_set`] and for building [`ChartPerson`] rows).
    pub fn from_catalog(catalog: &Catalog, names: &[String]) -> Result<(Vec<Self>, Vec<usize>)> {
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
            let [lower, upper] = catalog.plausible(index);
            if !(lower.is_finite() && upper.is_finite()) {
                return Err(Error::InvalidArgument {
                    name: "sizechart.measurements",
                    problem: format!(
                        "`{name}` has no `plausible` range in the schema: the chart clamps to \
                         public bounds"
                    ),
                });
            }
            bounds.push(MeasurementBounds {
                name: catalog.names()[index].clone(),
                unit: catalog.unit(index).to_string(),
                lower,
                upper,
                step: catalog.rounding(index),
            });
            columns.push(index);
        }
        Ok((bounds, columns))
    }

    fn grid(&self) -> Grid {
        Grid::new(self.lower, self.upper, self.step)
    }
}

/// One person's input: their stratum and their values of the chart's measurements, in the order
/// of the bounds (NaN = not measured).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPerson {
    /// Index of the person's stratum in [`Strata::names`], from [`Strata::of`] on their chosen set.
    pub stratum: usize,
    /// One value per chart measurement, in the order of the bounds (NaN = not measured).
    pub values: Vec<f64>,
}

/// A published figure with the half-width of an interval that holds the exact value in about
/// 95 % of releases (from the noise scales and the noisy figures only, so itself private).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figure {
    /// The published value (noisy, then rounded), in the measurement's unit (people for `n`).
    pub value: f64,
    /// Half-width of the interval around `value` that holds the exact figure in about 95 % of
    /// releases.
    pub error95: f64,
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
    /// `None` when the noisy n is below [`MIN_PEOPLE_FOR_FIGURES`].
    pub mean: Option<Figure>,
    /// `None` also when the noisy variance is not positive.
    pub sd: Option<Figure>,
    /// Aligned with [`PERCENTILES`]; `None` where the percentile is not published (too few people
    /// to locate it, see the module documentation), all `None` when `mean` is `None`.
    pub percentiles: Vec<Option<Figure>>,
}

/// How one kind of figure was noised, the same for every measurement and stratum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureBudget {
    /// Which figure: `n`, `P1` … `P99`, or one of the two sums behind the mean and the SD.
    pub figure: String,
    /// The mechanism that noised it, which fixes how its cost is counted in ρ.
    pub mechanism: Mechanism,
    /// The zCDP ρ the figure spends, per measurement and stratum.
    pub rho: f64,
    /// ε of the exponential mechanism (pure DP), where that is the mechanism.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// Noise SD in the figure's own units (people, grid steps, squared grid steps), for the
    /// Gaussian figures whose sensitivity is fixed in advance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise_sd: Option<f64>,
}

/// The chart's budget: what was configured, the zCDP total, and how it was split. Serialized into
/// the release report, and read back by [`ChartBudget::check`] in `verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartBudget {
    /// The configured ε of the whole chart.
    pub epsilon: f64,
    /// The configured δ of the whole chart.
    pub delta: f64,
    /// The zCDP budget of each stratum: the largest ρ whose conversion meets (ε, δ)
    /// ([`rho_for`](crate::dp::budget::rho_for)).
    pub rho: f64,
    /// The neighbouring datasets the guarantee is stated for (one person added or removed).
    pub neighbours: String,
    /// How the figures' costs add up and how ρ converts to (ε, δ), with citations.
    pub composition: String,
    /// Number of chart measurements; each gets an equal share of ρ.
    pub measurements: usize,
    /// ρ of each measurement in each stratum (ρ / `measurements`, less a relative 10⁻⁹ of slack).
    pub rho_per_measurement: f64,
    /// How one measurement's ρ is split over its figures, the same for every measurement and
    /// stratum.
    pub figures: Vec<FigureBudget>,
    /// ρ actually spent in the most expensive stratum (≤ `rho`).
    pub rho_spent: f64,
}

impl ChartBudget {
    /// Checks, from the recorded figures alone, that the chart did not spend more than its
    /// configured (ε, δ): the ρ matches the conversion, the figures of all measurements add up
    /// to at most ρ, each exponential mechanism's ε costs at most its ρ, and the spent ρ is
    /// within the total. For `verify`, which has no raw data.
    pub fn check(&self) -> std::result::Result<(), String> {
        let allowed = rho_for(self.epsilon, self.delta);
        if self.rho > allowed * (1.0 + 1e-9) {
            return Err(format!(
                "ρ = {:e} exceeds the {allowed:e} that (ε = {}, δ = {}) allows",
                self.rho, self.epsilon, self.delta
            ));
        }
        let planned: f64 =
            self.figures.iter().map(|f| f.rho).sum::<f64>() * self.measurements as f64;
        if planned > self.rho || self.rho_spent > self.rho {
            return Err(format!(
                "the figures spend ρ = {planned:e} (recorded as spent: {:e}) of ρ = {:e}",
                self.rho_spent, self.rho
            ));
        }
        for figure in &self.figures {
            let pure = figure.epsilon.unwrap_or(0.0);
            if pure * pure / 8.0 > figure.rho * (1.0 + 1e-9) {
                return Err(format!(
                    "{}: ε = {pure} costs more than its ρ = {:e}",
                    figure.figure, figure.rho
                ));
            }
        }
        Ok(())
    }
}

/// A DP size chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeChart {
    /// The strata's names, in [`Strata::names`] order.
    pub strata: Vec<String>,
    /// One row per stratum and measurement: stratum by stratum, measurements in configured order.
    pub rows: Vec<ChartRow>,
    /// What the chart spent and how, for the release report (checked by [`ChartBudget::check`]).
    pub budget: ChartBudget,
}

/// One value of a chart table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A label: the stratum, measurement or unit.
    Text(String),
    /// A published figure or its `_error95`.
    Number(f64),
    /// Not published (too few people).
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
pub fn size_chart(
    config: &SizeChartConfig,
    bounds: &[MeasurementBounds],
    people: &[ChartPerson],
) -> Result<SizeChart> {
    size_chart_with(config, bounds, people, &mut super::os_rng())
}

/// [`size_chart`] with a given generator: private, so that only tests can pass a seeded one.
fn size_chart_with<R: RngCore + CryptoRng>(
    config: &SizeChartConfig,
    bounds: &[MeasurementBounds],
    people: &[ChartPerson],
    rng: &mut R,
) -> Result<SizeChart> {
    config.validate()?;
    let strata = config.strata.names();
    check_input(bounds, people, strata.len())?;
    let rho = rho_for(config.epsilon, config.delta);
    let plan = BudgetPlan::new(rho, bounds.len());
    let mut rows = Vec::with_capacity(strata.len() * bounds.len());
    let mut rho_spent = 0f64;
    for (stratum, stratum_name) in strata.iter().enumerate() {
        let mut accountant = Accountant::new(rho);
        for (column, measurement) in bounds.iter().enumerate() {
            let grid = measurement.grid();
            let indices: Vec<usize> = people
                .iter()
                .filter(|p| p.stratum == stratum)
                .map(|p| p.values[column])
                .filter(|v| !v.is_nan())
                .map(|v| grid.index_of(v))
                .collect();
            let figures = MeasurementFigures::compute(
                &grid,
                &indices,
                &plan,
                &mut accountant,
                &measurement.name,
                rng,
            )?;
            rows.push(figures.into_row(stratum_name, measurement, &grid, &plan));
        }
        rho_spent = rho_spent.max(accountant.spent_rho());
    }
    Ok(SizeChart {
        strata: strata.iter().map(|s| s.to_string()).collect(),
        rows,
        budget: plan.report(config, rho_spent),
    })
}

/// Grids of more points than this are refused: a measurement without a real plausible range.
const MAX_GRID_POINTS: f64 = 1_000_000.0;

/// Every measurement has a finite range and step; every row has one value per measurement and a
/// known stratum; values are numbers or NaN.
fn check_input(bounds: &[MeasurementBounds], people: &[ChartPerson], strata: usize) -> Result<()> {
    for measurement in bounds {
        let points = (measurement.upper - measurement.lower) / measurement.step;
        if !(measurement.lower.is_finite() && points.is_finite() && points > 0.0)
            || points > MAX_GRID_POINTS
        {
            return Err(Error::InvalidArgument {
                name: "sizechart.measurements",
                problem: format!(
                    "`{}` needs a finite plausible range in the dataset schema, at most {MAX_GRID_POINTS} steps wide",
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

/// The ρ of each figure of one measurement.
struct BudgetPlan {
    rho: f64,
    measurements: usize,
    per_measurement: f64,
    /// Aligned with [`PERCENTILES`].
    percentiles: [f64; 9],
    count: f64,
    sum: f64,
    squares: f64,
}

impl BudgetPlan {
    fn new(rho: f64, measurements: usize) -> Self {
        // A relative 10⁻⁹ of slack absorbs the rounding of the float sum in the accountant.
        let per_measurement = rho / measurements as f64 * (1.0 - 1e-9);
        let part = |parts: u32| per_measurement * f64::from(parts) / f64::from(TOTAL_PARTS);
        BudgetPlan {
            rho,
            measurements,
            per_measurement,
            percentiles: PERCENTILE_PARTS.map(part),
            count: part(COUNT_PARTS),
            sum: part(SUM_PARTS),
            squares: part(SQUARES_PARTS),
        }
    }

    /// ε of a percentile's exponential mechanism: the largest float ε with ε²/8 ≤ ρ, exactly.
    fn percentile_epsilon(&self, level: usize) -> Fraction {
        let rho = Fraction::from_f64(self.percentiles[level]).expect("ρ is a positive number");
        let mut epsilon = (8.0 * self.percentiles[level]).sqrt();
        loop {
            let exact = Fraction::from_f64(epsilon).expect("ε is a positive number");
            let cost = exact.times(&exact).times(&Fraction::new(1u32, 8u32));
            if cost.at_most(&rho) {
                return exact;
            }
            epsilon = epsilon.next_down();
        }
    }

    fn report(&self, config: &SizeChartConfig, rho_spent: f64) -> ChartBudget {
        let count_noise = DiscreteGaussian::for_rho(1, self.count).sd();
        let mut figures = vec![FigureBudget {
            figure: "n".into(),
            mechanism: Mechanism::DiscreteGaussian,
            rho: self.count,
            epsilon: None,
            noise_sd: Some(count_noise),
        }];
        figures.extend(
            PERCENTILES
                .iter()
                .enumerate()
                .map(|(level, p)| FigureBudget {
                    figure: format!("P{p}"),
                    mechanism: Mechanism::ExponentialMechanism,
                    rho: self.percentiles[level],
                    epsilon: Some(self.percentile_epsilon(level).to_f64()),
                    noise_sd: None,
                }),
        );
        for (figure, rho) in [
            ("sum of distances from P50 (for the mean)", self.sum),
            (
                "sum of squared distances from P50 (for the SD)",
                self.squares,
            ),
        ] {
            figures.push(FigureBudget {
                figure: figure.into(),
                mechanism: Mechanism::DiscreteGaussian,
                rho,
                epsilon: None,
                noise_sd: None,
            });
        }
        ChartBudget {
            epsilon: config.epsilon,
            delta: config.delta,
            rho: self.rho,
            neighbours: "add or remove one person (each person contributes one set)".into(),
            composition: "zCDP: ρ adds up over the figures and measurements of a stratum \
                          (Bun & Steinke 2016); strata hold disjoint people and compose in \
                          parallel; ρ to (ε, δ) by Canonne, Kamath & Steinke 2020, Corollary 13"
                .into(),
            measurements: self.measurements,
            rho_per_measurement: self.per_measurement,
            figures,
            rho_spent,
        }
    }
}

/// The noisy figures of one measurement in one stratum, in grid units.
struct MeasurementFigures {
    n: f64,
    /// Present when n is large enough to publish more than n.
    detail: Option<Detail>,
}

struct Detail {
    /// Grid indices, sorted, aligned with [`PERCENTILES`].
    percentiles: Vec<usize>,
    /// Mean and variance in grid units, with the noise SDs of the two sums.
    mean: f64,
    variance: f64,
    sum_noise_sd: f64,
    squares_noise_sd: f64,
}

impl MeasurementFigures {
    fn compute<R: RngCore + CryptoRng>(
        grid: &Grid,
        indices: &[usize],
        plan: &BudgetPlan,
        accountant: &mut Accountant,
        name: &str,
        rng: &mut R,
    ) -> Result<Self> {
        let count = DiscreteGaussian::for_rho(1, plan.count);
        accountant.spend(format!("{name} n"), Mechanism::DiscreteGaussian, plan.count)?;
        let n = count.add_to(indices.len() as i128, rng).max(0) as f64;
        if n < MIN_PEOPLE_FOR_FIGURES {
            return Ok(MeasurementFigures { n, detail: None });
        }
        let histogram = grid.histogram(indices);
        let mut percentiles = Vec::with_capacity(PERCENTILES.len());
        for (level, &percent) in PERCENTILES.iter().enumerate() {
            accountant.spend(
                format!("{name} P{percent}"),
                Mechanism::ExponentialMechanism,
                plan.percentiles[level],
            )?;
            let epsilon = plan.percentile_epsilon(level);
            percentiles.push(exponential_quantile(&histogram, percent, &epsilon, rng));
        }
        percentiles.sort_unstable();
        let centre = percentiles[4] as i128;
        let spread = |low: usize, high: usize| {
            (percentiles[high] as i128 - centre).max(centre - percentiles[low] as i128) as f64
        };
        // About ±4 SD for a normal distribution, from P5/P95 or from the quartiles, whichever is
        // narrower: a percentile the data cannot locate lands out in the empty grid, too far.
        let radius = (2.5 * spread(1, 7)).min(6.0 * spread(3, 5)).ceil() as i128;
        let radius = radius.clamp(1, grid.points as i128);
        let (mut sum, mut squares) = (0i128, 0i128);
        for &i in indices {
            let distance = (i as i128 - centre).clamp(-radius, radius);
            sum += distance;
            squares += distance * distance;
        }
        let sum_noise = DiscreteGaussian::for_rho(radius as u64, plan.sum);
        accountant.spend(format!("{name} sum"), Mechanism::DiscreteGaussian, plan.sum)?;
        let squares_noise = DiscreteGaussian::for_rho((radius * radius) as u64, plan.squares);
        accountant.spend(
            format!("{name} sum of squares"),
            Mechanism::DiscreteGaussian,
            plan.squares,
        )?;
        let mean_distance = sum_noise.add_to(sum, rng) as f64 / n;
        let mean_square = squares_noise.add_to(squares, rng) as f64 / n;
        Ok(MeasurementFigures {
            n,
            detail: Some(Detail {
                percentiles,
                mean: centre as f64 + mean_distance,
                variance: (mean_square - mean_distance * mean_distance).max(0.0),
                sum_noise_sd: sum_noise.sd(),
                squares_noise_sd: squares_noise.sd(),
            }),
        })
    }

    /// Converts grid units to the measurement's units, rounds, and adds the error estimates.
    fn into_row(
        self,
        stratum: &str,
        measurement: &MeasurementBounds,
        grid: &Grid,
        plan: &BudgetPlan,
    ) -> ChartRow {
        let count_sd = DiscreteGaussian::for_rho(1, plan.count).sd();
        let mut row = ChartRow {
            stratum: stratum.to_string(),
            measurement: measurement.name.clone(),
            unit: measurement.unit.clone(),
            n: Figure {
                value: self.n,
                error95: round_to(1.96 * count_sd, 0.1),
            },
            mean: None,
            sd: None,
            percentiles: vec![None; PERCENTILES.len()],
        };
        let Some(detail) = self.detail else {
            return row;
        };
        let step = grid.step;
        let n = self.n;
        let sd = detail.variance.sqrt();
        row.mean = Some(Figure {
            value: round_to(grid.lower + detail.mean * step, 0.1),
            error95: round_to(1.96 * detail.sum_noise_sd / n * step, 0.1),
        });
        // Delta method: Var(√V) ≈ Var(V)/(4V).
        let sd_error = 1.96 * detail.squares_noise_sd / n / (2.0 * sd);
        // A noisy variance of zero or below says nothing about the spread: no SD then.
        row.sd = (detail.variance > 0.0).then(|| Figure {
            value: round_to(sd * step, 0.1),
            error95: round_to(sd_error * step, 0.1),
        });
        row.percentiles = (0..PERCENTILES.len())
            .map(|j| {
                let rank_error = rank_error95(plan.percentile_epsilon(j).to_f64());
                let beyond = f64::from(PERCENTILES[j].min(100 - PERCENTILES[j])) / 100.0 * n;
                if rank_error > beyond / 2.0 {
                    return None;
                }
                // Grid steps per person near P_j, from the neighbouring private percentiles.
                let (below, above) = (j.saturating_sub(1), (j + 1).min(PERCENTILES.len() - 1));
                let people_between = f64::from(PERCENTILES[above] - PERCENTILES[below]) / 100.0 * n;
                let steps_between = (detail.percentiles[above] - detail.percentiles[below]) as f64;
                let slope = steps_between / people_between.max(1.0);
                Some(Figure {
                    value: grid.value(detail.percentiles[j]),
                    error95: round_to((rank_error * slope + 0.5) * step, 0.1),
                })
            })
            .collect();
        row
    }
}

/// Rounds to a multiple of `unit` (post-processing for display).
fn round_to(value: f64, unit: f64) -> f64 {
    (value / unit).round() * unit
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
                let mut figures = vec![Some(row.n), row.mean, row.sd];
                figures.extend(row.percentiles.iter().copied());
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

    fn bounds(name: &str, lower: f64, upper: f64) -> MeasurementBounds {
        MeasurementBounds {
            name: name.into(),
            unit: "mm".into(),
            lower,
            upper,
            step: 1.0,
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

    /// The chart of one measurement `x` on [500, 1500] mm with the default budget.
    fn one_measurement_chart(people: &[ChartPerson], strata: Strata) -> SizeChart {
        let config = SizeChartConfig {
            measurements: vec!["x".into()],
            strata,
            ..SizeChartConfig::default()
        };
        let x = [bounds("x", 500.0, 1500.0)];
        size_chart_with(&config, &x, people, &mut test_rng()).unwrap()
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let config: SizeChartConfig = toml::from_str("").unwrap();
        assert_eq!(config, SizeChartConfig::default());
        assert_eq!(config.measurements.len(), 8);
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
        ] {
            let config: SizeChartConfig = toml::from_str(bad).unwrap();
            assert!(config.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn bounds_come_from_the_catalogue_and_unknown_names_are_refused() {
        let catalog = Catalog::freesewing();
        let (from_schema, columns) =
            MeasurementBounds::from_catalog(&catalog, &SizeChartConfig::default().measurements)
                .unwrap();
        assert_eq!(from_schema.len(), 8);
        assert_eq!(from_schema[0].name, "chest");
        assert_eq!(
            [from_schema[0].lower, from_schema[0].upper],
            catalog.plausible(columns[0])
        );
        let unknown = MeasurementBounds::from_catalog(&catalog, &["elbowSpan".into()]);
        assert!(unknown.unwrap_err().to_string().contains("elbowSpan"));
        let twice = MeasurementBounds::from_catalog(&catalog, &["chest".into(), "chest".into()]);
        assert!(twice.is_err());
        let config = SizeChartConfig {
            measurements: vec!["x".into()],
            ..SizeChartConfig::default()
        };
        let unbounded = [bounds("x", f64::MIN_POSITIVE, f64::MAX)];
        let refused = size_chart(&config, &unbounded, &[]).unwrap_err();
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
    fn chart_of_evenly_spread_values_is_close_and_within_budget() {
        // 20 000 people evenly over [600, 1400): P_q = 600 + 8q, mean 1000, SD 800/√12 ≈ 230.9.
        let people = evenly_spread(20_000, 600.0, 1400.0, 0);
        let chart = one_measurement_chart(&people, Strata::None);
        let row = &chart.rows[0];
        assert!(
            (row.n.value - 20_000.0).abs() < 4.0 * row.n.error95,
            "{:?}",
            row.n
        );
        let mean = row.mean.unwrap();
        assert!((mean.value - 1000.0).abs() < 10.0, "{mean:?}");
        assert!((row.sd.unwrap().value - 230.9).abs() < 10.0, "{:?}", row.sd);
        for (figure, &p) in row.percentiles.iter().zip(&PERCENTILES) {
            let figure = figure.expect("20 000 people locate every percentile");
            let exact = 600.0 + 8.0 * f64::from(p);
            // One measurement gets all of ρ here: the rank error is ~25 people = 1 mm.
            assert!((figure.value - exact).abs() <= 8.0, "P{p}: {figure:?}");
            assert!(figure.error95 > 0.0);
        }
        assert!(chart.budget.rho_spent <= chart.budget.rho);
        assert_eq!(chart.budget.figures.len(), 12);
        // The recorded budget survives a JSON round trip and passes the verify check; a report
        // whose budget was inflated fails it.
        let json = serde_json::to_string(&chart.budget).unwrap();
        let read: ChartBudget = serde_json::from_str(&json).unwrap();
        assert_eq!(read.check(), Ok(()));
        let mut inflated = read.clone();
        inflated.figures[1].rho *= 2.0;
        assert!(inflated.check().unwrap_err().contains("the figures spend"));
        let mut loose = read;
        loose.epsilon = 0.5;
        assert!(loose.check().unwrap_err().contains("exceeds"));
    }

    #[test]
    fn strata_are_computed_separately_and_tiny_ones_publish_only_n() {
        let mut people = evenly_spread(5_000, 600.0, 800.0, 0);
        people.extend(evenly_spread(3, 1200.0, 1300.0, 1));
        let chart = one_measurement_chart(&people, Strata::BreastsOnlyMeasurements);
        assert_eq!(chart.rows.len(), 2);
        let median = chart.rows[0].percentiles[4].unwrap().value;
        assert!((median - 700.0).abs() < 10.0, "{median}");
        let tiny = &chart.rows[1];
        let published = tiny.n.value >= MIN_PEOPLE_FOR_FIGURES;
        assert_eq!(tiny.mean.is_some(), published);
        assert_eq!(tiny.percentiles.len(), 9);
        assert!(
            tiny.percentiles.iter().all(Option::is_none),
            "3 people locate no percentile"
        );
        // 5 000 people locate P5 … P95 but not P1 and P99.
        let located: Vec<bool> = chart.rows[0]
            .percentiles
            .iter()
            .map(Option::is_some)
            .collect();
        assert_eq!(
            located,
            [false, true, true, true, true, true, true, true, false]
        );
        let columns = chart.columns();
        assert_eq!(columns.names.len(), 3 + 2 * 12);
        assert!(columns.rows.iter().all(|r| r.len() == columns.names.len()));
        assert_eq!(columns.names[15], "p25");
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
        let two = [bounds("x", 500.0, 1500.0), bounds("y", 500.0, 1500.0)];
        let chart = size_chart_with(&config, &two, &people, &mut test_rng()).unwrap();
        assert!(chart.rows[1].n.value < 3.0 * chart.rows[1].n.error95);
        let refused = size_chart_with(&config, &two[..1], &people, &mut test_rng());
        assert!(refused
            .unwrap_err()
            .to_string()
            .contains("person 1 has 2 values"));
    }

    #[test]
    fn the_public_entry_point_draws_fresh_noise_each_time() {
        let people = evenly_spread(2_000, 600.0, 800.0, 0);
        let config = SizeChartConfig {
            measurements: vec!["x".into()],
            ..SizeChartConfig::default()
        };
        let one = [bounds("x", 500.0, 1500.0)];
        let first = size_chart(&config, &one, &people).unwrap();
        let differs = (0..5).any(|_| size_chart(&config, &one, &people).unwrap() != first);
        assert!(differs, "five charts in a row came out identical");
    }
}
