//! `api.auth: required` through the real binary: tokens made and revoked with `plan-server token`, the predecessor's
//! Python client (python-requests) authenticating with the token in its base URL or in `~/.netrc`, MCP with a
//! bearer token, and a revocation counted at once by a server already running.

use std::process::Command;

use crate::support::{Running, get, plan_server, run};

/// What python-requests, as the predecessor's client uses it, gets for `url` (credentials in the URL, or from
/// `~/.netrc` under `home`): the status of each GET, one per line.
fn python_requests(urls: &[String], home: &std::path::Path) -> Vec<u16> {
    let script =
        "import sys, requests\nfor url in sys.argv[1:]:\n    print(requests.get(url, timeout=30).status_code)\n";
    let output = Command::new(test_support::python_tool("python"))
        .arg("-c")
        .arg(script)
        .args(urls)
        .env_clear()
        .env("HOME", home)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout.lines().map(|l| l.trim().parse().unwrap()).collect()
}

fn token_create(dir: &std::path::Path, name: &str, scope: &str) -> String {
    let (status, stdout, stderr) =
        run(plan_server(dir).args(["token", "create", "--name", name, "--scope", scope, "--database", "plans.db"]));
    assert!(status.success(), "{stdout}\n{stderr}");
    let token = stdout.lines().last().unwrap().to_owned();
    assert!(token.starts_with("cpt_") && token.len() >= 26, "the token is alone on the last line: {stdout}");
    token
}

#[test]
fn with_auth_required_only_health_answers_without_a_token_and_the_python_client_uses_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let token = token_create(dir.path(), "agent", "read");
    let (status, stdout, _) = run(plan_server(dir.path()).args(["token", "list", "--database", "plans.db"]));
    assert!(status.success());
    assert!(stdout.contains("agent") && stdout.contains("read") && stdout.contains("active"), "{stdout}");
    let (header, row) = (stdout.lines().next().unwrap(), stdout.lines().nth(1).unwrap());
    assert_eq!(row.find("read"), header.find("SCOPE"), "the rows line up under the header:\n{stdout}");
    assert!(!stdout.contains(&token), "a list never shows a token");
    let (status, _, stderr) =
        run(plan_server(dir.path()).args(["token", "create", "--name", "agent", "--database", "plans.db"]));
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("exists already"), "{stderr}");
    // A value the command cannot take is a bad argument: exit 2, saying what to give.
    for (args, says) in [
        (&["token", "create", "--name", "bad name"][..], "is not a token name"),
        (&["token", "create", "--name", "later", "--expires-in", "0"][..], "is not an expiry"),
        (&["webhook", "add", "ftp://hooks.example.com/x"][..], "use an https:// URL"),
        (&["webhook", "add", "https://hooks.example.com/x", "--events", "plan.nope"][..], "is not an event"),
        (&["webhook", "add", "https://hooks.example.com/x", "--events", ""][..], "name at least one of plan.created"),
    ] {
        let (status, _, stderr) = run(plan_server(dir.path()).args(args).args(["--database", "plans.db"]));
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }

    let mut command = plan_server(dir.path());
    command
        .args(["--port", "0", "--database", "plans.db", "--host", "127.0.0.1"])
        .env("MOCK_MODE", "true")
        .env("API_AUTH", "required");
    let server = Running::start(&mut command);
    let api = server.printed_url("HTTP API on");
    let port = api.rsplit(':').next().unwrap().to_owned();

    assert_eq!(get(&format!("{api}/health")).0, 200, "probes need no token");
    for path in ["/api/coach-plans/all", "/api/v1/plans", "/metrics", "/api/v1/openapi.json"] {
        let (status, body) = get(&format!("{api}{path}"));
        assert_eq!(status, 401, "{path}: {body}");
        assert!(body.contains("token"), "{body}");
    }

    let home = tempfile::tempdir().unwrap();
    let with_token = format!("http://agent:{token}@127.0.0.1:{port}");
    let statuses = python_requests(
        &[
            format!("{with_token}/api/coach-plans/all"),
            format!("{with_token}/api/coach-plans/?coach=d"),
            format!("{with_token}/health"),
            format!("http://agent:cpt_000000000000000000000000000@127.0.0.1:{port}/api/coach-plans/all"),
            format!("{api}/api/coach-plans/all"),
        ],
        home.path(),
    );
    assert_eq!(statuses, [200, 200, 200, 401, 401], "the URL's token is sent as Basic credentials");
    std::fs::write(home.path().join(".netrc"), format!("machine 127.0.0.1\nlogin agent\npassword {token}\n")).unwrap();
    assert_eq!(python_requests(&[format!("{api}/api/coach-plans/all")], home.path()), [200], "~/.netrc works too");

    // MCP follows the same rule.
    let client = reqwest::blocking::Client::new();
    let initialize = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    });
    let mcp = |auth: Option<&str>| {
        let mut request =
            client.post(format!("{api}/mcp")).header("accept", "application/json, text/event-stream").json(&initialize);
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        request.send().unwrap()
    };
    let refused = mcp(None);
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().contains_key("www-authenticate"));
    // In the body MCP clients read: a JSON-RPC error with the API's words.
    let said: serde_json::Value = refused.json().unwrap();
    assert_eq!((said["jsonrpc"].as_str(), said["error"]["code"].as_i64()), (Some("2.0"), Some(-32000)), "{said}");
    assert!(said["error"]["message"].as_str().unwrap().contains("this API needs a token"), "{said}");
    assert_eq!(mcp(Some(&token)).status(), 200);

    // A revocation made by another process counts from the next request.
    let (status, stdout, _) = run(plan_server(dir.path()).args(["token", "revoke", "agent", "--database", "plans.db"]));
    assert!(status.success(), "{stdout}");
    assert_eq!(python_requests(&[format!("{with_token}/api/coach-plans/all")], home.path()), [401]);

    server.signal("TERM");
    let (status, stdout, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "{}", stderr.join("\n"));
    let output = stdout.iter().chain(&stderr).cloned().collect::<Vec<_>>().join("\n");
    assert!(!output.contains(&token), "the token is never logged");
}

#[test]
fn listening_beyond_loopback_without_authentication_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = plan_server(dir.path());
    command.args(["--port", "0", "--database", "plans.db", "--host", "0.0.0.0"]).env("MOCK_MODE", "true");
    let server = Running::start(&mut command);
    server.printed_url("HTTP API on");
    server.signal("TERM");
    let (status, _, stderr) = server.wait();
    assert_eq!(status.code(), Some(0));
    let stderr = stderr.join("\n");
    assert!(stderr.contains("without authentication") && stderr.contains("API_AUTH=required"), "{stderr}");
    let (_, stdout, _) = run(plan_server(dir.path())
        .args(["doctor", "--host", "0.0.0.0", "--database", "plans.db"])
        .env("MOCK_MODE", "true"));
    assert!(stdout.contains("api auth") && stdout.contains("anyone who reaches it"), "{stdout}");
}
