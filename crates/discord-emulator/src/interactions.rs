//! Interactions: slash commands, typing into an autocompleted option, and modal submits made by scripted users,
//! checked against the registered command definitions as Discord's client checks them, dispatched as
//! INTERACTION_CREATE, and the record of what the bot answered (the callback, edits of the original answer,
//! follow-ups).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::emulator::{Emulator, wait_until};
use crate::error::EmulatorError;
use crate::ids::{ChannelId, GuildId, InteractionId, MessageId, RoleId, UserId};
use crate::model::AttachmentSpec;
use crate::payload;
use crate::state::{CommandScope, State, fnv1a};

/// Discord's `flags` bit of an ephemeral message (only the invoking user sees it).
pub(crate) const EPHEMERAL: u64 = 1 << 6;

/// The value a scripted user gives a command option.
#[derive(Clone, Debug)]
pub enum OptionValue {
    /// A string option (type 3), or any option given as typed text: it is converted to the option's type.
    String(String),
    /// An integer option (type 4).
    Integer(i64),
    /// A boolean option (type 5).
    Boolean(bool),
    /// An attachment option (type 11): the file is uploaded with the command.
    Attachment(AttachmentSpec),
}

impl From<&str> for OptionValue {
    fn from(text: &str) -> Self {
        Self::String(text.to_owned())
    }
}

impl From<String> for OptionValue {
    fn from(text: String) -> Self {
        Self::String(text)
    }
}

impl From<i64> for OptionValue {
    fn from(value: i64) -> Self {
        Self::Integer(value)
    }
}

impl From<AttachmentSpec> for OptionValue {
    fn from(file: AttachmentSpec) -> Self {
        Self::Attachment(file)
    }
}

/// What started an interaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InteractionKind {
    /// A slash command, by name.
    Command {
        /// The command's name.
        name: String,
        /// The options as dispatched, by name (an attachment as its id).
        options: Vec<(String, Value)>,
    },
    /// A user typing into an option that autocompletes (type 4): the bot is asked for suggestions.
    Autocomplete {
        /// The command's name.
        name: String,
        /// The option being typed into.
        option: String,
        /// What is typed so far.
        typed: String,
    },
    /// A modal the bot opened, submitted.
    ModalSubmit {
        /// The modal's `custom_id`.
        custom_id: String,
        /// The interaction whose answer opened the modal.
        opened_by: InteractionId,
    },
}

impl InteractionKind {
    /// Discord's interaction type: 2 for a command, 4 for autocomplete, 5 for a modal submit.
    #[must_use]
    pub fn type_code(&self) -> u64 {
        match self {
            Self::Command { .. } => 2,
            Self::Autocomplete { .. } => 4,
            Self::ModalSubmit { .. } => 5,
        }
    }
}

/// A text field of a modal the bot opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModalInput {
    /// The field's `custom_id`.
    pub custom_id: String,
    /// Its label.
    pub label: String,
    /// `true` for a paragraph (style 2), `false` for one line.
    pub paragraph: bool,
    /// Whether the user must fill it.
    pub required: bool,
    /// Most characters accepted.
    pub max_length: Option<u64>,
    /// Whether the field sits in a label component (type 18, Discord's current form) rather than an action row
    /// (type 1); the submit answers in the same shape.
    pub labelled: bool,
}

/// How the bot acknowledged an interaction (its callback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acknowledgement {
    /// Type 4: a message at once.
    Message,
    /// Type 5: "thinking…", the message comes with an edit of the original answer.
    Deferred,
    /// Type 9: a modal opened for the user.
    Modal {
        /// The modal's `custom_id`.
        custom_id: String,
        /// Its title.
        title: String,
        /// Its text fields.
        inputs: Vec<ModalInput>,
    },
    /// Type 8: suggestions for an option being typed into, in the order shown.
    Suggestions(Vec<Suggestion>),
}

/// One suggestion the bot offered for an autocompleted option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// What the user sees.
    pub name: String,
    /// What the option gets when the user picks it.
    pub value: Value,
}

/// A message answering an interaction: the original answer or a follow-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionReply {
    /// The message id.
    pub id: MessageId,
    /// Whether this is the original answer (the callback's message, edited through `@original`).
    pub original: bool,
    /// The text as it stands.
    pub content: String,
    /// Whether only the invoking user sees it (flag 64); ephemeral answers never enter the channel's history.
    pub ephemeral: bool,
    /// Whether it is still "thinking…" (deferred and not edited yet).
    pub loading: bool,
    /// Whether the bot deleted it.
    pub deleted: bool,
    /// How many times the bot edited it.
    pub edits: u32,
    /// The `allowed_mentions` of its last write.
    pub allowed_mentions: Option<Value>,
    /// Users it pinged.
    pub pinged_users: Vec<UserId>,
    /// Roles it pinged.
    pub pinged_roles: Vec<RoleId>,
    /// Whether it pinged `@everyone`/`@here`.
    pub pinged_everyone: bool,
    /// The names of the files uploaded with it (a public answer's are in the channel's message, served like any
    /// attachment).
    pub files: Vec<String>,
}

impl InteractionReply {
    /// Whether it pinged anyone.
    #[must_use]
    pub fn pings_anyone(&self) -> bool {
        !self.pinged_users.is_empty() || !self.pinged_roles.is_empty() || self.pinged_everyone
    }
}

/// An interaction and everything the bot answered to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionRecord {
    /// The interaction.
    pub id: InteractionId,
    /// What started it.
    pub kind: InteractionKind,
    /// Who invoked it.
    pub user: UserId,
    /// Where.
    pub channel_id: ChannelId,
    /// The bot's callback, once accepted.
    pub acknowledgement: Option<Acknowledgement>,
    /// The original answer (when the callback made one) and the follow-ups, in order.
    pub replies: Vec<InteractionReply>,
    /// Callbacks refused: a second one, or one after the deadline.
    pub refused_callbacks: u32,
}

impl InteractionRecord {
    /// The original answer.
    #[must_use]
    pub fn original(&self) -> Option<&InteractionReply> {
        self.replies.iter().find(|r| r.original)
    }

    /// The answers not deleted, in order.
    #[must_use]
    pub fn visible_replies(&self) -> Vec<&InteractionReply> {
        self.replies.iter().filter(|r| !r.deleted).collect()
    }

    /// Whether the interaction is answered for the user: a modal opened, suggestions shown, or a message (original
    /// or follow-up) that is neither deleted nor still "thinking…".
    #[must_use]
    pub fn is_answered(&self) -> bool {
        matches!(self.acknowledgement, Some(Acknowledgement::Modal { .. } | Acknowledgement::Suggestions(_)))
            || self.replies.iter().any(|r| !r.deleted && !r.loading)
    }
}

/// An interaction as the emulator keeps it.
#[derive(Debug)]
pub(crate) struct InteractionState {
    pub(crate) record: InteractionRecord,
    pub(crate) token: String,
    pub(crate) guild_id: GuildId,
    pub(crate) created: Instant,
}

/// The registered definition of `name` where `channel`'s guild sees it: the guild's own first, then the global one.
fn definition(state: &State, guild: GuildId, name: &str) -> Option<Value> {
    [CommandScope::Guild(guild.get()), CommandScope::Global]
        .iter()
        .filter_map(|scope| state.commands.get(scope))
        .find_map(|commands| commands.iter().find(|c| c["name"] == name && c["type"] == 1).cloned())
}

fn invalid(command: &str, problem: String) -> EmulatorError {
    EmulatorError::InvalidOptions { command: command.to_owned(), problem }
}

/// Checks a string value against an option's choices and length bounds.
fn check_string(command: &str, definition: &Value, name: &str, text: &str) -> Result<(), EmulatorError> {
    if let Some(choices) = definition["choices"].as_array().filter(|c| !c.is_empty())
        && !choices.iter().any(|c| c["value"] == text)
    {
        let offered: Vec<&str> = choices.iter().filter_map(|c| c["value"].as_str()).collect();
        return Err(invalid(command, format!("`{name}` must be one of {offered:?}, not `{text}`")));
    }
    let length = text.chars().count() as u64;
    let min = definition["min_length"].as_u64().unwrap_or(if text.is_empty() { 1 } else { 0 });
    let max = definition["max_length"].as_u64().unwrap_or(6000);
    if length < min.max(1) || length > max {
        return Err(invalid(command, format!("`{name}` must be {} to {max} characters long", min.max(1))));
    }
    Ok(())
}

/// Checks an integer value against an option's bounds and choices.
fn check_integer(command: &str, definition: &Value, name: &str, value: i64) -> Result<(), EmulatorError> {
    let min = definition["min_value"].as_i64().unwrap_or(i64::MIN);
    let max = definition["max_value"].as_i64().unwrap_or(i64::MAX);
    if value < min || value > max {
        return Err(invalid(command, format!("`{name}` must be between {min} and {max}")));
    }
    if let Some(choices) = definition["choices"].as_array().filter(|c| !c.is_empty())
        && !choices.iter().any(|c| c["value"].as_i64() == Some(value))
    {
        return Err(invalid(command, format!("`{name}` must be one of the offered choices")));
    }
    Ok(())
}

/// The guild of `channel`, and the registered definition of `/name` there with its options, for `user`, who must
/// exist.
fn registered(
    state: &State,
    channel: ChannelId,
    user: UserId,
    name: &str,
) -> Result<(GuildId, Value, Vec<Value>), EmulatorError> {
    let guild = state.channel(channel)?.guild_id;
    if !state.users.contains_key(&user) {
        return Err(EmulatorError::UnknownUser(user));
    }
    let command = definition(state, guild, name).ok_or_else(|| EmulatorError::UnknownCommand(name.to_owned()))?;
    let options = command["options"].as_array().cloned().unwrap_or_default();
    Ok((guild, command, options))
}

/// The `data` of an interaction with the chat-input command `command`, named `name`, and these options.
fn command_data(command: &Value, name: &str, options: Vec<Value>) -> Value {
    let mut data = json!({"id": command["id"], "name": name, "type": 1, "options": options});
    if let Some(guild_id) = command.get("guild_id").filter(|g| !g.is_null()) {
        data["guild_id"] = guild_id.clone();
    }
    data
}

/// A slash command invoked by `user` in `channel`: checked against its registered definition, its attachments
/// uploaded, its INTERACTION_CREATE dispatched. Returns the interaction's id.
pub(crate) fn invoke(
    state: &mut State,
    channel: ChannelId,
    user: UserId,
    name: &str,
    options: Vec<(String, OptionValue)>,
) -> Result<InteractionId, EmulatorError> {
    let (guild, command, defined) = registered(state, channel, user, name)?;
    for option in &defined {
        let option_name = option["name"].as_str().unwrap_or_default();
        if option["required"] == true && !options.iter().any(|(n, _)| n == option_name) {
            return Err(invalid(name, format!("option `{option_name}` is required")));
        }
    }
    let mut data_options = Vec::new();
    let mut given = Vec::new();
    let mut resolved = serde_json::Map::new();
    for (option_name, value) in options {
        let Some(definition) = defined.iter().find(|o| o["name"] == option_name.as_str()) else {
            return Err(invalid(name, format!("there is no option `{option_name}`")));
        };
        let kind = definition["type"].as_u64().unwrap_or(3);
        let value = match (kind, value) {
            (3, OptionValue::String(text)) => {
                check_string(name, definition, &option_name, &text)?;
                json!(text)
            }
            (4, OptionValue::Integer(number)) => {
                check_integer(name, definition, &option_name, number)?;
                json!(number)
            }
            (4, OptionValue::String(text)) => {
                let number = text
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| invalid(name, format!("`{option_name}` must be a whole number, not `{text}`")))?;
                check_integer(name, definition, &option_name, number)?;
                json!(number)
            }
            (5, OptionValue::Boolean(flag)) => json!(flag),
            (5, OptionValue::String(text)) => match text.trim() {
                "true" | "yes" => json!(true),
                "false" | "no" => json!(false),
                _ => return Err(invalid(name, format!("`{option_name}` must be true or false"))),
            },
            (11, OptionValue::Attachment(file)) => {
                let stored = state.store_attachment(channel, file);
                let id = stored.id.to_string();
                resolved.insert(id.clone(), payload::attachment(&stored));
                json!(id)
            }
            (kind, given) => {
                return Err(invalid(name, format!("`{option_name}` (option type {kind}) cannot take {given:?}")));
            }
        };
        given.push((option_name.clone(), value.clone()));
        data_options.push(json!({"name": option_name, "type": kind, "value": value}));
    }
    let mut data = command_data(&command, name, data_options);
    if !resolved.is_empty() {
        data["resolved"] = json!({"attachments": resolved});
    }
    let kind = InteractionKind::Command { name: name.to_owned(), options: given };
    Ok(create(state, channel, guild, user, kind, data))
}

/// `user` types `typed` into the option `option` of `/name` in `channel`: the option must autocomplete (Discord
/// sends nothing for one that does not) and `typed` fit its length bound; the bot gets an INTERACTION_CREATE of type 4
/// with the option marked focused. Returns the interaction's id.
pub(crate) fn autocomplete(
    state: &mut State,
    channel: ChannelId,
    user: UserId,
    name: &str,
    option: &str,
    typed: &str,
) -> Result<InteractionId, EmulatorError> {
    let (guild, command, defined) = registered(state, channel, user, name)?;
    let Some(definition) = defined.iter().find(|o| o["name"] == option) else {
        return Err(invalid(name, format!("there is no option `{option}`")));
    };
    if definition["autocomplete"] != true {
        return Err(invalid(name, format!("`{option}` does not autocomplete")));
    }
    let max = definition["max_length"].as_u64().unwrap_or(6000);
    if typed.chars().count() as u64 > max {
        return Err(invalid(name, format!("`{option}` takes at most {max} characters")));
    }
    let focused = json!({"name": option, "type": definition["type"], "value": typed, "focused": true});
    let data = command_data(&command, name, vec![focused]);
    let kind =
        InteractionKind::Autocomplete { name: name.to_owned(), option: option.to_owned(), typed: typed.to_owned() };
    Ok(create(state, channel, guild, user, kind, data))
}

/// `user` submits the modal the bot opened in answer to `opened_by`, with a value for some of its fields (by
/// `custom_id`). Returns the new interaction's id.
pub(crate) fn submit_modal(
    state: &mut State,
    opened_by: InteractionId,
    values: Vec<(String, String)>,
) -> Result<InteractionId, EmulatorError> {
    let problem = |problem: &str| EmulatorError::Interaction { id: opened_by, problem: problem.to_owned() };
    let opener = state.interactions.get(&opened_by).ok_or_else(|| problem("unknown interaction"))?;
    let Some(Acknowledgement::Modal { custom_id, inputs, .. }) = &opener.record.acknowledgement else {
        return Err(problem("the bot opened no modal for it"));
    };
    let (channel, guild, user, custom_id) =
        (opener.record.channel_id, opener.guild_id, opener.record.user, custom_id.clone());
    let mut rows = Vec::new();
    for (i, input) in (0..).zip(inputs) {
        let value = values.iter().find(|(id, _)| *id == input.custom_id).map(|(_, v)| v.as_str()).unwrap_or("");
        if input.required && value.trim().is_empty() {
            return Err(problem(&format!("the field `{}` is required", input.label)));
        }
        if input.max_length.is_some_and(|max| value.chars().count() as u64 > max) {
            return Err(problem(&format!("the field `{}` is too long", input.label)));
        }
        let field = json!({"type": 4, "id": 2 * i + 2, "custom_id": input.custom_id, "value": value});
        rows.push(if input.labelled {
            json!({"type": 18, "id": 2 * i + 1, "component": field})
        } else {
            json!({"type": 1, "id": 2 * i + 1, "components": [field]})
        });
    }
    if let Some((unknown, _)) = values.iter().find(|(id, _)| !inputs.iter().any(|i| i.custom_id == *id)) {
        return Err(problem(&format!("the modal has no field `{unknown}`")));
    }
    let data = json!({"custom_id": custom_id, "components": rows});
    let kind = InteractionKind::ModalSubmit { custom_id, opened_by };
    Ok(create(state, channel, guild, user, kind, data))
}

/// Records a new interaction and dispatches its INTERACTION_CREATE to the sessions of the guild's shard (no intent
/// is needed for interactions).
fn create(
    state: &mut State,
    channel: ChannelId,
    guild: GuildId,
    user: UserId,
    kind: InteractionKind,
    data: Value,
) -> InteractionId {
    let id = InteractionId(state.next_id());
    let token = format!("aW50ZXJhY3Rpb24.{:016x}{:016x}", id.get(), fnv1a(&id.get().to_le_bytes()) ^ state.url_secret);
    let member = state.user(user).map(|view| {
        let mut member = payload::member(state, &view, true);
        member["permissions"] = json!("2248473465835073");
        member
    });
    let channel_payload = state.config.guilds.iter().find_map(|g| {
        g.channels.iter().position(|c| c.id == channel).map(|i| payload::channel(g.id, &g.channels[i], i))
    });
    let d = json!({
        "id": id.to_string(),
        "application_id": state.config.bot.application_id.to_string(),
        "type": kind.type_code(),
        "token": token,
        "version": 1,
        "data": data,
        "guild_id": guild.to_string(),
        "guild": {"id": guild.to_string(), "features": [], "locale": "en-US"},
        "guild_locale": "en-US",
        "locale": "en-US",
        "channel_id": channel.to_string(),
        "channel": channel_payload,
        "member": member,
        "app_permissions": "2248473465835073",
        "attachment_size_limit": 26_214_400,
        "authorizing_integration_owners": {"0": guild.to_string()},
        "context": 0,
        "entitlements": [],
    });
    let record = InteractionRecord {
        id,
        kind,
        user,
        channel_id: channel,
        acknowledgement: None,
        replies: Vec::new(),
        refused_callbacks: 0,
    };
    state.interactions.insert(id, InteractionState { record, token, guild_id: guild, created: Instant::now() });
    state.dispatch_to_guild_sessions("INTERACTION_CREATE", guild, &d);
    id
}

impl Emulator {
    /// A scripted user invokes a slash command in `channel`, with options by name. The command must be registered
    /// (for the channel's guild or globally) and the options must be what its definition accepts — required ones
    /// present, a choice where choices are offered, numbers within bounds — as Discord's client enforces; a value
    /// given as text is converted to the option's type (`"7"` for an integer option). Attachments are uploaded and
    /// sent resolved. The bot gets INTERACTION_CREATE; what it answers is in [`Self::interaction`].
    ///
    /// # Errors
    /// [`EmulatorError::UnknownCommand`], [`EmulatorError::InvalidOptions`], or an unknown channel or user.
    pub fn invoke_command(
        &self,
        channel: ChannelId,
        user: UserId,
        name: &str,
        options: Vec<(&str, OptionValue)>,
    ) -> Result<InteractionId, EmulatorError> {
        let options = options.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
        let mut state = self.shared.lock();
        let id = invoke(&mut state, channel, user, name, options)?;
        drop(state);
        self.shared.events_appended();
        Ok(id)
    }

    /// A scripted user types `typed` into the option `option` of the slash command `name` in `channel`, which must
    /// be registered with that option autocompleting; the bot gets the autocomplete interaction, and the suggestions
    /// it answers are in [`Self::interaction`] ([`Acknowledgement::Suggestions`]).
    ///
    /// # Errors
    /// [`EmulatorError::UnknownCommand`], [`EmulatorError::InvalidOptions`] (no such option, or it does not
    /// autocomplete), or an unknown channel or user.
    pub fn autocomplete(
        &self,
        channel: ChannelId,
        user: UserId,
        name: &str,
        option: &str,
        typed: &str,
    ) -> Result<InteractionId, EmulatorError> {
        let mut state = self.shared.lock();
        let id = autocomplete(&mut state, channel, user, name, option, typed)?;
        drop(state);
        self.shared.events_appended();
        Ok(id)
    }

    /// The user of `opened_by` submits the modal the bot opened in answer to it, with values by field `custom_id`.
    ///
    /// # Errors
    /// [`EmulatorError::Interaction`] when no modal was opened, a required field is empty or a value too long.
    pub fn submit_modal(
        &self,
        opened_by: InteractionId,
        values: Vec<(&str, &str)>,
    ) -> Result<InteractionId, EmulatorError> {
        let values = values.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        let mut state = self.shared.lock();
        let id = submit_modal(&mut state, opened_by, values)?;
        drop(state);
        self.shared.events_appended();
        Ok(id)
    }

    /// An interaction and what the bot answered so far.
    #[must_use]
    pub fn interaction(&self, id: InteractionId) -> Option<InteractionRecord> {
        self.shared.lock().interactions.get(&id).map(|i| i.record.clone())
    }

    /// Every interaction, oldest first.
    #[must_use]
    pub fn interactions(&self) -> Vec<InteractionRecord> {
        self.shared.lock().interactions.values().map(|i| i.record.clone()).collect()
    }

    /// Waits until the interaction satisfies `condition` (e.g. [`InteractionRecord::is_answered`]).
    ///
    /// # Errors
    /// [`EmulatorError::Timeout`] with the interaction as it stood.
    pub async fn wait_for_interaction(
        &self,
        id: InteractionId,
        timeout: Duration,
        condition: impl Fn(&InteractionRecord) -> bool,
    ) -> Result<InteractionRecord, EmulatorError> {
        wait_until(
            self.shared.rest_changed.subscribe(),
            timeout,
            || format!("interaction {id} to be answered; it stands as {:?}", self.interaction(id)),
            || self.interaction(id).filter(|record| condition(record)),
        )
        .await
    }
}
