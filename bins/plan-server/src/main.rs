//! `plan-server`: the whole product in one process (Discord bot and HTTP API over one database), the sandbox that
//! runs it against a local Discord, the MCP server over standard input and output (`mcp`), and the operator's
//! commands (`doctor`, `init`, `migrate`, `backup`, `copy-db`, `import-legacy`, `token`, `webhook`).

mod access;
mod console;
mod demo;
mod doctor;
mod init;
mod mcp;
mod operator;
mod sandbox;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use app::startup::{ConfigArgs, ServerArgs, StartupError};
use clap::{Args, Parser, Subcommand};
use core_model::MarketTimeZone;

/// Coach plans: capture trading coaches' daily plans from Discord and serve them to trading agents.
///
/// Without a command, runs `serve`: the Discord bot and the HTTP API in one process. Try it without a Discord
/// token first: `plan-server --sandbox` runs everything against a local Discord where you type as a coach.
#[derive(Debug, Parser)]
#[command(
    name = "plan-server",
    version,
    propagate_version = true,
    after_help = "Settings come from config/base.yaml, config/{APP_ENVIRONMENT}.yaml, --config FILE, environment \
                  variables (DISCORD_BOT_TOKEN, DATABASE_PATH, API_PORT, ...) and flags, in that order; see \
                  docs/configuration.md.\nExit codes: 0 after a clean shutdown, 2 for bad configuration or \
                  arguments, 1 for other failures."
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Flags of `serve`, also accepted without the command name.
#[derive(Debug, Clone, Default, Args)]
struct ServeArgs {
    /// Run against a local Discord emulator with a console where you type messages as a coach (no token needed).
    #[arg(long)]
    sandbox: bool,
    /// With --sandbox: post a realistic day of plans from the four default coaches at start.
    #[arg(long, requires = "sandbox")]
    seed_demo: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Discord bot and the HTTP API in one process (the default).
    Serve(ServeArgs),
    /// Serve the plans to an LLM agent over MCP on standard input and output (read-only; logs go to standard
    /// error). Agents that start a command run `plan-server mcp --database PATH`.
    Mcp,
    /// Check the configuration, database, API port and Discord connection; one line per check, with a fix.
    Doctor,
    /// Write a configuration file: asks for each answer, or takes them all from flags (--non-interactive).
    Init(Box<init::InitArgs>),
    /// Create the database if needed and apply pending migrations, then report the schema version.
    Migrate,
    /// Copy the database to FILE while the bot and the API keep running: a consistent, checked copy.
    Backup {
        /// Where the copy goes (missing directories are created).
        file: PathBuf,
        /// Replace FILE when it exists (without this an existing file is an error and stays as it was).
        #[arg(long)]
        force: bool,
    },
    /// Copy everything one database holds into another, SQLite or PostgreSQL either way, and check the copy: how a
    /// desk moves from SQLite to PostgreSQL (and back). Stop the bot and the API writing to the source first.
    CopyDb {
        /// The source: a SQLite file, a postgres:// URL, or `configured` for the database the configuration names
        /// (so that a password can stay in DATABASE_URL). One of an older build is migrated to this build's schema
        /// first.
        #[arg(long, value_name = "PATH|URL|configured")]
        from: String,
        /// The target (created and migrated when needed), in the same forms; it must be empty unless --force.
        #[arg(long, value_name = "PATH|URL|configured")]
        to: String,
        /// Remove everything the target holds first.
        #[arg(long)]
        force: bool,
    },
    /// Manage API tokens (needed by every route but /health and / when api.auth is required).
    #[command(subcommand)]
    Token(access::TokenCommand),
    /// Manage webhook subscriptions: receivers told of every plan change, signed as Standard Webhooks says.
    #[command(subcommand)]
    Webhook(access::WebhookCommand),
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
        Ok(code) => code,
        Err(err) => {
            err.report();
            err.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, StartupError> {
    let Cli { config, server, serve, command } = cli;
    match command {
        None => serve::main(&config, &server, &serve).map(|()| ExitCode::SUCCESS),
        Some(Command::Serve(args)) => {
            let args =
                ServeArgs { sandbox: args.sandbox || serve.sandbox, seed_demo: args.seed_demo || serve.seed_demo };
            serve::main(&config, &server, &args).map(|()| ExitCode::SUCCESS)
        }
        Some(Command::Mcp) => mcp::main(&config, &server).map(|()| ExitCode::SUCCESS),
        Some(Command::Doctor) => Ok(doctor::main(&config, &server)),
        Some(Command::Init(args)) => init::main(&args, &server, &config).map(|()| ExitCode::SUCCESS),
        Some(Command::Migrate) => operator::migrate(&config, &server).map(|()| ExitCode::SUCCESS),
        Some(Command::Backup { file, force }) => {
            operator::backup(&config, &server, &file, force).map(|()| ExitCode::SUCCESS)
        }
        Some(Command::CopyDb { from, to, force }) => {
            operator::copy_db(&config, &server, &from, &to, force).map(|()| ExitCode::SUCCESS)
        }
        Some(Command::Token(command)) => access::token(&config, &server, command).map(|()| ExitCode::SUCCESS),
        Some(Command::Webhook(command)) => access::webhook(&config, &server, command).map(|()| ExitCode::SUCCESS),
        Some(Command::ImportLegacy { path, legacy_timezone }) => {
            operator::import_legacy(&config, &server, &path, legacy_timezone).map(|()| ExitCode::SUCCESS)
        }
    }
}
