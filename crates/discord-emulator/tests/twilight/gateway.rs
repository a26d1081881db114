//! Gateway: READY, dispatches twilight deserializes, resumes after every kind of disruption, authentication.

use std::time::Duration;

use discord_emulator::{AttachmentSpec, EmulatorConfig, EmulatorError};
use twilight_gateway::queue::InMemoryQueue;
use twilight_gateway::{CloseFrame, ConfigBuilder, Event, Intents, Shard, ShardId};
use twilight_model::id::Id;

use crate::support::{
    ALICE, BOB, COACH_ROLE, WAIT, bot_intents, created_contents, drive, emulator, get, shard, shard_with_token,
    tiny_png, within,
};

const CHANNEL: discord_emulator::ChannelId = EmulatorConfig::DEFAULT_CHANNEL;

#[tokio::test]
async fn shard_gets_ready_then_guild_create() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));

        let ready = events
            .next("READY", |e| match e {
                Event::Ready(ready) => Some(ready),
                _ => None,
            })
            .await;
        assert_eq!(ready.user.id, Id::new(EmulatorConfig::DEFAULT_BOT.get()));
        assert!(ready.user.bot);
        assert_eq!(ready.application.id, Id::new(EmulatorConfig::DEFAULT_BOT.get()));
        assert_eq!(ready.resume_gateway_url, format!("{}/resume", emulator.gateway_url()));
        assert_eq!(ready.guilds.len(), 1);
        assert_eq!(ready.shard, Some(ShardId::ONE));

        let guild = events
            .next("GUILD_CREATE", |e| match e {
                Event::GuildCreate(guild) => Some(guild),
                _ => None,
            })
            .await;
        let twilight_model::gateway::payload::incoming::GuildCreate::Available(guild) = *guild else {
            panic!("guild should be available");
        };
        assert_eq!(guild.id, Id::new(EmulatorConfig::DEFAULT_GUILD.get()));
        assert_eq!(guild.channels[0].name.as_deref(), Some("daily-plans"));
        assert!(guild.roles.iter().any(|r| r.name == "Coach"));

        let stats = emulator.wait_for_ready(WAIT).await.expect("ready was sent");
        assert_eq!((stats.identifies, stats.resumes), (1, 0));
        let sessions = emulator.sessions();
        assert_eq!(sessions.len(), 1);
        assert!(sessions[0].connected);
        assert_eq!(sessions[0].intents, bot_intents().bits());
    })
    .await;
}

#[tokio::test]
async fn message_lifecycle_reaches_twilight_with_member_and_attachment() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        emulator.wait_for_ready(WAIT).await.expect("ready");

        let chart = AttachmentSpec::new("my chart.png", tiny_png());
        let id = emulator.post_message(CHANNEL, ALICE, "!plan d Long SPY <@1002>", vec![chart]).expect("posted");

        let message = events
            .next("MESSAGE_CREATE", |e| match e {
                Event::MessageCreate(m) => Some(m.message),
                _ => None,
            })
            .await;
        assert_eq!(message.id.get(), id.get());
        assert_eq!(message.content, "!plan d Long SPY <@1002>");
        assert_eq!(message.channel_id.get(), CHANNEL.get());
        assert_eq!(message.guild_id.map(Id::get), Some(EmulatorConfig::DEFAULT_GUILD.get()));
        assert_eq!(message.author.id.get(), ALICE.get());
        assert_eq!(message.author.name, "alice");
        assert_eq!(message.author.global_name.as_deref(), Some("Alice A."));
        let member = message.member.as_ref().expect("guild messages carry the member");
        assert_eq!(member.roles, vec![Id::new(COACH_ROLE.get())]);
        assert_eq!(member.nick.as_deref(), Some("Coach Alice"));
        assert_eq!(message.mentions.len(), 1);
        assert_eq!(message.mentions[0].id.get(), BOB.get());

        let attachment = &message.attachments[0];
        assert_eq!(attachment.filename, "my_chart.png");
        assert_eq!(attachment.content_type.as_deref(), Some("image/png"));
        assert_eq!(attachment.size, tiny_png().len() as u64);
        assert_eq!((attachment.width, attachment.height), (Some(2), Some(3)));
        assert!(attachment.url.starts_with(&emulator.http_base_url()));
        let (status, head, body) = get(&attachment.url).await;
        assert_eq!(status, 200);
        assert!(head.to_ascii_lowercase().contains("content-type: image/png"));
        assert_eq!(body, tiny_png());

        emulator.edit_message(CHANNEL, id, "!plan d Long QQQ").expect("edited");
        let updated = events
            .next("MESSAGE_UPDATE", |e| match e {
                Event::MessageUpdate(m) => Some((*m).0),
                _ => None,
            })
            .await;
        assert_eq!(updated.content, "!plan d Long QQQ");
        assert!(updated.edited_timestamp.is_some());
        assert_eq!(updated.attachments.len(), 1);
        let path = |url: &str| url.split('?').next().unwrap_or_default().to_owned();
        assert_eq!(path(&updated.attachments[0].url), path(&attachment.url), "the same file, signed anew");
        assert_eq!(get(&updated.attachments[0].url).await.0, 200);

        emulator.delete_message(CHANNEL, id).expect("deleted");
        let deleted = events
            .next("MESSAGE_DELETE", |e| match e {
                Event::MessageDelete(d) => Some(d),
                _ => None,
            })
            .await;
        assert_eq!(deleted.id.get(), id.get());
        assert_eq!(get(&attachment.url).await.0, 404, "deleted attachments are gone from the CDN");
        assert!(emulator.channel_messages(CHANNEL).expect("channel").is_empty());
    })
    .await;
}

#[tokio::test]
async fn intents_are_enforced_like_discord() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, Intents::GUILDS | Intents::GUILD_MESSAGES));
        emulator.wait_for_ready(WAIT).await.expect("ready");

        emulator.post_message(CHANNEL, ALICE, "!plans", Vec::new()).expect("posted");
        emulator.post_message(CHANNEL, ALICE, "<@10> !plans", Vec::new()).expect("posted");
        let contents = created_contents(&events.collect_for(Duration::from_millis(300)).await);
        assert_eq!(contents, vec![String::new(), "<@10> !plans".to_owned()]);

        let err = emulator
            .post_message(CHANNEL, discord_emulator::UserId(999), "who?", Vec::new())
            .expect_err("unknown users cannot post");
        assert!(matches!(err, EmulatorError::UnknownUser(_)));
    })
    .await;
}

#[tokio::test]
async fn dropped_connection_resumes_and_delivers_the_outage_message_once() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        emulator.wait_for_ready(WAIT).await.expect("ready");
        emulator.post_message(CHANNEL, ALICE, "before", Vec::new()).expect("posted");

        assert_eq!(emulator.drop_gateway_connections(), 1);
        emulator.post_message(CHANNEL, ALICE, "during", Vec::new()).expect("posted");
        emulator.wait_for_gateway(WAIT, "a resume", |s| s.resumes >= 1).await.expect("twilight resumed");
        emulator.post_message(CHANNEL, ALICE, "after", Vec::new()).expect("posted");

        let events = events.collect_for(Duration::from_millis(500)).await;
        assert!(events.iter().any(|e| matches!(e, Event::Resumed)));
        assert_eq!(created_contents(&events), vec!["before", "during", "after"]);
        let stats = emulator.gateway_stats();
        assert_eq!((stats.identifies, stats.resumes, stats.connections), (1, 1, 2));
    })
    .await;
}

#[tokio::test]
async fn op7_reconnect_makes_twilight_resume() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        emulator.wait_for_ready(WAIT).await.expect("ready");

        assert_eq!(emulator.send_reconnect(), 1);
        emulator.post_message(CHANNEL, BOB, "while reconnecting", Vec::new()).expect("posted");
        let mut seen = events.until("RESUMED", |e| matches!(e, Event::Resumed)).await;
        let stats = emulator.gateway_stats();
        assert_eq!((stats.identifies, stats.resumes), (1, 1));
        assert_eq!(stats.last_client_close_code, Some(4000));
        seen.extend(events.collect_for(Duration::from_millis(300)).await);
        // Before or after RESUMED, depending on timing; exactly once either way.
        assert_eq!(created_contents(&seen), vec!["while reconnecting"]);
    })
    .await;
}

#[tokio::test]
async fn op9_invalid_session_makes_twilight_identify_again() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        events.next("READY", |e| matches!(e, Event::Ready(_)).then_some(())).await;

        assert_eq!(emulator.send_invalid_session(false), 1);
        events.next("GatewayClose", |e| matches!(e, Event::GatewayClose(_)).then_some(())).await;
        events.next("a second READY", |e| matches!(e, Event::Ready(_)).then_some(())).await;
        let stats = emulator.gateway_stats();
        assert_eq!((stats.identifies, stats.resumes, stats.ready_sent), (2, 0, 2));
        assert_eq!(stats.last_client_close_code, Some(1000));
    })
    .await;
}

#[tokio::test]
async fn stalled_heartbeat_acks_make_twilight_resume_without_loss() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        emulator.wait_for_ready(WAIT).await.expect("ready");

        assert_eq!(emulator.stall_heartbeat_acks(Duration::from_secs(5)), 1);
        emulator.post_message(CHANNEL, ALICE, "held back", Vec::new()).expect("posted");
        let mut seen = events.until("RESUMED", |e| matches!(e, Event::Resumed)).await;
        let stats = emulator.gateway_stats();
        assert_eq!((stats.identifies, stats.resumes), (1, 1));
        assert!(stats.heartbeats > stats.heartbeat_acks);
        seen.extend(events.collect_for(Duration::from_millis(300)).await);
        assert_eq!(created_contents(&seen), vec!["held back"]);
        assert_eq!(emulator.sessions()[0].last_sequence, 3, "READY, GUILD_CREATE and the message");
    })
    .await;
}

/// A shard that resumes a stored session, as a restarted process does.
fn resuming_shard(emulator: &discord_emulator::Emulator, session: twilight_gateway::Session, url: String) -> Shard {
    let config = ConfigBuilder::new(emulator.token().to_owned(), bot_intents())
        .proxy_url(emulator.gateway_url())
        .queue(InMemoryQueue::new(0, 0, Duration::ZERO, 0))
        .session(session)
        .resume_url(url)
        .build();
    Shard::with_config(ShardId::ONE, config)
}

#[tokio::test]
async fn a_new_process_resumes_a_dead_clients_session_from_an_older_sequence_than_it_heartbeated() {
    within(async {
        let emulator = emulator().await;
        let mut first = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        first.next("READY", |e| matches!(e, Event::Ready(_)).then_some(())).await;
        for text in ["one", "two", "three"] {
            emulator.post_message(CHANNEL, ALICE, text, Vec::new()).expect("posted");
        }
        let seen =
            first.until("the third message", |e| matches!(e, Event::MessageCreate(m) if m.content == "three")).await;
        assert_eq!(created_contents(&seen), vec!["one", "two", "three"]);
        // Let a heartbeat carry the latest sequence (5: READY, GUILD_CREATE, three messages).
        let heartbeats = emulator.gateway_stats().heartbeats;
        emulator.wait_for_gateway(WAIT, "a heartbeat", |s| s.heartbeats > heartbeats).await.expect("heartbeat");
        let session = emulator.sessions()[0].clone();
        assert_eq!(session.last_sequence, 5);
        // The process dies without a close frame; messages keep coming while it is gone.
        drop(first);
        emulator.wait_for_gateway(WAIT, "the dropped connection", |s| s.open_connections == 0).await.expect("gone");
        emulator.post_message(CHANNEL, ALICE, "four", Vec::new()).expect("posted");

        // The new process had handled only up to "one" (sequence 3): everything after it comes again, once.
        let stored = twilight_gateway::Session::new(3, session.session_id.clone());
        let mut second = drive(resuming_shard(&emulator, stored, format!("{}/resume", emulator.gateway_url())));
        let mut seen = second.until("RESUMED", |e| matches!(e, Event::Resumed)).await;
        seen.extend(second.collect_for(Duration::from_millis(300)).await);
        assert_eq!(created_contents(&seen), vec!["two", "three", "four"]);
        let stats = emulator.gateway_stats();
        assert_eq!((stats.identifies, stats.resumes, stats.resumes_rejected), (1, 1, 0), "{stats:?}");
    })
    .await;
}

#[tokio::test]
async fn a_resume_from_before_the_sessions_kept_events_is_refused_and_twilight_identifies() {
    within(async {
        let emulator =
            discord_emulator::Emulator::start(crate::support::config().with_session_log_limit(3)).await.unwrap();
        let mut first = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        first.next("READY", |e| matches!(e, Event::Ready(_)).then_some(())).await;
        for text in ["one", "two", "three"] {
            emulator.post_message(CHANNEL, ALICE, text, Vec::new()).expect("posted");
        }
        first.until("the third message", |e| matches!(e, Event::MessageCreate(m) if m.content == "three")).await;
        let session = emulator.sessions()[0].clone();
        drop(first);
        emulator.wait_for_gateway(WAIT, "the dropped connection", |s| s.open_connections == 0).await.expect("gone");

        // Only sequences 3 to 5 are kept: a resume from 1 would miss GUILD_CREATE.
        let stored = twilight_gateway::Session::new(1, session.session_id.clone());
        let mut second = drive(resuming_shard(&emulator, stored, format!("{}/resume", emulator.gateway_url())));
        second.next("a new READY", |e| matches!(e, Event::Ready(_)).then_some(())).await;
        let stats = emulator.gateway_stats();
        assert_eq!((stats.resume_attempts, stats.resumes_rejected, stats.identifies), (1, 1, 2), "{stats:?}");
    })
    .await;
}

#[tokio::test]
async fn invalidated_session_refuses_resume_and_twilight_identifies() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        events.next("READY", |e| matches!(e, Event::Ready(_)).then_some(())).await;

        assert_eq!(emulator.invalidate_sessions(), 1);
        emulator.drop_gateway_connections();
        events.next("a second READY", |e| matches!(e, Event::Ready(_)).then_some(())).await;
        let stats = emulator.gateway_stats();
        assert_eq!((stats.resume_attempts, stats.resumes_rejected, stats.identifies), (1, 1, 2));
        assert_eq!(emulator.sessions().len(), 1, "the dead session is forgotten");
    })
    .await;
}

#[tokio::test]
async fn wrong_token_is_closed_with_4004() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard_with_token(&emulator, ShardId::ONE, bot_intents(), "not-the-token"));
        let frame: Option<CloseFrame<'static>> = events
            .next("GatewayClose", |e| match e {
                Event::GatewayClose(frame) => Some(frame),
                _ => None,
            })
            .await;
        assert_eq!(frame.map(|f| f.code), Some(4004));
        assert_eq!(emulator.gateway_stats().auth_failures, 1);
        assert_eq!(emulator.gateway_stats().identifies, 0);
    })
    .await;
}

#[tokio::test]
async fn two_shards_split_guilds_and_run_concurrently() {
    within(async {
        // Guild 100 >> 22 is 0 (shard 0 of 2); guild 1 << 22 belongs to shard 1.
        let config = crate::support::config()
            .with_guild(discord_emulator::GuildSpec::new(1u64 << 22, "Second").with_channel(201, "other-plans"));
        let emulator = discord_emulator::Emulator::start(config).await.expect("start");
        let mut first = drive(shard(&emulator, ShardId::new(0, 2), bot_intents()));
        let mut second = drive(shard(&emulator, ShardId::new(1, 2), bot_intents()));
        emulator.wait_for_gateway(WAIT, "two READYs", |s| s.ready_sent >= 2).await.expect("both shards ready");

        emulator.post_message(CHANNEL, ALICE, "first guild", Vec::new()).expect("posted");
        emulator.post_message(discord_emulator::ChannelId(201), BOB, "second guild", Vec::new()).expect("posted");
        let first_contents = created_contents(&first.collect_for(Duration::from_millis(300)).await);
        let second_contents = created_contents(&second.collect_for(Duration::from_millis(100)).await);
        assert_eq!(first_contents, vec!["first guild"]);
        assert_eq!(second_contents, vec!["second guild"]);
        assert_eq!(emulator.gateway_stats().open_connections, 2);
    })
    .await;
}

#[tokio::test]
async fn shutdown_stops_both_listeners() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        emulator.wait_for_ready(WAIT).await.expect("ready");
        let rest = emulator.rest_addr();
        emulator.shutdown().await;
        let frame = events
            .next("GatewayClose", |e| match e {
                Event::GatewayClose(frame) => Some(frame),
                _ => None,
            })
            .await;
        assert_eq!(frame.map(|f| f.code), Some(1001));
        assert!(tokio::net::TcpStream::connect(rest).await.is_err());
    })
    .await;
}
