//! `anonpub sample`: a synthetic FreeSewing v3 database for demos, tests and benchmarks.
//!
//! The database has the real `User` and `Set` tables and columns; every field the backend encrypts
//! is encrypted with the v3 scheme under a random key, written to the key file. Nothing in it is
//! about a real person. The same `--users`, `--seed` and `--messy` give the same people, key and
//! values. A small share of bad rows ([`messy`]) is always planted, as real databases hold them.

pub mod messy;
pub mod people;
mod sqlite;
pub mod table;

use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::atomic::{commit_files, StagedFile};
use crate::dates::Date;
use crate::error::{Error, Result};
use crate::extract::crypto::FieldKey;
use crate::extract::freesewing_v3::{ACTIVE_STATUS, OPEN_DATA_CONSENT};
use crate::measurements::Catalog;
use crate::timings::Timings;
use messy::{Messy, Planted};
use people::{apply_coverage, as_typed, draw_body, draw_coverage, make_junk, SizeModels};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct SampleSpec {
    /// Number of users to generate.
    pub users: usize,
    /// Seed of every draw (people, key, values): the same seed gives the same database.
    pub seed: u64,
    /// lastSeen and createdAt dates are spread before this date.
    pub as_of: Date,
    /// About this share of the sets are bad rows ([`messy`]); 0 for a clean database.
    pub messy: f64,
}

/// What was generated, in counts (the truth a test can compare a release report with).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SampleSummary {
    /// Users generated.
    pub users: usize,
    /// Sets generated, bad rows included.
    pub sets: usize,
    /// Sets turned into junk (doll or giant scale, cm or inches, zeros).
    pub junk_sets: usize,
    /// Extra sets of another body (a family member the user measured).
    pub family_sets: usize,
    /// Extra sets that re-measure the user's own body (each value within ±1.5 %).
    pub near_duplicate_sets: usize,
    /// Extra sets that copy the user's own set exactly.
    pub exact_duplicate_sets: usize,
    /// Bad rows (`--messy`), by the reason a release counts them under.
    pub planted: Planted,
}

impl SampleSummary {
    fn add(&mut self, part: &SampleSummary) {
        self.planted.add(&part.planted);
        self.sets += part.sets;
        self.junk_sets += part.junk_sets;
        self.family_sets += part.family_sets;
        self.near_duplicate_sets += part.near_duplicate_sets;
        self.exact_duplicate_sets += part.exact_duplicate_sets;
    }
}

/// A user with all columns the backend stores, encrypted ones already encrypted.
pub(crate) struct UserRecord {
    pub id: i64,
    pub consent: i64,
    pub status: i64,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    /// Whether `lastSeen` is stored as text that is not a timestamp (an unreadable owner).
    pub last_seen_unreadable: bool,
    pub email: String,
    pub initial: String,
    pub ehash: String,
    pub username: String,
    pub bio: String,
    pub data: String,
    pub mfa_secret: String,
    pub password: String,
    pub imperial: bool,
    pub newsletter: bool,
    pub patron: i64,
    pub language: &'static str,
    pub sets: Vec<SetRecord>,
}

/// A measurements set, encrypted.
pub(crate) struct SetRecord {
    pub name: String,
    pub notes: String,
    pub measies: String,
    pub created_ms: i64,
    pub imperial: bool,
    pub public: bool,
    /// Whether `userId` points at no user (an orphan set).
    pub orphan: bool,
}

/// Users generated per parallel chunk; each chunk has its own random stream, so the output does
/// not depend on the number of threads.
const CHUNK: usize = 4096;
/// Chunks drawn together before they are handed to the database writer.
const CHUNKS_PER_BATCH: usize = 16;

/// Writes a sample database to `db_path` and its key to `key_path`.
/// `timings` receives `generate` (drawing people and encrypting their fields, on the rayon pool)
/// and `write-db` (SQLite inserts, without the time spent waiting for the generator); the two
/// overlap.
pub fn write_sample(
    db_path: &Path,
    key_path: &Path,
    spec: SampleSpec,
    timings: &mut Timings,
) -> Result<SampleSummary> {
    let catalog = Catalog::freesewing();
    let models = SizeModels::freesewing(&catalog);
    let mut key_rng = ChaCha20Rng::seed_from_u64(spec.seed);
    let mut secret_bytes = Zeroizing::new([0u8; 32]);
    key_rng.fill_bytes(secret_bytes.as_mut());
    let secret = Zeroizing::new(hex::encode(secret_bytes.as_ref()));
    let key = FieldKey::derive(secret.as_bytes());

    let chunk_count = spec.users.div_ceil(CHUNK);
    let draw_chunk = |chunk: usize| {
        let mut rng = ChaCha20Rng::seed_from_u64(spec.seed);
        rng.set_stream(chunk as u64 + 1);
        let first = chunk * CHUNK;
        let last = (first + CHUNK).min(spec.users);
        let mut summary = SampleSummary::default();
        let users: Vec<UserRecord> = (first..last)
            .map(|i| {
                let mut user = draw_user(
                    i as i64 + 1,
                    spec,
                    &catalog,
                    &models,
                    &key,
                    &mut rng,
                    &mut summary,
                );
                if let Some(kind) = Messy::of_user(i, spec.messy) {
                    plant(&mut user, kind, spec, &key, &mut summary);
                }
                user
            })
            .collect();
        (users, summary)
    };
    // Batches are drawn in parallel while the previous batch is inserted, so memory stays bounded
    // by two batches and the single SQLite writer overlaps with generation.
    // The command refused an existing database without --force, so replacing is what was asked.
    let (database, _) = StagedFile::create(db_path, 0o600, true, "--db")?;
    let (written, writing, (summary, generating)) = std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<UserRecord>>(1);
        let producer = scope.spawn(move || {
            let mut summary = SampleSummary {
                users: spec.users,
                ..SampleSummary::default()
            };
            let mut generating = Duration::ZERO;
            for batch in (0..chunk_count)
                .collect::<Vec<_>>()
                .chunks(CHUNKS_PER_BATCH)
            {
                let started = Instant::now();
                let drawn: Vec<(Vec<UserRecord>, SampleSummary)> =
                    batch.par_iter().map(|&c| draw_chunk(c)).collect();
                let mut users = Vec::with_capacity(drawn.iter().map(|(u, _)| u.len()).sum());
                for (part_users, part) in drawn {
                    summary.add(&part);
                    users.extend(part_users);
                }
                generating += started.elapsed();
                if sender.send(users).is_err() {
                    break;
                }
            }
            (summary, generating)
        });
        let started = Instant::now();
        let mut waiting = Duration::ZERO;
        let batches = std::iter::from_fn(|| {
            let asked = Instant::now();
            let batch = receiver.recv().ok();
            waiting += asked.elapsed();
            batch
        });
        let written = sqlite::write_database(database.path(), batches);
        let writing = started.elapsed().saturating_sub(waiting);
        let produced = producer
            .join()
            .expect("the generator thread does not panic");
        (written, writing, produced)
    });
    timings.record("generate", generating);
    timings.record("write-db", writing);
    written?;
    timings.time("commit", || {
        let (key_file, _) = StagedFile::create(key_path, 0o600, true, "--key-file")?;
        write_key_file(key_file.path(), &secret)?;
        commit_files(vec![database, key_file])
    })?;
    Ok(summary)
}

/// Writes the secret and a newline into the (private, empty) staged key file.
fn write_key_file(path: &Path, secret: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io("write key file", path, e))?;
    file.write_all(secret.as_bytes())
        .and_then(|_| file.write_all(b"\n"))
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io("write key file", path, e))
}

const MS_PER_DAY: i64 = 86_400_000;
const LANGUAGES: [&str; 6] = ["en", "en", "en", "nl", "fr", "de"];
const FIRST_NAMES: [&str; 12] = [
    "ada", "ben", "chloe", "dev", "emma", "femi", "greta", "hugo", "ines", "joost", "kim", "lea",
];
const SET_NAMES: [&str; 6] = ["Me", "Partner", "Mum", "Kid", "Client", "Friend"];

/// Picks from weighted options.
fn weighted<T: Copy>(rng: &mut impl Rng, options: &[(T, f64)]) -> T {
    let mut roll: f64 = rng.gen();
    for &(value, weight) in options {
        if roll < weight {
            return value;
        }
        roll -= weight;
    }
    options[options.len() - 1].0
}

fn draw_user(
    id: i64,
    spec: SampleSpec,
    catalog: &Catalog,
    models: &SizeModels,
    key: &FieldKey,
    rng: &mut impl Rng,
    summary: &mut SampleSummary,
) -> UserRecord {
    let encrypt = |json: &str, rng: &mut dyn RngCore| {
        let mut iv = [0u8; 16];
        rng.fill_bytes(&mut iv);
        key.encrypt(json.as_bytes(), iv)
    };
    let as_of = spec.as_of.start_ms();
    let recent = rng.gen_bool(0.7);
    let days_ago = if recent {
        rng.gen_range(0..365)
    } else {
        rng.gen_range(366..1460)
    };
    let last_seen_ms = as_of - days_ago * MS_PER_DAY - rng.gen_range(0..MS_PER_DAY);
    let created_ms = last_seen_ms - rng.gen_range(0..1460) * MS_PER_DAY;
    let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
    let email = format!("{first}.{id}@example.org");
    let imperial = rng.gen_bool(0.2);

    let body = draw_body(models, catalog, rng);
    let mut sets = Vec::new();
    let set_count = weighted(rng, &[(1usize, 0.86), (2, 0.09), (3, 0.035), (4, 0.015)]);
    let own_coverage = draw_coverage(body.breasts, rng);
    let own_values = as_typed(
        &apply_coverage(&body, own_coverage, catalog, rng),
        imperial,
        catalog,
    );
    let mut drawn: Vec<Vec<f64>> = vec![own_values.clone()];
    for _ in 1..set_count {
        let kind = weighted(rng, &[(0u8, 0.6), (1, 0.3), (2, 0.1)]);
        let values = match kind {
            0 => {
                summary.family_sets += 1;
                let relative = draw_body(models, catalog, rng);
                let coverage = draw_coverage(relative.breasts, rng);
                as_typed(
                    &apply_coverage(&relative, coverage, catalog, rng),
                    imperial,
                    catalog,
                )
            }
            1 => {
                summary.near_duplicate_sets += 1;
                let remeasured: Vec<f64> = own_values
                    .iter()
                    .map(|v| v * (1.0 + rng.gen_range(-0.015..0.015)))
                    .collect();
                as_typed(&remeasured, imperial, catalog)
            }
            _ => {
                summary.exact_duplicate_sets += 1;
                own_values.clone()
            }
        };
        drawn.push(values);
    }
    for (index, mut values) in drawn.into_iter().enumerate() {
        if rng.gen_bool(0.03) {
            summary.junk_sets += 1;
            values = make_junk(&values, models, rng).1;
        }
        let measies = measies_json(&values, catalog);
        let name = format!(
            "\"{}\"",
            if index == 0 {
                SET_NAMES[0]
            } else {
                SET_NAMES[1 + rng.gen_range(0..SET_NAMES.len() - 1)]
            }
        );
        sets.push(SetRecord {
            name: encrypt(&name, rng),
            notes: encrypt("\"\"", rng),
            measies: encrypt(&measies, rng),
            created_ms: created_ms + rng.gen_range(0..=(last_seen_ms - created_ms).max(0)),
            imperial,
            public: rng.gen_bool(0.1),
            orphan: false,
        });
    }
    summary.sets += sets.len();
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let mut hash = [0u8; 32];
    rng.fill_bytes(&mut hash);
    UserRecord {
        id,
        consent: weighted(rng, &[(3, 0.82), (2, 0.10), (1, 0.04), (0, 0.04)]),
        status: weighted(rng, &[(1, 0.90), (0, 0.06), (-1, 0.025), (-2, 0.015)]),
        created_ms,
        last_seen_ms,
        last_seen_unreadable: false,
        ehash: hex::encode(Sha256::digest(email.as_bytes())),
        initial: encrypt(&format!("\"{email}\""), rng),
        email: encrypt(&format!("\"{email}\""), rng),
        username: format!("{first}-{id}"),
        bio: encrypt("\"\"", rng),
        data: encrypt("{}", rng),
        mfa_secret: encrypt("\"\"", rng),
        // Shaped like the backend's scrypt record, but random: no real password hash is computed.
        password: format!(
            "{{\"type\":\"v3\",\"data\":\"{}\",\"salt\":\"{}\"}}",
            hex::encode(hash),
            hex::encode(salt)
        ),
        imperial,
        newsletter: rng.gen_bool(0.3),
        patron: weighted(rng, &[(0, 0.97), (2, 0.015), (4, 0.01), (8, 0.005)]),
        language: LANGUAGES[rng.gen_range(0..LANGUAGES.len())],
        sets,
    }
}

/// Gives a carrier its bad row (see [`messy`]): an extra set, or an unreadable `lastSeen`. The
/// extra set's random draws come from a stream of its own, so the regular data does not change.
fn plant(
    user: &mut UserRecord,
    kind: Messy,
    spec: SampleSpec,
    key: &FieldKey,
    summary: &mut SampleSummary,
) {
    summary.planted.count(kind, user.sets.len());
    if kind == Messy::UnreadableOwner {
        user.last_seen_unreadable = true;
        return;
    }
    let mut rng = Messy::rng(spec.seed, user.id);
    if kind.needs_an_eligible_owner() {
        user.consent = OPEN_DATA_CONSENT;
        user.status = ACTIVE_STATUS;
        user.last_seen_ms =
            Messy::recent_last_seen(user.last_seen_ms, spec.as_of.start_ms(), &mut rng);
    }
    let own = &user.sets[0];
    let own_json = key
        .decrypt(own.measies.as_bytes())
        .expect("the sample's own sets decrypt");
    let own_json = std::str::from_utf8(&own_json).expect("decrypted values are UTF-8");
    let extra = SetRecord {
        name: own.name.clone(),
        notes: own.notes.clone(),
        measies: kind.stored_measies(own_json, key, &mut rng),
        created_ms: own.created_ms,
        imperial: user.imperial,
        public: false,
        orphan: kind == Messy::Orphan,
    };
    user.sets.push(extra);
    summary.sets += 1;
}

/// The JSON text the backend stores for a set's measurements (missing ones omitted). Whole
/// numbers take the integer formatter: float formatting dominated generation time.
fn measies_json(values: &[f64], catalog: &Catalog) -> String {
    use std::fmt::Write;
    let mut json = String::with_capacity(24 * values.len() + 2);
    json.push('{');
    for (i, &v) in values.iter().enumerate().filter(|(_, v)| !v.is_nan()) {
        if json.len() > 1 {
            json.push(',');
        }
        json.push('"');
        json.push_str(&catalog.names()[i]);
        json.push_str("\":");
        if v.fract() == 0.0 && v.abs() < 1e15 {
            let _ = write!(json, "{}", v as i64);
        } else {
            let _ = write!(json, "{v}");
        }
    }
    json.push('}');
    json
}
