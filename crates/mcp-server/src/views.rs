//! How plans, history entries and ticker mentions look to an agent: JSON (the tools' structured content and the
//! resources) and a short text rendering of the same.

use std::collections::HashMap;

use core_model::timestamp::{legacy, rfc3339};
use core_model::{ArchivedImage, Chart, HistoryEntry, MarketTimeZone, Plan, Roster, TickerMention};
use serde_json::{Value, json};

/// The archived copies of some plans' attached charts, and where the API serves them.
#[derive(Debug, Default)]
pub(crate) struct Copies {
    /// The API's base URL, without a trailing slash.
    pub base: String,
    /// The copies, by the charts' source keys.
    pub by_source: HashMap<String, ArchivedImage>,
}

impl Copies {
    /// The archived copy of `chart`, if any.
    pub(crate) fn copy_of(&self, chart: &Chart) -> Option<&ArchivedImage> {
        core_model::image::archived_copy(chart, &self.by_source)
    }

    /// The link to follow for `chart`: the API's copy when there is one (Discord's own links expire), else the link
    /// as posted.
    pub(crate) fn best_url(&self, chart: &Chart) -> String {
        match self.copy_of(chart) {
            Some(image) => format!("{}/api/v1/charts/{}", self.base, image.digest),
            None => chart.url.clone(),
        }
    }
}

/// Where a plan's Discord message is, when the plan knows it.
fn message_link(plan: &Plan) -> Option<String> {
    let (channel, message) = (plan.source.channel_id?, plan.source.message_id?);
    let guild = plan.source.guild_id.map_or_else(|| "@me".to_owned(), |g| g.to_string());
    Some(format!("https://discord.com/channels/{guild}/{channel}/{message}"))
}

/// A plan as the tools and the date resource give it.
pub(crate) fn plan(plan: &Plan, roster: &Roster, copies: &Copies) -> Value {
    json!({
        "coach": plan.coach.as_str(),
        "coach_name": roster.display_name(&plan.coach),
        "date": plan.date.to_string(),
        "text": plan.text,
        "tickers": plan.tickers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "author": plan.author.display_name,
        "author_id": plan.author.user_id.map(|u| u.to_string()),
        "charts": plan.charts.iter().map(|c| copies.best_url(c)).collect::<Vec<_>>(),
        "version": plan.version,
        "edited": plan.is_edited(),
        "created_at": rfc3339(plan.created_at),
        "updated_at": rfc3339(plan.updated_at),
        "message_link": message_link(plan),
    })
}

/// A plan in the shape of the predecessor's ticker resource: the fields of its HTTP API's plans (text under `plan`,
/// naive local times in the market time zone), with the date, the coach and the tickers.
pub(crate) fn legacy_plan(plan: &Plan, copies: &Copies, zone: &MarketTimeZone) -> Value {
    json!({
        "date": plan.date.to_string(),
        "coach": plan.coach.as_str(),
        "plan": plan.text,
        "charts": plan.charts.iter().map(|c| copies.best_url(c)).collect::<Vec<_>>(),
        "author": plan.author.display_name,
        "created_at": legacy(plan.created_at, zone),
        "edited_at": plan.is_edited().then(|| legacy(plan.updated_at, zone)),
        "channel": plan.source.channel_name,
        "tickers": plan.tickers.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// A plan for people: a heading line, the text, the charts.
pub(crate) fn plan_text(plan: &Plan, roster: &Roster, copies: &Copies) -> String {
    let edited = if plan.is_edited() { " (edited)" } else { "" };
    let tickers = if plan.tickers.is_empty() {
        String::new()
    } else {
        format!(" — tickers {}", plan.tickers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
    };
    let mut out = format!(
        "{} ({}) — {} — by {}{edited}{tickers}\n{}",
        roster.display_name(&plan.coach),
        plan.coach,
        plan.date,
        plan.author.display_name,
        plan.text
    );
    if !plan.charts.is_empty() {
        let charts: Vec<String> = plan.charts.iter().map(|c| copies.best_url(c)).collect();
        out.push_str(&format!("\nCharts: {}", charts.join(" ")));
    }
    out
}

/// Several plans for people, separated by blank lines; `none` when there are none.
pub(crate) fn plans_text(plans: &[Plan], roster: &Roster, copies: &Copies, none: &str) -> String {
    if plans.is_empty() {
        return none.to_owned();
    }
    plans.iter().map(|p| plan_text(p, roster, copies)).collect::<Vec<_>>().join("\n\n")
}

/// A history entry.
pub(crate) fn history_entry(entry: &HistoryEntry) -> Value {
    json!({
        "date": entry.date.to_string(),
        "version": entry.version,
        "action": entry.action.as_str(),
        "text_before": entry.text_before,
        "text_after": entry.text_after,
        "by": entry.actor.display_name,
        "by_id": entry.actor.user_id.map(|u| u.to_string()),
        "at": rfc3339(entry.at),
    })
}

/// A history entry for people, on one line.
pub(crate) fn history_line(entry: &HistoryEntry) -> String {
    let text = entry.text_after.as_deref().or(entry.text_before.as_deref()).unwrap_or("");
    let short: String = text.chars().take(100).collect();
    let more = if text.chars().count() > 100 { "…" } else { "" };
    format!(
        "v{} {} {} by {} at {}: {short}{more}",
        entry.version,
        entry.date,
        entry.action.as_str(),
        entry.actor.display_name,
        rfc3339(entry.at)
    )
}

/// A ticker mention.
pub(crate) fn mention(mention: &TickerMention) -> Value {
    json!({
        "ticker": mention.ticker.as_str(),
        "plans": mention.plans,
        "coaches": mention.coaches.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "last_date": mention.last_date.to_string(),
    })
}

/// A ticker mention for people, on one line.
pub(crate) fn mention_line(mention: &TickerMention) -> String {
    let coaches: Vec<String> = mention.coaches.iter().map(ToString::to_string).collect();
    format!(
        "{}: {} plan{} by {}, last {}",
        mention.ticker,
        mention.plans,
        if mention.plans == 1 { "" } else { "s" },
        coaches.join(", "),
        mention.last_date
    )
}
