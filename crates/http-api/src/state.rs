//! What every handler shares: the service, the request metrics, and the API's configuration.

use std::sync::Arc;
use std::time::Duration;

use service::PlanService;

use crate::metrics::RequestMetrics;

/// How the API serves.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Origins allowed by CORS; `*` allows any. Empty: no cross-origin access.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest query string accepted, in bytes.
    pub max_query_bytes: usize,
    /// Worker threads; `None` for one per CPU core.
    pub workers: Option<usize>,
    /// Connections of the storage pool. Each worker's blocking thread pool, where storage calls run, gets its share
    /// of them and no more threads: a thread beyond the connections could only wait for one.
    pub storage_connections: usize,
    /// How long in-flight requests may take to finish after a shutdown signal.
    pub shutdown_timeout: Duration,
    /// A bot that has not reported for this long is counted as disconnected.
    pub bot_stale_after: Duration,
    /// `Cache-Control: max-age` of plan responses, in seconds.
    pub cache_max_age_seconds: u32,
    /// The API's address as agents reach it (e.g. `https://plans.example.com` behind a proxy), for links in answers
    /// such as archived chart images; `None`: the scheme and `Host` of each request.
    pub public_url: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8080,
            cors_origins: Vec::new(),
            max_body_bytes: 64 * 1024,
            max_query_bytes: 4096,
            workers: None,
            storage_connections: 8,
            shutdown_timeout: Duration::from_secs(10),
            bot_stale_after: Duration::from_secs(90),
            cache_max_age_seconds: 10,
            public_url: None,
        }
    }
}

/// The state handlers receive as `web::Data<AppState>`.
#[derive(Debug)]
pub struct AppState {
    /// The use cases.
    pub service: PlanService,
    /// This app's request metrics.
    pub metrics: Arc<RequestMetrics>,
    /// How the API serves.
    pub config: ApiConfig,
    /// The OpenAPI document, for this roster, as served.
    pub openapi: String,
}
