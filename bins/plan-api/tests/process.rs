//! The built `plan-api` binary: starts on port 0 over a database path, answers, stops cleanly on SIGTERM with
//! exit code 0, and refuses bad configuration with exit code 2.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the binary in `dir` with only the given environment (plus PATH).
fn start(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plan-api"));
    command.args(args).current_dir(dir).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Reads stdout until the "listening" line and returns the URL it names.
fn listening_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(url) = line.strip_prefix("plan-api listening on ") {
            // Keep draining stdout so the process never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return url.trim().to_owned();
        }
    }
    panic!("plan-api did not report its address");
}

fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "plan-api did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn serves_on_port_0_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let mut child = start(dir.path(), &["--database", db.to_str().unwrap(), "--port", "0"], &[("LOG_LEVEL", "warn")]);
    let url = listening_url(&mut child);
    let client = reqwest::Client::new();
    let health: serde_json::Value = client.get(format!("{url}/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "healthy");
    let plan: serde_json::Value = client
        .get(format!("{url}/api/coach-plans/?coach=d&date=2025-11-09"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(plan["plan"], "No plan available for coach_d on 2025-11-09");
    assert!(db.exists(), "the database was created where --database said");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = wait_for_exit(&mut child, Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "a clean shutdown exits 0");
}

#[test]
fn bad_configuration_exits_2_naming_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let child = start(dir.path(), &[], &[("API_PORT", "abc"), ("MARKET_TIMEZONE", "Mars/Olympus")]);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("api.port (API_PORT)"), "{stderr}");
    assert!(stderr.contains("plans.market_timezone (MARKET_TIMEZONE)"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing is created when the configuration is bad");
}

#[test]
fn a_port_in_use_is_a_start_up_failure_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let db = dir.path().join("x.db");
    let child = start(dir.path(), &["--database", db.to_str().unwrap(), "--port", &port], &[]);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{stderr}");
}
