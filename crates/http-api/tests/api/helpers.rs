//! `spawn_app`: the real API on 127.0.0.1:0 over a fresh database, with a clock the test controls, and helpers to
//! seed plans through the service (the API itself is read-only).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use core_model::jiff::{SignedDuration, Timestamp};
use core_model::{Actor, ChartKind, Clock, CoachId, NewChart, PlanSource, PlanText, TradingDate, UserId};
use http_api::{ApiConfig, Application};
use service::{EditPlan, PlanService, Policy, PostPlan};
use storage::{SqliteStore, StoreOptions};
use tempfile::TempDir;

/// 2025-11-10 03:30 UTC: still 2025-11-09 in New York.
pub const NOW: &str = "2025-11-10T03:30:00Z";
/// Today in the market time zone at [`NOW`].
pub const TODAY: &str = "2025-11-09";

/// A clock the test moves.
pub struct TestClock(Mutex<Timestamp>);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    pub fn advance(&self, seconds: i64) {
        let mut now = self.0.lock().unwrap();
        *now = now.checked_add(SignedDuration::from_secs(seconds)).unwrap();
    }
}

pub struct TestApp {
    pub address: String,
    pub service: PlanService,
    pub clock: Arc<TestClock>,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    pub dir: TempDir,
}

pub fn ann() -> Actor {
    Actor::new(UserId(111), "Ann")
}

pub fn bob() -> Actor {
    Actor::new(UserId(222), "Bob")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ApiConfig::default()).await
}

pub async fn spawn_app_with(mut config: ApiConfig) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        app_telemetry_for_tests();
    }
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("plans.db");
    let store = Arc::new(SqliteStore::open(&db_path, StoreOptions::default()).unwrap());
    let clock = Arc::new(TestClock(Mutex::new(NOW.parse().unwrap())));
    let policy = Policy { admin_users: vec![UserId(999)], ..Policy::default() };
    let service = PlanService::new(store.clone(), store, clock.clone(), policy);
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.workers = Some(1);
    let application = Application::build(config, service.clone()).unwrap();
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until(std::future::pending()));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { address, service, clock, client, db_path, dir }
}

/// Logs to the test's output when `TEST_LOG` is set (`TEST_LOG=1 cargo test -p http-api -- --nocapture`).
fn app_telemetry_for_tests() {
    use std::sync::Once;
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt().with_env_filter("debug").with_test_writer().finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

pub fn chart(url: &str) -> NewChart {
    NewChart { url: url.to_owned(), filename: None, content_type: None, kind: ChartKind::Link }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Posts a plan as `actor` for coach `c` on `date` (today when `None`).
    pub async fn post(&self, actor: &Actor, c: &str, date: Option<&str>, text: &str, charts: Vec<NewChart>) {
        let request = PostPlan {
            coach: CoachId::new(c).unwrap(),
            date: date.map(|d| TradingDate::parse(d).unwrap()),
            text: PlanText::new(text).unwrap(),
            charts,
            source: PlanSource {
                guild_id: Some(1),
                channel_id: Some(2),
                channel_name: Some("trading-plans".into()),
                message_id: Some(3),
            },
        };
        self.service.post(actor, request).await.unwrap();
    }

    pub async fn edit(&self, actor: &Actor, c: &str, date: Option<&str>, text: &str) {
        let request = EditPlan {
            coach: CoachId::new(c).unwrap(),
            date: date.map(|d| TradingDate::parse(d).unwrap()),
            text: PlanText::new(text).unwrap(),
            charts: None,
            expected_version: None,
        };
        self.service.edit(actor, request).await.unwrap();
    }
}
