//! The streamable HTTP transport: rmcp's service mounted at `/mcp` of the API's actix-web app, behind the checks
//! the SDK leaves out or answers otherwise than the MCP specification and its clients expect: the `Host` a request
//! is addressed to (against DNS rebinding), a body that is not a JSON-RPC message (400 with a JSON-RPC error, not
//! the SDK's 415), and the end of a session (204 for one that was open, 404 for one that is not).

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody as _};
use actix_web::dev::{RequestHead, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, guard, web};
use rmcp_actix_web::transport::{CancellationToken, LocalSessionManager, SessionManager as _, StreamableHttpService};

use crate::PlanMcp;

/// The path the HTTP transport is served at.
pub const HTTP_PATH: &str = "/mcp";

/// The header naming a request's MCP session.
const SESSION_HEADER: &str = "mcp-session-id";

/// Most bytes of a request body read to check it (the API's size limit applies before this one).
const MAX_BODY_BYTES: usize = 4 << 20;

/// The MCP server's streamable HTTP transport, to mount at [`HTTP_PATH`] of an actix-web app ([`Self::configure`]),
/// with sessions shared by every worker.
#[derive(Clone)]
pub struct HttpTransport {
    service: StreamableHttpService<PlanMcp, LocalSessionManager>,
    session_manager: Arc<LocalSessionManager>,
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
        let session_manager = Arc::new(LocalSessionManager::default());
        let service = StreamableHttpService::builder()
            .service_factory(Arc::new(move || Ok(mcp.clone())))
            .session_manager(Arc::clone(&session_manager))
            // The SDK checks too (an empty list would let every host through it: ours refuses them all first).
            .allowed_hosts(allowed_hosts.to_vec())
            .cancellation_token(sessions.clone())
            .build();
        Self { service, session_manager, allowed_hosts, sessions }
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
            .service(self.service.clone().scope_with_path(HTTP_PATH).wrap(from_fn({
                let sessions = Arc::clone(&self.session_manager);
                move |request: ServiceRequest, next: Next<BoxBody>| {
                    let sessions = Arc::clone(&sessions);
                    async move { screen(request, next, &sessions).await }
                }
            })));
    }

    /// Ends every session and its event stream (when the server stops: an agent's open stream would otherwise hold
    /// the shutdown until its timeout). Agents reconnect to the next server.
    pub fn close_sessions(&self) {
        self.sessions.cancel();
    }
}

/// A JSON-RPC error answer with no id, as the specification has a server answer a body it cannot take.
fn jsonrpc_refusal(code: i64, message: &str) -> HttpResponse {
    jsonrpc_error(StatusCode::BAD_REQUEST, code, message)
}

fn jsonrpc_error(status: StatusCode, code: i64, message: &str) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CACHE_CONTROL, "no-store")).json(serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": code, "message": message},
    }))
}

/// A refusal of the API's guard at `/mcp` (no token, too many requests, ...) as a JSON-RPC error (`-32000`, a server
/// error) with the guard's words and status: what MCP clients read out of an error answer and hand to the model.
pub fn refusal(status: StatusCode, message: &str) -> HttpResponse {
    jsonrpc_error(status, -32000, message)
}

/// Whether `value` is a JSON-RPC 2.0 message, or a batch of them.
fn is_jsonrpc(value: &serde_json::Value) -> bool {
    let one = |message: &serde_json::Value| message.get("jsonrpc").and_then(serde_json::Value::as_str) == Some("2.0");
    match value {
        serde_json::Value::Array(batch) => !batch.is_empty() && batch.iter().all(one),
        message => one(message),
    }
}

/// What the SDK is handed, and what it answers, per [the module's checks](self).
async fn screen(
    mut request: ServiceRequest,
    next: Next<BoxBody>,
    sessions: &LocalSessionManager,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let method = request.method().clone();
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if method == Method::POST && is_json {
        let payload = actix_web::body::BodyStream::new(request.take_payload());
        let body = match actix_web::body::to_bytes_limited(payload, MAX_BODY_BYTES).await {
            Ok(Ok(body)) => body,
            Ok(Err(_)) => {
                return Ok(request.into_response(jsonrpc_refusal(-32700, "the request body could not be read")));
            }
            Err(_) => {
                let message = format!("the request body is larger than {MAX_BODY_BYTES} bytes");
                return Ok(request.into_response(HttpResponse::PayloadTooLarge().body(message)));
            }
        };
        let refusal = match serde_json::from_slice::<serde_json::Value>(&body) {
            Err(error) => Some(jsonrpc_refusal(-32700, &format!("Parse error: the body is not JSON ({error})"))),
            Ok(value) if !is_jsonrpc(&value) => Some(jsonrpc_refusal(
                -32600,
                "Invalid Request: the body is not a JSON-RPC 2.0 message (an object with \"jsonrpc\": \"2.0\")",
            )),
            Ok(_) => None,
        };
        if let Some(refusal) = refusal {
            return Ok(request.into_response(refusal));
        }
        request.set_payload(actix_web::dev::Payload::from(body));
    }
    if method == Method::DELETE
        && let Some(id) = request.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok())
        && !sessions.has_session(&Arc::from(id)).await.unwrap_or(true)
    {
        let text = "there is no MCP session with that id (it ended, or the server restarted)";
        return Ok(request.into_response(HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body(text)));
    }
    let mut response = next.call(request).await?;
    if method == Method::DELETE && response.status() == StatusCode::ACCEPTED {
        // The session is ended; nothing follows (clients count 200 and 204 as done).
        *response.response_mut().status_mut() = StatusCode::NO_CONTENT;
    }
    Ok(response.map_body(|_, body| body.boxed()))
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
