//! Where the bot listens and whom it ignores, the replies to malformed commands, error pages that are not JSON, and
//! edits of a plan's message: all through the real gateway and REST.

use std::time::Duration;

use core_model::PlanRepository as _;
use discord_adapter::handler::Listening;
use discord_emulator::{AttachmentSpec, ChannelId, EmulatorConfig, FaultResponse, GuildSpec, RestFault, UserSpec};
use service::Policy;

use crate::helpers::{ANN, BOB, CHANNEL, WAIT, emulator_config, spawn_bot, spawn_bot_listening, within};

const CHATTER: ChannelId = ChannelId(201);
const OTHER_DESK: ChannelId = ChannelId(300);
const OTHER_BOT: discord_emulator::UserId = discord_emulator::UserId(1009);

fn png() -> Vec<u8> {
    vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]
}

#[tokio::test]
async fn only_listed_guilds_and_channels_and_only_people_are_heard() {
    within(WAIT, async {
        let config = emulator_config()
            .with_channel(CHATTER, "chatter")
            .with_guild(GuildSpec::new(101, "Other desk").with_channel(OTHER_DESK, "plans"))
            .with_user(UserSpec::new(OTHER_BOT, "otherbot").as_bot());
        // Channel 300 is listed, but its guild is not.
        let listening = Listening { guilds: vec![EmulatorConfig::DEFAULT_GUILD.get()], channels: vec![200, 300] };
        let bot = spawn_bot_listening(config, Policy::default(), listening).await;
        bot.emulator.post_message(CHATTER, ANN, "!plan d posted in a channel not listed", vec![]).unwrap();
        bot.emulator.post_message(OTHER_DESK, ANN, "!plan i posted in a guild not listed", vec![]).unwrap();
        bot.emulator.post_message(CHANNEL, OTHER_BOT, "!plan s posted by another bot", vec![]).unwrap();
        bot.emulator.post_message(CHANNEL, OTHER_BOT, "!nonsense from another bot", vec![]).unwrap();
        // The gateway delivers in order and the bot decides on each before the next: once this one is answered,
        // the others were dropped.
        let reply = bot.say(ANN, "!plan n posted where the bot listens", 0).await;
        assert!(reply.content.starts_with("✅ Plan saved for **News/Events**"), "{}", reply.content);

        assert_eq!(bot.emulator.all_sent_messages().len(), 1, "no reply anywhere else");
        let stats = bot.store.stats().unwrap();
        assert_eq!((stats.active_plans, stats.history_entries), (1, 1), "nothing else stored");
        assert!(bot.plan("d").is_none() && bot.plan("i").is_none() && bot.plan("s").is_none());
        let reads: Vec<_> = bot
            .emulator
            .rest_calls()
            .into_iter()
            .filter(|c| c.method == "GET" && c.route().starts_with("/channels/"))
            .collect();
        assert!(reads.is_empty(), "the bot reads no channel it does not listen in: {reads:?}");
    })
    .await;
}

#[tokio::test]
async fn malformed_commands_get_replies_that_say_what_to_do() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        let cases = [
            ("!plan", "⚠️ which coach? usage: `!plan <coach> [YYYY-MM-DD] <text>`"),
            ("!edit d", "⚠️ the plan text is missing; usage: `!edit <coach> [YYYY-MM-DD] <text>`"),
            ("!delete", "⚠️ which coach? usage: `!delete <coach> [YYYY-MM-DD]`"),
            ("!history", "⚠️ which coach? usage: `!history <coach> [YYYY-MM-DD]`"),
            ("!plans d", "⚠️ unexpected `d`; usage: `!plans [YYYY-MM-DD]`"),
            ("!planz d Long", "⚠️ `!planz` is not a command; try `!help`"),
            ("!plan q Long", "⚠️ unknown coach `q`; valid coaches are: d, i, s, n"),
            ("!history coach_x", "⚠️ unknown coach `coach_x`; valid coaches are: d, i, s, n"),
            ("!plan d 2025-02-30 Long", "⚠️ `2025-02-30` is not a real date; write it as YYYY-MM-DD, e.g. 2025-11-09"),
            ("!myplans 2025-13-01", "⚠️ `2025-13-01` is not a real date; write it as YYYY-MM-DD, e.g. 2025-11-09"),
        ];
        for (n, (command, expected)) in cases.iter().enumerate() {
            let reply = bot.say(BOB, command, n).await;
            assert_eq!(reply.content, *expected, "reply to {command:?}");
            assert!(reply.reply_to.is_some(), "{command:?} is answered as a reply");
        }
        let empty = bot.say(BOB, "!plan d", cases.len()).await;
        assert!(empty.content.starts_with("⚠️ ") && empty.content.contains("empty"), "{}", empty.content);
        let stats = bot.store.stats().unwrap();
        assert_eq!((stats.active_plans, stats.history_entries), (0, 0), "no malformed command stored anything");
    })
    .await;
}

#[tokio::test]
async fn error_pages_in_front_of_discord_are_retried_until_the_reply_is_sent() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        bot.emulator.inject_rest_fault(RestFault::new(FaultResponse::html_page(502), 1));
        bot.emulator.inject_rest_fault(RestFault::new(FaultResponse::empty_body(503), 1));
        bot.emulator.inject_rest_fault(RestFault::new(FaultResponse::html_page(504), 1));
        let reply = bot.say(ANN, "!plan d Long NVDA above 950", 0).await;
        assert!(reply.content.starts_with("✅ Plan saved"), "{}", reply.content);
        let posts: Vec<u16> = bot
            .emulator
            .rest_calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.route() == "/channels/200/messages")
            .map(|c| c.status)
            .collect();
        assert_eq!(posts, vec![502, 503, 504, 200], "each error page was retried, and the reply sent once");
    })
    .await;
}

#[tokio::test]
async fn editing_a_plans_message_cannot_move_it_to_another_coach_or_date() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        let message = bot.emulator.post_message(CHANNEL, ANN, "!plan d 2024-01-02 Long above 950", vec![]).unwrap();
        bot.reply(0).await;
        let refusal = "⚠️ editing a message cannot move its plan to another coach or date; the plan for **Day \
                       Trading** (`d`) on 2024-01-02 is unchanged. Post a new `!plan` for the other coach or date \
                       (and `!delete d 2024-01-02` this one if it is wrong).";

        bot.emulator.edit_message(CHANNEL, message, "!plan s 2024-01-02 Long above 950").unwrap();
        assert_eq!(bot.reply(1).await.content, refusal);
        bot.emulator.edit_message(CHANNEL, message, "!plan d 2024-01-03 Long above 950").unwrap();
        assert_eq!(bot.reply(2).await.content, refusal);
        let plan = bot.plan_on("d", "2024-01-02").unwrap();
        assert_eq!((plan.version, plan.text.as_str()), (1, "Long above 950"), "the plan did not change");
        assert!(bot.plan_on("s", "2024-01-02").is_none() && bot.plan_on("d", "2024-01-03").is_none());

        // The same coach in another form, with or without the date, is the same plan.
        bot.emulator.edit_message(CHANNEL, message, "!plan coach_d Long above 951").unwrap();
        assert!(bot.reply(3).await.content.contains("updated (version 2)"));
        bot.emulator.edit_message(CHANNEL, message, "!plan D 2024-01-02 Long above 952").unwrap();
        assert!(bot.reply(4).await.content.contains("updated (version 3)"));
        assert_eq!(bot.plan_on("d", "2024-01-02").unwrap().text, "Long above 952");
    })
    .await;
}

#[tokio::test]
async fn an_edit_that_only_re_signs_attachment_urls_changes_nothing() {
    within(WAIT, async {
        let bot = spawn_bot().await;
        let chart = vec![AttachmentSpec::new("spy.png", png())];
        let message = bot.emulator.post_message(CHANNEL, ANN, "!plan d Long SPY", chart).unwrap();
        bot.reply(0).await;
        let stored_url = bot.plan("d").unwrap().charts[0].url.clone();
        // Signatures carry the second they were issued in: let one pass, so the edit carries another URL.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        bot.emulator.edit_message(CHANNEL, message, "!plan d   Long SPY").unwrap();
        let resigned = bot.emulator.channel_messages(CHANNEL).unwrap()[0].attachments[0].url.clone();
        assert_ne!(resigned, stored_url, "the edit event carries a freshly signed URL");
        // The channel's worker handles the edit before this command: an answer to the edit would come first.
        let next = bot.say(ANN, "!myplans", 1).await;
        assert!(next.content.starts_with("📋 **Your plans**"), "the edit was answered: {}", next.content);
        let plan = bot.plan("d").unwrap();
        assert_eq!((plan.version, plan.charts[0].url.as_str()), (1, stored_url.as_str()));
        assert_eq!(bot.store.stats().unwrap().history_entries, 1);

        bot.emulator.edit_message(CHANNEL, message, "!plan d Long SPY, stop 590").unwrap();
        assert!(bot.reply(2).await.content.contains("updated (version 2) · 1 chart"));
        let plan = bot.plan("d").unwrap();
        assert_eq!((plan.text.as_str(), plan.charts.len()), ("Long SPY, stop 590", 1));
    })
    .await;
}
