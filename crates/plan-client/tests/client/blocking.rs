//! The blocking facade: the same behaviour from a thread without a runtime, and a clear error inside one.

use plan_client::{Error, PlanClient};

use crate::fault_server::{FaultServer, plan_answer};
use crate::support::{TODAY, client_builder, manual_clock};

#[test]
fn the_blocking_client_fetches_and_caches_without_a_runtime_of_its_own() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(FaultServer::start(|_, _| plan_answer("d", TODAY, 1)));
    let client = client_builder(&server.base_url, &manual_clock()).build_blocking().unwrap();

    let plan = client.fetch_coach_plan("d", TODAY).unwrap().expect("a plan");
    assert_eq!(plan.text, "plan of d, version 1");
    let from_a_thread = std::thread::scope(|s| s.spawn(|| client.fetch_coach_plan("d", TODAY)).join().unwrap());
    assert_eq!(from_a_thread.unwrap(), Some(plan));
    assert_eq!(server.seen().len(), 1);
    assert_eq!(client.metrics().requests.cache_hits, 1);
    drop(client);
}

#[test]
fn the_blocking_client_refuses_to_block_an_async_runtime() {
    let client = plan_client::blocking::PlanClient::new("http://127.0.0.1:9").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let result = runtime.block_on(async { client.fetch_coach_plan("d", TODAY) });
    let error = result.unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }));
    assert!(error.to_string().contains("use plan_client::PlanClient there"), "{error}");
    let _: &PlanClient = client.as_async();
}

#[test]
fn the_blocking_client_searches_and_counts_tickers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let api = runtime.block_on(async {
        let api = crate::support::spawn_api().await;
        api.post(&crate::support::ann(), "d", "NVDA long, $amd weak", &[]).await;
        api
    });
    let client = client_builder(&api.base_url, &manual_clock()).build_blocking().unwrap();
    let page = client.search(&plan_client::SearchQuery::new().ticker("AMD")).unwrap();
    assert_eq!(page.plans.len(), 1);
    assert_eq!(client.search_all(&plan_client::SearchQuery::new().words("weak"), 10).unwrap().len(), 1);
    let mentions = client.ticker_mentions(&plan_client::MentionsQuery::new()).unwrap();
    assert_eq!(mentions.tickers.len(), 2);
    drop(client);
}
