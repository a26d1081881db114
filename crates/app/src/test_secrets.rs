//! The secrets the test suite uses, in one place. None is a secret of any deployment: each is a distinctive value
//! that tests hand to the code under test as a token or credential, so that `cargo xtask ci` can look for it in
//! every log line the test run produced (see [`crate::telemetry::TEST_LOG_FILE`]) and fail when one is there.
//!
//! `cargo xtask ci` reads this file for the values: keep each a `pub const NAME: &str = "value";` on one line.

/// The bot token the emulator-backed bot tests run with (the emulator accepts only this token).
pub const DISCORD_BOT_TOKEN: &str = "tok-9Qx3-test-bot-token-never-logged";

/// The bot token of `discord_emulator::EmulatorConfig::default()`, used by tests that keep the default.
pub const EMULATOR_DEFAULT_TOKEN: &str = "emulator-token";

/// A credential the HTTP API tests send in `Authorization` and `Cookie` headers; the API must not log it.
pub const API_CREDENTIAL: &str = "cred-5Lm8-test-api-credential-never-logged";

/// The token the settings tests load from every configuration layer.
pub const SETTINGS_TOKEN: &str = "super-secret-token-value";

/// The password of the private PostgreSQL server the test run uses (`cargo xtask ci` gives it to the server's
/// superuser); it is in the URL the tests connect with.
pub const POSTGRES_PASSWORD: &str = "pg-7Rt2-test-database-password-never-logged";

/// Every secret above, by name.
pub const ALL: [(&str, &str); 5] = [
    ("DISCORD_BOT_TOKEN", DISCORD_BOT_TOKEN),
    ("EMULATOR_DEFAULT_TOKEN", EMULATOR_DEFAULT_TOKEN),
    ("API_CREDENTIAL", API_CREDENTIAL),
    ("SETTINGS_TOKEN", SETTINGS_TOKEN),
    ("POSTGRES_PASSWORD", POSTGRES_PASSWORD),
];
