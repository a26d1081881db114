//! The answer cache: a repeated read is answered without storage, with the same body and ETag (and a 304 for a
//! matching `If-None-Match`); a write through this process shows at the next request, a write by another process on
//! the same database within the documented bound (twice `service::CHANGE_CHECK_EVERY`, 100 ms).

use std::sync::Arc;

use http_api::ApiConfig;
use service::{EditPlan, PlanService, Policy};
use storage::{SqliteStore, StoreOptions};

use crate::helpers::{LOGS, TODAY, ann, spawn_app, spawn_app_over};
use crate::logs::LoggedStore;

#[tokio::test]
async fn a_repeated_read_skips_storage_and_a_write_of_this_process_shows_at_the_next_request() {
    let app = spawn_app_over(ApiConfig::default(), |store| Arc::new(LoggedStore(store))).await;
    app.post(&ann(), "d", None, "Long SPY over 600", vec![]).await;
    let url = app.url(&format!("/api/v1/plans/d/{TODAY}"));
    let get = |id: &'static str| app.client.get(&url).header("X-Request-Id", id).send();
    let plan_reads = |id: &str| {
        LOGS.lines_with(&format!("request_id={id}")).iter().filter(|l| l.contains("call=\"find_active\"")).count()
    };

    let first = get("cache-first").await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let first = first.text().await.unwrap();
    let second = get("cache-second").await.unwrap();
    assert_eq!(second.headers()["etag"].to_str().unwrap(), etag, "the same ETag");
    assert_eq!(second.text().await.unwrap(), first, "the same answer");
    assert_eq!(plan_reads("cache-first"), 1);
    assert_eq!(plan_reads("cache-second"), 0, "the repeated read did not read the plan again");
    let revalidated = app.client.get(&url).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(revalidated.status(), 304, "a kept answer still revalidates");

    app.edit(&ann(), "d", None, "Short SPY under 590").await;
    let after = get("cache-after-write").await.unwrap();
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    assert!(after.text().await.unwrap().contains("Short SPY under 590"), "the write shows at the next request");
    assert_eq!(plan_reads("cache-after-write"), 1);
}

#[tokio::test]
async fn a_write_by_another_process_shows_within_the_documented_bound() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "Long SPY over 600", vec![]).await;
    let path = format!("/api/coach-plans/?coach=d&date={TODAY}");
    let (_, before) = app.get_json(&path).await;
    assert_eq!(before["plan"], "Long SPY over 600");

    // Another process: its own store and service on the same database file (a bot beside a separate plan-api).
    let store = Arc::new(SqliteStore::open(&app.db_path, StoreOptions::default()).unwrap());
    let other =
        PlanService::new(store.clone(), store, Arc::new(core_model::testing::ManualClock::at_now()), Policy::default());
    let edit = EditPlan {
        coach: core_model::CoachId::new("d").unwrap(),
        date: Some(core_model::TradingDate::parse(TODAY).unwrap()),
        text: core_model::PlanText::new("Flat until the CPI print").unwrap(),
        charts: service::EditCharts::Keep,
        expected_version: None,
    };
    other.edit(&ann(), edit).await.unwrap();
    tokio::time::sleep(service::CHANGE_CHECK_EVERY * 2).await;
    let (_, after) = app.get_json(&path).await;
    assert_eq!(after["plan"], "Flat until the CPI print", "another process's write shows within the bound");
}
