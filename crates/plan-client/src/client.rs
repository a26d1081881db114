//! [`PlanClient`]: the async API over plan-api's `/api/v1` routes, with the cache, revalidation, stale-if-error
//! and retries.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use core_model::{CoachId, HistoryEntry, MarketTimeZone, Roster, TradingDate};
use reqwest::header::{ACCEPT, ETAG, IF_NONE_MATCH};
use serde::de::DeserializeOwned;

use crate::ClientBuilder;
use crate::cache::{AnswerCache, Entry, Key, Lookup, PlanCache};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::metrics::{CacheMetrics, ClientMetrics, Counters};
use crate::plan::{Freshness, Plan};
use crate::retry::RetryPolicy;
use crate::server::{ServerHealth, ServerMetrics, ServerRoster};
use crate::wire::{WireCoaches, WireError, WireHistory, WirePlan, WirePlans, plan_etag};

/// Most history entries asked for (the server's maximum).
const HISTORY_LIMIT: usize = 1000;

/// The client of plan-api, for trading agents.
///
/// Cheap to clone (an `Arc` inside): clones share the cache, the counters and the HTTP connection pool, so one
/// client can be cloned into every task or thread of an agent. Build it with [`PlanClient::builder`] or
/// [`PlanClient::new`]. It needs a Tokio runtime (reqwest's); without one, use [`crate::blocking`] (feature
/// `blocking`).
#[derive(Clone)]
pub struct PlanClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// Base URL without a trailing slash.
    pub(crate) base: String,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) stale_if_error: Duration,
    pub(crate) roster: Roster,
    pub(crate) zone: MarketTimeZone,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cache: Mutex<PlanCache>,
    pub(crate) answers: Mutex<AnswerCache>,
    pub(crate) counters: Counters,
}

impl std::fmt::Debug for PlanClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanClient")
            .field("base_url", &self.inner.base)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("cache_entries", &self.lock_cache().len())
            .finish_non_exhaustive()
    }
}

/// A server answer, read whole.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) etag: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl PlanClient {
    /// A builder with the defaults (see [`ClientBuilder`]).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client of the plan-api at `base_url` (e.g. `http://127.0.0.1:8080`) with the default settings.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `base_url` is not an `http` or `https` URL.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::builder().base_url(base_url).build()
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self { inner: Arc::new(inner) }
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// Today's trading date in the client's market time zone (see
    /// [`ClientBuilder::market_time_zone`]), from the client's clock. This is what `"today"` means in a date
    /// argument.
    pub fn today(&self) -> TradingDate {
        TradingDate::today_in(self.inner.clock.timestamp(), &self.inner.zone)
    }

    /// A coach's plan for a trading date, or `None` when the coach has no active plan for that date.
    ///
    /// `coach` is any form the product accepts (`d`, `D`, `d:`, `coach_d`), checked against the client's roster;
    /// `date` is `YYYY-MM-DD` or `today` (see [`today`](Self::today)). Nothing is sent for bad input.
    ///
    /// Served from the cache while the entry is within its TTL (a plan: [`ClientBuilder::cache_ttl`]; "no plan":
    /// [`ClientBuilder::negative_cache_ttl`]). After that the server is asked again, with the plan's ETag in
    /// `If-None-Match`, so an unchanged plan costs a `304` with no body. When the server cannot be reached or
    /// fails (after the retries), a cached plan no older than [`ClientBuilder::stale_if_error`] is returned with
    /// [`Freshness::Stale`] instead of the error.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown coach or a malformed date; [`Error::Unreachable`],
    /// [`Error::Timeout`] or a 5xx [`Error::Server`] when every attempt failed and no stale plan may be served;
    /// a 4xx [`Error::Server`] when the server refused the request (never retried); [`Error::BadResponse`] when
    /// the answer is not the plan API's.
    pub async fn fetch_coach_plan(&self, coach: &str, date: &str) -> Result<Option<Plan>> {
        Counters::bump(&self.inner.counters.requests);
        let key: Key = (self.parse_coach(coach)?, self.parse_date(date)?);
        let lookup = self.lock_cache().lookup(&key, self.inner.clock.now());
        let expired = match lookup {
            Lookup::Fresh(plan) => {
                Counters::bump(&self.inner.counters.cache_hits);
                return Ok(plan);
            }
            Lookup::Expired(entry) => Some(entry),
            Lookup::Missing => None,
        };
        Counters::bump(&self.inner.counters.cache_misses);
        // Revalidate a cached plan with its ETag; an expired "no plan" is simply asked again.
        let etag = expired.as_ref().filter(|e| e.plan.is_some()).and_then(|e| e.etag.clone());
        let path = format!("/api/v1/plans/{}/{}", key.0, key.1);
        match self.exchange(&path, etag.as_deref(), &[]).await {
            Ok(reply) => {
                let result = self.plan_reply(&path, key, reply, expired.filter(|_| etag.is_some()));
                self.count_outcome(result)
            }
            Err(error) => self.serve_stale(expired, error),
        }
    }

    /// Every active plan of a trading date, in roster order (`date`: `YYYY-MM-DD` or `today`).
    ///
    /// It fills the same cache entries as [`fetch_coach_plan`](Self::fetch_coach_plan), including "no plan" for
    /// the roster's coaches that have none, so single fetches that follow are cache hits. It is served from the
    /// cache when every coach of the roster has an entry for the date within its TTL. When the server cannot be
    /// reached, it is served stale only if every coach of the roster has a cached plan no older than
    /// [`ClientBuilder::stale_if_error`] or a "no plan" still within its TTL (so that a coach missing from a stale
    /// answer really had no plan a moment ago); the stale plans are marked [`Freshness::Stale`].
    ///
    /// # Errors
    /// As [`fetch_coach_plan`](Self::fetch_coach_plan).
    pub async fn fetch_all_coach_plans(&self, date: &str) -> Result<Vec<Plan>> {
        Counters::bump(&self.inner.counters.requests);
        let date = self.parse_date(date)?;
        let keys: Vec<Key> = self.inner.roster.coaches().iter().map(|c| (c.id.clone(), date)).collect();
        if let Some(plans) = self.all_fresh(&keys) {
            Counters::bump(&self.inner.counters.cache_hits);
            return Ok(plans);
        }
        Counters::bump(&self.inner.counters.cache_misses);
        let path = format!("/api/v1/plans?date={date}");
        match self.exchange(&path, None, &[]).await {
            Ok(reply) => {
                let result = self.plans_reply(&path, date, &keys, reply);
                self.count_outcome(result)
            }
            Err(error) => self.serve_all_stale(&keys, error),
        }
    }

    /// The change history of a coach's plans of a trading date (deleted plans included), newest first: up to the
    /// server's maximum of 1000 entries. Not cached.
    ///
    /// # Errors
    /// As [`fetch_coach_plan`](Self::fetch_coach_plan), without the stale copy.
    pub async fn history(&self, coach: &str, date: &str) -> Result<Vec<HistoryEntry>> {
        let coach = self.parse_coach(coach)?;
        let date = self.parse_date(date)?;
        let path = format!("/api/v1/plans/{coach}/{date}/history?limit={HISTORY_LIMIT}");
        let reply = self.exchange(&path, None, &[]).await?;
        let result = self
            .json::<WireHistory>(&path, reply)
            .and_then(|h| h.into_entries().map_err(|detail| Error::bad_response(&self.url(&path), detail)));
        self.count_outcome(result)
    }

    /// The server's coach roster, market time zone and today's date. Not cached.
    ///
    /// # Errors
    /// As [`history`](Self::history).
    pub async fn coaches(&self) -> Result<ServerRoster> {
        let path = "/api/v1/coaches";
        let reply = self.exchange(path, None, &[]).await?;
        let result = self
            .json::<WireCoaches>(path, reply)
            .and_then(|c| c.into_roster().map_err(|detail| Error::bad_response(&self.url(path), detail)));
        self.count_outcome(result)
    }

    /// The server's health. A `503` (the database cannot be read) is a value with status `unhealthy`, not an
    /// error, and is not retried.
    ///
    /// # Errors
    /// As [`history`](Self::history).
    pub async fn health(&self) -> Result<ServerHealth> {
        let path = "/health";
        let reply = self.exchange(path, None, &[503]).await?;
        let result = if reply.status == 503 {
            serde_json::from_slice::<ServerHealth>(&reply.body)
                .map_err(|e| Error::bad_response(&self.url(path), format!("not a health report: {e}")))
        } else {
            self.json::<ServerHealth>(path, reply)
        };
        self.count_outcome(result)
    }

    /// The server's request and storage metrics (`GET /metrics`, JSON).
    ///
    /// # Errors
    /// As [`history`](Self::history).
    pub async fn server_metrics(&self) -> Result<ServerMetrics> {
        let path = "/metrics?format=json";
        let reply = self.exchange(path, None, &[]).await?;
        let result = self.json::<ServerMetrics>(path, reply);
        self.count_outcome(result)
    }

    /// The client's metrics: reads, cache hits and misses, hit rate, revalidations, stale serves, API successes,
    /// errors and retries, cache size. Shared by every clone of this client.
    pub fn metrics(&self) -> ClientMetrics {
        let cache = self.lock_cache();
        let ttl = cache.ttl();
        let answers = self.lock_answers().len();
        let snapshot = CacheMetrics {
            size: cache.len(),
            max_size: cache.capacity(),
            answers,
            ttl_seconds: ttl.plan.as_secs(),
            negative_ttl_seconds: ttl.absent.as_secs(),
        };
        drop(cache);
        self.inner.counters.snapshot(snapshot)
    }

    /// Empties the cache (plans, "no plan" entries, search pages and ticker mentions); returns how many entries it
    /// held. Stale copies go too, so nothing can be served stale until the server has been read again.
    pub fn clear_cache(&self) -> usize {
        let count = self.lock_cache().clear() + self.lock_answers().clear();
        tracing::debug!(count, "plan cache cleared");
        count
    }

    pub(crate) fn lock_cache(&self) -> MutexGuard<'_, PlanCache> {
        // The cache is consistent after any panic (every change is a single call on the LRU map).
        self.inner.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lock_answers(&self) -> MutexGuard<'_, AnswerCache> {
        self.inner.answers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn parse_coach(&self, input: &str) -> Result<CoachId> {
        // An id spelt as the roster spells it (the usual call) costs one copy; other forms (`D`, `d:`, `coach_d`)
        // go through the roster's parser, which copies the input to normalise it.
        if let Some(coach) = self.inner.roster.coaches().iter().find(|c| c.id.as_str() == input) {
            return Ok(coach.id.clone());
        }
        self.inner.roster.parse(input).map_err(Error::invalid_from)
    }

    pub(crate) fn parse_date(&self, input: &str) -> Result<TradingDate> {
        let input = input.trim();
        if input.eq_ignore_ascii_case("today") {
            return Ok(self.today());
        }
        TradingDate::parse(input).map_err(Error::invalid_from)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base)
    }

    /// Counts the outcome of an answer the server gave (a transient failure was counted when it happened).
    pub(crate) fn count_outcome<T>(&self, result: Result<T>) -> Result<T> {
        match &result {
            Ok(_) => Counters::bump(&self.inner.counters.api_success),
            Err(e) if !e.is_transient() => Counters::bump(&self.inner.counters.api_errors),
            Err(_) => {}
        }
        result
    }

    /// Sends `GET path` and reads the answer, retrying connect errors, timeouts and 5xx (except the statuses in
    /// `final_statuses`) with exponential backoff and jitter, within the attempt and time bounds. A 4xx is
    /// returned at once.
    pub(crate) async fn exchange(&self, path: &str, etag: Option<&str>, final_statuses: &[u16]) -> Result<Reply> {
        let url = self.url(path);
        let started = std::time::Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failure = match self.attempt(&url, etag, attempts).await {
                Ok(reply) if reply.status < 500 || final_statuses.contains(&reply.status) => return Ok(reply),
                Ok(reply) => server_error(&url, &reply, attempts),
                Err(error) => error,
            };
            if !failure.is_transient() {
                return Err(failure);
            }
            Counters::bump(&self.inner.counters.api_errors);
            let Some(delay) = self.inner.retry.next_delay(attempts, started.elapsed()) else {
                tracing::warn!(url, attempts, error = %failure, "plan server request failed; not retrying");
                return Err(failure);
            };
            tracing::debug!(url, attempts, ?delay, error = %failure, "plan server request failed; retrying");
            Counters::bump(&self.inner.counters.retries);
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, url: &str, etag: Option<&str>, attempts: u32) -> Result<Reply> {
        let mut request = self.inner.http.get(url).timeout(self.inner.timeout).header(ACCEPT, "application/json");
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(|e| self.transport_error(url, e, attempts))?;
        let status = response.status().as_u16();
        let etag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.bytes().await.map_err(|e| self.transport_error(url, e, attempts))?.to_vec();
        Ok(Reply { status, etag, body })
    }

    fn transport_error(&self, url: &str, error: reqwest::Error, attempts: u32) -> Error {
        if error.is_timeout() {
            Error::Timeout { url: url.to_owned(), timeout: self.inner.timeout, attempts }
        } else if error.is_builder() {
            Error::InvalidInput {
                message: format!(
                    "cannot send a request to {url}; check the base URL (an https URL needs a TLS-capable \
                     reqwest client, see ClientBuilder::http_client)"
                ),
                source: Some(Box::new(error)),
            }
        } else {
            Error::Unreachable { url: url.to_owned(), attempts, source: error }
        }
    }

    /// Reads a `200` JSON answer; anything else is an error.
    fn json<T: DeserializeOwned>(&self, path: &str, reply: Reply) -> Result<T> {
        let url = self.url(path);
        if reply.status != 200 {
            return Err(unexpected(&url, &reply));
        }
        serde_json::from_slice(&reply.body).map_err(|e| Error::bad_response(&url, format!("unexpected JSON: {e}")))
    }

    /// The answer to `GET /api/v1/plans/{coach}/{date}`; `revalidating` is the expired entry whose ETag was sent.
    fn plan_reply(&self, path: &str, key: Key, reply: Reply, revalidating: Option<Entry>) -> Result<Option<Plan>> {
        let url = self.url(path);
        let now = self.inner.clock.now();
        match (reply.status, revalidating) {
            (200, _) => {
                let wire: WirePlan = serde_json::from_slice(&reply.body)
                    .map_err(|e| Error::bad_response(&url, format!("not a plan: {e}")))?;
                let plan = wire.into_plan().map_err(|detail| Error::bad_response(&url, detail))?;
                if plan.coach != key.0 || plan.date != key.1 {
                    return Err(Error::bad_response(
                        &url,
                        format!("asked for coach {} on {}, got coach {} on {}", key.0, key.1, plan.coach, plan.date),
                    ));
                }
                let entry = Entry { plan: Some(plan.clone()), etag: reply.etag, validated_at: now };
                self.lock_cache().insert(key, entry);
                Ok(Some(plan))
            }
            (304, Some(entry)) => {
                Counters::bump(&self.inner.counters.revalidations);
                let plan = entry.plan.clone();
                self.lock_cache().insert(key, Entry { validated_at: now, ..entry });
                Ok(plan)
            }
            (404, _) if is_not_found(&reply) => {
                self.lock_cache().insert(key, Entry { plan: None, etag: None, validated_at: now });
                Ok(None)
            }
            _ => Err(unexpected(&url, &reply)),
        }
    }

    /// The answer to `GET /api/v1/plans?date=`: fills one entry per plan and a "no plan" entry for every coach of
    /// the roster without one.
    fn plans_reply(&self, path: &str, date: TradingDate, keys: &[Key], reply: Reply) -> Result<Vec<Plan>> {
        let url = self.url(path);
        let wire: WirePlans = self.json(path, reply)?;
        if wire.date.as_deref() != Some(date.to_string().as_str()) {
            return Err(Error::bad_response(
                &url,
                format!("asked for the plans of {date}, got those of {}", wire.date.as_deref().unwrap_or("a range")),
            ));
        }
        let plans = wire
            .plans
            .into_iter()
            .map(|p| p.into_plan().map_err(|detail| Error::bad_response(&url, detail)))
            .collect::<Result<Vec<_>>>()?;
        if let Some(other) = plans.iter().find(|p| p.date != date) {
            return Err(Error::bad_response(&url, format!("asked for the plans of {date}, got one of {}", other.date)));
        }
        let now = self.inner.clock.now();
        let mut cache = self.lock_cache();
        for key in keys.iter().filter(|k| !plans.iter().any(|p| p.coach == k.0)) {
            cache.insert(key.clone(), Entry { plan: None, etag: None, validated_at: now });
        }
        for plan in &plans {
            let entry = Entry { plan: Some(plan.clone()), etag: Some(plan_etag(plan)), validated_at: now };
            cache.insert((plan.coach.clone(), date), entry);
        }
        Ok(plans)
    }

    /// Every key's plan, when every key has an entry within its TTL.
    fn all_fresh(&self, keys: &[Key]) -> Option<Vec<Plan>> {
        let now = self.inner.clock.now();
        let mut cache = self.lock_cache();
        if !keys.iter().all(|k| cache.is_fresh_key(k, now)) {
            return None;
        }
        let plans = keys
            .iter()
            .filter_map(|k| match cache.lookup(k, now) {
                Lookup::Fresh(plan) => plan,
                Lookup::Expired(_) | Lookup::Missing => None,
            })
            .collect();
        Some(plans)
    }

    /// Stale-if-error for a single plan.
    fn serve_stale(&self, expired: Option<Entry>, error: Error) -> Result<Option<Plan>> {
        if !error.is_transient() {
            return Err(error);
        }
        let age = |e: &Entry| self.inner.clock.now().saturating_duration_since(e.validated_at);
        match expired {
            Some(entry @ Entry { plan: Some(_), .. }) if age(&entry) <= self.inner.stale_if_error => {
                let age = age(&entry);
                tracing::warn!(?age, error = %error, "plan server failed; serving a stale cached plan");
                Counters::bump(&self.inner.counters.stale_serves);
                Ok(entry
                    .plan
                    .map(|plan| Plan { freshness: Freshness::Stale { age, reason: error.to_string() }, ..plan }))
            }
            _ => Err(error),
        }
    }

    /// Stale-if-error for a whole date.
    fn serve_all_stale(&self, keys: &[Key], error: Error) -> Result<Vec<Plan>> {
        if !error.is_transient() {
            return Err(error);
        }
        let now = self.inner.clock.now();
        let cache = self.lock_cache();
        let mut plans = Vec::new();
        for key in keys {
            let Some(entry) = cache.peek(key) else { return Err(error) };
            let age = now.saturating_duration_since(entry.validated_at);
            match &entry.plan {
                Some(plan) if age <= self.inner.stale_if_error => {
                    let freshness = if cache.is_fresh_key(key, now) {
                        Freshness::Fresh
                    } else {
                        Freshness::Stale { age, reason: error.to_string() }
                    };
                    plans.push(Plan { freshness, ..plan.clone() });
                }
                None if cache.is_fresh_key(key, now) => {}
                _ => return Err(error),
            }
        }
        drop(cache);
        tracing::warn!(error = %error, "plan server failed; serving the date's plans from the cache");
        Counters::bump(&self.inner.counters.stale_serves);
        Ok(plans)
    }
}

/// A 404 of the plan route meaning "no plan": the plan API's JSON error body with `not_found`.
fn is_not_found(reply: &Reply) -> bool {
    serde_json::from_slice::<WireError>(&reply.body).is_ok_and(|e| e.error == "not_found")
}

/// A 5xx answer as an error.
fn server_error(url: &str, reply: &Reply, attempts: u32) -> Error {
    let body = serde_json::from_slice::<WireError>(&reply.body).ok();
    Error::Server {
        status: reply.status,
        url: url.to_owned(),
        message: body.as_ref().map_or_else(|| status_text(reply.status), |b| b.message.clone()),
        request_id: body.and_then(|b| b.request_id),
        attempts,
    }
}

/// An answer the route should not give: an error status as [`Error::Server`], anything else as a bad response.
pub(crate) fn unexpected(url: &str, reply: &Reply) -> Error {
    if reply.status >= 400 {
        server_error(url, reply, 1)
    } else {
        Error::bad_response(url, format!("unexpected status {}", reply.status))
    }
}

fn status_text(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or_else(|| format!("status {status}"), str::to_owned)
}
