//! What the test suites share: the Python tools that `cargo xtask python` installs into `target/python-venv`
//! (independent implementations of the standards the product speaks), found and run the same way by every test that
//! uses them, and databases of their own on the PostgreSQL server of the test run ([`postgres`]). A test that needs
//! the Python tools fails, with the command to install them, when they are missing; a PostgreSQL test fails when the
//! server `cargo xtask ci` names is unreachable.

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

/// A binary of another package of the workspace, built beside the running test (`target/debug/NAME`): `cargo test
/// --workspace` builds every package's binaries before any test runs.
///
/// # Panics
/// When it is not built, with the command that builds it.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/debug/deps/TEST-HASH → target/debug/NAME
    let dir = exe.parent().and_then(Path::parent).expect("the test runs from target/<profile>/deps");
    let binary = dir.join(name);
    assert!(
        binary.exists(),
        "{} is not built: run `cargo build -p {name}` first, or the whole workspace's tests",
        binary.display()
    );
    binary
}

/// The variable that names the test run's PostgreSQL server (`cargo xtask ci` and `cargo xtask postgres` set it).
pub const POSTGRES_URL_VARIABLE: &str = "COACH_PLANS_TEST_POSTGRES_URL";

/// The variable that names the PEM file of the CA that signed that server's certificate.
pub const POSTGRES_CA_VARIABLE: &str = "COACH_PLANS_TEST_POSTGRES_CA";

/// A database of its own for one test, on the test run's PostgreSQL server; dropped (with its connections) when this
/// is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// The database's URL (with the password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's URL for a TLS connection verified against the test server's CA (`sslmode=require`,
    /// `sslrootcert`).
    ///
    /// # Panics
    /// When the test run names no CA (`cargo xtask ci` always does).
    pub fn tls_url(&self) -> String {
        let ca = std::env::var(POSTGRES_CA_VARIABLE)
            .unwrap_or_else(|_| panic!("{POSTGRES_CA_VARIABLE} is unset: run the tests through `cargo xtask ci`"));
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}sslmode=require&sslrootcert={ca}", self.url)
    }

    /// Makes the database refuse new connections and ends the open ones (`false`), as a server that went down does
    /// to its clients, or takes connections again (`true`).
    pub fn set_reachable(&self, reachable: bool) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        std::thread::spawn(move || {
            let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).expect("the admin connection");
            admin.batch_execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {reachable}")).unwrap();
            if !reachable {
                let ended = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1";
                admin.execute(ended, &[&name]).unwrap();
            }
        })
        .join()
        .expect("the thread that changes a test database");
    }

    /// The URL of another database of its own on the same server, dropped with this one: for tests that copy from
    /// one database to another.
    pub fn sibling(&self, suffix: &str) -> TestDatabase {
        create_database(&self.admin_url, &format!("{}_{suffix}", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // The client blocks on a runtime of its own: never on a thread that may be driving async code.
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = postgres::Client::connect(&admin_url, postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
            }
        })
        .join();
    }
}

/// A new, empty database on the test run's PostgreSQL server, or `None` (with a line saying so) when no server is
/// named: `cargo test` alone runs without the PostgreSQL tests, `cargo xtask ci` always with them.
///
/// # Panics
/// When the server is named but cannot be reached or refuses to create the database: in CI that is a failure.
pub fn postgres() -> Option<TestDatabase> {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VARIABLE) else {
        eprintln!(
            "no PostgreSQL server for this test ({POSTGRES_URL_VARIABLE} is unset): it checks nothing here; \
             `cargo xtask ci` runs it against a private server, and `cargo xtask postgres cargo test ...` too"
        );
        return None;
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    Some(create_database(&admin_url, &format!("t_{}_{n}_{nanos:x}", std::process::id())))
}

fn create_database(admin_url: &str, name: &str) -> TestDatabase {
    let (admin, created) = (admin_url.to_owned(), name.to_owned());
    let result = std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)?;
        client.batch_execute(&format!("CREATE DATABASE \"{created}\""))
    })
    .join()
    .expect("the thread that creates a test database");
    if let Err(error) = result {
        let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
        panic!(
            "cannot create a test database on the PostgreSQL server {POSTGRES_URL_VARIABLE} names: {error}: {cause}"
        );
    }
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    let url = match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    };
    TestDatabase { admin_url: admin_url.to_owned(), name: name.to_owned(), url }
}
