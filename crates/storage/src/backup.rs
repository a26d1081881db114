//! Online backup of a coach-plans database: a consistent copy taken while the bot and the API keep reading and
//! writing it (`plan-server backup FILE`).
//!
//! The copy is written by SQLite's `VACUUM INTO` from a read-only connection, inside one read transaction: it holds
//! every transaction committed before the backup started and nothing of one committed after, and writers are never
//! blocked (in write-ahead-log mode a reader does not stop a writer). It goes to a temporary file beside the
//! destination, is flushed to disk and checked (`PRAGMA integrity_check`, the schema version, the plans), and only
//! then takes the destination's name, so a failed or interrupted backup never leaves a half-written file there.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::OpenError;
use crate::migrations;

/// How [`backup`] treats an existing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overwrite {
    /// An existing destination file is an error ([`BackupError::DestinationExists`]) and stays as it was.
    #[default]
    Refuse,
    /// An existing destination file is replaced, in one rename, once the new copy is complete.
    Replace,
}

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The copy's path.
    pub destination: PathBuf,
    /// Its schema version.
    pub schema_version: u32,
    /// Plans in the copy, deleted ones included.
    pub plans: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Why a backup could not be made. Nothing is left at the destination (an existing file there is unchanged).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database cannot be read as a coach-plans database (missing, not SQLite, another program's).
    #[error("cannot back up the database")]
    Source(#[source] OpenError),
    /// The destination exists and [`Overwrite::Refuse`] was asked for.
    #[error("{} already exists; choose another file or pass --force to replace it", path.display())]
    DestinationExists {
        /// The destination.
        path: PathBuf,
    },
    /// The destination is the database itself.
    #[error("the backup file {} is the database itself", path.display())]
    SameFile {
        /// The destination.
        path: PathBuf,
    },
    /// SQLite failed to read the database or write the copy.
    #[error("cannot copy the database {} to {}", source_path.display(), destination.display())]
    Copy {
        /// The database.
        source_path: PathBuf,
        /// The destination.
        destination: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The copy was written but does not pass the integrity check.
    #[error("the copy of the database failed its integrity check: {report}")]
    Corrupt {
        /// SQLite's first lines of report.
        report: String,
    },
    /// A file operation around the copy failed (creating the directory, flushing, renaming).
    #[error("cannot {action} {}", path.display())]
    File {
        /// What was being done, in words (`flush the backup file to disk`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// How long the backup's read waits for a lock another connection holds (only a migration or a switch of journal
/// mode takes one that a reader must wait for).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Copies the coach-plans database at `database` to `destination`, online: other connections and processes keep
/// reading and writing while it runs, and the copy is one consistent state of the database. Missing parent
/// directories of `destination` are created.
///
/// # Errors
/// [`BackupError::Source`] when `database` is missing or not a coach-plans database,
/// [`BackupError::DestinationExists`] when `destination` exists and `overwrite` is [`Overwrite::Refuse`],
/// [`BackupError::SameFile`] when `destination` is `database`, [`BackupError::Copy`] when SQLite fails,
/// [`BackupError::Corrupt`] when the copy fails its check, [`BackupError::File`] for file-system failures.
pub fn backup(database: &Path, destination: &Path, overwrite: Overwrite) -> Result<BackupSummary, BackupError> {
    migrations::inspect(database).map_err(BackupError::Source)?;
    if destination.exists() {
        if same_file(database, destination) {
            return Err(BackupError::SameFile { path: destination.to_owned() });
        }
        if overwrite == Overwrite::Refuse {
            return Err(BackupError::DestinationExists { path: destination.to_owned() });
        }
    }
    let dir = match destination.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|source| BackupError::File {
        action: "create the backup directory",
        path: dir.clone(),
        source,
    })?;
    let partial = partial_path(destination);
    // A leftover of an interrupted backup of the same name: it was never a complete copy.
    let _ = std::fs::remove_file(&partial);
    let result = write_copy(database, destination, &partial).and_then(|summary| {
        publish(&partial, destination, overwrite)?;
        sync_dir(&dir);
        Ok(summary)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Writes and checks the copy at `partial`; the summary names `destination`.
fn write_copy(database: &Path, destination: &Path, partial: &Path) -> Result<BackupSummary, BackupError> {
    let copy_error =
        |source| BackupError::Copy { source_path: database.to_owned(), destination: destination.to_owned(), source };
    let conn =
        Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(copy_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(copy_error)?;
    let partial_name = partial.to_str().ok_or_else(|| BackupError::File {
        action: "name in SQL the backup file",
        path: partial.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not valid UTF-8"),
    })?;
    conn.execute("VACUUM INTO ?1", [partial_name]).map_err(copy_error)?;
    drop(conn);
    File::open(partial).and_then(|file| file.sync_all()).map_err(|source| BackupError::File {
        action: "flush to disk the backup file",
        path: partial.to_owned(),
        source,
    })?;

    let copy = Connection::open_with_flags(partial, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(copy_error)?;
    let report: Vec<String> = copy
        .prepare("PRAGMA integrity_check(5)")
        .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
        .map_err(copy_error)?;
    if report != ["ok"] {
        return Err(BackupError::Corrupt { report: report.join("; ") });
    }
    let schema_version = migrations::recorded_version(&copy).map_err(copy_error)?;
    let plans: i64 = copy.query_row("SELECT COUNT(*) FROM plans", [], |row| row.get(0)).map_err(copy_error)?;
    let plans = u64::try_from(plans).unwrap_or_default();
    drop(copy);
    let bytes = std::fs::metadata(partial).map(|m| m.len()).map_err(|source| BackupError::File {
        action: "read the size of",
        path: partial.to_owned(),
        source,
    })?;
    Ok(BackupSummary { destination: destination.to_owned(), schema_version, plans, bytes })
}

/// Gives the complete copy its name: a hard link when an existing file must not be replaced (it fails, atomically,
/// when one appeared meanwhile), a rename otherwise.
fn publish(partial: &Path, destination: &Path, overwrite: Overwrite) -> Result<(), BackupError> {
    let file_error =
        |source| BackupError::File { action: "move the finished backup to", path: destination.to_owned(), source };
    match overwrite {
        Overwrite::Replace => std::fs::rename(partial, destination).map_err(file_error),
        Overwrite::Refuse => match std::fs::hard_link(partial, destination) {
            Ok(()) => {
                let _ = std::fs::remove_file(partial);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(BackupError::DestinationExists { path: destination.to_owned() })
            }
            Err(e) => Err(file_error(e)),
        },
    }
}

/// The temporary name the copy is written under: `plans.db` → `.plans.db.partial`, in the same directory.
fn partial_path(destination: &Path) -> PathBuf {
    let name = destination.file_name().map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    destination.with_file_name(format!(".{name}.partial"))
}

/// Whether the two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Flushes the directory entry of the new file (best effort: not every platform can open a directory).
fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use core_model::{Author, CoachId, NewPlan, PlanRepository as _, PlanSource, PlanText, TradingDate, UserId};
    use jiff::Timestamp;

    use super::*;
    use crate::{SqliteStore, StoreOptions};

    fn store(dir: &Path) -> (SqliteStore, PathBuf) {
        let path = dir.join("plans.db");
        (SqliteStore::open(&path, StoreOptions::default()).unwrap(), path)
    }

    fn post(store: &SqliteStore, day: u8, text: &str) {
        let plan = NewPlan {
            coach: CoachId::new("d").unwrap(),
            date: TradingDate::parse(&format!("2025-11-{day:02}")).unwrap(),
            text: PlanText::new(text).unwrap(),
            author: Author { user_id: Some(UserId(7)), display_name: "Ann".into() },
            source: PlanSource::default(),
            charts: Vec::new(),
        };
        store.insert(plan, Timestamp::UNIX_EPOCH).unwrap();
    }

    #[test]
    fn the_copy_holds_every_plan_and_opens_as_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = store(dir.path());
        post(&store, 3, "Long SPY above 600 🚀");
        post(&store, 4, "Short QQQ under 500");
        let destination = dir.path().join("backups/2025-11-04.db");

        let summary = backup(&path, &destination, Overwrite::Refuse).unwrap();
        assert_eq!((summary.plans, summary.schema_version), (2, migrations::latest_version()), "{summary:?}");
        assert_eq!(summary.bytes, std::fs::metadata(&destination).unwrap().len());
        assert!(!partial_path(&destination).exists());
        let copy = SqliteStore::open(&destination, StoreOptions::default()).unwrap();
        let date = TradingDate::parse("2025-11-03").unwrap();
        let plan = copy.find_active(&CoachId::new("d").unwrap(), date).unwrap().expect("the plan is in the copy");
        assert_eq!(plan.text.as_str(), "Long SPY above 600 🚀");
    }

    #[test]
    fn an_existing_file_is_kept_unless_replacing_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let (store, path) = store(dir.path());
        post(&store, 3, "first");
        let destination = dir.path().join("backup.db");
        std::fs::write(&destination, "precious").unwrap();

        let err = backup(&path, &destination, Overwrite::Refuse).unwrap_err();
        assert!(matches!(err, BackupError::DestinationExists { .. }), "{err:?}");
        assert!(err.to_string().ends_with("already exists; choose another file or pass --force to replace it"));
        assert_eq!(std::fs::read(&destination).unwrap(), b"precious");

        let summary = backup(&path, &destination, Overwrite::Replace).unwrap();
        assert_eq!(summary.plans, 1);
        let err = backup(&path, &path, Overwrite::Replace).unwrap_err();
        assert!(matches!(err, BackupError::SameFile { .. }), "{err:?}");
    }

    #[test]
    fn a_missing_or_foreign_database_is_not_backed_up() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("backup.db");
        let err = backup(&dir.path().join("none.db"), &destination, Overwrite::Refuse).unwrap_err();
        assert!(matches!(err, BackupError::Source(OpenError::Missing { .. })), "{err:?}");
        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE t (x INTEGER);").unwrap();
        let err = backup(&foreign, &destination, Overwrite::Refuse).unwrap_err();
        assert!(matches!(err, BackupError::Source(OpenError::ForeignDatabase { .. })), "{err:?}");
        assert!(!destination.exists() && !partial_path(&destination).exists());
    }
}
