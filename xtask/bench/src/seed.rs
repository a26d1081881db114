//! The realistic database of the `api` and `footprint` suites, written through the storage API: a year of trading
//! days (weekdays of 2025) with a plan from each of the four default coaches, charts (attachments and TradingView
//! links), edits, chart changes, deletions and re-posts, so that the tables, indexes and history have the shape
//! and size a year of use gives them.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use core_model::jiff::civil::{Date, Weekday, date};
use core_model::jiff::{Timestamp, tz::TimeZone};
use core_model::{
    Author, ChartKind, CoachId, NewChart, NewPlan, PlanChange, PlanSource, PlanText, StoreStats, TradingDate, UserId,
};
use storage::{SqliteStore, StoreOptions};

/// The date the `api` suite reads: every coach has a plan, and coach `d`'s was edited and has charts.
pub const READ_DATE: &str = "2025-06-16";

/// The date `days` days before [`READ_DATE`], for the searches' ranges.
pub fn days_before_read_date(days: i64) -> String {
    let read = date(2025, 6, 16);
    read.checked_sub(core_model::jiff::Span::new().days(days)).map_or_else(|_| READ_DATE.to_owned(), |d| d.to_string())
}

const COACHES: [(&str, u64, &str); 4] =
    [("d", 7001, "Dana (Day Trading)"), ("i", 7002, "Ivan"), ("s", 7003, "Sofia Swing"), ("n", 7004, "Newsdesk Nora")];

const TICKERS: [&str; 12] = ["SPY", "QQQ", "IWM", "NVDA", "AAPL", "MSFT", "TSLA", "AMZN", "META", "AMD", "GLD", "TLT"];

const SENTENCES: [&str; 10] = [
    "Long above {p}, first target {t}, stop under {s}; size down into the open.",
    "Fade any gap into {p} if breadth stays weak; cover half at {t}, stop {s}.",
    "Range day likely: sell {p}, buy {s}, flat before the close.",
    "Watching {p} as the pivot; reclaim it and {t} is in play, lose {s} and stand aside.",
    "CPI at 8:30 ET: no position before the print, then follow the first 15-minute range.",
    "Swing entry on a pullback to {s}, add above {p}, target {t} over the next week.",
    "Earnings after the bell: trim into strength at {t}, keep a runner with a stop at {p}.",
    "Momentum names only; avoid anything below its 20-day average. Key level {p}.",
    "Failed breakdown at {s} is the long; a close below it flips the plan short to {t}.",
    "Light day: one A+ setup at {p} or nothing. Journal every trade.",
];

/// Writes the year into a new database at `path` and returns what it holds.
///
/// # Errors
/// When the database cannot be created or a write fails.
pub fn seed(path: &Path) -> Result<StoreStats> {
    let store = SqliteStore::open(path, StoreOptions::default()).context("creating the benchmark database")?;
    seed_store(&store)
}

/// Writes the year into the PostgreSQL database at `url`, after removing everything it holds, and returns what it
/// holds then.
///
/// # Errors
/// When the database cannot be opened, emptied or written.
pub fn seed_postgres(url: &str) -> Result<StoreStats> {
    use core_model::transfer::StoreTransfer as _;
    let url = storage_postgres::DatabaseUrl::parse(url)?;
    let store = storage_postgres::PgStore::open(&url, storage_postgres::PgOptions::default())
        .with_context(|| format!("opening {url}"))?;
    store.clear()?;
    seed_store(&store)
}

/// Stores a read token in the database (SQLite at `path`, or PostgreSQL at `url`) and returns it, for a run with
/// `api.auth: required`.
///
/// # Errors
/// When the database cannot be opened or written.
pub fn read_token(path: &Path, url: Option<&str>) -> Result<String> {
    use core_model::TokenStore as _;
    let token = core_model::ApiToken::from_random([7; 32]);
    let new = core_model::NewToken {
        name: core_model::TokenName::parse("bench")?,
        scope: core_model::Scope::Read,
        hash: token.hash(),
        created_at: core_model::jiff::Timestamp::now(),
        expires_at: None,
    };
    let stored = match url {
        Some(url) => {
            let url = storage_postgres::DatabaseUrl::parse(url)?;
            storage_postgres::PgStore::open(&url, storage_postgres::PgOptions::default())?.create_token(&new)?
        }
        None => SqliteStore::open(path, StoreOptions::default())?.create_token(&new)?,
    };
    if !stored {
        bail!("the benchmark database holds a token named bench already");
    }
    Ok(token.expose().to_owned())
}

/// Writes the year into `store` (which should be empty) and returns what it holds.
fn seed_store(store: &dyn core_model::PlanRepository) -> Result<StoreStats> {
    let mut rng = fastrand::Rng::with_seed(20250616);
    let mut message_id = 1_300_000_000_000_000_000u64;
    let read_date = TradingDate::parse(READ_DATE)?;
    let mut day = date(2025, 1, 1);
    while day.year() == 2025 {
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            let trading_date = TradingDate::from_date(day);
            for (slot, (coach, user, name)) in COACHES.iter().enumerate() {
                let author = Author { user_id: Some(UserId(*user)), display_name: (*name).to_owned() };
                let coach = CoachId::new(coach)?;
                let mut at = morning(day, slot)?;
                message_id += 1 + rng.u64(0..1000);
                let first_charts =
                    charts(&mut rng, day, message_id, if slot == 0 && trading_date == read_date { 2 } else { 0 });
                let new = NewPlan {
                    coach: coach.clone(),
                    date: trading_date,
                    text: PlanText::new(&plan_text(&mut rng))?,
                    author: author.clone(),
                    source: PlanSource {
                        guild_id: Some(900_000_000_000_000_001),
                        channel_id: Some(910_000_000_000_000_001 + slot as u64),
                        channel_name: Some(format!("{}-plans", ["day", "intraday", "swing", "news"][slot])),
                        message_id: Some(message_id),
                    },
                    charts: first_charts,
                };
                let mut plan = store.insert(new, at)?;
                // A third of the plans are edited once to three times; the plan read by the benchmark always is.
                let edits = if slot == 0 && trading_date == read_date {
                    2
                } else if rng.u8(0..3) == 0 {
                    rng.u8(1..4)
                } else {
                    0
                };
                for _ in 0..edits {
                    at = at.checked_add(core_model::jiff::SignedDuration::from_mins(rng.i64(3..90)))?;
                    let change = PlanChange::Edit { text: PlanText::new(&plan_text(&mut rng))?, charts: None };
                    plan = store.change(plan.id, change, &author, at, None)?;
                }
                // Some get new charts during the day.
                if rng.u8(0..10) == 0 {
                    at = at.checked_add(core_model::jiff::SignedDuration::from_mins(5))?;
                    let new_charts = charts(&mut rng, day, message_id, 1);
                    plan = store.change(plan.id, PlanChange::ReplaceCharts(new_charts), &author, at, None)?;
                }
                // A few are deleted; most of those are posted again, which leaves a deleted row beside the new one.
                if trading_date != read_date && rng.u8(0..40) == 0 {
                    at = at.checked_add(core_model::jiff::SignedDuration::from_mins(2))?;
                    store.change(plan.id, PlanChange::Delete, &author, at, None)?;
                    if rng.bool() {
                        message_id += 1;
                        at = at.checked_add(core_model::jiff::SignedDuration::from_mins(1))?;
                        let again = NewPlan {
                            coach: coach.clone(),
                            date: trading_date,
                            text: PlanText::new(&plan_text(&mut rng))?,
                            author: author.clone(),
                            source: PlanSource { message_id: Some(message_id), ..plan.source.clone() },
                            charts: Vec::new(),
                        };
                        store.insert(again, at)?;
                    }
                }
            }
        }
        day = day.tomorrow()?;
    }
    store.stats().context("counting the seeded plans")
}

/// The time a coach posts on `day`: from 8:00 UTC on, a few minutes apart.
fn morning(day: Date, slot: usize) -> Result<Timestamp> {
    Ok(day
        .at(12, 0, 0, 0)
        .to_zoned(TimeZone::UTC)?
        .timestamp()
        .checked_add(core_model::jiff::SignedDuration::from_mins(7 * slot as i64))?)
}

/// A plan of 3 to 8 sentences about 2 to 4 tickers (about 300 to 900 characters).
fn plan_text(rng: &mut fastrand::Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.usize(2..5) {
        let ticker = TICKERS[rng.usize(0..TICKERS.len())];
        let price = rng.u32(50..900) as f64 + f64::from(rng.u8(0..100)) / 100.0;
        text.push_str(&format!("{ticker}: "));
        for _ in 0..rng.usize(1..3) {
            let sentence = SENTENCES[rng.usize(0..SENTENCES.len())]
                .replace("{p}", &format!("{price:.2}"))
                .replace("{t}", &format!("{:.2}", price * 1.012))
                .replace("{s}", &format!("{:.2}", price * 0.993));
            text.push_str(&sentence);
            text.push(' ');
        }
        text.push('\n');
    }
    text.trim_end().to_owned()
}

/// 0 to 3 charts (at least `at_least`): Discord attachments and TradingView snapshot links.
fn charts(rng: &mut fastrand::Rng, day: Date, message_id: u64, at_least: usize) -> Vec<NewChart> {
    let count = rng.usize(0..4).max(at_least);
    (0..count)
        .map(|i| {
            if rng.bool() {
                let filename = format!("{day}-setup-{i}.png");
                NewChart {
                    url: format!(
                        "https://cdn.discordapp.com/attachments/910000000000000001/{message_id}/{filename}?ex=68a1b2c3&is=68a06143&hm=3f1c0d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e&"
                    ),
                    filename: Some(filename),
                    content_type: Some("image/png".to_owned()),
                    kind: ChartKind::Attachment,
                }
            } else {
                NewChart {
                    url: format!("https://www.tradingview.com/x/{:08X}/", rng.u32(..)),
                    filename: None,
                    content_type: None,
                    kind: ChartKind::Link,
                }
            }
        })
        .collect()
}
