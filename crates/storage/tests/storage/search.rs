//! Search on SQLite beyond the contract: a database from before search is indexed when it opens (once), a changed
//! stoplist re-extracts the stored plans' tickers, words ignore diacritics, and a failed write leaves the indexes as
//! they were.

use core_model::contract::at;
use core_model::{
    MentionQuery, PlanChange, PlanRepository as _, PlanSearch as _, SearchQuery, TextQuery, Ticker, TickerRules,
};
use storage::migrations::MIGRATIONS;
use storage::{SqliteStore, StoreOptions};

use crate::helpers::{TestDir, author, coach, count, date, edit, link, new_plan, open, raw};

fn query() -> SearchQuery {
    SearchQuery {
        tickers: Vec::new(),
        coaches: Vec::new(),
        author: None,
        from: date("2025-01-01"),
        to: date("2025-12-31"),
        words: None,
        limit: 50,
        after: None,
        coach_order: ["d", "i", "s", "n"].map(coach).to_vec(),
    }
}

fn by_ticker(store: &SqliteStore, symbol: &str) -> Vec<String> {
    let query = SearchQuery { tickers: vec![Ticker::parse(symbol).unwrap()], ..query() };
    store.search(&query).unwrap().plans.into_iter().map(|p| p.text).collect()
}

fn by_words(store: &SqliteStore, words: &str) -> Vec<String> {
    let query = SearchQuery { words: Some(TextQuery::parse(words)), ..query() };
    store.search(&query).unwrap().plans.into_iter().map(|p| p.text).collect()
}

fn open_with(path: &std::path::Path, rules: TickerRules) -> SqliteStore {
    SqliteStore::open(path, StoreOptions { ticker_rules: rules, ..StoreOptions::default() }).unwrap()
}

fn built_at(conn: &rusqlite::Connection) -> String {
    conn.query_row("SELECT built_at FROM derived_indexes WHERE name = 'tickers'", [], |r| r.get(0)).unwrap()
}

#[test]
fn a_database_from_before_search_is_indexed_when_it_opens_and_only_then() {
    let dir = TestDir::new();
    {
        // A database of schema version 4, with plans written before tickers or words were indexed.
        let conn = raw(&dir.db());
        conn.execute_batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            .unwrap();
        for m in &MIGRATIONS[..4] {
            conn.execute_batch(m.sql).unwrap();
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?1, ?2, '2025-11-01T00:00:00.000000Z')",
                (m.version, m.name),
            )
            .unwrap();
        }
        let insert = "INSERT INTO plans (coach, trading_date, text, author_name, version, created_at, updated_at, \
                      deleted_at) VALUES (?1, ?2, ?3, 'old_ann', 1, '2025-11-01T00:00:00.000000Z', \
                      '2025-11-01T00:00:00.000000Z', ?4)";
        conn.execute(insert, ("d", "2025-11-03", "NVDA gap fill, $amd weak", None::<String>)).unwrap();
        conn.execute(insert, ("s", "2025-11-04", "NVDA swing into the close", None::<String>)).unwrap();
        conn.execute(insert, ("i", "2025-11-04", "NVDA deleted plan", Some("2025-11-04T00:00:00.000000Z"))).unwrap();
    }
    let store = open(&dir.db());
    let from_search_on: Vec<u32> = (5..=storage::migrations::latest_version()).collect();
    assert_eq!(store.applied_at_open(), from_search_on);
    assert_eq!(by_ticker(&store, "NVDA"), ["NVDA swing into the close", "NVDA gap fill, $amd weak"]);
    assert_eq!(by_ticker(&store, "amd"), ["NVDA gap fill, $amd weak"]);
    assert_eq!(by_words(&store, "\"gap fill\""), ["NVDA gap fill, $amd weak"], "old texts are in the word index");
    let d = store.find_active(&coach("d"), date("2025-11-03")).unwrap().unwrap();
    assert_eq!(d.tickers, [Ticker::parse("NVDA").unwrap(), Ticker::parse("AMD").unwrap()]);
    let deleted = store.find_latest_deleted(&coach("i"), date("2025-11-04")).unwrap().unwrap();
    assert_eq!(deleted.tickers, [Ticker::parse("NVDA").unwrap()], "deleted plans get their tickers too");
    let first_build = built_at(&raw(&dir.db()));
    drop(store);

    let store = open(&dir.db());
    assert!(store.applied_at_open().is_empty());
    assert_eq!(built_at(&raw(&dir.db())), first_build, "indexed once: an unchanged database is not indexed again");
    assert_eq!(by_ticker(&store, "NVDA").len(), 2);
}

#[test]
fn a_changed_stoplist_extracts_the_stored_plans_tickers_again() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    store.insert(new_plan("d", "2025-11-10", "SPY and QQQ, $SPY as a cashtag", author(1, "Ann")), at(0)).unwrap();
    store.insert(new_plan("s", "2025-11-10", "SPY only", author(1, "Ann")), at(0)).unwrap();
    drop(store);

    let store = open_with(&dir.db(), TickerRules::new(["SPY"], None::<Vec<String>>));
    assert_eq!(by_ticker(&store, "SPY"), ["SPY and QQQ, $SPY as a cashtag"], "a cashtag still counts");
    let mentions =
        store.ticker_mentions(&MentionQuery { from: date("2025-11-10"), to: date("2025-11-10"), coaches: vec![] });
    let counted: Vec<(String, u64)> = mentions.unwrap().into_iter().map(|m| (m.ticker.to_string(), m.plans)).collect();
    assert_eq!(counted, [("QQQ".to_owned(), 1), ("SPY".to_owned(), 1)]);
    drop(store);

    let store = open(&dir.db());
    assert_eq!(by_ticker(&store, "SPY").len(), 2, "back to the default rules, back to both plans");
}

#[test]
fn words_ignore_case_and_diacritics() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    store.insert(new_plan("d", "2025-11-10", "Le CAFÉ ouvre: fade the open", author(1, "Ann")), at(0)).unwrap();
    for words in ["café", "cafe", "CAFE", "caf*", "\"café ouvre\""] {
        assert_eq!(by_words(&store, words), ["Le CAFÉ ouvre: fade the open"], "{words}");
    }
}

#[test]
fn a_failed_write_leaves_tickers_and_words_as_they_were() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    let plan = store.insert(new_plan("d", "2025-11-10", "NVDA gap fill", author(1, "Ann")), at(0)).unwrap();
    let conn = raw(&dir.db());
    conn.execute_batch(
        "CREATE TRIGGER refuse_charts BEFORE INSERT ON charts BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
    )
    .unwrap();
    let change = PlanChange::Edit {
        text: core_model::PlanText::new("TSLA breakout").unwrap(),
        charts: Some(vec![link("https://i.test/a.png")]),
    };
    assert!(store.change(plan.id, change, &author(1, "Ann"), at(1), None).is_err());
    assert_eq!(by_ticker(&store, "NVDA"), ["NVDA gap fill"]);
    assert!(by_ticker(&store, "TSLA").is_empty());
    assert_eq!(by_words(&store, "gap"), ["NVDA gap fill"]);
    assert!(by_words(&store, "breakout").is_empty());
    assert_eq!(count(&conn, "plan_tickers"), 1);

    conn.execute_batch("DROP TRIGGER refuse_charts").unwrap();
    store.change(plan.id, edit("TSLA breakout"), &author(1, "Ann"), at(2), None).unwrap();
    assert_eq!(by_ticker(&store, "TSLA"), ["TSLA breakout"]);
    assert!(by_words(&store, "gap").is_empty());
}

#[test]
fn words_stay_in_step_with_texts_when_many_threads_write_at_once() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    let day = |t: usize, n: usize| {
        let k = (t / 4) * 20 + n;
        if k < 31 { format!("2025-01-{:02}", k + 1) } else { format!("2025-02-{:02}", k - 30) }
    };
    // Eight threads' writes share transactions (a savepoint each); the index is written once per commit.
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (store, day) = (&store, &day);
            scope.spawn(move || {
                for n in 0..20 {
                    let coach = ["d", "i", "s", "n"][t % 4];
                    let plan = store
                        .insert(new_plan(coach, &day(t, n), &format!("first{t}x{n} common"), author(1, "Ann")), at(0))
                        .unwrap();
                    if n % 3 == 0 {
                        store
                            .change(plan.id, edit(&format!("second{t}x{n} common")), &author(1, "Ann"), at(1), None)
                            .unwrap();
                    }
                }
            });
        }
    });
    for t in 0..8 {
        for n in 0..20 {
            if n % 3 == 0 {
                assert_eq!(by_words(&store, &format!("second{t}x{n}")), [format!("second{t}x{n} common")]);
                assert!(by_words(&store, &format!("first{t}x{n}")).is_empty(), "an edit takes the old words out");
            } else {
                assert_eq!(by_words(&store, &format!("first{t}x{n}")), [format!("first{t}x{n} common")]);
            }
        }
    }
    let conn = raw(&dir.db());
    assert_eq!(count(&conn, "plans_fts_pending"), 0, "every commit applied its queue");
    // FTS5's own check of the index against the texts it was built from.
    conn.execute("INSERT INTO plans_fts (plans_fts, rank) VALUES ('integrity-check', 1)", []).unwrap();
}
