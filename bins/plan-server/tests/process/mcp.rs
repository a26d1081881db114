//! A fresh agent given only `plan-server mcp` or `http://HOST:PORT/mcp`: plans posted through the local Discord to a
//! running `plan-server` (one with an attached chart, which the bot archives) are found by an agent asking for NVDA
//! over the last 30 days, with their charts: through the official Python MCP SDK over stdio (starting
//! `plan-server mcp` on the same database) and over streamable HTTP (the running server's `/mcp`), and through the
//! Rust SDK's client starting `plan-server mcp` as a child process.

use core_model::jiff::Timestamp;
use core_model::{ImageDigest, MarketTimeZone, TradingDate};
use discord_emulator::{AttachmentSpec, Emulator, EmulatorConfig, UserId, UserSpec};
use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

use crate::support::{WAIT, days_ago, plan_server, serve_against};

const CHART: &[u8] = include_bytes!("../../assets/demo-chart.png");

/// What an agent asks for: NVDA over the last 30 days, coach d's plan with its chart images, and the ticker resource.
fn agent_plan() -> Value {
    json!({
        "calls": [
            { "tool": "search_plans", "arguments": { "ticker": "NVDA", "days": 30 } },
            { "tool": "get_plan", "arguments": { "coach": "d", "include_images": true } },
        ],
        "reads": ["coach://plans/NVDA"],
    })
}

/// What the agent must have seen, whichever the transport.
fn check_report(report: &Value, today: &str, two_weeks_ago: &str, chart_link: &str, transport: &str) {
    assert_eq!(report["server"]["name"], "coach-plans", "{transport}");
    assert_eq!(report["tools"].as_object().unwrap().len(), 6, "{transport}");
    let search = &report["calls"][0];
    assert_eq!(search["is_error"], false, "{transport}: {search}");
    let found: Vec<(&str, &str)> = search["structured"]["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["date"].as_str().unwrap(), p["coach"].as_str().unwrap()))
        .collect();
    assert_eq!(found, [(today, "d"), (two_weeks_ago, "s")], "{transport}: the last 30 days, newest first");
    let day = &search["structured"]["plans"][0];
    assert_eq!(day["charts"], json!([chart_link]), "{transport}: the archived copy, not Discord's expiring link");
    assert_eq!(day["author"], "ann", "{transport}");

    let plan = &report["calls"][1];
    assert_eq!(plan["structured"]["plan"]["text"], "Long NVDA above 950, stop 940", "{transport}");
    let digest = ImageDigest::of(CHART).to_string();
    assert_eq!(
        plan["images"],
        json!([{ "mime_type": "image/png", "bytes": CHART.len(), "sha256": digest }]),
        "{transport}: the chart itself, as an image"
    );

    let read = &report["reads"][0];
    let resource: Value = serde_json::from_str(read["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(resource["total_plans"], 2, "{transport}: {resource}");
    assert_eq!(resource["coaches"]["coach_d"]["latest_plan"]["plan"], "Long NVDA above 950, stop 940", "{transport}");
    assert_eq!(resource["coaches"]["coach_d"]["latest_plan"]["charts"], json!([chart_link]), "{transport}");
    assert_eq!(resource["coaches"]["coach_s"]["plan_count"], 1, "{transport}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_given_the_command_or_the_url_reads_the_nvda_plans_with_their_charts() {
    let ann = UserId(1001);
    let emulator = Emulator::start(EmulatorConfig::default().with_user(UserSpec::new(ann, "ann"))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (server, api) = serve_against(&emulator, dir.path()).await;
    let channel = EmulatorConfig::DEFAULT_CHANNEL;
    let today = TradingDate::today_in(Timestamp::now(), &MarketTimeZone::default());
    let (two_weeks_ago, forty_days_ago) = (days_ago(today, 14), days_ago(today, 40));
    let chart = AttachmentSpec::new("nvda.png", CHART.to_vec()).with_content_type("image/png");
    emulator.post_message(channel, ann, "!plan d Long NVDA above 950, stop 940", vec![chart]).unwrap();
    emulator.post_message(channel, ann, format!("!plan s {two_weeks_ago} NVDA swing into earnings"), vec![]).unwrap();
    emulator.post_message(channel, ann, format!("!plan i {forty_days_ago} NVDA from forty days ago"), vec![]).unwrap();
    let replies = emulator.wait_for_sent_messages(channel, 3, WAIT).await.unwrap();
    assert!(replies.iter().all(|r| r.content.starts_with("✅ Plan saved")), "{replies:?}");
    let chart_link = format!("{api}/api/v1/charts/{}", ImageDigest::of(CHART));

    // Over HTTP, at the running server's /mcp: links follow the address the agent used.
    let (url, plan) = (format!("{api}/mcp"), agent_plan());
    let over_http =
        tokio::task::spawn_blocking(move || test_support::run_mcp_client(&plan, &["http", &url], &[])).await.unwrap();
    check_report(&over_http, &today.to_string(), &two_weeks_ago, &chart_link, "streamable HTTP");

    // Over stdio, `plan-server mcp` on the same database while the server runs; the operator's configuration file
    // names the API's public address, so the links work from the agent's side.
    let config = dir.path().join("coach-plans.yaml");
    std::fs::write(&config, format!("api:\n  public_url: {api}\n")).unwrap();
    let database = dir.path().join("plans.db");
    let (config, database) = (config.to_str().unwrap().to_owned(), database.to_str().unwrap().to_owned());
    let binary = env!("CARGO_BIN_EXE_plan-server");
    let (stdio_config, stdio_database, plan) = (config.clone(), database.clone(), agent_plan());
    let over_stdio = tokio::task::spawn_blocking(move || {
        let transport = ["stdio", binary, "mcp", "--config", &stdio_config, "--database", &stdio_database];
        test_support::run_mcp_client(&plan, &transport, &[])
    })
    .await
    .unwrap();
    check_report(&over_stdio, &today.to_string(), &two_weeks_ago, &chart_link, "stdio");

    // The link an agent is given is served: the chart as posted.
    let image = reqwest::get(&chart_link).await.unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.bytes().await.unwrap().as_ref(), CHART);

    // The Rust SDK's client, starting the command itself.
    let mut child = tokio::process::Command::new(binary);
    child.args(["mcp", "--config", &config, "--database", &database]).env_clear().env("LOG_LEVEL", "warn");
    let transport = rmcp::transport::TokioChildProcess::new(child).unwrap();
    let client = ().serve(transport).await.unwrap();
    let arguments = json!({ "ticker": "$nvda" }).as_object().unwrap().clone();
    let result = client.call_tool(CallToolRequestParams::new("search_plans").with_arguments(arguments)).await.unwrap();
    let plans = &result.structured_content.unwrap()["plans"];
    assert_eq!(plans.as_array().unwrap().len(), 2, "{plans}");
    assert_eq!(plans[0]["charts"], json!([chart_link]));
    client.cancel().await.unwrap();

    server.signal("TERM");
    let (status, _, stderr) = tokio::task::block_in_place(|| server.wait());
    assert_eq!(status.code(), Some(0), "{}", stderr.join("\n"));
}

/// A mistyped database path is refused before any session: an agent must not read a new, empty database and find
/// nothing. Standard output stays empty (it belongs to the protocol).
#[test]
fn the_mcp_command_refuses_a_database_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = crate::support::run(plan_server(dir.path()).args(["mcp", "--database", "plnas.db"]));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("error: there is no database at plnas.db"), "{stderr}");
    assert!(stderr.contains("give its path with --database (DATABASE_PATH)"), "{stderr}");
    assert!(!dir.path().join("plnas.db").exists(), "none was created");
}
