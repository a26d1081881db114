//! The predecessor's routes, with its paths, query parameters, JSON field names and status codes, so that agents
//! written against it keep working: `/api/coach-plans/`, `/api/coach-plans/all`, `/api/coach-plans/history`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use core_model::{CoachId, HistoryAction, MarketTimeZone, Plan, TradingDate};
use serde::Serialize;
use service::MAX_HISTORY_LIMIT;
use utoipa::ToSchema;

use crate::charts::ChartCopies;
use crate::error::LegacyError;
use crate::params;
use crate::state::AppState;

/// A plan, in the predecessor's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyPlan {
    /// The plan text.
    pub plan: String,
    /// Chart URLs, in order: for an attached image, this API's copy of it (Discord's own links expire), else the
    /// link as posted.
    pub charts: Vec<String>,
    /// The author's display name.
    pub author: String,
    /// When it was posted: naive local time in the market time zone, as the predecessor wrote it (Python's
    /// `datetime.isoformat()`: `2025-11-09T20:36:52.274074`, no fraction when the microseconds are zero).
    #[schema(example = "2025-11-09T20:36:52.274074")]
    pub created_at: String,
    /// When it last changed (same form), or null if never.
    pub edited_at: Option<String>,
    /// The channel's name, when known.
    pub channel: Option<String>,
}

/// "No plan", in the predecessor's shape: a 200 whose `plan` says so. It has exactly these two fields, which tells it
/// from a plan.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegacyNoPlan {
    /// `No plan available for coach_d on 2025-11-09`.
    #[schema(example = "No plan available for coach_d on 2025-11-09")]
    pub plan: String,
    /// Always empty.
    pub charts: Vec<String>,
}

/// A plan or the "no plan" answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LegacyPlanOrNone {
    /// There is a plan.
    Plan(LegacyPlan),
    /// There is none.
    None(LegacyNoPlan),
}

/// One edit of a plan, in the predecessor's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyHistoryEntry {
    /// Entry id.
    pub id: i64,
    /// The plan edited.
    pub plan_id: i64,
    /// The plan's text before this edit.
    pub plan_text: String,
    /// Who edited it (display name).
    pub edited_by: String,
    /// When: naive local time in the market time zone, as `created_at` of a plan.
    #[schema(example = "2025-11-09T20:36:52.274074")]
    pub edited_at: String,
}

/// The predecessor's history body.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyHistory {
    /// Edits, newest first.
    pub history: Vec<LegacyHistoryEntry>,
}

fn legacy_plan(plan: &Plan, zone: &MarketTimeZone, copies: &ChartCopies) -> LegacyPlan {
    LegacyPlan {
        plan: plan.text.clone(),
        charts: plan.charts.iter().map(|c| copies.best_url(c)).collect(),
        author: plan.author.display_name.clone(),
        created_at: core_model::timestamp::legacy(plan.created_at, zone),
        edited_at: plan.is_edited().then(|| core_model::timestamp::legacy(plan.updated_at, zone)),
        channel: plan.source.channel_name.clone(),
    }
}

fn no_plan(coach: &CoachId, date: impl std::fmt::Display) -> LegacyNoPlan {
    LegacyNoPlan { plan: format!("No plan available for {} on {date}", coach.legacy_name()), charts: Vec::new() }
}

fn required_coach(state: &AppState, query: &params::QueryValues) -> Result<CoachId, LegacyError> {
    let roster = &state.service.policy().roster;
    let given = query.one("coach").ok_or_else(|| {
        let valid: Vec<_> = roster.coaches().iter().map(|c| c.id.to_string()).collect();
        LegacyError::bad_request(format!(
            "the coach parameter is missing; add ?coach= with one of: {}",
            valid.join(", ")
        ))
    })?;
    Ok(params::coach(roster, given)?)
}

/// The query's date, or `None` when absent.
fn optional_date(query: &params::QueryValues) -> Result<Option<TradingDate>, LegacyError> {
    Ok(query.one("date").map(params::date).transpose()?)
}

/// `GET /api/coach-plans/?coach=d&date=YYYY-MM-DD`
///
/// Also served at `/api/coach-plans` (without the trailing slash), which the predecessor's clients may call.
#[utoipa::path(
    get,
    path = "/api/coach-plans/",
    tag = "legacy",
    responses(
        (status = 200, description = "The plan, or the \"No plan available\" answer", body = LegacyPlanOrNone),
        (status = 400, description = "Missing or unknown coach, or a bad date: `{\"error\": \"...\"}`"),
    )
)]
pub async fn plan(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, LegacyError> {
    let query = params::QueryValues::parse("/api/coach-plans/", req.query_string())?;
    let coach = required_coach(&state, &query)?;
    let date = optional_date(&query)?.unwrap_or_else(|| state.service.today());
    let body = match state.service.plan(&coach, Some(date)).await? {
        Some(plan) => {
            let copies = ChartCopies::of(&state, &req, std::slice::from_ref(&plan)).await;
            LegacyPlanOrNone::Plan(legacy_plan(&plan, &state.service.policy().zone, &copies))
        }
        None => LegacyPlanOrNone::None(no_plan(&coach, date)),
    };
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/coach-plans/all?date=YYYY-MM-DD`
#[utoipa::path(
    get,
    path = "/api/coach-plans/all",
    tag = "legacy",
    responses(
        (status = 200, description = "The coaches with an active plan for the date, by legacy name (`coach_d`), each with its plan; `{}` when no coach has one", body = BTreeMap<String, LegacyPlan>),
        (status = 400, description = "A bad date: `{\"error\": \"...\"}`"),
    )
)]
pub async fn all(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, LegacyError> {
    let query = params::QueryValues::parse("/api/coach-plans/all", req.query_string())?;
    let date = optional_date(&query)?.unwrap_or_else(|| state.service.today());
    let plans = state.service.plans_for_date(Some(date)).await?;
    let copies = ChartCopies::of(&state, &req, &plans).await;
    // As the predecessor answered: the coaches with an active plan for the date, and nothing for the others (`{}`
    // when nobody posted), so that `len(plans)` counts who posted and every entry has an author.
    let zone = &state.service.policy().zone;
    let body: BTreeMap<String, LegacyPlan> =
        plans.iter().map(|plan| (plan.coach.legacy_name(), legacy_plan(plan, zone, &copies))).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/coach-plans/history?coach=d[&date=YYYY-MM-DD]`
#[utoipa::path(
    get,
    path = "/api/coach-plans/history",
    tag = "legacy",
    responses(
        (status = 200, description = "Edits of the coach's plans (of one date, or of every date when no date is given), newest first; each with the text before the edit", body = LegacyHistory),
        (status = 400, description = "Missing or unknown coach, or a bad date: `{\"error\": \"...\"}`"),
    )
)]
pub async fn history(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, LegacyError> {
    let query = params::QueryValues::parse("/api/coach-plans/history", req.query_string())?;
    let coach = required_coach(&state, &query)?;
    let date = optional_date(&query)?;
    let entries = state.service.history(&coach, date, MAX_HISTORY_LIMIT).await?;
    let zone = &state.service.policy().zone;
    // The predecessor recorded edits of the text only, each with the text before it; creations, changes of the
    // charts alone, deletions and restores are in the v1 history.
    let history = entries
        .iter()
        .filter(|e| e.action == HistoryAction::Edited && e.text_before != e.text_after)
        .filter_map(|e| {
            Some(LegacyHistoryEntry {
                id: e.id,
                plan_id: e.plan_id.0,
                plan_text: e.text_before.clone()?,
                edited_by: e.actor.display_name.clone(),
                edited_at: core_model::timestamp::legacy(e.at, zone),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(LegacyHistory { history }))
}
