//! Finding plans through the client, against the real plan-api: by ticker, words and range, page after page, cached
//! and revalidated like single plans, filling the single-plan entries; and the ticker mentions.

use core_model::{CoachId, PlanSource, PlanText, Ticker, TradingDate};
use plan_client::{Error, Freshness, MentionsQuery, SearchQuery};
use service::PostPlan;

use crate::support::{RealApi, TODAY, TTL, ann, client_builder, manual_clock, spawn_api};

const SEARCH_ROUTE: &str = "/api/v1/plans";
const PLAN_ROUTE: &str = "/api/v1/plans/{coach}/{date}";

/// Posts `text` for coach `c` on `date`.
async fn post_on(api: &RealApi, c: &str, date: &str, text: &str) {
    let request = PostPlan {
        coach: CoachId::new(c).unwrap(),
        date: Some(TradingDate::parse(date).unwrap()),
        text: PlanText::new(text).unwrap(),
        charts: Vec::new(),
        source: PlanSource::default(),
    };
    api.service.post(&ann(), request).await.unwrap();
}

fn texts(plans: &[plan_client::Plan]) -> Vec<&str> {
    plans.iter().map(|p| p.text.as_str()).collect()
}

#[tokio::test]
async fn a_search_finds_plans_by_ticker_and_fills_the_single_plan_cache() {
    let api = spawn_api().await;
    let text = "Long $amd over 152; TSLA weak. PPI 8:30 ET, no FOMC today. I trim at EOD";
    post_on(&api, "d", TODAY, text).await;
    post_on(&api, "s", "2025-10-26", "AMD swing, two weeks ago").await;
    post_on(&api, "i", "2025-09-30", "AMD, forty days ago").await;
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();

    let page = client.search(&SearchQuery::new().ticker("amd")).await.unwrap();
    assert_eq!(texts(&page.plans), [text, "AMD swing, two weeks ago"], "the 30 days ending today");
    assert_eq!((page.from.to_string(), page.to.to_string()), ("2025-10-11".to_owned(), TODAY.to_owned()));
    assert_eq!(page.plans[0].tickers, [Ticker::parse("AMD").unwrap(), Ticker::parse("TSLA").unwrap()]);
    assert_eq!(page.next_cursor, None);
    assert!(page.plans.iter().all(|p| p.freshness == Freshness::Fresh));

    let words = client.search(&SearchQuery::new().words("trim").last_days(7)).await.unwrap();
    assert_eq!(texts(&words.plans), [text], "the same plan by a word");
    let fetched = client.fetch_coach_plan("d", TODAY).await.unwrap().unwrap();
    assert_eq!(fetched.text, text);
    let server = client.server_metrics().await.unwrap();
    assert_eq!(server.count(PLAN_ROUTE, "GET", 200), 0, "the single fetch was answered by the search's entry");
    assert_eq!(server.count(SEARCH_ROUTE, "GET", 200), 2);
}

#[tokio::test]
async fn pages_follow_one_another_and_search_all_collects_them() {
    let api = spawn_api().await;
    for day in 1..=7 {
        post_on(&api, "d", &format!("2025-11-{day:02}"), &format!("SPY day {day}")).await;
    }
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();
    let query = SearchQuery::new().ticker("SPY").limit(3);
    let first = client.search(&query).await.unwrap();
    assert_eq!(texts(&first.plans), ["SPY day 7", "SPY day 6", "SPY day 5"]);
    let second = client.search(&first.next_query().expect("more")).await.unwrap();
    assert_eq!(texts(&second.plans), ["SPY day 4", "SPY day 3", "SPY day 2"]);
    let last = client.search(&second.next_query().expect("more")).await.unwrap();
    assert_eq!((texts(&last.plans), last.next_query()), (vec!["SPY day 1"], None));
    let all = client.search_all(&query, 100).await.unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(client.search_all(&query, 4).await.unwrap().len(), 4, "bounded");
}

#[tokio::test]
async fn a_search_is_cached_then_revalidated_with_its_etag() {
    let api = spawn_api().await;
    post_on(&api, "d", TODAY, "NVDA long").await;
    let clock = manual_clock();
    let client = client_builder(&api.base_url, &clock).build().unwrap();
    let query = SearchQuery::new().ticker("NVDA");
    let first = client.search(&query).await.unwrap();
    let again = client.search(&query).await.unwrap();
    assert_eq!(again, first);
    let metrics = client.metrics();
    assert_eq!((metrics.requests.cache_hits, metrics.requests.cache_misses, metrics.cache.answers), (1, 1, 1));

    clock.advance(TTL);
    let revalidated = client.search(&query).await.unwrap();
    assert_eq!(texts(&revalidated.plans), ["NVDA long"]);
    assert_eq!(client.metrics().requests.revalidations, 1, "an unchanged answer costs a 304");
    let server = client.server_metrics().await.unwrap();
    assert_eq!((server.count(SEARCH_ROUTE, "GET", 200), server.count(SEARCH_ROUTE, "GET", 304)), (1, 1));

    post_on(&api, "s", TODAY, "NVDA swing").await;
    clock.advance(TTL);
    let changed = client.search(&query).await.unwrap();
    assert_eq!(texts(&changed.plans), ["NVDA long", "NVDA swing"], "a change is seen once the TTL has passed");
    assert_eq!(client.clear_cache(), 3, "two plans and one answer");
}

#[tokio::test]
async fn bad_queries_are_refused_before_or_by_the_server() {
    let api = spawn_api().await;
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();
    for query in [
        SearchQuery::new().ticker("GOOGLE"),
        SearchQuery::new().coach("x"),
        SearchQuery::new().from("11/01/2025"),
        SearchQuery::new().limit(0),
        SearchQuery::new().last_days(0),
    ] {
        let error = client.search(&query).await.unwrap_err();
        assert!(matches!(error, Error::InvalidInput { .. }), "{query:?}: {error:?}");
    }
    assert_eq!(client.metrics().api.success + client.metrics().api.errors, 0, "nothing was sent");
    let error = client.search(&SearchQuery::new().from("2024-01-01").to("2025-11-01")).await.unwrap_err();
    let Error::Server { status, message, attempts, .. } = error else { panic!("{error:?}") };
    assert_eq!((status, attempts), (400, 1), "a refusal is not retried");
    assert!(message.contains("search at most 366 days at a time"), "{message}");
}

#[tokio::test]
async fn ticker_mentions_are_counted_per_ticker() {
    let api = spawn_api().await;
    post_on(&api, "d", TODAY, "NVDA long, $amd weak").await;
    post_on(&api, "s", "2025-11-01", "NVDA swing").await;
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();
    let mentions = client.ticker_mentions(&MentionsQuery::new()).await.unwrap();
    let shown: Vec<(String, u64, Vec<String>)> = mentions
        .tickers
        .iter()
        .map(|m| (m.ticker.to_string(), m.plans, m.coaches.iter().map(ToString::to_string).collect()))
        .collect();
    assert_eq!(
        shown,
        [("NVDA".to_owned(), 2, vec!["d".to_owned(), "s".to_owned()]), ("AMD".to_owned(), 1, vec!["d".to_owned()])]
    );
    let only_s = client.ticker_mentions(&MentionsQuery::new().coach("s").from("2025-11-01").to("2025-11-01")).await;
    assert_eq!(only_s.unwrap().tickers.len(), 1);
}
