//! The Rust client of the coach-plans HTTP API (plan-api), for trading agents.
#![doc = include_str!("../README.md")]

#[cfg(feature = "blocking")]
pub mod blocking;
mod builder;
mod cache;
mod client;
mod clock;
mod error;
mod metrics;
mod plan;
mod retry;
mod search;
mod server;
mod wire;

pub use builder::{ClientBuilder, DEFAULT_BASE_URL};
pub use client::PlanClient;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use metrics::{ApiMetrics, CacheMetrics, ClientMetrics, RequestMetrics};
pub use plan::{Freshness, Plan};
pub use search::{MentionsQuery, SearchPage, SearchQuery, TickerMention, TickerMentions};
pub use server::{
    BotHealth, DatabaseHealth, ServerHealth, ServerMetrics, ServerPlanCounts, ServerRequestCounts, ServerRoster,
    ServerRouteCount,
};

/// The domain types the client's answers are made of, re-exported so that agents name the same ones.
pub use core_model;
