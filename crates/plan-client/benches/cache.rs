//! What a plan read costs through plan-client: a cache hit (single plan and whole date), a miss answered `200` and
//! an expired entry revalidated with a `304`, the last two against the real plan-api app on loopback.
//!
//! Run with `cargo bench -p plan-client --bench cache`; figures and method are in docs/PERFORMANCE.md.

use std::sync::Arc;
use std::time::Duration;

use core_model::{Actor, ChartKind, CoachId, NewChart, PlanSource, PlanText, SystemClock, TradingDate, UserId};
use criterion::{Criterion, criterion_group, criterion_main};
use http_api::{ApiConfig, Application};
use plan_client::{ManualClock, PlanClient};
use service::{PlanService, Policy, PostPlan};
use storage::{SqliteStore, StoreOptions};

const DATE: &str = "2025-11-09";
const TTL: Duration = Duration::from_secs(60);

/// Starts plan-api on 127.0.0.1:0 (one worker) over a temporary database holding plans of `d` and `i` on [`DATE`],
/// in a thread of its own; returns its base URL and the directory to keep alive.
fn start_api() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(SqliteStore::open(dir.path().join("plans.db"), StoreOptions::default()).expect("a database"));
    let service = PlanService::new(store.clone(), store, Arc::new(SystemClock), Policy::default());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build();
        let runtime = runtime.expect("a runtime");
        runtime.block_on(async move {
            for (coach, text) in [("d", "SPY: long above 600.10, target 603.40, stop 598.70"), ("i", "QQQ fade")] {
                let chart = NewChart {
                    url: "https://example.com/spy.png".into(),
                    filename: None,
                    content_type: None,
                    kind: ChartKind::Link,
                };
                let request = PostPlan {
                    coach: CoachId::new(coach).expect("a coach"),
                    date: Some(TradingDate::parse(DATE).expect("a date")),
                    text: PlanText::new(text).expect("a text"),
                    charts: vec![chart],
                    source: PlanSource::default(),
                };
                service.post(&Actor::new(UserId(111), "Ann"), request).await.expect("posted");
            }
            let config = ApiConfig { host: "127.0.0.1".into(), port: 0, workers: Some(1), ..ApiConfig::default() };
            let application = Application::build(config, service).expect("the API binds");
            sender.send(format!("http://127.0.0.1:{}", application.port())).expect("the bench waits");
            application.run_until(std::future::pending()).await.expect("the API runs");
        });
    });
    (receiver.recv().expect("the API's address"), dir)
}

fn bench(c: &mut Criterion) {
    let (base_url, _dir) = start_api();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let clock = Arc::new(ManualClock::default());
    let client =
        PlanClient::builder().base_url(&base_url).clock(clock.clone()).cache_ttl(TTL).build().expect("a client");
    runtime.block_on(async {
        assert!(client.fetch_all_coach_plans(DATE).await.expect("the API answers").len() == 2);
    });

    let mut group = c.benchmark_group("plan-client");
    group.bench_function("hit: fetch_coach_plan", |b| {
        b.to_async(&runtime).iter(|| async { client.fetch_coach_plan("d", DATE).await.expect("a hit") });
    });
    group.bench_function("hit: fetch_all_coach_plans (4 coaches)", |b| {
        b.to_async(&runtime).iter(|| async { client.fetch_all_coach_plans(DATE).await.expect("a hit") });
    });
    group.bench_function("miss: 200 from plan-api", |b| {
        b.to_async(&runtime).iter(|| async {
            client.clear_cache();
            client.fetch_coach_plan("d", DATE).await.expect("a plan")
        });
    });
    group.bench_function("expired: 304 from plan-api", |b| {
        b.to_async(&runtime).iter(|| async {
            clock.advance(TTL);
            client.fetch_coach_plan("d", DATE).await.expect("a plan")
        });
    });
    group.finish();

    let metrics = client.metrics();
    // Every read above returned a plan; a failed attempt (e.g. a kept-alive connection the server closed between
    // groups) is acceptable only if a retry then succeeded.
    assert!(metrics.api.errors <= metrics.api.retries, "a failed attempt was not retried: {metrics:?}");
    println!(
        "client metrics after the run: {} reads, {} hits, {} misses, {} revalidations, {} failed attempts, {} retries",
        metrics.requests.total,
        metrics.requests.cache_hits,
        metrics.requests.cache_misses,
        metrics.requests.revalidations,
        metrics.api.errors,
        metrics.api.retries
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
