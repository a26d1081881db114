//! Errors of opening a database, and how SQLite errors become the domain's [`RepoError`].

use std::path::PathBuf;

use core_model::{CoachId, RepoError, TradingDate};
use rusqlite::ErrorCode;

/// Why a database cannot be opened, migrated or inspected.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory that should hold the database file cannot be created.
    #[error("cannot create the database directory {}", dir.display())]
    CreateDirectory {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database file does not exist (when it is only inspected, never created).
    #[error("the database {} does not exist", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// SQLite refused to open or set up the file.
    #[error("cannot open the database {}", path.display())]
    Open {
        /// The file (`:memory:` for an in-memory database).
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is a SQLite database of something else: it has tables but no migrations record.
    #[error(
        "the database {} is not a coach-plans database (it has tables but no schema_migrations table){}",
        path.display(),
        if *legacy { "; it looks like the predecessor's database: import it into a new database with `plan-server import-legacy PATH`" } else { "" }
    )]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
        /// Whether it looks like the predecessor's database (it has a `coach_plans` table).
        legacy: bool,
    },
    /// The database was migrated by a newer build than this one.
    #[error(
        "the database {} has schema version {found}, newer than version {latest}, the latest this build knows; run a newer build or use another database file",
        path.display()
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// The version recorded in the database.
        found: u32,
        /// The latest version this build knows.
        latest: u32,
    },
    /// A migration failed; the database stays at the version before it.
    #[error("migration {version} ({name}) of the database {} failed", path.display())]
    Migration {
        /// The file.
        path: PathBuf,
        /// The migration's version.
        version: u32,
        /// The migration's name.
        name: &'static str,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The connection pool could not be built.
    #[error("cannot build the connection pool of the database {}", path.display())]
    Pool {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: r2d2::Error,
    },
}

/// What an operator does about a database file this process cannot write (or create).
pub const FIX_WRITABLE: &str = "make the file and its directory writable for the user running this (SQLite also \
     writes -wal and -shm files beside the database), or give another path with --database or DATABASE_PATH";

/// What an operator does about a path that names no usable database file.
pub const FIX_PATH: &str =
    "set database.path, DATABASE_PATH or --database to a coach-plans database file, e.g. data/coach_plans.db";

impl OpenError {
    /// What an operator does about it, in a sentence.
    pub fn fix(&self) -> &'static str {
        const DAMAGED: &str = "check that database.path (DATABASE_PATH, --database) names the coach-plans database; \
             if it does, the file is damaged: restore it from a backup (docs/operations.md)";
        match self {
            Self::CreateDirectory { .. } => FIX_WRITABLE,
            Self::Missing { .. } => "give the path of an existing database with --database or DATABASE_PATH",
            Self::Open { source, .. } | Self::Migration { source, .. } => match source.sqlite_error_code() {
                Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => DAMAGED,
                Some(
                    ErrorCode::ReadOnly
                    | ErrorCode::CannotOpen
                    | ErrorCode::PermissionDenied
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::DiskFull,
                ) => FIX_WRITABLE,
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                    "another process holds the database locked: wait for it, or stop it, and start again"
                }
                _ => FIX_PATH,
            },
            Self::ForeignDatabase { legacy: true, .. } => {
                "import it with `plan-server import-legacy PATH` into a new database file"
            }
            Self::ForeignDatabase { legacy: false, .. } => {
                "give coach-plans a database file of its own: a new path is created at start"
            }
            Self::SchemaTooNew { .. } => "run the newer plan-server that migrated it, or use another database file",
            Self::Pool { .. } => FIX_WRITABLE,
        }
    }
}

/// Maps a SQLite error to the domain's error, keeping it as the source.
pub(crate) fn repo_error(error: rusqlite::Error) -> RepoError {
    classified(error.sqlite_error_code(), Box::new(error))
}

/// Maps a SQLite error shared by several callers (the writes of one group) to the domain's error, each keeping it as
/// the source.
pub(crate) fn shared_repo_error(error: &std::sync::Arc<rusqlite::Error>) -> RepoError {
    classified(error.sqlite_error_code(), Box::new(std::sync::Arc::clone(error)))
}

/// The domain's error for a SQLite error of this code.
fn classified(code: Option<ErrorCode>, source: core_model::BoxError) -> RepoError {
    match code {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => RepoError::Busy(source),
        Some(ErrorCode::ReadOnly | ErrorCode::DiskFull | ErrorCode::SystemIoFailure) => RepoError::Unwritable(source),
        _ => RepoError::Failure(source),
    }
}

/// Maps a SQLite error of a write that may make a second active plan for `coach` and `date`:
/// a violation of the one-active-plan index is [`RepoError::Duplicate`], anything else goes through [`repo_error`].
pub(crate) fn plan_write_error(error: rusqlite::Error, coach: &CoachId, date: TradingDate) -> RepoError {
    if violates_one_active_plan(&error) {
        RepoError::Duplicate { coach: coach.clone(), date }
    } else {
        repo_error(error)
    }
}

/// Whether the error is a violation of the unique index `plans_one_active_per_coach_date`.
///
/// SQLite names the index's columns in the message (`UNIQUE constraint failed: plans.coach, plans.trading_date`);
/// no other unique constraint of the schema covers exactly these columns.
fn violates_one_active_plan(error: &rusqlite::Error) -> bool {
    match error {
        rusqlite::Error::SqliteFailure(e, message) => {
            e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                && message.as_deref().is_some_and(|m| m.contains("plans.coach, plans.trading_date"))
        }
        _ => false,
    }
}

/// A Discord id that does not fit SQLite's signed 64-bit integer.
#[derive(Debug, thiserror::Error)]
#[error("id {0} does not fit a signed 64-bit integer")]
pub(crate) struct IdOutOfRange(pub(crate) u64);

/// A Discord id as stored.
pub(crate) fn id_to_sql(id: u64) -> rusqlite::Result<i64> {
    i64::try_from(id).map_err(|_| rusqlite::Error::ToSqlConversionFailure(Box::new(IdOutOfRange(id))))
}

/// An optional Discord id as stored.
pub(crate) fn opt_id_to_sql(id: Option<u64>) -> rusqlite::Result<Option<i64>> {
    id.map(id_to_sql).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_map_to_domain_errors() {
        let failure = |code: i32| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert!(matches!(repo_error(failure(rusqlite::ffi::SQLITE_BUSY)), RepoError::Busy(_)));
        assert!(matches!(repo_error(failure(rusqlite::ffi::SQLITE_LOCKED)), RepoError::Busy(_)));
        assert!(matches!(repo_error(failure(rusqlite::ffi::SQLITE_READONLY)), RepoError::Unwritable(_)));
        assert!(matches!(repo_error(failure(rusqlite::ffi::SQLITE_FULL)), RepoError::Unwritable(_)));
        assert!(matches!(repo_error(failure(rusqlite::ffi::SQLITE_IOERR_WRITE)), RepoError::Unwritable(_)));
        assert!(matches!(repo_error(failure(rusqlite::ffi::SQLITE_CORRUPT)), RepoError::Failure(_)));
        assert!(matches!(repo_error(rusqlite::Error::QueryReturnedNoRows), RepoError::Failure(_)));
    }

    #[test]
    fn ids_past_i64_are_refused_not_wrapped() {
        assert_eq!(id_to_sql(1_234_567_890_123_456_789).unwrap(), 1_234_567_890_123_456_789);
        let err = id_to_sql(u64::MAX).unwrap_err();
        assert!(err.to_string().contains("18446744073709551615"), "{err}");
        assert_eq!(opt_id_to_sql(None).unwrap(), None);
    }
}
