//! Bad rows in a sample database, of the kinds a production FreeSewing database holds: sets
//! created without measurements (Prisma's plain `{}` default, or an encrypted empty object),
//! values the v2 → v3 migration left unencrypted, truncated envelopes, hand edits that put text or
//! `null` where a number belongs, sets whose owner was deleted while SQLite did not enforce the
//! foreign key, and user rows whose `lastSeen` was overwritten with text.
//!
//! Which users carry a bad row depends only on their position, so the rows are spread evenly, the
//! count of each kind is known in advance ([`Planted`]), and the regular data is the same with or
//! without them: a carrier's bad row is an *extra* set (or its own unreadable `lastSeen`), drawn
//! from a random stream of its own.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use crate::extract::crypto::FieldKey;
use crate::select::Exclusion;

/// Mean number of sets per sample user (the weights in `draw_user`), to turn a share of sets
/// into a share of carriers.
const SETS_PER_USER: f64 = 0.86 + 2.0 * 0.09 + 3.0 * 0.035 + 4.0 * 0.015;

/// What a sample writes when `--messy` is not given: about 0.4 % of the sets, which puts one row
/// of each kind into the 2,000-user sample and keeps the bad-row share (about 0.5 % of the sets
/// that could be published) well below the default `max_malformed_share` of 5 %.
pub const DEFAULT_MESSY_SHARE: f64 = 0.004;

/// The `lastSeen` text of an unreadable owner: neither epoch milliseconds nor ISO-8601.
pub(super) const UNREADABLE_LAST_SEEN: &str = "unknown";

/// Orphan sets point at `ORPHAN_OWNER_OFFSET + carrier id`, an id no sample user has.
pub(super) const ORPHAN_OWNER_OFFSET: i64 = 1_000_000_000_000;

/// The kinds of bad row, in the order carriers cycle through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Messy {
    /// An extra set holding the schema's unencrypted default `{}`.
    PlainDefault,
    /// An extra set holding an encrypted `{}`.
    EncryptedEmpty,
    /// An extra set with its measurements stored as plain JSON.
    Unencrypted,
    /// An extra set whose envelope was cut short (odd-length hex).
    TruncatedEnvelope,
    /// An extra set with a measurement stored as text.
    TextValue,
    /// An extra set with a measurement stored as `null`.
    NullValue,
    /// An extra, valid set whose `userId` matches no user.
    Orphan,
    /// The user's own `lastSeen` is text that is not a timestamp; all their sets are left out.
    UnreadableOwner,
}

impl Messy {
    const CYCLE: [Messy; 8] = [
        Messy::PlainDefault,
        Messy::Unencrypted,
        Messy::TextValue,
        Messy::Orphan,
        Messy::EncryptedEmpty,
        Messy::TruncatedEnvelope,
        Messy::NullValue,
        Messy::UnreadableOwner,
    ];

    /// The bad row, if any, of the user at 0-based position `index`: carriers are spaced so that
    /// `share` of the sets, on average, are bad rows.
    pub fn of_user(index: usize, share: f64) -> Option<Messy> {
        let per_user = (share * SETS_PER_USER).min(1.0);
        let carriers_before = |i: usize| (i as f64 * per_user).floor() as usize;
        let carrier = carriers_before(index);
        (carriers_before(index + 1) > carrier).then(|| Self::CYCLE[carrier % Self::CYCLE.len()])
    }

    /// Whether the bad row is an extra set of the user, which must then be judged on its own:
    /// its owner is made eligible, because the set of an ineligible owner is never decrypted and
    /// counts under the owner's reason.
    pub fn needs_an_eligible_owner(self) -> bool {
        !matches!(self, Messy::Orphan | Messy::UnreadableOwner)
    }

    /// The stored `measies` of the extra set; `own_json` is the user's own first set as JSON.
    pub fn stored_measies(self, own_json: &str, key: &FieldKey, rng: &mut impl RngCore) -> String {
        let mut encrypt = |json: &str| {
            let mut iv = [0u8; 16];
            rng.fill_bytes(&mut iv);
            key.encrypt(json.as_bytes(), iv)
        };
        match self {
            Messy::PlainDefault => "{}".into(),
            Messy::EncryptedEmpty => encrypt("{}"),
            Messy::Unencrypted => own_json.into(),
            Messy::TruncatedEnvelope => {
                let mut stored = encrypt(own_json);
                // Drop the last hex digit of `ct`, keeping the closing `"}`.
                stored.remove(stored.len() - 3);
                stored
            }
            Messy::TextValue => encrypt(r#"{"chest":"96 cm","waist":780}"#),
            Messy::NullValue => encrypt(r#"{"waist":null,"hips":1010}"#),
            Messy::Orphan | Messy::UnreadableOwner => encrypt(own_json),
        }
    }

    /// The random stream for the bad row of user `id`, apart from the user's own stream.
    pub fn rng(seed: u64, id: i64) -> ChaCha20Rng {
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x6d65_7373_795f_726f);
        rng.set_stream(id as u64);
        rng
    }

    /// A `lastSeen` within the retention window of every release on `as_of`: kept when it already
    /// is, otherwise moved to a random day in the last 300 days.
    pub fn recent_last_seen(last_seen_ms: i64, as_of_ms: i64, rng: &mut impl Rng) -> i64 {
        const DAY_MS: i64 = 86_400_000;
        let earliest = as_of_ms - 300 * DAY_MS;
        if last_seen_ms >= earliest {
            last_seen_ms
        } else {
            as_of_ms - rng.gen_range(1..300) * DAY_MS
        }
    }
}

/// Bad rows planted, under the reason a release counts them (the truth tests compare with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Planted {
    /// Extra sets without measurements (a plain or an encrypted `{}`).
    pub no_measurements: usize,
    /// Extra sets stored unencrypted or with a truncated envelope.
    pub undecryptable: usize,
    /// Extra sets with a measurement stored as text or `null`.
    pub malformed_value: usize,
    /// Extra sets whose owner does not exist.
    pub orphan_set: usize,
    /// Sets of unreadable owners.
    pub unreadable_owner: usize,
    /// Unreadable owners (user rows).
    pub unreadable_owners: usize,
}

impl Planted {
    /// Counts one carrier, whose unreadable row (if it is one) owns `own_sets` sets.
    pub fn count(&mut self, kind: Messy, own_sets: usize) {
        match kind {
            Messy::PlainDefault | Messy::EncryptedEmpty => self.no_measurements += 1,
            Messy::Unencrypted | Messy::TruncatedEnvelope => self.undecryptable += 1,
            Messy::TextValue | Messy::NullValue => self.malformed_value += 1,
            Messy::Orphan => self.orphan_set += 1,
            Messy::UnreadableOwner => {
                self.unreadable_owner += own_sets;
                self.unreadable_owners += 1;
            }
        }
    }

    /// Adds another count to this one (parts are drawn in parallel, then summed).
    pub fn add(&mut self, other: &Planted) {
        self.no_measurements += other.no_measurements;
        self.undecryptable += other.undecryptable;
        self.malformed_value += other.malformed_value;
        self.orphan_set += other.orphan_set;
        self.unreadable_owner += other.unreadable_owner;
        self.unreadable_owners += other.unreadable_owners;
    }

    /// Sets planted per exclusion reason, as `report.json` keys them.
    pub fn sets_by_reason(&self) -> [(Exclusion, usize); 5] {
        [
            (Exclusion::NoMeasurements, self.no_measurements),
            (Exclusion::Undecryptable, self.undecryptable),
            (Exclusion::MalformedValue, self.malformed_value),
            (Exclusion::OrphanSet, self.orphan_set),
            (Exclusion::UnreadableOwner, self.unreadable_owner),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurements::{parse_measies, Catalog};

    #[test]
    fn carriers_are_spread_evenly_and_cycle_through_every_kind() {
        let carriers: Vec<(usize, Messy)> = (0..2000)
            .filter_map(|i| Messy::of_user(i, DEFAULT_MESSY_SHARE).map(|kind| (i, kind)))
            .collect();
        let expected = (2000.0 * DEFAULT_MESSY_SHARE * SETS_PER_USER).floor() as usize;
        assert_eq!(carriers.len(), expected);
        for kind in Messy::CYCLE {
            assert!(carriers.iter().any(|&(_, k)| k == kind), "{kind:?}");
        }
        let gaps: Vec<usize> = carriers.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(gaps.iter().max().unwrap() - gaps.iter().min().unwrap() <= 1);
        assert!((0..1000).all(|i| Messy::of_user(i, 0.0).is_none()));
        assert!((0..1000).all(|i| Messy::of_user(i, 1.0).is_some()));
    }

    #[test]
    fn each_kind_is_the_bad_row_it_claims_to_be() {
        let key = FieldKey::derive(b"messy");
        let catalog = Catalog::freesewing();
        let own = r#"{"chest":960,"waist":800}"#;
        let mut rng = Messy::rng(1, 1);
        let stored = |kind: Messy, rng: &mut ChaCha20Rng| kind.stored_measies(own, &key, rng);
        assert_eq!(stored(Messy::PlainDefault, &mut rng), "{}");
        let empty = key
            .decrypt(stored(Messy::EncryptedEmpty, &mut rng).as_bytes())
            .unwrap();
        assert_eq!(empty.as_slice(), b"{}");
        for undecryptable in [Messy::Unencrypted, Messy::TruncatedEnvelope] {
            assert!(key
                .decrypt(stored(undecryptable, &mut rng).as_bytes())
                .is_err());
        }
        for malformed in [Messy::TextValue, Messy::NullValue] {
            let plain = key.decrypt(stored(malformed, &mut rng).as_bytes()).unwrap();
            assert!(parse_measies(&plain, &catalog).is_err(), "{malformed:?}");
        }
        let orphan = key
            .decrypt(stored(Messy::Orphan, &mut rng).as_bytes())
            .unwrap();
        assert!(parse_measies(&orphan, &catalog).is_ok());
    }
}
