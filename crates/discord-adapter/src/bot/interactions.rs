//! Slash commands, the forms they open and the coaches suggested while one is typed (a roster too large for
//! choices), answered through Discord's interaction endpoints: refusals and errors
//! only the caller sees (ephemeral), confirmations in the channel, nobody pinged; a `/plan` is deferred first and its
//! answer becomes the plan's source message; any other command is deferred only when it has not finished within
//! [`ANSWER_WITHIN`]; long answers continue in follow-ups. A saved plan's attached images are copied after its
//! confirmation, and a private follow-up says when some could not be.

use std::collections::HashMap;
use std::future::IntoFuture as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use core_model::{Actor, Attachment, RoleId, UserId};
use twilight_http::Client;
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::channel::message::component::{Component, Label, TextInput, TextInputStyle};
use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseData, InteractionResponseType};
use twilight_model::id::Id;
use twilight_model::id::marker::{ApplicationMarker, InteractionMarker, MessageMarker};

use super::rest::with_retry;
use crate::command::Command;
use crate::format;
use crate::handler::{CommandHandler, IncomingMessage, Outcome};
use crate::retry::RetryPolicy;
use crate::slash::{self, FORM_TEXT_FIELD, FORM_TEXT_MAX, Invocation};
use crate::split::{DISCORD_MESSAGE_LIMIT, split_reply};

/// Discord wants the first answer within 3 seconds; a command still running after this long is deferred.
pub(super) const ANSWER_WITHIN: Duration = Duration::from_millis(2000);

/// How long the charts of a `/plan` wait for the form it opened (Discord's interaction tokens last 15 minutes).
const FORM_CHARTS_KEPT: Duration = Duration::from_secs(15 * 60);

/// Answers interactions; cheap to clone (one per interaction task).
#[derive(Clone)]
pub(super) struct Interactions {
    pub(super) http: Arc<Client>,
    pub(super) handler: CommandHandler,
    pub(super) retry: RetryPolicy,
    /// The charts given with a `/plan` that opened a form.
    pub(super) waiting_charts: Arc<WaitingCharts>,
}

/// The charts given with `/plan`s that opened a form, by the opening interaction's id, until the form comes back
/// (or [`FORM_CHARTS_KEPT`] passes).
#[derive(Debug, Default)]
pub(super) struct WaitingCharts(Mutex<HashMap<u64, (Instant, Vec<Attachment>)>>);

impl WaitingCharts {
    fn keep(&self, opened_by: u64, charts: Vec<Attachment>) {
        let mut waiting = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.retain(|_, (since, _)| since.elapsed() < FORM_CHARTS_KEPT);
        waiting.insert(opened_by, (Instant::now(), charts));
    }

    fn take(&self, opened_by: u64) -> Vec<Attachment> {
        let mut waiting = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.remove(&opened_by).map(|(_, charts)| charts).unwrap_or_default()
    }
}

/// Where an answer goes and how.
struct Answering<'a> {
    app: Id<ApplicationMarker>,
    id: Id<InteractionMarker>,
    token: &'a str,
}

/// The person behind an interaction, with their roles in the guild.
fn actor(interaction: &Interaction) -> Option<Actor> {
    let member = interaction.member.as_ref();
    let user = member.and_then(|m| m.user.as_ref()).or(interaction.user.as_ref())?;
    let display_name =
        member.and_then(|m| m.nick.clone()).or_else(|| user.global_name.clone()).unwrap_or_else(|| user.name.clone());
    let roles = member.map(|m| m.roles.iter().map(|r| RoleId(r.get())).collect()).unwrap_or_default();
    Some(Actor { user_id: UserId(user.id.get()), display_name, roles })
}

fn message(content: &str, ephemeral: bool) -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::ChannelMessageWithSource,
        data: Some(InteractionResponseData {
            content: Some(content.to_owned()),
            flags: ephemeral.then_some(MessageFlags::EPHEMERAL),
            allowed_mentions: Some(AllowedMentions::default()),
            ..InteractionResponseData::default()
        }),
    }
}

/// The form `/plan` opens for a long plan.
fn form(custom_id: String, title: String) -> InteractionResponse {
    // Every field must be named in a literal, the deprecated `label` too (it stays unset: the label is on the Label
    // component, Discord's current form).
    #[allow(deprecated)]
    let input = TextInput {
        custom_id: FORM_TEXT_FIELD.to_owned(),
        id: None,
        label: None,
        max_length: Some(FORM_TEXT_MAX),
        min_length: Some(1),
        placeholder: Some("Levels, bias, tickers… Chart links welcome.".to_owned()),
        required: Some(true),
        style: TextInputStyle::Paragraph,
        value: None,
    };
    let label = Label {
        component: Box::new(Component::TextInput(input)),
        description: None,
        id: None,
        label: "Plan".to_owned(),
    };
    InteractionResponse {
        kind: InteractionResponseType::Modal,
        data: Some(InteractionResponseData {
            custom_id: Some(custom_id),
            title: Some(title.chars().take(45).collect()),
            components: Some(vec![Component::Label(label)]),
            ..InteractionResponseData::default()
        }),
    }
}

impl Interactions {
    /// Answers one interaction (slash command or form); failures to answer are logged, never fatal.
    pub(super) async fn answer(self, interaction: Interaction) {
        if interaction.kind == InteractionType::ApplicationCommandAutocomplete {
            self.suggest(&interaction).await;
            return;
        }
        let Some(actor) = actor(&interaction) else { return };
        let Some(channel_id) = interaction.channel.as_ref().map(|c| c.id) else { return };
        let to = Answering { app: interaction.application_id, id: interaction.id, token: &interaction.token };
        let guild_id = interaction.guild_id.map(Id::get);
        if !self.handler.listening().includes(guild_id, channel_id.get()) {
            let text = "⚠️ I do not take commands in this channel; use the channel where plans are posted.";
            self.respond(&to, Outcome::Refused(text.to_owned()), false).await;
            return;
        }
        let today = self.handler.service().today();
        // A refused plan gives its writer the text back as typed: Discord keeps neither a command's options nor a
        // form.
        let typed = match &interaction.data {
            Some(InteractionData::ApplicationCommand(data)) => slash::typed_text(data),
            Some(InteractionData::ModalSubmit(data)) => slash::submitted_text(data),
            _ => None,
        };
        let give_back = |outcome: Outcome| match (outcome, typed.as_deref()) {
            (Outcome::Refused(refusal), Some(text)) => Outcome::Refused(format::refused_with_text(&refusal, text)),
            (outcome, _) => outcome,
        };
        let (command, charts) = match &interaction.data {
            Some(InteractionData::ApplicationCommand(data)) => match slash::parse(data, today) {
                Ok((Invocation::Run(command), charts)) => (command, charts),
                Ok((Invocation::OpenForm { coach, date }, charts)) => {
                    self.open_form(&to, &actor, &coach, date, charts).await;
                    return;
                }
                Err(error) => {
                    self.respond(&to, give_back(Outcome::Refused(format::parse_error(&error))), false).await;
                    return;
                }
            },
            Some(InteractionData::ModalSubmit(data)) => match slash::parse_form(data) {
                Ok((command, opened_by)) => {
                    (command, opened_by.map(|id| self.waiting_charts.take(id)).unwrap_or_default())
                }
                Err(error) => {
                    self.respond(&to, give_back(Outcome::Refused(format::parse_error(&error))), false).await;
                    return;
                }
            },
            _ => return,
        };
        tracing::info!(command = command.name(), "slash command received");
        let mut incoming = IncomingMessage {
            message_id: interaction.id.get(),
            channel_id: channel_id.get(),
            guild_id,
            channel_name: interaction.channel.as_ref().and_then(|c| c.name.clone()),
            author: actor,
            author_is_bot: false,
            content: String::new(),
            attachments: charts,
        };
        // Help is for the caller alone.
        let private = matches!(command, Command::Help { .. });
        if matches!(command, Command::Plan { .. }) {
            // Deferred at once, so that the answer's message, which the plan comes from, is known before the plan is saved.
            let Some(answer_id) = self.defer(&to).await else { return };
            incoming.message_id = answer_id.get();
            let (outcome, saved) = self.handler.execute(&incoming, command, "/").await.into_answer();
            self.finish_deferred(&to, give_back(outcome)).await;
            self.archive_after(&to, saved).await;
            return;
        }
        let work = self.handler.execute(&incoming, command, "/");
        tokio::pin!(work);
        tokio::select! {
            outcome = &mut work => {
                let (outcome, saved) = outcome.into_answer();
                self.respond(&to, give_back(outcome), private).await;
                self.archive_after(&to, saved).await;
            }
            () = tokio::time::sleep(ANSWER_WITHIN) => {
                if self.defer(&to).await.is_some() {
                    let (outcome, saved) = work.await.into_answer();
                    self.finish_deferred(&to, give_back(outcome)).await;
                    self.archive_after(&to, saved).await;
                }
            }
        }
    }

    /// Answers a user typing into an option that autocompletes with the coaches that match (suggestions are only
    /// names to pick from: what is finally sent is checked like any command).
    async fn suggest(&self, interaction: &Interaction) {
        let choices = match &interaction.data {
            Some(InteractionData::ApplicationCommand(data)) => {
                slash::suggestions(data, &self.handler.service().policy().roster)
            }
            _ => Vec::new(),
        };
        tracing::debug!(suggested = choices.len(), "coaches suggested");
        let response = InteractionResponse {
            kind: InteractionResponseType::ApplicationCommandAutocompleteResult,
            data: Some(InteractionResponseData { choices: Some(choices), ..InteractionResponseData::default() }),
        };
        let client = self.http.interaction(interaction.application_id);
        let sent = with_retry(self.retry, "suggesting coaches", || {
            client.create_response(interaction.id, &interaction.token, &response).into_future()
        })
        .await;
        if let Err(error) = sent {
            tracing::warn!(error = %error, "cannot suggest coaches");
        }
    }

    /// Copies the attached images of a plan just saved, after its confirmation; tells the caller alone when some
    /// could not be copied.
    async fn archive_after(&self, to: &Answering<'_>, saved: Option<core_model::Plan>) {
        if let Some(plan) = saved
            && let Some(warning) = self.handler.archive_charts_after(&plan).await
        {
            self.follow_up(to, &[warning], true).await;
        }
    }

    /// `/plan coach` without text: keeps its charts for the form and opens it, unless the plan could not be saved
    /// (another's plan holds the date, or the caller may not post as the coach): then says so before anything is
    /// written.
    async fn open_form(
        &self,
        to: &Answering<'_>,
        actor: &Actor,
        coach: &str,
        date: Option<core_model::TradingDate>,
        charts: Vec<Attachment>,
    ) {
        let service = self.handler.service();
        let refuse = |error| Outcome::Refused(format::service_error(&error, "/"));
        let coach = match service.parse_coach(coach) {
            Ok(coach) => coach,
            Err(error) => return self.respond(to, refuse(error), false).await,
        };
        if let Err(error) = service.check_may_post(actor, &coach, date).await {
            return self.respond(to, refuse(error), false).await;
        }
        if !charts.is_empty() {
            self.waiting_charts.keep(to.id.get(), charts);
        }
        let title = format!("Plan for {}", service.policy().roster.display_name(&coach));
        let response = form(slash::form_id(coach.as_str(), date, to.id.get()), title);
        let client = self.http.interaction(to.app);
        let sent = with_retry(self.retry, "opening the plan form", || {
            client.create_response(to.id, to.token, &response).into_future()
        })
        .await;
        if let Err(error) = sent {
            tracing::error!(error = %error, "cannot open the plan form");
        }
    }

    /// Answers at once: a refusal only the caller sees, anything else in the channel (or, `private`, only to the
    /// caller); what does not fit one message follows in follow-ups.
    async fn respond(&self, to: &Answering<'_>, outcome: Outcome, private: bool) {
        let (text, ephemeral) = match outcome {
            Outcome::Refused(text) => (text, true),
            done => (done.into_reply().unwrap_or_else(|| "✅ Done.".to_owned()), private),
        };
        let chunks = split_reply(&text, DISCORD_MESSAGE_LIMIT);
        let Some((first, rest)) = chunks.split_first() else { return };
        let response = message(first, ephemeral);
        let client = self.http.interaction(to.app);
        let sent = with_retry(self.retry, "answering a command", || {
            client.create_response(to.id, to.token, &response).into_future()
        })
        .await;
        if let Err(error) = sent {
            tracing::error!(error = %error, "cannot answer a slash command; giving up on it");
            return;
        }
        self.follow_up(to, rest, ephemeral).await;
    }

    /// Tells Discord the answer follows ("thinking…", in the channel); returns the id of the answer's message.
    async fn defer(&self, to: &Answering<'_>) -> Option<Id<MessageMarker>> {
        let response =
            InteractionResponse { kind: InteractionResponseType::DeferredChannelMessageWithSource, data: None };
        let client = self.http.interaction(to.app);
        let sent = with_retry(self.retry, "deferring an answer", || {
            client.create_response(to.id, to.token, &response).with_response().into_future()
        })
        .await;
        let callback = match sent {
            Ok(response) => response.model().await.ok(),
            Err(error) => {
                tracing::error!(error = %error, "cannot acknowledge a slash command; giving up on it");
                return None;
            }
        };
        // Without the answer's id (an older Discord answer), the interaction's own id stands in as the source.
        Some(callback.and_then(|c| c.interaction.response_message_id).unwrap_or_else(|| to.id.cast()))
    }

    /// Completes a deferred answer: the result replaces "thinking…"; a refusal removes it and is told to the caller
    /// alone.
    async fn finish_deferred(&self, to: &Answering<'_>, outcome: Outcome) {
        let client = self.http.interaction(to.app);
        let no_pings = AllowedMentions::default();
        match outcome {
            Outcome::Refused(text) => {
                let deleted =
                    with_retry(self.retry, "withdrawing an answer", || client.delete_response(to.token).into_future())
                        .await;
                if let Err(error) = deleted {
                    tracing::warn!(error = %error, "cannot remove the \"thinking…\" answer of a refused command");
                }
                let chunks = split_reply(&text, DISCORD_MESSAGE_LIMIT);
                self.follow_up(to, &chunks, true).await;
            }
            done => {
                let text = done.into_reply().unwrap_or_else(|| "✅ Done.".to_owned());
                let chunks = split_reply(&text, DISCORD_MESSAGE_LIMIT);
                let Some((first, rest)) = chunks.split_first() else { return };
                let edited = with_retry(self.retry, "answering a command", || {
                    client
                        .update_response(to.token)
                        .content(Some(first))
                        .allowed_mentions(Some(&no_pings))
                        .into_future()
                })
                .await;
                if let Err(error) = edited {
                    tracing::error!(error = %error, "cannot answer a slash command; giving up on it");
                    return;
                }
                self.follow_up(to, rest, false).await;
            }
        }
    }

    /// Sends `chunks` as follow-ups, in order.
    async fn follow_up(&self, to: &Answering<'_>, chunks: &[String], ephemeral: bool) {
        let client = self.http.interaction(to.app);
        let no_pings = AllowedMentions::default();
        for chunk in chunks {
            let sent = with_retry(self.retry, "following up on a command", || {
                let request = client.create_followup(to.token).content(chunk).allowed_mentions(Some(&no_pings));
                let request = if ephemeral { request.flags(MessageFlags::EPHEMERAL) } else { request };
                request.into_future()
            })
            .await;
            if let Err(error) = sent {
                tracing::error!(error = %error, "cannot send the rest of an answer; giving up on it");
                return;
            }
        }
    }
}
