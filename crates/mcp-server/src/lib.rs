//! The coach-plans MCP server: the plans as tools and resources for LLM agents, over the service, read-only.
//!
//! [`PlanMcp`] is the server handler (on the official Rust SDK, `rmcp`). [`serve_stdio`] runs it over standard input
//! and output, for desktop agents that start a command (`plan-server mcp`); [`HttpTransport`] mounts it at `/mcp` of an
//! actix-web app (streamable HTTP), on the HTTP API's port.
//!
//! Tools: `list_coaches`, `get_plan`, `plans_for_date`, `search_plans`, `ticker_mentions`, `plan_history`.
//! Resources: `coach://coaches`, `coach://plans/{date}`, `coach://plans/{ticker}`.

mod resources;
mod server;
mod tools;
mod views;

use std::sync::Arc;

use actix_web::dev::RequestHead;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, guard, web};
use rmcp::ServiceExt as _;
use rmcp_actix_web::transport::{CancellationToken, LocalSessionManager, StreamableHttpService};

pub use server::{INSTRUCTIONS, McpConfig, PlanMcp};

/// The path the HTTP transport is served at.
pub const HTTP_PATH: &str = "/mcp";

/// Why the stdio server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The client's `initialize` never came or was refused.
    #[error("the MCP session could not start")]
    Start(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The session's task failed.
    #[error("the MCP session failed")]
    Session(#[source] tokio::task::JoinError),
}

/// Serves `mcp` over standard input and output until the client closes the session (or standard input).
///
/// # Errors
/// When the session cannot start or fails.
pub async fn serve_stdio(mcp: PlanMcp) -> Result<(), StdioError> {
    let running = mcp.serve(rmcp::transport::stdio()).await.map_err(|e| StdioError::Start(Box::new(e)))?;
    let reason = running.waiting().await.map_err(StdioError::Session)?;
    tracing::info!(?reason, "the MCP session ended");
    Ok(())
}

/// The MCP server's streamable HTTP transport, to mount at [`HTTP_PATH`] of an actix-web app ([`Self::configure`]),
/// with sessions shared by every worker.
#[derive(Clone)]
pub struct HttpTransport {
    service: StreamableHttpService<PlanMcp, LocalSessionManager>,
    allowed_hosts: Arc<[String]>,
    sessions: CancellationToken,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport").field("closed", &self.sessions.is_cancelled()).finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// The transport for `mcp`. `allowed_hosts` are the host names the API is reached under (any port): a request
    /// whose `Host` names another is refused with a 403 that says so, a defence against DNS rebinding. Empty, none
    /// is accepted.
    pub fn new(mcp: PlanMcp, allowed_hosts: Vec<String>) -> Self {
        let allowed_hosts: Arc<[String]> = allowed_hosts.iter().map(|h| normalize_host(h)).collect();
        let sessions = CancellationToken::new();
        let service = StreamableHttpService::builder()
            .service_factory(Arc::new(move || Ok(mcp.clone())))
            .session_manager(Arc::new(LocalSessionManager::default()))
            // The SDK checks too (an empty list would let every host through it: ours refuses them all first).
            .allowed_hosts(allowed_hosts.to_vec())
            .cancellation_token(sessions.clone())
            .build();
        Self { service, allowed_hosts, sessions }
    }

    /// Mounts the transport at [`HTTP_PATH`].
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        let allowed = Arc::clone(&self.allowed_hosts);
        let refused = Arc::clone(&self.allowed_hosts);
        config
            .service(
                web::scope(HTTP_PATH)
                    .guard(guard::fn_guard(move |request| !host_is_allowed(request.head(), &allowed)))
                    .default_service(web::to(move |request: HttpRequest| {
                        let refused = Arc::clone(&refused);
                        async move { refuse_host(&request, &refused) }
                    })),
            )
            .service(self.service.clone().scope_with_path(HTTP_PATH));
    }

    /// Ends every session and its event stream (when the server stops: an agent's open stream would otherwise hold
    /// the shutdown until its timeout). Agents reconnect to the next server.
    pub fn close_sessions(&self) {
        self.sessions.cancel();
    }
}

/// A host name as compared: lower case, an IPv6 address without its brackets.
fn normalize_host(host: &str) -> String {
    host.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

/// The host name a request's `Host` header names (without the port), if it is readable.
fn request_host(head: &RequestHead) -> Option<String> {
    let value = head.headers.get(header::HOST)?.to_str().ok()?;
    let authority = http::uri::Authority::try_from(value).ok()?;
    Some(normalize_host(authority.host()))
}

fn host_is_allowed(head: &RequestHead, allowed: &[String]) -> bool {
    request_host(head).is_some_and(|host| allowed.contains(&host))
}

/// The answer to a request addressed to a host the MCP endpoint does not answer for: what happened and what to do.
fn refuse_host(request: &HttpRequest, allowed: &[String]) -> HttpResponse {
    let named = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let named: String = named.chars().filter(|c| c.is_ascii_graphic()).take(100).collect();
    tracing::warn!(host = %named, "refused an MCP request addressed to another host (possible DNS rebinding)");
    HttpResponse::Forbidden().content_type("text/plain; charset=utf-8").body(format!(
        "the MCP endpoint answers only requests addressed to {}, not to `{named}` (a defence against DNS rebinding); \
         if agents reach this server under that name, the operator sets api.public_url (API_PUBLIC_URL) to the \
         address they use",
        allowed.join(", ")
    ))
}
