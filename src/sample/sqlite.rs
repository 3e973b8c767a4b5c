//! Writes the v3 `User` and `Set` tables the way Prisma creates them on SQLite.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{params, Connection};

use super::messy::{ORPHAN_OWNER_OFFSET, UNREADABLE_LAST_SEEN};
use super::UserRecord;
use crate::error::{Error, Result};

/// The v3 schema (Prisma `sites/backend/prisma/schema.prisma`, SQLite provider); DateTime columns
/// hold epoch milliseconds.
const SCHEMA: &str = r#"
CREATE TABLE "User" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "bio" TEXT NOT NULL DEFAULT '',
    "compare" BOOLEAN NOT NULL DEFAULT true,
    "consent" INTEGER NOT NULL DEFAULT 0,
    "control" INTEGER NOT NULL DEFAULT 1,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "data" TEXT NOT NULL DEFAULT '{}',
    "ehash" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "ihash" TEXT NOT NULL,
    "initial" TEXT NOT NULL,
    "imperial" BOOLEAN NOT NULL DEFAULT false,
    "jwtCalls" INTEGER NOT NULL DEFAULT 0,
    "keyCalls" INTEGER NOT NULL DEFAULT 0,
    "language" TEXT NOT NULL DEFAULT 'en',
    "lastSeen" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lusername" TEXT NOT NULL,
    "mfaSecret" TEXT NOT NULL DEFAULT '',
    "mfaEnabled" BOOLEAN NOT NULL DEFAULT false,
    "newsletter" BOOLEAN NOT NULL DEFAULT false,
    "password" TEXT NOT NULL,
    "patron" INTEGER NOT NULL DEFAULT 0,
    "role" TEXT NOT NULL DEFAULT 'user',
    "status" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" DATETIME NOT NULL,
    "username" TEXT NOT NULL
);
CREATE UNIQUE INDEX "User_ehash_key" ON "User"("ehash");
CREATE UNIQUE INDEX "User_lusername_key" ON "User"("lusername");
CREATE TABLE "Set" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "img" TEXT,
    "imperial" BOOLEAN NOT NULL DEFAULT false,
    "name" TEXT NOT NULL,
    "notes" TEXT NOT NULL DEFAULT '',
    "userId" INTEGER NOT NULL,
    "measies" TEXT NOT NULL DEFAULT '{}',
    "public" BOOLEAN NOT NULL DEFAULT false,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Set_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE TABLE "CuratedSet" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "img" TEXT,
    "nameDe" TEXT NOT NULL DEFAULT '',
    "nameEn" TEXT NOT NULL DEFAULT '',
    "measies" TEXT NOT NULL DEFAULT '{}',
    "updatedAt" DATETIME NOT NULL
);
"#;

fn sql_error(path: &Path, error: rusqlite::Error) -> Error {
    Error::Database {
        path: path.into(),
        table: "(sample)",
        row: None,
        problem: error.to_string(),
    }
}

/// Writes all users and their sets into the new, empty database file at `path`.
pub(super) fn write_database(
    path: &Path,
    batches: impl Iterator<Item = Vec<UserRecord>>,
) -> Result<()> {
    let mut connection = Connection::open(path).map_err(|e| sql_error(path, e))?;
    // Foreign keys are off, as in a database restored or edited without them: that is how the
    // orphan sets of `--messy` (and of production databases) come about.
    connection
        .execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = 8192; \
             PRAGMA foreign_keys = OFF;",
        )
        .map_err(|e| sql_error(path, e))?;
    connection
        .execute_batch(SCHEMA)
        .map_err(|e| sql_error(path, e))?;
    let transaction = connection.transaction().map_err(|e| sql_error(path, e))?;
    {
        let mut insert_user = transaction
            .prepare(
                "INSERT INTO \"User\" (id, bio, consent, createdAt, data, ehash, email, ihash, initial, imperial, language, \
                 lastSeen, lusername, mfaSecret, newsletter, password, patron, status, updatedAt, username) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?8, ?9, ?10, ?18, ?12, ?13, ?14, ?15, ?16, ?17, ?11, ?12)",
            )
            .map_err(|e| sql_error(path, e))?;
        let mut insert_set = transaction
            .prepare(
                "INSERT INTO \"Set\" (createdAt, imperial, name, notes, userId, measies, public, updatedAt) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?1)",
            )
            .map_err(|e| sql_error(path, e))?;
        for user in batches.flatten() {
            let last_seen = if user.last_seen_unreadable {
                Value::Text(UNREADABLE_LAST_SEEN.into())
            } else {
                Value::Integer(user.last_seen_ms)
            };
            insert_user
                .execute(params![
                    user.id,
                    user.bio,
                    user.consent,
                    user.created_ms,
                    user.data,
                    user.ehash,
                    user.email,
                    user.initial,
                    user.imperial,
                    user.language,
                    user.last_seen_ms,
                    user.username,
                    user.mfa_secret,
                    user.newsletter,
                    user.password,
                    user.patron,
                    user.status,
                    last_seen
                ])
                .map_err(|e| sql_error(path, e))?;
            for set in &user.sets {
                insert_set
                    .execute(params![
                        set.created_ms,
                        set.imperial,
                        set.name,
                        set.notes,
                        if set.orphan {
                            ORPHAN_OWNER_OFFSET + user.id
                        } else {
                            user.id
                        },
                        set.measies,
                        set.public
                    ])
                    .map_err(|e| sql_error(path, e))?;
            }
        }
    }
    transaction.commit().map_err(|e| sql_error(path, e))
}
