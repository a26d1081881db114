//! The import of the predecessor's database, from a fixture built with its exact schema.

use std::path::Path;

use core_model::contract::at;
use core_model::{Author, ChartKind, HistoryAction, HistoryQuery, PlanRepository, StoreStats};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use storage::legacy::{IMPORT_ACTOR_NAME, ImportError, UNRECORDED_EDITOR_NAME, import_legacy};

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
        (4, 0, 3, 8),
        "{summary}"
    );
    assert!(summary.conflicts.is_empty() && summary.outdated.is_empty() && summary.updated.is_empty(), "{summary}");
    assert!(summary.warnings.is_empty(), "{summary}");
    let skipped: Vec<_> = summary.skipped.iter().map(|s| (s.table, s.legacy_id)).collect();
    assert_eq!(skipped, [("coach_plans", 4), ("coach_plans", 5), ("plan_charts", 4)]);
    assert!(summary.skipped[0].reason.contains("2025-13-45"), "{}", summary.skipped[0].reason);
    assert!(summary.skipped[1].reason.contains("empty"), "{}", summary.skipped[1].reason);
    assert!(summary.skipped[2].reason.contains("99"), "{}", summary.skipped[2].reason);
    let shown = summary.to_string();
    assert!(
        shown.starts_with(
            "imported 4 plans, updated 0 plans, added 3 charts and 8 history entries; 0 plans already present"
        ),
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

    // Plan 2: edited (edited_at) without a history row, then soft-deleted at its edited_at: the edit is recorded
    // with what is known (when, the text after), the deletion by the import.
    assert_eq!(store.find_active(&coach("i"), date("2025-11-09")).unwrap(), None);
    let i = store.find_latest_deleted(&coach("i"), date("2025-11-09")).unwrap().unwrap();
    assert_eq!((i.text.as_str(), i.version), ("I plan", 3));
    assert_eq!(i.created_at, utc("2025-11-09T12:00:00Z"));
    assert_eq!(i.deleted_at, Some(utc("2025-11-09T17:00:00Z")));
    let history = store.history(&HistoryQuery { coach: coach("i"), date: None, limit: 10 }).unwrap();
    let entries: Vec<_> = history
        .iter()
        .map(|e| (e.version, e.action, e.text_before.as_deref(), e.text_after.as_deref(), e.actor.clone(), e.at))
        .collect();
    assert_eq!(
        entries,
        [
            (3, HistoryAction::Deleted, Some("I plan"), None, by_name(IMPORT_ACTOR_NAME), utc("2025-11-09T17:00:00Z")),
            (
                2,
                HistoryAction::Edited,
                None,
                Some("I plan"),
                by_name(UNRECORDED_EDITOR_NAME),
                utc("2025-11-09T17:00:00Z")
            ),
            (1, HistoryAction::Created, None, None, by_name("carol"), utc("2025-11-09T12:00:00Z")),
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
    assert!(again.conflicts.is_empty() && again.outdated.is_empty() && again.updated.is_empty(), "{again}");
    assert_eq!(again.skipped, summary.skipped, "the bad rows are reported again");
    assert!(again.to_string().starts_with(
        "imported 0 plans, updated 0 plans, added 0 charts and 0 history entries; 4 plans already present"
    ));
    assert_eq!(counts(&conn), before);
    assert_eq!(store.stats().unwrap(), stats_before);
}

#[test]
fn imported_plans_are_found_by_ticker_and_by_words() {
    let dir = TestDir::new();
    let legacy_path = dir.file("legacy.db");
    build_legacy(
        &legacy_path,
        "INSERT INTO coach_plans VALUES (1, 'coach_d', '2025-11-09', 'Long $nvda over 950, SPY weak', 'alice', NULL,
             '2025-11-09T08:30:00', NULL, 0);
         INSERT INTO coach_plans VALUES (2, 'coach_s', '2025-11-09', 'NVDA swing, deleted', 'bob', NULL,
             '2025-11-09T08:30:00', NULL, 1);",
    );
    let store = open(&dir.db());
    import_legacy(&store, &legacy_path, &new_york()).unwrap();
    let query = |tickers: &[&str], words: Option<&str>| -> Vec<String> {
        let query = core_model::SearchQuery {
            tickers: tickers.iter().map(|t| core_model::Ticker::parse(t).unwrap()).collect(),
            coaches: Vec::new(),
            author: None,
            from: date("2025-11-01"),
            to: date("2025-11-30"),
            words: words.map(core_model::TextQuery::parse),
            limit: 10,
            after: None,
            coach_order: Vec::new(),
        };
        core_model::PlanSearch::search(&store, &query).unwrap().plans.into_iter().map(|p| p.text).collect()
    };
    assert_eq!(query(&["NVDA"], None), ["Long $nvda over 950, SPY weak"], "the deleted one is not found");
    assert_eq!(query(&["SPY"], None), ["Long $nvda over 950, SPY weak"]);
    assert_eq!(query(&[], Some("weak")), ["Long $nvda over 950, SPY weak"]);
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
    assert!(again.conflicts.is_empty() && again.outdated.is_empty() && again.updated.is_empty(), "{again}");

    // The slot freed later: importing again does not bring the legacy plan back (a restore is for people).
    store.change(ours.id, core_model::PlanChange::Delete, &author(1, "Ann"), at(1), None).unwrap();
    let third = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!((third.plans_already_present, third.updated.len()), (1, 0), "{third}");
    assert_eq!(store.get(imported.id).unwrap().unwrap(), imported);
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap(), None);
}

/// Child rows with timestamps that cannot be read, and plans edited without a history row.
const ODD_ROWS: &str = "
INSERT INTO coach_plans VALUES (20, 'coach_d', '2025-11-09', 'final', 'alice', 'daily-plans',
    '2025-11-09T08:00:00', '2025-11-09T09:30:00', 0);
INSERT INTO plan_charts VALUES (40, 20, 'https://cdn.discordapp.com/attachments/1/2/a.png', 'a.png', '2025-11-09T08:00:00');
INSERT INTO plan_charts VALUES (41, 20, 'https://i.test/b.png', NULL, 'soon');
INSERT INTO plan_history VALUES (30, 20, 'draft', 'alice', 'not a time');
INSERT INTO plan_history VALUES (31, 20, 'second', 'bob_admin', '2025-11-09T09:30:00');
-- Edited in the predecessor, but no history row says how.
INSERT INTO coach_plans VALUES (21, 'coach_s', '2025-11-09', 'swing, edited', 'dave', NULL,
    '2025-11-09 07:00:00', '2025-11-09 11:00:00', 0);
-- Its edited_at cannot be read either.
INSERT INTO coach_plans VALUES (22, 'coach_n', '2025-11-09', 'news', 'erin', NULL, '2025-11-09 06:00:00', 'later', 0);
";

#[test]
fn a_bad_child_timestamp_takes_the_plans_created_at_with_a_warning() {
    let dir = TestDir::new();
    let legacy_path = dir.file("legacy.db");
    build_legacy(&legacy_path, ODD_ROWS);
    let store = open(&dir.db());
    let summary = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!(summary.plans_imported, 3, "no plan is lost to a bad child timestamp: {summary}");
    assert!(summary.skipped.is_empty(), "{summary}");
    let warnings: Vec<_> = summary.warnings.iter().map(|w| (w.table, w.legacy_id, w.plan_legacy_id)).collect();
    assert_eq!(warnings, [("plan_charts", 41, 20), ("plan_history", 30, 20), ("coach_plans", 22, 22)]);
    let shown = summary.to_string();
    assert!(
        shown.contains(
            "warning: plan_charts row 41 (legacy plan 20): added_at `soon` is not a timestamp; the plan's created_at was used instead"
        ),
        "{shown}"
    );
    assert!(shown.contains("warning: plan_history row 30 (legacy plan 20): edited_at `not a time`"), "{shown}");

    let created = utc("2025-11-09T13:00:00Z");
    let d = store.find_active(&coach("d"), date("2025-11-09")).unwrap().unwrap();
    let charts: Vec<_> = d.charts.iter().map(|c| (c.position, c.url.as_str(), c.added_at)).collect();
    assert_eq!(
        charts,
        [(0, "https://cdn.discordapp.com/attachments/1/2/a.png", created), (1, "https://i.test/b.png", created),],
        "both charts, the unreadable time replaced by the plan's created_at"
    );
    assert_eq!((d.version, d.updated_at), (3, utc("2025-11-09T14:30:00Z")));
    let history = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 10 }).unwrap();
    let entries: Vec<_> =
        history.iter().map(|e| (e.version, e.text_before.as_deref(), e.text_after.as_deref(), e.at)).collect();
    assert_eq!(
        entries,
        [
            (3, Some("second"), Some("final"), utc("2025-11-09T14:30:00Z")),
            (2, Some("draft"), Some("second"), created),
            (1, None, Some("draft"), created),
        ],
        "the row with the unreadable time sorts at the plan's creation"
    );

    // Edited without a history row: version 2, updated at edited_at, so it reads as edited, as it did before.
    let s = store.find_active(&coach("s"), date("2025-11-09")).unwrap().unwrap();
    assert_eq!((s.version, s.is_edited()), (2, true));
    assert_eq!((s.created_at, s.updated_at), (utc("2025-11-09T12:00:00Z"), utc("2025-11-09T16:00:00Z")));
    let history = store.history(&HistoryQuery { coach: coach("s"), date: None, limit: 10 }).unwrap();
    let entries: Vec<_> = history
        .iter()
        .map(|e| (e.version, e.action, e.text_before.as_deref(), e.text_after.as_deref(), e.actor.clone(), e.at))
        .collect();
    assert_eq!(
        entries,
        [
            (
                2,
                HistoryAction::Edited,
                None,
                Some("swing, edited"),
                by_name(UNRECORDED_EDITOR_NAME),
                utc("2025-11-09T16:00:00Z")
            ),
            (1, HistoryAction::Created, None, None, by_name("dave"), utc("2025-11-09T12:00:00Z")),
        ],
        "what the predecessor did not record is not made up"
    );
    // An unreadable edited_at: still edited, at the last change known (its creation).
    let n = store.find_active(&coach("n"), date("2025-11-09")).unwrap().unwrap();
    assert_eq!((n.version, n.updated_at), (2, n.created_at));

    let again = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!((again.plans_imported, again.plans_already_present, again.updated.len()), (0, 3, 0), "{again}");
    assert_eq!(again.warnings, summary.warnings, "the stand-ins are reported again, and change nothing");
}

fn table_counts(conn: &rusqlite::Connection) -> (i64, i64, i64) {
    (count(conn, "plans"), count(conn, "charts"), count(conn, "plan_history"))
}

#[test]
fn a_newer_snapshot_brings_imported_plans_up_to_date_once() {
    let dir = TestDir::new();
    let legacy_path = dir.file("legacy.db");
    build_legacy(
        &legacy_path,
        "INSERT INTO coach_plans VALUES (1, 'coach_d', '2025-11-09', 'v2', 'alice', 'daily-plans',
             '2025-11-09T08:00:00', '2025-11-09T09:00:00', 0);
         INSERT INTO plan_charts VALUES (1, 1, 'https://i.test/1.png', NULL, '2025-11-09T08:00:00');
         INSERT INTO plan_history VALUES (1, 1, 'v1', 'alice', '2025-11-09T09:00:00');",
    );
    let store = open(&dir.db());
    import_legacy(&store, &legacy_path, &new_york()).unwrap();
    let first = store.find_active(&coach("d"), date("2025-11-09")).unwrap().unwrap();
    assert_eq!((first.text.as_str(), first.version, first.charts.len()), ("v2", 2, 1));

    // The predecessor kept running: one more edit with a new chart, and a new plan.
    raw(&legacy_path)
        .execute_batch(
            "INSERT INTO plan_history VALUES (2, 1, 'v2', 'bob_admin', '2025-11-09T10:00:00');
             UPDATE coach_plans SET plan = 'v3', edited_at = '2025-11-09T10:00:00' WHERE id = 1;
             INSERT INTO plan_charts VALUES (2, 1, 'https://i.test/2.png', 'two.png', '2025-11-09T10:00:00');
             INSERT INTO coach_plans VALUES (2, 'coach_s', '2025-11-10', 'swing', 'dave', NULL, '2025-11-10T07:00:00', NULL, 0);",
        )
        .unwrap();
    let newer = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!((newer.plans_imported, newer.plans_already_present), (1, 0), "{newer}");
    assert_eq!(newer.updated.len(), 1, "{newer}");
    let updated = &newer.updated[0];
    assert_eq!((updated.legacy_id, updated.plan_id, updated.charts_added, updated.history_added), (1, first.id, 1, 1));
    assert_eq!((newer.charts_imported, newer.history_imported), (1, 2), "the new chart and edit, the new plan's entry");
    assert!(newer.outdated.is_empty(), "{newer}");
    assert!(
        newer.to_string().contains(&format!(
            "updated: legacy plan 1 (plan {}) from the newer snapshot: 1 chart and 1 history entry added",
            first.id
        )),
        "{newer}"
    );

    let d = store.get(first.id).unwrap().unwrap();
    assert_eq!((d.text.as_str(), d.version, d.updated_at), ("v3", 3, utc("2025-11-09T15:00:00Z")));
    let charts: Vec<_> = d.charts.iter().map(|c| (c.position, c.url.as_str())).collect();
    assert_eq!(charts, [(0, "https://i.test/1.png"), (1, "https://i.test/2.png")]);
    let history = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 10 }).unwrap();
    let entries: Vec<_> =
        history.iter().map(|e| (e.version, e.text_before.as_deref(), e.text_after.as_deref())).collect();
    assert_eq!(entries, [(3, Some("v2"), Some("v3")), (2, Some("v1"), Some("v2")), (1, None, Some("v1"))]);
    assert!(store.find_active(&coach("s"), date("2025-11-10")).unwrap().is_some());

    // The same snapshot again: nothing added, nothing changed.
    let conn = raw(&dir.db());
    let before = table_counts(&conn);
    let again = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!(
        (again.plans_imported, again.plans_already_present, again.charts_imported, again.history_imported),
        (0, 2, 0, 0),
        "{again}"
    );
    assert!(again.updated.is_empty() && again.outdated.is_empty(), "{again}");
    assert_eq!(table_counts(&conn), before);
    assert_eq!(store.get(first.id).unwrap().unwrap(), d);

    // Deleted in the predecessor since: the plan is deleted here too.
    raw(&legacy_path).execute_batch("UPDATE coach_plans SET is_deleted = 1 WHERE id = 1").unwrap();
    let deleted = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!((deleted.updated.len(), deleted.history_imported), (1, 1), "{deleted}");
    assert_eq!(store.get(first.id).unwrap().unwrap().deleted_at, Some(utc("2025-11-09T15:00:00Z")));
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap(), None);
}

#[test]
fn a_plan_changed_here_since_or_an_older_snapshot_is_reported_not_updated() {
    let dir = TestDir::new();
    let legacy_path = dir.file("legacy.db");
    build_legacy(
        &legacy_path,
        "INSERT INTO coach_plans VALUES (1, 'coach_d', '2025-11-09', 'first', 'alice', NULL, '2025-11-09T08:00:00', NULL, 0);
         INSERT INTO coach_plans VALUES (2, 'coach_i', '2025-11-09', 'intraday', 'carol', NULL, '2025-11-09T08:00:00', NULL, 0);
         INSERT INTO plan_charts VALUES (1, 2, 'https://i.test/1.png', NULL, '2025-11-09T08:00:00');",
    );
    let older = dir.file("older.db");
    std::fs::copy(&legacy_path, &older).unwrap();
    let store = open(&dir.db());
    import_legacy(&store, &legacy_path, &new_york()).unwrap();
    let d = store.find_active(&coach("d"), date("2025-11-09")).unwrap().unwrap();
    let edited_here = store.change(d.id, crate::helpers::edit("changed here"), &author(1, "Ann"), at(0), None).unwrap();
    let same = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!((same.plans_already_present, same.outdated.len(), same.updated.len()), (2, 0, 0), "{same}");

    raw(&legacy_path)
        .execute_batch(
            "UPDATE coach_plans SET plan = 'changed in the predecessor', edited_at = '2025-11-09T09:00:00' WHERE id = 1;
             INSERT INTO plan_charts VALUES (2, 2, 'https://i.test/2.png', NULL, '2025-11-09T09:00:00');",
        )
        .unwrap();
    let again = import_legacy(&store, &legacy_path, &new_york()).unwrap();
    assert_eq!(again.outdated.len(), 1, "{again}");
    assert_eq!((again.outdated[0].legacy_id, again.outdated[0].plan_id), (1, d.id));
    assert!(
        again.to_string().contains(&format!(
            "outdated: legacy plan 1 was imported before as plan {} and has changed since; it is left as it is because it has been changed here since its import",
            d.id
        )),
        "{again}"
    );
    assert_eq!(store.get(d.id).unwrap().unwrap(), edited_here, "the change made here wins");
    assert_eq!(again.updated.len(), 1, "the other plan takes its new chart: {again}");
    let i = store.find_active(&coach("i"), date("2025-11-09")).unwrap().unwrap();
    assert_eq!(i.charts.len(), 2);

    // The snapshot from before: plan 1 is as it was imported from it; plan 2 lacks the chart taken from the newer
    // one, so nothing is rolled back.
    let conn = raw(&dir.db());
    let before = table_counts(&conn);
    let rolled_back = import_legacy(&store, &older, &new_york()).unwrap();
    let outdated: Vec<_> = rolled_back.outdated.iter().map(|o| (o.legacy_id, o.reason.as_str())).collect();
    assert_eq!(
        outdated,
        [(2, "the snapshot lacks 1 row an earlier import took from it (is it older than the one imported before?)")]
    );
    assert!(rolled_back.updated.is_empty(), "{rolled_back}");
    assert_eq!(table_counts(&conn), before);
    assert_eq!(store.get(i.id).unwrap().unwrap(), i);
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
