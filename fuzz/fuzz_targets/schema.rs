//! `DatasetSchema::parse` on arbitrary text, and the catalogue built from what it accepts.
//!
//! Refusing is fine, panicking is not; an accepted schema has columns with unique names, ordered
//! plausible ranges and positive rounding steps, which the catalogue carries over.

#![no_main]

use std::collections::HashSet;
use std::path::Path;

use anonpub_fuzz::measurements::Catalog;
use anonpub_fuzz::schema::DatasetSchema;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match DatasetSchema::parse(text, Path::new("fuzz.toml")) {
        Ok(schema) => {
            assert!(!schema.columns.is_empty());
            let mut names = HashSet::new();
            for (index, column) in schema.columns.iter().enumerate() {
                for name in std::iter::once(&column.name).chain(&column.aliases) {
                    assert!(names.insert(name.as_str()), "name declared twice");
                    assert_eq!(schema.position(name), Some(index));
                }
            }
            let catalog = Catalog::from_schema(&schema);
            for index in 0..catalog.len() {
                let [low, high] = catalog.plausible(index);
                assert!(low < high);
                assert!(catalog.rounding(index) > 0.0);
                assert_eq!(catalog.index_of(&catalog.names()[index]), Some(index));
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
