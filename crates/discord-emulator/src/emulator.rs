//! The [`Emulator`] handle: start, addresses, scripted users, faults, records and waits.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{EmulatorConfig, GuildSpec, UserSpec};
use crate::error::EmulatorError;
use crate::faults::{FaultResponse, GatewayFault, RestFault, RouteFilter};
use crate::ids::{ChannelId, GuildId, MessageId, UserId, unix_millis_now};
use crate::model::{AttachmentSpec, GatewayStats, MessageEvent, RestCall, SentMessage, SessionInfo, StoredMessage};
use crate::state::{CommandScope, NewMessage, Shared, parse_mentions};
use crate::{clock, gateway, rest};

/// A running local Discord: a gateway listener and a REST listener on 127.0.0.1.
///
/// Dropping it (or calling [`Emulator::shutdown`]) stops the listeners and closes every connection.
/// Share it between tasks with an `Arc`.
pub struct Emulator {
    pub(crate) shared: Arc<Shared>,
    gateway_addr: SocketAddr,
    rest_addr: SocketAddr,
    listeners: Mutex<Vec<JoinHandle<()>>>,
    done: tokio::sync::Mutex<Option<mpsc::Receiver<()>>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("gateway", &self.gateway_addr)
            .field("rest", &self.rest_addr)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds both listeners on 127.0.0.1 (port 0 unless configured) and starts serving.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Bind`] when a listener cannot be bound.
    pub async fn start(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let gateway = TcpListener::bind(("127.0.0.1", config.gateway_port))
            .await
            .map_err(|source| EmulatorError::Bind { listener: "gateway", source })?;
        let rest = TcpListener::bind(("127.0.0.1", config.rest_port))
            .await
            .map_err(|source| EmulatorError::Bind { listener: "rest", source })?;
        let gateway_addr =
            gateway.local_addr().map_err(|source| EmulatorError::Bind { listener: "gateway", source })?;
        let rest_addr = rest.local_addr().map_err(|source| EmulatorError::Bind { listener: "rest", source })?;
        let shared = Arc::new(Shared::new(config, format!("ws://{gateway_addr}"), format!("http://{rest_addr}")));
        let (done_tx, done_rx) = mpsc::channel(1);
        let listeners = vec![
            tokio::spawn(gateway::run_listener(Arc::clone(&shared), gateway, done_tx.clone())),
            tokio::spawn(rest::run_listener(Arc::clone(&shared), rest, done_tx)),
        ];
        tracing::debug!(%gateway_addr, %rest_addr, "discord emulator started");
        Ok(Self {
            shared,
            gateway_addr,
            rest_addr,
            listeners: Mutex::new(listeners),
            done: tokio::sync::Mutex::new(Some(done_rx)),
        })
    }

    /// The gateway URL without a trailing slash, for twilight's `ConfigBuilder::proxy_url`, e.g. `ws://127.0.0.1:40123`.
    #[must_use]
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url.clone()
    }

    /// `127.0.0.1:PORT` of the REST listener, for twilight's `ClientBuilder::proxy(addr, true)`.
    #[must_use]
    pub fn rest_addr(&self) -> String {
        self.rest_addr.to_string()
    }

    /// `http://127.0.0.1:PORT`, the base of the REST routes (`/api/v10/...`) and of attachment URLs.
    #[must_use]
    pub fn http_base_url(&self) -> String {
        self.shared.http_base.clone()
    }

    /// The bot token the emulator accepts (without `Bot `).
    #[must_use]
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The bot's user id.
    #[must_use]
    pub fn bot_id(&self) -> UserId {
        self.shared.lock().config.bot.id
    }

    /// Stops accepting, closes every connection (gateway clients get close code 1001) and waits for the tasks
    /// (at most a few seconds). Calling it again does nothing.
    pub async fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        let listeners = std::mem::take(&mut *self.listeners.lock().unwrap_or_else(PoisonError::into_inner));
        for listener in listeners {
            let _ = listener.await;
        }
        if let Some(mut done) = self.done.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), done.recv()).await;
        }
    }

    // ----- scripted users -----

    /// A scripted user posts a message: it joins the channel's history and every session gets MESSAGE_CREATE.
    /// Mentions written as `<@id>`, `<@&id>`, `@everyone` fill `mentions`, `mention_roles` and `mention_everyone`.
    ///
    /// Like Discord, only sessions that exist get the event: wait for READY ([`Self::wait_for_ready`]) before
    /// posting, or let the bot catch up through `GET /channels/{id}/messages`.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::UnknownChannel`] or [`EmulatorError::UnknownUser`] when they are not configured.
    pub fn post_message(
        &self,
        channel: ChannelId,
        author: UserId,
        content: impl Into<String>,
        attachments: Vec<AttachmentSpec>,
    ) -> Result<MessageId, EmulatorError> {
        self.post(channel, author, content.into(), attachments, None)
    }

    /// A scripted user replies to a message (type 19, with `message_reference` and `referenced_message`).
    ///
    /// # Errors
    ///
    /// As [`Self::post_message`], plus [`EmulatorError::UnknownMessage`] when the replied message does not exist.
    pub fn post_reply(
        &self,
        channel: ChannelId,
        author: UserId,
        reply_to: MessageId,
        content: impl Into<String>,
    ) -> Result<MessageId, EmulatorError> {
        self.shared.lock().message(channel, reply_to)?;
        self.post(channel, author, content.into(), Vec::new(), Some(reply_to))
    }

    fn post(
        &self,
        channel: ChannelId,
        author: UserId,
        content: String,
        attachments: Vec<AttachmentSpec>,
        reply_to: Option<MessageId>,
    ) -> Result<MessageId, EmulatorError> {
        let mut state = self.shared.lock();
        let (users, roles, everyone) = parse_mentions(&content);
        let mut mentioned_users: Vec<UserId> = users.into_iter().filter(|u| state.user(*u).is_some()).collect();
        if let Some(replied) = reply_to.and_then(|r| state.message(channel, r).ok())
            && !mentioned_users.contains(&replied.author_id)
        {
            mentioned_users.push(replied.author_id);
        }
        let new = NewMessage {
            content,
            attachments,
            embeds: Vec::new(),
            reply_to,
            mentioned_users,
            mentioned_roles: roles,
            mention_everyone: everyone,
        };
        let message = state.insert_message(channel, author, new)?;
        self.shared.publish_created(&message, state);
        Ok(message.id)
    }

    /// A message is edited (anyone's, the bot's included): new content, `edited_timestamp` set, MESSAGE_UPDATE
    /// with the full message.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::UnknownChannel`] or [`EmulatorError::UnknownMessage`].
    pub fn edit_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        content: impl Into<String>,
    ) -> Result<(), EmulatorError> {
        let mut state = self.shared.lock();
        let mut updated = state.message(channel, message)?.clone();
        updated.content = content.into();
        let (users, roles, everyone) = parse_mentions(&updated.content);
        updated.mentioned_users = users.into_iter().filter(|u| state.user(*u).is_some()).collect();
        updated.mentioned_roles = roles;
        updated.mention_everyone = everyone;
        updated.edited_timestamp = Some(clock::format_timestamp(unix_millis_now()));
        // Like Discord, the event carries freshly signed attachment URLs (new `is`, `ex` and `hm`; same path).
        let issued = unix_millis_now() / 1000;
        for attachment in &mut updated.attachments {
            attachment.url = state.signed_url(channel, attachment.id, &attachment.filename, issued);
        }
        if let Some(slot) = state.channels.get_mut(&channel).and_then(|c| c.messages.get_mut(&message)) {
            *slot = updated.clone();
        }
        self.shared.publish_updated(&updated, state);
        Ok(())
    }

    /// Sends MESSAGE_UPDATE for an existing message as if `author` had written it, with new content; nothing stored
    /// changes. Discord never sends such an event (only a message's author can edit it): it checks that a bot trusts
    /// an edit of a message only from that message's author as it knows it.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::UnknownChannel`], [`EmulatorError::UnknownMessage`] or [`EmulatorError::UnknownUser`].
    pub fn forge_message_update(
        &self,
        channel: ChannelId,
        message: MessageId,
        author: UserId,
        content: impl Into<String>,
    ) -> Result<(), EmulatorError> {
        let state = self.shared.lock();
        let mut forged = state.message(channel, message)?.clone();
        if state.user(author).is_none() {
            return Err(EmulatorError::UnknownUser(author));
        }
        forged.author_id = author;
        forged.content = content.into();
        forged.edited_timestamp = Some(clock::format_timestamp(unix_millis_now()));
        self.shared.publish_updated(&forged, state);
        Ok(())
    }

    /// A message is deleted: it leaves the history, its attachments stop being served, sessions get MESSAGE_DELETE.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::UnknownChannel`] or [`EmulatorError::UnknownMessage`].
    pub fn delete_message(&self, channel: ChannelId, message: MessageId) -> Result<(), EmulatorError> {
        let mut state = self.shared.lock();
        let guild = state.channel(channel)?.guild_id;
        let removed = state
            .channels
            .get_mut(&channel)
            .and_then(|c| c.messages.remove(&message))
            .ok_or(EmulatorError::UnknownMessage { channel, message })?;
        for attachment in &removed.attachments {
            state.blobs.remove(&attachment.id);
        }
        self.shared.publish_deleted(channel, guild, message, state);
        Ok(())
    }

    /// How a client would show the user in the guild: nickname, else global name, else user name.
    /// `None` for users the emulator does not know.
    #[must_use]
    pub fn display_name(&self, user: UserId) -> Option<String> {
        self.shared.lock().user(user).map(|u| u.nick.or(u.global_name).unwrap_or(u.username))
    }

    /// The scripted users, by id.
    #[must_use]
    pub fn users(&self) -> Vec<UserSpec> {
        self.shared.lock().users.values().cloned().collect()
    }

    /// The guilds with their channels and roles, as configured.
    #[must_use]
    pub fn guilds(&self) -> Vec<GuildSpec> {
        self.shared.lock().config.guilds.clone()
    }

    /// Adds (or replaces) a scripted user while running.
    pub fn add_user(&self, user: UserSpec) {
        self.shared.lock().users.insert(user.id, user);
    }

    /// The channel's history, oldest first (scripted users' and the bot's messages, current state).
    ///
    /// # Errors
    ///
    /// [`EmulatorError::UnknownChannel`].
    pub fn channel_messages(&self, channel: ChannelId) -> Result<Vec<StoredMessage>, EmulatorError> {
        Ok(self.shared.lock().channel(channel)?.messages.values().cloned().collect())
    }

    /// Live message activity in every channel (for a console that shows the bot's replies as they come).
    #[must_use]
    pub fn subscribe_messages(&self) -> broadcast::Receiver<MessageEvent> {
        self.shared.activity.subscribe()
    }

    // ----- gateway faults -----

    fn gateway_fault(&self, fault: GatewayFault) -> usize {
        self.shared.faults.send(fault).unwrap_or(0)
    }

    /// Drops the TCP connection of every open gateway connection, without a close frame.
    /// twilight reconnects at once to `resume_gateway_url` and RESUMEs. Returns the number of connections hit.
    pub fn drop_gateway_connections(&self) -> usize {
        self.gateway_fault(GatewayFault::Drop)
    }

    /// Sends op 7 RECONNECT to every open connection (twilight closes with 4000 and RESUMEs).
    pub fn send_reconnect(&self) -> usize {
        self.gateway_fault(GatewayFault::Reconnect)
    }

    /// Sends op 9 INVALID_SESSION to every open connection. With `resumable == false` the session is also
    /// invalidated, and twilight closes with 1000 and IDENTIFYs anew (a new session, events in between are lost,
    /// as on Discord).
    pub fn send_invalid_session(&self, resumable: bool) -> usize {
        self.gateway_fault(GatewayFault::InvalidSession(resumable))
    }

    /// Stops ACKing heartbeats and sending dispatches on the open connections for `duration` (held events stay
    /// in the session). twilight sees no ACK before its next heartbeat, declares the connection zombied and RESUMEs;
    /// the held events are then replayed.
    pub fn stall_heartbeat_acks(&self, duration: Duration) -> usize {
        self.gateway_fault(GatewayFault::Stall(duration))
    }

    /// Closes every open connection with a close frame of this code (e.g. 4000 to make twilight resume, 4009 for
    /// a timed-out session; 4004 and 4010-4014 are fatal for twilight). Codes a close frame cannot carry are
    /// ignored.
    pub fn close_gateway_connections(&self, code: u16) -> usize {
        self.gateway_fault(GatewayFault::Close(code))
    }

    /// Makes every known session unresumable: the next RESUME gets op 9 `d: false`. Open connections stay open.
    pub fn invalidate_sessions(&self) -> usize {
        let count = self.shared.lock().invalidate_all_sessions();
        self.shared.gateway_touched();
        count
    }

    // ----- gateway observation -----

    /// Gateway counters so far.
    #[must_use]
    pub fn gateway_stats(&self) -> GatewayStats {
        self.shared.lock().stats.clone()
    }

    /// The sessions the emulator knows (connected ones and resumable detached ones).
    #[must_use]
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.lock().session_infos()
    }

    /// Waits until a READY has been written to a client.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Timeout`] when none was within `timeout`.
    pub async fn wait_for_ready(&self, timeout: Duration) -> Result<GatewayStats, EmulatorError> {
        self.wait_for_gateway(timeout, "READY", |s| s.ready_sent >= 1).await
    }

    /// Waits until the gateway counters satisfy `condition`, e.g. `|s| s.resumes >= 1`; returns them.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Timeout`] (naming `what` and the last counters) when `condition` did not hold in time.
    pub async fn wait_for_gateway(
        &self,
        timeout: Duration,
        what: &str,
        mut condition: impl FnMut(&GatewayStats) -> bool,
    ) -> Result<GatewayStats, EmulatorError> {
        let shared = &self.shared;
        wait_until(
            shared.gateway_changed.subscribe(),
            timeout,
            || format!("{what} (gateway stats: {:?})", shared.lock().stats),
            || {
                let stats = shared.lock().stats.clone();
                condition(&stats).then_some(stats)
            },
        )
        .await
    }

    // ----- REST faults -----

    /// Queues a REST fault; faults apply in the order queued, each to its next `times` matching API calls.
    pub fn inject_rest_fault(&self, fault: RestFault) {
        if fault.times > 0 {
            self.shared.lock().rest_faults.push_back(fault);
        }
    }

    /// The next `times` API calls answer 500.
    pub fn fail_next_rest_calls(&self, times: u32) {
        self.inject_rest_fault(RestFault::new(FaultResponse::ServerError, times));
    }

    /// The next `times` API calls matching `route` answer 500.
    pub fn fail_next_rest_calls_matching(&self, times: u32, route: RouteFilter) {
        self.inject_rest_fault(RestFault::new(FaultResponse::ServerError, times).matching(route));
    }

    /// The next `times` API calls answer 429 with `retry_after` (see [`FaultResponse::RateLimited`]).
    pub fn rate_limit_next_rest_calls(&self, times: u32, retry_after: Duration) {
        self.inject_rest_fault(RestFault::new(FaultResponse::RateLimited { retry_after }, times));
    }

    /// Every API answer is delayed by `delay` from now on (`Duration::ZERO` turns it off).
    pub fn set_rest_delay(&self, delay: Duration) {
        self.shared.lock().rest_delay = delay;
    }

    /// Forgets queued REST faults and the delay.
    pub fn clear_rest_faults(&self) {
        let mut state = self.shared.lock();
        state.rest_faults.clear();
        state.rest_delay = Duration::ZERO;
    }

    // ----- REST records -----

    /// Every request the REST listener answered, in order.
    #[must_use]
    pub fn rest_calls(&self) -> Vec<RestCall> {
        self.shared.lock().rest_calls.clone()
    }

    /// Forgets the recorded REST calls and sent messages (long benchmarks call it to bound memory).
    /// Channel histories are kept.
    pub fn clear_rest_records(&self) {
        let mut state = self.shared.lock();
        state.rest_calls.clear();
        state.sent.clear();
    }

    /// The application commands registered for `guild`, or the global ones, as the emulator stored them (with
    /// their ids).
    #[must_use]
    pub fn registered_commands(&self, guild: Option<GuildId>) -> Vec<serde_json::Value> {
        let scope = guild.map_or(CommandScope::Global, |g| CommandScope::Guild(g.get()));
        self.shared.lock().commands.get(&scope).cloned().unwrap_or_default()
    }

    /// How many bulk overwrites of application commands the bot made (global and guild ones together).
    #[must_use]
    pub fn command_overwrites(&self) -> usize {
        self.shared.lock().command_overwrites
    }

    /// The bot's successfully created messages in `channel`, in order.
    #[must_use]
    pub fn sent_messages(&self, channel: ChannelId) -> Vec<SentMessage> {
        self.shared.lock().sent.iter().filter(|m| m.channel_id == channel).cloned().collect()
    }

    /// The bot's successfully created messages in every channel, in order.
    #[must_use]
    pub fn all_sent_messages(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }

    /// How many messages the bot has created in every channel since the records were last cleared: a cheap poll
    /// for benchmarks, which must not copy every record while the bot works.
    #[must_use]
    pub fn sent_message_count(&self) -> usize {
        self.shared.lock().sent.len()
    }

    /// Waits until the bot has created at least `count` messages in `channel`; returns all of them.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Timeout`] (with the messages seen so far) when fewer arrived within `timeout`.
    pub async fn wait_for_sent_messages(
        &self,
        channel: ChannelId,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<SentMessage>, EmulatorError> {
        wait_until(
            self.shared.rest_changed.subscribe(),
            timeout,
            || {
                let seen: Vec<String> = self.sent_messages(channel).into_iter().map(|m| m.content).collect();
                format!("{count} bot message(s) in channel {channel}; got {seen:?}")
            },
            || {
                // Count first: cloning every record on every wake would be quadratic in long benchmarks.
                let state = self.shared.lock();
                let seen = state.sent.iter().filter(|m| m.channel_id == channel).count();
                (seen >= count).then(|| state.sent.iter().filter(|m| m.channel_id == channel).cloned().collect())
            },
        )
        .await
    }

    /// Waits until a REST call satisfying `condition` has been answered; returns the first such call.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Timeout`] naming `what` when none came within `timeout`.
    pub async fn wait_for_rest_call(
        &self,
        timeout: Duration,
        what: &str,
        mut condition: impl FnMut(&RestCall) -> bool,
    ) -> Result<RestCall, EmulatorError> {
        wait_until(
            self.shared.rest_changed.subscribe(),
            timeout,
            || format!("REST call: {what}"),
            || self.shared.lock().rest_calls.iter().find(|c| condition(c)).cloned(),
        )
        .await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
        for listener in self.listeners.get_mut().unwrap_or_else(PoisonError::into_inner).iter() {
            listener.abort();
        }
    }
}

/// Re-checks `check` each time `changes` ticks, until it yields a value or `timeout` passes. Never spins.
pub(crate) async fn wait_until<T>(
    mut changes: watch::Receiver<u64>,
    timeout: Duration,
    what: impl FnOnce() -> String,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, EmulatorError> {
    let deadline = crate::state::deadline(timeout);
    loop {
        changes.borrow_and_update();
        if let Some(value) = check() {
            return Ok(value);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(EmulatorError::ShutDown),
            Err(_) => {
                return Err(EmulatorError::Timeout { what: what(), timeout });
            }
        }
    }
}
