//! The gateway: the shard, and the loop over its events (session and channel bookkeeping, dispatch to the channel
//! workers, the connection state recorded for `/health`, a clean shutdown).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use service::BotState;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{Instrument as _, Span};
use twilight_gateway::{
    CloseFrame, ConfigBuilder, Event, EventTypeFlags, Intents, Session, Shard, ShardId, StreamExt as _,
};
use twilight_http::Client;
use twilight_model::channel::Message;
use twilight_model::id::Id;

use super::config::{BotConfig, BotError};
use super::convert::incoming;
use super::interactions::Interactions;
use super::register::register;
use super::rest::http_client;
use super::spans::event_span;
use super::worker::{ChannelWorker, Job, Work};
use core_model::{ChannelProgress, KnownChannels, StoredSession};

use crate::catch_up::LookBack;
use crate::handler::{CommandHandler, IncomingMessage};
use crate::session::{self, EventMark, SessionProgress};
use crate::slash;

/// The shard; with a session stored by a previous run, it first tries to resume it (Discord answers with the events
/// after its sequence, or refuses and the shard identifies anew).
fn shard(config: &BotConfig, resume: Option<StoredSession>) -> Shard {
    let intents = config.intents().into_iter().fold(Intents::empty(), |all, requested| all | requested.intent);
    let mut builder = ConfigBuilder::new(config.token.expose().to_owned(), intents);
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
    let interactions = Interactions {
        http: Arc::clone(&http),
        handler: handler.clone(),
        retry: config.retry,
        waiting_charts: Arc::default(),
    };
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
        interactions,
    };
    // The slash commands are checked with Discord once a run, beside the gateway (a resumed session brings no READY).
    let guilds = runtime.handler.listening().guilds.clone();
    let wanted = slash::definitions(&runtime.handler.service().policy().roster);
    let (http, retry) = (Arc::clone(&runtime.http), runtime.config.retry);
    runtime.tasks.spawn(async move { register(&http, retry, &guilds, &wanted).await });
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
        | EventTypeFlags::INTERACTION_CREATE
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
    /// What answers interactions (each in a task of its own, with a clone).
    interactions: Interactions,
}

/// The session the previous run saved, when it belongs to this gateway.
async fn stored_session(handler: &CommandHandler, gateway: &str) -> Option<StoredSession> {
    let (stored, saved_at) = match handler.service().stored_session().await {
        Ok(stored) => stored?,
        Err(error) => {
            tracing::warn!(error = %error, "cannot read the saved gateway session; starting a new one");
            return None;
        }
    };
    let stored = Some(stored).filter(|s| s.gateway == gateway)?;
    tracing::info!(
        sequence = stored.sequence,
        saved_at = %saved_at,
        "resuming the gateway session of the previous run after the last event it handled"
    );
    Some(stored)
}

/// The channels handled in by earlier runs.
async fn known_channels(handler: &CommandHandler) -> KnownChannels {
    match handler.service().known_channels().await {
        Ok(known) => known,
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
        match self.handler.service().save_session(&stored).await {
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
        if let Err(error) = self.handler.service().save_known_channels(&self.known_channels).await {
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
                if self.config.catch_up_limit > 0 && self.config.prefix_commands {
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
                    return Err(BotError::GatewayRefused { code: frame.code, reason: frame.reason.to_string() });
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
            Event::InteractionCreate(interaction) => {
                // Finished answers leave the set here, so that a long run does not keep one entry per interaction.
                while self.tasks.try_join_next().is_some() {}
                let interactions = self.interactions.clone();
                let mark = self.mark();
                self.tasks.spawn(
                    async move {
                        interactions.answer(interaction.0).await;
                        drop(mark);
                    }
                    .instrument(span.clone()),
                );
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

    /// Messages from bots (this one included), from places the bot does not listen in, and every message when prefix
    /// commands are off, are dropped here, before any worker sees them.
    fn ignores(&self, message: &Message) -> bool {
        let ignored = !self.config.prefix_commands
            || message.author.bot
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
                unsaved: None,
                unsaved_marks: Vec::new(),
            };
            self.tasks.spawn(worker.run(receiver));
            sender
        });
        if sender.send(Job { work, span: span.clone(), mark }).is_err() {
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
