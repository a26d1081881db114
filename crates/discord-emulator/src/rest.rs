//! The REST listener: Discord's API routes under `/api/v10` that a message bot uses, the attachment CDN,
//! injected faults, and the record of every call.

mod cdn;
mod commands;
mod interactions;
mod messages;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::faults::{FaultResponse, RestFault};
use crate::http::{self, ReadError, Request, Response};
use crate::ids::{ChannelId, GuildId, UserId, unix_millis_now};
use crate::model::RestCall;
use crate::multipart;
use crate::payload;
use crate::state::{Shared, State, fnv1a};

/// The route below `/api/v{N}` (or `/api`), e.g. `/channels/1/messages`; `None` for non-API paths.
pub(crate) fn api_route(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api")?;
    let rest = match rest.strip_prefix("/v") {
        Some(versioned) => {
            let digits = versioned.len() - versioned.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return None;
            }
            &versioned[digits..]
        }
        None => rest,
    };
    if rest.is_empty() {
        Some("/")
    } else if rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

/// Accepts REST connections until shutdown.
pub(crate) async fn run_listener(shared: Arc<Shared>, listener: TcpListener, done: mpsc::Sender<()>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            () = crate::state::stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(Arc::clone(&shared), stream, done.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "rest accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, mut stream: TcpStream, _done: mpsc::Sender<()>) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut buffer = Vec::new();
    loop {
        let request = tokio::select! {
            () = crate::state::stopped(&mut shutdown) => return,
            request = http::read_request(&mut stream, &mut buffer) => request,
        };
        let request = match request {
            Ok(Some(request)) => request,
            Ok(None) | Err(ReadError::Io) => return,
            Err(ReadError::Malformed(status)) => {
                let response = error_body(status, &format!("{status}: Bad Request"), 0);
                let _ = http::write_response(&mut stream, &response, false, false).await;
                return;
            }
        };
        let keep_alive = request.keep_alive;
        let head_only = request.method == "HEAD";
        let response = tokio::select! {
            () = crate::state::stopped(&mut shutdown) => return,
            response = handle(&shared, request) => response,
        };
        if http::write_response(&mut stream, &response, keep_alive, head_only).await.is_err() || !keep_alive {
            return;
        }
    }
}

/// Answers one request and records it.
pub(crate) async fn handle(shared: &Shared, request: Request) -> Response {
    let at = SystemTime::now();
    let started = Instant::now();
    let recorded_body = body_json(&request);
    let (response, faulted) = if let Some(route) = api_route(&request.path) {
        let delay = shared.lock().rest_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if let Some(fault) = take_fault(shared, &request.method, route, false) {
            (fault_response(&fault, route), true)
        } else if !authorized(shared, &request) && !is_interaction_route(route) {
            (error_body(401, "401: Unauthorized", 0), false)
        } else {
            (api(shared, &request, route), false)
        }
    } else if request.path.starts_with("/attachments/") && matches!(request.method.as_str(), "GET" | "HEAD") {
        // Only faults aimed at the CDN (a route filter on `/attachments/...`) apply to downloads.
        match take_fault(shared, &request.method, &request.path, true) {
            Some(fault) => (fault_response(&fault, &request.path), true),
            None => (cdn::cdn(shared, &request), false),
        }
    } else {
        (error_body(404, "404: Not Found", 0), false)
    };
    let call = RestCall {
        method: request.method,
        path: request.path,
        query: request.query,
        body: recorded_body,
        status: response.status,
        faulted,
        at,
        duration: started.elapsed(),
    };
    shared.lock().rest_calls.push(call);
    shared.rest_touched();
    response
}

/// Interaction callbacks and interaction webhooks are authorized by the interaction's token in the path, not by the
/// bot token.
fn is_interaction_route(route: &str) -> bool {
    route.starts_with("/interactions/") || route.starts_with("/webhooks/")
}

fn authorized(shared: &Shared, request: &Request) -> bool {
    request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bot "))
        .is_some_and(|token| token.trim() == shared.token)
}

/// Consumes one use of the first fault matching the call; with `filtered_only`, faults without a route filter do not
/// match.
fn take_fault(shared: &Shared, method: &str, route: &str, filtered_only: bool) -> Option<FaultResponse> {
    let mut state = shared.lock();
    let index = state.rest_faults.iter().position(|f| {
        f.times > 0
            && match &f.route {
                Some(filter) => filter.matches(method, route),
                None => !filtered_only,
            }
    })?;
    let fault: &mut RestFault = state.rest_faults.get_mut(index)?;
    fault.times -= 1;
    let response = fault.response.clone();
    if fault.times == 0 {
        state.rest_faults.remove(index);
    }
    Some(response)
}

fn fault_response(fault: &FaultResponse, route: &str) -> Response {
    match fault {
        FaultResponse::ServerError => error_body(500, "500: Internal Server Error", 0),
        FaultResponse::Status(status) => {
            let status = if (100..=999).contains(status) { *status } else { 500 };
            error_body(status, &format!("{status}: Injected fault"), 0)
        }
        FaultResponse::Raw { status, content_type, body } => {
            let status = if (100..=999).contains(status) { *status } else { 502 };
            let response = Response { status, headers: Vec::new(), body: body.clone() };
            match content_type {
                Some(content_type) => response.with_header("content-type", content_type.clone()),
                None => response,
            }
        }
        FaultResponse::RateLimited { retry_after } => {
            let secs = retry_after.as_secs_f64();
            let reset = unix_millis_now() as f64 / 1000.0 + secs;
            Response::json(
                429,
                &json!({"message": "You are being rate limited.", "retry_after": secs, "global": false}),
            )
            .with_header("retry-after", format!("{}", secs.ceil().max(1.0) as u64))
            .with_header("x-ratelimit-limit", "1")
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-reset", format!("{reset:.3}"))
            .with_header("x-ratelimit-reset-after", format!("{secs:.3}"))
            .with_header("x-ratelimit-bucket", format!("{:016x}", fnv1a(route.as_bytes())))
            .with_header("x-ratelimit-scope", "user")
        }
    }
}

/// A Discord JSON error.
fn error_body(status: u16, message: &str, code: u32) -> Response {
    Response::json(status, &json!({"message": message, "code": code}))
}

/// An API error answer.
pub(super) struct ApiError(Response);

impl ApiError {
    pub(super) fn new(status: u16, message: &str, code: u32) -> Self {
        Self(error_body(status, message, code))
    }

    fn unknown_channel() -> Self {
        Self::new(404, "Unknown Channel", 10003)
    }

    fn unknown_message() -> Self {
        Self::new(404, "Unknown Message", 10008)
    }

    pub(super) fn invalid_form(field: &str, code: &str, message: &str) -> Self {
        Self(Response::json(
            400,
            &json!({
                "message": "Invalid Form Body",
                "code": 50035,
                "errors": {field: {"_errors": [{"code": code, "message": message}]}},
            }),
        ))
    }

    fn empty_message() -> Self {
        Self::new(400, "Cannot send an empty message", 50006)
    }

    fn invalid_json() -> Self {
        Self::new(400, "The request body contains invalid JSON.", 50109)
    }
}

pub(super) type ApiResult = Result<Response, ApiError>;

fn api(shared: &Shared, request: &Request, route: &str) -> Response {
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let result = match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["users", "@me"]) => Ok(Response::json(200, &payload::current_user(&shared.lock()))),
        ("GET", ["users", id]) => get_user(shared, id),
        ("GET", ["gateway"]) => Ok(Response::json(200, &json!({"url": shared.gateway_url}))),
        ("GET", ["gateway", "bot"]) => Ok(Response::json(
            200,
            &json!({
                "url": shared.gateway_url,
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1},
            }),
        )),
        ("GET", ["channels", cid]) => get_channel(shared, cid),
        ("GET", ["channels", cid, "messages"]) => messages::list_messages(shared, request, cid),
        ("POST", ["channels", cid, "messages"]) => messages::create_message(shared, request, cid),
        ("GET", ["channels", cid, "messages", mid]) => messages::get_message(shared, cid, mid),
        ("PATCH", ["channels", cid, "messages", mid]) => messages::edit_message(shared, request, cid, mid),
        ("DELETE", ["channels", cid, "messages", mid]) => messages::delete_message(shared, cid, mid),
        ("POST", ["channels", cid, "typing"]) => parse_channel(&shared.lock(), cid).map(|_| Response::empty(204)),
        ("GET", ["guilds", gid]) => get_guild(shared, gid),
        ("GET", ["guilds", gid, "channels"]) => get_guild_channels(shared, gid),
        ("GET", ["guilds", gid, "members", uid]) => get_member(shared, gid, uid),
        ("POST", ["attachments", "refresh-urls"]) => cdn::refresh_urls(shared, request),
        ("GET", ["applications", "@me"]) => Ok(Response::json(200, &payload::application(&shared.lock()))),
        ("GET", ["applications", app, "commands"]) => commands::list(shared, app, None),
        ("PUT", ["applications", app, "commands"]) => commands::overwrite(shared, request, app, None),
        ("GET", ["applications", app, "guilds", gid, "commands"]) => commands::list(shared, app, Some(gid)),
        ("PUT", ["applications", app, "guilds", gid, "commands"]) => {
            commands::overwrite(shared, request, app, Some(gid))
        }
        ("POST", ["interactions", id, token, "callback"]) => interactions::callback(shared, request, id, token),
        ("POST", ["webhooks", app, token]) => interactions::followup(shared, request, app, token),
        ("GET", ["webhooks", app, token, "messages", message]) => interactions::get(shared, app, token, message),
        ("PATCH", ["webhooks", app, token, "messages", message]) => {
            interactions::edit(shared, request, app, token, message)
        }
        ("DELETE", ["webhooks", app, token, "messages", message]) => interactions::delete(shared, app, token, message),
        (_, path) if known_path(path) => Err(ApiError::new(405, "405: Method Not Allowed", 0)),
        _ => Err(ApiError::new(404, "404: Not Found", 0)),
    };
    result.unwrap_or_else(|ApiError(response)| response)
}

fn known_path(path: &[&str]) -> bool {
    matches!(
        path,
        ["users", _]
            | ["gateway"]
            | ["gateway", "bot"]
            | ["channels", _]
            | ["channels", _, "messages"]
            | ["channels", _, "messages", _]
            | ["channels", _, "typing"]
            | ["guilds", _]
            | ["guilds", _, "channels"]
            | ["guilds", _, "members", _]
            | ["attachments", "refresh-urls"]
            | ["applications", "@me"]
            | ["applications", _, "commands"]
            | ["applications", _, "guilds", _, "commands"]
            | ["interactions", _, _, "callback"]
            | ["webhooks", _, _]
            | ["webhooks", _, _, "messages", _]
    )
}

pub(super) fn parse_snowflake(text: &str, field: &str) -> Result<u64, ApiError> {
    text.parse::<u64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::invalid_form(field, "NUMBER_TYPE_COERCE", &format!("Value \"{text}\" is not snowflake."))
    })
}

pub(super) fn parse_channel(state: &State, text: &str) -> Result<ChannelId, ApiError> {
    let id = ChannelId(parse_snowflake(text, "channel_id")?);
    state.channel(id).map_err(|_| ApiError::unknown_channel())?;
    Ok(id)
}

fn get_user(shared: &Shared, id: &str) -> ApiResult {
    let id = UserId(parse_snowflake(id, "user_id")?);
    let state = shared.lock();
    let user = state.user(id).ok_or_else(|| ApiError::new(404, "Unknown User", 10013))?;
    Ok(Response::json(200, &payload::user(&user)))
}

pub(super) fn find_guild<'a>(state: &'a State, id: &str) -> Result<&'a crate::config::GuildSpec, ApiError> {
    let id = GuildId(parse_snowflake(id, "guild_id")?);
    state.config.guilds.iter().find(|g| g.id == id).ok_or_else(|| ApiError::new(404, "Unknown Guild", 10004))
}

fn get_guild(shared: &Shared, id: &str) -> ApiResult {
    let state = shared.lock();
    let guild = find_guild(&state, id)?;
    let mut value = payload::guild_create(&state, guild, false);
    if let Some(object) = value.as_object_mut() {
        for key in ["channels", "members", "threads", "presences", "voice_states", "joined_at", "large", "member_count"]
        {
            object.remove(key);
        }
    }
    Ok(Response::json(200, &value))
}

fn get_guild_channels(shared: &Shared, id: &str) -> ApiResult {
    let state = shared.lock();
    let guild = find_guild(&state, id)?;
    let channels: Vec<Value> =
        guild.channels.iter().enumerate().map(|(i, c)| payload::channel(guild.id, c, i)).collect();
    Ok(Response::json(200, &Value::Array(channels)))
}

fn get_member(shared: &Shared, gid: &str, uid: &str) -> ApiResult {
    let state = shared.lock();
    find_guild(&state, gid)?;
    let id = UserId(parse_snowflake(uid, "user_id")?);
    let user = state.user(id).ok_or_else(|| ApiError::new(404, "Unknown Member", 10007))?;
    Ok(Response::json(200, &payload::member(&state, &user, true)))
}

fn get_channel(shared: &Shared, cid: &str) -> ApiResult {
    let state = shared.lock();
    let id = parse_channel(&state, cid)?;
    state
        .config
        .guilds
        .iter()
        .find_map(|guild| {
            guild.channels.iter().position(|c| c.id == id).map(|i| payload::channel(guild.id, &guild.channels[i], i))
        })
        .map(|value| Response::json(200, &value))
        .ok_or_else(ApiError::unknown_channel)
}

/// The JSON of a request body for the record: the body itself, or a multipart `payload_json` part.
fn body_json(request: &Request) -> Option<Value> {
    if request.body.is_empty() {
        return None;
    }
    if let Some(boundary) = request.header("content-type").and_then(multipart::boundary) {
        let parts = multipart::parse(&boundary, &request.body)?;
        let part = parts.iter().find(|p| p.name == "payload_json")?;
        return serde_json::from_slice(&part.data).ok();
    }
    serde_json::from_slice(&request.body).ok()
}

#[cfg(test)]
mod tests {
    use super::api_route;

    #[test]
    fn api_routes_are_recognised() {
        assert_eq!(api_route("/api/v10/users/@me"), Some("/users/@me"));
        assert_eq!(api_route("/api/users/@me"), Some("/users/@me"));
        assert_eq!(api_route("/api/v10"), Some("/"));
        assert_eq!(api_route("/apix/v10"), None);
        assert_eq!(api_route("/api/vx/users"), None);
        assert_eq!(api_route("/attachments/1/2/a.png"), None);
    }
}
