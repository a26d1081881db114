//! The bot's runtime: one gateway shard (twilight), a REST client (twilight-http) for replies, and a worker per
//! channel so that commands of a channel are handled in order while the shard keeps being polled (a shard that is
//! not polled misses its heartbeats).

use std::collections::HashMap;
use std::future::{Future, IntoFuture as _};
use std::sync::Arc;
use std::time::Duration;

use core_model::{Actor, Attachment, RoleId, UserId};
use service::BotState;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::field::Empty;
use tracing::{Instrument as _, Span};
use twilight_gateway::{
    CloseFrame, ConfigBuilder, Event, EventTypeFlags, Intents, Session, Shard, ShardId, StreamExt as _,
};
use twilight_http::Client;
use twilight_http::api_error::ApiError as DiscordApiError;
use twilight_http::error::ErrorType;
use twilight_http_ratelimiting::RateLimiter;
use twilight_model::channel::Message;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, MessageMarker};

use crate::catch_up::{self, KNOWN_CHANNELS_KEY, KnownChannels, LookBack};
use crate::handler::{CommandHandler, IncomingMessage};
use crate::retry::{RetryPolicy, Verdict};
use crate::session::{self, ChannelProgress, EventMark, SESSION_KEY, SessionProgress, StoredSession};
use crate::split::{DISCORD_MESSAGE_LIMIT, split_message};

/// The bot token. Its `Debug` never shows it.
#[derive(Clone)]
pub struct BotToken(String);

impl BotToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

/// How the bot connects and replies.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// The bot token.
    pub token: BotToken,
    /// REST base URL (`http://127.0.0.1:9000` for a local emulator); `None` for Discord itself.
    pub api_base_url: Option<String>,
    /// Gateway URL (`ws://127.0.0.1:9001`); `None` for Discord itself.
    pub gateway_url: Option<String>,
    /// Retries of failed REST calls.
    pub retry: RetryPolicy,
    /// Timeout of one REST call.
    pub request_timeout: Duration,
    /// How often the connection state is recorded while connected (the heartbeat `/health` reads).
    pub status_every: Duration,
    /// How long to wait for the gateway to close and the workers to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Whether to wait between identifies as Discord requires (off only against a local emulator in tests).
    pub identify_queue: bool,
    /// At most this many messages per channel, the newest, are read back after a new session (0 turns catch-up
    /// off).
    pub catch_up_limit: usize,
    /// Messages older than this are not read back after a new session.
    pub catch_up_max_age: Duration,
    /// Channels read back after a new session even before a message arrived in them (besides every channel the
    /// bot has handled a message in, which it remembers in storage).
    pub watched_channels: Vec<u64>,
    /// How often the gateway session is saved for a resume after a restart (when it moved on since).
    pub session_save_every: Duration,
}

impl BotConfig {
    /// A configuration with the defaults for everything but the token.
    pub fn new(token: BotToken) -> Self {
        Self {
            token,
            api_base_url: None,
            gateway_url: None,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            status_every: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            identify_queue: true,
            catch_up_limit: 500,
            catch_up_max_age: Duration::from_secs(72 * 60 * 60),
            watched_channels: Vec::new(),
            session_save_every: Duration::from_secs(1),
        }
    }
}

/// Why the bot stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The Discord API base URL is not `http://host[:port]` or `https://host[:port]`.
    #[error("the Discord API base URL `{0}` must look like http://127.0.0.1:9000 or https://proxy.example.com")]
    BadApiUrl(String),
    /// The gateway closed for good (e.g. the token was refused, or intents are not enabled).
    #[error("the Discord gateway closed the connection for good: {0}")]
    GatewayClosed(String),
}

/// The REST proxy setting twilight wants: `host:port` and whether it is plain HTTP.
fn proxy_of(url: &str) -> Result<(String, bool), BotError> {
    let url = url.trim_end_matches('/');
    let (rest, plain) = if let Some(rest) = url.strip_prefix("http://") {
        (rest, true)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (rest, false)
    } else {
        return Err(BotError::BadApiUrl(url.to_owned()));
    };
    if rest.is_empty() || rest.contains('/') {
        return Err(BotError::BadApiUrl(url.to_owned()));
    }
    Ok((rest.to_owned(), plain))
}

/// How twilight-http paces REST calls before sending them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Discord's limits: at most 50 requests a second overall, and each route's bucket as Discord's headers say.
    Discord,
    /// A server on this machine (a local emulator): no overall limit, but each route's bucket and every 429's
    /// `retry_after` are still honoured (without a rate limiter, twilight-http would resend a 429ed request at once).
    LocalServer,
}

/// The pacing for a REST base URL: [`Pacing::LocalServer`] only when its host is a loopback address
/// (`127.0.0.0/8`, `::1`, `localhost`); Discord itself and any proxy elsewhere keep Discord's limits.
pub fn pacing_for(api_base_url: Option<&str>) -> Pacing {
    match api_base_url.and_then(|url| proxy_of(url).ok()) {
        Some((host_port, _)) if is_loopback_host(host_of(&host_port)) => Pacing::LocalServer,
        _ => Pacing::Discord,
    }
}

/// The host of `host[:port]` (`[v6]` or `[v6]:port` for IPv6).
fn host_of(host_port: &str) -> &str {
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or("");
    }
    match host_port.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((host, _)) if !host.contains(':') => host,
        _ => host_port,
    }
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
}

/// The REST client for a configuration.
///
/// # Errors
/// [`BotError::BadApiUrl`].
pub fn http_client(config: &BotConfig) -> Result<Client, BotError> {
    let mut builder = Client::builder().token(config.token.0.clone()).timeout(config.request_timeout);
    if let Some(url) = &config.api_base_url {
        let (host, plain) = proxy_of(url)?;
        builder = builder.proxy(host, plain);
    }
    if pacing_for(config.api_base_url.as_deref()) == Pacing::LocalServer {
        builder = builder.ratelimiter(Some(RateLimiter::new(u16::MAX)));
    }
    Ok(builder.build())
}

/// The shard; with a session stored by a previous run, it first tries to resume it (Discord answers with the events
/// after its sequence, or refuses and the shard identifies anew).
fn shard(config: &BotConfig, resume: Option<StoredSession>) -> Shard {
    let intents = Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT | Intents::DIRECT_MESSAGES;
    let mut builder = ConfigBuilder::new(config.token.0.clone(), intents);
    if let Some(url) = &config.gateway_url {
        builder = builder.proxy_url(url.trim_end_matches('/').to_owned());
    }
    if let Some(stored) = resume {
        builder = builder.session(Session::new(stored.sequence, stored.session_id)).resume_url(stored.resume_url);
    }
    if config.identify_queue {
        Shard::with_config(ShardId::ONE, builder.build())
    } else {
        let queue = twilight_gateway::queue::InMemoryQueue::new(0, 0, Duration::ZERO, 0);
        Shard::with_config(ShardId::ONE, builder.queue(queue).build())
    }
}

/// Work for a channel's worker.
enum Work {
    Created(IncomingMessage),
    Updated(IncomingMessage),
    Deleted {
        guild_id: Option<u64>,
        channel_id: u64,
        message_id: u64,
    },
    /// Read back the messages posted since the last one handled (after a session that could not be resumed, the
    /// gateway does not replay what was posted in between); where nothing was handled yet, since `since`, the first
    /// message seen there.
    CatchUp {
        guild_id: Option<u64>,
        channel_name: Option<String>,
        since: Option<u64>,
    },
}

/// Work with the root span of the gateway event it came from (the worker does it inside that span), and the mark of
/// that event, held until the work is done so that the session is never saved past it.
struct Job {
    work: Work,
    span: Span,
    mark: Option<EventMark>,
}

/// Status key holding where a channel stands: the last message and the last gateway event handled there
/// ([`ChannelProgress`]).
fn cursor_key(channel_id: u64) -> String {
    format!("bot.cursor.{channel_id}")
}

/// The root span of a gateway event: its kind and, when it has them, the guild, channel, message and author ids.
fn event_span(event: &Event) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "gateway_event",
        kind = ?event.kind(),
        guild_id = Empty,
        channel_id = Empty,
        message_id = Empty,
        user_id = Empty,
    );
    match event {
        Event::MessageCreate(message) => record_message_ids(&span, message),
        Event::MessageUpdate(message) => record_message_ids(&span, message),
        Event::MessageDelete(deleted) => {
            span.record("channel_id", deleted.channel_id.get());
            span.record("message_id", deleted.id.get());
            if let Some(guild_id) = deleted.guild_id {
                span.record("guild_id", guild_id.get());
            }
        }
        _ => {
            if let Some(guild_id) = event.guild_id() {
                span.record("guild_id", guild_id.get());
            }
        }
    }
    span
}

fn record_message_ids(span: &Span, message: &Message) {
    if let Some(guild_id) = message.guild_id {
        span.record("guild_id", guild_id.get());
    }
    span.record("channel_id", message.channel_id.get());
    span.record("message_id", message.id.get());
    span.record("user_id", message.author.id.get());
}

/// The root span of a message read back after a new session (it came through REST, not as a gateway event).
fn caught_up_span(message: &IncomingMessage) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "caught_up_message",
        guild_id = Empty,
        channel_id = message.channel_id,
        message_id = message.message_id,
        user_id = message.author.user_id.0,
    );
    if let Some(guild_id) = message.guild_id {
        span.record("guild_id", guild_id);
    }
    span.follows_from(Span::current());
    span
}

/// Runs the bot until `shutdown` completes (then closes the gateway so that the session stays resumable, lets the
/// channel workers finish and saves the session) or until the gateway closes for good.
///
/// At start, a session saved by the previous run is resumed when the gateway still holds it: the events after the
/// last one handled in full are replayed. Otherwise, on READY, the channels the bot knows are read back through REST
/// (see [`catch_up`](crate::catch_up)).
///
/// # Errors
/// [`BotError`] when the configuration is unusable or Discord refuses the bot for good.
pub async fn run(
    config: BotConfig,
    handler: CommandHandler,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BotError> {
    let http = Arc::new(http_client(&config)?);
    let gateway = session::gateway_name(config.gateway_url.as_deref());
    let stored = stored_session(&handler, &gateway).await;
    let known_channels = known_channels(&handler).await;
    let mut shard = shard(&config, stored);
    let mut runtime = Runtime {
        http,
        handler,
        config,
        channel_names: HashMap::new(),
        channel_guilds: HashMap::new(),
        workers: HashMap::new(),
        tasks: JoinSet::new(),
        connected: false,
        gateway,
        progress: None,
        sequence: None,
        resume_url: None,
        saved_session: None,
        save_failing: false,
        known_channels,
    };
    let mut status_timer = tokio::time::interval(runtime.config.status_every);
    status_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut session_timer = tokio::time::interval(runtime.config.session_save_every);
    session_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let wanted = EventTypeFlags::READY
        | EventTypeFlags::RESUMED
        | EventTypeFlags::GUILD_CREATE
        | EventTypeFlags::CHANNEL_CREATE
        | EventTypeFlags::CHANNEL_UPDATE
        | EventTypeFlags::MESSAGE_CREATE
        | EventTypeFlags::MESSAGE_UPDATE
        | EventTypeFlags::MESSAGE_DELETE
        | EventTypeFlags::GATEWAY_RECONNECT
        | EventTypeFlags::GATEWAY_INVALIDATE_SESSION;
    tokio::pin!(shutdown);
    let outcome = loop {
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            _ = status_timer.tick() => {
                if runtime.connected {
                    record(&runtime.handler, BotState::Connected).await;
                }
            }
            _ = session_timer.tick() => runtime.save_session().await,
            item = shard.next_event(wanted) => {
                let event = match item {
                    None => break Err(BotError::GatewayClosed("the connection ended".to_owned())),
                    Some(Err(error)) => {
                        tracing::warn!(error = %error, "cannot read a gateway event");
                        continue;
                    }
                    Some(Ok(event)) => event,
                };
                runtime.observe(&shard);
                let span = event_span(&event);
                if let Err(error) = runtime.on_event(event, &span).instrument(span.clone()).await {
                    break Err(error);
                }
                if runtime.session_unsaved() {
                    // A new session is saved as soon as it can be, not at the next tick: a restart before that
                    // would find only the previous session, which Discord no longer holds.
                    runtime.save_session().await;
                }
            }
        }
    };
    // Close the gateway, keeping the session resumable (a NORMAL close would end it: what is posted, edited or
    // deleted until the restart would then never be replayed), and let every queued command finish, within the
    // grace period; then save the session as far as it was handled.
    shard.close(CloseFrame::RESUME);
    let grace = runtime.config.shutdown_grace;
    let closing = async {
        // Close frames are always delivered, whatever the flags.
        while let Some(item) = shard.next_event(EventTypeFlags::empty()).await {
            if matches!(item, Ok(Event::GatewayClose(_))) {
                break;
            }
        }
    };
    if tokio::time::timeout(grace, closing).await.is_err() {
        tracing::warn!("the gateway did not acknowledge the close in time");
    }
    runtime.workers.clear();
    let tasks = &mut runtime.tasks;
    if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await.is_ok() {
        runtime.save_session().await;
    } else {
        // The session stays saved where it was, before the commands left unfinished: they come again after a resume.
        tracing::warn!(left = tasks.len(), "stopping with commands still being handled");
        tasks.abort_all();
    }
    let handler = runtime.handler;
    record(&handler, BotState::Disconnected).await;
    tracing::info!("disconnected from Discord");
    outcome
}

/// What the gateway loop knows between events.
struct Runtime {
    http: Arc<Client>,
    handler: CommandHandler,
    config: BotConfig,
    channel_names: HashMap<u64, String>,
    channel_guilds: HashMap<u64, u64>,
    workers: HashMap<u64, mpsc::UnboundedSender<Job>>,
    tasks: JoinSet<()>,
    connected: bool,
    /// The gateway's name, as stored with the session.
    gateway: String,
    /// The current session's events, received and being handled.
    progress: Option<Arc<SessionProgress>>,
    /// The sequence of the event just received.
    sequence: Option<u64>,
    /// Where the current session resumes.
    resume_url: Option<String>,
    /// The session last saved.
    saved_session: Option<StoredSession>,
    /// Whether the last save failed (the failure is logged once until a save succeeds again).
    save_failing: bool,
    /// The channels handled in, by this run or earlier ones, with their guilds.
    known_channels: KnownChannels,
}

/// The session the previous run saved, when it belongs to this gateway.
async fn stored_session(handler: &CommandHandler, gateway: &str) -> Option<StoredSession> {
    let record = match handler.service().status(SESSION_KEY).await {
        Ok(record) => record?,
        Err(error) => {
            tracing::warn!(error = %error, "cannot read the saved gateway session; starting a new one");
            return None;
        }
    };
    let stored = StoredSession::decode(&record.value).filter(|s| s.gateway == gateway)?;
    tracing::info!(
        sequence = stored.sequence,
        saved_at = %record.updated_at,
        "resuming the gateway session of the previous run after the last event it handled"
    );
    Some(stored)
}

/// The channels handled in by earlier runs.
async fn known_channels(handler: &CommandHandler) -> KnownChannels {
    match handler.service().status(KNOWN_CHANNELS_KEY).await {
        Ok(record) => record.map(|r| KnownChannels::decode(&r.value)).unwrap_or_default(),
        Err(error) => {
            tracing::warn!(error = %error, "cannot read the channels of earlier runs; only this run's are caught up");
            KnownChannels::default()
        }
    }
}

impl Runtime {
    /// Follows the shard's session after an event: a new session (READY) starts a new count of events.
    fn observe(&mut self, shard: &Shard) {
        let Some(session) = shard.session() else { return };
        self.sequence = Some(session.sequence());
        match &self.progress {
            Some(progress) if progress.session_id() == session.id() => progress.received(session.sequence()),
            _ => self.progress = Some(SessionProgress::new(session.id(), session.sequence())),
        }
        if let Some(url) = shard.resume_url()
            && self.resume_url.as_deref() != Some(url)
        {
            self.resume_url = Some(url.to_owned());
        }
    }

    /// A mark for the event just received, held by the work it creates.
    fn mark(&self) -> Option<EventMark> {
        Some(self.progress.as_ref()?.handling(self.sequence?))
    }

    /// Whether the current session was never saved.
    fn session_unsaved(&self) -> bool {
        self.progress
            .as_ref()
            .is_some_and(|p| self.saved_session.as_ref().is_none_or(|s| s.session_id != p.session_id()))
    }

    /// Saves the session as far as its events were handled, when that moved on since the last save.
    async fn save_session(&mut self) {
        let (Some(progress), Some(resume_url)) = (&self.progress, &self.resume_url) else { return };
        let sequence = progress.handled_through();
        if sequence == 0 {
            return;
        }
        let stored = StoredSession {
            gateway: self.gateway.clone(),
            session_id: progress.session_id().to_owned(),
            sequence,
            resume_url: resume_url.clone(),
        };
        if !stored.is_storable() {
            return;
        }
        if self.saved_session.as_ref() == Some(&stored) {
            return;
        }
        match self.handler.service().record_status(SESSION_KEY, &stored.encode()).await {
            Ok(()) => {
                self.saved_session = Some(stored);
                self.save_failing = false;
            }
            Err(error) if !self.save_failing => {
                self.save_failing = true;
                tracing::warn!(error = %error, "cannot save the gateway session; a restart would start a new one");
            }
            Err(_) => {}
        }
    }

    /// Remembers a channel the bot handles messages in (before handling the message), so that a later run catches
    /// up there too.
    async fn remember_channel(&mut self, message: &IncomingMessage) {
        let (channel_id, guild_id) = (message.channel_id, message.guild_id);
        if !self.known_channels.remember(channel_id, guild_id, message.message_id) {
            return;
        }
        let value = self.known_channels.encode();
        if let Err(error) = self.handler.service().record_status(KNOWN_CHANNELS_KEY, &value).await {
            tracing::warn!(error = %error, channel_id, "cannot remember this channel for catching up after a restart");
        }
    }

    /// Handles one gateway event; `span` is its root span, which the jobs it creates carry to the workers.
    async fn on_event(&mut self, event: Event, span: &Span) -> Result<(), BotError> {
        match event {
            Event::Ready(ready) => {
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                self.connected = true;
                record(&self.handler, BotState::Connected).await;
                // A new session: what was posted while there was none is not replayed by the gateway. READY counts
                // as handled once every channel has caught up, so the session is not saved before that.
                if self.config.catch_up_limit > 0 {
                    let mut channels: Vec<u64> = self.workers.keys().copied().collect();
                    channels.extend(self.config.watched_channels.iter().copied());
                    let listening = self.handler.listening();
                    let known = self.known_channels.0.iter().filter(|(c, k)| listening.includes(k.guild, **c));
                    channels.extend(known.map(|(channel, _)| *channel));
                    channels.sort_unstable();
                    channels.dedup();
                    let mark = self.mark();
                    for channel_id in channels {
                        let known = self.known_channels.0.get(&channel_id);
                        let guild_id = self.channel_guilds.get(&channel_id).copied();
                        let work = Work::CatchUp {
                            guild_id: guild_id.or_else(|| known.and_then(|k| k.guild)),
                            channel_name: self.channel_names.get(&channel_id).cloned(),
                            since: known.map(|k| k.since),
                        };
                        self.dispatch(channel_id, work, span, mark.clone());
                    }
                }
            }
            Event::Resumed => {
                tracing::info!("connection resumed");
                self.connected = true;
                record(&self.handler, BotState::Connected).await;
            }
            Event::GatewayClose(frame) => {
                if let Some(frame) = frame.as_ref().filter(|f| is_fatal_close(f.code)) {
                    return Err(BotError::GatewayClosed(format!("close code {} ({})", frame.code, frame.reason)));
                }
                tracing::warn!(?frame, "gateway connection closed; reconnecting");
                self.connected = false;
                record(&self.handler, BotState::Disconnected).await;
            }
            Event::GatewayReconnect | Event::GatewayInvalidateSession(_) => {
                tracing::info!("gateway asked to reconnect");
            }
            Event::GuildCreate(guild) => {
                if let twilight_model::gateway::payload::incoming::GuildCreate::Available(guild) = &*guild {
                    for channel in guild.channels.iter().chain(&guild.threads) {
                        self.channel_guilds.insert(channel.id.get(), guild.id.get());
                        if let Some(name) = &channel.name {
                            self.channel_names.insert(channel.id.get(), name.clone());
                        }
                    }
                }
            }
            Event::ChannelCreate(channel) => {
                if let Some(name) = &channel.name {
                    self.channel_names.insert(channel.id.get(), name.clone());
                }
            }
            Event::ChannelUpdate(channel) => {
                if let Some(name) = &channel.name {
                    self.channel_names.insert(channel.id.get(), name.clone());
                }
            }
            Event::MessageCreate(message) => {
                if self.ignores(&message) {
                    return Ok(());
                }
                let incoming = incoming(&message, &self.channel_names);
                if let Some(guild_id) = incoming.guild_id {
                    self.channel_guilds.insert(incoming.channel_id, guild_id);
                }
                self.remember_channel(&incoming).await;
                let mark = self.mark();
                self.dispatch(incoming.channel_id, Work::Created(incoming), span, mark);
            }
            Event::MessageUpdate(message) => {
                if self.ignores(&message) {
                    return Ok(());
                }
                let incoming = incoming(&message, &self.channel_names);
                let mark = self.mark();
                self.dispatch(incoming.channel_id, Work::Updated(incoming), span, mark);
            }
            Event::MessageDelete(deleted) => {
                let (guild_id, channel_id) = (deleted.guild_id.map(Id::get), deleted.channel_id.get());
                if !self.handler.listening().includes(guild_id, channel_id) {
                    return Ok(());
                }
                let work = Work::Deleted { guild_id, channel_id, message_id: deleted.id.get() };
                let mark = self.mark();
                self.dispatch(channel_id, work, span, mark);
            }
            _ => {}
        }
        Ok(())
    }

    /// Messages from bots (this one included) and from places the bot does not listen in are dropped here, before
    /// any worker sees them.
    fn ignores(&self, message: &Message) -> bool {
        let ignored = message.author.bot
            || !self.handler.listening().includes(message.guild_id.map(Id::get), message.channel_id.get());
        if ignored {
            tracing::trace!("ignored: from a bot, or where the bot does not listen");
        }
        ignored
    }

    /// Hands work to its channel's worker, starting the worker when the channel has none yet. `mark`, the event's,
    /// is held until the work is done.
    fn dispatch(&mut self, channel_id: u64, work: Work, span: &Span, mark: Option<EventMark>) {
        let sender = self.workers.entry(channel_id).or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            let worker = ChannelWorker {
                http: Arc::clone(&self.http),
                handler: self.handler.clone(),
                retry: self.config.retry,
                channel_id,
                progress: ChannelProgress::default(),
                look_back: LookBack { messages: self.config.catch_up_limit, max_age: self.config.catch_up_max_age },
            };
            self.tasks.spawn(worker.run(receiver));
            sender
        });
        if sender.send(Job { work, span: span.clone(), mark }).is_err() {
            tracing::error!(channel_id, "a channel worker stopped; the message is dropped");
        }
    }
}

/// Why a catch-up could not read a channel.
#[derive(Debug, thiserror::Error)]
enum CatchUpError {
    /// The request failed, after its retries.
    #[error("cannot read the channel's messages")]
    Request(#[from] twilight_http::Error),
    /// The answer was not a list of messages.
    #[error("cannot read the channel's messages")]
    Body(#[source] twilight_http::response::DeserializeBodyError),
}

/// Close codes after which reconnecting cannot help (Discord's documented fatal codes).
fn is_fatal_close(code: u16) -> bool {
    matches!(code, 4004 | 4010 | 4011 | 4012 | 4013 | 4014)
}

async fn record(handler: &CommandHandler, state: BotState) {
    if let Err(error) = handler.service().record_bot_state(state).await {
        tracing::warn!(error = %error, state = %state, "cannot record the bot's connection state");
    }
}

struct ChannelWorker {
    http: Arc<Client>,
    handler: CommandHandler,
    retry: RetryPolicy,
    channel_id: u64,
    /// The last message and the last gateway event handled in the channel.
    progress: ChannelProgress,
    look_back: LookBack,
}

impl ChannelWorker {
    async fn run(mut self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        self.progress = match self.handler.service().status(&cursor_key(self.channel_id)).await {
            Ok(record) => record.map(|r| ChannelProgress::decode(&r.value)).unwrap_or_default(),
            Err(error) => {
                tracing::warn!(error = %error, channel_id = self.channel_id, "cannot read where this channel was left");
                ChannelProgress::default()
            }
        };
        while let Some(Job { work, span, mark }) = jobs.recv().await {
            self.work(work, mark.as_ref()).instrument(span).await;
            // The mark goes only now: the session is never saved past an event whose work is not done.
            drop(mark);
        }
    }

    async fn work(&mut self, work: Work, mark: Option<&EventMark>) {
        if let Some(mark) = mark.filter(|m| self.progress.has_handled(m)) {
            // A replay, after a restart, of an event the previous run handled after it last saved the session.
            tracing::debug!(sequence = mark.sequence(), "event handled already");
            return;
        }
        match work {
            Work::Created(message) => self.created(message, mark).await,
            Work::Updated(message) => {
                if let Some(reply) = self.handler.on_message_edit(&message).await {
                    self.reply(&message, &reply).await;
                }
                self.record_progress(mark).await;
            }
            Work::Deleted { guild_id, channel_id, message_id } => {
                self.handler.on_message_delete(guild_id, channel_id, message_id).await;
                self.record_progress(mark).await;
            }
            Work::CatchUp { guild_id, channel_name, since } => self.catch_up(guild_id, channel_name, since).await,
        }
    }

    /// Handles a new message once: a message at or before the cursor was handled already (it came again through a
    /// replay or a catch-up). The cursor moves on only once the reply is sent: a bot stopped in between handles the
    /// message again after its restart (a `!plan` is not posted twice; its confirmation is sent again).
    async fn created(&mut self, message: IncomingMessage, mark: Option<&EventMark>) {
        if self.progress.cursor.is_some_and(|cursor| message.message_id <= cursor) {
            tracing::debug!(message_id = message.message_id, "already handled");
            return;
        }
        if let Some(reply) = self.handler.on_message(&message).await {
            self.reply(&message, &reply).await;
        }
        self.progress.cursor = Some(message.message_id);
        self.record_progress(mark).await;
    }

    /// Records the last message handled and, for a gateway event, the event.
    async fn record_progress(&mut self, mark: Option<&EventMark>) {
        if let Some(mark) = mark {
            self.progress.last_event = Some((mark.session_id().to_owned(), mark.sequence()));
        }
        let key = cursor_key(self.channel_id);
        if let Err(error) = self.handler.service().record_status(&key, &self.progress.encode()).await {
            tracing::warn!(error = %error, "cannot record the last message handled");
        }
    }

    /// Reads the messages posted after the cursor (within the look-back) and handles each, oldest first, in its own
    /// root span. Where nothing was handled yet, the read goes back to `since` (the first message seen there); a
    /// channel without either is not read back (the bot would otherwise handle its whole past).
    async fn catch_up(&mut self, guild_id: Option<u64>, channel_name: Option<String>, since: Option<u64>) {
        let cursor = self.progress.cursor.or_else(|| since.map(|s| s.saturating_sub(1)));
        let (Some(cursor), Some(channel)) = (cursor, Id::<ChannelMarker>::new_checked(self.channel_id)) else {
            return;
        };
        let worker = &*self;
        let page = |before: Option<u64>| async move {
            let before = before.and_then(Id::<MessageMarker>::new_checked);
            let http = &worker.http;
            let response = worker
                .with_retry("reading the channel", || match before {
                    Some(before) => http.channel_messages(channel).before(before).limit(catch_up::PAGE).into_future(),
                    None => http.channel_messages(channel).limit(catch_up::PAGE).into_future(),
                })
                .await?;
            response.models().await.map_err(CatchUpError::Body)
        };
        let now_ms = u64::try_from(self.handler.service().now().as_millisecond()).unwrap_or(0);
        let backlog = match catch_up::read_back(page, cursor, self.look_back, now_ms).await {
            Ok(backlog) => backlog,
            Err(error) => {
                let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
                tracing::error!(
                    error = %error,
                    cause,
                    "cannot read back the messages posted in this channel while the bot had no session (Discord's \
                     REST API failed after every retry); commands among them are not handled: they must be posted again"
                );
                return;
            }
        };
        if backlog.too_old > 0 || backlog.over_count {
            tracing::warn!(
                read = backlog.messages.len(),
                too_old = backlog.too_old,
                max_messages = self.look_back.messages,
                max_age_hours = self.look_back.max_age.as_secs() / 3600,
                "messages posted while the bot had no session lie beyond the catch-up look-back and are not read: \
                 commands among them must be posted again (discord.catch_up_messages, discord.catch_up_max_age_hours)"
            );
        }
        let missed: Vec<Message> = backlog.messages.into_iter().filter(|m| !m.author.bot).collect();
        if missed.is_empty() {
            return;
        }
        tracing::info!(messages = missed.len(), "catching up on messages posted while the bot had no session");
        let channel_name = match channel_name {
            Some(name) => Some(name),
            None => self.channel_name(channel).await,
        };
        let names: HashMap<u64, String> = channel_name.map(|n| (self.channel_id, n)).into_iter().collect();
        for message in missed {
            let mut incoming = incoming(&message, &names);
            incoming.guild_id = incoming.guild_id.or(guild_id);
            let span = caught_up_span(&incoming);
            self.created(incoming, None).instrument(span).await;
        }
    }

    /// The channel's name, read through REST (messages read back do not carry it).
    async fn channel_name(&self, channel: Id<ChannelMarker>) -> Option<String> {
        match self.with_retry("reading the channel", || self.http.channel(channel).into_future()).await {
            Ok(response) => response.model().await.ok().and_then(|c| c.name),
            Err(error) => {
                tracing::debug!(error = %error, "cannot read the channel's name");
                None
            }
        }
    }

    /// Sends a reply, split to Discord's limit, pinging nobody, the first part as a reply to the command.
    async fn reply(&self, to: &IncomingMessage, text: &str) {
        let channel: Id<ChannelMarker> = match Id::new_checked(to.channel_id) {
            Some(id) => id,
            None => return,
        };
        let reply_to: Option<Id<MessageMarker>> = Id::new_checked(to.message_id);
        for (i, chunk) in split_message(text, DISCORD_MESSAGE_LIMIT).iter().enumerate() {
            let reference = if i == 0 { reply_to } else { None };
            if let Err(error) = self.send(channel, chunk, reference).await {
                tracing::error!(error = %error, "cannot send a reply; giving up on it");
                return;
            }
        }
    }

    async fn send(
        &self,
        channel: Id<ChannelMarker>,
        content: &str,
        reply_to: Option<Id<MessageMarker>>,
    ) -> Result<(), twilight_http::Error> {
        let no_pings = AllowedMentions::default();
        self.with_retry("reply", || {
            let mut request = self.http.create_message(channel).content(content).allowed_mentions(Some(&no_pings));
            if let Some(reply_to) = reply_to {
                request = request.reply(reply_to).fail_if_not_exists(false);
            }
            async move { request.await.map(drop) }
        })
        .await
    }

    /// Runs a REST call, retrying it as the policy says.
    async fn with_retry<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, twilight_http::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, twilight_http::Error>>,
    {
        let mut retry = 0;
        loop {
            let error = match call().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match self.retry.delay(retry, verdict(&error)) {
                Some(delay) => {
                    tracing::warn!(error = %error, retry = retry + 1, delay_ms = delay.as_millis() as u64, "{what} failed; retrying");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                None => return Err(error),
            }
        }
    }
}

/// Whether a failed REST call is worth retrying.
///
/// twilight-http resends a 429ed request itself, after the rate limiter's wait; a 429 reaching this point is
/// honoured too. An error answer whose body is not Discord's JSON (`ErrorType::Parsing`) comes from the
/// infrastructure in front of the API: a load balancer's HTML page for a 502, 503 or 504, or an empty 503. twilight
/// keeps only the body of such an answer, not its status, so it counts as transient: the retries are bounded, and
/// Discord's own 4xx answers always carry JSON (they are `ErrorType::Response` and are not retried).
fn verdict(error: &twilight_http::Error) -> Verdict {
    match error.kind() {
        ErrorType::RequestError | ErrorType::RequestTimedOut | ErrorType::RequestCanceled => Verdict::Transient,
        ErrorType::Parsing { .. } => Verdict::Transient,
        ErrorType::Response { status, error, .. } => {
            if status.get() == 429 {
                match error {
                    DiscordApiError::Ratelimited(limited) => Verdict::RateLimited(limited.retry_after),
                    _ => Verdict::RateLimited(1.0),
                }
            } else if status.is_server_error() {
                Verdict::Transient
            } else {
                Verdict::Permanent
            }
        }
        _ => Verdict::Permanent,
    }
}

/// A Discord message as the handler sees it.
fn incoming(message: &Message, channel_names: &HashMap<u64, String>) -> IncomingMessage {
    let member = message.member.as_ref();
    let display_name = member
        .and_then(|m| m.nick.clone())
        .or_else(|| message.author.global_name.clone())
        .unwrap_or_else(|| message.author.name.clone());
    let roles = member.map(|m| m.roles.iter().map(|r| RoleId(r.get())).collect()).unwrap_or_default();
    IncomingMessage {
        message_id: message.id.get(),
        channel_id: message.channel_id.get(),
        guild_id: message.guild_id.map(Id::get),
        channel_name: channel_names.get(&message.channel_id.get()).cloned(),
        author: Actor { user_id: UserId(message.author.id.get()), display_name, roles },
        author_is_bot: message.author.bot,
        content: message.content.clone(),
        attachments: message
            .attachments
            .iter()
            .map(|a| Attachment {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                url: a.url.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug() {
        let config = BotConfig::new(BotToken::new("super-secret-token-value"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("super-secret-token-value"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn only_servers_on_this_machine_lift_discords_overall_limit() {
        let local = [
            "http://127.0.0.1:9000",
            "http://127.8.9.10:9000/",
            "http://localhost:9000",
            "http://LOCALHOST",
            "https://localhost",
            "http://[::1]:9000",
            "http://[::ffff:127.0.0.1]:9000",
        ];
        for url in local {
            assert_eq!(pacing_for(Some(url)), Pacing::LocalServer, "{url}");
        }
        let remote = [
            "https://discord-proxy.example.com",
            "http://10.0.0.5:9000",
            "http://192.168.1.2",
            "http://128.0.0.1:9000",
            "http://localhost.example.com:9000",
            "http://127.0.0.1.nip.io:9000",
            "http://[::2]:9000",
            "ftp://127.0.0.1",
            "http://127.0.0.1:9000/api",
        ];
        for url in remote {
            assert_eq!(pacing_for(Some(url)), Pacing::Discord, "{url}");
        }
        assert_eq!(pacing_for(None), Pacing::Discord, "Discord itself");
    }

    #[test]
    fn api_urls_become_twilight_proxies() {
        assert_eq!(proxy_of("http://127.0.0.1:9000").unwrap(), ("127.0.0.1:9000".to_owned(), true));
        assert_eq!(proxy_of("https://proxy.example.com/").unwrap(), ("proxy.example.com".to_owned(), false));
        assert!(proxy_of("ftp://x").is_err());
        assert!(proxy_of("http://host/api/v10").is_err());
        assert!(proxy_of("http://").is_err());
    }
}
