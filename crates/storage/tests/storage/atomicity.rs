//! A write that fails leaves nothing behind: no plan row without its charts, no history without its change.

use core_model::contract::at;
use core_model::{HistoryQuery, PlanChange, PlanRepository, RepoError, UserId};

use crate::helpers::{TestDir, author, coach, count, date, link, new_plan, open, raw};

/// Makes every chart insert fail, as a full disk or a bug would in the middle of a write.
fn refuse_chart_inserts(conn: &rusqlite::Connection) {
    conn.execute_batch(
        "CREATE TRIGGER refuse_charts BEFORE INSERT ON charts BEGIN SELECT RAISE(ABORT, 'chart insert refused by the test'); END;",
    )
    .unwrap();
}

#[test]
fn a_failed_chart_insert_leaves_no_plan_and_no_history() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    let conn = raw(&dir.db());
    refuse_chart_inserts(&conn);
    let mut new = new_plan("d", "2025-11-09", "with a chart", author(1, "Ann"));
    new.charts = vec![link("https://i.test/a.png")];
    let err = store.insert(new, at(0)).unwrap_err();
    assert!(matches!(err, RepoError::Failure(_)), "{err:?}");
    assert_eq!((count(&conn, "plans"), count(&conn, "charts"), count(&conn, "plan_history")), (0, 0, 0));
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap(), None);
    // The slot is free: the same plan without charts can be posted.
    store.insert(new_plan("d", "2025-11-09", "without", author(1, "Ann")), at(1)).unwrap();
}

#[test]
fn a_failed_chart_replacement_leaves_the_plan_as_it_was() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    let mut new = new_plan("d", "2025-11-09", "v1", author(1, "Ann"));
    new.charts = vec![link("https://i.test/a.png")];
    let plan = store.insert(new, at(0)).unwrap();
    let conn = raw(&dir.db());
    refuse_chart_inserts(&conn);
    let change = PlanChange::Edit {
        text: core_model::PlanText::new("v2").unwrap(),
        charts: Some(vec![link("https://i.test/b.png")]),
    };
    assert!(store.change(plan.id, change, &author(1, "Ann"), at(1), None).is_err());
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan, "text, version and charts unchanged");
    assert_eq!(count(&conn, "plan_history"), 1);
}

#[test]
fn an_id_past_the_signed_range_is_an_error_not_a_wrapped_value() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    let mut new = new_plan("d", "2025-11-09", "x", author(u64::MAX, "Huge"));
    new.charts = vec![link("https://i.test/a.png")];
    let err = store.insert(new, at(0)).unwrap_err();
    assert!(matches!(err, RepoError::Failure(_)), "{err:?}");
    let chain = format!("{:?}", std::error::Error::source(&err));
    assert!(chain.contains("18446744073709551615"), "{chain}");
    let conn = raw(&dir.db());
    assert_eq!((count(&conn, "plans"), count(&conn, "plan_history")), (0, 0));
    assert!(store.list_active_by_author(UserId(u64::MAX), None).is_err(), "a query by such an id fails the same way");
}

#[test]
fn sub_microsecond_time_is_dropped_so_what_insert_returns_is_what_is_read() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    let precise = jiff::Timestamp::new(1_762_720_612, 274_074_999).unwrap();
    let plan = store.insert(new_plan("d", "2025-11-09", "x", author(1, "Ann")), precise).unwrap();
    assert_eq!(plan.created_at, jiff::Timestamp::from_microsecond(1_762_720_612_274_074).unwrap());
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan);
    let edited = store.change(plan.id, crate::helpers::edit("y"), &author(1, "Ann"), precise, None).unwrap();
    assert_eq!(store.get(plan.id).unwrap().unwrap(), edited);
    let history = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 5 }).unwrap();
    assert_eq!(history[0].at, edited.updated_at);
}
