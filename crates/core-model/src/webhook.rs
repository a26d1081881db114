//! Webhooks: subscriptions, the events they receive, and the outbox of deliveries.
//!
//! Storage writes a delivery for every subscription that wants the event in the same transaction as the change
//! itself ([`event_of`] names the event of a history action), so that a committed change is never without its
//! deliveries and a delivery never announces a change that was rolled back. A worker then claims due deliveries
//! under a lease ([`WebhookStore::claim_due`]), sends them, and records each attempt.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use crate::access::BadAccessValue;
use crate::{HistoryAction, Plan, RepoError};

/// What a subscription can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EventType {
    /// A plan was posted.
    #[serde(rename = "plan.created")]
    PlanCreated,
    /// A plan's text changed (and maybe its charts).
    #[serde(rename = "plan.edited")]
    PlanEdited,
    /// A plan was deleted.
    #[serde(rename = "plan.deleted")]
    PlanDeleted,
    /// A deleted plan was restored.
    #[serde(rename = "plan.restored")]
    PlanRestored,
    /// Only a plan's charts changed.
    #[serde(rename = "plan.charts_changed")]
    PlanChartsChanged,
    /// A test sent on request (`webhook test`); every subscription receives it.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    /// The events of plans, which subscriptions choose from.
    pub const PLAN_EVENTS: [Self; 5] =
        [Self::PlanCreated, Self::PlanEdited, Self::PlanDeleted, Self::PlanRestored, Self::PlanChartsChanged];

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlanCreated => "plan.created",
            Self::PlanEdited => "plan.edited",
            Self::PlanDeleted => "plan.deleted",
            Self::PlanRestored => "plan.restored",
            Self::PlanChartsChanged => "plan.charts_changed",
            Self::WebhookTest => "webhook.test",
        }
    }

    /// Its bit in an [`EventSet`].
    pub fn bit(self) -> u32 {
        match self {
            Self::PlanCreated => 1,
            Self::PlanEdited => 2,
            Self::PlanDeleted => 4,
            Self::PlanRestored => 8,
            Self::PlanChartsChanged => 16,
            Self::WebhookTest => 32,
        }
    }

    /// Reads a name written by [`as_str`](Self::as_str).
    ///
    /// # Errors
    /// When it names no event; the message lists them.
    pub fn parse(name: &str) -> Result<Self, BadAccessValue> {
        Self::PLAN_EVENTS.into_iter().chain([Self::WebhookTest]).find(|e| e.as_str() == name.trim()).ok_or_else(|| {
            BadAccessValue(format!(
                "{:?} is not an event; use {}",
                name.chars().take(60).collect::<String>(),
                Self::PLAN_EVENTS.map(Self::as_str).join(", ")
            ))
        })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event a history action announces.
pub fn event_of(action: HistoryAction) -> EventType {
    match action {
        HistoryAction::Created => EventType::PlanCreated,
        HistoryAction::Edited => EventType::PlanEdited,
        HistoryAction::Deleted => EventType::PlanDeleted,
        HistoryAction::Restored => EventType::PlanRestored,
        HistoryAction::ChartsChanged => EventType::PlanChartsChanged,
    }
}

/// The events a subscription receives, as bits (stored as a number, so that storage selects subscribers with one
/// bitwise test). Every subscription receives [`EventType::WebhookTest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventSet(u32);

impl EventSet {
    /// Every plan event.
    pub fn all() -> Self {
        Self::from_events(EventType::PLAN_EVENTS)
    }

    /// The set of `events` (and the test event).
    pub fn from_events(events: impl IntoIterator<Item = EventType>) -> Self {
        Self(events.into_iter().fold(EventType::WebhookTest.bit(), |bits, e| bits | e.bit()))
    }

    /// Reads a comma-separated list of event names ([`EventSet::all`] is how to ask for every event).
    ///
    /// # Errors
    /// When a name is not an event, or the list names none.
    pub fn parse(list: &str) -> Result<Self, BadAccessValue> {
        let names: Vec<&str> = list.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
        if names.is_empty() {
            return Err(BadAccessValue(format!(
                "the list of events is empty; name at least one of {}, or leave the events out for every one",
                EventType::PLAN_EVENTS.map(EventType::as_str).join(", ")
            )));
        }
        Ok(Self::from_events(names.into_iter().map(EventType::parse).collect::<Result<Vec<_>, _>>()?))
    }

    /// The set as stored.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// A set read back from storage.
    pub fn from_bits(bits: u32) -> Self {
        Self(bits | EventType::WebhookTest.bit())
    }

    /// Whether it holds `event`.
    pub fn contains(self, event: EventType) -> bool {
        self.0 & event.bit() != 0
    }

    /// Its plan events, in order.
    pub fn events(self) -> Vec<EventType> {
        EventType::PLAN_EVENTS.into_iter().filter(|e| self.contains(*e)).collect()
    }
}

/// A subscription's signing secret: `whsec_` and the base64 of 32 random bytes, as the Standard Webhooks
/// specification writes them. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// The prefix of every secret.
    pub const PREFIX: &'static str = "whsec_";

    /// A new secret from 32 random bytes (drawn by the caller from the operating system's generator).
    pub fn from_random(bytes: [u8; 32]) -> Self {
        use base64::Engine as _;
        Self(format!("{}{}", Self::PREFIX, base64::engine::general_purpose::STANDARD.encode(bytes)))
    }

    /// The key bytes HMAC signs with: the base64 after the prefix, decoded. `None` when it is not base64.
    pub fn key(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(&self.0[Self::PREFIX.len()..]).ok()
    }

    /// A secret from its text (as stored), when it has the prefix.
    pub fn new(text: String) -> Option<Self> {
        text.starts_with(Self::PREFIX).then_some(Self(text))
    }

    /// The secret, to sign with or to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

/// A subscription to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    /// Where deliveries go.
    pub url: String,
    /// What it receives.
    pub events: EventSet,
    /// What deliveries are signed with.
    pub secret: WebhookSecret,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// What it receives.
    pub events: EventSet,
    /// What deliveries are signed with.
    pub secret: WebhookSecret,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it stopped receiving (the receiver answered 410 Gone).
    pub disabled_at: Option<Timestamp>,
    /// Why.
    pub disabled_reason: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer came.
    Delivered,
    /// Given up: retried for the configured time, or its subscription was disabled.
    Failed,
}

impl DeliveryStatus {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Reads a stored word.
    pub fn parse(word: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed].into_iter().find(|s| s.as_str() == word)
    }
}

/// One event for one subscription, with every attempt's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt, so receivers drop duplicates.
    pub message_id: String,
    /// The subscription.
    pub subscription_id: i64,
    /// What happened.
    pub event: EventType,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// The plan as committed by the change ([`Plan`]'s serde form), `None` for a test event.
    pub plan: Option<Plan>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Timestamp,
    /// When the last attempt was made.
    pub last_attempt_at: Option<Timestamp>,
    /// The HTTP status of the last attempt, when an answer came.
    pub last_status: Option<u16>,
    /// What went wrong in the last attempt.
    pub last_error: Option<String>,
}

/// Whether `host` (a host name or IP address, IPv6 bracketed or not) is this machine: `localhost`, a loopback
/// address, or an IPv4 loopback address mapped into IPv6.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
}

/// Whether deliveries may go to `ip`: not loopback, unspecified, private (RFC 1918, unique local), shared (CGNAT),
/// link-local, multicast, broadcast, documentation, benchmarking or otherwise reserved (IANA's special-purpose
/// registries). An IPv4 address carried in IPv6 (mapped, translated, compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is
/// judged as the IPv4 address it reaches.
pub fn is_public_address(ip: std::net::IpAddr) -> bool {
    use std::net::{IpAddr, Ipv4Addr};
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0) // protocol assignments
                || (a == 192 && b == 0 && c == 2) // documentation
                || (a == 198 && b == 51 && c == 100) // documentation
                || (a == 203 && b == 0 && c == 113) // documentation
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |high: u16, low: u16| {
                let [h1, h2] = high.to_be_bytes();
                let [l1, l2] = low.to_be_bytes();
                is_public_address(IpAddr::V4(Ipv4Addr::new(h1, h2, l1, l2)))
            };
            // Mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96), IPv4-translated (::ffff:0:0:0/96) and IPv4-compatible
            // (::/96, deprecated) addresses reach their last 32 bits.
            if s[..6] == [0, 0, 0, 0, 0, 0xffff]
                || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
                || s[..6] == [0, 0, 0, 0, 0xffff, 0]
                || (s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified())
            {
                return embedded(s[6], s[7]);
            }
            // 6to4 (2002::/16) reaches the IPv4 address in its bits 16 to 48.
            if s[0] == 0x2002 {
                return embedded(s[1], s[2]);
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x3fff && s[1] < 0x1000) // documentation (3fff::/20)
                || (s[0] == 0x64 && s[1] == 0xff9b) // local-use NAT64 (64:ff9b:1::/48)
                || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments, Teredo, ORCHID (2001::/23)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only (100::/64)
        }
    }
}

/// Why a subscription was disabled when its receiver answered 410 Gone (also the last error of its deliveries that
/// were still pending).
pub const GONE_REASON: &str = "the receiver answered 410 Gone: the subscription is disabled";

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A 2xx answer: done.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        /// The status, when an answer came.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// When to try again.
        next_attempt_at: Timestamp,
    },
    /// Give up on this delivery.
    Failed {
        /// The status, when an answer came.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// The receiver answered 410 Gone: disable the subscription and fail its pending deliveries.
    Gone,
}

/// Storage of subscriptions and the outbox of deliveries.
///
/// Contract (checked by [`crate::contract::run_webhook_cases`]):
/// - Every plan insert and change MUST write, in its own transaction, one pending delivery (due at once, a new
///   unique `message_id`, the plan as committed) per enabled subscription whose [`EventSet`] holds the change's
///   [`event_of`] event.
/// - [`claim_due`](Self::claim_due) MUST return pending deliveries of enabled subscriptions that are due and not
///   leased by another claim, oldest first, and lease them until `lease_until`: no other claim returns them before.
/// - [`record_attempt`](Self::record_attempt) MUST count the attempt, store its outcome and end the lease.
pub trait WebhookStore: Send + Sync + 'static {
    /// Stores a subscription.
    ///
    /// # Errors
    /// Storage failures only.
    fn add_subscription(&self, new: &NewSubscription) -> Result<Subscription, RepoError>;

    /// Every subscription, oldest first.
    ///
    /// # Errors
    /// Storage failures only.
    fn subscriptions(&self) -> Result<Vec<Subscription>, RepoError>;

    /// Removes a subscription and its deliveries; `Ok(false)` when there is none with that id.
    ///
    /// # Errors
    /// Storage failures only.
    fn remove_subscription(&self, id: i64) -> Result<bool, RepoError>;

    /// Queues a [`EventType::WebhookTest`] delivery for a subscription; `Ok(None)` when there is none with that id.
    ///
    /// # Errors
    /// Storage failures only.
    fn enqueue_test(&self, id: i64, at: Timestamp) -> Result<Option<Delivery>, RepoError>;

    /// Claims up to `limit` due deliveries with their subscriptions, leased until `lease_until`.
    ///
    /// # Errors
    /// Storage failures only.
    fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<(Delivery, Subscription)>, RepoError>;

    /// Records an attempt of a delivery made at `at`.
    ///
    /// # Errors
    /// Storage failures only.
    fn record_attempt(&self, delivery_id: i64, outcome: &AttemptOutcome, at: Timestamp) -> Result<(), RepoError>;

    /// Deliveries, newest first, of one subscription or of all; at most `limit`.
    ///
    /// # Errors
    /// Storage failures only.
    fn deliveries(&self, subscription: Option<i64>, limit: u32) -> Result<Vec<Delivery>, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_sets_parse_and_always_hold_the_test_event() {
        let set = EventSet::parse("plan.created, plan.deleted").unwrap();
        assert!(set.contains(EventType::PlanCreated) && set.contains(EventType::PlanDeleted));
        assert!(!set.contains(EventType::PlanEdited));
        assert!(set.contains(EventType::WebhookTest));
        assert_eq!(set.events(), [EventType::PlanCreated, EventType::PlanDeleted]);
        for empty in ["", " , "] {
            let error = EventSet::parse(empty).unwrap_err().to_string();
            assert!(
                error.contains("at least one of plan.created") && error.contains("leave the events out"),
                "{error}"
            );
        }
        let error = EventSet::parse("plan.updated").unwrap_err().to_string();
        assert!(error.contains("plan.updated") && error.contains("plan.charts_changed"), "{error}");
        assert_eq!(EventSet::from_bits(EventSet::all().bits()), EventSet::all());
    }

    #[test]
    fn every_history_action_announces_its_event() {
        assert_eq!(event_of(HistoryAction::ChartsChanged).as_str(), "plan.charts_changed");
        for event in EventType::PLAN_EVENTS {
            assert_eq!(EventType::parse(event.as_str()), Ok(event));
        }
    }

    #[test]
    fn only_public_addresses_receive() {
        for public in ["93.184.216.34", "1.1.1.1", "2606:2800:220:1::1", "64:ff9b::5db8:d822", "2002:5db8:d822::1"] {
            assert!(is_public_address(public.parse().unwrap()), "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "ff02::1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.1",
            "192.0.0.8",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:c0a8:1::1",
            "::7f00:1",
            "2001:db8::1",
            "2001::1",
            "100::1",
            "::ffff:0:a00:1",
            "fec0::1",
            "3fff::1",
            "3fff:fff::1",
        ] {
            assert!(!is_public_address(private.parse().unwrap()), "{private}");
        }
        assert!(is_public_address("3fff:1000::1".parse().unwrap()), "past the documentation range");
    }

    #[test]
    fn secrets_are_redacted() {
        let secret = WebhookSecret::new("whsec_c2VjcmV0".to_owned()).unwrap();
        assert!(!format!("{secret:?}").contains("c2VjcmV0"));
        assert!(WebhookSecret::new("secret".to_owned()).is_none());
    }
}
