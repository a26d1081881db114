//! The `api` suite: the release plan-api over the realistic database (SQLite, or PostgreSQL with `--database-url`), loaded on its three plan reads and two
//! searches (a ticker over 30 days, a word over 90 days) at 1, 16 and 64 connections, each run right after the same
//! load on the ceiling (a bare actix-web handler answering the same body), so that the ratio between the two is
//! measured under the same conditions.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::load::{self, LoadReport};
use crate::process::{self, Product};
use crate::seed;

/// How long each load runs.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Connection counts, in order.
    pub connections: Vec<usize>,
    /// Warm-up before each measured window.
    pub warmup: Duration,
    /// Measured window of each run.
    pub duration: Duration,
    /// Rounds of the whole table (the report keeps every round).
    pub rounds: usize,
    /// The routes to load, by name; every route when empty.
    pub routes: Vec<String>,
    /// A PostgreSQL database instead of a SQLite file.
    pub database_url: Option<String>,
    /// Whether plan-api requires a token (`api.auth: required`), every request sending one.
    pub auth: bool,
}

/// A route under test and its body on the ceiling.
struct Route {
    name: &'static str,
    label: String,
    path: String,
}

fn routes() -> Vec<Route> {
    let date = seed::READ_DATE;
    vec![
        Route {
            name: "legacy-plan",
            label: "GET /api/coach-plans/?coach=d&date=…".to_owned(),
            path: format!("/api/coach-plans/?coach=d&date={date}"),
        },
        Route { name: "v1-plan", label: "GET /api/v1/plans/d/…".to_owned(), path: format!("/api/v1/plans/d/{date}") },
        Route {
            name: "legacy-all",
            label: "GET /api/coach-plans/all?date=…".to_owned(),
            path: format!("/api/coach-plans/all?date={date}"),
        },
        Route {
            name: "search-ticker",
            label: "GET /api/v1/plans?ticker=NVDA (30 days)".to_owned(),
            path: format!("/api/v1/plans?ticker=NVDA&from={}&to={date}", seed::days_before_read_date(29)),
        },
        Route {
            name: "search-words",
            label: "GET /api/v1/plans?q=gap (90 days)".to_owned(),
            path: format!("/api/v1/plans?q=gap&from={}&to={date}", seed::days_before_read_date(89)),
        },
    ]
}

/// The names of the routes, for `--routes`.
pub fn route_names() -> Vec<&'static str> {
    routes().iter().map(|r| r.name).collect()
}

/// One line of the report.
struct Row {
    route: String,
    connections: usize,
    product: LoadReport,
    product_cpu: Duration,
    ceiling: LoadReport,
    ceiling_cpu: Duration,
}

/// Runs the suite and prints its report (Markdown) on standard output.
///
/// # Errors
/// When a process cannot be started, a route does not answer 200, or a load run fails.
pub fn run(bin_dir: &Path, options: &ApiOptions) -> Result<()> {
    let plan_api = process::binary(bin_dir, "plan-api")?;
    let bench = process::binary(bin_dir, "bench")?;
    let dir = tempfile::tempdir()?;
    let database = dir.path().join("plans.db");
    println!("## api\n\nmachine: {}", process::machine());
    let (stats, backend, database_env) = match &options.database_url {
        Some(url) => (seed::seed_postgres(url)?, "PostgreSQL on 127.0.0.1".to_owned(), ("DATABASE_URL", url.clone())),
        None => {
            let stats = seed::seed(&database)?;
            let size = std::fs::metadata(&database).map(|m| m.len()).unwrap_or(0);
            let backend = format!("SQLite, {:.1} MiB", size as f64 / 1024.0 / 1024.0);
            (stats, backend, ("DATABASE_PATH", database.display().to_string()))
        }
    };
    println!(
        "database: {} active and {} deleted plans, {} charts, {} history entries, {backend} (weekdays of 2025, 4 coaches)",
        stats.active_plans, stats.deleted_plans, stats.charts, stats.history_entries,
    );

    // The load generator is one client address: a limit it never reaches keeps the rate limiter in the path, as in
    // a deployment, without refusing it.
    let token = if options.auth { Some(seed::read_token(&database, options.database_url.as_deref())?) } else { None };
    let token = token.as_deref();
    let auth = if options.auth { "required" } else { "off" };
    println!("api.auth: {auth}{}", if options.auth { " (a read token on every request)" } else { "" });
    let env = vec![
        database_env,
        ("API_AUTH", auth.to_owned()),
        ("API_HOST", "127.0.0.1".to_owned()),
        ("API_PORT", "0".to_owned()),
        ("API_RATE_PER_SECOND", "1000000000".to_owned()),
        ("API_RATE_BURST", "1000000000".to_owned()),
    ];
    let (api, line) =
        Product::start(&plan_api, &[], &env, dir.path(), "plan-api listening on http://", Duration::from_secs(30))?;
    let api_addr = address_in(&line, "http://")?;

    // Each route's real answer becomes the ceiling's body for it.
    let mut bodies = Vec::new();
    let mut routes = routes();
    if !options.routes.is_empty() {
        routes.retain(|r| options.routes.iter().any(|name| name == r.name));
        if routes.is_empty() {
            bail!("no route named {:?}; the routes are {}", options.routes, route_names().join(", "));
        }
    }
    for route in &routes {
        let (status, body) = load::fetch_with(api_addr, &route.path, token)?;
        if status != 200 {
            bail!("{} answered {status}: {}", route.path, String::from_utf8_lossy(&body));
        }
        let file = dir.path().join(format!("{}.json", route.name));
        std::fs::write(&file, &body)?;
        bodies.push(format!("{}={}", route.name, file.display()));
    }
    let mut args = vec!["ceiling"];
    args.extend(bodies.iter().map(String::as_str));
    let (ceiling, line) =
        Product::start(&bench, &args, &[], dir.path(), "ceiling listening on", Duration::from_secs(30))?;
    let ceiling_addr = address_in(&line, "on ")?;

    println!(
        "load: bench's closed-loop generator (one thread, HTTP/1.1 keep-alive), {} s warm-up + {} s measured per run; \
         each plan-api run follows the same run on the ceiling\nbefore: {}\n",
        options.warmup.as_secs_f64(),
        options.duration.as_secs_f64(),
        process::load()
    );
    let (lines_before, _) = api.output();
    let mut requests_total = 0u64;
    for round in 1..=options.rounds {
        let mut rows = Vec::new();
        for route in &routes {
            for &connections in &options.connections {
                let ceiling_path = format!("/{}", route.name);
                let (ceiling_report, ceiling_cpu) =
                    measure(&ceiling, ceiling_addr, &ceiling_path, None, connections, options)?;
                let (product_report, product_cpu) = measure(&api, api_addr, &route.path, token, connections, options)?;
                for (who, report) in [("ceiling", &ceiling_report), ("plan-api", &product_report)] {
                    if report.bad_status > 0 {
                        bail!(
                            "{who}: {} of {} answers to {} were not 200",
                            report.bad_status,
                            report.requests,
                            route.path
                        );
                    }
                }
                requests_total += product_report.requests;
                rows.push(Row {
                    route: route.label.clone(),
                    connections,
                    product: product_report,
                    product_cpu,
                    ceiling: ceiling_report,
                    ceiling_cpu,
                });
            }
        }
        print_rows(round, &rows);
    }
    let (lines_after, _) = api.output();
    println!(
        "after: {}\nplan-api wrote {} log lines while serving {} measured requests (plus warm-ups): one `request served` line each",
        process::load(),
        lines_after - lines_before,
        requests_total
    );
    drop(ceiling);
    drop(api);
    Ok(())
}

/// One load run against `product`, with the CPU time the process used during it.
fn measure(
    product: &Product,
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    connections: usize,
    options: &ApiOptions,
) -> Result<(LoadReport, Duration)> {
    let request = load::get_request(addr, path, token);
    let cpu_before = product.cpu_time()?;
    let report = load::run(addr, request, connections, options.warmup, options.duration)?;
    let cpu = product.cpu_time()?.saturating_sub(cpu_before);
    Ok((report, cpu))
}

fn print_rows(round: usize, rows: &[Row]) {
    println!("round {round}:\n");
    println!(
        "| route | conns | body B | plan-api req/s | p50 µs | p99 µs | max µs | CPU µs/req | ceiling req/s | p50 µs | p99 µs | max µs | CPU µs/req | ratio |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        // The CPU time covers the warm-up too: spread it over every answer of the run.
        let per_request =
            |cpu: Duration, report: &LoadReport| cpu.as_secs_f64() * 1e6 / report.all_requests.max(1) as f64;
        println!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {:.0} | {:.0} | {} | {} | {} | {:.0} | {:.2} |",
            row.route,
            row.connections,
            row.product.body_bytes,
            row.product.rate(),
            row.product.quantile_us(0.5),
            row.product.quantile_us(0.99),
            row.product.max_us(),
            per_request(row.product_cpu, &row.product),
            row.ceiling.rate(),
            row.ceiling.quantile_us(0.5),
            row.ceiling.quantile_us(0.99),
            row.ceiling.max_us(),
            per_request(row.ceiling_cpu, &row.ceiling),
            row.product.rate() / row.ceiling.rate().max(1.0),
        );
    }
    println!();
}

/// The `127.0.0.1:PORT` after `prefix` in a start-up line.
fn address_in(line: &str, prefix: &str) -> Result<SocketAddr> {
    let start = line.find(prefix).map(|i| i + prefix.len()).with_context(|| format!("no address in `{line}`"))?;
    let address: String = line[start..].chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
    address.parse().with_context(|| format!("no address in `{line}`"))
}
