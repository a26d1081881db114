//! What the server says about itself: its coach roster and "today", its health, and its request metrics.
//!
//! Health and metrics are plain data, so these public types read the server's JSON directly; fields the server adds
//! later are ignored.

use std::collections::BTreeMap;

use core_model::jiff::Timestamp;
use core_model::{Roster, TradingDate};
use serde::{Deserialize, Serialize};

/// The server's coach roster and calendar (`GET /api/v1/coaches`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerRoster {
    /// The coaches, in roster order. Pass it to [`ClientBuilder::roster`](crate::ClientBuilder::roster) when the
    /// deployment configures coaches other than the default ones.
    pub roster: Roster,
    /// The IANA time zone in which the server computes "today".
    pub market_timezone: String,
    /// Today's trading date according to the server.
    pub today: TradingDate,
}

/// `GET /health`: the database and the Discord bot. A `503` answer (the database cannot be read) is returned as a
/// value with [`status`](ServerHealth::status) `unhealthy`, not as an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerHealth {
    /// `healthy`, `degraded` (the bot is disconnected) or `unhealthy` (the database cannot be read).
    pub status: String,
    /// The server's version.
    pub version: String,
    /// The server's time (UTC).
    pub timestamp: Timestamp,
    /// Seconds since the server started.
    pub uptime_seconds: u64,
    /// The database.
    pub database: DatabaseHealth,
    /// The Discord bot.
    pub bot: BotHealth,
}

impl ServerHealth {
    /// Whether the server reports itself `healthy`.
    pub fn is_healthy(&self) -> bool {
        self.status == "healthy"
    }
}

/// The database part of [`ServerHealth`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DatabaseHealth {
    /// `ok` or `error`.
    pub status: String,
    /// What failed, when it did.
    pub error: Option<String>,
}

/// The Discord bot part of [`ServerHealth`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BotHealth {
    /// `connected`, `disconnected` or `unknown`.
    pub status: String,
    /// When the bot last reported.
    pub last_seen: Option<Timestamp>,
    /// Seconds since then.
    pub age_seconds: Option<u64>,
    /// The bot said it was connected but stopped reporting.
    pub stale: bool,
}

/// `GET /metrics` (JSON): the server's request counts and stored counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerMetrics {
    /// Seconds since the server started.
    pub uptime_seconds: f64,
    /// Requests served since then.
    pub requests: ServerRequestCounts,
    /// Stored counts, or `None` when the database cannot be read.
    pub plans: Option<ServerPlanCounts>,
    /// `ok` or `error`.
    pub database: String,
}

impl ServerMetrics {
    /// Requests the server answered on `route` (its template, e.g. `/api/v1/plans/{coach}/{date}`) with `method`
    /// and `status`.
    pub fn count(&self, route: &str, method: &str, status: u16) -> u64 {
        self.requests
            .routes
            .iter()
            .filter(|r| r.route == route && r.method == method && r.status == status)
            .map(|r| r.count)
            .sum()
    }
}

/// Request counts of [`ServerMetrics`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerRequestCounts {
    /// Every request served.
    pub total: u64,
    /// Answered with a 5xx.
    pub server_errors: u64,
    /// Answered with a 4xx.
    pub client_errors: u64,
    /// By status code (`"200"`, `"304"`, ...).
    pub by_status: BTreeMap<String, u64>,
    /// By route template, method and status.
    pub routes: Vec<ServerRouteCount>,
}

/// One route, method and status of [`ServerRequestCounts`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerRouteCount {
    /// Route template, or `unmatched`.
    pub route: String,
    /// HTTP method.
    pub method: String,
    /// Status answered.
    pub status: u16,
    /// Requests.
    pub count: u64,
    /// Mean latency in milliseconds.
    pub mean_ms: f64,
}

/// Stored counts of [`ServerMetrics`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerPlanCounts {
    /// Plans not deleted.
    pub active: u64,
    /// Plans deleted.
    pub deleted: u64,
    /// Charts.
    pub charts: u64,
    /// History entries.
    pub history_entries: u64,
}
