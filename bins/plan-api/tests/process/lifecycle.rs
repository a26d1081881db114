//! Starts on port 0 over a database path (or as `--config FILE` and `--host` say), answers, logs each request under
//! its id, stops cleanly on SIGTERM or SIGINT with exit code 0 after finishing the requests in flight, and refuses
//! bad configuration or arguments with exit code 2.

use std::path::Path;

use core_model::jiff::Timestamp;
use core_model::{Author, CoachId, NewPlan, PlanChange, PlanRepository as _, PlanSource, PlanText, TradingDate};
use storage::{SqliteStore, StoreOptions};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{PlanApi, get_json, start};

#[tokio::test]
async fn serves_on_port_0_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let mut api =
        PlanApi::start(dir.path(), &["--database", db.to_str().unwrap(), "--port", "0"], &[("LOG_LEVEL", "warn")]);
    let (_, health) = get_json(&format!("{}/health", api.url)).await;
    assert_eq!(health["status"], "healthy");
    let (_, plan) = get_json(&format!("{}/api/coach-plans/?coach=d&date=2025-11-09", api.url)).await;
    assert_eq!(plan["plan"], "No plan available for coach_d on 2025-11-09");
    assert!(db.exists(), "the database was created where --database said");
    let (_, root) = get_json(&format!("{}/", api.url)).await;
    let endpoints = root["endpoints"].as_object().unwrap();
    for face in ["/dashboard", "/mcp", "/api/v1/webhooks"] {
        assert!(endpoints.contains_key(face), "`/` names {face}: {root}");
    }
    // The dashboard's refusals are pages for people, not JSON.
    let refused = reqwest::get(format!("{}/dashboard?date=2026-13-01", api.url)).await.unwrap();
    assert_eq!(refused.status(), 400);
    let header = |name: &str| refused.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("content-type").as_deref(), Some("text/html; charset=utf-8"));
    assert!(header("content-security-policy").is_some_and(|csp| csp.contains("default-src")));
    let page = refused.text().await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("`2026-13-01` is not a date"), "{page}");

    api.signal("TERM");
    assert_eq!(api.wait_for_exit().code(), Some(0), "a clean shutdown exits 0");
}

#[tokio::test]
async fn exits_0_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let mut api = PlanApi::start(dir.path(), &["--database", db.to_str().unwrap(), "--port", "0"], &[]);
    let (status, _) = get_json(&format!("{}/health", api.url)).await;
    assert_eq!(status, 200);
    api.signal("INT");
    api.wait_for_line(|l| l.contains("shutting down") && l.contains("SIGINT"));
    assert_eq!(api.wait_for_exit().code(), Some(0));
}

/// Stores coach d's plan of 2025-11-09 and `edits` edits of it, each text 4000 four-byte characters (16 KB): 300 edits
/// make a history response of about 10 MB, more than the kernel buffers for one connection (4 MB of send buffer at
/// most by Linux's default `tcp_wmem`, plus the reader's small receive buffer).
fn seed_long_history(db: &Path, edits: usize) {
    let store = SqliteStore::open(db, StoreOptions::default()).unwrap();
    let author = Author { user_id: None, display_name: "Ann".into() };
    let text = |i: usize| PlanText::new(&format!("{i:04}{}", "📈".repeat(3996))).unwrap();
    let at = |i: usize| Timestamp::from_second(1_762_700_000 + i as i64).unwrap();
    let plan = NewPlan {
        coach: CoachId::new("d").unwrap(),
        date: TradingDate::parse("2025-11-09").unwrap(),
        text: text(0),
        author: author.clone(),
        source: PlanSource::default(),
        charts: Vec::new(),
    };
    let id = store.insert(plan, at(0)).unwrap().id;
    for i in 1..=edits {
        store.change(id, PlanChange::Edit { text: text(i), charts: None }, &author, at(i), None).unwrap();
    }
}

/// A connection that reads only as fast as the test lets it: its receive buffer is tiny, so the server cannot
/// finish sending a large response before the test reads it.
async fn slow_reader(url: &str, path: &str) -> tokio::io::BufReader<tokio::net::TcpStream> {
    let address: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::io::BufReader::new(stream)
}

/// Reads a response head: the status and the `Content-Length`.
async fn read_head(reader: &mut tokio::io::BufReader<tokio::net::TcpStream>) -> (u16, usize) {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status = line[9..12].parse().unwrap();
    let mut length = None;
    loop {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = Some(value.trim().parse().unwrap());
        }
    }
    (status, length.expect("a sized body"))
}

#[tokio::test]
async fn requests_in_flight_finish_after_sigterm_and_the_exit_code_is_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    seed_long_history(&db, 300);
    let mut api = PlanApi::start(dir.path(), &["--database", db.to_str().unwrap(), "--port", "0"], &[]);

    let path = "/api/v1/coaches/d/history?limit=1000";
    let mut readers = vec![slow_reader(&api.url, path).await, slow_reader(&api.url, path).await];
    let mut lengths = Vec::new();
    for reader in &mut readers {
        let (status, length) = read_head(reader).await;
        assert_eq!(status, 200);
        assert!(length > 8 * 1024 * 1024, "more than the kernel buffers of a connection: {length} bytes");
        lengths.push(length);
    }

    api.signal("TERM");
    api.wait_for_line(|l| l.contains("stopping: no new connections, finishing requests in flight"));
    assert!(api.child.try_wait().unwrap().is_none(), "the server waits for the responses still being sent");

    for (reader, length) in readers.iter_mut().zip(lengths) {
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.expect("the whole response arrives after the signal");
        let history: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let entries = history["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 301, "every edit and the creation");
        assert!(entries[0]["text_after"].as_str().unwrap().starts_with("0300📈"));
    }
    assert_eq!(api.wait_for_exit().code(), Some(0), "a clean shutdown after the requests in flight");
}

#[tokio::test]
async fn each_request_is_logged_under_the_callers_request_id_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let mut api =
        PlanApi::start(dir.path(), &["--database", db.to_str().unwrap(), "--port", "0"], &[("LOG_FORMAT", "json")]);
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/plans/d/2025-11-09", api.url))
        .header("X-Request-Id", "agent-7:run-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let line = api.wait_for_line(|l| l.contains("request served") && l.contains("agent-7:run-42"));
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["request_id"], "agent-7:run-42");
    assert_eq!(record["level"], 30, "info");
    assert_eq!(record["http.method"], "GET");
    assert_eq!(record["http.route"], "/api/v1/plans/{coach}/{date}");
    assert_eq!(record["status"], 404);
    assert!(record["latency_ms"].as_f64().unwrap() >= 0.0);
    api.signal("TERM");
    assert_eq!(api.wait_for_exit().code(), Some(0));
}

#[tokio::test]
async fn a_config_file_is_read_and_flags_win_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-config.db");
    let config = dir.path().join("plan-api.yaml");
    let yaml = format!(
        "database:\n  path: {}\napi:\n  port: 0\n  cors_origins: [\"https://dash.example.com\"]\n",
        db.display()
    );
    std::fs::write(&config, yaml).unwrap();
    // API_HOST is not a host: only --host, which wins over the environment, lets the server start.
    let args = ["--config", config.to_str().unwrap(), "--host", "127.0.0.1"];
    let mut api = PlanApi::start(dir.path(), &args, &[("API_HOST", "not a host")]);
    assert!(api.url.starts_with("http://127.0.0.1:"), "{}", api.url);
    assert!(db.exists(), "the database is where the configuration file says");
    let response = reqwest::Client::new()
        .get(format!("{}/health", api.url))
        .header("Origin", "https://dash.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "https://dash.example.com", "CORS from the file");
    api.signal("TERM");
    assert_eq!(api.wait_for_exit().code(), Some(0));

    let refused = start(dir.path(), &["--config", config.to_str().unwrap()], &[("API_HOST", "not a host")]);
    let output = refused.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2), "without --host the environment's bad host is refused");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("api.host (API_HOST)"), "{stderr}");
}

#[test]
fn bad_arguments_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--port", "eighty"][..], &["--no-such-flag"], &["--database"]] {
        let output = start(dir.path(), args, &[]).wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error:") && stderr.contains("--help"), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("data").exists(), "nothing is created");
}

#[test]
fn bad_configuration_exits_2_naming_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let child = start(dir.path(), &[], &[("API_PORT", "abc"), ("MARKET_TIMEZONE", "Mars/Olympus")]);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("api.port (API_PORT)"), "{stderr}");
    assert!(stderr.contains("plans.market_timezone (MARKET_TIMEZONE)"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing is created when the configuration is bad");
}

#[test]
fn a_port_in_use_is_a_start_up_failure_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let db = dir.path().join("x.db");
    let child = start(dir.path(), &["--database", db.to_str().unwrap(), "--port", &port], &[]);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("choose another port with --port or API_PORT (0 picks a free one)"), "{stderr}");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    std::fs::write(&db, "these are my notes, not a database ".repeat(200)).unwrap();
    let child = start(dir.path(), &["--database", db.to_str().unwrap(), "--port", "0"], &[]);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(stderr.contains("\n  fix: check that database.path (DATABASE_PATH, --database) names the coach-plans database; if it does, the file is damaged: restore it from a backup"), "{stderr}");
}
