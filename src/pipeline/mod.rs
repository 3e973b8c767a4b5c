//! The release pipeline: one validated [`Plan`] run through the stages in order, each handing a
//! typed value to the next.
//!
//! ```text
//! Source ─select─► eligible records ─method.groups (with de-identified rows)─► Groups
//!        ─judge (l, t, risk, gates) + linkage, attacks─► Assessed ─report─► ReleaseReport
//!        ─write─► release dir
//! ```
//!
//! [`publish`] takes the method of the plan from the registry of [`method::METHODS`]: every
//! method returns [`method::Groups`] from the eligible records, and every release then takes the
//! same path: the privacy models judged against what was asked and the risk and gates of the
//! released rows ([`judge`]), the report ([`report`]), the release files. A method that reads
//! measurement sets runs on any [`Source`] through [`release_from`], which is generic over it,
//! with the multi-release defences of group means (size chart, ledger, linkage and simulated
//! attacks); a method that reads a table's cells runs through [`generalize::publish`]. Progress
//! and timings go to an [`Observer`]; nothing here knows about terminals.

mod benchmark;
mod generalize;
pub mod keys;
pub mod method;
pub mod plan;

use std::path::Path;
use std::sync::mpsc::Receiver;
use std::sync::OnceLock;

use serde_json::json;
use zeroize::Zeroizing;

use crate::anonymize::group_noise::GROUP_NOISE_LABEL;
use crate::anonymize::method::Microaggregation;
use crate::anonymize::microaggregation::Microaggregated;
use crate::deidentify::{record_id_seed, ReleaseTable, RECORD_ID_LABEL};
use crate::dp::release::{chart_release, open_ledger, write_ahead_spend};
use crate::error::{Error, Result};
use crate::extract::crypto::{load_secret, FieldKey};
use crate::extract::freesewing_v3::{FreeSewingV3, V3Database};
use crate::extract::person_table::{table_secret, PersonTable};
use crate::extract::source::{PersonStrata, Source, SourceDescription};
use crate::gates::Measured;
use crate::ledger::{GroupMembership, Ledger, LedgerLock, MEMBERSHIP_LABEL};
use crate::observe::{Observer, Silent};
use crate::publish::internal::{attacks_section, write_internal_report};
use crate::publish::risk::release_risk;
use crate::publish::{stage_release, Provenance, Release};
use crate::release::manifest::{InputFingerprint, FINGERPRINT_LABEL};
use crate::release::report::{
    GroupNoiseParameters, MethodBenchmark, ReleaseParameters, ReleaseReport, RiskFigures,
    REPORT_FORMAT,
};
use crate::release::sizechart::SizeChartReport;
use crate::release::SIZECHART_CSV_FILE;
use crate::risk::attacks::{run_attacks_as_released, AttackInput, AttacksReport};
use crate::risk::linkage::{linkage_attack, Attack, LinkageReport, ReleasedRows};
use crate::risk::recovery::{GroupedRelease, Scoring, Tolerance};
use crate::risk::utility::numeric_utility;
use crate::select::{select, SelectionReport};
use crate::table::MeasurementTable;
use crate::timings::timed;
use benchmark::{benchmark_method, published_patterns};
use method::{noise, Anonymized, Eligible, Groups, PublishMethod, Reads, Released};
pub use plan::{Destination, Plan, Request, SourcePlan};

/// What a finished release run reports back to its caller.
#[derive(Debug, Clone)]
pub struct Published {
    /// The public report, as written to `report.json`.
    pub report: ReleaseReport,
    /// The source, as it described itself.
    pub source: SourceDescription,
}

/// Opens the planned source and publishes the release it yields into `destination`.
pub fn publish(
    plan: &Plan,
    destination: &Destination,
    observer: &dyn Observer,
) -> Result<Published> {
    let method = method::planned(plan);
    if method.reads() == Reads::Cells {
        return generalize::publish(plan, method, destination, observer);
    }
    struct Publish<'a>(
        &'a Plan,
        &'a dyn PublishMethod,
        &'a Destination,
        &'a dyn Observer,
    );
    impl WithSource for Publish<'_> {
        type Output = Published;
        fn run<S: Source>(self, source: S) -> Result<Published> {
            release_from(source, self.1, self.0, self.2, self.3)
        }
    }
    open_source(plan, observer, Publish(plan, method, destination, observer))
}

/// Runs the simulated attacks of [`crate::risk::attacks`] against the release the plan would
/// make, as `publish` runs them for its gates, and writes nothing: `anonpub risk --attacks`.
/// The ledger, if any, is only read (for the people who joined since the release it records);
/// a group-noise key it does not hold yet is drawn for this run alone, which changes no figure
/// but the noise's draw.
pub fn simulate(plan: &Plan, observer: &dyn Observer) -> Result<AttacksReport> {
    if method::planned(plan).reads() != Reads::Measurements {
        return Err(Error::InvalidArgument {
            name: "method.name",
            problem: "the simulated attacks re-run microaggregation on changed data; they apply \
                      to name = \"mdav\" only"
                .into(),
        });
    }
    struct Simulate<'a>(&'a Plan, &'a dyn Observer);
    impl WithSource for Simulate<'_> {
        type Output = AttacksReport;
        fn run<S: Source>(self, source: S) -> Result<AttacksReport> {
            let (plan, observer) = (self.0, self.1);
            let mut ledger = plan.ledger.as_deref().map(Ledger::read).transpose()?;
            let mut selected = select_people(source, plan, observer)?;
            let keys = release_keys(&mut selected, ledger.as_mut(), plan)?;
            let method = method::planned(plan);
            let groups = method.groups(Eligible::Measurements(&selected), plan, &keys, observer)?;
            let Released::Measurements(anonymized) = &groups.released else {
                unreachable!("a method that reads measurement sets releases measurements")
            };
            let previous = ledger.as_ref().and_then(Ledger::previous_membership);
            let (hand_over, released) = std::sync::mpsc::channel();
            hand_over
                .send(released_rows(&anonymized.released))
                .expect("the receiver is alive");
            Ok(observer.time("attacks", || {
                simulate_attacks(&selected, &released, plan, &keys, previous)
                    .expect("the release was handed over")
            }))
        }
    }
    open_source(plan, observer, Simulate(plan, observer))
}

/// A run over whichever source the plan names: [`open_source`] opens it and hands it over.
trait WithSource {
    /// What the run yields.
    type Output;
    /// Runs on the opened source.
    fn run<S: Source>(self, source: S) -> Result<Self::Output>;
}

/// Opens the planned source and runs `job` on it.
fn open_source<J: WithSource>(plan: &Plan, observer: &dyn Observer, job: J) -> Result<J::Output> {
    match &plan.source {
        SourcePlan::FreeSewingV3 { db, key_file } => {
            let database = observer.time("open", || V3Database::open(db))?;
            let (secret, origin) = load_secret(key_file.as_deref())?;
            let key = observer.time("derive-key", || FieldKey::derive(&secret));
            drop(secret);
            job.run(FreeSewingV3::new(database, key, origin.into()))
        }
        SourcePlan::Table {
            input, key_file, ..
        } => {
            let secret = key_file.as_deref().map(table_secret).transpose()?;
            let table = observer.time("open", || {
                PersonTable::open(input, &plan.schema, &plan.catalog, secret)
            })?;
            // The group noise needs a key that outlives the release: the table's secret, or one
            // the ledger keeps (`anonymize::group_noise`). Neither: refused before reading on.
            let keyless = table.secret_key(GROUP_NOISE_LABEL).is_none();
            if plan.config.defences.group_noise_sd > 0.0 && keyless && plan.ledger.is_none() {
                return Err(keys::group_noise_key(None, None)
                    .expect_err("no key without a source secret or a ledger"));
            }
            job.run(table)
        }
    }
}

/// Runs every stage on an open source with a `method` that reads measurement sets. The source
/// (and any key it holds) is dropped as soon as selection is done.
pub fn release_from<S: Source>(
    source: S,
    method: &dyn PublishMethod,
    plan: &Plan,
    destination: &Destination,
    observer: &dyn Observer,
) -> Result<Published> {
    // The ledger is locked from here to its last write (one run at a time, `ledger`), its
    // unsettled entries reconciled, and the lifetime budget checked before anything is read
    // (exit 1, saying what is left).
    let _ledger_lock = plan
        .ledger
        .as_deref()
        .map(LedgerLock::acquire)
        .transpose()?;
    let mut ledger = plan
        .ledger
        .as_deref()
        .map(|path| open_ledger(path, plan.config.sizechart.as_ref()))
        .transpose()?;
    let mut selected = select_people(source, plan, observer)?;
    // The chart is computed from the selected sets, before anonymization, with its own noise.
    let chart = plan
        .config
        .sizechart
        .as_ref()
        .map(|config| {
            observer.time("sizechart", || {
                chart_release(
                    &selected.table,
                    (&plan.catalog, &selected.person_strata),
                    config,
                )
            })
        })
        .transpose()?;
    let keys = release_keys(&mut selected, ledger.as_mut(), plan)?;
    let previous = ledger.as_ref().and_then(Ledger::previous_membership);
    // The simulated attacks decide only a gate and the internal report, never a release file.
    // Most of their work re-runs the method on the eligible records, which needs no release:
    // they start now, beside anonymization, and take the release when it is made (see
    // `risk::attacks::run_attacks_as_released`). The release is written into its staging
    // directory meanwhile and put in place only once their gates pass (a failed gate drops the
    // staging directory). The groups live outside the scope, so the attacks may borrow them.
    let run_attacks = plan.config.attacks.enabled
        && (destination.internal_report.is_some() || plan.config.thresholds.need_attacks());
    let made: OnceLock<Groups> = OnceLock::new();
    let (selected, keys) = (&selected, &keys);
    let (made_release, attacks) = std::thread::scope(|scope| {
        let (hand_over, released) = std::sync::mpsc::channel();
        let attacking = run_attacks.then(|| {
            scope.spawn(move || {
                observer.time("attacks", || {
                    simulate_attacks(selected, &released, plan, keys, previous)
                })
            })
        });
        let made_release = (|| {
            let groups = method.groups(Eligible::Measurements(selected), plan, keys, observer)?;
            let groups = made.get_or_init(|| groups);
            let Released::Measurements(anonymized) = &groups.released else {
                unreachable!("a method that reads measurement sets releases measurements")
            };
            let benchmarking = spawn_method_benchmark(plan, &anonymized.table);
            let (assessed, measured) =
                assess(selected, groups, anonymized, (plan, destination), observer)?;
            // Only a release that passed every gate so far is measured by the attacks.
            let _ = hand_over.send(released_rows(&anonymized.released));
            drop(hand_over);
            let (method_benchmark, benchmarking) =
                benchmarking.join().expect("the benchmark does not panic");
            observer.stage_took("method-benchmark", benchmarking);
            let report = report(
                plan,
                method,
                selected.report.clone(),
                groups,
                assessed.risk.clone(),
                method_benchmark,
                chart.as_ref().map(|c| c.report.clone()),
            );
            let release = Release {
                table: &anonymized.table,
                provenance: Provenance {
                    report: &report,
                    schema: &plan.schema,
                    config: &plan.config,
                    config_sha256: &plan.config_sha256,
                    input_fingerprint: &selected.fingerprint,
                    source: &selected.source,
                },
                catalog: &plan.catalog,
                sizechart: chart.as_ref().map(|c| &c.chart),
            };
            let staging = stage_release(&destination.out, destination.force, &release, observer)?;
            Ok((staging, report, assessed, measured, anonymized))
        })();
        // `None` only when the release was not made: its error is the one to report.
        let attacks = attacking.and_then(|handle| handle.join().expect("the attacks do not panic"));
        (made_release, attacks)
    });
    let (staging, report, mut assessed, mut measured, anonymized) = made_release?;
    if let Some(attacks) = &attacks {
        tracing::info!(
            "simulated attacks: {} targets each, on {} of {} people",
            plan.config.attacks.targets,
            attacks.simulated_people,
            attacks.eligible_people
        );
        attacks.measured(&mut measured);
        if let Err(failed) = plan.config.thresholds.check(&measured) {
            // Nothing is written, the internal report neither: say where the figures are.
            tracing::warn!(
                "simulated attacks: {}; `anonpub risk --attacks` with the same source flags and \
                 config prints every figure",
                attacks.shares()
            );
            return Err(failed);
        }
    }
    assessed.attacks = attacks;
    let internal = destination.internal_report.as_ref().map(|path| {
        (
            path,
            internal_report(&report, selected, anonymized, &assessed, plan),
        )
    });
    // Write-ahead: the chart's spend is in the ledger before the release can appear, so a run
    // that dies between the two leaves an over-count (`ledger`).
    let pending = match (&plan.config.sizechart, ledger.as_mut(), &plan.ledger) {
        (Some(config), Some(ledger), Some(path)) => {
            let position = write_ahead_spend(
                ledger,
                path,
                (&plan.config.version, &report.as_of),
                config,
                (&destination.out, &staging.path(SIZECHART_CSV_FILE)),
            )?;
            crate::ledger::test_abort_point();
            Some(position)
        }
        _ => None,
    };
    staging.commit()?;
    if let (Some(ledger), Some(path)) = (ledger.as_mut(), &plan.ledger) {
        // One write for everything this release confirms: its group membership (against
        // differencing), its
        // size chart's spend.
        if let Some(member_key) = &keys.member_key {
            let released = &anonymized.released;
            let of_rows: Vec<u64> = released.source.iter().map(|&r| member_key[r]).collect();
            ledger.membership = Some(GroupMembership::of(
                &plan.config.version,
                &released.group,
                &of_rows,
            ));
        }
        if let Some(position) = pending {
            ledger.confirm(position);
        }
        ledger.write(path)?;
        tracing::info!(
            "privacy ledger {}: ε = {} spent in {} releases",
            path.display(),
            ledger.spent_epsilon(),
            ledger.releases.len()
        );
    }
    if let Some((path, document)) = internal {
        write_internal_report(path, &document, destination.force)?;
        tracing::info!("internal report written to {}", path.display());
    }
    Ok(Published {
        report,
        source: selected.source.clone(),
    })
}

/// The eligible sets of the source, with what selection counted and the input's fingerprint.
pub struct Selected {
    /// One row per eligible set, with its owner's person number.
    pub table: MeasurementTable,
    /// What selection saw and left out.
    pub report: SelectionReport,
    /// The (keyed, when the source has a secret) fingerprint of the input file.
    pub fingerprint: InputFingerprint,
    /// The source, as it describes itself.
    pub source: SourceDescription,
    /// The source's secrets for the group noise and the ledger's member keys, taken before the
    /// source is dropped; `None` for a source without one.
    pub secrets: SourceSecrets,
    /// The key of the record ids, from the source's secret, the input's fingerprint and the seed
    /// ([`record_id_seed`]): no two inputs share ids.
    pub record_id_seed: Zeroizing<[u8; 32]>,
    /// Each person's size-chart strata from the source's `stratum` columns (read only with a
    /// `[sizechart]`).
    pub person_strata: PersonStrata,
}

/// Keys derived from a source's secret, each under its own label.
#[derive(Default)]
pub struct SourceSecrets {
    /// Under [`GROUP_NOISE_LABEL`].
    pub group_noise: Option<Zeroizing<[u8; 32]>>,
    /// Under [`MEMBERSHIP_LABEL`].
    pub membership: Option<Zeroizing<[u8; 32]>>,
}

/// The keys of this release's defences.
pub struct ReleaseKeys {
    /// The group-noise key; `None` when the noise is off.
    pub group_noise: Option<Zeroizing<[u8; 32]>>,
    /// The ledger's key of each eligible record ([`GroupMembership::set_key`]); `None` without
    /// a ledger.
    pub member_key: Option<Vec<u64>>,
}

/// The keys of the defences: the source's own when it has a secret, otherwise those the ledger
/// keeps (a key drawn once, [`Ledger::group_noise_key`]). The plan has already refused noise
/// with neither.
fn release_keys(
    selected: &mut Selected,
    ledger: Option<&mut Ledger>,
    plan: &Plan,
) -> Result<ReleaseKeys> {
    let secrets = std::mem::take(&mut selected.secrets);
    let mut ledger = ledger.zip(plan.ledger.as_deref());
    let mut kept_key = || -> Result<Zeroizing<[u8; 32]>> {
        let (ledger, path) = ledger
            .as_mut()
            .expect("`publish` refuses noise without a source secret or a ledger");
        ledger.group_noise_key(path)
    };
    let group_noise = match (
        plan.config.defences.group_noise_sd > 0.0,
        secrets.group_noise,
    ) {
        (false, _) => None,
        (true, Some(key)) => Some(key),
        (true, None) => Some(kept_key()?),
    };
    let member_key = match plan.ledger {
        None => None,
        Some(_) => {
            let key = match secrets.membership {
                Some(key) => key,
                None => keys::derive(&*kept_key()?, MEMBERSHIP_LABEL),
            };
            let table = &selected.table;
            Some(
                (0..table.len())
                    .map(|r| GroupMembership::set_key(&key, table.row(r)))
                    .collect(),
            )
        }
    };
    Ok(ReleaseKeys {
        group_noise,
        member_key,
    })
}

/// Stage 1–2: reads and selects; the fingerprint is computed on its own thread meanwhile. If
/// selection fails, its error is reported at once and the process ends without waiting.
fn select_people<S: Source>(source: S, plan: &Plan, observer: &dyn Observer) -> Result<Selected> {
    let policy = plan.selection_policy();
    let fingerprinting = {
        let path = source.path().to_path_buf();
        let key = source.secret_key(FINGERPRINT_LABEL);
        std::thread::spawn(move || timed(|| InputFingerprint::of_input(&path, key.as_ref())))
    };
    let description = source.description();
    let secrets = SourceSecrets {
        group_noise: source.secret_key(GROUP_NOISE_LABEL).map(|(key, _)| key),
        membership: source.secret_key(MEMBERSHIP_LABEL).map(|(key, _)| key),
    };
    let record_id_key = source.secret_key(RECORD_ID_LABEL).map(|(key, _)| key);
    let person_strata = match plan.config.sizechart {
        Some(_) => source.person_strata(),
        None => PersonStrata::default(),
    };
    let selected = select(&source, &policy, &plan.catalog, observer);
    let path = source.path().to_path_buf();
    drop(source);
    let (table, report) = selected?;
    let (fingerprint, fingerprinting) = fingerprinting
        .join()
        .expect("fingerprinting does not panic");
    let fingerprint = fingerprint?;
    observer.stage_took("fingerprint", fingerprinting);
    let record_id_seed = record_id_seed(record_id_key.as_deref(), &fingerprint.value, plan.seed);
    tracing::info!(
        "selected {} sets of {} people (of {} sets in the input)",
        report.eligible_sets,
        report.eligible_people,
        report.sets_in_database
    );
    if table.distinct_people() < plan.config.k {
        return Err(Error::TooFewPeople {
            path,
            eligible: table.distinct_people(),
            k: plan.config.k,
        });
    }
    Ok(Selected {
        table,
        report,
        fingerprint,
        source: description,
        secrets,
        record_id_seed,
        person_strata,
    })
}

/// What the assessment measured.
pub struct Assessed {
    /// Risk of the released rows (public).
    pub risk: RiskFigures,
    /// The linkage attack against the raw data (internal report only), when it ran.
    pub linkage: Option<LinkageReport>,
    /// The simulated rebuilding attacks (internal report only), when they ran.
    pub attacks: Option<AttacksReport>,
}

/// The path every method's groups take: the privacy models judged against what the config
/// asked (l and t, each measured on the released rows by the method), the risk of the released
/// rows (classes of identical rows; see [`crate::risk::release_risk`]), then every gate on
/// what the release alone determines: k over distinct people, suppression, risk, l. Returns the
/// risk and the figures measured, for the gates judged later (linkage, simulated attacks).
fn judge(groups: &Groups, plan: &Plan, observer: &dyn Observer) -> Result<(RiskFigures, Measured)> {
    let asked = &plan.config.method;
    if let (Some(asked), Some(achieved)) = (asked.l, groups.l) {
        if achieved < asked {
            return Err(Error::Unsatisfiable {
                problem: format!(
                    "the released rows are {achieved}-diverse, fewer than the l = {asked} asked"
                ),
            });
        }
    }
    if let (Some(asked), Some(achieved)) = (asked.t, groups.t) {
        if achieved > asked + 1e-9 {
            return Err(Error::Unsatisfiable {
                problem: format!(
                    "against the released rows, a class lies {achieved:.4} from their \
                     distribution of a sensitive column, beyond t = {asked}: the suppressed \
                     records moved it; lower method.suppression"
                ),
            });
        }
    }
    let risk = observer.time("risk", || release_risk(&groups.classes, plan.config.k));
    let prosecutor = risk.reidentification.prosecutor;
    let measured = Measured {
        k: Some(groups.k_achieved),
        suppressed_share: Some(groups.counts.suppressed_share),
        highest_risk: Some(prosecutor.highest),
        average_risk: Some(prosecutor.average),
        records_at_risk: Some(prosecutor.records_at_risk),
        l: groups.l,
        ..Measured::default()
    };
    plan.config.thresholds.check(&measured)?;
    Ok((risk, measured))
}

/// `report.json` of a release: the same for every method, with what the method reported.
fn report(
    plan: &Plan,
    method: &dyn PublishMethod,
    selection: SelectionReport,
    groups: &Groups,
    risk: RiskFigures,
    method_benchmark: Option<MethodBenchmark>,
    sizechart: Option<SizeChartReport>,
) -> ReleaseReport {
    ReleaseReport {
        anonpub_version: env!("CARGO_PKG_VERSION").into(),
        report_format: REPORT_FORMAT,
        dataset: plan.schema.name.clone(),
        as_of: plan.as_of.to_string(),
        method: method.name().into(),
        k_requested: plan.config.k,
        k_achieved: groups.k_achieved,
        seed: plan.seed,
        parameters: groups.parameters.clone(),
        selection,
        anonymization: groups.counts.clone(),
        risk,
        method_benchmark,
        sizechart,
        generalization: groups.generalization.clone(),
    }
}

/// Stage 5 of a measurements release: [`judge`], then the linkage attack when the internal
/// report or a gate needs it, and the gates that use it are checked again. Returns what was
/// measured, for the attack gates judged once the simulated attacks (which run beside the
/// writing, see [`release_from`]) are done.
fn assess(
    selected: &Selected,
    groups: &Groups,
    anonymized: &Anonymized,
    (plan, destination): (&Plan, &Destination),
    observer: &dyn Observer,
) -> Result<(Assessed, Measured)> {
    let thresholds = &plan.config.thresholds;
    let (risk, mut measured) = judge(groups, plan, observer)?;
    let linkage = (destination.internal_report.is_some() || thresholds.need_linkage()).then(|| {
        let attack = Attack {
            known: &plan.known,
            error: plan.config.linkage.error,
            noise: plan.config.linkage.noise,
            seed: plan.seed,
        };
        let released = released_rows(&anonymized.released);
        let linkage = observer.time("linkage", || {
            linkage_attack(&selected.table, released, attack)
        });
        tracing::info!(
            "linkage attack: {} records against {} distinct released rows",
            linkage.targets,
            linkage.distinct_released_rows,
        );
        linkage
    });
    if let Some(linkage) = &linkage {
        measured.linkage_success = Some(linkage.success);
        measured.interval_disclosure = Some(linkage.interval_disclosure.share_disclosed);
        thresholds.check(&measured)?;
    }
    Ok((
        Assessed {
            risk,
            linkage,
            attacks: None,
        },
        measured,
    ))
}

/// The attacks of [`crate::risk::attacks`] against the method as this release applies it
/// (microaggregation, then the same keyed noise), on the eligible records; the release made from
/// them arrives through `released` ([`run_attacks_as_released`]). `None` when it never does.
fn simulate_attacks(
    selected: &Selected,
    released: &Receiver<ReleasedRows<'_>>,
    plan: &Plan,
    keys: &ReleaseKeys,
    previous: Option<&GroupMembership>,
) -> Option<AttacksReport> {
    let method = |table: &MeasurementTable| {
        let mut released = Microaggregation::release(table, &plan.method, &Silent);
        if let Some(key) = &keys.group_noise {
            noise(table, &mut released, plan, key.clone());
        }
        GroupedRelease {
            values: released.values,
            source: released.source,
            group: released.group,
        }
    };
    let table = &selected.table;
    // Selection leaves public sets out (counted as `public_set`): no record here is public.
    let public = vec![false; table.len()];
    let input = AttackInput {
        table,
        public: &public,
        member_key: keys.member_key.as_deref().unwrap_or(&[]),
        previous: previous.filter(|_| keys.member_key.is_some()),
        k: plan.config.k,
    };
    let scoring = Scoring::new(Tolerance::for_catalog(&plan.catalog), table);
    run_attacks_as_released(
        input,
        released,
        &method,
        &plan.config.attacks,
        plan.seed,
        &scoring,
    )
}

/// The released rows with where each came from, as the risk checks read them.
/// Starts the synthetic benchmark behind the datasheet's figures about the method, on its own
/// thread, to run beside the risk assessment. Its figures come from synthetic people, not from
/// these (see `pipeline::benchmark`); they record the patterns `table` publishes, which its rows
/// already show.
fn spawn_method_benchmark(
    plan: &Plan,
    table: &ReleaseTable,
) -> std::thread::JoinHandle<(Option<MethodBenchmark>, std::time::Duration)> {
    let (catalog, method) = (plan.catalog.clone(), plan.method.clone());
    let patterns = if table.columns.as_slice() == catalog.names() {
        published_patterns(&table.values, table.columns.len())
    } else {
        Vec::new()
    };
    std::thread::spawn(move || timed(|| benchmark_method(&catalog, &method, &patterns)))
}

fn released_rows(released: &Microaggregated) -> ReleasedRows<'_> {
    ReleasedRows {
        values: &released.values,
        source: &released.source,
        group: &released.group,
    }
}

/// The parameters `report.json` records, from the plan and the noise that was applied.
pub(crate) fn parameters(
    plan: &Plan,
    group_noise: Option<GroupNoiseParameters>,
) -> ReleaseParameters {
    let config = &plan.config;
    ReleaseParameters {
        group_noise,
        max_malformed_share: config.max_malformed_share,
        mdav_exact_limit: config.mdav_exact_limit,
        min_pattern_people: config.min_pattern_people,
        min_published_measurements: plan.method.min_published,
        retention_months: config.retention_months,
        spread_restoration: "per group: a draw of its pattern's within-group covariance; then \
             per column: groups in order take the means of bands of the raw values"
            .into(),
        thresholds: config.thresholds.clone(),
    }
}

/// The internal report: figures that compare the raw data with the release. It is written
/// outside the release directory and never published.
fn internal_report(
    report: &ReleaseReport,
    selected: &Selected,
    anonymized: &Anonymized,
    assessed: &Assessed,
    plan: &Plan,
) -> serde_json::Value {
    let utility = numeric_utility(
        plan.catalog.names(),
        selected.table.values(),
        &anonymized.released.values,
    );
    json!({
        "notice": "INTERNAL: compares the raw data with the release; never publish this file",
        "anonpub_version": report.anonpub_version,
        "dataset": report.dataset,
        "as_of": report.as_of,
        "seed": report.seed,
        "k_requested": report.k_requested,
        "k_achieved": report.k_achieved,
        "eligible_records": selected.table.len(),
        "published_records": report.anonymization.published_records,
        "anonymization": report.anonymization,
        "linkage": {
            "attacker": plan.config.linkage,
            "result": assessed.linkage,
        },
        "utility": utility,
        "attacks": assessed.attacks.as_ref().map(attacks_section),
    })
}

/// Where a published release lies, for messages.
pub fn describe_release(published: &Published, out: &Path) -> String {
    let report = &published.report;
    format!(
        "published {} records in {} groups (k = {}, achieved {}; {} suppressed) from {} to {}",
        report.anonymization.published_records,
        report.anonymization.groups,
        report.k_requested,
        report.k_achieved,
        report.anonymization.suppressed_records,
        published.source.title,
        out.display()
    )
}
