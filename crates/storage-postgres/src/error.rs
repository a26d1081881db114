//! Errors of opening a PostgreSQL database, and how the server's errors become the domain's [`RepoError`]. No text
//! here holds the database password: URLs are shown without it, and the client's errors never carry it.

use std::sync::Arc;

use core_model::{BoxError, CoachId, RepoError, TradingDate};
use postgres::error::SqlState;

use crate::url::UrlError;

/// Why a PostgreSQL database cannot be opened, migrated or inspected.
#[derive(Debug, thiserror::Error)]
pub enum PgOpenError {
    /// The URL cannot be used.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The server cannot be reached, or refused the connection (address, password, TLS, permissions).
    #[error("cannot connect to the database {url}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// Why.
        #[source]
        source: postgres::Error,
    },
    /// The server's TLS certificate is not trusted (or not for this host name).
    #[error(
        "cannot connect to the database {url}: its TLS certificate is not trusted; give the PEM file of the CA that \
         signed it with sslrootcert=PATH in the URL (or, on a network you trust, sslmode=disable)"
    )]
    Certificate {
        /// The URL, without its password.
        url: String,
        /// Why.
        #[source]
        source: postgres::Error,
    },
    /// The database holds tables of something else: tables but no migrations record.
    #[error(
        "the database {url} is not a coach-plans database (it has tables but no schema_migrations table); use an \
         empty database"
    )]
    ForeignDatabase {
        /// The URL, without its password.
        url: String,
    },
    /// The database was migrated by a newer build than this one.
    #[error(
        "the database {url} has schema version {found}, newer than version {latest}, the latest this build knows; run \
         a newer build or use another database"
    )]
    SchemaTooNew {
        /// The URL, without its password.
        url: String,
        /// The version recorded in the database.
        found: u32,
        /// The latest version this build knows.
        latest: u32,
    },
    /// A migration failed; the database stays at the version before it.
    #[error("migration {version} ({name}) of the database {url} failed")]
    Migration {
        /// The URL, without its password.
        url: String,
        /// The migration's version.
        version: u32,
        /// The migration's name.
        name: &'static str,
        /// Why.
        #[source]
        source: postgres::Error,
    },
    /// A query of the setup (schema checks, index rebuilds) failed.
    #[error("cannot set up the database {url}")]
    Setup {
        /// The URL, without its password.
        url: String,
        /// Why.
        #[source]
        source: postgres::Error,
    },
    /// The connection pool could not be built.
    #[error("cannot build the connection pool of the database {url}")]
    Pool {
        /// The URL, without its password.
        url: String,
        /// Why.
        #[source]
        source: r2d2::Error,
    },
}

impl PgOpenError {
    /// What an operator does about it, in a sentence.
    pub fn fix(&self) -> String {
        let privileges = |url: &str| {
            format!(
                "grant the user of {url} CREATE on the schema (for the first start and migrations) and SELECT, \
                 INSERT, UPDATE and DELETE on its tables, or run the first start as the database's owner"
            )
        };
        match self {
            Self::Url(_) => "set database.url or DATABASE_URL to postgres://USER:PASSWORD@HOST:5432/DATABASE (or \
                             unset it for SQLite)"
                .to_owned(),
            Self::Connect { url, source } if source.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                privileges(url)
            }
            Self::Connect { url, .. } => format!(
                "check that the server at {url} is running and reachable from here, and the user, password, database \
                 and sslmode of database.url (DATABASE_URL)"
            ),
            Self::Certificate { .. } => {
                "give the CA's PEM file with sslrootcert=PATH in the URL, or sslmode=disable on a trusted network"
                    .to_owned()
            }
            Self::ForeignDatabase { .. } => {
                "give coach-plans a database of its own: create an empty one and point database.url at it".to_owned()
            }
            Self::SchemaTooNew { .. } => {
                "run the newer plan-server that migrated it, or use another database".to_owned()
            }
            Self::Migration { url, source, .. } | Self::Setup { url, source }
                if source.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) =>
            {
                privileges(url)
            }
            Self::Migration { .. } | Self::Setup { .. } => {
                "the database stays as it was: look at the server's log for the cause, fix it, and start again"
                    .to_owned()
            }
            Self::Pool { url, .. } => format!("check that the server at {url} is running and reachable from here"),
        }
    }
}

/// Maps a server or client error to the domain's error, keeping it as the source.
pub(crate) fn repo_error(error: postgres::Error) -> RepoError {
    let Some(code) = error.code() else {
        // The connection lost (the server stopped or unreachable); else protocol or conversion errors.
        if error.is_closed() {
            return RepoError::Unavailable(Box::new(error));
        }
        return RepoError::Failure(Box::new(error));
    };
    // The server shutting down or starting up, or a connection exception (class 08).
    if [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW].contains(code)
        || code.code().starts_with("08")
    {
        return RepoError::Unavailable(Box::new(error));
    }
    if [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::QUERY_CANCELED,
        SqlState::TOO_MANY_CONNECTIONS,
    ]
    .contains(code)
    {
        return RepoError::Busy(Box::new(error));
    }
    if [
        SqlState::READ_ONLY_SQL_TRANSACTION,
        SqlState::DISK_FULL,
        SqlState::INSUFFICIENT_RESOURCES,
        SqlState::OUT_OF_MEMORY,
        SqlState::INSUFFICIENT_PRIVILEGE,
        SqlState::PROGRAM_LIMIT_EXCEEDED,
    ]
    .contains(code)
    {
        return RepoError::Unwritable(Box::new(error));
    }
    RepoError::Failure(Box::new(error))
}

/// The pool gave no connection in time: every one busy ([`RepoError::Busy`]), or, when its attempts to connect
/// failed meanwhile (r2d2 then names the last failure after its own words), the server unreachable
/// ([`RepoError::Unavailable`]).
pub(crate) fn pool_error(error: r2d2::Error) -> RepoError {
    const TIMED_OUT: &str = "timed out waiting for connection";
    if error.to_string().trim() == TIMED_OUT {
        RepoError::Busy(Box::new(error))
    } else {
        RepoError::Unavailable(Box::new(error))
    }
}

/// Whether the server refused a write for its values (SQLSTATE classes 22, a data exception, and 23, an integrity
/// constraint): another write with other values would not fail so.
pub(crate) fn is_data_error(error: &postgres::Error) -> bool {
    error.as_db_error().is_some_and(|db| ["22", "23"].iter().any(|class| db.code().code().starts_with(class)))
}

/// One error, told to each of `n` writes that failed with it (a batch's): the same kind, the same cause.
pub(crate) fn copies(error: RepoError, n: usize) -> Vec<RepoError> {
    let (kind, cause): (fn(BoxError) -> RepoError, Arc<dyn std::error::Error + Send + Sync>) = match error {
        RepoError::Busy(cause) => (RepoError::Busy, Arc::from(cause)),
        RepoError::Unwritable(cause) => (RepoError::Unwritable, Arc::from(cause)),
        RepoError::Unavailable(cause) => (RepoError::Unavailable, Arc::from(cause)),
        RepoError::Failure(cause) => (RepoError::Failure, Arc::from(cause)),
        other => (RepoError::Failure, Arc::new(other)),
    };
    (0..n).map(|_| kind(Box::new(Arc::clone(&cause)))).collect()
}

/// The name of the index that keeps one active plan per coach and date.
const ONE_ACTIVE_PLAN: &str = "plans_one_active_per_coach_date";

/// Maps an error of a write that may make a second active plan for `coach` and `date`: a violation of the
/// one-active-plan index is [`RepoError::Duplicate`], anything else goes through [`repo_error`].
pub(crate) fn plan_write_error(error: postgres::Error, coach: &CoachId, date: TradingDate) -> RepoError {
    let duplicate = error
        .as_db_error()
        .is_some_and(|db| *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint() == Some(ONE_ACTIVE_PLAN));
    if duplicate { RepoError::Duplicate { coach: coach.clone(), date } } else { repo_error(error) }
}

/// A Discord id that does not fit PostgreSQL's signed 64-bit `bigint`.
#[derive(Debug, thiserror::Error)]
#[error("id {0} does not fit a signed 64-bit integer")]
pub(crate) struct IdOutOfRange(pub(crate) u64);

/// A Discord id as stored.
fn id_to_sql(id: u64) -> Result<i64, RepoError> {
    i64::try_from(id).map_err(|_| RepoError::Failure(Box::new(IdOutOfRange(id))))
}

/// An optional Discord id as stored.
pub(crate) fn opt_id_to_sql(id: Option<u64>) -> Result<Option<i64>, RepoError> {
    id.map(id_to_sql).transpose()
}

/// A stored value this build cannot read (an unknown chart kind or history action, a negative id).
#[derive(Debug, thiserror::Error)]
#[error("the stored value `{value}` of {column} cannot be read")]
pub(crate) struct BadStoredValue {
    pub(crate) column: &'static str,
    pub(crate) value: String,
}

impl From<BadStoredValue> for RepoError {
    fn from(error: BadStoredValue) -> Self {
        RepoError::Failure(Box::new(error))
    }
}

/// The error of a failed connection: [`PgOpenError::Certificate`] when the server's certificate was refused, else
/// [`PgOpenError::Connect`].
pub(crate) fn connect_error(url: &str, source: postgres::Error) -> PgOpenError {
    let mut cause: Option<&dyn std::error::Error> = Some(&source);
    let mut certificate = false;
    while let Some(error) = cause {
        certificate |= error.to_string().contains("invalid peer certificate");
        cause = error.source();
    }
    let url = url.to_owned();
    if certificate { PgOpenError::Certificate { url, source } } else { PgOpenError::Connect { url, source } }
}

#[cfg(test)]
mod tests {
    use super::copies;
    use core_model::{CoachId, RepoError, TradingDate};

    #[test]
    fn each_copy_of_a_batchs_error_keeps_its_kind_and_its_words() {
        let busy = RepoError::Busy("canceling statement due to lock timeout".into());
        let told = copies(busy, 3);
        assert_eq!(told.len(), 3);
        for error in &told {
            assert!(matches!(error, RepoError::Busy(_)), "{error:?}");
            let cause = std::error::Error::source(error).map(ToString::to_string);
            assert_eq!(cause.as_deref(), Some("canceling statement due to lock timeout"));
        }
        let duplicate =
            RepoError::Duplicate { coach: CoachId::new("d").unwrap(), date: TradingDate::parse("2025-11-10").unwrap() };
        let [copy] = <[RepoError; 1]>::try_from(copies(duplicate, 1)).unwrap();
        let cause = std::error::Error::source(&copy).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains("an active plan for coach d on 2025-11-10 exists already"), "{cause}");
    }
}
