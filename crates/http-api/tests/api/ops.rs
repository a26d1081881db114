//! `/`, `/health` and `/metrics`.

use std::sync::Arc;

use core_model::SystemClock;
use serde_json::Value;
use service::{BotState, PlanService, Policy};
use storage::{SqliteStore, StoreOptions};

use crate::helpers::{ann, spawn_app};

#[tokio::test]
async fn root_describes_the_service() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/").await;
    assert_eq!(status, 200);
    assert_eq!(body["service"], "coach-plans");
    assert_eq!(body["documentation"], "/api/v1/openapi.json");
    let endpoints = body["endpoints"].as_object().unwrap();
    assert!(endpoints.keys().any(|k| k.starts_with("/api/coach-plans/?coach=")));
    assert!(!endpoints.contains_key("/dashboard"), "only what is mounted is listed: {body}");
}

#[tokio::test]
async fn health_reports_the_database_and_the_bot() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["database"]["status"], "ok");
    assert_eq!(body["bot"]["status"], "unknown", "no bot ever reported to this database");

    // The bot (maybe another process) records its state in the shared database.
    app.service.record_bot_state(BotState::Connected).await.unwrap();
    app.clock.advance(30);
    let (_, body) = app.get_json("/health").await;
    assert_eq!((body["status"].as_str(), body["bot"]["status"].as_str()), (Some("healthy"), Some("connected")));
    assert_eq!(body["bot"]["age_seconds"], 30);

    app.clock.advance(120);
    let (status, body) = app.get_json("/health").await;
    assert_eq!(status, 200, "a missing bot degrades the service but does not make it fail");
    assert_eq!((body["status"].as_str(), body["bot"]["status"].as_str()), (Some("degraded"), Some("disconnected")));
    assert_eq!(body["bot"]["stale"], true);

    app.service.record_bot_state(BotState::Disconnected).await.unwrap();
    let (_, body) = app.get_json("/health").await;
    assert_eq!((body["bot"]["status"].as_str(), body["bot"]["stale"].as_bool()), (Some("disconnected"), Some(false)));
}

#[tokio::test]
async fn health_is_503_when_the_database_file_cannot_be_read() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "kept", vec![]).await;
    let aside = app.dir.path().join("aside.db");
    std::fs::rename(&app.db_path, &aside).unwrap();
    std::fs::write(&app.db_path, b"garbage where the database was, long enough to be read as a header").unwrap();

    let response = app.get("/health").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["database"]["status"], "error");
    assert!(body["database"]["error"].as_str().unwrap().contains("storage failed:"), "the cause is shown: {body}");
    let (_, metrics) = app.get_json("/metrics").await;
    assert_eq!(metrics["database"], "error", "/metrics agrees with /health");

    std::fs::remove_file(&app.db_path).unwrap();
    std::fs::rename(&aside, &app.db_path).unwrap();
    let (status, body) = app.get_json("/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("healthy")), "healthy again once the file is back");
    let (_, plan) = app.get_json("/api/coach-plans/?coach=d").await;
    assert_eq!(plan["plan"], "kept");
}

#[tokio::test]
async fn metrics_are_json_by_default_with_request_counts_by_route() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "x", vec![]).await;
    app.get("/api/v1/plans/d/today").await;
    app.get("/api/v1/plans/d/today").await;
    app.get("/api/v1/plans/x/today").await;
    app.get("/no/such/route").await;
    let response = app.get("/metrics").await;
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["plans"]["active"], 1);
    assert_eq!(body["requests"]["total"], 4, "the metrics request itself is counted after it is answered");
    assert_eq!(body["requests"]["client_errors"], 2);
    assert_eq!(body["requests"]["by_status"]["200"], 2);
    let routes = body["requests"]["routes"].as_array().unwrap();
    let plan_ok = routes
        .iter()
        .find(|r| r["route"] == "/api/v1/plans/{coach}/{date}" && r["status"] == 200)
        .expect("a series for the route template, not the raw path");
    assert_eq!(plan_ok["count"], 2);
    assert!(routes.iter().any(|r| r["route"] == "unmatched" && r["status"] == 404));
}

#[tokio::test]
async fn a_prometheus_scraper_gets_the_text_exposition() {
    let app = spawn_app().await;
    app.get("/health").await;
    let scraper_accept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";
    for request in [
        app.client.get(app.url("/metrics")).header("Accept", scraper_accept),
        app.client.get(app.url("/metrics")).header("Accept", "text/plain"),
        app.client.get(app.url("/metrics?format=prometheus")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
        let text = response.text().await.unwrap();
        assert!(text.contains("# TYPE coach_plans_http_requests_total counter"), "{text}");
        assert!(
            text.contains("coach_plans_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(text.contains("coach_plans_http_request_duration_seconds_bucket{route=\"/health\",method=\"GET\",status=\"200\",le=\"+Inf\"} 1"));
        assert!(text.contains("coach_plans_database_up 1"));
        assert!(text.contains("coach_plans_active_plans 0"));
    }
    let json =
        app.client.get(app.url("/metrics")).header("Accept", "application/json, text/plain").send().await.unwrap();
    assert!(json.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let (status, body) = app.get_json("/metrics?format=xml").await;
    assert_eq!((status, body["message"].as_str()), (400, Some("unknown format `xml`; use json or prometheus")));
}

#[tokio::test]
async fn health_reads_the_heartbeat_a_bot_writes_through_its_own_store() {
    let app = spawn_app().await;
    let (_, body) = app.get_json("/health").await;
    assert_eq!(body["bot"]["status"], "unknown", "no bot has written to this database yet");

    // The bot's side, as plan-bot has it in its own process: its own connection pool on the same file, its own
    // service, the system clock.
    let bot_store = Arc::new(SqliteStore::open(&app.db_path, StoreOptions::default()).unwrap());
    let bot = PlanService::new(bot_store.clone(), bot_store, Arc::new(SystemClock), Policy::default());
    bot.record_bot_state(BotState::Connected).await.unwrap();
    let written = bot.status(service::BOT_CONNECTION_KEY).await.unwrap().unwrap().updated_at;

    // The API's clock stands where the heartbeat was written, then moves past the 90 seconds allowed.
    app.clock.set(written);
    app.clock.advance(5);
    let (status, body) = app.get_json("/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("healthy")));
    assert_eq!(body["bot"]["status"], "connected");
    assert_eq!(body["bot"]["age_seconds"], 5);
    assert_eq!(body["bot"]["last_seen"], format!("{written:.6}"));

    app.clock.advance(90);
    let (status, body) = app.get_json("/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("degraded")));
    assert_eq!((body["bot"]["status"].as_str(), body["bot"]["stale"].as_bool()), (Some("disconnected"), Some(true)));

    // The bot comes back: a new heartbeat through its store.
    bot.record_bot_state(BotState::Connected).await.unwrap();
    app.clock.set(bot.status(service::BOT_CONNECTION_KEY).await.unwrap().unwrap().updated_at);
    let (_, body) = app.get_json("/health").await;
    assert_eq!((body["bot"]["status"].as_str(), body["bot"]["stale"].as_bool()), (Some("connected"), Some(false)));
}
