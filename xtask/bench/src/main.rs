//! `bench`: the harness behind `cargo xtask bench <suite>`, which builds it and the product in release and runs it.
//! Each suite prints a Markdown report (method, machine, figures) on standard output. Loopback only; every run is
//! bounded in time. Never used by the product or its tests.

mod api;
mod ceiling;
mod footprint;
mod ingest;
mod load;
mod process;
mod seed;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Benchmarks of coach-plans (run them through `cargo xtask bench <suite>`).
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// plan-api's plan reads against the ceiling, at several connection counts.
    Api {
        /// Directory of the release binaries (plan-api, bench).
        #[arg(long)]
        bin_dir: PathBuf,
        /// Connection counts.
        #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64])]
        connections: Vec<usize>,
        /// Warm-up of each run, in seconds.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Measured window of each run, in seconds.
        #[arg(long, default_value_t = 4.0)]
        duration: f64,
        /// Rounds of the whole table.
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        /// Only these routes (legacy-plan, v1-plan, legacy-all, search-ticker, search-words); every route by default.
        #[arg(long, value_delimiter = ',')]
        routes: Vec<String>,
        /// A PostgreSQL database to seed and serve from instead of a SQLite file (everything it holds is replaced).
        #[arg(long, env = "BENCH_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Require API tokens (`api.auth: required`), every request sending a read token.
        #[arg(long)]
        auth: bool,
    },
    /// Plan messages through the local Discord emulator into plan-bot.
    Ingest {
        /// Directory of the release binaries (plan-bot).
        #[arg(long)]
        bin_dir: PathBuf,
        /// Channel counts.
        #[arg(long, value_delimiter = ',', default_values_t = [1, 8])]
        channels: Vec<usize>,
        /// Messages of a burst.
        #[arg(long, default_value_t = 4000)]
        burst: usize,
        /// Messages per second of the paced load.
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// Seconds the paced load posts.
        #[arg(long, default_value_t = 3.0)]
        paced_for: f64,
        /// A PostgreSQL database for plan-bot instead of a SQLite file (everything it holds is replaced).
        #[arg(long, env = "BENCH_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// plan-server's memory and start-up time.
    Footprint {
        /// Directory of the release binaries (plan-server).
        #[arg(long)]
        bin_dir: PathBuf,
        /// Starts timed per database.
        #[arg(long, default_value_t = 5)]
        starts: usize,
        /// Seconds of load.
        #[arg(long, default_value_t = 4.0)]
        load_for: f64,
    },
    /// The ceiling server (started by `api`): `NAME=FILE` bodies served at `/NAME`.
    Ceiling {
        /// `NAME=FILE` pairs.
        bodies: Vec<String>,
        /// Worker threads (default: one per core, as plan-api).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Writes the `api` suite's database (a year of plans) to a new file, for looking at it or profiling.
    Seed {
        /// The database file to create.
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Api { bin_dir, connections, warmup, duration, rounds, routes, database_url, auth } => api::run(
            &bin_dir,
            &api::ApiOptions {
                connections,
                warmup: Duration::from_secs_f64(warmup),
                duration: Duration::from_secs_f64(duration),
                rounds: rounds.max(1),
                routes,
                database_url,
                auth,
            },
        ),
        Command::Ingest { bin_dir, channels, burst, rate, paced_for, database_url } => ingest::run(
            &bin_dir,
            &ingest::IngestOptions {
                channels: channels.into_iter().map(|c| c.max(1)).collect(),
                burst: burst.max(1),
                rate: rate.max(1),
                paced_for: Duration::from_secs_f64(paced_for),
                database_url,
            },
        ),
        Command::Footprint { bin_dir, starts, load_for } => footprint::run(
            &bin_dir,
            &footprint::FootprintOptions {
                starts: starts.max(1),
                load_for: Duration::from_secs_f64(load_for),
                settle: Duration::from_secs(2),
            },
        ),
        Command::Ceiling { bodies, workers } => {
            let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
            bodies
                .iter()
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(name, file)| (name.to_owned(), PathBuf::from(file)))
                        .ok_or_else(|| anyhow::anyhow!("`{pair}` is not NAME=FILE"))
                })
                .collect::<anyhow::Result<Vec<_>>>()
                .and_then(|bodies| ceiling::serve(bodies, workers))
        }
        Command::Seed { path } => seed::seed(&path).map(|stats| println!("{stats:?}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
