//! The MCP server through the official Rust SDK's client: over streamable HTTP (`/mcp` of the real HTTP API on port
//! 0) and over a byte stream (the transport `plan-server mcp` runs on standard input and output), the same tools and
//! resources with the same answers.

use std::sync::Arc;

use core_model::{Actor, ChartImage, ChartKind, CoachId, NewChart, PlanSource, PlanText, TradingDate, UserId};
use http_api::{ApiConfig, Application};
use mcp_server::{McpConfig, PlanMcp};
use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams, ResourceContents};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt as _};
use serde_json::{Value, json};
use service::{PlanService, Policy, PostPlan};
use storage::{SqliteStore, StoreOptions};

/// 2025-11-10 15:00 UTC: 2025-11-10 in New York.
const NOW: &str = "2025-11-10T15:00:00Z";
const TODAY: &str = "2025-11-10";
const ATTACHED: &str = "https://cdn.discordapp.com/attachments/2/9/amd.png?ex=1&is=2&hm=3";

/// A service over a fresh database with plans: coach d today (AMD and TSLA, an attached chart with its archived copy,
/// edited), coach i two weeks ago (AMD), coach s forty days ago (AMD), coach n today (no ticker).
async fn seeded_service(dir: &std::path::Path) -> PlanService {
    let store = Arc::new(SqliteStore::open(dir.join("plans.db"), StoreOptions::default()).unwrap());
    let service = PlanService::new(
        store.clone(),
        store.clone(),
        Arc::new(core_model::testing::ManualClock::starting_at(NOW)),
        Policy::default(),
    )
    .with_chart_images(store);
    let ann = Actor::new(UserId(111), "Ann");
    let post = |coach: &str, date: &str, text: &str, charts: Vec<NewChart>| PostPlan {
        coach: CoachId::new(coach).unwrap(),
        date: Some(TradingDate::parse(date).unwrap()),
        text: PlanText::new(text).unwrap(),
        charts,
        source: PlanSource {
            guild_id: Some(1),
            channel_id: Some(2),
            channel_name: Some("plans".into()),
            message_id: Some(3),
        },
    };
    let chart = NewChart {
        url: ATTACHED.to_owned(),
        filename: Some("amd.png".into()),
        content_type: Some("image/png".into()),
        kind: ChartKind::Attachment,
    };
    service.post(&ann, post("d", TODAY, "Long $amd over 152; TSLA weak", vec![chart])).await.unwrap();
    service
        .edit(
            &ann,
            service::EditPlan {
                coach: CoachId::new("d").unwrap(),
                date: Some(TradingDate::parse(TODAY).unwrap()),
                text: PlanText::new("Long $amd over 152; TSLA weak. I trim at EOD").unwrap(),
                charts: service::EditCharts::Keep,
                expected_version: None,
            },
        )
        .await
        .unwrap();
    service.post(&ann, post("i", "2025-10-27", "AMD swing, gap fill", vec![])).await.unwrap();
    service.post(&ann, post("s", "2025-10-01", "AMD forty days ago", vec![])).await.unwrap();
    service.post(&ann, post("n", TODAY, "CPI at 8:30, stay flat", vec![])).await.unwrap();
    let png =
        ChartImage::new("image/png", include_bytes!("../../../../bins/plan-server/assets/demo-chart.png").to_vec());
    service.archive_chart_image(ATTACHED, png).await.unwrap();
    service
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, arguments: Value) -> (bool, String, Value) {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    if let Value::Object(map) = arguments {
        params = params.with_arguments(map);
    }
    let result = client.call_tool(params).await.unwrap();
    let text = result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n");
    (result.is_error.unwrap_or(false), text, result.structured_content.unwrap_or(Value::Null))
}

async fn read(client: &RunningService<RoleClient, ()>, uri: &str) -> Result<Value, String> {
    let result = client.read_resource(ReadResourceRequestParams::new(uri)).await.map_err(|e| e.to_string())?;
    match &result.contents[..] {
        [ResourceContents::TextResourceContents { text, mime_type, .. }] => {
            assert_eq!(mime_type.as_deref(), Some("application/json"));
            Ok(serde_json::from_str(text).unwrap())
        }
        other => panic!("one JSON text: {other:?}"),
    }
}

/// What every transport must answer.
async fn exercise(client: &RunningService<RoleClient, ()>, base: &str) {
    let info = client.peer_info().expect("the server introduced itself");
    let server = info.server_info.as_ref().expect("the server's name and version");
    assert_eq!((server.name.as_str(), server.version.as_str()), ("coach-plans", env!("CARGO_PKG_VERSION")));
    assert_eq!(info.instructions.as_deref(), Some(mcp_server::INSTRUCTIONS));

    let tools = client.list_tools(None).await.unwrap().tools;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        ["list_coaches", "get_plan", "plans_for_date", "search_plans", "ticker_mentions", "plan_history"]
    );
    let get_plan = tools.iter().find(|t| t.name == "get_plan").unwrap();
    assert_eq!(get_plan.input_schema["properties"]["coach"]["enum"], json!(["d", "i", "s", "n"]), "the roster");
    assert_eq!(get_plan.input_schema["required"], json!(["coach"]));
    assert!(tools.iter().all(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true)), "read-only");

    // Each tool refuses an argument its schema does not list, and names those it does.
    for tool in &tools {
        let mut listed: Vec<&str> =
            tool.input_schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        let (error, text, _) = call(client, &tool.name, json!({ "zzz": 1 })).await;
        assert!(error, "{}: {text}", tool.name);
        let mut named: Vec<&str> =
            text.split_once("its arguments are ").map_or(vec![], |(_, list)| list.split(", ").collect());
        listed.sort_unstable();
        named.sort_unstable();
        assert_eq!(named, listed, "{}: {text}", tool.name);
    }

    let (error, text, structured) = call(client, "list_coaches", json!({})).await;
    assert!(!error);
    assert!(text.contains("d (Day Trading)"), "{text}");
    assert_eq!(structured["today"], TODAY);

    let (_, text, structured) = call(client, "get_plan", json!({ "coach": "coach_d" })).await;
    let plan = &structured["plan"];
    assert_eq!(plan["text"], "Long $amd over 152; TSLA weak. I trim at EOD");
    assert_eq!(plan["tickers"], json!(["AMD", "TSLA"]));
    assert_eq!((plan["edited"].as_bool(), plan["version"].as_u64()), (Some(true), Some(2)));
    let chart = plan["charts"][0].as_str().unwrap();
    assert!(chart.starts_with(&format!("{base}/api/v1/charts/")), "the archived copy first: {chart}");
    assert!(text.contains("tickers AMD, TSLA") && text.contains(chart), "{text}");

    let params = CallToolRequestParams::new("get_plan")
        .with_arguments(json!({ "coach": "d", "include_images": true }).as_object().unwrap().clone());
    let with_images = client.call_tool(params).await.unwrap();
    let images: Vec<_> = with_images.content.iter().filter_map(|c| c.as_image()).collect();
    assert_eq!(images.len(), 1, "the archived chart as an image");
    assert_eq!(images[0].mime_type, "image/png");

    let (error, text, structured) = call(client, "get_plan", json!({ "coach": "s" })).await;
    assert!(!error, "no plan is an answer, not an error");
    assert_eq!(
        (structured["plan"].clone(), text.as_str()),
        (Value::Null, "There is no plan for coach s (Swing) on 2025-11-10.")
    );

    let (_, _, structured) = call(client, "plans_for_date", json!({ "date": "today" })).await;
    let coaches: Vec<&str> =
        structured["plans"].as_array().unwrap().iter().map(|p| p["coach"].as_str().unwrap()).collect();
    assert_eq!(coaches, ["d", "n"]);

    let (_, text, structured) = call(client, "search_plans", json!({ "ticker": "amd" })).await;
    let found: Vec<&str> =
        structured["plans"].as_array().unwrap().iter().map(|p| p["date"].as_str().unwrap()).collect();
    assert_eq!(found, [TODAY, "2025-10-27"], "the last 30 days, newest first: {text}");
    let (_, _, structured) = call(client, "search_plans", json!({ "query": "\"gap fill\"", "days": 90 })).await;
    assert_eq!(structured["plans"][0]["coach"], "i");
    // A blank string is an argument left out, numbers included.
    let (error, text, blank) = call(client, "search_plans", json!({ "ticker": "amd", "days": "", "limit": " " })).await;
    assert!(!error, "{text}");
    assert_eq!(blank["plans"].as_array().unwrap().len(), 2, "the defaults: {text}");
    let (error, text, _) = call(client, "search_plans", json!({ "days": "", "from": "2025-09-01" })).await;
    assert!(!error, "a blank `days` beside `from` is no conflict: {text}");
    let (_, _, structured) =
        call(client, "search_plans", json!({ "ticker": "AMD", "from": "2025-09-01", "limit": 2 })).await;
    assert_eq!(structured["plans"].as_array().unwrap().len(), 2);
    let cursor = structured["next_cursor"].as_str().expect("a next page").to_owned();
    let (_, _, rest) =
        call(client, "search_plans", json!({ "ticker": "AMD", "from": "2025-09-01", "cursor": cursor })).await;
    assert_eq!(rest["plans"][0]["date"], "2025-10-01");

    let (_, text, structured) = call(client, "ticker_mentions", json!({})).await;
    assert_eq!(
        structured["tickers"][0],
        json!({ "ticker": "AMD", "plans": 2, "coaches": ["d", "i"], "last_date": TODAY })
    );
    assert!(text.contains("AMD: 2 plans by d, i"), "{text}");

    let (_, _, structured) = call(client, "plan_history", json!({ "coach": "d", "date": TODAY })).await;
    let actions: Vec<&str> =
        structured["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["edited", "created"]);

    // Bad arguments are tool errors, in the API's words; the session goes on.
    for (tool, arguments, message) in [
        ("get_plan", json!({ "coach": "x" }), "unknown coach `x`; valid coaches are: d, i, s, n"),
        (
            "get_plan",
            json!({}),
            "`coach` is missing; give one of: d (Day Trading), i (Intraday), s (Swing), n (News/Events)",
        ),
        (
            "plans_for_date",
            json!({ "date": "11/10/2025" }),
            "`11/10/2025` is not a date; write it as YYYY-MM-DD, e.g. 2025-11-09",
        ),
        ("search_plans", json!({ "days": 365 }), "`days` must be a whole number from 1 to 90, not 365"),
        ("search_plans", json!({ "days": 7, "from": "2025-11-01" }), "give either `days` or `from` and `to`, not both"),
        (
            "search_plans",
            json!({ "ticker": "GOOGLE" }),
            "`GOOGLE` is not a ticker; write 1 to 5 letters (e.g. NVDA), with an optional class (BRK.B) or as a crypto pair (BTC-USD), with or without a leading $",
        ),
        (
            "search_plans",
            json!({ "ticker": "AMD", "day": 7 }),
            "search_plans takes no argument `day`; its arguments are ticker, query, coach, days, from, to, limit, cursor",
        ),
        ("list_coaches", json!({ "coach": "d" }), "list_coaches takes no arguments, not `coach`"),
        (
            "no_such_tool",
            json!({}),
            "there is no tool `no_such_tool`; the tools are list_coaches, get_plan, plans_for_date, search_plans, ticker_mentions and plan_history",
        ),
    ] {
        let (error, text, structured) = call(client, tool, arguments).await;
        assert!(error, "{tool}: {text}");
        assert_eq!(text, message);
        assert_eq!(structured["error"], message);
    }

    // A request whose params do not fit its method is "invalid params", saying what the method takes; a method
    // nobody serves is named with the ones there are.
    let raw = |method: &str, params: Value| {
        client.send_request(rmcp::model::ClientRequest::CustomRequest(rmcp::model::CustomRequest::new(
            method,
            Some(params),
        )))
    };
    for (method, params, says) in [
        (
            "tools/call",
            json!({ "name": "get_plan", "arguments": ["d"] }),
            "send {\"name\": \"get_plan\", \"arguments\"",
        ),
        ("tools/call", json!({ "arguments": {} }), "missing field `name`"),
        ("resources/read", json!({}), "send {\"uri\": \"coach://coaches\"}"),
        ("resources/read", json!({ "uri": 5 }), "invalid type: integer `5`"),
    ] {
        let Err(rmcp::ServiceError::McpError(error)) = raw(method, params).await else { panic!("{method} answered") };
        assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS, "{method}: {error:?}");
        assert!(error.message.contains(&format!("the params of `{method}` are not what it takes")), "{error:?}");
        assert!(error.message.contains(says), "{method}: {error:?}");
    }
    let Err(rmcp::ServiceError::McpError(error)) = raw("plans/get", json!({})).await else { panic!("answered") };
    assert_eq!(error.code, rmcp::model::ErrorCode::METHOD_NOT_FOUND);
    assert!(error.message.contains("no method `plans/get` here; this server answers initialize"), "{error:?}");

    // Resources.
    let resources = client.list_resources(None).await.unwrap().resources;
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, ["coach://coaches", "coach://plans/today"]);
    let templates = client.list_resource_templates(None).await.unwrap().resource_templates;
    let templates: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    assert_eq!(templates, ["coach://plans/{date}", "coach://plans/{ticker}"]);
    assert_eq!(read(client, "coach://coaches").await.unwrap()["coaches"][0]["legacy_name"], "coach_d");
    assert_eq!(read(client, "coach://plans/2025-10-27").await.unwrap()["plans"][0]["coach"], "i");
    let by_ticker = read(client, "coach://plans/$amd").await.unwrap();
    assert_eq!(
        (by_ticker["ticker"].as_str(), by_ticker["days"].as_u64(), by_ticker["total_plans"].as_u64()),
        (Some("AMD"), Some(30), Some(2))
    );
    let d = &by_ticker["coaches"]["coach_d"];
    assert_eq!(d["plan_count"], 1);
    assert_eq!(
        d["latest_plan"]["plan"], "Long $amd over 152; TSLA weak. I trim at EOD",
        "the predecessor's field names"
    );
    assert_eq!(
        (d["latest_plan"]["created_at"].as_str(), d["latest_plan"]["edited_at"].as_str()),
        (Some("2025-11-10T10:00:00"), Some("2025-11-10T10:00:00")),
        "the predecessor's naive New York times"
    );
    assert_eq!(d["all_plans"].as_array().unwrap().len(), 1);
    assert!(by_ticker["coaches"].get("coach_s").is_none(), "forty days ago is outside the 30 days");
    assert_eq!(read(client, "coach://plans/AMD?days=90").await.unwrap()["total_plans"], 3);
    // The template expanded as RFC 6570 says (`$` percent-encoded); a span beyond the bounds is clamped.
    let encoded = read(client, "coach://plans/%24amd?days=99999999999999999999").await.unwrap();
    assert_eq!((encoded["ticker"].as_str(), encoded["days"].as_u64()), (Some("AMD"), Some(90)));
    let not_days = read(client, "coach://plans/AMD?days=abc").await.unwrap_err();
    assert!(not_days.contains("`days=abc` is not a number of days"), "{not_days}");
    let refused = read(client, "coach://plans/2025-02-30").await.unwrap_err();
    assert!(refused.contains("is not a date"), "{refused}");
    let unknown = read(client, "coach://elsewhere").await.unwrap_err();
    assert!(unknown.contains("there is no resource"), "{unknown}");
}

#[tokio::test]
async fn streamable_http_on_the_apis_port() {
    let dir = tempfile::tempdir().unwrap();
    let service = seeded_service(dir.path()).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    // No public URL: links follow the request's Host, as the API's do (not the API's own address).
    let config = McpConfig { public_url: None, local_url: "http://10.9.9.9:1".into(), ..McpConfig::default() };
    let mcp = PlanMcp::new(service.clone(), config);
    let transport = mcp_server::HttpTransport::new(mcp, vec!["127.0.0.1".into()]);
    let config =
        ApiConfig { workers: Some(1), cors_origins: vec!["https://desk.example".into()], ..ApiConfig::default() };
    let application = Application::from_listener(
        listener,
        config,
        service,
        Some(http_api::Mount::new(move |c| transport.configure(c))),
    )
    .unwrap();
    tokio::spawn(application.run_until(std::future::pending()));

    let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(format!("{base}/mcp"));
    let client = ().serve(transport).await.unwrap();
    exercise(&client, &base).await;
    client.cancel().await.unwrap();

    // The API's own routes are still served beside /mcp, and another Host is refused (DNS rebinding).
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let rebound = reqwest::Client::new().post(format!("{base}/mcp")).header("Host", "attacker.example:80").body("{}");
    let rebound = rebound.send().await.unwrap();
    assert_eq!(rebound.status(), 403);
    let said = rebound.text().await.unwrap();
    assert!(said.contains("addressed to 127.0.0.1, not to `attacker.example:80`"), "{said}");
    assert!(said.contains("sets api.public_url (API_PUBLIC_URL)"), "what to do: {said}");

    // Another method: the ones /mcp takes, said and listed.
    let http = reqwest::Client::new();
    let put = http.put(format!("{base}/mcp")).header("origin", "https://desk.example").send().await.unwrap();
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["allow"], "GET, POST, DELETE");
    // Rewritten as JSON, the error keeps the CORS layer's headers: a page of an allowed origin reads it.
    assert_eq!(put.headers()["access-control-allow-origin"], "https://desk.example");
    let body: Value = put.json().await.unwrap();
    assert_eq!(body["message"], "PUT is not allowed here; use GET, POST or DELETE");

    // A body that is not JSON-RPC: 400 with a JSON-RPC error, as the specification says.
    let post = |body: &'static str| {
        http.post(format!("{base}/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body)
            .send()
    };
    for (body, code) in [("{not json", -32700), (r#"{"a":1}"#, -32600), ("[]", -32600)] {
        let refused = post(body).await.unwrap();
        assert_eq!(refused.status(), 400, "{body}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!((error["jsonrpc"].as_str(), error["error"]["code"].as_i64()), (Some("2.0"), Some(code)), "{error}");
    }

    // A session ends with 204 (what clients count as done); ending it again is a 404.
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",
        "capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let opened = post(initialize).await.unwrap();
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let end = || http.delete(format!("{base}/mcp")).header("mcp-session-id", &session).send();
    assert_eq!(end().await.unwrap().status(), 204);
    assert_eq!(end().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_byte_stream_as_on_standard_input_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let service = seeded_service(dir.path()).await;
    let base = "https://plans.example.com";
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let config = McpConfig { public_url: Some(format!("{base}/")), ..McpConfig::default() };
    let server = tokio::spawn(PlanMcp::new(service, config).serve(server_end));
    let client = ().serve(client_end).await.unwrap();
    exercise(&client, base).await;
    client.cancel().await.unwrap();
    let server = server.await.unwrap().unwrap();
    server.waiting().await.unwrap();
}

/// `get_plan` with `include_images` returns at most `max_images` images, none over `max_image_bytes`; each chart left
/// out is named, with its link, in a text line.
#[tokio::test]
async fn chart_images_are_bounded_in_number_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let service = seeded_service(dir.path()).await;
    let url = |n: usize| format!("https://cdn.discordapp.com/attachments/2/9/c{n}.png?ex=1");
    let charts = (0..4)
        .map(|n| NewChart {
            url: url(n),
            filename: Some(format!("c{n}.png")),
            content_type: Some("image/png".into()),
            kind: ChartKind::Attachment,
        })
        .collect();
    let bob = Actor::new(UserId(222), "Bob");
    let source = PlanSource::default();
    let plan = PostPlan {
        coach: CoachId::new("s").unwrap(),
        date: None,
        text: PlanText::new("MSFT pullback, four charts").unwrap(),
        charts,
        source,
    };
    service.post(&bob, plan).await.unwrap();
    // Three small images and, second, one of 3000 bytes.
    for n in 0..4 {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.resize(if n == 1 { 3000 } else { 100 }, u8::try_from(n).unwrap());
        service.archive_chart_image(&url(n), ChartImage::new("image/png", bytes)).await.unwrap();
    }
    let base = "https://plans.example.com";
    let config =
        McpConfig { public_url: Some(base.into()), max_images: 2, max_image_bytes: 2048, ..McpConfig::default() };
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    // The task's output, the running server, lives in the handle until the end.
    let _server = tokio::spawn(PlanMcp::new(service, config).serve(server_end));
    let client = ().serve(client_end).await.unwrap();
    let arguments = json!({ "coach": "s", "include_images": true }).as_object().unwrap().clone();
    let result = client.call_tool(CallToolRequestParams::new("get_plan").with_arguments(arguments)).await.unwrap();
    let sizes: Vec<usize> = result.content.iter().filter_map(|c| c.as_image()).map(|i| i.data.len() * 3 / 4).collect();
    assert_eq!(sizes.len(), 2, "at most two images");
    assert!(sizes.iter().all(|&s| s < 200), "the small ones: {sizes:?}");
    let notes = result.content.last().and_then(|c| c.as_text()).map(|t| t.text.clone()).unwrap();
    let links: Vec<String> = result.structured_content.unwrap()["plan"]["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        notes,
        format!(
            "Chart 2 left out: 2.9 KiB is more than the 2.0 KiB an image may have here; its link is {}.\n\
             Chart 4 left out: at most 2 images are returned.",
            links[1]
        )
    );
    client.cancel().await.unwrap();
}
