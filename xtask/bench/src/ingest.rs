//! The `ingest` suite: `!plan` messages posted by a scripted coach in the local Discord emulator (this process),
//! read by the release plan-bot (another process) through the gateway, stored in SQLite (or PostgreSQL, with
//! `--database-url`) and answered through REST.
//!
//! Each message is a new plan (coach and date never repeat), so every one costs a full post: the command parsed,
//! the existing plan looked up, the insert with its chart and history entry, the channel's cursor recorded and the
//! reply sent. Two loads, each with one channel and with several:
//! - *burst*: every message posted at once; plans/s is messages divided by the time from the first post to the
//!   last reply (the most the bot can do; latencies then measure the queue);
//! - *paced*: messages posted at a steady rate (open loop: the next post does not wait for replies); latency is
//!   from the post (the emulator sends MESSAGE_CREATE at once) to the emulator receiving the reply's REST call.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, bail};
use core_model::jiff::civil::date;
use discord_emulator::{ChannelId, Emulator, EmulatorConfig, GuildSpec, MessageId, UserId, UserSpec};

use crate::load::quantile;
use crate::process::{self, Product};

/// What to run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Channel counts, in order (each with both loads).
    pub channels: Vec<usize>,
    /// Messages of a burst.
    pub burst: usize,
    /// Rate of the paced load, messages per second.
    pub rate: u32,
    /// How long the paced load posts.
    pub paced_for: Duration,
    /// A PostgreSQL database instead of a SQLite file.
    pub database_url: Option<String>,
}

const GUILD: u64 = 100;
const FIRST_CHANNEL: u64 = 200;
const COACH: UserId = UserId(1001);

/// One load's figures.
struct Outcome {
    load: String,
    channels: usize,
    messages: usize,
    plans_per_second: f64,
    latencies_us: Vec<u32>,
    bot_cpu: Duration,
    driver_cpu: Duration,
}

/// Runs the suite and prints its report (Markdown) on standard output.
///
/// # Errors
/// When plan-bot cannot be started or connected, or its replies do not all come within the time allowed.
pub fn run(bin_dir: &Path, options: &IngestOptions) -> Result<()> {
    let plan_bot = process::binary(bin_dir, "plan-bot")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run_async(&plan_bot, options))
}

async fn run_async(plan_bot: &Path, options: &IngestOptions) -> Result<()> {
    println!("## ingest\n\nmachine: {}", process::machine());
    let most = options.channels.iter().copied().max().unwrap_or(1) as u64;
    let mut guild = GuildSpec::new(GUILD, "desk");
    for c in 0..most {
        guild = guild.with_channel(FIRST_CHANNEL + c, format!("plans-{c}"));
    }
    let config = EmulatorConfig::default().with_only_guild(guild).with_user(UserSpec::new(COACH, "coach"));
    let emulator = Arc::new(Emulator::start(config).await?);
    let dir = tempfile::tempdir()?;
    let (database, backend) = match &options.database_url {
        Some(url) => {
            let url = url.clone();
            tokio::task::spawn_blocking(move || empty_postgres(&url)).await??;
            (("DATABASE_URL", options.database_url.clone().unwrap_or_default()), "PostgreSQL on 127.0.0.1")
        }
        None => (("DATABASE_PATH", dir.path().join("plans.db").display().to_string()), "SQLite"),
    };
    let env = vec![
        ("DISCORD_BOT_TOKEN", emulator.token().to_owned()),
        ("DISCORD_API_BASE_URL", emulator.http_base_url()),
        ("DISCORD_GATEWAY_URL", emulator.gateway_url()),
        database,
    ];
    let bot = tokio::task::block_in_place(|| {
        Product::start(plan_bot, &[], &env, dir.path(), "plan-bot starting", Duration::from_secs(30))
    })?
    .0;
    emulator.wait_for_ready(Duration::from_secs(30)).await.context("plan-bot did not connect to the emulator")?;
    let mut next = 0usize;
    // Warm-up: the bot's channel workers, connections and statement caches.
    burst(&emulator, &mut next, most as usize, 200, "warm-up").await?;
    emulator.clear_rest_records();
    println!(
        "plan-bot: release build, default settings (logs at info to a pipe drained to a file), fresh {backend} database\nbefore: {}\n",
        process::load()
    );
    let mut outcomes = Vec::new();
    for &channels in &options.channels {
        for paced in [false, true] {
            let bot_cpu = bot.cpu_time()?;
            let driver_cpu = process::cpu_time(std::process::id())?;
            let (load, messages, posted) = if paced {
                let count = (f64::from(options.rate) * options.paced_for.as_secs_f64()).round() as usize;
                (
                    format!("paced {} /s", options.rate),
                    count,
                    paced_posts(&emulator, &mut next, channels, count, options.rate).await?,
                )
            } else {
                (
                    format!("burst of {}", options.burst),
                    options.burst,
                    burst_posts(&emulator, &mut next, channels, options.burst)?,
                )
            };
            wait_for_replies(&emulator, messages).await?;
            let bot_cpu = bot.cpu_time()?.saturating_sub(bot_cpu);
            let driver_cpu = process::cpu_time(std::process::id())?.saturating_sub(driver_cpu);
            let (plans_per_second, latencies_us) = tally(&emulator, &posted)?;
            emulator.clear_rest_records();
            outcomes.push(Outcome { load, channels, messages, plans_per_second, latencies_us, bot_cpu, driver_cpu });
        }
    }
    println!(
        "| load | channels | plans | plans/s | p50 ms | p99 ms | max ms | plan-bot CPU µs/plan | emulator + driver CPU µs/plan |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for o in &outcomes {
        let ms = |us: u32| f64::from(us) / 1000.0;
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
            o.load,
            o.channels,
            o.messages,
            o.plans_per_second,
            ms(quantile(&o.latencies_us, 0.5)),
            ms(quantile(&o.latencies_us, 0.99)),
            ms(o.latencies_us.last().copied().unwrap_or(0)),
            o.bot_cpu.as_secs_f64() * 1e6 / o.messages as f64,
            o.driver_cpu.as_secs_f64() * 1e6 / o.messages as f64,
        );
    }
    let (lines, _) = bot.output();
    println!("\nafter: {}\nplan-bot wrote {lines} log lines in all", process::load());
    drop(bot);
    emulator.shutdown().await;
    Ok(())
}

/// The `n`-th message of the run: a new coach and date every time (from 2000-01-01 on: past days, which the bot
/// takes), with a chart link, as coaches write them.
fn message(n: usize) -> String {
    let coach = ["d", "i", "s", "n"][n % 4];
    let day = date(2000, 1, 1) + core_model::jiff::Span::new().days((n / 4) as i64);
    format!(
        "!plan {coach} {day} SPY long above 600.10, first target 603.40, stop 598.70; QQQ fade into 520 if breadth \
         stays weak. No trades before the CPI print. https://www.tradingview.com/x/{n:08X}/"
    )
}

/// Posts `count` messages round-robin over `channels` channels, as fast as the emulator takes them; returns when
/// each was posted.
fn burst_posts(
    emulator: &Emulator,
    next: &mut usize,
    channels: usize,
    count: usize,
) -> Result<HashMap<MessageId, SystemTime>> {
    let mut posted = HashMap::with_capacity(count);
    for i in 0..count {
        let channel = ChannelId(FIRST_CHANNEL + (i % channels) as u64);
        let at = SystemTime::now();
        let id = emulator.post_message(channel, COACH, message(*next), Vec::new())?;
        *next += 1;
        posted.insert(id, at);
    }
    Ok(posted)
}

/// Posts `count` messages at `rate` per second (catching up within each millisecond, never waiting for replies).
async fn paced_posts(
    emulator: &Emulator,
    next: &mut usize,
    channels: usize,
    count: usize,
    rate: u32,
) -> Result<HashMap<MessageId, SystemTime>> {
    let mut posted = HashMap::with_capacity(count);
    let start = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent = 0usize;
    while sent < count {
        ticks.tick().await;
        let due = ((start.elapsed().as_secs_f64() * f64::from(rate)) as usize).min(count);
        while sent < due {
            let channel = ChannelId(FIRST_CHANNEL + (sent % channels) as u64);
            let at = SystemTime::now();
            let id = emulator.post_message(channel, COACH, message(*next), Vec::new())?;
            *next += 1;
            sent += 1;
            posted.insert(id, at);
        }
    }
    Ok(posted)
}

/// A burst used as a warm-up: posted and answered, figures dropped.
async fn burst(emulator: &Emulator, next: &mut usize, channels: usize, count: usize, what: &str) -> Result<()> {
    burst_posts(emulator, next, channels, count)?;
    wait_for_replies(emulator, count).await.with_context(|| format!("the {what}"))
}

/// Waits until the bot has sent `count` messages since the records were cleared (polling a counter, so the wait
/// takes nothing from the bot).
async fn wait_for_replies(emulator: &Emulator, count: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120) + Duration::from_millis(count as u64);
    while emulator.sent_message_count() < count {
        if Instant::now() > deadline {
            bail!("only {} of {count} replies came", emulator.sent_message_count());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// Plans per second (first post to last reply) and each message's latency to its reply, sorted.
fn tally(emulator: &Emulator, posted: &HashMap<MessageId, SystemTime>) -> Result<(f64, Vec<u32>)> {
    let sent = emulator.all_sent_messages();
    let mut latencies = Vec::with_capacity(posted.len());
    let mut last_reply = SystemTime::UNIX_EPOCH;
    for reply in &sent {
        let Some(at) = reply.reply_to.and_then(|id| posted.get(&id)) else { continue };
        let latency = reply.at.duration_since(*at).unwrap_or_default();
        latencies.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        last_reply = last_reply.max(reply.at);
        if !reply.content.contains("saved") {
            bail!("a plan was not saved: {}", reply.content);
        }
    }
    if latencies.len() != posted.len() {
        bail!("{} of {} messages got a reply", latencies.len(), posted.len());
    }
    let first_post = posted.values().min().copied().unwrap_or(SystemTime::UNIX_EPOCH);
    let span = last_reply.duration_since(first_post).unwrap_or_default();
    latencies.sort_unstable();
    Ok((posted.len() as f64 / span.as_secs_f64().max(1e-9), latencies))
}

/// Removes everything the PostgreSQL database at `url` holds (creating its schema when needed).
fn empty_postgres(url: &str) -> Result<()> {
    use core_model::transfer::StoreTransfer as _;
    let url = storage_postgres::DatabaseUrl::parse(url)?;
    let store = storage_postgres::PgStore::open(&url, storage_postgres::PgOptions::default())
        .with_context(|| format!("opening {url}"))?;
    store.clear()?;
    Ok(())
}
