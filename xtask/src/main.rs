//! Project automation: `cargo xtask ci` runs every check CI runs; `cargo xtask tidy` checks the architecture rules;
//! `cargo xtask leaks` checks a captured test log for secrets; `cargo xtask fuzz` runs the fuzz targets.

mod fuzz;
mod leaks;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci     format check, clippy (warnings are errors), tidy, then the whole test suite with every log line
         captured to target/test-logs/suite.log, which must hold none of the test secrets
  tidy   crate-graph directions and module docs
  leaks [FILE]
         look for the test secrets in a captured test log (default target/test-logs/suite.log, which `ci` writes)
  fuzz [--seconds N] [TARGET...]
         run the cargo-fuzz targets (command_parser, chart_links, split_message) N seconds each (default 60);
         needs `cargo install --locked cargo-fuzz`
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("tidy") => tidy::check(&workspace_root()).map(|()| println!("tidy: ok")),
        Some("leaks") => {
            let log = args.get(1).map_or_else(suite_log, PathBuf::from);
            leaks::check(&workspace_root(), &log).map(|summary| println!("{summary}"))
        }
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
    cargo_with_env(args, &[])
}

fn cargo_with_env(args: &[&str], env: &[(&str, &Path)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={} ", v.display())).collect();
    println!("$ {}cargo {}", shown.concat(), args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--all-features", "--locked", "--", "-D", "warnings"])?;
    tidy::check(&workspace_root())?;
    println!("tidy: ok");
    // Every log line of the test run goes to one file, checked for the test secrets afterwards.
    let log = suite_log();
    if let Some(logs) = log.parent() {
        std::fs::create_dir_all(logs).with_context(|| format!("creating {}", logs.display()))?;
    }
    if log.exists() {
        std::fs::remove_file(&log).with_context(|| format!("removing the previous {}", log.display()))?;
    }
    cargo_with_env(&["test", "--workspace", "--all-features", "--locked"], &[("TEST_LOG_FILE", &log)])?;
    println!("{}", leaks::check(&workspace_root(), &log)?);
    Ok(())
}
