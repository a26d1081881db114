//! Gateway clients that break the protocol get Discord's close codes; the emulator keeps serving others.

// tokio-websockets' client side is enabled in test builds by twilight-gateway.
use futures_util::{SinkExt, StreamExt};
use tokio_websockets::{ClientBuilder, Message};
use twilight_gateway::ShardId;

use crate::support::{WAIT, bot_intents, drive, emulator, raw_http, shard, within};

/// What the emulator answered.
#[derive(Debug, PartialEq)]
enum Answer {
    Closed(u16),
    Text(String),
    Nothing,
}

/// Connects, reads HELLO, sends `frame`, and returns the emulator's first answer.
async fn answer_to(url: &str, frame: Message) -> Answer {
    let uri = format!("{url}/?v=10&encoding=json");
    let (mut ws, _) = ClientBuilder::new().uri(&uri).expect("uri").connect().await.expect("connect");
    let hello = ws.next().await.expect("hello").expect("hello frame");
    assert!(hello.as_text().is_some_and(|t| t.contains("\"op\":10")));
    ws.send(frame).await.expect("send");
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Some((code, _)) = message.as_close() {
            return Answer::Closed(code.into());
        }
        if let Some(text) = message.as_text() {
            return Answer::Text(text.to_owned());
        }
    }
    Answer::Nothing
}

#[tokio::test]
async fn protocol_violations_get_discord_close_codes() {
    within(async {
        let emulator = emulator().await;
        let url = emulator.gateway_url();
        let token = emulator.token().to_owned();
        let cases = [
            (Message::binary(vec![1u8, 2, 3]), Answer::Closed(4002)),
            (Message::text("{not json".to_owned()), Answer::Closed(4002)),
            (Message::text(r#"{"d":1}"#.to_owned()), Answer::Closed(4002)),
            (Message::text(r#"{"op":0,"d":null}"#.to_owned()), Answer::Closed(4001)),
            (Message::text(r#"{"op":3,"d":{}}"#.to_owned()), Answer::Closed(4003)),
            (Message::text(r#"{"op":2,"d":{"token":42}}"#.to_owned()), Answer::Closed(4004)),
            (
                Message::text(format!(r#"{{"op":2,"d":{{"token":"{token}","intents":0,"shard":[3,2]}}}}"#)),
                Answer::Closed(4010),
            ),
            (
                Message::text(r#"{"op":1,"d":null}"#.to_owned()),
                Answer::Text(r#"{"op":11,"d":null,"s":null,"t":null}"#.to_owned()),
            ),
            // An unknown session is refused with INVALID_SESSION, not a close.
            (
                Message::text(format!(r#"{{"op":6,"d":{{"token":"{token}","session_id":7,"seq":"x"}}}}"#)),
                Answer::Text(r#"{"op":9,"d":false,"s":null,"t":null}"#.to_owned()),
            ),
        ];
        for (frame, expected) in cases {
            let shown = format!("{frame:?}");
            assert_eq!(answer_to(&url, frame).await, expected, "{shown}");
        }

        // Plain HTTP on the gateway port is refused, and the emulator carries on.
        let addr = url.trim_start_matches("ws://").to_owned();
        let (status, _, _) = raw_http(&addr, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status, 400);

        let mut events = drive(shard(&emulator, ShardId::ONE, bot_intents()));
        events.next("READY", |e| matches!(e, twilight_gateway::Event::Ready(_)).then_some(())).await;
        assert_eq!(emulator.gateway_stats().resumes_rejected, 1);
    })
    .await;
}
