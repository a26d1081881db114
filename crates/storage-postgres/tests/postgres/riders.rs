//! Values written with the next commit (`defer_status`): the bot's progress in a channel rides with the next plan's
//! write instead of a transaction and a commit of its own, as on SQLite (the contract's cases, on two stores over
//! one database); and what several write transactions at once add.

use core_model::contract::at;
use core_model::{PlanRepository as _, StatusStore as _};
use test_support::TestDatabase;

use crate::helpers::{author, database, new_plan, open};

#[test]
fn postgres_store_passes_the_deferred_status_cases() {
    let Some(first) = database() else { return };
    let databases: std::cell::RefCell<Vec<TestDatabase>> = std::cell::RefCell::new(Vec::new());
    core_model::contract::run_deferred_status_cases(|| {
        let db = first.sibling(&format!("r{}", databases.borrow().len()));
        let stores = (open(&db), open(&db));
        databases.borrow_mut().push(db);
        stores
    });
}

#[test]
fn a_failed_write_leaves_a_deferred_value_for_the_next_commit() {
    let Some(db) = database() else { return };
    let store = open(&db);
    store.insert(new_plan("d", "2025-11-09", "Long above 950", author(1, "Ann")), at(0)).unwrap();
    let ticket = store.defer_status("bot.cursor.200", "7", at(1)).unwrap();
    // A second active plan for the coach and date is refused: the value waits for the next commit.
    store.insert(new_plan("d", "2025-11-09", "again", author(1, "Ann")), at(2)).unwrap_err();
    assert!(!store.status_written(ticket));
}

#[test]
fn a_deferred_value_never_writes_over_a_later_one() {
    let Some(db) = database() else { return };
    let store = open(&db);
    // Written elsewhere (another process, or a transaction of this one that committed first) with a later time.
    open(&db).put_status("bot.cursor.200", "9", at(10)).unwrap();
    let ticket = store.defer_status("bot.cursor.200", "8", at(5)).unwrap();
    store.insert(new_plan("d", "2025-11-09", "Long above 950", author(1, "Ann")), at(6)).unwrap();
    assert!(store.status_written(ticket));
    assert_eq!(store.status("bot.cursor.200").unwrap().unwrap().value, "9");
}
