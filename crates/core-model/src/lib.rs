//! Domain types, validation rules and port traits of coach-plans.
//!
//! Everything here is plain data and pure functions: no I/O, no async runtime, no SQL, no HTTP, no Discord.
//! Values are parsed at the edge into these types ([`CoachId`] through a [`Roster`], [`TradingDate`], [`PlanText`]),
//! so the layers above never re-check strings. The ports ([`PlanRepository`], [`PlanSearch`], [`StatusStore`],
//! [`ChartImageStore`], [`Clock`]) are implemented by adapters; [`memory::MemoryStore`] is the in-memory one.

pub mod access;
pub mod bot_records;
mod chart;
mod coach;
mod date;
mod error_chain;
mod identity;
pub mod image;
mod plan;
mod ports;
mod search;
mod text;
mod ticker;
pub mod timestamp;

#[cfg(any(test, feature = "contract"))]
pub mod contract;
pub mod memory;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod transfer;
pub mod transition;
pub mod webhook;

pub use access::{
    ApiToken, BadAccessValue, NewToken, Scope, TOKEN_PREFIX, TokenHash, TokenName, TokenRecord, TokenState, TokenStore,
};
pub use bot_records::{BotRecords, ChannelProgress, KnownChannel, KnownChannels, StoredSession};
pub use chart::{
    Attachment, Chart, ChartKind, IMAGE_EXTENSIONS, NewChart, chart_links_in_text, charts_after_edit,
    charts_of_message, is_chart_url, same_charts,
};
pub use coach::{Coach, CoachId, CoachIdError, MAX_COACH_ID_LEN, Roster, RosterError, UnknownCoach};
pub use date::{DateError, MarketTimeZone, TradingDate, UnknownTimeZone};
pub use error_chain::error_chain;
pub use identity::{Actor, Author, RoleId, UserId};
pub use image::{ArchivedImage, BadImageDigest, ChartImage, ImageDigest};
pub use plan::{HistoryAction, HistoryEntry, HistoryQuery, NewPlan, Plan, PlanChange, PlanId, PlanSource};
pub use ports::{
    BoxError, ChartImageStore, Clock, Inserted, PlanRepository, PlanSearch, RepoError, SchemaStatus, StatusRecord,
    StatusStore, StatusTicket, StoreStats, SystemClock,
};
pub use search::{
    BadCursor, MentionQuery, SearchCursor, SearchPage, SearchQuery, TextQuery, TextTerm, TickerMention, UNLISTED_RANK,
    days_in_range, sort_mentions, words_of,
};
pub use text::{MAX_PLAN_TEXT_CHARS, PlanText, TextError};
pub use ticker::{BadTicker, CRYPTO_QUOTES, DEFAULT_STOPLIST, Ticker, TickerRules};
pub use webhook::{
    AttemptOutcome, Delivery, DeliveryStatus, EventSet, EventType, NewSubscription, Subscription, WebhookSecret,
    WebhookStore, event_of, is_loopback_host, is_public_address,
};

/// Re-exported so that users of the domain types name the same timestamp and date types.
pub use jiff;
