//! `plan-server doctor`: one line per check, a fix for each failure, non-zero exit when something fails.

use discord_emulator::{Emulator, EmulatorConfig};

use crate::support::{plan_server, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_fails_the_login_check_and_the_rest_passes() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let check = |token: &str| {
        let mut command = plan_server(dir.path());
        command
            .args(["doctor", "--database", "plans.db", "--port", "0"])
            .env("DISCORD_BOT_TOKEN", token)
            .env("DISCORD_API_BASE_URL", emulator.http_base_url())
            .env("DISCORD_GATEWAY_URL", emulator.gateway_url());
        tokio::task::block_in_place(|| run(&mut command))
    };

    let (status, stdout, _) = check("wrong-token-5678");
    assert_eq!(status.code(), Some(1), "{stdout}");
    let line =
        |name: &str| stdout.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("no {name} line: {stdout}"));
    assert!(line("configuration").starts_with('✓'), "{stdout}");
    assert!(line("database").starts_with('✓'), "{stdout}");
    assert!(line("api port").starts_with('✓'), "{stdout}");
    assert!(line("discord token").starts_with('✓'), "{stdout}");
    assert!(line("discord login").starts_with('✗') && line("discord login").contains("refused the token (HTTP 401)"));
    assert!(stdout.contains("fix: copy the token again from the Discord Developer Portal"), "{stdout}");
    assert!(line("discord gateway").starts_with('✓'), "{stdout}");
    assert!(!stdout.contains("wrong-token-5678"), "the token is never shown: {stdout}");
    assert!(!dir.path().join("plans.db").exists(), "doctor creates nothing");

    let (status, stdout, _) = check(emulator.token());
    assert_eq!(status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("the bot is PlanBot"), "{stdout}");
    assert!(stdout.contains("everything plan-server needs is in place"), "{stdout}");
}

#[test]
fn bad_database_paths_and_unreachable_discord_fail_with_fixes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a directory").unwrap();
    std::fs::write(dir.path().join("garbage.db"), vec![42u8; 8192]).unwrap();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    for (database, expected, fix) in [
        ("notes.txt/plans.db", "notes.txt is not a directory", "fix: set database.path, DATABASE_PATH or --database"),
        ("garbage.db", "cannot open the database", "fix: check that database.path (DATABASE_PATH, --database) names"),
        (".", "is a directory, not a database file", "fix: set database.path, DATABASE_PATH or --database"),
    ] {
        let mut command = plan_server(dir.path());
        command
            .args(["doctor", "--database", database])
            .env("DISCORD_BOT_TOKEN", "some-token")
            .env("DISCORD_API_BASE_URL", format!("http://{closed}"))
            .env("DISCORD_GATEWAY_URL", format!("ws://{closed}"))
            .env("CONNECTION_TIMEOUT", "2");
        let (status, stdout, _) = run(&mut command);
        assert_eq!(status.code(), Some(1), "{stdout}");
        let line = stdout.lines().find(|l| l.contains("database")).unwrap();
        assert!(line.starts_with('✗') && line.contains(expected), "{database}: {stdout}");
        assert!(stdout.contains(fix), "{stdout}");
        let login = stdout.lines().find(|l| l.contains("discord login")).unwrap();
        assert!(login.starts_with('✗') && login.contains("cannot reach"), "{stdout}");
        assert!(stdout.lines().any(|l| l.starts_with("✗ discord gateway")), "{stdout}");
    }
}

#[test]
fn a_bad_configuration_is_reported_whole_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = plan_server(dir.path());
    command.arg("doctor").env("API_PORT", "http").env("MARKET_TIMEZONE", "Mars/Olympus_Mons");
    let (status, stdout, _) = run(&mut command);
    assert_eq!(status.code(), Some(2), "{stdout}");
    assert!(stdout.starts_with("✗ configuration"), "{stdout}");
    assert!(stdout.contains("API_PORT") && stdout.contains("MARKET_TIMEZONE"), "both problems: {stdout}");
}

/// On PostgreSQL the database line names the server, its version, the schema and the right to write; a wrong
/// password fails it with the server's words and a fix, never the password.
#[test]
fn the_database_line_on_postgres_names_the_server_schema_and_right_to_write() {
    let Some(pg) = test_support::postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Discord is a port nothing listens on: its checks fail at once, and nothing leaves the machine.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let database_line = |url: &str| {
        let mut command = plan_server(dir.path());
        command
            .args(["doctor", "--port", "0"])
            .env("DATABASE_URL", url)
            .env("DISCORD_API_BASE_URL", format!("http://{closed}"))
            .env("DISCORD_GATEWAY_URL", format!("ws://{closed}"))
            .env("CONNECTION_TIMEOUT", "2");
        let (_, stdout, _) = run(&mut command);
        let line = stdout.lines().find(|l| l.contains("database")).unwrap_or_default().to_owned();
        (line, stdout)
    };
    let (line, _) = database_line(pg.url());
    assert!(line.starts_with('✓') && line.contains(": PostgreSQL 1"), "{line}");
    assert!(line.ends_with("empty: serve or migrate creates the schema"), "{line}");
    let mut migrate = plan_server(dir.path());
    let (status, stdout, stderr) = run(migrate.arg("migrate").env("DATABASE_URL", pg.url()));
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    let (line, _) = database_line(pg.url());
    let latest = storage_postgres::migrations::latest_version();
    assert!(line.ends_with(&format!("schema version {latest}, current, writable")), "{line}");
    let wrong = pg.url().replacen(":pg-", ":not-the-password-", 1);
    let (line, stdout) = database_line(&wrong);
    assert!(line.starts_with('✗') && line.contains("password authentication failed"), "{line}");
    assert!(stdout.contains("fix: check that the server at postgres://postgres@127.0.0.1:"), "{stdout}");
    assert!(!stdout.contains("not-the-password") && !stdout.contains("pg-7Rt2"), "{stdout}");
}

#[test]
fn the_intents_report_names_the_privileged_one_only_with_prefix_commands() {
    let dir = tempfile::tempdir().unwrap();
    let intents = |prefix_commands: &str| {
        let mut command = plan_server(dir.path());
        command
            .args(["doctor", "--database", "plans.db"])
            .env("MOCK_MODE", "true")
            .env("DISCORD_PREFIX_COMMANDS", prefix_commands);
        let (_, stdout, _) = run(&mut command);
        let line = stdout.lines().position(|l| l.contains("discord intents")).unwrap_or_else(|| panic!("{stdout}"));
        stdout.lines().skip(line).take(2).collect::<Vec<_>>().join("\n")
    };
    let with_prefix = intents("true");
    assert!(with_prefix.starts_with('!'), "a warning: {with_prefix}");
    assert!(with_prefix.contains("MESSAGE_CONTENT (the text of prefix commands; privileged)"), "{with_prefix}");
    assert!(with_prefix.contains("fix: enable Message Content Intent in the Developer Portal"), "{with_prefix}");
    let slash_only = intents("false");
    assert!(slash_only.starts_with('✓'), "{slash_only}");
    assert!(slash_only.contains("slash commands only") && !slash_only.contains("MESSAGE_CONTENT"), "{slash_only}");
    assert!(slash_only.contains("GUILDS") && slash_only.contains("GUILD_MESSAGES"), "{slash_only}");
}
