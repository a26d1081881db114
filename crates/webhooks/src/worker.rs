//! The delivery worker: claims due deliveries under a lease, sends each signed, records what came of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use core_model::jiff::{SignedDuration, Timestamp};
use core_model::{AttemptOutcome, Clock, Delivery, EventType, Plan, Subscription, WebhookStore, error_chain};
use http_body_util::Full;
use hyper::StatusCode;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinSet;

use crate::resolve::{PublicOnly, admitted};
use crate::sign::signature;

/// Renders a plan as the body's `data.plan` (the product's v1 shape; the binaries pass the HTTP API's renderer).
pub type RenderPlan = Arc<dyn Fn(Plan) -> Pin<Box<dyn Future<Output = serde_json::Value> + Send>> + Send + Sync>;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Longest an attempt may take, connecting and answering included.
    pub timeout: Duration,
    /// How long a delivery is retried after its event, then marked failed.
    pub retry_for: Duration,
    /// The wait before the first retry; each later one waits twice as long, up to `max_retry_delay`, with jitter.
    pub first_retry: Duration,
    /// The longest wait between two attempts.
    pub max_retry_delay: Duration,
    /// How often the outbox is looked at when it was empty.
    pub poll_interval: Duration,
    /// Most deliveries claimed (and sent at once) per round.
    pub batch: u32,
    /// Whether `http://` receivers on this machine may be delivered to (tests, the sandbox).
    pub allow_insecure_loopback: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry_for: Duration::from_secs(24 * 3600),
            first_retry: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(3600),
            poll_interval: Duration::from_millis(500),
            batch: 16,
            allow_insecure_loopback: false,
        }
    }
}

impl DeliveryConfig {
    /// How long a claim holds a delivery: longer than any attempt, so that only a claimer that died (or was killed
    /// mid-attempt) leaves it to be claimed again, when the lease runs out.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(5)
    }

    /// The wait after the `attempts`-th failed attempt: doubling from `first_retry` up to `max_retry_delay`, the
    /// upper half drawn at random ("equal jitter"), so that receivers coming back are not hit by every sender at once.
    pub fn retry_delay(&self, attempts: u32) -> Duration {
        let doubled = self.first_retry.saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).min(30)));
        let capped = doubled.min(self.max_retry_delay);
        let half = capped / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// The longest wait between looks at an outbox that cannot be read.
pub const MAX_OUTBOX_BACKOFF: Duration = Duration::from_secs(60);

/// The wait after the `failures`-th failed look at the outbox in a row: the poll interval, doubled with each failure
/// after the first, up to [`MAX_OUTBOX_BACKOFF`].
fn outbox_backoff(poll_interval: Duration, failures: u32) -> Duration {
    poll_interval.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16))).min(MAX_OUTBOX_BACKOFF)
}

/// The worker of one process. Several processes may run one over the same database: claims are leased, so each
/// delivery is attempted by one at a time.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn WebhookStore>,
    clock: Arc<dyn Clock>,
    render: RenderPlan,
    client: Client<HttpsConnector<HttpConnector<PublicOnly>>, Full<Bytes>>,
    config: DeliveryConfig,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The origin of a URL (scheme, host, port): what logs show of a target, whose path may hold a receiver's token.
fn origin(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| "(a bad URL)".to_owned(), |u| u.origin().ascii_serialization())
}

/// The HTTP client of deliveries: TLS with the web's roots (rustls with ring, given explicitly, so nothing is
/// installed process-wide), HTTP/1.1, no redirects followed, and the resolver that admits public addresses only.
fn client(config: &DeliveryConfig) -> Result<Client<HttpsConnector<HttpConnector<PublicOnly>>, Full<Bytes>>, String> {
    let mut http = HttpConnector::new_with_resolver(PublicOnly { allow_loopback: config.allow_insecure_loopback });
    http.enforce_http(false);
    http.set_connect_timeout(Some(config.timeout));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| e.to_string())?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

impl Worker {
    /// A worker over `store`, rendering plans with `render`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (its TLS configuration), with the reason.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        clock: Arc<dyn Clock>,
        render: RenderPlan,
        config: DeliveryConfig,
    ) -> Result<Self, String> {
        Ok(Self { store, clock, render, client: client(&config)?, config })
    }

    /// Delivers until `shutdown` completes: a round claims due deliveries and sends them at once; an empty outbox is
    /// looked at again after the poll interval. Attempts in flight at shutdown are finished (each is bounded by the
    /// timeout); deliveries not attempted stay pending for the next start.
    ///
    /// An outbox that cannot be read (the database down, a role that may not write) is looked at again after waits
    /// that double up to [`MAX_OUTBOX_BACKOFF`], and said so in the log at the 1st, 2nd, 4th, 8th ... failure in a
    /// row, not at every poll.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tracing::info!(poll_ms = self.config.poll_interval.as_millis() as u64, "webhook delivery worker started");
        tokio::pin!(shutdown);
        let mut failures: u32 = 0;
        loop {
            let claimed = tokio::select! {
                biased;
                () = &mut shutdown => break,
                claimed = self.claim_and_deliver() => claimed,
            };
            let wait = match claimed {
                Ok(sent) => {
                    if failures > 0 {
                        tracing::info!(failures, "the webhook outbox can be read again");
                        failures = 0;
                    }
                    if sent >= self.config.batch as usize {
                        continue;
                    }
                    self.config.poll_interval
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    if failures.is_power_of_two() {
                        tracing::warn!(
                            error = %error,
                            failures,
                            "cannot read the webhook outbox; trying again later, less often while it fails"
                        );
                    }
                    outbox_backoff(self.config.poll_interval, failures)
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("webhook delivery worker stopped");
    }

    /// One round: claims due deliveries, attempts them at once, records each outcome. Returns how many were claimed
    /// (none when the outbox cannot be read, which is logged).
    pub async fn round(&self) -> usize {
        self.claim_and_deliver().await.unwrap_or_else(|error| {
            tracing::warn!(error = %error, "cannot read the webhook outbox");
            0
        })
    }

    /// A round, or why the outbox could not be read.
    async fn claim_and_deliver(&self) -> Result<usize, String> {
        let now = self.clock.now();
        let lease_until = now + SignedDuration::try_from(self.config.lease()).unwrap_or(SignedDuration::from_secs(60));
        let (store, batch) = (Arc::clone(&self.store), self.config.batch);
        let claimed = match tokio::task::spawn_blocking(move || store.claim_due(now, lease_until, batch)).await {
            Ok(Ok(claimed)) => claimed,
            Ok(Err(error)) => return Err(error_chain(&error)),
            Err(error) => return Err(error.to_string()),
        };
        let count = claimed.len();
        let mut attempts = JoinSet::new();
        for (delivery, subscription) in claimed {
            let worker = self.clone();
            attempts.spawn(async move { worker.deliver(delivery, subscription).await });
        }
        while attempts.join_next().await.is_some() {}
        Ok(count)
    }

    /// Attempts one delivery and records the outcome.
    async fn deliver(&self, delivery: Delivery, subscription: Subscription) {
        let outcome = self.attempt(&delivery, &subscription).await;
        let attempt = delivery.attempts + 1;
        let target = origin(&subscription.url);
        match &outcome {
            AttemptOutcome::Delivered { status } => tracing::info!(
                subscription = subscription.id, delivery = delivery.id, message_id = %delivery.message_id,
                event = %delivery.event, target = %target, status, attempt, "webhook delivered"
            ),
            AttemptOutcome::Retry { status, error, next_attempt_at } => tracing::warn!(
                subscription = subscription.id, delivery = delivery.id, message_id = %delivery.message_id,
                event = %delivery.event, target = %target, status, attempt, error = %error,
                next_attempt_at = %next_attempt_at, "webhook not delivered; will retry"
            ),
            AttemptOutcome::Failed { status, error } => tracing::warn!(
                subscription = subscription.id, delivery = delivery.id, message_id = %delivery.message_id,
                event = %delivery.event, target = %target, status, attempt, error = %error,
                "webhook not delivered; given up"
            ),
            AttemptOutcome::Gone => tracing::warn!(
                subscription = subscription.id, delivery = delivery.id, target = %target,
                "the receiver answered 410 Gone; the subscription is disabled"
            ),
        }
        let (store, id, at) = (Arc::clone(&self.store), delivery.id, self.clock.now());
        let recorded = tokio::task::spawn_blocking(move || store.record_attempt(id, &outcome, at)).await;
        if let Ok(Err(error)) = recorded {
            // The lease runs out and the delivery is attempted again: at least once, never lost.
            tracing::warn!(delivery = id, error = %error_chain(&error), "cannot record a webhook attempt");
        }
    }

    /// The body of a delivery: its event type, its time, and its data (the plan, as committed, in the v1 shape).
    async fn body(&self, delivery: &Delivery) -> serde_json::Value {
        let data = match (&delivery.plan, delivery.event) {
            (Some(plan), _) => serde_json::json!({ "plan": (self.render)(plan.clone()).await }),
            (None, EventType::WebhookTest) => serde_json::json!({ "subscription_id": delivery.subscription_id }),
            (None, _) => serde_json::json!({}),
        };
        serde_json::json!({
            "type": delivery.event.as_str(),
            "timestamp": core_model::timestamp::rfc3339(delivery.occurred_at),
            "data": data,
        })
    }

    /// Sends one attempt and judges the answer.
    async fn attempt(&self, delivery: &Delivery, subscription: &Subscription) -> AttemptOutcome {
        let body = self.body(delivery).await.to_string();
        let sent_at = self.clock.now();
        let outcome = match self.send(delivery, subscription, body, sent_at).await {
            Ok(status) if status.is_success() => return AttemptOutcome::Delivered { status: status.as_u16() },
            Ok(StatusCode::GONE) => return AttemptOutcome::Gone,
            Ok(status) => (Some(status.as_u16()), format!("the receiver answered {status}")),
            Err(error) => (None, error),
        };
        let (status, error) = outcome;
        let delay = self.config.retry_delay(delivery.attempts + 1);
        let next_attempt_at = sent_at + SignedDuration::try_from(delay).unwrap_or(SignedDuration::from_secs(3600));
        let deadline = delivery.occurred_at
            + SignedDuration::try_from(self.config.retry_for).unwrap_or(SignedDuration::from_hours(24));
        if next_attempt_at > deadline {
            let error = format!("{error}; retried for {}, giving up", humanize(self.config.retry_for));
            AttemptOutcome::Failed { status, error }
        } else {
            AttemptOutcome::Retry { status, error, next_attempt_at }
        }
    }

    async fn send(
        &self,
        delivery: &Delivery,
        subscription: &Subscription,
        body: String,
        sent_at: Timestamp,
    ) -> Result<StatusCode, String> {
        let url = url::Url::parse(&subscription.url).map_err(|e| format!("the URL does not parse: {e}"))?;
        // An address written as an IP literal is not resolved, so it is judged here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal.filter(|ip| !admitted(*ip, self.config.allow_insecure_loopback)) {
            return Err(format!("{ip} is not a public address; webhooks are delivered to public hosts only"));
        }
        if url.scheme() != "https" && !(self.config.allow_insecure_loopback && url.scheme() == "http") {
            return Err("only https:// receivers are delivered to".to_owned());
        }
        let key = subscription.secret.key().ok_or("the subscription's secret is not base64")?;
        let timestamp = sent_at.as_second();
        let signed = signature(&key, &delivery.message_id, timestamp, body.as_bytes()).ok_or("empty secret")?;
        let uri: hyper::Uri = url.as_str().parse().map_err(|e| format!("the URL cannot be requested: {e}"))?;
        let request = hyper::Request::post(uri)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, concat!("coach-plans-webhooks/", env!("CARGO_PKG_VERSION")))
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("the request cannot be made: {e}"))?;
        let response = tokio::time::timeout(self.config.timeout, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {}", humanize(self.config.timeout)))?
            .map_err(|e| error_chain(&e))?;
        // The answer's body is not needed: dropping the response closes the connection without reading it.
        Ok(response.status())
    }
}

fn humanize(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 => format!("{} ms", duration.as_millis()),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_with_jitter_up_to_the_cap() {
        let config = DeliveryConfig {
            first_retry: Duration::from_secs(4),
            max_retry_delay: Duration::from_secs(60),
            ..DeliveryConfig::default()
        };
        for _ in 0..50 {
            let first = config.retry_delay(1);
            assert!(first >= Duration::from_secs(2) && first <= Duration::from_secs(4), "{first:?}");
            let third = config.retry_delay(3);
            assert!(third >= Duration::from_secs(8) && third <= Duration::from_secs(16), "{third:?}");
            let late = config.retry_delay(40);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60), "{late:?}");
        }
    }

    #[test]
    fn an_unreadable_outbox_is_looked_at_less_and_less_often() {
        let poll = Duration::from_millis(500);
        let waits: Vec<u64> = (1..=10).map(|n| outbox_backoff(poll, n).as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
        assert_eq!(outbox_backoff(poll, u32::MAX), MAX_OUTBOX_BACKOFF);
        // A day of an outbox that cannot be read: a few thousand looks (not 170,000), and a warning at each power of
        // two of them.
        let (mut elapsed, mut looks) = (Duration::ZERO, 0u32);
        while elapsed < Duration::from_secs(86_400) {
            looks += 1;
            elapsed += outbox_backoff(poll, looks);
        }
        assert!(looks < 1500, "{looks}");
        assert_eq!((1..=looks).filter(|n| n.is_power_of_two()).count(), 11);
    }

    #[test]
    fn logs_show_a_targets_origin_only() {
        assert_eq!(origin("https://hooks.example.com/T000/B000/secretpath?token=x"), "https://hooks.example.com");
    }
}
