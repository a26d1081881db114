//! Separate machines over one PostgreSQL: the built `plan-bot` and two built `plan-api` processes (the replicas a
//! load balancer spreads agents over), each configured only with `DATABASE_URL`. A plan posted through the local
//! Discord is served at once by both replicas with the same ETag, an edit within 100 ms (the documented bound for
//! another process's write), and each replica's `/health` reports the bot's connection from the heartbeat the bot
//! records in the database. Without the test run's PostgreSQL server
//! it checks nothing and says so.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use discord_emulator::{ChannelId, Emulator, EmulatorConfig, UserId, UserSpec};

const ANN: UserId = UserId(1001);
const CHANNEL: ChannelId = EmulatorConfig::DEFAULT_CHANNEL;
const WAIT: Duration = Duration::from_secs(30);

/// A process killed when dropped, its output drained (its first line of standard output kept for the caller).
struct Process {
    child: Child,
    first_lines: mpsc::Receiver<String>,
}

impl Process {
    fn start(program: &std::path::Path, args: &[&str], env: &[(&str, String)]) -> Self {
        let mut command = Command::new(program);
        command.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command.env("LOG_LEVEL", "warn").envs(env.iter().map(|(k, v)| (*k, v)));
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let (send, first_lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        std::thread::spawn(move || std::io::BufReader::new(stderr).lines().map_while(Result::ok).for_each(drop));
        Self { child, first_lines }
    }

    /// The URL a `plan-api` prints when it listens.
    fn api_url(&self) -> String {
        loop {
            let line = self.first_lines.recv_timeout(WAIT).expect("plan-api prints where it listens");
            if let Some(url) = line.strip_prefix("plan-api listening on ") {
                return url.trim().to_owned();
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(url: &str) -> (u16, Option<String>, serde_json::Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let etag = response.headers().get("etag").map(|e| e.to_str().unwrap().to_owned());
    (status, etag, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_and_two_api_replicas_on_one_postgres_serve_every_write_at_once() {
    let Some(db) = test_support::postgres() else { return };
    let emulator = Emulator::start(EmulatorConfig::default().with_user(UserSpec::new(ANN, "ann"))).await.unwrap();
    let database = ("DATABASE_URL", db.url().to_owned());
    let bot = Process::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_plan-bot")),
        &[],
        &[
            database.clone(),
            ("DISCORD_BOT_TOKEN", emulator.token().to_owned()),
            ("DISCORD_API_BASE_URL", emulator.http_base_url()),
            ("DISCORD_GATEWAY_URL", emulator.gateway_url()),
        ],
    );
    emulator.wait_for_ready(WAIT).await.unwrap();
    let plan_api = test_support::workspace_binary("plan-api");
    let replicas: Vec<Process> =
        (0..2).map(|_| Process::start(&plan_api, &["--port", "0"], std::slice::from_ref(&database))).collect();
    let urls: Vec<String> = tokio::task::block_in_place(|| replicas.iter().map(Process::api_url).collect());

    emulator.post_message(CHANNEL, ANN, "!plan d Long NVDA above 950", vec![]).unwrap();
    let reply = emulator.wait_for_sent_messages(CHANNEL, 1, WAIT).await.unwrap();
    assert!(reply[0].content.starts_with("✅ Plan saved"), "{}", reply[0].content);
    let mut etags = Vec::new();
    for url in &urls {
        let (status, etag, plan) = get(&format!("{url}/api/v1/plans/d/today")).await;
        assert_eq!((status, plan["text"].as_str()), (200, Some("Long NVDA above 950")), "{url}: {plan}");
        etags.push(etag.expect("an ETag"));
        let (_, _, health) = get(&format!("{url}/health")).await;
        assert_eq!(health["database"]["status"], "ok", "{url}: {health}");
        assert_eq!(health["bot"]["status"], "connected", "{url}: the bot's heartbeat, from the database: {health}");
    }
    assert_eq!(etags[0], etags[1], "both replicas answer the same representation");

    // An edit through Discord is served by both within the documented bound for another process's write (100 ms:
    // the replicas keep answers while the database's change count stays, and read it at most every 50 ms): the old
    // ETag no longer matches on either.
    emulator.post_message(CHANNEL, ANN, "!edit d Long NVDA above 955", vec![]).unwrap();
    emulator.wait_for_sent_messages(CHANNEL, 2, WAIT).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let client = reqwest::Client::new();
    let mut new_etags = Vec::new();
    for url in &urls {
        let response =
            client.get(format!("{url}/api/v1/plans/d/today")).header("If-None-Match", &etags[0]).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}: the edit is seen within the bound");
        new_etags.push(response.headers()["etag"].to_str().unwrap().to_owned());
        let plan: serde_json::Value = response.json().await.unwrap();
        assert_eq!((plan["text"].as_str(), plan["version"].as_u64()), (Some("Long NVDA above 955"), Some(2)));
        let (_, _, legacy) = get(&format!("{url}/api/coach-plans/?coach=d")).await;
        assert_eq!(legacy["plan"], "Long NVDA above 955", "{url}: the predecessor's route too");
    }
    assert_eq!(new_etags[0], new_etags[1]);
    assert_ne!(new_etags[0], etags[0]);
    let unchanged =
        client.get(format!("{}/api/v1/plans/d/today", urls[1])).header("If-None-Match", &new_etags[0]).send();
    assert_eq!(unchanged.await.unwrap().status(), 304, "an ETag of one replica is good at the other");
    drop((bot, replicas));
}
