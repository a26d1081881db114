//! The OpenAPI document is a contract an independent, schema-driven fuzzer can trust: schemathesis (from
//! `target/python-venv`, which `cargo xtask python` installs) runs every phase (examples, coverage, fuzzing,
//! stateful) with every check against the built `plan-api` on port 0, over an empty database and over one seeded
//! with plans, edits, deletions, imported plans and archived chart images. A request the document calls valid must
//! be accepted, one it calls invalid refused with a 4xx, and every answer must match the document.

use std::path::Path;
use std::process::Command;

use core_model::jiff::Timestamp;
use core_model::{MarketTimeZone, TradingDate};

use crate::seed::{EXAMPLE_DATE, seed};
use crate::support::PlanApi;

/// The seed of every run, so that a failure repeats; `SCHEMATHESIS_SEED` runs with another one.
const SEED: &str = "20261206";

/// Test cases per operation and phase: both runs together take about 25 s here.
const MAX_EXAMPLES: &str = "150";

/// What schemathesis sent and got: each exchange as (method, path with query, status, response body).
struct Exchanges(Vec<(String, String, u16, String)>);

impl Exchanges {
    /// Whether some exchange whose path matches `path` got `status` with a body containing `needle`.
    fn any(&self, path: impl Fn(&str) -> bool, status: u16, needle: &str) -> bool {
        self.0.iter().any(|(_, p, s, body)| path(p) && *s == status && body.contains(needle))
    }
}

/// The configuration every run starts with. An invalid request may also be refused with 414 (a query string over the
/// server's limit, which generated lists of values reach), as every operation documents: schemathesis' default list of
/// refusals lacks it, so it is added; the check itself stays as it is.
const BASE_CONFIG: &str = include_str!("schemathesis.toml");

/// Runs schemathesis against `api` with every phase and check; `config` is added to [`BASE_CONFIG`] in its
/// configuration file. Fails the test on any failure or error, or when a phase or an operation was not run.
fn run_schemathesis(dir: &Path, api: &PlanApi, config: &str) -> Exchanges {
    run_schemathesis_with(dir, api, config, &[])
}

/// [`run_schemathesis`] with more arguments (e.g. a header every request sends).
fn run_schemathesis_with(dir: &Path, api: &PlanApi, config: &str, args: &[&str]) -> Exchanges {
    let config_file = dir.join("schemathesis.toml");
    std::fs::write(&config_file, format!("{BASE_CONFIG}{config}")).unwrap();
    let reports = dir.join("reports");
    let output = Command::new(test_support::python_tool("schemathesis"))
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", api.url))
        .args(["--checks", "all", "--phases", "examples,coverage,fuzzing,stateful"])
        .arg("--seed")
        .arg(std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_owned()))
        .args(["--max-examples", MAX_EXAMPLES, "--generation-database", "none"])
        .args(["--request-timeout", "30", "--no-color", "--report", "json,har", "--report-dir"])
        .arg(&reports)
        .args(args)
        .current_dir(dir)
        // The rules between parameters that the document states in words only (see the module).
        .env("PYTHONPATH", Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/process"))
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "schemathesis found failures:\n{stdout}\n{stderr}");
    let report = read_report(&reports, "json-");
    for phase in ["examples", "coverage", "fuzzing", "stateful"] {
        assert_eq!(report["phases"][phase]["status"], "success", "the {phase} phase ran and passed:\n{stdout}");
    }
    let operations = &report["operations"];
    assert!(operations["total"].as_u64().unwrap() >= 13, "{operations}");
    assert_eq!(operations["tested"], operations["total"], "every operation was tested:\n{stdout}");
    assert_eq!(report["errors"], serde_json::json!([]), "{stdout}");
    let har = read_report(&reports, "har-");
    let exchanges = har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let url = e["request"]["url"].as_str().unwrap();
            let path = url.strip_prefix(&api.url).unwrap_or(url).to_owned();
            let body = e["response"]["content"]["text"].as_str().unwrap_or_default().to_owned();
            let status = e["response"]["status"].as_u64().unwrap() as u16;
            (e["request"]["method"].as_str().unwrap().to_owned(), path, status, body)
        })
        .collect();
    Exchanges(exchanges)
}

/// The report schemathesis wrote whose file name starts with `prefix`.
fn read_report(dir: &Path, prefix: &str) -> serde_json::Value {
    let file = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("schemathesis wrote no {prefix}* report in {}", dir.display()));
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// `plan-api` over `db` for a fuzzer: rate limits off (a fuzzer is the runaway loop they stop; they are tested on
/// their own), and no webhook deliveries (the receivers a fuzzer subscribes are not for real).
fn start_api(dir: &Path, db: &Path, env: &[(&str, &str)]) -> PlanApi {
    let base = [
        ("LOG_LEVEL", "warn"),
        ("API_RATE_PER_SECOND", "0"),
        ("COACH_PLANS__API__RATE_LIMIT__ADMIN_PER_SECOND", "0"),
        ("WEBHOOKS_DELIVER", "false"),
    ];
    let env: Vec<(&str, &str)> = base.iter().copied().chain(env.iter().copied()).collect();
    PlanApi::start(dir, &["--database", db.to_str().unwrap(), "--port", "0"], &env)
}

#[test]
fn schemathesis_finds_nothing_over_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let api = start_api(dir.path(), &dir.path().join("empty.db"), &[]);
    let exchanges = run_schemathesis(dir.path(), &api, "");
    assert!(exchanges.0.len() > 500, "a real run: {} requests", exchanges.0.len());
}

#[test]
fn schemathesis_finds_nothing_over_a_database_with_plans_history_and_chart_images() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("seeded.db");
    let today = TradingDate::today_in(Timestamp::now(), &MarketTimeZone::default()).to_string();
    let digest = seed(&db, &[EXAMPLE_DATE, &today]);
    let api = start_api(dir.path(), &db, &[]);
    // Half of the dates and digests drawn are ones that have plans and images, so that answers with bodies (plans,
    // charts with their copies, history, image files) are checked as often as the refusals.
    let config = format!(
        "[dictionaries.dates]\nvalues = [\"{EXAMPLE_DATE}\", \"{today}\"]\n\
         [dictionaries.digests]\nvalues = [\"{digest}\"]\n\
         [parameters]\n\
         \"path.date\" = {{ dictionary = \"dates\", probability = 0.5 }}\n\
         \"query.date\" = {{ dictionary = \"dates\", probability = 0.5 }}\n\
         \"path.digest\" = {{ dictionary = \"digests\", probability = 0.5 }}\n"
    );
    let exchanges = run_schemathesis(dir.path(), &api, &config);
    // The seeded data was reached: answers with bodies were checked against the document, not only refusals.
    let under = |prefix: &'static str| move |path: &str| path.starts_with(prefix);
    assert!(exchanges.any(under("/api/v1/charts/"), 200, ""), "an archived image was served");
    assert!(exchanges.any(|p| p.starts_with("/api/v1/plans/") && !p.contains("/history"), 200, "\"image_url\":\"http"));
    assert!(exchanges.any(|p| p.contains("/history"), 200, "\"action\":\"deleted\""), "a history with a deletion");
    assert!(exchanges.any(under("/api/coach-plans/?"), 200, "\"author\":\"old_bob\""), "an imported plan");
    assert!(exchanges.any(under("/api/coach-plans/all"), 200, "\"coach_d\""), "the plans of a date");
    assert!(exchanges.any(under("/api/v1/plans?"), 200, "\"tickers\":[\"SPY\"]"), "a search found plans");
    assert!(exchanges.any(under("/api/v1/tickers"), 200, "\"ticker\":\"SPY\""), "tickers were counted");
}

#[test]
fn schemathesis_finds_nothing_with_authentication_required_and_an_admin_token() {
    use core_model::TokenStore as _;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("auth.db");
    let today = TradingDate::today_in(Timestamp::now(), &MarketTimeZone::default()).to_string();
    seed(&db, &[EXAMPLE_DATE, &today]);
    let token = core_model::ApiToken::from_random([42; 32]);
    let store = storage::SqliteStore::open(&db, storage::StoreOptions::default()).unwrap();
    let admin = core_model::NewToken {
        name: core_model::TokenName::parse("fuzzer").unwrap(),
        scope: core_model::Scope::Admin,
        hash: token.hash(),
        created_at: Timestamp::now(),
        expires_at: None,
    };
    assert!(store.create_token(&admin).unwrap());
    drop(store);
    let api = start_api(dir.path(), &db, &[("API_AUTH", "required")]);
    let header = format!("Authorization: Bearer {}", token.expose());
    let exchanges = run_schemathesis_with(dir.path(), &api, "", &["--header", &header]);
    assert!(exchanges.any(|p| p == "/api/v1/webhooks", 201, "\"secret\":\"whsec_"), "a subscription was made");
    assert!(exchanges.any(|p| p.starts_with("/api/v1/plans"), 200, ""), "plans were read with the token");
}
