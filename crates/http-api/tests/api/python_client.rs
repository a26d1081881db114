//! The predecessor's Python client, byte for byte: python-requests 2.31 sends each request with the same headers, in
//! the same order, over one kept-alive connection. Every field that client reads is checked, in the form it reads it.

use serde_json::{Value, json};

use crate::helpers::{RawConnection, RawResponse, TODAY, TestApp, ann, bob, chart, spawn_app};

/// One kept-alive connection speaking as python-requests does.
struct PythonRequests(RawConnection);

impl PythonRequests {
    async fn connect(app: &TestApp) -> Self {
        Self(RawConnection::connect(app).await)
    }

    /// `session.get(BASE + path_and_query)`: the request line and headers exactly as python-requests 2.31 (urllib3 2)
    /// writes them.
    async fn get(&mut self, path_and_query: &str) -> RawResponse {
        let request = format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: {}\r\nUser-Agent: python-requests/2.31.0\r\n\
             Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n",
            self.0.host
        );
        self.0.send(request.as_bytes()).await;
        self.0.read_response().await
    }
}

/// Checks a timestamp as the predecessor wrote it and its client parses it (`datetime.fromisoformat`, naive).
#[track_caller]
fn assert_naive_iso(value: &Value, expected: &str) {
    assert_eq!(value, expected);
    let text = value.as_str().unwrap();
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    assert_eq!(seconds.len(), "2025-11-09T20:36:52".len(), "{text}");
    assert!(fraction.is_empty() || fraction.len() == 6, "microseconds or nothing: {text}");
    assert!(!text.ends_with('Z') && !text.contains('+'), "no offset: {text}");
}

#[tokio::test]
async fn the_python_client_reads_plans_all_plans_health_and_metrics_over_one_connection() {
    let app = spawn_app().await;
    let charts = vec![chart("https://cdn.test/spy.png"), chart("https://www.tradingview.com/x/AbC123/")];
    app.post(&ann(), "d", None, "SPY: long above 512.40, stop 510.80", charts).await;
    app.clock.advance_micros(90_000_123);
    app.edit(&ann(), "d", None, "SPY: long above 512.60, stop 510.80").await;
    app.post(&bob(), "s", None, "NVDA swing", vec![]).await;

    let mut python = PythonRequests::connect(&app).await;

    // fetch_coach_plan("d", date)
    let plan = python.get(&format!("/api/coach-plans/?coach=d&date={TODAY}")).await;
    assert_eq!(plan.status, 200);
    assert!(plan.header("content-type").unwrap().starts_with("application/json"));
    assert_eq!(plan.header("content-encoding"), None, "the body is sent as is: `requests` would also inflate it");
    assert_ne!(plan.header("connection"), Some("close"), "the connection is kept alive for the next call");
    let body = plan.json();
    assert_eq!(body["plan"], "SPY: long above 512.60, stop 510.80");
    assert_eq!(body["charts"], json!(["https://cdn.test/spy.png", "https://www.tradingview.com/x/AbC123/"]));
    assert_eq!(body["author"], "Ann");
    assert_eq!(body["channel"], "trading-plans");
    // 2025-11-10T03:30:00Z is 22:30 the evening before in New York, the market time zone.
    assert_naive_iso(&body["created_at"], "2025-11-09T22:30:00");
    assert_naive_iso(&body["edited_at"], "2025-11-09T22:31:30.000123");

    // No plan: a 200 whose `plan` the client tests with startswith("No plan available").
    let none = python.get("/api/coach-plans/?coach=i&date=2025-11-07").await;
    assert_eq!(
        (none.status, none.json()),
        (200, json!({"plan": "No plan available for coach_i on 2025-11-07", "charts": []}))
    );

    // fetch_all_coach_plans(date)
    let all = python.get(&format!("/api/coach-plans/all?date={TODAY}")).await;
    assert_eq!(all.status, 200);
    let all = all.json();
    assert_eq!(all["coach_d"], body, "the same plan object as the single fetch");
    assert_eq!(all["coach_s"]["plan"], "NVDA swing");
    assert_eq!(all["coach_s"]["edited_at"], Value::Null);
    assert_naive_iso(&all["coach_s"]["created_at"], "2025-11-09T22:31:30.000123");
    let posted: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(posted, ["coach_d", "coach_s"], "only the coaches who posted, as the predecessor answered");

    // health()
    let health = python.get("/health").await;
    assert_eq!(health.status, 200);
    let health = health.json();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["database"]["status"], "ok");

    // server_metrics(): JSON for `Accept: */*`, never the Prometheus text.
    let metrics = python.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("application/json"), "{:?}", metrics.headers);
    let metrics = metrics.json();
    assert_eq!(metrics["database"], "ok");
    assert_eq!(metrics["requests"]["total"], 4, "the four calls before this one");
    assert_eq!(metrics["plans"]["active"], 2);
    assert!(metrics["uptime_seconds"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn the_python_client_reads_the_history_it_knows() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "v1", vec![]).await;
    app.clock.advance(60);
    app.edit(&ann(), "d", None, "v2").await;
    let mut python = PythonRequests::connect(&app).await;
    let history = python.get(&format!("/api/coach-plans/history?coach=d&date={TODAY}")).await;
    assert_eq!(history.status, 200);
    let history = history.json();
    let entry = &history["history"][0];
    assert_eq!(entry["plan_text"], "v1", "the text before the edit");
    assert_eq!(entry["edited_by"], "Ann");
    assert_naive_iso(&entry["edited_at"], "2025-11-09T22:31:00");
    assert!(entry["id"].is_i64() && entry["plan_id"].is_i64());
    assert_eq!(history["history"].as_array().unwrap().len(), 1);

    let missing = python.get("/api/coach-plans/?date=2025-11-09").await;
    assert_eq!(missing.status, 400);
    assert!(missing.json()["error"].as_str().unwrap().starts_with("the coach parameter is missing"));
}
