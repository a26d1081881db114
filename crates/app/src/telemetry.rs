//! Telemetry: one subscriber builder for binaries and tests (Bunyan JSON or human-readable lines, filtered by the
//! configured level unless `RUST_LOG` says otherwise), a log file rotated by size, and for tests the `TEST_LOG` switch
//! and the `TEST_LOG_FILE` capture.
//!
//! `TEST_LOG_FILE=PATH` (set by `cargo xtask ci`) makes every test subscriber ([`get_test_subscriber`], which
//! [`init_test_telemetry`] installs, and the test binaries with a capture of their own that add [`test_log_file`])
//! append every event, at every level (`TEST_LOG_FILE_FILTER` narrows it), as a plain line to `PATH`, whatever the
//! test's own filter. `cargo xtask ci` then looks for the secrets of [`crate::test_secrets`] in that file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use logroller::{LogRoller, LogRollerBuilder, LogRollerError, Rotation, RotationSize};
use tracing::Subscriber;
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_bunyan_formatter::{BunyanFormattingLayer, JsonStorageLayer};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};
use tracing_subscriber::{EnvFilter, Registry};

use crate::settings::{LogFormat, LogSettings};

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log file (or its directory) cannot be created or opened.
    #[error("cannot open the log file {path}; check that its directory is writable or change LOG_FILE")]
    LogFile {
        /// The configured `log.file`.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: LogRollerError,
    },
    /// A global subscriber was installed before.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] TryInitError),
}

/// Keeps the log writers alive: drop it last, at the end of `main`; dropping it flushes what is buffered.
#[must_use = "dropping the guard stops writing the log"]
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    _writers: Vec<WorkerGuard>,
}

/// Standard output written by a thread of its own, in batches: the lines logged while it writes are buffered and go
/// out together once nothing more is waiting (one `write` for many lines under load, at once when idle). A line per
/// request written by the request's thread was a system call, and a wake-up of whoever reads the pipe, per request.
///
/// At most [`STDOUT_QUEUE_LINES`] lines wait for the thread; beyond them a logging thread waits too, as it did for a
/// full pipe before, so no line is dropped.
fn batched_stdout() -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .buffered_lines_limit(STDOUT_QUEUE_LINES)
        .lossy(false)
        .thread_name("log-stdout")
        .finish(io::BufWriter::with_capacity(64 * 1024, io::stdout()))
}

/// Lines that may wait for standard output's thread: 16,384 of them are a fraction of a second of a busy server's
/// request lines, and the queue's slots, allocated up front, take 512 KiB (the writer's default of 128,000 took
/// 4 MiB of resident memory).
const STDOUT_QUEUE_LINES: usize = 16 * 1024;

/// Builds a subscriber writing to `sink`: Bunyan JSON lines (with `name` as the Bunyan `name`) when `format` is
/// [`LogFormat::Json`], human-readable lines without colours when it is [`LogFormat::Pretty`].
///
/// Events are filtered by `rust_log` when it is given, non-empty and valid (the caller reads `RUST_LOG`), and by
/// `default_filter` (a level such as `info`, or filter directives) otherwise.
pub fn get_subscriber<Sink>(
    name: impl Into<String>,
    default_filter: &str,
    rust_log: Option<&str>,
    format: LogFormat,
    sink: Sink,
) -> impl Subscriber + Send + Sync + 'static
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    Registry::default().with(operator_filter(default_filter, rust_log)).with(lines_layer(name.into(), format, sink))
}

/// The layer writing the operator's lines to `sink`: Bunyan JSON (named `name`) or human-readable lines without
/// colours.
fn lines_layer<S, Sink>(name: String, format: LogFormat, sink: Sink) -> Box<dyn Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => JsonStorageLayer.and_then(BunyanFormattingLayer::new(name, sink)).boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_ansi(false).with_writer(sink).boxed(),
    }
}

/// The filter of the operator's lines: `rust_log` when given, non-empty and valid, else `default_filter`.
fn operator_filter(default_filter: &str, rust_log: Option<&str>) -> EnvFilter {
    rust_log
        .map(str::trim)
        .filter(|directives| !directives.is_empty())
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter))
}

/// The environment variable naming the file that collects every log line of a test run.
pub const TEST_LOG_FILE: &str = "TEST_LOG_FILE";

/// The environment variable that narrows what goes to [`TEST_LOG_FILE`] (filter directives; default `trace`).
pub const TEST_LOG_FILE_FILTER: &str = "TEST_LOG_FILE_FILTER";

/// The file [`TEST_LOG_FILE`] names, opened once per process for appending, with a first line saying which test
/// binary writes from here on (`test log capture started: bot`). `None` when the variable is not set, or when the
/// file cannot be opened (said on standard error; `cargo xtask ci` then misses the binary's line and fails).
pub fn test_log_file() -> Option<Arc<File>> {
    static FILE: OnceLock<Option<Arc<File>>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::var_os(TEST_LOG_FILE)?;
        let opened = OpenOptions::new().create(true).append(true).open(&path).and_then(|mut file| {
            writeln!(file, "test log capture started: {}", test_binary_name())?;
            Ok(file)
        });
        match opened {
            Ok(file) => Some(Arc::new(file)),
            Err(error) => {
                eprintln!("cannot append to {TEST_LOG_FILE} {}: {error}", Path::new(&path).display());
                None
            }
        }
    })
    .clone()
}

/// The running test binary's name without cargo's hash suffix (`bot` for `bot-4a93b9fb7f6c60be`).
fn test_binary_name() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe.as_deref().and_then(Path::file_stem).and_then(|s| s.to_str()).unwrap_or("unknown");
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => name.to_owned(),
        _ => stem.to_owned(),
    }
}

/// [`get_subscriber`] for tests: the same lines to `sink`, filtered the same way, plus every event at every level
/// to the [`TEST_LOG_FILE`] when that is set (each layer has its own filter, so the file sees what the test's filter
/// hides).
pub fn get_test_subscriber<Sink>(
    name: impl Into<String>,
    default_filter: &str,
    rust_log: Option<&str>,
    format: LogFormat,
    sink: Sink,
) -> impl Subscriber + Send + Sync + 'static
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let capture = test_log_file().map(|file| {
        let filter = std::env::var(TEST_LOG_FILE_FILTER).ok();
        let filter =
            filter.as_deref().and_then(|f| EnvFilter::try_new(f).ok()).unwrap_or_else(|| EnvFilter::new("trace"));
        tracing_subscriber::fmt::layer().with_ansi(false).with_writer(file).with_filter(filter)
    });
    let operator = lines_layer(name.into(), format, sink).with_filter(operator_filter(default_filter, rust_log));
    Registry::default().with(operator).with(capture)
}

/// Installs `subscriber` as the global default (and routes `log` records to it).
///
/// # Errors
/// [`TelemetryError::AlreadyInstalled`] when a global subscriber exists already.
pub fn init_subscriber(subscriber: impl Subscriber + Send + Sync + 'static) -> Result<(), TelemetryError> {
    subscriber.try_init().map_err(TelemetryError::AlreadyInstalled)
}

/// Sets up logging for a command from its settings: standard output, plus `log.file` when set (rotated when it
/// reaches `log.max_size_mb`, keeping `log.backup_count` old files: `app.log.1` is the newest). Each line is written
/// as it is logged, so it keeps its place among what the command prints. `RUST_LOG`, when set, overrides
/// `log.level`.
///
/// # Errors
/// [`TelemetryError`] when the log file cannot be opened or a global subscriber exists already.
pub fn init_telemetry(log: &LogSettings, app_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    init_telemetry_with_filter(log, app_name, std::env::var("RUST_LOG").ok().as_deref())
}

/// [`init_telemetry`] for a server (plan-api, plan-bot, plan-server): standard output is written in batches by a
/// thread of its own (see [`batched_stdout`]), so that a line per request costs the request no system call.
///
/// # Errors
/// As [`init_telemetry`].
pub fn init_server_telemetry(log: &LogSettings, app_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    let (stdout, guard) = batched_stdout();
    install(log, app_name, std::env::var("RUST_LOG").ok().as_deref(), stdout, vec![guard])
}

/// [`init_telemetry`] with the `RUST_LOG` value given explicitly (`None`: use `log.level`).
///
/// # Errors
/// As [`init_telemetry`].
pub fn init_telemetry_with_filter(
    log: &LogSettings,
    app_name: &str,
    rust_log: Option<&str>,
) -> Result<TelemetryGuard, TelemetryError> {
    install(log, app_name, rust_log, io::stdout, Vec::new())
}

/// Installs the subscriber writing to `console` (standard output or standard error) and to `log.file` when set;
/// `writers` are the guards of the writers already made.
fn install<W>(
    log: &LogSettings,
    app_name: &str,
    rust_log: Option<&str>,
    console: W,
    mut writers: Vec<WorkerGuard>,
) -> Result<TelemetryGuard, TelemetryError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let sink = match log_file(log)? {
        Some(file) => {
            let (writer, guard) = tracing_appender::non_blocking(file);
            writers.push(guard);
            BoxMakeWriter::new(console.and(writer))
        }
        None => BoxMakeWriter::new(console),
    };
    init_subscriber(get_subscriber(app_name, log.level.as_str(), rust_log, log.format, sink))?;
    Ok(TelemetryGuard { _writers: writers })
}

/// The log file `log.file`, rotated when it reaches `log.max_size_mb`, keeping `log.backup_count` old files; `None`
/// when no file is configured.
///
/// # Errors
/// [`TelemetryError::LogFile`] when the file or its directory cannot be created.
pub(crate) fn log_file(log: &LogSettings) -> Result<Option<LogRoller>, TelemetryError> {
    log.file.as_deref().map(|path| open_log_file(path, log.max_size_bytes(), log.backup_count)).transpose()
}

/// Sets up logging for a process whose standard output carries a protocol (`plan-server mcp`): events go to
/// standard error, and to `log.file` when one is set; never to standard output.
///
/// # Errors
/// As [`init_telemetry`].
pub fn init_stderr_telemetry(log: &LogSettings, app_name: &str) -> Result<TelemetryGuard, TelemetryError> {
    install(log, app_name, std::env::var("RUST_LOG").ok().as_deref(), io::stderr, Vec::new())
}

/// Sets up logging for a process that talks to a person on its terminal (the sandbox console): every event at the
/// configured level goes to `file` (rotated like `log.file`), and only warnings and errors also go to standard
/// error, so the conversation on standard output stays readable. `RUST_LOG`, when set, overrides `log.level`.
///
/// # Errors
/// As [`init_telemetry`].
pub fn init_console_telemetry(
    log: &LogSettings,
    app_name: &str,
    file: &Path,
) -> Result<TelemetryGuard, TelemetryError> {
    let file = open_log_file(file, log.max_size_bytes(), log.backup_count)?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let sink = BoxMakeWriter::new(writer.and(io::stderr.with_max_level(tracing::Level::WARN)));
    let rust_log = std::env::var("RUST_LOG").ok();
    init_subscriber(get_subscriber(app_name, log.level.as_str(), rust_log.as_deref(), log.format, sink))?;
    Ok(TelemetryGuard { _writers: vec![guard] })
}

/// Opens `path` for appending, rotated when it would exceed `max_bytes` (to `path.1`, `path.2`, ...),
/// keeping `backups` rotated files.
///
/// # Errors
/// [`TelemetryError::LogFile`] when the file or its directory cannot be created.
pub(crate) fn open_log_file(path: &Path, max_bytes: u64, backups: u64) -> Result<LogRoller, TelemetryError> {
    let error = |source| TelemetryError::LogFile { path: path.to_path_buf(), source };
    let file_name =
        path.file_name().ok_or_else(|| error(LogRollerError::InternalError("the path names no file".to_owned())))?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    LogRollerBuilder::new(directory, Path::new(file_name))
        .rotation(Rotation::SizeBased(RotationSize::Bytes(max_bytes.max(1))))
        .max_keep_files(backups)
        .graceful_shutdown(true)
        .build()
        .map_err(error)
}

/// For tests: installs a global subscriber once per test binary ([`get_test_subscriber`]). With `TEST_LOG` set,
/// events at `debug` and above (or as `RUST_LOG` says) are printed to standard output; without it they are not
/// shown. With `TEST_LOG_FILE` set, every event also goes to that file.
pub fn init_test_telemetry() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let rust_log = std::env::var("RUST_LOG").ok();
        // Another subscriber may have been installed by the test itself; it is kept then.
        let _ = if std::env::var_os("TEST_LOG").is_some() {
            init_subscriber(get_test_subscriber("test", "debug", rust_log.as_deref(), LogFormat::Pretty, io::stdout))
        } else {
            init_subscriber(get_test_subscriber("test", "info", rust_log.as_deref(), LogFormat::Pretty, io::sink))
        };
    });
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    #[test]
    fn json_lines_reach_the_log_file_and_parse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs").join("app.log");
        let file = open_log_file(&path, 10 * 1024 * 1024, 5).unwrap();
        let (writer, guard) = tracing_appender::non_blocking(file);
        let subscriber = get_subscriber("plan-test", "info", None, LogFormat::Json, writer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("posting", coach = "d");
            let _entered = span.enter();
            tracing::info!(plan_id = 7, "plan saved");
            tracing::debug!("filtered out at info");
        });
        drop(guard);

        let records: Vec<serde_json::Value> =
            lines(&path).iter().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
        let saved = records.iter().find(|r| r["msg"] == "[POSTING - EVENT] plan saved").expect("the event is logged");
        assert_eq!(saved["name"], "plan-test");
        assert_eq!(saved["plan_id"], 7);
        assert_eq!(saved["coach"], "d", "span fields are carried by the JSON storage layer");
        assert!(records.iter().all(|r| !r["msg"].as_str().unwrap().contains("filtered out at info")));
    }

    #[test]
    fn rust_log_wins_over_the_level_and_pretty_lines_are_plain_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let file = open_log_file(&path, 10 * 1024 * 1024, 5).unwrap();
        let (writer, guard) = tracing_appender::non_blocking(file);
        let subscriber = get_subscriber("plan-test", "error", Some("debug"), LogFormat::Pretty, writer);
        tracing::subscriber::with_default(subscriber, || tracing::debug!("shown because RUST_LOG says debug"));
        drop(guard);

        let text = lines(&path).join("\n");
        assert!(text.contains("shown because RUST_LOG says debug"), "{text}");
        assert!(!text.contains('\u{1b}'), "no colour codes in files: {text}");
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "pretty is not JSON");
    }

    #[test]
    fn empty_or_invalid_rust_log_falls_back_to_the_level() {
        for rust_log in [Some(""), Some("  "), Some("[[[")] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("app.log");
            let (writer, guard) = tracing_appender::non_blocking(open_log_file(&path, 1 << 20, 1).unwrap());
            let subscriber = get_subscriber("t", "warn", rust_log, LogFormat::Json, writer);
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!("hidden");
                tracing::warn!("visible");
            });
            drop(guard);
            let text = lines(&path).join("\n");
            assert!(text.contains("visible") && !text.contains("hidden"), "{rust_log:?}: {text}");
        }
    }

    #[test]
    fn the_file_rotates_by_size_and_keeps_backup_count_files() {
        use std::io::Write;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = open_log_file(&path, 100, 2).unwrap();
        for i in 0..20 {
            // One write per record, as the non-blocking writer does.
            file.write_all(format!("line {i:02} padded to about forty bytes....\n").as_bytes()).unwrap();
        }
        drop(file); // graceful: waits for the archives to be renamed and pruned

        let mut names: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, ["app.log", "app.log.1", "app.log.2"]);
        for name in &names {
            let size = fs::metadata(dir.path().join(name)).unwrap().len();
            assert!(size <= 100, "{name} has {size} bytes");
        }
        assert!(lines(&path).last().unwrap().contains("line 19"), "the newest lines are in the live file");
        assert!(lines(&dir.path().join("app.log.1")).iter().all(|l| l < &lines(&path)[0]), "app.log.1 is older");
    }

    #[test]
    fn log_settings_rotate_the_file_at_its_size_and_keep_its_backup_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs").join("plan-bot.log");
        let log = LogSettings {
            format: LogFormat::Json,
            file: Some(path.clone()),
            max_size_mb: 1,
            backup_count: 2,
            ..LogSettings::default()
        };
        let file = log_file(&log).unwrap().expect("a file is configured");
        let (writer, guard) = tracing_appender::non_blocking(file);
        let subscriber = get_subscriber("plan-bot", "info", None, log.format, writer);
        // About 3.5 MiB of log lines through the same writer and subscriber as a binary: three rotations.
        let padding = "x".repeat(1000);
        tracing::subscriber::with_default(subscriber, || {
            for record in 0..3600 {
                tracing::info!(record, padding = %padding, "plan saved");
            }
        });
        drop(guard); // flushes the writer and waits for the rotated files

        let dir = path.parent().unwrap();
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, ["plan-bot.log", "plan-bot.log.1", "plan-bot.log.2"], "two backups kept, older ones gone");
        let record = |line: &str| serde_json::from_str::<serde_json::Value>(line).unwrap()["record"].as_u64().unwrap();
        let mut newest_first = Vec::new();
        for name in &names {
            let file = dir.join(name);
            let size = fs::metadata(&file).unwrap().len();
            assert!(size <= 1024 * 1024, "{name} has {size} bytes, more than LOG_MAX_SIZE_MB");
            let records: Vec<u64> = lines(&file).iter().map(|l| record(l)).collect();
            assert!(!records.is_empty(), "{name} is empty");
            newest_first.push((records[0], *records.last().unwrap()));
        }
        assert_eq!(newest_first[0].1, 3599, "the newest line is in the live file");
        assert!(newest_first[1].1 < newest_first[0].0 && newest_first[2].1 < newest_first[1].0, "{newest_first:?}");
        assert!(newest_first[2].0 > 0, "the oldest lines were dropped with the backups beyond the count");
        let huge = LogSettings { max_size_mb: u64::MAX, ..LogSettings::default() };
        assert_eq!(huge.max_size_bytes(), u64::MAX, "saturates instead of overflowing");
        assert!(log_file(&LogSettings::default()).unwrap().is_none(), "no file unless one is configured");
    }

    #[test]
    fn an_unopenable_log_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        fs::write(&blocker, "x").unwrap();
        let Err(error) = open_log_file(&blocker.join("app.log"), 1024, 1) else { panic!("a file is not a directory") };
        let message = error.to_string();
        assert!(message.starts_with("cannot open the log file"), "{message}");
        assert!(message.contains("LOG_FILE"), "{message}");
        assert!(std::error::Error::source(&error).is_some());
    }
}
