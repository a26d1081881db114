//! The bot's own records (its gateway session, where each channel stands, the channels it knows), with typed
//! methods: the bot keeps them between runs through the service like everything else it stores.

use std::sync::Arc;

use core_model::jiff::Timestamp;
use core_model::{BotRecords as _, ChannelProgress, KnownChannels, StatusTicket, StoredSession};

use crate::{PlanService, ServiceError, run_blocking};

impl PlanService {
    /// The gateway session the last run saved, with when it was saved.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn stored_session(&self) -> Result<Option<(StoredSession, Timestamp)>, ServiceError> {
        let status = Arc::clone(&self.status);
        run_blocking(move || status.stored_session()).await.map_err(ServiceError::from_repo)
    }

    /// Saves the gateway session, for a resume after a restart.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn save_session(&self, session: &StoredSession) -> Result<(), ServiceError> {
        let (status, session, at) = (Arc::clone(&self.status), session.clone(), self.clock.now());
        run_blocking(move || status.save_session(&session, at)).await.map_err(ServiceError::from_repo)
    }

    /// Where a channel's worker stands.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn channel_progress(&self, channel_id: u64) -> Result<ChannelProgress, ServiceError> {
        let status = Arc::clone(&self.status);
        run_blocking(move || status.channel_progress(channel_id)).await.map_err(ServiceError::from_repo)
    }

    /// Saves where a channel's worker stands.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn save_channel_progress(&self, channel_id: u64, progress: &ChannelProgress) -> Result<(), ServiceError> {
        let (status, progress, at) = (Arc::clone(&self.status), progress.clone(), self.clock.now());
        run_blocking(move || status.save_channel_progress(channel_id, &progress, at))
            .await
            .map_err(ServiceError::from_repo)
    }

    /// Notes where a channel's worker stands, to be saved with the store's next commit of any write (a store whose
    /// writes are not grouped saves it now); returns the ticket to ask [`Self::channel_progress_saved`] about, or
    /// `None` once saved.
    ///
    /// # Errors
    /// Storage failures (of a save made now).
    pub async fn defer_channel_progress(
        &self,
        channel_id: u64,
        progress: &ChannelProgress,
    ) -> Result<Option<StatusTicket>, ServiceError> {
        match self.status.defer_channel_progress(channel_id, progress, self.clock.now()) {
            Some(ticket) => Ok(Some(ticket)),
            None => self.save_channel_progress(channel_id, progress).await.map(|()| None),
        }
    }

    /// Whether the progress noted with `ticket` is saved (or replaced by a later one saved).
    pub fn channel_progress_saved(&self, ticket: StatusTicket) -> bool {
        self.status.status_written(ticket)
    }

    /// The channels the bot has handled messages in.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn known_channels(&self) -> Result<KnownChannels, ServiceError> {
        let status = Arc::clone(&self.status);
        run_blocking(move || status.known_channels()).await.map_err(ServiceError::from_repo)
    }

    /// Saves the channels the bot has handled messages in.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn save_known_channels(&self, channels: &KnownChannels) -> Result<(), ServiceError> {
        let (status, channels, at) = (Arc::clone(&self.status), channels.clone(), self.clock.now());
        run_blocking(move || status.save_known_channels(&channels, at)).await.map_err(ServiceError::from_repo)
    }
}
