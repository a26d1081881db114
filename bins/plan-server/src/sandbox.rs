//! `plan-server --sandbox`: the real pipeline (twilight bot, service, SQLite, HTTP API) against an embedded local
//! Discord, with a console where you type messages as a coach and see the bot's replies.
//!
//! The sandbox keeps the configured database, API address, roster, time zone and logs, so what is posted persists
//! like in a real deployment. It replaces only what ties the bot to a real Discord server: the token and URLs, the
//! guild/channel allow-lists and the coach posters (the sandbox's users are not real Discord users), and it makes
//! the sandbox's "Desk Admin" an admin.

use std::collections::HashMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::time::Duration;

use app::Settings;
use app::startup::{self, StartupError};
use discord_emulator::{
    AttachmentSpec, Emulator, EmulatorConfig, MessageEvent, MessageId, RoleId, StoredMessage, UserId, UserSpec,
};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use crate::console::{self, Input, LineJoiner};
use crate::demo;
use crate::serve::{self, Pipeline};

/// The channel the console posts in (the emulator's default `#daily-plans`).
const CHANNEL: discord_emulator::ChannelId = EmulatorConfig::DEFAULT_CHANNEL;
/// The role that makes a sandbox user an admin.
const ADMIN_ROLE: RoleId = RoleId(300);
/// The largest file `/attach` takes (Discord's upload limit without boosts).
const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
/// How long the console waits for the bot's first reply to a command.
const REPLY_WAIT: Duration = Duration::from_secs(15);
/// After a reply, how long the console waits for the rest of it (long replies come in several messages).
const REPLY_SETTLE: Duration = Duration::from_millis(400);

/// Someone the console can post as.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SandboxUser {
    /// What to type after `/as`.
    pub key: &'static str,
    /// Discord user id.
    pub id: u64,
    /// The name Discord shows.
    pub display_name: &'static str,
    /// Who they are in the sandbox.
    pub about: &'static str,
    /// Whether they have the admin role.
    pub admin: bool,
}

/// The sandbox's people: one coach per default roster entry, an admin and a trader with no special rights.
pub(crate) const USERS: &[SandboxUser] = &[
    SandboxUser { key: "ann", id: 1001, display_name: "Ann Carter", about: "Day Trading coach (d)", admin: false },
    SandboxUser { key: "ivan", id: 1002, display_name: "Ivan Petrov", about: "Intraday coach (i)", admin: false },
    SandboxUser { key: "sara", id: 1003, display_name: "Sara Lopez", about: "Swing coach (s)", admin: false },
    SandboxUser { key: "nick", id: 1004, display_name: "Nick Olsen", about: "News/Events coach (n)", admin: false },
    SandboxUser {
        key: "admin",
        id: 1005,
        display_name: "Desk Admin",
        about: "admin: may edit or delete any plan",
        admin: true,
    },
    SandboxUser {
        key: "guest",
        id: 1006,
        display_name: "Guest Trader",
        about: "a trader without special rights",
        admin: false,
    },
];

/// Finds a user by key, display name or id (case-insensitive).
pub(crate) fn find_user(who: &str) -> Option<&'static SandboxUser> {
    let who = who.trim().trim_start_matches('@');
    USERS.iter().find(|u| {
        u.key.eq_ignore_ascii_case(who) || u.display_name.eq_ignore_ascii_case(who) || u.id.to_string() == who
    })
}

/// The local Discord of the sandbox: the default guild and channel, the sandbox's users and the admin role.
fn emulator_config() -> EmulatorConfig {
    let mut config = EmulatorConfig::default().with_role(ADMIN_ROLE, "Plan Admin");
    for user in USERS {
        let mut spec = UserSpec::new(UserId(user.id), user.key).with_global_name(user.display_name);
        if user.admin {
            spec = spec.with_role(ADMIN_ROLE);
        }
        config = config.with_user(spec);
    }
    config
}

/// The settings with what ties the bot to a real Discord server replaced (see the module docs).
fn sandbox_settings(mut settings: Settings) -> Settings {
    settings.discord.guilds.clear();
    settings.discord.channels.clear();
    settings.discord.admin_roles.push(ADMIN_ROLE.0);
    for coach in &mut settings.plans.coaches {
        coach.posters.clear();
    }
    settings
}

/// Where the sandbox writes its logs: `log.file` when set, else `plan-server.log` beside the database.
pub(crate) fn log_file(settings: &Settings) -> std::path::PathBuf {
    settings.log.file.clone().unwrap_or_else(|| {
        let dir = settings.database.path.parent().filter(|d| !d.as_os_str().is_empty());
        dir.map_or_else(|| std::path::PathBuf::from("plan-server.log"), |d| d.join("plan-server.log"))
    })
}

/// Runs the sandbox until `/quit`, the end of a terminal's input, SIGINT or SIGTERM.
pub(crate) async fn run(settings: Settings, seed_demo: bool) -> Result<(), StartupError> {
    let settings = sandbox_settings(settings);
    let emulator = Emulator::start(emulator_config())
        .await
        .map_err(|e| StartupError::failed("cannot start the sandbox's local Discord", e))?;
    let bot_config = serve::local_bot_config(&settings, &emulator);
    let pipeline = Pipeline::start(&settings, bot_config).await?;
    let api_url = pipeline.api_url().to_owned();
    let service = pipeline.service().clone();
    let events = emulator.subscribe_messages();
    let interactive = std::io::stdin().is_terminal();
    let mut console = Console {
        emulator: &emulator,
        events,
        current: &USERS[0],
        attachments: Vec::new(),
        last_message: HashMap::new(),
        interactive,
        api_url: api_url.clone(),
        prefix: settings.discord.command_prefix.clone(),
        prefix_commands: settings.discord.prefix_commands,
        log: log_file(&settings),
    };
    let session = async {
        if emulator.wait_for_ready(Duration::from_secs(15)).await.is_err() {
            let log = log_file(&settings);
            eprintln!("error: the bot did not connect to the sandbox's local Discord; its log is {}", log.display());
            return;
        }
        // The slash commands exist once the bot registered them (a fresh local Discord has none).
        let registered =
            |call: &discord_emulator::RestCall| call.method == "PUT" && call.route().ends_with("/commands");
        if emulator.wait_for_rest_call(Duration::from_secs(15), "slash commands registered", registered).await.is_err()
        {
            let log = log_file(&settings);
            eprintln!("warning: the bot has not registered its slash commands; its log is {}", log.display());
        }
        console.banner(&settings);
        if seed_demo {
            demo::seed(&mut console, &service).await;
        }
        console.run().await;
    };
    let outcome = pipeline
        .run_until(async {
            tokio::select! {
                () = session => {}
                () = startup::shutdown_signal() => {}
            }
        })
        .await;
    emulator.shutdown().await;
    println!("sandbox stopped; the plans are kept in {}", app::store::shown(&settings));
    outcome
}

/// The console: reads lines, posts them as the current user, prints the bot's replies.
pub(crate) struct Console<'a> {
    emulator: &'a Emulator,
    events: broadcast::Receiver<MessageEvent>,
    current: &'static SandboxUser,
    attachments: Vec<AttachmentSpec>,
    last_message: HashMap<u64, MessageId>,
    interactive: bool,
    api_url: String,
    prefix: String,
    /// Whether the bot takes prefix commands (`discord.prefix_commands`); without them, only slash commands.
    prefix_commands: bool,
    /// Where the logs go.
    log: std::path::PathBuf,
}

impl Console<'_> {
    fn banner(&self, settings: &Settings) {
        let example = format!("{}/api/coach-plans/?coach=d", self.api_url);
        println!(
            "coach-plans sandbox: the bot, the HTTP API and the database, with a local Discord instead of the real one"
        );
        println!("  API:      {}", self.api_url);
        println!("  dashboard: {}/dashboard (the day's plans in a browser)", self.api_url);
        println!("  try:      curl '{example}'");
        println!("  database: {}", app::store::shown(settings));
        println!("  Discord:  guild \"Coach Plans\", channel #daily-plans (local)");
        let example = if self.prefix_commands {
            format!("{}plan d Long NVDA above 950 (or the slash command //plan d ...)", self.prefix)
        } else {
            "//plan d Long NVDA above 950 (slash commands only: discord.prefix_commands is false)".to_owned()
        };
        println!("You are {} ({}). Post a plan with e.g.: {example}", self.current.key, self.current.about);
        println!("Type /help for the console's commands, /users for who else you can be.");
        flush();
    }

    /// Reads and handles input until `/quit` or the end of a terminal's input. When input is piped and ends, the
    /// sandbox keeps serving (the API answers) until SIGINT or SIGTERM.
    async fn run(&mut self) {
        let mut lines = stdin_lines();
        let mut joiner = LineJoiner::default();
        loop {
            self.prompt(joiner.is_continuing());
            let line = tokio::select! {
                line = lines.recv() => line,
                event = self.events.recv() => {
                    self.show(event);
                    continue;
                }
            };
            let Some(line) = line else {
                if let Some(rest) = joiner.finish() {
                    self.handle(console::parse(&rest)).await;
                }
                if self.interactive {
                    println!();
                    return;
                }
                println!("(standard input ended; still serving on {} until Ctrl-C or SIGTERM)", self.api_url);
                flush();
                loop {
                    let event = self.events.recv().await;
                    if matches!(event, Err(broadcast::error::RecvError::Closed)) {
                        std::future::pending::<()>().await;
                    }
                    self.show(event);
                }
            };
            let Some(input) = joiner.push(&line) else { continue };
            if !self.handle(console::parse(&input)).await {
                return;
            }
        }
    }

    fn prompt(&self, continuing: bool) {
        if self.interactive {
            if continuing {
                print!("{}... ", " ".repeat(self.current.key.len()));
            } else {
                print!("{}> ", self.current.key);
            }
            flush();
        }
    }

    /// Handles one input; `false` when the console should stop.
    async fn handle(&mut self, input: Input) -> bool {
        match input {
            Input::Nothing => {}
            Input::Quit => return false,
            Input::Help => println!("{}", console::HELP),
            Input::Users => {
                for user in USERS {
                    let marker = if user.id == self.current.id { "*" } else { " " };
                    println!("{marker} {:<6} {:<13} {}", user.key, user.display_name, user.about);
                }
            }
            Input::As(who) => match find_user(&who) {
                Some(user) => {
                    self.current = user;
                    println!("you are now {} ({})", user.display_name, user.about);
                }
                None => {
                    let keys: Vec<&str> = USERS.iter().map(|u| u.key).collect();
                    println!("no user {who:?}; choose one of: {}", keys.join(", "));
                }
            },
            Input::Api => {
                println!("HTTP API: {}", self.api_url);
                println!(
                    "  curl '{}/api/coach-plans/?coach=d'        (one coach today, the predecessor's shape)",
                    self.api_url
                );
                println!("  curl '{}/api/coach-plans/all'             (every coach today)", self.api_url);
                println!("  curl '{}/api/v1/plans'                     (today's plans, v1)", self.api_url);
                println!("  curl '{}/health'", self.api_url);
            }
            Input::Attach(path) => match read_attachment(&path) {
                Ok((attachment, note)) => {
                    println!("attached {} to your next message{note}", attachment.filename);
                    self.attachments.push(attachment);
                }
                Err(message) => println!("{message}"),
            },
            Input::Edit(text) => match self.last_message.get(&self.current.id).copied() {
                Some(message) => match self.emulator.edit_message(CHANNEL, message, text) {
                    Ok(()) => self.await_replies(message, Duration::from_secs(3), false).await,
                    Err(error) => println!("cannot edit: {error}"),
                },
                None => println!("{} has posted nothing to edit yet", self.current.key),
            },
            Input::Delete => match self.last_message.remove(&self.current.id) {
                Some(message) => match self.emulator.delete_message(CHANNEL, message) {
                    Ok(()) => {
                        println!("(message deleted)");
                        // The bot answers nothing; give it a moment so the next command sees the deletion.
                        self.await_replies(message, Duration::from_millis(300), false).await;
                    }
                    Err(error) => println!("cannot delete: {error}"),
                },
                None => println!("{} has no message to delete", self.current.key),
            },
            Input::Slash(line) => {
                let files = std::mem::take(&mut self.attachments);
                self.slash(self.current, &line, files).await;
            }
            Input::Form(text) => {
                match discord_emulator::console::open_form(self.emulator, Some(UserId(self.current.id))) {
                    Some((opened_by, field)) => {
                        match self.emulator.submit_modal(opened_by, vec![(field.as_str(), text.as_str())]) {
                            Ok(interaction) => self.await_answer(interaction).await,
                            Err(error) => println!("cannot submit the form: {}", core_model::error_chain(&error)),
                        }
                    }
                    None => {
                        println!("the bot opened no form for {}; //plan COACH without text opens one", self.current.key)
                    }
                }
            }
            Input::Invalid(message) => println!("{message}"),
            Input::Message(text) => {
                let attachments = std::mem::take(&mut self.attachments);
                self.post(self.current, text, attachments).await;
            }
        }
        flush();
        true
    }

    /// The bot's command prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the bot takes prefix commands (else only slash commands).
    pub(crate) fn prefix_commands(&self) -> bool {
        self.prefix_commands
    }

    /// Invokes the slash command typed as `line` (without its `/`) as `user`, with `files` for its attachment
    /// options, and shows the bot's answer before going on.
    pub(crate) async fn slash(&mut self, user: &'static SandboxUser, line: &str, files: Vec<AttachmentSpec>) {
        if !self.interactive {
            print_block(&format!("{} › ", user.key), &format!("/{line}"));
        }
        match discord_emulator::console::invoke_slash(self.emulator, CHANNEL, UserId(user.id), line, files) {
            Ok(interaction) => self.await_answer(interaction).await,
            Err(error) => println!("cannot invoke it: {}", core_model::error_chain(&error)),
        }
    }

    /// Posts a message as `user` and, when it is a command, shows the bot's replies before going on.
    pub(crate) async fn post(&mut self, user: &'static SandboxUser, text: String, attachments: Vec<AttachmentSpec>) {
        if !self.interactive {
            print_block(&format!("{} › ", user.key), &text);
        }
        let is_command = self.prefix_commands && text.trim_start().starts_with(&self.prefix);
        match self.emulator.post_message(CHANNEL, UserId(user.id), text, attachments) {
            Ok(message) => {
                self.last_message.insert(user.id, message);
                if is_command {
                    self.await_replies(message, REPLY_WAIT, true).await;
                }
            }
            Err(error) => println!("cannot post: {error}"),
        }
        flush();
    }

    /// Shows the bot's answer to an interaction (and its follow-ups), or says that none came within [`REPLY_WAIT`].
    async fn await_answer(&mut self, interaction: discord_emulator::InteractionId) {
        let mut deadline = Instant::now() + REPLY_WAIT;
        let mut answered = false;
        loop {
            let event = tokio::select! {
                event = self.events.recv() => event,
                () = tokio::time::sleep_until(deadline) => break,
            };
            self.show(event);
            if !answered && self.emulator.interaction(interaction).is_some_and(|i| i.is_answered()) {
                answered = true;
                deadline = Instant::now() + REPLY_SETTLE;
            }
        }
        if !answered {
            println!("(no answer from the bot within {} s; its log is {})", REPLY_WAIT.as_secs(), self.log.display());
        }
    }

    /// Shows bot messages until the reply to `message` and its continuation arrived, or `wait` passed.
    async fn await_replies(&mut self, message: MessageId, wait: Duration, say_when_none: bool) {
        let mut deadline = Instant::now() + wait;
        let mut replied = false;
        loop {
            let event = tokio::select! {
                event = self.events.recv() => event,
                () = tokio::time::sleep_until(deadline) => break,
            };
            if let Some(bot_message) = self.show(event)
                && (bot_message.reply_to == Some(message) || replied)
            {
                replied = true;
                deadline = Instant::now() + REPLY_SETTLE;
            }
        }
        if !replied && say_when_none {
            println!("(no reply from the bot within {} s; its log is {})", wait.as_secs(), self.log.display());
        }
    }

    /// Prints a bot message; returns it.
    fn show(&mut self, event: Result<MessageEvent, broadcast::error::RecvError>) -> Option<StoredMessage> {
        match event {
            Ok(MessageEvent::Created(message)) if message.author_id == self.emulator.bot_id() => {
                let thinking = message.content.is_empty() && message.attachments.is_empty();
                print_block("PlanBot › ", if thinking { "(thinking…)" } else { &message.content });
                flush();
                Some(message)
            }
            Ok(MessageEvent::Updated(message)) if message.author_id == self.emulator.bot_id() => {
                print_block("PlanBot (edited) › ", &message.content);
                flush();
                Some(message)
            }
            Ok(MessageEvent::Ephemeral { user_id, content, .. }) if user_id.get() == self.current.id => {
                print_block("PlanBot (only you see it) › ", &content);
                flush();
                None
            }
            Ok(MessageEvent::ModalOpened { user_id, title, .. }) if user_id.get() == self.current.id => {
                println!(
                    "PlanBot opened the form “{title}”: type /form TEXT to fill it in (end lines with \\ to continue)"
                );
                flush();
                None
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                println!("({missed} messages not shown)");
                None
            }
            _ => None,
        }
    }
}

/// Prints `text` with `label` before its first line and the following lines indented under it.
fn print_block(label: &str, text: &str) {
    let indent = " ".repeat(label.chars().count());
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            println!("{label}{line}");
        } else {
            println!("{indent}{line}");
        }
    }
    if text.is_empty() {
        println!("{label}");
    }
}

fn flush() {
    let _ = std::io::stdout().flush();
}

/// Lines of standard input, read on a thread of their own (a read of a terminal cannot be cancelled); the
/// receiver ends when the input does.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel(64);
    std::thread::Builder::new()
        .name("sandbox-console".to_owned())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if sender.blocking_send(line).is_err() {
                    break;
                }
            }
        })
        .ok();
    receiver
}

/// Reads a local file for `/attach`; the text is a note to show, or the error.
fn read_attachment(path: &std::path::Path) -> Result<(AttachmentSpec, String), String> {
    let metadata = std::fs::metadata(path).map_err(|e| format!("cannot attach {}: {e}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!("cannot attach {}: it is not a file", path.display()));
    }
    if metadata.len() > MAX_ATTACHMENT_BYTES {
        return Err(format!(
            "cannot attach {}: it has {} bytes, more than Discord's {} MiB upload limit",
            path.display(),
            metadata.len(),
            MAX_ATTACHMENT_BYTES / 1024 / 1024
        ));
    }
    let data = std::fs::read(path).map_err(|e| format!("cannot attach {}: {e}", path.display()))?;
    let filename = path.file_name().map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().replace(' ', "_"));
    let attachment = AttachmentSpec::new(filename, data);
    let is_image = attachment.content_type.as_deref().is_some_and(|t| t.starts_with("image/"));
    let note = if is_image { String::new() } else { " (not an image: the bot will not take it as a chart)".to_owned() };
    Ok((attachment, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_found_by_key_name_or_id() {
        assert_eq!(find_user("ann").map(|u| u.id), Some(1001));
        assert_eq!(find_user("ANN").map(|u| u.id), Some(1001));
        assert_eq!(find_user("@ivan").map(|u| u.id), Some(1002));
        assert_eq!(find_user("Desk Admin").map(|u| u.id), Some(1005));
        assert_eq!(find_user("1003").map(|u| u.key), Some("sara"));
        assert!(find_user("mallory").is_none());
    }

    #[test]
    fn the_sandbox_drops_what_ties_the_bot_to_a_real_server() {
        let mut settings = Settings::default();
        settings.discord.guilds = vec![1];
        settings.discord.channels = vec![2];
        settings.discord.admin_users = vec![3];
        if let Some(coach) = settings.plans.coaches.first_mut() {
            coach.posters = vec![4];
        }
        let settings = sandbox_settings(settings);
        assert!(settings.discord.guilds.is_empty() && settings.discord.channels.is_empty());
        assert_eq!(settings.discord.admin_users, vec![3], "configured admins stay admins");
        assert!(settings.discord.admin_roles.contains(&ADMIN_ROLE.0));
        assert!(settings.plans.coaches.iter().all(|c| c.posters.is_empty()));
    }

    #[test]
    fn attachments_are_read_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("nvda chart.png");
        std::fs::write(&chart, demo::CHART_PNG).unwrap();
        let (attachment, note) = read_attachment(&chart).unwrap();
        assert_eq!(attachment.filename, "nvda_chart.png");
        assert_eq!(attachment.content_type.as_deref(), Some("image/png"));
        assert!(note.is_empty());
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, "text").unwrap();
        assert!(read_attachment(&notes).unwrap().1.contains("not an image"));
        let missing = read_attachment(&dir.path().join("missing.png")).unwrap_err();
        assert!(missing.starts_with("cannot attach") && missing.contains("missing.png"), "{missing}");
        assert!(read_attachment(dir.path()).unwrap_err().contains("not a file"));
    }
}
