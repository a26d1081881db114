//! The schema's migrations: numbered `.sql` files under `migrations/sqlite/` at the workspace root, embedded at build time,
//! and the runner that applies the pending ones, each in its own transaction, recording them in `schema_migrations`.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::OpenError;
use crate::timestamp;

/// One migration: the file `migrations/sqlite/{version:04}_{name}.sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its number, from 1, without gaps.
    pub version: u32,
    /// Its name, the file name after the number.
    pub name: &'static str,
    /// The SQL it runs.
    pub sql: &'static str,
}

impl Migration {
    /// The file name, e.g. `0001_initial.sql`.
    pub fn file_name(&self) -> String {
        format!("{:04}_{}.sql", self.version, self.name)
    }
}

/// Every migration this build knows, in order. A unit test checks this list against the `migrations/sqlite/` directory.
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("../../../migrations/sqlite/0001_initial.sql") },
    Migration {
        version: 2,
        name: "history_message",
        sql: include_str!("../../../migrations/sqlite/0002_history_message.sql"),
    },
    Migration {
        version: 3,
        name: "import_digest",
        sql: include_str!("../../../migrations/sqlite/0003_import_digest.sql"),
    },
    Migration {
        version: 4,
        name: "chart_images",
        sql: include_str!("../../../migrations/sqlite/0004_chart_images.sql"),
    },
    Migration { version: 5, name: "search", sql: include_str!("../../../migrations/sqlite/0005_search.sql") },
    Migration { version: 6, name: "access", sql: include_str!("../../../migrations/sqlite/0006_access.sql") },
    Migration {
        version: 7,
        name: "change_count",
        sql: include_str!("../../../migrations/sqlite/0007_change_count.sql"),
    },
    Migration {
        version: 8,
        name: "search_batches",
        sql: include_str!("../../../migrations/sqlite/0008_search_batches.sql"),
    },
    Migration {
        version: 9,
        name: "change_count_slots",
        sql: include_str!("../../../migrations/sqlite/0009_change_count_slots.sql"),
    },
    Migration {
        version: 10,
        name: "subscription_ids",
        sql: include_str!("../../../migrations/sqlite/0010_subscription_ids.sql"),
    },
];

/// The latest schema version this build knows.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

pub use core_model::SchemaStatus;

/// The migrations of this build not yet applied to a database whose schema stands at `status`, in order.
pub fn pending(status: &SchemaStatus) -> Vec<Migration> {
    MIGRATIONS.iter().filter(|m| m.version > status.current).copied().collect()
}

const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// Reads where the schema of the database at `path` stands, without changing the file (it is opened read-only).
///
/// # Errors
/// [`OpenError::Missing`] when the file does not exist, [`OpenError::Open`] when it cannot be read as a SQLite
/// database, [`OpenError::ForeignDatabase`] when it has tables but no migrations record.
pub fn inspect(path: &Path) -> Result<SchemaStatus, OpenError> {
    if !path.exists() {
        return Err(OpenError::Missing { path: path.to_owned() });
    }
    let open_error = |source| OpenError::Open { path: path.to_owned(), source };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(open_error)?;
    check_is_ours(&conn, path)?;
    let current = recorded_version(&conn).map_err(open_error)?;
    Ok(SchemaStatus { current, latest: latest_version() })
}

/// The latest version recorded in `schema_migrations`, 0 when the table is missing or empty.
pub(crate) fn recorded_version(conn: &Connection) -> rusqlite::Result<u32> {
    if !has_table(conn, "schema_migrations")? {
        return Ok(0);
    }
    conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |row| row.get(0))
}

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", [name], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

/// Refuses a database that has tables but no `schema_migrations`: it belongs to something else.
/// One statement reads the whole answer, so a concurrent migrator cannot make it half-true.
fn check_is_ours(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let (ours, tables, legacy): (bool, u32, bool) = conn
        .query_row(
            "SELECT COUNT(*) FILTER (WHERE name = 'schema_migrations') > 0, \
                    COUNT(*) FILTER (WHERE name NOT LIKE 'sqlite_%'), \
                    COUNT(*) FILTER (WHERE name = 'coach_plans') > 0 \
             FROM sqlite_schema WHERE type = 'table'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .map_err(|source| OpenError::Open { path: path.to_owned(), source })?;
    if ours || tables == 0 { Ok(()) } else { Err(OpenError::ForeignDatabase { path: path.to_owned(), legacy }) }
}

/// Applies every pending migration to the database behind `conn`, each in its own `BEGIN IMMEDIATE` transaction,
/// and returns the versions applied (none when the schema is up to date).
///
/// Safe to run from two processes at once: a migration another process applied meanwhile is skipped.
///
/// # Errors
/// [`OpenError::SchemaTooNew`] when the database records a version newer than this build knows (nothing is changed),
/// [`OpenError::ForeignDatabase`] for a database of something else, [`OpenError::Migration`] when a migration fails
/// (the database stays at the version before it), [`OpenError::Open`] for other SQLite failures.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, now: Timestamp) -> Result<Vec<u32>, OpenError> {
    let open_error = |source| OpenError::Open { path: path.to_owned(), source };
    // Up to date: nothing to write, so nothing is locked, and a database this process may only read opens too.
    let read = conn.transaction().map_err(open_error)?;
    check_is_ours(&read, path)?;
    let current = recorded_version(&read).map_err(open_error)?;
    drop(read);
    if current > latest_version() {
        return Err(too_new(path, current));
    }
    if current == latest_version() && current > 0 {
        return Ok(Vec::new());
    }
    // Every step that may write takes the write lock first (`BEGIN IMMEDIATE`): a deferred transaction that turns
    // into a write while another process migrates fails at once instead of waiting.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(open_error)?;
    check_is_ours(&tx, path)?;
    tx.execute_batch(CREATE_SCHEMA_MIGRATIONS).map_err(open_error)?;
    let status = SchemaStatus { current: recorded_version(&tx).map_err(open_error)?, latest: latest_version() };
    if status.is_newer_than_build() {
        return Err(too_new(path, status.current));
    }
    tx.commit().map_err(open_error)?;
    let mut applied = Vec::new();
    for migration in pending(&status) {
        let failed = |source| OpenError::Migration {
            path: path.to_owned(),
            version: migration.version,
            name: migration.name,
            source,
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
        let current = recorded_version(&tx).map_err(failed)?;
        if current > latest_version() {
            return Err(too_new(path, current));
        }
        if current >= migration.version {
            continue;
        }
        tx.execute_batch(migration.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (migration.version, migration.name, timestamp::to_text(now)),
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!(version = migration.version, name = migration.name, database = %path.display(), "applied migration");
        applied.push(migration.version);
    }
    Ok(applied)
}

fn too_new(path: &Path, found: u32) -> OpenError {
    OpenError::SchemaTooNew { path: PathBuf::from(path), found, latest: latest_version() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_and_every_embedded_one_is_a_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| !name.starts_with('.'))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = MIGRATIONS.iter().map(Migration::file_name).collect();
        assert_eq!(
            on_disk, embedded,
            "migrations/sqlite/ and storage::migrations::MIGRATIONS must list the same files"
        );
        for m in MIGRATIONS {
            assert_eq!(
                std::fs::read_to_string(dir.join(m.file_name())).unwrap(),
                m.sql,
                "{} is embedded as is",
                m.file_name()
            );
        }
    }

    #[test]
    fn versions_count_up_from_one_without_gaps() {
        let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=u32::try_from(MIGRATIONS.len()).unwrap()).collect::<Vec<_>>());
        assert_eq!(latest_version(), u32::try_from(MIGRATIONS.len()).unwrap());
        assert!(
            MIGRATIONS.iter().all(|m| !m.name.is_empty()
                && m.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        );
    }

    #[test]
    fn migrating_twice_applies_each_migration_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        let now = Timestamp::from_second(1_762_700_000).unwrap();
        assert_eq!(migrate(&mut conn, path, now).unwrap(), (1..=latest_version()).collect::<Vec<_>>());
        assert_eq!(migrate(&mut conn, path, now).unwrap(), Vec::<u32>::new());
        assert_eq!(recorded_version(&conn).unwrap(), latest_version());
        let applied_at: String =
            conn.query_row("SELECT applied_at FROM schema_migrations WHERE version = 1", [], |r| r.get(0)).unwrap();
        assert_eq!(applied_at, "2025-11-09T14:53:20.000000Z");
    }

    #[test]
    fn pending_lists_what_is_left() {
        let status = SchemaStatus { current: 0, latest: latest_version() };
        assert_eq!(pending(&status).len(), MIGRATIONS.len());
        assert!(!status.is_up_to_date());
        let done = SchemaStatus { current: latest_version(), latest: latest_version() };
        assert!(pending(&done).is_empty() && done.is_up_to_date() && !done.is_newer_than_build());
    }
}
