//! The import of the predecessor's database, from a fixture built with its exact schema.

use std::path::Path;

use core_model::contract::at;
use core_model::{Author, ChartKind, HistoryAction, HistoryQuery, PlanRepository, StoreStats};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use storage::legacy::{IMPORT_ACTOR_NAME, ImportError, import_legacy};

use crate::helpers::{TestDir, author, coach, count, date, new_plan, open, raw};

/// The predecessor's schema, as DESIGN.md describes it.
const LEGACY_SCHEMA: &str = "
CREATE TABLE coach_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    coach_name TEXT NOT NULL,
    date TEXT NOT NULL,
    plan TEXT NOT NULL,
    author TEXT NOT NULL,
    channel TEXT,
    created_at TEXT NOT NULL,
    edited_at TEXT,
    is_deleted INTEGER DEFAULT 0,
    UNIQUE(coach_name, date)
);
CREATE TABLE plan_charts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id INTEGER NOT NULL,
    chart_url TEXT NOT NULL,
    filename TEXT,
    added_at TEXT NOT NULL,
    FOREIGN KEY (plan_id) REFERENCES coach_plans (id)
);
CREATE TABLE plan_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id INTEGER NOT NULL,
    plan_text TEXT NOT NULL,
    edited_by TEXT NOT NULL,
    edited_at TEXT NOT NULL,
    FOREIGN KEY (plan_id) REFERENCES coach_plans (id)
);
CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
);
INSERT INTO schema_version (version, applied_at) VALUES (1, '2025-01-02T03:04:05.000006');
";

/// Rows covering every case the import handles.
const LEGACY_ROWS: &str = "
-- 1: active, two charts, two edits (stored out of time order on purpose).
INSERT INTO coach_plans VALUES (1, 'coach_d', '2025-11-09', 'D v3 final', 'alice', 'daily-plans',
    '2025-11-09T08:30:00.123456', '2025-11-09T10:15:00.5', 0);
-- 2: soft-deleted; timestamps with a space instead of T and without microseconds.
INSERT INTO coach_plans VALUES (2, 'coach_i', '2025-11-09', 'I plan', 'carol', 'intraday',
    '2025-11-09 07:00:00', '2025-11-09 12:00:00', 1);
-- 3: microsecond-free timestamp, no channel, never edited.
INSERT INTO coach_plans VALUES (3, 'coach_s', '2025-11-10', 'S plan', 'dave', NULL, '2025-11-10T06:45:00', NULL, 0);
-- 4: bad date.
INSERT INTO coach_plans VALUES (4, 'coach_n', '2025-13-45', 'N plan', 'erin', 'news', '2025-11-09T06:00:00', NULL, 0);
-- 5: empty coach name.
INSERT INTO coach_plans VALUES (5, '', '2025-11-09', 'nobody', 'erin', 'news', '2025-11-09T06:00:00', NULL, 0);
-- 6: a bare coach id, a summer date (EDT), a retired coach would import the same way.
INSERT INTO coach_plans VALUES (6, 'd', '2025-07-01', 'summer d', 'alice', 'daily-plans', '2025-07-01 09:30:00', NULL, 0);

INSERT INTO plan_charts VALUES (1, 3, 'https://cdn.discordapp.com/attachments/1/2/swing.png', 'swing.png', '2025-11-10T06:45:00');
INSERT INTO plan_charts VALUES (2, 1, 'https://cdn.discordapp.com/attachments/1/3/spy.png', 'spy.png', '2025-11-09T08:30:00.123456');
INSERT INTO plan_charts VALUES (3, 1, 'https://www.tradingview.com/x/AbC123/', NULL, '2025-11-09T08:31:00');
INSERT INTO plan_charts VALUES (4, 99, 'https://i.test/orphan.png', NULL, '2025-11-09T08:31:00');

INSERT INTO plan_history VALUES (10, 1, 'D v2', 'bob_admin', '2025-11-09T10:15:00.5');
INSERT INTO plan_history VALUES (11, 1, 'D v1', 'alice', '2025-11-09T09:00:00');
";

fn build_legacy(path: &Path, rows: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    // Python's sqlite3, which the predecessor used, does not enforce foreign keys; the fixture has an orphan chart.
    conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
    conn.execute_batch(LEGACY_SCHEMA).unwrap();
    conn.execute_batch(rows).unwrap();
}

fn new_york() -> TimeZone {
    TimeZone::get("America/New_York").unwrap()
}

fn utc(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn by_name(name: &str) -> Author {
    Author { user_id: None, display_name: name.to_owned() }
}

#[test]
fn imports_every_field_and_a_second_import_adds_nothing() {
    let dir = TestDir::new();
    let legacy_path = dir.file("legacy.db");
    build_legacy(&legacy_path, LEGACY_ROWS);
    let store = open(&dir.db());

    let summary = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!(
        (summary.plans_imported, summary.plans_already_present, summary.charts_imported, summary.history_imported),
        (4, 0, 3, 7),
        "{summary}"
    );
    assert!(summary.conflicts.is_empty() && summary.outdated.is_empty(), "{summary}");
    let skipped: Vec<_> = summary.skipped.iter().map(|s| (s.table, s.legacy_id)).collect();
    assert_eq!(skipped, [("coach_plans", 4), ("coach_plans", 5), ("plan_charts", 4)]);
    assert!(summary.skipped[0].reason.contains("2025-13-45"), "{}", summary.skipped[0].reason);
    assert!(summary.skipped[1].reason.contains("empty"), "{}", summary.skipped[1].reason);
    assert!(summary.skipped[2].reason.contains("99"), "{}", summary.skipped[2].reason);
    let shown = summary.to_string();
    assert!(
        shown.starts_with("imported 4 plans with 3 charts and 7 history entries; 0 plans already present"),
        "{shown}"
    );
    assert!(shown.contains("skipped coach_plans row 4: `2025-13-45` is not a date"), "{shown}");

    // Plan 1: active, edited twice, two charts in legacy id order, times converted from New York (EST) to UTC.
    let d = store.find_active(&coach("d"), date("2025-11-09")).unwrap().unwrap();
    assert_eq!(d.text, "D v3 final");
    assert_eq!(d.author, by_name("alice"), "kept by name, without an id");
    assert_eq!(d.source.channel_name.as_deref(), Some("daily-plans"));
    assert_eq!((d.source.guild_id, d.source.channel_id, d.source.message_id), (None, None, None));
    assert_eq!(d.version, 3);
    assert_eq!(d.created_at, utc("2025-11-09T13:30:00.123456Z"));
    assert_eq!(d.updated_at, utc("2025-11-09T15:15:00.5Z"));
    assert_eq!(d.deleted_at, None);
    let charts: Vec<_> = d.charts.iter().map(|c| (c.position, c.url.as_str(), c.filename.as_deref(), c.kind)).collect();
    assert_eq!(
        charts,
        [
            (0, "https://cdn.discordapp.com/attachments/1/3/spy.png", Some("spy.png"), ChartKind::Attachment),
            (1, "https://www.tradingview.com/x/AbC123/", None, ChartKind::Link),
        ]
    );
    assert_eq!(d.charts[0].added_at, utc("2025-11-09T13:30:00.123456Z"));
    assert_eq!(d.charts[1].content_type, None);
    let history =
        store.history(&HistoryQuery { coach: coach("d"), date: Some(date("2025-11-09")), limit: 10 }).unwrap();
    let entries: Vec<_> = history
        .iter()
        .map(|e| (e.version, e.action, e.text_before.as_deref(), e.text_after.as_deref(), e.actor.clone(), e.at))
        .collect();
    assert_eq!(
        entries,
        [
            (
                3,
                HistoryAction::Edited,
                Some("D v2"),
                Some("D v3 final"),
                by_name("bob_admin"),
                utc("2025-11-09T15:15:00.5Z")
            ),
            (2, HistoryAction::Edited, Some("D v1"), Some("D v2"), by_name("alice"), utc("2025-11-09T14:00:00Z")),
            (1, HistoryAction::Created, None, Some("D v1"), by_name("alice"), utc("2025-11-09T13:30:00.123456Z")),
        ]
    );
    assert!(history.iter().all(|e| e.plan_id == d.id));

    // Plan 2: soft-deleted at its edited_at; a deletion entry by the import.
    assert_eq!(store.find_active(&coach("i"), date("2025-11-09")).unwrap(), None);
    let i = store.find_latest_deleted(&coach("i"), date("2025-11-09")).unwrap().unwrap();
    assert_eq!((i.text.as_str(), i.version), ("I plan", 2));
    assert_eq!(i.created_at, utc("2025-11-09T12:00:00Z"));
    assert_eq!(i.deleted_at, Some(utc("2025-11-09T17:00:00Z")));
    let history = store.history(&HistoryQuery { coach: coach("i"), date: None, limit: 10 }).unwrap();
    let entries: Vec<_> = history
        .iter()
        .map(|e| (e.version, e.action, e.text_before.as_deref(), e.text_after.as_deref(), e.actor.clone()))
        .collect();
    assert_eq!(
        entries,
        [
            (2, HistoryAction::Deleted, Some("I plan"), None, by_name(IMPORT_ACTOR_NAME)),
            (1, HistoryAction::Created, None, Some("I plan"), by_name("carol")),
        ]
    );

    // Plan 3: no channel, no edits, one chart.
    let s = store.find_active(&coach("s"), date("2025-11-10")).unwrap().unwrap();
    assert_eq!(s.source.channel_name, None);
    assert_eq!((s.version, s.created_at, s.updated_at), (1, utc("2025-11-10T11:45:00Z"), utc("2025-11-10T11:45:00Z")));
    assert_eq!(s.charts.len(), 1);
    assert_eq!(s.charts[0].filename.as_deref(), Some("swing.png"));

    // Plan 6: the bare coach id `d`, in summer time (EDT, UTC-4).
    let summer = store.find_active(&coach("d"), date("2025-07-01")).unwrap().unwrap();
    assert_eq!((summer.text.as_str(), summer.created_at), ("summer d", utc("2025-07-01T13:30:00Z")));

    // Importing again adds nothing.
    let conn = raw(&dir.db());
    let counts = |c: &rusqlite::Connection| (count(c, "plans"), count(c, "charts"), count(c, "plan_history"));
    let before = counts(&conn);
    let stats_before: StoreStats = store.stats().unwrap();
    let again = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!(
        (again.plans_imported, again.plans_already_present, again.charts_imported, again.history_imported),
        (0, 4, 0, 0),
        "{again}"
    );
    assert!(again.conflicts.is_empty() && again.outdated.is_empty(), "{again}");
    assert_eq!(again.skipped, summary.skipped, "the bad rows are reported again");
    assert!(
        again.to_string().starts_with("imported 0 plans with 0 charts and 0 history entries; 4 plans already present")
    );
    assert_eq!(counts(&conn), before);
    assert_eq!(store.stats().unwrap(), stats_before);
}

#[test]
fn an_active_legacy_plan_whose_slot_is_taken_is_imported_as_deleted_and_reported() {
    let dir = TestDir::new();
    let legacy_path = dir.file("legacy.db");
    build_legacy(
        &legacy_path,
        "INSERT INTO coach_plans VALUES (7, 'coach_d', '2025-11-09', 'legacy d', 'alice', 'daily-plans', '2025-11-09T08:00:00', NULL, 0);
         INSERT INTO plan_history VALUES (1, 7, 'legacy d draft', 'alice', '2025-11-09T08:05:00');",
    );
    let store = open(&dir.db());
    let ours = store.insert(new_plan("d", "2025-11-09", "posted here", author(1, "Ann")), at(0)).unwrap();

    let summary = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!(summary.plans_imported, 1);
    assert_eq!(summary.conflicts.len(), 1, "{summary}");
    let conflict = &summary.conflicts[0];
    assert_eq!((conflict.legacy_id, conflict.active), (7, ours.id));
    assert_eq!((conflict.coach.as_str(), conflict.date), ("d", date("2025-11-09")));
    assert!(summary.to_string().contains(&format!(
        "conflict: legacy plan 7 (coach d, 2025-11-09) was imported as deleted plan {}",
        conflict.imported_as
    )));

    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap().unwrap().id, ours.id, "ours stays active");
    let imported = store.get(conflict.imported_as).unwrap().unwrap();
    assert_eq!(imported.text, "legacy d");
    assert_eq!(imported.version, 3);
    assert_eq!(imported.deleted_at, Some(utc("2025-11-09T13:05:00Z")), "deleted at its last legacy change");
    let history = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 10 }).unwrap();
    let of_imported: Vec<_> =
        history.iter().filter(|e| e.plan_id == imported.id).map(|e| (e.version, e.action)).collect();
    assert_eq!(of_imported, [(3, HistoryAction::Deleted), (2, HistoryAction::Edited), (1, HistoryAction::Created)]);

    let again = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!((again.plans_imported, again.plans_already_present), (0, 1));
    assert!(again.conflicts.is_empty() && again.outdated.is_empty(), "{again}");
}

#[test]
fn a_legacy_plan_changed_after_its_import_is_reported_not_updated() {
    let dir = TestDir::new();
    let legacy_path = dir.file("legacy.db");
    build_legacy(
        &legacy_path,
        "INSERT INTO coach_plans VALUES (1, 'coach_d', '2025-11-09', 'first', 'alice', NULL, '2025-11-09T08:00:00', NULL, 0);",
    );
    let store = open(&dir.db());
    import_legacy(&store, &legacy_path, &new_york()).unwrap();
    raw(&legacy_path).execute_batch("UPDATE coach_plans SET plan = 'changed later' WHERE id = 1").unwrap();
    let again = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!(again.outdated.len(), 1, "{again}");
    assert_eq!(again.outdated[0].legacy_id, 1);
    assert!(again.to_string().contains("outdated: legacy plan 1"), "{again}");
    assert_eq!(store.get(again.outdated[0].plan_id).unwrap().unwrap().text, "first");
}

#[test]
fn a_failed_import_imports_nothing() {
    let dir = TestDir::new();
    let legacy_path = dir.file("legacy.db");
    build_legacy(&legacy_path, LEGACY_ROWS);
    let store = open(&dir.db());
    let conn = raw(&dir.db());
    // Plan 3's chart is the first chart written; plan 1 (written before it) must not stay either.
    conn.execute_batch(
        "CREATE TRIGGER refuse_swing BEFORE INSERT ON charts WHEN NEW.url LIKE '%swing.png'
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
    )
    .unwrap();
    let err = import_legacy(&store, &legacy_path, &new_york()).unwrap_err();
    assert!(matches!(err, ImportError::Write(_)), "{err:?}");
    assert_eq!((count(&conn, "plans"), count(&conn, "charts"), count(&conn, "plan_history")), (0, 0, 0));
}

#[test]
fn files_that_are_not_a_legacy_database_are_clear_errors() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    let zone = new_york();

    let missing = dir.file("nowhere.db");
    let err = import_legacy(&store, &missing, &zone).unwrap_err();
    assert!(matches!(err, ImportError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");

    let text = dir.file("notes.txt");
    std::fs::write(&text, "not a database at all, but long enough to be read as one by sqlite's header check").unwrap();
    let err = import_legacy(&store, &text, &zone).unwrap_err();
    assert!(matches!(err, ImportError::NotSqlite { .. }), "{err:?}");
    assert!(err.to_string().ends_with("is not a SQLite database"), "{err}");

    let partial = dir.file("partial.db");
    rusqlite::Connection::open(&partial)
        .unwrap()
        .execute_batch(
            "CREATE TABLE coach_plans (id INTEGER PRIMARY KEY); CREATE TABLE plan_history (id INTEGER PRIMARY KEY);",
        )
        .unwrap();
    let err = import_legacy(&store, &partial, &zone).unwrap_err();
    assert!(
        matches!(&err, ImportError::MissingTables { tables, .. } if tables == &["plan_charts", "schema_version"]),
        "{err:?}"
    );
    assert!(err.to_string().ends_with("lacks the tables plan_charts, schema_version"), "{err}");

    let newer = dir.file("newer.db");
    build_legacy(&newer, "INSERT INTO schema_version VALUES (2, '2026-01-01T00:00:00');");
    let err = import_legacy(&store, &newer, &zone).unwrap_err();
    assert!(matches!(err, ImportError::NewerSchema { found: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("schema version 2, newer than version 1"), "{err}");

    assert_eq!(store.stats().unwrap(), StoreStats::default(), "nothing was written");
    // The legacy file was opened read-only: nothing was added to it.
    assert_eq!(count(&raw(&newer), "coach_plans"), 0);
}
