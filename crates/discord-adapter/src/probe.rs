//! Checks of the Discord connection for `plan-server doctor`: is the token accepted (`GET /users/@me`), and does
//! the gateway answer (its HELLO).

use std::time::Duration;

use twilight_gateway::{CloseFrame, ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _};
use twilight_http::error::ErrorType;

use crate::bot::{self, BotConfig, BotError};
use crate::error_chain;

/// The bot's account, as Discord knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotAccount {
    /// User id.
    pub id: u64,
    /// User name.
    pub name: String,
}

/// Why a check failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Discord answered that the token is not valid.
    #[error("Discord refused the token (HTTP {status})")]
    TokenRefused {
        /// The HTTP status (401 or 403).
        status: u16,
    },
    /// Discord answered something else than success.
    #[error("Discord answered HTTP {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// No answer within the time allowed.
    #[error("no answer within {} s", .0.as_secs())]
    Timeout(Duration),
    /// The server could not be reached or its answer could not be read.
    #[error("cannot reach it: {0}")]
    Unreachable(String),
    /// The configured URL is unusable.
    #[error(transparent)]
    Config(#[from] BotError),
}

/// Asks Discord who the bot is: succeeds only when the token is accepted.
///
/// # Errors
/// [`ProbeError`] saying why not.
pub async fn current_user(config: &BotConfig) -> Result<BotAccount, ProbeError> {
    let http = bot::http_client(config)?;
    let call = async {
        let response = http.current_user().await.map_err(|error| match error.kind() {
            ErrorType::Unauthorized => ProbeError::TokenRefused { status: 401 },
            ErrorType::Response { status, .. } if matches!(status.get(), 401 | 403) => {
                ProbeError::TokenRefused { status: status.get() }
            }
            ErrorType::Response { status, .. } => ProbeError::Status { status: status.get() },
            _ => ProbeError::Unreachable(error_chain(&error)),
        })?;
        let user = response.model().await.map_err(|e| ProbeError::Unreachable(error_chain(&e)))?;
        Ok(BotAccount { id: user.id.get(), name: user.name })
    };
    tokio::time::timeout(config.request_timeout, call).await.unwrap_or(Err(ProbeError::Timeout(config.request_timeout)))
}

/// Connects to the gateway and waits for its HELLO, then closes. No token is sent that could start a session: the
/// check is about reaching the gateway, [`current_user`] checks the token.
///
/// # Errors
/// [`ProbeError::Timeout`] when no HELLO arrives in time, [`ProbeError::Unreachable`] when the connection fails.
pub async fn gateway_hello(config: &BotConfig, timeout: Duration) -> Result<(), ProbeError> {
    let mut builder = ConfigBuilder::new("doctor-check-no-session".to_owned(), Intents::empty());
    if let Some(url) = &config.gateway_url {
        builder = builder.proxy_url(url.trim_end_matches('/').to_owned());
    }
    let mut shard = Shard::with_config(ShardId::ONE, builder.build());
    let deadline = tokio::time::Instant::now() + timeout;
    // twilight reconnects on its own after a failed attempt; remember why, in case no HELLO ever comes.
    let mut last_error = None;
    let outcome = loop {
        match tokio::time::timeout_at(deadline, shard.next_event(EventTypeFlags::GATEWAY_HELLO)).await {
            Ok(Some(Ok(Event::GatewayHello(_)))) => break Ok(()),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(error))) => last_error = Some(error_chain(&error)),
            Ok(None) => {
                break Err(ProbeError::Unreachable(last_error.unwrap_or_else(|| "the connection ended".to_owned())));
            }
            Err(_) => break Err(last_error.map_or(ProbeError::Timeout(timeout), ProbeError::Unreachable)),
        }
    };
    shard.close(CloseFrame::NORMAL);
    outcome
}
