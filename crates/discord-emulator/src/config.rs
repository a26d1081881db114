//! What the emulated Discord contains: the bot, guilds with channels and roles, scripted users, and timings.

use std::time::Duration;

use crate::ids::{ChannelId, GuildId, RoleId, UserId};

/// Everything an [`Emulator`](crate::Emulator) starts with.
///
/// `EmulatorConfig::default()` has the token `emulator-token`, the bot `PlanBot` ([`Self::DEFAULT_BOT`]),
/// one guild ([`Self::DEFAULT_GUILD`]) with one text channel `daily-plans` ([`Self::DEFAULT_CHANNEL`]) and no users;
/// add users with [`Self::with_user`].
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// The bot token that IDENTIFY, RESUME and REST calls must carry (with or without the `Bot ` prefix).
    pub token: String,
    /// The bot's own user.
    pub bot: BotSpec,
    /// Guilds, each with its channels and roles. The bot is a member of all of them.
    pub guilds: Vec<GuildSpec>,
    /// Scripted users, members of every guild, who post messages through [`Emulator::post_message`](crate::Emulator::post_message).
    pub users: Vec<UserSpec>,
    /// The `heartbeat_interval` sent in HELLO.
    pub heartbeat_interval: Duration,
    /// Filter events by the intents of IDENTIFY, like Discord: no MESSAGE_* without `GUILD_MESSAGES`, and empty
    /// `content`/`attachments`/`embeds` without `MESSAGE_CONTENT` (except the bot's own messages and messages that
    /// mention it). On by default, so a bot that forgets an intent fails here as it would in production.
    pub enforce_intents: bool,
    /// Send a GUILD_CREATE for every guild after READY (when the `GUILDS` intent is set or intents are not enforced).
    pub send_guild_create: bool,
    /// How long attachment URLs stay valid. Like Discord's signed CDN links (`?ex=..&is=..&hm=..`), an expired URL
    /// answers 404. Default: 24 hours.
    pub attachment_url_ttl: Duration,
    /// Port of the gateway listener on 127.0.0.1; 0 (the default) picks a free one.
    pub gateway_port: u16,
    /// Port of the REST listener on 127.0.0.1; 0 (the default) picks a free one.
    pub rest_port: u16,
    /// Most events a gateway session keeps for RESUME (default 10 000). Heartbeats forget nothing: a client may
    /// resume from any sequence whose following events are all still kept, also from a new connection after its
    /// process died; a RESUME from before the oldest kept event is refused with op 9, as Discord refuses a session
    /// it no longer holds.
    pub session_log_limit: usize,
    /// How long after an interaction its first answer (the callback) is accepted: Discord allows 3 seconds, then
    /// answers `Unknown interaction` (10062). Default: 3 seconds.
    pub interaction_deadline: Duration,
    /// How long an interaction's token works for follow-ups and edits of its answers (Discord: 15 minutes).
    pub interaction_token_ttl: Duration,
}

impl EmulatorConfig {
    /// The bot user of the default configuration.
    pub const DEFAULT_BOT: UserId = UserId(10);
    /// The guild of the default configuration.
    pub const DEFAULT_GUILD: GuildId = GuildId(100);
    /// The text channel `daily-plans` of the default configuration.
    pub const DEFAULT_CHANNEL: ChannelId = ChannelId(200);
    /// The admin role added by [`Self::with_sample_users`].
    pub const SAMPLE_ADMIN_ROLE: RoleId = RoleId(300);
    /// The token of the default configuration.
    pub const DEFAULT_TOKEN: &'static str = "emulator-token";

    /// Replaces the bot token.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// Replaces the bot user.
    #[must_use]
    pub fn with_bot(mut self, bot: BotSpec) -> Self {
        self.bot = bot;
        self
    }

    /// Replaces all guilds with this one.
    #[must_use]
    pub fn with_only_guild(mut self, guild: GuildSpec) -> Self {
        self.guilds = vec![guild];
        self
    }

    /// Adds a guild.
    #[must_use]
    pub fn with_guild(mut self, guild: GuildSpec) -> Self {
        self.guilds.push(guild);
        self
    }

    /// Adds a role to the first guild (a no-op when there is none).
    #[must_use]
    pub fn with_role(mut self, id: impl Into<RoleId>, name: impl Into<String>) -> Self {
        if let Some(guild) = self.guilds.first_mut() {
            guild.roles.push(RoleSpec { id: id.into(), name: name.into() });
        }
        self
    }

    /// Adds a text channel to the first guild (a no-op when there is none).
    #[must_use]
    pub fn with_channel(mut self, id: impl Into<ChannelId>, name: impl Into<String>) -> Self {
        if let Some(guild) = self.guilds.first_mut() {
            guild.channels.push(ChannelSpec { id: id.into(), name: name.into() });
        }
        self
    }

    /// Adds a scripted user.
    #[must_use]
    pub fn with_user(mut self, user: UserSpec) -> Self {
        self.users.push(user);
        self
    }

    /// Adds the sample desk used by the interactive console and the sandbox: the role [`Self::SAMPLE_ADMIN_ROLE`]
    /// `Desk admin` in the first guild, and the users `ann` (1001, shown as Ann), `bob` (1002, shown as Bob) and
    /// `mod` (1003, nickname Moderator, with the admin role).
    #[must_use]
    pub fn with_sample_users(self) -> Self {
        self.with_role(Self::SAMPLE_ADMIN_ROLE, "Desk admin")
            .with_user(UserSpec::new(1001, "ann").with_global_name("Ann"))
            .with_user(UserSpec::new(1002, "bob").with_global_name("Bob"))
            .with_user(UserSpec::new(1003, "mod").with_nick("Moderator").with_role(Self::SAMPLE_ADMIN_ROLE))
    }

    /// Sets the HELLO heartbeat interval (tests use a few hundred milliseconds to see zombie detection quickly).
    #[must_use]
    pub fn with_heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Turns intent filtering on or off (see [`Self::enforce_intents`]).
    #[must_use]
    pub fn with_enforced_intents(mut self, enforce: bool) -> Self {
        self.enforce_intents = enforce;
        self
    }

    /// Turns GUILD_CREATE after READY on or off.
    #[must_use]
    pub fn with_guild_create(mut self, send: bool) -> Self {
        self.send_guild_create = send;
        self
    }

    /// Fixes the listener ports (for an interactive sandbox); tests keep the default 0.
    #[must_use]
    pub fn with_ports(mut self, gateway_port: u16, rest_port: u16) -> Self {
        self.gateway_port = gateway_port;
        self.rest_port = rest_port;
        self
    }

    /// Sets how many events a gateway session keeps for RESUME (see [`Self::session_log_limit`]).
    #[must_use]
    pub fn with_session_log_limit(mut self, events: usize) -> Self {
        self.session_log_limit = events;
        self
    }

    /// Sets how long after an interaction its callback is accepted (see [`Self::interaction_deadline`]).
    #[must_use]
    pub fn with_interaction_deadline(mut self, deadline: Duration) -> Self {
        self.interaction_deadline = deadline;
        self
    }

    /// Sets how long interaction tokens work for follow-ups and edits.
    #[must_use]
    pub fn with_interaction_token_ttl(mut self, ttl: Duration) -> Self {
        self.interaction_token_ttl = ttl;
        self
    }

    /// Sets how long attachment URLs stay valid.
    #[must_use]
    pub fn with_attachment_url_ttl(mut self, ttl: Duration) -> Self {
        self.attachment_url_ttl = ttl;
        self
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            token: Self::DEFAULT_TOKEN.to_owned(),
            bot: BotSpec::new(Self::DEFAULT_BOT, "PlanBot"),
            guilds: vec![
                GuildSpec::new(Self::DEFAULT_GUILD, "Coach Plans").with_channel(Self::DEFAULT_CHANNEL, "daily-plans"),
            ],
            users: Vec::new(),
            heartbeat_interval: Duration::from_millis(2_000),
            enforce_intents: true,
            send_guild_create: true,
            attachment_url_ttl: Duration::from_secs(24 * 60 * 60),
            gateway_port: 0,
            rest_port: 0,
            session_log_limit: 10_000,
            interaction_deadline: Duration::from_secs(3),
            interaction_token_ttl: Duration::from_secs(15 * 60),
        }
    }
}

/// The bot's own account.
#[derive(Clone, Debug)]
pub struct BotSpec {
    /// The bot user's id (also its application id unless [`Self::application_id`] differs).
    pub id: UserId,
    /// The bot's user name.
    pub username: String,
    /// The application id sent in READY.
    pub application_id: u64,
}

impl BotSpec {
    /// A bot whose application id equals its user id, as for applications created since 2019.
    #[must_use]
    pub fn new(id: impl Into<UserId>, username: impl Into<String>) -> Self {
        let id = id.into();
        Self { id, username: username.into(), application_id: id.get() }
    }
}

/// A guild and what it contains.
#[derive(Clone, Debug)]
pub struct GuildSpec {
    /// The guild id (also the id of its `@everyone` role).
    pub id: GuildId,
    /// The guild name.
    pub name: String,
    /// Text channels.
    pub channels: Vec<ChannelSpec>,
    /// Roles besides `@everyone`.
    pub roles: Vec<RoleSpec>,
}

impl GuildSpec {
    /// A guild without channels or roles.
    #[must_use]
    pub fn new(id: impl Into<GuildId>, name: impl Into<String>) -> Self {
        Self { id: id.into(), name: name.into(), channels: Vec::new(), roles: Vec::new() }
    }

    /// Adds a text channel.
    #[must_use]
    pub fn with_channel(mut self, id: impl Into<ChannelId>, name: impl Into<String>) -> Self {
        self.channels.push(ChannelSpec { id: id.into(), name: name.into() });
        self
    }

    /// Adds a role.
    #[must_use]
    pub fn with_role(mut self, id: impl Into<RoleId>, name: impl Into<String>) -> Self {
        self.roles.push(RoleSpec { id: id.into(), name: name.into() });
        self
    }
}

/// A guild text channel.
#[derive(Clone, Debug)]
pub struct ChannelSpec {
    /// The channel id.
    pub id: ChannelId,
    /// The channel name (without `#`).
    pub name: String,
}

/// A guild role.
#[derive(Clone, Debug)]
pub struct RoleSpec {
    /// The role id.
    pub id: RoleId,
    /// The role name.
    pub name: String,
}

/// A scripted user: a member of every configured guild.
#[derive(Clone, Debug)]
pub struct UserSpec {
    /// The user id.
    pub id: UserId,
    /// The unique user name (`username` in Discord's JSON).
    pub username: String,
    /// The global display name (`global_name`), if any.
    pub global_name: Option<String>,
    /// The guild nickname (`member.nick`), if any.
    pub nick: Option<String>,
    /// Role ids the member has (in every guild).
    pub roles: Vec<RoleId>,
    /// Whether the account is a bot.
    pub bot: bool,
}

impl UserSpec {
    /// A person with no display name, nickname or roles.
    #[must_use]
    pub fn new(id: impl Into<UserId>, username: impl Into<String>) -> Self {
        Self { id: id.into(), username: username.into(), global_name: None, nick: None, roles: Vec::new(), bot: false }
    }

    /// Sets the global display name.
    #[must_use]
    pub fn with_global_name(mut self, name: impl Into<String>) -> Self {
        self.global_name = Some(name.into());
        self
    }

    /// Sets the guild nickname.
    #[must_use]
    pub fn with_nick(mut self, nick: impl Into<String>) -> Self {
        self.nick = Some(nick.into());
        self
    }

    /// Adds a role.
    #[must_use]
    pub fn with_role(mut self, role: impl Into<RoleId>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Marks the account as a bot (another bot than the one under test).
    #[must_use]
    pub fn as_bot(mut self) -> Self {
        self.bot = true;
        self
    }
}
