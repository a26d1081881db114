//! `migrate` and `import-legacy` on the command line.

use crate::support::{plan_server, run};

pub(crate) const LEGACY_SCHEMA: &str = "
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
    assert!(!stdout.contains("not in the roster"), "every coach is in the roster: {stdout}");
    let (status, stdout, _) = import();
    assert_eq!(status.code(), Some(0));
    assert!(stdout.contains("imported 0 plans, updated 0 plans, added 0 charts"), "{stdout}");
    assert!(stdout.contains("2 plans already present"), "{stdout}");

    use core_model::PlanRepository as _;
    let store = storage::SqliteStore::open(dir.path().join("new.db"), storage::StoreOptions::default()).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!((stats.active_plans, stats.deleted_plans, stats.charts), (1, 1, 2), "{stats:?}");
}

/// A plan of a coach the roster does not have is imported, and the operator is told how to make it readable.
#[test]
fn import_legacy_names_the_coaches_the_roster_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = dir.path().join("coach_plans.db");
    let connection = rusqlite::Connection::open(&legacy).unwrap();
    connection.execute_batch(LEGACY_SCHEMA).unwrap();
    connection
        .execute_batch(
            "INSERT INTO coach_plans VALUES (3, 'coach_x', '2025-11-10', 'Crypto plan', 'carol', NULL, \
             '2025-11-10T08:00:00', NULL, 0);",
        )
        .unwrap();
    let (status, stdout, stderr) =
        run(plan_server(dir.path()).args(["import-legacy", "coach_plans.db", "--database", "new.db"]));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("imported 3 plans"), "{stdout}");
    assert!(
        stdout.contains("note: active plans of coaches not in the roster: x (1); add them to plans.coaches"),
        "{stdout}"
    );
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

/// A plan of coach `d` for the `n`th day after 2025-01-01, with a text that names `n`.
fn numbered_plan(n: u32) -> core_model::NewPlan {
    use core_model::{Author, CoachId, NewPlan, PlanSource, PlanText, TradingDate, UserId};
    let start = TradingDate::parse("2025-01-01").unwrap().date();
    let date = TradingDate::from_date(start.checked_add(core_model::jiff::Span::new().days(n)).unwrap());
    NewPlan {
        coach: CoachId::new("d").unwrap(),
        date,
        text: PlanText::new(&format!("plan number {n}: long SPY above {n}")).unwrap(),
        author: Author { user_id: Some(UserId(7)), display_name: "Ann".into() },
        source: PlanSource::default(),
        charts: Vec::new(),
    }
}

#[test]
fn backup_copies_a_database_being_written_and_the_copy_is_whole() {
    use core_model::PlanRepository as _;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("plans.db");
    let store = storage::SqliteStore::open(&database, storage::StoreOptions::default()).unwrap();
    for n in 0..20 {
        store.insert(numbered_plan(n), core_model::jiff::Timestamp::now()).unwrap();
    }
    // A writer that keeps adding plans, one transaction each, for as long as the backups run.
    let written = Arc::new(AtomicU32::new(20));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, written, stop) = (store.clone(), Arc::clone(&written), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let n = written.load(Ordering::SeqCst);
                store.insert(numbered_plan(n), core_model::jiff::Timestamp::now()).unwrap();
                written.store(n + 1, Ordering::SeqCst);
            }
        })
    };
    let backup = |file: &str, force: bool| {
        let mut command = plan_server(dir.path());
        command.args(["backup", file, "--database", "plans.db"]);
        if force {
            command.arg("--force");
        }
        run(&mut command)
    };

    let mut copies = Vec::new();
    for i in 0..3 {
        let before = written.load(Ordering::SeqCst);
        let file = format!("backups/copy-{i}.db");
        let (status, stdout, stderr) = backup(&file, false);
        let after = written.load(Ordering::SeqCst);
        assert_eq!(status.code(), Some(0), "{stderr}");
        let line = format!("backed up plans.db to {file}: ");
        assert!(stdout.lines().any(|l| l.starts_with(&line)), "{stdout}");
        copies.push((dir.path().join(&file), before, after, stdout));
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(written.load(Ordering::SeqCst) > 20, "the writer wrote while the backups ran");

    for (path, before, after, stdout) in copies {
        let copy = storage::SqliteStore::open(&path, storage::StoreOptions::default()).unwrap();
        let stats = copy.stats().unwrap();
        let plans = u32::try_from(stats.active_plans).unwrap();
        // Every plan committed before the backup started, none that was not committed when it ended.
        assert!(before <= plans && plans <= after + 1, "{before} <= {plans} <= {after} + 1");
        assert!(stdout.contains(&format!(": {plans} plans, ")), "{stdout}");
        // One consistent state: plans 0..plans, each whole with its history entry, and no plan after them.
        assert_eq!(stats.history_entries, stats.active_plans, "{stats:?}");
        for n in [0, plans / 2, plans - 1] {
            let expected = numbered_plan(n);
            let plan = copy.find_active(&expected.coach, expected.date).unwrap().expect("the plan is in the copy");
            assert_eq!(plan.text, expected.text.as_str());
        }
        let next = numbered_plan(plans);
        assert_eq!(copy.find_active(&next.coach, next.date).unwrap(), None);
    }

    // An existing file is kept unless --force is given.
    let (status, _, stderr) = backup("backups/copy-0.db", false);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("already exists; choose another file or pass --force to replace it"), "{stderr}");
    let (status, _, stderr) = backup("backups/copy-0.db", true);
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn backup_of_a_missing_database_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _, stderr) = run(plan_server(dir.path()).args(["backup", "copy.db", "--database", "none.db"]));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot back up none.db to copy.db"), "{stderr}");
    assert!(stderr.contains("the database none.db does not exist"), "{stderr}");
    assert!(!dir.path().join("none.db").exists() && !dir.path().join("copy.db").exists());
}
