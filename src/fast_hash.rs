//! The one fast hasher for hash maps keyed by data anonpub reads itself: database ids, table
//! cells, packed class keys.
//!
//! std's SipHash guards servers against keys an attacker picks to force collisions; anonpub is a
//! batch tool reading its owner's database, where that costs a third of reading a million users
//! and buys nothing. `rustc-hash`'s Fx hasher (the compiler's own) is a multiply-rotate per word.
//!
//! No output may depend on the iteration order of these maps: codes are handed out in insertion
//! order and results are sorted, so swapping the hasher changes speed only, never a byte.

use std::collections::HashMap;

pub use rustc_hash::FxBuildHasher as FastBuildHasher;

/// A `HashMap` with the fast hasher.
pub type FastMap<K, V> = HashMap<K, V, FastBuildHasher>;

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn sequential_ids_spread_over_the_low_bits() {
        let buckets: std::collections::HashSet<u64> = (0..1024i64)
            .map(|id| FastBuildHasher.hash_one(id) & 1023)
            .collect();
        assert!(
            buckets.len() > 600,
            "{} of 1024 buckets used",
            buckets.len()
        );
        let mut map: FastMap<&str, u32> = FastMap::default();
        map.insert("chest", 1);
        assert_eq!(map.get("chest"), Some(&1));
    }
}
