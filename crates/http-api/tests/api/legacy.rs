//! The predecessor's routes: paths, parameters, JSON shapes, timestamps and status codes (the exact requests of its
//! Python client are in `python_client.rs`).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use core_model::{CoachId, PlanChange, PlanRepository as _, PlanText};
use http_api::ApiConfig;
use storage::{SqliteStore, StoreOptions};

use crate::helpers::{TODAY, ann, bob, chart, spawn_app, spawn_app_with_policy};

async fn spawn_app_with_zone(zone: &str) -> crate::helpers::TestApp {
    let zone = core_model::MarketTimeZone::new(zone).unwrap();
    spawn_app_with_policy(ApiConfig::default(), service::Policy { zone, ..service::Policy::default() }).await
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn a_plan_has_every_field_the_python_client_reads() {
    let app = spawn_app().await;
    let charts = vec![chart("https://cdn.test/spy.png"), chart("https://www.tradingview.com/x/AbC123/")];
    app.post(&ann(), "d", None, "SPY: long above 512.40, stop 510.80", charts).await;
    app.edit(&ann(), "d", None, "SPY: long above 512.60, stop 510.80").await;

    let (status, body) = app.get_json(&format!("/api/coach-plans/?coach=d&date={TODAY}")).await;
    assert_eq!(status, 200);
    let expected: BTreeSet<String> =
        ["plan", "charts", "author", "created_at", "edited_at", "channel"].map(String::from).into();
    assert_eq!(keys(&body), expected, "exactly the predecessor's fields");
    assert_eq!(body["plan"], "SPY: long above 512.60, stop 510.80");
    assert_eq!(body["charts"], json!(["https://cdn.test/spy.png", "https://www.tradingview.com/x/AbC123/"]));
    assert_eq!(body["author"], "Ann");
    assert_eq!(body["channel"], "trading-plans");
    assert_eq!(
        body["created_at"], "2025-11-09T22:30:00",
        "naive local time in the market time zone, as the predecessor wrote it (no fraction: zero microseconds)"
    );
    assert_eq!(body["edited_at"], "2025-11-09T22:30:00", "an edited plan says when");
}

#[tokio::test]
async fn timestamps_follow_the_configured_market_time_zone() {
    let app = spawn_app_with_zone("Asia/Tokyo").await;
    app.post(&ann(), "d", Some("2025-11-10"), "Nikkei", vec![]).await;
    let (_, body) = app.get_json("/api/coach-plans/?coach=d&date=2025-11-10").await;
    assert_eq!(body["created_at"], "2025-11-10T12:30:00", "03:30 UTC is 12:30 in Tokyo");
    let (_, v1) = app.get_json("/api/v1/plans/d/2025-11-10").await;
    assert_eq!(v1["created_at"], "2025-11-10T03:30:00.000000Z", "v1 keeps RFC 3339 UTC");
}

#[tokio::test]
async fn every_coach_form_and_both_paths_find_the_plan() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "plan d", vec![]).await;
    for path in [
        format!("/api/coach-plans/?coach=d&date={TODAY}"),
        format!("/api/coach-plans/?coach=coach_d&date={TODAY}"),
        format!("/api/coach-plans/?coach=D&date={TODAY}"),
        format!("/api/coach-plans/?coach=d%3A&date={TODAY}"),
        format!("/api/coach-plans?coach=d&date={TODAY}"),
        "/api/coach-plans/?coach=d".to_owned(),
    ] {
        let (status, body) = app.get_json(&path).await;
        assert_eq!((status, body["plan"].as_str()), (200, Some("plan d")), "{path}");
    }
    let (_, body) = app.get_json("/api/coach-plans/?coach=d").await;
    assert_eq!(body["edited_at"], Value::Null, "never edited");
}

#[tokio::test]
async fn no_plan_is_a_200_with_the_predecessors_sentence() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/coach-plans/?coach=i&date=2025-11-07").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"plan": "No plan available for coach_i on 2025-11-07", "charts": []}));
    let (_, body) = app.get_json("/api/coach-plans/?coach=coach_s").await;
    assert_eq!(body["plan"], format!("No plan available for coach_s on {TODAY}"), "today in the market time zone");
}

#[tokio::test]
async fn bad_requests_are_400_with_an_error_field() {
    let app = spawn_app().await;
    let cases = [
        ("/api/coach-plans/", "the coach parameter is missing; add ?coach= with one of: d, i, s, n"),
        ("/api/coach-plans/?coach=", "the coach parameter is missing; add ?coach= with one of: d, i, s, n"),
        ("/api/coach-plans/?coach=x", "unknown coach `x`; valid coaches are: d, i, s, n"),
        (
            "/api/coach-plans/?coach=d&date=2025-13-01",
            "`2025-13-01` is not a date; write it as YYYY-MM-DD, e.g. 2025-11-09",
        ),
        (
            "/api/coach-plans/?coach=d&date=11/09/2025",
            "`11/09/2025` is not a date; write it as YYYY-MM-DD, e.g. 2025-11-09",
        ),
        ("/api/coach-plans/all?date=yesterday", "`yesterday` is not a date; write it as YYYY-MM-DD, e.g. 2025-11-09"),
        ("/api/coach-plans/history", "the coach parameter is missing; add ?coach= with one of: d, i, s, n"),
        ("/api/coach-plans/history?coach=zz", "unknown coach `zz`; valid coaches are: d, i, s, n"),
        (
            "/api/coach-plans/history?coach=d&date=2025-02-30",
            "`2025-02-30` is not a date; write it as YYYY-MM-DD, e.g. 2025-11-09",
        ),
    ];
    for (path, message) in cases {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body, json!({ "error": message }), "{path}");
    }
}

#[tokio::test]
async fn all_lists_exactly_the_coaches_with_a_plan_as_the_predecessor_did() {
    let app = spawn_app().await;
    let all = |date: &'static str| {
        let app = &app;
        async move { app.get_json(&format!("/api/coach-plans/all?date={date}")).await }
    };
    // Nobody posted: an empty object, so `len(plans)` is 0 and iterating finds nothing.
    assert_eq!(all(TODAY).await, (200, json!({})));

    // One coach posted (another posted on another day, a third deleted theirs): that coach alone.
    app.post(&ann(), "d", None, "plan d", vec![chart("https://cdn.test/d.png")]).await;
    app.post(&bob(), "i", Some("2025-11-08"), "yesterday's", vec![]).await;
    app.post(&bob(), "n", None, "deleted later", vec![]).await;
    app.service.delete(&bob(), &CoachId::new("n").unwrap(), None).await.unwrap();
    let (status, body) = all(TODAY).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&body), ["coach_d".to_owned()].into());
    let (_, single) = app.get_json(&format!("/api/coach-plans/?coach=d&date={TODAY}")).await;
    assert_eq!(body["coach_d"], single, "each entry is the plan as the single route gives it");
    assert_eq!(body["coach_d"]["charts"], json!(["https://cdn.test/d.png"]));

    // Every coach posted: every coach, each with an author and a creation time.
    app.post(&bob(), "i", None, "plan i", vec![]).await;
    app.post(&bob(), "s", None, "plan s", vec![]).await;
    app.post(&ann(), "n", None, "plan n again", vec![]).await;
    let (_, body) = all(TODAY).await;
    let expected: BTreeSet<String> = ["coach_d", "coach_i", "coach_s", "coach_n"].map(String::from).into();
    assert_eq!(keys(&body), expected);
    for (coach, plan) in body.as_object().unwrap() {
        assert!(plan["author"].is_string() && plan["created_at"].is_string(), "{coach}: {plan}");
    }
    assert_eq!(body["coach_s"]["author"], "Bob");
    assert_eq!(body["coach_n"]["plan"], "plan n again");
    let (_, default_date) = app.get_json("/api/coach-plans/all").await;
    assert_eq!(default_date, body, "the date defaults to today");
    let (status, empty) = app.get_json("/api/coach-plans/all?date=").await;
    assert_eq!((status, empty), (400, json!({"error": "`date` is empty; give it a value or leave it out"})));
    assert_eq!(all("2025-11-08").await.1["coach_i"]["plan"], "yesterday's");
}

#[tokio::test]
async fn history_lists_edits_newest_first_with_the_text_before_in_the_predecessors_shape() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "v1", vec![]).await;
    app.clock.advance(60);
    app.edit(&ann(), "d", None, "v2").await;
    app.clock.advance_micros(60_250_000);
    app.edit(&ann(), "d", None, "v3").await;
    app.post(&ann(), "d", Some("2025-11-08"), "older day", vec![]).await;
    app.edit(&ann(), "d", Some("2025-11-08"), "older day, edited").await;

    let (status, body) = app.get_json(&format!("/api/coach-plans/history?coach=d&date={TODAY}")).await;
    assert_eq!(status, 200);
    let history = body["history"].as_array().unwrap();
    let texts: Vec<_> = history.iter().map(|e| e["plan_text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["v2", "v1"], "each entry holds the text before its edit, newest first");
    for entry in history {
        let expected: BTreeSet<String> =
            ["id", "plan_id", "plan_text", "edited_by", "edited_at"].map(String::from).into();
        assert_eq!(keys(entry), expected, "exactly the predecessor's fields");
        assert_eq!(entry["edited_by"], "Ann");
    }
    let times: Vec<_> = history.iter().map(|e| e["edited_at"].as_str().unwrap()).collect();
    assert_eq!(times, ["2025-11-09T22:32:00.250000", "2025-11-09T22:31:00"], "naive local time, as plans have");
    let (_, all_dates) = app.get_json("/api/coach-plans/history?coach=coach_d").await;
    assert_eq!(
        all_dates["history"].as_array().unwrap().len(),
        3,
        "without a date: every date (the predecessor returned none)"
    );
    let (_, none) = app.get_json("/api/coach-plans/history?coach=n").await;
    assert_eq!(none, json!({"history": []}));
}

#[tokio::test]
async fn history_leaves_out_what_the_predecessor_never_recorded() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "posted", vec![]).await;
    let coach = CoachId::new("d").unwrap();
    // The plan's Discord message gains a chart, text unchanged (message id 3 is the helpers' source message).
    let text = PlanText::new("posted").unwrap();
    app.service.sync_source_edit(&ann(), 3, text, vec![chart("https://cdn.test/a.png")]).await.unwrap().unwrap();
    // Charts replaced alone, as a storage adapter records it.
    let plan = app.service.plan(&coach, None).await.unwrap().unwrap();
    let store = SqliteStore::open(&app.db_path, StoreOptions::default()).unwrap();
    let changed = PlanChange::ReplaceCharts(vec![chart("https://cdn.test/b.png")]);
    store.change(plan.id, changed, &ann().as_author(), app.service.now(), None).unwrap();
    app.edit(&ann(), "d", None, "edited").await;
    app.service.delete(&ann(), &coach, None).await.unwrap();
    app.service.restore(&ann(), &coach, None).await.unwrap();

    let (_, v1) = app.get_json(&format!("/api/v1/plans/d/{TODAY}/history")).await;
    let actions: Vec<_> = v1["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["restored", "deleted", "edited", "charts_changed", "charts_changed", "created"],
        "v1 has every change (the message's new chart, its text unchanged, is a change of charts)"
    );
    let (_, legacy) = app.get_json(&format!("/api/coach-plans/history?coach=d&date={TODAY}")).await;
    let history = legacy["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "the legacy history has the change of the text only: {legacy}");
    assert_eq!(history[0]["plan_text"], "posted");
}

#[tokio::test]
async fn other_methods_get_a_405_in_the_legacy_shape() {
    let app = spawn_app().await;
    for path in ["/api/coach-plans/", "/api/coach-plans", "/api/coach-plans/all", "/api/coach-plans/history"] {
        let response = app.client.post(app.url(path)).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 405, "{path}");
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"error": "POST is not allowed here; use GET"}));
    }
}
