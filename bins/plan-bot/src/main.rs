//! `plan-bot`: the Discord bot alone. This version checks its configuration (including the token) and database,
//! then stops: the Discord connection is not part of it yet.

use std::process::ExitCode;

use app::startup::{self, ConfigArgs, StartupError};
use clap::Parser;

/// Capture coaches' plans from Discord.
#[derive(Debug, Parser)]
#[command(name = "plan-bot", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = (|| {
        let settings = startup::load_settings(&cli.config, None)?;
        if !settings.discord.mock_mode {
            settings.require_discord_token()?;
        }
        let _telemetry = app::init_telemetry(&settings.log, "plan-bot")?;
        startup::open_store(&settings)?;
        Err::<(), _>(StartupError::failed(
            "plan-bot cannot connect to Discord yet",
            "this version has no Discord connection; the configuration and the database are valid",
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
