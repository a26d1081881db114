//! `plan-server serve`: the Discord bot and the HTTP API in one process, over one database and one service.
//!
//! Start-up: settings (every problem at once, exit 2), telemetry, the database (migrations applied), the API's
//! listener, then the bot. Shutdown on SIGINT/SIGTERM: the API stops accepting and finishes requests in flight, the
//! bot closes the gateway cleanly and finishes the commands it holds, logs are flushed, exit 0.

use std::future::Future;
use std::time::Duration;

use app::startup::{self, ConfigArgs, ServerArgs, StartupError};
use app::{Settings, SettingsError};
use discord_adapter::bot::{self, BotConfig, BotError, BotToken};
use secrecy::ExposeSecret as _;
use service::PlanService;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{ServeArgs, sandbox};

/// Runs `serve` (or the sandbox) to the end: builds the runtime, starts, waits for a shutdown signal, stops.
pub(crate) fn main(config: &ConfigArgs, server: &ServerArgs, args: &ServeArgs) -> Result<(), StartupError> {
    let settings = startup::load_settings(config, Some(server))?;
    // A missing token is a configuration error, reported before anything starts (the sandbox and mock mode use the
    // local Discord's token instead).
    let token = if args.sandbox || settings.discord.mock_mode {
        None
    } else {
        let token = settings.require_discord_token().map_err(|error| {
            let problems = error
                .problems()
                .iter()
                .cloned()
                .map(|mut problem| {
                    problem.fix.push_str("; or try the whole product without a token first: plan-server --sandbox");
                    problem
                })
                .collect();
            SettingsError::new(problems)
        })?;
        Some(BotToken::new(token.expose_secret()))
    };
    let telemetry = if args.sandbox {
        // The console owns the terminal: logs go to a file, only warnings and errors to the terminal.
        let file = sandbox::log_file(&settings);
        let guard = app::init_console_telemetry(&settings.log, "plan-server", &file)?;
        println!("logs: {} (warnings and errors also here)", file.display());
        guard
    } else {
        app::init_server_telemetry(&settings.log, "plan-server")?
    };
    // twilight speaks TLS to Discord through rustls; it needs a process-wide crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("plan-server")
        .build()
        .map_err(|e| StartupError::failed("cannot start the async runtime", e))?;
    let outcome = runtime.block_on(async {
        if args.sandbox { sandbox::run(settings, args.seed_demo).await } else { serve(settings, token).await }
    });
    // The console's reader may be blocked on standard input; nothing else is left to wait for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(telemetry);
    outcome
}

/// Serves with the configured Discord (or, in mock mode, an embedded local one) until SIGINT/SIGTERM.
async fn serve(settings: Settings, token: Option<BotToken>) -> Result<(), StartupError> {
    let shutdown = startup::shutdown_signal();
    let (bot_config, _emulator) = match token {
        Some(token) => (startup::bot_config(&settings, token), None),
        None => {
            let emulator = discord_emulator::Emulator::start(discord_emulator::EmulatorConfig::default())
                .await
                .map_err(|e| StartupError::failed("cannot start the local Discord for mock mode", e))?;
            let config = local_bot_config(&settings, &emulator);
            println!("mock mode: the bot connects to a local Discord at {}", emulator.http_base_url());
            (config, Some(emulator))
        }
    };
    let pipeline = Pipeline::start(&settings, bot_config).await?;
    println!("plan-server: HTTP API on {} (database {})", pipeline.api_url(), app::store::shown(&settings));
    pipeline.run_until(shutdown).await
}

/// The bot's connection settings for a local Discord emulator.
pub(crate) fn local_bot_config(settings: &Settings, emulator: &discord_emulator::Emulator) -> BotConfig {
    let mut config = startup::bot_config(settings, BotToken::new(emulator.token()));
    config.api_base_url = Some(emulator.http_base_url());
    config.gateway_url = Some(emulator.gateway_url());
    config.identify_queue = false;
    config
}

/// The bot and the API running over one service.
pub(crate) struct Pipeline {
    service: PlanService,
    delivery: Option<startup::Delivery>,
    api_url: String,
    stop: watch::Sender<bool>,
    api: JoinHandle<std::io::Result<()>>,
    bot: JoinHandle<Result<(), BotError>>,
}

impl Pipeline {
    /// Opens the database, binds the API and starts both halves.
    ///
    /// # Errors
    /// When the database cannot be opened or the API's address cannot be bound.
    pub(crate) async fn start(settings: &Settings, bot_config: BotConfig) -> Result<Self, StartupError> {
        let store = startup::open_store(settings)?;
        let service = startup::build_service(settings, &store);
        let address = settings.api.address();
        let application = startup::api_application(settings, service.clone(), &store)
            .map_err(|e| StartupError::cannot_listen(&address, e))?;
        let api_url = format!("http://{}:{}", display_host(&settings.api.host), application.port());
        startup::warn_if_exposed(settings);
        let delivery = startup::start_delivery(settings, &store, &service)?;
        let (stop, stopped) = watch::channel(false);
        let api = tokio::spawn(application.run_until(wait_for(stopped.clone())));
        let handler = startup::command_handler(settings, service.clone());
        let bot = tokio::spawn(bot::run(bot_config, handler, wait_for(stopped)));
        tracing::info!(api = %api_url, database = %store.describe(), "plan-server started");
        Ok(Self { service, delivery, api_url, stop, api, bot })
    }

    /// The API's base URL, e.g. `http://127.0.0.1:8080`.
    pub(crate) fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The service both halves share.
    pub(crate) fn service(&self) -> &PlanService {
        &self.service
    }

    /// Runs until `shutdown` completes or the bot stops on its own (Discord refused it for good), then stops both.
    ///
    /// # Errors
    /// When the bot stopped on its own or the HTTP server failed.
    pub(crate) async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> Result<(), StartupError> {
        let result = self.serve(shutdown).await;
        if let Some(delivery) = self.delivery.take() {
            delivery.stop().await;
        }
        result
    }

    async fn serve(&mut self, shutdown: impl Future<Output = ()>) -> Result<(), StartupError> {
        let early = tokio::select! {
            () = shutdown => None,
            bot = &mut self.bot => Some(bot),
            api = &mut self.api => {
                let _ = self.stop.send(true);
                let _ = (&mut self.bot).await;
                return match api {
                    Ok(Ok(())) => Err(StartupError::failed("the HTTP server stopped", "it stopped on its own")),
                    Ok(Err(e)) => Err(StartupError::failed("the HTTP server failed", e)),
                    Err(e) => Err(StartupError::failed("the HTTP server failed", e)),
                };
            }
        };
        let _ = self.stop.send(true);
        let bot = match early {
            Some(bot) => bot,
            None => (&mut self.bot).await,
        };
        let api = (&mut self.api).await;
        tracing::info!("plan-server stopped");
        match bot {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(StartupError::failed("the Discord bot stopped", e)),
            Err(e) => return Err(StartupError::failed("the Discord bot failed", e)),
        }
        match api {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StartupError::failed("the HTTP server failed", e)),
            Err(e) => Err(StartupError::failed("the HTTP server failed", e)),
        }
    }
}

/// Completes when the stop flag is raised (or its sender is gone).
async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// A host for a URL a person can open: a wildcard address is reached through loopback.
fn display_host(host: &str) -> String {
    match host {
        "0.0.0.0" | "" => "127.0.0.1".to_owned(),
        "::" | "[::]" => "[::1]".to_owned(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::display_host;

    #[test]
    fn wildcard_hosts_become_loopback_in_urls() {
        for (host, shown) in [
            ("0.0.0.0", "127.0.0.1"),
            ("::", "[::1]"),
            ("127.0.0.1", "127.0.0.1"),
            ("::1", "[::1]"),
            ("plans.local", "plans.local"),
        ] {
            assert_eq!(display_host(host), shown, "{host}");
        }
    }
}
