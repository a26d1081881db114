//! What can go wrong when reading plans, in words that say what to do about it.

use std::time::Duration;

/// The client's error. Every message says what happened and what to do.
///
/// "No plan" is not an error: [`PlanClient::fetch_coach_plan`](crate::PlanClient::fetch_coach_plan) returns
/// `Ok(None)`. [`Unreachable`](Error::Unreachable), [`Timeout`](Error::Timeout) and a 5xx
/// [`Server`](Error::Server) error are transient ([`is_transient`](Error::is_transient)): the client has already
/// retried them as configured before returning them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No connection could be made (refused, reset, DNS failure), after every attempt.
    #[error(
        "cannot reach the plan server at {url} after {attempts} attempt(s); check that plan-api is running and that \
         the client's base URL is right"
    )]
    Unreachable {
        /// The URL requested.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
        #[source]
        source: reqwest::Error,
    },

    /// The server did not answer within the per-request timeout, on every attempt.
    #[error(
        "the plan server at {url} did not answer within {timeout:?} ({attempts} attempt(s)); check the server's \
         load, or raise the timeout with ClientBuilder::timeout"
    )]
    Timeout {
        /// The URL requested.
        url: String,
        /// The per-request timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },

    /// The server answered with an error status: a 5xx after every retry, or a 4xx (never retried).
    #[error("the plan server answered {status} to {url}: {message}; {}", server_hint(*.status))]
    Server {
        /// The HTTP status.
        status: u16,
        /// The URL requested.
        url: String,
        /// The server's message (its JSON `message`), or the status text.
        message: String,
        /// The server's request id, to find the request in its logs.
        request_id: Option<String>,
        /// Attempts made.
        attempts: u32,
    },

    /// The server answered something the client cannot read as the plan API's answer.
    #[error(
        "the answer of {url} cannot be read: {detail}; check that the base URL points at plan-api and that the \
         server's version matches this client"
    )]
    BadResponse {
        /// The URL requested.
        url: String,
        /// What was wrong with it.
        detail: String,
    },

    /// A coach, date or setting given to the client is not valid; nothing was sent.
    #[error("{message}")]
    InvalidInput {
        /// What is wrong and how to write it.
        message: String,
        /// The parser's error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

fn server_hint(status: u16) -> &'static str {
    match status {
        500..=599 => "the server's log has the details under the request id; try again later",
        404 => "check the base URL: it must point at plan-api",
        _ => "the request was refused as sent; check the coach, the date and the base URL",
    }
}

impl Error {
    /// Whether the failure may go away by itself (connection, timeout, 5xx). The client retries these before
    /// returning them, and serves a stale cached plan instead when it has one (see
    /// [`ClientBuilder::stale_if_error`](crate::ClientBuilder::stale_if_error)).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Timeout { .. } => true,
            Self::Server { status, .. } => *status >= 500,
            Self::BadResponse { .. } | Self::InvalidInput { .. } => false,
        }
    }

    /// The HTTP status of a [`Server`](Error::Server) error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput { message: message.into(), source: None }
    }

    pub(crate) fn invalid_from(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::InvalidInput { message: source.to_string(), source: Some(Box::new(source)) }
    }

    pub(crate) fn bad_response(url: &str, detail: impl Into<String>) -> Self {
        Self::BadResponse { url: url.to_owned(), detail: detail.into() }
    }
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let timeout =
            Error::Timeout { url: "http://127.0.0.1:1/x".into(), timeout: Duration::from_secs(2), attempts: 3 };
        assert_eq!(
            timeout.to_string(),
            "the plan server at http://127.0.0.1:1/x did not answer within 2s (3 attempt(s)); check the server's load, \
             or raise the timeout with ClientBuilder::timeout"
        );
        let server = Error::Server {
            status: 503,
            url: "http://h/api".into(),
            message: "the database is busy".into(),
            request_id: Some("r1".into()),
            attempts: 4,
        };
        assert_eq!(
            server.to_string(),
            "the plan server answered 503 to http://h/api: the database is busy; the server's log has the details under \
             the request id; try again later"
        );
        assert!(server.is_transient());
        let refused = Error::Server {
            status: 400,
            url: "http://h/api".into(),
            message: "unknown coach `x`".into(),
            request_id: None,
            attempts: 1,
        };
        assert!(!refused.is_transient());
        assert_eq!(refused.status(), Some(400));
        assert!(refused.to_string().ends_with("check the coach, the date and the base URL"));
    }
}
