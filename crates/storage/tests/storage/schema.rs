//! Opening databases: migrations applied once, newer or foreign databases refused, directories created.

use core_model::contract::at;
use core_model::{PlanRepository, StatusStore};
use storage::migrations::{self, latest_version};
use storage::{OpenError, SqliteStore, StoreOptions};

use crate::helpers::{TestDir, author, count, new_plan, open, raw};

#[test]
fn reopening_keeps_the_data_and_does_not_rerun_migrations() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    assert_eq!(store.applied_at_open(), (1..=latest_version()).collect::<Vec<_>>());
    let plan = store.insert(new_plan("d", "2025-11-09", "kept", author(1, "Ann")), at(0)).unwrap();
    store.put_status("bot.state", "connected", at(1)).unwrap();
    let applied_before: Vec<(u32, String)> = {
        let conn = raw(&dir.db());
        let mut stmt = conn.prepare("SELECT version, applied_at FROM schema_migrations ORDER BY version").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    drop(store);

    let store = open(&dir.db());
    assert_eq!(store.applied_at_open(), [] as [u32; 0], "nothing applied the second time");
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan);
    assert_eq!(store.status("bot.state").unwrap().unwrap().value, "connected");
    let status = store.schema_status().unwrap();
    assert!(status.is_up_to_date(), "{status:?}");
    let conn = raw(&dir.db());
    let applied_after: Vec<(u32, String)> = {
        let mut stmt = conn.prepare("SELECT version, applied_at FROM schema_migrations ORDER BY version").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(applied_after, applied_before);
    assert_eq!(count(&conn, "plans"), 1);
}

#[test]
fn processes_starting_together_on_a_new_file_migrate_it_once() {
    let dir = TestDir::new();
    let path = dir.db();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || SqliteStore::open(path, StoreOptions::default()))
        })
        .collect();
    let stores: Vec<SqliteStore> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
    let applied: usize = stores.iter().map(|s| s.applied_at_open().len()).sum();
    assert_eq!(applied, migrations::MIGRATIONS.len(), "each migration applied by exactly one of them");
    assert_eq!(count(&raw(&path), "schema_migrations"), i64::from(latest_version()));
    stores[0].insert(new_plan("d", "2025-11-09", "x", author(1, "Ann")), at(0)).unwrap();
    assert_eq!(stores[3].stats().unwrap().active_plans, 1);
}

#[test]
fn a_database_with_a_newer_schema_is_refused_with_both_versions_named() {
    let dir = TestDir::new();
    drop(open(&dir.db()));
    let future = latest_version() + 1;
    raw(&dir.db())
        .execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, 'future', '2030-01-01T00:00:00.000000Z')",
            [future],
        )
        .unwrap();
    let err = SqliteStore::open(dir.db(), StoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, OpenError::SchemaTooNew { found, latest, .. } if found == future && latest == latest_version()),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&format!("schema version {future}")), "{message}");
    assert!(message.contains(&format!("newer than version {}", latest_version())), "{message}");
    let status = migrations::inspect(&dir.db()).unwrap();
    assert!(status.is_newer_than_build() && status.current == future, "{status:?}");
}

#[test]
fn inspect_reads_the_schema_without_changing_anything() {
    let dir = TestDir::new();
    assert!(matches!(migrations::inspect(&dir.db()), Err(OpenError::Missing { .. })));
    assert!(!dir.db().exists(), "inspect never creates the file");
    drop(open(&dir.db()));
    let status = migrations::inspect(&dir.db()).unwrap();
    assert_eq!((status.current, status.latest), (latest_version(), latest_version()));
    assert!(storage::migrations::pending(&status).is_empty());
}

#[test]
fn the_predecessors_database_is_refused_untouched_with_a_hint() {
    let dir = TestDir::new();
    let legacy = raw(&dir.db());
    legacy.execute_batch("CREATE TABLE coach_plans (id INTEGER PRIMARY KEY, coach_name TEXT NOT NULL)").unwrap();
    let err = SqliteStore::open(dir.db(), StoreOptions::default()).unwrap_err();
    assert!(matches!(err, OpenError::ForeignDatabase { legacy: true, .. }), "{err:?}");
    assert!(err.to_string().contains("import-legacy"), "{err}");
    let tables: i64 =
        legacy.query_row("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 1, "no table added");
    let mode: String = legacy.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete", "journal mode unchanged");
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = TestDir::new();
    std::fs::write(dir.db(), "this is a text file, not a database, and it is long enough to have a header").unwrap();
    let err = SqliteStore::open(dir.db(), StoreOptions::default()).unwrap_err();
    assert!(matches!(err, OpenError::Open { .. }), "{err:?}");
    assert!(err.to_string().starts_with("cannot open the database"), "{err}");
}

#[test]
fn missing_parent_directories_are_created_and_wal_is_on() {
    let dir = TestDir::new();
    let path = dir.file("data/nested/plans.db");
    let store = open(&path);
    assert_eq!(store.path(), Some(path.as_path()));
    store.ping().unwrap();
    let mode: String = raw(&path).query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let pool = store.pool_state();
    assert!(pool.connections >= 1 && pool.connections <= pool.max_connections, "{pool:?}");
    assert_eq!(pool.max_connections, StoreOptions::default().max_connections);
}

#[test]
fn an_in_memory_store_is_migrated_and_has_no_path() {
    let store = SqliteStore::open_in_memory().unwrap();
    assert_eq!(store.path(), None);
    assert!(store.schema_status().unwrap().is_up_to_date());
    store.ping().unwrap();
    let other = SqliteStore::open_in_memory().unwrap();
    store.insert(new_plan("d", "2025-11-09", "only here", author(1, "Ann")), at(0)).unwrap();
    assert_eq!(other.stats().unwrap().active_plans, 0, "two in-memory stores share nothing");
}

#[test]
fn ping_notices_a_deleted_or_replaced_database_file() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    store.ping().unwrap();
    let moved = dir.file("moved.db");
    std::fs::rename(dir.db(), &moved).unwrap();
    let err = store.ping().unwrap_err();
    assert!(matches!(err, core_model::RepoError::Failure(_) | core_model::RepoError::Unwritable(_)), "{err:?}");
    assert!(!dir.db().exists(), "a health check never creates the file");
    std::fs::write(dir.db(), b"this is not a database, just some text that is long enough to look like a header")
        .unwrap();
    assert!(store.ping().is_err(), "a file that is not a database fails the check");
    std::fs::remove_file(dir.db()).unwrap();
    std::fs::rename(&moved, dir.db()).unwrap();
    store.ping().unwrap();
}

#[test]
fn migration_2_names_the_posting_message_of_plans_created_before_it() {
    let dir = TestDir::new();
    // A database at schema version 1, with a plan posted by message 555 and one imported (no message).
    let conn = raw(&dir.db());
    conn.execute_batch(migrations::MIGRATIONS[0].sql).unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 'initial', '2025-11-01T00:00:00.000000Z');
         INSERT INTO plans (id, coach, trading_date, text, author_id, author_name, message_id, version, created_at,
             updated_at) VALUES (1, 'd', '2025-11-09', 'v2', 1, 'Ann', 555, 2, '2025-11-09T13:00:00.000000Z',
             '2025-11-09T14:00:00.000000Z');
         INSERT INTO plan_history (plan_id, coach, trading_date, version, action, text_after, actor_name, at)
             VALUES (1, 'd', '2025-11-09', 1, 'created', 'v1', 'Ann', '2025-11-09T13:00:00.000000Z');
         INSERT INTO plan_history (plan_id, coach, trading_date, version, action, text_before, text_after, actor_name, at)
             VALUES (1, 'd', '2025-11-09', 2, 'edited', 'v1', 'v2', 'Ann', '2025-11-09T14:00:00.000000Z');
         INSERT INTO plans (id, coach, trading_date, text, author_name, version, created_at, updated_at)
             VALUES (2, 's', '2025-11-09', 'imported', 'dave', 1, '2025-11-09T13:00:00.000000Z', '2025-11-09T13:00:00.000000Z');
         INSERT INTO plan_history (plan_id, coach, trading_date, version, action, text_after, actor_name, at)
             VALUES (2, 's', '2025-11-09', 1, 'created', 'imported', 'dave', '2025-11-09T13:00:00.000000Z');",
    )
    .unwrap();
    drop(conn);

    let store = open(&dir.db());
    assert_eq!(store.applied_at_open(), (2..=latest_version()).collect::<Vec<_>>());
    assert_eq!(store.find_by_posting_message(555).unwrap().unwrap().text, "v2", "a replay of 555 is recognised");
    let history =
        store.history(&core_model::HistoryQuery { coach: crate::helpers::coach("d"), date: None, limit: 5 }).unwrap();
    let messages: Vec<_> = history.iter().map(|e| (e.version, e.message_id)).collect();
    assert_eq!(messages, [(2, None), (1, Some(555))], "only the creation was posted by the message");
    let imported =
        store.history(&core_model::HistoryQuery { coach: crate::helpers::coach("s"), date: None, limit: 5 }).unwrap();
    assert_eq!(imported[0].message_id, None);
}

/// Migration 10 makes the webhook tables anew: subscriptions and their deliveries keep their ids and rows, removing
/// a subscription still removes its deliveries, and a removed subscription's id is not given again.
#[test]
fn migration_10_keeps_the_subscriptions_and_their_deliveries() {
    use core_model::{EventSet, NewSubscription, WebhookSecret, WebhookStore as _};
    let dir = TestDir::new();
    let conn = raw(&dir.db());
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);",
    )
    .unwrap();
    for migration in &migrations::MIGRATIONS[..9] {
        conn.execute_batch(migration.sql).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?1, ?2, '2025-11-01T00:00:00.000000Z')",
            rusqlite::params![migration.version, migration.name],
        )
        .unwrap();
    }
    conn.execute_batch(
        "INSERT INTO webhook_subscriptions VALUES (4, 'https://a.example/hook', 3, 'whsec_x', '2025-11-01T00:00:00.000000Z', NULL, NULL);
         INSERT INTO webhook_subscriptions VALUES (7, 'https://b.example/hook', 3, 'whsec_y', '2025-11-01T00:00:00.000000Z', NULL, NULL);
         INSERT INTO webhook_deliveries (id, message_id, subscription_id, event_type, occurred_at, status, next_attempt_at)
             VALUES (11, 'msg_1', 4, 'webhook.test', '2025-11-01T00:00:00.000000Z', 'pending', '2025-11-01T00:00:00.000000Z');
         INSERT INTO webhook_deliveries (id, message_id, subscription_id, event_type, occurred_at, status, next_attempt_at)
             VALUES (12, 'msg_2', 7, 'webhook.test', '2025-11-01T00:00:00.000000Z', 'delivered', '2025-11-01T00:00:00.000000Z');",
    )
    .unwrap();
    drop(conn);

    let store = open(&dir.db());
    assert_eq!(store.applied_at_open(), [10]);
    let ids: Vec<i64> = store.subscriptions().unwrap().iter().map(|s| s.id).collect();
    assert_eq!(ids, [4, 7]);
    let deliveries: Vec<(i64, String)> =
        store.deliveries(None, 10).unwrap().into_iter().map(|d| (d.subscription_id, d.message_id)).collect();
    assert_eq!(deliveries, [(7, "msg_2".to_owned()), (4, "msg_1".to_owned())]);
    assert!(store.remove_subscription(7).unwrap());
    assert_eq!(store.deliveries(None, 10).unwrap().len(), 1, "its delivery went with it");
    let secret = WebhookSecret::from_random([1; 32]);
    let new = NewSubscription {
        url: "https://c.example/hook".into(),
        events: EventSet::all(),
        secret,
        created_at: core_model::jiff::Timestamp::UNIX_EPOCH,
    };
    assert_eq!(store.add_subscription(&new).unwrap().id, 8, "7 is not given again");
}
