//! `anonpub sample`.

use crate::fixtures::*;

#[test]
fn sample_is_deterministic_and_its_key_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = ["a", "b"]
        .iter()
        .map(|n| {
            (
                dir.path().join(format!("{n}.sqlite")),
                dir.path().join(format!("{n}.key")),
            )
        })
        .collect();
    for (db, key) in &paths {
        anonpub(
            &[
                "sample",
                "--users",
                "300",
                "--seed",
                "9",
                "--db",
                db.to_str().unwrap(),
                "--key-file",
                key.to_str().unwrap(),
                "--quiet",
            ],
            &[],
        )
        .expect_code(0);
    }
    assert_eq!(
        std::fs::read(&paths[0].0).unwrap(),
        std::fs::read(&paths[1].0).unwrap()
    );
    assert_eq!(
        std::fs::read(&paths[0].1).unwrap(),
        std::fs::read(&paths[1].1).unwrap()
    );
    let out = dir.path().join("release");
    let (db, key) = &paths[0];
    anonpub(
        &[
            "publish",
            "--db",
            db.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
            "--as-of",
            "2026-11-01",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
        &[],
    )
    .expect_code(0);
    let connection = rusqlite::Connection::open(db).unwrap();
    let email: String = connection
        .query_row("SELECT email FROM \"User\" LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert!(
        email.starts_with("{\"iv\":\""),
        "email must be stored encrypted"
    );
    let existing = anonpub(
        &[
            "sample",
            "--users",
            "3",
            "--db",
            db.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ],
        &[],
    )
    .expect_code(2);
    assert!(existing.stderr().contains("--force"));
}
