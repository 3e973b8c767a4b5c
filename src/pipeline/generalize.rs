//! The release of a generalizing method (`[method] name = "global"` or `"mondrian"`) from a
//! person-keyed table: the same stages as the measurements release, with the anonymization
//! engine's method in place of microaggregation.
//!
//! ```text
//! PersonTable ─select─► eligible rows ─engine (method, k, l, t)─► classes of generalized cells
//!             ─deidentify─► sorted rows + record ids ─measure (l, t)─► Groups
//!             ─judge (l, t asked; risk; gates), report (shared by every method)─► release
//! ```
//!
//! Selection applies the rules of every release (consent, status, retention window, the
//! schema's plausible ranges; bad rows left out and counted). The engine gives the method seam's
//! guarantee: every published class of identical quasi-identifier cells holds at least k
//! distinct people and meets every privacy model asked for (`anonymize::method`). Suppressed
//! records are left out of the release and counted, as the measurements release leaves them
//! out. The figures the report claims are then measured again on the released rows alone
//! ([`crate::release::diversity`], the code `verify` runs), so that the release never claims
//! more than its files show: t-closeness there is judged against the released rows, and a
//! release whose suppression moved that distribution beyond t is refused.

use std::collections::{BTreeMap, HashSet};

use zeroize::Zeroizing;

use super::method::{Eligible, Groups, PublishMethod, Released};
use super::{judge, parameters, report, Destination, Plan, Published, ReleaseKeys, SourcePlan};
use crate::anonymize::dataset::{Dataset, Origin};
use crate::anonymize::engine;
use crate::deidentify::{record_id_seed, record_ids, RECORD_ID_LABEL};
use crate::error::{Error, Result};
use crate::extract::person_table::{table_secret, PersonTable};
use crate::extract::source::{Owner, Source};
use crate::extract::table::{CodedTable, TextTable};
use crate::observe::Observer;
use crate::publish::generalized::{stage_generalized, GeneralizedRelease};
use crate::publish::Provenance;
use crate::release::diversity::Classes;
use crate::release::manifest::{InputFingerprint, FINGERPRINT_LABEL};
use crate::release::plain::{PlainTable, PlainValues};
use crate::release::report::{
    AnonymizationCounts, GeneralizationReport, PublishedColumn, Requested,
};
use crate::risk::ClassHistogram;
use crate::schema::{ColumnType, DatasetSchema, Role};
use crate::select::{judge_person, BadRows, Exclusion, ReasonCounts, SelectionReport};

/// The eligible rows of a person-keyed table, as a generalizing method reads them.
pub struct Cells {
    /// The eligible rows, checked against the schema (hierarchies, types).
    dataset: Dataset,
    /// The key of the record ids ([`record_id_seed`]).
    id_seed: Zeroizing<[u8; 32]>,
}

/// Publishes the planned table with the generalizing `method` into `destination`: the table's
/// eligible rows, the method's groups, then the one path every method shares
/// ([`super::judge`], [`super::report`]) and the release files of generalized cells.
pub fn publish(
    plan: &Plan,
    method: &dyn PublishMethod,
    destination: &Destination,
    observer: &dyn Observer,
) -> Result<Published> {
    let SourcePlan::Table {
        input,
        schema: schema_path,
        key_file,
    } = &plan.source
    else {
        unreachable!("the plan refuses a generalizing method on any other source")
    };
    let secret = key_file.as_deref().map(table_secret).transpose()?;
    let table = observer.time("open", || {
        PersonTable::open(input, &plan.schema, &plan.catalog, secret)
    })?;
    let fingerprint = observer.time("fingerprint", || {
        InputFingerprint::of_input(input, table.secret_key(FINGERPRINT_LABEL).as_ref())
    })?;
    let id_seed = record_id_seed(
        table
            .secret_key(RECORD_ID_LABEL)
            .map(|(key, _)| key)
            .as_deref(),
        &fingerprint.value,
        plan.seed,
    );
    let source = table.description();
    let (rows, selection) = observer.time("select", || select_rows(&table, plan))?;
    tracing::info!(
        "selected {} rows of {} people (of {} rows in the input)",
        selection.eligible_sets,
        selection.eligible_people,
        selection.sets_in_database
    );
    if (selection.eligible_people as usize) < plan.config.k {
        return Err(Error::TooFewPeople {
            path: input.clone(),
            eligible: selection.eligible_people as usize,
            k: plan.config.k,
        });
    }
    let eligible = CodedTable::from(subset(table.text(), &rows));
    drop(table);
    let dataset = observer.time("check", || {
        Dataset::new(
            eligible,
            &plan.schema,
            Origin::subset(input, rows),
            schema_path,
        )
    })?;
    let keys = ReleaseKeys {
        group_noise: None,
        member_key: None,
    };
    let cells = Cells { dataset, id_seed };
    let groups = method.groups(Eligible::Cells(cells), plan, &keys, observer)?;
    let (risk, _) = judge(&groups, plan, observer)?;
    let report = report(plan, method, selection, &groups, risk, None, None);
    let Released::Cells(released) = &groups.released else {
        unreachable!("a generalizing method releases cells")
    };
    let plain = released.plain_table();
    let release = GeneralizedRelease {
        table: &plain,
        provenance: Provenance {
            report: &report,
            schema: &plan.schema,
            config: &plan.config,
            config_sha256: &plan.config_sha256,
            input_fingerprint: &fingerprint,
            source: &source,
        },
    };
    stage_generalized(&destination.out, destination.force, &release, observer)?.commit()?;
    Ok(Published { report, source })
}

/// The engine's classes of the eligible cells: the engine runs the planned method (with k, l,
/// t and suppression), its suppressed records are left out, the rest sorted and given record
/// ids, and l and t measured on the released rows alone ([`measure`]).
pub fn groups(cells: Cells, plan: &Plan, observer: &dyn Observer) -> Result<Groups> {
    let request = plan
        .generalization
        .as_ref()
        .expect("the plan makes the engine's request for a generalizing method");
    let outcome = engine::run(cells.dataset, &plan.schema.name, request, observer)?;
    let released = observer.time("deidentify", || released_rows(&outcome, &cells.id_seed));
    let measured = measure(&released, request);
    let result = &outcome.report.result;
    let suppressed = result.suppressed_records;
    let eligible_records = outcome.report.input_records;
    let counts = AnonymizationCounts {
        published_records: released.rows.len(),
        suppressed_records: suppressed,
        suppressed_share: suppressed as f64 / eligible_records.max(1) as f64,
        coarsened_records: 0,
        dropped_values: 0,
        groups: measured.classes,
        coverage_patterns: usize::from(!released.rows.is_empty()),
    };
    let mut parameters = parameters(plan, None);
    parameters.spread_restoration =
        "none: generalized cells are published as the method made them".into();
    let generalization = GeneralizationReport {
        columns: released.columns.clone(),
        suppression_limit: outcome.report.privacy_model.suppression_limit,
        levels: result.levels.clone(),
        partitions: result.partitions,
        information_loss: result.information_loss.loss,
        l_diversity: request.l_diversity.map(|(l, _)| Requested {
            requested: l,
            achieved: measured.l.unwrap_or(0),
        }),
        t_closeness: request.t_closeness.map(|t| Requested {
            requested: t,
            achieved: measured.t.unwrap_or(0.0),
        }),
    };
    Ok(Groups {
        k_achieved: result
            .smallest_class_people
            .unwrap_or(result.smallest_class),
        counts,
        classes: measured.histogram,
        l: measured.l,
        t: measured.t,
        parameters,
        generalization: Some(generalization),
        released: Released::Cells(released),
    })
}

/// The rows of the eligible people, and what selection counted. A row is left out when its
/// person key is empty (`orphan_set`), its person cannot be judged (`unreadable_owner`) or is
/// not eligible (consent, status, retention window), or when a published numeric cell is not a
/// number (`malformed_value`) or lies outside the schema's plausible range
/// (`implausible_value`). Beyond `max_malformed_share` of bad rows the table is refused.
fn select_rows(table: &PersonTable, plan: &Plan) -> Result<(Vec<usize>, SelectionReport)> {
    let policy = plan.selection_policy();
    let people = table.people()?;
    let verdicts: BTreeMap<i64, std::result::Result<(), Exclusion>> = people
        .by_key
        .iter()
        .map(|(&key, owner)| {
            let verdict = match owner {
                Owner::Readable(facts) => judge_person(facts, &policy),
                Owner::Unreadable => Err(Exclusion::UnreadableOwner),
            };
            (key, verdict)
        })
        .collect();
    let text = table.text();
    let checked = numeric_columns(&plan.schema);
    let mut excluded: BTreeMap<Exclusion, u64> = BTreeMap::new();
    let mut first_bad: Option<usize> = None;
    let mut rows = Vec::new();
    let mut eligible_people = HashSet::new();
    for (row, owner) in table.owners().iter().enumerate() {
        let verdict = match owner {
            None => Err(Exclusion::OrphanSet),
            Some(key) => verdicts[key].and_then(|()| {
                checked
                    .iter()
                    .try_for_each(|&(column, spec)| judge_cell(&text.cells[column][row], spec))
            }),
        };
        match verdict {
            Ok(()) => {
                rows.push(row);
                eligible_people.insert(owner.expect("an eligible row has an owner"));
            }
            Err(reason) => {
                *excluded.entry(reason).or_default() += 1;
                if reason.is_bad_row() {
                    first_bad.get_or_insert(row);
                }
            }
        }
    }
    let total = text.rows() as u64;
    let bad: u64 = excluded
        .iter()
        .filter(|(reason, _)| reason.is_bad_row())
        .map(|(_, &count)| count)
        .sum();
    let share = bad as f64 / total.max(1) as f64;
    if share > policy.max_malformed_share {
        return Err(Error::TooManyBadRows {
            path: table.path().into(),
            bad,
            of: total,
            share,
            limit: policy.max_malformed_share,
            reasons: format!(
                "{} (first: row {})",
                reason_counts(&excluded, |r| r.is_bad_row())
                    .iter()
                    .map(|(key, count)| format!("{key} {count}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                first_bad.map_or(0, |row| row + 1)
            ),
        });
    }
    let mut excluded_users = ReasonCounts::new();
    for reason in verdicts.values().filter_map(|verdict| verdict.err()) {
        *excluded_users.entry(reason.key().into()).or_default() += 1;
    }
    let report = SelectionReport {
        users_in_database: people.rows,
        sets_in_database: total,
        eligible_sets: rows.len() as u64,
        eligible_people: eligible_people.len() as u64,
        excluded_sets: reason_counts(&excluded, |_| true),
        excluded_users,
        bad_rows: BadRows {
            sets: bad,
            of_sets: total,
            share,
            max_share: policy.max_malformed_share,
        },
        unknown_measurements_dropped: 0,
    };
    Ok((rows, report))
}

/// The counts of the reasons `keep` accepts, by their report key.
fn reason_counts(
    excluded: &BTreeMap<Exclusion, u64>,
    keep: impl Fn(Exclusion) -> bool,
) -> ReasonCounts {
    excluded
        .iter()
        .filter(|(&reason, _)| keep(reason))
        .map(|(reason, &count)| (reason.key().into(), count))
        .collect()
}

/// The published numeric columns of the schema, by position, with their specification.
fn numeric_columns(schema: &DatasetSchema) -> Vec<(usize, &crate::schema::ColumnSpec)> {
    schema
        .columns
        .iter()
        .enumerate()
        .filter(|(_, spec)| {
            spec.is_numeric() && spec.role != Role::DirectIdentifier && !spec.role.is_eligibility()
        })
        .collect()
}

/// An empty cell is a value not collected; anything else must be a finite number (a whole one
/// in an `integer` column) within the column's plausible range.
fn judge_cell(cell: &str, spec: &crate::schema::ColumnSpec) -> std::result::Result<(), Exclusion> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(());
    }
    let value = match cell.parse::<f64>() {
        Ok(value)
            if value.is_finite()
                && (spec.value_type != ColumnType::Integer || value.fract() == 0.0) =>
        {
            value
        }
        _ => return Err(Exclusion::MalformedValue),
    };
    match spec.plausible {
        Some([low, high]) if !(low..=high).contains(&value) => Err(Exclusion::ImplausibleValue),
        _ => Ok(()),
    }
}

/// The rows `rows` of `table`.
fn subset(table: &TextTable, rows: &[usize]) -> TextTable {
    TextTable {
        columns: table.columns.clone(),
        cells: table
            .cells
            .iter()
            .map(|column| rows.iter().map(|&r| column[r].clone()).collect())
            .collect(),
    }
}

/// The published rows of a generalized release, de-identified.
pub struct ReleasedCells {
    /// The published columns.
    columns: Vec<PublishedColumn>,
    /// Each published record's cells, sorted, so that row order reveals nothing of the input's.
    rows: Vec<Vec<String>>,
    /// One record id per row, keyed by the input and the seed ([`record_id_seed`]).
    record_ids: Vec<String>,
}

impl ReleasedCells {
    /// `record_id`, then every column: numbers where the method left a numeric column numeric.
    fn plain_table(&self) -> PlainTable {
        let mut columns = vec![(
            "record_id".to_string(),
            PlainValues::Text(self.record_ids.iter().cloned().map(Some).collect()),
        )];
        for (c, column) in self.columns.iter().enumerate() {
            let cells = self.rows.iter().map(|row| row[c].as_str());
            let values = if column.numeric {
                PlainValues::Number(cells.map(|cell| cell.parse::<f64>().ok()).collect())
            } else {
                PlainValues::Text(
                    cells
                        .map(|cell| (!cell.is_empty()).then(|| cell.to_string()))
                        .collect(),
                )
            };
            columns.push((column.name.clone(), values));
        }
        PlainTable { columns }
    }
}

/// The engine's output without its suppressed records, sorted, with record ids. A column the
/// method left numeric is published as numbers only if every cell reads as one (or is empty).
fn released_rows(outcome: &engine::Outcome, id_seed: &[u8; 32]) -> ReleasedCells {
    let table = &outcome.table;
    let report = &outcome.report;
    let role = |name: &String| {
        if report.quasi_identifiers.contains(name) {
            Role::QuasiIdentifier
        } else if report.sensitive.contains(name) {
            Role::Sensitive
        } else {
            Role::Insensitive
        }
    };
    let mut rows: Vec<Vec<String>> = (0..table.rows())
        .filter(|&row| !outcome.suppressed[row])
        .map(|row| {
            table
                .columns
                .iter()
                .map(|column| column.cell(row).to_string())
                .collect()
        })
        .collect();
    rows.sort_unstable();
    let columns = table
        .columns
        .iter()
        .enumerate()
        .map(|(c, column)| PublishedColumn {
            name: column.name.clone(),
            role: role(&column.name),
            numeric: column.numeric
                && rows
                    .iter()
                    .all(|row| row[c].is_empty() || row[c].parse::<f64>().is_ok()),
        })
        .collect();
    ReleasedCells {
        columns,
        record_ids: record_ids(rows.len(), id_seed),
        rows,
    }
}

/// What the released rows show.
struct Figures {
    histogram: ClassHistogram,
    classes: usize,
    l: Option<usize>,
    t: Option<f64>,
}

/// k, l and t measured on the released rows alone, as `verify` measures them (the l and t asked
/// for are judged in [`super::judge`]).
fn measure(released: &ReleasedCells, request: &engine::Request) -> Figures {
    let positions = |role: Role| -> Vec<usize> {
        (0..released.columns.len())
            .filter(|&c| released.columns[c].role == role)
            .collect()
    };
    let classes = Classes::of(&released.rows, &positions(Role::QuasiIdentifier));
    let sensitive = positions(Role::Sensitive);
    let column = |c: usize| -> Vec<&str> { released.rows.iter().map(|r| r[c].as_str()).collect() };
    let l = (!sensitive.is_empty()).then(|| {
        sensitive
            .iter()
            .map(|&c| classes.distinct_l(&column(c)))
            .min()
            .unwrap_or(0)
    });
    let t = request.t_closeness.map(|_| {
        sensitive
            .iter()
            .map(|&c| classes.t_closeness(&column(c), released.columns[c].numeric))
            .fold(0.0, f64::max)
    });
    Figures {
        histogram: ClassHistogram::from_class_sizes(
            classes.members.iter().map(|class| class.len() as u64),
        ),
        classes: classes.members.len(),
        l,
        t,
    }
}
