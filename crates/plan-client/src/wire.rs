//! The server's `/api/v1` JSON as it arrives, and its conversion into the public types, checking every value with
//! core-model's parsers on the way in (a malformed answer is an error, never a half-valid plan).

use core_model::jiff::Timestamp;
use core_model::{
    Author, Chart, ChartKind, Coach, CoachId, HistoryAction, HistoryEntry, PlanId, PlanSource, Roster, Ticker,
    TradingDate, UserId,
};
use serde::Deserialize;

use crate::plan::{Freshness, Plan};
use crate::server::ServerRoster;

/// Why a wire value could not be converted; becomes [`Error::BadResponse`](crate::Error::BadResponse).
pub(crate) type Invalid = String;

#[derive(Debug, Deserialize)]
pub(crate) struct WirePerson {
    user_id: Option<String>,
    display_name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireSource {
    guild_id: Option<String>,
    channel_id: Option<String>,
    channel_name: Option<String>,
    message_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireChart {
    position: u32,
    url: String,
    filename: Option<String>,
    content_type: Option<String>,
    kind: String,
    added_at: String,
    /// Absent from servers older than this client.
    #[serde(default)]
    image_url: Option<String>,
}

/// `PlanDto` of the server.
#[derive(Debug, Deserialize)]
pub(crate) struct WirePlan {
    id: i64,
    coach: String,
    coach_name: String,
    date: String,
    text: String,
    author: WirePerson,
    source: WireSource,
    charts: Vec<WireChart>,
    /// Absent from servers older than this client.
    #[serde(default)]
    tickers: Vec<String>,
    version: u32,
    created_at: String,
    updated_at: String,
}

/// `PlansDto` of the server: the plans of a date, or a page of a search.
#[derive(Debug, Deserialize)]
pub(crate) struct WirePlans {
    /// The date asked for; null for a range.
    pub(crate) date: Option<String>,
    /// Absent from servers older than this client.
    #[serde(default)]
    pub(crate) from: Option<String>,
    /// Absent from servers older than this client.
    #[serde(default)]
    pub(crate) to: Option<String>,
    pub(crate) plans: Vec<WirePlan>,
    #[serde(default)]
    pub(crate) next_cursor: Option<String>,
}

/// `TickerMentionDto` of the server.
#[derive(Debug, Deserialize)]
pub(crate) struct WireMention {
    pub(crate) ticker: String,
    pub(crate) plans: u64,
    pub(crate) coaches: Vec<String>,
    pub(crate) last_date: String,
}

/// `TickersDto` of the server.
#[derive(Debug, Deserialize)]
pub(crate) struct WireMentions {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) tickers: Vec<WireMention>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireHistoryEntry {
    id: i64,
    plan_id: i64,
    date: String,
    version: u32,
    action: String,
    text_before: Option<String>,
    text_after: Option<String>,
    actor: WirePerson,
    at: String,
    /// Absent from servers older than this client.
    #[serde(default)]
    message_id: Option<String>,
}

/// `HistoryDto` of the server.
#[derive(Debug, Deserialize)]
pub(crate) struct WireHistory {
    coach: String,
    entries: Vec<WireHistoryEntry>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireCoach {
    id: String,
    name: String,
}

/// `CoachesDto` of the server.
#[derive(Debug, Deserialize)]
pub(crate) struct WireCoaches {
    coaches: Vec<WireCoach>,
    market_timezone: String,
    today: String,
}

/// The v1 error body `{error, message, request_id}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireError {
    pub(crate) error: String,
    pub(crate) message: String,
    pub(crate) request_id: Option<String>,
}

fn timestamp(field: &str, text: &str) -> Result<Timestamp, Invalid> {
    text.parse().map_err(|e| format!("`{field}` is not an RFC 3339 timestamp (`{text}`: {e})"))
}

fn snowflake(field: &str, text: Option<String>) -> Result<Option<u64>, Invalid> {
    text.map(|t| t.parse::<u64>().map_err(|_| format!("`{field}` is not a Discord id (`{t}`)"))).transpose()
}

fn coach(text: &str) -> Result<CoachId, Invalid> {
    CoachId::new(text).map_err(|e| format!("`coach`: {e}"))
}

fn date(text: &str) -> Result<TradingDate, Invalid> {
    TradingDate::parse(text).map_err(|e| format!("`date`: {e}"))
}

/// A date field other than a plan's `date`.
pub(crate) fn date_field(field: &str, text: &str) -> Result<TradingDate, Invalid> {
    TradingDate::parse(text).map_err(|e| format!("`{field}`: {e}"))
}

/// A coach id field of a list.
pub(crate) fn coach_field(text: &str) -> Result<CoachId, Invalid> {
    coach(text)
}

/// A ticker field.
pub(crate) fn ticker_field(field: &str, text: &str) -> Result<Ticker, Invalid> {
    Ticker::parse(text).map_err(|e| format!("`{field}`: {e}"))
}

impl WirePerson {
    fn into_author(self, field: &str) -> Result<Author, Invalid> {
        Ok(Author {
            user_id: snowflake(&format!("{field}.user_id"), self.user_id)?.map(UserId),
            display_name: self.display_name,
        })
    }
}

impl WireChart {
    fn into_chart(self) -> Result<Chart, Invalid> {
        Ok(Chart {
            position: self.position,
            kind: ChartKind::from_name(&self.kind)
                .ok_or_else(|| format!("chart `kind` `{}` is neither attachment nor link", self.kind))?,
            added_at: timestamp("charts.added_at", &self.added_at)?,
            url: self.url,
            filename: self.filename,
            content_type: self.content_type,
        })
    }
}

impl WirePlan {
    /// The plan, checked, as a fresh copy.
    pub(crate) fn into_plan(self) -> Result<Plan, Invalid> {
        Ok(Plan {
            id: PlanId(self.id),
            coach: coach(&self.coach)?,
            coach_name: self.coach_name,
            date: date(&self.date)?,
            text: self.text,
            author: self.author.into_author("author")?,
            source: PlanSource {
                guild_id: snowflake("source.guild_id", self.source.guild_id)?,
                channel_id: snowflake("source.channel_id", self.source.channel_id)?,
                channel_name: self.source.channel_name,
                message_id: snowflake("source.message_id", self.source.message_id)?,
            },
            chart_images: self.charts.iter().map(|c| c.image_url.clone()).collect(),
            charts: self.charts.into_iter().map(WireChart::into_chart).collect::<Result<_, _>>()?,
            tickers: self.tickers.iter().map(|t| ticker_field("tickers", t)).collect::<Result<_, _>>()?,
            version: self.version,
            created_at: timestamp("created_at", &self.created_at)?,
            updated_at: timestamp("updated_at", &self.updated_at)?,
            freshness: Freshness::Fresh,
        })
    }
}

impl WireHistory {
    /// The entries, newest first, as the server sent them.
    pub(crate) fn into_entries(self) -> Result<Vec<HistoryEntry>, Invalid> {
        let coach = coach(&self.coach)?;
        self.entries
            .into_iter()
            .map(|e| {
                Ok(HistoryEntry {
                    id: e.id,
                    plan_id: PlanId(e.plan_id),
                    coach: coach.clone(),
                    date: date(&e.date)?,
                    version: e.version,
                    action: HistoryAction::from_name(&e.action)
                        .ok_or_else(|| format!("history `action` `{}` is unknown", e.action))?,
                    text_before: e.text_before,
                    text_after: e.text_after,
                    actor: e.actor.into_author("actor")?,
                    at: timestamp("at", &e.at)?,
                    message_id: e
                        .message_id
                        .map(|id| id.parse().map_err(|_| format!("history `message_id` `{id}` is not a number")))
                        .transpose()?,
                })
            })
            .collect()
    }
}

impl WireCoaches {
    pub(crate) fn into_roster(self) -> Result<ServerRoster, Invalid> {
        let coaches = self
            .coaches
            .into_iter()
            .map(|c| Ok(Coach { id: coach(&c.id)?, name: c.name }))
            .collect::<Result<Vec<_>, Invalid>>()?;
        Ok(ServerRoster {
            roster: Roster::new(coaches).map_err(|e| format!("the roster: {e}"))?,
            market_timezone: self.market_timezone,
            today: date(&self.today)?,
        })
    }
}

/// The ETag the server gives a single plan (`"plan-{id}-v{version}"`, documented in docs/http-api.md), so that a
/// plan learnt from a list can be revalidated. A wrong guess costs a `200` instead of a `304`, never a wrong plan.
pub(crate) fn plan_etag(plan: &Plan) -> String {
    format!("\"plan-{}-v{}\"", plan.id, plan.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"{
        "id": 4, "coach": "d", "coach_name": "Day Trading", "date": "2026-11-25",
        "text": "SPY long above 600", "author": {"user_id": "412345678901234567", "display_name": "Dan"},
        "source": {"guild_id": "1", "channel_id": "2", "channel_name": "plans", "message_id": "3"},
        "charts": [{"position": 0, "url": "https://example.com/a.png", "filename": "a.png",
                    "content_type": "image/png", "kind": "attachment", "added_at": "2026-11-25T07:41:09.384512Z"}],
        "version": 2, "edited": true,
        "created_at": "2026-11-25T07:41:09.384512Z", "updated_at": "2026-11-25T08:02:51.663020Z"
    }"#;

    #[test]
    fn a_plan_is_read_into_domain_types() {
        let plan = serde_json::from_str::<WirePlan>(PLAN).unwrap().into_plan().unwrap();
        assert_eq!(plan.coach.as_str(), "d");
        assert_eq!(plan.date.to_string(), "2026-11-25");
        assert_eq!(plan.author.user_id, Some(UserId(412_345_678_901_234_567)));
        assert_eq!(plan.charts[0].kind, ChartKind::Attachment);
        assert_eq!(plan.chart_urls().collect::<Vec<_>>(), ["https://example.com/a.png"]);
        assert!(plan.is_edited());
        assert_eq!(plan_etag(&plan), "\"plan-4-v2\"");
        assert_eq!(plan.clone().into_domain().version, 2);
    }

    #[track_caller]
    fn check_rejected(from: &str, to: &str, expected: &str) {
        let json = PLAN.replacen(from, to, 1);
        let error = serde_json::from_str::<WirePlan>(&json).unwrap().into_plan().unwrap_err();
        assert!(error.contains(expected), "{error:?} should mention {expected:?}");
    }

    #[test]
    fn a_malformed_plan_is_refused_with_the_field_named() {
        check_rejected(r#""date": "2026-11-25""#, r#""date": "25/11/2026""#, "`date`");
        check_rejected(r#""coach": "d""#, r#""coach": "d d""#, "`coach`");
        check_rejected(r#""412345678901234567""#, r#""Dan""#, "author.user_id");
        check_rejected(r#""kind": "attachment""#, r#""kind": "video""#, "kind");
        check_rejected(r#""created_at": "2026-11-25T07:41:09.384512Z""#, r#""created_at": "yesterday""#, "created_at");
    }
}
