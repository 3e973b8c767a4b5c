//! De-identification: the release carries measurement columns and a random `record_id`, nothing
//! else.
//!
//! **Guarantee.** No value from the `User` table, no set id, name, notes, image, timestamp or
//! display flag can reach a [`ReleaseTable`]: it is built only from anonymized values. Row order
//! reveals nothing about the database either: rows are sorted by their released values, so neither
//! the order in which people signed up nor the database order survives, and record ids are drawn
//! in that order from a generator that sees no row of the input.
//!
//! **Ids never repeat across releases.** A record id names a row of one release and links to
//! nothing. Were the ids drawn from the published seed alone, two releases of different inputs
//! made with the same seed would carry the same ids at the same sorted positions, and whoever
//! joins releases on `record_id` would match rows of different groups. The generator is therefore
//! keyed by [`record_id_seed`]: the input's fingerprint and the seed, under a key derived from
//! the data holder's secret (its own label, as the fingerprint's key). The same input, config and
//! seed give the same ids, byte for byte; a different input gives an unrelated stream (a
//! collision of two 122-bit random ids is as likely as for any UUID v4), and without the secret
//! nobody can tell which input or seed a stream came from. A source without a secret (a table
//! published without `--key-file`) keys the stream by its plain SHA-256 fingerprint, which the
//! manifest shows: the ids still differ between inputs, but anyone holding the same file could
//! recompute them, which tells them only what the release already shows.

use hmac::{Hmac, Mac};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Domain separation: record ids draw from their own stream of their key.
const RECORD_ID_STREAM: u64 = 0x7265_636f_7264_6964; // "recordid"

/// The label of the key record ids are drawn under, derived from the data holder's secret
/// ([`crate::extract::source::Source::secret_key`]).
pub const RECORD_ID_LABEL: &str = "anonpub/record-ids/v1";

/// The 32-byte key of a release's record-id generator: HMAC-SHA256 under `secret` (the key the
/// source derives with [`RECORD_ID_LABEL`]) of the input fingerprint and the seed, or, for a
/// source without a secret, SHA-256 of the label, the fingerprint and the seed.
pub fn record_id_seed(
    secret: Option<&[u8; 32]>,
    input_fingerprint: &str,
    seed: u64,
) -> Zeroizing<[u8; 32]> {
    let message = [
        RECORD_ID_LABEL.as_bytes(),
        b"\0",
        input_fingerprint.as_bytes(),
        b"\0",
        &seed.to_le_bytes(),
    ]
    .concat();
    Zeroizing::new(match secret {
        Some(key) => {
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(&message);
            mac.finalize().into_bytes().into()
        }
        None => Sha256::digest(&message).into(),
    })
}

/// The de-identified table that is written to a release.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseTable {
    /// Measurement column names, in release order (after `record_id`).
    pub columns: Vec<String>,
    /// One random UUID per row ([`record_id_seed`]).
    pub record_ids: Vec<String>,
    /// Row-major, one row per record id; NaN = not published.
    pub values: Vec<f64>,
}

impl ReleaseTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.record_ids.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.record_ids.is_empty()
    }

    /// The values of one row.
    pub fn row(&self, index: usize) -> &[f64] {
        let width = self.columns.len();
        &self.values[index * width..(index + 1) * width]
    }
}

/// Orders released rows canonically and gives each a random UUID-v4 record id drawn under
/// `id_seed` ([`record_id_seed`]).
pub fn deidentify(columns: Vec<String>, released: &[f64], id_seed: &[u8; 32]) -> ReleaseTable {
    let width = columns.len();
    let mut rows: Vec<&[f64]> = released.chunks(width).collect();
    // Rows that compare equal are identical, so an unstable (parallel) sort gives the same table.
    rows.par_sort_unstable_by(|a, b| compare_rows(a, b));
    let record_ids = record_ids(rows.len(), id_seed);
    ReleaseTable {
        columns,
        record_ids,
        values: rows.concat(),
    }
}

/// `count` record ids, in row order, from the record-id stream keyed by `id_seed`
/// ([`record_id_seed`]): every release, of any method, names its rows the same way.
pub fn record_ids(count: usize, id_seed: &[u8; 32]) -> Vec<String> {
    let mut rng = ChaCha20Rng::from_seed(*id_seed);
    rng.set_stream(RECORD_ID_STREAM);
    (0..count).map(|_| uuid_v4(&mut rng)).collect()
}

/// Missing values sort after present ones; present ones by value.
fn compare_rows(a: &[f64], b: &[f64]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => x.total_cmp(y),
        })
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// A random (version 4) UUID in its canonical text form.
fn uuid_v4(rng: &mut impl RngCore) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Whether text is a canonical lowercase UUID v4, the only form a record id may take.
pub fn is_record_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            14 => b == b'4',
            19 => matches!(b, b'8' | b'9' | b'a' | b'b'),
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_ids_depend_on_values_key_input_and_seed_only() {
        let columns = vec!["a".to_string(), "b".to_string()];
        let released = [2.0, f64::NAN, 1.0, 5.0, 1.0, f64::NAN];
        let ids = |secret: Option<&[u8; 32]>, input: &str, seed| {
            deidentify(
                columns.clone(),
                &released,
                &record_id_seed(secret, input, seed),
            )
        };
        let one = ids(Some(&[1; 32]), "aa", 7);
        assert_eq!(one.row(0), &[1.0, 5.0]);
        assert!(one.row(1)[1].is_nan());
        assert_eq!(one.row(2)[0], 2.0);
        assert!(one.record_ids.iter().all(|id| is_record_id(id)));
        assert_eq!(one.record_ids, ids(Some(&[1; 32]), "aa", 7).record_ids);
        // Another seed, another input, another secret, no secret: no id in common.
        for other in [
            ids(Some(&[1; 32]), "aa", 8),
            ids(Some(&[1; 32]), "ab", 7),
            ids(Some(&[2; 32]), "aa", 7),
            ids(None, "aa", 7),
        ] {
            assert!(other
                .record_ids
                .iter()
                .all(|id| !one.record_ids.contains(id)));
        }
        assert_eq!(ids(None, "aa", 7).record_ids, ids(None, "aa", 7).record_ids);
    }

    #[test]
    fn record_id_shape() {
        assert!(is_record_id("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_record_id("0f8fad5b-d9cb-369f-a165-70867728950e"));
        assert!(!is_record_id("0F8FAD5B-D9CB-469F-A165-70867728950E"));
        assert!(!is_record_id("12345678901"));
    }
}
