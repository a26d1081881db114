//! `plan-bot`: the Discord bot alone, over the database it shares with `plan-api`.
//!
//! With `MOCK_MODE=true` it connects to an embedded local Discord instead of the real one (no token needed), with
//! the sample desk's users and a console on standard input to post as them (`as ann !plan d Long`), so the whole
//! pipeline runs on one machine.

use std::process::ExitCode;
use std::sync::Arc;

use app::startup::{self, ConfigArgs, StartupError};
use clap::Parser;
use discord_adapter::bot::{self, BotToken};
use secrecy::ExposeSecret as _;

/// Capture coaches' plans from Discord: `!plan`, `!edit`, `!delete`, `!plans`, `!myplans`, `!history`, `!help`.
#[derive(Debug, Parser)]
#[command(
    name = "plan-bot",
    version,
    after_help = "Settings come from config/base.yaml, --config FILE and environment variables (DISCORD_BOT_TOKEN, \
                  DATABASE_PATH, ...); see docs/configuration.md. Without a token, MOCK_MODE=true runs the bot against \
                  a local Discord with sample users and a console on standard input (`as ann !plan d Long`).\n\
                  Exit codes: 0 after a clean shutdown, 2 for bad configuration or arguments, 1 for other failures."
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            err.report();
            err.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<(), StartupError> {
    let shutdown = startup::shutdown_signal();
    let settings = startup::load_settings(&cli.config, None)?;
    let mock = settings.discord.mock_mode;
    let token = if mock { None } else { Some(BotToken::new(settings.require_discord_token()?.expose_secret())) };
    let _telemetry = app::init_server_telemetry(&settings.log, "plan-bot")?;
    // twilight speaks TLS to Discord through rustls; it needs a process-wide crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = startup::open_store(&settings)?;
    let service = startup::build_service(&settings, &store);
    let delivery = startup::start_delivery(&settings, &store, &service)?;
    let handler = startup::command_handler(&settings, service);

    let (config, _emulator) = match token {
        Some(token) => (startup::bot_config(&settings, token), None),
        None => {
            let emulator_config = discord_emulator::EmulatorConfig::default().with_sample_users();
            let emulator = discord_emulator::Emulator::start(emulator_config)
                .await
                .map_err(|e| StartupError::failed("cannot start the local Discord for mock mode", e))?;
            let emulator = Arc::new(emulator);
            let mut config = startup::bot_config(&settings, BotToken::new(emulator.token()));
            config.api_base_url = Some(emulator.http_base_url());
            config.gateway_url = Some(emulator.gateway_url());
            config.identify_queue = false;
            let console = discord_emulator::Console::new(Arc::clone(&emulator));
            println!(
                "plan-bot in mock mode: local Discord at {} (gateway {})\n{}\n\
                 Type e.g. `as ann !plan d Long NVDA above 950`; `help` lists the commands.",
                emulator.http_base_url(),
                emulator.gateway_url(),
                console.summary()
            );
            tokio::spawn(console.run_on_stdio());
            (config, Some(emulator))
        }
    };
    tracing::info!(
        database = %store.describe(),
        gateway = config.gateway_url.as_deref().unwrap_or("Discord"),
        "plan-bot starting"
    );
    let ran = bot::run(config, handler, shutdown).await;
    if let Some(delivery) = delivery {
        delivery.stop().await;
    }
    ran.map_err(|e| StartupError::failed("the Discord bot stopped", e))?;
    tracing::info!("plan-bot stopped");
    Ok(())
}
