//! The emulator's shared state: channel histories, attachments, gateway sessions with their event logs,
//! REST records and faults. Every access goes through one mutex held only for short, non-async sections.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::config::{EmulatorConfig, UserSpec};
use crate::error::EmulatorError;
use crate::faults::{GatewayFault, RestFault};
use crate::ids::{
    AttachmentId, ChannelId, GuildId, InteractionId, MessageId, RoleId, Snowflakes, UserId, snowflake_unix_millis,
    unix_millis_now,
};
use crate::interactions::InteractionState;
use crate::model::{
    AttachmentSpec, GatewayStats, MessageEvent, RestCall, SentMessage, SessionInfo, StoredAttachment, StoredMessage,
};
use crate::{clock, payload};

/// Gateway intents the emulator looks at.
pub(crate) mod intents {
    /// `GUILDS`: GUILD_CREATE.
    pub(crate) const GUILDS: u64 = 1;
    /// `GUILD_MEMBERS`: all members in GUILD_CREATE.
    pub(crate) const GUILD_MEMBERS: u64 = 1 << 1;
    /// `GUILD_MESSAGES`: MESSAGE_CREATE/UPDATE/DELETE in guilds.
    pub(crate) const GUILD_MESSAGES: u64 = 1 << 9;
    /// `MESSAGE_CONTENT`: content, attachments and embeds of other people's messages.
    pub(crate) const MESSAGE_CONTENT: u64 = 1 << 15;
}

/// Detached sessions kept for RESUME at most; older ones are forgotten (Discord expires them too).
const MAX_DETACHED_SESSIONS: usize = 16;

/// Everything the listeners and the [`Emulator`](crate::Emulator) handle share.
pub(crate) struct Shared {
    /// The token without `Bot `.
    pub(crate) token: String,
    /// `ws://127.0.0.1:PORT`.
    pub(crate) gateway_url: String,
    /// `http://127.0.0.1:PORT`.
    pub(crate) http_base: String,
    /// HELLO's heartbeat interval.
    pub(crate) heartbeat_interval: Duration,
    /// The mutable state.
    state: Mutex<State>,
    /// Bumped whenever events are appended to any session.
    pub(crate) events: watch::Sender<u64>,
    /// Bumped on every change of gateway statistics or sessions.
    pub(crate) gateway_changed: watch::Sender<u64>,
    /// Bumped on every recorded REST call.
    pub(crate) rest_changed: watch::Sender<u64>,
    /// Faults for the connections open when they are sent.
    pub(crate) faults: broadcast::Sender<GatewayFault>,
    /// Message activity for live observers.
    pub(crate) activity: broadcast::Sender<MessageEvent>,
    /// `true` once the emulator shuts down.
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Shared {
    /// Builds the shared state once both listeners are bound.
    pub(crate) fn new(config: EmulatorConfig, gateway_url: String, http_base: String) -> Self {
        let token = strip_bot_prefix(&config.token).to_owned();
        let heartbeat_interval = config.heartbeat_interval;
        let state = State::new(config, gateway_url.clone(), http_base.clone());
        Self {
            token,
            gateway_url,
            http_base,
            heartbeat_interval,
            state: Mutex::new(state),
            events: watch::Sender::new(0),
            gateway_changed: watch::Sender::new(0),
            rest_changed: watch::Sender::new(0),
            faults: broadcast::Sender::new(64),
            activity: broadcast::Sender::new(1024),
            shutdown: watch::Sender::new(false),
        }
    }

    /// Locks the state; a poisoned lock is taken over (a panicking test thread must not wedge the emulator).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `token` (with or without `Bot `) is the configured one.
    pub(crate) fn token_matches(&self, token: &str) -> bool {
        strip_bot_prefix(token) == self.token
    }

    /// Wakes connections after events were appended.
    pub(crate) fn events_appended(&self) {
        self.events.send_modify(|v| *v = v.wrapping_add(1));
        self.gateway_touched();
    }

    /// Wakes gateway waiters.
    pub(crate) fn gateway_touched(&self) {
        self.gateway_changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Wakes REST waiters.
    pub(crate) fn rest_touched(&self) {
        self.rest_changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Updates gateway statistics and wakes waiters.
    pub(crate) fn stats(&self, update: impl FnOnce(&mut GatewayStats)) {
        update(&mut self.lock().stats);
        self.gateway_touched();
    }

    /// Stores a message, dispatches it to every session and tells observers. Used by scripted users and REST.
    pub(crate) fn publish_created(&self, message: &StoredMessage, state: MutexGuard<'_, State>) {
        let mut state = state;
        state.dispatch_message("MESSAGE_CREATE", message);
        drop(state);
        self.events_appended();
        let _ = self.activity.send(MessageEvent::Created(message.clone()));
    }

    /// Dispatches an edit to every session and tells observers.
    pub(crate) fn publish_updated(&self, message: &StoredMessage, state: MutexGuard<'_, State>) {
        let mut state = state;
        state.dispatch_message("MESSAGE_UPDATE", message);
        drop(state);
        self.events_appended();
        let _ = self.activity.send(MessageEvent::Updated(message.clone()));
    }

    /// Dispatches a deletion to every session and tells observers.
    pub(crate) fn publish_deleted(
        &self,
        channel_id: ChannelId,
        guild_id: GuildId,
        message_id: MessageId,
        state: MutexGuard<'_, State>,
    ) {
        let mut state = state;
        let d = serde_json::json!({
            "id": message_id.to_string(),
            "channel_id": channel_id.to_string(),
            "guild_id": guild_id.to_string(),
        });
        state.dispatch_to_message_sessions("MESSAGE_DELETE", guild_id, &d, None);
        drop(state);
        self.events_appended();
        let _ = self.activity.send(MessageEvent::Deleted { channel_id, message_id });
    }
}

/// Resolves once the shutdown flag is set (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}

/// `now + after`, capped at a year so huge durations cannot overflow.
pub(crate) fn deadline(after: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(after.min(Duration::from_secs(365 * 24 * 60 * 60))).unwrap_or(now)
}

/// Removes a leading `Bot ` (twilight adds it to the token in IDENTIFY and in REST headers).
pub(crate) fn strip_bot_prefix(token: &str) -> &str {
    token.strip_prefix("Bot ").unwrap_or(token).trim()
}

/// A text channel and its history.
#[derive(Debug)]
pub(crate) struct ChannelState {
    /// Its guild.
    pub(crate) guild_id: GuildId,
    /// Messages by id (ids grow with time, so this is chronological).
    pub(crate) messages: BTreeMap<MessageId, StoredMessage>,
}

/// Bytes served by the CDN route.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    /// The channel in the URL.
    pub(crate) channel_id: ChannelId,
    /// The sanitized file name in the URL.
    pub(crate) filename: String,
    /// MIME type.
    pub(crate) content_type: Option<String>,
    /// The bytes.
    pub(crate) data: Arc<Vec<u8>>,
}

/// One dispatch of a session's log.
#[derive(Debug, Clone)]
pub(crate) struct LoggedEvent {
    /// Sequence number.
    pub(crate) seq: u64,
    /// Event name (`READY`, `MESSAGE_CREATE`, ...).
    pub(crate) name: &'static str,
    /// The whole frame, ready to send.
    pub(crate) frame: Arc<str>,
}

/// A gateway session: the log of its latest events (at most [`EmulatorConfig::session_log_limit`]), kept across
/// connections, so that a client resuming from any sequence still in the log gets everything after it, whatever it
/// acknowledged by heartbeat (a client that died may resume from a sequence older than its last heartbeat).
#[derive(Debug)]
pub(crate) struct Session {
    id: String,
    shard: Option<[u64; 2]>,
    intents: u64,
    events: VecDeque<LoggedEvent>,
    last_seq: u64,
    /// Events up to this sequence were dropped from the log (it was full): a resume from before it is refused.
    dropped_through: u64,
    /// Most events kept.
    log_limit: usize,
    resumable: bool,
    connection: Option<u64>,
    resumes: u64,
}

impl Session {
    fn push(&mut self, name: &'static str, d: &str) {
        self.last_seq += 1;
        let seq = self.last_seq;
        let frame = format!(r#"{{"op":0,"s":{seq},"t":"{name}","d":{d}}}"#);
        self.events.push_back(LoggedEvent { seq, name, frame: frame.into() });
        while self.events.len() > self.log_limit.max(1) {
            if let Some(dropped) = self.events.pop_front() {
                self.dropped_through = dropped.seq;
            }
        }
    }

    fn events_after(&self, seq: u64) -> Vec<LoggedEvent> {
        self.events.iter().filter(|event| event.seq > seq).cloned().collect()
    }

    fn info(&self) -> SessionInfo {
        SessionInfo {
            session_id: self.id.clone(),
            shard: self.shard,
            intents: self.intents,
            last_sequence: self.last_seq,
            connected: self.connection.is_some(),
            resumable: self.resumable,
            resumes: self.resumes,
        }
    }
}

/// A user as payloads need it: a scripted user or the bot.
#[derive(Debug, Clone)]
pub(crate) struct UserView {
    pub(crate) id: UserId,
    pub(crate) username: String,
    pub(crate) global_name: Option<String>,
    pub(crate) nick: Option<String>,
    pub(crate) roles: Vec<RoleId>,
    pub(crate) bot: bool,
}

impl From<&UserSpec> for UserView {
    fn from(user: &UserSpec) -> Self {
        Self {
            id: user.id,
            username: user.username.clone(),
            global_name: user.global_name.clone(),
            nick: user.nick.clone(),
            roles: user.roles.clone(),
            bot: user.bot,
        }
    }
}

/// What a new message carries before the emulator gives it an id.
#[derive(Debug, Default)]
pub(crate) struct NewMessage {
    pub(crate) content: String,
    pub(crate) attachments: Vec<AttachmentSpec>,
    pub(crate) embeds: Vec<Value>,
    pub(crate) reply_to: Option<MessageId>,
    pub(crate) mentioned_users: Vec<UserId>,
    pub(crate) mentioned_roles: Vec<RoleId>,
    pub(crate) mention_everyone: bool,
}

/// The mutable state behind [`Shared::lock`].
/// Where application commands apply: everywhere, or in one guild (by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CommandScope {
    /// Every guild and direct messages.
    Global,
    /// One guild.
    Guild(u64),
}

pub(crate) struct State {
    pub(crate) config: EmulatorConfig,
    pub(crate) gateway_url: String,
    pub(crate) http_base: String,
    snowflakes: Snowflakes,
    pub(crate) channels: BTreeMap<ChannelId, ChannelState>,
    pub(crate) users: BTreeMap<UserId, UserSpec>,
    pub(crate) blobs: HashMap<AttachmentId, Blob>,
    sessions: Vec<Session>,
    pub(crate) stats: GatewayStats,
    /// Application commands, by scope, as registered.
    pub(crate) commands: BTreeMap<CommandScope, Vec<serde_json::Value>>,
    /// How many bulk overwrites of commands were made.
    pub(crate) command_overwrites: usize,
    /// Interactions, by id, with what the bot answered.
    pub(crate) interactions: BTreeMap<InteractionId, InteractionState>,
    pub(crate) rest_calls: Vec<RestCall>,
    pub(crate) sent: Vec<SentMessage>,
    pub(crate) rest_faults: VecDeque<RestFault>,
    pub(crate) rest_delay: Duration,
    pub(crate) url_secret: u64,
    next_connection: u64,
    /// Unix milliseconds at start, used as every member's `joined_at`.
    pub(crate) started_ms: u64,
}

impl State {
    fn new(config: EmulatorConfig, gateway_url: String, http_base: String) -> Self {
        let mut channels = BTreeMap::new();
        for guild in &config.guilds {
            for channel in &guild.channels {
                channels.insert(channel.id, ChannelState { guild_id: guild.id, messages: BTreeMap::new() });
            }
        }
        let users = config.users.iter().map(|u| (u.id, u.clone())).collect();
        let started_ms = unix_millis_now();
        Self {
            config,
            gateway_url,
            http_base,
            snowflakes: Snowflakes::default(),
            channels,
            users,
            blobs: HashMap::new(),
            sessions: Vec::new(),
            stats: GatewayStats::default(),
            rest_calls: Vec::new(),
            sent: Vec::new(),
            rest_faults: VecDeque::new(),
            rest_delay: Duration::ZERO,
            url_secret: fnv1a(&started_ms.to_le_bytes()) ^ u64::from(std::process::id()),
            next_connection: 0,
            started_ms,
            commands: BTreeMap::new(),
            command_overwrites: 0,
            interactions: BTreeMap::new(),
        }
    }

    /// A fresh snowflake.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.snowflakes.next()
    }

    /// The user with this id: a scripted user or the bot.
    pub(crate) fn user(&self, id: UserId) -> Option<UserView> {
        if id == self.config.bot.id {
            return Some(self.bot_view());
        }
        self.users.get(&id).map(UserView::from)
    }

    /// The bot as a user.
    pub(crate) fn bot_view(&self) -> UserView {
        UserView {
            id: self.config.bot.id,
            username: self.config.bot.username.clone(),
            global_name: None,
            nick: None,
            roles: Vec::new(),
            bot: true,
        }
    }

    /// The channel, or [`EmulatorError::UnknownChannel`].
    pub(crate) fn channel(&self, id: ChannelId) -> Result<&ChannelState, EmulatorError> {
        self.channels.get(&id).ok_or(EmulatorError::UnknownChannel(id))
    }

    /// A stored message.
    pub(crate) fn message(&self, channel: ChannelId, message: MessageId) -> Result<&StoredMessage, EmulatorError> {
        self.channel(channel)?.messages.get(&message).ok_or(EmulatorError::UnknownMessage { channel, message })
    }

    /// Stores a new message (not yet dispatched) and its attachments.
    pub(crate) fn insert_message(
        &mut self,
        channel_id: ChannelId,
        author_id: UserId,
        new: NewMessage,
    ) -> Result<StoredMessage, EmulatorError> {
        let guild_id = self.channel(channel_id)?.guild_id;
        if self.user(author_id).is_none() {
            return Err(EmulatorError::UnknownUser(author_id));
        }
        let id = MessageId(self.next_id());
        let millis = snowflake_unix_millis(id.get());
        let attachments = new.attachments.into_iter().map(|spec| self.store_attachment(channel_id, spec)).collect();
        let message = StoredMessage {
            id,
            channel_id,
            guild_id,
            author_id,
            content: new.content,
            attachments,
            embeds: new.embeds,
            timestamp: clock::format_timestamp(millis),
            edited_timestamp: None,
            reply_to: new.reply_to,
            mentioned_users: new.mentioned_users,
            mentioned_roles: new.mentioned_roles,
            mention_everyone: new.mention_everyone,
        };
        self.channels
            .get_mut(&channel_id)
            .ok_or(EmulatorError::UnknownChannel(channel_id))?
            .messages
            .insert(id, message.clone());
        Ok(message)
    }

    pub(crate) fn store_attachment(&mut self, channel_id: ChannelId, spec: AttachmentSpec) -> StoredAttachment {
        let id = AttachmentId(self.next_id());
        let filename = sanitize_filename(&spec.filename);
        let (width, height) = match (spec.width, spec.height) {
            (Some(w), Some(h)) => (Some(w), Some(h)),
            _ => image_dimensions(&spec.data).map_or((None, None), |(w, h)| (Some(w), Some(h))),
        };
        let size = spec.data.len() as u64;
        let url = self.signed_url(channel_id, id, &filename, unix_millis_now() / 1000);
        self.blobs.insert(
            id,
            Blob {
                channel_id,
                filename: filename.clone(),
                content_type: spec.content_type.clone(),
                data: Arc::new(spec.data),
            },
        );
        StoredAttachment { id, filename, content_type: spec.content_type, size, url, width, height }
    }

    /// A CDN URL valid for the configured TTL from `issued_secs`, signed like Discord's (`ex`, `is`, `hm`).
    pub(crate) fn signed_url(
        &self,
        channel_id: ChannelId,
        id: AttachmentId,
        filename: &str,
        issued_secs: u64,
    ) -> String {
        let expires = issued_secs.saturating_add(self.config.attachment_url_ttl.as_secs());
        let path = attachment_path(channel_id, id, filename);
        let hm = self.url_signature(&path, expires);
        format!("{}{path}?ex={expires:x}&is={issued_secs:x}&hm={hm:016x}", self.http_base)
    }

    /// The `hm` of a CDN path and expiry.
    pub(crate) fn url_signature(&self, path: &str, expires: u64) -> u64 {
        let mut bytes = self.url_secret.to_le_bytes().to_vec();
        bytes.extend_from_slice(path.as_bytes());
        bytes.extend_from_slice(&expires.to_le_bytes());
        fnv1a(&bytes)
    }

    /// Appends an event to every session of the guild's shard that wants guild messages. Sessions without
    /// `MESSAGE_CONTENT` get `d` without content unless `message` is the bot's own or mentions the bot.
    fn dispatch_to_message_sessions(
        &mut self,
        name: &'static str,
        guild: GuildId,
        d: &Value,
        message: Option<&StoredMessage>,
    ) {
        let enforce = self.config.enforce_intents;
        let bot = self.config.bot.id;
        let full = d.to_string();
        let mut redacted: Option<String> = None;
        let exempt = message.is_none_or(|m| m.author_id == bot || m.mentioned_users.contains(&bot));
        for session in &mut self.sessions {
            if !shard_has_guild(session.shard, guild) {
                continue;
            }
            if enforce && session.intents & intents::GUILD_MESSAGES == 0 {
                continue;
            }
            if enforce && !exempt && session.intents & intents::MESSAGE_CONTENT == 0 {
                let text = redacted.get_or_insert_with(|| payload::without_content(d).to_string());
                session.push(name, text);
            } else {
                session.push(name, &full);
            }
        }
    }

    /// Appends an event to every session of the guild's shard, whatever its intents (interactions need none).
    pub(crate) fn dispatch_to_guild_sessions(&mut self, name: &'static str, guild: GuildId, d: &Value) {
        let text = d.to_string();
        for session in self.sessions.iter_mut().filter(|s| shard_has_guild(s.shard, guild)) {
            session.push(name, &text);
        }
    }

    /// Dispatches MESSAGE_CREATE or MESSAGE_UPDATE with the full message.
    fn dispatch_message(&mut self, name: &'static str, message: &StoredMessage) {
        let d = payload::message(self, message, true);
        self.dispatch_to_message_sessions(name, message.guild_id, &d, Some(message));
    }

    // ----- gateway sessions -----

    /// Registers a new connection and returns its id.
    pub(crate) fn open_connection(&mut self) -> u64 {
        self.next_connection += 1;
        self.stats.connections += 1;
        self.stats.open_connections += 1;
        self.next_connection
    }

    /// Forgets a connection; its session (if any) stays resumable.
    pub(crate) fn close_connection(&mut self, connection: u64) {
        self.stats.open_connections = self.stats.open_connections.saturating_sub(1);
        for session in &mut self.sessions {
            if session.connection == Some(connection) {
                session.connection = None;
            }
        }
    }

    /// Starts a session for an IDENTIFY: READY (and GUILD_CREATEs) become its first events.
    pub(crate) fn identify(&mut self, connection: u64, shard: Option<[u64; 2]>, intents: u64) -> String {
        self.stats.identifies += 1;
        // Sessions of the same shard without a connection, and invalid ones without a connection, are gone for good.
        self.sessions.retain(|s| s.connection.is_some() || (s.resumable && (shard.is_none() || s.shard != shard)));
        let detached = self.sessions.iter().filter(|s| s.connection.is_none()).count();
        if detached >= MAX_DETACHED_SESSIONS
            && let Some(oldest) = self.sessions.iter().position(|s| s.connection.is_none())
        {
            self.sessions.remove(oldest);
        }
        let id = format!("{:016x}{:016x}", self.next_id(), fnv1a(&connection.to_le_bytes()));
        let mut session = Session {
            id: id.clone(),
            shard,
            intents,
            events: VecDeque::new(),
            last_seq: 0,
            dropped_through: 0,
            log_limit: self.config.session_log_limit,
            resumable: true,
            connection: Some(connection),
            resumes: 0,
        };
        let ready = payload::ready(self, &id, shard);
        session.push("READY", &ready.to_string());
        let enforce = self.config.enforce_intents;
        if self.config.send_guild_create && (!enforce || intents & intents::GUILDS != 0) {
            let with_members = !enforce || intents & intents::GUILD_MEMBERS != 0;
            for guild in self.config.guilds.iter().filter(|g| shard_has_guild(shard, g.id)) {
                let d = payload::guild_create(self, guild, with_members);
                session.push("GUILD_CREATE", &d.to_string());
            }
        }
        self.sessions.push(session);
        id
    }

    /// Resumes a session on a connection: the events after `seq` to replay, and the RESUMED frame.
    /// `None` when the session is unknown, invalidated, or `seq` is outside its log.
    pub(crate) fn resume(
        &mut self,
        connection: u64,
        session_id: &str,
        seq: u64,
    ) -> Option<(Vec<LoggedEvent>, String, u64)> {
        self.stats.resume_attempts += 1;
        let Some(session) = self.sessions.iter_mut().find(|s| s.id == session_id) else {
            self.stats.resumes_rejected += 1;
            return None;
        };
        if !session.resumable || seq < session.dropped_through || seq > session.last_seq {
            self.stats.resumes_rejected += 1;
            return None;
        }
        session.connection = Some(connection);
        session.resumes += 1;
        self.stats.resumes += 1;
        let replay = session.events_after(seq);
        let last = session.last_seq;
        let resumed = format!(r#"{{"op":0,"s":{last},"t":"RESUMED","d":{{"_trace":["discord-emulator"]}}}}"#);
        Some((replay, resumed, last))
    }

    /// Events of the session after `seq`, or `None` when the connection no longer carries the session.
    pub(crate) fn pending_events(&self, connection: u64, session_id: &str, seq: u64) -> Option<Vec<LoggedEvent>> {
        let session = self.sessions.iter().find(|s| s.id == session_id)?;
        (session.connection == Some(connection)).then(|| session.events_after(seq))
    }

    /// Makes a session unresumable.
    pub(crate) fn invalidate_session(&mut self, session_id: &str) {
        if let Some(session) = self.sessions.iter_mut().find(|s| s.id == session_id) {
            session.resumable = false;
        }
    }

    /// Makes every session unresumable; returns how many were.
    pub(crate) fn invalidate_all_sessions(&mut self) -> usize {
        let mut count = 0;
        for session in &mut self.sessions {
            if session.resumable {
                session.resumable = false;
                count += 1;
            }
        }
        count
    }

    /// Snapshots of all sessions.
    pub(crate) fn session_infos(&self) -> Vec<SessionInfo> {
        self.sessions.iter().map(Session::info).collect()
    }
}

/// Whether a shard receives a guild's events: `(guild_id >> 22) % shard_count == shard_id`, as on Discord.
pub(crate) fn shard_has_guild(shard: Option<[u64; 2]>, guild: GuildId) -> bool {
    shard.is_none_or(|[id, total]| total <= 1 || (guild.get() >> 22) % total == id)
}

/// The CDN path of an attachment, with the file name percent-encoded.
pub(crate) fn attachment_path(channel_id: ChannelId, id: AttachmentId, filename: &str) -> String {
    format!("/attachments/{channel_id}/{id}/{}", percent_encode(filename))
}

/// Discord replaces spaces in uploaded file names with underscores and keeps the rest.
fn sanitize_filename(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_whitespace() || c == '/' || c == '\\' { '_' } else { c }).collect();
    if cleaned.is_empty() { "unknown".to_owned() } else { cleaned }
}

/// Percent-encodes everything but unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Width and height from a PNG or GIF header.
fn image_dimensions(data: &[u8]) -> Option<(u64, u64)> {
    if data.len() >= 24 && data.starts_with(b"\x89PNG\r\n\x1a\n") && &data[12..16] == b"IHDR" {
        let width = u32::from_be_bytes(data[16..20].try_into().ok()?);
        let height = u32::from_be_bytes(data[20..24].try_into().ok()?);
        return Some((u64::from(width), u64::from(height)));
    }
    if data.len() >= 10 && (data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a")) {
        let width = u16::from_le_bytes([data[6], data[7]]);
        let height = u16::from_le_bytes([data[8], data[9]]);
        return Some((u64::from(width), u64::from(height)));
    }
    None
}

/// FNV-1a, 64 bits: enough to sign URLs of a local test server.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// User, role and everyone mentions written in a message text (`<@1>`, `<@!1>`, `<@&2>`, `@everyone`, `@here`).
pub(crate) fn parse_mentions(content: &str) -> (Vec<UserId>, Vec<RoleId>, bool) {
    let mut users = Vec::new();
    let mut roles = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('>') else { break };
        let inner = &rest[..end];
        if let Some(role) = inner.strip_prefix('&') {
            if let Ok(id) = role.parse::<u64>()
                && !roles.contains(&RoleId(id))
            {
                roles.push(RoleId(id));
            }
        } else if let Ok(id) = inner.strip_prefix('!').unwrap_or(inner).parse::<u64>()
            && !users.contains(&UserId(id))
        {
            users.push(UserId(id));
        }
    }
    let everyone = content.contains("@everyone") || content.contains("@here");
    (users, roles, everyone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found() {
        let (users, roles, everyone) = parse_mentions("hi <@1> and <@!2> <@&3> <@1> <@x> @here");
        assert_eq!(users, vec![UserId(1), UserId(2)]);
        assert_eq!(roles, vec![RoleId(3)]);
        assert!(everyone);
        assert_eq!(parse_mentions("plain <@"), (vec![], vec![], false));
    }

    #[test]
    fn png_and_gif_dimensions_are_read() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_dimensions(&png), Some((640, 480)));
        assert_eq!(image_dimensions(b"GIF89a\x10\x00\x20\x00"), Some((16, 32)));
        assert_eq!(image_dimensions(b"nope"), None);
    }

    #[test]
    fn filenames_are_sanitized_and_encoded() {
        assert_eq!(sanitize_filename("my chart.png"), "my_chart.png");
        assert_eq!(percent_encode("a b%.png"), "a%20b%25.png");
    }
}
