//! Dataset schemas: what each column of a dataset is, and how it may be published.
//!
//! A schema is a TOML file in `schemas/` (described by `schemas/dataset-schema.json`). It is parsed
//! and validated once, before any data is read, so that every later stage can trust it: names are
//! unique, ranges are ordered, rounding steps are positive. `schemas/freesewing.toml` is embedded in
//! the binary as the default schema of the FreeSewing measurements.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

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
    /// Rows with the same value belong to one person: k counts distinct values of this column.
    /// Never published.
    PersonKey,
    /// The person's consent; a row is eligible only if it is at least `consent_min` (or `true`).
    /// Never published.
    Consent,
    /// The person's account status; a row is eligible only if it is one of `status_allowed`.
    /// Never published.
    Status,
    /// When the person was last seen (ISO-8601 date or date-time, or epoch milliseconds); the
    /// release's retention window applies to it. Never published.
    LastSeen,
    /// A person attribute a size chart is split by (sex, age band, region): each person is
    /// charted in the stratum of their value, among public `categories` (text) or `bands`
    /// (numbers). Never published as a column; only the strata's names, which come from the
    /// schema, appear in a release.
    Stratum,
}

impl Role {
    /// The role's name as a schema writes it.
    pub fn key(self) -> &'static str {
        match self {
            Role::DirectIdentifier => "direct_identifier",
            Role::QuasiIdentifier => "quasi_identifier",
            Role::Sensitive => "sensitive",
            Role::Insensitive => "insensitive",
            Role::PersonKey => "person_key",
            Role::Consent => "consent",
            Role::Status => "status",
            Role::LastSeen => "last_seen",
            Role::Stratum => "stratum",
        }
    }

    /// Whether the column only decides who may be published (who the person is, their consent,
    /// status, last visit) or which size-chart stratum they are charted in, and is never written
    /// to a release.
    pub fn is_eligibility(self) -> bool {
        matches!(
            self,
            Role::PersonKey | Role::Consent | Role::Status | Role::LastSeen | Role::Stratum
        )
    }
}

/// A status value as a schema lists it: TOML integers, strings and booleans compare by their text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum StatusValue {
    /// A whole number (`1`).
    Integer(i64),
    /// A boolean (`true`).
    Boolean(bool),
    /// Text (`"active"`).
    Text(String),
}

impl StatusValue {
    /// The text a cell must hold to match.
    pub fn text(&self) -> String {
        match self {
            StatusValue::Integer(n) => n.to_string(),
            StatusValue::Boolean(b) => b.to_string(),
            StatusValue::Text(t) => t.clone(),
        }
    }
}

/// The value type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// Text.
    String,
}

/// One column of a dataset schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// The column's name in the input (and the output).
    pub name: String,
    /// Other names the same column is read under (e.g. FreeSewing v4's `waistToArmpit`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// What the column is to the anonymization.
    pub role: Role,
    #[serde(rename = "type")]
    /// What its cells hold.
    pub value_type: ColumnType,
    /// The unit of a numeric column (`mm`, `deg`), for the release metadata.
    pub unit: Option<String>,
    /// A grouping for readers (e.g. `torso`), for the datasheet.
    pub group: Option<String>,
    /// Only people with breasts have this measurement; its presence alone is informative.
    #[serde(default)]
    pub breasts_only: bool,
    /// Closed range of plausible values; a record outside it is junk and is not published.
    pub plausible: Option<[f64; 2]>,
    /// Published values are rounded to a multiple of this step.
    pub rounding: Option<f64>,
    /// The absolute floor, in the column's unit, of how close a simulated attacker's estimate
    /// must come to the true value to count as rebuilt (beside 2 % of the value, whichever is
    /// larger); by default the rounding step. A floor is a statement about the column's unit
    /// (5 mm of a girth, 1° of a slope), so only the schema can give it.
    pub attack_tolerance: Option<f64>,
    /// What the column measures, for the release metadata.
    pub description: Option<String>,
    /// ARX-format hierarchy file (`;`-separated, no header; relative to the schema file) for
    /// generalizing a quasi-identifier.
    pub hierarchy: Option<String>,
    /// Interval widths for generalizing a numeric quasi-identifier, finest first.
    pub widths: Option<Vec<f64>>,
    /// Values below this are published as this (bottom coding), before anonymization.
    pub bottom_code: Option<f64>,
    /// Values above this are published as this (top coding), before anonymization.
    pub top_code: Option<f64>,
    /// For the `consent` column: the lowest value that consents (default 1).
    pub consent_min: Option<i64>,
    /// For the `status` column: the values of an account whose rows may be published.
    pub status_allowed: Option<Vec<StatusValue>>,
    /// For a text `stratum` column: its strata, by value. Public, so that a stratum's name never
    /// reveals a value that only the data hold (a region with one person in it).
    pub categories: Option<Vec<String>>,
    /// For a numeric `stratum` column: the inner edges of its bands (`[30, 45]`: below 30,
    /// 30 to under 45, 45 and over), strictly increasing. Public, like `categories`.
    pub bands: Option<Vec<f64>>,
}

/// The stratum of a value that is missing, unreadable, not among the `categories`, or that a
/// person's rows disagree on.
pub const OTHER_STRATUM: &str = "other or not stated";

impl ColumnSpec {
    /// Whether the column holds numbers (`number` or `integer`).
    pub fn is_numeric(&self) -> bool {
        self.value_type != ColumnType::String
    }

    /// A `stratum` column's strata, `column = label` each, the last [`OTHER_STRATUM`];
    /// empty for any other column.
    pub fn stratum_labels(&self) -> Vec<String> {
        let name = &self.name;
        let mut labels: Vec<String> = match (&self.categories, &self.bands) {
            (Some(categories), _) => categories.iter().map(|c| format!("{name} = {c}")).collect(),
            (None, Some(edges)) if !edges.is_empty() => {
                let mut labels = vec![format!("{name} < {}", edges[0])];
                labels.extend(
                    edges
                        .windows(2)
                        .map(|w| format!("{name} {}–{}", w[0], w[1])),
                );
                labels.push(format!("{name} ≥ {}", edges[edges.len() - 1]));
                labels
            }
            _ => return Vec::new(),
        };
        labels.push(format!("{name}: {OTHER_STRATUM}"));
        labels
    }

    /// The index in [`ColumnSpec::stratum_labels`] of a cell's text: its category or band, else
    /// the last ([`OTHER_STRATUM`]).
    pub fn stratum_of(&self, cell: &str) -> usize {
        let cell = cell.trim();
        match (&self.categories, &self.bands) {
            (Some(categories), _) => categories
                .iter()
                .position(|c| c == cell)
                .unwrap_or(categories.len()),
            (None, Some(edges)) => match cell.parse::<f64>() {
                Ok(value) if value.is_finite() => edges.iter().filter(|&&e| value >= e).count(),
                _ => edges.len() + 1,
            },
            (None, None) => 0,
        }
    }
}

/// A whole dataset schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSchema {
    /// The dataset's name, recorded in every report.
    pub name: String,
    /// A title for people.
    pub title: Option<String>,
    /// What the dataset holds.
    pub description: Option<String>,
    /// Field delimiter of CSV inputs described by this schema (default `,`).
    pub delimiter: Option<char>,
    /// `"freesewing"`: the FreeSewing measurement columns of the embedded schema follow the
    /// declared ones, so a table of FreeSewing sets needs to declare only its other columns.
    pub include_measurements: Option<String>,
    /// `true` declares that no person has more than one row, for a table without a
    /// `person_key` column: k then counts rows, which equals people only under this declaration.
    /// Without either, a release refuses the table (k must count people, not rows).
    #[serde(default)]
    pub rows_are_people: bool,
    #[serde(rename = "column", default)]
    /// Every column of the input, in order (`[[column]]`).
    pub columns: Vec<ColumnSpec>,
    /// Directory that relative `hierarchy` paths are resolved against: the schema file's.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl DatasetSchema {
    /// Parses and validates schema text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let mut schema: DatasetSchema = toml::from_str(text).map_err(|e| {
            Error::bad_file(
                origin,
                toml_location(text, e.span()),
                e.message().to_string(),
            )
        })?;
        match schema.include_measurements.as_deref() {
            None => {}
            Some("freesewing") => schema.columns.extend(DatasetSchema::freesewing().columns),
            Some(_) => {
                return Err(Error::bad_file(
                    origin,
                    Some("field `include_measurements`".into()),
                    "the only measurements that can be included are \"freesewing\"",
                ))
            }
        }
        schema.validate(origin)?;
        schema.base_dir = origin
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Ok(schema)
    }

    /// Reads and validates a schema file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        Self::parse(&text, path)
    }

    /// The column with an eligibility `role` (at most one per role, checked when parsing).
    pub fn role_column(&self, role: Role) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.role == role)
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
        for role in [Role::PersonKey, Role::Consent, Role::Status, Role::LastSeen] {
            let mut with_role = self.columns.iter().filter(|c| c.role == role);
            if let (Some(_), Some(second)) = (with_role.next(), with_role.next()) {
                return fail(
                    &second.name,
                    format!(
                        "a second column with role \"{}\": at most one is allowed",
                        role.key()
                    ),
                );
            }
        }
        if self.rows_are_people {
            if let Some(key) = self.role_column(Role::PersonKey) {
                return fail(
                    &key.name,
                    "a `person_key` column says which rows share a person, and                      `rows_are_people = true` that none do: declare one or the other"
                        .into(),
                );
            }
        }
        let mut seen = HashSet::new();
        for column in &self.columns {
            if column.consent_min.is_some() && column.role != Role::Consent {
                return fail(&column.name, "`consent_min` needs role \"consent\"".into());
            }
            match (&column.status_allowed, column.role) {
                (Some(_), role) if role != Role::Status => {
                    return fail(
                        &column.name,
                        "`status_allowed` needs role \"status\"".into(),
                    )
                }
                (None, Role::Status) => {
                    return fail(
                        &column.name,
                        "a `status` column needs `status_allowed = [values]`".into(),
                    )
                }
                _ => {}
            }
            let stratum = match (column.role, column.is_numeric()) {
                (Role::Stratum, false) => {
                    column.categories.as_ref().is_some_and(|c| {
                        !c.is_empty() && c.iter().collect::<HashSet<_>>().len() == c.len()
                    }) && column.bands.is_none()
                }
                (Role::Stratum, true) => {
                    column.bands.as_ref().is_some_and(|b| {
                        !b.is_empty()
                            && b.iter().all(|e| e.is_finite())
                            && b.windows(2).all(|w| w[0] < w[1])
                    }) && column.categories.is_none()
                }
                _ => column.categories.is_none() && column.bands.is_none(),
            };
            if !stratum {
                return fail(
                    &column.name,
                    "a `stratum` column needs `categories = [distinct texts]` (type string) or \
                     `bands = [strictly increasing edges]` (a number type), and only a \
                     `stratum` column takes them"
                        .into(),
                );
            }
            if column.role.is_eligibility()
                && (column.hierarchy.is_some() || column.rounding.is_some())
            {
                return fail(
                    &column.name,
                    "eligibility and stratum columns (person_key, consent, status, last_seen, stratum) are never published: drop `hierarchy` and `rounding`".into(),
                );
            }
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
            if let (Some(range), true) = (column.plausible, column.is_numeric()) {
                // Released values are clamped to the range and then rounded: with bounds on the
                // rounding grid, a rounded value stays within the range the release declares.
                let step = column.rounding.unwrap_or(1.0);
                let off_grid = |bound: f64| ((bound / step).round() - bound / step).abs() > 1e-9;
                if range.iter().any(|&bound| off_grid(bound)) {
                    return fail(
                        &column.name,
                        format!(
                            "`plausible` bounds must be multiples of the rounding step ({step}{}), \
                             so that rounded values stay within them",
                            if column.rounding.is_some() { "" } else { ", the default" }
                        ),
                    );
                }
            }
            if let Some(floor) = column.attack_tolerance {
                if !(floor.is_finite() && floor >= 0.0) {
                    return fail(
                        &column.name,
                        "`attack_tolerance` must be a number of at least 0".into(),
                    );
                }
                if !(column.is_numeric() && column.role == Role::QuasiIdentifier) {
                    return fail(
                        &column.name,
                        "`attack_tolerance` needs a numeric quasi-identifier".into(),
                    );
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
            let generalizes = column.hierarchy.is_some() || column.widths.is_some();
            if generalizes && column.role != Role::QuasiIdentifier {
                return fail(
                    &column.name,
                    "only quasi-identifiers are generalized: `hierarchy` and `widths` need role \"quasi_identifier\"".into(),
                );
            }
            let recodes = column.rounding.is_some()
                || column.bottom_code.is_some()
                || column.top_code.is_some();
            if (column.widths.is_some() || recodes) && !column.is_numeric() {
                return fail(
                    &column.name,
                    "`widths`, `rounding`, `bottom_code` and `top_code` need type \"number\" or \"integer\"".into(),
                );
            }
            if recodes && column.hierarchy.is_some() {
                return fail(
                    &column.name,
                    "values generalized by a `hierarchy` file must stay as listed there: drop `rounding`, `bottom_code` and `top_code`".into(),
                );
            }
            for (key, code) in [
                ("bottom_code", column.bottom_code),
                ("top_code", column.top_code),
            ] {
                if code.is_some_and(|c| !c.is_finite()) {
                    return fail(&column.name, format!("`{key}` must be a finite number"));
                }
            }
            if let (Some(bottom), Some(top)) = (column.bottom_code, column.top_code) {
                if bottom >= top {
                    return fail(
                        &column.name,
                        "`bottom_code` must be below `top_code`".into(),
                    );
                }
            }
        }
        Ok(())
    }

    /// The hierarchy file of a column, resolved against the schema's directory.
    pub fn hierarchy_path(&self, column: &ColumnSpec) -> Option<PathBuf> {
        column
            .hierarchy
            .as_ref()
            .map(|file| self.base_dir.join(file))
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

    /// Checks a JSON value against the subset of JSON Schema that `dataset-schema.json` uses;
    /// returns the first violation as a path and a reason.
    fn violation(
        value: &serde_json::Value,
        rule: &serde_json::Value,
        root: &serde_json::Value,
        path: &str,
    ) -> Option<String> {
        use serde_json::Value;
        if let Some(reference) = rule.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/$defs/");
            return violation(value, &root["$defs"][name], root, path);
        }
        let fail = |reason: &str| Some(format!("{path}: {reason}"));
        if let Some(kind) = rule.get("type").and_then(Value::as_str) {
            let fits = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "number" => value.is_number(),
                "integer" => value.is_i64() || value.is_u64(),
                "boolean" => value.is_boolean(),
                other => panic!("unsupported type {other}"),
            };
            if !fits {
                return fail(&format!("not of type {kind}"));
            }
        }
        if let Some(options) = rule.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                return fail("not one of the allowed values");
            }
        }
        if let (Some(text), Some(min)) = (
            value.as_str(),
            rule.get("minLength").and_then(Value::as_u64),
        ) {
            if (text.chars().count() as u64) < min {
                return fail("too short");
            }
        }
        if let (Some(text), Some(max)) = (
            value.as_str(),
            rule.get("maxLength").and_then(Value::as_u64),
        ) {
            if text.chars().count() as u64 > max {
                return fail("too long");
            }
        }
        if let (Some(number), Some(bound)) = (
            value.as_f64(),
            rule.get("exclusiveMinimum").and_then(Value::as_f64),
        ) {
            if number <= bound {
                return fail("too small");
            }
        }
        if let Some(items) = value.as_array() {
            let count = items.len() as u64;
            if rule
                .get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|min| count < min)
                || rule
                    .get("maxItems")
                    .and_then(Value::as_u64)
                    .is_some_and(|max| count > max)
            {
                return fail("wrong number of items");
            }
            if let Some(item_rule) = rule.get("items") {
                for (index, item) in items.iter().enumerate() {
                    if let Some(found) =
                        violation(item, item_rule, root, &format!("{path}[{index}]"))
                    {
                        return Some(found);
                    }
                }
            }
        }
        if let Some(object) = value.as_object() {
            let properties = rule.get("properties").and_then(Value::as_object);
            for required in rule
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !object.contains_key(required.as_str().unwrap()) {
                    return fail(&format!("missing {required}"));
                }
            }
            for (key, item) in object {
                match properties.and_then(|p| p.get(key)) {
                    Some(item_rule) => {
                        if let Some(found) =
                            violation(item, item_rule, root, &format!("{path}.{key}"))
                        {
                            return Some(found);
                        }
                    }
                    None if rule.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        return fail(&format!("unknown key {key}"));
                    }
                    None => {}
                }
            }
        }
        None
    }

    fn json_schema() -> serde_json::Value {
        serde_json::from_str(include_str!("../schemas/dataset-schema.json")).unwrap()
    }

    #[test]
    fn shipped_schemas_are_valid_for_anonpub_and_the_json_schema() {
        let root = json_schema();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                DatasetSchema::load(&path).unwrap();
                let value: serde_json::Value =
                    toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                assert_eq!(
                    violation(&value, &root, &root, "$"),
                    None,
                    "{}",
                    path.display()
                );
                checked += 1;
            }
        }
        assert!(checked >= 3);
    }

    #[test]
    fn rows_are_people_and_a_person_key_exclude_each_other() {
        let keyed =
            "name = \"x\"\n[[column]]\nname = \"who\"\nrole = \"person_key\"\ntype = \"string\"\n";
        assert!(
            !DatasetSchema::parse(keyed, Path::new("k.toml"))
                .unwrap()
                .rows_are_people
        );
        let both = format!("rows_are_people = true\n{keyed}");
        let error = DatasetSchema::parse(&both, Path::new("k.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("column `who`") && error.contains("rows_are_people"),
            "{error}"
        );
    }

    #[test]
    fn json_schema_lists_exactly_the_keys_anonpub_accepts() {
        // Two columns that together use every key a column may have.
        let text = "name = \"x\"\ntitle = \"X\"\ndescription = \"d\"\ndelimiter = \";\"\n\
            include_measurements = \"freesewing\"\nrows_are_people = true\n\
            [[column]]\nname = \"a\"\naliases = [\"b\"]\nrole = \"quasi_identifier\"\ntype = \"string\"\n\
            unit = \"u\"\ngroup = \"g\"\nbreasts_only = false\ndescription = \"d\"\nhierarchy = \"h.csv\"\n\
            [[column]]\nname = \"c\"\nrole = \"quasi_identifier\"\ntype = \"number\"\nplausible = [1, 2]\n\
            rounding = 0.5\nwidths = [1, 2]\nbottom_code = 1\ntop_code = 2\nattack_tolerance = 3\n\
            [[column]]\nname = \"who\"\nrole = \"consent\"\ntype = \"integer\"\nconsent_min = 3\n\
            [[column]]\nname = \"state\"\nrole = \"status\"\ntype = \"string\"\nstatus_allowed = [1, \"on\"]\n\
            [[column]]\nname = \"sex\"\nrole = \"stratum\"\ntype = \"string\"\ncategories = [\"f\", \"m\"]\n\
            [[column]]\nname = \"age\"\nrole = \"stratum\"\ntype = \"integer\"\nbands = [30, 45]\n";
        DatasetSchema::parse(text, Path::new("all.toml")).unwrap();
        let root = json_schema();
        let value: serde_json::Value = toml::from_str(text).unwrap();
        assert_eq!(violation(&value, &root, &root, "$"), None);
        let keys = |object: &serde_json::Value| -> HashSet<String> {
            object.as_object().unwrap().keys().cloned().collect()
        };
        let columns = value["column"].as_array().unwrap();
        let used: HashSet<String> = columns.iter().flat_map(&keys).collect();
        assert_eq!(used, keys(&root["$defs"]["column"]["properties"]));
        assert_eq!(keys(&value), keys(&root["properties"]));

        let unknown: serde_json::Value =
            toml::from_str("name = \"x\"\n[[column]]\nname = \"a\"\nrole = \"sensitive\"\ntype = \"string\"\ncolour = 1\n").unwrap();
        assert!(violation(&unknown, &root, &root, "$")
            .unwrap()
            .contains("colour"));
    }

    #[test]
    fn eligibility_roles_are_checked() {
        let parse = |columns: &str| {
            DatasetSchema::parse(&format!("name = \"x\"\n{columns}"), Path::new("s.toml"))
                .map_err(|e| e.to_string())
        };
        let key = "[[column]]\nname = \"p\"\nrole = \"person_key\"\ntype = \"string\"\n";
        let twice = parse(&format!("{key}{}", key.replace("\"p\"", "\"q\""))).unwrap_err();
        assert!(
            twice.contains("second column with role \"person_key\""),
            "{twice}"
        );
        let status = parse("[[column]]\nname = \"s\"\nrole = \"status\"\ntype = \"string\"\n");
        assert!(status.unwrap_err().contains("status_allowed"));
        let misplaced = parse(&format!("{key}consent_min = 2\n")).unwrap_err();
        assert!(
            misplaced.contains("`consent_min` needs role"),
            "{misplaced}"
        );
        let included = parse("include_measurements = \"freesewing\"\n").unwrap();
        assert_eq!(
            included.columns.len(),
            DatasetSchema::freesewing().columns.len()
        );
        assert!(parse("include_measurements = \"adult\"\n").is_err());
        assert!(Role::PersonKey.is_eligibility() && !Role::Sensitive.is_eligibility());
    }

    #[test]
    fn stratum_columns_need_public_categories_or_bands() {
        let column = |kind: &str, extra: &str| {
            let text = format!(
                "name = \"x\"\n[[column]]\nname = \"s\"\nrole = \"stratum\"\ntype = \"{kind}\"\n{extra}"
            );
            DatasetSchema::parse(&text, Path::new("s.toml")).map(|s| s.columns[0].clone())
        };
        for (kind, extra) in [
            ("string", ""),
            ("string", "categories = []\n"),
            ("string", "categories = [\"f\", \"f\"]\n"),
            ("string", "bands = [1]\n"),
            ("integer", ""),
            ("integer", "bands = [45, 30]\n"),
            ("number", "categories = [\"a\"]\n"),
        ] {
            let refused = column(kind, extra).unwrap_err().to_string();
            assert!(
                refused.contains("a `stratum` column needs"),
                "{kind} {extra}: {refused}"
            );
        }
        let text = "name = \"x\"\n[[column]]\nname = \"a\"\nrole = \"sensitive\"\ntype = \"string\"\ncategories = [\"b\"]\n";
        assert!(DatasetSchema::parse(text, Path::new("s.toml")).is_err());

        let sex = column("string", "categories = [\"f\", \"m\"]\n").unwrap();
        assert_eq!(
            sex.stratum_labels(),
            ["s = f", "s = m", "s: other or not stated"]
        );
        assert_eq!(
            [" m ", "f", "x", ""].map(|cell| sex.stratum_of(cell)),
            [1, 0, 2, 2]
        );
        let age = column("integer", "bands = [30, 45]\n").unwrap();
        assert_eq!(
            age.stratum_labels(),
            ["s < 30", "s 30–45", "s ≥ 45", "s: other or not stated"]
        );
        assert_eq!(
            ["29", "30", "44.9", "45", "", "n/a", "NaN"].map(|cell| age.stratum_of(cell)),
            [0, 1, 1, 2, 3, 3, 3]
        );
        assert!(Role::Stratum.is_eligibility());
    }

    #[test]
    fn generalization_and_recoding_keys_are_checked_against_role_and_type() {
        let column = |extra: &str| {
            format!("name = \"x\"\n[[column]]\nname = \"a\"\nrole = \"quasi_identifier\"\ntype = \"string\"\n{extra}")
        };
        for (extra, expected) in [
            ("widths = [5]\n", "need type"),
            ("rounding = 1\n", "need type"),
            ("hierarchy = \"h.csv\"\nrole2 = 1\n", "role2"),
        ] {
            let err = DatasetSchema::parse(&column(extra), Path::new("s.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
        }
        let sensitive = "name = \"x\"\n[[column]]\nname = \"a\"\nrole = \"sensitive\"\ntype = \"number\"\nwidths = [5]\n";
        let err = DatasetSchema::parse(sensitive, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("only quasi-identifiers"), "{err}");
        let codes = "name = \"x\"\n[[column]]\nname = \"a\"\nrole = \"quasi_identifier\"\ntype = \"number\"\nbottom_code = 5\ntop_code = 1\n";
        let err = DatasetSchema::parse(codes, Path::new("s.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("below"), "{err}");
        let listed = "name = \"x\"\n[[column]]\nname = \"a\"\nrole = \"quasi_identifier\"\ntype = \"integer\"\nhierarchy = \"h.csv\"\ntop_code = 1\n";
        let err = DatasetSchema::parse(listed, Path::new("dir/s.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("hierarchy"), "{err}");
        let schema =
            DatasetSchema::parse(&column("hierarchy = \"h.csv\"\n"), Path::new("dir/s.toml"))
                .unwrap();
        assert_eq!(
            schema.hierarchy_path(&schema.columns[0]),
            Some(Path::new("dir/h.csv").to_path_buf())
        );
    }

    #[test]
    fn plausible_bounds_lie_on_the_rounding_grid() {
        let column = |extra: &str| {
            format!("name = \"x\"\n[[column]]\nname = \"a\"\nrole = \"quasi_identifier\"\ntype = \"number\"\n{extra}")
        };
        let parse = |extra: &str| DatasetSchema::parse(&column(extra), Path::new("s.toml"));
        assert!(parse("plausible = [1.4, 2.5]\nrounding = 0.1\n").is_ok());
        let err = parse("plausible = [1.45, 2.5]\nrounding = 0.1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("multiples of the rounding step (0.1)"),
            "{err}"
        );
        let err = parse("plausible = [1.5, 3]\n").unwrap_err().to_string();
        assert!(err.contains("(1, the default)"), "{err}");
        let err = parse("plausible = [0, 3]\nattack_tolerance = -1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("attack_tolerance"), "{err}");
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
