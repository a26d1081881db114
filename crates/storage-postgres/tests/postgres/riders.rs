//! Values written with the next commit (`defer_status`): the bot's progress in a channel rides with the next plan's
//! write instead of a transaction and a commit of its own, as on SQLite.

use core_model::contract::at;
use core_model::{PlanRepository as _, StatusStore as _};

use crate::helpers::{author, database, new_plan, open};

#[test]
fn a_deferred_value_is_committed_with_the_next_write_and_a_value_put_since_wins() {
    let Some(db) = database() else { return };
    let store = open(&db);
    let other = open(&db);

    let first = store.defer_status("bot.cursor.200", "1", at(0)).expect("PostgreSQL defers");
    assert!(!store.status_written(first), "nothing was committed yet");
    assert_eq!(other.status("bot.cursor.200").unwrap(), None);
    other.put_status("api.state", "up", at(0)).unwrap();
    store.status("bot.cursor.200").unwrap();
    assert!(!store.status_written(first), "another store's writes do not take it, nor do reads");
    assert_eq!(other.status("bot.cursor.200").unwrap(), None);

    store.insert(new_plan("d", "2025-11-09", "Long above 950", author(1, "Ann")), at(1)).unwrap();
    assert!(store.status_written(first), "it rode with the plan's commit");
    assert_eq!(other.status("bot.cursor.200").unwrap().unwrap().value, "1", "another store reads it");

    // A later deferred value replaces one not written yet; a value put on its own replaces both.
    let second = store.defer_status("bot.cursor.200", "2", at(2)).unwrap();
    let third = store.defer_status("bot.cursor.200", "3", at(3)).unwrap();
    store.put_status("bot.cursor.200", "4", at(4)).unwrap();
    store.insert(new_plan("s", "2025-11-09", "Swing AAPL", author(1, "Ann")), at(5)).unwrap();
    assert!(store.status_written(second) && store.status_written(third));
    assert_eq!(other.status("bot.cursor.200").unwrap().unwrap().value, "4", "the value put last stays");
}

#[test]
fn a_failed_write_does_not_lose_a_deferred_value() {
    let Some(db) = database() else { return };
    let store = open(&db);
    store.insert(new_plan("d", "2025-11-09", "Long above 950", author(1, "Ann")), at(0)).unwrap();
    let ticket = store.defer_status("bot.cursor.200", "7", at(1)).unwrap();
    // A second active plan for the coach and date is refused: the value waits for the next commit.
    store.insert(new_plan("d", "2025-11-09", "again", author(1, "Ann")), at(2)).unwrap_err();
    assert!(!store.status_written(ticket));
    store.put_status("bot.state", "connected", at(3)).unwrap();
    assert!(store.status_written(ticket));
    assert_eq!(open(&db).status("bot.cursor.200").unwrap().unwrap().value, "7");
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
