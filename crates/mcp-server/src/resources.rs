//! The resources: `coach://coaches`, `coach://plans/{date}` (the plans of a trading date) and
//! `coach://plans/{ticker}` (the plans of the last days mentioning a ticker, grouped by coach with `plan_count`,
//! `latest_plan` and `all_plans`, the predecessor's resource). A value that parses as a date (or `today`) is a date;
//! anything else is a ticker.

use core_model::{Plan, Ticker, TradingDate};
use rmcp::ErrorData as McpError;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use serde_json::{Map, Value, json};
use service::{MAX_SEARCH_LIMIT, SearchRequest};

use crate::server::Context;
use crate::views;

/// The days the ticker resource looks back by default, and its bounds (as the predecessor's).
const DEFAULT_DAYS: u32 = 30;
const MIN_DAYS: u32 = 1;
const MAX_DAYS: u32 = 90;

const JSON: &str = "application/json";

/// The resources with a fixed address.
pub(crate) fn list() -> Vec<Resource> {
    vec![
        Resource::new("coach://coaches", "coaches")
            .with_title("The coaches")
            .with_description("The coach roster (ids and names), the market time zone and today's trading date")
            .with_mime_type(JSON),
        Resource::new("coach://plans/today", "plans-today")
            .with_title("Today's plans")
            .with_description("Every coach's plan for today, in roster order")
            .with_mime_type(JSON),
    ]
}

/// The resource templates.
pub(crate) fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("coach://plans/{date}", "plans-of-a-date")
            .with_title("Plans of a date")
            .with_description("Every coach's plan for a trading date (YYYY-MM-DD or today), in roster order")
            .with_mime_type(JSON),
        ResourceTemplate::new("coach://plans/{ticker}", "plans-by-ticker")
            .with_title("Plans mentioning a ticker")
            .with_description(
                "The plans of the last 30 days mentioning a ticker (NVDA, $nvda, BRK.B), grouped by coach: each \
                 coach's plan_count, latest_plan and all_plans. Add ?days=N (1 to 90) for another span.",
            )
            .with_mime_type(JSON),
    ]
}

impl Context {
    /// Reads the resource at `uri`; links in it start with `base`.
    pub(crate) async fn read(&self, uri: &str, base: &str) -> Result<ReadResourceResult, McpError> {
        let value = if uri == "coach://coaches" {
            self.coaches_json()
        } else if let Some(rest) = uri.strip_prefix("coach://plans/") {
            let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
            // A template expanded as RFC 6570 says percent-encodes what is not unreserved (`$NVDA` is `%24NVDA`).
            let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            let name = name.as_ref();
            if name.eq_ignore_ascii_case("today") || TradingDate::is_date_shaped(name) {
                self.date_json(name, base).await?
            } else {
                self.ticker_json(name, query, base).await?
            }
        } else {
            return Err(McpError::resource_not_found(
                format!(
                    "there is no resource `{}`; read coach://coaches, coach://plans/YYYY-MM-DD or coach://plans/TICKER",
                    uri.chars().take(100).collect::<String>()
                ),
                None,
            ));
        };
        let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type(JSON)]))
    }

    async fn date_json(&self, name: &str, base: &str) -> Result<Value, McpError> {
        let date = if name.eq_ignore_ascii_case("today") {
            self.service.today()
        } else {
            TradingDate::parse(name).map_err(|e| McpError::invalid_params(e.to_string(), None))?
        };
        let plans = self.service.plans_for_date(Some(date)).await.map_err(internal)?;
        let roster = &self.service.policy().roster;
        let copies = self.copies(&plans, base).await;
        let plans: Vec<Value> = plans.iter().map(|p| views::plan(p, roster, &copies)).collect();
        Ok(json!({ "date": date.to_string(), "plans": plans }))
    }

    async fn ticker_json(&self, name: &str, query: &str, base: &str) -> Result<Value, McpError> {
        let ticker = Ticker::parse(name).map_err(|e| McpError::invalid_params(e.to_string(), None))?;
        let days = match query.split('&').find_map(|pair| pair.strip_prefix("days=")) {
            None | Some("") => DEFAULT_DAYS,
            Some(days) => span(days)?,
        };
        let (from, to) = self.service.last_days(days).map_err(|e| McpError::invalid_params(e.to_string(), None))?;
        let mut plans: Vec<Plan> = Vec::new();
        let mut cursor = None;
        loop {
            let request = SearchRequest {
                tickers: vec![ticker.clone()],
                from: Some(from),
                to: Some(to),
                limit: Some(MAX_SEARCH_LIMIT),
                cursor,
                ..SearchRequest::default()
            };
            let page = self.service.search(request).await.map_err(internal)?;
            plans.extend(page.plans);
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let copies = self.copies(&plans, base).await;
        let (roster, zone) = (&self.service.policy().roster, &self.service.policy().zone);
        let mut coaches = Map::new();
        for coach in roster.coaches().iter().map(|c| &c.id).chain(plans.iter().map(|p| &p.coach)) {
            if coaches.contains_key(&coach.legacy_name()) {
                continue;
            }
            // Newest first, as the search returns them.
            let of_coach: Vec<&Plan> = plans.iter().filter(|p| &p.coach == coach).collect();
            let Some(latest) = of_coach.first() else { continue };
            coaches.insert(
                coach.legacy_name(),
                json!({
                    "coach": coach.as_str(),
                    "coach_name": roster.display_name(coach),
                    "plan_count": of_coach.len(),
                    "latest_plan": views::legacy_plan(latest, &copies, zone),
                    "all_plans": of_coach.iter().map(|p| views::legacy_plan(p, &copies, zone)).collect::<Vec<_>>(),
                }),
            );
        }
        Ok(json!({
            "ticker": ticker.as_str(),
            "days": days,
            "from": from.to_string(),
            "to": to.to_string(),
            "total_plans": plans.len(),
            "coaches": coaches,
        }))
    }
}

/// The `days` of a ticker resource: a whole number, clamped to 1..=90 (however large or small it is written).
fn span(days: &str) -> Result<u32, McpError> {
    use std::num::IntErrorKind;
    let clamp = |n: i64| n.clamp(i64::from(MIN_DAYS), i64::from(MAX_DAYS)) as u32;
    match days.parse::<i64>() {
        Ok(n) => Ok(clamp(n)),
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => Ok(MAX_DAYS),
        Err(e) if *e.kind() == IntErrorKind::NegOverflow => Ok(MIN_DAYS),
        Err(_) => Err(McpError::invalid_params(
            format!(
                "`days={}` is not a number of days; give a whole number from {MIN_DAYS} to {MAX_DAYS}",
                days.chars().take(40).collect::<String>()
            ),
            None,
        )),
    }
}

fn internal(error: service::ServiceError) -> McpError {
    tracing::error!(error = %error, "an MCP resource read failed on the server's side");
    McpError::internal_error(error.to_string(), None)
}
