//! A line console over a running emulator: type messages as a scripted user, see every message in the channels
//! (the bot's replies included) as it happens. Used by the standalone emulator (`examples/serve.rs`) and by
//! `plan-bot` in mock mode.
//!
//! Commands, one a line:
//! - `as <user> <text>`: post as a scripted user (by name or id); `\n` in the text starts a new line;
//! - `as <user> //<command> ...`: invoke the slash command `/<command>` as that user (see [`CONSOLE_HELP`] for how
//!   options are given); `form <text>` fills in the form (modal) the bot opened last;
//! - `edit <message id> <text>` and `delete <message id>`: change or remove a message of the current channel;
//! - `channel <id>`: post in another configured channel; `users`, `channels`, `help`.

use std::io::BufRead;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

use crate::config::UserSpec;
use crate::emulator::Emulator;
use crate::error::EmulatorError;
use crate::ids::{ChannelId, MessageId, UserId};
use crate::interactions::{Acknowledgement, OptionValue};
use crate::model::{MessageEvent, StoredMessage};

/// The usage text of the console.
pub const CONSOLE_HELP: &str = "\
commands:
  as <user> <text>         post as a user (name or id); write \\n for a new line
  as <user> //<cmd> ...    invoke the slash command /<cmd> as the user: words fill its options in order (an option
                           without choices takes the rest of the line), or name them: //plan coach:d text:Long
                           date:2025-11-10 chart:./spy.png (an attachment option takes a file path)
  form <text>              fill in the form the bot opened last (e.g. after //plan d without text)
  edit <message id> <text> edit a message of the current channel
  delete <message id>      delete a message of the current channel
  channel <id>             post in another channel from now on
  users | channels | help  list the users, the channels, or these commands";

/// Why a console line did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The first word is not a command.
    #[error("unknown command `{0}`; type `help`")]
    UnknownCommand(String),
    /// The command lacks an argument or has a malformed one.
    #[error("usage: {0}")]
    Usage(&'static str),
    /// No scripted user has that name or id.
    #[error("no user named `{0}`; type `users`")]
    UnknownUser(String),
    /// `form` without a form the bot opened.
    #[error("the bot opened no form to fill in; `as <user> //plan <coach>` without text opens one")]
    NoForm,
    /// An attachment option names a file that cannot be read.
    #[error("cannot read `{path}` to attach it")]
    File {
        /// The path given.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The emulator refused the change.
    #[error("the emulator refused it")]
    Emulator(#[source] EmulatorError),
}

/// Carries out console lines against an emulator, posting in one channel at a time.
#[derive(Debug)]
pub struct Console {
    emulator: Arc<Emulator>,
    channel: ChannelId,
}

impl Console {
    /// A console posting in the first channel of the first guild (the default channel of the default
    /// configuration).
    #[must_use]
    pub fn new(emulator: Arc<Emulator>) -> Self {
        let channel = emulator
            .guilds()
            .iter()
            .flat_map(|g| g.channels.iter().map(|c| c.id))
            .next()
            .unwrap_or(crate::EmulatorConfig::DEFAULT_CHANNEL);
        Self { emulator, channel }
    }

    /// The channel messages are posted in.
    #[must_use]
    pub fn channel(&self) -> ChannelId {
        self.channel
    }

    /// Carries out one line. Returns what to print, if anything: posts, edits and deletions show up through
    /// [`Self::describe`] as the emulator publishes them.
    ///
    /// # Errors
    /// [`ConsoleError`] when the line is not a valid command or the emulator refuses it.
    pub fn execute(&mut self, line: &str) -> Result<Option<String>, ConsoleError> {
        let line = line.trim();
        let (command, rest) = split_word(line);
        match command {
            "" => Ok(None),
            "help" | "?" => Ok(Some(CONSOLE_HELP.to_owned())),
            "as" => {
                let (who, text) = split_word(rest);
                if who.is_empty() || text.is_empty() {
                    return Err(ConsoleError::Usage("as <user> <text>"));
                }
                let user = self.user(who)?;
                let text = unescape(text);
                if let Some(command) = text.strip_prefix("//") {
                    invoke_slash(&self.emulator, self.channel, user.id, command, Vec::new())?;
                    return Ok(self.unheard());
                }
                self.emulator.post_message(self.channel, user.id, text, Vec::new()).map_err(ConsoleError::Emulator)?;
                Ok(self.unheard())
            }
            "edit" => {
                let (id, text) = split_word(rest);
                let id = id.parse::<u64>().map_err(|_| ConsoleError::Usage("edit <message id> <text>"))?;
                if text.is_empty() {
                    return Err(ConsoleError::Usage("edit <message id> <text>"));
                }
                self.emulator
                    .edit_message(self.channel, MessageId(id), unescape(text))
                    .map_err(ConsoleError::Emulator)?;
                Ok(self.unheard())
            }
            "delete" => {
                let id = rest.parse::<u64>().map_err(|_| ConsoleError::Usage("delete <message id>"))?;
                self.emulator.delete_message(self.channel, MessageId(id)).map_err(ConsoleError::Emulator)?;
                Ok(self.unheard())
            }
            "channel" => {
                let id = rest.parse::<u64>().map_err(|_| ConsoleError::Usage("channel <id>"))?;
                let channel = ChannelId(id);
                self.emulator.channel_messages(channel).map_err(ConsoleError::Emulator)?;
                self.channel = channel;
                Ok(Some(format!("posting in {}", self.channel_label(channel))))
            }
            "form" => {
                if rest.is_empty() {
                    return Err(ConsoleError::Usage("form <text>"));
                }
                let (opened_by, field) = open_form(&self.emulator, None).ok_or(ConsoleError::NoForm)?;
                let text = unescape(rest);
                self.emulator
                    .submit_modal(opened_by, vec![(field.as_str(), text.as_str())])
                    .map_err(ConsoleError::Emulator)?;
                Ok(self.unheard())
            }
            "users" => Ok(Some(self.users_text())),
            "channels" => Ok(Some(self.channels_text())),
            other => Err(ConsoleError::UnknownCommand(other.chars().take(30).collect())),
        }
    }

    /// A line (or several) describing channel activity, e.g. `#daily-plans [1234] ann: !plan d Long`.
    #[must_use]
    pub fn describe(&self, event: &MessageEvent) -> String {
        match event {
            MessageEvent::Created(message) => {
                let reply = message.reply_to.map(|id| format!(" ↩ {id}")).unwrap_or_default();
                let content = if message.content.is_empty() && message.attachments.is_empty() {
                    "(thinking…)"
                } else {
                    &message.content
                };
                format!(
                    "{} [{}] {}{reply}: {}",
                    self.channel_label(message.channel_id),
                    message.id,
                    self.author(message),
                    indent(content)
                )
            }
            MessageEvent::Updated(message) => {
                format!(
                    "{} [{}] {} (edited): {}",
                    self.channel_label(message.channel_id),
                    message.id,
                    self.author(message),
                    indent(&message.content)
                )
            }
            MessageEvent::Deleted { channel_id, message_id } => {
                format!("{} [{message_id}] deleted", self.channel_label(*channel_id))
            }
            MessageEvent::Ephemeral { channel_id, user_id, content } => format!(
                "{} (only {} sees it) 🤖 bot: {}",
                self.channel_label(*channel_id),
                self.user_name(*user_id),
                indent(content)
            ),
            MessageEvent::ModalOpened { channel_id, user_id, title, .. } => format!(
                "{} 🤖 bot opened the form “{title}” for {}: fill it in with `form <text>`",
                self.channel_label(*channel_id),
                self.user_name(*user_id)
            ),
        }
    }

    fn user_name(&self, user: UserId) -> String {
        self.emulator.users().into_iter().find(|u| u.id == user).map_or_else(|| user.to_string(), |u| u.username)
    }

    /// The users and the channels, for a banner.
    #[must_use]
    pub fn summary(&self) -> String {
        format!("{}\n{}", self.channels_text(), self.users_text())
    }

    /// Reads commands from standard input and prints the channels' activity on standard output, until standard
    /// input ends.
    pub async fn run_on_stdio(mut self) {
        let (lines_tx, mut lines) = mpsc::unbounded_channel::<String>();
        // Standard input blocks; a thread of its own keeps it off the runtime.
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut activity = self.emulator.subscribe_messages();
        loop {
            tokio::select! {
                line = lines.recv() => match line {
                    Some(line) => match self.execute(&line) {
                        Ok(Some(text)) => println!("{text}"),
                        Ok(None) => {}
                        Err(error) => println!("{}", error_chain(&error)),
                    },
                    None => break,
                },
                event = activity.recv() => match event {
                    Ok(event) => println!("{}", self.describe(&event)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => println!("({missed} messages not shown)"),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    }

    fn user(&self, who: &str) -> Result<UserSpec, ConsoleError> {
        let users = self.emulator.users();
        let by_id = who.parse::<u64>().ok().map(UserId);
        users
            .into_iter()
            .find(|u| Some(u.id) == by_id || u.username.eq_ignore_ascii_case(who))
            .ok_or_else(|| ConsoleError::UnknownUser(who.chars().take(30).collect()))
    }

    /// A note when no bot is connected to hear the change.
    fn unheard(&self) -> Option<String> {
        (self.emulator.gateway_stats().open_connections == 0)
            .then(|| "(no bot is connected: it will not see this until it catches up)".to_owned())
    }

    fn author(&self, message: &StoredMessage) -> String {
        if message.author_id == self.emulator.bot_id() {
            return "🤖 bot".to_owned();
        }
        self.emulator
            .users()
            .into_iter()
            .find(|u| u.id == message.author_id)
            .map_or_else(|| message.author_id.to_string(), |u| u.username)
    }

    fn channel_label(&self, channel: ChannelId) -> String {
        self.emulator
            .guilds()
            .iter()
            .flat_map(|g| g.channels.iter())
            .find(|c| c.id == channel)
            .map_or_else(|| format!("#{channel}"), |c| format!("#{}", c.name))
    }

    fn users_text(&self) -> String {
        let users = self.emulator.users();
        if users.is_empty() {
            return "no users".to_owned();
        }
        let mut text = String::from("users:");
        for user in users {
            let shown = user.nick.as_deref().or(user.global_name.as_deref()).unwrap_or(&user.username);
            let roles: Vec<String> = user.roles.iter().map(ToString::to_string).collect();
            let roles = if roles.is_empty() { String::new() } else { format!(", roles {}", roles.join(" ")) };
            let bot = if user.bot { ", a bot" } else { "" };
            text.push_str(&format!("\n  {} (id {}, shown as {shown}{roles}{bot})", user.username, user.id));
        }
        text
    }

    fn channels_text(&self) -> String {
        let mut text = String::from("channels:");
        for guild in self.emulator.guilds() {
            for channel in &guild.channels {
                let current = if channel.id == self.channel { "  <- posting here" } else { "" };
                text.push_str(&format!(
                    "\n  #{} (id {}) in {} (id {}){current}",
                    channel.name, channel.id, guild.name, guild.id
                ));
            }
        }
        text
    }
}

/// Invokes the slash command typed as `/<command> ...` (without its leading `/`, e.g. `plan d Long NVDA`) as `user`
/// in `channel`: words fill the command's options in their order, one word each except a free-text option (a string
/// without choices or autocomplete), which takes the rest of the line; `name:value` names an option (its value runs to the next `name:`); an
/// attachment option's value is a file path, and `files` fill the attachment options left, in order.
///
/// # Errors
/// [`ConsoleError`] when the command is not registered, a file cannot be read, or the emulator refuses the options.
pub fn invoke_slash(
    emulator: &Emulator,
    channel: ChannelId,
    user: UserId,
    line: &str,
    files: Vec<crate::AttachmentSpec>,
) -> Result<crate::InteractionId, ConsoleError> {
    let (name, rest) = split_word(line);
    if name.is_empty() {
        return Err(ConsoleError::Usage("//<command> [options]"));
    }
    let guild = emulator.guilds().into_iter().find(|g| g.channels.iter().any(|c| c.id == channel));
    let definition = [guild.map(|g| g.id), None]
        .into_iter()
        .flat_map(|scope| emulator.registered_commands(scope))
        .find(|c| c["name"] == name)
        .ok_or_else(|| ConsoleError::Emulator(EmulatorError::UnknownCommand(name.to_owned())))?;
    let defined: Vec<serde_json::Value> = definition["options"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = defined.iter().filter_map(|o| o["name"].as_str()).collect();
    let (positional, named) = split_named(rest, &names);
    let mut given: Vec<(String, String)> = Vec::new();
    let mut words = positional.trim();
    for option in &defined {
        if words.is_empty() {
            break;
        }
        let option_name = option["name"].as_str().unwrap_or_default();
        if option["type"] == 11 || named.iter().any(|(n, _)| n == option_name) {
            continue;
        }
        // An option that autocompletes names one thing, as one with choices does.
        let free_text = option["type"] == 3
            && option["choices"].as_array().is_none_or(Vec::is_empty)
            && option["autocomplete"] != true;
        let (value, rest) = if free_text { (words, "") } else { split_word(words) };
        given.push((option_name.to_owned(), value.to_owned()));
        words = rest;
    }
    let mut options: Vec<(String, OptionValue)> = given.into_iter().map(|(n, v)| (n, OptionValue::String(v))).collect();
    for (option_name, value) in named {
        let is_file = defined.iter().any(|o| o["name"] == option_name.as_str() && o["type"] == 11);
        let value = if is_file {
            let data = std::fs::read(&value).map_err(|source| ConsoleError::File { path: value.clone(), source })?;
            let filename = std::path::Path::new(&value)
                .file_name()
                .map_or_else(|| "file".to_owned(), |f| f.to_string_lossy().into_owned());
            OptionValue::Attachment(crate::AttachmentSpec::new(filename, data))
        } else {
            OptionValue::String(value)
        };
        options.push((option_name, value));
    }
    let free_slots = defined
        .iter()
        .filter(|o| o["type"] == 11)
        .filter_map(|o| o["name"].as_str())
        .filter(|n| !options.iter().any(|(given, _)| given == n))
        .map(str::to_owned)
        .collect::<Vec<_>>();
    if files.len() > free_slots.len() {
        return Err(ConsoleError::Usage("more files than the command takes"));
    }
    options.extend(free_slots.into_iter().zip(files).map(|(n, f)| (n, OptionValue::Attachment(f))));
    let options = options.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    emulator.invoke_command(channel, user, name, options).map_err(ConsoleError::Emulator)
}

/// The latest form the bot opened (for `user`, or anyone) that was not submitted yet, with its first field's
/// `custom_id`.
#[must_use]
pub fn open_form(emulator: &Emulator, user: Option<UserId>) -> Option<(crate::InteractionId, String)> {
    let interactions = emulator.interactions();
    let submitted = |id| {
        interactions
            .iter()
            .any(|r| matches!(r.kind, crate::InteractionKind::ModalSubmit { opened_by, .. } if opened_by == id))
    };
    interactions.iter().rev().filter(|r| user.is_none_or(|u| r.user == u)).find_map(|record| {
        match &record.acknowledgement {
            Some(Acknowledgement::Modal { inputs, .. }) if !submitted(record.id) => {
                inputs.first().map(|input| (record.id, input.custom_id.clone()))
            }
            _ => None,
        }
    })
}

/// Splits `name:value` pairs (for the option names given) off the end of a line: the text before the first pair,
/// and the pairs, each value running to the next pair.
fn split_named(line: &str, names: &[&str]) -> (String, Vec<(String, String)>) {
    let mut starts: Vec<(usize, &str)> = Vec::new();
    for name in names {
        let marker = format!("{name}:");
        let mut from = 0;
        while let Some(found) = line[from..].find(&marker) {
            let at = from + found;
            if at == 0 || line[..at].ends_with(char::is_whitespace) {
                starts.push((at, name));
            }
            from = at + marker.len();
        }
    }
    starts.sort_unstable();
    let Some(&(first, _)) = starts.first() else { return (line.to_owned(), Vec::new()) };
    let mut pairs = Vec::new();
    for (i, &(at, name)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(line.len(), |next| next.0);
        pairs.push(((*name).to_owned(), line[at + name.len() + 1..end].trim().to_owned()));
    }
    (line[..first].to_owned(), pairs)
}

fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

/// `\n` becomes a new line, `\\` a backslash.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.replace('\n', "\n    ")
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = format!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmulatorConfig;

    #[test]
    fn escapes_make_new_lines() {
        assert_eq!(unescape(r"line 1\nline 2 \\n \x"), "line 1\nline 2 \\n \\x");
        assert_eq!(split_word("  as ann  hello there"), ("as", "ann  hello there"));
    }

    #[tokio::test]
    async fn lines_post_edit_and_delete_as_users() {
        let emulator = Arc::new(Emulator::start(EmulatorConfig::default().with_sample_users()).await.unwrap());
        let mut console = Console::new(Arc::clone(&emulator));
        let mut activity = emulator.subscribe_messages();
        let channel = EmulatorConfig::DEFAULT_CHANNEL;

        let note = console.execute(r"as ann !plan d Long\nabove 950").unwrap();
        assert!(note.is_some_and(|n| n.contains("no bot is connected")));
        let messages = emulator.channel_messages(channel).unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].content, "!plan d Long\nabove 950");
        assert_eq!(messages[0].author_id, UserId(1001));
        let shown = console.describe(&activity.recv().await.unwrap());
        assert_eq!(shown, format!("#daily-plans [{}] ann: !plan d Long\n    above 950", messages[0].id));

        console.execute("as 1003 hello").unwrap();
        assert_eq!(emulator.channel_messages(channel).unwrap()[1].author_id, UserId(1003));
        let id = messages[0].id;
        console.execute(&format!("edit {id} !plan d Short")).unwrap();
        assert_eq!(emulator.channel_messages(channel).unwrap()[0].content, "!plan d Short");
        console.execute(&format!("delete {id}")).unwrap();
        assert_eq!(emulator.channel_messages(channel).unwrap().len(), 1);

        let mut error = |line: &str| console.execute(line).unwrap_err().to_string();
        assert_eq!(error("as zed hi"), "no user named `zed`; type `users`");
        assert_eq!(error("as ann"), "usage: as <user> <text>");
        assert_eq!(error("shout hi"), "unknown command `shout`; type `help`");
        assert_eq!(error("channel 999"), "the emulator refused it");
        assert_eq!(error("delete 42"), "the emulator refused it");
        let users = console.execute("users").unwrap().unwrap();
        assert!(users.contains("mod (id 1003, shown as Moderator, roles 300)"), "{users}");
        emulator.shutdown().await;
    }

    #[tokio::test]
    async fn slash_lines_fill_options_in_order_or_by_name() {
        let emulator = Arc::new(Emulator::start(EmulatorConfig::default().with_sample_users()).await.unwrap());
        let plan = serde_json::json!({"name": "plan", "type": 1, "id": "1", "options": [
            {"type": 3, "name": "coach", "required": true, "choices": [{"name": "Day", "value": "d"}]},
            {"type": 3, "name": "text"},
            {"type": 3, "name": "date"},
            {"type": 11, "name": "chart"}]});
        emulator.shared.lock().commands.insert(crate::state::CommandScope::Global, vec![plan.clone()]);
        let mut console = Console::new(Arc::clone(&emulator));
        let mut activity = emulator.subscribe_messages();
        console.execute("as ann //plan d Long NVDA above 950").unwrap();
        console.execute("as ann //plan coach:d date:2025-11-10 text:Short SPY").unwrap();
        let options = |i: usize| match &emulator.interactions()[i].kind {
            crate::InteractionKind::Command { name, options } if name == "plan" => options
                .iter()
                .map(|(n, v)| format!("{n}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(" | "),
            other => panic!("{other:?}"),
        };
        assert_eq!(options(0), "coach=d | text=Long NVDA above 950");
        assert_eq!(options(1), "coach=d | date=2025-11-10 | text=Short SPY");
        // A coach that autocompletes (a roster too large for choices) is one word too.
        let typed_coach = serde_json::json!({"name": "plan", "type": 1, "id": "1", "options": [
            {"type": 3, "name": "coach", "required": true, "autocomplete": true},
            {"type": 3, "name": "text"}]});
        emulator.shared.lock().commands.insert(crate::state::CommandScope::Global, vec![typed_coach]);
        console.execute("as ann //plan desk7 Long QQQ").unwrap();
        assert_eq!(options(2), "coach=desk7 | text=Long QQQ");
        emulator.shared.lock().commands.insert(crate::state::CommandScope::Global, vec![plan.clone()]);
        assert_eq!(
            split_named("d Long text:x date: 2025-11-10", &["text", "date"]),
            (
                "d Long ".to_owned(),
                vec![("text".to_owned(), "x".to_owned()), ("date".to_owned(), "2025-11-10".to_owned())]
            )
        );
        assert_eq!(split_named("notes:x y", &["text"]), ("notes:x y".to_owned(), vec![]), "only option names count");
        let error = console.execute("as ann //plan x").unwrap_err();
        assert!(matches!(error, ConsoleError::Emulator(EmulatorError::InvalidOptions { .. })), "{error}");
        let error = console.execute("as ann //nope").unwrap_err();
        assert!(matches!(error, ConsoleError::Emulator(EmulatorError::UnknownCommand(_))), "{error}");
        assert!(matches!(console.execute("form text"), Err(ConsoleError::NoForm)));
        let shown = console.describe(&MessageEvent::Ephemeral {
            channel_id: EmulatorConfig::DEFAULT_CHANNEL,
            user_id: UserId(1001),
            content: "⚠️ no".to_owned(),
        });
        assert_eq!(shown, "#daily-plans (only ann sees it) 🤖 bot: ⚠️ no");
        assert!(activity.try_recv().is_err(), "invoking a command posts no message");
        emulator.shutdown().await;
    }
}
