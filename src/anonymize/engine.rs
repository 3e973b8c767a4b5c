//! The `anonymize` engine: from a checked [`Dataset`] and a [`Request`] to an anonymized
//! [`OutputTable`] and its [`Report`].
//!
//! Steps, each a building block of its own file: perturbation of numeric columns
//! ([`super::noise`], optional), per-class constraints for every sensitive column
//! ([`super::ldiversity`], [`super::tcloseness`]), then one method on the quasi-identifiers:
//! full-domain generalization with suppression ([`super::global`]), strict Mondrian partitioning
//! ([`super::mondrian`]), or coverage-aware MDAV microaggregation ([`super::microaggregation`], the
//! same building block `publish` uses, with one person per record).
//!
//! **Guarantee.** In the output, the non-suppressed records form classes of identical
//! quasi-identifier cells, each of at least `k` records and satisfying every requested constraint
//! on every sensitive column; suppressed records show `*` in every column. Sensitive and
//! insensitive columns are published as read (after perturbation, if any); direct identifiers are
//! not published. Row `i` of the output is row `i` of the input.

use serde::Serialize;

use super::dataset::{code_numbers, format_number, Dataset, Perturbation, PerturbationCounts};
use super::global::{self, PrivacyModel, SearchError};
use super::ldiversity::{LDiversity, LDiversityReport, Variant};
use super::microaggregation::{microaggregate_constrained, round_to};
use super::model::ClassConstraint;
use super::mondrian::{self, MondrianError, QuasiIdentifier};
use super::noise::Distribution;
use super::output::{Cells, OutputColumn, OutputTable, SUPPRESSED};
use super::sse::sse_information_loss;
use super::tcloseness::{GroundDistance, TCloseness, TClosenessReport};
use crate::error::{Error, Result};
use crate::observe::Observer;
use crate::risk::{release_risk, ClassHistogram, RiskSummary};
use crate::schema::Role;
use crate::table::{IdenticalRows, MeasurementTable};

/// Precision of class means of columns without a `rounding` step: enough for any measurement,
/// without float residue.
const MEAN_STEP: f64 = 1e-6;

/// Coverage masks of MDAV hold one bit per quasi-identifier.
const MDAV_MAX_COLUMNS: usize = 64;

/// The anonymization method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Optimal full-domain generalization with record suppression (needs hierarchies).
    Global,
    /// Strict multidimensional partitioning (local recoding).
    Mondrian,
    /// Microaggregation of numeric quasi-identifiers (class means).
    Mdav,
}

impl Method {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Method::Global => "global",
            Method::Mondrian => "mondrian",
            Method::Mdav => "mdav",
        }
    }
}

/// How Mondrian publishes a numeric quasi-identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NumericRelease {
    /// The class's range `[min,max]` (a single value when they are equal).
    Ranges,
    /// The class's mean, rounded to the column's `rounding` step.
    Means,
}

/// What to anonymize with, validated by the caller (k ≥ 1, limit in [0, 1]).
#[derive(Debug, Clone)]
pub struct Request {
    /// The method to run.
    pub method: Method,
    /// Smallest class of published records.
    pub k: usize,
    /// Largest share of records global recoding may suppress.
    pub suppression_limit: f64,
    /// l-diversity of every sensitive column: `l` and the variant.
    pub l_diversity: Option<(usize, Variant)>,
    /// t-closeness of every sensitive column.
    pub t_closeness: Option<f64>,
    /// How Mondrian publishes numeric quasi-identifiers.
    pub numeric: NumericRelease,
    /// MDAV runs exactly on cells of at most this many records (see `mdav.rs`).
    pub mdav_exact_limit: usize,
    /// Noise and coding applied before the method.
    pub perturbation: Perturbation,
}

/// The anonymized table and its report.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The anonymized table, row `i` being input row `i`.
    pub table: OutputTable,
    /// What was done and achieved, in parameters and counts.
    pub report: Report,
}

/// `report.json` of `anonymize`: parameters and aggregate figures, never a value.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The anonpub version that wrote the report.
    pub anonpub_version: &'static str,
    /// The schema's dataset name.
    pub dataset: String,
    /// Rows read.
    pub input_records: usize,
    /// The method that ran.
    pub method: Method,
    /// The quasi-identifier columns, in schema order.
    pub quasi_identifiers: Vec<String>,
    /// The sensitive columns, in schema order.
    pub sensitive: Vec<String>,
    /// Direct identifiers, not published.
    pub dropped_columns: Vec<String>,
    /// The privacy model enforced.
    pub privacy_model: ModelReport,
    /// Perturbation applied before the method.
    pub perturbation: PerturbationReport,
    /// What the method produced.
    pub result: ResultReport,
    /// Re-identification risk of the published rows over the quasi-identifiers, computed as
    /// `publish` computes it for a release ([`crate::risk::release_risk`]).
    pub risk: RiskSummary,
}

/// The privacy model that was enforced.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    /// k of k-anonymity, over records.
    pub k: usize,
    /// Global recoding only.
    pub suppression_limit: Option<f64>,
    /// l-diversity of every sensitive column, if requested.
    pub l_diversity: Option<LDiversityReport>,
    /// t-closeness of every sensitive column, if requested.
    pub t_closeness: Option<TClosenessReport>,
}

/// Perturbation applied before the method.
#[derive(Debug, Clone, Serialize)]
pub struct PerturbationReport {
    /// The noise added, if any.
    pub noise: Option<NoiseReport>,
    /// Seed of the noise generator (keyed by the input too, see `noise.rs`); `None` without noise.
    pub seed: Option<u64>,
    /// Values changed by coding, rounding and noise.
    pub counts: PerturbationCounts,
}

#[derive(Debug, Clone, Serialize)]
/// The noise added to numeric columns.
pub struct NoiseReport {
    /// `gaussian` or `laplace`.
    pub distribution: &'static str,
    /// Noise standard deviation as a fraction of each column's standard deviation.
    pub relative_scale: f64,
    /// Whether the noise was centred per column.
    pub mean_preserving: bool,
}

/// What the method produced.
#[derive(Debug, Clone, Serialize)]
pub struct ResultReport {
    /// Global recoding: generalization level per quasi-identifier.
    pub levels: Option<Vec<usize>>,
    /// Mondrian: number of partitions.
    pub partitions: Option<usize>,
    /// Mondrian: how numeric quasi-identifiers are published.
    pub numeric_release: Option<NumericRelease>,
    /// MDAV: number of groups.
    pub groups: Option<usize>,
    /// Records published (not suppressed).
    pub published_records: usize,
    /// Records published as `*` in every column.
    pub suppressed_records: usize,
    /// Classes of identical published quasi-identifier cells.
    pub classes: usize,
    /// Records in the smallest class; 0 if nothing is published.
    pub smallest_class: usize,
    /// How much information the method removed.
    pub information_loss: InformationLoss,
}

/// Information loss, by the measures that apply to the method.
#[derive(Debug, Clone, Serialize)]
pub struct InformationLoss {
    /// Generalization loss in [0, 1] normalised as ARX's Loss metric (global, Mondrian).
    pub loss: Option<f64>,
    /// SSE/SST over standardized numeric quasi-identifiers released as numbers, against the
    /// values as read (so noise counts too) — see `sse.rs`.
    pub sse: Option<f64>,
}

/// The published cells of the quasi-identifiers and what the method reports.
struct MethodResult {
    /// Per quasi-identifier (in order): its cells and whether they are numbers.
    cells: Vec<(Cells, bool)>,
    suppressed: Vec<bool>,
    levels: Option<Vec<usize>>,
    partitions: Option<usize>,
    groups: Option<usize>,
    loss: Option<f64>,
    /// Released numeric quasi-identifiers, row-major (NaN = not released), for SSE.
    released_numbers: Option<Vec<f64>>,
}

/// Anonymizes the dataset as requested; `dataset_name` goes into the report. The stages
/// (`perturb`, the method's name, `assemble`) report their timings to `observer`.
pub fn run(
    mut dataset: Dataset,
    dataset_name: &str,
    request: &Request,
    observer: &dyn Observer,
) -> Result<Outcome> {
    let quasi = dataset.with_role(Role::QuasiIdentifier);
    if quasi.is_empty() {
        return Err(Error::InvalidArgument {
            name: "--schema",
            problem: "the schema declares no quasi-identifier, so there is nothing to anonymize"
                .into(),
        });
    }
    let originals = numeric_rows(&dataset, &quasi);
    let counts = observer.time("perturb", || dataset.perturb(&request.perturbation))?;
    let (constraints, l_report, t_report) = constraints(&dataset, request)?;
    let constraint_refs: Vec<&dyn ClassConstraint> = constraints.iter().map(|c| &**c).collect();
    let mut result = observer.time(request.method.name(), || match request.method {
        Method::Global => run_global(&dataset, &quasi, request, &constraint_refs),
        Method::Mondrian => run_mondrian(&dataset, &quasi, request, &constraint_refs),
        Method::Mdav => run_mdav(&dataset, &quasi, request, &constraint_refs),
    })?;
    let started = std::time::Instant::now();
    let sse = match (&originals, &result.released_numbers) {
        (Some(original), Some(released)) => sse_information_loss(original, released, quasi.len()),
        _ => None,
    };

    let cells = std::mem::take(&mut result.cells);
    let table = output_table(&dataset, &quasi, cells, &result.suppressed);
    let histogram = published_classes(&table, &quasi, &result.suppressed);
    let classes = histogram.classes() as usize;
    let smallest_class = histogram.smallest_class().unwrap_or(0) as usize;
    let suppressed_records = result.suppressed.iter().filter(|&&s| s).count();
    let name = |columns: &[usize]| -> Vec<String> {
        columns
            .iter()
            .map(|&c| dataset.columns[c].spec.name.clone())
            .collect()
    };
    let noise = request
        .perturbation
        .noise
        .as_ref()
        .map(|(spec, _)| NoiseReport {
            distribution: match spec.distribution() {
                Distribution::Gaussian => "gaussian",
                Distribution::Laplace => "laplace",
            },
            relative_scale: spec.relative_scale(),
            mean_preserving: spec.mean_preserving(),
        });
    let report = Report {
        anonpub_version: env!("CARGO_PKG_VERSION"),
        dataset: dataset_name.to_owned(),
        input_records: dataset.rows(),
        method: request.method,
        quasi_identifiers: name(&quasi),
        sensitive: name(&dataset.with_role(Role::Sensitive)),
        dropped_columns: dataset.dropped.clone(),
        privacy_model: ModelReport {
            k: request.k,
            suppression_limit: (request.method == Method::Global)
                .then_some(request.suppression_limit),
            l_diversity: l_report,
            t_closeness: t_report,
        },
        perturbation: PerturbationReport {
            seed: noise.as_ref().map(|_| request.perturbation.seed),
            noise,
            counts,
        },
        result: ResultReport {
            levels: result.levels,
            partitions: result.partitions,
            numeric_release: (request.method == Method::Mondrian).then_some(request.numeric),
            groups: result.groups,
            published_records: dataset.rows() - suppressed_records,
            suppressed_records,
            classes,
            smallest_class,
            information_loss: InformationLoss {
                loss: result.loss,
                sse,
            },
        },
        risk: release_risk(&histogram, request.k),
    };
    observer.stage_took("assemble", started.elapsed());
    Ok(Outcome { table, report })
}

/// The numeric quasi-identifiers as read, row-major; `None` if any quasi-identifier is text.
fn numeric_rows(dataset: &Dataset, quasi: &[usize]) -> Option<Vec<f64>> {
    let columns: Vec<&Vec<f64>> = quasi
        .iter()
        .map(|&c| dataset.columns[c].numbers.as_ref())
        .collect::<Option<_>>()?;
    Some(
        (0..dataset.rows())
            .flat_map(|row| columns.iter().map(move |column| column[row]))
            .collect(),
    )
}

type Constraints = (
    Vec<Box<dyn ClassConstraint>>,
    Option<LDiversityReport>,
    Option<TClosenessReport>,
);

/// One constraint per requested model and sensitive column.
fn constraints(dataset: &Dataset, request: &Request) -> Result<Constraints> {
    let sensitive = dataset.with_role(Role::Sensitive);
    let requested = [
        ("--l", request.l_diversity.is_some()),
        ("--t", request.t_closeness.is_some()),
    ];
    if let Some((flag, _)) = requested.iter().find(|(_, asked)| *asked) {
        if sensitive.is_empty() {
            return Err(Error::InvalidArgument {
                name: flag,
                problem: "the schema declares no column with role \"sensitive\"".into(),
            });
        }
    }
    let mut boxed: Vec<Box<dyn ClassConstraint>> = Vec::new();
    let mut distances = Vec::new();
    for &column in &sensitive {
        let codes = value_ranks(dataset, column);
        if let Some((l, variant)) = request.l_diversity {
            let model =
                LDiversity::new(codes.clone(), l, variant).map_err(|e| Error::InvalidArgument {
                    name: "--l",
                    problem: e.to_string(),
                })?;
            boxed.push(Box::new(model));
        }
        if let Some(t) = request.t_closeness {
            let distance = if dataset.columns[column].numbers.is_some() {
                GroundDistance::Ordered
            } else {
                GroundDistance::Equal
            };
            let model =
                TCloseness::new(codes, t, distance).map_err(|e| Error::InvalidArgument {
                    name: "--t",
                    problem: e.to_string(),
                })?;
            boxed.push(Box::new(model));
            distances.push((dataset.columns[column].spec.name.clone(), distance.name()));
        }
    }
    let l_report = request
        .l_diversity
        .map(|(l, variant)| LDiversityReport::new(l, variant));
    let t_report = request
        .t_closeness
        .map(|t| TClosenessReport { t, distances });
    Ok((boxed, l_report, t_report))
}

/// Rank of each record's value among the column's distinct values: by number for numeric columns
/// (empty cells last), by text otherwise. Equal values get equal ranks.
fn value_ranks(dataset: &Dataset, column: usize) -> Vec<u32> {
    let column = &dataset.columns[column];
    let cells = &column.cells;
    let mut order: Vec<usize> = (0..cells.values.len()).collect();
    let code_ranks = match &column.numbers {
        Some(numbers) => {
            let mut keys = vec![f64::NAN; cells.values.len()];
            for (&code, &number) in cells.codes.iter().zip(numbers) {
                keys[code as usize] = number;
            }
            order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
            ranks_in_order(&order, |a, b| keys[a].total_cmp(&keys[b]).is_eq())
        }
        None => {
            order.sort_by(|&a, &b| cells.values[a].cmp(&cells.values[b]));
            ranks_in_order(&order, |a, b| cells.values[a] == cells.values[b])
        }
    };
    cells
        .codes
        .iter()
        .map(|&code| code_ranks[code as usize])
        .collect()
}

/// Ranks of sorted items: consecutive equal items share a rank.
fn ranks_in_order(order: &[usize], same: impl Fn(usize, usize) -> bool) -> Vec<u32> {
    let mut ranks = vec![0; order.len()];
    let mut rank = 0;
    for (position, &item) in order.iter().enumerate() {
        if position > 0 && !same(order[position - 1], item) {
            rank += 1;
        }
        ranks[item] = rank;
    }
    ranks
}

fn run_global(
    dataset: &Dataset,
    quasi: &[usize],
    request: &Request,
    constraints: &[&dyn ClassConstraint],
) -> Result<MethodResult> {
    let mut hierarchies = Vec::with_capacity(quasi.len());
    let mut columns = Vec::with_capacity(quasi.len());
    for &column in quasi {
        let (hierarchy, codes) = dataset.generalization(column)?.ok_or_else(|| {
            dataset.schema_error(
                column,
                "global recoding needs a `hierarchy` file or `widths` for every quasi-identifier",
            )
        })?;
        columns.push(codes);
        hierarchies.push(hierarchy);
    }
    let model = PrivacyModel {
        k: request.k,
        suppression_limit: request.suppression_limit,
        constraints: constraints.to_vec(),
    };
    let anonymized = global::find_optimal(&columns, &hierarchies, &model).map_err(|e| match e {
        SearchError::NoSolution => Error::Unsatisfiable {
            problem: format!(
                "no generalization of the quasi-identifiers needs at most {} of {} records suppressed",
                (request.suppression_limit * dataset.rows() as f64).floor(),
                dataset.rows()
            ),
        },
        other => Error::InvalidArgument {
            name: "--method global",
            problem: other.to_string(),
        },
    })?;
    // Labels of each column's level, plus `*` for suppressed records.
    let cells = hierarchies
        .iter()
        .zip(&anonymized.transformation.levels)
        .zip(&anonymized.generalized)
        .map(|((hierarchy, &level), generalized)| {
            let mut labels: Vec<String> = (0..hierarchy.code_count(level))
                .map(|code| hierarchy.label(level, code as u32).to_owned())
                .collect();
            let star = labels.len() as u32;
            labels.push(SUPPRESSED.to_owned());
            let codes = generalized
                .iter()
                .zip(&anonymized.suppressed)
                .map(|(&code, &suppressed)| if suppressed { star } else { code })
                .collect();
            (Cells::Coded { labels, codes }, false)
        })
        .collect();
    Ok(MethodResult {
        cells,
        levels: Some(anonymized.transformation.levels.clone()),
        loss: Some(anonymized.transformation.loss),
        suppressed: anonymized.suppressed,
        partitions: None,
        groups: None,
        released_numbers: None,
    })
}

fn run_mondrian(
    dataset: &Dataset,
    quasi: &[usize],
    request: &Request,
    constraints: &[&dyn ClassConstraint],
) -> Result<MethodResult> {
    let mut hierarchies = Vec::new();
    let mut codes = Vec::new();
    for &column in quasi {
        match &dataset.columns[column].numbers {
            Some(numbers) => {
                if let Some(record) = numbers.iter().position(|v| v.is_nan()) {
                    return Err(dataset.cell_error(
                        column,
                        record,
                        "empty cell: mondrian needs every quasi-identifier value",
                    ));
                }
            }
            None => {
                let (hierarchy, column_codes) =
                    dataset.generalization(column)?.ok_or_else(|| {
                        dataset.schema_error(
                            column,
                            "mondrian needs a `hierarchy` file for a text quasi-identifier",
                        )
                    })?;
                codes.push(column_codes);
                hierarchies.push(hierarchy);
            }
        }
    }
    let mut categorical = hierarchies.iter().zip(&codes);
    let attributes: Vec<QuasiIdentifier<'_>> = quasi
        .iter()
        .map(|&column| match &dataset.columns[column].numbers {
            Some(numbers) => QuasiIdentifier::Numeric(numbers),
            None => {
                let (hierarchy, codes) = categorical.next().expect("one hierarchy per text column");
                QuasiIdentifier::Categorical { hierarchy, codes }
            }
        })
        .collect();
    let classes = mondrian::partition(&attributes, request.k, constraints).map_err(|e| match e {
        MondrianError::Infeasible { records } => Error::Unsatisfiable {
            problem: format!(
                "the whole table ({records} records) already fails the privacy model, and strict Mondrian does not suppress"
            ),
        },
        other => Error::InvalidArgument {
            name: "--method mondrian",
            problem: other.to_string(),
        },
    })?;

    let rows = dataset.rows();
    let means = request.numeric == NumericRelease::Means;
    // One label per class and column; record r shows the label of its class.
    let mut class_of = vec![0u32; rows];
    for (index, class) in classes.iter().enumerate() {
        for &r in class {
            class_of[r] = index as u32;
        }
    }
    let mut released = vec![f64::NAN; rows * quasi.len()];
    let cells = attributes
        .iter()
        .enumerate()
        .map(|(d, attribute)| {
            let labels = classes
                .iter()
                .map(|class| match attribute {
                    QuasiIdentifier::Numeric(values) => {
                        let interval = mondrian::interval(values, class);
                        if means {
                            let step = dataset.columns[quasi[d]].spec.rounding.unwrap_or(MEAN_STEP);
                            let mean = round_to(interval.mean, step);
                            for &r in class {
                                released[r * quasi.len() + d] = mean;
                            }
                            format_number(mean)
                        } else if interval.min == interval.max {
                            format_number(interval.min)
                        } else {
                            format!(
                                "[{},{}]",
                                format_number(interval.min),
                                format_number(interval.max)
                            )
                        }
                    }
                    QuasiIdentifier::Categorical { hierarchy, codes } => {
                        let (level, code) = mondrian::common_ancestor(hierarchy, codes, class);
                        mondrian::node_label(hierarchy, level, code).to_owned()
                    }
                })
                .collect();
            let numeric = means && matches!(attribute, QuasiIdentifier::Numeric(_));
            let cells = Cells::Coded {
                labels,
                codes: class_of.clone(),
            };
            (cells, numeric)
        })
        .collect();
    let all_numeric = attributes
        .iter()
        .all(|a| matches!(a, QuasiIdentifier::Numeric(_)));
    Ok(MethodResult {
        cells,
        suppressed: vec![false; rows],
        levels: None,
        partitions: Some(classes.len()),
        groups: None,
        loss: Some(mondrian::loss(&attributes, &classes)),
        released_numbers: (means && all_numeric).then_some(released),
    })
}

fn run_mdav(
    dataset: &Dataset,
    quasi: &[usize],
    request: &Request,
    constraints: &[&dyn ClassConstraint],
) -> Result<MethodResult> {
    if let Some(&text) = quasi
        .iter()
        .find(|&&c| dataset.columns[c].numbers.is_none())
    {
        return Err(dataset.schema_error(
            text,
            "mdav needs numeric quasi-identifiers; use --method global or mondrian for text columns",
        ));
    }
    if quasi.len() > MDAV_MAX_COLUMNS {
        return Err(Error::InvalidArgument {
            name: "--method mdav",
            problem: format!("at most {MDAV_MAX_COLUMNS} quasi-identifiers"),
        });
    }
    let rows = dataset.rows();
    if rows < request.k {
        return Err(Error::Unsatisfiable {
            problem: format!("{rows} records cannot form a group of k = {}", request.k),
        });
    }
    let names = quasi
        .iter()
        .map(|&c| dataset.columns[c].spec.name.clone())
        .collect();
    let numbers: Vec<&Vec<f64>> = quasi
        .iter()
        .map(|&c| {
            dataset.columns[c]
                .numbers
                .as_ref()
                .expect("checked numeric")
        })
        .collect();
    let mut table = MeasurementTable::new(names);
    let mut row = vec![0.0; quasi.len()];
    for record in 0..rows {
        for (value, column) in row.iter_mut().zip(&numbers) {
            *value = column[record];
        }
        // One person per record: u32 holds any table MDAV can process in memory.
        table.push(
            u32::try_from(record).expect("fewer than 2^32 records"),
            &row,
        );
    }
    let rounding: Vec<f64> = quasi
        .iter()
        .map(|&c| dataset.columns[c].spec.rounding.unwrap_or(MEAN_STEP))
        .collect();
    let aggregated = microaggregate_constrained(
        &table,
        request.k,
        request.mdav_exact_limit,
        &rounding,
        constraints,
        &crate::observe::Silent,
    );
    let width = quasi.len();
    let mut released = vec![f64::NAN; rows * width];
    let mut suppressed = vec![true; rows];
    for (index, &record) in aggregated.source.iter().enumerate() {
        released[record * width..(record + 1) * width]
            .copy_from_slice(&aggregated.values[index * width..(index + 1) * width]);
        suppressed[record] = false;
    }
    let cells = (0..width)
        .map(|d| {
            let coded = code_numbers((0..rows).map(|r| released[r * width + d]));
            let mut labels = coded.values;
            let star = labels.len() as u32;
            labels.push(SUPPRESSED.to_owned());
            let codes = coded
                .codes
                .iter()
                .zip(&suppressed)
                .map(|(&code, &suppressed)| if suppressed { star } else { code })
                .collect();
            (Cells::Coded { labels, codes }, true)
        })
        .collect();
    Ok(MethodResult {
        cells,
        suppressed,
        levels: None,
        partitions: None,
        groups: Some(aggregated.groups),
        loss: None,
        released_numbers: Some(released),
    })
}

/// Assembles the output: method cells for quasi-identifiers, the (perturbed) text elsewhere, `*`
/// in every column of a suppressed record.
fn output_table(
    dataset: &Dataset,
    quasi: &[usize],
    method_cells: Vec<(Cells, bool)>,
    suppressed: &[bool],
) -> OutputTable {
    let mut method_cells = method_cells.into_iter();
    let columns = dataset
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let (cells, numeric) = if quasi.contains(&index) {
                method_cells.next().expect("one per quasi-identifier")
            } else {
                let mut labels = column.cells.values.clone();
                let star = labels.len() as u32;
                labels.push(SUPPRESSED.to_owned());
                let codes = column
                    .cells
                    .codes
                    .iter()
                    .zip(suppressed)
                    .map(|(&code, &suppressed)| if suppressed { star } else { code })
                    .collect();
                (Cells::Coded { labels, codes }, column.numbers.is_some())
            };
            OutputColumn {
                name: column.spec.name.clone(),
                numeric,
                cells,
            }
        })
        .collect();
    OutputTable { columns }
}

/// The classes of identical published quasi-identifier cells (suppressed records left out).
fn published_classes(table: &OutputTable, quasi: &[usize], suppressed: &[bool]) -> ClassHistogram {
    let ids: Vec<Vec<u32>> = quasi.iter().map(|&c| table.columns[c].cell_ids()).collect();
    let key = |row: usize| ids.iter().map(move |column| column[row]);
    let published: Vec<usize> = (0..table.rows()).filter(|&r| !suppressed[r]).collect();
    let classes = IdenticalRows::group(published, |a, b| key(a).cmp(key(b)));
    ClassHistogram::from_class_sizes(classes.iter().map(|class| class.len() as u64))
}
