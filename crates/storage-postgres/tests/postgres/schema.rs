//! Migrations and opening: one schema version per step, stores opening together migrate once, a database of
//! something else or of a newer build is refused untouched, and no error shows the password.

use std::thread;

use storage_postgres::migrations::{MIGRATIONS, latest_version};
use storage_postgres::{DatabaseUrl, PgOpenError, PgOptions, PgStore};

use core_model::jiff::Timestamp;
use core_model::{PlanRepository as _, RepoError};

use crate::helpers::{author, count, database, new_plan, open, raw, url};

#[test]
fn a_new_database_is_migrated_to_the_latest_version_once_by_stores_opening_together() {
    let Some(db) = database() else { return };
    let url = url(&db);
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || PgStore::open(&url, PgOptions::default()).unwrap())
        })
        .collect();
    let stores: Vec<PgStore> = opened.into_iter().map(|h| h.join().unwrap()).collect();
    let applied: Vec<&[u32]> = stores.iter().map(PgStore::applied_at_open).filter(|a| !a.is_empty()).collect();
    let every: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
    let mut all: Vec<u32> = applied.iter().flat_map(|a| a.iter().copied()).collect();
    all.sort_unstable();
    assert_eq!(all, every, "each migration applied once, whichever store applied it");
    let status = stores[0].schema_status().unwrap();
    assert_eq!((status.current, status.latest), (latest_version(), latest_version()));
    let mut client = raw(&db);
    assert_eq!(count(&mut client, "schema_migrations"), i64::from(latest_version()));
    drop(stores);
    assert!(open(&db).applied_at_open().is_empty(), "up to date: nothing applied");
}

#[test]
fn a_database_of_something_else_or_of_a_newer_build_is_refused_untouched() {
    let Some(db) = database() else { return };
    let mut client = raw(&db);
    client.batch_execute("CREATE TABLE coach_plans (id integer)").unwrap();
    let err = PgStore::open(&url(&db), PgOptions::default()).unwrap_err();
    assert!(matches!(err, PgOpenError::ForeignDatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("is not a coach-plans database"), "{err}");
    let tables: i64 = client
        .query_one("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'", &[])
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "nothing was created");

    let Some(newer) = database() else { return };
    drop(open(&newer));
    let mut client = raw(&newer);
    client.execute("INSERT INTO schema_migrations VALUES (99, 'future', now())", &[]).unwrap();
    let err = PgStore::open(&url(&newer), PgOptions::default()).unwrap_err();
    assert!(err.to_string().contains("has schema version 99, newer than version"), "{err}");
}

#[test]
fn connection_errors_name_the_database_and_never_the_password() {
    let Some(db) = database() else { return };
    let wrong = db.url().replacen(":pg-", ":wrong-password-never-shown-", 1);
    assert_ne!(wrong, db.url(), "the test server's password starts with pg-");
    let err = PgStore::open(&DatabaseUrl::parse(&wrong).unwrap(), PgOptions::default()).unwrap_err();
    let mut chain = vec![err.to_string()];
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    let chain = chain.join(": ");
    assert!(chain.starts_with("cannot connect to the database postgres://postgres@127.0.0.1:"), "{chain}");
    assert!(chain.contains("password authentication failed"), "{chain}");
    assert!(!chain.contains("wrong-password-never-shown") && !chain.contains("pg-7Rt2"), "{chain}");
    assert!(!format!("{err:?}").contains("wrong-password-never-shown"), "{err:?}");
}

#[test]
fn a_role_that_may_only_read_opens_reads_and_is_refused_writes_as_unwritable() {
    use core_model::contract::at;
    use core_model::{PlanRepository as _, RepoError};

    let Some(db) = database() else { return };
    let store = open(&db);
    store
        .insert(crate::helpers::new_plan("d", "2025-11-09", "NVDA long", crate::helpers::author(1, "Ann")), at(0))
        .unwrap();
    let mut admin = raw(&db);
    let role = format!("reader_{}", std::process::id());
    let database_name: String = admin.query_one("SELECT current_database()", &[]).unwrap().get(0);
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'reader-pw'; \
             GRANT CONNECT ON DATABASE \"{database_name}\" TO {role}; GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
        ))
        .unwrap();
    let (_, server) = db.url().split_once('@').unwrap();
    let reader_url = format!("postgres://{role}:reader-pw@{server}");
    let reader = PgStore::open(&DatabaseUrl::parse(&reader_url).unwrap(), PgOptions::default()).unwrap();
    assert_eq!(reader.stats().unwrap().active_plans, 1, "it reads");
    let err = reader
        .insert(crate::helpers::new_plan("i", "2025-11-09", "x", crate::helpers::author(1, "Ann")), at(1))
        .unwrap_err();
    assert!(matches!(err, RepoError::Unwritable(_)), "{err:?}");
}

/// A database that goes away under an open store is "unavailable" (what the API answers with a 503 that says so),
/// not "busy" and not an unexpected failure; the store works again once it is back, without reopening.
#[test]
fn a_database_gone_away_is_unavailable_until_it_is_back() {
    let Some(db) = database() else { return };
    let options = PgOptions { pool_timeout: std::time::Duration::from_secs(2), ..PgOptions::default() };
    let store = PgStore::open(&url(&db), options).unwrap();
    let plan = store.insert(new_plan("d", "2025-11-10", "Long", author(1, "Ann")), Timestamp::UNIX_EPOCH).unwrap();
    db.set_reachable(false);
    for _ in 0..3 {
        let error = store.get(plan.id).unwrap_err();
        assert!(matches!(error, RepoError::Unavailable(_)), "{error:?}");
    }
    db.set_reachable(true);
    assert_eq!(store.get(plan.id).unwrap().unwrap().text, "Long");
}
