//! Who may ask, and how often: API tokens (`Authorization: Bearer`, or as the password of HTTP Basic, which is how
//! the predecessor's Python client sends a token written into its base URL) and a token bucket per token, or per
//! client address for requests without one.
//!
//! `/health` is never refused nor limited (load balancers and probes); `/` (the route list) is open too, but
//! limited. Every other route needs a token when `api.auth` is `required`; the webhook routes need an `admin` one.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError as _, web};
use base64::Engine as _;
use core_model::Scope;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;
use service::AuthError;

use crate::error::ApiError;
use crate::state::AppState;

/// The `WWW-Authenticate` challenge of a 401: both forms the API accepts.
const CHALLENGE: &str = r#"Bearer realm="coach-plans", Basic realm="coach-plans", charset="UTF-8""#;

/// How many requests a caller may make: `per_second` on average, `burst` at once. A `per_second` of 0 turns the
/// limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second, on average.
    pub per_second: u32,
    /// Requests at once, after a quiet period.
    pub burst: u32,
}

impl RateLimit {
    /// The deployments' default (`api.rate_limit`): 20 requests a second, 60 at once; no polling agent comes near it.
    pub const DEFAULT: Self = Self { per_second: 20, burst: 60 };
    /// No limit.
    pub const OFF: Self = Self { per_second: 0, burst: 0 };

    fn quota(self) -> Option<Quota> {
        let per_second = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst.max(1))?;
        Some(Quota::per_second(per_second).allow_burst(burst))
    }
}

/// Who may call the API, and how often.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// Whether every route but `/health` and `/` needs a token.
    pub auth_required: bool,
    /// The limit of callers without a token, per client address, and of `read` tokens, per token.
    pub rate_limit: RateLimit,
    /// The limit of `admin` tokens, per token.
    pub admin_rate_limit: RateLimit,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or networks); the client address is then the last
    /// address of that header not itself a trusted proxy.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for AccessConfig {
    /// No tokens and no limits: an app built in code limits what its builder asks for (the binaries ask for what
    /// the settings say, [`RateLimit::DEFAULT`] unless configured).
    fn default() -> Self {
        Self {
            auth_required: false,
            rate_limit: RateLimit::OFF,
            admin_rate_limit: RateLimit::OFF,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Whom a limit counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Caller {
    Token(String),
    Address(IpAddr),
}

/// The rate limiters of one app. What they refuse is counted in `/metrics` as the status 429 of each route.
pub(crate) struct Limiters {
    read: Option<DefaultKeyedRateLimiter<Caller>>,
    admin: Option<DefaultKeyedRateLimiter<Caller>>,
    checks: AtomicU64,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").finish_non_exhaustive()
    }
}

impl Limiters {
    pub(crate) fn new(config: &AccessConfig) -> Self {
        Self {
            read: config.rate_limit.quota().map(DefaultKeyedRateLimiter::keyed),
            admin: config.admin_rate_limit.quota().map(DefaultKeyedRateLimiter::keyed),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts a request of `caller`; `Err(wait)` when over its limit.
    fn check(&self, caller: &Caller, scope: Option<Scope>) -> Result<(), Duration> {
        let limiter = if scope == Some(Scope::Admin) { &self.admin } else { &self.read };
        let Some(limiter) = limiter else { return Ok(()) };
        // Forget callers idle long enough to have a full bucket again, now and then, so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
        }
        limiter.check_key(caller).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Nothing, and it is never limited.
    Nothing,
    /// Nothing, but it is limited.
    Open,
    /// A token of this scope, when authentication is required.
    Token(Scope),
    /// An admin token always: these routes change the deployment.
    Admin,
}

fn needs(path: &str) -> Needs {
    match path {
        "/health" => Needs::Nothing,
        "/" | "/dashboard/sign-in" | "/dashboard/sign-out" => Needs::Open,
        p if p.starts_with("/dashboard/assets/") => Needs::Open,
        p if p == "/api/v1/webhooks" || p.starts_with("/api/v1/webhooks/") => Needs::Admin,
        _ => Needs::Token(Scope::Read),
    }
}

/// The token a request presents: `Authorization: Bearer <token>`, or HTTP Basic with the token as password (any
/// user name), or, on a read (GET or HEAD) only, the dashboard's session cookie (so that a cookie can never be
/// used to change anything, whatever a browser sends along). `Err` for an `Authorization` header of another form.
fn presented(req: &ServiceRequest) -> Result<Option<String>, &'static str> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        let read = matches!(*req.method(), actix_web::http::Method::GET | actix_web::http::Method::HEAD);
        return Ok(req.cookie(service::access::BROWSER_COOKIE).filter(|_| read).map(|c| c.value().to_owned()));
    };
    let value = value.to_str().map_err(|_| "the Authorization header is not text")?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or("the Authorization header has no scheme; use Bearer <token>")?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Some(rest.to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| "the Basic credentials are not base64")?;
        let text = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
        let (_, password) =
            text.split_once(':').ok_or("the Basic credentials have no password; put the token there")?;
        return Ok(Some(password.to_owned()));
    }
    Err("use Authorization: Bearer <token>, or HTTP Basic with the token as password")
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the last address of `X-Forwarded-For`
/// that is not itself a trusted proxy.
fn client_address(req: &ServiceRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer))
}

fn is_legacy(path: &str) -> bool {
    path.starts_with("/api/coach-plans")
}

/// An error answer in the body the route's other errors have (the predecessor's on its routes, a mounted face's
/// own under its path).
fn refusal(state: &AppState, path: &str, status: StatusCode, message: &str) -> HttpResponse {
    if let Some(write) = state.refusals.of(path) {
        write(status, message)
    } else if is_legacy(path) {
        HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "error": message }))
    } else {
        ApiError::client(status, &message).error_response()
    }
}

fn unauthorized(state: &AppState, path: &str, message: &str) -> HttpResponse {
    let mut response = refusal(state, path, StatusCode::UNAUTHORIZED, message);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
    response
}

fn too_many(state: &AppState, path: &str, wait: Duration) -> HttpResponse {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    let message = format!("too many requests; wait {seconds} s (Retry-After) and slow down");
    let mut response = refusal(state, path, StatusCode::TOO_MANY_REQUESTS, &message);
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Whether the path is a dashboard page a person opens (a refused one sends them to the sign-in form); the page's
/// own background reads (`/dashboard/live`) get the API's 401.
fn is_page(path: &str) -> bool {
    (path == "/dashboard" || path.starts_with("/dashboard/")) && path != "/dashboard/live"
}

/// A 401 (or, for a dashboard page, a redirect to the sign-in form), counted against the client's address like an
/// anonymous request: a client guessing tokens gets 429s once over its address's limit.
fn refused_token(req: &ServiceRequest, state: &AppState, path: &str, message: &str) -> HttpResponse {
    let address = client_address(req, &state.config.access.trusted_proxies);
    match address.map(|ip| state.limiters.check(&Caller::Address(ip), None)) {
        Some(Err(wait)) => too_many(state, path, wait),
        _ if is_page(path) => {
            let next = req.uri().path_and_query().map_or(path, |p| p.as_str());
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            let location = format!("/dashboard/sign-in?next={next}");
            HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
        }
        _ => unauthorized(state, path, message),
    }
}

/// Checks the request's token and its rate, then calls the route.
pub(crate) async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let path = req.path().to_owned();
    let needs = needs(&path);
    if needs == Needs::Nothing {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let access = &state.config.access;
    let mut scope = None;
    let mut caller = None;
    let token_needed = access.auth_required && needs != Needs::Open;
    if token_needed || needs == Needs::Admin {
        if !access.auth_required {
            let message = "webhooks are managed over HTTP only with api.auth: required and an admin token; on the \
                           server, use plan-server webhook add|list|remove|test|deliveries instead";
            return Ok(req.into_response(refusal(&state, &path, StatusCode::FORBIDDEN, message)).map_into_right_body());
        }
        let token = match presented(&req) {
            Ok(Some(token)) => token,
            Ok(None) => {
                let message = "this API needs a token: send Authorization: Bearer <token>, or put it in the URL as \
                               http://agent:<token>@host/ (HTTP Basic); the operator makes one with plan-server \
                               token create";
                let response = refused_token(&req, &state, &path, message);
                return Ok(req.into_response(response).map_into_right_body());
            }
            Err(message) => {
                let response = refused_token(&req, &state, &path, message);
                return Ok(req.into_response(response).map_into_right_body());
            }
        };
        let Some(tokens) = state.access.as_ref() else {
            return Ok(req.into_response(ApiError::internal().error_response()).map_into_right_body());
        };
        match tokens.authenticate(&token).await {
            Ok(record) => {
                let required = if needs == Needs::Admin { Scope::Admin } else { Scope::Read };
                if !record.scope.allows(required) {
                    let message = format!(
                        "the token {} has the {} scope; this route needs an admin token",
                        record.name, record.scope
                    );
                    return Ok(req
                        .into_response(refusal(&state, &path, StatusCode::FORBIDDEN, &message))
                        .map_into_right_body());
                }
                scope = Some(record.scope);
                caller = Some(Caller::Token(record.name.to_string()));
            }
            Err(AuthError::Storage(error)) => {
                tracing::warn!(error = %error, "cannot check a token");
                let message = "the token cannot be checked now: the database is unavailable; try again shortly";
                let response = refusal(&state, &path, StatusCode::SERVICE_UNAVAILABLE, message);
                return Ok(req.into_response(response).map_into_right_body());
            }
            Err(error) => {
                let response = refused_token(&req, &state, &path, &error.to_string());
                return Ok(req.into_response(response).map_into_right_body());
            }
        }
    }
    let caller = caller.or_else(|| client_address(&req, &access.trusted_proxies).map(Caller::Address));
    if let Some(caller) = caller
        && let Err(wait) = state.limiters.check(&caller, scope)
    {
        return Ok(req.into_response(too_many(&state, &path, wait)).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn tokens_come_as_bearer_or_as_the_basic_password() {
        let bearer = TestRequest::default().insert_header(("authorization", "Bearer cpt_abc")).to_srv_request();
        assert_eq!(presented(&bearer), Ok(Some("cpt_abc".to_owned())));
        // `agent:cpt_abc`, as Python's requests sends it for http://agent:cpt_abc@host/.
        let basic =
            TestRequest::default().insert_header(("authorization", "Basic YWdlbnQ6Y3B0X2FiYw==")).to_srv_request();
        assert_eq!(presented(&basic), Ok(Some("cpt_abc".to_owned())));
        let digest = TestRequest::default().insert_header(("authorization", "Digest x")).to_srv_request();
        assert!(presented(&digest).unwrap_err().contains("Bearer"));
        assert_eq!(presented(&TestRequest::default().to_srv_request()), Ok(None));
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let via_proxy = TestRequest::default()
            .peer_addr("10.0.0.2:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "198.51.100.7, 10.0.0.9"))
            .to_srv_request();
        assert_eq!(client_address(&via_proxy, &trusted), Some("198.51.100.7".parse().unwrap()));
        let direct = TestRequest::default()
            .peer_addr("203.0.113.5:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "198.51.100.7"))
            .to_srv_request();
        assert_eq!(client_address(&direct, &trusted), Some("203.0.113.5".parse().unwrap()), "a forged header");
    }

    #[test]
    fn a_burst_is_refused_past_its_size_per_caller() {
        let limiters = Limiters::new(&AccessConfig {
            rate_limit: RateLimit { per_second: 1, burst: 3 },
            ..AccessConfig::default()
        });
        let one = Caller::Address("127.0.0.1".parse().unwrap());
        let other = Caller::Token("agent".to_owned());
        assert!((0..3).all(|_| limiters.check(&one, None).is_ok()));
        let wait = limiters.check(&one, None).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiters.check(&other, Some(Scope::Read)).is_ok(), "others are not limited by it");
        let off = Limiters::new(&AccessConfig {
            rate_limit: RateLimit { per_second: 0, burst: 0 },
            ..AccessConfig::default()
        });
        assert!((0..1000).all(|_| off.check(&one, None).is_ok()), "0 turns the limit off");
    }

    #[test]
    fn health_is_open_and_webhooks_need_admin() {
        assert_eq!(needs("/health"), Needs::Nothing);
        assert_eq!(needs("/"), Needs::Open);
        assert_eq!(needs("/api/v1/webhooks/3/test"), Needs::Admin);
        assert_eq!(needs("/api/v1/webhooksx"), Needs::Token(Scope::Read));
        assert_eq!(needs("/mcp"), Needs::Token(Scope::Read));
        assert_eq!(needs("/dashboard"), Needs::Token(Scope::Read));
        assert_eq!(needs("/dashboard/sign-in"), Needs::Open);
        assert_eq!(needs("/dashboard/assets/style.css"), Needs::Open);
        assert!(is_page("/dashboard/plans/d/2025-11-10") && !is_page("/dashboard/live") && !is_page("/dashboardx"));
    }
}
