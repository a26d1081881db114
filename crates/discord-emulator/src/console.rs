//! A line console over a running emulator: type messages as a scripted user, see every message in the channels
//! (the bot's replies included) as it happens. Used by the standalone emulator (`examples/serve.rs`) and by
//! `plan-bot` in mock mode.
//!
//! Commands, one a line:
//! - `as <user> <text>`: post as a scripted user (by name or id); `\n` in the text starts a new line;
//! - `edit <message id> <text>` and `delete <message id>`: change or remove a message of the current channel;
//! - `channel <id>`: post in another configured channel; `users`, `channels`, `help`.

use std::io::BufRead;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

use crate::config::UserSpec;
use crate::emulator::Emulator;
use crate::error::EmulatorError;
use crate::ids::{ChannelId, MessageId, UserId};
use crate::model::{MessageEvent, StoredMessage};

/// The usage text of the console.
pub const CONSOLE_HELP: &str = "\
commands:
  as <user> <text>         post as a user (name or id); write \\n for a new line
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
                format!(
                    "{} [{}] {}{reply}: {}",
                    self.channel_label(message.channel_id),
                    message.id,
                    self.author(message),
                    indent(&message.content)
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
        }
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
}
