//! `plan-server init`: a configuration file from flags or answers, which `serve` then runs with.

use discord_emulator::{ChannelId, Emulator, EmulatorConfig, GuildSpec, UserId, UserSpec};

use crate::support::{Running, WAIT, get_json, get_json_with_token, plan_server, run};

const TOKEN: &str = "init-test-token.abc";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_non_interactively_is_accepted_by_serve() {
    let desk = ChannelId(201);
    let guild = GuildSpec::new(150, "Desk").with_channel(desk, "plans").with_channel(202, "chatter");
    let config = EmulatorConfig::default()
        .with_token(TOKEN)
        .with_only_guild(guild)
        .with_user(UserSpec::new(UserId(1001), "ann"));
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut init = plan_server(dir.path());
    init.args([
        "init",
        "--non-interactive",
        "--output",
        "conf/desk.yaml",
        "--token",
        TOKEN,
        "--coaches",
        "d=Day Trading,o=Options Flow",
        "--guilds",
        "150",
        "--channels",
        "201",
        "--admin-users",
        "1005",
        "--timezone",
        "Europe/London",
        "--port",
        "0",
        "--database",
        "data/desk.db",
    ]);
    let (status, stdout, stderr) = run(&mut init);
    assert_eq!(status.code(), Some(0), "{stdout}{stderr}");
    let file = dir.path().join("conf/desk.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("market_timezone: \"Europe/London\""), "{text}");
    assert!(!stdout.contains(TOKEN), "the token is not echoed: {stdout}");
    assert!(text.contains("auth: required"), "a written deployment needs API tokens: {text}");
    let api_token = stdout.lines().last().unwrap().to_owned();
    assert!(api_token.starts_with("cpt_"), "the first API token is alone on the last line: {stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "only its owner reads it");
    }

    let mut serve = plan_server(dir.path());
    serve
        .args(["--config", "conf/desk.yaml"])
        .env("DISCORD_API_BASE_URL", emulator.http_base_url())
        .env("DISCORD_GATEWAY_URL", emulator.gateway_url());
    let server = Running::start(&mut serve);
    let api = tokio::task::block_in_place(|| server.printed_url("HTTP API on"));
    emulator.wait_for_ready(WAIT).await.unwrap();
    emulator.post_message(ChannelId(202), UserId(1001), "!plan o ignored: not a plan channel", vec![]).unwrap();
    emulator.post_message(desk, UserId(1001), "!plan o Heavy call flow in AMD", vec![]).unwrap();
    let replies = emulator.wait_for_sent_messages(desk, 1, WAIT).await.unwrap();
    assert!(replies[0].content.contains("Options Flow"), "the configured roster: {}", replies[0].content);
    let ((status, coaches), (_, plan), (refused, _)) = tokio::task::block_in_place(|| {
        (
            get_json_with_token(&format!("{api}/api/v1/coaches"), &api_token),
            get_json_with_token(&format!("{api}/api/v1/plans/o/today"), &api_token),
            get_json(&format!("{api}/api/v1/plans/o/today")),
        )
    });
    assert_eq!(refused, 401, "nothing but health answers without a token");
    assert_eq!(status, 200);
    assert_eq!(coaches.to_string().matches("\"id\"").count(), 2, "{coaches}");
    assert_eq!((plan["text"].as_str(), plan["version"].as_u64()), (Some("Heavy call flow in AMD"), Some(1)), "{plan}");
    assert!(emulator.sent_messages(ChannelId(202)).is_empty(), "the channel allow-list is applied");
    assert!(dir.path().join("data/desk.db").is_file());
    server.signal("TERM");
    assert_eq!(tokio::task::block_in_place(|| server.wait()).0.code(), Some(0));
}

#[test]
fn answers_typed_on_standard_input_are_checked_and_asked_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut init = Running::start(plan_server(dir.path()).args(["init", "--output", "coach-plans.yaml"]));
    // token, coaches, guilds, channels, admin users, admin roles, time zone (a bad one first), host, port, database
    for answer in ["", "", "150", "201,202", "", "", "Mars/Olympus", "Asia/Tokyo", "", "9100", ""] {
        init.type_line(answer);
    }
    let (status, stdout, stderr) = init.wait();
    let stdout = stdout.join("\n");
    assert_eq!(status.code(), Some(0), "{stdout}{}", stderr.join("\n"));
    assert!(stdout.contains("Mars/Olympus"), "the bad answer is named: {stdout}");
    let text = std::fs::read_to_string(dir.path().join("coach-plans.yaml")).unwrap();
    for expected in [
        "market_timezone: \"Asia/Tokyo\"",
        "port: 9100",
        "channels: [201, 202]",
        "guilds: [150]",
        "path: \"data/coach_plans.db\"",
        "set DISCORD_BOT_TOKEN",
        "name: \"News/Events\"",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
}

#[test]
fn bad_flags_are_all_named_and_an_existing_file_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut init = plan_server(dir.path());
    init.args(["init", "--non-interactive", "--timezone", "Nowhere/City", "--guilds", "12,x", "--coaches", "d=A,d=B"]);
    let (status, _, stderr) = run(&mut init);
    assert_eq!(status.code(), Some(2), "{stderr}");
    for flag in ["--timezone", "--guilds", "--coaches"] {
        assert!(stderr.contains(flag), "{flag} named: {stderr}");
    }
    assert!(!dir.path().join("coach-plans.yaml").exists());

    std::fs::write(dir.path().join("coach-plans.yaml"), "# mine\n").unwrap();
    let (status, _, stderr) = run(plan_server(dir.path()).args(["init", "--non-interactive"]));
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path().join("coach-plans.yaml")).unwrap(), "# mine\n");
    let (status, _, stderr) = run(plan_server(dir.path()).args(["init", "--non-interactive", "--force"]));
    assert_eq!(status.code(), Some(0), "{stderr}");
}
