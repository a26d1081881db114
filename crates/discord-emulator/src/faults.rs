//! Faults the emulator injects on demand: gateway disruptions and failing or slow REST answers.

use std::time::Duration;

/// A disruption sent to the gateway connections open at the time of the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GatewayFault {
    /// Close the TCP connection without a close frame.
    Drop,
    /// Send op 7 RECONNECT.
    Reconnect,
    /// Send op 9 INVALID_SESSION with this `d`; `false` also makes the session unresumable.
    InvalidSession(bool),
    /// Neither ACK heartbeats nor send dispatches for this long (twilight declares the connection zombied).
    Stall(Duration),
    /// Send a close frame with this code and end the connection.
    Close(u16),
}

/// An answer the REST listener gives instead of the real one, for the next `times` matching API calls (and CDN
/// downloads, when its route filter names `/attachments/...`).
#[derive(Clone, Debug, PartialEq)]
pub struct RestFault {
    /// What to answer.
    pub response: FaultResponse,
    /// How many matching calls get it.
    pub times: u32,
    /// Which calls match; `None` matches every API call (CDN downloads are never faulted).
    pub route: Option<RouteFilter>,
}

impl RestFault {
    /// `times` calls answer `response`, whatever their route.
    #[must_use]
    pub fn new(response: FaultResponse, times: u32) -> Self {
        Self { response, times, route: None }
    }

    /// Restricts the fault to calls matching `route`.
    #[must_use]
    pub fn matching(mut self, route: RouteFilter) -> Self {
        self.route = Some(route);
        self
    }
}

/// The faulty answer.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultResponse {
    /// 500 `{"message": "500: Internal Server Error", "code": 0}`.
    ServerError,
    /// 429 with `retry-after` and per-route (`x-ratelimit-scope: user`) headers, which twilight-http honours
    /// by waiting `retry_after` before retrying by itself, and the JSON body
    /// `{"message": "You are being rate limited.", "retry_after": 0.05, "global": false}`.
    RateLimited {
        /// How long the client must wait.
        retry_after: Duration,
    },
    /// Any status with a `{"message": "...", "code": 0}` body. Beware: after one 401, twilight-http marks its
    /// token invalid and refuses every later request locally.
    Status(u16),
    /// Any status with a body that is not Discord's JSON, as the infrastructure in front of Discord's API answers
    /// when it fails: see [`Self::html_page`] and [`Self::empty_body`]. twilight-http reports such an answer as
    /// `ErrorType::Parsing`, with the body but without the status.
    Raw {
        /// The status code.
        status: u16,
        /// The `content-type` header, if any.
        content_type: Option<String>,
        /// The body, sent as it is.
        body: Vec<u8>,
    },
}

impl FaultResponse {
    /// A load balancer's HTML error page with this status (502, 503, 504, ...), like the ones Cloudflare serves in
    /// front of Discord's API.
    #[must_use]
    pub fn html_page(status: u16) -> Self {
        let title = match status {
            502 => "Bad Gateway",
            503 => "Service Temporarily Unavailable",
            504 => "Gateway Time-out",
            _ => "Error",
        };
        let body = format!(
            "<!DOCTYPE html>\n<html>\n<head><title>{status} {title}</title></head>\n<body>\n\
             <center><h1>{status} {title}</h1></center>\n<hr><center>cloudflare</center>\n</body>\n</html>\n"
        );
        Self::Raw { status, content_type: Some("text/html".to_owned()), body: body.into_bytes() }
    }

    /// This status with an empty body and no content type.
    #[must_use]
    pub fn empty_body(status: u16) -> Self {
        Self::Raw { status, content_type: None, body: Vec::new() }
    }
}

/// Selects API calls by method and route (the path below `/api/v10`, without the query), or CDN downloads by their
/// path (`/attachments/...`): a fault reaches the CDN only through such a filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteFilter {
    /// Upper-case method, or `None` for any.
    pub method: Option<String>,
    /// Route prefix, e.g. `/channels/200/messages`.
    pub path_prefix: String,
}

impl RouteFilter {
    /// Calls with this method whose route starts with `path_prefix`.
    #[must_use]
    pub fn new(method: &str, path_prefix: impl Into<String>) -> Self {
        Self { method: Some(method.to_ascii_uppercase()), path_prefix: path_prefix.into() }
    }

    /// Calls of any method whose route starts with `path_prefix`.
    #[must_use]
    pub fn any_method(path_prefix: impl Into<String>) -> Self {
        Self { method: None, path_prefix: path_prefix.into() }
    }

    /// Whether a call matches.
    #[must_use]
    pub fn matches(&self, method: &str, route: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && route.starts_with(&self.path_prefix)
    }
}
