//! Start-up wiring shared by the binaries: the common command-line flags, settings, storage and the service.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::store::{Location, Store, StoreError};
use core_model::SystemClock;
use service::{PlanService, Policy};

use crate::{Settings, SettingsError, SettingsLoader, TelemetryError};

/// Exit code after a clean shutdown.
pub const EXIT_OK: u8 = 0;
/// Exit code for start-up failures other than configuration.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for bad configuration or arguments.
pub const EXIT_BAD_CONFIG: u8 = 2;

/// The `--config FILE` flag every binary accepts.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// Configuration file, layered over config/base.yaml and config/{APP_ENVIRONMENT}.yaml, under environment
    /// variables and flags.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

/// The flags of the processes that serve HTTP and own a database.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on (api.host, API_HOST).
    #[arg(long, value_name = "ADDRESS", global = true)]
    pub host: Option<String>,
    /// Port to listen on; 0 picks a free one (api.port, API_PORT).
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// SQLite database file, created when missing (database.path, DATABASE_PATH); given, it is used even when
    /// database.url or DATABASE_URL names a PostgreSQL database.
    #[arg(long, value_name = "PATH", global = true)]
    pub database: Option<PathBuf>,
}

/// Loads and validates the settings: files, the process environment, then the flags.
///
/// # Errors
/// [`SettingsError`] listing every bad setting.
pub fn load_settings(config: &ConfigArgs, server: Option<&ServerArgs>) -> Result<Settings, SettingsError> {
    let mut loader = SettingsLoader::from_process_env().config_file(config.config.clone());
    if let Some(server) = server {
        loader = loader
            .set_override_opt("api.host", server.host.clone())
            .set_override_opt("api.port", server.port.map(|p| p.to_string()))
            .set_override_opt("database.path", server.database.as_ref().map(|p| p.display().to_string()));
    }
    let mut settings = loader.load()?;
    if server.is_some_and(|s| s.database.is_some()) {
        // The flag is the top layer and names a SQLite file: a database.url of a layer below does not win over it.
        settings.database.url = None;
    }
    Ok(settings)
}

/// The service's rules from the settings.
pub fn policy(settings: &Settings) -> Policy {
    Policy {
        roster: settings.roster(),
        zone: settings.market_time_zone(),
        max_charts: settings.plans.max_chart_attachments,
        admin_users: settings.admin_users(),
        admin_roles: settings.admin_roles(),
        posters: settings.coach_posters().into_iter().collect(),
    }
}

/// How the HTTP API serves, from the settings.
pub fn api_config(settings: &Settings) -> http_api::ApiConfig {
    http_api::ApiConfig {
        host: settings.api.host.clone(),
        port: settings.api.port,
        cors_origins: settings.api.cors_origins.clone(),
        max_body_bytes: settings.api.max_body_bytes,
        public_url: settings.api.public_url.clone(),
        storage_connections: settings.database.pool_size as usize,
        access: http_api::AccessConfig {
            auth_required: settings.api.auth == crate::settings::AuthMode::Required,
            rate_limit: http_api::RateLimit {
                per_second: settings.api.rate_limit.per_second,
                burst: settings.api.rate_limit.burst,
            },
            admin_rate_limit: http_api::RateLimit {
                per_second: settings.api.rate_limit.admin_per_second,
                burst: settings.api.rate_limit.admin_burst,
            },
            trusted_proxies: settings.trusted_proxies(),
        },
        ..http_api::ApiConfig::default()
    }
}

/// The token use cases over the store.
pub fn access(store: &Store) -> service::Access {
    service::Access::new(store.tokens(), Arc::new(SystemClock))
}

/// The webhook subscription use cases over the store.
pub fn webhooks(settings: &Settings, store: &Store) -> service::Webhooks {
    service::Webhooks::new(store.webhooks(), Arc::new(SystemClock), settings.webhooks.allow_insecure_loopback)
}

/// Warns, in the log and on standard error, when the API listens beyond this machine without authentication.
pub fn warn_if_exposed(settings: &Settings) {
    if settings.api_beyond_loopback() && settings.api.auth == crate::settings::AuthMode::Off {
        let message = format!(
            "the API listens on {} without authentication: anyone who reaches it reads every plan; set api.auth: \
             required (API_AUTH=required) and make tokens with plan-server token create",
            settings.api.host
        );
        tracing::warn!("{message}");
        eprintln!("warning: {message}");
    }
}

/// The base of links in webhook bodies (archived chart images): `api.public_url`, else the API's configured
/// address as this machine reaches it.
pub fn link_base(settings: &Settings) -> String {
    if let Some(public) = &settings.api.public_url {
        return public.trim_end_matches('/').to_owned();
    }
    mcp_config(settings, settings.api.port).local_url
}

/// The webhook delivery worker of this process, running until [`Delivery::stop`]; `None` when `webhooks.deliver`
/// is off.
///
/// # Errors
/// When its HTTP client cannot be built.
pub fn start_delivery(
    settings: &Settings,
    store: &Store,
    service: &PlanService,
) -> Result<Option<Delivery>, StartupError> {
    if !settings.webhooks.deliver {
        tracing::info!("webhooks are delivered by other processes (webhooks.deliver is false)");
        return Ok(None);
    }
    let timeout = std::time::Duration::from_secs(settings.webhooks.timeout_seconds);
    let worker = delivery_worker(settings, store, service)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(worker.run(async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    Ok(Some(Delivery { stop, task, timeout }))
}

/// The webhook delivery worker the settings describe, not yet running.
///
/// # Errors
/// When its HTTP client cannot be built.
pub fn delivery_worker(
    settings: &Settings,
    store: &Store,
    service: &PlanService,
) -> Result<webhooks::Worker, StartupError> {
    let hooks = &settings.webhooks;
    let config = webhooks::DeliveryConfig {
        timeout: std::time::Duration::from_secs(hooks.timeout_seconds),
        retry_for: std::time::Duration::from_secs(hooks.retry_hours * 3600),
        first_retry: std::time::Duration::from_secs(hooks.first_retry_seconds),
        poll_interval: std::time::Duration::from_millis(hooks.poll_interval_ms),
        allow_insecure_loopback: hooks.allow_insecure_loopback,
        ..webhooks::DeliveryConfig::default()
    };
    let (service, base) = (service.clone(), link_base(settings));
    let render: webhooks::RenderPlan = Arc::new(move |plan| {
        let (service, base) = (service.clone(), base.clone());
        Box::pin(async move { http_api::plan_json(&service, &base, &plan).await })
    });
    webhooks::Worker::new(store.webhooks(), Arc::new(SystemClock), render, config)
        .map_err(|e| StartupError::failed("cannot start the webhook delivery worker", e))
}

/// A running delivery worker.
#[derive(Debug)]
pub struct Delivery {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    timeout: std::time::Duration,
}

impl Delivery {
    /// Stops claiming deliveries and waits for attempts in flight (each bounded by the attempt timeout); one still
    /// running then is abandoned, and its lease lets another process (or the next start) deliver it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(self.timeout + std::time::Duration::from_secs(1), &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// How the bot connects, from the settings, with `token` (the configured one, or an emulator's).
pub fn bot_config(settings: &Settings, token: discord_adapter::bot::BotToken) -> discord_adapter::bot::BotConfig {
    let discord = &settings.discord;
    discord_adapter::bot::BotConfig {
        api_base_url: discord.api_base_url.clone(),
        gateway_url: discord.gateway_url.clone(),
        retry: discord_adapter::retry::RetryPolicy {
            retries: discord.reconnect_attempts,
            base_delay: discord.reconnect_delay(),
            max_delay: std::time::Duration::from_secs(60),
        },
        request_timeout: discord.connection_timeout(),
        catch_up_limit: discord.catch_up_messages,
        catch_up_max_age: discord.catch_up_max_age(),
        watched_channels: discord.channels.clone(),
        prefix_commands: discord.prefix_commands,
        ..discord_adapter::bot::BotConfig::new(token)
    }
}

/// The command handler over the service, listening where the settings say.
pub fn command_handler(settings: &Settings, service: PlanService) -> discord_adapter::handler::CommandHandler {
    let listening = discord_adapter::handler::Listening {
        guilds: settings.discord.guilds.clone(),
        channels: settings.discord.channels.clone(),
    };
    let handler =
        discord_adapter::handler::CommandHandler::new(service, settings.discord.command_prefix.clone(), listening);
    if settings.plans.archive_chart_images {
        let timeout = settings.discord.connection_timeout();
        handler.with_chart_archiver(discord_adapter::archive::ChartArchiver::new(
            discord_adapter::archive::DEFAULT_MAX_IMAGE_BYTES,
            timeout,
        ))
    } else {
        handler
    }
}

/// Opens (creating and migrating it when needed) the configured database: PostgreSQL at `database.url`, else SQLite
/// at `database.path`.
///
/// # Errors
/// [`StartupError::Storage`] when the database cannot be opened, is not ours, or was migrated by a newer build.
pub fn open_store(settings: &Settings) -> Result<Store, StartupError> {
    let location = Location::of(settings).map_err(|e| StartupError::failed("cannot read database.url", e))?;
    Ok(Store::open(&location, settings)?)
}

/// The HTTP API over `service`, bound where the settings say, with the MCP server at `/mcp` and the dashboard at
/// `/dashboard` on the same port.
///
/// # Errors
/// When the address cannot be bound.
pub fn api_application(
    settings: &Settings,
    service: PlanService,
    store: &Store,
) -> std::io::Result<http_api::Application> {
    let config = api_config(settings);
    let listener = std::net::TcpListener::bind((config.host.as_str(), config.port))?;
    let port = listener.local_addr()?.port();
    let mcp = mcp_server::PlanMcp::new(service.clone(), mcp_config(settings, port));
    let transport = mcp_server::HttpTransport::new(mcp, mcp_allowed_hosts(settings));
    let closer = transport.clone();
    let access = access(store);
    let dashboard = dashboard::Dashboard::new(service.clone(), Some(access.clone()), config.access.auth_required);
    let mount = http_api::Mount::new(move |config| {
        transport.configure(config);
        dashboard.configure(config);
    })
    .on_stop(move || closer.close_sessions())
    .refusals(mcp_server::HTTP_PATH, mcp_server::refusal)
    .listed("/dashboard", "the day's plans as a web page, with their charts")
    .listed("/mcp", "the plans as Model Context Protocol tools and resources (streamable HTTP)");
    let services =
        http_api::Services { plans: service, access: Some(access), webhooks: Some(webhooks(settings, store)) };
    http_api::Application::from_listener(listener, config, services, Some(mount))
}

/// How the MCP server answers, from the settings; `port` is the API's (links to chart images point there when
/// `api.public_url` is unset and no HTTP request names a host).
pub fn mcp_config(settings: &Settings, port: u16) -> mcp_server::McpConfig {
    let host = match settings.api.host.as_str() {
        "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
        host => host,
    };
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_owned() };
    mcp_server::McpConfig {
        public_url: settings.api.public_url.clone(),
        local_url: format!("http://{host}:{port}"),
        ..mcp_server::McpConfig::default()
    }
}

/// The `Host` values `/mcp` accepts: loopback, the API's own host when it names one, and the host of
/// `api.public_url` (the name agents reach it under). Any other `Host` is refused, against DNS rebinding.
pub fn mcp_allowed_hosts(settings: &Settings) -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(str::to_owned).to_vec();
    if !matches!(settings.api.host.as_str(), "0.0.0.0" | "::" | "[::]") {
        hosts.push(settings.api.host.clone());
    }
    if let Some(host) = settings.api.public_url.as_deref().and_then(|u| url::Url::parse(u).ok()) {
        hosts.extend(host.host_str().map(str::to_owned));
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

/// The service over a store, with the system clock and the configured rules.
pub fn build_service(settings: &Settings, store: &Store) -> PlanService {
    PlanService::new(store.plans(), store.status(), Arc::new(SystemClock), policy(settings))
        .with_chart_images(store.images())
}

/// Completes on SIGINT or SIGTERM (Ctrl-C where there are no Unix signals): the binaries' cue for a clean shutdown.
///
/// The signals are caught from this call on, before the returned future is first polled: a binary calls it first
/// thing, so that a stop asked for while it is still starting ends it cleanly instead of killing it. Call it within
/// the Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::interrupt()).ok().zip(signal(SignalKind::terminate()).ok())
    };
    async move {
        #[cfg(unix)]
        if let Some((mut interrupt, mut terminate)) = signals {
            let name = tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            };
            tracing::info!(signal = name, "shutting down");
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}

/// Why a binary could not start; each maps to the exit code operators rely on.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Bad configuration (exit 2).
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Logging could not be set up (exit 1).
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    /// The database could not be opened (exit 1).
    #[error("cannot open the database")]
    Storage(#[from] StoreError),
    /// A command-line value the command refuses (exit 2, like bad configuration).
    #[error("{context}")]
    BadArgument {
        /// What was being done, e.g. `cannot make the token`.
        context: String,
        /// What is wrong with the value and what to give instead.
        #[source]
        source: core_model::BoxError,
    },
    /// Anything else that stops the command (exit 1).
    #[error("{context}")]
    Failed {
        /// What was being done, e.g. `cannot import legacy.db`.
        context: String,
        /// Why it failed.
        #[source]
        source: core_model::BoxError,
    },
}

impl StartupError {
    /// A failure of `context`, caused by `source`.
    pub fn failed(context: impl Into<String>, source: impl Into<core_model::BoxError>) -> Self {
        Self::Failed { context: context.into(), source: source.into() }
    }

    /// A command-line value of `context` refused, for the reason `source` gives.
    pub fn bad_argument(context: impl Into<String>, source: impl Into<core_model::BoxError>) -> Self {
        Self::BadArgument { context: context.into(), source: source.into() }
    }
}

impl StartupError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Settings(_) | Self::BadArgument { .. } => EXIT_BAD_CONFIG,
            _ => EXIT_FAILURE,
        })
    }

    /// What the operator does about it, when that is known beyond the error's own words.
    pub fn fix(&self) -> Option<String> {
        match self {
            Self::Storage(error) => Some(error.fix()),
            _ => None,
        }
    }

    /// Prints the error, its causes and what to do to standard error, one per line, for an operator.
    pub fn report(&self) {
        eprintln!("{}", self.report_text());
    }

    fn report_text(&self) -> String {
        let mut message = format!("error: {self}");
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            message.push_str(&format!("\n  caused by: {cause}"));
            source = cause.source();
        }
        if let Some(fix) = self.fix() {
            message.push_str(&format!("\n  fix: {fix}"));
        }
        message
    }

    /// The API's address cannot be bound.
    pub fn cannot_listen(address: impl std::fmt::Display, error: std::io::Error) -> Self {
        Self::failed(
            format!("cannot listen on {address}; choose another port with --port or API_PORT (0 picks a free one)"),
            error,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str, public_url: Option<&str>) -> Settings {
        let mut settings = Settings::default();
        settings.api.host = host.to_owned();
        settings.api.public_url = public_url.map(str::to_owned);
        settings
    }

    #[test]
    fn mcp_accepts_loopback_the_api_host_and_the_public_urls_host_only() {
        let hosts = mcp_allowed_hosts(&settings("10.1.2.3", Some("https://plans.example.com:8443/desk")));
        assert_eq!(hosts, ["10.1.2.3", "127.0.0.1", "::1", "localhost", "plans.example.com"]);
        let hosts = mcp_allowed_hosts(&settings("0.0.0.0", None));
        assert_eq!(hosts, ["127.0.0.1", "::1", "localhost"], "a wildcard address names no host");
    }

    #[test]
    fn mcp_links_without_a_public_url_point_at_the_api_itself() {
        let config = mcp_config(&settings("0.0.0.0", None), 8080);
        assert_eq!((config.public_url, config.local_url.as_str()), (None, "http://127.0.0.1:8080"));
        assert_eq!(mcp_config(&settings("::1", None), 9000).local_url, "http://[::1]:9000");
        let public = mcp_config(&settings("127.0.0.1", Some("https://plans.example.com")), 8080);
        assert_eq!(public.public_url.as_deref(), Some("https://plans.example.com"));
    }
}
