//! `datapackage.json`: a Frictionless Data Package describing the CSV and the Parquet file, so that
//! the release explains itself to people and to tools (frictionless, CKAN, Zenodo).
//!
//! The CSV is the tabular resource: its Table Schema gives every column a type, a unit, a
//! description, constraints (plausible range, required and unique record ids) and the
//! missing-value marker (the empty cell). The Parquet file holds the same table; it is declared as
//! a plain file resource with its size and digest, because Frictionless validators read Parquet
//! through pandas, which turns nulls into NaN and then reports every unpublished cell as a
//! constraint error. CI checks the Parquet values against the CSV separately
//! (`scripts/check_parquet.py`).

use serde_json::{json, Value};

use crate::measurements::Catalog;
use crate::schema::DatasetSchema;

/// Everything the package descriptor says beyond the files themselves.
pub struct PackageInfo<'a> {
    /// The dataset schema (titles, descriptions).
    pub schema: &'a DatasetSchema,
    /// The measurements, with units and plausible ranges.
    pub catalog: &'a Catalog,
    /// The dataset release's version.
    pub version: &'a str,
    /// RFC 3339 creation time (the release date, so that the file is reproducible).
    pub created: String,
    /// SPDX identifier of the data licence.
    pub license: &'a str,
    /// Rows in the data files.
    pub rows: usize,
}

/// A file of the release with its size and digest.
pub struct PackagedFile<'a> {
    /// The file's name inside the release.
    pub name: &'a str,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, as lowercase hex.
    pub sha256: &'a str,
}

impl<'a> From<&'a crate::release::manifest::ManifestFile> for PackagedFile<'a> {
    fn from(file: &'a crate::release::manifest::ManifestFile) -> Self {
        PackagedFile {
            name: &file.path,
            bytes: file.bytes,
            sha256: &file.sha256,
        }
    }
}

/// Builds the descriptor for the CSV and Parquet resources.
pub fn datapackage(
    info: &PackageInfo<'_>,
    csv: &PackagedFile<'_>,
    parquet: &PackagedFile<'_>,
) -> Value {
    let mut fields = vec![json!({
        "name": "record_id",
        "type": "string",
        "format": "uuid",
        "description": "Random identifier of the record within this release, drawn under the data holder's key from the input and the seed: it links to nothing, and no other release carries it.",
        "constraints": { "required": true, "unique": true }
    })];
    for (index, name) in info.catalog.names().iter().enumerate() {
        let spec = &info.schema.columns[info
            .schema
            .position(name)
            .expect("catalogue built from schema")];
        let [low, high] = info.catalog.plausible(index);
        // A side the schema leaves open is no constraint (JSON has no infinity).
        let mut constraints = serde_json::Map::new();
        if low.is_finite() {
            constraints.insert("minimum".into(), json!(low));
        }
        if high.is_finite() {
            constraints.insert("maximum".into(), json!(high));
        }
        let unit = info.catalog.unit(index);
        fields.push(json!({
            "name": name,
            "type": "number",
            "description": format!(
                "{} ({}; rounded to {}; empty when not published)",
                spec.description.as_deref().unwrap_or(name),
                unit_words(unit),
                step_words(info.catalog.rounding(index), unit),
            ),
            "unit": unit,
            "rounding": info.catalog.rounding(index),
            "constraints": constraints,
        }));
    }
    let table_schema = json!({
        "fields": fields,
        "primaryKey": ["record_id"],
        "missingValues": [""],
    });
    let title = info.schema.title.as_deref().unwrap_or(&info.schema.name);
    // Only FreeSewing's measurements are described as FreeSewing's; any other dataset by its
    // schema alone.
    let (sources, contributors, keywords) = if info.catalog.is_freesewing() {
        (
            json!([{ "title": "FreeSewing user measurements (consented to open data)", "path": "https://freesewing.org" }]),
            json!([{ "title": "FreeSewing", "role": "publisher" }]),
            json!([
                "anthropometry",
                "body measurements",
                "sewing",
                "anonymized",
                "k-anonymity"
            ]),
        )
    } else {
        (
            json!([{ "title": format!("{title} (records of people who may be published)") }]),
            json!([]),
            json!(["anonymized", "k-anonymity", "microaggregation"]),
        )
    };
    json!({
        "profile": "data-package",
        "name": info.schema.name,
        "title": title,
        "description": info.schema.description.as_deref().unwrap_or_default(),
        "version": info.version,
        "created": info.created,
        "licenses": [license(info.license)],
        "sources": sources,
        "contributors": contributors,
        "keywords": keywords,
        "resources": [
            csv_resource("measurements", csv, table_schema),
            parquet_resource(
                "measurements-parquet",
                parquet,
                format!(
                    "The same {} rows and values as {} (the schema of resource `measurements` applies), typed and zstd-compressed; each column's unit is in its Arrow field metadata and the release parameters in the file's key-value metadata.",
                    info.rows, csv.name
                ),
            ),
        ]
    })
}

/// Adds the size chart's two files to a package descriptor: the CSV as a tabular resource with
/// its Table Schema, the Parquet file as a file resource.
pub fn add_chart_resources(
    package: &mut Value,
    csv: &crate::release::manifest::ManifestFile,
    parquet: &crate::release::manifest::ManifestFile,
) {
    let mut fields = vec![
        json!({"name": "stratum", "type": "string", "description": "The group of people the row describes."}),
        json!({"name": "measurement", "type": "string", "description": "The measurement."}),
        json!({"name": "unit", "type": "string", "description": "Its unit."}),
    ];
    let figures = ["n", "mean", "sd"].map(String::from).into_iter().chain(
        crate::dp::sizechart::PERCENTILES
            .iter()
            .map(|p| format!("p{p}")),
    );
    for figure in figures {
        fields.push(json!({
            "name": figure,
            "type": "number",
            "description": format!("{figure}, with differentially private noise; empty when not published"),
        }));
        fields.push(json!({
            "name": format!("{figure}_error95"),
            "type": "number",
            "description": format!("Half-width of an interval that holds the exact {figure} in about 95 % of releases"),
        }));
    }
    let resources = package["resources"]
        .as_array_mut()
        .expect("the descriptor lists resources");
    resources.push(csv_resource(
        "sizechart",
        &csv.into(),
        json!({ "fields": fields, "missingValues": [""] }),
    ));
    resources.push(parquet_resource(
        "sizechart-parquet",
        &parquet.into(),
        format!(
            "The same rows as {} (the schema of resource `sizechart` applies), typed.",
            csv.path
        ),
    ));
}

/// A CSV file of the release as a tabular data resource with its Table Schema.
pub fn csv_resource(name: &str, file: &PackagedFile<'_>, schema: Value) -> Value {
    json!({
        "name": name,
        "path": file.name,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": file.bytes,
        "hash": format!("sha256:{}", file.sha256),
        "dialect": { "delimiter": ",", "header": true },
        "schema": schema,
    })
}

/// A Parquet file of the release as a file resource; `description` says which CSV it mirrors.
pub fn parquet_resource(name: &str, file: &PackagedFile<'_>, description: String) -> Value {
    json!({
        "name": name,
        "path": file.name,
        "type": "file",
        "profile": "data-resource",
        "format": "parquet",
        "mediatype": "application/vnd.apache.parquet",
        "bytes": file.bytes,
        "hash": format!("sha256:{}", file.sha256),
        "description": description,
    })
}

fn unit_words(unit: &str) -> &str {
    match unit {
        "mm" => "millimetres",
        "deg" => "degrees",
        other => other,
    }
}

/// "1 mm", "0.5°".
fn step_words(step: f64, unit: &str) -> String {
    match unit {
        "deg" => format!("{step}°"),
        other => format!("{step} {other}"),
    }
}

/// The licence entry of a package descriptor for an SPDX identifier.
pub(crate) fn license(id: &str) -> Value {
    match id {
        "CC0-1.0" => {
            json!({ "name": id, "title": "Creative Commons Zero v1.0 Universal", "path": "https://creativecommons.org/publicdomain/zero/1.0/" })
        }
        "CC-BY-4.0" => {
            json!({ "name": id, "title": "Creative Commons Attribution 4.0", "path": "https://creativecommons.org/licenses/by/4.0/" })
        }
        "ODbL-1.0" => {
            json!({ "name": id, "title": "Open Data Commons Open Database License 1.0", "path": "https://opendatacommons.org/licenses/odbl/1-0/" })
        }
        other => json!({ "name": other }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package_with(license: &str) -> Value {
        let schema = DatasetSchema::freesewing();
        let catalog = Catalog::from_schema(&schema);
        let info = PackageInfo {
            schema: &schema,
            catalog: &catalog,
            version: "1.2.0",
            created: "2026-11-01T00:00:00Z".into(),
            license,
            rows: 10,
        };
        let file = |name| PackagedFile {
            name,
            bytes: 7,
            sha256: "ab",
        };
        datapackage(&info, &file("m.csv"), &file("m.parquet"))
    }

    #[test]
    fn csv_resource_has_a_full_table_schema() {
        let package = package_with("CC0-1.0");
        let csv = &package["resources"][0];
        assert_eq!(csv["profile"], "tabular-data-resource");
        assert_eq!(csv["hash"], "sha256:ab");
        let schema = &csv["schema"];
        assert_eq!(schema["missingValues"], json!([""]));
        assert_eq!(schema["primaryKey"], json!(["record_id"]));
        let fields = schema["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 39);
        assert_eq!(
            fields[0]["constraints"],
            json!({"required": true, "unique": true})
        );
        for field in &fields[1..] {
            assert_eq!(field["type"], "number");
            assert!(field["unit"] == "mm" || field["unit"] == "deg", "{field}");
            assert!(field["description"]
                .as_str()
                .unwrap()
                .contains("rounded to"));
            let constraints = &field["constraints"];
            assert!(constraints["minimum"].as_f64() < constraints["maximum"].as_f64());
            assert!(field["rounding"].as_f64() > Some(0.0));
        }
        let slope = fields
            .iter()
            .find(|f| f["name"] == "shoulderSlope")
            .unwrap();
        assert!(slope["description"]
            .as_str()
            .unwrap()
            .contains("rounded to 0.5°"));
    }

    #[test]
    fn another_schema_is_described_by_itself_and_open_ranges_are_no_constraint() {
        let schema = DatasetSchema::parse(
            "name = \"temps\"\ntitle = \"Temperatures\"\n[[column]]\nname = \"t\"\n\
             role = \"quasi_identifier\"\ntype = \"number\"\nunit = \"degC\"\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let catalog = Catalog::from_schema(&schema);
        assert!(!catalog.is_freesewing() && Catalog::freesewing().is_freesewing());
        assert_eq!(catalog.plausible(0), [f64::NEG_INFINITY, f64::INFINITY]);
        let info = PackageInfo {
            schema: &schema,
            catalog: &catalog,
            version: "1",
            created: "2026-11-01T00:00:00Z".into(),
            license: "CC0-1.0",
            rows: 1,
        };
        let file = |name| PackagedFile {
            name,
            bytes: 1,
            sha256: "ab",
        };
        let package = datapackage(&info, &file("m.csv"), &file("m.parquet"));
        let field = &package["resources"][0]["schema"]["fields"][1];
        assert_eq!(field["constraints"], json!({}));
        assert_eq!(field["unit"], "degC");
        assert!(!package.to_string().contains("FreeSewing"));
        assert_eq!(package["title"], "Temperatures");
    }

    #[test]
    fn package_metadata_and_configurable_licence() {
        let package = package_with("CC0-1.0");
        assert_eq!(package["version"], "1.2.0");
        assert_eq!(package["created"], "2026-11-01T00:00:00Z");
        assert_eq!(package["licenses"][0]["name"], "CC0-1.0");
        assert!(package["licenses"][0]["path"]
            .as_str()
            .unwrap()
            .contains("publicdomain/zero"));
        assert!(!package["sources"].as_array().unwrap().is_empty());
        assert!(!package["contributors"].as_array().unwrap().is_empty());
        assert_eq!(package["resources"][1]["type"], "file");
        assert_eq!(
            package_with("CC-BY-4.0")["licenses"][0]["title"],
            "Creative Commons Attribution 4.0"
        );
        assert_eq!(
            package_with("LicenseRef-x")["licenses"],
            json!([{"name": "LicenseRef-x"}])
        );
    }
}
