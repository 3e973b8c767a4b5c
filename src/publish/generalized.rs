//! The release of a generalizing method (`[method] name = "global"` or `"mondrian"`): the same
//! contract as every release ([`crate::release::RELEASE_FILES`]: `measurements.csv`,
//! `measurements.parquet`, `datapackage.json`, `report.json`, `report.html`, the datasheet,
//! `manifest.json`, `SHA256SUMS`), written all or nothing through [`Staging`].
//!
//! The cells are text (a generalized value is a label or a range: `Lyon|Paris`, `[30, 40)`), so
//! the data files use the small-table format of [`crate::release::plain`], which `verify` reads
//! back cell by cell; numeric columns that a method left numeric stay numbers. The documents
//! describe the dataset from its schema (title, description, columns and roles) and the
//! anonymization from the report; every file depends only on the inputs and the seed.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{json, Value};

use super::html::escape;
use super::{file_entry, pretty_json, seal, Provenance};
use crate::atomic::Staging;
use crate::error::{Error, Result};
use crate::observe::Observer;
use crate::release::manifest::ManifestFile;
use crate::release::plain::{write_plain_csv, write_plain_parquet, PlainTable};
use crate::release::report::{GeneralizationReport, ReleaseReport};
use crate::release::{
    CSV_FILE, DATAPACKAGE_FILE, DATASHEET_FILE, HTML_FILE, PARQUET_FILE, REPORT_FILE,
};
use crate::schema::Role;

/// What a generalized release is made of.
pub struct GeneralizedRelease<'a> {
    /// `record_id`, then the published columns, one row per published record.
    pub table: &'a PlainTable,
    /// Where the release comes from: report (its `generalization` entry set), schema, config,
    /// input and source.
    pub provenance: Provenance<'a>,
}

impl GeneralizedRelease<'_> {
    fn generalization(&self) -> &GeneralizationReport {
        self.provenance
            .report
            .generalization
            .as_ref()
            .expect("a generalized release reports its generalization")
    }

    fn title(&self) -> &str {
        self.provenance
            .schema
            .title
            .as_deref()
            .unwrap_or(&self.provenance.schema.name)
    }
}

/// Writes every file of the release into a staging directory beside `out` and returns it
/// uncommitted ([`Staging::commit`] puts it in place).
pub fn stage_generalized(
    out: &std::path::Path,
    force: bool,
    release: &GeneralizedRelease<'_>,
    observer: &dyn Observer,
) -> Result<Staging> {
    let staging = Staging::new(out, force, "--out")?;
    observer.time("write-data", || write_data(&staging, release))?;
    let started = std::time::Instant::now();
    let csv_entry = file_entry(&staging, CSV_FILE)?;
    let parquet_entry = file_entry(&staging, PARQUET_FILE)?;
    let package = datapackage(release, &csv_entry, &parquet_entry);
    staging.write(DATAPACKAGE_FILE, &pretty_json(&package))?;
    staging.write(REPORT_FILE, &pretty_json(release.provenance.report))?;
    staging.write(HTML_FILE, report_html(release).as_bytes())?;
    staging.write(DATASHEET_FILE, datasheet(release).as_bytes())?;
    let mut files = vec![csv_entry, parquet_entry];
    for name in [DATAPACKAGE_FILE, REPORT_FILE, HTML_FILE, DATASHEET_FILE] {
        files.push(file_entry(&staging, name)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = release.provenance.manifest(files);
    seal(&staging, manifest)?;
    observer.stage_took("write-metadata", started.elapsed());
    Ok(staging)
}

fn write_data(staging: &Staging, release: &GeneralizedRelease<'_>) -> Result<()> {
    let csv_path = staging.path(CSV_FILE);
    let mut csv = std::io::BufWriter::new(staging.create(CSV_FILE)?);
    write_plain_csv(release.table, &mut csv, &csv_path)?;
    csv.into_inner()
        .map_err(|e| Error::io("write", &csv_path, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io("sync", &csv_path, e))?;
    let parquet_path = staging.path(PARQUET_FILE);
    let mut parquet = staging.create(PARQUET_FILE)?;
    let metadata = release.provenance.footer_metadata();
    write_plain_parquet(release.table, metadata, &mut parquet, &parquet_path)?;
    parquet
        .flush()
        .and_then(|()| parquet.sync_all())
        .map_err(|e| Error::io("sync", &parquet_path, e))
}

/// What a column holds in the release, in words.
fn column_words(release: &GeneralizedRelease<'_>, name: &str, role: Role) -> String {
    let described = release
        .provenance
        .schema
        .position(name)
        .and_then(|i| release.provenance.schema.columns[i].description.clone())
        .unwrap_or_else(|| name.to_string());
    let how = match role {
        Role::QuasiIdentifier => {
            "quasi-identifier, generalized: a value, a group of values or a range shared by at \
             least k people"
        }
        Role::Sensitive => "sensitive, published as collected, protected by the privacy models",
        _ => "published as collected",
    };
    format!("{described} ({how})")
}

fn datapackage(
    release: &GeneralizedRelease<'_>,
    csv: &ManifestFile,
    parquet: &ManifestFile,
) -> Value {
    let generalization = release.generalization();
    let mut fields = vec![json!({
        "name": "record_id",
        "type": "string",
        "description": "A random identifier of the row, drawn from the release's seed; it links to nothing.",
        "constraints": { "required": true, "unique": true },
    })];
    for column in &generalization.columns {
        fields.push(json!({
            "name": column.name,
            "type": if column.numeric { "number" } else { "string" },
            "description": column_words(release, &column.name, column.role),
        }));
    }
    let report = release.provenance.report;
    let mut package = json!({
        "profile": "data-package",
        "name": release.provenance.schema.name,
        "title": release.title(),
        "description": release.provenance.schema.description.as_deref().unwrap_or_default(),
        "version": release.provenance.config.version,
        "created": format!("{}T00:00:00Z", report.as_of),
        "licenses": [super::datapackage::license(&release.provenance.config.license)],
        "keywords": ["anonymized microdata", "k-anonymity", "statistical disclosure control"],
        "resources": [
            super::datapackage::csv_resource(
                "measurements",
                &csv.into(),
                json!({ "fields": fields, "missingValues": [""] }),
            ),
            super::datapackage::parquet_resource(
                "measurements-parquet",
                &parquet.into(),
                format!(
                    "The same {} rows as {} (the schema of resource `measurements` applies), typed.",
                    release.table.rows(),
                    csv.path
                ),
            ),
        ],
    });
    if release.title().is_empty() {
        package["title"] = json!(release.provenance.schema.name);
    }
    package
}

/// The privacy models in words: k, and l and t where they were asked.
fn model_words(report: &ReleaseReport) -> Vec<(String, String)> {
    let generalization = report.generalization.as_ref().expect("generalized");
    let mut rows = vec![(
        "k (distinct people per class)".to_string(),
        format!(
            "asked {}, achieved {}",
            report.k_requested, report.k_achieved
        ),
    )];
    if let Some(l) = generalization.l_diversity {
        rows.push((
            "distinct l-diversity of every sensitive column".into(),
            format!("asked {}, achieved {}", l.requested, l.achieved),
        ));
    }
    if let Some(t) = generalization.t_closeness {
        rows.push((
            "t-closeness of every sensitive column".into(),
            format!("asked {}, achieved {:.4}", t.requested, t.achieved),
        ));
    }
    rows
}

fn method_words(report: &ReleaseReport) -> String {
    let generalization = report.generalization.as_ref().expect("generalized");
    match report.method.as_str() {
        "global" => format!(
            "optimal full-domain generalization (global recoding): every value of a \
             quasi-identifier is replaced by its ancestor at one level of the schema's hierarchy, \
             the same level for the whole column, chosen to lose the least information (ARX's \
             Loss metric; Kohlmayer et al. 2012, Flash) among the levels where every class holds \
             at least k distinct people and meets every privacy model, with at most {} of the \
             records suppressed. Levels: {}.",
            percent(generalization.suppression_limit.unwrap_or(0.0)),
            generalization
                .levels
                .as_ref()
                .map(|levels| format!("{levels:?}"))
                .unwrap_or_else(|| "-".into())
        ),
        "mondrian" => format!(
            "strict multidimensional partitioning (Mondrian; LeFevre, DeWitt & Ramakrishnan \
             2006): the records are split recursively while both halves hold at least k distinct \
             people and meet every privacy model, and each partition publishes the range or the \
             group of values it covers ({} partitions).",
            generalization.partitions.unwrap_or(0)
        ),
        other => format!(
            "`{other}`: every published class of identical quasi-identifier cells holds at least \
             k distinct people and meets every privacy model."
        ),
    }
}

fn percent(share: f64) -> String {
    format!("{:.2} %", share * 100.0)
}

fn datasheet(release: &GeneralizedRelease<'_>) -> String {
    let report = release.provenance.report;
    let generalization = release.generalization();
    let mut text = String::new();
    let _ = writeln!(text, "# {}\n", release.title());
    if let Some(description) = &release.provenance.schema.description {
        let _ = writeln!(text, "{description}\n");
    }
    let _ = writeln!(
        text,
        "Made by anonpub {} from {} (`{}`), release version {}, as of {}.\n",
        report.anonpub_version,
        release.provenance.source.title,
        report.dataset,
        release.provenance.config.version,
        report.as_of
    );
    let _ = writeln!(text, "## Motivation\n");
    let _ = writeln!(
        text,
        "To share the records of `{}` as open data while no row can be tied to a person: every \
         row is shared by at least {} distinct people.\n",
        report.dataset, report.k_requested
    );
    let _ = writeln!(text, "## Composition\n");
    let _ = writeln!(
        text,
        "`{CSV_FILE}` holds {} rows, one per published record, and these columns after \
         `record_id` (a random identifier that links to nothing):\n",
        report.anonymization.published_records
    );
    let _ = writeln!(text, "| column | what |\n|---|---|");
    for column in &generalization.columns {
        let _ = writeln!(
            text,
            "| `{}` | {} |",
            column.name,
            column_words(release, &column.name, column.role)
        );
    }
    let _ = writeln!(
        text,
        "\nDirect identifiers and the columns that only decide who may be published (the \
         person's key, consent, status, last visit) are not published."
    );
    let _ = writeln!(text, "\n## Collection and selection\n");
    let selection = &report.selection;
    let _ = writeln!(
        text,
        "A record of the {} was eligible when {}, and its person was seen within the last {} \
         months. Of {} records of {} people, {} records of {} people were eligible; the others \
         were left out and counted by reason in `{REPORT_FILE}` (`selection`).",
        release.provenance.source.container,
        release.provenance.source.eligibility,
        release.provenance.config.retention_months,
        selection.sets_in_database,
        selection.users_in_database,
        selection.eligible_sets,
        selection.eligible_people,
    );
    let _ = writeln!(text, "\n## Anonymization\n");
    let _ = writeln!(text, "Method: {}\n", method_words(report));
    let _ = writeln!(text, "| privacy model | figure |\n|---|---|");
    for (model, figure) in model_words(report) {
        let _ = writeln!(text, "| {model} | {figure} |");
    }
    let _ = writeln!(
        text,
        "\n{} records were suppressed (not published). l and t are measured on the published \
         rows: t against the distribution of the sensitive values over every published row. \
         The simulated attacks and the group noise of the measurements release apply to \
         microaggregated measurements and were not run on this release.",
        report.anonymization.suppressed_records
    );
    let _ = writeln!(text, "\n## Uses\n");
    let _ = writeln!(
        text,
        "Counts and cross-tabulations at the published level of detail. Generalized values are \
         groups or ranges: do not read them as exact, and do not try to re-identify anyone."
    );
    let _ = writeln!(text, "\n## Distribution and maintenance\n");
    let _ = writeln!(
        text,
        "Licence: {}. `anonpub verify DIR` re-checks the files, the checksums and, from the rows \
         alone, k, l and t. Each release is made anew from the data of its date.",
        release.provenance.config.license
    );
    text
}

fn report_html(release: &GeneralizedRelease<'_>) -> String {
    let report = release.provenance.report;
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;max-width:50em;margin:auto}}td,th{{padding:0 1em;\
         text-align:left}}</style></head>\n<body><main>\n<h1>{}</h1>\n",
        escape(release.title()),
        escape(release.title())
    );
    let mut rows = vec![
        ("method".to_string(), report.method.clone()),
        (
            "published records".into(),
            report.anonymization.published_records.to_string(),
        ),
        (
            "suppressed records".into(),
            report.anonymization.suppressed_records.to_string(),
        ),
        (
            "classes of identical quasi-identifiers".into(),
            report.anonymization.groups.to_string(),
        ),
        (
            "highest re-identification risk".into(),
            format!("{:.4}", report.risk.reidentification.prosecutor.highest),
        ),
    ];
    rows.extend(model_words(report));
    page.push_str("<table>\n");
    for (name, value) in rows {
        let _ = writeln!(
            page,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(&name),
            escape(&value)
        );
    }
    let _ = write!(
        page,
        "</table>\n<p>{}</p>\n</main></body></html>\n",
        escape(&method_words(report))
    );
    page
}
