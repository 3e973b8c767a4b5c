//! `FieldKey::decrypt` on arbitrary stored values, and encrypt → decrypt round trips.
//!
//! Input starting with byte 0: the next 16 bytes are an IV and the rest a plaintext, which must
//! come back unchanged (or be refused as not UTF-8 when it is not). Any other input is taken as
//! a stored column value: it may be refused, never panic, and what it decrypts to is UTF-8.

#![no_main]

use std::sync::OnceLock;

use anonpub_fuzz::crypto::{DecryptError, FieldKey};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static FieldKey {
    static KEY: OnceLock<FieldKey> = OnceLock::new();
    KEY.get_or_init(|| FieldKey::derive(b"anonpub-fuzz"))
}

fuzz_target!(|data: &[u8]| {
    let key = key();
    match data.split_first() {
        Some((0, rest)) if rest.len() >= 16 => {
            let (iv, plaintext) = rest.split_at(16);
            let iv: [u8; 16] = iv.try_into().expect("16 bytes");
            let stored = key.encrypt(plaintext, iv);
            match key.decrypt(stored.as_bytes()) {
                Ok(back) => assert_eq!(back.as_slice(), plaintext),
                Err(error) => {
                    assert_eq!(error, DecryptError::NotJson);
                    assert!(std::str::from_utf8(plaintext).is_err());
                }
            }
        }
        _ => match key.decrypt(data) {
            Ok(plaintext) => assert!(std::str::from_utf8(&plaintext).is_ok()),
            Err(error) => {
                let _ = error.to_string();
                let _ = error.suggests_wrong_key();
            }
        },
    }
});
