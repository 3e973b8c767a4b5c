//! `ReleaseConfig::parse` (the `--config` TOML) on arbitrary text.
//!
//! Refusing is fine, panicking is not; an accepted config passes its own range checks.

#![no_main]

use std::path::Path;

use anonpub_fuzz::config::ReleaseConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ReleaseConfig::parse(text, Path::new("fuzz/release.toml")) {
        Ok(config) => {
            assert!(config.validate().is_ok());
            assert!(config.k >= 2 && config.mdav_exact_limit >= 1);
            if let Some(share) = config.thresholds.max_suppressed_share {
                assert!((0.0..=1.0).contains(&share));
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
