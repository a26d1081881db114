//! The `footprint` suite: plan-server in mock mode (bot and API in one process, an embedded local Discord, no
//! token): time from start to `/health` answering 200, resident memory idle, under load and after it.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::load;
use crate::process::{self, Memory, Product};
use crate::seed;

/// What to run.
#[derive(Debug, Clone)]
pub struct FootprintOptions {
    /// Starts timed for each database.
    pub starts: usize,
    /// How long the load runs.
    pub load_for: Duration,
    /// How long to wait before reading idle memory.
    pub settle: Duration,
}

/// Runs the suite and prints its report (Markdown) on standard output.
///
/// # Errors
/// When plan-server cannot be started or does not become healthy.
pub fn run(bin_dir: &Path, options: &FootprintOptions) -> Result<()> {
    let plan_server = process::binary(bin_dir, "plan-server")?;
    println!("## footprint\n\nmachine: {}\nbefore: {}", process::machine(), process::load());
    match code_layout(&plan_server) {
        Some((found, listed)) => println!(
            "code layout: {found} of the {listed} functions of bins/symbol-order.txt are in this plan-server (the \
             others are plan-bot's and plan-api's, or newer than the list: `cargo xtask symbol-order` writes it again)\n"
        ),
        None => println!("code layout: not read (`nm` missing or bins/symbol-order.txt unreadable)\n"),
    }
    let dir = tempfile::tempdir()?;
    let year = dir.path().join("year.db");
    seed::seed(&year)?;

    println!("| database | start to /health 200, ms (each start) | median ms |");
    println!("| --- | --- | ---: |");
    let mut idle = Vec::new();
    for (label, fresh) in [("new (created and migrated at start)", true), ("a year of plans", false)] {
        let mut times = Vec::new();
        for i in 0..options.starts {
            let database = if fresh { dir.path().join(format!("fresh-{i}.db")) } else { year.clone() };
            let (mut server, _, healthy) = start(&plan_server, dir.path(), &database)?;
            times.push(healthy.as_secs_f64() * 1000.0);
            if !fresh {
                std::thread::sleep(options.settle);
                idle.push(server.memory()?);
            }
            server.stop();
        }
        let each: Vec<String> = times.iter().map(|t| format!("{t:.0}")).collect();
        println!("| {label} | {} | {:.0} |", each.join(", "), median(times, |t| t));
    }

    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "\n| plan-server idle, {} s after healthy (mock mode, a year of plans) | each start | median MiB |",
        options.settle.as_secs()
    );
    println!("| --- | --- | ---: |");
    type Part = fn(&Memory) -> u64;
    let parts: [(&str, Part); 3] = [
        ("RSS", |m| m.rss),
        ("of it the process's own memory (`RssAnon`)", |m| m.anon),
        ("of it pages of files: code, data, libraries (`RssFile`)", |m| m.file),
    ];
    for (label, part) in parts {
        let each: Vec<String> = idle.iter().map(|m| format!("{:.1}", mib(part(m)))).collect();
        println!("| {label} | {} | {:.1} |", each.join(", "), median(idle.iter().map(part).collect(), mib));
    }

    let (server, addr, _) = start(&plan_server, dir.path(), &year)?;
    std::thread::sleep(options.settle);
    let before = server.memory()?;
    let date = seed::READ_DATE;
    let mut loaded = Vec::new();
    for path in [format!("/api/coach-plans/all?date={date}"), format!("/api/v1/plans/d/{date}")] {
        let report = load::run(addr, load::get_request(addr, &path, None), 64, Duration::ZERO, options.load_for)?;
        if report.bad_status > 0 {
            bail!("{} of {} answers to {path} were not 200", report.bad_status, report.requests);
        }
        loaded.push((path, report.rate(), server.memory()?.rss));
    }
    std::thread::sleep(options.settle);
    let after = server.memory()?;
    println!("\n| plan-server (mock mode, a year of plans), one more start | RSS MiB |");
    println!("| --- | ---: |");
    println!("| idle, {} s after healthy | {:.1} |", options.settle.as_secs(), mib(before.rss));
    for (path, rate, rss) in &loaded {
        println!(
            "| at the end of {} s of 64 connections on `{path}` ({rate:.0} req/s) | {:.1} |",
            options.load_for.as_secs(),
            mib(*rss)
        );
    }
    println!("| idle again, {} s after the load | {:.1} |", options.settle.as_secs(), mib(after.rss));
    println!("| peak (VmHWM) | {:.1} |", mib(after.peak));
    println!("\nafter: {}", process::load());
    Ok(())
}

/// Starts plan-server in mock mode on a free port over `database`; returns it, its address and the time from
/// spawning it to its first `/health` answer 200.
fn start(plan_server: &Path, dir: &Path, database: &Path) -> Result<(Product, SocketAddr, Duration)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let env = vec![
        ("MOCK_MODE", "true".to_owned()),
        ("DATABASE_PATH", database.display().to_string()),
        ("API_HOST", "127.0.0.1".to_owned()),
        ("API_PORT", port.to_string()),
        // The load phase is one client on loopback: the per-address rate limit would refuse most of it (the limiter
        // stays in the path, as in the api suite).
        ("API_RATE_PER_SECOND", "1000000000".to_owned()),
        ("API_RATE_BURST", "1000000000".to_owned()),
    ];
    let (server, _) = Product::start(plan_server, &[], &env, dir, "plan-server: HTTP API on", Duration::from_secs(30))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _)) = load::fetch(addr, "/health") {
            let healthy = server.spawned_at.elapsed();
            return Ok((server, addr, healthy));
        }
        if Instant::now() > deadline {
            bail!("plan-server did not answer /health with 200 within 30 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How many of the functions listed in `bins/symbol-order.txt` (which the linker places together) `binary` defines,
/// and how many are listed: a list older than the code names functions the build no longer has.
fn code_layout(binary: &Path) -> Option<(usize, usize)> {
    let list = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bins/symbol-order.txt")).ok()?;
    let output = Command::new("nm").arg("--defined-only").arg(binary).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let symbols = String::from_utf8_lossy(&output.stdout);
    let defined: HashSet<&str> = symbols.lines().filter_map(|line| line.split_whitespace().nth(2)).collect();
    let listed: Vec<&str> = list.lines().filter(|line| !line.is_empty() && !line.starts_with('#')).collect();
    Some((listed.iter().filter(|name| defined.contains(**name)).count(), listed.len()))
}

/// The middle of `values` (the upper one of the two middles for an even count), as `f64` through `to`.
fn median<T: Copy>(mut values: Vec<T>, to: impl Fn(T) -> f64) -> f64 {
    values.sort_by(|a, b| to(*a).total_cmp(&to(*b)));
    values.get(values.len() / 2).map_or(f64::NAN, |v| to(*v))
}
