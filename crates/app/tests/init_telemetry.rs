//! `init_telemetry` installs the global subscriber, so it is tested in its own test binary (its own process).

use app::{LogFormat, LogLevel, LogSettings, TelemetryError, init_telemetry_with_filter};

#[test]
fn init_telemetry_writes_json_lines_to_the_configured_file_and_refuses_a_second_install() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs").join("plan-api.log");
    let log = LogSettings {
        level: LogLevel::Info,
        format: LogFormat::Json,
        file: Some(path.clone()),
        max_size_mb: 1,
        backup_count: 2,
    };
    let guard = init_telemetry_with_filter(&log, "plan-api", None).expect("first install");
    tracing::info!(port = 8080, "listening");
    tracing::debug!("below the configured level");

    let again = init_telemetry_with_filter(&LogSettings::default(), "plan-api", None);
    assert!(matches!(again, Err(TelemetryError::AlreadyInstalled(_))), "{again:?}");
    drop(guard); // flushes the file

    let text = std::fs::read_to_string(&path).expect("the log file exists");
    let records: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let listening = records.iter().find(|r| r["msg"] == "listening").expect("the event is in the file");
    assert_eq!(listening["name"], "plan-api");
    assert_eq!(listening["port"], 8080);
    assert!(!text.contains("below the configured level"));
}
