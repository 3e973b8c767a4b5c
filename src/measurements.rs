//! The measurement catalogue (names, plausible ranges, rounding) and the `measies` parser.
//!
//! The catalogue is built from a dataset schema (by default `schemas/freesewing.toml`) so that the
//! list of publishable columns lives in one reviewed file. Parsing goes straight from the decrypted
//! JSON text into a fixed row of `f64` (NaN = not measured) without building a JSON tree, because
//! it runs once per measurements set.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::fast_hash::FastMap;
use crate::schema::{ColumnType, DatasetSchema, Role};

/// A value that was not measured.
pub const MISSING: f64 = f64::NAN;

/// The publishable measurements, in schema order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    names: Vec<String>,
    units: Vec<String>,
    /// Name or alias → index; looked up for every entry of every set, hence the fast hasher.
    lookup: FastMap<String, usize>,
    plausible: Vec<[f64; 2]>,
    rounding: Vec<f64>,
    attack_tolerance: Vec<f64>,
    breasts_only: Vec<bool>,
}

/// One publishable measurement as a release declares it (`datapackage.json`), for building a
/// [`Catalog`] without a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredColumn {
    /// The column's name.
    pub name: String,
    /// Its unit (empty when none is given).
    pub unit: String,
    /// Its plausible range (unbounded sides as infinities).
    pub plausible: [f64; 2],
    /// Its rounding step.
    pub rounding: f64,
}

impl Catalog {
    /// Builds the catalogue from the numeric quasi-identifier columns of a schema.
    pub fn from_schema(schema: &DatasetSchema) -> Self {
        let mut catalog = Catalog::default();
        let numeric = schema
            .columns
            .iter()
            .filter(|c| c.role == Role::QuasiIdentifier && c.value_type != ColumnType::String);
        for column in numeric {
            let index = catalog.names.len();
            for name in std::iter::once(&column.name).chain(&column.aliases) {
                catalog.lookup.insert(name.clone(), index);
            }
            catalog.names.push(column.name.clone());
            catalog.units.push(column.unit.clone().unwrap_or_default());
            catalog.plausible.push(
                column
                    .plausible
                    .unwrap_or([f64::NEG_INFINITY, f64::INFINITY]),
            );
            let rounding = column.rounding.unwrap_or(1.0);
            catalog.rounding.push(rounding);
            catalog
                .attack_tolerance
                .push(column.attack_tolerance.unwrap_or(rounding));
            catalog.breasts_only.push(column.breasts_only);
        }
        catalog
    }

    /// The catalogue a release declares (its `datapackage.json`), so that `verify` checks a
    /// release of any schema against what the release itself says it holds. Such a catalogue
    /// knows no attack tolerance and no breasts-only flag; `verify` needs neither.
    pub fn from_declared(columns: Vec<DeclaredColumn>) -> Self {
        let mut catalog = Catalog::default();
        for (index, column) in columns.into_iter().enumerate() {
            catalog.lookup.insert(column.name.clone(), index);
            catalog.names.push(column.name);
            catalog.units.push(column.unit);
            catalog.plausible.push(column.plausible);
            catalog.rounding.push(column.rounding);
            catalog.attack_tolerance.push(column.rounding);
            catalog.breasts_only.push(false);
        }
        catalog
    }

    /// Whether every measurement is a FreeSewing body measurement (the embedded schema's, or a
    /// subset of them): only then do the datasheet and metadata speak of FreeSewing, its users
    /// and their bodies. Any other catalogue is described from its schema alone.
    pub fn is_freesewing(&self) -> bool {
        static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let freesewing = NAMES.get_or_init(|| Catalog::freesewing().names);
        !self.is_empty() && self.names.iter().all(|name| freesewing.contains(name))
    }

    /// The FreeSewing catalogue from the embedded schema.
    pub fn freesewing() -> Self {
        Self::from_schema(&DatasetSchema::freesewing())
    }

    /// The number of publishable measurements.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the schema has no publishable measurement.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The measurements' schema names, in catalogue order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The unit of a measurement (`mm`, `deg`; empty when the schema gives none).
    pub fn unit(&self, index: usize) -> &str {
        &self.units[index]
    }

    /// Index of a measurement by its name or alias.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.lookup.get(name).copied()
    }

    /// The closed range `[low, high]` of plausible values: selection drops a set with a value
    /// outside it, and the DP size chart clamps to it (public bounds). Without a schema range,
    /// any finite number (the schema alone says what is implausible for its column; the DP
    /// chart refuses such a column, having no public bound to clamp to).
    pub fn plausible(&self, index: usize) -> [f64; 2] {
        self.plausible[index]
    }

    /// The rounding step of published values (1 mm, 0.5°).
    pub fn rounding(&self, index: usize) -> f64 {
        self.rounding[index]
    }

    /// The absolute floor, in the column's unit, within which a simulated attacker's estimate
    /// counts as rebuilt (beside a relative share): the schema's `attack_tolerance`, else the
    /// rounding step.
    pub fn attack_tolerance(&self, index: usize) -> f64 {
        self.attack_tolerance[index]
    }

    /// Whether only people with breasts have this measurement, so that its mere presence is
    /// informative.
    pub fn breasts_only(&self, index: usize) -> bool {
        self.breasts_only[index]
    }
}

/// One parsed measurements set.
#[derive(Debug, Clone, PartialEq)]
pub struct Measies {
    /// One value per catalogue entry; [`MISSING`] where the set has none.
    pub values: Vec<f64>,
    /// Entries whose name is not in the catalogue (dropped, as the backend does).
    pub unknown_names: u32,
}

/// Why a decrypted `measies` value is unusable. Never carries a value or an unknown key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeasiesError {
    /// The text is not one JSON object.
    #[error("measies is not a JSON object of measurement name → number")]
    NotAnObject,
    /// A catalogue measurement holds something other than a number; carries its catalogue name,
    /// never the value.
    #[error("measurement `{0}` is not a number")]
    NotANumber(String),
}

/// Parses decrypted `measies` JSON text against the catalogue.
pub fn parse_measies(json: &[u8], catalog: &Catalog) -> Result<Measies, MeasiesError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let parsed = MeasiesSeed(catalog)
        .deserialize(&mut deserializer)
        .map_err(|e| {
            let text = e.to_string();
            match text.strip_prefix(NOT_A_NUMBER) {
                Some(name) => MeasiesError::NotANumber(
                    name.split(" at line").next().unwrap_or(name).to_string(),
                ),
                None => MeasiesError::NotAnObject,
            }
        })?;
    deserializer.end().map_err(|_| MeasiesError::NotAnObject)?;
    Ok(parsed)
}

/// Marker prefix for the serde custom error that names a known measurement.
const NOT_A_NUMBER: &str = "anonpub:not-a-number:";

struct MeasiesSeed<'a>(&'a Catalog);

impl<'de> DeserializeSeed<'de> for MeasiesSeed<'_> {
    type Value = Measies;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Measies, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MeasiesSeed<'_> {
    type Value = Measies;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of measurement name to number")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Measies, A::Error> {
        let catalog = self.0;
        let mut measies = Measies {
            values: vec![MISSING; catalog.len()],
            unknown_names: 0,
        };
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match catalog.index_of(&name) {
                Some(index) => {
                    let value: Value = map.next_value().map_err(|_| {
                        serde::de::Error::custom(format!("{NOT_A_NUMBER}{}", catalog.names[index]))
                    })?;
                    measies.values[index] = value.0;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                    measies.unknown_names += 1;
                }
            }
        }
        Ok(measies)
    }
}

/// One measurement's value as stored: a JSON number, or a string holding nothing but a plain
/// decimal number (`"930"`, `"927.5"`), as forms and spreadsheets send numbers. The number in
/// such a string is the same number in the same unit, so nothing is guessed; a string with
/// anything else in it (`"92 cm"`, `"9,5"`, `"NaN"`, `"0x3a"`) is not a number, nor is `null`
/// (a hand edit; see `sample::messy`), and the set is malformed.
struct Value(f64);

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl Visitor<'_> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, or a string holding a plain decimal number")
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value(v as f64))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value(v as f64))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        plain_decimal(v)
            .map(Value)
            .ok_or_else(|| E::custom("not a plain decimal number"))
    }
}

/// The value of a string that is a plain decimal number: optional surrounding blanks, an optional
/// minus sign, digits with an optional `.` fraction and an optional exponent, finite. Rust's own
/// float parser alone would also take `inf`, `NaN` and `+5`.
fn plain_decimal(text: &str) -> Option<f64> {
    let text = text.trim_matches(|c| c == ' ' || c == '\t');
    let bytes = text.as_bytes();
    let mut at = usize::from(bytes.first() == Some(&b'-'));
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let whole = digits(at);
    at += whole;
    let mut fraction = 0;
    if bytes.get(at) == Some(&b'.') {
        fraction = digits(at + 1);
        at += 1 + fraction;
    }
    if whole == 0 && fraction == 0 {
        return None;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return None;
        }
        at += exponent;
    }
    if at != bytes.len() {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_alias_and_unknown_names() {
        let catalog = Catalog::freesewing();
        let m = parse_measies(
            br#"{"chest":1000,"waistToArmpit":200.5,"favouriteColour":"red"}"#,
            &catalog,
        )
        .unwrap();
        assert_eq!(m.values[catalog.index_of("chest").unwrap()], 1000.0);
        assert_eq!(m.values[catalog.index_of("waistToArmhole").unwrap()], 200.5);
        assert_eq!(m.unknown_names, 1);
        assert_eq!(m.values.iter().filter(|v| !v.is_nan()).count(), 2);
    }

    #[test]
    fn rejects_non_objects_and_non_numbers_without_echoing_values() {
        let catalog = Catalog::freesewing();
        assert_eq!(
            parse_measies(b"[1,2]", &catalog),
            Err(MeasiesError::NotAnObject)
        );
        assert_eq!(
            parse_measies(b"\"x\"", &catalog),
            Err(MeasiesError::NotAnObject)
        );
        assert_eq!(
            parse_measies(b"{\"chest\":1} trailing", &catalog),
            Err(MeasiesError::NotAnObject)
        );
        assert_eq!(
            parse_measies(br#"{"chest":"secret-value"}"#, &catalog),
            Err(MeasiesError::NotANumber("chest".into()))
        );
        for junk in [
            r#""92 cm""#,
            r#""9,5""#,
            r#""NaN""#,
            r#""inf""#,
            r#""+5""#,
            r#""""#,
            r#""1e""#,
            r#""1e999""#,
            "true",
            "[930]",
            "{}",
        ] {
            let json = format!(r#"{{"chest":{junk}}}"#);
            assert_eq!(
                parse_measies(json.as_bytes(), &catalog),
                Err(MeasiesError::NotANumber("chest".into())),
                "{junk}"
            );
        }
        assert_eq!(
            parse_measies(br#"{"chest":NaN}"#, &catalog),
            Err(MeasiesError::NotANumber("chest".into()))
        );
    }

    #[test]
    fn plain_decimal_strings_are_numbers() {
        let catalog = Catalog::freesewing();
        let (chest, waist) = (
            catalog.index_of("chest").unwrap(),
            catalog.index_of("waist").unwrap(),
        );
        let m = parse_measies(
            br#"{"chest":"930","waist":" 780.5 ","hips":"-1.5e2"}"#,
            &catalog,
        )
        .unwrap();
        assert_eq!(m.values[chest], 930.0);
        assert_eq!(m.values[waist], 780.5);
        assert_eq!(m.values[catalog.index_of("hips").unwrap()], -150.0);
        assert_eq!(m.values.iter().filter(|v| !v.is_nan()).count(), 3);
        assert_eq!(
            parse_measies(br#"{"chest":null}"#, &catalog),
            Err(MeasiesError::NotANumber("chest".into()))
        );
    }
}
