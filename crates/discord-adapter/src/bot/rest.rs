//! The REST client: where it sends (Discord, or a proxy or emulator), how it is paced, and which failures are worth a
//! retry.

use twilight_http::Client;
use twilight_http::api_error::ApiError as DiscordApiError;
use twilight_http::error::ErrorType;
use twilight_http_ratelimiting::RateLimiter;

use core_model::is_loopback_host;

use super::config::{BotConfig, BotError};
use crate::retry::Verdict;

/// The REST proxy setting twilight wants: `host:port` and whether it is plain HTTP.
fn proxy_of(url: &str) -> Result<(String, bool), BotError> {
    let url = url.trim_end_matches('/');
    let (rest, plain) = if let Some(rest) = url.strip_prefix("http://") {
        (rest, true)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (rest, false)
    } else {
        return Err(BotError::BadApiUrl(url.to_owned()));
    };
    if rest.is_empty() || rest.contains('/') {
        return Err(BotError::BadApiUrl(url.to_owned()));
    }
    Ok((rest.to_owned(), plain))
}

/// How twilight-http paces REST calls before sending them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Discord's limits: at most 50 requests a second overall, and each route's bucket as Discord's headers say.
    Discord,
    /// A server on this machine (a local emulator): no overall limit, but each route's bucket and every 429's
    /// `retry_after` are still honoured (without a rate limiter, twilight-http would resend a 429ed request at once).
    LocalServer,
}

/// The pacing for a REST base URL: [`Pacing::LocalServer`] only when its host is a loopback address
/// (`127.0.0.0/8`, `::1`, `localhost`); Discord itself and any proxy elsewhere keep Discord's limits.
pub fn pacing_for(api_base_url: Option<&str>) -> Pacing {
    match api_base_url.and_then(|url| proxy_of(url).ok()) {
        Some((host_port, _)) if is_loopback_host(host_of(&host_port)) => Pacing::LocalServer,
        _ => Pacing::Discord,
    }
}

/// The host of `host[:port]` (`[v6]` or `[v6]:port` for IPv6).
fn host_of(host_port: &str) -> &str {
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or("");
    }
    match host_port.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((host, _)) if !host.contains(':') => host,
        _ => host_port,
    }
}

/// The REST client for a configuration.
///
/// # Errors
/// [`BotError::BadApiUrl`].
pub fn http_client(config: &BotConfig) -> Result<Client, BotError> {
    let mut builder = Client::builder().token(config.token.expose().to_owned()).timeout(config.request_timeout);
    if let Some(url) = &config.api_base_url {
        let (host, plain) = proxy_of(url)?;
        builder = builder.proxy(host, plain);
    }
    if pacing_for(config.api_base_url.as_deref()) == Pacing::LocalServer {
        builder = builder.ratelimiter(Some(RateLimiter::new(u16::MAX)));
    }
    Ok(builder.build())
}

/// Whether a failed REST call is worth retrying.
///
/// twilight-http resends a 429ed request itself, after the rate limiter's wait; a 429 reaching this point is
/// honoured too. An error answer whose body is not Discord's JSON (`ErrorType::Parsing`) comes from the
/// infrastructure in front of the API: a load balancer's HTML page for a 502, 503 or 504, or an empty 503. twilight
/// keeps only the body of such an answer, not its status, so it counts as transient: the retries are bounded, and
/// Discord's own 4xx answers always carry JSON (they are `ErrorType::Response` and are not retried).
pub(super) fn verdict(error: &twilight_http::Error) -> Verdict {
    match error.kind() {
        ErrorType::RequestError | ErrorType::RequestTimedOut | ErrorType::RequestCanceled => Verdict::Transient,
        ErrorType::Parsing { .. } => Verdict::Transient,
        ErrorType::Response { status, error, .. } => {
            if status.get() == 429 {
                match error {
                    DiscordApiError::Ratelimited(limited) => Verdict::RateLimited(limited.retry_after),
                    _ => Verdict::RateLimited(1.0),
                }
            } else if status.is_server_error() {
                Verdict::Transient
            } else {
                Verdict::Permanent
            }
        }
        _ => Verdict::Permanent,
    }
}

/// Runs a REST call, retrying it as `policy` says for the failures worth a retry (see [`verdict`]).
pub(super) async fn with_retry<T, F, Fut>(
    policy: crate::retry::RetryPolicy,
    what: &str,
    mut call: F,
) -> Result<T, twilight_http::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, twilight_http::Error>>,
{
    let mut retry = 0;
    loop {
        let error = match call().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        match policy.delay(retry, verdict(&error)) {
            Some(delay) => {
                tracing::warn!(error = %error, retry = retry + 1, delay_ms = delay.as_millis() as u64, "{what} failed; retrying");
                tokio::time::sleep(delay).await;
                retry += 1;
            }
            None => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_servers_on_this_machine_lift_discords_overall_limit() {
        let local = [
            "http://127.0.0.1:9000",
            "http://127.8.9.10:9000/",
            "http://localhost:9000",
            "http://LOCALHOST",
            "https://localhost",
            "http://[::1]:9000",
            "http://[::ffff:127.0.0.1]:9000",
        ];
        for url in local {
            assert_eq!(pacing_for(Some(url)), Pacing::LocalServer, "{url}");
        }
        let remote = [
            "https://discord-proxy.example.com",
            "http://10.0.0.5:9000",
            "http://192.168.1.2",
            "http://128.0.0.1:9000",
            "http://localhost.example.com:9000",
            "http://127.0.0.1.nip.io:9000",
            "http://[::2]:9000",
            "ftp://127.0.0.1",
            "http://127.0.0.1:9000/api",
        ];
        for url in remote {
            assert_eq!(pacing_for(Some(url)), Pacing::Discord, "{url}");
        }
        assert_eq!(pacing_for(None), Pacing::Discord, "Discord itself");
    }

    #[test]
    fn api_urls_become_twilight_proxies() {
        assert_eq!(proxy_of("http://127.0.0.1:9000").unwrap(), ("127.0.0.1:9000".to_owned(), true));
        assert_eq!(proxy_of("https://proxy.example.com/").unwrap(), ("proxy.example.com".to_owned(), false));
        assert!(proxy_of("ftp://x").is_err());
        assert!(proxy_of("http://host/api/v10").is_err());
        assert!(proxy_of("http://").is_err());
    }
}
