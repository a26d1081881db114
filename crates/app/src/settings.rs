//! Typed settings of the coach-plans binaries: sections with built-in defaults, domain views, and the token.
//!
//! Settings come from layers, lowest to highest: built-in defaults < `config/base.yaml` < `config/{APP_ENVIRONMENT}.yaml`
//! < `--config FILE` < environment variables < command-line overrides; see [`SettingsLoader`]. Every setting has a
//! default, so an empty configuration is valid (only the Discord token is required, and only by the bot:
//! [`Settings::require_discord_token`]).
//!
//! Environment variables: the predecessor's flat names (`DISCORD_BOT_TOKEN`, `API_PORT`, ...) and a nested form for every
//! setting, `COACH_PLANS__SECTION__KEY` (e.g. `COACH_PLANS__API__PORT`); when both are set the nested form wins.
//! Lists are comma-separated. `config/base.yaml` documents every setting.

mod env;
mod keys;
mod loader;
mod problem;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use core_model::{Coach, CoachId, MarketTimeZone, RoleId, Roster, TickerRules, UserId};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use loader::SettingsLoader;
pub use problem::{Problem, SettingsError};

/// Every setting of the product, by section.
///
/// `Debug` shows the Discord token and the database URL as `[REDACTED]`; serializing writes `[REDACTED]` in their
/// place.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where plans are stored.
    pub database: DatabaseSettings,
    /// The HTTP API's listener and limits.
    pub api: ApiSettings,
    /// Log level, format and file.
    pub log: LogSettings,
    /// The HTTP client's cache (the predecessor's cache settings).
    pub client: ClientSettings,
    /// The Discord bot.
    pub discord: DiscordSettings,
    /// Plans: market time zone, chart limit, coach roster.
    pub plans: PlanSettings,
    /// Webhook deliveries.
    pub webhooks: WebhookSettings,
}

/// `database`: where plans are stored: PostgreSQL at `url` when it is set, else SQLite at `path`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// Path of the SQLite database file (default `data/coach_plans.db`), created when missing. Unused when `url` is
    /// set.
    pub path: PathBuf,
    /// A PostgreSQL database (`DATABASE_URL`): `postgres://user:password@host:port/database`, with `sslmode` and
    /// `sslrootcert` when wanted. It holds a password: `Debug` and serialization show `[REDACTED]`.
    #[serde(serialize_with = "serialize_redacted")]
    pub url: Option<SecretString>,
    /// Most connections in the pool (default 8).
    pub pool_size: u32,
    /// How long a connection waits for a lock before giving up, in milliseconds (default 5000).
    pub busy_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { path: PathBuf::from("data/coach_plans.db"), url: None, pool_size: 8, busy_timeout_ms: 5000 }
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { path, url, pool_size, busy_timeout_ms } = self;
        f.debug_struct("DatabaseSettings")
            .field("path", path)
            .field("url", &url.as_ref().map(|_| "[REDACTED]"))
            .field("pool_size", pool_size)
            .field("busy_timeout_ms", busy_timeout_ms)
            .finish()
    }
}

impl PartialEq for DatabaseSettings {
    /// Compares every field; URLs compare by their text (a test convenience; no timing guarantees).
    fn eq(&self, other: &Self) -> bool {
        let Self { path, url, pool_size, busy_timeout_ms } = self;
        *path == other.path
            && url.as_ref().map(ExposeSecret::expose_secret) == other.url.as_ref().map(ExposeSecret::expose_secret)
            && *pool_size == other.pool_size
            && *busy_timeout_ms == other.busy_timeout_ms
    }
}

impl DatabaseSettings {
    /// [`Self::busy_timeout_ms`] as a duration.
    pub fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.busy_timeout_ms)
    }
}

/// `api`: the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiSettings {
    /// Address to listen on (default `127.0.0.1`; `0.0.0.0` for every interface).
    pub host: String,
    /// Port to listen on (default 8080; 0 picks a free port).
    pub port: u16,
    /// Origins allowed by CORS, e.g. `https://dashboard.example.com`, or `*` for any (default: none).
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes (default 64 KiB).
    pub max_body_bytes: usize,
    /// The API's address as agents reach it, for links in answers (e.g. `https://plans.example.com` behind a
    /// proxy); unset: the scheme and `Host` of each request.
    pub public_url: Option<String>,
    /// `off` (the default: anyone who reaches the API reads it) or `required` (every route but `/health` and `/`
    /// needs a token).
    pub auth: AuthMode,
    /// How many requests a caller may make.
    pub rate_limit: RateLimitSettings,
    /// Reverse proxies whose `X-Forwarded-For` is believed: addresses (`10.0.0.5`) or networks (`10.0.0.0/8`).
    pub trusted_proxies: Vec<String>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8080,
            cors_origins: Vec::new(),
            max_body_bytes: 64 * 1024,
            public_url: None,
            auth: AuthMode::Off,
            rate_limit: RateLimitSettings::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Whether the API needs tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Anyone who reaches the API reads it (the default, as the predecessor did).
    #[default]
    Off,
    /// Every route but `/health` and `/` needs a token.
    Required,
}

/// `api.rate_limit`: a token bucket per token (per client address without one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitSettings {
    /// Requests per second of a `read` token or an address, on average (default 20; 0 turns the limit off).
    pub per_second: u32,
    /// Requests at once (default 60).
    pub burst: u32,
    /// Requests per second of an `admin` token (default 20; 0 turns the limit off).
    pub admin_per_second: u32,
    /// Requests at once of an `admin` token (default 60).
    pub admin_burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self { per_second: 20, burst: 60, admin_per_second: 20, admin_burst: 60 }
    }
}

/// `webhooks`: how this process delivers the webhook outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// Whether this process runs the delivery worker (default true; several processes may, one delivers each).
    pub deliver: bool,
    /// Whether `http://` receivers on this machine are allowed (default false; for tests and the sandbox).
    pub allow_insecure_loopback: bool,
    /// Longest an attempt may take, in seconds (default 10).
    pub timeout_seconds: u64,
    /// How long a delivery is retried after its event, in hours (default 24).
    pub retry_hours: u64,
    /// The wait before the first retry, in seconds; each later one waits about twice as long (default 5).
    pub first_retry_seconds: u64,
    /// How often the outbox is looked at, in milliseconds (default 500).
    pub poll_interval_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            deliver: true,
            allow_insecure_loopback: false,
            timeout_seconds: 10,
            retry_hours: 24,
            first_retry_seconds: 5,
            poll_interval_ms: 500,
        }
    }
}

impl ApiSettings {
    /// `host:port`, ready to bind (IPv6 hosts are bracketed).
    pub fn address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `log`: what is logged, how, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// Least severe level logged (default `info`); `RUST_LOG`, when set, wins.
    pub level: LogLevel,
    /// `pretty` (human-readable lines, the default) or `json` (Bunyan JSON lines).
    pub format: LogFormat,
    /// Also write logs to this file, rotated by size (default: standard output only).
    pub file: Option<PathBuf>,
    /// Size at which the log file is rotated, in megabytes (default 10).
    pub max_size_mb: u64,
    /// Rotated log files kept (default 5).
    pub backup_count: u64,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { level: LogLevel::Info, format: LogFormat::Pretty, file: None, max_size_mb: 10, backup_count: 5 }
    }
}

impl LogSettings {
    /// [`Self::max_size_mb`] in bytes.
    pub fn max_size_bytes(&self) -> u64 {
        self.max_size_mb.saturating_mul(1024 * 1024)
    }
}

/// A log level, parsed case-insensitively; the predecessor's Python names `WARNING` and `CRITICAL` are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LogLevel {
    /// Everything.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation (the default).
    #[default]
    Info,
    /// Something unexpected that was handled.
    Warn,
    /// Failures.
    Error,
    /// Nothing at all.
    Off,
}

impl LogLevel {
    /// The level as a filter directive: `trace`, `debug`, `info`, `warn`, `error` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
            Self::Off => "off",
        }
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(Self::Trace),
            "debug" => Ok(Self::Debug),
            "info" => Ok(Self::Info),
            "warn" | "warning" => Ok(Self::Warn),
            "error" | "critical" | "fatal" => Ok(Self::Error),
            "off" | "none" => Ok(Self::Off),
            _ => Err(format!("`{}` is not a log level", shorten(s))),
        }
    }
}

impl TryFrom<String> for LogLevel {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        value.parse()
    }
}

impl From<LogLevel> for String {
    fn from(value: LogLevel) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Pretty,
    /// Bunyan JSON, one object per line.
    Json,
}

impl LogFormat {
    /// `pretty` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        }
    }
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err(format!("`{}` is not a log format", shorten(s))),
        }
    }
}

impl TryFrom<String> for LogFormat {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<LogFormat> for String {
    fn from(value: LogFormat) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `client`: the HTTP client's cache (kept from the predecessor, for agents configured from the same files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientSettings {
    /// How long a cached answer is served, in seconds (default 300).
    pub cache_ttl_seconds: u64,
    /// Most answers cached (default 1000).
    pub max_cache_size: usize,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self { cache_ttl_seconds: 300, max_cache_size: 1000 }
    }
}

impl ClientSettings {
    /// [`Self::cache_ttl_seconds`] as a duration.
    pub fn cache_ttl(&self) -> Duration {
        Duration::from_secs(self.cache_ttl_seconds)
    }
}

/// `discord`: the bot's connection, where it listens, and who administers it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscordSettings {
    /// The bot token (`DISCORD_BOT_TOKEN`). Never printed: `Debug` and serialization show `[REDACTED]`.
    #[serde(serialize_with = "serialize_redacted")]
    pub token: Option<SecretString>,
    /// Base URL of Discord's REST API, e.g. `http://127.0.0.1:9000` for a proxy or emulator (default: the real Discord).
    pub api_base_url: Option<String>,
    /// Gateway URL, e.g. `ws://127.0.0.1:9001` for a proxy or emulator (default: the real Discord).
    pub gateway_url: Option<String>,
    /// Prefix of bot commands (default `!`).
    pub command_prefix: String,
    /// Whether chat messages starting with [`Self::command_prefix`] are commands (default true). They need Discord's
    /// privileged Message Content intent; when false, the bot does not ask for it and takes slash commands only
    /// (`/plan`, `/plans`, ...), which it registers at start either way.
    pub prefix_commands: bool,
    /// Guild (server) ids the bot listens in; empty means every guild it is in.
    pub guilds: Vec<u64>,
    /// Channel ids the bot listens in; empty means every channel it can read.
    pub channels: Vec<u64>,
    /// User ids of admins, who may edit or delete anyone's plan.
    pub admin_users: Vec<u64>,
    /// Role ids whose members are admins.
    pub admin_roles: Vec<u64>,
    /// Reconnection attempts after the gateway connection drops (default 5).
    pub reconnect_attempts: u32,
    /// Delay before the first reconnection attempt, in seconds; doubled after each failure (default 2).
    pub reconnect_delay_seconds: u64,
    /// How long to wait for the gateway or a REST call before giving up, in seconds (default 30).
    pub connection_timeout_seconds: u64,
    /// After a restart whose gateway session could not be resumed, at most this many of the newest messages of each
    /// channel are read back (default 500; 0 turns catch-up off).
    pub catch_up_messages: usize,
    /// Messages older than this many hours are not read back after such a restart (default 72).
    pub catch_up_max_age_hours: u64,
    /// Run the bot against a local Discord instead of the real one (default false). `plan-bot` then starts an
    /// embedded Discord emulator on 127.0.0.1 (free ports, printed at start: its REST and gateway URLs) and connects to
    /// it with the emulator's own token: no token is needed, and `token`, `api_base_url` and `gateway_url` are
    /// ignored. The emulator has one guild ("Coach Plans") with one channel (`daily-plans`) and no users, so the bot
    /// connects, records its connection state in the database (for `/health`) and waits; the database is the
    /// configured one. `plan-api` ignores this setting.
    pub mock_mode: bool,
}

impl Default for DiscordSettings {
    fn default() -> Self {
        Self {
            token: None,
            api_base_url: None,
            gateway_url: None,
            command_prefix: "!".to_owned(),
            prefix_commands: true,
            guilds: Vec::new(),
            channels: Vec::new(),
            admin_users: Vec::new(),
            admin_roles: Vec::new(),
            reconnect_attempts: 5,
            reconnect_delay_seconds: 2,
            connection_timeout_seconds: 30,
            catch_up_messages: 500,
            catch_up_max_age_hours: 72,
            mock_mode: false,
        }
    }
}

impl DiscordSettings {
    /// [`Self::reconnect_delay_seconds`] as a duration.
    pub fn reconnect_delay(&self) -> Duration {
        Duration::from_secs(self.reconnect_delay_seconds)
    }

    /// [`Self::connection_timeout_seconds`] as a duration.
    pub fn connection_timeout(&self) -> Duration {
        Duration::from_secs(self.connection_timeout_seconds)
    }

    /// [`Self::catch_up_max_age_hours`] as a duration.
    pub fn catch_up_max_age(&self) -> Duration {
        Duration::from_secs(self.catch_up_max_age_hours.saturating_mul(60 * 60))
    }
}

impl fmt::Debug for DiscordSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            token,
            api_base_url,
            gateway_url,
            command_prefix,
            prefix_commands,
            guilds,
            channels,
            admin_users,
            admin_roles,
            reconnect_attempts,
            reconnect_delay_seconds,
            connection_timeout_seconds,
            catch_up_messages,
            catch_up_max_age_hours,
            mock_mode,
        } = self;
        f.debug_struct("DiscordSettings")
            .field("token", &token.as_ref().map(|_| "[REDACTED]"))
            .field("api_base_url", api_base_url)
            .field("gateway_url", gateway_url)
            .field("command_prefix", command_prefix)
            .field("prefix_commands", prefix_commands)
            .field("guilds", guilds)
            .field("channels", channels)
            .field("admin_users", admin_users)
            .field("admin_roles", admin_roles)
            .field("reconnect_attempts", reconnect_attempts)
            .field("reconnect_delay_seconds", reconnect_delay_seconds)
            .field("connection_timeout_seconds", connection_timeout_seconds)
            .field("catch_up_messages", catch_up_messages)
            .field("catch_up_max_age_hours", catch_up_max_age_hours)
            .field("mock_mode", mock_mode)
            .finish()
    }
}

impl PartialEq for DiscordSettings {
    /// Compares every field; tokens compare by their text (a test convenience; no timing guarantees).
    fn eq(&self, other: &Self) -> bool {
        let Self {
            token,
            api_base_url,
            gateway_url,
            command_prefix,
            prefix_commands,
            guilds,
            channels,
            admin_users,
            admin_roles,
            reconnect_attempts,
            reconnect_delay_seconds,
            connection_timeout_seconds,
            catch_up_messages,
            catch_up_max_age_hours,
            mock_mode,
        } = self;
        token.as_ref().map(ExposeSecret::expose_secret) == other.token.as_ref().map(ExposeSecret::expose_secret)
            && *api_base_url == other.api_base_url
            && *gateway_url == other.gateway_url
            && *command_prefix == other.command_prefix
            && *prefix_commands == other.prefix_commands
            && *guilds == other.guilds
            && *channels == other.channels
            && *admin_users == other.admin_users
            && *admin_roles == other.admin_roles
            && *reconnect_attempts == other.reconnect_attempts
            && *reconnect_delay_seconds == other.reconnect_delay_seconds
            && *connection_timeout_seconds == other.connection_timeout_seconds
            && *catch_up_messages == other.catch_up_messages
            && *catch_up_max_age_hours == other.catch_up_max_age_hours
            && *mock_mode == other.mock_mode
    }
}

fn serialize_redacted<S: serde::Serializer>(token: &Option<SecretString>, serializer: S) -> Result<S::Ok, S::Error> {
    match token {
        Some(_) => serializer.serialize_some("[REDACTED]"),
        None => serializer.serialize_none(),
    }
}

/// `plans`: the market time zone, the chart limit and the coach roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanSettings {
    /// IANA time zone in which "today" is computed (default `America/New_York`).
    pub market_timezone: String,
    /// Most charts on one plan, 1 to 50 (default 10).
    pub max_chart_attachments: usize,
    /// Keep a copy of each image attached to a plan, served by the API, because Discord's links to attachments
    /// expire after about a day (default true).
    pub archive_chart_images: bool,
    /// Upper-case words that are not tickers when written bare, added to the built-in stoplist (default none).
    pub ticker_stoplist: Vec<String>,
    /// When not empty: the only symbols that count when written bare (cashtags and crypto pairs always count).
    /// Either the symbols, or one entry naming a file of them (whitespace- or comma-separated, `#` starts a comment).
    pub ticker_universe: Vec<String>,
    /// The coach roster (default `d` Day Trading, `i` Intraday, `s` Swing, `n` News/Events).
    pub coaches: Vec<CoachSettings>,
}

impl Default for PlanSettings {
    fn default() -> Self {
        let coaches = Roster::default()
            .coaches()
            .iter()
            .map(|coach| CoachSettings { id: coach.id.to_string(), name: coach.name.clone(), posters: Vec::new() })
            .collect();
        Self {
            market_timezone: "America/New_York".to_owned(),
            max_chart_attachments: 10,
            archive_chart_images: true,
            ticker_stoplist: Vec::new(),
            ticker_universe: Vec::new(),
            coaches,
        }
    }
}

/// One coach of the roster, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoachSettings {
    /// Short id, e.g. `d`.
    pub id: String,
    /// Name shown to people, e.g. `Day Trading`.
    pub name: String,
    /// Discord user ids allowed to post as this coach; empty means anyone.
    #[serde(default)]
    pub posters: Vec<u64>,
}

/// Which environment file is layered over `base.yaml`: `APP_ENVIRONMENT=local` (the default) or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    /// `config/local.yaml`: development on a workstation.
    #[default]
    Local,
    /// `config/production.yaml`: a deployment.
    Production,
}

impl Environment {
    /// `local` or `production`, the name of the environment file without `.yaml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Production => "production",
        }
    }
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Self::Local),
            "production" => Ok(Self::Production),
            _ => Err(format!("`{}` is not an environment", shorten(s))),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An address (`10.0.0.5`, a network of one) or a network (`10.0.0.0/8`).
pub(crate) fn parse_network(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| text.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

impl Settings {
    /// The trusted proxies as networks (the settings were validated, so every one reads).
    pub fn trusted_proxies(&self) -> Vec<ipnet::IpNet> {
        self.api.trusted_proxies.iter().filter_map(|p| parse_network(p)).collect()
    }

    /// Whether the API listens beyond this machine (a host that is not a loopback address or `localhost`).
    pub fn api_beyond_loopback(&self) -> bool {
        !core_model::is_loopback_host(&self.api.host)
    }

    /// Checks every setting and reports every problem at once.
    ///
    /// [`SettingsLoader::load`] calls this; call it yourself on settings built in code.
    ///
    /// # Errors
    /// [`SettingsError`] listing each bad setting with its fix.
    pub fn validate(&self) -> Result<(), SettingsError> {
        SettingsError::from_problems(validate::problems(self))
    }

    /// The coach roster.
    ///
    /// Settings that passed [`Self::validate`] give exactly the configured coaches; on settings that did not,
    /// malformed coaches are left out and an unusable roster falls back to the default one.
    pub fn roster(&self) -> Roster {
        let coaches = self
            .plans
            .coaches
            .iter()
            .filter_map(|c| CoachId::new(&c.id).ok().map(|id| Coach { id, name: c.name.clone() }))
            .collect();
        Roster::new(coaches).unwrap_or_default()
    }

    /// The Discord users allowed to post as each coach, for the coaches that are restricted;
    /// a coach absent from the map may be posted by anyone.
    pub fn coach_posters(&self) -> BTreeMap<CoachId, Vec<UserId>> {
        self.plans
            .coaches
            .iter()
            .filter(|c| !c.posters.is_empty())
            .filter_map(|c| CoachId::new(&c.id).ok().map(|id| (id, c.posters.iter().copied().map(UserId).collect())))
            .collect()
    }

    /// Which words of a plan are tickers: the built-in stoplist plus `plans.ticker_stoplist`, and the universe of
    /// `plans.ticker_universe` (read from its file when it names one). On settings that did not pass
    /// [`Self::validate`], a universe that cannot be read is left out.
    pub fn ticker_rules(&self) -> TickerRules {
        let universe = validate::ticker_universe(&self.plans.ticker_universe).ok().flatten();
        TickerRules::new(&self.plans.ticker_stoplist, universe)
    }

    /// The market time zone; on settings that did not pass [`Self::validate`], an unknown zone falls back to
    /// `America/New_York`.
    pub fn market_time_zone(&self) -> MarketTimeZone {
        MarketTimeZone::new(self.plans.market_timezone.trim()).unwrap_or_default()
    }

    /// The configured admin users.
    pub fn admin_users(&self) -> Vec<UserId> {
        self.discord.admin_users.iter().copied().map(UserId).collect()
    }

    /// The configured admin roles.
    pub fn admin_roles(&self) -> Vec<RoleId> {
        self.discord.admin_roles.iter().copied().map(RoleId).collect()
    }

    /// The Discord bot token, for binaries that connect to Discord.
    ///
    /// # Errors
    /// [`SettingsError`] when no token (or a blank one) is configured; its message says where to get one.
    pub fn require_discord_token(&self) -> Result<&SecretString, SettingsError> {
        match &self.discord.token {
            Some(token) if !token.expose_secret().trim().is_empty() => Ok(token),
            Some(_) => Err(SettingsError::single(validate::missing_token("the Discord bot token is blank"))),
            None => Err(SettingsError::single(validate::missing_token("no Discord bot token is configured"))),
        }
    }
}

/// At most 60 characters of a user-given value, for messages.
pub(crate) fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().nth(60).is_some() {
        out.push_str("...");
    }
    out
}
