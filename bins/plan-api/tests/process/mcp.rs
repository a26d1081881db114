//! An agent at `http://HOST:PORT/mcp`: the official Python MCP SDK's client (from `target/python-venv`, which
//! `cargo xtask python` installs) against the built `plan-api` on port 0, over a database with plans of today, two
//! weeks ago and forty days ago. It initializes, lists the tools, resources and templates, calls every tool and reads
//! every resource; the chart links it is given are then fetched from the API.

use core_model::jiff::{Timestamp, ToSpan as _};
use core_model::{ImageDigest, MarketTimeZone, TradingDate};
use serde_json::{Value, json};

use crate::seed::{CHART_PNG, seed};
use crate::support::PlanApi;

fn days_ago(today: TradingDate, days: i64) -> String {
    TradingDate::from_date(today.date().checked_sub(days.days()).unwrap()).to_string()
}

/// The report's call number `index`, which was made to `tool`.
fn call<'a>(report: &'a Value, index: usize, tool: &str) -> &'a Value {
    let call = &report["calls"][index];
    assert_eq!(call["tool"], tool, "the calls come back in order");
    call
}

/// What the read of `uri` gave: one JSON text.
fn read(report: &Value, uri: &str) -> Value {
    let read = report["reads"].as_array().unwrap().iter().find(|r| r["uri"] == uri).unwrap();
    let contents = read["contents"].as_array().unwrap_or_else(|| panic!("{uri} was read: {read}"));
    assert_eq!(contents.len(), 1, "{uri}");
    assert_eq!(contents[0]["mimeType"], "application/json", "{uri}");
    serde_json::from_str(contents[0]["text"].as_str().unwrap()).unwrap()
}

/// Why the read of `uri` was refused.
fn refusal<'a>(report: &'a Value, uri: &str) -> &'a str {
    let read = report["reads"].as_array().unwrap().iter().find(|r| r["uri"] == uri).unwrap();
    read["error"].as_str().unwrap_or_else(|| panic!("{uri} was refused: {read}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_reads_the_plans_over_streamable_http() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let today = TradingDate::today_in(Timestamp::now(), &MarketTimeZone::default());
    let (two_weeks_ago, forty_days_ago) = (days_ago(today, 14), days_ago(today, 40));
    let digest = seed(&db, &[&today.to_string(), &two_weeks_ago, &forty_days_ago]);
    assert_eq!(digest, ImageDigest::of(CHART_PNG).to_string());
    let api =
        PlanApi::start(dir.path(), &["--database", db.to_str().unwrap(), "--port", "0"], &[("LOG_LEVEL", "warn")]);

    let plan = json!({
        "calls": [
            { "tool": "list_coaches" },
            { "tool": "get_plan", "arguments": { "coach": "d", "include_images": true } },
            { "tool": "plans_for_date", "arguments": { "date": two_weeks_ago } },
            { "tool": "search_plans", "arguments": { "ticker": "NVDA" } },
            { "tool": "search_plans", "arguments": { "query": "wait", "coach": "i", "days": 90 } },
            { "tool": "ticker_mentions", "arguments": { "days": 30 } },
            { "tool": "plan_history", "arguments": { "coach": "i", "date": "today" } },
            { "tool": "get_plan", "arguments": { "coach": "coach_x" } },
            { "tool": "search_plans", "arguments": { "days": 0 } },
        ],
        "reads": [
            "coach://coaches",
            "coach://plans/today",
            format!("coach://plans/{forty_days_ago}"),
            "coach://plans/NVDA",
            "coach://plans/$nvda?days=90",
            "coach://plans/2025-13-01",
            "coach://plans/NOT-A-TICKER",
            "coach://elsewhere",
        ],
    });
    let url = format!("{}/mcp", api.url);
    let report =
        tokio::task::spawn_blocking(move || test_support::run_mcp_client(&plan, &["http", &url], &[])).await.unwrap();

    assert_eq!(report["server"]["name"], "coach-plans");
    assert_eq!(report["server"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(report["instructions"].as_str().unwrap().contains("search_plans"), "{}", report["instructions"]);
    let tools = report["tools"].as_object().unwrap();
    let names: Vec<&str> = tools.keys().map(String::as_str).collect();
    assert_eq!(
        names.len(),
        6,
        "list_coaches, get_plan, plans_for_date, search_plans, ticker_mentions, plan_history: {names:?}"
    );
    assert_eq!(tools["search_plans"]["inputSchema"]["properties"]["days"]["maximum"], 90);
    assert_eq!(tools["plan_history"]["inputSchema"]["properties"]["coach"]["enum"], json!(["d", "i", "s", "n"]));
    assert_eq!(tools["get_plan"]["annotations"]["readOnlyHint"], true);
    let resources: Vec<&str> =
        report["resources"].as_array().unwrap().iter().map(|r| r["uri"].as_str().unwrap()).collect();
    assert_eq!(resources, ["coach://coaches", "coach://plans/today"]);
    let templates: Vec<&str> =
        report["templates"].as_array().unwrap().iter().map(|t| t["uriTemplate"].as_str().unwrap()).collect();
    assert_eq!(templates, ["coach://plans/{date}", "coach://plans/{ticker}"]);

    let coaches = call(&report, 0, "list_coaches");
    assert_eq!(coaches["structured"]["today"], today.to_string());
    assert!(coaches["text"].as_str().unwrap().contains("n (News/Events)"), "{}", coaches["text"]);

    // The plan with its chart: the archived copy's link first, then the TradingView link; and the image itself.
    let with_images = call(&report, 1, "get_plan");
    let plan = &with_images["structured"]["plan"];
    assert_eq!(plan["text"], "SPY long above 512.60");
    assert_eq!(plan["edited"], true);
    let chart = format!("{}/api/v1/charts/{digest}", api.url);
    assert_eq!(plan["charts"], json!([chart, "https://www.tradingview.com/x/AbC123/"]));
    assert_eq!(
        with_images["images"],
        json!([{ "mime_type": "image/png", "bytes": CHART_PNG.len(), "sha256": digest }])
    );
    let fetched = reqwest::get(&chart).await.unwrap();
    assert_eq!(fetched.status(), 200, "the link an agent is given is served");
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), CHART_PNG);

    let of_date = call(&report, 2, "plans_for_date");
    let coaches: Vec<&str> =
        of_date["structured"]["plans"].as_array().unwrap().iter().map(|p| p["coach"].as_str().unwrap()).collect();
    assert_eq!(coaches, ["d", "i", "s"], "roster order; n has no plan");

    let nvda = call(&report, 3, "search_plans");
    let dates: Vec<&str> =
        nvda["structured"]["plans"].as_array().unwrap().iter().map(|p| p["date"].as_str().unwrap()).collect();
    assert_eq!(dates, [today.to_string(), two_weeks_ago.clone()], "the last 30 days, newest first");
    assert!(nvda["text"].as_str().unwrap().starts_with("2 plans from "), "{}", nvda["text"]);
    let words = call(&report, 4, "search_plans");
    assert_eq!(words["structured"]["plans"].as_array().unwrap().len(), 3, "90 days of coach i's `QQQ: wait for 10:00`");

    let mentions = call(&report, 5, "ticker_mentions");
    let spy = mentions["structured"]["tickers"].as_array().unwrap().iter().find(|t| t["ticker"] == "SPY").unwrap();
    assert_eq!(spy, &json!({ "ticker": "SPY", "plans": 2, "coaches": ["d"], "last_date": today.to_string() }));

    let history = call(&report, 6, "plan_history");
    let actions: Vec<&str> =
        history["structured"]["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "deleted", "created"], "posted again after a deletion, newest first");

    let unknown = call(&report, 7, "get_plan");
    assert_eq!(unknown["is_error"], true);
    assert_eq!(unknown["text"], "unknown coach `coach_x`; valid coaches are: d, i, s, n");
    let bad_days = call(&report, 8, "search_plans");
    assert_eq!(
        (bad_days["is_error"].as_bool(), bad_days["text"].as_str()),
        (Some(true), Some("`days` must be a whole number from 1 to 90, not 0"))
    );

    assert_eq!(read(&report, "coach://coaches")["coaches"][3]["legacy_name"], "coach_n");
    assert_eq!(read(&report, "coach://plans/today")["plans"].as_array().unwrap().len(), 3);
    assert_eq!(read(&report, &format!("coach://plans/{forty_days_ago}"))["date"], forty_days_ago);
    // The predecessor's ticker resource: grouped by coach, its field names.
    let by_ticker = read(&report, "coach://plans/NVDA");
    assert_eq!((by_ticker["ticker"].as_str(), by_ticker["total_plans"].as_u64()), (Some("NVDA"), Some(2)));
    let s = &by_ticker["coaches"]["coach_s"];
    assert_eq!(s["plan_count"], 2);
    assert_eq!(s["latest_plan"]["date"], today.to_string());
    assert_eq!(
        (s["latest_plan"]["plan"].as_str(), s["latest_plan"]["author"].as_str()),
        (Some("NVDA swing, imported"), Some("old_bob"))
    );
    assert_eq!(s["all_plans"].as_array().unwrap().len(), 2);
    assert_eq!(read(&report, "coach://plans/$nvda?days=90")["total_plans"], 3);
    assert!(refusal(&report, "coach://plans/2025-13-01").contains("is not a date"));
    assert!(refusal(&report, "coach://plans/NOT-A-TICKER").contains("is not a ticker"));
    assert!(refusal(&report, "coach://elsewhere").contains("there is no resource"));
}

/// An agent over its limit is told so in the protocol's words: the 429 of the API's guard comes as a JSON-RPC error,
/// which the SDK hands to the agent, rather than as the API's JSON error, which it can only call "an error response".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_over_its_rate_limit_reads_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let today = TradingDate::today_in(Timestamp::now(), &MarketTimeZone::default());
    seed(&db, &[&today.to_string()]);
    let limits = [("LOG_LEVEL", "warn"), ("API_RATE_PER_SECOND", "1"), ("API_RATE_BURST", "8")];
    let api = PlanApi::start(dir.path(), &["--database", db.to_str().unwrap(), "--port", "0"], &limits);
    let calls: Vec<Value> = (0..30).map(|_| json!({ "tool": "list_coaches" })).collect();
    let plan = json!({ "calls": calls });
    let url = format!("{}/mcp", api.url);
    let report =
        tokio::task::spawn_blocking(move || test_support::run_mcp_client(&plan, &["http", &url], &[])).await.unwrap();
    let calls = report["calls"].as_array().unwrap();
    assert!(calls[0]["structured"]["coaches"].is_array(), "the first calls are within the burst: {}", calls[0]);
    let refused = calls.iter().find_map(|c| c["refused"].as_str()).expect("30 calls in a burst of 8 meet the limit");
    assert!(refused.contains("too many requests; wait 1 s (Retry-After) and slow down"), "{refused}");
}

/// An agent's session keeps an event stream open (`GET /mcp`); on SIGTERM the server ends it cleanly and exits,
/// rather than holding the shutdown until its timeout and then cutting the connection.
#[tokio::test]
async fn sigterm_ends_open_mcp_event_streams_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let mut api = PlanApi::start(dir.path(), &["--database", db.to_str().unwrap(), "--port", "0"], &[]);
    let url = format!("{}/mcp", api.url);
    let client = reqwest::Client::new();
    let post = |body: Value, session: Option<&str>| {
        let mut request = client
            .post(&url)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-11-25")
            .json(&body);
        if let Some(session) = session {
            request = request.header("Mcp-Session-Id", session);
        }
        request.send()
    };
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } },
    });
    let initialized = post(initialize, None).await.unwrap();
    assert_eq!(initialized.status(), 200);
    let session = initialized.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    assert!(initialized.text().await.unwrap().contains("\"serverInfo\""));
    let notified = post(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }), Some(&session)).await;
    assert_eq!(notified.unwrap().status(), 202);
    let mut stream = client
        .get(&url)
        .header("Accept", "text/event-stream")
        .header("MCP-Protocol-Version", "2025-11-25")
        .header("Mcp-Session-Id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    stream.chunk().await.unwrap().expect("the stream's first event (its retry interval)");

    api.signal("TERM");
    loop {
        match stream.chunk().await {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(error) => panic!("the event stream was cut instead of ended: {error}"),
        }
    }
    assert_eq!(api.wait_for_exit().code(), Some(0));
}
