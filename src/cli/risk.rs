//! anonpub risk --input FILE [--schema FILE] [--population N] [--threshold P] [--format text|json]
//! anonpub risk --attacks (--db PATH [--key-file PATH] | --source table --input FILE --schema FILE
//!              [--key-file PATH]) --as-of YYYY-MM-DD [--config FILE] [--k N] [--seed N]
//!              [--ledger FILE] [--format text|json]
//!
//! Assesses the re-identification risk of a table, raw or released, the way ARX does: records
//! that agree on every quasi-identifier (the schema's columns with role `quasi_identifier`) form
//! an equivalence class, and an empty cell is a value of its own, since a missing value tells
//! records apart like any other. From the classes it reports prosecutor, journalist and marketer
//! risk (average, highest, share of records above --threshold), sample uniques, the distribution
//! of per-record risk and, given the size of the population the table was drawn from
//! (--population), the population uniqueness estimated by Pitman, Zayatz and SNB with Dankar's
//! choice among them. A model that cannot be fitted says why.
//!
//! The input is CSV (delimiter from the schema) or Parquet (by extension). Without --schema it is
//! read as an anonpub release: `record_id` plus the FreeSewing measurements, all of them
//! quasi-identifiers, so `anonpub risk --input release/measurements.csv` assesses a release.
//! Only figures are printed, never a cell.
//!
//! With --attacks it runs, on demand, the simulated attacks `publish` gates on
//! (`risk::attacks`: two successive releases differenced for a leaver and a joiner, public sets
//! subtracted from their groups, k − 1 planted accounts), against the release the private source
//! would give with the same flags and config as `publish` (`[attacks]` sets the targets; they run
//! even with `enabled = false`). Nothing is written; a --ledger is only read. The figures describe
//! the private data: keep them with the internal report.
//!
//! Exit codes: 0 assessed (with --attacks: and every attack threshold of the config passed); 1 an
//! attack threshold failed (the figures are printed first); 2 unusable input or arguments.

use std::path::Path;

use serde::Serialize;

use crate::cli::plan_args::PlanArgs;
use crate::error::{Error, Result};
use crate::extract::table::read_table;
use crate::gates::{Gate, Measured};
use crate::observe::Observer;
use crate::pipeline::simulate;
use crate::publish::internal::attacks_section;
use crate::risk::attacks::AttacksReport;
use crate::risk::recovery::RecoveryFigures;
use crate::risk::{assess, ClassHistogram, Estimate, PopulationAssessment, RiskSummary};
use crate::schema::{DatasetSchema, Role, FREESEWING_SCHEMA};

/// Default of --threshold.
const DEFAULT_THRESHOLD: f64 = 0.2;

#[derive(Debug, clap::Args)]
/// The command line of `anonpub risk`.
pub struct Args {
    /// Run the simulated attacks against the release the private source would give, instead of
    /// assessing a table (takes publish's source and release flags).
    #[arg(long)]
    pub attacks: bool,
    /// Without --attacks: --input is the table to assess (CSV, or Parquet if it ends in
    /// .parquet) and --schema names its quasi-identifiers (default: an anonpub FreeSewing
    /// release). With --attacks: the private source, as for `publish`.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Size of the population the table was drawn from, for population uniqueness.
    #[arg(long)]
    pub population: Option<u64>,
    /// Highest acceptable re-identification probability of one record [default: 0.2].
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How the assessment is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// One JSON object for programs.
    Json,
}

/// The JSON output.
#[derive(Debug, Serialize)]
struct Assessment<'a> {
    input: &'a Path,
    quasi_identifiers: Vec<&'a str>,
    risk: RiskSummary,
}

/// Assesses the input table, or with --attacks runs the simulated attacks, and prints the
/// figures.
pub fn run(args: Args, observer: &dyn Observer) -> Result<()> {
    if args.attacks {
        return run_attacks(args, observer);
    }
    if let Some(flag) = args.plan.given().next() {
        return Err(Error::InvalidArgument {
            name: flag,
            problem: "applies only with --attacks".into(),
        });
    }
    let input = args.plan.input.ok_or_else(|| Error::InvalidArgument {
        name: "--input",
        problem: "the table to assess is needed (or --attacks and a source)".into(),
    })?;
    let threshold = args.threshold.unwrap_or(DEFAULT_THRESHOLD);
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(Error::InvalidArgument {
            name: "--threshold",
            problem: "must be above 0 and at most 1".into(),
        });
    }
    let schema = match &args.plan.schema {
        Some(path) => DatasetSchema::load(path)?,
        None => release_schema(),
    };
    let quasi: Vec<usize> = (0..schema.columns.len())
        .filter(|&c| schema.columns[c].role == Role::QuasiIdentifier)
        .collect();
    if quasi.is_empty() {
        return Err(Error::bad_file(
            args.plan.schema.as_deref().unwrap_or(Path::new("schema")),
            None,
            "declares no column with role `quasi_identifier`, so there is nothing to assess",
        ));
    }
    let table = observer.time("read", || read_table(&input, &schema))?;
    let columns: Vec<&[String]> = quasi.iter().map(|&c| table.cells[c].as_slice()).collect();
    let histogram = observer.time("classes", || ClassHistogram::from_text_columns(&columns));
    let quasi_identifiers: Vec<String> = quasi.iter().map(|&c| table.columns[c].clone()).collect();
    // The cells are not needed any more and the process ends right after printing: leaving them
    // to the operating system saves freeing every cell one by one, a tenth of the whole run on a
    // table the size of adult.
    std::mem::forget(table);
    let assessment = Assessment {
        input: &input,
        quasi_identifiers: quasi_identifiers.iter().map(String::as_str).collect(),
        risk: observer.time("assess", || assess(&histogram, args.population, threshold)),
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&assessment).expect("figures serialize")
        ),
        Format::Text => print!("{}", render(&assessment)),
    }
    Ok(())
}

/// `risk --attacks`: the plan as `publish` would make it, the attacks, their gates.
fn run_attacks(args: Args, observer: &dyn Observer) -> Result<()> {
    for (flag, given) in [
        ("--population", args.population.is_some()),
        ("--threshold", args.threshold.is_some()),
    ] {
        if given {
            return Err(Error::InvalidArgument {
                name: flag,
                problem: "assesses a table, and does not apply with --attacks".into(),
            });
        }
    }
    let plan = args.plan.plan()?;
    let attacks = simulate(&plan, observer)?;
    let mut measured = Measured::default();
    attacks.measured(&mut measured);
    let gates = plan.config.thresholds.evaluate(&measured);
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "notice": "INTERNAL: simulated on the private data; never publish these figures",
                "k": plan.config.k,
                "attacks": attacks_section(&attacks),
                "gates": gates,
            }))
            .expect("figures serialize")
        ),
        Format::Text => print!("{}", render_attacks(&attacks, plan.config.k, &gates)),
    }
    match gates.into_iter().find(|gate| !gate.passed) {
        Some(failed) => Err(failed.into_error()),
        None => Ok(()),
    }
}

/// The attacks as a table, then their gates.
fn render_attacks(attacks: &AttacksReport, k: usize, gates: &[Gate]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "simulated attacks at k = {k} on {} of {} eligible people (internal: never publish)",
        attacks.simulated_people, attacks.eligible_people
    );
    if let Some(changes) = &attacks.changes {
        let _ = writeln!(
            out,
            "since release {}: {} people joined, {} sets left; {} joiner targets from the ledger",
            changes.previous_release,
            changes.joined,
            changes.left_sets,
            changes.joiner_targets_from_ledger
        );
    }
    let _ = writeln!(
        out,
        "\n{:<22} {:>8} {:>10} {:>14}",
        "attack", "targets", "recovered", "median error"
    );
    let known = &attacks.known_members;
    for (name, figures) in [
        ("differencing, leaver", &attacks.differencing.leavers),
        ("differencing, joiner", &attacks.differencing.joiners),
        ("fake accounts", &attacks.fake_accounts),
        ("known members", &known.rebuilt),
    ] {
        let _ = writeln!(out, "{}", figure_line(name, figures));
    }
    let _ = writeln!(
        out,
        "\npublic sets: {} released, {} private people in a group with fewer than k non-public \
         people ({:.2} %)",
        known.public_sets,
        known.exposed_people,
        known.exposed_share * 100.0
    );
    let membership = &attacks.membership;
    let _ = writeln!(
        out,
        "\nmembership inference (nearest released row, {} held out of {} people):",
        membership.held_out_people, membership.simulated_people
    );
    for (name, figures) in [
        ("every set", &membership.all),
        (
            &*format!("sets of >= {}", membership.wide_min_measurements),
            &membership.wide,
        ),
    ] {
        let _ = writeln!(
            out,
            "  {name:<16} {} members / {} non-members: AUC {} (95 % CI {}), TPR at 5 % FPR {}",
            figures.members,
            figures.non_members,
            figures.auc.map_or("-".into(), |a| format!("{a:.3}")),
            figures
                .auc_ci95
                .map_or("-".into(), |[l, h]| format!("{l:.3}-{h:.3}")),
            figures
                .tpr_at_5_percent_fpr
                .map_or("-".into(), |t| format!("{:.1} %", t * 100.0)),
        );
    }
    let _ = writeln!(out, "\ngates:");
    if gates.is_empty() {
        let _ = writeln!(
            out,
            "  none set (see [attacks] and [thresholds] in the config)"
        );
    }
    for gate in gates {
        let _ = writeln!(
            out,
            "  {:<4} {} = {} (required {})",
            if gate.passed { "ok" } else { "FAIL" },
            gate.name,
            gate.measured,
            gate.required
        );
    }
    out
}

/// One attack's line: targets, share recovered, median error in standard deviations.
fn figure_line(name: &str, figures: &RecoveryFigures) -> String {
    format!(
        "{name:<22} {:>8} {:>9.1}% {:>11}",
        figures.targets,
        figures.recovered_share * 100.0,
        figures
            .median_error_sd
            .map_or("-".to_string(), |sd| format!("{sd:.3} SD"))
    )
}

/// The FreeSewing schema plus the `record_id` column every release starts with.
fn release_schema() -> DatasetSchema {
    let text = format!(
        "{FREESEWING_SCHEMA}\n[[column]]\nname = \"record_id\"\nrole = \"direct_identifier\"\ntype = \"string\"\n"
    );
    DatasetSchema::parse(&text, Path::new("anonpub release schema"))
        .expect("the embedded schema plus record_id is valid")
}

fn render(assessment: &Assessment) -> String {
    use std::fmt::Write;
    let risk = &assessment.risk;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} records, {} quasi-identifiers ({})",
        assessment.input.display(),
        risk.records,
        assessment.quasi_identifiers.len(),
        assessment.quasi_identifiers.join(", ")
    );
    let _ = writeln!(
        out,
        "{} equivalence classes, smallest {}",
        risk.classes,
        risk.smallest_class
            .map_or("-".to_string(), |size| size.to_string())
    );
    let reident = &risk.reidentification;
    let _ = writeln!(
        out,
        "\n{:<12} {:>10} {:>10} {:>16}",
        "attacker",
        "average",
        "highest",
        format!("records > {}", reident.threshold)
    );
    for (name, attacker) in [
        ("prosecutor", reident.prosecutor),
        ("journalist", reident.journalist),
    ] {
        let _ = writeln!(
            out,
            "{name:<12} {:>10.6} {:>10.6} {:>15.4}%",
            attacker.average,
            attacker.highest,
            attacker.records_at_risk * 100.0
        );
    }
    let _ = writeln!(out, "{:<12} {:>10.6}", "marketer", reident.marketer_average);
    let _ = writeln!(
        out,
        "\nsample uniques: {} records ({:.4} %)",
        risk.sample_uniqueness.unique_records,
        risk.sample_uniqueness.share * 100.0
    );
    match &risk.population {
        PopulationAssessment::NotRequested => {
            let _ = writeln!(
                out,
                "population uniqueness: not estimated (no --population)"
            );
        }
        PopulationAssessment::Rejected { reason } => {
            let _ = writeln!(out, "population uniqueness: not estimated: {reason}");
        }
        PopulationAssessment::Estimated(population) => {
            let _ = writeln!(
                out,
                "population uniqueness (population {}, sampling fraction {:.4e}):",
                population.population_size, population.sampling_fraction
            );
            for (name, estimate) in [
                ("Pitman", &population.pitman),
                ("Zayatz", &population.zayatz),
                ("SNB", &population.snb),
            ] {
                let line = match estimate {
                    Estimate::Estimated {
                        population_uniques,
                        fraction,
                    } => {
                        format!("{fraction:.6e} of the population ({population_uniques:.1} people)")
                    }
                    Estimate::Unavailable { reason } => format!("no estimate: {reason}"),
                };
                let _ = writeln!(out, "  {name:<7} {line}");
            }
            let _ = writeln!(
                out,
                "  Dankar  {:.6e} ({})",
                population.dankar.fraction, population.dankar.rationale
            );
        }
    }
    let _ = writeln!(out, "\nrecords by prosecutor risk:");
    for bucket in risk
        .risk_distribution
        .buckets
        .iter()
        .filter(|bucket| bucket.share_of_records > 0.0)
    {
        let _ = writeln!(
            out,
            "  ({:<6}, {:<6}] {:>8.4} %   cumulative {:>8.4} %",
            bucket.above,
            bucket.up_to,
            bucket.share_of_records * 100.0,
            bucket.cumulative_share * 100.0
        );
    }
    out
}
