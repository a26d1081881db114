//! `migrate` and `import-legacy` on the command line.

use crate::support::{plan_server, run};

const LEGACY_SCHEMA: &str = "
CREATE TABLE coach_plans (id INTEGER PRIMARY KEY AUTOINCREMENT, coach_name TEXT NOT NULL, date TEXT NOT NULL,
    plan TEXT NOT NULL, author TEXT NOT NULL, channel TEXT, created_at TEXT NOT NULL, edited_at TEXT,
    is_deleted INTEGER DEFAULT 0, UNIQUE(coach_name, date));
CREATE TABLE plan_charts (id INTEGER PRIMARY KEY AUTOINCREMENT, plan_id INTEGER NOT NULL, chart_url TEXT NOT NULL,
    filename TEXT, added_at TEXT NOT NULL, FOREIGN KEY (plan_id) REFERENCES coach_plans (id));
CREATE TABLE plan_history (id INTEGER PRIMARY KEY AUTOINCREMENT, plan_id INTEGER NOT NULL, plan_text TEXT NOT NULL,
    edited_by TEXT NOT NULL, edited_at TEXT NOT NULL, FOREIGN KEY (plan_id) REFERENCES coach_plans (id));
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
INSERT INTO schema_version VALUES (1, '2025-01-02T03:04:05.000006');
INSERT INTO coach_plans VALUES (1, 'coach_d', '2025-11-09', 'Long SPY above 600', 'alice', 'daily-plans',
    '2025-11-09T08:30:00.123456', '2025-11-09T09:00:00', 0);
INSERT INTO coach_plans VALUES (2, 'coach_s', '2025-11-09', 'old swing idea', 'bob', NULL,
    '2025-11-09T07:00:00', NULL, 1);
INSERT INTO plan_charts VALUES (1, 1, 'https://cdn.discordapp.com/attachments/1/2/spy.png', 'spy.png', '2025-11-09T08:30:00.123456');
INSERT INTO plan_charts VALUES (2, 1, 'https://www.tradingview.com/x/abc123/', NULL, '2025-11-09T08:30:00.123456');
INSERT INTO plan_history VALUES (1, 1, 'Long SPY above 599', 'alice', '2025-11-09T09:00:00');
";

#[test]
fn import_legacy_reports_what_it_imported_and_adds_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = dir.path().join("coach_plans.db");
    rusqlite::Connection::open(&legacy).unwrap().execute_batch(LEGACY_SCHEMA).unwrap();
    let import = || run(plan_server(dir.path()).args(["import-legacy", "coach_plans.db", "--database", "new.db"]));

    let (status, stdout, stderr) = import();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("imported 2 plans, updated 0 plans, added 2 charts"), "{stdout}");
    assert!(stdout.contains("0 plans already present"), "{stdout}");
    let (status, stdout, _) = import();
    assert_eq!(status.code(), Some(0));
    assert!(stdout.contains("imported 0 plans, updated 0 plans, added 0 charts"), "{stdout}");
    assert!(stdout.contains("2 plans already present"), "{stdout}");

    use core_model::PlanRepository as _;
    let store = storage::SqliteStore::open(dir.path().join("new.db"), storage::StoreOptions::default()).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!((stats.active_plans, stats.deleted_plans, stats.charts), (1, 1, 2), "{stats:?}");
}

#[test]
fn import_legacy_of_a_missing_file_fails_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _, stderr) =
        run(plan_server(dir.path()).args(["import-legacy", "nowhere.db", "--database", "new.db"]));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot import nowhere.db"), "{stderr}");
}

#[test]
fn migrate_creates_the_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = run(plan_server(dir.path()).args(["migrate", "--database", "data/plans.db"]));
    assert_eq!(status.code(), Some(0), "{stderr}");
    let latest = storage::migrations::latest_version();
    assert!(stdout.contains(&format!("schema version is now {latest}")), "{stdout}");
    let (_, stdout, _) = run(plan_server(dir.path()).args(["migrate", "--database", "data/plans.db"]));
    assert!(stdout.contains("is up to date"), "{stdout}");
}
