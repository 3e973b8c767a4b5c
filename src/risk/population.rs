//! Population uniqueness: how many people in the whole population are alone
//! in their equivalence class, estimated from the sample's class histogram.
//!
//! A record unique in the sample need not be unique in the population it was
//! drawn from, and only population uniques can be re-identified with
//! certainty by linking to an outside register. The population's class
//! sizes are unknown, so they are modelled statistically. Following ARX 3.9
//! (`RiskModelPopulationUniqueness`, `ModelPitman`, `ModelZayatz`,
//! `ModelSNB`) three models are fitted and Dankar's decision rule picks one:
//!
//! * **Pitman** — the two-parameter Poisson–Dirichlet (Pitman 1996) fitted
//!   by maximum likelihood as proposed by Hoshino (2001), "Applying Pitman's
//!   sampling formula to microdata disclosure risk assessment";
//! * **Zayatz** (1991), "Estimation of the number of unique population
//!   elements using a sample", which scales the sample uniques by the
//!   hypergeometric chance that a sample unique is also a population unique;
//! * **SNB**, the shifted negative binomial model of Chen & McNulty (1998),
//!   "Estimation of sample and population uniques", with the number of
//!   non-empty population classes estimated by Haas et al.'s (1995)
//!   Shlosser-type estimator;
//! * **Dankar's rule** from Dankar, El Emam, Neisa & Roffey (2012),
//!   "Estimating the re-identification risk of clinical data sets": Pitman
//!   for sampling fractions up to 10 % (Zayatz if Pitman fails), otherwise
//!   the smaller of SNB and Zayatz (Zayatz if SNB fails).
//!
//! Where this module departs from ARX, on purpose:
//!
//! * ARX's SNB code carries two slips against the published formulas — in the
//!   Shlosser estimator it subtracts 1 per histogram entry instead of
//!   multiplying the `(1 + f)^i − 1` term by the class count, and in the
//!   size-2 equation it multiplies by `(1 − d)^(α+2)` where the model divides
//!   by it. The size-2 equation then has no root at small sampling
//!   fractions (its left side is of order k·f², far below the observed
//!   count), the solver fails and ARX silently reports 0. The formulas here
//!   are the published ones, and they have a root on the ARX benchmark data.
//! * ARX restarts a failed Newton–Raphson run from random points; here the
//!   solver is damped (step halving) and deterministic, and a model that
//!   cannot be fitted says why instead of reporting 0.
//! * ARX clamps populations above 2³¹ − 1 in the Zayatz model; here any
//!   `u64` population is handled.
//!
//! As in ARX, a sample without uniques gets a population-uniqueness estimate
//! of exactly 0 from every model.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use statrs::function::gamma::{digamma, ln_gamma};

use super::classes::ClassHistogram;

/// Sampling fractions up to this use Pitman in Dankar's rule.
const DANKAR_PITMAN_MAX_SAMPLING_FRACTION: f64 = 0.1;
/// The solver iterates until every residual is at most this in absolute value.
const SOLVER_TOLERANCE: f64 = 1e-10;
/// When rounding keeps the residual from reaching [`SOLVER_TOLERANCE`], a
/// point is still accepted as a root below this, the accuracy ARX demands.
const SOLVER_ACCEPTABLE_RESIDUAL: f64 = 1e-6;
/// Newton–Raphson steps allowed per start point.
const SOLVER_MAX_ITERATIONS: usize = 500;
/// Step halvings allowed before the damped Newton step counts as stalled.
const SOLVER_MAX_HALVINGS: usize = 60;
/// Start points tried for SNB, taken best-first from a coarse residual scan.
const SNB_START_POINTS: usize = 8;

/// One of the statistical models of the population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopulationModel {
    /// Pitman's sampling formula (Hoshino 2001).
    Pitman,
    /// Zayatz's conditional-uniqueness estimator (Zayatz 1991).
    Zayatz,
    /// Shifted negative binomial (Chen & McNulty 1998).
    Snb,
}

/// Outcome of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Estimate {
    /// The model was fitted.
    Estimated {
        /// Expected number of population uniques.
        population_uniques: f64,
        /// `population_uniques / population size`.
        fraction: f64,
    },
    /// The model cannot give an estimate for this sample (no root of its
    /// equations, too little data, or a fit outside the model's validity);
    /// `reason` says which.
    Unavailable {
        /// Plain-language cause.
        reason: String,
    },
}

impl Estimate {
    /// Share of the population that is unique, if the model was fitted.
    pub fn fraction(&self) -> Option<f64> {
        match self {
            Estimate::Estimated { fraction, .. } => Some(*fraction),
            Estimate::Unavailable { .. } => None,
        }
    }

    fn from_uniques(population_uniques: f64, population_size: f64) -> Self {
        Estimate::Estimated {
            population_uniques,
            fraction: population_uniques / population_size,
        }
    }

    /// ARX counts only positive estimates as usable in Dankar's rule.
    fn positive_uniques(&self) -> Option<f64> {
        match self {
            Estimate::Estimated {
                population_uniques, ..
            } if *population_uniques > 0.0 => Some(*population_uniques),
            _ => None,
        }
    }
}

/// The model Dankar's rule settled on and its estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DankarDecision {
    /// Chosen model; `None` when the sample has no uniques and the estimate
    /// is 0 without fitting anything.
    pub model: Option<PopulationModel>,
    /// Expected number of population uniques under the chosen model.
    pub population_uniques: f64,
    /// `population_uniques / population size`.
    pub fraction: f64,
    /// Which branch of the rule applied.
    pub rationale: Cow<'static, str>,
}

/// Why population uniqueness cannot be estimated at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum PopulationError {
    /// The sample has no records.
    EmptySample,
    /// The stated population is smaller than the sample drawn from it.
    PopulationSmallerThanSample {
        /// Stated population size.
        population_size: u64,
        /// Records in the sample.
        records: u64,
    },
}

impl fmt::Display for PopulationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopulationError::EmptySample => {
                write!(
                    f,
                    "the sample has no records, so there is nothing to estimate from"
                )
            }
            PopulationError::PopulationSmallerThanSample {
                population_size,
                records,
            } => write!(
                f,
                "population size {population_size} is smaller than the sample's {records} records"
            ),
        }
    }
}

impl std::error::Error for PopulationError {}

/// Every population-uniqueness estimate for one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationUniqueness {
    /// Size of the population the sample was drawn from.
    pub population_size: u64,
    /// Records in the sample divided by the population size.
    pub sampling_fraction: f64,
    /// Pitman / Hoshino estimate.
    pub pitman: Estimate,
    /// Zayatz estimate.
    pub zayatz: Estimate,
    /// Shifted-negative-binomial estimate.
    pub snb: Estimate,
    /// The estimate Dankar's rule chose among the three.
    pub dankar: DankarDecision,
}

impl PopulationUniqueness {
    /// Fits all models to the sample's class histogram, for a sample drawn
    /// from a population of `population_size` people.
    pub fn estimate(
        histogram: &ClassHistogram,
        population_size: u64,
    ) -> Result<Self, PopulationError> {
        if histogram.is_empty() {
            return Err(PopulationError::EmptySample);
        }
        if population_size < histogram.records() {
            return Err(PopulationError::PopulationSmallerThanSample {
                population_size,
                records: histogram.records(),
            });
        }
        let sample = Sample::new(histogram, population_size);
        if sample.singletons == 0.0 {
            let none = Estimate::from_uniques(0.0, sample.population);
            return Ok(Self {
                population_size,
                sampling_fraction: sample.fraction,
                pitman: none.clone(),
                zayatz: none.clone(),
                snb: none,
                dankar: DankarDecision {
                    model: None,
                    population_uniques: 0.0,
                    fraction: 0.0,
                    rationale:
                        "the sample has no unique records, so no population uniques are estimated"
                            .into(),
                },
            });
        }
        let pitman = pitman(&sample);
        let zayatz_uniques = zayatz_uniques(&sample);
        let snb = snb(&sample);
        let dankar = dankar_rule(&sample, &pitman, zayatz_uniques, &snb);
        Ok(Self {
            population_size,
            sampling_fraction: sample.fraction,
            pitman,
            zayatz: Estimate::from_uniques(zayatz_uniques, sample.population),
            snb,
            dankar,
        })
    }
}

/// The few numbers every model reads from the sample.
struct Sample<'a> {
    histogram: &'a ClassHistogram,
    records: f64,
    classes: f64,
    singletons: f64,
    doubletons: f64,
    population: f64,
    fraction: f64,
}

impl<'a> Sample<'a> {
    fn new(histogram: &'a ClassHistogram, population_size: u64) -> Self {
        let records = histogram.records() as f64;
        let population = population_size as f64;
        Self {
            histogram,
            records,
            classes: histogram.classes() as f64,
            singletons: histogram.classes_of_size(1) as f64,
            doubletons: histogram.classes_of_size(2) as f64,
            population,
            fraction: records / population,
        }
    }
}

/// Dankar et al.'s choice, in ARX's form: Pitman for small sampling
/// fractions, otherwise the smaller of SNB and Zayatz, with Zayatz as the
/// fallback that always exists. Like ARX, only positive estimates count.
fn dankar_rule(
    sample: &Sample,
    pitman: &Estimate,
    zayatz_uniques: f64,
    snb: &Estimate,
) -> DankarDecision {
    let (model, population_uniques, rationale) =
        if sample.fraction <= DANKAR_PITMAN_MAX_SAMPLING_FRACTION {
            match pitman.positive_uniques() {
                Some(uniques) => (
                    PopulationModel::Pitman,
                    uniques,
                    "sampling fraction at most 10 %: Pitman",
                ),
                None => (
                    PopulationModel::Zayatz,
                    zayatz_uniques,
                    "sampling fraction at most 10 % but Pitman gave no estimate: Zayatz",
                ),
            }
        } else {
            match snb.positive_uniques() {
                Some(snb_uniques) if snb_uniques <= zayatz_uniques => (
                    PopulationModel::Snb,
                    snb_uniques,
                    "sampling fraction above 10 %: SNB, the smaller of SNB and Zayatz",
                ),
                Some(_) => (
                    PopulationModel::Zayatz,
                    zayatz_uniques,
                    "sampling fraction above 10 %: Zayatz, the smaller of SNB and Zayatz",
                ),
                None => (
                    PopulationModel::Zayatz,
                    zayatz_uniques,
                    "sampling fraction above 10 % but SNB gave no estimate: Zayatz",
                ),
            }
        };
    DankarDecision {
        model: Some(model),
        population_uniques,
        fraction: population_uniques / sample.population,
        rationale: rationale.into(),
    }
}

/// Zayatz: the share of sample uniques that are population uniques is the
/// chance a size-1 population class yields a sample unique, relative to the
/// chance that any class does (each weighted by the sample's class-size
/// frequencies); population uniques are that share of the sample uniques,
/// scaled up by the sampling fraction. Costs O(largest class size).
fn zayatz_uniques(sample: &Sample) -> f64 {
    // For a population class of size K, the hypergeometric chance of drawing
    // exactly one of its members is K · (n/N) · R(K), where
    // R(K) = Π_{i=0..K-2} (N-n-i)/(N-1-i) is the chance that the other K-1
    // members all stay out of the sample. The common factor n/N cancels, and
    // R is built up incrementally over the ascending class sizes.
    let unsampled = sample.population - sample.records;
    let mut others_missed = 1.0;
    let mut others_missed_size = 1u64;
    let mut weighted_chance = 0.0;
    for (size, count) in sample.histogram.iter() {
        while others_missed_size < size && others_missed > 0.0 {
            let others_so_far = (others_missed_size - 1) as f64;
            let still_unsampled = (unsampled - others_so_far).max(0.0);
            others_missed *= still_unsampled / (sample.population - 1.0 - others_so_far);
            others_missed_size += 1;
        }
        // Once R reaches 0 it stays 0, so stopping the walk early is exact.
        weighted_chance += count as f64 * size as f64 * others_missed;
    }
    let unique_given_sample_unique = sample.singletons / weighted_chance;
    sample.singletons * unique_given_sample_unique / sample.fraction
}

/// Pitman / Hoshino: fits θ and α by maximum likelihood and returns
/// Hoshino's large-population approximation of the expected population
/// uniques, `Γ(θ+1)/Γ(θ+α) · N^α`.
fn pitman(sample: &Sample) -> Estimate {
    let start = pitman_start(sample);
    let fit = newton_2d(|point| pitman_likelihood_equations(sample, point), start);
    match fit {
        Err(failure) => Estimate::Unavailable {
            reason: format!("Pitman maximum-likelihood fit failed: {failure}"),
        },
        Ok([theta, alpha]) => {
            let log_uniques =
                ln_gamma(theta + 1.0) - ln_gamma(theta + alpha) + alpha * sample.population.ln();
            let uniques = log_uniques.exp();
            if uniques.is_finite() && uniques <= sample.population {
                Estimate::from_uniques(uniques, sample.population)
            } else {
                Estimate::Unavailable {
                    reason: format!(
                        "the Pitman fit (θ = {theta:.4e}, α = {alpha:.4e}) lies outside the \
                         large-population approximation: it predicts more uniques than people"
                    ),
                }
            }
        }
    }
}

/// Hoshino's moment-based starting point for (θ, α), the one ARX uses,
/// replaced by a neutral point if it falls outside the model's domain.
fn pitman_start(sample: &Sample) -> [f64; 2] {
    let (n, u, c1) = (sample.records, sample.classes, sample.singletons);
    let c2 = if sample.doubletons > 0.0 {
        sample.doubletons
    } else {
        1.0
    };
    let c = c1 * (c1 - 1.0) / c2;
    let theta = (n * u * c - c1 * (n - 1.0) * (2.0 * u + c)) / (2.0 * c1 * u + c1 * c - n * c);
    let alpha = (theta * (c1 - n) + (n - 1.0) * c1) / (n * u);
    if in_pitman_domain(sample, theta, alpha) {
        [theta, alpha]
    } else {
        [1.0, 0.5]
    }
}

/// Pitman's partition needs θ + iα > 0 for every class index i < u and
/// α < 1; like ARX, θ is kept non-negative. α = 0 (the Ewens limit) is
/// excluded only because the closed forms divide by it.
fn in_pitman_domain(sample: &Sample, theta: f64, alpha: f64) -> bool {
    theta >= 0.0 && alpha < 1.0 && alpha != 0.0 && theta + (sample.classes - 1.0) * alpha > 0.0
}

/// The two likelihood equations of the Pitman partition (derivatives of the
/// log-likelihood in θ and α) and their Jacobian, in closed form with
/// digamma and trigamma so each evaluation costs O(distinct class sizes).
fn pitman_likelihood_equations(sample: &Sample, [theta, alpha]: [f64; 2]) -> Option<System2> {
    if !in_pitman_domain(sample, theta, alpha) {
        return None;
    }
    let (n, u) = (sample.records, sample.classes);
    // Sums over i = 1..u-1 of 1/(θ+iα), 1/(θ+iα)² and i/(θ+iα).
    let (inverse_sum, inverse_square_sum) = arithmetic_reciprocal_sums(theta, alpha, u - 1.0);
    let weighted_inverse_sum = ((u - 1.0) - theta * inverse_sum) / alpha;
    // Sums over i = 1..n-1 of 1/(θ+i) and 1/(θ+i)².
    let (record_sum, record_square_sum) = arithmetic_reciprocal_sums(theta, 1.0, n - 1.0);
    // Over classes of size s ≥ 2: sums over m = 1..s-1 of 1/(m-α) and 1/(m-α)².
    let mut class_sum = 0.0;
    let mut class_square_sum = 0.0;
    let (digamma_base, trigamma_base) = (digamma(1.0 - alpha), trigamma(1.0 - alpha));
    for (size, count) in sample.histogram.iter().filter(|&(size, _)| size > 1) {
        let shifted = size as f64 - alpha;
        class_sum += count as f64 * (digamma(shifted) - digamma_base);
        class_square_sum += count as f64 * (trigamma_base - trigamma(shifted));
    }
    let residuals = [inverse_sum - record_sum, weighted_inverse_sum - class_sum];
    let cross = -(inverse_sum - theta * inverse_square_sum) / alpha;
    let jacobian = [
        [record_square_sum - inverse_square_sum, cross],
        [
            cross,
            -((u - 1.0) - 2.0 * theta * inverse_sum + theta * theta * inverse_square_sum)
                / (alpha * alpha)
                - class_square_sum,
        ],
    ];
    finite_system(residuals, jacobian)
}

/// `Σ_{i=1..terms} 1/(θ+iα)` and `Σ_{i=1..terms} 1/(θ+iα)²` through digamma
/// and trigamma, for α ≠ 0 and every θ+iα > 0. For negative α the terms are
/// rewritten as `1/(|α|(y-i))` with `y = θ/|α|` so all arguments stay positive.
fn arithmetic_reciprocal_sums(theta: f64, alpha: f64, terms: f64) -> (f64, f64) {
    if alpha > 0.0 {
        let offset = theta / alpha;
        (
            (digamma(offset + terms + 1.0) - digamma(offset + 1.0)) / alpha,
            (trigamma(offset + 1.0) - trigamma(offset + terms + 1.0)) / (alpha * alpha),
        )
    } else {
        let step = -alpha;
        let offset = theta / step;
        (
            (digamma(offset) - digamma(offset - terms)) / step,
            (trigamma(offset - terms) - trigamma(offset)) / (step * step),
        )
    }
}

/// SNB: population class sizes are 1 + NegBin(α, β) over `k` non-empty
/// classes; α and β are chosen so the expected numbers of sample classes of
/// size 1 and 2 equal the observed ones, and the population uniques are
/// `k · β^α`.
fn snb(sample: &Sample) -> Estimate {
    if sample.doubletons == 0.0 {
        return Estimate::Unavailable {
            reason: "SNB is fitted to the numbers of classes of size 1 and 2, and the sample has no class of size 2".to_owned(),
        };
    }
    let population_classes = shlosser_population_classes(sample);
    let equations = |point: [f64; 2]| snb_moment_equations(sample, population_classes, point);
    let mut closest_failure: Option<NewtonFailure> = None;
    for start in snb_start_points(&equations) {
        match newton_2d(equations, start) {
            Ok([log_alpha, logit_beta]) => {
                let alpha = log_alpha.exp();
                let log_beta = -(-logit_beta).exp().ln_1p();
                let uniques = population_classes * (alpha * log_beta).exp();
                return Estimate::from_uniques(uniques, sample.population);
            }
            Err(failure) => {
                if closest_failure.is_none_or(|closest| failure.residual() < closest.residual()) {
                    closest_failure = Some(failure);
                }
            }
        }
    }
    let detail = match closest_failure {
        Some(failure) => format!("closest attempt: {failure}"),
        None => "the equations are undefined everywhere on the search grid".to_owned(),
    };
    Estimate::Unavailable {
        reason: format!(
            "no SNB parameters (α > 0, 0 < β < 1) reproduce the sample's {} unique and {} \
             size-2 classes; {detail}",
            sample.singletons, sample.doubletons
        ),
    }
}

/// Haas et al.'s Shlosser-type estimate of the number of non-empty
/// population classes:
/// `d + f₁ · Σ i f²(1-f²)^(i-1) fᵢ / Σ (1-f)^i ((1+f)^i - 1) fᵢ
///        · (Σ (1-f)^i fᵢ / Σ i f (1-f)^(i-1) fᵢ)²`.
fn shlosser_population_classes(sample: &Sample) -> f64 {
    let f = sample.fraction;
    if f >= 1.0 {
        return sample.classes;
    }
    let (mut square_term, mut growth_term, mut missed_term, mut hit_term) = (0.0, 0.0, 0.0, 0.0);
    for (size, count) in sample.histogram.iter() {
        let (i, count) = (size as f64, count as f64);
        let missed = (i * (-f).ln_1p()).exp();
        square_term += i * f * f * ((i - 1.0) * (-f * f).ln_1p()).exp() * count;
        // (1-f)^i ((1+f)^i - 1), written so (1+f)^i cannot overflow.
        growth_term += ((i * (-f * f).ln_1p()).exp() - missed) * count;
        missed_term += missed * count;
        hit_term += i * f * ((i - 1.0) * (-f).ln_1p()).exp() * count;
    }
    let missed_ratio = missed_term / hit_term;
    sample.classes + sample.singletons * (square_term / growth_term) * missed_ratio * missed_ratio
}

/// Log-ratio of expected to observed classes of size 1 and 2 in the sample,
/// with the Jacobian, in the unconstrained coordinates `x = ln α`,
/// `y = logit β` so every iterate is a valid parameter pair.
fn snb_moment_equations(
    sample: &Sample,
    population_classes: f64,
    [log_alpha, logit_beta]: [f64; 2],
) -> Option<System2> {
    let f = sample.fraction;
    let a = log_alpha.exp();
    let b = 1.0 / (1.0 + (-logit_beta).exp());
    let one_minus_b = 1.0 / (1.0 + logit_beta.exp());
    // With d = (1-f)(1-β) and q = 1-d, the part of a class beyond its first
    // member stays negative binomial after sampling, with success chance β/q.
    let d = (1.0 - f) * one_minus_b;
    let q = b + f * one_minus_b;
    let size2_factor = 2.0 - (1.0 - a) * d;

    let singles =
        (population_classes * f / sample.singletons).ln() + a * (b / q).ln() + (a * d / q).ln_1p();
    let pairs = (population_classes * f * f / (2.0 * sample.doubletons)).ln()
        + a.ln()
        + one_minus_b.ln()
        + a * b.ln()
        - (a + 2.0) * q.ln()
        + size2_factor.ln();

    let singles_by_a = (b / q).ln() + d / (q + a * d);
    let singles_by_b = a / b - a * (1.0 - f) / q - a * (1.0 - f) / (q * (q + a * d));
    let pairs_by_a = 1.0 / a + (b / q).ln() + d / size2_factor;
    let pairs_by_b = -1.0 / one_minus_b + a / b - (a + 2.0) * (1.0 - f) / q
        + (1.0 - a) * (1.0 - f) / size2_factor;
    // Chain rule: dα/dx = α, dβ/dy = β(1-β).
    let b_scale = b * one_minus_b;
    finite_system(
        [singles, pairs],
        [
            [a * singles_by_a, b_scale * singles_by_b],
            [a * pairs_by_a, b_scale * pairs_by_b],
        ],
    )
}

/// Start points for SNB: the SNB equations have narrow valleys, so a coarse
/// scan over `ln α ∈ [-20, 5]`, `logit β ∈ [-40, 10]` picks the points with
/// the smallest residuals to start Newton–Raphson from.
fn snb_start_points(equations: &impl Fn([f64; 2]) -> Option<System2>) -> Vec<[f64; 2]> {
    let mut scored: Vec<(f64, [f64; 2])> = (0..=50)
        .flat_map(|x_step| {
            (0..=50).map(move |y_step| [-20.0 + 0.5 * x_step as f64, -40.0 + y_step as f64])
        })
        .filter_map(|point| equations(point).map(|(residuals, _)| (squared_norm(residuals), point)))
        .collect();
    scored.sort_by(|left, right| left.0.total_cmp(&right.0));
    scored
        .into_iter()
        .take(SNB_START_POINTS)
        .map(|(_, point)| point)
        .collect()
}

/// Residuals and Jacobian of a two-equation system at one point.
type System2 = ([f64; 2], [[f64; 2]; 2]);

fn finite_system(residuals: [f64; 2], jacobian: [[f64; 2]; 2]) -> Option<System2> {
    let all_finite = residuals
        .iter()
        .chain(jacobian.iter().flatten())
        .all(|value| value.is_finite());
    all_finite.then_some((residuals, jacobian))
}

fn squared_norm([first, second]: [f64; 2]) -> f64 {
    first * first + second * second
}

/// Why a Newton–Raphson run gave up.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NewtonFailure {
    StartOutsideDomain,
    SingularJacobian,
    Stalled { residual: f64 },
    IterationLimit { residual: f64 },
}

impl NewtonFailure {
    /// Residual norm where the run ended; infinite when it never got going.
    fn residual(&self) -> f64 {
        match self {
            NewtonFailure::Stalled { residual } | NewtonFailure::IterationLimit { residual } => {
                *residual
            }
            NewtonFailure::StartOutsideDomain | NewtonFailure::SingularJacobian => f64::INFINITY,
        }
    }
}

impl fmt::Display for NewtonFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NewtonFailure::StartOutsideDomain => {
                write!(f, "the equations are undefined at the starting point")
            }
            NewtonFailure::SingularJacobian => write!(f, "the Jacobian became singular"),
            NewtonFailure::Stalled { residual } => write!(
                f,
                "no step reduced the residual any further (stuck at {residual:.3e})"
            ),
            NewtonFailure::IterationLimit { residual } => write!(
                f,
                "{SOLVER_MAX_ITERATIONS} iterations left a residual of {residual:.3e}"
            ),
        }
    }
}

/// Damped Newton–Raphson for two equations: each full step is halved until
/// it stays where the equations are defined and shrinks the residual, which
/// keeps the solver deterministic and inside the model's domain.
fn newton_2d(
    system: impl Fn([f64; 2]) -> Option<System2>,
    start: [f64; 2],
) -> Result<[f64; 2], NewtonFailure> {
    let mut point = start;
    let (mut residuals, mut jacobian) = system(point).ok_or(NewtonFailure::StartOutsideDomain)?;
    for _ in 0..SOLVER_MAX_ITERATIONS {
        if residuals
            .iter()
            .all(|value| value.abs() <= SOLVER_TOLERANCE)
        {
            return Ok(point);
        }
        let [[j11, j12], [j21, j22]] = jacobian;
        let determinant = j11 * j22 - j12 * j21;
        if determinant == 0.0 || !determinant.is_finite() {
            return Err(NewtonFailure::SingularJacobian);
        }
        let step = [
            (j22 * residuals[0] - j12 * residuals[1]) / determinant,
            (j11 * residuals[1] - j21 * residuals[0]) / determinant,
        ];
        let current = squared_norm(residuals);
        let mut scale = 1.0;
        let accepted = (0..SOLVER_MAX_HALVINGS).find_map(|_| {
            let candidate = [point[0] - scale * step[0], point[1] - scale * step[1]];
            scale *= 0.5;
            system(candidate)
                .filter(|(next, _)| squared_norm(*next) < current)
                .map(|next| (candidate, next))
        });
        match accepted {
            Some((candidate, (next_residuals, next_jacobian))) => {
                point = candidate;
                residuals = next_residuals;
                jacobian = next_jacobian;
            }
            None if residuals
                .iter()
                .all(|value| value.abs() <= SOLVER_ACCEPTABLE_RESIDUAL) =>
            {
                return Ok(point);
            }
            None => {
                return Err(NewtonFailure::Stalled {
                    residual: current.sqrt(),
                });
            }
        }
    }
    Err(NewtonFailure::IterationLimit {
        residual: squared_norm(residuals).sqrt(),
    })
}

/// Trigamma ψ′(x) for x > 0: upward recurrence to x ≥ 12, then the
/// asymptotic series, accurate to double precision there.
fn trigamma(mut x: f64) -> f64 {
    let mut recurrence = 0.0;
    while x < 12.0 {
        recurrence += 1.0 / (x * x);
        x += 1.0;
    }
    let inverse = 1.0 / x;
    let inverse_squared = inverse * inverse;
    let series = inverse
        + inverse_squared / 2.0
        + inverse
            * inverse_squared
            * (1.0 / 6.0
                - inverse_squared
                    * (1.0 / 30.0
                        - inverse_squared
                            * (1.0 / 42.0
                                - inverse_squared * (1.0 / 30.0 - inverse_squared * 5.0 / 66.0))));
    recurrence + series
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative_error(actual: f64, expected: f64) -> f64 {
        ((actual - expected) / expected).abs()
    }

    #[test]
    fn trigamma_matches_known_values() {
        let pi_squared_over_six = std::f64::consts::PI.powi(2) / 6.0;
        assert!(relative_error(trigamma(1.0), pi_squared_over_six) < 1e-14);
        assert!(relative_error(trigamma(0.5), std::f64::consts::PI.powi(2) / 2.0) < 1e-14);
        assert!(relative_error(trigamma(100.0), 0.010050166663333571) < 1e-14);
    }

    #[test]
    fn pitman_closed_form_matches_direct_sums() {
        let histogram = ClassHistogram::from_class_sizes([1, 1, 1, 2, 2, 3, 5, 8]);
        let sample = Sample::new(&histogram, 10_000);
        let [theta, alpha] = [2.5, 0.3];
        let (residuals, _) = pitman_likelihood_equations(&sample, [theta, alpha]).unwrap();
        let classes = histogram.classes();
        let over_classes: f64 = (1..classes).map(|i| 1.0 / (theta + i as f64 * alpha)).sum();
        let weighted: f64 = (1..classes)
            .map(|i| i as f64 / (theta + i as f64 * alpha))
            .sum();
        let over_records: f64 = (1..histogram.records())
            .map(|i| 1.0 / (theta + i as f64))
            .sum();
        let over_members: f64 = histogram
            .iter()
            .map(|(size, count)| {
                count as f64 * (1..size).map(|m| 1.0 / (m as f64 - alpha)).sum::<f64>()
            })
            .sum();
        assert!((residuals[0] - (over_classes - over_records)).abs() < 1e-12);
        assert!((residuals[1] - (weighted - over_members)).abs() < 1e-12);
    }

    /// Compares a system's Jacobian with central differences of its residuals.
    fn assert_jacobian_matches(system: impl Fn([f64; 2]) -> Option<System2>, point: [f64; 2]) {
        let (_, jacobian) = system(point).unwrap();
        for (column, step) in [[1e-6, 0.0], [0.0, 1e-6]].into_iter().enumerate() {
            let ahead = system([point[0] + step[0], point[1] + step[1]]).unwrap().0;
            let behind = system([point[0] - step[0], point[1] - step[1]]).unwrap().0;
            for row in 0..2 {
                let numeric = (ahead[row] - behind[row]) / 2e-6;
                let analytic = jacobian[row][column];
                assert!(
                    (numeric - analytic).abs() <= 1e-5 * analytic.abs().max(1.0),
                    "entry ({row}, {column}): analytic {analytic}, numeric {numeric}"
                );
            }
        }
    }

    #[test]
    fn jacobians_match_their_equations() {
        let histogram = ClassHistogram::from_class_sizes([1, 1, 1, 1, 2, 2, 3, 5, 8, 13]);
        let sample = Sample::new(&histogram, 5_000);
        assert_jacobian_matches(
            |point| pitman_likelihood_equations(&sample, point),
            [2.5, 0.3],
        );
        assert_jacobian_matches(
            |point| pitman_likelihood_equations(&sample, point),
            [40.0, -0.2],
        );
        let classes = shlosser_population_classes(&sample);
        assert_jacobian_matches(
            |point| snb_moment_equations(&sample, classes, point),
            [-1.0, -3.0],
        );
    }

    #[test]
    fn zayatz_is_exact_when_the_sample_is_the_population() {
        let histogram = ClassHistogram::from_class_sizes([1, 1, 2, 4]);
        let estimates = PopulationUniqueness::estimate(&histogram, 8).unwrap();
        assert_eq!(estimates.zayatz.fraction(), Some(2.0 / 8.0));
    }

    #[test]
    fn no_sample_uniques_means_no_population_uniques() {
        let histogram = ClassHistogram::from_class_sizes([2, 3]);
        let estimates = PopulationUniqueness::estimate(&histogram, 1000).unwrap();
        assert_eq!(estimates.pitman.fraction(), Some(0.0));
        assert_eq!(estimates.dankar.model, None);
    }

    #[test]
    fn snb_without_pairs_explains_why() {
        let histogram = ClassHistogram::from_class_sizes([1, 1, 3]);
        let estimates = PopulationUniqueness::estimate(&histogram, 1000).unwrap();
        assert!(
            matches!(estimates.snb, Estimate::Unavailable { ref reason } if reason.contains("size 2"))
        );
    }

    #[test]
    fn rejects_populations_smaller_than_the_sample() {
        let histogram = ClassHistogram::from_class_sizes([1, 4]);
        assert_eq!(
            PopulationUniqueness::estimate(&histogram, 3),
            Err(PopulationError::PopulationSmallerThanSample {
                population_size: 3,
                records: 5
            })
        );
        let empty = ClassHistogram::from_class_sizes([]);
        assert_eq!(
            PopulationUniqueness::estimate(&empty, 3),
            Err(PopulationError::EmptySample)
        );
    }
}
