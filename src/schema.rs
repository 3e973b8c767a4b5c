//! Dataset schemas: what each column of a dataset is, and how it may be published.
//!
//! A schema is a TOML file in `schemas/` (described by `schemas/dataset-schema.json`). It is parsed
//! and validated once, before any data is read, so that every later stage can trust it: names are
//! unique, ranges are ordered, rounding steps are positive. `schemas/freesewing.toml` is embedded in
//! the binary as the default schema of the FreeSewing measurements.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The FreeSewing measurements schema shipped with the binary.
pub const FREESEWING_SCHEMA: &str = include_str!("../schemas/freesewing.toml");

/// What a column means for disclosure control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Identifies a person on its own (email, name): always dropped.
    DirectIdentifier,
    /// Could identify a person combined with outside knowledge: anonymized.
    QuasiIdentifier,
    /// The attribute whose disclosure harms (diagnosis, income): protected by l-diversity/t-closeness.
    Sensitive,
    /// Neither: published as is.
    Insensitive,
}

/// The value type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Number,
    Integer,
    String,
}

/// One column of a dataset schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub name: String,
    /// Other names the same column is read under (e.g. FreeSewing v4's `waistToArmpit`).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub role: Role,
    #[serde(rename = "type")]
    pub value_type: ColumnType,
    pub unit: Option<String>,
    pub group: Option<String>,
    /// Only people with breasts have this measurement; its presence alone is informative.
    #[serde(default)]
    pub breasts_only: bool,
    /// Closed range of plausible values; a record outside it is junk and is not published.
    pub plausible: Option<[f64; 2]>,
    /// Published values are rounded to a multiple of this step.
    pub rounding: Option<f64>,
    pub description: Option<String>,
    /// ARX-format hierarchy file (relative to the schema file) for generalization.
    pub hierarchy: Option<String>,
    /// Interval widths for numeric generalization, finest first.
    pub widths: Option<Vec<f64>>,
}

/// A whole dataset schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSchema {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Field delimiter of CSV inputs described by this schema (default `,`).
    pub delimiter: Option<char>,
    #[serde(rename = "column")]
    pub columns: Vec<ColumnSpec>,
}

impl DatasetSchema {
    /// Parses and validates schema text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let schema: DatasetSchema = toml::from_str(text).map_err(|e| {
            Error::bad_file(
                origin,
                toml_location(text, e.span()),
                e.message().to_string(),
            )
        })?;
        schema.validate(origin)?;
        Ok(schema)
    }

    /// Reads and validates a schema file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        Self::parse(&text, path)
    }

    /// The embedded FreeSewing measurements schema.
    pub fn freesewing() -> Self {
        Self::parse(FREESEWING_SCHEMA, Path::new("schemas/freesewing.toml"))
            .expect("the embedded schema is validated by a unit test")
    }

    fn validate(&self, origin: &Path) -> Result<()> {
        let fail = |column: &str, problem: String| {
            Err(Error::bad_file(
                origin,
                Some(format!("column `{column}`")),
                problem,
            ))
        };
        if self.columns.is_empty() {
            return Err(Error::bad_file(
                origin,
                None,
                "the schema declares no column",
            ));
        }
        let mut seen = HashSet::new();
        for column in &self.columns {
            for name in std::iter::once(&column.name).chain(&column.aliases) {
                if !seen.insert(name.as_str()) {
                    return fail(name, "name declared twice".into());
                }
            }
            if let Some([low, high]) = column.plausible {
                if !(low.is_finite() && high.is_finite() && low < high) {
                    return fail(
                        &column.name,
                        "`plausible` must be [low, high] with low < high".into(),
                    );
                }
            }
            if let Some(step) = column.rounding {
                if !(step.is_finite() && step > 0.0) {
                    return fail(&column.name, "`rounding` must be a positive number".into());
                }
            }
            if let Some(widths) = &column.widths {
                if widths.is_empty() || widths.windows(2).any(|w| w[0] >= w[1]) || widths[0] <= 0.0
                {
                    return fail(
                        &column.name,
                        "`widths` must be positive and strictly increasing".into(),
                    );
                }
            }
            if column.hierarchy.is_some() && column.widths.is_some() {
                return fail(
                    &column.name,
                    "give either `hierarchy` or `widths`, not both".into(),
                );
            }
        }
        Ok(())
    }

    /// Position of a column by its name or one of its aliases.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name || c.aliases.iter().any(|a| a == name))
    }
}

/// Turns a byte span into "line N" for error messages.
fn toml_location(text: &str, span: Option<std::ops::Range<usize>>) -> Option<String> {
    span.map(|s| {
        let before = &text.as_bytes()[..s.start.min(text.len())];
        format!(
            "line {}",
            before.iter().filter(|&&b| b == b'\n').count() + 1
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_freesewing_schema_is_valid_and_complete() {
        let schema = DatasetSchema::freesewing();
        assert_eq!(schema.columns.len(), 38);
        assert_eq!(
            schema.position("waistToArmpit"),
            schema.position("waistToArmhole")
        );
        let breasts: Vec<_> = schema
            .columns
            .iter()
            .filter(|c| c.breasts_only)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(breasts.len(), 8);
        assert!(schema
            .columns
            .iter()
            .all(|c| c.plausible.is_some() && c.rounding.is_some()));
    }

    #[test]
    fn unknown_key_is_rejected_with_location() {
        let text = "name = \"x\"\n[[column]]\nname = \"a\"\nrole = \"quasi_identifier\"\ntype = \"number\"\ncolour = 1\n";
        let err = DatasetSchema::parse(text, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("s.toml") && err.contains("line 6") && err.contains("colour"),
            "{err}"
        );
    }

    #[test]
    fn reversed_range_is_rejected() {
        let text = "name = \"x\"\n[[column]]\nname = \"a\"\nrole = \"quasi_identifier\"\ntype = \"number\"\nplausible = [5, 1]\n";
        let err = DatasetSchema::parse(text, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("column `a`"), "{err}");
    }
}
