//! Checks of settings' values once they have their types: ranges, URLs, time zone, coach roster.

use core_model::{Coach, CoachId, MarketTimeZone, Roster, RosterError, Ticker};
use url::Url;

use super::keys;
use super::problem::Problem;
use super::{Settings, shorten};

/// Most charts per plan a configuration may allow.
pub(crate) const MAX_CHART_ATTACHMENTS_LIMIT: usize = 50;
/// Largest log file size accepted, in megabytes (1 TiB).
pub(crate) const MAX_LOG_SIZE_MB: u64 = 1024 * 1024;
/// Longest command prefix accepted, in characters.
pub(crate) const MAX_COMMAND_PREFIX_CHARS: usize = 8;
/// Most messages per channel a catch-up may read back (100 requests of Discord's largest page).
pub(crate) const MAX_CATCH_UP_MESSAGES: usize = 10_000;
/// Greatest catch-up age accepted, in hours (a year).
pub(crate) const MAX_CATCH_UP_AGE_HOURS: u64 = 365 * 24;

/// Every problem of `settings`, in the order of the settings.
pub(crate) fn problems(settings: &Settings) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut report = |name: &str, problem: String, fix: &str| {
        // Every name passed here is in the catalogue; the fallback only keeps the message if one is not.
        let source = keys::find(name).map_or_else(|| "configuration".to_owned(), |k| k.env_name());
        out.push(Problem::new(name, source, problem, fix));
    };

    let db = &settings.database;
    if db.path.as_os_str().is_empty() {
        report("database.path", "the database path is empty".into(), "use e.g. data/coach_plans.db");
    }
    if let Some(url) = &db.url
        && let Err(error) = storage_postgres::DatabaseUrl::parse(secrecy::ExposeSecret::expose_secret(url))
    {
        // The URL's errors never hold its password.
        report("database.url", error.to_string(), "correct it, or leave it unset for SQLite at database.path");
    }
    if db.pool_size == 0 {
        report("database.pool_size", "the pool size is 0".into(), "use at least 1, e.g. 8");
    }

    let api = &settings.api;
    if !is_host(&api.host) {
        report(
            "api.host",
            format!("`{}` is not a host name or IP address", shorten(&api.host)),
            "use e.g. 127.0.0.1, or 0.0.0.0 to listen on every interface (no scheme, no port)",
        );
    }
    let bad_origins: Vec<String> =
        api.cors_origins.iter().filter(|o| !is_origin(o)).map(|o| format!("`{}`", shorten(o))).collect();
    if !bad_origins.is_empty() {
        let (verb, what) = if bad_origins.len() == 1 { ("is", "an origin") } else { ("are", "origins") };
        report(
            "api.cors_origins",
            format!("{} {verb} not {what}", bad_origins.join(", ")),
            "write each as scheme://host[:port] without a path, e.g. https://dashboard.example.com, or * for any origin",
        );
    }
    if api.max_body_bytes == 0 {
        report("api.max_body_bytes", "the body limit is 0 bytes".into(), "use e.g. 65536 (64 KiB)");
    }
    if let Some(url) = &api.public_url
        && (!is_url(url, &["http", "https"]) || url.contains(['?', '#']))
    {
        report(
            "api.public_url",
            format!("`{}` is not an http or https URL without a query", shorten(url)),
            "use the address agents reach the API at, e.g. https://plans.example.com, or leave it unset",
        );
    }

    let bad_proxies: Vec<String> = api
        .trusted_proxies
        .iter()
        .filter(|p| super::parse_network(p).is_none())
        .map(|p| format!("`{}`", shorten(p)))
        .collect();
    if !bad_proxies.is_empty() {
        report(
            "api.trusted_proxies",
            format!("{} cannot be read as an address or a network", bad_proxies.join(", ")),
            "write each as an IP address (10.0.0.5) or a network (10.0.0.0/8)",
        );
    }

    let webhooks = &settings.webhooks;
    if !(1..=60).contains(&webhooks.timeout_seconds) {
        report(
            "webhooks.timeout_seconds",
            format!("{} seconds is not a usable attempt timeout", webhooks.timeout_seconds),
            "use a number from 1 to 60, e.g. 10",
        );
    }
    if !(1..=168).contains(&webhooks.retry_hours) {
        report(
            "webhooks.retry_hours",
            format!("{} hours is not a usable retry period", webhooks.retry_hours),
            "use a number of hours from 1 to 168, e.g. 24",
        );
    }
    if !(1..=3600).contains(&webhooks.first_retry_seconds) {
        report(
            "webhooks.first_retry_seconds",
            format!("{} seconds is not a usable first retry", webhooks.first_retry_seconds),
            "use a number from 1 to 3600, e.g. 5",
        );
    }
    if !(50..=60_000).contains(&webhooks.poll_interval_ms) {
        report(
            "webhooks.poll_interval_ms",
            format!("{} ms is not a usable poll interval", webhooks.poll_interval_ms),
            "use a number from 50 to 60000, e.g. 500",
        );
    }

    let log = &settings.log;
    if let Some(file) = &log.file
        && (file.file_name().is_none() || file.as_os_str().to_string_lossy().ends_with(['/', '\\']))
    {
        report(
            "log.file",
            format!("`{}` names no file", shorten(&file.display().to_string())),
            "use a file path such as logs/coach_plans.log",
        );
    }
    if log.max_size_mb == 0 || log.max_size_mb > MAX_LOG_SIZE_MB {
        report(
            "log.max_size_mb",
            format!("{} MB is not a usable log file size", log.max_size_mb),
            "use a number of megabytes from 1 to 1048576, e.g. 10",
        );
    }

    let discord = &settings.discord;
    if let Some(url) = &discord.api_base_url
        && !is_url(url, &["http", "https"])
    {
        report(
            "discord.api_base_url",
            format!("`{}` is not an http or https URL", shorten(url)),
            "use e.g. http://127.0.0.1:9000, or leave it unset for the real Discord",
        );
    }
    if let Some(url) = &discord.gateway_url
        && !is_url(url, &["ws", "wss"])
    {
        report(
            "discord.gateway_url",
            format!("`{}` is not a ws or wss URL", shorten(url)),
            "use e.g. ws://127.0.0.1:9001, or leave it unset for the real Discord",
        );
    }
    let prefix = &discord.command_prefix;
    if prefix.is_empty() || prefix.chars().any(char::is_whitespace) || prefix.chars().count() > MAX_COMMAND_PREFIX_CHARS
    {
        report(
            "discord.command_prefix",
            format!("`{}` is not a usable command prefix", shorten(prefix)),
            "use 1 to 8 characters without spaces, e.g. !",
        );
    }
    for (name, ids) in [
        ("discord.guilds", &discord.guilds),
        ("discord.channels", &discord.channels),
        ("discord.admin_users", &discord.admin_users),
        ("discord.admin_roles", &discord.admin_roles),
    ] {
        if ids.contains(&0) {
            report(
                name,
                "0 is not a Discord id".into(),
                "remove it; Discord ids are numbers such as 123456789012345678",
            );
        }
    }
    if discord.connection_timeout_seconds == 0 {
        report(
            "discord.connection_timeout_seconds",
            "the connection timeout is 0 seconds".into(),
            "use a number of seconds of at least 1, e.g. 30",
        );
    }
    if discord.catch_up_messages > MAX_CATCH_UP_MESSAGES {
        report(
            "discord.catch_up_messages",
            format!("{} messages per channel is more than a catch-up reads back", discord.catch_up_messages),
            "use a number from 0 (no catch-up) to 10000, e.g. 500",
        );
    }
    if discord.catch_up_max_age_hours == 0 || discord.catch_up_max_age_hours > MAX_CATCH_UP_AGE_HOURS {
        report(
            "discord.catch_up_max_age_hours",
            format!("{} hours is not a usable catch-up age", discord.catch_up_max_age_hours),
            "use a number of hours from 1 to 8760, e.g. 72 (set discord.catch_up_messages to 0 to turn catch-up off)",
        );
    }

    let plans = &settings.plans;
    if MarketTimeZone::new(plans.market_timezone.trim()).is_err() {
        report(
            "plans.market_timezone",
            format!("`{}` is not an IANA time zone", shorten(&plans.market_timezone)),
            "use a name such as America/New_York, Europe/London or UTC",
        );
    }
    if plans.max_chart_attachments == 0 || plans.max_chart_attachments > MAX_CHART_ATTACHMENTS_LIMIT {
        report(
            "plans.max_chart_attachments",
            format!("{} charts per plan is out of range", plans.max_chart_attachments),
            "use a number from 1 to 50, e.g. 10",
        );
    }
    let bad_stopwords: Vec<String> = plans
        .ticker_stoplist
        .iter()
        .filter(|w| {
            let word = w.trim().trim_start_matches('$');
            word.is_empty()
                || word.len() > 12
                || !word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
        .map(|w| format!("`{}`", shorten(w)))
        .collect();
    if !bad_stopwords.is_empty() {
        report(
            "plans.ticker_stoplist",
            format!("{} cannot be tickers, so listing them stops nothing", bad_stopwords.join(", ")),
            "list words of letters (digits, `.` and `-` allowed), each at most 12 characters, e.g. ON,ALL,NEXT",
        );
    }
    if let Err(problem) = ticker_universe(&plans.ticker_universe) {
        report(
            "plans.ticker_universe",
            problem,
            "list symbols such as NVDA,AMD,BRK.B, or name a readable file with one symbol per line (`#` for comments)",
        );
    }
    let mut coaches = Vec::new();
    for (index, coach) in plans.coaches.iter().enumerate() {
        let label = format!("coach #{}", index + 1);
        match CoachId::new(&coach.id) {
            Ok(id) => {
                if coach.name.trim().is_empty() {
                    report(
                        "plans.coaches",
                        format!("{label} (`{id}`) has no name"),
                        "give it a name such as Day Trading",
                    );
                }
                if coach.posters.contains(&0) {
                    report(
                        "plans.coaches",
                        format!("{label} (`{id}`): 0 is not a Discord user id"),
                        "list the Discord user ids allowed to post as this coach, e.g. posters: [123456789012345678]",
                    );
                }
                coaches.push(Coach { id, name: coach.name.clone() });
            }
            Err(error) => report(
                "plans.coaches",
                format!("{label}: {error}"),
                "use a short id such as d: letters, digits, - or _, at most 16 characters",
            ),
        }
    }
    if coaches.len() == plans.coaches.len() {
        match Roster::new(coaches) {
            Ok(_) => {}
            Err(RosterError::Duplicate(id)) => {
                report("plans.coaches", format!("coach `{id}` appears twice"), "give each coach its own id")
            }
            Err(RosterError::Alias(id, read_as)) => report(
                "plans.coaches",
                format!(
                    "coach `{id}` starts with coach_, which is read as the predecessor's prefix: `{id}` names `{read_as}`"
                ),
                "give it an id that does not start with coach_ (coach_ is added to every id for the predecessor's \
                 names)",
            ),
            Err(RosterError::Empty) => report(
                "plans.coaches",
                "the roster has no coach".into(),
                "configure at least one coach, or remove plans.coaches to get the default d, i, s and n",
            ),
        }
    }
    out
}

/// The problem of a missing or blank token, with where to get one.
pub(crate) fn missing_token(problem: &str) -> Problem {
    Problem::new(
        "discord.token",
        "DISCORD_BOT_TOKEN",
        problem,
        "create one in the Discord Developer Portal (https://discord.com/developers/applications > your application \
         > Bot > Reset Token) and set DISCORD_BOT_TOKEN to it; to run without Discord, set MOCK_MODE=true or run \
         plan-server --sandbox",
    )
}

/// A bare host: a name or an IP address, without scheme, path, or spaces.
fn is_host(host: &str) -> bool {
    !host.is_empty() && !host.contains(char::is_whitespace) && !host.contains('/') && !host.contains('@')
}

/// `*`, or `scheme://host[:port]` with an http(s) scheme and nothing after the authority.
fn is_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    let Ok(url) = Url::parse(origin) else { return false };
    matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && !origin.ends_with('/')
        && url.query().is_none()
        && url.fragment().is_none()
}

/// An absolute URL with one of `schemes` and a host.
fn is_url(url: &str, schemes: &[&str]) -> bool {
    Url::parse(url).is_ok_and(|u| schemes.contains(&u.scheme()) && u.host().is_some())
}

/// Whether a `plans.ticker_universe` entry names a file rather than a symbol.
fn names_a_file(entry: &str) -> bool {
    let entry = entry.trim();
    entry.contains(['/', '\\']) || [".txt", ".csv", ".lst", ".list"].iter().any(|ext| entry.ends_with(ext))
}

/// The symbols of `plans.ticker_universe`: `None` when it is empty (no universe), else the listed symbols, or those of
/// the file its one entry names (separated by whitespace or commas; `#` starts a comment).
///
/// # Errors
/// What is wrong, for people: a file that cannot be read or holds no symbol, or entries that are not symbols.
pub(crate) fn ticker_universe(entries: &[String]) -> Result<Option<Vec<String>>, String> {
    let (symbols, origin) = match entries {
        [] => return Ok(None),
        [file] if names_a_file(file) => {
            let path = file.trim();
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", shorten(path)))?;
            let symbols: Vec<String> = text
                .lines()
                .map(|line| line.split('#').next().unwrap_or(""))
                .flat_map(|line| line.split(|c: char| c.is_whitespace() || c == ','))
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if symbols.is_empty() {
                return Err(format!("`{}` lists no symbol", shorten(path)));
            }
            (symbols, format!(" in `{}`", shorten(path)))
        }
        listed => (listed.iter().map(|s| s.trim().to_owned()).collect(), String::new()),
    };
    let bad: Vec<String> =
        symbols.iter().filter(|s| Ticker::parse(s).is_err()).take(5).map(|s| format!("`{}`", shorten(s))).collect();
    if !bad.is_empty() {
        return Err(format!("{}{origin} {} not a ticker", bad.join(", "), if bad.len() == 1 { "is" } else { "are" }));
    }
    Ok(Some(symbols))
}
