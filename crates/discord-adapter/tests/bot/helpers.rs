//! `spawn_bot`: an emulator, a temporary database, the service and the bot running against them. When a test's
//! `TestBot` goes away, [`assert_no_pings`] checks that nothing the bot sent in that test could ping anyone.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use core_model::{CoachId, Plan, PlanRepository as _, RoleId as DomainRoleId, TradingDate, UserId as DomainUserId};
use discord_adapter::archive::{ChartArchiver, DEFAULT_MAX_IMAGE_BYTES};
use discord_adapter::bot::{self, BotConfig, BotToken};
use discord_adapter::handler::{CommandHandler, Listening};
use discord_adapter::retry::RetryPolicy;
use discord_emulator::{
    ChannelId, Emulator, EmulatorConfig, InteractionId, InteractionRecord, OptionValue, RoleId, SentMessage, UserId,
    UserSpec,
};
use service::{PlanService, Policy};
use storage::{SqliteStore, StoreOptions};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Longest any single wait may take.
pub const WAIT: Duration = Duration::from_secs(20);
pub const CHANNEL: ChannelId = EmulatorConfig::DEFAULT_CHANNEL;
pub const ANN: UserId = UserId(1001);
pub const BOB: UserId = UserId(1002);
pub const MOD: UserId = UserId(1003);
pub const ADMIN_ROLE: RoleId = RoleId(300);

pub struct TestBot {
    pub emulator: Arc<Emulator>,
    pub store: Arc<SqliteStore>,
    pub service: PlanService,
    /// The service's clock: the system's, shifted by what a test sets.
    pub clock: Arc<ShiftedClock>,
    /// Catch-up look-back of the next start: most messages per channel, and their greatest age.
    pub catch_up: (usize, Duration),
    /// How often the next start saves its gateway session.
    pub session_save_every: Duration,
    /// Whether the next start takes prefix commands (and asks for the Message Content intent).
    pub prefix_commands: bool,
    listening: Listening,
    /// Whether the bot keeps copies of attached images.
    archiving: bool,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), bot::BotError>>>,
    _dir: TempDir,
}

/// Runs a test body with an overall time limit, so a hang fails instead of stalling the suite.
/// `TEST_LOG=1` shows the bot's logs at `debug` (`RUST_LOG` narrows or widens them); with `TEST_LOG_FILE` set
/// (`cargo xtask ci`), every line at every level goes to that file.
pub async fn within<F: Future>(limit: Duration, body: F) -> F::Output {
    let _ = rustls::crypto::ring::default_provider().install_default();
    app::init_test_telemetry();
    tokio::time::timeout(limit, body).await.unwrap_or_else(|_| panic!("test exceeded {limit:?}"))
}

/// The test desk: Ann, Bob and a moderator with the admin role; the bot's token is the suite's test token, which no
/// log line may contain.
pub fn emulator_config() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_token(app::test_secrets::DISCORD_BOT_TOKEN)
        .with_role(ADMIN_ROLE, "Desk admin")
        .with_user(UserSpec::new(ANN, "ann").with_global_name("Ann"))
        .with_user(UserSpec::new(BOB, "bob").with_global_name("Bob"))
        .with_user(UserSpec::new(MOD, "mod").with_nick("Moderator").with_role(ADMIN_ROLE))
        .with_heartbeat_interval(Duration::from_millis(500))
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy { retries: 8, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(500) }
}

pub async fn spawn_bot() -> TestBot {
    spawn_bot_with(emulator_config(), Policy::default()).await
}

pub async fn spawn_bot_with(config: EmulatorConfig, policy: Policy) -> TestBot {
    spawn_bot_listening(config, policy, Listening::default()).await
}

/// A bot that listens only where `listening` says.
pub async fn spawn_bot_listening(config: EmulatorConfig, policy: Policy, listening: Listening) -> TestBot {
    spawn(config, policy, listening, false).await
}

/// A bot that keeps a copy of every image attached to a plan, as the binaries' bot does.
pub async fn spawn_archiving_bot(config: EmulatorConfig) -> TestBot {
    spawn(config, Policy::default(), Listening::default(), true).await
}

/// A bot configured for slash commands only (`discord.prefix_commands: false`), started once its commands are
/// registered.
pub async fn spawn_slash_bot(config: EmulatorConfig, listening: Listening) -> TestBot {
    spawn_slash_bot_with(config, Policy::default(), listening).await
}

/// [`spawn_slash_bot`] with a policy of the test's own (its admin role is the test desk's).
pub async fn spawn_slash_bot_with(config: EmulatorConfig, policy: Policy, listening: Listening) -> TestBot {
    let mut bot = spawn_stopped(config, policy, listening, true).await;
    bot.prefix_commands = false;
    bot.start();
    bot.emulator.wait_for_ready(WAIT).await.unwrap();
    bot.wait_for_commands().await;
    bot
}

/// A started bot, once connected and done registering its slash commands (so that a test's faults and counts of
/// REST calls concern what the test does).
async fn spawn(config: EmulatorConfig, policy: Policy, listening: Listening, archiving: bool) -> TestBot {
    let mut bot = spawn_stopped(config, policy, listening, archiving).await;
    bot.start();
    bot.emulator.wait_for_ready(WAIT).await.unwrap();
    bot.wait_for_commands().await;
    bot
}

async fn spawn_stopped(config: EmulatorConfig, policy: Policy, listening: Listening, archiving: bool) -> TestBot {
    let emulator = Arc::new(Emulator::start(config).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("plans.db"), StoreOptions::default()).unwrap());
    let policy = Policy { admin_roles: vec![DomainRoleId(ADMIN_ROLE.get())], ..policy };
    let clock = Arc::new(ShiftedClock::default());
    let mut service = PlanService::new(store.clone(), store.clone(), clock.clone(), policy);
    if archiving {
        service = service.with_chart_images(store.clone());
    }
    TestBot {
        emulator,
        store,
        service,
        clock,
        catch_up: (500, Duration::from_secs(72 * 3600)),
        session_save_every: Duration::from_millis(100),
        prefix_commands: true,
        listening,
        archiving,
        stop: None,
        task: None,
        _dir: dir,
    }
}

impl TestBot {
    fn bot_config(&self) -> BotConfig {
        BotConfig {
            api_base_url: Some(self.emulator.http_base_url()),
            gateway_url: Some(self.emulator.gateway_url()),
            retry: fast_retry(),
            request_timeout: Duration::from_secs(5),
            status_every: Duration::from_millis(200),
            shutdown_grace: Duration::from_secs(5),
            identify_queue: false,
            catch_up_limit: self.catch_up.0,
            catch_up_max_age: self.catch_up.1,
            session_save_every: self.session_save_every,
            prefix_commands: self.prefix_commands,
            ..BotConfig::new(BotToken::new(self.emulator.token()))
        }
    }

    /// Starts (or restarts) the bot.
    pub fn start(&mut self) {
        let mut handler = CommandHandler::new(self.service.clone(), "!", self.listening.clone());
        if self.archiving {
            handler = handler.with_chart_archiver(ChartArchiver::new(DEFAULT_MAX_IMAGE_BYTES, Duration::from_secs(5)));
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let config = self.bot_config();
        self.task = Some(tokio::spawn(bot::run(config, handler, async {
            let _ = stopped.await;
        })));
        self.stop = Some(stop);
    }

    /// Stops the bot cleanly and returns what `run` returned.
    pub async fn stop(&mut self) -> Result<(), bot::BotError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("the bot runs");
        tokio::time::timeout(WAIT, task).await.expect("the bot stops in time").expect("the bot task did not panic")
    }

    /// Stops the bot as a killed process stops: no close frame, nothing saved, work in progress abandoned.
    pub async fn crash(&mut self) {
        self.stop = None;
        let task = self.task.take().expect("the bot runs");
        task.abort();
        let _ = task.await;
    }

    /// Waits until the bot has registered its slash commands (globally, or for the guilds it listens in).
    pub async fn wait_for_commands(&self) {
        self.emulator
            .wait_for_rest_call(WAIT, "the slash commands registered", |c| {
                c.method == "PUT" && c.route().ends_with("/commands") && c.status == 200
            })
            .await
            .unwrap();
    }

    /// `user` invokes `/name` with `options` in the test channel; returns the interaction once the bot answered it
    /// with `replies` messages (original and follow-ups).
    pub async fn slash(
        &self,
        user: UserId,
        name: &str,
        options: Vec<(&str, OptionValue)>,
        replies: usize,
    ) -> InteractionRecord {
        let id = self.emulator.invoke_command(CHANNEL, user, name, options).unwrap();
        self.answered(id, replies).await
    }

    /// The interaction once the bot answered it with `replies` messages that are neither deleted nor "thinking…".
    pub async fn answered(&self, id: InteractionId, replies: usize) -> InteractionRecord {
        self.emulator
            .wait_for_interaction(id, WAIT, |r| {
                r.replies.iter().filter(|m| !m.deleted && !m.loading).count() >= replies
            })
            .await
            .unwrap()
    }

    /// Posts as `user` and waits for the bot's `n`th message in the channel (counting from the start).
    pub async fn say(&self, user: UserId, content: &str, replies_so_far: usize) -> SentMessage {
        self.emulator.post_message(CHANNEL, user, content, vec![]).unwrap();
        self.reply(replies_so_far).await
    }

    /// Waits for the bot's reply number `index` (from 0) in the channel.
    pub async fn reply(&self, index: usize) -> SentMessage {
        let sent = self.emulator.wait_for_sent_messages(CHANNEL, index + 1, WAIT).await.unwrap();
        sent[index].clone()
    }

    pub fn plan(&self, coach: &str) -> Option<Plan> {
        let today = self.service.today();
        self.store.find_active(&CoachId::new(coach).unwrap(), today).unwrap()
    }

    pub fn plan_on(&self, coach: &str, date: &str) -> Option<Plan> {
        self.store.find_active(&CoachId::new(coach).unwrap(), TradingDate::parse(date).unwrap()).unwrap()
    }
}

/// Whether an `allowed_mentions` object lets no one be pinged: nothing to parse, no user or role listed, and the
/// replied-to user not pinged.
pub fn allows_no_mention(allowed: &serde_json::Value) -> bool {
    let empty = |key: &str| allowed.get(key).is_none_or(|v| v.as_array().is_some_and(Vec::is_empty));
    allowed.is_object()
        && allowed.get("parse").is_some_and(|p| p.as_array().is_some_and(Vec::is_empty))
        && empty("users")
        && empty("roles")
        && allowed.get("replied_user").is_none_or(|r| r == false)
}

/// Fails when anything the bot sent could ping anyone: every message it created pinged no one (as Discord applies
/// `allowed_mentions` to the content and the reply), and every request that creates or edits a message, refused
/// and retried ones included, carried an `allowed_mentions` that allows nothing.
#[track_caller]
pub fn assert_no_pings(emulator: &Emulator) {
    for sent in emulator.all_sent_messages() {
        assert!(!sent.pings_anyone(), "the bot's message pinged someone: {:?}", sent.content);
        let allowed = sent.allowed_mentions.as_ref();
        assert!(allowed.is_some_and(allows_no_mention), "allowed_mentions {allowed:?} on {:?}", sent.content);
    }
    for interaction in emulator.interactions() {
        for reply in interaction.replies.iter().filter(|r| !r.loading) {
            assert!(!reply.pings_anyone(), "the bot's answer pinged someone: {:?}", reply.content);
            let allowed = reply.allowed_mentions.as_ref();
            assert!(allowed.is_some_and(allows_no_mention), "allowed_mentions {allowed:?} on {:?}", reply.content);
        }
    }
    for call in emulator.rest_calls() {
        let writes_message = matches!(call.method.as_str(), "POST" | "PATCH")
            && call.route().starts_with("/channels/")
            && call.route().contains("/messages");
        if writes_message {
            let allowed = call.body.as_ref().and_then(|body| body.get("allowed_mentions"));
            assert!(
                allowed.is_some_and(allows_no_mention),
                "{} {} carried allowed_mentions {allowed:?}",
                call.method,
                call.path
            );
        }
    }
}

impl Drop for TestBot {
    /// After each test (unless it failed already): nothing the bot sent could ping anyone.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_no_pings(&self.emulator);
        }
    }
}

pub fn domain_user(user: UserId) -> DomainUserId {
    DomainUserId(user.get())
}

/// The system clock shifted by a number of seconds a test sets (to make messages look older than they are).
#[derive(Debug, Default)]
pub struct ShiftedClock(std::sync::atomic::AtomicI64);

impl ShiftedClock {
    /// Moves "now" `seconds` ahead of the system clock.
    pub fn shift(&self, seconds: i64) {
        self.0.store(seconds, std::sync::atomic::Ordering::SeqCst);
    }
}

impl core_model::Clock for ShiftedClock {
    fn now(&self) -> core_model::jiff::Timestamp {
        let shift = core_model::jiff::SignedDuration::from_secs(self.0.load(std::sync::atomic::Ordering::SeqCst));
        core_model::jiff::Timestamp::now().checked_add(shift).unwrap()
    }
}
