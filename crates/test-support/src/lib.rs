//! What the test suites share. For now: the Python tools that `cargo xtask python` installs into
//! `target/python-venv` (independent implementations of the standards the product speaks), found and run the same
//! way by every test that uses them. A test that needs them fails, with the command to install them, when they are
//! missing; it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The virtual environment of the Python test tools: `COACH_PLANS_PYTHON_VENV`, else `target/python-venv`.
///
/// # Panics
/// When it does not exist, with the command that makes it.
pub fn python_venv() -> PathBuf {
    let venv = std::env::var_os("COACH_PLANS_PYTHON_VENV")
        .map_or_else(|| workspace_root().join("target/python-venv"), PathBuf::from);
    assert!(
        venv.join("bin/python").exists(),
        "{} is missing: run `cargo xtask python` (as `cargo xtask ci` does) to install the Python test tools",
        venv.display()
    );
    venv
}

/// A command of the Python test tools, e.g. `schemathesis`.
pub fn python_tool(name: &str) -> PathBuf {
    python_venv().join("bin").join(name)
}

/// Runs the official MCP SDK's client (`xtask/python/mcp_client.py`) against a server: `transport` is
/// `["stdio", COMMAND, ARG...]` or `["http", URL]`. `plan` lists the tool calls and resource reads
/// (`{"calls": [{"tool", "arguments"}], "reads": [URI]}`); the answer is what the client saw, as JSON.
///
/// # Panics
/// When the client fails or does not finish within two minutes; the message holds its output.
pub fn run_mcp_client(plan: &serde_json::Value, transport: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).expect("the plan is written");
    // Files, not pipes: a report larger than a pipe's buffer must not stall the client while this waits for it.
    let (stdout_file, stderr_file) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let create = |path: &Path| std::fs::File::create(path).expect("an output file");
    let mut child = Command::new(python_tool("python"))
        .arg(workspace_root().join("xtask/python/mcp_client.py"))
        .arg(&plan_file)
        .args(transport)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(create(&stdout_file))
        .stderr(create(&stderr_file))
        .spawn()
        .expect("the MCP client starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the client's state") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the MCP client did not finish within two minutes:\n{}", read(&stderr_file));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (read(&stdout_file), read(&stderr_file));
    assert!(status.success(), "the MCP client failed ({status}):\n{stdout}\n{stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the MCP client printed no JSON ({e}):\n{stdout}\n{stderr}"))
}
