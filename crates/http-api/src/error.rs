//! HTTP errors: the status each failure maps to (decided in one place), the v1 JSON body
//! `{error, message, request_id}`, and the legacy body `{"error": "..."}`.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use service::ServiceError;
use utoipa::ToSchema;

use crate::params::BadParam;
use crate::request_id;

/// The body of every v1 error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable kind, e.g. `not_found`, `bad_request`.
    pub error: &'static str,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The request's id (also in the `X-Request-Id` header and the server's logs).
    pub request_id: Option<String>,
}

/// The body of an error of the legacy routes, as the predecessor wrote it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyErrorBody {
    /// What went wrong and what to do.
    pub error: String,
}

/// A v1 error response. Its `error` kind follows from its status ([`code_of`]), so the two never disagree.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// 400: the request is malformed; the message says how to fix it.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_FOUND, message: message.into() }
    }

    /// 405, for a method the route does not serve; `allowed` are the ones it does.
    pub fn method_not_allowed(method: &str, allowed: &[&str]) -> Self {
        let words = match allowed {
            [one] => (*one).to_owned(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
            [] => "another route".to_owned(),
        };
        Self { status: StatusCode::METHOD_NOT_ALLOWED, message: format!("{method} is not allowed here; use {words}") }
    }

    /// 413.
    pub fn payload_too_large(limit: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("the request body is larger than {limit} bytes"),
        }
    }

    /// 414, for a query string over the limit.
    pub fn uri_too_long(limit: usize) -> Self {
        Self { status: StatusCode::URI_TOO_LONG, message: format!("the query string is longer than {limit} bytes") }
    }

    /// 500, with nothing internal in the body.
    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "an unexpected error happened; it has been logged with this request id".to_owned(),
        }
    }

    /// A client error raised outside the handlers (e.g. a refused CORS request), with its message; its `error` kind
    /// follows from the status.
    pub(crate) fn client(status: StatusCode, error: &dyn fmt::Display) -> Self {
        Self { status, message: error.to_string() }
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable kind, as the body's `error` field says it.
    pub fn code(&self) -> &'static str {
        code_of(self.status)
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The machine-readable kind of an error status, as the body's `error` field says it.
pub(crate) fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal_error",
        _ => "client_error",
    }
}

/// The status of a service failure. Server-side failures are logged here, once, with their whole chain.
pub(crate) fn classify(err: &ServiceError) -> StatusCode {
    let status = match err {
        ServiceError::UnknownCoach(_)
        | ServiceError::InvalidDate(_)
        | ServiceError::DateOutOfRange { .. }
        | ServiceError::InvalidText(_)
        | ServiceError::InvalidSearch(_)
        | ServiceError::TooManyCharts { .. } => StatusCode::BAD_REQUEST,
        ServiceError::NotFound { .. } | ServiceError::NothingToRestore { .. } => StatusCode::NOT_FOUND,
        ServiceError::Forbidden { .. } | ServiceError::NotAPoster { .. } => StatusCode::FORBIDDEN,
        ServiceError::AlreadyPosted { .. } | ServiceError::Conflict { .. } | ServiceError::Unchanged { .. } => {
            StatusCode::CONFLICT
        }
        ServiceError::Busy(_) | ServiceError::Unwritable(_) | ServiceError::Unavailable(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ServiceError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if !err.is_user_error() {
        tracing::error!(error = %error_chain(err), "request failed on the server's side");
    }
    status
}

pub(crate) use core_model::error_chain;

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        Self { status: classify(&err), message: err.to_string() }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody { error: self.code(), message: self.message.clone(), request_id: request_id::current() };
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response.insert_header((header::ALLOW, HeaderValue::from_static("GET, HEAD")));
        }
        response.json(body)
    }
}

/// An error of the legacy routes: the predecessor's `{"error": "..."}` body.
#[derive(Debug)]
pub struct LegacyError {
    status: StatusCode,
    message: String,
}

impl LegacyError {
    /// 400 with a message saying what to fix.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }
}

impl fmt::Display for LegacyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<BadParam> for LegacyError {
    fn from(err: BadParam) -> Self {
        Self::bad_request(err.0)
    }
}

impl From<BadParam> for ApiError {
    fn from(err: BadParam) -> Self {
        Self::bad_request(err.0)
    }
}

impl From<ServiceError> for LegacyError {
    fn from(err: ServiceError) -> Self {
        Self { status: classify(&err), message: err.to_string() }
    }
}

impl ResponseError for LegacyError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .json(LegacyErrorBody { error: self.message.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(status: StatusCode, code: &str) {
        assert_eq!(ApiError::client(status, &"refused").code(), code, "{status}");
    }

    #[test]
    fn the_kind_of_an_error_follows_from_its_status() {
        check(StatusCode::BAD_REQUEST, "bad_request");
        check(StatusCode::NOT_FOUND, "not_found");
        check(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        check(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        check(StatusCode::URI_TOO_LONG, "uri_too_long");
        check(StatusCode::UNAUTHORIZED, "unauthorized");
        check(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        check(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        check(StatusCode::BAD_GATEWAY, "internal_error");
        check(StatusCode::IM_A_TEAPOT, "client_error");
        assert_eq!(ApiError::payload_too_large(10).code(), "payload_too_large");
        assert_eq!(ApiError::internal().code(), "internal_error");
    }
}
