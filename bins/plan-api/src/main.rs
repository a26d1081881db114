//! `plan-api`: the HTTP API alone. This version checks its configuration and database, then stops: the HTTP routes
//! are not part of it yet.

use std::process::ExitCode;

use app::startup::{self, ConfigArgs, ServerArgs, StartupError};
use clap::Parser;

/// Serve coach plans over HTTP.
#[derive(Debug, Parser)]
#[command(name = "plan-api", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = (|| {
        let settings = startup::load_settings(&cli.config, Some(&cli.server))?;
        let _telemetry = app::init_telemetry(&settings.log, "plan-api")?;
        startup::open_store(&settings)?;
        Err::<(), _>(StartupError::failed(
            "plan-api cannot serve yet",
            "this version has no HTTP routes; the configuration and the database are valid",
        ))
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            err.report();
            err.exit_code()
        }
    }
}
