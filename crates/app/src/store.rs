//! The configured store: PostgreSQL at `database.url` when it is set, else SQLite at `database.path`. The binaries
//! open it once and hand its ports to the service; the operator's commands also read where its schema stands.

use std::sync::Arc;

use core_model::{ChartImageStore, PlanRepository, RepoError, SchemaStatus, StatusStore};
use secrecy::ExposeSecret as _;
use storage::{SqliteStore, StoreOptions};
use storage_postgres::{DatabaseUrl, PgOptions, PgStore};

use crate::Settings;

/// An open store of either backend. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Store {
    /// A SQLite database file.
    Sqlite(Arc<SqliteStore>),
    /// A PostgreSQL database.
    Postgres(Arc<PgStore>),
}

/// Why the configured database cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite file.
    #[error(transparent)]
    Sqlite(#[from] storage::OpenError),
    /// The PostgreSQL database.
    #[error(transparent)]
    Postgres(#[from] storage_postgres::PgOpenError),
}

impl StoreError {
    /// What an operator does about it, in a sentence.
    pub fn fix(&self) -> String {
        match self {
            Self::Sqlite(error) => error.fix().to_owned(),
            Self::Postgres(error) => error.fix(),
        }
    }
}

/// Where plans are stored, as the settings say: the PostgreSQL URL (read) when `database.url` is set, else the SQLite
/// path.
#[derive(Debug, Clone)]
pub enum Location {
    /// A SQLite database file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database.
    Postgres(Box<DatabaseUrl>),
}

impl Location {
    /// Where `settings` say plans are stored.
    ///
    /// # Errors
    /// When `database.url` cannot be read (validated settings never fail here).
    pub fn of(settings: &Settings) -> Result<Self, storage_postgres::UrlError> {
        match &settings.database.url {
            Some(url) => Ok(Self::Postgres(Box::new(DatabaseUrl::parse(url.expose_secret())?))),
            None => Ok(Self::Sqlite(settings.database.path.clone())),
        }
    }

    /// Reads a location given on a command line: a `postgres://` URL, else a SQLite file path.
    ///
    /// # Errors
    /// When a `postgres://` URL cannot be read.
    pub fn parse(text: &str) -> Result<Self, storage_postgres::UrlError> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Self::Postgres(Box::new(DatabaseUrl::parse(text)?)))
        } else {
            Ok(Self::Sqlite(text.into()))
        }
    }
}

/// How a SQLite store uses its file, from the settings.
pub fn sqlite_options(settings: &Settings) -> StoreOptions {
    StoreOptions {
        busy_timeout: settings.database.busy_timeout(),
        max_connections: settings.database.pool_size,
        ticker_rules: settings.ticker_rules(),
        ..StoreOptions::default()
    }
}

/// Where `settings` say plans are stored, to show: the file's path, or the URL without its password.
pub fn shown(settings: &Settings) -> String {
    Location::of(settings).map_or_else(|_| "database.url (unreadable)".to_owned(), |l| l.to_string())
}

impl std::fmt::Display for Location {
    /// The file's path, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl Store {
    /// Opens the store at `location` (creating and migrating it when needed) with the settings' pool and rules.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be opened, is not ours, or was migrated by a newer build.
    pub fn open(location: &Location, settings: &Settings) -> Result<Self, StoreError> {
        match location {
            Location::Sqlite(path) => Ok(Self::Sqlite(Arc::new(SqliteStore::open(path, sqlite_options(settings))?))),
            Location::Postgres(url) => {
                let options = PgOptions {
                    max_connections: settings.database.pool_size,
                    lock_timeout: settings.database.busy_timeout(),
                    ticker_rules: settings.ticker_rules(),
                    ..PgOptions::default()
                };
                Ok(Self::Postgres(Arc::new(PgStore::open(url, options)?)))
            }
        }
    }

    /// Where it is: the file's path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(store) => store.path().map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string()),
            Self::Postgres(store) => store.url().to_string(),
        }
    }

    /// The plans.
    pub fn plans(&self) -> Arc<dyn PlanRepository> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// The runtime status shared between processes.
    pub fn status(&self) -> Arc<dyn StatusStore> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// The archived chart images.
    pub fn images(&self) -> Arc<dyn ChartImageStore> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// The API tokens.
    pub fn tokens(&self) -> Arc<dyn core_model::TokenStore> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// The webhook subscriptions and their outbox.
    pub fn webhooks(&self) -> Arc<dyn core_model::WebhookStore> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// Its records, to copy them out or in.
    pub fn transfer(&self) -> Arc<dyn core_model::transfer::StoreTransfer> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// Where the schema stands now.
    ///
    /// # Errors
    /// Storage failures.
    pub fn schema_status(&self) -> Result<SchemaStatus, RepoError> {
        match self {
            Self::Sqlite(store) => store.schema_status(),
            Self::Postgres(store) => store.schema_status(),
        }
    }

    /// The migration versions applied when the store was opened.
    pub fn applied_at_open(&self) -> &[u32] {
        match self {
            Self::Sqlite(store) => store.applied_at_open(),
            Self::Postgres(store) => store.applied_at_open(),
        }
    }
}
