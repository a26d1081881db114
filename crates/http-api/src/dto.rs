//! The JSON bodies of the v1 routes, separate from the domain types and converted at the edge.
//!
//! Discord ids are written as strings: they are 64-bit and JavaScript numbers are not.

use core_model::{Chart, HistoryEntry, Plan, Roster, StoreStats};
use serde::Serialize;
use utoipa::ToSchema;

use crate::charts::ChartCopies;
use core_model::timestamp::rfc3339;

/// Someone recorded on a plan or history entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDto {
    /// Discord user id, or null for records imported from the predecessor (which kept names only).
    #[schema(example = "123456789012345678")]
    pub user_id: Option<String>,
    /// Name shown to people.
    #[schema(example = "Ann")]
    pub display_name: String,
}

/// Where a plan was posted.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceDto {
    /// Discord guild id.
    pub guild_id: Option<String>,
    /// Discord channel id.
    pub channel_id: Option<String>,
    /// Channel name, when known.
    pub channel_name: Option<String>,
    /// Id of the Discord message that posted the plan.
    pub message_id: Option<String>,
}

/// A chart of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChartDto {
    /// Position in the plan, from 0.
    pub position: u32,
    /// Where the image is.
    pub url: String,
    /// File name of an attachment.
    pub filename: Option<String>,
    /// Content type of an attachment.
    pub content_type: Option<String>,
    /// `attachment` or `link`.
    #[schema(example = "attachment")]
    pub kind: &'static str,
    /// When it was added (UTC, RFC 3339).
    #[schema(format = DateTime)]
    pub added_at: String,
    /// Where this API serves its copy of an attached image (`/api/v1/charts/{digest}`), which keeps working after
    /// Discord's own link (`url`) expires; null for links and for images not copied.
    pub image_url: Option<String>,
}

/// A coach's plan for a trading date.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDto {
    /// Storage id.
    pub id: i64,
    /// Coach id.
    #[schema(example = "d")]
    pub coach: String,
    /// Coach name.
    #[schema(example = "Day Trading")]
    pub coach_name: String,
    /// Trading date, `YYYY-MM-DD`.
    #[schema(example = "2025-11-09", format = Date)]
    pub date: String,
    /// The plan text.
    pub text: String,
    /// Who posted it.
    pub author: PersonDto,
    /// Where it was posted.
    pub source: SourceDto,
    /// Charts, in order.
    pub charts: Vec<ChartDto>,
    /// The tickers its text mentions, in the order of their first mention: cashtags (`$nvda`) and upper-case symbols
    /// that are not common words (see the configuration's stoplist), as extracted when the text was last written.
    #[schema(example = json!(["AMD", "TSLA"]))]
    pub tickers: Vec<String>,
    /// 1 when posted, plus one per change.
    pub version: u32,
    /// Whether it changed since it was posted.
    pub edited: bool,
    /// When it was posted (UTC, RFC 3339).
    #[schema(format = DateTime, example = "2025-11-09T20:36:52.274074Z")]
    pub created_at: String,
    /// When it last changed (UTC, RFC 3339).
    #[schema(format = DateTime, example = "2025-11-09T20:41:07.000000Z")]
    pub updated_at: String,
}

impl PlanDto {
    /// The body of a plan.
    pub(crate) fn new(plan: &Plan, roster: &Roster, copies: &ChartCopies) -> Self {
        Self {
            id: plan.id.0,
            coach: plan.coach.to_string(),
            coach_name: roster.display_name(&plan.coach),
            date: plan.date.to_string(),
            text: plan.text.clone(),
            author: PersonDto {
                user_id: plan.author.user_id.map(|u| u.to_string()),
                display_name: plan.author.display_name.clone(),
            },
            source: SourceDto {
                guild_id: plan.source.guild_id.map(|v| v.to_string()),
                channel_id: plan.source.channel_id.map(|v| v.to_string()),
                channel_name: plan.source.channel_name.clone(),
                message_id: plan.source.message_id.map(|v| v.to_string()),
            },
            charts: plan.charts.iter().map(|c| ChartDto::new(c, copies)).collect(),
            tickers: plan.tickers.iter().map(ToString::to_string).collect(),
            version: plan.version,
            edited: plan.is_edited(),
            created_at: rfc3339(plan.created_at),
            updated_at: rfc3339(plan.updated_at),
        }
    }
}

impl ChartDto {
    fn new(chart: &Chart, copies: &ChartCopies) -> Self {
        Self {
            position: chart.position,
            url: chart.url.clone(),
            filename: chart.filename.clone(),
            content_type: chart.content_type.clone(),
            kind: chart.kind.as_str(),
            added_at: rfc3339(chart.added_at),
            image_url: copies.image_url(chart),
        }
    }
}

/// A page of the plans a search found.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlansDto {
    /// The trading date asked for with `date`; null when the search covers a range.
    #[schema(format = Date)]
    pub date: Option<String>,
    /// The first trading date searched.
    #[schema(format = Date)]
    pub from: String,
    /// The last trading date searched.
    #[schema(format = Date)]
    pub to: String,
    /// Active plans, newest date first, then in roster order.
    pub plans: Vec<PlanDto>,
    /// Pass it as `cursor` (with the same other parameters) for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// How often one ticker was mentioned.
#[derive(Debug, Serialize, ToSchema)]
pub struct TickerMentionDto {
    /// The ticker.
    #[schema(example = "NVDA")]
    pub ticker: String,
    /// Active plans of the range that mention it.
    pub plans: u64,
    /// The coaches of those plans, in roster order.
    #[schema(example = json!(["d", "s"]))]
    pub coaches: Vec<String>,
    /// The latest trading date of those plans.
    #[schema(format = Date)]
    pub last_date: String,
}

/// The tickers mentioned over a range: the consensus view.
#[derive(Debug, Serialize, ToSchema)]
pub struct TickersDto {
    /// The first trading date counted.
    #[schema(format = Date)]
    pub from: String,
    /// The last trading date counted.
    #[schema(format = Date)]
    pub to: String,
    /// Most plans first, then by ticker.
    pub tickers: Vec<TickerMentionDto>,
}

/// One recorded change of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntryDto {
    /// Storage id.
    pub id: i64,
    /// The plan changed.
    pub plan_id: i64,
    /// The plan's trading date.
    #[schema(format = Date)]
    pub date: String,
    /// The plan's version after the change.
    pub version: u32,
    /// `created`, `edited`, `charts_changed`, `deleted` or `restored`.
    #[schema(example = "edited")]
    pub action: &'static str,
    /// Text before the change (null on creation).
    pub text_before: Option<String>,
    /// Text after the change (null on deletion).
    pub text_after: Option<String>,
    /// Who made the change.
    pub actor: PersonDto,
    /// When (UTC, RFC 3339).
    #[schema(format = DateTime)]
    pub at: String,
    /// Id of the Discord message that posted the plan with this change (a creation, or a re-post over the author's
    /// own plan); null for other changes.
    pub message_id: Option<String>,
}

impl HistoryEntryDto {
    /// The body of a history entry.
    pub fn new(entry: &HistoryEntry) -> Self {
        Self {
            id: entry.id,
            plan_id: entry.plan_id.0,
            date: entry.date.to_string(),
            version: entry.version,
            action: entry.action.as_str(),
            text_before: entry.text_before.clone(),
            text_after: entry.text_after.clone(),
            actor: PersonDto {
                user_id: entry.actor.user_id.map(|u| u.to_string()),
                display_name: entry.actor.display_name.clone(),
            },
            at: rfc3339(entry.at),
            message_id: entry.message_id.map(|id| id.to_string()),
        }
    }
}

/// A coach's change history, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryDto {
    /// Coach id.
    pub coach: String,
    /// The trading date, or null for every date.
    #[schema(format = Date)]
    pub date: Option<String>,
    /// Entries, newest first.
    pub entries: Vec<HistoryEntryDto>,
}

/// A coach of the roster.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoachDto {
    /// Coach id, e.g. `d`.
    pub id: String,
    /// Name, e.g. `Day Trading`.
    pub name: String,
    /// The predecessor's name, e.g. `coach_d`.
    pub legacy_name: String,
}

/// The roster and the market's calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoachesDto {
    /// Coaches, in roster order.
    pub coaches: Vec<CoachDto>,
    /// IANA time zone in which "today" is computed.
    #[schema(example = "America/New_York")]
    pub market_timezone: String,
    /// Today's trading date in that zone.
    #[schema(format = Date)]
    pub today: String,
}

/// Counts over everything stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsDto {
    /// Plans not deleted.
    pub active_plans: u64,
    /// Plans soft-deleted.
    pub deleted_plans: u64,
    /// Charts of all plans.
    pub charts: u64,
    /// History entries.
    pub history_entries: u64,
    /// Active plans per coach id.
    pub active_by_coach: std::collections::BTreeMap<String, u64>,
    /// Earliest trading date with an active plan.
    #[schema(format = Date)]
    pub first_date: Option<String>,
    /// Latest trading date with an active plan.
    #[schema(format = Date)]
    pub last_date: Option<String>,
}

impl From<StoreStats> for StatsDto {
    fn from(stats: StoreStats) -> Self {
        Self {
            active_plans: stats.active_plans,
            deleted_plans: stats.deleted_plans,
            charts: stats.charts,
            history_entries: stats.history_entries,
            active_by_coach: stats.active_by_coach.into_iter().map(|(c, n)| (c.to_string(), n)).collect(),
            first_date: stats.first_date.map(|d| d.to_string()),
            last_date: stats.last_date.map(|d| d.to_string()),
        }
    }
}
