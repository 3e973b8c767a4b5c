//! `Hierarchy::from_csv_reader` (ARX-format hierarchy files) on arbitrary bytes.
//!
//! The first byte picks the delimiter (`;`, `,` or tab), the rest is the file. Refusing is fine,
//! panicking is not; an accepted hierarchy is complete and nested: every original value has a
//! code on every level, a level's code decides the next level's, every original value encodes to
//! its own code, and each level's extents add up to the whole domain.

#![no_main]

use std::collections::HashMap;

use anonpub_fuzz::hierarchy::Hierarchy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let delimiter = [b';', b',', b'\t'][usize::from(selector % 3)];
    let hierarchy = match Hierarchy::from_csv_reader(file, "fuzz.csv", delimiter) {
        Ok(hierarchy) => hierarchy,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let base = hierarchy.base_count();
    assert!(base >= 1 && hierarchy.levels() >= 1);
    for level in 0..hierarchy.levels() {
        let map = hierarchy.level_map(level);
        assert_eq!(map.len(), base);
        assert!(map
            .iter()
            .all(|&code| (code as usize) < hierarchy.code_count(level)));
        let total: f64 = (0..hierarchy.code_count(level))
            .map(|code| hierarchy.extent(level, code as u32))
            .sum();
        assert_eq!(total, hierarchy.domain_extent());
        if level + 1 < hierarchy.levels() {
            let above = hierarchy.level_map(level + 1);
            let mut parent = HashMap::new();
            for (code, up) in map.iter().zip(above) {
                assert_eq!(*parent.entry(code).or_insert(up), up, "levels do not nest");
            }
        }
    }
    let originals: Vec<&str> = (0..base)
        .map(|code| hierarchy.label(0, code as u32))
        .collect();
    let codes = hierarchy
        .encode_column("original", &originals)
        .expect("every original value is in its hierarchy");
    assert!(codes.iter().enumerate().all(|(i, &c)| c as usize == i));
});
