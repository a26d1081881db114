//! The catalogue of settings: each one's name, environment variables and kind, and how a raw layered value of that kind
//! is checked and turned into the canonical value the [`Settings`](super::Settings) structs deserialize from.

use config::{Map, Value, ValueKind};

use super::problem::Problem;
use super::shorten;

/// Prefix of the nested environment form, `COACH_PLANS__SECTION__KEY`.
pub(crate) const NESTED_ENV_PREFIX: &str = "COACH_PLANS__";

/// The sections, in order.
pub(crate) const SECTIONS: &[&str] = &["database", "api", "log", "client", "discord", "plans", "webhooks"];

/// What a setting holds, which decides how its raw value is checked and normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text; numbers and booleans are taken as their text.
    Text,
    /// A secret (the bot token, the database URL): text, never shown in messages.
    Secret,
    /// A whole number from 0 to the given maximum.
    Uint(u64),
    /// `true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0`).
    Bool,
    /// A log level.
    Level,
    /// A log format.
    Format,
    /// One of a few words, in any case; stored in lower case.
    Word(&'static [&'static str]),
    /// Discord ids (snowflakes): a list, or comma-separated text.
    IdList,
    /// A list of texts, or comma-separated text.
    TextList,
    /// The coach roster: a list of `{id, name, posters}`, or `id=Name,id=Name` text.
    Coaches,
}

/// One setting.
#[derive(Debug)]
pub(crate) struct Key {
    /// Dotted name, e.g. `api.port`.
    pub name: &'static str,
    /// The flat environment variable, e.g. `API_PORT`, when it has one.
    pub flat_env: Option<&'static str>,
    /// What it holds.
    pub kind: Kind,
    /// What a value must be, after "is not": `a port number from 0 to 65535`.
    pub expects: &'static str,
    /// How to fix a bad value.
    pub fix: &'static str,
}

const fn key(
    name: &'static str,
    flat_env: Option<&'static str>,
    kind: Kind,
    expects: &'static str,
    fix: &'static str,
) -> Key {
    Key { name, flat_env, kind, expects, fix }
}

const U16: u64 = u16::MAX as u64;
const U32: u64 = u32::MAX as u64;
const USIZE: u64 = usize::MAX as u64;
const U64: u64 = u64::MAX;

/// Every setting, in the order of the sections and of `config/base.yaml`.
pub(crate) const KEYS: &[Key] = &[
    key("database.path", Some("DATABASE_PATH"), Kind::Text, "a file path", "use e.g. data/coach_plans.db"),
    key(
        "database.url",
        Some("DATABASE_URL"),
        Kind::Secret,
        "a postgres:// URL",
        "use e.g. postgres://user:password@db.example.com:5432/coach_plans, or leave it unset for SQLite at \
         database.path",
    ),
    key("database.pool_size", None, Kind::Uint(U32), "a number of connections", "use e.g. 8"),
    key("database.busy_timeout_ms", None, Kind::Uint(U64), "a number of milliseconds", "use e.g. 5000"),
    key(
        "api.host",
        Some("API_HOST"),
        Kind::Text,
        "a host name or IP address",
        "use e.g. 127.0.0.1, or 0.0.0.0 to listen on every interface",
    ),
    key(
        "api.port",
        Some("API_PORT"),
        Kind::Uint(U16),
        "a port number from 0 to 65535",
        "use e.g. 8080 (0 picks a free port)",
    ),
    key(
        "api.cors_origins",
        Some("CORS_ORIGINS"),
        Kind::TextList,
        "a list of origins",
        "use a comma-separated list such as https://dashboard.example.com,http://localhost:3000",
    ),
    key("api.max_body_bytes", None, Kind::Uint(USIZE), "a number of bytes", "use e.g. 65536"),
    key(
        "api.public_url",
        Some("API_PUBLIC_URL"),
        Kind::Text,
        "a URL",
        "use the address agents reach the API at, e.g. https://plans.example.com, or leave it unset",
    ),
    key(
        "api.auth",
        Some("API_AUTH"),
        Kind::Word(&["off", "required"]),
        "off or required",
        "use required to need an API token on every route but /health and / (make one with plan-server token \
         create), or off",
    ),
    key(
        "api.rate_limit.per_second",
        Some("API_RATE_PER_SECOND"),
        Kind::Uint(U32),
        "a number of requests per second",
        "use e.g. 20 (0 turns the limit off)",
    ),
    key("api.rate_limit.burst", Some("API_RATE_BURST"), Kind::Uint(U32), "a number of requests", "use e.g. 60"),
    key(
        "api.rate_limit.admin_per_second",
        None,
        Kind::Uint(U32),
        "a number of requests per second",
        "use e.g. 20 (0 turns the limit off)",
    ),
    key("api.rate_limit.admin_burst", None, Kind::Uint(U32), "a number of requests", "use e.g. 60"),
    key(
        "api.trusted_proxies",
        Some("API_TRUSTED_PROXIES"),
        Kind::TextList,
        "a list of addresses or networks",
        "use the addresses of your reverse proxies, comma-separated, e.g. 10.0.0.0/8,192.168.1.5",
    ),
    key("log.level", Some("LOG_LEVEL"), Kind::Level, "a log level", "use one of trace, debug, info, warn, error, off"),
    key("log.format", Some("LOG_FORMAT"), Kind::Format, "a log format", "use pretty or json"),
    key(
        "log.file",
        Some("LOG_FILE"),
        Kind::Text,
        "a file path",
        "use e.g. logs/coach_plans.log, or leave it unset to log to standard output only",
    ),
    key("log.max_size_mb", Some("LOG_MAX_SIZE_MB"), Kind::Uint(U64), "a size in megabytes", "use e.g. 10"),
    key("log.backup_count", Some("LOG_BACKUP_COUNT"), Kind::Uint(U64), "a number of files", "use e.g. 5"),
    key("client.cache_ttl_seconds", Some("CACHE_TTL_SECONDS"), Kind::Uint(U64), "a number of seconds", "use e.g. 300"),
    key("client.max_cache_size", Some("MAX_CACHE_SIZE"), Kind::Uint(USIZE), "a number of entries", "use e.g. 1000"),
    key(
        "discord.token",
        Some("DISCORD_BOT_TOKEN"),
        Kind::Secret,
        "a bot token",
        "set DISCORD_BOT_TOKEN to the token from the Discord Developer Portal (Applications > Bot > Reset Token)",
    ),
    key(
        "discord.api_base_url",
        Some("DISCORD_API_BASE_URL"),
        Kind::Text,
        "a URL",
        "use e.g. http://127.0.0.1:9000, or leave it unset for the real Discord",
    ),
    key(
        "discord.gateway_url",
        Some("DISCORD_GATEWAY_URL"),
        Kind::Text,
        "a URL",
        "use e.g. ws://127.0.0.1:9001, or leave it unset for the real Discord",
    ),
    key(
        "discord.command_prefix",
        Some("COMMAND_PREFIX"),
        Kind::Text,
        "a command prefix",
        "use e.g. ! (in YAML write it quoted: \"!\")",
    ),
    key(
        "discord.prefix_commands",
        Some("DISCORD_PREFIX_COMMANDS"),
        Kind::Bool,
        "true or false",
        "use true (prefix and slash commands; needs the Message Content intent) or false (slash commands only)",
    ),
    key(
        "discord.guilds",
        Some("DISCORD_GUILD_IDS"),
        Kind::IdList,
        "a list of Discord server (guild) ids",
        "use comma-separated numeric ids; to copy one, in Discord, turn on Developer Mode (User Settings > Advanced) \
         and right-click the server > Copy Server ID",
    ),
    key(
        "discord.channels",
        Some("DISCORD_CHANNEL_IDS"),
        Kind::IdList,
        "a list of Discord channel ids",
        "use comma-separated numeric ids; to copy one, in Discord, turn on Developer Mode (User Settings > Advanced) \
         and right-click the channel > Copy Channel ID",
    ),
    key(
        "discord.admin_users",
        Some("ADMIN_USER_IDS"),
        Kind::IdList,
        "a list of Discord user ids",
        "use comma-separated numeric ids; to copy one, in Discord, turn on Developer Mode (User Settings > Advanced) \
         and right-click the user > Copy User ID",
    ),
    key(
        "discord.admin_roles",
        Some("ADMIN_ROLE_IDS"),
        Kind::IdList,
        "a list of Discord role ids",
        "use comma-separated numeric ids; to copy one, in Discord, turn on Developer Mode (User Settings > Advanced), \
         open Server Settings > Roles and right-click the role > Copy Role ID",
    ),
    key(
        "discord.reconnect_attempts",
        Some("RECONNECT_ATTEMPTS"),
        Kind::Uint(U32),
        "a number of attempts",
        "use e.g. 5",
    ),
    key(
        "discord.reconnect_delay_seconds",
        Some("RECONNECT_DELAY_SECONDS"),
        Kind::Uint(U64),
        "a number of seconds",
        "use e.g. 2",
    ),
    key(
        "discord.connection_timeout_seconds",
        Some("CONNECTION_TIMEOUT"),
        Kind::Uint(U64),
        "a number of seconds",
        "use e.g. 30",
    ),
    key(
        "discord.catch_up_messages",
        Some("CATCH_UP_MESSAGES"),
        Kind::Uint(USIZE),
        "a number of messages",
        "use a number from 0 (no catch-up) to 10000, e.g. 500",
    ),
    key(
        "discord.catch_up_max_age_hours",
        Some("CATCH_UP_MAX_AGE_HOURS"),
        Kind::Uint(U64),
        "a number of hours",
        "use a number of hours from 1 to 8760, e.g. 72",
    ),
    key("discord.mock_mode", Some("MOCK_MODE"), Kind::Bool, "true or false", "use true or false"),
    key(
        "plans.market_timezone",
        Some("MARKET_TIMEZONE"),
        Kind::Text,
        "an IANA time zone",
        "use a name such as America/New_York, Europe/London or UTC",
    ),
    key(
        "plans.max_chart_attachments",
        Some("MAX_CHART_ATTACHMENTS"),
        Kind::Uint(USIZE),
        "a number of charts",
        "use a number from 1 to 50, e.g. 10",
    ),
    key("plans.archive_chart_images", Some("ARCHIVE_CHART_IMAGES"), Kind::Bool, "true or false", "use true or false"),
    key(
        "plans.ticker_stoplist",
        Some("TICKER_STOPLIST"),
        Kind::TextList,
        "a list of words",
        "use a list of upper-case words that are not tickers, e.g. ON,ALL,NEXT (they add to the built-in stoplist)",
    ),
    key(
        "plans.ticker_universe",
        Some("TICKER_UNIVERSE"),
        Kind::TextList,
        "a list of symbols or a file",
        "use a list of the symbols that count when written bare, e.g. NVDA,AMD,SPY, or a file of them such as \
         config/tickers.txt; leave it empty to count every upper-case symbol",
    ),
    key(
        "plans.coaches",
        None,
        Kind::Coaches,
        "a list of coaches",
        "give each coach an id and a name as in config/base.yaml, or in the environment write `d=Day Trading,i=Intraday`",
    ),
    key(
        "webhooks.deliver",
        Some("WEBHOOKS_DELIVER"),
        Kind::Bool,
        "true or false",
        "use true (this process delivers webhooks) or false (others do)",
    ),
    key(
        "webhooks.allow_insecure_loopback",
        Some("WEBHOOKS_ALLOW_INSECURE_LOOPBACK"),
        Kind::Bool,
        "true or false",
        "use true only for receivers on this machine (tests, the sandbox), else false",
    ),
    key("webhooks.timeout_seconds", None, Kind::Uint(U64), "a number of seconds", "use a number from 1 to 60, e.g. 10"),
    key(
        "webhooks.retry_hours",
        None,
        Kind::Uint(U64),
        "a number of hours",
        "use a number of hours from 1 to 168, e.g. 24",
    ),
    key(
        "webhooks.first_retry_seconds",
        None,
        Kind::Uint(U64),
        "a number of seconds",
        "use a number from 1 to 3600, e.g. 5",
    ),
    key(
        "webhooks.poll_interval_ms",
        None,
        Kind::Uint(U64),
        "a number of milliseconds",
        "use a number from 50 to 60000, e.g. 500",
    ),
];

impl Key {
    /// The environment variable to name in messages: the flat one when there is one, else the nested one.
    pub(crate) fn env_name(&self) -> String {
        self.flat_env.map_or_else(|| self.nested_env(), str::to_owned)
    }

    /// The nested environment variable, e.g. `COACH_PLANS__API__PORT`.
    pub(crate) fn nested_env(&self) -> String {
        format!("{NESTED_ENV_PREFIX}{}", self.name.replace('.', "__").to_ascii_uppercase())
    }

    /// Section and field: `("api", "port")`.
    pub(crate) fn path(&self) -> (&'static str, &'static str) {
        self.name.split_once('.').unwrap_or((self.name, ""))
    }

    /// A raw value as shown in a message, with where it was set: `` `abc` (from config/local.yaml) ``.
    pub(crate) fn describe(&self, raw: &Value) -> String {
        format!("{}{}", shown(raw), self.origin_note(raw))
    }

    /// ` (from config/local.yaml)`: where a value was set, for messages; empty when unknown or when it is the
    /// environment variable the message already names.
    pub(crate) fn origin_note(&self, raw: &Value) -> String {
        match raw.origin() {
            Some(origin) if origin != env_origin(&self.env_name()) => format!(" (from {origin})"),
            _ => String::new(),
        }
    }

    /// A problem with this setting.
    pub(crate) fn problem(&self, problem: impl Into<String>, fix: impl Into<String>) -> Problem {
        Problem::new(self.name, self.env_name(), problem, fix)
    }

    /// Checks a raw layered value and returns its canonical form (`None` when it is unset, i.e. null).
    ///
    /// Canonical forms: text as a string, numbers as `U64`, booleans as `Boolean`, lists as arrays of those,
    /// coaches as an array of `{id, name, posters}` tables.
    pub(crate) fn normalize(&self, raw: &Value) -> Result<Option<Value>, Vec<Problem>> {
        if matches!(raw.kind, ValueKind::Nil) {
            return Ok(None);
        }
        let result = match self.kind {
            Kind::Text => scalar_text(raw).map(|s| text(s.trim())),
            Kind::Secret => scalar_text(raw).map(|s| text(s.trim())),
            Kind::Uint(max) => uint(raw, max).map(|n| Value::new(None, ValueKind::U64(n))),
            Kind::Bool => boolean(raw).map(|b| Value::new(None, ValueKind::Boolean(b))),
            Kind::Level => {
                scalar_text(raw).and_then(|s| s.parse::<super::LogLevel>().ok()).map(|level| text(level.as_str()))
            }
            Kind::Format => {
                scalar_text(raw).and_then(|s| s.parse::<super::LogFormat>().ok()).map(|format| text(format.as_str()))
            }
            Kind::Word(words) => scalar_text(raw)
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| words.contains(&s.as_str()))
                .map(|s| text(&s)),
            Kind::TextList => list_items(raw).map(|items| {
                let texts = items.iter().filter_map(scalar_text).map(|s| text(s.trim()));
                Value::new(None, ValueKind::Array(texts.collect()))
            }),
            Kind::IdList => return self.id_list(raw, "").map(Some).map_err(|p| vec![p]),
            Kind::Coaches => return self.coaches(raw).map(Some),
        };
        match (self.kind, result) {
            (_, Some(value)) => Ok(Some(value)),
            (Kind::Secret, None) => Err(vec![
                self.problem(format!("the value (not shown: it is secret) is not {}", self.expects), self.fix),
            ]),
            (_, None) => Err(vec![self.problem(format!("{} is not {}", self.describe(raw), self.expects), self.fix)]),
        }
    }

    fn id_list(&self, raw: &Value, context: &str) -> Result<Value, Problem> {
        let items = list_items(raw).ok_or_else(|| {
            self.problem(format!("{context}{} is not {}", self.describe(raw), self.expects), self.fix)
        })?;
        let mut ids = Vec::new();
        let mut bad = Vec::new();
        for item in &items {
            match uint(item, U64) {
                Some(id) => ids.push(Value::new(None, ValueKind::U64(id))),
                None => bad.push(shown(item)),
            }
        }
        if bad.is_empty() {
            Ok(Value::new(None, ValueKind::Array(ids)))
        } else {
            let (verb, what) = if bad.len() == 1 { ("is", "a Discord id") } else { ("are", "Discord ids") };
            let problem = format!(
                "{context}{}{} {verb} not {what} (a number such as 123456789012345678)",
                bad.join(", "),
                self.origin_note(raw)
            );
            Err(self.problem(problem, self.fix))
        }
    }

    fn coaches(&self, raw: &Value) -> Result<Value, Vec<Problem>> {
        match &raw.kind {
            ValueKind::String(compact) => self.compact_coaches(compact, raw),
            ValueKind::Array(items) => {
                let mut coaches = Vec::new();
                let mut problems = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    match self.coach(index, item) {
                        Ok(coach) => coaches.push(coach),
                        Err(mut p) => problems.append(&mut p),
                    }
                }
                if problems.is_empty() { Ok(Value::new(None, ValueKind::Array(coaches))) } else { Err(problems) }
            }
            _ => Err(vec![self.problem(format!("{} is not {}", self.describe(raw), self.expects), self.fix)]),
        }
    }

    fn compact_coaches(&self, compact: &str, raw: &Value) -> Result<Value, Vec<Problem>> {
        let mut coaches = Vec::new();
        let mut problems = Vec::new();
        for entry in compact.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.split_once('=') {
                Some((id, name)) => coaches.push(coach_value(id.trim(), name.trim(), Vec::new())),
                None => problems.push(self.problem(
                    format!("`{}`{} is not `id=Name`", shorten(entry), self.origin_note(raw)),
                    "write the coaches as `d=Day Trading,i=Intraday` (posters can only be set in a config file)",
                )),
            }
        }
        if problems.is_empty() { Ok(Value::new(None, ValueKind::Array(coaches))) } else { Err(problems) }
    }

    fn coach(&self, index: usize, raw: &Value) -> Result<Value, Vec<Problem>> {
        let context = format!("coach #{}: ", index + 1);
        let ValueKind::Table(table) = &raw.kind else {
            return Err(vec![self.problem(format!("{context}{} is not a coach", self.describe(raw)), self.fix)]);
        };
        let mut problems = Vec::new();
        let mut field = |name: &str| match table.get(name) {
            Some(value) => match scalar_text(value) {
                Some(s) => s.trim().to_owned(),
                None => {
                    problems
                        .push(self.problem(format!("{context}{name} {} is not text", self.describe(value)), self.fix));
                    String::new()
                }
            },
            None => {
                problems.push(self.problem(format!("{context}it has no {name}{}", self.origin_note(raw)), self.fix));
                String::new()
            }
        };
        let id = field("id");
        let name = field("name");
        let posters = match table.get("posters") {
            None => Vec::new(),
            Some(value) if matches!(value.kind, ValueKind::Nil) => Vec::new(),
            Some(value) => match self.id_list(value, &format!("{context}posters ")) {
                Ok(ids) => ids.into_array().unwrap_or_default(),
                Err(p) => {
                    problems.push(Problem {
                        fix: "list the Discord user ids allowed to post as this coach, e.g. posters: [123456789012345678]"
                            .to_owned(),
                        ..p
                    });
                    Vec::new()
                }
            },
        };
        let mut unknown: Vec<&String> =
            table.keys().filter(|k| !["id", "name", "posters"].contains(&k.as_str())).collect();
        unknown.sort();
        for k in unknown {
            problems.push(self.problem(
                format!("{context}`{}`{} is not a coach field", shorten(k), self.origin_note(raw)),
                "a coach has only id, name and posters",
            ));
        }
        if problems.is_empty() { Ok(coach_value(&id, &name, posters)) } else { Err(problems) }
    }
}

fn coach_value(id: &str, name: &str, posters: Vec<Value>) -> Value {
    let mut table = Map::new();
    table.insert("id".to_owned(), text(id));
    table.insert("name".to_owned(), text(name));
    table.insert("posters".to_owned(), Value::new(None, ValueKind::Array(posters)));
    Value::new(None, ValueKind::Table(table))
}

/// The setting named `name`.
pub(crate) fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The setting whose flat environment variable is `env`.
pub(crate) fn by_flat_env(env: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.flat_env == Some(env))
}

fn text(s: &str) -> Value {
    Value::new(None, ValueKind::String(s.to_owned()))
}

/// The text of a scalar (numbers and booleans as written); `None` for lists and tables.
fn scalar_text(raw: &Value) -> Option<String> {
    match &raw.kind {
        ValueKind::String(s) => Some(s.clone()),
        ValueKind::Boolean(b) => Some(b.to_string()),
        ValueKind::I64(n) => Some(n.to_string()),
        ValueKind::I128(n) => Some(n.to_string()),
        ValueKind::U64(n) => Some(n.to_string()),
        ValueKind::U128(n) => Some(n.to_string()),
        ValueKind::Float(n) => Some(n.to_string()),
        ValueKind::Nil | ValueKind::Table(_) | ValueKind::Array(_) => None,
    }
}

fn uint(raw: &Value, max: u64) -> Option<u64> {
    let n: u64 = match &raw.kind {
        ValueKind::U64(n) => *n,
        ValueKind::I64(n) => u64::try_from(*n).ok()?,
        ValueKind::U128(n) => u64::try_from(*n).ok()?,
        ValueKind::I128(n) => u64::try_from(*n).ok()?,
        ValueKind::String(s) => s.trim().parse().ok()?,
        ValueKind::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f <= 9.0e15 => format!("{f:.0}").parse().ok()?,
        _ => return None,
    };
    (n <= max).then_some(n)
}

fn boolean(raw: &Value) -> Option<bool> {
    match &raw.kind {
        ValueKind::Boolean(b) => Some(*b),
        ValueKind::I64(0) | ValueKind::U64(0) => Some(false),
        ValueKind::I64(1) | ValueKind::U64(1) => Some(true),
        ValueKind::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Some(true),
            "false" | "no" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The items of a list setting: an array's items, or a text split at commas (empty items dropped).
fn list_items(raw: &Value) -> Option<Vec<Value>> {
    match &raw.kind {
        ValueKind::Array(items) => Some(items.clone()),
        ValueKind::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::new(raw.origin().map(str::to_owned).as_ref(), ValueKind::String(item.to_owned())))
                .collect(),
        ),
        ValueKind::Table(_) | ValueKind::Nil => None,
        _ => Some(vec![raw.clone()]),
    }
}

/// How a raw value is shown in a message: `` `abc` `` for a scalar, `a list` or `a mapping` otherwise.
pub(crate) fn shown(raw: &Value) -> String {
    match &raw.kind {
        ValueKind::Table(_) => "a mapping".to_owned(),
        ValueKind::Array(_) => "a list".to_owned(),
        ValueKind::Nil => "nothing".to_owned(),
        _ => format!("`{}`", shorten(&scalar_text(raw).unwrap_or_default())),
    }
}

/// The origin given to values read from the environment variable `name`.
pub(crate) fn env_origin(name: &str) -> String {
    format!("environment variable {name}")
}
