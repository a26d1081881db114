//! What every route shares: request ids, CORS, 404 and 405 as JSON, HEAD, and size limits.

use http_api::ApiConfig;
use serde_json::Value;

use crate::helpers::{RawConnection, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_request_id_is_taken_from_the_caller_or_generated_and_always_returned() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/api/v1/plans/x/today")).header("X-Request-Id", "agent-7:run-42").send();
    let response = response.await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "agent-7:run-42");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], "agent-7:run-42");

    let generated = app.get("/health").await.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let another = app.get("/health").await.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(generated, another);

    for unusable in ["has spaces", &"x".repeat(200), ""] {
        let response = app.client.get(app.url("/health")).header("X-Request-Id", unusable).send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 36, "{unusable:?} is replaced by a generated id");
    }
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let config = ApiConfig { cors_origins: vec!["https://dashboard.example.com".into()], ..ApiConfig::default() };
    let app = spawn_app_with(config).await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/plans"))
        .header("Origin", "https://dashboard.example.com")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "if-none-match, x-request-id")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://dashboard.example.com");
    let methods = preflight.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(methods.contains("GET"), "{methods}");
    // A read with a token is allowed; writes (webhook management, MCP's POSTs) are not, from any origin.
    let preflight = |method: &'static str, headers: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/webhooks"))
            .header("Origin", "https://dashboard.example.com")
            .header("Access-Control-Request-Method", method)
            .header("Access-Control-Request-Headers", headers)
            .send()
    };
    let with_token = preflight("GET", "authorization").await.unwrap();
    assert_eq!(with_token.status(), 200);
    for write in ["POST", "DELETE"] {
        let refused = preflight(write, "authorization, content-type").await.unwrap();
        assert_eq!(refused.status(), 400, "{write}");
        assert!(refused.headers().get("access-control-allow-origin").is_none(), "{write}");
    }

    let simple = app.client.get(app.url("/health")).header("Origin", "https://dashboard.example.com").send().await;
    let simple = simple.unwrap();
    assert_eq!(simple.headers()["access-control-allow-origin"], "https://dashboard.example.com");
    let exposed = simple.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("etag") && exposed.contains("x-request-id"), "{exposed}");

    let stranger = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/plans"))
        .header("Origin", "https://evil.example.net")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(stranger.headers().get("access-control-allow-origin").is_none());
    assert_eq!(stranger.status(), 400);
    let body: Value = stranger.json().await.unwrap();
    assert_eq!(body["error"], "bad_request", "a refusal is JSON like every other error");
    assert!(body["message"].as_str().unwrap().contains("Origin is not allowed"), "{body}");

    // A request refused for its size is readable by the page that sent it: its error and request id.
    let long = app.url(&format!("/api/v1/plans?q={}", "a".repeat(5000)));
    let too_long = app.client.get(long).header("Origin", "https://dashboard.example.com").send().await.unwrap();
    assert_eq!(too_long.status(), 414);
    assert_eq!(too_long.headers()["access-control-allow-origin"], "https://dashboard.example.com");
    let exposed = too_long.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

#[tokio::test]
async fn unknown_routes_are_404_and_other_methods_405_with_json_bodies() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v2/plans").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    assert!(body["message"].as_str().unwrap().starts_with("no route /api/v2/plans"));

    for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
        let response = app.client.request(method.clone(), app.url("/api/v1/plans/d/today")).send().await.unwrap();
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "method_not_allowed");
        assert_eq!(body["message"], format!("{method} is not allowed here; use GET or HEAD"));
    }
    let head = app.client.head(app.url("/health")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn oversized_bodies_and_query_strings_are_refused() {
    let config = ApiConfig { max_body_bytes: 1024, max_query_bytes: 256, ..ApiConfig::default() };
    let app = spawn_app_with(config).await;
    let big = app.client.post(app.url("/api/v1/plans")).body(vec![b'x'; 4096]).send().await.unwrap();
    assert_eq!(big.status(), 413);
    let body: Value = big.json().await.unwrap();
    assert_eq!(body["message"], "the request body is larger than 1024 bytes");
    let long = format!("/api/v1/plans?date=today&pad={}", "a".repeat(300));
    let (status, body) = app.get_json(&long).await;
    assert_eq!((status, body["error"].as_str()), (414, Some("uri_too_long")));
    let (status, _) = app.get_json("/api/v1/plans?date=today").await;
    assert_eq!(status, 200);
}

/// A request with a chunked body (no `Content-Length`) of `chunks` chunks of 512 bytes.
fn chunked(method_and_path: &str, host: &str, chunks: usize) -> Vec<u8> {
    let mut request =
        format!("{method_and_path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    for _ in 0..chunks {
        request.extend_from_slice(b"200\r\n");
        request.extend_from_slice(&[b'x'; 512]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused_too() {
    let config = ApiConfig { max_body_bytes: 1024, ..ApiConfig::default() };
    let app = spawn_app_with(config).await;
    for target in ["POST /api/v1/plans", "GET /health", "GET /api/coach-plans/?coach=d"] {
        let mut connection = RawConnection::connect(&app).await;
        connection.send(&chunked(target, &connection.host.clone(), 8)).await;
        let response = connection.read_response().await;
        assert_eq!(response.status, 413, "{target}: 4096 bytes without a Content-Length");
        let body = response.json();
        assert_eq!(body["error"], "payload_too_large");
        assert_eq!(body["message"], "the request body is larger than 1024 bytes");
    }
    let mut connection = RawConnection::connect(&app).await;
    connection.send(&chunked("GET /health", &connection.host.clone(), 2)).await;
    let response = connection.read_response().await;
    assert_eq!(response.status, 200, "a chunked body within the limit is read and ignored");
    assert_eq!(response.json()["status"], "healthy");
}

#[tokio::test]
async fn the_error_kind_follows_the_status() {
    let config =
        ApiConfig { max_body_bytes: 16, cors_origins: vec!["https://a.example.com".into()], ..ApiConfig::default() };
    let app = spawn_app_with(config).await;
    let cases = [
        (app.client.get(app.url("/nowhere")), 404, "not_found"),
        (app.client.delete(app.url("/api/v1/coaches")), 405, "method_not_allowed"),
        (app.client.put(app.url("/api/v1/coaches")).body("x".repeat(17)), 413, "payload_too_large"),
        (app.client.get(app.url(&format!("/health?{}", "q".repeat(5000)))), 414, "uri_too_long"),
        (
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/health"))
                .header("Origin", "https://b.example.com")
                .header("Access-Control-Request-Method", "GET"),
            400,
            "bad_request",
        ),
    ];
    for (request, status, kind) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{kind}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], kind, "{body}");
    }
}
