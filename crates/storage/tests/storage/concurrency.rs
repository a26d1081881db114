//! Two stores on one file, as the bot and the API processes open it: concurrent writes lose nothing.

use std::thread;

use core_model::contract::at;
use core_model::{HistoryQuery, PlanRepository, RepoError, StatusStore};
use storage::{SqliteStore, StoreOptions};

use crate::helpers::{TestDir, author, coach, date, edit, new_plan, open, raw};

#[test]
fn two_stores_on_one_file_write_concurrently_without_losing_an_update() {
    const WRITERS: u64 = 4;
    const EDITS: u64 = 20;
    let dir = TestDir::new();
    let bot = open(&dir.db());
    let api = open(&dir.db());
    let plan = bot.insert(new_plan("d", "2025-11-09", "start", author(1, "Ann")), at(0)).unwrap();
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = if w % 2 == 0 { bot.clone() } else { api.clone() };
            thread::spawn(move || {
                for e in 0..EDITS {
                    store.change(plan.id, edit(&format!("w{w} e{e}")), &author(w, "x"), at(1), None).unwrap();
                    store.put_status(&format!("writer.{w}"), &e.to_string(), at(2)).unwrap();
                    let day = format!("2026-02-{:02}", e + 1);
                    store
                        .insert(new_plan(["i", "s", "n", "x"][w as usize], &day, "own", author(w, "x")), at(3))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let last = api.get(plan.id).unwrap().unwrap();
    assert_eq!(u64::from(last.version), 1 + WRITERS * EDITS, "every edit counted once");
    let mut history =
        bot.history(&HistoryQuery { coach: coach("d"), date: Some(date("2025-11-09")), limit: 1000 }).unwrap();
    history.sort_by_key(|e| e.version);
    let versions: Vec<u64> = history.iter().map(|e| u64::from(e.version)).collect();
    assert_eq!(versions, (1..=1 + WRITERS * EDITS).collect::<Vec<_>>());
    for pair in history.windows(2) {
        assert_eq!(pair[1].text_before, pair[0].text_after, "version {} follows the one before", pair[1].version);
    }
    assert_eq!(history.last().unwrap().text_after.as_deref(), Some(last.text.as_str()));
    assert_eq!(bot.stats().unwrap().active_plans, 1 + WRITERS * EDITS);
    for w in 0..WRITERS {
        assert_eq!(api.status(&format!("writer.{w}")).unwrap().unwrap().value, (EDITS - 1).to_string());
    }
}

#[test]
fn a_lock_held_past_the_busy_timeout_is_reported_as_busy() {
    let dir = TestDir::new();
    let options = StoreOptions { busy_timeout: std::time::Duration::from_millis(50), ..StoreOptions::default() };
    let store = SqliteStore::open(dir.db(), options).unwrap();
    let other_process = raw(&dir.db());
    other_process.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store.insert(new_plan("d", "2025-11-09", "blocked", author(1, "Ann")), at(0)).unwrap_err();
    assert!(matches!(err, RepoError::Busy(_)), "{err:?}");
    // Readers are not blocked by a writer in WAL mode.
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap(), None);
    other_process.execute_batch("ROLLBACK").unwrap();
    store.insert(new_plan("d", "2025-11-09", "now free", author(1, "Ann")), at(1)).unwrap();
}
