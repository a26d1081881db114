//! Finding plans end to end: plans posted through the local Discord to a running `plan-server` carry their tickers,
//! and the API, plan-client and `!search` find the same ones, following edits and deletions.

use core_model::jiff::Timestamp;
use core_model::{MarketTimeZone, TradingDate};
use discord_emulator::{Emulator, EmulatorConfig, UserId, UserSpec};

use crate::support::{WAIT, days_ago, get_json, serve_against};

const TEXT: &str = "Long $amd over 152; TSLA weak. PPI 8:30 ET, no FOMC today. I trim at EOD";

/// The texts of the plans a v1 search answer lists.
fn texts(body: &serde_json::Value) -> Vec<String> {
    body["plans"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_posted_in_discord_are_found_by_ticker_and_words_through_the_api_the_client_and_the_bot() {
    let ann = UserId(1001);
    let emulator = Emulator::start(EmulatorConfig::default().with_user(UserSpec::new(ann, "ann"))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (server, api) = serve_against(&emulator, dir.path()).await;
    let channel = EmulatorConfig::DEFAULT_CHANNEL;
    let today = TradingDate::today_in(Timestamp::now(), &MarketTimeZone::default());
    let (two_weeks_ago, forty_days_ago) = (days_ago(today, 14), days_ago(today, 40));
    let mut replies = 0;
    let mut say = |text: String| {
        emulator.post_message(channel, ann, &text, vec![]).unwrap();
        replies += 1;
        replies
    };
    for message in [
        format!("!plan d {TEXT}"),
        format!("!plan s {two_weeks_ago} AMD swing, bought the gap fill"),
        format!("!plan i {forty_days_ago} AMD from forty days ago"),
        format!("!plan n {two_weeks_ago} $AMD news, deleted below"),
        format!("!delete n {two_weeks_ago}"),
    ] {
        let count = say(message);
        emulator.wait_for_sent_messages(channel, count, WAIT).await.unwrap();
    }

    let get = |path: &str| tokio::task::block_in_place(|| get_json(&format!("{api}{path}")));
    let (status, plan) = get("/api/v1/plans/d/today");
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["tickers"], serde_json::json!(["AMD", "TSLA"]), "in the order of their first mention");
    let (_, found) = get("/api/v1/plans?ticker=AMD");
    let by_ticker = texts(&found);
    assert_eq!(
        by_ticker,
        [TEXT, "AMD swing, bought the gap fill"],
        "two weeks ago yes, forty days ago no, deleted never"
    );
    assert_eq!(texts(&get("/api/v1/plans?q=trim").1), [TEXT], "by a word");
    assert_eq!(texts(&get("/api/v1/plans?q=%22gap+fill%22").1), ["AMD swing, bought the gap fill"], "by a phrase");

    // plan-client gives the same answer.
    let client = plan_client::PlanClient::new(&api).unwrap();
    let page = client.search(&plan_client::SearchQuery::new().ticker("AMD")).await.unwrap();
    assert_eq!(page.plans.iter().map(|p| p.text.clone()).collect::<Vec<_>>(), by_ticker);

    // So does the bot, each plan on a line with a link to its message.
    let count = say("!search AMD".to_owned());
    let sent = emulator.wait_for_sent_messages(channel, count, WAIT).await.unwrap();
    let reply = &sent.last().unwrap().content;
    assert!(reply.contains("**AMD** — 2 plans from"), "{reply}");
    let day_line = reply.lines().position(|l| l.contains(&today.to_string()) && l.contains("`d`"));
    let swing_line = reply.lines().position(|l| l.contains(&two_weeks_ago) && l.contains("`s`"));
    assert!(day_line.is_some_and(|d| swing_line.is_some_and(|s| d < s)), "newest first: {reply}");
    assert!(reply.contains("https://discord.com/channels/"), "{reply}");
    assert!(!reply.contains("forty days ago") && !reply.contains("deleted below"), "{reply}");
    assert!(sent.iter().all(|m| m.pinged_users.is_empty()), "no reply pings anyone");

    // An edit that drops a ticker drops the match.
    let count = say("!edit d Long $amd over 152, nothing else".to_owned());
    emulator.wait_for_sent_messages(channel, count, WAIT).await.unwrap();
    assert!(texts(&get("/api/v1/plans?ticker=TSLA").1).is_empty());
    let (_, mentions) = get("/api/v1/tickers");
    assert_eq!(
        mentions["tickers"][0],
        serde_json::json!({"ticker": "AMD", "plans": 2, "coaches": ["d", "s"], "last_date": today.to_string()})
    );

    server.signal("TERM");
    let (status, _, stderr) = tokio::task::block_in_place(|| server.wait());
    assert_eq!(status.code(), Some(0), "{}", stderr.join("\n"));
}
