//! A look at a database file for `plan-server doctor`: can it be opened, is it intact, is its schema current, can it
//! be written. Nothing is changed: the file is not created, migrated or written to.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::OpenError;
use crate::migrations::{self, SchemaStatus};

/// What [`probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The file does not exist; opening the store will create it (and `dir`, the nearest directory that exists, is
    /// where it or its missing parent directories will be created).
    WillBeCreated {
        /// The nearest existing directory above the file.
        dir: PathBuf,
    },
    /// The file is a coach-plans database.
    Exists {
        /// Where its schema stands.
        schema: SchemaStatus,
        /// Whether a write transaction can be started on it (`false` for a read-only file or directory).
        writable: bool,
    },
}

/// Why a database path cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The path names a directory.
    #[error("{} is a directory, not a database file", path.display())]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// Something on the way to the file is a file, so the file can never be created.
    #[error("{} cannot be created: {} is not a directory", path.display(), blocker.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
        /// The file in the way.
        blocker: PathBuf,
    },
    /// The file exists but cannot be used.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// SQLite's integrity check found the file damaged.
    #[error("the database {} is damaged: {detail}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The check's first finding.
        detail: String,
    },
}

impl ProbeError {
    /// What an operator does about it, in a sentence.
    pub fn fix(&self) -> &'static str {
        match self {
            Self::IsDirectory { .. } | Self::NotADirectory { .. } => crate::FIX_PATH,
            Self::Open(error) => error.fix(),
            Self::Damaged { .. } => {
                "restore the file from a backup (docs/operations.md); `plan-server backup` refuses a damaged database"
            }
        }
    }
}

/// Looks at the database at `path` without changing anything.
///
/// # Errors
/// [`ProbeError`] when the path can never hold the database, or the file is not a usable coach-plans database
/// (not SQLite, another program's, the predecessor's, or migrated by a newer build).
pub fn probe(path: &Path) -> Result<Probe, ProbeError> {
    if path.is_dir() {
        return Err(ProbeError::IsDirectory { path: path.to_owned() });
    }
    if !path.exists() {
        let mut dir = path.parent();
        while let Some(candidate) = dir {
            let candidate_path = if candidate.as_os_str().is_empty() { Path::new(".") } else { candidate };
            if candidate_path.is_dir() {
                return Ok(Probe::WillBeCreated { dir: candidate_path.to_owned() });
            }
            if candidate_path.exists() {
                return Err(ProbeError::NotADirectory { path: path.to_owned(), blocker: candidate_path.to_owned() });
            }
            dir = candidate.parent();
        }
        return Ok(Probe::WillBeCreated { dir: PathBuf::from(".") });
    }
    let schema = migrations::inspect(path)?;
    if schema.is_newer_than_build() {
        return Err(ProbeError::Open(OpenError::SchemaTooNew {
            path: path.to_owned(),
            found: schema.current,
            latest: schema.latest,
        }));
    }
    if let Some(detail) = damage(path) {
        return Err(ProbeError::Damaged { path: path.to_owned(), detail });
    }
    Ok(Probe::Exists { schema, writable: can_write(path) })
}

/// What SQLite's quick integrity check finds wrong with the file, if anything (it reads every page, and changes
/// nothing). Only a finding, or an error that says the file is corrupt, is damage: a check that could not run (the
/// file locked, say) is not.
fn damage(path: &Path) -> Option<String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let corrupt = |error: rusqlite::Error| {
        matches!(
            error.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        )
        .then(|| error.to_string())
    };
    let conn = match Connection::open_with_flags(path, flags) {
        Ok(conn) => conn,
        Err(error) => return corrupt(error),
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(2));
    match conn.query_row("PRAGMA quick_check(1)", [], |row| row.get::<_, String>(0)) {
        Ok(result) if result == "ok" => None,
        Ok(finding) => Some(finding.chars().take(200).collect()),
        Err(error) => corrupt(error),
    }
}

/// Whether a write transaction can begin: the write lock is taken and released at once, nothing is written. A file
/// SQLite opened read-only (it may, silently, when the file cannot be written) cannot.
fn can_write(path: &Path) -> bool {
    let Ok(conn) =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
    else {
        return false;
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(2));
    !conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) && conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SqliteStore, StoreOptions};

    #[test]
    fn a_missing_file_will_be_created_in_the_nearest_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/plans.db");
        assert_eq!(probe(&path).unwrap(), Probe::WillBeCreated { dir: dir.path().to_owned() });
        assert!(!path.exists() && !dir.path().join("a").exists(), "probing creates nothing");
    }

    #[test]
    fn paths_that_can_never_work_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(probe(dir.path()), Err(ProbeError::IsDirectory { .. })));
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        match probe(&file.join("plans.db")) {
            Err(ProbeError::NotADirectory { blocker, .. }) => assert_eq!(blocker, file),
            other => panic!("{other:?}"),
        }
        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![7u8; 4096]).unwrap();
        assert!(matches!(probe(&garbage), Err(ProbeError::Open(_))));
    }

    #[test]
    fn a_current_database_is_reported_writable_and_left_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        drop(SqliteStore::open(&path, StoreOptions::default()).unwrap());
        let before = std::fs::read(&path).unwrap();
        match probe(&path).unwrap() {
            Probe::Exists { schema, writable } => {
                assert!(schema.is_up_to_date(), "{schema:?}");
                assert!(writable);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_damaged_file_is_found_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        drop(SqliteStore::open(&path, StoreOptions::default()).unwrap());
        {
            // Pages of data past the ones the schema check reads.
            let conn = Connection::open(&path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            conn.execute_batch("CREATE TABLE filler (x BLOB);").unwrap();
            for _ in 0..400 {
                conn.execute("INSERT INTO filler VALUES (randomblob(500))", []).unwrap();
            }
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        }
        assert!(matches!(probe(&path), Ok(Probe::Exists { .. })), "intact at first");
        let mut bytes = std::fs::read(&path).unwrap();
        let end = bytes.len();
        bytes[end - 8192..end - 4096].fill(0x5a);
        std::fs::write(&path, bytes).unwrap();
        match probe(&path) {
            Err(ProbeError::Damaged { detail, .. }) => assert!(!detail.is_empty()),
            other => panic!("the damage is found: {other:?}"),
        }
    }
}
