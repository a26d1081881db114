//! Tests of settings: every environment variable, the layers' order, validation, token redaction and `base.yaml`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

use super::keys::{self, KEYS, Kind};
use super::*;

const TOKEN: &str = crate::test_secrets::SETTINGS_TOKEN;

/// A configuration directory that does not exist: only defaults, the environment and overrides apply.
fn no_config_dir() -> PathBuf {
    PathBuf::from("/nonexistent/coach-plans-config")
}

fn load(env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    SettingsLoader::new().config_dir(no_config_dir()).env(env.iter().copied()).load()
}

#[track_caller]
fn load_ok(env: &[(&str, &str)]) -> Settings {
    load(env).unwrap_or_else(|e| panic!("{env:?} should load: {e}"))
}

#[track_caller]
fn problems_of(result: Result<Settings, SettingsError>) -> Vec<String> {
    result.expect_err("should fail").problems().iter().map(ToString::to_string).collect()
}

fn repo_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

type Accessor = fn(&Settings) -> String;

/// Every flat environment variable, a value for it, and how to read the setting back.
const FLAT_ENV: &[(&str, &str, Accessor, &str)] = &[
    ("DISCORD_BOT_TOKEN", "tok-123", |s| s.discord.token.as_ref().unwrap().expose_secret().to_owned(), "tok-123"),
    ("DATABASE_PATH", "/srv/plans.db", |s| s.database.path.display().to_string(), "/srv/plans.db"),
    ("API_HOST", "0.0.0.0", |s| s.api.host.clone(), "0.0.0.0"),
    ("API_PORT", "9001", |s| s.api.port.to_string(), "9001"),
    ("LOG_LEVEL", "DEBUG", |s| s.log.level.to_string(), "debug"),
    ("LOG_FILE", "logs/plans.log", |s| format!("{:?}", s.log.file), "Some(\"logs/plans.log\")"),
    ("LOG_MAX_SIZE_MB", "20", |s| s.log.max_size_mb.to_string(), "20"),
    ("LOG_BACKUP_COUNT", "3", |s| s.log.backup_count.to_string(), "3"),
    ("CACHE_TTL_SECONDS", "60", |s| format!("{:?}", s.client.cache_ttl()), "60s"),
    ("MAX_CACHE_SIZE", "50", |s| s.client.max_cache_size.to_string(), "50"),
    ("MOCK_MODE", "true", |s| s.discord.mock_mode.to_string(), "true"),
    ("DISCORD_PREFIX_COMMANDS", "false", |s| s.discord.prefix_commands.to_string(), "false"),
    ("RECONNECT_ATTEMPTS", "9", |s| s.discord.reconnect_attempts.to_string(), "9"),
    ("RECONNECT_DELAY_SECONDS", "4", |s| format!("{:?}", s.discord.reconnect_delay()), "4s"),
    ("CONNECTION_TIMEOUT", "12", |s| format!("{:?}", s.discord.connection_timeout()), "12s"),
    ("CATCH_UP_MESSAGES", "0", |s| s.discord.catch_up_messages.to_string(), "0"),
    ("CATCH_UP_MAX_AGE_HOURS", "24", |s| format!("{:?}", s.discord.catch_up_max_age()), "86400s"),
    ("MAX_CHART_ATTACHMENTS", "20", |s| s.plans.max_chart_attachments.to_string(), "20"),
    ("LOG_FORMAT", "json", |s| s.log.format.to_string(), "json"),
    ("MARKET_TIMEZONE", "Europe/London", |s| s.market_time_zone().name().to_owned(), "Europe/London"),
    ("COMMAND_PREFIX", "?", |s| s.discord.command_prefix.clone(), "?"),
    (
        "DISCORD_API_BASE_URL",
        "http://127.0.0.1:9000",
        |s| format!("{:?}", s.discord.api_base_url),
        "Some(\"http://127.0.0.1:9000\")",
    ),
    (
        "DISCORD_GATEWAY_URL",
        "ws://127.0.0.1:9001",
        |s| format!("{:?}", s.discord.gateway_url),
        "Some(\"ws://127.0.0.1:9001\")",
    ),
    (
        "CORS_ORIGINS",
        "https://a.example.com, http://localhost:3000,",
        |s| format!("{:?}", s.api.cors_origins),
        "[\"https://a.example.com\", \"http://localhost:3000\"]",
    ),
    ("DISCORD_GUILD_IDS", "111,222", |s| format!("{:?}", s.discord.guilds), "[111, 222]"),
    (
        "API_PUBLIC_URL",
        "https://plans.example.com",
        |s| format!("{:?}", s.api.public_url),
        "Some(\"https://plans.example.com\")",
    ),
    ("ARCHIVE_CHART_IMAGES", "no", |s| s.plans.archive_chart_images.to_string(), "false"),
    (
        "DATABASE_URL",
        "postgresql://plans:pw-never-shown@db.example.com/coach_plans?sslmode=require",
        crate::store::shown,
        "postgres://plans@db.example.com:5432/coach_plans",
    ),
    ("DISCORD_CHANNEL_IDS", "333", |s| format!("{:?}", s.discord.channels), "[333]"),
    ("ADMIN_USER_IDS", "444, 555", |s| format!("{:?}", s.admin_users()), "[UserId(444), UserId(555)]"),
    ("ADMIN_ROLE_IDS", "666", |s| format!("{:?}", s.admin_roles()), "[RoleId(666)]"),
    ("TICKER_STOPLIST", "on, ALL", |s| format!("{:?}", s.plans.ticker_stoplist), "[\"on\", \"ALL\"]"),
    ("TICKER_UNIVERSE", "NVDA,amd", |s| format!("{:?}", s.plans.ticker_universe), "[\"NVDA\", \"amd\"]"),
    ("API_AUTH", "Required", |s| format!("{:?}", s.api.auth), "Required"),
    ("API_RATE_PER_SECOND", "5", |s| s.api.rate_limit.per_second.to_string(), "5"),
    ("API_RATE_BURST", "7", |s| s.api.rate_limit.burst.to_string(), "7"),
    (
        "API_TRUSTED_PROXIES",
        "10.0.0.0/8, 192.168.1.5",
        |s| format!("{:?}", s.trusted_proxies()),
        "[10.0.0.0/8, 192.168.1.5/32]",
    ),
    ("WEBHOOKS_DELIVER", "false", |s| s.webhooks.deliver.to_string(), "false"),
    ("WEBHOOKS_ALLOW_INSECURE_LOOPBACK", "yes", |s| s.webhooks.allow_insecure_loopback.to_string(), "true"),
];

/// Settings that have no flat name, by their nested name.
const NESTED_ONLY: &[(&str, &str, Accessor, &str)] = &[
    ("COACH_PLANS__DATABASE__POOL_SIZE", "3", |s| s.database.pool_size.to_string(), "3"),
    ("COACH_PLANS__DATABASE__BUSY_TIMEOUT_MS", "250", |s| format!("{:?}", s.database.busy_timeout()), "250ms"),
    ("COACH_PLANS__API__MAX_BODY_BYTES", "1024", |s| s.api.max_body_bytes.to_string(), "1024"),
    ("COACH_PLANS__PLANS__COACHES", "x=Xray, y = Yankee", |s| s.roster().describe(), "x (Xray), y (Yankee)"),
    ("COACH_PLANS__API__RATE_LIMIT__ADMIN_PER_SECOND", "0", |s| s.api.rate_limit.admin_per_second.to_string(), "0"),
    ("COACH_PLANS__API__RATE_LIMIT__ADMIN_BURST", "9", |s| s.api.rate_limit.admin_burst.to_string(), "9"),
    ("COACH_PLANS__WEBHOOKS__TIMEOUT_SECONDS", "3", |s| s.webhooks.timeout_seconds.to_string(), "3"),
    ("COACH_PLANS__WEBHOOKS__RETRY_HOURS", "2", |s| s.webhooks.retry_hours.to_string(), "2"),
    ("COACH_PLANS__WEBHOOKS__FIRST_RETRY_SECONDS", "1", |s| s.webhooks.first_retry_seconds.to_string(), "1"),
    ("COACH_PLANS__WEBHOOKS__POLL_INTERVAL_MS", "100", |s| s.webhooks.poll_interval_ms.to_string(), "100"),
];

#[track_caller]
fn check(env: &str, value: &str, read: Accessor, expected: &str) {
    let settings = load_ok(&[(env, value)]);
    assert_eq!(read(&settings), expected, "{env}={value}");
    assert_ne!(
        read(&Settings::default().with_token_for_test()),
        expected,
        "{env}: the test value must differ from the default"
    );
}

impl Settings {
    /// The defaults with some token, so that accessors that unwrap the token work on them.
    fn with_token_for_test(mut self) -> Self {
        self.discord.token = Some("default-token".into());
        self
    }
}

#[test]
fn every_flat_environment_variable_sets_its_setting() {
    for (env, value, read, expected) in FLAT_ENV {
        check(env, value, *read, expected);
    }
    let tested: BTreeSet<&str> = FLAT_ENV.iter().map(|row| row.0).collect();
    let documented: BTreeSet<&str> = KEYS.iter().filter_map(|k| k.flat_env).collect();
    assert_eq!(tested, documented, "every flat name is tested");
    for name in [
        "DISCORD_BOT_TOKEN",
        "DATABASE_PATH",
        "DATABASE_URL",
        "API_HOST",
        "API_PORT",
        "LOG_LEVEL",
        "LOG_FILE",
        "LOG_MAX_SIZE_MB",
        "LOG_BACKUP_COUNT",
        "CACHE_TTL_SECONDS",
        "MAX_CACHE_SIZE",
        "MOCK_MODE",
        "RECONNECT_ATTEMPTS",
        "RECONNECT_DELAY_SECONDS",
        "CONNECTION_TIMEOUT",
        "MAX_CHART_ATTACHMENTS",
        "LOG_FORMAT",
        "MARKET_TIMEZONE",
        "COMMAND_PREFIX",
        "DISCORD_API_BASE_URL",
        "DISCORD_GATEWAY_URL",
        "CORS_ORIGINS",
        "DISCORD_GUILD_IDS",
        "DISCORD_CHANNEL_IDS",
        "ADMIN_USER_IDS",
        "ADMIN_ROLE_IDS",
        "API_AUTH",
        "API_RATE_PER_SECOND",
        "API_RATE_BURST",
        "API_TRUSTED_PROXIES",
        "WEBHOOKS_ALLOW_INSECURE_LOOPBACK",
    ] {
        assert!(documented.contains(name), "{name} is an operator-interface name (DESIGN.md)");
    }
}

#[test]
fn every_setting_has_a_nested_environment_form() {
    for (env, value, read, expected) in FLAT_ENV {
        let nested = keys::by_flat_env(env).unwrap().nested_env();
        check(&nested, value, *read, expected);
    }
    for (env, value, read, expected) in NESTED_ONLY {
        check(env, value, *read, expected);
    }
    let tested: BTreeSet<String> = FLAT_ENV
        .iter()
        .map(|row| keys::by_flat_env(row.0).unwrap().nested_env())
        .chain(NESTED_ONLY.iter().map(|row| row.0.to_owned()))
        .collect();
    let all: BTreeSet<String> = KEYS.iter().map(|k| k.nested_env()).collect();
    assert_eq!(tested, all, "every setting's nested form is tested");
    assert_eq!(keys::find("api.port").unwrap().nested_env(), "COACH_PLANS__API__PORT");
}

#[test]
fn the_nested_form_wins_over_the_flat_name() {
    let settings = load_ok(&[("API_PORT", "1"), ("COACH_PLANS__API__PORT", "2")]);
    assert_eq!(settings.api.port, 2);
}

#[test]
fn empty_environment_values_count_as_unset() {
    let env: Vec<(&str, &str)> =
        FLAT_ENV.iter().map(|row| (row.0, "")).chain([("COACH_PLANS__API__PORT", "  ")]).collect();
    assert_eq!(load_ok(&env), Settings::default());
    assert_eq!(load_ok(&[("APP_ENVIRONMENT", ""), ("MOCK_MODE", "")]), Settings::default());
}

#[test]
fn an_empty_configuration_is_valid_and_is_the_defaults() {
    let settings = load_ok(&[]);
    assert_eq!(settings, Settings::default());
    assert_eq!(settings.validate(), Ok(()));
    assert_eq!(settings.database.path, PathBuf::from("data/coach_plans.db"));
    assert_eq!((settings.database.pool_size, settings.database.busy_timeout_ms), (8, 5000));
    assert_eq!(settings.api.address(), "127.0.0.1:8080");
    assert_eq!(settings.api.max_body_bytes, 65536);
    assert!(settings.api.cors_origins.is_empty());
    assert_eq!(
        (settings.log.level, settings.log.format, settings.log.file.clone()),
        (LogLevel::Info, LogFormat::Pretty, None)
    );
    assert_eq!((settings.log.max_size_mb, settings.log.backup_count), (10, 5));
    assert_eq!((settings.client.cache_ttl_seconds, settings.client.max_cache_size), (300, 1000));
    let d = &settings.discord;
    assert!(d.token.is_none() && d.api_base_url.is_none() && d.gateway_url.is_none() && !d.mock_mode);
    assert_eq!(d.command_prefix, "!");
    assert_eq!((d.reconnect_attempts, d.reconnect_delay_seconds, d.connection_timeout_seconds), (5, 2, 30));
    assert_eq!((d.catch_up_messages, d.catch_up_max_age_hours), (500, 72));
    assert_eq!(settings.market_time_zone().name(), "America/New_York");
    assert_eq!(settings.plans.max_chart_attachments, 10);
    assert_eq!(settings.roster(), core_model::Roster::default());
    assert!(settings.coach_posters().is_empty());
}

struct Layers {
    dir: tempfile::TempDir,
}

impl Layers {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("config")).unwrap();
        Self { dir }
    }

    fn write(&self, relative: &str, yaml: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        fs::write(&path, yaml).unwrap();
        path
    }

    fn loader(&self, env: &[(&str, &str)]) -> SettingsLoader {
        SettingsLoader::new().config_dir(self.dir.path().join("config")).env(env.iter().copied())
    }
}

#[test]
fn layers_apply_in_order_defaults_base_environment_file_config_file_env_overrides() {
    let layers = Layers::new();
    let port = |loader: &SettingsLoader| {
        let settings = loader.load().unwrap_or_else(|e| panic!("{e}"));
        // Settings set by a lower layer only survive the higher ones (sections merge key by key).
        assert_eq!(settings.api.host, "base.example");
        assert_eq!(settings.log.level, LogLevel::Warn);
        assert_eq!(settings.database, DatabaseSettings::default(), "defaults lie under everything");
        settings.api.port
    };

    assert_eq!(layers.loader(&[]).load().unwrap(), Settings::default(), "defaults");
    layers.write("config/base.yaml", "api:\n  host: base.example\n  port: 1001\nlog:\n  level: warn\n");
    assert_eq!(port(&layers.loader(&[])), 1001, "base.yaml over defaults");

    layers.write("config/local.yaml", "api:\n  port: 1002\n");
    layers.write("config/production.yaml", "api:\n  port: 1012\n");
    assert_eq!(port(&layers.loader(&[])), 1002, "local.yaml (the default environment) over base.yaml");
    assert_eq!(port(&layers.loader(&[("APP_ENVIRONMENT", "local")])), 1002);
    assert_eq!(port(&layers.loader(&[("APP_ENVIRONMENT", "production")])), 1012, "APP_ENVIRONMENT picks the file");

    let explicit = layers.write("explicit.yaml", "api:\n  port: 1003\n");
    let with_file = |env: &[(&str, &str)]| layers.loader(env).config_file(explicit.clone());
    assert_eq!(port(&with_file(&[("APP_ENVIRONMENT", "production")])), 1003, "--config over the environment file");

    assert_eq!(port(&with_file(&[("API_PORT", "1004")])), 1004, "environment variables over --config");
    assert_eq!(
        port(&with_file(&[("API_PORT", "1004")]).set_override("api.port", "1005")),
        1005,
        "command-line overrides over everything"
    );
    assert_eq!(
        port(&with_file(&[]).set_override_opt("api.port", None::<String>)),
        1003,
        "an absent flag changes nothing"
    );

    let files = with_file(&[]).files();
    assert_eq!(
        files,
        [layers.dir.path().join("config/base.yaml"), layers.dir.path().join("config/local.yaml"), explicit]
    );
}

#[test]
fn a_missing_environment_file_is_fine_and_app_config_dir_is_honoured() {
    let layers = Layers::new();
    layers.write("config/base.yaml", "api:\n  port: 1001\n");
    let dir = layers.dir.path().join("config");
    let env = [("APP_CONFIG_DIR", dir.to_str().unwrap()), ("APP_ENVIRONMENT", "production")];
    let settings = SettingsLoader::new().env(env).load().unwrap();
    assert_eq!(settings.api.port, 1001);
}

#[test]
fn a_missing_config_file_is_an_error() {
    let layers = Layers::new();
    let missing = layers.dir.path().join("missing.yaml");
    let problems = problems_of(layers.loader(&[]).config_file(missing.clone()).load());
    assert_eq!(
        problems,
        [format!(
            "- config file ({}): the file does not exist; check the path given to --config, or leave --config out",
            missing.display()
        )]
    );
}

#[test]
fn a_malformed_file_is_named() {
    let layers = Layers::new();
    layers.write("config/base.yaml", "api: [unclosed\n");
    let problems = problems_of(layers.loader(&[]).load());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("- config file ("), "{problems:?}");
    assert!(problems[0].contains("base.yaml): the file is not valid YAML"), "{problems:?}");
}

#[test]
fn validation_reports_every_problem_at_once() {
    let error = load(&[
        ("API_PORT", "abc"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_FORMAT", "xml"),
        ("LOG_MAX_SIZE_MB", "0"),
        ("MOCK_MODE", "maybe"),
        ("MARKET_TIMEZONE", "Mars/Olympus"),
        ("MAX_CHART_ATTACHMENTS", "51"),
        ("COACH_PLANS__DATABASE__POOL_SIZE", "0"),
        ("DISCORD_API_BASE_URL", "ftp://example.com"),
        ("DISCORD_GATEWAY_URL", "http://example.com"),
        ("CORS_ORIGINS", "https://ok.example.com,not an origin,https://x.example.com/path"),
        ("ADMIN_USER_IDS", "12,abc"),
        ("DISCORD_CHANNEL_IDS", "0"),
        ("COACH_PLANS__PLANS__COACHES", "d=Day Trading,a b=Bad"),
        ("TICKER_STOPLIST", "ON,two words"),
        ("TICKER_UNIVERSE", "NVDA,GOOGLE"),
        ("APP_ENVIRONMENT", "staging"),
        ("COACH_PLANS__API__PROT", "1"),
    ])
    .expect_err("bad settings");
    let expected = [
        "- environment (APP_ENVIRONMENT): `staging` is not an environment; use local or production, or leave it unset for local",
        "- database.pool_size (COACH_PLANS__DATABASE__POOL_SIZE): the pool size is 0; use at least 1, e.g. 8",
        "- api.port (API_PORT): `abc` is not a port number from 0 to 65535; use e.g. 8080 (0 picks a free port)",
        "- api.cors_origins (CORS_ORIGINS): `not an origin`, `https://x.example.com/path` are not origins; write each as \
         scheme://host[:port] without a path, e.g. https://dashboard.example.com, or * for any origin",
        "- log.level (LOG_LEVEL): `verbose` is not a log level; use one of trace, debug, info, warn, error, off",
        "- log.format (LOG_FORMAT): `xml` is not a log format; use pretty or json",
        "- log.max_size_mb (LOG_MAX_SIZE_MB): 0 MB is not a usable log file size; use a number of megabytes from 1 to \
         1048576, e.g. 10",
        "- discord.api_base_url (DISCORD_API_BASE_URL): `ftp://example.com` is not an http or https URL; use e.g. \
         http://127.0.0.1:9000, or leave it unset for the real Discord",
        "- discord.gateway_url (DISCORD_GATEWAY_URL): `http://example.com` is not a ws or wss URL; use e.g. \
         ws://127.0.0.1:9001, or leave it unset for the real Discord",
        "- discord.channels (DISCORD_CHANNEL_IDS): 0 is not a Discord id; remove it; Discord ids are numbers such as \
         123456789012345678",
        "- discord.admin_users (ADMIN_USER_IDS): `abc` is not a Discord id (a number such as 123456789012345678); use \
         comma-separated numeric ids; to copy one, in Discord, turn on Developer Mode (User Settings > Advanced) and \
         right-click the user > Copy User ID",
        "- discord.mock_mode (MOCK_MODE): `maybe` is not true or false; use true or false",
        "- plans.market_timezone (MARKET_TIMEZONE): `Mars/Olympus` is not an IANA time zone; use a name such as \
         America/New_York, Europe/London or UTC",
        "- plans.max_chart_attachments (MAX_CHART_ATTACHMENTS): 51 charts per plan is out of range; use a number from 1 \
         to 50, e.g. 10",
        "- plans.ticker_stoplist (TICKER_STOPLIST): `two words` cannot be tickers, so listing them stops nothing; list \
         words of letters (digits, `.` and `-` allowed), each at most 12 characters, e.g. ON,ALL,NEXT",
        "- plans.ticker_universe (TICKER_UNIVERSE): `GOOGLE` is not a ticker; list symbols such as NVDA,AMD,BRK.B, or \
         name a readable file with one symbol per line (`#` for comments)",
        "- plans.coaches (COACH_PLANS__PLANS__COACHES): coach #2: the coach id `a b` may only contain letters, digits, \
         `-` and `_`; use a short id such as d: letters, digits, - or _, at most 16 characters",
        "- api.prot (COACH_PLANS__API__PROT): unknown setting; check the spelling; api has host, port, cors_origins, \
         max_body_bytes, public_url, auth, rate_limit, trusted_proxies",
    ];
    let got: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
    assert_eq!(got, expected);
    let text = error.to_string();
    assert_eq!(text, format!("the configuration has {} problems:\n{}", expected.len(), expected.join("\n")));
}

#[test]
fn type_errors_name_the_setting_its_variable_and_where_the_value_came_from() {
    assert_eq!(
        problems_of(load(&[("COACH_PLANS__API__PORT", "70000")])),
        [
            "- api.port (API_PORT): `70000` (from environment variable COACH_PLANS__API__PORT) is not a port number from 0 \
          to 65535; use e.g. 8080 (0 picks a free port)"
        ]
    );
    let layers = Layers::new();
    let file = layers.write("bad.yaml", "log:\n  backup_count: -1\n  max_size_mb: [1]\napi:\n  max_body_bytes: 1.5\n");
    let problems = problems_of(layers.loader(&[]).config_file(file.clone()).load());
    let from = format!("(from {})", file.display());
    assert_eq!(
        problems,
        [
            format!(
                "- api.max_body_bytes (COACH_PLANS__API__MAX_BODY_BYTES): `1.5` {from} is not a number of bytes; use e.g. 65536"
            ),
            format!("- log.max_size_mb (LOG_MAX_SIZE_MB): a list {from} is not a size in megabytes; use e.g. 10"),
            format!("- log.backup_count (LOG_BACKUP_COUNT): `-1` {from} is not a number of files; use e.g. 5"),
        ]
    );
    assert_eq!(
        problems_of(SettingsLoader::new().config_dir(no_config_dir()).set_override("api.port", "x").load()),
        [
            "- api.port (API_PORT): `x` (from the command line) is not a port number from 0 to 65535; use e.g. 8080 (0 picks \
          a free port)"
        ]
    );
}

#[test]
fn port_zero_is_allowed() {
    assert_eq!(load_ok(&[("API_PORT", "0")]).api.port, 0);
}

#[test]
fn values_are_read_leniently_where_it_is_unambiguous() {
    let s = load_ok(&[("LOG_LEVEL", "WARNING"), ("LOG_FORMAT", " JSON "), ("MOCK_MODE", "yes"), ("API_PORT", " 81 ")]);
    assert_eq!(
        (s.log.level, s.log.format, s.discord.mock_mode, s.api.port),
        (LogLevel::Warn, LogFormat::Json, true, 81)
    );
    assert_eq!(load_ok(&[("LOG_LEVEL", "critical")]).log.level, LogLevel::Error);
    assert!(!load_ok(&[("MOCK_MODE", "0")]).discord.mock_mode);
    assert_eq!(load_ok(&[("CORS_ORIGINS", "*")]).api.cors_origins, ["*"]);
}

#[test]
fn unknown_sections_and_settings_are_reported_with_where_they_were_set() {
    let layers = Layers::new();
    let base = layers.write("config/base.yaml", "apii:\n  port: 1\nlog:\n  levle: debug\napi: 5\n");
    let problems =
        problems_of(layers.loader(&[("COACH_PLANS__DATABSE__PATH", "x")]).set_override("api.prot", "1").load());
    let base = base.display();
    assert_eq!(
        problems,
        [
            format!(
                "- api.prot (the command line): unknown setting; use one of {}",
                KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
            ),
            format!("- api ({base}): `5` is not a section; write api as a mapping of settings, as in config/base.yaml"),
            format!("- apii ({base}): unknown section; check the spelling; the sections are database, api, log, client, discord, plans, webhooks"),
            "- databse (COACH_PLANS__DATABSE__PATH): unknown section; check the spelling; the sections are database, api, \
             log, client, discord, plans, webhooks"
                .to_owned(),
            format!("- log.levle ({base}): unknown setting; check the spelling; log has level, format, file, max_size_mb, backup_count"),
        ]
        .map(|line| line.to_string())
    );
}

#[test]
fn coaches_come_from_yaml_with_posters() {
    let layers = Layers::new();
    layers.write(
        "config/base.yaml",
        "plans:\n  coaches:\n    - id: D\n      name: Day Trading\n      posters: [111, \"222\"]\n    - id: swing_2\n      name: Swing\n",
    );
    let settings = layers.loader(&[]).load().unwrap();
    assert_eq!(settings.roster().describe(), "d (Day Trading), swing_2 (Swing)");
    let posters = settings.coach_posters();
    assert_eq!(posters.len(), 1, "only restricted coaches are listed");
    assert_eq!(posters[&core_model::CoachId::new("d").unwrap()], [core_model::UserId(111), core_model::UserId(222)]);
}

#[test]
fn bad_coaches_are_each_reported() {
    assert_eq!(
        problems_of(load(&[("COACH_PLANS__PLANS__COACHES", "d=Day,D=Again")])),
        ["- plans.coaches (COACH_PLANS__PLANS__COACHES): coach `d` appears twice; give each coach its own id"]
    );
    assert_eq!(
        problems_of(load(&[("COACH_PLANS__PLANS__COACHES", "d=Day,coach_d=Other")])),
        ["- plans.coaches (COACH_PLANS__PLANS__COACHES): coach `coach_d` starts with coach_, which is read as the \
          predecessor's prefix: `coach_d` names `d`; give it an id that does not start with coach_ (coach_ is added \
          to every id for the predecessor's names)"]
    );
    assert_eq!(
        problems_of(load(&[("COACH_PLANS__PLANS__COACHES", "d")])),
        ["- plans.coaches (COACH_PLANS__PLANS__COACHES): `d` is not `id=Name`; write the coaches as `d=Day \
          Trading,i=Intraday` (posters can only be set in a config file)"]
    );
    let layers = Layers::new();
    let file = layers.write(
        "coaches.yaml",
        "plans:\n  coaches:\n    - id: d\n      name: \"\"\n      posters: [0]\n    - name: No Id\n      colour: red\n    - 5\n",
    );
    let from = format!("(from {})", file.display());
    assert_eq!(
        problems_of(layers.loader(&[]).config_file(file.clone()).load()),
        [
            format!(
                "- plans.coaches (COACH_PLANS__PLANS__COACHES): coach #2: it has no id {from}; give each coach an id and a name as in config/base.yaml, or in the environment write `d=Day Trading,i=Intraday`"
            ),
            format!(
                "- plans.coaches (COACH_PLANS__PLANS__COACHES): coach #2: `colour` {from} is not a coach field; a coach has only id, name and posters"
            ),
            format!(
                "- plans.coaches (COACH_PLANS__PLANS__COACHES): coach #3: `5` {from} is not a coach; give each coach an id and a name as in config/base.yaml, or in the environment write `d=Day Trading,i=Intraday`"
            ),
        ]
    );
    let mut settings = Settings::default();
    settings.plans.coaches = vec![CoachSettings { id: "d".into(), name: " ".into(), posters: vec![0] }];
    let problems: Vec<String> = settings.validate().unwrap_err().problems().iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "- plans.coaches (COACH_PLANS__PLANS__COACHES): coach #1 (`d`) has no name; give it a name such as Day Trading",
            "- plans.coaches (COACH_PLANS__PLANS__COACHES): coach #1 (`d`): 0 is not a Discord user id; list the Discord \
             user ids allowed to post as this coach, e.g. posters: [123456789012345678]",
        ]
    );
    settings.plans.coaches.clear();
    assert!(settings.validate().unwrap_err().to_string().contains("the roster has no coach"));
    assert_eq!(settings.roster(), core_model::Roster::default(), "accessors fall back on unvalidated settings");
}

#[test]
fn hand_built_settings_are_validated_too() {
    let mut settings = Settings::default();
    settings.api.host = "http://0.0.0.0".into();
    settings.discord.command_prefix = "! ".into();
    settings.discord.connection_timeout_seconds = 0;
    settings.discord.catch_up_messages = 10_001;
    settings.discord.catch_up_max_age_hours = 0;
    settings.api.max_body_bytes = 0;
    settings.log.file = Some(PathBuf::from("logs/"));
    settings.database.path = PathBuf::new();
    let error = settings.validate().unwrap_err();
    let names: Vec<&str> = error.problems().iter().map(|p| p.setting.as_str()).collect();
    assert_eq!(
        names,
        [
            "database.path",
            "api.host",
            "api.max_body_bytes",
            "log.file",
            "discord.command_prefix",
            "discord.connection_timeout_seconds",
            "discord.catch_up_messages",
            "discord.catch_up_max_age_hours"
        ]
    );
}

#[test]
fn the_token_is_required_only_when_asked_for_and_the_error_says_where_to_get_one() {
    let settings = load_ok(&[]);
    let error = settings.require_discord_token().unwrap_err();
    let text = error.to_string();
    assert!(text.contains("- discord.token (DISCORD_BOT_TOKEN): no Discord bot token is configured;"), "{text}");
    assert!(text.contains("Discord Developer Portal") && text.contains("Bot > Reset Token"), "{text}");
    assert!(text.contains("set DISCORD_BOT_TOKEN"), "{text}");

    let settings = load_ok(&[("DISCORD_BOT_TOKEN", TOKEN)]);
    assert_eq!(settings.require_discord_token().unwrap().expose_secret(), TOKEN);
}

/// Every error this module can produce, each with the token somewhere in its input.
fn errors_with_the_token_around() -> Vec<SettingsError> {
    let layers = Layers::new();
    let token_list = layers.write("list.yaml", &format!("discord:\n  token: [{TOKEN}]\n"));
    let broken = layers.write("broken.yaml", &format!("discord:\n  token: {TOKEN}\n  : [oops\n"));
    let blank = layers.write("blank.yaml", "discord:\n  token: \"  \"\n");
    let blank_settings = layers.loader(&[]).config_file(blank).load().unwrap();
    let mut errors = vec![
        load(&[("DISCORD_BOT_TOKEN", TOKEN), ("API_PORT", TOKEN), ("LOG_LEVEL", TOKEN), ("ADMIN_USER_IDS", TOKEN)])
            .unwrap_err(),
        load(&[("COACH_PLANS__DISCORD__TOKEN", TOKEN), ("MARKET_TIMEZONE", TOKEN), ("CORS_ORIGINS", TOKEN)])
            .unwrap_err(),
        load(&[("DISCORD_BOT_TOKEN", TOKEN), (&format!("COACH_PLANS__{TOKEN}"), "1")]).unwrap_err(),
        layers.loader(&[]).config_file(token_list).load().unwrap_err(),
        layers.loader(&[]).config_file(broken).load().unwrap_err(),
        layers.loader(&[("DISCORD_BOT_TOKEN", TOKEN)]).set_override(TOKEN, "1").load().unwrap_err(),
        Settings::default().require_discord_token().unwrap_err(),
        blank_settings.require_discord_token().unwrap_err(),
    ];
    let mut bad = load_ok(&[("DISCORD_BOT_TOKEN", TOKEN)]);
    bad.plans.market_timezone = "Nowhere/Land".into();
    errors.push(bad.validate().unwrap_err());
    errors
}

#[test]
fn the_token_never_appears_in_debug_output_serialization_or_errors() {
    let settings = load_ok(&[("DISCORD_BOT_TOKEN", TOKEN)]);
    let debug = format!("{settings:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("token: Some(\"[REDACTED]\")"), "{debug}");
    assert!(!format!("{settings:#?}").contains(TOKEN));
    let json = serde_json::to_string(&settings).unwrap();
    assert!(!json.contains(TOKEN) && json.contains("\"token\":\"[REDACTED]\""), "{json}");
    let loader = SettingsLoader::new().env([("DISCORD_BOT_TOKEN", TOKEN)]);
    assert!(!format!("{loader:?}").contains(TOKEN));

    let errors = errors_with_the_token_around();
    assert_eq!(errors.len(), 9);
    for error in errors {
        for text in [format!("{error}"), format!("{error:?}"), format!("{error:#?}")] {
            assert!(!text.contains(TOKEN), "{text}");
            assert!(!text.contains("super-secret"), "{text}");
        }
    }
}

#[test]
fn a_token_of_the_wrong_type_is_reported_without_its_value() {
    let layers = Layers::new();
    let file = layers.write("list.yaml", &format!("discord:\n  token: [{TOKEN}]\n"));
    assert_eq!(
        problems_of(layers.loader(&[]).config_file(file).load()),
        ["- discord.token (DISCORD_BOT_TOKEN): the value (not shown: it is secret) is not a bot token; set \
          DISCORD_BOT_TOKEN to the token from the Discord Developer Portal (Applications > Bot > Reset Token)"]
    );
}

/// The leaves of a YAML file: `api.port`, `api.rate_limit.burst`, ...
fn yaml_leaves(path: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(path).unwrap();
    let map = config::Format::parse(&config::FileFormat::Yaml, None, &text).unwrap();
    let mut leaves = BTreeSet::new();
    for (section, value) in map {
        add_leaves(&section, value, &mut leaves);
    }
    leaves
}

fn add_leaves(prefix: &str, value: config::Value, leaves: &mut BTreeSet<String>) {
    match value.clone().into_table() {
        // A group of settings (not the roster, whose items are tables in a list).
        Ok(table) if !KEYS.iter().any(|k| k.name == prefix) => {
            for (field, inner) in table {
                add_leaves(&format!("{prefix}.{field}"), inner, leaves);
            }
        }
        _ => {
            leaves.insert(prefix.to_owned());
        }
    }
}

#[test]
fn base_yaml_holds_exactly_the_defaults_and_documents_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(repo_config_dir().join("base.yaml"), dir.path().join("base.yaml")).unwrap();
    let from_base = SettingsLoader::new().config_dir(dir.path()).load().unwrap();
    assert_eq!(from_base, Settings::default());

    let documented = yaml_leaves(&repo_config_dir().join("base.yaml"));
    let all: BTreeSet<String> = KEYS.iter().map(|k| k.name.to_owned()).collect();
    assert_eq!(documented, all, "base.yaml lists every setting, and nothing else");
    let text = fs::read_to_string(repo_config_dir().join("base.yaml")).unwrap();
    for key in KEYS {
        assert!(text.contains(&format!("[{}", key.env_name())), "base.yaml names {} for {}", key.env_name(), key.name);
    }
}

#[test]
fn the_example_environment_files_load_cleanly() {
    let local = SettingsLoader::new().config_dir(repo_config_dir()).load().unwrap();
    assert_eq!((local.log.level, local.log.format), (LogLevel::Debug, LogFormat::Pretty));
    let production =
        SettingsLoader::new().config_dir(repo_config_dir()).env([("APP_ENVIRONMENT", "production")]).load().unwrap();
    assert_eq!(production.log.format, LogFormat::Json);
    assert_eq!(production.api.host, "0.0.0.0");
    assert!(production.log.file.is_some());
}

#[test]
fn the_catalogue_matches_the_settings_structs() {
    // Serializing the defaults gives every field; each must be in the catalogue, and the reverse.
    let value = serde_json::to_value(Settings::default()).unwrap();
    let mut fields = BTreeSet::new();
    for (section, table) in value.as_object().unwrap() {
        for (field, value) in table.as_object().unwrap() {
            match value.as_object() {
                Some(group) => fields.extend(group.keys().map(|inner| format!("{section}.{field}.{inner}"))),
                None => {
                    fields.insert(format!("{section}.{field}"));
                }
            }
        }
    }
    let all: BTreeSet<String> = KEYS.iter().map(|k| k.name.to_owned()).collect();
    assert_eq!(fields, all);
    assert!(KEYS.iter().all(|k| k.fix.starts_with("use") || k.fix.starts_with("give") || k.fix.starts_with("set")));
    assert_eq!(KEYS.iter().filter(|k| k.kind == Kind::Secret).count(), 2);
}

#[test]
fn hand_written_settings_errors_list_one_problem_per_line() {
    let mut settings = Settings::default();
    settings.plans.max_chart_attachments = 0;
    let error = settings.validate().unwrap_err();
    assert_eq!(
        error.to_string(),
        "the configuration has a problem:\n- plans.max_chart_attachments (MAX_CHART_ATTACHMENTS): 0 charts per plan is \
         out of range; use a number from 1 to 50, e.g. 10"
    );
}

#[test]
fn the_ticker_rules_come_from_the_stoplist_and_a_universe_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tickers.txt");
    std::fs::write(&file, "# the desk's symbols\nNVDA AMD\nbrk.b, SPY # indexes too\n").unwrap();
    let settings = load_ok(&[("TICKER_STOPLIST", "SPY"), ("TICKER_UNIVERSE", file.to_str().unwrap())]);
    let rules = settings.ticker_rules();
    let found: Vec<String> =
        rules.extract("NVDA AMD TSLA BRK.B SPY $TSLA $SPY").into_iter().map(String::from).collect();
    assert_eq!(found, ["NVDA", "AMD", "BRK.B", "TSLA", "SPY"], "bare: listed and not stopped; cashtags: all");
    assert_eq!(load_ok(&[]).ticker_rules(), core_model::TickerRules::default());

    let missing = dir.path().join("missing.txt");
    let error = load(&[("TICKER_UNIVERSE", missing.to_str().unwrap())]).expect_err("an unreadable universe");
    let text = error.to_string();
    assert!(text.contains("plans.ticker_universe (TICKER_UNIVERSE): cannot read `"), "{text}");
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# nothing yet\n").unwrap();
    let error = load(&[("TICKER_UNIVERSE", empty.to_str().unwrap())]).expect_err("an empty universe");
    assert!(error.to_string().contains("lists no symbol"), "{error}");
}

#[test]
fn the_database_password_never_appears_in_debug_output_serialization_or_errors() {
    const PASSWORD: &str = "pw-7Yq2-never-shown";
    let url = format!("postgres://plans:{PASSWORD}@db.example.com/coach_plans");
    let settings = load_ok(&[("DATABASE_URL", &url)]);
    let debug = format!("{settings:?}");
    assert!(!debug.contains(PASSWORD) && debug.contains("url: Some(\"[REDACTED]\")"), "{debug}");
    let json = serde_json::to_string(&settings).unwrap();
    assert!(!json.contains(PASSWORD) && json.contains("\"url\":\"[REDACTED]\""), "{json}");
    for bad in [format!("{url}?sslmode=sometimes"), format!("mysql://plans:{PASSWORD}@db/x"), format!("{url}?pool=3")] {
        let problems = problems_of(load(&[("DATABASE_URL", &bad)]));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("- database.url (DATABASE_URL): "), "{problems:?}");
        assert!(!problems[0].contains(PASSWORD), "{problems:?}");
    }
    let layers = Layers::new();
    let file = layers.write("list.yaml", &format!("database:\n  url: [{url}]\n"));
    let problems = problems_of(layers.loader(&[]).config_file(file).load());
    assert_eq!(
        problems,
        ["- database.url (DATABASE_URL): the value (not shown: it is secret) is not a postgres:// URL; use e.g. \
          postgres://user:password@db.example.com:5432/coach_plans, or leave it unset for SQLite at database.path"]
    );
}
