//! De-identification: the release carries measurement columns and a fresh random `record_id`,
//! nothing else.
//!
//! **Guarantee.** No value from the `User` table, no set id, name, notes, image, timestamp or
//! display flag can reach a [`ReleaseTable`]: it is built only from anonymized values. Row order
//! reveals nothing about the database either: rows are sorted by their released values, so neither
//! the order in which people signed up nor the database order survives, and record ids are drawn
//! in that order from a seeded generator that sees no input data.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

/// Domain separation: record ids draw from their own stream of the seed.
const RECORD_ID_STREAM: u64 = 0x7265_636f_7264_6964; // "recordid"

/// The de-identified table that is written to a release.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseTable {
    /// Measurement column names, in release order (after `record_id`).
    pub columns: Vec<String>,
    /// One fresh random UUID per row.
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

/// Orders released rows canonically and gives each a fresh random UUID-v4 record id.
pub fn deidentify(columns: Vec<String>, released: &[f64], seed: u64) -> ReleaseTable {
    let width = columns.len();
    let mut rows: Vec<&[f64]> = released.chunks(width).collect();
    // Rows that compare equal are identical, so an unstable (parallel) sort gives the same table.
    rows.par_sort_unstable_by(|a, b| compare_rows(a, b));
    let record_ids = record_ids(rows.len(), seed);
    ReleaseTable {
        columns,
        record_ids,
        values: rows.concat(),
    }
}

/// `count` record ids, in row order, from the seed's own record-id stream: every release, of
/// any method, names its rows the same way.
pub fn record_ids(count: usize, seed: u64) -> Vec<String> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
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
    fn order_and_ids_depend_on_values_and_seed_only() {
        let columns = vec!["a".to_string(), "b".to_string()];
        let released = [2.0, f64::NAN, 1.0, 5.0, 1.0, f64::NAN];
        let one = deidentify(columns.clone(), &released, 7);
        assert_eq!(one.row(0), &[1.0, 5.0]);
        assert!(one.row(1)[1].is_nan());
        assert_eq!(one.row(2)[0], 2.0);
        assert!(one.record_ids.iter().all(|id| is_record_id(id)));
        let again = deidentify(columns.clone(), &released, 7);
        assert_eq!(one.record_ids, again.record_ids);
        let other = deidentify(columns, &released, 8);
        assert_ne!(one.record_ids, other.record_ids);
    }

    #[test]
    fn record_id_shape() {
        assert!(is_record_id("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_record_id("0f8fad5b-d9cb-369f-a165-70867728950e"));
        assert!(!is_record_id("0F8FAD5B-D9CB-469F-A165-70867728950E"));
        assert!(!is_record_id("12345678901"));
    }
}
