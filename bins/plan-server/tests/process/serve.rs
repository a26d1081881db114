//! `plan-server serve`: bot and API in one process; SIGTERM under load lets every accepted request finish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use discord_emulator::{Emulator, EmulatorConfig, UserId, UserSpec};

use crate::support::{Running, WAIT, get_json, plan_server, serve_against};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_and_api_share_one_process_and_one_database() {
    let ann = UserId(1001);
    let emulator = Emulator::start(EmulatorConfig::default().with_user(UserSpec::new(ann, "ann"))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (server, api) = serve_against(&emulator, dir.path()).await;
    emulator.post_message(EmulatorConfig::DEFAULT_CHANNEL, ann, "!plan d Long NVDA above 950", vec![]).unwrap();
    emulator.wait_for_sent_messages(EmulatorConfig::DEFAULT_CHANNEL, 1, WAIT).await.unwrap();

    let (plan, health) = tokio::task::block_in_place(|| {
        (get_json(&format!("{api}/api/v1/plans/d/today")), get_json(&format!("{api}/health")))
    });
    assert_eq!(plan.0, 200, "{}", plan.1);
    assert_eq!(plan.1["text"], "Long NVDA above 950");
    assert_eq!(health.0, 200, "{}", health.1);
    assert_eq!(health.1["bot"]["status"], "connected", "{}", health.1);

    server.signal("TERM");
    let (status, _, stderr) = tokio::task::block_in_place(|| server.wait());
    assert_eq!(status.code(), Some(0), "{}", stderr.join("\n"));
    let stats =
        emulator.wait_for_gateway(WAIT, "the close frame", |s| s.last_client_close_code.is_some()).await.unwrap();
    assert_eq!(stats.last_client_close_code, Some(4000), "the gateway was closed cleanly, keeping the session");
}

/// Counts the request spans the server opened and closed, from its Bunyan JSON log lines.
fn request_spans(lines: &[String]) -> (usize, usize) {
    let messages: Vec<String> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|json| json["msg"].as_str().map(str::to_owned))
        .collect();
    let started = messages.iter().filter(|m| m.as_str() == "[HTTP REQUEST - START]").count();
    let ended = messages.iter().filter(|m| m.as_str() == "[HTTP REQUEST - END]").count();
    (started, ended)
}

#[test]
fn sigterm_under_load_answers_every_accepted_request_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = plan_server(dir.path());
    // Eight clients on one address, as fast as they can: the rate limit would refuse them (it is tested on its own).
    command
        .args(["--port", "0", "--database", "plans.db"])
        .env("MOCK_MODE", "true")
        .env("LOG_FORMAT", "json")
        .env("API_RATE_PER_SECOND", "0");
    let server = Running::start(&mut command);
    let api = server.printed_url("HTTP API on");

    let answered = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (api, answered, stop) = (api.clone(), Arc::clone(&answered), Arc::clone(&stop));
            std::thread::spawn(move || {
                // A fresh connection per request: after the signal, new connections are refused, and a request
                // the server took is answered in full.
                let client =
                    reqwest::blocking::Client::builder().timeout(WAIT).pool_max_idle_per_host(0).build().unwrap();
                let mut failures = Vec::new();
                for _ in 0..2_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    match client.get(format!("{api}/api/coach-plans/?coach=d")).send().and_then(|r| {
                        let status = r.status();
                        r.text().map(|body| (status, body))
                    }) {
                        Ok((status, body)) => {
                            assert_eq!(status, 200, "{body}");
                            assert!(body.contains("No plan available for coach_d"), "a whole body: {body}");
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        // The server stopped listening: the request was never accepted.
                        Err(error) => {
                            failures.push(error.to_string());
                            if failures.len() > 20 {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
                failures
            })
        })
        .collect();
    while answered.load(Ordering::Relaxed) < 200 {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.signal("TERM");
    let (status, stdout, stderr) = server.wait();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("every response the clients got was a whole 200");
    }
    assert_eq!(status.code(), Some(0), "{}", stderr.join("\n"));
    let (started, ended) = request_spans(&stdout);
    assert!(started >= 200, "{started} requests seen by the server");
    assert_eq!(started, ended, "every request the server accepted was answered");
    assert_eq!(answered.load(Ordering::Relaxed), ended, "and every answer reached its client");
}
