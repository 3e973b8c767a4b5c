//! What a frequency table is made of: for each (person, cell) pair, how many events the person
//! had in the cell. Every input (a table with a schema, an access log, a pre-aggregated
//! contributions table) streams into one [`Contributions`], and the tables are computed from it
//! alone.
//!
//! **Bounded memory.** Nothing per line is kept: a person is a number (their identifier is
//! hashed to 128 bits or, for an IP address, taken as its 128 bits, and numbered in order of first
//! appearance by [`People`]), a key value is a number per column, a cell is a number per key
//! tuple, and a pair is 12 bytes (person, cell, events). Lines are appended to a buffer of at most
//! [`PENDING`] pairs, which is sorted, folded and merged into the sorted pairs whenever it fills
//! (sequential work instead of a random hash-map access per line; the merge runs backwards into
//! the room grown at the end of the sorted pairs, so it needs no scratch space). Memory grows with
//! the distinct people, values, cells and pairs, never with the lines read: 12 bytes per pair,
//! about 24–40 bytes per person, plus the fixed buffer.

use std::hash::{Hash, Hasher};

use crate::fast_hash::FastMap;

/// The key values of one `by` column, each with a number.
#[derive(Debug, Default)]
struct Values {
    by_text: FastMap<Box<str>, u32>,
    by_code: FastMap<i64, u32>,
    labels: Vec<String>,
}

/// (person, cell) → events, being filled.
#[derive(Debug)]
pub struct Contributions {
    values: Vec<Values>,
    /// Cells of one or two columns, keyed by their values packed in 64 bits (no slice to hash
    /// and compare on every line: the common page × day case).
    narrow_cells: FastMap<u64, u32>,
    /// Cells of more columns.
    wide_cells: FastMap<Box<[u32]>, u32>,
    cell_values: Vec<Box<[u32]>>,
    people: People,
    /// Sorted by (person, cell), one entry per pair.
    pairs: Vec<Pair>,
    /// Appended as lines come, folded into `pairs` when full.
    pending: Vec<Pair>,
}

/// Lines buffered before they are folded into the sorted pairs: 4M pairs, 48 MB.
pub const PENDING: usize = 1 << 22;

/// One (person, cell) pair and its events.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pair {
    /// The person's number.
    pub person: u32,
    /// The cell's number.
    pub cell: u32,
    /// The person's events in the cell (saturating).
    pub events: u32,
}

/// People numbered in order of first appearance: each 128-bit key stored once in a dense list
/// (its index is the number) and an open-addressing table of numbers with linear probing. A
/// general hash map would store key and number together in 32-byte slots (the key's alignment)
/// at a load of at most 7/8; this takes 16 bytes per person plus 4 bytes per slot at a load of at
/// most 1/2, the difference between fitting a hundred million log lines in 2 GB or not.
#[derive(Debug, Default)]
struct People {
    keys: Vec<u128>,
    /// `EMPTY` or a person's number; the length is zero or a power of two.
    slots: Vec<u32>,
}

/// An unused slot of [`People`].
const EMPTY: u32 = u32::MAX;

impl People {
    /// The number of the person with `key`, given the next number if the key is new.
    fn number(&mut self, key: u128) -> u32 {
        if (self.keys.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(key);
        loop {
            match self.slots[at] {
                EMPTY => {
                    let number = self.keys.len() as u32;
                    self.keys.push(key);
                    self.slots[at] = number;
                    return number;
                }
                number if self.keys[number as usize] == key => return number,
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// The first slot to probe for `key`: the top bits of a multiplicative hash of both halves
    /// (addresses differ in few, scattered bits; the multiply carries every bit to the top).
    fn home(&self, key: u128) -> usize {
        let folded = (key as u64) ^ ((key >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bits = self.slots.len().trailing_zeros();
        (folded.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> (64 - bits)) as usize
    }

    /// Doubles the table (at least 1,024 slots) and puts every number back.
    fn grow(&mut self) {
        self.slots = vec![EMPTY; (self.slots.len() * 2).max(1024)];
        let mask = self.slots.len() - 1;
        for (number, &key) in self.keys.iter().enumerate() {
            let mut at = self.home(key);
            while self.slots[at] != EMPTY {
                at = (at + 1) & mask;
            }
            self.slots[at] = number as u32;
        }
    }
}

/// The filled contributions, ready to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregated {
    /// Per `by` column, the label of each value number.
    pub labels: Vec<Vec<String>>,
    /// Per cell number, its value number in each column.
    pub cells: Vec<Box<[u32]>>,
    /// Every pair, sorted by person, then cell.
    pub pairs: Vec<Pair>,
    /// Distinct people.
    pub people: usize,
}

/// A person key from any identifier text: 128 bits of two independent SipHash digests, so that
/// two people merge only with probability about n²/2¹²⁹.
pub fn person_key(identifier: &str) -> u128 {
    let half = |salt: u8| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut hasher);
        identifier.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

/// A person key from an IP address: its 128 bits (IPv4 as IPv4-mapped IPv6).
pub fn address_key(address: std::net::IpAddr) -> u128 {
    match address {
        std::net::IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        std::net::IpAddr::V6(v6) => u128::from(v6),
    }
}

impl Contributions {
    /// Empty contributions over `columns` key columns.
    pub fn new(columns: usize) -> Self {
        Contributions {
            values: (0..columns).map(|_| Values::default()).collect(),
            narrow_cells: FastMap::default(),
            wide_cells: FastMap::default(),
            cell_values: Vec::new(),
            people: People::default(),
            pairs: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// The number of a text key value of `column`.
    pub fn text_value(&mut self, column: usize, label: &str) -> u32 {
        let values = &mut self.values[column];
        if let Some(&number) = values.by_text.get(label) {
            return number;
        }
        let number = values.labels.len() as u32;
        values.labels.push(label.to_string());
        values.by_text.insert(label.into(), number);
        number
    }

    /// The number of a key value of `column` given by a code (a local day, an hour), labelled by
    /// `label` the first time it is seen.
    pub fn coded_value(&mut self, column: usize, code: i64, label: impl FnOnce() -> String) -> u32 {
        let values = &mut self.values[column];
        if let Some(&number) = values.by_code.get(&code) {
            return number;
        }
        let number = values.labels.len() as u32;
        values.labels.push(label());
        values.by_code.insert(code, number);
        number
    }

    /// The number of a person.
    pub fn person(&mut self, key: u128) -> u32 {
        self.people.number(key)
    }

    /// Adds `events` events of `person` to the cell of key values `values` (one per column).
    pub fn add(&mut self, person: u32, values: &[u32], events: u64) {
        let next = self.cell_values.len() as u32;
        let cell = match values {
            [a] | [a, _] => {
                let packed = (u64::from(*a) << 32) | u64::from(values.get(1).copied().unwrap_or(0));
                *self.narrow_cells.entry(packed).or_insert(next)
            }
            _ => match self.wide_cells.get(values) {
                Some(&cell) => cell,
                None => {
                    self.wide_cells.insert(values.into(), next);
                    next
                }
            },
        };
        if cell == next {
            self.cell_values.push(values.into());
        }
        self.pending.push(Pair {
            person,
            cell,
            events: u32::try_from(events).unwrap_or(u32::MAX),
        });
        if self.pending.len() >= PENDING {
            self.fold();
        }
    }

    /// Sorts and folds the buffer, then merges it into the sorted pairs.
    fn fold(&mut self) {
        let key = |p: &Pair| (p.person, p.cell);
        self.pending.sort_unstable_by_key(key);
        fold_equal(&mut self.pending);
        // Exactly the room needed (a large reallocation is a remap, not a copy), then a merge
        // from the back: the largest remaining entry of either run goes to the last free slot,
        // which never overtakes an unread entry of the sorted pairs.
        let (old, new) = (self.pairs.len(), self.pending.len());
        self.pairs.reserve_exact(new);
        self.pairs.resize(old + new, Pair::default());
        let (mut read, mut write) = (old, old + new);
        for &pair in self.pending.iter().rev() {
            while read > 0 && key(&self.pairs[read - 1]) > key(&pair) {
                read -= 1;
                write -= 1;
                self.pairs[write] = self.pairs[read];
            }
            write -= 1;
            self.pairs[write] = pair;
        }
        self.pending.clear();
        fold_equal(&mut self.pairs);
    }

    /// Pairs so far.
    pub fn pairs(&self) -> usize {
        self.pairs.len() + self.pending.len()
    }

    /// The pairs, sorted, with the labels; the hash maps are freed first.
    pub fn finish(mut self) -> Aggregated {
        drop(std::mem::take(&mut self.narrow_cells));
        drop(std::mem::take(&mut self.wide_cells));
        drop(std::mem::take(&mut self.people));
        self.fold();
        let sorted = std::mem::take(&mut self.pairs);
        let mut people = 0;
        let mut last = None;
        for pair in &sorted {
            if last != Some(pair.person) {
                people += 1;
                last = Some(pair.person);
            }
        }
        Aggregated {
            labels: std::mem::take(&mut self.values)
                .into_iter()
                .map(|v| v.labels)
                .collect(),
            cells: std::mem::take(&mut self.cell_values),
            pairs: sorted,
            people,
        }
    }
}

/// Folds adjacent entries of the same (person, cell) into one, adding their events.
fn fold_equal(pairs: &mut Vec<Pair>) {
    let mut kept = 0;
    for read in 0..pairs.len() {
        let pair = pairs[read];
        if kept > 0 && (pairs[kept - 1].person, pairs[kept - 1].cell) == (pair.person, pair.cell) {
            pairs[kept - 1].events = pairs[kept - 1].events.saturating_add(pair.events);
        } else {
            pairs[kept] = pair;
            kept += 1;
        }
    }
    pairs.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_add_up_and_people_are_counted_once() {
        let mut contributions = Contributions::new(2);
        let (a, b) = (
            contributions.person(person_key("x")),
            contributions.person(address_key("192.0.2.1".parse().unwrap())),
        );
        assert_eq!(contributions.person(person_key("x")), a);
        let page = contributions.text_value(0, "/a");
        let day = contributions.coded_value(1, 20_000, || "2024-10-04".into());
        assert_eq!(contributions.coded_value(1, 20_000, || unreachable!()), day);
        contributions.add(a, &[page, day], 2);
        contributions.add(a, &[page, day], 3);
        contributions.add(b, &[page, day], 1);
        let done = contributions.finish();
        assert_eq!(done.people, 2);
        assert_eq!(done.labels[1], ["2024-10-04"]);
        assert_eq!(
            done.pairs,
            [
                Pair {
                    person: a,
                    cell: 0,
                    events: 5
                },
                Pair {
                    person: b,
                    cell: 0,
                    events: 1
                }
            ]
        );
        // IPv4 and the same bits as IPv6 are different people.
        assert_ne!(
            address_key("192.0.2.1".parse().unwrap()),
            address_key("::c000:201".parse().unwrap())
        );
    }

    #[test]
    fn people_keep_their_first_number_through_growth() {
        let mut people = People::default();
        let mut expected = std::collections::HashMap::new();
        // Keys alike in all but a few bits (addresses of one network) and hashed keys, seen
        // repeatedly in an order unlike their numbering.
        let keys: Vec<u128> = (0..5_000u128)
            .map(|i| address_key(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32 * 3).into()))
            .chain((0..5_000).map(|i| person_key(&format!("id-{i}"))))
            .collect();
        for round in 0..3 {
            for (i, &key) in keys.iter().enumerate() {
                let key = keys[(i * 7919 + round) % keys.len()].max(key);
                let next = expected.len() as u32;
                let number = *expected.entry(key).or_insert(next);
                assert_eq!(people.number(key), number);
            }
        }
        assert_eq!(people.keys.len(), expected.len());
    }

    #[test]
    fn merges_across_folds_equal_one_big_count() {
        let mut contributions = Contributions::new(1);
        let mut expected = std::collections::BTreeMap::new();
        let mut state = 12345u64;
        for step in 0..20_000u64 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (person, cell) = ((state >> 40) as u32 % 300, (state >> 20) as u32 % 50);
            let events = state % 4;
            let value = contributions.coded_value(0, i64::from(cell), || cell.to_string());
            contributions.add(person, &[value], events);
            *expected.entry((person, value)).or_insert(0u32) += events as u32;
            if step % 1_777 == 0 {
                contributions.fold();
            }
        }
        let done = contributions.finish();
        let got: Vec<_> = done
            .pairs
            .iter()
            .map(|p| ((p.person, p.cell), p.events))
            .collect();
        assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
    }
}
