//! What the bot is configured with, and why it stops on its own.

use std::time::Duration;

use twilight_gateway::Intents;

use crate::retry::RetryPolicy;

/// The bot token. Its `Debug` never shows it.
#[derive(Clone)]
pub struct BotToken(String);

impl BotToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token, for the clients that send it.
    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

/// How the bot connects and replies.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// The bot token.
    pub token: BotToken,
    /// REST base URL (`http://127.0.0.1:9000` for a local emulator); `None` for Discord itself.
    pub api_base_url: Option<String>,
    /// Gateway URL (`ws://127.0.0.1:9001`); `None` for Discord itself.
    pub gateway_url: Option<String>,
    /// Retries of failed REST calls.
    pub retry: RetryPolicy,
    /// Timeout of one REST call.
    pub request_timeout: Duration,
    /// How often the connection state is recorded while connected (the heartbeat `/health` reads).
    pub status_every: Duration,
    /// How long to wait for the gateway to close and the workers to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Whether to wait between identifies as Discord requires (off only against a local emulator in tests).
    pub identify_queue: bool,
    /// At most this many messages per channel, the newest, are read back after a new session (0 turns catch-up
    /// off).
    pub catch_up_limit: usize,
    /// Messages older than this are not read back after a new session.
    pub catch_up_max_age: Duration,
    /// Channels read back after a new session even before a message arrived in them (besides every channel the
    /// bot has handled a message in, which it remembers in storage).
    pub watched_channels: Vec<u64>,
    /// How often the gateway session is saved for a resume after a restart (when it moved on since).
    pub session_save_every: Duration,
    /// Whether chat messages starting with the prefix are commands (`!plan ...`). They need Discord's privileged
    /// Message Content intent; without them the bot takes slash commands only and does not ask for it.
    pub prefix_commands: bool,
}

impl BotConfig {
    /// A configuration with the defaults for everything but the token.
    pub fn new(token: BotToken) -> Self {
        Self {
            token,
            api_base_url: None,
            gateway_url: None,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            status_every: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            identify_queue: true,
            catch_up_limit: 500,
            catch_up_max_age: Duration::from_secs(72 * 60 * 60),
            watched_channels: Vec::new(),
            session_save_every: Duration::from_secs(1),
            prefix_commands: true,
        }
    }

    /// The gateway intents the bot asks for, each with why (see [`intents`]).
    pub fn intents(&self) -> Vec<RequestedIntent> {
        intents(self.prefix_commands)
    }
}

/// A gateway intent the bot asks for, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestedIntent {
    /// The intent.
    pub intent: Intents,
    /// Its name as Discord's documentation spells it.
    pub name: &'static str,
    /// What the bot needs it for.
    pub why: &'static str,
    /// Whether Discord treats it as privileged (it must be enabled in the Developer Portal, and a bot in more than
    /// 100 servers needs Discord's approval for it).
    pub privileged: bool,
}

/// The gateway intents the bot asks for. Slash commands need none; the privileged Message Content intent only prefix
/// commands.
pub fn intents(prefix_commands: bool) -> Vec<RequestedIntent> {
    let intent = |intent, name, why, privileged| RequestedIntent { intent, name, why, privileged };
    let mut intents = vec![
        intent(Intents::GUILDS, "GUILDS", "channel names, recorded with each plan", false),
        intent(
            Intents::GUILD_MESSAGES,
            "GUILD_MESSAGES",
            "edits and deletions of the messages plans come from, which the plans follow",
            false,
        ),
    ];
    if prefix_commands {
        intents.push(intent(Intents::MESSAGE_CONTENT, "MESSAGE_CONTENT", "the text of prefix commands", true));
        intents.push(intent(Intents::DIRECT_MESSAGES, "DIRECT_MESSAGES", "prefix commands in direct messages", false));
    }
    intents
}

/// Why the bot stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The Discord API base URL is not `http://host[:port]` or `https://host[:port]`.
    #[error("the Discord API base URL `{0}` must look like http://127.0.0.1:9000 or https://proxy.example.com")]
    BadApiUrl(String),
    /// The gateway closed for good (e.g. the token was refused, or intents are not enabled).
    #[error("the Discord gateway closed the connection for good: {0}")]
    GatewayClosed(String),
    /// The gateway closed for good with a close code that says why.
    #[error(
        "the Discord gateway closed the connection for good: close code {code} ({reason}); {}",
        close_fix(*code)
    )]
    GatewayRefused {
        /// The close code.
        code: u16,
        /// Discord's words.
        reason: String,
    },
}

/// What to do about a close code after which the gateway will not take the bot back.
fn close_fix(code: u16) -> &'static str {
    match code {
        4004 => {
            "the bot token was refused: copy it again from the Developer Portal (Applications > your application > \
             Bot > Reset Token) into discord.token (DISCORD_BOT_TOKEN); `plan-server doctor` checks it"
        }
        4014 => {
            "an intent the bot asks for is not enabled: enable Message Content Intent in the Developer Portal \
             (Applications > your application > Bot > Privileged Gateway Intents), or set discord.prefix_commands: \
             false (DISCORD_PREFIX_COMMANDS=false) for slash commands only"
        }
        4011 => {
            "the bot is in too many servers for one connection (Discord asks for sharding), which this bot does not do"
        }
        4010 | 4012 | 4013 => {
            "this build speaks to the gateway in a way Discord no longer accepts: upgrade coach-plans"
        }
        _ => "see Discord's gateway close codes; `plan-server doctor` checks the token and the intents",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_gateway_says_what_to_do() {
        let refused = BotError::GatewayRefused { code: 4014, reason: "Disallowed intent(s).".into() }.to_string();
        assert!(refused.contains("close code 4014 (Disallowed intent(s).); an intent"), "{refused}");
        assert!(refused.contains("DISCORD_PREFIX_COMMANDS=false"), "{refused}");
        let refused = BotError::GatewayRefused { code: 4004, reason: "Authentication failed.".into() }.to_string();
        assert!(refused.contains("the bot token was refused: copy it again"), "{refused}");
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let config = BotConfig::new(BotToken::new("super-secret-token-value"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("super-secret-token-value"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }
}
