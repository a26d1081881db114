//! A standalone local Discord: the emulator on fixed ports with the sample desk (guild `Coach Plans`, channel
//! `#daily-plans`, users ann, bob and mod), and a console on standard input to post as those users. The bot's
//! replies are printed as they arrive.
//!
//! `cargo run -p discord-emulator --example serve -- [--rest-port 9000] [--gateway-port 9001] [--token TOKEN]`
//!
//! Then, in another terminal, point the bot at it with the printed environment variables. Ctrl-C stops it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use discord_emulator::{Console, Emulator, EmulatorConfig, EmulatorError};

const USAGE: &str = "usage: serve [--rest-port PORT] [--gateway-port PORT] [--token TOKEN]";

struct Args {
    rest_port: u16,
    gateway_port: u16,
    token: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { rest_port: 9000, gateway_port: 9001, token: EmulatorConfig::DEFAULT_TOKEN.to_owned() };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let mut value = || words.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--rest-port" => {
                args.rest_port = value()?.parse().map_err(|_| format!("--rest-port: not a port\n{USAGE}"))?
            }
            "--gateway-port" => {
                args.gateway_port = value()?.parse().map_err(|_| format!("--gateway-port: not a port\n{USAGE}"))?;
            }
            "--token" => args.token = value()?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let config = EmulatorConfig::default()
        .with_sample_users()
        .with_token(args.token)
        .with_ports(args.gateway_port, args.rest_port);
    let emulator = match Emulator::start(config).await {
        Ok(emulator) => Arc::new(emulator),
        Err(error) => {
            let cause = std::error::Error::source(&error).map(|c| format!(": {c}")).unwrap_or_default();
            eprintln!("error: {error}{cause}");
            return ExitCode::FAILURE;
        }
    };
    let console = Console::new(Arc::clone(&emulator));
    println!("Local Discord emulator");
    println!("  DISCORD_API_BASE_URL={}", emulator.http_base_url());
    println!("  DISCORD_GATEWAY_URL={}", emulator.gateway_url());
    println!("  DISCORD_BOT_TOKEN={}", emulator.token());
    println!("{}", console.summary());
    println!(
        "Start the bot in another terminal:\n  DISCORD_API_BASE_URL={} DISCORD_GATEWAY_URL={} DISCORD_BOT_TOKEN={} \
         cargo run -p plan-bot",
        emulator.http_base_url(),
        emulator.gateway_url(),
        emulator.token()
    );
    println!("Then type e.g. `as ann !plan d Long NVDA above 950` (`help` lists the commands; Ctrl-C stops).");

    tokio::spawn(report_connections(Arc::clone(&emulator)));
    tokio::select! {
        () = async {
            console.run_on_stdio().await;
            println!("standard input closed; serving until Ctrl-C");
            std::future::pending::<()>().await;
        } => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

/// Prints when a bot connects (READY) or the last connection closes.
async fn report_connections(emulator: Arc<Emulator>) {
    let mut last = emulator.gateway_stats();
    loop {
        let seen = (last.ready_sent, last.resumes, last.open_connections);
        let changed = emulator
            .wait_for_gateway(Duration::from_secs(3600), "a gateway change", |s| {
                (s.ready_sent, s.resumes, s.open_connections) != seen
            })
            .await;
        let stats = match changed {
            Ok(stats) => stats,
            Err(EmulatorError::Timeout { .. }) => continue,
            Err(_) => return,
        };
        if stats.ready_sent > last.ready_sent {
            println!("(a bot connected)");
        } else if stats.resumes > last.resumes {
            println!("(the bot resumed its session)");
        } else if stats.open_connections == 0 && last.open_connections > 0 {
            println!("(the bot disconnected)");
        }
        last = stats;
    }
}
