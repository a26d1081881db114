//! Webhooks end to end: `plan-server webhook add` subscribes a receiver that verifies every delivery with the
//! Standard Webhooks reference library (Python `standardwebhooks`, `xtask/python/webhook_receiver.py`); plans posted
//! through the local Discord reach it as committed, once each, through an outage of the receiver and through a
//! server killed in the middle of a delivery.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use discord_emulator::{Emulator, EmulatorConfig, UserId, UserSpec};
use serde_json::Value;

use crate::support::{WAIT, get_json, plan_server, run, serve_against_with};

/// The receiver of `xtask/python/webhook_receiver.py`, and the JSON lines it printed (one per request).
struct Receiver {
    child: Child,
    url: String,
    control: PathBuf,
    secret_file: PathBuf,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start(dir: &Path) -> Self {
        let script = test_support::workspace_root().join("xtask/python/webhook_receiver.py");
        let (control, secret_file) = (dir.join("receiver-mode"), dir.join("receiver-secret"));
        let mut child = Command::new(test_support::python_tool("python"))
            .arg(script)
            .arg(&secret_file)
            .arg(&control)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the receiver starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let url = first.trim().strip_prefix("listening on ").expect("the receiver says where it listens").to_owned();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(serde_json::from_str(&line).unwrap_or(Value::String(line)));
            }
        });
        Self { child, url, control, secret_file, lines }
    }

    /// How the receiver answers from now on: a status (`200`, `503`, `410`) or `hang`.
    fn answer(&self, mode: &str) {
        std::fs::write(&self.control, mode).unwrap();
    }

    fn all(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits for a request line matching `matches`.
    fn wait_for(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(line) = self.all().into_iter().find(|l| matches(l)) {
                return line;
            }
            assert!(Instant::now() < deadline, "the receiver got no {what}; it got:\n{:#?}", self.all());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event(line: &Value) -> &str {
    line["body"]["type"].as_str().unwrap_or_default()
}

/// The environment of a server that delivers quickly to receivers on this machine.
const FAST_WEBHOOKS: &[(&str, &str)] = &[
    ("WEBHOOKS_ALLOW_INSECURE_LOOPBACK", "true"),
    ("COACH_PLANS__WEBHOOKS__FIRST_RETRY_SECONDS", "1"),
    ("COACH_PLANS__WEBHOOKS__POLL_INTERVAL_MS", "100"),
];

/// `plan-server webhook add URL`: the subscription's id and secret, and the secret written for the receiver.
fn subscribe(dir: &Path, receiver: &Receiver, events: Option<&str>) -> (i64, String) {
    let mut command = plan_server(dir);
    command.args(["webhook", "add", &receiver.url, "--database", "plans.db"]).envs(FAST_WEBHOOKS.iter().copied());
    if let Some(events) = events {
        command.args(["--events", events]);
    }
    let (status, stdout, stderr) = run(&mut command);
    assert!(status.success(), "{stdout}\n{stderr}");
    let line = stdout.lines().find(|l| l.starts_with("webhook ")).unwrap_or_else(|| panic!("no id in {stdout}"));
    let id = line.split_whitespace().nth(1).unwrap().trim_end_matches(':').parse().unwrap();
    let secret = stdout.lines().last().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "the secret is alone on the last line: {stdout}");
    std::fs::write(&receiver.secret_file, &secret).unwrap();
    (id, secret)
}

/// Posts `text` as `user` and waits for the bot's `replies`-th reply in the channel.
async fn post(emulator: &Emulator, user: UserId, text: &str, replies: usize) {
    let channel = EmulatorConfig::DEFAULT_CHANNEL;
    emulator.post_message(channel, user, text, vec![]).unwrap();
    emulator.wait_for_sent_messages(channel, replies, WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_reaches_a_verifying_receiver_once_through_an_outage() {
    let ann = UserId(1001);
    let emulator = Emulator::start(EmulatorConfig::default().with_user(UserSpec::new(ann, "ann"))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path());

    // Plain http to this machine needs the operator's word.
    let (status, _, stderr) =
        run(plan_server(dir.path()).args(["webhook", "add", &receiver.url, "--database", "plans.db"]));
    assert_eq!(status.code(), Some(2), "a URL it cannot take: {stderr}");
    assert!(stderr.contains("allow_insecure_loopback"), "{stderr}");
    let (id, secret) = subscribe(dir.path(), &receiver, None);

    let (server, api) = serve_against_with(&emulator, dir.path(), FAST_WEBHOOKS).await;
    post(&emulator, ann, "!plan d Long $NVDA above 950", 1).await;
    let created = tokio::task::block_in_place(|| receiver.wait_for("plan.created", |l| event(l) == "plan.created"));
    let (status, plan) = tokio::task::block_in_place(|| get_json(&format!("{api}/api/v1/plans/d/today")));
    assert_eq!(status, 200);
    assert_eq!(created["body"]["data"]["plan"], plan, "the body holds the plan as the API serves it");
    assert_eq!(plan["tickers"], serde_json::json!(["NVDA"]));

    post(&emulator, ann, "!edit d Long $NVDA above 955", 2).await;
    tokio::task::block_in_place(|| receiver.wait_for("plan.edited", |l| event(l) == "plan.edited"));

    // The receiver is down: the deletion is retried, with the same id, until it is up again.
    receiver.answer("503");
    post(&emulator, ann, "!delete d", 3).await;
    let failed = |l: &Value| event(l) == "plan.deleted" && l["answered"] == "503";
    let failing = tokio::task::block_in_place(|| {
        receiver.wait_for("a second failed attempt", |l| {
            failed(l) && receiver.all().iter().filter(|l| failed(l)).count() >= 2
        })
    });
    let deleted_id = failing["id"].as_str().unwrap().to_owned();
    receiver.answer("200");
    tokio::task::block_in_place(|| {
        receiver.wait_for("the deletion delivered", |l| l["id"] == deleted_id.as_str() && l["answered"] == "200")
    });
    post(&emulator, ann, "!restore d", 4).await;
    tokio::task::block_in_place(|| receiver.wait_for("plan.restored", |l| event(l) == "plan.restored"));

    let lines = receiver.all();
    assert!(lines.iter().all(|l| l["verified"] == true), "every delivery verifies: {lines:#?}");
    let delivered: Vec<&Value> = lines.iter().filter(|l| l["answered"] == "200").collect();
    let events: Vec<&str> = delivered.iter().map(|l| event(l)).collect();
    assert_eq!(events, ["plan.created", "plan.edited", "plan.deleted", "plan.restored"], "{lines:#?}");
    let attempts_of_deletion: Vec<&Value> = lines.iter().filter(|l| event(l) == "plan.deleted").collect();
    assert!(attempts_of_deletion.iter().all(|l| l["id"] == deleted_id.as_str()), "one id on every attempt");
    let mut ids: Vec<&str> = delivered.iter().map(|l| l["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each delivered once");
    assert_eq!(delivered[2]["body"]["data"]["plan"]["text"], "Long $NVDA above 955", "deleted as it was");

    // The operator's view, and a test event on demand, while the server runs.
    let (status, stdout, _) = run(plan_server(dir.path()).args(["webhook", "deliveries", "--database", "plans.db"]));
    assert!(status.success());
    assert_eq!(stdout.lines().filter(|l| l.contains(" delivered ")).count(), 4, "{stdout}");
    let (status, stdout, stderr) = run(plan_server(dir.path())
        .args(["webhook", "test", &id.to_string(), "--database", "plans.db"])
        .envs(FAST_WEBHOOKS.iter().copied()));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("delivered webhook.test") && stdout.contains("200"), "{stdout}");
    tokio::task::block_in_place(|| receiver.wait_for("webhook.test", |l| event(l) == "webhook.test"));
    // A receiver that answers 410 Gone: the test says the subscription is disabled and nothing is retried.
    receiver.answer("410");
    let (status, stdout, stderr) = run(plan_server(dir.path())
        .args(["webhook", "test", &id.to_string(), "--database", "plans.db"])
        .envs(FAST_WEBHOOKS.iter().copied()));
    assert_eq!(
        status.code(),
        Some(1),
        "{stdout}
{stderr}"
    );
    assert!(stderr.contains("410") && stderr.contains("it is not retried"), "{stderr}");
    assert!(!stderr.contains("stays queued"), "{stderr}");
    let (status, stdout, _) = run(plan_server(dir.path()).args(["webhook", "list", "--database", "plans.db"]));
    assert!(status.success());
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("ID    CREATED") && lines[0].ends_with("URL"), "a header: {stdout}");
    assert!(lines[1].starts_with(&format!("{id:<5} ")) && lines[1].contains(" disabled "), "{stdout}");
    assert!(lines[2].trim_start().starts_with("disabled because") && lines[2].contains("410"), "why: {stdout}");

    server.signal("TERM");
    let (status, stdout, stderr) = tokio::task::block_in_place(|| server.wait());
    assert_eq!(status.code(), Some(0), "{}", stderr.join("\n"));
    let output = stdout.iter().chain(&stderr).cloned().collect::<Vec<_>>().join("\n");
    assert!(output.contains("webhook delivered"), "deliveries are logged: {output}");
    assert!(!output.contains(&secret) && !output.contains(&secret["whsec_".len()..]), "the secret is never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_delivery_delivers_after_restart_with_the_same_id() {
    let ann = UserId(1001);
    let emulator = Emulator::start(EmulatorConfig::default().with_user(UserSpec::new(ann, "ann"))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path());
    subscribe(dir.path(), &receiver, Some("plan.created"));
    // The receiver takes the request and never answers: the server is killed while it waits.
    receiver.answer("hang");
    let slow = [FAST_WEBHOOKS, &[("COACH_PLANS__WEBHOOKS__TIMEOUT_SECONDS", "5")]].concat();
    let (server, _) = serve_against_with(&emulator, dir.path(), &slow).await;
    emulator.post_message(EmulatorConfig::DEFAULT_CHANNEL, ann, "!plan d Long AMD", vec![]).unwrap();
    let first = tokio::task::block_in_place(|| receiver.wait_for("the first attempt", |l| event(l) == "plan.created"));
    server.signal("KILL");
    let (status, _, _) = tokio::task::block_in_place(|| server.wait());
    assert_eq!(status.code(), None, "killed by the signal");
    receiver.answer("200");

    let (server, _) = serve_against_with(&emulator, dir.path(), &slow).await;
    let id = first["id"].as_str().unwrap();
    tokio::task::block_in_place(|| {
        receiver.wait_for("the delivery after the restart", |l| l["id"] == id && l["answered"] == "200")
    });
    let answered: Vec<Value> = receiver.all().into_iter().filter(|l| l["answered"] == "200").collect();
    assert_eq!(answered.len(), 1, "delivered once: {answered:#?}");
    assert_eq!(answered[0]["body"]["data"]["plan"]["text"], "Long AMD");
    server.signal("TERM");
    let (status, _, stderr) = tokio::task::block_in_place(|| server.wait());
    assert_eq!(status.code(), Some(0), "{}", stderr.join("\n"));
}
