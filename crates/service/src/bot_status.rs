//! The Discord bot's connection state: recorded by the bot (again and again, as a heartbeat) and read by the API's
//! health check, also when bot and API run in separate processes over one database.
//!
//! When bot and API share one process (and so one [`PlanService`]), the health check sees the bot's state directly,
//! as the bot last recorded it in this process, even when the database cannot be written or read.

use std::fmt;
use std::sync::{Mutex, PoisonError};
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

/// The bot's state as recorded in this process, shared by every clone of one service.
#[derive(Debug, Default)]
pub(crate) struct LiveBotState(Mutex<Option<(BotState, Timestamp)>>);

impl LiveBotState {
    fn set(&self, state: BotState, at: Timestamp) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((state, at));
    }

    fn get(&self) -> Option<(BotState, Timestamp)> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// Records the bot's connection state, in this process and in storage for other processes; calling it
    /// periodically while connected is the bot's heartbeat.
    ///
    /// # Errors
    /// Storage failures (the state is recorded in this process all the same).
    pub async fn record_bot_state(&self, state: BotState) -> Result<(), ServiceError> {
        self.live_bot.set(state, self.now());
        self.record_status(BOT_CONNECTION_KEY, state.as_str()).await
    }

    /// The bot's connection: as recorded in this process when the bot runs here, else as last recorded in storage.
    /// A `connected` state older than `stale_after` counts as disconnected.
    ///
    /// # Errors
    /// Storage failures, when the bot does not run in this process.
    pub async fn bot_health(&self, stale_after: Duration) -> Result<BotHealth, ServiceError> {
        let (recorded, at) = match self.live_bot.get() {
            Some(live) => live,
            None => match self.status(BOT_CONNECTION_KEY).await? {
                Some(record) => (BotState::from_name(&record.value), record.updated_at),
                None => {
                    return Ok(BotHealth {
                        state: BotState::Unknown,
                        last_seen: None,
                        age_seconds: None,
                        stale: false,
                    });
                }
            },
        };
        let age = self.now().duration_since(at);
        let age_seconds = u64::try_from(age.as_secs()).unwrap_or(0);
        let stale = recorded == BotState::Connected && age_seconds > stale_after.as_secs();
        let state = if stale { BotState::Disconnected } else { recorded };
        Ok(BotHealth { state, last_seen: Some(at), age_seconds: Some(age_seconds), stale })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use core_model::memory::MemoryStore;
    use core_model::{RepoError, StatusRecord, StatusStore, SystemClock};

    use super::*;
    use crate::Policy;

    /// A status store whose disk is gone: every write and read fails.
    struct BrokenStatus;

    impl StatusStore for BrokenStatus {
        fn put_status(&self, _: &str, _: &str, _: Timestamp) -> Result<(), RepoError> {
            Err(RepoError::Unwritable("disk full".into()))
        }

        fn status(&self, _: &str) -> Result<Option<StatusRecord>, RepoError> {
            Err(RepoError::Failure("disk gone".into()))
        }
    }

    fn service(status: Arc<dyn StatusStore>) -> PlanService {
        PlanService::new(Arc::new(MemoryStore::new()), status, Arc::new(SystemClock), Policy::default())
    }

    #[tokio::test]
    async fn a_bot_in_this_process_is_seen_directly_even_when_storage_fails() {
        let service = service(Arc::new(BrokenStatus));
        let api_side = service.clone();
        assert!(api_side.bot_health(Duration::from_secs(90)).await.is_err(), "no bot here yet: storage is asked");
        assert!(service.record_bot_state(BotState::Connected).await.is_err(), "the storage write fails");
        let health = api_side.bot_health(Duration::from_secs(90)).await.unwrap();
        assert_eq!((health.state, health.stale), (BotState::Connected, false));
        service.record_bot_state(BotState::Disconnected).await.unwrap_err();
        assert_eq!(api_side.bot_health(Duration::from_secs(90)).await.unwrap().state, BotState::Disconnected);
    }

    #[tokio::test]
    async fn a_bot_in_another_process_is_seen_through_storage() {
        let store = Arc::new(MemoryStore::new());
        let bot_process = service(store.clone());
        let api_process = service(store);
        assert_eq!(api_process.bot_health(Duration::from_secs(90)).await.unwrap().state, BotState::Unknown);
        bot_process.record_bot_state(BotState::Connected).await.unwrap();
        let health = api_process.bot_health(Duration::from_secs(90)).await.unwrap();
        assert_eq!(health.state, BotState::Connected);
        assert!(health.last_seen.is_some());
    }
}
