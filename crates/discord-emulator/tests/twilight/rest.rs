//! REST: twilight-http calls recorded and answered like Discord, faults honoured, bad input refused politely.

use std::time::{Duration, Instant};

use discord_emulator::{ChannelId, EmulatorConfig, FaultResponse, RestFault, RouteFilter};
use serde_json::json;
use twilight_gateway::{Event, ShardId};
use twilight_http::error::ErrorType;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::id::Id;

use crate::support::{ALICE, WAIT, bot_intents, drive, emulator, get, http, http_with_token, raw_http, shard, within};

const CHANNEL: ChannelId = EmulatorConfig::DEFAULT_CHANNEL;

fn channel_id() -> Id<twilight_model::id::marker::ChannelMarker> {
    Id::new(CHANNEL.get())
}

fn status_of(error: &twilight_http::Error) -> Option<u16> {
    match error.kind() {
        ErrorType::Response { status, .. } => Some(status.get()),
        _ => None,
    }
}

#[tokio::test]
async fn create_message_is_recorded_answered_and_dispatched() {
    within(async {
        let emulator = emulator().await;
        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        emulator.wait_for_ready(WAIT).await.expect("ready");
        let client = http(&emulator);
        let coach_message = emulator.post_message(CHANNEL, ALICE, "!plan d text", Vec::new()).expect("posted");

        let no_pings = AllowedMentions::default();
        let reply = client
            .create_message(channel_id())
            .content("Saved <@1001>'s plan @everyone")
            .reply(Id::new(coach_message.get()))
            .allowed_mentions(Some(&no_pings))
            .await
            .expect("created")
            .model()
            .await
            .expect("a Message twilight can read");
        assert_eq!(reply.author.id.get(), emulator.bot_id().get());
        assert_eq!(reply.content, "Saved <@1001>'s plan @everyone");
        assert!(reply.mentions.is_empty());
        assert_eq!(reply.referenced_message.as_ref().map(|m| m.id.get()), Some(coach_message.get()));

        let pinging = client
            .create_message(channel_id())
            .content("Hey <@1001>")
            .await
            .expect("created")
            .model()
            .await
            .expect("model");
        assert_eq!(pinging.mentions.len(), 1);

        let sent = emulator.wait_for_sent_messages(CHANNEL, 2, WAIT).await.expect("two messages");
        assert_eq!(sent[0].allowed_mentions, Some(json!({"parse": []})));
        assert_eq!(sent[0].reply_to, Some(coach_message));
        assert!(!sent[0].pings_anyone());
        assert_eq!(sent[1].allowed_mentions, None);
        assert_eq!(sent[1].pinged_users, vec![ALICE]);

        let echoed = events
            .next("the bot's own MESSAGE_CREATE", |e| match e {
                Event::MessageCreate(m) if m.author.bot => Some(m.message),
                _ => None,
            })
            .await;
        assert_eq!(echoed.id, reply.id);

        let call = emulator.wait_for_rest_call(WAIT, "POST messages", |c| c.method == "POST").await.expect("recorded");
        assert_eq!(call.route(), "/channels/200/messages");
        assert_eq!(call.status, 200);
        assert_eq!(
            call.body.as_ref().and_then(|b| b.get("content")).and_then(|c| c.as_str()),
            Some("Saved <@1001>'s plan @everyone")
        );

        let me = client.current_user().await.expect("@me").model().await.expect("user");
        assert_eq!(me.name, "PlanBot");

        client.update_message(channel_id(), reply.id).content(Some("Edited")).await.expect("edited");
        let stored = emulator.channel_messages(CHANNEL).expect("history");
        assert_eq!(stored.iter().find(|m| m.id.get() == reply.id.get()).map(|m| m.content.as_str()), Some("Edited"));
        events
            .next("MESSAGE_UPDATE of the bot's edit", |e| match e {
                Event::MessageUpdate(m) if m.id == reply.id => Some(()),
                _ => None,
            })
            .await;

        client.delete_message(channel_id(), reply.id).await.expect("deleted");
        events
            .next("MESSAGE_DELETE", |e| match e {
                Event::MessageDelete(d) if d.id == reply.id => Some(()),
                _ => None,
            })
            .await;
        let editing_others = client
            .update_message(channel_id(), Id::new(coach_message.get()))
            .content(Some("hijack"))
            .await
            .expect_err("only own messages can be edited");
        assert_eq!(status_of(&editing_others), Some(403));
    })
    .await;
}

#[tokio::test]
async fn server_error_fault_then_success() {
    within(async {
        let emulator = emulator().await;
        let client = http(&emulator);
        emulator.fail_next_rest_calls_matching(1, RouteFilter::new("POST", "/channels/200/messages"));

        let first = client.create_message(channel_id()).content("one").await;
        assert_eq!(first.as_ref().err().and_then(status_of), Some(500));
        client.create_message(channel_id()).content("two").await.expect("second attempt succeeds");

        let statuses: Vec<u16> = emulator.rest_calls().iter().map(|c| c.status).collect();
        assert_eq!(statuses, vec![500, 200]);
        assert!(emulator.rest_calls()[0].faulted);
        let contents: Vec<String> = emulator.sent_messages(CHANNEL).into_iter().map(|m| m.content).collect();
        assert_eq!(contents, vec!["two"]);
        assert_eq!(emulator.sent_message_count(), 1, "the refused attempt created nothing");
        emulator.clear_rest_records();
        assert_eq!(emulator.sent_message_count(), 0);
        assert!(emulator.rest_calls().is_empty());
    })
    .await;
}

#[tokio::test]
async fn error_pages_that_are_not_json_reach_twilight_without_their_status() {
    within(async {
        let emulator = emulator().await;
        let client = http(&emulator);
        emulator.inject_rest_fault(RestFault::new(FaultResponse::html_page(502), 1));
        emulator.inject_rest_fault(RestFault::new(FaultResponse::empty_body(503), 1));

        let html = client.create_message(channel_id()).content("one").await.expect_err("a 502 page");
        match html.kind() {
            ErrorType::Parsing { body } => {
                assert!(String::from_utf8_lossy(body).contains("<title>502 Bad Gateway</title>"));
            }
            other => panic!("twilight-http reports a non-JSON error body as Parsing, got {other:?}"),
        }
        let empty = client.create_message(channel_id()).content("two").await.expect_err("an empty 503");
        assert!(matches!(empty.kind(), ErrorType::Parsing { body } if body.is_empty()), "{:?}", empty.kind());
        client.create_message(channel_id()).content("three").await.expect("the faults are used up");

        let calls: Vec<(u16, bool)> = emulator.rest_calls().iter().map(|c| (c.status, c.faulted)).collect();
        assert_eq!(calls, vec![(502, true), (503, true), (200, false)]);
        let (status, head, body) = {
            emulator.inject_rest_fault(RestFault::new(FaultResponse::html_page(504), 1));
            raw_http(&emulator.rest_addr(), b"GET /api/v10/users/@me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
        };
        assert_eq!(status, 504);
        assert!(head.to_ascii_lowercase().contains("content-type: text/html"), "{head}");
        assert!(String::from_utf8_lossy(&body).contains("504 Gateway Time-out"));
    })
    .await;
}

#[tokio::test]
async fn rate_limit_is_honoured_by_twilight_http() {
    within(async {
        let emulator = emulator().await;
        let client = http(&emulator);
        emulator.rate_limit_next_rest_calls(1, Duration::from_millis(400));

        let started = Instant::now();
        client.create_message(channel_id()).content("eventually").await.expect("twilight retries after the 429");
        assert!(started.elapsed() >= Duration::from_millis(400), "waited {:?}", started.elapsed());

        let calls = emulator.rest_calls();
        assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), vec![429, 200]);
        let gap = calls[1].at.duration_since(calls[0].at).unwrap_or_default();
        assert!(gap >= Duration::from_millis(390), "retried after {gap:?}");

        let (status, head, body) = {
            emulator.inject_rest_fault(RestFault::new(
                FaultResponse::RateLimited { retry_after: Duration::from_millis(50) },
                1,
            ));
            raw_http(&emulator.rest_addr(), b"GET /api/v10/users/@me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
        };
        assert_eq!(status, 429);
        assert!(head.to_ascii_lowercase().contains("retry-after: 1"));
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body, json!({"message": "You are being rate limited.", "retry_after": 0.05, "global": false}));
    })
    .await;
}

#[tokio::test]
async fn response_delay_is_applied() {
    within(async {
        let emulator = emulator().await;
        let client = http(&emulator);
        emulator.set_rest_delay(Duration::from_millis(200));
        let started = Instant::now();
        client.current_user().await.expect("@me");
        assert!(started.elapsed() >= Duration::from_millis(200));
        emulator.clear_rest_faults();
        let started = Instant::now();
        client.current_user().await.expect("@me");
        assert!(started.elapsed() < Duration::from_millis(200));
    })
    .await;
}

#[tokio::test]
async fn wrong_token_gets_401() {
    within(async {
        let emulator = emulator().await;
        let client = http_with_token(&emulator, "stolen");
        let error = client.current_user().await.expect_err("refused");
        assert_eq!(status_of(&error), Some(401));
        let (status, _, body) =
            raw_http(&emulator.rest_addr(), b"GET /api/v10/users/@me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await;
        assert_eq!(status, 401);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).expect("json"),
            json!({"message": "401: Unauthorized", "code": 0})
        );
    })
    .await;
}

#[tokio::test]
async fn channel_messages_paginate_newest_first() {
    within(async {
        let emulator = emulator().await;
        let client = http(&emulator);
        let ids: Vec<u64> = (0..5)
            .map(|i| emulator.post_message(CHANNEL, ALICE, format!("message {i}"), Vec::new()).expect("posted").get())
            .collect();
        let contents = |messages: Vec<twilight_model::channel::Message>| -> Vec<String> {
            messages.into_iter().map(|m| m.content).collect()
        };

        let newest =
            client.channel_messages(channel_id()).limit(2).await.expect("list").models().await.expect("models");
        assert_eq!(contents(newest), vec!["message 4", "message 3"]);
        let before = client
            .channel_messages(channel_id())
            .before(Id::new(ids[3]))
            .limit(2)
            .await
            .expect("list")
            .models()
            .await
            .expect("models");
        assert_eq!(contents(before), vec!["message 2", "message 1"]);
        let after = client
            .channel_messages(channel_id())
            .after(Id::new(ids[0]))
            .limit(2)
            .await
            .expect("list")
            .models()
            .await
            .expect("models");
        assert_eq!(contents(after), vec!["message 2", "message 1"]);
        let all = client.channel_messages(channel_id()).await.expect("list").models().await.expect("models");
        assert_eq!(all.len(), 5);

        let unknown = client.channel_messages(Id::new(999)).await.expect_err("unknown channel");
        let ErrorType::Response { error, status, .. } = unknown.kind() else {
            panic!("expected an API error, got {unknown:?}");
        };
        assert_eq!(status.get(), 404);
        assert!(format!("{error:?}").contains("10003"), "{error:?}");

        let auth = format!("Authorization: Bot {}\r\n", emulator.token());
        let request =
            format!("GET /api/v10/channels/200/messages?limit=101 HTTP/1.1\r\n{auth}Connection: close\r\n\r\n");
        assert_eq!(raw_http(&emulator.rest_addr(), request.as_bytes()).await.0, 400);
    })
    .await;
}

#[tokio::test]
async fn bad_requests_get_errors_and_the_emulator_keeps_serving() {
    within(async {
        let emulator = emulator().await;
        let addr = emulator.rest_addr();
        let auth = format!("Authorization: Bot {}", emulator.token());

        assert_eq!(raw_http(&addr, b"\x16\x03\x01 not http\r\n\r\n").await.0, 400);
        let (status, _, body) = raw_http(&addr, format!("GET /api/v10/nope HTTP/1.1\r\n{auth}\r\nConnection: close\r\n\r\n").as_bytes()).await;
        assert_eq!(status, 404);
        assert!(String::from_utf8_lossy(&body).contains("404: Not Found"));
        assert_eq!(
            raw_http(&addr, format!("PUT /api/v10/channels/200/messages HTTP/1.1\r\n{auth}\r\nConnection: close\r\n\r\n").as_bytes()).await.0,
            405
        );

        let post = |body: String| {
            format!(
                "POST /api/v10/channels/200/messages HTTP/1.1\r\n{auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        let cases = [
            ("{not json".to_owned(), 400, "50109"),
            (json!({"content": ""}).to_string(), 400, "50006"),
            (json!({"content": "x".repeat(2001)}).to_string(), 400, "BASE_TYPE_MAX_LENGTH"),
            (json!({"content": "hi", "message_reference": {"message_id": "5"}}).to_string(), 400, "Unknown message"),
            (json!({"content": "hi", "allowed_mentions": {"parse": ["users"], "users": ["1"]}}).to_string(), 400, "mutually exclusive"),
            (json!({"content": 7}).to_string(), 400, "STRING_TYPE_CONVERT"),
        ];
        for (body, expected, needle) in cases {
            let (status, _, answer) = raw_http(&addr, post(body.clone()).as_bytes()).await;
            let answer = String::from_utf8_lossy(&answer).into_owned();
            assert_eq!(status, expected, "{body:.60} -> {answer}");
            assert!(answer.contains(needle), "{body:.60} -> {answer}");
        }
        let unknown_channel = format!("GET /api/v10/channels/abc HTTP/1.1\r\n{auth}\r\nConnection: close\r\n\r\n");
        assert_eq!(raw_http(&addr, unknown_channel.as_bytes()).await.0, 400);

        // Still healthy, and nothing was stored.
        http(&emulator).current_user().await.expect("still serving");
        assert!(emulator.sent_messages(CHANNEL).is_empty());
    })
    .await;
}

#[tokio::test]
async fn attachment_urls_are_signed_and_expire() {
    within(async {
        let config = crate::support::config().with_attachment_url_ttl(Duration::ZERO);
        let emulator = discord_emulator::Emulator::start(config).await.expect("start");
        let id = emulator
            .post_message(
                CHANNEL,
                ALICE,
                "chart",
                vec![discord_emulator::AttachmentSpec::new("c.png", b"bytes".to_vec())],
            )
            .expect("posted");
        let stored = emulator.channel_messages(CHANNEL).expect("history");
        let url = stored[0].attachments[0].url.clone();
        assert_eq!(stored[0].id, id);
        let extended = url.replace("ex=", "ex=f");
        assert_eq!(get(&extended).await.0, 404, "a forged expiry breaks the signature");

        // A zero TTL expires at the next second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (status, _, body) = get(&url).await;
        assert_eq!(status, 404);
        assert_eq!(body, b"This content is no longer available.");

        let request_body = json!({"attachment_urls": [url]}).to_string();
        let request = format!(
            "POST /api/v10/attachments/refresh-urls HTTP/1.1\r\nAuthorization: Bot {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{request_body}",
            emulator.token(),
            request_body.len()
        );
        let (status, _, body) = raw_http(&emulator.rest_addr(), request.as_bytes()).await;
        assert_eq!(status, 200);
        let refreshed: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let fresh = refreshed["refreshed_urls"][0]["refreshed"].as_str().expect("a refreshed url");
        assert_ne!(fresh, url);
    })
    .await;
}

#[tokio::test]
async fn bot_uploads_are_stored_and_served() {
    within(async {
        let emulator = emulator().await;
        let client = http(&emulator);
        let file =
            twilight_model::http::attachment::Attachment::from_bytes("summary.txt".to_owned(), b"plan".to_vec(), 1);
        let message = client
            .create_message(channel_id())
            .content("with a file")
            .attachments(&[file])
            .await
            .expect("multipart upload accepted")
            .model()
            .await
            .expect("model");
        assert_eq!(message.attachments.len(), 1);
        assert_eq!(message.attachments[0].filename, "summary.txt");
        let (status, _, body) = get(&message.attachments[0].url).await;
        assert_eq!((status, body.as_slice()), (200, &b"plan"[..]));
        let sent = emulator.sent_messages(CHANNEL);
        assert_eq!(sent[0].content, "with a file");
        assert!(sent[0].body.get("attachments").is_some(), "payload_json is recorded");
    })
    .await;
}
