//! The root span of each piece of work: a gateway event (its kind and ids), or a message read back through REST.

use tracing::Span;
use tracing::field::Empty;
use twilight_gateway::Event;
use twilight_model::channel::Message;

use crate::handler::IncomingMessage;

/// The root span of a gateway event: its kind and, when it has them, the guild, channel, message and author ids (for
/// an interaction, the invoking user's).
pub(super) fn event_span(event: &Event) -> Span {
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
        Event::InteractionCreate(interaction) => {
            if let Some(guild_id) = interaction.guild_id {
                span.record("guild_id", guild_id.get());
            }
            if let Some(channel) = &interaction.channel {
                span.record("channel_id", channel.id.get());
            }
            if let Some(user_id) = interaction.author_id() {
                span.record("user_id", user_id.get());
            }
        }
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
pub(super) fn caught_up_span(message: &IncomingMessage) -> Span {
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
