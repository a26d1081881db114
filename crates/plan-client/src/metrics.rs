//! The client's own counters, and the snapshot [`PlanClient::metrics`](crate::PlanClient::metrics) returns: every
//! field of the predecessor's Python `get_metrics()` (same names and nesting when serialised), plus revalidations
//! and stale serves.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters shared by every clone of a client.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
    pub(crate) revalidations: AtomicU64,
    pub(crate) stale_serves: AtomicU64,
    pub(crate) api_success: AtomicU64,
    pub(crate) api_errors: AtomicU64,
    pub(crate) retries: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub(crate) fn snapshot(&self, cache: CacheMetrics) -> ClientMetrics {
        let hits = Self::read(&self.cache_hits);
        let misses = Self::read(&self.cache_misses);
        let lookups = hits + misses;
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let rate = if lookups == 0 { 0.0 } else { hits as f64 / lookups as f64 * 100.0 };
        ClientMetrics {
            requests: RequestMetrics {
                total: Self::read(&self.requests),
                cache_hits: hits,
                cache_misses: misses,
                cache_hit_rate_percent: (rate * 100.0).round() / 100.0,
                revalidations: Self::read(&self.revalidations),
                stale_serves: Self::read(&self.stale_serves),
            },
            api: ApiMetrics {
                success: Self::read(&self.api_success),
                errors: Self::read(&self.api_errors),
                retries: Self::read(&self.retries),
            },
            cache,
        }
    }
}

/// A snapshot of the client's metrics. Serialised (e.g. with `serde_json`), it has the predecessor's
/// `get_metrics()` shape: `{"requests": {"total", "cache_hits", "cache_misses", "cache_hit_rate_percent", ...},
/// "api": {"success", "errors", "retries"}, "cache": {"size", "max_size", "ttl_seconds", ...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ClientMetrics {
    /// Plan reads and how the cache served them.
    pub requests: RequestMetrics,
    /// HTTP exchanges with the server.
    pub api: ApiMetrics,
    /// The cache's size and settings.
    pub cache: CacheMetrics,
}

/// Plan reads: calls of `fetch_coach_plan` and `fetch_all_coach_plans`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RequestMetrics {
    /// Plan reads (cache hits included), as the predecessor counted them.
    pub total: u64,
    /// Reads answered from a cache entry within its TTL, with no request to the server.
    pub cache_hits: u64,
    /// Reads that went to the server (including revalidations and reads that then failed).
    pub cache_misses: u64,
    /// `cache_hits / (cache_hits + cache_misses) * 100`, rounded to two decimals; 0 before any read.
    pub cache_hit_rate_percent: f64,
    /// Expired entries the server confirmed unchanged with a `304 Not Modified` (also counted as misses).
    pub revalidations: u64,
    /// Stale plans served because the server could not be reached or failed (stale-if-error).
    pub stale_serves: u64,
}

/// HTTP exchanges with the server, every route included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ApiMetrics {
    /// Answers the client expected: 2xx, 304, and 404 for "no plan".
    pub success: u64,
    /// Failed attempts: no connection, timeout, 5xx, other 4xx, unreadable answer.
    pub errors: u64,
    /// Attempts made after a first one failed.
    pub retries: u64,
}

/// The cache's state and settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CacheMetrics {
    /// Entries held (plans and "no plan").
    pub size: usize,
    /// Most entries kept.
    pub max_size: usize,
    /// Search pages and ticker mentions held (at most `max_size` more).
    pub answers: usize,
    /// How long a plan is served without asking the server, in seconds.
    pub ttl_seconds: u64,
    /// How long "no plan" is served without asking the server, in seconds.
    pub negative_ttl_seconds: u64,
}
