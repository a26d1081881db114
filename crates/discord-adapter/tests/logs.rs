//! The bot's logs: every line about a message carries the root span of the event it came in (guild, channel,
//! message and user ids), a message read back after a new session has a root span of its own, and no line ever
//! contains the token, at any level.
//!
//! A test binary of its own: its subscriber is the process-wide one, which no other test shares.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use discord_emulator::EmulatorConfig;
use service::Policy;

#[allow(dead_code, reason = "this binary uses a few of the bot tests' helpers")]
#[path = "bot/helpers.rs"]
mod helpers;

use helpers::{ANN, BOB, CHANNEL, WAIT, emulator_config, spawn_bot_with, within};

const TOKEN: &str = app::test_secrets::DISCORD_BOT_TOKEN;

/// Log lines written by the subscriber of this test binary; each is also appended to the suite's capture
/// (`TEST_LOG_FILE`, when `cargo xtask ci` sets it).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        String::from_utf8_lossy(&bytes).lines().map(str::to_owned).collect()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        if let Some(file) = app::test_log_file() {
            let _ = (&*file).write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_messages_lines_carry_its_ids_and_no_line_the_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    // This binary's own capture, and the suite's (`TEST_LOG_FILE`) beside it.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
    within(WAIT, async {
        let bot = spawn_bot_with(emulator_config().with_token(TOKEN), Policy::default()).await;
        let first = bot.emulator.post_message(CHANNEL, ANN, "!plan d Long NVDA above 950", vec![]).unwrap();
        bot.reply(0).await;
        let second = bot.emulator.post_message(CHANNEL, BOB, "!plans", vec![]).unwrap();
        bot.reply(1).await;

        // A message posted while the session is lost for good comes back through REST after a new IDENTIFY.
        assert_eq!(bot.emulator.stall_heartbeat_acks(Duration::from_secs(3)), 1);
        let missed = bot.emulator.post_message(CHANNEL, ANN, "!plan i posted while the bot was away", vec![]).unwrap();
        assert_eq!(bot.emulator.invalidate_sessions(), 1);
        bot.emulator.wait_for_gateway(WAIT, "a new session", |s| s.identifies >= 2).await.unwrap();
        bot.reply(2).await;
        assert!(bot.plan("i").is_some());

        let lines = captured.lines();
        let received: Vec<&String> = lines.iter().filter(|l| l.contains("command received")).collect();
        assert_eq!(received.len(), 3, "{received:#?}");
        let ids = |line: &str, message: discord_emulator::MessageId, user: discord_emulator::UserId| {
            line.contains(&format!("message_id={message}"))
                && line.contains(&format!("user_id={user}"))
                && line.contains(&format!("channel_id={CHANNEL}"))
                && line.contains(&format!("guild_id={}", EmulatorConfig::DEFAULT_GUILD))
        };
        assert!(received[0].contains("gateway_event{kind=MessageCreate"), "{}", received[0]);
        assert!(ids(received[0], first, ANN) && received[0].contains("command=\"plan\""), "{}", received[0]);
        assert!(ids(received[1], second, BOB) && received[1].contains("command=\"plans\""), "{}", received[1]);
        assert!(!received[1].contains(&first.to_string()), "{}", received[1]);
        assert!(received[2].contains("caught_up_message{"), "its own root span: {}", received[2]);
        assert!(ids(received[2], missed, ANN) && !received[2].contains("gateway_event"), "{}", received[2]);

        assert!(lines.len() > 50, "trace level logs a lot: {} lines", lines.len());
        let leaks: Vec<&String> = lines.iter().filter(|l| l.contains(TOKEN)).collect();
        assert!(leaks.is_empty(), "the token is in the logs: {leaks:#?}");
    })
    .await;
}
