//! Plans, the changes made to them, and their history.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Author, Chart, CoachId, NewChart, PlanText, TradingDate};

/// A stored plan's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PlanId(pub i64);

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a plan was posted. All fields are optional: imported plans only know a channel name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSource {
    /// Discord guild (server) id.
    pub guild_id: Option<u64>,
    /// Discord channel id.
    pub channel_id: Option<u64>,
    /// Channel name, when known.
    pub channel_name: Option<String>,
    /// Id of the Discord message that posted the plan.
    pub message_id: Option<u64>,
}

/// A stored plan: one coach's plan for one trading date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Storage id.
    pub id: PlanId,
    /// Whose plan.
    pub coach: CoachId,
    /// For which trading date.
    pub date: TradingDate,
    /// The plan text as last saved.
    pub text: String,
    /// Who posted it.
    pub author: Author,
    /// Where it was posted.
    pub source: PlanSource,
    /// Its charts, in order.
    pub charts: Vec<Chart>,
    /// The tickers its text mentions, in the order of their first mention, as extracted when the text was last
    /// written (see [`TickerRules`](crate::TickerRules)).
    pub tickers: Vec<crate::Ticker>,
    /// 1 when created, plus one for every change.
    pub version: u32,
    /// When it was posted (UTC).
    pub created_at: Timestamp,
    /// When it last changed (UTC).
    pub updated_at: Timestamp,
    /// When it was deleted, if it is.
    pub deleted_at: Option<Timestamp>,
}

impl Plan {
    /// Whether the plan is soft-deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Whether the plan changed since it was posted.
    pub fn is_edited(&self) -> bool {
        self.version > 1
    }
}

/// A plan about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlan {
    /// Whose plan.
    pub coach: CoachId,
    /// For which trading date.
    pub date: TradingDate,
    /// Its text.
    pub text: PlanText,
    /// Who posts it.
    pub author: Author,
    /// Where it was posted.
    pub source: PlanSource,
    /// Its charts, in order.
    pub charts: Vec<NewChart>,
}

/// A change to a stored plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanChange {
    /// New text; charts replaced too when `charts` is `Some`.
    Edit {
        /// The new text.
        text: PlanText,
        /// The new charts, or `None` to keep the current ones.
        charts: Option<Vec<NewChart>>,
    },
    /// The charts replaced, the text kept.
    ReplaceCharts(Vec<NewChart>),
    /// The author posted the plan again from a new chat message: text, charts and source are all replaced by the
    /// new message's (an empty `charts` removes every chart), recorded as one [`HistoryAction::Edited`] entry that
    /// names the new message. From then on the plan follows the new message (its edits and its deletion); the
    /// earlier message no longer drives it.
    Repost {
        /// The new text.
        text: PlanText,
        /// The new charts, in order.
        charts: Vec<NewChart>,
        /// The message that re-posted the plan.
        source: PlanSource,
    },
    /// Soft delete.
    Delete,
    /// Undo a soft delete.
    Restore,
}

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    /// The plan was posted.
    Created,
    /// Its text changed (and maybe its charts).
    Edited,
    /// Only its charts changed.
    ChartsChanged,
    /// It was soft-deleted.
    Deleted,
    /// It was restored.
    Restored,
}

impl HistoryAction {
    /// Stable lowercase name, as stored and served.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Edited => "edited",
            Self::ChartsChanged => "charts_changed",
            Self::Deleted => "deleted",
            Self::Restored => "restored",
        }
    }

    /// The action named by [`HistoryAction::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Created, Self::Edited, Self::ChartsChanged, Self::Deleted, Self::Restored]
            .into_iter()
            .find(|a| a.as_str() == name)
    }
}

/// One recorded change of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Storage id.
    pub id: i64,
    /// The plan changed.
    pub plan_id: PlanId,
    /// The plan's coach.
    pub coach: CoachId,
    /// The plan's trading date.
    pub date: TradingDate,
    /// The plan's version after the change.
    pub version: u32,
    /// What happened.
    pub action: HistoryAction,
    /// The text before the change (`None` on creation).
    pub text_before: Option<String>,
    /// The text after the change (`None` on deletion).
    pub text_after: Option<String>,
    /// Who did it.
    pub actor: Author,
    /// When (UTC).
    pub at: Timestamp,
    /// The chat message that posted the plan with this change: set on [`HistoryAction::Created`] and on the
    /// [`HistoryAction::Edited`] entry of a re-post ([`PlanChange::Repost`]), `None` otherwise.
    pub message_id: Option<u64>,
}

/// Which history to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// The coach.
    pub coach: CoachId,
    /// One trading date, or every date when `None`.
    pub date: Option<TradingDate>,
    /// At most this many entries (newest first).
    pub limit: usize,
}
