//! An example trading agent: reads today's plan of every coach from a local plan-api through plan-client and
//! prints them, then prints the client's metrics.
//!
//! ```console
//! $ cargo run -p plan-api                       # in one terminal: the API on http://127.0.0.1:8080
//! $ cargo run -p example-agent                  # in another
//! $ cargo run -p example-agent -- http://127.0.0.1:9090
//! ```

use std::process::ExitCode;

use plan_client::{Freshness, Plan, PlanClient};

#[tokio::main]
async fn main() -> ExitCode {
    let base_url = std::env::args().nth(1).unwrap_or_else(|| plan_client::DEFAULT_BASE_URL.to_owned());
    match run(&base_url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(base_url: &str) -> Result<(), plan_client::Error> {
    // The server's roster and "today" (computed in its market time zone), so that the agent asks for the coaches
    // the deployment has, whatever they are.
    let probe = PlanClient::new(base_url)?;
    let server = probe.coaches().await?;
    let client = PlanClient::builder().base_url(base_url).roster(server.roster.clone()).build()?;
    let today = server.today.to_string();
    println!("Plans for {today} ({}), from {}", server.market_timezone, client.base_url());

    // One request for the whole date fills the cache for every coach...
    let plans = client.fetch_all_coach_plans(&today).await?;
    println!("{} of {} coaches posted a plan.\n", plans.len(), server.roster.coaches().len());

    // ...so reading each coach's plan afterwards is served from the cache, "no plan" included.
    for coach in server.roster.coaches() {
        match client.fetch_coach_plan(coach.id.as_str(), &today).await? {
            Some(plan) => print_plan(&plan),
            None => println!("== {} ({}): no plan\n", coach.name, coach.id),
        }
    }

    let metrics = client.metrics();
    println!(
        "client metrics: {} reads, {} cache hits, {} misses ({}% hit rate), {} API requests, {} retries",
        metrics.requests.total,
        metrics.requests.cache_hits,
        metrics.requests.cache_misses,
        metrics.requests.cache_hit_rate_percent,
        metrics.api.success + metrics.api.errors,
        metrics.api.retries,
    );
    Ok(())
}

fn print_plan(plan: &Plan) {
    let edited = if plan.is_edited() { format!(", edited, version {}", plan.version) } else { String::new() };
    println!("== {} ({}) by {}{edited}", plan.coach_name, plan.coach, plan.author.display_name);
    if let Freshness::Stale { age, reason } = &plan.freshness {
        println!("   (stale copy, {}s old: {reason})", age.as_secs());
    }
    for line in plan.text.lines() {
        println!("   {line}");
    }
    for url in plan.chart_urls() {
        println!("   chart: {url}");
    }
    println!();
}
