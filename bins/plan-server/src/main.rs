//! `plan-server`: the operator's commands over the coach-plans database (`migrate`, `import-legacy`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use app::startup::{self, ConfigArgs, ServerArgs, StartupError};
use clap::{Parser, Subcommand};
use core_model::MarketTimeZone;

/// Coach plans: capture trading coaches' daily plans from Discord and serve them to trading agents.
#[derive(Debug, Parser)]
#[command(name = "plan-server", version, arg_required_else_help = true)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the database if needed and apply pending migrations, then report the schema version.
    Migrate,
    /// Import the predecessor's SQLite database (plans, charts, history); importing twice adds nothing.
    ImportLegacy {
        /// The predecessor's database file.
        path: PathBuf,
        /// Time zone of the predecessor's naive timestamps (default: the market time zone).
        #[arg(long, value_name = "IANA_NAME", value_parser = parse_zone)]
        legacy_timezone: Option<MarketTimeZone>,
    },
}

fn parse_zone(name: &str) -> Result<MarketTimeZone, String> {
    MarketTimeZone::new(name).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            err.report();
            err.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<(), StartupError> {
    let settings = startup::load_settings(&cli.config, Some(&cli.server))?;
    let _telemetry = app::init_telemetry(&settings.log, "plan-server")?;
    match cli.command {
        Command::Migrate => {
            let store = startup::open_store(&settings)?;
            let status =
                store.schema_status().map_err(|e| StartupError::failed("cannot read the schema version", e))?;
            let applied = store.applied_at_open();
            if applied.is_empty() {
                println!("{}: schema version {} is up to date", settings.database.path.display(), status.current);
            } else {
                let list: Vec<String> = applied.iter().map(u32::to_string).collect();
                println!(
                    "{}: applied migration(s) {}; schema version is now {}",
                    settings.database.path.display(),
                    list.join(", "),
                    status.current
                );
            }
            Ok(())
        }
        Command::ImportLegacy { path, legacy_timezone } => {
            let zone = legacy_timezone.unwrap_or_else(|| settings.market_time_zone());
            let store = Arc::new(startup::open_store(&settings)?);
            let summary = storage::legacy::import_legacy(&store, &path, zone.zone())
                .map_err(|e| StartupError::failed(format!("cannot import {}", path.display()), e))?;
            println!("{summary}");
            Ok(())
        }
    }
}
