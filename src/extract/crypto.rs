//! FreeSewing v3's encryption at rest (`sites/backend/src/utils/crypto.mjs`), both directions.
//!
//! Key: scrypt(API_ENC_KEY, salt "FreeSewing", N = 16384, r = 8, p = 1) → 32 bytes.
//! Cipher: AES-256-CBC with PKCS#7 padding and a fresh 16-byte IV per value. Plaintext: the JSON
//! text of the value. Stored form: `{"iv":"<hex>","ct":"<hex>"}`.
//!
//! The derived key lives in a [`Zeroizing`] buffer so it is wiped when dropped, and it has no
//! `Debug` or `Display` so it cannot end up in a log line.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use zeroize::Zeroizing;

type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;
type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;

/// The scrypt salt FreeSewing uses for its field key.
const SALT: &[u8] = b"FreeSewing";

/// Why one stored value could not be decrypted. Carries no part of the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// The stored text is not the `{"iv", "ct"}` envelope (e.g. left unencrypted).
    #[error("not an encrypted value: expected JSON {{\"iv\": hex, \"ct\": hex}}")]
    NotAnEnvelope,
    /// `iv` or `ct` holds a character that is not hex.
    #[error("`iv` or `ct` is not valid hex")]
    BadHex,
    /// The IV is not one AES block long.
    #[error("IV is {0} bytes, expected 16")]
    IvLength(usize),
    /// The ciphertext is not a whole number of AES blocks.
    #[error("ciphertext length is not a positive multiple of 16 bytes")]
    CiphertextLength,
    /// PKCS#7 padding is wrong after decryption: what a wrong key nearly always gives.
    #[error("bad padding after decryption (wrong key, or corrupted value)")]
    Padding,
    /// The plaintext is not UTF-8 JSON: the rest of what a wrong key gives.
    #[error("decrypted bytes are not UTF-8 JSON (wrong key, or corrupted value)")]
    NotJson,
}

impl DecryptError {
    /// Whether this failure is what a wrong key typically produces (as opposed to a malformed
    /// stored value, which no key could open).
    pub fn suggests_wrong_key(&self) -> bool {
        matches!(self, DecryptError::Padding | DecryptError::NotJson)
    }
}

/// The AES-256 key derived from `API_ENC_KEY`.
pub struct FieldKey(Zeroizing<[u8; 32]>);

impl FieldKey {
    /// Derives the key from the secret exactly as the FreeSewing backend does.
    pub fn derive(secret: &[u8]) -> Self {
        let params =
            scrypt::Params::new(14, 8, 1, 32).expect("FreeSewing's scrypt parameters are valid");
        let mut key = Zeroizing::new([0u8; 32]);
        scrypt::scrypt(secret, SALT, &params, key.as_mut())
            .expect("32 bytes is a valid scrypt output length");
        FieldKey(key)
    }

    /// Decrypts a stored value and returns its plaintext JSON bytes (checked to be UTF-8).
    pub fn decrypt(&self, stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        #[derive(Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            iv: &'a str,
            #[serde(borrow)]
            ct: &'a str,
        }
        let envelope: Envelope =
            serde_json::from_slice(stored).map_err(|_| DecryptError::NotAnEnvelope)?;
        if envelope.iv.len() != 32 {
            return Err(DecryptError::IvLength(envelope.iv.len() / 2));
        }
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&decode_hex(envelope.iv).ok_or(DecryptError::BadHex)?);
        let mut buffer = Zeroizing::new(decode_hex(envelope.ct).ok_or(DecryptError::BadHex)?);
        if buffer.is_empty() || buffer.len() % 16 != 0 {
            return Err(DecryptError::CiphertextLength);
        }
        let plain_len = Aes256CbcDec::new(self.0.as_ref().into(), &iv.into())
            .decrypt_padded_mut::<Pkcs7>(&mut buffer)
            .map_err(|_| DecryptError::Padding)?
            .len();
        buffer.truncate(plain_len);
        if std::str::from_utf8(&buffer).is_err() {
            return Err(DecryptError::NotJson);
        }
        Ok(buffer)
    }

    /// A key for another purpose, derived as HMAC-SHA256(field key, `label`). A distinct label per
    /// purpose keeps the keys independent: what one is used for (for example a published keyed
    /// hash) tells nothing about the field key or about keys under other labels.
    pub fn subkey(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.0.as_ref())
            .expect("HMAC takes keys of any length");
        mac.update(label.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    /// Encrypts plaintext JSON bytes with the given IV into the stored envelope form.
    pub fn encrypt(&self, plaintext_json: &[u8], iv: [u8; 16]) -> String {
        let ciphertext = Aes256CbcEnc::new(self.0.as_ref().into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext_json);
        let mut stored = String::with_capacity(18 + 2 * (iv.len() + ciphertext.len()));
        stored.push_str("{\"iv\":\"");
        encode_hex_into(&iv, &mut stored);
        stored.push_str("\",\"ct\":\"");
        encode_hex_into(&ciphertext, &mut stored);
        stored.push_str("\"}");
        stored
    }
}

/// Value of each ASCII hex digit (either case); 0xFF marks a non-digit.
const HEX_VALUES: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decodes hex text with a lookup table: the `hex` crate's iterator-based decoder was a fifth of
/// the whole publish run at 100k users.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        let (high, low) = (HEX_VALUES[pair[0] as usize], HEX_VALUES[pair[1] as usize]);
        if (high | low) == 0xFF {
            return None;
        }
        out.push(high << 4 | low);
    }
    Some(out)
}

/// Appends lowercase hex, as the backend writes it.
fn encode_hex_into(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
}

/// Environment variables that may hold the secret, in the order they are tried: FreeSewing v3's
/// backend calls it `API_ENC_KEY`, v4's `BACKEND_ENC_KEY`.
pub const KEY_VARIABLES: [&str; 2] = ["API_ENC_KEY", "BACKEND_ENC_KEY"];

/// Reads the secret from a key file (one trailing newline accepted) or from the first of
/// [`KEY_VARIABLES`] that is set, with the name of what it was read from (a key file holds
/// `API_ENC_KEY`).
///
/// The key never comes from a command-line value, where it would be visible in `ps` and in shell
/// history.
pub fn load_secret(
    key_file: Option<&std::path::Path>,
) -> crate::Result<(Zeroizing<Vec<u8>>, &'static str)> {
    use crate::Error;
    let from_environment = || {
        KEY_VARIABLES.into_iter().find_map(|name| {
            std::env::var_os(name).map(|value| (Zeroizing::new(value.into_encoded_bytes()), name))
        })
    };
    let (mut secret, origin) = match key_file {
        Some(path) => (read_secret_file(path)?, KEY_VARIABLES[0]),
        None => match from_environment() {
            Some(found) => found,
            None => {
                return Err(Error::MissingKey {
                    problem: "pass --key-file PATH or set the API_ENC_KEY (FreeSewing v3) or \
                              BACKEND_ENC_KEY (v4) environment variable"
                        .into(),
                })
            }
        },
    };
    if secret.ends_with(b"\n") {
        secret.pop();
        if secret.ends_with(b"\r") {
            secret.pop();
        }
    }
    if secret.is_empty() {
        let source = key_file.map_or(origin.to_string(), |p| p.display().to_string());
        return Err(Error::MissingKey {
            problem: format!("{source} is empty"),
        });
    }
    Ok((secret, origin))
}

/// Longest key file accepted; FreeSewing's secrets are tens of bytes.
const MAX_SECRET_BYTES: usize = 4096;

/// Reads a key file into one buffer allocated up front, so that no reallocation leaves an
/// unzeroized copy of the secret in freed memory. A longer file (the database passed as the key
/// by mistake, a device) is refused without being read whole.
fn read_secret_file(path: &std::path::Path) -> crate::Result<Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let error = |e| crate::Error::io("read key file", path, e);
    let file = std::fs::File::open(path).map_err(error)?;
    let mut secret = Zeroizing::new(Vec::with_capacity(MAX_SECRET_BYTES + 1));
    file.take(MAX_SECRET_BYTES as u64 + 1)
        .read_to_end(&mut secret)
        .map_err(error)?;
    if secret.len() > MAX_SECRET_BYTES {
        return Err(crate::Error::bad_file(
            path,
            None,
            format!("is longer than {MAX_SECRET_BYTES} bytes: expected the API_ENC_KEY secret"),
        ));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with Python `hashlib.scrypt` + `cryptography` (AES-256-CBC, PKCS7), independently of
    /// this crate: secret "anonpub-test-vector", plaintext `{"chest":1000,"neck":380.5}`.
    const VECTOR_SECRET: &str = "anonpub-test-vector";
    const VECTOR_KEY_HEX: &str = "f6e07bc4430526e33901fb12e9489fef56a6ca74698a72b5eb1453908bae5d29";
    const VECTOR_STORED: &str = r#"{"iv":"000102030405060708090a0b0c0d0e0f","ct":"273a01bd85033005bc93336c3bba602c8e5428c67e1efd2cd90878fa2512ae71"}"#;

    #[test]
    fn derives_the_same_key_as_python() {
        let key = FieldKey::derive(VECTOR_SECRET.as_bytes());
        assert_eq!(hex::encode(key.0.as_ref()), VECTOR_KEY_HEX);
    }

    #[test]
    fn decrypts_a_vector_made_by_python() {
        let key = FieldKey::derive(VECTOR_SECRET.as_bytes());
        let plain = key.decrypt(VECTOR_STORED.as_bytes()).unwrap();
        assert_eq!(plain.as_slice(), br#"{"chest":1000,"neck":380.5}"#);
    }

    #[test]
    fn wrong_key_is_detected_not_taken_for_data() {
        let key = FieldKey::derive(b"not the key");
        let err = key.decrypt(VECTOR_STORED.as_bytes()).unwrap_err();
        assert!(err.suggests_wrong_key(), "{err:?}");
    }

    #[test]
    fn subkeys_depend_on_label_and_key_and_differ_from_the_field_key() {
        let key = FieldKey::derive(VECTOR_SECRET.as_bytes());
        let a = key.subkey("anonpub/input-fingerprint/v1");
        assert_eq!(*a, *key.subkey("anonpub/input-fingerprint/v1"));
        assert_ne!(*a, *key.subkey("another purpose"));
        assert_ne!(
            *a,
            *FieldKey::derive(b"other").subkey("anonpub/input-fingerprint/v1")
        );
        assert_ne!(a.as_slice(), key.0.as_slice());
    }

    #[test]
    fn round_trip_and_malformed_envelopes() {
        let key = FieldKey::derive(b"k");
        let stored = key.encrypt(b"\"foo\"", [7; 16]);
        assert_eq!(
            key.decrypt(stored.as_bytes()).unwrap().as_slice(),
            b"\"foo\""
        );
        assert_eq!(key.decrypt(b"{}").unwrap_err(), DecryptError::NotAnEnvelope);
        assert_eq!(
            key.decrypt(br#"{"iv":"zz","ct":"00"}"#).unwrap_err(),
            DecryptError::IvLength(1)
        );
        let bad_hex = format!(r#"{{"iv":"{}","ct":"xy"}}"#, "0".repeat(32));
        assert_eq!(
            key.decrypt(bad_hex.as_bytes()).unwrap_err(),
            DecryptError::BadHex
        );
        let short = format!(r#"{{"iv":"{}","ct":"00ff"}}"#, "0".repeat(32));
        assert_eq!(
            key.decrypt(short.as_bytes()).unwrap_err(),
            DecryptError::CiphertextLength
        );
    }
}
