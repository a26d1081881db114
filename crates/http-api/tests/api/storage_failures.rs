//! When the database fails under a running server: the data routes answer a 500 with their JSON error body (never a
//! dropped connection or an HTML page), the cause is logged once under the request id, and the server recovers.

use serde_json::{Value, json};

use crate::helpers::{LOGS, TODAY, TestApp, ann, spawn_app};

/// Renames the `plans` table away (or back) behind the server's connection pool, as a damaged or foreign schema would.
fn rename_plans_table(app: &TestApp, from: &str, to: &str) {
    let connection = rusqlite::Connection::open(&app.db_path).unwrap();
    connection.execute_batch(&format!("ALTER TABLE {from} RENAME TO {to}")).unwrap();
}

#[tokio::test]
async fn v1_and_legacy_data_routes_answer_500_with_their_json_error_bodies() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "kept", vec![]).await;
    rename_plans_table(&app, "plans", "plans_elsewhere");

    let id = "storage-failure-v1";
    let response = app.client.get(app.url(&format!("/api/v1/plans/d/{TODAY}"))).header("X-Request-Id", id).send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "error": "internal_error",
            "message": "an unexpected error happened; it has been logged",
            "request_id": id,
        }),
        "nothing internal in the body"
    );
    let logged = LOGS.lines_with(&format!("request_id={id}"));
    let cause: Vec<&String> = logged.iter().filter(|l| l.contains("request failed on the server's side")).collect();
    assert_eq!(cause.len(), 1, "the cause is logged once: {logged:#?}");
    assert!(cause[0].contains(" ERROR ") && cause[0].contains("no such table: plans"), "{}", cause[0]);
    assert!(logged.iter().any(|l| l.contains(" WARN ") && l.contains("request served") && l.contains("status=500")));

    let response = app.client.get(app.url(&format!("/api/coach-plans/?coach=d&date={TODAY}"))).send().await.unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.headers().contains_key("x-request-id"), "the request id is in the header");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "an unexpected error happened; it has been logged"}), "the predecessor's shape");
    let (status, body) = app.get_json(&format!("/api/coach-plans/all?date={TODAY}")).await;
    assert_eq!((status, body["error"].as_str()), (500, Some("an unexpected error happened; it has been logged")));

    rename_plans_table(&app, "plans_elsewhere", "plans");
    let (status, body) = app.get_json(&format!("/api/v1/plans/d/{TODAY}")).await;
    assert_eq!((status, body["text"].as_str()), (200, Some("kept")), "the same server serves again");
}
