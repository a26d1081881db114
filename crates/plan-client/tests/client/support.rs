//! `spawn_api`: the real plan-api on 127.0.0.1:0 over a fresh database, with a fixed server clock and helpers to
//! seed plans through the service (the API is read-only); and a client builder wired to a manual clock.

use std::sync::Arc;
use std::time::Duration;

use core_model::{Actor, ChartKind, CoachId, NewChart, PlanSource, PlanText, TradingDate};
use http_api::{ApiConfig, Application};
use plan_client::{ClientBuilder, ManualClock, PlanClient};
use service::{EditPlan, PlanService, Policy, PostPlan};
use storage::{SqliteStore, StoreOptions};
use tempfile::TempDir;

/// 2025-11-10 03:30 UTC: still 2025-11-09 in New York.
pub const NOW: &str = "2025-11-10T03:30:00Z";
/// Today in the market time zone at [`NOW`].
pub const TODAY: &str = "2025-11-09";
/// The client's plan TTL in these tests.
pub const TTL: Duration = Duration::from_secs(60);
/// The client's "no plan" TTL in these tests.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(10);

pub struct RealApi {
    pub base_url: String,
    pub service: PlanService,
    _dir: TempDir,
}

pub use core_model::testing::ann;

pub async fn spawn_api() -> RealApi {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("plans.db"), StoreOptions::default()).unwrap());
    // The server's clock: it stands still.
    let clock = Arc::new(core_model::testing::ManualClock::starting_at(NOW));
    let service = PlanService::new(store.clone(), store.clone(), clock, Policy::default()).with_chart_images(store);
    let config = ApiConfig { host: "127.0.0.1".into(), port: 0, workers: Some(1), ..ApiConfig::default() };
    let application = Application::build(config, service.clone()).unwrap();
    let base_url = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until(std::future::pending()));
    RealApi { base_url, service, _dir: dir }
}

impl RealApi {
    /// Posts a plan as `actor` for coach `c` on [`TODAY`], with the given chart links.
    pub async fn post(&self, actor: &Actor, c: &str, text: &str, charts: &[&str]) {
        self.post_charts(actor, c, text, charts, ChartKind::Link).await;
    }

    /// Posts a plan as `actor` for coach `c` on [`TODAY`], with charts of `kind` at these URLs.
    pub async fn post_charts(&self, actor: &Actor, c: &str, text: &str, charts: &[&str], kind: ChartKind) {
        let request = PostPlan {
            coach: CoachId::new(c).unwrap(),
            date: Some(TradingDate::parse(TODAY).unwrap()),
            text: PlanText::new(text).unwrap(),
            charts: charts
                .iter()
                .map(|url| NewChart { url: (*url).to_owned(), filename: None, content_type: None, kind })
                .collect(),
            source: PlanSource {
                guild_id: Some(1),
                channel_id: Some(2),
                channel_name: Some("trading-plans".into()),
                message_id: Some(3),
            },
        };
        self.service.post(actor, request).await.unwrap();
    }

    pub async fn edit(&self, actor: &Actor, c: &str, text: &str) {
        let request = EditPlan {
            coach: CoachId::new(c).unwrap(),
            date: Some(TradingDate::parse(TODAY).unwrap()),
            text: PlanText::new(text).unwrap(),
            charts: service::EditCharts::Keep,
            expected_version: None,
        };
        self.service.edit(actor, request).await.unwrap();
    }
}

/// A client of `base_url` on a manual clock, with the tests' TTLs and quick retries.
pub fn client_builder(base_url: &str, clock: &Arc<ManualClock>) -> ClientBuilder {
    PlanClient::builder()
        .base_url(base_url)
        .clock(clock.clone())
        .cache_ttl(TTL)
        .negative_cache_ttl(NEGATIVE_TTL)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .timeout(Duration::from_secs(5))
}

pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::starting_at(NOW.parse().unwrap()))
}
