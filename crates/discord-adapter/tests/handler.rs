//! The command handler over the in-memory store: every command's reply, its errors, and who may do what.

use std::sync::Arc;

use core_model::memory::MemoryStore;
use core_model::{Actor, Attachment, CoachId, PlanRepository as _};
use discord_adapter::handler::{CommandHandler, IncomingMessage, Listening, Outcome};
use service::{PlanService, Policy};

use core_model::testing::ManualClock as FixedClock;

const GUILD: u64 = 10;
const CHANNEL: u64 = 20;

fn handler_with(listening: Listening, max_charts: usize) -> (CommandHandler, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::at_now());
    let policy = Policy { admin_roles: vec![ADMIN_ROLE], max_charts, ..Policy::default() };
    let service = PlanService::new(store.clone(), store.clone(), clock, policy);
    (CommandHandler::new(service, "!", listening), store)
}

fn handler() -> (CommandHandler, Arc<MemoryStore>) {
    handler_with(Listening::default(), 10)
}

use core_model::testing::{ADMIN_ROLE, ANN, ann, bob, moderator};

fn message(id: u64, author: Actor, content: &str) -> IncomingMessage {
    IncomingMessage {
        message_id: id,
        channel_id: CHANNEL,
        guild_id: Some(GUILD),
        channel_name: Some("plans".into()),
        author,
        author_is_bot: false,
        content: content.into(),
        attachments: vec![],
    }
}

fn png(name: &str) -> Attachment {
    Attachment { filename: name.into(), content_type: Some("image/png".into()), url: format!("http://cdn.test/{name}") }
}

async fn say(handler: &CommandHandler, id: u64, author: Actor, content: &str) -> String {
    handler.on_message(&message(id, author, content)).await.and_then(Outcome::into_reply).unwrap_or_default()
}

#[tokio::test]
async fn plan_saves_and_replies_with_the_coach_date_and_charts() {
    let (handler, store) = handler();
    let mut msg = message(100, ann(), "!plan d Long NVDA above 950 https://i.test/setup.png");
    msg.attachments = vec![
        png("a.png"),
        Attachment {
            filename: "notes.txt".into(),
            content_type: Some("text/plain".into()),
            url: "http://cdn.test/n".into(),
        },
    ];
    let reply = handler.on_message(&msg).await.and_then(Outcome::into_reply).unwrap();
    assert_eq!(
        reply,
        "✅ Plan saved for **Day Trading** (`d`) on 2025-11-09 · 2 charts.\n`notes.txt` is not an image (png, jpg, gif, \
         webp or bmp), so it is not kept as a chart."
    );
    let plan = store.find_active(&CoachId::new("d").unwrap(), "2025-11-09".parse().unwrap()).unwrap().unwrap();
    assert_eq!(plan.text, "Long NVDA above 950 https://i.test/setup.png");
    let urls: Vec<_> = plan.charts.iter().map(|c| c.url.as_str()).collect();
    assert_eq!(urls, ["http://cdn.test/a.png", "https://i.test/setup.png"], "attachment first, then the link");
    assert_eq!(plan.source.message_id, Some(100));
    assert_eq!(plan.source.channel_name.as_deref(), Some("plans"));
    assert_eq!(plan.author.user_id, Some(ANN));

    // The same message delivered again (after a restart that stopped the previous run before it noted the message
    // as handled) posts nothing, and confirms again: the first confirmation may never have been sent.
    assert_eq!(handler.on_message(&msg).await.and_then(Outcome::into_reply), Some(reply));
    assert_eq!(store.stats().unwrap().history_entries, 1);

    let reply = say(&handler, 101, ann(), "!plan D: 2025-11-10 \"Tomorrow: fade the gap\"").await;
    assert_eq!(reply, "✅ Plan saved for **Day Trading** (`d`) on 2025-11-10.");
    let reply = say(&handler, 102, ann(), "!plan coach_d Reworked plan").await;
    assert_eq!(
        reply, "✅ Plan replaced for **Day Trading** (`d`) on 2025-11-09.",
        "re-posting one's own plan replaces it"
    );
}

#[tokio::test]
async fn errors_get_short_replies_that_say_what_to_do() {
    let (handler, store) = handler_with(Listening::default(), 1);
    let cases = [
        ("!plan x Long", "⚠️ unknown coach `x`; valid coaches are: d, i, s, n"),
        ("!plan d", "⚠️ the plan text is empty; write the plan after the coach (and date)"),
        ("!plan", "⚠️ which coach? usage: `!plan <coach> [YYYY-MM-DD] <text>`"),
        ("!plan d 2025-02-30 Long", "⚠️ `2025-02-30` is not a real date; write it as YYYY-MM-DD, e.g. 2025-11-09"),
        (
            "!plan d https://a.test/1.png https://a.test/2.png",
            "⚠️ a plan can have at most 1 chart and this one has 2; remove 1 and post again",
        ),
        ("!edit d new text", "⚠️ there is no plan for coach d on 2025-11-09"),
        ("!delete i", "⚠️ there is no plan for coach i on 2025-11-09"),
        ("!restore s", "⚠️ there is no deleted plan for coach s on 2025-11-09 to restore"),
        ("!plans tomorrow", "⚠️ `tomorrow` reads as a date, but dates are written YYYY-MM-DD here (e.g. 2025-11-09)"),
        ("!plans soon", "⚠️ unexpected `soon`; usage: `!plans [YYYY-MM-DD]`"),
        (
            "!plan d tomorrow Long",
            "⚠️ `tomorrow` reads as a date, but dates are written YYYY-MM-DD here (e.g. 2025-11-09); to start a plan \
             with it, put the plan's date before it",
        ),
        ("!frobnicate", "⚠️ `!frobnicate` is not a command; try `!help`"),
        ("!history", "⚠️ which coach? usage: `!history <coach> [YYYY-MM-DD]`"),
    ];
    for (i, (content, expected)) in cases.into_iter().enumerate() {
        assert_eq!(say(&handler, 200 + i as u64, ann(), content).await, expected, "{content}");
    }
    assert_eq!(store.stats().unwrap().history_entries, 0, "nothing was stored");
    let x = "x".repeat(4001);
    assert_eq!(
        say(&handler, 299, ann(), &format!("!plan d {x}")).await,
        "⚠️ the plan text has 4001 characters; the limit is 4000, so shorten it or split it"
    );
}

#[tokio::test]
async fn only_the_author_or_an_admin_may_change_a_plan() {
    let (handler, store) = handler();
    say(&handler, 1, ann(), "!plan d Ann's plan").await;
    let refused = [
        (
            "!plan d Bob's plan",
            "⚠️ coach d already has a plan for 2025-11-09, posted by Ann; ask them or an admin to edit it",
        ),
        ("!edit d Bob's text", "⚠️ only Ann (who posted it) or an admin may edit the plan of coach d for 2025-11-09"),
        ("!delete d", "⚠️ only Ann (who posted it) or an admin may delete the plan of coach d for 2025-11-09"),
    ];
    for (i, (content, expected)) in refused.into_iter().enumerate() {
        assert_eq!(say(&handler, 10 + i as u64, bob(), content).await, expected);
    }
    assert_eq!(
        say(&handler, 20, ann(), "!edit d Ann's plan, v2").await,
        "✏️ Plan for **Day Trading** (`d`) on 2025-11-09 updated (version 2)."
    );
    assert_eq!(
        say(&handler, 21, moderator(), "!edit d fixed by a moderator").await,
        "✏️ Plan for **Day Trading** (`d`) on 2025-11-09 updated (version 3)."
    );
    assert_eq!(
        say(&handler, 22, moderator(), "!delete d").await,
        "🗑️ Plan for **Day Trading** (`d`) on 2025-11-09 deleted. `!restore d 2025-11-09` brings it back."
    );
    assert_eq!(
        say(&handler, 23, bob(), "!restore d").await,
        "⚠️ only Ann (who posted it) or an admin may restore the plan of coach d for 2025-11-09"
    );
    assert_eq!(
        say(&handler, 24, ann(), "!restore d").await,
        "♻️ Plan for **Day Trading** (`d`) on 2025-11-09 restored."
    );
    let plan = store.find_active(&CoachId::new("d").unwrap(), "2025-11-09".parse().unwrap()).unwrap().unwrap();
    assert_eq!((plan.text.as_str(), plan.author.display_name.as_str()), ("fixed by a moderator", "Ann"));
}

#[tokio::test]
async fn listings_history_and_help() {
    let (handler, _) = handler();
    say(&handler, 1, ann(), "!plan d Day plan").await;
    say(&handler, 2, bob(), "!plan s Swing plan\nsecond line").await;
    say(&handler, 3, ann(), "!plan i 2025-11-10 Tomorrow").await;
    let plans = say(&handler, 4, bob(), "!plans").await;
    assert_eq!(
        plans,
        "📋 **Plans for 2025-11-09**\n\n\
         **Day Trading** (`d`) — by Ann\nDay plan\n\n\
         **Intraday** (`i`) — no plan yet\n\n\
         **Swing** (`s`) — by Bob\nSwing plan\nsecond line\n\n\
         **News/Events** (`n`) — no plan yet"
    );
    let mine = say(&handler, 5, ann(), "!myplans").await;
    assert!(mine.starts_with("📋 **Your plans** (2)"), "{mine}");
    assert!(mine.contains("\n• 2025-11-10 · **Intraday** (`i`): Tomorrow · <https://discord.com/channels/"), "{mine}");
    assert!(mine.contains("\n• 2025-11-09 · **Day Trading** (`d`): Day plan"), "newest first: {mine}");
    assert_eq!(say(&handler, 6, moderator(), "!myplans 2025-11-09").await, "You have no plans for 2025-11-09.");

    say(&handler, 7, ann(), "!edit d Day plan, revised").await;
    let history = say(&handler, 8, bob(), "!history d").await;
    assert!(history.starts_with("🕘 **History of Day Trading** (`d`), all dates, newest first"), "{history}");
    assert!(history.contains("`v2` 2025-11-09 — edited by Ann"), "{history}");
    assert!(history.contains("before: Day plan\n  after: Day plan, revised"), "{history}");
    assert_eq!(
        say(&handler, 9, bob(), "!history n 2025-11-09").await,
        "No changes recorded for **News/Events** (`n`), 2025-11-09."
    );

    let help = say(&handler, 10, bob(), "!help").await;
    assert!(help.contains("`!plan <coach> [YYYY-MM-DD] <text>`"), "{help}");
    assert!(help.contains("d (Day Trading), i (Intraday), s (Swing), n (News/Events)"), "{help}");
    assert_eq!(
        say(&handler, 11, bob(), "!help delete").await.lines().next().unwrap(),
        "`!delete <coach> [YYYY-MM-DD]` — delete a plan (its author or an admin); it can be restored."
    );
}

#[tokio::test]
async fn bots_ordinary_messages_and_other_channels_are_ignored() {
    let listening = Listening { guilds: vec![GUILD], channels: vec![CHANNEL] };
    let (handler, store) = handler_with(listening, 10);
    let mut from_bot = message(1, ann(), "!plan d from a bot");
    from_bot.author_is_bot = true;
    assert_eq!(handler.on_message(&from_bot).await, None);
    assert_eq!(handler.on_message(&message(2, ann(), "good morning desk")).await, None);
    let mut elsewhere = message(3, ann(), "!plan d other channel");
    elsewhere.channel_id = 99;
    assert_eq!(handler.on_message(&elsewhere).await, None);
    let mut other_guild = message(4, ann(), "!plan d other guild");
    other_guild.guild_id = Some(98);
    assert_eq!(handler.on_message(&other_guild).await, None);
    let mut direct = message(5, ann(), "!plan d in a DM");
    direct.guild_id = None;
    assert_eq!(handler.on_message(&direct).await, None, "guilds are set, so direct messages are not listened to");
    assert_eq!(store.stats().unwrap().history_entries, 0);
    assert!(handler.on_message(&message(6, ann(), "!plan d here")).await.is_some());
}

#[tokio::test]
async fn editing_or_deleting_the_source_message_follows_the_plan() {
    let (handler, store) = handler();
    say(&handler, 50, ann(), "!plan d first version").await;
    let mut edited = message(50, ann(), "!plan d second version https://i.test/c.png");
    let reply = handler.on_message_edit(&edited).await.and_then(Outcome::into_reply).unwrap();
    assert_eq!(reply, "✏️ Plan for **Day Trading** (`d`) on 2025-11-09 updated (version 2) · 1 chart.");
    let d = CoachId::new("d").unwrap();
    let today = "2025-11-09".parse().unwrap();
    assert_eq!(store.find_active(&d, today).unwrap().unwrap().text, "second version https://i.test/c.png");
    assert_eq!(handler.on_message_edit(&edited).await, None, "an edit that changes nothing records nothing");
    edited.author = bob();
    edited.content = "!plan d hijacked".into();
    assert_eq!(handler.on_message_edit(&edited).await, None, "only the author's own edit counts");
    assert_eq!(handler.on_message_edit(&message(51, ann(), "!plan d not a plan message")).await, None);

    // An edit that no longer reads as a plan command leaves the plan as it was, and says so, once per content (Discord
    // sends the update again when it adds a link's preview).
    let unreadable = message(50, ann(), "!plan d tomorrow: long above 950");
    let reply = handler.on_message_edit(&unreadable).await.and_then(Outcome::into_reply).unwrap();
    assert!(reply.starts_with("⚠️ `tomorrow:` reads as a date"), "{reply}");
    assert!(
        reply.ends_with(
            "the plan for **Day Trading** (`d`) on 2025-11-09 is unchanged. Edit the message again, or use \
             `!edit d 2025-11-09 <text>`."
        ),
        "{reply}"
    );
    assert_eq!(handler.on_message_edit(&unreadable).await, None, "said once");
    let chat = message(50, ann(), "never mind");
    let reply = handler.on_message_edit(&chat).await.and_then(Outcome::into_reply).unwrap();
    assert!(reply.starts_with("⚠️ the message no longer starts with `!plan`;"), "{reply}");
    assert_eq!(store.find_active(&d, today).unwrap().unwrap().text, "second version https://i.test/c.png");
    assert_eq!(handler.on_message_edit(&message(50, bob(), "hello")).await, None, "not the author's message");
    assert_eq!(handler.on_message_edit(&message(52, ann(), "chat")).await, None, "a message that posted nothing");

    handler.on_message_delete(Some(GUILD), CHANNEL, 50).await;
    assert_eq!(store.find_active(&d, today).unwrap(), None);
    assert_eq!(
        say(&handler, 53, ann(), "!restore d").await,
        "♻️ Plan for **Day Trading** (`d`) on 2025-11-09 restored."
    );
}

#[tokio::test]
async fn an_edit_keeps_the_images_until_new_ones_come_and_its_links_follow_the_text() {
    let (handler, store) = handler();
    let stored = || store.find_active(&CoachId::new("d").unwrap(), "2025-11-09".parse().unwrap()).unwrap().unwrap();
    let urls = || stored().charts.iter().map(|c| c.url.clone()).collect::<Vec<_>>();
    let mut msg = message(200, ann(), "!plan d Two charts https://www.tradingview.com/x/AbCdEf12/");
    msg.attachments = vec![png("c0.png"), png("c1.png")];
    handler.on_message(&msg).await.unwrap();
    assert_eq!(urls().len(), 3);

    // New text with a new link: the images stay, the old link goes, the new one comes.
    let reply = say(&handler, 201, ann(), "!edit d New text https://example.com/x.png").await;
    assert!(reply.ends_with("(version 2) · 3 charts."), "{reply}");
    assert_eq!(urls(), ["http://cdn.test/c0.png", "http://cdn.test/c1.png", "https://example.com/x.png"]);
    // The link removed from the text: only the images.
    let reply = say(&handler, 202, ann(), "!edit d Link removed").await;
    assert!(reply.ends_with("· 2 charts."), "{reply}");
    // New images attached to the edit replace the old ones; the same text makes it a change of charts alone.
    let mut edit = message(203, ann(), "!edit d Link removed");
    edit.attachments = vec![png("c2.png")];
    handler.on_message(&edit).await.unwrap();
    assert_eq!(urls(), ["http://cdn.test/c2.png"]);
    let query = core_model::HistoryQuery { coach: CoachId::new("d").unwrap(), date: None, limit: 10 };
    let history = store.history(&query).unwrap();
    assert_eq!(history[0].action, core_model::HistoryAction::ChartsChanged, "newest first");
    assert_eq!(history[1].action, core_model::HistoryAction::Edited);

    // An edit that changes nothing makes no version and says so.
    let reply = say(&handler, 204, ann(), "!edit d   Link removed  ").await;
    assert_eq!(reply, "⚠️ the plan of coach d for 2025-11-09 already says that (version 4); nothing changed");
    assert_eq!(stored().version, 4);
}

#[tokio::test]
async fn a_long_history_says_that_older_changes_were_left_out() {
    let (handler, _store) = handler();
    say(&handler, 300, ann(), "!plan d version 0").await;
    for i in 1..25 {
        say(&handler, 300 + i, ann(), &format!("!edit d version {i}")).await;
    }
    let all = say(&handler, 400, ann(), "!history d").await;
    assert_eq!(all.matches("• `v").count(), 25, "{all}");
    assert!(!all.contains("older changes"), "25 changes are all shown: {all}");
    say(&handler, 401, ann(), "!edit d version 25").await;
    let cut = say(&handler, 402, ann(), "!history d").await;
    assert_eq!(cut.matches("• `v").count(), 25, "{cut}");
    assert!(cut.contains("`v26`") && !cut.contains("`v1` "), "the newest: {cut}");
    assert!(cut.ends_with("…and older changes: name a date for one day's, or read them all from the API (`/api/v1/coaches/d/history`)."), "{cut}");
}
