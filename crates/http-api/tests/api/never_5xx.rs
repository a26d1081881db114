//! Properties: no path, query string, method or body a client sends makes the API answer 5xx or fail to answer;
//! every route answers arbitrary values with a success or a 4xx with a JSON error body.

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

/// Every route of the API, with `{coach}`, `{date}` and the legacy query's values to fill.
const TEMPLATES: [&str; 14] = [
    "/",
    "/health",
    "/metrics",
    "/api/coach-plans/?coach={coach}&date={date}",
    "/api/coach-plans?coach={coach}",
    "/api/coach-plans/all?date={date}",
    "/api/coach-plans/history?coach={coach}&date={date}",
    "/api/v1/plans?date={date}",
    "/api/v1/plans/{coach}/{date}",
    "/api/v1/plans/{coach}/{date}/history",
    "/api/v1/coaches",
    "/api/v1/coaches/{coach}/history",
    "/api/v1/stats",
    "/api/v1/openapi.json",
];

/// Methods a client may send, the odd ones included.
const ANY_METHODS: [&str; 8] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"];

/// What a client may put in a path segment or a query value: valid values, near misses, and any text at all
/// (right-to-left and zero-width characters, emoji, combining marks, separators, percent signs).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["d", "coach_d", "D", "today", "2025-11-09", "2025-02-30", "-1", "9999999999"])
            .prop_map(str::to_owned),
        "[0-9-]{0,12}",
        "\\PC{0,16}",
        prop::collection::vec(
            prop::sample::select(vec![
                "\u{202e}",
                "\u{200b}",
                "\u{feff}",
                "e\u{301}",
                "👨‍👩‍👧",
                "/",
                "?",
                "&",
                "=",
                "%",
                "#",
                "..",
                " "
            ]),
            0..8
        )
        .prop_map(|pieces| pieces.concat()),
    ]
}

/// `text` percent-encoded as a path segment or query value: every byte but the unreserved ones.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn every_route_answers_arbitrary_values_methods_and_bodies_with_a_json_4xx_or_success() {
    use app::test_secrets::API_CREDENTIAL;

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = runtime.block_on(async {
        let app = spawn_app().await;
        app.post(&ann(), "d", None, "a plan to find", vec![]).await;
        app
    });
    let roster = core_model::Roster::default();
    let config = ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(
        template in prop::sample::select(TEMPLATES.as_slice()),
        coach in value(),
        date in value(),
        extra in prop::collection::vec((value(), value()), 0..4),
        method in prop::sample::select(ANY_METHODS.as_slice()),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        content_type in prop::sample::select(vec!["", "application/json", "application/x-www-form-urlencoded", "text/plain; charset=utf-16"]),
    )| {
        let path = template.replace("{coach}", &encode(&coach)).replace("{date}", &encode(&date));
        let extra: Vec<String> = extra.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}{path}{separator}{}", app.address, extra.join("&"));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let is_head = method == reqwest::Method::HEAD;
        let (status, text) = runtime.block_on(async {
            let mut request = app
                .client
                .request(method.clone(), &url)
                .header("Authorization", format!("Bearer {API_CREDENTIAL}"))
                .header("Cookie", format!("session={API_CREDENTIAL}"))
                .body(body);
            if !content_type.is_empty() {
                request = request.header("Content-Type", content_type);
            }
            let response = request.send().await.unwrap_or_else(|e| panic!("{method} {url}: no answer: {e}"));
            let status = response.status();
            (status, response.text().await.unwrap_or_default())
        });
        prop_assert!(
            status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED || status.is_client_error(),
            "{method} {url} answered {status}: {text}"
        );
        if status.is_client_error() && !is_head {
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{method} {url} answered {status} with no JSON ({e}): {text}")))?;
            prop_assert!(json.get("error").is_some(), "{method} {url} answered {status}: {text}");
        }
        // A path naming a coach that is not on the roster is never a success.
        let names_a_coach =
            template.starts_with("/api/v1/plans/{coach}") || template.starts_with("/api/v1/coaches/{coach}");
        if names_a_coach && roster.parse(&coach).is_err() {
            prop_assert!(status.is_client_error(), "{method} {url} answered {status} for an unknown coach");
        }
    });
}
