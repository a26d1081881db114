//! Message routes: list, read, create, edit and delete, with Discord's validation and `allowed_mentions` rules.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::{ApiError, ApiResult, parse_channel, parse_snowflake};
use crate::http::{Request, Response};
use crate::ids::{GuildId, MessageId, RoleId, UserId, unix_millis_now};
use crate::model::{AttachmentSpec, SentMessage, StoredMessage, guess_content_type};
use crate::state::{NewMessage, Shared, State, parse_mentions};
use crate::{clock, multipart, payload};

/// Discord's message length limit.
const MAX_CONTENT_CHARS: usize = 2000;
/// Discord's embed count limit.
const MAX_EMBEDS: usize = 10;
pub(super) fn get_message(shared: &Shared, cid: &str, mid: &str) -> ApiResult {
    let state = shared.lock();
    let channel = parse_channel(&state, cid)?;
    let id = MessageId(parse_snowflake(mid, "message_id")?);
    let message = state.message(channel, id).map_err(|_| ApiError::unknown_message())?;
    Ok(Response::json(200, &payload::message(&state, message, false)))
}

pub(super) fn list_messages(shared: &Shared, request: &Request, cid: &str) -> ApiResult {
    let state = shared.lock();
    let channel = parse_channel(&state, cid)?;
    let mut limit = 50usize;
    let mut before = None;
    let mut after = None;
    let mut around = None;
    for (key, value) in request.query_pairs() {
        match key.as_str() {
            "limit" => {
                limit = value.parse::<usize>().ok().filter(|l| (1..=100).contains(l)).ok_or_else(|| {
                    ApiError::invalid_form("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
                })?;
            }
            "before" => before = Some(parse_snowflake(&value, "before")?),
            "after" => after = Some(parse_snowflake(&value, "after")?),
            "around" => around = Some(parse_snowflake(&value, "around")?),
            _ => {}
        }
    }
    let messages = &state.channel(channel).map_err(|_| ApiError::unknown_channel())?.messages;
    let mut selected: Vec<&StoredMessage> = if let Some(around) = around {
        let older: Vec<&StoredMessage> =
            messages.range(..=MessageId(around)).rev().take(limit.div_ceil(2)).map(|(_, m)| m).collect();
        let newer = messages.range(MessageId(around.saturating_add(1))..).take(limit - older.len()).map(|(_, m)| m);
        older.into_iter().chain(newer).collect()
    } else if let Some(after) = after {
        // The `limit` messages right after `after`.
        messages.range(MessageId(after.saturating_add(1))..).take(limit).map(|(_, m)| m).collect()
    } else {
        let upper = before.map_or(u64::MAX, |b| b.saturating_sub(1));
        messages.range(..=MessageId(upper)).rev().take(limit).map(|(_, m)| m).collect()
    };
    // Newest first, as Discord answers.
    selected.sort_by_key(|m| std::cmp::Reverse(m.id));
    let body: Vec<Value> = selected.iter().map(|m| payload::message(&state, m, false)).collect();
    Ok(Response::json(200, &Value::Array(body)))
}

/// A message request's JSON object and uploaded files.
pub(super) fn message_request(
    request: &Request,
) -> Result<(serde_json::Map<String, Value>, Vec<AttachmentSpec>), ApiError> {
    let mut files = Vec::new();
    let json_bytes: Vec<u8> = if let Some(boundary) = request.header("content-type").and_then(multipart::boundary) {
        let parts = multipart::parse(&boundary, &request.body)
            .ok_or_else(|| ApiError::new(400, "Invalid multipart body", 50035))?;
        let mut json_part = None;
        for part in parts {
            if part.name == "payload_json" {
                json_part = Some(part.data);
            } else if let Some(filename) = part.filename {
                let content_type = part.content_type.or_else(|| guess_content_type(&filename).map(str::to_owned));
                let mut spec = AttachmentSpec::new(filename, part.data);
                spec.content_type = content_type;
                files.push(spec);
            }
        }
        json_part.unwrap_or_else(|| b"{}".to_vec())
    } else if request.body.is_empty() {
        b"{}".to_vec()
    } else {
        request.body.clone()
    };
    match serde_json::from_slice::<Value>(&json_bytes) {
        Ok(Value::Object(object)) => Ok((object, files)),
        Ok(_) => Err(ApiError::invalid_form("_", "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")),
        Err(_) => Err(ApiError::invalid_json()),
    }
}

/// `content` of a request: `Ok(None)` when absent, validated for type and length.
pub(super) fn content_field(body: &serde_json::Map<String, Value>) -> Result<Option<String>, ApiError> {
    match body.get("content") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(String::new())),
        Some(Value::String(text)) => {
            if text.chars().count() > MAX_CONTENT_CHARS {
                Err(ApiError::invalid_form("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."))
            } else {
                Ok(Some(text.clone()))
            }
        }
        Some(_) => {
            Err(ApiError::invalid_form("content", "STRING_TYPE_CONVERT", "Could not interpret value as string."))
        }
    }
}

fn embeds_field(body: &serde_json::Map<String, Value>) -> Result<Option<Vec<Value>>, ApiError> {
    match body.get("embeds") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(embeds)) if embeds.len() <= MAX_EMBEDS && embeds.iter().all(Value::is_object) => Ok(Some(
            embeds
                .iter()
                .map(|embed| {
                    let mut embed = embed.clone();
                    if let Some(object) = embed.as_object_mut() {
                        object.entry("type").or_insert_with(|| json!("rich"));
                    }
                    embed
                })
                .collect(),
        )),
        Some(_) => Err(ApiError::invalid_form("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")),
    }
}

fn snowflake_value(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => text.parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

fn id_list(value: Option<&Value>) -> Vec<u64> {
    value.and_then(Value::as_array).map(|items| items.iter().filter_map(snowflake_value).collect()).unwrap_or_default()
}

/// Who a bot message pings under `allowed_mentions` (Discord's rules; absent means "parse everything").
pub(super) struct Pings {
    pub(super) users: Vec<UserId>,
    pub(super) roles: Vec<RoleId>,
    pub(super) everyone: bool,
}

pub(super) fn pings(
    state: &State,
    guild: GuildId,
    content: &str,
    allowed: Option<&Value>,
    replied_author: Option<UserId>,
) -> Result<Pings, ApiError> {
    let (users, roles, everyone) = parse_mentions(content);
    let users = users.into_iter().filter(|u| state.user(*u).is_some());
    let guild_roles: Vec<RoleId> =
        state.config.guilds.iter().filter(|g| g.id == guild).flat_map(|g| g.roles.iter().map(|r| r.id)).collect();
    let roles = roles.into_iter().filter(|r| guild_roles.contains(r));
    let (mut pinged, replied_pinged) = match allowed {
        // No `allowed_mentions`: everything written pings, and so does a reply.
        None | Some(Value::Null) => (Pings { users: users.collect(), roles: roles.collect(), everyone }, true),
        Some(Value::Object(allowed)) => {
            let parse: Vec<&str> = allowed
                .get("parse")
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let user_list = id_list(allowed.get("users"));
            let role_list = id_list(allowed.get("roles"));
            for (kind, list) in [("users", &user_list), ("roles", &role_list)] {
                if parse.contains(&kind) && !list.is_empty() {
                    return Err(ApiError::invalid_form(
                        "allowed_mentions",
                        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                        &format!("parse:[\"{kind}\"] and {kind}: [ids...] are mutually exclusive."),
                    ));
                }
            }
            let pinged = Pings {
                users: users.filter(|u| parse.contains(&"users") || user_list.contains(&u.get())).collect(),
                roles: roles.filter(|r| parse.contains(&"roles") || role_list.contains(&r.get())).collect(),
                everyone: everyone && parse.contains(&"everyone"),
            };
            (pinged, allowed.get("replied_user").and_then(Value::as_bool).unwrap_or(false))
        }
        Some(_) => {
            return Err(ApiError::invalid_form(
                "allowed_mentions",
                "DICT_TYPE_CONVERT",
                "Only dictionaries may be used in a DictType",
            ));
        }
    };
    if replied_pinged
        && let Some(author) = replied_author
        && !pinged.users.contains(&author)
    {
        pinged.users.push(author);
    }
    Ok(pinged)
}

pub(super) fn create_message(shared: &Shared, request: &Request, cid: &str) -> ApiResult {
    let mut state = shared.lock();
    let channel = parse_channel(&state, cid)?;
    let guild = state.channel(channel).map_err(|_| ApiError::unknown_channel())?.guild_id;
    let (body, files) = message_request(request)?;
    let content = content_field(&body)?.unwrap_or_default();
    let embeds = embeds_field(&body)?.unwrap_or_default();
    let has_stickers = body.get("sticker_ids").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
    if content.is_empty() && embeds.is_empty() && files.is_empty() && !has_stickers {
        return Err(ApiError::empty_message());
    }
    let mut reply_to = None;
    if let Some(reference) = body.get("message_reference").filter(|r| !r.is_null()) {
        let target = reference.get("message_id").and_then(snowflake_value);
        let fail = reference.get("fail_if_not_exists").and_then(Value::as_bool).unwrap_or(true);
        match target {
            Some(id) if state.message(channel, MessageId(id)).is_ok() => reply_to = Some(MessageId(id)),
            _ if fail => {
                return Err(ApiError::invalid_form(
                    "message_reference",
                    "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                    "Unknown message",
                ));
            }
            _ => {}
        }
    }
    let replied_author = reply_to.and_then(|id| state.message(channel, id).ok()).map(|m| m.author_id);
    let allowed_mentions = body.get("allowed_mentions").cloned();
    let pinged = pings(&state, guild, &content, allowed_mentions.as_ref(), replied_author)?;
    let bot = state.config.bot.id;
    let new = NewMessage {
        content: content.clone(),
        attachments: files,
        embeds,
        reply_to,
        mentioned_users: pinged.users.clone(),
        mentioned_roles: pinged.roles.clone(),
        mention_everyone: pinged.everyone,
    };
    let message = state.insert_message(channel, bot, new).map_err(|_| ApiError::unknown_channel())?;
    state.sent.push(SentMessage {
        id: message.id,
        channel_id: channel,
        content,
        allowed_mentions: allowed_mentions.filter(|v| !v.is_null()),
        reply_to,
        pinged_users: pinged.users,
        pinged_roles: pinged.roles,
        pinged_everyone: pinged.everyone,
        body: Value::Object(body),
        at: SystemTime::now(),
    });
    let response = Response::json(200, &payload::message(&state, &message, false));
    shared.publish_created(&message, state);
    Ok(response)
}

pub(super) fn edit_message(shared: &Shared, request: &Request, cid: &str, mid: &str) -> ApiResult {
    let mut state = shared.lock();
    let channel = parse_channel(&state, cid)?;
    let id = MessageId(parse_snowflake(mid, "message_id")?);
    let existing = state.message(channel, id).map_err(|_| ApiError::unknown_message())?.clone();
    if existing.author_id != state.config.bot.id {
        return Err(ApiError::new(403, "Cannot edit a message authored by another user", 50005));
    }
    let (body, _files) = message_request(request)?;
    let mut updated = existing.clone();
    if let Some(content) = content_field(&body)? {
        updated.content = content;
    }
    if let Some(embeds) = embeds_field(&body)? {
        updated.embeds = embeds;
    }
    if let Some(kept) = body.get("attachments").and_then(Value::as_array) {
        let keep: Vec<u64> = kept.iter().filter_map(|a| a.get("id").and_then(snowflake_value)).collect();
        updated.attachments.retain(|a| keep.contains(&a.id.get()));
    }
    if updated.content.is_empty() && updated.embeds.is_empty() && updated.attachments.is_empty() {
        return Err(ApiError::empty_message());
    }
    let replied_author = updated.reply_to.and_then(|r| state.message(channel, r).ok()).map(|m| m.author_id);
    let pinged = pings(&state, updated.guild_id, &updated.content, body.get("allowed_mentions"), replied_author)?;
    updated.mentioned_users = pinged.users;
    updated.mentioned_roles = pinged.roles;
    updated.mention_everyone = pinged.everyone;
    updated.edited_timestamp = Some(clock::format_timestamp(unix_millis_now()));
    if let Some(slot) = state.channels.get_mut(&channel).and_then(|c| c.messages.get_mut(&id)) {
        *slot = updated.clone();
    }
    let response = Response::json(200, &payload::message(&state, &updated, false));
    shared.publish_updated(&updated, state);
    Ok(response)
}

pub(super) fn delete_message(shared: &Shared, cid: &str, mid: &str) -> ApiResult {
    let mut state = shared.lock();
    let channel = parse_channel(&state, cid)?;
    let id = MessageId(parse_snowflake(mid, "message_id")?);
    let guild = state.channel(channel).map_err(|_| ApiError::unknown_channel())?.guild_id;
    let removed =
        state.channels.get_mut(&channel).and_then(|c| c.messages.remove(&id)).ok_or_else(ApiError::unknown_message)?;
    for attachment in &removed.attachments {
        state.blobs.remove(&attachment.id);
    }
    shared.publish_deleted(channel, guild, id, state);
    Ok(Response::empty(204))
}
