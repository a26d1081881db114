//! Shared test setup: emulator configurations, twilight shards and clients pointed at it, raw HTTP.

use std::future::Future;
use std::time::Duration;

use discord_emulator::{Emulator, EmulatorConfig, RoleId, UserId, UserSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use twilight_gateway::error::ReceiveMessageErrorType;
use twilight_gateway::queue::InMemoryQueue;
use twilight_gateway::{ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt};

/// How long any single wait in a test may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// A coach with a role, a display name and a nickname.
pub const ALICE: UserId = UserId(1001);
/// A second person.
pub const BOB: UserId = UserId(1002);
/// The coach role.
pub const COACH_ROLE: RoleId = RoleId(300);

/// Runs a test body with an overall time limit, so a hang fails instead of stalling the suite.
pub async fn within<F: Future>(body: F) -> F::Output {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match tokio::time::timeout(Duration::from_secs(30), body).await {
        Ok(output) => output,
        Err(_) => panic!("test exceeded 30 s"),
    }
}

/// The default configuration with two people, a coach role, and a short heartbeat.
pub fn config() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_role(COACH_ROLE, "Coach")
        .with_user(
            UserSpec::new(ALICE, "alice").with_global_name("Alice A.").with_nick("Coach Alice").with_role(COACH_ROLE),
        )
        .with_user(UserSpec::new(BOB, "bob"))
        .with_heartbeat_interval(Duration::from_millis(500))
}

/// Starts an emulator with [`config`].
pub async fn emulator() -> Emulator {
    Emulator::start(config()).await.expect("emulator starts")
}

/// The intents a plan bot needs.
pub fn bot_intents() -> Intents {
    Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT
}

/// A shard pointed at the emulator, without identify delays.
pub fn shard(emulator: &Emulator, id: ShardId, intents: Intents) -> Shard {
    shard_with_token(emulator, id, intents, emulator.token())
}

/// A shard with an arbitrary token.
pub fn shard_with_token(emulator: &Emulator, id: ShardId, intents: Intents, token: &str) -> Shard {
    let config = ConfigBuilder::new(token.to_owned(), intents)
        .proxy_url(emulator.gateway_url())
        .queue(InMemoryQueue::new(0, 0, Duration::ZERO, 0))
        .build();
    Shard::with_config(id, config)
}

/// A twilight HTTP client pointed at the emulator.
pub fn http(emulator: &Emulator) -> twilight_http::Client {
    http_with_token(emulator, emulator.token())
}

/// A twilight HTTP client with an arbitrary token.
pub fn http_with_token(emulator: &Emulator, token: &str) -> twilight_http::Client {
    twilight_http::Client::builder()
        .token(token.to_owned())
        .proxy(emulator.rest_addr(), true)
        .timeout(Duration::from_secs(5))
        .build()
}

/// Events of a shard polled in the background (it must be polled to heartbeat).
pub struct Events {
    rx: mpsc::UnboundedReceiver<Event>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Events {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `shard` in a task; a payload twilight cannot deserialize fails the test loudly.
pub fn drive(mut shard: Shard) -> Events {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(item) = shard.next_event(EventTypeFlags::all()).await {
            match item {
                Ok(event) => {
                    if tx.send(event).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    if let ReceiveMessageErrorType::Deserializing { event } = error.kind() {
                        panic!("twilight could not deserialize {event}: {error:?}");
                    }
                }
            }
        }
    });
    Events { rx, task }
}

impl Events {
    /// The next event `pick` accepts, skipping the others.
    pub async fn next<T>(&mut self, what: &str, mut pick: impl FnMut(Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(event)) => {
                    if let Some(value) = pick(event) {
                        return value;
                    }
                }
                Ok(None) => panic!("shard ended while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// Every event up to and including the first one `stop` accepts.
    pub async fn until(&mut self, what: &str, mut stop: impl FnMut(&Event) -> bool) -> Vec<Event> {
        let mut seen = Vec::new();
        self.next(what, |event| {
            let done = stop(&event);
            seen.push(event);
            done.then_some(())
        })
        .await;
        seen
    }

    /// Every event that arrives within `window`.
    pub async fn collect_for(&mut self, window: Duration) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + window;
        let mut events = Vec::new();
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            events.push(event);
        }
        events
    }
}

/// Contents of MESSAGE_CREATE events.
pub fn created_contents(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::MessageCreate(m) => Some(m.content.clone()),
            _ => None,
        })
        .collect()
}

/// A plain HTTP/1.1 exchange: sends `request` as is, reads until the server closes. Returns status, head, body.
pub async fn raw_http(addr: &str, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.expect("connect to the rest listener");
    stream.write_all(request).await.expect("write request");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("response in time")
        .expect("read response");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("response head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code");
    (status, head, response[split + 4..].to_vec())
}

/// `PUT /api/v10{path}` with a JSON body and the bot's token; the status and the JSON answer.
pub async fn put(base: &str, token: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let addr = base.strip_prefix("http://").unwrap();
    let body = body.to_string();
    let request = format!(
        "PUT /api/v10{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bot {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, _, body) = raw_http(addr, request.as_bytes()).await;
    (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

/// `GET url` (an `http://127.0.0.1:PORT/...` URL) with `Connection: close`.
pub async fn get(url: &str) -> (u16, String, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    raw_http(addr, request.as_bytes()).await
}

/// A 2x3 PNG header (enough for the emulator to read the dimensions).
pub fn tiny_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&2u32.to_be_bytes());
    png.extend_from_slice(&3u32.to_be_bytes());
    png.extend_from_slice(b"\x08\x06\0\0\0rest-of-image");
    png
}
