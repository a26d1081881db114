//! `copy-db` on the command line: the predecessor's database imported into SQLite, copied to PostgreSQL, serves the
//! same answers on the predecessor's routes and the v1 routes, and copied back holds the same content; a target that
//! holds records is refused without --force, and one database named two ways is refused even with it. Without the test run's PostgreSQL server the PostgreSQL parts check
//! nothing and say so.

use std::path::Path;

use app::store::{Location, Store};
use core_model::jiff::Timestamp;
use core_model::{ChartImage, ChartImageStore as _, StatusStore as _, TokenStore as _, WebhookStore as _};

use crate::operator::LEGACY_SCHEMA;
use crate::support::{plan_server, run};

/// The API token `imported_sqlite` stores.
fn token() -> core_model::ApiToken {
    core_model::ApiToken::from_random([5; 32])
}

/// The predecessor's database imported into `plans.db` in `dir`, with an archived chart image, a status value, an
/// API token and a webhook subscription with a delivery attempted once.
fn imported_sqlite(dir: &Path) -> std::path::PathBuf {
    let legacy = dir.join("coach_plans.db");
    rusqlite::Connection::open(&legacy).unwrap().execute_batch(LEGACY_SCHEMA).unwrap();
    let (status, _, stderr) = run(plan_server(dir).args(["import-legacy", "coach_plans.db", "--database", "plans.db"]));
    assert_eq!(status.code(), Some(0), "{stderr}");
    let db = dir.join("plans.db");
    let store = storage::SqliteStore::open(&db, storage::StoreOptions::default()).unwrap();
    let png = ChartImage::new("image/png", include_bytes!("../../assets/demo-chart.png").to_vec());
    store.put_chart_image("https://cdn.discordapp.com/attachments/1/2/spy.png", &png, Timestamp::UNIX_EPOCH).unwrap();
    store.put_status("bot.connection", "connected", Timestamp::UNIX_EPOCH).unwrap();
    let token = core_model::NewToken {
        name: core_model::TokenName::parse("agent").unwrap(),
        scope: core_model::Scope::Read,
        hash: token().hash(),
        created_at: Timestamp::UNIX_EPOCH,
        expires_at: None,
    };
    assert!(store.create_token(&token).unwrap());
    let subscription = store
        .add_subscription(&core_model::NewSubscription {
            url: "https://hooks.example.com/plans".into(),
            events: core_model::EventSet::all(),
            secret: core_model::WebhookSecret::from_random([6; 32]),
            created_at: Timestamp::UNIX_EPOCH,
        })
        .unwrap();
    let delivery = store.enqueue_test(subscription.id, Timestamp::UNIX_EPOCH).unwrap().unwrap();
    let outcome = core_model::AttemptOutcome::Delivered { status: 204 };
    store.record_attempt(delivery.id, &outcome, Timestamp::UNIX_EPOCH).unwrap();
    db
}

/// The bodies and ETags of `paths` as an API over `store` answers them.
async fn answers(store: Store, paths: &[&str]) -> Vec<(u16, Option<String>, String)> {
    let service = app::startup::build_service(&app::Settings::default(), &store);
    let config = http_api::ApiConfig {
        port: 0,
        workers: Some(1),
        public_url: Some("https://plans.example.com".into()),
        ..http_api::ApiConfig::default()
    };
    let application = http_api::Application::build(config, service).unwrap();
    let base = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    tokio::spawn(application.run_until(std::future::pending()));
    let mut out = Vec::new();
    for path in paths {
        let response = reqwest::get(format!("{base}{path}")).await.unwrap();
        let etag = response.headers().get("etag").map(|e| e.to_str().unwrap().to_owned());
        out.push((response.status().as_u16(), etag, response.text().await.unwrap()));
    }
    handle.stop(true).await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_predecessors_plans_copied_to_postgres_answer_the_same_and_copy_back_unchanged() {
    let Some(pg) = test_support::postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = imported_sqlite(dir.path());
    let copy = |args: &[&str]| {
        let mut command = plan_server(dir.path());
        command.arg("copy-db").args(args).env("DATABASE_URL", pg.url());
        tokio::task::block_in_place(|| run(&mut command))
    };

    let (status, stdout, stderr) = copy(&["--from", "plans.db", "--to", "configured"]);
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "copied 2 plans, 2 charts, 4 history entries, 1 chart images (1 links), 1 status values, 1 API tokens, 1 \
             webhook subscriptions, 1 webhook deliveries"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("the copy matches its source"), "{stdout}");
    assert!(!stdout.contains("pg-7Rt2") && !stderr.contains("pg-7Rt2"), "no password shown");
    // The same database under another URL: refused even with --force, and nothing removed.
    let same = pg.url().replacen("@127.0.0.1:", "@localhost:", 1);
    assert_ne!(same, pg.url());
    let (status, stdout, stderr) = copy(&["--from", "configured", "--to", &same, "--force"]);
    assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("the source and the target are the same database"), "{stderr}");
    assert!(!stdout.contains("removed"), "{stdout}");

    let paths = [
        "/api/coach-plans/?coach=d&date=2025-11-09",
        "/api/coach-plans/?coach=s&date=2025-11-09",
        "/api/coach-plans/all?date=2025-11-09",
        "/api/coach-plans/history?coach=d&date=2025-11-09",
        "/api/v1/plans/d/2025-11-09",
        "/api/v1/plans/d/2025-11-09/history",
        "/api/v1/plans?ticker=SPY&from=2025-11-01&to=2025-11-30",
        "/api/v1/stats",
    ];
    let settings = app::Settings::default();
    let from_sqlite = answers(Store::open(&Location::Sqlite(sqlite.clone()), &settings).unwrap(), &paths).await;
    let postgres = Store::open(&Location::parse(pg.url()).unwrap(), &settings).unwrap();
    let (tokens, webhooks) = (postgres.tokens(), postgres.webhooks());
    let copied = tokio::task::block_in_place(|| tokens.token_by_hash(&token().hash())).unwrap();
    assert_eq!(copied.map(|t| t.name.to_string()).as_deref(), Some("agent"), "the agents' token works there too");
    let copied = tokio::task::block_in_place(|| webhooks.deliveries(None, 10)).unwrap();
    assert_eq!(copied.len(), 1);
    assert_eq!((copied[0].attempts, copied[0].last_status), (1, Some(204)), "{copied:?}");
    let from_postgres = answers(postgres, &paths).await;
    for ((path, sqlite_answer), postgres_answer) in paths.iter().zip(&from_sqlite).zip(&from_postgres) {
        assert_eq!(sqlite_answer, postgres_answer, "{path}");
    }
    assert!(from_sqlite[0].2.contains("\"plan\":\"Long SPY above 600\""), "{}", from_sqlite[0].2);
    assert!(from_sqlite[4].2.contains("https://plans.example.com/api/v1/charts/"), "the archived copy is linked");

    // Back to SQLite: the same content, record for record.
    let (status, stdout, stderr) = copy(&["--from", "configured", "--to", "back.db"]);
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    let digest = |path: &Path| {
        let store = Store::open(&Location::Sqlite(path.to_owned()), &app::Settings::default()).unwrap();
        app::copy::content(store.transfer().as_ref()).unwrap()
    };
    assert_eq!(digest(&sqlite), digest(&dir.path().join("back.db")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_holds_records_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    imported_sqlite(dir.path());
    let copy = |args: &[&str]| {
        let mut command = plan_server(dir.path());
        command.arg("copy-db").args(args);
        tokio::task::block_in_place(|| run(&mut command))
    };
    let (status, _, stderr) = copy(&["--from", "plans.db", "--to", "copy.db"]);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let (status, _, stderr) = copy(&["--from", "plans.db", "--to", "copy.db"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("copy.db is not empty (2 plans, 2 charts"), "{stderr}");
    assert!(stderr.contains("give --force to replace everything it holds"), "{stderr}");
    let (status, stdout, stderr) = copy(&["--from", "plans.db", "--to", "copy.db", "--force"]);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("removed what copy.db held"), "{stdout}");
    let (status, _, stderr) = copy(&["--from", "plans.db", "--to", "plans.db"]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("the source and the target are the same database"), "{stderr}");
    // The same file named another way, even with --force: refused, and nothing removed.
    std::os::unix::fs::symlink(dir.path().join("plans.db"), dir.path().join("link.db")).unwrap();
    for other_name in ["./plans.db", "link.db"] {
        let (status, stdout, stderr) = copy(&["--from", "plans.db", "--to", other_name, "--force"]);
        assert_eq!(status.code(), Some(1), "{stdout}{stderr}");
        assert!(stderr.contains(&format!("same database (plans.db is {other_name})")), "{stderr}");
        assert!(!stdout.contains("removed"), "{stdout}");
    }
    let kept = Store::open(&Location::Sqlite(dir.path().join("plans.db")), &app::Settings::default()).unwrap();
    assert_eq!(kept.transfer().transfer_counts().unwrap().plans, 2, "the source keeps its plans");
    let (status, _, stderr) = copy(&["--from", "nowhere.db", "--to", "copy.db"]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("there is no database at nowhere.db"), "{stderr}");
    assert!(!dir.path().join("nowhere.db").exists());
    let (status, _, stderr) = copy(&["--from", "plans.db", "--to", "postgres://u:hunter2@127.0.0.1:1/x?sslmode=no"]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("sslmode `no` is not one of"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
