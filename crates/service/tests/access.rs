//! Tokens and webhook subscriptions, over the in-memory store: what an operator and an agent see.

use std::sync::Arc;

use core_model::jiff::SignedDuration;
use core_model::memory::MemoryStore;
use core_model::{EventSet, EventType, Scope, TokenStore};
use service::{Access, AdminError, AuthError, Webhooks};

use core_model::testing::ManualClock as FixedClock;

fn fixture() -> (Access, Arc<MemoryStore>, Arc<FixedClock>) {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::starting_at("2026-01-05T12:00:00Z"));
    (Access::new(store.clone(), clock.clone()), store, clock)
}

#[tokio::test]
async fn a_created_token_authenticates_until_it_is_revoked() {
    let (access, store, _) = fixture();
    let (token, record) = access.create("agent", Scope::Read, None).await.unwrap();
    assert!(token.expose().starts_with("cpt_"));
    assert_eq!((record.name.as_str(), record.scope), ("agent", Scope::Read));
    let stored = store.list_tokens().unwrap();
    assert_eq!(stored, vec![record.clone()], "what is listed is what was made");
    let known = access.authenticate(token.expose()).await.unwrap();
    assert_eq!(known.name.as_str(), "agent");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(store.list_tokens().unwrap()[0].last_used_at.is_some(), "its use is recorded");
    access.revoke("agent").await.unwrap();
    assert!(matches!(access.authenticate(token.expose()).await, Err(AuthError::Revoked(n)) if n.as_str() == "agent"));
    let error = access.revoke("agent").await.unwrap_err();
    assert!(matches!(error, AdminError::UnknownToken(_)), "{error}");
    assert!(error.to_string().contains("token list"), "{error}");
}

#[tokio::test]
async fn unknown_malformed_and_expired_tokens_are_refused() {
    let (access, _, clock) = fixture();
    let (token, record) = access.create("short-lived", Scope::Admin, Some(1)).await.unwrap();
    assert_eq!(record.expires_at, Some(record.created_at + SignedDuration::from_hours(24)));
    assert!(access.authenticate(token.expose()).await.is_ok());
    clock.advance_by(SignedDuration::from_hours(24));
    assert!(matches!(access.authenticate(token.expose()).await, Err(AuthError::Expired(_))));
    for presented in ["", "Bearer x", "cpt_", "cpt_0123456789012345678901234567890123456789012"] {
        assert!(matches!(access.authenticate(presented).await, Err(AuthError::Unknown)), "{presented}");
    }
}

#[tokio::test]
async fn names_are_unique_among_active_tokens_and_expiries_bounded() {
    let (access, _, _) = fixture();
    access.create("agent", Scope::Read, None).await.unwrap();
    let taken = access.create("agent", Scope::Admin, None).await.unwrap_err();
    assert!(taken.to_string().contains("exists already"), "{taken}");
    for days in [0, 3651] {
        let error = access.create("other", Scope::Read, Some(days)).await.unwrap_err();
        assert!(error.to_string().contains("from 1 to 3650"), "{error}");
    }
    let error = access.create("white space", Scope::Read, None).await.unwrap_err();
    assert!(error.to_string().contains("token name"), "{error}");
}

#[tokio::test]
async fn subscriptions_get_a_secret_once_and_test_deliveries() {
    let (_, store, clock) = fixture();
    let webhooks = Webhooks::new(store.clone(), clock, false);
    let refused = webhooks.add("http://127.0.0.1:9/hook", None).await.unwrap_err();
    assert!(refused.to_string().contains("allow_insecure_loopback"), "{refused}");
    let bad_event = webhooks.add("https://hooks.example.com/p", Some("plan.updated")).await.unwrap_err();
    assert!(bad_event.to_string().contains("plan.created"), "{bad_event}");
    let none = webhooks.add("https://hooks.example.com/p", Some("")).await.unwrap_err();
    assert!(none.to_string().contains("name at least one"), "{none}");
    assert!(webhooks.list().await.unwrap().is_empty(), "a refused subscription is not stored");
    let every = webhooks.add("https://hooks.example.com/all", None).await.unwrap();
    assert_eq!(every.events, EventSet::all());
    let added = webhooks.add("https://hooks.example.com/p", Some("plan.created,plan.deleted")).await.unwrap();
    assert!(added.secret.expose().starts_with("whsec_"));
    assert_eq!(added.secret.key().map(|k| k.len()), Some(32));
    assert_eq!(added.events.events(), [EventType::PlanCreated, EventType::PlanDeleted]);
    let test = webhooks.test(added.id).await.unwrap();
    assert_eq!(test.event, EventType::WebhookTest);
    assert_eq!(webhooks.deliveries(Some(added.id), 10).await.unwrap(), vec![test]);
    assert!(matches!(webhooks.test(99).await, Err(AdminError::UnknownSubscription(99))));
    assert!(matches!(webhooks.deliveries(Some(99), 10).await, Err(AdminError::UnknownSubscription(99))));
    webhooks.remove(added.id).await.unwrap();
    assert_eq!(webhooks.list().await.unwrap().iter().map(|s| s.id).collect::<Vec<_>>(), [every.id]);
    assert!(matches!(webhooks.remove(added.id).await, Err(AdminError::UnknownSubscription(_))));
}
