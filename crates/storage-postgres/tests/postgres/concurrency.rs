//! Several stores on one database, as the bot and API replicas on separate machines open it: concurrent writes lose
//! nothing, racing posts get one winner, and a lock held too long is reported as busy.

use std::thread;
use std::time::Duration;

use core_model::contract::at;
use core_model::{HistoryQuery, PlanRepository, RepoError, StatusStore};
use storage_postgres::{PgOptions, PgStore};

use crate::helpers::{author, coach, database, date, edit, new_plan, open, raw, url};

#[test]
fn stores_of_separate_processes_write_concurrently_without_losing_an_update() {
    const WRITERS: u64 = 4;
    const EDITS: u64 = 20;
    let Some(db) = database() else { return };
    let bot = open(&db);
    let api = open(&db);
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
    assert_eq!(bot.stats().unwrap().active_plans, 1 + WRITERS * EDITS);
    for w in 0..WRITERS {
        assert_eq!(api.status(&format!("writer.{w}")).unwrap().unwrap().value, (EDITS - 1).to_string());
    }
}

#[test]
fn posts_racing_from_two_stores_store_exactly_one() {
    let Some(db) = database() else { return };
    let (a, b) = (open(&db), open(&db));
    for round in 0..10 {
        let day = format!("2026-03-{:02}", round + 1);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let racers: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .enumerate()
            .map(|(i, store)| {
                let (day, barrier) = (day.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    store.insert(new_plan("d", &day, &format!("racer {i}"), author(i as u64, "x")), at(0))
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|h| h.join().unwrap()).collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        let lost = results.into_iter().find_map(Result::err).unwrap();
        assert!(matches!(lost, RepoError::Duplicate { .. }), "a clear refusal: {lost:?}");
    }
}

#[test]
fn a_row_lock_held_past_the_lock_timeout_is_reported_as_busy() {
    let Some(db) = database() else { return };
    let options = PgOptions { lock_timeout: Duration::from_millis(100), ..PgOptions::default() };
    let store = PgStore::open(&url(&db), options).unwrap();
    let plan = store.insert(new_plan("d", "2025-11-09", "start", author(1, "Ann")), at(0)).unwrap();
    let mut other = raw(&db);
    let mut held = other.transaction().unwrap();
    held.execute("SELECT 1 FROM plans WHERE id = $1 FOR UPDATE", &[&plan.id.0]).unwrap();
    let err = store.change(plan.id, edit("blocked"), &author(1, "Ann"), at(1), None).unwrap_err();
    assert!(matches!(err, RepoError::Busy(_)), "{err:?}");
    held.rollback().unwrap();
    store.change(plan.id, edit("free again"), &author(1, "Ann"), at(1), None).unwrap();
}

#[test]
fn a_write_does_not_wait_for_another_writers_commit() {
    let Some(db) = database() else { return };
    let options = PgOptions { lock_timeout: Duration::from_millis(200), ..PgOptions::default() };
    let store = PgStore::open(&url(&db), options).unwrap();
    // How far one write moves the change count (a statement's trigger per table it writes).
    let first = store.change_count().unwrap();
    store.insert(new_plan("s", "2025-11-10", "step", author(1, "Ann")), at(0)).unwrap();
    let before = store.change_count().unwrap();
    let step = before - first;
    // Another process's write, not committed yet: it has moved the change count in its transaction.
    let mut other = raw(&db);
    let mut open_write = other.transaction().unwrap();
    open_write
        .execute(
            "INSERT INTO plans (coach, trading_date, text, author_name, version, created_at, updated_at) \
             VALUES ('i', '2025-11-10', 'held', 'Ivan', 1, now(), now())",
            &[],
        )
        .unwrap();
    // The change count is spread over 64 rows by transaction id: a write may share the open one's row, rarely; it
    // then waits for it (and fails here, after the lock timeout) like any writer of the same row. Five attempts
    // all sharing it happen once in 10^9 runs; with one row for all, every attempt waits.
    let stored = (0..5).find_map(|attempt| {
        match store.insert(new_plan("d", "2025-11-10", &format!("attempt {attempt}"), author(1, "Ann")), at(0)) {
            Ok(plan) => Some(plan),
            Err(RepoError::Busy(_)) => None,
            Err(other) => panic!("{other:?}"),
        }
    });
    assert!(stored.is_some(), "every write waited for the open transaction's commit");
    assert_eq!(store.change_count().unwrap(), before + step, "the open write is not counted before its commit");
    open_write.commit().unwrap();
    assert!(store.change_count().unwrap() > before + step, "and is once it is committed");
}

#[test]
fn connections_the_server_closed_are_replaced_without_failing_an_operation() {
    let Some(db) = database() else { return };
    let options = PgOptions { max_connections: 3, ..PgOptions::default() };
    let store = PgStore::open(&url(&db), options).unwrap();
    store.insert(new_plan("d", "2025-11-09", "start", author(1, "Ann")), at(0)).unwrap();
    // Several pooled connections, then the server ends them all (as a restart or an idle timeout would).
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            thread::spawn(move || store.stats().unwrap())
        })
        .collect();
    handles.into_iter().for_each(|h| drop(h.join().unwrap()));
    let mut admin = raw(&db);
    let ended: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ended >= 1, "the store's connections were open");
    std::thread::sleep(Duration::from_millis(100));
    // A new plan is one statement outside a transaction: it too goes on with a new connection, once.
    store.insert(new_plan("i", "2025-11-09", "after the restart", author(1, "Ann")), at(1)).unwrap();
    assert_eq!(store.stats().unwrap().active_plans, 2, "a read goes on, and the plan was stored once");
    store.change(core_model::PlanId(1), edit("after the restart"), &author(1, "Ann"), at(1), None).unwrap();
}

#[test]
fn plans_written_together_that_the_server_refuses_for_its_own_reason_each_fail_with_it_and_leave_nothing() {
    let Some(db) = database() else { return };
    let options = PgOptions { lock_timeout: Duration::from_millis(300), ..PgOptions::default() };
    let store = PgStore::open(&url(&db), options).unwrap();
    // Another process holds the plans' table: every new plan waits for it, past the lock timeout.
    let mut other = raw(&db);
    let mut holding = other.transaction().unwrap();
    holding.batch_execute("LOCK TABLE plans IN EXCLUSIVE MODE").unwrap();
    let start = std::sync::Arc::new(std::sync::Barrier::new(4));
    let posts: Vec<_> = (0..4u64)
        .map(|t| {
            let (store, start) = (store.clone(), std::sync::Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                let day = format!("2026-04-{:02}", t + 1);
                store.insert(new_plan("d", &day, "waits", author(t, "x")), at(0))
            })
        })
        .collect();
    let results: Vec<_> = posts.into_iter().map(|h| h.join().unwrap()).collect();
    for result in &results {
        let Err(error) = result else { panic!("stored past the lock: {results:?}") };
        assert!(matches!(error, RepoError::Busy(_)), "each plan is told the batch's reason: {error:?}");
    }
    holding.rollback().unwrap();
    assert_eq!(store.stats().unwrap().history_entries, 0, "nothing of them was written");
    store.insert(new_plan("d", "2026-04-01", "after", author(1, "x")), at(1)).unwrap();
}
