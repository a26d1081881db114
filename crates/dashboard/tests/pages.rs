//! The dashboard's pages over a real service and SQLite store, through actix's test server: what a reader sees, that
//! plan text can never run as script, the security headers, the live list's conditional reads, and clear pages for
//! bad input.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::{App, test};
use core_model::testing::{ManualClock, ann, bob};
use core_model::{ChartImage, ChartKind, CoachId, NewChart, PlanSource, PlanText, TradingDate};
use dashboard::{CONTENT_SECURITY_POLICY, Dashboard};
use service::{EditPlan, PlanService, Policy, PostPlan};
use storage::{SqliteStore, StoreOptions};

/// 2025-11-10 15:00 UTC: 2025-11-10 in New York.
const NOW: &str = "2025-11-10T15:00:00Z";
const TODAY: &str = "2025-11-10";
const ATTACHED: &str = "https://cdn.discordapp.com/attachments/2/9/nvda.png?ex=1&is=2&hm=3";

fn post(coach: &str, text: &str, charts: Vec<NewChart>) -> PostPlan {
    PostPlan {
        coach: CoachId::new(coach).unwrap(),
        date: Some(TradingDate::parse(TODAY).unwrap()),
        text: PlanText::new(text).unwrap(),
        charts,
        source: PlanSource::default(),
    }
}

/// Coach d today (an archived chart, a TradingView link, edited once), coach i today with a `<script>` in its text.
async fn seeded(dir: &std::path::Path) -> PlanService {
    let store = Arc::new(SqliteStore::open(dir.join("plans.db"), StoreOptions::default()).unwrap());
    let clock = Arc::new(ManualClock::starting_at(NOW));
    let service = PlanService::new(store.clone(), store.clone(), clock, Policy::default()).with_chart_images(store);
    let chart = NewChart {
        url: ATTACHED.to_owned(),
        filename: Some("nvda.png".into()),
        content_type: Some("image/png".into()),
        kind: ChartKind::Attachment,
    };
    let link = NewChart {
        url: "https://www.tradingview.com/x/AbC123/".to_owned(),
        filename: None,
        content_type: None,
        kind: ChartKind::Link,
    };
    service.post(&ann(), post("d", "Long NVDA above 950\nstop 940", vec![chart, link])).await.unwrap();
    let edit = EditPlan {
        coach: CoachId::new("d").unwrap(),
        date: None,
        text: PlanText::new("Long NVDA above 955\nstop 940").unwrap(),
        charts: service::EditCharts::Keep,
        expected_version: None,
    };
    service.edit(&ann(), edit).await.unwrap();
    service.post(&bob(), post("i", "<script>alert(1)</script> watch <b>SPY</b>", vec![])).await.unwrap();
    let png = include_bytes!("../../../bins/plan-server/assets/demo-chart.png").to_vec();
    service.archive_chart_image(ATTACHED, ChartImage::new("image/png", png)).await.unwrap();
    service
}

macro_rules! app {
    ($service:expr) => {{
        let dashboard = Dashboard::new($service, None, false);
        test::init_service(App::new().configure(move |config| dashboard.configure(config))).await
    }};
}

async fn body(response: actix_web::dev::ServiceResponse) -> String {
    String::from_utf8(test::read_body(response).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn the_day_view_shows_every_coach_with_charts_tickers_and_escaped_text() {
    let dir = tempfile::tempdir().unwrap();
    let app = app!(seeded(dir.path()).await);
    let response = test::call_service(&app, test::TestRequest::get().uri("/dashboard").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers.get(header::CONTENT_SECURITY_POLICY).unwrap(), CONTENT_SECURITY_POLICY);
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    assert_eq!(headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
    let html = body(response).await;
    assert!(html.contains("<title>Plans for 2025-11-10 · Coach plans</title>"), "today in the market's zone");
    assert!(html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
    assert!(html.contains(r#"rel="icon""#));
    for coach in ["Day Trading", "Intraday", "Swing", "News/Events"] {
        assert!(html.contains(&format!(">{coach}<")), "{coach} has a card: {html}");
    }
    assert_eq!(html.matches("No plan yet.").count(), 2, "Swing and News/Events posted nothing");
    assert!(html.contains("Long NVDA above 955\nstop 940"), "the text as it stands, lines kept");
    assert!(html.contains("edited") && html.contains("(version 2)"), "the edited mark");
    assert!(html.contains(r#"href="/dashboard/search?q=$NVDA""#), "tickers link to their search");
    assert!(html.contains(r#"<img src="/api/v1/charts/"#), "the archived copy is shown as an image");
    assert!(html.contains(r#"alt="Chart 1 of Day Trading's plan for 2025-11-10 (nvda.png)""#), "with alt text");
    assert!(html.contains(r#"href="https://www.tradingview.com/x/AbC123/""#), "TradingView stays a link");
    assert!(!html.contains("cdn.discordapp.com"), "nothing is loaded from Discord");
    assert!(!html.contains("<script>alert"), "plan text never becomes markup");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; watch &lt;b&gt;SPY&lt;/b&gt;"), "{html}");
    assert!(html.contains(r#"href="/dashboard/plans/d/2025-11-10""#), "a permalink per plan");
    assert!(html.contains(r#"<p class="meta" id="live-note" aria-live="polite"></p>"#), "the script fills it: {html}");
    assert!(html.contains(r#"data-zone="America/New_York""#), "the script's times are the market's");
}

#[actix_web::test]
async fn the_coach_filter_and_the_date_switch_narrow_the_view() {
    let dir = tempfile::tempdir().unwrap();
    let app = app!(seeded(dir.path()).await);
    let html =
        body(test::call_service(&app, test::TestRequest::get().uri("/dashboard?coach=i").to_request()).await).await;
    assert!(html.contains(r#"data-coach="i""#) && !html.contains(r#"data-coach="d""#), "{html}");
    assert!(html.contains(r#"<option value="i" selected>Intraday</option>"#));
    let html =
        body(test::call_service(&app, test::TestRequest::get().uri("/dashboard?date=2025-11-07").to_request()).await)
            .await;
    assert_eq!(html.matches("No plan yet.").count(), 4, "nothing posted that day");
    assert!(html.contains(r#"href="/dashboard?date=2025-11-06" rel="prev""#));
    assert!(html.contains(r#"href="/dashboard?date=2025-11-08" rel="next""#));

    for (uri, expected) in [
        ("/dashboard?date=2025-02-30", "`2025-02-30` is not a date"),
        ("/dashboard?coach=zz", "zz"),
        ("/dashboard/plans/zz/2025-11-10", "zz"),
    ] {
        let response = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        let html = body(response).await;
        assert!(html.contains(expected) && html.contains(r#"role="alert""#), "{uri}: {html}");
    }
}

#[actix_web::test]
async fn a_permalink_shows_the_plan_and_what_each_version_changed() {
    let dir = tempfile::tempdir().unwrap();
    let service = seeded(dir.path()).await;
    let app = app!(service.clone());
    let html = body(
        test::call_service(&app, test::TestRequest::get().uri("/dashboard/plans/d/2025-11-10").to_request()).await,
    )
    .await;
    assert!(html.contains("Version 2: edited") && html.contains("Version 1: posted"), "{html}");
    assert!(html.contains(r#"<del><span class="visually-hidden">removed: </span>Long NVDA above 950</del>"#), "{html}");
    assert!(html.contains(r#"<ins><span class="visually-hidden">added: </span>Long NVDA above 955</ins>"#), "{html}");
    assert!(html.contains("<div>stop 940</div>"), "an unchanged line is kept: {html}");
    let html = body(
        test::call_service(&app, test::TestRequest::get().uri("/dashboard/plans/s/2025-11-10").to_request()).await,
    )
    .await;
    assert!(html.contains("There is no plan for Swing on 2025-11-10") && html.contains("Nothing was posted."));
    // A plan posted on another day than its own says on which.
    let earlier = PostPlan { date: Some(TradingDate::parse("2025-11-07").unwrap()), ..post("s", "Swing: AMD", vec![]) };
    service.post(&bob(), earlier).await.unwrap();
    let html = body(
        test::call_service(&app, test::TestRequest::get().uri("/dashboard/plans/s/2025-11-07").to_request()).await,
    )
    .await;
    assert!(html.contains("posted 2025-11-10 ") && html.contains(" at 2025-11-10 "), "{html}");
    let html = body(
        test::call_service(&app, test::TestRequest::get().uri("/dashboard/plans/d/2025-11-10").to_request()).await,
    )
    .await;
    assert!(!html.contains("posted 2025-11-10"), "on its own day, the time alone: {html}");
    let today = test::call_service(&app, test::TestRequest::get().uri("/dashboard/plans/D/Today").to_request()).await;
    assert_eq!(today.status(), StatusCode::FOUND, "`today` sends to today's permalink");
    let location = today.headers().get("location").unwrap().to_str().unwrap();
    assert_eq!(location, format!("/dashboard/plans/d/{TODAY}"), "the market's today, by the service's clock");
}

#[actix_web::test]
async fn search_finds_plans_by_ticker_or_words() {
    let dir = tempfile::tempdir().unwrap();
    let app = app!(seeded(dir.path()).await);
    let search = |q: &str| test::TestRequest::get().uri(&format!("/dashboard/search?q={q}")).to_request();
    let html = body(test::call_service(&app, search("%24NVDA")).await).await;
    assert!(html.contains("1 plan(s) from") && html.contains("Long NVDA above 955"), "{html}");
    let html = body(test::call_service(&app, search("watch")).await).await;
    assert!(html.contains("1 plan(s) from") && html.contains("Intraday · 2025-11-10"), "{html}");
    let html = body(test::call_service(&app, search("nothing%20like%20this")).await).await;
    assert!(html.contains("Nothing found."), "{html}");
    assert!(
        html.contains(r#"name="q" placeholder="NVDA, &quot;gap fill&quot;" maxlength="200" value="nothing like this""#),
        "the box keeps the words: {html}"
    );
}

#[actix_web::test]
async fn the_live_list_answers_304_until_a_plan_changes() {
    let dir = tempfile::tempdir().unwrap();
    let service = seeded(dir.path()).await;
    let app = app!(service.clone());
    let live = |etag: Option<&str>| {
        let request = test::TestRequest::get().uri("/dashboard/live?date=2025-11-10");
        match etag {
            Some(etag) => request.insert_header((header::IF_NONE_MATCH, etag.to_owned())).to_request(),
            None => request.to_request(),
        }
    };
    let first = test::call_service(&app, live(None)).await;
    let etag = first.headers().get(header::ETAG).unwrap().to_str().unwrap().to_owned();
    let list = body(first).await;
    assert!(list.starts_with("<article") && !list.contains("<html"), "the list alone: {list}");
    let unchanged = test::call_service(&app, live(Some(&etag))).await;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);

    service.post(&bob(), post("s", "Swing: long AMD", vec![])).await.unwrap();
    let changed = test::call_service(&app, live(Some(&etag))).await;
    assert_eq!(changed.status(), StatusCode::OK, "a new plan changes the list");
    assert_ne!(changed.headers().get(header::ETAG).unwrap().to_str().unwrap(), etag);
    assert!(body(changed).await.contains("Swing: long AMD"));
}

#[actix_web::test]
async fn assets_are_cacheable_and_the_page_names_them_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let app = app!(seeded(dir.path()).await);
    let html = body(test::call_service(&app, test::TestRequest::get().uri("/dashboard").to_request()).await).await;
    for name in ["style.css", "app.js", "icon.svg"] {
        let start = html.find(&format!("/dashboard/assets/{name}?v=")).unwrap_or_else(|| panic!("{name} in {html}"));
        let url: String = html[start..].chars().take_while(|c| *c != '"').collect();
        let response = test::call_service(&app, test::TestRequest::get().uri(&url).to_request()).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(response.headers().get(header::CACHE_CONTROL).unwrap(), "public, max-age=31536000, immutable");
    }
    let missing = test::call_service(&app, test::TestRequest::get().uri("/dashboard/assets/x.js").to_request()).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // Under another hash (a page of another version) or none, an asset is served but not kept: that URL may name
    // other content.
    for url in ["/dashboard/assets/app.js?v=0123456789ab", "/dashboard/assets/app.js"] {
        let response = test::call_service(&app, test::TestRequest::get().uri(url).to_request()).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(response.headers().get(header::CACHE_CONTROL).unwrap(), "no-cache", "{url}");
    }
}

#[actix_web::test]
async fn pages_answer_head_and_say_what_another_method_or_path_is() {
    let dir = tempfile::tempdir().unwrap();
    let app = app!(seeded(dir.path()).await);
    for uri in ["/dashboard", "/dashboard/plans/d/2025-11-10", "/dashboard/search?q=NVDA", "/dashboard/live"] {
        let head = test::call_service(&app, test::TestRequest::default().method(Method::HEAD).uri(uri).to_request());
        let head = head.await;
        assert_eq!(head.status(), StatusCode::OK, "{uri}");
        assert!(head.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("text/html"));
    }
    for (method, uri, allowed) in [
        (Method::POST, "/dashboard", "GET, HEAD"),
        (Method::DELETE, "/dashboard/plans/d/2025-11-10", "GET, HEAD"),
        (Method::PUT, "/dashboard/sign-in", "GET, HEAD, POST"),
        (Method::GET, "/dashboard/sign-out", "POST"),
    ] {
        let response =
            test::call_service(&app, test::TestRequest::default().method(method.clone()).uri(uri).to_request()).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(response.headers().get(header::ALLOW).unwrap(), allowed, "{method} {uri}");
        assert_eq!(response.headers().get(header::CONTENT_SECURITY_POLICY).unwrap(), CONTENT_SECURITY_POLICY);
        let html = body(response).await;
        assert!(html.contains(&format!("{method} is not how this page is asked for; it takes {allowed}.")), "{html}");
    }
    for uri in ["/dashboard/nope", "/dashboard/plans/d", "/dashboard/plans/d/2025-11-10/more"] {
        let response = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
        assert!(response.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("text/html"));
        let html = body(response).await;
        assert!(html.contains(&format!("There is no page at {uri}.")) && html.contains("Today's plans"), "{html}");
    }
}
