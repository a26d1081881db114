//! The built `plan-bot` binary against the local Discord emulator, configured only through the documented
//! environment variables: it answers plans, follows edits and deletions, never logs its token (at trace level, in
//! JSON), stops cleanly on SIGTERM (exit 0, close code 4000, which keeps the session resumable), and refuses to start
//! without a token (exit 2) or with a token Discord refuses (exit 1).

use std::io::BufRead as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use core_model::{CoachId, PlanRepository as _};
use discord_emulator::{ChannelId, Emulator, EmulatorConfig, SentMessage, UserId, UserSpec};

const ANN: UserId = UserId(1001);
const WAIT: Duration = Duration::from_secs(20);
const CHANNEL: ChannelId = EmulatorConfig::DEFAULT_CHANNEL;

/// The bot's process, with its standard output read line by line as it comes (a full pipe would block its logs).
struct Bot {
    child: Child,
    stdout: Option<JoinHandle<Vec<String>>>,
}

fn start(dir: &std::path::Path, env: &[(&str, String)]) -> Bot {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plan-bot"));
    command.current_dir(dir).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command.env("LOG_LEVEL", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::BufReader::new(stdout).lines().map_while(Result::ok).collect());
    Bot { child, stdout: Some(reader) }
}

impl Bot {
    /// Waits for the process to end (blocking: call it off the async runtime), then returns its status, its
    /// standard output lines and its standard error.
    fn wait(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "plan-bot did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = self.stdout.take().unwrap().join().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        (status, stdout, stderr)
    }

    /// [`Self::wait`] on tokio's blocking pool, so that the emulator on this runtime keeps answering the bot.
    async fn exit(self) -> (ExitStatus, Vec<String>, String) {
        tokio::task::spawn_blocking(move || self.wait()).await.unwrap()
    }

    fn terminate(&self) {
        let killed = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(killed.success());
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

async fn say(emulator: &Emulator, text: &str, replies_so_far: usize) -> SentMessage {
    emulator.post_message(CHANNEL, ANN, text, vec![]).unwrap();
    reply(emulator, replies_so_far).await
}

async fn reply(emulator: &Emulator, index: usize) -> SentMessage {
    emulator.wait_for_sent_messages(CHANNEL, index + 1, WAIT).await.unwrap()[index].clone()
}

#[tokio::test]
async fn a_session_at_trace_level_never_logs_the_token_and_sigterm_closes_cleanly() {
    let token = "tok-7c1e-must-never-be-logged";
    let config = EmulatorConfig::default().with_token(token).with_user(UserSpec::new(ANN, "ann"));
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let mut env = discord_env(&emulator, token, &db);
    env.extend([("LOG_LEVEL", "trace".to_owned()), ("LOG_FORMAT", "json".to_owned())]);
    let bot = start(dir.path(), &env);
    emulator.wait_for_ready(WAIT).await.unwrap();

    let posted = emulator.post_message(CHANNEL, ANN, "!plan d Long NVDA above 950", vec![]).unwrap();
    let saved = reply(&emulator, 0).await;
    assert!(saved.content.starts_with("✅ Plan saved for **Day Trading**"), "{}", saved.content);
    assert!(!saved.pings_anyone());
    emulator.edit_message(CHANNEL, posted, "!plan d Long NVDA above 955").unwrap();
    assert!(reply(&emulator, 1).await.content.contains("updated (version 2)"));
    assert!(say(&emulator, "!edit d Long NVDA above 960", 2).await.content.contains("updated (version 3)"));
    assert!(say(&emulator, "!plans", 3).await.content.contains("Long NVDA above 960"));
    emulator.delete_message(CHANNEL, posted).unwrap();
    assert!(say(&emulator, "!myplans", 4).await.content.contains("no plans"), "the plan left with its message");

    bot.terminate();
    let (status, stdout, stderr) = bot.exit().await;
    assert_eq!(status.code(), Some(0), "a clean shutdown exits 0: {stderr}");
    let stats =
        emulator.wait_for_gateway(WAIT, "the bot's close frame", |s| s.last_client_close_code.is_some()).await.unwrap();
    assert_eq!(stats.last_client_close_code, Some(4000), "the gateway was closed keeping the session, not dropped");
    assert!(emulator.sessions()[0].resumable, "the next start can resume it");

    assert!(stdout.len() > 100, "trace level logs every step: {} lines", stdout.len());
    for line in &stdout {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok_and(|v| v.is_object()), "not a JSON log line: {line}");
        assert!(!line.contains(token), "the token is in a log line: {line}");
        assert!(!line.contains("did not acknowledge the close"), "the close was not acknowledged: {line}");
    }
    assert!(!stderr.contains(token), "the token is on standard error: {stderr}");
    let received = stdout.iter().find(|l| l.contains("command received")).expect("the command is logged");
    let received: serde_json::Value = serde_json::from_str(received).unwrap();
    assert_eq!(received["message_id"], posted.get(), "the event's ids are on its lines: {received}");

    let store = storage::SqliteStore::open(&db, storage::StoreOptions::default()).unwrap();
    assert!(store.list_active_by_author(core_model::UserId(ANN.get()), None).unwrap().is_empty());
    let stats = store.stats().unwrap();
    assert_eq!((stats.active_plans, stats.deleted_plans), (0, 1), "{stats:?}");
    let plan = store.find_by_source_message(posted.get()).unwrap().unwrap();
    assert_eq!((plan.coach, plan.text.as_str(), plan.version), (CoachId::new("d").unwrap(), "Long NVDA above 960", 4));
}

#[test]
fn a_missing_token_is_a_configuration_error_that_says_where_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _, stderr) = start(dir.path(), &[]).wait();
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("DISCORD_BOT_TOKEN"), "{stderr}");
    assert!(stderr.contains("Developer Portal"), "{stderr}");
}

#[tokio::test]
async fn a_refused_token_stops_the_bot_with_exit_1_without_showing_the_token() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plans.db");
    let (status, stdout, stderr) =
        start(dir.path(), &discord_env(&emulator, "not-the-right-token-1234", &db)).exit().await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the Discord bot stopped"), "{stderr}");
    assert!(stderr.contains("4004") && stderr.contains("the bot token was refused: copy it again"), "{stderr}");
    assert!(!stderr.contains("not-the-right-token-1234"), "the token never appears: {stderr}");
    assert!(stdout.iter().all(|l| !l.contains("not-the-right-token-1234")), "nor in the logs: {stdout:?}");
}
