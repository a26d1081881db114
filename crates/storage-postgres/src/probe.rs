//! Looking at a PostgreSQL database without changing it, for `plan-server doctor`: can it be reached, which server
//! version it runs, where its schema stands, and whether this role may write (or create the schema).

use core_model::SchemaStatus;

use crate::error::PgOpenError;
use crate::migrations::{self, latest_version};
use crate::url::DatabaseUrl;

/// The oldest server version the schema and queries are written for (`server_version_num`).
pub const MIN_SERVER_VERSION: i32 = 120_000;

/// What a look at a database found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgProbe {
    /// The server's version, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    pub server_version: String,
    /// `server_version_num`, e.g. 150018.
    pub server_version_num: i32,
    /// Where the schema stands (version 0: not created yet).
    pub schema: SchemaStatus,
    /// Whether this role may write plans (or, before the first migration, create the tables), on a server that
    /// accepts writes (not a read-only standby).
    pub writable: bool,
}

/// Connects to `url` and looks, changing nothing. Runs on a thread of its own, so it may be called from async code.
///
/// # Errors
/// [`PgOpenError::Connect`] when the server cannot be reached or refuses the connection,
/// [`PgOpenError::ForeignDatabase`] for a database of something else, [`PgOpenError::Setup`] when a query fails.
pub fn probe(url: &DatabaseUrl) -> Result<PgProbe, PgOpenError> {
    std::thread::scope(|scope| scope.spawn(|| probe_here(url)).join())
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn probe_here(url: &DatabaseUrl) -> Result<PgProbe, PgOpenError> {
    let shown = url.to_string();
    let mut client =
        url.config().connect(url.tls()?).map_err(|source| PgOpenError::Connect { url: shown.clone(), source })?;
    let setup = |source| PgOpenError::Setup { url: shown.clone(), source };
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::integer, \
             pg_is_in_recovery()",
            &[],
        )
        .map_err(setup)?;
    let (server_version, server_version_num, standby): (String, i32, bool) = (row.get(0), row.get(1), row.get(2));
    if migrations::is_foreign(&mut client).map_err(setup)? {
        return Err(PgOpenError::ForeignDatabase { url: shown });
    }
    let current = migrations::recorded_version(&mut client).map_err(setup)?;
    let may_write = if current == 0 {
        client.query_one("SELECT has_schema_privilege(current_schema(), 'CREATE')", &[]).map_err(setup)?.get(0)
    } else {
        client
            .query_one(
                "SELECT has_table_privilege('plans', 'INSERT, UPDATE') AND has_table_privilege('plan_history', 'INSERT') \
                 AND has_table_privilege('runtime_status', 'INSERT, UPDATE')",
                &[],
            )
            .map_err(setup)?
            .get(0)
    };
    Ok(PgProbe {
        server_version,
        server_version_num,
        schema: SchemaStatus { current, latest: latest_version() },
        writable: may_write && !standby,
    })
}
