//! A quick measurement of end-to-end ingestion: plan messages posted to the local Discord emulator, through the
//! real bot (gateway, handler, SQLite, REST reply), until every reply is sent.
//!
//! `cargo run --release -p discord-adapter --example ingest_rate -- [MESSAGES] [CHANNELS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use discord_adapter::bot::{self, BotConfig, BotToken};
use discord_adapter::handler::{CommandHandler, Listening};
use discord_emulator::{ChannelId, Emulator, EmulatorConfig, GuildSpec, UserId, UserSpec};
use service::{PlanService, Policy};
use storage::{SqliteStore, StoreOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let messages: usize = args.next().map_or(Ok(2000), |a| a.parse())?;
    let channels: u64 = args.next().map_or(Ok(1), |a| a.parse())?;
    let _ = rustls::crypto::ring::default_provider().install_default();

    let coach = UserId(1001);
    let mut guild = GuildSpec::new(100, "desk");
    for c in 0..channels {
        guild = guild.with_channel(200 + c, format!("plans-{c}"));
    }
    let config = EmulatorConfig::default().with_only_guild(guild).with_user(UserSpec::new(coach, "coach"));
    let emulator = Arc::new(Emulator::start(config).await?);
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path().join("plans.db"), StoreOptions::default())?);
    let service = PlanService::new(store.clone(), store, Arc::new(core_model::SystemClock), Policy::default());
    let handler = CommandHandler::new(service, "!", Listening::default());
    let bot_config = BotConfig {
        api_base_url: Some(emulator.http_base_url()),
        gateway_url: Some(emulator.gateway_url()),
        identify_queue: false,
        ..BotConfig::new(BotToken::new(emulator.token()))
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = tokio::spawn(bot::run(bot_config, handler, async {
        let _ = stopped.await;
    }));
    emulator.wait_for_ready(Duration::from_secs(10)).await?;

    let start = Instant::now();
    for i in 0..messages {
        let channel = ChannelId(200 + (i as u64 % channels));
        let coach_id = ["d", "i", "s", "n"][i % 4];
        let day = i / 4;
        let date = core_model::jiff::civil::date(2000, 1, 1) + core_model::jiff::Span::new().days(day as i64);
        emulator.post_message(channel, coach, format!("!plan {coach_id} {date} Long above {i}"), vec![])?;
    }
    let posted = start.elapsed();
    for c in 0..channels {
        let per_channel = messages / channels as usize + usize::from((c as usize) < messages % channels as usize);
        emulator.wait_for_sent_messages(ChannelId(200 + c), per_channel, Duration::from_secs(300)).await?;
    }
    let elapsed = start.elapsed();
    println!(
        "{messages} plan messages over {channels} channel(s): posted in {:.2} s, all stored and answered in {:.2} s: {:.0} plans/s",
        posted.as_secs_f64(),
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64()
    );
    let _ = stop.send(());
    let _ = bot.await;
    Ok(())
}
