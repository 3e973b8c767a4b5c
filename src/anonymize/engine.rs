//! The `anonymize` engine: from a checked [`Dataset`] and a [`Request`] to an anonymized
//! [`OutputTable`] and its [`Report`].
//!
//! The engine only orchestrates; every step is a building block of its own file: top/bottom coding
//! and rounding of numeric columns as the schema asks ([`super::coding`]), per-class constraints for every sensitive column
//! ([`super::ldiversity`], [`super::tcloseness`]), then one [`AnonymizationMethod`] on the
//! quasi-identifiers (the [`super::method`] seam: full-domain generalization with suppression,
//! strict Mondrian partitioning, or coverage-aware MDAV microaggregation, the engine `publish`
//! uses too), then the output table assembled and its risk assessed ([`crate::risk`]).
//!
//! **Guarantee.** In the output, the non-suppressed records form classes of identical
//! quasi-identifier cells, each of at least `k` distinct people (records, without a `person_key`
//! column) and satisfying every requested constraint on every sensitive column — the method
//! seam's guarantee; suppressed records show `*` in every column. Sensitive and insensitive
//! columns are published as read (after coding and rounding, if the schema asks for them); direct identifiers and eligibility
//! columns (the person key among them) are not published. Row `i` of the output is row `i` of the
//! input.

use serde::Serialize;

use super::dataset::{Dataset, PerturbationCounts};
use super::k_anonymity::DistinctPeople;
use super::ldiversity::{LDiversity, LDiversityReport, Variant};
use super::method::{
    AnonymizationMethod, GlobalRecoding, MethodInput, Microaggregation, StrictMondrian,
};
use super::model::ClassConstraint;
use super::output::{Cells, OutputColumn, OutputTable};
use super::sse::sse_information_loss;
use super::tcloseness::{GroundDistance, TCloseness, TClosenessReport};
use crate::error::{Error, Result};
use crate::observe::Observer;
use crate::risk::{release_risk, ClassHistogram, RiskSummary};
use crate::schema::Role;
use crate::table::IdenticalRows;

pub use super::method::mondrian::NumericRelease;

/// The anonymization method, as chosen on the command line (`--method`) and in the release
/// configuration (`[method] name`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize, serde::Serialize,
)]
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
    /// The method with the request's parameters. The one place methods are listed: a new method
    /// is a file in `anonymize/method/`, a variant above and an arm here.
    pub fn instance(self, request: &Request) -> Box<dyn AnonymizationMethod> {
        match self {
            Method::Global => Box::new(GlobalRecoding {
                suppression_limit: request.suppression_limit,
            }),
            Method::Mondrian => Box::new(StrictMondrian {
                numeric: request.numeric,
            }),
            Method::Mdav => Box::new(Microaggregation {
                exact_limit: request.mdav_exact_limit,
            }),
        }
    }
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
}

/// The anonymized table and its report.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The anonymized table, row `i` being input row `i`.
    pub table: OutputTable,
    /// What was done and achieved, in parameters and counts.
    pub report: Report,
    /// Per row: whether the method suppressed it (`*` in every column).
    pub suppressed: Vec<bool>,
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
    /// The method that ran ([`AnonymizationMethod::name`]).
    pub method: &'static str,
    /// The quasi-identifier columns, in schema order.
    pub quasi_identifiers: Vec<String>,
    /// The sensitive columns, in schema order.
    pub sensitive: Vec<String>,
    /// Direct identifiers, not published.
    pub dropped_columns: Vec<String>,
    /// The privacy model enforced.
    pub privacy_model: ModelReport,
    /// Coding and rounding applied before the method.
    pub perturbation: PerturbationCounts,
    /// What the method produced.
    pub result: ResultReport,
    /// Re-identification risk of the published rows over the quasi-identifiers, computed as
    /// `publish` computes it for a release ([`crate::risk::release_risk`]).
    pub risk: RiskSummary,
}

/// The privacy model that was enforced.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    /// k of k-anonymity: distinct people per class, or records without a person key.
    pub k: usize,
    /// The `person_key` column whose distinct values `k` counts; absent when `k` counts records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_key: Option<String>,
    /// Global recoding only.
    pub suppression_limit: Option<f64>,
    /// l-diversity of every sensitive column, if requested.
    pub l_diversity: Option<LDiversityReport>,
    /// t-closeness of every sensitive column, if requested.
    pub t_closeness: Option<TClosenessReport>,
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
    /// With a person key: distinct people in the class with fewest of them (the achieved k); 0 if
    /// nothing is published. Absent without a person key, where it equals `smallest_class`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smallest_class_people: Option<usize>,
    /// How much information the method removed.
    pub information_loss: InformationLoss,
}

/// Information loss, by the measures that apply to the method.
#[derive(Debug, Clone, Serialize)]
pub struct InformationLoss {
    /// Generalization loss in [0, 1] normalised as ARX's Loss metric (global, Mondrian).
    pub loss: Option<f64>,
    /// SSE/SST over standardized numeric quasi-identifiers released as numbers, against the
    /// values as read (so coding and rounding count too) — see `sse.rs`.
    pub sse: Option<f64>,
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
    let counts = observer.time("perturb", || dataset.perturb());
    let (constraints, l_report, t_report) = constraints(&dataset, request)?;
    let constraint_refs: Vec<&dyn ClassConstraint> = constraints.iter().map(|c| &**c).collect();
    let method = request.method.instance(request);
    let input = MethodInput {
        dataset: &dataset,
        quasi: &quasi,
        k: request.k,
    };
    let mut result = observer.time(method.name(), || method.run(&input, &constraint_refs))?;
    let started = std::time::Instant::now();
    let sse = match (&originals, &result.released_numbers) {
        (Some(original), Some(released)) => sse_information_loss(original, released, quasi.len()),
        _ => None,
    };

    let cells = std::mem::take(&mut result.cells);
    let table = output_table(&dataset, &quasi, cells, &result.suppressed);
    let published = published_classes(&table, &quasi, &result.suppressed);
    let histogram =
        ClassHistogram::from_class_sizes(published.iter().map(|class| class.len() as u64));
    let classes = histogram.classes() as usize;
    let smallest_class = histogram.smallest_class().unwrap_or(0) as usize;
    let smallest_class_people = dataset.person_key.as_ref().map(|key| {
        published
            .iter()
            .map(|class| DistinctPeople::count(class.iter().map(|&r| key.persons[r])))
            .min()
            .unwrap_or(0)
    });
    let person_key = dataset.person_key.as_ref().map(|key| key.column.clone());
    let suppressed_records = result.suppressed.iter().filter(|&&s| s).count();
    let name = |columns: &[usize]| -> Vec<String> {
        columns
            .iter()
            .map(|&c| dataset.columns[c].spec.name.clone())
            .collect()
    };
    let report = Report {
        anonpub_version: env!("CARGO_PKG_VERSION"),
        dataset: dataset_name.to_owned(),
        input_records: dataset.rows(),
        method: method.name(),
        quasi_identifiers: name(&quasi),
        sensitive: name(&dataset.with_role(Role::Sensitive)),
        dropped_columns: dataset.dropped.clone(),
        privacy_model: ModelReport {
            k: request.k,
            person_key,
            suppression_limit: result.suppression_limit,
            l_diversity: l_report,
            t_closeness: t_report,
        },
        perturbation: counts,
        result: ResultReport {
            levels: result.levels,
            partitions: result.partitions,
            numeric_release: result.numeric_release,
            groups: result.groups,
            published_records: dataset.rows() - suppressed_records,
            suppressed_records,
            classes,
            smallest_class,
            smallest_class_people,
            information_loss: InformationLoss {
                loss: result.loss,
                sse,
            },
        },
        risk: release_risk(&histogram, request.k),
    };
    observer.stage_took("assemble", started.elapsed());
    Ok(Outcome {
        table,
        report,
        suppressed: result.suppressed,
    })
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

/// Assembles the output: method cells for quasi-identifiers, the (coded and rounded) text elsewhere, `*`
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
                let labels = column.cells.values.clone();
                let cells = Cells::suppressible(labels, &column.cells.codes, suppressed);
                (cells, column.numbers.is_some())
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
fn published_classes(table: &OutputTable, quasi: &[usize], suppressed: &[bool]) -> IdenticalRows {
    let ids: Vec<Vec<u32>> = quasi.iter().map(|&c| table.columns[c].cell_ids()).collect();
    let key = |row: usize| ids.iter().map(move |column| column[row]);
    let published: Vec<usize> = (0..table.rows()).filter(|&r| !suppressed[r]).collect();
    IdenticalRows::group(published, |a, b| key(a).cmp(key(b)))
}
