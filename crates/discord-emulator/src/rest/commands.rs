//! Application commands: listing and bulk-overwriting the global commands and a guild's, as Discord does (a command
//! keeps its id across overwrites while its name stays; every overwrite is counted, so that tests can tell a bot that
//! registers only when its definitions changed).

use serde_json::{Value, json};

use super::{ApiError, ApiResult, find_guild, parse_snowflake};
use crate::http::{Request, Response};
use crate::state::{CommandScope, Shared, State};

/// Most commands of one scope (Discord's limit for chat-input commands).
const MAX_COMMANDS: usize = 100;

fn application(state: &State, id: &str) -> Result<(), ApiError> {
    let id = parse_snowflake(id, "application_id")?;
    if id == state.config.bot.application_id { Ok(()) } else { Err(ApiError::new(404, "Unknown Application", 10002)) }
}

fn scope(state: &State, guild: Option<&str>) -> Result<CommandScope, ApiError> {
    match guild {
        None => Ok(CommandScope::Global),
        Some(id) => Ok(CommandScope::Guild(find_guild(state, id)?.id.get())),
    }
}

/// `GET /applications/{app}/commands` and `GET /applications/{app}/guilds/{guild}/commands`.
pub(super) fn list(shared: &Shared, app: &str, guild: Option<&str>) -> ApiResult {
    let state = shared.lock();
    application(&state, app)?;
    let scope = scope(&state, guild)?;
    Ok(Response::json(200, &Value::Array(state.commands.get(&scope).cloned().unwrap_or_default())))
}

/// Checks the options of a command as Discord does: at most 25 choices each, and an option that autocompletes
/// offers no choices (its suggestions come from the bot as the user types).
fn check_options(index: usize, command: &Value) -> Result<(), ApiError> {
    let options = command.get("options").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for (i, option) in options.iter().enumerate() {
        let field = |name: &str| format!("{index}.options.{i}.{name}");
        let choices = option.get("choices").and_then(Value::as_array).map_or(0, Vec::len);
        if choices > 25 {
            return Err(ApiError::invalid_form(
                &field("choices"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ));
        }
        if choices > 0 && option.get("autocomplete") == Some(&Value::Bool(true)) {
            return Err(ApiError::invalid_form(
                &field("autocomplete"),
                "APPLICATION_COMMAND_OPTION_INVALID",
                "Autocomplete cannot be set on an option with choices.",
            ));
        }
    }
    Ok(())
}

/// Checks one command definition as Discord does for chat-input commands: a lower-case name of 1 to 32 characters,
/// a description of 1 to 100, options as [`check_options`] says.
fn check(index: usize, command: &Value) -> Result<(), ApiError> {
    let field = |name: &str| format!("{index}.{name}");
    let name = command.get("name").and_then(Value::as_str).unwrap_or_default();
    let valid_name = (1..=32).contains(&name.chars().count())
        && name.chars().all(|c| c.is_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_name {
        return Err(ApiError::invalid_form(
            &field("name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        ));
    }
    let kind = command.get("type").and_then(Value::as_u64).unwrap_or(1);
    let description = command.get("description").and_then(Value::as_str).unwrap_or_default();
    if kind == 1 && !(1..=100).contains(&description.chars().count()) {
        return Err(ApiError::invalid_form(
            &field("description"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    check_options(index, command)
}

/// `PUT /applications/{app}/commands` and `PUT /applications/{app}/guilds/{guild}/commands`: replaces every command
/// of the scope with the body's, keeping the ids of names that stay.
pub(super) fn overwrite(shared: &Shared, request: &Request, app: &str, guild: Option<&str>) -> ApiResult {
    let mut state = shared.lock();
    application(&state, app)?;
    let scope = scope(&state, guild)?;
    let body: Value =
        serde_json::from_slice(&request.body).map_err(|_| ApiError::new(400, "400: Bad Request", 50109))?;
    let Some(definitions) = body.as_array() else {
        return Err(ApiError::invalid_form("_root", "MODEL_TYPE_CONVERT", "Only iterables may be used in a ListType"));
    };
    if definitions.len() > MAX_COMMANDS {
        return Err(ApiError::invalid_form("_root", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."));
    }
    for (index, command) in definitions.iter().enumerate() {
        check(index, command)?;
    }
    let application_id = state.config.bot.application_id;
    let previous = state.commands.get(&scope).cloned().unwrap_or_default();
    let mut stored = Vec::with_capacity(definitions.len());
    for definition in definitions {
        let name = definition["name"].as_str().unwrap_or_default();
        let kept = previous.iter().find(|c| c["name"] == name).and_then(|c| c["id"].as_str()).map(str::to_owned);
        let id = kept.unwrap_or_else(|| state.next_id().to_string());
        let mut command = definition.clone();
        command["id"] = json!(id);
        command["application_id"] = json!(application_id.to_string());
        command["type"] = json!(definition.get("type").and_then(Value::as_u64).unwrap_or(1));
        command["version"] = json!(state.next_id().to_string());
        command["default_member_permissions"] =
            definition.get("default_member_permissions").cloned().unwrap_or(Value::Null);
        command["nsfw"] = definition.get("nsfw").cloned().unwrap_or(json!(false));
        if let CommandScope::Guild(guild_id) = scope {
            command["guild_id"] = json!(guild_id.to_string());
        }
        stored.push(command);
    }
    state.commands.insert(scope, stored.clone());
    state.command_overwrites += 1;
    Ok(Response::json(200, &Value::Array(stored)))
}
