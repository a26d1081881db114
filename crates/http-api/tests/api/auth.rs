//! With `api.auth: required`: who gets in where (no token, read, admin, revoked, expired, malformed, in both forms),
//! what a refusal says, the rate limit per caller, and the admin routes of webhooks.

use base64::Engine as _;
use core_model::Scope;
use http_api::{AccessConfig, ApiConfig, RateLimit};
use serde_json::{Value, json};

use crate::helpers::{TODAY, TestApp, ann, spawn_app_with};

fn required(rate_limit: RateLimit) -> ApiConfig {
    ApiConfig {
        access: AccessConfig {
            auth_required: true,
            rate_limit,
            admin_rate_limit: rate_limit,
            ..AccessConfig::default()
        },
        ..ApiConfig::default()
    }
}

const UNLIMITED: RateLimit = RateLimit::OFF;

/// One route of each group, as a GET.
const READ_ROUTES: &[&str] = &[
    "/api/coach-plans/?coach=d",
    "/api/coach-plans/all",
    "/api/coach-plans/history?coach=d",
    "/api/v1/plans",
    "/api/v1/tickers",
    "/api/v1/coaches",
    "/api/v1/stats",
    "/api/v1/openapi.json",
    "/metrics",
];

async fn status(app: &TestApp, path: &str, authorization: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = app.client.get(app.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap_or(Value::Null), challenge)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn basic(user: &str, token: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}")))
}

#[tokio::test]
async fn every_route_group_answers_each_kind_of_caller() {
    let app = spawn_app_with(required(UNLIMITED)).await;
    app.post(&ann(), "d", None, "Long $NVDA above 950", vec![]).await;
    let (read, _) = app.access.create("agent", Scope::Read, None).await.unwrap();
    let (admin, _) = app.access.create("ops", Scope::Admin, None).await.unwrap();
    let (revoked, _) = app.access.create("old", Scope::Admin, None).await.unwrap();
    app.access.revoke("old").await.unwrap();
    let (expired, _) = app.access.create("brief", Scope::Read, Some(1)).await.unwrap();
    app.clock.advance(24 * 3600);

    // Open to everyone.
    for path in ["/health", "/"] {
        assert_eq!(status(&app, path, None).await.0, 200, "{path}");
    }
    for path in READ_ROUTES {
        let (code, body, challenge) = status(&app, path, None).await;
        assert_eq!(code, 401, "{path} without a token");
        let challenge = challenge.expect("a 401 says how to authenticate");
        assert!(challenge.contains("Bearer") && challenge.contains("Basic"), "{challenge}");
        let message = if path.starts_with("/api/coach-plans") { &body["error"] } else { &body["message"] };
        assert!(message.as_str().unwrap().contains("token create"), "{path}: {body}");
        for token in [&read, &admin] {
            assert_eq!(status(&app, path, Some(&bearer(token.expose()))).await.0, 200, "{path} with a token");
            assert_eq!(status(&app, path, Some(&basic("agent", token.expose()))).await.0, 200, "{path} as Basic");
        }
        let (code, body, _) = status(&app, path, Some(&bearer(revoked.expose()))).await;
        assert_eq!(code, 401, "{path} revoked");
        assert!(body.to_string().contains("revoked"), "{body}");
        let (code, body, _) = status(&app, path, Some(&bearer(expired.expose()))).await;
        assert_eq!(code, 401, "{path} expired");
        assert!(body.to_string().contains("expired"), "{body}");
        assert_eq!(status(&app, path, Some("Bearer cpt_not-a-token")).await.0, 401, "{path} malformed");
        assert_eq!(status(&app, path, Some("Digest abc")).await.0, 401, "{path} other scheme");
    }
    let plan = format!("/api/v1/plans/d/{TODAY}");
    assert_eq!(status(&app, &plan, Some(&bearer(read.expose()))).await.0, 200);

    // The admin routes: admin tokens only.
    let (code, _, _) = status(&app, "/api/v1/webhooks", None).await;
    assert_eq!(code, 401);
    let (code, body, _) = status(&app, "/api/v1/webhooks", Some(&bearer(read.expose()))).await;
    assert_eq!(code, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("admin"), "{body}");
    assert_eq!(status(&app, "/api/v1/webhooks", Some(&bearer(admin.expose()))).await.0, 200);
    assert_eq!(status(&app, "/api/v1/webhooks", Some(&bearer(revoked.expose()))).await.0, 401);

    // MCP follows the same rule.
    let mcp = app.client.post(app.url("/mcp")).json(&json!({})).send().await.unwrap();
    assert_eq!(mcp.status(), 401, "/mcp needs a token too");
}

#[tokio::test]
async fn a_runaway_caller_is_limited_and_others_are_not() {
    let app = spawn_app_with(required(RateLimit { per_second: 2, burst: 5 })).await;
    let (loud, _) = app.access.create("loop", Scope::Read, None).await.unwrap();
    let (quiet, _) = app.access.create("quiet", Scope::Read, None).await.unwrap();
    let mut codes = Vec::new();
    for _ in 0..12 {
        codes.push(status(&app, "/api/v1/coaches", Some(&bearer(loud.expose()))).await.0);
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 5, "the burst passes, then no more: {codes:?}");
    let response =
        app.client.get(app.url("/api/v1/coaches")).header("authorization", bearer(loud.expose())).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert!(body["message"].as_str().unwrap().contains("too many requests"), "{body}");
    assert_eq!(status(&app, "/api/v1/coaches", Some(&bearer(quiet.expose()))).await.0, 200, "others go on");
    for _ in 0..20 {
        assert_eq!(status(&app, "/health", None).await.0, 200, "probes are never limited");
    }
    // Guessing tokens counts against the address: after the burst, 429 instead of 401.
    let mut guesses = Vec::new();
    for n in 0..8 {
        let guess = format!("Bearer cpt_{n:0>30}");
        guesses.push(status(&app, "/api/v1/coaches", Some(&guess)).await.0);
    }
    assert_eq!(&guesses[..5], [401; 5], "{guesses:?}");
    assert!(guesses[5..].iter().all(|s| *s == 429), "{guesses:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(status(&app, "/api/v1/coaches", Some(&bearer(loud.expose()))).await.0, 200, "it recovers");
    let metrics = app.get("/metrics?format=prometheus").await;
    assert_eq!(metrics.status(), 401);
    let metrics = app
        .client
        .get(app.url("/metrics?format=prometheus"))
        .header("authorization", bearer(quiet.expose()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("status=\"429\""), "refusals are counted: {metrics}");
}

/// An answer a token opened is for the caller's own cache: a shared cache (a proxy, a CDN) would hand it to callers
/// without one. Without authentication, shared caches may keep the answers.
#[tokio::test]
async fn answers_opened_by_a_token_are_kept_by_the_callers_cache_only() {
    for (auth_required, visibility) in [(true, "private"), (false, "public")] {
        let config =
            ApiConfig { access: AccessConfig { auth_required, ..required(UNLIMITED).access }, ..required(UNLIMITED) };
        let app = spawn_app_with(config).await;
        let (token, _) = app.access.create("agent", Scope::Read, None).await.unwrap();
        app.post(&ann(), "d", None, "Long $NVDA above 950", vec![]).await;
        let image = core_model::ChartImage::new("image/png", vec![1, 2, 3]);
        app.service
            .archive_chart_image("https://cdn.discordapp.com/attachments/1/2/a.png", image.clone())
            .await
            .unwrap();
        let chart = format!("/api/v1/charts/{}", image.digest);
        for path in [&format!("/api/v1/plans/d/{TODAY}"), "/api/v1/plans?ticker=NVDA", "/api/v1/tickers", &chart] {
            let response =
                app.client.get(app.url(path)).header("authorization", bearer(token.expose())).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let cache_control = response.headers()["cache-control"].to_str().unwrap().to_owned();
            assert!(cache_control.starts_with(&format!("{visibility}, max-age=")), "{path}: {cache_control}");
        }
    }
}

#[tokio::test]
async fn an_admin_manages_webhooks_over_http() {
    let app = spawn_app_with(required(UNLIMITED)).await;
    let (admin, _) = app.access.create("ops", Scope::Admin, None).await.unwrap();
    let auth = bearer(admin.expose());
    let add = |body: Value| {
        app.client.post(app.url("/api/v1/webhooks")).header("authorization", auth.clone()).json(&body).send()
    };
    let created = add(json!({ "url": "http://127.0.0.1:9/hook", "events": ["plan.created"] })).await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created["events"], json!(["plan.created"]));
    let id = created["id"].as_i64().unwrap();
    let refused = add(json!({ "url": "https://10.0.0.1/hook" })).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("private"));
    let unknown_field = add(json!({ "url": "https://hooks.example.com/", "secret": "mine" })).await.unwrap();
    assert_eq!(unknown_field.status(), 400);
    let no_events = add(json!({ "url": "https://hooks.example.com/", "events": [] })).await.unwrap();
    assert_eq!(no_events.status(), 400);
    let said: Value = no_events.json().await.unwrap();
    assert!(said["message"].as_str().unwrap().contains("leave the events out"), "{said}");
    let every = add(json!({ "url": "https://hooks.example.com/every" })).await.unwrap();
    assert_eq!(every.status(), 201);
    let every: Value = every.json().await.unwrap();
    assert_eq!(every["events"].as_array().map(Vec::len), Some(5), "absent events mean every plan event: {every}");

    let (code, list, _) = status(&app, "/api/v1/webhooks", Some(&auth)).await;
    assert_eq!(code, 200);
    assert_eq!(list["webhooks"][0]["id"], id);
    assert_eq!(list["webhooks"].as_array().map(Vec::len), Some(2), "the refused ones are not stored: {list}");
    assert!(list["webhooks"][0].get("secret").is_none(), "never listed again: {list}");

    let test = app
        .client
        .post(app.url(&format!("/api/v1/webhooks/{id}/test")))
        .header("authorization", auth.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(test.status(), 202);
    let test: Value = test.json().await.unwrap();
    assert_eq!((test["event"].as_str(), test["status"].as_str()), (Some("webhook.test"), Some("pending")));
    let (code, deliveries, _) = status(&app, &format!("/api/v1/webhooks/{id}/deliveries"), Some(&auth)).await;
    assert_eq!(code, 200);
    assert_eq!(deliveries["deliveries"][0]["message_id"], test["message_id"]);
    let delete = |id: i64| {
        app.client.delete(app.url(&format!("/api/v1/webhooks/{id}"))).header("authorization", auth.clone()).send()
    };
    assert_eq!(delete(id).await.unwrap().status(), 204);
    assert_eq!(delete(id).await.unwrap().status(), 404);
}
