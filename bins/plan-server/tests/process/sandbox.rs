//! `plan-server --sandbox`: typed messages go through the real bot into the database, and the printed API serves them.

use crate::support::{Running, get_json, plan_server};

#[test]
fn a_plan_typed_in_the_console_is_served_by_the_printed_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut sandbox =
        Running::start(plan_server(dir.path()).args(["--sandbox", "--port", "0", "--database", "plans.db"]));
    let api = sandbox.printed_url("API:");
    sandbox.wait_for_stdout("Type /help");

    sandbox.type_line("!plan d Long NVDA above 950\\");
    sandbox.type_line("stop 941");
    sandbox.wait_for_stdout("PlanBot › ✅ Plan saved for **Day Trading**");
    sandbox.type_line("/as ivan");
    sandbox.type_line("!edit d taken over");
    sandbox.wait_for_stdout("only Ann Carter (who posted it) or an admin may edit");
    sandbox.type_line("/as admin");
    sandbox.type_line("!delete d");
    sandbox.wait_for_stdout("PlanBot › 🗑️");
    sandbox.type_line("/as ann");
    sandbox.type_line("!plan d Short TSLA below 238");
    sandbox.wait_for_stdout("PlanBot › ✅ Plan saved for **Day Trading**");
    sandbox.close_stdin();
    sandbox.wait_for_stdout("standard input ended; still serving");

    let (status, plan) = get_json(&format!("{api}/api/coach-plans/?coach=d"));
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["plan"], "Short TSLA below 238", "a deleted plan was posted again");
    assert_eq!(plan["author"], "Ann Carter");
    let (status, health) = get_json(&format!("{api}/health"));
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["bot"]["status"], "connected", "{health}");

    sandbox.signal("TERM");
    let (status, stdout, _) = sandbox.wait();
    assert_eq!(status.code(), Some(0), "{}", stdout.join("\n"));
    assert!(
        stdout.iter().any(|l| l.contains("sandbox stopped; the plans are kept in plans.db")),
        "{}",
        stdout.join("\n")
    );
    assert!(dir.path().join("plan-server.log").is_file(), "the sandbox logs beside its database");
}

#[test]
fn without_prefix_commands_a_coach_does_everything_with_slash_commands() {
    let dir = tempfile::tempdir().unwrap();
    let mut sandbox = Running::start(
        plan_server(dir.path())
            .args(["--sandbox", "--port", "0", "--database", "plans.db"])
            .env("DISCORD_PREFIX_COMMANDS", "false"),
    );
    let api = sandbox.printed_url("API:");
    sandbox.wait_for_stdout("slash commands only");

    sandbox.type_line("//plan d Long NVDA above 950");
    sandbox.wait_for_stdout("PlanBot (edited) › ✅ Plan saved for **Day Trading**");
    sandbox.type_line("/as ivan");
    sandbox.type_line("//edit d taken over");
    sandbox.wait_for_stdout("PlanBot (only you see it) › ⚠️ only Ann Carter (who posted it) or an admin may edit");
    sandbox.type_line("/as ann");
    sandbox.type_line("//plan s");
    sandbox.wait_for_stdout("PlanBot opened the form “Plan for Swing”");
    sandbox.type_line("/form Swing long SPY above 600\\");
    sandbox.type_line("stop 590");
    sandbox.wait_for_stdout("PlanBot (edited) › ✅ Plan saved for **Swing**");
    sandbox.type_line("!plan i typed as a message");
    sandbox.type_line("//plans");
    sandbox.wait_for_stdout("PlanBot › 📋 **Plans for");
    sandbox.close_stdin();
    sandbox.wait_for_stdout("standard input ended; still serving");

    let (_, plan) = get_json(&format!("{api}/api/coach-plans/?coach=s"));
    assert_eq!(plan["plan"], "Swing long SPY above 600\nstop 590", "the form's text, both lines");
    let (_, plan) = get_json(&format!("{api}/api/coach-plans/?coach=d"));
    assert_eq!(plan["plan"], "Long NVDA above 950");
    let (_, all) = get_json(&format!("{api}/api/coach-plans/all"));
    assert!(all.get("coach_i").is_none() && all.get("i").is_none(), "a prefix command is a plain message: {all}");
    sandbox.signal("TERM");
    let (status, stdout, _) = sandbox.wait();
    assert_eq!(status.code(), Some(0), "{}", stdout.join("\n"));
}

/// The demo day of a sandbox started with `--seed-demo`: waits for the bot's confirmation (shown after `answer`) of
/// each coach's plan and the end of standard input; returns the API's address and its `/all` answer, which holds
/// the four coaches.
fn demo_day(sandbox: &mut Running, answer: &str) -> (String, serde_json::Value) {
    let api = sandbox.printed_url("API:");
    for coach in ["Day Trading", "Intraday", "Swing", "News/Events"] {
        sandbox.wait_for_stdout(&format!("{answer} ✅ Plan saved for **{coach}**"));
    }
    sandbox.close_stdin();
    sandbox.wait_for_stdout("still serving");
    let (_, all) = get_json(&format!("{api}/api/coach-plans/all"));
    let coaches: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(coaches, ["coach_d", "coach_i", "coach_n", "coach_s"], "{all}");
    (api, all)
}

#[test]
fn the_demo_day_is_posted_through_the_bot_and_kept_for_the_next_session() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--sandbox", "--seed-demo", "--port", "0", "--database", "data/plans.db"];
    let mut sandbox = Running::start(plan_server(dir.path()).args(args));
    let (api, all) = demo_day(&mut sandbox, "PlanBot ›");
    assert_eq!(all["coach_d"]["charts"].as_array().map(Vec::len), Some(1), "the attached screenshot: {all}");
    // The screenshot is served from the API's own copy, byte for byte (Discord's link would expire).
    let copy = all["coach_d"]["charts"][0].as_str().unwrap();
    assert!(copy.starts_with(&format!("{api}/api/v1/charts/")), "{copy}");
    let screenshot = reqwest::blocking::get(copy).unwrap().bytes().unwrap();
    let posted = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-chart.png")).unwrap();
    assert_eq!(screenshot.as_ref(), posted.as_slice());
    assert_eq!(all["coach_i"]["charts"][0], "https://www.tradingview.com/x/Qk7dW2pL/", "{all}");
    sandbox.signal("INT");
    assert_eq!(sandbox.wait().0.code(), Some(0));

    // A second session over the same database: the plans are still there, and the demo does not post them twice.
    let mut again = Running::start(plan_server(dir.path()).args(args));
    let api = again.printed_url("API:");
    again.wait_for_stdout("demo: coach n already has today's plan");
    again.close_stdin();
    again.wait_for_stdout("still serving");
    let (_, v1) = get_json(&format!("{api}/api/v1/plans"));
    let plans = v1["plans"].as_array().unwrap_or_else(|| panic!("{v1}"));
    assert_eq!(plans.len(), 4, "{v1}");
    assert!(plans.iter().all(|p| p["version"] == 1), "nothing was posted twice: {v1}");
    again.signal("TERM");
    assert_eq!(again.wait().0.code(), Some(0));
}

#[test]
fn without_prefix_commands_the_demo_day_is_posted_with_slash_commands() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--sandbox", "--seed-demo", "--port", "0", "--database", "plans.db"];
    let mut sandbox = Running::start(plan_server(dir.path()).args(args).env("DISCORD_PREFIX_COMMANDS", "false"));
    let (_, all) = demo_day(&mut sandbox, "PlanBot (edited) ›");
    assert_eq!(all["coach_d"]["charts"].as_array().map(Vec::len), Some(1), "the screenshot as /plan's chart: {all}");
    assert!(all["coach_d"]["plan"].as_str().unwrap().contains("\nNVDA: long over 952"), "every line: {all}");
    sandbox.signal("TERM");
    assert_eq!(sandbox.wait().0.code(), Some(0));
}
