//! What the request logs say: one "request served" line per request at `info` (`warn` for a 5xx) with method, route,
//! status and latency, and the request id in every line of the request, also in lines written inside the storage
//! call on the blocking pool.

use std::sync::Arc;

use core_model::jiff::Timestamp;
use core_model::{
    Author, CoachId, HistoryEntry, HistoryQuery, NewPlan, Plan, PlanChange, PlanId, PlanRepository, RepoError,
    StoreStats, TradingDate, UserId,
};
use http_api::ApiConfig;
use storage::SqliteStore;

use crate::helpers::{LOGS, TODAY, ann, spawn_app, spawn_app_over};

/// The SQLite store, writing one log line from inside each read, as any storage adapter's own logging would.
pub(crate) struct LoggedStore(pub(crate) Arc<SqliteStore>);

impl LoggedStore {
    fn read<T>(&self, call: &str, read: impl FnOnce(&SqliteStore) -> T) -> T {
        tracing::info!(call, thread = ?std::thread::current().name(), "storage read");
        read(&self.0)
    }
}

impl PlanRepository for LoggedStore {
    fn insert(&self, plan: NewPlan, at: Timestamp) -> Result<Plan, RepoError> {
        self.0.insert(plan, at)
    }
    fn change(
        &self,
        id: PlanId,
        change: PlanChange,
        actor: &Author,
        at: Timestamp,
        expected_version: Option<u32>,
    ) -> Result<Plan, RepoError> {
        self.0.change(id, change, actor, at, expected_version)
    }
    fn get(&self, id: PlanId) -> Result<Option<Plan>, RepoError> {
        self.read("get", |s| s.get(id))
    }
    fn find_active(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError> {
        self.read("find_active", |s| s.find_active(coach, date))
    }
    fn find_latest_deleted(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError> {
        self.read("find_latest_deleted", |s| s.find_latest_deleted(coach, date))
    }
    fn find_by_source_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError> {
        self.read("find_by_source_message", |s| s.find_by_source_message(message_id))
    }
    fn find_by_posting_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError> {
        self.read("find_by_posting_message", |s| s.find_by_posting_message(message_id))
    }
    fn list_active_by_date(&self, date: TradingDate) -> Result<Vec<Plan>, RepoError> {
        self.read("list_active_by_date", |s| s.list_active_by_date(date))
    }
    fn list_active_by_author(&self, author: UserId, date: Option<TradingDate>) -> Result<Vec<Plan>, RepoError> {
        self.read("list_active_by_author", |s| s.list_active_by_author(author, date))
    }
    fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoryEntry>, RepoError> {
        self.read("history", |s| s.history(query))
    }
    fn stats(&self) -> Result<StoreStats, RepoError> {
        self.read("stats", |s| s.stats())
    }
    fn ping(&self) -> Result<(), RepoError> {
        self.read("ping", |s| s.ping())
    }
    fn change_count(&self) -> Result<u64, RepoError> {
        self.read("change_count", |s| s.change_count())
    }
}

impl core_model::PlanSearch for LoggedStore {
    fn search(&self, query: &core_model::SearchQuery) -> Result<core_model::SearchPage, RepoError> {
        self.read("search", |s| s.search(query))
    }
    fn ticker_mentions(&self, query: &core_model::MentionQuery) -> Result<Vec<core_model::TickerMention>, RepoError> {
        self.read("ticker_mentions", |s| s.ticker_mentions(query))
    }
}

#[tokio::test]
async fn the_callers_request_id_is_in_every_line_of_the_request_down_to_the_storage_call() {
    let app = spawn_app_over(ApiConfig::default(), |store| Arc::new(LoggedStore(store))).await;
    app.post(&ann(), "d", None, "SPY long over 600", vec![]).await;
    let id = "agent-7:run-42/logs";
    let response = app.client.get(app.url(&format!("/api/v1/plans/d/{TODAY}"))).header("X-Request-Id", id).send();
    assert_eq!(response.await.unwrap().status(), 200);

    let tagged = LOGS.lines_with(&format!("request_id={id}"));
    // The answer cache's data version, then the plan itself: each storage call logs under the request.
    let storage: Vec<&String> = tagged.iter().filter(|l| l.contains("storage read")).collect();
    let plan_reads: Vec<&&String> = storage.iter().filter(|l| l.contains("call=\"find_active\"")).collect();
    assert_eq!(
        plan_reads.len(),
        1,
        "the plan's storage call, run on the blocking pool, logs under the request: {tagged:#?}"
    );
    assert!(!plan_reads[0].contains("thread=Some(\"actix-rt"), "it ran off the server's threads: {}", plan_reads[0]);
    let served: Vec<&String> = tagged.iter().filter(|l| l.contains("request served")).collect();
    assert_eq!(served.len(), 1, "one line when the request is answered: {tagged:#?}");
    let line = served[0];
    assert!(line.contains(" INFO "), "served requests are logged at info, the default level: {line}");
    for part in ["http.method=GET", "http.route=\"/api/v1/plans/{coach}/{date}\"", "status=200", "latency_ms="] {
        assert!(line.contains(part), "{part} in {line}");
    }
}

#[tokio::test]
async fn client_errors_are_logged_at_info_with_their_status() {
    let app = spawn_app().await;
    let id = "logs-client-error";
    let response = app.client.get(app.url("/api/v1/plans/x/today")).header("X-Request-Id", id).send().await;
    assert_eq!(response.unwrap().status(), 400);
    let response = app.client.post(app.url("/api/coach-plans")).header("X-Request-Id", id).send().await;
    assert_eq!(response.unwrap().status(), 405);

    let served = LOGS.lines_with(&format!("request_id={id}"));
    assert_eq!(served.len(), 2, "{served:#?}");
    assert!(served[0].contains(" INFO ") && served[0].contains("status=400"), "{}", served[0]);
    assert!(served[1].contains(" INFO ") && served[1].contains("status=405"), "{}", served[1]);
    assert!(served[1].contains("http.route=\"/api/coach-plans\""), "{}", served[1]);
}
