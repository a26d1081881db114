//! Port traits: what the service needs from storage and from the clock. Adapters implement them.
//!
//! The storage ports are synchronous: implementations may block (SQLite does), so async callers run them
//! off the async runtime.

use std::error::Error as StdError;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{
    ArchivedImage, Author, ChartImage, CoachId, HistoryEntry, HistoryQuery, ImageDigest, MentionQuery, NewPlan, Plan,
    PlanChange, PlanId, SearchPage, SearchQuery, TickerMention, TradingDate, UserId,
};

/// A boxed error from an adapter.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a storage operation failed. Every write that fails leaves storage as it was before it.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// An active plan for that coach and date exists already.
    #[error("an active plan for coach {coach} on {date} exists already")]
    Duplicate {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: TradingDate,
    },
    /// No plan has that id.
    #[error("plan {0} does not exist")]
    NotFound(PlanId),
    /// The plan is deleted, so it cannot be edited or deleted again.
    #[error("plan {0} is deleted")]
    Deleted(PlanId),
    /// The plan is not deleted, so it cannot be restored.
    #[error("plan {0} is not deleted")]
    NotDeleted(PlanId),
    /// The plan changed since the caller read it.
    #[error("plan {id} is at version {current}, not the expected version {expected}")]
    VersionConflict {
        /// The plan.
        id: PlanId,
        /// The version the caller expected.
        expected: u32,
        /// The version stored.
        current: u32,
    },
    /// The store stayed locked by another writer for longer than the configured wait.
    #[error("storage is busy")]
    Busy(#[source] BoxError),
    /// The store cannot be written (read-only file, full disk).
    #[error("storage cannot be written")]
    Unwritable(#[source] BoxError),
    /// The store cannot be reached (a database server down or unreachable, a connection lost).
    #[error("storage cannot be reached")]
    Unavailable(#[source] BoxError),
    /// Any other failure of the adapter.
    #[error("storage failed")]
    Failure(#[source] BoxError),
}

/// Where a database's schema stands: the migration versions of a storage adapter are numbered from 1, and every
/// adapter numbers the same steps alike, so one version means one schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The latest version recorded in the database (0 for a new database).
    pub current: u32,
    /// The latest version this build knows.
    pub latest: u32,
}

impl SchemaStatus {
    /// Whether every migration this build knows is applied.
    pub fn is_up_to_date(&self) -> bool {
        self.current == self.latest
    }

    /// Whether the database was migrated by a newer build.
    pub fn is_newer_than_build(&self) -> bool {
        self.current > self.latest
    }
}

/// Counts over everything stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Plans not deleted.
    pub active_plans: u64,
    /// Plans soft-deleted.
    pub deleted_plans: u64,
    /// Charts of all plans.
    pub charts: u64,
    /// History entries.
    pub history_entries: u64,
    /// Active plans per coach, by coach id.
    pub active_by_coach: Vec<(CoachId, u64)>,
    /// Earliest trading date of an active plan.
    pub first_date: Option<TradingDate>,
    /// Latest trading date of an active plan.
    pub last_date: Option<TradingDate>,
}

/// What [`PlanRepository::insert_unless_posted`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The plan is stored.
    New(Plan),
    /// Nothing is stored: the message posted this plan already.
    Earlier(Plan),
}

/// Storage of plans, their charts and their history.
///
/// Contract (checked for every implementation by the contract suite in [`crate::contract`]):
/// - [`insert`](Self::insert) MUST return [`RepoError::Duplicate`] when an active plan exists for the coach and date,
///   and MUST accept a new plan where only deleted ones exist. It stores plan, charts and a `Created` history entry
///   (version 1) as one unit.
/// - [`change`](Self::change) MUST apply the change, bump the version by one and record one history entry with the text
///   before and after, as one unit; [`RepoError::NotFound`] for an unknown id; [`RepoError::Deleted`] for an edit or delete
///   of a deleted plan; [`RepoError::NotDeleted`] for a restore of an active one; [`RepoError::Duplicate`] for a restore
///   where another active plan exists; [`RepoError::VersionConflict`] when `expected_version` is given and differs.
///   A [`PlanChange::Repost`](crate::PlanChange::Repost) MUST store the new source with the new text and charts, so
///   that [`find_by_source_message`](Self::find_by_source_message) finds the plan by the new message only.
///   Concurrent changes never lose one another.
/// - Readers never see a half-applied change.
/// - Finding plans ([`PlanSearch`], a part of every plan store) sees every change at once.
pub trait PlanRepository: PlanSearch + Send + Sync + 'static {
    /// Stores a new plan.
    ///
    /// # Errors
    /// See the trait's contract.
    fn insert(&self, plan: NewPlan, at: Timestamp) -> Result<Plan, RepoError>;

    /// Stores a new plan, unless the chat message `message_id` posted or re-posted a plan already (a message
    /// delivered again): then nothing is stored and that plan, as [`find_by_posting_message`] finds it, is returned.
    /// The default looks, then inserts; a store with transactions does both in one, so that two deliveries of a
    /// message at once store one plan at most and the check costs no transaction of its own.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    ///
    /// [`find_by_posting_message`]: Self::find_by_posting_message
    fn insert_unless_posted(&self, message_id: u64, plan: NewPlan, at: Timestamp) -> Result<Inserted, RepoError> {
        match self.find_by_posting_message(message_id)? {
            Some(earlier) => Ok(Inserted::Earlier(earlier)),
            None => self.insert(plan, at).map(Inserted::New),
        }
    }

    /// Applies a change to a plan.
    ///
    /// # Errors
    /// See the trait's contract.
    fn change(
        &self,
        id: PlanId,
        change: PlanChange,
        actor: &Author,
        at: Timestamp,
        expected_version: Option<u32>,
    ) -> Result<Plan, RepoError>;

    /// A plan by id, deleted or not.
    ///
    /// # Errors
    /// Storage failures only.
    fn get(&self, id: PlanId) -> Result<Option<Plan>, RepoError>;

    /// The active plan of a coach on a date.
    ///
    /// # Errors
    /// Storage failures only.
    fn find_active(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError>;

    /// The most recently deleted plan of a coach on a date.
    ///
    /// # Errors
    /// Storage failures only.
    fn find_latest_deleted(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError>;

    /// The newest plan (deleted or not) whose source is the chat message `message_id`: the message that posted it,
    /// or the one that last re-posted it. Edits and deletions of that message follow the plan.
    ///
    /// # Errors
    /// Storage failures only.
    fn find_by_source_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError>;

    /// The newest plan (deleted or not) that the chat message `message_id` ever posted or re-posted, found through
    /// the history entries that name the message, even when a later message has re-posted the plan since. This tells
    /// whether a message delivered again was handled already.
    ///
    /// # Errors
    /// Storage failures only.
    fn find_by_posting_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError>;

    /// The active plans of a date, ordered by coach id.
    ///
    /// # Errors
    /// Storage failures only.
    fn list_active_by_date(&self, date: TradingDate) -> Result<Vec<Plan>, RepoError>;

    /// The active plans of one author (by user id), newest date first then by coach id; one date when given.
    ///
    /// # Errors
    /// Storage failures only.
    fn list_active_by_author(&self, author: UserId, date: Option<TradingDate>) -> Result<Vec<Plan>, RepoError>;

    /// History entries of a coach (on one date or all), newest first (by time, then by id), at most `query.limit`.
    ///
    /// # Errors
    /// Storage failures only.
    fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoryEntry>, RepoError>;

    /// Counts over everything stored.
    ///
    /// # Errors
    /// Storage failures only.
    fn stats(&self) -> Result<StoreStats, RepoError>;

    /// Checks that storage answers a real query.
    ///
    /// # Errors
    /// When it does not.
    fn ping(&self) -> Result<(), RepoError>;

    /// A number that moves (it grows) with every committed change a reader may see (plans, their charts, the
    /// archived copies of chart images), made through this store or by any other process on the same database:
    /// readers compare it to know whether an answer they keep still holds.
    ///
    /// # Errors
    /// Storage failures only.
    fn change_count(&self) -> Result<u64, RepoError>;
}

/// Finding plans (by ticker, coach, author, date range and words) and counting the tickers they mention.
///
/// Contract (checked for every implementation by [`crate::contract::run_search_cases`]):
/// - [`search`](Self::search) MUST return the plans [`SearchQuery::admits`] admits (active plans only), ordered by
///   [`SearchQuery::sort_key`] (newest date, then roster order, then id), at most `limit` of them, with `next` set to
///   the cursor after the last plan returned exactly when more plans are admitted. Words match as
///   [`TextQuery::matches`](crate::TextQuery::matches) says (an index may also ignore diacritics); a query without
///   terms matches nothing. Tickers are the ones stored with each plan (extracted when its text was last written):
///   an edit that removes a ticker removes the match, in the same unit as the edit.
/// - [`ticker_mentions`](Self::ticker_mentions) MUST count, per ticker, the active plans of the range (and of the
///   coaches, when given) that mention it, with their coaches (by id, each once) and their latest date, sorted by
///   [`sort_mentions`](crate::sort_mentions).
pub trait PlanSearch: Send + Sync + 'static {
    /// A page of the plans `query` finds.
    ///
    /// # Errors
    /// Storage failures only.
    fn search(&self, query: &SearchQuery) -> Result<SearchPage, RepoError>;

    /// How often each ticker was mentioned.
    ///
    /// # Errors
    /// Storage failures only.
    fn ticker_mentions(&self, query: &MentionQuery) -> Result<Vec<TickerMention>, RepoError>;
}

/// A value recorded by one process for others to read, e.g. the bot's connection state and heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRecord {
    /// The value.
    pub value: String,
    /// When it was written.
    pub updated_at: Timestamp,
}

/// The ticket of a value written with the store's next commit (see [`StatusStore::defer_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StatusTicket(pub u64);

/// A small shared key/value store for runtime status.
pub trait StatusStore: Send + Sync + 'static {
    /// Writes a value.
    ///
    /// # Errors
    /// Storage failures.
    fn put_status(&self, key: &str, value: &str, at: Timestamp) -> Result<(), RepoError>;

    /// Reads a value.
    ///
    /// # Errors
    /// Storage failures.
    fn status(&self, key: &str) -> Result<Option<StatusRecord>, RepoError>;

    /// Notes a value to be written with the store's next commit, whatever that commit holds, instead of in a
    /// transaction of its own; returns the ticket [`status_written`](Self::status_written) knows it by, or `None`
    /// when this store does not defer writes (the caller then writes it with [`put_status`](Self::put_status)).
    /// Never blocks. A later value of the key, deferred or put, replaces one not written yet.
    fn defer_status(&self, key: &str, value: &str, at: Timestamp) -> Option<StatusTicket> {
        let _ = (key, value, at);
        None
    }

    /// Whether the value deferred with `ticket` is committed (or was replaced by a later value of its key).
    fn status_written(&self, ticket: StatusTicket) -> bool {
        let _ = ticket;
        false
    }
}

/// Copies of chart images, kept because attachment links expire (see [`crate::image`]).
///
/// Contract (checked by [`crate::contract::run_chart_image_cases`]):
/// - [`put_chart_image`](Self::put_chart_image) MUST keep the image under its digest (once, however many charts
///   use it) and link it to the chart's source key; putting the same source again replaces the link.
/// - [`chart_images`](Self::chart_images) MUST return the images linked to the given source keys, and nothing for
///   keys without one.
/// - [`image`](Self::image) MUST return the bytes exactly as put.
pub trait ChartImageStore: Send + Sync + 'static {
    /// Keeps `image` as the copy of the chart whose [source key](crate::image::source_key) is `source_key`.
    ///
    /// # Errors
    /// Storage failures ([`RepoError::Unwritable`] when the store is full or read-only).
    fn put_chart_image(&self, source_key: &str, image: &ChartImage, at: Timestamp) -> Result<(), RepoError>;

    /// The archived images of these source keys, as `(source key, image)` pairs.
    ///
    /// # Errors
    /// Storage failures only.
    fn chart_images(&self, source_keys: &[&str]) -> Result<Vec<(String, ArchivedImage)>, RepoError>;

    /// An archived image with its bytes.
    ///
    /// # Errors
    /// Storage failures only.
    fn image(&self, digest: &ImageDigest) -> Result<Option<ChartImage>, RepoError>;
}

/// The current time. Injected so that tests control "now" and "today".
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
