//! The release of `anonpub tabulate`: a protected frequency table as `frequencies.csv` and
//! `frequencies.parquet`, with `datapackage.json`, `report.json`, a datasheet (`README.md`),
//! `manifest.json` and `SHA256SUMS`, written all or nothing through [`Staging`].
//!
//! The data files follow [`crate::release::frequency`]; the documents say what was counted and
//! how the cells were protected, in words a reader of the table needs (what an empty count
//! means, what the threshold is, how large the noise is). Suppression releases depend only on the
//! input and the configuration, so the same run gives the same bytes; DP releases differ in their
//! noisy counts from run to run, by design.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::{file_entry, pretty_json, seal};
use crate::atomic::Staging;
use crate::error::{Error, Result};
use crate::observe::Observer;
use crate::release::frequency::{
    frequency_columns, CellProtection, CellStatus, CountNoise, FrequencyLine, FrequencyLines,
    FrequencyReport, EVENTS_COLUMN, EVENTS_ERROR_COLUMN, PEOPLE_COLUMN, PEOPLE_ERROR_COLUMN,
    STATUS_COLUMN,
};
use crate::release::manifest::Manifest;
use crate::release::plain::{write_plain_csv, write_plain_parquet};
use crate::release::{
    DATAPACKAGE_FILE, DATASHEET_FILE, FREQUENCY_CSV_FILE, FREQUENCY_PARQUET_FILE, REPORT_FILE,
};
use crate::tabulate::coarsen::Coarsening;
use crate::tabulate::plan::TableRelease;
use crate::tabulate::suppress::Suppression;
use crate::tabulate::FrequencyTable;

/// The engine's table as the release's lines: suppressed counts become empty, DP lines carry
/// their noise's 95 % errors. A post-processing of the protected table: nothing else is read.
pub fn release_lines(table: &FrequencyTable, report: &FrequencyReport) -> FrequencyLines {
    let dp = match &report.protection {
        CellProtection::Dp(dp) => Some(dp),
        CellProtection::Suppression { .. } => None,
    };
    let lines = table
        .cells
        .iter()
        .map(|cell| {
            let status = match (cell.suppression, dp.is_some()) {
                (Suppression::Published, true) => CellStatus::Noisy,
                (Suppression::Published, false) => CellStatus::Published,
                (Suppression::Primary, _) => CellStatus::Primary,
                (Suppression::Secondary, _) => CellStatus::Secondary,
            };
            let published = status.is_published();
            FrequencyLine {
                key: cell.key.clone(),
                people: published.then_some(cell.people),
                events: published.then_some(cell.events),
                status,
            }
        })
        .collect();
    FrequencyLines {
        by: table.by.clone(),
        lines,
        error95: dp.map(|dp| (dp.people_error95, dp.events_error95)),
    }
}

/// Writes the release into `out`, all or nothing; an existing `out` is replaced only with
/// `force`.
pub fn write_frequency_release(
    out: &Path,
    force: bool,
    release: &TableRelease,
    observer: &dyn Observer,
) -> Result<()> {
    observer.time("write", || write(out, force, release))
}

fn write(out: &Path, force: bool, release: &TableRelease) -> Result<()> {
    let staging = Staging::new(out, force, "--out")?;
    let columns = frequency_columns(&release_lines(&release.table, &release.report));

    let csv_path = staging.path(FREQUENCY_CSV_FILE);
    let mut csv = std::io::BufWriter::new(staging.create(FREQUENCY_CSV_FILE)?);
    write_plain_csv(&columns, &mut csv, &csv_path)?;
    csv.into_inner()
        .map_err(|e| Error::io("write", &csv_path, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io("sync", &csv_path, e))?;

    let parquet_path = staging.path(FREQUENCY_PARQUET_FILE);
    let mut parquet = staging.create(FREQUENCY_PARQUET_FILE)?;
    write_plain_parquet(
        &columns,
        parquet_metadata(release),
        &mut parquet,
        &parquet_path,
    )?;
    parquet
        .flush()
        .and_then(|()| parquet.sync_all())
        .map_err(|e| Error::io("sync", &parquet_path, e))?;

    let csv_entry = file_entry(&staging, FREQUENCY_CSV_FILE)?;
    let parquet_entry = file_entry(&staging, FREQUENCY_PARQUET_FILE)?;
    let package = datapackage(release, &csv_entry, &parquet_entry);
    staging.write(DATAPACKAGE_FILE, &pretty_json(&package))?;
    staging.write(REPORT_FILE, &pretty_json(&release.report))?;
    staging.write(DATASHEET_FILE, datasheet(release).as_bytes())?;

    let mut files = vec![csv_entry, parquet_entry];
    for name in [DATAPACKAGE_FILE, REPORT_FILE, DATASHEET_FILE] {
        files.push(file_entry(&staging, name)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let plan = &release.plan;
    let manifest = Manifest {
        anonpub_version: release.report.anonpub_version.clone(),
        dataset: release.report.dataset.clone(),
        release_version: plan.version.clone(),
        as_of: plan.as_of.clone().unwrap_or_default(),
        seed: None,
        config_sha256: plan.config_sha256.clone(),
        input_fingerprint: Some(release.input_fingerprint.clone()),
        files,
    };
    seal(&staging, manifest)?;
    staging.commit()
}

fn parquet_metadata(release: &TableRelease) -> Vec<(String, String)> {
    let report = &release.report;
    vec![
        ("anonpub:version".into(), report.anonpub_version.clone()),
        ("anonpub:dataset".into(), report.dataset.clone()),
        ("anonpub:kind".into(), report.kind.clone()),
        (
            "anonpub:protection".into(),
            serde_json::to_string(&report.protection).expect("the protection serializes"),
        ),
    ]
}

/// What a key column holds, in words; times say their clock.
fn coarsening_words(coarsening: Coarsening, clock: &str) -> String {
    match coarsening {
        Coarsening::None => "as in the input".into(),
        Coarsening::Hour => format!("the hour ({clock}), `YYYY-MM-DDTHH`"),
        Coarsening::Day => format!("the day ({clock}), `YYYY-MM-DD`"),
        Coarsening::Week => format!("the ISO 8601 week ({clock}), `YYYY-Www`"),
        Coarsening::Month => format!("the month ({clock}), `YYYY-MM`"),
        Coarsening::Network24 => "the network: IPv4 /24, IPv6 /48".into(),
        Coarsening::Network16 => "the network: IPv4 /16, IPv6 /48".into(),
    }
}

/// One sentence on what `people` holds and when it is empty.
fn protection_words(report: &FrequencyReport) -> String {
    match &report.protection {
        CellProtection::Suppression { threshold, .. } => format!(
            "Distinct people in the cell, exact; empty when suppressed: entries of 1 to {} people \
             (`status` primary) and entries hidden so that those cannot be recomputed from the \
             others (`status` secondary).",
            threshold - 1
        ),
        CellProtection::Dp(dp) => format!(
            "Distinct people in the cell with differentially private noise ({}, scale {:.3}; 95 % \
             of counts within ±{} of the truth, see `{PEOPLE_ERROR_COLUMN}`); only cells whose \
             noisy count reached {} are listed.",
            mechanism_words(dp.mechanism),
            dp.noise_scale,
            dp.people_error95,
            dp.release_threshold
        ),
    }
}

fn events_words(report: &FrequencyReport) -> String {
    match &report.protection {
        CellProtection::Suppression {
            max_events_per_person,
            ..
        } => format!(
            "Events (log lines: page views) in the cell, each person counting at most \
             {max_events_per_person}; in a margin, the sum of its cells' events. Empty exactly \
             when `{PEOPLE_COLUMN}` is."
        ),
        CellProtection::Dp(dp) => format!(
            "Events (page views) in the cell, each person counting at most {} per cell, with \
             {} noise of scale {:.3} (95 % within ±{}, see `{EVENTS_ERROR_COLUMN}`), never below 0.",
            dp.max_events_per_person,
            mechanism_words(dp.mechanism),
            dp.events_noise_scale,
            dp.events_error95
        ),
    }
}

fn mechanism_words(mechanism: CountNoise) -> &'static str {
    match mechanism {
        CountNoise::Laplace => "discrete Laplace",
        CountNoise::Gaussian => "discrete Gaussian",
    }
}

fn datapackage(
    release: &TableRelease,
    csv: &crate::release::manifest::ManifestFile,
    parquet: &crate::release::manifest::ManifestFile,
) -> Value {
    let report = &release.report;
    let plan = &release.plan;
    let (name, title, description) = plan.dataset();
    let mut fields: Vec<Value> = plan
        .by
        .iter()
        .map(|by| {
            json!({
                "name": by.column,
                "type": "string",
                "description": format!(
                    "{}: {}; empty in a margin over all its values, `(missing)` where the input \
                     had no value",
                    plan.column_description(&by.column),
                    coarsening_words(by.coarsening, &report.input.time_zone)
                ),
            })
        })
        .collect();
    let count = |name: &str, description: String| {
        json!({
            "name": name,
            "type": "integer",
            "description": description,
            "constraints": { "minimum": 0 },
        })
    };
    fields.push(count(PEOPLE_COLUMN, protection_words(report)));
    if let CellProtection::Dp(dp) = &report.protection {
        fields.push(count(
            PEOPLE_ERROR_COLUMN,
            format!(
                "Half-width of the 95 % interval of `{PEOPLE_COLUMN}`'s noise ({} on every line).",
                dp.people_error95
            ),
        ));
    }
    fields.push(count(EVENTS_COLUMN, events_words(report)));
    if let CellProtection::Dp(dp) = &report.protection {
        fields.push(count(
            EVENTS_ERROR_COLUMN,
            format!(
                "Half-width of the 95 % interval of `{EVENTS_COLUMN}`'s noise ({} on every line).",
                dp.events_error95
            ),
        ));
    }
    let statuses: Vec<&str> = match report.protection {
        CellProtection::Suppression { .. } => vec!["published", "primary", "secondary"],
        CellProtection::Dp(_) => vec!["noisy"],
    };
    fields.push(json!({
        "name": STATUS_COLUMN,
        "type": "string",
        "description": "How the counts were protected.",
        "constraints": { "required": true, "enum": statuses },
    }));
    let mut package = json!({
        "profile": "data-package",
        "name": name,
        "title": title,
        "description": description,
        "version": plan.version,
        "licenses": [super::datapackage::license(&plan.license)],
        "keywords": ["frequency table", "statistical disclosure control", "aggregate statistics"],
        "resources": [
            super::datapackage::csv_resource(
                "frequencies",
                &csv.into(),
                json!({ "fields": fields, "missingValues": [""] }),
            ),
            super::datapackage::parquet_resource(
                "frequencies-parquet",
                &parquet.into(),
                format!(
                    "The same {} lines as {} (the schema of resource `frequencies` applies), typed (counts as unsigned integers, null when suppressed).",
                    report.lines, csv.path
                ),
            ),
        ]
    });
    if let Some(as_of) = &plan.as_of {
        package["created"] = json!(format!("{as_of}T00:00:00Z"));
    }
    package
}

/// The datasheet: what was read, what the table counts, how it is protected, how to read it.
fn datasheet(release: &TableRelease) -> String {
    let report = &release.report;
    let plan = &release.plan;
    let input = &report.input;
    let mut text = String::new();
    let _ = writeln!(text, "# {} — frequency table\n", plan.dataset().1);
    let _ = writeln!(
        text,
        "Made by anonpub {} from the dataset `{}` (release version {}{}).\n",
        report.anonpub_version,
        report.dataset,
        plan.version,
        plan.as_of
            .as_deref()
            .map(|d| format!(", {d}"))
            .unwrap_or_default()
    );
    let _ = writeln!(text, "## What was read\n");
    let _ = writeln!(
        text,
        "A `{}` input of {} lines, {} of them counted. Times are on this clock: **{}**.",
        input.format, input.lines, input.counted, input.time_zone
    );
    if !input.left_out.is_empty() {
        let _ = writeln!(
            text,
            "\nLeft out (malformed lines, and lines filtered on purpose):\n\n| reason | lines |\n|---|---|"
        );
        for (reason, count) in &input.left_out {
            let _ = writeln!(text, "| {reason} | {count} |");
        }
    }
    if matches!(input.format.as_str(), "combined" | "common") {
        let filters = &plan.config.log;
        let list = |items: &[String]| {
            if items.is_empty() {
                "(no filter)".to_string()
            } else {
                items.join(", ")
            }
        };
        let _ = writeln!(
            text,
            "\nFilters: methods {}; statuses {}; user agents containing any of {} (or empty) are \
             bots; paths ending in .{} are static files. Query strings are cut off when a line is \
             read and never kept.",
            list(&filters.methods),
            list(&filters.statuses),
            list(&filters.bot_patterns),
            filters.static_extensions.join(", .")
        );
    }
    let _ = writeln!(text, "\n## What it counts\n");
    let _ = writeln!(
        text,
        "Each line of `{FREQUENCY_CSV_FILE}` is a cell: a combination of keys, the number of \
         **distinct people** in it (`{PEOPLE_COLUMN}`; `{}` identifies a person and is never \
         published), and its **events** (`{EVENTS_COLUMN}`: page views, each person counting at \
         most a few per cell). A person with many events in one cell counts once in \
         `{PEOPLE_COLUMN}`. Only cells with someone in them are listed: **a combination of keys \
         that has no line had nobody in it**{}.\n",
        report.person_column,
        if report.is_dp() {
            " or did not reach the release threshold"
        } else {
            ""
        }
    );
    let _ = writeln!(text, "| column | key |\n|---|---|");
    for by in &plan.by {
        let _ = writeln!(
            text,
            "| `{}` | {} |",
            by.column,
            coarsening_words(by.coarsening, &input.time_zone)
        );
    }
    let _ = writeln!(
        text,
        "\nCoarsening is a fixed, public function of each value (no hierarchy file): the raw \
         values (exact times, full addresses) never reach the table."
    );
    if report.margins {
        let _ = writeln!(
            text,
            "\nMargins follow the cells: a line with an empty key covers all values of that \
             column. Their `{PEOPLE_COLUMN}` are distinct people counted as such (someone who \
             visited a page on two days counts once in the page's margin), so they are **not** \
             the sums of the cells; their `{EVENTS_COLUMN}` are."
        );
    }
    let _ = writeln!(text, "\n## How small cells are protected\n");
    match &report.protection {
        CellProtection::Suppression {
            threshold,
            max_events_per_person,
            primary_cells,
            secondary_cells,
        } => {
            let _ = writeln!(
                text,
                "Small-cell suppression with threshold **{threshold}**: an entry (cell or margin) \
                 of 1 to {} people tells neighbours, colleagues or family what those people did, \
                 so its counts are not published (`status` primary; {primary_cells} entries). \
                 {secondary_cells} further entries are suppressed (`status` secondary) so that no \
                 primary entry can be recomputed exactly from the published ones, even by a \
                 reader who assumes the margins are sums (the hypercube method of Giessing & \
                 Repsilber 2002 in two dimensions, with Tarjan's bridge search). An interval for \
                 a suppressed entry can still be derived (counts are not negative); the \
                 threshold itself says a primary entry is below it. Each person adds at most \
                 {max_events_per_person} events to a cell, so that no single visitor dominates a \
                 published events count.",
                threshold - 1
            );
            if let Some(people) = report.people {
                let _ = writeln!(
                    text,
                    "\nThe table counts {people} distinct people and has {} lines, {} of them \
                     with published counts.",
                    report.lines, report.published_lines
                );
            }
        }
        CellProtection::Dp(dp) => {
            let _ = writeln!(
                text,
                "Differential privacy, (ε = {}, δ = {:e}), the person as the unit: each person \
                 counts in at most {} cells (drawn at random among theirs) with at most {} \
                 events in each; half of ε goes to the people counts, half to the events counts. \
                 Every count has {} noise added: 95 % of people counts are within ±{} of the \
                 bounded truth (`{PEOPLE_ERROR_COLUMN}`), 95 % of events counts within ±{} \
                 (`{EVENTS_ERROR_COLUMN}`). Only cells whose noisy people count reached **{}** \
                 are listed (DP partition selection: the threshold makes a cell of one person \
                 appear with probability at most δ), so which cells exist is private too. \
                 Whatever else an attacker knows, the table changes little whether any one \
                 person is in the data or not.\n\n\
                 The counts are **not byte-reproducible**: the noise comes from the operating \
                 system's random number generator, never from a seed, because a published seed \
                 would let anyone regenerate and subtract it. The table has {} lines and no \
                 margins (add noisy cells up if you need totals).",
                dp.epsilon,
                dp.delta,
                dp.max_cells_per_person,
                dp.max_events_per_person,
                mechanism_words(dp.mechanism),
                dp.people_error95,
                dp.events_error95,
                dp.release_threshold,
                report.lines
            );
            if let Some(bias) = &report.bounding_bias {
                let _ = writeln!(
                    text,
                    "\n**The counts are biased low.** Bounding each person's contributions \
                     leaves part of the data out: on this input, {} % of the (person, cell) \
                     pairs were not counted in `{PEOPLE_COLUMN}` (their person was in more than \
                     {} cells) and {} % of the events were not counted in `{EVENTS_COLUMN}` \
                     (those pairs, and events beyond {} per person and cell). The cells of \
                     frequent visitors lose the most. These two percentages are computed on the \
                     raw input outside the (ε, δ) budget, rounded to whole percents; they \
                     describe all pairs at once, not any one person.",
                    bias.people_pairs_dropped_pct,
                    dp.max_cells_per_person,
                    bias.events_dropped_pct,
                    dp.max_events_per_person
                );
            }
        }
    }
    let _ = writeln!(
        text,
        "\n## Files\n\n`{FREQUENCY_CSV_FILE}` and `{FREQUENCY_PARQUET_FILE}` (the same lines), \
         `{DATAPACKAGE_FILE}` (Frictionless Data Package), `{REPORT_FILE}` (the parameters), \
         `manifest.json` and `SHA256SUMS`. `anonpub verify DIR` re-checks the structure, that no \
         published count is below the threshold, that no suppressed entry can be recomputed, the \
         recorded budget and the checksums. Licence: {}.",
        plan.license
    );
    text
}
