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
use twilight_gateway::{CloseFrame, ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _};
use twilight_http::Client;
use twilight_http::api_error::ApiError as DiscordApiError;
use twilight_http::error::ErrorType;
use twilight_http_ratelimiting::RateLimiter;
use twilight_model::channel::Message;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, MessageMarker};

use crate::handler::{CommandHandler, IncomingMessage};
use crate::retry::{RetryPolicy, Verdict};
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
    /// At most this many messages per channel are read back after a new session (0 turns catch-up off).
    pub catch_up_limit: usize,
    /// Channels read back after a new session even before a message arrived in them this run.
    pub watched_channels: Vec<u64>,
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
            watched_channels: Vec::new(),
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

fn shard(config: &BotConfig) -> Shard {
    let intents = Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT | Intents::DIRECT_MESSAGES;
    let mut builder = ConfigBuilder::new(config.token.0.clone(), intents);
    if let Some(url) = &config.gateway_url {
        builder = builder.proxy_url(url.trim_end_matches('/').to_owned());
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
    /// gateway does not replay what was posted in between).
    CatchUp {
        guild_id: Option<u64>,
        channel_name: Option<String>,
    },
}

/// Work with the root span of the gateway event it came from: the worker does it inside that span.
struct Job {
    work: Work,
    span: Span,
}

/// Status key holding the id of the last message handled in a channel.
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

/// Runs the bot until `shutdown` completes (then closes the gateway cleanly and lets the channel workers finish) or
/// until the gateway closes for good.
///
/// # Errors
/// [`BotError`] when the configuration is unusable or Discord refuses the bot for good.
pub async fn run(
    config: BotConfig,
    handler: CommandHandler,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BotError> {
    let http = Arc::new(http_client(&config)?);
    let mut shard = shard(&config);
    let mut runtime = Runtime {
        http,
        handler,
        config,
        channel_names: HashMap::new(),
        channel_guilds: HashMap::new(),
        workers: HashMap::new(),
        tasks: JoinSet::new(),
        connected: false,
    };
    let mut status_timer = tokio::time::interval(runtime.config.status_every);
    status_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
            item = shard.next_event(wanted) => {
                let event = match item {
                    None => break Err(BotError::GatewayClosed("the connection ended".to_owned())),
                    Some(Err(error)) => {
                        tracing::warn!(error = %error, "cannot read a gateway event");
                        continue;
                    }
                    Some(Ok(event)) => event,
                };
                let span = event_span(&event);
                if let Err(error) = runtime.on_event(event, &span).instrument(span.clone()).await {
                    break Err(error);
                }
            }
        }
    };
    // Close the gateway cleanly and let every queued command finish, within the grace period.
    shard.close(CloseFrame::NORMAL);
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
    let Runtime { workers, mut tasks, handler, .. } = runtime;
    drop(workers);
    if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
        tracing::warn!(left = tasks.len(), "stopping with commands still being handled");
        tasks.abort_all();
    }
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
}

impl Runtime {
    /// Handles one gateway event; `span` is its root span, which the jobs it creates carry to the workers.
    async fn on_event(&mut self, event: Event, span: &Span) -> Result<(), BotError> {
        match event {
            Event::Ready(ready) => {
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                self.connected = true;
                record(&self.handler, BotState::Connected).await;
                // A new session: what was posted while there was none is not replayed by the gateway.
                if self.config.catch_up_limit > 0 {
                    let mut channels: Vec<u64> = self.workers.keys().copied().collect();
                    channels.extend(self.config.watched_channels.iter().copied());
                    channels.sort_unstable();
                    channels.dedup();
                    for channel_id in channels {
                        let work = Work::CatchUp {
                            guild_id: self.channel_guilds.get(&channel_id).copied(),
                            channel_name: self.channel_names.get(&channel_id).cloned(),
                        };
                        self.dispatch(channel_id, work, span);
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
                self.dispatch(incoming.channel_id, Work::Created(incoming), span);
            }
            Event::MessageUpdate(message) => {
                if self.ignores(&message) {
                    return Ok(());
                }
                let incoming = incoming(&message, &self.channel_names);
                self.dispatch(incoming.channel_id, Work::Updated(incoming), span);
            }
            Event::MessageDelete(deleted) => {
                let (guild_id, channel_id) = (deleted.guild_id.map(Id::get), deleted.channel_id.get());
                if !self.handler.listening().includes(guild_id, channel_id) {
                    return Ok(());
                }
                let work = Work::Deleted { guild_id, channel_id, message_id: deleted.id.get() };
                self.dispatch(channel_id, work, span);
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

    /// Hands work to its channel's worker, starting the worker when the channel has none yet.
    fn dispatch(&mut self, channel_id: u64, work: Work, span: &Span) {
        let sender = self.workers.entry(channel_id).or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            let worker = ChannelWorker {
                http: Arc::clone(&self.http),
                handler: self.handler.clone(),
                retry: self.config.retry,
                channel_id,
                cursor: None,
                catch_up_limit: self.config.catch_up_limit,
            };
            self.tasks.spawn(worker.run(receiver));
            sender
        });
        if sender.send(Job { work, span: span.clone() }).is_err() {
            tracing::error!(channel_id, "a channel worker stopped; the message is dropped");
        }
    }
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
    /// Id of the last message handled in the channel (message ids grow with time).
    cursor: Option<u64>,
    catch_up_limit: usize,
}

impl ChannelWorker {
    async fn run(mut self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        self.cursor = match self.handler.service().status(&cursor_key(self.channel_id)).await {
            Ok(record) => record.and_then(|r| r.value.parse().ok()),
            Err(error) => {
                tracing::warn!(error = %error, channel_id = self.channel_id, "cannot read where this channel was left");
                None
            }
        };
        while let Some(Job { work, span }) = jobs.recv().await {
            self.work(work).instrument(span).await;
        }
    }

    async fn work(&mut self, work: Work) {
        match work {
            Work::Created(message) => self.created(message).await,
            Work::Updated(message) => {
                if let Some(reply) = self.handler.on_message_edit(&message).await {
                    self.reply(&message, &reply).await;
                }
            }
            Work::Deleted { guild_id, channel_id, message_id } => {
                self.handler.on_message_delete(guild_id, channel_id, message_id).await;
            }
            Work::CatchUp { guild_id, channel_name } => self.catch_up(guild_id, channel_name).await,
        }
    }

    /// Handles a new message once: a message at or before the cursor was handled already (it came again through a
    /// replay or a catch-up).
    async fn created(&mut self, message: IncomingMessage) {
        if self.cursor.is_some_and(|cursor| message.message_id <= cursor) {
            tracing::debug!(message_id = message.message_id, "already handled");
            return;
        }
        let reply = self.handler.on_message(&message).await;
        self.cursor = Some(message.message_id);
        let key = cursor_key(self.channel_id);
        if let Err(error) = self.handler.service().record_status(&key, &message.message_id.to_string()).await {
            tracing::warn!(error = %error, "cannot record the last message handled");
        }
        if let Some(reply) = reply {
            self.reply(&message, &reply).await;
        }
    }

    /// Reads the messages posted after the cursor (oldest first, at most the configured number) and handles each
    /// in its own root span.
    async fn catch_up(&mut self, guild_id: Option<u64>, channel_name: Option<String>) {
        let (Some(cursor), Some(channel)) = (self.cursor, Id::<ChannelMarker>::new_checked(self.channel_id)) else {
            return;
        };
        let mut after = cursor;
        let mut missed: Vec<Message> = Vec::new();
        while missed.len() < self.catch_up_limit {
            let Some(after_id) = Id::<MessageMarker>::new_checked(after) else { break };
            let request = || self.http.channel_messages(channel).after(after_id).limit(100).into_future();
            let page = match self.with_retry("reading the channel", request).await {
                Ok(response) => match response.models().await {
                    Ok(page) => page,
                    Err(error) => {
                        tracing::warn!(error = %error, "cannot read the channel's messages");
                        break;
                    }
                },
                Err(error) => {
                    tracing::warn!(error = %error, "cannot read the channel's messages");
                    break;
                }
            };
            let Some(newest) = page.iter().map(|m| m.id.get()).max() else { break };
            let full = page.len() == 100;
            missed.extend(page);
            after = newest;
            if !full {
                break;
            }
        }
        missed.sort_by_key(|m| m.id.get());
        missed.truncate(self.catch_up_limit);
        if !missed.is_empty() {
            tracing::info!(messages = missed.len(), "catching up on messages posted while disconnected");
        }
        let names: HashMap<u64, String> = channel_name.map(|n| (self.channel_id, n)).into_iter().collect();
        for message in missed {
            let mut incoming = incoming(&message, &names);
            incoming.guild_id = incoming.guild_id.or(guild_id);
            let span = caught_up_span(&incoming);
            self.created(incoming).instrument(span).await;
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
