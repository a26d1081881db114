//! The command line itself: help, version, and configuration errors at start-up.

use crate::support::{plan_server, run};

#[test]
fn help_and_version_read_well() {
    let dir = tempfile::tempdir().unwrap();
    let (status, help, _) = run(plan_server(dir.path()).arg("--help"));
    assert_eq!(status.code(), Some(0));
    for text in ["--sandbox", "serve", "doctor", "init", "migrate", "import-legacy", "Exit codes"] {
        assert!(help.contains(text), "{text}: {help}");
    }
    let (status, version, _) = run(plan_server(dir.path()).arg("--version"));
    assert_eq!(status.code(), Some(0));
    assert_eq!(version.trim(), format!("plan-server {}", env!("CARGO_PKG_VERSION")));
    let (status, _, stderr) = run(plan_server(dir.path()).arg("--no-such-flag"));
    assert_eq!(status.code(), Some(2), "{stderr}");
}

#[test]
fn every_configuration_problem_is_named_at_once_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = plan_server(dir.path());
    command
        .args(["serve", "--database", "plans.db"])
        .env("API_PORT", "eighty")
        .env("MARKET_TIMEZONE", "Atlantis/Capital")
        .env("LOG_LEVEL", "loud")
        .env("DISCORD_BOT_TOKEN", "a-token-never-shown-9876");
    let (status, stdout, stderr) = run(&mut command);
    assert_eq!(status.code(), Some(2), "{stdout}{stderr}");
    for name in ["API_PORT", "MARKET_TIMEZONE", "LOG_LEVEL"] {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    assert!(stderr.contains("the configuration has 3 problems"), "{stderr}");
    assert!(!stderr.contains("a-token-never-shown-9876") && !stdout.contains("a-token-never-shown-9876"));
    assert!(!dir.path().join("plans.db").exists(), "nothing starts with a bad configuration");
}

#[test]
fn serve_without_a_token_says_where_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _, stderr) = run(plan_server(dir.path()).args(["--database", "plans.db"]));
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("DISCORD_BOT_TOKEN") && stderr.contains("Developer Portal"), "{stderr}");
    assert!(stderr.contains("--sandbox"), "and how to try it without one: {stderr}");
}

/// `--database FILE` is the top layer: a PostgreSQL URL in the environment (an operator's env file) does not win over
/// it, so the command works on the file it was given.
#[test]
fn the_database_flag_wins_over_a_database_url_in_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = plan_server(dir.path());
    // A server that is not there: were the URL used, the command would fail to connect.
    command.args(["migrate", "--database", "mine.db"]).env("DATABASE_URL", "postgres://u:p@127.0.0.1:1/plans");
    let (status, stdout, stderr) = run(&mut command);
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    assert!(dir.path().join("mine.db").exists(), "{stdout}");
    assert!(stdout.contains("mine.db"), "it says which database it migrated: {stdout}");
}
