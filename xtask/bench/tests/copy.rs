//! `copy-db`'s round trip on the benchmark's year of plans: SQLite → PostgreSQL → SQLite holds the same content
//! record for record, and the PostgreSQL copy answers every read and search as the SQLite original does (plans of a
//! date, an author's plans, histories, searches by ticker, coach and words, ticker mentions). Without the test run's
//! PostgreSQL server it checks nothing and says so.

use std::process::Command;

use app::store::{Location, Store};
use core_model::{CoachId, HistoryQuery, MentionQuery, SearchQuery, TextQuery, Ticker, TradingDate, UserId};

fn coaches() -> Vec<CoachId> {
    ["d", "i", "s", "n"].iter().map(|c| CoachId::new(c).unwrap()).collect()
}

#[test]
fn a_year_of_plans_copied_to_postgres_and_back_is_unchanged_and_answers_alike() {
    let Some(pg) = test_support::postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("year.db");
    let seeded = Command::new(env!("CARGO_BIN_EXE_bench")).arg("seed").arg(&original).status().unwrap();
    assert!(seeded.success());
    let settings = app::Settings::default();
    let sqlite = Store::open(&Location::Sqlite(original), &settings).unwrap();
    let postgres = Store::open(&Location::parse(pg.url()).unwrap(), &settings).unwrap();
    let back = Store::open(&Location::Sqlite(dir.path().join("back.db")), &settings).unwrap();

    let there = app::copy::copy(&sqlite, &postgres, false, |_| {}).unwrap();
    assert!(there.counts.plans > 1000 && there.counts.history > 1500 && there.counts.charts > 1000, "{:?}", there);
    let again = app::copy::copy(&postgres, &back, false, |_| {}).unwrap();
    let content = |store: &Store| app::copy::content(store.transfer().as_ref()).unwrap();
    let original_content = content(&sqlite);
    assert_eq!(content(&back), original_content, "the round trip changes nothing");
    assert_eq!((again.counts, again.digest.clone()), (original_content.0, original_content.1));

    // The copy answers as the original does.
    let (a, b) = (sqlite.plans(), postgres.plans());
    let mut rng = fastrand::Rng::with_seed(20261206);
    for _ in 0..20 {
        let date = TradingDate::from_date(
            core_model::jiff::civil::date(2025, 1, 1)
                .checked_add(core_model::jiff::Span::new().days(rng.i64(0..365)))
                .unwrap(),
        );
        assert_eq!(a.list_active_by_date(date).unwrap(), b.list_active_by_date(date).unwrap(), "{date}");
        let coach = coaches()[rng.usize(0..4)].clone();
        let history = HistoryQuery { coach: coach.clone(), date: Some(date), limit: 50 };
        assert_eq!(a.history(&history).unwrap(), b.history(&history).unwrap(), "{coach} {date}");
    }
    assert_eq!(
        a.list_active_by_author(UserId(7002), None).unwrap(),
        b.list_active_by_author(UserId(7002), None).unwrap()
    );
    assert_eq!(a.stats().unwrap(), b.stats().unwrap());
    let searches = [
        (vec!["NVDA"], vec![], None),
        (vec!["SPY", "QQQ"], vec!["d", "s"], None),
        (vec![], vec![], Some("\"first target\"")),
        (vec![], vec!["n"], Some("CPI print")),
        (vec!["AMD"], vec![], Some("stop*")),
        (vec![], vec![], Some("journal")),
    ];
    for (tickers, coaches_wanted, words) in searches {
        let mut query = SearchQuery {
            tickers: tickers.iter().map(|t| Ticker::parse(t).unwrap()).collect(),
            coaches: coaches_wanted.iter().map(|c| CoachId::new(c).unwrap()).collect(),
            author: None,
            from: TradingDate::parse("2025-03-01").unwrap(),
            to: TradingDate::parse("2025-06-30").unwrap(),
            words: words.map(TextQuery::parse),
            limit: 25,
            after: None,
            coach_order: coaches(),
        };
        let mut pages = 0;
        loop {
            let (x, y) = (a.search(&query).unwrap(), b.search(&query).unwrap());
            assert_eq!(x, y, "{tickers:?} {coaches_wanted:?} {words:?}, page {pages}");
            pages += 1;
            match x.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        assert!(pages > 1 || words.is_some(), "{tickers:?}: several pages compared");
    }
    let mentions = MentionQuery {
        from: TradingDate::parse("2025-01-01").unwrap(),
        to: TradingDate::parse("2025-12-31").unwrap(),
        coaches: vec![],
    };
    assert_eq!(a.ticker_mentions(&mentions).unwrap(), b.ticker_mentions(&mentions).unwrap());
}
