//! The coach-plans MCP server: the plans as tools and resources for LLM agents, over the service, read-only.
//!
//! [`PlanMcp`] is the server handler (on the official Rust SDK, `rmcp`). [`serve_stdio`] runs it over standard input
//! and output, for desktop agents that start a command (`plan-server mcp`); [`HttpTransport`] mounts it at `/mcp` of an
//! actix-web app (streamable HTTP), on the HTTP API's port.
//!
//! Tools: `list_coaches`, `get_plan`, `plans_for_date`, `search_plans`, `ticker_mentions`, `plan_history`.
//! Resources: `coach://coaches`, `coach://plans/{date}`, `coach://plans/{ticker}`.

mod http;
mod resources;
mod server;
mod tools;
mod views;

use rmcp::ServiceExt as _;

pub use http::{HTTP_PATH, HttpTransport, refusal};
pub use server::{INSTRUCTIONS, McpConfig, PlanMcp};

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
