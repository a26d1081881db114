//! Against the real plan-api: plans, "no plan", a whole date filling single entries, history, and ETag revalidation
//! seen from the server's own metrics.

use core_model::{HistoryAction, UserId};
use plan_client::Freshness;

use crate::support::{NEGATIVE_TTL, TODAY, TTL, ann, client_builder, manual_clock, spawn_api};

const PLAN_ROUTE: &str = "/api/v1/plans/{coach}/{date}";
const PLANS_ROUTE: &str = "/api/v1/plans";

#[tokio::test]
async fn a_plan_is_fetched_with_its_fields_and_then_served_from_the_cache() {
    let api = spawn_api().await;
    api.post(&ann(), "d", "SPY long above 600", &["https://example.com/spy.png"]).await;
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();

    let plan = client.fetch_coach_plan("coach_d", TODAY).await.unwrap().expect("a plan");
    assert_eq!(plan.coach.as_str(), "d");
    assert_eq!(plan.coach_name, "Day Trading");
    assert_eq!(plan.date.to_string(), TODAY);
    assert_eq!(plan.text, "SPY long above 600");
    assert_eq!(plan.author.user_id, Some(UserId(111)));
    assert_eq!(plan.author.display_name, "Ann");
    assert_eq!(plan.source.channel_name.as_deref(), Some("trading-plans"));
    assert_eq!(plan.chart_urls().collect::<Vec<_>>(), ["https://example.com/spy.png"]);
    assert_eq!((plan.version, plan.freshness.clone()), (1, Freshness::Fresh));

    let again = client.fetch_coach_plan("D:", TODAY).await.unwrap().expect("a plan");
    assert_eq!(again, plan);
    let metrics = client.metrics();
    assert_eq!((metrics.requests.total, metrics.requests.cache_hits, metrics.requests.cache_misses), (2, 1, 1));
    assert_eq!(metrics.requests.cache_hit_rate_percent, 50.0);
    assert_eq!((metrics.api.success, metrics.api.errors, metrics.api.retries), (1, 0, 0));
    assert_eq!(client.server_metrics().await.unwrap().count(PLAN_ROUTE, "GET", 200), 1);
}

#[tokio::test]
async fn an_attached_chart_comes_with_the_servers_copy_of_it() {
    let api = spawn_api().await;
    let attached = "https://cdn.discordapp.com/attachments/2/9/spy.png?ex=1&is=2&hm=3";
    let link = "https://www.tradingview.com/x/AbC123/";
    api.post_charts(&ann(), "d", "SPY long above 600", &[attached, link], core_model::ChartKind::Attachment).await;
    let image = core_model::ChartImage::new("image/png", vec![0x89, b'P', b'N', b'G', 1, 2, 3]);
    api.service.archive_chart_image(attached, image.clone()).await.unwrap();
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();

    let plan = client.fetch_coach_plan("d", TODAY).await.unwrap().expect("a plan");
    let copy = format!("{}/api/v1/charts/{}", api.base_url, image.digest);
    assert_eq!(plan.charts[0].url, attached, "the original link is kept");
    assert_eq!(
        plan.chart_images,
        [Some(copy.clone()), None],
        "only the attachment has a copy (the link is kept as is)"
    );
    assert_eq!(plan.chart_urls().collect::<Vec<_>>(), [copy.as_str(), link], "the links to follow");
}

#[tokio::test]
async fn no_plan_is_none_and_is_cached_for_the_short_ttl_only() {
    let api = spawn_api().await;
    let clock = manual_clock();
    let client = client_builder(&api.base_url, &clock).build().unwrap();

    assert_eq!(client.fetch_coach_plan("s", TODAY).await.unwrap(), None);
    assert_eq!(client.fetch_coach_plan("s", TODAY).await.unwrap(), None);
    assert_eq!(client.server_metrics().await.unwrap().count(PLAN_ROUTE, "GET", 404), 1, "the second was a hit");

    // The coach posts; once "no plan" has expired the client sees the plan.
    api.post(&ann(), "s", "swing: QQQ", &[]).await;
    clock.advance(NEGATIVE_TTL);
    let plan = client.fetch_coach_plan("s", TODAY).await.unwrap().expect("the new plan");
    assert_eq!(plan.text, "swing: QQQ");
    let server = client.server_metrics().await.unwrap();
    assert_eq!((server.count(PLAN_ROUTE, "GET", 404), server.count(PLAN_ROUTE, "GET", 200)), (1, 1));
}

#[tokio::test]
async fn fetching_a_whole_date_fills_the_single_plan_entries() {
    let api = spawn_api().await;
    api.post(&ann(), "i", "intraday: fade the open", &[]).await;
    api.post(&ann(), "d", "day: SPY 600", &[]).await;
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();

    let plans = client.fetch_all_coach_plans(TODAY).await.unwrap();
    let coaches: Vec<&str> = plans.iter().map(|p| p.coach.as_str()).collect();
    assert_eq!(coaches, ["d", "i"], "roster order");

    // Every coach of the roster is now a hit: the two plans and the two "no plan".
    assert_eq!(client.fetch_coach_plan("d", TODAY).await.unwrap().map(|p| p.text), Some("day: SPY 600".into()));
    assert_eq!(client.fetch_coach_plan("i", TODAY).await.unwrap().map(|p| p.version), Some(1));
    assert_eq!(client.fetch_coach_plan("s", TODAY).await.unwrap(), None);
    assert_eq!(client.fetch_coach_plan("n", TODAY).await.unwrap(), None);
    // And so is the whole date again.
    assert_eq!(client.fetch_all_coach_plans(TODAY).await.unwrap(), plans);

    let metrics = client.metrics();
    assert_eq!((metrics.requests.cache_hits, metrics.requests.cache_misses), (5, 1));
    assert_eq!(metrics.cache.size, 4);
    let server = client.server_metrics().await.unwrap();
    assert_eq!(server.count(PLANS_ROUTE, "GET", 200), 1);
    assert_eq!(server.count(PLAN_ROUTE, "GET", 200) + server.count(PLAN_ROUTE, "GET", 404), 0);
}

#[tokio::test]
async fn history_lists_every_change_newest_first() {
    let api = spawn_api().await;
    api.post(&ann(), "d", "first", &[]).await;
    api.edit(&ann(), "d", "second").await;
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();

    let history = client.history("d", TODAY).await.unwrap();
    let actions: Vec<HistoryAction> = history.iter().map(|e| e.action).collect();
    assert_eq!(actions, [HistoryAction::Edited, HistoryAction::Created]);
    assert_eq!(history[0].text_before.as_deref(), Some("first"));
    assert_eq!(history[0].text_after.as_deref(), Some("second"));
    assert_eq!((history[0].version, history[0].actor.user_id), (2, Some(UserId(111))));
    assert!(client.history("s", TODAY).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_plan_is_revalidated_with_its_etag_and_the_server_answers_304() {
    let api = spawn_api().await;
    api.post(&ann(), "d", "unchanged", &[]).await;
    let clock = manual_clock();
    let client = client_builder(&api.base_url, &clock).build().unwrap();

    let first = client.fetch_coach_plan("d", TODAY).await.unwrap().expect("a plan");
    clock.advance(TTL);
    let second = client.fetch_coach_plan("d", TODAY).await.unwrap().expect("a plan");
    assert_eq!(second, first);
    let server = client.server_metrics().await.unwrap();
    assert_eq!((server.count(PLAN_ROUTE, "GET", 200), server.count(PLAN_ROUTE, "GET", 304)), (1, 1));
    assert_eq!(client.metrics().requests.revalidations, 1);

    // The 304 made the entry fresh again: no request within the next TTL.
    clock.advance(TTL / 2);
    client.fetch_coach_plan("d", TODAY).await.unwrap();
    assert_eq!(client.server_metrics().await.unwrap().count(PLAN_ROUTE, "GET", 304), 1);

    // A changed plan is a 200 with the new version.
    api.edit(&ann(), "d", "changed").await;
    clock.advance(TTL);
    let third = client.fetch_coach_plan("d", TODAY).await.unwrap().expect("a plan");
    assert_eq!((third.text.as_str(), third.version), ("changed", 2));
    assert_eq!(client.server_metrics().await.unwrap().count(PLAN_ROUTE, "GET", 200), 2);
}

#[tokio::test]
async fn plans_learnt_from_a_whole_date_are_revalidated_with_a_304_too() {
    let api = spawn_api().await;
    api.post(&ann(), "d", "day plan", &[]).await;
    let clock = manual_clock();
    let client = client_builder(&api.base_url, &clock).build().unwrap();

    client.fetch_all_coach_plans(TODAY).await.unwrap();
    clock.advance(TTL);
    let plan = client.fetch_coach_plan("d", TODAY).await.unwrap().expect("a plan");
    assert_eq!(plan.text, "day plan");
    let server = client.server_metrics().await.unwrap();
    assert_eq!((server.count(PLAN_ROUTE, "GET", 200), server.count(PLAN_ROUTE, "GET", 304)), (0, 1));
}

#[tokio::test]
async fn roster_health_and_server_metrics_are_read() {
    let api = spawn_api().await;
    api.post(&ann(), "n", "CPI at 8:30", &[]).await;
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();

    let roster = client.coaches().await.unwrap();
    let ids: Vec<&str> = roster.roster.coaches().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["d", "i", "s", "n"]);
    assert_eq!((roster.today.to_string().as_str(), roster.market_timezone.as_str()), (TODAY, "America/New_York"));
    assert_eq!(client.today().to_string(), TODAY, "the client's today is the market's, at the same instant");

    let health = client.health().await.unwrap();
    assert!(health.is_healthy(), "{health:?}");
    assert_eq!(health.database.status, "ok");

    let metrics = client.server_metrics().await.unwrap();
    assert_eq!(metrics.plans.as_ref().map(|p| p.active), Some(1));
    assert_eq!(metrics.database, "ok");
    assert_eq!(metrics.count("/health", "GET", 200), 1);
}

#[tokio::test]
async fn today_is_accepted_as_a_date() {
    let api = spawn_api().await;
    api.post(&ann(), "d", "today's plan", &[]).await;
    let client = client_builder(&api.base_url, &manual_clock()).build().unwrap();
    let plan = client.fetch_coach_plan("d", "today").await.unwrap().expect("a plan");
    assert_eq!(plan.date.to_string(), TODAY);
    assert_eq!(client.fetch_all_coach_plans("TODAY").await.unwrap().len(), 1);
}
