//! The Discord bot's connection state: recorded by the bot (again and again, as a heartbeat) and read by the API's
//! health check, also when bot and API run in separate processes over one database.

use std::fmt;
use std::time::Duration;

use core_model::jiff::Timestamp;

use crate::{PlanService, ServiceError};

/// Status key under which the bot records its connection state.
pub const BOT_CONNECTION_KEY: &str = "bot.connection";

/// What the bot says of its gateway connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotState {
    /// Connected and receiving events.
    Connected,
    /// Not connected (reconnecting, or stopped).
    Disconnected,
    /// Nothing known: the bot never ran against this database, or it cannot be read.
    Unknown,
}

impl BotState {
    /// Stable lowercase name, as recorded and served.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::Unknown => "unknown",
        }
    }

    fn from_name(name: &str) -> Self {
        match name {
            "connected" => Self::Connected,
            "disconnected" => Self::Disconnected,
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for BotState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bot's connection as seen by a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotHealth {
    /// The state, after accounting for a missing heartbeat.
    pub state: BotState,
    /// When the bot last recorded its state.
    pub last_seen: Option<Timestamp>,
    /// Seconds since then.
    pub age_seconds: Option<u64>,
    /// The bot said it was connected, but has not said so for longer than allowed: it is taken as disconnected.
    pub stale: bool,
}

impl PlanService {
    /// Records the bot's connection state; calling it periodically while connected is the bot's heartbeat.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn record_bot_state(&self, state: BotState) -> Result<(), ServiceError> {
        self.record_status(BOT_CONNECTION_KEY, state.as_str()).await
    }

    /// The bot's connection as last recorded: a `connected` state older than `stale_after` counts as disconnected.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn bot_health(&self, stale_after: Duration) -> Result<BotHealth, ServiceError> {
        let Some(record) = self.status(BOT_CONNECTION_KEY).await? else {
            return Ok(BotHealth { state: BotState::Unknown, last_seen: None, age_seconds: None, stale: false });
        };
        let age = self.now().duration_since(record.updated_at);
        let age_seconds = u64::try_from(age.as_secs()).unwrap_or(0);
        let recorded = BotState::from_name(&record.value);
        let stale = recorded == BotState::Connected && age_seconds > stale_after.as_secs();
        let state = if stale { BotState::Disconnected } else { recorded };
        Ok(BotHealth { state, last_seen: Some(record.updated_at), age_seconds: Some(age_seconds), stale })
    }
}
