//! Answers to interactions: the callback (`POST /interactions/{id}/{token}/callback`, JSON or multipart, within the
//! deadline, once), the original answer (`GET|PATCH|DELETE /webhooks/{app}/{token}/messages/@original`) and
//! follow-ups (`POST /webhooks/{app}/{token}`, `PATCH|DELETE .../messages/{id}`), with Discord's checks and
//! `allowed_mentions` rules. Public answers enter the channel's history (and are dispatched like any message);
//! ephemeral ones only the invoking user sees.

use serde_json::{Value, json};

use super::messages::{content_field, message_request, pings};
use super::{ApiError, ApiResult, parse_snowflake};
use crate::http::{Request, Response};
use crate::ids::{InteractionId, MessageId};
use crate::interactions::{
    Acknowledgement, EPHEMERAL, InteractionKind, InteractionReply, InteractionState, ModalInput, Suggestion,
};
use crate::model::MessageEvent;
use crate::state::{NewMessage, Shared, State};

/// Discord's loading flag on a deferred answer ("thinking…").
const LOADING: u64 = 1 << 7;

fn unknown_interaction() -> ApiError {
    ApiError::new(404, "Unknown interaction", 10062)
}

fn unknown_webhook() -> ApiError {
    ApiError::new(404, "Unknown Webhook", 10015)
}

/// The interaction of a callback URL: the id must exist and the token be its own.
fn by_id<'a>(state: &'a mut State, id: &str, token: &str) -> Result<&'a mut InteractionState, ApiError> {
    let id = InteractionId(parse_snowflake(id, "interaction_id")?);
    state.interactions.get_mut(&id).filter(|i| i.token == token).ok_or_else(unknown_interaction)
}

/// The interaction of a webhook URL: the application must be the bot's and the token still valid.
fn by_token(state: &mut State, app: &str, token: &str) -> Result<InteractionId, ApiError> {
    let app = parse_snowflake(app, "application_id")?;
    let ttl = state.config.interaction_token_ttl;
    if app != state.config.bot.application_id {
        return Err(unknown_webhook());
    }
    state
        .interactions
        .values()
        .find(|i| i.token == token && i.created.elapsed() <= ttl)
        .map(|i| i.record.id)
        .ok_or_else(unknown_webhook)
}

/// A modal's title, custom id and text fields, checked as Discord checks them.
fn modal(data: &Value) -> Result<Acknowledgement, ApiError> {
    let text = |key: &str, max: usize| -> Result<String, ApiError> {
        let value = data[key].as_str().unwrap_or_default();
        if value.is_empty() || value.chars().count() > max {
            return Err(ApiError::invalid_form(
                &format!("data.{key}"),
                "BASE_TYPE_BAD_LENGTH",
                &format!("Must be between 1 and {max} in length."),
            ));
        }
        Ok(value.to_owned())
    };
    let (title, custom_id) = (text("title", 45)?, text("custom_id", 100)?);
    let rows = data["components"].as_array().cloned().unwrap_or_default();
    if rows.is_empty() || rows.len() > 5 {
        return Err(ApiError::invalid_form(
            "data.components",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.",
        ));
    }
    let mut inputs = Vec::new();
    for row in &rows {
        // An action row (type 1) holding a text input, or a label (type 18) holding one.
        let input = match row["type"].as_u64() {
            Some(1) => row["components"].get(0).cloned(),
            Some(18) => row.get("component").cloned(),
            _ => None,
        }
        .filter(|c| c["type"] == 4)
        .ok_or_else(|| ApiError::invalid_form("data.components", "COMPONENT_TYPE_INVALID", "Invalid component type"))?;
        let label = input["label"].as_str().or_else(|| row["label"].as_str()).unwrap_or_default().to_owned();
        let custom_id = input["custom_id"].as_str().unwrap_or_default().to_owned();
        if custom_id.is_empty() || label.is_empty() || label.chars().count() > 45 {
            return Err(ApiError::invalid_form("data.components", "BASE_TYPE_BAD_LENGTH", "Invalid text input"));
        }
        let max_length = input["max_length"].as_u64();
        if max_length.is_some_and(|m| m > 4000) {
            return Err(ApiError::invalid_form("data.components", "NUMBER_TYPE_MAX", "Must be 4000 or less."));
        }
        inputs.push(ModalInput {
            custom_id,
            label,
            paragraph: input["style"] == 2,
            required: input["required"].as_bool().unwrap_or(true),
            max_length,
            labelled: row["type"] == 18,
        });
    }
    Ok(Acknowledgement::Modal { custom_id, title, inputs })
}

/// Most suggestions one autocomplete answer may carry.
const MAX_SUGGESTIONS: usize = 25;

/// The suggestions of an autocomplete answer (type 8), checked as Discord checks them: at most 25, each named with
/// 1 to 100 characters, with a string value of at most 100 characters or a number.
fn suggestions(data: &Value) -> Result<Acknowledgement, ApiError> {
    let Some(choices) = data["choices"].as_array() else {
        return Err(ApiError::invalid_form("data.choices", "BASE_TYPE_REQUIRED", "This field is required"));
    };
    if choices.len() > MAX_SUGGESTIONS {
        return Err(ApiError::invalid_form(
            "data.choices",
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {MAX_SUGGESTIONS} or fewer in length."),
        ));
    }
    let mut offered = Vec::with_capacity(choices.len());
    for (i, choice) in choices.iter().enumerate() {
        let name = choice["name"].as_str().unwrap_or_default();
        if !(1..=100).contains(&name.chars().count()) {
            return Err(ApiError::invalid_form(
                &format!("data.choices.{i}.name"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        let value = &choice["value"];
        let valid = value.as_str().is_some_and(|v| v.chars().count() <= 100) || value.is_number();
        if !valid {
            return Err(ApiError::invalid_form(
                &format!("data.choices.{i}.value"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be a string of at most 100 characters or a number.",
            ));
        }
        offered.push(Suggestion { name: name.to_owned(), value: value.clone() });
    }
    Ok(Acknowledgement::Suggestions(offered))
}

/// What a message answer says: its content (validated) and flags.
struct Answer {
    content: String,
    ephemeral: bool,
    allowed_mentions: Option<Value>,
    /// Files uploaded with it (multipart).
    files: Vec<crate::model::AttachmentSpec>,
}

fn answer(
    body: &serde_json::Map<String, Value>,
    files: Vec<crate::model::AttachmentSpec>,
    required: bool,
) -> Result<Answer, ApiError> {
    let content = content_field(body)?;
    let has_embeds = body.get("embeds").and_then(Value::as_array).is_some_and(|e| !e.is_empty());
    if required && content.as_deref().is_none_or(str::is_empty) && !has_embeds && files.is_empty() {
        return Err(ApiError::new(400, "Cannot send an empty message", 50006));
    }
    let flags = body.get("flags").and_then(Value::as_u64).unwrap_or(0);
    Ok(Answer {
        content: content.unwrap_or_default(),
        ephemeral: flags & EPHEMERAL != 0,
        allowed_mentions: body.get("allowed_mentions").cloned().filter(|v| !v.is_null()),
        files,
    })
}

/// Adds a message answering `id`: public ones enter the channel's history and are dispatched. With `acknowledging`
/// (the callback's message), the interaction counts as acknowledged, once the answer is accepted: a refused one
/// acknowledges nothing. Returns the message payload.
fn add_reply(
    shared: &Shared,
    mut state: std::sync::MutexGuard<'_, State>,
    id: InteractionId,
    answer: Answer,
    acknowledging: Option<Acknowledgement>,
    loading: bool,
) -> Result<Value, ApiError> {
    let original = acknowledging.is_some();
    let interaction = state.interactions.get(&id).ok_or_else(unknown_interaction)?;
    let (channel, guild, user) = (interaction.record.channel_id, interaction.guild_id, interaction.record.user);
    let pinged = pings(&state, guild, &answer.content, answer.allowed_mentions.as_ref(), None)?;
    let bot = state.config.bot.id;
    let files: Vec<String> = answer.files.iter().map(|f| f.filename.clone()).collect();
    let (message_id, payload, public) = if answer.ephemeral {
        let message_id = MessageId(state.next_id());
        (message_id, ephemeral_payload(&state, message_id, channel, &answer.content, loading), None)
    } else {
        let new = NewMessage {
            attachments: answer.files,
            content: answer.content.clone(),
            mentioned_users: pinged.users.clone(),
            mentioned_roles: pinged.roles.clone(),
            mention_everyone: pinged.everyone,
            ..NewMessage::default()
        };
        let message =
            state.insert_message(channel, bot, new).map_err(|_| ApiError::new(404, "Unknown Channel", 10003))?;
        let mut payload = crate::payload::message(&state, &message, false);
        payload["flags"] = json!(if loading { LOADING } else { 0 });
        (message.id, payload, Some(message))
    };
    let reply = InteractionReply {
        id: message_id,
        original,
        content: answer.content.clone(),
        ephemeral: answer.ephemeral,
        loading,
        deleted: false,
        edits: 0,
        allowed_mentions: answer.allowed_mentions,
        pinged_users: pinged.users,
        pinged_roles: pinged.roles,
        pinged_everyone: pinged.everyone,
        files,
    };
    if let Some(interaction) = state.interactions.get_mut(&id) {
        interaction.record.replies.push(reply);
        if acknowledging.is_some() {
            interaction.record.acknowledgement = acknowledging;
        }
    }
    match public {
        Some(message) => shared.publish_created(&message, state),
        None => {
            drop(state);
            if !loading {
                let event = MessageEvent::Ephemeral { channel_id: channel, user_id: user, content: answer.content };
                let _ = shared.activity.send(event);
            }
        }
    }
    Ok(payload)
}

/// An ephemeral message as Discord returns it (it is in no channel history).
fn ephemeral_payload(
    state: &State,
    id: MessageId,
    channel: crate::ids::ChannelId,
    content: &str,
    loading: bool,
) -> Value {
    let bot = state.bot_view();
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "author": crate::payload::user(&bot),
        "content": content,
        "timestamp": crate::clock::format_timestamp(crate::ids::unix_millis_now()),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 20,
        "flags": EPHEMERAL | if loading { LOADING } else { 0 },
        "components": [],
    })
}

/// `POST /interactions/{id}/{token}/callback`.
pub(super) fn callback(shared: &Shared, request: &Request, id: &str, token: &str) -> ApiResult {
    let mut state = shared.lock();
    let deadline = state.config.interaction_deadline;
    let interaction = by_id(&mut state, id, token)?;
    if interaction.record.acknowledgement.is_some() {
        interaction.record.refused_callbacks += 1;
        return Err(ApiError::new(400, "Interaction has already been acknowledged.", 40060));
    }
    if interaction.created.elapsed() > deadline {
        interaction.record.refused_callbacks += 1;
        return Err(unknown_interaction());
    }
    let is_command = matches!(interaction.record.kind, InteractionKind::Command { .. });
    let interaction_type = interaction.record.kind.type_code();
    let is_autocomplete = matches!(interaction.record.kind, InteractionKind::Autocomplete { .. });
    let interaction_id = interaction.record.id;
    let (body, files) = message_request(request)?;
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let data_object = data.as_object().cloned().unwrap_or_default();
    let kind = body.get("type").and_then(Value::as_u64);
    let not_valid = |kind: u64| {
        ApiError::invalid_form(
            "type",
            "INTERACTION_RESPONSE_TYPE_INVALID",
            &format!("Interaction response type {kind} is not valid for this interaction"),
        )
    };
    // An autocomplete interaction is answered with suggestions only, and only it is.
    let (acknowledgement, reply) = match kind {
        Some(8) if is_autocomplete => (suggestions(&data)?, None),
        Some(other) if is_autocomplete || other == 8 => return Err(not_valid(other)),
        Some(4) => (Acknowledgement::Message, Some((answer(&data_object, files, true)?, false))),
        Some(5) => (Acknowledgement::Deferred, Some((answer(&data_object, Vec::new(), false)?, true))),
        Some(9) if is_command => (modal(&data)?, None),
        Some(9) => return Err(ApiError::new(400, "A modal cannot answer a modal submit", 50035)),
        Some(other) => return Err(not_valid(other)),
        None => return Err(ApiError::invalid_form("type", "BASE_TYPE_REQUIRED", "This field is required")),
    };
    let type_code = kind.unwrap_or_default();
    let with_response = request.query_pairs().iter().any(|(k, v)| k == "with_response" && v == "true");
    let Some((answer, loading)) = reply else {
        // A modal or suggestions: acknowledged as they show.
        let mut opened = None;
        if let Some(interaction) = state.interactions.get_mut(&interaction_id) {
            if let Acknowledgement::Modal { title, .. } = &acknowledgement {
                opened = Some(MessageEvent::ModalOpened {
                    interaction: interaction_id,
                    channel_id: interaction.record.channel_id,
                    user_id: interaction.record.user,
                    title: title.clone(),
                });
            }
            interaction.record.acknowledgement = Some(acknowledgement);
        }
        drop(state);
        if let Some(opened) = opened {
            let _ = shared.activity.send(opened);
        }
        return Ok(callback_response(with_response, interaction_id, interaction_type, type_code, None));
    };
    let ephemeral = answer.ephemeral;
    let message = add_reply(shared, state, interaction_id, answer, Some(acknowledgement), loading)?;
    let resource = json!({
        "id": interaction_id.to_string(),
        "ephemeral": ephemeral,
        "message": message,
        "loading": loading,
    });
    Ok(callback_response(with_response, interaction_id, interaction_type, type_code, Some(resource)))
}

/// The callback's answer: 204, or with `?with_response=true` the interaction callback response object.
fn callback_response(
    with_response: bool,
    id: InteractionId,
    interaction_type: u64,
    type_code: u64,
    message: Option<Value>,
) -> Response {
    if !with_response {
        return Response::empty(204);
    }
    let mut interaction = json!({"id": id.to_string(), "type": interaction_type});
    let resource = match message {
        Some(resource) => {
            interaction["response_message_id"] = resource["message"]["id"].clone();
            interaction["response_message_loading"] = resource["loading"].clone();
            interaction["response_message_ephemeral"] = resource["ephemeral"].clone();
            json!({"type": type_code, "message": resource["message"]})
        }
        None => json!({"type": type_code}),
    };
    Response::json(200, &json!({"interaction": interaction, "resource": resource}))
}

/// The reply a webhook message path names: `@original` or a follow-up's id.
fn reply_index(state: &State, id: InteractionId, message: &str) -> Result<usize, ApiError> {
    let interaction = state.interactions.get(&id).ok_or_else(unknown_webhook)?;
    let found = if message == "@original" {
        interaction.record.replies.iter().position(|r| r.original)
    } else {
        let message = MessageId(parse_snowflake(message, "message_id")?);
        interaction.record.replies.iter().position(|r| r.id == message)
    };
    found
        .filter(|i| !interaction.record.replies[*i].deleted)
        .ok_or_else(|| ApiError::new(404, "Unknown Message", 10008))
}

/// `POST /webhooks/{app}/{token}`: a follow-up, once the interaction is acknowledged.
pub(super) fn followup(shared: &Shared, request: &Request, app: &str, token: &str) -> ApiResult {
    let mut state = shared.lock();
    let id = by_token(&mut state, app, token)?;
    // Suggestions end an autocomplete interaction: nothing follows them.
    let answerable =
        |i: &InteractionState| !matches!(i.record.acknowledgement, None | Some(Acknowledgement::Suggestions(_)));
    if !state.interactions.get(&id).is_some_and(answerable) {
        return Err(unknown_webhook());
    }
    let (body, files) = message_request(request)?;
    let answer = answer(&body, files, true)?;
    Ok(Response::json(200, &add_reply(shared, state, id, answer, None, false)?))
}

/// `GET /webhooks/{app}/{token}/messages/{@original|id}`.
pub(super) fn get(shared: &Shared, app: &str, token: &str, message: &str) -> ApiResult {
    let mut state = shared.lock();
    let id = by_token(&mut state, app, token)?;
    let index = reply_index(&state, id, message)?;
    let interaction = &state.interactions[&id];
    let reply = &interaction.record.replies[index];
    Ok(Response::json(200, &reply_payload(&state, interaction.record.channel_id, reply)))
}

fn reply_payload(state: &State, channel: crate::ids::ChannelId, reply: &InteractionReply) -> Value {
    if reply.ephemeral {
        return ephemeral_payload(state, reply.id, channel, &reply.content, reply.loading);
    }
    match state.message(channel, reply.id) {
        Ok(message) => crate::payload::message(state, message, false),
        Err(_) => ephemeral_payload(state, reply.id, channel, &reply.content, reply.loading),
    }
}

/// `PATCH /webhooks/{app}/{token}/messages/{@original|id}`: new content; a deferred answer stops "thinking".
pub(super) fn edit(shared: &Shared, request: &Request, app: &str, token: &str, message: &str) -> ApiResult {
    let mut state = shared.lock();
    let id = by_token(&mut state, app, token)?;
    let index = reply_index(&state, id, message)?;
    let (body, _files) = message_request(request)?;
    let (channel, guild, user) = {
        let i = &state.interactions[&id];
        (i.record.channel_id, i.guild_id, i.record.user)
    };
    let current = state.interactions[&id].record.replies[index].clone();
    let content = content_field(&body)?.unwrap_or(current.content.clone());
    if content.is_empty() {
        return Err(ApiError::new(400, "Cannot send an empty message", 50006));
    }
    let allowed = body.get("allowed_mentions").cloned().filter(|v| !v.is_null());
    let pinged = pings(&state, guild, &content, allowed.as_ref(), None)?;
    let reply = InteractionReply {
        content: content.clone(),
        loading: false,
        edits: current.edits + 1,
        allowed_mentions: allowed,
        pinged_users: pinged.users.clone(),
        pinged_roles: pinged.roles.clone(),
        pinged_everyone: pinged.everyone,
        ..current
    };
    if let Some(interaction) = state.interactions.get_mut(&id) {
        interaction.record.replies[index] = reply.clone();
    }
    if reply.ephemeral {
        let payload = ephemeral_payload(&state, reply.id, channel, &content, false);
        drop(state);
        let _ = shared.activity.send(MessageEvent::Ephemeral { channel_id: channel, user_id: user, content });
        return Ok(Response::json(200, &payload));
    }
    let Ok(stored) = state.message(channel, reply.id) else {
        return Err(ApiError::new(404, "Unknown Message", 10008));
    };
    let mut updated = stored.clone();
    updated.content = content;
    updated.mentioned_users = pinged.users;
    updated.mentioned_roles = pinged.roles;
    updated.mention_everyone = pinged.everyone;
    updated.edited_timestamp = Some(crate::clock::format_timestamp(crate::ids::unix_millis_now()));
    if let Some(slot) = state.channels.get_mut(&channel).and_then(|c| c.messages.get_mut(&reply.id)) {
        *slot = updated.clone();
    }
    let payload = crate::payload::message(&state, &updated, false);
    shared.publish_updated(&updated, state);
    Ok(Response::json(200, &payload))
}

/// `DELETE /webhooks/{app}/{token}/messages/{@original|id}`.
pub(super) fn delete(shared: &Shared, app: &str, token: &str, message: &str) -> ApiResult {
    let mut state = shared.lock();
    let id = by_token(&mut state, app, token)?;
    let index = reply_index(&state, id, message)?;
    let (channel, guild) = {
        let i = &state.interactions[&id];
        (i.record.channel_id, i.guild_id)
    };
    let reply = {
        let interaction = state.interactions.get_mut(&id).ok_or_else(unknown_webhook)?;
        let reply = &mut interaction.record.replies[index];
        reply.deleted = true;
        reply.clone()
    };
    let removed =
        !reply.ephemeral && state.channels.get_mut(&channel).and_then(|c| c.messages.remove(&reply.id)).is_some();
    if removed {
        shared.publish_deleted(channel, guild, reply.id, state);
    } else {
        drop(state);
    }
    Ok(Response::empty(204))
}
