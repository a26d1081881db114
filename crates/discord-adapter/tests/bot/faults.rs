//! The fault matrix: a stream of plan messages while the connection drops, Discord asks to reconnect or invalidates
//! the session, heartbeats go unanswered, and REST answers 500 or 429. Every plan is stored exactly once and every
//! reply is eventually sent.

use std::collections::BTreeSet;
use std::time::Duration;

use core_model::PlanRepository as _;

use crate::helpers::{ANN, CHANNEL, spawn_bot, within};

const MESSAGES: usize = 200;

/// The fault injected just before message `i` is posted, if any.
fn inject(bot: &crate::helpers::TestBot, i: usize) -> Option<&'static str> {
    let emulator = &bot.emulator;
    match i {
        20 => {
            emulator.drop_gateway_connections();
            Some("TCP connection dropped")
        }
        45 => {
            emulator.send_reconnect();
            Some("op 7 RECONNECT")
        }
        70 => {
            emulator.send_invalid_session(false);
            Some("op 9 INVALID_SESSION, not resumable")
        }
        95 => {
            emulator.stall_heartbeat_acks(Duration::from_millis(1500));
            Some("heartbeat ACKs withheld")
        }
        120 => {
            emulator.fail_next_rest_calls(3);
            Some("REST 500 x3")
        }
        140 => {
            emulator.rate_limit_next_rest_calls(3, Duration::from_millis(50));
            Some("REST 429 x3")
        }
        160 => {
            emulator.invalidate_sessions();
            emulator.drop_gateway_connections();
            Some("session invalidated, then connection dropped")
        }
        180 => {
            emulator.fail_next_rest_calls(2);
            emulator.send_reconnect();
            Some("REST 500 x2 during op 7")
        }
        _ => None,
    }
}

#[tokio::test]
async fn every_plan_is_stored_once_and_answered_through_every_fault() {
    within(Duration::from_secs(90), async {
        let bot = spawn_bot().await;
        let mut posted = Vec::with_capacity(MESSAGES);
        let mut faults = Vec::new();
        for i in 0..MESSAGES {
            if let Some(fault) = inject(&bot, i) {
                faults.push(fault);
            }
            let coach = ["d", "i", "s", "n"][i % 4];
            let days = i64::try_from(i / 4).unwrap();
            let date = core_model::jiff::civil::date(2030, 1, 1) + core_model::jiff::Span::new().days(days);
            let id = bot.emulator.post_message(CHANNEL, ANN, format!("!plan {coach} {date} plan number {i}"), vec![]);
            posted.push(id.unwrap());
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        assert_eq!(faults.len(), 8);

        let replies = bot.emulator.wait_for_sent_messages(CHANNEL, MESSAGES, Duration::from_secs(60)).await;
        let replies = replies.unwrap_or_else(|e| {
            panic!("only {} of {MESSAGES} replies arrived: {e}", bot.emulator.sent_messages(CHANNEL).len())
        });
        // Let anything still in flight land, so a late duplicate would be seen.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let replies_now = bot.emulator.sent_messages(CHANNEL);
        assert_eq!(replies_now.len(), MESSAGES, "one reply per message, none twice");
        assert!(replies.iter().all(|r| r.content.starts_with("✅ Plan saved for ")), "every plan was new");
        let answered: BTreeSet<_> = replies_now.iter().filter_map(|r| r.reply_to).collect();
        let expected: BTreeSet<_> = posted.iter().copied().collect();
        assert_eq!(answered, expected, "every message got its reply");

        let stats = bot.store.stats().unwrap();
        assert_eq!(stats.active_plans as usize, MESSAGES, "every plan stored");
        assert_eq!(stats.history_entries as usize, MESSAGES, "each stored exactly once (no replacement, no edit)");
        for id in &posted {
            let plan = bot.store.find_by_source_message(id.get()).unwrap();
            assert!(plan.is_some_and(|p| p.version == 1), "message {id:?} has its plan, at version 1");
        }
        let gateway = bot.emulator.gateway_stats();
        assert!(gateway.resumes >= 2, "the bot resumed: {gateway:?}");
        assert!(gateway.identifies >= 3, "the bot identified again after invalid sessions: {gateway:?}");
    })
    .await;
}
