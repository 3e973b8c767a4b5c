//! Shared helpers: run the binary, build small FreeSewing v3 databases with chosen users.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anonpub::extract::crypto::FieldKey;
use rusqlite::{params, Connection};

/// The embedded sample database and its key.
pub fn sample_db() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    (root.join("sample.sqlite"), root.join("sample.key"))
}

/// The result of one run of the binary, with everything needed to explain a failure.
pub struct Run {
    pub command: String,
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts the exit code, printing the command and its output otherwise.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "command: {}\nstdout:\n{}\nstderr:\n{}",
            self.command,
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// Runs `anonpub` with arguments (and without API_ENC_KEY or BACKEND_ENC_KEY unless given in
/// `env`).
pub fn anonpub(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_anonpub"));
    command
        .args(args)
        .env_remove("API_ENC_KEY")
        .env_remove("BACKEND_ENC_KEY");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("the anonpub binary runs");
    Run {
        command: format!("anonpub {}", args.join(" ")),
        output,
    }
}

/// `publish` of the FreeSewing database `db` with its `key` file into `out` as of 2026-11-01,
/// with `extra` arguments (quietly, unless they hold `--verbose`) and `env` variables.
pub fn publish_db(db: &Path, key: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec![
        "publish",
        "--db",
        db.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--as-of",
        "2026-11-01",
        "--out",
        out.to_str().unwrap(),
    ];
    if !extra.contains(&"--verbose") {
        args.push("--quiet");
    }
    args.extend_from_slice(extra);
    anonpub(&args, env)
}

/// Publishes the sample database into `out` (seed 11 unless `extra` gives one).
pub fn publish_sample(out: &Path, extra: &[&str]) -> Run {
    let (db, key) = sample_db();
    let mut args = vec![];
    if !extra.contains(&"--seed") {
        args.extend_from_slice(&["--seed", "11"]);
    }
    args.extend_from_slice(extra);
    publish_db(&db, &key, out, &args, &[])
}

/// A user row for a fixture database.
pub struct FixtureUser {
    pub consent: i64,
    pub status: i64,
    /// `lastSeen` as stored: epoch ms as an integer, or ISO text.
    pub last_seen: rusqlite::types::Value,
    /// Each set's plaintext `measies` JSON.
    pub sets: Vec<String>,
}

impl FixtureUser {
    /// An eligible user (consent 3, active, seen on 2026-10-01) with these sets.
    pub fn eligible(sets: Vec<String>) -> Self {
        FixtureUser {
            consent: 3,
            status: 1,
            last_seen: 1_790_812_800_000i64.into(),
            sets,
        }
    }
}

pub const FIXTURE_SECRET: &str = "fixture-secret";

/// Writes a minimal v3 database (only the columns anonpub reads) and its key file.
pub fn fixture_db(dir: &Path, users: &[FixtureUser]) -> (PathBuf, PathBuf) {
    let db = dir.join("fixture.sqlite");
    let key_file = dir.join("fixture.key");
    std::fs::write(&key_file, format!("{FIXTURE_SECRET}\n")).unwrap();
    let key = FieldKey::derive(FIXTURE_SECRET.as_bytes());
    let connection = Connection::open(&db).unwrap();
    connection
        .execute_batch(
            "CREATE TABLE \"User\" (id INTEGER PRIMARY KEY, consent INTEGER, status INTEGER, lastSeen);
             CREATE TABLE \"Set\" (id INTEGER PRIMARY KEY, userId INTEGER, measies TEXT);",
        )
        .unwrap();
    let mut iv = 0u8;
    for (index, user) in users.iter().enumerate() {
        let id = index as i64 + 1;
        connection
            .execute(
                "INSERT INTO \"User\" VALUES (?1, ?2, ?3, ?4)",
                params![id, user.consent, user.status, user.last_seen],
            )
            .unwrap();
        for measies in &user.sets {
            iv = iv.wrapping_add(1);
            let stored = key.encrypt(measies.as_bytes(), [iv; 16]);
            connection
                .execute(
                    "INSERT INTO \"Set\" (userId, measies) VALUES (?1, ?2)",
                    params![id, stored],
                )
                .unwrap();
        }
    }
    (db, key_file)
}

/// Publishes a fixture database with k and extra arguments (quietly, unless they hold
/// `--verbose`).
pub fn publish_fixture(db: &Path, key: &Path, out: &Path, k: usize, extra: &[&str]) -> Run {
    let k = k.to_string();
    // Without a config of the test's own, the attacks are off (see `SMALL_DATABASE_CONFIG`).
    let config_arg = small_database_config();
    let mut args = vec!["--k", &k, "--seed", "3"];
    if !extra.contains(&"--config") {
        args.extend(["--config", config_arg]);
    }
    args.extend_from_slice(extra);
    publish_db(db, key, out, &args, &[])
}

/// `publish --source table` of `input`, described by `schema`, into `out` as of 2026-11-01, with
/// `extra` (its seed, key file or ledger, config, `-q`: whatever the test is about).
pub fn publish_table(
    input: impl AsRef<Path>,
    schema: impl AsRef<Path>,
    out: &Path,
    extra: &[&str],
) -> Run {
    let mut args = vec![
        "publish",
        "--source",
        "table",
        "--input",
        input.as_ref().to_str().unwrap(),
        "--schema",
        schema.as_ref().to_str().unwrap(),
        "--as-of",
        "2026-11-01",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    anonpub(&args, &[])
}

/// The config of fixture databases of a handful of people: the simulated attacks off, and sets
/// of one or two measurements published. Two releases of five or ten people differ by one person
/// in plain sight, so the default attack gates rightly refuse such a database, and fixture sets
/// are written by hand with a value or two, which the default `min_published_measurements = 3`
/// suppresses; the tests that use it are about something else. Such tests use k = 2 or 3, which
/// a config must allow explicitly (`min_k`).
pub const SMALL_DATABASE_CONFIG: &str =
    "min_published_measurements = 1\n[attacks]\nenabled = false\n[thresholds]\nmin_k = 2\n";

/// A file holding [`SMALL_DATABASE_CONFIG`], written once per test process, outside every test's
/// directory (some tests check what their directory holds).
pub fn small_database_config() -> &'static str {
    static CONFIG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CONFIG.get_or_init(|| {
        let path = std::env::temp_dir().join(format!(
            "anonpub-cli-small-database-{}.toml",
            std::process::id()
        ));
        std::fs::write(&path, SMALL_DATABASE_CONFIG).unwrap();
        path.to_str().unwrap().to_string()
    })
}

/// Reads a release CSV into a header and rows of cells.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// Whether a directory exists and holds anything.
pub fn has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false)
}

/// Rewrites `SHA256SUMS` of the release in `dir` over `files` (every release file but
/// `SHA256SUMS` itself), as a careful forger who edited one of them would.
pub fn reseal(dir: &Path, files: &[&str]) {
    use anonpub::release::checksums::{checksum_text, sha256_file};
    let entries = files
        .iter()
        .filter(|name| **name != "SHA256SUMS")
        .map(|name| (name.to_string(), sha256_file(&dir.join(name)).unwrap()))
        .collect();
    std::fs::write(dir.join("SHA256SUMS"), checksum_text(entries)).unwrap();
}

/// Seals a release again after a file in it was edited, as a careful forger would: every
/// manifest entry gets the file's new size and SHA-256, and `SHA256SUMS` is rewritten over every
/// file (the manifest included).
pub fn reseal_release(dir: &Path) {
    use anonpub::release::checksums::sha256_file;
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    for file in manifest["files"].as_array_mut().unwrap() {
        let path = dir.join(file["path"].as_str().unwrap());
        file["bytes"] = std::fs::metadata(&path).unwrap().len().into();
        file["sha256"] = sha256_file(&path).unwrap().into();
    }
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    reseal(dir, &names);
}

/// A path inside the repository (`repo("data/sample.sqlite")`).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A file of the altered client tables in `tests/data/alterations`.
pub fn data(name: &str) -> PathBuf {
    repo("tests/data/alterations").join(name)
}

/// A JSON file, parsed.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The `report.json` of the release in `out`.
pub fn report(out: &Path) -> serde_json::Value {
    json(&out.join("report.json"))
}

/// Writes `text` as `release.toml` in `dir` and returns its path, for `--config`.
pub fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("release.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The README's sample published with `extra` into a fresh temporary directory, which the
/// caller keeps alive.
pub fn published_sample(extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("release");
    publish_sample(&out, extra).expect_code(0);
    (dir, out)
}

/// `verify` of the release in `out`, with `extra`.
pub fn verify(out: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["verify", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    anonpub(&args, &[])
}

/// A small deterministic generator (xorshift64*), so that a table the tests write is the same on
/// every run, and unlike anything anonpub's own generator makes.
pub struct Draw(pub u64);

impl Draw {
    /// A uniform draw in [0, 1).
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}
