//! Restarts: a stopped bot resumes its saved session and gets what was posted, edited and deleted meanwhile; when the
//! session cannot be resumed, it reads back what was posted meanwhile, within the look-back, each command once; and
//! events replayed after a crash that the crashed run had handled change nothing.

use std::time::Duration;

use core_model::{BotRecords as _, PlanRepository as _, StatusStore as _, StoredSession};
use discord_emulator::{ChannelId, MessageId};

use crate::helpers::{ANN, BOB, CHANNEL, TestBot, WAIT, spawn_bot, within};

/// Waits until the bot has sent `count` messages in the channel and returns their contents.
async fn replies(bot: &TestBot, count: usize) -> Vec<String> {
    let sent = bot.emulator.wait_for_sent_messages(CHANNEL, count, WAIT).await.unwrap();
    sent.into_iter().map(|m| m.content).collect()
}

/// The bot's replies to one message.
fn replies_to(bot: &TestBot, message: MessageId) -> Vec<String> {
    bot.emulator.sent_messages(CHANNEL).into_iter().filter(|m| m.reply_to == Some(message)).map(|m| m.content).collect()
}

/// Waits until the channel's worker has recorded `message` as handled.
async fn handled(bot: &TestBot, channel: ChannelId, message: MessageId) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let cursor = bot.store.channel_progress(channel.get()).unwrap().cursor;
        if cursor == Some(message.get()) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "message {message} never recorded as handled: {cursor:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `done` holds; fails with `never` once `WAIT` has passed.
async fn until(never: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{never}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stored_session(bot: &TestBot) -> StoredSession {
    bot.store.stored_session().unwrap().expect("a saved, readable session").0
}

#[tokio::test]
async fn a_stopped_bot_resumes_its_session_and_gets_what_was_posted_edited_and_deleted_meanwhile() {
    within(WAIT, async {
        let mut bot = spawn_bot().await;
        let first = bot.emulator.post_message(CHANNEL, ANN, "!plan d 2024-01-01 Long NVDA", vec![]).unwrap();
        let gone = bot.emulator.post_message(CHANNEL, ANN, "!plan s 2024-01-01 Swing AAPL", vec![]).unwrap();
        replies(&bot, 2).await;
        bot.stop().await.unwrap();
        let saved = stored_session(&bot);
        assert_eq!(saved.session_id, bot.emulator.sessions()[0].session_id);

        // While the bot is away: a new plan, an edit of a plan's message, a plan's message deleted.
        let later = bot.emulator.post_message(CHANNEL, BOB, "!plan i 2024-01-01 Fade the open", vec![]).unwrap();
        bot.emulator.edit_message(CHANNEL, first, "!plan d 2024-01-01 Long NVDA above 950").unwrap();
        bot.emulator.delete_message(CHANNEL, gone).unwrap();

        bot.start();
        let all = replies(&bot, 4).await;
        assert!(all[2].starts_with("✅ Plan saved for **Intraday**"), "{all:?}");
        assert!(all[3].contains("updated (version 2)"), "{all:?}");
        // The channel's commands are handled in order: once this one is answered, the deletion was handled.
        let listed = bot.say(BOB, "!plans 2024-01-01", 4).await;
        assert!(!listed.content.contains("Swing AAPL"), "{}", listed.content);
        let stats = bot.emulator.gateway_stats();
        assert_eq!((stats.identifies, stats.resumes, stats.resumes_rejected), (1, 1, 0), "resumed, not new: {stats:?}");
        assert_eq!(bot.plan_on("d", "2024-01-01").unwrap().text, "Long NVDA above 950");
        assert!(bot.plan_on("s", "2024-01-01").is_none(), "the deleted message took its plan along");
        assert_eq!(bot.plan_on("i", "2024-01-01").unwrap().source.message_id, Some(later.get()));
        let reads =
            bot.emulator.rest_calls().into_iter().filter(|c| c.method == "GET" && c.route().starts_with("/channels/"));
        assert_eq!(reads.count(), 0, "nothing was read back: the gateway replayed it all");
        assert_eq!(bot.store.stats().unwrap().history_entries, 5, "posted three, edited one, deleted one");
    })
    .await;
}

#[tokio::test]
async fn without_a_resumable_session_a_restart_reads_back_what_was_posted_meanwhile_once() {
    within(WAIT, async {
        let mut bot = spawn_bot().await;
        bot.say(ANN, "!plan d 2024-01-01 before the outage", 0).await;
        bot.stop().await.unwrap();
        assert_eq!(bot.emulator.invalidate_sessions(), 1, "Discord forgot the session while the bot was away");

        let posted: Vec<MessageId> = [
            (ANN, "!plan d 2024-01-02 Long NVDA"),
            (BOB, "good morning"),
            (BOB, "!plan s 2024-01-02 Swing AAPL"),
            (ANN, "!plans 2024-01-02"),
        ]
        .into_iter()
        .map(|(user, text)| bot.emulator.post_message(CHANNEL, user, text, vec![]).unwrap())
        .collect();

        bot.start();
        let all = replies(&bot, 4).await;
        assert!(all[1].starts_with("✅ Plan saved for **Day Trading**"), "{all:?}");
        assert!(all[2].starts_with("✅ Plan saved for **Swing**"), "{all:?}");
        assert!(all[3].contains("Long NVDA") && all[3].contains("Swing AAPL"), "handled in order: {all:?}");
        for message in [posted[0], posted[2], posted[3]] {
            assert_eq!(replies_to(&bot, message).len(), 1, "one reply to {message}");
        }
        let stats = bot.emulator.gateway_stats();
        assert_eq!((stats.resumes_rejected, stats.identifies), (1, 2), "{stats:?}");
        let plan = bot.plan_on("s", "2024-01-02").unwrap();
        assert_eq!(plan.source.message_id, Some(posted[2].get()));
        assert_eq!(plan.source.channel_name.as_deref(), Some("daily-plans"), "the channel is named after a restart");
        assert_eq!(plan.source.guild_id, Some(discord_emulator::EmulatorConfig::DEFAULT_GUILD.get()));
        handled(&bot, CHANNEL, posted[3]).await;

        // Once more, with the session lost again: nothing is read back twice.
        bot.stop().await.unwrap();
        bot.emulator.invalidate_sessions();
        bot.start();
        bot.emulator.wait_for_gateway(WAIT, "a third session", |s| s.identifies == 3).await.unwrap();
        let reply = bot.say(ANN, "!myplans 2024-01-02", 4).await;
        assert!(reply.content.contains("Long NVDA"), "{}", reply.content);
        assert_eq!(bot.emulator.sent_messages(CHANNEL).len(), 5, "no command was answered twice");
        let stats = bot.store.stats().unwrap();
        assert_eq!((stats.active_plans, stats.history_entries), (3, 3));
    })
    .await;
}

#[tokio::test]
async fn a_first_start_knows_where_to_catch_up_from_what_earlier_runs_stored() {
    within(WAIT, async {
        let mut bot = spawn_bot().await;
        bot.say(ANN, "!plan d 2024-01-01 seen by the first run", 0).await;
        bot.stop().await.unwrap();
        let known = bot.store.known_channels().unwrap();
        let guild = discord_emulator::EmulatorConfig::DEFAULT_GUILD.get();
        assert_eq!(known.0.get(&CHANNEL.get()).map(|k| k.guild), Some(Some(guild)), "{known:?}");
        // A new session and no channel configured: the stored channel is read back all the same.
        bot.emulator.invalidate_sessions();
        let missed = bot.emulator.post_message(CHANNEL, ANN, "!plan i 2024-01-01 posted while away", vec![]).unwrap();
        bot.start();
        replies(&bot, 2).await;
        assert_eq!(bot.plan_on("i", "2024-01-01").unwrap().source.message_id, Some(missed.get()));
    })
    .await;
}

#[tokio::test]
async fn the_look_back_reads_the_newest_messages_and_none_older_than_its_age() {
    within(WAIT, async {
        let mut bot = spawn_bot().await;
        bot.say(ANN, "!plan d 2024-01-01 before", 0).await;
        bot.stop().await.unwrap();
        bot.emulator.invalidate_sessions();
        for day in 2..=5 {
            bot.emulator.post_message(CHANNEL, ANN, format!("!plan d 2024-01-0{day} missed"), vec![]).unwrap();
        }
        bot.catch_up = (2, Duration::from_secs(72 * 3600));
        bot.start();
        replies(&bot, 3).await;
        assert!(bot.plan_on("d", "2024-01-04").is_some() && bot.plan_on("d", "2024-01-05").is_some());
        assert!(bot.plan_on("d", "2024-01-02").is_none() && bot.plan_on("d", "2024-01-03").is_none(), "beyond 2");

        bot.stop().await.unwrap();
        bot.emulator.invalidate_sessions();
        bot.emulator.post_message(CHANNEL, ANN, "!plan d 2024-01-06 missed", vec![]).unwrap();
        // Four days later, the message is older than the 72 hours looked back.
        bot.clock.shift(4 * 24 * 3600);
        bot.catch_up = (500, Duration::from_secs(72 * 3600));
        bot.start();
        bot.emulator.wait_for_gateway(WAIT, "a third session", |s| s.identifies == 3).await.unwrap();
        let reply = bot.say(ANN, "!help", 3).await;
        assert!(reply.content.contains("plan"), "{}", reply.content);
        assert!(bot.plan_on("d", "2024-01-06").is_none(), "older than the look-back");
        assert_eq!(bot.emulator.sent_messages(CHANNEL).len(), 4);
    })
    .await;
}

#[tokio::test]
async fn events_replayed_after_a_crash_that_the_crashed_run_had_handled_change_nothing() {
    within(WAIT, async {
        let mut bot = spawn_bot().await;
        bot.say(ANN, "!help", 0).await;
        bot.stop().await.unwrap();
        // From now on the session is saved only at a clean stop: a crash resumes from before everything below.
        bot.session_save_every = Duration::from_secs(3600);
        bot.start();
        bot.emulator.wait_for_gateway(WAIT, "the resume", |s| s.resumes == 1).await.unwrap();
        let message = bot.emulator.post_message(CHANNEL, ANN, "!plan d 2024-01-05 first", vec![]).unwrap();
        replies(&bot, 2).await;
        bot.emulator.delete_message(CHANNEL, message).unwrap();
        let restore = bot.emulator.post_message(CHANNEL, ANN, "!restore d 2024-01-05", vec![]).unwrap();
        let all = replies(&bot, 3).await;
        assert!(all[2].contains("restored"), "{all:?}");
        handled(&bot, CHANNEL, restore).await;

        bot.crash().await;
        bot.start();
        bot.emulator.wait_for_gateway(WAIT, "the second resume", |s| s.resumes == 2).await.unwrap();
        // The replay (the post, the message's deletion, the restore) came before this command's answer.
        let reply = bot.say(ANN, "!plans 2024-01-05", 3).await;
        assert!(
            reply.content.contains("first"),
            "the replayed deletion did not delete the restored plan: {}",
            reply.content
        );
        let plan = bot.plan_on("d", "2024-01-05").unwrap();
        assert_eq!(plan.version, 3, "posted, deleted with its message, restored");
        assert_eq!(bot.store.stats().unwrap().history_entries, 3);
        assert_eq!(bot.emulator.sent_messages(CHANNEL).len(), 4, "nothing answered twice");
    })
    .await;
}

#[tokio::test]
async fn a_channel_where_nothing_was_handled_yet_is_read_back_from_the_first_message_seen() {
    within(WAIT, async {
        let mut bot = spawn_bot().await;
        // The first command's reply hangs, so the second waits in the channel's queue when the bot dies.
        bot.emulator.set_rest_delay(Duration::from_secs(3));
        bot.emulator.post_message(CHANNEL, ANN, "!plan d 2024-02-01 first", vec![]).unwrap();
        let second = bot.emulator.post_message(CHANNEL, BOB, "!plan i 2024-02-01 second", vec![]).unwrap();
        until("the first plan is never stored", || bot.plan_on("d", "2024-02-01").is_some()).await;
        bot.crash().await;
        assert!(bot.plan_on("i", "2024-02-01").is_none(), "the second command was not handled yet");
        assert!(bot.store.status("bot.cursor.200").unwrap().is_none(), "nothing was noted as handled");
        bot.emulator.set_rest_delay(Duration::ZERO);
        bot.emulator.invalidate_sessions();

        bot.start();
        until("the second command is never answered", || !replies_to(&bot, second).is_empty()).await;
        assert_eq!(bot.plan_on("i", "2024-02-01").unwrap().source.message_id, Some(second.get()));
        let stats = bot.store.stats().unwrap();
        assert_eq!((stats.active_plans, stats.history_entries), (2, 2), "each plan once");
    })
    .await;
}

/// Posts `count` plans of coach `d` at once in the test channel, one a day from 2024-03-01; returns their messages.
fn post_burst(bot: &TestBot, count: u32) -> Vec<MessageId> {
    assert!(count <= 61, "March and April");
    (0..count)
        .map(|day| {
            let date = if day < 31 { format!("2024-03-{:02}", day + 1) } else { format!("2024-04-{:02}", day - 30) };
            bot.emulator.post_message(CHANNEL, ANN, format!("!plan d {date} burst {day}"), vec![]).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_burst_in_one_channel_is_recorded_as_handled_once_answered_and_nothing_is_answered_again() {
    within(WAIT, async {
        let mut bot = spawn_bot().await;
        let posted = post_burst(&bot, 40);
        replies(&bot, 40).await;
        handled(&bot, CHANNEL, *posted.last().unwrap()).await;

        // A restart without a resumable session reads the channel back from where the burst was recorded.
        bot.stop().await.unwrap();
        bot.emulator.invalidate_sessions();
        bot.start();
        bot.emulator.wait_for_gateway(WAIT, "a new session", |s| s.identifies == 2).await.unwrap();
        bot.say(ANN, "!help", 40).await;
        assert_eq!(bot.emulator.sent_messages(CHANNEL).len(), 41, "no command of the burst was answered twice");
        let stats = bot.store.stats().unwrap();
        assert_eq!((stats.active_plans, stats.history_entries), (40, 40));
    })
    .await;
}

#[tokio::test]
async fn a_crash_in_a_burst_sends_at_most_one_confirmation_again_and_posts_no_plan_twice() {
    within(WAIT, async {
        let mut bot = spawn_bot().await;
        // Slow replies keep the channel's queue long when the bot dies.
        bot.emulator.set_rest_delay(Duration::from_millis(30));
        let posted = post_burst(&bot, 40);
        until("the burst is never half stored", || bot.store.stats().unwrap().active_plans >= 20).await;
        bot.crash().await;
        bot.emulator.set_rest_delay(Duration::ZERO);
        bot.emulator.invalidate_sessions();

        bot.start();
        until("a command of the burst is never answered", || posted.iter().all(|m| !replies_to(&bot, *m).is_empty()))
            .await;
        handled(&bot, CHANNEL, *posted.last().unwrap()).await;
        let stats = bot.store.stats().unwrap();
        assert_eq!((stats.active_plans, stats.history_entries), (40, 40), "each plan posted once");
        let mut repeated = 0;
        for message in &posted {
            let answers = replies_to(&bot, *message);
            assert!(answers.iter().all(|a| a.starts_with("✅ Plan saved")), "{answers:?}");
            repeated += answers.len() - 1;
        }
        // A channel's progress rides with the next plan's write, and is saved before any later reply is sent.
        assert!(repeated <= 1, "{repeated} confirmations sent again");
    })
    .await;
}
