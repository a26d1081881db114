//! The blocking facade (feature `blocking`): the same client, cache and metrics for agents without an async runtime.
//!
//! It owns a small Tokio runtime (one worker thread, which drives the connections) and blocks the calling thread
//! on each call; calls from several threads run concurrently. Do not call it from inside an async runtime (use
//! [`crate::PlanClient`] there): such a call returns [`Error::InvalidInput`] instead of blocking the runtime.

use std::future::Future;
use std::sync::Arc;

use core_model::{HistoryEntry, TradingDate};

use crate::error::{Error, Result};
use crate::metrics::ClientMetrics;
use crate::plan::Plan;
use crate::server::{ServerHealth, ServerMetrics, ServerRoster};

/// The blocking client. Cheap to clone; clones share the cache, counters and runtime. Build it with
/// [`ClientBuilder::build_blocking`](crate::ClientBuilder::build_blocking) or [`PlanClient::new`].
///
/// The last clone must be dropped outside an async context (dropping a runtime there panics).
#[derive(Debug, Clone)]
pub struct PlanClient {
    client: crate::PlanClient,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl PlanClient {
    /// A blocking client of the plan-api at `base_url` with the default settings.
    ///
    /// # Errors
    /// As [`crate::PlanClient::new`]; also when the runtime cannot be started.
    pub fn new(base_url: &str) -> Result<Self> {
        crate::PlanClient::builder().base_url(base_url).build_blocking()
    }

    /// Wraps an async client: both share one cache and one set of counters.
    ///
    /// # Errors
    /// When the runtime cannot be started (no thread can be spawned).
    pub fn from_async(client: crate::PlanClient) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("plan-client")
            .enable_all()
            .build()
            .map_err(|e| Error::InvalidInput {
                message: "the blocking client's runtime cannot be started".to_owned(),
                source: Some(Box::new(e)),
            })?;
        Ok(Self { client, runtime: Arc::new(runtime) })
    }

    /// The async client inside, sharing this one's cache.
    pub fn as_async(&self) -> &crate::PlanClient {
        &self.client
    }

    fn block_on<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(
                "the blocking plan client was called from inside an async runtime; use plan_client::PlanClient there",
            ));
        }
        self.runtime.block_on(future)
    }

    /// See [`crate::PlanClient::fetch_coach_plan`].
    ///
    /// # Errors
    /// As the async method.
    pub fn fetch_coach_plan(&self, coach: &str, date: &str) -> Result<Option<Plan>> {
        self.block_on(self.client.fetch_coach_plan(coach, date))
    }

    /// See [`crate::PlanClient::fetch_all_coach_plans`].
    ///
    /// # Errors
    /// As the async method.
    pub fn fetch_all_coach_plans(&self, date: &str) -> Result<Vec<Plan>> {
        self.block_on(self.client.fetch_all_coach_plans(date))
    }

    /// See [`crate::PlanClient::search`].
    ///
    /// # Errors
    /// As the async method.
    pub fn search(&self, query: &crate::SearchQuery) -> Result<crate::SearchPage> {
        self.block_on(self.client.search(query))
    }

    /// See [`crate::PlanClient::search_all`].
    ///
    /// # Errors
    /// As the async method.
    pub fn search_all(&self, query: &crate::SearchQuery, max_plans: usize) -> Result<Vec<Plan>> {
        self.block_on(self.client.search_all(query, max_plans))
    }

    /// See [`crate::PlanClient::ticker_mentions`].
    ///
    /// # Errors
    /// As the async method.
    pub fn ticker_mentions(&self, query: &crate::MentionsQuery) -> Result<crate::TickerMentions> {
        self.block_on(self.client.ticker_mentions(query))
    }

    /// See [`crate::PlanClient::history`].
    ///
    /// # Errors
    /// As the async method.
    pub fn history(&self, coach: &str, date: &str) -> Result<Vec<HistoryEntry>> {
        self.block_on(self.client.history(coach, date))
    }

    /// See [`crate::PlanClient::coaches`].
    ///
    /// # Errors
    /// As the async method.
    pub fn coaches(&self) -> Result<ServerRoster> {
        self.block_on(self.client.coaches())
    }

    /// See [`crate::PlanClient::health`].
    ///
    /// # Errors
    /// As the async method.
    pub fn health(&self) -> Result<ServerHealth> {
        self.block_on(self.client.health())
    }

    /// See [`crate::PlanClient::server_metrics`].
    ///
    /// # Errors
    /// As the async method.
    pub fn server_metrics(&self) -> Result<ServerMetrics> {
        self.block_on(self.client.server_metrics())
    }

    /// See [`crate::PlanClient::metrics`].
    pub fn metrics(&self) -> ClientMetrics {
        self.client.metrics()
    }

    /// See [`crate::PlanClient::clear_cache`].
    pub fn clear_cache(&self) -> usize {
        self.client.clear_cache()
    }

    /// See [`crate::PlanClient::today`].
    pub fn today(&self) -> TradingDate {
        self.client.today()
    }
}
