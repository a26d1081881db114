//! Running the built `plan-api`: started in a directory with only the environment a test gives, its standard output
//! read line by line, killed if a test fails.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Generous bound for anything the binary should do promptly on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running `plan-api`, its standard output read line by line as it comes.
pub struct PlanApi {
    pub child: Child,
    lines: Receiver<String>,
    pub url: String,
}

impl PlanApi {
    /// Starts the binary in `dir` with only the given environment (plus PATH) and waits for its address.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = start(dir, args, env);
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // Keep draining even when nobody listens any more, so the process never blocks on a full pipe.
                let _ = sender.send(line);
            }
        });
        let mut api = Self { child, lines, url: String::new() };
        let line = api.wait_for_line(|l| l.starts_with("plan-api listening on "));
        api.url = line.trim_start_matches("plan-api listening on ").trim().to_owned();
        api
    }

    /// The next line of standard output that satisfies `wanted` (earlier ones are skipped).
    pub fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("plan-api did not write the expected line within {PATIENCE:?}");
                }
            }
        }
    }

    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success());
    }

    pub fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "plan-api did not exit within {PATIENCE:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PlanApi {
    fn drop(&mut self) {
        // A failed test must not leave the process running.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the binary in `dir` with only the given environment (plus PATH).
pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plan-api"));
    command.args(args).current_dir(dir).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}
