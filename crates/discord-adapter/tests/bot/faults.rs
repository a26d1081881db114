//! The fault matrix: a stream of plan messages while the connection drops, Discord asks to reconnect or invalidates
//! the session, heartbeats go unanswered, and REST answers 500, 429 or an error page that is not JSON. Every plan is
//! stored exactly once and every reply is eventually sent.
//!
//! Where each fault falls in the stream, and in which order the faults come, is drawn from a seed printed by the
//! test; `FAULT_MATRIX_SEED=<seed>` repeats a run.

use std::collections::BTreeSet;
use std::time::Duration;

use core_model::PlanRepository as _;
use discord_emulator::{Emulator, FaultResponse, GatewayStats, RestFault};

use crate::helpers::{ANN, CHANNEL, WAIT, spawn_bot, within};

const MESSAGES: usize = 200;
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// A fault: how to inject it, and what the gateway counters show once the bot has recovered from it.
struct Fault {
    name: &'static str,
    /// Injects the fault; every gateway fault must reach exactly the bot's one connection.
    inject: fn(&Emulator),
    /// REST calls the fault makes fail.
    rest_faults: usize,
    /// Whether the bot has recovered, given the counters before the fault and now.
    recovered: fn(&GatewayStats, &GatewayStats) -> bool,
}

fn resumed(before: &GatewayStats, now: &GatewayStats) -> bool {
    now.resumes > before.resumes && now.open_connections == 1
}

fn identified(before: &GatewayStats, now: &GatewayStats) -> bool {
    now.identifies > before.identifies && now.ready_sent > before.ready_sent && now.open_connections == 1
}

fn anytime(_: &GatewayStats, _: &GatewayStats) -> bool {
    true
}

fn faults() -> Vec<Fault> {
    vec![
        Fault {
            name: "TCP connection dropped",
            inject: |e| assert_eq!(e.drop_gateway_connections(), 1),
            rest_faults: 0,
            recovered: resumed,
        },
        Fault {
            name: "op 7 RECONNECT",
            inject: |e| assert_eq!(e.send_reconnect(), 1),
            rest_faults: 0,
            recovered: resumed,
        },
        Fault {
            name: "op 9 INVALID_SESSION, not resumable",
            inject: |e| assert_eq!(e.send_invalid_session(false), 1),
            rest_faults: 0,
            recovered: identified,
        },
        Fault {
            name: "heartbeat ACKs withheld",
            inject: |e| assert_eq!(e.stall_heartbeat_acks(Duration::from_millis(1500)), 1),
            rest_faults: 0,
            recovered: resumed,
        },
        Fault {
            name: "session invalidated, then connection dropped",
            inject: |e| {
                assert_eq!(e.invalidate_sessions(), 1);
                assert_eq!(e.drop_gateway_connections(), 1);
            },
            rest_faults: 0,
            recovered: |before, now| identified(before, now) && now.resumes_rejected > before.resumes_rejected,
        },
        Fault { name: "REST 500 x3", inject: |e| e.fail_next_rest_calls(3), rest_faults: 3, recovered: anytime },
        Fault {
            name: "REST 429 x3",
            inject: |e| e.rate_limit_next_rest_calls(3, RETRY_AFTER),
            rest_faults: 3,
            recovered: anytime,
        },
        Fault {
            name: "REST error pages: HTML 502, empty 503",
            inject: |e| {
                e.inject_rest_fault(RestFault::new(FaultResponse::html_page(502), 1));
                e.inject_rest_fault(RestFault::new(FaultResponse::empty_body(503), 1));
            },
            rest_faults: 2,
            recovered: anytime,
        },
        Fault {
            name: "REST 500 x2 during op 7",
            inject: |e| {
                e.fail_next_rest_calls(2);
                assert_eq!(e.send_reconnect(), 1);
            },
            rest_faults: 2,
            recovered: resumed,
        },
    ]
}

/// The seed of this run: `FAULT_MATRIX_SEED` when set, else a fresh one.
fn seed() -> u64 {
    match std::env::var("FAULT_MATRIX_SEED") {
        Ok(seed) => seed.trim().parse().expect("FAULT_MATRIX_SEED is a number"),
        Err(_) => fastrand::u64(..),
    }
}

/// Fault positions: one in each of `count` equal slots between message 10 and message 190, at least 8 apart.
fn positions(rng: &mut fastrand::Rng, count: usize) -> Vec<usize> {
    let slot = (MESSAGES - 20) / count;
    (0..count).map(|k| 10 + k * slot + rng.usize(0..slot - 8)).collect()
}

fn faulted_calls(emulator: &Emulator) -> usize {
    emulator.rest_calls().iter().filter(|c| c.faulted).count()
}

/// Waits until the bot has recovered from `fault` (the gateway counters, and the REST faults used up).
async fn wait_for_recovery(emulator: &Emulator, fault: &Fault, before: &GatewayStats, faulted_before: usize) {
    emulator
        .wait_for_gateway(WAIT, fault.name, |now| (fault.recovered)(before, now))
        .await
        .unwrap_or_else(|e| panic!("the bot did not recover from {}: {e}", fault.name));
    let expected = faulted_before + fault.rest_faults;
    let deadline = tokio::time::Instant::now() + WAIT;
    while faulted_calls(emulator) < expected {
        assert!(tokio::time::Instant::now() < deadline, "the REST faults of {} were not all met", fault.name);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn every_plan_is_stored_once_and_answered_through_every_fault() {
    let seed = seed();
    eprintln!("fault matrix seed {seed} (FAULT_MATRIX_SEED={seed} repeats this run)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut faults = faults();
    rng.shuffle(&mut faults);
    let at = positions(&mut rng, faults.len());
    eprintln!("faults: {:?}", faults.iter().zip(&at).map(|(f, i)| (i, f.name)).collect::<Vec<_>>());

    within(Duration::from_secs(120), async {
        let bot = spawn_bot().await;
        let emulator = &bot.emulator;
        let mut posted = Vec::with_capacity(MESSAGES);
        let mut pending: Option<(&Fault, GatewayStats, usize)> = None;
        let mut next = 0;
        for i in 0..MESSAGES {
            if at.get(next) == Some(&i) {
                // The bot has recovered from the previous fault before the next one comes.
                if let Some((fault, before, faulted_before)) = pending.take() {
                    wait_for_recovery(emulator, fault, &before, faulted_before).await;
                }
                let fault = &faults[next];
                let (before, faulted_before) = (emulator.gateway_stats(), faulted_calls(emulator));
                (fault.inject)(emulator);
                pending = Some((fault, before, faulted_before));
                next += 1;
            }
            let coach = ["d", "i", "s", "n"][i % 4];
            let days = i64::try_from(i / 4).unwrap();
            let date = core_model::jiff::civil::date(2024, 1, 1) + core_model::jiff::Span::new().days(days);
            let id = emulator.post_message(CHANNEL, ANN, format!("!plan {coach} {date} plan number {i}"), vec![]);
            posted.push(id.unwrap());
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        assert_eq!(next, faults.len(), "every fault was injected");
        if let Some((fault, before, faulted_before)) = pending.take() {
            wait_for_recovery(emulator, fault, &before, faulted_before).await;
        }

        let replies = emulator.wait_for_sent_messages(CHANNEL, MESSAGES, Duration::from_secs(60)).await;
        let replies = replies.unwrap_or_else(|e| {
            panic!("only {} of {MESSAGES} replies arrived: {e}", emulator.sent_messages(CHANNEL).len())
        });
        // Let anything still in flight land, so a late duplicate would be seen.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let replies_now = emulator.sent_messages(CHANNEL);
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

        // What the REST log shows: every failed call was tried again, never sooner than a 429 said.
        let calls = emulator.rest_calls();
        let injected: usize = faults.iter().map(|f| f.rest_faults).sum();
        assert_eq!(calls.iter().filter(|c| c.faulted).count(), injected, "every REST fault met a call");
        for (n, call) in calls.iter().enumerate().filter(|(_, c)| c.faulted) {
            let retry = calls[n + 1..]
                .iter()
                .find(|c| c.method == call.method && c.path == call.path)
                .unwrap_or_else(|| panic!("{} {} answered {} was never retried", call.method, call.path, call.status));
            if call.status == 429 {
                let waited = retry.at.duration_since(call.at).unwrap_or_default();
                assert!(waited >= RETRY_AFTER, "retried {waited:?} after a 429 that said {RETRY_AFTER:?}");
            }
        }
        let sent = calls.iter().filter(|c| c.method == "POST" && c.status == 200).count();
        assert_eq!(sent, MESSAGES, "the REST log shows each reply sent once");
    })
    .await;
}
