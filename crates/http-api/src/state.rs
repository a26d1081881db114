//! What every handler shares: the service, the request metrics, and the API's configuration.

use std::sync::Arc;
use std::time::Duration;

use service::{Access, PlanService, Webhooks};

use crate::guard::{AccessConfig, Limiters};
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
    /// Who may call, and how often.
    pub access: AccessConfig,
}

impl ApiConfig {
    /// Who may keep an answer that a token opened: `private` (the caller's own cache only) when tokens are required,
    /// since a shared cache (a proxy, a CDN) would serve it to callers without one; `public` otherwise.
    pub(crate) fn cache_visibility(&self) -> &'static str {
        if self.access.auth_required { "private" } else { "public" }
    }
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
            access: AccessConfig::default(),
        }
    }
}

/// The use cases the API serves: plans, and the tokens and webhooks of an API that checks tokens.
#[derive(Debug, Clone)]
pub struct Services {
    /// Plans.
    pub plans: PlanService,
    /// Tokens, checked when `api.auth` is required (which then needs them).
    pub access: Option<Access>,
    /// Webhook subscriptions, managed by the admin routes.
    pub webhooks: Option<Webhooks>,
}

impl From<PlanService> for Services {
    fn from(plans: PlanService) -> Self {
        Self { plans, access: None, webhooks: None }
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
    /// Tokens.
    pub access: Option<Access>,
    /// Webhook subscriptions.
    pub webhooks: Option<Webhooks>,
    /// The rate limiters.
    pub(crate) limiters: Limiters,
    /// Answers kept for repeated reads.
    pub(crate) answers: crate::cache::AnswerCache,
    /// The endpoints of the routes mounted beside the API (the dashboard, MCP), as `GET /` lists them.
    pub(crate) mounted: Vec<(&'static str, &'static str)>,
    /// How the mounted faces write the guard's refusals under their paths.
    pub(crate) refusals: MountedRefusals,
}

/// The mounted faces' refusal writers, by path.
#[derive(Clone, Default)]
pub(crate) struct MountedRefusals(pub(crate) Vec<(&'static str, crate::RefusalWriter)>);

impl MountedRefusals {
    /// The writer for `path`: the one mounted at it or at a path above it.
    pub(crate) fn of(&self, path: &str) -> Option<&crate::RefusalWriter> {
        let under = |prefix: &str| path.strip_prefix(prefix).is_some_and(|r| r.is_empty() || r.starts_with('/'));
        self.0.iter().find(|(prefix, _)| under(prefix)).map(|(_, write)| write)
    }
}

impl std::fmt::Debug for MountedRefusals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(path, _)| path)).finish()
    }
}
