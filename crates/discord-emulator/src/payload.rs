//! JSON payloads in the shapes Discord sends and twilight-model 0.18 deserializes (ids as strings,
//! timestamps with `+00:00`, every non-optional field present).

use serde_json::{Value, json};

use crate::clock::format_timestamp;
use crate::config::{ChannelSpec, GuildSpec, RoleSpec};
use crate::ids::GuildId;
use crate::model::{StoredAttachment, StoredMessage};
use crate::state::{State, UserView};

/// A user object.
pub(crate) fn user(user: &UserView) -> Value {
    json!({
        "id": user.id.to_string(),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.global_name,
        "avatar": null,
        "avatar_decoration_data": null,
        "banner": null,
        "accent_color": null,
        "bot": user.bot,
        "public_flags": 0,
    })
}

/// The bot as `GET /users/@me` and READY describe it.
pub(crate) fn current_user(state: &State) -> Value {
    let bot = &state.config.bot;
    json!({
        "id": bot.id.to_string(),
        "username": bot.username,
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "banner": null,
        "accent_color": null,
        "bot": true,
        "mfa_enabled": false,
        "verified": true,
        "flags": 0,
        "public_flags": 0,
        "locale": "en-US",
        "email": null,
    })
}

/// The bot's application, as `GET /applications/@me` describes it.
pub(crate) fn application(state: &State) -> Value {
    let bot = &state.config.bot;
    json!({
        "id": bot.application_id.to_string(),
        "name": bot.username,
        "icon": null,
        "description": "",
        "bot_public": true,
        "bot_require_code_grant": false,
        "bot": current_user(state),
        "flags": 0,
        "team": null,
        "verify_key": "0".repeat(64),
        "rpc_origins": [],
    })
}

/// A guild member; `with_user` adds the `user` object (GUILD_CREATE and member routes need it, messages do not).
pub(crate) fn member(state: &State, user_view: &UserView, with_user: bool) -> Value {
    let mut member = json!({
        "roles": user_view.roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "nick": user_view.nick,
        "avatar": null,
        "banner": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "joined_at": format_timestamp(state.started_ms),
        "premium_since": null,
        "communication_disabled_until": null,
    });
    if with_user && let Some(object) = member.as_object_mut() {
        object.insert("user".to_owned(), user(user_view));
    }
    member
}

/// An attachment object.
pub(crate) fn attachment(attachment: &StoredAttachment) -> Value {
    let mut value = json!({
        "id": attachment.id.to_string(),
        "filename": attachment.filename,
        "size": attachment.size,
        "url": attachment.url,
        "proxy_url": attachment.url,
    });
    if let Some(object) = value.as_object_mut() {
        if let Some(content_type) = &attachment.content_type {
            object.insert("content_type".to_owned(), json!(content_type));
        }
        if let (Some(width), Some(height)) = (attachment.width, attachment.height) {
            object.insert("width".to_owned(), json!(width));
            object.insert("height".to_owned(), json!(height));
        }
    }
    value
}

/// A message object; `gateway` adds what MESSAGE_CREATE carries beyond the REST shape (`member`, mention members).
pub(crate) fn message(state: &State, message: &StoredMessage, gateway: bool) -> Value {
    message_inner(state, message, gateway, true)
}

fn message_inner(state: &State, message: &StoredMessage, gateway: bool, with_reference: bool) -> Value {
    let author = state.user(message.author_id).unwrap_or_else(|| UserView {
        id: message.author_id,
        username: "deleted-user".to_owned(),
        global_name: None,
        nick: None,
        roles: Vec::new(),
        bot: false,
    });
    let mentions: Vec<Value> = message
        .mentioned_users
        .iter()
        .filter_map(|id| state.user(*id))
        .map(|mentioned| {
            let mut value = user(&mentioned);
            if gateway && let Some(object) = value.as_object_mut() {
                object.insert("member".to_owned(), member(state, &mentioned, false));
            }
            value
        })
        .collect();
    let mut value = json!({
        "id": message.id.to_string(),
        "channel_id": message.channel_id.to_string(),
        "guild_id": message.guild_id.to_string(),
        "author": user(&author),
        "content": message.content,
        "timestamp": message.timestamp,
        "edited_timestamp": message.edited_timestamp,
        "tts": false,
        "mention_everyone": message.mention_everyone,
        "mentions": mentions,
        "mention_roles": message.mentioned_roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "attachments": message.attachments.iter().map(attachment).collect::<Vec<_>>(),
        "embeds": message.embeds,
        "components": [],
        "pinned": false,
        "type": if message.reply_to.is_some() { 19 } else { 0 },
        "flags": 0,
    });
    let Some(object) = value.as_object_mut() else {
        return value;
    };
    if gateway {
        object.insert("member".to_owned(), member(state, &author, false));
    }
    if let Some(reply_to) = message.reply_to {
        object.insert(
            "message_reference".to_owned(),
            json!({
                "type": 0,
                "message_id": reply_to.to_string(),
                "channel_id": message.channel_id.to_string(),
                "guild_id": message.guild_id.to_string(),
            }),
        );
        if with_reference {
            let referenced = state
                .message(message.channel_id, reply_to)
                .ok()
                .map_or(Value::Null, |m| message_inner(state, m, false, false));
            object.insert("referenced_message".to_owned(), referenced);
        }
    }
    value
}

/// The message as a session without the `MESSAGE_CONTENT` intent receives it.
pub(crate) fn without_content(message: &Value) -> Value {
    let mut value = message.clone();
    if let Some(object) = value.as_object_mut() {
        object.insert("content".to_owned(), json!(""));
        object.insert("attachments".to_owned(), json!([]));
        object.insert("embeds".to_owned(), json!([]));
        object.insert("components".to_owned(), json!([]));
        if let Some(Value::Object(referenced)) = object.get_mut("referenced_message") {
            referenced.insert("content".to_owned(), json!(""));
            referenced.insert("attachments".to_owned(), json!([]));
            referenced.insert("embeds".to_owned(), json!([]));
        }
    }
    value
}

/// READY's `d`.
pub(crate) fn ready(state: &State, session_id: &str, shard: Option<[u64; 2]>) -> Value {
    let guilds: Vec<Value> = state
        .config
        .guilds
        .iter()
        .filter(|g| crate::state::shard_has_guild(shard, g.id))
        .map(|g| json!({"id": g.id.to_string(), "unavailable": true}))
        .collect();
    let mut value = json!({
        "v": 10,
        "user": current_user(state),
        "guilds": guilds,
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": format!("{}/resume", state.gateway_url),
        "application": {"id": state.config.bot.application_id.to_string(), "flags": 0},
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "_trace": ["discord-emulator"],
    });
    if let (Some(shard), Some(object)) = (shard, value.as_object_mut()) {
        object.insert("shard".to_owned(), json!(shard));
    }
    value
}

/// A guild text channel.
pub(crate) fn channel(guild_id: GuildId, channel: &ChannelSpec, position: usize) -> Value {
    json!({
        "id": channel.id.to_string(),
        "type": 0,
        "guild_id": guild_id.to_string(),
        "name": channel.name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": false,
        "topic": null,
        "parent_id": null,
        "rate_limit_per_user": 0,
        "last_message_id": null,
    })
}

/// A role; the `@everyone` role has the guild's id.
pub(crate) fn role(role: &RoleSpec, position: usize) -> Value {
    json!({
        "id": role.id.to_string(),
        "name": role.name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": "0",
        "managed": false,
        "mentionable": true,
        "flags": 0,
    })
}

/// GUILD_CREATE's `d`: the whole guild with channels and roles; members are the bot alone unless `all_members`.
pub(crate) fn guild_create(state: &State, guild: &GuildSpec, all_members: bool) -> Value {
    let everyone = RoleSpec { id: guild.id.get().into(), name: "@everyone".to_owned() };
    let mut roles = vec![role(&everyone, 0)];
    roles.extend(guild.roles.iter().enumerate().map(|(i, r)| role(r, i + 1)));
    let mut members = vec![member(state, &state.bot_view(), true)];
    if all_members {
        members.extend(state.users.values().map(|u| member(state, &u.into(), true)));
    }
    json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "splash": null,
        "discovery_splash": null,
        "banner": null,
        "description": null,
        "owner_id": state.config.bot.id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "application_id": null,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": roles,
        "channels": guild.channels.iter().enumerate().map(|(i, c)| channel(guild.id, c, i)).collect::<Vec<_>>(),
        "threads": [],
        "members": members,
        "member_count": state.users.len() + 1,
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "joined_at": format_timestamp(state.started_ms),
        "large": false,
        "unavailable": false,
        "mfa_level": 0,
        "nsfw_level": 0,
        "preferred_locale": "en-US",
        "premium_progress_bar_enabled": false,
        "premium_tier": 0,
        "public_updates_channel_id": null,
        "rules_channel_id": null,
        "safety_alerts_channel_id": null,
        "system_channel_flags": 0,
        "system_channel_id": null,
        "vanity_url_code": null,
        "verification_level": 0,
    })
}
