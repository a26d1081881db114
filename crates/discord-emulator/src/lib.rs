//! A local Discord for tests, the sandbox and benchmarks: the real gateway (WebSocket) and REST protocols on
//! 127.0.0.1, spoken to the real twilight clients.
//!
//! The emulator holds guilds, channels, roles and scripted users ([`EmulatorConfig`]). Scripted users post, edit
//! and delete messages ([`Emulator::post_message`]); connected shards get MESSAGE_CREATE / MESSAGE_UPDATE /
//! MESSAGE_DELETE with payloads twilight-model 0.18 deserializes. The bot's REST calls are answered like Discord
//! answers them and recorded ([`Emulator::rest_calls`], [`Emulator::sent_messages`]). Faults are injected on
//! demand: dropped connections, RECONNECT, INVALID_SESSION, missing heartbeat ACKs, unresumable sessions,
//! 500s, 429s and slow answers.
//!
//! What it emulates faithfully, because bots get it wrong in production:
//! - sessions keep their latest events ([`EmulatorConfig::session_log_limit`]) whatever the heartbeats acknowledged,
//!   so a RESUME replays everything after the client's sequence exactly once, also from a new connection of a new
//!   process after the old one died; a RESUME the emulator cannot honour (unknown or invalidated session, sequence
//!   older than the log) gets op 9 `d: false`;
//! - with several shards, guild events go to shard `(guild_id >> 22) % shard_count` only;
//! - intents are enforced: no MESSAGE_* without `GUILD_MESSAGES`, empty `content` without `MESSAGE_CONTENT`
//!   (unless the bot is mentioned) — turn it off with [`EmulatorConfig::with_enforced_intents`];
//! - messages over 2000 characters, empty messages and replies to unknown messages are refused (400);
//! - `allowed_mentions` decides who a bot message pings ([`SentMessage::pinged_users`]);
//! - attachment URLs are signed and expire ([`EmulatorConfig::attachment_url_ttl`]);
//! - slash commands ([`Emulator::invoke_command`]) are checked against the registered definitions (required
//!   options, choices, bounds) as Discord's client checks them; typing into an option that autocompletes
//!   ([`Emulator::autocomplete`]) asks the bot for suggestions, which only a type 8 answer gives (at most 25);
//!   definitions with more than 25 choices, or choices on an option that autocompletes, are refused; an
//!   interaction is answered once, within
//!   [`EmulatorConfig::interaction_deadline`], and its token works for edits and follow-ups for
//!   [`EmulatorConfig::interaction_token_ttl`]; ephemeral answers never enter a channel's history.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use discord_emulator::{AttachmentSpec, Emulator, EmulatorConfig, UserId, UserSpec};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let coach = UserId(1001);
//! let emulator = Emulator::start(
//!     EmulatorConfig::default()
//!         .with_role(300, "Coach")
//!         .with_user(UserSpec::new(coach, "alice").with_global_name("Alice").with_role(300)),
//! )
//! .await?;
//!
//! // Point the bot at it:
//! //   twilight_gateway::ConfigBuilder::new(token, intents).proxy_url(emulator.gateway_url())
//! //   twilight_http::Client::builder().token(token).proxy(emulator.rest_addr(), true)
//! // with token = emulator.token(), then start the bot.
//! emulator.wait_for_ready(Duration::from_secs(5)).await?;
//!
//! let channel = EmulatorConfig::DEFAULT_CHANNEL;
//! let chart = AttachmentSpec::new("chart.png", vec![0x89, b'P', b'N', b'G']);
//! emulator.post_message(channel, coach, "!plan d Buy the dip", vec![chart])?;
//!
//! let replies = emulator.wait_for_sent_messages(channel, 1, Duration::from_secs(5)).await?;
//! assert!(!replies[0].pings_anyone());
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The REST listener also answers `GET /users/@me`, `/users/{id}`, `/gateway`, `/gateway/bot`, `/channels/{id}`,
//! `GET|POST /channels/{id}/messages`, `GET|PATCH|DELETE /channels/{id}/messages/{id}`,
//! `POST /channels/{id}/typing`, `/guilds/{id}`, `/guilds/{id}/channels`, `/guilds/{id}/members/{id}`,
//! `POST /attachments/refresh-urls`, `GET /applications/@me`, the application command routes (`GET|PUT /applications/{app}/commands`, the
//! same per guild), the interaction routes (`POST /interactions/{id}/{token}/callback`,
//! `POST /webhooks/{app}/{token}`, `GET|PATCH|DELETE /webhooks/{app}/{token}/messages/{@original|id}`), and serves
//! attachments at `/attachments/{channel}/{id}/{filename}`.
//! Anything else is a JSON 404 (or 405 for a known path).
//!
//! [`Console`] carries out typed lines (`as ann !plan d Long`) against a running emulator and describes what
//! happens in its channels; `cargo run -p discord-emulator --example serve` runs a standalone emulator with it.
//!
//! Pointing twilight at the emulator needs a rustls crypto provider installed once when twilight's TLS features
//! are on (`rustls::crypto::ring::default_provider().install_default()`), and
//! `InMemoryQueue::new(0, 0, Duration::ZERO, 0)` as the gateway queue avoids twilight's 5 s pause between
//! IDENTIFYs.

mod clock;
mod config;
pub mod console;
mod emulator;
mod error;
mod faults;
mod gateway;
mod http;
mod ids;
mod interactions;
mod model;
mod multipart;
mod payload;
mod rest;
mod state;

pub use config::{BotSpec, ChannelSpec, EmulatorConfig, GuildSpec, RoleSpec, UserSpec};
pub use console::Console;
pub use emulator::Emulator;
pub use error::EmulatorError;
pub use faults::{FaultResponse, RestFault, RouteFilter};
pub use ids::{AttachmentId, ChannelId, GuildId, InteractionId, MessageId, RoleId, UserId};
pub use interactions::{
    Acknowledgement, InteractionKind, InteractionRecord, InteractionReply, ModalInput, OptionValue, Suggestion,
};
pub use model::{
    AttachmentSpec, GatewayStats, MessageEvent, RestCall, SentMessage, SessionInfo, StoredAttachment, StoredMessage,
};
