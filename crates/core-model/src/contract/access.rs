//! The contract cases of [`TokenStore`] and [`WebhookStore`].

use std::collections::HashSet;
use std::sync::Arc;

use super::{Case, at, author, chart, edit, new_plan};
use crate::{
    ApiToken, AttemptOutcome, ChartKind, DeliveryStatus, EventSet, EventType, NewSubscription, NewToken, PlanChange,
    PlanRepository, Scope, TokenName, TokenStore, WebhookSecret, WebhookStore,
};

/// Runs the contract cases of [`TokenStore`], each on a fresh store from `make`.
pub fn run_access_cases<S, F>(make: F)
where
    S: TokenStore,
    F: Fn() -> S,
{
    let cases: [Case<S>; 2] = [
        ("tokens_are_found_by_hash_and_revoked_by_name", tokens_are_found_by_hash_and_revoked_by_name),
        ("a_name_is_taken_until_its_token_is_revoked", a_name_is_taken_until_its_token_is_revoked),
    ];
    for (name, case) in cases {
        eprintln!("contract case: {name}");
        case(Arc::new(make()));
    }
}

/// Runs the contract cases of [`WebhookStore`] (the outbox written with plan changes included), each on a fresh
/// store from `make`.
pub fn run_webhook_cases<S, F>(make: F)
where
    S: WebhookStore + PlanRepository,
    F: Fn() -> S,
{
    let cases: [Case<S>; 6] = [
        ("every_change_queues_its_event_for_subscribers", every_change_queues_its_event_for_subscribers),
        ("racing_claims_never_share_a_delivery", racing_claims_never_share_a_delivery),
        ("claims_lease_due_deliveries_once", claims_lease_due_deliveries_once),
        ("attempts_are_recorded_and_retries_wait", attempts_are_recorded_and_retries_wait),
        ("gone_disables_the_subscription", gone_disables_the_subscription),
        ("removing_a_subscription_removes_its_deliveries", removing_a_subscription_removes_its_deliveries),
    ];
    for (name, case) in cases {
        eprintln!("contract case: {name}");
        case(Arc::new(make()));
    }
}

fn token(seed: u8, name: &str, scope: Scope) -> (ApiToken, NewToken) {
    let token = ApiToken::from_random([seed; 32]);
    let new = NewToken {
        name: TokenName::parse(name).unwrap(),
        scope,
        hash: token.hash(),
        created_at: at(0),
        expires_at: Some(at(3600)),
    };
    (token, new)
}

fn tokens_are_found_by_hash_and_revoked_by_name<S: TokenStore>(store: Arc<S>) {
    let (agent, new) = token(1, "agent", Scope::Read);
    assert!(store.create_token(&new).unwrap());
    let (_, admin) = token(2, "ops", Scope::Admin);
    assert!(store.create_token(&admin).unwrap());
    let found = store.token_by_hash(&agent.hash()).unwrap().expect("found by its hash");
    assert_eq!((found.name.as_str(), found.scope, found.created_at), ("agent", Scope::Read, at(0)));
    assert_eq!((found.expires_at, found.last_used_at, found.revoked_at), (Some(at(3600)), None, None));
    assert_eq!(store.token_by_hash(&ApiToken::from_random([3; 32]).hash()).unwrap(), None);
    store.touch_token(&agent.hash(), at(5)).unwrap();
    assert_eq!(store.token_by_hash(&agent.hash()).unwrap().unwrap().last_used_at, Some(at(5)));
    assert!(store.revoke_token(&new.name, at(9)).unwrap());
    assert!(!store.revoke_token(&new.name, at(10)).unwrap(), "revoked already");
    assert_eq!(store.token_by_hash(&agent.hash()).unwrap().unwrap().revoked_at, Some(at(9)));
    let names: Vec<String> = store.list_tokens().unwrap().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["agent", "ops"], "oldest first, revoked ones listed too");
}

fn a_name_is_taken_until_its_token_is_revoked<S: TokenStore>(store: Arc<S>) {
    let (_, first) = token(1, "agent", Scope::Read);
    assert!(store.create_token(&first).unwrap());
    let (second_token, second) = token(2, "agent", Scope::Admin);
    assert!(!store.create_token(&second).unwrap(), "the name is taken");
    assert_eq!(store.token_by_hash(&second_token.hash()).unwrap(), None, "nothing stored for a refused token");
    assert!(store.revoke_token(&first.name, at(1)).unwrap());
    assert!(store.create_token(&second).unwrap(), "a revoked token's name can be used again");
    assert_eq!(store.token_by_hash(&second_token.hash()).unwrap().unwrap().scope, Scope::Admin);
}

fn subscribe<S: WebhookStore>(store: &S, url: &str, events: EventSet) -> crate::Subscription {
    let secret = WebhookSecret::from_random([7; 32]);
    let new = NewSubscription { url: url.to_owned(), events, secret, created_at: at(0) };
    let subscription = store.add_subscription(&new).unwrap();
    assert_eq!((subscription.url.as_str(), subscription.events), (url, events));
    subscription
}

fn every_change_queues_its_event_for_subscribers<S: WebhookStore + PlanRepository>(store: Arc<S>) {
    let plan = store.insert(new_plan("d", "2025-11-09", "before anyone listens", author(1, "Ann")), at(0)).unwrap();
    let all = subscribe(&*store, "https://a.example/hook", EventSet::all());
    let created_only = subscribe(&*store, "https://b.example/hook", EventSet::from_events([EventType::PlanCreated]));
    assert!(store.deliveries(None, 100).unwrap().is_empty(), "nothing is announced to a later subscriber");
    let ann = author(1, "Ann");
    let posted = store.insert(new_plan("d", "2025-11-10", "Long $NVDA", ann.clone()), at(1)).unwrap();
    store.change(posted.id, edit("Long $NVDA above 950"), &ann, at(2), None).unwrap();
    let charts = vec![chart("https://cdn.test/a.png", ChartKind::Attachment)];
    store.change(posted.id, PlanChange::ReplaceCharts(charts.into_iter().collect()), &ann, at(3), None).unwrap();
    store.change(posted.id, PlanChange::Delete, &ann, at(4), None).unwrap();
    let restored = store.change(posted.id, PlanChange::Restore, &ann, at(5), None).unwrap();
    store.change(plan.id, PlanChange::Delete, &ann, at(6), None).unwrap();

    let mut of_all = store.deliveries(Some(all.id), 100).unwrap();
    of_all.reverse();
    let events: Vec<&str> = of_all.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(
        events,
        ["plan.created", "plan.edited", "plan.charts_changed", "plan.deleted", "plan.restored", "plan.deleted"]
    );
    let first = &of_all[0];
    assert_eq!(
        (first.status, first.attempts, first.occurred_at, first.next_attempt_at),
        (DeliveryStatus::Pending, 0, at(1), at(1))
    );
    let created = first.plan.as_ref().expect("the plan as committed");
    assert_eq!((created.id, created.text.as_str(), created.version), (posted.id, "Long $NVDA", 1));
    assert_eq!(of_all[4].plan.as_ref(), Some(&restored), "the plan exactly as the change committed it");
    assert_eq!(of_all[2].plan.as_ref().unwrap().charts.len(), 1);
    let of_created = store.deliveries(Some(created_only.id), 100).unwrap();
    assert_eq!(of_created.len(), 1, "a subscription receives only the events it chose");
    let ids: HashSet<&str> = of_all.iter().chain(&of_created).map(|d| d.message_id.as_str()).collect();
    assert_eq!(ids.len(), 7, "every delivery has its own message id");
    assert!(ids.iter().all(|id| id.starts_with("msg_")));
    let test = store.enqueue_test(created_only.id, at(7)).unwrap().unwrap();
    assert_eq!((test.event, test.plan.is_none(), test.status), (EventType::WebhookTest, true, DeliveryStatus::Pending));
    assert_eq!(store.enqueue_test(999, at(7)).unwrap(), None);
}

fn racing_claims_never_share_a_delivery<S: WebhookStore + PlanRepository>(store: Arc<S>) {
    const PLANS: usize = 40;
    subscribe(&*store, "https://a.example/hook", EventSet::all());
    for n in 0..PLANS {
        let day = format!("2025-10-{:02}", n % 28 + 1);
        let coach = ["d", "i", "s", "n"][n / 28];
        store.insert(new_plan(coach, &day, "racing", author(1, "Ann")), at(1)).unwrap();
    }
    // Four workers (each on its own connection of the pool) claim a few at a time until nothing is due.
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                loop {
                    let claimed = store.claim_due(at(2), at(600), 3).unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    for (delivery, _) in claimed {
                        store.record_attempt(delivery.id, &AttemptOutcome::Delivered { status: 200 }, at(3)).unwrap();
                        mine.push(delivery.id);
                    }
                }
            })
        })
        .collect();
    let mut all: Vec<i64> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let claimed = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!((claimed, all.len()), (PLANS, PLANS), "every delivery claimed by exactly one worker");
}

fn claims_lease_due_deliveries_once<S: WebhookStore + PlanRepository>(store: Arc<S>) {
    let subscription = subscribe(&*store, "https://a.example/hook", EventSet::all());
    let ann = author(1, "Ann");
    store.insert(new_plan("d", "2025-11-10", "one", ann.clone()), at(1)).unwrap();
    store.insert(new_plan("s", "2025-11-10", "two", ann), at(2)).unwrap();
    assert!(store.claim_due(at(0), at(60), 10).unwrap().is_empty(), "not due before the change");
    let claimed = store.claim_due(at(3), at(60), 1).unwrap();
    assert_eq!(claimed.len(), 1, "at most the limit");
    assert_eq!(claimed[0].1, subscription, "with its subscription");
    assert_eq!(claimed[0].0.plan.as_ref().unwrap().text.as_str(), "one", "oldest first");
    let second = store.claim_due(at(3), at(60), 10).unwrap();
    assert_eq!(second.len(), 1, "a leased delivery is not claimed again");
    assert_eq!(second[0].0.plan.as_ref().unwrap().text.as_str(), "two");
    assert!(store.claim_due(at(30), at(90), 10).unwrap().is_empty(), "leases hold until they end");
    let after_lease = store.claim_due(at(61), at(120), 10).unwrap();
    assert_eq!(after_lease.len(), 2, "a claimer that died frees its deliveries when the lease ends");
}

fn attempts_are_recorded_and_retries_wait<S: WebhookStore + PlanRepository>(store: Arc<S>) {
    subscribe(&*store, "https://a.example/hook", EventSet::all());
    store.insert(new_plan("d", "2025-11-10", "one", author(1, "Ann")), at(1)).unwrap();
    let (delivery, _) = store.claim_due(at(1), at(60), 10).unwrap().remove(0);
    let retry =
        AttemptOutcome::Retry { status: Some(503), error: "503 Service Unavailable".into(), next_attempt_at: at(40) };
    store.record_attempt(delivery.id, &retry, at(2)).unwrap();
    let stored = store.deliveries(None, 10).unwrap().remove(0);
    assert_eq!((stored.status, stored.attempts, stored.last_status), (DeliveryStatus::Pending, 1, Some(503)));
    assert_eq!((stored.last_attempt_at, stored.next_attempt_at), (Some(at(2)), at(40)));
    assert_eq!(stored.message_id, delivery.message_id, "the same message id on every attempt");
    assert!(store.claim_due(at(39), at(99), 10).unwrap().is_empty(), "not before the retry is due");
    let (again, _) = store.claim_due(at(40), at(99), 10).unwrap().remove(0);
    assert_eq!(again.id, delivery.id, "recording an attempt ends the lease");
    store.record_attempt(again.id, &AttemptOutcome::Delivered { status: 204 }, at(41)).unwrap();
    let stored = store.deliveries(None, 10).unwrap().remove(0);
    assert_eq!((stored.status, stored.attempts, stored.last_status), (DeliveryStatus::Delivered, 2, Some(204)));
    assert_eq!(stored.last_error, None);
    assert!(store.claim_due(at(100), at(200), 10).unwrap().is_empty(), "delivered is done");
    store.insert(new_plan("s", "2025-11-10", "two", author(1, "Ann")), at(1)).unwrap();
    let (third, _) = store.claim_due(at(100), at(200), 10).unwrap().remove(0);
    let failed = AttemptOutcome::Failed { status: None, error: "connection refused".into() };
    store.record_attempt(third.id, &failed, at(101)).unwrap();
    let stored = store.deliveries(None, 1).unwrap().remove(0);
    assert_eq!((stored.status, stored.last_error.as_deref()), (DeliveryStatus::Failed, Some("connection refused")));
    assert!(store.claim_due(at(300), at(400), 10).unwrap().is_empty(), "failed is done");
}

fn gone_disables_the_subscription<S: WebhookStore + PlanRepository>(store: Arc<S>) {
    let gone = subscribe(&*store, "https://a.example/hook", EventSet::all());
    let other = subscribe(&*store, "https://b.example/hook", EventSet::all());
    let ann = author(1, "Ann");
    store.insert(new_plan("d", "2025-11-10", "one", ann.clone()), at(1)).unwrap();
    store.insert(new_plan("s", "2025-11-10", "two", ann.clone()), at(2)).unwrap();
    let claimed = store.claim_due(at(2), at(60), 1).unwrap();
    assert_eq!(claimed[0].1.id, gone.id);
    store.record_attempt(claimed[0].0.id, &AttemptOutcome::Gone, at(3)).unwrap();
    let subscriptions = store.subscriptions().unwrap();
    let disabled = subscriptions.iter().find(|s| s.id == gone.id).unwrap();
    assert_eq!(disabled.disabled_at, Some(at(3)));
    assert!(disabled.disabled_reason.as_deref().unwrap().contains("410"));
    assert!(subscriptions.iter().find(|s| s.id == other.id).unwrap().disabled_at.is_none());
    let of_gone = store.deliveries(Some(gone.id), 10).unwrap();
    assert!(of_gone.iter().all(|d| d.status == DeliveryStatus::Failed), "its pending deliveries fail");
    let due = store.claim_due(at(70), at(99), 10).unwrap();
    assert!(due.iter().all(|(_, s)| s.id == other.id) && due.len() == 2, "others still deliver");
    store.insert(new_plan("x", "2025-11-10", "three", ann), at(4)).unwrap();
    assert_eq!(store.deliveries(Some(gone.id), 10).unwrap().len(), 2, "nothing new for a disabled subscription");
}

fn removing_a_subscription_removes_its_deliveries<S: WebhookStore + PlanRepository>(store: Arc<S>) {
    let subscription = subscribe(&*store, "https://a.example/hook", EventSet::all());
    let kept = subscribe(&*store, "https://b.example/hook", EventSet::all());
    store.insert(new_plan("d", "2025-11-10", "one", author(1, "Ann")), at(1)).unwrap();
    assert!(store.remove_subscription(subscription.id).unwrap());
    assert!(!store.remove_subscription(subscription.id).unwrap(), "gone already");
    assert_eq!(store.subscriptions().unwrap(), vec![kept.clone()]);
    assert!(store.deliveries(Some(subscription.id), 10).unwrap().is_empty());
    assert_eq!(store.deliveries(None, 10).unwrap().len(), 1, "other subscriptions keep theirs");
    assert_eq!(store.claim_due(at(2), at(60), 10).unwrap().len(), 1);
    // The newest subscription removed, its id is not given again: a script that kept it never reaches another.
    assert!(store.remove_subscription(kept.id).unwrap());
    let next = subscribe(&*store, "https://c.example/hook", EventSet::all());
    assert!(next.id > kept.id, "{} after {}", next.id, kept.id);
}
