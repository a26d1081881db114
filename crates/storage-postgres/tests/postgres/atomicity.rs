//! A write that fails leaves nothing behind: no plan row without its charts, no history without its change.

use core_model::contract::at;
use core_model::{PlanChange, PlanRepository, RepoError};

use crate::helpers::{author, coach, count, database, date, link, new_plan, open, raw};

/// Makes every chart insert fail, as a full disk or a bug would in the middle of a write.
fn refuse_chart_inserts(client: &mut postgres::Client) {
    client
        .batch_execute(
            "CREATE FUNCTION refuse_charts() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'chart insert refused by the test'; END $$; \
             CREATE TRIGGER refuse_charts BEFORE INSERT ON charts FOR EACH ROW EXECUTE FUNCTION refuse_charts();",
        )
        .unwrap();
}

#[test]
fn a_failed_chart_insert_leaves_no_plan_and_no_history() {
    let Some(db) = database() else { return };
    let store = open(&db);
    let mut client = raw(&db);
    refuse_chart_inserts(&mut client);
    let mut new = new_plan("d", "2025-11-09", "with a chart", author(1, "Ann"));
    new.charts = vec![link("https://i.test/a.png")];
    let err = store.insert(new, at(0)).unwrap_err();
    assert!(matches!(err, RepoError::Failure(_)), "{err:?}");
    let counts = (count(&mut client, "plans"), count(&mut client, "charts"), count(&mut client, "plan_history"));
    assert_eq!(counts, (0, 0, 0));
    assert_eq!(count(&mut client, "plan_tickers"), 0);
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap(), None);
    // The slot is free: the same plan without charts can be posted.
    store.insert(new_plan("d", "2025-11-09", "without", author(1, "Ann")), at(1)).unwrap();
}

#[test]
fn a_failed_chart_replacement_leaves_the_plan_as_it_was() {
    let Some(db) = database() else { return };
    let store = open(&db);
    let mut new = new_plan("d", "2025-11-09", "NVDA v1", author(1, "Ann"));
    new.charts = vec![link("https://i.test/a.png")];
    let plan = store.insert(new, at(0)).unwrap();
    let mut client = raw(&db);
    refuse_chart_inserts(&mut client);
    let change = PlanChange::Edit {
        text: core_model::PlanText::new("AMD v2").unwrap(),
        charts: Some(vec![link("https://i.test/b.png")]),
    };
    assert!(store.change(plan.id, change, &author(1, "Ann"), at(1), None).is_err());
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan, "text, tickers, version and charts unchanged");
    assert_eq!(count(&mut client, "plan_history"), 1);
    let ticker: String = client.query_one("SELECT ticker FROM plan_tickers", &[]).unwrap().get(0);
    assert_eq!(ticker, "NVDA");
}

#[test]
fn sub_microsecond_time_is_dropped_so_what_insert_returns_is_what_is_read() {
    let Some(db) = database() else { return };
    let store = open(&db);
    let at = core_model::jiff::Timestamp::from_nanosecond(1_762_700_000_123_456_789).unwrap();
    let plan = store.insert(new_plan("d", "2025-11-09", "x", author(1, "Ann")), at).unwrap();
    assert_eq!(plan.created_at.as_microsecond(), 1_762_700_000_123_456);
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan);
}
