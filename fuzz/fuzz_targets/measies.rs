//! `parse_measies` on arbitrary decrypted text.
//!
//! It may refuse the input, never panic; an accepted set is a JSON object with one finite value or
//! NaN (missing) per catalogue entry; an error names at most a catalogue measurement, never text
//! of the input. (Values under unknown names are skipped unread, as the backend drops them: the
//! parser does not check that they are valid numbers or UTF-8; `decrypt` checks UTF-8 first.)

#![no_main]

use std::sync::OnceLock;

use anonpub_fuzz::measurements::{parse_measies, Catalog, MeasiesError};
use libfuzzer_sys::fuzz_target;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::freesewing)
}

fuzz_target!(|data: &[u8]| {
    let catalog = catalog();
    match parse_measies(data, catalog) {
        Ok(measies) => {
            assert_eq!(measies.values.len(), catalog.len());
            assert!(measies.values.iter().all(|v| !v.is_infinite()));
            assert_eq!(data.trim_ascii_start().first(), Some(&b'{'));
        }
        Err(MeasiesError::NotANumber(name)) => {
            assert!(
                catalog.index_of(&name).is_some(),
                "error text is not a catalogue name"
            );
        }
        Err(MeasiesError::NotAnObject) => {}
    }
});
