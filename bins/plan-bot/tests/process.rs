//! The built `plan-bot` binary against the local Discord emulator, configured only through the documented
//! environment variables: it answers a plan, stops cleanly on SIGTERM (exit 0), and refuses to start without a
//! token (exit 2) or with a token Discord refuses (exit 1).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use core_model::{CoachId, PlanRepository as _};
use discord_emulator::{Emulator, EmulatorConfig, UserId, UserSpec};

const ANN: UserId = UserId(1001);
const WAIT: Duration = Duration::from_secs(20);

fn start(dir: &std::path::Path, env: &[(&str, String)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plan-bot"));
    command.current_dir(dir).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command.env("LOG_LEVEL", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "plan-bot did not exit in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn discord_env(emulator: &Emulator, token: &str, db: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("DISCORD_BOT_TOKEN", token.to_owned()),
        ("DISCORD_API_BASE_URL", emulator.http_base_url()),
        ("DISCORD_GATEWAY_URL", emulator.gateway_url()),
        ("DATABASE_PATH", db.display().to_string()),
    ]
}

#[tokio::test]
async fn answers_a_plan_and_stops_cleanly_on_sigterm() {
    let emulator = Emulator::start(EmulatorConfig::default().with_user(UserSpec::new(ANN, "ann"))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let mut child = start(dir.path(), &discord_env(&emulator, emulator.token(), &db));
    emulator.wait_for_ready(WAIT).await.unwrap();

    let channel = EmulatorConfig::DEFAULT_CHANNEL;
    emulator.post_message(channel, ANN, "!plan d Long NVDA above 950", vec![]).unwrap();
    let replies = emulator.wait_for_sent_messages(channel, 1, WAIT).await.unwrap();
    assert!(replies[0].content.starts_with("✅ Plan saved for **Day Trading**"), "{}", replies[0].content);
    assert!(!replies[0].pings_anyone());

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = wait_for_exit(&mut child);
    assert_eq!(status.code(), Some(0), "a clean shutdown exits 0");
    let stats =
        emulator.wait_for_gateway(WAIT, "the bot's close frame", |s| s.last_client_close_code.is_some()).await.unwrap();
    assert_eq!(stats.last_client_close_code, Some(1000), "the gateway was closed, not dropped");

    let store = storage::SqliteStore::open(&db, storage::StoreOptions::default()).unwrap();
    let plans = store.list_active_by_author(core_model::UserId(ANN.get()), None).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!((plans[0].coach.clone(), plans[0].text.as_str()), (CoachId::new("d").unwrap(), "Long NVDA above 950"));
}

#[test]
fn a_missing_token_is_a_configuration_error_that_says_where_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = start(dir.path(), &[]);
    let status = wait_for_exit(&mut child);
    assert_eq!(status.code(), Some(2));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("DISCORD_BOT_TOKEN"), "{stderr}");
    assert!(stderr.contains("Developer Portal"), "{stderr}");
}

#[tokio::test]
async fn a_refused_token_stops_the_bot_with_exit_1_without_showing_the_token() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let mut child = start(dir.path(), &discord_env(&emulator, "not-the-right-token-1234", &db));
    let status = tokio::task::spawn_blocking(move || {
        let status = wait_for_exit(&mut child);
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        (status, stderr)
    })
    .await
    .unwrap();
    assert_eq!(status.0.code(), Some(1), "{}", status.1);
    assert!(status.1.contains("the Discord bot stopped"), "{}", status.1);
    assert!(status.1.contains("4004"), "{}", status.1);
    assert!(!status.1.contains("not-the-right-token-1234"), "the token never appears: {}", status.1);
}
