//! [`PgStore`]: the storage ports over a pool of PostgreSQL connections, each with its prepared statements.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use core_model::transition::{apply_change, create_plan};
use core_model::{
    Author, CoachId, HistoryEntry, HistoryQuery, Inserted, MentionQuery, NewPlan, Plan, PlanChange, PlanId,
    PlanRepository, PlanSearch, RepoError, SchemaStatus, SearchPage, SearchQuery, StatusRecord, StatusStore,
    StatusTicket, StoreStats, TickerMention, TickerRules, TradingDate, UserId, event_of,
};
use jiff::Timestamp;
use postgres::types::ToSql;
use postgres::{GenericClient, IsolationLevel, Row, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::batches::Batches;
use crate::error::{PgOpenError, copies, is_data_error, plan_write_error, pool_error, repo_error};
use crate::new_plan::NewRow;
use crate::riders::{self, Riders};
use crate::rows;
use crate::url::DatabaseUrl;
use crate::{access, migrations, new_plan};

/// How a [`PgStore`] uses its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// Most connections the pool opens. Default 8. New plans are written on one more connection of their own,
    /// opened when the first is written.
    pub max_connections: u32,
    /// How long an operation waits for a free connection (or for a new one to connect) before it fails with
    /// [`RepoError::Busy`]. Default 10 s.
    pub pool_timeout: Duration,
    /// How long a statement may wait for a lock another writer holds before it fails with [`RepoError::Busy`].
    /// Default 5 s.
    pub lock_timeout: Duration,
    /// Which words of a plan's text are tickers. Stored plans whose tickers were extracted with other rules get them
    /// extracted again when the store opens. Default: [`TickerRules::default`].
    pub ticker_rules: TickerRules,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            pool_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(5),
            ticker_rules: TickerRules::default(),
        }
    }
}

/// A pooled connection: the client and the statements prepared on it.
pub(crate) struct Conn {
    /// Always `Some` until the connection is dropped (then on a thread of its own: see the `Drop` impl).
    client: Option<postgres::Client>,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    fn client(&mut self) -> &mut postgres::Client {
        self.client.as_mut().expect("a connection holds its client until it is dropped")
    }
}

impl Drop for Conn {
    /// Closing a client blocks on its own runtime, which panics inside async code: close it on a thread of its own,
    /// so that a store may be dropped anywhere.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = std::thread::spawn(move || drop(client)).join();
        }
    }
}

/// Opens the pool's connections.
#[derive(Clone)]
pub(crate) struct Manager {
    config: postgres::Config,
    tls: MakeRustlsConnect,
    lock_timeout: Duration,
    /// Whether the connection plans each prepared statement once, for any parameters (`plan_cache_mode =
    /// force_generic_plan`): for the new plans' statement, whose plan does not depend on its parameters, and which
    /// PostgreSQL would otherwise plan again on every run (its arrays' lengths make every custom plan look cheaper
    /// than the generic one).
    plan_once: bool,
}

impl Manager {
    pub(crate) fn connect_client(&self) -> Result<postgres::Client, postgres::Error> {
        let mut client = self.config.connect(self.tls.clone())?;
        // Times are read and written as UTC instants whatever the session's zone; a statement waits for another
        // writer's row lock at most `lock_timeout`.
        let lock_timeout = format!("{}ms", self.lock_timeout.as_millis().max(1));
        client.execute("SELECT set_config('lock_timeout', $1, false)", &[&lock_timeout])?;
        if self.plan_once {
            client.execute("SELECT set_config('plan_cache_mode', 'force_generic_plan', false)", &[])?;
        }
        Ok(client)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn { client: Some(self.connect_client()?), statements: HashMap::new() })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client().simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.as_ref().is_none_or(postgres::Client::is_closed)
    }
}

/// Whether the error says the connection's session is over (closed, or ended by the server: a restart, an
/// administrator, an idle timeout), so that nothing began on it.
fn session_ended(error: &postgres::Error) -> bool {
    use postgres::error::Severity;
    error.is_closed()
        || error.as_db_error().is_some_and(|db| matches!(db.parsed_severity(), Some(Severity::Fatal | Severity::Panic)))
}

/// Reports the pool's failures to open a connection through `tracing` (r2d2 would use the `log` crate).
#[derive(Debug, Clone, Copy)]
struct TracingErrorHandler;

impl r2d2::HandleError<postgres::Error> for TracingErrorHandler {
    fn handle_error(&self, error: postgres::Error) {
        let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
        tracing::warn!(error = %error, cause = %cause, "cannot open a database connection");
    }
}

/// A transaction on a pooled connection, preparing each statement once per connection.
pub(crate) struct Tx<'a> {
    tx: postgres::Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

/// Parameters of a statement.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// `sql` prepared on the connection, once: later calls take it from `statements`.
fn prepared(
    statements: &mut HashMap<&'static str, Statement>,
    client: &mut impl GenericClient,
    sql: &'static str,
) -> Result<Statement, postgres::Error> {
    if let Some(statement) = statements.get(sql) {
        return Ok(statement.clone());
    }
    let statement = client.prepare(sql)?;
    statements.insert(sql, statement.clone());
    Ok(statement)
}

/// A pooled connection outside a transaction: each statement is committed as it ends, all of it or nothing.
pub(crate) struct Autocommit<'a> {
    client: &'a mut postgres::Client,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl Autocommit<'_> {
    pub(crate) fn query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let statement = prepared(self.statements, self.client, sql)?;
        self.client.query(&statement, params)
    }
}

impl<'a> Tx<'a> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        prepared(self.statements, &mut self.tx, sql)
    }

    pub(crate) fn query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query(&statement, params)
    }

    pub(crate) fn query_opt(&mut self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_opt(&statement, params)
    }

    pub(crate) fn query_one(&mut self, sql: &'static str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_one(&statement, params)
    }

    pub(crate) fn execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.execute(&statement, params)
    }

    /// Rows of `sql` a batch at a time, through a portal: the caller stops reading when it has what it needs.
    pub(crate) fn query_batches(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
        batch: i32,
        mut each: impl FnMut(Vec<Row>) -> Result<bool, RepoError>,
    ) -> Result<(), RepoError> {
        let statement = self.statement(sql).map_err(repo_error)?;
        let portal = self.tx.bind(&statement, params).map_err(repo_error)?;
        loop {
            let rows = self.tx.query_portal(&portal, batch).map_err(repo_error)?;
            let last = rows.len() < usize::try_from(batch).unwrap_or(usize::MAX);
            if !each(rows)? || last {
                return Ok(());
            }
        }
    }

    /// The transaction itself, for statements built at run time (setup only).
    pub(crate) fn raw(&mut self) -> &mut postgres::Transaction<'a> {
        &mut self.tx
    }

    fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }
}

/// The most new plans written in one statement.
const MAX_BATCH: usize = 16;

/// Plans, charts, history, runtime status and chart images in a PostgreSQL database.
///
/// Cheap to clone: clones share the connection pool. Any number of stores, in any number of processes on any
/// number of machines, may use one database.
#[derive(Clone)]
pub struct PgStore {
    pool: r2d2::Pool<Manager>,
    url: Arc<DatabaseUrl>,
    applied_at_open: Arc<[u32]>,
    rules: Arc<TickerRules>,
    /// Values written with the next write transaction that commits (see [`crate::riders`]).
    riders: Arc<Riders>,
    /// New plans being written, in batches.
    new_plans: Arc<Batches<NewRow, Result<Option<PlanId>, RepoError>>>,
    /// The connection the batches of new plans are written on.
    new_plans_pool: r2d2::Pool<Manager>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.url.to_string()).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url`, applies the pending migrations (under an advisory lock, so that stores
    /// opening together migrate once), extracts the tickers and words of stored plans that lack them or were
    /// extracted with other rules, and builds the connection pool. It runs on a thread of its own, so it may be
    /// called from async code.
    ///
    /// # Errors
    /// [`PgOpenError`]: the URL, the connection (address, password, TLS), a database of something else or of a newer
    /// build, a failed migration, or the pool.
    pub fn open(url: &DatabaseUrl, options: PgOptions) -> Result<Self, PgOpenError> {
        std::thread::scope(|scope| scope.spawn(|| Self::open_here(url, options)).join())
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    fn open_here(url: &DatabaseUrl, options: PgOptions) -> Result<Self, PgOpenError> {
        let shown = url.to_string();
        let mut config = url.config().clone();
        if config.get_application_name().is_none() {
            config.application_name("coach-plans");
        }
        let manager = Manager { config, tls: url.tls()?, lock_timeout: options.lock_timeout, plan_once: false };
        let mut client = manager.connect_client().map_err(|source| crate::error::connect_error(&shown, source))?;
        let applied_at_open = migrations::migrate(&mut client, &shown)?;
        crate::search::index_derived(&mut client, &shown, &options.ticker_rules)?;
        drop(client);
        let pool = |manager: Manager, max_size: u32, min_idle: u32| {
            r2d2::Pool::builder()
                .max_size(max_size)
                .min_idle(Some(min_idle))
                .test_on_check_out(false)
                .connection_timeout(options.pool_timeout)
                .error_handler(Box::new(TracingErrorHandler))
                .build(manager)
                .map_err(|source| PgOpenError::Pool { url: shown.clone(), source })
        };
        // New plans are written one batch at a time (see `crate::batches`), on a connection of their own, opened
        // when the first is written.
        let new_plans_pool = pool(Manager { plan_once: true, ..manager.clone() }, 1, 0)?;
        let pool = pool(manager, options.max_connections.max(1), 1)?;
        Ok(Self {
            pool,
            url: Arc::new(url.clone()),
            applied_at_open: applied_at_open.into(),
            rules: Arc::new(options.ticker_rules),
            riders: Arc::default(),
            new_plans: Arc::default(),
            new_plans_pool,
        })
    }

    /// The database's URL, to show (without the password).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The rules this store extracts tickers with.
    pub fn ticker_rules(&self) -> &TickerRules {
        &self.rules
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
        let current = self.read(|tx| migrations::recorded_version(tx.raw()).map_err(repo_error))?;
        Ok(SchemaStatus { current, latest: migrations::latest_version() })
    }

    /// Stores a new plan, its charts and its first history entry, unless the chat message `replay_of` posted or
    /// re-posted a plan already: then that plan. New plans written at the same time go in one statement (see
    /// [`crate::batches`] and [`crate::new_plan`]).
    fn insert_new(&self, replay_of: Option<u64>, new: NewPlan, at: Timestamp) -> Result<Inserted, RepoError> {
        let (plan, entry) = create_plan(PlanId(0), new, at, &self.rules);
        let row = NewRow::new(plan, entry, replay_of)?;
        let (row, stored) = self
            .new_plans
            .run(row, MAX_BATCH, |rows| self.insert_batch(rows))
            .map_err(|panicked| RepoError::Failure(Box::new(panicked)))?;
        let mut plan = row.plan;
        match stored? {
            Some(id) => {
                plan.id = id;
                Ok(Inserted::New(plan))
            }
            None => {
                let message = replay_of.unwrap_or_default();
                match self.read(|tx| rows::plan_by_posting_message(tx, message))? {
                    Some(earlier) => Ok(Inserted::Earlier(earlier)),
                    None => Err(RepoError::Failure(
                        format!("message {message} posted a plan, and that plan cannot be found: try again").into(),
                    )),
                }
            }
        }
    }

    /// Writes a batch of new plans in one statement; when a plan's values fail it (a second active plan for a coach
    /// and date, say), each plan again on its own, so that only the failing ones fail.
    fn insert_batch(&self, rows: &[NewRow]) -> Vec<Result<Option<PlanId>, RepoError>> {
        match self.autocommit(|one, riders| new_plan::insert(one, rows, riders)) {
            Ok(ids) => ids.into_iter().map(Ok).collect(),
            Err(rows::WriteError::Db(error)) if rows.len() == 1 => {
                vec![Err(plan_write_error(error, &rows[0].plan.coach, rows[0].plan.date))]
            }
            Err(rows::WriteError::Db(error)) if is_data_error(&error) => {
                rows.iter().flat_map(|row| self.insert_batch(std::slice::from_ref(row))).collect()
            }
            Err(rows::WriteError::Db(error)) => copies(repo_error(error), rows.len()).into_iter().map(Err).collect(),
            Err(rows::WriteError::Repo(error)) => copies(error, rows.len()).into_iter().map(Err).collect(),
        }
    }

    /// Runs `f` in one repeatable-read, read-only transaction: it sees one consistent state of the database.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, RepoError>) -> Result<T, RepoError> {
        self.transaction(true, f)
    }

    /// Runs `f` in one read-committed transaction: nothing of it is kept unless all of it succeeds. Changes of a
    /// stored plan lock its row first.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, RepoError>) -> Result<T, RepoError> {
        self.transaction(false, f)
    }

    /// Runs `f` in a transaction on a pooled connection (see [`Self::on_connection`] for a connection the server
    /// closed meanwhile).
    fn transaction<T>(
        &self,
        read_only: bool,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, RepoError>,
    ) -> Result<T, RepoError> {
        let mut f = Some(f);
        Self::on_connection(&self.pool, |client, statements| {
            let begun = if read_only {
                client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start()
            } else {
                client.transaction()
            };
            let tx = match begun {
                Ok(tx) => tx,
                Err(error) if session_ended(&error) => return Err(Attempt::Closed(error)),
                Err(error) => return Err(Attempt::Failed(repo_error(error))),
            };
            let mut tx = Tx { tx, statements };
            let f = f.take().expect("the transaction's work runs once");
            let value = f(&mut tx).map_err(Attempt::Failed)?;
            // A write takes the riders noted so far with it.
            let taken = if read_only { None } else { self.riders.take() };
            let written = match &taken {
                Some(taken) => riders::write(&mut tx, &taken.riders),
                None => Ok(()),
            };
            let committed = written.and_then(|()| tx.commit());
            self.riders.settle(taken, committed.is_ok());
            committed.map_err(|error| Attempt::Failed(repo_error(error)))?;
            Ok(value)
        })
    }

    /// Runs `f`, one statement, on the new plans' connection, outside a transaction (the server commits it as it
    /// ends), with the riders noted so far, which it writes too. A connection the server had closed fails the
    /// statement unrun, and `f` runs again on a new one (see [`Self::on_connection`]). A connection lost while the
    /// statement ran leaves its commit unknown, as a lost `COMMIT` does: running it again then finds a message's plan
    /// as posted earlier (the replay check), or refuses a second active plan for the coach and date.
    fn autocommit<T>(
        &self,
        f: impl Fn(&mut Autocommit<'_>, &[(String, riders::Rider)]) -> Result<T, rows::WriteError>,
    ) -> Result<T, rows::WriteError> {
        let taken = self.riders.take();
        let noted = taken.as_ref().map_or(&[][..], |taken| &taken.riders[..]);
        let outcome = Self::on_connection(&self.new_plans_pool, |client, statements| {
            f(&mut Autocommit { client, statements }, noted).map_err(|error| match error {
                rows::WriteError::Db(error) if session_ended(&error) => Attempt::Closed(error),
                error => Attempt::Failed(error),
            })
        });
        self.riders.settle(taken, outcome.is_ok());
        outcome
    }

    /// Runs `attempt` on a connection of `pool`. Connections are not checked when taken from the pool (that would
    /// cost a round trip per operation): one the server closed meanwhile (a restart, an idle timeout) fails the
    /// attempt before anything ran on it, and is then dropped for the next (at most every pooled one, then a new
    /// one), where `attempt` runs again.
    fn on_connection<T, E: From<RepoError>>(
        pool: &r2d2::Pool<Manager>,
        mut attempt: impl FnMut(&mut postgres::Client, &mut HashMap<&'static str, Statement>) -> Result<T, Attempt<E>>,
    ) -> Result<T, E> {
        let attempts = pool.max_size() + 1;
        for n in 1..=attempts {
            let mut conn = pool.get().map_err(|error| E::from(pool_error(error)))?;
            let Conn { client, statements } = &mut *conn;
            let client = client.as_mut().expect("a connection holds its client until it is dropped");
            match attempt(client, statements) {
                Ok(value) => return Ok(value),
                Err(Attempt::Closed(error)) if n < attempts => {
                    tracing::info!(error = %error, "a pooled database connection was closed; taking another");
                }
                Err(Attempt::Closed(error)) => return Err(E::from(repo_error(error))),
                Err(Attempt::Failed(error)) => return Err(error),
            }
        }
        unreachable!("the last attempt returns")
    }
}

/// How an attempt on a pooled connection failed.
enum Attempt<E> {
    /// The server had closed the connection: nothing ran on it, and another connection may do.
    Closed(postgres::Error),
    Failed(E),
}

impl PlanRepository for PgStore {
    fn insert(&self, new: NewPlan, at: Timestamp) -> Result<Plan, RepoError> {
        match self.insert_new(None, new, rows::to_micros(at))? {
            Inserted::New(plan) => Ok(plan),
            Inserted::Earlier(_) => unreachable!("an insert without a message is never a replay"),
        }
    }

    fn insert_unless_posted(&self, message_id: u64, new: NewPlan, at: Timestamp) -> Result<Inserted, RepoError> {
        self.insert_new(Some(message_id), new, rows::to_micros(at))
    }

    fn change(
        &self,
        id: PlanId,
        change: PlanChange,
        actor: &Author,
        at: Timestamp,
        expected_version: Option<u32>,
    ) -> Result<Plan, RepoError> {
        let at = rows::to_micros(at);
        self.write(|tx| {
            let current = rows::plan_for_update(tx, id)?.ok_or(RepoError::NotFound(id))?;
            let applied = apply_change(&current, change, actor, at, expected_version, &self.rules)?;
            rows::update_plan(tx, &applied.plan).map_err(|e| match e {
                rows::WriteError::Db(e) => plan_write_error(e, &current.coach, current.date),
                rows::WriteError::Repo(e) => e,
            })?;
            if applied.charts_replaced {
                rows::replace_charts(tx, &applied.plan)?;
            }
            rows::insert_history(tx, &applied.plan, &applied.entry)?;
            access::announce(tx, event_of(applied.entry.action), &applied.plan, at)?;
            Ok(applied.plan)
        })
    }

    fn get(&self, id: PlanId) -> Result<Option<Plan>, RepoError> {
        self.read(|tx| rows::plan_by_id(tx, id))
    }

    fn find_active(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError> {
        self.read(|tx| rows::active_plan(tx, coach, date))
    }

    fn find_latest_deleted(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError> {
        self.read(|tx| rows::latest_deleted_plan(tx, coach, date))
    }

    fn find_by_source_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError> {
        self.read(|tx| rows::plan_by_message(tx, message_id))
    }

    fn find_by_posting_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError> {
        self.read(|tx| rows::plan_by_posting_message(tx, message_id))
    }

    fn list_active_by_date(&self, date: TradingDate) -> Result<Vec<Plan>, RepoError> {
        self.read(|tx| rows::active_plans_of_date(tx, date))
    }

    fn list_active_by_author(&self, author: UserId, date: Option<TradingDate>) -> Result<Vec<Plan>, RepoError> {
        self.read(|tx| rows::active_plans_of_author(tx, author, date))
    }

    fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoryEntry>, RepoError> {
        self.read(|tx| rows::history(tx, query))
    }

    fn stats(&self) -> Result<StoreStats, RepoError> {
        self.read(rows::stats)
    }

    fn change_count(&self) -> Result<u64, RepoError> {
        // Writers bump one of the table's rows each (migration 0009), so the count is their sum.
        self.read(|tx| {
            let row =
                tx.query_one("SELECT coalesce(sum(count), 0)::bigint FROM change_count", &[]).map_err(repo_error)?;
            Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    fn ping(&self) -> Result<(), RepoError> {
        self.read(|tx| {
            tx.query_one(
                "SELECT (SELECT MAX(version) FROM schema_migrations), (SELECT COUNT(*) FROM (SELECT 1 FROM plans LIMIT 1) AS p)",
                &[],
            )
            .map_err(repo_error)?;
            Ok(())
        })
    }
}

impl PlanSearch for PgStore {
    fn search(&self, query: &SearchQuery) -> Result<SearchPage, RepoError> {
        self.read(|tx| crate::search::search(tx, query))
    }

    fn ticker_mentions(&self, query: &MentionQuery) -> Result<Vec<TickerMention>, RepoError> {
        self.read(|tx| crate::search::ticker_mentions(tx, query))
    }
}

impl StatusStore for PgStore {
    fn put_status(&self, key: &str, value: &str, at: Timestamp) -> Result<(), RepoError> {
        let at = rows::to_micros(at);
        self.riders.replace(key);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO runtime_status (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                &[&key, &value, &at],
            )
            .map_err(repo_error)?;
            Ok(())
        })
    }

    /// The value rides with the next write transaction of this store that commits (see [`crate::riders`]).
    fn defer_status(&self, key: &str, value: &str, at: Timestamp) -> Option<StatusTicket> {
        Some(StatusTicket(self.riders.add(key, value.to_owned(), rows::to_micros(at))))
    }

    fn status_written(&self, ticket: StatusTicket) -> bool {
        self.riders.is_written(ticket.0)
    }

    fn status(&self, key: &str) -> Result<Option<StatusRecord>, RepoError> {
        self.read(|tx| {
            let row = tx
                .query_opt("SELECT value, updated_at FROM runtime_status WHERE key = $1", &[&key])
                .map_err(repo_error)?;
            row.map(|row| Ok(StatusRecord { value: row.try_get(0)?, updated_at: row.try_get(1)? }))
                .transpose()
                .map_err(repo_error)
        })
    }
}
