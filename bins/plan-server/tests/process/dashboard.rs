//! The dashboard in a real browser (headless Chromium through Debian's chromedriver, driven by Selenium in
//! `xtask/python/dashboard_browser.py`) against the real binary: the sandbox's demo day, a plan changed through the
//! local Discord showing on an open page, and the sign-in flow with `api.auth: required`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{Running, plan_server, run};

/// How long the browser script may take.
const BROWSER_WAIT: Duration = Duration::from_secs(120);

/// The browser script, started; its output lines arrive on the receiver.
struct Browser {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Browser {
    fn start(args: &[&str]) -> Self {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: install Debian's chromium and chromium-driver (.ci/run does)"
            );
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../xtask/python/dashboard_browser.py");
        let mut child = Command::new(test_support::python_tool("python"))
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the browser script starts");
        let (sender, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self { child, lines, seen: Vec::new() }
    }

    /// Waits for a line containing `text`; panics with everything the script printed otherwise.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + BROWSER_WAIT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        panic!("the browser script did not print {text:?}; it printed:\n{}", self.seen.join("\n"));
    }

    fn say(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("the script's input is open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the script to end well.
    fn finish(mut self) {
        self.wait_for("done");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{}", self.seen.join("\n"));
    }
}

#[test]
fn the_demo_day_in_a_browser_with_a_live_change_from_discord() {
    let dir = tempfile::tempdir().unwrap();
    let mut sandbox = Running::start(plan_server(dir.path()).args([
        "--sandbox",
        "--seed-demo",
        "--port",
        "0",
        "--database",
        "plans.db",
    ]));
    let api = sandbox.printed_url("API:");
    let dashboard = sandbox.printed_url("dashboard:");
    assert_eq!(dashboard, format!("{api}/dashboard"), "the sandbox prints the dashboard's URL");
    sandbox.wait_for_stdout("PlanBot › ✅ Plan saved for **News/Events**");
    // A plan whose text holds markup, and an edit for the history's diff.
    sandbox.type_line("/as sara");
    sandbox.type_line("!plan s <script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\"> Swing: AMD");
    sandbox.wait_for_stdout("PlanBot › ✅ Plan replaced for **Swing**");
    sandbox.type_line("/as ann");
    sandbox.type_line("!edit d Bias: flat until 10:00. NVDA: long over 955, stop 944.");
    sandbox.wait_for_stdout("PlanBot › ✏️ Plan for **Day Trading**");
    let today = sandbox.wait_for_stdout("✏️ Plan for **Day Trading** (`d`) on ");
    let today: String = today.split(" on ").nth(1).unwrap().chars().take(10).collect();

    let screenshots = std::env::var("DASHBOARD_SCREENSHOTS").unwrap_or_default();
    let mut args = vec!["day", api.as_str(), today.as_str()];
    if !screenshots.is_empty() {
        args.push(&screenshots);
    }
    let mut browser = Browser::start(&args);
    browser.wait_for("READY live");
    sandbox.type_line("/as nick");
    sandbox.type_line("!edit n Live from the local Discord: CPI at 8:30.");
    sandbox.wait_for_stdout("PlanBot › ✏️ Plan for **News/Events**");
    browser.say("Live from the local Discord");
    browser.finish();
    sandbox.signal("TERM");
    let (status, _, _) = sandbox.wait();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn with_auth_required_the_browser_signs_in_with_a_token_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, stderr) = run(plan_server(dir.path()).args([
        "token",
        "create",
        "--name",
        "trader",
        "--scope",
        "read",
        "--database",
        "plans.db",
    ]));
    assert!(status.success(), "{stdout}\n{stderr}");
    let token = stdout.lines().last().unwrap().to_owned();
    let server = Running::start(
        plan_server(dir.path())
            .args(["--port", "0", "--database", "plans.db", "--host", "127.0.0.1"])
            .env("MOCK_MODE", "true")
            .env("API_AUTH", "required"),
    );
    let api = server.printed_url("HTTP API on");
    Browser::start(&["auth", &api, &token]).finish();
    server.signal("TERM");
    let (status, _, _) = server.wait();
    assert_eq!(status.code(), Some(0));
}
