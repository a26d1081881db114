//! Running the built `plan-server` in a temporary directory with a clean environment, and reading what it prints.

use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long any wait in these tests may take before it fails (generous: debug builds on a busy 2-core machine).
pub const WAIT: Duration = Duration::from_secs(60);

/// A `plan-server` command run in `dir`, with only `PATH` from the test's environment (so no setting leaks in).
pub fn plan_server(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plan-server"));
    command.current_dir(dir).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

/// Runs a command to its end and returns its exit status, standard output and standard error.
pub fn run(command: &mut Command) -> (ExitStatus, String, String) {
    let output = command.stdin(Stdio::null()).output().expect("plan-server runs");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned());
    stdout.lines().chain(stderr.lines()).for_each(capture);
    (output.status, stdout, stderr)
}

/// Adds a line the child printed to the suite's log capture (`TEST_LOG_FILE`, set by `cargo xtask ci`), which is
/// then searched for the test secrets: the child's logs go to its standard streams, not to this process's
/// subscriber.
fn capture(line: &str) {
    if let Some(file) = app::test_log_file() {
        let _ = writeln!(&*file, "plan-server: {line}");
    }
}

/// Lines a process printed so far, and a signal when more arrive.
#[derive(Default)]
struct Lines {
    lines: Mutex<(Vec<String>, bool)>,
    more: Condvar,
}

impl Lines {
    fn collect(self: Arc<Self>, source: impl Read + Send + 'static) {
        std::thread::spawn(move || {
            for line in BufReader::new(source).lines() {
                let Ok(line) = line else { break };
                capture(&line);
                self.lines.lock().unwrap().0.push(line);
                self.more.notify_all();
            }
            self.lines.lock().unwrap().1 = true;
            self.more.notify_all();
        });
    }

    fn wait_for(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let mut guard = self.lines.lock().unwrap();
        loop {
            if let Some(line) = guard.0.iter().find(|l| matches(l)) {
                return line.clone();
            }
            let now = Instant::now();
            assert!(now < deadline && !guard.1, "no line {what} came; the output was:\n{}", guard.0.join("\n"));
            guard = self.more.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    fn wait_closed(&self) {
        let deadline = Instant::now() + WAIT;
        let mut guard = self.lines.lock().unwrap();
        while !guard.1 && Instant::now() < deadline {
            guard = self.more.wait_timeout(guard, Duration::from_millis(100)).unwrap().0;
        }
    }

    fn all(&self) -> Vec<String> {
        self.lines.lock().unwrap().0.clone()
    }
}

/// A running `plan-server`.
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Lines>,
    stderr: Arc<Lines>,
}

impl Running {
    /// Starts the command with piped standard streams.
    pub fn start(command: &mut Command) -> Self {
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdout = Arc::new(Lines::default());
        let stderr = Arc::new(Lines::default());
        Arc::clone(&stdout).collect(child.stdout.take().unwrap());
        Arc::clone(&stderr).collect(child.stderr.take().unwrap());
        Self { stdin: child.stdin.take(), child, stdout, stderr }
    }

    /// Types a line on its standard input.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("standard input is open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes its standard input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for a line of standard output containing `text`, and returns it.
    pub fn wait_for_stdout(&self, text: &str) -> String {
        self.stdout.wait_for(&format!("containing {text:?}"), |line| line.contains(text))
    }

    /// The base URL it printed after `label` (e.g. `API:`).
    pub fn printed_url(&self, label: &str) -> String {
        let line = self.wait_for_stdout(label);
        let start = line.find("http://").unwrap_or_else(|| panic!("no URL in {line:?}"));
        line[start..].split_whitespace().next().unwrap().trim_end_matches(['(', ')', ',']).to_owned()
    }

    /// Sends a signal (`TERM`, `INT`, ...).
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill").args([format!("-{name}"), self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -{name}");
    }

    /// Waits for it to exit; returns its status, standard output and standard error.
    pub fn wait(mut self) -> (ExitStatus, Vec<String>, Vec<String>) {
        self.stdin = None;
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("plan-server did not exit in time; its output:\n{}", self.stdout.all().join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the readers take the last lines.
        self.stdout.wait_closed();
        self.stderr.wait_closed();
        (status, self.stdout.all(), self.stderr.all())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP GET with a fresh connection; the status and the body.
pub fn get(url: &str) -> (u16, String) {
    let client = reqwest::blocking::Client::builder().timeout(WAIT).pool_max_idle_per_host(0).build().unwrap();
    let response = client.get(url).send().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().unwrap())
}

/// A blocking HTTP GET of JSON with an API token.
pub fn get_json_with_token(url: &str, token: &str) -> (u16, serde_json::Value) {
    let client = reqwest::blocking::Client::builder().timeout(WAIT).pool_max_idle_per_host(0).build().unwrap();
    let response = client.get(url).bearer_auth(token).send().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let body = response.text().unwrap();
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}")))
}

/// A blocking HTTP GET of JSON.
pub fn get_json(url: &str) -> (u16, serde_json::Value) {
    let (status, body) = get(url);
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}")))
}

/// `plan-server serve` on a free port over `plans.db` in `dir`, connected to `emulator`: the running server and its
/// API's base URL, once the bot's session is ready.
pub async fn serve_against(emulator: &discord_emulator::Emulator, dir: &Path) -> (Running, String) {
    serve_against_with(emulator, dir, &[]).await
}

/// [`serve_against`], with more environment variables.
pub async fn serve_against_with(
    emulator: &discord_emulator::Emulator,
    dir: &Path,
    env: &[(&str, &str)],
) -> (Running, String) {
    let mut command = plan_server(dir);
    command
        .args(["serve", "--port", "0", "--database", "plans.db"])
        .env("DISCORD_BOT_TOKEN", emulator.token())
        .env("DISCORD_API_BASE_URL", emulator.http_base_url())
        .env("DISCORD_GATEWAY_URL", emulator.gateway_url())
        .envs(env.iter().copied());
    let server = Running::start(&mut command);
    let api = tokio::task::block_in_place(|| server.printed_url("HTTP API on"));
    emulator.wait_for_ready(WAIT).await.unwrap();
    (server, api)
}

/// The trading date `days` before `today`, as text.
pub fn days_ago(today: core_model::TradingDate, days: i64) -> String {
    use core_model::jiff::ToSpan as _;
    core_model::TradingDate::from_date(today.date().checked_sub(days.days()).unwrap()).to_string()
}
