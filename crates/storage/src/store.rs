//! [`SqliteStore`]: the storage ports over a pool of SQLite connections.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use core_model::transition::{apply_change, create_plan};
use core_model::{
    Author, CoachId, HistoryEntry, HistoryQuery, Inserted, MentionQuery, NewPlan, Plan, PlanChange, PlanId,
    PlanRepository, PlanSearch, RepoError, SearchPage, SearchQuery, StatusRecord, StatusStore, StatusTicket,
    StoreStats, TickerMention, TickerRules, TradingDate, UserId, event_of,
};
use jiff::Timestamp;
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode, MAIN_DB, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::checkpoint::{self, Checkpointer};
use crate::error::{plan_write_error, repo_error};
use crate::migrations::{self, SchemaStatus};
use crate::transactions::{self, GroupCommit};
use crate::{OpenError, access, rows, timestamp};

/// How a [`SqliteStore`] uses its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long a statement waits for another connection's (or process's) lock before it fails with
    /// [`RepoError::Busy`]. Default 5 s.
    pub busy_timeout: Duration,
    /// Most connections the pool opens. Default 8. An in-memory store always uses one.
    pub max_connections: u32,
    /// How long an operation waits for a free connection of the pool before it fails with [`RepoError::Busy`].
    /// Default 10 s.
    pub pool_timeout: Duration,
    /// Which words of a plan's text are tickers. Stored plans whose tickers were extracted with other rules get them
    /// extracted again when the store opens. Default: [`TickerRules::default`].
    pub ticker_rules: TickerRules,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_millis(5000),
            max_connections: 8,
            pool_timeout: Duration::from_secs(10),
            ticker_rules: TickerRules::default(),
        }
    }
}

/// How many connections the pool holds, for health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open.
    pub connections: u32,
    /// Of those, connections not in use.
    pub idle_connections: u32,
    /// Most connections the pool opens.
    pub max_connections: u32,
}

/// Plans, charts, history and runtime status in a SQLite database.
///
/// Cheap to clone: clones share the connection pool. Several stores (also in several processes) may open the same
/// file; SQLite's locks keep their writes apart.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Pool<Manager>,
    path: Option<PathBuf>,
    applied_at_open: Vec<u32>,
    rules: std::sync::Arc<TickerRules>,
    /// Checkpoints the write-ahead log after writes (a file's store only).
    checkpointer: Option<std::sync::Arc<Checkpointer>>,
    /// The writes of this store (and its clones), committed in groups.
    writes: std::sync::Arc<GroupCommit<PooledSqlite>>,
}

/// The query of a health check: the schema version and the plans table must be readable.
const PING_SQL: &str =
    "SELECT (SELECT MAX(version) FROM schema_migrations), (SELECT COUNT(*) FROM (SELECT 1 FROM plans LIMIT 1))";

type PooledSqlite = PooledConnection<Manager>;

/// Why a pooled connection is given up although it works: it was opened read-only while the file could not be
/// written, and the file can be written again.
const WRITABLE_AGAIN: &str = "the database file can be written again; replacing a connection opened read-only";

/// Reports the pool's failures to open a connection through `tracing` (r2d2 would use the `log` crate).
#[derive(Debug, Clone, Copy)]
struct TracingErrorHandler;

impl r2d2::HandleError<rusqlite::Error> for TracingErrorHandler {
    fn handle_error(&self, error: rusqlite::Error) {
        if error.to_string().contains(WRITABLE_AGAIN) {
            tracing::info!("{WRITABLE_AGAIN}");
        } else {
            tracing::warn!(error = %error, "cannot open a database connection");
        }
    }
}

/// The pool's connections: SQLite's, checked before each use. A connection SQLite opened read-only because the file
/// could not be written then (a read-only or immutable file, a full disk) stays read-only for good; once a new
/// connection would be writable, the pool replaces it, so writes work again without a restart.
#[derive(Debug)]
struct Manager {
    sqlite: SqliteConnectionManager,
    /// The database file; `None` in memory.
    path: Option<PathBuf>,
    flags: OpenFlags,
}

impl Manager {
    /// Whether a connection opened now could write: SQLite opens it (never `open(2)` on the file from outside
    /// SQLite, whose locks a stray descriptor's close would release).
    fn writable_now(&self, path: &Path) -> bool {
        Connection::open_with_flags(path, self.flags).is_ok_and(|c| c.is_readonly(MAIN_DB).is_ok_and(|ro| !ro))
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        self.sqlite.connect()
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        self.sqlite.is_valid(conn)?;
        if let Some(path) = &self.path
            && conn.is_readonly(MAIN_DB)?
            && self.writable_now(path)
        {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
                Some(WRITABLE_AGAIN.to_owned()),
            ));
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        self.sqlite.has_broken(conn)
    }
}

/// Settings applied to every connection: wait for locks, write-ahead log (many readers beside one writer),
/// foreign keys enforced, `synchronous=NORMAL` (durable across process crashes; WAL keeps the file consistent), and
/// the log checkpointed by the store's thread rather than by the commits (see [`checkpoint`]), and the journals of
/// savepoints and statements kept in memory (`temp_store=MEMORY`: a group of writes journals each page it changes
/// in a savepoint, which past 64 KiB would otherwise go to a temporary file, one `pwrite` per page).
/// A read-only database keeps its journal mode (switching it is a write).
fn configure(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    if !conn.is_readonly(MAIN_DB)? {
        let mode = enable_wal(conn, busy_timeout)?;
        if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
            tracing::warn!(journal_mode = %mode, "the database could not switch to write-ahead logging");
        }
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", checkpoint::BACKSTOP_PAGES)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Extracts the tickers of the stored plans with `rules` when the index was built with other rules (or never, as
/// after the migration that added it): once per change of the rules, at open. A database this process may only read
/// keeps its index, with a warning.
fn index_tickers(conn: &mut Connection, path: &Path, rules: &TickerRules) -> Result<(), OpenError> {
    let open_error = |source| OpenError::Open { path: path.to_owned(), source };
    if crate::search::tickers_indexed_with(conn, rules).map_err(open_error)? {
        return Ok(());
    }
    if conn.is_readonly(MAIN_DB).map_err(open_error)? {
        tracing::warn!(
            database = %path.display(),
            "the tickers of stored plans were extracted with other rules, and this process cannot write the database \
             to extract them again: searches by ticker follow the old rules"
        );
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(open_error)?;
    // Another process may have rebuilt it while this one waited for the lock.
    if crate::search::tickers_indexed_with(&tx, rules).map_err(open_error)? {
        return Ok(());
    }
    let changed = crate::search::rebuild_ticker_index(&tx, rules, Timestamp::now()).map_err(open_error)?;
    tx.commit().map_err(open_error)?;
    tracing::info!(database = %path.display(), plans = changed, "extracted the tickers of stored plans");
    Ok(())
}

/// Switches the database to write-ahead logging (a setting kept in the file), unless it is on already, and returns
/// the journal mode in force (`memory` for an in-memory database).
///
/// The switch needs the database to itself, and SQLite reports a conflict with another connection as busy at once,
/// without waiting: so it is retried until `busy_timeout` has passed.
fn enable_wal(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<String> {
    let deadline = Instant::now() + busy_timeout;
    loop {
        let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
        if mode.eq_ignore_ascii_case("wal") || mode.eq_ignore_ascii_case("memory") {
            return Ok(mode);
        }
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            result => return result,
        }
    }
}

impl SqliteStore {
    /// Opens (creating it and its parent directories when missing) the database file at `path`, applies the pending
    /// migrations, and builds the connection pool.
    ///
    /// A file this process may not write (read-only permissions or medium) opens for reading when its schema is up to
    /// date: reads work and every change fails with [`RepoError::Unwritable`] until the file can be written again,
    /// when the pool replaces the connections it opened read-only (no restart needed). The pool never creates the file
    /// again: if it is deleted while the store is open, new connections fail instead of starting an empty database.
    ///
    /// # Errors
    /// [`OpenError::CreateDirectory`] when the parent directory cannot be created, [`OpenError::Open`] when SQLite
    /// cannot open or set up the file (e.g. it is not a database), [`OpenError::ForeignDatabase`] for a database of
    /// something else (e.g. the predecessor's), [`OpenError::SchemaTooNew`] for a database migrated by a newer build,
    /// [`OpenError::Migration`] when a migration fails, [`OpenError::Pool`] when the pool cannot be built.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self, OpenError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| OpenError::CreateDirectory { dir: dir.to_owned(), source })?;
        }
        let open_error = |source| OpenError::Open { path: path.to_owned(), source };
        let mut conn = Connection::open(path).map_err(open_error)?;
        conn.busy_timeout(options.busy_timeout).map_err(open_error)?;
        // Migrate before switching to WAL, so that a file of something else is refused untouched.
        let applied_at_open = migrations::migrate(&mut conn, path, Timestamp::now())?;
        configure(&conn, options.busy_timeout).map_err(open_error)?;
        if conn.is_readonly(MAIN_DB).map_err(open_error)? {
            tracing::warn!(
                database = %path.display(),
                "the database file cannot be written by this process: plans can be read, every change will fail"
            );
        }
        index_tickers(&mut conn, path, &options.ticker_rules)?;
        drop(conn);
        let busy_timeout = options.busy_timeout;
        let flags = OpenFlags::default().difference(OpenFlags::SQLITE_OPEN_CREATE);
        let sqlite =
            SqliteConnectionManager::file(path).with_flags(flags).with_init(move |c| configure(c, busy_timeout));
        let manager = Manager { sqlite, path: Some(path.to_owned()), flags };
        let pool = Pool::builder()
            .max_size(options.max_connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.pool_timeout)
            .error_handler(Box::new(TracingErrorHandler))
            .build(manager)
            .map_err(|source| OpenError::Pool { path: path.to_owned(), source })?;
        let checkpointer = Checkpointer::start(pool.clone()).map(std::sync::Arc::new);
        Ok(Self {
            pool,
            path: Some(path.to_owned()),
            applied_at_open,
            rules: std::sync::Arc::new(options.ticker_rules),
            checkpointer,
            writes: std::sync::Arc::new(GroupCommit::with_before_commit(crate::search::apply_pending_words)),
        })
    }

    /// A new, migrated database in memory, gone when the last clone of the store is dropped. For tests and trials.
    /// It has one connection, so operations take turns.
    ///
    /// # Errors
    /// Only when SQLite fails to set it up.
    pub fn open_in_memory() -> Result<Self, OpenError> {
        let path = Path::new(":memory:");
        let options = StoreOptions::default();
        let busy_timeout = options.busy_timeout;
        let sqlite = SqliteConnectionManager::memory().with_init(move |c| configure(c, busy_timeout));
        let manager = Manager { sqlite, path: None, flags: OpenFlags::default() };
        let pool = Pool::builder()
            .max_size(1)
            .min_idle(Some(1))
            .connection_timeout(options.pool_timeout)
            .error_handler(Box::new(TracingErrorHandler))
            .build(manager)
            .map_err(|source| OpenError::Pool { path: path.to_owned(), source })?;
        let mut conn = pool.get().map_err(|source| OpenError::Pool { path: path.to_owned(), source })?;
        let applied_at_open = migrations::migrate(&mut conn, path, Timestamp::now())?;
        index_tickers(&mut conn, path, &options.ticker_rules)?;
        drop(conn);
        let rules = std::sync::Arc::new(options.ticker_rules);
        let writes = std::sync::Arc::new(GroupCommit::with_before_commit(crate::search::apply_pending_words));
        Ok(Self { pool, path: None, applied_at_open, rules, checkpointer: None, writes })
    }

    /// The rules this store extracts tickers with.
    pub fn ticker_rules(&self) -> &TickerRules {
        &self.rules
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The migration versions this store applied when it was opened (empty when the schema was up to date).
    pub fn applied_at_open(&self) -> &[u32] {
        &self.applied_at_open
    }

    /// Where the schema stands now.
    ///
    /// # Errors
    /// Storage failures.
    pub fn schema_status(&self) -> Result<SchemaStatus, RepoError> {
        let current = self.read(migrations::recorded_version)?;
        Ok(SchemaStatus { current, latest: migrations::latest_version() })
    }

    /// How many connections the pool holds.
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            connections: state.connections,
            idle_connections: state.idle_connections,
            max_connections: self.pool.max_size(),
        }
    }

    fn connection(&self) -> Result<PooledSqlite, RepoError> {
        self.pool.get().map_err(|e| RepoError::Busy(Box::new(e)))
    }

    /// Runs `f` in one read transaction, so that it sees one consistent state of the database.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, RepoError> {
        let conn = self.connection()?;
        transactions::read(&conn, f).map_err(repo_error)
    }

    /// Stores a new plan, its charts and its first history entry in the write transaction `tx`.
    fn insert_in(&self, tx: &Connection, new: NewPlan, at: Timestamp) -> Result<Plan, RepoError> {
        let (mut plan, entry) = create_plan(PlanId(0), new, at, &self.rules);
        let id = rows::insert_plan(tx, &plan, None).map_err(|e| plan_write_error(e, &plan.coach, plan.date))?;
        plan.id = id;
        for chart in &plan.charts {
            rows::insert_chart(tx, id, chart, None).map_err(repo_error)?;
        }
        rows::insert_history(tx, &plan, &entry, None).map_err(repo_error)?;
        access::announce(tx, event_of(entry.action), &plan, at)?;
        Ok(plan)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, possibly with other threads' writes of the moment (see
    /// [`transactions`]): no other writer runs between its reads and its writes, nothing of it is kept unless all of
    /// it succeeds, and it returns once committed.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T, RepoError>) -> Result<T, RepoError> {
        let value = self.writes.write(|| self.connection(), f)?;
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.wrote();
        }
        Ok(value)
    }
}

impl PlanRepository for SqliteStore {
    fn insert(&self, new: NewPlan, at: Timestamp) -> Result<Plan, RepoError> {
        let at = timestamp::to_micros(at);
        self.write(|tx| self.insert_in(tx, new, at))
    }

    fn insert_unless_posted(&self, message_id: u64, new: NewPlan, at: Timestamp) -> Result<Inserted, RepoError> {
        let at = timestamp::to_micros(at);
        self.write(|tx| match rows::plan_by_posting_message(tx, message_id).map_err(repo_error)? {
            Some(earlier) => Ok(Inserted::Earlier(earlier)),
            None => self.insert_in(tx, new, at).map(Inserted::New),
        })
    }

    fn change(
        &self,
        id: PlanId,
        change: PlanChange,
        actor: &Author,
        at: Timestamp,
        expected_version: Option<u32>,
    ) -> Result<Plan, RepoError> {
        let at = timestamp::to_micros(at);
        self.write(|tx| {
            let current = rows::plan_by_id(tx, id).map_err(repo_error)?.ok_or(RepoError::NotFound(id))?;
            let applied = apply_change(&current, change, actor, at, expected_version, &self.rules)?;
            rows::update_plan(tx, &applied.plan).map_err(|e| plan_write_error(e, &current.coach, current.date))?;
            if applied.charts_replaced {
                rows::replace_charts(tx, &applied.plan).map_err(repo_error)?;
            }
            rows::insert_history(tx, &applied.plan, &applied.entry, None).map_err(repo_error)?;
            access::announce(tx, event_of(applied.entry.action), &applied.plan, at)?;
            Ok(applied.plan)
        })
    }

    fn get(&self, id: PlanId) -> Result<Option<Plan>, RepoError> {
        self.read(|conn| rows::plan_by_id(conn, id))
    }

    fn find_active(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError> {
        self.read(|conn| rows::active_plan(conn, coach, date))
    }

    fn find_latest_deleted(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError> {
        self.read(|conn| rows::latest_deleted_plan(conn, coach, date))
    }

    fn find_by_source_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError> {
        self.read(|conn| rows::plan_by_message(conn, message_id))
    }

    fn find_by_posting_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError> {
        self.read(|conn| rows::plan_by_posting_message(conn, message_id))
    }

    fn list_active_by_date(&self, date: TradingDate) -> Result<Vec<Plan>, RepoError> {
        self.read(|conn| rows::active_plans_of_date(conn, date))
    }

    fn list_active_by_author(&self, author: UserId, date: Option<TradingDate>) -> Result<Vec<Plan>, RepoError> {
        self.read(|conn| rows::active_plans_of_author(conn, author, date))
    }

    fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoryEntry>, RepoError> {
        self.read(|conn| rows::history(conn, query))
    }

    fn stats(&self) -> Result<StoreStats, RepoError> {
        self.read(rows::stats)
    }

    /// Queries the pool, and for a file database also opens the file afresh (read-only, never creating it) and reads
    /// it: pooled connections keep a deleted or replaced file open, so only a new connection notices.
    fn change_count(&self) -> Result<u64, RepoError> {
        // One statement on its own (no BEGIN/COMMIT around it): it is asked for on every cacheable read.
        let conn = self.connection()?;
        let count: i64 = conn
            .prepare_cached("SELECT count FROM change_count WHERE id = 1")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(repo_error)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn ping(&self) -> Result<(), RepoError> {
        let check = |conn: &Connection| conn.prepare_cached(PING_SQL)?.query_row([], |_| Ok(()));
        self.read(check)?;
        if let Some(path) = &self.path {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(path, flags).map_err(repo_error)?;
            check(&conn).map_err(repo_error)?;
        }
        Ok(())
    }
}

impl PlanSearch for SqliteStore {
    fn search(&self, query: &SearchQuery) -> Result<SearchPage, RepoError> {
        self.read(|conn| crate::search::search(conn, query))
    }

    fn ticker_mentions(&self, query: &MentionQuery) -> Result<Vec<TickerMention>, RepoError> {
        self.read(|conn| crate::search::ticker_mentions(conn, query))
    }
}

/// Writes a status value (`at` as stored text).
fn put_status(tx: &Connection, key: &str, value: &str, at: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO runtime_status (key, value, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?
    .execute(params![key, value, at])
    .map(drop)
}

impl StatusStore for SqliteStore {
    fn put_status(&self, key: &str, value: &str, at: Timestamp) -> Result<(), RepoError> {
        self.writes.riders().replace(key);
        self.write(|tx| put_status(tx, key, value, &timestamp::to_text(at)).map_err(repo_error))
    }

    /// The value rides with the next group of writes that commits (see [`crate::riders`]).
    fn defer_status(&self, key: &str, value: &str, at: Timestamp) -> Option<StatusTicket> {
        let (key_owned, value, at) = (key.to_owned(), value.to_owned(), timestamp::to_text(at));
        let ticket = self.writes.riders().add(key, Box::new(move |tx| put_status(tx, &key_owned, &value, &at)));
        Some(StatusTicket(ticket))
    }

    fn status_written(&self, ticket: StatusTicket) -> bool {
        self.writes.riders().is_committed(ticket.0)
    }

    fn status(&self, key: &str) -> Result<Option<StatusRecord>, RepoError> {
        self.read(|conn| {
            let row: Option<(String, String)> = conn
                .prepare_cached("SELECT value, updated_at FROM runtime_status WHERE key = ?1")?
                .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            row.map(|(value, updated_at)| {
                let updated_at = timestamp::from_text(&updated_at).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
                })?;
                Ok(StatusRecord { value, updated_at })
            })
            .transpose()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pooled_connection_gets_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions { busy_timeout: Duration::from_millis(1234), ..StoreOptions::default() };
        let store = SqliteStore::open(dir.path().join("plans.db"), options).unwrap();
        // Holding several at once makes the pool open new connections.
        let conns: Vec<_> = (0..3).map(|_| store.pool.get().unwrap()).collect();
        for conn in &conns {
            let pragma =
                |name: &str| conn.pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0)).unwrap();
            assert_eq!(pragma("journal_mode"), rusqlite::types::Value::Text("wal".into()));
            assert_eq!(pragma("foreign_keys"), rusqlite::types::Value::Integer(1));
            assert_eq!(pragma("synchronous"), rusqlite::types::Value::Integer(1), "NORMAL");
            assert_eq!(pragma("busy_timeout"), rusqlite::types::Value::Integer(1234));
        }
        assert!(store.pool_state().connections >= 3);
    }

    #[test]
    fn a_database_file_deleted_while_open_is_never_created_again_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        let options = StoreOptions { pool_timeout: Duration::from_millis(300), ..StoreOptions::default() };
        let store = SqliteStore::open(&path, options).unwrap();
        let held = store.pool.get().unwrap();
        // Taking it made the pool open another idle connection in the background (`min_idle`): let it, so that it
        // cannot race with the rename, then take that one too once the file is gone.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while store.pool_state().idle_connections == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::fs::rename(&path, dir.path().join("moved.db")).unwrap();
        let also_held = store.pool.try_get();
        // Every pooled connection is in use: this read needs a new one, which cannot open the missing file.
        let err = store.stats().unwrap_err();
        assert!(matches!(err, RepoError::Busy(_)), "{err:?}");
        assert!(!path.exists(), "the pool never creates the database file (it would have no tables)");
        drop((held, also_held));
        assert_eq!(store.stats().unwrap().active_plans, 0, "the open connection still reads the moved file");
    }

    #[test]
    fn a_full_disk_is_unwritable_leaves_nothing_half_written_and_reads_go_on() {
        use core_model::{Author, NewPlan, PlanSource, PlanText};

        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions { max_connections: 1, ..StoreOptions::default() };
        let store = SqliteStore::open(dir.path().join("plans.db"), options).unwrap();
        let ann = Author { user_id: Some(UserId(1)), display_name: "Ann".into() };
        let plan = |day: u32| NewPlan {
            coach: CoachId::new("d").unwrap(),
            date: TradingDate::parse(&format!("2026-01-{day:02}")).unwrap(),
            text: PlanText::new(&"x".repeat(4000)).unwrap(),
            author: ann.clone(),
            source: PlanSource::default(),
            charts: Vec::new(),
        };
        let first = store.insert(plan(1), Timestamp::UNIX_EPOCH).unwrap();
        {
            // The only pooled connection may not grow the file past its size now: a disk with no room left.
            let conn = store.pool.get().unwrap();
            let pages: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0)).unwrap();
            conn.pragma_update(None, "max_page_count", pages).unwrap();
        }
        let before = store.stats().unwrap();
        let err = (2..=28)
            .find_map(|day| store.insert(plan(day), Timestamp::UNIX_EPOCH).err())
            .expect("the database fills up");
        assert!(matches!(err, RepoError::Unwritable(_)), "{err:?}");
        let cause = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains("full"), "the SQLite error is kept as the source: {cause}");
        let after = store.stats().unwrap();
        assert_eq!(after.history_entries - before.history_entries, after.active_plans - before.active_plans);
        assert_eq!(store.get(first.id).unwrap().unwrap(), first, "reads go on");
        let err = store.put_status("bot.state", &"y".repeat(200_000), Timestamp::UNIX_EPOCH).unwrap_err();
        assert!(matches!(err, RepoError::Unwritable(_)), "{err:?}");
    }
}
