//! Records the emulator keeps and hands to tests: messages, attachments, REST calls, gateway statistics.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::ids::{AttachmentId, ChannelId, GuildId, MessageId, RoleId, UserId};

/// A file a scripted user attaches to a message.
#[derive(Clone, Debug)]
pub struct AttachmentSpec {
    /// File name as uploaded (spaces become `_`, as on Discord).
    pub filename: String,
    /// MIME type; `None` leaves `content_type` out of the payload (Discord sometimes omits it too).
    pub content_type: Option<String>,
    /// The file's bytes, served from the emulator's CDN URL.
    pub data: Vec<u8>,
    /// Image width; read from PNG and GIF headers when not given.
    pub width: Option<u64>,
    /// Image height; read from PNG and GIF headers when not given.
    pub height: Option<u64>,
}

impl AttachmentSpec {
    /// An attachment whose content type is guessed from the file extension (as Discord does).
    #[must_use]
    pub fn new(filename: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        let filename = filename.into();
        let content_type = guess_content_type(&filename).map(str::to_owned);
        Self { filename, content_type, data: data.into(), width: None, height: None }
    }

    /// Sets the content type explicitly.
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Leaves `content_type` out of the payload.
    #[must_use]
    pub fn without_content_type(mut self) -> Self {
        self.content_type = None;
        self
    }

    /// Sets image dimensions explicitly.
    #[must_use]
    pub fn with_dimensions(mut self, width: u64, height: u64) -> Self {
        self.width = Some(width);
        self.height = Some(height);
        self
    }
}

/// The content type Discord would infer from a file name.
pub(crate) fn guess_content_type(filename: &str) -> Option<&'static str> {
    let extension = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "txt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// An attachment of a stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttachment {
    /// The attachment id.
    pub id: AttachmentId,
    /// The file name.
    pub filename: String,
    /// The MIME type, if known.
    pub content_type: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// The signed CDN URL (on the emulator's REST listener), signed anew when the message is edited.
    pub url: String,
    /// Image width, if known.
    pub width: Option<u64>,
    /// Image height, if known.
    pub height: Option<u64>,
}

/// A message in a channel's history, by a scripted user or by the bot.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMessage {
    /// The message id.
    pub id: MessageId,
    /// The channel.
    pub channel_id: ChannelId,
    /// The channel's guild.
    pub guild_id: GuildId,
    /// The author.
    pub author_id: UserId,
    /// The text.
    pub content: String,
    /// Attachments.
    pub attachments: Vec<StoredAttachment>,
    /// Embeds as sent by the bot (scripted users send none).
    pub embeds: Vec<Value>,
    /// Creation time, Discord format (`...+00:00`).
    pub timestamp: String,
    /// Last edit time, if edited.
    pub edited_timestamp: Option<String>,
    /// The message this one replies to.
    pub reply_to: Option<MessageId>,
    /// Users this message mentions (for the bot's messages: those actually pinged under `allowed_mentions`).
    pub mentioned_users: Vec<UserId>,
    /// Roles this message mentions (for the bot's messages: those actually pinged).
    pub mentioned_roles: Vec<RoleId>,
    /// Whether `@everyone`/`@here` pings.
    pub mention_everyone: bool,
}

/// A message the bot created through `POST /channels/{id}/messages`, as the request asked for it.
#[derive(Clone, Debug, PartialEq)]
pub struct SentMessage {
    /// The id the emulator gave it.
    pub id: MessageId,
    /// The channel.
    pub channel_id: ChannelId,
    /// The text (empty when absent).
    pub content: String,
    /// The request's `allowed_mentions`, verbatim (`None` when the field was absent).
    pub allowed_mentions: Option<Value>,
    /// `message_reference.message_id`, if the message replies to another.
    pub reply_to: Option<MessageId>,
    /// Users Discord would ping, after applying `allowed_mentions` to the content and the reply.
    pub pinged_users: Vec<UserId>,
    /// Roles Discord would ping.
    pub pinged_roles: Vec<RoleId>,
    /// Whether `@everyone`/`@here` would ping.
    pub pinged_everyone: bool,
    /// The full request body (the `payload_json` part for multipart requests).
    pub body: Value,
    /// When the emulator accepted it.
    pub at: SystemTime,
}

impl SentMessage {
    /// Whether the message would notify anybody.
    #[must_use]
    pub fn pings_anyone(&self) -> bool {
        self.pinged_everyone || !self.pinged_users.is_empty() || !self.pinged_roles.is_empty()
    }
}

/// One HTTP request the REST listener answered (API calls and CDN downloads alike).
#[derive(Clone, Debug, PartialEq)]
pub struct RestCall {
    /// HTTP method, upper case.
    pub method: String,
    /// Path without the query, e.g. `/api/v10/channels/200/messages`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The body as JSON (the `payload_json` part for multipart bodies); `None` for an empty or non-JSON body.
    pub body: Option<Value>,
    /// The status code returned.
    pub status: u16,
    /// Whether an injected fault produced the answer.
    pub faulted: bool,
    /// When the request arrived.
    pub at: SystemTime,
    /// How long the emulator took to answer (including an injected delay).
    pub duration: Duration,
}

impl RestCall {
    /// The path below `/api/v10`, e.g. `/channels/200/messages` (the whole path for non-API requests).
    #[must_use]
    pub fn route(&self) -> &str {
        crate::rest::api_route(&self.path).unwrap_or(&self.path)
    }
}

/// A change in some channel, for live observers such as the sandbox console.
#[derive(Clone, Debug, PartialEq)]
pub enum MessageEvent {
    /// A message was posted (by a scripted user or by the bot).
    Created(StoredMessage),
    /// A message was edited; the new state.
    Updated(StoredMessage),
    /// A message was deleted.
    Deleted {
        /// The channel.
        channel_id: ChannelId,
        /// The deleted message.
        message_id: MessageId,
    },
    /// The bot answered an interaction by opening a modal (a form) for its user.
    ModalOpened {
        /// The interaction the modal answers.
        interaction: crate::ids::InteractionId,
        /// The channel of the interaction.
        channel_id: ChannelId,
        /// The user the form is for.
        user_id: UserId,
        /// The form's title.
        title: String,
    },
    /// The bot answered an interaction with a message only its user sees (written or edited).
    Ephemeral {
        /// The channel of the interaction.
        channel_id: ChannelId,
        /// The only user who sees it.
        user_id: UserId,
        /// Its text.
        content: String,
    },
}

/// Counters of the gateway side, for assertions such as "twilight resumed, it did not re-identify".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// TCP connections accepted by the gateway listener so far.
    pub connections: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// IDENTIFY payloads with the right token (each starts a new session).
    pub identifies: u64,
    /// READY dispatches written to a socket.
    pub ready_sent: u64,
    /// RESUME payloads received.
    pub resume_attempts: u64,
    /// RESUMEs accepted (replay + RESUMED sent).
    pub resumes: u64,
    /// RESUMEs refused with INVALID_SESSION.
    pub resumes_rejected: u64,
    /// IDENTIFY/RESUME payloads with a wrong token (closed with 4004).
    pub auth_failures: u64,
    /// Heartbeats received.
    pub heartbeats: u64,
    /// Heartbeat ACKs sent.
    pub heartbeat_acks: u64,
    /// Dispatch events written to sockets (replays included).
    pub dispatches_sent: u64,
    /// The close code of the last close frame a client sent, if any.
    pub last_client_close_code: Option<u16>,
}

/// A gateway session as the emulator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session id sent in READY.
    pub session_id: String,
    /// `[shard id, shard count]` from IDENTIFY.
    pub shard: Option<[u64; 2]>,
    /// Intents from IDENTIFY.
    pub intents: u64,
    /// Sequence number of the last event of the session.
    pub last_sequence: u64,
    /// Whether a live connection currently carries the session.
    pub connected: bool,
    /// Whether a RESUME of this session would be accepted.
    pub resumable: bool,
    /// How many times the session was resumed.
    pub resumes: u64,
}
