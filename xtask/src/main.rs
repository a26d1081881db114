//! Project automation: `cargo xtask ci` runs every check CI runs; `cargo xtask tidy` checks the architecture rules;
//! `cargo xtask bench <suite>` builds what a benchmark suite needs in release and runs it;
//! `cargo xtask leaks` checks a captured test log for secrets; `cargo xtask fuzz` runs the fuzz targets;
//! `cargo xtask python` installs the Python tools the tests run; `cargo xtask postgres` runs a command beside a
//! private PostgreSQL server; `cargo xtask symbol-order` writes the release executables' code layout.

mod fuzz;
mod leaks;
mod postgres;
mod python;
mod symbol_order;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci     format check, clippy (warnings are errors), tidy, the Python test tools (as `python`), then the whole
         test suite against a private PostgreSQL server (as `postgres`) with every log line captured to
         target/test-logs/suite.log, which must hold none of the test secrets
  python create or update target/python-venv with the pinned Python tools the tests run against the product
         (xtask/python/requirements.txt: schemathesis)
  postgres [COMMAND...]
         start a private PostgreSQL server (a new cluster in a temporary directory, on 127.0.0.1), run COMMAND
         with its URL in COACH_PLANS_TEST_POSTGRES_URL (e.g. `cargo xtask postgres cargo test -p storage-postgres`),
         then stop and remove it; without COMMAND, print the URL and wait for standard input to close
  tidy   crate-graph directions and module docs
  bench  <api|ingest|client|footprint|all> [ARGS...]: build in release and run a benchmark suite (loopback only,
         bounded in time); ARGS go to the suite (`cargo xtask bench api --help` lists them); `--postgres` runs
         `api` or `ingest` against a private, durable PostgreSQL server instead of SQLite
  symbol-order
         run the release executables under valgrind's callgrind through scaled-down bench suites and write
         bins/symbol-order.txt, the functions they run, which the linker places together (needs valgrind)
  leaks [FILE]
         look for the test secrets in a captured test log (default target/test-logs/suite.log, which `ci` writes)
  fuzz [--seconds N] [TARGET...]
         run the cargo-fuzz targets (command_parser, chart_links, split_message) N seconds each (default 60);
         needs `cargo install --locked cargo-fuzz`
";

/// The benchmark suites, in the order `all` runs them.
const SUITES: &[&str] = &["api", "ingest", "client", "footprint"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("tidy") => tidy::check(&workspace_root()).map(|()| println!("tidy: ok")),
        Some("bench") => bench(&args[1..]),
        Some("leaks") => {
            let log = args.get(1).map_or_else(suite_log, PathBuf::from);
            leaks::check(&workspace_root(), &log).map(|summary| println!("{summary}"))
        }
        Some("python") => python::ensure(&workspace_root()).map(|_| ()),
        Some("postgres") => postgres::with_server(&workspace_root(), &args[1..]),
        Some("symbol-order") => symbol_order::generate(&workspace_root(), &target_dir()),
        Some("fuzz") => fuzz::parse_args(&args[1..]).and_then(|fuzz_args| fuzz::run(&workspace_root(), &fuzz_args)),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(anyhow::anyhow!("no command given\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_owned)
}

/// Where `ci` captures every log line of the test run.
fn suite_log() -> PathBuf {
    workspace_root().join("target").join("test-logs").join("suite.log")
}

fn cargo(args: &[&str]) -> Result<()> {
    cargo_with_env(args, &[], &[])
}

/// Runs cargo with `env` (shown) and `hidden_env` (values not shown: they hold passwords).
fn cargo_with_env(args: &[&str], env: &[(&str, &Path)], hidden_env: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={} ", v.display())).collect();
    let hidden: Vec<String> = hidden_env.iter().map(|(k, _)| format!("{k}=*** ")).collect();
    println!("$ {}{}cargo {}", shown.concat(), hidden.concat(), args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .envs(hidden_env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// `cargo xtask bench <suite> [ARGS...]`.
fn bench(args: &[String]) -> Result<()> {
    let (suite, rest) = match args.split_first() {
        Some((suite, rest)) => (suite.as_str(), rest),
        None => bail!("which suite? one of {}, or all\n\n{USAGE}", SUITES.join(", ")),
    };
    match suite {
        "all" => {
            if !rest.is_empty() {
                bail!("`bench all` takes no arguments; give them to one suite");
            }
            SUITES.iter().try_for_each(|suite| bench_suite(suite, &[]))
        }
        suite if SUITES.contains(&suite) => bench_suite(suite, rest),
        other => bail!("unknown suite `{other}`: one of {}, or all", SUITES.join(", ")),
    }
}

fn bench_suite(suite: &str, args: &[String]) -> Result<()> {
    if suite == "client" {
        // Criterion's own harness; ARGS are criterion's (e.g. `--measurement-time 10`).
        let mut cargo_args = vec!["bench", "-p", "plan-client", "--bench", "cache", "--"];
        if args.is_empty() {
            cargo_args.extend(["--warm-up-time", "1", "--measurement-time", "5"]);
        }
        cargo_args.extend(args.iter().map(String::as_str));
        return cargo(&cargo_args);
    }
    let bin_dir = build_bench_binaries()?;
    // `--postgres`: the suite runs against a private, durable PostgreSQL server, stopped when it ends.
    let postgres = args.iter().any(|a| a == "--postgres");
    let args: Vec<&String> = args.iter().filter(|a| *a != "--postgres").collect();
    let server = if postgres {
        let server = postgres::Server::start_durable(&postgres::password(&workspace_root())?)?;
        println!("postgres: a private server (fsync on, as in production) at {}", server.shown_url());
        Some(server)
    } else {
        None
    };
    let mut command = Command::new(bin_dir.join("bench"));
    command.arg(suite).arg("--bin-dir").arg(&bin_dir).args(&args).current_dir(workspace_root());
    println!("$ {command:?}");
    if let Some(server) = &server {
        command.env("BENCH_DATABASE_URL", server.url());
    }
    let status = command.status().with_context(|| format!("running the {suite} suite"))?;
    if !status.success() {
        bail!("the {suite} suite failed ({status})");
    }
    Ok(())
}

/// Builds the release binaries the bench suites run (plan-api, plan-bot, plan-server and bench) and returns their
/// directory.
fn build_bench_binaries() -> Result<PathBuf> {
    // Always the same set of packages, whatever the suite: cargo unifies features over the packages of one build, so
    // building only the suite's binary would rebuild the shared crates each time another suite runs.
    cargo(&["build", "--release", "--locked", "-p", "plan-api", "-p", "plan-bot", "-p", "plan-server", "-p", "bench"])?;
    Ok(target_dir().join("release"))
}

/// The target directory cargo builds into: `CARGO_TARGET_DIR` when set, else `target/` of the workspace.
fn target_dir() -> PathBuf {
    // A relative CARGO_TARGET_DIR is relative to where cargo was run, as cargo reads it.
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| workspace_root().join("target"), |dir| std::path::absolute(&dir).unwrap_or(dir))
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--all-features", "--locked", "--", "-D", "warnings"])?;
    tidy::check(&workspace_root())?;
    println!("tidy: ok");
    python::ensure(&workspace_root())?;
    // Every log line of the test run goes to one file, checked for the test secrets afterwards.
    let log = suite_log();
    if let Some(logs) = log.parent() {
        std::fs::create_dir_all(logs).with_context(|| format!("creating {}", logs.display()))?;
    }
    if log.exists() {
        std::fs::remove_file(&log).with_context(|| format!("removing the previous {}", log.display()))?;
    }
    // The PostgreSQL tests run against a private server, stopped when this returns, whatever the outcome.
    let server = postgres::Server::start(&postgres::password(&workspace_root())?)?;
    println!("postgres: a private server at {}", server.shown_url());
    let ca = server.ca_file();
    cargo_with_env(
        &["test", "--workspace", "--all-features", "--locked"],
        &[("TEST_LOG_FILE", &log), (postgres::CA_VARIABLE, &ca)],
        &[(postgres::URL_VARIABLE, server.url())],
    )?;
    drop(server);
    println!("{}", leaks::check(&workspace_root(), &log)?);
    Ok(())
}
