//! Request ids: taken from the caller's `X-Request-Id` when it is sensible, generated otherwise; returned on every
//! response, written in every log line of the request (through its root span), and put in every error body.
//! Each request is logged once when answered ("request served": method, route, status, latency and request id).

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage as _};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

/// The header that carries the request id both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest caller-supplied request id kept; longer ones are replaced by a generated id.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of the request being served, in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// When the request reached the app, in its extensions: the start of the latency logged when it is answered.
#[derive(Debug, Clone, Copy)]
struct Received(Instant);

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being served on this task, for error bodies built away from the request.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

fn accept_or_generate(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_REQUEST_ID_LEN
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// Middleware that settles the request id first, so that every later layer can use it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIds;

impl<S, B> Transform<S, ServiceRequest> for RequestIds
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RequestIdService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestIdService { service: Rc::new(service) }))
    }
}

/// The service [`RequestIds`] wraps around the app.
#[derive(Debug)]
pub struct RequestIdService<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for RequestIdService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let id = accept_or_generate(&req);
        req.extensions_mut().insert(RequestId(id.clone()));
        req.extensions_mut().insert(Received(Instant::now()));
        let service = Rc::clone(&self.service);
        Box::pin(CURRENT.scope(id.clone(), async move {
            let mut response = service.call(req).await?;
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            Ok(response)
        }))
    }
}

/// Builds each request's root span with the request id settled by [`RequestIds`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanApiRootSpan;

impl RootSpanBuilder for PlanApiRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = request.match_pattern().unwrap_or_else(|| "unmatched".to_owned()),
            http.target = %request.uri().path(),
            http.status_code = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, received) = match outcome {
            Ok(response) => (response.status(), response.request().extensions().get::<Received>().copied()),
            Err(error) => (error.as_response_error().status_code(), None),
        };
        span.record("http.status_code", status.as_u16());
        // Milliseconds with microsecond precision; absent only when the request never passed `RequestIds`.
        let latency_ms = received.map(|r| (r.0.elapsed().as_micros() as f64) / 1000.0);
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::warn!(status = status.as_u16(), latency_ms, "request served");
            } else {
                tracing::info!(status = status.as_u16(), latency_ms, "request served");
            }
        });
    }
}
