//! The OpenAPI document is a contract an independent, schema-driven fuzzer can trust: schemathesis (from
//! `target/python-venv`, which `cargo xtask python` installs) runs every phase (examples, coverage, fuzzing,
//! stateful) with every check against the built `plan-api` on port 0, over an empty database and over one seeded
//! with plans, edits, deletions, imported plans and archived chart images. A request the document calls valid must
//! be accepted, one it calls invalid refused with a 4xx, and every answer must match the document.

use std::path::{Path, PathBuf};
use std::process::Command;

use core_model::jiff::Timestamp;
use core_model::{
    Author, ChartImage, ChartImageStore as _, ChartKind, CoachId, MarketTimeZone, NewChart, NewPlan, PlanChange,
    PlanRepository as _, PlanSource, PlanText, TradingDate, UserId,
};
use storage::{SqliteStore, StoreOptions};

use crate::support::PlanApi;

/// The seed of every run, so that a failure repeats; `SCHEMATHESIS_SEED` runs with another one.
const SEED: &str = "20261206";

/// Test cases per operation and phase: both runs together take about 25 s here.
const MAX_EXAMPLES: &str = "150";

/// The date the document's examples name (`2025-11-10`), so that example requests find plans.
const EXAMPLE_DATE: &str = "2025-11-10";

/// The schemathesis command of the test environment.
fn schemathesis() -> PathBuf {
    let venv = std::env::var_os("COACH_PLANS_PYTHON_VENV")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/python-venv"), PathBuf::from);
    let command = venv.join("bin").join("schemathesis");
    assert!(
        command.exists(),
        "{} is missing: run `cargo xtask python` (as `cargo xtask ci` does) to install the test tools",
        command.display()
    );
    command
}

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
const BASE_CONFIG: &str = "[checks.negative_data_rejection]\n\
    expected-statuses = [\"400\", \"401\", \"403\", \"404\", \"405\", \"406\", \"409\", \"414\", \"415\", \"422\", \
    \"428\", \"429\", \"5xx\"]\n";

/// Runs schemathesis against `api` with every phase and check; `config` is added to [`BASE_CONFIG`] in its
/// configuration file. Fails the test on any failure or error, or when a phase or an operation was not run.
fn run_schemathesis(dir: &Path, api: &PlanApi, config: &str) -> Exchanges {
    let config_file = dir.join("schemathesis.toml");
    std::fs::write(&config_file, format!("{BASE_CONFIG}{config}")).unwrap();
    let reports = dir.join("reports");
    let output = Command::new(schemathesis())
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

fn start_api(dir: &Path, db: &Path) -> PlanApi {
    PlanApi::start(dir, &["--database", db.to_str().unwrap(), "--port", "0"], &[("LOG_LEVEL", "warn")])
}

#[test]
fn schemathesis_finds_nothing_over_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let api = start_api(dir.path(), &dir.path().join("empty.db"));
    let exchanges = run_schemathesis(dir.path(), &api, "");
    assert!(exchanges.0.len() > 500, "a real run: {} requests", exchanges.0.len());
}

#[test]
fn schemathesis_finds_nothing_over_a_database_with_plans_history_and_chart_images() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("seeded.db");
    let today = TradingDate::today_in(Timestamp::now(), &MarketTimeZone::default()).to_string();
    let digest = seed(&db, &[EXAMPLE_DATE, &today]);
    let api = start_api(dir.path(), &db);
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

/// Plans of coaches d, i and s on each of `dates` (n has none): posted by a Discord user with an attached chart
/// (archived) and a TradingView link, edited, one deleted and posted again, one imported from the predecessor (a name,
/// no user id, no source). Returns the archived image's digest.
fn seed(db: &Path, dates: &[&str]) -> String {
    let store = SqliteStore::open(db, StoreOptions::default()).unwrap();
    let coach = |id: &str| CoachId::new(id).unwrap();
    let text = |t: &str| PlanText::new(t).unwrap();
    let ann = Author { user_id: Some(UserId(412_345_678_901_234_567)), display_name: "Ann".into() };
    let imported = Author { user_id: None, display_name: "old_bob".into() };
    let source = PlanSource {
        guild_id: Some(1),
        channel_id: Some(2),
        channel_name: Some("trading-plans".into()),
        message_id: Some(3),
    };
    let png = ChartImage::new("image/png", include_bytes!("../../../plan-server/assets/demo-chart.png").to_vec());
    let attachment_url = "https://cdn.discordapp.com/attachments/2/9/spy.png";
    let charts = || {
        vec![
            NewChart {
                url: format!("{attachment_url}?ex=1&is=2&hm=3"),
                filename: Some("spy.png".into()),
                content_type: Some("image/png".into()),
                kind: ChartKind::Attachment,
            },
            NewChart {
                url: "https://www.tradingview.com/x/AbC123/".into(),
                filename: None,
                content_type: None,
                kind: ChartKind::Link,
            },
        ]
    };
    let mut at = Timestamp::from_second(1_762_700_000).unwrap();
    let mut next = || {
        at = at.checked_add(jiff_seconds(90)).unwrap();
        at
    };
    for date in dates {
        let date = TradingDate::parse(date).unwrap();
        let plan = |c: &str, author: &Author, t: &str, charts: Vec<NewChart>, source: PlanSource| NewPlan {
            coach: coach(c),
            date,
            text: text(t),
            author: author.clone(),
            source,
            charts,
        };
        let d = store.insert(plan("d", &ann, "SPY long above 512.40, stop 510.80", charts(), source.clone()), next());
        let d = d.unwrap().id;
        store
            .change(d, PlanChange::Edit { text: text("SPY long above 512.60"), charts: None }, &ann, next(), None)
            .unwrap();
        let i = store.insert(plan("i", &ann, "QQQ fade the open", Vec::new(), source.clone()), next()).unwrap().id;
        store.change(i, PlanChange::Delete, &ann, next(), None).unwrap();
        store.insert(plan("i", &ann, "QQQ: wait for 10:00", Vec::new(), source.clone()), next()).unwrap();
        store.insert(plan("s", &imported, "NVDA swing, imported", Vec::new(), PlanSource::default()), next()).unwrap();
    }
    store.put_chart_image(attachment_url, &png, next()).unwrap();
    png.digest.to_string()
}

fn jiff_seconds(seconds: i64) -> core_model::jiff::SignedDuration {
    core_model::jiff::SignedDuration::from_secs(seconds)
}
