//! Crash safety of the built `plan-bot`: a stream of plan messages from the local Discord emulator while the bot is
//! killed with SIGKILL at several points and started again at once. Every plan of the stream is stored exactly once
//! (none lost, none doubled, none half-written) and every message gets a reply; the same across a downtime during
//! which Discord forgot the bot's session, with a kill in the middle of the catch-up.
//!
//! Each runs on SQLite and on PostgreSQL (the test run's server; without one the PostgreSQL runs check nothing and
//! say so). Kill points come from a seed printed by the test; `CRASH_SEED=<seed>` repeats a run. Each test prints
//! its figures (messages streamed, kills, plans lost, duplicates), which docs/operations.md quotes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use core_model::{CoachId, HistoryQuery, TradingDate};
use discord_emulator::{ChannelId, Emulator, EmulatorConfig, MessageId, UserId, UserSpec};

const ANN: UserId = UserId(1001);
const BOB: UserId = UserId(1002);
const CHANNEL: ChannelId = EmulatorConfig::DEFAULT_CHANNEL;
/// Longest wait for the bot to catch up with everything after the last restart.
const SETTLE: Duration = Duration::from_secs(60);
const COACHES: [&str; 4] = ["d", "i", "s", "n"];

/// The seed of this run: `CRASH_SEED` when set, else a fresh one.
fn seed() -> u64 {
    match std::env::var("CRASH_SEED") {
        Ok(seed) => seed.trim().parse().expect("CRASH_SEED is a number"),
        Err(_) => fastrand::u64(..),
    }
}

/// The `n`th plan of a stream: its coach, its trading date and its message (one plan per coach and date).
fn nth_plan(n: usize) -> (&'static str, String, String) {
    let coach = COACHES[n % COACHES.len()];
    let date = format!("2024-{:02}-{:02}", 1 + n / 4 / 28, 1 + (n / 4) % 28);
    let text = format!("!plan {coach} {date} Plan number {n}: long above {}", 900 + n);
    (coach, date, text)
}

/// The database of a run: a SQLite file in a temporary directory, or a PostgreSQL database of its own.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(test_support::TestDatabase),
}

impl Db {
    fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    fn postgres() -> Option<Self> {
        test_support::postgres().map(Self::Postgres)
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// The setting that points plan-bot at it.
    fn env(&self) -> (&'static str, String) {
        match self {
            Self::Sqlite(dir) => ("DATABASE_PATH", dir.path().join("plans.db").display().to_string()),
            Self::Postgres(db) => ("DATABASE_URL", db.url().to_owned()),
        }
    }

    fn location(&self) -> app::store::Location {
        match self.env() {
            ("DATABASE_URL", url) => app::store::Location::parse(&url).unwrap(),
            (_, path) => app::store::Location::Sqlite(path.into()),
        }
    }
}

/// A running `plan-bot`, its output drained so that its pipes never fill.
struct Bot {
    child: Child,
}

impl Bot {
    fn start(db: &Db, dir: &Path, emulator: &Emulator) -> Self {
        let (database_key, database) = db.env();
        let mut command = Command::new(env!("CARGO_BIN_EXE_plan-bot"));
        command
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LOG_LEVEL", "warn")
            .env("DISCORD_BOT_TOKEN", emulator.token())
            .env("DISCORD_API_BASE_URL", emulator.http_base_url())
            .env("DISCORD_GATEWAY_URL", emulator.gateway_url())
            .env(database_key, database)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("plan-bot starts");
        let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        std::thread::spawn(move || std::io::BufReader::new(stdout).lines().map_while(Result::ok).for_each(drop));
        std::thread::spawn(move || std::io::BufReader::new(stderr).lines().map_while(Result::ok).for_each(drop));
        Self { child }
    }

    /// SIGKILL: no close frame, nothing saved, whatever was in progress abandoned.
    async fn kill(mut self) {
        self.child.kill().expect("the kill is delivered");
        tokio::task::spawn_blocking(move || self.child.wait()).await.unwrap().unwrap();
    }

    /// SIGTERM, then the exit code.
    async fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(status) = self.child.try_wait().unwrap() {
                    return status;
                }
                assert!(Instant::now() < deadline, "plan-bot did not stop");
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        status.await.unwrap().code()
    }
}

/// Replies per message, from the emulator's record of what the bot sent.
fn replies(emulator: &Emulator) -> BTreeMap<MessageId, usize> {
    let mut replies = BTreeMap::new();
    for sent in emulator.sent_messages(CHANNEL) {
        if let Some(to) = sent.reply_to {
            *replies.entry(to).or_insert(0) += 1;
        }
    }
    replies
}

/// Waits until every message of `posted` has a reply.
async fn until_answered(emulator: &Emulator, posted: &[MessageId]) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let replies = replies(emulator);
        let missing: Vec<&MessageId> = posted.iter().filter(|m| !replies.contains_key(m)).collect();
        if missing.is_empty() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no reply to {} messages: {missing:?}", missing.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the database holds for a stream: plans lost, and plans stored more than once (extra plans or history
/// entries for a coach and date), checking that each plan is whole and came from its message.
struct Tally {
    lost: usize,
    duplicates: usize,
}

fn tally(location: &app::store::Location, stream: &[(usize, MessageId)]) -> Tally {
    let store = app::store::Store::open(location, &app::Settings::default()).unwrap().plans();
    let mut tally = Tally { lost: 0, duplicates: 0 };
    for (n, message) in stream {
        let (coach, date, text) = nth_plan(*n);
        let (coach, date) = (CoachId::new(coach).unwrap(), TradingDate::parse(&date).unwrap());
        let Some(plan) = store.find_active(&coach, date).unwrap() else {
            tally.lost += 1;
            continue;
        };
        assert_eq!(plan.source.message_id, Some(message.get()), "plan {n} came from its message");
        assert_eq!(format!("!plan {} {} {}", plan.coach, plan.date, plan.text), text, "plan {n} is whole");
        let history = store.history(&HistoryQuery { coach, date: Some(date), limit: 100 }).unwrap();
        tally.duplicates += history.len().saturating_sub(1) + usize::from(plan.version != 1);
    }
    let stats = store.stats().unwrap();
    let expected = stream.len() - tally.lost;
    tally.duplicates += usize::try_from(stats.active_plans + stats.deleted_plans).unwrap().saturating_sub(expected);
    tally
}

/// What the database holds for a stream, read off the async threads (the PostgreSQL client blocks).
async fn tally_of(db: &Db, stream: &[(usize, MessageId)]) -> Tally {
    let (location, stream) = (db.location(), stream.to_vec());
    tokio::task::spawn_blocking(move || tally(&location, &stream)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_point_of_a_stream_loses_no_plan_and_doubles_none_on_sqlite() {
    sigkill_stream(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_point_of_a_stream_loses_no_plan_and_doubles_none_on_postgres() {
    let Some(db) = Db::postgres() else { return };
    sigkill_stream(db).await;
}

async fn sigkill_stream(db: Db) {
    const MESSAGES: usize = 80;
    const KILLS: usize = 5;
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    // One kill in each of five equal slots of the stream, after a message, at a random moment of its handling.
    let slot = MESSAGES / KILLS;
    let kills: BTreeMap<usize, Duration> =
        (0..KILLS).map(|k| (k * slot + rng.usize(2..slot), Duration::from_millis(rng.u64(0..60)))).collect();
    let backend = db.name();
    println!(
        "crash stream ({backend}): seed {seed} (CRASH_SEED={seed} repeats it), kills after messages {:?}",
        kills.keys()
    );

    let config = EmulatorConfig::default().with_user(UserSpec::new(ANN, "ann"));
    let emulator = Emulator::start(config.with_heartbeat_interval(Duration::from_millis(500))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut bot = Bot::start(&db, dir.path(), &emulator);
    emulator.wait_for_ready(Duration::from_secs(20)).await.unwrap();

    let mut stream = Vec::new();
    for n in 0..MESSAGES {
        let message = emulator.post_message(CHANNEL, ANN, nth_plan(n).2, vec![]).unwrap();
        stream.push((n, message));
        if let Some(after) = kills.get(&n) {
            tokio::time::sleep(*after).await;
            bot.kill().await;
            bot = Bot::start(&db, dir.path(), &emulator);
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(5..40))).await;
    }
    let posted: Vec<MessageId> = stream.iter().map(|(_, m)| *m).collect();
    until_answered(&emulator, &posted).await;
    assert_eq!(bot.terminate().await, Some(0), "the last run stops cleanly");

    let tally = tally_of(&db, &stream).await;
    let replies = replies(&emulator);
    let repeated_replies: usize = posted.iter().map(|m| replies[m] - 1).sum();
    let gateway = emulator.gateway_stats();
    println!(
        "crash stream ({backend}): {MESSAGES} messages, {KILLS} SIGKILLs, {} plans lost, {} duplicate plans, {repeated_replies} \
         confirmations sent twice; {} sessions identified, {} resumes",
        tally.lost, tally.duplicates, gateway.identifies, gateway.resumes
    );
    assert_eq!((tally.lost, tally.duplicates), (0, 0), "seed {seed}");
    assert!(repeated_replies <= KILLS, "at most one confirmation per kill is sent again (seed {seed})");
    assert_eq!(gateway.resumes_rejected, 0, "every restart resumed its session (seed {seed})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downtime_across_a_lost_session_is_caught_up_once_even_when_killed_while_catching_up_on_sqlite() {
    lost_session(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downtime_across_a_lost_session_is_caught_up_once_even_when_killed_while_catching_up_on_postgres() {
    let Some(db) = Db::postgres() else { return };
    lost_session(db).await;
}

async fn lost_session(db: Db) {
    const BEFORE: usize = 10;
    const DURING: usize = 30;
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let kill_after_replies = rng.usize(3..DURING / 2);
    let backend = db.name();
    println!(
        "crash catch-up ({backend}): seed {seed} (CRASH_SEED={seed} repeats it), kill after {kill_after_replies} replies"
    );

    let config = EmulatorConfig::default().with_user(UserSpec::new(ANN, "ann")).with_user(UserSpec::new(BOB, "bob"));
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(&db, dir.path(), &emulator);
    emulator.wait_for_ready(Duration::from_secs(20)).await.unwrap();
    let mut stream = Vec::new();
    for n in 0..BEFORE {
        stream.push((n, emulator.post_message(CHANNEL, ANN, nth_plan(n).2, vec![]).unwrap()));
    }
    let posted: Vec<MessageId> = stream.iter().map(|(_, m)| *m).collect();
    until_answered(&emulator, &posted).await;
    bot.kill().await;

    // While the bot is down, Discord forgets its session, and the desk keeps posting (plans and chatter).
    assert_eq!(emulator.invalidate_sessions(), 1);
    let mut missed = Vec::new();
    for n in BEFORE..BEFORE + DURING {
        missed.push((n, emulator.post_message(CHANNEL, ANN, nth_plan(n).2, vec![]).unwrap()));
        if n % 5 == 0 {
            emulator.post_message(CHANNEL, BOB, "anyone watching the open?", vec![]).unwrap();
        }
    }
    // Replies come slowly, so that the kill falls in the middle of the catch-up.
    emulator.set_rest_delay(Duration::from_millis(40));
    let replies_before = emulator.sent_messages(CHANNEL).len();
    let bot = Bot::start(&db, dir.path(), &emulator);
    emulator
        .wait_for_sent_messages(CHANNEL, replies_before + kill_after_replies, SETTLE)
        .await
        .expect("the catch-up answers");
    bot.kill().await;
    let caught_up_before_kill = emulator.sent_messages(CHANNEL).len() - replies_before;
    emulator.set_rest_delay(Duration::ZERO);

    let bot = Bot::start(&db, dir.path(), &emulator);
    let missed_ids: Vec<MessageId> = missed.iter().map(|(_, m)| *m).collect();
    until_answered(&emulator, &missed_ids).await;
    assert_eq!(bot.terminate().await, Some(0));

    stream.extend(missed);
    let tally = tally_of(&db, &stream).await;
    let replies = replies(&emulator);
    let repeated: usize = stream.iter().map(|(_, m)| replies[m] - 1).sum();
    let gateway = emulator.gateway_stats();
    println!(
        "crash catch-up ({backend}): {} messages ({DURING} while the session was lost), 2 SIGKILLs (one after {caught_up_before_kill} \
         replies of the catch-up), {} plans lost, {} duplicate plans, {repeated} confirmations sent twice; {} \
         identifies, {} resumes refused",
        BEFORE + DURING,
        tally.lost,
        tally.duplicates,
        gateway.identifies,
        gateway.resumes_rejected
    );
    assert_eq!((tally.lost, tally.duplicates), (0, 0), "seed {seed}");
    // Each of the two kills may fall between a confirmation and the cursor that records it (the first one right
    // after the last reply before the downtime): at most one confirmation per kill is sent again, as in the test above.
    assert!(repeated <= 2, "at most one confirmation per kill is sent again (seed {seed})");
    let chatter: BTreeSet<MessageId> = replies.keys().copied().collect::<BTreeSet<_>>();
    assert_eq!(chatter.len(), stream.len(), "chatter gets no reply; every plan message does");
    assert!(gateway.resumes_rejected >= 1, "the lost session was refused");
}
