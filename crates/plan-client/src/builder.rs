//! [`ClientBuilder`]: the client's settings, their defaults, and their checks.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use core_model::{MarketTimeZone, Roster};

use crate::cache::{AnswerCache, PlanCache, Ttl};
use crate::client::{Inner, PlanClient};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::metrics::Counters;
use crate::retry::RetryPolicy;

/// Where plan-api listens by default (`cargo run -p plan-api`).
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";

/// Settings of a [`PlanClient`]. Every setting has a default:
///
/// | setting | default |
/// | --- | --- |
/// | [`base_url`](Self::base_url) | `http://127.0.0.1:8080` |
/// | [`cache_ttl`](Self::cache_ttl) | 60 s |
/// | [`negative_cache_ttl`](Self::negative_cache_ttl) | 15 s |
/// | [`cache_capacity`](Self::cache_capacity) | 100 entries |
/// | [`stale_if_error`](Self::stale_if_error) | 1 hour |
/// | [`timeout`](Self::timeout) | 10 s per request |
/// | [`max_retries`](Self::max_retries) | 3 (so 4 attempts at most) |
/// | [`backoff`](Self::backoff) | 100 ms doubling up to 2 s, with jitter |
/// | [`retry_budget`](Self::retry_budget) | 30 s |
/// | [`roster`](Self::roster) | the default roster: `d`, `i`, `s`, `n` |
/// | [`market_time_zone`](Self::market_time_zone) | `America/New_York` |
/// | [`clock`](Self::clock) | the system clock |
/// | [`http_client`](Self::http_client) | a plain-HTTP reqwest client |
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    cache_ttl: Duration,
    negative_cache_ttl: Duration,
    cache_capacity: usize,
    stale_if_error: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    roster: Roster,
    zone: MarketTimeZone,
    clock: Arc<dyn Clock>,
    http: Option<reqwest::Client>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            cache_ttl: Duration::from_secs(60),
            negative_cache_ttl: Duration::from_secs(15),
            cache_capacity: 100,
            stale_if_error: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            retry: RetryPolicy {
                max_retries: 3,
                base_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(2),
                budget: Duration::from_secs(30),
            },
            roster: Roster::default(),
            zone: MarketTimeZone::default(),
            clock: Arc::new(SystemClock),
            http: None,
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("cache_ttl", &self.cache_ttl)
            .field("negative_cache_ttl", &self.negative_cache_ttl)
            .field("cache_capacity", &self.cache_capacity)
            .field("stale_if_error", &self.stale_if_error)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("roster", &self.roster)
            .field("market_time_zone", &self.zone.name())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Where plan-api is, e.g. `http://127.0.0.1:8080` or `https://plans.example.com/coach-plans` (a path prefix
    /// is kept).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// How long a plan is served from the cache without asking the server. After it, the server is asked with
    /// the plan's ETag and an unchanged plan costs a `304`. `Duration::ZERO` revalidates on every read.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long "no plan" is served from the cache without asking the server: keep it short, a coach may post any
    /// moment. `Duration::ZERO` asks every time.
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_cache_ttl = ttl;
        self
    }

    /// Most entries kept (one per coach and date, plans and "no plan" alike); the least recently used goes first.
    /// At least 1.
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// When the server cannot be reached or fails, a cached plan confirmed at most this long ago is returned,
    /// marked [`Freshness::Stale`](crate::Freshness::Stale), instead of the error. `Duration::ZERO` turns this
    /// off.
    pub fn stale_if_error(mut self, max_age: Duration) -> Self {
        self.stale_if_error = max_age;
        self
    }

    /// How long one request may take (connecting, sending and reading the answer). More than zero.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times a failed request is retried (connect errors, timeouts and 5xx only; never a 4xx). `0`: no
    /// retry.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// The delay before the first retry, doubled for each further one up to `max`; each delay is jittered
    /// uniformly between half of it and all of it.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.retry.base_delay = base;
        self.retry.max_delay = max;
        self
    }

    /// No retry starts once this much time has passed since the first attempt of a request (nor when its delay
    /// would end past it), so a read gives up after about `retry_budget + timeout` at worst.
    pub fn retry_budget(mut self, budget: Duration) -> Self {
        self.retry.budget = budget;
        self
    }

    /// The coaches the client accepts. Use the server's roster (from [`PlanClient::coaches`]) when the deployment
    /// configures coaches other than the default ones.
    pub fn roster(mut self, roster: Roster) -> Self {
        self.roster = roster;
        self
    }

    /// The time zone in which `today` is computed; use the server's (`MARKET_TIMEZONE`).
    pub fn market_time_zone(mut self, zone: MarketTimeZone) -> Self {
        self.zone = zone;
        self
    }

    /// Where the client reads the time (cache ages and "today"); a [`ManualClock`](crate::ManualClock) in tests.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The reqwest client to send requests with, e.g. one with TLS, a proxy or custom headers. By default the
    /// client builds a plain-HTTP one. For `https`, enable a TLS feature of reqwest in your own crate (e.g.
    /// `rustls-no-provider`), install a rustls crypto provider at start-up, and pass the client built from it.
    /// The per-request timeout still applies.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the base URL is not an `http` or `https` URL, the capacity is 0, or the
    /// timeout is 0; also when the HTTP client cannot be built.
    pub fn build(self) -> Result<PlanClient> {
        let base = parse_base_url(&self.base_url)?;
        let capacity = NonZeroUsize::new(self.cache_capacity)
            .ok_or_else(|| Error::invalid("the cache capacity must be at least 1 entry"))?;
        if self.timeout.is_zero() {
            return Err(Error::invalid("the request timeout must be more than zero, e.g. 10 seconds"));
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .user_agent(concat!("coach-plans-plan-client/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(self.timeout)
                .build()
                .map_err(|e| Error::InvalidInput {
                    message: "the HTTP client cannot be built".to_owned(),
                    source: Some(Box::new(e)),
                })?,
        };
        let ttl = Ttl { plan: self.cache_ttl, absent: self.negative_cache_ttl };
        Ok(PlanClient::from_inner(Inner {
            http,
            base,
            timeout: self.timeout,
            retry: self.retry,
            stale_if_error: self.stale_if_error,
            roster: self.roster,
            zone: self.zone,
            clock: self.clock,
            cache: Mutex::new(PlanCache::new(capacity, ttl)),
            answers: Mutex::new(AnswerCache::new(capacity, ttl.plan)),
            counters: Counters::default(),
        }))
    }

    /// Builds the blocking client (see [`crate::blocking`]).
    ///
    /// # Errors
    /// As [`build`](Self::build); also when the client's runtime cannot be started.
    #[cfg(feature = "blocking")]
    pub fn build_blocking(self) -> Result<crate::blocking::PlanClient> {
        crate::blocking::PlanClient::from_async(self.build()?)
    }
}

/// The base URL without a trailing slash, checked.
fn parse_base_url(input: &str) -> Result<String> {
    let invalid = |why: &str| {
        Error::invalid(format!(
            "the base URL `{}` {why}; write it as http://HOST:PORT, e.g. {DEFAULT_BASE_URL}",
            input.chars().take(200).collect::<String>()
        ))
    };
    let url = url::Url::parse(input.trim()).map_err(|_| invalid("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must start with http:// or https://"));
    }
    if url.host().is_none() {
        return Err(invalid("has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(parse_base_url(input).ok().as_deref(), expected, "input {input:?}");
    }

    #[test]
    fn base_urls_are_checked_and_normalised() {
        check("http://127.0.0.1:8080", Some("http://127.0.0.1:8080"));
        check("http://127.0.0.1:8080/", Some("http://127.0.0.1:8080"));
        check("https://plans.example.com/coach-plans/", Some("https://plans.example.com/coach-plans"));
        check(" http://localhost:9 ", Some("http://localhost:9"));
        check("127.0.0.1:8080", None);
        check("ftp://127.0.0.1", None);
        check("http://h/?x=1", None);
        check("", None);
    }

    #[test]
    fn bad_settings_are_refused_with_the_fix() {
        let err = ClientBuilder::default().cache_capacity(0).build().unwrap_err();
        assert_eq!(err.to_string(), "the cache capacity must be at least 1 entry");
        let err = ClientBuilder::default().timeout(Duration::ZERO).build().unwrap_err();
        assert!(err.to_string().contains("more than zero"));
        let err = ClientBuilder::default().base_url("localhost:8080").build().unwrap_err();
        assert!(err.to_string().contains("e.g. http://127.0.0.1:8080"), "{err}");
    }
}
