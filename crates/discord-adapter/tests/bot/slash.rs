//! Slash commands end to end: registered at start (only when they changed), every command answered through the
//! interaction endpoints, errors and refusals only the caller sees, nobody pinged, the form for long plans, long
//! lists in follow-ups, coaches suggested as they are typed when the roster is too large for choices, and a bot
//! without the Message Content intent doing everything.

use std::time::Duration;

use core_model::{Actor, Coach, CoachId, Roster};
use discord_adapter::handler::Listening;
use discord_emulator::{
    Acknowledgement, AttachmentSpec, EmulatorConfig, FaultResponse, InteractionRecord, RestFault, RouteFilter,
    Suggestion,
};
use service::{EditPlan, Policy, PostPlan};

use crate::helpers::{
    ANN, BOB, CHANNEL, MOD, TestBot, WAIT, domain_user, emulator_config, spawn_slash_bot, spawn_slash_bot_with, within,
};

/// The Message Content intent's bit.
const MESSAGE_CONTENT: u64 = 1 << 15;

fn png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 3]);
    png
}

/// The one answer of an interaction: public or ephemeral, and its text.
fn only_answer(record: &InteractionRecord) -> (bool, String) {
    let visible = record.visible_replies();
    assert_eq!(visible.len(), 1, "{record:?}");
    (visible[0].ephemeral, visible[0].content.clone())
}

#[tokio::test]
async fn a_coach_does_everything_with_slash_commands_and_no_message_content_intent() {
    within(WAIT * 2, async {
        let bot = spawn_slash_bot(emulator_config(), Listening::default()).await;
        let session = &bot.emulator.sessions()[0];
        assert_eq!(session.intents & MESSAGE_CONTENT, 0, "the privileged intent is not asked for");
        let registered = bot.emulator.registered_commands(None);
        let names: Vec<&str> = registered.iter().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(names, ["plan", "edit", "delete", "restore", "plans", "myplans", "history", "search", "help"]);
        let choices: Vec<&str> = registered[0]["options"][0]["choices"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["value"].as_str())
            .collect();
        assert_eq!(choices, ["d", "i", "s", "n"], "the roster is offered as choices");

        let chart = AttachmentSpec::new("spy.png", png());
        let options = vec![("coach", "d".into()), ("text", "Long NVDA above 950".into()), ("chart", chart.into())];
        let posted = bot.slash(ANN, "plan", options, 1).await;
        assert_eq!(posted.acknowledgement, Some(Acknowledgement::Deferred), "a /plan is deferred first");
        let (ephemeral, text) = only_answer(&posted);
        assert!(!ephemeral && text.starts_with("✅ Plan saved for **Day Trading** (`d`) on "), "{text}");
        assert!(text.ends_with(" · 1 chart."), "{text}");
        let plan = bot.plan("d").unwrap();
        assert_eq!((plan.text.as_str(), plan.author.user_id), ("Long NVDA above 950", Some(domain_user(ANN))));
        assert_eq!(plan.charts[0].filename.as_deref(), Some("spy.png"));
        assert_eq!(
            plan.source.message_id,
            Some(posted.original().unwrap().id.get()),
            "the answer's message is the plan's source"
        );
        assert_eq!(plan.source.channel_name.as_deref(), Some("daily-plans"));

        let edited = bot.slash(ANN, "edit", vec![("coach", "d".into()), ("text", "Short below 940".into())], 1).await;
        let (ephemeral, text) = only_answer(&edited);
        assert!(!ephemeral && text.starts_with("✏️ Plan for **Day Trading** (`d`)"), "{text}");
        assert_eq!(bot.plan("d").unwrap().text, "Short below 940");

        let (ephemeral, text) = only_answer(&bot.slash(BOB, "plans", vec![], 1).await);
        assert!(!ephemeral && text.starts_with("📋 **Plans for ") && text.contains("Short below 940"), "{text}");
        let (_, text) = only_answer(&bot.slash(ANN, "myplans", vec![], 1).await);
        assert!(text.contains("Your plans"), "{text}");
        let (_, text) = only_answer(&bot.slash(ANN, "history", vec![("coach", "d".into())], 1).await);
        assert!(text.contains("Short below 940"), "{text}");
        let (_, text) =
            only_answer(&bot.slash(BOB, "search", vec![("query", "below".into()), ("days", "7".into())], 1).await);
        assert!(text.contains("Day Trading"), "the plan with the word is found: {text}");
        let (ephemeral, text) = only_answer(&bot.slash(BOB, "help", vec![], 1).await);
        assert!(ephemeral, "help is for the caller alone");
        assert!(text.contains("`/plan coach [text] [date] [chart…]`") && text.contains("d (Day Trading)"), "{text}");

        let (_, text) = only_answer(&bot.slash(ANN, "delete", vec![("coach", "d".into())], 1).await);
        assert!(text.contains("/restore d"), "the way back is named as a slash command: {text}");
        assert!(bot.plan("d").is_none());
        let (_, text) = only_answer(&bot.slash(ANN, "restore", vec![("coach", "d".into())], 1).await);
        assert!(text.starts_with("♻️ Plan for **Day Trading** (`d`)"), "{text}");
        assert!(bot.plan("d").is_some());

        // Prefix commands are off: a `!plan` is an ordinary message.
        bot.emulator.post_message(CHANNEL, ANN, "!plan s Long SPY", vec![]).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(bot.plan("s").is_none() && bot.emulator.all_sent_messages().is_empty());
    })
    .await;
}

#[tokio::test]
async fn errors_and_refusals_are_shown_only_to_the_caller_and_authorization_holds() {
    within(WAIT * 2, async {
        let bot = spawn_slash_bot(emulator_config(), Listening::default()).await;
        bot.slash(ANN, "plan", vec![("coach", "d".into()), ("text", "Long".into())], 1).await;

        // Bob may not edit Ann's plan; the moderator (admin role from the member) may.
        let (ephemeral, text) =
            only_answer(&bot.slash(BOB, "edit", vec![("coach", "d".into()), ("text", "x".into())], 1).await);
        assert!(ephemeral && text.starts_with("⚠️"), "{text}");
        let (ephemeral, text) =
            only_answer(&bot.slash(MOD, "edit", vec![("coach", "d".into()), ("text", "Admin fix".into())], 1).await);
        assert!(!ephemeral && text.starts_with("✏️"), "{text}");

        // A refused /plan: its "thinking…" answer is withdrawn and the refusal goes to the caller alone.
        let refused = bot.slash(BOB, "plan", vec![("coach", "d".into()), ("text", "Mine".into())], 1).await;
        assert!(refused.original().unwrap().deleted, "{refused:?}");
        let (ephemeral, text) = only_answer(&refused);
        assert!(ephemeral && text.starts_with("⚠️") && text.contains("already"), "{text}");
        assert_eq!(bot.plan("d").unwrap().text, "Admin fix");

        let bad_date = vec![("coach", "i".into()), ("text", "x".into()), ("date", "2025-02-30".into())];
        let (ephemeral, text) = only_answer(&bot.slash(ANN, "plan", bad_date, 1).await);
        assert!(
            ephemeral
                && text.contains("`2025-02-30` is not a date; write YYYY-MM-DD (e.g. 2025-11-09), today or yesterday"),
            "{text}"
        );
        let yesterday = vec![("coach", "i".into()), ("text", "Late".into()), ("date", "yesterday".into())];
        let (ephemeral, _) = only_answer(&bot.slash(ANN, "plan", yesterday, 1).await);
        assert!(!ephemeral);
        let yesterday = bot.service.today().date().yesterday().unwrap().to_string();
        assert!(bot.plan_on("i", &yesterday).is_some(), "`yesterday` is the day before the market's today");
        // The text is read as `!plan` reads it: a leading date is the plan's, quotes around it all go.
        let dated = vec![("coach", "s".into()), ("text", format!("{yesterday}: \"Swing, late\"").as_str().into())];
        let (ephemeral, _) = only_answer(&bot.slash(ANN, "plan", dated, 1).await);
        assert!(!ephemeral);
        assert_eq!(bot.plan_on("s", &yesterday).map(|p| p.text), Some("Swing, late".to_owned()));
        let tomorrow = vec![("coach", "n".into()), ("text", "tomorrow: CPI".into())];
        let (ephemeral, text) = only_answer(&bot.slash(ANN, "plan", tomorrow, 1).await);
        assert!(ephemeral && text.contains("`tomorrow:` reads as a date"), "{text}");
        assert!(text.ends_with("Your text, to send again:\n```\ntomorrow: CPI\n```"), "given back as typed: {text}");
        assert!(bot.plan("n").is_none(), "nothing posted for today");

        // Discord's answer endpoint failing once: the answer is sent again.
        bot.emulator.inject_rest_fault(
            RestFault::new(FaultResponse::ServerError, 1).matching(RouteFilter::new("POST", "/interactions/")),
        );
        let (ephemeral, text) = only_answer(&bot.slash(BOB, "plans", vec![], 1).await);
        assert!(!ephemeral && text.starts_with("📋"), "{text}");
        assert!(bot.emulator.interactions().iter().all(|i| i.refused_callbacks == 0), "each answered once, in time");
    })
    .await;
}

#[tokio::test]
async fn a_long_plan_goes_through_the_form_with_the_charts_given_to_the_command() {
    within(WAIT, async {
        let bot = spawn_slash_bot(emulator_config(), Listening::default()).await;
        let chart = AttachmentSpec::new("levels.png", png());
        let opened = bot.slash(ANN, "plan", vec![("coach", "s".into()), ("chart", chart.into())], 0).await;
        let opened = bot.emulator.wait_for_interaction(opened.id, WAIT, InteractionRecord::is_answered).await.unwrap();
        let Some(Acknowledgement::Modal { title, inputs, .. }) = &opened.acknowledgement else { panic!("{opened:?}") };
        assert_eq!(title, "Plan for Swing");
        assert!(inputs[0].paragraph && inputs[0].required && inputs[0].max_length == Some(4000), "{inputs:?}");

        let long_plan = "Swing: long SPY above 600, stop 590.\n".repeat(90);
        let submitted =
            bot.emulator.submit_modal(opened.id, vec![(inputs[0].custom_id.as_str(), long_plan.as_str())]).unwrap();
        let answer = bot.answered(submitted, 1).await;
        let (ephemeral, text) = only_answer(&answer);
        assert!(
            !ephemeral && text.starts_with("✅ Plan saved for **Swing** (`s`)") && text.ends_with("· 1 chart."),
            "{text}"
        );
        let plan = bot.plan("s").unwrap();
        assert_eq!(plan.text, long_plan.trim());
        assert_eq!(plan.charts[0].filename.as_deref(), Some("levels.png"), "the command's chart waited for the form");

        // Someone else's form for that plan is not opened: the refusal comes before anything is typed.
        let refused = bot.slash(BOB, "plan", vec![("coach", "s".into())], 1).await;
        assert_eq!(refused.acknowledgement, Some(Acknowledgement::Message), "no form: {refused:?}");
        let (ephemeral, text) = only_answer(&refused);
        assert!(ephemeral && text.contains("already has a plan for") && text.contains("posted by Ann"), "{text}");

        // A form refused when it is sent (another posted the plan meanwhile) gives its text back, to send again: in a
        // code block closed and opened again across the messages it takes.
        let opened = bot.slash(ANN, "plan", vec![("coach", "n".into())], 0).await;
        let opened = bot.emulator.wait_for_interaction(opened.id, WAIT, InteractionRecord::is_answered).await.unwrap();
        let Some(Acknowledgement::Modal { inputs, .. }) = &opened.acknowledgement else { panic!("{opened:?}") };
        let posted = bot.slash(BOB, "plan", vec![("coach", "n".into()), ("text", "CPI at 8:30".into())], 1).await;
        assert!(only_answer(&posted).1.starts_with("✅"), "{posted:?}");
        let typed = "News: **CPI** at 8:30, then FOMC minutes; fade the first move.\n".repeat(50);
        let submitted =
            bot.emulator.submit_modal(opened.id, vec![(inputs[0].custom_id.as_str(), typed.as_str())]).unwrap();
        let refused = bot.answered(submitted, 2).await;
        let parts: Vec<_> = refused.visible_replies().into_iter().map(|r| (r.ephemeral, r.content.clone())).collect();
        assert!(parts.iter().all(|(ephemeral, text)| *ephemeral && text.chars().count() <= 2000), "{parts:?}");
        assert!(
            parts[0].1.contains("already has a plan for")
                && parts[0].1.contains("Your text, to send again:\n```\nNews: **CPI**"),
            "{parts:?}"
        );
        for (_, part) in &parts {
            assert_eq!(part.matches("```").count() % 2, 0, "each message closes its code block: {part}");
        }
        let given_back: String = parts.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join("\n");
        assert_eq!(given_back.matches("fade the first move.").count(), 50, "the whole text comes back");
        assert_eq!(bot.plan("n").unwrap().text, "CPI at 8:30", "the other's plan stands");
    })
    .await;
}

#[tokio::test]
async fn long_answers_continue_in_follow_ups_within_discords_limit() {
    within(WAIT * 2, async {
        let bot = spawn_slash_bot(emulator_config(), Listening::default()).await;
        let ann = Actor { user_id: domain_user(ANN), display_name: "Ann".into(), roles: vec![] };
        let coach = bot.service.parse_coach("d").unwrap();
        let text =
            |i: usize| bot.service.parse_text(&format!("Version {i}: {}", "levels and notes ".repeat(8))).unwrap();
        let post =
            PostPlan { coach: coach.clone(), date: None, text: text(0), charts: vec![], source: Default::default() };
        bot.service.post(&ann, post).await.unwrap();
        for i in 1..25 {
            let edit = EditPlan {
                coach: coach.clone(),
                date: None,
                text: text(i),
                charts: service::EditCharts::Keep,
                expected_version: None,
            };
            bot.service.edit(&ann, edit).await.unwrap();
        }
        let history = bot.slash(BOB, "history", vec![("coach", "d".into())], 2).await;
        let replies = history.visible_replies();
        assert!(replies.len() >= 2, "{history:?}");
        assert!(replies.iter().all(|r| !r.ephemeral && r.content.chars().count() <= 2000));
        assert!(replies[0].original && !replies[1].original, "the original answer, then follow-ups");
        assert!(replies.iter().any(|r| r.content.contains("Version 24")));
    })
    .await;
}

#[tokio::test]
async fn commands_are_registered_per_guild_and_only_when_they_changed() {
    within(WAIT * 2, async {
        let guild = EmulatorConfig::DEFAULT_GUILD;
        let listening = Listening { guilds: vec![guild.get()], channels: vec![] };
        let mut bot = spawn_slash_bot(emulator_config(), listening).await;
        assert_eq!(bot.emulator.registered_commands(Some(guild)).len(), 9, "guild commands show at once");
        assert!(bot.emulator.registered_commands(None).is_empty());
        assert_eq!(bot.emulator.command_overwrites(), 1, "nothing global to remove");

        bot.stop().await.unwrap();
        bot.emulator.clear_rest_records();
        bot.start();
        bot.emulator
            .wait_for_rest_call(WAIT, "the guild's commands read again", |c| {
                c.method == "GET" && c.route().ends_with(&format!("/guilds/{guild}/commands"))
            })
            .await
            .unwrap();
        bot.emulator
            .wait_for_rest_call(WAIT, "the global commands read again", |c| {
                c.method == "GET" && c.route().ends_with("/commands") && !c.route().contains("/guilds/")
            })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(bot.emulator.command_overwrites(), 1, "unchanged definitions are not written again");
        let (_, text) = only_answer(&bot.slash(ANN, "plans", vec![], 1).await);
        assert!(text.starts_with("📋"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn a_channel_the_bot_does_not_listen_in_gets_a_private_refusal() {
    within(WAIT, async {
        let listening = Listening { guilds: vec![], channels: vec![CHANNEL.get() + 1] };
        let bot = spawn_slash_bot(emulator_config(), listening).await;
        let (ephemeral, text) =
            only_answer(&bot.slash(ANN, "plan", vec![("coach", "d".into()), ("text", "x".into())], 1).await);
        assert!(ephemeral && text.contains("do not take commands in this channel"), "{text}");
        assert!(bot.plan("d").is_none());
    })
    .await;
}

/// What the bot suggests while Bob types `typed` into the coach of `/command`.
async fn suggested(bot: &TestBot, command: &str, typed: &str) -> Vec<Suggestion> {
    let id = bot.emulator.autocomplete(CHANNEL, BOB, command, "coach", typed).unwrap();
    let record = bot.emulator.wait_for_interaction(id, WAIT, InteractionRecord::is_answered).await.unwrap();
    match record.acknowledgement {
        Some(Acknowledgement::Suggestions(suggestions)) => suggestions,
        other => panic!("suggestions expected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_roster_too_large_for_choices_is_suggested_as_the_coach_is_typed() {
    within(WAIT, async {
        let mut coaches = Roster::default().coaches().to_vec();
        let desk = |i: usize| Coach { id: CoachId::new(&format!("desk{i}")).unwrap(), name: format!("Desk {i}") };
        coaches.extend((1..=30).map(desk));
        let policy = Policy { roster: Roster::new(coaches).unwrap(), ..Policy::default() };
        let bot = spawn_slash_bot_with(emulator_config(), policy, Listening::default()).await;
        let registered = bot.emulator.registered_commands(None);
        let coach = &registered[0]["options"][0];
        assert_eq!(coach["autocomplete"], true, "{coach}");
        assert!(coach["choices"].as_array().is_none_or(Vec::is_empty), "34 coaches are too many for choices");

        let swing = suggested(&bot, "plan", "sw").await;
        assert_eq!(swing, [Suggestion { name: "Swing (s)".into(), value: "s".into() }]);
        let desks = suggested(&bot, "history", "DESK").await;
        assert_eq!(desks.len(), 25, "at most Discord's limit");
        assert_eq!(desks[0], Suggestion { name: "Desk 1 (desk1)".into(), value: "desk1".into() });
        assert!(suggested(&bot, "delete", "zzz").await.is_empty());

        // The suggestion picked is what the command gets; a coach typed without picking is checked as ever.
        let options = vec![("coach", "desk30".into()), ("text", "Long SPY above 600".into())];
        let (ephemeral, text) = only_answer(&bot.slash(ANN, "plan", options, 1).await);
        assert!(!ephemeral && text.starts_with("✅ Plan saved for **Desk 30** (`desk30`)"), "{text}");
        let options = vec![("coach", "Swing trader".into()), ("text", "Long".into())];
        let (ephemeral, text) = only_answer(&bot.slash(ANN, "plan", options, 1).await);
        assert!(ephemeral && text.contains("unknown coach `Swing trader`"), "{text}");
        assert!(bot.emulator.interactions().iter().all(|i| i.refused_callbacks == 0), "each answered once, in time");
    })
    .await;
}
