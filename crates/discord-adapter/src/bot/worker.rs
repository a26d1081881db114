//! A channel's worker: the commands of one channel, handled in order (new, edited and deleted messages, and the
//! catch-up after a new session), with the channel's cursor, and the replies, split and retried.

use std::collections::HashMap;
use std::future::{Future, IntoFuture as _};
use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::{Instrument as _, Span};
use twilight_http::Client;
use twilight_model::channel::Message;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::id::Id;
use twilight_model::id::marker::{ChannelMarker, MessageMarker};

use super::convert::incoming;
use super::rest::with_retry;
use super::spans::caught_up_span;
use crate::catch_up::{self, LookBack};
use crate::handler::{CommandHandler, IncomingMessage, Outcome};
use crate::retry::RetryPolicy;
use crate::session::EventMark;
use crate::split::{DISCORD_MESSAGE_LIMIT, split_reply};
use core_model::{ChannelProgress, StatusTicket};

/// Work for a channel's worker.
pub(super) enum Work {
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
/// that event, held until the work is done and the channel's progress saved, so that the session is never saved
/// past it.
pub(super) struct Job {
    pub(super) work: Work,
    pub(super) span: Span,
    pub(super) mark: Option<EventMark>,
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

/// The worker of one channel.
pub(super) struct ChannelWorker {
    pub(super) http: Arc<Client>,
    pub(super) handler: CommandHandler,
    pub(super) retry: RetryPolicy,
    pub(super) channel_id: u64,
    /// The last message and the last gateway event handled in the channel.
    pub(super) progress: ChannelProgress,
    pub(super) look_back: LookBack,
    /// The progress noted but not known to be saved yet: the ticket of its record, which rides with the store's next
    /// commit, and the marks of the events it covers.
    pub(super) unsaved: Option<StatusTicket>,
    pub(super) unsaved_marks: Vec<EventMark>,
}

impl ChannelWorker {
    pub(super) async fn run(mut self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        self.progress = match self.handler.service().channel_progress(self.channel_id).await {
            Ok(progress) => progress,
            Err(error) => {
                tracing::warn!(error = %error, channel_id = self.channel_id, "cannot read where this channel was left");
                ChannelProgress::default()
            }
        };
        while let Some(Job { work, span, mark }) = jobs.recv().await {
            async {
                self.work(work, mark).await;
                // With more work queued, the progress rides with the next write (a plan's, say).
                if jobs.is_empty() {
                    self.save_progress().await;
                }
            }
            .instrument(span)
            .await;
        }
        self.save_progress().await;
    }

    async fn work(&mut self, work: Work, mark: Option<EventMark>) {
        if let Some(mark) = mark.as_ref().filter(|m| self.progress.has_handled(m.session_id(), m.sequence())) {
            // A replay, after a restart, of an event the previous run handled after it last saved the session.
            tracing::debug!(sequence = mark.sequence(), "event handled already");
            return;
        }
        match work {
            Work::Created(message) => self.created(message, mark).await,
            Work::Updated(message) => {
                if let Some(outcome) = self.handler.on_message_edit(&message).await {
                    self.answer(&message, outcome).await;
                }
                self.handled(mark).await;
            }
            Work::Deleted { guild_id, channel_id, message_id } => {
                self.handler.on_message_delete(guild_id, channel_id, message_id).await;
                self.handled(mark).await;
            }
            Work::CatchUp { guild_id, channel_name, since } => self.catch_up(guild_id, channel_name, since).await,
        }
    }

    /// Handles a new message once: a message at or before the cursor was handled already (it came again through a
    /// replay or a catch-up). The cursor moves on only once the reply is sent: a bot stopped in between handles the
    /// message again after its restart (a `!plan` is not posted twice; its confirmation is sent again).
    async fn created(&mut self, message: IncomingMessage, mark: Option<EventMark>) {
        if self.progress.cursor.is_some_and(|cursor| message.message_id <= cursor) {
            tracing::debug!(message_id = message.message_id, "already handled");
            return;
        }
        if let Some(outcome) = self.handler.on_message(&message).await {
            self.answer(&message, outcome).await;
        }
        self.progress.cursor = Some(message.message_id);
        self.handled(mark).await;
    }

    /// Notes a message or event as handled. Its record rides with the store's next commit (the next plan's, in a
    /// burst) rather than costing a write of its own; the event's mark is held until it is saved, so that the session
    /// is never saved past an event whose channel's progress is not.
    async fn handled(&mut self, mark: Option<EventMark>) {
        if let Some(mark) = mark {
            self.progress.last_event = Some((mark.session_id().to_owned(), mark.sequence()));
            self.unsaved_marks.push(mark);
        }
        match self.handler.service().defer_channel_progress(self.channel_id, &self.progress).await {
            Ok(Some(ticket)) => self.unsaved = Some(ticket),
            Ok(None) => self.saved(),
            Err(error) => {
                tracing::warn!(error = %error, "cannot record the last message handled");
                self.saved();
            }
        }
    }

    /// Makes sure the progress noted is saved: before any reply (so that a bot stopped at any moment sends at most
    /// one confirmation again: the one whose record it was about to write), when the channel's queue is empty, and
    /// at the end.
    async fn save_progress(&mut self) {
        let Some(ticket) = self.unsaved else { return };
        let service = self.handler.service();
        if !service.channel_progress_saved(ticket)
            && let Err(error) = service.save_channel_progress(self.channel_id, &self.progress).await
        {
            tracing::warn!(error = %error, "cannot record the last message handled");
        }
        self.saved();
    }

    fn saved(&mut self) {
        self.unsaved = None;
        self.unsaved_marks.clear();
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

    /// Tells how a command went; a plan's attached images are copied after its confirmation is sent (a download
    /// never delays it), and a warning follows when some could not be copied.
    async fn answer(&mut self, to: &IncomingMessage, outcome: Outcome) {
        let (outcome, saved) = outcome.into_answer();
        if let Some(reply) = outcome.into_reply() {
            self.save_progress().await;
            self.reply(to, &reply).await;
        }
        if let Some(plan) = saved
            && let Some(warning) = self.handler.archive_charts_after(&plan).await
        {
            self.reply(to, &warning).await;
        }
    }

    /// Sends a reply, split to Discord's limit, pinging nobody, the first part as a reply to the command.
    async fn reply(&self, to: &IncomingMessage, text: &str) {
        let channel: Id<ChannelMarker> = match Id::new_checked(to.channel_id) {
            Some(id) => id,
            None => return,
        };
        let reply_to: Option<Id<MessageMarker>> = Id::new_checked(to.message_id);
        for (i, chunk) in split_reply(text, DISCORD_MESSAGE_LIMIT).iter().enumerate() {
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
    async fn with_retry<T, F, Fut>(&self, what: &str, call: F) -> Result<T, twilight_http::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, twilight_http::Error>>,
    {
        with_retry(self.retry, what, call).await
    }
}
