//! The plan as the client returns it: the domain's fields (in core-model's types) plus how fresh the copy is.

use std::time::Duration;

use core_model::jiff::Timestamp;
use core_model::{Author, Chart, CoachId, PlanId, PlanSource, Ticker, TradingDate};
use serde::Serialize;

/// A coach's plan for a trading date, as read from plan-api (or from the client's cache).
///
/// The fields are the domain's ([`core_model`] types: [`CoachId`], [`TradingDate`], [`Author`], [`Chart`], ...),
/// read from the server's JSON by the client's own wire types and checked on the way in, so a `Plan` always holds
/// valid values. [`into_domain`](Plan::into_domain) gives the [`core_model::Plan`] for code that speaks the domain
/// type. [`freshness`](Plan::freshness) says whether this copy is current or a stale copy served because the server
/// could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// Storage id on the server.
    pub id: PlanId,
    /// Whose plan.
    pub coach: CoachId,
    /// The coach's name on the server's roster, e.g. `Day Trading`.
    pub coach_name: String,
    /// The trading date.
    pub date: TradingDate,
    /// The plan text.
    pub text: String,
    /// Who posted it (Discord user id, when known, and display name).
    pub author: Author,
    /// Where it was posted.
    pub source: PlanSource,
    /// Its charts, in order.
    pub charts: Vec<Chart>,
    /// For each chart, in order: where the server serves its copy of an attached image (`/api/v1/charts/{digest}`),
    /// which keeps working after Discord's own link (the chart's `url`) expires; `None` for links written in the
    /// text and for images the server has no copy of.
    pub chart_images: Vec<Option<String>>,
    /// The tickers its text mentions, in the order of their first mention (empty from servers that do not extract
    /// them).
    pub tickers: Vec<Ticker>,
    /// 1 when posted, plus one per change (edit, charts, delete, restore).
    pub version: u32,
    /// When it was posted (UTC).
    pub created_at: Timestamp,
    /// When it last changed (UTC).
    pub updated_at: Timestamp,
    /// Whether this copy is current.
    pub freshness: Freshness,
}

impl Plan {
    /// Whether the plan changed since it was posted.
    pub fn is_edited(&self) -> bool {
        self.version > 1
    }

    /// Whether this is a stale copy, served because the server could not be reached.
    pub fn is_stale(&self) -> bool {
        matches!(self.freshness, Freshness::Stale { .. })
    }

    /// The chart URLs to follow, in order: the server's copy of an attached image when it has one, else the link as
    /// posted (what the legacy `charts` list holds).
    pub fn chart_urls(&self) -> impl Iterator<Item = &str> {
        self.charts
            .iter()
            .enumerate()
            .map(|(i, c)| self.chart_images.get(i).and_then(Option::as_deref).unwrap_or(c.url.as_str()))
    }

    /// The plan as the domain type. The server serves active plans only, so `deleted_at` is `None`.
    pub fn into_domain(self) -> core_model::Plan {
        core_model::Plan {
            id: self.id,
            coach: self.coach,
            date: self.date,
            text: self.text,
            author: self.author,
            source: self.source,
            charts: self.charts,
            tickers: self.tickers,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            deleted_at: None,
        }
    }
}

/// Whether a returned plan is current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Freshness {
    /// From the server now, from a cache entry within its TTL, or confirmed unchanged by the server (a 304).
    Fresh,
    /// A cached copy older than the TTL, served because the server could not be reached or failed (stale-if-error).
    /// The plan may have changed on the server since.
    Stale {
        /// Time since the server last confirmed this copy.
        age: Duration,
        /// Why the server could not confirm it (the error's message).
        reason: String,
    },
}
