//! `plan-server mcp`: the MCP server over standard input and output, for desktop agents that start a command. It
//! reads the configured database directly (SQLite, shared with a running bot and API); standard output carries the
//! protocol, so logs go to standard error.

use app::startup::{self, ConfigArgs, ServerArgs, StartupError};

/// Runs the MCP session until the agent closes it (or closes standard input), or SIGINT/SIGTERM.
pub(crate) fn main(config: &ConfigArgs, server: &ServerArgs) -> Result<(), StartupError> {
    let settings = startup::load_settings(config, Some(server))?;
    let _telemetry = app::init_stderr_telemetry(&settings.log, "plan-server")?;
    let location =
        app::store::Location::of(&settings).map_err(|e| StartupError::failed("cannot read database.url", e))?;
    if let app::store::Location::Sqlite(path) = &location
        && !path.exists()
    {
        // An agent given a mistyped path would otherwise read an empty, new database and find nothing.
        return Err(StartupError::failed(
            format!("there is no database at {}", path.display()),
            "plan-server mcp reads the database the bot and the API write, and creates none: give its path with \
             --database (DATABASE_PATH), or a PostgreSQL URL with DATABASE_URL, or in the file given with --config",
        ));
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| StartupError::failed("cannot start the runtime", e))?;
    runtime.block_on(async {
        let shutdown = startup::shutdown_signal();
        let store = startup::open_store(&settings)?;
        let service = startup::build_service(&settings, &store);
        let mcp = mcp_server::PlanMcp::new(service, startup::mcp_config(&settings, settings.api.port));
        tracing::info!(database = %store.describe(), "MCP server on standard input and output");
        tokio::select! {
            result = mcp_server::serve_stdio(mcp) => {
                result.map_err(|e| StartupError::failed("the MCP session failed", e))
            }
            () = shutdown => Ok(()),
        }
    })
}
