//! twilight's messages as the handler sees them.

use std::collections::HashMap;

use core_model::{Actor, Attachment, RoleId, UserId};
use twilight_model::channel::Message;
use twilight_model::id::Id;

use crate::handler::IncomingMessage;

/// A Discord message as the handler sees it.
pub(super) fn incoming(message: &Message, channel_names: &HashMap<u64, String>) -> IncomingMessage {
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
