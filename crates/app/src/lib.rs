//! Settings and telemetry shared by the coach-plans binaries (`plan-bot`, `plan-api`, `plan-server`).
//!
//! - [`settings`]: typed [`Settings`] layered from built-in defaults, `config/base.yaml`, `config/{APP_ENVIRONMENT}.yaml`,
//!   an explicit `--config FILE`, environment variables and command-line overrides, then validated all at once
//!   ([`SettingsError`] lists every bad setting with its fix).
//! - [`startup`]: the common flags, storage and service wiring, and the exit codes operators rely on.
//! - [`telemetry`]: one [`get_subscriber`] for binaries and tests (Bunyan JSON or human-readable lines), and
//!   [`init_telemetry`] (a command's lines written as logged) and [`init_server_telemetry`] (a server's lines written
//!   in batches by a thread of their own), which also write a size-rotated log file when `log.file` is set; for tests,
//!   [`init_test_telemetry`] and the `TEST_LOG_FILE` capture of every log line of a test run.
//! - [`test_secrets`]: the tokens and credentials tests use, which no captured log line may contain.
//!
//! A binary's `main` starts like this (exit code 2 for bad configuration, 1 for other start-up failures):
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! fn main() -> ExitCode {
//!     let settings = match app::SettingsLoader::from_process_env()
//!         .config_file(None) // `--config FILE` from clap, an Option<PathBuf>
//!         .set_override_opt("api.port", Some(9000).map(|p: u16| p.to_string())) // `--port`
//!         .load()
//!     {
//!         Ok(settings) => settings,
//!         Err(error) => {
//!             eprintln!("{error}");
//!             return ExitCode::from(2);
//!         }
//!     };
//!     let _telemetry = match app::init_server_telemetry(&settings.log, "plan-api") {
//!         Ok(guard) => guard,
//!         Err(error) => {
//!             eprintln!("{error}");
//!             return ExitCode::from(1);
//!         }
//!     };
//!     tracing::info!(address = %settings.api.address(), "starting");
//!     ExitCode::SUCCESS
//! }
//! ```

pub mod copy;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod test_secrets;

pub use settings::{
    ApiSettings, AuthMode, ClientSettings, CoachSettings, DatabaseSettings, DiscordSettings, Environment, LogFormat,
    LogLevel, LogSettings, PlanSettings, Problem, RateLimitSettings, Settings, SettingsError, SettingsLoader,
    WebhookSettings,
};
pub use telemetry::{
    TelemetryError, TelemetryGuard, get_subscriber, get_test_subscriber, init_console_telemetry, init_server_telemetry,
    init_stderr_telemetry, init_subscriber, init_telemetry, init_telemetry_with_filter, init_test_telemetry,
    test_log_file,
};
