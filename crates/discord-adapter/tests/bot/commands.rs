//! Each command through the real gateway and REST: replies in the emulator's REST log, effects in storage.

use std::time::Duration;

use core_model::{ChartKind, PlanRepository as _};
use discord_emulator::AttachmentSpec;
use service::BotState;

use crate::helpers::{ANN, BOB, CHANNEL, MOD, WAIT, domain_user, spawn_bot, within};

fn png() -> Vec<u8> {
    vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]
}

#[tokio::test]
async fn a_plan_with_charts_is_stored_and_answered_without_pinging_anyone() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        let charts = vec![AttachmentSpec::new("spy.png", png()), AttachmentSpec::new("notes.txt", b"text".to_vec())];
        bot.emulator
            .post_message(CHANNEL, ANN, "!plan d Long NVDA above 950 https://www.tradingview.com/x/AbC123/", charts)
            .unwrap();
        let reply = bot.reply(0).await;
        assert!(reply.content.starts_with("✅ Plan saved for **Day Trading** (`d`) on "), "{}", reply.content);
        assert!(
            reply.content.ends_with(
                " · 2 charts.\n`notes.txt` is not an image (png, jpg, gif, webp or bmp), so it is not \
             kept as a chart."
            ),
            "the file that is no chart is named: {}",
            reply.content
        );
        assert!(!reply.pings_anyone());
        assert_eq!(reply.allowed_mentions, Some(serde_json::json!({"parse": []})));
        assert!(reply.reply_to.is_some(), "the reply answers the command");

        let plan = bot.plan("d").unwrap();
        assert_eq!(plan.text, "Long NVDA above 950 https://www.tradingview.com/x/AbC123/");
        assert_eq!(plan.author.user_id, Some(domain_user(ANN)));
        assert_eq!(plan.author.display_name, "Ann");
        assert_eq!(plan.charts.len(), 2);
        assert_eq!(plan.charts[0].kind, ChartKind::Attachment);
        assert_eq!(plan.charts[0].filename.as_deref(), Some("spy.png"));
        assert_eq!(plan.charts[1].url, "https://www.tradingview.com/x/AbC123/");
        assert_eq!(
            plan.source.channel_name.as_deref(),
            Some("daily-plans"),
            "the channel name comes from GUILD_CREATE"
        );

        // The bot's own reply came back through the gateway and was ignored: still exactly one reply.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(bot.emulator.sent_messages(CHANNEL).len(), 1);
        let health = bot.service.bot_health(Duration::from_secs(90)).await.unwrap();
        assert_eq!(health.state, BotState::Connected, "the connection state is recorded for /health");
    })
    .await;
}

#[tokio::test]
async fn every_command_answers() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        let mut n = 0;
        let mut say = async |user, text: &str| {
            let reply = bot.say(user, text, n).await;
            n += 1;
            reply.content
        };
        assert!(say(ANN, "!plan s Swing: add to AAPL under 180").await.starts_with("✅ Plan saved for **Swing**"));
        assert!(say(ANN, "!edit s Swing: add to AAPL under 178").await.contains("updated (version 2)"));
        let plans = say(BOB, "!plans").await;
        assert!(plans.contains("**Swing** (`s`) — by Ann · edited\nSwing: add to AAPL under 178"), "{plans}");
        assert!(plans.contains("**Day Trading** (`d`) — no plan yet"), "{plans}");
        assert!(say(ANN, "!myplans").await.starts_with("📋 **Your plans** (1)"));
        let history = say(BOB, "!history s").await;
        assert!(history.contains("edited by Ann"), "{history}");
        assert!(say(ANN, "!delete s").await.starts_with("🗑️ Plan for **Swing** (`s`)"));
        assert!(say(ANN, "!restore s").await.starts_with("♻️ Plan for **Swing** (`s`)"));
        assert!(say(BOB, "!help").await.contains("`!plan <coach> [YYYY-MM-DD] <text>`"));
        assert_eq!(say(BOB, "!plan q text").await, "⚠️ unknown coach `q`; valid coaches are: d, i, s, n");
        assert_eq!(say(BOB, "!nope").await, "⚠️ `!nope` is not a command; try `!help`");
        assert_eq!(
            say(BOB, "!plan d 2025-02-30 text").await,
            "⚠️ `2025-02-30` is not a real date; write it as YYYY-MM-DD, e.g. 2025-11-09"
        );
        assert!(say(ANN, "!plan i 2025-11-10 dated plan").await.contains("on 2025-11-10"));
        assert!(bot.plan_on("i", "2025-11-10").is_some());
    })
    .await;
}

#[tokio::test]
async fn authors_others_and_admins() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        bot.say(ANN, "!plan d Ann's plan", 0).await;
        let refused = bot.say(BOB, "!edit d Bob was here", 1).await;
        assert_eq!(
            refused.content,
            format!("⚠️ only Ann (who posted it) or an admin may edit the plan of coach d for {}", bot.service.today())
        );
        let refused = bot.say(BOB, "!plan d Bob's plan", 2).await;
        assert!(refused.content.contains("already has a plan"), "{}", refused.content);
        let refused = bot.say(BOB, "!delete d", 3).await;
        assert!(refused.content.starts_with("⚠️ only Ann"), "{}", refused.content);
        assert_eq!(bot.plan("d").unwrap().text, "Ann's plan");

        let fixed = bot.say(MOD, "!edit d fixed by the desk admin (a role)", 4).await;
        assert!(fixed.content.contains("updated (version 2)"), "{}", fixed.content);
        let plan = bot.plan("d").unwrap();
        assert_eq!(
            (plan.text.as_str(), plan.author.display_name.as_str()),
            ("fixed by the desk admin (a role)", "Ann")
        );
        bot.say(MOD, "!delete d", 5).await;
        assert!(bot.plan("d").is_none());
    })
    .await;
}

#[tokio::test]
async fn editing_and_deleting_the_source_message_follow_the_plan() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        let message = bot.emulator.post_message(CHANNEL, ANN, "!plan n CPI at 8:30, stay flat before", vec![]).unwrap();
        bot.reply(0).await;
        bot.emulator.edit_message(CHANNEL, message, "!plan n CPI at 8:30, flat until 8:45").unwrap();
        let reply = bot.reply(1).await;
        assert!(reply.content.contains("updated (version 2)"), "{}", reply.content);
        assert_eq!(bot.plan("n").unwrap().text, "CPI at 8:30, flat until 8:45");

        bot.emulator.delete_message(CHANNEL, message).unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        while bot.plan("n").is_some() {
            assert!(tokio::time::Instant::now() < deadline, "the plan was not deleted with its message");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let stats = bot.store.stats().unwrap();
        assert_eq!((stats.active_plans, stats.deleted_plans), (0, 1), "soft-deleted, not lost");
    })
    .await;
}

#[tokio::test]
async fn long_lists_are_split_and_mentions_in_plans_ping_nobody() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        let long = "Levels: 512.40 / 515 / 510.80 — @everyone <@&300> <@1002> watch the open.\n".repeat(20);
        for (i, coach) in ["d", "i", "s", "n"].into_iter().enumerate() {
            bot.say(ANN, &format!("!plan {coach} {long}"), i).await;
        }
        bot.emulator.post_message(CHANNEL, BOB, "!plans", vec![]).unwrap();
        let sent = bot.emulator.wait_for_sent_messages(CHANNEL, 6, WAIT).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let listing: Vec<_> = bot.emulator.sent_messages(CHANNEL).into_iter().skip(4).collect();
        assert!(listing.len() >= 3, "about 6,000 characters need several messages, got {}", listing.len());
        for part in &listing {
            assert!(part.content.chars().count() <= 2000);
            assert!(!part.pings_anyone(), "a plan's @everyone or role mention pings nobody");
        }
        let joined: String = listing.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join("\n");
        assert_eq!(joined.matches("@everyone").count(), 80, "every line arrived");
        assert!(sent.iter().all(|m| !m.pings_anyone()));
    })
    .await;
}

#[tokio::test]
async fn the_chart_cap_refuses_the_plan_and_stores_nothing() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        let charts: Vec<_> = (0..11).map(|i| AttachmentSpec::new(format!("c{i}.png"), png())).collect();
        bot.emulator.post_message(CHANNEL, ANN, "!plan d too many charts", charts).unwrap();
        let reply = bot.reply(0).await;
        assert_eq!(reply.content, "⚠️ a plan can have at most 10 charts and this one has 11; remove 1 and post again");
        assert!(bot.plan("d").is_none());
        assert_eq!(bot.store.stats().unwrap().history_entries, 0);
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_the_gateway_keeping_the_session_resumable() {
    within(WAIT, async {
        let mut bot = spawn_bot().await;
        bot.stop().await.unwrap();
        let stats = bot.emulator.gateway_stats();
        assert_eq!(stats.open_connections, 0);
        assert_eq!(
            stats.last_client_close_code,
            Some(4000),
            "a close that keeps the session, not a dropped connection"
        );
        assert!(bot.emulator.sessions()[0].resumable);
        let health = bot.service.bot_health(Duration::from_secs(90)).await.unwrap();
        assert_eq!(health.state, BotState::Disconnected);
    })
    .await;
}
