//! Property: no path, query string or method a client sends makes the API answer 5xx.

use proptest::prelude::*;

use crate::helpers::{ann, spawn_app};

const PREFIXES: [&str; 10] = [
    "/",
    "/api/coach-plans/",
    "/api/coach-plans/all",
    "/api/coach-plans/history",
    "/api/v1/plans/",
    "/api/v1/plans/d/",
    "/api/v1/coaches/",
    "/api/v1/stats",
    "/metrics",
    "/health",
];

const METHODS: [&str; 5] = ["GET", "HEAD", "POST", "OPTIONS", "DELETE"];

#[test]
fn arbitrary_requests_never_get_a_5xx() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = runtime.block_on(async {
        let app = spawn_app().await;
        app.post(&ann(), "d", None, "a plan to find", vec![]).await;
        app
    });
    let config = ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(
        prefix in prop::sample::select(PREFIXES.as_slice()),
        method in prop::sample::select(METHODS.as_slice()),
        tail in "[a-zA-Z0-9_%:./~-]{0,24}",
        query in "[a-zA-Z0-9=&%_.:+-]{0,60}",
    )| {
        let url = format!("{}{prefix}{tail}?{query}", app.address);
        let Ok(url) = reqwest::Url::parse(&url) else { return Ok(()) };
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let status = runtime.block_on(async { app.client.request(method, url.clone()).send().await.unwrap().status() });
        prop_assert!(!status.is_server_error(), "{url} answered {status}");
    });
}
