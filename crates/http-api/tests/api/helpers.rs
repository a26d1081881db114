//! `spawn_app`: the real API on 127.0.0.1:0 over a fresh database, with a clock the test controls, and helpers to
//! seed plans through the service (the API itself is read-only). Every log line of the test binary is captured
//! (by the binaries' own subscriber, human-readable, at `info`) for tests to read; `TEST_LOG` also prints them.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use app::LogFormat;
use core_model::{Actor, ChartKind, CoachId, NewChart, PlanRepository, PlanSource, PlanText, TradingDate, UserId};
use http_api::{ApiConfig, Application, Services};
use service::{Access, EditPlan, PlanService, Policy, PostPlan, Webhooks};
use storage::{SqliteStore, StoreOptions};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

pub use core_model::testing::TODAY;

/// A clock the test moves.
pub type TestClock = core_model::testing::ManualClock;

pub struct TestApp {
    pub address: String,
    pub service: PlanService,
    /// Tokens, over the app's database.
    pub access: Access,
    pub clock: Arc<TestClock>,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    pub dir: TempDir,
}

pub use core_model::testing::{ann, bob};

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ApiConfig::default()).await
}

pub async fn spawn_app_with(config: ApiConfig) -> TestApp {
    spawn_app_over(config, |store| store).await
}

/// The app with the given rules (roster, time zone, ...).
pub async fn spawn_app_with_policy(config: ApiConfig, policy: Policy) -> TestApp {
    spawn(config, policy, |store| store).await
}

/// The app over the plans repository `plans` makes of the test's SQLite store (e.g. the store wrapped in a decorator).
pub async fn spawn_app_over(
    config: ApiConfig,
    plans: impl FnOnce(Arc<SqliteStore>) -> Arc<dyn PlanRepository>,
) -> TestApp {
    spawn(config, Policy { admin_users: vec![UserId(999)], ..Policy::default() }, plans).await
}

async fn spawn(
    mut config: ApiConfig,
    policy: Policy,
    plans: impl FnOnce(Arc<SqliteStore>) -> Arc<dyn PlanRepository>,
) -> TestApp {
    LazyLock::force(&LOGS);
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("plans.db");
    let store = Arc::new(SqliteStore::open(&db_path, StoreOptions::default()).unwrap());
    let clock = Arc::new(TestClock::at_now());
    let access = Access::new(store.clone(), clock.clone());
    let webhooks = Webhooks::new(store.clone(), clock.clone(), true);
    let service = PlanService::new(plans(store.clone()), store.clone(), clock.clone(), policy).with_chart_images(store);
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.workers = Some(1);
    let services = Services { plans: service.clone(), access: Some(access.clone()), webhooks: Some(webhooks.clone()) };
    let application = Application::build(config, services).unwrap();
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until(std::future::pending()));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { address, service, access, clock, client, db_path, dir }
}

/// The log lines written so far by every app of this test binary.
pub struct Logs(Arc<Mutex<Vec<u8>>>);

/// Installed once, before the first app starts: the subscriber the binaries use with their default settings
/// (human-readable lines, `info`; `RUST_LOG` wins), writing into memory, and to standard output as well when
/// `TEST_LOG` is set (`TEST_LOG=1 cargo test -p http-api -- --nocapture`).
pub static LOGS: LazyLock<Logs> = LazyLock::new(|| {
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt as _};

    let buffer = Arc::new(Mutex::new(Vec::new()));
    let capture = {
        let buffer = Arc::clone(&buffer);
        move || Capture(Arc::clone(&buffer))
    };
    let sink = if std::env::var_os("TEST_LOG").is_some() {
        BoxMakeWriter::new(capture.and(io::stdout))
    } else {
        BoxMakeWriter::new(capture)
    };
    let rust_log = std::env::var("RUST_LOG").ok();
    // The binaries' subscriber, plus the `TEST_LOG_FILE` capture of `cargo xtask ci`.
    let subscriber = app::telemetry::get_test_subscriber("test", "info", rust_log.as_deref(), LogFormat::Pretty, sink);
    app::telemetry::init_subscriber(subscriber).expect("the first subscriber of this test binary");
    Logs(buffer)
});

impl Logs {
    /// Every line that contains `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().filter(|line| line.contains(needle)).map(str::to_owned).collect()
    }
}

/// A writer appending to the shared buffer.
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn chart(url: &str) -> NewChart {
    NewChart { url: url.to_owned(), filename: None, content_type: None, kind: ChartKind::Link }
}

/// An attached image, as the bot stores it (Discord's signed CDN link).
pub fn attachment(url: &str) -> NewChart {
    let filename = url.split('?').next().and_then(|u| u.rsplit('/').next()).map(str::to_owned);
    NewChart { url: url.to_owned(), filename, content_type: Some("image/png".into()), kind: ChartKind::Attachment }
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
            charts: service::EditCharts::Keep,
            expected_version: None,
        };
        self.service.edit(actor, request).await.unwrap();
    }
}

/// A connection to the app written to byte by byte, for requests an HTTP client library would not send as such.
pub struct RawConnection {
    pub host: String,
    stream: BufReader<TcpStream>,
}

/// A response read from a [`RawConnection`].
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

impl RawConnection {
    pub async fn connect(app: &TestApp) -> Self {
        let host = app.address.trim_start_matches("http://").to_owned();
        let stream = TcpStream::connect(&host).await.unwrap();
        Self { host, stream: BufReader::new(stream) }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).await.unwrap();
    }

    /// Reads one response with a `Content-Length` body.
    pub async fn read_response(&mut self) -> RawResponse {
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).await.unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "a status line: {status_line:?}");
        let status = status_line[9..12].parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let mut response = RawResponse { status, headers, body: Vec::new() };
        let length: usize = response.header("content-length").expect("a sized body").parse().unwrap();
        response.body = vec![0; length];
        self.stream.read_exact(&mut response.body).await.unwrap();
        response
    }
}
