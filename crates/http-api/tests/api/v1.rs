//! The `/api/v1` routes: bodies, 404 and 400 errors, ETags and 304s.

use serde_json::Value;

use http_api::ApiConfig;

use crate::helpers::{TODAY, TestApp, ann, bob, chart, spawn_app, spawn_app_with_policy};

async fn error_of(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], request_id, "the error names the request id of its response");
    (status, body)
}

#[tokio::test]
async fn one_plan_with_every_field() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "QQQ long over 440", vec![chart("https://cdn.test/q.png")]).await;
    for path in
        [format!("/api/v1/plans/d/{TODAY}"), "/api/v1/plans/coach_d/today".into(), format!("/api/v1/plans/D/{TODAY}")]
    {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["coach"], "d");
        assert_eq!(body["coach_name"], "Day Trading");
        assert_eq!(body["date"], TODAY);
        assert_eq!(body["text"], "QQQ long over 440");
        assert_eq!(body["author"]["user_id"], "111", "ids are strings");
        assert_eq!(body["author"]["display_name"], "Ann");
        assert_eq!(body["source"]["channel_name"], "trading-plans");
        assert_eq!(body["charts"][0]["url"], "https://cdn.test/q.png");
        assert_eq!(body["charts"][0]["kind"], "link");
        assert_eq!(body["version"], 1);
        assert_eq!(body["edited"], false);
    }
}

#[tokio::test]
async fn a_plan_has_an_etag_that_answers_304_until_it_changes() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "v1", vec![]).await;
    let path = format!("/api/v1/plans/d/{TODAY}");
    let first = app.get(&path).await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(first.headers()["cache-control"].to_str().unwrap().contains("max-age="));

    let revalidated = app.client.get(app.url(&path)).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], etag.as_str());
    assert!(revalidated.bytes().await.unwrap().is_empty());
    let listed = app.client.get(app.url(&path)).header("If-None-Match", format!("\"other\", W/{etag}")).send().await;
    assert_eq!(listed.unwrap().status(), 304, "a weak form in a list matches too");

    app.edit(&ann(), "d", None, "v2").await;
    let changed = app.client.get(app.url(&path)).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], etag.as_str());
    let body: Value = changed.json().await.unwrap();
    assert_eq!(
        (body["text"].as_str(), body["version"].as_u64(), body["edited"].as_bool()),
        (Some("v2"), Some(2), Some(true))
    );
}

#[tokio::test]
async fn absent_plans_are_404_and_bad_input_is_400() {
    let app = spawn_app().await;
    let (status, body) = error_of(&app, &format!("/api/v1/plans/d/{TODAY}")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    assert_eq!(body["message"], format!("there is no plan for coach d on {TODAY}"));
    let cases = [
        ("/api/v1/plans/x/today", "unknown coach `x`; valid coaches are: d, i, s, n"),
        ("/api/v1/plans/d/2025-1-1", "`2025-1-1` is not a date; write it as YYYY-MM-DD (e.g. 2025-11-09) or `today`"),
        ("/api/v1/plans/d/Today", "`Today` is not a date; write it as YYYY-MM-DD (e.g. 2025-11-09) or `today`"),
        ("/api/v1/plans?date=nope", "`nope` is not a date; write it as YYYY-MM-DD (e.g. 2025-11-09) or `today`"),
        (
            "/api/v1/plans?date=%202025-11-09",
            "` 2025-11-09` is not a date; write it as YYYY-MM-DD (e.g. 2025-11-09) or `today`",
        ),
        ("/api/v1/plans?author=ann", "`author` must be a Discord user id (up to 19 digits), not `ann`"),
        ("/api/v1/plans?author=%2B111", "`author` must be a Discord user id (up to 19 digits), not `+111`"),
        ("/api/v1/plans?coach=q", "unknown coach `q`; valid coaches are: d, i, s, n"),
        ("/api/v1/plans?coach=d%20", "unknown coach `d `; valid coaches are: d, i, s, n"),
        ("/api/v1/plans/d/today/history?limit=0", "`limit` must be a whole number from 1 to 1000, not `0`"),
        ("/api/v1/plans/d/today/history?limit=%2B5", "`limit` must be a whole number from 1 to 1000, not `+5`"),
        ("/api/v1/coaches/d/history?limit=many", "`limit` must be a whole number from 1 to 1000, not `many`"),
        ("/api/v1/coaches/nobody/history", "unknown coach `nobody`; valid coaches are: d, i, s, n"),
        ("/metrics?format=JSON", "unknown format `JSON`; use json or prometheus"),
    ];
    for (path, message) in cases {
        let (status, body) = error_of(&app, path).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{path}");
        assert_eq!(body["message"], message, "{path}");
    }
}

fn texts(body: &Value) -> Vec<String> {
    body["plans"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn plans_of_a_date_with_coach_and_author_filters() {
    let app = spawn_app().await;
    app.post(&bob(), "n", None, "news", vec![]).await;
    app.post(&ann(), "s", None, "swing", vec![]).await;
    app.post(&ann(), "d", None, "day", vec![]).await;
    app.post(&ann(), "d", Some("2025-11-08"), "yesterday", vec![]).await;
    let (status, body) = app.get_json(&format!("/api/v1/plans?date={TODAY}")).await;
    assert_eq!((status, body["date"].as_str()), (200, Some(TODAY)));
    assert_eq!(texts(&body), ["day", "swing", "news"], "roster order: d, i, s, n");
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str(), &body["next_cursor"]),
        (Some(TODAY), Some(TODAY), &Value::Null)
    );
    let (_, body) = app.get_json("/api/v1/plans?date=2025-11-08").await;
    assert_eq!(texts(&body), ["yesterday"]);
    let (_, body) = app.get_json("/api/v1/plans?date=today&coach=coach_s").await;
    assert_eq!(texts(&body), ["swing"]);
    let (_, body) = app.get_json("/api/v1/plans?date=today&author=111").await;
    assert_eq!(texts(&body), ["day", "swing"]);
    let (_, body) = app.get_json("/api/v1/plans?author=222&date=2025-11-08").await;
    assert!(texts(&body).is_empty());
    let (status, body) = app.get_json("/api/v1/plans?coach=&author=").await;
    assert_eq!(status, 400, "a parameter given must have a value");
    assert_eq!(body["message"], "`coach` is empty; give it a value or leave it out");

    // Without a date: the 30 days ending today, newest date first.
    let (_, body) = app.get_json("/api/v1/plans").await;
    assert_eq!(body["date"], Value::Null);
    assert_eq!((body["from"].as_str(), body["to"].as_str()), (Some("2025-10-11"), Some(TODAY)));
    assert_eq!(texts(&body), ["day", "swing", "news", "yesterday"]);

    let first = app.get("/api/v1/plans").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = app.client.get(app.url("/api/v1/plans")).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    app.edit(&bob(), "n", None, "news, edited").await;
    let changed = app.client.get(app.url("/api/v1/plans")).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200, "an edit of any plan of the list changes its ETag");
}

#[tokio::test]
async fn history_of_a_date_and_of_a_coach() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "v1", vec![]).await;
    app.clock.advance(10);
    app.edit(&ann(), "d", None, "v2").await;
    app.post(&ann(), "d", Some("2025-11-08"), "old", vec![]).await;
    let (status, body) = app.get_json(&format!("/api/v1/plans/d/{TODAY}/history")).await;
    assert_eq!(status, 200);
    assert_eq!(body["coach"], "d");
    assert_eq!(body["date"], TODAY);
    let entries = body["entries"].as_array().unwrap();
    let actions: Vec<_> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["edited", "created"]);
    assert_eq!(entries[0]["text_before"], "v1");
    assert_eq!(entries[0]["text_after"], "v2");
    assert_eq!(entries[0]["actor"]["user_id"], "111");
    assert_eq!(entries[0]["version"], 2);
    let (_, limited) = app.get_json(&format!("/api/v1/plans/d/{TODAY}/history?limit=1")).await;
    assert_eq!(limited["entries"].as_array().unwrap().len(), 1);
    let (status, all) = app.get_json("/api/v1/coaches/d/history").await;
    assert_eq!((status, all["date"].clone()), (200, Value::Null));
    assert_eq!(all["entries"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn coaches_and_stats() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v1/coaches").await;
    assert_eq!(status, 200);
    assert_eq!(body["market_timezone"], "America/New_York");
    assert_eq!(body["today"], TODAY);
    let ids: Vec<_> = body["coaches"].as_array().unwrap().iter().map(|c| c["legacy_name"].as_str().unwrap()).collect();
    assert_eq!(ids, ["coach_d", "coach_i", "coach_s", "coach_n"]);
    assert_eq!(body["coaches"][3]["name"], "News/Events");

    app.post(&ann(), "d", None, "d", vec![chart("https://cdn.test/1.png")]).await;
    app.post(&ann(), "s", Some("2025-11-03"), "s", vec![]).await;
    let (status, stats) = app.get_json("/api/v1/stats").await;
    assert_eq!(status, 200);
    assert_eq!(stats["active_plans"], 2);
    assert_eq!(stats["charts"], 1);
    assert_eq!(stats["history_entries"], 2);
    assert_eq!(stats["active_by_coach"]["s"], 1);
    assert_eq!((stats["first_date"].as_str(), stats["last_date"].as_str()), (Some("2025-11-03"), Some(TODAY)));
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "documented", vec![]).await;
    let image = core_model::ChartImage::new("image/png", vec![1, 2, 3]);
    app.service.archive_chart_image("https://cdn.discordapp.com/attachments/1/2/a.png", image.clone()).await.unwrap();
    let (status, doc) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(paths.len(), 19, "{paths:?}");
    for path in paths {
        let concrete = path
            .replace("{coach}", "d")
            .replace("{date}", TODAY)
            .replace("{digest}", image.digest.as_str())
            .replace("{id}", "1");
        let query = if concrete.starts_with("/api/coach-plans/") { "?coach=d" } else { "" };
        let methods = doc["paths"][path].as_object().unwrap();
        let url = app.url(&format!("{concrete}{query}"));
        for method in methods.keys() {
            let response = app.client.request(method.to_uppercase().parse().unwrap(), &url).send().await.unwrap();
            // Without authentication, the admin routes are refused: they change the deployment.
            let expected = if path.starts_with("/api/v1/webhooks") { 403 } else { 200 };
            assert_eq!(response.status(), expected, "{method} {path}: {:?}", response.text().await);
        }
    }
    let (status, _) = app.get_json("/api/coach-plans?coach=d").await;
    assert_eq!(status, 200, "the undocumented alias of /api/coach-plans/ is served too");
    assert!(doc["components"]["schemas"]["PlanDto"].is_object());
    let description = doc["paths"]["/api/coach-plans/"]["get"]["description"].as_str().unwrap();
    assert!(description.contains("`/api/coach-plans`"), "the document names the alias: {description}");
}

#[tokio::test]
async fn the_served_document_names_the_configured_coaches() {
    let coach = |id: &str| core_model::Coach { id: core_model::CoachId::new(id).unwrap(), name: id.to_owned() };
    let roster = core_model::Roster::new(vec![coach("fx"), coach("gold")]).unwrap();
    let app =
        spawn_app_with_policy(ApiConfig::default(), service::Policy { roster, ..service::Policy::default() }).await;
    let (_, doc) = app.get_json("/api/v1/openapi.json").await;
    let coach = &doc["paths"]["/api/v1/coaches/{coach}/history"]["get"]["parameters"][0];
    assert_eq!(coach["schema"]["examples"], serde_json::json!(["fx", "gold"]));
    let pattern = coach["schema"]["pattern"].as_str().unwrap();
    assert!(pattern.contains("[gG][oO][lL][dD]") && !pattern.contains("[dD]|"), "{pattern}");
    assert_eq!(app.get_json("/api/v1/coaches/GOLD:/history").await.0, 200, "a form the pattern admits is served");
    assert_eq!(app.get_json("/api/v1/coaches/d/history").await.0, 400, "a coach of the default roster is not");
}

#[tokio::test]
async fn plans_are_found_by_ticker_words_and_range_a_page_at_a_time() {
    let app = spawn_app().await;
    let text = "Long $amd over 152; TSLA weak. PPI 8:30 ET, no FOMC today. I trim at EOD";
    app.post(&ann(), "d", None, text, vec![]).await;
    app.post(&bob(), "s", Some("2025-10-26"), "AMD swing from two weeks ago, gap fill", vec![]).await;
    app.post(&bob(), "i", Some("2025-09-30"), "AMD from 40 days ago", vec![]).await;
    app.post(&ann(), "n", Some("2025-11-08"), "$AMD deleted later", vec![]).await;
    app.service
        .delete(&ann(), &core_model::CoachId::new("n").unwrap(), Some("2025-11-08".parse().unwrap()))
        .await
        .unwrap();

    let (status, body) = app.get_json("/api/v1/plans?ticker=AMD").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&body), [text, "AMD swing from two weeks ago, gap fill"], "not 40 days ago, never deleted");
    assert_eq!(body["plans"][0]["tickers"], serde_json::json!(["AMD", "TSLA"]));
    let (_, body) = app.get_json("/api/v1/plans?ticker=%24tsla&ticker=NVDA").await;
    assert_eq!(texts(&body), [text], "a cashtag in any case; any of several tickers");
    let (_, body) = app.get_json("/api/v1/plans?q=trim").await;
    assert_eq!(texts(&body), [text], "by a word");
    let (_, body) = app.get_json("/api/v1/plans?q=%22gap+fill%22&coach=s&coach=i").await;
    assert_eq!(texts(&body), ["AMD swing from two weeks ago, gap fill"]);
    let (_, body) = app.get_json("/api/v1/plans?ticker=AMD&from=2025-09-01&to=2025-10-31").await;
    assert_eq!(texts(&body), ["AMD swing from two weeks ago, gap fill", "AMD from 40 days ago"]);

    let (_, page) = app.get_json("/api/v1/plans?ticker=AMD&from=2025-09-01&limit=2").await;
    assert_eq!(texts(&page).len(), 2);
    let cursor = page["next_cursor"].as_str().expect("a next page").to_owned();
    let (_, rest) = app.get_json(&format!("/api/v1/plans?ticker=AMD&from=2025-09-01&limit=2&cursor={cursor}")).await;
    assert_eq!((texts(&rest), &rest["next_cursor"]), (vec!["AMD from 40 days ago".to_owned()], &Value::Null));

    let cases = [
        (
            "/api/v1/plans?from=2024-01-01&to=2025-11-01",
            "the range from 2024-01-01 to 2025-11-01 covers 671 days; search at most 366 days at a time",
        ),
        (
            "/api/v1/plans?from=2025-11-02&to=2025-11-01",
            "`from` (2025-11-02) is after `to` (2025-11-01); give the earlier date as `from`",
        ),
        (
            "/api/v1/plans?date=today&from=2025-11-01",
            "give either `date` (one day) or `from` and `to` (a range), not both",
        ),
        (
            "/api/v1/plans?ticker=GOOGLE",
            "`GOOGLE` is not a ticker; write 1 to 5 letters (e.g. NVDA), with an optional class (BRK.B) or as a crypto pair (BTC-USD), with or without a leading $",
        ),
        ("/api/v1/plans?limit=201", "`limit` must be a whole number from 1 to 200, not `201`"),
        (
            "/api/v1/plans?cursor=abc",
            "`abc` is not a cursor this server gave; repeat the search without `cursor` to start again",
        ),
        ("/api/v1/plans?date=today&date=today", "`date` is given twice; give it once"),
        ("/api/v1/tickers?coach=x", "unknown coach `x`; valid coaches are: d, i, s, n"),
    ];
    for (path, message) in cases {
        let (status, body) = app.get_json(path).await;
        assert_eq!((status, body["message"].as_str()), (400, Some(message)), "{path}");
    }
}

#[tokio::test]
async fn ticker_mentions_count_the_plans_of_a_range_with_an_etag() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "NVDA long, $amd weak", vec![]).await;
    app.post(&bob(), "s", Some("2025-11-01"), "NVDA swing", vec![]).await;
    app.post(&bob(), "n", None, "TSLA headlines", vec![]).await;
    let (status, body) = app.get_json("/api/v1/tickers").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"from": "2025-10-11", "to": TODAY, "tickers": [
            {"ticker": "NVDA", "plans": 2, "coaches": ["d", "s"], "last_date": TODAY},
            {"ticker": "AMD", "plans": 1, "coaches": ["d"], "last_date": TODAY},
            {"ticker": "TSLA", "plans": 1, "coaches": ["n"], "last_date": TODAY},
        ]})
    );
    let (_, only_s) = app.get_json("/api/v1/tickers?coach=s&from=2025-11-01&to=2025-11-01").await;
    assert_eq!(
        only_s["tickers"],
        serde_json::json!([{"ticker": "NVDA", "plans": 1, "coaches": ["s"], "last_date": "2025-11-01"}])
    );
    let first = app.get("/api/v1/tickers").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = app.client.get(app.url("/api/v1/tickers")).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    app.edit(&bob(), "n", None, "TSLA and AMD headlines").await;
    let changed = app.client.get(app.url("/api/v1/tickers")).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200, "an edit that changes a count changes the ETag");
}
