//! The schema's migrations for PostgreSQL: numbered `.sql` files under `migrations/postgres/` at the workspace root,
//! embedded at build time, with the same numbers and names as the SQLite adapter's (one version, one schema); and
//! the runner that applies the pending ones, each in its own transaction under an advisory lock, recording them in
//! `schema_migrations`.

use postgres::GenericClient;

use crate::error::PgOpenError;
use crate::search::SETUP_LOCK;

pub use core_model::SchemaStatus;

/// One migration: the file `migrations/postgres/{version:04}_{name}.sql`.
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

/// Every migration this build knows, in order. A unit test checks this list against `migrations/postgres/` and its
/// numbers and names against `migrations/sqlite/`.
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("../../../migrations/postgres/0001_initial.sql") },
    Migration {
        version: 2,
        name: "history_message",
        sql: include_str!("../../../migrations/postgres/0002_history_message.sql"),
    },
    Migration {
        version: 3,
        name: "import_digest",
        sql: include_str!("../../../migrations/postgres/0003_import_digest.sql"),
    },
    Migration {
        version: 4,
        name: "chart_images",
        sql: include_str!("../../../migrations/postgres/0004_chart_images.sql"),
    },
    Migration { version: 5, name: "search", sql: include_str!("../../../migrations/postgres/0005_search.sql") },
    Migration { version: 6, name: "access", sql: include_str!("../../../migrations/postgres/0006_access.sql") },
    Migration {
        version: 7,
        name: "change_count",
        sql: include_str!("../../../migrations/postgres/0007_change_count.sql"),
    },
    Migration {
        version: 8,
        name: "search_batches",
        sql: include_str!("../../../migrations/postgres/0008_search_batches.sql"),
    },
    Migration {
        version: 9,
        name: "change_count_slots",
        sql: include_str!("../../../migrations/postgres/0009_change_count_slots.sql"),
    },
    Migration {
        version: 10,
        name: "subscription_ids",
        sql: include_str!("../../../migrations/postgres/0010_subscription_ids.sql"),
    },
];

/// The latest schema version this build knows.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The migrations of this build not yet applied to a database whose schema stands at `status`, in order.
pub fn pending(status: &SchemaStatus) -> Vec<Migration> {
    MIGRATIONS.iter().filter(|m| m.version > status.current).copied().collect()
}

const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL
)";

/// The latest version recorded in `schema_migrations` of the current schema, 0 when the table is missing or empty.
pub(crate) fn recorded_version(client: &mut impl GenericClient) -> Result<u32, postgres::Error> {
    let row = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let version: i32 = client.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?.get(0);
    Ok(u32::try_from(version).unwrap_or(0))
}

/// Whether the current schema holds tables of something else: tables, but no `schema_migrations`.
pub(crate) fn is_foreign(client: &mut impl GenericClient) -> Result<bool, postgres::Error> {
    let row = client.query_one(
        "SELECT COUNT(*) FILTER (WHERE table_name = 'schema_migrations') > 0, COUNT(*) \
         FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        &[],
    )?;
    let (ours, tables): (bool, i64) = (row.get(0), row.get(1));
    Ok(!ours && tables > 0)
}

/// Applies every pending migration, each in its own transaction holding the setup advisory lock, and returns the
/// versions applied (none when the schema is up to date).
///
/// Safe to run from many processes at once: they take turns, and a migration another applied meanwhile is skipped.
///
/// # Errors
/// [`PgOpenError::SchemaTooNew`] when the database records a version newer than this build knows (nothing is
/// changed), [`PgOpenError::ForeignDatabase`] for a database of something else, [`PgOpenError::Migration`] when a
/// migration fails (the database stays at the version before it), [`PgOpenError::Setup`] for other failures.
pub(crate) fn migrate(client: &mut postgres::Client, url: &str) -> Result<Vec<u32>, PgOpenError> {
    let setup = |source| PgOpenError::Setup { url: url.to_owned(), source };
    // Up to date: nothing to write and nothing to lock, so a role that may only read opens too.
    let current = recorded_version(client).map_err(setup)?;
    if current > latest_version() {
        return Err(too_new(url, current));
    }
    if current == latest_version() {
        return Ok(Vec::new());
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        let failed = |source| PgOpenError::Migration {
            url: url.to_owned(),
            version: migration.version,
            name: migration.name,
            source,
        };
        let mut tx = client.transaction().map_err(failed)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SETUP_LOCK]).map_err(failed)?;
        if migration.version == 1 && is_foreign(&mut tx).map_err(failed)? {
            return Err(PgOpenError::ForeignDatabase { url: url.to_owned() });
        }
        let exists: bool =
            tx.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).map_err(failed)?.get(0);
        if !exists {
            tx.batch_execute(CREATE_SCHEMA_MIGRATIONS).map_err(failed)?;
        }
        let current = recorded_version(&mut tx).map_err(failed)?;
        if current > latest_version() {
            return Err(too_new(url, current));
        }
        if current >= migration.version {
            continue;
        }
        tx.batch_execute(migration.sql).map_err(failed)?;
        let version = i32::try_from(migration.version).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
            &[&version, &migration.name],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!(version = migration.version, name = migration.name, database = %url, "applied migration");
        applied.push(migration.version);
    }
    Ok(applied)
}

fn too_new(url: &str, found: u32) -> PgOpenError {
    PgOpenError::SchemaTooNew { url: url.to_owned(), found, latest: latest_version() }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn files(dir: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_migration_file_is_embedded_and_matches_the_sqlite_steps() {
        let embedded: Vec<String> = MIGRATIONS.iter().map(Migration::file_name).collect();
        assert_eq!(files("postgres"), embedded, "migrations/postgres/ and MIGRATIONS must list the same files");
        assert_eq!(files("sqlite"), embedded, "one version number means one schema: the same steps for both backends");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
        for m in MIGRATIONS {
            assert_eq!(std::fs::read_to_string(dir.join(m.file_name())).unwrap(), m.sql, "{}", m.file_name());
        }
        let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=latest_version()).collect::<Vec<_>>());
    }
}
