//! The coach-plans HTTP API over the service: the predecessor's routes (same paths and JSON shapes), native
//! `/api/v1` routes, `/health`, `/metrics` and the OpenAPI document.
//!
//! [`Application::build`] binds the listener (port 0 picks a free one, as tests do) and
//! [`Application::run_until`] serves until a shutdown signal, letting in-flight requests finish.

mod admin;
mod cache;
mod charts;
mod dto;
mod error;
mod guard;
mod legacy;
mod metrics;
mod openapi;
mod ops;
mod params;
mod request_id;
mod routes;
mod state;
mod v1;

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage as _, HttpServer, ResponseError as _, web};
use tracing_actix_web::TracingLogger;

pub use error::{ApiError, ErrorBody};
pub use guard::{AccessConfig, RateLimit};
pub use metrics::{LATENCY_BUCKETS, RequestMetrics};
pub use openapi::{ApiDoc, document as openapi_document};
pub use request_id::REQUEST_ID_HEADER;
pub use state::{ApiConfig, AppState, Services};

/// A plan as the v1 routes answer it (`PlanDto`, with the links of its archived chart images under `base`, the
/// API's base URL): the body of webhook deliveries, so that they and the API never disagree.
pub async fn plan_json(service: &service::PlanService, base: &str, plan: &core_model::Plan) -> serde_json::Value {
    let copies = charts::ChartCopies::outside_request(service, base, std::slice::from_ref(plan)).await;
    serde_json::to_value(dto::PlanDto::new(plan, &service.policy().roster, &copies)).unwrap_or_default()
}

/// What adds a mount's routes to an app.
type MountedRoutes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// How a mounted face writes a refusal of the API's guard (no token, too many requests, ...) from its status and
/// words, in the body its clients read.
pub type RefusalWriter = Arc<dyn Fn(actix_web::http::StatusCode, &str) -> actix_web::HttpResponse + Send + Sync>;

/// More routes to serve beside the API's own, mounted by the binaries (e.g. the MCP server at `/mcp`), under the
/// same middleware: request ids, logs, metrics, size limits, CORS; and what to do when the server starts stopping
/// (e.g. end long-lived streams, so that stopping does not wait for them).
#[derive(Clone)]
pub struct Mount {
    routes: MountedRoutes,
    on_stop: Option<Arc<dyn Fn() + Send + Sync>>,
    listed: Vec<(&'static str, &'static str)>,
    refusals: Vec<(&'static str, RefusalWriter)>,
}

impl Mount {
    /// Routes added by `routes`.
    pub fn new(routes: impl Fn(&mut web::ServiceConfig) + Send + Sync + 'static) -> Self {
        Self { routes: Arc::new(routes), on_stop: None, listed: Vec::new(), refusals: Vec::new() }
    }

    /// Has the API's guard write its refusals of requests to `path` (and below it) with `write`, in the body that
    /// face's clients read (e.g. a JSON-RPC error for an MCP client) instead of the API's JSON error.
    #[must_use]
    pub fn refusals(
        mut self,
        path: &'static str,
        write: impl Fn(actix_web::http::StatusCode, &str) -> actix_web::HttpResponse + Send + Sync + 'static,
    ) -> Self {
        self.refusals.push((path, Arc::new(write)));
        self
    }

    /// Lists `path` among the endpoints `GET /` names, as `what`.
    #[must_use]
    pub fn listed(mut self, path: &'static str, what: &'static str) -> Self {
        self.listed.push((path, what));
        self
    }

    /// Calls `on_stop` when [`Application::run_until`]'s shutdown completes, before requests in flight are waited
    /// for.
    #[must_use]
    pub fn on_stop(mut self, on_stop: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_stop = Some(Arc::new(on_stop));
        self
    }
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount").field("on_stop", &self.on_stop.is_some()).finish_non_exhaustive()
    }
}

/// A bound, not yet running, HTTP server.
pub struct Application {
    port: u16,
    server: Server,
    on_stop: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("port", &self.port).finish_non_exhaustive()
    }
}

impl Application {
    /// Binds `config.host:config.port` and prepares the server over `service`.
    ///
    /// # Errors
    /// When the address cannot be bound (in use, not local, no permission).
    pub fn build(config: ApiConfig, services: impl Into<Services>) -> std::io::Result<Self> {
        let listener = TcpListener::bind((config.host.as_str(), config.port))?;
        Self::from_listener(listener, config, services, None)
    }

    /// Prepares the server on a listener bound by the caller, with the routes `mount` adds.
    ///
    /// # Errors
    /// When the listener cannot be used, or authentication is required without the token use cases.
    pub fn from_listener(
        listener: TcpListener,
        config: ApiConfig,
        services: impl Into<Services>,
        mount: Option<Mount>,
    ) -> std::io::Result<Self> {
        let Services { plans: service, access, webhooks } = services.into();
        if config.access.auth_required && access.is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "api.auth is required but the API was given no token store",
            ));
        }
        let port = listener.local_addr()?.port();
        let openapi = openapi::document(&service.policy().roster, config.access.auth_required);
        let metrics = Arc::new(RequestMetrics::default());
        let limiters = guard::Limiters::new(&config.access);
        let state = web::Data::new(AppState {
            service,
            metrics,
            config,
            openapi,
            access,
            webhooks,
            limiters,
            answers: cache::AnswerCache::default(),
            mounted: mount.as_ref().map(|m| m.listed.clone()).unwrap_or_default(),
            refusals: state::MountedRefusals(mount.as_ref().map(|m| m.refusals.clone()).unwrap_or_default()),
        });
        let workers =
            state.config.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        let workers = workers.max(1);
        let blocking_threads = state.config.storage_connections.div_ceil(workers).max(1);
        let shutdown = state.config.shutdown_timeout;
        let factory_state = state.clone();
        let on_stop = mount.as_ref().and_then(|m| m.on_stop.clone());
        let routes = mount.map(|m| m.routes);
        let server = HttpServer::new(move || app(factory_state.clone(), routes.clone()))
            .workers(workers)
            .worker_max_blocking_threads(blocking_threads)
            .listen(listener)?
            .disable_signals()
            .shutdown_timeout(shutdown.as_secs().max(1));
        Ok(Self { port, server: server.run(), on_stop })
    }

    /// The port bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (gracefully or not) from elsewhere.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until `shutdown` completes (the binaries pass a SIGINT/SIGTERM listener) or the server is stopped
    /// through its [`handle`](Self::handle): then stops accepting, calls the mount's [`Mount::on_stop`] (after
    /// `shutdown` only), lets requests in flight finish within the shutdown timeout, and returns.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        let on_stop = self.on_stop;
        let stopper = tokio::spawn(async move {
            shutdown.await;
            tracing::info!("stopping: no new connections, finishing requests in flight");
            let stopping = handle.stop(true);
            if let Some(on_stop) = on_stop {
                on_stop();
            }
            stopping.await;
        });
        let result = self.server.await;
        stopper.abort();
        result
    }
}

/// The actix app: routes, then middleware from the innermost (CORS) to the outermost (request ids).
fn app(
    state: web::Data<AppState>,
    mounted: Option<MountedRoutes>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = Arc::clone(&state.metrics);
    let cors = cors(&state.config.cors_origins);
    App::new()
        .app_data(state)
        .configure(|config| {
            for route in routes::ROUTES {
                route.register(config);
            }
        })
        .configure(|config| {
            if let Some(mounted) = &mounted {
                mounted(config);
            }
        })
        .default_service(web::to(routes::not_found))
        .wrap(from_fn(guard::guard))
        .wrap(from_fn(limits))
        .wrap(cors)
        .wrap(from_fn(json_errors))
        .wrap(metrics::RecordMetrics(metrics))
        .wrap(TracingLogger::<request_id::PlanApiRootSpan>::new())
        .wrap(request_id::RequestIds)
}

/// Refuses oversized requests before any handler runs (413 for a body over the limit, 414 for a long query string),
/// inside the CORS layer, so that a page of an allowed origin can read the refusal.
///
/// A declared body (`Content-Length`) is judged by its length; a body sent without one (`Transfer-Encoding: chunked`)
/// is read here, up to the limit and no further, so that no request makes the server hold more than the limit.
async fn limits(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let (max_body, max_query) = req.app_data::<web::Data<AppState>>().map_or_else(
        || {
            let defaults = ApiConfig::default();
            (defaults.max_body_bytes, defaults.max_query_bytes)
        },
        |s| (s.config.max_body_bytes, s.config.max_query_bytes),
    );
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let mut refusal = if declared.is_some_and(|length| length > max_body as u64) {
        Some(ApiError::payload_too_large(max_body))
    } else if req.query_string().len() > max_query {
        Some(ApiError::uri_too_long(max_query))
    } else {
        None
    };
    if refusal.is_none() && declared.is_none() && req.headers().contains_key(header::TRANSFER_ENCODING) {
        let stream = actix_web::body::BodyStream::new(req.take_payload());
        match actix_web::body::to_bytes_limited(stream, max_body).await {
            Ok(Ok(body)) => req.set_payload(actix_web::dev::Payload::from(body)),
            Ok(Err(_)) => refusal = Some(ApiError::bad_request("the request body could not be read")),
            Err(_) => refusal = Some(ApiError::payload_too_large(max_body)),
        }
    }
    if let Some(error) = refusal {
        return Ok(req.into_response(error.error_response()).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Turns errors answered in plain text by the middleware inside it (a refused CORS request, say) into the JSON error
/// body every other error has.
async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let response = next.call(req).await?;
    let status = response.status();
    // JSON errors, and the pages a mounted face writes for people (the dashboard's), stand as they are.
    let formatted = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || formatted {
        return Ok(response.map_into_left_body());
    }
    // An error answered by inner middleware (a refused CORS request) in plain text: the same JSON body as every
    // other error, keeping its message.
    let (request, plain) = response.into_parts();
    // Headers that stay: a 405's `Allow` (the methods the route takes: the MCP endpoint's, say, also said in the
    // message), and the CORS layer's, so that a page of an allowed origin can read the error.
    let kept: Vec<(header::HeaderName, header::HeaderValue)> = plain
        .headers()
        .iter()
        .filter(|(name, _)| {
            *name == header::ALLOW || *name == header::VARY || name.as_str().starts_with("access-control-")
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let text = actix_web::body::to_bytes(plain.into_body()).await.ok();
    let message = text
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("request refused").to_owned());
    let allowed = kept
        .iter()
        .find(|(name, _)| *name == header::ALLOW)
        .and_then(|(_, value)| value.to_str().ok())
        .filter(|_| status == actix_web::http::StatusCode::METHOD_NOT_ALLOWED);
    let error = if status.is_server_error() {
        ApiError::internal()
    } else if let Some(allowed) = allowed {
        let allowed: Vec<&str> = allowed.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
        ApiError::method_not_allowed(request.method().as_str(), &allowed)
    } else {
        ApiError::client(status, &message)
    };
    let mut answer = error.error_response();
    // They replace what the JSON error set of their own (its `Allow`).
    for (name, _) in &kept {
        answer.headers_mut().remove(name);
    }
    for (name, value) in kept {
        answer.headers_mut().append(name, value);
    }
    Ok(ServiceResponse::new(request, answer).map_into_right_body())
}

/// Reads only, from the configured origins: a page of another origin may read plans (with a token, when the API
/// requires one) but neither manage webhooks nor speak MCP, whose requests need a preflight this refuses.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "OPTIONS"])
        .allowed_headers([header::ACCEPT, header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_NONE_MATCH])
        .allowed_header(REQUEST_ID_HEADER)
        .expose_headers([header::ETAG])
        .expose_headers([REQUEST_ID_HEADER])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" { cors.allow_any_origin() } else { cors.allowed_origin(origin) };
    }
    cors
}
