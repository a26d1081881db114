//! Against the local fault server: what is retried and what is not, timeouts, stale-if-error on a refused
//! connection, TTL expiry on a manual clock, and the LRU eviction order.

use std::time::Duration;

use plan_client::{Error, Freshness};

use crate::fault_server::{Answer, FaultServer, error_answer, plan_answer};
use crate::support::{NEGATIVE_TTL, TODAY, TTL, client_builder, manual_clock};

fn plan_path(coach: &str) -> String {
    format!("/api/v1/plans/{coach}/{TODAY}")
}

#[tokio::test]
async fn a_500_is_retried_and_the_next_answer_is_used() {
    let server = FaultServer::start(|n, _| {
        if n == 0 { error_answer(500, "internal_error", "boom") } else { plan_answer("d", TODAY, 1) }
    })
    .await;
    let client = client_builder(&server.base_url, &manual_clock()).max_retries(3).build().unwrap();

    let plan = client.fetch_coach_plan("d", TODAY).await.unwrap().expect("a plan");
    assert_eq!(plan.text, "plan of d, version 1");
    assert_eq!(server.count(&plan_path("d")), 2);
    let metrics = client.metrics();
    assert_eq!((metrics.api.success, metrics.api.errors, metrics.api.retries), (1, 1, 1));
}

#[tokio::test]
async fn a_404_is_no_plan_and_is_not_retried() {
    let server =
        FaultServer::start(|_, _| error_answer(404, "not_found", "there is no plan for coach d on 2025-11-09")).await;
    let client = client_builder(&server.base_url, &manual_clock()).max_retries(3).build().unwrap();

    assert_eq!(client.fetch_coach_plan("d", TODAY).await.unwrap(), None);
    assert_eq!(server.seen().len(), 1, "exactly one request");
    assert_eq!(client.metrics().api.retries, 0);
}

#[tokio::test]
async fn a_400_is_an_error_and_is_not_retried() {
    let server = FaultServer::start(|_, _| error_answer(400, "bad_request", "unknown coach `d`")).await;
    let client = client_builder(&server.base_url, &manual_clock()).max_retries(3).build().unwrap();

    let error = client.fetch_coach_plan("d", TODAY).await.unwrap_err();
    assert!(matches!(&error, Error::Server { status: 400, request_id: Some(id), .. } if id == "req-1"), "{error:?}");
    assert!(!error.is_transient());
    assert_eq!(server.seen().len(), 1, "exactly one request");
}

#[tokio::test]
async fn a_404_that_is_not_the_plan_apis_is_an_error_not_a_missing_plan() {
    let server = FaultServer::start(|_, _| Answer::json(404, serde_json::json!("Not Found"))).await;
    let client = client_builder(&server.base_url, &manual_clock()).build().unwrap();

    let error = client.fetch_coach_plan("d", TODAY).await.unwrap_err();
    assert_eq!(error.status(), Some(404));
    assert!(error.to_string().contains("check the base URL"), "{error}");
}

#[tokio::test]
async fn a_lasting_5xx_is_retried_a_bounded_number_of_times() {
    let server = FaultServer::start(|_, _| error_answer(503, "unavailable", "the database is busy")).await;
    let client = client_builder(&server.base_url, &manual_clock()).max_retries(2).build().unwrap();

    let error = client.fetch_coach_plan("d", TODAY).await.unwrap_err();
    assert!(matches!(error, Error::Server { status: 503, attempts: 3, .. }), "{error:?}");
    assert!(error.to_string().contains("the database is busy"));
    assert_eq!(server.seen().len(), 3);
    let metrics = client.metrics();
    assert_eq!((metrics.api.errors, metrics.api.retries), (3, 2));
}

#[tokio::test]
async fn the_retry_budget_bounds_the_total_time() {
    let server = FaultServer::start(|_, _| error_answer(500, "internal_error", "boom")).await;
    // A budget shorter than the first backoff delay: no retry at all, whatever max_retries says.
    let client = client_builder(&server.base_url, &manual_clock())
        .max_retries(10)
        .backoff(Duration::from_secs(60), Duration::from_secs(60))
        .retry_budget(Duration::from_secs(1))
        .build()
        .unwrap();

    let error = client.fetch_coach_plan("d", TODAY).await.unwrap_err();
    assert!(matches!(error, Error::Server { status: 500, attempts: 1, .. }), "{error:?}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_error() {
    let server = FaultServer::start(|_, _| plan_answer("d", TODAY, 1).after(Duration::from_secs(30))).await;
    let client = client_builder(&server.base_url, &manual_clock())
        .timeout(Duration::from_millis(200))
        .max_retries(1)
        .build()
        .unwrap();

    let error = client.fetch_coach_plan("d", TODAY).await.unwrap_err();
    assert!(matches!(error, Error::Timeout { attempts: 2, .. }), "{error:?}");
    assert!(error.is_transient());
    assert!(error.to_string().contains("raise the timeout"), "{error}");
    assert_eq!(server.seen().len(), 2, "a timeout is retried");
}

#[tokio::test]
async fn when_the_server_refuses_connections_the_cached_plan_is_served_marked_stale() {
    let server = FaultServer::start(|_, _| plan_answer("d", TODAY, 1)).await;
    let clock = manual_clock();
    let client = client_builder(&server.base_url, &clock)
        .max_retries(1)
        .stale_if_error(Duration::from_secs(600))
        .build()
        .unwrap();
    let fresh = client.fetch_coach_plan("d", TODAY).await.unwrap().expect("a plan");
    server.stop().await;

    // Within the TTL the server is not asked at all.
    assert_eq!(client.fetch_coach_plan("d", TODAY).await.unwrap().map(|p| p.freshness), Some(Freshness::Fresh));

    clock.advance(TTL + Duration::from_secs(5));
    let stale = client.fetch_coach_plan("d", TODAY).await.unwrap().expect("the cached plan");
    assert!(stale.is_stale());
    let Freshness::Stale { age, reason } = &stale.freshness else { unreachable!() };
    assert_eq!(*age, TTL + Duration::from_secs(5));
    assert!(reason.starts_with("cannot reach the plan server"), "{reason}");
    assert_eq!(stale.text, fresh.text);
    let metrics = client.metrics();
    assert_eq!((metrics.requests.stale_serves, metrics.api.retries, metrics.api.errors), (1, 1, 2));

    // Past the stale bound the error comes through.
    clock.advance(Duration::from_secs(600));
    let error = client.fetch_coach_plan("d", TODAY).await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { attempts: 2, .. }), "{error:?}");
    assert!(error.to_string().contains("check that plan-api is running"));
}

#[tokio::test]
async fn an_expired_no_plan_is_never_served_stale() {
    let server = FaultServer::start(|_, _| error_answer(404, "not_found", "no plan")).await;
    let clock = manual_clock();
    let client = client_builder(&server.base_url, &clock).max_retries(0).build().unwrap();
    assert_eq!(client.fetch_coach_plan("d", TODAY).await.unwrap(), None);
    server.stop().await;

    clock.advance(NEGATIVE_TTL);
    assert!(matches!(client.fetch_coach_plan("d", TODAY).await, Err(Error::Unreachable { .. })));
}

#[tokio::test]
async fn a_whole_date_is_served_stale_only_when_every_coach_is_known() {
    let server = FaultServer::start(|_, seen| {
        let body = serde_json::json!({
            "date": TODAY,
            "plans": [crate::fault_server::plan_body("d", TODAY, 1)],
        });
        assert!(seen.path.starts_with("/api/v1/plans?date="));
        Answer::json(200, body)
    })
    .await;
    let clock = manual_clock();
    // "No plan" kept longer than a plan here, so that a plan can be stale while the absences are still fresh.
    let client = client_builder(&server.base_url, &clock)
        .cache_ttl(TTL)
        .negative_cache_ttl(TTL * 2)
        .max_retries(0)
        .build()
        .unwrap();
    assert_eq!(client.fetch_all_coach_plans(TODAY).await.unwrap().len(), 1);
    server.stop().await;

    // d's plan has expired, "no plan" for i, s and n has not: d's plan is served, marked stale.
    clock.advance(TTL);
    let plans = client.fetch_all_coach_plans(TODAY).await.unwrap();
    assert_eq!(plans.len(), 1);
    assert!(plans[0].is_stale());
    assert_eq!(client.metrics().requests.stale_serves, 1);

    // Once "no plan" has expired too, the others may have posted since: no stale answer.
    clock.advance(TTL);
    assert!(matches!(client.fetch_all_coach_plans(TODAY).await, Err(Error::Unreachable { .. })));
}

#[tokio::test]
async fn an_entry_expires_after_the_ttl_and_is_revalidated_with_if_none_match() {
    let server = FaultServer::start(|n, seen| match (n, seen.header("if-none-match")) {
        (0, None) => plan_answer("d", TODAY, 1),
        (_, Some("\"plan-7-v1\"")) => Answer::json(304, serde_json::json!(null)).with_header("etag", "\"plan-7-v1\""),
        _ => error_answer(400, "bad_request", "unexpected request"),
    })
    .await;
    let clock = manual_clock();
    let client = client_builder(&server.base_url, &clock).build().unwrap();

    client.fetch_coach_plan("d", TODAY).await.unwrap();
    clock.advance(TTL - Duration::from_secs(1));
    client.fetch_coach_plan("d", TODAY).await.unwrap();
    assert_eq!(server.seen().len(), 1, "still within the TTL");

    clock.advance(Duration::from_secs(1));
    let plan = client.fetch_coach_plan("d", TODAY).await.unwrap().expect("the cached plan");
    assert_eq!((plan.version, plan.freshness), (1, Freshness::Fresh));
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("if-none-match"), Some("\"plan-7-v1\""));
    assert_eq!(client.metrics().requests.revalidations, 1);

    clock.advance(TTL - Duration::from_secs(1));
    client.fetch_coach_plan("d", TODAY).await.unwrap();
    assert_eq!(server.seen().len(), 2, "the 304 started a new TTL");
}

#[tokio::test]
async fn the_least_recently_used_entry_is_evicted_first() {
    let server = FaultServer::start(|_, seen| {
        let coach = seen.path.split('/').nth(4).unwrap_or("d").to_owned();
        plan_answer(&coach, TODAY, 1)
    })
    .await;
    let client = client_builder(&server.base_url, &manual_clock()).cache_capacity(2).build().unwrap();

    client.fetch_coach_plan("d", TODAY).await.unwrap();
    client.fetch_coach_plan("i", TODAY).await.unwrap();
    client.fetch_coach_plan("d", TODAY).await.unwrap(); // a hit: d becomes the most recently used
    client.fetch_coach_plan("s", TODAY).await.unwrap(); // evicts i
    assert_eq!(client.metrics().cache.size, 2);

    client.fetch_coach_plan("d", TODAY).await.unwrap();
    assert_eq!(server.count(&plan_path("d")), 1, "d was kept");
    client.fetch_coach_plan("i", TODAY).await.unwrap();
    assert_eq!(server.count(&plan_path("i")), 2, "i was evicted and fetched again");
    assert_eq!(server.count(&plan_path("s")), 1);
}

#[tokio::test]
async fn clearing_the_cache_forgets_every_entry() {
    let server = FaultServer::start(|_, _| plan_answer("d", TODAY, 1)).await;
    let client = client_builder(&server.base_url, &manual_clock()).build().unwrap();
    client.fetch_coach_plan("d", TODAY).await.unwrap();
    assert_eq!(client.clear_cache(), 1);
    assert_eq!(client.metrics().cache.size, 0);
    client.fetch_coach_plan("d", TODAY).await.unwrap();
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn an_answer_for_another_plan_is_a_bad_response() {
    let server = FaultServer::start(|_, _| plan_answer("i", TODAY, 1)).await;
    let client = client_builder(&server.base_url, &manual_clock()).build().unwrap();
    let error = client.fetch_coach_plan("d", TODAY).await.unwrap_err();
    assert!(matches!(error, Error::BadResponse { .. }), "{error:?}");
    assert!(error.to_string().contains("asked for coach d on 2025-11-09, got coach i"), "{error}");
}

#[tokio::test]
async fn clones_share_one_cache_across_tasks() {
    let server = FaultServer::start(|_, _| plan_answer("d", TODAY, 1)).await;
    let client = client_builder(&server.base_url, &manual_clock()).build().unwrap();
    client.fetch_coach_plan("d", TODAY).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.fetch_coach_plan("d", TODAY).await.unwrap() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_some());
    }
    assert_eq!(server.seen().len(), 1);
    assert_eq!(client.metrics().requests.cache_hits, 8);
}

#[tokio::test]
async fn an_unhealthy_server_is_a_health_report_not_an_error_and_is_not_retried() {
    let server = FaultServer::start(|_, _| {
        Answer::json(
            503,
            serde_json::json!({
                "status": "unhealthy", "version": "0.1.0", "timestamp": "2025-11-10T03:30:00.000000Z",
                "uptime_seconds": 5, "database": {"status": "error", "error": "unable to open database file"},
                "bot": {"status": "unknown", "last_seen": null, "age_seconds": null, "stale": false}
            }),
        )
    })
    .await;
    let client = client_builder(&server.base_url, &manual_clock()).max_retries(3).build().unwrap();

    let health = client.health().await.unwrap();
    assert!(!health.is_healthy());
    assert_eq!(
        (health.status.as_str(), health.database.error.as_deref()),
        ("unhealthy", Some("unable to open database file"))
    );
    assert_eq!(server.seen().len(), 1);
}
