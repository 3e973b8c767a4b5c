//! `datapackage.json`: a Frictionless Data Package describing the CSV and the Parquet file, so that
//! the release explains itself to people and to tools (frictionless, CKAN, Zenodo).

use serde_json::{json, Value};

use crate::measurements::Catalog;
use crate::schema::DatasetSchema;

/// Everything the package descriptor says beyond the files themselves.
pub struct PackageInfo<'a> {
    pub schema: &'a DatasetSchema,
    pub catalog: &'a Catalog,
    pub version: &'a str,
    /// RFC 3339 creation time (the release date, so that the file is reproducible).
    pub created: String,
    pub license: &'a str,
    pub rows: usize,
}

/// A file of the release with its size and digest.
pub struct PackagedFile<'a> {
    pub name: &'a str,
    pub bytes: u64,
    pub sha256: &'a str,
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
        "description": "Random identifier of the record, drawn fresh for this release; it links to nothing.",
        "constraints": { "required": true, "unique": true }
    })];
    for (index, name) in info.catalog.names().iter().enumerate() {
        let spec = &info.schema.columns[info
            .schema
            .position(name)
            .expect("catalogue built from schema")];
        let [low, high] = info.catalog.plausible(index);
        let unit = info.catalog.unit(index);
        fields.push(json!({
            "name": name,
            "type": "number",
            "description": format!("{} ({}; empty when not published)", spec.description.as_deref().unwrap_or(name), unit_words(unit)),
            "unit": unit,
            "constraints": { "minimum": low, "maximum": high },
        }));
    }
    let table_schema = json!({
        "fields": fields,
        "primaryKey": ["record_id"],
        "missingValues": [""],
    });
    json!({
        "profile": "tabular-data-package",
        "name": info.schema.name,
        "title": info.schema.title.as_deref().unwrap_or(&info.schema.name),
        "description": info.schema.description.as_deref().unwrap_or_default(),
        "version": info.version,
        "created": info.created,
        "licenses": [license(info.license)],
        "sources": [{ "title": "FreeSewing user measurements (consented to open data)", "path": "https://freesewing.org" }],
        "contributors": [{ "title": "FreeSewing", "role": "publisher" }],
        "keywords": ["anthropometry", "body measurements", "sewing", "anonymized", "k-anonymity"],
        "resources": [
            {
                "name": "measurements",
                "path": csv.name,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": csv.bytes,
                "hash": format!("sha256:{}", csv.sha256),
                "dialect": { "delimiter": ",", "header": true },
                "schema": table_schema,
            },
            {
                "name": "measurements-parquet",
                "path": parquet.name,
                "profile": "data-resource",
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "bytes": parquet.bytes,
                "hash": format!("sha256:{}", parquet.sha256),
                "description": format!("The same {} rows and values as {}, typed and zstd-compressed.", info.rows, csv.name),
            }
        ]
    })
}

fn unit_words(unit: &str) -> &str {
    match unit {
        "mm" => "millimetres",
        "deg" => "degrees",
        other => other,
    }
}

fn license(id: &str) -> Value {
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
