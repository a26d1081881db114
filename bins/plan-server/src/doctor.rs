//! `plan-server doctor`: checks what serving needs and reports one line per check, `✓` or `✗` (or `!` for
//! something that works but needs attention), each failure with its fix.
//!
//! Exit code: 0 when nothing failed, 2 when the configuration itself is bad, 1 when another check failed.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use app::Settings;
use app::startup::{self, ConfigArgs, EXIT_BAD_CONFIG, EXIT_FAILURE, ServerArgs};
use core_model::error_chain;
use discord_adapter::bot::BotToken;
use discord_adapter::probe::{self, ProbeError};
use secrecy::ExposeSecret as _;
use storage::probe::Probe;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It works.
    Pass,
    /// It works, but something needs attention.
    Warn,
    /// It does not work.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    pub outcome: Outcome,
    /// What was checked, e.g. `database`.
    pub name: &'static str,
    /// What was found.
    pub detail: String,
    /// What to do, for warnings and failures.
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self { outcome: Outcome::Pass, name, detail: detail.into(), fix: None }
    }

    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { outcome: Outcome::Warn, name, detail: detail.into(), fix: Some(fix.into()) }
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { outcome: Outcome::Fail, name, detail: detail.into(), fix: Some(fix.into()) }
    }

    fn print(&self) {
        let mark = match self.outcome {
            Outcome::Pass => "✓",
            Outcome::Warn => "!",
            Outcome::Fail => "✗",
        };
        println!("{mark} {:<15} {}", self.name, self.detail);
        if let Some(fix) = &self.fix {
            println!("  {:<15} fix: {fix}", "");
        }
    }
}

/// Runs every check, prints the report, and returns the exit code.
pub(crate) fn main(config: &ConfigArgs, server: &ServerArgs) -> ExitCode {
    let settings = match startup::load_settings(config, Some(server)) {
        Ok(settings) => settings,
        Err(error) => {
            let count = error.problems().len();
            Check::fail(
                "configuration",
                format!("{count} problem{}", if count == 1 { "" } else { "s" }),
                "correct each setting below, then run `plan-server doctor` again",
            )
            .print();
            for problem in error.problems() {
                println!("    {problem}");
            }
            println!("(the other checks need a valid configuration)");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let configuration = Check::pass("configuration", "valid");
    configuration.print();
    let mut checks = vec![configuration];
    for check in [database(&settings), api_port(&settings), api_auth(&settings), discord_intents(&settings)] {
        check.print();
        checks.push(check);
    }
    let discord = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(discord(&settings, |check| check.print())),
        Err(error) => {
            let check = Check::fail("discord", format!("cannot start the checks: {error}"), "try again");
            check.print();
            vec![check]
        }
    };
    checks.extend(discord);
    let failed = checks.iter().filter(|c| c.outcome == Outcome::Fail).count();
    if failed == 0 {
        println!("everything plan-server needs is in place");
        ExitCode::SUCCESS
    } else {
        println!("{failed} check{} failed", if failed == 1 { "" } else { "s" });
        ExitCode::from(EXIT_FAILURE)
    }
}

/// The database: can it be opened, is its schema current, can it be written.
pub(crate) fn database(settings: &Settings) -> Check {
    match app::store::Location::of(settings) {
        Ok(app::store::Location::Postgres(url)) => postgres_database(&url),
        Ok(app::store::Location::Sqlite(path)) => sqlite_database(&path),
        Err(error) => Check::fail("database", error.to_string(), storage_postgres::PgOpenError::from(error).fix()),
    }
}

/// A PostgreSQL database: reachable, its server version, its schema, this role's right to write.
fn postgres_database(url: &storage_postgres::DatabaseUrl) -> Check {
    let probe = match storage_postgres::probe::probe(url) {
        Ok(probe) => probe,
        Err(error) => return Check::fail("database", error_chain(&error), error.fix()),
    };
    let server = format!("{url}: PostgreSQL {}", probe.server_version);
    if probe.server_version_num < storage_postgres::probe::MIN_SERVER_VERSION {
        return Check::fail(
            "database",
            format!("{server} is older than PostgreSQL 12"),
            "upgrade the server to PostgreSQL 12 or newer (the tests run on 15)",
        );
    }
    if probe.schema.is_newer_than_build() {
        return Check::fail(
            "database",
            format!(
                "{server}, schema version {}, newer than this build's {}",
                probe.schema.current, probe.schema.latest
            ),
            "run the newer plan-server that migrated it, or use another database",
        );
    }
    if !probe.writable {
        return Check::fail(
            "database",
            format!("{server}: this user may read but not write (or the server is a read-only standby)"),
            "grant the user CREATE on the schema (before the first start) or INSERT and UPDATE on its tables, and \
             point database.url at the primary server",
        );
    }
    match probe.schema.current {
        0 => Check::pass("database", format!("{server}, empty: serve or migrate creates the schema")),
        current if probe.schema.is_up_to_date() => {
            Check::pass("database", format!("{server}, schema version {current}, current, writable"))
        }
        current => {
            let pending: Vec<String> =
                storage_postgres::migrations::pending(&probe.schema).iter().map(|m| m.file_name()).collect();
            Check::warn(
                "database",
                format!("{server}, schema version {current}, {} pending ({})", pending.len(), pending.join(", ")),
                "run `plan-server migrate` (serve also applies them at start); back up the database first (pg_dump)",
            )
        }
    }
}

/// A SQLite database file: can it be opened, is its schema current, can it be written.
fn sqlite_database(path: &std::path::Path) -> Check {
    match storage::probe::probe(path) {
        Ok(Probe::WillBeCreated { dir }) => {
            if dir_is_writable(&dir) {
                Check::pass("database", format!("{} does not exist yet; serve or migrate creates it", path.display()))
            } else {
                Check::fail(
                    "database",
                    format!("{} cannot be created: {} is not writable", path.display(), dir.display()),
                    format!("make {} writable for this user, or {}", dir.display(), storage::FIX_PATH),
                )
            }
        }
        Ok(Probe::Exists { schema, writable }) => {
            if !writable {
                return Check::fail(
                    "database",
                    format!("{} can be read but not written", path.display()),
                    storage::FIX_WRITABLE,
                );
            }
            if schema.is_up_to_date() {
                Check::pass(
                    "database",
                    format!("{}: schema version {}, current, writable", path.display(), schema.current),
                )
            } else {
                let pending: Vec<String> =
                    storage::migrations::pending(&schema).iter().map(|m| m.file_name()).collect();
                Check::warn(
                    "database",
                    format!(
                        "{}: schema version {}, {} pending ({})",
                        path.display(),
                        schema.current,
                        pending.len(),
                        pending.join(", ")
                    ),
                    "run `plan-server migrate` (serve also applies them at start); back up the file first",
                )
            }
        }
        Err(error) => Check::fail("database", error_chain(&error), error.fix()),
    }
}

fn dir_is_writable(dir: &std::path::Path) -> bool {
    tempfile::NamedTempFile::new_in(dir).is_ok()
}

/// The API's address: can it be bound now.
pub(crate) fn api_port(settings: &Settings) -> Check {
    let address = settings.api.address();
    if settings.api.port == 0 {
        return match TcpListener::bind((settings.api.host.as_str(), 0)) {
            Ok(_) => Check::pass("api port", format!("{}: port 0, a free port is picked at start", settings.api.host)),
            Err(error) => Check::fail(
                "api port",
                format!("cannot listen on {}: {error}", settings.api.host),
                "set api.host or API_HOST to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0",
            ),
        };
    }
    match TcpListener::bind((settings.api.host.as_str(), settings.api.port)) {
        Ok(_) => Check::pass("api port", format!("{address} is free")),
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => Check::fail(
            "api port",
            format!("{address} is in use (another plan-server or plan-api?)"),
            "stop the other process, or choose another port with --port or API_PORT",
        ),
        Err(error) => Check::fail(
            "api port",
            format!("cannot listen on {address}: {error}"),
            "set api.host or API_HOST to an address of this machine (127.0.0.1, 0.0.0.0), and a port above 1023 \
             unless running with the right to bind low ports",
        ),
    }
}

/// Whether the API needs tokens, and a warning when it listens beyond this machine without them.
pub(crate) fn api_auth(settings: &Settings) -> Check {
    let required = settings.api.auth == app::AuthMode::Required;
    match (required, settings.api_beyond_loopback()) {
        (true, _) => Check::pass("api auth", "required: every route but /health and / needs a token"),
        (false, false) => Check::pass("api auth", format!("off, and the API listens on {} only", settings.api.host)),
        (false, true) => Check::warn(
            "api auth",
            format!("off, and the API listens on {}: anyone who reaches it reads every plan", settings.api.host),
            "set api.auth: required (API_AUTH=required) and make tokens with plan-server token create --name NAME",
        ),
    }
}

/// The gateway intents the bot asks for, and why; the privileged one is named as such, with where to enable it.
pub(crate) fn discord_intents(settings: &Settings) -> Check {
    let requested = discord_adapter::bot::intents(settings.discord.prefix_commands);
    let list: Vec<String> = requested
        .iter()
        .map(|i| format!("{} ({}{})", i.name, i.why, if i.privileged { "; privileged" } else { "" }))
        .collect();
    let mode = if settings.discord.prefix_commands {
        "prefix and slash commands"
    } else {
        "slash commands only (discord.prefix_commands: false)"
    };
    let detail = format!("{mode}; asks for {}", list.join(", "));
    if requested.iter().any(|i| i.privileged) {
        Check::warn(
            "discord intents",
            detail,
            "enable Message Content Intent in the Developer Portal (Applications > your application > Bot > \
             Privileged Gateway Intents), or set discord.prefix_commands: false (DISCORD_PREFIX_COMMANDS=false) to \
             use slash commands only",
        )
    } else {
        Check::pass("discord intents", detail)
    }
}

/// The Discord checks: token present, token accepted, gateway reachable. Each is shown as soon as it is done.
pub(crate) async fn discord(settings: &Settings, show: impl Fn(&Check)) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut done = |check: Check| {
        show(&check);
        checks.push(check);
    };
    if settings.discord.mock_mode {
        done(Check::pass("discord", "mock mode: the bot uses an embedded local Discord, no token needed"));
        return checks;
    }
    let api = settings.discord.api_base_url.clone().unwrap_or_else(|| "https://discord.com".to_owned());
    let gateway = settings.discord.gateway_url.clone().unwrap_or_else(|| "wss://gateway.discord.gg".to_owned());
    let token = match settings.require_discord_token() {
        Ok(token) => {
            done(Check::pass("discord token", "present"));
            BotToken::new(token.expose_secret())
        }
        Err(error) => {
            let problem = error.problems().first();
            done(Check::fail(
                "discord token",
                problem.map_or_else(|| error.to_string(), |p| p.problem.clone()),
                problem.map_or_else(String::new, |p| p.fix.clone()),
            ));
            // The gateway can be checked without a token.
            let config = startup::bot_config(settings, BotToken::new(String::new()));
            done(gateway_check(&config, &gateway, settings.discord.connection_timeout()).await);
            return checks;
        }
    };
    let config = startup::bot_config(settings, token);
    let accepted = match probe::current_user(&config).await {
        Ok(account) => Check::pass(
            "discord login",
            format!("{api} accepted the token: the bot is {} ({})", account.name, account.id),
        ),
        Err(ProbeError::TokenRefused { status }) => Check::fail(
            "discord login",
            format!("{api} refused the token (HTTP {status})"),
            "copy the token again from the Discord Developer Portal (Applications > your application > Bot > Reset \
             Token) into DISCORD_BOT_TOKEN",
        ),
        Err(ProbeError::Config(error)) => {
            Check::fail("discord login", error.to_string(), "set discord.api_base_url or DISCORD_API_BASE_URL")
        }
        Err(error) => Check::fail(
            "discord login",
            format!("{api}: {error}"),
            "check the network and discord.api_base_url / DISCORD_API_BASE_URL (unset means the real Discord)",
        ),
    };
    done(accepted);
    done(gateway_check(&config, &gateway, settings.discord.connection_timeout()).await);
    checks
}

async fn gateway_check(config: &discord_adapter::bot::BotConfig, gateway: &str, timeout: Duration) -> Check {
    match probe::gateway_hello(config, timeout.min(Duration::from_secs(15))).await {
        Ok(()) => Check::pass("discord gateway", format!("{gateway} answered")),
        Err(error) => Check::fail(
            "discord gateway",
            format!("{gateway}: {error}"),
            "check the network and discord.gateway_url / DISCORD_GATEWAY_URL (unset means the real Discord)",
        ),
    }
}
