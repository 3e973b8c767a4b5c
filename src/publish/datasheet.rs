//! `README.md` of a release: a datasheet in the sections of "Datasheets for Datasets" (Gebru et
//! al., Communications of the ACM 64(12), 2021): motivation, composition, collection process,
//! preprocessing and anonymization, uses, distribution, maintenance.
//!
//! It is generated from the effective configuration, the schema and the release report, so the
//! parameters and thresholds it states are the ones that were applied, never a copy that can drift.
//! Like the report it holds counts and parameters only.

use std::fmt::Write;

use super::Release;
use crate::anonymize::k_anonymity::DEFAULT_SMALLEST_K;
use crate::deidentify::ReleaseTable;
use crate::release::{
    CHECKSUM_FILE, CSV_FILE, DATAPACKAGE_FILE, HTML_FILE, MANIFEST_FILE, PARQUET_FILE, REPORT_FILE,
};
use crate::risk::attacks::{
    whole_percent, AttackDescription, DescribedRelease, ATTACKS, MEASURED_AT_K,
};
use crate::select::Exclusion;

/// How the datasheet names what it describes. A FreeSewing release speaks of measurement sets,
/// accounts and bodies; any other release only of what its schema declares, so that no
/// FreeSewing wording (its users, millimetres, breasts) describes someone else's data.
struct Words {
    /// Whether the columns are FreeSewing's body measurements ([`crate::measurements::Catalog::is_freesewing`]).
    freesewing: bool,
    /// One input row: "set" or "row".
    set: &'static str,
    /// Its plural.
    sets: &'static str,
    /// A published column: "measurement" or "column".
    measurement: &'static str,
    /// Its plural.
    measurements: &'static str,
    /// The person behind rows: "account" or "person".
    account: &'static str,
    /// Its plural.
    accounts: &'static str,
}

impl Words {
    fn of(release: &Release<'_>) -> Self {
        if release.catalog.is_freesewing() {
            Words {
                freesewing: true,
                set: "set",
                sets: "sets",
                measurement: "measurement",
                measurements: "measurements",
                account: "account",
                accounts: "accounts",
            }
        } else {
            Words {
                freesewing: false,
                set: "row",
                sets: "rows",
                measurement: "column",
                measurements: "columns",
                account: "person",
                accounts: "people",
            }
        }
    }
}

/// What a record id is, in words: random, drawn under a key from the data holder's secret (or,
/// for an input without one, from its plain fingerprint), the input and the seed, so that it
/// names a record of this release only.
fn record_id_words(release: &Release<'_>) -> &'static str {
    if release.provenance.input_fingerprint.algorithm == "HMAC-SHA256" {
        "a random UUID that names the record in this release only: drawn under a key of the \
         data holder's secret from the input and the seed, it links to nothing, and no release of \
         other data carries it"
    } else {
        "a random UUID that names the record in this release only: the input had no secret key, \
         so it is drawn from the input's plain SHA-256 fingerprint (see `manifest.json`) and the \
         seed; it links to nothing and no release of other data carries it, but whoever holds \
         the same input file could draw the same ids, which tells them nothing the rows do not"
    }
}

/// Renders the datasheet as Markdown.
pub fn datasheet(release: &Release<'_>) -> String {
    let mut text = String::with_capacity(16 * 1024);
    header(&mut text, release);
    motivation(&mut text, release);
    composition(&mut text, release);
    collection(&mut text, release);
    anonymization(&mut text, release);
    uses(&mut text, release);
    distribution(&mut text, release);
    maintenance(&mut text, release);
    text
}

fn header(text: &mut String, release: &Release<'_>) {
    let schema = release.provenance.schema;
    let report = release.provenance.report;
    let _ = writeln!(
        text,
        "# {} — release {}\n",
        schema.title.as_deref().unwrap_or(&schema.name),
        release.provenance.config.version
    );
    let _ = writeln!(
        text,
        "{} This release holds **{} records** with the data as of **{}**; every record is \
         shared, value for value, by at least **{} distinct people**. Made with anonpub {}; \
         licence **{}**.\n",
        schema.description.as_deref().unwrap_or_default(),
        report.anonymization.published_records,
        report.as_of,
        report.k_requested,
        report.anonpub_version,
        release.provenance.config.license,
    );
    if report.k_requested < DEFAULT_SMALLEST_K {
        let _ =
            writeln!(
            text,
            "**k = {k} is below {DEFAULT_SMALLEST_K}**, the smallest k anonpub publishes unless \
             told otherwise: the configuration lowered `[thresholds] min_k` to {min} explicitly. \
             An attacker who knows someone is in this release and all of their values guesses \
             their record with a chance of up to 1 in {k}.\n",
            k = report.k_requested,
            min = release.provenance.config.thresholds.min_k.unwrap_or(report.k_requested),
        );
    }
    let _ = writeln!(
        text,
        "This datasheet follows the questions of *Datasheets for Datasets* (Gebru et al., 2021). \
         Figures come from `{REPORT_FILE}`; `{HTML_FILE}` shows them with a histogram of every \
         {}.\n",
        Words::of(release).measurement
    );
}

fn motivation(text: &mut String, release: &Release<'_>) {
    if !Words::of(release).freesewing {
        let schema = release.provenance.schema;
        let _ = writeln!(
            text,
            "## Motivation\n\n\
             - **Why was it made?** To publish *{title}*{about} for study and reuse without \
             exposing any one of the people in it.\n\
             - **Who made it?** The data holder, from the rows of its {container} whose people may \
             be published ({eligibility}), processed with anonpub {version}.\n",
            title = schema.title.as_deref().unwrap_or(&schema.name),
            about = schema
                .description
                .as_deref()
                .map(|d| format!(" ({})", d.trim_end_matches('.')))
                .unwrap_or_default(),
            container = release.provenance.source.container,
            eligibility = release.provenance.source.eligibility,
            version = release.provenance.report.anonpub_version,
        );
        return;
    }
    let _ = writeln!(
        text,
        "## Motivation\n\n\
         - **Why was it made?** To give pattern designers, sewists and researchers real body \
         measurements of the people who sew with FreeSewing, for size charts, grading and fit \
         studies, without exposing any one of them.\n\
         - **Who made it?** The FreeSewing project, from measurements its users entered and \
         agreed to share as open data, processed with anonpub {}.\n\
         - **What gap does it fill?** Published sizing surveys are old, paid for, or limited to \
         one country; these are current measurements taken at home, by people who make their \
         own clothes.\n",
        release.provenance.report.anonpub_version
    );
}

fn composition(text: &mut String, release: &Release<'_>) {
    let report = release.provenance.report;
    let table = release.table;
    let counts = &report.anonymization;
    let words = Words::of(release);
    let (units, sample, sensitive) = if words.freesewing {
        (
            "in millimetres except `shoulderSlope` in degrees",
            "only people who consented to open data, with an active account, seen recently (see \
             *Collection*). It does not represent the population at large, nor all FreeSewing \
             users.",
            "Body measurements are personal data. Eight measurements exist only for people with \
             breasts, so which measurements a record has is itself informative; that is why \
             groups are formed within a measurement pattern. No name, email, account id, date or \
             free text is included.",
        )
    } else {
        (
            "each in the unit shown under *Columns*",
            "only the people the eligibility rules of the schema admit (see *Collection*). It \
             does not represent the population at large.",
            "The values are personal data of the people in the input. Which columns a record \
             has can itself be informative; that is why groups are formed within a pattern of \
             present columns. No identifier, no eligibility column (person key, consent, status, \
             last visit), no date and no free text is included.",
        )
    };
    let _ = writeln!(
        text,
        "## Composition\n\n\
         - **What is a record?** One {set} of {what}, after anonymization: the rounded \
         mean of a group of at least {k} people's {sets} with the same {measurements} present. A \
         person with several {sets} can appear in several records, but never makes a group alone.\n\
         - **How many?** {rows} records in `{CSV_FILE}` (and the same in `{PARQUET_FILE}`), \
         from {people} eligible people; {groups} groups over {patterns} {measurement} patterns.\n\
         - **What does a record hold?** `record_id` ({id}) and {columns} {measurements}, {units}. \
         An empty cell means the {measurement} is not published for that record, either \
         because its group did not have it or because it was dropped to protect a rare \
         pattern.\n\
         - **Is it a sample?** Yes: {sample}\n\
         - **Labels, relationships, splits?** None. Records are sorted by their values; their \
         order carries no meaning.\n\
         - **Sensitive content?** {sensitive}\n",
        set = words.set,
        sets = words.sets,
        measurement = words.measurement,
        measurements = words.measurements,
        what = if words.freesewing {
            "body measurements"
        } else {
            "values"
        },
        id = record_id_words(release),
        k = report.k_requested,
        rows = counts.published_records,
        people = report.selection.eligible_people,
        groups = counts.groups,
        patterns = counts.coverage_patterns,
        columns = table.columns.len(),
    );
    text.push_str(
        "### Columns\n\n\
         Spread kept and tail shifts describe the method, measured on the synthetic benchmark \
         of *Uses* (not on this release's people): the released standard deviation over the true \
         one, and how far the released P5 and P95 lie from the true ones, in standard \
         deviations.\n\n\
         | column | unit | published in | plausible range | rounded to | spread kept | P5 / P95 shift (SD) | description |\n\
         |---|---|---:|---|---|---:|---|---|\n",
    );
    let published = published_per_column(table);
    for (c, name) in table.columns.iter().enumerate() {
        let Some(spec) = release
            .provenance
            .schema
            .position(name)
            .map(|p| &release.provenance.schema.columns[p])
        else {
            continue;
        };
        let index = release
            .catalog
            .index_of(name)
            .expect("release columns come from the catalogue");
        let [low, high] = release.catalog.plausible(index);
        let published = published[c];
        let breasts = if spec.breasts_only {
            " (people with breasts only)"
        } else {
            ""
        };
        let benchmark = release
            .provenance
            .report
            .method_benchmark
            .as_ref()
            .and_then(|b| b.columns.iter().find(|c| &c.column == name));
        let (kept, tails) = benchmark.map_or(("–".into(), "–".into()), |b| {
            (
                format!("{:.0} %", b.spread_kept * 100.0),
                format!("{:+.2} / {:+.2}", b.tail_shift_sd[1], b.tail_shift_sd[2]),
            )
        });
        let _ = writeln!(
            text,
            "| `{name}` | {unit} | {published} | {range} | {step} | {kept} | {tails} | {description}{breasts} |",
            range = match (low.is_finite(), high.is_finite()) {
                (true, true) => format!("{low} – {high}"),
                (true, false) => format!("≥ {low}"),
                (false, true) => format!("≤ {high}"),
                (false, false) => "any".to_string(),
            },
            unit = release.catalog.unit(index),
            step = release.catalog.rounding(index),
            description = spec.description.as_deref().unwrap_or_default(),
        );
    }
    text.push('\n');
    if let Some(benchmark) = &release.provenance.report.method_benchmark {
        goals_not_reached(text, benchmark);
    }
}

/// Per column, the goals the method's benchmark at this release's size does not reach, from
/// the benchmark's own judgement (`pipeline::benchmark`); nothing for a report without goals.
fn goals_not_reached(text: &mut String, benchmark: &crate::release::report::MethodBenchmark) {
    let Some(goals) = benchmark.goals else {
        return;
    };
    let missed: Vec<String> = benchmark
        .columns
        .iter()
        .filter(|c| !c.not_reached.is_empty())
        .map(|c| {
            let figures: Vec<String> = c
                .not_reached
                .iter()
                .map(|figure| match figure.as_str() {
                    "sd_error" => format!("spread kept {:.0} %", c.spread_kept * 100.0),
                    "kolmogorov_smirnov" => format!(
                        "KS {}",
                        c.kolmogorov_smirnov
                            .map_or("–".into(), |ks| format!("{ks:.3}"))
                    ),
                    "correlation" => format!(
                        "correlations off by {}",
                        c.correlation_difference
                            .map_or("–".into(), |d| format!("{d:.3}"))
                    ),
                    _ => format!(
                        "P5 / P95 shift {:+.2} / {:+.2} SD",
                        c.tail_shift_sd[1], c.tail_shift_sd[2]
                    ),
                })
                .collect();
            format!("`{}` ({})", c.column, figures.join(", "))
        })
        .collect();
    let _ = writeln!(
        text,
        "At this release's size ({people} people in the benchmark) the method {reach} the goals \
         anonpub holds each column to — spread within {sd:.0} %, Kolmogorov–Smirnov distance at \
         most {ks}, P5 and P95 within {tail} standard deviations{correlation}{list}.\n",
        people = benchmark.people,
        reach = if missed.is_empty() {
            "reaches, for every column,"
        } else {
            "does not reach"
        },
        sd = goals.sd_error * 100.0,
        ks = goals.kolmogorov_smirnov,
        tail = goals.tail_shift_sd,
        correlation = goals.correlation_difference.map_or(String::new(), |d| {
            format!(", correlations with the other columns within {d} on average")
        }),
        list = if missed.is_empty() {
            String::new()
        } else {
            format!(", for these columns: {}", missed.join("; "))
        },
    );
}

/// How many rows publish a value in each column, in one pass over the rows.
fn published_per_column(table: &ReleaseTable) -> Vec<usize> {
    let width = table.columns.len();
    let mut counts = vec![0; width];
    for row in table.values.chunks(width.max(1)) {
        for (count, value) in counts.iter_mut().zip(row) {
            *count += usize::from(!value.is_nan());
        }
    }
    counts
}

fn collection(text: &mut String, release: &Release<'_>) {
    let selection = &release.provenance.report.selection;
    let words = Words::of(release);
    let (acquired, others) = if words.freesewing {
        (
            "FreeSewing users measured themselves (or had someone measure them) with a tape \
             measure and typed the values into their account to draft made-to-measure patterns. \
             Values were not checked by anyone; typing errors and unusual measuring habits are \
             part of the data."
                .to_string(),
            "Sets of other people are not even decrypted.",
        )
    } else {
        (
            format!(
                "As the data holder collected them{}; anonpub checked each value only against \
                 its column's plausible range.",
                release
                    .provenance
                    .schema
                    .description
                    .as_deref()
                    .map(|d| format!(" ({})", d.trim_end_matches('.')))
                    .unwrap_or_default()
            ),
            "Rows of other people are read no further.",
        )
    };
    let _ = writeln!(
        text,
        "## Collection process\n\n\
         - **How were the data acquired?** {acquired}\n\
         - **Who is included?** A {set} is eligible when {eligibility}, the owner was seen \
         within the last {months} months before {as_of}, and every value in it is plausible. \
         {others}\n\
         - **How many were seen and left out?** {in_db} {sets} of {users} {accounts} were in the \
         {container}; {eligible} {sets} of {people} people were eligible:\n",
        set = words.set,
        sets = words.sets,
        accounts = words.accounts,
        eligibility = release.provenance.source.eligibility,
        container = release.provenance.source.container,
        months = release.provenance.config.retention_months,
        as_of = release.provenance.report.as_of,
        in_db = selection.sets_in_database,
        users = selection.users_in_database,
        eligible = selection.eligible_sets,
        people = selection.eligible_people,
    );
    let excluded = selection.exclusion_counts();
    let _ = writeln!(text, "| left out because | {} |\n|---|---:|", words.sets);
    exclusion_rows(text, &excluded.sets, words.freesewing);
    let _ = writeln!(
        text,
        "\n| {} left out because | {} |\n|---|---:|",
        words.accounts, words.accounts
    );
    exclusion_rows(text, &excluded.accounts, words.freesewing);
    let bad = selection.bad_rows;
    let _ = writeln!(
        text,
        "\nRows that cannot be read ({kinds}) are left out, never guessed at: {} of {} {sets} \
         that could have been published ({:.2}%; {input} above {}% is refused as damaged).",
        bad.sets,
        bad.of_sets,
        bad.share * 100.0,
        bad.max_share * 100.0,
        sets = words.sets,
        kinds = if words.freesewing {
            "an orphan set, an unreadable account, a value that does not decrypt or is not a number"
        } else {
            "a row of no person, a person whose eligibility cannot be read, a value that is not a number"
        },
        input = if words.freesewing {
            "a database"
        } else {
            "an input"
        },
    );
    if words.freesewing {
        let _ = writeln!(
            text,
            "\n{} values under names that are not FreeSewing measurements were dropped, as the \
             FreeSewing backend does. FreeSewing v4's `waistToArmpit` is read as \
             `waistToArmhole`.\n",
            selection.unknown_measurements_dropped
        );
    } else {
        text.push('\n');
    }
}

/// One Markdown table row per reason: what it means and how many were left out for it, in
/// FreeSewing's words only for FreeSewing's data.
fn exclusion_rows(text: &mut String, rows: &[(Exclusion, u64)], freesewing: bool) {
    for (reason, count) in rows {
        let description = if freesewing {
            reason.description()
        } else {
            reason.plain_description()
        };
        let _ = writeln!(text, "| {description} | {count} |");
    }
}

fn anonymization(text: &mut String, release: &Release<'_>) {
    let report = release.provenance.report;
    let config = release.provenance.config;
    let counts = &report.anonymization;
    let risk = &report.risk;
    let prosecutor = risk.reidentification.prosecutor;
    let words = Words::of(release);
    let cleaning = if words.freesewing {
        "A set with any value outside its plausible range (see *Columns*; doll- and giant-scale \
         sets, values typed in cm or inches, zeros) is left out whole, and so is a set that does \
         not decrypt or whose values are not numbers. An exact copy of a set its owner already \
         has is left out."
    } else {
        "A row with any value outside its column's plausible range (see *Columns*) is left out \
         whole, and so is a row whose values are not numbers. An exact copy of a row its person \
         already has is left out."
    };
    let _ = writeln!(
        text,
        "## Preprocessing and anonymization\n\n\
         1. **Cleaning.** {cleaning}\n\
         2. **Measurement patterns.** Which measurements a set has identifies people too, so \
         sets are only grouped with sets of the same pattern. A pattern shared by fewer than \
         {min_pattern} people borrows people from wider patterns that contain it (they are \
         published with its measurements), joins a narrower pattern it contains, or is merged \
         with another pattern into the measurements they have in common, whichever drops the \
         fewest values, rare measurements weighing more, and columns that lost more than the \
         rest weighing more in a new plan ({coarsened} records, {dropped} values dropped); only sets that cannot keep {min_published} measurements in a pattern of \
         k = {k} people are suppressed ({suppressed} records, \
         {share:.2}% of the eligible sets).\n\
         3. **Microaggregation (MDAV).** Within each pattern, values are standardized by their \
         column's standard deviation and MDAV (Domingo-Ferrer & Torra, 2005) forms groups of at \
         least k = {k} *distinct people*. A pattern with more than {exact} records is first cut \
         into cells by recursive median splits (each keeping at least 2k people) and MDAV runs \
         exactly within each cell. Each record is replaced by its group's mean.\n\
         4. **Spread restoration.** Group means shrink the spread, so each group's mean gets \
         a random draw of the spread that averaging removed: the within-group covariance of its \
         pattern, shrunk towards that pooled over all patterns, scaled by the group's own \
         spread (Oganian & Karr, 2006, microaggregation followed by noise). On patterns of many \
         groups the draws are adjusted so that the pattern's covariance is kept exactly; on \
         smaller patterns the draws are then moved jointly until every pair of columns has, \
         over the rows holding both, the correlation of the same people's raw values (Burridge \
         2003; Mateo-Sanz et al. 2004: perturbed data that keep the covariances exactly). The \
         draw and the fit move whole groups, so every released row is still shared by at least \
         k people; they use within-group covariances, aggregates of at least {min_pattern} \
         people, and pairwise correlations over every person holding both columns. Then \
         each column is calibrated: the groups, in the order of their restored values, take \
         consecutive bands of the column's sorted values and release each band's mean \
         (univariate microaggregation, Hansen & Mukherjee 2003). The bands are cut from every \
         eligible value of the column, also the values that coverage planning withheld from \
         their rows, so every column keeps the distribution of everyone eligible — tails and \
         any second mode, a minority's included — while each released value stays a mean of \
         at least k values. Values are then rounded to the step shown under *Columns*.\n\
         5. **De-identification.** Only {measurement} columns are kept; rows are sorted by value \
         and each gets a random UUID drawn under a key from the data holder's secret (or the \
         input's fingerprint when it has none), the input's fingerprint and the seed {seed} \
         (which affects the ids only): the same input and seed give the same ids, other data \
         none of them. Neither {account} ids nor the input's order survive.\n\
         6. **Gates.** {gates}\n\n\
         **Achieved.** The smallest group holds {achieved} distinct people (asked: {k}). Over \
         groups of identical released rows, the highest re-identification probability of a \
         row is {highest:.3}, the average {average:.3}; {above:.2}% of rows lie above the \
         acceptable {threshold:.3} (= 1/k) and {unique} rows are unique. The raw data and any \
         comparison between raw and released values stay private.\n",
        k = report.k_requested,
        measurement = words.measurement,
        account = words.account,
        coarsened = counts.coarsened_records,
        dropped = counts.dropped_values,
        suppressed = counts.suppressed_records,
        share = counts.suppressed_share * 100.0,
        exact = config.mdav_exact_limit,
        min_pattern = config.min_pattern_people.max(report.k_requested),
        min_published = config.min_published_measurements,
        seed = report.seed,
        gates = gates(config),
        achieved = report.k_achieved,
        highest = prosecutor.highest,
        average = prosecutor.average,
        above = prosecutor.records_at_risk * 100.0,
        threshold = risk.reidentification.threshold,
        unique = risk.sample_uniqueness.unique_records,
    );
    // With every multi-release defence turned off the datasheet reads as it did before them, so
    // such a release stays byte for byte what it was.
    let described = described_release(release);
    if !words.freesewing {
        attack_resistance_of_schema(text, release, &described);
    } else if described.noise_sd.is_some() || config.attacks.enabled {
        attack_resistance(text, &described);
    }
}

/// The release as the attacks' descriptions read it.
fn described_release<'a>(release: &Release<'a>) -> DescribedRelease<'a> {
    let report = release.provenance.report;
    DescribedRelease {
        noise_sd: report.parameters.group_noise.as_ref().map(|n| n.scale_sd),
        k: report.k_requested,
        public_left_out: report.selection.excluded_sets.contains_key("public_set"),
        min_published_measurements: release.provenance.config.min_published_measurements,
        min_account_age_days: release.provenance.config.defences.min_account_age_days,
        thresholds: &release.provenance.config.thresholds,
    }
}

/// Share of people whose own group's row is already within the tolerance of their published
/// measurements (no attack), with and without noise: measured with the attacks (see
/// [`MEASURED_AT_K`]).
const GROUP_MEAN_ALONE: [f64; 2] = [0.03, 0.04];

/// The "what this release resists, and what it does not" subsection, in plain words: each
/// attack of [`ATTACKS`] describes itself from anonpub's measurement of it at
/// [`MEASURED_AT_K`] (a release of another k states none of them), then what no such release
/// resists.
pub fn attack_resistance(text: &mut String, release: &DescribedRelease<'_>) {
    let k = release.k;
    let descriptions: Vec<AttackDescription> = ATTACKS
        .iter()
        .map(|attack| attack.describe(release))
        .collect();
    let gates: Vec<&str> = descriptions
        .iter()
        .filter_map(|d| d.gate.as_deref())
        .collect();
    if k != MEASURED_AT_K {
        let _ = writeln!(
            text,
            "### What this release resists, and what it does not\n\n\
             anonpub's measurements of the attacks on this method (`BENCHMARKS.md`, *Attacks*) \
             were made at k = {MEASURED_AT_K}; this release uses k = {k}, at which they were not \
             made, so none is printed here: a share measured at another k would misstate what \
             this release resists. `anonpub risk --attacks` with this release's configuration \
             measures them at k = {k} on the data holder's side.{gated}",
            gated = if gates.is_empty() {
                String::new()
            } else {
                format!(
                    " The attacks were simulated on the real data before publishing, and nothing \
                     would have been published unless {}.",
                    gates.join(", ")
                )
            },
        );
        return;
    }
    text.push_str(
        "### What this release resists, and what it does not\n\n\
         Measured by playing each attacker against this method on a synthetic \
         FreeSewing-shaped database of 10,000 users at k = 5 (100 targets per attack; anonpub's \
         `BENCHMARKS.md`), never on the people of this release. A person counts as *rebuilt* \
         when every published measurement comes back within 2 % or 5 mm, whichever is larger, \
         which is finer than people measure themselves.\n\n\
         It resists:\n\n",
    );
    for resisted in descriptions.iter().filter_map(|d| d.resists.as_ref()) {
        let _ = writeln!(text, "- {resisted}");
    }
    if !gates.is_empty() {
        let _ = writeln!(
            text,
            "- The same attacks were simulated on the real data before publishing, and nothing \
             would have been published unless {}.",
            gates.join(", ")
        );
    }
    let blur = release.noise_sd.map_or(String::new(), |scale| {
        format!(
            ", blurred only by the noise times the group's size (about {:.2} standard \
             deviations at k = {k})",
            scale * k as f64
        )
    });
    let not_resisted: String = descriptions
        .iter()
        .filter_map(|d| d.does_not_resist.as_ref())
        .map(|bullet| format!("- {bullet}\n"))
        .collect();
    let _ = writeln!(
        text,
        "\nIt does not resist:\n\n\
         - **Someone who knows every other member of a group** exactly (for example k − 1 \
         people who compare their own sets and find their shared row): they get the last \
         member's values back, up to the rounding{blur}.\n\
         {not_resisted}\
         - **Being close to one's own group:** a released row is a group's average, so for \
         {alone_low:.0}–{alone_high} of people it already lies within 2 % or 5 mm of every one of \
         their published measurements, with no attack at all; nothing in the row says whose it \
         is.\n\
         - **Everything else:** the noise is not differential privacy. It defeats the attacks \
         above, as measured; it does not bound what any conceivable attacker learns, and the \
         release does not hide that a person who consented may be in it.\n",
        alone_low = GROUP_MEAN_ALONE[0] * 100.0,
        alone_high = whole_percent(GROUP_MEAN_ALONE[1]),
    );
}

/// The attack subsection of a dataset that is not FreeSewing's: anonpub's measured attack
/// figures come from synthetic FreeSewing-shaped data and do not carry over to other columns,
/// so it states the attackers of [`ATTACKS`] and the rule of the simulation (with the schema's
/// own tolerance floors), the gates the release passed on its own data, and what no such
/// release resists.
fn attack_resistance_of_schema(
    text: &mut String,
    release: &Release<'_>,
    described: &DescribedRelease<'_>,
) {
    let catalog = release.catalog;
    let floors: Vec<String> = (0..catalog.len())
        .map(|i| {
            format!(
                "`{}` {} {}",
                catalog.names()[i],
                catalog.attack_tolerance(i),
                catalog.unit(i)
            )
            .trim_end()
            .to_string()
        })
        .collect();
    let descriptions: Vec<AttackDescription> = ATTACKS
        .iter()
        .map(|attack| attack.describe(described))
        .collect();
    let attackers: Vec<&str> = descriptions.iter().map(|d| d.attacker).collect();
    let gates: Vec<&str> = descriptions
        .iter()
        .filter_map(|d| d.gate.as_deref())
        .collect();
    let _ = writeln!(
        text,
        "### What this release resists, and what it does not\n\n\
         anonpub simulates attackers who {attackers}. A person counts as \
         *rebuilt* when every published value comes back within 2 % of itself or its column's \
         floor, whichever is larger (floors from the schema, in each column's unit: {floors}). \
         anonpub's published figures for these attacks were measured on synthetic body \
         measurements and do not carry over to these columns, so none is stated here.\n\n\
         - {gates}\n\
         - It does not resist **someone who knows every other member of a group** exactly: they \
         get the last member's values back, up to the rounding and any noise.\n\
         - The noise, if any, is not differential privacy: it bounds no conceivable attacker, \
         and the release does not hide that a person who may be published may be in it.\n",
        attackers = either(&attackers),
        floors = floors.join(", "),
        gates = if gates.is_empty() {
            "No attack gate was set: the release was not held back on any simulated attack."
                .to_string()
        } else {
            format!(
                "These attacks were simulated on the real data before publishing, and nothing \
                 would have been published unless {}.",
                gates.join(", ")
            )
        },
    );
}

/// Phrases as alternatives: `a`, `a or b`, `a, b, or c`.
fn either(phrases: &[&str]) -> String {
    match phrases {
        [] => String::new(),
        [one] => one.to_string(),
        [two @ .., last] if two.len() == 1 => format!("{} or {last}", two[0]),
        [rest @ .., last] => format!("{}, or {last}", rest.join(", ")),
    }
}

/// The publishing gates of the configuration, as a sentence.
fn gates(config: &crate::config::ReleaseConfig) -> String {
    let thresholds = &config.thresholds;
    let mut conditions = Vec::new();
    if let Some(min_k) = thresholds.min_k {
        conditions.push(format!("the achieved k is at least {min_k}"));
    }
    if let Some(share) = thresholds.max_suppressed_share {
        conditions.push(format!(
            "at most {:.2}% of the eligible sets are suppressed",
            share * 100.0
        ));
    }
    if conditions.is_empty() {
        "No threshold was configured: the release was published with whatever k and \
         suppression MDAV achieved, both reported below."
            .to_string()
    } else {
        format!(
            "Publishing stops, and nothing is written, unless {}.",
            conditions.join(" and ")
        )
    }
}

fn uses(text: &mut String, release: &Release<'_>) {
    let freesewing = Words::of(release).freesewing;
    text.push_str(if freesewing {
        "## Uses\n\n\
         - **Good for:** size charts and percentiles, grading rules, relations between \
         measurements, ease and fit studies, teaching.\n"
    } else {
        "## Uses\n\n\
         - **Good for:** distributions, percentiles and relations between the columns, \
         teaching.\n"
    });
    mind_the_method(text, release);
    text.push_str(if freesewing {
        "- **Not for:** anything about a particular person, medical or clinical use, or \
         estimates for a population the sample does not represent (people who sew, use \
         FreeSewing and consented are a self-selected group).\n"
    } else {
        "- **Not for:** anything about a particular person, or estimates for a population the \
         sample does not represent (the people the eligibility rules admit are a selected \
         group).\n"
    });
    text.push_str(
        "- **Never:** try to re-identify anyone, or link records with other data to that end.\n\n",
    );
}

/// What the method keeps, in figures of the method's benchmark (never of this release's raw data,
/// which would help an attacker calibrate).
fn mind_the_method(text: &mut String, release: &Release<'_>) {
    let Some(benchmark) = &release.provenance.report.method_benchmark else {
        text.push_str(
            "- **Mind the method:** every value is the mean of a group of at least k people, \
             with each pattern's spread restored and each column calibrated to its own distribution; \
             rare combinations of values are smoothed out, and no benchmark of the method exists for this schema. Rounding adds up to half \
             a step of error.\n",
        );
        return;
    };
    let columns = &benchmark.columns;
    let kept = |pick: fn(&[f64]) -> f64| {
        pick(&columns.iter().map(|c| c.spread_kept).collect::<Vec<_>>()) * 100.0
    };
    let lowest = kept(|v| v.iter().copied().fold(f64::INFINITY, f64::min));
    let highest = kept(|v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let worst_shift = |levels: &[usize]| {
        columns
            .iter()
            .flat_map(|c| {
                levels
                    .iter()
                    .map(move |&l| (c.tail_shift_sd[l].abs(), &c.column))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map_or((0.0, String::new()), |(shift, column)| {
                (shift, column.clone())
            })
    };
    let (inner, inner_column) = worst_shift(&[1, 2]);
    let (outer, outer_column) = worst_shift(&[0, 3]);
    let _ = writeln!(
        text,
        "- **Mind the method:** every value is the mean of a group of at least k = {k} people, \
         with each pattern's spread restored (see *Preprocessing and anonymization*). On a \
         synthetic benchmark — {people} people drawn by anonpub's own generator (seed {seed}){sized}\
         {patterns} and released with this method and k, not this release's people — the released \
         standard deviations are {spread} % of the true ones; P5 and P95 lie \
         within {inner:.2} standard deviations of the true percentiles for every measurement \
         (worst `{inner_column}`), P1 and P99 within {outer:.2} (worst `{outer_column}`); the \
         median Kolmogorov–Smirnov distance is {ks:.3} (worst {worst_ks:.3}) and correlations \
         differ by {correlation:.3} on average. *Columns* gives every measurement's figures. \
         Rare body shapes are still smoothed out, as group members share one value, and \
         rounding adds up to half a step of error.",
        k = release.provenance.report.k_requested,
        people = benchmark.people,
        seed = benchmark.seed,
        sized = match benchmark.release_rows {
            Some(rows) if rows == benchmark.people => {
                ", as many as this release's rows,".to_string()
            }
            Some(rows) if rows > benchmark.people => format!(
                " for this release's {rows} rows (beyond {} the figures no longer depend on the \
                 size),",
                benchmark.people
            ),
            Some(rows) => format!(
                " for this release's {rows} rows (fewer would describe the draw rather than the \
                 method),"
            ),
            None => String::new(),
        },
        patterns = match benchmark.release_patterns {
            Some(patterns) => format!(
                " each recording one of the {patterns} patterns of measurements this release \
                 publishes, in its proportions,"
            ),
            None => String::new(),
        },
        ks = benchmark.median_kolmogorov_smirnov,
        worst_ks = benchmark.worst_kolmogorov_smirnov,
        correlation = benchmark.correlation_difference,
        spread = if format!("{lowest:.0}") == format!("{highest:.0}") {
            format!("{lowest:.0}")
        } else {
            format!("{lowest:.0}–{highest:.0}")
        },
    );
}

fn distribution(text: &mut String, release: &Release<'_>) {
    let _ = writeln!(
        text,
        "## Distribution\n\n\
         - **Licence:** {licence}. **Version:** {version}, created {as_of}.\n\
         - **Files:** `{CSV_FILE}` and `{PARQUET_FILE}` (the same rows and values; the Parquet \
         file is typed, zstd-compressed, carries each column's unit in its field metadata and \
         the release parameters in its key-value metadata), `{DATAPACKAGE_FILE}` (Frictionless \
         Data Package with the Table Schema), `{REPORT_FILE}` (counts, parameters, risk), \
         `{HTML_FILE}` (the same at a glance), `{MANIFEST_FILE}` (anonpub version, \
         configuration digest, seed, keyed input fingerprint, every file's size and SHA-256) \
         and `{CHECKSUM_FILE}`.\n\
         - **Checking a copy:** `sha256sum -c {CHECKSUM_FILE}`, or `anonpub verify DIR`, which \
         also re-checks k-anonymity, record ids, plausible ranges and that CSV and Parquet \
         agree.\n",
        licence = release.provenance.config.license,
        version = release.provenance.config.version,
        as_of = release.provenance.report.as_of,
    );
}

fn maintenance(text: &mut String, release: &Release<'_>) {
    let _ = writeln!(
        text,
        "## Maintenance\n\n\
         - **Who maintains it?** {maintainer}\n\
         - **Updates.** A new release is made from the {container} as it is then: people who \
         withdrew consent, closed their account or were not seen for {months} months are no \
         longer in it. Records of different releases are anonymized independently and their \
         ids differ; do not compare two releases to single out people who joined or left in \
         between.\n\
         - **Older releases.** Published copies cannot be recalled; each release says which \
         version it is, and the newest one should be used.\n",
        months = release.provenance.config.retention_months,
        container = release.provenance.source.container,
        maintainer = if Words::of(release).freesewing {
            "The FreeSewing project; report problems on its issue tracker."
        } else {
            "The data holder who published it; report problems to them."
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::fixture::Owned;
    use crate::release::report::{ColumnBenchmark, MethodBenchmark, UtilityGoals};

    #[test]
    fn the_benchmark_verdict_names_each_column_and_figure_it_misses() {
        let column = |name: &str, not_reached: &[&str]| ColumnBenchmark {
            column: name.into(),
            spread_kept: 0.84,
            tail_shift_sd: [0.0, -0.41, 0.12, 0.0],
            kolmogorov_smirnov: Some(0.093),
            correlation_difference: Some(0.117),
            not_reached: not_reached.iter().map(|s| s.to_string()).collect(),
        };
        let mut benchmark = MethodBenchmark {
            people: 1400,
            seed: 2026,
            median_kolmogorov_smirnov: 0.04,
            worst_kolmogorov_smirnov: 0.093,
            correlation_difference: 0.05,
            suppressed_share: 0.0,
            columns: vec![
                column("head", &[]),
                column(
                    "heel",
                    &["sd_error", "kolmogorov_smirnov", "p5_p95", "correlation"],
                ),
            ],
            release_rows: Some(1400),
            release_patterns: Some(146),
            goals: Some(UtilityGoals {
                sd_error: 0.1,
                kolmogorov_smirnov: 0.08,
                tail_shift_sd: 0.35,
                correlation_difference: Some(0.08),
            }),
        };
        let mut text = String::new();
        goals_not_reached(&mut text, &benchmark);
        assert!(
            text.contains(
                "At this release's size (1400 people in the benchmark) the method does not reach"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "for these columns: `heel` (spread kept 84 %, KS 0.093, P5 / P95 shift -0.41 / \
                 +0.12 SD, correlations off by 0.117)."
            ),
            "{text}"
        );
        assert!(!text.contains("`head`"), "{text}");
        benchmark.columns.pop();
        let mut text = String::new();
        goals_not_reached(&mut text, &benchmark);
        assert!(
            text.contains("the method reaches, for every column, the goals"),
            "{text}"
        );
    }

    #[test]
    fn has_every_datasheet_section_with_the_applied_parameters() {
        let owned = Owned::new();
        let text = datasheet(&owned.release());
        for section in [
            "## Motivation",
            "## Composition",
            "## Collection process",
            "## Preprocessing and anonymization",
            "## Uses",
            "## Distribution",
            "## Maintenance",
        ] {
            assert!(text.contains(section), "{section}");
        }
        assert!(text.contains("at least **5 distinct people**"));
        assert!(text.contains("within the last 12 months before 2026-11-01"));
        assert!(text.contains("consent level 3"));
        assert!(text.contains("more than 1000 records is first cut"));
        assert!(text.contains("**Licence:** CC0-1.0"));
        assert!(text.contains("| `ankle` | mm | 5 |"), "ankle row");
        assert!(text.contains("| 97 % | +0.05 / -0.04 |"), "ankle benchmark");
        assert!(
            text.contains("standard deviations are 97–101 % of the true ones"),
            "{text}"
        );
        assert!(
            text.contains("P1 and P99 within 0.30 (worst `ankle`)"),
            "{text}"
        );
        assert!(text.contains(
            "| the owner did not consent to sharing anonymized measurements as open data | 29 |"
        ));
        assert!(text.contains("| the owner's account is not active | 0 |"));
        assert!(text.contains("No threshold was configured"));
        let mut owned = owned;
        owned.config.thresholds.min_k = Some(5);
        let text = datasheet(&owned.release());
        assert!(
            text.contains("unless the achieved k is at least 5."),
            "{text}"
        );
    }

    #[test]
    fn says_what_the_release_resists_with_and_without_noise() {
        fn described(
            noise_sd: Option<f64>,
            k: usize,
            public_left_out: bool,
            config: &crate::config::ReleaseConfig,
        ) -> DescribedRelease<'_> {
            DescribedRelease {
                noise_sd,
                k,
                public_left_out,
                min_published_measurements: config.min_published_measurements,
                min_account_age_days: config.defences.min_account_age_days,
                thresholds: &config.thresholds,
            }
        }
        let config = &crate::config::ReleaseConfig::default();
        let mut with = String::new();
        attack_resistance(&mut with, &described(Some(0.05), 5, true, config));
        assert!(with.contains("made public are not in this release"));
        assert!(with.contains("for 3–4 % of people"), "{with}");
        assert!(with.contains("It resists:") && with.contains("It does not resist:"));
        assert!(with.contains("noise of 0.05 standard deviations"), "{with}");
        assert!(with.contains("0 % of leavers and 0 % of joiners"), "{with}");
        assert!(
            with.contains("about 0.25 standard deviations at k = 5"),
            "{with}"
        );
        assert!(with.contains("differencing rebuilds at most 3 %"), "{with}");
        assert!(with.contains("planted accounts at most 5 %"), "{with}");
        let mut without = String::new();
        let mut off = config.clone();
        off.thresholds = crate::gates::Thresholds::default();
        off.defences.min_account_age_days = 7;
        attack_resistance(&mut without, &described(None, 5, false, &off));
        let mut other_k = String::new();
        attack_resistance(&mut other_k, &described(Some(0.05), 7, true, config));
        assert!(other_k.contains("were made at k = 5; this release uses k = 7"));
        assert!(!other_k.contains("of leavers") && !other_k.contains("It resists:"));
        assert!(
            without.contains("made without knowing which sets"),
            "{without}"
        );
        assert!(without.contains("less than 7 days before the release date"));
        assert!(!with.contains("days before the release date"));
        assert!(without.contains("only partly: this release carries no noise"));
        assert!(!without.contains("simulated on the real data"));
        assert!(without.contains("up to the rounding."), "{without}");
    }

    #[test]
    fn alternatives_read_as_a_list() {
        assert_eq!(either(&["a"]), "a");
        assert_eq!(either(&["a", "b"]), "a or b");
        assert_eq!(either(&["a", "b", "c"]), "a, b, or c");
    }

    #[test]
    fn holds_no_record_id_and_is_deterministic() {
        let owned = Owned::new();
        let text = datasheet(&owned.release());
        assert!(!text.contains("id-0"));
        assert_eq!(text, datasheet(&owned.release()));
    }
}
